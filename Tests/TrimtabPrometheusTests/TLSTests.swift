import Foundation
import Testing
@testable import TrimtabPrometheus
import TrimtabTestSupport

@Suite("TLS: a custom CA file", .serialized)
struct TLSTests {
    @Test func trustsTheServerOnlyWithItsCA() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let server = try await ScriptedHTTPServer(tls: (certificates.serverCertificate, certificates.serverKey)) { _ in
            .respond(status: 200, body: matrixBody)
        }
        #expect(server.url.hasPrefix("https://"))

        let trusting = try PrometheusClient(PrometheusConfiguration(url: server.url, caFile: certificates.caFile, timeoutSeconds: 5))
        let response = try await trusting.queryRange("x", start: 0, end: 60, step: 30)
        #expect(response.result.series.count == 2)
        await trusting.shutdown()

        let untrusting = try PrometheusClient(PrometheusConfiguration(url: server.url, timeoutSeconds: 5))
        do throws(PrometheusError) {
            _ = try await untrusting.queryRange("x", start: 0, end: 60, step: 30)
            Issue.record("a server signed by an unknown CA was trusted")
        } catch {
            guard case .connection = error else { Issue.record("got \(error)"); await untrusting.shutdown(); await server.stop(); return }
        }
        await untrusting.shutdown()

        let skipping = try PrometheusClient(PrometheusConfiguration(url: server.url, insecureSkipVerify: true, timeoutSeconds: 5))
        #expect(try await skipping.queryRange("x", start: 0, end: 60, step: 30).result.series.count == 2)
        await skipping.shutdown()
        await server.stop()
    }

    @Test func aMissingCAFileIsAClearError() {
        #expect(throws: PrometheusError.self) {
            try PrometheusClient(PrometheusConfiguration(url: "https://127.0.0.1:1", caFile: "/nonexistent/ca.pem"))
        }
    }
}
