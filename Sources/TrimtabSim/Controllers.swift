import TrimtabCore
import TrimtabCycle

/// One write a controller made to the simulated cluster.
public struct ControlChange: Sendable, Equatable {
    public var time: Double
    public var service: String
    /// `replicas`, `poolSize`, `ttl`, `hpaMaxReplicas`, `hpaTarget` or `hpaScaleDownWindow`.
    public var knob: String
    public var from: Double
    public var to: Double
    public var by: String
    public var reason: String
}

/// Something that watches the simulated cluster and changes its settings.
public protocol SimController: Sendable {
    var name: String { get }
    /// Whether the services keep their HorizontalPodAutoscalers under this controller.
    var usesAutoscaler: Bool { get }
    /// Called at every step of the simulation; the controller acts when its own period has come.
    mutating func control(_ cluster: inout SimCluster, indicators: FastIndicators) async -> [ControlChange]
}

/// Nobody changes anything: the settings the services started with.
public struct FixedController: SimController {
    public let name = "fixed replicas"
    public let usesAutoscaler = false
    public init() {}
    public mutating func control(_ cluster: inout SimCluster, indicators: FastIndicators) -> [ControlChange] { [] }
}

/// The Kubernetes HorizontalPodAutoscaler's algorithm on CPU, with its default behaviour: sync every
/// 15 s; tolerance 0.1; a pod not yet ready counts as 0 % of its request when scaling up; scale-up
/// without stabilization by at most max(4 pods, 100 %) per period; scale-down to the highest
/// recommendation of the last 300 s, by at most 100 % per period. Usage is each ready pod's CPU over
/// the last sync period (metrics-server's window), against its request.
public struct HPAController: SimController {
    public let name = "HPA"
    public let usesAutoscaler = true
    public var sync: Double = 15
    public var tolerance: Double = 0.1
    var nextSync: Double?
    var lastCPU: [String: Double] = [:]
    var recommendations: [String: [(time: Double, replicas: Int)]] = [:]

    public init() {}

    public mutating func control(_ cluster: inout SimCluster, indicators: FastIndicators) -> [ControlChange] {
        let time = cluster.time
        guard time >= (nextSync ?? time) - 1e-9 else { return [] }
        nextSync = time + sync
        // Each pod's CPU counter now, for its usage over the next period.
        defer {
            lastCPU = [:]
            for service in cluster.services { for pod in service.pods { lastCPU[pod.name] = pod.counters.cpuSeconds } }
        }
        var changes: [ControlChange] = []
        for index in cluster.services.indices {
            let service = cluster.services[index]
            guard let hpa = service.settings.autoscaler else { continue }
            let current = service.settings.replicas
            let ready = service.pods.filter { $0.isReady(at: time) && lastCPU[$0.name] != nil }
            let unready = service.pods.count - ready.count
            guard !ready.isEmpty else { continue }
            let usage = ready.map { ($0.counters.cpuSeconds - lastCPU[$0.name]!) / sync }.reduce(0, +)
            let request = service.spec.cpuRequestCores
            let ratio = usage / (Double(ready.count) * request) / hpa.targetUtilization
            var recommended = current
            if abs(ratio - 1) > tolerance {
                recommended = Int((ratio * Double(ready.count) - 1e-9).rounded(.up))
                if ratio > 1, unready > 0 {
                    // Pods not ready count as using nothing: scale up only if that still calls for it.
                    let adjusted = usage / (Double(ready.count + unready) * request) / hpa.targetUtilization
                    recommended = adjusted <= 1 + tolerance ? current : Int((adjusted * Double(ready.count + unready) - 1e-9).rounded(.up))
                }
            }
            var window = recommendations[service.spec.name, default: []].filter { $0.time > time - hpa.scaleDownStabilizationSeconds }
            window.append((time, recommended))
            recommendations[service.spec.name] = window
            var desired = recommended
            if desired < current { desired = min(current, window.map(\.replicas).max() ?? desired) }
            if desired > current { desired = min(desired, max(current + 4, current * 2)) }
            desired = min(max(desired, hpa.minReplicas), hpa.maxReplicas)
            if desired != current {
                cluster.update(service.spec.name) { $0.replicas = desired }
                changes.append(ControlChange(time: time, service: service.spec.name, knob: "replicas", from: Double(current),
                                             to: Double(desired), by: name,
                                             reason: "CPU at \(Int(ratio * hpa.targetUtilization * 100)) % of requests against \(Int(hpa.targetUtilization * 100)) %"))
            }
        }
        return changes
    }
}

