import ArgumentParser
import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import TrimtabCore
import TrimtabCycle
import TrimtabDaemon
import TrimtabKube
import TrimtabKubeSandbox
import TrimtabPrometheus
import TrimtabSandbox
import TrimtabSim

/// `trimtab demo --live`: a world that answers. The simulated service `shop/checkout` runs behind the
/// sandbox API server (its replicas, pool size and TTL are the Deployment's), serves its metrics in
/// stock shapes to the real Prometheus (with deploy/prometheus/rules.yaml), and `trimtab run` steers
/// it in enforce mode while a load spike arrives.
struct LiveDemo {
    var seconds: Double
    var spikeAt: Double
    var outputDirectory: String
    var listen: String
    var check: Bool

    static let namespace = "shop", name = "checkout"

    /// checkout: one core per pod (requested and limit), 10 ms of CPU a request, so four pods serve
    /// 400 requests a second flat out; 60 req/s until the spike, then 400.
    static func service(start: Double, spikeAt: Double) -> ServiceSpec {
        var spec = ServiceSpec(name: name, load: LoadTrace(name: "spike", points: [(start, 60), (start + spikeAt, 60), (start + spikeAt + 10, 400),
                                                                                  (start + 365 * 86_400, 400)]))
        spec.namespace = namespace
        spec.cpuRequestCores = 1
        spec.cpuLimitCores = 1
        spec.readyDelay = 10
        spec.keys = 2_000
        spec.ttl = 300
        spec.replicas = 4
        spec.poolSize = 10
        return spec
    }

    /// The default policy, in enforce mode, with one-minute rate windows and `for`s, a 5 s step and
    /// a 10 s interval, so the demo runs in minutes rather than the hour the production windows take.
    static func policy() throws -> Policy {
        let fast = DefaultPolicy.yaml.replacingOccurrences(of: "[5m]", with: "[1m]")
        let overlay = """
        apiVersion: trimtab/v1
        kind: Policy
        metadata: {name: default}
        spec:
          mode: enforce
          evaluation: {step: 5s, lookback: 5m, interval: 10s}
          checks:
            latency_p95: {for: 1m}
            error_ratio: {for: 1m}
            cpu_utilization: {for: 1m}
            memory_utilization: {for: 1m}
            pool_utilization: {for: 1m}
            cache_hit_ratio: {for: 5m}
          safety: {cooldown: 2m, verifyAfter: 2m}
        """
        do {
            return try PolicyLoader.load([.init(file: DefaultPolicy.file + ", 1m windows", text: fast), .init(file: "live demo overlay", text: overlay)])
        } catch {
            throw ValidationError("the live demo's policy does not load: \(error)")
        }
    }

    /// The Deployment the sandbox holds for a simulated service.
    static func deployment(_ spec: ServiceSpec) -> JSONValue {
        let labels: JSONValue = ["app": .string(spec.name)]
        let container: JSONValue = [
            "name": "app", "image": .string("registry.example.com/shop/\(spec.name):1.4.2"),
            "env": [["name": "DB_POOL_SIZE", "value": .string(String(spec.poolSize))],
                    ["name": "CACHE_TTL_SECONDS", "value": .string(String(Int(spec.ttl)))]],
            "resources": ["requests": ["cpu": .string(String(spec.cpuRequestCores)), "memory": "256Mi"], "limits": ["memory": "512Mi"]],
        ]
        return [
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": ["name": .string(spec.name), "namespace": .string(spec.namespace), "labels": labels],
            "spec": ["replicas": .number(Double(spec.replicas)), "selector": ["matchLabels": labels],
                     "template": ["metadata": ["labels": labels], "spec": ["containers": [container]]]],
        ]
    }

    /// What the Deployment holds now: replicas, and the pool and TTL of its pod template.
    static func settings(of object: JSONValue?) -> (replicas: Int, pool: Int, ttl: Double)? {
        guard let object, let replicas = object[path: ["spec", "replicas"]]?.intValue,
              let env = object[path: ["spec", "template", "spec", "containers"]]?[0]?["env"]?.arrayValue else { return nil }
        func value(_ key: String) -> Double? {
            env.first { $0["name"]?.stringValue == key }?["value"]?.stringValue.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        }
        guard let pool = value("DB_POOL_SIZE"), let ttl = value("CACHE_TTL_SECONDS") else { return nil }
        return (replicas, Int(pool), ttl)
    }

