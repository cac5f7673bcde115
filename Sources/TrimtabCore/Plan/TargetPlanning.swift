import Foundation

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
        var forecasts: [LoadForecast] = []
    }

    func run() -> Result {
        var result = Result()
        let stance = self.stance
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
                if case .protect(let why) = stance {
                    result.considered.append("\(label): no scale-in, \(why)")
                } else if case .hold(let why) = stance {
                    result.considered.append("\(label): no scale-in, \(why)")
                } else if let breach = recentBreach(within: scale.scaleDown.stabilizationSeconds) {
                    result.considered.append("\(label): no scale-in, \(breach)")
                } else if let draft = scaleDraft(scale, trigger: nil, rule: rule) {
                    result.drafts.append(draft)
                }
            }
        }
        for rule in policy.actions {
            guard case .scale(let scale) = rule.action else { continue }
            result.drafts += budgetDrafts(scale, rule: rule, stance: stance, considered: &result.considered)
        }
        applyForecasts(&result)
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
    /// Of a rule's knobs, preferred first, the one this target uses: the first whose value was read
    /// (from the cluster, or from the indicator) and, for a ConfigMap key without a restart, whose
    /// ConfigMap is mounted whole. With one knob, or none usable, the first (the plan then shows why
    /// it cannot be used). The rule says which was chosen and why the others were passed over.
    func knobChoice(_ knobs: [Knob]) -> (Knob, RuleResult?) {
        guard knobs.count > 1 else { return (knobs[0], nil) }
        var passed: [String] = []
        for knob in knobs {
            switch context.knobValues[id]?[knob] {
            case .value?: break
            case .unknown(let why)?:
                passed.append("\(knob): \(why)")
                continue
            case nil:
                passed.append("\(knob): not read from the cluster")
                continue
            }
            if case .configMap(_, _, false) = knob {
                switch context.configMapReach[id]?[knob] {
                case .live?: break
                case .frozen(let why)?, .absent(let why)?:
                    passed.append("\(knob): \(why)")
                    continue
                case nil:
                    passed.append("\(knob): its mount was not read")
                    continue
                }
            }
            let order = knob == knobs[0] ? "the policy's first choice" : "passed over: " + passed.joined(separator: "; ")
            return (knob, RuleResult("knob", true, "\(knob) (\(order))"))
        }
        return (knobs[0], nil)
    }

    func commonRules(knob: Knob, inputs: [Input], choice: RuleResult? = nil) -> [RuleResult] {
        var rules: [RuleResult] = choice.map { [$0] } ?? []
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
        } else if let reason = context.heldBy[id] {
            rules.append(RuleResult("freeze", false, reason))
        } else if context.frozenTargets.contains(id) {
            rules.append(RuleResult("freeze", false, "\(id) is frozen by its annotation"))
        } else {
            rules.append(RuleResult("freeze", true, "not frozen"))
        }
        if case .configMap(_, _, false) = knob, let reach = context.configMapReach[id]?[knob] {
            rules.append(reach.rule)
        }
        if let windows = policy.safety.changeWindows {
            let (open, detail) = windows.judge(snapshot.time)
            rules.append(RuleResult("change window", open, detail))
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
        case .podHTTP:
            parts.append("no restart: each pod's process takes the value at its admin endpoint (pods that start later are set when seen)")
        case .jolokia:
            parts.append("no restart: each pod's JVM takes the value through Jolokia (pods that start later are set when seen)")
        case .pgbouncer:
            parts.append("no restart: each pgbouncer pod takes the value on its admin console (pods that start later are set when seen)")
        case .autoscalerMaxReplicas:
            let delta = Int(draft.proposed) - Int(draft.current)
            parts.append("lets the HorizontalPodAutoscaler run up to \(delta) more pod\(delta == 1 ? "" : "s")")
        case .autoscalerTargetUtilization:
            let ratio = draft.current / max(draft.proposed, 1e-9)
            parts.append(ratio < 1 ? "the HorizontalPodAutoscaler runs about \(Formatting.number(((1 - ratio) * 1000).rounded() / 10)) % fewer pods for the same load"
                                   : "the HorizontalPodAutoscaler runs about \(Formatting.number(((ratio - 1) * 1000).rounded() / 10)) % more pods for the same load")
        case .autoscalerScaleDownWindow:
            parts.append("the HorizontalPodAutoscaler keeps pods up to \(PolicyDuration.format(draft.proposed)) after the load falls")
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
}
