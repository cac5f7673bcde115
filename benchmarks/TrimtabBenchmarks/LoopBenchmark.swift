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

    /// The same queries with curl, `concurrency` at a time: the fetch alone, with no decoding.
    static func curlSeconds(url: String, queries: [IndicatorQuery], concurrency: Int) throws -> Double {
        let lines = queries.map { query in
            "curl -s -o /dev/null --data-urlencode 'query=\(query.promql)' -d start=\(Int(query.start)) -d end=\(Int(query.end)) -d step=\(Int(query.step)) \(url)/api/v1/query_range"
        }
        let script = lines.joined(separator: "\n")
        let clock = ContinuousClock()
        let started = clock.now
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "printf '%s\\n' \"$0\" | xargs -P \(concurrency) -I{} bash -c '{}'", script]
        try process.run()
        process.waitUntilExit()
        return seconds(clock.now - started)
    }

    static func run(sizes: [Int]) async throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("trimtab").path
        print("trimtab run's steady-state cycle against a whole read, and memory, at N workloads")
        print("(\(indicators) indicators, 40-minute windows at 15 s, real Prometheus on 127.0.0.1; medians of 3)\n")
        var rows: [String] = []
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
            let clock = ContinuousClock()
            var whole: [(Double, Int)] = []
            var steady: [(Double, Int)] = []
            for round in 0..<3 {
                let time = now - Double(round) * 60
                var cache = WindowCache()
                var started = clock.now
                let first = await reader.read(policy: policy, at: time - 30, cache: &cache, overlapSeconds: 60)
                whole.append((seconds(clock.now - started), first.bytes))
                precondition(first.result.errors.isEmpty && first.result.snapshot.targets(in: ["m0"]).count == workloads, "\(first.result.errors)")
                started = clock.now
                let next = await reader.read(policy: policy, at: time, cache: &cache, overlapSeconds: 60)
                steady.append((seconds(clock.now - started), next.bytes))
                precondition(next.wholeReads == 0 && next.result.errors.isEmpty)
            }
            await client.shutdown()
            let wholeSeconds = median(whole.map(\.0)), steadySeconds = median(steady.map(\.0))
            let wholeBytes = whole[0].1, steadyBytes = steady[0].1

            // The fetch alone with curl, then analyze and run as an operator starts them.
            let queries = IndicatorQuery.plan(for: policy, at: now)
            let curl = median(try (0..<3).map { _ in try curlSeconds(url: sandbox.url, queries: queries, concurrency: 4) })
            let analyze = try (0..<3).map { _ in
                try measure([binary, "analyze", "--prometheus", sandbox.url, "--policy", policyFile.path, "--at", "\(Int(now))",
                             "--quiet", "--timeout", "120s", "--output", dir.appendingPathComponent("a.md").path])
            }
            precondition(analyze.allSatisfy { $0.status == 0 }, "analyze failed: \(analyze)")
            let daemon = try measure([binary, "run", "--prometheus", sandbox.url, "--policy", policyFile.path, "--listen", "127.0.0.1:0",
                                      "--max-cycles", "4", "--interval", "15s", "--no-jitter", "--timeout", "120s"])
            precondition(daemon.status == 0, "run failed: \(daemon)")
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
    }
}
