/// A setting Trimtab may change on a workload.
public enum Knob: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The replica count, through the scale subresource.
    case replicas
    /// A key in a ConfigMap the application reads; with `restart`, a rollout restart follows the change
    /// for applications that read their configuration only at start.
    case configMap(name: String, key: String, restart: Bool = false)
    /// An environment variable of a container in the pod template (the first container when `nil`).
    case env(name: String, container: String?)
    /// A runtime admin endpoint of the application that takes a JSON value.
    case http(url: String)
    /// A JMX attribute of every pod's JVM, through its Jolokia agent (HikariCP's `MaximumPoolSize`,
    /// say): read and written on each ready pod of the workload, live, without a restart.
    case jolokia(JolokiaKnob)
    /// An application's admin endpoint on each ready pod (`GET`/`PUT` of `{"value": …}` at
    /// `http://POD_IP:PORT/PATH`): for a setting each process holds, as Go's `SetMaxOpenConns`.
    case podHTTP(PodHTTPKnob)
    /// A setting of pgbouncer (`default_pool_size`, say) on the admin console of each ready pod of a
    /// pgbouncer Deployment: `SHOW CONFIG` and `SET`, live, without a restart.
    case pgbouncer(PgBouncerKnob)
    /// The `maxReplicas` of the HorizontalPodAutoscaler that owns the workload's replicas. With
    /// `scaledObject`, KEDA's ScaledObject of that name owns the HPA (and reverts edits to it), so the
    /// change is written to the ScaledObject's `maxReplicaCount` instead.
    case autoscalerMaxReplicas(name: String, scaledObject: String? = nil)
    /// The CPU target of that HPA: `averageUtilization` (percent of requests) of its `Resource` metric on
    /// `cpu`; for a ScaledObject, the `metadata.value` of its `cpu` trigger.
    case autoscalerTargetUtilization(name: String, scaledObject: String? = nil)
    /// That HPA's `behavior.scaleDown.stabilizationWindowSeconds` (300 when unset, as the HPA defaults it);
    /// for a ScaledObject, the same field under `spec.advanced.horizontalPodAutoscalerConfig`.
    case autoscalerScaleDownWindow(name: String, scaledObject: String? = nil)

    /// The HPA a knob lives on, when it is one of an HPA's.
    public var autoscaler: String? {
        switch self {
        case .autoscalerMaxReplicas(let name, _), .autoscalerTargetUtilization(let name, _), .autoscalerScaleDownWindow(let name, _): return name
        case .replicas, .configMap, .env, .http, .jolokia, .podHTTP, .pgbouncer: return nil
        }
    }

    /// The KEDA ScaledObject a knob is written to, when one owns the HPA.
    public var scaledObject: String? {
        switch self {
        case .autoscalerMaxReplicas(_, let owner), .autoscalerTargetUtilization(_, let owner), .autoscalerScaleDownWindow(_, let owner): return owner
        case .replicas, .configMap, .env, .http, .jolokia, .podHTTP, .pgbouncer: return nil
        }
    }

    /// The name an application knows the setting by: the env var, the ConfigMap key or the URL.
    public var settingName: String? {
        switch self {
        case .env(let name, _): return name
        case .configMap(_, let key, _): return key
        case .http(let url): return url
        case .jolokia(let spec): return spec.attribute
        case .podHTTP(let spec): return spec.path
        case .pgbouncer(let spec): return spec.setting
        case .replicas, .autoscalerMaxReplicas, .autoscalerTargetUtilization, .autoscalerScaleDownWindow: return nil
        }
    }

    public var description: String {
        switch self {
        case .replicas: return "replicas"
        case .configMap(let name, let key, let restart): return "configMap \(name) key \(key)" + (restart ? " (then restart)" : "")
        case .env(let name, let container): return "env \(name)" + (container.map { " in container \($0)" } ?? "")
        case .http(let url): return "http \(url)"
        case .jolokia(let spec): return "jolokia \(spec.mbean) \(spec.attribute) on each pod's port \(spec.port)"
        case .podHTTP(let spec): return "http \(spec.path) on each pod's port \(spec.port)"
        case .pgbouncer(let spec): return "pgbouncer \(spec.setting) on each pod's port \(spec.port)"
        case .autoscalerMaxReplicas(_, let owner?): return "scaledobject \(owner) maxReplicaCount"
        case .autoscalerTargetUtilization(_, let owner?): return "scaledobject \(owner) cpu trigger value"
        case .autoscalerScaleDownWindow(_, let owner?): return "scaledobject \(owner) scaleDown stabilizationWindowSeconds"
        case .autoscalerMaxReplicas(let name, nil): return "hpa \(name) maxReplicas"
        case .autoscalerTargetUtilization(let name, nil): return "hpa \(name) cpu averageUtilization"
        case .autoscalerScaleDownWindow(let name, nil): return "hpa \(name) scaleDown stabilizationWindowSeconds"
        }
    }
}

