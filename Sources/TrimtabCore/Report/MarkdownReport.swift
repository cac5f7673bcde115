import Foundation

/// Renders an analysis as Markdown for people: the score, the bottlenecks with their evidence, every
/// check per target, and the query behind each figure.
public enum MarkdownReport {
    public static func render(_ report: AnalysisReport) -> String {
        let assessment = report.assessment
        var out: [String] = []
        out.append("# Trimtab analysis: \(assessment.policy)")
        out.append("")
        let badge = statusBadge(assessment.status)
        out.append("**Health score: \(Formatting.score(assessment.score))\(assessment.score == nil ? "" : " / 100") · \(badge)**")
        out.append("")
        out.append("- Evaluated at: \(Formatting.time(assessment.time))")
        out += facts(assessment, report.context)
        out.append("")
        out += policies(report.policies ?? [])
        if let execution = report.execution { out += ExecutionMarkdown.render(execution) }
        out += ObjectiveMarkdown.render(report.objectives ?? [])
        out += body(assessment, plan: report.plan)
        return out.joined(separator: "\n")
    }

    /// The lines about the run: source, policy, targets.
    static func facts(_ assessment: Assessment, _ context: RunContext) -> [String] {
        var out: [String] = []
        out.append("- Metrics source: \(context.source) (\(context.queries) quer\(context.queries == 1 ? "y" : "ies"), read in \(Formatting.number(context.readSeconds)) s)")
        out.append("- Policy: \(assessment.policy) from \(context.policyFiles.joined(separator: ", ")) · mode \(context.mode.rawValue)")
        let counts = Dictionary(grouping: assessment.targets, by: \.status).mapValues(\.count)
        let summary = HealthStatus.allCases.compactMap { status in counts[status].map { "\($0) \(status.rawValue)" } }
        out.append("- Targets: \(assessment.targets.count)" + (summary.isEmpty ? "" : " (\(summary.joined(separator: ", ")))"))
        return out
    }

    /// The table of several teams' policies: each one's files, namespaces, targets and health.
    static func policies(_ policies: [PolicyOutcome]) -> [String] {
        guard policies.count > 1 else { return [] }
        var out = ["| Policy | Files | Namespaces | Targets | Score | Status |", "| --- | --- | --- | ---: | ---: | --- |"]
        for policy in policies {
            out.append("| \(Formatting.cell(policy.name)) | \(Formatting.cell(policy.files.joined(separator: ", "))) | \(Formatting.cell(policy.namespaces)) | \(policy.targets) | \(Formatting.score(policy.score)) | \(statusBadge(policy.status))\(policy.unknownReason.map { " (\(Formatting.cell($0)))" } ?? "") |")
        }
        out.append("")
        return out
    }

    /// Everything after the header: unknowns, query errors, bottlenecks, the plan, targets, checks, queries.
    /// - Parameter sparklines: per target, a sparkline of its score to show in the targets table.
    static func body(_ assessment: Assessment, plan: Plan?, sparklines: [String: String] = [:], graphLink: ((String) -> String)? = nil) -> [String] {
        bodySections(assessment, plan: plan, sparklines: sparklines, graphLink: graphLink).flatMap(\.lines)
    }

