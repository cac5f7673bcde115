import Testing
@testable import TrimtabCore

@Suite("Policy tests: promtool notation and the runner")
struct PolicyTestTests {
    @Test(arguments: [
        ("1 2 3", [1.0, 2, 3] as [Double?]),
        ("1x3", [1.0, 1, 1, 1]),
        ("1+1x4", [1.0, 2, 3, 4, 5]),
        ("10-2x2", [10.0, 8, 6]),
        ("-1+1x2", [-1.0, 0, 1]),
        ("1 _ 2 _x2 stale", [1.0, nil, 2, nil, nil, nil]),
        ("1e3+1e2x1", [1000.0, 1100]),
    ])
    func notation(_ text: String, _ expected: [Double?]) throws {
        #expect(try SeriesNotation.parse(text) == expected)
    }

    @Test(arguments: ["1x", "abc", "1+x3", "_xz", "1x-2"])
    func badNotation(_ text: String) {
        #expect(throws: SeriesNotation.ParseError.self) { try SeriesNotation.parse(text) }
    }

    static let test = """
    apiVersion: trimtab/v1
    kind: PolicyTest
    policy: planner.yaml
    interval: 1m
    targets:
      - labels: {namespace: shop, deployment: api}
        series:
          latency_p95: 0.3x9 2.4x20
          cpu_utilization: 0.5x9 0.93x20
          replicas: 4x29
    tests:
      - at: 25m
        bottlenecks:
          - {target: shop/api, check: latency_p95, severity: critical}
          - {target: shop/api, check: cpu_utilization, severity: critical}
        actions:
          - {target: shop/api, action: scale, from: 4, to: 7}
      - at: 25m
        bottlenecks:
          - {target: shop/api, check: latency_p95, severity: warning}
        actions:
          - {target: shop/api, action: scale, from: 4, to: 8}
        status: healthy
    """

    @Test func passesAndReportsEveryMismatch() throws {
        let policy = try PolicyLoader.load(text: plannerPolicy, file: "planner.yaml")
        let outcomes = PolicyTestRunner.run(try PolicyTest.parse(Self.test, file: "t.yaml"), policy: policy)
        #expect(outcomes.count == 2)
        #expect(outcomes[0].passed, "\(outcomes[0].mismatches)")
        #expect(outcomes[1].mismatches == [
            "expected bottleneck shop/api latency_p95 warning, not found",
            "unexpected bottleneck shop/api cpu_utilization critical",
            "unexpected bottleneck shop/api latency_p95 critical",
            "expected action shop/api scale from 4 to 8 (proposed), got shop/api scale from 4 to 7 (proposed)",
            "expected status healthy, got unknown (too little is known: 0 of 1 targets have enough data (at least 50 % needed))",
        ])
        #expect(outcomes[1].location == SourceLocation(file: "t.yaml", line: 18, column: 5))
    }

    @Test func aSampleOlderThanTheLookbackIsGone() throws {
        let policy = try PolicyLoader.load(text: plannerPolicy, file: "planner.yaml")
        let text = Self.test.replacingOccurrences(of: "latency_p95: 0.3x9 2.4x20", with: "latency_p95: 0.3x9 2.4x5 _x14")
        let outcome = PolicyTestRunner.run(try PolicyTest.parse(text, file: "t.yaml"), policy: policy)[0]
        // Latency stopped 10 minutes before: past the 5-minute lookback it is unknown, so no latency bottleneck.
        #expect(outcome.mismatches.contains("expected bottleneck shop/api latency_p95 critical, not found"))
    }

    @Test func badTestFilesAreLocated() {
        let text = Self.test.replacingOccurrences(of: "cpu_utilization: 0.5x9 0.93x20", with: "cpu_utilization: 0.5y9")
            .replacingOccurrences(of: "  - at: 25m\n    bottlenecks:\n      - {target: shop/api, check: latency_p95, severity: warning}", with: "  - at: soon\n    bottlenecks:\n      - {target: shop/api, check: latency_p95, severity: warning}")
        do {
            _ = try PolicyTest.parse(text, file: "t.yaml")
            Issue.record("parsed")
        } catch {
            #expect(error.diagnostics.map(\.location.line) == [9, 18])
            #expect(error.diagnostics.first?.message.contains("'0.5y9' is not a series value") == true)
        }
    }
}
