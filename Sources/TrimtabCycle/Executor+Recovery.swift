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
            switch Recovery.decide(entry, observed: reading.value) {
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
                entry.move(to: .rolledBack, at: time, note: "the rollback had landed before the restart")
                try await journal.save(entry)
                try await recordAndSave(&entry, why: "the rollback had landed (confirmed after a restart)")
                return [event(entry, "the rollback had landed before the restart")]
            case .redoRollback:
                guard try await writeResolvingConflict(actuator, entry.before, over: reading, expected: entry.after) else { continue }
                entry.move(to: .rolledBack, at: time, note: "the rollback was finished after a restart")
                try await journal.save(entry)
                try await recordAndSave(&entry, why: "the rollback was finished after a restart")
                return [event(entry, "the rollback was finished after a restart")]
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
                do {
                    let result = try await rollback(entry, reason: "verification: \(why)", time: time, force: false)
                    events.append(result)
                } catch .journal(let error) {
                    throw error
                } catch {
                    events.append(event(entry, "should be rolled back (\(why)) but: \(error)"))
                }
            }
        }
        return events
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
    public func rollback(_ entry: JournalEntry, reason: String, time: Double, force: Bool, dryRun: Bool = false) async throws(RollbackError) -> JournalEvent {
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
            try await journal.save(entry)
            guard try await writeResolvingConflict(actuator, entry.before, over: reading, expected: reading.value) else {
                entry.move(to: .superseded, at: time, note: "another writer changed \(entry.knob) during the rollback; left alone")
                try await journal.save(entry)
                return event(entry, "another writer changed it during the rollback; left alone")
            }
            entry.move(to: .rolledBack, at: time, note: "restored \(entry.before ?? "nothing") (\(reason))")
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
