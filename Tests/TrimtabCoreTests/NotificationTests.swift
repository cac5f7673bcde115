import Foundation
import Testing
@testable import TrimtabCore

/// The alert book's state machine and the bodies it feeds: what is sent when, and in which shape.
@Suite("Notifications: what is sent, when, and in which shape")
struct NotificationTests {
    static let checkout = TargetID(labelNames: ["namespace", "deployment"], labelValues: ["shop", "checkout"])

    static func bottleneck(_ check: String = "latency_p95", severity: CheckStatus = .critical, value: Double = 2.6,
                           target: TargetID = checkout) -> Bottleneck {
        Bottleneck(target: target, check: check, indicator: check, unit: .seconds, worse: .higher, severity: severity,
                   threshold: severity == .critical ? 2 : 1, value: value, worst: value, best: value, since: 1_000, sinceIsLowerBound: false,
                   forSeconds: 60, points: 13, query: "max by (namespace, deployment) (http_request_duration_seconds{quantile=\"0.95\"})")
    }

    static func assessment(_ bottlenecks: [Bottleneck], failures: [String: String] = [:]) -> Assessment {
        Assessment(policy: "shop", time: 2_000, score: bottlenecks.isEmpty ? 100 : 40, status: bottlenecks.isEmpty ? .healthy : .critical,
                   targets: [], bottlenecks: bottlenecks, failures: failures)
    }

    static let settings = NotifySettings(alertmanagers: [AlertmanagerEndpoint(url: "http://am:9093")], link: "https://trimtab.example/status",
                                         resendSeconds: 60, unreachableAfterCycles: 3)

