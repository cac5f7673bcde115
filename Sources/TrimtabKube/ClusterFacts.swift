import TrimtabCore

/// What the cluster says about the targets, read with one list per namespace (never one request per
/// target): which are frozen by annotation, and which have a HorizontalPodAutoscaler on their replicas.
public struct ClusterFacts: Sendable {
    public var frozen: Set<TargetID> = []
    public var autoscalers: [TargetID: AutoscalerInfo] = [:]
    /// What the plan should know, in words.
    public var notes: [String] = []

    /// The annotation that stops Trimtab from changing a workload (`"true"`).
    public static let freezeAnnotation = "trimtab.io/freeze"

    /// Reads the facts for the targets of an assessment.
    public static func read(targets: [TargetID], policy: Policy, client: KubeClient) async throws(KubeError) -> ClusterFacts {
        var facts = ClusterFacts()
        let resource = try KubeResource.workload(kind: policy.targets.kind)
        var byNamespace: [String: [(TargetID, WorkloadRef)]] = [:]
        for target in targets {
            guard let workload = WorkloadRef.resolve(target, selector: policy.targets) else { continue }
            byNamespace[workload.namespace, default: []].append((target, workload))
        }
        for namespace in byNamespace.keys.sorted() {
            let members = byNamespace[namespace] ?? []
            let workloads = try await client.list(WorkloadList.self, resource, namespace: namespace)
            let annotations = Dictionary(workloads.items.compactMap { item in item.metadata.name.map { ($0, item.metadata.annotations ?? [:]) } },
                                         uniquingKeysWith: { a, _ in a })
            let autoscalers = try await client.list(AutoscalerList.self, .horizontalPodAutoscalers, namespace: namespace)
            for (target, workload) in members {
                if annotations[workload.name]?[freezeAnnotation]?.lowercased() == "true" {
                    facts.frozen.insert(target)
                    facts.notes.append("\(target): frozen by the annotation \(freezeAnnotation)=true on \(workload)")
                }
                if let hpa = autoscalers.items.first(where: { $0.spec.scaleTargetRef.kind == workload.kind && $0.spec.scaleTargetRef.name == workload.name }),
                   let name = hpa.metadata.name {
                    facts.autoscalers[target] = AutoscalerInfo(name: name, minReplicas: hpa.spec.minReplicas ?? 1, maxReplicas: hpa.spec.maxReplicas)
                    facts.notes.append("\(target): HorizontalPodAutoscaler \(name) owns its replicas (min \(hpa.spec.minReplicas ?? 1), max \(hpa.spec.maxReplicas)); Trimtab never writes them")
                }
            }
        }
        return facts
    }
}
