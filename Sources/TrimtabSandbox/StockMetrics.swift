import Foundation
import TrimtabCore

/// One profiled workload as a cluster monitored the usual way (kube-prometheus-stack) holds it:
///
/// - **cAdvisor** (the kubelet's `/metrics/cadvisor`): CPU and memory per pod *and container*, plus
///   the pod's own cgroup (no `container` label), which a naive sum counts twice; every pod runs the
///   application container `app` and a `log-shipper` sidecar without requests or limits.
/// - **kube-state-metrics**: requests and limits per container, the pod's phase (all five, 0 or 1),
///   `kube_pod_owner` (pod → ReplicaSet or StatefulSet), `kube_replicaset_owner` (ReplicaSet →
///   Deployment; an old ReplicaSet stays as revision history), and the workload's desired replicas.
/// - **the kubernetes-mixin's** `namespace_workload_pod:kube_pod_owner:relabel` (pod → workload,
///   with `workload_type`), as its recording rule (and `deploy/prometheus/rules.yaml`) records it.
/// - **the application**, scraped per pod through a ServiceMonitor: client-library histogram and
///   counters (`http_request_duration_seconds`, `http_requests_total` by `code`), OpenTelemetry's
///   connection-pool gauges (`db_client_connections_usage` by `state`, `db_client_connections_max`)
///   and Micrometer's cache counters (`cache_gets_total` by `result`, `cache_evictions_total`); or,
///   as the profile says, Micrometer's, OpenTelemetry's or prom-client's request histogram, HikariCP's
///   or OpenTelemetry's current pool gauges, a hits/misses counter pair, and an Istio sidecar's or a
///   Linkerd proxy's request metrics (milliseconds), each with its library's names, labels and buckets.
///
/// Pods are named as Kubernetes names them (`checkout-6c9f8d7b5f-x2k9p`, `ledger-0`); a rollout
/// replaces every pod with new ones of a new ReplicaSet; an evicted pod lingers in phase `Failed`.
/// Per-workload figures are the profile's: every pod takes an equal share of the load.
struct StockMetrics {
    let profile: WorkloadProfile
    let start: Double
    let end: Double
    let step: Double

    /// What each pod's `app` container asks for.
    static let cpuRequestCores = 0.5
    static let memoryRequestBytes = 268_435_456.0
    static let memoryLimitBytes = 536_870_912.0
    /// The connection pool of each pod.
    static let poolMax = 20.0
    /// What the sidecar uses (it declares no requests or limits, so no utilisation counts it).
    static let sidecarCores = 0.01
    static let sidecarBytes = 41_943_040.0

    static let phases = ["Pending", "Running", "Succeeded", "Failed", "Unknown"]

    /// One pod: its name and owner, and when it runs (seconds before the end).
    struct Pod {
        var name: String
        var ownerKind: String
        var ownerName: String
        var phase: String
        var index: Int
        /// Whether the pod exists (kube-state-metrics exports it) at a number of seconds before the end.
        var exists: @Sendable (Double) -> Bool
        var uid: String { KubernetesNames.uid(name) }
        var ip: String { "10.244.\(1 + index % 3).\(10 + KubernetesNames.number(name) % 240)" }
        var node: String { "node-\(["a", "b", "c"][index % 3])" }
    }

    var replicas: Int { max(1, Int(profile.replicas.rounded())) }
    var name: String { profile.deployment }
    var isStatefulSet: Bool { profile.kind.lowercased() == "statefulset" }

    /// The ReplicaSets of a Deployment, oldest first, with the span (seconds before the end) each ran.
    var replicaSets: [(name: String, runs: @Sendable (Double) -> Bool)] {
        let current = "\(name)-\(KubernetesNames.hash("\(profile.namespace)/\(name)/template-2", length: 10))"
        guard let rollout = profile.rolloutAgo else { return [(current, { _ in true })] }
        let previous = "\(name)-\(KubernetesNames.hash("\(profile.namespace)/\(name)/template-1", length: 10))"
        return [(previous, { ago in ago > rollout }), (current, { ago in ago <= rollout })]
    }

