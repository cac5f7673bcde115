import Foundation
import TrimtabCore
import TrimtabCycle

/// The annotation a fence writes: which entry recovery closed, and when (wall clock).
let fenceAnnotation = "trimtab.io/fence"

extension KubeClient {
    /// A conditional merge patch of one annotation: moves the object's resourceVersion on.
    func fence(_ resource: KubeResource, namespace: String, name: String, version: String?, note: String) async throws(KubeError) {
        guard let version else { throw KubeError(kind: .unsupported, message: "\(resource.plural) \(name) was read without a resourceVersion; it cannot be fenced") }
        _ = try await patch(resource, namespace: namespace, name: name, .merge,
                            body: ["metadata": ["resourceVersion": version, "annotations": [fenceAnnotation: note]]], dryRun: false)
    }
}

/// The actuator for a knob of a workload.
public enum Actuators {
    public static func make(_ knob: Knob, workload: WorkloadRef, client: KubeClient, http: HTTPEndpointClient,
                            clock: any TimeSource = SystemClock()) throws(KubeError) -> any Actuator {
        let resource = try KubeResource.workload(kind: workload.kind)
        switch knob {
        case .replicas:
            return ReplicasActuator(client: client, workload: workload, resource: resource)
        case .configMap(let name, let key, let restart):
            return ConfigMapActuator(client: client, workload: workload, resource: resource, configMap: name, key: key, restart: restart, clock: clock)
        case .env(let name, let container):
            return EnvActuator(client: client, workload: workload, resource: resource, variable: name, container: container)
        case .http(let url):
            return HTTPEndpointActuator(client: http, workload: workload, url: url)
        case .jolokia(let spec):
            return PodKnobActuator(client: client, workload: workload, resource: resource, access: JolokiaAccess(http: http, spec: spec))
        case .podHTTP(let spec):
            return PodKnobActuator(client: client, workload: workload, resource: resource, access: PodHTTPAccess(http: http, spec: spec))
        case .pgbouncer(let spec):
            return PodKnobActuator(client: client, workload: workload, resource: resource,
                                   access: PgBouncerAccess(spec: spec, timeoutSeconds: http.timeoutSeconds))
        case .autoscalerMaxReplicas(_, let owner?):
            return ScaledObjectActuator(client: client, workload: workload, scaledObject: owner, field: .maxReplicaCount, knob: knob)
        case .autoscalerTargetUtilization(_, let owner?):
            return ScaledObjectActuator(client: client, workload: workload, scaledObject: owner, field: .cpuTarget, knob: knob)
        case .autoscalerScaleDownWindow(_, let owner?):
            return ScaledObjectActuator(client: client, workload: workload, scaledObject: owner, field: .scaleDownWindow, knob: knob)
        case .autoscalerMaxReplicas(let name, nil):
            return AutoscalerActuator(client: client, workload: workload, autoscaler: name)
        case .autoscalerTargetUtilization(let name, nil):
            return AutoscalerTargetActuator(client: client, workload: workload, autoscaler: name)
        case .autoscalerScaleDownWindow(let name, nil):
            return AutoscalerScaleDownActuator(client: client, workload: workload, autoscaler: name)
        }
    }
}

/// Replicas of a Deployment or StatefulSet, through the `scale` subresource.
struct ReplicasActuator: Actuator {
    let client: KubeClient
    let workload: WorkloadRef
    let resource: KubeResource
    var knob: Knob { .replicas }

    func read() async throws(KubeError) -> KnobReading {
        let scale = try await client.get(ScaleObject.self, resource, namespace: workload.namespace, name: workload.name, subresource: "scale")
        return KnobReading(value: String(scale.spec?.replicas ?? 0), version: scale.metadata.resourceVersion)
    }

