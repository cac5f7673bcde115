import ArgumentParser
import Foundation
import TrimtabCore
import TrimtabPrometheus
import TrimtabSandbox

/// `trimtab demo`: the whole analysis against a real local Prometheus with a synthetic history.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run an analysis against a local Prometheus filled with a synthetic history. No cluster needed.",
        discussion: """
        Backfills three hours of metrics for six services in namespace `shop` (CPU-bound, a one-minute \
        spike, healthy, pool-bound, cache-cold, gone quiet) with promtool, starts Prometheus on \
        127.0.0.1 on a free port, runs `trimtab analyze` with the default policy and `trimtab report` \
        over the last hour, writes the reports and stops Prometheus. Needs Debian's prometheus package (scripts/demo installs it).
        """
    )

    @OptionGroup(title: "Policy") var policy: PolicyOptions

    @Option(help: ArgumentHelp("Directory for the reports (demo.md, demo.json and demo-report.md).", valueName: "dir"))
    var outputDirectory: String = "reports"

    @Flag(help: "Keep Prometheus running after the report, until interrupted, to explore the data.")
    var keepRunning = false

    func run() async throws {
        let policy = try self.policy.loadOrExit()
        let step = DemoScenario.scrapeInterval
        let end = (Date().timeIntervalSince1970 / step).rounded(.down) * step
        printError("writing \(PolicyDuration.format(DemoScenario.historySeconds)) of synthetic history for \(DemoScenario.profiles.count) services")
        let sandbox: PrometheusSandbox
        do {
            sandbox = try await PrometheusSandbox.start(openMetrics: DemoScenario.openMetrics(end: end), log: { printError($0) })
        } catch let error as PrometheusSandbox.SandboxError {
            printError("error: \(error)")
            throw TrimtabExit.metricsUnavailable
        }
        defer { sandbox.stop() }
        let client = try PrometheusClient(PrometheusConfiguration(url: sandbox.url))
        let run = AnalysisRun(policy: policy, source: client, time: end)
        let outcome = await run.execute(progress: { printError($0) })
        // And the period report over the last hour, against the hour before.
        let (period, _) = await ReportCommand.build(policy: policy, source: client, period: ReportPeriod(start: end - 3600, end: end))
        await client.shutdown()
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
            print("Prometheus is running at \(sandbox.url); try: trimtab analyze --prometheus \(sandbox.url) --at \(Int(end))")
            print("press Ctrl-C to stop it")
            for _ in 0..<(24 * 3600) { try await Task.sleep(for: .seconds(1)) }
        }
    }
}

/// `trimtab sandbox`: pieces of the demo, for trying policies against your own Prometheus.
struct SandboxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Synthetic data for trying policies without a cluster.",
        subcommands: [HistoryCommand.self]
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
