import Foundation
import Testing
import TrimtabCycle
@testable import TrimtabCore
import TrimtabKube
import TrimtabKubeSandbox
import TrimtabTestSupport

/// Every actuator against the sandbox API server: dry-run, apply, rollback and conflicts.
@Suite("Actuators against the sandbox API server")
struct ActuatorTests {
    static let knobs: [(Knob, Double, Double)] = [
        (.replicas, 4, 7),
        (.configMap(name: "api-config", key: "DB_POOL_SIZE"), 20, 28),
        (.configMap(name: "api-config", key: "DB_POOL_SIZE", restart: true), 20, 28),
        (.env(name: "DB_POOL_SIZE", container: nil), 20, 28),
        (.env(name: "CACHE_TTL_SECONDS", container: "app"), 60, 120),
        (.autoscalerMaxReplicas(name: "api-hpa"), 4, 7),
        (.autoscalerTargetUtilization(name: "api-hpa"), 70, 80),
        (.autoscalerScaleDownWindow(name: "api-hpa"), 300, 600),
        (.autoscalerMaxReplicas(name: "keda-hpa-api-so", scaledObject: "api-so"), 4, 7),
        (.autoscalerTargetUtilization(name: "keda-hpa-api-so", scaledObject: "api-so"), 70, 80),
        (.autoscalerScaleDownWindow(name: "keda-hpa-api-so", scaledObject: "api-so"), 300, 600),
    ]

    /// The fixture for a knob: with KEDA's ScaledObject (and the HPA it owns) for its knobs.
    static func start(for knob: Knob) async throws -> ClusterFixture {
        try await ClusterFixture.start(objects: knob.scaledObject == nil ? ClusterFixture.seed() : ClusterFixture.kedaSeed())
    }

    @Test(arguments: knobs)
    func dryRunChangesNothing(knob: Knob, from: Double, to: Double) async throws {
        let cluster = try await Self.start(for: knob)
        let before = cluster.sandbox.store.resourceVersion
        let outcomes = try await cluster.executor().execute(onePlan(knob, from: from, to: to, mode: .dryRun), assessment: assessment(),
                                                            mode: .dryRun, time: 1_000_000)
        #expect(outcomes.map(\.result) == [.wouldApply], "\(outcomes)")
        #expect(outcomes.first?.detail.contains("accepted it with dryRun=All") == true)
        #expect(cluster.value(knob) == KnobValue.text(from))
        #expect(cluster.sandbox.store.resourceVersion == before, "a dry-run stored something")
        #expect(cluster.successfulWrites.isEmpty)
        #expect(cluster.sandbox.requests.contains { $0.method != "GET" && $0.query.contains("dryRun=All") })
        #expect(try cluster.journal.entries().isEmpty, "a dry-run journals nothing")
        await cluster.stop()
    }

