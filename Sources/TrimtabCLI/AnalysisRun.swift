import Foundation
import TrimtabCore
import TrimtabKube
import TrimtabPrometheus

/// One analysis: read a snapshot, assess it, write the report. Shared by `analyze` and `demo`.
public struct AnalysisRun: Sendable {
    public enum Format: String, CaseIterable, Sendable {
        case markdown, json
    }

    public var policy: Policy
    public var source: any MetricsSource
    public var time: Double
    public var maxConcurrentQueries: Int
    /// The cluster to plan against and act on; without it the plan is made from metrics alone.
    public var cluster: ClusterCycle?
    /// The longest the whole read of Prometheus may take (see `SnapshotReader.deadlineSeconds`).
    public var deadlineSeconds: Double?

    public init(policy: Policy, source: any MetricsSource, time: Double, maxConcurrentQueries: Int = 4, cluster: ClusterCycle? = nil) {
        self.policy = policy
        self.source = source
        self.time = time
        self.maxConcurrentQueries = maxConcurrentQueries
        self.cluster = cluster
    }

    public struct Outcome: Sendable {
        public var report: AnalysisReport
        public var errors: [PrometheusError]
        /// What went wrong on the cluster side (reading it, the journal, a refused change).
        public var clusterErrors: [String] = []
    }

    public func execute(progress: (@Sendable (String) -> Void)? = nil) async -> Outcome {
        let reader = SnapshotReader(source: source, maxConcurrentQueries: maxConcurrentQueries, deadlineSeconds: deadlineSeconds)
        let clock = ContinuousClock()
        let started = clock.now
        progress?("querying \(source.displayName) for \(policy.queriedIndicators.count) indicators at \(Formatting.time(time))")
        let read = await reader.read(policy: policy, at: time, progress: progress)
        let elapsed = clock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let assessment = Assessor.assess(read.snapshot, policy: policy)
        let context = RunContext(source: source.displayName, queries: read.queriesSent, readSeconds: seconds,
                                 policyFiles: policy.sources, mode: policy.mode)
        guard let cluster, !policy.actions.isEmpty else {
            // Without a cluster, the plan knows of no earlier changes, autoscalers or frozen workloads.
            let plan = policy.actions.isEmpty ? nil : Planner.plan(assessment, snapshot: read.snapshot, policy: policy)
            return Outcome(report: AnalysisReport(assessment: assessment, context: context, plan: plan), errors: read.errors)
        }
        progress?("\(cluster.mode == .enforce ? "acting on" : "checking the plan against") the cluster at \(cluster.executor.client.server)")
        let outcome = await cluster.run(assessment, snapshot: read.snapshot, time: time)
        let plan = outcome.plan ?? Planner.plan(assessment, snapshot: read.snapshot, policy: policy)
        var runContext = context
        runContext.mode = cluster.mode
        return Outcome(report: AnalysisReport(assessment: assessment, context: runContext, plan: plan, execution: outcome.execution),
                       errors: read.errors, clusterErrors: outcome.errors)
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