    var pods: [Pod] {
        let silent = profile.silentForLast
        let present: @Sendable (Double) -> Bool = { ago in ago >= silent }
        if isStatefulSet {
            return (0..<replicas).map { index in
                Pod(name: "\(name)-\(index)", ownerKind: "StatefulSet", ownerName: name, phase: "Running", index: index, exists: present)
            }
        }
        var pods: [Pod] = []
        for replicaSet in replicaSets {
            let runs = replicaSet.runs
            for index in 0..<replicas {
                pods.append(Pod(name: "\(replicaSet.name)-\(KubernetesNames.hash("\(replicaSet.name)#\(index)", length: 5))",
                                ownerKind: "ReplicaSet", ownerName: replicaSet.name, phase: "Running", index: index,
                                exists: { ago in runs(ago) && present(ago) }))
            }
        }
        if profile.evictedPod, let current = replicaSets.last {
            pods.append(Pod(name: "\(current.name)-\(KubernetesNames.hash("\(current.name)#evicted", length: 5))", ownerKind: "ReplicaSet",
                            ownerName: current.name, phase: "Failed", index: replicas, exists: present))
        }
        return pods
    }

    func series() -> [SyntheticSeries] {
        var out: [SyntheticSeries] = []
        let namespace = profile.namespace
        let kubeStateMetrics = ["job": "kube-state-metrics", "instance": "10.244.0.9:8080", "namespace": namespace]
        let present: @Sendable (Double) -> Bool = { [silent = profile.silentForLast] ago in ago >= silent }
        // The workload's own objects.
        if isStatefulSet {
            out.append(gauge("kube_statefulset_replicas", kubeStateMetrics.merging(["statefulset": name]) { $1 }, when: present) { [replicas] _ in Double(replicas) })
        } else {
            out.append(gauge("kube_deployment_spec_replicas", kubeStateMetrics.merging(["deployment": name]) { $1 }, when: present) { [replicas] _ in Double(replicas) })
            for replicaSet in replicaSets {
                out.append(gauge("kube_replicaset_owner", kubeStateMetrics.merging([
                    "replicaset": replicaSet.name, "owner_kind": "Deployment", "owner_name": name, "owner_is_controller": "true",
                ]) { $1 }, when: present) { _ in 1 })
            }
        }
        for pod in pods {
            out += kubeStateSeries(pod, base: kubeStateMetrics)
            if pod.phase == "Running" {
                out += cadvisorSeries(pod)
                out += applicationSeries(pod)
            }
        }
        return out
    }

    // MARK: kube-state-metrics and the mixin's owner relabelling

    func kubeStateSeries(_ pod: Pod, base: [String: String]) -> [SyntheticSeries] {
        let labels = base.merging(["pod": pod.name, "uid": pod.uid]) { $1 }
        let exists = pod.exists
        var out: [SyntheticSeries] = [
            gauge("kube_pod_owner", labels.merging(["owner_kind": pod.ownerKind, "owner_name": pod.ownerName, "owner_is_controller": "true"]) { $1 },
                  when: exists) { _ in 1 },
        ]
        for phase in Self.phases {
            out.append(gauge("kube_pod_status_phase", labels.merging(["phase": phase]) { $1 }, when: exists) { [current = pod.phase] _ in
                phase == current ? 1 : 0
            })
        }
        let container = labels.merging(["container": "app", "node": pod.node]) { $1 }
        out.append(gauge("kube_pod_container_resource_requests", container.merging(["resource": "cpu", "unit": "core"]) { $1 }, when: exists) { _ in Self.cpuRequestCores })
        out.append(gauge("kube_pod_container_resource_requests", container.merging(["resource": "memory", "unit": "byte"]) { $1 }, when: exists) { _ in Self.memoryRequestBytes })
        out.append(gauge("kube_pod_container_resource_limits", container.merging(["resource": "memory", "unit": "byte"]) { $1 }, when: exists) { _ in Self.memoryLimitBytes })
        // What the mixin's recording rule writes: no job or instance, one series per pod and workload.
        out.append(gauge("namespace_workload_pod:kube_pod_owner:relabel", [
            "namespace": profile.namespace, "pod": pod.name, "workload": name, "workload_type": isStatefulSet ? "statefulset" : "deployment",
        ], when: exists) { _ in 1 })
        return out
    }

    // MARK: cAdvisor

