import Foundation
import TrimtabCore
import TrimtabCycle
import TrimtabPrometheus

/// One analysis as the CLI runs it: one `Cycle` against Prometheus (and the cluster, when given),
/// then the report. Shared by `analyze` and `demo`; `run` and `report` run the same cycle.
public struct AnalysisRun: Sendable {
    public enum Format: String, CaseIterable, Sendable {
        case markdown, json
    }

    /// One policy, or several teams' (each with its own targets) run in the one cycle.
    public var policies: [Policy]
    public var policy: Policy {
        get { policies[0] }
        set { policies[0] = newValue }
    }
    public var source: any MetricsSource
    /// The evaluation time; put on the policy's step grid, as every mode does.
    public var time: Double
    public var maxConcurrentQueries: Int
    /// The cluster to plan against and act on; without it the plan is made from metrics alone.
    public var cluster: (any Cluster)?
    /// The mode the cycle runs in (the policy's unless overridden).
    public var mode: PolicyMode
    public var clock: any TimeSource = SystemClock()
    /// The longest the whole read of Prometheus may take (see `SnapshotReader.deadlineSeconds`).
    public var deadlineSeconds: Double?

    /// Where patches for Git are written (`--patch-dir`).
    public var patchDirectory: String?

    public init(policy: Policy, source: any MetricsSource, time: Double, maxConcurrentQueries: Int = 4, cluster: (any Cluster)? = nil,
                mode: PolicyMode? = nil) {
        self.init(policies: [policy], source: source, time: time, maxConcurrentQueries: maxConcurrentQueries, cluster: cluster, mode: mode)
    }

    public init(policies: [Policy], source: any MetricsSource, time: Double, maxConcurrentQueries: Int = 4, cluster: (any Cluster)? = nil,
                mode: PolicyMode? = nil) {
        let policy = policies[0]
        self.policies = policies
        self.source = source
        self.time = time
        self.maxConcurrentQueries = maxConcurrentQueries
        self.cluster = cluster
        self.mode = mode ?? policy.mode
    }

    public struct Outcome: Sendable {
        public var report: AnalysisReport
        /// Query errors, one line per cause.
        public var errors: [String]
        /// What went wrong on the cluster side (reading it, the journal, a refused change).
        public var clusterErrors: [String] = []
        /// The whole cycle, for callers that need more than the report.
        public var cycle: Cycle.Result
    }

    /// The cycle this run is.
    public var cycle: Cycle {
        let reader = SnapshotReader(source: source, maxConcurrentQueries: maxConcurrentQueries, deadlineSeconds: deadlineSeconds)
        var cycle = Cycle(policies: policies, source: reader, cluster: cluster, mode: mode, clock: clock)
        cycle.patchDirectory = patchDirectory
        return cycle
    }

    public func execute(progress: (@Sendable (String) -> Void)? = nil) async -> Outcome {
        let cycle = self.cycle
        let result = await cycle.run(at: cycle.evaluationTime(time), progress: progress)
        return Outcome(report: result.report, errors: result.read.errors, clusterErrors: result.clusterErrors, cycle: result)
    }

    /// Renders a report in a format.
    public static func render(_ report: AnalysisReport, as format: Format) throws -> String {
        switch format {
        case .markdown: return MarkdownReport.render(report)
        case .json: return try ReportEncoding.json(report)
        }
    }

    /// Writes a file whole or not at all, creating its directory.
    public static func write(_ text: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url, options: .atomic)
    }

    /// One line for a terminal: the score, the status and what was found.
    public static func summary(_ report: AnalysisReport) -> String { AnalysisSummary.line(report) }
}
