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
    public var bottleneck: Bottleneck?
    public var query: String
}

/// All checks on one target.
public struct TargetAssessment: Sendable, Equatable, Codable {
    public var target: TargetID
    public var score: Double?
    public var status: HealthStatus
    /// The share of the target's check weight whose data was known.
    public var coverage: Double
    public var checks: [CheckResult]
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
