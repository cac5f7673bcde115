import Foundation
import Logging
import TrimtabCore
import TrimtabCycle

extension ControlLoop {
    /// Metrics and log lines of a cycle.
    func record(_ summary: CycleSummary, report: AnalysisReport, pointsKept: Int) {
        let assessment = report.assessment
        metrics.cycleDuration.recordNanoseconds(Int64(summary.durationSeconds * 1e9))
        metrics.cycle(outcome: summary.outcome.rawValue)
        if summary.slow {
            metrics.slowCycles.increment()
            logger.warning("the cycle took longer than the interval; the next starts at the next tick",
                           metadata: ["cycle": "\(summary.number)", "seconds": "\(String(format: "%.2f", summary.durationSeconds))"])
        }
        metrics.cycleQueries.record(summary.queries)
        metrics.cycleBytes.record(summary.bytes)
        metrics.queries.increment(by: summary.queries)
        metrics.queryBytes.increment(by: summary.bytes)
        metrics.queryErrors.increment(by: assessment.failures.count)
        metrics.wholeReads.increment(by: summary.wholeReads)
        metrics.windowPoints.record(pointsKept)
        metrics.score.record(assessment.score ?? .nan)
        metrics.scoreKnown.record(assessment.score == nil ? 0 : 1)
        metrics.bottlenecks(assessment)
        metrics.targetScores(assessment)
        metrics.objectives(report.objectives ?? [])
        if summary.outcome == .complete { metrics.lastSuccess.record(settings.clock.now()) }
        for outcome in report.execution?.outcomes ?? [] {
            metrics.action(kind: DaemonMetrics.knobKind(outcome.knob), outcome: outcome.result.rawValue)
        }
        for event in report.execution?.journal ?? [] {
            switch event.state {
            case .verified: metrics.verification(result: "kept")
            case .rolledBack, .notEffective:
                metrics.verification(result: event.state.rawValue)
                metrics.rollbacks.increment()
            default: break
            }
        }
        var metadata: Logger.Metadata = [
            "cycle": "\(summary.number)", "outcome": "\(summary.outcome.rawValue)", "mode": "\(summary.mode.rawValue)",
            "evaluated_at": "\(Formatting.time(summary.evaluationTime))", "seconds": "\(String(format: "%.2f", summary.durationSeconds))",
            "queries": "\(summary.queries)", "whole_reads": "\(summary.wholeReads)", "bytes": "\(summary.bytes)",
            "score": "\(assessment.score.map { Formatting.score($0) } ?? "unknown")", "targets": "\(assessment.targets.count)",
            "bottlenecks": "\(assessment.bottlenecks.count)",
        ]
        if let plan = report.plan { metadata["proposed"] = "\(plan.proposed.count)" }
        logger.info("cycle \(summary.number): \(AnalysisSummary.line(report))", metadata: metadata)
        for outcome in report.execution?.outcomes ?? [] where outcome.result != .skipped {
            logger.notice("\(outcome.result.rawValue): \(outcome.target) \(outcome.knob): \(outcome.detail)",
                          metadata: ["journal": "\(outcome.journalID ?? "")"])
        }
        for event in report.execution?.journal ?? [] {
            logger.notice("journal \(event.journalID) \(event.state.rawValue): \(event.target) \(event.knob): \(event.detail)")
        }
        for error in summary.errors { logger.error("\(error)") }
    }
}
