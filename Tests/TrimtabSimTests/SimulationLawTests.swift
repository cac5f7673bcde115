import Testing
import TrimtabCore
@testable import TrimtabSim

/// The laws an operator expects of the simulated services (docs/simulation-model.md), held at equal load.
struct SimulationLawTests {
    /// Runs one service for `seconds` under fixed settings and returns it.
    func settle(_ spec: ServiceSpec, seconds: Double = 600, database: DatabaseSpec = DatabaseSpec()) -> SimCluster.Service {
        var cluster = SimCluster(services: [spec], databases: [database])
        for _ in 0..<Int(seconds / 5) { cluster.step(5) }
        return cluster.services[0]
    }

    func p95(_ service: SimCluster.Service, since before: SimCluster.Totals) -> Double {
        FastIndicators.histogramQuantile(0.95, counts: zip(service.totals.buckets, before.buckets).map { $0 - $1 })
    }

    /// A live knob (a key of the ConfigMap the pods mount whole) reaches every running pod after the
    /// kubelet's refresh and every new pod at its start, and rolls none; the env var rolls them all.
    @Test func aLiveKnobChangesThePodsInPlaceAndAnEnvVarRollsThem() async throws {
        var spec = ServiceSpec(name: "web", load: .steady(100, seconds: 7200))
        spec.replicas = 3
        spec.poolSize = 10
        let model = SimCluster(services: [spec], databases: [DatabaseSpec()])
        let policy = Policy(name: "sim", indicators: [], checks: [])
        let cluster = SimulatedCluster(model, policy: policy)
        let workload = WorkloadRef(kind: "Deployment", namespace: spec.namespace, name: "web")
        let before = cluster.state.services[0].pods.map(\.name)

        let live = try cluster.actuator(for: SimulatedCluster.livePoolKnob, of: workload)
        #expect(try await live.read().value == "10", "the ConfigMap holds the template's value until written")
        try await live.write("16", over: try await live.read(), dryRun: false)
        var state = cluster.state
        for _ in 0..<6 { state.step(5) }  // 30 s: the kubelet has not refreshed the volume yet
        #expect(state.services[0].pods.map(\.poolSize) == [10, 10, 10])
        for _ in 0..<8 { state.step(5) }  // 70 s
        #expect(state.services[0].pods.map(\.poolSize) == [16, 16, 16])
        #expect(state.services[0].pods.map(\.name) == before, "no pod rolled")
        state.update("web") { $0.replicas = 4 }
        state.step(5)
        #expect(state.services[0].pods.map(\.poolSize) == [16, 16, 16, 16], "a new pod reads the ConfigMap at its start")

        // The env var: a new ReplicaSet, every pod replaced.
        cluster.replace(state)
        let env = try cluster.actuator(for: SimulatedCluster.poolKnob, of: workload)
        try await env.write("20", over: try await env.read(), dryRun: false)
        state = cluster.state
        for _ in 0..<120 { state.step(5) }
        #expect(Set(state.services[0].pods.map(\.name)).isDisjoint(with: before), "every pod was replaced")
        #expect(state.services[0].pods.count == 4)
    }

    @Test func moreReplicasLowerUtilisationAndLatencyAtEqualLoad() {
        var results: [(cpu: Double, latency: Double)] = []
        for replicas in [4, 5, 6, 8, 12] {
            var spec = ServiceSpec(name: "web", load: .steady(380, seconds: 3600))
            spec.replicas = replicas
            let service = settle(spec)
            let pods = service.pods.count
            let cpu = service.totals.cpuSeconds / 600 / (Double(pods) * spec.cpuRequestCores)
            let state = QueueingModel.pod(requestsPerSecond: 380 / Double(pods), cpuSeconds: spec.cpuSecondsPerRequest, cores: spec.cpuLimitCores,
                                          hit: 0.5, pool: 10, dbSeconds: spec.dbSecondsPerQuery, base: spec.baseLatency)
            results.append((cpu, QueueingModel.quantile(0.95, fixed: state.fixedLatency, variable: state.variableLatency)))
            #expect(pods == replicas)
        }
        for (a, b) in zip(results, results.dropFirst()) {
            #expect(b.cpu < a.cpu, "utilisation must fall with replicas: \(results)")
            #expect(b.latency < a.latency, "latency must fall with replicas: \(results)")
        }
    }

