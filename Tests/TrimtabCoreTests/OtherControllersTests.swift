import Foundation
import Testing
import Yams
@testable import TrimtabCore

/// KEDA and Argo Rollouts, as the planner sees them: changes go to the ScaledObject that owns the
/// HPA, and a paused ScaledObject or a Rollout mid-update holds its target still.
@Suite("Beside KEDA and Argo Rollouts")
struct OtherControllersTests {
    static let target = ErrorBudgetTests.target

    static func keda(target: Double? = 70, max: Int = 10, index: Int? = 1) -> [TargetID: AutoscalerInfo] {
        [Self.target: AutoscalerInfo(name: "keda-hpa-api", minReplicas: 0, maxReplicas: max, targetUtilizationPercent: target,
                                     metricCount: 2, cpuMetricIndex: index, scaledObject: "api")]
    }

    @Test func aKEDATargetsBoundsAreChangedOnItsScaledObjectAndThePlanSaysWhy() throws {
        let tests = ErrorBudgetTests()
        let plan = try tests.budgetPlan(statuses: ErrorBudgetTests.statuses(), autoscalers: Self.keda())
        let knob = Knob.autoscalerTargetUtilization(name: "keda-hpa-api", scaledObject: "api")
        let trim = try #require(tests.action(plan, knob))
        #expect(trim.decision == .proposed && trim.current == 70 && trim.proposed == 75, "\(trim.failedRules)")
        #expect(knob.description == "scaledobject api cpu trigger value")
        let owner = try #require(trim.rules.first { $0.rule == "keda" })
        #expect(owner.passed && owner.detail.contains("KEDA ScaledObject api owns HorizontalPodAutoscaler keda-hpa-api and reverts edits to it"))
        #expect(trim.rules.contains { $0.rule == "other metrics" && $0.detail.contains("2 triggers") })
        // Nothing is proposed on the HPA KEDA made.
        #expect(plan.actions.allSatisfy { $0.knob.scaledObject == "api" || $0.knob.autoscaler == nil })

        // A fast burn at the bound raises the ScaledObject's maxReplicaCount.
        let pinned = try tests.budgetPlan(ErrorBudgetTests.loaded, statuses: ErrorBudgetTests.fastBurn, autoscalers: Self.keda(max: 4))
        let raise = try #require(tests.action(pinned, .autoscalerMaxReplicas(name: "keda-hpa-api", scaledObject: "api")))
        #expect(raise.decision == .proposed && raise.proposed == 8)
        #expect(raise.reason.contains("KEDA ScaledObject api is pinned at its maxReplicaCount"), "\(raise.reason)")
        // Without apply, the person is told where to change it.
        let held = try tests.budgetPlan(statuses: ErrorBudgetTests.statuses(), autoscalers: Self.keda(), apply: false)
        let heldTrim = try #require(tests.action(held, knob))
        #expect(heldTrim.failedRules.first?.detail.contains("KEDA ScaledObject api's cpu trigger's value is for a person to change") == true)
    }

    @Test func aTargetAnotherControllerHoldsIsFrozenWithItsReason() throws {
        var context = PlanContext(autoscalers: Self.keda())
        context.objectives = ErrorBudgetTests.statuses()
        let reason = try #require(KEDAPause.reason(scaledObject: "api", annotations: ["autoscaling.keda.sh/paused": "true"]))
        context.heldBy = [Self.target: reason]
        let plan = try TrimtabCoreTests.plan(Situation(), context: context) { policy in
            policy.objectives = ErrorBudgetTests.objectives
            for index in policy.actions.indices {
                if case .scale(var scale) = policy.actions[index].action {
                    scale.autoscaler = .apply
                    policy.actions[index].action = .scale(scale)
                }
            }
        }.1
        #expect(!plan.actions.isEmpty)
        #expect(plan.actions.allSatisfy { $0.decision == .held && $0.failedRules.contains { $0.rule == "freeze" && $0.detail == reason } })
    }

    @Test func kedaPauseAnnotations() {
        #expect(KEDAPause.reason(scaledObject: "api", annotations: [:]) == nil)
        #expect(KEDAPause.reason(scaledObject: "api", annotations: ["autoscaling.keda.sh/paused": "false"]) == nil)
        #expect(KEDAPause.reason(scaledObject: "api", annotations: ["autoscaling.keda.sh/paused": "true"])?.contains("is paused (autoscaling.keda.sh/paused: \"true\")") == true)
        #expect(KEDAPause.reason(scaledObject: "api", annotations: ["autoscaling.keda.sh/paused-replicas": "3"])?.contains("paused at 3 replicas") == true)
    }

