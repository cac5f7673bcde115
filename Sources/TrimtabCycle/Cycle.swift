import TrimtabCore

/// Where a cycle's indicator values come from: Prometheus (or any server with its API) in a cluster,
/// the simulation's computed indicators in fast time.
public protocol SnapshotSource: Sendable {
    /// The source as reports and errors show it (no credentials).
    var displayName: String { get }
    /// Something that changes when the source restarts, or nil when it cannot say: kept windows are
    /// then read afresh.
    func restartMarker() async -> String?
    /// Reads every queried indicator of `policy` for an evaluation at `time`. With `windows`, asks
    /// only for the points they lack and keeps the windows for the next read; the snapshot is the one
    /// a whole read at `time` gives. A failed indicator is recorded as failed, never as a value.
    func read(policy: Policy, at time: Double, windows: inout WindowCache?, progress: (@Sendable (String) -> Void)?) async -> SnapshotRead
    /// Reads every objective of `policy` at `time`: its error ratio per target over each burn window
    /// and over its compliance window. A source that cannot read objectives returns none, and the
    /// cycle shows none.
    func readObjectives(policy: Policy, at time: Double) async -> ObjectiveRead
    /// The namespaces that carry every one of `labels` (a policy's `spec.targets.namespaces.matchLabels`)
    /// at `time`, when there is no cluster to ask.
    func namespaces(labelled labels: [String: String], at time: Double) async throws -> [String]
    /// The source for one cycle of several policies: a query sent alike twice is answered once.
    func sharingAnswers() -> any SnapshotSource
    /// Reads the long history of the load indicators the policy's forecasts name (the queries of
    /// `IndicatorQuery.history`), one result per query in their order; a failed read is recorded as
    /// failed, and that forecast is then not used. A source that keeps no history returns none.
    func readHistory(_ queries: [IndicatorQuery], policy: Policy) async -> [IndicatorData]
}

extension SnapshotSource {
    public func readObjectives(policy: Policy, at time: Double) async -> ObjectiveRead { ObjectiveRead() }
    public func namespaces(labelled labels: [String: String], at time: Double) async throws -> [String] {
        throw NamespaceLookupError(description: "\(displayName) cannot say which namespaces carry labels")
    }
    public func sharingAnswers() -> any SnapshotSource { self }
    public func readHistory(_ queries: [IndicatorQuery], policy: Policy) async -> [IndicatorData] { [] }
}

/// Why the namespaces of a label selector could not be found.
public struct NamespaceLookupError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// What a read of the objectives produced, and what it cost.
public struct ObjectiveRead: Sendable {
    public var readings: [ObjectiveReading]
    public var queriesSent: Int
    public var errors: [String]

    public init(readings: [ObjectiveReading] = [], queriesSent: Int = 0, errors: [String] = []) {
        self.readings = readings
        self.queriesSent = queriesSent
        self.errors = errors
    }
}

/// What a read of the indicators produced, and what it cost.
public struct SnapshotRead: Sendable {
    public var snapshot: Snapshot
    public var queriesSent: Int
    /// The indicators read whole (all of them without kept windows, after a gap or a failure).
    public var wholeReads: Int
    /// Bytes of the answers, as decoded.
    public var bytes: Int
    /// What failed, one line per cause: a server that is down fails every query the same way.
    public var errors: [String]

    public init(snapshot: Snapshot, queriesSent: Int, wholeReads: Int, bytes: Int = 0, errors: [String] = []) {
        self.snapshot = snapshot
        self.queriesSent = queriesSent
        self.wholeReads = wholeReads
        self.bytes = bytes
        self.errors = errors
    }
}

/// One cycle of Trimtab: read the indicators, assess them, and plan, against the cluster when there is
/// one (its facts, recovery, verification, then execution). Every mode runs exactly this: `analyze`
/// once, `trimtab run` on a timer, `report` at the end of its period, the demos, and the control
/// benchmark in fast time against the simulated cluster. What varies comes in as values: the time,
/// the policy, the source, the kept windows, the cluster, the mode and the clock.
public struct Cycle: Sendable {
    /// The policies this cycle runs: one, or several teams' independent policies, each with its own
    /// targets (see `Cycle+Policies.swift`).
    public var policies: [Policy]
    /// The first policy: its step grid is the cycle's, and with one policy it is the policy.
    public var policy: Policy {
        get { policies[0] }
        set { policies[0] = newValue }
    }
    public var source: any SnapshotSource
    /// The cluster to plan against and act on; without it the plan is made from metrics alone.
    public var cluster: (any Cluster)?
    /// The mode this cycle runs in: enforce writes, dry-run asks the API server to judge the writes only.
    public var mode: PolicyMode
    public var clock: any TimeSource
    /// The caller already holds the journal's lock (the daemon holds it for as long as it leads), so
    /// an enforced cycle does not take it again.
    public var lockHeldByCaller = false
    /// Asked before every change and rollback in enforce mode (see `Executor.permit`).
    public var permit: (@Sendable () async -> String?)?
    /// Points where a test can stop the executor as a crash would.
    public var hooks = Executor.Hooks()
    /// Where the plan's patches for Git are written (`--patch-dir`); nil keeps them in the report only.
    public var patchDirectory: String?

