import ArgumentParser
import Foundation
import TrimtabCore
import TrimtabPrometheus

/// `trimtab policy`: work with policy files.
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Check, show and start policy files.",
        subcommands: [LintCommand.self, PolicyCheckCommand.self, TestCommand.self, ShowCommand.self, DefaultCommand.self, PolicyInitCommand.self, RulesCommand.self]
    )

    struct LintCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "lint",
            abstract: "Check policy files and list every error with its file, line and column.",
            discussion: """
            Each path is a file, or a directory whose .yaml files merge in name order into one policy; in a \
            directory, files with different metadata.name are independent policies (several teams'), each \
            merged with the files that name none, and two that claim the same targets are an error naming \
            both files. Exit code 1 when any path has an error; a policy with an error is rejected whole.

            Example:
              trimtab policy lint policies/default.yaml policies/examples/
            """
        )

        @Argument(help: ArgumentHelp("Policy files or directories.", valueName: "path"))
        var paths: [String]

        func run() throws {
            var failed = false
            for path in paths {
                do {
                    for policy in try PolicyLoader.loadSet(PolicySource.sources(at: path)) {
                        print("ok: \(path): policy '\(policy.name)' with \(policy.indicators.count) indicators, \(policy.checks.count) checks, \(policy.overrides.count) overrides, \(policy.actions.count) actions, targets in \(policy.targets.namespaceText)")
                    }
                } catch let error as PolicyError {
                    failed = true
                    print(error.description)
                } catch let error as PolicySource.ReadError {
                    failed = true
                    print("error: \(error)")
                } catch {
                    failed = true
                    print("\(path): error: \(error)")
                }
            }
            if failed { throw TrimtabExit.invalidInput }
        }
    }

    struct TestCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "test",
            abstract: "Run policy tests: input series, and the bottlenecks and actions expected at given times.",
            discussion: """
            A test file (kind: PolicyTest) names the policy it tests (relative to itself), gives input values \
            per target and indicator in promtool's notation (1 2 3, 0.5x10, 1+0.5x4, _ for missing), and lists \
            at given times the bottlenecks, planned actions, status and recommendations it expects. Every \
            mismatch is reported; exit code 1 when any test fails.

            Example:
              trimtab policy test policies/tests/*.yaml
            """
        )

        @Argument(help: ArgumentHelp("Policy test files.", valueName: "file"))
        var files: [String]

        func run() throws {
            var passed = 0, failed = 0
            for file in files {
                do {
                    let test = try PolicyTest.parse(try PolicySource.sources(at: file)[0].text, file: file)
                    let policyPath = test.policy.hasPrefix("/") ? test.policy
                        : ((file as NSString).deletingLastPathComponent as NSString).appendingPathComponent(test.policy)
                    let policy = try PolicyLoader.load(PolicySource.sources(at: policyPath))
                    let outcomes = PolicyTestRunner.run(test, policy: policy)
                    print("\(file): \(test.name) (policy \(policyPath)), \(outcomes.count) tests")
                    for outcome in outcomes {
                        if outcome.passed {
                            passed += 1
                            print("  ok    at \(PolicyDuration.format(outcome.at))")
                        } else {
                            failed += 1
                            print("  FAIL  at \(PolicyDuration.format(outcome.at)) (\(outcome.location))")
                            for mismatch in outcome.mismatches { print("        \(mismatch)") }
                        }
                    }
                } catch let error as PolicyError {
                    failed += 1
                    print(error.description)
                } catch {
                    failed += 1
                    print("error: \(error)")
                }
            }
            print("\(passed) passed, \(failed) failed")
            if failed > 0 { throw TrimtabExit.invalidInput }
        }
    }

    struct ShowCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Show the effective policy: merged files, overrides, and the PromQL each indicator sends.",
            discussion: "Without --policy it shows the built-in default."
        )

        @OptionGroup var policy: PolicyOptions

        func run() throws {
            for (index, policy) in try self.policy.loadSetOrExit().enumerated() {
                if index > 0 { print("\n---\n") }
                show(policy)
            }
        }

        func show(_ policy: Policy) {
            print("policy \(policy.name) (mode \(policy.mode.rawValue)) from \(policy.sources.joined(separator: ", "))")
            print("targets: \(policy.targets.kind) grouped by \(policy.targets.groupBy.joined(separator: ", "))"
                  + " in \(policy.targets.namespaceText)")
            print("evaluation: step \(PolicyDuration.format(policy.evaluation.stepSeconds)), lookback \(PolicyDuration.format(policy.evaluation.lookbackSeconds)), min coverage \(Formatting.number(policy.evaluation.minCoverage * 100)) %")
            print("\nchecks:")
            for check in policy.checks {
                let unit = policy.indicator(named: check.indicator)?.unit ?? .none
                let sign = check.worse == .higher ? ">" : "<"
                print("  \(check.name): warning \(sign) \(Formatting.value(check.warning, unit: unit)), critical \(sign) \(Formatting.value(check.critical, unit: unit)), for \(PolicyDuration.format(check.forSeconds)), weight \(Formatting.number(check.weight))\(check.key ? ", key" : "")")
            }
            for override in policy.overrides {
                let match = TargetSelector.selectorText(override.match)
                print("  override for \(match): \(override.checks.keys.sorted().joined(separator: ", "))")
            }
            print("\nqueries (one per indicator, for all targets at once):")
            for indicator in policy.queriedIndicators {
                print("  \(indicator.name) [\(indicator.unit.rawValue)]:\n    \(PromQL.render(indicator.query, targets: policy.targets))")
            }
        }
    }

    struct RulesCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rules",
            abstract: "Write Prometheus recording rules for the policy's objectives, so reading them stays cheap.",
            discussion: """
            Each objective's good and total request rates over 5 minutes are recorded by target \
            (trimtab_slo:good:increase5m, trimtab_slo:total:increase5m, labelled trimtab_policy, trimtab_objective and \
            trimtab_digest). Once Prometheus records them, every cycle reads each objective's ranges, its \
            28-day window included, from those few series instead of every pod's raw histogram; an objective \
            whose definition changed since (another digest) is read raw until the rules are written again. \
            The report says which objectives were read which way. Without --policy: the built-in default's.

            Examples:
              trimtab policy rules > deploy/prometheus/slo-rules.yaml
              trimtab policy rules --policy policies/ --interval 1m -o slo-rules.yaml
              promtool check rules slo-rules.yaml
            """
        )

        @OptionGroup var policy: PolicyOptions

        @Option(help: ArgumentHelp("How often Prometheus evaluates the rules.", valueName: "duration"))
        var interval: String = "30s"

        @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the rules; - for standard output.", valueName: "path"))
        var output: String = "-"

        func validate() throws {
            guard let seconds = try? PolicyDuration.parse(interval), seconds >= 1, seconds <= ObjectiveRecording.rateSeconds / 2 else {
                throw ValidationError("--interval is a duration from 1s to \(PolicyDuration.format(ObjectiveRecording.rateSeconds / 2)) (the rules record 5-minute rates; at least two evaluations a rate window), not \(interval)")
            }
        }

        func run() throws {
            let policies = try self.policy.loadSetOrExit()
            for policy in policies {
                if policy.objectives.isEmpty {
                    printError("warning: policy \(policy.name) declares no objectives (spec.objectives): its rule group is empty")
                }
                if policy.targets.namespaceLabels != nil {
                    printError("warning: policy \(policy.name) chooses its namespaces by label, which only a cycle resolves: its rules record nothing, and its objectives are read raw")
                }
            }
            try emit(ObjectiveRecording.rules(for: policies, intervalSeconds: try PolicyDuration.parse(interval)), to: output)
            if output != "-" {
                let count = policies.map(\.objectives.count).reduce(0, +)
                printError("recording rules for \(count) objective\(count == 1 ? "" : "s") of \(policies.map(\.name).joined(separator: ", ")): \(output)")
            }
        }
    }

    struct DefaultCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "default",
            abstract: "Print the built-in default policy, to start your own from.",
            discussion: "Example: trimtab policy default > policies/mine.yaml"
        )

        func run() {
            print(DefaultPolicy.yaml, terminator: "")
        }
    }
}

