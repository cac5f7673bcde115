import Testing
@testable import TrimtabCore

@Suite("Execution in the core: journal ids, workloads, verification, recovery, autoscalers")
struct ExecutionCoreTests {
    static let target = TargetID(labelNames: ["namespace", "deployment"], labelValues: ["shop", "api"])

    static func entry(state: JournalState = .applied, before: String? = "4", after: String = "7", appliedAt: Double? = 1000,
                      baseline: VerificationBaseline = VerificationBaseline(score: 40, trigger: "latency_p95", triggerIndicator: "latency_p95",
                                                                            triggerValue: 2.4, breaching: ["latency_p95", "cpu_utilization"])) -> JournalEntry {
        var entry = JournalEntry(id: "c00000001", actionID: "shop/api/replicas@1000", target: target,
                                 workload: WorkloadRef(kind: "Deployment", namespace: "shop", name: "api"), action: "scale",
                                 knob: .replicas, before: before, after: after, reason: "test", evidence: [], baseline: baseline,
                                 state: state, createdAt: 1000, verifyAfterSeconds: 300, rollbackIfScoreDropsBy: 10)
        entry.appliedAt = appliedAt
        return entry
    }

    static func targetAssessment(score: Double?, latency: Double?, breaching: [String] = []) -> TargetAssessment {
        func check(_ name: String, _ value: Double?, _ status: CheckStatus) -> CheckResult {
            CheckResult(check: name, indicator: name, unit: .seconds, worse: .higher, warning: 1, critical: 2, forSeconds: 300, weight: 1,
                        key: false, status: status, value: value, score: nil, unknownReason: nil, bottleneck: nil, query: "q")
        }
        var checks = [check("latency_p95", latency, breaching.contains("latency_p95") ? .critical : .ok)]
        for name in breaching where name != "latency_p95" { checks.append(check(name, 1, .warning)) }
        return TargetAssessment(target: target, score: score, status: .healthy, coverage: 1, checks: checks)
    }

    @Test func journalIDsAreStableShortAndDistinct() {
        let a = JournalEntry.id(for: "shop/api/replicas@1000")
        #expect(a == JournalEntry.id(for: "shop/api/replicas@1000"))
        #expect(a != JournalEntry.id(for: "shop/api/replicas@1030"))
        #expect(a.count == 9 && a.hasPrefix("c"))
    }

    @Test(arguments: [
        (["namespace", "deployment"], ["shop", "api"], "Deployment", "shop", "api"),
        (["deployment", "namespace"], ["api", "shop"], "Deployment", "shop", "api"),
        (["namespace", "statefulset"], ["db", "pg"], "StatefulSet", "db", "pg"),
        (["namespace", "app"], ["shop", "web"], "Deployment", "shop", "web"),
    ])
    func workloadFromLabels(names: [String], values: [String], kind: String, namespace: String, name: String) throws {
        let ref = try #require(WorkloadRef.resolve(TargetID(labelNames: names, labelValues: values), selector: TargetSelector(kind: kind)))
        #expect(ref == WorkloadRef(kind: kind, namespace: namespace, name: name))
    }

    @Test func workloadNeedsANamespace() {
        #expect(WorkloadRef.resolve(TargetID(labelNames: ["deployment"], labelValues: ["api"]), selector: TargetSelector()) == nil)
        #expect(WorkloadRef.resolve(TargetID(labelNames: ["deployment"], labelValues: ["api"]), selector: TargetSelector(namespace: "shop"))?.namespace == "shop")
    }

    @Test(arguments: [(6.0, "6"), (0.5, "0.5"), (120.0, "120"), (0.0, "0")])
    func knobValuesAreWrittenPlainly(value: Double, text: String) {
        #expect(KnobValue.text(value) == text)
        #expect(KnobValue.matches(text, value))
    }

