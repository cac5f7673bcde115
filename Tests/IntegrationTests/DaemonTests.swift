import Foundation
import Testing
import TrimtabCore
import TrimtabKube
import TrimtabKubeSandbox
import TrimtabSandbox
import TrimtabTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A policy for the loop tests: a p95 latency from a client library's Summary, CPU utilization from
/// a recording rule, replicas from kube-state-metrics; scale out when latency is critical and CPU
/// hot. Five-second steps and a 40-second verification, so a test sees a change verified in a minute.
let loopPolicy = """
apiVersion: trimtab/v1
kind: Policy
metadata: {name: loop}
spec:
  mode: enforce
  targets: {namespace: shop, groupBy: [namespace, deployment]}
  evaluation: {step: 5s, lookback: 5m, interval: 2s}
  indicators:
    latency_p95: {query: 'max by ($by) (http_request_duration_seconds{$selector, quantile="0.95"})', unit: seconds}
    cpu_utilization: {query: 'max by ($by) (namespace_deployment:cpu_utilization:ratio{$selector})', unit: ratio}
    replicas: {query: 'max by ($by) (kube_deployment_spec_replicas{$selector})', unit: count}
  checks:
    latency_p95: {worse: higher, warning: 1s, critical: 2s, for: 1m, weight: 3}
    cpu_utilization: {worse: higher, warning: 70%, critical: 90%, for: 1m, weight: 2}
  actions:
    - when: {bottleneck: latency_p95, and: cpu_utilization}
      scale: {min: 2, max: 20, utilizationTarget: 60%}
  safety: {cooldown: 10m, maxChangesPerHour: 6, verifyAfter: 40s}
"""

/// An hour of history up to `start` and ten minutes after it (Prometheus serves backfilled points as
/// their time comes): checkout is CPU-bound with critical latency until `switchAt`, then recovers if
/// `recovers`; cart is healthy throughout.
func loopHistory(start: Double, switchAt: Double, recovers: Bool) -> String {
    func pod(_ name: String) -> String { "\(name)-5c7f8d9b6-k2x7p" }
    let hot: @Sendable (Double) -> Bool = { time in time < switchAt || !recovers }
    let series = [
        SyntheticSeries(name: "http_request_duration_seconds",
                        labels: ["namespace": "shop", "deployment": "checkout", "pod": pod("checkout"), "quantile": "0.95"]) { hot($0) ? 2.6 : 0.3 },
        SyntheticSeries(name: "http_request_duration_seconds",
                        labels: ["namespace": "shop", "deployment": "cart", "pod": pod("cart"), "quantile": "0.95"]) { _ in 0.2 },
        SyntheticSeries(name: "namespace_deployment:cpu_utilization:ratio", labels: ["namespace": "shop", "deployment": "checkout"]) { hot($0) ? 0.95 : 0.5 },
        SyntheticSeries(name: "namespace_deployment:cpu_utilization:ratio", labels: ["namespace": "shop", "deployment": "cart"]) { _ in 0.4 },
        SyntheticSeries(name: "kube_deployment_spec_replicas", labels: ["namespace": "shop", "deployment": "checkout"]) { _ in 4 },
        SyntheticSeries(name: "kube_deployment_spec_replicas", labels: ["namespace": "shop", "deployment": "cart"]) { _ in 2 },
    ]
    return OpenMetricsWriter.write(series, start: start - 3600, end: start + 600, step: 5)
}

/// A running loop test: Prometheus with the loop history, the sandbox API server with the demo's
/// workloads, a kubeconfig, a policy directory and a journal in a temporary directory.
struct LoopWorld {
    let prometheus: PrometheusSandbox
    let cluster: KubeSandbox
    let dir: URL
    let start: Double
    let recovers: Bool

    /// How far ahead of setting up a recovering world's `start` lies.
    static let setupAllowance = 75.0

    var kubeconfig: String { dir.appendingPathComponent("kubeconfig").path }
    var policyDirectory: String { dir.appendingPathComponent("policy").path }
    var journal: String { dir.appendingPathComponent("journal").path }

