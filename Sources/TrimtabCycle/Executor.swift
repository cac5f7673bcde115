import Foundation
import TrimtabCore

/// Carries a plan out on the cluster: dry-run through the API server's `dryRun=All`, or enforce with a
/// journal entry written before each change and completed after it. Also finishes what a crash left
/// open, verifies applied changes and rolls back what made things worse.
public struct Executor: Sendable {
    /// The cluster written to: the Kubernetes API, or the simulated cluster of the benchmark.
    public let cluster: any Cluster
    public let policy: Policy
    /// The wall clock of the records (Events, annotations, fences, recovery's in-flight wait). The
    /// evaluation time the journal, cooldowns and verification count in is passed to each call.
    public let clock: any TimeSource
    /// Points where a test can stop the executor as a crash would (by throwing).
    public var hooks: Hooks
    /// Asked before every change and rollback in enforce mode: a reason not to write (the daemon lost
    /// its leadership), or nil to go on. What it stops is reported as not tried, never half-done.
    public var permit: (@Sendable () async -> String?)?

    public struct Hooks: Sendable {
        /// After the write-ahead entry is saved, before the change is written.
        public var afterBegin: (@Sendable (JournalEntry) throws -> Void)?
        /// After the change is written, before its entry is completed.
        public var afterApply: (@Sendable (JournalEntry) throws -> Void)?
        /// After the entry is completed, before the annotation and Event are written.
        public var afterJournal: (@Sendable (JournalEntry) throws -> Void)?
        public init(afterBegin: (@Sendable (JournalEntry) throws -> Void)? = nil, afterApply: (@Sendable (JournalEntry) throws -> Void)? = nil,
                    afterJournal: (@Sendable (JournalEntry) throws -> Void)? = nil) {
            self.afterBegin = afterBegin
            self.afterApply = afterApply
            self.afterJournal = afterJournal
        }
    }

    public init(cluster: any Cluster, policy: Policy, clock: any TimeSource = SystemClock(), hooks: Hooks = Hooks()) {
        self.cluster = cluster
        self.policy = policy
        self.clock = clock
        self.hooks = hooks
        journal = cluster.journal
    }

    /// The journal as this executor sees it: the cluster's, or with several policies the entries of
    /// this one (see `PolicyJournal`).
    public var journal: any JournalStore

    func actuator(for entry: JournalEntry) throws(KubeError) -> any Actuator {
        try cluster.actuator(for: entry.knob, of: entry.workload)
    }

    // MARK: Plan

