import Testing
@testable import TrimtabCore

/// Scale-in after trouble, the cost of a change, and the inputs an action reads from the cluster.
@Suite("Planner: scale-in only after a quiet window, costs, knob values")
struct PlanJudgementTests {
    /// An idle service (CPU 20 %, far under the 60 % target) whose latency breached for one minute
    /// `ago` seconds before now, as a service that flaps every ten minutes does.
    static func flapping(breachAgo ago: Double) -> Situation {
        var situation = Situation()
        situation.values["cpu_utilization"] = { _ in 0.2 }
        situation.values["latency_p95"] = { t in t <= ago && t > ago - 60 ? 1.5 : 0.3 }
        return situation
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var breachAgo: Double
        var scalesIn: Bool
        var testDescription: String { "breach \(Int(breachAgo))s ago" }
    }

    // The default scale-down stabilization window is 5 minutes.
    @Test(arguments: [Case(breachAgo: 120, scalesIn: false), Case(breachAgo: 270, scalesIn: false),
                      Case(breachAgo: 420, scalesIn: true), Case(breachAgo: 3000, scalesIn: true)])
    func scaleInNeedsTheWholeWindowQuiet(_ item: Case) throws {
        let (assessment, plan) = try plan(Self.flapping(breachAgo: item.breachAgo))
        // Healthy now either way: the one-minute breach is over.
        #expect(assessment.targets.first?.status == .healthy)
        let scaleIn = plan.proposed.first { $0.action == "scale" && $0.proposed < $0.current }
        #expect((scaleIn != nil) == item.scalesIn, "\(plan.considered)")
        if !item.scalesIn {
            #expect(plan.considered.contains { $0.contains("no scale-in, latency_p95 was in breach") && $0.contains("inside the 5m scale-down stabilization window") },
                    "\(plan.considered)")
        }
    }

    @Test func everyChangeSaysWhatItCosts() throws {
        // Pool-bound: a ConfigMap key without restart (ceil(10 × 0.97 / 0.7) = 14 per replica); cache-cold:
        // an env var, which rolls the pods.
        var pool = Situation()
        pool.values["latency_p95"] = { ago in ago <= 900 ? 1.4 : 0.3 }
        pool.values["pool_utilization"] = { ago in ago <= 900 ? 0.97 : 0.4 }
        let poolPlan = try plan(pool).1
        let poolAction = try #require(poolPlan.proposed.first { $0.action == "poolSize" })
        #expect(poolAction.cost == "no restart: the application must re-read the key; 4 replicas × 14 = 56 database connections in all (from 40)",
                "\(poolAction.cost ?? "nil")")

        var cold = Situation()
        cold.values["cache_hit_ratio"] = { ago in ago <= 1200 ? 0.45 : 0.9 }
        let ttl = try #require(try plan(cold).1.proposed.first { $0.action == "cacheTTL" })
        #expect(ttl.cost == "rolls all 4 pods of shop/api: a pod-template change replaces them one by one")

        var busy = Situation()
        busy.values["latency_p95"] = { ago in ago <= 900 ? 2.4 : 0.3 }
        busy.values["cpu_utilization"] = { ago in ago <= 900 ? 0.93 : 0.5 }
        let scale = try #require(try plan(busy).1.proposed.first)
        #expect(scale.cost == "adds 3 pods")
        let markdown = MarkdownReport.render(AnalysisReport(assessment: try plan(busy).0, context: RunContext(source: "s", queries: 1, readSeconds: 0, policyFiles: [], mode: .dryRun),
                                                            plan: try plan(busy).1))
        #expect(markdown.contains("| Target | Action | Knob | Change | Decision | Why | Cost |"))
        #expect(markdown.contains("| adds 3 pods |"))
    }

    /// Without an indicator, the TTL comes from the knob in the cluster; without a cluster it is unknown.
    @Test func aKnobWithoutIndicatorIsReadFromTheCluster() throws {
        var cold = Situation()
        cold.values["cache_hit_ratio"] = { ago in ago <= 1200 ? 0.45 : 0.9 }
        cold.values["cache_ttl_seconds"] = nil
        let drop: (inout Policy) -> Void = { policy in policy.indicators.removeAll { $0.name == "cache_ttl_seconds" } }
        let target = PlannerTests.target
        let knob = Knob.env(name: "CACHE_TTL_SECONDS", container: nil)

        let noCluster = try plan(cold, edit: drop).1
        let held = try #require(noCluster.held.first { $0.action == "cacheTTL" })
        #expect(held.failedRules.map(\.detail) == ["current value of env CACHE_TTL_SECONDS unknown: declare an indicator cache_ttl_seconds or give a cluster (--kubeconfig or --in-cluster) to read it from"])

        let read = PlanContext(knobValues: [target: [knob: .value(90, source: "the pod template of deployment/api")]], clusterRead: true)
        let proposed = try #require(try plan(cold, context: read, edit: drop).1.proposed.first { $0.action == "cacheTTL" })
        #expect(proposed.current == 90 && proposed.proposed == 180)
        #expect(proposed.evidence.first?.note == "read from the pod template of deployment/api")

        let unset = PlanContext(knobValues: [target: [knob: .unknown("env CACHE_TTL_SECONDS is not set in the pod template of deployment/api (container app)")]], clusterRead: true)
        let notSet = try #require(try plan(cold, context: unset, edit: drop).1.held.first { $0.action == "cacheTTL" })
        #expect(notSet.failedRules.first?.detail == "current value of env CACHE_TTL_SECONDS unknown: env CACHE_TTL_SECONDS is not set in the pod template of deployment/api (container app)")
    }
}