    /// With `access`, the kubeconfig holds that token, granted that; else the admin's. `objects` are
    /// stored beside the demo's workloads.
    static func with<T>(recovers: Bool, switchAfter: Double = 30, access: (token: String, grant: Grant)? = nil, objects: [JSONValue] = [],
                        _ body: (LoopWorld) async throws -> T) async throws -> T {
        // A world that recovers turns at `start + switchAfter`, and the daemon must first act while it is
        // still hot: `start` lies ahead by more than setting up takes, and the daemon starts at `start`
        // (see `waitForStart`), so a slow, loaded machine shifts nothing (it once took longer than the
        // whole 30 s to start Prometheus, and the daemon first saw the world already recovered; with
        // the live-knob suites' JVMs and PostgreSQL beside it, the 30 s allowed was once not enough).
        let start = (Date().timeIntervalSince1970 / 5).rounded(.down) * 5 + (recovers ? Self.setupAllowance : 0)
        return try await withTemporaryDirectory { dir in
            let prometheus = try await PrometheusSandbox.start(openMetrics: loopHistory(start: start, switchAt: start + switchAfter, recovers: recovers))
            var configuration = KubeSandbox.Configuration.demo
            configuration.objects += objects
            if let access { configuration.grants[access.token] = access.grant }
            let cluster = try await KubeSandbox.start(configuration: configuration)
            let world = LoopWorld(prometheus: prometheus, cluster: cluster, dir: dir, start: start, recovers: recovers)
            do {
                try cluster.kubeconfig(token: access?.token ?? KubeSandbox.adminToken, tokenInServerPath: false)
                    .write(toFile: world.kubeconfig, atomically: true, encoding: .utf8)
                try FileManager.default.createDirectory(atPath: world.policyDirectory, withIntermediateDirectories: true)
                try loopPolicy.write(toFile: world.policyDirectory + "/loop.yaml", atomically: true, encoding: .utf8)
                let result = try await body(world)
                prometheus.stop()
                await cluster.stop()
                return result
            } catch {
                prometheus.stop()
                await cluster.stop()
                throw error
            }
        }
    }

    /// `trimtab run` on this world with a directory journal, plus `extra` flags.
    func arguments(_ extra: [String] = [], journal: String? = nil) -> [String] {
        ["--prometheus", prometheus.url, "--kubeconfig", kubeconfig, "--journal", journal ?? self.journal, "--policy", policyDirectory] + extra
    }

    func daemon(_ extra: [String] = [], journal: String? = nil, name: String = "daemon") async throws -> DaemonProcess {
        await waitForStart()
        return try await DaemonProcess.start(arguments(extra, journal: journal), log: dir.appendingPathComponent("\(name).log"))
    }

    /// Waits until `start`, when a daemon should begin: at once when setting up took longer.
    func waitForStart() async {
        while Date().timeIntervalSince1970 < start { try? await Task.sleep(for: .milliseconds(100)) }
    }

    var replicas: Int? { IntegrationTests.replicas(in: cluster, of: "checkout") }

    /// Writes that landed (not dry-run) on the scale of checkout.
    var scaleWrites: [RecordedRequest] {
        cluster.requests.filter { $0.method == "PUT" && $0.path.hasSuffix("/deployments/checkout/scale") && !$0.query.contains("dryRun") && ($0.status ?? 0) < 300 }
    }

    /// The journal entries in the directory journal.
    func entries() throws -> [JournalEntry] { try FileJournal(directory: journal).entries() }
}


@Suite("trimtab run: the loop against a real Prometheus and the sandbox API server")
struct DaemonTests {
    /// Found at 20,000 workloads (benchmarks/README.md): a whole read takes longer than the interval,
    /// and cut at one interval it failed every cycle, each failure making the next read whole again.
    @Test func aFirstReadSlowerThanTheIntervalStillCompletes() async throws {
        try await LoopWorld.with(recovers: false) { world in
            let proxy = try await FaultProxy(upstream: world.prometheus.url)
            // Every query of the first cycle answers after 3 s; the interval is 2 s.
            for _ in 0..<3 { proxy.inject(.delay(3), matching: "query=") }
            var arguments = world.arguments(["--max-cycles", "2"])
            arguments[arguments.firstIndex(of: world.prometheus.url)!] = proxy.url
            let daemon = try await DaemonProcess.start(arguments, log: world.dir.appendingPathComponent("slow.log"))
            #expect(await daemon.waitForExit(seconds: 60) == 0)
            #expect(proxy.pendingFaults == 0)
            #expect(daemon.cycles.first?["outcome"] as? String == "complete", "\(daemon.text.suffix(3000))")
            #expect(daemon.cycles.count == 2)
            await proxy.stop()
        }
    }

