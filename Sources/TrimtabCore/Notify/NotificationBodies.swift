import Foundation

/// The bodies Trimtab posts: to Alertmanager's API v2, to a generic webhook, and to Slack.
public enum NotificationBodies {
    /// The version of the generic webhook body; a change that could break a receiver gets a new one.
    public static let webhookVersion = "trimtab.io/notification/v1"

    /// `POST /api/v2/alerts`: a JSON array of `PostableAlert`s. Empty label values are left out, as
    /// Prometheus leaves them out (Alertmanager treats an empty label as absent).
    public static func alertmanager(_ alerts: [Alert]) -> Data {
        let list: [[String: Any]] = alerts.map { alert in
            var item: [String: Any] = [
                "labels": alert.labels.filter { !$0.value.isEmpty },
                "annotations": alert.annotations,
                "startsAt": Formatting.time(alert.startsAt),
                "endsAt": Formatting.time(alert.endsAt),
            ]
            if let url = alert.generatorURL { item["generatorURL"] = url }
            return item
        }
        return json(list)
    }

    /// The generic webhook body (`trimtab.io/notification/v1`), documented in docs/notifications.md:
    /// the cycle's policy, time, score and status, and each alert that began or was resolved.
    public static func webhook(_ batch: NotificationBatch) -> Data {
        var body: [String: Any] = [
            "version": webhookVersion,
            "policy": batch.policy,
            "time": Formatting.time(batch.time),
            "status": batch.status.rawValue,
            "alerts": batch.news.map { news -> [String: Any] in
                var item: [String: Any] = [
                    "status": news.status.rawValue,
                    "labels": news.alert.labels,
                    "annotations": news.alert.annotations,
                    "startsAt": Formatting.time(news.alert.startsAt),
                ]
                if news.status == .resolved { item["endsAt"] = Formatting.time(news.alert.endsAt) }
                return item
            },
        ]
        // The score to a tenth, as the reports show it; null while it is unknown.
        body["score"] = batch.score.map { ($0 * 10).rounded() / 10 } ?? NSNull()
        if let link = batch.link { body["link"] = link }
        return json(body)
    }

    /// Slack's incoming-webhook body: `text` (the notification's fallback) and Block Kit `blocks`
    /// within Slack's limits (a header of at most 150 characters, sections of at most 3,000, at most 50 blocks).
    public static func slack(_ batch: NotificationBatch) -> Data {
        let firing = batch.news.filter { $0.status == .firing }
        let resolved = batch.news.filter { $0.status == .resolved }
        var counts: [String] = []
        if !firing.isEmpty { counts.append("\(firing.count) new") }
        if !resolved.isEmpty { counts.append("\(resolved.count) resolved") }
        let headline = "Trimtab \(batch.policy): score \(Formatting.score(batch.score)) (\(batch.status.rawValue))" + (counts.isEmpty ? "" : ", " + counts.joined(separator: ", "))
        var blocks: [[String: Any]] = [
            ["type": "header", "text": ["type": "plain_text", "text": clip(headline, 150), "emoji": true]],
        ]
        let items = batch.news.map { news -> String in
            let icon = news.status == .resolved ? "✅ resolved" : icon(news.alert)
            var line = "*\(escape(icon))* \(escape(news.alert.annotations["summary"] ?? news.alert.name))"
            for key in ["plan", "change", "reason"] {
                if let text = news.alert.annotations[key], !text.isEmpty { line += "\n• \(key): \(escape(text))" }
            }
            return line
        }
        // At most 47 item sections, so the header, the overflow note and the link fit in Slack's 50 blocks.
        for item in items.prefix(47) {
            blocks.append(["type": "section", "text": ["type": "mrkdwn", "text": clip(item, 3000)]])
        }
        if items.count > 47 {
            blocks.append(["type": "section", "text": ["type": "mrkdwn", "text": "… and \(items.count - 47) more"]])
        }
        var context = "\(escape(batch.policy)) at \(Formatting.time(batch.time))"
        if let link = batch.link { context += " · <\(link)|status>" }
        blocks.append(["type": "context", "elements": [["type": "mrkdwn", "text": clip(context, 3000)]]])
        let text = ([headline] + batch.news.map { "\($0.status == .resolved ? "resolved" : $0.alert.name): \($0.alert.annotations["summary"] ?? "")" })
            .joined(separator: "\n")
        return json(["text": clip(escape(text), 3000), "blocks": blocks])
    }

    static func icon(_ alert: Alert) -> String {
        switch alert.name {
        case AlertName.changeApplied: return "🔧 change"
        case AlertName.rollback: return "↩️ rollback"
        case AlertName.decisionNeeded: return "🙋 decision needed"
        case AlertName.cannotRead: return "🚫 cannot read"
        default: return alert.labels["severity"] == "critical" ? "🔴 critical" : "🟠 warning"
        }
    }

    /// Slack's mrkdwn reserves &, < and >.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    static func clip(_ text: String, _ limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }

    static func json(_ value: Any) -> Data {
        (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("[]".utf8)
    }
}
