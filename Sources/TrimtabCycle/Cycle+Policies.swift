import TrimtabCore

/// Several teams' policies in one cycle. Each policy is read, assessed, planned and carried out as
/// one policy alone would be, with three things shared:
///
/// - the reads: a query two policies send alike is sent once (`SnapshotSource.sharingAnswers`);
/// - the journal and its lock: one lock for the whole enforced cycle, and each policy sees only its
///   own entries (`PolicyJournal`), so it never verifies, rolls back or counts another's change;
/// - what the others claim: a workload two policies find among their targets is held by both, with
///   the reason naming both files, until one of them leaves it out.
extension Cycle {
    /// Finds the namespaces of every policy that chooses them by label: from the API server when
    /// there is a cluster, else from kube-state-metrics' `kube_namespace_labels`. Returns, per
    /// policy, why they could not be found (nil when they were, or were not asked for); then the
    /// policy's targets are none, and its assessment is incomplete.
    mutating func resolveNamespaces(at time: Double) async -> [String?] {
        var problems = Array(repeating: String?.none, count: policies.count)
        for index in policies.indices {
            guard let labels = policies[index].targets.namespaceLabels else { continue }
            let selector = TargetSelector.selectorText(labels)
            do {
                if let cluster {
                    policies[index].targets.namespaces = try await cluster.namespaces(labelled: labels)
                } else {
                    policies[index].targets.namespaces = try await source.namespaces(labelled: labels, at: time)
                }
            } catch {
                policies[index].targets.namespaces = []
                problems[index] = "the namespaces labelled \(selector) could not be listed (\(cluster == nil ? "from \(source.displayName)" : "on \(cluster!.server)")): \(error)"
            }
        }
        return problems
    }

    /// Runs every policy: all reads and assessments first (so a target two policies claim is known
    /// before either plans), then each policy's plan and execution under one journal lock.
    mutating func runPolicies(at time: Double, windows: inout WindowCache?, resolution: [String?],
                              progress: (@Sendable (String) -> Void)?) async -> Result {
        let shared = source.sharingAnswers()
        var readings: [Reading] = []
        var cycles: [Cycle] = []
        for (index, policy) in policies.enumerated() {
            var one = self
            one.policies = [policy]
            one.source = shared
            if dryRunPolicies.contains(policy.name) { one.mode = .dryRun }
            // Each policy keeps its own windows: two may name an indicator alike and mean another query.
            var scoped = windows.map { $0.scope(policy.name) }
            let grid = EvaluationTime.onGrid(time, step: policy.evaluation.stepSeconds)
            readings.append(await one.readAndAssess(at: grid, windows: &scoped, resolution: resolution[index], progress: progress))
            if let scoped { windows?.setScope(policy.name, scoped) }
            cycles.append(one)
        }
        let holds = PolicySetReport.contested(zip(policies, readings).map { ($0, $1.assessment.targets.map(\.target)) })
        let owner = Self.owner(policies: policies, targets: readings.map { Set($0.assessment.targets.map(\.target)) })
        for index in cycles.indices {
            cycles[index].holds = holds[index]
            let name = policies[index].name
            cycles[index].ownsEntry = { owner($0) == name }
        }
        // One writer for the whole cycle: the lock is taken once for every policy.
        var lock: (any JournalLock)?
        if let cluster, mode == .enforce, !lockHeldByCaller, readings.contains(where: { $0.assessment.isComplete }) {
            let candidate = cluster.journalLock()
            do {
                try await candidate.acquire()
                lock = candidate
            } catch {
                for index in cycles.indices { cycles[index].lockError = "\(error)" }
            }
            for index in cycles.indices { cycles[index].lockHeldByCaller = true }
        }
        var parts: [Result] = []
        for (one, reading) in zip(cycles, readings) {
            let grid = EvaluationTime.onGrid(time, step: one.policy.evaluation.stepSeconds)
            parts.append(await one.finish(reading, at: grid, progress: progress))
        }
        await lock?.release()
        return Self.combine(parts, policies: policies, source: source.displayName, mode: mode)
    }

