import Testing
@testable import TrimtabCore

/// A policy with every action kind, over plain indicators the tests fill in.
let plannerPolicy = """
apiVersion: trimtab/v1
kind: Policy
metadata: {name: planner}
spec:
  targets: {namespace: shop}
  indicators:
    latency_p95: {query: 'q_latency{$selector}', unit: seconds}
    error_ratio: {query: 'q_errors{$selector}', unit: ratio, kind: errors}
    cpu_utilization: {query: 'q_cpu{$selector}', unit: ratio}
    memory_utilization: {query: 'q_memory{$selector}', unit: ratio}
    pool_utilization: {query: 'q_pool{$selector}', unit: ratio}
    cache_hit_ratio: {query: 'q_hits{$selector}', unit: ratio}
    replicas: {query: 'q_replicas{$selector}', unit: count}
    pool_size: {query: 'q_pool_size{$selector}', unit: count}
    cache_ttl_seconds: {query: 'q_ttl{$selector}', unit: seconds}
    cache_evictions: {query: 'q_evictions{$selector}', unit: per-second}
  checks:
    latency_p95: {worse: higher, warning: 1s, critical: 2s, for: 5m, weight: 3}
    error_ratio: {worse: higher, warning: 1%, critical: 5%, for: 5m, weight: 3}
    cpu_utilization: {worse: higher, warning: 70%, critical: 90%, for: 5m, weight: 2}
    memory_utilization: {worse: higher, warning: 80%, critical: 95%, for: 5m, weight: 2}
    pool_utilization: {worse: higher, warning: 70%, critical: 90%, for: 5m, weight: 2}
    cache_hit_ratio: {worse: lower, warning: 80%, critical: 50%, for: 10m, weight: 1}
  actions:
    - when: {bottleneck: latency_p95, and: cpu_utilization}
      scale: {min: 2, max: 20, utilizationTarget: 0.6}
    - when: {bottleneck: latency_p95, and: pool_utilization, unless: cpu_utilization}
      poolSize: {knob: {configMap: api-config, key: DB_POOL_SIZE}, min: 5, max: 50, databaseConnections: 200}
    - when: {bottleneck: cache_hit_ratio}
      cacheTTL: {knob: {env: CACHE_TTL_SECONDS}, min: 10s, max: 10m, factor: 2, evictions: cache_evictions, evictionsAbove: 5, memory: memory_utilization}
  safety: {cooldown: 10m, maxChangesPerHour: 6}
"""

/// The indicator values of a healthy service; a situation changes some of them.
struct Situation {
    var values: [String: (Double) -> Double?] = [
        "latency_p95": { _ in 0.3 }, "error_ratio": { _ in 0.001 }, "cpu_utilization": { _ in 0.5 },
        "memory_utilization": { _ in 0.5 }, "pool_utilization": { _ in 0.4 }, "cache_hit_ratio": { _ in 0.9 },
        "replicas": { _ in 4 }, "pool_size": { _ in 10 }, "cache_ttl_seconds": { _ in 60 }, "cache_evictions": { _ in 0 },
    ]

    func fixture(_ policy: Policy, deployment: String = "api") -> SnapshotFixture {
        var fixture = SnapshotFixture(policy: policy)
        for (indicator, value) in values { fixture.add(indicator, deployment, value) }
        return fixture
    }
}

func plan(_ situation: Situation, context: PlanContext = PlanContext(), edit: (inout Policy) -> Void = { _ in }) throws -> (Assessment, Plan) {
    var policy = try PolicyLoader.load(text: plannerPolicy, file: "planner.yaml")
    edit(&policy)
    let fixture = situation.fixture(policy)
    let assessment = fixture.assessment
    return (assessment, Planner.plan(assessment, snapshot: fixture.snapshot, policy: policy, context: context))
}

@Suite("Planner: the action that addresses the cause, with every safety rule")
struct PlannerTests {
    static let target = TargetID(labelNames: ["namespace", "deployment"], labelValues: ["shop", "api"])

