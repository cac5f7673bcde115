import Foundation
import TrimtabCore
import TrimtabCycle

/// The simulated cluster behind the `Cluster` protocol, so the control benchmark runs Trimtab's own
/// executor (journal, verification, rollback, recovery, the superseded and after-rollback rules) on
/// it: each service is a Deployment whose replicas, `DB_POOL_SIZE` and `CACHE_TTL_SECONDS` env vars
/// and HorizontalPodAutoscaler's `maxReplicas`, CPU target and scale-down window are knobs. Every object has a resourceVersion that each
/// write moves on, and a write over an older version is a 409, as the API server answers.
public final class SimulatedCluster: Cluster, @unchecked Sendable {
    // @unchecked: `model`, `versions` and `writes` are only touched under `lock`.
    private let lock = NSLock()
    private var model: SimCluster
    private var versions: [String: Int] = [:]
    private var writes: [Write] = []
    public let journal: any JournalStore
    public let policy: Policy
    public let server = "the simulated cluster"
    public let writeTimeoutSeconds = 0.0

    /// One write to a knob, as the executor made it.
    public struct Write: Sendable {
        public var time: Double
        public var service: String
        public var knob: Knob
        public var from: Double
        public var to: Double
    }

    public static let poolKnob = Knob.env(name: "DB_POOL_SIZE", container: nil)
    public static let ttlKnob = Knob.env(name: "CACHE_TTL_SECONDS", container: nil)
    /// The same two settings as keys of the ConfigMap `app-config`, mounted whole at `/etc/app` (so
    /// the kubelet refreshes it in the running pods): knobs that change the pods live, rolling none.
    public static let livePoolKnob = Knob.configMap(name: "app-config", key: "DB_POOL_SIZE")
    public static let liveTTLKnob = Knob.configMap(name: "app-config", key: "CACHE_TTL_SECONDS")

    public init(_ model: SimCluster, policy: Policy, journal: any JournalStore = MemoryJournal(location: "journal of the simulated cluster")) {
        self.model = model
        self.policy = policy
        self.journal = journal
    }

    /// The model as it is now; `replace` hands it back after the simulation stepped it.
    public var state: SimCluster {
        lock.lock()
        defer { lock.unlock() }
        return model
    }

    public func replace(_ state: SimCluster) {
        lock.lock()
        model = state
        lock.unlock()
    }

    /// The writes made since the last call, oldest first.
    public func takeWrites() -> [Write] {
        lock.lock()
        defer { lock.unlock() }
        let taken = writes
        writes = []
        return taken
    }

    /// The target a service is, under the policy's `groupBy` (namespace and workload).
    public func target(of spec: ServiceSpec) -> TargetID {
        spec.target(under: policy)
    }

    public func facts(for targets: [TargetID], policy: Policy) async throws(KubeError) -> ClusterFacts {
        let model = state
        var facts = ClusterFacts()
        let wanted = Set(targets)
        for service in model.services {
            let target = target(of: service.spec)
            guard wanted.contains(target) else { continue }
            if let hpa = service.settings.autoscaler {
                facts.autoscalers[target] = AutoscalerInfo(name: service.spec.name, minReplicas: hpa.minReplicas, maxReplicas: hpa.maxReplicas,
                                                           targetUtilizationPercent: (hpa.targetUtilization * 100).rounded(),
                                                           scaleDownWindowSeconds: hpa.scaleDownStabilizationSeconds)
                facts.notes.append("\(target): HorizontalPodAutoscaler \(service.spec.name) owns its replicas (min \(hpa.minReplicas), max \(hpa.maxReplicas)); Trimtab never writes them")
            }
            for knob in policy.knobsReadFromCluster {
                let source = knob == Self.livePoolKnob || knob == Self.liveTTLKnob ? "ConfigMap \(service.spec.namespace)/app-config"
                    : "the pod template of Deployment \(service.spec.namespace)/\(service.spec.name)"
                facts.knobValues[target, default: [:]][knob] = Self.value(of: knob, service.settings).map { .value($0, source: source) }
                    ?? .unknown("\(knob) is not a knob of the simulated Deployment \(service.spec.name)")
            }
            // Every simulated pod mounts app-config whole, so its keys are live.
            for knob in [Self.livePoolKnob, Self.liveTTLKnob] where policy.actions.contains(where: { $0.action.knobs.contains(knob) }) {
                facts.configMapReach[target, default: [:]][knob] = .live(container: "app", path: "/etc/app/\(knob.settingName ?? "")")
            }
        }
        return facts
    }

