import Testing
@testable import TrimtabCore

/// The planner's decisions from the error budget, and their verification.
@Suite("Error budget: trims while there is budget, protects on a fast burn, nothing on unknown")
struct ErrorBudgetTests {
    static let target = TargetID(labelNames: ["namespace", "deployment"], labelValues: ["shop", "api"])
    static let objectives = [
        Objective(name: "latency", kind: .latency, target: 0.99, good: "sum by ($by) (rate(good[$range]))", total: "sum by ($by) (rate(all[$range]))"),
        Objective(name: "availability", kind: .availability, target: 0.999, good: "sum by ($by) (rate(ok[$range]))", total: "sum by ($by) (rate(all[$range]))"),
    ]

    /// Statuses from error ratios per range (every range of the objectives read): `latency` and
    /// `availability` give each range's bad share, by range in seconds, else `base`.
    static func statuses(latency: [Double: Double] = [:], availability: [Double: Double] = [:], base: (Double, Double) = (0.001, 0.0001)) -> [ObjectiveStatus] {
        objectives.map { objective in
            let overrides = objective.kind == .latency ? latency : availability
            let fallback = objective.kind == .latency ? base.0 : base.1
            var ratios: [Double: [TargetID: Double]] = [:]
            for range in objective.ranges { ratios[range] = [target: overrides[range] ?? fallback] }
            return ObjectiveAssessor.status(of: objective, for: target, reading: ObjectiveReading(objective: objective.name, errorRatios: ratios))
        }
    }

    static let fastBurn = statuses(latency: [300: 0.3, 3600: 0.2])
    /// CPU at 80 % of requests: a burn there may be the load's.
    static var loaded: Situation {
        var situation = Situation()
        situation.values["cpu_utilization"] = { _ in 0.8 }
        return situation
    }
    static func hpa(target: Double? = 70, max: Int = 10, window: Double = 300) -> [TargetID: AutoscalerInfo] {
        [Self.target: AutoscalerInfo(name: "api-hpa", minReplicas: 2, maxReplicas: max, targetUtilizationPercent: target, scaleDownWindowSeconds: window)]
    }

    func budgetPlan(_ situation: Situation = Situation(), statuses: [ObjectiveStatus], autoscalers: [TargetID: AutoscalerInfo] = [:],
                    history: [ChangeRecord] = [], apply: Bool = true) throws -> Plan {
        var context = PlanContext(history: history, autoscalers: autoscalers)
        context.objectives = statuses
        return try plan(situation, context: context) { policy in
            policy.objectives = Self.objectives
            for index in policy.actions.indices {
                if case .scale(var scale) = policy.actions[index].action {
                    scale.autoscaler = apply ? .apply : .propose
                    policy.actions[index].action = .scale(scale)
                }
            }
        }.1
    }

    func action(_ plan: Plan, _ knob: Knob) -> PlannedAction? { plan.actions.first { $0.knob == knob } }

    @Test func theStanceReadsEveryObjective() {
        var policy = Policy(name: "p", indicators: [], checks: [])
        #expect(ErrorBudget.stance(for: Self.target, policy: policy, statuses: []) == .none)
        policy.objectives = Self.objectives
        guard case .trim(let why) = ErrorBudget.stance(for: Self.target, policy: policy, statuses: Self.statuses()) else {
            Issue.record("a budget burning at 0.1× should allow trims")
            return
        }
        #expect(why.contains("latency 0.1× over 6h and 0.1× over 30m"))
        guard case .protect(let burning) = ErrorBudget.stance(for: Self.target, policy: policy, statuses: Self.fastBurn) else {
            Issue.record("1h at 20× and 5m at 30× is a fast burn")
            return
        }
        #expect(burning.contains("latency burns fast: 20× its budget over 1h and 30× over 5m"))
        // 6h at 1.2×: budget is being spent, so nothing is trimmed; not fast, so nothing is protected.
        guard case .hold = ErrorBudget.stance(for: Self.target, policy: policy, statuses: Self.statuses(latency: [21_600: 0.012])) else {
            Issue.record("a slow window at 1.2× holds")
            return
        }
        // One objective not read for the target: unknown, whatever the other says.
        guard case .unknown(let missing) = ErrorBudget.stance(for: Self.target, policy: policy, statuses: [Self.statuses()[0]]) else {
            Issue.record("a missing objective is unknown")
            return
        }
        #expect(missing.contains("availability"))
    }