    func cadvisorSeries(_ pod: Pod) -> [SyntheticSeries] {
        let base = ["job": "kubelet", "metrics_path": "/metrics/cadvisor", "endpoint": "https-metrics",
                    "service": "kube-prometheus-stack-kubelet", "instance": "192.168.10.\(11 + pod.index % 3):10250",
                    "node": pod.node, "namespace": profile.namespace, "pod": pod.name]
        let cgroup = "/kubepods/burstable/pod\(pod.uid)"
        func container(_ name: String, image: String) -> [String: String] {
            let id = KubernetesNames.hash("\(pod.name)/\(name)", length: 12)
            return base.merging(["container": name, "image": image, "name": id, "id": "\(cgroup)/\(id)"]) { $1 }
        }
        let app = container("app", image: "registry.example.com/shop/\(name):1.4.2")
        let sidecar = container("log-shipper", image: "cr.fluentbit.io/fluent/fluent-bit:3.0.7")
        let podCgroup = base.merging(["id": cgroup]) { $1 }
        let cpu = profile.cpuUtilization, memory = profile.memoryUtilization
        let appCores: @Sendable (Double) -> Double = { ago in cpu(ago) * Self.cpuRequestCores }
        let appBytes: @Sendable (Double) -> Double = { ago in memory(ago) * Self.memoryLimitBytes }
        return [
            counter("container_cpu_usage_seconds_total", app, when: pod.exists, appCores),
            counter("container_cpu_usage_seconds_total", sidecar, when: pod.exists) { _ in Self.sidecarCores },
            counter("container_cpu_usage_seconds_total", podCgroup, when: pod.exists) { ago in appCores(ago) + Self.sidecarCores },
            gauge("container_memory_working_set_bytes", app, when: pod.exists, appBytes),
            gauge("container_memory_working_set_bytes", sidecar, when: pod.exists) { _ in Self.sidecarBytes },
            gauge("container_memory_working_set_bytes", podCgroup, when: pod.exists) { ago in appBytes(ago) + Self.sidecarBytes },
        ]
    }

    // MARK: The application's own metrics

    func applicationSeries(_ pod: Pod) -> [SyntheticSeries] {
        let labels = ["job": name, "service": name, "endpoint": "http", "container": "app",
                      "instance": "\(pod.ip):8080", "namespace": profile.namespace, "pod": pod.name]
        var out: [SyntheticSeries] = []
        switch profile.requestShape {
        case .prometheusClient: out += prometheusClientSeries(pod, labels)
        case .micrometer, .openTelemetry, .promClient: out += librarySeries(pod, labels)
        case .none: break
        }
        if let mesh = profile.mesh { out += meshSeries(pod, mesh) }
        out += poolAndCacheSeries(pod, labels)
        return out
    }

    /// A client library's histogram and `http_requests_total` by `code`, client_golang's way.
    func prometheusClientSeries(_ pod: Pod, _ labels: [String: String]) -> [SyntheticSeries] {
        let share = 1 / Double(replicas)
        let rps = profile.requestsPerSecond, p95 = profile.latencyP95, errors = profile.errorRatio
        var out: [SyntheticSeries] = []
        for bucket in RawMetrics.buckets + [.infinity] {
            out.append(counter("http_request_duration_seconds_bucket", labels.merging(["method": "GET", "le": RawMetrics.le(bucket)]) { $1 },
                               when: pod.exists) { ago in rps(ago) * share * RawMetrics.cumulativeShare(atOrBelow: bucket, p95: p95(ago)) })
        }
        out.append(counter("http_request_duration_seconds_count", labels.merging(["method": "GET"]) { $1 }, when: pod.exists) { ago in rps(ago) * share })
        out.append(counter("http_requests_total", labels.merging(["method": "GET", "code": "200"]) { $1 }, when: pod.exists) { ago in
            rps(ago) * share * (1 - errors(ago))
        })
        if profile.exportsErrors {
            out.append(counter("http_requests_total", labels.merging(["method": "GET", "code": "500"]) { $1 }, when: pod.exists) { ago in
                rps(ago) * share * errors(ago)
            })
        }
        return out
    }

    /// An exponential distribution of request durations whose 95th percentile is `p95`: the share
    /// of requests at or below `bound` seconds, for any buckets a library writes.
    static func share(atOrBelow bound: Double, p95: Double) -> Double {
        bound == .infinity ? 1 : 1 - exp(-log(20) / max(p95, 1e-6) * bound)
    }

