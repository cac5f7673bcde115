/// Where an objective's error ratios were read from.
public enum ObjectiveSource: String, Sendable, Codable {
    /// The raw request histograms and counters, over every range (28 days of them for the window).
    case raw
    /// The recorded 5-minute rates of `trimtab policy rules` (`ObjectiveRecording`).
    case recorded
}

/// What was read for one objective: the bad share over each range, by target. A target missing from
/// a range's values served no request there, or was not read.
public struct ObjectiveReading: Sendable, Equatable {
    public var objective: String
    /// Per range in seconds, the error ratio per target.
    public var errorRatios: [Double: [TargetID: Double]]
    /// Why the objective could not be read (the query failed), one line per failed range.
    public var errors: [String]
    public var source: ObjectiveSource

    public init(objective: String, errorRatios: [Double: [TargetID: Double]], errors: [String] = [], source: ObjectiveSource = .raw) {
        self.objective = objective
        self.errorRatios = errorRatios
        self.errors = errors
        self.source = source
    }
}

/// One objective on one target: compliance so far, the budget left, how fast it burns.
public struct ObjectiveStatus: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable {
        /// Within budget and burning slower than the slow alert's rate.
        case ok
        /// Both slow windows burn at 6× or more: the budget goes in five days at this rate.
        case slowBurn = "slow-burn"
        /// Both fast windows burn at 14.4× or more: 2 % of the budget an hour.
        case fastBurn = "fast-burn"
        /// The window's bad share is past the budget.
        case exhausted
        /// Too little was read to judge (no requests, or the query failed).
        case unknown
    }

    public struct Burn: Sendable, Equatable, Codable {
        public var rangeSeconds: Double
        /// The bad share over the range divided by the budget: 1 spends the budget exactly over the window.
        public var rate: Double?
    }

    public var objective: String
    public var kind: Objective.Kind
    public var target: TargetID
    /// The objective's target share of good requests, e.g. 0.999.
    public var goal: Double
    public var windowSeconds: Double
    /// The share of good requests over the window read (the whole window, or as much of it as
    /// Prometheus holds); nil when unknown.
    public var compliance: Double?
    /// The share of the window's budget not yet spent: 1 untouched, 0 spent, below 0 overspent.
    public var budgetLeft: Double?
    public var burns: [Burn]
    /// At the last hour's burn rate, seconds until the budget is spent; nil when it is not being spent
    /// (or is spent already).
    public var exhaustionSeconds: Double?
    public var state: State
    public var reason: String?
    /// Where its ratios were read from (nil in documents written before this was recorded).
    public var source: ObjectiveSource?

    /// The burn rate over a range, when it was read.
    public func burn(over seconds: Double) -> Double? { burns.first { $0.rangeSeconds == seconds }?.rate ?? nil }
}

/// Turns the error ratios read into each objective's status per target. Pure: the same readings give
/// the same statuses in every mode.
public enum ObjectiveAssessor {
    public static func assess(_ readings: [ObjectiveReading], policy: Policy) -> [ObjectiveStatus] {
        var statuses: [ObjectiveStatus] = []
        for objective in policy.objectives {
            guard let reading = readings.first(where: { $0.objective == objective.name }) else { continue }
            let targets = Set(reading.errorRatios.values.flatMap(\.keys)).sorted()
            for target in targets {
                statuses.append(status(of: objective, for: target, reading: reading))
            }
        }
        return statuses
    }

    public static func status(of objective: Objective, for target: TargetID, reading: ObjectiveReading) -> ObjectiveStatus {
        /// The bad share over a range: nil when the range was not read, or when the target served no
        /// request in it (then nothing burnt there).
        func ratio(_ seconds: Double) -> Double? {
            guard let value = reading.errorRatios[seconds]?[target], value.isFinite else { return nil }
            return min(1, max(0, value))
        }
        func wasRead(_ seconds: Double) -> Bool { reading.errorRatios[seconds] != nil }
        let budget = objective.budget
        let burns = BurnWindow.ranges.map { ObjectiveStatus.Burn(rangeSeconds: $0, rate: ratio($0).map { $0 / budget }) }
        let windowRatio = ratio(objective.windowSeconds)
        let compliance = windowRatio.map { 1 - $0 }
        let budgetLeft = windowRatio.map { 1 - $0 / budget }
        /// Whether both windows burn at the factor or faster; nil when either was not read.
        func burning(_ window: BurnWindow) -> Bool? {
            guard wasRead(window.longSeconds), wasRead(window.shortSeconds) else { return nil }
            return (ratio(window.longSeconds) ?? 0) / budget >= window.factor && (ratio(window.shortSeconds) ?? 0) / budget >= window.factor
        }
        var exhaustion: Double?
        if let left = budgetLeft, left > 0, let hourly = ratio(BurnWindow.fast.longSeconds).map({ $0 / budget }), hourly > 0 {
            exhaustion = left * objective.windowSeconds / hourly
        }
        let state: ObjectiveStatus.State
        var reason: String?
        let unread = objective.ranges.filter { !wasRead($0) }
        if let left = budgetLeft, left <= 0 {
            state = .exhausted
            reason = "the window's budget is spent"
        } else if burning(.fast) == true {
            state = .fastBurn
            reason = "1h and 5m both burn at 14.4× or more"
        } else if burning(.slow) == true {
            state = .slowBurn
            reason = "6h and 30m both burn at 6× or more"
        } else if !unread.isEmpty {
            state = .unknown
            reason = reading.errors.isEmpty ? "not read over \(unread.map(PolicyDuration.format).joined(separator: ", "))"
                : reading.errors.joined(separator: "; ")
        } else if budgetLeft == nil {
            state = .unknown
            reason = "no requests over the \(PolicyDuration.format(objective.windowSeconds)) window"
        } else {
            state = .ok
        }
        return ObjectiveStatus(objective: objective.name, kind: objective.kind, target: target, goal: objective.target,
                               windowSeconds: objective.windowSeconds, compliance: compliance, budgetLeft: budgetLeft, burns: burns,
                               exhaustionSeconds: exhaustion, state: state, reason: reason, source: reading.source)
    }
}
