import Foundation
import TrimtabCore
import TrimtabPrometheus

/// A real Prometheus server (Debian's `prometheus` package) on 127.0.0.1, on a free port, with its
/// storage in a temporary directory and a history backfilled with `promtool`. For the demo and the
/// integration tests; stop it when done.
public final class PrometheusSandbox: @unchecked Sendable {
    public enum SandboxError: Error, CustomStringConvertible {
        case missingBinary(String)
        case backfillFailed(String)
        case didNotStart(String)
        /// Another server a test starts (PostgreSQL, pgbouncer, a JVM) did not become ready.
        case notReady(component: String, log: String)

        public var description: String {
            switch self {
            case .missingBinary(let name):
                return "\(name) is not installed; install Debian's Prometheus with `apt-get install -y prometheus` (or run scripts/demo, which does)"
            case .backfillFailed(let output): return "promtool could not backfill the history: \(output)"
            case .didNotStart(let log): return "Prometheus did not become ready: \(log)"
            case .notReady(let component, let log): return "\(component) did not become ready: \(log)"
            }
        }
    }

    public let url: String
    public let directory: URL
    // Replaced by `resume`, which tests call between their own steps, never concurrently.
    private var process: Process
    private let keepDirectory: Bool
    /// Flags given to the server beyond the sandbox's own, kept for a restart.
    private var extraArguments: [String] = []

    private init(url: String, directory: URL, process: Process, keepDirectory: Bool) {
        self.url = url
        self.directory = directory
        self.process = process
        self.keepDirectory = keepDirectory
    }

    deinit {
        if process.isRunning { process.terminate() }
    }

    /// Finds a program on PATH (and in /usr/bin, /usr/local/bin).
    public static func locate(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let dirs = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin", "/bin"]
        return dirs.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Backfills `openMetrics`, starts Prometheus and waits until it answers queries.
    /// - Parameter log: progress lines for a person watching.
    /// - Parameter arguments: more flags for the server (`--query.lookback-delta=20s`).
    public static func start(openMetrics: String, directory: URL? = nil, arguments: [String] = [],
                             log: @Sendable (String) -> Void = { _ in }) async throws -> PrometheusSandbox {
        let dir = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("trimtab-prometheus-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let history = dir.appendingPathComponent("history.om")
        try openMetrics.write(to: history, atomically: true, encoding: .utf8)
        return try await start(historyFile: history, directory: dir, keep: directory != nil, arguments: arguments, log: log)
    }

    /// Backfills the OpenMetrics file `historyFile` (which may be larger than memory would like),
    /// starts Prometheus in `directory` and waits until it answers queries.
    public static func start(historyFile history: URL, directory dir: URL, keep: Bool = false, arguments: [String] = [],
                             log: @Sendable (String) -> Void = { _ in }) async throws -> PrometheusSandbox {
        guard let prometheus = locate("prometheus") else { throw SandboxError.missingBinary("prometheus") }
        guard let promtool = locate("promtool") else { throw SandboxError.missingBinary("promtool") }
        let fileManager = FileManager.default
        let data = dir.appendingPathComponent("data")
        try fileManager.createDirectory(at: data, withIntermediateDirectories: true)
        let size = ((try? fileManager.attributesOfItem(atPath: history.path)[.size]) as? NSNumber)?.intValue ?? 0

        log("backfilling \(size / 1024) KiB of history with promtool")
        let backfill = try await run(promtool, ["tsdb", "create-blocks-from", "openmetrics", history.path, data.path], in: dir)
        guard backfill.status == 0 else { throw SandboxError.backfillFailed(backfill.output) }

        let config = dir.appendingPathComponent("prometheus.yml")
        try "global:\n  scrape_interval: 15s\n".write(to: config, atomically: true, encoding: .utf8)
        return try await serve(prometheus, config: config, data: data, in: dir, keep: keep, arguments: arguments, log: log)
    }

    /// Launches Prometheus on a free port of 127.0.0.1 and waits until it answers queries. A port can
    /// be taken between choosing and binding, so a few are tried; on failure the log says why, and the
    /// directory is removed unless `keep`.
    static func serve(_ prometheus: String, config: URL, data: URL, in dir: URL, keep: Bool, arguments: [String] = [],
                      log: @Sendable (String) -> Void) async throws -> PrometheusSandbox {
        let logFile = dir.appendingPathComponent("prometheus.log")
        for attempt in 1...5 {
            let port = try FreePort.find()
            let url = "http://127.0.0.1:\(port)"
            let process = try launch(prometheus, config: config, data: data, port: port, log: logFile, in: dir, arguments: arguments)
            log("started Prometheus at \(url) (pid \(process.processIdentifier)), waiting until it is ready")
            let sandbox = PrometheusSandbox(url: url, directory: dir, process: process, keepDirectory: keep)
            sandbox.extraArguments = arguments
            if try await sandbox.waitUntilReady(seconds: Self.readySeconds) { return sandbox }
            // Read the log before anything is removed: it says why, and whether another took the port.
            sandbox.terminate()
            let text = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
            if !text.contains("address already in use") || attempt == 5 {
                if !keep { try? FileManager.default.removeItem(at: dir) }
                throw SandboxError.didNotStart(text.isEmpty ? "Prometheus exited without a word (see \(logFile.path))" : String(text.suffix(2000)))
            }
            log("port \(port) was taken meanwhile; trying another")
        }
        throw SandboxError.didNotStart("no free port")
    }

    /// Starts Prometheus with no history, scraping what `configuration` (a prometheus.yml) names, with
    /// `files` (rule files, by name) written beside it, and waits until it answers queries.
    public static func startScraping(configuration: String, files: [String: String] = [:], arguments: [String] = [],
                                     log: @Sendable (String) -> Void = { _ in }) async throws -> PrometheusSandbox {
        guard let prometheus = locate("prometheus") else { throw SandboxError.missingBinary("prometheus") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trimtab-prometheus-\(UUID().uuidString)")
        let data = dir.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        let config = dir.appendingPathComponent("prometheus.yml")
        try configuration.write(to: config, atomically: true, encoding: .utf8)
        return try await serve(prometheus, config: config, data: data, in: dir, keep: false, arguments: arguments, log: log)
    }

    static func launch(_ prometheus: String, config: URL, data: URL, port: Int, log logFile: URL, in dir: URL,
                       arguments: [String] = []) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: prometheus)
        process.arguments = [
            "--config.file=\(config.path)", "--storage.tsdb.path=\(data.path)",
            "--web.listen-address=127.0.0.1:\(port)", "--storage.tsdb.retention.time=100y",
            "--log.level=warn",
        ] + arguments
        // A fresh log for each start.
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logFile)
        process.standardOutput = handle
        process.standardError = handle
        process.currentDirectoryURL = dir
        try process.run()
        return process
    }

