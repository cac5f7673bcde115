/// The one-line summary of an analysis, for a terminal and a log line.
public enum AnalysisSummary {
    /// One line for a terminal: the score, the status and what was found.
    public static func line(_ report: AnalysisReport) -> String {
        let assessment = report.assessment
        let score = assessment.score.map { "\(Formatting.score($0))/100" } ?? "unknown"
        let critical = assessment.bottlenecks.filter { $0.severity == .critical }.count
        var line = "health \(score) (\(assessment.status.rawValue)); \(assessment.targets.count) targets; \(assessment.bottlenecks.count) bottlenecks (\(critical) critical)"
        if let plan = report.plan {
            line += "; \(plan.proposed.count) changes proposed, \(plan.held.count) held (\(report.context.mode.rawValue))"
        }
        if let execution = report.execution {
            let counts = Dictionary(grouping: execution.outcomes, by: \.result).mapValues(\.count)
            let parts = counts.keys.sorted { $0.rawValue < $1.rawValue }.map { "\(counts[$0] ?? 0) \($0.rawValue)" }
            line += "; cluster: " + (parts.isEmpty ? (execution.errors.isEmpty ? "nothing to do" : "not read") : parts.joined(separator: ", "))
            if !execution.errors.isEmpty { line += ", \(execution.errors.count) error\(execution.errors.count == 1 ? "" : "s")" }
            if !execution.journal.isEmpty { line += "; \(execution.journal.count) earlier changes handled" }
        }
        if !assessment.failures.isEmpty { line += "; \(assessment.failures.count) queries failed" }
        return line
    }
}
