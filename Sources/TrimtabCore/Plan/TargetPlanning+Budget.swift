import Foundation

/// Decisions from the error budget: on a target an HPA owns, its CPU target (raised while every
/// objective has budget to spare, lowered while one burns fast) and its scale-down window (longer
/// when its own replica changes flap); on a target without one, a scale-out while an objective burns
/// fast. Nothing is decided on an objective that is unknown.
extension TargetPlanning {
    var stance: BudgetStance { ErrorBudget.stance(for: id, policy: policy, statuses: context.objectives) }

    func budgetDrafts(_ scale: ScaleAction, rule: ActionRule, stance: BudgetStance, considered: inout [String]) -> [Planner.Draft] {
        let label = "\(rule.action.name) for \(id)"
        var drafts: [Planner.Draft] = []
        var stance = stance
        if case .protect(let why) = stance, let notCapacity = notCapacityBound(scale, hpa: context.autoscalers[id]) {
            // Errors from a fault, not from load: more pods would burn the same budget at a higher cost.
            considered.append("\(label): no protection, \(why), but \(notCapacity)")
            stance = .hold(why)
        }
        if let hpa = context.autoscalers[id] {
            if let draft = flappingDraft(scale, hpa: hpa, stance: stance, considered: &considered) { drafts.append(draft) }
            switch stance {
            case .none: break
            case .unknown(let why): considered.append("\(label): no budget decision, \(why)")
            case .hold(let why): considered.append("\(label): the HPA's CPU target stays, \(why)")
            case .trim, .protect:
                let replicas = value(scale.replicas).map { Int($0.rounded()) }
                if let replicas, replicas >= hpa.maxReplicas {
                    // Pinned: the target changes nothing while the HPA stays at its bound.
                    if case .protect(let why) = stance, let draft = protectiveMaxReplicas(scale, hpa: hpa, replicas: replicas, why: why) {
                        drafts.append(draft)
                    } else if case .trim = stance {
                        considered.append("\(label): the HPA's CPU target stays, \(hpa.label) is at its \(hpa.maxField) \(hpa.maxReplicas): a higher target saves no pod there and leaves no headroom")
                    }
                } else if let draft = targetDraft(scale, hpa: hpa, stance: stance, considered: &considered) {
                    drafts.append(draft)
                }
            }
        } else if !context.autoscaledTargets.contains(id), case .protect(let why) = stance {
            if let draft = protectiveScaleOut(scale, why: why) { drafts.append(draft) }
        }
        return drafts
    }

    /// Why a fast burn is not the load's doing, or nil when it may be: the utilisation the target
    /// scales on is below the target it scales to (the HPA's, or the rule's).
    func notCapacityBound(_ scale: ScaleAction, hpa: AutoscalerInfo?) -> String? {
        guard let utilization = value(scale.utilization) else { return nil }
        let target = hpa?.targetUtilizationPercent.map { $0 / 100 } ?? scale.utilizationTarget
        guard utilization < target * (1 - scale.tolerance) else { return nil }
        return "\(scale.utilization) is \(Formatting.value(utilization, unit: .ratio)), below the \(Formatting.value(target, unit: .ratio)) it scales to: the burn is not from load, and more pods would not stop it"
    }

    /// The objectives' burns as evidence behind a budget decision.
    func budgetEvidence() -> [Evidence] {
        context.objectives.filter { $0.target == id }.flatMap { status in
            [BurnWindow.slow.longSeconds, BurnWindow.slow.shortSeconds, BurnWindow.fast.shortSeconds].map { seconds in
                Evidence(name: "\(status.objective) burn rate over \(PolicyDuration.format(seconds))", value: ErrorBudget.burn(status, seconds), unit: .none,
                         note: status.budgetLeft.map { "\(Formatting.number(($0 * 1000).rounded() / 10)) % of the \(PolicyDuration.format(status.windowSeconds)) budget left" })
            }
        }
    }

    /// The rule that says whether the policy lets Trimtab write to the HPA.
    func autoscalerRules(_ scale: ScaleAction, hpa: AutoscalerInfo, change: String) -> [RuleResult] {
        let rule = scale.autoscaler == .apply
            ? RuleResult("autoscaler", true, "the policy (scale.autoscaler: apply) lets Trimtab change \(hpa.label)'s \(change)")
            : RuleResult("autoscaler", false, "\(hpa.label)'s \(change) is for a person to change: make the change by hand, or set scale.autoscaler: apply in the policy")
        return [rule] + (hpa.ownerRule.map { [$0] } ?? [])
    }