    @Test(arguments: knobs)
    func applyJournalsAnnotatesRecordsAndRollsBack(knob: Knob, from: Double, to: Double) async throws {
        let cluster = try await Self.start(for: knob)
        let executor = cluster.executor()
        let outcomes = try await executor.execute(onePlan(knob, from: from, to: to), assessment: assessment(), mode: .enforce, time: 1_000_000)
        #expect(outcomes.map(\.result) == [.applied], "\(outcomes)")
        #expect(cluster.value(knob) == KnobValue.text(to))
        let entry = try #require(try cluster.journal.entries().first)
        #expect(entry.state == .applied && entry.before == KnobValue.text(from) && entry.after == KnobValue.text(to))
        #expect(entry.id == outcomes.first?.journalID)
        // The annotation holds the previous value; the Event says what and why.
        let annotation = try #require(cluster.deployment?[path: ["metadata", "annotations", KubeCluster.lastChangeAnnotation]]?.stringValue)
        #expect(annotation.contains("\"from\":\"\(KnobValue.text(from))\"") && annotation.contains("\"id\":\"\(entry.id)\""))
        let event = try #require(cluster.events.first { $0["reason"]?.stringValue == "TrimtabChanged" })
        #expect(event["message"]?.stringValue?.contains("because the test says so") == true)
        #expect(event[path: ["involvedObject", "uid"]] == cluster.deployment?[path: ["metadata", "uid"]])
        if case .configMap(_, _, true) = knob {
            #expect(cluster.deployment?[path: ["spec", "template", "metadata", "annotations", "kubectl.kubernetes.io/restartedAt"]] != nil)
        }
        if case .configMap = knob {
            #expect(cluster.sandbox.object(apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "api-config")?[path: ["data", "OTHER"]] == "kept")
        }
        if knob.scaledObject != nil {
            // KEDA's HPA is KEDA's to keep in step: Trimtab wrote the ScaledObject and nothing else but its bookkeeping.
            #expect(!cluster.successfulWrites.contains { $0.path.contains("/horizontalpodautoscalers") }, "\(cluster.successfulWrites.map(\.path))")
            #expect(cluster.successfulWrites.contains { $0.path.hasSuffix("/scaledobjects/api-so") })
            if case .autoscalerTargetUtilization = knob {
                // The memory trigger before it is untouched; the value stays a string, as KEDA's schema needs.
                let triggers = cluster.scaledObject("api-so")?[path: ["spec", "triggers"]]?.arrayValue ?? []
                #expect(triggers.first?[path: ["metadata", "value"]] == "80")
                #expect(triggers.last?[path: ["metadata", "value"]] == .string(KnobValue.text(to)))
            }
        }
        if case .env = knob {
            // A strategic merge patch by name: the other variable is untouched.
            #expect(cluster.value(.env(name: "DB_POOL_SIZE", container: nil)) != nil && cluster.value(.env(name: "CACHE_TTL_SECONDS", container: nil)) != nil)
        }

        let event2 = try await executor.rollback(entry, reason: "test rollback", time: 1_000_100, force: false)
        #expect(event2.state == .rolledBack)
        #expect(cluster.value(knob) == KnobValue.text(from))
        #expect(try await cluster.journal.entry(id: entry.id)?.state == .rolledBack)
        #expect(cluster.events.contains { $0["reason"]?.stringValue == "TrimtabRolledBack" && $0["type"]?.stringValue == "Warning" })
        await cluster.stop()
    }

    @Test func aVariableThatWasAbsentIsRemovedOnRollback() async throws {
        let cluster = try await ClusterFixture.start()
        let executor = cluster.executor()
        // The plan was made from a value of 0 for a variable the pod template does not set: no match.
        let outcomes = try await executor.execute(onePlan(.env(name: "NEW_KNOB", container: nil), from: 0, to: 5), assessment: assessment(),
                                                  mode: .enforce, time: 1_000_000)
        #expect(outcomes.map(\.result) == [.conflict])
        #expect(cluster.value(.env(name: "NEW_KNOB", container: nil)) == nil)
        // A journaled change from nothing is restored to nothing.
        var entry = JournalEntry(id: "cabsent01", actionID: "x", target: ClusterFixture.target,
                                 workload: WorkloadRef(kind: "Deployment", namespace: "shop", name: "api"), action: "test",
                                 knob: .env(name: "NEW_KNOB", container: nil), before: nil, after: "5", reason: "r", evidence: [],
                                 baseline: .of(nil, trigger: ""), state: .applied, createdAt: 1, verifyAfterSeconds: 1, rollbackIfScoreDropsBy: 1)
        entry.appliedAt = 1
        _ = try await cluster.client.patch(.deployments, namespace: "shop", name: "api", .strategicMerge,
                                           body: ["spec": ["template": ["spec": ["containers": [["name": "app", "env": [["name": "NEW_KNOB", "value": "5"]]]]]]]],
                                           dryRun: false)
        try cluster.journal.save(entry)
        _ = try await executor.rollback(entry, reason: "test", time: 2, force: false)
        #expect(cluster.value(.env(name: "NEW_KNOB", container: nil)) == nil)
        #expect(cluster.value(.env(name: "DB_POOL_SIZE", container: nil)) == "20")
        await cluster.stop()
    }