    @Test func aHealthyBudgetRaisesTheHPAsCPUTarget() throws {
        let plan = try budgetPlan(statuses: Self.statuses(), autoscalers: Self.hpa())
        let trim = try #require(action(plan, .autoscalerTargetUtilization(name: "api-hpa")))
        #expect(trim.decision == .proposed, "\(trim.failedRules)")
        #expect(trim.current == 70 && trim.proposed == 75)
        #expect(trim.budget?.lever == .trim)
        #expect(trim.reason.contains("every objective has budget to spare") && trim.reason.contains("70 % → 75 %"))
        #expect(trim.rules.contains { $0.rule == "error budget" && $0.passed })
        #expect(trim.cost?.contains("fewer pods") == true)
        #expect(trim.evidence.contains { $0.name == "latency burn rate over 6h" })
        // Never past the policy's maximum, and a step at most.
        let near = try budgetPlan(statuses: Self.statuses(), autoscalers: Self.hpa(target: 88))
        #expect(action(near, .autoscalerTargetUtilization(name: "api-hpa"))?.proposed == 90)
        let top = try budgetPlan(statuses: Self.statuses(), autoscalers: Self.hpa(target: 90))
        #expect(action(top, .autoscalerTargetUtilization(name: "api-hpa")) == nil)
        #expect(top.considered.contains { $0.contains("already 90 %, at the policy's maximum of 90 %") })
    }

    @Test func withoutApplyTheTrimIsHeldForAPerson() throws {
        let plan = try budgetPlan(statuses: Self.statuses(), autoscalers: Self.hpa(), apply: false)
        let trim = try #require(action(plan, .autoscalerTargetUtilization(name: "api-hpa")))
        #expect(trim.decision == .held)
        #expect(trim.failedRules.map(\.rule) == ["autoscaler"])
    }

    @Test func aFastBurnLowersTheTargetAndAPinnedHPAGetsMoreRoom() throws {
        let plan = try budgetPlan(Self.loaded, statuses: Self.fastBurn, autoscalers: Self.hpa())
        let protect = try #require(action(plan, .autoscalerTargetUtilization(name: "api-hpa")))
        #expect(protect.current == 70 && protect.proposed == 65 && protect.decision == .proposed)
        #expect(protect.budget?.lever == .protect)
        // Pinned at maxReplicas (4 replicas, max 4): the target changes nothing there, the bound rises.
        let pinned = try budgetPlan(Self.loaded, statuses: Self.fastBurn, autoscalers: Self.hpa(max: 4))
        #expect(action(pinned, .autoscalerTargetUtilization(name: "api-hpa")) == nil)
        let raise = try #require(action(pinned, .autoscalerMaxReplicas(name: "api-hpa")))
        #expect(raise.current == 4 && raise.proposed == 8 && raise.decision == .proposed)
        // And a pinned HPA is never trimmed: a higher target saves no pod at its bound.
        let trimPinned = try budgetPlan(statuses: Self.statuses(), autoscalers: Self.hpa(max: 4))
        #expect(action(trimPinned, .autoscalerTargetUtilization(name: "api-hpa")) == nil)
        #expect(trimPinned.considered.contains { $0.contains("at its maxReplicas 4") })
    }

    @Test func unknownOrSpentBudgetChangesNothing() throws {
        // The objectives are declared but none was read for the target.
        let unknown = try budgetPlan(statuses: [], autoscalers: Self.hpa())
        #expect(unknown.actions.isEmpty, "\(unknown.actions.map(\.knob))")
        #expect(unknown.considered.contains { $0.contains("no budget decision") })
        // The window's budget is spent: no trim even with quiet short windows.
        let spent = try budgetPlan(statuses: Self.statuses(latency: [Objective.defaultWindowSeconds: 0.02]), autoscalers: Self.hpa())
        #expect(action(spent, .autoscalerTargetUtilization(name: "api-hpa")) == nil)
        #expect(spent.considered.contains { $0.contains("budget for the window is spent") })
        // An HPA that does not scale on CPU utilisation keeps its target.
        let custom = try budgetPlan(statuses: Self.statuses(), autoscalers: Self.hpa(target: nil))
        #expect(custom.actions.isEmpty)
        #expect(custom.considered.contains { $0.contains("does not scale on CPU utilisation") })
    }

