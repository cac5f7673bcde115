import TrimtabCore
import TrimtabCycle

extension ClusterFacts {
    /// Reads the facts for the targets of an assessment.
    public static func read(targets: [TargetID], policy: Policy, client: KubeClient,
                            http: HTTPEndpointClient? = nil) async throws(KubeError) -> ClusterFacts {
        var facts = ClusterFacts()
        let knobs = policy.knobsReadFromCluster
        var configMaps: [String: [String: String]?] = [:]
        let resource = try KubeResource.workload(kind: policy.targets.kind)
        var byNamespace: [String: [(TargetID, WorkloadRef)]] = [:]
        for target in targets {
            guard let workload = WorkloadRef.resolve(target, selector: policy.targets) else { continue }
            byNamespace[workload.namespace, default: []].append((target, workload))
        }
        for namespace in byNamespace.keys.sorted() {
            let members = byNamespace[namespace] ?? []
            let workloads = try await client.list(WorkloadList.self, resource, namespace: namespace)
            let autoscalers = try await client.list(AutoscalerList.self, .horizontalPodAutoscalers, namespace: namespace)
            let objects = Dictionary(workloads.items.compactMap { item in item.metadata.name.map { ($0, item) } }, uniquingKeysWith: { a, _ in a })
            for (target, workload) in members {
                for knob in knobs {
                    facts.knobValues[target, default: [:]][knob] = await knobState(knob, of: workload, object: objects[workload.name],
                                                                                   client: client, http: http, configMaps: &configMaps)
                }
                if objects[workload.name]?.metadata.annotations?[freezeAnnotation]?.lowercased() == "true" {
                    facts.frozen.insert(target)
                    facts.notes.append("\(target): frozen by the annotation \(freezeAnnotation)=true on \(workload)")
                }
                if let hpa = autoscalers.items.first(where: { $0.spec.scaleTargetRef.kind == workload.kind && $0.spec.scaleTargetRef.name == workload.name }),
                   let name = hpa.metadata.name {
                    facts.autoscalers[target] = AutoscalerInfo(name: name, minReplicas: hpa.spec.minReplicas ?? 1, maxReplicas: hpa.spec.maxReplicas,
                                                                targetUtilizationPercent: hpa.spec.cpuUtilization.map { Double($0.percent) },
                                                                scaleDownWindowSeconds: Double(hpa.spec.scaleDownWindowSeconds),
                                                                metricCount: max(1, hpa.spec.metrics?.count ?? 1))
                    facts.notes.append("\(target): HorizontalPodAutoscaler \(name) owns its replicas (min \(hpa.spec.minReplicas ?? 1), max \(hpa.spec.maxReplicas)); Trimtab never writes them")
                }
            }
        }
        return facts
    }

    /// What one knob holds: an env var from the workload list already read, a ConfigMap key from one
    /// read per ConfigMap, an admin endpoint from its own read. A failed read is an unknown value,
    /// never an error of the cycle: the action that needs it is held.
    static func knobState(_ knob: Knob, of workload: WorkloadRef, object: WorkloadObject?, client: KubeClient,
                          http: HTTPEndpointClient?, configMaps: inout [String: [String: String]?]) async -> KnobState {
        func number(_ text: String?, _ source: String) -> KnobState {
            guard let text else { return .unknown("\(knob) is not set in \(source)") }
            guard let value = KnobValue.number(text) else { return .unknown("\(knob) holds \"\(text)\" in \(source), not a number") }
            return .value(value, source: source)
        }
        switch knob {
        case .env(let name, let container):
            guard let object else { return .unknown("\(workload) was not found") }
            do {
                let found = try object.env(name, container: container, of: workload)
                return number(found.value, "the pod template of \(workload) (container \(found.container))")
            } catch {
                return .unknown(error.message)
            }
        case .configMap(let name, let key, _):
            let id = "\(workload.namespace)/\(name)"
            if configMaps[id] == nil {
                do {
                    configMaps[id] = .some(try await client.get(ConfigMapObject.self, .configMaps, namespace: workload.namespace, name: name).data ?? [:])
                } catch {
                    configMaps[id] = .some(nil)
                    return .unknown("ConfigMap \(id) could not be read: \(error.message)")
                }
            }
            guard let data = configMaps[id] ?? nil else { return .unknown("ConfigMap \(id) could not be read") }
            return number(data[key], "ConfigMap \(id)")
        case .http(let url):
            guard let http else { return .unknown("no HTTP client to read \(url)") }
            do {
                let reading = try await HTTPEndpointActuator(client: http, workload: workload, url: url).read()
                return number(reading.value, "the admin endpoint of \(workload)")
            } catch {
                return .unknown(error.message)
            }
        case .replicas, .autoscalerMaxReplicas, .autoscalerTargetUtilization, .autoscalerScaleDownWindow:
            return .unknown("\(knob) is read through its indicator")
        }
    }
}