    static func prometheusConfiguration(metricsPort: Int) -> String {
        func job(_ name: String, _ path: String) -> String {
            """
              - job_name: \(name)
                honor_labels: true
                metrics_path: \(path)
                static_configs: [{targets: ['127.0.0.1:\(metricsPort)']}]

            """
        }
        return "global: {scrape_interval: 5s, evaluation_interval: 5s}\nrule_files: [rules.yaml]\nscrape_configs:\n"
            + job("kube-state-metrics", "/metrics/kube-state-metrics") + job("kubelet", "/metrics/cadvisor") + job("shop", "/metrics/app")
    }

    /// The recording rules deploy/ ships, as Prometheus loads them; from the working directory.
    static func recordingRules() throws -> String {
        let path = "deploy/prometheus/rules.yaml"
        do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ValidationError("the live demo loads the recording rules from \(path) in the working directory (run it from the repository, as scripts/demo does): \(error.localizedDescription)")
        }
    }

    /// Runs the demo; returns whether its checks held (always true without `check`).
    func run() async throws -> Bool {
        let policy = try Self.policy()
        let rules = try Self.recordingRules()
        let start = SystemClock().now()
        let spec = Self.service(start: start, spikeAt: spikeAt)
        let world = NIOLockedValueBox(SimCluster(services: [spec], databases: [DatabaseSpec()], start: start))

        // The simulated service's metrics, on one port, a path per exporter.
        let router = Router()
        router.get("/metrics/kube-state-metrics") { _, _ in world.withLockedValue { StockExposition.kubeStateMetrics($0) } }
        router.get("/metrics/cadvisor") { _, _ in world.withLockedValue { StockExposition.cadvisor($0) } }
        router.get("/metrics/app") { _, _ in world.withLockedValue { StockExposition.application($0) } }
        let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "trimtab-sim"),
                              onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) },
                              logger: Logger(label: "trimtab.sim", factory: { _ in SwiftLogNoOpLogHandler() }))
        let server = Task { try await app.runService() }
        var metricsPort = 0
        for await port in portStream { metricsPort = port; break }
        defer { server.cancel() }
        printError("the simulated service \(Self.namespace)/\(Self.name) serves its metrics at http://127.0.0.1:\(metricsPort)/metrics/{kube-state-metrics,cadvisor,app}")

        let prometheus: PrometheusSandbox
        do {
            prometheus = try await PrometheusSandbox.startScraping(configuration: Self.prometheusConfiguration(metricsPort: metricsPort),
                                                                   files: ["rules.yaml": rules], log: { printError($0) })
        } catch {
            printError("error: \(error)")
            throw TrimtabExit.metricsUnavailable
        }
        defer { prometheus.stop() }
        let cluster = try await KubeSandbox.start(configuration: .init(objects: [Self.deployment(spec)]))
        let kubeconfig = ".demo/live.kubeconfig", kubectlConfig = ".demo/live-kubectl.kubeconfig", journal = ".demo/live-journal"
        try KubeSandboxCommand.writeKubeconfigs(for: cluster, trimtab: kubeconfig, kubectl: kubectlConfig)
        try? FileManager.default.removeItem(atPath: journal)
        printError("started the sandbox API server at \(cluster.url) with deployment/\(Self.name) in namespace \(Self.namespace) (kubectl --kubeconfig \(kubectlConfig) get deploy -n \(Self.namespace))")

        // The world moves on with the wall clock, and follows what the Deployment holds.
        let stepper = Task {
            var lastLine = start
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                let now = SystemClock().now()
                let held = Self.settings(of: cluster.object(apiVersion: "apps/v1", kind: "Deployment", namespace: Self.namespace, name: Self.name))
                let line = world.withLockedValue { sim -> String? in
                    if let held {
                        sim.update(Self.name) { $0.replicas = held.replicas; $0.poolSize = held.pool; $0.ttl = held.ttl }
                    }
                    while sim.time < now - 0.5 { sim.step(min(1, now - sim.time)) }
                    guard now - lastLine >= 15, let service = sim.services.first else { return nil }
                    let ready = service.pods.filter { $0.isReady(at: sim.time) }.count
                    return "[sim +\(Int(now - start))s] load \(Int(service.spec.load.rate(at: sim.time))) req/s · replicas \(service.settings.replicas) (\(ready) ready) · pool \(service.settings.poolSize) · TTL \(Int(service.settings.ttl)) s"
                }
                if let line { printError(line); lastLine = now }
            }
        }
        defer { stepper.cancel() }
        printError("load: 60 req/s now, 400 req/s from +\(Int(spikeAt))s (four pods serve 400 flat out); trimtab run steers for \(Int(seconds))s")

        // trimtab run, enforcing, against the real Prometheus and the sandbox API server.
        let kube = try KubeClient(try KubeConfiguration.load(kubeconfigAt: kubeconfig))
        let client = try PrometheusClient(PrometheusConfiguration(url: prometheus.url))
        let endpoints = HTTPEndpointClient()
        var settings = DaemonSettings(identity: "live-demo-\(getpid())")
        settings.modeOverride = .enforce
        settings.maxCycles = Int(seconds / policy.evaluation.intervalSeconds)
        settings.firstCycleJitter = false
        let address: (host: String, port: Int)
        do { address = try StatusServer.parseListen(listen) } catch { throw ValidationError("\(error)") }
        do {
            try await Daemon.run(settings: settings, policy: policy, source: client, cluster: KubeCluster(client: kube, http: endpoints, journal: FileJournal(directory: journal)),
                                 listen: address, statusTokenFile: nil, logger: Logger.trimtab(format: .text, level: .info)) { port in
                FileHandle.standardOutput.write(Data("trimtab run is steering (enforce, every 10s): curl -s http://127.0.0.1:\(port)/api/v1/status | jq .score\n".utf8))
            }
        } catch {
            await kube.shutdown(); await client.shutdown(); await endpoints.shutdown(); await cluster.stop()
            throw error
        }
        await kube.shutdown()
        await endpoints.shutdown()

        // The report over the demo: the score over time, what was found, what changed.
        let end = EvaluationTime.onGrid(SystemClock().now(), step: policy.evaluation.stepSeconds)
        let (period, _) = await ReportCommand.build(policy: policy, source: client, period: ReportPeriod(start: start, end: end))
        await client.shutdown()
        await cluster.stop()
        let path = (outputDirectory as NSString).appendingPathComponent("live-demo-report.md")
        try AnalysisRun.write(PeriodMarkdown.render(period), to: path)
        let entries = (try? FileJournal(directory: journal).entries()) ?? []
        print("\nwhat trimtab run did (journal \(journal)):")
        for entry in entries.sorted(by: { $0.createdAt < $1.createdAt }) {
            print("  \(entry.target) \(entry.knob): \(entry.before ?? "nothing") → \(entry.after), \(entry.state.rawValue): \(entry.reason)")
            if let last = entry.notes.last, entry.state != .applied { print("    \(last)") }
        }
        let scores = period.scores.compactMap { point in point.score.map { (point.time, $0) } }
        print("score over the demo: " + scores.enumerated().filter { $0.offset % max(1, scores.count / 12) == 0 || $0.offset == scores.count - 1 }
            .map { "+\(Int($0.element.0 - start))s \(Int($0.element.1.rounded()))" }.joined(separator: " · "))
        print("period report: \(path)")
        guard check else { return true }
        return Self.verdict(entries: entries, scores: scores.map(\.1))
    }

    /// The short form's assertions: the right action (a scale-out of checkout, with its reason) was
    /// applied and verified, the score fell below 80 during the spike, and it recovered to 80 or more.
    static func verdict(entries: [JournalEntry], scores: [Double]) -> Bool {
        var failures: [String] = []
        let scaleOuts = entries.filter { $0.action == "scale" && $0.knob == .replicas && (Double($0.after) ?? 0) > (Double($0.before ?? "") ?? .infinity) }
        if scaleOuts.isEmpty { failures.append("no scale-out of \(namespace)/\(name) was applied") }
        if !scaleOuts.contains(where: { $0.state == .verified }) { failures.append("no scale-out was verified and kept (states: \(scaleOuts.map(\.state.rawValue)))") }
        if let bad = entries.first(where: { $0.state.isRestored }) { failures.append("a change was rolled back: \(bad.notes.last ?? "")") }
        guard let lowest = scores.min(), let last = scores.last else {
            failures.append("the report has no score")
            return report(failures)
        }
        if lowest >= 80 { failures.append("the score never fell below 80 (lowest \(Int(lowest)))") }
        if last < 80 { failures.append("the score did not recover to 80 (last \(Int(last)))") }
        return report(failures)
    }

    static func report(_ failures: [String]) -> Bool {
        if failures.isEmpty { print("check: passed (scaled out, verified, score fell and recovered)") }
        for failure in failures { printError("check failed: \(failure)") }
        return failures.isEmpty
    }
}