    public func actuator(for knob: Knob, of workload: WorkloadRef) throws(KubeError) -> any Actuator {
        guard workload.kind == "Deployment" else {
            throw KubeError(kind: .notFound, message: "the simulated cluster has Deployments only, not \(workload.kind) \(workload.name)")
        }
        switch knob {
        case .replicas, .autoscalerMaxReplicas, .autoscalerTargetUtilization, .autoscalerScaleDownWindow, Self.poolKnob, Self.ttlKnob,
             Self.livePoolKnob, Self.liveTTLKnob:
            return SimulatedKnob(cluster: self, knob: knob, workload: workload)
        default:
            throw KubeError(kind: .unsupported, message: "the simulated cluster has no knob \(knob)")
        }
    }

    public func record(_ entry: JournalEntry, reason: String, type: String, message: String, wallTime: Double) async -> [String] { [] }

    public func journalLock() -> any JournalLock { NoLock() }

    /// What a knob of a simulated Deployment (or its HPA) holds.
    static func value(of knob: Knob, _ settings: ServiceSettings) -> Double? {
        switch knob {
        case .replicas: Double(settings.replicas)
        case .autoscalerMaxReplicas: settings.autoscaler.map { Double($0.maxReplicas) }
        case .autoscalerTargetUtilization: settings.autoscaler.map { ($0.targetUtilization * 100).rounded() }
        case .autoscalerScaleDownWindow: settings.autoscaler.map(\.scaleDownStabilizationSeconds)
        case poolKnob: Double(settings.poolSize)
        case ttlKnob: settings.ttl
        // The ConfigMap holds the template's value until a live write sets its own.
        case livePoolKnob: Double(settings.livePoolSize ?? settings.poolSize)
        case liveTTLKnob: settings.liveTTL ?? settings.ttl
        default: nil
        }
    }

    /// What a knob holds, with its object's version.
    func read(_ knob: Knob, of workload: WorkloadRef) throws(KubeError) -> KnobReading {
        lock.lock()
        defer { lock.unlock() }
        guard let index = model.index(of: workload.name), model.services[index].spec.namespace == workload.namespace else {
            throw KubeError(kind: .notFound, status: 404, message: "deployments.apps \"\(workload.name)\" not found")
        }
        let settings = model.services[index].settings
        if knob.autoscaler != nil, settings.autoscaler == nil {
            throw KubeError(kind: .notFound, status: 404, message: "horizontalpodautoscalers.autoscaling \"\(workload.name)\" not found")
        }
        let version = String(versions[workload.name, default: 1])
        return KnobReading(value: Self.value(of: knob, settings).map(KnobValue.text), version: version)
    }

