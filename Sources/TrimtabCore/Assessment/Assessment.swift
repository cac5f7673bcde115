/// A breach that held at every evaluation step for the check's whole `for` window.
public struct Bottleneck: Sendable, Equatable, Codable {
    public var target: TargetID
    public var check: String
    public var indicator: String
    public var unit: IndicatorUnit
    public var worse: Direction
    /// `warning` or `critical`: critical when every point of the window was past the critical threshold.
    public var severity: CheckStatus
    /// The threshold that held breached: the critical one for a critical bottleneck.
    public var threshold: Double
    public var value: Double
    /// The worst and the best value over the `for` window.
    public var worst: Double
    public var best: Double
    /// When the breach began (Unix seconds): the earliest point of the unbroken run of breaching points.
    public var since: Double
    /// True when the breach runs back to the first point read, so it may have begun earlier still.
    public var sinceIsLowerBound: Bool
    public var forSeconds: Double
    /// How many points the `for` window held.
    public var points: Int
    /// The PromQL the values came from.
    public var query: String

    public init(target: TargetID, check: String, indicator: String, unit: IndicatorUnit, worse: Direction, severity: CheckStatus,
                threshold: Double, value: Double, worst: Double, best: Double, since: Double, sinceIsLowerBound: Bool,
                forSeconds: Double, points: Int, query: String) {
        self.target = target
        self.check = check
        self.indicator = indicator
        self.unit = unit
        self.worse = worse
        self.severity = severity
        self.threshold = threshold
        self.value = value
        self.worst = worst
        self.best = best
        self.since = since
        self.sinceIsLowerBound = sinceIsLowerBound
        self.forSeconds = forSeconds
        self.points = points
        self.query = query
    }
}

/// One check on one target.
public struct CheckResult: Sendable, Equatable, Codable {
    public var check: String
    public var indicator: String
    public var unit: IndicatorUnit
    public var worse: Direction
    public var warning: Double
    public var critical: Double
    public var forSeconds: Double
    public var weight: Double
    public var key: Bool
    public var status: CheckStatus
    /// The value at the evaluation time; `nil` when unknown.
    public var value: Double?
    public var score: Double?
    /// Why the check is unknown, or has too little evidence to judge (status `insufficient`), in words.
    public var unknownReason: String?
    /// The breach, when the check found one. Held by reference: few checks have one, and inline it
    /// would make every check result as large as a bottleneck (280 bytes instead of 144; an assessment
    /// of 5,000 targets holds 45,000 of them).
    public var bottleneck: Bottleneck? {
        get { boxedBottleneck?.value }
        set { boxedBottleneck = newValue.map(BottleneckBox.init) }
    }
    var boxedBottleneck: BottleneckBox?
    public var query: String

    public init(check: String, indicator: String, unit: IndicatorUnit, worse: Direction, warning: Double, critical: Double,
                forSeconds: Double, weight: Double, key: Bool, status: CheckStatus, value: Double?, score: Double?,
                unknownReason: String?, bottleneck: Bottleneck?, query: String) {
        self.check = check
        self.indicator = indicator
        self.unit = unit
        self.worse = worse
        self.warning = warning
        self.critical = critical
        self.forSeconds = forSeconds
        self.weight = weight
        self.key = key
        self.status = status
        self.value = value
        self.score = score
        self.unknownReason = unknownReason
        self.boxedBottleneck = bottleneck.map(BottleneckBox.init)
        self.query = query
    }

    enum CodingKeys: String, CodingKey {
        case check, indicator, unit, worse, warning, critical, forSeconds, weight, key, status, value, score, unknownReason, bottleneck, query
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(check: try c.decode(String.self, forKey: .check), indicator: try c.decode(String.self, forKey: .indicator),
                  unit: try c.decode(IndicatorUnit.self, forKey: .unit), worse: try c.decode(Direction.self, forKey: .worse),
                  warning: try c.decode(Double.self, forKey: .warning), critical: try c.decode(Double.self, forKey: .critical),
                  forSeconds: try c.decode(Double.self, forKey: .forSeconds), weight: try c.decode(Double.self, forKey: .weight),
                  key: try c.decode(Bool.self, forKey: .key), status: try c.decode(CheckStatus.self, forKey: .status),
                  value: try c.decodeIfPresent(Double.self, forKey: .value), score: try c.decodeIfPresent(Double.self, forKey: .score),
                  unknownReason: try c.decodeIfPresent(String.self, forKey: .unknownReason),
                  bottleneck: try c.decodeIfPresent(Bottleneck.self, forKey: .bottleneck), query: try c.decode(String.self, forKey: .query))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(check, forKey: .check)
        try c.encode(indicator, forKey: .indicator)
        try c.encode(unit, forKey: .unit)
        try c.encode(worse, forKey: .worse)
        try c.encode(warning, forKey: .warning)
        try c.encode(critical, forKey: .critical)
        try c.encode(forSeconds, forKey: .forSeconds)
        try c.encode(weight, forKey: .weight)
        try c.encode(key, forKey: .key)
        try c.encode(status, forKey: .status)
        try c.encodeIfPresent(value, forKey: .value)
        try c.encodeIfPresent(score, forKey: .score)
        try c.encodeIfPresent(unknownReason, forKey: .unknownReason)
        try c.encodeIfPresent(bottleneck, forKey: .bottleneck)
        try c.encode(query, forKey: .query)
    }
}

/// A bottleneck behind a reference (see `CheckResult.bottleneck`); immutable, so shared safely.
final class BottleneckBox: Sendable, Equatable {
    let value: Bottleneck

    init(_ value: Bottleneck) {
        self.value = value
    }

    static func == (lhs: BottleneckBox, rhs: BottleneckBox) -> Bool { lhs.value == rhs.value }
}

/// All checks on one target.
public struct TargetAssessment: Sendable, Equatable, Codable {
    public var target: TargetID
    public var score: Double?
    public var status: HealthStatus
    /// The share of the target's check weight whose data was known.
    public var coverage: Double
    public var checks: [CheckResult]
    /// The policy that judged the target, when a cycle runs several teams' policies.
    public var policy: String? = nil
}

/// The judgement of one evaluation: scores, statuses and bottlenecks for every target and overall.
public struct Assessment: Sendable, Equatable, Codable {
    public var policy: String
    /// The evaluation time (Unix seconds).
    public var time: Double
    public var score: Double?
    public var status: HealthStatus
    /// Why the overall score is unknown, when it is.
    public var unknownReason: String?
    public var targets: [TargetAssessment]
    /// Every bottleneck, most severe first.
    public var bottlenecks: [Bottleneck]
    /// Indicators whose query failed, with the error.
    public var failures: [String: String]
    /// Things an operator should know that are not check results: source warnings, unattributed series.
    public var notes: [String]

    public init(policy: String, time: Double, score: Double?, status: HealthStatus, unknownReason: String? = nil,
                targets: [TargetAssessment], bottlenecks: [Bottleneck] = [], failures: [String: String] = [:], notes: [String] = []) {
        self.policy = policy
        self.time = time
        self.score = score
        self.status = status
        self.unknownReason = unknownReason
        self.targets = targets
        self.bottlenecks = bottlenecks
        self.failures = failures
        self.notes = notes
    }

    public var knownTargetCount: Int { targets.filter { $0.score != nil }.count }

    /// Whether every query of the cycle answered in full. An incomplete cycle changes nothing: no
    /// change is applied, verified or rolled back on it.
    public var isComplete: Bool { failures.isEmpty }
}