    /// Targets held this cycle with the reason (claimed by another policy too), on top of the cluster's.
    var holds: [TargetID: String] = [:]
    /// With several policies, which journal entries are this policy's (see `PolicyJournal`).
    var ownsEntry: (@Sendable (JournalEntry) -> Bool)?
    /// With several policies, why the journal's lock could not be taken for all of them.
    var lockError: String?
    /// With several policies, those that only plan this cycle whatever the mode (paused by their
    /// own `spec.paused`).
    public var dryRunPolicies: Set<String> = []

    public init(policy: Policy, source: any SnapshotSource, cluster: (any Cluster)? = nil, mode: PolicyMode? = nil,
                clock: any TimeSource = SystemClock()) {
        self.init(policies: [policy], source: source, cluster: cluster, mode: mode, clock: clock)
    }

    /// A cycle of several teams' policies (at least one); `mode` nil takes the first policy's.
    public init(policies: [Policy], source: any SnapshotSource, cluster: (any Cluster)? = nil, mode: PolicyMode? = nil,
                clock: any TimeSource = SystemClock()) {
        precondition(!policies.isEmpty, "a cycle runs at least one policy")
        self.policies = policies
        self.source = source
        self.cluster = cluster
        self.mode = mode ?? policies[0].mode
        self.clock = clock
    }

    /// What one cycle found and did: everything a report, the status API, metrics and logs need.
    public struct Result: Sendable {
        public var time: Double
        public var read: SnapshotRead
        public var objectiveRead: ObjectiveRead
        public var assessment: Assessment
        /// Each objective's status per target (empty when the policy declares none).
        public var objectives: [ObjectiveStatus]
        public var plan: Plan?
        /// What the plan came to on the cluster (nil without one, or when the policy has no actions).
        public var execution: ExecutionReport?
        /// What went wrong on the cluster side (reading it, the journal, a refused change).
        public var clusterErrors: [String]
        public var report: AnalysisReport
        /// With several policies, each one's own result (the fields above combine them; `read.snapshot`
        /// is the first policy's).
        public var parts: [Result] = []
        public var snapshot: Snapshot { read.snapshot }
    }

    /// The evaluation time of a cycle started at wall-clock `now` (or asked for at `now`): the
    /// policies' longest `evaluation.delay` behind it, on the policy's step grid. The policies of one
    /// cycle share a backend, so the longest delay is the one it needs.
    public func evaluationTime(_ now: Double) -> Double {
        let delay = policies.map(\.evaluation.delaySeconds).max() ?? policy.evaluation.delaySeconds
        return EvaluationTime.onGrid(now - delay, step: policy.evaluation.stepSeconds)
    }

    /// Runs one cycle at `time` (on the step grid), reading whole windows.
    public func run(at time: Double, progress: (@Sendable (String) -> Void)? = nil) async -> Result {
        var windows: WindowCache?
        return await run(at: time, windows: &windows, progress: progress)
    }

    /// Runs one cycle at `time`, reading only what `windows` lacks when given.
    public func run(at time: Double, windows: inout WindowCache?, progress: (@Sendable (String) -> Void)? = nil) async -> Result {
        var cycle = self
        let resolution = await cycle.resolveNamespaces(at: time)
        if cycle.policies.count > 1 { return await cycle.runPolicies(at: time, windows: &windows, resolution: resolution, progress: progress) }
        let reading = await cycle.readAndAssess(at: time, windows: &windows, resolution: resolution[0], progress: progress)
        return await cycle.finish(reading, at: time, progress: progress)
    }

    /// What one policy's read and assessment came to, before anything is planned.
    struct Reading: Sendable {
        var read: SnapshotRead
        var objectiveRead: ObjectiveRead
        var readSeconds: Double
        var assessment: Assessment
        var objectives: [ObjectiveStatus]
    }

