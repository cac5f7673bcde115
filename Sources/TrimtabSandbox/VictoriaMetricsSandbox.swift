import AsyncHTTPClient
import Foundation
import NIOCore
import TrimtabPrometheus

/// A server that answers Prometheus's query API on 127.0.0.1: what the tests run one analysis against
/// on each backend.
public protocol MetricsServer: Sendable {
    /// The base URL Trimtab is given (`--prometheus`).
    var url: String { get }
    func stop()
}

extension PrometheusSandbox: MetricsServer {}

/// The backends the analysis tests run against, on the same history.
public enum MetricsBackend: String, CaseIterable, Sendable, CustomStringConvertible {
    case prometheus
    case victoriaMetrics

    public var description: String { self == .prometheus ? "Prometheus" : "VictoriaMetrics" }
}

/// A real single-node VictoriaMetrics (Debian's `victoria-metrics`) on 127.0.0.1, on a free port, its
/// storage in a temporary directory, a history imported through its Prometheus text import. It serves
/// the query API at `/api/v1` and under the `/prometheus` prefix; `startAuth` puts Debian's `vmauth`
/// in front of it with a bearer token. Stop it when done.
public final class VictoriaMetricsSandbox: MetricsServer, @unchecked Sendable {
    public let url: String
    public let directory: URL
    private let process: Process
    /// vmauth in front of this server, when started (stopped with it).
    private let guards = NSLock()
    private var auth: Process?

    private init(url: String, directory: URL, process: Process) {
        self.url = url
        self.directory = directory
        self.process = process
    }

    deinit {
        if process.isRunning { process.terminate() }
        if let auth, auth.isRunning { auth.terminate() }
    }

