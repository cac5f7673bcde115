import Foundation
import TrimtabCore
import TrimtabPrometheus
import TrimtabSandbox

/// `trimtab-bench loop [N …]`: what one steady-state cycle of `trimtab run` costs Prometheus against a
/// whole read, and the memory and time of `analyze` and `run` at N workloads (nine indicators,
/// 40-minute windows at 15 s), against a real Prometheus on 127.0.0.1.
enum LoopBenchmark {
    static let indicators = 9

    static func policy() -> String {
        var text = """
        apiVersion: trimtab/v1
        kind: Policy
        metadata: {name: loop-bench}
        spec:
          targets: {groupBy: [namespace, deployment]}
          evaluation: {step: 15s, lookback: 30m, interval: 15s}
          indicators:

        """
        for index in 0..<indicators {
            text += "    m\(index): {query: 'max by ($by) (bench_m\(index){$selector})', unit: ratio}\n"
        }
        text += "  checks:\n"
        for index in 0..<indicators {
            text += "    m\(index): {worse: higher, warning: 70%, critical: 90%, for: 10m, weight: 1}\n"
        }
        return text
    }

    /// Writes the history straight to a file: at 5,000 workloads it is over half a gigabyte.
    static func writeHistory(to url: URL, workloads: Int, start: Double, end: Double) throws {
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        var buffer = ""
        buffer.reserveCapacity(1 << 22)
        for index in 0..<indicators {
            for workload in 0..<workloads {
                let prefix = "bench_m\(index){deployment=\"d\(workload)\",namespace=\"bench\"} "
                var time = start
                var step = 0
                while time <= end {
                    // Mostly healthy, a few in breach, values that vary so answers do not compress to nothing.
                    let value = workload % 50 == 0 ? 0.95 : 0.3 + Double((workload * 7 + step) % 40) / 100
                    buffer += prefix + String(value) + " " + String(Int(time)) + "\n"
                    time += 15
                    step += 1
                }
                if buffer.utf8.count > 1 << 22 {
                    handle.write(Data(buffer.utf8))
                    buffer.removeAll(keepingCapacity: true)
                }
            }
        }
        buffer += "# EOF\n"
        handle.write(Data(buffer.utf8))
    }

