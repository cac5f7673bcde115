import ArgumentParser
import Foundation
import TrimtabCore
import TrimtabPrometheus

/// `trimtab analyze`: one evaluation against Prometheus, written as a report.
struct AnalyzeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Read metrics once, score health, find bottlenecks, plan fixes, and write a report.",
        discussion: """
        Sends one range query per indicator for all targets at once, scores every check, lists the \
        breaches that held for their whole `for` window, and plans the changes the policy's actions call \
        for, with every safety rule. The plan is a dry-run: nothing in the cluster is changed.

        Examples:
          trimtab analyze --prometheus http://127.0.0.1:9090
          trimtab analyze --prometheus https://prom.example --bearer-token-file /var/run/secrets/token --policy policies/
          trimtab analyze --prometheus http://127.0.0.1:9090 --format json --output - | jq .assessment.score

        Exit codes: 0 the analysis ran (whatever health it found); 1 invalid policy or flags; \
        3 Prometheus could not be read (the report is still written, and says what is unknown).
        """
    )

    @OptionGroup(title: "Prometheus") var prometheus: PrometheusOptions
    @OptionGroup(title: "Policy") var policy: PolicyOptions

    @Option(help: ArgumentHelp("Evaluate at this time: now, an RFC 3339 time, or Unix seconds.", valueName: "time"))
    var at: String = "now"

    @Option(name: .shortAndLong, help: ArgumentHelp(
        "Where to write the report; - for standard output.",
        discussion: "Defaults to reports/analysis.md (or .json).", valueName: "path"))
    var output: String?

    @Option(help: ArgumentHelp("Report format: markdown or json.", valueName: "format"))
    var format: AnalysisRun.Format = .markdown

    @Flag(name: .shortAndLong, help: "Print no progress lines.")
    var quiet = false

    func run() async throws {
        let policy = try self.policy.loadOrExit()
        let time = try TimeArgument.parse(at)
        let client = try prometheus.clientOrExit()
        let quiet = self.quiet
        let run = AnalysisRun(policy: policy, source: client, time: time, maxConcurrentQueries: prometheus.maxConcurrentQueries)
        let progress: (@Sendable (String) -> Void)?
        if quiet { progress = nil } else { progress = { line in printError(line) } }
        let outcome = await run.execute(progress: progress)
        await client.shutdown()
        try Self.deliver(outcome, format: format, output: output, defaultName: "analysis", quiet: quiet)
    }

    /// Writes the report, prints the summary and sets the exit code. Shared with `demo`.
    static func deliver(_ outcome: AnalysisRun.Outcome, format: AnalysisRun.Format, output: String?, defaultName: String,
                        quiet: Bool) throws {
        let path = output ?? "reports/\(defaultName).\(format == .json ? "json" : "md")"
        try emit(try AnalysisRun.render(outcome.report, as: format), to: path)
        let summary = AnalysisRun.summary(outcome.report)
        if path == "-" {
            if !quiet { printError(summary) }
        } else {
            print("\(summary)\nreport: \(path)")
        }
        if !outcome.errors.isEmpty {
            reportMetricsErrors(outcome.errors)
            throw TrimtabExit.metricsUnavailable
        }
    }
}

/// Writes a report to a file (whole or not at all), or to standard output for `-`.
func emit(_ text: String, to path: String) throws {
    if path == "-" {
        print(text, terminator: "")
        return
    }
    do {
        try AnalysisRun.write(text, to: path)
    } catch {
        printError("error: could not write the report to \(path): \(error.localizedDescription)")
        throw TrimtabExit.invalidInput
    }
}

/// Prints query errors, one line per cause: a server that is down fails every query the same way.
func reportMetricsErrors(_ errors: [PrometheusError]) {
    var seen: [String: Int] = [:]
    var order: [(cause: String, first: PrometheusError)] = []
    for error in errors {
        if seen[error.cause] == nil { order.append((error.cause, error)) }
        seen[error.cause, default: 0] += 1
    }
    for (cause, first) in order {
        let count = seen[cause] ?? 1
        printError("error: " + (count > 1 ? "\(cause) (\(count) queries)" : first.description))
    }
    printError("metrics could not be read; the health is unknown and no action was taken")
}

extension AnalysisRun.Format: ExpressibleByArgument {}