    /// Micrometer's, OpenTelemetry's or prom-client's request histogram, as each writes it: its
    /// name, labels and buckets, successes and (once seen) server errors as separate series.
    func librarySeries(_ pod: Pod, _ labels: [String: String]) -> [SyntheticSeries] {
        let share = 1 / Double(replicas)
        let rps = profile.requestsPerSecond, p95 = profile.latencyP95, errors = profile.errorRatio
        let name: String, buckets: [Double], leText: (Double) -> String
        let statuses: [(labels: [String: String], error: Bool)]
        switch profile.requestShape {
        case .micrometer:
            // Spring Boot with percentiles-histogram on: Micrometer's own bucket bounds (a slice of them).
            name = "http_server_requests_seconds"
            buckets = [0.001, 0.005592405, 0.022369621, 0.067108864, 0.134217727, 0.268435456, 0.536870911, 1.073741824,
                       1.789569706, 2.863311529, 4.294967296, 8.589934591, 17.179869184, 30.0]
            leText = { String($0) }
            statuses = [(["method": "GET", "uri": "/api/\(self.name)", "status": "200", "outcome": "SUCCESS", "exception": "none", "error": "none"], false),
                        (["method": "GET", "uri": "/api/\(self.name)", "status": "500", "outcome": "SERVER_ERROR", "exception": "SQLException", "error": "SQLException"], true)]
        case .openTelemetry:
            // The OpenTelemetry SDK's Prometheus exporter: its advised buckets for http.server.request.duration.
            name = "http_server_request_duration_seconds"
            buckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
            leText = { String($0) }
            let base = ["http_request_method": "GET", "http_route": "/\(self.name)", "url_scheme": "http", "network_protocol_version": "1.1",
                        "otel_scope_name": "io.opentelemetry.java-http-server"]
            statuses = [(base.merging(["http_response_status_code": "200"]) { $1 }, false),
                        (base.merging(["http_response_status_code": "503", "error_type": "503"]) { $1 }, true)]
        default:
            // prom-client as its README shows it: no request counter, the status as status_code.
            name = "http_request_duration_seconds"
            buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
            leText = { String($0) }
            statuses = [(["method": "GET", "route": "/\(self.name)", "status_code": "200"], false),
                        (["method": "GET", "route": "/\(self.name)", "status_code": "500"], true)]
        }
        var out: [SyntheticSeries] = []
        for status in statuses where !status.error || profile.exportsErrors {
            let part: @Sendable (Double) -> Double = { [error = status.error] ago in rps(ago) * share * (error ? errors(ago) : 1 - errors(ago)) }
            let base = labels.merging(status.labels) { $1 }
            for bucket in buckets + [.infinity] {
                out.append(counter("\(name)_bucket", base.merging(["le": bucket == .infinity ? "+Inf" : leText(bucket)]) { $1 }, when: pod.exists) { ago in
                    part(ago) * Self.share(atOrBelow: bucket, p95: p95(ago))
                })
            }
            out.append(counter("\(name)_count", base, when: pod.exists, part))
        }
        return out
    }

