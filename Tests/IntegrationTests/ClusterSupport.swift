import Foundation
import Testing
import TrimtabCycle
@testable import TrimtabCore
import TrimtabKube
import TrimtabKubeSandbox

/// A sandbox API server with one Deployment `shop/api` (4 replicas; container `app` with env
/// DB_POOL_SIZE=20 and CACHE_TTL_SECONDS=60), a ConfigMap `api-config` (DB_POOL_SIZE=20), an HPA
/// `api-hpa` on it (maxReplicas 4), a journal in
/// a temporary directory, and a client and executor on them.
struct ClusterFixture {
    static let target = TargetID(labelNames: ["namespace", "deployment"], labelValues: ["shop", "api"])
    static let operatorToken = "op-token-4f1c9a7e"
    static let readOnlyToken = "ro-token-0b8d2e61"

    let sandbox: KubeSandbox
    let client: KubeClient
    let http: HTTPEndpointClient
    let journalDirectory: String
    var journal: FileJournal { FileJournal(directory: journalDirectory) }
    let policy: Policy

    static func seed(replicas: Int = 4) -> [JSONValue] {
        let labels: JSONValue = ["app": "api"]
        return [
            ["apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": ["name": "api", "namespace": "shop", "labels": labels],
             "spec": ["replicas": .number(Double(replicas)), "selector": ["matchLabels": labels],
                      "template": ["metadata": ["labels": labels],
                                   "spec": ["containers": [["name": "app", "image": "shop/api:1",
                                                            "env": [["name": "DB_POOL_SIZE", "value": "20"],
                                                                    ["name": "CACHE_TTL_SECONDS", "value": "60"]]]]]]]],
            ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "api-config", "namespace": "shop"],
             "data": ["DB_POOL_SIZE": "20", "OTHER": "kept"]],
            ["apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": ["name": "api-hpa", "namespace": "shop"],
             "spec": ["scaleTargetRef": ["apiVersion": "apps/v1", "kind": "Deployment", "name": "api"], "minReplicas": 2, "maxReplicas": 4,
                      // A memory metric first, so the CPU target is not at index 0.
                      "metrics": [["type": "Resource", "resource": ["name": "memory", "target": ["type": "Utilization", "averageUtilization": 80]]],
                                  ["type": "Resource", "resource": ["name": "cpu", "target": ["type": "Utilization", "averageUtilization": 70]]]]]],
        ]
    }

    /// Starts it; `grants` defaults to an operator token that may do anything and a read-only one.
    static func start(objects: [JSONValue] = seed(), token: String = operatorToken,
                      grants: [String: Grant] = [operatorToken: .admin(user: "system:serviceaccount:trimtab:trimtab"),
                                                 readOnlyToken: .viewer(user: "system:serviceaccount:trimtab:trimtab")],
                      policy: Policy = Policy(name: "test", indicators: [], checks: []),
                      httpTimeoutSeconds: Double = 5) async throws -> ClusterFixture {
        let sandbox = try await KubeSandbox.start(configuration: .init(grants: grants, objects: objects))
        let client = try KubeClient(KubeConfiguration(server: sandbox.url, token: token, timeoutSeconds: 5), maxRetries: 3, maxRetryAfterSeconds: 2)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trimtab-journal-\(UUID().uuidString)").path
        return ClusterFixture(sandbox: sandbox, client: client, http: HTTPEndpointClient(timeoutSeconds: httpTimeoutSeconds),
                              journalDirectory: directory, policy: policy)
    }

    /// What the plan reads for `knob` of `shop/api`: the cluster's facts for a policy whose pool rule
    /// has that knob and no size indicator of its own.
    func knobState(_ knob: Knob) async throws -> KnobState? {
        var policy = Policy(name: "test", indicators: [], checks: [])
        policy.actions = [ActionRule(bottleneck: "pool_utilization", action: .poolSize(PoolSizeAction(knob: knob, min: 2, max: 40)))]
        let facts = try await KubeCluster(client: client, http: http, journal: journal).facts(for: [Self.target], policy: policy)
        return facts.knobValues[Self.target]?[knob]
    }

    func executor(hooks: Executor.Hooks = Executor.Hooks(), client: KubeClient? = nil) -> Executor {
        Executor(cluster: KubeCluster(client: client ?? self.client, http: http, journal: journal), policy: policy, hooks: hooks)
    }

    func stop() async {
        await client.shutdown()
        await http.shutdown()
        await sandbox.stop()
        try? FileManager.default.removeItem(atPath: journalDirectory)
    }

    /// What the sandbox holds for a knob of `shop/api`, read from its store.
    func value(_ knob: Knob) -> String? {
        switch knob {
        case .replicas:
            return replicas(in: sandbox, of: "api").map(String.init)
        case .configMap(let name, let key, _):
            return sandbox.object(apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: name)?[path: ["data", key]]?.stringValue
        case .env(let name, _):
            return env(name, in: sandbox, of: "api")
        case .autoscalerMaxReplicas(_, let owner?):
            return scaledObject(owner)?[path: ["spec", "maxReplicaCount"]]?.intValue.map(String.init)
        case .autoscalerTargetUtilization(_, let owner?):
            let triggers = scaledObject(owner)?[path: ["spec", "triggers"]]?.arrayValue ?? []
            return triggers.first { $0["type"]?.stringValue == "cpu" }?[path: ["metadata", "value"]]?.stringValue
        case .autoscalerScaleDownWindow(_, let owner?):
            let path = ["spec", "advanced", "horizontalPodAutoscalerConfig", "behavior", "scaleDown", "stabilizationWindowSeconds"]
            return String(scaledObject(owner)?[path: path]?.intValue ?? 300)
        case .autoscalerMaxReplicas(let name, nil):
            return sandbox.object(apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", namespace: "shop", name: name)?[path: ["spec", "maxReplicas"]]?.intValue.map(String.init)
        case .autoscalerTargetUtilization(let name, nil):
            let metrics = sandbox.object(apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", namespace: "shop", name: name)?[path: ["spec", "metrics"]]?.arrayValue ?? []
            return metrics.first { $0[path: ["resource", "name"]]?.stringValue == "cpu" }?[path: ["resource", "target", "averageUtilization"]]?.intValue.map(String.init)
        case .autoscalerScaleDownWindow(let name, nil):
            let hpa = sandbox.object(apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", namespace: "shop", name: name)
            return String(hpa?[path: ["spec", "behavior", "scaleDown", "stabilizationWindowSeconds"]]?.intValue ?? 300)
        case .http, .jolokia, .podHTTP, .pgbouncer:
            return nil
        }
    }

    func scaledObject(_ name: String) -> JSONValue? {
        sandbox.object(apiVersion: "keda.sh/v1alpha1", kind: "ScaledObject", namespace: "shop", name: name)
    }

    /// A KEDA ScaledObject `api-so` on `shop/api` (maxReplicaCount 4; a memory trigger, then cpu at
    /// 70 %), owning the HPA `keda-hpa-api-so` it makes: to go with `seed()` in place of its `api-hpa`.
    static func kedaSeed() -> [JSONValue] {
        var objects = seed().filter { $0["kind"]?.stringValue != "HorizontalPodAutoscaler" }
        objects.append(["apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": ["name": "api-so", "namespace": "shop"],
                        "spec": ["scaleTargetRef": ["name": "api"], "minReplicaCount": 2, "maxReplicaCount": 4,
                                 "triggers": [["type": "memory", "metricType": "Utilization", "metadata": ["value": "80"]],
                                              ["type": "cpu", "metricType": "Utilization", "metadata": ["value": "70"]]]]])
        objects.append(["apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                        "metadata": ["name": "keda-hpa-api-so", "namespace": "shop", "labels": ["scaledobject.keda.sh/name": "api-so"],
                                     "ownerReferences": [["apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "name": "api-so",
                                                          "uid": "0d5e1c2a-keda", "controller": true, "blockOwnerDeletion": true]]],
                        "spec": ["scaleTargetRef": ["apiVersion": "apps/v1", "kind": "Deployment", "name": "api"], "minReplicas": 2, "maxReplicas": 4,
                                 "metrics": [["type": "Resource", "resource": ["name": "memory", "target": ["type": "Utilization", "averageUtilization": 80]]],
                                             ["type": "Resource", "resource": ["name": "cpu", "target": ["type": "Utilization", "averageUtilization": 70]]]]]])
        return objects
    }

    var deployment: JSONValue? { sandbox.object(apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "api") }

    /// The Events recorded on `shop/api`.
    var events: [JSONValue] {
        sandbox.store.objects(apiVersion: "v1", kind: "Event", namespace: "shop").filter { $0[path: ["involvedObject", "name"]]?.stringValue == "api" }
    }

    /// Writes to the cluster (not reads) that the sandbox answered with a success.
    var successfulWrites: [RecordedRequest] {
        sandbox.requests.filter { $0.method != "GET" && ($0.status ?? 0) < 300 && !$0.query.contains("dryRun") }
    }
}

/// The replica count of a Deployment in namespace `shop`, as the sandbox stores it.
func replicas(in sandbox: KubeSandbox, of deployment: String) -> Int? {
    sandbox.object(apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: deployment)?[path: ["spec", "replicas"]]?.intValue
}

/// An env var of the first container of a Deployment in namespace `shop`, as the sandbox stores it.
func env(_ name: String, in sandbox: KubeSandbox, of deployment: String) -> String? {
    let containers = sandbox.object(apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: deployment)?[path: ["spec", "template", "spec", "containers"]]?.arrayValue ?? []
    return containers.first?["env"]?.arrayValue?.first { $0["name"]?.stringValue == name }?["value"]?.stringValue
}

/// A plan of one proposed action on `shop/api`, as the planner would make it.
func onePlan(_ knob: Knob, from current: Double, to proposed: Double, time: Double = 1_000_000, mode: PolicyMode = .enforce) -> Plan {
    let action = PlannedAction(id: "\(ClusterFixture.target)/\(knob)@\(Int(time))", target: ClusterFixture.target, action: "test",
                               knob: knob, current: current, proposed: proposed, reason: "because the test says so",
                               trigger: "latency_p95", evidence: [], rules: [RuleResult("test", true, "ok")], decision: .proposed, benefit: 1)
    return Plan(time: time, mode: mode, actions: [action], considered: [], recommendations: [])
}

/// An assessment in which `shop/api` scores `score`.
func assessment(score: Double = 50, time: Double = 1_000_000) -> Assessment {
    Assessment(policy: "test", time: time, score: score, status: .degraded, unknownReason: nil,
               targets: [TargetAssessment(target: ClusterFixture.target, score: score, status: .degraded, coverage: 1, checks: [])],
               bottlenecks: [], failures: [:], notes: [])
}