    /// Runs a command and returns its wall seconds and peak resident memory (KiB), measured by a
    /// Python parent whose only child it is (`getrusage(RUSAGE_CHILDREN)`).
    static func measure(_ command: [String]) throws -> (seconds: Double, maxRSSKiB: Int, status: Int32) {
        let script = """
        import resource, subprocess, sys, time
        t = time.monotonic()
        r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(time.monotonic() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + command
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let parts = output.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        return (Double(parts[0]) ?? 0, Int(parts[1]) ?? 0, Int32(parts[2]) ?? -1)
    }

    /// Prints the resident memory of a command every second while it runs (VmRSS from /proc).
    static func traceRSS(_ command: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var line: [String] = []
        while process.isRunning {
            let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
            if let rss = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) {
                line.append(rss.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.map { "\(Int($0)! / 1024)" } ?? "?")
            }
            Thread.sleep(forTimeInterval: 1)
        }
        print("  run RSS (MB) every second: " + line.joined(separator: " "))
    }

    /// The same queries with curl, `concurrency` at a time: the fetch alone, with no decoding.
    static func curlSeconds(url: String, queries: [IndicatorQuery], concurrency: Int, in dir: URL) throws -> Double {
        // Each query in a file, so no shell quoting stands between curl and the PromQL.
        var lines: [String] = []
        for (index, query) in queries.enumerated() {
            let file = dir.appendingPathComponent("query-\(index).txt")
            try query.promql.write(to: file, atomically: true, encoding: .utf8)
            lines.append("curl -sf --compressed -o /dev/null --data-urlencode query@\(file.path) -d start=\(Int(query.start)) -d end=\(Int(query.end)) -d step=\(Int(query.step)) \(url)/api/v1/query_range")
        }
        let script = dir.appendingPathComponent("fetch.txt")
        try (lines.joined(separator: "\n") + "\n").write(to: script, atomically: true, encoding: .utf8)
        let clock = ContinuousClock()
        let started = clock.now
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/xargs")
        process.arguments = ["-P", "\(concurrency)", "-I{}", "-a", script.path, "sh", "-c", "{}"]
        try process.run()
        process.waitUntilExit()
        precondition(process.terminationStatus == 0, "curl failed")
        return seconds(clock.now - started)
    }

    /// Backfills the history of `workloads` workloads, starts Prometheus on it and writes the policy,
    /// prints the commands that profile `analyze` and `run` against them, and serves until interrupted.
    static func serve(workloads: Int) async throws {
        // Its lines are read while it runs, often from a file: written as they are made.
        @Sendable func say(_ text: String) { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trimtab-loop-serve-\(workloads)")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let now = (Date().timeIntervalSince1970 / 15).rounded(.down) * 15
        let history = dir.appendingPathComponent("history.om")
        // Two hours ahead, so a daemon's cycles keep finding points while it is profiled.
        try writeHistory(to: history, workloads: workloads, start: now - 41 * 60, end: now + 120 * 60)
        let sandbox = try await PrometheusSandbox.start(historyFile: history, directory: dir, keep: true) { say("  \($0)") }
        let policyFile = dir.appendingPathComponent("policy.yaml")
        try policy().write(to: policyFile, atomically: true, encoding: .utf8)
        say("""
        Prometheus with \(workloads) workloads at \(sandbox.url) (history until +2 h), policy \(policyFile.path)
          trimtab analyze --prometheus \(sandbox.url) --policy \(policyFile.path) --at \(Int(now)) --timeout 120s --output \(dir.path)/a.md
          trimtab run --prometheus \(sandbox.url) --policy \(policyFile.path) --listen 127.0.0.1:0 --max-cycles 4 --interval 15s --no-jitter --timeout 120s
        Ctrl-C (or SIGTERM) stops Prometheus and removes \(dir.path).
        """)
        let (stop, continuation) = AsyncStream<Void>.makeStream()
        let sources = [SIGINT, SIGTERM].map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig)
            source.setEventHandler { continuation.yield() }
            source.resume()
            return source
        }
        for await _ in stop { break }
        sources.forEach { $0.cancel() }
        sandbox.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    static func run(sizes: [Int]) async throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("trimtab").path
        print("trimtab run's steady-state cycle against a whole read, and memory, at N workloads")
        print("(\(indicators) indicators, 40-minute windows at 15 s, real Prometheus on 127.0.0.1; medians of 3)\n")
        var rows: [String] = []
        var otherRows: [String] = []
        for workloads in sizes {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trimtab-loop-bench-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let now = (Date().timeIntervalSince1970 / 15).rounded(.down) * 15
            let history = dir.appendingPathComponent("history.om")
            try writeHistory(to: history, workloads: workloads, start: now - 41 * 60, end: now + 15 * 60)
            let sandbox = try await PrometheusSandbox.start(historyFile: history, directory: dir, keep: true) { print("  \($0)") }
            defer { sandbox.stop() }
            let policyFile = dir.appendingPathComponent("policy.yaml")
            try policy().write(to: policyFile, atomically: true, encoding: .utf8)
            let policy = try PolicyLoader.load(text: policy(), file: "policy.yaml")

            // Whole reads and steady reads, in process: bytes and wall time.
            let client = try PrometheusClient(PrometheusConfiguration(url: sandbox.url, timeoutSeconds: 120))
            let reader = SnapshotReader(source: client, maxConcurrentQueries: 4)
            // What trimtab run reads again by default: two steps, at least 30 s.
            let overlap = max(2 * policy.evaluation.stepSeconds, 30)
            let clock = ContinuousClock()
            var whole: [(Double, Int)] = []
            var steady: [(Double, Int)] = []
            for round in 0..<3 {
                let time = now - Double(round) * 60
                var cache = WindowCache()
                var started = clock.now
                let first = await reader.read(policy: policy, at: time - policy.evaluation.intervalSeconds, cache: &cache, overlapSeconds: overlap)
                whole.append((seconds(clock.now - started), first.bytes))
                precondition(first.result.errors.isEmpty && first.result.snapshot.targets(in: ["m0"]).count == workloads, "\(first.result.errors)")
                started = clock.now
                let next = await reader.read(policy: policy, at: time, cache: &cache, overlapSeconds: overlap)
                steady.append((seconds(clock.now - started), next.bytes))
                precondition(next.wholeReads == 0 && next.result.errors.isEmpty)
            }
            await client.shutdown()
            let wholeSeconds = median(whole.map(\.0)), steadySeconds = median(steady.map(\.0))
            let wholeBytes = whole[0].1, steadyBytes = steady[0].1

            // The fetch alone with curl, then analyze and run as an operator starts them.
            let queries = IndicatorQuery.plan(for: policy, at: now)
            var curls: [Double] = []
            // With another build to compare, the two take turns, so neither gets the quieter minutes (a
            // Prometheus fresh from a backfill is busier at first: whichever went first was slower).
            let other = ProcessInfo.processInfo.environment["TRIMTAB_BENCH_OTHER_BINARY"]
            func analyzeOnce(_ program: String) throws -> (seconds: Double, maxRSSKiB: Int, status: Int32) {
                try measure([program, "analyze", "--prometheus", sandbox.url, "--policy", policyFile.path, "--at", "\(Int(now))",
                             "--quiet", "--timeout", "120s", "--output", dir.appendingPathComponent("a.md").path])
            }
            func runCommand(_ program: String, cycles: Int) -> [String] {
                [program, "run", "--prometheus", sandbox.url, "--policy", policyFile.path, "--listen", "127.0.0.1:0",
                 "--max-cycles", "\(cycles)", "--interval", "15s", "--no-jitter", "--timeout", "120s"]
            }
            var analyze: [(seconds: Double, maxRSSKiB: Int, status: Int32)] = []
            var otherAnalyze: [(seconds: Double, maxRSSKiB: Int, status: Int32)] = []
            // curl takes its turn too: a Prometheus fresh from a backfill works in the background for
            // minutes, and a fetch measured before the analyses would meet it in another state.
            for _ in 0..<3 {
                curls.append(try curlSeconds(url: sandbox.url, queries: queries, concurrency: 4, in: dir))
                analyze.append(try analyzeOnce(binary))
                if let other { otherAnalyze.append(try analyzeOnce(other)) }
            }
            let curl = median(curls)
            precondition((analyze + otherAnalyze).allSatisfy { $0.status == 0 }, "analyze failed: \(analyze) \(otherAnalyze)")
            let daemon = try measure(runCommand(binary, cycles: 4))
            precondition(daemon.status == 0, "run failed: \(daemon)")
            if ProcessInfo.processInfo.environment["TRIMTAB_BENCH_RSS_TRACE"] != nil {
                try traceRSS(runCommand(binary, cycles: 8))
            }
            // Another build of trimtab, measured the same way against the same Prometheus: a before-and-after
            // in one run, which the figures of separate runs on a shared machine are not.
            if let other {
                let otherDaemon = try measure(runCommand(other, cycles: 4))
                let seconds = median(otherAnalyze.map(\.seconds))
                otherRows.append("| \(workloads) | \(other) | " + String(format: "%.2f s (%+.0f %% vs curl) | %d MB | %d MB |",
                                        seconds, 100 * (seconds - curl) / curl,
                                        otherAnalyze.map(\.maxRSSKiB).max()! / 1024, otherDaemon.maxRSSKiB / 1024))
            }
            let analyzeSeconds = median(analyze.map(\.seconds))
            rows.append(String(format: "| %d | %.1f MB | %.2f s | %.0f KB | %.3f s | %.1f %% | %.1f %% | %.2f s | %.2f s (%+.0f %%) | %d MB | %d MB |",
                               workloads, Double(wholeBytes) / 1e6, wholeSeconds, Double(steadyBytes) / 1e3, steadySeconds,
                               100 * Double(steadyBytes) / Double(wholeBytes), 100 * steadySeconds / wholeSeconds,
                               curl, analyzeSeconds, 100 * (analyzeSeconds - curl) / curl,
                               analyze.map(\.maxRSSKiB).max()! / 1024, daemon.maxRSSKiB / 1024))
        }
        print("| workloads | whole read | whole read time | steady cycle | steady cycle time | steady bytes / whole | steady time / whole | curl fetch (4 at once) | analyze (vs curl) | analyze peak RSS | run peak RSS (4 cycles) |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for row in rows { print(row) }
        if !otherRows.isEmpty {
            print("\nTRIMTAB_BENCH_OTHER_BINARY, against the same Prometheus in the same run:\n")
            print("| workloads | binary | analyze | analyze peak RSS | run peak RSS (4 cycles) |")
            print("|---|---|---|---|---|")
            for row in otherRows { print(row) }
        }
    }
}

/// `trimtab-bench decode`: decoding one range answer of 1,000 series × 161 points, streamed and whole,
/// and grouping it by target; in process, no server.
enum DecodeBenchmark {
    static func run() throws {
        var text = #"{"status":"success","data":{"resultType":"matrix","result":["#
        for series in 0..<1000 {
            if series > 0 { text += "," }
            text += #"{"metric":{"deployment":"d\#(series)","namespace":"bench"},"values":["#
            for point in 0..<161 {
                if point > 0 { text += "," }
                text += "[\(1_700_000_000 + point * 15),\"\(0.3 + Double((series * 7 + point) % 40) / 100)\"]"
            }
            text += "]}"
        }
        text += "]}}"
        let bytes = Array(text.utf8)
        let data = Data(text.utf8)
        let clock = ContinuousClock()
        func time(_ body: () throws -> Void) rethrows -> Double {
            var runs: [Double] = []
            for _ in 0..<5 {
                let started = clock.now
                try body()
                runs.append(seconds(clock.now - started))
            }
            return median(runs) * 1000
        }
        let query = IndicatorQuery(indicator: "m", promql: "m", start: 1_700_000_000, end: 1_700_002_400, step: 15)
        var streamed: QueryResponse?
        let streamMs = try time { streamed = try AnswerDecoding.streamed(bytes) }
        let wholeMs = try time { _ = try AnswerDecoding.whole(data) }
        let groupMs = time { _ = IndicatorData.from(streamed!.result.series, query: query, groupBy: ["namespace", "deployment"]) }
        print("decode one answer of \(bytes.count / 1000) KB (1,000 series × 161 points): median of 5")
        print(String(format: "streamed %.1f ms (%.0f MB/s); whole with JSONDecoder %.1f ms; grouping by target %.1f ms",
                     streamMs, Double(bytes.count) / streamMs / 1000, wholeMs, groupMs))
    }
}
