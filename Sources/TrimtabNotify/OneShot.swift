import Foundation
import Logging
import NIOConcurrencyHelpers
import TrimtabCore

/// Notifications from a one-shot run (`analyze`, `report`): the same book as the daemon's, seeded with
/// the alerts Alertmanager still holds from earlier runs, so a bottleneck that cleared since is resolved.
public enum OneShotNotification {
    /// What became of the run's notifications, per receiver.
    public struct Result: Sendable, Equatable {
        public var delivered: [String: Int] = [:]
        public var failed: [String: Int] = [:]
        public var dropped: [String: Int] = [:]
        public var alerts = 0
        public var news = 0

        /// One line for a person: where they went, and what did not arrive.
        public var line: String {
            let names = Set(delivered.keys).union(failed.keys).union(dropped.keys).sorted()
            guard !names.isEmpty else { return "notifications: nothing to send" }
            return "notifications: " + names.map { name in
                let bad = failed[name, default: 0] + dropped[name, default: 0]
                return bad == 0 ? "\(name) ok" : "\(name) FAILED (\(bad) not delivered)"
            }.joined(separator: ", ")
        }

        public var allDelivered: Bool { failed.values.allSatisfy { $0 == 0 } && dropped.values.allSatisfy { $0 == 0 } }
    }

    /// Sends what `facts` says and waits for delivery, at most `waitSeconds`. `validForSeconds` is how
    /// long an alert holds if no later run sends it again: longer than the time between runs.
    public static func send(_ facts: CycleFacts, settings: NotifySettings, validForSeconds: Double, now: Double,
                            options: Notifier.Options = Notifier.Options(), waitSeconds: Double = 60,
                            logger: Logger) async throws(NotifyError) -> Result {
        let counts = NIOLockedValueBox(Result())
        let notifier = try Notifier(settings: settings, options: options, logger: logger) { event in
            counts.withLockedValue { result in
                switch event {
                case .delivered(let name): result.delivered[name, default: 0] += 1
                case .failed(let name): result.failed[name, default: 0] += 1
                case .dropped(let name): result.dropped[name, default: 0] += 1
                case .retried: break
                }
            }
        }
        var book = AlertBook(settings: settings)
        book.seed(await notifier.activeAlerts(policy: facts.assessment.policy), policy: facts.assessment.policy)
        let batch = book.observe(facts, now: now, holdSeconds: validForSeconds)
        notifier.submit(batch)
        await notifier.finish(within: waitSeconds)
        var result = counts.withLockedValue { $0 }
        result.alerts = batch.alerts.count
        result.news = batch.news.count
        return result
    }
}
