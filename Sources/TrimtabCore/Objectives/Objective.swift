/// A service-level objective (`spec.objectives` in the policy): the share of requests that must be
/// good over a window, per target. Good and total are PromQL templates with a `$range` placeholder,
/// each aggregated `by ($by)` like an indicator, so the SLI is the ratio of request counts (read from
/// histogram buckets for latency, from status codes for availability), never an average of
/// per-minute percentiles.
public struct Objective: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// Good requests are those faster than a bound (a histogram bucket).
        case latency
        /// Good requests are those that did not fail.
        case availability
    }

    public var name: String
    public var kind: Kind
    /// The share of requests that must be good, e.g. 0.999.
    public var target: Double
    /// The compliance window in seconds (28 days unless the policy says).
    public var windowSeconds: Double
    /// The rate (or increase) of good requests over `$range`, by target.
    public var good: String
    /// The rate (or increase) of all requests over `$range`, by target; good and total must use the same.
    public var total: String
    public var description: String?
    public var location: SourceLocation?

    public static let defaultWindowSeconds: Double = 28 * 86_400

    public init(name: String, kind: Kind, target: Double, windowSeconds: Double = Objective.defaultWindowSeconds,
                good: String, total: String, description: String? = nil, location: SourceLocation? = nil) {
        self.name = name
        self.kind = kind
        self.target = target
        self.windowSeconds = windowSeconds
        self.good = good
        self.total = total
        self.description = description
        self.location = location
    }

    /// The share of requests that may be bad: the error budget as a ratio.
    public var budget: Double { 1 - target }

    /// The PromQL of the bad share over `rangeSeconds`, by target: `1 - good / total`. A target that
    /// served no request in the range has no value (0 / 0), which is unknown, not compliant.
    public func errorRatioQuery(rangeSeconds: Double, targets: TargetSelector) -> String {
        let range = ["range": PolicyDuration.format(rangeSeconds)]
        return "1 - (\n\(PromQL.render(good, targets: targets, extra: range))\n) / (\n\(PromQL.render(total, targets: targets, extra: range))\n)"
    }

    /// The ranges one evaluation reads: the burn windows' and the compliance window.
    public var ranges: [Double] {
        BurnWindow.ranges.contains(windowSeconds) ? BurnWindow.ranges : BurnWindow.ranges + [windowSeconds]
    }
}

/// A multi-window burn-rate condition, as the SRE workbook's alerts: a long window for significance
/// and a short one so that the alert ends soon after the burn does. Both must burn at least `factor`
/// times the rate that would spend the whole budget over the compliance window.
public struct BurnWindow: Sendable, Equatable {
    public var longSeconds: Double
    public var shortSeconds: Double
    public var factor: Double

    /// Fast: 2 % of a 30-day budget in an hour (14.4×, 1 h with 5 m). Slow: 5 % in six hours (6×, 6 h with 30 m).
    public static let fast = BurnWindow(longSeconds: 3600, shortSeconds: 300, factor: 14.4)
    public static let slow = BurnWindow(longSeconds: 6 * 3600, shortSeconds: 1800, factor: 6)
    public static let all = [fast, slow]
    /// Every range the burn windows read, shortest first: 5m, 30m, 1h, 6h.
    public static let ranges = Array(Set(all.flatMap { [$0.shortSeconds, $0.longSeconds] })).sorted()
}
