import Foundation
import TrimtabCore

extension Executor {
    // MARK: Recovery

    /// What recovery did, and the cluster failure that stopped it (then the cycle changes nothing more).
    public struct RecoveryOutcome: Sendable {
        public var events: [JournalEvent] = []
        public var stoppedBy: KubeError?
    }

    /// Finishes what a crash or a lost answer left open: each entry begun (or rolling back) is compared
    /// with what the object holds now, and closed accordingly; a change applied or rolled back whose
    /// annotation and Event were never written gets them. A begun change is never written again, and
    /// before an entry is closed as not applied its object is fenced, so a write of it still in flight
    /// fails instead of landing afterwards. A failing cluster stops recovery, and the cycle.
    public func recover(time: Double) async throws(JournalError) -> RecoveryOutcome {
        var outcome = RecoveryOutcome()
        for var entry in try await journal.entries() where entry.state == .begun || entry.state == .rollingBack || entry.needsRecording {
            if entry.needsRecording {
                try await finishRecording(&entry)
                outcome.events.append(event(entry, entry.recorded == true ? "its annotation and Event, missing after a restart, were written"
                                                                          : "its annotation and Event could not be written yet"))
                continue
            }
            do {
                outcome.events += try await settle(&entry, time: time)
            } catch let error as KubeError {
                outcome.events.append(event(entry, "could not be resolved yet: \(error)"))
                if error.isClusterFailure {
                    outcome.stoppedBy = error
                    return outcome
                }
            } catch let error as JournalError {
                throw error
            } catch {
                outcome.events.append(event(entry, "could not be resolved yet: \(error)"))
            }
        }
        return outcome
    }

    /// Settles one open entry from what its object holds, fencing before a `not-applied`.
    func settle(_ entry: inout JournalEntry, time: Double) async throws -> [JournalEvent] {
        let actuator = try actuator(for: entry)
        for _ in 1...3 {
            let reading = try await actuator.read()
            switch Recovery.decide(entry, observed: reading.value, parts: reading.pods?.map(\.value)) {
            case .markApplied:
                entry.move(to: .applied, at: time, note: "found applied after a restart (the object holds \(entry.after)); verified after \(PolicyDuration.format(entry.verifyAfterSeconds))")
                entry.appliedAt = time
                try await journal.save(entry)
                try await recordAndSave(&entry, why: "\(entry.reason) (confirmed after a restart)")
                return [event(entry, "the change had landed; its bookkeeping is finished")]
            case .markNotApplied:
                // A write of this entry may still be travelling: move the object's version on first, so
                // that it fails (409) if it arrives. A conflict means the object changed: decide again.
                if let problem = await fence(actuator, over: reading, entry) {
                    if problem.kind == .conflict { continue }
                    guard problem.kind == .unsupported else { throw problem }
                    // Nothing to fence with (an endpoint without ETags): wait until a write sent with
                    // the entry can no longer be in flight.
                    let age = clock.now() - (entry.updatedWallClock ?? 0)
                    if age < cluster.writeTimeoutSeconds * 2 {
                        return [event(entry, "not settled yet: \(problem.message); a write may still be in flight for another \(PolicyDuration.format(cluster.writeTimeoutSeconds * 2 - age))")]
                    }
                }
                entry.move(to: .notApplied, at: time, note: "found unapplied (the object holds \(reading.value ?? "nothing")); fenced so a late write cannot land; not retried, the next cycle decides afresh")
                try await journal.save(entry)
                return [event(entry, "the change never landed; closed without applying it")]
            case .markRolledBack:
                entry.move(to: entry.restoresAs ?? .rolledBack, at: time, note: "the rollback had landed before the restart")
                try await journal.save(entry)
                try await recordAndSave(&entry, why: "the rollback had landed (confirmed after a restart)")
                return [event(entry, "the rollback had landed before the restart")]
            case .redoRollback:
                guard try await writeResolvingConflict(actuator, entry.before, over: reading, expected: entry.after) else { continue }
                entry.move(to: entry.restoresAs ?? .rolledBack, at: time, note: "the rollback was finished after a restart")
                try await journal.save(entry)
                try await recordAndSave(&entry, why: "the rollback was finished after a restart")
                return [event(entry, "the rollback was finished after a restart")]
            case .undoPartial:
                let reached = reading.pods?.filter { entry.holdsAfter($0.value) }.map(\.pod) ?? []
                try await actuator.write(entry.before, over: reading, dryRun: false)
                entry.move(to: .notApplied, at: time, note: "the write reached \(reached.count) of \(reading.pods?.count ?? 0) pods (\(reached.joined(separator: ", "))); \(entry.before ?? "nothing") written back to them, so every pod holds it again; not retried, the next cycle decides afresh")
                try await journal.save(entry)
                return [event(entry, "the change reached only some pods; undone on them")]
            case .markSuperseded(let observed):
                entry.move(to: .superseded, at: time, note: "the object holds \(observed ?? "nothing"), neither \(entry.before ?? "nothing") nor \(entry.after): someone else changed it; left alone")
                try await journal.save(entry)
                return [event(entry, "someone else changed it meanwhile (it holds \(observed ?? "nothing")); left alone")]
            case .none:
                return []
            }
        }
        return [event(entry, "the object kept changing while recovery read it; settled on a later run")]
    }

