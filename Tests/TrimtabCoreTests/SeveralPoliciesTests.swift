import Foundation
import Testing
@testable import TrimtabCore

/// A team's policy file: the base policy's checks, under another name and targets.
func teamPolicy(_ name: String, targets: String) -> String {
    basePolicy.replacingOccurrences(of: "metadata: {name: shop}", with: "metadata: {name: \(name)}")
        .replacingOccurrences(of: "    namespace: shop\n", with: targets)
}

@Suite("Several teams' policies and their namespaces")
struct SeveralPoliciesTests {
    @Test func namespacesTakeAListAndBecomeOneMatcher() throws {
        let text = basePolicy.replacingOccurrences(of: "    namespace: shop\n", with: "    namespaces: [shop, checkout]\n")
        let policy = try PolicyLoader.load(text: text, file: "p.yaml")
        #expect(policy.targets.namespace == nil && policy.targets.namespaces == ["shop", "checkout"])
        let query = PromQL.render("sum by ($by) (up{$selector}) + on () count(x{$namespaceSelector})", targets: policy.targets)
        #expect(query.contains("namespace=~\"checkout|shop\""))
        #expect(!query.contains("namespace!=\"\")"))
        #expect(policy.targets.covers(namespace: "checkout") && !policy.targets.covers(namespace: "search"))
        // One name in the list is the one namespace, and $namespace can stand for it.
        let one = try PolicyLoader.load(text: basePolicy.replacingOccurrences(of: "    namespace: shop\n", with: "    namespaces: [shop]\n"), file: "p.yaml")
        #expect(one.targets.namespace == "shop" && one.targets.namespaces == nil)
    }

    @Test func aLabelSelectorMatchesNothingUntilResolved() throws {
        let text = basePolicy.replacingOccurrences(of: "    namespace: shop\n", with: "    namespaces: {matchLabels: {team: payments}}\n")
        var policy = try PolicyLoader.load(text: text, file: "p.yaml")
        #expect(policy.targets.namespaceLabels == ["team": "payments"])
        // Fail closed: before the cycle resolves the labels, no series can match.
        #expect(policy.targets.namespaceMatcher == "namespace=\"\", namespace!=\"\"")
        policy.targets.namespaces = ["pay"]
        #expect(policy.targets.namespaceMatcher == "namespace=~\"pay\"")
        #expect(policy.targets.namespaceText == "namespaces labelled team=payments (pay)")
        policy.targets.restrict(to: "other")
        #expect(policy.targets.namespaceMatcher == "namespace=\"other\"" && policy.targets.namespaceLabels == nil)
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        var name: String
        var targets: String
        var message: String
        var line: Int
        var testDescription: String { name }
    }

    @Test(arguments: [
        Bad(name: "both keys", targets: "    namespace: shop\n    namespaces: [a, b]\n", message: "spec.targets has both namespace and namespaces", line: 7),
        Bad(name: "an empty list", targets: "    namespaces: []\n", message: "spec.targets.namespaces is empty", line: 6),
        Bad(name: "not a namespace name", targets: "    namespaces: [shop, Shop_2]\n", message: "'Shop_2' in spec.targets.namespaces is not a namespace name", line: 6),
        Bad(name: "a name twice", targets: "    namespaces: [shop, shop]\n", message: "'shop' is listed twice in spec.targets.namespaces", line: 6),
        Bad(name: "empty labels", targets: "    namespaces: {matchLabels: {}}\n", message: "matchLabels is empty", line: 6),
        Bad(name: "a mapping without matchLabels", targets: "    namespaces: {matchLabel: {a: b}}\n", message: "did you mean 'matchLabels'", line: 6),
    ])
    func badNamespacesAreRefusedWithTheirPlace(_ item: Bad) throws {
        let found = diagnostics(basePolicy.replacingOccurrences(of: "    namespace: shop\n", with: item.targets))
        let first = try #require(found.first { $0.message.contains(item.message) || ($0.hint ?? "").contains(item.message) }, "diagnostics: \(found)")
        #expect(first.location.file == "p.yaml" && first.location.line == item.line, "\(first)")
    }

    @Test func namespacePlaceholderNeedsExactlyOneNamespace() throws {
        let text = basePolicy.replacingOccurrences(of: "    namespace: shop\n", with: "    namespaces: [a, b]\n")
            .replacingOccurrences(of: "cache_hit_ratio{$selector}", with: "cache_hit_ratio{namespace=\"$namespace\"}")
        let found = diagnostics(text)
        #expect(found.count == 1)
        #expect(found.first?.message.contains("uses $namespace, which stands for one namespace, but the targets are in namespaces a, b") == true)
        #expect(found.first?.hint?.contains("$namespaceSelector") == true)
    }

