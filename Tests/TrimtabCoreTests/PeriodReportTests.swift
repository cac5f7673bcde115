import Foundation
import Testing
@testable import TrimtabCore

/// A fixed period report: two targets over a day, one of which got worse in the second half.
enum PeriodFixture {
    static let end = 1_795_000_000.0
    static let period = ReportPeriod(start: end - 86_400, end: end)

    static func report(baseline: Assessment? = nil, failUnder: Double? = nil, failOn: CheckStatus? = nil) throws -> PeriodReport {
        let policy = try PolicyLoader.load(text: basePolicy, file: "p.yaml")
        // Values by seconds before the end: checkout's latency rose 6 hours ago; cart is steady.
        let curves: [String: [String: (Double) -> Double]] = [
            "checkout": ["latency_p95": { $0 <= 21_600 ? 2.5 : 0.5 }, "cache_hit_ratio": { _ in 0.9 }],
            "cart": ["latency_p95": { _ in 0.2 }, "cache_hit_ratio": { $0 <= 86_400 ? 0.85 : 0.95 }],
        ]
        func data(_ queries: [IndicatorQuery]) -> [IndicatorData] {
            queries.map { query in
                let raw = curves.sorted { $0.key < $1.key }.map { deployment, values in
                    RawSeries(labels: ["namespace": "shop", "deployment": deployment],
                              samples: stride(from: query.start, through: query.end, by: query.step).map {
                                  Sample(time: $0, value: values[query.indicator]!(end - $0))
                              })
                }
                return IndicatorData.from(raw, query: query, groupBy: policy.targets.groupBy)
            }
        }
        let snapshot = Snapshot(time: end, indicators: data(IndicatorQuery.plan(for: policy, at: end)))
        let context = RunContext(source: "http://127.0.0.1:9090", queries: 4, readSeconds: 0.5, policyFiles: ["p.yaml"], mode: .dryRun)
        let assessment = Assessor.assess(snapshot, policy: policy)
        let plan = policy.actions.isEmpty ? nil : Planner.plan(assessment, snapshot: snapshot, policy: policy)
        return PeriodAnalyzer.build(.init(policy: policy, period: period, context: context, assessment: assessment, plan: plan,
                                          trendData: data(PeriodAnalyzer.trendQueries(for: policy, period: period)),
                                          baseline: baseline, externalURL: "http://prometheus.example:9090",
                                          failUnder: failUnder, failOn: failOn))
    }
}

