import Testing
@testable import TrimtabKubeSandbox

@Suite("Discovery and Tables")
struct DiscoveryAndTableTests {
    static let tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"

    @Test("discovery documents describe the served resources")
    func discovery() async throws {
        try await withSandbox { _, client in
            #expect(try await client.get("/version").json["major"] == "1")
            #expect(try await client.get("/api").json["versions"] == ["v1"])
            let core = try await client.get("/api/v1").json
            #expect(core["kind"] == "APIResourceList")
            let configMaps = core["resources"]?.arrayValue?.first { $0["name"] == "configmaps" }
            #expect(configMaps?["shortNames"] == ["cm"])
            #expect(configMaps?["kind"] == "ConfigMap")
            #expect(configMaps?["namespaced"] == true)
            #expect(core["resources"]?.arrayValue?.first { $0["name"] == "namespaces" }?["namespaced"] == false)
            let groups = try await client.get("/apis").json["groups"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
            #expect(groups == ["apps", "autoscaling", "coordination.k8s.io", "keda.sh", "argoproj.io"])
            // Custom resources as their CRDs serve them: a Rollout with its scale subresource.
            let argo = try await client.get("/apis/argoproj.io/v1alpha1").json["resources"]?.arrayValue ?? []
            #expect(argo.compactMap { $0["name"]?.stringValue } == ["rollouts", "rollouts/scale"])
            let apps = try await client.get("/apis/apps/v1").json["resources"]?.arrayValue ?? []
            let scale = apps.first { $0["name"] == "deployments/scale" }
            #expect(scale?["group"] == "autoscaling")
            #expect(scale?["version"] == "v1")
            #expect(scale?["kind"] == "Scale")
            #expect(scale?["verbs"] == ["get", "patch", "update"])
            let autoscaling = try await client.get("/apis/autoscaling/v2").json["resources"]?.arrayValue ?? []
            #expect(autoscaling.first?["shortNames"] == ["hpa"])
            #expect(try await client.get("/apis/coordination.k8s.io/v1").status == 200)
            #expect(try await client.get("/apis/apps").json["kind"] == "APIGroup")
        }
    }

    @Test("unknown paths are a 404 Status; watches and unsupported methods 405", arguments: [
        ("GET", "/apis/batch/v1/namespaces/shop/jobs", 404),
        ("GET", "/api/v1/namespaces/shop/secrets", 404),
        ("GET", "/apis/apps/v1/namespaces/shop/deployments/checkout/status", 404),
        ("GET", "/healthz/nothing", 404),
        ("GET", "/apis/apps/v1/namespaces/shop/deployments?watch=true", 405),
        ("POST", "/apis/apps/v1/namespaces/shop/deployments/checkout", 405),
        ("PUT", "/apis/apps/v1/namespaces/shop/deployments", 405),
    ])
    func unknown(method: String, path: String, code: Int) async throws {
        try await withSandbox { _, client in
            let reply = try await client.send(method, path, json: [:])
            #expect(reply.status == code)
            #expect(reply.json["kind"] == "Status")
            #expect(reply.json["code"] == .number(Double(code)))
        }
    }

    @Test("kubectl's Accept header gets a Table with the real server's columns", arguments: [
        (Paths.deployments, ["Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"],
         ["cart", "2/2", 2, 2]),
        (Paths.configMaps, ["Name", "Data", "Age"], ["shop-config", 2]),
        (Paths.autoscalers, ["Name", "Reference", "MinPods", "MaxPods", "Replicas", "Age"], ["inventory", "Deployment/inventory", 2, 10, 4]),
        (Paths.events, ["Last Seen", "Type", "Reason", "Object", "Message"], ["Normal", "ScalingReplicaSet", "deployment/checkout"]),
        ("/api/v1/namespaces", ["Name", "Status", "Age"], ["shop", "Active"]),
        (Paths.checkout, ["Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"],
         ["checkout", "4/4", 4, 4]),
    ] as [(String, [String], [JSONValue])])
    func table(path: String, columns: [String], firstCells: [JSONValue]) async throws {
        try await withSandbox { _, client in
            let table = try await client.get(path, accept: DiscoveryAndTableTests.tableAccept).json
            #expect(table["kind"] == "Table")
            #expect(table["apiVersion"] == "meta.k8s.io/v1")
            #expect(table["columnDefinitions"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == columns)
            let row = try #require(table["rows"]?[0])
            let cells = row["cells"]?.arrayValue ?? []
            #expect(cells.count == columns.count)
            for cell in firstCells {
                #expect(cells.contains(cell), "\(cell.jsonText) not in \(JSONValue.array(cells).jsonText)")
            }
            #expect(row["object"]?["kind"] == "PartialObjectMetadata")
            if columns[0] == "Name" { #expect(row[path: ["object", "metadata", "name"]] == cells[0]) }
            // Without the Table in Accept, the plain object or list.
            #expect(try await client.get(path).json["kind"] != "Table")
        }
    }

    @Test("ages read as kubectl prints them", arguments: [
        (0.0, "0s"), (59, "59s"), (119, "119s"), (125, "2m5s"), (600, "10m"), (3 * 3600 + 60, "3h1m"),
        (10 * 3600, "10h"), (50 * 3600, "2d2h"), (30 * 86400, "30d"), (800 * 86400, "2y70d"), (-5, "<invalid>"),
    ] as [(Double, String)])
    func humanDuration(seconds: Double, text: String) {
        #expect(TableRendering.humanDuration(seconds) == text)
    }
}