    /// Carries out the proposed actions of a plan. In dry-run, nothing is stored anywhere.
    public func execute(_ plan: Plan, assessment: Assessment, mode: PolicyMode, time: Double) async throws(JournalError) -> [ActionOutcome] {
        var outcomes: [ActionOutcome] = []
        var stopped: String?
        // A planned action is journaled at most once, whatever became of it: the same plan again (a
        // re-run at the same evaluation time) is skipped, and nothing is applied twice.
        let entries = try await journal.entries()
        let journaled = Dictionary(entries.map { ($0.actionID, $0.id) }, uniquingKeysWith: { a, _ in a })
        var taken = Set(entries.map(\.id))
        // With several policies this journal shows one policy's entries; ids are unique in the whole.
        if let view = journal as? PolicyJournal { taken.formUnion(try await view.base.entries().map(\.id)) }
        // Unique per write: two runs, or two writes of one run, never share an entry.
        func uniqueID(for action: PlannedAction) -> String {
            var id = JournalEntry.id(for: "\(action.id)#\(UUID().uuidString)")
            while taken.contains(id) { id = JournalEntry.id(for: "\(action.id)#\(UUID().uuidString)") }
            taken.insert(id)
            return id
        }
        for action in plan.actions {
            func outcome(_ result: ActionOutcome.Result, _ detail: String, journal id: String? = nil) {
                outcomes.append(ActionOutcome(actionID: action.id, target: action.target, knob: action.knob, result: result, journalID: id, detail: detail))
            }
            if action.decision == .held, let patch = action.gitPatch {
                if let stopped {
                    outcome(.skipped, "not tried: \(stopped)")
                } else if let earlier = journaled[action.id] {
                    outcome(.skipped, "already journaled as \(earlier)", journal: earlier)
                } else if let workload = WorkloadRef.resolve(action.target, selector: policy.targets) {
                    do {
                        outcomes.append(try await journalPatch(action, patch: patch, workload: workload, mode: mode, time: time,
                                                               id: uniqueID(for: action)))
                    } catch let error as KubeError {
                        outcome(.skipped, "the patch for Git was not kept: \(error)")
                        if error.isClusterFailure { stopped = "the cluster API is failing (\(error.kind.rawValue)); no further change this cycle" }
                    } catch let error as JournalError {
                        throw error
                    } catch {
                        throw JournalError(description: "stopped: \(error)")
                    }
                }
                continue
            }
            guard action.decision == .proposed else { continue }
            if let stopped {
                outcome(.skipped, "not tried: \(stopped)")
                continue
            }
            guard let workload = WorkloadRef.resolve(action.target, selector: policy.targets) else {
                outcome(.skipped, "cannot tell the workload of \(action.target) from its labels \(action.target.labelNames.joined(separator: ", ")) (need namespace and \(policy.targets.kind.lowercased()))")
                continue
            }
            if let earlier = journaled[action.id] {
                outcome(.skipped, "already journaled as \(earlier); a change is never applied twice", journal: earlier)
                continue
            }
            let id = uniqueID(for: action)
            do {
                let actuator = try cluster.actuator(for: action.knob, of: workload)
                let reading = try await actuator.read()
                guard KnobValue.matches(reading.value, action.current) else {
                    outcome(.conflict, "\(workload) holds \(reading.value ?? "nothing") for \(action.knob), not the \(KnobValue.text(action.current)) the plan was made from; nothing written, decided again next cycle")
                    continue
                }
                let after = KnobValue.text(action.proposed)
                if mode == .dryRun {
                    try await actuator.write(after, over: reading, dryRun: true)
                    outcome(.wouldApply, actuator.supportsServerDryRun
                            ? "would set \(action.knob) of \(workload) from \(reading.value ?? "nothing") to \(after): the API server accepted it with dryRun=All"
                            : "would set \(action.knob) from \(reading.value ?? "nothing") to \(after) (the endpoint has no server-side dry-run; only the read was tried)")
                    continue
                }
                if let permit, let refusal = await permit() {
                    stopped = refusal
                    outcome(.skipped, "not tried: \(refusal)")
                    continue
                }
                let target = assessment.targets.first { $0.target == action.target }
                var baseline = VerificationBaseline.of(target, trigger: action.trigger)
                baseline.budget = action.budget
                baseline.forecast = action.forecast
                var entry = JournalEntry(id: id, actionID: action.id, target: action.target, workload: workload, action: action.action,
                                         knob: action.knob, before: reading.value, after: after, reason: action.reason,
                                         evidence: action.evidence, baseline: baseline, state: .begun,
                                         createdAt: time, verifyAfterSeconds: policy.safety.verifyAfterSeconds,
                                         rollbackIfScoreDropsBy: policy.safety.rollbackIfScoreDropsBy,
                                         minImprovement: policy.safety.minImprovement)
                entry.policy = policy.name
                entry.pods = reading.pods?.map(\.pod)
                entry.notes.append("\(Formatting.time(time)) begun: \(reading.value ?? "nothing") → \(after)")
                try await journal.save(entry)
                try hooks.afterBegin?(entry)
                let written = try await writeResolvingConflict(actuator, entry.after, over: reading, expected: entry.before)
                if written { try hooks.afterApply?(entry) }
                guard written else {
                    entry.move(to: .superseded, at: time, note: "another writer changed \(action.knob) between read and write; not overwritten")
                    try await journal.save(entry)
                    outcome(.conflict, "another writer changed \(action.knob) of \(workload) between read and write (409); not overwritten", journal: id)
                    continue
                }
                entry.move(to: .applied, at: time, note: "\(action.knob) set to \(after); verified after \(PolicyDuration.format(entry.verifyAfterSeconds))"
                           + (action.knob.rollsPods ? " from when its rollout completes" : ""))
                // A rollout already complete (a cluster that rolls at once) is in effect now; else a
                // later cycle sees it complete, and verification counts from then.
                if action.knob.rollsPods, case .complete = await cluster.rollout(of: workload) { entry.effectiveAt = time }
                try await journal.save(entry)
                try hooks.afterJournal?(entry)
                try await recordAndSave(&entry, why: action.reason)
                outcome(.applied, "set \(action.knob) of \(workload) from \(entry.before ?? "nothing") to \(after)", journal: id)
            } catch let error as KubeError {
                let journaled = (try? await journal.entry(id: id)) ?? nil
                if var entry = journaled, entry.state == .begun {
                    if error.leavesWriteUncertain {
                        // The write may or may not have landed (a 5xx, a timeout or a dropped connection
                        // says nothing either way): only what the object holds settles it, so the entry
                        // stays begun and recovery reads the object.
                        outcome(.uncertain, "\(error); the journal entry stays begun and the next run finds out whether it landed", journal: id)
                    } else {
                        entry.move(to: .notApplied, at: time, note: "the API server refused it: \(error)")
                        try await journal.save(entry)
                        outcome(.rejected, error.description, journal: id)
                    }
                } else {
                    outcome(mode == .dryRun ? .wouldBeRejected : .rejected, error.description)
                }
                if error.isClusterFailure { stopped = "the cluster API is failing (\(error.kind.rawValue)); no further change this cycle" }
            } catch let error as JournalError {
                throw error
            } catch {
                // A hook's simulated crash: stop here, as a crashed process would.
                throw JournalError(description: "stopped: \(error)")
            }
        }
        return outcomes
    }

