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

/// How bad an objective must be for `--fail-on-slo` to fail the gate: at this state or worse.
public enum ObjectiveGateLevel: String, Sendable, Codable, CaseIterable {
    /// Both slow windows burn at 6× or more (or worse).
    case slowBurn = "slow-burn"
    /// Both fast windows burn at 14.4× or more (or the budget is spent).
    case fastBurn = "fast-burn"
    /// The window's budget is spent.
    case exhausted

    /// Whether a state is at this level or worse; an unknown objective is never shown to pass, so the
    /// gate treats it apart.
    public func reached(by state: ObjectiveStatus.State) -> Bool {
        let order: [ObjectiveStatus.State] = [.ok, .slowBurn, .fastBurn, .exhausted]
        guard let rank = order.firstIndex(of: state) else { return false }
        let bar: ObjectiveStatus.State = switch self {
        case .slowBurn: .slowBurn
        case .fastBurn: .fastBurn
        case .exhausted: .exhausted
        }
        return rank >= order.firstIndex(of: bar)!
    }
}

/// The CI gate: what was asked, and whether the report passed it.
public struct GateResult: Sendable, Equatable, Codable {
    public var failUnder: Double?
    public var failOn: CheckStatus?
    public var failOnSLO: ObjectiveGateLevel?
    public var passed: Bool
    /// Why it failed, in words; empty when it passed.
    public var reasons: [String]

    /// Judges an assessment: below the score, or any target at or past the status, fails; an
    /// unknown score fails a score bar, since health that was not measured is not health. With
    /// `failOnSLO`, an objective at that state or worse fails, and so does one that could not be judged
    /// (or a policy that declares none: there is no SLO to show met).
    public static func judge(_ assessment: Assessment, failUnder: Double?, failOn: CheckStatus?,
                             objectives: [ObjectiveStatus] = [], failOnSLO: ObjectiveGateLevel? = nil) -> GateResult {
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
        if let level = failOnSLO {
            if objectives.isEmpty {
                reasons.append("the policy declares no objectives (spec.objectives), so no SLO can be shown met")
            }
            let failing = objectives.filter { level.reached(by: $0.state) }
            if !failing.isEmpty {
                reasons.append("\(failing.count) objective\(failing.count == 1 ? "" : "s") at \(level.rawValue) or worse: "
                               + failing.prefix(5).map(Self.objectiveLine).joined(separator: ", ") + (failing.count > 5 ? ", …" : ""))
            }
            let unknown = objectives.filter { $0.state == .unknown }
            if !unknown.isEmpty {
                reasons.append("\(unknown.count) objective\(unknown.count == 1 ? " is" : "s are") unknown, so not shown within budget: "
                               + unknown.prefix(5).map { "\($0.target) \($0.objective) (\($0.reason ?? "not read"))" }.joined(separator: ", ")
                               + (unknown.count > 5 ? ", …" : ""))
            }
        }
        return GateResult(failUnder: failUnder, failOn: failOn, failOnSLO: failOnSLO, passed: reasons.isEmpty, reasons: reasons)
    }

    /// `shop/checkout availability (fast-burn, 40 % of budget left)`, or `(exhausted, 120 % of budget used)`.
    static func objectiveLine(_ status: ObjectiveStatus) -> String {
        let left = status.budgetLeft.map { $0 >= 0 ? ", \(Formatting.number($0 * 100)) % of budget left" : ", \(Formatting.number((1 - $0) * 100)) % of budget used" } ?? ""
        return "\(status.target) \(status.objective) (\(status.state.rawValue)\(left))"
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
    /// Each service-level objective per target at the end of the period, when the policy declares any.
    public var objectives: [ObjectiveStatus]?
    /// The Prometheus UI to link figures to.
    public var externalURL: String?
}
