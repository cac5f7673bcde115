import ArgumentParser
import Foundation
import TrimtabCore
import TrimtabCycle
import TrimtabKube
import TrimtabPrometheus

/// `trimtab analyze`: one evaluation against Prometheus, written as a report.
struct AnalyzeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Read metrics once, score health, find bottlenecks, plan fixes, and write a report.",
        discussion: """
        Sends one range query per indicator for all targets at once, scores every check, lists the \
        breaches that held for their whole `for` window, and plans the changes the policy's actions call \
        for, with every safety rule.

        Without cluster options the plan is made from metrics alone. With --kubeconfig, --context or \
        --in-cluster, Trimtab also reads the cluster (HorizontalPodAutoscalers, the trimtab.io/freeze \
        annotation, the journal's earlier changes) and asks the API server to judge every proposed change \
        with dryRun=All: the report says "would apply" or "would be rejected: 403 …". Nothing is changed.

        With --apply (or `mode: enforce` in the policy), the changes are made: each is journaled before it \
        is written and completed after, annotated on the workload (trimtab.io/last-change) and recorded as \
        an Event. The same run first finishes what a crashed run left half-done, and verifies earlier \
        changes whose safety.verifyAfter has passed, rolling back those that made things worse.

        Examples:
          trimtab analyze --prometheus http://127.0.0.1:9090
          trimtab analyze --prometheus http://127.0.0.1:9090 --kubeconfig ~/.kube/config           # dry-run on the API server
          trimtab analyze --prometheus http://prometheus:9090 --in-cluster --apply --journal /data/journal
          trimtab analyze --prometheus https://prom.example --bearer-token-file /var/run/secrets/token --policy policies/
          trimtab analyze --prometheus http://127.0.0.1:9090 --format json --output - | jq .assessment.score
          trimtab analyze --prometheus http://prom:9090 --notify http://alertmanager:9093 --notify slack:/etc/trimtab/slack-url

        Exit codes: 0 the analysis ran (whatever health it found); 1 invalid policy or flags; \
        3 Prometheus could not be read, or answered only in part (the report is still written, and says what \
        is unknown; no change is made); 4 the cluster could not be read or a change was refused (the report \
        says which); 5 the policy found no targets (the error names the query that matched nothing and the \
        groupBy labels its series lacked).
        """
    )

    @OptionGroup(title: "Prometheus") var prometheus: PrometheusOptions
    @OptionGroup(title: "Policy") var policy: PolicyOptions
    @OptionGroup(title: "Cluster") var kube: KubeOptions
    @OptionGroup var mode: ModeOptions
    @OptionGroup(title: "Notifications") var notifications: NotifyOptions

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
        let policies = try self.policy.loadSetOrExit()
        let policy = policies[0]
        let time = try TimeArgument.parse(at)
        let mode: PolicyMode = self.mode.override ?? policy.mode
        try kube.requireCluster(toEnforce: mode)
        // Each client is made once nothing before it can fail, and every path after shuts them down.
        let kubeClient: KubeClient? = kube.given ? try kube.clientOrExit() : nil
        let client: PrometheusClient
        do {
            client = try prometheus.clientOrExit()
        } catch {
            await kubeClient?.shutdown()
            throw error
        }
        let endpoints = HTTPEndpointClient()
        let cluster = kubeClient.map { KubeCluster(client: $0, http: endpoints, journal: kube.journalStore(client: $0)) }
        var run = AnalysisRun(policies: policies, source: client, time: time, maxConcurrentQueries: prometheus.maxConcurrentQueries,
                              cluster: cluster, mode: mode)
        // One deadline for the whole read, the same as one query's: a hanging server costs one timeout.
        run.deadlineSeconds = (try? prometheus.timeoutSeconds()) ?? 30
        run.patchDirectory = self.mode.patchDir
        let progress: (@Sendable (String) -> Void)?
        if quiet { progress = nil } else { progress = { line in printError(line) } }
        let outcome = await run.execute(progress: progress)
        await client.shutdown()
        await kubeClient?.shutdown()
        await endpoints.shutdown()
        if outcome.cycle.parts.isEmpty {
            try await notifications.sendOnce(CycleFacts(outcome), policy: policy, quiet: quiet)
        } else {
            // Each team's policy tells its own receivers of its own targets.
            for (policy, part) in zip(policies, outcome.cycle.parts) {
                try await notifications.sendOnce(CycleFacts(part), policy: policy, quiet: quiet)
            }
        }
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
        for error in outcome.clusterErrors { printError("error: \(error)") }
        if !outcome.errors.isEmpty {
            reportMetricsErrors(outcome.errors)
            throw TrimtabExit.metricsUnavailable
        }
        if !outcome.clusterErrors.isEmpty { throw TrimtabExit.clusterFailed }
        try exitIfNoTargets(outcome.report.assessment)
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

/// A policy that found no target is not a healthy run: says which query matched nothing and which
/// groupBy labels were missing, and exits 5.
func exitIfNoTargets(_ assessment: Assessment) throws {
    guard assessment.targets.isEmpty, assessment.isComplete else { return }
    printError("error: the policy found no targets, so nothing was judged")
    for note in assessment.notes where note.hasPrefix("no target: ") { printError("  " + note.dropFirst("no target: ".count)) }
    printError("check the queries against your Prometheus with `trimtab policy check --prometheus URL`")
    throw TrimtabExit.noTargets
}

/// Prints query errors, one line per cause: a server that is down fails every query the same way.
func reportMetricsErrors(_ errors: [PrometheusError]) { reportMetricsErrors(PrometheusError.grouped(errors)) }

/// Prints a cycle's query errors, already one line per cause.
func reportMetricsErrors(_ errors: [String]) {
    for line in errors { printError("error: " + line) }
    printError("metrics could not be read; the health is unknown and no action was taken")
}

extension AnalysisRun.Format: ExpressibleByArgument {}

extension PrometheusError {
    /// A run's query errors in one line, one part per cause; nil when there were none.
    static func problem(_ errors: [PrometheusError]) -> String? {
        errors.isEmpty ? nil : grouped(errors).joined(separator: "; ")
    }
}

extension CycleFacts {
    /// What one policy's part of a cycle found, for its notifications.
    init(_ result: Cycle.Result) {
        self.init(assessment: result.assessment, plan: result.plan, objectives: result.objectives, execution: result.execution,
                  metricsProblem: result.read.errors.isEmpty ? nil : result.read.errors.joined(separator: "; "),
                  clusterProblem: result.clusterErrors.isEmpty ? nil : result.clusterErrors.joined(separator: "; "))
    }

    /// What a one-shot analysis found, for its notifications.
    init(_ outcome: AnalysisRun.Outcome) {
        self.init(assessment: outcome.report.assessment, plan: outcome.report.plan, objectives: outcome.report.objectives ?? [],
                  execution: outcome.report.execution,
                  metricsProblem: outcome.errors.isEmpty ? nil : outcome.errors.joined(separator: "; "),
                  clusterProblem: outcome.clusterErrors.isEmpty ? nil : outcome.clusterErrors.joined(separator: "; "))
    }
}
