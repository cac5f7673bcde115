import Testing
import TrimtabKubeSandbox

@Suite("Object semantics: get, list, create, update, delete")
struct ObjectSemanticsTests {
    @Test("get and list return the seeded objects with kind, apiVersion and server-set metadata")
    func getAndList() async throws {
        try await withSandbox { sandbox, client in
            let reply = try await client.get(Paths.checkout)
            #expect(reply.status == 200)
            let deployment = reply.json
            #expect(deployment["kind"] == "Deployment")
            #expect(deployment["apiVersion"] == "apps/v1")
            #expect(deployment[path: ["spec", "replicas"]] == 4)
            #expect(deployment[path: ["status", "readyReplicas"]] == 4)
            #expect(deployment[path: ["status", "observedGeneration"]] == 1)
            #expect(deployment[path: ["metadata", "generation"]] == 1)
            #expect(deployment[path: ["metadata", "uid"]]?.stringValue?.count == 36)
            #expect(deployment[path: ["metadata", "creationTimestamp"]]?.stringValue?.hasSuffix("Z") == true)
            #expect(reply.text.contains(#""replicas":4"#))

            let list = try await client.get(Paths.deployments).json
            #expect(list["kind"] == "DeploymentList")
            #expect(list["apiVersion"] == "apps/v1")
            #expect(list[path: ["metadata", "resourceVersion"]] == .string(sandbox.store.resourceVersion))
            let items = list["items"]?.arrayValue ?? []
            #expect(items.compactMap { $0[path: ["metadata", "name"]]?.stringValue }
                    == ["cart", "catalog", "checkout", "inventory", "orders", "payments", "search"])
            #expect(items.allSatisfy { $0["kind"] == "Deployment" && $0["apiVersion"] == "apps/v1" })
            // The cluster-wide list and the core group.
            #expect(try await client.get("/apis/apps/v1/deployments").json["items"]?.arrayValue?.count == 7)
            #expect(try await client.get("/api/v1/configmaps").json["items"]?.arrayValue?.count == 1)
            #expect(try await client.get("/api/v1/namespaces/shop").json[path: ["status", "phase"]] == "Active")
        }
    }

    @Test("not found is worded as the API server words it", arguments: [
        (Paths.deployments + "/api", #"deployments.apps "api" not found"#, "apps"),
        (Paths.configMaps + "/nope", #"configmaps "nope" not found"#, nil),
        (Paths.autoscalers + "/nope", #"horizontalpodautoscalers.autoscaling "nope" not found"#, "autoscaling"),
        (Paths.leases + "/nope", #"leases.coordination.k8s.io "nope" not found"#, "coordination.k8s.io"),
        ("/apis/apps/v1/namespaces/shop/statefulsets/db/scale", #"statefulsets.apps "db" not found"#, "apps"),
    ] as [(String, String, String?)])
    func notFound(path: String, message: String, group: String?) async throws {
        try await withSandbox { _, client in
            let reply = try await client.get(path)
            #expect(reply.status == 404)
            let status = reply.json
            #expect(status["kind"] == "Status")
            #expect(status["apiVersion"] == "v1")
            #expect(status["status"] == "Failure")
            #expect(status["reason"] == "NotFound")
            #expect(status["code"] == 404)
            #expect(status["message"] == .string(message))
            #expect(status[path: ["details", "group"]] == group.map(JSONValue.string))
        }
    }

    @Test("create, AlreadyExists, update, Conflict on a stale resourceVersion, delete")
    func lifecycle() async throws {
        try await withSandbox { sandbox, client in
            let manifest: JSONValue = ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "limits"], "data": ["a": "1"]]
            let created = try await client.send("POST", Paths.configMaps, json: manifest)
            #expect(created.status == 201)
            let version = try #require(created.json[path: ["metadata", "resourceVersion"]]?.stringValue)
            #expect(version == sandbox.store.resourceVersion)
            #expect(created.json[path: ["metadata", "namespace"]] == "shop")

            let again = try await client.send("POST", Paths.configMaps, json: manifest)
            #expect(again.status == 409)
            #expect(again.json["reason"] == "AlreadyExists")
            #expect(again.json["message"] == #"configmaps "limits" already exists"#)

            var changed = created.json
            changed[path: ["data", "a"]] = "2"
            let updated = try await client.send("PUT", Paths.configMaps + "/limits", json: changed)
            #expect(updated.status == 200)
            #expect(updated.json[path: ["data", "a"]] == "2")
            let newVersion = try #require(updated.json[path: ["metadata", "resourceVersion"]]?.stringValue)
            #expect(Int(newVersion)! > Int(version)!)
            #expect(updated.json[path: ["metadata", "uid"]] == created.json[path: ["metadata", "uid"]])

            // The first body again: its resourceVersion is stale now.
            let stale = try await client.send("PUT", Paths.configMaps + "/limits", json: created.json)
            #expect(stale.status == 409)
            #expect(stale.json["reason"] == "Conflict")
            #expect(stale.json["message"] == #"Operation cannot be fulfilled on configmaps "limits": the object has been modified; please apply your changes to the latest version and try again"#)

            let deleted = try await client.send("DELETE", Paths.configMaps + "/limits")
            #expect(deleted.status == 200)
            #expect(deleted.json["status"] == "Success")
            #expect(try await client.get(Paths.configMaps + "/limits").status == 404)
            #expect(try await client.send("DELETE", Paths.configMaps + "/limits").status == 404)
        }
    }

    @Test("PUT conflicts on deployments too, and a spec change bumps generation")
    func deploymentUpdate() async throws {
        try await withSandbox { _, client in
            var deployment = try await client.get(Paths.checkout).json
            deployment[path: ["spec", "replicas"]] = 6
            let updated = try await client.send("PUT", Paths.checkout, json: deployment)
            #expect(updated.status == 200)
            #expect(updated.json[path: ["metadata", "generation"]] == 2)
            #expect(updated.json[path: ["status", "availableReplicas"]] == 6)
            #expect(updated.json[path: ["status", "observedGeneration"]] == 2)
            let stale = try await client.send("PUT", Paths.checkout, json: deployment)
            #expect(stale.status == 409)
            #expect(stale.json["message"] == #"Operation cannot be fulfilled on deployments.apps "checkout": the object has been modified; please apply your changes to the latest version and try again"#)
            #expect(stale.json[path: ["details", "kind"]] == "deployments")
        }
    }

    @Test("generateName, defaults, namespace checks and malformed bodies")
    func createEdges() async throws {
        try await withSandbox { sandbox, client in
            let generated = try await client.send("POST", Paths.deployments, json: [
                "metadata": ["generateName": "job-"], "spec": ["selector": ["matchLabels": ["a": "b"]]]])
            #expect(generated.status == 201)
            let name = try #require(generated.json[path: ["metadata", "name"]]?.stringValue)
            #expect(name.hasPrefix("job-") && name.count == 9)
            #expect(generated.json[path: ["spec", "replicas"]] == 1)
            #expect(generated.json[path: ["status", "readyReplicas"]] == 1)

            let elsewhere = try await client.send("POST", Paths.configMaps, json: ["metadata": ["name": "x", "namespace": "other"]])
            #expect(elsewhere.status == 400)
            #expect(elsewhere.json["message"] == "the namespace of the provided object does not match the namespace sent on the request")

            let before = sandbox.store.resourceVersion
            let malformed = try await client.send("POST", Paths.configMaps, text: #"{"metadata": {"name": "x"#)
            #expect(malformed.status == 400)
            #expect(malformed.json["reason"] == "BadRequest")
            #expect(sandbox.store.resourceVersion == before)

            // A namespace exists once something is in it.
            #expect(try await client.send("POST", "/api/v1/namespaces/fresh/configmaps", json: ["metadata": ["name": "x"]]).status == 201)
            #expect(try await client.get("/api/v1/namespaces/fresh").status == 200)
            #expect(try await client.send("DELETE", "/api/v1/namespaces/fresh").status == 200)
            #expect(try await client.get("/api/v1/namespaces/fresh/configmaps/x").status == 404)
        }
    }

    @Test("validation failures are 422 Invalid with causes", arguments: [
        (Paths.deployments, #"{"metadata":{"name":"w"},"spec":{"replicas":-1}}"#, "spec.replicas",
         #"Deployment.apps "w" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"#),
        (Paths.deployments, #"{"metadata":{"name":"w"},"spec":{"replicas":2.5}}"#, "spec.replicas",
         #"Deployment.apps "w" is invalid: spec.replicas: Invalid value: 2.5: must be an integer"#),
        ("/apis/apps/v1/namespaces/shop/statefulsets", #"{"metadata":{"name":"w"},"spec":{"replicas":"3"}}"#, "spec.replicas",
         #"StatefulSet.apps "w" is invalid: spec.replicas: Invalid value: "3": must be an integer"#),
        (Paths.configMaps, #"{"metadata":{"name":"w"},"data":{"n":3}}"#, "data[n]",
         #"ConfigMap "w" is invalid: data[n]: Invalid value: 3: must be a string"#),
        (Paths.autoscalers, #"{"metadata":{"name":"w"},"spec":{"scaleTargetRef":{"kind":"Deployment","name":"a"},"minReplicas":5,"maxReplicas":3}}"#,
         "spec.maxReplicas", #"HorizontalPodAutoscaler.autoscaling "w" is invalid: spec.maxReplicas: Invalid value: 3: must be greater than or equal to `minReplicas`"#),
        (Paths.autoscalers, #"{"metadata":{"name":"w"},"spec":{"scaleTargetRef":{"kind":"Deployment","name":"a"},"minReplicas":0,"maxReplicas":3}}"#,
         "spec.minReplicas", #"HorizontalPodAutoscaler.autoscaling "w" is invalid: spec.minReplicas: Invalid value: 0: must be greater than or equal to 1"#),
        (Paths.configMaps, #"{"metadata":{"name":"Bad_Name"}}"#, "metadata.name",
         #"ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain"#),
    ])
    func invalid(path: String, body: String, field: String, message: String) async throws {
        try await withSandbox { sandbox, client in
            let before = sandbox.store.resourceVersion
            let reply = try await client.send("POST", path, text: body)
            #expect(reply.status == 422)
            #expect(reply.json["reason"] == "Invalid")
            #expect(reply.json["message"]?.stringValue?.hasPrefix(message) == true, "\(reply.text)")
            let cause = reply.json[path: ["details", "causes"]]?[0]
            #expect(cause?["field"] == .string(field))
            #expect(cause?["reason"] == "FieldValueInvalid")
            #expect(sandbox.store.resourceVersion == before)
        }
    }

    @Test("dryRun=All checks everything and stores nothing")
    func dryRun() async throws {
        try await withSandbox { sandbox, client in
            let before = sandbox.store.resourceVersion
            let created = try await client.send("POST", Paths.configMaps + "?dryRun=All", json: ["metadata": ["name": "dry"], "data": ["a": "1"]])
            #expect(created.status == 201)
            #expect(created.json[path: ["data", "a"]] == "1")
            #expect(try await client.get(Paths.configMaps + "/dry").status == 404)

            let patched = try await client.patch(Paths.checkout + "?dryRun=All", ["spec": ["replicas": 9]])
            #expect(patched.status == 200)
            #expect(patched.json[path: ["spec", "replicas"]] == 9)
            #expect(sandbox.object(apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "checkout")?[path: ["spec", "replicas"]] == 4)

            let scaled = try await client.patch(Paths.checkoutScale + "?dryRun=All", ["spec": ["replicas": 9]])
            #expect(scaled.json[path: ["spec", "replicas"]] == 9)
            #expect(try await client.send("DELETE", Paths.checkout + "?dryRun=All").status == 200)
            #expect(try await client.get(Paths.checkout).json[path: ["spec", "replicas"]] == 4)

            // Checks still apply: validation and conflicts.
            #expect(try await client.patch(Paths.checkout + "?dryRun=All", ["spec": ["replicas": -2]]).status == 422)
            #expect(try await client.patch(Paths.checkout + "?dryRun=All", ["metadata": ["resourceVersion": "1"]]).status == 409)
            #expect(sandbox.store.resourceVersion == before)
        }
    }

    @Test("a dryRun value other than All is a bad request", arguments: ["true", "all", "", "Server"])
    func badDryRun(value: String) async throws {
        try await withSandbox { _, client in
            let reply = try await client.patch(Paths.checkout + "?dryRun=\(value)", ["spec": ["replicas": 2]])
            #expect(reply.status == 400)
            #expect(reply.json["reason"] == "BadRequest")
            #expect(try await client.get(Paths.checkout).json[path: ["spec", "replicas"]] == 4)
        }
    }

    @Test("labelSelector and fieldSelector filter lists", arguments: [
        (Paths.deployments + "?labelSelector=app%3Dcheckout", ["checkout"]),
        (Paths.deployments + "?labelSelector=app%3D%3Dcart", ["cart"]),
        (Paths.deployments + "?labelSelector=app!%3Dcheckout,app!%3Dcart", ["catalog", "inventory", "orders", "payments", "search"]),
        (Paths.deployments + "?labelSelector=app+in+(cart,orders)", ["cart", "orders"]),
        (Paths.deployments + "?labelSelector=app", ["cart", "catalog", "checkout", "inventory", "orders", "payments", "search"]),
        (Paths.deployments + "?labelSelector=!app", []),
        (Paths.deployments + "?fieldSelector=metadata.name%3Dsearch", ["search"]),
        (Paths.deployments + "?fieldSelector=metadata.name!%3Dsearch&labelSelector=app+notin+(cart,catalog,checkout)", ["inventory", "orders", "payments"]),
        (Paths.events + "?fieldSelector=involvedObject.name%3Dcheckout,involvedObject.kind%3DDeployment", ["checkout.demo"]),
        (Paths.events + "?fieldSelector=involvedObject.kind%3DHorizontalPodAutoscaler,involvedObject.namespace%3Dshop", ["inventory.demo"]),
        (Paths.events + "?fieldSelector=involvedObject.name%3Dnothing", []),
    ])
    func selectors(path: String, names: [String]) async throws {
        try await withSandbox { _, client in
            let reply = try await client.get(path)
            #expect(reply.status == 200)
            #expect(reply.json["items"]?.arrayValue?.compactMap { $0[path: ["metadata", "name"]]?.stringValue } == names)
        }
    }

    @Test("an unsupported field selector is a bad request")
    func unsupportedFieldSelector() async throws {
        try await withSandbox { _, client in
            let reply = try await client.get(Paths.deployments + "?fieldSelector=spec.replicas%3D3")
            #expect(reply.status == 400)
            #expect(reply.json["message"] == "field label not supported: spec.replicas")
        }
    }

    @Test("direct store access: apply and mutate bump the resourceVersion; invalid objects throw")
    func storeAccess() async throws {
        try await withSandbox(.init()) { sandbox, client in
            let stored = try sandbox.apply(["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "c", "namespace": "ns"], "data": ["k": "v"]])
            let version = try #require(stored[path: ["metadata", "resourceVersion"]]?.stringValue)
            let mutated = try sandbox.mutate(apiVersion: "v1", kind: "ConfigMap", namespace: "ns", name: "c") { _ in }
            #expect(mutated[path: ["metadata", "resourceVersion"]] != .string(version))
            #expect(try await client.get("/api/v1/namespaces/ns/configmaps/c").json == mutated)
            #expect {
                try sandbox.apply(["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "c", "namespace": "ns"], "data": ["k": 1]])
            } throws: { ($0 as? StatusError)?.code == 422 }
            #expect(throws: StatusError.self) { try sandbox.apply(["apiVersion": "v9", "kind": "Pod", "metadata": ["name": "p"]]) }
        }
    }
}
