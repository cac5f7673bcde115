import TrimtabCore

/// One write a controller made to the simulated cluster.
public struct ControlChange: Sendable, Equatable {
    public var time: Double
    public var service: String
    /// `replicas`, `poolSize`, `ttl` or `hpaMaxReplicas`.
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
    mutating func control(_ cluster: inout SimCluster, indicators: FastIndicators) -> [ControlChange]
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
    public var downStabilization: Double = 300
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
            var window = recommendations[service.spec.name, default: []].filter { $0.time > time - downStabilization }
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

/// Trimtab as `trimtab run` runs it, against fast time: every interval the core assesses a snapshot
/// of the policy's indicators, judges the changes whose `verifyAfter` has passed (rolling back those
/// that did not help), plans, and applies what the plan proposes (the policy in enforce mode). Only
/// the I/O differs: the snapshot comes from `FastIndicators`, writes go to the simulated Deployment.
public struct TrimtabController: SimController {
    public var name: String
    public let usesAutoscaler = false
    public let policy: Policy
    var nextCycle: Double?
    public private(set) var journal: [JournalEntry] = []

    public init(policy: Policy, name: String = "Trimtab") {
        self.policy = policy
        self.name = name
    }

    public static let poolKnob = Knob.env(name: "DB_POOL_SIZE", container: nil)
    public static let ttlKnob = Knob.env(name: "CACHE_TTL_SECONDS", container: nil)

    func target(_ service: SimCluster.Service) -> TargetID {
        TargetID(labelNames: policy.targets.groupBy,
                 labelValues: policy.targets.groupBy.map { $0 == "namespace" ? service.spec.namespace : service.spec.name })
    }

    public mutating func control(_ cluster: inout SimCluster, indicators: FastIndicators) -> [ControlChange] {
        let time = cluster.time
        if nextCycle == nil { nextCycle = time }
        guard time >= nextCycle! - 1e-9 else { return [] }
        nextCycle = time + policy.evaluation.intervalSeconds
        let snapshot = indicators.snapshot(policy: policy, cluster: cluster, at: time)
        let assessment = Assessor.assess(snapshot, policy: policy)
        var changes: [ControlChange] = []
        // Verification of what is due, before planning, as a cycle of the daemon does.
        for index in journal.indices where journal[index].state == .applied {
            let entry = journal[index]
            let now = assessment.targets.first { $0.target == entry.target }
            switch Verification.judge(entry, now: now, time: time, cycleUnknown: !assessment.isComplete) {
            case .keep(let why):
                journal[index].move(to: .verified, at: time, note: why)
            case .rollBack(let why):
                guard let before = entry.before.flatMap(Double.init), let service = cluster.services.first(where: { target($0) == entry.target }) else { continue }
                // As the executor does: a knob that no longer holds the change's value was changed by
                // someone else since, and is left alone.
                let holds = Self.value(of: entry.knob, service.settings).map(Self.spell)
                guard entry.holdsAfter(holds) else {
                    journal[index].move(to: .superseded, at: time, note: "left alone: \(entry.knob) holds \(holds ?? "nothing"), not \(entry.after) (verification: \(why))")
                    continue
                }
                journal[index].move(to: .rolledBack, at: time, note: "restored \(entry.before ?? "nothing") (verification: \(why))")
                if let change = write(entry.knob, service: service.spec.name, value: before, cluster: &cluster, reason: "rollback: \(why)") {
                    changes.append(change)
                }
            case .wait, .undetermined:
                continue
            }
        }
        var context = PlanContext(
            history: journal.flatMap(\.changeRecords),
            autoscalers: Dictionary(cluster.services.compactMap { service in
                service.settings.autoscaler.map { (target(service), AutoscalerInfo(name: service.spec.name, minReplicas: $0.minReplicas, maxReplicas: $0.maxReplicas)) }
            }, uniquingKeysWith: { a, _ in a }),
            clusterRead: true)
        for service in cluster.services {
            context.knobValues[target(service)] = [
                Self.poolKnob: .value(Double(service.settings.poolSize), source: "the simulated Deployment"),
                Self.ttlKnob: .value(service.settings.ttl, source: "the simulated Deployment"),
            ]
        }
        let plan = Planner.plan(assessment, snapshot: snapshot, policy: policy, context: context)
        guard policy.mode == .enforce, !policy.paused else { return changes }
        for action in plan.actions where action.decision == .proposed {
            guard let service = cluster.services.first(where: { target($0) == action.target }),
                  let change = write(action.knob, service: service.spec.name, value: action.proposed, cluster: &cluster, reason: action.reason) else { continue }
            let workload = WorkloadRef(kind: "Deployment", namespace: service.spec.namespace, name: service.spec.name)
            var entry = JournalEntry(id: JournalEntry.id(for: "\(action.id)#\(journal.count)"), actionID: action.id, target: action.target,
                                     workload: workload, action: action.action, knob: action.knob, before: Self.spell(change.from),
                                     after: Self.spell(change.to), reason: action.reason, evidence: action.evidence,
                                     baseline: VerificationBaseline.of(assessment.targets.first { $0.target == action.target }, trigger: action.trigger),
                                     state: .begun, createdAt: time, verifyAfterSeconds: policy.safety.verifyAfterSeconds,
                                     rollbackIfScoreDropsBy: policy.safety.rollbackIfScoreDropsBy, minImprovement: policy.safety.minImprovement)
            entry.move(to: .applied, at: time, note: action.reason)
            journal.append(entry)
            changes.append(change)
        }
        return changes
    }