    @Test func knobValueMatching() {
        #expect(KnobValue.matches("6.0", 6))
        #expect(!KnobValue.matches("7", 6))
        #expect(!KnobValue.matches(nil, 6))
        #expect(!KnobValue.matches("six", 6))
    }

    @Test func verificationWaitsForItsWindow() {
        #expect(Verification.judge(Self.entry(), now: Self.targetAssessment(score: 90, latency: 0.5), time: 1299, cycleUnknown: false) == .wait(until: 1300))
    }

    @Test func verificationKeepsAnImprovement() {
        guard case .keep(let why) = Verification.judge(Self.entry(), now: Self.targetAssessment(score: 90, latency: 0.5), time: 1300, cycleUnknown: false) else {
            Issue.record("expected keep")
            return
        }
        #expect(why.contains("latency_p95 improved"))
    }

    @Test func verificationRollsBackWhatDidNotHelp() {
        let verdict = Verification.judge(Self.entry(), now: Self.targetAssessment(score: 40, latency: 2.5, breaching: ["latency_p95", "cpu_utilization"]),
                                         time: 1400, cycleUnknown: false)
        guard case .rollBack(let why) = verdict else { Issue.record("expected a rollback, got \(verdict)"); return }
        #expect(why.contains("did not improve"))
    }

