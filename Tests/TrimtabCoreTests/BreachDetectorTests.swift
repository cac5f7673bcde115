import Testing
@testable import TrimtabCore

@Suite("BreachDetector: a breach must hold at every step of its `for` window")
struct BreachDetectorTests {
    static let now = 10_000.0
    static let step = 30.0
    static let target = TargetID(labelNames: ["deployment"], labelValues: ["api"])
    static let check = Check(name: "latency", indicator: "latency", worse: .higher, warning: 1, critical: 2, forSeconds: 300)

    /// Points every step from `now - span` to `now`, valued by seconds-before-now.
    static func series(span: Double = 3600, _ value: (Double) -> Double?) -> [Sample] {
        stride(from: now - span, through: now, by: step).compactMap { time in value(now - time).map { Sample(time: time, value: $0) } }
    }

    static func detect(_ samples: [Sample], check: Check = check) -> Bottleneck? {
        BreachDetector.bottleneck(Samples(samples), at: now, step: step, check: check, unit: .seconds, target: target, query: "q")
    }

    @Test func sustainedCriticalBreach() throws {
        let found = try #require(Self.detect(Self.series { ago in ago <= 600 ? 2.5 : 0.5 }))
        #expect(found.severity == .critical)
        #expect(found.since == Self.now - 600)
        #expect(found.threshold == 2)
        #expect(found.points == 11)
        #expect(found.worst == 2.5)
        #expect(!found.sinceIsLowerBound)
    }

    @Test func breachOfExactlyTheWindowCounts() throws {
        let found = try #require(Self.detect(Self.series { ago in ago <= 300 ? 1.5 : 0.5 }))
        #expect(found.severity == .warning)
        #expect(found.since == Self.now - 300)
    }

    @Test func breachOneStepShorterThanTheWindowDoesNot() {
        #expect(Self.detect(Self.series { ago in ago <= 270 ? 1.5 : 0.5 }) == nil)
    }

    @Test func oneMinuteSpikeDoesNotCount() {
        #expect(Self.detect(Self.series { ago in ago <= 60 ? 9 : 0.5 }) == nil)
        #expect(Self.detect(Self.series { ago in ago >= 1200 && ago < 1260 ? 9 : 0.5 }) == nil)
    }

    @Test func breachThatEndedIsNotABottleneck() {
        #expect(Self.detect(Self.series { ago in ago >= 60 && ago <= 1200 ? 3 : 0.5 }) == nil)
    }

    @Test func warningWhenOnlyPartOfTheWindowIsCritical() throws {
        let found = try #require(Self.detect(Self.series { ago in ago <= 120 ? 2.5 : (ago <= 900 ? 1.5 : 0.5) }))
        #expect(found.severity == .warning)
        #expect(found.since == Self.now - 900)
        #expect(found.worst == 2.5)
        #expect(found.best == 1.5)
    }

    @Test func gapBreaksTheRun() {
        // No point 150 s ago: the run restarts after the gap and is too short.
        #expect(Self.detect(Self.series { ago in ago == 150 ? nil : 1.5 }) == nil)
    }

    @Test func missingCurrentPointIsNoBottleneck() {
        #expect(Self.detect(Self.series { ago in ago < 60 ? nil : 3 }) == nil)
    }

    @Test func nanBreaksTheRun() {
        #expect(Self.detect(Self.series { ago in ago == 60 ? .nan : 3 }) == nil)
    }

    @Test func breachFromTheFirstPointIsALowerBound() throws {
        let found = try #require(Self.detect(Self.series(span: 900) { _ in 3 }))
        #expect(found.sinceIsLowerBound)
        #expect(found.since == Self.now - 900)
    }

    @Test func lowerIsWorse() throws {
        let check = Check(name: "hits", indicator: "hits", worse: .lower, warning: 0.8, critical: 0.5, forSeconds: 600)
        let found = try #require(Self.detect(Self.series { ago in ago <= 900 ? 0.4 : 0.9 }, check: check))
        #expect(found.severity == .critical)
        #expect(Self.detect(Self.series { ago in ago <= 500 ? 0.4 : 0.9 }, check: check) == nil)
    }

    @Test func zeroForMeansTheCurrentValueIsEnough() throws {
        var check = Self.check
        check.forSeconds = 0
        let found = try #require(Self.detect(Self.series { ago in ago == 0 ? 1.2 : 0.5 }, check: check))
        #expect(found.points == 1)
    }
}
