import Foundation
import Testing
import TrimtabCLI
import TrimtabCore
import TrimtabCycle
import TrimtabKube
import TrimtabKubeSandbox
import TrimtabPrometheus
import TrimtabSandbox

/// "No action on incomplete data", held against the real Prometheus and the sandbox API server: a
/// cycle with any failed or partial query sends the cluster nothing but GETs, exits 3, and lists
/// every failed query.
@Suite("Incomplete data changes nothing", .serialized)
struct IncompleteDataTests {
    /// Non-GET requests the sandbox received (dry-run writes included: they are writes too).
    static func writes(_ sandbox: KubeSandbox) -> [String] {
        sandbox.requests.filter { $0.method != "GET" }.map { "\($0.method) \($0.path)?\($0.query)" }
    }

    /// A policy directory: the default policy, then a file that breaks one indicator's query with an
    /// unclosed parenthesis (valid YAML and a valid template, so only Prometheus can refuse it).
    static func policyDirectory(in dir: URL, breaking indicator: String?) throws -> String {
        let policies = dir.appendingPathComponent("policies-\(indicator ?? "whole")")
        try FileManager.default.createDirectory(at: policies, withIntermediateDirectories: true)
        try DefaultPolicy.yaml.write(to: policies.appendingPathComponent("00-default.yaml"), atomically: true, encoding: .utf8)
        if let indicator {
            try """
            apiVersion: trimtab/v1
            kind: Policy
            metadata: {name: default}
            spec:
              indicators:
                \(indicator): {query: 'max by ($by) (broken_metric{$selector}'}
            """.write(to: policies.appendingPathComponent("10-broken.yaml"), atomically: true, encoding: .utf8)
        }
        return policies.path
    }

    @Test func aFailedQueryOfAnyIndicatorChangesNothing() async throws {
        let step = DemoScenario.scrapeInterval
        let end = (alignedNow() / step).rounded(.down) * step
        let policy = try PolicyLoader.load(text: DefaultPolicy.yaml, file: "default.yaml")
        let queried = policy.queriedIndicators.map(\.name)
        let checked = Set(policy.checks.map(\.indicator))
        // The action-only inputs are the ones the bug let through; every scored one is covered too.
        #expect(queried.contains { !checked.contains($0) })
        try await withTemporaryDirectory { dir in
            try await withPrometheus(DemoScenario.openMetrics(end: end)) { prometheus in
                for indicator in queried + [nil] {
                    let sandbox = try await KubeSandbox.start(configuration: .demo)
                    let kubeconfig = dir.appendingPathComponent("kubeconfig").path
                    try sandbox.kubeconfig(token: KubeSandbox.adminToken, tokenInServerPath: false).write(toFile: kubeconfig, atomically: true, encoding: .utf8)
                    let report = dir.appendingPathComponent("\(indicator ?? "whole").json").path
                    let policies = try Self.policyDirectory(in: dir, breaking: indicator)
                    let (code, errors) = await capturingStandardError {
                        await trimtab(["analyze", "--prometheus", prometheus.url, "--at", "\(Int(end))", "--apply",
                                       "--policy", policies,
                                       "--kubeconfig", kubeconfig, "--journal", dir.appendingPathComponent("journal-\(indicator ?? "whole")").path,
                                       "--format", "json", "--output", report])
                    }
                    let decoded = try ReportEncoding.decode(try String(contentsOfFile: report, encoding: .utf8))
                    if let indicator {
                        #expect(code == 3, "\(indicator): \(errors)")
                        #expect(Self.writes(sandbox).isEmpty, "\(indicator): \(Self.writes(sandbox))")
                        // The failed query is listed and counted, whoever reads it.
                        #expect(decoded.assessment.failures.keys.sorted() == [indicator])
                        #expect(decoded.assessment.unknownReason?.contains("1 of \(queried.count) indicator queries failed (\(indicator))") == true,
                                "\(decoded.assessment.unknownReason ?? "")")
                        #expect(decoded.execution?.outcomes.isEmpty == true)
                        #expect(decoded.plan?.proposed.isEmpty == true)
                        #expect(!errors.contains("applied"), "\(errors)")
                        #expect(errors.contains("no action was taken"))
                    } else {
                        // The control: the same run on whole data does change the cluster, so the
                        // assertions above can fail.
                        #expect(code == 0, "\(errors)")
                        #expect(!Self.writes(sandbox).isEmpty)
                    }
                    await sandbox.stop()
                }
            }
        }
    }

    /// A source that adds a warning to the answers of one indicator, as Thanos does for a partial response.
    final class WarningSource: MetricsSource, @unchecked Sendable {
        let inner: PrometheusClient
        let marker: String
        var displayName: String { inner.displayName }
        init(_ inner: PrometheusClient, warnOn marker: String) {
            self.inner = inner
            self.marker = marker
        }
        func queryRange(_ promql: String, start: Double, end: Double, step: Double) async throws(PrometheusError) -> QueryResponse {
            var response = try await inner.queryRange(promql, start: start, end: end, step: step)
            if promql.contains(marker) { response.warnings.append("partial response: store 10.0.0.7:10901 unavailable") }
            return response
        }
    }

    @Test func aPartialAnswerIsIncompleteDataAndChangesNothing() async throws {
        let step = DemoScenario.scrapeInterval
        let end = (alignedNow() / step).rounded(.down) * step
        let policy = try PolicyLoader.load(text: DefaultPolicy.yaml, file: "default.yaml")
        let sandbox = try await KubeSandbox.start(configuration: .demo)
        let outcome = try await withPrometheus(DemoScenario.openMetrics(end: end)) { prometheus in
            let client = try PrometheusClient(PrometheusConfiguration(url: prometheus.url))
            let kube = try KubeClient(KubeConfiguration(server: sandbox.url, token: KubeSandbox.adminToken, timeoutSeconds: 5))
            let http = HTTPEndpointClient()
            let journal = FileManager.default.temporaryDirectory.appendingPathComponent("trimtab-journal-\(UUID().uuidString)").path
            let cluster = KubeCluster(client: kube, http: http, journal: FileJournal(directory: journal))
            // Warn on the CPU query: the one the scale-out of checkout depends on.
            let outcome = await AnalysisRun(policy: policy, source: WarningSource(client, warnOn: "container_cpu_usage_seconds_total"),
                                            time: end, cluster: cluster, mode: .enforce).execute()
            await client.shutdown()
            await kube.shutdown()
            await http.shutdown()
            try? FileManager.default.removeItem(atPath: journal)
            return outcome
        }
        #expect(Self.writes(sandbox).isEmpty, "\(Self.writes(sandbox))")
        await sandbox.stop()
        #expect(outcome.errors.count == 1)
        #expect(outcome.errors.first?.description.contains("answered with warnings, so the data may be partial (partial response: store 10.0.0.7:10901 unavailable)") == true)
        #expect(outcome.report.assessment.failures.keys.sorted() == ["cpu_utilization"])
        #expect(outcome.report.assessment.score == nil)
        #expect(outcome.report.plan?.proposed.isEmpty == true)
        #expect(outcome.report.execution?.notes.contains { $0.contains("no change is applied, verified, recovered or rolled back") } == true)
    }
}