/// A JMX attribute read and written through Jolokia's JSON protocol on every ready pod of a workload:
/// `POST http://POD_IP:PORT/PATH` with `{"type": "read" | "write", "mbean": …, "attribute": …}`.
public struct JolokiaKnob: Sendable, Hashable, Codable {
    /// A container port of the pod, by name (as a Service's `targetPort` names one) or number.
    public var port: String
    /// The agent's path: `/jolokia` for the JVM agent and Spring Boot's `/actuator/jolokia`.
    public var path: String
    public var mbean: String
    public var attribute: String
    public var scheme: String

    public init(port: String, path: String = "/jolokia", mbean: String, attribute: String, scheme: String = "http") {
        self.port = port
        self.path = path
        self.mbean = mbean
        self.attribute = attribute
        self.scheme = scheme
    }
}

/// An admin endpoint on every ready pod of a workload.
public struct PodHTTPKnob: Sendable, Hashable, Codable {
    /// A container port, by name or number.
    public var port: String
    public var path: String
    public var scheme: String

    public init(port: String, path: String, scheme: String = "http") {
        self.port = port
        self.path = path
        self.scheme = scheme
    }
}

/// A pgbouncer setting on the admin console (the PostgreSQL protocol, database `pgbouncer`) of every
/// ready pod of a pgbouncer Deployment.
public struct PgBouncerKnob: Sendable, Hashable, Codable {
    /// The container port pgbouncer listens on, by name or number.
    public var port: String
    /// An admin user (pgbouncer's `admin_users`).
    public var user: String
    /// A file in Trimtab's pod holding that user's password (a mounted Secret); none for `trust`.
    public var passwordFile: String?
    /// The setting, as `SHOW CONFIG` names it.
    public var setting: String

    public init(port: String = "pgbouncer", user: String, passwordFile: String? = nil, setting: String = "default_pool_size") {
        self.port = port
        self.user = user
        self.passwordFile = passwordFile
        self.setting = setting
    }
}

/// How far one change may move a replica count, and over what window recommendations are
/// stabilized (as the HorizontalPodAutoscaler's `behavior`).
public struct StepPolicy: Sendable, Equatable, Codable {
    /// The window whose recommendations are compared: for scale-down the highest wins, for scale-up the lowest.
    public var stabilizationSeconds: Double
    /// A change may move by this many pods…
    public var maxPods: Int
    /// …or this share of the current count, whichever is more.
    public var maxPercent: Double

    public init(stabilizationSeconds: Double, maxPods: Int, maxPercent: Double) {
        self.stabilizationSeconds = stabilizationSeconds
        self.maxPods = maxPods
        self.maxPercent = maxPercent
    }

    /// The HPA's scale-up default: no stabilization, up to max(4 pods, 100 %).
    public static let scaleUpDefault = StepPolicy(stabilizationSeconds: 0, maxPods: 4, maxPercent: 100)
    /// The HPA's scale-down default: a 5-minute window, up to 100 %.
    public static let scaleDownDefault = StepPolicy(stabilizationSeconds: 300, maxPods: 0, maxPercent: 100)

    /// The most a change from `current` may move.
    public func maxStep(from current: Int) -> Int {
        max(maxPods, Int((Double(current) * maxPercent / 100).rounded(.down)), 1)
    }
}

