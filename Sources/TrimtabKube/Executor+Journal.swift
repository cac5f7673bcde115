import Foundation
import TrimtabCore

extension Executor {
    // MARK: Recovery

    /// Finishes what a crash left open: each entry begun (or rolling back) is compared with what the
    /// object holds now, and closed accordingly. A begun change is never written again.
    public func recover(time: Double) async throws(JournalError) -> [JournalEvent] {
        var events: [JournalEvent] = []
        for var entry in try await journal.entries() where entry.state == .begun || entry.state == .rollingBack {
            let reading: KnobReading
            do {
                reading = try await actuator(for: entry).read()
            } catch {
                events.append(event(entry, "could not be resolved yet: \(error)"))
                continue
            }
            switch Recovery.decide(entry, observed: reading.value) {
            case .markApplied:
                entry.move(to: .applied, at: time, note: "found applied after a restart (the object holds \(entry.after)); verified after \(PolicyDuration.format(entry.verifyAfterSeconds))")
                entry.appliedAt = time
                try await journal.save(entry)
                let notes = await record(entry, reason: "TrimtabChanged", type: "Normal",
                                         message: "Trimtab set \(entry.knob) from \(entry.before ?? "nothing") to \(entry.after) (change \(entry.id), confirmed after a restart): \(entry.reason)")
                if !notes.isEmpty { entry.notes += notes; try await journal.save(entry) }
                events.append(event(entry, "the change had landed before the restart; its bookkeeping is finished"))
            case .markNotApplied:
                entry.move(to: .notApplied, at: time, note: "found unapplied after a restart (the object holds \(reading.value ?? "nothing")); not retried, the next cycle decides afresh")
                try await journal.save(entry)
                events.append(event(entry, "the change never landed; closed without applying it"))
            case .markRolledBack:
                entry.move(to: .rolledBack, at: time, note: "the rollback had landed before the restart")
                try await journal.save(entry)
                events.append(event(entry, "the rollback had landed before the restart"))
            case .redoRollback:
                do {
                    _ = try await writeResolvingConflict(try actuator(for: entry), entry.before, over: reading, expected: entry.after)
                    entry.move(to: .rolledBack, at: time, note: "the rollback was finished after a restart")
                    try await journal.save(entry)
                    events.append(event(entry, "the rollback was finished after a restart"))
                } catch {
                    events.append(event(entry, "the rollback could not be finished: \(error)"))
                }
            case .markSuperseded(let observed):
                entry.move(to: .superseded, at: time, note: "the object holds \(observed ?? "nothing"), neither \(entry.before ?? "nothing") nor \(entry.after): someone else changed it; left alone")
                try await journal.save(entry)
                events.append(event(entry, "someone else changed it meanwhile (it holds \(observed ?? "nothing")); left alone"))
            case .none:
                break
            }
        }
        return events
    }

    func event(_ entry: JournalEntry, _ detail: String) -> JournalEvent {
        JournalEvent(journalID: entry.id, target: entry.target, knob: entry.knob, state: entry.state, detail: detail)
    }

    // MARK: Verification

    /// Judges every applied change whose window has passed, keeping it or rolling it back.
    public func verify(_ assessment: Assessment, time: Double) async throws(JournalError) -> [JournalEvent] {
        var events: [JournalEvent] = []
        for var entry in try await journal.entries() where entry.state == .applied {
            let target = assessment.targets.first { $0.target == entry.target }
            switch Verification.judge(entry, now: target, time: time, cycleUnknown: !assessment.isComplete) {
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

        public var description: String {
            switch self {
            case .notRollbackable(let text): return text
            case .kube(let error): return error.description
            case .journal(let error): return error.description
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
            let notes = await record(entry, reason: "TrimtabRolledBack", type: "Warning",
                                     message: "Trimtab restored \(entry.knob) from \(entry.after) to \(entry.before ?? "nothing") (change \(entry.id)): \(reason)")
            if !notes.isEmpty { entry.notes += notes; try await journal.save(entry) }
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
