import Testing
import TrimtabCycle

@Suite struct BackoffTests {
    /// SplitMix64: a seeded generator, so the draws are the same every run.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
    }

    @Test func waitsDoubleUpToTheCeiling() {
        let backoff = Backoff(first: 60, ceiling: 300)
        #expect((1...6).map { backoff.nominal(afterFailures: $0) } == [60, 120, 240, 300, 300, 300])
        // No overflow however long the outage.
        #expect(backoff.nominal(afterFailures: 10_000) == 300)
        #expect(backoff.nominal(afterFailures: 0) == 60)
    }

    @Test func jitterStaysWithinItsShare() {
        let backoff = Backoff(first: 10, ceiling: 30)
        var generator = Seeded(state: 42)
        let draws = (0..<1_000).map { _ in backoff.delay(afterFailures: 2, using: &generator) }
        // Within 16 … 24 s, and spread over the range rather than stuck at one end.
        #expect(draws.allSatisfy { $0 >= 16 && $0 <= 24 })
        #expect(draws.min()! < 16.5 && draws.max()! > 23.5)
        for failures in 1...20 {
            let delay = backoff.delay(afterFailures: failures)
            #expect(delay >= 0.8 * backoff.nominal(afterFailures: failures) && delay <= 1.2 * backoff.nominal(afterFailures: failures))
        }
        #expect(Backoff(first: 10, ceiling: 30, jitter: 0).delay(afterFailures: 3) == 30)
    }

    @Test func durationsInSeconds() {
        #expect(Duration.milliseconds(1_500).seconds == 1.5)
        #expect(Duration.seconds(90).seconds == 90)
    }
}
