/// A change made earlier, as the journal records it: what the planner needs for cooldowns and rate limits.
public struct ChangeRecord: Sendable, Equatable, Codable {
    public var target: TargetID
    public var knob: Knob
    /// When the change was applied (Unix seconds).
    public var time: Double
    public var from: Double
    public var to: Double
    /// Why the change was made, when it was a rollback: what verification found (`nil`: a planned change).
    public var rolledBack: String?
    /// When verification judges the change, while it waits to be judged (`nil`: judged, or a rollback).
    /// The knob is not changed again before then, whatever the cooldown: a second change would be
    /// judged together with the first.
    public var verificationDue: Double?

    public init(target: TargetID, knob: Knob, time: Double, from: Double, to: Double, rolledBack: String? = nil,
                verificationDue: Double? = nil) {
        self.target = target
        self.knob = knob
        self.time = time
        self.from = from
        self.to = to
        self.rolledBack = rolledBack
        self.verificationDue = verificationDue
    }
}

/// A HorizontalPodAutoscaler that owns a target's replicas, as the cluster reports it.
public struct AutoscalerInfo: Sendable, Equatable, Codable {
    public var name: String
    public var minReplicas: Int
    public var maxReplicas: Int
    /// The `averageUtilization` of its `Resource` metric on `cpu`, in percent of requests; nil when it
    /// does not scale on CPU utilisation (then Trimtab does not tune its target).
    public var targetUtilizationPercent: Double?
    /// Its `behavior.scaleDown.stabilizationWindowSeconds` (300 when unset).
    public var scaleDownWindowSeconds: Double
    /// How many metrics it scales on: with more than one, the CPU target is one of several votes.
    public var metricCount: Int
    /// Where its CPU utilisation metric sits in `spec.metrics` (what a JSON patch of the target names);
    /// for a ScaledObject, where its `cpu` trigger sits in `spec.triggers`.
    public var cpuMetricIndex: Int?
    /// The KEDA ScaledObject that owns the HPA (and reverts edits to it): its bounds are changed there.
    public var scaledObject: String?

    public init(name: String, minReplicas: Int, maxReplicas: Int, targetUtilizationPercent: Double? = nil,
                scaleDownWindowSeconds: Double = 300, metricCount: Int = 1, cpuMetricIndex: Int? = nil, scaledObject: String? = nil) {
        self.name = name
        self.minReplicas = minReplicas
        self.maxReplicas = maxReplicas
        self.targetUtilizationPercent = targetUtilizationPercent
        self.scaleDownWindowSeconds = scaleDownWindowSeconds
        self.metricCount = metricCount
        self.cpuMetricIndex = cpuMetricIndex
        self.scaledObject = scaledObject
    }

    /// How a plan names what Trimtab would change: `HorizontalPodAutoscaler api`, `KEDA ScaledObject api`.
    public var label: String { scaledObject.map { "KEDA ScaledObject \($0)" } ?? "HorizontalPodAutoscaler \(name)" }
    /// The field of the upper bound where it is written: `maxReplicas`, or the ScaledObject's `maxReplicaCount`.
    public var maxField: String { scaledObject == nil ? "maxReplicas" : "maxReplicaCount" }
    /// The field of the CPU target: the HPA's, or the ScaledObject's `cpu` trigger's value.
    public var targetField: String { scaledObject == nil ? "CPU target" : "cpu trigger's value" }

    public var maxReplicasKnob: Knob { .autoscalerMaxReplicas(name: name, scaledObject: scaledObject) }
    public var targetKnob: Knob { .autoscalerTargetUtilization(name: name, scaledObject: scaledObject) }
    public var scaleDownKnob: Knob { .autoscalerScaleDownWindow(name: name, scaledObject: scaledObject) }

    /// For a ScaledObject's HPA, why the change goes to the ScaledObject: said in the plan.
    public var ownerRule: RuleResult? {
        scaledObject.map { RuleResult("keda", true, "KEDA ScaledObject \($0) owns HorizontalPodAutoscaler \(name) and reverts edits to it, so Trimtab changes the ScaledObject") }
    }
}

/// What the planner knows besides the snapshot: earlier changes and what the cluster says.
public struct PlanContext: Sendable, Equatable {
    public var history: [ChangeRecord]
    /// Targets frozen by an annotation on the workload.
    public var frozenTargets: Set<TargetID>
    /// Targets another controller holds still, with the reason (a paused KEDA ScaledObject, a Rollout
    /// mid-canary): frozen like an annotation, in these words.
    public var heldBy: [TargetID: String] = [:]
    /// Targets whose replicas a HorizontalPodAutoscaler owns (with its details in `autoscalers`, when known).
    public var autoscaledTargets: Set<TargetID>
    public var autoscalers: [TargetID: AutoscalerInfo]
    /// What knobs hold now, read from the cluster: an action whose input (pool size, TTL) has no
    /// indicator reads its current value here.
    public var knobValues: [TargetID: [Knob: KnobState]]
    /// Whether the cluster was read; without it, a knob's value is unknown.
    public var clusterRead: Bool
    /// Each objective's status per target this cycle: what budget decisions and their verification read.
    public var objectives: [ObjectiveStatus] = []
    /// The objects of each target that Argo CD or Flux manage: a change to one is written as a patch for Git.
    public var managed: [TargetID: [ManagedObject]] = [:]
    /// Changes already waiting in Git as patches (journaled `awaiting-git`): not proposed again meanwhile.
    public var pendingPatches: [PendingPatch] = []
    /// How each `restart: false` ConfigMap knob of a target reaches its pods (read from the pod
    /// template): a change the pods would never see is held.
    public var configMapReach: [TargetID: [Knob: ConfigMapReach]] = [:]

