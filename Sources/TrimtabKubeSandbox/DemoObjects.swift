import Foundation
import TrimtabCycle

extension KubeSandbox {
    /// One demo workload, mirroring `DemoScenario.profiles` in TrimtabSandbox (the replicas its
    /// `kube_deployment_spec_replicas` reports), so the Prometheus demo and this cluster agree.
    struct DemoWorkload {
        var name: String
        var replicas: Int
    }

    static let demoWorkloads = [
        DemoWorkload(name: "checkout", replicas: 4), DemoWorkload(name: "cart", replicas: 2),
        DemoWorkload(name: "catalog", replicas: 6), DemoWorkload(name: "payments", replicas: 3),
        DemoWorkload(name: "orders", replicas: 2), DemoWorkload(name: "search", replicas: 4),
        DemoWorkload(name: "inventory", replicas: 4),
    ]
    /// The demo namespace, as in `DemoScenario.namespace`.
    public static let demoNamespace = "shop"
    /// The pool size the demo's `db_pool_connections_max` reports (`RawMetrics.poolMax`).
    static let demoPoolSize = "20"
    /// The cache TTL the demo's `cache_ttl_seconds` reports (`WorkloadProfile`'s default).
    static let demoCacheTTLSeconds = "60"

    /// The demo cluster's objects in namespace `shop`: a Deployment per demo service (label and
    /// selector `app: NAME`, one container `app` with env `DB_POOL_SIZE` and `CACHE_TTL_SECONDS`),
    /// the ConfigMap `shop-config`, an HPA on `inventory` (2 to 10 replicas) and two events.
    public static func demoObjects() -> [JSONValue] {
        let namespace = JSONValue.string(demoNamespace)
        var objects: [JSONValue] = demoWorkloads.map { workload in
            let labels: JSONValue = ["app": .string(workload.name)]
            let container: JSONValue = [
                "name": "app", "image": .string("shop/\(workload.name):1.0"),
                "ports": [["containerPort": 8080, "name": "http", "protocol": "TCP"]],
                "env": [["name": "DB_POOL_SIZE", "value": .string(demoPoolSize)],
                        ["name": "CACHE_TTL_SECONDS", "value": .string(demoCacheTTLSeconds)]],
                "resources": ["requests": ["cpu": "2", "memory": "1Gi"], "limits": ["memory": "2Gi"]],
            ]
            return [
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": ["name": .string(workload.name), "namespace": namespace, "labels": labels,
                             "annotations": ["trimtab.io/demo": "true"]],
                "spec": ["replicas": .number(Double(workload.replicas)), "selector": ["matchLabels": labels],
                         "template": ["metadata": ["labels": labels], "spec": ["containers": [container]]]],
            ]
        }
        objects.append([
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": ["name": "shop-config", "namespace": namespace, "labels": ["app.kubernetes.io/part-of": "shop"]],
            "data": ["LOG_LEVEL": "info", "CACHE_TTL_SECONDS": .string(demoCacheTTLSeconds)],
        ])
        objects.append([
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": ["name": "inventory", "namespace": namespace],
            "spec": ["scaleTargetRef": ["apiVersion": "apps/v1", "kind": "Deployment", "name": "inventory"],
                     "minReplicas": 2, "maxReplicas": 10,
                     "metrics": [["type": "Resource",
                                  "resource": ["name": "cpu", "target": ["type": "Utilization", "averageUtilization": 70]]]]],
            "status": ["currentReplicas": 4, "desiredReplicas": 4],
        ])
        let now = JSONValue.string(Date(timeIntervalSince1970: SystemClock().now()).formatted(.iso8601))
        for (name, reason, message) in [("checkout", "ScalingReplicaSet", "Scaled up replica set checkout-7d9f8 to 4"),
                                        ("inventory", "SuccessfulRescale", "New size: 4; reason: cpu resource utilization above target")] {
            let kind = reason == "SuccessfulRescale" ? "HorizontalPodAutoscaler" : "Deployment"
            objects.append([
                "apiVersion": "v1", "kind": "Event",
                "metadata": ["name": .string("\(name).demo"), "namespace": namespace],
                "involvedObject": ["apiVersion": kind == "Deployment" ? "apps/v1" : "autoscaling/v2", "kind": .string(kind),
                                   "name": .string(name), "namespace": namespace],
                "reason": .string(reason), "message": .string(message), "type": "Normal", "count": 1,
                "firstTimestamp": now, "lastTimestamp": now,
                "source": ["component": kind == "Deployment" ? "deployment-controller" : "horizontal-pod-autoscaler"],
            ])
        }
        return objects
    }
}
