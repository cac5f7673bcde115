import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TrimtabKubeSandbox

/// An answer from the sandbox, its body read as JSON when it is JSON.
struct Reply: Sendable {
    var status: Int
    var text: String
    var headers: [String: String]
    var json: JSONValue { (try? JSONValue.parse(text)) ?? .null }
}

/// A small HTTP client for the tests, over URLSession; a session per request, so that no
/// connection is reused (curl would quietly retry a request whose reused connection was dropped).
struct TestClient: Sendable {
    var base: String
    var token: String? = KubeSandbox.adminToken

    func send(_ method: String, _ path: String, json body: JSONValue? = nil, text: String? = nil,
              contentType: String? = "application/json", accept: String? = nil) async throws -> Reply {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        request.timeoutInterval = 10
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let accept { request.setValue(accept, forHTTPHeaderField: "Accept") }
        // URLSession refuses a GET with a body.
        if method != "GET", let payload = text ?? body?.jsonText {
            request.httpBody = Data(payload.utf8)
            if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        }
        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields { headers[String(describing: name).lowercased()] = String(describing: value) }
        return Reply(status: http.statusCode, text: String(decoding: data, as: UTF8.self), headers: headers)
    }

    func get(_ path: String, accept: String? = nil) async throws -> Reply { try await send("GET", path, accept: accept) }

    func patch(_ path: String, _ body: JSONValue, type: String = "application/merge-patch+json") async throws -> Reply {
        try await send("PATCH", path, json: body, contentType: type)
    }

    func with(token: String?) -> TestClient {
        var copy = self
        copy.token = token
        return copy
    }
}

/// Runs `body` against a fresh sandbox on a free port, stopping it afterwards whatever happens.
func withSandbox<T>(_ configuration: KubeSandbox.Configuration = .demo,
                    _ body: (KubeSandbox, TestClient) async throws -> T) async throws -> T {
    let sandbox = try await KubeSandbox.start(configuration: configuration)
    do {
        let result = try await body(sandbox, TestClient(base: sandbox.url))
        await sandbox.stop()
        return result
    } catch {
        await sandbox.stop()
        throw error
    }
}

enum Paths {
    static let deployments = "/apis/apps/v1/namespaces/shop/deployments"
    static let checkout = deployments + "/checkout"
    static let checkoutScale = checkout + "/scale"
    static let configMaps = "/api/v1/namespaces/shop/configmaps"
    static let events = "/api/v1/namespaces/shop/events"
    static let autoscalers = "/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers"
    static let leases = "/apis/coordination.k8s.io/v1/namespaces/shop/leases"
}
