import TrimtabCore

/// A cluster a cycle can plan against and act on: its facts, its journal and its knobs. The
/// Kubernetes API (`KubeCluster`) and the simulated cluster of the control benchmark implement it, so
/// both run the same executor: journal, verification, rollback and recovery.
public protocol Cluster: Sendable {
    /// The API server as reports and errors show it (never with credentials).
    var server: String { get }
    /// Where the changes are journaled.
    var journal: any JournalStore { get }
    /// How long a write whose answer was lost may still arrive: recovery waits this out before it
    /// closes an entry it cannot fence.
    var writeTimeoutSeconds: Double { get }
    /// What the cluster says of the targets: frozen workloads, autoscalers, the knobs' values.
    func facts(for targets: [TargetID], policy: Policy) async throws(KubeError) -> ClusterFacts
    /// Reads and writes one knob of one workload.
    func actuator(for knob: Knob, of workload: WorkloadRef) throws(KubeError) -> any Actuator
    /// Tells people of a change where they look (on Kubernetes, an annotation and an Event);
    /// `wallTime` is when it happened. Best effort: returns what could not be written, as notes.
    func record(_ entry: JournalEntry, reason: String, type: String, message: String, wallTime: Double) async -> [String]
    /// The lock that keeps a second writer off the journal for a whole enforced cycle.
    func journalLock() -> any JournalLock
    /// The namespaces that carry every one of `labels`, by name.
    func namespaces(labelled labels: [String: String]) async throws(KubeError) -> [String]
    /// Where the workload's rollout stands.
    func rollout(of workload: WorkloadRef) async -> RolloutState
}

extension Cluster {
    public func rollout(of workload: WorkloadRef) async -> RolloutState { .unknown("\(server) cannot say") }

    public func namespaces(labelled labels: [String: String]) async throws(KubeError) -> [String] {
        throw KubeError(kind: .unsupported, message: "\(server) cannot list namespaces by label")
    }
}
