import TrimtabCore

extension Cycle {
    /// What the cluster side of a cycle came to.
    struct ClusterOutcome: Sendable {
        var plan: Plan?
        var execution: ExecutionReport
        /// Errors that made the cluster side incomplete: nothing was changed after them.
        var errors: [String]
    }

    /// The cluster side of one evaluation, under the journal's lock when it may write: read the
    /// cluster's facts and the journal, finish what a crash left open, verify earlier changes, plan
    /// with all of that, and carry the plan out.
    func onCluster(_ cluster: any Cluster, _ assessment: Assessment, objectives: [ObjectiveStatus], snapshot: Snapshot, time: Double) async -> ClusterOutcome {
        var executor = Executor(cluster: cluster, policy: policy, clock: clock, hooks: hooks)
        executor.permit = permit
        if let ownsEntry { executor.journal = PolicyJournal(base: cluster.journal, owns: ownsEntry) }
        if let lockError {
            var report = ExecutionReport(mode: mode, cluster: cluster.server)
            report.errors = [lockError]
            return ClusterOutcome(plan: nil, execution: report, errors: report.errors)
        }
        guard mode == .enforce, assessment.isComplete, !lockHeldByCaller else {
            return await onCluster(executor, assessment, objectives: objectives, snapshot: snapshot, time: time)
        }
        // One writer at a time: the whole enforced cycle holds the journal's lock (a file lock or a
        // Lease), so two runs never act at once or settle each other's open entries.
        let lock = cluster.journalLock()
        do {
            try await lock.acquire()
        } catch {
            var report = ExecutionReport(mode: mode, cluster: cluster.server)
            report.errors = ["\(error)"]
            return ClusterOutcome(plan: nil, execution: report, errors: report.errors)
        }
        let outcome = await onCluster(executor, assessment, objectives: objectives, snapshot: snapshot, time: time)
        await lock.release()
        return outcome
    }

    /// Facts, recovery, verification, plan and execution, in that order; errors stop what follows them.
    func onCluster(_ executor: Executor, _ assessment: Assessment, objectives: [ObjectiveStatus], snapshot: Snapshot, time: Double) async -> ClusterOutcome {
        let cluster = executor.cluster
        var report = ExecutionReport(mode: mode, cluster: cluster.server)
        var errors: [String] = []
        // Facts first: without them the plan could fight an autoscaler or touch a frozen workload.
        let facts: ClusterFacts
        do {
            facts = try await cluster.facts(for: assessment.targets.map(\.target), policy: policy)
        } catch {
            errors.append("could not read the cluster, so nothing was planned against it or changed: \(error)")
            report.errors = errors
            return ClusterOutcome(plan: nil, execution: report, errors: errors)
        }
        report.notes += facts.notes
        do {
            if !assessment.isComplete {
                // Nothing is written on incomplete data, not even a recovery's bookkeeping: the
                // planner holds every change, and open entries wait for a whole cycle.
                report.notes.append("\(assessment.failures.count) indicator quer\(assessment.failures.count == 1 ? "y" : "ies") failed, so no change is applied, verified, recovered or rolled back this cycle.")
            } else if mode == .enforce {
                let recovery = try await executor.recover(time: time)
                report.journal += recovery.events
                if let failure = recovery.stoppedBy {
                    // Settling open entries is the first thing a cycle owes the journal; with the cluster
                    // failing it cannot, so nothing else is changed either.
                    errors.append("recovering open journal entries failed, so nothing was verified or changed this cycle: \(failure)")
                    report.errors = errors
                    return ClusterOutcome(plan: nil, execution: report, errors: errors)
                }
                report.journal += try await executor.keepLiveValues(time: time)
                report.journal += try await executor.verify(assessment, objectives: objectives, autoscaled: Set(facts.autoscalers.keys), time: time)
                report.journal += try await executor.settlePatches(time: time)
                do {
                    if let note = try await executor.prune(time: time) { report.notes.append(note) }
                } catch {
                    // Old entries left in place cost reads, not safety: the cycle goes on.
                    report.notes.append("old journal entries could not be dropped this cycle: \(error)")
                }
            }
            // Read after recovery and verification, which change entries.
            let entries = try await executor.journal.entries()
            let open = entries.filter { $0.state.isOpen }.count
            if mode != .enforce && open > 0 {
                report.notes.append("\(open) journal entr\(open == 1 ? "y waits" : "ies wait") to be recovered or verified; a run with --apply does that.")
            }
            let history = entries.flatMap(\.changeRecords)
            var context = PlanContext(history: history, frozenTargets: facts.frozen, autoscalers: facts.autoscalers,
                                      knobValues: facts.knobValues, clusterRead: true)
            context.objectives = objectives
            context.managed = facts.managed
            context.heldBy = facts.heldBy.merging(holds) { cluster, _ in cluster }
            context.configMapReach = facts.configMapReach
            context.pendingPatches = entries.compactMap(\.pendingPatch)
            var plan = Planner.plan(assessment, snapshot: snapshot, policy: policy, context: context)
            plan.mode = mode
            report.outcomes = try await executor.execute(plan, assessment: assessment, mode: mode, time: time)
            for outcome in report.outcomes where [.rejected, .uncertain].contains(outcome.result) || outcome.detail.hasPrefix("not tried") {
                errors.append("\(outcome.target) \(outcome.knob): \(outcome.detail)")
            }
            report.errors = errors
            return ClusterOutcome(plan: plan, execution: report, errors: errors)
        } catch {
            errors.append("the journal failed, so nothing more was changed: \(error)")
            report.errors = errors
            return ClusterOutcome(plan: nil, execution: report, errors: errors)
        }
    }
}