    @Test(arguments: knobs)
    func aConcurrentChangeToTheValueIsNeverOverwritten(knob: Knob, from: Double, to: Double) async throws {
        let cluster = try await Self.start(for: knob)
        let other = KnobValue.text(from + 1)
        let path: String
        switch knob {
        case .replicas: path = "/deployments/api/scale"
        case .configMap: path = "/configmaps/api-config"
        case .autoscalerMaxReplicas, .autoscalerTargetUtilization, .autoscalerScaleDownWindow:
            path = knob.scaledObject.map { "/scaledobjects/\($0)" } ?? "/horizontalpodautoscalers/api-hpa"
        default: path = "/deployments/api"
        }
        cluster.sandbox.afterNextRequest(method: "GET", pathContaining: path) { store in
            Self.change(knob, to: other, in: store)
        }
        let outcomes = try await cluster.executor().execute(onePlan(knob, from: from, to: to), assessment: assessment(), mode: .enforce, time: 1_000_000)
        #expect(outcomes.map(\.result) == [.conflict], "\(outcomes)")
        #expect(cluster.value(knob) == other, "Trimtab overwrote another writer's value")
        #expect(cluster.sandbox.requests.contains { $0.status == 409 })
        #expect(try cluster.journal.entries().map(\.state) == [.superseded])
        await cluster.stop()
    }

    @Test func aConcurrentChangeElsewhereIsReadAgainAndTheDecisionStands() async throws {
        let cluster = try await ClusterFixture.start()
        cluster.sandbox.afterNextRequest(method: "GET", pathContaining: "/deployments/api/scale") { store in
            _ = try? store.mutate(apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "api") {
                $0[path: ["metadata", "labels", "touched-by"]] = "someone-else"
            }
        }
        let outcomes = try await cluster.executor().execute(onePlan(.replicas, from: 4, to: 7), assessment: assessment(), mode: .enforce, time: 1_000_000)
        #expect(outcomes.map(\.result) == [.applied])
        #expect(cluster.value(.replicas) == "7")
        #expect(cluster.deployment?[path: ["metadata", "labels", "touched-by"]] == "someone-else")
        #expect(cluster.sandbox.requests.filter { $0.method == "PUT" }.map(\.status) == [409, 200])
        await cluster.stop()
    }

    @Test func aStalePlanIsNotWritten() async throws {
        let cluster = try await ClusterFixture.start(objects: ClusterFixture.seed(replicas: 5))
        let outcomes = try await cluster.executor().execute(onePlan(.replicas, from: 4, to: 7), assessment: assessment(), mode: .enforce, time: 1_000_000)
        #expect(outcomes.map(\.result) == [.conflict])
        #expect(outcomes[0].detail.contains("holds 5 for replicas, not the 4 the plan was made from"))
        #expect(cluster.value(.replicas) == "5")
        #expect(try cluster.journal.entries().isEmpty)
        await cluster.stop()
    }

