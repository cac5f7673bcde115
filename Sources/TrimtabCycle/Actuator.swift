import Foundation
import TrimtabCore

/// What a knob holds now, and the version of the object it was read from.
public struct KnobReading: Sendable, Equatable {
    /// The value as the object spells it; `nil` when the key or variable is absent.
    public var value: String?
    /// The object's `metadata.resourceVersion` (or an HTTP ETag): a write is conditional on it.
    public var version: String?
    /// Where exactly the value was found (the container of an env var).
    public var location: String?
    /// For a knob that lives in each pod: what each ready pod holds, by pod name.
    public var pods: [PodValue]?

    public init(value: String?, version: String?, location: String? = nil, pods: [PodValue]? = nil) {
        self.value = value
        self.version = version
        self.location = location
        self.pods = pods
    }
}

/// What one pod holds of a knob that lives in each pod, and since when the pod's containers run.
public struct PodValue: Sendable, Equatable {
    public var pod: String
    public var value: String?
    /// When its containers last started (a restart loses a value set at run time).
    public var startedAt: Double?

    public init(pod: String, value: String?, startedAt: Double?) {
        self.pod = pod
        self.value = value
        self.startedAt = startedAt
    }
}

/// Reads and writes one knob of one workload. Every write is conditional on the version read, so a
/// concurrent change is answered with a conflict and never overwritten blindly.
public protocol Actuator: Sendable {
    var knob: Knob { get }
    var workload: WorkloadRef { get }
    /// Whether the API server can judge a write without storing it (`dryRun=All`).
    var supportsServerDryRun: Bool { get }
    func read() async throws(KubeError) -> KnobReading
    /// Writes `value` (`nil` removes the key or variable) over what `reading` saw.
    func write(_ value: String?, over reading: KnobReading, dryRun: Bool) async throws(KubeError)
    /// Changes the version of the object `reading` came from without changing the knob, conditional on
    /// that version, so that a write of Trimtab's still in flight (it carries the old version) fails
    /// with a conflict instead of landing after recovery closed its entry. A 409 here means something
    /// changed since `reading`: read again and decide again.
    func fence(over reading: KnobReading, note: String) async throws(KubeError)
}

extension Actuator {
    public var supportsServerDryRun: Bool { true }
}

