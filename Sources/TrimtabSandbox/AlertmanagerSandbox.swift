import AsyncHTTPClient
import Foundation

/// The real Alertmanager (Debian's `prometheus-alertmanager`) on 127.0.0.1 with a free port and a
/// temporary directory, routing every alert to one webhook: for the tests and a local try-out.
public final class AlertmanagerSandbox: @unchecked Sendable {
    public let url: String
    let directory: URL
    let process: Process

    init(url: String, directory: URL, process: Process) {
        self.url = url
        self.directory = directory
        self.process = process
    }

    /// The binary's name in Debian's package, and upstream's.
    public static func locate() -> String? {
        PrometheusSandbox.locate("prometheus-alertmanager") ?? PrometheusSandbox.locate("alertmanager")
    }

    /// Starts Alertmanager routing to `webhook`, grouped by `groupBy`, with waits short enough for a test.
    public static func start(webhook: String, groupBy: [String] = ["alertname", "policy"], groupWait: String = "1s",
                             groupInterval: String = "1s") async throws -> AlertmanagerSandbox {
        guard let binary = locate() else {
            throw PrometheusSandbox.SandboxError.missingBinary("prometheus-alertmanager")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trimtab-alertmanager-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let config = """
        route:
          receiver: test
          group_by: [\(groupBy.joined(separator: ", "))]
          group_wait: \(groupWait)
          group_interval: \(groupInterval)
          repeat_interval: 1h
        receivers:
          - name: test
            webhook_configs:
              - url: \(webhook)
                send_resolved: true
        """
        try config.write(to: dir.appendingPathComponent("alertmanager.yml"), atomically: true, encoding: .utf8)
        let logFile = dir.appendingPathComponent("alertmanager.log")
        for attempt in 1...5 {
            let port = try FreePort.find()
            _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
            let handle = try FileHandle(forWritingTo: logFile)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = [
                "--config.file=\(dir.appendingPathComponent("alertmanager.yml").path)",
                "--storage.path=\(dir.appendingPathComponent("data").path)",
                "--web.listen-address=127.0.0.1:\(port)",
                "--cluster.listen-address=",  // no gossip port: a lone instance
                "--log.level=warn",
            ]
            process.standardOutput = handle
            process.standardError = handle
            process.currentDirectoryURL = dir
            try process.run()
            let sandbox = AlertmanagerSandbox(url: "http://127.0.0.1:\(port)", directory: dir, process: process)
            if await sandbox.waitUntilReady(seconds: 30) { return sandbox }
            sandbox.terminate()
            let text = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
            if !text.contains("address already in use") || attempt == 5 {
                try? FileManager.default.removeItem(at: dir)
                throw PrometheusSandbox.SandboxError.didNotStart("Alertmanager: " + String(text.suffix(2000)))
            }
        }
        throw PrometheusSandbox.SandboxError.didNotStart("Alertmanager: no free port")
    }

    func waitUntilReady(seconds: Double) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < deadline, process.isRunning {
            if let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: url + "/-/ready"), timeout: .seconds(2)),
               response.status == .ok {
                return true
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    /// What `amtool alert query` prints as JSON for `matchers` (e.g. `alertname=TrimtabBottleneck`).
    public func amtoolQuery(_ matchers: [String]) async throws -> String {
        guard let amtool = PrometheusSandbox.locate("amtool") else { throw PrometheusSandbox.SandboxError.missingBinary("amtool") }
        let result = try await PrometheusSandbox.run(amtool, ["alert", "query", "--alertmanager.url=\(url)", "-o", "json"] + matchers, in: directory)
        guard result.status == 0 else { throw PrometheusSandbox.SandboxError.didNotStart("amtool: \(result.output)") }
        return result.output
    }

    public func stop() {
        terminate()
        try? FileManager.default.removeItem(at: directory)
    }

    func terminate() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}