    /// The body in named sections, in order, so a template can place each one.
    static func bodySections(_ assessment: Assessment, plan: Plan?, sparklines: [String: String] = [:],
                             graphLink: ((String) -> String)? = nil) -> [(name: String, lines: [String])] {
        var sections: [(name: String, lines: [String])] = []
        var out: [String] = []
        func close(_ name: String) {
            sections.append((name, out))
            out = []
        }
        if let reason = assessment.unknownReason {
            out.append("> **The overall health is unknown:** \(reason). Trimtab does not report health it did not measure.")
            out.append("")
        }
        close("unknown")
        if !assessment.failures.isEmpty {
            out.append("## Query errors")
            out.append("")
            for (indicator, message) in assessment.failures.sorted(by: { $0.key < $1.key }) {
                out.append("- **\(indicator)**: \(message)")
            }
            out.append("")
        }
        close("errors")

        out.append("## Bottlenecks")
        out.append("")
        if assessment.bottlenecks.isEmpty {
            out.append(assessment.failures.isEmpty
                       ? "No breach held for its whole `for` window."
                       : "None found in the data that could be read; the failed queries above may hide some.")
            out.append("")
        } else {
            out.append("| Target | Check | Severity | Now | Threshold | Worst in window | Since | Window |")
            out.append("| --- | --- | --- | ---: | ---: | ---: | --- | --- |")
            for item in assessment.bottlenecks {
                let since = (item.sinceIsLowerBound ? "before " : "") + Formatting.time(item.since)
                out.append("| \(Formatting.cell(item.target.description)) | \(Formatting.cell(item.check)) | \(statusBadge(item.severity)) | \(Formatting.value(item.value, unit: item.unit)) | \(item.worse == .higher ? ">" : "<") \(Formatting.value(item.threshold, unit: item.unit)) | \(Formatting.value(item.worst, unit: item.unit)) | \(since) | \(PolicyDuration.format(item.forSeconds)), \(item.points) points |")
            }
            out.append("")
            out.append("Evidence: each bottleneck's value was past its threshold at every evaluation step of its window, read with:")
            out.append("")
            out += promqlList(uniqueQueries(assessment.bottlenecks.map { ($0.check, $0.query) }))
            out.append("")
        }

        close("bottlenecks")
        if let plan {
            out += PlanMarkdown.render(plan)
        }
        close("plan")

        out.append("## Targets")
        out.append("")
        if assessment.targets.isEmpty {
            out.append("No targets were found.")
            out.append("")
        } else {
            let trend = sparklines.isEmpty ? "" : " Trend |"
            // With several teams' policies, each target says whose it is.
            let byPolicy = assessment.targets.contains { $0.policy != nil }
            out.append("| Target |" + (byPolicy ? " Policy |" : "") + " Score | Status | Known | Checks |" + trend)
            out.append("| --- |" + (byPolicy ? " --- |" : "") + " ---: | --- | ---: | --- |" + (sparklines.isEmpty ? "" : " --- |"))
            for target in assessment.targets {
                let tally = CheckStatus.allCases.compactMap { status -> String? in
                    let count = target.checks.filter { $0.status == status }.count
                    return count > 0 ? "\(count) \(status.rawValue)" : nil
                }
                let line = sparklines.isEmpty ? "" : " \(sparklines[target.target.description] ?? "") |"
                let policy = byPolicy ? " \(Formatting.cell(target.policy ?? "")) |" : ""
                out.append("| \(Formatting.cell(target.target.description)) |\(policy) \(Formatting.score(target.score)) | \(statusBadge(target.status)) | \(Formatting.number(target.coverage * 100)) % | \(tally.joined(separator: ", ")) |" + line)
            }
            out.append("")
        }

        close("targets")
        for target in assessment.targets {
            out.append("### \(target.target.description)")
            out.append("")
            out.append("| Check | Value | Warning | Critical | Status | Score | Weight |")
            out.append("| --- | ---: | ---: | ---: | --- | ---: | ---: |")
            for check in target.checks {
                let direction = check.worse == .higher ? ">" : "<"
                let shown = Formatting.value(check.value, unit: check.unit)
                let value = graphLink.map { "[\(shown)](\($0(check.query)))" } ?? shown
                out.append("| \(Formatting.cell(check.check))\(check.key ? " (key)" : "") | \(value) | \(direction) \(Formatting.value(check.warning, unit: check.unit)) | \(direction) \(Formatting.value(check.critical, unit: check.unit)) | \(statusBadge(check.status))\(check.bottleneck != nil ? " · bottleneck" : "") | \(Formatting.score(check.score)) | \(Formatting.number(check.weight)) |")
            }
            let unknown = target.checks.filter { $0.unknownReason != nil }
            if !unknown.isEmpty {
                out.append("")
                for check in unknown {
                    out.append(check.status == .insufficient ? "- `\(check.check)` has insufficient evidence: \(check.unknownReason!)"
                                                             : "- `\(check.check)` is unknown: \(check.unknownReason!)")
                }
            }
            out.append("")
        }

        close("checks")
        let queries = uniqueQueries(assessment.targets.flatMap { $0.checks.map { ($0.indicator, $0.query) } })
        if !queries.isEmpty {
            out.append("## Queries")
            out.append("")
            out.append("Every figure above comes from one of these PromQL queries, one per indicator for all targets at once:")
            out.append("")
            out += promqlList(queries)
            out.append("")
        }
        close("queries")
        if !assessment.notes.isEmpty {
            out.append("## Notes")
            out.append("")
            for note in assessment.notes { out.append("- \(note)") }
            out.append("")
        }
        close("notes")
        out.append("<sub>Score: each check scores 100 up to its warning threshold, falling in a straight line to 0 at its critical threshold; a target's score is the weighted mean of its known checks, the overall score the mean of the known targets. See the README.</sub>")
        out.append("")
        close("footer")
        return sections
    }

    static func statusBadge(_ status: HealthStatus) -> String {
        switch status {
        case .healthy: return "🟢 healthy"
        case .degraded: return "🟡 degraded"
        case .critical: return "🔴 critical"
        case .unknown: return "⚪ unknown"
        }
    }

    static func statusBadge(_ status: CheckStatus) -> String {
        switch status {
        case .ok: return "🟢 ok"
        case .warning: return "🟡 warning"
        case .critical: return "🔴 critical"
        case .unknown: return "⚪ unknown"
        case .insufficient: return "⚫ insufficient evidence"
        }
    }

    /// A list of named PromQL blocks, which GitHub highlights.
    private static func promqlList(_ pairs: [(String, String)]) -> [String] {
        pairs.flatMap { name, query in ["- `\(name)`:", "", "  ```promql", "  \(query)", "  ```"] }
    }

    private static func uniqueQueries(_ pairs: [(String, String)]) -> [(String, String)] {
        var seen = Set<String>()
        var result: [(String, String)] = []
        for (name, query) in pairs where !query.isEmpty && seen.insert(name).inserted {
            result.append((name, query))
        }
        return result.sorted { $0.0 < $1.0 }
    }
}
