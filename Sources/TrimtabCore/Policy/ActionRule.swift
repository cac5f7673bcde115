/// A setting Trimtab may change on a workload.
public enum Knob: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The replica count, through the scale subresource.
    case replicas
    /// A key in a ConfigMap the application reads.
    case configMap(name: String, key: String)
    /// An environment variable of a container in the pod template (the first container when `nil`).
    case env(name: String, container: String?)
    /// A runtime admin endpoint of the application that takes a JSON value.
    case http(url: String)

    public var description: String {
        switch self {
        case .replicas: return "replicas"
        case .configMap(let name, let key): return "configMap \(name) key \(key)"
        case .env(let name, let container): return "env \(name)" + (container.map { " in container \($0)" } ?? "")
        case .http(let url): return "http \(url)"
        }
    }
}

/// Change the replica count towards a utilisation target.
public struct ScaleAction: Sendable, Equatable, Codable {
    public var min: Int
    public var max: Int
    /// The utilisation (0–1) the replica count aims for.
    public var utilizationTarget: Double
    /// The relative band around the target inside which nothing changes.
    public var tolerance: Double

    public init(min: Int, max: Int, utilizationTarget: Double = 0.7, tolerance: Double = 0.1) {
        self.min = min
        self.max = max
        self.utilizationTarget = utilizationTarget
        self.tolerance = tolerance
    }
}

/// Resize a connection pool, within a database's shared connection budget.
public struct PoolSizeAction: Sendable, Equatable, Codable {
    public var knob: Knob
    public var min: Int
    public var max: Int
    /// Connections the database allows in all, shared by every replica's pool.
    public var databaseConnections: Int?

    public init(knob: Knob, min: Int, max: Int, databaseConnections: Int? = nil) {
        self.knob = knob
        self.min = min
        self.max = max
        self.databaseConnections = databaseConnections
    }
}

/// Step a cache TTL up or down by a factor, never past how stale the data may be.
public struct CacheTTLAction: Sendable, Equatable, Codable {
    public var knob: Knob
    public var minSeconds: Double
    public var maxSeconds: Double
    public var factor: Double

    public init(knob: Knob, minSeconds: Double = 1, maxSeconds: Double, factor: Double = 2) {
        self.knob = knob
        self.minSeconds = minSeconds
        self.maxSeconds = maxSeconds
        self.factor = factor
    }
}

/// What an action rule does.
public enum ActionKind: Sendable, Equatable, Codable {
    case scale(ScaleAction)
    case poolSize(PoolSizeAction)
    case cacheTTL(CacheTTLAction)
}

/// Which action a bottleneck allows: `when` the named check is a bottleneck (and, if given, the
/// other named checks breach too), the action may be planned.
public struct ActionRule: Sendable, Equatable, Codable {
    /// The check whose bottleneck triggers the rule.
    public var bottleneck: String
    /// Further checks that must be in breach for the rule to apply (the cause, not the symptom).
    public var and: [String]
    public var action: ActionKind
    public var location: SourceLocation?

    public init(bottleneck: String, and: [String] = [], action: ActionKind, location: SourceLocation? = nil) {
        self.bottleneck = bottleneck
        self.and = and
        self.action = action
        self.location = location
    }
}