    @Test func aBottleneckFiresOnceIsResentWhileItHoldsAndIsResolvedWhenItClears() {
        var book = AlertBook(settings: Self.settings)
        let first = book.observe(CycleFacts(assessment: Self.assessment([Self.bottleneck()])), now: 2_000, holdSeconds: 240)
        #expect(first.alerts.count == 1)
        #expect(first.news.map(\.status) == [.firing])
        let alert = try! #require(first.alerts.first)
        #expect(alert.labels == ["alertname": "TrimtabBottleneck", "policy": "shop", "check": "latency_p95", "severity": "critical",
                                 "namespace": "shop", "deployment": "checkout"])
        #expect(alert.startsAt == 1_000)
        #expect(alert.endsAt == 2_240)
        #expect(alert.annotations["value"] == "2.6 s")
        #expect(alert.annotations["threshold"] == "above 2 s (critical)")
        #expect(alert.annotations["query"]?.contains("http_request_duration_seconds") == true)
        #expect(alert.annotations["link"] == "https://trimtab.example/status")
        #expect(alert.annotations["plan"] == "no action rule applies (assessment only)")

        // Thirty seconds on: still holding, not due again, nothing for anyone.
        let second = book.observe(CycleFacts(assessment: Self.assessment([Self.bottleneck()])), now: 2_030, holdSeconds: 240)
        #expect(second.isEmpty)
        // A minute on: re-sent to Alertmanager with endsAt pushed ahead, but no news for webhooks.
        let third = book.observe(CycleFacts(assessment: Self.assessment([Self.bottleneck()])), now: 2_060, holdSeconds: 240)
        #expect(third.alerts.map(\.endsAt) == [2_300])
        #expect(third.alerts.first?.startsAt == 1_000)
        #expect(third.news.isEmpty)
        // Cleared: resolved once, with endsAt now.
        let fourth = book.observe(CycleFacts(assessment: Self.assessment([])), now: 2_090, holdSeconds: 240)
        #expect(fourth.alerts.map(\.endsAt) == [2_090])
        #expect(fourth.news.map(\.status) == [.resolved])
        #expect(book.active.isEmpty)
        #expect(book.observe(CycleFacts(assessment: Self.assessment([])), now: 2_120, holdSeconds: 240).isEmpty)
    }

    @Test func unknownIsNotClearAndSeveralBlindCyclesRaiseTheirOwnAlert() {
        var book = AlertBook(settings: Self.settings)
        _ = book.observe(CycleFacts(assessment: Self.assessment([Self.bottleneck()])), now: 2_000, holdSeconds: 240)
        let blind = CycleFacts(assessment: Self.assessment([], failures: ["latency_p95": "connection refused"]), metricsProblem: "connection refused")
        #expect(book.observe(blind, now: 2_030, holdSeconds: 240).isEmpty)
        #expect(book.observe(blind, now: 2_060, holdSeconds: 240).isEmpty)
        // The third blind cycle in a row: TrimtabCannotRead fires; the bottleneck is neither resolved nor re-sent.
        let third = book.observe(blind, now: 2_090, holdSeconds: 240)
        #expect(third.alerts.map(\.name) == ["TrimtabCannotRead"])
        #expect(third.alerts.first?.labels["source"] == "prometheus")
        #expect(third.alerts.first?.annotations["description"] == "connection refused")
        #expect(book.active.count == 2)
        // Sight returns and the bottleneck has cleared: both resolve.
        let back = book.observe(CycleFacts(assessment: Self.assessment([])), now: 2_120, holdSeconds: 240)
        #expect(Set(back.news.filter { $0.status == .resolved }.map(\.alert.name)) == ["TrimtabCannotRead", "TrimtabBottleneck"])
        #expect(book.active.isEmpty)
    }

    @Test func aChangeOfSeverityIsANewAlertAndTheOldOneResolves() {
        var book = AlertBook(settings: Self.settings)
        _ = book.observe(CycleFacts(assessment: Self.assessment([Self.bottleneck(severity: .warning, value: 1.5)])), now: 2_000, holdSeconds: 240)
        let worse = book.observe(CycleFacts(assessment: Self.assessment([Self.bottleneck()])), now: 2_030, holdSeconds: 240)
        #expect(worse.news.map { "\($0.status.rawValue) \($0.alert.labels["severity"]!)" }.sorted() == ["firing critical", "resolved warning"])
    }

    @Test func changesAndRollbacksAreEventsWithTheirReasonsAndAPinnedAutoscalerAsksAPerson() {
        var book = AlertBook(settings: Self.settings)
        let scale = PlannedAction(id: "a1", target: Self.checkout, action: "scale", knob: .replicas, current: 4, proposed: 7,
                                  reason: "latency_p95 is a critical bottleneck and cpu_utilization is 95 %", trigger: "latency_p95",
                                  evidence: [], rules: [RuleResult("bounds", true, "7 within 2…20")], decision: .proposed, benefit: 3)
        let pinned = PlannedAction(id: "a2", target: TargetID(labelNames: ["namespace", "deployment"], labelValues: ["shop", "cart"]),
                                   action: "autoscalerMax", knob: .autoscalerMaxReplicas(name: "cart"), current: 10, proposed: 14,
                                   reason: "cpu is hot", trigger: "latency_p95", evidence: [],
                                   rules: [RuleResult("autoscaler", false, "HorizontalPodAutoscaler cart is pinned at maxReplicas 10: raise it to 14 by hand")],
                                   decision: .held, benefit: 2)
        let plan = Plan(time: 2_000, mode: .enforce, actions: [scale, pinned])
        let execution = ExecutionReport(mode: .enforce, cluster: "https://k8s", outcomes: [
            ActionOutcome(actionID: "a1", target: Self.checkout, knob: .replicas, result: .applied, journalID: "j-1", detail: "4 → 7"),
            ActionOutcome(actionID: "a2", target: pinned.target, knob: pinned.knob, result: .skipped, detail: "held"),
        ], journal: [JournalEvent(journalID: "j-0", target: Self.checkout, knob: .env(name: "CACHE_TTL", container: nil), state: .rolledBack,
                                  detail: "the score fell from 80.0 to 55.0")])
        let batch = book.observe(CycleFacts(assessment: Self.assessment([Self.bottleneck()]), plan: plan, execution: execution), now: 2_000, holdSeconds: 240)
        let byName = Dictionary(grouping: batch.news.map(\.alert), by: \.name)
        #expect(byName["TrimtabChangeApplied"]?.first?.annotations["reason"] == scale.reason)
        #expect(byName["TrimtabChangeApplied"]?.first?.annotations["change"] == "4 → 7")
        #expect(byName["TrimtabChangeApplied"]?.first?.labels["journal_id"] == "j-1")
        #expect(byName["TrimtabRollback"]?.first?.annotations["reason"] == "the score fell from 80.0 to 55.0")
        #expect(byName["TrimtabDecisionNeeded"]?.first?.labels["deployment"] == "cart")
        #expect(byName["TrimtabDecisionNeeded"]?.first?.annotations["summary"]?.contains("raise it to 14 by hand") == true)
        #expect(byName["TrimtabBottleneck"]?.first?.annotations["plan"] == "scale replicas 4 → 7: proposed (enforce: applied this cycle)")
        // Events are sent once: the next cycle says nothing new of them.
        let next = book.observe(CycleFacts(assessment: Self.assessment([Self.bottleneck()]), plan: plan), now: 2_030, holdSeconds: 240)
        #expect(next.news.isEmpty)
        // Dry-run's would-apply changes nothing, so it is no event.
        var dry = execution
        dry.outcomes[0].result = .wouldApply
        dry.journal = []
        var fresh = AlertBook(settings: Self.settings)
        #expect(fresh.observe(CycleFacts(assessment: Self.assessment([]), execution: dry), now: 2_000, holdSeconds: 240).isEmpty)
    }

    @Test func aOneShotRunResolvesWhatAnEarlierRunLeftFiring() {
        var earlier = AlertBook(settings: Self.settings)
        let sent = earlier.observe(CycleFacts(assessment: Self.assessment([Self.bottleneck()])), now: 2_000, holdSeconds: 3_600).alerts
        var later = AlertBook(settings: Self.settings)
        later.seed(sent + [Alert(labels: ["alertname": "TrimtabBottleneck", "policy": "other"], annotations: [:], startsAt: 0, endsAt: 9_999)],
                   policy: "shop")
        let batch = later.observe(CycleFacts(assessment: Self.assessment([])), now: 2_900, holdSeconds: 3_600)
        #expect(batch.news.map(\.status) == [.resolved])
        #expect(batch.alerts.first?.labels["check"] == "latency_p95")
        #expect(batch.alerts.first?.endsAt == 2_900)
    }

    @Test func targetLabelsThatClashWithTrimtabsOwnArePrefixed() {
        let target = TargetID(labelNames: ["namespace", "severity"], labelValues: ["shop", "gold"])
        var book = AlertBook(settings: Self.settings)
        let alert = book.observe(CycleFacts(assessment: Self.assessment([Self.bottleneck(target: target)])), now: 2_000, holdSeconds: 240).alerts[0]
        #expect(alert.labels["severity"] == "critical")
        #expect(alert.labels["target_severity"] == "gold")
    }

    @Test func theAlertmanagerBodyIsAListOfPostableAlerts() throws {
        let alert = Alert(labels: ["alertname": "TrimtabBottleneck", "pod": ""], annotations: ["summary": "s"], startsAt: 1_795_000_000,
                          endsAt: 1_795_000_240, generatorURL: "https://trimtab.example/status")
        let list = try #require(try JSONSerialization.jsonObject(with: NotificationBodies.alertmanager([alert])) as? [[String: Any]])
        #expect(list.count == 1)
        #expect(list[0]["labels"] as? [String: String] == ["alertname": "TrimtabBottleneck"])
        #expect(list[0]["startsAt"] as? String == "2026-11-18T11:06:40Z")
        #expect(list[0]["endsAt"] as? String == "2026-11-18T11:10:40Z")
        #expect(list[0]["generatorURL"] as? String == "https://trimtab.example/status")
    }

    @Test func theWebhookBodyIsVersionedAndCarriesOnlyTheNews() throws {
        var book = AlertBook(settings: Self.settings)
        let batch = book.observe(CycleFacts(assessment: Self.assessment([Self.bottleneck()])), now: 2_000, holdSeconds: 240)
        let body = try #require(try JSONSerialization.jsonObject(with: NotificationBodies.webhook(batch)) as? [String: Any])
        #expect(body["version"] as? String == "trimtab.io/notification/v1")
        #expect(body["policy"] as? String == "shop")
        #expect(body["score"] as? Double == 40)
        #expect(body["status"] as? String == "critical")
        #expect(body["link"] as? String == "https://trimtab.example/status")
        let alerts = try #require(body["alerts"] as? [[String: Any]])
        #expect(alerts.count == 1)
        #expect(alerts[0]["status"] as? String == "firing")
        #expect((alerts[0]["labels"] as? [String: String])?["check"] == "latency_p95")
        #expect(alerts[0]["endsAt"] == nil)
    }

    /// Slack's incoming webhooks take `text` (the notification fallback) and Block Kit `blocks`: at
    /// most 50 blocks, a header of `plain_text` up to 150 characters, section `mrkdwn` up to 3,000,
    /// and `&`, `<`, `>` escaped in mrkdwn (https://api.slack.com/reference/block-kit/blocks).
    @Test func theSlackBodyKeepsToTheShapeSlackDocuments() throws {
        var book = AlertBook(settings: Self.settings)
        let many = (0..<60).map { index in
            Self.bottleneck(target: TargetID(labelNames: ["namespace", "deployment"], labelValues: ["shop", "svc-\(index)<&>" + String(repeating: "x", count: 200)]))
        }
        let batch = book.observe(CycleFacts(assessment: Self.assessment(many)), now: 2_000, holdSeconds: 240)
        let body = try #require(try JSONSerialization.jsonObject(with: NotificationBodies.slack(batch)) as? [String: Any])
        #expect(Set(body.keys) == ["text", "blocks"])
        let text = try #require(body["text"] as? String)
        #expect(!text.isEmpty && text.count <= 3000)
        let blocks = try #require(body["blocks"] as? [[String: Any]])
        #expect(blocks.count <= 50)
        #expect(blocks.first?["type"] as? String == "header")
        for block in blocks {
            let type = try #require(block["type"] as? String)
            #expect(["header", "section", "context", "divider"].contains(type))
            if type == "header" {
                let inner = try #require(block["text"] as? [String: Any])
                #expect(inner["type"] as? String == "plain_text")
                #expect((inner["text"] as? String ?? "").count <= 150)
            }
            if type == "section" {
                let inner = try #require(block["text"] as? [String: Any])
                #expect(inner["type"] as? String == "mrkdwn")
                let words = try #require(inner["text"] as? String)
                #expect(!words.isEmpty && words.count <= 3000)
                #expect(!words.contains("<&>"), "mrkdwn must escape &, < and >")
            }
            if type == "context" {
                let elements = try #require(block["elements"] as? [[String: Any]])
                #expect(!elements.isEmpty && elements.count <= 10)
            }
        }
        #expect(blocks.contains { (($0["text"] as? [String: Any])?["text"] as? String)?.contains("… and 13 more") == true })
    }

    @Test func specNotifyIsReadAndLintedWithLocations() throws {
        let base = """
        apiVersion: trimtab/v1
        kind: Policy
        metadata: {name: shop}
        spec:
          indicators:
            latency_p95: {query: 'max by ($by) (x{$selector})', unit: seconds}
          checks:
            latency_p95: {worse: higher, warning: 1s, critical: 2s}

        """
        let good = try PolicyLoader.load(text: base + """
          notify:
            alertmanagers: [http://am-0:9093, {url: 'https://am-1:9093', bearerTokenFile: /var/run/am/token}]
            webhooks: [{name: oncall, urlFile: /etc/trimtab/slack, format: slack}]
            link: https://trimtab.example/status
            resendEvery: 2m
            unreachableAfter: 5
        """, file: "p.yaml")
        #expect(good.notify.alertmanagers.map(\.url) == ["http://am-0:9093", "https://am-1:9093"])
        #expect(good.notify.alertmanagers[1].bearerTokenFile == "/var/run/am/token")
        #expect(good.notify.webhooks == [WebhookEndpoint(name: "oncall", urlFile: "/etc/trimtab/slack", format: .slack)])
        #expect(good.notify.resendSeconds == 120)
        #expect(good.notify.unreachableAfterCycles == 5)

        do {
            _ = try PolicyLoader.load(text: base + """
              notify:
                alertmanagers: [ftp://am:9093]
                webhooks:
                  - {url: 'https://hooks.slack.com/services/T000/B000/XXXX'}
                  - {urlFile: /x, format: slak}
            """, file: "p.yaml")
            Issue.record("a bad spec.notify was accepted")
        } catch {
            let text = error.description
            #expect(text.contains("p.yaml:10:"), "\(text)")
            #expect(text.contains("spec.notify.alertmanagers[0] 'ftp://am:9093' is not an http(s) URL"))
            #expect(text.contains("a webhook's URL is its secret and is read only from a file"))
            #expect(text.contains("did you mean 'slack'?"))
            // The secret itself is never repeated back.
            #expect(!text.contains("XXXX"))
        }
    }
}
