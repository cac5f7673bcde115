import Testing
import TrimtabKubeSandbox

@Suite("PATCH and the scale subresource")
struct PatchAndScaleTests {
    @Test("merge patch adds an annotation; metadata changes leave generation alone")
    func mergePatch() async throws {
        try await withSandbox { _, client in
            let before = try await client.get(Paths.checkout).json
            let reply = try await client.patch(Paths.checkout, ["metadata": ["annotations": ["trimtab.io/owner": "me"]]])
            #expect(reply.status == 200)
            #expect(reply.json[path: ["metadata", "annotations", "trimtab.io/owner"]] == "me")
            #expect(reply.json[path: ["metadata", "annotations", "trimtab.io/demo"]] == "true")
            #expect(reply.json[path: ["metadata", "generation"]] == 1)
            #expect(reply.json[path: ["metadata", "resourceVersion"]] != before[path: ["metadata", "resourceVersion"]])
            // The same patch again changes nothing, so nothing is written.
            let again = try await client.patch(Paths.checkout, ["metadata": ["annotations": ["trimtab.io/owner": "me"]]])
            #expect(again.json[path: ["metadata", "resourceVersion"]] == reply.json[path: ["metadata", "resourceVersion"]])
        }
    }

    @Test("strategic merge patch changes one env var by name and adds one, leaving the others")
    func strategicEnv() async throws {
        try await withSandbox { _, client in
            let patch: JSONValue = ["spec": ["template": ["spec": [
                "$setElementOrder/containers": [["name": "app"]],
                "containers": [["name": "app", "env": [["name": "DB_POOL_SIZE", "value": "30"], ["name": "LOG_LEVEL", "value": "debug"]]]],
            ]]]]
            let reply = try await client.patch(Paths.checkout, patch, type: "application/strategic-merge-patch+json")
            #expect(reply.status == 200)
            let container = try #require(reply.json[path: ["spec", "template", "spec", "containers"]]?[0])
            #expect(container["image"] == "shop/checkout:1.0")
            #expect(container["env"] == [["name": "DB_POOL_SIZE", "value": "30"], ["name": "CACHE_TTL_SECONDS", "value": "60"],
                                         ["name": "LOG_LEVEL", "value": "debug"]])
            #expect(container["ports"]?.arrayValue?.count == 1)
            #expect(reply.json[path: ["metadata", "generation"]] == 2)
            #expect(!reply.text.contains("$setElementOrder"))

