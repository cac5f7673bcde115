import Foundation
import TrimtabCLI
import TrimtabCore
import TrimtabSim

/// `trimtab-bench control`: the same traces under fixed replicas, the HPA algorithm, Trimtab alone and
/// the HPA with Trimtab beside it, in fast time; prints one table.
enum ControlQualityBenchmark {
    static let usage = """
    usage: trimtab-bench control [--trace FILE]... [--scenario NAME]... [--changes]
      --trace FILE     a CSV trace (header time_seconds,requests_per_second, one row per sample) driving the
                       benchmark's web service; repeatable. Without --trace or --scenario: the six standard traces.
      --scenario NAME  one of the standard traces: \(ControlScenarios.all.map(\.name).joined(separator: ", "))
      --changes        also list every change each controller made
    """

    /// The default policy as `trimtab run` would hold it in the cluster: enforce, and allowed to raise
    /// the maxReplicas of an HPA pinned at it (`scale.autoscaler: apply`).
    static func policy() throws -> Policy {
        var policy = try PolicyLoader.load(text: DefaultPolicy.yaml, file: DefaultPolicy.file)
        policy.mode = .enforce
        for index in policy.actions.indices {
            if case .scale(var scale) = policy.actions[index].action {
                scale.autoscaler = .apply
                policy.actions[index].action = .scale(scale)
            }
        }
        return policy
    }

    static func run(arguments: [String]) async throws {
        var scenarios: [ControlScenario] = []
        var listChanges = false
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "--trace":
                guard let file = rest.popFirst() else { throw BenchError(usage) }
                let text: String
                do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                    throw BenchError("cannot read the trace \(file): \(error.localizedDescription)")
                }
                do { scenarios.append(ControlScenarios.custom(try LoadTrace.parseCSV(text, file: file))) } catch { throw BenchError("\(error)") }
            case "--scenario":
                guard let name = rest.popFirst() else { throw BenchError(usage) }
                guard let found = ControlScenarios.all.first(where: { $0.name == name }) else {
                    throw BenchError("no scenario \(name); there are: \(ControlScenarios.all.map(\.name).joined(separator: ", "))")
                }
                scenarios.append(found)
            case "--changes": listChanges = true
            case "--help", "-h": print(usage); return
            default: throw BenchError("unknown argument \(argument)\n\(usage)")
            }
        }
        if scenarios.isEmpty { scenarios = ControlScenarios.all }
        let policy = try policy()
        let clock = ContinuousClock()
        print("control quality: fixed replicas, the HPA algorithm, Trimtab alone, the HPA with Trimtab beside it")
        print("SLO: p95 ≤ 1 s (the default policy's latency warning); minutes are service-minutes; the model steps every 5 s\n")
        print("| trace | controller | SLO-violation min | error min | replica-hours | changes | reversals | pool min | cache min |")
        print("|---|---|---|---|---|---|---|---|---|")
        var simulated = 0.0
        let started = clock.now
        for scenario in scenarios {
            let controllers: [any SimController] = [FixedController(), HPAController(), TrimtabController(policy: policy), HPAWithTrimtab(policy: policy)]
            var runs: [ControlBenchmark.Run] = []
            for controller in controllers {
                let run = await ControlBenchmark.run(scenario, controller: controller, policy: policy)
                simulated += scenario.duration
                runs.append(run)
                let r = run.result
                print("| \(scenario.name) | \(r.controller) | \(r.sloMinutes) | \(r.errorMinutes) | \(String(format: "%.1f", r.replicaHours)) | \(r.changes) | \(r.reversals) | \(r.poolMinutes) | \(r.cacheMinutes) |")
                // Flushed at once, so a long run shows its progress even through a pipe, in order with the header.
                fflush(nil)  // all streams: strict concurrency refuses the global `stdout`
            }
            if listChanges {
                for run in runs where !run.changes.isEmpty {
                    print("\n\(scenario.name), \(run.result.controller):")
                    for change in run.changes {
                        let at = change.time - 1_800_000_000
                        let clock = String(format: "%02d:%02d", Int(at) / 3600, Int(at) % 3600 / 60)
                        print("  \(clock)  \(change.by) \(change.knob) \(TrimtabController.spell(change.from)) → \(TrimtabController.spell(change.to))  (\(change.reason.prefix(160)))")
                    }
                }
                print("")
            }
        }
        let wall = seconds(clock.now - started)
        print(String(format: "\n%.1f simulated hours in %.1f s of wall time (%.0f× real time)", simulated / 3600, wall, simulated / max(wall, 1e-9)))
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