    /// What a mesh's sidecar (Istio, reporter="destination") or proxy (Linkerd, inbound) reports of
    /// every request the pod serves, scraped per pod, with its latency in milliseconds.
    func meshSeries(_ pod: Pod, _ mesh: WorkloadProfile.MeshShape) -> [SyntheticSeries] {
        let share = 1 / Double(replicas)
        let rps = profile.requestsPerSecond, p95 = profile.latencyP95, errors = profile.errorRatio
        let namespace = profile.namespace
        let scraped = ["namespace": namespace, "pod": pod.name, "instance": "\(pod.ip):15020"]
        var out: [SyntheticSeries] = []
        let codes: [(String, Bool)] = [("200", false), ("500", true)]
        switch mesh {
        case .istio:
            let bucketsMs: [Double] = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000]
            for (code, error) in codes where !error || profile.exportsErrors {
                let part: @Sendable (Double) -> Double = { ago in rps(ago) * share * (error ? errors(ago) : 1 - errors(ago)) }
                let base = scraped.merging(["job": "istio-proxy", "reporter": "destination", "source_workload": "istio-ingressgateway",
                                            "source_workload_namespace": "istio-system", "destination_workload": name,
                                            "destination_workload_namespace": namespace, "destination_service": "\(name).\(namespace).svc.cluster.local",
                                            "destination_app": name, "request_protocol": "http", "response_code": code, "response_flags": "-",
                                            "connection_security_policy": "mutual_tls"]) { $1 }
                out.append(counter("istio_requests_total", base, when: pod.exists, part))
                for bound in bucketsMs + [.infinity] {
                    out.append(counter("istio_request_duration_milliseconds_bucket",
                                       base.merging(["le": bound == .infinity ? "+Inf" : String(bound)]) { $1 }, when: pod.exists) { ago in
                        part(ago) * Self.share(atOrBelow: bound / 1000, p95: p95(ago))
                    })
                }
            }
        case .linkerd:
            let bucketsMs: [Double] = [1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000]
            for (code, error) in codes where !error || profile.exportsErrors {
                let part: @Sendable (Double) -> Double = { ago in rps(ago) * share * (error ? errors(ago) : 1 - errors(ago)) }
                let base = scraped.merging(["job": "linkerd-proxy", "direction": "inbound", "deployment": name, "control_plane_ns": "linkerd",
                                            "authority": "\(name).\(namespace).svc.cluster.local:8080", "tls": "true", "status_code": code]) { $1 }
                out.append(counter("response_total", base.merging(["classification": error ? "failure" : "success"]) { $1 }, when: pod.exists, part))
                for bound in bucketsMs + [.infinity] {
                    out.append(counter("response_latency_ms_bucket", base.merging(["le": bound == .infinity ? "+Inf" : String(bound)]) { $1 },
                                       when: pod.exists) { ago in part(ago) * Self.share(atOrBelow: bound / 1000, p95: p95(ago)) })
                }
            }
        }
        return out
    }

    /// The connection pool and cache, in the profile's conventions.
    func poolAndCacheSeries(_ pod: Pod, _ labels: [String: String]) -> [SyntheticSeries] {
        let share = 1 / Double(replicas)
        let rps = profile.requestsPerSecond
        var out: [SyntheticSeries] = []
        if let pool = profile.poolUtilization {
            let used: @Sendable (Double) -> Double = { ago in (pool(ago) * Self.poolMax).rounded() }
            switch profile.poolShape {
            case .hikari:
                let hikari = labels.merging(["pool": "HikariPool-1"]) { $1 }
                out.append(gauge("hikaricp_connections_active", hikari, when: pod.exists, used))
                out.append(gauge("hikaricp_connections_idle", hikari, when: pod.exists) { ago in Self.poolMax - used(ago) })
                out.append(gauge("hikaricp_connections_pending", hikari, when: pod.exists) { ago in pool(ago) > 0.9 ? 3 : 0 })
                out.append(gauge("hikaricp_connections_max", hikari, when: pod.exists) { _ in Self.poolMax })
                out.append(gauge("hikaricp_connections_min", hikari, when: pod.exists) { _ in Self.poolMax })
                return out + cacheSeries(pod, labels, share: share, rps: rps)
            case .openTelemetry:
                let pooled = labels.merging(["db_client_connection_pool_name": "shopdb"]) { $1 }
                out.append(gauge("db_client_connection_count", pooled.merging(["db_client_connection_state": "used"]) { $1 }, when: pod.exists, used))
                out.append(gauge("db_client_connection_count", pooled.merging(["db_client_connection_state": "idle"]) { $1 }, when: pod.exists) { ago in Self.poolMax - used(ago) })
                out.append(gauge("db_client_connection_max", pooled, when: pod.exists) { _ in Self.poolMax })
                return out + cacheSeries(pod, labels, share: share, rps: rps)
            case .openTelemetryLegacy:
                break
            }
            let pooled = labels.merging(["pool_name": "shopdb"]) { $1 }
            out.append(gauge("db_client_connections_usage", pooled.merging(["state": "used"]) { $1 }, when: pod.exists) { ago in (pool(ago) * Self.poolMax).rounded() })
            out.append(gauge("db_client_connections_usage", pooled.merging(["state": "idle"]) { $1 }, when: pod.exists) { ago in Self.poolMax - (pool(ago) * Self.poolMax).rounded() })
            out.append(gauge("db_client_connections_max", pooled, when: pod.exists) { _ in Self.poolMax })
        }
        return out + cacheSeries(pod, labels, share: share, rps: rps)
    }

    func cacheSeries(_ pod: Pod, _ labels: [String: String], share: Double, rps: @escaping WorkloadProfile.Curve) -> [SyntheticSeries] {
        var out: [SyntheticSeries] = []
        if let hits = profile.cacheHitRatio, profile.cacheShape == .hitsMisses {
            let cache = labels.merging(["cache": "main"]) { $1 }
            out.append(counter("cache_hits_total", cache, when: pod.exists) { ago in rps(ago) * share * hits(ago) })
            out.append(counter("cache_misses_total", cache, when: pod.exists) { ago in rps(ago) * share * (1 - hits(ago)) })
        } else if let hits = profile.cacheHitRatio {
            let cache = labels.merging(["cache": "main"]) { $1 }
            out.append(counter("cache_gets_total", cache.merging(["result": "hit"]) { $1 }, when: pod.exists) { ago in rps(ago) * share * hits(ago) })
            out.append(counter("cache_gets_total", cache.merging(["result": "miss"]) { $1 }, when: pod.exists) { ago in rps(ago) * share * (1 - hits(ago)) })
            let evictions = profile.evictionsPerSecond
            out.append(counter("cache_evictions_total", cache, when: pod.exists) { ago in evictions(ago) * share })
        }
        return out
    }

    // MARK: Series over the history

    func gauge(_ metric: String, _ labels: [String: String], when exists: @escaping @Sendable (Double) -> Bool,
               _ value: @escaping @Sendable (Double) -> Double) -> SyntheticSeries {
        SyntheticSeries(name: metric, labels: labels) { [end] time in exists(end - time) ? value(end - time) : nil }
    }

    func counter(_ metric: String, _ labels: [String: String], when exists: @escaping @Sendable (Double) -> Bool,
                 _ rate: @escaping @Sendable (Double) -> Double) -> SyntheticSeries {
        SyntheticSeries.counter(name: metric, labels: labels, start: start, end: end, step: step) { [end] time in
            exists(end - time) ? rate(end - time) : nil
        }
    }
}

