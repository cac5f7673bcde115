import TrimtabCore
import TrimtabCycle

/// The parts of Kubernetes objects Trimtab reads. Unknown fields are ignored when decoding.
public struct ObjectMeta: Codable, Sendable, Equatable {
    public var name: String?
    public var namespace: String?
    public var uid: String?
    public var resourceVersion: String?
    public var annotations: [String: String]?
    public var labels: [String: String]?
}

/// The `autoscaling/v1` Scale subresource.
struct ScaleObject: Decodable {
    struct Spec: Decodable { var replicas: Int? }
    var metadata: ObjectMeta
    var spec: Spec?
}

/// A Deployment or StatefulSet: replicas and the pod template's containers.
struct WorkloadObject: Decodable {
    struct Spec: Decodable {
        var replicas: Int?
        var template: Template?
    }
    struct Template: Decodable {
        var metadata: ObjectMeta?
        var spec: PodSpec?
    }
    struct PodSpec: Decodable {
        var containers: [Container]?
    }
    struct Container: Decodable {
        var name: String
        var env: [EnvVar]?
    }
    struct EnvVar: Decodable {
        var name: String
        var value: String?
        var valueFrom: Ignored?
    }
    var metadata: ObjectMeta
    var spec: Spec?

    /// An environment variable of a container of the pod template (the first container when
    /// `container` is `nil`): its literal value (`nil` when unset) and the container it is in.
    func env(_ variable: String, container: String?, of workload: WorkloadRef) throws(KubeError) -> (value: String?, container: String) {
        let containers = spec?.template?.spec?.containers ?? []
        guard let found = container.map({ name in containers.first { $0.name == name } }) ?? containers.first else {
            throw KubeError(kind: .notFound, message: "\(workload) has no container \(container.map { "named \($0)" } ?? "at all"); its containers: \(containers.map(\.name).joined(separator: ", "))")
        }
        let env = found.env?.first { $0.name == variable }
        if env?.valueFrom != nil {
            throw KubeError(kind: .unsupported, message: "env \(variable) of container \(found.name) in \(workload) is set from a reference (valueFrom); change it at its source, or point the policy's knob at that ConfigMap key")
        }
        return (env?.value, found.name)
    }
}

struct WorkloadList: Decodable {
    var items: [WorkloadObject]
}

struct ConfigMapObject: Decodable {
    var metadata: ObjectMeta
    var data: [String: String]?
}

/// An `autoscaling/v2` HorizontalPodAutoscaler.
public struct AutoscalerObject: Decodable, Sendable {
    public struct Spec: Decodable, Sendable {
        public struct Reference: Decodable, Sendable {
            public var kind: String
            public var name: String
        }
        /// One metric the HPA scales on; only a `Resource` metric's name and target are read.
        public struct Metric: Decodable, Sendable {
            public struct Resource: Decodable, Sendable {
                public struct Target: Decodable, Sendable {
                    public var type: String?
                    public var averageUtilization: Int?
                }
                public var name: String
                public var target: Target?
            }
            public var type: String
            public var resource: Resource?
        }
        public struct Behavior: Decodable, Sendable {
            public struct Rules: Decodable, Sendable {
                public var stabilizationWindowSeconds: Int?
            }
            public var scaleDown: Rules?
        }
        public var scaleTargetRef: Reference
        public var minReplicas: Int?
        public var maxReplicas: Int
        public var metrics: [Metric]?
        public var behavior: Behavior?

        /// The index and target of the metric on CPU utilisation, when the HPA has one.
        public var cpuUtilization: (index: Int, percent: Int)? {
            for (index, metric) in (metrics ?? []).enumerated() where metric.type == "Resource" {
                if let resource = metric.resource, resource.name == "cpu", resource.target?.type == "Utilization",
                   let percent = resource.target?.averageUtilization {
                    return (index, percent)
                }
            }
            return nil
        }

        /// The scale-down stabilization window: 300 s unless the behavior sets one.
        public var scaleDownWindowSeconds: Int { behavior?.scaleDown?.stabilizationWindowSeconds ?? 300 }
    }
    public var metadata: ObjectMeta
    public var spec: Spec
}

struct AutoscalerList: Decodable {
    var items: [AutoscalerObject]
}
