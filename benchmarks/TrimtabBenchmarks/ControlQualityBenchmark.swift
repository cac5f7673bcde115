import Foundation
import TrimtabCLI
import TrimtabCore
import TrimtabSim

/// `trimtab-bench control`: the same traces under fixed replicas, the HPA algorithm, the best-tuned HPA,
/// Trimtab alone and the HPA with Trimtab beside it, in fast time; prints one table.
enum ControlQualityBenchmark {
    static let usage = """
    usage: trimtab-bench control [--trace FILE]... [--scenario NAME]... [--changes]
      --trace FILE     a CSV trace (header time_seconds,requests_per_second, one row per sample) driving the
                       benchmark's web service; repeatable. Without --trace or --scenario: the eight standard traces.
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

    /// The same policy with its pool and TTL knobs live: keys of a ConfigMap mounted whole, which the
    /// pods re-read about a minute after a write, rolling none (in place of the default's env vars).
    static func livePolicy(_ policy: Policy) -> Policy {
        var live = policy
        for index in live.actions.indices {
            switch live.actions[index].action {
            case .poolSize(var pool):
                pool.knob = SimulatedCluster.livePoolKnob
                live.actions[index].action = .poolSize(pool)
            case .cacheTTL(var cache):
                cache.knob = SimulatedCluster.liveTTLKnob
                live.actions[index].action = .cacheTTL(cache)
            case .scale:
                break
            }
        }
        return live
    }

    /// The same policy with a seasonal forecast on its scale rule (`forecast: {load: request_rate}`,
    /// the defaults: 8 days of history at 5 minutes, 5 minutes' lead, 25 % error at most).
    static func forecastPolicy(_ policy: Policy) -> Policy {
        var forecasting = policy
        for index in forecasting.actions.indices {
            if case .scale(var scale) = forecasting.actions[index].action {
                scale.forecast = ForecastRule()
                forecasting.actions[index].action = .scale(scale)
            }
        }
        return forecasting
    }

    /// The traces long enough for a daily forecast (two days of history and a day to backtest it).
    static let forecastTraces: Set<String> = ["week", "bursty days"]

    /// The traces whose changes are pools and TTLs, where a live knob differs from an env var.
    static let liveTraces: Set<String> = ["pool-bound", "cold cache"]

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
        print("control quality: fixed replicas, the HPA algorithm (70 %), the best-tuned HPA, Trimtab alone, the HPA with Trimtab beside it")
        print("SLO: the default policy's objectives over each whole trace (\(policy.objectives.map { "\($0.name) \(Formatting.number($0.target * 100)) %" }.joined(separator: ", "))); SLO-violation minutes: p95 above 1 s; minutes are service-minutes; the model steps every 5 s")
        print("best-tuned HPA: its CPU target swept \(Int(sweep.first! * 100))–\(Int(sweep.last! * 100)) % by 5, the cheapest (replica-hours) that meets the SLO\n")
        print("| trace | controller | SLO-violation min | error min | replica-hours | changes | reversals | pool min | cache min | SLO met | latency SLI | availability SLI | budget used | longest breach min | CPU core-hours |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        var simulated = 0.0
        let started = clock.now
        for scenario in scenarios {
            var runs: [ControlBenchmark.Run] = []
            func row(_ run: ControlBenchmark.Run, name: String? = nil) {
                let r = run.result
                print("| \(scenario.name) | \(name ?? r.controller) | \(r.sloMinutes) | \(r.errorMinutes) | \(String(format: "%.1f", r.replicaHours)) | \(r.changes) | \(r.reversals) | \(r.poolMinutes) | \(r.cacheMinutes) | \(r.sloMet ? "yes" : "no") | \(share(r, .latency)) | \(share(r, .availability)) | \(String(format: "%.0f %%", r.budgetUsed * 100)) | \(r.longestBreachMinutes) | \(String(format: "%.1f", r.cpuCoreHours)) |")
                // Flushed at once, so a long run shows its progress even through a pipe, in order with the header.
                fflush(nil)  // all streams: strict concurrency refuses the global `stdout`
            }
            func share(_ r: ControlResult, _ kind: Objective.Kind) -> String {
                guard let index = policy.objectives.firstIndex(where: { $0.kind == kind }), index < r.compliance.count else { return "–" }
                return String(format: "%.3f %%", r.compliance[index].share * 100)
            }
            for controller in [FixedController(), HPAController()] as [any SimController] {
                let run = await ControlBenchmark.run(scenario, controller: controller, policy: policy)
                simulated += scenario.duration
                runs.append(run)
                row(run)
            }
            let swept = await bestTuned(scenario, policy: policy)
            simulated += scenario.duration * Double(sweep.count)
            row(swept.run, name: swept.label)
            for controller in [TrimtabController(policy: policy), HPAWithTrimtab(policy: policy)] as [any SimController] {
                let run = await ControlBenchmark.run(scenario, controller: controller, policy: policy)
                simulated += scenario.duration
                runs.append(run)
                row(run)
            }
            // The pool and TTL knobs live (a mounted ConfigMap) in place of env vars: no rollout.
            if liveTraces.contains(scenario.name) || !ControlScenarios.all.contains(where: { $0.name == scenario.name }) {
                let live = livePolicy(policy)
                for controller in [TrimtabController(policy: live, name: "Trimtab, live knobs"), HPAWithTrimtab(policy: live, name: "HPA + Trimtab, live knobs")] as [any SimController] {
                    let run = await ControlBenchmark.run(scenario, controller: controller, policy: live)
                    simulated += scenario.duration
                    runs.append(run)
                    row(run)
                }
            }
            // A seasonal forecast raises the replicas ahead of the daily peak (Trimtab alone: an HPA's
            // floor is its minReplicas, which the forecast does not move).
            if forecastTraces.contains(scenario.name) || !ControlScenarios.all.contains(where: { $0.name == scenario.name }) {
                let forecasting = forecastPolicy(policy)
                let run = await ControlBenchmark.run(scenario, controller: TrimtabController(policy: forecasting, name: "Trimtab, forecast"), policy: forecasting)
                simulated += scenario.duration
                runs.append(run)
                row(run)
            }
            if listChanges {
                for run in runs where !run.changes.isEmpty {
                    print("\n\(scenario.name), \(run.result.controller):")
                    for change in run.changes {
                        let at = change.time - 1_800_000_000
                        let clock = String(format: "%dd %02d:%02d", Int(at) / 86_400, Int(at) % 86_400 / 3600, Int(at) % 3600 / 60)
                        print("  \(clock)  \(change.by) \(change.knob) \(TrimtabController.spell(change.from)) → \(TrimtabController.spell(change.to))  (\(change.reason.prefix(160)))")
                    }
                }
                print("")
            }
        }
        let wall = seconds(clock.now - started)
        print(String(format: "\n%.1f simulated hours in %.1f s of wall time (%.0f× real time)", simulated / 3600, wall, simulated / max(wall, 1e-9)))
    }

    /// The HPA's CPU targets the best-tuned HPA is chosen from: 40 % to 95 % by 5.
    static let sweep = stride(from: 40, through: 95, by: 5).map { Double($0) / 100 }

    /// The HPA at every target of the sweep, run side by side; the cheapest that meets every objective
    /// over the trace, or (when none does) the one with the fewest SLO-violation minutes.
    static func bestTuned(_ scenario: ControlScenario, policy: Policy) async -> (run: ControlBenchmark.Run, label: String) {
        let runs = await withTaskGroup(of: (Double, ControlBenchmark.Run).self) { group in
            for target in sweep {
                var tuned = scenario
                for index in tuned.services.indices { tuned.services[index].autoscaler?.targetUtilization = target }
                group.addTask { (target, await ControlBenchmark.run(tuned, controller: HPAController(), policy: policy)) }
            }
            var all: [(Double, ControlBenchmark.Run)] = []
            for await run in group { all.append(run) }
            return all.sorted { $0.0 < $1.0 }
        }
        if let best = runs.filter({ $0.1.result.sloMet }).min(by: { $0.1.result.replicaHours < $1.1.result.replicaHours }) {
            return (best.1, "best-tuned HPA (\(Int((best.0 * 100).rounded())) %)")
        }
        let fewest = runs.min { ($0.1.result.sloMinutes, $0.1.result.replicaHours) < ($1.1.result.sloMinutes, $1.1.result.replicaHours) }!
        return (fewest.1, "best-tuned HPA (none meets the SLO; \(Int((fewest.0 * 100).rounded())) % has the fewest SLO minutes)")
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
