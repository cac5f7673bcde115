import Foundation

/// Turns an assessment into a plan: which knob to turn, how far and why, or why not. Pure: the
/// snapshot, the policy, the earlier changes and the time go in; a plan comes out.
public enum Planner {
    /// A proposal before the safety rules that span targets (one per target, rate limit).
    struct Draft {
        var action: String
        var knob: Knob
        var current: Double
        var proposed: Double
        var reason: String
        var trigger: String
        var evidence: [Evidence]
        var rules: [RuleResult]
        var benefit: Double
        var cost: String? = nil
    }

    public static func plan(_ assessment: Assessment, snapshot: Snapshot, policy: Policy, context: PlanContext = PlanContext()) -> Plan {
        var drafts: [(TargetID, Draft)] = []
        var considered: [String] = []
        var recommendations: [Recommendation] = []
        for target in assessment.targets {
            let planning = TargetPlanning(target: target, snapshot: snapshot, policy: policy, context: context,
                                          cycleUnknown: !assessment.isComplete)
            let result = planning.run()
            drafts += result.drafts.map { draft in
                var draft = draft
                draft.cost = planning.cost(of: draft)
                return (target.target, draft)
            }
            considered += result.considered
            recommendations += result.recommendations
        }
        return resolve(drafts, time: snapshot.time, policy: policy, context: context, considered: considered,
                       recommendations: recommendations)
    }

    /// How long a change that verification rolled back is not tried again in the same direction: it
    /// did not help then, and trying it every cooldown would flap the knob.
    public static func retryAfterRollbackSeconds(_ policy: Policy) -> Double {
        max(3600, 4 * policy.safety.cooldownSeconds)
    }

    /// A failed rule when the same knob of the target was rolled back recently from a change in the
    /// draft's direction.
    static func retryHold(target: TargetID, draft: Draft, time: Double, policy: Policy, history: [ChangeRecord]) -> RuleResult? {
        guard draft.proposed.isFinite, draft.current.isFinite, draft.proposed != draft.current else { return nil }
        let hold = retryAfterRollbackSeconds(policy)
        guard let rollback = history.filter({ $0.target == target && $0.knob == draft.knob && $0.rolledBack != nil && $0.time <= time })
            .max(by: { $0.time < $1.time }), time - rollback.time < hold else { return nil }
        // The rollback went from the tried value back; the change it undid went the other way.
        let triedUp = rollback.from > rollback.to, proposesUp = draft.proposed > draft.current
        guard triedUp == proposesUp else { return nil }
        return RuleResult("after a rollback", false,
                          "\(draft.knob) \(Formatting.number(rollback.to)) → \(Formatting.number(rollback.from)) was rolled back \(PolicyDuration.format(time - rollback.time)) ago (\(rollback.rolledBack ?? "")); the same direction is not tried again for \(PolicyDuration.format(hold))")
    }

