import Foundation
import Testing
import TrimtabCore
@testable import TrimtabKube
import TrimtabTestSupport

/// An application's admin endpoint holding one value, with an ETag that changes on every write.
final class AdminEndpoint: @unchecked Sendable {
    private let lock = NSLock()
    private var value: String
    private var version = 1
    init(_ value: String) { self.value = value }

    var current: String { lock.lock(); defer { lock.unlock() }; return value }

    /// Another writer changes the value (and so the ETag).
    func set(_ new: String) { lock.lock(); value = new; version += 1; lock.unlock() }

    func answer(_ request: ScriptedHTTPServer.Request) -> ScriptedHTTPServer.Reply {
        lock.lock()
        defer { lock.unlock() }
        switch request.method {
        case "GET":
            return .respond(status: 200, body: #"{"value": \#(value)}"#)
        case "PUT":
            if let match = request.headers["if-match"], match != "\"v\(version)\"" {
                return .respond(status: 412, body: #"{"error":"precondition failed"}"#)
            }
            guard let object = try? JSONSerialization.jsonObject(with: Data(request.body.utf8)) as? [String: Any],
                  let number = object["value"] as? NSNumber else { return .respond(status: 400, body: "bad body") }
            value = KnobValue.text(number.doubleValue)
            version += 1
            return .respond(status: 204, body: "")
        default:
            return .respond(status: 405, body: "")
        }
    }
}

@Suite("HTTP endpoint actuator: an application's admin API")
struct HTTPEndpointActuatorTests {
    let workload = WorkloadRef(kind: "Deployment", namespace: "shop", name: "api")

    @Test func readsWritesAndRestores() async throws {
        let endpoint = AdminEndpoint("20")
        let server = try await ScriptedHTTPServer { endpoint.answer($0) }
        let client = HTTPEndpointClient(timeoutSeconds: 5)
        let actuator = HTTPEndpointActuator(client: client, workload: workload, url: server.url + "/admin/pool-size")
        let reading = try await actuator.read()
        #expect(reading.value == "20")
        try await actuator.write("28", over: reading, dryRun: true)
        #expect(endpoint.current == "20", "a dry-run must not write")
        try await actuator.write("28", over: reading, dryRun: false)
        #expect(endpoint.current == "28")
        #expect(server.requests.last?.body == #"{"value":28}"#)
        try await actuator.write("20", over: try await actuator.read(), dryRun: false)
        #expect(endpoint.current == "20")
        await client.shutdown()
        await server.stop()
    }

    @Test func anETagMakesTheWriteConditional() async throws {
        let endpoint = AdminEndpoint("20")
        let server = try await ScriptedHTTPServer { endpoint.answer($0) }
        let client = HTTPEndpointClient(timeoutSeconds: 5)
        let actuator = HTTPEndpointActuator(client: client, workload: workload, url: server.url + "/admin/pool-size")
        // The scripted server sends no ETag header, so the reading is given the one the endpoint had.
        var reading = try await actuator.read()
        reading.version = "\"v1\""
        endpoint.set("25")
        do {
            try await actuator.write("28", over: reading, dryRun: false)
            Issue.record("overwrote a concurrent change")
        } catch {
            #expect(error.kind == .conflict)
        }
        #expect(endpoint.current == "25")
        await client.shutdown()
        await server.stop()
    }

    @Test func errorsNameTheEndpoint() async throws {
        let server = try await ScriptedHTTPServer { _ in .respond(status: 503, body: "down for maintenance") }
        let client = HTTPEndpointClient(timeoutSeconds: 5)
        let actuator = HTTPEndpointActuator(client: client, workload: workload, url: server.url + "/admin/ttl")
        do {
            _ = try await actuator.read()
            Issue.record("no error")
        } catch {
            #expect(error.kind == .unavailable)
            #expect(error.description.contains("/admin/ttl") && error.description.contains("down for maintenance"))
        }
        await client.shutdown()
        await server.stop()
    }
}
