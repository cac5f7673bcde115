import Foundation
import Testing
import TrimtabCycle
@testable import TrimtabCore
import TrimtabKube
import TrimtabKubeSandbox
import TrimtabTestSupport

/// An action input with no indicator (a pool size, a TTL) is read from the knob in the cluster:
/// from the workload list the facts already read (env), one read per ConfigMap, or the admin endpoint.
@Suite("Cluster facts: the values knobs hold")
struct KnobFactsTests {
    static func deployment(_ name: String, env: [JSONValue]) -> JSONValue {
        let labels: JSONValue = ["app": .string(name)]
        return ["apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": .string(name), "namespace": "shop", "labels": labels],
                "spec": ["replicas": 2, "selector": ["matchLabels": labels],
                         "template": ["metadata": ["labels": labels],
                                      "spec": ["containers": [["name": "app", "image": "shop/x:1", "env": .array(env)],
                                                              ["name": "log-shipper", "image": "fluent-bit:3"]]]]]]
    }

    static func policy(pool: String, ttl: String) throws -> Policy {
        try PolicyLoader.load(text: """
        apiVersion: trimtab/v1
        kind: Policy
        spec:
          indicators:
            latency_p95: {query: 'a{$selector}', unit: seconds}
            pool_utilization: {query: 'b{$selector}', unit: ratio}
            cache_hit_ratio: {query: 'c{$selector}', unit: ratio}
            replicas: {query: 'd{$selector}', unit: count}
          checks:
            latency_p95: {worse: higher, warning: 1s, critical: 2s}
            pool_utilization: {worse: higher, warning: 70%, critical: 90%}
            cache_hit_ratio: {worse: lower, warning: 80%, critical: 50%}
          actions:
            - when: {bottleneck: latency_p95, and: pool_utilization}
              poolSize: {knob: \(pool), max: 50}
            - when: {bottleneck: cache_hit_ratio}
              cacheTTL: {knob: \(ttl), max: 10m}
        """, file: "knobs.yaml")
    }

    static func target(_ name: String) -> TargetID { TargetID(labelNames: ["namespace", "deployment"], labelValues: ["shop", name]) }

    @Test func readsEnvConfigMapAndEndpointValues() async throws {
        let objects: [JSONValue] = [
            Self.deployment("api", env: [["name": "CACHE_TTL_SECONDS", "value": "90"]]),
            Self.deployment("worker", env: [["name": "CACHE_TTL_SECONDS", "value": "ninety"]]),
            Self.deployment("batch", env: [["name": "CACHE_TTL_SECONDS", "valueFrom": ["configMapKeyRef": ["name": "x", "key": "y"]]]]),
            Self.deployment("idle", env: []),
            ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "api-config", "namespace": "shop"], "data": ["DB_POOL_SIZE": "24"]],
        ]
        let cluster = try await ClusterFixture.start(objects: objects)
        let endpoint = AdminEndpoint("30")
        let server = try await ScriptedHTTPServer { endpoint.answer($0) }
        let targets = ["api", "worker", "batch", "idle", "gone"].map(Self.target)

        // A ConfigMap key and an env var: one list of Deployments, one read of the ConfigMap.
        let before = cluster.sandbox.requests.count
        let facts = try await ClusterFacts.read(targets: targets, policy: try Self.policy(pool: "{configMap: api-config, key: DB_POOL_SIZE}", ttl: "{env: CACHE_TTL_SECONDS}"),
                                                client: cluster.client, http: cluster.http)
        let requests = cluster.sandbox.requests.dropFirst(before).map(\.path)
        #expect(requests.filter { $0.contains("/configmaps/api-config") }.count == 1, "\(requests)")
        #expect(requests.filter { $0.hasSuffix("/deployments") }.count == 1, "\(requests)")
        let pool = Knob.configMap(name: "api-config", key: "DB_POOL_SIZE", restart: false)
        let ttl = Knob.env(name: "CACHE_TTL_SECONDS", container: nil)
        #expect(facts.knobValues[Self.target("api")]?[pool] == .value(24, source: "ConfigMap shop/api-config"))
        #expect(facts.knobValues[Self.target("api")]?[ttl] == .value(90, source: "the pod template of deployment/api in namespace shop (container app)"))
        #expect(facts.knobValues[Self.target("worker")]?[ttl] == .unknown("env CACHE_TTL_SECONDS holds \"ninety\" in the pod template of deployment/worker in namespace shop (container app), not a number"))
        guard case .unknown(let why)? = facts.knobValues[Self.target("batch")]?[ttl] else { Issue.record("batch"); return }
        #expect(why.contains("is set from a reference (valueFrom)"))
        #expect(facts.knobValues[Self.target("idle")]?[ttl] == .unknown("env CACHE_TTL_SECONDS is not set in the pod template of deployment/idle in namespace shop (container app)"))
        #expect(facts.knobValues[Self.target("gone")]?[ttl] == .unknown("deployment/gone in namespace shop was not found"))

        // A missing ConfigMap and an admin endpoint.
        let other = try await ClusterFacts.read(targets: [Self.target("api")],
                                                policy: try Self.policy(pool: "{http: '\(server.url)/admin/pool'}", ttl: "{configMap: nope, key: TTL}"),
                                                client: cluster.client, http: cluster.http)
        #expect(other.knobValues[Self.target("api")]?[.http(url: server.url + "/admin/pool")] == .value(30, source: "the admin endpoint of deployment/api in namespace shop"))
        guard case .unknown(let missing)? = other.knobValues[Self.target("api")]?[.configMap(name: "nope", key: "TTL", restart: false)] else {
            Issue.record("nope"); return
        }
        #expect(missing.hasPrefix("ConfigMap shop/nope could not be read"), "\(missing)")
        await server.stop()
        await cluster.stop()
    }

    /// A Deployment whose container `app` gets ConfigMap api-config as `mount`.
    static func mounting(_ name: String, subPath: String? = nil, items: Bool = false) -> JSONValue {
        var mount: [String: JSONValue] = ["name": "config", "mountPath": subPath == nil ? "/etc/app" : "/etc/app/DB_POOL_SIZE"]
        if let subPath { mount["subPath"] = .string(subPath) }
        var source: [String: JSONValue] = ["name": "api-config"]
        if items { source["items"] = [["key": "LOG_LEVEL", "path": "log-level"]] }
        var object = deployment(name, env: [])
        object[path: ["spec", "template", "spec", "containers"]] = [["name": "app", "image": "shop/x:1", "volumeMounts": [.object(mount)]],
                                                                    ["name": "log-shipper", "image": "fluent-bit:3"]]
        object[path: ["spec", "template", "spec", "volumes"]] = [["name": "config", "configMap": .object(source)]]
        return object
    }

    @Test func aConfigMapKnobWithoutARestartIsLiveOnlyWhereTheKeyIsMountedWhole() async throws {
        let objects: [JSONValue] = [
            Self.mounting("whole"), Self.mounting("pinned", subPath: "DB_POOL_SIZE"), Self.mounting("other-keys", items: true),
            Self.deployment("unmounted", env: []),
            ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "api-config", "namespace": "shop"], "data": ["DB_POOL_SIZE": "24"]],
        ]
        let cluster = try await ClusterFixture.start(objects: objects)
        defer { Task { await cluster.stop() } }
        let facts = try await ClusterFacts.read(targets: ["whole", "pinned", "other-keys", "unmounted"].map(Self.target),
                                                policy: try Self.policy(pool: "{configMap: api-config, key: DB_POOL_SIZE}", ttl: "{env: CACHE_TTL_SECONDS}"),
                                                client: cluster.client)
        let pool = Knob.configMap(name: "api-config", key: "DB_POOL_SIZE", restart: false)
        #expect(facts.configMapReach[Self.target("whole")]?[pool] == .live(container: "app", path: "/etc/app/DB_POOL_SIZE"))
        guard case .frozen(let pinned)? = facts.configMapReach[Self.target("pinned")]?[pool] else { Issue.record("pinned"); return }
        #expect(pinned.contains("mounts it with subPath DB_POOL_SIZE"), "\(pinned)")
        guard case .absent? = facts.configMapReach[Self.target("other-keys")]?[pool] else { Issue.record("other-keys"); return }
        guard case .absent? = facts.configMapReach[Self.target("unmounted")]?[pool] else { Issue.record("unmounted"); return }
        // A knob that restarts the pods after writing needs no live mount: it is not judged.
        let restarting = try await ClusterFacts.read(targets: [Self.target("pinned")],
                                                     policy: try Self.policy(pool: "{configMap: api-config, key: DB_POOL_SIZE, restart: true}", ttl: "{env: CACHE_TTL_SECONDS}"),
                                                     client: cluster.client)
        #expect(restarting.configMapReach.isEmpty)
    }
}