/// Change the replica count towards a utilisation target, as the HPA does:
/// `desired = ceil(current × observed / target)`.
public struct ScaleAction: Sendable, Equatable, Codable {
    /// The indicator that gives the current replica count.
    public var replicas: String
    /// The indicator whose value is the observed utilisation (0–1).
    public var utilization: String
    public var utilizationTarget: Double
    public var min: Int
    public var max: Int
    /// The relative band around the target inside which nothing changes.
    public var tolerance: Double
    public var scaleUp: StepPolicy
    public var scaleDown: StepPolicy
    /// What to do when a HorizontalPodAutoscaler owns the replicas: Trimtab never writes them, and
    /// instead proposes raising the HPA's `maxReplicas` when the HPA is pinned at it.
    public enum AutoscalerMode: String, Sendable, Codable, CaseIterable {
        /// The change to the HPA is in the plan, held for a person to make.
        case propose
        /// The change to the HPA may be applied like any other.
        case apply
    }
    public var autoscaler: AutoscalerMode = .propose
    /// How far Trimtab may move the CPU target of an HPA that owns the replicas, from the error budget.
    public var autoscalerTarget = AutoscalerTargetBounds()
    /// When the HPA's own replica changes show it flapping, and how far its scale-down window may grow.
    public var flapping = FlappingRule()
    /// A seasonal forecast of the load that raises the replicas ahead of a peak (never lowers them).
    public var forecast: ForecastRule?

    public init(replicas: String = "replicas", utilization: String = "cpu_utilization", utilizationTarget: Double = 0.7,
                min: Int, max: Int, tolerance: Double = 0.1, scaleUp: StepPolicy = .scaleUpDefault,
                scaleDown: StepPolicy = .scaleDownDefault) {
        self.replicas = replicas
        self.utilization = utilization
        self.utilizationTarget = utilizationTarget
        self.min = min
        self.max = max
        self.tolerance = tolerance
        self.scaleUp = scaleUp
        self.scaleDown = scaleDown
    }
}

/// `forecast: {load: request_rate, lead: 5m}`: the load indicator's history is read at `step` over
/// `history`, forecast (see `LoadForecast`), and the replicas are raised ahead of a peak by `lead`
/// (the pods' start-up time): to what the forecast peak of the next `lead + step` needs at the
/// utilisation target. Never a scale-in on a forecast; a forecast whose error is above `maxError`
/// is not used.
public struct ForecastRule: Sendable, Equatable, Codable {
    public var load: String
    public var historySeconds: Double
    public var stepSeconds: Double
    public var leadSeconds: Double
    public var maxError: Double

    public init(load: String = "request_rate", historySeconds: Double = 8 * 86_400, stepSeconds: Double = 300,
                leadSeconds: Double = 300, maxError: Double = 0.25) {
        self.load = load
        self.historySeconds = historySeconds
        self.stepSeconds = stepSeconds
        self.leadSeconds = leadSeconds
        self.maxError = maxError
    }

    /// How far ahead the forecast looks: the lead, and one step of load after it.
    public var horizonSeconds: Double { leadSeconds + stepSeconds }
}

/// The range and step of an HPA's CPU target (`averageUtilization`, in percent of requests) that
/// Trimtab may set from the error budget: raised a step while every objective has budget to spare,
/// lowered a step while one burns fast.
public struct AutoscalerTargetBounds: Sendable, Equatable, Codable {
    public var minPercent: Double
    public var maxPercent: Double
    public var stepPercent: Double

    public init(minPercent: Double = 50, maxPercent: Double = 90, stepPercent: Double = 5) {
        self.minPercent = minPercent
        self.maxPercent = maxPercent
        self.stepPercent = stepPercent
    }
}

/// An HPA flaps when its replica count reverses direction at least `reversals` times within
/// `windowSeconds`; Trimtab then doubles its scale-down stabilization window, up to `maxWindowSeconds`.
public struct FlappingRule: Sendable, Equatable, Codable {
    public var reversals: Int
    public var windowSeconds: Double
    public var maxWindowSeconds: Double

