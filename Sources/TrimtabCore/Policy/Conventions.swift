/// The metric conventions services already export, in one place: what each is called by the library
/// or mesh that writes it, which labels carry the status code and the workload, and the PromQL that
/// turns it into the default policy's indicators. `policy init` recognises them on a Prometheus and
/// writes a policy from the ones it finds. Adding a convention is one entry here and one test of
/// real-shaped series.
public struct MetricConvention: Sendable, Equatable {
    /// How a series is tied to its workload.
    public enum Join: String, Sendable, Equatable {
        /// Scraped per pod (labels `namespace`, `pod`): joined through the mixin's owner series.
        case pod
        /// Istio's own labels, `destination_workload` and `destination_workload_namespace`.
        case istio
        /// Linkerd's proxy labels, `namespace` and `deployment`.
        case linkerd
    }

    /// Which convention's latency comes as a histogram with `le` buckets, or a native histogram.
    public enum Histogram: Sendable, Equatable {
        case classic(bucket: String)
        case native(name: String)
    }

    public var id: String
    public var title: String
    /// Metric names that must all exist for the convention to be recognised.
    public var requires: [String]
    /// Metric names whose presence means another, more specific convention holds these series.
    public var unless: [String] = []
    /// A label the request series must carry (prom-client's `status_code` against the default's `code`).
    public var requiresLabel: String?
    public var join: Join
    /// Requests per second, per series: `rate(…{$namespaceSelector, …}[5m])`.
    public var requests: String
    /// Failed requests per second, per series.
    public var failures: String
    public var latency: Histogram
    /// What one unit of the histogram is in seconds (Istio's and Linkerd's are milliseconds).
    public var latencyUnit: Double = 1
    /// Lower is preferred when two conventions report one workload: the application's own metrics
    /// before a mesh's.
    public var rank: Int

    /// The metric whose series name the workloads, to count what was found and what could not be mapped.
    public var requestMetric: String {
        guard let brace = requests.firstIndex(of: "{") else { return requests }
        let head = requests[..<brace]
        return String(head[(head.lastIndex(of: "(").map { head.index(after: $0) } ?? head.startIndex)...])
    }

    /// The labels a request series needs to be tied to its workload.
    public var joinLabels: [String] {
        switch join {
        case .pod: return ["namespace", "pod"]
        case .istio: return ["destination_workload_namespace", "destination_workload"]
        case .linkerd: return ["namespace", "deployment"]
        }
    }
}

/// A pool or cache convention: two rates or gauges whose ratio is the indicator.
public struct ResourceConvention: Sendable, Equatable {
    public enum Kind: String, Sendable { case pool, cache }
    public var id: String
    public var title: String
    public var kind: Kind
    public var requires: [String]
    /// Per series, joined per pod: connections in use (pool), or cache hits per second.
    public var part: String
    /// Per series: the pool's size, or every lookup per second (a hits/misses pair: both summed).
    public var whole: [String]
    /// The pool's size per replica, read by the pool action (pools only).
    public var size: String?
    /// Evictions per second (caches), read by the TTL action.
    public var evictions: String?
}

public enum MetricConventions {
    static let ns = "$namespaceSelector"

