import ArgumentParser
import Foundation
import Testing
import TrimtabCLI
import TrimtabCore
import TrimtabSandbox
import Yams

/// Runs a trimtab command line in this process and returns its exit code.
///
/// A command that reads Prometheus gets two minutes for its read unless the test gives its own
/// `--timeout`: the default 30 s bounds the whole read, and under the full suite's load (JVMs,
/// PostgreSQL and dozens of Prometheus servers on two cores) a first read of a real Prometheus once
/// took longer, failing as unreadable metrics a test that is about something else. Tests of the
/// timeout itself pass `--timeout`.
func trimtab(_ arguments: [String]) async -> Int32 {
    var arguments = arguments
    if arguments.contains("--prometheus"), !arguments.contains(where: { $0 == "--timeout" || $0.hasPrefix("--timeout=") }) {
        arguments += ["--timeout", "120s"]
    }
    do {
        var command = try TrimtabCommand.parseAsRoot(arguments)
        if var asyncCommand = command as? any AsyncParsableCommand {
            try await asyncCommand.run()
        } else {
            try command.run()
        }
        return 0
    } catch {
        return TrimtabCommand.exitCode(for: error).rawValue
    }
}

/// A fresh temporary directory, removed after `body`.
func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("trimtab-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try await body(url)
}

@Suite("Commands, run as a user would", .serialized)
struct CommandTests {
    @Test func analyzeWritesMarkdownAndJSONReports() async throws {
        let end = alignedNow()
        try await withTemporaryDirectory { dir in
            let policyFile = dir.appendingPathComponent("gauges.yaml").path
            try gaugePolicy.write(toFile: policyFile, atomically: true, encoding: .utf8)
            let markdown = dir.appendingPathComponent("out/report.md").path
            let json = dir.appendingPathComponent("out/report.json").path
            let codes = try await withPrometheus(gaugeHistory(end: end)) { sandbox in
                let base = ["analyze", "--prometheus", sandbox.url, "--policy", policyFile, "--at", "\(Int(end))", "--quiet"]
                return [await trimtab(base + ["--output", markdown]), await trimtab(base + ["--output", json, "--format", "json"])]
            }
            #expect(codes == [0, 0])
            let text = try String(contentsOfFile: markdown, encoding: .utf8)
            #expect(text.contains("# Trimtab analysis: gauges"))
            #expect(text.contains("| shop/steady | latency | 🔴 critical | 2.5 s | > 2 s |"))
            let report = try ReportEncoding.decode(try String(contentsOfFile: json, encoding: .utf8))
            #expect(report.schemaVersion == AnalysisReport.currentSchemaVersion)
            #expect(report.assessment.bottlenecks.count == 3)
            #expect(report.context.queries == 3)
        }
    }

    @Test func analyzeAgainstAnUnreachablePrometheusExitsThreeAndReportsUnknown() async throws {
        try await withTemporaryDirectory { dir in
            let reserved = try FreePort.reserveRefusing()
            defer { withExtendedLifetime(reserved) {} }
            let port = reserved.port
            let output = dir.appendingPathComponent("report.md").path
            let code = await trimtab(["analyze", "--prometheus", "http://127.0.0.1:\(port)", "--output", output, "--timeout", "2s", "--quiet"])
            #expect(code == 3)
            let text = try String(contentsOfFile: output, encoding: .utf8)
            #expect(text.contains("**Health score: unknown · ⚪ unknown**"))
            #expect(text.contains("could not reach Prometheus at http://127.0.0.1:\(port)"))
        }
    }

    @Test func anInvalidPolicyIsRejectedWholeAndNothingIsWritten() async throws {
        try await withTemporaryDirectory { dir in
            let policyFile = dir.appendingPathComponent("bad.yaml").path
            try gaugePolicy.replacingOccurrences(of: "warning: 1s, critical: 2s", with: "warning: 3s, critical: 2s")
                .write(toFile: policyFile, atomically: true, encoding: .utf8)
            let output = dir.appendingPathComponent("report.md").path
            let code = await trimtab(["analyze", "--prometheus", "http://127.0.0.1:1", "--policy", policyFile, "--output", output])
            #expect(code == 1)
            #expect(!FileManager.default.fileExists(atPath: output))
            #expect(await trimtab(["policy", "lint", policyFile]) == 1)
            #expect(await trimtab(["policy", "lint", dir.appendingPathComponent("nope.yaml").path]) == 1)
        }
    }

    @Test func theShippedPoliciesLint() async {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
        #expect(await trimtab(["policy", "lint", root.appendingPathComponent("policies").path]) == 0)
        #expect(await trimtab(["policy", "lint", root.appendingPathComponent("policies/examples").path]) == 0)
        #expect(await trimtab(["policy", "lint", root.appendingPathComponent("deploy/kubernetes/base/policy.yaml").path]) == 0)
    }

