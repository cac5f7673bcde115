import Foundation
import Logging
import Testing
import TrimtabCLI
import TrimtabCore
import TrimtabCycle
import TrimtabDaemon
import TrimtabKube
import TrimtabKubeSandbox
import TrimtabPrometheus
import TrimtabSandbox
import TrimtabTestSupport

/// Every mode runs one cycle: a daemon that has read its windows incrementally for several cycles and
/// an `analyze` at the same evaluation time must judge identically.
@Suite("One cycle for every mode")
struct OneCycleTests {
    @Test func aDaemonCycleAfterIncrementalReadsJudgesAsAnalyzeDoes() async throws {
        let step = 30.0
        let end = (alignedNow() / step).rounded(.down) * step
        let policy = try PolicyLoader.load(text: DefaultPolicy.yaml, file: "default.yaml")
        let sandbox = try await KubeSandbox.start(configuration: .demo)
        let journal = FileManager.default.temporaryDirectory.appendingPathComponent("trimtab-journal-\(UUID().uuidString)").path
        let metrics = DaemonMetrics()
        let (daemon, lastCycle, analysis, status) = try await withPrometheus(DemoScenario.openMetrics(end: end)) { prometheus in
            let client = try PrometheusClient(PrometheusConfiguration(url: prometheus.url))
            let kube = try KubeClient(KubeConfiguration(server: sandbox.url, token: KubeSandbox.adminToken, timeoutSeconds: 5))
            let http = HTTPEndpointClient()
            let cluster = KubeCluster(client: kube, http: http, journal: FileJournal(directory: journal))
            // Five cycles a minute apart, the last at `end`; the timer fires 7 s past the step grid.
            let clock = ManualClock(start: end - 240 + 7)
            var settings = DaemonSettings(identity: "side-by-side")
            settings.clock = clock
            settings.interval = 60
            settings.maxCycles = 5
            settings.firstCycleJitter = false
            settings.modeOverride = .dryRun
            let board = StatusBoard(identity: settings.identity, policy: policy, clusterConfigured: true)
            var logger = Logger(label: "side-by-side")
            logger.logLevel = .error
            let loop = ControlLoop(settings: settings, policy: policy, source: client, cluster: cluster, board: board,
                                   metrics: metrics, logger: logger)
            let running = Task { try await loop.run() }
            // Drives the loop: once a cycle is recorded and the loop and the election both sleep on
            // the clock, it moves on a minute. Bounded in count (and so in time: 30 s at most).
            var driven = 0
            for _ in 0..<3000 {
                let number = await board.latest().cycle?.number ?? 0
                if number >= 5 { break }
                if number > driven, clock.waiting >= 2 {
                    driven = number
                    clock.advance(by: 60)
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            try await running.value
            let (cycle, report) = await board.latest()
            // The same evaluation time, through `analyze`'s path: a whole read and the same cluster.
            let analysis = await AnalysisRun(policy: policy, source: client, time: end, cluster: cluster, mode: .dryRun).execute()
            await client.shutdown()
            await kube.shutdown()
            await http.shutdown()
            return (try #require(report), try #require(cycle), analysis, await board.document())
        }
        await sandbox.stop()
        try? FileManager.default.removeItem(atPath: journal)
        #expect(lastCycle.number == 5)
        #expect(lastCycle.evaluationTime == end)
        // The fifth cycle read only the points since the fourth: no indicator was read whole.
        #expect(lastCycle.wholeReads == 0)
        #expect(analysis.cycle.read.wholeReads == policy.queriedIndicators.count)
        #expect(analysis.report.assessment.time == end)
        // The same judgement: statuses, breaches, times and texts exactly, values to 1e-9 (Prometheus sums
        // series in hash order, so the same query twice can differ in the last bit).
        #expect(try disagreements(analysis.report.assessment, daemon.assessment) == [])
        #expect(try disagreements(analysis.report.plan, daemon.plan) == [])
        // Not vacuous: the demo's data has bottlenecks and changes to propose, checked with the API server.
        #expect(!daemon.assessment.bottlenecks.isEmpty)
        #expect(daemon.plan?.proposed.isEmpty == false)
        #expect(daemon.execution?.outcomes.contains { $0.result == .wouldApply } == true)
        #expect(try disagreements(analysis.report.execution?.outcomes, daemon.execution?.outcomes) == [])
        // The objectives too, and the daemon shows them at /metrics and in its status document.
        let objectives = try #require(analysis.report.objectives)
        #expect(objectives.count == 2 * analysis.report.assessment.targets.count && !objectives.isEmpty)
        #expect(try disagreements(objectives, daemon.objectives) == [])
        #expect(try disagreements(objectives, status.objectives) == [])
        let exposition = metrics.exposition()
        for objective in objectives {
            let labels = zip(objective.target.labelNames, objective.target.labelValues).map { "\($0)=\"\($1)\"" }.joined(separator: ",")
                + ",objective=\"\(objective.objective)\""
            let left = metricValue(exposition, "trimtab_objective_budget_remaining_ratio", labels: labels)
            if let budget = objective.budgetLeft { #expect(left.map { abs($0 - budget) < 1e-9 } == true, "\(labels): \(left ?? .nan) against \(budget)") }
            let fiveMinutes = metricValue(exposition, "trimtab_objective_burn_rate", labels: labels + ",window=\"5m\"")
            if let burn = objective.burn(over: 300) { #expect(fiveMinutes.map { abs($0 - burn) < 1e-9 } == true, "\(labels)") }
            let fast = metricValue(exposition, "trimtab_objective_fast_burn", labels: labels)
            if objective.state == .unknown { #expect(fast?.isNaN == true) } else {
                #expect(fast == (objective.state == .fastBurn || objective.state == .exhausted ? 1 : 0), "\(labels): \(objective.state)")
            }
        }
    }
}
