import Foundation
import Testing
import TrimtabCycle
@testable import TrimtabCore
import TrimtabKube
import TrimtabKubeSandbox
import TrimtabSandbox

/// What the cluster facts read beside KEDA and Argo Rollouts, against the sandbox API server: a
/// ScaledObject's bounds (not its HPA's), its pause annotations, and a Rollout's update.
@Suite("Cluster facts: KEDA and Argo Rollouts")
struct OtherControllersClusterTests {
    static let policy = Policy(name: "t", indicators: [], checks: [])

    static func scaledObject(_ name: String, target: String, annotations: [String: String] = [:]) -> JSONValue {
        ["apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
         "metadata": ["name": .string(name), "namespace": "shop", "annotations": .object(annotations.mapValues { .string($0) })],
         "spec": ["scaleTargetRef": ["name": .string(target)], "maxReplicaCount": 12,
                  "advanced": ["horizontalPodAutoscalerConfig": ["behavior": ["scaleDown": ["stabilizationWindowSeconds": 120]]]],
                  "triggers": [["type": "prometheus", "metadata": ["serverAddress": "http://prometheus:9090", "query": "sum(rate(x[1m]))", "threshold": "100"]],
                               ["type": "cpu", "metricType": "Utilization", "metadata": ["value": "65"]]]]]
    }

