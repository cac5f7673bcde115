import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing
import TrimtabCore
import TrimtabCycle
@testable import TrimtabNotify
import TrimtabTestSupport

@Suite("Notifications' parts, against a scripted receiver on loopback")
struct NotifierUnitTests {
    /// Alertmanager's `GET /api/v2/alerts` as it answers (gettableAlerts: fingerprint, status, receivers…).
    @Test func activeAlertsDecodeAsAlertmanagerWritesThem() throws {
        let body = """
        [{"annotations":{"summary":"latency_p95 breached"},"endsAt":"2026-12-06T05:10:00.000Z","fingerprint":"5d2c0f3b8a1e4c77",
          "receivers":[{"name":"default"}],"startsAt":"2026-12-06T04:55:00.123Z","status":{"inhibitedBy":[],"silencedBy":[],"state":"active"},
          "updatedAt":"2026-12-06T04:58:00.000Z","generatorURL":"http://prometheus:9090/graph","labels":{"alertname":"TrimtabBottleneck","policy":"default"}},
         {"endsAt":"2026-12-06T05:10:00Z","fingerprint":"aa","receivers":[],"startsAt":"2026-12-06T05:00:00Z",
          "status":{"inhibitedBy":[],"silencedBy":[],"state":"active"},"updatedAt":"2026-12-06T05:00:00Z","labels":{"alertname":"TrimtabDown"}}]
        """
        let alerts = try AlertmanagerAlerts.decode(Data(body.utf8))
        #expect(alerts.map(\.name) == ["TrimtabBottleneck", "TrimtabDown"])
        #expect(abs(alerts[0].startsAt - 1_796_532_900.123) < 1e-3)
        #expect(alerts[0].annotations["summary"] == "latency_p95 breached")
        #expect(alerts[1].annotations.isEmpty && alerts[1].endsAt == 1_796_533_800)
    }

    /// The waits between tries pass on the notifier's clock: with a manual one, the second try waits
    /// until the clock has moved the first backoff on, and the third the doubled one.
    @Test func retriesWaitOnTheInjectedClock() async throws {
        let answered = NIOLockedValueBox(0)
        let server = try await ScriptedHTTPServer { _ in
            let count = answered.withLockedValue { $0 += 1; return $0 }
            return count < 3 ? .respond(status: 503, body: "{}") : .respond(status: 200, body: "{}")
        }
        let clock = ManualClock(start: 1_000)
        var options = Notifier.Options()
        options.backoff = Backoff(first: 10, ceiling: 60)
        options.clock = clock
        options.timeoutSeconds = 2
        let events = NIOLockedValueBox<[Notifier.Event]>([])
        let notifier = try Notifier(settings: NotifySettings(alertmanagers: [AlertmanagerEndpoint(url: server.url)]), options: options,
                                    logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }) { event in
            events.withLockedValue { $0.append(event) }
        }
        let alert = Alert(labels: ["alertname": "TrimtabBottleneck"], annotations: [:], startsAt: 1_000, endsAt: 1_300)
        notifier.submit(NotificationBatch(policy: "default", time: 1_000, score: 50, status: .critical, link: nil, alerts: [alert], news: []))

        // Bounded: 2,000 turns of 5 ms each at most.
        func waitUntil(_ condition: () -> Bool) async throws {
            for _ in 0..<2_000 where !condition() { try await Task.sleep(for: .milliseconds(5)) }
        }
        try await waitUntil { server.requests.count == 1 && clock.waiting == 1 }
        #expect(server.requests.count == 1)
        clock.advance(by: 7)  // short of the shortest jittered wait (8 s)
        try await Task.sleep(for: .milliseconds(50))
        #expect(server.requests.count == 1)
        clock.advance(by: 5)  // past the longest (12 s)
        try await waitUntil { server.requests.count == 2 && clock.waiting == 1 }
        #expect(server.requests.count == 2)
        clock.advance(by: 24)  // the doubled wait, at most 24 s
        try await waitUntil { events.withLockedValue { $0.contains(.delivered(receiver: notifier.receivers[0].name)) } }
        #expect(server.requests.count == 3)
        #expect(events.withLockedValue { $0 } .filter { $0 == .retried(receiver: notifier.receivers[0].name) }.count == 2)
        #expect(server.requests.allSatisfy { $0.uri == "/api/v2/alerts" && $0.method == "POST" })
        await notifier.finish(within: 1)
        await server.stop()
    }

    /// Each receiver is reached with its own TLS setting: two Alertmanagers behind two private CAs both
    /// get the batch (one client-wide setting would verify the second against the first's CA, and a
    /// webhook to a public endpoint against a private one).
    @Test func eachReceiverUsesItsOwnCertificateAuthority() async throws {
        let first = try TestCertificates(), second = try TestCertificates()
        defer { first.remove(); second.remove() }
        let servers = [
            try await ScriptedHTTPServer(tls: (first.serverCertificate, first.serverKey)) { _ in .respond(status: 200, body: "{}") },
            try await ScriptedHTTPServer(tls: (second.serverCertificate, second.serverKey)) { _ in .respond(status: 200, body: "{}") },
        ]
        var options = Notifier.Options()
        options.attempts = 1
        options.timeoutSeconds = 5
        let events = NIOLockedValueBox<[Notifier.Event]>([])
        let endpoints = [AlertmanagerEndpoint(url: servers[0].url, caFile: first.caFile),
                         AlertmanagerEndpoint(url: servers[1].url, caFile: second.caFile)]
        let notifier = try Notifier(settings: NotifySettings(alertmanagers: endpoints), options: options,
                                    logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }) { event in
            events.withLockedValue { $0.append(event) }
        }
        let alert = Alert(labels: ["alertname": "TrimtabBottleneck"], annotations: [:], startsAt: 1_000, endsAt: 1_300)
        notifier.submit(NotificationBatch(policy: "default", time: 1_000, score: 50, status: .critical, link: nil, alerts: [alert], news: []))
        for _ in 0..<1_000 where events.withLockedValue({ $0.count }) < 2 { try await Task.sleep(for: .milliseconds(10)) }
        let seen = events.withLockedValue { $0 }
        #expect(seen.count == 2)
        for receiver in notifier.receivers { #expect(seen.contains(.delivered(receiver: receiver.name)), "\(receiver.name): \(seen)") }
        await notifier.finish(within: 2)
        for server in servers { await server.stop() }
    }
}