    @Test func filesWithDifferentNamesAreIndependentPolicies() throws {
        let shared = """
        apiVersion: trimtab/v1
        kind: Policy
        spec:
          evaluation: {step: 1m}
        """
        let policies = try PolicyLoader.loadSet([
            .init(file: "00-shared.yaml", text: shared),
            .init(file: "payments.yaml", text: teamPolicy("payments", targets: "    namespace: pay\n")),
            .init(file: "search.yaml", text: teamPolicy("search", targets: "    namespaces: [search, search-canary]\n")
                .replacingOccurrences(of: "warning: 1s, critical: 2s", with: "warning: 300ms, critical: 600ms")),
        ])
        #expect(policies.map(\.name) == ["payments", "search"])
        #expect(policies[0].sources == ["00-shared.yaml", "payments.yaml"])
        #expect(policies[1].sources == ["00-shared.yaml", "search.yaml"])
        // Each keeps its own thresholds, and both have the shared file's settings.
        #expect(policies[0].checks.first { $0.name == "latency_p95" }?.warning == 1)
        #expect(policies[1].checks.first { $0.name == "latency_p95" }?.warning == 0.3)
        #expect(policies.allSatisfy { $0.evaluation.stepSeconds == 60 })
        // A caller that runs one policy is told there are two.
        do {
            _ = try PolicyLoader.load([.init(file: "payments.yaml", text: teamPolicy("payments", targets: "    namespace: pay\n")),
                                       .init(file: "search.yaml", text: teamPolicy("search", targets: "    namespace: search\n"))])
            Issue.record("loaded two policies as one")
        } catch {
            #expect(error.description.contains("the files hold 2 policies, 'payments' (payments.yaml), 'search' (search.yaml)"))
        }
    }

    @Test(arguments: [
        ("    namespace: shop\n", "    namespaces: [shop, other]\n", true),
        ("    namespace: shop\n", "", true),  // the second covers every namespace
        ("    namespace: shop\n", "    namespace: other\n", false),
        ("    namespaces: {matchLabels: {team: a}}\n", "    namespaces: {matchLabels: {team: a, tier: web}}\n", true),
        ("    namespaces: {matchLabels: {team: a}}\n", "    namespaces: {matchLabels: {team: b}}\n", false),
        ("    namespaces: {matchLabels: {team: a}}\n", "    namespace: shop\n", false),  // only the cluster can tell
        ("    namespace: shop\n    matchLabels: {tier: web}\n", "    namespace: shop\n    matchLabels: {tier: api}\n", false),
        ("    namespace: shop\n    matchLabels: {tier: web}\n", "    namespace: shop\n", true),
        ("    namespace: shop\n    kind: StatefulSet\n", "    namespace: shop\n", false),
    ])
    func aTargetClaimedByTwoPoliciesIsAnErrorNamingBothFiles(_ first: String, _ second: String, _ clash: Bool) throws {
        let sources: [PolicyLoader.Source] = [.init(file: "teams/a.yaml", text: teamPolicy("a", targets: first)),
                                              .init(file: "teams/b.yaml", text: teamPolicy("b", targets: second))]
        do {
            let policies = try PolicyLoader.loadSet(sources)
            #expect(!clash, "loaded \(policies.map(\.name)) though both claim the same targets")
        } catch {
            #expect(clash, "\(error)")
            let problem = try #require(error.diagnostics.first)
            #expect(problem.message.contains("policy 'b' (teams/b.yaml) and policy 'a' (teams/a.yaml) both claim"), "\(problem)")
            #expect(problem.location.file == "teams/b.yaml" && problem.location.line == 6, "\(problem)")
        }
    }

    @Test func recordingRulesHaveOneGroupPerPolicy() throws {
        let policies = try PolicyLoader.loadSet([.init(file: "a.yaml", text: teamPolicy("a", targets: "    namespace: a\n")),
                                                 .init(file: "b.yaml", text: teamPolicy("b", targets: "    namespace: b\n"))])
        let text = ObjectiveRecording.rules(for: policies)
        #expect(text.hasPrefix("# Recording rules for the objectives of Trimtab policies a, b"))
        #expect(text.components(separatedBy: "\n  - name: ").count == 3)
        #expect(text.contains("name: \"trimtab.objectives.a\"") && text.contains("name: \"trimtab.objectives.b\""))
        #expect(text.components(separatedBy: "groups:").count == 2)
    }
}
