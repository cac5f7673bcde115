import TrimtabCore

/// A simulated service: what one request costs, what a pod holds, and its settings at the start.
public struct ServiceSpec: Sendable, Equatable {
    public var name: String
    public var namespace: String = "shop"
    public var load: LoadTrace
    /// CPU seconds one request uses.
    public var cpuSecondsPerRequest: Double = 0.01
    /// What each pod's `app` container requests and may use.
    public var cpuRequestCores: Double = 0.5
    public var cpuLimitCores: Double = 1
    /// Network and framework time every request spends, whatever the load.
    public var baseLatency: Double = 0.02
    /// How long a cache miss holds a database connection at an idle database.
    public var dbSecondsPerQuery: Double = 0.02
    public var database: String = "shopdb"
    /// Distinct keys a pod is asked for, and entries its cache holds.
    public var keys: Double = 3_000
    public var cacheCapacity: Double = 20_000
    public var entryBytes: Double = 4_096
    public var baseMemoryBytes: Double = 180 * 1_048_576
    public var memoryLimitBytes: Double = 512 * 1_048_576
    /// A request waiting longer than this fails (504).
    public var timeout: Double = 5
    /// Seconds from a pod's creation until it is ready and gets traffic.
    public var readyDelay: Double = 30
    /// Settings at the start.
    public var replicas: Int = 4
    public var poolSize: Int = 10
    public var ttl: Double = 30
    /// Whether the pods at the start have just started (empty caches) rather than run for an hour.
    public var startsCold = false
    /// A HorizontalPodAutoscaler on CPU, when the service has one.
    public var autoscaler: AutoscalerSpec?

    public init(name: String, load: LoadTrace) {
        self.name = name
        self.load = load
    }
}

/// A HorizontalPodAutoscaler's bounds, CPU target and scale-down window.
public struct AutoscalerSpec: Sendable, Equatable {
    public var minReplicas: Int
    public var maxReplicas: Int
    public var targetUtilization: Double
    /// `behavior.scaleDown.stabilizationWindowSeconds`: the HPA's default is 300.
    public var scaleDownStabilizationSeconds: Double

    public init(minReplicas: Int, maxReplicas: Int, targetUtilization: Double = 0.7, scaleDownStabilizationSeconds: Double = 300) {
        self.minReplicas = minReplicas
        self.maxReplicas = maxReplicas
        self.targetUtilization = targetUtilization
        self.scaleDownStabilizationSeconds = scaleDownStabilizationSeconds
    }
}

/// A database several services share: how many connections it accepts, and how many queries it runs
/// at once at full speed.
public struct DatabaseSpec: Sendable, Equatable {
    public var name: String
    public var maxConnections: Int
    public var cores: Double

    public init(name: String = "shopdb", maxConnections: Int = 200, cores: Double = 6) {
        self.name = name
        self.maxConnections = maxConnections
        self.cores = cores
    }
}

/// What the Deployment (and HPA) of a service hold now: what controllers write.
public struct ServiceSettings: Sendable, Equatable {
    public var replicas: Int
    /// The pool size and TTL of the pod template: a change rolls the pods.
    public var poolSize: Int
    public var ttl: Double
    public var autoscaler: AutoscalerSpec?
    /// What the ConfigMap mounted into the pods holds, when set: a running pod re-reads it once the
    /// kubelet has refreshed the volume (`liveVisibleAt`), a new pod reads it at its start. No pod rolls.
    public var livePoolSize: Int? = nil
    public var liveTTL: Double? = nil
    public var liveVisibleAt: Double = -.infinity

    /// How long after a ConfigMap write its mounted file changes in the pods: the kubelet's sync
    /// period (1 min by default) plus its cache's TTL, about a minute in all (Kubernetes' docs).
    public static let configMapRefreshSeconds = 60.0

    public init(replicas: Int, poolSize: Int, ttl: Double, autoscaler: AutoscalerSpec?) {
        self.replicas = replicas
        self.poolSize = poolSize
        self.ttl = ttl
        self.autoscaler = autoscaler
    }
}

extension ServiceSpec {
    /// The target this service is under the policy's `groupBy` (namespace and workload), as the
    /// policy's queries name it.
    public func target(under policy: Policy) -> TargetID {
        TargetID(labelNames: policy.targets.groupBy, labelValues: policy.targets.groupBy.map { $0 == "namespace" ? namespace : name })
    }
}