    /// A step of the HPA's CPU target: up while the budget has room (fewer pods), down while an
    /// objective burns fast (more pods), within the policy's bounds.
    func targetDraft(_ scale: ScaleAction, hpa: AutoscalerInfo, stance: BudgetStance, considered: inout [String]) -> Planner.Draft? {
        let label = "scale for \(id)"
        guard let current = hpa.targetUtilizationPercent else {
            considered.append("\(label): \(hpa.label) does not scale on CPU utilisation, so its target is not tuned")
            return nil
        }
        let bounds = scale.autoscalerTarget
        let protect: Bool
        if case .protect = stance { protect = true } else { protect = false }
        let proposed = protect ? max(bounds.minPercent, min(current, current - bounds.stepPercent))
                               : min(bounds.maxPercent, max(current, current + bounds.stepPercent))
        guard proposed != current else {
            considered.append("\(label): the HPA's CPU target is already \(Formatting.number(current)) %, at the policy's \(protect ? "minimum" : "maximum") of \(Formatting.number(protect ? bounds.minPercent : bounds.maxPercent)) %")
            return nil
        }
        let knob = hpa.targetKnob
        var rules = commonRules(knob: knob, inputs: [])
        rules += autoscalerRules(scale, hpa: hpa, change: hpa.targetField)
        rules.append(RuleResult("error budget", true, stance.explanation))
        rules.append(RuleResult("bounds", true, "\(Formatting.number(proposed)) % within \(Formatting.number(bounds.minPercent))…\(Formatting.number(bounds.maxPercent)) %, a step of at most \(Formatting.number(bounds.stepPercent)) points"))
        if hpa.metricCount > 1 {
            rules.append(RuleResult("other metrics", true, "\(hpa.label) scales on \(hpa.metricCount) \(hpa.scaledObject == nil ? "metrics" : "triggers"); the highest of their recommendations wins, so the CPU target is one vote of several"))
        }
        let reason = protect
            ? "\(stance.explanation): the HPA's CPU target falls \(Formatting.number(current)) % → \(Formatting.number(proposed)) %, so it runs more pods"
            : "\(stance.explanation): the HPA's CPU target rises \(Formatting.number(current)) % → \(Formatting.number(proposed)) %, so it runs fewer pods for the same load; verified against the objectives and rolled back if they burn"
        var draft = Planner.Draft(action: "autoscalerTarget", knob: knob, current: current, proposed: proposed, reason: reason, trigger: "",
                                  evidence: budgetEvidence(), rules: rules, benefit: protect ? 10 : 0.5)
        draft.budget = BudgetBaseline(lever: protect ? .protect : .trim, burns: ErrorBudget.burns(for: id, statuses: context.objectives))
        return draft
    }

    /// An HPA pinned at its maxReplicas while an objective burns fast: its bound rises by the
    /// scale-up step at once (not after the checks' `for`), within the rule's maximum.
    func protectiveMaxReplicas(_ scale: ScaleAction, hpa: AutoscalerInfo, replicas: Int, why: String) -> Planner.Draft? {
        let desired = min(scale.max, hpa.maxReplicas + scale.scaleUp.maxStep(from: hpa.maxReplicas))
        guard desired > hpa.maxReplicas else { return nil }
        let knob = hpa.maxReplicasKnob
        var rules = commonRules(knob: knob, inputs: [input(scale.replicas)])
        rules += autoscalerRules(scale, hpa: hpa, change: hpa.maxField)
        rules.append(RuleResult("error budget", true, why))
        rules.append(RuleResult("bounds", true, "\(desired) within \(scale.min)…\(scale.max), at most +\(scale.scaleUp.maxStep(from: hpa.maxReplicas)) a step"))
        var draft = Planner.Draft(action: "autoscalerMax", knob: knob, current: Double(hpa.maxReplicas), proposed: Double(desired),
                                  reason: "\(why), and \(hpa.label) is pinned at its \(hpa.maxField) (\(replicas) replicas): its bound rises \(hpa.maxReplicas) → \(desired)",
                                  trigger: "", evidence: budgetEvidence(), rules: rules, benefit: 10)
        draft.budget = BudgetBaseline(lever: .protect, burns: ErrorBudget.burns(for: id, statuses: context.objectives))
        return draft
    }