/// Pods that belong to no Deployment or StatefulSet, as every real namespace has them: a policy over
/// workloads must leave them out.
public enum StockStrays {
    /// A CronJob's pod that ran and completed (phase `Succeeded`, owner a Job) `finishedAgo` seconds
    /// before the end: kube-state-metrics keeps exporting it, requests included, until it is deleted.
    public static func completedJobPod(namespace: String, cronJob: String, start: Double, end: Double, step: Double,
                                       finishedAgo: Double = 1800) -> [SyntheticSeries] {
        let job = "\(cronJob)-28903520"
        let profile = WorkloadProfile(namespace: namespace, deployment: job, latencyP95: { _ in 0.1 }, cpuUtilization: { _ in 0.9 }, replicas: 1)
        let metrics = StockMetrics(profile: profile, start: start, end: end, step: step)
        let pod = StockMetrics.Pod(name: "\(job)-\(KubernetesNames.hash(job, length: 5))", ownerKind: "Job", ownerName: job, phase: "Succeeded",
                                   index: 0, exists: { _ in true })
        let ran = StockMetrics.Pod(name: pod.name, ownerKind: "Job", ownerName: job, phase: "Running", index: 0,
                                   exists: { ago in ago > finishedAgo })
        let base = ["job": "kube-state-metrics", "instance": "10.244.0.9:8080", "namespace": namespace]
        // No mixin owner series: the rules name only Deployments' and StatefulSets' pods.
        return metrics.kubeStateSeries(pod, base: base).filter { $0.name != "namespace_workload_pod:kube_pod_owner:relabel" }
            + metrics.cadvisorSeries(ran)
    }

    /// A pod created by hand (`kubectl run`): no owner at all, yet it runs, uses CPU and serves HTTP.
    public static func barePod(namespace: String, name: String, start: Double, end: Double, step: Double) -> [SyntheticSeries] {
        let profile = WorkloadProfile(namespace: namespace, deployment: name, requestsPerSecond: { _ in 5 }, latencyP95: { _ in 3 },
                                      errorRatio: { _ in 0.5 }, cpuUtilization: { _ in 0.99 }, replicas: 1)
        let metrics = StockMetrics(profile: profile, start: start, end: end, step: step)
        let pod = StockMetrics.Pod(name: name, ownerKind: "", ownerName: "", phase: "Running", index: 0, exists: { _ in true })
        let base = ["job": "kube-state-metrics", "instance": "10.244.0.9:8080", "namespace": namespace]
        let kubeState = metrics.kubeStateSeries(pod, base: base)
            .filter { $0.name != "kube_pod_owner" && $0.name != "namespace_workload_pod:kube_pod_owner:relabel" }
        return kubeState + metrics.cadvisorSeries(pod) + metrics.applicationSeries(pod)
    }
}
