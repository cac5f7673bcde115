import Foundation
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
    public var ownerReferences: [OwnerReference]?

    public struct OwnerReference: Codable, Sendable, Equatable {
        public var apiVersion: String?
        public var kind: String
        public var name: String
        public var controller: Bool?
    }
}

/// The `autoscaling/v1` Scale subresource.
struct ScaleObject: Decodable {
    struct Spec: Decodable { var replicas: Int? }
    var metadata: ObjectMeta
    var spec: Spec?
}

/// A Deployment, StatefulSet or Rollout: replicas and the pod template's containers (and, for a
/// Rollout, where its update stands).
struct WorkloadObject: Decodable {
    struct Spec: Decodable {
        var replicas: Int?
        var template: Template?
        /// A Rollout's `spec.paused` and strategy.
        var paused: Bool?
        var strategy: Strategy?
    }
    struct Strategy: Decodable {
        struct Canary: Decodable { var steps: [Ignored]? }
        var canary: Canary?
        var blueGreen: Ignored?
    }
    /// A Rollout's status (a Deployment's fields of the same names are not read).
    struct Status: Decodable {
        struct PauseCondition: Decodable { var reason: String? }
        var currentPodHash: String?
        var stableRS: String?
        var currentStepIndex: Int?
        var pauseConditions: [PauseCondition]?
        var abort: Bool?
    }
    struct Template: Decodable {
        var metadata: ObjectMeta?
        var spec: PodSpec?
    }
    struct PodSpec: Decodable {
        var containers: [Container]?
        var volumes: [Volume]?
    }
    struct Container: Decodable {
        var name: String
        var env: [EnvVar]?
        var envFrom: [EnvFrom]?
        var volumeMounts: [VolumeMount]?
    }
    struct EnvVar: Decodable {
        struct Source: Decodable {
            struct KeyRef: Decodable { var name: String?; var key: String }
            var configMapKeyRef: KeyRef?
        }
        var name: String
        var value: String?
        var valueFrom: Source?
    }
    struct EnvFrom: Decodable {
        struct Ref: Decodable { var name: String? }
        var configMapRef: Ref?
    }
    struct VolumeMount: Decodable {
        var name: String
        var mountPath: String
        var subPath: String?
    }
    struct Volume: Decodable {
        struct ConfigMapSource: Decodable {
            struct Item: Decodable { var key: String; var path: String }
            var name: String?
            var items: [Item]?
        }
        var name: String
        var configMap: ConfigMapSource?
    }

    /// How `key` of ConfigMap `name` reaches this workload's pods (see `ConfigMapReach`).
    func configMapReach(_ name: String, key: String, workload: WorkloadRef) -> ConfigMapReach {
        let spec = self.spec?.template?.spec
        let volumes = (spec?.volumes ?? []).compactMap { volume -> ConfigMapReach.Volume? in
            guard let source = volume.configMap, let configMap = source.name else { return nil }
            return ConfigMapReach.Volume(name: volume.name, configMap: configMap, items: source.items?.map { ($0.key, $0.path) })
        }
        let containers = (spec?.containers ?? []).map { container in
            ConfigMapReach.Container(
                name: container.name,
                mounts: (container.volumeMounts ?? []).map { ConfigMapReach.Mount(volume: $0.name, path: $0.mountPath, subPath: $0.subPath) },
                keyRefs: (container.env ?? []).compactMap { variable in
                    variable.valueFrom?.configMapKeyRef.flatMap { ref in ref.name.map { (variable.name, $0, ref.key) } }
                },
                envFrom: (container.envFrom ?? []).compactMap { $0.configMapRef?.name })
        }
        return ConfigMapReach.judge(configMap: name, key: key, volumes: volumes, containers: containers, workload: "\(workload)")
    }
    var metadata: ObjectMeta
    var spec: Spec?
    var status: Status?

    /// Where a Rollout's update stands.
    func rolloutProgress(name: String) -> RolloutProgress {
        RolloutProgress(name: name, paused: spec?.paused ?? false,
                        canarySteps: spec?.strategy?.canary.map { $0.steps?.count ?? 0 }, blueGreen: spec?.strategy?.blueGreen != nil,
                        currentPodHash: status?.currentPodHash, stableRS: status?.stableRS, currentStepIndex: status?.currentStepIndex,
                        pauseReasons: status?.pauseConditions?.compactMap(\.reason) ?? [], aborted: status?.abort ?? false)
    }

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

struct NamespaceList: Decodable {
    struct Item: Decodable {
        var metadata: ObjectMeta
    }
    var items: [Item]
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

/// A KEDA `keda.sh/v1alpha1` ScaledObject: its target, bounds, triggers and the HPA settings it passes on.
public struct ScaledObjectObject: Decodable, Sendable {
    public struct Spec: Decodable, Sendable {
        public struct Reference: Decodable, Sendable {
            public var apiVersion: String?
            /// `Deployment` when unset.
            public var kind: String?
            public var name: String
        }
        public struct Trigger: Decodable, Sendable {
            public var type: String
            /// `Utilization` or `AverageValue` for cpu and memory triggers (KEDA 2.10+).
            public var metricType: String?
            /// Trigger settings, all strings: a cpu trigger's `value`, and before KEDA 2.10 its `type`.
            public var metadata: [String: String]?
        }
        public struct Advanced: Decodable, Sendable {
            public struct HPAConfig: Decodable, Sendable {
                public var name: String?
                public var behavior: AutoscalerObject.Spec.Behavior?
            }
            public var horizontalPodAutoscalerConfig: HPAConfig?
        }
        public var scaleTargetRef: Reference
        public var minReplicaCount: Int?
        public var maxReplicaCount: Int?
        public var triggers: [Trigger]?
        public var advanced: Advanced?

        /// KEDA's defaults: 0 and 100 replicas.
        public var minimum: Int { minReplicaCount ?? 0 }
        public var maximum: Int { maxReplicaCount ?? 100 }

        /// The index and value of the cpu trigger on utilisation, when there is one.
        public var cpuUtilization: (index: Int, percent: Int)? {
            for (index, trigger) in (triggers ?? []).enumerated() where trigger.type == "cpu" {
                let type = trigger.metricType ?? trigger.metadata?["type"]
                if type == "Utilization", let text = trigger.metadata?["value"], let percent = Int(text.trimmingCharacters(in: .whitespaces)) {
                    return (index, percent)
                }
            }
            return nil
        }

        /// `advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds`, 300 when unset.
        public var scaleDownWindowSeconds: Int { advanced?.horizontalPodAutoscalerConfig?.behavior?.scaleDown?.stabilizationWindowSeconds ?? 300 }

        /// The name of the HPA KEDA makes: `keda-hpa-<name>` unless the ScaledObject names it.
        public func autoscalerName(of scaledObject: String) -> String {
            advanced?.horizontalPodAutoscalerConfig?.name ?? "keda-hpa-\(scaledObject)"
        }

        /// Whether it scales `workload`.
        public func targets(_ workload: WorkloadRef) -> Bool {
            scaleTargetRef.name == workload.name && (scaleTargetRef.kind ?? "Deployment").lowercased() == workload.kind.lowercased()
        }
    }
    public var metadata: ObjectMeta
    public var spec: Spec
}

struct ScaledObjectList: Decodable {
    var items: [ScaledObjectObject]
}
