/// The judgement of an applied change once its verification window has passed.
public enum Verdict: Sendable, Equatable {
    /// Not yet time to judge it.
    case wait(until: Double)
    /// The data to judge it is unknown; judge again next cycle, never roll back on missing data.
    case undetermined(String)
    /// It helped, or at least did no harm: keep it.
    case keep(String)
    /// It made things worse or did not help: restore the previous value.
    case rollBack(String)
}

/// Judges applied changes against the target's assessment now. Pure: an entry, an assessment and the
/// time go in; a verdict comes out.
public enum Verification {
    /// - Parameters:
    ///   - now: the target's assessment at `time` (nil when the target was not seen this cycle).
    ///   - objectives: this cycle's objective statuses, which judge a change made from the error budget.
    ///   - hpaChecks: checks not held against the change: on a target an HPA owns, those of the
    ///     utilisation it scales on, which run as high as the HPA's target lets them whatever the change.
    public static func judge(_ entry: JournalEntry, now target: TargetAssessment?, time: Double, cycleUnknown: Bool,
                             objectives: [ObjectiveStatus] = [], hpaChecks: Set<String> = []) -> Verdict {
        guard entry.state == .applied, let applied = entry.appliedAt else {
            return .undetermined("the change is \(entry.state.rawValue), not applied")
        }
        let due = (entry.effectiveAt ?? applied) + entry.verifyAfterSeconds
        if time < due { return .wait(until: due) }
        if cycleUnknown { return .undetermined("a query failed this cycle; the change is judged when the data is whole") }
        if let budget = entry.baseline.budget { return ErrorBudget.judge(budget, entry: entry, statuses: objectives) }
        if let forecast = entry.baseline.forecast {
            // Rolling back added pods as the peak arrives would take capacity away when it is needed.
            return .keep("a scale-out ahead of a forecast peak (\(forecast)) is kept whatever the load does next; an ordinary scale-in takes the pods back once the forecast and the load allow")
        }
        guard let target else { return .undetermined("\(entry.target) has no data this cycle") }
        // Missing data never decides: a target whose score is unknown (stale, no data, too little
        // coverage) is judged on a later cycle, never kept or rolled back now.
        guard target.score != nil else {
            return .undetermined("\(entry.target)'s health is unknown this cycle (\(target.checks.compactMap(\.unknownReason).first ?? "too little is known"))")
        }
        let baseline = entry.baseline
        // A worse score beyond what the policy allows.
        if let before = baseline.score, let after = target.score, before - after > entry.rollbackIfScoreDropsBy {
            return .rollBack("the health score of \(entry.target) fell from \(Formatting.score(before)) to \(Formatting.score(after)), more than the \(Formatting.number(entry.rollbackIfScoreDropsBy)) points the policy allows")
        }
        // A check that was fine before is in breach now (errors rose, memory ran out…).
        let breachingNow = target.checks.filter { [.warning, .critical].contains($0.status) }.map(\.check)
        let newBreaches = breachingNow.filter { !baseline.breaching.contains($0) && !hpaChecks.contains($0) }
        if !newBreaches.isEmpty {
            return .rollBack("\(newBreaches.joined(separator: ", ")) \(newBreaches.count == 1 ? "was" : "were") healthy before the change and \(newBreaches.count == 1 ? "is" : "are") in breach now")
        }
        // The bottleneck the change was for did not improve.
        if let trigger = baseline.trigger, let before = baseline.triggerValue {
            guard let check = target.checks.first(where: { $0.check == trigger }), let after = check.value else {
                return .undetermined("\(trigger) has no current value")
            }
            let value = { (number: Double) in Formatting.value(number, unit: check.unit) }
            let gain = (check.worse == .higher ? before - after : after - before) / max(abs(before), 1e-12)
            let least = entry.minImprovement ?? 0.05
            // Out of breach is help; otherwise the value must have moved by more than noise.
            if check.status != .ok && gain < least {
                return .rollBack("\(trigger) did not improve: \(value(before)) before the change, \(value(after)) \(PolicyDuration.format(time - applied)) after (\(Formatting.number(gain * 100)) %, less than the \(Formatting.number(least * 100)) % the policy asks, and still in breach)")
            }
            return .keep("\(trigger) improved from \(value(before)) to \(value(after))\(check.status == .ok ? ", out of breach" : ""); score \(Formatting.score(baseline.score)) → \(Formatting.score(target.score))")
        }
        return .keep("no check fell into breach and the score held (\(Formatting.score(baseline.score)) → \(Formatting.score(target.score)))")
    }
}