    /// Stops the server but keeps its data and port, for tests of an outage; `resume` starts it again.
    public func pause() {
        terminate()
    }

    /// Starts the server again on the same port and data after `pause` (a restart), or on a new
    /// history when `openMetrics` is given (as a server that lost or rewrote its data would answer).
    public func resume(replacingWith openMetrics: String? = nil) async throws {
        terminate()
        guard let prometheus = Self.locate("prometheus"), let promtool = Self.locate("promtool") else { throw SandboxError.missingBinary("prometheus") }
        let data = directory.appendingPathComponent("data")
        if let openMetrics {
            try? FileManager.default.removeItem(at: data)
            try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
            let history = directory.appendingPathComponent("history.om")
            try openMetrics.write(to: history, atomically: true, encoding: .utf8)
            let backfill = try await Self.run(promtool, ["tsdb", "create-blocks-from", "openmetrics", history.path, data.path], in: directory)
            guard backfill.status == 0 else { throw SandboxError.backfillFailed(backfill.output) }
        }
        guard let port = URLComponents(string: url)?.port else { throw SandboxError.didNotStart("no port in \(url)") }
        let logFile = directory.appendingPathComponent("prometheus.log")
        process = try Self.launch(prometheus, config: directory.appendingPathComponent("prometheus.yml"), data: data, port: port,
                                  log: logFile, in: directory, arguments: extraArguments)
        guard try await waitUntilReady(seconds: Self.readySeconds) else {
            throw SandboxError.didNotStart((try? String(contentsOf: logFile, encoding: .utf8)) ?? "no log")
        }
    }

    /// Polls a trivial query until the server answers, the process dies, or time runs out.
    /// How long a start may take to answer a query: under a full test run on two cores (JVMs, PostgreSQL,
    /// dozens of servers backfilling history at once) a minute was once not enough.
    static let readySeconds: Double = 150

