import Foundation
import TrimtabCore
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

    public init(policy: Policy, source: any MetricsSource, time: Double, maxConcurrentQueries: Int = 4) {
        self.policy = policy
        self.source = source
        self.time = time
        self.maxConcurrentQueries = maxConcurrentQueries
    }

    public struct Outcome: Sendable {
        public var report: AnalysisReport
        public var errors: [PrometheusError]
    }

    public func execute(progress: (@Sendable (String) -> Void)? = nil) async -> Outcome {
        let reader = SnapshotReader(source: source, maxConcurrentQueries: maxConcurrentQueries)
        let clock = ContinuousClock()
        let started = clock.now
        progress?("querying \(source.displayName) for \(policy.queriedIndicators.count) indicators at \(Formatting.time(time))")
        let read = await reader.read(policy: policy, at: time, progress: progress)
        let elapsed = clock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let assessment = Assessor.assess(read.snapshot, policy: policy)
        let context = RunContext(source: source.displayName, queries: read.queriesSent, readSeconds: seconds,
                                 policyFiles: policy.sources, mode: policy.mode)
        // Without a journal yet, a one-shot run knows of no earlier changes.
        let plan = policy.actions.isEmpty ? nil : Planner.plan(assessment, snapshot: read.snapshot, policy: policy)
        return Outcome(report: AnalysisReport(assessment: assessment, context: context, plan: plan), errors: read.errors)
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
    public static func summary(_ report: AnalysisReport) -> String {
        let assessment = report.assessment
        let score = assessment.score.map { "\(Formatting.score($0))/100" } ?? "unknown"
        let critical = assessment.bottlenecks.filter { $0.severity == .critical }.count
        var line = "health \(score) (\(assessment.status.rawValue)); \(assessment.targets.count) targets; \(assessment.bottlenecks.count) bottlenecks (\(critical) critical)"
        if let plan = report.plan {
            line += "; \(plan.proposed.count) changes proposed, \(plan.held.count) held (\(plan.mode.rawValue))"
        }
        if !assessment.failures.isEmpty { line += "; \(assessment.failures.count) queries failed" }
        return line
    }
}
