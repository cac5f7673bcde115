import Foundation
import Testing
@testable import TrimtabCore

/// The base policy with one availability objective; tests change one line at a time.
let objectivePolicy = basePolicy + """

  objectives:
    availability:
      kind: availability
      target: 99.9%
      window: 28d
      good: sum by ($by) (rate(http_requests_total{$selector, code!~"5.."}[$range]))
      total: sum by ($by) (rate(http_requests_total{$selector}[$range]))
"""

@Suite("Service-level objectives: the policy section, the error ratios' queries, budgets and burn rates")
struct ObjectiveTests {
    static let checkout = TargetID(labelNames: ["namespace", "deployment"], labelValues: ["shop", "checkout"])
    static let day = 86_400.0

    @Test func theSectionLoads() throws {
        let policy = try PolicyLoader.load(text: objectivePolicy, file: "p.yaml")
        let objective = try #require(policy.objectives.first)
        #expect(policy.objectives.count == 1)
        #expect(objective.kind == .availability && abs(objective.target - 0.999) < 1e-12 && objective.windowSeconds == 28 * Self.day)
        #expect(abs(objective.budget - 0.001) < 1e-12)
        #expect(objective.ranges == [300, 1800, 3600, 21_600, 28 * Self.day])
        let query = objective.errorRatioQuery(rangeSeconds: 1800, targets: policy.targets)
        #expect(query == """
        1 - (
        sum by (namespace, deployment) (rate(http_requests_total{namespace!="",deployment!="",namespace="shop", code!~"5.."}[30m]))
        ) / (
        sum by (namespace, deployment) (rate(http_requests_total{namespace!="",deployment!="",namespace="shop"}[30m]))
        )
        """)
        #expect(objective.errorRatioQuery(rangeSeconds: 28 * Self.day, targets: policy.targets).contains("[28d]"))
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        var replace: String
        var with: String
        var line: Int
        var message: String
        var testDescription: String { message }
    }

    static let bad = [
        Bad(replace: "target: 99.9%", with: "target: 100%", line: 21, message: "objective 'availability'.target must be a share between 0 and 100 %"),
        Bad(replace: "target: 99.9%", with: "target: 5m", line: 21, message: "objective 'availability'.target must be a share"),
        Bad(replace: "window: 28d", with: "window: 1h", line: 22, message: "objective 'availability'.window must be from 6h to 90d, found 1h"),
        Bad(replace: "[$range]))\n      total", with: "[5m]))\n      total", line: 23, message: "objective 'availability'.good does not use $range"),
        Bad(replace: "{$selector}[$range]", with: "{$selectr}[$range]", line: 24, message: "uses the unknown placeholder $selectr"),
        Bad(replace: "kind: availability", with: "kind: speed", line: 20, message: "speed"),
        Bad(replace: "      kind: availability\n", with: "", line: 19, message: "objective 'availability' has no kind"),
        Bad(replace: "      window: 28d\n", with: "      windw: 28d\n", line: 22, message: "windw"),
    ]

    @Test(arguments: bad)
    func badObjectivesAreRefusedWithTheirPlace(_ item: Bad) throws {
        #expect(objectivePolicy.contains(item.replace), "the case must change the policy")
        let found = diagnostics(objectivePolicy.replacingOccurrences(of: item.replace, with: item.with))
        let first = try #require(found.first { $0.message.contains(item.message) || ($0.hint ?? "").contains(item.message) },
                                 "diagnostics: \(found)")
        #expect(first.location.file == "p.yaml" && first.location.line == item.line, "\(first)")
    }

    @Test func aLaterFileRefinesAnObjective() throws {
        let later = """
        apiVersion: trimtab/v1
        kind: Policy
        spec:
          objectives:
            availability: {target: 99.5%}
        """
        let policy = try PolicyLoader.load([.init(file: "a.yaml", text: objectivePolicy), .init(file: "b.yaml", text: later)])
        #expect(abs(try #require(policy.objectives.first).target - 0.995) < 1e-12)
        #expect(policy.objectives.first?.good.contains("code!~") == true)
    }

    static func status(_ ratios: [Double: Double?], target: Double = 0.999, errors: [String] = []) throws -> ObjectiveStatus {
        let policy = try PolicyLoader.load(text: objectivePolicy.replacingOccurrences(of: "target: 99.9%", with: "target: \(target * 100)%"), file: "p.yaml")
        var read: [Double: [TargetID: Double]] = [:]
        for (range, value) in ratios { read[range] = value.map { [checkout: $0] } ?? [:] }
        let reading = ObjectiveReading(objective: "availability", errorRatios: read, errors: errors)
        return try #require(ObjectiveAssessor.assess([reading], policy: policy).first)
    }

    static let window = 28 * day

    @Test func withinBudgetIsOkWithTheBudgetLeftAndWhenItRunsOut() throws {
        let status = try Self.status([300: 0.0005, 1800: 0.0005, 3600: 0.0005, 21_600: 0.0005, Self.window: 0.0004])
        #expect(status.state == .ok && status.reason == nil)
        #expect(abs(try #require(status.compliance) - 0.9996) < 1e-12)
        #expect(abs(try #require(status.budgetLeft) - 0.6) < 1e-9)
        #expect(abs(try #require(status.burn(over: 3600)) - 0.5) < 1e-9)
        // 60 % of a 28-day budget at half the rate that spends it in 28 days: 33.6 days.
        #expect(abs(try #require(status.exhaustionSeconds) - 0.6 * Self.window / 0.5) < 1)
    }

    @Test func aFastBurnNeedsBothItsWindows() throws {
        let fast = try Self.status([300: 0.02, 1800: 0.02, 3600: 0.015, 21_600: 0.004, Self.window: 0.0005])
        #expect(fast.state == .fastBurn)
        // An hour of errors that has stopped: the 5-minute window no longer burns.
        let over = try Self.status([300: 0.0001, 1800: 0.01, 3600: 0.015, 21_600: 0.004, Self.window: 0.0005])
        #expect(over.state == .ok)
    }

    @Test func aSlowBurnIsBothSlowWindowsAtSixTimes() throws {
        let slow = try Self.status([300: 0.007, 1800: 0.007, 3600: 0.007, 21_600: 0.0065, Self.window: 0.0005])
        #expect(slow.state == .slowBurn && slow.reason?.contains("6h and 30m") == true)
    }

    @Test func aSpentBudgetIsExhaustedWhateverBurnsNow() throws {
        let spent = try Self.status([300: 0, 1800: 0, 3600: 0, 21_600: 0, Self.window: 0.0012])
        #expect(spent.state == .exhausted && spent.exhaustionSeconds == nil)
        #expect(abs(try #require(spent.budgetLeft) + 0.2) < 1e-9)
    }

    @Test func quietWindowsBurnNothingButAnUnreadOneIsUnknown() throws {
        // No requests in the last 5 and 30 minutes (read, but the target is absent): nothing burns there.
        let quiet = try Self.status([300: nil, 1800: nil, 3600: 0.0005, 21_600: 0.0005, Self.window: 0.0005])
        #expect(quiet.state == .ok && quiet.burn(over: 300) == nil)
        // The 6-hour query failed: the slow burn cannot be judged.
        let ratios: [Double: Double?] = [300: 0.0005, 1800: 0.0005, 3600: 0.0005, Self.window: 0.0005]
        let failed = try Self.status(ratios, errors: ["6h: the query timed out"])
        #expect(failed.state == .unknown && failed.reason == "6h: the query timed out")
        // Requests in the last six hours, none counted over the window (its query found no series): no compliance to speak of.
        let uncounted = try Self.status([300: 0, 1800: 0, 3600: 0, 21_600: 0, Self.window: nil])
        #expect(uncounted.state == .unknown && uncounted.compliance == nil && uncounted.reason == "no requests over the 28d window")
    }

    @Test func ratiosOutsideZeroToOneAreClamped() throws {
        // 1 - good/total dips below 0 when the good counter's extrapolation runs ahead of the total's.
        let status = try Self.status([300: -1e-12, 1800: 0, 3600: 0, 21_600: 0, Self.window: -1e-12])
        #expect(status.compliance == 1 && status.budgetLeft == 1 && status.state == .ok)
    }

    @Test func theReportShowsEveryObjectiveWithItsState() throws {
        let status = try Self.status([300: 0.02, 1800: 0.02, 3600: 0.015, 21_600: 0.004, Self.window: 0.0005])
        let lines = ObjectiveMarkdown.render([status])
        #expect(lines.first == "## Error budgets")
        let row = try #require(lines.first { $0.hasPrefix("| shop/checkout |") })
        #expect(row == "| shop/checkout | availability, 28d | 99.9 % | 99.95 % | 50 % | 20× | 20× | 15× | 4× | **fast-burn** | 22h24m |")
        #expect(ObjectiveMarkdown.render([]).isEmpty)
    }

    @Test func recordingRulesServeTheLongRangesWhileTheirDigestMatches() throws {
        let policy = try PolicyLoader.load(text: objectivePolicy, file: "p.yaml")
        let objective = try #require(policy.objectives.first)
        let digest = ObjectiveRecording.digest(objective, targets: policy.targets)
        #expect(digest.count == 16 && digest.allSatisfy(\.isHexDigit))
        // The digest follows the rendered queries: another namespace, or another total, is another digest.
        var elsewhere = policy.targets
        elsewhere.namespace = "payments"
        #expect(ObjectiveRecording.digest(objective, targets: elsewhere) != digest)
        var edited = objective
        edited.total = edited.total.replacingOccurrences(of: "[$range]", with: "[$range] offset 0s")
        #expect(ObjectiveRecording.digest(edited, targets: policy.targets) != digest)
        #expect(ObjectiveRecording.digest(objective, targets: policy.targets) == digest)
        // 6h and the window from the records, the short ranges raw.
        for range in objective.ranges {
            let query = ObjectiveRecording.query(objective, policy: policy, rangeSeconds: range, recorded: true)
            #expect(query.contains(ObjectiveRecording.goodRecord) == (range >= 21_600), "\(range): \(query)")
            #expect(ObjectiveRecording.query(objective, policy: policy, rangeSeconds: range, recorded: false)
                    == objective.errorRatioQuery(rangeSeconds: range, targets: policy.targets))
        }
        #expect(ObjectiveRecording.query(objective, policy: policy, rangeSeconds: 28 * Self.day, recorded: true) == """
        1 - (
        sum by (namespace, deployment) (sum_over_time(trimtab_slo:good:increase5m{trimtab_policy="shop", trimtab_objective="availability", trimtab_digest="\(digest)"}[28d]))
        ) / (
        sum by (namespace, deployment) (sum_over_time(trimtab_slo:total:increase5m{trimtab_policy="shop", trimtab_objective="availability", trimtab_digest="\(digest)"}[28d]))
        )
        """)
        #expect(ObjectiveRecording.presenceQuery(policy: policy) == #"group by (trimtab_objective, trimtab_digest) (trimtab_slo:total:increase5m{trimtab_policy="shop"})"#)
        let rules = ObjectiveRecording.rules(for: policy, intervalSeconds: 60)
        #expect(rules.contains("    interval: 1m\n    rules:\n      - record: trimtab_slo:good:increase5m\n        expr: |-\n          sum by (namespace, deployment) (rate(http_requests_total{namespace!=\"\",deployment!=\"\",namespace=\"shop\", code!~\"5..\"}[5m]))\n"), "\(rules)")
        #expect(rules.contains("          trimtab_digest: \"\(digest)\"\n"))
        // A policy without objectives has an empty group, which Prometheus accepts.
        let none = try PolicyLoader.load(text: basePolicy, file: "p.yaml")
        #expect(ObjectiveRecording.rules(for: none).hasSuffix("    interval: 30s\n    rules: []\n"))
        #expect(ObjectiveRecording.quoted("a\"b\\c\u{1}") == #""a\"b\\c\x01""#)
    }
}