    /// At most one change per target (the most beneficial), then the global rate limit in benefit order.
    static func resolve(_ drafts: [(TargetID, Draft)], time: Double, policy: Policy, context: PlanContext,
                        considered: [String], recommendations: [Recommendation]) -> Plan {
        var actions: [PlannedAction] = drafts.map { target, draft in
            var draft = draft
            if let held = retryHold(target: target, draft: draft, time: time, policy: policy, history: context.history) {
                draft.rules.append(held)
            }
            return PlannedAction(id: "\(target)/\(draft.knob)@\(Int(time))", target: target, action: draft.action, knob: draft.knob,
                          current: draft.current, proposed: draft.proposed, reason: draft.reason, trigger: draft.trigger,
                          evidence: draft.evidence, rules: draft.rules,
                          decision: draft.rules.allSatisfy(\.passed) ? .proposed : .held, benefit: draft.benefit,
                          cost: draft.cost)
        }
        actions.sort { a, b in
            if a.benefit != b.benefit { return a.benefit > b.benefit }
            if a.target != b.target { return a.target < b.target }
            return a.action < b.action
        }
        var changedTargets = Set<TargetID>()
        let recent = context.history.filter { $0.time > time - 3600 && $0.time <= time }.count
        var budget = max(0, policy.safety.maxChangesPerHour - recent)
        for index in actions.indices where actions[index].decision == .proposed {
            let target = actions[index].target
            if changedTargets.contains(target) {
                actions[index].rules.append(RuleResult("one change per target", false,
                                                       "a more beneficial change to \(target) is planned this cycle"))
                actions[index].decision = .held
                continue
            }
            actions[index].rules.append(RuleResult("one change per target", true, "the only change to \(target) this cycle"))
            if budget == 0 {
                actions[index].rules.append(RuleResult("rate limit", false,
                                                       "\(policy.safety.maxChangesPerHour) changes per hour reached (\(recent) in the last hour, \(changedTargets.count) earlier in this plan)"))
                actions[index].decision = .held
                continue
            }
            actions[index].rules.append(RuleResult("rate limit", true, "\(recent + changedTargets.count + 1) of \(policy.safety.maxChangesPerHour) changes this hour"))
            budget -= 1
            changedTargets.insert(target)
        }
        actions.sort { a, b in
            if a.decision != b.decision { return a.decision == .proposed }
            if a.benefit != b.benefit { return a.benefit > b.benefit }
            return a.target < b.target
        }
        return Plan(time: time, mode: policy.mode, actions: actions, considered: considered, recommendations: recommendations)
    }
}

/// The planning for one target.
struct TargetPlanning {
    let target: TargetAssessment
    let snapshot: Snapshot
    let policy: Policy
    let context: PlanContext
    let cycleUnknown: Bool

    var id: TargetID { target.target }

    func check(_ name: String) -> CheckResult? { target.checks.first { $0.check == name } }
    func breaching(_ name: String) -> Bool { [.warning, .critical].contains(check(name)?.status) }
    func bottleneck(_ name: String) -> Bottleneck? { check(name)?.bottleneck }
    func value(_ indicator: String) -> Double? { snapshot.currentValue(indicator, for: id) }
    func unit(_ indicator: String) -> IndicatorUnit { policy.indicator(named: indicator)?.unit ?? .none }
    func query(_ indicator: String) -> String? { snapshot.indicators[indicator]?.query.promql }

    func evidence(_ indicator: String, _ value: Double, note: String? = nil) -> Evidence {
        Evidence(name: indicator, value: value, unit: unit(indicator), note: note, query: query(indicator))
    }

    /// One value an action reads, and why it is unknown when it is.
    struct Input {
        var name: String
        var value: Double?
        var unknown: String
        /// Where a value read from the cluster came from; `nil` for an indicator.
        var source: String?
    }

    /// An indicator's current value.
    func input(_ indicator: String) -> Input {
        Input(name: indicator, value: value(indicator), unknown: "no current value for \(indicator)")
    }

    /// The current value of what a knob holds: from its indicator when the policy declares one, else
    /// as read from the cluster (most applications export neither their pool size nor their TTL).
    func knobInput(_ indicator: String, knob: Knob) -> Input {
        if policy.indicator(named: indicator) != nil { return input(indicator) }
        guard context.clusterRead else {
            return Input(name: "\(knob)", value: nil,
                         unknown: "current value of \(knob) unknown: declare an indicator \(indicator) or give a cluster (--kubeconfig or --in-cluster) to read it from")
        }
        switch context.knobValues[id]?[knob] {
        case .value(let number, let source)?: return Input(name: "\(knob)", value: number, unknown: "", source: source)
        case .unknown(let why)?: return Input(name: "\(knob)", value: nil, unknown: "current value of \(knob) unknown: \(why)")
        case nil: return Input(name: "\(knob)", value: nil, unknown: "current value of \(knob) unknown: it was not read from the cluster")
        }
    }

    /// The evidence of an input: an indicator with its query, or a knob with where it was read.
    func evidence(_ input: Input, unit: IndicatorUnit) -> Evidence? {
        guard let value = input.value else { return nil }
        guard let source = input.source else { return evidence(input.name, value) }
        return Evidence(name: input.name, value: value, unit: unit, note: "read from \(source)", query: nil)
    }

