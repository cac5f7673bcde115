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
}

extension SnapshotSource {
    public func readObjectives(policy: Policy, at time: Double) async -> ObjectiveRead { ObjectiveRead() }
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
    public var policy: Policy
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

    public init(policy: Policy, source: any SnapshotSource, cluster: (any Cluster)? = nil, mode: PolicyMode? = nil,
                clock: any TimeSource = SystemClock()) {
        self.policy = policy
        self.source = source
        self.cluster = cluster
        self.mode = mode ?? policy.mode
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
        public var snapshot: Snapshot { read.snapshot }
    }

    /// The evaluation time of a cycle started at wall-clock `now`: on the policy's step grid.
    public func evaluationTime(_ now: Double) -> Double { EvaluationTime.onGrid(now, step: policy.evaluation.stepSeconds) }

    /// Runs one cycle at `time` (on the step grid), reading whole windows.
    public func run(at time: Double, progress: (@Sendable (String) -> Void)? = nil) async -> Result {
        var windows: WindowCache?
        return await run(at: time, windows: &windows, progress: progress)
    }

    /// Runs one cycle at `time`, reading only what `windows` lacks when given.
    public func run(at time: Double, windows: inout WindowCache?, progress: (@Sendable (String) -> Void)? = nil) async -> Result {
        let started = ContinuousClock.now
        progress?("querying \(source.displayName) for \(policy.queriedIndicators.count) indicators at \(Formatting.time(time))")
        let read = await source.read(policy: policy, at: time, windows: &windows, progress: progress)
        let objectiveRead = policy.objectives.isEmpty ? ObjectiveRead() : await source.readObjectives(policy: policy, at: time)
        let elapsed = ContinuousClock.now - started
        let readSeconds = elapsed.seconds
        let assessment = Assessor.assess(read.snapshot, policy: policy)
        let objectives = ObjectiveAssessor.assess(objectiveRead.readings, policy: policy)
        let context = RunContext(source: source.displayName, queries: read.queriesSent + objectiveRead.queriesSent, readSeconds: readSeconds,
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
