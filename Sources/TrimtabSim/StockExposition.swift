import Foundation
import TrimtabCore

/// The simulated cluster's metrics in the Prometheus text format, in the shapes real exporters write
/// them (as `StockMetrics` in TrimtabSandbox backfills them):
///
/// - `kubeStateMetrics`: kube-state-metrics' `kube_deployment_spec_replicas`, `kube_replicaset_owner`
///   (ReplicaSet → Deployment), and per pod `kube_pod_owner` (→ ReplicaSet), `kube_pod_status_phase`
///   (all five phases, 0 or 1) and `kube_pod_container_resource_requests`/`_limits`;
/// - `cadvisor`: the kubelet's cAdvisor, per pod and container (`app`, and the pod's own cgroup with
///   no `container` label, which a naive sum counts twice): `container_cpu_usage_seconds_total`,
///   `container_memory_working_set_bytes`;
/// - `application`: per ready pod, the client library's `http_request_duration_seconds` histogram and
///   `http_requests_total` by `code`, OpenTelemetry's `db_client_connections_usage` by `state`,
///   `db_client_connections_max` and `db_client_connections_pending_requests`, Micrometer's
///   `cache_gets_total` by `result` and `cache_evictions_total`.
///
/// Series carry the labels the scrape would have attached (`namespace`, `pod`); Prometheus scrapes
/// them with `honor_labels: true`, as kube-prometheus-stack scrapes kube-state-metrics.
public enum StockExposition {
    public static func kubeStateMetrics(_ cluster: SimCluster) -> String {
        var out = Writer()
        out.help("kube_deployment_spec_replicas", "gauge", "Number of desired pods for a deployment.")
        for service in cluster.services {
            out.sample("kube_deployment_spec_replicas", ["namespace": service.spec.namespace, "deployment": service.spec.name],
                       Double(service.settings.replicas))
        }
        out.help("kube_replicaset_owner", "gauge", "Information about the ReplicaSet's owner.")
        for service in cluster.services {
            for replicaSet in Set(service.pods.map(\.replicaSet) + [service.currentReplicaSet]).sorted() {
                out.sample("kube_replicaset_owner", ["namespace": service.spec.namespace, "replicaset": replicaSet, "owner_kind": "Deployment",
                                                     "owner_name": service.spec.name, "owner_is_controller": "true"], 1)
            }
        }
        out.help("kube_pod_owner", "gauge", "Information about the Pod's owner.")
        out.help("kube_pod_status_phase", "gauge", "The pods current phase.")
        out.help("kube_pod_container_resource_requests", "gauge", "The number of requested request resource by a container.")
        out.help("kube_pod_container_resource_limits", "gauge", "The number of requested limit resource by a container.")
        for service in cluster.services {
            for pod in service.pods {
                let base = ["namespace": service.spec.namespace, "pod": pod.name, "uid": uid(pod.name)]
                out.sample("kube_pod_owner", base.merging(["owner_kind": "ReplicaSet", "owner_name": pod.replicaSet, "owner_is_controller": "true"]) { $1 }, 1)
                // A pod is Pending until its container starts (half its readiness delay), then Running.
                let running = cluster.time >= pod.created + (pod.readyAt - pod.created) / 2
                for phase in ["Pending", "Running", "Succeeded", "Failed", "Unknown"] {
                    out.sample("kube_pod_status_phase", base.merging(["phase": phase]) { $1 },
                               (phase == "Running" && running) || (phase == "Pending" && !running) ? 1 : 0)
                }
                let container = base.merging(["container": "app", "node": node(pod.name)]) { $1 }
                out.sample("kube_pod_container_resource_requests", container.merging(["resource": "cpu", "unit": "core"]) { $1 }, service.spec.cpuRequestCores)
                out.sample("kube_pod_container_resource_requests", container.merging(["resource": "memory", "unit": "byte"]) { $1 }, service.spec.memoryLimitBytes / 2)
                out.sample("kube_pod_container_resource_limits", container.merging(["resource": "cpu", "unit": "core"]) { $1 }, service.spec.cpuLimitCores)
                out.sample("kube_pod_container_resource_limits", container.merging(["resource": "memory", "unit": "byte"]) { $1 }, service.spec.memoryLimitBytes)
            }
        }
        return out.text
    }