    /// Request conventions, most direct first.
    public static let requests: [MetricConvention] = [
        MetricConvention(id: "micrometer", title: "Spring Boot / Micrometer", requires: ["http_server_requests_seconds_bucket"], join: .pod,
                         requests: "rate(http_server_requests_seconds_count{\(ns)}[5m])",
                         failures: "rate(http_server_requests_seconds_count{\(ns), status=~\"5..\"}[5m])",
                         latency: .classic(bucket: "http_server_requests_seconds_bucket"), rank: 0),
        MetricConvention(id: "opentelemetry", title: "OpenTelemetry semantic conventions (Prometheus exporter)",
                         requires: ["http_server_request_duration_seconds_bucket"], join: .pod,
                         requests: "rate(http_server_request_duration_seconds_count{\(ns)}[5m])",
                         failures: "rate(http_server_request_duration_seconds_count{\(ns), http_response_status_code=~\"5..\"}[5m])",
                         latency: .classic(bucket: "http_server_request_duration_seconds_bucket"), rank: 0),
        MetricConvention(id: "prometheus-client", title: "Prometheus client libraries (http_requests_total by code)",
                         requires: ["http_request_duration_seconds_bucket", "http_requests_total"], join: .pod,
                         requests: "rate(http_requests_total{\(ns)}[5m])",
                         failures: "rate(http_requests_total{\(ns), code=~\"5..\"}[5m])",
                         latency: .classic(bucket: "http_request_duration_seconds_bucket"), rank: 0),
        MetricConvention(id: "prom-client", title: "Node.js prom-client (http_request_duration_seconds by status_code)",
                         requires: ["http_request_duration_seconds_bucket"], unless: ["http_requests_total"], requiresLabel: "status_code", join: .pod,
                         requests: "rate(http_request_duration_seconds_count{\(ns)}[5m])",
                         failures: "rate(http_request_duration_seconds_count{\(ns), status_code=~\"5..\"}[5m])",
                         latency: .classic(bucket: "http_request_duration_seconds_bucket"), rank: 0),
        MetricConvention(id: "opentelemetry-native", title: "OpenTelemetry semantic conventions, as a native histogram",
                         requires: ["http_server_request_duration_seconds"], unless: ["http_server_request_duration_seconds_bucket"], join: .pod,
                         requests: "histogram_count(rate(http_server_request_duration_seconds{\(ns)}[5m]))",
                         failures: "histogram_count(rate(http_server_request_duration_seconds{\(ns), http_response_status_code=~\"5..\"}[5m]))",
                         latency: .native(name: "http_server_request_duration_seconds"), rank: 0),
        MetricConvention(id: "istio", title: "Istio (no instrumentation: the sidecar's metrics)",
                         requires: ["istio_requests_total", "istio_request_duration_milliseconds_bucket"], join: .istio,
                         requests: "rate(istio_requests_total{\(ns), reporter=\"destination\"}[5m])",
                         failures: "rate(istio_requests_total{\(ns), reporter=\"destination\", response_code=~\"5..\"}[5m])",
                         latency: .classic(bucket: "istio_request_duration_milliseconds_bucket{reporter=\"destination\"}"), latencyUnit: 0.001, rank: 1),
        MetricConvention(id: "linkerd", title: "Linkerd (no instrumentation: the proxy's metrics)",
                         requires: ["response_total", "response_latency_ms_bucket"], join: .linkerd,
                         requests: "rate(response_total{\(ns), direction=\"inbound\"}[5m])",
                         failures: "rate(response_total{\(ns), direction=\"inbound\", classification=\"failure\"}[5m])",
                         latency: .classic(bucket: "response_latency_ms_bucket{direction=\"inbound\"}"), latencyUnit: 0.001, rank: 1),
    ]

    /// Pool and cache conventions.
    public static let resources: [ResourceConvention] = [
        ResourceConvention(id: "hikaricp", title: "HikariCP through Micrometer", kind: .pool,
                           requires: ["hikaricp_connections_active", "hikaricp_connections_max"],
                           part: "hikaricp_connections_active{\(ns)}", whole: ["hikaricp_connections_max{\(ns)}"],
                           size: "hikaricp_connections_max{\(ns)}"),
        ResourceConvention(id: "otel-db-client", title: "OpenTelemetry db.client.connection.* (current names)", kind: .pool,
                           requires: ["db_client_connection_count", "db_client_connection_max"],
                           part: "db_client_connection_count{\(ns), db_client_connection_state=\"used\"}", whole: ["db_client_connection_max{\(ns)}"],
                           size: "db_client_connection_max{\(ns)}"),
        ResourceConvention(id: "otel-db-client-legacy", title: "OpenTelemetry db.client.connections.* (before semantic conventions 1.26)", kind: .pool,
                           requires: ["db_client_connections_usage", "db_client_connections_max"],
                           part: "db_client_connections_usage{\(ns), state=\"used\"}", whole: ["db_client_connections_max{\(ns)}"],
                           size: "db_client_connections_max{\(ns)}"),
        ResourceConvention(id: "micrometer-cache", title: "Caffeine or another cache through Micrometer (cache_gets_total by result)", kind: .cache,
                           requires: ["cache_gets_total"], part: "rate(cache_gets_total{\(ns), result=\"hit\"}[5m])",
                           whole: ["rate(cache_gets_total{\(ns)}[5m])"], evictions: "rate(cache_evictions_total{\(ns)}[5m])"),
        ResourceConvention(id: "hits-misses", title: "a cache_hits_total and cache_misses_total pair (prom-client and hand-written)", kind: .cache,
                           requires: ["cache_hits_total", "cache_misses_total"], part: "rate(cache_hits_total{\(ns)}[5m])",
                           whole: ["rate(cache_hits_total{\(ns)}[5m])", "rate(cache_misses_total{\(ns)}[5m])"]),
    ]