    public init(history: [ChangeRecord] = [], frozenTargets: Set<TargetID> = [], autoscaledTargets: Set<TargetID> = [],
                autoscalers: [TargetID: AutoscalerInfo] = [:], knobValues: [TargetID: [Knob: KnobState]] = [:], clusterRead: Bool = false) {
        self.history = history
        self.frozenTargets = frozenTargets
        self.autoscaledTargets = autoscaledTargets.union(autoscalers.keys)
        self.autoscalers = autoscalers
        self.knobValues = knobValues
        self.clusterRead = clusterRead
    }
}

/// What one knob of one workload holds, as read from the cluster.
public enum KnobState: Sendable, Equatable {
    /// A number, and where it was read (`the pod template of shop/search, container app`).
    case value(Double, source: String)
    /// No number: unset, not a number, or the read failed; the words say which.
    case unknown(String)
}

/// One safety rule as judged for one proposal.
public struct RuleResult: Sendable, Equatable, Codable {
    public var rule: String
    public var passed: Bool
    public var detail: String

    public init(_ rule: String, _ passed: Bool, _ detail: String) {
        self.rule = rule
        self.passed = passed
        self.detail = detail
    }
}

/// A figure behind a decision: which indicator, its value, and the query it came from.
public struct Evidence: Sendable, Equatable, Codable {
    public var name: String
    public var value: Double
    public var unit: IndicatorUnit
    public var note: String?
    public var query: String?

    public init(name: String, value: Double, unit: IndicatorUnit, note: String? = nil, query: String? = nil) {
        self.name = name
        self.value = value
        self.unit = unit
        self.note = note
        self.query = query
    }
}

/// A change the planner proposes, or holds back, with everything that decided it.
public struct PlannedAction: Sendable, Equatable, Codable {
    public enum Decision: String, Sendable, Codable, CaseIterable {
        /// Every safety rule passed: dry-run would apply it, enforce applies it.
        case proposed
        /// A safety rule failed: it is not applied, and the plan says which.
        case held
    }

    /// Stable for a target, knob and evaluation time.
    public var id: String
    public var target: TargetID
    public var action: String
    public var knob: Knob
    public var current: Double
    public var proposed: Double
    /// Why, in words.
    public var reason: String
    /// The bottleneck check that triggered it (empty for a scale-in on idle).
    public var trigger: String
    public var evidence: [Evidence]
    public var rules: [RuleResult]
    public var decision: Decision
    /// Expected benefit, for ordering: the trigger's weight times how far past warning it is.
    public var benefit: Double
    /// What the change costs beyond its value: the pods it rolls, the connections it adds in all.
    public var cost: String?
    /// For a change made from the error budget: what its verification compares against.
    public var budget: BudgetBaseline?
    /// For a scale-out ahead of a forecast peak: the forecast it was made on, in words.
    public var forecast: String?
    /// For a change held because a GitOps tool manages the object: the change as a patch for Git.
    public var gitPatch: GitPatch?
    /// The policy that planned it, when a cycle runs several teams' policies.
    public var policy: String?

    public var failedRules: [RuleResult] { rules.filter { !$0.passed } }

    public init(id: String, target: TargetID, action: String, knob: Knob, current: Double, proposed: Double, reason: String,
                trigger: String, evidence: [Evidence], rules: [RuleResult], decision: Decision, benefit: Double, cost: String? = nil) {
        self.id = id
        self.target = target
        self.action = action
        self.knob = knob
        self.current = current
        self.proposed = proposed
        self.reason = reason
        self.trigger = trigger
        self.evidence = evidence
        self.rules = rules
        self.decision = decision
        self.benefit = benefit
        self.cost = cost
    }
}

/// Advice for what Trimtab cannot change itself.
public struct Recommendation: Sendable, Equatable, Codable {
    public var target: TargetID
    public var check: String
    public var text: String

    public init(target: TargetID, check: String, text: String) {
        self.target = target
        self.check = check
        self.text = text
    }
}

/// One coherent plan for one cycle: at most one change per target, ordered by expected benefit.
public struct Plan: Sendable, Equatable, Codable {
    public var time: Double
    public var mode: PolicyMode
    /// Proposed changes first (by benefit), then the ones held back.
    public var actions: [PlannedAction]
    /// Why rules did not lead to an action: "scale on shop/api: cpu_utilization is not in breach".
    public var considered: [String]
    public var recommendations: [Recommendation]
    /// The databases several targets share: their connections now and after the plan.
    public var databases: [DatabaseUse] = []
    /// The load forecasts of the policy's scale rules, one per target; nil when none forecasts.
    public var forecasts: [LoadForecast]?

    public init(time: Double, mode: PolicyMode, actions: [PlannedAction], considered: [String] = [], recommendations: [Recommendation] = []) {
        self.time = time
        self.mode = mode
        self.actions = actions
        self.considered = considered
        self.recommendations = recommendations
    }

    public var proposed: [PlannedAction] { actions.filter { $0.decision == .proposed } }
    public var held: [PlannedAction] { actions.filter { $0.decision == .held } }
}