    /// Before the change the trigger was 2.4 s; the policy asks for 5 % better unless it left breach.
    @Test(arguments: [
        (2.3, true, false),   // 4.2 % better, still in breach: noise, not help
        (2.28, true, true),   // 5 % better
        (2.2, true, true),    // 8.3 % better
        (2.39, false, true),  // barely moved, but out of breach
    ])
    func verificationAsksForAnImprovementBeyondNoise(after: Double, stillInBreach: Bool, kept: Bool) {
        let now = Self.targetAssessment(score: 40, latency: after, breaching: stillInBreach ? ["latency_p95", "cpu_utilization"] : ["cpu_utilization"])
        let verdict = Verification.judge(Self.entry(), now: now, time: 1400, cycleUnknown: false)
        if case .keep = verdict { #expect(kept, "\(verdict)") } else { #expect(!kept, "\(verdict)") }
    }

    @Test func theLeastImprovementIsAPolicySetting() throws {
        let text = plannerPolicy.replacingOccurrences(of: "safety: {cooldown: 10m, maxChangesPerHour: 6}",
                                                      with: "safety: {cooldown: 10m, maxChangesPerHour: 6, minImprovement: 20%}")
        #expect(try PolicyLoader.load(text: text, file: "p.yaml").safety.minImprovement == 0.2)
        #expect(try PolicyLoader.load(text: plannerPolicy, file: "p.yaml").safety.minImprovement == 0.05)
        let bad = plannerPolicy.replacingOccurrences(of: "safety: {cooldown: 10m, maxChangesPerHour: 6}",
                                                     with: "safety: {cooldown: 10m, maxChangesPerHour: 6, minImprovement: 150%}")
        #expect(throws: PolicyError.self) { try PolicyLoader.load(text: bad, file: "p.yaml") }
    }

    @Test func verificationRollsBackAScoreDrop() {
        let verdict = Verification.judge(Self.entry(), now: Self.targetAssessment(score: 29, latency: 1.0, breaching: ["latency_p95", "cpu_utilization"]),
                                         time: 1400, cycleUnknown: false)
        guard case .rollBack(let why) = verdict else { Issue.record("expected a rollback, got \(verdict)"); return }
        #expect(why.contains("fell from 40.0 to 29.0"))
    }

    @Test func verificationRollsBackANewBreach() {
        let verdict = Verification.judge(Self.entry(), now: Self.targetAssessment(score: 45, latency: 0.5, breaching: ["cpu_utilization", "error_ratio"]),
                                         time: 1400, cycleUnknown: false)
        guard case .rollBack(let why) = verdict else { Issue.record("expected a rollback, got \(verdict)"); return }
        #expect(why.contains("error_ratio was healthy before"))
    }

    @Test func verificationNeverRollsBackOnMissingData() {
        #expect(Verification.judge(Self.entry(), now: nil, time: 1400, cycleUnknown: false) == .undetermined("shop/api has no data this cycle"))
        if case .undetermined = Verification.judge(Self.entry(), now: Self.targetAssessment(score: 90, latency: nil), time: 1400, cycleUnknown: false) {} else {
            Issue.record("a missing trigger value must not decide")
        }
        if case .undetermined = Verification.judge(Self.entry(), now: Self.targetAssessment(score: 0, latency: 9), time: 1400, cycleUnknown: true) {} else {
            Issue.record("a failed query must not decide")
        }
    }

    @Test(arguments: [
        (JournalState.begun, "7", RecoveryDecision.markApplied),
        (.begun, "4", .markNotApplied),
        (.begun, "9", .markSuperseded(observed: "9")),
        (.rollingBack, "4", .markRolledBack),
        (.rollingBack, "7", .redoRollback),
        (.rollingBack, "5", .markSuperseded(observed: "5")),
        (.applied, "7", RecoveryDecision.none),
    ])
    func recoveryDecides(state: JournalState, observed: String, decision: RecoveryDecision) {
        #expect(Recovery.decide(Self.entry(state: state), observed: observed) == decision)
    }

    @Test func recoveryOfAnAbsentValue() {
        let entry = Self.entry(state: .begun, before: nil, after: "60")
        #expect(Recovery.decide(entry, observed: nil) == .markNotApplied)
        #expect(Recovery.decide(entry, observed: "60") == .markApplied)
    }

    /// A scale-in whose target went stale at verification had been kept: "the score held (100.0 → unknown)".
    /// Missing data never decides, whichever way.
    @Test func missingDataNeverDecidesAVerification() {
        var stale = Self.targetAssessment(score: nil, latency: nil)
        stale.status = .unknown
        stale.checks[0].unknownReason = "stale: the last value is from 20m before the evaluation time"
        let idle = VerificationBaseline(score: 100, trigger: nil, triggerIndicator: nil, triggerValue: nil, breaching: [])
        for baseline in [idle, Self.entry().baseline] {
            let verdict = Verification.judge(Self.entry(baseline: baseline), now: stale, time: 1300, cycleUnknown: false)
            guard case .undetermined(let why) = verdict else { Issue.record("\(verdict)"); continue }
            #expect(why.contains("health is unknown this cycle (stale"), "\(why)")
        }
    }

    /// Entries remember whether their annotation and Event were written, so recovery finishes a crash's
    /// bookkeeping; older entries without the field count as written.
    @Test func applyingOrRollingBackOwesTheClusterItsRecord() {
        var entry = Self.entry(state: .begun, appliedAt: nil)
        #expect(!entry.needsRecording)
        entry.move(to: .applied, at: 1000, note: "applied")
        #expect(entry.needsRecording)
        entry.recorded = true
        entry.move(to: .verified, at: 1400, note: "kept")
        #expect(!entry.needsRecording)
        entry.move(to: .rolledBack, at: 1500, note: "by hand")
        #expect(entry.needsRecording)
        #expect(!Self.entry().needsRecording)
    }

    @Test func appliedAndRolledBackChangesCountInHistory() {
        var entry = Self.entry()
        #expect(entry.changeRecords.count == 1)
        entry.move(to: .rolledBack, at: 2000, note: "test")
        #expect(entry.changeRecords.map(\.time) == [1000, 2000])
        #expect(Self.entry(state: .notApplied).changeRecords.isEmpty)
    }
}

@Suite("Planner and HorizontalPodAutoscalers: never write replicas an HPA owns")
struct AutoscalerPlanTests {
    static let target = TargetID(labelNames: ["namespace", "deployment"], labelValues: ["shop", "api"])