    struct Result {
        var drafts: [Planner.Draft] = []
        var considered: [String] = []
        var recommendations: [Recommendation] = []
    }

    func run() -> Result {
        var result = Result()
        let bottlenecks = target.checks.compactMap(\.bottleneck)
        var addressed = Set<String>()
        for rule in policy.actions {
            let label = "\(rule.action.name) for \(id)"
            if let found = bottleneck(rule.bottleneck) {
                let missing = rule.and.filter { !breaching($0) }
                let blocking = rule.unless.filter { breaching($0) }
                if !missing.isEmpty {
                    result.considered.append("\(label): not the cause, \(missing.joined(separator: ", ")) \(missing.count == 1 ? "is" : "are") not in breach")
                    continue
                }
                if !blocking.isEmpty {
                    result.considered.append("\(label): not the cause, \(blocking.joined(separator: ", ")) \(blocking.count == 1 ? "is" : "are") in breach")
                    continue
                }
                // The rule treats its bottleneck and the causes it names.
                addressed.insert(rule.bottleneck)
                addressed.formUnion(rule.and)
                switch draft(for: rule, relieving: found) {
                case .draft(let draft): result.drafts.append(draft)
                case .none(let why): result.considered.append("\(label): no change, \(why)")
                case .blocked(let recommendation, let draft):
                    if let draft { result.drafts.append(draft) }
                    result.recommendations.append(recommendation)
                }
            } else if case .scale(let scale) = rule.action, bottlenecks.isEmpty, target.status == .healthy {
                // Scale in only when nothing is wrong with the target, now or at any point of the
                // scale-down stabilization window: a service that flaps is not idle between flaps.
                if let breach = recentBreach(within: scale.scaleDown.stabilizationSeconds) {
                    result.considered.append("\(label): no scale-in, \(breach)")
                } else if let draft = scaleDraft(scale, trigger: nil, rule: rule) {
                    result.drafts.append(draft)
                }
            }
        }
        for found in bottlenecks where !addressed.contains(found.check) {
            result.recommendations.append(recommendation(for: found))
        }
        return result
    }

    /// The latest breach of any check of the target within the last `seconds`, in words; `nil` when
    /// every point of every check stayed within its warning threshold (points with too little evidence
    /// are not breaches).
    func recentBreach(within seconds: Double) -> String? {
        var latest: (time: Double, text: String)?
        for check in policy.checks(for: id.labels) {
            let points = snapshot.judgeable(snapshot.window(check.indicator, for: id, seconds: seconds), of: check, for: id)
            guard let point = points.last(where: { Scoring.breaches($0.value, check.warning, check.worse) }) else { continue }
            if latest == nil || point.time > latest!.time {
                let ago = PolicyDuration.format(max(0, snapshot.time - point.time))
                latest = (point.time, "\(check.name) was in breach \(ago) ago (\(Formatting.value(point.value, unit: unit(check.indicator)))), inside the \(PolicyDuration.format(seconds)) scale-down stabilization window")
            }
        }
        return latest?.text
    }

    enum Outcome {
        case draft(Planner.Draft)
        case none(String)
        case blocked(Recommendation, Planner.Draft?)
    }

    func draft(for rule: ActionRule, relieving bottleneck: Bottleneck) -> Outcome {
        switch rule.action {
        case .scale(let scale):
            guard let draft = scaleDraft(scale, trigger: bottleneck, rule: rule) else {
                let utilization = value(scale.utilization)
                return .none(utilization.map { "\(scale.utilization) \(Formatting.value($0, unit: unit(scale.utilization))) is within \(Formatting.value(scale.utilizationTarget, unit: .ratio)) ± \(Formatting.number(scale.tolerance * 100)) %, so more replicas would not help" }
                             ?? "\(scale.utilization) is unknown")
            }
            if let limited = draft.rules.first(where: { $0.rule == "database budget" && !$0.passed }) {
                return .blocked(Recommendation(target: id, check: bottleneck.check, text: "Scaling out is held back by the database connection budget (\(limited.detail)). Shrink the per-replica pool, raise the database's connection limit, or put a pooler such as PgBouncer in front of it."), draft)
            }
            return .draft(draft)
        case .poolSize(let pool):
            return poolOutcome(pool, trigger: bottleneck)
        case .cacheTTL(let cache):
            return ttlOutcome(cache, trigger: bottleneck)
        }
    }

