import Foundation
import Testing
@testable import TrimtabPrometheus
import TrimtabTestSupport

/// A throwaway CA and a server certificate for 127.0.0.1, made with openssl.
struct TestCertificates {
    let directory: URL
    var caFile: String { directory.appendingPathComponent("ca.pem").path }
    var serverCertificate: String { directory.appendingPathComponent("server.pem").path }
    var serverKey: String { directory.appendingPathComponent("server-key.pem").path }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("trimtab-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let extensions = directory.appendingPathComponent("san.cnf")
        try "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n".write(to: extensions, atomically: true, encoding: .utf8)
        try Self.openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem",
                          "-days", "2", "-subj", "/CN=trimtab test CA"], in: directory)
        try Self.openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server-key.pem", "-out", "server.csr",
                          "-subj", "/CN=127.0.0.1"], in: directory)
        try Self.openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
                          "-out", "server.pem", "-days", "2", "-extfile", "san.cnf"], in: directory)
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    static func openssl(_ arguments: [String], in directory: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "openssl \(arguments.joined(separator: " ")) failed"])
        }
    }
}

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
