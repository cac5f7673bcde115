import Testing
@testable import TrimtabCore

/// Whether a ConfigMap key written without a restart reaches the running pods.
@Suite struct ConfigMapReachTests {
    typealias Reach = ConfigMapReach
    static let volume = Reach.Volume(name: "config", configMap: "api-config")

    func judge(_ volumes: [Reach.Volume], _ containers: [Reach.Container]) -> Reach {
        Reach.judge(configMap: "api-config", key: "DB_POOL_SIZE", volumes: volumes, containers: containers, workload: "deployment/api in namespace shop")
    }

    @Test func mountedWholeItIsLiveAtItsFile() {
        let app = Reach.Container(name: "app", mounts: [Reach.Mount(volume: "config", path: "/etc/app")])
        #expect(judge([Self.volume], [app]) == .live(container: "app", path: "/etc/app/DB_POOL_SIZE"))
        #expect(judge([Self.volume], [app]).rule.passed)
        // A volume that lists items puts the key at the item's path.
        let listed = Reach.Volume(name: "config", configMap: "api-config", items: [(key: "DB_POOL_SIZE", path: "pool/size")])
        #expect(judge([listed], [app]) == .live(container: "app", path: "/etc/app/pool/size"))
    }

    @Test func aSubPathOrAVariableIsFixedAtThePodsStart() {
        let subPath = Reach.Container(name: "app", mounts: [Reach.Mount(volume: "config", path: "/etc/app/DB_POOL_SIZE", subPath: "DB_POOL_SIZE")])
        guard case .frozen(let why) = judge([Self.volume], [subPath]) else { Issue.record("subPath"); return }
        #expect(why.contains("container app mounts it with subPath DB_POOL_SIZE at /etc/app/DB_POOL_SIZE"))
        #expect(why.contains("kubernetes #50345") && why.contains("set restart: true on the knob"))
        let variable = Reach.Container(name: "app", keyRefs: [(variable: "POOL", configMap: "api-config", key: "DB_POOL_SIZE")])
        guard case .frozen(let read) = judge([], [variable]) else { Issue.record("keyRef"); return }
        #expect(read.contains("container app reads it into the variable POOL"))
        #expect(!judge([], [Reach.Container(name: "app", envFrom: ["api-config"])]).rule.passed)
    }

    @Test func keptOutOfThePodTemplateItChangesNothing() {
        let app = Reach.Container(name: "app", mounts: [Reach.Mount(volume: "config", path: "/etc/app")])
        let otherKeys = Reach.Volume(name: "config", configMap: "api-config", items: [(key: "LOG_LEVEL", path: "log")])
        guard case .absent(let why) = judge([otherKeys], [app]) else { Issue.record("items"); return }
        #expect(why.contains("is not in the pod template of deployment/api in namespace shop"))
        guard case .absent = judge([Reach.Volume(name: "other", configMap: "other-config")], [app]) else { Issue.record("other"); return }
    }
}

/// The plan holds a change written without a restart where the pods would never see it.
@Suite struct LiveKnobPlanTests {
    @Test func aPoolChangeToAKeyThePodsNeverReReadIsHeldAndALiveOneGoes() throws {
        var situation = Situation()
        situation.values["latency_p95"] = { ago in ago <= 900 ? 1.5 : 0.3 }
        situation.values["pool_utilization"] = { ago in ago <= 900 ? 0.98 : 0.4 }
        situation.values["cpu_utilization"] = { _ in 0.3 }
        let knob = Knob.configMap(name: "api-config", key: "DB_POOL_SIZE", restart: false)
        let frozen = ConfigMapReach.frozen("ConfigMap api-config key DB_POOL_SIZE reaches deployment/api in namespace shop only as it was when each pod started")
        for (reach, proposed) in [(frozen, false), (.live(container: "app", path: "/etc/app/DB_POOL_SIZE"), true)] {
            var context = PlanContext(clusterRead: true)
            context.configMapReach = [PlannerTests.target: [knob: reach]]
            let (_, plan) = try plan(situation, context: context)
            let action = try #require(plan.actions.first { $0.action == "poolSize" })
            let rule = try #require(action.rules.first { $0.rule == "live knob" })
            #expect(rule.passed == proposed, "\(rule)")
            #expect(action.decision == (proposed ? .proposed : .held))
        }
        // Without the cluster's word (no pod template read), no rule is judged.
        let (_, plan) = try plan(situation)
        #expect(plan.actions.first { $0.action == "poolSize" }?.rules.contains { $0.rule == "live knob" } == false)
    }
    /// A policy that declares the live knob first and the env var after it: a target whose ConfigMap
    /// is mounted whole gets the live knob, one that mounts it with subPath falls back to the env var,
    /// and the plan says which and why.
    @Test func theFirstUsableKnobIsChosenAndTheOthersPassedOverSayWhy() throws {
        var situation = Situation()
        situation.values["latency_p95"] = { ago in ago <= 900 ? 1.5 : 0.3 }
        situation.values["pool_utilization"] = { ago in ago <= 900 ? 0.98 : 0.4 }
        situation.values["cpu_utilization"] = { _ in 0.3 }
        let live = Knob.configMap(name: "api-config", key: "DB_POOL_SIZE", restart: false)
        let env = Knob.env(name: "DB_POOL_SIZE", container: nil)
        let frozen = ConfigMapReach.frozen("mounted with subPath DB_POOL_SIZE: fixed at each pod's start")
        let cases: [(ConfigMapReach, Knob, String)] = [
            (.live(container: "app", path: "/etc/app/DB_POOL_SIZE"), live, "the policy's first choice"),
            (frozen, env, "passed over: configMap api-config key DB_POOL_SIZE: mounted with subPath DB_POOL_SIZE: fixed at each pod's start"),
        ]
        for (reach, chosen, why) in cases {
            var context = PlanContext(clusterRead: true)
            context.configMapReach = [PlannerTests.target: [live: reach]]
            context.knobValues = [PlannerTests.target: [live: .value(10, source: "ConfigMap shop/api-config"), env: .value(10, source: "the pod template")]]
            let (_, plan) = try plan(situation, context: context) { policy in
                for index in policy.actions.indices {
                    if case .poolSize(var pool) = policy.actions[index].action {
                        pool.fallbacks = [env]
                        policy.actions[index].action = .poolSize(pool)
                    }
                }
            }
            let action = try #require(plan.actions.first { $0.action == "poolSize" })
            #expect(action.knob == chosen)
            #expect(action.decision == .proposed, "\(action.rules)")
            let rule = try #require(action.rules.first { $0.rule == "knob" })
            #expect(rule.passed && rule.detail == "\(chosen) (\(why))", "\(rule)")
        }
    }
}
