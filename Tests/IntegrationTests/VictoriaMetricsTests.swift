import Foundation
import Testing
import TrimtabCLI
import TrimtabCore
import TrimtabCycle
import TrimtabPrometheus
import TrimtabSandbox

/// VictoriaMetrics as a second backend, beyond the analysis tests that run on both (exact scores,
/// stock metrics, the demo's verdicts and plan, the objectives): its default latency offset met by the
/// policy's evaluation delay, its `/prometheus` prefix, and vmauth's bearer token.
@Suite("VictoriaMetrics: the latency offset, the /prometheus prefix and vmauth", .serialized)
struct VictoriaMetricsTests {
    /// What an analysis decided, in words that compare across backends.
    static func verdicts(_ report: AnalysisReport) -> [String] {
        let bottlenecks = report.assessment.bottlenecks.map { "bottleneck \($0.target) \($0.check) \($0.severity.rawValue)" }
        let statuses = report.assessment.targets.map { "status \($0.target) \($0.status)" }
        let objectives = (report.objectives ?? []).map { "objective \($0.target) \($0.objective) \($0.state)" }
        let plan = (report.plan?.proposed ?? []).map { "proposed \($0.target) \($0.action) \(Int($0.current))→\(Int($0.proposed))" }
            + (report.plan?.held ?? []).map { "held \($0.target) \($0.action)" }
        return (bottlenecks + statuses + objectives + plan).sorted()
    }

    /// VictoriaMetrics by default answers as if the last 30 s had no samples (`-search.latencyOffset`):
    /// evaluated at the edge of its data it judged the demo otherwise than Prometheus did in 3 runs of
    /// 4 (checkout's protective scale-out was missed). With `evaluation.delay: 45s` both judge the same
    /// moment from complete data, and every verdict, objective and proposal is the same.
    @Test func theEvaluationDelayMeetsTheDefaultLatencyOffset() async throws {
        let end = (Date().timeIntervalSince1970 / DemoScenario.scrapeInterval).rounded(.down) * DemoScenario.scrapeInterval
        let history = DemoScenario.openMetrics(end: end)
        let policy = try PolicyLoader.load(text: DefaultPolicy.yaml.replacingOccurrences(of: "    step: 30s ", with: "    delay: 45s\n    step: 30s "),
                                           file: "default.yaml")
        #expect(policy.evaluation.delaySeconds == 45)
        func analyze(_ server: any MetricsServer) async throws -> AnalysisReport {
            let client = try PrometheusClient(PrometheusConfiguration(url: server.url))
            let outcome = await AnalysisRun(policy: policy, source: client, time: end).execute()
            await client.shutdown()
            #expect(outcome.errors.isEmpty, "\(outcome.errors)")
            return outcome.report
        }
        let onPrometheus = try await withBackend(.prometheus, history) { try await analyze($0) }
        let onVictoria = try await stopping(try await VictoriaMetricsSandbox.start(openMetrics: history, arguments: ["-search.latencyOffset=30s"])) {
            try await analyze($0)
        }
        // Judged 45 s behind the time asked for, on the 30 s grid.
        let judged = EvaluationTime.onGrid(end - 45, step: 30)
        #expect(onPrometheus.assessment.time == judged && onVictoria.assessment.time == judged)
        #expect(!Self.verdicts(onPrometheus).isEmpty)
        #expect(Self.verdicts(onVictoria) == Self.verdicts(onPrometheus))
        let scores = zip(onPrometheus.assessment.targets, onVictoria.assessment.targets).map { (($0.score ?? -1) - ($1.score ?? -1)).magnitude }
        #expect(scores.allSatisfy { $0 < 0.5 }, "score differences \(scores)")
    }

    /// The query API under `/prometheus` (as VictoriaMetrics, Mimir and a Prometheus behind a route
    /// prefix serve it), and through vmauth with a bearer token read from a file; a wrong token is a
    /// clear error naming the URL and the status (never blaming the query, never echoing the token), and
    /// analyze exits 3 with nothing judged.
    @Test func aPathPrefixAndVmauthsBearerToken() async throws {
        let end = alignedNow()
        try await stopping(try await VictoriaMetricsSandbox.start(openMetrics: gaugeHistory(end: end))) { server in
            try await withTemporaryDirectory { dir in
                let policyFile = dir.appendingPathComponent("gauges.yaml").path
                try gaugePolicy.write(toFile: policyFile, atomically: true, encoding: .utf8)
                let report = dir.appendingPathComponent("r.md").path
                func analyze(_ url: String, _ extra: [String] = []) async -> Int32 {
                    await trimtab(["analyze", "--prometheus", url, "--policy", policyFile, "--at", "\(Int(end))", "--quiet", "--output", report] + extra)
                }
                // Through the prefix: the gauges' critical bottleneck is found, as on Prometheus.
                #expect(await analyze(server.url + "/prometheus") == 0)
                #expect(try String(contentsOfFile: report, encoding: .utf8).contains("shop/steady"))

                let token = "vm-token-7c1e"
                let auth = try await server.startAuth(token: token)
                let tokenFile = dir.appendingPathComponent("token").path
                try (token + "\n").write(toFile: tokenFile, atomically: true, encoding: .utf8)
                try FileManager.default.removeItem(atPath: report)
                #expect(await analyze(auth, ["--bearer-token-file", tokenFile]) == 0)
                #expect(try String(contentsOfFile: report, encoding: .utf8).contains("shop/steady"))

                // A wrong token: vmauth refuses it, and the run says so and judges nothing.
                let wrong = dir.appendingPathComponent("wrong").path
                try "not-the-token\n".write(toFile: wrong, atomically: true, encoding: .utf8)
                let client = try PrometheusClient(PrometheusConfiguration(url: auth, bearerTokenFile: wrong))
                do {
                    _ = try await client.query("up")
                    Issue.record("vmauth answered a wrong token")
                } catch {
                    let text = "\(error)"
                    // vmauth answers 400 (not 401) with a line of text: not Prometheus's verdict on the query.
                    #expect(text.contains("answered 400") && text.contains(auth) && text.contains("auth token"), "\(text)")
                    #expect(!text.contains("fix the indicator's PromQL"), "\(text)")
                    #expect(!text.contains("not-the-token"), "the token is never echoed: \(text)")
                }
                await client.shutdown()
                #expect(await analyze(auth, ["--bearer-token-file", wrong]) == 3)
            }
        }
    }
}
