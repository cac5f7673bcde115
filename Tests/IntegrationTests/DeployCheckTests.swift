import Foundation
import Testing
import TrimtabCLI

/// `deploy/check`, the offline checks of deploy/ (kustomize, the Kubernetes schemas, promtool on the
/// alerts and the dashboard's PromQL, the Dockerfile's toolchain): the shipped files pass, and each
/// kind of breakage fails it with a message that names what is wrong.
// Serialized: each case runs kubernetes-validate (a Python process per overlay); eight at once took
// the cores from the daemon tests' timing.
@Suite("deploy/check: offline checks of the manifests, rules and dashboard", .serialized)
struct DeployCheckTests {
    static let script = DeployManifests.root.appendingPathComponent("deploy/check").path

    @Test func theShippedFilesPass() async throws {
        let (status, output) = try await runTool(Self.script, [])
        #expect(status == 0, "\(output)")
        #expect(output.contains("deploy/check: all passed"))
        #expect(output.contains("overlays/enforce validates against the Kubernetes"))
        #expect(output.contains("alerts.test.yaml: the alerts' unit tests pass"))
    }

    /// A file, the text replaced in it, and what the failure must say.
    struct Breakage: Sendable, CustomTestStringConvertible {
        var file: String
        var replace: String
        var with: String
        var expect: String
        var testDescription: String { "\(file): \(replace) → \(with)" }
    }

    @Test(arguments: [
        Breakage(file: "deploy/kubernetes/base/deployment.yaml", replace: "replicas: 2", with: "replicas: two", expect: "spec.replicas: 'two' is not of type 'integer'"),
        Breakage(file: "deploy/kubernetes/base/deployment.yaml", replace: "readinessProbe:", with: "readinesProbe:", expect: "'readinesProbe' was unexpected"),
        Breakage(file: "deploy/kubernetes/overlays/enforce/kustomization.yaml", replace: "../../base", with: "../../bases", expect: "overlays/enforce: kubectl kustomize"),
        Breakage(file: "deploy/kubernetes/monitoring/prometheusrule.yaml", replace: "> 600", with: "> > 600", expect: "PrometheusRule"),
        Breakage(file: "deploy/kubernetes/monitoring/prometheusrule.yaml", replace: "for: 2m", with: "for: 20m", expect: "alerts.test.yaml"),
        Breakage(file: "deploy/kubernetes/monitoring/trimtab-dashboard.json", replace: #"sum(trimtab_leader{job=\"trimtab\"})"#,
                 with: #"sum(trimtab_leader{job=\"trimtab\"}"#, expect: #"panel "Leaders""#),
        Breakage(file: "deploy/Dockerfile", replace: "FROM swift:6.3-bookworm AS build", with: "FROM swift:5.10-bookworm AS build", expect: "older than Package.swift's tools version"),
    ])
    func aBrokenFileFailsTheCheck(_ breakage: Breakage) async throws {
        try await withTemporaryDirectory { dir in
            for item in ["deploy", "Package.swift"] {
                try FileManager.default.copyItem(at: DeployManifests.root.appendingPathComponent(item), to: dir.appendingPathComponent(item))
            }
            let file = dir.appendingPathComponent(breakage.file)
            let text = try String(contentsOf: file, encoding: .utf8)
            #expect(text.contains(breakage.replace), "the breakage no longer applies to \(breakage.file)")
            try text.replacingOccurrences(of: breakage.replace, with: breakage.with).write(to: file, atomically: true, encoding: .utf8)
            let (status, output) = try await runTool(Self.script, ["--root", dir.path])
            #expect(status == 1, "\(output)")
            #expect(output.contains(breakage.expect), "\(output)")
            #expect(output.contains("FAIL: "))
        }
    }

    /// The CI examples call `trimtab report` with flags that exist and agree (the parser validates
    /// them as a run would), so an example cannot drift from the command it shows.
    @Test(arguments: ["deploy/ci/github-actions.yaml", "deploy/ci/gitlab-ci.yaml"])
    func theCIExamplesCallTrimtabAsItParses(file: String) throws {
        let text = try String(contentsOf: DeployManifests.root.appendingPathComponent(file), encoding: .utf8)
        // A command runs from its `trimtab report` to the end of its lines continued by `\` or by YAML's folding.
        var commands: [[String]] = []
        var current: [String]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if current == nil, let range = line.range(of: "trimtab report ") {
                current = []
                current? += words(String(line[range.lowerBound...]))
            } else if current != nil, !line.isEmpty, !line.hasPrefix("- "), !line.hasPrefix("#"), line.hasPrefix("-") || line.hasPrefix("\"") || line.hasPrefix("$") {
                current? += words(line)
            } else if let command = current {
                commands.append(command)
                current = nil
            }
        }
        if let current { commands.append(current) }
        #expect(commands.count == 1, "\(commands)")
        for command in commands {
            let arguments = Array(command.dropFirst())   // "trimtab"
            #expect(arguments.first == "report")
            for flag in ["--output", "--json-output", "--junit-output", "--baseline", "--fail-under", "--fail-on"] {
                #expect(arguments.contains(flag), "\(file) does not pass \(flag)")
            }
            do {
                _ = try TrimtabCommand.parseAsRoot(arguments)
            } catch {
                Issue.record("\(file): \(arguments.joined(separator: " ")): \(TrimtabCommand.message(for: error))")
            }
        }
    }

    /// Shell words, with the examples' variables given the values a run would give them.
    private func words(_ line: String) -> [String] {
        line.replacingOccurrences(of: "\"${baseline[@]}\"", with: "--baseline baseline/report.json")
            .replacingOccurrences(of: "$baseline", with: "--baseline baseline/report.json")
            .replacingOccurrences(of: "\"$RUNNER_TEMP/token\"", with: "/tmp/token")
            .split(separator: " ").map(String.init).filter { $0 != "\\" && $0 != ">" }
            .map { $0.hasPrefix("bin/trimtab") ? "trimtab" : $0 }
    }
}