    @Test func cpuBoundScalesOut() throws {
        var situation = Situation()
        situation.values["latency_p95"] = { ago in ago <= 900 ? 2.4 : 0.3 }
        situation.values["cpu_utilization"] = { ago in ago <= 900 ? 0.93 : 0.5 }
        let (_, plan) = try plan(situation)
        let action = try #require(plan.proposed.first)
        #expect(plan.proposed.count == 1)
        #expect(action.action == "scale" && action.knob == .replicas)
        // ceil(4 × 0.93 / 0.6) = 7
        #expect(action.current == 4 && action.proposed == 7)
        #expect(action.trigger == "latency_p95")
        #expect(action.reason.contains("ceil(4 × 0.93 / 0.6) = 7"))
        #expect(action.rules.allSatisfy { $0.passed })
        #expect(Set(action.rules.map(\.rule)) == ["inputs known", "freeze", "cooldown", "autoscaler", "max step", "bounds", "database budget", "one change per target", "rate limit"])
        #expect(action.id == "shop/api/replicas@100000")
    }

    @Test func poolBoundGrowsThePoolNotTheReplicas() throws {
        var situation = Situation()
        situation.values["latency_p95"] = { ago in ago <= 900 ? 1.5 : 0.3 }
        situation.values["pool_utilization"] = { ago in ago <= 900 ? 0.98 : 0.4 }
        situation.values["cpu_utilization"] = { _ in 0.3 }
        let (_, plan) = try plan(situation)
        #expect(plan.proposed.map(\.action) == ["poolSize"])
        let action = try #require(plan.proposed.first)
        // ceil(10 × 0.98 / 0.7) = 14
        #expect(action.current == 10 && action.proposed == 14)
        #expect(plan.considered.contains("scale for shop/api: not the cause, cpu_utilization is not in breach"))
    }

    @Test func poolGrowthStopsAtTheDatabaseBudget() throws {
        var situation = Situation()
        situation.values["latency_p95"] = { ago in ago <= 900 ? 1.5 : 0.3 }
        situation.values["pool_utilization"] = { ago in ago <= 900 ? 0.98 : 0.4 }
        situation.values["cpu_utilization"] = { _ in 0.3 }
        situation.values["replicas"] = { _ in 20 }
        let (_, plan) = try plan(situation)
        // 200 connections / 20 replicas = 10 each: the pool cannot grow.
        #expect(plan.proposed.isEmpty)
        let held = try #require(plan.held.first)
        #expect(held.failedRules.map(\.rule) == ["database budget"])
        #expect(plan.recommendations.first?.text.contains("200 connections are all given out") == true)
    }

    @Test func coldCacheWithFewEvictionsGetsALongerTTL() throws {
        var situation = Situation()
        situation.values["cache_hit_ratio"] = { ago in ago <= 1200 ? 0.45 : 0.9 }
        let (_, plan) = try plan(situation)
        let action = try #require(plan.proposed.first)
        #expect(action.action == "cacheTTL" && action.current == 60 && action.proposed == 120)
        #expect(action.reason.contains("few evictions and memory_utilization has headroom"))
    }

    @Test func evictionsOrMemoryPressureShortenTheTTL() throws {
        var situation = Situation()
        situation.values["cache_hit_ratio"] = { ago in ago <= 1200 ? 0.45 : 0.9 }
        situation.values["cache_evictions"] = { _ in 40 }
        let (_, evicting) = try plan(situation)
        #expect(evicting.proposed.first?.proposed == 30)
        situation.values["cache_evictions"] = { _ in 0 }
        situation.values["memory_utilization"] = { _ in 0.9 }
        let (_, pressed) = try plan(situation)
        #expect(pressed.proposed.first?.proposed == 30)
        #expect(pressed.proposed.first?.reason.contains("memory pressure") == true)
    }

    @Test func ttlAtItsMaximumIsANonActionExplained() throws {
        var situation = Situation()
        situation.values["cache_hit_ratio"] = { ago in ago <= 1200 ? 0.45 : 0.9 }
        situation.values["cache_ttl_seconds"] = { _ in 600 }
        let (_, plan) = try plan(situation)
        #expect(plan.actions.isEmpty)
        #expect(plan.considered == ["cacheTTL for shop/api: no change, the TTL is already at its maximum of 10m (how stale the data may be)"])
    }

    @Test func idleScalesIn() throws {
        var situation = Situation()
        situation.values["cpu_utilization"] = { _ in 0.15 }
        situation.values["replicas"] = { _ in 8 }
        let (assessment, plan) = try plan(situation)
        #expect(assessment.targets.first?.status == .healthy)
        let action = try #require(plan.proposed.first)
        // ceil(8 × 0.15 / 0.6) = 2
        #expect(action.action == "scale" && action.current == 8 && action.proposed == 2)
        #expect(action.reason.hasPrefix("idle"))
        #expect(action.trigger.isEmpty)
    }

