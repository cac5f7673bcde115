import Foundation
import Testing
import TrimtabCycle
@testable import TrimtabKube
import TrimtabTestSupport

func status(_ code: Int, _ reason: String, _ message: String, causes: String = "") -> String {
    #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"\#(message)","reason":"\#(reason)","details":{"name":"api","group":"apps","kind":"deployments"\#(causes)},"code":\#(code)}"#
}

let scaleBody = #"{"kind":"Scale","apiVersion":"autoscaling/v1","metadata":{"name":"api","namespace":"shop","resourceVersion":"41"},"spec":{"replicas":4}}"#

@Suite("Kubernetes client: requests, typed errors from Status bodies, retries, secrets")
struct KubeClientTests {
    func client(_ server: ScriptedHTTPServer, token: String = "t0ken-secret", timeout: Double = 5) throws -> KubeClient {
        try KubeClient(KubeConfiguration(server: server.url, token: token, timeoutSeconds: timeout), maxRetries: 2, maxRetryAfterSeconds: 2)
    }

    @Test func readsTheScaleSubresourceWithTheToken() async throws {
        let server = try await ScriptedHTTPServer { _ in .respond(status: 200, body: scaleBody) }
        let client = try client(server)
        let scale = try await client.get(ScaleObject.self, .deployments, namespace: "shop", name: "api", subresource: "scale")
        #expect(scale.spec?.replicas == 4 && scale.metadata.resourceVersion == "41")
        let request = try #require(server.requests.first)
        #expect(request.method == "GET" && request.uri == "/apis/apps/v1/namespaces/shop/deployments/api/scale")
        #expect(request.headers["authorization"] == "Bearer t0ken-secret")
        await client.shutdown()
        await server.stop()
    }

    @Test func patchesCarryTheirContentTypeAndDryRun() async throws {
        let server = try await ScriptedHTTPServer { _ in .respond(status: 200, body: "{}") }
        let client = try client(server)
        try await client.patch(.configMaps, namespace: "shop", name: "cfg", .merge, body: ["data": ["K": "v"]], dryRun: true)
        try await client.patch(.deployments, namespace: "shop", name: "api", .strategicMerge, body: ["spec": [:]], dryRun: false)
        let requests = server.requests
        #expect(requests[0].uri == "/api/v1/namespaces/shop/configmaps/cfg?dryRun=All")
        #expect(requests[0].headers["content-type"] == "application/merge-patch+json")
        #expect(requests[0].body == #"{"data":{"K":"v"}}"#)
        #expect(requests[1].uri == "/apis/apps/v1/namespaces/shop/deployments/api")
        #expect(requests[1].headers["content-type"] == "application/strategic-merge-patch+json")
        await client.shutdown()
        await server.stop()
    }

    @Test(arguments: [
        (401, "Unauthorized", KubeError.Kind.unauthorized, "token or client certificate was refused"),
        (403, "Forbidden", .forbidden, "missing verb 'update' on resource 'deployments/scale' in API group 'apps' (namespace shop)"),
        (404, "NotFound", .notFound, "Check the target's namespace and name"),
        (409, "Conflict", .conflict, "re-reads and decides again"),
        (409, "AlreadyExists", .alreadyExists, "AlreadyExists"),
        (500, "InternalError", .unavailable, "no action is taken while it does"),
        (503, "ServiceUnavailable", .unavailable, "The cluster API is failing"),
    ])
    func statusBodiesBecomeTypedErrors(code: Int, reason: String, kind: KubeError.Kind, hint: String) async throws {
        let server = try await ScriptedHTTPServer { _ in .respond(status: code, body: status(code, reason, "the server says \(reason)")) }
        let client = try client(server)
        do {
            try await client.update(.deployments, namespace: "shop", name: "api", subresource: "scale", body: [:], dryRun: false)
            Issue.record("no error for \(code)")
        } catch {
            #expect(error.kind == kind)
            #expect(error.status == code)
            #expect(error.description.contains("the server says \(reason)"))
            #expect(error.description.contains(hint), "\(error.description)")
            #expect(!error.description.contains("t0ken-secret"))
        }
        await client.shutdown()
        await server.stop()
    }

