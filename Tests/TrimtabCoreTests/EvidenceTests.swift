import Testing
@testable import TrimtabCore

/// "Too little traffic to judge": a check with `minEvidence` under its minimum is *insufficient
/// evidence*, neither healthy nor failing, not scored, and the cause of no bottleneck or action.
@Suite("Insufficient evidence")
struct EvidenceTests {
    static let policyText = """
    apiVersion: trimtab/v1
    kind: Policy
    spec:
      indicators:
        requests: {query: 'sum by ($by) (rate(http_requests_total{$selector}[5m]))', unit: per-second}
        errors: {query: 'sum by ($by) (x{$selector})', unit: ratio}
        cpu: {query: 'sum by ($by) (y{$selector})', unit: ratio}
      checks:
        errors: {worse: higher, warning: 1%, critical: 5%, for: 5m, weight: 3, minEvidence: {indicator: requests, atLeast: 0.5}}
        cpu: {worse: higher, warning: 70%, critical: 90%, for: 5m, weight: 1}
    """

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        /// Requests per second and error ratio, by seconds before now.
        var requests: @Sendable (Double) -> Double?
        var errors: @Sendable (Double) -> Double?
        var status: CheckStatus
        var bottleneck: Bool
        var score: Double?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        // Two requests in five minutes, one failed: a 50 % error ratio that means nothing.
        Case(name: "one error in two requests", requests: { _ in 2.0 / 300 }, errors: { _ in 0.5 },
             status: .insufficient, bottleneck: false, score: 100),
        // No traffic at all: 0/0 is NaN, and that is too little evidence, not unknown data.
        Case(name: "no traffic", requests: { _ in 0 }, errors: { _ in .nan }, status: .insufficient, bottleneck: false, score: 100),
        // Plenty of traffic: a real 50 % error ratio for ten minutes is a critical bottleneck.
        Case(name: "enough traffic", requests: { _ in 40 }, errors: { _ in 0.5 }, status: .critical, bottleneck: true, score: 0.25 * 100),
        // Errors high for ten minutes, but traffic fell under the minimum two minutes ago and came
        // back: the run of breaching points is broken, so the breach has not held its 5 minutes yet.
        Case(name: "a quiet stretch breaks the run", requests: { ago in ago > 60 && ago < 180 ? 0.1 : 40 }, errors: { _ in 0.5 },
             status: .critical, bottleneck: false, score: 0.25 * 100),
        // The evidence itself has no data: the check cannot tell, so it is unknown (and with 3 of 4
        // weight unknown, so is the target).
        Case(name: "evidence missing", requests: { _ in nil }, errors: { _ in 0.5 }, status: .unknown, bottleneck: false, score: nil),
    ]

    @Test(arguments: cases)
    func judges(_ item: Case) throws {
        let policy = try PolicyLoader.load(text: Self.policyText, file: "p.yaml")
        var fixture = SnapshotFixture(policy: policy)
        fixture.add("requests", "api", item.requests)
        fixture.add("errors", "api", item.errors)
        fixture.add("cpu", "api") { _ in 0.3 }
        let assessment = fixture.assessment
        let target = try #require(assessment.targets.first)
        let errors = try #require(target.checks.first { $0.check == "errors" })
        #expect(errors.status == item.status)
        #expect((errors.bottleneck != nil) == item.bottleneck)
        #expect(target.score == item.score)
        if item.status == .insufficient {
            #expect(errors.score == nil)
            #expect(errors.unknownReason?.contains("under the 0.5") == true, "\(errors.unknownReason ?? "")")
            // Not missing data: the coverage counts only the checks that could judge.
            #expect(target.coverage == 1)
            #expect(target.status == .healthy)
        }
    }

    @Test func lintNamesAMissingEvidenceIndicator() {
        let text = Self.policyText.replacingOccurrences(of: "{indicator: requests, atLeast", with: "{indicator: reqests, atLeast")
        #expect(throws: PolicyError.self) { try PolicyLoader.load(text: text, file: "p.yaml") }
        do {
            _ = try PolicyLoader.load(text: text, file: "p.yaml")
        } catch {
            #expect(error.diagnostics.map(\.message) == ["check 'errors': minEvidence names no indicator 'reqests'"])
            #expect(error.diagnostics.first?.hint == "did you mean 'requests'?")
            #expect(error.diagnostics.first?.location.line == 9)
        }
    }
}