    static var cpuBound: Situation {
        var situation = Situation()
        situation.values["latency_p95"] = { ago in ago <= 900 ? 2.4 : 0.3 }
        situation.values["cpu_utilization"] = { ago in ago <= 900 ? 0.93 : 0.5 }
        return situation
    }

    @Test func anHPAWithRoomIsLeftToScale() throws {
        let context = PlanContext(autoscalers: [Self.target: AutoscalerInfo(name: "api", minReplicas: 2, maxReplicas: 10)])
        let (_, plan) = try plan(Self.cpuBound, context: context)
        #expect(plan.proposed.isEmpty)
        let held = try #require(plan.held.first)
        #expect(held.knob == .replicas)
        #expect(held.failedRules.map(\.rule) == ["autoscaler"])
        #expect(held.failedRules[0].detail.contains("has room to scale by itself"))
    }

    @Test func anHPAPinnedAtItsMaximumIsProposedARaise() throws {
        let context = PlanContext(autoscalers: [Self.target: AutoscalerInfo(name: "api-hpa", minReplicas: 2, maxReplicas: 4)])
        let (_, plan) = try plan(Self.cpuBound, context: context)
        #expect(plan.actions.allSatisfy { $0.knob != .replicas })
        let action = try #require(plan.actions.first { $0.knob == .autoscalerMaxReplicas(name: "api-hpa") })
        #expect(action.current == 4 && action.proposed == 7)
        #expect(action.decision == .held)
        #expect(action.failedRules.map(\.rule) == ["autoscaler"])
        #expect(action.failedRules[0].detail.contains("raise it to 7 by hand"))
    }

    @Test func aPolicyMayLetTrimtabRaiseIt() throws {
        let context = PlanContext(autoscalers: [Self.target: AutoscalerInfo(name: "api-hpa", minReplicas: 2, maxReplicas: 4)])
        let (_, plan) = try plan(Self.cpuBound, context: context) { policy in
            guard case .scale(var scale) = policy.actions[0].action else { return }
            scale.autoscaler = .apply
            policy.actions[0].action = .scale(scale)
        }
        let action = try #require(plan.proposed.first)
        #expect(action.knob == .autoscalerMaxReplicas(name: "api-hpa"))
        #expect(action.proposed == 7)
        #expect(action.rules.allSatisfy { $0.passed })
    }

    @Test func theAutoscalerModeIsParsedAndLinted() throws {
        let good = plannerPolicy.replacingOccurrences(of: "scale: {min: 2, max: 20, utilizationTarget: 0.6}",
                                                      with: "scale: {min: 2, max: 20, utilizationTarget: 0.6, autoscaler: apply}")
        let policy = try PolicyLoader.load(text: good, file: "p.yaml")
        guard case .scale(let scale) = policy.actions[0].action else { Issue.record("not a scale rule"); return }
        #expect(scale.autoscaler == .apply)
        let bad = good.replacingOccurrences(of: "autoscaler: apply", with: "autoscaler: fight")
        #expect(throws: PolicyError.self) { try PolicyLoader.load(text: bad, file: "p.yaml") }
    }

    @Test func aConfigMapKnobMayAskForARestart() throws {
        let text = plannerPolicy.replacingOccurrences(of: "knob: {configMap: api-config, key: DB_POOL_SIZE}",
                                                      with: "knob: {configMap: api-config, key: DB_POOL_SIZE, restart: true}")
        let policy = try PolicyLoader.load(text: text, file: "p.yaml")
        guard case .poolSize(let pool) = policy.actions[1].action else { Issue.record("not a pool rule"); return }
        #expect(pool.knob == .configMap(name: "api-config", key: "DB_POOL_SIZE", restart: true))
        let bad = plannerPolicy.replacingOccurrences(of: "knob: {env: CACHE_TTL_SECONDS}", with: "knob: {env: CACHE_TTL_SECONDS, restart: true}")
        #expect(throws: PolicyError.self) { try PolicyLoader.load(text: bad, file: "p.yaml") }
    }
}