    /// Direction reversals of the replica count over the rule's window: up then down, or down then up.
    func replicaReversals(_ scale: ScaleAction, seconds: Double) -> Int {
        var last: Double?, direction: Double = 0, count = 0
        for point in snapshot.window(scale.replicas, for: id, seconds: seconds) where point.value.isFinite {
            defer { last = point.value }
            guard let previous = last, point.value != previous else { continue }
            let now: Double = point.value > previous ? 1 : -1
            if direction != 0, now != direction { count += 1 }
            direction = now
        }
        return count
    }

    /// A longer scale-down stabilization window for an HPA whose replica count keeps reversing:
    /// doubled, up to the policy's maximum. Not while the objectives are unknown.
    func flappingDraft(_ scale: ScaleAction, hpa: AutoscalerInfo, stance: BudgetStance, considered: inout [String]) -> Planner.Draft? {
        if case .unknown = stance { return nil }
        let rule = scale.flapping
        let reversals = replicaReversals(scale, seconds: rule.windowSeconds)
        guard reversals >= rule.reversals else { return nil }
        let current = hpa.scaleDownWindowSeconds
        let proposed = min(rule.maxWindowSeconds, max(60, current * 2))
        guard proposed > current else {
            considered.append("scale for \(id): \(hpa.label) reversed \(reversals) times in \(PolicyDuration.format(rule.windowSeconds)), and its scale-down window is already \(PolicyDuration.format(current)), the policy's maximum")
            return nil
        }
        let knob = hpa.scaleDownKnob
        var rules = commonRules(knob: knob, inputs: [input(scale.replicas)])
        rules += autoscalerRules(scale, hpa: hpa, change: "scale-down stabilization window")
        rules.append(RuleResult("flapping", true, "\(reversals) reversals of the replica count in \(PolicyDuration.format(rule.windowSeconds)) (the policy's limit is \(rule.reversals))"))
        rules.append(RuleResult("bounds", true, "\(PolicyDuration.format(proposed)) within 0…\(PolicyDuration.format(rule.maxWindowSeconds))"))
        var draft = Planner.Draft(action: "autoscalerScaleDown", knob: knob, current: current, proposed: proposed,
                                  reason: "\(hpa.label) flaps: its replica count reversed direction \(reversals) times in the last \(PolicyDuration.format(rule.windowSeconds)); a scale-down waits for the highest recommendation of a longer window, \(PolicyDuration.format(current)) → \(PolicyDuration.format(proposed))",
                                  trigger: "", evidence: value(scale.replicas).map { [evidence(scale.replicas, $0)] } ?? [], rules: rules, benefit: 1)
        draft.budget = BudgetBaseline(lever: .flapping, burns: ErrorBudget.burns(for: id, statuses: context.objectives))
        return draft
    }

    /// Without an HPA, a fast burn scales out at once, by the scale-up step, whatever the checks' `for`:
    /// the burn windows are the evidence. Never past the rule's maximum.
    func protectiveScaleOut(_ scale: ScaleAction, why: String) -> Planner.Draft? {
        guard let replicas = value(scale.replicas) else { return nil }
        let current = Int(replicas.rounded())
        let utilization = value(scale.utilization)
        let byUtilization = utilization.map { ScalingStrategy.recommendation(current: current, utilization: $0, target: scale.autoscalerTarget.minPercent / 100, tolerance: 0) } ?? current
        let desired = min(scale.max, current + scale.scaleUp.maxStep(from: current), max(current + 1, byUtilization))
        guard desired > current else { return nil }
        var rules = commonRules(knob: .replicas, inputs: [input(scale.replicas)])
        rules.append(RuleResult("autoscaler", true, "no HorizontalPodAutoscaler on \(id)"))
        rules.append(RuleResult("error budget", true, why))
        rules.append(RuleResult("bounds", true, "\(desired) within \(scale.min)…\(scale.max), at most +\(scale.scaleUp.maxStep(from: current)) a step"))
        var draft = Planner.Draft(action: "scale", knob: .replicas, current: Double(current), proposed: Double(desired),
                                  reason: "\(why): scale out \(current) → \(desired)" + (utilization.map { " (\(scale.utilization) \(Formatting.value($0, unit: .ratio)); towards \(Formatting.number(scale.autoscalerTarget.minPercent)) %, the least a trim may leave)" } ?? ""),
                                  trigger: "", evidence: budgetEvidence(), rules: rules, benefit: 10)
        draft.budget = BudgetBaseline(lever: .protect, burns: ErrorBudget.burns(for: id, statuses: context.objectives))
        return draft
    }
}