@Suite("Period reports: trends, baseline, gate, pictures, formats")
struct PeriodReportTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    /// Compares with a golden file; `UPDATE_GOLDEN=1 swift test` rewrites them after a deliberate change.
    func expectGolden(_ text: String, _ name: String) throws {
        let url = Self.golden.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: url, encoding: .utf8)
        if text != expected {
            let got = text.components(separatedBy: "\n"), want = expected.components(separatedBy: "\n")
            let line = Array(zip(got, want)).firstIndex { $0.0 != $0.1 } ?? min(got.count, want.count)
            Issue.record("\(name) differs at line \(line + 1):\n got: \(line < got.count ? got[line] : "(end)")\nwant: \(line < want.count ? want[line] : "(end)")")
        }
    }

    @Test func markdownMatchesTheGoldenFile() throws {
        try expectGolden(PeriodMarkdown.render(try PeriodFixture.report(failUnder: 80, failOn: .critical)), "period-report.md")
    }

    @Test func jsonMatchesTheGoldenFile() throws {
        try expectGolden(try ReportEncoding.json(try PeriodFixture.report(failUnder: 80, failOn: .critical)), "period-report.json")
    }

    @Test func junitMatchesTheGoldenFile() throws {
        try expectGolden(JUnitReport.render(try PeriodFixture.report(failUnder: 80, failOn: .critical)), "period-report.xml")
    }

    @Test func theJSONSchemaIsStable() throws {
        #expect(PeriodReport.currentSchemaVersion == 1)
        #expect(AnalysisReport.currentSchemaVersion == 1)
        let object = try JSONSerialization.jsonObject(with: Data(try ReportEncoding.json(try PeriodFixture.report()).utf8)) as? [String: Any]
        // Adding a key is compatible; removing or renaming one needs a new schemaVersion. (`plan`,
        // `baseline`, `gate` and `externalURL` are present only when there is one.)
        let required: Set = ["schemaVersion", "kind", "generatedAt", "period", "context", "assessment", "scores",
                             "targetScores", "periodScore", "previousPeriodScore", "trends", "regressionPercent"]
        #expect(required.isSubset(of: Set(object?.keys.map { $0 } ?? [])))
        #expect(object?["kind"] as? String == "trimtab.report")
        // A report reads back, and serves as a baseline.
        let text = try ReportEncoding.json(try PeriodFixture.report())
        #expect(try ReportEncoding.baseline(text).targets.count == 2)
    }

    @Test func trendsCallOutWhatWorsenedPastTheLimit() throws {
        let report = try PeriodFixture.report()
        let latency = try #require(report.trends.first { $0.target.description == "shop/checkout" && $0.check == "latency_p95" })
        #expect(latency.direction == .worsening && latency.calledOut)
        // 96 points 15 minutes apart: the last 25 (six hours, both ends included) at 2.5 s, 71 at 0.5 s.
        #expect(abs((latency.value ?? 0) - (25 * 2.5 + 71 * 0.5) / 96) < 1e-9)
        #expect(latency.reference == 0.5)
        let steady = try #require(report.trends.first { $0.target.description == "shop/cart" && $0.check == "latency_p95" })
        #expect(steady.direction == .steady && !steady.calledOut)
        // Lower is worse for the hit ratio: 85 % against 95 % is worse by 10.5 %.
        let hits = try #require(report.trends.first { $0.target.description == "shop/cart" && $0.check == "cache_hit_ratio" })
        #expect(hits.direction == .worsening && hits.calledOut)
        #expect(report.scores.count >= 24)
        #expect(report.scores.last?.score == report.assessment.score)
    }

    @Test(arguments: [
        // value, reference, worse, limit, direction, called out
        (1.2, 1.0, Direction.higher, 10.0, TrendDirection.worsening, true),
        (1.1, 1.0, .higher, 10, .worsening, false),
        (0.8, 1.0, .higher, 10, .improving, false),
        (0.8, 1.0, .lower, 10, .worsening, true),
        (1.005, 1.0, .higher, 10, .steady, false),
        (0.5, 0.0, .higher, 10, .worsening, true),
        (0.0, 0.0, .higher, 10, .steady, false),
    ])
    func compare(_ value: Double, _ reference: Double, _ worse: Direction, _ limit: Double, _ direction: TrendDirection, _ calledOut: Bool) {
        let result = Trend.compare(value, reference, worse: worse, limitPercent: limit)
        #expect(result.direction == direction)
        #expect(result.calledOut == calledOut)
    }

    @Test func baselineComparisonFlagsRegressions() throws {
        var baseline = try PeriodFixture.report().assessment
        // The baseline had checkout's latency at 2 s: now 2.5 s is 25 % worse.
        for index in baseline.targets.indices where baseline.targets[index].target.description == "shop/checkout" {
            baseline.targets[index].checks[0].value = 2
        }
        let report = try PeriodFixture.report(baseline: baseline)
        let compared = try #require(report.baseline?.first { $0.target.description == "shop/checkout" && $0.check == "latency_p95" })
        #expect(compared.reference == 2 && compared.value == 2.5 && compared.calledOut)
        #expect(report.baseline?.filter(\.calledOut).count == 1)
    }

    @Test func theGateFailsBelowTheScoreOnALevelOrOnUnknown() throws {
        let report = try PeriodFixture.report()
        let score = try #require(report.assessment.score)
        #expect(GateResult.judge(report.assessment, failUnder: score - 1, failOn: nil).passed)
        #expect(!GateResult.judge(report.assessment, failUnder: score + 1, failOn: nil).passed)
        #expect(!GateResult.judge(report.assessment, failUnder: nil, failOn: .critical).passed)
        #expect(!GateResult.judge(report.assessment, failUnder: nil, failOn: .warning).passed)
        var unknown = report.assessment
        unknown.score = nil
        unknown.targets = []
        let gate = GateResult.judge(unknown, failUnder: 10, failOn: .critical)
        #expect(!gate.passed)
        #expect(gate.reasons.first?.contains("health score is unknown") == true)
    }

    @Test func sparklinesAndCharts() {
        #expect(Pictures.sparkline([0, 50, 100, nil]) == "▁▅█·")
        let chart = Pictures.lineChart(title: "Health score", labels: ["a", "b", "c"], values: [10, nil, 30], yLabel: "score", yMax: 100)
        #expect(chart == ["```mermaid", "xychart-beta", "    title \"Health score\"", "    x-axis [\"a\", \"c\"]",
                          "    y-axis \"score\" 0 --> 100", "    line [10.0, 30.0]", "```"])
        #expect(Pictures.lineChart(title: "x", labels: ["a"], values: [1], yLabel: "y", yMax: nil).isEmpty)
        #expect(Pictures.barChart(title: "t", labels: ["a \"b\""], values: [12.34], yLabel: "s", yMax: 100)
                == ["```mermaid", "xychart-beta", "    title \"t\"", "    x-axis [\"a 'b'\"]", "    y-axis \"s\" 0 --> 100", "    bar [12.3]", "```"])
    }

    @Test func theBuiltInTemplateIsTheSectionsInOrder() throws {
        let report = try PeriodFixture.report(failUnder: 80, failOn: .critical)
        #expect(try ReportTemplate.render(report) == PeriodMarkdown.sections(report).flatMap(\.lines).joined(separator: "\n"))
        #expect(PeriodMarkdown.sections(report).map(\.name) == PeriodMarkdown.sectionNames)
    }

    @Test func aCustomTemplatePlacesSectionsAndData() throws {
        let report = try PeriodFixture.report(failUnder: 80, failOn: .critical)
        let text = try ReportTemplate.render(report, template: """
        # {{policy}}: {{score}} ({{status}})
        {{#gate}}{{^passed}}GATE FAILED{{/passed}}{{/gate}}
        {{#targets}}
        - {{name}} {{score}} {{sparkline}}
        {{/targets}}
        {{#trends}}
        * {{target}} {{check}} {{change}}
        {{/trends}}
        {{{sections.bottlenecks}}}
        """)
        #expect(text.hasPrefix("# shop: 62.5 (critical)\nGATE FAILED\n- shop/cart 100.0 "))
        #expect(text.contains("* shop/checkout latency_p95 +104.2 %"))
        #expect(text.contains("## Bottlenecks"))
    }

    @Test func aBrokenTemplateSaysWhere() throws {
        let report = try PeriodFixture.report()
        #expect(throws: ReportTemplate.TemplateError.self) { try ReportTemplate.render(report, template: "line one\n{{#targets}}unclosed") }
    }

    @Test func graphLinksAreEncoded() {
        #expect(PeriodMarkdown.graphURL(base: "http://prom:9090/", query: #"sum(rate(x{a="b"}[5m]))"#, range: 86_400)
                == "http://prom:9090/graph?g0.expr=sum%28rate%28x%7Ba%3D%22b%22%7D%5B5m%5D%29%29&g0.tab=0&g0.range_input=1d")
    }
}
