import Foundation

/// The sizing strategies: replicas (or an autoscaler's bound), a connection pool, a cache TTL.
extension TargetPlanning {
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
                ? "\(hpa.label) owns \(id)'s replicas and is pinned at its \(hpa.maxField) \(hpa.maxReplicas); Trimtab raises that instead"
                : "\(hpa.label) owns \(id)'s replicas (min \(hpa.minReplicas), max \(hpa.maxReplicas)) and has room to scale by itself; Trimtab never writes them"))
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
        let knob = hpa.maxReplicasKnob
        // The scale-out's rules, with the cooldown judged on the HPA's knob.
        var rules = scaleRules.filter { $0.rule != "cooldown" && $0.rule != "autoscaler" }
        rules += commonRules(knob: knob, inputs: []).filter { $0.rule == "cooldown" }
        if scale.autoscaler == .apply {
            rules.append(RuleResult("autoscaler", true, "\(hpa.label) is pinned at \(hpa.maxField) \(hpa.maxReplicas); the policy (scale.autoscaler: apply) lets Trimtab raise it"))
        } else {
            rules.append(RuleResult("autoscaler", false, "\(hpa.label) is pinned at \(hpa.maxField) \(hpa.maxReplicas): raise it to \(desired) by hand, or set scale.autoscaler: apply in the policy"))
        }
        if let owner = hpa.ownerRule { rules.append(owner) }
        return Planner.Draft(action: "autoscalerMax", knob: knob, current: Double(hpa.maxReplicas), proposed: Double(desired),
                             reason: reason + "; \(hpa.scaledObject == nil ? hpa.label : "HorizontalPodAutoscaler \(hpa.name) of \(hpa.label)") owns the replicas, so \(hpa.scaledObject == nil ? "its" : "the ScaledObject's") \(hpa.maxField) rises instead",
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

    func poolOutcome(_ declared: PoolSizeAction, trigger: Bottleneck) -> Outcome {
        let (knob, choice) = knobChoice(ActionKind.poolSize(declared).knobs)
        var pool = declared
        pool.knob = knob
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
                                        rules: commonRules(knob: pool.knob, inputs: inputs, choice: choice), benefit: benefit(of: trigger)))
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
        var rules = commonRules(knob: pool.knob, inputs: inputs, choice: choice)
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

    func ttlOutcome(_ declared: CacheTTLAction, trigger: Bottleneck) -> Outcome {
        let (knob, choice) = knobChoice(ActionKind.cacheTTL(declared).knobs)
        var cache = declared
        cache.knob = knob
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
                                        rules: commonRules(knob: cache.knob, inputs: inputs, choice: choice), benefit: benefit(of: trigger)))
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
        var rules = commonRules(knob: cache.knob, inputs: inputs, choice: choice)
        rules.append(RuleResult("bounds", true, "\(PolicyDuration.format(proposed)) within \(PolicyDuration.format(cache.minSeconds))…\(PolicyDuration.format(cache.maxSeconds))"))
        var evidence = [self.evidence(ttlInput, unit: .seconds)].compactMap { $0 }
        if let evictions, let name = cache.evictions { evidence.append(self.evidence(name, evictions)) }
        return .draft(Planner.Draft(action: "cacheTTL", knob: cache.knob, current: ttl, proposed: proposed,
                                    reason: "\(trigger.check) is a \(trigger.severity.rawValue) bottleneck; \(why)",
                                    trigger: trigger.check, evidence: evidence, rules: rules, benefit: benefit(of: trigger)))
    }
}