    /// Which policy an entry is: the one it names, else the one whose targets hold its target this
    /// cycle, else the one whose targets cover its namespace and kind, else the first. Nothing is
    /// left without an owner, so no open entry waits forever after a policy is renamed or removed.
    public static func owner(policies: [Policy], targets: [Set<TargetID>]) -> @Sendable (JournalEntry) -> String {
        let names = Set(policies.map(\.name))
        let selectors = policies.map { ($0.name, $0.targets) }
        let assessed = zip(policies.map(\.name), targets).map { ($0, $1) }
        return { entry in
            if let name = entry.policy, names.contains(name) { return name }
            if let found = assessed.first(where: { $0.1.contains(entry.target) }) { return found.0 }
            if let found = selectors.first(where: { $0.1.kind == entry.workload.kind && $0.1.covers(namespace: entry.workload.namespace) }) {
                return found.0
            }
            return selectors[0].0
        }
    }

    /// The policies' results as one (see `PolicySetReport`), each policy's kept in `parts`.
    static func combine(_ parts: [Result], policies: [Policy], source: String, mode: PolicyMode) -> Result {
        let named = zip(policies, parts).map { (policy: $0, assessment: $1.assessment) }
        let assessment = PolicySetReport.assessment(named)
        let plan = PolicySetReport.plan(zip(policies, parts).map { ($0.name, $1.plan) })
        let execution = PolicySetReport.execution(zip(policies, parts).map { ($0.name, $1.execution) })
        var read = SnapshotRead(snapshot: parts[0].read.snapshot, queriesSent: 0, wholeReads: 0)
        var objectiveRead = ObjectiveRead()
        var clusterErrors: [String] = []
        var readSeconds = 0.0
        for (policy, part) in zip(policies, parts) {
            read.queriesSent += part.read.queriesSent
            read.wholeReads += part.read.wholeReads
            read.bytes += part.read.bytes
            read.errors += part.read.errors.map { "policy \(policy.name): \($0)" }
            objectiveRead.readings += part.objectiveRead.readings
            objectiveRead.queriesSent += part.objectiveRead.queriesSent
            objectiveRead.errors += part.objectiveRead.errors
            clusterErrors += part.clusterErrors.map { "policy \(policy.name): \($0)" }
            readSeconds += part.report.context.readSeconds
        }
        let context = RunContext(source: source, queries: read.queriesSent + objectiveRead.queriesSent, readSeconds: readSeconds,
                                 policyFiles: policies.sourceFiles, mode: mode)
        let objectives = parts.flatMap(\.objectives)
        var report = AnalysisReport(assessment: assessment, context: context, plan: plan, execution: execution)
        report.objectives = objectives.isEmpty ? nil : objectives
        report.policies = PolicySetReport.outcomes(named)
        var result = Result(time: parts[0].time, read: read, objectiveRead: objectiveRead, assessment: assessment, objectives: objectives,
                            plan: plan, execution: execution, clusterErrors: clusterErrors, report: report)
        result.parts = parts
        return result
    }
}

/// One policy's view of the shared journal: the entries it owns, and every save. Recovery,
/// verification, the rate limit and cooldowns of a policy then count its own changes only.
public struct PolicyJournal: JournalStore {
    public let base: any JournalStore
    public let owns: @Sendable (JournalEntry) -> Bool

    public init(base: any JournalStore, owns: @escaping @Sendable (JournalEntry) -> Bool) {
        self.base = base
        self.owns = owns
    }

    public var location: String { base.location }
    public func entries() async throws(JournalError) -> [JournalEntry] { try await base.entries().filter(owns) }
    public func save(_ entry: JournalEntry) async throws(JournalError) { try await base.save(entry) }
    public func remove(_ ids: [String]) async throws(JournalError) { try await base.remove(ids) }
}
