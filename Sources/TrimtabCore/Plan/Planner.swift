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
        var budget: BudgetBaseline? = nil
        /// For a scale-out ahead of a forecast peak: the forecast, in words.
        var forecast: String? = nil
    }

    public static func plan(_ assessment: Assessment, snapshot: Snapshot, policy: Policy, context: PlanContext = PlanContext()) -> Plan {
        var drafts: [(TargetID, Draft)] = []
        var considered: [String] = []
        var recommendations: [Recommendation] = []
        var forecasts: [LoadForecast] = []
        var databaseUsers: [TargetID: [String: (user: DatabaseUse.User, limit: Double?, unknown: String?)]] = [:]
        for target in assessment.targets {
            let planning = TargetPlanning(target: target, snapshot: snapshot, policy: policy, context: context,
                                          cycleUnknown: !assessment.isComplete)
            if let workload = WorkloadRef.resolve(target.target, selector: policy.targets) {
                for database in policy.databases where database.isUsed(by: workload) {
                    databaseUsers[target.target, default: [:]][database.name] = planning.databaseUser(limitIndicator: database.limitIndicator)
                }
            }
            let result = planning.run()
            drafts += result.drafts.map { draft in
                var draft = draft
                draft.cost = planning.cost(of: draft)
                return (target.target, draft)
            }
            considered += result.considered
            recommendations += result.recommendations
            forecasts += result.forecasts
        }
        let databases = databaseUses(policy, users: databaseUsers, targets: assessment.targets.map(\.target))
        var plan = resolve(drafts, time: snapshot.time, policy: policy, context: context, considered: considered,
                           recommendations: recommendations, databases: databases)
        plan.forecasts = forecasts.isEmpty ? nil : forecasts
        // A change a shared database cut to what fits costs what it now is, not what was drafted.
        for index in plan.actions.indices {
            let action = plan.actions[index]
            guard let (_, draft) = drafts.first(where: { $0.0 == action.target && $0.1.knob == action.knob && $0.1.action == action.action }),
                  draft.proposed != action.proposed, let target = assessment.targets.first(where: { $0.target == action.target }) else { continue }
            var reduced = draft
            reduced.proposed = action.proposed
            plan.actions[index].cost = TargetPlanning(target: target, snapshot: snapshot, policy: policy, context: context,
                                                      cycleUnknown: !assessment.isComplete).cost(of: reduced)
        }
        return plan
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

    /// A failed rule when the same change already waits in Git as a patch, within the GitOps cooldown.
    static func pendingPatchHold(target: TargetID, knob: Knob, time: Double, policy: Policy, context: PlanContext) -> RuleResult? {
        let cooldown = policy.safety.gitOps.cooldownSeconds
        guard let pending = context.pendingPatches.filter({ $0.target == target && $0.knob == knob && $0.time <= time && time - $0.time < cooldown })
            .max(by: { $0.time < $1.time }) else { return nil }
        return RuleResult("waiting in Git", false,
                          "a patch setting \(knob) from \(pending.from ?? "nothing") to \(pending.to) was written \(PolicyDuration.format(time - pending.time)) ago (journal \(pending.journalID)) and waits for Git; not proposed again until the object shows it or \(PolicyDuration.format(cooldown)) pass")
    }

    /// Whether the object a change writes is kept by Argo CD or Flux: a failed rule and the patch
    /// for Git, a passed rule when the policy lists the knob as one the tool ignores, nil when unmanaged.
    static func gitOpsRule(_ action: PlannedAction, policy: Policy, context: PlanContext) -> (RuleResult, GitPatch?)? {
        guard let workload = WorkloadRef.resolve(action.target, selector: policy.targets),
              let object = action.knob.object(of: workload),
              let managed = context.managed[action.target]?.first(where: { $0.object == object }) else { return nil }
        let kind = action.knob.kind
        if policy.safety.gitOps.writable.contains(kind) {
            return (RuleResult("gitops", true, "\(object) is managed by \(managed.management), and the policy lists \(kind.rawValue) in safety.gitOps.writable (the tool ignores it)"), nil)
        }
        let patch = GitPatch.make(knob: action.knob, value: action.proposed, managed: managed,
                                  cpuMetricIndex: context.autoscalers[action.target]?.cpuMetricIndex, reason: action.reason)
        let detail = "\(object) is managed by \(managed.management), which would revert a write; "
            + (patch.map { "the change is written as a patch for Git (\($0.file))" } ?? "and the change cannot be written as a patch file (its field sits in a list a patch file cannot name by key)")
            + "; list \(kind.rawValue) in safety.gitOps.writable if the tool ignores the field"
        return (RuleResult("gitops", false, detail), patch)
    }

    /// At most one change per target (the most beneficial), then the connections of shared databases
    /// and the global rate limit, in benefit order.
    static func resolve(_ drafts: [(TargetID, Draft)], time: Double, policy: Policy, context: PlanContext,
                        considered: [String], recommendations: [Recommendation], databases: [DatabaseUse] = []) -> Plan {
        var databases = databases
        var actions: [PlannedAction] = drafts.map { target, draft in
            var draft = draft
            if let held = retryHold(target: target, draft: draft, time: time, policy: policy, history: context.history) {
                draft.rules.append(held)
            }
            if let waiting = pendingPatchHold(target: target, knob: draft.knob, time: time, policy: policy, context: context) {
                draft.rules.append(waiting)
            }
            var action = PlannedAction(id: "\(target)/\(draft.knob)@\(Int(time))", target: target, action: draft.action, knob: draft.knob,
                                       current: draft.current, proposed: draft.proposed, reason: draft.reason, trigger: draft.trigger,
                                       evidence: draft.evidence, rules: draft.rules,
                                       decision: draft.rules.allSatisfy(\.passed) ? .proposed : .held, benefit: draft.benefit,
                                       cost: draft.cost)
            action.budget = draft.budget
            action.forecast = draft.forecast
            return action
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
            var take: [(database: Int, connections: Int)] = []
            if let (rule, taken) = databaseRule(&actions[index], uses: databases, policy: policy) {
                actions[index].rules.append(rule)
                if !rule.passed {
                    actions[index].decision = .held
                    continue
                }
                take = taken
            }
            if let (rule, patch) = gitOpsRule(actions[index], policy: policy, context: context) {
                actions[index].rules.append(rule)
                if !rule.passed {
                    // Not Trimtab's write: held, with the change as a patch for Git; it uses none of the rate limit
                    // (but the connections it will take once Git carries it).
                    actions[index].decision = .held
                    actions[index].gitPatch = patch
                    changedTargets.insert(target)
                    commit(take, target: target, to: &databases)
                    continue
                }
            }
            if budget == 0 {
                actions[index].rules.append(RuleResult("rate limit", false,
                                                       "\(policy.safety.maxChangesPerHour) changes per hour reached (\(recent) in the last hour, \(changedTargets.count) earlier in this plan)"))
                actions[index].decision = .held
                continue
            }
            actions[index].rules.append(RuleResult("rate limit", true, "\(recent + changedTargets.count + 1) of \(policy.safety.maxChangesPerHour) changes this hour"))
            budget -= 1
            changedTargets.insert(target)
            commit(take, target: target, to: &databases)
        }
        actions.sort { a, b in
            if a.decision != b.decision { return a.decision == .proposed }
            if a.benefit != b.benefit { return a.benefit > b.benefit }
            return a.target < b.target
        }
        var plan = Plan(time: time, mode: policy.mode, actions: actions, considered: considered, recommendations: recommendations)
        plan.databases = databases
        return plan
    }
}
