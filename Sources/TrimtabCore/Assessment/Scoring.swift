/// The state of one check on one target.
public enum CheckStatus: String, Sendable, Codable, CaseIterable, Comparable {
    case ok, warning, critical, unknown
    /// Too little evidence to judge (less traffic than the check's `minEvidence`): neither healthy
    /// nor failing, not scored, and never the cause of an action.
    case insufficient = "insufficient-evidence"

    private var rank: Int {
        switch self {
        case .ok: return 0
        case .insufficient: return 1
        case .warning: return 2
        case .critical: return 3
        case .unknown: return 4
        }
    }

    public static func < (lhs: CheckStatus, rhs: CheckStatus) -> Bool { lhs.rank < rhs.rank }
}

/// The health of a target or of the whole system.
public enum HealthStatus: String, Sendable, Codable, CaseIterable {
    case healthy, degraded, critical, unknown
}

/// The score formula, one place for it. See "Health score" in the README.
///
/// A check's *badness* `x` says how far the value has gone from the warning threshold towards the
/// critical one: `x = (value − warning) / (critical − warning)` when higher is worse, and
/// `x = (warning − value) / (warning − critical)` when lower is worse. So `x ≤ 0` is within the
/// warning threshold and `x = 1` is exactly at critical. The check's score is
/// `clamp(100 · (1 − x), 0, 100)`: 100 up to the warning threshold, falling in a straight line to 0 at
/// the critical threshold (as Keptn scores pass 1, warning ½, fail 0, but without steps). It is
/// continuous and never rises as the value worsens.
public enum Scoring {
    /// How far a value has gone from warning towards critical; NaN for NaN.
    public static func badness(value: Double, worse: Direction, warning: Double, critical: Double) -> Double {
        if value.isNaN { return .nan }
        let span = critical - warning
        switch worse {
        case .higher:
            if value == .infinity { return .infinity }
            if value == -.infinity { return -.infinity }
            return (value - warning) / span
        case .lower:
            if value == .infinity { return -.infinity }
            if value == -.infinity { return .infinity }
            return (warning - value) / -span
        }
    }

    /// The score of one check from 0 to 100; `nil` for a value that is not a number.
    public static func checkScore(value: Double, worse: Direction, warning: Double, critical: Double) -> Double? {
        let x = badness(value: value, worse: worse, warning: warning, critical: critical)
        if x.isNaN { return nil }
        return min(100, max(0, 100 * (1 - x)))
    }

    /// The status of one value: beyond a threshold (strictly) is a breach of it.
    public static func status(value: Double, worse: Direction, warning: Double, critical: Double) -> CheckStatus {
        if value.isNaN { return .unknown }
        if breaches(value, critical, worse) { return .critical }
        if breaches(value, warning, worse) { return .warning }
        return .ok
    }

    /// Whether a value is strictly worse than a threshold.
    public static func breaches(_ value: Double, _ threshold: Double, _ worse: Direction) -> Bool {
        if value.isNaN { return false }
        return worse == .higher ? value > threshold : value < threshold
    }

    /// A target's score: the mean of its known check scores, weighted by the checks' weights.
    public static func weightedMean(_ parts: [(score: Double, weight: Double)]) -> Double? {
        let total = parts.reduce(0) { $0 + $1.weight }
        guard total > 0 else { return nil }
        return parts.reduce(0) { $0 + $1.score * $1.weight } / total
    }
}
