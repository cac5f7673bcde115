/// The Kubernetes object a target's knob lives on.
public struct WorkloadRef: Sendable, Hashable, Codable, CustomStringConvertible {
    /// `Deployment`, `StatefulSet` or `Rollout` (Argo Rollouts).
    public var kind: String
    public var namespace: String
    public var name: String

    public init(kind: String, namespace: String, name: String) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
    }

    public var description: String { "\(kind.lowercased())/\(name) in namespace \(namespace)" }

    /// The API version of the kind: Argo Rollouts' `Rollout` is a custom resource.
    public var apiVersion: String { Self.isRollout(kind) ? "argoproj.io/v1alpha1" : "apps/v1" }

    /// Whether a kind (as a policy names it) is Argo Rollouts' `Rollout`.
    public static func isRollout(_ kind: String) -> Bool { ["rollout", "rollouts"].contains(kind.lowercased()) }

    /// The workload behind a target: its namespace from the `namespace` label (or the policy's), its
    /// name from the label named like the kind (`deployment`, `statefulset`), else the last label.
    public static func resolve(_ target: TargetID, selector: TargetSelector) -> WorkloadRef? {
        let labels = target.labels
        guard let namespace = labels["namespace"] ?? selector.namespace, !namespace.isEmpty else { return nil }
        let kindLabel = selector.kind.lowercased()
        let name = labels[kindLabel] ?? labels["workload"] ?? labels["name"]
            ?? Array(zip(target.labelNames, target.labelValues)).last(where: { $0.0 != "namespace" })?.1
        guard let name, !name.isEmpty else { return nil }
        return WorkloadRef(kind: selector.kind, namespace: namespace, name: name)
    }
}

/// Where a change stands. A change is journaled `begun` before it is written and moved on after.
public enum JournalState: String, Sendable, Codable, CaseIterable {
    /// Written ahead of the change; the change may or may not have reached the cluster.
    case begun
    /// The cluster holds the new value; it waits to be verified.
    case applied
    /// Judged after the verification window and kept.
    case verified
    /// A rollback was written ahead; it may or may not have reached the cluster.
    case rollingBack = "rolling-back"
    /// The previous value was restored (by verification or by hand).
    case rolledBack = "rolled-back"
    /// The change never took effect by its deadline (its rollout did not complete): the previous value
    /// was restored, and the same change is not proposed again (the rule after a rollback holds it).
    case notEffective = "not-effective"
    /// The change never reached the cluster (rejected, or found unapplied on recovery).
    case notApplied = "not-applied"
    /// Someone else changed the value meanwhile; Trimtab left it alone.
    case superseded
    /// The object is managed by a GitOps tool: the change was written as a patch for Git and waits
    /// there, until the object shows it (`carried`) or the GitOps cooldown passes (`not-applied`).
    case awaitingGit = "awaiting-git"
    /// The object came to hold the patch's value: Git carried the change. Trimtab does not verify or
    /// roll it back (a rollback would go through Git too); the cooldown counts from when it was seen.
    case carried

    /// Whether the entry still needs work from Trimtab.
    public var isOpen: Bool { self == .begun || self == .rollingBack || self == .applied }
    /// Whether the previous value was restored: rolled back, or restored as never effective.
    public var isRestored: Bool { self == .rolledBack || self == .notEffective }
}

/// What the target looked like when the change was decided: what verification compares against.
public struct VerificationBaseline: Sendable, Equatable, Codable {
    /// The target's health score, when known.
    public var score: Double?
    /// The indicator of the bottleneck the change relieves, and its value then.
    public var trigger: String?
    public var triggerIndicator: String?
    public var triggerValue: Double?
    /// The checks in breach (warning or critical) then.
    public var breaching: [String]
    /// For a change made from the error budget: the lever and the burns then. Such a change is judged
    /// against the objectives, not the checks (a higher CPU target puts CPU in breach on purpose).
    public var budget: BudgetBaseline?
    /// For a scale-out ahead of a forecast peak: the forecast, in words. Such a change is kept
    /// (see `Verification.judge`): the load that follows judges it, and an ordinary scale-in takes
    /// the pods back once the forecast and the load allow.
    public var forecast: String?