    public static func cadvisor(_ cluster: SimCluster) -> String {
        var out = Writer()
        out.help("container_cpu_usage_seconds_total", "counter", "Cumulative cpu time consumed in seconds.")
        out.help("container_memory_working_set_bytes", "gauge", "Current working set in bytes.")
        for service in cluster.services {
            for pod in service.pods {
                let base = ["namespace": service.spec.namespace, "pod": pod.name, "id": "/kubepods/burstable/pod\(uid(pod.name))"]
                let app = base.merging(["container": "app", "image": "registry.example.com/shop/\(service.spec.name):1.4.2",
                                        "name": "k8s_app_\(pod.name)"]) { $1 }
                // The pod's own cgroup: the app and a little for the pause container.
                out.sample("container_cpu_usage_seconds_total", app, pod.counters.cpuSeconds)
                out.sample("container_cpu_usage_seconds_total", base, pod.counters.cpuSeconds * 1.01)
                out.sample("container_memory_working_set_bytes", app, pod.gauges.memoryBytes)
                out.sample("container_memory_working_set_bytes", base, pod.gauges.memoryBytes + 1_048_576)
            }
        }
        return out.text
    }

    public static func application(_ cluster: SimCluster) -> String {
        var out = Writer()
        out.help("http_request_duration_seconds", "histogram", "Duration of HTTP requests in seconds.")
        out.help("http_requests_total", "counter", "Total HTTP requests.")
        out.help("db_client_connections_usage", "gauge", "The number of connections that are currently in state described by the state attribute.")
        out.help("db_client_connections_max", "gauge", "The maximum number of open connections allowed.")
        out.help("db_client_connections_pending_requests", "gauge", "The number of pending requests for an open connection.")
        out.help("cache_gets_total", "counter", "The number of times cache lookup methods have returned a cached (hit) or uncached (miss) value.")
        out.help("cache_evictions_total", "counter", "The number of times the cache was evicted.")
        for service in cluster.services {
            for pod in service.pods where pod.isReady(at: cluster.time) {
                let base = ["namespace": service.spec.namespace, "pod": pod.name, "service": service.spec.name, "container": "app"]
                let request = base.merging(["method": "GET", "handler": "/api"]) { $1 }
                for (index, bound) in QueueingModel.histogramBuckets.enumerated() {
                    out.sample("http_request_duration_seconds_bucket", request.merging(["le": label(bound)]) { $1 }, pod.counters.buckets[index])
                }
                let count = pod.counters.buckets[QueueingModel.histogramBuckets.count]
                out.sample("http_request_duration_seconds_bucket", request.merging(["le": "+Inf"]) { $1 }, count)
                out.sample("http_request_duration_seconds_sum", request, pod.counters.durationSum)
                out.sample("http_request_duration_seconds_count", request, count)
                out.sample("http_requests_total", request.merging(["code": "200"]) { $1 }, pod.counters.ok)
                // A service that never failed has no 5xx series at all, as a client library has it.
                if pod.counters.timeouts > 0 {
                    out.sample("http_requests_total", request.merging(["code": "504"]) { $1 }, pod.counters.timeouts)
                }
                let pool = base.merging(["pool_name": service.spec.database]) { $1 }
                out.sample("db_client_connections_usage", pool.merging(["state": "used"]) { $1 }, pod.gauges.poolUsed.rounded())
                out.sample("db_client_connections_usage", pool.merging(["state": "idle"]) { $1 }, max(0, Double(pod.granted) - pod.gauges.poolUsed.rounded()))
                out.sample("db_client_connections_max", pool, Double(pod.poolSize))
                out.sample("db_client_connections_pending_requests", pool, pod.gauges.poolPending)
                let cache = base.merging(["cache": "main", "cacheManager": "cacheManager", "name": "main"]) { $1 }
                out.sample("cache_gets_total", cache.merging(["result": "hit"]) { $1 }, pod.counters.hits)
                out.sample("cache_gets_total", cache.merging(["result": "miss"]) { $1 }, pod.counters.misses)
                out.sample("cache_evictions_total", cache, pod.counters.evictions)
            }
        }
        return out.text
    }

    static func label(_ bound: Double) -> String {
        bound == bound.rounded() ? String(format: "%.1f", bound) : String(bound)
    }

    static func uid(_ name: String) -> String { KubernetesNames.uid(name) }

    static func node(_ name: String) -> String { "node-\(["a", "b", "c"][Int(KubernetesNames.hash(name, length: 1).unicodeScalars.first!.value) % 3])" }

    /// Writes each family's samples together under its HELP and TYPE, as the text format asks.
    struct Writer {
        var families: [(name: String, header: String, lines: [String])] = []
        var text: String { families.map { $0.header + $0.lines.joined() }.joined() }

        mutating func help(_ name: String, _ type: String, _ help: String) {
            families.append((name, "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n", []))
        }

        mutating func sample(_ name: String, _ labels: [String: String], _ value: Double) {
            let line = "\(ExpositionText.series(name, labels)) \(value.isFinite ? String(value) : (value.isNaN ? "NaN" : (value > 0 ? "+Inf" : "-Inf")))\n"
            let family = families.indices.filter { name.hasPrefix(families[$0].name) }.max { families[$0].name.count < families[$1].name.count }
            if let family { families[family].lines.append(line) } else { families.append((name, "", [line])) }
        }
    }
}