    func write(_ value: String?, over reading: KnobReading, dryRun: Bool) async throws(KubeError) {
        guard let text = value, let replicas = Int(text), replicas >= 0 else {
            throw KubeError(kind: .invalid, message: "replicas must be a whole number of at least 0, not \(value ?? "nothing")")
        }
        var metadata: [String: Any] = ["name": workload.name, "namespace": workload.namespace]
        if let version = reading.version { metadata["resourceVersion"] = version }
        try await client.update(resource, namespace: workload.namespace, name: workload.name, subresource: "scale",
                                body: ["apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": metadata, "spec": ["replicas": replicas]],
                                dryRun: dryRun)
    }

    /// The scale subresource shares the workload's resourceVersion: fencing the workload fences it.
    func fence(over reading: KnobReading, note: String) async throws(KubeError) {
        try await client.fence(resource, namespace: workload.namespace, name: workload.name, version: reading.version, note: note)
    }
}

/// A key of a ConfigMap the application reads, optionally followed by a rollout restart of the workload.
struct ConfigMapActuator: Actuator {
    let client: KubeClient
    let workload: WorkloadRef
    let resource: KubeResource
    let configMap: String
    let key: String
    let restart: Bool
    /// The wall clock of the restart annotation.
    let clock: any TimeSource
    var knob: Knob { .configMap(name: configMap, key: key, restart: restart) }

    func read() async throws(KubeError) -> KnobReading {
        let object = try await client.get(ConfigMapObject.self, .configMaps, namespace: workload.namespace, name: configMap)
        return KnobReading(value: object.data?[key], version: object.metadata.resourceVersion)
    }

    func write(_ value: String?, over reading: KnobReading, dryRun: Bool) async throws(KubeError) {
        var metadata: [String: Any] = [:]
        if let version = reading.version { metadata["resourceVersion"] = version }
        let data: [String: Any] = [key: value.map { $0 as Any } ?? NSNull()]
        try await client.patch(.configMaps, namespace: workload.namespace, name: configMap, .merge,
                               body: ["metadata": metadata, "data": data], dryRun: dryRun)
        if restart {
            // As `kubectl rollout restart` does: a new pod-template annotation rolls the pods.
            let stamp = Formatting.time(clock.now())
            // Maps merge alike in both patch types; a custom resource (a Rollout) takes only the merge patch.
            try await client.patch(resource, namespace: workload.namespace, name: workload.name, resource.isCustom ? .merge : .strategicMerge,
                                   body: ["spec": ["template": ["metadata": ["annotations": ["kubectl.kubernetes.io/restartedAt": stamp]]]]],
                                   dryRun: dryRun)
        }
    }

    func fence(over reading: KnobReading, note: String) async throws(KubeError) {
        try await client.fence(.configMaps, namespace: workload.namespace, name: configMap, version: reading.version, note: note)
    }
}

/// An environment variable of a container in the workload's pod template. Changing it rolls the pods.
struct EnvActuator: Actuator {
    let client: KubeClient
    let workload: WorkloadRef
    let resource: KubeResource
    let variable: String
    /// The container; the first one when `nil`.
    let container: String?
    var knob: Knob { .env(name: variable, container: container) }

    func read() async throws(KubeError) -> KnobReading {
        let object = try await client.get(WorkloadObject.self, resource, namespace: workload.namespace, name: workload.name)
        let found = try object.env(variable, container: container, of: workload)
        return KnobReading(value: found.value, version: object.metadata.resourceVersion, location: found.container)
    }

    func write(_ value: String?, over reading: KnobReading, dryRun: Bool) async throws(KubeError) {
        guard let containerName = reading.location ?? container else {
            throw KubeError(kind: .notFound, message: "no container to set \(variable) in")
        }
        if resource.isCustom {
            try await writeByPosition(value, container: containerName, over: reading, dryRun: dryRun)
            return
        }
        var metadata: [String: Any] = [:]
        if let version = reading.version { metadata["resourceVersion"] = version }
        // A strategic merge patch merges containers and env by name: only this variable changes.
        let entry: [String: Any] = value.map { ["name": variable, "value": $0] } ?? ["name": variable, "$patch": "delete"]
        let body: [String: Any] = ["metadata": metadata,
                                   "spec": ["template": ["spec": ["containers": [["name": containerName, "env": [entry]]]]]]]
        try await client.patch(resource, namespace: workload.namespace, name: workload.name, .strategicMerge, body: body, dryRun: dryRun)
    }