/// Trimtab as `trimtab run` runs it, against fast time: every interval one `Cycle` (the one every
/// mode runs) reads the simulation's indicators, assesses them, and on the simulated cluster recovers,
/// verifies, plans and executes through Trimtab's own executor and journal. Only the two ends differ:
/// the snapshot comes from `FastIndicators`, the writes go to the simulated Deployments.
public struct TrimtabController: SimController {
    public var name: String
    public let usesAutoscaler = false
    public let policy: Policy
    var nextCycle: Double?
    /// The cluster the executor writes to and its journal, kept from cycle to cycle.
    var cluster: SimulatedCluster?
    /// What the daemon keeps between cycles: here, the forecasts' load history (read once a step).
    var windows: WindowCache? = WindowCache()
    let clock = ManualClock(start: 0)
    /// Where the executor journals: in memory unless given (the soak gives a real `FileJournal`).
    let journalStore: (any JournalStore)?

    public init(policy: Policy, name: String = "Trimtab", journal: (any JournalStore)? = nil) {
        self.policy = policy
        self.name = name
        journalStore = journal
    }

    /// The simulated cluster the executor writes to, once the first cycle has run.
    public var simulatedCluster: SimulatedCluster? { cluster }

    /// The journal the executor kept, oldest first.
    public func journal() async -> [JournalEntry] { (try? await cluster?.journal.entries()) ?? [] }

    public mutating func control(_ model: inout SimCluster, indicators: FastIndicators) async -> [ControlChange] {
        let time = model.time
        if nextCycle == nil { nextCycle = time }
        guard time >= nextCycle! - 1e-9 else { return [] }
        nextCycle = time + policy.evaluation.intervalSeconds
        let simulated = cluster ?? journalStore.map { SimulatedCluster(model, policy: policy, journal: $0) } ?? SimulatedCluster(model, policy: policy)
        cluster = simulated
        simulated.replace(model)
        clock.set(time)
        let cycle = Cycle(policy: policy, source: SimulatedMetrics(indicators: indicators, cluster: model), cluster: simulated, clock: clock)
        let result = await cycle.run(at: cycle.evaluationTime(time), windows: &windows)
        model = simulated.state
        return simulated.takeWrites().map { write in
            ControlChange(time: write.time, service: write.service, knob: Self.knobName(write.knob), from: write.from, to: write.to, by: name,
                          reason: Self.reason(for: write, simulated, result))
        }
    }

    /// Why the executor wrote: the rollback's verdict, or the action's reason.
    static func reason(for write: SimulatedCluster.Write, _ cluster: SimulatedCluster, _ result: Cycle.Result) -> String {
        func isService(_ target: TargetID) -> Bool { target.labelValues.last == write.service }
        if let rollback = result.execution?.journal.first(where: { $0.state.isRestored && $0.knob == write.knob && isService($0.target) }) {
            return "rollback: \(rollback.detail)"
        }
        return result.plan?.actions.first { $0.decision == .proposed && $0.knob == write.knob && isService($0.target) }?.reason ?? "the executor's write"
    }

    static func knobName(_ knob: Knob) -> String {
        switch knob {
        case .replicas: "replicas"
        case .autoscalerMaxReplicas: "hpaMaxReplicas"
        case .autoscalerTargetUtilization: "hpaTarget"
        case .autoscalerScaleDownWindow: "hpaScaleDownWindow"
        case SimulatedCluster.poolKnob, SimulatedCluster.livePoolKnob: "poolSize"
        case SimulatedCluster.ttlKnob, SimulatedCluster.liveTTLKnob: "ttl"
        default: knob.description
        }
    }

    public static func spell(_ value: Double) -> String { KnobValue.text(value) }
}

/// The HPA and Trimtab side by side, as in a cluster: the HPA owns the replicas; Trimtab tunes pools,
/// TTLs and the HPA's bounds.
public struct HPAWithTrimtab: SimController {
    public let name: String
    public let usesAutoscaler = true
    var hpa = HPAController()
    public var trimtab: TrimtabController

    public init(policy: Policy, name: String = "HPA + Trimtab") {
        self.name = name
        trimtab = TrimtabController(policy: policy, name: "Trimtab beside the HPA")
    }

    public mutating func control(_ cluster: inout SimCluster, indicators: FastIndicators) async -> [ControlChange] {
        let scaled = hpa.control(&cluster, indicators: indicators)
        return scaled + (await trimtab.control(&cluster, indicators: indicators))
    }
}