    @Test func aRolloutIsLeftAloneMidUpdate() {
        #expect(RolloutProgress(name: "web", canarySteps: 3, currentPodHash: "abc", stableRS: "abc").holdReason == nil)
        // Before the controller has recorded a stable ReplicaSet (a new Rollout): nothing to wait for.
        #expect(RolloutProgress(name: "web", canarySteps: 3, currentPodHash: "abc").holdReason == nil)
        let canary = RolloutProgress(name: "web", canarySteps: 3, currentPodHash: "def", stableRS: "abc", currentStepIndex: 1, pauseReasons: ["CanaryPauseStep"])
        #expect(canary.holdReason?.contains("Rollout web is mid-canary, at step 1 of 3, paused (CanaryPauseStep)") == true, "\(canary.holdReason ?? "")")
        #expect(RolloutProgress(name: "web", blueGreen: true, currentPodHash: "def", stableRS: "abc").holdReason?.contains("mid blue-green update") == true)
        #expect(RolloutProgress(name: "web", paused: true, currentPodHash: "abc", stableRS: "abc").holdReason?.contains("spec.paused") == true)
        #expect(RolloutProgress(name: "web", currentPodHash: "def", stableRS: "abc", aborted: true).holdReason?.contains("aborted") == true)
    }

    @Test func aScaledObjectsPatchForGitNamesItsFields() throws {
        let object = ObjectRef.scaledObject("api", namespace: "shop")
        let managed = ManagedObject(object: object, management: GitOpsTests.argo, containers: [])
        let target = try #require(GitPatch.make(knob: .autoscalerTargetUtilization(name: "keda-hpa-api", scaledObject: "api"), value: 80,
                                                managed: managed, cpuMetricIndex: 1, reason: "r"))
        #expect(target.file == "shop/scaledobject-api-cpu-target.yaml")
        #expect(target.kubectl == #"kubectl patch scaledobject api --namespace shop --type json --patch '[{"op":"test","path":"/spec/triggers/1/type","value":"cpu"},{"op":"replace","path":"/spec/triggers/1/metadata/value","value":"80"}]'"#, "\(target.kubectl)")
        #expect(target.kustomization.contains("group: keda.sh") && target.kustomization.contains("kind: ScaledObject"))
        let operations = try #require(try Yams.load(yaml: target.text) as? [[String: Any]])
        #expect(operations.last?["value"] as? String == "80", "a trigger's value is a string: \(target.text)")
        let max = try #require(GitPatch.make(knob: .autoscalerMaxReplicas(name: "keda-hpa-api", scaledObject: "api"), value: 12, managed: managed,
                                             cpuMetricIndex: nil, reason: "r"))
        #expect(max.kubectl.hasSuffix(#"--type merge --patch '{"spec":{"maxReplicaCount":12}}'"#))
        let window = try #require(GitPatch.make(knob: .autoscalerScaleDownWindow(name: "keda-hpa-api", scaledObject: "api"), value: 600, managed: managed,
                                                cpuMetricIndex: nil, reason: "r"))
        #expect(window.kubectl.contains(#"{"spec":{"advanced":{"horizontalPodAutoscalerConfig":{"behavior":{"scaleDown":{"stabilizationWindowSeconds":600}}}}}}"#))
        // A Rollout's env cannot be merged by name in a patch file (no strategic merge on a custom resource): no patch, said so.
        let rollout = ManagedObject(object: .workload(WorkloadRef(kind: "Rollout", namespace: "shop", name: "web")), management: GitOpsTests.argo, containers: ["web"])
        #expect(GitPatch.make(knob: .env(name: "DB_POOL_SIZE", container: nil), value: 28, managed: rollout, cpuMetricIndex: nil, reason: "r") == nil)
        #expect(GitPatch.make(knob: .replicas, value: 5, managed: rollout, cpuMetricIndex: nil, reason: "r")?.text.contains("apiVersion: argoproj.io/v1alpha1") == true)
    }

    @Test func journalsWrittenBeforeKEDAStillRead() throws {
        // An entry's knob as earlier versions wrote it: no scaledObject key.
        let old = try JSONDecoder().decode(Knob.self, from: Data(#"{"autoscalerMaxReplicas":{"name":"api-hpa"}}"#.utf8))
        #expect(old == .autoscalerMaxReplicas(name: "api-hpa"))
        let keda = Knob.autoscalerMaxReplicas(name: "keda-hpa-api", scaledObject: "api")
        #expect(try JSONDecoder().decode(Knob.self, from: JSONEncoder().encode(keda)) == keda)
        // And the old shape is what an HPA's knob still writes.
        #expect(String(decoding: try JSONEncoder().encode(old), as: UTF8.self) == #"{"autoscalerMaxReplicas":{"name":"api-hpa"}}"#)
    }
}