    @Test func idleButRecentlyBusyDoesNotScaleIn() throws {
        var situation = Situation()
        situation.values["cpu_utilization"] = { ago in ago <= 120 ? 0.15 : 0.55 }
        situation.values["replicas"] = { _ in 8 }
        let (_, result) = try plan(situation)
        #expect(result.actions.isEmpty)
    }

    @Test func anErrorSpikeIsReportedNotScaled() throws {
        var situation = Situation()
        situation.values["error_ratio"] = { ago in ago <= 900 ? 0.12 : 0.001 }
        let (assessment, plan) = try plan(situation)
        #expect(assessment.bottlenecks.map(\.check) == ["error_ratio"])
        #expect(plan.actions.isEmpty)
        #expect(plan.recommendations.map(\.check) == ["error_ratio"])
        #expect(plan.recommendations.first?.text.contains("not a capacity problem") == true)
    }

    @Test func adviceFollowsTheIndicatorsKindNotItsName() throws {
        var situation = Situation()
        situation.values["error_ratio"] = { ago in ago <= 900 ? 0.12 : 0.001 }
        // The same spike on an indicator whose kind is not declared: the name alone says nothing.
        let (_, undeclared) = try plan(situation) { policy in
            policy.indicators = policy.indicators.map { var indicator = $0; if indicator.name == "error_ratio" { indicator.kind = nil }; return indicator }
        }
        #expect(undeclared.recommendations.first?.text.contains("has no action rule whose cause matches") == true)
        // Declared as latency, it is advised as latency, whatever it is called.
        let (_, latency) = try plan(situation) { policy in
            policy.indicators = policy.indicators.map { var indicator = $0; if indicator.name == "error_ratio" { indicator.kind = .latency }; return indicator }
        }
        #expect(latency.recommendations.first?.text.hasPrefix("Latency at") == true)
    }

    @Test func aOneMinuteSpikeChangesNothing() throws {
        var situation = Situation()
        situation.values["latency_p95"] = { ago in ago <= 60 ? 5 : 0.3 }
        situation.values["cpu_utilization"] = { ago in ago <= 60 ? 0.99 : 0.5 }
        let (assessment, plan) = try plan(situation)
        #expect(assessment.bottlenecks.isEmpty)
        #expect(plan.actions.isEmpty && plan.recommendations.isEmpty)
    }

    @Test func cooldownFreezeAutoscalerAndUnknownInputsHold() throws {
        var situation = Situation()
        situation.values["latency_p95"] = { ago in ago <= 900 ? 2.4 : 0.3 }
        situation.values["cpu_utilization"] = { ago in ago <= 900 ? 0.93 : 0.5 }
        let now = SnapshotFixture.now
        let recent = ChangeRecord(target: Self.target, knob: .replicas, time: now - 300, from: 3, to: 4)
        let cases: [(PlanContext, (inout Policy) -> Void, String)] = [
            (PlanContext(history: [recent]), { _ in }, "cooldown"),
            (PlanContext(frozenTargets: [Self.target]), { _ in }, "freeze"),
            (PlanContext(), { $0.safety.freeze = true }, "freeze"),
            (PlanContext(autoscaledTargets: [Self.target]), { _ in }, "autoscaler"),
        ]
        for (context, edit, rule) in cases {
            let (_, plan) = try plan(situation, context: context, edit: edit)
            #expect(plan.proposed.isEmpty, "\(rule)")
            #expect(plan.held.first?.failedRules.map(\.rule) == [rule])
        }
        // A change outside the cooldown is fine.
        let old = ChangeRecord(target: Self.target, knob: .replicas, time: now - 900, from: 3, to: 4)
        let (_, outside) = try plan(situation, context: PlanContext(history: [old]))
        #expect(outside.proposed.count == 1)
        // Past the cooldown, but its verification is not yet due: the knob waits until the change is judged.
        var unjudged = old
        unjudged.verificationDue = now + 300
        let (_, waiting) = try plan(situation, context: PlanContext(history: [unjudged]))
        #expect(waiting.proposed.isEmpty)
        #expect(waiting.held.first?.failedRules.map(\.rule) == ["cooldown"])
        #expect(waiting.held.first?.failedRules.first?.detail == "replicas changed 15m ago and is judged in 5m; a knob is not changed again before its last change is judged")
        // Judged (verified or rolled back): the cooldown alone decides.
        unjudged.verificationDue = nil
        #expect(try plan(situation, context: PlanContext(history: [unjudged])).1.proposed.count == 1)
        // Missing replicas: held, never guessed.
        situation.values["replicas"] = { _ in nil }
        let (_, unknown) = try plan(situation)
        #expect(unknown.proposed.isEmpty)
        #expect(unknown.held.first?.failedRules.first?.detail == "no current value for replicas")
    }