    @Test func aTrimWaitsForTheLastOneToBeJudged() throws {
        let knob = Knob.autoscalerTargetUtilization(name: "api-hpa")
        let history = [ChangeRecord(target: Self.target, knob: knob, time: SnapshotFixture.now - 700, from: 70, to: 75,
                                    verificationDue: SnapshotFixture.now + 200)]
        let plan = try budgetPlan(statuses: Self.statuses(), autoscalers: Self.hpa(target: 75), history: history)
        let trim = try #require(action(plan, knob))
        #expect(trim.decision == .held)
        #expect(trim.failedRules.first?.detail.contains("is judged in") == true)
    }

    @Test func aFlappingHPAGetsALongerScaleDownWindow() throws {
        var situation = Situation()
        // 4, 5, 4, 5… every ten minutes: five reversals in the hour.
        situation.values["replicas"] = { ago in Int(ago / 600) % 2 == 0 ? 4 : 5 }
        let plan = try budgetPlan(situation, statuses: Self.statuses(), autoscalers: Self.hpa())
        let window = try #require(action(plan, .autoscalerScaleDownWindow(name: "api-hpa")))
        #expect(window.current == 300 && window.proposed == 600)
        #expect(window.rules.contains { $0.rule == "flapping" && $0.detail.hasPrefix("5 reversals") })
        // A steady count does not flap; a window at the maximum stays.
        #expect(action(try budgetPlan(statuses: Self.statuses(), autoscalers: Self.hpa()), .autoscalerScaleDownWindow(name: "api-hpa")) == nil)
        let most = try budgetPlan(situation, statuses: Self.statuses(), autoscalers: Self.hpa(window: 900))
        #expect(action(most, .autoscalerScaleDownWindow(name: "api-hpa")) == nil)
    }

    @Test func withoutAnHPAAFastBurnScalesOutAtOnceAndNeverIn() throws {
        // The checks are healthy (their `for` has not passed), but the budget burns fast.
        let plan = try budgetPlan(Self.loaded, statuses: Self.fastBurn)
        let scale = try #require(plan.proposed.first { $0.knob == .replicas })
        // Towards 50 %: ceil(4 × 0.8 / 0.5) = 7, within the step of +4.
        #expect(scale.current == 4 && scale.proposed == 7)
        #expect(scale.budget?.lever == .protect)
        // Errors burning with CPU at half its target are a fault, not load: no pods are added for them.
        let fault = try budgetPlan(statuses: Self.statuses(availability: [300: 0.05, 3600: 0.05]), autoscalers: Self.hpa())
        #expect(fault.actions.isEmpty, "\(fault.actions.map(\.knob))")
        #expect(fault.considered.contains { $0.contains("no protection") && $0.contains("the burn is not from load") })
        // An idle service is not scaled in while its budget burns.
        var idle = Situation()
        idle.values["cpu_utilization"] = { _ in 0.1 }
        let quiet = try budgetPlan(idle, statuses: Self.statuses())
        #expect(quiet.proposed.contains { $0.knob == .replicas && $0.proposed < $0.current })
        let burning = try budgetPlan(idle, statuses: Self.statuses(latency: [21_600: 0.012]))
        #expect(!burning.proposed.contains { $0.knob == .replicas && $0.proposed < $0.current })
        #expect(burning.considered.contains { $0.contains("no scale-in") })
    }
}

@Suite("Error budget: a trim is judged against the objectives")
struct BudgetVerificationTests {
    static func entry(_ lever: BudgetBaseline.Lever) -> JournalEntry {
        var baseline = VerificationBaseline(score: 90, trigger: nil, triggerIndicator: nil, triggerValue: nil, breaching: [])
        baseline.budget = BudgetBaseline(lever: lever, burns: ["latency": 0.1, "availability": 0.1])
        var entry = JournalEntry(id: "c1", actionID: "a", target: ErrorBudgetTests.target, workload: WorkloadRef(kind: "Deployment", namespace: "shop", name: "api"),
                                 action: "autoscalerTarget", knob: .autoscalerTargetUtilization(name: "api-hpa"), before: "70", after: "75",
                                 reason: "r", evidence: [], baseline: baseline, state: .applied, createdAt: 1000, verifyAfterSeconds: 900,
                                 rollbackIfScoreDropsBy: 10)
        entry.appliedAt = 1000
        return entry
    }

