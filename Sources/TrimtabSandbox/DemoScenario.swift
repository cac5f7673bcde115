import Foundation

/// How one synthetic workload behaves over time: each figure as a function of the seconds before
/// the end of the history. `nil` means the workload exports no such metric.
public struct WorkloadProfile: Sendable {
    public typealias Curve = @Sendable (_ secondsBeforeEnd: Double) -> Double

    public var namespace: String
    public var deployment: String
    public var requestsPerSecond: Curve
    public var latencyP95: Curve
    public var errorRatio: Curve
    public var cpuUtilization: Curve
    public var memoryUtilization: Curve
    public var poolUtilization: Curve?
    public var cacheHitRatio: Curve?
    public var replicas: Double
    /// The cache TTL the application reports, when it has a cache.
    public var cacheTTLSeconds: Double
    public var evictionsPerSecond: Curve
    /// Seconds before the end after which the workload stops exporting anything (it went away).
    public var silentForLast: Double
    /// `Deployment` (pods owned through a ReplicaSet) or `StatefulSet` (pods `NAME-0`, `NAME-1`, …).
    public var kind: String
    /// Seconds before the end at which a Deployment rolled out a new ReplicaSet (its old pods went
    /// away and new ones came); `nil` for no rollout in the history.
    public var rolloutAgo: Double?
    /// Whether one pod of the current ReplicaSet was evicted and lingers in phase `Failed`, as
    /// evicted pods do until they are garbage-collected: kube-state-metrics still exports its requests.
    public var evictedPod: Bool
    /// Whether the application exports a `code="500"` series; client libraries create a label
    /// combination only once it is first seen, so a service that never failed has none.
    public var exportsErrors: Bool
    /// The conventions the workload's metrics follow (see `StockMetrics`): the demo's are the
    /// Prometheus client libraries', OpenTelemetry's legacy pool gauges and Micrometer's cache.
    public var requestShape: RequestShape = .prometheusClient
    public var mesh: MeshShape?
    public var poolShape: PoolShape = .openTelemetryLegacy
    public var cacheShape: CacheShape = .micrometer

    /// Who writes the request metrics, and so their names, labels and buckets.
    public enum RequestShape: Sendable { case prometheusClient, micrometer, openTelemetry, promClient, none }
    /// A mesh's sidecar or proxy, which reports every request too.
    public enum MeshShape: Sendable { case istio, linkerd }
    public enum PoolShape: Sendable { case openTelemetryLegacy, openTelemetry, hikari }
    public enum CacheShape: Sendable { case micrometer, hitsMisses }

    public init(namespace: String, deployment: String, requestsPerSecond: @escaping Curve = { _ in 50 },
                latencyP95: @escaping Curve, errorRatio: @escaping Curve = { _ in 0.0005 },
                cpuUtilization: @escaping Curve = { _ in 0.4 }, memoryUtilization: @escaping Curve = { _ in 0.5 },
                poolUtilization: Curve? = nil, cacheHitRatio: Curve? = nil, replicas: Double = 4,
                cacheTTLSeconds: Double = 60, evictionsPerSecond: @escaping Curve = { _ in 0.1 }, silentForLast: Double = 0,
                kind: String = "Deployment", rolloutAgo: Double? = 6000, evictedPod: Bool = false, exportsErrors: Bool = true) {
        self.namespace = namespace
        self.deployment = deployment
        self.requestsPerSecond = requestsPerSecond
        self.latencyP95 = latencyP95
        self.errorRatio = errorRatio
        self.cpuUtilization = cpuUtilization
        self.memoryUtilization = memoryUtilization
        self.poolUtilization = poolUtilization
        self.cacheHitRatio = cacheHitRatio
        self.replicas = replicas
        self.cacheTTLSeconds = cacheTTLSeconds
        self.evictionsPerSecond = evictionsPerSecond
        self.silentForLast = silentForLast
        self.kind = kind
        self.rolloutAgo = rolloutAgo
        self.evictedPod = evictedPod
        self.exportsErrors = exportsErrors
    }
}

/// The metrics a cluster monitored the usual way holds for profiled workloads, in the shapes real
/// exporters write them (see `StockMetrics`), so the default policy's queries run unchanged on them.
public enum RawMetrics {
    /// The histogram buckets of `http_request_duration_seconds` (client_golang's defaults, trimmed).
    public static let buckets: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    public static func series(for profiles: [WorkloadProfile], start: Double, end: Double, step: Double) -> [SyntheticSeries] {
        profiles.flatMap { StockMetrics(profile: $0, start: start, end: end, step: step).series() }
    }

