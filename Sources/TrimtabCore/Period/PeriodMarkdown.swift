import Foundation

/// Small pictures that GitHub renders inside Markdown.
public enum Pictures {
    static let bars: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    /// A sparkline of values from `low` to `high`; `·` where a value is unknown.
    public static func sparkline(_ values: [Double?], low: Double = 0, high: Double = 100) -> String {
        String(values.map { value -> Character in
            guard let value, value.isFinite else { return "·" }
            let share = (min(max(value, low), high) - low) / max(high - low, 1e-9)
            return bars[min(bars.count - 1, Int((share * Double(bars.count - 1)).rounded()))]
        })
    }

    /// A Mermaid `xychart-beta` line chart. Unknown points are left out of the line (with their labels).
    /// A Mermaid `xychart-beta` bar chart of named values.
    public static func barChart(title: String, labels: [String], values: [Double], yLabel: String, yMax: Double) -> [String] {
        guard !values.isEmpty else { return [] }
        return [
            "```mermaid",
            "xychart-beta",
            "    title \"\(title.replacingOccurrences(of: "\"", with: "'"))\"",
            "    x-axis [\(labels.map { "\"\($0.replacingOccurrences(of: "\"", with: "'"))\"" }.joined(separator: ", "))]",
            "    y-axis \"\(yLabel)\" 0 --> \(Formatting.number(yMax))",
            "    bar [\(values.map { String(format: "%.1f", $0) }.joined(separator: ", "))]",
            "```",
        ]
    }

    public static func lineChart(title: String, labels: [String], values: [Double?], yLabel: String, yMax: Double?) -> [String] {
        let known = zip(labels, values).compactMap { label, value in value.map { (label, $0) } }
        guard known.count >= 2 else { return [] }
        let top = yMax ?? (known.map(\.1).max() ?? 1) * 1.1
        return [
            "```mermaid",
            "xychart-beta",
            "    title \"\(title.replacingOccurrences(of: "\"", with: "'"))\"",
            "    x-axis [\(known.map { "\"\($0.0)\"" }.joined(separator: ", "))]",
            "    y-axis \"\(yLabel)\" 0 --> \(Formatting.number(top))",
            "    line [\(known.map { String(format: "%.1f", $0.1) }.joined(separator: ", "))]",
            "```",
        ]
    }
}

/// Renders a period report as Markdown: the gate, the score and its change, a chart of the score,
/// what worsened, then the same body as an analysis.
public enum PeriodMarkdown {
    /// The Markdown of the built-in layout (`ReportTemplate.builtIn`).
    public static func render(_ report: PeriodReport) -> String {
        // The built-in template always parses; the fallback only keeps this function total.
        (try? ReportTemplate.render(report)) ?? sections(report).flatMap(\.lines).joined(separator: "\n")
    }

    /// The names of the sections, in the order of the built-in layout.
    public static let sectionNames = ["title", "gate", "facts", "chart", "objectives", "trends", "unknown", "errors", "bottlenecks", "plan",
                                      "targets", "checks", "queries", "notes", "footer"]