    /// - Parameter arguments: more flags for the server, after the sandbox's own (so they win):
    ///   `-search.latencyOffset=30s` gives back VictoriaMetrics' default.
    public static func start(openMetrics: String, arguments: [String] = []) async throws -> VictoriaMetricsSandbox {
        guard let binary = PrometheusSandbox.locate("victoria-metrics") else {
            throw PrometheusSandbox.SandboxError.missingBinary("victoria-metrics (Debian's victoria-metrics)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trimtab-victoriametrics-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let logFile = dir.appendingPathComponent("victoria-metrics.log")
        for attempt in 1...5 {
            let port = try FreePort.find()
            // The rollup cache is off: a test may import into the past after a query, which the cache
            // would hide (VictoriaMetrics documents this for backfilling). No latency offset: by default
            // VictoriaMetrics answers as if the last 30 s had no samples, and the tests evaluate at
            // their history's end, seconds ago (docs/troubleshooting.md says what to set in production).
            let process = try launch(binary, ["-storageDataPath=\(dir.appendingPathComponent("data").path)", "-httpListenAddr=127.0.0.1:\(port)",
                                              "-retentionPeriod=100y", "-search.disableCache", "-search.latencyOffset=0s", "-loggerLevel=WARN"] + arguments,
                                     log: logFile, in: dir)
            let sandbox = VictoriaMetricsSandbox(url: "http://127.0.0.1:\(port)", directory: dir, process: process)
            if try await PrometheusSandbox.answersQueries(sandbox.url, while: process, seconds: PrometheusSandbox.readySeconds) {
                do {
                    try await sandbox.importHistory(openMetrics)
                    return sandbox
                } catch {
                    sandbox.stop()
                    throw error
                }
            }
            sandbox.terminate()
            let text = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
            if !text.contains("address already in use") || attempt == 5 {
                try? FileManager.default.removeItem(at: dir)
                throw PrometheusSandbox.SandboxError.notReady(component: "VictoriaMetrics", log: String(text.suffix(2000)))
            }
        }
        throw PrometheusSandbox.SandboxError.notReady(component: "VictoriaMetrics", log: "no free port")
    }

    /// Puts vmauth in front of this server: requests with `Authorization: Bearer <token>` are proxied
    /// to `/prometheus` here, any other is refused (Debian's vmauth 1.79 answers an unknown token with
    /// 400 and a line of text). Returns vmauth's base URL.
    public func startAuth(token: String) async throws -> String {
        guard let binary = PrometheusSandbox.locate("vmauth") else { throw PrometheusSandbox.SandboxError.missingBinary("vmauth (Debian's victoria-metrics)") }
        let config = directory.appendingPathComponent("vmauth.yml")
        try "users:\n  - bearer_token: \"\(token)\"\n    url_prefix: \"\(url)/prometheus\"\n".write(to: config, atomically: true, encoding: .utf8)
        let logFile = directory.appendingPathComponent("vmauth.log")
        for attempt in 1...5 {
            let port = try FreePort.find()
            let process = try Self.launch(binary, ["-auth.config=\(config.path)", "-httpListenAddr=127.0.0.1:\(port)", "-loggerLevel=WARN"],
                                          log: logFile, in: directory)
            guards.withLock { auth = process }
            let deadline = ContinuousClock.now + .seconds(PrometheusSandbox.readySeconds)
            // vmauth answers its own /health without a token.
            while ContinuousClock.now < deadline, process.isRunning {
                if await Self.answers("http://127.0.0.1:\(port)/health") { return "http://127.0.0.1:\(port)" }
                try await Task.sleep(for: .milliseconds(200))
            }
            if process.isRunning { process.terminate() }
            await PrometheusSandbox.waitForExit(process, seconds: 30)
            let text = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
            if !text.contains("address already in use") || attempt == 5 {
                throw PrometheusSandbox.SandboxError.notReady(component: "vmauth", log: String(text.suffix(2000)))
            }
        }
        throw PrometheusSandbox.SandboxError.notReady(component: "vmauth", log: "no free port")
    }

    /// Imports an OpenMetrics history (as `OpenMetricsWriter` and promtool's backfill take it) through
    /// `/api/v1/import/prometheus`, which takes the Prometheus text format with timestamps in
    /// milliseconds, in parts; then flushes it so every query sees it.
    func importHistory(_ openMetrics: String) async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            var part = ""
            var lines = 0
            func send() async throws {
                guard !part.isEmpty else { return }
                var request = HTTPClientRequest(url: url + "/api/v1/import/prometheus")
                request.method = .POST
                request.body = .bytes(ByteBuffer(string: part))
                let response = try await client.execute(request, timeout: .seconds(120))
                let body = try await response.body.collect(upTo: 1 << 20)
                guard response.status.code == 204 || response.status.code == 200 else {
                    throw PrometheusSandbox.SandboxError.backfillFailed("VictoriaMetrics refused the import: HTTP \(response.status.code): \(String(buffer: body).prefix(500))")
                }
                part = ""
                lines = 0
            }
            for line in openMetrics.split(separator: "\n", omittingEmptySubsequences: true) where !line.hasPrefix("#") {
                guard let space = line.lastIndex(of: " "), let seconds = Double(line[line.index(after: space)...]) else {
                    throw PrometheusSandbox.SandboxError.backfillFailed("a sample without a timestamp: \(line.prefix(200))")
                }
                part += line[..<space] + " \(Int64((seconds * 1000).rounded()))\n"
                lines += 1
                if lines >= 50_000 { try await send() }
            }
            try await send()
            let flushed = try await client.execute(HTTPClientRequest(url: url + "/internal/force_flush"), timeout: .seconds(60))
            _ = try await flushed.body.collect(upTo: 1 << 16)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    public func stop() {
        terminate()
        try? FileManager.default.removeItem(at: directory)
    }

    func terminate() {
        for process in [process] + guards.withLock({ auth.map { [$0] } ?? [] }) where process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    static func launch(_ binary: String, _ arguments: [String], log logFile: URL, in dir: URL) throws -> Process {
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logFile)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        process.currentDirectoryURL = dir
        try process.run()
        return process
    }

    static func answers(_ url: String) async -> Bool {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        var ok = false
        if let response = try? await client.execute(HTTPClientRequest(url: url), timeout: .seconds(2)) {
            _ = try? await response.body.collect(upTo: 1 << 16)
            ok = response.status.code == 200
        }
        try? await client.shutdown()
        return ok
    }
}