    /// Rules every proposal passes through, besides its own.
    func commonRules(knob: Knob, inputs: [Input]) -> [RuleResult] {
        var rules: [RuleResult] = []
        let missing = inputs.filter { $0.value == nil }
        if cycleUnknown {
            rules.append(RuleResult("inputs known", false, "a query failed this cycle, so nothing is changed"))
        } else if !missing.isEmpty {
            rules.append(RuleResult("inputs known", false, missing.map(\.unknown).joined(separator: "; ")))
        } else {
            rules.append(RuleResult("inputs known", true, inputs.map(\.name).joined(separator: ", ") + " are current"))
        }
        if policy.safety.freeze {
            rules.append(RuleResult("freeze", false, "the policy sets safety.freeze"))
        } else if context.frozenTargets.contains(id) {
            rules.append(RuleResult("freeze", false, "\(id) is frozen by its annotation"))
        } else {
            rules.append(RuleResult("freeze", true, "not frozen"))
        }
        let changes = context.history.filter { $0.target == id && $0.knob == knob && $0.time <= snapshot.time }
        let last = changes.map(\.time).max()
        let unjudged = changes.compactMap(\.verificationDue).max()
        if let last, snapshot.time - last < policy.safety.cooldownSeconds {
            rules.append(RuleResult("cooldown", false, "\(knob) changed \(PolicyDuration.format(snapshot.time - last)) ago; the cooldown is \(PolicyDuration.format(policy.safety.cooldownSeconds))"))
        } else if let last, let unjudged {
            let due = unjudged > snapshot.time ? "is judged in \(PolicyDuration.format(unjudged - snapshot.time))" : "waits for its verification"
            rules.append(RuleResult("cooldown", false, "\(knob) changed \(PolicyDuration.format(snapshot.time - last)) ago and \(due); a knob is not changed again before its last change is judged"))
        } else {
            rules.append(RuleResult("cooldown", true, last.map { "last changed \(PolicyDuration.format(snapshot.time - $0)) ago" } ?? "no earlier change"))
        }
        return rules
    }

    /// What a change costs beyond its value, in words: the pods a pod-template change or a restart
    /// rolls, the database connections a pool change adds across replicas, the pods a scale adds.
    func cost(of draft: Planner.Draft) -> String? {
        guard !draft.current.isNaN, !draft.proposed.isNaN else { return nil }
        let pods = replicaCount().map { "\($0) pod\($0 == 1 ? "" : "s")" } ?? "the pods"
        var parts: [String] = []
        switch draft.knob {
        case .replicas:
            let delta = Int(draft.proposed) - Int(draft.current)
            parts.append(delta > 0 ? "adds \(delta) pod\(delta == 1 ? "" : "s")" : "removes \(-delta) pod\(delta == -1 ? "" : "s")")
        case .env:
            parts.append("rolls all \(pods) of \(id): a pod-template change replaces them one by one")
        case .configMap(_, _, let restart):
            parts.append(restart ? "restarts all \(pods) of \(id) (a rollout restart follows the change)"
                                 : "no restart: the application must re-read the key")
        case .http:
            parts.append("no restart: the running application takes the value")
        case .autoscalerMaxReplicas:
            let delta = Int(draft.proposed) - Int(draft.current)
            parts.append("lets the HorizontalPodAutoscaler run up to \(delta) more pod\(delta == 1 ? "" : "s")")
        }
        if draft.action == "poolSize", let count = replicaCount() {
            let before = Int(draft.current) * count, after = Int(draft.proposed) * count
            parts.append("\(count) replicas × \(Int(draft.proposed)) = \(after) database connections in all (from \(before))")
        }
        return parts.joined(separator: "; ")
    }