    /// The report in named sections, in the order of the built-in layout; templates place them.
    public static func sections(_ report: PeriodReport) -> [(name: String, lines: [String])] {
        let assessment = report.assessment
        var sections: [(name: String, lines: [String])] = []
        var out: [String] = []
        func close(_ name: String) {
            sections.append((name, out))
            out = []
        }
        out.append("# Trimtab report: \(assessment.policy)")
        out.append("")
        var headline = "**Health score: \(Formatting.score(assessment.score))\(assessment.score == nil ? "" : " / 100") · \(MarkdownReport.statusBadge(assessment.status))**"
        if let now = report.periodScore, let before = report.previousPeriodScore {
            let change = now - before
            headline += " · period mean \(Formatting.score(now)), \(change >= 0 ? "+" : "")\(String(format: "%.1f", change)) against the previous period"
        }
        out.append(headline)
        out.append("")
        close("title")
        if let gate = report.gate {
            out.append(gateLine(gate))
            out.append("")
        }
        close("gate")
        out.append("- Period: \(Formatting.time(report.period.start)) to \(Formatting.time(report.period.end)) (\(PolicyDuration.format(report.period.seconds))), compared with the \(PolicyDuration.format(report.period.seconds)) before")
        out += MarkdownReport.facts(assessment, report.context)
        if let baseline = report.baselineScore {
            out.append("- Baseline score: \(Formatting.score(baseline))")
        }
        out.append("")
        close("facts")

        let labels = report.scores.map { hourMinute($0.time) }
        let chart = Pictures.lineChart(title: "Health score", labels: labels, values: report.scores.map(\.score), yLabel: "score", yMax: 100)
        if !chart.isEmpty {
            out.append("## Score over the period")
            out.append("")
            out += chart
            out.append("")
        }
        // The checks scoring lowest now, worst first.
        let worst = assessment.targets.flatMap { target in target.checks.compactMap { check in
            check.score.map { (label: "\(target.target.labelValues.last ?? target.target.description) \(check.check)", score: $0) }
        } }.filter { $0.score < 100 }.sorted { $0.score < $1.score }.prefix(8)
        let bars = Pictures.barChart(title: "Lowest check scores now", labels: worst.map(\.label), values: worst.map(\.score),
                                     yLabel: "score", yMax: 100)
        if !bars.isEmpty {
            out += bars
            out.append("")
        }
        close("chart")

        out += ObjectiveMarkdown.render(report.objectives ?? [])
        close("objectives")

        let calledOut = report.trends.filter(\.calledOut) + (report.baseline ?? []).filter(\.calledOut)
        out.append("## Trends")
        out.append("")
        if calledOut.isEmpty {
            out.append("Nothing worsened by more than \(Formatting.number(report.regressionPercent)) % against the previous period" + (report.baseline == nil ? "." : " or the baseline."))
        } else {
            out.append("Worse by more than the policy's limit of \(Formatting.number(report.regressionPercent)) %:")
            out.append("")
            out.append("| Target | Check | Now | Before | Change | Against |")
            out.append("| --- | --- | ---: | ---: | ---: | --- |")
            for trend in report.trends.filter(\.calledOut) { out.append(row(trend, against: "previous period")) }
            for trend in (report.baseline ?? []).filter(\.calledOut) { out.append(row(trend, against: "baseline")) }
        }
        out.append("")
        if !report.trends.isEmpty {
            out.append("<details><summary>Every check against the previous period (worst first)</summary>")
            out.append("")
            out.append("| Target | Check | Mean now | Mean before | Change | Trend | Over the period |")
            out.append("| --- | --- | ---: | ---: | ---: | --- | --- |")
            for trend in report.trends.sorted(by: { ($0.changePercent ?? 0) * ($0.worse == .higher ? 1 : -1) > ($1.changePercent ?? 0) * ($1.worse == .higher ? 1 : -1) }) {
                out.append("| \(Formatting.cell(trend.target.description)) | \(trend.check) | \(Formatting.value(trend.value, unit: trend.unit)) | \(Formatting.value(trend.reference, unit: trend.unit)) | \(percent(trend.changePercent)) | \(trend.direction.rawValue) | \(sparkline(trend)) |")
            }
            out.append("")
            out.append("</details>")
            out.append("")
        }
        close("trends")

        let sparklines = report.targetScores.mapValues { Pictures.sparkline($0) }
        let link = report.externalURL.map { base in { (query: String) in graphURL(base: base, query: query, range: report.period.seconds) } }
        return sections + MarkdownReport.bodySections(assessment, plan: report.plan, sparklines: sparklines, graphLink: link)
    }

    static func gateLine(_ gate: GateResult) -> String {
        var asked: [String] = []
        if let bar = gate.failUnder { asked.append("score at least \(Formatting.number(bar))") }
        if let level = gate.failOn { asked.append("no check at \(level.rawValue) or worse") }
        if let level = gate.failOnSLO { asked.append("no objective at \(level.rawValue) or worse, or unknown") }
        return gate.passed
            ? "> ✅ **Gate passed** (\(asked.joined(separator: "; ")))."
            : "> ❌ **Gate failed** (\(asked.joined(separator: "; "))): " + gate.reasons.joined(separator: "; ") + "."
    }

    /// A trend's values as a sparkline scaled to their own range.
    static func sparkline(_ trend: Trend) -> String {
        let values = trend.series.compactMap { $0 }
        return Pictures.sparkline(trend.series, low: values.min() ?? 0, high: values.max() ?? 1)
    }

    static func row(_ trend: Trend, against: String) -> String {
        "| \(Formatting.cell(trend.target.description)) | \(trend.check) | \(Formatting.value(trend.value, unit: trend.unit)) | \(Formatting.value(trend.reference, unit: trend.unit)) | \(percent(trend.changePercent)) | \(against) |"
    }

    static func percent(_ value: Double?) -> String {
        guard let value else { return "—" }
        return (value >= 0 ? "+" : "") + String(format: "%.1f", value) + " %"
    }

    static func hourMinute(_ time: Double) -> String {
        let seconds = Int(time.rounded()) % 86_400
        return String(format: "%02d:%02d", seconds / 3600, seconds % 3600 / 60)
    }

    /// The Prometheus graph page of a query over the period.
    public static func graphURL(base: String, query: String, range: Double) -> String {
        var trimmed = base
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        let expression = query.addingPercentEncoding(withAllowedCharacters: allowed) ?? query
        return "\(trimmed)/graph?g0.expr=\(expression)&g0.tab=0&g0.range_input=\(PolicyDuration.format(range))"
    }
}