/// What a restart does with an entry it finds open, given what the object holds now.
public enum RecoveryDecision: Sendable, Equatable {
    /// The new value is in place: the change was applied; finish its bookkeeping.
    case markApplied
    /// The old value is in place: the change never landed; close the entry, apply nothing.
    case markNotApplied
    /// A rollback found the old value in place: it landed.
    case markRolledBack
    /// A rollback found the new value still there: write the old value again.
    case redoRollback
    /// A write pod by pod reached some pods and not others (each holds the new value or the old):
    /// write the old value back to every pod, then close the entry as not applied.
    case undoPartial
    /// Neither value: someone else changed it; leave it alone.
    case markSuperseded(observed: String?)
    /// Nothing to do.
    case none
}

public enum Recovery {
    /// Never re-applies a begun change: a change found unapplied is closed, and the next cycle decides
    /// afresh from current data. So nothing is applied twice.
    /// - Parameter parts: for a knob that lives in each pod, what each pod holds; `observed` is then
    ///   their common value, or a text that is neither value when they differ.
    public static func decide(_ entry: JournalEntry, observed: String?, parts: [String?]? = nil) -> RecoveryDecision {
        if let parts, Set(parts).count > 1, parts.allSatisfy({ entry.holdsAfter($0) || entry.holdsBefore($0) }) {
            switch entry.state {
            case .begun: return .undoPartial
            case .rollingBack: return .redoRollback
            default: return .none
            }
        }
        let holdsAfter = entry.holdsAfter(observed), holdsBefore = entry.holdsBefore(observed)
        switch entry.state {
        case .begun:
            if holdsAfter { return .markApplied }
            if holdsBefore { return .markNotApplied }
            return .markSuperseded(observed: observed)
        case .rollingBack:
            if holdsBefore { return .markRolledBack }
            if holdsAfter { return .redoRollback }
            return .markSuperseded(observed: observed)
        default:
            return .none
        }
    }
}

/// Where a workload's rollout stands, from its status (as `kubectl rollout status` reads it): a
/// change that rolls the pods counts from when every pod runs it.
public enum RolloutState: Sendable, Equatable {
    case complete(String)
    case progressing(String)
    /// The cluster cannot say (the simulated cluster): the change counts from its write.
    case unknown(String)
    /// The workload could not be read this time: nothing is judged until it can be.
    case unreadable(String)

    /// - Parameters: `replicas` is the spec's; `current` the status' `replicas` (old and new pods).
    public static func of(generation: Int?, observedGeneration: Int?, replicas: Int, current: Int?, updated: Int?, available: Int?) -> RolloutState {
        if let generation, let observed = observedGeneration, observed < generation {
            return .progressing("its controller has not yet seen generation \(generation) (it observed \(observed))")
        }
        let updated = updated ?? 0, available = available ?? 0
        if updated < replicas { return .progressing("\(updated) of \(replicas) pods run the change") }
        if let current, current > updated { return .progressing("\(current - updated) old pod\(current - updated == 1 ? "" : "s") still running") }
        if available < replicas { return .progressing("\(available) of \(replicas) pods available") }
        return .complete("all \(replicas) pods run the change and are available")
    }
}

extension Knob {
    /// Whether writing the knob replaces the pods (a pod-template change, or a restart after it): the
    /// change is in effect only once the rollout completes.
    public var rollsPods: Bool {
        switch self {
        case .env: return true
        case .configMap(_, _, let restart): return restart
        case .replicas, .http, .jolokia, .podHTTP, .pgbouncer, .autoscalerMaxReplicas, .autoscalerTargetUtilization, .autoscalerScaleDownWindow: return false
        }
    }

    /// Whether the value lives in each pod's process (written pod by pod, lost when a pod restarts),
    /// rather than in an object of the API server.
    public var livesInPods: Bool {
        switch self {
        case .jolokia, .podHTTP, .pgbouncer: return true
        default: return false
        }
    }
}