    @Test func aBiggerPoolRemovesWaitersUntilTheDatabaseLimit() {
        // 60 misses a second holding a connection 50 ms: 3 connections busy on average.
        func waiters(_ pool: Double, dbCores: Double = 100) -> Double {
            let busy = 60 * 0.05
            let slowdown = QueueingModel.databaseSlowdown(busy: min(busy, pool), cores: dbCores)
            return QueueingModel.pod(requestsPerSecond: 60, cpuSeconds: 0.001, cores: 1, hit: 0, pool: pool, dbSeconds: 0.05 * slowdown,
                                     base: 0.01).poolWaiters
        }
        let sizes: [Double] = [4, 5, 6, 8, 12, 20]
        let found = sizes.map { waiters($0) }
        for (a, b) in zip(found, found.dropFirst()) { #expect(b < a, "waiters must fall as the pool grows: \(found)") }
        #expect(found.last! < 0.01)
        // Past the database's limit, a bigger pool gets no more connections: the rest are refused.
        var spec = ServiceSpec(name: "ledger", load: .steady(200, seconds: 3600))
        spec.replicas = 4
        spec.poolSize = 60
        var cluster = SimCluster(services: [spec], databases: [DatabaseSpec(maxConnections: 200)])
        cluster.step(5)
        #expect(cluster.services[0].pods.map(\.granted).reduce(0, +) == 200)
        #expect(cluster.services[0].totals.refusedConnectionSeconds == Double(4 * 60 - 200) * 5)
        // And a database that runs few queries at once makes every query slower as connections grow.
        #expect(QueueingModel.databaseSlowdown(busy: 12, cores: 6) > QueueingModel.databaseSlowdown(busy: 6, cores: 6))
    }

    @Test func aLongerTTLRaisesTheHitRatioAndTheStaleness() {
        let ttls: [Double] = [5, 10, 30, 60, 300, 600]
        let caches = ttls.map { QueueingModel.cache(requestsPerSecond: 50, keys: 5_000, ttl: $0, capacity: 1e9, age: 1e9) }
        for (a, b) in zip(caches, caches.dropFirst()) {
            #expect(b.hitRatio > a.hitRatio, "\(caches.map(\.hitRatio))")
            #expect(b.staleness > a.staleness)
        }
        #expect(caches.allSatisfy { $0.hitRatio > 0 && $0.hitRatio < 1 && $0.evictionsPerSecond == 0 })
        // Beyond its capacity the cache evicts, and a new pod starts cold.
        let full = QueueingModel.cache(requestsPerSecond: 50, keys: 5_000, ttl: 600, capacity: 100, age: 1e9)
        #expect(full.evictionsPerSecond > 0 && full.hitRatio < caches.last!.hitRatio)
        let cold = QueueingModel.cache(requestsPerSecond: 50, keys: 5_000, ttl: 600, capacity: 1e9, age: 0)
        #expect(cold.hitRatio == 0)
    }

    @Test func newPodsTakeTimeAndARolloutReplacesEveryPodWithAColdCache() {
        var spec = ServiceSpec(name: "web", load: .steady(100, seconds: 3600))
        spec.readyDelay = 30
        var cluster = SimCluster(services: [spec], databases: [DatabaseSpec()])
        cluster.update("web") { $0.replicas = 6 }
        cluster.step(5)
        #expect(cluster.services[0].pods.count == 6)
        #expect(cluster.services[0].pods.filter { $0.isReady(at: cluster.time) }.count == 4)
        for _ in 0..<7 { cluster.step(5) }
        #expect(cluster.services[0].pods.filter { $0.isReady(at: cluster.time) }.count == 6)
        let before = Set(cluster.services[0].pods.map(\.name))
        cluster.update("web") { $0.ttl = 120 }
        for _ in 0..<60 { cluster.step(5) }
        let pods = cluster.services[0].pods
        #expect(pods.count == 6 && Set(pods.map(\.name)).isDisjoint(with: before))
        #expect(pods.allSatisfy { $0.ttl == 120 && $0.replicaSet == cluster.services[0].currentReplicaSet })
        // Requests kept being served during the rollout: never fewer than 75 % ready.
        #expect(cluster.services[0].totals.errors == 0)
    }

    @Test func overloadQueuesThenTimesOutAndTheHistogramAgreesWithTheModel() {
        var spec = ServiceSpec(name: "web", load: .steady(500, seconds: 3600))
        spec.replicas = 4
        let overloaded = settle(spec, seconds: 300)
        #expect(overloaded.totals.errors > 0)
        #expect(p95(overloaded, since: SimCluster.Totals()) > 1)
        spec.load = .steady(100, seconds: 3600)
        let fine = settle(spec, seconds: 300)
        #expect(fine.totals.errors == 0)
        #expect(p95(fine, since: SimCluster.Totals()) < 0.25)
    }

    @Test func histogramQuantileInterpolatesAsPrometheusDoes() {
        // 100 observations: 50 under 0.1, 40 more under 0.25, 10 more under 0.5.
        let bounds = [0.1, 0.25, 0.5]
        #expect(abs(FastIndicators.histogramQuantile(0.5, counts: [50, 90, 100, 100], bounds: bounds) - 0.1) < 1e-9)
        #expect(abs(FastIndicators.histogramQuantile(0.95, counts: [50, 90, 100, 100], bounds: bounds) - 0.375) < 1e-9)
        #expect(FastIndicators.histogramQuantile(0.99, counts: [0, 0, 0, 10], bounds: bounds) == 0.5)
        #expect(FastIndicators.histogramQuantile(0.5, counts: [0, 0, 0, 0], bounds: bounds).isNaN)
    }
}

struct LoadTraceTests {
    @Test func aCSVTraceIsReadAndInterpolated() throws {
        let trace = try LoadTrace.parseCSV("time_seconds,requests_per_second\n100,10\n160,70\n# a comment\n\n220,70\n", file: "t.csv")
        #expect(trace.duration == 120)
        #expect(trace.rate(at: 30) == 40)
        #expect(trace.rate(at: 500) == 70)
        #expect(trace.name == "t.csv")
    }

