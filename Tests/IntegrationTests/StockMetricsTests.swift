import Foundation
import Testing
import TrimtabCLI
import TrimtabCore
import TrimtabPrometheus
import TrimtabSandbox
import Yams

/// The default policy, unchanged, against a real Prometheus holding what a cluster monitored with
/// kube-prometheus-stack holds: cAdvisor per pod and container (with the pod-level cgroup and a
/// sidecar), kube-state-metrics (requests, limits, phases, owners), the mixin's owner relabelling,
/// and client-library metrics per pod.
@Suite("The default policy on stock cluster metrics", .serialized)
struct StockMetricsTests {
    static let step = 30.0
    static let namespace = "prod"

    /// Two Deployments and a StatefulSet, with pods that came and went, an evicted pod, a CronJob's
    /// completed pod and a pod with no owner.
    static func profiles() -> [WorkloadProfile] {
        [
            // Rolled out 45 minutes ago (every pod replaced), one pod evicted and lingering as Failed.
            WorkloadProfile(namespace: namespace, deployment: "api", requestsPerSecond: { _ in 120 }, latencyP95: { _ in 0.35 },
                            errorRatio: { _ in 0.02 }, cpuUtilization: { _ in 0.6 }, memoryUtilization: { _ in 0.45 },
                            poolUtilization: { _ in 0.5 }, cacheHitRatio: { _ in 0.9 }, replicas: 3,
                            evictionsPerSecond: { _ in 0.3 }, rolloutAgo: 2700, evictedPod: true),
            // Never failed a request, so its client library never created a code="500" series.
            WorkloadProfile(namespace: namespace, deployment: "worker", requestsPerSecond: { _ in 8 }, latencyP95: { _ in 1.6 },
                            cpuUtilization: { _ in 0.8 }, memoryUtilization: { _ in 0.7 }, replicas: 2, rolloutAgo: nil,
                            exportsErrors: false),
            WorkloadProfile(namespace: namespace, deployment: "ledger", latencyP95: { _ in 0.2 }, cpuUtilization: { _ in 0.3 },
                            replicas: 2, kind: "StatefulSet"),
        ]
    }

    static func history(end: Double) -> String {
        let start = end - 2 * 3600
        let series = RawMetrics.series(for: profiles(), start: start, end: end, step: step)
            + StockStrays.completedJobPod(namespace: namespace, cronJob: "report", start: start, end: end, step: step)
            + StockStrays.barePod(namespace: namespace, name: "debug-shell", start: start, end: end, step: step)
        return OpenMetricsWriter.write(series, start: start, end: end, step: step)
    }

    static func value(_ assessment: Assessment, _ snapshot: Snapshot, _ indicator: String, _ workload: String) -> Double? {
        snapshot.currentValue(indicator, for: TargetID(labelNames: ["namespace", "workload"], labelValues: [namespace, workload]))
    }