    /// A custom resource (an Argo Rollout) takes no strategic merge patch, and a merge patch would
    /// replace the whole containers list: a JSON patch at the container's and variable's positions,
    /// each tested by name, over the version read (so the positions are those of `reading`).
    func writeByPosition(_ value: String?, container: String, over reading: KnobReading, dryRun: Bool) async throws(KubeError) {
        let object = try await client.get(WorkloadObject.self, resource, namespace: workload.namespace, name: workload.name)
        let containers = object.spec?.template?.spec?.containers ?? []
        guard let index = containers.firstIndex(where: { $0.name == container }) else {
            throw KubeError(kind: .conflict, status: 409, message: "\(workload) no longer has a container \(container)")
        }
        let base = "/spec/template/spec/containers/\(index)"
        var operations: [[String: Any]] = [["op": "test", "path": "\(base)/name", "value": container]]
        if let version = reading.version { operations.insert(["op": "replace", "path": "/metadata/resourceVersion", "value": version], at: 0) }
        let env = containers[index].env
        if let position = env?.firstIndex(where: { $0.name == variable }) {
            operations.append(["op": "test", "path": "\(base)/env/\(position)/name", "value": variable])
            operations.append(value.map { ["op": "replace", "path": "\(base)/env/\(position)/value", "value": $0] }
                              ?? ["op": "remove", "path": "\(base)/env/\(position)"])
        } else if let value {
            operations.append(env == nil ? ["op": "add", "path": "\(base)/env", "value": [["name": variable, "value": value]]]
                                         : ["op": "add", "path": "\(base)/env/-", "value": ["name": variable, "value": value]])
        } else {
            return
        }
        try await client.patch(resource, namespace: workload.namespace, name: workload.name, operations: operations, dryRun: dryRun)
    }

    func fence(over reading: KnobReading, note: String) async throws(KubeError) {
        try await client.fence(resource, namespace: workload.namespace, name: workload.name, version: reading.version, note: note)
    }
}

/// An actuator of one field of the HorizontalPodAutoscaler that owns a workload's replicas: it reads
/// the HPA, writes over the version read (the `resourceVersion` is the update's precondition, so an HPA
/// changed since is a 409, never overwritten) and fences on it.
protocol AutoscalerFieldActuator: Actuator {
    var client: KubeClient { get }
    var workload: WorkloadRef { get }
    var autoscaler: String { get }
}

extension AutoscalerFieldActuator {
    func object() async throws(KubeError) -> AutoscalerObject {
        try await client.get(AutoscalerObject.self, .horizontalPodAutoscalers, namespace: workload.namespace, name: autoscaler)
    }

    /// A merge patch of `spec` over the version read.
    func mergePatch(spec: [String: Any], over reading: KnobReading, dryRun: Bool) async throws(KubeError) {
        var metadata: [String: Any] = [:]
        if let version = reading.version { metadata["resourceVersion"] = version }
        try await client.patch(.horizontalPodAutoscalers, namespace: workload.namespace, name: autoscaler, .merge,
                               body: ["metadata": metadata, "spec": spec], dryRun: dryRun)
    }

    func fence(over reading: KnobReading, note: String) async throws(KubeError) {
        try await client.fence(.horizontalPodAutoscalers, namespace: workload.namespace, name: autoscaler, version: reading.version, note: note)
    }
}

/// The `maxReplicas` of the HorizontalPodAutoscaler that owns a workload's replicas.
struct AutoscalerActuator: AutoscalerFieldActuator {
    let client: KubeClient
    let workload: WorkloadRef
    let autoscaler: String
    var knob: Knob { .autoscalerMaxReplicas(name: autoscaler) }

    func read() async throws(KubeError) -> KnobReading {
        let object = try await object()
        return KnobReading(value: String(object.spec.maxReplicas), version: object.metadata.resourceVersion)
    }