    static let owner = "namespace_workload_pod:kube_pod_owner:relabel{$selector, workload_type=\"$workloadType\"}"

    /// `expression` per series, summed by the targets' labels (and `extra`) after tying each series to its workload.
    public static func aggregate(_ expression: String, join: MetricConvention.Join, extra: [String] = []) -> String {
        let by = (["$by"] + extra).joined(separator: ", ")
        switch join {
        case .pod:
            return "sum by (\(by)) (\n  \(expression)\n  * on (namespace, pod) group_left (workload) \(owner)\n)"
        case .istio, .linkerd:
            let relabelled = join == .istio
                ? "label_replace(label_replace(\(expression), \"namespace\", \"$1\", \"destination_workload_namespace\", \"(.+)\"), \"workload\", \"$1\", \"destination_workload\", \"(.+)\")"
                : "label_replace(\(expression), \"workload\", \"$1\", \"deployment\", \"(.+)\")"
            // The mesh names the workload itself; the owner series only say which are the targets.
            return "sum by (\(by)) (\n  \(relabelled)\n  and on (namespace, workload) group by (namespace, workload) (\(owner))\n)"
        }
    }

    /// Queries for one indicator joined with `or`, each in parentheses (`or` binds loosest).
    static func union(_ parts: [String]) -> String { parts.count == 1 ? parts[0] : parts.map { "(\n\($0)\n)" }.joined(separator: "\nor\n") }

    /// The indicator queries from the request conventions found, most direct first: `A or B` keeps
    /// A's value for a workload both report, so each workload is counted once.
    public static func requestIndicators(_ found: [MetricConvention]) -> (rate: String, latency: String, errors: String) {
        let ordered = found.sorted { $0.rank < $1.rank }
        let rate = ordered.map { aggregate($0.requests, join: $0.join) }
        let latency = ordered.map { convention -> String in
            let quantile: String
            switch convention.latency {
            case .classic(let bucket):
                let selector = bucket.contains("{") ? bucket.replacingOccurrences(of: "{", with: "{\(ns), ") : bucket + "{\(ns)}"
                quantile = "histogram_quantile(0.95, \(aggregate("rate(\(selector)[5m])", join: convention.join, extra: ["le"])))"
            case .native(let name):
                // Prometheus 2.x cannot multiply a native histogram by the owner series to name its
                // workload: the quantile is taken per pod, and the workload's is the highest of its pods'.
                quantile = "max by ($by) (\n  histogram_quantile(0.95, sum by (namespace, pod) (rate(\(name){\(ns)}[5m])))\n  * on (namespace, pod) group_left (workload) \(owner)\n)"
            }
            return convention.latencyUnit == 1 ? quantile : "\(quantile) / \(Int((1 / convention.latencyUnit).rounded()))"
        }
        // A service that never failed has no failure series: `or 0 * requests` makes that a 0.
        let errors = ordered.map { convention -> String in
            let requests = aggregate(convention.requests, join: convention.join)
            return "(\n\(aggregate(convention.failures, join: convention.join))\nor\n0 * \(requests)\n)\n/ \(requests)"
        }
        return (union(rate), union(latency), union(errors))
    }

    /// The pool or cache indicators from the conventions found of one kind.
    public static func resourceIndicators(_ found: [ResourceConvention]) -> (ratio: String, size: String?, evictions: String?) {
        let ratio = found.map { convention -> String in
            let whole = convention.whole.map { aggregate($0, join: .pod) }.joined(separator: "\n+ ")
            return "\(aggregate(convention.part, join: .pod))\n/ \(convention.whole.count > 1 ? "(\(whole))" : whole)"
        }
        let sizes = found.compactMap(\.size).map { "max by ($by) (\n  \($0)\n  * on (namespace, pod) group_left (workload) \(owner)\n)" }
        let evictions = found.compactMap(\.evictions).map { aggregate($0, join: .pod) }
        return (union(ratio), sizes.isEmpty ? nil : union(sizes), evictions.isEmpty ? nil : union(evictions))
    }

