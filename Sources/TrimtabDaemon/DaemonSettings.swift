import TrimtabCore
import TrimtabCycle
import TrimtabKube
import TrimtabNotify

/// How `trimtab run` behaves, from its flags.
public struct DaemonSettings: Sendable {
    /// Policy files or a directory, watched for changes; nil runs the built-in default (never reloaded).
    public var policyPath: String?
    /// `--namespace`, applied to every policy loaded (reloads included).
    public var namespaceOverride: String?
    /// Seconds between cycles; nil takes the policy's `spec.evaluation.interval`.
    public var interval: Double?
    /// The longest a cycle's read of Prometheus may take; nil: the interval.
    public var cycleTimeout: Double?
    public var maxConcurrentQueries = 4
    /// `--apply` (enforce) or `--dry-run`, over the policy's mode.
    public var modeOverride: PolicyMode?
    /// `--patch-dir`: where changes to objects a GitOps tool manages are written as patch files.
    public var patchDirectory: String?
    /// Seconds of points read again every cycle; nil: two steps, at least 30 seconds.
    public var overlapSeconds: Double?
    /// Stop after this many cycles (tests and demos); nil runs until a signal.
    public var maxCycles: Int?
    /// Objects whose `trimtab.io/paused: "true"` annotation pauses every action.
    public var killSwitches: [KillSwitch] = []
    public var identity: String
    public var election = ElectionTimings()
    /// Wait up to half an interval (at most 15 s) before the first cycle, so replicas started together
    /// do not query at once.
    public var firstCycleJitter = true
    /// Receivers named by flags, added to the policy's `spec.notify` (reloads included).
    public var notifyFlags = NotifySettings()
    public var notifyOptions = Notifier.Options()
    /// The clock of the schedule, the evaluation times and the wall-clock stamps (a manual one in tests).
    public var clock: any TimeSource = SystemClock()
    /// The shard this loop acts on (`--shard`): every policy, reloads included, is confined to its
    /// namespaces. Nil: the whole of what the policies cover.
    public var shard: Shard?

    public init(identity: String) {
        self.identity = identity
    }
}

/// An object whose annotation pauses the daemon: `kubectl annotate configmap/trimtab-policy trimtab.io/paused=true`.
public struct KillSwitch: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable { case configMap = "configmap", deployment }
    public var kind: Kind
    public var namespace: String
    public var name: String

    public init(kind: Kind, namespace: String, name: String) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
    }

    public static let annotation = "trimtab.io/paused"

    public var description: String { "\(kind.rawValue)/\(name) in namespace \(namespace)" }

    /// Reads `configmap:NS/NAME` or `deployment:NS/NAME`.
    public static func parse(_ text: String) -> KillSwitch? {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let kind = Kind(rawValue: parts[0].lowercased()) else { return nil }
        let names = parts[1].split(separator: "/").map(String.init)
        guard names.count == 2, !names[0].isEmpty, !names[1].isEmpty else { return nil }
        return KillSwitch(kind: kind, namespace: names[0], name: names[1])
    }
}

