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
            let scaledObjects = try await Self.scaledObjects(in: namespace, client: client, notes: &facts.notes)
            let objects = Dictionary(workloads.items.compactMap { item in item.metadata.name.map { ($0, item) } }, uniquingKeysWith: { a, _ in a })
            for (target, workload) in members {
                for knob in knobs {
                    facts.knobValues[target, default: [:]][knob] = await knobState(knob, of: workload, object: objects[workload.name],
                                                                                   client: client, http: http, configMaps: &configMaps)
                }
                if let object = objects[workload.name] {
                    for knob in policy.actions.flatMap(\.action.knobs) {
                        guard case .configMap(let name, let key, false) = knob else { continue }
                        facts.configMapReach[target, default: [:]][knob] = object.configMapReach(name, key: key, workload: workload)
                    }
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
                if WorkloadRef.isRollout(workload.kind), let object = objects[workload.name],
                   let reason = object.rolloutProgress(name: workload.name).holdReason {
                    facts.heldBy[target] = reason
                    facts.notes.append("\(target): \(reason)")
                }
                let hpa = autoscalers.items.first { $0.spec.scaleTargetRef.kind == workload.kind && $0.spec.scaleTargetRef.name == workload.name }
                if let scaledObject = scaledObjects.first(where: { $0.spec.targets(workload) }), let name = scaledObject.metadata.name {
                    facts.noteScaledObject(target, scaledObject, name: name, hpa: hpa, namespace: namespace, settings: policy.safety.gitOps)
                } else if let hpa, let name = hpa.metadata.name {
                    if let owner = hpa.metadata.ownerReferences?.first(where: { $0.kind == "ScaledObject" }) {
                        // KEDA owns it, but its ScaledObject could not be read: nothing is written to either.
                        facts.autoscalers[target] = AutoscalerInfo(name: name, minReplicas: hpa.spec.minReplicas ?? 1, maxReplicas: hpa.spec.maxReplicas)
                        facts.heldBy[target] = "HorizontalPodAutoscaler \(name) belongs to KEDA ScaledObject \(owner.name), which could not be read; Trimtab changes neither"
                        facts.notes.append("\(target): \(facts.heldBy[target]!)")
                        continue
                    }
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

    /// The ScaledObjects of a namespace, one list per namespace; none where KEDA is not installed (its
    /// resource is unknown: 404) or Trimtab may not list them (403, said in the notes).
    static func scaledObjects(in namespace: String, client: KubeClient, notes: inout [String]) async throws(KubeError) -> [ScaledObjectObject] {
        do {
            return try await client.list(ScaledObjectList.self, .scaledObjects, namespace: namespace).items
        } catch where error.kind == .notFound {
            return []
        } catch where error.kind == .forbidden {
            notes.append("namespace \(namespace): Trimtab may not list KEDA ScaledObjects there (\(error.message)); an HPA KEDA owns is left alone")
            return []
        }
    }

    /// A target KEDA scales: its bounds come from the ScaledObject (which KEDA copies to its HPA and
    /// restores there), changes are written to it, and a paused ScaledObject holds the target still.
    mutating func noteScaledObject(_ target: TargetID, _ scaledObject: ScaledObjectObject, name: String, hpa: AutoscalerObject?,
                                   namespace: String, settings: GitOpsSettings) {
        let spec = scaledObject.spec
        let hpaName = hpa?.metadata.name ?? spec.autoscalerName(of: name)
        if let reason = KEDAPause.reason(scaledObject: name, annotations: scaledObject.metadata.annotations ?? [:]) {
            heldBy[target] = reason
            notes.append("\(target): \(reason)")
        }
        autoscalers[target] = AutoscalerInfo(name: hpaName, minReplicas: spec.minimum, maxReplicas: spec.maximum,
                                             targetUtilizationPercent: spec.cpuUtilization.map { Double($0.percent) },
                                             scaleDownWindowSeconds: Double(spec.scaleDownWindowSeconds),
                                             metricCount: max(1, spec.triggers?.count ?? 1), cpuMetricIndex: spec.cpuUtilization?.index,
                                             scaledObject: name)
        noteManagement(target, .scaledObject(name, namespace: namespace), scaledObject.metadata, settings: settings)
        notes.append("\(target): KEDA ScaledObject \(name) owns its replicas through HorizontalPodAutoscaler \(hpaName) (min \(spec.minimum), max \(spec.maximum)); Trimtab changes the ScaledObject, never the HPA KEDA keeps in step with it")
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
        case .jolokia, .podHTTP, .pgbouncer:
            guard let http else { return .unknown("no HTTP client to read \(knob)") }
            do {
                guard let actuator = try Actuators.make(knob, workload: workload, client: client, http: http) as? PodKnobActuator else {
                    return .unknown("\(knob) does not live in the pods")
                }
                let reading = try await actuator.read()
                let pods = reading.pods?.count ?? 0
                if let parts = reading.pods, Set(parts.map { $0.value.flatMap(KnobValue.number) }).count > 1 {
                    return .unknown("the \(pods) pods of \(workload) disagree on \(knob.settingName ?? "\(knob)"): \(reading.value ?? "")")
                }
                return number(reading.value, "\(actuator.access.via) on the \(pods) ready pod\(pods == 1 ? "" : "s") of \(workload)")
            } catch {
                return .unknown(error.message)
            }
        case .replicas, .autoscalerMaxReplicas, .autoscalerTargetUtilization, .autoscalerScaleDownWindow:
            return .unknown("\(knob) is read through its indicator")
        }
    }
}
