import Foundation
import Testing
@testable import TrimtabCore
import TrimtabKube
import TrimtabKubeSandbox
import TrimtabCLI
import TrimtabSandbox

/// Captures what the commands run by `body` print to standard error.
func capturingStandardError<T>(_ body: () async throws -> T) async rethrows -> (T, String) {
    let text = CapturedText()
    let result = try await ErrorOutput.$capture.withValue({ text.append($0) }) { try await body() }
    return (result, text.value)
}

final class CapturedText: @unchecked Sendable {
    private let lock = NSLock()
    private var text = ""
    func append(_ more: String) { lock.withLock { text += more } }
    var value: String { lock.withLock { text } }
}

/// The demo's metrics in a real Prometheus and the demo's workloads in the sandbox API server, with
/// an HPA on `checkout` pinned at its maximum: `trimtab analyze --apply` as an operator runs it.
@Suite("analyze --apply, history and rollback against Prometheus and the sandbox API server", .serialized)
struct ClusterCommandTests {
    static let token = "s3cr3t-operator-token-d41d8cd9"
    static let password = "pr0m-passw0rd-77aa"

    static func checkoutHPA() -> JSONValue {
        ["apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
         "metadata": ["name": "checkout", "namespace": "shop"],
         "spec": ["scaleTargetRef": ["apiVersion": "apps/v1", "kind": "Deployment", "name": "checkout"],
                  "minReplicas": 2, "maxReplicas": 4]]
    }

