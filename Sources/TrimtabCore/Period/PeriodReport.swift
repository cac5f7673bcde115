/// The period a report covers, and the one before it that it is compared with.
public struct ReportPeriod: Sendable, Equatable, Codable {
    public var start: Double
    public var end: Double
    public var previousStart: Double { start - (end - start) }
    public var seconds: Double { end - start }

    public init(start: Double, end: Double) {
        self.start = start
        self.end = end
    }
}

/// The health score at one time in the period.
public struct ScorePoint: Sendable, Equatable, Codable {
    public var time: Double
    public var score: Double?
}

/// Which way an indicator moved, judged by the check's direction.
public enum TrendDirection: String, Sendable, Codable {
    case improving, worsening, steady, unknown
}

/// One check on one target compared with the previous period, or with a baseline report.
public struct Trend: Sendable, Equatable, Codable {
    public var target: TargetID
    public var check: String
    public var indicator: String
    public var unit: IndicatorUnit
    public var worse: Direction
    /// The mean over this period (or the value now, against a baseline).
    public var value: Double?
    /// The mean over the previous period (or the baseline's value).
    public var reference: Double?
    /// `(value − reference) / |reference|` in percent.
    public var changePercent: Double?
    public var direction: TrendDirection
    /// True when it worsened by more than the check's regression limit.
    public var calledOut: Bool
    /// Values across the period, for a sparkline (`nil` where unknown).
    public var series: [Double?]

    /// Compares two values of a check: which way is better, and whether the change passes `limitPercent`.
    public static func compare(_ value: Double?, _ reference: Double?, worse: Direction, limitPercent: Double)
        -> (change: Double?, direction: TrendDirection, calledOut: Bool) {
        guard let value, let reference, value.isFinite, reference.isFinite else { return (nil, .unknown, false) }
        if reference == 0 {
            if value == 0 { return (0, .steady, false) }
            let worsened = worse == .higher ? value > 0 : value < 0
            return (nil, worsened ? .worsening : .improving, worsened)
        }
        let change = (value - reference) / abs(reference) * 100
        if abs(change) < 1 { return (change, .steady, false) }
        let worsened = worse == .higher ? change > 0 : change < 0
        return (change, worsened ? .worsening : .improving, worsened && abs(change) > limitPercent + 1e-9)
    }
}

/// The CI gate: what was asked, and whether the report passed it.
public struct GateResult: Sendable, Equatable, Codable {
    public var failUnder: Double?
    public var failOn: CheckStatus?
    public var passed: Bool
    /// Why it failed, in words; empty when it passed.
    public var reasons: [String]

    /// Judges an assessment: below the score, or any target at or past the status, fails; an
    /// unknown score fails a score bar, since health that was not measured is not health.
    public static func judge(_ assessment: Assessment, failUnder: Double?, failOn: CheckStatus?) -> GateResult {
        var reasons: [String] = []
        if let bar = failUnder {
            if let score = assessment.score {
                if score < bar { reasons.append("health score \(Formatting.score(score)) is below \(Formatting.number(bar))") }
            } else {
                reasons.append("health score is unknown (\(assessment.unknownReason ?? "not measured")), so it cannot be shown to reach \(Formatting.number(bar))")
            }
        }
        if let level = failOn {
            let failing = assessment.targets.filter { target in
                target.checks.contains { $0.status != .unknown && $0.status >= level && $0.status != .ok }
            }
            if !failing.isEmpty {
                reasons.append("\(failing.count) target\(failing.count == 1 ? "" : "s") with a check at \(level.rawValue) or worse: "
                               + failing.prefix(5).map(\.target.description).joined(separator: ", ") + (failing.count > 5 ? ", …" : ""))
            }
        }
        return GateResult(failUnder: failUnder, failOn: failOn, passed: reasons.isEmpty, reasons: reasons)
    }
}

/// A report over a period: the assessment at its end, the plan, the score across the period, and
/// every check compared with the previous period and, if given, a baseline report.
public struct PeriodReport: Sendable, Equatable, Codable {
    /// Bumped on any change that would break a reader of the previous version.
    public static let currentSchemaVersion = 1

    public var schemaVersion: Int
    public var kind: String
    public var generatedAt: String
    public var period: ReportPeriod
    public var context: RunContext
    public var assessment: Assessment
    public var plan: Plan?
    /// The overall score across the period.
    public var scores: [ScorePoint]
    /// Per target, its score across the period (same times as `scores`).
    public var targetScores: [String: [Double?]]
    /// The mean score over this period and over the previous one.
    public var periodScore: Double?
    public var previousPeriodScore: Double?
    public var trends: [Trend]
    /// The policy's limit, in percent, past which a worsening is called out.
    public var regressionPercent: Double
    /// Against the baseline report, when one was given.
    public var baseline: [Trend]?
    public var baselineScore: Double?
    public var gate: GateResult?
    /// The Prometheus UI to link figures to.
    public var externalURL: String?
}
