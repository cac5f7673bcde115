import ArgumentParser
import Foundation
import TrimtabCore
import TrimtabCycle
import TrimtabPrometheus

/// `trimtab report`: a report over a period, for people and for a CI gate.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Report on a period: score, trends against the previous period and a baseline, plan, and a CI gate.",
        discussion: """
        Reads each indicator twice: at the end of the period (as `analyze` does) and across this period and \
        the one before it. Writes Markdown (default), JSON (a versioned schema a later run can use as its \
        --baseline) or JUnit XML (a test case per check); --json-output and --junit-output write the others \
        from the same run, so CI reads Prometheus once. When GITHUB_STEP_SUMMARY is set, the Markdown is \
        appended there too, once per run.

        Examples:
          trimtab report --prometheus http://127.0.0.1:9090 --since 24h
          trimtab report --prometheus http://prom:9090 --fail-under 80 --fail-on critical --baseline last.json
          trimtab report --prometheus http://prom:9090 --fail-on-slo fast-burn
          trimtab report --prometheus http://prom:9090 --format junit --output reports/trimtab.xml
          trimtab report --prometheus http://prom:9090 --output r.md --json-output r.json --junit-output r.xml

        Exit codes: 0 the report was written and the gate (if any) passed; 1 invalid input; 2 the gate \
        failed; 3 metrics could not be read (the report still says what is unknown); 5 the policy found no \
        targets (the error names the query that matched nothing and the labels its series lacked).
        """
    )

    enum Format: String, CaseIterable, ExpressibleByArgument {
        case markdown, json, junit
    }

    @OptionGroup(title: "Prometheus") var prometheus: PrometheusOptions
    @OptionGroup(title: "Policy") var policy: PolicyOptions
    @OptionGroup(title: "Notifications") var notifications: NotifyOptions

    @Option(help: ArgumentHelp("The length of the period, ending at --end.", valueName: "duration"))
    var since: String = "24h"

    @Option(help: ArgumentHelp("The start of the period (instead of --since): an RFC 3339 time or Unix seconds.", valueName: "time"))
    var start: String?

    @Option(help: ArgumentHelp("The end of the period: now, an RFC 3339 time, or Unix seconds.", valueName: "time"))
    var end: String = "now"

    @Option(help: ArgumentHelp("A JSON report from an earlier run to compare every check with.", valueName: "file"))
    var baseline: String?

    @Option(help: ArgumentHelp("Fail the gate (exit 2) when the health score is below this, or unknown.", valueName: "score"))
    var failUnder: Double?

    @Option(help: ArgumentHelp("Fail the gate (exit 2) when any check is at this level or worse: warning or critical.", valueName: "level"))
    var failOn: String?

    @Option(help: ArgumentHelp("Fail the gate (exit 2) when any objective (spec.objectives) is at this state or worse, or unknown: slow-burn, fast-burn or exhausted.",
                               discussion: "exhausted: its window's error budget is spent; fast-burn: also while one burns at 14.4× over 1h and 5m; slow-burn: also at 6× over 6h and 30m.",
                               valueName: "state"))
    var failOnSlo: ObjectiveGateLevel?

    @Option(help: ArgumentHelp("Prometheus's address for people, to link each figure to its graph.", valueName: "url"))
    var prometheusExternalUrl: String?

    @Option(help: ArgumentHelp("A Mustache template for the Markdown layout (see docs/reports.md for its sections and data).", valueName: "file"))
    var template: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the report; - for standard output.",
                                                     discussion: "Defaults to reports/report.md (.json, .xml).", valueName: "path"))
    var output: String?

    @Option(help: ArgumentHelp("Report format: markdown, json or junit.", valueName: "format"))
    var format: Format = .markdown

    @Option(help: ArgumentHelp("Also write the JSON report (the next run's --baseline) here, from the same run.", valueName: "path"))
    var jsonOutput: String?

    @Option(help: ArgumentHelp("Also write the JUnit XML report here, from the same run.", valueName: "path"))
    var junitOutput: String?

    @Flag(name: .shortAndLong, help: "Print no progress lines.")
    var quiet = false

    func validate() throws {
        if let failUnder, !(0...100).contains(failUnder) { throw ValidationError("--fail-under is a score from 0 to 100") }
        if let failOn, !["warning", "critical"].contains(failOn) { throw ValidationError("--fail-on is warning or critical") }
        let paths = [output ?? "", jsonOutput ?? "", junitOutput ?? ""].filter { !$0.isEmpty && $0 != "-" }
        if Set(paths).count != paths.count { throw ValidationError("--output, --json-output and --junit-output must name different files") }
    }

    func period() throws -> ReportPeriod {
        let endTime = try TimeArgument.parse(end)
        let startTime: Double
        if let start {
            startTime = try TimeArgument.parse(start)
        } else {
            do {
                startTime = endTime - (try PolicyDuration.parse(since))
            } catch {
                throw ValidationError("--since: \(error)")
            }
        }
        guard startTime < endTime else { throw ValidationError("the period must start before it ends") }
        return ReportPeriod(start: startTime, end: endTime)
    }

    func run() async throws {
        let policy = try self.policy.loadOrExit()
        let period = try self.period()
        var templateText = ReportTemplate.builtIn
        if let template {
            guard let text = try? String(contentsOfFile: template, encoding: .utf8) else {
                printError("error: --template \(template): could not be read")
                throw TrimtabExit.invalidInput
            }
            templateText = text
            do {
                try ReportTemplate.validate(text)
            } catch {
                printError("error: \(template):\(error)")
                throw TrimtabExit.invalidInput
            }
        }
        var baselineAssessment: Assessment?
        if let baseline {
            do {
                baselineAssessment = try ReportEncoding.baseline(try String(contentsOfFile: baseline, encoding: .utf8))
            } catch {
                printError("error: --baseline \(baseline): \(error)")
                throw TrimtabExit.invalidInput
            }
        }
        let client = try prometheus.clientOrExit()
        let progress: (@Sendable (String) -> Void)?
        if quiet { progress = nil } else { progress = { line in printError(line) } }
        let (report, errors) = await Self.build(policy: policy, source: client, period: period, baseline: baselineAssessment,
                                                externalURL: prometheusExternalUrl, failUnder: failUnder,
                                                failOn: failOn.flatMap(CheckStatus.init(rawValue:)), failOnSLO: failOnSlo,
                                                maxConcurrentQueries: prometheus.maxConcurrentQueries, progress: progress)
        await client.shutdown()
        let markdown: String
        do {
            markdown = try ReportTemplate.render(report, template: templateText)
        } catch {
            printError("error: \(template ?? "the built-in template"):\(error)")
            throw TrimtabExit.invalidInput
        }
        let text: String
        switch format {
        case .markdown: text = markdown
        case .json: text = try ReportEncoding.json(report)
        case .junit: text = JUnitReport.render(report)
        }
        let path = output ?? "reports/report.\(format == .markdown ? "md" : format == .json ? "json" : "xml")"
        try emit(text, to: path)
        if let jsonOutput { try emit(try ReportEncoding.json(report), to: jsonOutput) }
        if let junitOutput { try emit(JUnitReport.render(report), to: junitOutput) }
        if let summaryFile = ProcessInfo.processInfo.environment["GITHUB_STEP_SUMMARY"], !summaryFile.isEmpty {
            Self.append(markdown + "\n", to: summaryFile)
        }
        let score = report.assessment.score.map { "\(Formatting.score($0))/100" } ?? "unknown"
        let line = "health \(score) (\(report.assessment.status.rawValue)) over \(PolicyDuration.format(period.seconds))"
            + (report.gate.map { $0.passed ? "; gate passed" : "; gate FAILED: " + $0.reasons.joined(separator: "; ") } ?? "")
        if path == "-" { if !quiet { printError(line) } } else { print("\(line)\nreport: \(path)") }
        // The state at the end of the period: its bottlenecks fire, those that cleared since the last run resolve.
        try await notifications.sendOnce(CycleFacts(assessment: report.assessment, plan: report.plan, objectives: report.objectives ?? [],
                                                    metricsProblem: errors.isEmpty ? nil : errors.joined(separator: "; ")),
                                         policy: policy, quiet: quiet)

        if !errors.isEmpty {
            reportMetricsErrors(errors)
            throw TrimtabExit.metricsUnavailable
        }
        try exitIfNoTargets(report.assessment)
        if report.gate?.passed == false { throw TrimtabExit.gateFailed }
    }

    /// The cycle at the end of the period (the judgement `analyze` makes at that time), then a coarse
    /// read across it and the period before, for the trends and the score over time.
    static func build(policy: Policy, source: any MetricsSource, period: ReportPeriod, baseline: Assessment? = nil,
                      externalURL: String? = nil, failUnder: Double? = nil, failOn: CheckStatus? = nil,
                      failOnSLO: ObjectiveGateLevel? = nil, maxConcurrentQueries: Int = 4, progress: (@Sendable (String) -> Void)? = nil) async -> (PeriodReport, [String]) {
        let reader = SnapshotReader(source: source, maxConcurrentQueries: maxConcurrentQueries)
        progress?("reading \(policy.queriedIndicators.count) indicators at \(Formatting.time(period.end)) and over \(PolicyDuration.format(2 * period.seconds))")
        let cycle = Cycle(policy: policy, source: reader)
        // The period ends on the step grid, where every mode evaluates.
        let onGrid = cycle.evaluationTime(period.end)
        let period = onGrid > period.start ? ReportPeriod(start: period.start, end: onGrid) : period
        let end = await cycle.run(at: period.end, progress: progress)
        let started = ContinuousClock.now
        let trends = await reader.read(PeriodAnalyzer.trendQueries(for: policy, period: period), groupBy: policy.targets.groupBy)
        let elapsed = ContinuousClock.now - started
        var context = end.report.context
        context.queries += trends.data.count
        context.readSeconds += elapsed.seconds
        let report = PeriodAnalyzer.build(.init(policy: policy, period: period, context: context, assessment: end.assessment, plan: end.plan,
                                                trendData: trends.data, baseline: baseline, externalURL: externalURL,
                                                failUnder: failUnder, failOn: failOn, objectives: end.objectives, failOnSLO: failOnSLO))
        return (report, end.read.errors + PrometheusError.grouped(trends.errors))
    }

    /// Appends to the GitHub step summary; a failure to do so is said, not fatal.
    static func append(_ text: String, to path: String) {
        guard let handle = FileHandle(forWritingAtPath: path) ?? {
            FileManager.default.createFile(atPath: path, contents: nil) ? FileHandle(forWritingAtPath: path) : nil
        }() else {
            printError("warning: could not append to GITHUB_STEP_SUMMARY at \(path)")
            return
        }
        handle.seekToEndOfFile()
        handle.write(Data(text.utf8))
        try? handle.close()
    }
}

extension ObjectiveGateLevel: ExpressibleByArgument {}