    private func waitUntilReady(seconds: Double) async throws -> Bool {
        try await Self.answersQueries(url, while: process, seconds: seconds)
    }

    /// Polls a trivial query at `url` until it is answered, `process` dies, or `seconds` pass.
    static func answersQueries(_ url: String, while process: Process, seconds: Double) async throws -> Bool {
        let client = try PrometheusClient(PrometheusConfiguration(url: url, timeoutSeconds: 2))
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        var ready = false
        while !ready, ContinuousClock.now < deadline, process.isRunning {
            ready = (try? await client.query("1")) != nil
            if !ready { try? await Task.sleep(for: .milliseconds(200)) }
        }
        await client.shutdown()
        return ready
    }

    /// Stops the server and removes its temporary directory.
    public func stop() {
        terminate()
        if !keepDirectory { try? FileManager.default.removeItem(at: directory) }
    }

    /// Stops the server and waits for it to exit.
    func terminate() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    /// Runs a tool to its end in `directory`, its output and errors through a file there (a pipe can
    /// fill), and returns its exit status and the last `keepingLast` characters of what it wrote. The
    /// wait holds no thread (see `waitForExit`); a tool still running after `seconds` is killed.
    public static func run(_ executable: String, _ arguments: [String], in directory: URL,
                           keepingLast: Int = 4000, seconds: Double = 600) async throws -> (status: Int32, output: String) {
        let (process, handle, outputFile) = try launch(executable, arguments, in: directory)
        await waitForExit(process, seconds: seconds)
        return collect(process, handle, outputFile, keepingLast: keepingLast)
    }

    /// `run` for the few places that cannot wait asynchronously (a sandbox's synchronous `stop`): it
    /// blocks its thread, so only for tools that end at once.
    static func runBlocking(_ executable: String, _ arguments: [String], in directory: URL,
                            keepingLast: Int = 4000) throws -> (status: Int32, output: String) {
        let (process, handle, outputFile) = try launch(executable, arguments, in: directory)
        process.waitUntilExit()
        return collect(process, handle, outputFile, keepingLast: keepingLast)
    }

    private static func launch(_ executable: String, _ arguments: [String], in directory: URL) throws -> (Process, FileHandle, URL) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let outputFile = directory.appendingPathComponent("\(URL(fileURLWithPath: executable).lastPathComponent).log")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: outputFile)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return (process, handle, outputFile)
    }

    private static func collect(_ process: Process, _ handle: FileHandle, _ outputFile: URL, keepingLast: Int) -> (status: Int32, output: String) {
        try? handle.close()
        let output = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
        return (process.terminationStatus, String(output.suffix(keepingLast)))
    }

    /// Waits until `process` exits by looking every 20 ms, so the wait holds no thread of Swift's
    /// cooperative pool. A test process has only as many of those as the machine has cores, and a
    /// blocking wait there (a backfill, a javac) stalled every other test's tasks for seconds: a Lease
    /// looked unrenewed and a retry's wait ran out before its test looked, on CI. A process still
    /// running after `seconds` (or when the task is cancelled) is killed; returns whether it exited
    /// on its own.
    @discardableResult
    public static func waitForExit(_ process: Process, seconds: Double = 600) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while process.isRunning, ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let exited = !process.isRunning
        if !exited { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return exited
    }
}

/// A free TCP port on 127.0.0.1, found by binding port 0.
public enum FreePort {
    public static func find() throws -> Int {
        let (fd, port) = try bound()
        close(fd)
        return port
    }

    /// A port where nothing listens and nothing else can start listening while the reservation is
    /// held: the socket stays bound (not listening), so a connection is refused, and no other server
    /// of the test run can be handed the port. A port from `find()` is free only for a moment: a
    /// "dead" receiver there was once answered by another test's API server, which took it.
    public static func reserveRefusing() throws -> RefusingPort {
        let (fd, port) = try bound()
        return RefusingPort(fd: fd, port: port)
    }

    static func bound() throws -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { close(fd); throw POSIXError(.EADDRINUSE) }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { close(fd); throw POSIXError(.EADDRNOTAVAIL) }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }
}

/// A port held bound without listening (see `FreePort.reserveRefusing`); released when dropped.
public final class RefusingPort: Sendable {
    public let port: Int
    let fd: Int32
    init(fd: Int32, port: Int) {
        self.fd = fd
        self.port = port
    }
    deinit { close(fd) }
}