    @Test(arguments: [
        ("time,rps\n0,1\n1,2\n", "t.csv:1: the header must be `time_seconds,requests_per_second`, found `time,rps`"),
        ("time_seconds,requests_per_second\n0,1\n1\n", "t.csv:3: expected 2 fields (time_seconds,requests_per_second), found 1"),
        ("time_seconds,requests_per_second\n0,1\nx,2\n", "t.csv:3: time_seconds `x` is not a number"),
        ("time_seconds,requests_per_second\n0,1\n1,-2\n", "t.csv:3: requests_per_second `-2` is not a number ≥ 0"),
        ("time_seconds,requests_per_second\n5,1\n5,2\n", "t.csv:3: time_seconds 5 is not after the previous row's 5.0"),
        ("time_seconds,requests_per_second\n0,1\n", "t.csv:1: a trace needs at least two rows, found 1"),
        ("", "t.csv:1: the file is empty; it needs the header `time_seconds,requests_per_second` and rows"),
    ])
    func aBadTraceSaysWhereAndWhat(text: String, message: String) {
        #expect(throws: TraceError.self) { try LoadTrace.parseCSV(text, file: "t.csv") }
        do { _ = try LoadTrace.parseCSV(text, file: "t.csv") } catch { #expect(error.description == message) }
    }
}

struct StockExpositionTests {
    @Test func theExportersShapesAreThoseOfRealClusters() {
        var cluster = SimCluster(services: [ServiceSpec(name: "checkout", load: .steady(100, seconds: 60))], databases: [DatabaseSpec()])
        cluster.step(5)
        let pod = cluster.services[0].pods[0]
        let ksm = StockExposition.kubeStateMetrics(cluster)
        #expect(ksm.contains("kube_pod_owner{namespace=\"shop\",owner_is_controller=\"true\",owner_kind=\"ReplicaSet\",owner_name=\"\(pod.replicaSet)\",pod=\"\(pod.name)\""))
        #expect(ksm.contains("kube_replicaset_owner{namespace=\"shop\",owner_is_controller=\"true\",owner_kind=\"Deployment\",owner_name=\"checkout\",replicaset=\"\(pod.replicaSet)\"} 1.0"))
        #expect(ksm.contains("kube_deployment_spec_replicas{deployment=\"checkout\",namespace=\"shop\"} 4.0"))
        let cadvisor = StockExposition.cadvisor(cluster)
        // Per container and the pod's own cgroup (no container label).
        #expect(cadvisor.components(separatedBy: "\n").filter { $0.hasPrefix("container_cpu_usage_seconds_total{") && $0.contains("pod=\"\(pod.name)\"") }.count == 2)
        let app = StockExposition.application(cluster)
        #expect(app.contains("http_request_duration_seconds_bucket{container=\"app\",handler=\"/api\",le=\"+Inf\",method=\"GET\",namespace=\"shop\",pod=\"\(pod.name)\""))
        #expect(!app.contains("code=\"504\""), "a service that never failed has no 5xx series")
        // Each family once, its samples together under its TYPE.
        for text in [ksm, cadvisor, app] {
            let types = text.components(separatedBy: "\n").filter { $0.hasPrefix("# TYPE ") }
            #expect(Set(types).count == types.count)
        }
    }
}