    public static func spell(_ value: Double) -> String { KnobValue.text(value) }

    /// What a knob of the simulated Deployment (or its HPA) holds, as the actuators read it.
    static func value(of knob: Knob, _ settings: ServiceSettings) -> Double? {
        switch knob {
        case .replicas: Double(settings.replicas)
        case .autoscalerMaxReplicas: settings.autoscaler.map { Double($0.maxReplicas) }
        case poolKnob: Double(settings.poolSize)
        case ttlKnob: settings.ttl
        default: nil
        }
    }

    /// Writes a knob of the simulated Deployment (or its HPA), as the actuators write the real ones.
    func write(_ knob: Knob, service: String, value: Double, cluster: inout SimCluster, reason: String) -> ControlChange? {
        guard let index = cluster.index(of: service) else { return nil }
        let settings = cluster.services[index].settings
        guard let from = Self.value(of: knob, settings) else { return nil }
        let name: String
        switch knob {
        case .replicas:
            // Never the replicas an HPA owns.
            guard settings.autoscaler == nil else { return nil }
            name = "replicas"
            cluster.update(service) { $0.replicas = Int(value) }
        case .autoscalerMaxReplicas:
            name = "hpaMaxReplicas"
            cluster.update(service) { $0.autoscaler?.maxReplicas = Int(value) }
        case Self.poolKnob:
            name = "poolSize"
            cluster.update(service) { $0.poolSize = Int(value) }
        case Self.ttlKnob:
            name = "ttl"
            cluster.update(service) { $0.ttl = value }
        default:
            return nil
        }
        guard from != value else { return nil }
        return ControlChange(time: cluster.time, service: service, knob: name, from: from, to: value, by: self.name, reason: reason)
    }
}

/// The HPA and Trimtab side by side, as in a cluster: the HPA owns the replicas; Trimtab tunes pools,
/// TTLs and the HPA's bounds.
public struct HPAWithTrimtab: SimController {
    public let name = "HPA + Trimtab"
    public let usesAutoscaler = true
    var hpa = HPAController()
    public var trimtab: TrimtabController

    public init(policy: Policy) {
        trimtab = TrimtabController(policy: policy, name: "Trimtab beside the HPA")
    }

    public mutating func control(_ cluster: inout SimCluster, indicators: FastIndicators) -> [ControlChange] {
        hpa.control(&cluster, indicators: indicators) + trimtab.control(&cluster, indicators: indicators)
    }
}