    /// Changes a knob's value in the store, as another writer would.
    static func change(_ knob: Knob, to value: String, in store: ObjectStore) {
        switch knob {
        case .replicas:
            _ = try? store.mutate(apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "api") {
                $0[path: ["spec", "replicas"]] = .number(Double(value) ?? 0)
            }
        case .configMap(let name, let key, _):
            _ = try? store.mutate(apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: name) { $0[path: ["data", key]] = .string(value) }
        case .env(let name, _):
            _ = try? store.mutate(apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "api") { object in
                var containers = object[path: ["spec", "template", "spec", "containers"]]?.arrayValue ?? []
                var env = containers[0]["env"]?.arrayValue ?? []
                if let index = env.firstIndex(where: { $0["name"]?.stringValue == name }) { env[index]["value"] = .string(value) }
                containers[0]["env"] = .array(env)
                object[path: ["spec", "template", "spec", "containers"]] = .array(containers)
            }
        case .autoscalerMaxReplicas(_, let owner?):
            _ = try? store.mutate(apiVersion: "keda.sh/v1alpha1", kind: "ScaledObject", namespace: "shop", name: owner) {
                $0[path: ["spec", "maxReplicaCount"]] = .number(Double(value) ?? 0)
            }
        case .autoscalerTargetUtilization(_, let owner?):
            _ = try? store.mutate(apiVersion: "keda.sh/v1alpha1", kind: "ScaledObject", namespace: "shop", name: owner) {
                $0[path: ["spec", "triggers"]] = [["type": "cpu", "metricType": "Utilization", "metadata": ["value": .string(value)]]]
            }
        case .autoscalerScaleDownWindow(_, let owner?):
            _ = try? store.mutate(apiVersion: "keda.sh/v1alpha1", kind: "ScaledObject", namespace: "shop", name: owner) {
                $0[path: ["spec", "advanced"]] = ["horizontalPodAutoscalerConfig": ["behavior": ["scaleDown": ["stabilizationWindowSeconds": .number(Double(value) ?? 0)]]]]
            }
        case .autoscalerMaxReplicas(let name, nil):
            _ = try? store.mutate(apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", namespace: "shop", name: name) {
                $0[path: ["spec", "maxReplicas"]] = .number(Double(value) ?? 0)
            }
        case .autoscalerTargetUtilization(let name, nil):
            _ = try? store.mutate(apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", namespace: "shop", name: name) {
                $0[path: ["spec", "metrics"]] = [["type": "Resource", "resource": ["name": "cpu", "target": ["type": "Utilization", "averageUtilization": .number(Double(value) ?? 0)]]]]
            }
        case .autoscalerScaleDownWindow(let name, nil):
            _ = try? store.mutate(apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", namespace: "shop", name: name) {
                $0[path: ["spec", "behavior"]] = ["scaleDown": ["stabilizationWindowSeconds": .number(Double(value) ?? 0)]]
            }
        case .http, .jolokia, .podHTTP, .pgbouncer:
            break
        }
    }
}

/// The admin-endpoint knob through the executor: the Event and annotation still go to the workload.
@Suite("Actuators: an application's admin endpoint, through the executor")
struct EndpointKnobTests {
    @Test func dryRunApplyConflictAndRollback() async throws {
        let cluster = try await ClusterFixture.start()
        let endpoint = AdminEndpoint("20")
        let server = try await ScriptedHTTPServer { endpoint.answer($0) }
        let knob = Knob.http(url: server.url + "/admin/pool-size")
        let executor = cluster.executor()

        let dry = try await executor.execute(onePlan(knob, from: 20, to: 28, mode: .dryRun), assessment: assessment(), mode: .dryRun, time: 1_000_000)
        #expect(dry.map(\.result) == [.wouldApply])
        #expect(dry[0].detail.contains("no server-side dry-run"))
        #expect(endpoint.current == "20")
        #expect(!server.requests.contains { $0.method == "PUT" })

        let applied = try await executor.execute(onePlan(knob, from: 20, to: 28), assessment: assessment(), mode: .enforce, time: 1_000_000)
        #expect(applied.map(\.result) == [.applied])
        #expect(endpoint.current == "28")
        #expect(cluster.events.contains { $0["reason"]?.stringValue == "TrimtabChanged" })
        let entry = try #require(try cluster.journal.entries().first)

        // Someone else set it meanwhile: a rollback refuses to overwrite that.
        endpoint.set("30")
        await #expect(throws: Executor.RollbackError.self) { _ = try await executor.rollback(entry, reason: "by hand", time: 1_000_100, force: false) }
        #expect(endpoint.current == "30")
        endpoint.set("28")
        _ = try await executor.rollback(entry, reason: "by hand", time: 1_000_100, force: false)
        #expect(endpoint.current == "20")
        await server.stop()
        await cluster.stop()
    }
}