    public init(reversals: Int = 2, windowSeconds: Double = 3600, maxWindowSeconds: Double = 900) {
        self.reversals = reversals
        self.windowSeconds = windowSeconds
        self.maxWindowSeconds = maxWindowSeconds
    }
}

/// Resize a connection pool, within a database's shared connection budget.
///
/// With `throughput` and `holdTime` the size follows Little's law: connections needed per replica ≈
/// acquisitions per second per replica × seconds each is held × headroom. Without them it follows the
/// pool's utilisation towards `utilizationTarget`, as the scaler does for replicas.
public struct PoolSizeAction: Sendable, Equatable, Codable {
    public var knob: Knob
    /// Knobs for the same setting to fall back to, in order, where `knob` cannot be used on a target
    /// (a live knob first, an env var after it): see `ActionKind.knobs`.
    public var fallbacks: [Knob]?
    /// The indicator that gives the current pool size per replica.
    public var size: String
    /// The indicator of the pool's utilisation (in use / size).
    public var utilization: String
    public var utilizationTarget: Double
    /// The indicator of connection acquisitions per second, for the whole target.
    public var throughput: String?
    /// The indicator of the mean seconds a connection is held.
    public var holdTime: String?
    public var headroom: Double
    /// The indicator that gives the current replica count (for the shared budget).
    public var replicas: String
    public var min: Int
    public var max: Int
    /// The most one change may move the size, as a share of it.
    public var maxStepPercent: Double
    /// Connections the database allows in all, shared by every replica's pool.
    public var databaseConnections: Int?
    /// Or an indicator that gives it (e.g. `pg_settings_max_connections`).
    public var databaseConnectionsIndicator: String?

    public init(knob: Knob, size: String = "pool_size", utilization: String = "pool_utilization",
                utilizationTarget: Double = 0.7, throughput: String? = nil, holdTime: String? = nil, headroom: Double = 1.2,
                replicas: String = "replicas", min: Int, max: Int, maxStepPercent: Double = 50,
                databaseConnections: Int? = nil, databaseConnectionsIndicator: String? = nil) {
        self.knob = knob
        self.size = size
        self.utilization = utilization
        self.utilizationTarget = utilizationTarget
        self.throughput = throughput
        self.holdTime = holdTime
        self.headroom = headroom
        self.replicas = replicas
        self.min = min
        self.max = max
        self.maxStepPercent = maxStepPercent
        self.databaseConnections = databaseConnections
        self.databaseConnectionsIndicator = databaseConnectionsIndicator
    }
}

/// Step a cache TTL up or down by a factor, never past how stale the data may be.
public struct CacheTTLAction: Sendable, Equatable, Codable {
    public var knob: Knob
    /// Knobs for the same setting to fall back to, in order (see `PoolSizeAction.fallbacks`).
    public var fallbacks: [Knob]?
    /// The indicator that gives the current TTL in seconds.
    public var ttl: String
    public var minSeconds: Double
    /// How stale the data may be: the TTL never goes above it.
    public var maxSeconds: Double
    public var factor: Double
    /// The indicator of evictions per second; above `evictionsAbove` the cache is full, so the TTL shortens.
    public var evictions: String?
    public var evictionsAbove: Double
    /// A check whose breach means memory pressure: the TTL shortens instead of growing.
    public var memory: String?

    public init(knob: Knob, ttl: String = "cache_ttl_seconds", minSeconds: Double = 1, maxSeconds: Double, factor: Double = 2,
                evictions: String? = nil, evictionsAbove: Double = 1, memory: String? = nil) {
        self.knob = knob
        self.ttl = ttl
        self.minSeconds = minSeconds
        self.maxSeconds = maxSeconds
        self.factor = factor
        self.evictions = evictions
        self.evictionsAbove = evictionsAbove
        self.memory = memory
    }
}

/// What an action rule does.
public enum ActionKind: Sendable, Equatable, Codable {
    case scale(ScaleAction)
    case poolSize(PoolSizeAction)
    case cacheTTL(CacheTTLAction)