    @Test func rateLimitCountsTheLastHour() throws {
        var situation = Situation()
        situation.values["latency_p95"] = { ago in ago <= 900 ? 2.4 : 0.3 }
        situation.values["cpu_utilization"] = { ago in ago <= 900 ? 0.93 : 0.5 }
        let other = TargetID(labelNames: ["namespace", "deployment"], labelValues: ["shop", "other"])
        let history = (0..<6).map { ChangeRecord(target: other, knob: .replicas, time: SnapshotFixture.now - 3000 + Double($0), from: 1, to: 2) }
        let (_, plan) = try plan(situation, context: PlanContext(history: history))
        #expect(plan.held.first?.failedRules.map(\.rule) == ["rate limit"])
    }

    @Test func oneChangePerTargetPerCycle() throws {
        var situation = Situation()
        situation.values["latency_p95"] = { ago in ago <= 900 ? 2.4 : 0.3 }
        situation.values["cpu_utilization"] = { ago in ago <= 900 ? 0.93 : 0.5 }
        situation.values["cache_hit_ratio"] = { ago in ago <= 1200 ? 0.45 : 0.9 }
        let (_, plan) = try plan(situation)
        #expect(plan.proposed.map(\.action) == ["scale"])
        #expect(plan.held.map(\.action) == ["cacheTTL"])
        #expect(plan.held.first?.failedRules.map(\.rule) == ["one change per target"])
    }

    @Test func aFailedQueryHoldsEverything() throws {
        var policy = try PolicyLoader.load(text: plannerPolicy, file: "planner.yaml")
        policy.safety.cooldownSeconds = 0
        var situation = Situation()
        situation.values["latency_p95"] = { ago in ago <= 900 ? 2.4 : 0.3 }
        situation.values["cpu_utilization"] = { ago in ago <= 900 ? 0.93 : 0.5 }
        var fixture = situation.fixture(policy)
        fixture.failures["error_ratio"] = "Prometheus answered 503"
        let plan = Planner.plan(fixture.assessment, snapshot: fixture.snapshot, policy: policy)
        #expect(plan.proposed.isEmpty)
        #expect(plan.held.first?.failedRules.first?.rule == "inputs known")
    }

    @Test("replicas × pool never exceeds the database budget", arguments: [1, 3, 7, 12, 20])
    func budgetHoldsOnAGrid(_ replicas: Int) throws {
        for pool in stride(from: 5, through: 50, by: 5) where replicas * pool <= 200 {
            for (cpu, poolUse) in [(0.95, 0.3), (0.3, 0.98), (0.95, 0.98)] {
                var situation = Situation()
                situation.values["latency_p95"] = { ago in ago <= 900 ? 2.4 : 0.3 }
                situation.values["cpu_utilization"] = { ago in ago <= 900 ? cpu : 0.5 }
                situation.values["pool_utilization"] = { ago in ago <= 900 ? poolUse : 0.4 }
                situation.values["replicas"] = { _ in Double(replicas) }
                situation.values["pool_size"] = { _ in Double(pool) }
                let (_, plan) = try plan(situation)
                var newReplicas = replicas, newPool = pool
                for action in plan.proposed {
                    if action.knob == .replicas { newReplicas = Int(action.proposed) } else { newPool = Int(action.proposed) }
                }
                #expect(plan.proposed.count <= 1)
                #expect(newReplicas * newPool <= 200, "replicas \(replicas)→\(newReplicas), pool \(pool)→\(newPool), cpu \(cpu), pool use \(poolUse)")
            }
        }
    }
}
