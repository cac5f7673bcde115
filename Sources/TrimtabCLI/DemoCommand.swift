import ArgumentParser
import Foundation
import Logging
import TrimtabCore
import TrimtabCycle
import TrimtabDaemon
import TrimtabKube
import TrimtabKubeSandbox
import TrimtabPrometheus
import TrimtabSandbox

/// `trimtab demo`: the whole analysis against a real local Prometheus with a synthetic history.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run an analysis against a local Prometheus and a sandbox cluster. No real cluster needed.",
        discussion: """
        Backfills three hours of metrics for seven services in namespace `shop` (CPU-bound, a one-minute \
        spike, healthy and idle, pool-bound, error spike, cache-cold, gone quiet) with promtool, starts \
        Prometheus on 127.0.0.1 on a free port, and starts the sandbox Kubernetes API server with the \
        same services as Deployments (and an HPA on inventory). Then runs `trimtab analyze` with the \
        default policy against both: the plan is checked by the API server with dryRun=All (or applied \
        to the sandbox with --apply, journaled in .demo/journal), and `trimtab report` over the last \
        hour. Writes the reports and stops both servers. Needs Debian's prometheus package (scripts/demo \
        installs it).

        Examples:
          trimtab demo
          trimtab demo --apply --keep-running      # then: kubectl --kubeconfig .demo/kubectl.kubeconfig get deploy,events
          trimtab demo --daemon                    # trimtab run against both; prints where /metrics and /api/v1/status are
          trimtab demo --daemon --apply --cycles 3 --interval 5s
          trimtab demo --live                      # a simulated service that answers; trimtab run steers it through a spike
          trimtab demo --live --duration 4m --check   # the short form CI runs
        """
    )

    @OptionGroup(title: "Policy") var policy: PolicyOptions

    @Option(help: ArgumentHelp("Directory for the reports (demo.md, demo.json and demo-report.md).", valueName: "dir"))
    var outputDirectory: String = "reports"

    @Flag(help: "Keep Prometheus and the sandbox API server running after the report, until interrupted, to explore.")
    var keepRunning = false

    @Flag(help: "Apply the plan to the sandbox cluster (journaled in .demo/journal) instead of only dry-running it.")
    var apply = false

    @Flag(help: "Run the control loop (trimtab run) against the demo's Prometheus and sandbox API server instead of one analysis, until Ctrl-C or --cycles.")
    var daemon = false

    @Option(help: ArgumentHelp("With --daemon: stop after this many cycles.", valueName: "count"))
    var cycles: Int?

    @Option(help: ArgumentHelp("With --daemon: time between cycles.", valueName: "duration"))
    var interval: String = "10s"

    @Option(help: ArgumentHelp("With --daemon or --live: where trimtab run's endpoints listen (port 0 picks a free one).", valueName: "address"))
    var listen: String = "127.0.0.1:0"

    @Flag(help: "A world that answers: a simulated service behind the sandbox API server, scraped by a real Prometheus, steered by trimtab run (enforce) through a load spike; then the report with the score over time.")
    var live = false

    @Option(help: ArgumentHelp("With --live: how long trimtab run steers.", valueName: "duration"))
    var duration: String = "6m"

    @Flag(help: "With --live: exit 1 unless a scale-out was applied and verified and the score fell and recovered (what CI runs).")
    var check = false

    func run() async throws {
        if live {
            let seconds = try durationFlag(duration, flag: "--duration")
            let demo = LiveDemo(seconds: seconds, spikeAt: 45, outputDirectory: outputDirectory, listen: listen, check: check)
            if try await !demo.run() { throw ExitCode(1) }
            return
        }
        let policy = try self.policy.loadOrExit()
        let step = DemoScenario.scrapeInterval
        let end = EvaluationTime.onGrid(SystemClock().now(), step: step)
        printError("writing \(PolicyDuration.format(DemoScenario.historySeconds)) of synthetic history for \(DemoScenario.profiles.count) services")
        let sandbox: PrometheusSandbox
        do {
            sandbox = try await PrometheusSandbox.start(openMetrics: DemoScenario.openMetrics(end: end), log: { printError($0) })
        } catch let error as PrometheusSandbox.SandboxError {
            printError("error: \(error)")
            throw TrimtabExit.metricsUnavailable
        }
        defer { sandbox.stop() }
        let cluster = try await KubeSandbox.start(configuration: .demo)
        let outcome: AnalysisRun.Outcome
        let period: PeriodReport
        let kubeconfig = ".demo/kubeconfig", kubectlConfig = ".demo/kubectl.kubeconfig", journal = ".demo/journal"
        do {
            try KubeSandboxCommand.writeKubeconfigs(for: cluster, trimtab: kubeconfig, kubectl: kubectlConfig)
            // The sandbox starts afresh, so the journal does too.
            try? FileManager.default.removeItem(atPath: journal)
            printError("started the sandbox API server at \(cluster.url) (kubeconfig \(kubeconfig))")
            // Each client is made once nothing before it can fail, and shut down on every path after.
            let kube = try KubeClient(try KubeConfiguration.load(kubeconfigAt: kubeconfig))
            let client: PrometheusClient
            do {
                client = try PrometheusClient(PrometheusConfiguration(url: sandbox.url))
            } catch {
                await kube.shutdown()
                throw error
            }
            let endpoints = HTTPEndpointClient()
            if daemon {
                try await runDaemon(policy: policy, client: client, kube: kube, endpoints: endpoints, journal: journal, prometheusURL: sandbox.url,
                                    kubectlConfig: kubectlConfig)
                await client.shutdown()
                await kube.shutdown()
                await endpoints.shutdown()
                await cluster.stop()
                return
            }
            let run = AnalysisRun(policy: policy, source: client, time: end,
                                  cluster: KubeCluster(client: kube, http: endpoints, journal: FileJournal(directory: journal)),
                                  mode: apply ? .enforce : .dryRun)
            outcome = await run.execute(progress: { printError($0) })
            await kube.shutdown()
            await endpoints.shutdown()
            // And the period report over the last hour, against the hour before.
            (period, _) = await ReportCommand.build(policy: policy, source: client, period: ReportPeriod(start: end - 3600, end: end))
            await client.shutdown()
        } catch {
            await cluster.stop()
            printError("error: \(error)")
            throw TrimtabExit.invalidInput
        }
        let json = (outputDirectory as NSString).appendingPathComponent("demo.json")
        try AnalysisRun.write(try AnalysisRun.render(outcome.report, as: .json), to: json)
        try AnalyzeCommand.deliver(outcome, format: .markdown,
                                   output: (outputDirectory as NSString).appendingPathComponent("demo.md"),
                                   defaultName: "demo", quiet: false)
        print("json: \(json)")
        let periodPath = (outputDirectory as NSString).appendingPathComponent("demo-report.md")
        try AnalysisRun.write(PeriodMarkdown.render(period), to: periodPath)
        print("period report: \(periodPath)")
        if keepRunning {
            print("Prometheus is running at \(sandbox.url); the sandbox API server at \(cluster.url). Try:")
            print("  trimtab analyze --prometheus \(sandbox.url) --at \(Int(end)) --kubeconfig \(kubeconfig) --journal \(journal) --apply")
            print("  kubectl --kubeconfig \(kubectlConfig) get deployments,hpa,events")
            print("  trimtab history --journal \(journal); trimtab rollback --last --kubeconfig \(kubeconfig) --journal \(journal)")
            print("press Ctrl-C to stop them")
            // SIGINT or SIGTERM ends the wait, so both servers are stopped and Prometheus is never orphaned.
            await KubeSandboxCommand.waitForInterrupt(orSeconds: 24 * 3600)
        }
        await cluster.stop()
    }

    /// `trimtab run` against the demo's servers, in this process, until Ctrl-C or `--cycles`.
    func runDaemon(policy: Policy, client: PrometheusClient, kube: KubeClient, endpoints: HTTPEndpointClient, journal: String,
                   prometheusURL: String, kubectlConfig: String) async throws {
        var settings = DaemonSettings(identity: "demo-\(getpid())")
        settings.interval = try durationFlag(interval, flag: "--interval")
        settings.modeOverride = apply ? .enforce : .dryRun
        settings.maxCycles = cycles
        settings.firstCycleJitter = false
        let address: (host: String, port: Int)
        do { address = try StatusServer.parseListen(listen) } catch { throw ValidationError("\(error)") }
        let cluster = KubeCluster(client: kube, http: endpoints, journal: FileJournal(directory: journal))
        try await Daemon.run(settings: settings, policy: policy, source: client, cluster: cluster, listen: address, statusTokenFile: nil,
                             logger: Logger.trimtab(format: .text, level: .info)) { port in
            let base = "http://\(address.host == "0.0.0.0" ? "127.0.0.1" : address.host):\(port)"
            // Written unbuffered: shown at once even when standard output is a pipe or a file.
            FileHandle.standardOutput.write(Data("""
            trimtab run is running (\(apply ? "enforce" : "dry-run"), every \(interval)) against Prometheus at \(prometheusURL) and the sandbox API server. Try:
              curl -s \(base)/api/v1/status | jq '.score, .lastCycle, .plan.actions'
              curl -s \(base)/metrics | grep ^trimtab_
              curl -s \(base)/readyz
              kubectl --kubeconfig \(kubectlConfig) get deployments,events
            press Ctrl-C to stop

            """.utf8))

        }
    }
}

/// `trimtab sandbox`: pieces of the demo, for trying policies against your own Prometheus.
struct SandboxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Synthetic data for trying policies without a cluster.",
        subcommands: [HistoryCommand.self, KubeSandboxCommand.self]
    )

    struct HistoryCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "history",
            abstract: "Write the demo's synthetic history as OpenMetrics text.",
            discussion: """
            Backfill it into a Prometheus of your own:
              trimtab sandbox history --output history.om
              promtool tsdb create-blocks-from openmetrics history.om /var/lib/prometheus/metrics2
            """
        )

        @Option(help: ArgumentHelp("The time the history ends: now, an RFC 3339 time, or Unix seconds.", valueName: "time"))
        var end: String = "now"

        @Option(name: .shortAndLong, help: ArgumentHelp("Where to write it; - for standard output.", valueName: "path"))
        var output: String = "-"

        func run() throws {
            let step = DemoScenario.scrapeInterval
            let end = (try TimeArgument.parse(end) / step).rounded(.down) * step
            let text = DemoScenario.openMetrics(end: end)
            if output == "-" { print(text, terminator: "") } else {
                try AnalysisRun.write(text, to: output)
                printError("wrote \(text.utf8.count / 1024) KiB to \(output)")
            }
        }
    }
}