    func write(_ value: String?, over reading: KnobReading, dryRun: Bool) async throws(KubeError) {
        guard let text = value, let replicas = Int(text), replicas >= 1 else {
            throw KubeError(kind: .invalid, message: "maxReplicas must be a whole number of at least 1, not \(value ?? "nothing")")
        }
        try await mergePatch(spec: ["maxReplicas": replicas], over: reading, dryRun: dryRun)
    }
}

/// The CPU target of the HPA that owns a workload's replicas: the `averageUtilization` of its
/// `Resource` metric on `cpu`, written by a JSON patch at that metric's index (a merge patch would
/// replace the whole `metrics` list) that also replaces `resourceVersion` with the one read.
struct AutoscalerTargetActuator: AutoscalerFieldActuator {
    let client: KubeClient
    let workload: WorkloadRef
    let autoscaler: String
    var knob: Knob { .autoscalerTargetUtilization(name: autoscaler) }

    func read() async throws(KubeError) -> KnobReading {
        let object = try await object()
        guard let cpu = object.spec.cpuUtilization else {
            throw KubeError(kind: .unsupported, message: "HorizontalPodAutoscaler \(workload.namespace)/\(autoscaler) has no Resource metric on cpu with a Utilization target, so its CPU target cannot be tuned")
        }
        return KnobReading(value: String(cpu.percent), version: object.metadata.resourceVersion)
    }

    func write(_ value: String?, over reading: KnobReading, dryRun: Bool) async throws(KubeError) {
        guard let text = value, let percent = Int(text), percent >= 1 else {
            throw KubeError(kind: .invalid, message: "a CPU target must be a whole percentage of at least 1, not \(value ?? "nothing")")
        }
        // The index is the one read now; the resourceVersion precondition makes it the one of `reading`.
        guard let cpu = try await object().spec.cpuUtilization else {
            throw KubeError(kind: .conflict, status: 409, message: "HorizontalPodAutoscaler \(workload.namespace)/\(autoscaler) no longer has a CPU utilisation target")
        }
        var operations: [[String: Any]] = [
            ["op": "test", "path": "/spec/metrics/\(cpu.index)/resource/name", "value": "cpu"],
            ["op": "replace", "path": "/spec/metrics/\(cpu.index)/resource/target/averageUtilization", "value": percent],
        ]
        if let version = reading.version { operations.insert(["op": "replace", "path": "/metadata/resourceVersion", "value": version], at: 0) }
        try await client.patch(.horizontalPodAutoscalers, namespace: workload.namespace, name: autoscaler, operations: operations, dryRun: dryRun)
    }
}

/// The scale-down stabilization window of the HPA that owns a workload's replicas
/// (`spec.behavior.scaleDown.stabilizationWindowSeconds`; 300 when unset), by a merge patch.
struct AutoscalerScaleDownActuator: AutoscalerFieldActuator {
    let client: KubeClient
    let workload: WorkloadRef
    let autoscaler: String
    var knob: Knob { .autoscalerScaleDownWindow(name: autoscaler) }

    func read() async throws(KubeError) -> KnobReading {
        let object = try await object()
        return KnobReading(value: String(object.spec.scaleDownWindowSeconds), version: object.metadata.resourceVersion)
    }

    func write(_ value: String?, over reading: KnobReading, dryRun: Bool) async throws(KubeError) {
        guard let text = value, let seconds = Int(text), (0...3600).contains(seconds) else {
            throw KubeError(kind: .invalid, message: "a stabilization window is whole seconds from 0 to 3600, not \(value ?? "nothing")")
        }
        try await mergePatch(spec: ["behavior": ["scaleDown": ["stabilizationWindowSeconds": seconds]]], over: reading, dryRun: dryRun)
    }
}