    @Test func aSustainedBreachIsActedOnAndVerifiedOnTime() async throws {
        try await LoopWorld.with(recovers: true) { world in
            let daemon = try await world.daemon(["--status-token-file", world.dir.appendingPathComponent("token").path])
            try "status-t0ken-5e2b\n".write(to: world.dir.appendingPathComponent("token"), atomically: true, encoding: .utf8)
            let verified = await daemon.waitFor(seconds: 120) { ($0["message"] as? String)?.contains(" verified: shop/checkout replicas") == true }
            #expect(verified != nil, "\(daemon.text.suffix(3000))")
            // Scaled out once, by the first cycle that saw the breach, and kept.
            #expect((world.replicas ?? 0) > 4, "replicas \(world.replicas ?? 0)")
            #expect(world.scaleWrites.count == 1)
            let entries = try world.entries()
            #expect(entries.count == 1)
            #expect(entries.first?.state == .verified)
            // On time: judged by the first cycle at or after appliedAt + verifyAfter, not a later run.
            let entry = try #require(entries.first)
            let applied = try #require(entry.appliedAt)
            #expect(entry.updatedAt >= applied + 40)
            #expect(entry.updatedAt <= applied + 40 + 15, "verified at \(entry.updatedAt - applied) s after the change")
            // The endpoints.
            #expect(try await daemon.get("/healthz").status == 200)
            #expect(try await daemon.get("/readyz").status == 200)
            let metrics = try await daemon.get("/metrics").body
            #expect(metricValue(metrics, "trimtab_actions_total", labels: #"kind="replicas",outcome="applied""#) == 1)
            #expect(metricValue(metrics, "trimtab_verifications_total", labels: #"result="kept""#) == 1)
            #expect(metricValue(metrics, "trimtab_leader") == 1)
            #expect(metricValue(metrics, "trimtab_target_health_score", labels: #"namespace="shop",deployment="cart""#) == 100)
            #expect((metricValue(metrics, "trimtab_cycles_total", labels: #"outcome="complete""#) ?? 0) >= 3)
            #expect(try await daemon.get("/api/v1/status").status == 401)
            #expect(try await daemon.get("/api/v1/status", token: "wrong").status == 401)
            let status = try await daemon.get("/api/v1/status", token: "status-t0ken-5e2b")
            #expect(status.status == 200)
            let document = try JSONSerialization.jsonObject(with: Data(status.body.utf8)) as? [String: Any]
            #expect(document?["leader"] as? Bool == true)
            #expect(document?["policy"] as? String == "loop")
            #expect((document?["recentJournal"] as? [[String: Any]])?.first?["state"] as? String == "verified")
            #expect((document?["targets"] as? [[String: Any]])?.count == 2)
            #expect(((document?["lastCycle"] as? [String: Any])?["wholeReads"] as? Int) == 0)
            // Every later cycle read only the new points.
            let cycles = daemon.cycles
            #expect(cycles.first?["whole_reads"] as? String == "3")
            #expect(cycles.dropFirst().allSatisfy { $0["whole_reads"] as? String == "0" })
            // SIGTERM: the cycle in progress finishes, the lead is released, exit 0.
            daemon.kill(SIGTERM)
            #expect(await daemon.waitForExit(seconds: 30) == 0)
            #expect(daemon.lines.contains { $0["message"] as? String == "leadership released" })
            // No secret in the log.
            #expect(!daemon.text.contains("status-t0ken-5e2b") && !daemon.text.contains(KubeSandbox.adminToken))
        }
    }