    @Test func applyThenHistoryThenRollback() async throws {
        let step = DemoScenario.scrapeInterval
        let end = (alignedNow() / step).rounded(.down) * step
        var configuration = KubeSandbox.Configuration.demo
        configuration.grants[Self.token] = .admin(user: "system:serviceaccount:trimtab:trimtab")
        configuration.objects.append(Self.checkoutHPA())
        let sandbox = try await KubeSandbox.start(configuration: configuration)
        try await withTemporaryDirectory { dir in
            let kubeconfig = dir.appendingPathComponent("kubeconfig").path
            try sandbox.kubeconfig(token: Self.token, tokenInServerPath: false).write(toFile: kubeconfig, atomically: true, encoding: .utf8)
            let journal = dir.appendingPathComponent("journal").path
            let markdown = dir.appendingPathComponent("apply.md").path
            let json = dir.appendingPathComponent("apply.json").path
            let (codes, errors) = try await capturingStandardError {
                try await withPrometheus(DemoScenario.openMetrics(end: end)) { prometheus in
                    // Credentials in the Prometheus URL: sent as basic auth, never shown.
                    let url = prometheus.url.replacingOccurrences(of: "http://", with: "http://trimtab:\(Self.password)@")
                    let base = ["analyze", "--prometheus", url, "--at", "\(Int(end))", "--kubeconfig", kubeconfig, "--journal", journal]
                    let dry = await trimtab(base + ["--output", dir.appendingPathComponent("dry.md").path])
                    let apply = await trimtab(base + ["--apply", "--output", markdown])
                    // A second run at the same time plans the same actions: nothing is applied twice.
                    let again = await trimtab(base + ["--apply", "--output", json, "--format", "json"])
                    return [dry, apply, again]
                }
            }
            #expect(codes == [0, 0, 0], "\(errors)")

            // The dry-run asked the API server and changed nothing; the report says so.
            let dry = try String(contentsOfFile: dir.appendingPathComponent("dry.md").path, encoding: .utf8)
            #expect(dry.contains("## Changes on the cluster"))
            #expect(dry.contains("would-apply"))

            // checkout is CPU-bound, but its HPA owns the replicas: they are never written, and the
            // plan proposes raising the HPA's maxReplicas instead (held: the policy only proposes).
            #expect(replicas(in: sandbox, of: "checkout") == 4)
            #expect(!sandbox.requests.contains { $0.method != "GET" && $0.path.contains("/deployments/checkout") })
            let text = try String(contentsOfFile: markdown, encoding: .utf8)
            #expect(text.contains("| shop/checkout | autoscalerMax | hpa checkout maxReplicas | 4 → 6 | ⏸ held: autoscaler |"), "\(text)")
            #expect(text.contains("HorizontalPodAutoscaler checkout owns its replicas"))

            // The pool-bound, cache-cold and idle services were changed.
            #expect(env("DB_POOL_SIZE", in: sandbox, of: "payments") == "28")
            #expect(env("CACHE_TTL_SECONDS", in: sandbox, of: "search") == "120")
            #expect(replicas(in: sandbox, of: "catalog") == 3)
            let entries = try FileJournal(directory: journal).entries()
            #expect(entries.count == 3)
            #expect(entries.allSatisfy { $0.state == .applied })
            // One clock each, named: the journal counts in the evaluation time (--at), and keeps the
            // wall clock it was written at; the annotation carries both.
            #expect(entries.allSatisfy { $0.createdAt == end && ($0.createdWallClock ?? 0) > end })
            let annotationText = try #require(sandbox.object(apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "catalog")?[path: ["metadata", "annotations", "trimtab.io/last-change"]]?.stringValue)
            let annotation = try #require(try JSONSerialization.jsonObject(with: Data(annotationText.utf8)) as? [String: Any])
            #expect(annotation["evaluatedAt"] as? String == Formatting.time(end))
            #expect((annotation["changedAt"] as? String).map { $0 > Formatting.time(end) } == true, "\(annotation)")
            #expect(annotation["at"] == nil)
            let report = try ReportEncoding.decode(try String(contentsOfFile: json, encoding: .utf8))
            // The journal's changes put those knobs in cooldown: the second run holds them.
            #expect(report.execution?.outcomes.isEmpty == true)
            let cooling = report.plan?.held.filter { $0.failedRules.contains { $0.rule == "cooldown" } }.map(\.target.description).sorted()
            #expect(cooling == ["shop/catalog", "shop/payments", "shop/search"])
            #expect(report.context.mode == .enforce)

            // history, then rollback --last of one target.
            let (historyCode, _) = await capturingStandardError { await trimtab(["history", "--journal", journal]) }
            #expect(historyCode == 0)
            let rollback = await trimtab(["rollback", "--last", "shop/payments", "--kubeconfig", kubeconfig, "--journal", journal])
            #expect(rollback == 0)
            #expect(env("DB_POOL_SIZE", in: sandbox, of: "payments") == "20")
            let states = try FileJournal(directory: journal).entries().map { "\($0.target) \($0.state.rawValue)" }.sorted()
            #expect(states == ["shop/catalog applied", "shop/payments rolled-back", "shop/search applied"])
            // Rolling back what is already rolled back is refused.
            let id = try #require(try FileJournal(directory: journal).entries().first { $0.target.description == "shop/payments" }?.id)
            let (again, refusal) = await capturingStandardError {
                await trimtab(["rollback", id, "--kubeconfig", kubeconfig, "--journal", journal])
            }
            #expect(again == 1)
            #expect(refusal.contains("is rolled-back; only applied or verified changes can be rolled back"))

            // No secret anywhere: reports, journal, what was printed.
            var everything = errors + refusal + text + dry + (try String(contentsOfFile: json, encoding: .utf8))
            for file in try FileManager.default.contentsOfDirectory(atPath: journal) {
                everything += try String(contentsOfFile: (journal as NSString).appendingPathComponent(file), encoding: .utf8)
            }
            #expect(!everything.contains(Self.token))
            #expect(!everything.contains(Self.password))
            #expect(everything.contains("shop/payments"))
        }
        await sandbox.stop()
    }

