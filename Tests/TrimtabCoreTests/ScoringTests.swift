import Testing
@testable import TrimtabCore

@Suite("Scoring: the check score formula, at and around every threshold")
struct ScoringTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var value: Double
        var worse: Direction
        var warning: Double
        var critical: Double
        var score: Double?
        var status: CheckStatus
        var testDescription: String { "\(worse) \(value) (warn \(warning), crit \(critical))" }
    }

    static let cases: [Case] = [
        // Higher is worse: warning 1, critical 2.
        Case(value: 0, worse: .higher, warning: 1, critical: 2, score: 100, status: .ok),
        Case(value: 0.999, worse: .higher, warning: 1, critical: 2, score: 100, status: .ok),
        Case(value: 1, worse: .higher, warning: 1, critical: 2, score: 100, status: .ok),
        Case(value: 1.001, worse: .higher, warning: 1, critical: 2, score: 99.9, status: .warning),
        Case(value: 1.5, worse: .higher, warning: 1, critical: 2, score: 50, status: .warning),
        Case(value: 1.999, worse: .higher, warning: 1, critical: 2, score: 0.1, status: .warning),
        Case(value: 2, worse: .higher, warning: 1, critical: 2, score: 0, status: .warning),
        Case(value: 2.001, worse: .higher, warning: 1, critical: 2, score: 0, status: .critical),
        Case(value: 10, worse: .higher, warning: 1, critical: 2, score: 0, status: .critical),
        Case(value: .infinity, worse: .higher, warning: 1, critical: 2, score: 0, status: .critical),
        Case(value: -.infinity, worse: .higher, warning: 1, critical: 2, score: 100, status: .ok),
        Case(value: .nan, worse: .higher, warning: 1, critical: 2, score: nil, status: .unknown),
        // Lower is worse: warning 0.8, critical 0.5 (a cache hit ratio).
        Case(value: 1, worse: .lower, warning: 0.8, critical: 0.5, score: 100, status: .ok),
        Case(value: 0.8, worse: .lower, warning: 0.8, critical: 0.5, score: 100, status: .ok),
        Case(value: 0.797, worse: .lower, warning: 0.8, critical: 0.5, score: 99, status: .warning),
        Case(value: 0.65, worse: .lower, warning: 0.8, critical: 0.5, score: 50, status: .warning),
        Case(value: 0.5, worse: .lower, warning: 0.8, critical: 0.5, score: 0, status: .warning),
        Case(value: 0.499, worse: .lower, warning: 0.8, critical: 0.5, score: 0, status: .critical),
        Case(value: 0, worse: .lower, warning: 0.8, critical: 0.5, score: 0, status: .critical),
        Case(value: .infinity, worse: .lower, warning: 0.8, critical: 0.5, score: 100, status: .ok),
        Case(value: -.infinity, worse: .lower, warning: 0.8, critical: 0.5, score: 0, status: .critical),
        Case(value: .nan, worse: .lower, warning: 0.8, critical: 0.5, score: nil, status: .unknown),
    ]

    @Test(arguments: cases)
    func scoreAndStatus(_ item: Case) throws {
        let score = Scoring.checkScore(value: item.value, worse: item.worse, warning: item.warning, critical: item.critical)
        if let expected = item.score {
            let actual = try #require(score)
            #expect(abs(actual - expected) < 1e-6, "score \(actual), expected \(expected)")
        } else {
            #expect(score == nil)
        }
        #expect(Scoring.status(value: item.value, worse: item.worse, warning: item.warning, critical: item.critical) == item.status)
    }

    @Test("the score is continuous and never rises as the value worsens", arguments: [Direction.higher, .lower])
    func continuousAndMonotonic(_ worse: Direction) throws {
        let (warning, critical) = worse == .higher ? (1.0, 2.0) : (0.8, 0.5)
        // Sweep from good to bad in small steps.
        let good = worse == .higher ? -1.0 : 2.0
        let bad = worse == .higher ? 4.0 : -1.0
        let steps = 10_000
        var previous = try #require(Scoring.checkScore(value: good, worse: worse, warning: warning, critical: critical))
        for index in 1...steps {
            let value = good + (bad - good) * Double(index) / Double(steps)
            let score = try #require(Scoring.checkScore(value: value, worse: worse, warning: warning, critical: critical))
            #expect(score <= previous + 1e-9, "score rose from \(previous) to \(score) at \(value)")
            // Lipschitz: a step of (bad-good)/steps moves the score by at most 100/|critical-warning| times it.
            let bound = 100 / abs(critical - warning) * abs(bad - good) / Double(steps) + 1e-9
            #expect(previous - score <= bound, "score jumped from \(previous) to \(score) at \(value)")
            previous = score
        }
        #expect(previous == 0)
    }

    @Test func weightedMean() {
        #expect(Scoring.weightedMean([(100, 3), (0, 1)]) == 75)
        #expect(Scoring.weightedMean([(50, 2)]) == 50)
        #expect(Scoring.weightedMean([]) == nil)
    }
}

@Suite("PolicyDuration")
struct PolicyDurationTests {
    @Test(arguments: [("30s", 30.0), ("5m", 300), ("1h30m", 5400), ("2d", 172_800), ("500ms", 0.5), ("0", 0), ("1w", 604_800), ("1.5m", 90)])
    func parses(_ text: String, _ seconds: Double) throws {
        #expect(try PolicyDuration.parse(text) == seconds)
    }

    @Test(arguments: ["", "-5m", "5", "m", "5x", "30m1h", "5m5m", "1h 30m"])
    func rejects(_ text: String) {
        #expect(throws: PolicyDuration.ParseError.self) { try PolicyDuration.parse(text) }
    }

    @Test func negativeSaysNegative() {
        #expect(throws: PolicyDuration.ParseError.negative("-5m")) { try PolicyDuration.parse("-5m") }
    }

    @Test(arguments: [(0.0, "0s"), (0.25, "250ms"), (90, "1m30s"), (3600, "1h"), (93_784, "1d2h3m4s")])
    func formats(_ seconds: Double, _ text: String) {
        #expect(PolicyDuration.format(seconds) == text)
    }
}