/// A bound of a KEDA ScaledObject, which KEDA copies to the HPA it owns (and restores there if the HPA
/// is edited): `spec.maxReplicaCount` (100 when unset), the `value` of its cpu trigger (a string, as
/// every trigger setting is), or `spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.
/// stabilizationWindowSeconds` (300 when unset). Written over the version read, fenced on it.
struct ScaledObjectActuator: Actuator {
    enum Field { case maxReplicaCount, cpuTarget, scaleDownWindow }
    let client: KubeClient
    let workload: WorkloadRef
    let scaledObject: String
    let field: Field
    let knob: Knob

    var id: String { "ScaledObject \(workload.namespace)/\(scaledObject)" }

    func object() async throws(KubeError) -> ScaledObjectObject {
        try await client.get(ScaledObjectObject.self, .scaledObjects, namespace: workload.namespace, name: scaledObject)
    }

    func read() async throws(KubeError) -> KnobReading {
        let object = try await object()
        guard object.spec.targets(workload) else {
            throw KubeError(kind: .conflict, status: 409, message: "\(id) no longer scales \(workload)")
        }
        let value: Int
        switch field {
        case .maxReplicaCount: value = object.spec.maximum
        case .scaleDownWindow: value = object.spec.scaleDownWindowSeconds
        case .cpuTarget:
            guard let cpu = object.spec.cpuUtilization else {
                throw KubeError(kind: .unsupported, message: "\(id) has no cpu trigger with metricType Utilization, so its CPU target cannot be tuned")
            }
            value = cpu.percent
        }
        return KnobReading(value: String(value), version: object.metadata.resourceVersion)
    }

    func write(_ value: String?, over reading: KnobReading, dryRun: Bool) async throws(KubeError) {
        guard let text = value, let number = Int(text) else {
            throw KubeError(kind: .invalid, message: "\(knob) takes a whole number, not \(value ?? "nothing")")
        }
        var metadata: [String: Any] = [:]
        if let version = reading.version { metadata["resourceVersion"] = version }
        switch field {
        case .maxReplicaCount:
            guard number >= 1 else { throw KubeError(kind: .invalid, message: "maxReplicaCount must be at least 1, not \(number)") }
            try await client.patch(.scaledObjects, namespace: workload.namespace, name: scaledObject, .merge,
                                   body: ["metadata": metadata, "spec": ["maxReplicaCount": number]], dryRun: dryRun)
        case .scaleDownWindow:
            guard (0...3600).contains(number) else {
                throw KubeError(kind: .invalid, message: "a stabilization window is whole seconds from 0 to 3600, not \(number)")
            }
            try await client.patch(.scaledObjects, namespace: workload.namespace, name: scaledObject, .merge,
                                   body: ["metadata": metadata,
                                          "spec": ["advanced": ["horizontalPodAutoscalerConfig": ["behavior": ["scaleDown": ["stabilizationWindowSeconds": number]]]]]],
                                   dryRun: dryRun)
        case .cpuTarget:
            guard number >= 1 else { throw KubeError(kind: .invalid, message: "a CPU target must be a whole percentage of at least 1, not \(number)") }
            // The triggers list has no merge key: a JSON patch at the cpu trigger's index, tested.
            guard let cpu = try await object().spec.cpuUtilization else {
                throw KubeError(kind: .conflict, status: 409, message: "\(id) no longer has a cpu utilisation trigger")
            }
            var operations: [[String: Any]] = [
                ["op": "test", "path": "/spec/triggers/\(cpu.index)/type", "value": "cpu"],
                ["op": "replace", "path": "/spec/triggers/\(cpu.index)/metadata/value", "value": String(number)],
            ]
            if let version = reading.version { operations.insert(["op": "replace", "path": "/metadata/resourceVersion", "value": version], at: 0) }
            try await client.patch(.scaledObjects, namespace: workload.namespace, name: scaledObject, operations: operations, dryRun: dryRun)
        }
    }

    func fence(over reading: KnobReading, note: String) async throws(KubeError) {
        try await client.fence(.scaledObjects, namespace: workload.namespace, name: scaledObject, version: reading.version, note: note)
    }
}