    /// The conventions whose metrics `names` has (and whose required label `labels` shows).
    public static func recognise(names: Set<String>, labels: [String: Set<String>]) -> (requests: [MetricConvention], resources: [ResourceConvention]) {
        let requestsFound = requests.filter { convention in
            convention.requires.allSatisfy(names.contains) && !convention.unless.contains(where: names.contains)
                && (convention.requiresLabel.map { labels[convention.requestMetric]?.contains($0) ?? false } ?? true)
        }
        let resourcesFound = resources.filter { $0.requires.allSatisfy(names.contains) }
        return (requestsFound, resourcesFound)
    }
}

/// Writes the policy `policy init` found: the default policy's text (its checks, thresholds and
/// actions), with the indicators of requests, pools and caches replaced by those of the conventions
/// found, and a header that says what was found and what was not.
public enum PolicyInitWriter {
    public struct Found: Sendable {
        public var requests: [MetricConvention]
        public var resources: [ResourceConvention]
        /// Lines for the header: what was found per convention, what could not be mapped and why.
        public var notes: [String]
        public init(requests: [MetricConvention], resources: [ResourceConvention], notes: [String]) {
            self.requests = requests
            self.resources = resources
            self.notes = notes
        }
    }

    public static func write(defaultPolicy: String, found: Found, name: String, source: String) -> String {
        var replacements: [String: String] = [:]
        if !found.requests.isEmpty {
            let indicators = MetricConventions.requestIndicators(found.requests)
            replacements["request_rate"] = indicators.rate
            replacements["latency_p95"] = indicators.latency
            replacements["error_ratio"] = indicators.errors
        }
        let pools = found.resources.filter { $0.kind == .pool }
        if !pools.isEmpty {
            let indicators = MetricConventions.resourceIndicators(pools)
            replacements["pool_utilization"] = indicators.ratio
            if let size = indicators.size { replacements["pool_size"] = size }
        }
        let caches = found.resources.filter { $0.kind == .cache }
        if !caches.isEmpty {
            let indicators = MetricConventions.resourceIndicators(caches)
            replacements["cache_hit_ratio"] = indicators.ratio
            if let evictions = indicators.evictions { replacements["cache_evictions"] = evictions }
        }
        var lines = defaultPolicy.components(separatedBy: "\n")
        // The default's header comment gives way to what was found.
        let start = lines.firstIndex { $0.hasPrefix("apiVersion:") } ?? 0
        var header = ["# Written by `trimtab policy init` from \(source): the default policy's checks, thresholds and",
                      "# actions, with indicators for the metric conventions found there. Check it with",
                      "# `trimtab policy check --prometheus URL --policy THIS_FILE`.", "#"]
        header += found.notes.map { "# " + $0 }
        lines = header + Array(lines[start...])
        var out: [String] = []
        var index = 0
        while index < lines.count {
            let line = lines[index]
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("    "), !line.hasPrefix("     "), trimmed.hasSuffix(":"),
               let query = replacements[String(trimmed.dropLast())],
               lines[(index + 1)..<min(index + 4, lines.count)].contains(where: { $0.contains("query:") }) {
                out.append(line)
                index += 1
                // Skip the block's comments and its query (a one-line query or a literal block).
                while index < lines.count, lines[index].hasPrefix("      #") { index += 1 }
                if index < lines.count, lines[index].hasPrefix("      query:") {
                    let literal = lines[index].hasSuffix("|-") || lines[index].hasSuffix("|")
                    index += 1
                    if literal { while index < lines.count, lines[index].hasPrefix("        ") { index += 1 } }
                }
                out.append("      query: |-")
                out += query.components(separatedBy: "\n").map { "        " + $0 }
                continue
            }
            if line.hasPrefix("  name: default") { out.append("  name: \(name)"); index += 1; continue }
            out.append(line)
            index += 1
        }
        return out.joined(separator: "\n")
    }
}