    @Test func aForbiddenClusterIsReportedAndChangesNothing() async throws {
        let step = DemoScenario.scrapeInterval
        let end = (alignedNow() / step).rounded(.down) * step
        let sandbox = try await KubeSandbox.start(configuration: .demo)
        try await withTemporaryDirectory { dir in
            let kubeconfig = dir.appendingPathComponent("kubeconfig").path
            try sandbox.kubeconfig(token: KubeSandbox.viewerToken, tokenInServerPath: false).write(toFile: kubeconfig, atomically: true, encoding: .utf8)
            let journal = dir.appendingPathComponent("journal").path
            let markdown = dir.appendingPathComponent("dry.md").path
            let (codes, errors) = try await capturingStandardError {
                try await withPrometheus(DemoScenario.openMetrics(end: end)) { prometheus in
                    let base = ["analyze", "--prometheus", prometheus.url, "--at", "\(Int(end))", "--kubeconfig", kubeconfig, "--journal", journal, "--quiet"]
                    return [await trimtab(base + ["--output", markdown]), await trimtab(base + ["--apply", "--output", dir.appendingPathComponent("apply.md").path])]
                }
            }
            // A dry-run that would be refused is a finding (0); an enforced change refused is an error (4).
            #expect(codes == [0, 4])
            let text = try String(contentsOfFile: markdown, encoding: .utf8)
            #expect(text.contains("would-be-rejected"))
            #expect(text.contains(#"cannot patch resource \"deployments\" in API group \"apps\" in the namespace \"shop\""#) || text.contains(#"cannot patch resource "deployments" in API group "apps""#), "\(text)")
            #expect(errors.contains("missing verb"))
            #expect(!errors.contains(KubeSandbox.viewerToken) && !text.contains(KubeSandbox.viewerToken))
            #expect(env("DB_POOL_SIZE", in: sandbox, of: "payments") == "20")
            #expect(try FileJournal(directory: journal).entries().allSatisfy { $0.state == .notApplied })
        }
        await sandbox.stop()
    }

    @Test func theJournalCanLiveInAConfigMap() async throws {
        let step = DemoScenario.scrapeInterval
        let end = (alignedNow() / step).rounded(.down) * step
        var configuration = KubeSandbox.Configuration.demo
        configuration.grants[Self.token] = .admin(user: "system:serviceaccount:trimtab:trimtab")
        let sandbox = try await KubeSandbox.start(configuration: configuration)
        try await withTemporaryDirectory { dir in
            let kubeconfig = dir.appendingPathComponent("kubeconfig").path
            try sandbox.kubeconfig(token: Self.token, tokenInServerPath: false).write(toFile: kubeconfig, atomically: true, encoding: .utf8)
            let journal = ["--kubeconfig", kubeconfig, "--journal", "configmap:trimtab/trimtab-journal"]
            let code = try await withPrometheus(DemoScenario.openMetrics(end: end)) { prometheus in
                await trimtab(["analyze", "--prometheus", prometheus.url, "--at", "\(Int(end))", "--apply", "--quiet",
                               "--output", dir.appendingPathComponent("apply.md").path] + journal)
            }
            #expect(code == 0)
            let data = sandbox.object(apiVersion: "v1", kind: "ConfigMap", namespace: "trimtab", name: "trimtab-journal")?["data"]?.objectValue ?? [:]
            #expect(data.count == 4)
            #expect(env("CACHE_TTL_SECONDS", in: sandbox, of: "search") == "120")
            #expect(await trimtab(["history"] + journal) == 0)
            #expect(await trimtab(["rollback", "--last", "shop/search"] + journal) == 0)
            #expect(env("CACHE_TTL_SECONDS", in: sandbox, of: "search") == "60")
            #expect(await trimtab(["history", "--journal", "configmap:nonsense"]) == 64)
        }
        await sandbox.stop()
    }

    /// The demo's metrics do not respond to changes, so a change made fifteen minutes earlier (the default policy's verifyAfter) did not help:
    /// the next run judges it against real data and rolls it back, except the scale-in, which did no harm.
    @Test func aChangeThatDidNotHelpIsRolledBackOnTheNextRun() async throws {
        let step = DemoScenario.scrapeInterval
        let end = (alignedNow() / step).rounded(.down) * step
        let sandbox = try await KubeSandbox.start(configuration: .demo)
        try await withTemporaryDirectory { dir in
            let kubeconfig = dir.appendingPathComponent("kubeconfig").path
            try sandbox.kubeconfig(token: KubeSandbox.adminToken, tokenInServerPath: false).write(toFile: kubeconfig, atomically: true, encoding: .utf8)
            let journal = dir.appendingPathComponent("journal").path
            let codes = try await withPrometheus(DemoScenario.openMetrics(end: end)) { prometheus in
                let base = ["analyze", "--prometheus", prometheus.url, "--kubeconfig", kubeconfig, "--journal", journal, "--apply", "--quiet"]
                return [await trimtab(base + ["--at", "\(Int(end - 900))", "--output", dir.appendingPathComponent("first.md").path]),
                        await trimtab(base + ["--at", "\(Int(end))", "--output", dir.appendingPathComponent("second.md").path])]
            }
            #expect(codes == [0, 0])
            let states = Dictionary(uniqueKeysWithValues: try FileJournal(directory: journal).entries().map { ($0.target.description, $0.state) })
            #expect(states == ["shop/checkout": .rolledBack, "shop/payments": .rolledBack, "shop/search": .rolledBack, "shop/catalog": .verified])
            #expect(replicas(in: sandbox, of: "checkout") == 4 && env("DB_POOL_SIZE", in: sandbox, of: "payments") == "20")
            #expect(replicas(in: sandbox, of: "catalog") == 3)
            let second = try String(contentsOfFile: dir.appendingPathComponent("second.md").path, encoding: .utf8)
            // checkout's scale-out protected a fast-burning latency objective; the burn did not ease.
            #expect(second.contains("**rolled-back**, restored 4: verification: latency still burns"), "\(second)")
            // The rollbacks put those knobs in cooldown: the same changes are not proposed again at once.
            #expect(!second.contains("| shop/checkout | replicas | ✅ applied"))
        }
        await sandbox.stop()
    }