/// `trimtab policy check`: runs every indicator of a policy against a real Prometheus and says what
/// each finds, for the first hour of adapting a policy to one's own metric names.
struct PolicyCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Run each indicator against Prometheus and say what it finds: parse errors by file and line, targets, missing labels.",
        discussion: """
        Sends every indicator's query once (as analyze would, for all targets at once) and prints, per \
        indicator: whether Prometheus could parse it (a parse error is mapped back to the policy's file, \
        line and column), how many targets it found, the targets other indicators have and it lacks, \
        series that lack a groupBy label (with which), targets with more than one series, and how old the \
        newest point is. Nothing is judged or changed.

        Exit codes: 0 every indicator is fine; 1 a problem was found (or the policy is invalid); \
        3 Prometheus could not be reached.

        Examples:
          trimtab policy check --prometheus http://127.0.0.1:9090
          trimtab policy check --prometheus http://prometheus.monitoring:9090 --policy policies/mine.yaml --namespace shop
        """
    )

    @OptionGroup(title: "Prometheus") var prometheus: PrometheusOptions
    @OptionGroup(title: "Policy") var policy: PolicyOptions

    @Option(help: ArgumentHelp("Evaluate at this time: now, an RFC 3339 time, or Unix seconds.", valueName: "time"))
    var at: String = "now"

    func run() async throws {
        let policy = try self.policy.loadOrExit()
        let time = try TimeArgument.parse(at)
        let client = try prometheus.clientOrExit()
        let queries = IndicatorQuery.plan(for: policy, at: time, indicators: policy.indicators)
        let reader = SnapshotReader(source: client, maxConcurrentQueries: prometheus.maxConcurrentQueries,
                                    deadlineSeconds: (try? prometheus.timeoutSeconds()) ?? 30)
        let (data, errors) = await reader.read(queries, groupBy: policy.targets.groupBy)
        await client.shutdown()
        if !errors.isEmpty, errors.allSatisfy({ $0.isUnreachable }) {
            reportMetricsErrors(errors)
            throw TrimtabExit.metricsUnavailable
        }
        var invalid: [String: String] = [:]
        for error in errors {
            if case .badQuery(_, let query, let message) = error { invalid[query] = message }
        }
        let inputs = data.map { PolicyCheck.Input(data: $0, invalidQueryMessage: invalid[$0.query.promql]) }
        let findings = PolicyCheck.check(policy, inputs: inputs, time: time)
        printOutput("policy \(policy.name) (\(policy.sources.joined(separator: ", "))) against \(client.displayName) at \(Formatting.time(time)); targets: \(policy.targets.kind) by \(policy.targets.groupBy.joined(separator: ", "))")
        for finding in findings {
            printOutput("\(finding.ok ? "ok  " : "FAIL") \(finding.indicator): \(finding.lines.first ?? "")")
            for line in finding.lines.dropFirst() { printOutput("       \(line)") }
        }
        let failed = findings.filter { !$0.ok }.count
        printOutput(failed == 0 ? "all \(findings.count) indicators are fine" : "\(failed) of \(findings.count) indicators have problems")
        if failed > 0 { throw TrimtabExit.invalidInput }
    }
}