    @Test func invalidListsItsCauses() async throws {
        let causes = #","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: -1: must be greater than or equal to 0","field":"spec.replicas"}]"#
        let server = try await ScriptedHTTPServer { _ in .respond(status: 422, body: status(422, "Invalid", "Scale.autoscaling \\\"api\\\" is invalid", causes: causes)) }
        let client = try client(server)
        do {
            try await client.update(.deployments, namespace: "shop", name: "api", subresource: "scale", body: [:], dryRun: false)
            Issue.record("no error")
        } catch {
            #expect(error.kind == .invalid)
            #expect(error.causes == ["spec.replicas: Invalid value: -1: must be greater than or equal to 0"])
        }
        await client.shutdown()
        await server.stop()
    }

    @Test func tooManyRequestsIsRetriedAfterRetryAfter() async throws {
        let count = Counter()
        let server = try await ScriptedHTTPServer { _ in
            count.next() <= 2 ? .respond(status: 429, body: status(429, "TooManyRequests", "slow down")) : .respond(status: 200, body: scaleBody)
        }
        let client = try client(server)
        let clock = ContinuousClock()
        let started = clock.now
        let scale = try await client.get(ScaleObject.self, .deployments, namespace: "shop", name: "api", subresource: "scale")
        #expect(scale.spec?.replicas == 4)
        #expect(server.requests.count == 3)
        // Retry-After was absent, so each retry waited the 1 s default: at least 2 s in all.
        #expect(clock.now - started >= .seconds(2))
        await client.shutdown()
        await server.stop()
    }

    @Test func tooManyRequestsGivesUpAfterItsRetries() async throws {
        let server = try await ScriptedHTTPServer { _ in .respond(status: 429, body: status(429, "TooManyRequests", "slow down")) }
        let client = try client(server)
        do {
            _ = try await client.get(ScaleObject.self, .deployments, namespace: "shop", name: "api", subresource: "scale")
            Issue.record("no error")
        } catch {
            #expect(error.kind == .tooManyRequests)
            #expect(error.isClusterFailure)
        }
        #expect(server.requests.count == 3)
        await client.shutdown()
        await server.stop()
    }

    @Test func aHangIsATimeout() async throws {
        let server = try await ScriptedHTTPServer { _ in .hang }
        let client = try KubeClient(KubeConfiguration(server: server.url, timeoutSeconds: 1))
        do {
            _ = try await client.get(ScaleObject.self, .deployments, namespace: "shop", name: "api", subresource: "scale")
            Issue.record("no error")
        } catch {
            #expect(error.kind == .timeout)
        }
        await client.shutdown()
        await server.stop()
    }

    @Test func aRefusedConnectionIsAConnectionError() async throws {
        let client = try KubeClient(KubeConfiguration(server: "http://127.0.0.1:1", token: "t0ken-secret", timeoutSeconds: 2))
        do {
            _ = try await client.list(AutoscalerList.self, .horizontalPodAutoscalers, namespace: "shop")
            Issue.record("no error")
        } catch {
            #expect(error.kind == .connection)
            #expect(!error.description.contains("t0ken-secret"))
        }
        await client.shutdown()
    }