    /// Reads and assesses the (first) policy. A failed resolution of its namespace labels makes the
    /// assessment incomplete, so nothing is changed on a guess.
    func readAndAssess(at time: Double, windows: inout WindowCache?, resolution: String?, progress: (@Sendable (String) -> Void)?) async -> Reading {
        let started = ContinuousClock.now
        progress?("querying \(source.displayName) for \(policy.queriedIndicators.count) indicators at \(Formatting.time(time))"
                  + (policies.count > 1 || policy.targets.namespaceLabels != nil ? " (policy \(policy.name), \(policy.targets.namespaceText))" : ""))
        var read = await source.read(policy: policy, at: time, windows: &windows, progress: progress)
        let objectiveRead = policy.objectives.isEmpty ? ObjectiveRead() : await source.readObjectives(policy: policy, at: time)
        let history = await readHistory(at: time, windows: &windows, progress: progress)
        read.queriesSent += history.queriesSent
        read.snapshot.history = history.data
        let readSeconds = (ContinuousClock.now - started).seconds
        var assessment = Assessor.assess(read.snapshot, policy: policy)
        if let resolution {
            read.errors.append(resolution)
            assessment.failures["namespaces"] = resolution
            assessment.score = nil
            assessment.status = .unknown
            assessment.unknownReason = "the namespaces of the targets are not known: \(resolution)"
        }
        let objectives = ObjectiveAssessor.assess(objectiveRead.readings, policy: policy)
        return Reading(read: read, objectiveRead: objectiveRead, readSeconds: readSeconds, assessment: assessment, objectives: objectives)
    }

    /// The forecasts' load history. Its end is on the forecast's step grid, so with kept windows it
    /// is read once a step (five minutes by default), not every cycle; a failed read is read again.
    func readHistory(at time: Double, windows: inout WindowCache?, progress: (@Sendable (String) -> Void)?) async
        -> (data: [String: IndicatorData], queriesSent: Int) {
        let queries = IndicatorQuery.history(for: policy, at: time)
        guard !queries.isEmpty else { return ([:], 0) }
        var data: [String: IndicatorData] = [:]
        var missing: [IndicatorQuery] = []
        for query in queries {
            if let kept = windows?.history[query.indicator], kept.query == query, kept.failure == nil { data[query.indicator] = kept } else { missing.append(query) }
        }
        guard !missing.isEmpty else { return (data, 0) }
        progress?("reading \(missing.count) load histor\(missing.count == 1 ? "y" : "ies") for the forecasts")
        for item in await source.readHistory(missing, policy: policy) {
            data[item.indicator] = item
            windows?.history[item.indicator] = item
        }
        return (data, missing.count)
    }

    /// Plans (against the cluster when there is one) and carries out the (first) policy's reading.
    func finish(_ reading: Reading, at time: Double, progress: (@Sendable (String) -> Void)?) async -> Result {
        let read = reading.read, objectiveRead = reading.objectiveRead, assessment = reading.assessment, objectives = reading.objectives
        let context = RunContext(source: source.displayName, queries: read.queriesSent + objectiveRead.queriesSent, readSeconds: reading.readSeconds,
                                 policyFiles: policy.sources, mode: mode)
        var plan: Plan?
        var execution: ExecutionReport?
        var clusterErrors: [String] = []
        if let cluster, !policy.actions.isEmpty {
            progress?("\(mode == .enforce ? "acting on" : "checking the plan against") the cluster at \(cluster.server)")
            let outcome = await onCluster(cluster, assessment, objectives: objectives, snapshot: read.snapshot, time: time)
            plan = outcome.plan
            execution = outcome.execution
            clusterErrors = outcome.errors
        }
        if plan == nil, !policy.actions.isEmpty {
            // Without a cluster (or when it failed) the plan knows of no earlier changes, autoscalers
            // or frozen workloads: it is shown, never carried out.
            var context = PlanContext()
            context.objectives = objectives
            context.heldBy = holds
            plan = Planner.plan(assessment, snapshot: read.snapshot, policy: policy, context: context)
        }
        if let patchDirectory, let plan, plan.actions.contains(where: { $0.gitPatch != nil }) {
            let files = PatchFiles.write(plan, under: patchDirectory)
            if !files.written.isEmpty {
                execution?.notes.append("\(files.written.count) patch\(files.written.count == 1 ? "" : "es") for Git under \(patchDirectory): " + files.written.joined(separator: ", "))
            }
            clusterErrors += files.errors
            execution?.errors += files.errors
        }
        var report = AnalysisReport(assessment: assessment, context: context, plan: plan, execution: execution)
        report.objectives = objectives.isEmpty ? nil : objectives
        return Result(time: time, read: read, objectiveRead: objectiveRead, assessment: assessment, objectives: objectives, plan: plan,
                      execution: execution, clusterErrors: clusterErrors, report: report)
    }
}