    /// On Prometheus and on VictoriaMetrics, the same history: the same workloads and values.
    @Test(arguments: MetricsBackend.allCases)
    func findsEveryDeploymentWithTheRightValuesAndIgnoresTheRest(on backend: MetricsBackend) async throws {
        let end = (alignedNow() / Self.step).rounded(.down) * Self.step
        let policy = try PolicySource.load(nil)
        let statefulSets = try PolicyLoader.load(text: DefaultPolicy.yaml.replacingOccurrences(of: "kind: Deployment", with: "kind: StatefulSet")
            .replacingOccurrences(of: #"label_replace(kube_deployment_spec_replicas{$namespaceSelector}, "workload", "$1", "deployment", "(.+)")"#,
                                  with: #"label_replace(kube_statefulset_replicas{$namespaceSelector}, "workload", "$1", "statefulset", "(.+)")"#),
            file: "statefulsets.yaml")
        let (deployments, ledger, ruleCheck) = try await withBackend(backend, Self.history(end: end)) { prometheus in
            let client = try PrometheusClient(PrometheusConfiguration(url: prometheus.url))
            let reader = SnapshotReader(source: client)
            let deployments = await reader.read(policy: policy, at: end)
            let ledger = await reader.read(policy: statefulSets, at: end)
            // The owner relabelling the history holds is what deploy/prometheus/rules.yaml computes
            // from kube-state-metrics' series.
            let rules = try Self.recordingRules()
            var mismatches: [String] = []
            let recorded = try await client.queryRange("namespace_workload_pod:kube_pod_owner:relabel", start: end - 3600, end: end, step: Self.step)
            var computed: [RawSeries] = []
            for rule in rules {
                computed += try await client.queryRange(rule.expr, start: end - 3600, end: end, step: Self.step).result.series.map { series in
                    var labels = series.labels
                    for (name, value) in rule.labels { labels[name] = value }
                    return RawSeries(labels: labels, samples: series.samples)
                }
            }
            let key = { (series: RawSeries) in series.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") }
            let want = Dictionary(uniqueKeysWithValues: recorded.result.series.map { series in
                var unnamed = series
                unnamed.labels["__name__"] = nil
                return (key(unnamed), series.samples)
            })
            let got = Dictionary(uniqueKeysWithValues: computed.map { (key($0), $0.samples) })
            for name in Set(want.keys).union(got.keys) where want[name] != got[name] {
                mismatches.append("\(name): recorded \(want[name]?.count ?? 0) points, the rules compute \(got[name]?.count ?? 0)")
            }
            await client.shutdown()
            return (deployments, ledger, (recorded: recorded.result.series.count, mismatches: mismatches))
        }
        #expect(deployments.errors.isEmpty, "\(deployments.errors)")
        #expect(ruleCheck.recorded > 0)
        #expect(ruleCheck.mismatches.isEmpty, "\(ruleCheck.mismatches)")

        let snapshot = deployments.snapshot
        let assessment = Assessor.assess(snapshot, policy: policy)
        // Exactly the Deployments: not the StatefulSet, the CronJob's pod or the bare pod.
        #expect(assessment.targets.map(\.target.description) == ["prod/api", "prod/worker"])
        func near(_ indicator: String, _ workload: String, _ expected: Double, tolerance: Double = 1e-6) {
            let found: Double? = Self.value(assessment, snapshot, indicator, workload)
            let close: Bool = found.map { abs($0 - expected) <= tolerance } ?? false
            let shown: String = found.map { "\($0)" } ?? "nil"
            #expect(close, "\(workload) \(indicator): \(shown), expected \(expected)")
        }
        // api: every figure as its profile says, whatever the rollout, the sidecar, the pod cgroup
        // and the evicted pod (counted, any of them would move CPU or memory).
        near("request_rate", "api", 120)
        near("latency_p95", "api", 0.35, tolerance: 0.01)
        near("error_ratio", "api", 0.02)
        near("cpu_utilization", "api", 0.6)
        near("memory_utilization", "api", 0.45)
        near("pool_utilization", "api", 0.5)
        near("pool_size", "api", 20)
        near("cache_hit_ratio", "api", 0.9)
        near("cache_evictions", "api", 0.3)
        near("replicas", "api", 3)
        // worker: no 5xx series at all is an error ratio of 0, not missing data.
        near("error_ratio", "worker", 0)
        near("cpu_utilization", "worker", 0.8)
        near("memory_utilization", "worker", 0.7)
        near("latency_p95", "worker", 1.6, tolerance: 0.01)
        near("replicas", "worker", 2)
        #expect(Self.value(assessment, snapshot, "pool_utilization", "worker") == nil)
        let worker = try #require(assessment.targets.first { $0.target.description == "prod/worker" })
        #expect(worker.checks.first { $0.check == "error_ratio" }?.status == .ok)
        #expect(worker.checks.first { $0.check == "cpu_utilization" }?.status == .warning)
        #expect(worker.checks.first { $0.check == "latency_p95" }?.status == .warning)
        #expect(assessment.isComplete)

        // The same policy for StatefulSets finds the StatefulSet alone.
        #expect(ledger.errors.isEmpty, "\(ledger.errors)")
        let ledgerAssessment = Assessor.assess(ledger.snapshot, policy: statefulSets)
        #expect(ledgerAssessment.targets.map(\.target.description) == ["prod/ledger"])
        #expect(ledger.snapshot.currentValue("replicas", for: TargetID(labelNames: ["namespace", "workload"], labelValues: ["prod", "ledger"])) == 2)
        let ledgerCPU: Double = ledger.snapshot.currentValue("cpu_utilization", for: TargetID(labelNames: ["namespace", "workload"], labelValues: ["prod", "ledger"])) ?? .nan
        #expect(abs(ledgerCPU - 0.3) < 1e-6, "ledger cpu \(ledgerCPU)")
    }

    struct Rule {
        var expr: String
        var labels: [String: String]
    }

    /// The recording rules Trimtab ships for clusters without the kubernetes-mixin.
    static func recordingRules() throws -> [Rule] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("deploy/prometheus/rules.yaml")
        let text = try String(contentsOf: url, encoding: .utf8)
        guard let root = try Yams.load(yaml: text) as? [String: Any], let groups = root["groups"] as? [[String: Any]] else { return [] }
        return groups.flatMap { group in
            (group["rules"] as? [[String: Any]] ?? []).compactMap { rule in
                guard let expr = rule["expr"] as? String else { return nil }
                return Rule(expr: expr, labels: rule["labels"] as? [String: String] ?? [:])
            }
        }
    }

    /// The shipped rules pass promtool's own checks and unit tests; the objectives' rules are what
    /// `trimtab policy rules` writes for the default policy now.
    @Test func theShippedRecordingRulesPassPromtool() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("deploy/prometheus")
        let shipped = try String(contentsOf: directory.appendingPathComponent("slo-rules.yaml"), encoding: .utf8)
        #expect(shipped == ObjectiveRecording.rules(for: try PolicySource.load(nil)),
                "deploy/prometheus/slo-rules.yaml is not the default policy's: run trimtab policy rules -o deploy/prometheus/slo-rules.yaml")
        for arguments in [["check", "rules", "rules.yaml"], ["test", "rules", "rules.test.yaml"],
                          ["check", "rules", "slo-rules.yaml"], ["test", "rules", "slo-rules.test.yaml"]] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
            process.arguments = arguments
            process.currentDirectoryURL = directory
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "promtool \(arguments.joined(separator: " ")): \(text)")
            #expect(text.contains("SUCCESS"))
        }
    }
}