    public var knob: Knob {
        switch self {
        case .scale: return .replicas
        case .poolSize(let action): return action.knob
        case .cacheTTL(let action): return action.knob
        }
    }

    /// The knobs the policy declares for the action's setting, preferred first: a target uses the first
    /// whose value could be read and, for a ConfigMap key without a restart, whose ConfigMap is
    /// mounted whole, so a policy can prefer a live knob and fall back to an env var.
    public var knobs: [Knob] {
        switch self {
        case .scale: return [.replicas]
        case .poolSize(let action): return [action.knob] + (action.fallbacks ?? [])
        case .cacheTTL(let action): return [action.knob] + (action.fallbacks ?? [])
        }
    }

    public var name: String {
        switch self {
        case .scale: return "scale"
        case .poolSize: return "poolSize"
        case .cacheTTL: return "cacheTTL"
        }
    }

    /// Every indicator the action reads.
    public var indicators: [String] {
        switch self {
        case .scale(let action): return [action.replicas, action.utilization]
        case .poolSize(let action):
            return [action.size, action.utilization, action.replicas] + [action.throughput, action.holdTime, action.databaseConnectionsIndicator].compactMap { $0 }
        case .cacheTTL(let action): return [action.ttl] + [action.evictions].compactMap { $0 }
        }
    }
}

/// Which action a bottleneck allows: `when` the named check is a bottleneck, the checks in `and` are
/// in breach too and those in `unless` are not (the cause, not the symptom), the action may be planned.
public struct ActionRule: Sendable, Equatable, Codable {
    /// The check whose bottleneck triggers the rule.
    public var bottleneck: String
    /// Checks that must be in breach (warning or critical) for the rule to apply.
    public var and: [String]
    /// Checks that must not be in breach for the rule to apply.
    public var unless: [String]
    public var action: ActionKind
    public var location: SourceLocation?

    public init(bottleneck: String, and: [String] = [], unless: [String] = [], action: ActionKind, location: SourceLocation? = nil) {
        self.bottleneck = bottleneck
        self.and = and
        self.unless = unless
        self.action = action
        self.location = location
    }
}

/// Limits on every change, whatever the action.
public struct SafetySettings: Sendable, Equatable, Codable {
    /// A target and knob changed within this many seconds is left alone.
    public var cooldownSeconds: Double
    /// The most changes in any hour, over all targets.
    public var maxChangesPerHour: Int
    /// When true, nothing is changed; the plan still says what would be.
    public var freeze: Bool
    /// Seconds after a change before it is judged (used when acting on the cluster).
    public var verifyAfterSeconds: Double
    /// A change is rolled back when the target's score falls by more than this.
    public var rollbackIfScoreDropsBy: Double
    /// How much better (as a share of its value at the change) the bottleneck's indicator must be at
    /// verification, unless it is out of breach: a change that moved it less did not help.
    public var minImprovement: Double
    /// When changes may be made; nil: at any time.
    public var changeWindows: ChangeWindows?
    /// How objects Argo CD or Flux manage are changed: through patches for Git.
    public var gitOps: GitOpsSettings
    /// How long closed journal entries are kept after their last change (see `JournalRetention`).
    public var journalRetentionSeconds: Double

    public init(cooldownSeconds: Double = 600, maxChangesPerHour: Int = 6, freeze: Bool = false,
                verifyAfterSeconds: Double = 300, rollbackIfScoreDropsBy: Double = 10, minImprovement: Double = 0.05,
                changeWindows: ChangeWindows? = nil, gitOps: GitOpsSettings = GitOpsSettings(),
                journalRetentionSeconds: Double = JournalRetention.defaultSeconds) {
        self.cooldownSeconds = cooldownSeconds
        self.maxChangesPerHour = maxChangesPerHour
        self.freeze = freeze
        self.verifyAfterSeconds = verifyAfterSeconds
        self.rollbackIfScoreDropsBy = rollbackIfScoreDropsBy
        self.minImprovement = minImprovement
        self.changeWindows = changeWindows
        self.gitOps = gitOps
        self.journalRetentionSeconds = journalRetentionSeconds
    }
}