    public init(score: Double?, trigger: String?, triggerIndicator: String?, triggerValue: Double?, breaching: [String]) {
        self.score = score
        self.trigger = trigger
        self.triggerIndicator = triggerIndicator
        self.triggerValue = triggerValue
        self.breaching = breaching
    }

    /// The baseline of a target in an assessment, for a change triggered by `trigger`.
    public static func of(_ target: TargetAssessment?, trigger: String) -> VerificationBaseline {
        let check = target?.checks.first { $0.check == trigger }
        return VerificationBaseline(score: target?.score, trigger: trigger.isEmpty ? nil : trigger,
                                    triggerIndicator: check?.indicator, triggerValue: check?.value,
                                    breaching: target?.checks.filter { [.warning, .critical].contains($0.status) }.map(\.check) ?? [])
    }
}

/// One change Trimtab made (or began to make), as the journal keeps it.
public struct JournalEntry: Sendable, Equatable, Codable {
    /// Short and unique per write (see `id(for:)`); the action it carries out is `actionID`.
    public var id: String
    /// The plan's action id (`target/knob@time`).
    public var actionID: String
    public var target: TargetID
    public var workload: WorkloadRef
    /// The policy (`metadata.name`) that made the change: with several teams' policies, each settles
    /// and verifies its own. Absent in older entries: the policy that covers the target takes them.
    public var policy: String?
    public var action: String
    public var knob: Knob
    /// The value the object held before, as the cluster spells it; `nil` when the key or variable was absent.
    public var before: String?
    /// The value written.
    public var after: String
    public var reason: String
    public var evidence: [Evidence]
    public var baseline: VerificationBaseline
    public var state: JournalState
    /// Evaluation times (the cycle's `--at`, Unix seconds): when the entry was begun, applied, and last
    /// changed. Cooldowns, the rate limit and verification count in these.
    public var createdAt: Double
    public var appliedAt: Double?
    /// When the change was seen in effect (evaluation time): for a change that rolls the pods, when
    /// the rollout completed. Verification counts from then. Absent when not yet seen, in older
    /// entries, and for changes that take effect as written (replicas, an HPA's bounds).
    public var effectiveAt: Double?
    /// When verification's window starts: when the change took effect, else when it was applied.
    public var verificationStart: Double? { effectiveAt ?? appliedAt }
    public var updatedAt: Double
    /// Wall-clock times (Unix seconds) at which the entry was first and last written: what an operator
    /// compares with Events, annotations and logs. Absent in entries written before they were kept.
    public var createdWallClock: Double?
    public var updatedWallClock: Double?
    /// When the change is judged (applied time plus the policy's `verifyAfter`).
    public var verifyAfterSeconds: Double
    public var rollbackIfScoreDropsBy: Double
    /// The least relative improvement of the trigger that counts as help (absent in older entries: 5 %).
    public var minImprovement: Double?
    /// What happened, in order, in words ("applied at …", "rolled back: …").
    public var notes: [String]
    /// Whether the cluster has been told of the entry's latest state (the `trimtab.io/last-change`
    /// annotation and the Event): false from the moment a change is applied or rolled back until both
    /// are written, so a crash in between is finished by recovery. Absent in older entries: taken as told.
    public var recorded: Bool?
    /// While rolling back: the state the entry ends in once the previous value is back (`not-effective`
    /// for a change that never took effect; `rolled-back` when absent).
    public var restoresAs: JournalState?
    /// For a knob that lives in each pod: the ready pods the change was written to.
    public var pods: [String]?
    /// Whether the annotation and Event of the entry's state still have to be written.
    public var needsRecording: Bool { recorded == false && (state == .applied || state.isRestored) }

