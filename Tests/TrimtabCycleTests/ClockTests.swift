import Testing
import TrimtabCycle

@Suite struct ClockTests {
    @Test func manualClockMovesOnlyForward() {
        let clock = ManualClock(start: 1_000)
        #expect(clock.now() == 1_000)
        clock.advance(by: 30)
        #expect(clock.now() == 1_030)
        clock.set(900)
        #expect(clock.now() == 1_030)
        clock.advance(by: -5)
        #expect(clock.now() == 1_030)
        clock.set(1_100)
        #expect(clock.now() == 1_100)
    }

    @Test func aSleepWaitsUntilTheClockPassesItsDeadline() async throws {
        let clock = ManualClock(start: 0)
        let sleeper = Task { try await clock.sleep(for: 60); return clock.now() }
        // Bounded: the sleep registers within a few scheduler turns.
        for _ in 0..<10_000 where clock.waiting == 0 { await Task.yield() }
        #expect(clock.waiting == 1)
        clock.advance(by: 59)
        #expect(clock.waiting == 1)
        clock.advance(by: 1)
        #expect(try await sleeper.value == 60)
        #expect(clock.waiting == 0)
    }

    @Test func aCancelledSleepEnds() async {
        let clock = ManualClock(start: 0)
        let sleeper = Task { try await clock.sleep(for: 3600) }
        for _ in 0..<10_000 where clock.waiting == 0 { await Task.yield() }
        sleeper.cancel()
        let result = await sleeper.result
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(clock.waiting == 0)
        #expect(clock.now() == 0)
    }

    @Test(arguments: [(1_700_000_007.4, 30.0, 1_699_999_980.0), (1_700_000_010, 10, 1_700_000_010), (59.9, 60, 0), (12.7, 0, 12)])
    func evaluationTimeIsOnTheStepGrid(time: Double, step: Double, expected: Double) {
        #expect(EvaluationTime.onGrid(time, step: step) == expected)
    }
}
