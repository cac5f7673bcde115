/// The error budgets section of a report: per objective and target, compliance over the window, the
/// budget left, the burn rates and when the budget runs out at the last hour's rate.
public enum ObjectiveMarkdown {
    public static func render(_ statuses: [ObjectiveStatus]) -> [String] {
        guard !statuses.isEmpty else { return [] }
        var out = ["## Error budgets", ""]
        let ranges = BurnWindow.ranges.map(PolicyDuration.format)
        out.append("| Target | Objective | Goal | Compliance | Budget left | Burn " + ranges.joined(separator: " | ") + " | State | Spent in |")
        out.append("| --- | --- | ---: | ---: | ---: | " + ranges.map { _ in "---:" }.joined(separator: " | ") + " | --- | ---: |")
        for status in statuses {
            let burns = BurnWindow.ranges.map { range in status.burn(over: range).map { Formatting.number($0) + "×" } ?? "—" }
            let state = status.state == .ok ? "ok" : "**\(status.state.rawValue)**"
            out.append("| \(Formatting.cell(status.target.description)) | \(Formatting.cell(label(status))) | \(share(status.goal)) | \(status.compliance.map(share) ?? "—") | \(status.budgetLeft.map { Formatting.number($0 * 100) + " %" } ?? "—") | \(burns.joined(separator: " | ")) | \(state) | \(status.exhaustionSeconds.map(coarse) ?? "—") |")
        }
        out.append("")
        let reasons = statuses.filter { $0.reason != nil && $0.state != .ok }
        for status in reasons.prefix(20) {
            out.append("- \(Formatting.cell(status.target.description)), \(status.objective): \(status.reason ?? "")")
        }
        if reasons.count > 20 { out.append("- … and \(reasons.count - 20) more") }
        if !reasons.isEmpty { out.append("") }
        out.append("A burn rate of 1× spends the budget exactly over the window; the alerts' pairs are 14.4× over 1h and 5m (fast) and 6× over 6h and 30m (slow). Compliance is over the window as far back as Prometheus holds data.")
        out.append("")
        out += sources(statuses)
        return out
    }

    /// Which objectives were read from the recording rules and which from the raw series.
    static func sources(_ statuses: [ObjectiveStatus]) -> [String] {
        var names: [ObjectiveSource: [String]] = [:]
        for status in statuses {
            guard let source = status.source else { continue }
            if !(names[source] ?? []).contains(status.objective) { names[source, default: []].append(status.objective) }
        }
        var out: [String] = []
        if let recorded = names[.recorded] {
            out.append("Read over 6h and the window from the recording rules (`\(ObjectiveRecording.goodRecord)`, `\(ObjectiveRecording.totalRecord)`), over shorter ranges from the raw series: \(recorded.joined(separator: ", ")).")
        }
        if let raw = names[.raw] {
            out.append("Read from the raw series over every range, the whole window included: \(raw.joined(separator: ", ")). "
                       + "`trimtab policy rules` writes recording rules that make the read cheap for Prometheus; Trimtab uses them once they record with the objective's current definition.")
        }
        if !out.isEmpty { out.append("") }
        return out
    }

    /// The objective's name, kind and window: `availability, 28d`, or `checkout_p99 (latency, 28d)`.
    static func label(_ status: ObjectiveStatus) -> String {
        let facts = "\(status.kind.rawValue), \(PolicyDuration.format(status.windowSeconds))"
        return status.objective == status.kind.rawValue ? facts : "\(status.objective) (\(facts))"
    }

    /// A long time to the unit that matters: 9d4h, 5h12m, 40m.
    static func coarse(_ seconds: Double) -> String {
        let minutes = Int((seconds / 60).rounded())
        if minutes >= 1440 { return "\(minutes / 1440)d\(minutes % 1440 / 60)h" }
        if minutes >= 60 { return "\(minutes / 60)h\(minutes % 60)m" }
        return "\(max(1, minutes))m"
    }

    /// A share of requests to the digits an objective needs: 99.95 %, not 100 %.
    static func share(_ value: Double) -> String {
        Formatting.printf("%.*f", value * 100, precision: 3, trimmingZeros: true) + " %"
    }
}
