import Foundation
import TrimtabCore
import TrimtabCycle

/// A Kubernetes cluster as a cycle sees it: the API server for facts and knobs, admin endpoints for
/// `http` knobs, a journal (a directory or a ConfigMap), and Events and annotations for people.
public struct KubeCluster: Cluster {
    public let client: KubeClient
    public let http: HTTPEndpointClient
    public let journal: any JournalStore
    public let clock: any TimeSource

    public init(client: KubeClient, http: HTTPEndpointClient, journal: any JournalStore, clock: any TimeSource = SystemClock()) {
        self.client = client
        self.http = http
        self.journal = journal
        self.clock = clock
    }

    public var server: String { client.server }
    public var writeTimeoutSeconds: Double { client.configuration.timeoutSeconds }

    public func facts(for targets: [TargetID], policy: Policy) async throws(KubeError) -> ClusterFacts {
        try await ClusterFacts.read(targets: targets, policy: policy, client: client, http: http)
    }

    public func actuator(for knob: Knob, of workload: WorkloadRef) throws(KubeError) -> any Actuator {
        try Actuators.make(knob, workload: workload, client: client, http: http, clock: clock)
    }

    public func journalLock() -> any JournalLock { journal.lock() }

    /// Reads the workload's generation and status: where its rollout stands.
    public func rollout(of workload: WorkloadRef) async -> RolloutState {
        struct Object: Decodable {
            struct Meta: Decodable { var generation: Int? }
            struct Spec: Decodable { var replicas: Int? }
            struct Status: Decodable {
                var observedGeneration: Generation?
                var replicas: Int?
                var updatedReplicas: Int?
                var availableReplicas: Int?
            }
            /// A number for Deployments and StatefulSets, a string for Argo Rollouts.
            struct Generation: Decodable {
                var value: Int?
                init(from decoder: any Decoder) throws {
                    let container = try decoder.singleValueContainer()
                    value = (try? container.decode(Int.self)) ?? (try? container.decode(String.self)).flatMap(Int.init)
                }
            }
            var metadata: Meta
            var spec: Spec?
            var status: Status?
        }
        do {
            let object = try await client.get(Object.self, try KubeResource.workload(kind: workload.kind), namespace: workload.namespace, name: workload.name)
            let status = object.status
            return RolloutState.of(generation: object.metadata.generation, observedGeneration: status?.observedGeneration?.value,
                                   replicas: object.spec?.replicas ?? 1, current: status?.replicas, updated: status?.updatedReplicas,
                                   available: status?.availableReplicas)
        } catch {
            return .unreadable("\(error)")
        }
    }

    /// One list of namespaces with a label selector (`team=payments,tier=web`).
    public func namespaces(labelled labels: [String: String]) async throws(KubeError) -> [String] {
        let list = try await client.list(NamespaceList.self, .namespaces, namespace: nil, query: [("labelSelector", TargetSelector.selectorText(labels))])
        return list.items.compactMap(\.metadata.name).sorted()
    }

    /// The annotation on a workload that says what Trimtab changed last, and from what.
    public static let lastChangeAnnotation = "trimtab.io/last-change"

    /// Records a change where `kubectl describe` shows it: an Event on the workload and an annotation
    /// with the previous value. Best effort: a failure is noted, the change stands.
    public func record(_ entry: JournalEntry, reason: String, type: String, message: String, wallTime: Double) async -> [String] {
        var notes: [String] = []
        // Both clocks, named: when it happened (what kubectl's Events show) and the evaluation time the
        // journal, cooldowns and verification count in (`--at`).
        let stamp = Formatting.time(wallTime)
        let annotation: [String: Any] = ["id": entry.id, "knob": entry.knob.description, "from": entry.before ?? NSNull(),
                                         "to": entry.after, "state": entry.state.rawValue, "changedAt": stamp,
                                         "evaluatedAt": Formatting.time(entry.updatedAt)]
        // The patched workload comes back whole: its uid ties the Event to it, as `kubectl describe` looks events up by uid.
        var uid: String?
        do {
            let resource = try KubeResource.workload(kind: entry.workload.kind)
            let text = String(decoding: try KubeClient.json(annotation), as: UTF8.self)
            let answer = try await client.patch(resource, namespace: entry.workload.namespace, name: entry.workload.name, .merge,
                                                body: ["metadata": ["annotations": [Self.lastChangeAnnotation: text]]], dryRun: false)
            uid = (try? JSONDecoder().decode(WorkloadObject.self, from: answer))?.metadata.uid
        } catch {
            notes.append("\(stamp) could not annotate \(entry.workload): \(error)")
        }
        // One name per entry and state, so recovery writing it again after a crash finds it there (409)
        // instead of recording the change twice.
        let event: [String: Any] = [
            "apiVersion": "v1", "kind": "Event",
            "metadata": ["name": "\(entry.workload.name.prefix(200)).trimtab-\(entry.id)-\(entry.state.rawValue)", "namespace": entry.workload.namespace],
            "involvedObject": ["apiVersion": entry.workload.apiVersion, "kind": entry.workload.kind, "name": entry.workload.name,
                               "namespace": entry.workload.namespace].merging(uid.map { ["uid": $0] } ?? [:]) { a, _ in a },
            "reason": reason, "message": String(message.prefix(1000)), "type": type,
            "source": ["component": "trimtab"], "reportingComponent": "trimtab",
            "reportingInstance": ProcessInfo.processInfo.hostName,
            "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
        ]
        do {
            try await client.create(.events, namespace: entry.workload.namespace, body: event)
        } catch let error where error.kind == .alreadyExists {
            // Written before a crash: nothing more to do.
        } catch {
            notes.append("\(stamp) could not record an Event on \(entry.workload): \(error)")
        }
        return notes
    }
}