    @Test func theTokenFileIsReadOnEveryRequest() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.file("token", "first\n")
        let server = try await ScriptedHTTPServer { _ in .respond(status: 200, body: scaleBody) }
        let client = try KubeClient(KubeConfiguration(server: server.url, tokenFile: file))
        _ = try await client.get(ScaleObject.self, .deployments, namespace: "shop", name: "api", subresource: "scale")
        _ = try directory.file("token", "rotated\n")
        _ = try await client.get(ScaleObject.self, .deployments, namespace: "shop", name: "api", subresource: "scale")
        #expect(server.requests.map { $0.headers["authorization"] } == ["Bearer first", "Bearer rotated"])
        await client.shutdown()
        await server.stop()
    }

    @Test func trustsTheClusterCAFromKubeconfigData() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let server = try await ScriptedHTTPServer(tls: (certificates.serverCertificate, certificates.serverKey)) { _ in .respond(status: 200, body: scaleBody) }
        let ca = try Data(contentsOf: URL(fileURLWithPath: certificates.caFile)).base64EncodedString()
        let text = """
        apiVersion: v1
        kind: Config
        current-context: t
        clusters: [{name: c, cluster: {server: "\(server.url)", certificate-authority-data: \(ca)}}]
        users: [{name: u, user: {token: abc}}]
        contexts: [{name: t, context: {cluster: c, user: u}}]
        """
        let trusting = try KubeClient(try KubeConfiguration.parse(kubeconfig: text, file: "/k"))
        #expect(try await trusting.get(ScaleObject.self, .deployments, namespace: "shop", name: "api", subresource: "scale").spec?.replicas == 4)
        await trusting.shutdown()
        let untrusting = try KubeClient(KubeConfiguration(server: server.url, token: "abc", timeoutSeconds: 5))
        do {
            _ = try await untrusting.get(ScaleObject.self, .deployments, namespace: "shop", name: "api", subresource: "scale")
            Issue.record("trusted a server signed by an unknown CA")
        } catch {
            #expect(error.kind == .connection)
        }
        await untrusting.shutdown()
        await server.stop()
    }

    @Test func aBadClientKeyIsAnErrorThatDoesNotEchoIt() {
        let key = "-----BEGIN PRIVATE KEY-----\nTOPSECRETKEYMATERIAL\n-----END PRIVATE KEY-----\n"
        do {
            _ = try KubeClient(KubeConfiguration(server: "https://127.0.0.1:1", clientCertificateData: Array(key.utf8), clientKeyData: Array(key.utf8)))
            Issue.record("accepted a broken key")
        } catch {
            #expect(error.kind == .configuration)
            #expect(!error.description.contains("TOPSECRET"))
        }
    }
}

/// A thread-safe request counter for scripts.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}

/// A credential plugin that prints a client certificate and key (as some do for mutual TLS, or as a
/// kubeconfig's own client certificate would be given): the requests go over mutual TLS with them,
/// with no Authorization header, and a client without them is refused by the server.
@Suite("Kubernetes client: a credential plugin's client certificate")
struct ExecClientCertificateTests {
    @Test func aPluginsClientCertificateIsPresentedOverMutualTLS() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let credential: [String: Any] = [
            "apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
            "status": ["clientCertificateData": try String(contentsOfFile: certificates.clientCertificate, encoding: .utf8),
                       "clientKeyData": try String(contentsOfFile: certificates.clientKey, encoding: .utf8)],
        ]
        let json = try directory.file("credential.json", String(decoding: try JSONSerialization.data(withJSONObject: credential), as: UTF8.self))
        let script = try directory.file("plugin.sh", "#!/bin/sh\ncat '\(json)'\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)
        let server = try await ScriptedHTTPServer(tls: (certificates.serverCertificate, certificates.serverKey), clientCAFile: certificates.caFile) { _ in
            .respond(status: 200, body: scaleBody)
        }
        let plugin = ExecPlugin(apiVersion: "client.authentication.k8s.io/v1", command: script, interactiveMode: .never, user: "u", file: "/k")
        let client = try KubeClient(KubeConfiguration(server: server.url, caFile: certificates.caFile, exec: plugin, timeoutSeconds: 5))
        for _ in 0..<2 {
            #expect(try await client.get(ScaleObject.self, .deployments, namespace: "shop", name: "api", subresource: "scale").spec?.replicas == 4)
        }
        #expect(server.requests.count == 2 && server.requests.allSatisfy { $0.headers["authorization"] == nil })
        #expect(await client.execSource?.runs == 1)
        await client.shutdown()
        // Without the certificate the server does not let the connection through.
        let anonymous = try KubeClient(KubeConfiguration(server: server.url, token: "abc", caFile: certificates.caFile, timeoutSeconds: 5))
        do throws(KubeError) {
            _ = try await anonymous.get(ScaleObject.self, .deployments, namespace: "shop", name: "api", subresource: "scale")
            Issue.record("the server let a client without a certificate through")
        } catch {
            #expect(error.kind == .connection, "\(error)")
        }
        await anonymous.shutdown()
        await server.stop()
    }
}
