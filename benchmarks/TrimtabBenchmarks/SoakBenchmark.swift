import Foundation
import TrimtabCore
import TrimtabCycle
import TrimtabKube
import TrimtabSim

/// Weeks of `trimtab run` in fast time: the one cycle every mode runs, every 30 s of simulated time,
/// against the simulated cluster on a month-long multi-day trace, journaling into a real `FileJournal`
/// in a temporary directory. Prints, each simulated day: the process's resident memory, its open file
/// descriptors, the journal's entries and bytes, the wall time the day's cycles took, and whether the
/// journal agrees with the cluster (each knob's latest settled entry against the value the cluster
/// holds; no entry left open). Beside the RSS, what the simulation's stand-in for Prometheus holds
/// (its objective totals, a mark per scrape for the whole run), which is the harness's, not Trimtab's. The journal is bounded by the policy's `journalRetention` (14 days in
/// the default policy): it grows for that long, then stays flat. Asserts nothing: a benchmark.
enum SoakBenchmark {
    static let usage = """
    usage: trimtab-bench soak [--days N]
      --days N   simulated days (default 30)
    """

    static func run(arguments: [String]) async throws {
        var days = 30
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "--days":
                guard let value = rest.popFirst().flatMap(Int.init), value >= 1, value <= 365 else { throw BenchError("--days takes a whole number of days from 1 to 365\n\(usage)") }
                days = value
            case "--help", "-h":
                print(usage)
                return
            default: throw BenchError("unknown argument \(argument)\n\(usage)")
            }
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trimtab-soak-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let journal = FileJournal(directory: directory.path)
        let policy = try ControlQualityBenchmark.policy()
        let scenario = ControlScenario(name: "\(days) days", summary: "\(days) days, 40 → 420 req/s, weekends 60 %, noise 8 %, 3 bursts a day",
                                       services: [ControlScenarios.webService("shop", load: .multiDay(name: "month", days: days, low: 40, high: 420, seed: 11))])
        print("soak: \(scenario.summary); one cycle every \(Int(policy.evaluation.intervalSeconds)) s of simulated time; journal \(directory.path), "
              + "closed entries kept \(PolicyDuration.format(policy.safety.journalRetentionSeconds))")
        print("| day | RSS MiB | simulated Prometheus MiB | RSS less it | open fds | journal entries | journal KiB | wall s (day) | agrees with the cluster |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        let clock = ContinuousClock()
        var dayStarted = clock.now
        let started = clock.now
        let run = await ControlBenchmark.run(scenario, controller: TrimtabController(policy: policy, name: "Trimtab", journal: journal), policy: policy,
                                             observeEvery: 86_400) { elapsed, _, controller, indicators in
            let entries = (try? journal.entries()) ?? []
            let agreement = await agreement(entries, controller.simulatedCluster)
            let day = Int((elapsed / 86_400).rounded())
            let simulated = Double(indicators.objectives.bytesHeld) / 1_048_576
            let resident = residentMiB()
            print("| \(day) | \(String(format: "%.1f", resident)) | \(String(format: "%.1f", simulated)) | \(String(format: "%.1f", resident - simulated)) | \(openDescriptors()) | \(entries.count) | \(journalKiB(directory.path)) "
                  + "| \(String(format: "%.1f", seconds(clock.now - dayStarted))) | \(agreement) |")
            dayStarted = clock.now
            fflush(nil)  // a line a day as it comes, also into a file or a pipe
        }
        let result = run.result
        // What keeping entries decoded saves a cycle, measured here: the same journal read by a fresh
        // FileJournal (every file read and decoded) and by the soak's (unchanged files taken as kept).
        let entries = (try? journal.entries().count) ?? 0
        func milliseconds(_ read: () -> Void) -> Double {
            let start = clock.now
            for _ in 0..<20 { read() }
            return seconds(clock.now - start) * 1000 / 20
        }
        let fresh = milliseconds { _ = try? FileJournal(directory: directory.path).entries() }
        let kept = milliseconds { _ = try? journal.entries() }
        print("reading the journal of \(entries) entries (mean of 20): \(String(format: "%.2f", fresh)) ms decoding every file, "
              + "\(String(format: "%.2f", kept)) ms from what is kept decoded (\(String(format: "%.1f", fresh / max(kept, 1e-9)))×)")
        print("\n\(days) simulated days in \(String(format: "%.0f", seconds(clock.now - started))) s: \(result.changes) changes, \(result.reversals) reversals, "
              + "\(result.sloMinutes) SLO minutes, \(String(format: "%.1f", result.replicaHours)) replica-hours")
    }

    /// Whether the journal agrees with the cluster: "yes", or what disagrees.
    static func agreement(_ entries: [JournalEntry], _ cluster: SimulatedCluster?) async -> String {
        guard let cluster else { return "no cycle yet" }
        var problems: [String] = []
        let open = entries.filter { $0.state.isOpen && $0.state != .applied }
        if !open.isEmpty { problems.append("\(open.count) entries left \(Set(open.map(\.state.rawValue)).sorted().joined(separator: ", "))") }
        // Each knob's latest entry that settled what the cluster should hold.
        var latest: [String: JournalEntry] = [:]
        for entry in entries where [.applied, .verified, .rolledBack, .notEffective].contains(entry.state) {
            let key = "\(entry.workload.name) \(entry.knob)"
            if let kept = latest[key], (kept.updatedAt, kept.id) > (entry.updatedAt, entry.id) { continue }
            latest[key] = entry
        }
        for (key, entry) in latest.sorted(by: { $0.key < $1.key }) {
            guard let actuator = try? cluster.actuator(for: entry.knob, of: entry.workload),
                  let reading = try? await actuator.read() else {
                problems.append("\(key): unreadable")
                continue
            }
            let expected = entry.state.isRestored ? entry.before : entry.after
            if reading.value != expected { problems.append("\(key): journal says \(expected ?? "absent"), the cluster holds \(reading.value ?? "absent")") }
        }
        return problems.isEmpty ? "yes (\(latest.count) knobs)" : problems.joined(separator: "; ")
    }

    static func residentMiB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kib = Double(line.split(separator: " ").dropFirst().first ?? "") else { return .nan }
        return kib / 1024
    }

    static func openDescriptors() -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).count
    }

    static func journalKiB(_ path: String) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        let bytes = names.compactMap { name in
            (try? FileManager.default.attributesOfItem(atPath: (path as NSString).appendingPathComponent(name)))?[.size] as? NSNumber
        }.map(\.intValue).reduce(0, +)
        return bytes / 1024
    }
}
