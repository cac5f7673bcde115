/// A kind of object the sandbox serves, described as Kubernetes' discovery describes it.
struct ResourceType: Sendable, Hashable {
    /// The API group; empty for the core group.
    var group: String
    var version: String
    /// The plural resource name used in URLs, such as `deployments`.
    var plural: String
    var singular: String
    var kind: String
    var namespaced: Bool
    var shortNames: [String] = []
    /// Subresources served besides the object itself; only `scale` is.
    var subresources: [String] = []
    /// Whether objects have a `spec` whose changes bump `metadata.generation`.
    var hasSpec: Bool = true
    /// Whether PUT on an absent object creates it, as for events and leases.
    var allowCreateOnUpdate: Bool = false
    /// Whether every write simulates an instant rollout into `status`.
    var rollsOut: Bool = false
    /// A custom resource (as a CustomResourceDefinition serves it): no strategic merge patch.
    var custom: Bool = false

    var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    /// `deployments.apps`, `configmaps`: how error messages name the resource.
    var groupResource: String { group.isEmpty ? plural : "\(plural).\(group)" }
    /// `Deployment.apps`, `ConfigMap`: how Invalid messages name the kind.
    var groupKind: String { group.isEmpty ? kind : "\(kind).\(group)" }

    static let verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
}

/// Every resource the sandbox serves.
enum ResourceCatalog {
    static let configMaps = ResourceType(group: "", version: "v1", plural: "configmaps", singular: "configmap",
                                         kind: "ConfigMap", namespaced: true, shortNames: ["cm"], hasSpec: false)
    static let events = ResourceType(group: "", version: "v1", plural: "events", singular: "event", kind: "Event",
                                     namespaced: true, shortNames: ["ev"], hasSpec: false, allowCreateOnUpdate: true)
    static let namespaces = ResourceType(group: "", version: "v1", plural: "namespaces", singular: "namespace",
                                         kind: "Namespace", namespaced: false, shortNames: ["ns"], hasSpec: false)
    /// Pods, as the tests place them (the sandbox runs no kubelet: a test writes a pod's status).
    static let pods = ResourceType(group: "", version: "v1", plural: "pods", singular: "pod", kind: "Pod",
                                   namespaced: true, shortNames: ["po"], hasSpec: false)
    static let deployments = ResourceType(group: "apps", version: "v1", plural: "deployments", singular: "deployment",
                                          kind: "Deployment", namespaced: true, shortNames: ["deploy"],
                                          subresources: ["scale"], rollsOut: true)
    static let statefulSets = ResourceType(group: "apps", version: "v1", plural: "statefulsets", singular: "statefulset",
                                           kind: "StatefulSet", namespaced: true, shortNames: ["sts"],
                                           subresources: ["scale"], rollsOut: true)
    static let horizontalPodAutoscalers = ResourceType(group: "autoscaling", version: "v2", plural: "horizontalpodautoscalers",
                                                       singular: "horizontalpodautoscaler", kind: "HorizontalPodAutoscaler",
                                                       namespaced: true, shortNames: ["hpa"])
    static let leases = ResourceType(group: "coordination.k8s.io", version: "v1", plural: "leases", singular: "lease",
                                     kind: "Lease", namespaced: true, allowCreateOnUpdate: true)

    /// KEDA's ScaledObject, as its CRD serves it.
    static let scaledObjects = ResourceType(group: "keda.sh", version: "v1alpha1", plural: "scaledobjects", singular: "scaledobject",
                                            kind: "ScaledObject", namespaced: true, shortNames: ["so"], custom: true)
    /// Argo Rollouts' Rollout, as its CRD serves it: with the scale subresource (`.spec.replicas`).
    static let rollouts = ResourceType(group: "argoproj.io", version: "v1alpha1", plural: "rollouts", singular: "rollout",
                                       kind: "Rollout", namespaced: true, shortNames: ["ro"], subresources: ["scale"], rollsOut: true, custom: true)

    static let all = [configMaps, events, namespaces, pods, deployments, statefulSets, horizontalPodAutoscalers, leases, scaledObjects, rollouts]

    /// The API groups other than core, in discovery order.
    static var groups: [(name: String, version: String)] {
        var seen: [(name: String, version: String)] = []
        for type in all where !type.group.isEmpty && !seen.contains(where: { $0.name == type.group }) {
            seen.append((type.group, type.version))
        }
        return seen
    }

    static func find(group: String, version: String, plural: String) -> ResourceType? {
        all.first { $0.group == group && $0.version == version && $0.plural == plural }
    }

    /// The type an object declares with its `apiVersion` and `kind`.
    static func find(apiVersion: String, kind: String) -> ResourceType? {
        all.first { $0.apiVersion == apiVersion && $0.kind == kind }
    }
}