    /// Writes a knob over the version read: a 409 when the object moved on since.
    func write(_ knob: Knob, of workload: WorkloadRef, _ value: String?, over reading: KnobReading, dryRun: Bool, fenceOnly: Bool = false) throws(KubeError) {
        lock.lock()
        defer { lock.unlock() }
        guard let index = model.index(of: workload.name) else {
            throw KubeError(kind: .notFound, status: 404, message: "deployments.apps \"\(workload.name)\" not found")
        }
        let current = versions[workload.name, default: 1]
        guard reading.version == String(current) else {
            throw KubeError(kind: .conflict, status: 409, message: "the object has been modified; please apply your changes to the latest version and try again")
        }
        if fenceOnly {
            versions[workload.name] = current + 1
            return
        }
        guard let text = value, let number = KnobValue.number(text) else {
            throw KubeError(kind: .invalid, status: 422, message: "\(knob) of the simulated Deployment must be a number, not \(value ?? "nothing")")
        }
        let settings = model.services[index].settings
        if case .replicas = knob, settings.autoscaler != nil {
            // The HPA would take them back at once: refused as a write the policy should never make.
            throw KubeError(kind: .forbidden, status: 403, message: "the replicas of \(workload.name) belong to its HorizontalPodAutoscaler")
        }
        guard !dryRun, let from = Self.value(of: knob, settings) else { return }
        let now = model.time
        model.update(workload.name) { settings in
            switch knob {
            case .replicas: settings.replicas = Int(number)
            case .autoscalerMaxReplicas: settings.autoscaler?.maxReplicas = Int(number)
            case .autoscalerTargetUtilization: settings.autoscaler?.targetUtilization = number / 100
            case .autoscalerScaleDownWindow: settings.autoscaler?.scaleDownStabilizationSeconds = number
            case Self.poolKnob: settings.poolSize = Int(number)
            case Self.ttlKnob: settings.ttl = number
            case Self.livePoolKnob, Self.liveTTLKnob:
                if knob == Self.livePoolKnob { settings.livePoolSize = Int(number) } else { settings.liveTTL = number }
                settings.liveVisibleAt = now + ServiceSettings.configMapRefreshSeconds
            default: break
            }
        }
        versions[workload.name] = current + 1
        if from != number { writes.append(Write(time: model.time, service: workload.name, knob: knob, from: from, to: number)) }
    }
}

/// One knob of one simulated Deployment, read and written as the Kubernetes actuators do.
struct SimulatedKnob: Actuator {
    let cluster: SimulatedCluster
    let knob: Knob
    let workload: WorkloadRef

    func read() async throws(KubeError) -> KnobReading { try cluster.read(knob, of: workload) }

    func write(_ value: String?, over reading: KnobReading, dryRun: Bool) async throws(KubeError) {
        try cluster.write(knob, of: workload, value, over: reading, dryRun: dryRun)
    }

    func fence(over reading: KnobReading, note: String) async throws(KubeError) {
        try cluster.write(knob, of: workload, nil, over: reading, dryRun: false, fenceOnly: true)
    }
}

/// The simulation's indicators as a snapshot source: what `FastIndicators` computed up to now, in the
/// shape the policy's queries return (one read per indicator, no kept windows needed).
public struct SimulatedMetrics: SnapshotSource {
    public let indicators: FastIndicators
    public let cluster: SimCluster
    public let displayName = "the simulation's indicators"

    public init(indicators: FastIndicators, cluster: SimCluster) {
        self.indicators = indicators
        self.cluster = cluster
    }

    public func restartMarker() async -> String? { nil }

    public func read(policy: Policy, at time: Double, windows: inout WindowCache?, progress: (@Sendable (String) -> Void)?) async -> SnapshotRead {
        let snapshot = indicators.snapshot(policy: policy, cluster: cluster, at: time)
        return SnapshotRead(snapshot: snapshot, queriesSent: snapshot.indicators.count, wholeReads: snapshot.indicators.count)
    }

    public func readObjectives(policy: Policy, at time: Double) async -> ObjectiveRead {
        let readings = indicators.objectives.readings(policy: policy, cluster: cluster, at: time)
        return ObjectiveRead(readings: readings, queriesSent: readings.map(\.errorRatios.count).reduce(0, +))
    }

    /// The history the simulation keeps whole: each service's request rate (`request_rate`), from the
    /// running totals of every scrape. Any other load indicator is failed with that reason.
    public func readHistory(_ queries: [IndicatorQuery], policy: Policy) async -> [IndicatorData] {
        queries.map { query in
            guard query.indicator == "request_rate" else {
                return IndicatorData.failed(query, message: "the simulation keeps the history of request_rate only, not of \(query.indicator)")
            }
            return IndicatorData(indicator: query.indicator, query: query,
                                 series: indicators.objectives.requestRates(policy: policy, cluster: cluster, start: query.start, end: query.end, step: query.step))
        }
    }
}
