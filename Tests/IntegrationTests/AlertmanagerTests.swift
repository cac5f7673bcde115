import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing
import TrimtabCore
import TrimtabCycle
import TrimtabNotify
import TrimtabSandbox
import TrimtabTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A receiver the test runs: answers 200 and keeps every JSON body posted to it.
struct Inbox {
    let server: ScriptedHTTPServer

    static func start() async throws -> Inbox {
        Inbox(server: try await ScriptedHTTPServer { _ in .respond(status: 200, body: "{}") })
    }

    /// Every body posted, parsed.
    var bodies: [[String: Any]] {
        server.requests.filter { $0.method == "POST" }.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.body.utf8))) as? [String: Any] }
    }

    /// Every alert in every body, with the body's status when the alert has none of its own.
    var alerts: [[String: Any]] {
        bodies.flatMap { body in (body["alerts"] as? [[String: Any]] ?? []) }
    }

    func waitFor(seconds: Double, _ match: ([String: Any]) -> Bool) async -> [String: Any]? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let found = alerts.first(where: match) { return found }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return nil
    }
}

func labels(_ alert: [String: Any]) -> [String: String] { alert["labels"] as? [String: String] ?? [:] }
func annotations(_ alert: [String: Any]) -> [String: String] { alert["annotations"] as? [String: String] ?? [:] }