    /// Writes over `reading`; on a 409 re-reads, and writes again only if the value is still the one
    /// the decision was made from (another field changed). Returns false when the value itself changed.
    func writeResolvingConflict(_ actuator: any Actuator, _ value: String?, over reading: KnobReading, expected: String?) async throws(KubeError) -> Bool {
        var reading = reading
        for attempt in 1...3 {
            do {
                try await actuator.write(value, over: reading, dryRun: false)
                return true
            } catch let error where error.kind == .conflict && attempt < 3 {
                reading = try await actuator.read()
                if reading.value != expected { return false }
            }
        }
        return false
    }

    // MARK: Events and annotations

    /// Tells the cluster of an entry's state (annotation and Event: `TrimtabChanged` for an applied
    /// change, `TrimtabRolledBack` as a Warning for a rollback, saying `why`) and saves the entry with
    /// what came of it: `recorded` when both were written, else the notes, for recovery to try again.
    func recordAndSave(_ entry: inout JournalEntry, why: String) async throws(JournalError) {
        let before = entry.before ?? "nothing"
        let problems = entry.state.isRestored
            ? await cluster.record(entry, reason: "TrimtabRolledBack", type: "Warning",
                                   message: "Trimtab restored \(entry.knob) from \(entry.after) to \(before) (change \(entry.id)): \(why)", wallTime: clock.now())
            : await cluster.record(entry, reason: "TrimtabChanged", type: "Normal",
                                   message: "Trimtab set \(entry.knob) from \(before) to \(entry.after) (change \(entry.id)): \(why)", wallTime: clock.now())
        // Recovery tries again every cycle: keep the latest failure only, so the entry does not grow.
        entry.notes.removeAll { $0.contains(" could not annotate ") || $0.contains(" could not record an Event ") }
        if problems.isEmpty {
            entry.recorded = true
        } else {
            entry.notes += problems
        }
        try await journal.save(entry)
    }
}