@Suite("Actuators: a StatefulSet's replicas")
struct StatefulSetTests {
    @Test func scalesThroughItsScaleSubresourceAndRollsBack() async throws {
        let labels: JSONValue = ["app": "db"]
        let statefulSet: JSONValue = [
            "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": ["name": "db", "namespace": "shop"],
            "spec": ["replicas": 3, "serviceName": "db", "selector": ["matchLabels": labels],
                     "template": ["metadata": ["labels": labels], "spec": ["containers": [["name": "db", "image": "db:1"]]]]],
        ]
        let policy = Policy(name: "sts", targets: TargetSelector(kind: "StatefulSet", groupBy: ["namespace", "statefulset"]), indicators: [], checks: [])
        let cluster = try await ClusterFixture.start(objects: [statefulSet], policy: policy)
        let target = TargetID(labelNames: ["namespace", "statefulset"], labelValues: ["shop", "db"])
        let action = PlannedAction(id: "shop/db/replicas@1", target: target, action: "scale", knob: .replicas, current: 3, proposed: 5,
                                   reason: "test", trigger: "", evidence: [], rules: [], decision: .proposed, benefit: 1)
        let executor = cluster.executor()
        let outcomes = try await executor.execute(Plan(time: 1, mode: .enforce, actions: [action]), assessment: assessment(), mode: .enforce, time: 1)
        #expect(outcomes.map(\.result) == [.applied], "\(outcomes)")
        func replicas() -> Int? { cluster.sandbox.object(apiVersion: "apps/v1", kind: "StatefulSet", namespace: "shop", name: "db")?[path: ["spec", "replicas"]]?.intValue }
        #expect(replicas() == 5)
        #expect(cluster.sandbox.requests.contains { $0.method == "PUT" && $0.path == "/apis/apps/v1/namespaces/shop/statefulsets/db/scale" })
        let entry = try #require(try cluster.journal.entries().first)
        #expect(entry.workload == WorkloadRef(kind: "StatefulSet", namespace: "shop", name: "db"))
        _ = try await executor.rollback(entry, reason: "test", time: 2, force: false)
        #expect(replicas() == 3)
        await cluster.stop()
    }
}

@Suite("Actuators: an Argo Rollout")
struct RolloutActuatorTests {
    static let target = TargetID(labelNames: ["namespace", "rollout"], labelValues: ["shop", "web"])

    static func rollout() -> JSONValue {
        let labels: JSONValue = ["app": "web"]
        return ["apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": ["name": "web", "namespace": "shop"],
                "spec": ["replicas": 3, "selector": ["matchLabels": labels],
                         "strategy": ["canary": ["steps": [["setWeight": 20], ["pause": [:]], ["setWeight": 60]]]],
                         "template": ["metadata": ["labels": labels],
                                      "spec": ["containers": [["name": "sidecar", "image": "proxy:1"],
                                                              ["name": "web", "image": "web:1",
                                                               "env": [["name": "LOG_LEVEL", "value": "info"], ["name": "DB_POOL_SIZE", "value": "20"]]]]]]],
                "status": ["stableRS": "6b9c7f", "currentPodHash": "6b9c7f", "phase": "Healthy"]]
    }

    func plan(_ knob: Knob, from: Double, to: Double) -> Plan {
        Plan(time: 1, mode: .enforce, actions: [PlannedAction(id: "shop/web/\(knob)@1", target: Self.target, action: "test", knob: knob, current: from,
                                                              proposed: to, reason: "test", trigger: "", evidence: [], rules: [], decision: .proposed, benefit: 1)])
    }