    /// Bad cluster input ends cleanly, with every HTTP client shut down (an unclosed one aborts the process).
    @Test func badClusterInputIsAClearErrorAndNothingCrashes() async throws {
        try await withTemporaryDirectory { dir in
            let output = dir.appendingPathComponent("r.md").path
            // A valid kubeconfig, so its client exists when the Prometheus URL is refused.
            let kubeconfig = dir.appendingPathComponent("kubeconfig").path
            try "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters: [{name: k, cluster: {server: 'http://127.0.0.1:1'}}]\ncontexts: [{name: c, context: {cluster: k}}]\n"
                .write(toFile: kubeconfig, atomically: true, encoding: .utf8)
            let (codes, errors) = await capturingStandardError {
                [await trimtab(["analyze", "--prometheus", "http://127.0.0.1:1", "--kubeconfig", dir.appendingPathComponent("nope").path, "--output", output]),
                 await trimtab(["analyze", "--prometheus", "http://127.0.0.1:1", "--apply", "--dry-run", "--output", output]),
                 await trimtab(["analyze", "--prometheus", "not a url", "--kubeconfig", kubeconfig, "--output", output]),
                 await trimtab(["analyze", "--prometheus", "http://127.0.0.1:1", "--journal", "configmap:x", "--output", output])]
            }
            #expect(codes == [1, 64, 1, 64], "\(errors)")
            #expect(errors.contains("could not read the kubeconfig"))
            #expect(!FileManager.default.fileExists(atPath: output))
        }
    }

    @Test func anUnreachableClusterIsReportedWithExitFour() async throws {
        let step = DemoScenario.scrapeInterval
        let end = (alignedNow() / step).rounded(.down) * step
        // Held for the test: a port from FreePort.find() could be handed to the Prometheus started below.
        let reserved = try FreePort.reserveRefusing()
        defer { withExtendedLifetime(reserved) {} }
        try await withTemporaryDirectory { dir in
            let kubeconfig = dir.appendingPathComponent("kubeconfig").path
            try """
            apiVersion: v1
            kind: Config
            current-context: c
            clusters: [{name: k, cluster: {server: "http://127.0.0.1:\(reserved.port)"}}]
            users: [{name: u, user: {token: \(Self.token)}}]
            contexts: [{name: c, context: {cluster: k, user: u}}]
            """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
            let output = dir.appendingPathComponent("r.md").path
            let (code, errors) = try await capturingStandardError {
                try await withPrometheus(DemoScenario.openMetrics(end: end)) { prometheus in
                    await trimtab(["analyze", "--prometheus", prometheus.url, "--at", "\(Int(end))", "--kubeconfig", kubeconfig,
                                   "--journal", dir.appendingPathComponent("journal").path, "--output", output, "--kube-timeout", "3s"])
                }
            }
            #expect(code == 4)
            let text = try String(contentsOfFile: output, encoding: .utf8)
            #expect(text.contains("⛔ could not read the cluster, so nothing was planned against it or changed"))
            #expect(errors.contains("could not reach the API server"))
            #expect(!errors.contains(Self.token) && !text.contains(Self.token))
        }
    }
}
