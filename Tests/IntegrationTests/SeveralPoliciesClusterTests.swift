import Foundation
import Testing
import TrimtabCore
import TrimtabDaemon
import TrimtabKube
import TrimtabKubeSandbox
import TrimtabSandbox

/// Several teams' policies in one `analyze`, against the sandbox API server and Prometheus with the
/// demo's history: each policy judges and plans its own targets, a workload two of them find is held
/// by both, and a namespace label selector is resolved from the API server (or kube-state-metrics).
@Suite("Several teams' policies in one cycle")
struct SeveralPoliciesClusterTests {
    /// The shipped default policy as a file every team shares: without its metadata.name.
    static func sharedDefault() throws -> String {
        let text = try String(contentsOf: DeployManifests.root.appendingPathComponent("policies/default.yaml"), encoding: .utf8)
        let shared = text.replacingOccurrences(of: "metadata:\n  name: default\n", with: "metadata:\n")
        #expect(shared != text, "the default policy's name must be removable")
        return shared
    }

    static func team(_ name: String, _ targets: String) -> String {
        "apiVersion: trimtab/v1\nkind: Policy\nmetadata: {name: \(name)}\nspec:\n  targets:\n\(targets)"
    }

    static func write(_ files: [String: String], in dir: URL) throws -> String {
        let policies = dir.appendingPathComponent("policies")
        try FileManager.default.createDirectory(at: policies, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(to: policies.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return policies.path
    }

    @Test func eachPolicyJudgesItsOwnTargetsAndAContestedOneIsHeldByBoth() async throws {
        let step = DemoScenario.scrapeInterval
        let end = (alignedNow() / step).rounded(.down) * step
        try await withTemporaryDirectory { dir in
            let sandbox = try await KubeSandbox.start(configuration: .demo)
            defer { Task { await sandbox.stop() } }
            _ = try sandbox.apply(["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "shop", "labels": ["team": "storefront"]]])
            let policies = try Self.write([
                "00-shared.yaml": try Self.sharedDefault(),
                "payments.yaml": Self.team("payments", "    namespace: shop\n    matchLabels: {workload: payments}\n"),
                "search.yaml": Self.team("search", "    namespaces: [shop]\n    matchLabels: {workload: search}\n"),
                // Chooses shop by its label, and so claims payments too: only the cluster can tell.
                "storefront.yaml": Self.team("storefront", "    namespaces: {matchLabels: {team: storefront}}\n    matchLabels: {workload: payments}\n"),
            ], in: dir)
            let kubeconfig = try JournalTruthTests.kubeconfig(sandbox, in: dir)
            let report = dir.appendingPathComponent("r.md").path
            let json = dir.appendingPathComponent("r.json").path
            try await withPrometheus(DemoScenario.openMetrics(end: end)) { prometheus in
                for (format, path) in [("markdown", report), ("json", json)] {
                    let code = await trimtab(["analyze", "--prometheus", prometheus.url, "--at", "\(Int(end))", "--kubeconfig", kubeconfig,
                                              "--policy", policies, "--quiet", "--format", format, "--output", path])
                    #expect(code == 0)
                }
            }
            let markdown = try String(contentsOfFile: report, encoding: .utf8)
            #expect(markdown.contains("| Policy | Files | Namespaces | Targets | Score | Status |"), "\(markdown)")
            #expect(markdown.contains("| payments | \(policies)/00-shared.yaml, \(policies)/payments.yaml | namespace shop | 1 |"), "\(markdown)")
            #expect(markdown.contains("| search | \(policies)/00-shared.yaml, \(policies)/search.yaml | namespace shop | 1 |"), "\(markdown)")
            #expect(markdown.contains("| storefront | \(policies)/00-shared.yaml, \(policies)/storefront.yaml | namespaces labelled team=storefront (shop) | 1 |"), "\(markdown)")
            #expect(markdown.contains("| Target | Policy | Score |"), "\(markdown)")
            #expect(markdown.contains("deployment/payments in namespace shop is claimed by policies 'payments' (\(policies)/00-shared.yaml, \(policies)/payments.yaml) and 'storefront'"), "\(markdown)")
            #expect(markdown.contains("| shop/payments (policy storefront) | poolSize |"), "\(markdown)")

            let decoded = try JSONDecoder().decode(AnalysisReport.self, from: Data(contentsOf: URL(fileURLWithPath: json)))
            #expect(decoded.report(policies: ["payments", "search", "storefront"]))
            let byPolicy = Dictionary(grouping: decoded.assessment.targets, by: { $0.policy ?? "" }).mapValues { $0.map(\.target.description) }
            #expect(byPolicy == ["payments": ["shop/payments"], "search": ["shop/search"], "storefront": ["shop/payments"]], "\(byPolicy)")
            // Whatever the plan drafted for payments, neither policy may carry it out.
            let plan = try #require(decoded.plan)
            let onPayments = plan.actions.filter { $0.target.description == "shop/payments" }
            #expect(!onPayments.isEmpty)
            #expect(onPayments.allSatisfy { $0.decision == .held && $0.failedRules.contains { $0.detail.contains("is claimed by policies") } }, "\(onPayments)")
            // The label selector was resolved with one list of namespaces.
            #expect(sandbox.requests.contains { $0.path == "/api/v1/namespaces" && $0.query == "labelSelector=team%3Dstorefront" }, "\(sandbox.requests.map(\.path))")
        }
    }

    @Test func enforcedEachPolicyJournalsItsOwnChangesUnderOneLock() async throws {
        let step = DemoScenario.scrapeInterval
        let end = (alignedNow() / step).rounded(.down) * step
        try await withTemporaryDirectory { dir in
            let sandbox = try await KubeSandbox.start(configuration: .demo)
            defer { Task { await sandbox.stop() } }
            let policies = try Self.write([
                "00-shared.yaml": try Self.sharedDefault(),
                "payments.yaml": Self.team("payments", "    namespace: shop\n    matchLabels: {workload: payments}\n"),
                "search.yaml": Self.team("search", "    namespaces: [shop]\n    matchLabels: {workload: search}\n"),
            ], in: dir)
            let kubeconfig = try JournalTruthTests.kubeconfig(sandbox, in: dir)
            let journal = dir.appendingPathComponent("journal").path
            let json = dir.appendingPathComponent("r.json").path
            try await withPrometheus(DemoScenario.openMetrics(end: end)) { prometheus in
                let base = ["analyze", "--prometheus", prometheus.url, "--at", "\(Int(end))", "--kubeconfig", kubeconfig, "--journal", journal,
                            "--policy", policies, "--quiet"]
                #expect(await trimtab(base + ["--apply", "--output", dir.appendingPathComponent("r.md").path]) == 0)
                // Again at the same time: each policy sees its own change in its journal, and holds it in cooldown.
                #expect(await trimtab(base + ["--apply", "--format", "json", "--output", json]) == 0)
            }
            let entries = try FileJournal(directory: journal).entries()
            #expect(entries.map { "\($0.policy ?? "none") \($0.target) \($0.knob) \($0.state.rawValue)" }.sorted()
                    == ["payments shop/payments env DB_POOL_SIZE applied", "search shop/search env CACHE_TTL_SECONDS applied"], "\(entries)")
            // The journal agrees with the cluster: each change is what the workload holds.
            for entry in entries {
                let name = entry.workload.name
                let variable = entry.knob.description.replacingOccurrences(of: "env ", with: "")
                #expect(env(variable, in: sandbox, of: name) == entry.after, "\(entry)")
            }
            let report = try ReportEncoding.decode(try String(contentsOfFile: json, encoding: .utf8))
            #expect(report.execution?.outcomes.isEmpty == true)
            let cooling = report.plan?.held.filter { $0.failedRules.contains { $0.rule == "cooldown" } }.map { "\($0.policy ?? "") \($0.target)" }.sorted()
            #expect(cooling == ["payments shop/payments", "search shop/search"])
            // A rollback by hand with the teams' directory: the policy that made the change rules it.
            let search = try #require(entries.first { $0.policy == "search" })
            #expect(await trimtab(["rollback", "--last", "shop/search", "--kubeconfig", kubeconfig, "--journal", journal, "--policy", policies]) == 0)
            #expect(env("CACHE_TTL_SECONDS", in: sandbox, of: "search") == search.before)
            // The lock was taken once for both policies (a second take in the same run would be refused as held).
            #expect(report.execution?.errors.isEmpty == true, "\(report.execution?.errors ?? [])")
        }
    }

    @Test func twoPoliciesThatCertainlyShareTargetsAreRefusedNamingBothFiles() async throws {
        try await withTemporaryDirectory { dir in
            let policies = try Self.write([
                "00-shared.yaml": try Self.sharedDefault(),
                "a.yaml": Self.team("a", "    namespace: shop\n"),
                "b.yaml": Self.team("b", "    namespaces: [shop, search]\n"),
            ], in: dir)
            #expect(await trimtab(["policy", "lint", policies]) == 1)
            #expect(await trimtab(["analyze", "--policy", policies, "--prometheus", "http://127.0.0.1:9"]) == 1)
            let output: String
            do {
                _ = try PolicySourceFiles.policies(at: policies)
                output = ""
            } catch {
                output = "\(error)"
            }
            #expect(output.contains("\(policies)/b.yaml:6:5: error: policy 'b' (\(policies)/00-shared.yaml, \(policies)/b.yaml) and policy 'a' (\(policies)/00-shared.yaml, \(policies)/a.yaml) both claim Deployments in namespaces shop, search"), "\(output)")
        }
    }
}

extension AnalysisReport {
    /// Whether the report lists exactly these policies.
    func report(policies names: [String]) -> Bool { (policies ?? []).map(\.name) == names }
}
