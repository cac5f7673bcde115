import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import TrimtabKubeSandbox
import TrimtabSandbox
#if canImport(Glibc)
import Glibc
#endif

/// The `trimtab` executable built beside the test bundle.
func trimtabExecutable() throws -> String {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [bundle, bundle.deletingLastPathComponent()] {
        let path = candidate.appendingPathComponent("trimtab").path
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    struct Missing: Error, CustomStringConvertible {
        var description: String { "the trimtab executable is not built beside the tests; run `swift build` first (scripts/test does)" }
    }
    throw Missing()
}

/// `trimtab run` as a child process, as it runs in a pod: its JSON log read back line by line, its
/// endpoints on a free port, stopped by a signal.
final class DaemonProcess: @unchecked Sendable {
    let process = Process()
    let log: URL
    private(set) var port = 0

    init(_ arguments: [String], log: URL) throws {
        self.log = log
        process.executableURL = URL(fileURLWithPath: try trimtabExecutable())
        process.arguments = ["run", "--listen", "127.0.0.1:0", "--log-format", "json", "--no-jitter"] + arguments
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardError = handle
        process.standardOutput = handle
        process.standardInput = FileHandle.nullDevice
    }

    /// Starts it and waits (at most 60 s) until its endpoints listen.
    static func start(_ arguments: [String], log: URL) async throws -> DaemonProcess {
        let daemon = try DaemonProcess(arguments, log: log)
        try daemon.process.run()
        let found = await daemon.waitFor(seconds: 60) { $0["message"] as? String == "serving /healthz, /readyz, /metrics and /api/v1/status" }
        guard let line = found, let address = line["address"] as? String, let port = address.split(separator: ":").last.flatMap({ Int($0) }) else {
            daemon.kill(SIGKILL)
            struct NotListening: Error, CustomStringConvertible { var description: String }
            throw NotListening(description: "trimtab run did not start listening: \(daemon.text.suffix(3000))")
        }
        daemon.port = port
        return daemon
    }

    var text: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// Every JSON log line so far.
    var lines: [[String: Any]] {
        text.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }

    /// Log lines of finished cycles.
    var cycles: [[String: Any]] { lines.filter { ($0["message"] as? String)?.hasPrefix("cycle ") == true && $0["outcome"] != nil } }

    /// Waits until a log line matches, polling every 100 ms; nil after `seconds`.
    func waitFor(seconds: Double, _ match: ([String: Any]) -> Bool) async -> [String: Any]? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let line = lines.first(where: match) { return line }
            if !process.isRunning { return lines.first(where: match) }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }

    /// Waits until `count` cycles have finished.
    func waitForCycles(_ count: Int, seconds: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if cycles.count >= count { return true }
            if !process.isRunning { return cycles.count >= count }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    func kill(_ signal: Int32) {
        if process.isRunning { Glibc.kill(process.processIdentifier, signal) }
    }

    /// Waits for the process to exit (at most `seconds`); its exit code, or nil if it did not exit.
    func waitForExit(seconds: Double) async -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// Stops it for good (SIGKILL if SIGTERM is not enough within 30 s).
    func stop() async {
        kill(SIGTERM)
        if await waitForExit(seconds: 30) == nil {
            kill(SIGKILL)
            _ = await waitForExit(seconds: 10)
        }
    }

    /// GETs one of its endpoints; the status and body.
    func get(_ path: String, token: String? = nil) async throws -> (status: Int, body: String) {
        try await httpGet("http://127.0.0.1:\(port)\(path)", token: token)
    }
}

/// A plain GET on loopback with a bearer token, through URLSession (no client of the project's own).
func httpGet(_ url: String, token: String? = nil) async throws -> (status: Int, body: String) {
    var request = URLRequest(url: URL(string: url)!)
    request.timeoutInterval = 10
    if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
    let (data, response) = try await URLSession.shared.data(for: request)
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
}

/// The value of an unlabelled (or labelled exactly as given) metric in Prometheus's text format.
func metricValue(_ exposition: String, _ name: String, labels: String = "") -> Double? {
    let prefix = labels.isEmpty ? name + " " : "\(name){\(labels)} "
    for line in exposition.split(separator: "\n") where line.hasPrefix(prefix) {
        return Double(line.dropFirst(prefix.count).split(separator: " ").first ?? "")
    }
    return nil
}
