import TrimtabCore
import TrimtabCycle

extension ClusterFacts {
    /// Reads the facts for the targets of an assessment.
    public static func read(targets: [TargetID], policy: Policy, client: KubeClient,
                            http: HTTPEndpointClient? = nil) async throws(KubeError) -> ClusterFacts {
        var facts = ClusterFacts()
        let knobs = policy.knobsReadFromCluster
        var configMaps: [String: ConfigMapRead] = [:]
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
                if let object = objects[workload.name] {
                    facts.noteManagement(target, .workload(workload), object.metadata, settings: policy.safety.gitOps,
                                         containers: object.spec?.template?.spec?.containers?.map(\.name) ?? [])
                }
                for name in policy.configMapsOfKnobs {
                    if case .found(let object) = await configMap(name, namespace: namespace, client: client, cache: &configMaps) {
                        facts.noteManagement(target, .configMap(name, namespace: namespace), object.metadata, settings: policy.safety.gitOps)
                    }
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
                                                                metricCount: max(1, hpa.spec.metrics?.count ?? 1),
                                                                cpuMetricIndex: hpa.spec.cpuUtilization?.index)
                    facts.noteManagement(target, .autoscaler(name, namespace: namespace), hpa.metadata, settings: policy.safety.gitOps)
                    facts.notes.append("\(target): HorizontalPodAutoscaler \(name) owns its replicas (min \(hpa.spec.minReplicas ?? 1), max \(hpa.spec.maxReplicas)); Trimtab never writes them")
                }
            }
        }
        return facts
    }

    /// A ConfigMap as one read of it gave it: its knobs' values and its labels come from the same read.
    enum ConfigMapRead {
        case found(ConfigMapObject)
        case failed(String)
    }

    /// Reads a ConfigMap once per cycle, however many knobs and targets name it.
    static func configMap(_ name: String, namespace: String, client: KubeClient, cache: inout [String: ConfigMapRead]) async -> ConfigMapRead {
        let id = "\(namespace)/\(name)"
        if let known = cache[id] { return known }
        let read: ConfigMapRead
        do {
            read = .found(try await client.get(ConfigMapObject.self, .configMaps, namespace: namespace, name: name))
        } catch {
            read = .failed(error.message)
        }
        cache[id] = read
        return read
    }

    /// Records an object Argo CD or Flux manages (or a note when it is labelled for one that leaves it alone).
    mutating func noteManagement(_ target: TargetID, _ object: ObjectRef, _ metadata: ObjectMeta, settings: GitOpsSettings,
                                 containers: [String] = []) {
        let found = GitOpsManagement.detect(labels: metadata.labels ?? [:], annotations: metadata.annotations ?? [:], settings: settings)
        if let management = found.management {
            managed[target, default: []].append(ManagedObject(object: object, management: management, containers: containers))
            notes.append("\(target): \(object) is managed by \(management); Trimtab writes its changes as patches for Git")
        } else if let note = found.note {
            notes.append("\(target): \(object) is \(note)")
        }
    }

    /// What one knob holds: an env var from the workload list already read, a ConfigMap key from one
    /// read per ConfigMap, an admin endpoint from its own read. A failed read is an unknown value,
    /// never an error of the cycle: the action that needs it is held.
    static func knobState(_ knob: Knob, of workload: WorkloadRef, object: WorkloadObject?, client: KubeClient,
                          http: HTTPEndpointClient?, configMaps: inout [String: ConfigMapRead]) async -> KnobState {
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
            switch await configMap(name, namespace: workload.namespace, client: client, cache: &configMaps) {
            case .found(let object): return number(object.data?[key], "ConfigMap \(id)")
            case .failed(let message): return .unknown("ConfigMap \(id) could not be read: \(message)")
            }
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