    @Test func theShippedPolicyTestsPassAndAFailingOneExitsOne() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
        let tests = root.appendingPathComponent("policies/tests")
        let files = try FileManager.default.contentsOfDirectory(atPath: tests.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(files == ["default.test.yaml", "shop-api.test.yaml"])
        #expect(await trimtab(["policy", "test"] + files.map { tests.appendingPathComponent($0).path }) == 0)
        try await withTemporaryDirectory { dir in
            let text = try String(contentsOf: tests.appendingPathComponent("default.test.yaml"), encoding: .utf8)
                .replacingOccurrences(of: "from: 4, to: 6", with: "from: 4, to: 9")
                .replacingOccurrences(of: "policy: ../default.yaml", with: "policy: \(root.appendingPathComponent("policies/default.yaml").path)")
            let file = dir.appendingPathComponent("broken.test.yaml").path
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            #expect(await trimtab(["policy", "test", file]) == 1)
        }
    }

    @Test func theBuiltInDefaultPolicyIsPoliciesDefaultYaml() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../policies/default.yaml")
        let text = try String(contentsOf: file, encoding: .utf8)
        #expect(DefaultPolicy.yaml + "\n" == text, "run scripts/embed-default-policy after changing policies/default.yaml")
    }

    /// `policy rules` writes a rule file promtool accepts, whatever the policy's name holds, and the
    /// labels read back as the names Trimtab matches; a bad interval is a usage error.
    @Test func policyRulesWritesRulesPromtoolAccepts() async throws {
        try await withTemporaryDirectory { dir in
            let policyFile = dir.appendingPathComponent("odd.yaml").path
            let renamed = DefaultPolicy.yaml.replacingOccurrences(of: "metadata:\n  name: default", with: "metadata:\n  name: 'team \"a\" \\ shop'")
            #expect(renamed != DefaultPolicy.yaml)
            try renamed.write(toFile: policyFile, atomically: true, encoding: .utf8)
            let rules = dir.appendingPathComponent("slo-rules.yaml").path
            #expect(await trimtab(["policy", "rules", "--policy", policyFile, "--interval", "1m", "-o", rules]) == 0)
            let text = try String(contentsOfFile: rules, encoding: .utf8)
            let root = try #require(try Yams.load(yaml: text) as? [String: Any])
            let group = try #require((root["groups"] as? [[String: Any]])?.first)
            #expect(group["interval"] as? String == "1m")
            let recorded = try #require(group["rules"] as? [[String: Any]])
            #expect(recorded.compactMap { $0["record"] as? String } == ["trimtab_slo:good:increase5m", "trimtab_slo:total:increase5m",
                                                                        "trimtab_slo:good:increase5m", "trimtab_slo:total:increase5m"])
            let labels = try #require(recorded.first?["labels"] as? [String: String])
            #expect(labels["trimtab_policy"] == #"team "a" \ shop"#)
            let policy = try PolicyLoader.load(text: renamed, file: policyFile)
            #expect(labels["trimtab_digest"] == ObjectiveRecording.digest(policy.objectives[0], targets: policy.targets))
            let check = Process()
            check.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
            check.arguments = ["check", "rules", rules]
            check.standardOutput = FileHandle.nullDevice
            check.standardError = FileHandle.nullDevice
            try check.run()
            check.waitUntilExit()
            #expect(check.terminationStatus == 0)
            #expect(await trimtab(["policy", "rules", "--interval", "10m"]) == 64)
            #expect(await trimtab(["policy", "rules", "--interval", "often"]) == 64)
        }
    }

    @Test func aBadPrometheusHeaderIsAUsageError() async {
        for header in ["no colon", "Bad Name: x", "Authorization: Bearer abc", "X-Scope-OrgID: a\u{7}b"] {
            #expect(await trimtab(["analyze", "--prometheus", "http://127.0.0.1:1", "--prometheus-header", header]) == 64, "\(header)")
        }
    }

    @Test func everyCommandHasHelpWithoutStrayEscapes() {
        let commands: [any ParsableCommand.Type] = [TrimtabCommand.self] + TrimtabCommand.configuration.subcommands
            + TrimtabCommand.configuration.subcommands.flatMap { $0.configuration.subcommands }
        #expect(commands.count >= 10)
        for command in commands {
            let help = TrimtabCommand.helpMessage(for: command)
            #expect(help.contains("USAGE:"), "\(command)")
            #expect(!command.configuration.abstract.isEmpty, "\(command) has no abstract")
            #expect(!help.contains("\\\n"), "\(command)'s help has a stray backslash at a line end")
        }
    }

    @Test func badFlagsAreUsageErrors() async {
        #expect(await trimtab(["analyze", "--timeout", "soon", "--prometheus", "http://127.0.0.1:1"]) == 64)
        #expect(await trimtab(["analyze", "--at", "yesterday", "--prometheus", "http://127.0.0.1:1"]) == 64)
        #expect(await trimtab(["analyze", "--no-such-flag"]) == 64)
        // The root help states the code the parser exits with.
        let help = TrimtabCommand.helpMessage().split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(help.contains("64 a usage error"), "\(help)")
    }

    @Test func enforcingWithoutClusterOptionsIsRefusedByEveryCommandThatCanEnforce() async {
        // analyze and run share one rule: enforcing names its cluster (exit 1, invalid input), before
        // anything is read.
        #expect(await trimtab(["analyze", "--prometheus", "http://127.0.0.1:1", "--apply", "--quiet"]) == 1)
        #expect(await trimtab(["run", "--prometheus", "http://127.0.0.1:1", "--apply", "--max-cycles", "1"]) == 1)
    }
}
