import Foundation
import Testing
import TrimtabCLI
import TrimtabCore
import TrimtabSandbox

/// Renders Markdown with GitHub's cmark-gfm (Debian's `cmark-gfm` package) to HTML.
func renderGFM(_ markdown: String) throws -> String {
    guard let cmark = PrometheusSandbox.locate("cmark-gfm") else {
        Issue.record("cmark-gfm is not installed; install it with apt-get install -y cmark-gfm (.ci/run does)")
        return ""
    }
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trimtab-gfm-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let input = directory.appendingPathComponent("in.md"), output = directory.appendingPathComponent("out.html")
    try markdown.write(to: input, atomically: true, encoding: .utf8)
    _ = FileManager.default.createFile(atPath: output.path, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: cmark)
    process.arguments = ["--extension", "table", "--extension", "autolink", "--unsafe", input.path]
    process.standardOutput = try FileHandle(forWritingTo: output)
    try process.run()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    return try String(contentsOf: output, encoding: .utf8)
}

func occurrences(_ needle: String, in text: String) -> Int {
    text.components(separatedBy: needle).count - 1
}

@Suite("trimtab report: the gate, formats and GitHub's renderer", .serialized)
struct ReportCommandTests {
    @Test func theMarkdownRendersAsGitHubWould() throws {
        let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../TrimtabCoreTests/Golden/period-report.md")
        let markdown = try String(contentsOf: golden, encoding: .utf8)
        let html = try renderGFM(markdown)
        // Every table's delimiter row became a real table, and no row was left as text.
        let tables = markdown.components(separatedBy: "\n").filter { $0.hasPrefix("| ---") }.count
        #expect(tables >= 5)
        #expect(occurrences("<table>", in: html) == tables)
        #expect(!html.contains("<p>| "))
        // The chart and the queries are fenced code blocks of their languages.
        #expect(occurrences("<code class=\"language-mermaid\">", in: html) == 2)
        #expect(occurrences("```mermaid", in: markdown) == 2)
        #expect(occurrences("<code class=\"language-promql\">", in: html) == occurrences("```promql", in: markdown))
        #expect(html.contains("<details>") && html.contains("<summary>"))
        // Values link to Prometheus's graph page.
        #expect(html.contains("<a href=\"http://prometheus.example:9090/graph?g0.expr="))
    }

    @Test func theGateSetsTheExitCodeAndWritesEveryFormat() async throws {
        let end = alignedNow()
        try await withTemporaryDirectory { dir in
            let policyFile = dir.appendingPathComponent("gauges.yaml").path
            try gaugePolicy.write(toFile: policyFile, atomically: true, encoding: .utf8)
            let summary = dir.appendingPathComponent("step-summary.md").path
            setenv("GITHUB_STEP_SUMMARY", summary, 1)
            defer { unsetenv("GITHUB_STEP_SUMMARY") }
            let path = { (name: String) in dir.appendingPathComponent(name).path }
            try "{{policy}} {{score}}\n".write(toFile: path("custom.mustache"), atomically: true, encoding: .utf8)
            let codes = try await withPrometheus(gaugeHistory(end: end)) { sandbox in
                let base = ["report", "--prometheus", sandbox.url, "--policy", policyFile, "--end", "\(Int(end))", "--since", "1h", "--quiet"]
                return [
                    await trimtab(base + ["--output", path("pass.md"), "--fail-under", "50"]),
                    await trimtab(base + ["--output", path("fail.md"), "--fail-under", "95"]),
                    await trimtab(base + ["--output", path("critical.xml"), "--format", "junit", "--fail-on", "critical"]),
                    await trimtab(base + ["--output", path("report.json"), "--format", "json"]),
                    await trimtab(base + ["--output", path("against.md"), "--baseline", path("report.json")]),
                    await trimtab(base + ["--output", path("custom.md"), "--template", path("custom.mustache")]),
                    // CI's one run: the Markdown, the next baseline and JUnit, reading Prometheus once.
                    await trimtab(base + ["--output", path("all.md"), "--json-output", path("all.json"), "--junit-output", path("all.xml")]),
                    await trimtab(base + ["--output", path("same.json"), "--json-output", path("same.json")]),
                ]
            }
            #expect(codes == [0, 2, 2, 0, 0, 0, 0, 64])
            let all = try ReportEncoding.decode(PeriodReport.self, try String(contentsOfFile: path("all.json"), encoding: .utf8))
            let alone = try ReportEncoding.decode(PeriodReport.self, try String(contentsOfFile: path("report.json"), encoding: .utf8))
            #expect(all.assessment.score == alone.assessment.score && all.assessment.score != nil)
            #expect(try String(contentsOfFile: path("all.xml"), encoding: .utf8).contains("<testcase classname=\"shop/steady\" name=\"latency\">"))
            #expect(try String(contentsOfFile: path("all.md"), encoding: .utf8).contains("# Trimtab report: gauges"))
            #expect(try String(contentsOfFile: path("custom.md"), encoding: .utf8) == "gauges 83.3\n")
            let failed = try String(contentsOfFile: path("fail.md"), encoding: .utf8)
            #expect(failed.contains("> ❌ **Gate failed** (score at least 95): health score 83.3 is below 95."))
            let junit = try String(contentsOfFile: path("critical.xml"), encoding: .utf8)
            #expect(junit.contains("<testcase classname=\"shop/steady\" name=\"latency\"><failure type=\"critical\""))
            #expect(junit.contains("<testcase classname=\"trimtab\" name=\"gate\"><failure type=\"gate\""))
            let report = try ReportEncoding.decode(PeriodReport.self, try String(contentsOfFile: path("report.json"), encoding: .utf8))
            #expect(report.kind == "trimtab.report" && report.context.queries == 6)
            let against = try String(contentsOfFile: path("against.md"), encoding: .utf8)
            #expect(against.contains("- Baseline score: 83.3"))
            // Every run appended its Markdown to the step summary.
            let appended = try String(contentsOfFile: summary, encoding: .utf8)
            #expect(occurrences("# Trimtab report: gauges", in: appended) == 6)
            #expect(appended.contains("gauges 83.3\n"))
        }
    }

    @Test func unreadableMetricsExitThreeAndABadBaselineExitsOne() async throws {
        try await withTemporaryDirectory { dir in
            let reserved = try FreePort.reserveRefusing()
            defer { withExtendedLifetime(reserved) {} }
            let port = reserved.port
            let output = dir.appendingPathComponent("r.md").path
            #expect(await trimtab(["report", "--prometheus", "http://127.0.0.1:\(port)", "--output", output, "--timeout", "2s", "--quiet", "--fail-under", "10"]) == 3)
            #expect(try String(contentsOfFile: output, encoding: .utf8).contains("❌ **Gate failed**"))
            let baseline = dir.appendingPathComponent("b.json").path
            try #"{"hello": 1}"#.write(toFile: baseline, atomically: true, encoding: .utf8)
            #expect(await trimtab(["report", "--prometheus", "http://127.0.0.1:\(port)", "--baseline", baseline]) == 1)
            #expect(await trimtab(["report", "--prometheus", "http://127.0.0.1:\(port)", "--fail-on", "bad"]) == 64)
            let template = dir.appendingPathComponent("t.mustache").path
            try "{{#targets}}\n{{name}}".write(toFile: template, atomically: true, encoding: .utf8)
            #expect(await trimtab(["report", "--prometheus", "http://127.0.0.1:\(port)", "--template", template]) == 1)
        }
    }
}
