import TrimtabCycle
/// A resource type of the Kubernetes API and the URL paths to it.
public struct KubeResource: Sendable, Equatable {
    /// The API group; "" for the core group.
    public var group: String
    public var version: String
    /// The plural resource name: `deployments`.
    public var plural: String
    public var kind: String
    /// Whether it is a custom resource, which takes merge and JSON patches but no strategic merge patch.
    public var isCustom: Bool

    public init(group: String, version: String, plural: String, kind: String, isCustom: Bool = false) {
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.isCustom = isCustom
    }

    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }

    public static let deployments = KubeResource(group: "apps", version: "v1", plural: "deployments", kind: "Deployment")
    public static let statefulSets = KubeResource(group: "apps", version: "v1", plural: "statefulsets", kind: "StatefulSet")
    public static let configMaps = KubeResource(group: "", version: "v1", plural: "configmaps", kind: "ConfigMap")
    public static let events = KubeResource(group: "", version: "v1", plural: "events", kind: "Event")
    public static let namespaces = KubeResource(group: "", version: "v1", plural: "namespaces", kind: "Namespace")
    public static let pods = KubeResource(group: "", version: "v1", plural: "pods", kind: "Pod")
    public static let horizontalPodAutoscalers = KubeResource(group: "autoscaling", version: "v2", plural: "horizontalpodautoscalers",
                                                              kind: "HorizontalPodAutoscaler")

    /// KEDA's ScaledObject: it makes and owns the HPA of its target (`keda-hpa-<name>`).
    public static let scaledObjects = KubeResource(group: "keda.sh", version: "v1alpha1", plural: "scaledobjects", kind: "ScaledObject", isCustom: true)
    /// Argo Rollouts' Rollout: a Deployment's pod template and replicas, rolled out by canary or blue-green steps.
    public static let rollouts = KubeResource(group: "argoproj.io", version: "v1alpha1", plural: "rollouts", kind: "Rollout", isCustom: true)

    /// The workload resource of a kind named in a policy (`Deployment`, `StatefulSet`, `Rollout`).
    public static func workload(kind: String) throws(KubeError) -> KubeResource {
        switch kind.lowercased() {
        case "deployment", "deployments": return .deployments
        case "statefulset", "statefulsets": return .statefulSets
        case "rollout", "rollouts": return .rollouts
        default: throw .init(kind: .unsupported, message: "Trimtab acts on Deployments, StatefulSets and Argo Rollouts, not \(kind) (policy spec.targets.kind)")
        }
    }

    /// `/apis/apps/v1/namespaces/shop/deployments/api/scale`.
    public func path(namespace: String?, name: String? = nil, subresource: String? = nil) -> String {
        var path = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        if let namespace { path += "/namespaces/\(Self.segment(namespace))" }
        path += "/\(plural)"
        if let name { path += "/\(Self.segment(name))" }
        if let subresource { path += "/\(subresource)" }
        return path
    }

    static func segment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-._~"))) ?? text
    }
}

import Foundation