    /// The target's replica count, from the indicator a scale or pool rule reads (or `replicas`).
    func replicaCount() -> Int? {
        let names = policy.actions.compactMap { rule -> String? in
            switch rule.action {
            case .scale(let scale): return scale.replicas
            case .poolSize(let pool): return pool.replicas
            case .cacheTTL: return nil
            }
        } + ["replicas"]
        return names.lazy.compactMap { self.value($0) }.first.map { Int($0.rounded()) }
    }

    func benefit(of bottleneck: Bottleneck?) -> Double {
        guard let bottleneck, let check = check(bottleneck.check) else { return 0.1 }
        let x = Scoring.badness(value: bottleneck.value, worse: check.worse, warning: check.warning, critical: check.critical)
        return check.weight * (1 + min(max(x, 0), 10))
    }

    func scaleDraft(_ scale: ScaleAction, trigger: Bottleneck?, rule: ActionRule) -> Planner.Draft? {
        let replicas = value(scale.replicas)
        let utilization = value(scale.utilization)
        guard let replicas, let utilization else {
            guard trigger != nil else { return nil }
            return Planner.Draft(action: "scale", knob: .replicas, current: replicas ?? .nan, proposed: replicas ?? .nan,
                                 reason: "cannot size the scale-out", trigger: trigger?.check ?? "", evidence: [],
                                 rules: commonRules(knob: .replicas, inputs: [input(scale.replicas), input(scale.utilization)]),
                                 benefit: benefit(of: trigger))
        }
        let current = Int(replicas.rounded())
        let window = max(scale.scaleDown.stabilizationSeconds, scale.scaleUp.stabilizationSeconds)
        let decision = ScalingStrategy.decide(current: current, points: snapshot.window(scale.utilization, for: id, seconds: window),
                                              time: snapshot.time, action: scale)
        // Scale out only for a bottleneck with this cause; scale in only when the target is healthy.
        if trigger != nil ? decision.desired <= current : decision.desired >= current { return nil }
        var desired = decision.desired
        var rules = commonRules(knob: .replicas, inputs: [input(scale.replicas), input(scale.utilization)])
        if let hpa = context.autoscalers[id] {
            let pinned = desired > current && current >= hpa.maxReplicas
            rules.append(RuleResult("autoscaler", false, pinned
                ? "HorizontalPodAutoscaler \(hpa.name) owns \(id)'s replicas and is pinned at its maxReplicas \(hpa.maxReplicas); Trimtab raises that instead"
                : "HorizontalPodAutoscaler \(hpa.name) owns \(id)'s replicas (min \(hpa.minReplicas), max \(hpa.maxReplicas)) and has room to scale by itself; Trimtab never writes them"))
        } else if context.autoscaledTargets.contains(id) {
            rules.append(RuleResult("autoscaler", false, "a HorizontalPodAutoscaler owns \(id)'s replicas; change its minReplicas/maxReplicas instead"))
        } else {
            rules.append(RuleResult("autoscaler", true, "no HorizontalPodAutoscaler on \(id)"))
        }
        let stepPolicy = desired > current ? scale.scaleUp : scale.scaleDown
        rules.append(RuleResult("max step", true, decision.stepNote
                                ?? "\(abs(desired - current)) within the step limit of \(stepPolicy.maxStep(from: current))"))
        rules.append(RuleResult("bounds", true, "\(desired) within \(scale.min)…\(scale.max)" + (decision.notes.isEmpty ? "" : "; " + decision.notes.joined(separator: "; "))))
        if desired > current, let budget = scaleBudget() {
            let allowed = budget.connections / max(1, budget.poolSize)
            if desired * budget.poolSize > budget.connections {
                if allowed > current {
                    rules.append(RuleResult("database budget", true, "reduced from \(desired) to \(allowed) replicas: \(allowed) × \(budget.poolSize) connections fit in \(budget.connections)"))
                    desired = allowed
                } else {
                    rules.append(RuleResult("database budget", false, "\(desired) replicas × \(budget.poolSize) connections would exceed the \(budget.connections) the database allows"))
                }
            } else {
                rules.append(RuleResult("database budget", true, "\(desired) × \(budget.poolSize) = \(desired * budget.poolSize) of \(budget.connections) connections"))
            }
        }
        let reason: String
        if let trigger {
            reason = "\(trigger.check) is a \(trigger.severity.rawValue) bottleneck and \(scale.utilization) is \(Formatting.value(utilization, unit: .ratio)) against a target of \(Formatting.value(scale.utilizationTarget, unit: .ratio)): ceil(\(current) × \(Formatting.number(utilization)) / \(Formatting.number(scale.utilizationTarget))) = \(decision.raw)"
        } else {
            reason = "idle: every check is healthy and \(scale.utilization) stayed low for the \(PolicyDuration.format(scale.scaleDown.stabilizationSeconds)) stabilization window (now \(Formatting.value(utilization, unit: .ratio)) against a target of \(Formatting.value(scale.utilizationTarget, unit: .ratio)))"
        }
        if let hpa = context.autoscalers[id], trigger != nil, desired > current, current >= hpa.maxReplicas {
            return autoscalerDraft(hpa, scale: scale, desired: desired, reason: reason, trigger: trigger, rules: rules,
                                   evidence: [evidence(scale.replicas, replicas), evidence(scale.utilization, utilization)])
        }
        return Planner.Draft(action: "scale", knob: .replicas, current: Double(current), proposed: Double(desired), reason: reason,
                             trigger: trigger?.check ?? "", evidence: [evidence(scale.replicas, replicas), evidence(scale.utilization, utilization)],
                             rules: rules, benefit: benefit(of: trigger))
    }

