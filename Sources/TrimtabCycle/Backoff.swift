import Foundation

/// Waits that double after each failure up to a ceiling, spread by a random ±`jitter` so that clients
/// failing together do not retry together. The control loop backs off with one after a failed cycle,
/// notifications after a failed delivery.
public struct Backoff: Sendable, Equatable {
    /// The wait after the first failure.
    public var first: Double
    /// The longest wait, before jitter.
    public var ceiling: Double
    /// The share by which a wait is spread either way: 0.2 draws from 80 % to 120 %.
    public var jitter: Double

    public init(first: Double, ceiling: Double, jitter: Double = 0.2) {
        self.first = max(0, first)
        self.ceiling = max(0, ceiling)
        self.jitter = min(max(0, jitter), 1)
    }

    /// The wait after `failures` failures in a row (1 is the first), before jitter: `first`, twice it,
    /// four times it … up to `ceiling`.
    public func nominal(afterFailures failures: Int) -> Double {
        let doublings = min(max(failures, 1) - 1, 62)
        return min(first * pow(2, Double(doublings)), ceiling)
    }

    /// The wait after `failures` failures in a row, jittered.
    public func delay(afterFailures failures: Int) -> Double {
        var generator = SystemRandomNumberGenerator()
        return delay(afterFailures: failures, using: &generator)
    }

    public func delay<G: RandomNumberGenerator>(afterFailures failures: Int, using generator: inout G) -> Double {
        let nominal = nominal(afterFailures: failures)
        guard jitter > 0 else { return nominal }
        return nominal * Double.random(in: (1 - jitter)...(1 + jitter), using: &generator)
    }
}

extension Duration {
    /// This duration in seconds, to the attosecond's resolution a Double allows.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