    // MARK: Retention

    /// Drops the closed entries the policy's retention lets go (see `JournalRetention`): never one
    /// the planner still reads. The note says how many went, nil when none did.
    public func prune(time: Double) async throws(JournalError) -> String? {
        let keep = max(policy.safety.journalRetentionSeconds, JournalRetention.plannerLookbackSeconds(policy.safety))
        let expired = JournalRetention.expired(try await journal.entries(), at: time, keepSeconds: keep)
        guard !expired.isEmpty else { return nil }
        try await journal.remove(expired)
        return "\(expired.count) closed journal entr\(expired.count == 1 ? "y" : "ies") last changed more than \(PolicyDuration.format(keep)) ago \(expired.count == 1 ? "was" : "were") dropped from the \(journal.location) (spec.safety.journalRetention)."
    }

    // MARK: Values that live in the pods

    /// A value set at run time lives in each pod's process: a pod that started after the change (a
    /// restart, a scale-up, a rollout) runs with its configured value instead. For the latest applied
    /// or verified change of each such knob and target, those pods are set again, and the entry says
    /// so. A pod that ran through the change and holds another value was changed by someone else: the
    /// entry is superseded and the pods are left alone. A failing read or write is reported and tried
    /// again next cycle; it changes no entry.
    public func keepLiveValues(time: Double) async throws(JournalError) -> [JournalEvent] {
        var events: [JournalEvent] = []
        for var entry in JournalRetention.latest(try await journal.entries().filter(\.knob.livesInPods))
        where entry.state == .applied || entry.state == .verified {
            do {
                let actuator = try actuator(for: entry)
                let reading = try await actuator.read()
                let stale = (reading.pods ?? []).filter { !entry.holdsAfter($0.value) }
                guard !stale.isEmpty else { continue }
                // A pod the change was not written to (not ready then, or new since) never had it; one it
                // was written to lost it if it started since. Kubernetes gives start times in whole
                // seconds: a pod that started in the second the change began counts as started after it.
                let since = (entry.createdWallClock ?? .infinity).rounded(.down)
                func keptThrough(_ pod: PodValue) -> Bool { (entry.pods?.contains(pod.pod) ?? true) && (pod.startedAt ?? -.infinity) < since }
                let restarted = stale.filter { !keptThrough($0) }
                let changed = stale.filter(keptThrough)
                let shown = { (pods: [PodValue]) in pods.map { "\($0.pod) (\($0.value ?? "nothing"))" }.joined(separator: ", ") }
                if !changed.isEmpty {
                    entry.move(to: .superseded, at: time, note: "pod\(changed.count == 1 ? "" : "s") \(shown(changed)) ran through the change yet hold\(changed.count == 1 ? "s" : "") another value: someone else changed it; left alone")
                    try await journal.save(entry)
                    events.append(event(entry, "someone else changed it on \(changed.map(\.pod).joined(separator: ", ")); left alone"))
                    continue
                }
                try await actuator.write(entry.after, over: reading, dryRun: false)
                entry.notes.append("\(Formatting.time(time)) set to \(entry.after) on pod\(restarted.count == 1 ? "" : "s") \(shown(restarted)), which started after the change or was not ready for it")
                entry.pods = Array(Set(entry.pods ?? []).union(restarted.map(\.pod))).sorted()
                try await journal.save(entry)
                events.append(event(entry, "set to \(entry.after) on \(restarted.map(\.pod).joined(separator: ", ")), which started after the change or was not ready for it"))
            } catch let error as KubeError {
                events.append(event(entry, "could not be checked on its pods this cycle: \(error)"))
            } catch let error as JournalError {
                throw error
            } catch {
                events.append(event(entry, "could not be checked on its pods this cycle: \(error)"))
            }
        }
        return events
    }