    /// Raising the maxReplicas of an HPA pinned at it, instead of writing replicas the HPA owns.
    func autoscalerDraft(_ hpa: AutoscalerInfo, scale: ScaleAction, desired: Int, reason: String, trigger: Bottleneck?,
                         rules scaleRules: [RuleResult], evidence: [Evidence]) -> Planner.Draft {
        let knob = Knob.autoscalerMaxReplicas(name: hpa.name)
        // The scale-out's rules, with the cooldown judged on the HPA's knob.
        var rules = scaleRules.filter { $0.rule != "cooldown" && $0.rule != "autoscaler" }
        rules += commonRules(knob: knob, inputs: []).filter { $0.rule == "cooldown" }
        if scale.autoscaler == .apply {
            rules.append(RuleResult("autoscaler", true, "HorizontalPodAutoscaler \(hpa.name) is pinned at maxReplicas \(hpa.maxReplicas); the policy (scale.autoscaler: apply) lets Trimtab raise it"))
        } else {
            rules.append(RuleResult("autoscaler", false, "HorizontalPodAutoscaler \(hpa.name) is pinned at maxReplicas \(hpa.maxReplicas): raise it to \(desired) by hand, or set scale.autoscaler: apply in the policy"))
        }
        return Planner.Draft(action: "autoscalerMax", knob: knob, current: Double(hpa.maxReplicas), proposed: Double(desired),
                             reason: reason + "; HorizontalPodAutoscaler \(hpa.name) owns the replicas, so its maxReplicas rises instead",
                             trigger: trigger?.check ?? "", evidence: evidence, rules: rules, benefit: benefit(of: trigger))
    }

    /// The database budget that a scale-out must respect: from a pool rule on this policy.
    func scaleBudget() -> (connections: Int, poolSize: Int)? {
        for rule in policy.actions {
            guard case .poolSize(let pool) = rule.action, let size = knobInput(pool.size, knob: pool.knob).value else { continue }
            if let connections = pool.databaseConnections ?? pool.databaseConnectionsIndicator.flatMap(value).map({ Int($0) }) {
                return (connections, Int(size.rounded()))
            }
        }
        return nil
    }