    static let healthy = TargetAssessment(target: ErrorBudgetTests.target, score: 90, status: .healthy, coverage: 1, checks: [])

    @Test func aTrimThatBurnsIsRolledBackOneThatDoesNotIsKept() {
        let burning = ErrorBudgetTests.statuses(latency: [300: 0.05, 1800: 0.02])
        guard case .rollBack(let why) = Verification.judge(Self.entry(.trim), now: Self.healthy, time: 2000, cycleUnknown: false, objectives: burning) else {
            Issue.record("a trim after which latency burns 5× over 5m and 2× over 30m is rolled back")
            return
        }
        #expect(why.contains("latency burns 5× its budget over 5m and 2× over 30m"))
        // 5m alone above budget is noise: both windows must burn.
        let blip = ErrorBudgetTests.statuses(latency: [300: 0.05])
        guard case .keep = Verification.judge(Self.entry(.trim), now: Self.healthy, time: 2000, cycleUnknown: false, objectives: blip) else {
            Issue.record("a 5-minute blip keeps the trim")
            return
        }
        // Protection is kept when the burn eased (5× over 5m, from 10×)…
        var protect = Self.entry(.protect)
        protect.baseline.budget?.burns = ["latency": 10, "availability": 0.1]
        guard case .keep = Verification.judge(protect, now: Self.healthy, time: 2000, cycleUnknown: false, objectives: burning) else {
            Issue.record("protection that eased the burn is kept")
            return
        }
        // …and rolled back when it did not ease it at all: capacity was not what was missing.
        protect.baseline.budget?.burns = ["latency": 5, "availability": 0.1]
        guard case .rollBack(let unrelieved) = Verification.judge(protect, now: Self.healthy, time: 2000, cycleUnknown: false, objectives: burning) else {
            Issue.record("protection that did not ease the burn is rolled back")
            return
        }
        #expect(unrelieved.contains("the protection did not ease the burn"))
        // Not read this cycle: judged later, never rolled back on missing data.
        guard case .undetermined = Verification.judge(Self.entry(.trim), now: Self.healthy, time: 2000, cycleUnknown: false, objectives: []) else {
            Issue.record("a trim with no objective read is undetermined")
            return
        }
        guard case .wait = Verification.judge(Self.entry(.trim), now: Self.healthy, time: 1500, cycleUnknown: false, objectives: burning) else {
            Issue.record("judged only after verifyAfter")
            return
        }
    }

    @Test func theUtilisationAnHPAScalesOnIsNotHeldAgainstAnotherChange() {
        var entry = Self.entry(.trim)
        entry.baseline.budget = nil
        entry.knob = .env(name: "CACHE_TTL_SECONDS", container: nil)
        let cpu = CheckResult(check: "cpu_utilization", indicator: "cpu_utilization", unit: .ratio, worse: .higher, warning: 0.7, critical: 0.9,
                              forSeconds: 600, weight: 2, key: false, status: .warning, value: 0.85, score: 60, unknownReason: nil,
                              bottleneck: nil, query: "q")
        let now = TargetAssessment(target: ErrorBudgetTests.target, score: 90, status: .degraded, coverage: 1, checks: [cpu])
        guard case .rollBack = Verification.judge(entry, now: now, time: 2000, cycleUnknown: false) else {
            Issue.record("without an HPA, a new CPU breach is the change's")
            return
        }
        guard case .keep = Verification.judge(entry, now: now, time: 2000, cycleUnknown: false, hpaChecks: ["cpu_utilization"]) else {
            Issue.record("under an HPA, CPU runs as high as its target lets it")
            return
        }
    }
}