            let removal: JSONValue = ["spec": ["template": ["spec": ["containers": [
                ["name": "app", "env": [["name": "LOG_LEVEL", "$patch": "delete"]]]]]]]]
            let removed = try await client.patch(Paths.checkout, removal, type: "application/strategic-merge-patch+json; charset=utf-8")
            #expect(removed.json[path: ["spec", "template", "spec", "containers"]]?[0]?["env"]?.arrayValue?.count == 2)
        }
    }

    @Test("JSON patch replaces, and a failed test operation is 422")
    func jsonPatch() async throws {
        try await withSandbox { _, client in
            let reply = try await client.patch(Paths.checkout, [["op": "test", "path": "/spec/replicas", "value": 4],
                                                                ["op": "replace", "path": "/spec/replicas", "value": 7],
                                                                ["op": "add", "path": "/metadata/annotations/x", "value": "y"]],
                                               type: "application/json-patch+json")
            #expect(reply.status == 200)
            #expect(reply.json[path: ["spec", "replicas"]] == 7)
            #expect(reply.json[path: ["status", "readyReplicas"]] == 7)
            let failed = try await client.patch(Paths.checkout, [["op": "test", "path": "/spec/replicas", "value": 4]],
                                                type: "application/json-patch+json")
            #expect(failed.status == 422)
        }
    }

    @Test("a patch carrying a stale resourceVersion is a Conflict", arguments: [
        "application/merge-patch+json", "application/strategic-merge-patch+json",
    ])
    func patchPrecondition(type: String) async throws {
        try await withSandbox { _, client in
            let version = try await client.get(Paths.checkout).json[path: ["metadata", "resourceVersion"]]!
            let fresh = try await client.patch(Paths.checkout, ["metadata": ["resourceVersion": version], "spec": ["replicas": 5]], type: type)
            #expect(fresh.status == 200)
            let stale = try await client.patch(Paths.checkout, ["metadata": ["resourceVersion": version], "spec": ["replicas": 6]], type: type)
            #expect(stale.status == 409)
            #expect(stale.json["reason"] == "Conflict")
            #expect(try await client.get(Paths.checkout).json[path: ["spec", "replicas"]] == 5)
        }
    }

    @Test("PATCH with another Content-Type is 415", arguments: ["application/json", "application/apply-patch+yaml", "text/plain"])
    func unsupportedMediaType(type: String) async throws {
        try await withSandbox { _, client in
            let reply = try await client.patch(Paths.checkout, ["spec": ["replicas": 2]], type: type)
            #expect(reply.status == 415)
            #expect(reply.json["reason"] == "UnsupportedMediaType")
            #expect(reply.json["code"] == 415)
        }
    }

    @Test("the scale subresource reads and writes the parent's replicas")
    func scale() async throws {
        try await withSandbox { _, client in
            let deployment = try await client.get(Paths.checkout).json
            let scale = try await client.get(Paths.checkoutScale).json
            #expect(scale["kind"] == "Scale")
            #expect(scale["apiVersion"] == "autoscaling/v1")
            #expect(scale[path: ["spec", "replicas"]] == 4)
            #expect(scale[path: ["status", "replicas"]] == 4)
            #expect(scale[path: ["status", "selector"]] == "app=checkout")
            for field in ["name", "namespace", "uid", "resourceVersion"] {
                #expect(scale[path: ["metadata", field]] == deployment[path: ["metadata", field]])
            }

            var change = scale
            change[path: ["spec", "replicas"]] = 6
            let put = try await client.send("PUT", Paths.checkoutScale, json: change)
            #expect(put.status == 200)
            #expect(put.json[path: ["spec", "replicas"]] == 6)
            let scaled = try await client.get(Paths.checkout).json
            #expect(scaled[path: ["spec", "replicas"]] == 6)
            #expect(scaled[path: ["status", "readyReplicas"]] == 6)
            #expect(scaled[path: ["metadata", "generation"]] == 2)
            #expect(scaled[path: ["metadata", "resourceVersion"]] == put.json[path: ["metadata", "resourceVersion"]])

            // The old Scale again: stale, so a Conflict worded on the parent.
            let stale = try await client.send("PUT", Paths.checkoutScale, json: change)
            #expect(stale.status == 409)
            #expect(stale.json["message"] == #"Operation cannot be fulfilled on deployments.apps "checkout": the object has been modified; please apply your changes to the latest version and try again"#)

            // kubectl scale's merge patch.
            let patched = try await client.patch(Paths.checkoutScale, ["spec": ["replicas": 3]])
            #expect(patched.json[path: ["spec", "replicas"]] == 3)
            #expect(try await client.get(Paths.checkout).json[path: ["spec", "replicas"]] == 3)

            let invalid = try await client.patch(Paths.checkoutScale, ["spec": ["replicas": -1]])
            #expect(invalid.status == 422)
            #expect(invalid.json["message"] == #"Scale.autoscaling "checkout" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"#)
        }
    }

    @Test("statefulsets have a scale subresource too")
    func statefulSetScale() async throws {
        try await withSandbox { sandbox, client in
            try sandbox.apply(["apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": ["name": "db", "namespace": "shop"],
                               "spec": ["replicas": 2, "selector": ["matchLabels": ["app": "db"]]]])
            let path = "/apis/apps/v1/namespaces/shop/statefulsets/db/scale"
            #expect(try await client.patch(path, ["spec": ["replicas": 3]]).status == 200)
            let db = sandbox.object(apiVersion: "apps/v1", kind: "StatefulSet", namespace: "shop", name: "db")
            #expect(db?[path: ["spec", "replicas"]] == 3)
            #expect(db?[path: ["status", "readyReplicas"]] == 3)
        }
    }
}

@Suite("Custom resources: KEDA's ScaledObject and Argo's Rollout")
struct CustomResourceTests {
    static let scaledObject: JSONValue = [
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": ["name": "api", "namespace": "shop"],
        "spec": ["scaleTargetRef": ["name": "checkout"], "maxReplicaCount": 10,
                 "triggers": [["type": "cpu", "metricType": "Utilization", "metadata": ["value": "60"]]]],
    ]
    static let path = "/apis/keda.sh/v1alpha1/namespaces/shop/scaledobjects"

    @Test("a custom resource takes merge and JSON patches, never a strategic merge; its schema is checked")
    func patchesAndValidation() async throws {
        try await withSandbox { _, client in
            #expect(try await client.send("POST", Self.path, json: Self.scaledObject).status == 201)
            let strategic = try await client.patch(Self.path + "/api", ["spec": ["maxReplicaCount": 12]], type: "application/strategic-merge-patch+json")
            #expect(strategic.status == 415)
            #expect(strategic.json["message"]?.stringValue?.contains("application/apply-patch+yaml") == true)
            #expect(try await client.patch(Self.path + "/api", ["spec": ["maxReplicaCount": 12]]).json[path: ["spec", "maxReplicaCount"]] == 12)
            // A trigger's settings are strings, as KEDA's CRD schema has them.
            let number = try await client.patch(Self.path + "/api", [["op": "replace", "path": "/spec/triggers/0/metadata/value", "value": 70]],
                                                type: "application/json-patch+json")
            #expect(number.status == 422)
            #expect(number.json["message"]?.stringValue?.contains("spec.triggers[0].metadata.value") == true)
            let inverted = try await client.patch(Self.path + "/api", ["spec": ["minReplicaCount": 20]])
            #expect(inverted.status == 422)
            var noTriggers = Self.scaledObject
            noTriggers[path: ["metadata", "name"]] = "bare"
            noTriggers[path: ["spec", "triggers"]] = .array([])
            #expect(try await client.send("POST", Self.path, json: noTriggers).status == 422)
        }
    }
}
