import Foundation

/// The real tinyproxy (Debian's `tinyproxy`) on 127.0.0.1 with a free port, as the HTTP proxy
/// between Trimtab and a server in the tests: forwarding plain requests, tunnelling https with
/// CONNECT to any port, optionally asking for basic auth. Its log says which requests it carried.
public final class ProxySandbox: @unchecked Sendable {
    public let url: String
    public let port: Int
    let directory: URL
    let process: Process
    let logFile: URL

    init(port: Int, directory: URL, process: Process, logFile: URL) {
        self.port = port
        url = "http://127.0.0.1:\(port)"
        self.directory = directory
        self.process = process
        self.logFile = logFile
    }

    public static func locate() -> String? { PrometheusSandbox.locate("tinyproxy") }

    /// Starts tinyproxy; with `credentials`, it answers 407 to a request without them.
    public static func start(credentials: (user: String, password: String)? = nil) async throws -> ProxySandbox {
        guard let binary = locate() else { throw PrometheusSandbox.SandboxError.missingBinary("tinyproxy (apt-get install tinyproxy)") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trimtab-proxy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let logFile = dir.appendingPathComponent("tinyproxy.log")
        for attempt in 1...5 {
            let port = try FreePort.find()
            // No ConnectPort line: CONNECT is allowed to every port (the test servers' are random).
            var config = """
            Port \(port)
            Listen 127.0.0.1
            Timeout 30
            LogFile "\(logFile.path)"
            LogLevel Info
            MaxClients 20
            Allow 127.0.0.1
            DisableViaHeader Yes

            """
            if let credentials { config += "BasicAuth \(credentials.user) \(credentials.password)\n" }
            let configFile = dir.appendingPathComponent("tinyproxy.conf")
            try config.write(to: configFile, atomically: true, encoding: .utf8)
            _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["-d", "-c", configFile.path]  // in the foreground, so it stops with us
            let output = try FileHandle(forWritingTo: dir.appendingPathComponent("stderr.log").createdFile())
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let sandbox = ProxySandbox(port: port, directory: dir, process: process, logFile: logFile)
            if await sandbox.waitUntilListening(seconds: 30) { return sandbox }
            sandbox.terminate()
            let text = (try? String(contentsOf: dir.appendingPathComponent("stderr.log"), encoding: .utf8)) ?? ""
            let log = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
            // A port taken meanwhile (the tests start servers in parallel), or a start that never
            // listened: try again on another port; give up after five.
            if attempt == 5 {
                try? FileManager.default.removeItem(at: dir)
                throw PrometheusSandbox.SandboxError.didNotStart("tinyproxy: " + String((text + log).suffix(2000)))
            }
        }
        throw PrometheusSandbox.SandboxError.didNotStart("tinyproxy: no free port")
    }

    /// What tinyproxy logged: a line per request it carried (`Request (file descriptor …): CONNECT host:port`).
    public var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    func waitUntilListening(seconds: Double) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < deadline, process.isRunning {
            if FreePort.accepts(port: port) { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    public func stop() {
        terminate()
        try? FileManager.default.removeItem(at: directory)
    }

    func terminate() {
        if process.isRunning {
            // SIGKILL, not SIGTERM: tinyproxy inherits the signal mask of the process that starts it,
            // and a test runner that blocks SIGTERM in its threads would leave it running for ever.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

extension URL {
    /// Creates the file (empty) and returns its URL.
    func createdFile() -> URL {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        return self
    }
}

extension FreePort {
    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