    func poolOutcome(_ pool: PoolSizeAction, trigger: Bottleneck) -> Outcome {
        let sizeInput = knobInput(pool.size, knob: pool.knob)
        let size = sizeInput.value, utilization = value(pool.utilization), replicas = value(pool.replicas)
        var inputs = [sizeInput, input(pool.utilization), input(pool.replicas)]
        var throughput: Double?, hold: Double?
        if let name = pool.throughput, let holdName = pool.holdTime {
            throughput = value(name)
            hold = value(holdName)
            inputs += [input(name), input(holdName)]
        }
        var connections = pool.databaseConnections
        if let name = pool.databaseConnectionsIndicator {
            let found = value(name)
            connections = found.map { Int($0) }
            inputs.append(input(name))
        }
        guard let size, let utilization, let replicas, inputs.allSatisfy({ $0.value != nil }) else {
            return .draft(Planner.Draft(action: "poolSize", knob: pool.knob, current: size ?? .nan, proposed: size ?? .nan,
                                        reason: "cannot size the pool", trigger: trigger.check, evidence: [],
                                        rules: commonRules(knob: pool.knob, inputs: inputs), benefit: benefit(of: trigger)))
        }
        let current = Int(size.rounded()), count = max(1, Int(replicas.rounded()))
        let needed: Int
        let method: String
        if let throughput, let hold {
            needed = PoolStrategy.littlesLaw(throughputPerReplica: throughput / Double(count), holdSeconds: hold, headroom: pool.headroom)
            method = "Little's law: \(Formatting.number(throughput / Double(count)))/s per replica × \(Formatting.value(hold, unit: .seconds)) held × \(Formatting.number(pool.headroom)) headroom = \(needed)"
        } else {
            needed = ScalingStrategy.recommendation(current: current, utilization: utilization, target: pool.utilizationTarget, tolerance: 0.1)
            method = "ceil(\(current) × \(Formatting.number(utilization)) / \(Formatting.number(pool.utilizationTarget))) = \(needed)"
        }
        guard needed > current else {
            return .none("the pool needs \(needed) connections per replica and has \(current) (\(method))")
        }
        let perReplica = connections.map { PoolStrategy.budgetPerReplica(connections: $0, replicas: count) }
        let (proposed, stepNote, notes) = PoolStrategy.bounded(current: current, needed: needed, action: pool, budgetPerReplica: perReplica)
        var rules = commonRules(knob: pool.knob, inputs: inputs)
        rules.append(RuleResult("max step", true, stepNote ?? "within \(Formatting.number(pool.maxStepPercent)) % of \(current)"))
        rules.append(RuleResult("bounds", true, "\(proposed) within \(pool.min)…\(pool.max)" + (notes.isEmpty ? "" : "; " + notes.joined(separator: "; "))))
        var evidence = [self.evidence(sizeInput, unit: .count), evidence(pool.utilization, utilization), evidence(pool.replicas, replicas)].compactMap { $0 }
        if let throughput, let hold, let name = pool.throughput, let holdName = pool.holdTime {
            evidence += [self.evidence(name, throughput), self.evidence(holdName, hold)]
        }
        if let connections {
            let passed = proposed > current
            rules.append(RuleResult("database budget", passed,
                                    "\(count) replicas × \(proposed) = \(count * proposed) of \(connections) connections"
                                    + (passed ? "" : "; no room to grow the pool")))
        }
        let reason = "\(trigger.check) is a \(trigger.severity.rawValue) bottleneck with the pool \(Formatting.value(utilization, unit: .ratio)) used: \(method)"
        let draft = Planner.Draft(action: "poolSize", knob: pool.knob, current: Double(current), proposed: Double(max(proposed, current)),
                                  reason: reason, trigger: trigger.check, evidence: evidence, rules: rules, benefit: benefit(of: trigger))
        if let connections, proposed <= current {
            return .blocked(Recommendation(target: id, check: trigger.check, text: "The connection pool is saturated but the database's \(connections) connections are all given out (\(count) replicas × \(current)). Raise the database's limit, use a pooler such as PgBouncer, or look for slow queries that hold connections (a missing index?)."), draft)
        }
        return .draft(draft)
    }