    @Test func replicasThroughItsScaleSubresourceAndEnvByPositionWithoutAStrategicMerge() async throws {
        let policy = Policy(name: "ro", targets: TargetSelector(kind: "Rollout", groupBy: ["namespace", "rollout"]), indicators: [], checks: [])
        let cluster = try await ClusterFixture.start(objects: [Self.rollout()], policy: policy)
        func object() -> JSONValue? { cluster.sandbox.object(apiVersion: "argoproj.io/v1alpha1", kind: "Rollout", namespace: "shop", name: "web") }
        func env(_ name: String) -> String? {
            let containers = object()?[path: ["spec", "template", "spec", "containers"]]?.arrayValue ?? []
            return containers.first { $0["name"] == "web" }?["env"]?.arrayValue?.first { $0["name"]?.stringValue == name }?["value"]?.stringValue
        }
        let executor = cluster.executor()
        var outcomes = try await executor.execute(plan(.replicas, from: 3, to: 5), assessment: assessment(), mode: .enforce, time: 1)
        #expect(outcomes.map(\.result) == [.applied], "\(outcomes)")
        #expect(object()?[path: ["spec", "replicas"]] == 5)
        #expect(cluster.sandbox.requests.contains { $0.method == "PUT" && $0.path == "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/web/scale" })

        outcomes = try await executor.execute(plan(.env(name: "DB_POOL_SIZE", container: "web"), from: 20, to: 28), assessment: assessment(), mode: .enforce, time: 2)
        #expect(outcomes.map(\.result) == [.applied], "\(outcomes)")
        #expect(env("DB_POOL_SIZE") == "28" && env("LOG_LEVEL") == "info")
        #expect(object()?[path: ["spec", "template", "spec", "containers"]]?.arrayValue?.count == 2, "the sidecar is kept")
        // A change from nothing is rolled back by removing the variable (a JSON patch `remove` at its position).
        _ = try cluster.sandbox.store.mutate(apiVersion: "argoproj.io/v1alpha1", kind: "Rollout", namespace: "shop", name: "web") { object in
            var containers = object[path: ["spec", "template", "spec", "containers"]]?.arrayValue ?? []
            containers[1]["env"] = .array((containers[1]["env"]?.arrayValue ?? []) + [["name": "NEW_KNOB", "value": "5"]])
            object[path: ["spec", "template", "spec", "containers"]] = .array(containers)
        }
        var absent = JournalEntry(id: "cabsentro", actionID: "x", target: Self.target, workload: WorkloadRef(kind: "Rollout", namespace: "shop", name: "web"),
                                  action: "test", knob: .env(name: "NEW_KNOB", container: "web"), before: nil, after: "5", reason: "r", evidence: [],
                                  baseline: .of(nil, trigger: ""), state: .applied, createdAt: 3, verifyAfterSeconds: 1, rollbackIfScoreDropsBy: 1)
        absent.appliedAt = 3
        try cluster.journal.save(absent)
        _ = try await executor.rollback(absent, reason: "test", time: 4, force: false)
        #expect(env("NEW_KNOB") == nil && env("DB_POOL_SIZE") == "28" && env("LOG_LEVEL") == "info")
        // No strategic merge patch reached the custom resource: every write was a merge or JSON patch, or the scale PUT.
        let patches = cluster.sandbox.requests.filter { $0.method == "PATCH" && $0.path.contains("/rollouts/") }
        #expect(!patches.isEmpty && patches.allSatisfy { ($0.status ?? 0) < 300 }, "\(patches.map { "\($0.path) \($0.status ?? 0)" })")

        let entries = try cluster.journal.entries().filter { $0.state == .applied }
        #expect(entries.count == 2)
        for entry in entries.sorted(by: { $0.createdAt > $1.createdAt }) {
            _ = try await executor.rollback(entry, reason: "test", time: 10, force: false)
        }
        #expect(object()?[path: ["spec", "replicas"]] == 3 && env("DB_POOL_SIZE") == "20" && env("LOG_LEVEL") == "info")
        let events = cluster.sandbox.store.objects(apiVersion: "v1", kind: "Event", namespace: "shop")
        #expect(events.contains { $0[path: ["involvedObject", "apiVersion"]] == "argoproj.io/v1alpha1" && $0[path: ["involvedObject", "kind"]] == "Rollout" })
        await cluster.stop()
    }
}