@Suite("Notifications through the real Alertmanager, and receivers that fail")
struct AlertmanagerTests {
    /// The daemon against the loop world, with checkout in breach until it is scaled out: the
    /// bottlenecks fire through the real Alertmanager as one group, amtool shows them while active,
    /// the change arrives with its reason, and the bottlenecks resolve when the breach clears. A
    /// webhook beside it hears each thing once.
    @Test func aBottleneckFiresIsGroupedAndResolvesAndTheChangeArrivesWithItsReason() async throws {
        let routed = try await Inbox.start()
        let direct = try await Inbox.start()
        let alertmanager = try await AlertmanagerSandbox.start(webhook: routed.server.url + "/alerts")
        defer { alertmanager.stop() }
        try await LoopWorld.with(recovers: true) { world in
            let hookFile = world.dir.appendingPathComponent("hook-url").path
            try (direct.server.url + "/hook/s3cr3t-path\n").write(toFile: hookFile, atomically: true, encoding: .utf8)
            let daemon = try await world.daemon(["--notify", alertmanager.url, "--notify", "webhook:" + hookFile,
                                                 "--notify-link", "http://127.0.0.1:8080/api/v1/status"])
            // Fired through Alertmanager, the two bottlenecks of checkout in one notification.
            let firing = await routed.waitFor(seconds: 60) { labels($0)["alertname"] == "TrimtabBottleneck" && $0["status"] as? String == "firing" }
            #expect(firing != nil, "\(daemon.text.suffix(3000))")
            let group = routed.bodies.first { ($0["groupLabels"] as? [String: String])?["alertname"] == "TrimtabBottleneck" }
            let grouped = (group?["alerts"] as? [[String: Any]] ?? []).map { labels($0)["check"] ?? "" }.sorted()
            #expect(grouped == ["cpu_utilization", "latency_p95"], "grouped: \(grouped)")
            // amtool shows the alert with its labels while it is active.
            let query = try await alertmanager.amtoolQuery(["alertname=TrimtabBottleneck", "check=latency_p95"])
            let shown = (try JSONSerialization.jsonObject(with: Data(query.utf8)) as? [[String: Any]]) ?? []
            #expect(shown.count == 1, "\(query)")
            if let alert = shown.first {
                let expected = ["alertname": "TrimtabBottleneck", "policy": "loop", "check": "latency_p95", "severity": "critical",
                                "namespace": "shop", "deployment": "checkout"]
                #expect(labels(alert) == expected)
                #expect(annotations(alert)["threshold"] == "above 2 s (critical)")
                #expect(annotations(alert)["query"]?.contains("http_request_duration_seconds") == true)
                #expect(annotations(alert)["link"] == "http://127.0.0.1:8080/api/v1/status")
            }
            // The change, with its reason.
            let change = await routed.waitFor(seconds: 60) { labels($0)["alertname"] == "TrimtabChangeApplied" }
            #expect(annotations(change ?? [:])["reason"]?.contains("latency_p95 is a critical bottleneck") == true, "\(change ?? [:])")
            #expect(labels(change ?? [:])["knob"] == "replicas")
            // Checkout recovers: both bottlenecks are resolved.
            let resolved = await routed.waitFor(seconds: 90) { labels($0)["check"] == "latency_p95" && $0["status"] as? String == "resolved" }
            #expect(resolved != nil, "\(daemon.text.suffix(3000))")

            // The webhook beside Alertmanager: Trimtab's own body, each bottleneck once firing and once resolved.
            let newsDeadline = Date().addingTimeInterval(30)
            while Date() < newsDeadline && !direct.alerts.contains(where: { labels($0)["check"] == "latency_p95" && $0["status"] as? String == "resolved" }) {
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(direct.bodies.allSatisfy { $0["version"] as? String == "trimtab.io/notification/v1" })
            let latency = direct.alerts.filter { labels($0)["alertname"] == "TrimtabBottleneck" && labels($0)["check"] == "latency_p95" }
            #expect(latency.map { $0["status"] as? String ?? "" } == ["firing", "resolved"], "\(latency)")
            #expect(direct.alerts.filter { labels($0)["alertname"] == "TrimtabChangeApplied" }.count == 1)
            #expect(direct.server.requests.allSatisfy { $0.uri == "/hook/s3cr3t-path" })
            // Counted in /metrics, and the webhook's secret URL is in no log line.
            let metrics = try await daemon.get("/metrics").body
            #expect((metricValue(metrics, "trimtab_notifications_total", labels: #"receiver="webhook-1",result="delivered""#) ?? 0) >= 2, "\(metrics)")
            #expect(!daemon.text.contains("s3cr3t-path"))
            await daemon.stop()
        }
        await routed.server.stop()
        await direct.server.stop()
    }

    /// A change that did not help: the change and its rollback both reach the receiver through
    /// Alertmanager, each with its reason.
    @Test func aRollbackArrivesWithItsReason() async throws {
        let routed = try await Inbox.start()
        let alertmanager = try await AlertmanagerSandbox.start(webhook: routed.server.url + "/alerts")
        defer { alertmanager.stop() }
        try await LoopWorld.with(recovers: false) { world in
            let daemon = try await world.daemon(["--notify", alertmanager.url])
            let rollback = await routed.waitFor(seconds: 120) { labels($0)["alertname"] == "TrimtabRollback" }
            #expect(rollback != nil, "\(daemon.text.suffix(3000))")
            #expect(labels(rollback ?? [:])["deployment"] == "checkout")
            #expect(labels(rollback ?? [:])["severity"] == "warning")
            #expect(annotations(rollback ?? [:])["reason"]?.isEmpty == false)
            #expect(routed.alerts.contains { labels($0)["alertname"] == "TrimtabChangeApplied" && annotations($0)["reason"] != nil })
            await daemon.stop()
        }
        await routed.server.stop()
    }

    /// A one-shot `analyze` resolves, through Alertmanager's own list, what an earlier run left firing.
    @Test func aOneShotRunResolvesWhatAnEarlierRunLeftFiring() async throws {
        let routed = try await Inbox.start()
        let alertmanager = try await AlertmanagerSandbox.start(webhook: routed.server.url + "/alerts")
        defer { alertmanager.stop() }
        let settings = NotifySettings(alertmanagers: [AlertmanagerEndpoint(url: alertmanager.url)])
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let now = Date().timeIntervalSince1970.rounded(.down)
        let bottleneck = Bottleneck(target: TargetID(labelNames: ["namespace", "deployment"], labelValues: ["shop", "checkout"]),
                                    check: "latency_p95", indicator: "latency_p95", unit: .seconds, worse: .higher, severity: .critical,
                                    threshold: 2, value: 2.6, worst: 2.6, best: 2.6, since: now - 600, sinceIsLowerBound: false,
                                    forSeconds: 60, points: 13, query: "q")
        let sick = Assessment(policy: "oneshot", time: now, score: 40, status: .critical, targets: [], bottlenecks: [bottleneck])
        let first = try await OneShotNotification.send(CycleFacts(assessment: sick), settings: settings, validForSeconds: 3600, now: now, logger: logger)
        #expect(first.allDelivered && first.news == 1)
        #expect(try await alertmanager.amtoolQuery(["policy=oneshot"]).contains("latency_p95"))
        let later = Date().timeIntervalSince1970.rounded(.down)
        let well = Assessment(policy: "oneshot", time: later, score: 100, status: .healthy, targets: [])
        let second = try await OneShotNotification.send(CycleFacts(assessment: well), settings: settings, validForSeconds: 3600, now: later, logger: logger)
        #expect(second.news == 1, "the second run resolves the first run's alert")
        let resolved = await routed.waitFor(seconds: 30) { labels($0)["policy"] == "oneshot" && $0["status"] as? String == "resolved" }
        #expect(resolved != nil)
        let active = try await alertmanager.amtoolQuery(["policy=oneshot"])
        #expect(!active.contains("latency_p95"), "\(active)")
        await routed.server.stop()
    }

    /// Receivers that answer 500, hang, or are not there: retried with backoff, then dropped and
    /// counted; a full queue drops its oldest body first; one receiver's trouble delays no other.
    @Test func failingReceiversAreRetriedThenDroppedAndCounted() async throws {
        let failing = try await ScriptedHTTPServer { _ in .respond(status: 500, body: "{\"error\":\"boom\"}") }
        let hanging = try await ScriptedHTTPServer { _ in .hang }
        let healthy = try await Inbox.start()
        let reserved = try FreePort.reserveRefusing()  // nothing listens there, and nothing can start to
        defer { withExtendedLifetime(reserved) {} }
        let dead = reserved.port
        try await withTemporaryDirectory { dir in
            var webhooks: [WebhookEndpoint] = []
            for (name, url) in [("failing", failing.url), ("hanging", hanging.url), ("dead", "http://127.0.0.1:\(dead)"), ("healthy", healthy.server.url)] {
                let file = dir.appendingPathComponent(name).path
                try (url + "/hook\n").write(toFile: file, atomically: true, encoding: .utf8)
                webhooks.append(WebhookEndpoint(name: name, urlFile: file, format: .json))
            }
            var options = Notifier.Options()
            options.attempts = 3
            options.timeoutSeconds = 1
            // The waits between tries pass on a clock the test moves: every failing receiver is still
            // retrying its first body while the other four are submitted, however slow the machine is
            // that hands them to the healthy receiver one after another (waits of 1 s and 2 s of real
            // time were twice too short on CI).
            let backoffClock = ManualClock(start: 0)
            options.clock = backoffClock
            options.backoff.first = 1
            options.queueLimit = 2
            let events = NIOLockedValueBox<[Notifier.Event]>([])
            let notifier = try Notifier(settings: NotifySettings(webhooks: webhooks), options: options,
                                        logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }) { event in
                events.withLockedValue { $0.append(event) }
            }
            var book = AlertBook(settings: NotifySettings())
            let clock = ContinuousClock()
            var submitTimes: [Duration] = []
            for index in 0..<5 {
                let sick = Assessment(policy: "p", time: Double(index), score: 50, status: .degraded, targets: [], bottlenecks: [
                    Bottleneck(target: TargetID(labelNames: ["deployment"], labelValues: ["svc-\(index)"]), check: "latency", indicator: "latency",
                               unit: .seconds, worse: .higher, severity: .warning, threshold: 1, value: 1.5, worst: 1.5, best: 1.5, since: 0,
                               sinceIsLowerBound: false, forSeconds: 60, points: 5, query: "q"),
                ])
                let batch = book.observe(CycleFacts(assessment: sick), now: Double(index), holdSeconds: 240)
                submitTimes.append(clock.measure { notifier.submit(batch) })
                // One "cycle" after another: the healthy receiver has each body before the next comes,
                // while the others are still retrying their first.
                let deadline = Date().addingTimeInterval(10)
                while Date() < deadline && healthy.bodies.count < index + 1 { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(healthy.bodies.count == 5)
            #expect(!events.withLockedValue { $0 }.contains(.failed(receiver: "hanging")), "the hanging receiver has not timed out yet")
            // Now the waits pass: the clock moves on until every queue is empty (or the test's bound).
            let mover = Task {
                for _ in 0..<2_000 where !Task.isCancelled {
                    backoffClock.advance(by: 1)
                    try? await Task.sleep(for: .milliseconds(20))
                }
            }
            await notifier.finish(within: 40)
            mover.cancel()
            let all = events.withLockedValue { $0 }
            func count(_ event: Notifier.Event) -> Int { all.filter { $0 == event }.count }
            // Every body is accounted for, per receiver: delivered, failed after its attempts, or dropped.
            for name in ["failing", "hanging", "dead", "healthy"] {
                #expect(count(.delivered(receiver: name)) + count(.failed(receiver: name)) + count(.dropped(receiver: name)) == 5, "\(name): \(all)")
            }
            #expect(count(.delivered(receiver: "healthy")) == 5)
            #expect(count(.failed(receiver: "failing")) >= 1 && count(.delivered(receiver: "failing")) == 0)
            #expect(count(.dropped(receiver: "failing")) >= 2, "a queue of two drops the oldest")
            // A 500 is retried: three attempts for each body that was tried.
            #expect(failing.requests.count == 3 * count(.failed(receiver: "failing")))
            #expect(count(.retried(receiver: "failing")) == 2 * count(.failed(receiver: "failing")))
            #expect(count(.failed(receiver: "dead")) >= 1)
            #expect(count(.failed(receiver: "hanging")) >= 1)
            // Figures for the note: submit only queues.
            let slowest = submitTimes.max() ?? .zero
            print("notify: slowest submit \(slowest), events \(all.count)")
        }
        await failing.stop()
        await hanging.stop()
        await healthy.server.stop()
    }

    /// The loop's cycle time with receivers that hang, answer 500 or are not there, against the same
    /// loop without notifications: the cycles run on while every receiver is still failing, because
    /// the loop only queues. Prints both figures.
    @Test func failingReceiversDoNotSlowTheLoop() async throws {
        let hanging = try await ScriptedHTTPServer { _ in .hang }
        let failing = try await ScriptedHTTPServer { _ in .respond(status: 500, body: "{}") }
        let reserved = try FreePort.reserveRefusing()
        defer { withExtendedLifetime(reserved) {} }
        let dead = reserved.port
        try await LoopWorld.with(recovers: false) { world in
            // Re-send every second, so every cycle queues a body for each receiver.
            try (loopPolicy + "\n  notify: {resendEvery: 1s}\n").write(toFile: world.policyDirectory + "/loop.yaml", atomically: true, encoding: .utf8)
            func cycleSeconds(_ daemon: DaemonProcess) -> [Double] {
                daemon.cycles.dropFirst().compactMap { Double($0["seconds"] as? String ?? "") }
            }
            let quiet = try await world.daemon(["--dry-run"], journal: world.dir.appendingPathComponent("j1").path, name: "quiet")
            #expect(await quiet.waitForCycles(6, seconds: 60))
            let baseline = cycleSeconds(quiet)
            await quiet.stop()

            let noisy = try await world.daemon(["--dry-run", "--notify", hanging.url, "--notify", failing.url, "--notify", "http://127.0.0.1:\(dead)",
                                                "--notify-timeout", "30s"],
                                               journal: world.dir.appendingPathComponent("j2").path, name: "noisy")
            #expect(await noisy.waitForCycles(6, seconds: 60), "\(noisy.text.suffix(3000))")
            let metrics = try await noisy.get("/metrics").body
            let loaded = cycleSeconds(noisy)
            await noisy.stop()
            // Six cycles went by while the hanging receiver still held its first body (its first attempt
            // only times out after 30 s), and its queue kept filling.
            let hangingName = "http://127.0.0.1:\(hanging.port)"
            #expect(hanging.requests.count >= 1)
            #expect(metricValue(metrics, "trimtab_notifications_total", labels: "receiver=\"\(hangingName)\",result=\"failed\"") == nil, "\(metrics)")
            #expect((metricValue(metrics, "trimtab_notification_queue_length", labels: "receiver=\"\(hangingName)\"") ?? 0) >= 1, "\(metrics)")
            #expect(failing.requests.count >= 2, "the 500 receiver was retried")
            func mean(_ values: [Double]) -> Double { values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count) }
            print("notify: cycle seconds without receivers \(String(format: "%.3f", mean(baseline))) (n=\(baseline.count)), with three failing receivers \(String(format: "%.3f", mean(loaded))) (n=\(loaded.count))")
        }
        await hanging.stop()
        await failing.stop()
    }
}
