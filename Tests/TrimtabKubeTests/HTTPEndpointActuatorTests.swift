import Foundation
import Testing
import TrimtabCore
import TrimtabCycle
@testable import TrimtabKube
import TrimtabTestSupport

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