    /// Fences an entry's object; the error, when it could not.
    func fence(_ actuator: any Actuator, over reading: KnobReading, _ entry: JournalEntry) async -> KubeError? {
        do {
            try await actuator.fence(over: reading, note: "\(entry.id) closed \(Formatting.time(clock.now()))")
            return nil
        } catch {
            return error
        }
    }

    /// Writes the annotation and Event a crash left unwritten.
    func finishRecording(_ entry: inout JournalEntry) async throws(JournalError) {
        try await recordAndSave(&entry, why: entry.state == .applied ? entry.reason : "rolled back (recorded after a restart)")
    }

    func event(_ entry: JournalEntry, _ detail: String) -> JournalEvent {
        JournalEvent(journalID: entry.id, target: entry.target, knob: entry.knob, state: entry.state, detail: detail)
    }

    // MARK: Verification

    /// How long a change that rolls the pods may take to be in effect before it is called not
    /// effective and restored: Kubernetes' default progress deadline (10 minutes), or the
    /// verification window when that is longer.
    static func effectDeadline(_ entry: JournalEntry) -> Double { max(600, entry.verifyAfterSeconds) }

    /// Judges every applied change whose window has passed, keeping it or rolling it back.
    public func verify(_ assessment: Assessment, objectives: [ObjectiveStatus] = [], autoscaled: Set<TargetID> = [],
                       time: Double) async throws(JournalError) -> [JournalEvent] {
        let hpaChecks = policy.autoscaledChecks
        var events: [JournalEvent] = []
        for var entry in try await journal.entries() where entry.state == .applied {
            if let permit, let refusal = await permit() {
                events.append(event(entry, "not judged: \(refusal)"))
                continue
            }
            // A change that rolls the pods is in effect once the rollout completes: judged from then.
            if entry.knob.rollsPods, entry.effectiveAt == nil, assessment.isComplete {
                switch await cluster.rollout(of: entry.workload) {
                case .complete(let detail):
                    entry.effectiveAt = time
                    entry.notes.append("\(Formatting.time(time)) in effect: \(detail); judged after \(PolicyDuration.format(entry.verifyAfterSeconds)) from now")
                    try await journal.save(entry)
                    events.append(event(entry, "took effect: \(detail)"))
                    continue
                case .progressing(let detail):
                    let since = time - (entry.appliedAt ?? entry.createdAt)
                    if since >= Self.effectDeadline(entry) {
                        // Never in effect: restored rather than left half rolled out, and not retried blindly (the cooldown holds it).
                        events.append(try await rollBackJudged(entry, reason: "not effective: after \(PolicyDuration.format(since)), \(detail)",
                                                               failure: "not effective (\(detail)) and should be rolled back,", time: time, as: .notEffective))
                    } else {
                        events.append(event(entry, "not judged yet: its rollout is under way (\(detail))"))
                    }
                    continue
                case .unreadable(let why):
                    // Judging now could keep or undo a change that is not in effect yet: wait.
                    events.append(event(entry, "not judged yet: its rollout could not be read (\(why))"))
                    continue
                case .unknown:
                    break
                }
            }
            let target = assessment.targets.first { $0.target == entry.target }
            switch Verification.judge(entry, now: target, time: time, cycleUnknown: !assessment.isComplete, objectives: objectives,
                                       hpaChecks: autoscaled.contains(entry.target) ? hpaChecks : []) {
            case .wait:
                continue
            case .undetermined(let why):
                events.append(event(entry, "not judged yet: \(why)"))
            case .keep(let why):
                entry.move(to: .verified, at: time, note: why)
                try await journal.save(entry)
                events.append(event(entry, "kept: \(why)"))
            case .rollBack(let why):
                events.append(try await rollBackJudged(entry, reason: "verification: \(why)", failure: "should be rolled back (\(why))", time: time))
            }
        }
        return events
    }