    static func kedaHPA(_ scaledObject: String, target: String) -> JSONValue {
        ["apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
         "metadata": ["name": .string("keda-hpa-\(scaledObject)"), "namespace": "shop",
                      "ownerReferences": [["apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "name": .string(scaledObject), "uid": "u1", "controller": true]]],
         "spec": ["scaleTargetRef": ["apiVersion": "apps/v1", "kind": "Deployment", "name": .string(target)], "minReplicas": 1, "maxReplicas": 12,
                  "metrics": [["type": "External", "external": ["metric": ["name": "s0-prometheus"], "target": ["type": "AverageValue", "averageValue": "100"]]],
                              ["type": "Resource", "resource": ["name": "cpu", "target": ["type": "Utilization", "averageUtilization": 65]]]]]]
    }

    static func target(_ name: String) -> TargetID { TargetID(labelNames: ["namespace", "deployment"], labelValues: ["shop", name]) }

    @Test func aScaledObjectsBoundsAndPauseAreReadFromIt() async throws {
        let objects = ["api", "worker", "batch"].map { KnobFactsTests.deployment($0, env: []) } + [
            Self.scaledObject("api", target: "api"), Self.kedaHPA("api", target: "api"),
            Self.scaledObject("worker", target: "worker", annotations: ["autoscaling.keda.sh/paused-replicas": "2"]),
            // An HPA KEDA owns whose ScaledObject is gone from the list (deleted, or unreadable): neither is touched.
            Self.kedaHPA("orphan", target: "batch"),
        ]
        let cluster = try await ClusterFixture.start(objects: objects)
        defer { Task { await cluster.stop() } }
        let facts = try await ClusterFacts.read(targets: ["api", "worker", "batch"].map(Self.target), policy: Self.policy, client: cluster.client)
        let api = try #require(facts.autoscalers[Self.target("api")])
        #expect(api == AutoscalerInfo(name: "keda-hpa-api", minReplicas: 0, maxReplicas: 12, targetUtilizationPercent: 65, scaleDownWindowSeconds: 120,
                                      metricCount: 2, cpuMetricIndex: 1, scaledObject: "api"))
        #expect(facts.heldBy[Self.target("api")] == nil)
        #expect(facts.notes.contains { $0.contains("KEDA ScaledObject api owns its replicas through HorizontalPodAutoscaler keda-hpa-api") })
        // Paused: KEDA removed its HPA; the target is still KEDA's, and held.
        #expect(facts.autoscalers[Self.target("worker")]?.scaledObject == "worker")
        #expect(facts.heldBy[Self.target("worker")]?.contains("paused at 2 replicas") == true)
        #expect(facts.heldBy[Self.target("batch")]?.contains("belongs to KEDA ScaledObject orphan") == true)
        // One list of ScaledObjects for the namespace, however many targets.
        #expect(cluster.sandbox.requests.filter { $0.path.hasSuffix("/namespaces/shop/scaledobjects") }.count == 1)
    }

    @Test func withoutLeaveToListScaledObjectsTheCycleGoesOnAndSaysSo() async throws {
        let grant = Grant(user: "trimtab", rules: [PolicyRule(verbs: ["get", "list"], apiGroups: ["apps", "autoscaling"], resources: ["*"])])
        let cluster = try await ClusterFixture.start(objects: [KnobFactsTests.deployment("api", env: []), Self.kedaHPA("api", target: "api")],
                                                     token: "narrow", grants: ["narrow": grant])
        defer { Task { await cluster.stop() } }
        let facts = try await ClusterFacts.read(targets: [Self.target("api")], policy: Self.policy, client: cluster.client)
        #expect(facts.notes.contains { $0.contains("may not list KEDA ScaledObjects") && $0.contains("forbidden") }, "\(facts.notes)")
        #expect(facts.heldBy[Self.target("api")]?.contains("belongs to KEDA ScaledObject api") == true)
    }

    @Test func aRolloutMidCanaryIsHeldAndASettledOneIsNot() async throws {
        var canary = RolloutActuatorTests.rollout()
        canary[path: ["status"]] = ["stableRS": "6b9c7f", "currentPodHash": "7d4f1a", "currentStepIndex": 1, "phase": "Paused",
                                    "pauseConditions": [["reason": "CanaryPauseStep", "startTime": "2026-12-07T06:00:00Z"]]]
        var settled = RolloutActuatorTests.rollout()
        settled[path: ["metadata", "name"]] = "shop-ui"
        let policy = Policy(name: "ro", targets: TargetSelector(kind: "Rollout", groupBy: ["namespace", "rollout"]), indicators: [], checks: [])
        let cluster = try await ClusterFixture.start(objects: [canary, settled], policy: policy)
        defer { Task { await cluster.stop() } }
        func target(_ name: String) -> TargetID { TargetID(labelNames: ["namespace", "rollout"], labelValues: ["shop", name]) }
        let facts = try await ClusterFacts.read(targets: [target("web"), target("shop-ui")], policy: policy, client: cluster.client)
        let reason = try #require(facts.heldBy[target("web")])
        #expect(reason.contains("Rollout web is mid-canary, at step 1 of 3, paused (CanaryPauseStep)"), "\(reason)")
        #expect(facts.heldBy[target("shop-ui")] == nil)
        #expect(cluster.sandbox.requests.contains { $0.path == "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts" })
    }
}

/// A database two of the demo's services share, declared in a policy file beside the default policy:
/// `analyze` reads each user's pool from its pod template and its replicas from kube-state-metrics,
/// and plans payments' pool against what orders holds.
@Suite("Shared databases against the sandbox and Prometheus")
struct SharedDatabaseClusterTests {
    @Test func thePoolGrowthIsCutToTheRoomTheSharedDatabaseHas() async throws {
        let step = DemoScenario.scrapeInterval
        let end = (alignedNow() / step).rounded(.down) * step
        try await withTemporaryDirectory { dir in
            let sandbox = try await KubeSandbox.start(configuration: .demo)
            defer { Task { await sandbox.stop() } }
            let policies = dir.appendingPathComponent("policies")
            try FileManager.default.createDirectory(at: policies, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: DeployManifests.root.appendingPathComponent("policies/default.yaml"),
                                             to: policies.appendingPathComponent("00-default.yaml"))
            try "apiVersion: trimtab/v1\nkind: Policy\nspec:\n  databases:\n    orders-db: {connections: 120, users: [payments, orders]}\n"
                .write(to: policies.appendingPathComponent("10-databases.yaml"), atomically: true, encoding: .utf8)
            let kubeconfig = try JournalTruthTests.kubeconfig(sandbox, in: dir)
            let report = dir.appendingPathComponent("r.md").path
            try await withPrometheus(DemoScenario.openMetrics(end: end)) { prometheus in
                let code = await trimtab(["analyze", "--prometheus", prometheus.url, "--at", "\(Int(end))", "--kubeconfig", kubeconfig,
                                          "--policy", policies.path, "--quiet", "--output", report])
                #expect(code == 0)
            }
            let markdown = try String(contentsOfFile: report, encoding: .utf8)
            // payments 3 × 20 and orders 2 × 20 hold 100 of 120: payments' pool may grow by 20 / 3 replicas = 6, not 8.
            #expect(markdown.contains("### Shared databases"), "\(markdown)")
            #expect(markdown.contains("| orders-db | 120 | 0 | 100 | 118 | shop/orders 2 × 20; shop/payments 3 × 20 |"), "\(markdown)")
            #expect(markdown.contains("orders-db: reduced from 28 to 26"), "\(markdown)")
            // Its cost is the one of the change as cut, not as drafted.
            #expect(markdown.contains("3 replicas × 26 = 78 database connections in all (from 60)"), "\(markdown)")
        }
    }
}
