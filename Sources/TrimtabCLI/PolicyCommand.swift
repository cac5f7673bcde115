import ArgumentParser
import Foundation
import TrimtabCore

/// `trimtab policy`: work with policy files.
struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Check, show and start policy files.",
        subcommands: [LintCommand.self, TestCommand.self, ShowCommand.self, DefaultCommand.self]
    )

    struct LintCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "lint",
            abstract: "Check policy files and list every error with its file, line and column.",
            discussion: """
            Each path is a file, or a directory whose .yaml files merge in name order into one policy. \
            Exit code 1 when any path has an error; a policy with an error is rejected whole.

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
                    let policy = try PolicyLoader.load(PolicySource.sources(at: path))
                    print("ok: \(path): policy '\(policy.name)' with \(policy.indicators.count) indicators, \(policy.checks.count) checks, \(policy.overrides.count) overrides, \(policy.actions.count) actions")
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
            let policy = try self.policy.loadOrExit()
            print("policy \(policy.name) (mode \(policy.mode.rawValue)) from \(policy.sources.joined(separator: ", "))")
            print("targets: \(policy.targets.kind) grouped by \(policy.targets.groupBy.joined(separator: ", "))"
                  + (policy.targets.namespace.map { " in namespace \($0)" } ?? " in every namespace"))
            print("evaluation: step \(PolicyDuration.format(policy.evaluation.stepSeconds)), lookback \(PolicyDuration.format(policy.evaluation.lookbackSeconds)), min coverage \(Formatting.number(policy.evaluation.minCoverage * 100)) %")
            print("\nchecks:")
            for check in policy.checks {
                let unit = policy.indicator(named: check.indicator)?.unit ?? .none
                let sign = check.worse == .higher ? ">" : "<"
                print("  \(check.name): warning \(sign) \(Formatting.value(check.warning, unit: unit)), critical \(sign) \(Formatting.value(check.critical, unit: unit)), for \(PolicyDuration.format(check.forSeconds)), weight \(Formatting.number(check.weight))\(check.key ? ", key" : "")")
            }
            for override in policy.overrides {
                let match = override.match.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
                print("  override for \(match): \(override.checks.keys.sorted().joined(separator: ", "))")
            }
            print("\nqueries (one per indicator, for all targets at once):")
            for indicator in policy.queriedIndicators {
                print("  \(indicator.name) [\(indicator.unit.rawValue)]:\n    \(PromQL.render(indicator.query, targets: policy.targets))")
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