    /// A rollback verification decided: its event, or the event saying why it could not be done
    /// (`failure` and the cause); only a failing journal stops the cycle.
    func rollBackJudged(_ entry: JournalEntry, reason: String, failure: String, time: Double,
                        as final: JournalState = .rolledBack) async throws(JournalError) -> JournalEvent {
        do {
            return try await rollback(entry, reason: reason, time: time, force: false, as: final)
        } catch .journal(let error) {
            throw error
        } catch {
            return event(entry, "\(failure) but: \(error)")
        }
    }

    // MARK: Rollback

    public enum RollbackError: Error, CustomStringConvertible {
        case notRollbackable(String)
        case kube(KubeError)
        case journal(JournalError)
        /// Another run holds the journal's lock.
        case locked(JournalError)

        public var description: String {
            switch self {
            case .notRollbackable(let text): return text
            case .kube(let error): return error.description
            case .journal(let error), .locked(let error): return error.description
            }
        }
    }

    /// Restores an entry's previous value. Refuses when the object no longer holds what Trimtab set,
    /// unless forced: someone changed it since, and restoring would overwrite their change.
    /// - Parameter final: the state once restored: `rolled-back`, or `not-effective` for a change that
    ///   never took effect.
    public func rollback(_ entry: JournalEntry, reason: String, time: Double, force: Bool, dryRun: Bool = false,
                         as final: JournalState = .rolledBack) async throws(RollbackError) -> JournalEvent {
        var entry = entry
        guard [.applied, .verified].contains(entry.state) else {
            throw .notRollbackable("change \(entry.id) is \(entry.state.rawValue); only applied or verified changes can be rolled back")
        }
        if let refusal = RollbackBounds.refusal(entry, policy: policy, force: force) {
            throw .notRollbackable("change \(entry.id): \(refusal)")
        }
        do {
            let actuator = try actuator(for: entry)
            let reading = try await actuator.read()
            if !entry.holdsAfter(reading.value) && !force {
                throw RollbackError.notRollbackable("\(entry.workload) holds \(reading.value ?? "nothing") for \(entry.knob), not the \(entry.after) change \(entry.id) set: someone changed it since, and restoring \(entry.before ?? "nothing") would overwrite that. Use --force to restore anyway.")
            }
            if dryRun {
                try await actuator.write(entry.before, over: reading, dryRun: true)
                return event(entry, "would restore \(entry.before ?? "nothing") (now \(reading.value ?? "nothing")): the API server accepted it with dryRun=All")
            }
            entry.move(to: .rollingBack, at: time, note: reason)
            entry.restoresAs = final == .rolledBack ? nil : final
            try await journal.save(entry)
            guard try await writeResolvingConflict(actuator, entry.before, over: reading, expected: reading.value) else {
                entry.move(to: .superseded, at: time, note: "another writer changed \(entry.knob) during the rollback; left alone")
                try await journal.save(entry)
                return event(entry, "another writer changed it during the rollback; left alone")
            }
            entry.move(to: final, at: time, note: "restored \(entry.before ?? "nothing") (\(reason))")
            try await journal.save(entry)
            try await recordAndSave(&entry, why: reason)
            return event(entry, "restored \(entry.before ?? "nothing"): \(reason)")
        } catch let error as RollbackError {
            throw error
        } catch let error as KubeError {
            throw .kube(error)
        } catch let error as JournalError {
            throw .journal(error)
        } catch {
            throw .notRollbackable("\(error)")
        }
    }
}

extension Cycle {
    /// A rollback asked for by hand (`trimtab rollback`), with the rules a cycle's rollback follows
    /// (bounds, someone else's change left alone unless forced) and under the journal's lock, as any
    /// change is: one writer at a time. The evaluation time is the clock's, on the second.
    public static func rollBack(_ entry: JournalEntry, on cluster: any Cluster, policy: Policy, reason: String, force: Bool,
                                dryRun: Bool, clock: any TimeSource = SystemClock()) async throws(Executor.RollbackError) -> JournalEvent {
        let executor = Executor(cluster: cluster, policy: policy, clock: clock)
        let lock = cluster.journalLock()
        if !dryRun {
            do { try await lock.acquire() } catch { throw .locked(error) }
        }
        do {
            let event = try await executor.rollback(entry, reason: reason, time: clock.now().rounded(.down), force: force, dryRun: dryRun)
            await lock.release()
            return event
        } catch {
            await lock.release()
            throw error
        }
    }
}