/// The first hour of a new operator: `policy check` on a working and a broken policy, and an
/// analysis that finds no target, which is not a healthy run.
@Suite("policy check and no-target runs against a real Prometheus", .serialized)
struct PolicyCheckTests {
    /// Written as a user adapting the old shape would: labels the stock series do not have, a
    /// missing parenthesis, a per-pod aggregation and a bad regular expression.
    static let broken = """
    apiVersion: trimtab/v1
    kind: Policy
    metadata: {name: broken}
    spec:
      targets: {groupBy: [namespace, deployment]}
      indicators:
        cpu:
          query: |-
            sum by ($by) (
              rate(container_cpu_usage_seconds_total{$selector}[5m]
            )
          unit: ratio
        per_pod: {query: 'sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{container!=""}[5m]))', unit: ratio}
        nothing: {query: 'sum by ($by) (rate(http_requests_total{$selector}[5m]))', unit: per-second}
        bad_regex: {query: 'sum by ($by) (up{job=~"("})', unit: none}
      checks:
        per_pod: {worse: higher, warning: 0.7, critical: 0.9}
        nothing: {worse: higher, warning: 100, critical: 200}
    """

    @Test func checksEveryIndicatorAndExitsFiveOnNoTargets() async throws {
        let end = (alignedNow() / StockMetricsTests.step).rounded(.down) * StockMetricsTests.step
        try await withTemporaryDirectory { dir in
            let brokenFile = dir.appendingPathComponent("broken.yaml").path
            try Self.broken.write(toFile: brokenFile, atomically: true, encoding: .utf8)
            // A valid policy whose every query finds nothing usable.
            let noTargets = dir.appendingPathComponent("no-targets.yaml").path
            try Self.broken.replacingOccurrences(of: "\n      )", with: ")").replacingOccurrences(of: "bad_regex: {query: 'sum by ($by) (up{job=~\"(\"})', unit: none}", with: "")
                .write(toFile: noTargets, atomically: true, encoding: .utf8)
            let output = CapturedText()
            let (codes, errors) = try await capturingStandardError {
                try await withPrometheus(StockMetricsTests.history(end: end)) { prometheus in
                    await ErrorOutput.$captureStandardOutput.withValue({ output.append($0) }) {
                        let base = ["--prometheus", prometheus.url, "--at", "\(Int(end))"]
                        let good = await trimtab(["policy", "check"] + base)
                        let goodText = output.value
                        let bad = await trimtab(["policy", "check", "--policy", brokenFile] + base)
                        let analyze = await trimtab(["analyze", "--policy", noTargets, "--output", dir.appendingPathComponent("r.md").path] + base)
                        return [good, bad, analyze, goodText.contains("all 10 indicators are fine") ? 0 : 1]
                    }
                }
            }
            let text = output.value
            #expect(codes == [0, 1, 5, 0], "\(text)\n\(errors)")
            #expect(text.contains("ok   cpu_utilization: 2 targets from 2 series"), "\(text)")
            #expect(text.contains("lacks 1 target that other indicators have: prod/worker"), "\(text)")
            // The parse error, mapped from Prometheus's line 3, column 2 of the query as sent back to
            // the file: the line of the closing parenthesis, just after it.
            #expect(text.contains("FAIL cpu: invalid PromQL at \(brokenFile):11:10: unclosed left parenthesis"), "\(text)")
            #expect(text.contains("FAIL bad_regex: invalid PromQL at \(brokenFile):15:"), "\(text)")
            #expect(text.contains("error parsing regexp"))
            #expect(text.contains("FAIL per_pod: 0 targets from"), "\(text)")
            #expect(text.contains("series lack a groupBy label, so they belong to no target: missing deployment ("))
            #expect(text.contains("FAIL nothing: matched no series at all"))
            #expect(text.contains("not read by any check or action"))
            #expect(text.contains("4 of 4 indicators have problems") || text.contains("of 4 indicators have problems"))
            // analyze with no target: exit 5, and the error says which query and which labels.
            #expect(errors.contains("the policy found no targets"), "\(errors)")
            #expect(errors.contains("nothing: the query matched no series"))
            #expect(errors.contains("per_pod:") && errors.contains("lacking deployment (missing from"), "\(errors)")
        }
    }
}
