import Foundation
import Testing
@testable import TrimtabCore

@Suite("Reports: Markdown for people, JSON for machines")
struct ReportTests {
    static func report() throws -> AnalysisReport {
        var fixture = SnapshotFixture(policy: try PolicyLoader.load(text: basePolicy, file: "p.yaml"))
        fixture.add("latency_p95", "checkout") { ago in ago <= 1200 ? 2.5 : 0.3 }
        fixture.add("cache_hit_ratio", "checkout") { _ in 0.9 }
        fixture.add("latency_p95", "cart|pipe") { _ in 0.2 }
        fixture.add("cache_hit_ratio", "cart|pipe") { _ in .nan }
        let context = RunContext(source: "http://127.0.0.1:9090", queries: 2, readSeconds: 0.25, policyFiles: ["p.yaml"], mode: .dryRun)
        return AnalysisReport(assessment: fixture.assessment, context: context)
    }

    @Test func markdownHasTheScoreBottlenecksChecksAndQueries() throws {
        let markdown = MarkdownReport.render(try Self.report())
        // checkout: (0 × 3 + 100 × 1) / 4 = 25; overall (100 + 25) / 2.
        #expect(markdown.contains("**Health score: 62.5 / 100 · 🔴 critical**"))
        #expect(markdown.contains("| shop/checkout | 25.0 | 🔴 critical | 100 % | 1 ok, 1 critical |"))
        #expect(markdown.contains("| shop/checkout | latency_p95 | 🔴 critical | 2.5 s | > 2 s | 2.5 s | 1970-01-02T03:26:40Z | 5m, 11 points |"))
        #expect(markdown.contains("```promql\n  histogram_quantile(0.95, sum by (namespace, deployment, le) (rate(http_request_duration_seconds_bucket{namespace!=\"\",deployment!=\"\",namespace=\"shop\"}[5m])))\n  ```"))
        // A pipe in a label value must not break the table.
        #expect(markdown.contains("| shop/cart\\|pipe | 100.0 | 🟢 healthy | 75 % |"))
        #expect(markdown.contains("- `cache_hit_ratio` is unknown: the value is NaN"))
        #expect(markdown.contains("- Metrics source: http://127.0.0.1:9090 (2 queries, read in 0.25 s)"))
    }

    @Test func unknownHealthIsSaidPlainly() throws {
        var fixture = SnapshotFixture(policy: try PolicyLoader.load(text: basePolicy, file: "p.yaml"))
        fixture.failures["latency_p95"] = "Prometheus at http://x answered 503"
        fixture.add("cache_hit_ratio", "a") { _ in 0.9 }
        let context = RunContext(source: "http://x", queries: 2, readSeconds: 1, policyFiles: ["p.yaml"], mode: .dryRun)
        let markdown = MarkdownReport.render(AnalysisReport(assessment: fixture.assessment, context: context))
        #expect(markdown.contains("**Health score: unknown · ⚪ unknown**"))
        #expect(markdown.contains("> **The overall health is unknown:** 1 of 2 indicator queries failed"))
        #expect(markdown.contains("## Query errors\n\n- **latency_p95**: Prometheus at http://x answered 503"))
        #expect(!markdown.contains("healthy"))
    }

    @Test func jsonRoundTripsWithItsSchemaVersion() throws {
        let report = try Self.report()
        let json = try ReportEncoding.json(report)
        #expect(json.contains("\"schemaVersion\" : 1"))
        #expect(json.contains("\"kind\" : \"trimtab.analysis\""))
        let decoded = try ReportEncoding.decode(json)
        #expect(decoded.assessment.score == report.assessment.score)
        #expect(decoded.assessment.bottlenecks == report.assessment.bottlenecks)
        #expect(decoded.assessment.targets.map(\.target) == report.assessment.targets.map(\.target))
        // Every check result whole, its bottleneck (held by reference) included.
        #expect(decoded.assessment == report.assessment)
        #expect(report.assessment.targets.flatMap(\.checks).contains { $0.bottleneck != nil })
        #expect(!json.contains("\"boxedBottleneck\""))
    }

    @Test func numbersAreWrittenAsStringFormatWritesThem() {
        var generator = SystemRandomNumberGenerator()
        var values: [Double] = [0.125, 0.135, 1.005, 2.5, 99.95, 999.5, 1e-4, 9.999e-5, 1e9, 123456789.5, -0.0015, 100]
        for _ in 0..<3000 {
            values.append(Double.random(in: -1...1, using: &generator) * pow(10, Double.random(in: -6...10, using: &generator)))
        }
        for value in values {
            #expect(Formatting.printf("%.3g", value) == String(format: "%.3g", value), "\(value)")
            for digits in 0...6 {
                #expect(Formatting.printf("%.*f", value, precision: digits) == String(format: "%.\(digits)f", value), "\(value) \(digits)")
            }
        }
        #expect(Formatting.score(87.25) == "87.2" && Formatting.score(nil) == "unknown")
        #expect([0.5, 12.30, 100, 2.0004, 1e-4, 0.000125, 120.0, -3.10].map(Formatting.number) == ["0.5", "12.3", "100", "2", "0.0001", "0.000125", "120", "-3.1"])
        #expect(Formatting.cell("a|b\\c\nd") == "a\\|b\\\\c d" && Formatting.cell("plain") == "plain")
    }

    @Test(arguments: [
        (0.25, IndicatorUnit.seconds, "250 ms"), (2.5, .seconds, "2.5 s"), (0.012, .ratio, "1.2 %"),
        (1_610_612_736, .bytes, "1.5 GiB"), (12.345, .perSecond, "12.3/s"), (Double.infinity, .seconds, "+Inf"),
        (Double.nan, .ratio, "NaN"), (1234567, .count, "1234567"),
    ])
    func formatsValues(_ value: Double, _ unit: IndicatorUnit, _ text: String) {
        #expect(Formatting.value(value, unit: unit) == text)
    }
}