    func ttlOutcome(_ cache: CacheTTLAction, trigger: Bottleneck) -> Outcome {
        let ttlInput = knobInput(cache.ttl, knob: cache.knob)
        let ttl = ttlInput.value
        var inputs = [ttlInput]
        var evictions: Double?
        if let name = cache.evictions {
            evictions = value(name)
            inputs.append(input(name))
        }
        guard let ttl, inputs.allSatisfy({ $0.value != nil }) else {
            return .draft(Planner.Draft(action: "cacheTTL", knob: cache.knob, current: ttl ?? .nan, proposed: ttl ?? .nan,
                                        reason: "cannot step the TTL", trigger: trigger.check, evidence: [],
                                        rules: commonRules(knob: cache.knob, inputs: inputs), benefit: benefit(of: trigger)))
        }
        let pressure = cache.memory.map(breaching) ?? false
        let full = evictions.map { $0 > cache.evictionsAbove } ?? false
        let direction: CacheTTLStrategy.Direction = pressure || full ? .shorter : .longer
        let proposed = CacheTTLStrategy.next(current: ttl, direction: direction, action: cache)
        let why: String
        if full, let evictions {
            why = "evictions are \(Formatting.number(evictions))/s (above \(Formatting.number(cache.evictionsAbove))/s): the cache is full, so a longer TTL would only evict more"
        } else if pressure, let memory = cache.memory {
            why = "\(memory) is in breach: memory pressure, so the TTL shortens"
        } else {
            why = "few evictions\(cache.memory.map { " and \($0) has headroom" } ?? ""): entries expire before they are reused, so the TTL grows ×\(Formatting.number(cache.factor))"
        }
        guard proposed != ttl else {
            return .none(direction == .longer
                         ? "the TTL is already at its maximum of \(PolicyDuration.format(cache.maxSeconds)) (how stale the data may be)"
                         : "the TTL is already at its minimum of \(PolicyDuration.format(cache.minSeconds)); \(why)")
        }
        var rules = commonRules(knob: cache.knob, inputs: inputs)
        rules.append(RuleResult("bounds", true, "\(PolicyDuration.format(proposed)) within \(PolicyDuration.format(cache.minSeconds))…\(PolicyDuration.format(cache.maxSeconds))"))
        var evidence = [self.evidence(ttlInput, unit: .seconds)].compactMap { $0 }
        if let evictions, let name = cache.evictions { evidence.append(self.evidence(name, evictions)) }
        return .draft(Planner.Draft(action: "cacheTTL", knob: cache.knob, current: ttl, proposed: proposed,
                                    reason: "\(trigger.check) is a \(trigger.severity.rawValue) bottleneck; \(why)",
                                    trigger: trigger.check, evidence: evidence, rules: rules, benefit: benefit(of: trigger)))
    }

    /// Advice for a bottleneck no rule addressed.
    func recommendation(for bottleneck: Bottleneck) -> Recommendation {
        let name = bottleneck.check.lowercased()
        let value = Formatting.value(bottleneck.value, unit: bottleneck.unit)
        let text: String
        if name.contains("error") {
            text = "Errors at \(value) are not a capacity problem Trimtab can scale away: look at recent deploys, failing dependencies and logs. Alert on it."
        } else if name.contains("memory") {
            text = "Memory at \(value) of the limit: raise the memory limit or look for a leak. Trimtab does not change resource limits."
        } else if name.contains("latency") {
            text = "Latency at \(value) with no saturated resource that a rule addresses: look for slow queries (a missing index?), slow downstream calls, or a noisy neighbour on the node."
        } else {
            text = "\(bottleneck.check) at \(value) has no action rule whose cause matches; add one, or investigate by hand."
        }
        return Recommendation(target: id, check: bottleneck.check, text: text)
    }
}