    public init(id: String, actionID: String, target: TargetID, workload: WorkloadRef, action: String, knob: Knob,
                before: String?, after: String, reason: String, evidence: [Evidence], baseline: VerificationBaseline,
                state: JournalState, createdAt: Double, verifyAfterSeconds: Double, rollbackIfScoreDropsBy: Double,
                minImprovement: Double = 0.05) {
        self.id = id
        self.actionID = actionID
        self.target = target
        self.workload = workload
        self.action = action
        self.knob = knob
        self.before = before
        self.after = after
        self.reason = reason
        self.evidence = evidence
        self.baseline = baseline
        self.state = state
        self.createdAt = createdAt
        self.appliedAt = nil
        self.updatedAt = createdAt
        self.verifyAfterSeconds = verifyAfterSeconds
        self.rollbackIfScoreDropsBy = rollbackIfScoreDropsBy
        self.minImprovement = minImprovement
        self.notes = []
    }

    /// `c` and eight hex digits of a stable hash of `key`: the executor makes the key unique per write
    /// (the action id and a random part) and checks it against the journal's ids.
    public static func id(for actionID: String) -> String {
        let hex = String(StableHash.of(actionID) & 0xffff_ffff, radix: 16)
        return "c" + String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// The entry as written at wall-clock time `now`: the journal stores call this on every save.
    public func stamped(wallClock now: Double) -> JournalEntry {
        var entry = self
        entry.createdWallClock = createdWallClock ?? now
        entry.updatedWallClock = now
        return entry
    }

    /// Moves the entry on, with a note of why.
    public mutating func move(to state: JournalState, at time: Double, note: String) {
        self.state = state
        updatedAt = time
        if state == .applied, appliedAt == nil { appliedAt = time }
        if state == .applied || state.isRestored { recorded = false }
        notes.append("\(Formatting.time(time)) \(state.rawValue): \(note)")
    }

    /// Whether a value read from the object is the one the change wrote (`"6"` and `"6.0"` both are 6).
    public func holdsAfter(_ observed: String?) -> Bool {
        observed == after || KnobValue.matches(observed, Double(after) ?? .nan)
    }

    /// Whether a value read from the object is the one the change replaced (`nil`: absent).
    public func holdsBefore(_ observed: String?) -> Bool {
        observed == before || (before.flatMap(Double.init).map { KnobValue.matches(observed, $0) } ?? false)
    }

    /// The patch waiting in Git, while the entry is `awaiting-git`.
    public var pendingPatch: PendingPatch? {
        guard state == .awaitingGit else { return nil }
        return PendingPatch(target: target, knob: knob, time: createdAt, from: before, to: after, journalID: id)
    }

    /// The change as the planner's history sees it (for cooldowns and the rate limit).
    public var changeRecords: [ChangeRecord] {
        guard let applied = appliedAt, [.applied, .verified, .rolledBack, .notEffective, .rollingBack, .carried].contains(state) else { return [] }
        let from = Double(before ?? "") ?? .nan, to = Double(after) ?? .nan
        var records = [ChangeRecord(target: target, knob: knob, time: applied, from: from, to: to,
                                    verificationDue: state == .applied ? (effectiveAt ?? applied) + verifyAfterSeconds : nil)]
        if state.isRestored {
            records.append(ChangeRecord(target: target, knob: knob, time: updatedAt, from: to, to: from,
                                        rolledBack: notes.last ?? "rolled back"))
        }
        return records
    }
}

/// How a planned value is written to the cluster: whole numbers without a decimal point.
public enum KnobValue {
    public static func text(_ value: Double) -> String {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    /// Whether the value the cluster holds is the planned number (`"6"` and `"6.0"` both are 6).
    public static func matches(_ text: String?, _ value: Double) -> Bool {
        guard let number = number(text) else { return false }
        return abs(number - value) < 1e-9
    }

    /// The number a knob holds (`" 20 "` is 20), or `nil` when it holds nothing or no finite number.
    public static func number(_ text: String?) -> Double? {
        guard let text, let number = Double(text.trimmingCharacters(in: .whitespaces)), number.isFinite else { return nil }
        return number
    }
}