    /// The share of requests at or below `bucket` such that `histogram_quantile(0.95, …)` reads `p95`
    /// back exactly: a share `a` sits at the bucket below p95 and the rest in p95's bucket, so the
    /// linear interpolation Prometheus does lands on p95.
    static func cumulativeShare(atOrBelow bucket: Double, p95: Double) -> Double {
        let bounds = [0.0] + buckets
        guard let upperIndex = bounds.firstIndex(where: { $0 > p95 }), upperIndex > 0 else { return 1 }
        let lower = bounds[upperIndex - 1], upper = bounds[upperIndex]
        let x = (p95 - lower) / (upper - lower)
        let below = max(0, (0.95 - x) / (1 - x))
        if bucket < upper { return bucket >= lower && lower > 0 ? below : 0 }
        return 1
    }

    /// A bucket bound as client libraries write `le`: `0.05`, `1.0`, `+Inf`.
    static func le(_ value: Double) -> String {
        if value == .infinity { return "+Inf" }
        return value == value.rounded() ? String(format: "%.1f", value) : String(value)
    }
}

/// The bundled demo: seven services in namespace `shop`, each showing one situation the default
/// policy should tell apart.
public enum DemoScenario {
    public static let namespace = "shop"
    /// Seconds of history the demo writes.
    public static let historySeconds: Double = 3 * 3600
    public static let scrapeInterval: Double = 30

    public static var profiles: [WorkloadProfile] {
        [
            // CPU-bound: latency and CPU critical for the last 40 minutes.
            WorkloadProfile(namespace: namespace, deployment: "checkout",
                            latencyP95: { ago in ago < 2400 ? 2.6 : 0.4 },
                            cpuUtilization: { ago in ago < 2400 ? 0.95 : 0.5 },
                            poolUtilization: { _ in 0.4 }, cacheHitRatio: { _ in 0.9 }, evictedPod: true),
            // A one-minute latency spike 30 minutes ago: it must not count as a bottleneck.
            WorkloadProfile(namespace: namespace, deployment: "cart",
                            latencyP95: { ago in ago >= 1800 && ago < 1860 ? 6 : 0.3 },
                            poolUtilization: { _ in 0.3 }, cacheHitRatio: { _ in 0.93 }, replicas: 2),
            // Healthy and idle: CPU far under target for hours, so it could run on fewer replicas.
            WorkloadProfile(namespace: namespace, deployment: "catalog", latencyP95: { _ in 0.18 },
                            cpuUtilization: { _ in 0.3 }, cacheHitRatio: { _ in 0.92 }, replicas: 6, evictedPod: true),
            // Pool-bound: latency in warning, the connection pool saturated, CPU low.
            WorkloadProfile(namespace: namespace, deployment: "payments",
                            latencyP95: { ago in ago < 3000 ? 1.4 : 0.5 }, cpuUtilization: { _ in 0.3 },
                            poolUtilization: { ago in ago < 3000 ? 0.97 : 0.6 }, replicas: 3),
            // An error spike with no capacity cause: reported, not scaled.
            WorkloadProfile(namespace: namespace, deployment: "orders", latencyP95: { _ in 0.25 },
                            errorRatio: { ago in ago < 1200 ? 0.12 : 0.0005 }, replicas: 2),
            // Cache-cold: hit ratio far below the warning threshold.
            WorkloadProfile(namespace: namespace, deployment: "search", latencyP95: { _ in 0.6 },
                            cacheHitRatio: { ago in ago < 5400 ? 0.45 : 0.85 }),
            // Gone quiet: nothing exported for the last 30 minutes, so everything about it is unknown.
            WorkloadProfile(namespace: namespace, deployment: "inventory", latencyP95: { _ in 0.2 },
                            poolUtilization: { _ in 0.2 }, silentForLast: 1800),
        ]
    }

    /// The demo history as OpenMetrics, ending at `end` (Unix seconds).
    public static func openMetrics(end: Double) -> String {
        let start = end - historySeconds
        return OpenMetricsWriter.write(RawMetrics.series(for: profiles, start: start, end: end, step: scrapeInterval),
                                       start: start, end: end, step: scrapeInterval)
    }
}