/// `report --fail-on-slo` and the budget alert, on the same statuses the planner reads.
@Suite("Error budget: the report's gate and the alert")
struct ErrorBudgetSurfaceTests {
    static let assessment = Assessment(policy: "shop", time: 2_000, score: 100, status: .healthy, targets: [], bottlenecks: [])
    static let settings = NotifySettings(alertmanagers: [AlertmanagerEndpoint(url: "http://am:9093")], resendSeconds: 60, unreachableAfterCycles: 3)

    @Test func theGateFailsAtItsLevelOrWorseAndOnUnknown() throws {
        let healthy = ErrorBudgetTests.statuses()
        let fast = ErrorBudgetTests.fastBurn
        #expect(fast.map(\.state) == [.fastBurn, .ok])
        let spent = ErrorBudgetTests.statuses(availability: Dictionary(uniqueKeysWithValues: ErrorBudgetTests.objectives[1].ranges.map { ($0, 0.002) }))
        #expect(spent.map(\.state) == [.ok, .exhausted])
        func gate(_ statuses: [ObjectiveStatus], _ level: ObjectiveGateLevel?) -> GateResult {
            GateResult.judge(Self.assessment, failUnder: nil, failOn: nil, objectives: statuses, failOnSLO: level)
        }
        #expect(gate(healthy, .slowBurn).passed)
        #expect(gate(fast, .exhausted).passed)
        #expect(!gate(fast, .fastBurn).passed && !gate(fast, .slowBurn).passed)
        #expect(gate(fast, .fastBurn).reasons == ["1 objective at fast-burn or worse: shop/api latency (fast-burn, \(Formatting.number(fast[0].budgetLeft! * 100)) % of budget left)"])
        #expect(!gate(spent, .exhausted).passed)
        #expect(gate(spent, .exhausted).reasons.first?.hasPrefix("1 objective at exhausted or worse: shop/api availability (exhausted, 200 % of budget used)") == true)
        // Unknown is not within budget; a policy without objectives has no SLO to show met.
        var unknown = healthy
        unknown[1].state = .unknown
        unknown[1].reason = "no requests"
        #expect(gate(unknown, .exhausted).reasons == ["1 objective is unknown, so not shown within budget: shop/api availability (no requests)"])
        #expect(gate([], .exhausted).reasons == ["the policy declares no objectives (spec.objectives), so no SLO can be shown met"])
        // Without the flag the objectives do not gate.
        #expect(gate(spent, nil).passed)
    }

    @Test func aBurningObjectiveAlertsWhileItBurnsKeepsItsAlertWhileUnknownAndResolvesWhenItEases() throws {
        var book = AlertBook(settings: Self.settings)
        let healthy = ErrorBudgetTests.statuses()
        let first = book.observe(CycleFacts(assessment: Self.assessment, objectives: ErrorBudgetTests.fastBurn), now: 2_000, holdSeconds: 240)
        #expect(first.news.map(\.status) == [.firing])
        let alert = try #require(first.alerts.first)
        #expect(alert.name == AlertName.budgetBurn)
        #expect(alert.labels == ["alertname": "TrimtabErrorBudgetBurn", "policy": "shop", "namespace": "shop", "deployment": "api",
                                 "objective": "latency", "severity": "critical"])
        #expect(alert.annotations["summary"] == "latency on shop/api is burning its error budget fast (14.4× or more over 1h and 5m)")
        #expect(alert.annotations["burn_rates"]?.hasPrefix("5m 30×, 30m 0.1×, 1h 20×") == true, "\(alert.annotations)")
        // Unknown this cycle: neither resolved nor re-fired.
        var unknown = ErrorBudgetTests.fastBurn
        unknown[0].state = .unknown
        let blind = book.observe(CycleFacts(assessment: Self.assessment, objectives: unknown), now: 2_030, holdSeconds: 240)
        #expect(blind.news.isEmpty && blind.alerts.isEmpty)
        #expect(book.active.count == 1)
        // Eased: resolved, once.
        let eased = book.observe(CycleFacts(assessment: Self.assessment, objectives: healthy), now: 2_060, holdSeconds: 240)
        #expect(eased.news.map(\.status) == [.resolved] && eased.alerts.first?.endsAt == 2_060)
        #expect(book.active.isEmpty)
        #expect(book.observe(CycleFacts(assessment: Self.assessment, objectives: healthy), now: 2_090, holdSeconds: 240).isEmpty)
    }
}