    @Test func aChangeThatDidNotHelpIsRolledBack() async throws {
        try await LoopWorld.with(recovers: false) { world in
            let daemon = try await world.daemon()
            let rolledBack = await daemon.waitFor(seconds: 120) { ($0["message"] as? String)?.contains(" rolled-back: shop/checkout replicas") == true }
            #expect(rolledBack != nil, "\(daemon.text.suffix(3000))")
            #expect(world.replicas == 4)
            let entries = try world.entries()
            #expect(entries.count == 1)
            #expect(entries.first?.state == .rolledBack)
            let events = world.cluster.store.objects(apiVersion: "v1", kind: "Event", namespace: "shop").compactMap { $0["reason"]?.stringValue }
            #expect(events.contains("TrimtabChanged") && events.contains("TrimtabRolledBack"))
            let metrics = try await daemon.get("/metrics").body
            #expect(metricValue(metrics, "trimtab_rollbacks_total") == 1)
            // The rollback starts a cooldown: nothing is scaled again.
            #expect(await daemon.waitForCycles(daemon.cycles.count + 3, seconds: 30))
            #expect(world.scaleWrites.count == 2)
            await daemon.stop()
        }
    }

    @Test func sigtermDuringAWriteFinishesTheChangeBeforeExiting() async throws {
        try await LoopWorld.with(recovers: false) { world in
            // The scale write takes ten seconds; SIGTERM arrives while it is in flight (long enough
            // that a loaded machine's test sees the begun entry in time: five seconds once was not).
            world.cluster.inject(Fault(method: "PUT", pathContaining: "/deployments/checkout/scale", .latency(.seconds(10))))
            let daemon = try await world.daemon()
            var begun = false
            let deadline = Date().addingTimeInterval(60)
            while !begun && Date() < deadline {
                begun = ((try? world.entries()) ?? []).contains { $0.state == .begun }
                if !begun { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(begun, "\(daemon.text.suffix(2000))")
            // The sandbox logs a request when it answers it, after the latency: none yet means in flight.
            let answeredBeforeTheSignal = world.scaleWrites.count
            daemon.kill(SIGTERM)
            #expect(answeredBeforeTheSignal == 0, "the write was answered before SIGTERM; the test saw the journal too late")
            #expect(await daemon.waitForExit(seconds: 60) == 0)
            // It waited for the write in flight instead of dying in the middle of it: the write was
            // answered after the signal (an ordering, not a duration, so a loaded machine cannot fail it).
            #expect(world.scaleWrites.count == 1)
            // Nothing half-applied: the change landed and its entry says so, with its Event.
            let entries = try world.entries()
            #expect(entries.count == 1)
            #expect(entries.first?.state == .applied)
            #expect((world.replicas ?? 0) > 4, "replicas \(world.replicas ?? 0)")
            #expect(world.cluster.store.objects(apiVersion: "v1", kind: "Event", namespace: "shop").contains { $0["reason"]?.stringValue == "TrimtabChanged" })
            #expect(daemon.lines.contains { ($0["message"] as? String)?.hasPrefix("trimtab run stopping") == true })
        }
    }

    @Test func aPausedDaemonActsOnlyWhenUnpausedAndABadPolicyIsRefused() async throws {
        try await LoopWorld.with(recovers: false) { world in
            let client = try KubeClient(KubeConfiguration(server: world.cluster.url, token: KubeSandbox.adminToken))
            // The kill switch: an annotation on a ConfigMap an operator can `kubectl annotate`.
            _ = try await client.create(.configMaps, namespace: "shop", body: [
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": ["name": "trimtab-policy", "namespace": "shop", "annotations": ["trimtab.io/paused": "true"]],
            ])
            let daemon = try await world.daemon(["--kill-switch", "configmap:shop/trimtab-policy"])
            #expect(await daemon.waitForCycles(3, seconds: 60))
            #expect(world.scaleWrites.isEmpty)
            let status = try JSONSerialization.jsonObject(with: Data(try await daemon.get("/api/v1/status").body.utf8)) as? [String: Any]
            #expect(status?["paused"] as? Bool == true)
            #expect((status?["pausedBy"] as? [String])?.first?.contains("configmap/trimtab-policy") == true)
            #expect(metricValue(try await daemon.get("/metrics").body, "trimtab_paused") == 1)

            // A broken policy pushed while running is refused; the loaded one keeps running.
            try "apiVersion: trimtab/v1\nkind: Policy\nspec:\n  checks: [oops\n".write(toFile: world.policyDirectory + "/loop.yaml", atomically: true, encoding: .utf8)
            let refused = await daemon.waitFor(seconds: 30) { ($0["message"] as? String)?.hasPrefix("the changed policy is refused") == true }
            #expect(refused?["errors"] as? String != nil, "\(daemon.text.suffix(2000))")
            #expect((refused?["errors"] as? String)?.contains("loop.yaml:5:1: error: invalid YAML") == true, "\(refused?["errors"] ?? "")")
            let metrics = try await daemon.get("/metrics").body
            #expect(metricValue(metrics, "trimtab_policy_reloads_total", labels: #"result="failure""#) == 1)
            #expect(metricValue(metrics, "trimtab_policy_refused") == 1)

            // Unpaused: it acts, on the policy loaded before the broken one.
            _ = try await client.patch(.configMaps, namespace: "shop", name: "trimtab-policy", .merge,
                                       body: ["metadata": ["annotations": ["trimtab.io/paused": NSNull()]]], dryRun: false)
            let applied = await daemon.waitFor(seconds: 30) { ($0["message"] as? String)?.hasPrefix("applied: shop/checkout replicas") == true }
            #expect(applied != nil, "\(daemon.text.suffix(2000))")
            #expect((world.replicas ?? 0) > 4, "replicas \(world.replicas ?? 0)")

            // A good policy is taken in, and read afresh.
            try loopPolicy.replacingOccurrences(of: "name: loop}", with: "name: loop-2}")
                .write(toFile: world.policyDirectory + "/loop.yaml", atomically: true, encoding: .utf8)
            let reloaded = await daemon.waitFor(seconds: 30) { $0["message"] as? String == "policy reloaded" }
            #expect(reloaded?["policy"] as? String == "loop-2")
            #expect(metricValue(try await daemon.get("/metrics").body, "trimtab_policy_refused") == 0)
            // The first cycle after the reload (which the reload line starts) reads every window whole.
            let afterReload = await daemon.waitFor(seconds: 30) { line in
                guard let time = line["time"] as? String, let reloadedAt = reloaded?["time"] as? String else { return false }
                return line["outcome"] != nil && time >= reloadedAt
            }
            #expect(afterReload?["whole_reads"] as? String == "3")
            await daemon.stop()
            await client.shutdown()
        }
    }

    @Test func twoTeamsPoliciesRunInOneLoopAndAPausedOneChangesNothing() async throws {
        try await LoopWorld.with(recovers: false) { world in
            // The loop policy split in two: checkout's team acts, cart's is paused by its own spec.paused.
            let checkoutTeam = loopPolicy.replacingOccurrences(of: "name: loop}", with: "name: checkout-team}")
                .replacingOccurrences(of: "targets: {namespace: shop,", with: "targets: {namespace: shop, matchLabels: {deployment: checkout},")
            let cartTeam = loopPolicy.replacingOccurrences(of: "name: loop}", with: "name: cart-team}")
                .replacingOccurrences(of: "targets: {namespace: shop,", with: "targets: {namespaces: [shop], matchLabels: {deployment: cart},")
                .replacingOccurrences(of: "  mode: enforce\n", with: "  mode: enforce\n  paused: true\n")
            #expect(checkoutTeam != loopPolicy && cartTeam.contains("paused: true"))
            try FileManager.default.removeItem(atPath: world.policyDirectory + "/loop.yaml")
            try checkoutTeam.write(toFile: world.policyDirectory + "/checkout.yaml", atomically: true, encoding: .utf8)
            try cartTeam.write(toFile: world.policyDirectory + "/cart.yaml", atomically: true, encoding: .utf8)
            let daemon = try await world.daemon()
            let applied = await daemon.waitFor(seconds: 60) { ($0["message"] as? String)?.hasPrefix("applied: shop/checkout replicas") == true }
            #expect(applied != nil, "\(daemon.text.suffix(3000))")
            #expect(await daemon.waitForCycles(3, seconds: 60))
            let status = try JSONSerialization.jsonObject(with: Data(try await daemon.get("/api/v1/status").body.utf8)) as? [String: Any]
            #expect(status?["policy"] as? String == "cart-team, checkout-team")
            #expect((status?["pausedBy"] as? [String]) == ["policy cart-team says spec.paused: true"])
            let targets = (status?["targets"] as? [[String: Any]])?.compactMap { $0["policy"] as? String }.sorted()
            #expect(targets == ["cart-team", "checkout-team"], "\(status ?? [:])")
            // Only the paused team is paused; the gauge says whether everything is.
            #expect(metricValue(try await daemon.get("/metrics").body, "trimtab_paused") == 0)
            let entries = try world.entries()
            #expect(entries.map { "\($0.policy ?? "") \($0.target)" } == ["checkout-team shop/checkout"], "\(entries)")
            // Each policy keeps its own windows: after the first cycle, both read only new points.
            let cycles = daemon.cycles
            #expect(cycles.first?["whole_reads"] as? String == "6")
            #expect(cycles.dropFirst().allSatisfy { $0["whole_reads"] as? String == "0" }, "\(cycles)")
            await daemon.stop()
        }
    }

    @Test func anAPIServerOutageStopsEveryActionUntilItReturns() async throws {
        try await LoopWorld.with(recovers: false) { world in
            // Every read of the workloads fails with 500 until the fault is cleared.
            world.cluster.inject(Fault(method: "GET", pathContaining: "/deployments", .status(500), count: 100_000))
            let daemon = try await world.daemon()
            let failed = await daemon.waitFor(seconds: 60) { $0["outcome"] as? String == "cluster-failed" }
            #expect(failed != nil, "\(daemon.text.suffix(2000))")
            let ready = try await daemon.get("/readyz")
            #expect(ready.status == 503 && ready.body.contains("could not read the API server"), "\(ready.body)")
            #expect(world.cluster.requests.allSatisfy { $0.method == "GET" || $0.path.contains("/leases/") || ($0.status ?? 0) >= 300 })
            #expect(world.scaleWrites.isEmpty)
            #expect(daemon.lines.contains { $0["message"] as? String == "backing off after a failed cycle" })
            world.cluster.clearFaults()
            let applied = await daemon.waitFor(seconds: 60) { ($0["message"] as? String)?.hasPrefix("applied: shop/checkout replicas") == true }
            #expect(applied != nil, "\(daemon.text.suffix(2000))")
            #expect(world.scaleWrites.count == 1)
            #expect(try await daemon.get("/readyz").status == 200)
            await daemon.stop()
        }
    }

    @Test func aPrometheusOutageStopsEveryActionUntilItReturns() async throws {
        try await LoopWorld.with(recovers: true, switchAfter: 20) { world in
            let daemon = try await world.daemon()
            let applied = await daemon.waitFor(seconds: 60) { ($0["message"] as? String)?.hasPrefix("applied: shop/checkout replicas") == true }
            #expect(applied != nil, "\(daemon.text.suffix(2000))")
            world.prometheus.pause()
            world.cluster.clearRequests()
            let failed = await daemon.waitFor(seconds: 30) { $0["outcome"] as? String == "metrics-failed" }
            #expect(failed != nil)
            #expect(try await daemon.get("/readyz").status == 503)
            let status = try JSONSerialization.jsonObject(with: Data(try await daemon.get("/api/v1/status").body.utf8)) as? [String: Any]
            #expect(status?["score"] == nil && status?["status"] as? String == "unknown")
            // Down past the change's verification time: it is not judged on missing data.
            while Date().timeIntervalSince1970 < world.start + 50 { try await Task.sleep(for: .milliseconds(200)) }
            #expect(world.cluster.requests.allSatisfy { $0.method == "GET" }, "\(world.cluster.requests.filter { $0.method != "GET" }.map(\.path))")
            #expect(try world.entries().first?.state == .applied)
            try await world.prometheus.resume()
            // Back: the first cycle reads every window whole, /readyz passes, and the change is verified.
            let back = await daemon.waitFor(seconds: 60) { line in
                line["outcome"] as? String == "complete" && (line["cycle"] as? String).flatMap(Int.init) ?? 0 > (failed?["cycle"] as? String).flatMap(Int.init) ?? 0
            }
            #expect(back?["whole_reads"] as? String == "3", "\(daemon.text.suffix(2000))")
            #expect(try await daemon.get("/readyz").status == 200)
            let verified = await daemon.waitFor(seconds: 30) { ($0["message"] as? String)?.contains(" verified: shop/checkout replicas") == true }
            #expect(verified != nil)
            #expect(daemon.lines.contains { $0["message"] as? String == "backing off after a failed cycle" })
            await daemon.stop()
        }
    }
}

@Suite("trimtab run: two replicas on one journal")
struct TwoDaemonTests {
    @Test func onlyTheLeaderActsAndTheOtherTakesOverWhenItIsKilled() async throws {
        try await LoopWorld.with(recovers: false) { world in
            // This test is about who writes, not whether a change helped: verification waits past its end,
            // or a loaded machine reaches it and the rollback is a second (legitimate) scale write.
            try loopPolicy.replacingOccurrences(of: "verifyAfter: 40s", with: "verifyAfter: 10m")
                .write(toFile: world.policyDirectory + "/loop.yaml", atomically: true, encoding: .utf8)
            let journal = "configmap:shop/trimtab-journal"
            let a = try await world.daemon(["--identity", "daemon-a"], journal: journal, name: "a")
            #expect(await a.waitFor(seconds: 30) { $0["message"] as? String == "became the leader: this process now acts on the cluster" } != nil)
            let b = try await world.daemon(["--identity", "daemon-b"], journal: journal, name: "b")
            #expect(await b.waitForCycles(3, seconds: 60))
            #expect(await a.waitFor(seconds: 30) { ($0["message"] as? String)?.hasPrefix("applied: shop/checkout replicas") == true } != nil)
            // Only the leader acted; the follower assesses and plans in dry-run, and knows who leads.
            #expect(world.scaleWrites.count == 1)
            #expect(b.cycles.allSatisfy { $0["mode"] as? String == "dry-run" })
            #expect(!b.lines.contains { ($0["message"] as? String)?.hasPrefix("applied:") == true })
            #expect(metricValue(try await b.get("/metrics").body, "trimtab_leader") == 0)
            #expect(metricValue(try await a.get("/metrics").body, "trimtab_leader") == 1)
            let status = try JSONSerialization.jsonObject(with: Data(try await b.get("/api/v1/status").body.utf8)) as? [String: Any]
            #expect(status?["leader"] as? Bool == false)
            #expect(status?["leaderIdentity"] as? String == "daemon-a")
            #expect(status?["score"] as? Double != nil)

            // A one-shot analyze --apply takes the same Lease, so it changes nothing while a daemon leads.
            let (code, errors) = await capturingStandardError {
                await trimtab(["analyze", "--prometheus", world.prometheus.url, "--kubeconfig", world.kubeconfig, "--journal", journal,
                               "--policy", world.policyDirectory, "--apply", "--quiet", "--output", world.dir.appendingPathComponent("one-shot.md").path])
            }
            #expect(code == 4, "\(errors)")
            #expect(errors.contains("daemon-a"), "\(errors)")

            // SIGKILL the leader: it cannot release the Lease; the follower takes it once it expires.
            let killed = Date()
            a.kill(SIGKILL)
            _ = await a.waitForExit(seconds: 10)
            let took = await b.waitFor(seconds: 40) { $0["message"] as? String == "became the leader: this process now acts on the cluster" }
            let seconds = (took?["time"] as? String).flatMap { ISO8601DateFormatter.withFractions.date(from: $0) }?.timeIntervalSince(killed)
            print("leader takeover after SIGKILL: \(seconds.map { String(format: "%.1f", $0) } ?? "never") s (lease 15 s, retry 2 s)")
            #expect(seconds != nil && seconds! <= 15 + 2 + 2, "\(b.text.suffix(2000))")
            // The new leader runs enforced cycles and applies nothing twice: the change is in the journal.
            let enforced = b.cycles.filter { $0["mode"] as? String == "enforce" }.count
            #expect(await b.waitFor(seconds: 30) { _ in b.cycles.filter { $0["mode"] as? String == "enforce" }.count >= enforced + 3 } != nil)
            #expect(world.scaleWrites.count == 1)
            let client = try KubeClient(KubeConfiguration(server: world.cluster.url, token: KubeSandbox.adminToken))
            let entries = try await ConfigMapJournal(client: client, namespace: "shop", name: "trimtab-journal").entries()
            #expect(entries.count == 1 && entries.first?.knob == .replicas && entries.first?.state == .applied)
            await client.shutdown()
            await b.stop()
        }
    }
}

extension ISO8601DateFormatter {
    static var withFractions: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
