import Mustache

/// The Markdown layout of `trimtab report` as a Mustache template, replaceable with `--template`.
///
/// A template can place the built-in sections (`{{{sections.title}}}`, `{{{sections.gate}}}`, …, see
/// `PeriodMarkdown.sectionNames`) and use the data behind them (see `model`), documented in docs/reports.md.
public enum ReportTemplate {
    /// The built-in layout: every section in order. It renders exactly what `PeriodMarkdown.render` does.
    public static let builtIn = PeriodMarkdown.sectionNames.map { "{{{sections.\($0)}}}" }.joined()

    /// A template that could not be read: where, and why.
    public struct TemplateError: Error, Sendable, CustomStringConvertible {
        public var line: Int
        public var column: Int
        public var message: String
        public var description: String { "\(line):\(column): \(message)" }
    }

    /// Checks that a template parses, before any work is done with it.
    public static func validate(_ text: String) throws(TemplateError) {
        _ = try parse(text)
    }

    public static func render(_ report: PeriodReport, template text: String = builtIn) throws(TemplateError) -> String {
        var rendered = try parse(text).render(model(report))
        // Sections end in a blank line; the whole ends in exactly one newline.
        while rendered.hasSuffix("\n\n") { rendered.removeLast() }
        return rendered
    }

    static func parse(_ text: String) throws(TemplateError) -> MustacheTemplate {
        do {
            return try MustacheTemplate(string: text)
        } catch let error as MustacheTemplate.ParserError {
            throw TemplateError(line: error.context.lineNumber, column: error.context.columnNumber, message: "\(error.error)")
        } catch {
            throw TemplateError(line: 1, column: 1, message: "\(error)")
        }
    }

    /// The data a template sees. Sections are Markdown; the rest are plain values, already formatted.
    public static func model(_ report: PeriodReport) -> [String: Any] {
        var model: [String: Any] = [:]
        var sections: [String: String] = [:]
        for (name, lines) in PeriodMarkdown.sections(report) {
            sections[name] = lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
        }
        model["sections"] = sections
        let assessment = report.assessment
        model["policy"] = assessment.policy
        model["score"] = Formatting.score(assessment.score)
        model["status"] = assessment.status.rawValue
        model["known"] = assessment.score != nil
        model["unknownReason"] = assessment.unknownReason ?? ""
        model["periodStart"] = Formatting.time(report.period.start)
        model["periodEnd"] = Formatting.time(report.period.end)
        model["periodScore"] = Formatting.score(report.periodScore)
        model["previousPeriodScore"] = Formatting.score(report.previousPeriodScore)
        if let gate = report.gate {
            model["gate"] = ["passed": gate.passed, "reasons": gate.reasons, "line": PeriodMarkdown.gateLine(gate)] as [String: Any]
        }
        model["objectives"] = (report.objectives ?? []).map { status -> [String: Any] in
            [
                "target": status.target.description, "name": status.objective, "kind": status.kind.rawValue,
                "goal": ObjectiveMarkdown.share(status.goal), "window": PolicyDuration.format(status.windowSeconds),
                "compliance": status.compliance.map(ObjectiveMarkdown.share) ?? "unknown",
                "budgetLeft": status.budgetLeft.map { Formatting.number($0 * 100) + " %" } ?? "unknown",
                "state": status.state.rawValue, "ok": status.state == .ok, "reason": status.reason ?? "",
            ]
        }
        model["targets"] = assessment.targets.map { target -> [String: Any] in
            [
                "name": target.target.description,
                "score": Formatting.score(target.score),
                "status": target.status.rawValue,
                "coverage": Formatting.number(target.coverage * 100) + " %",
                "sparkline": Pictures.sparkline(report.targetScores[target.target.description] ?? []),
                "checks": target.checks.map { check -> [String: Any] in
                    [
                        "name": check.check, "value": Formatting.value(check.value, unit: check.unit),
                        "warning": Formatting.value(check.warning, unit: check.unit),
                        "critical": Formatting.value(check.critical, unit: check.unit),
                        "status": check.status.rawValue, "score": Formatting.score(check.score),
                        "bottleneck": check.bottleneck != nil, "unknownReason": check.unknownReason ?? "",
                    ]
                },
            ]
        }
        model["bottlenecks"] = assessment.bottlenecks.map { item -> [String: Any] in
            [
                "target": item.target.description, "check": item.check, "severity": item.severity.rawValue,
                "value": Formatting.value(item.value, unit: item.unit), "threshold": Formatting.value(item.threshold, unit: item.unit),
                "since": Formatting.time(item.since), "query": item.query,
            ]
        }
        model["trends"] = report.trends.filter(\.calledOut).map { trend -> [String: Any] in
            [
                "target": trend.target.description, "check": trend.check,
                "now": Formatting.value(trend.value, unit: trend.unit), "before": Formatting.value(trend.reference, unit: trend.unit),
                "change": PeriodMarkdown.percent(trend.changePercent), "direction": trend.direction.rawValue,
            ]
        }
        model["actions"] = (report.plan?.actions ?? []).map { action -> [String: Any] in
            [
                "target": action.target.description, "action": action.action, "knob": action.knob.description,
                "from": PlanMarkdown.value(action.current, action), "to": PlanMarkdown.value(action.proposed, action),
                "decision": action.decision.rawValue, "reason": action.reason,
                "failedRules": action.failedRules.map(\.rule),
            ]
        }
        model["recommendations"] = (report.plan?.recommendations ?? []).map { item -> [String: Any] in
            ["target": item.target.description, "check": item.check, "text": item.text]
        }
        return model
    }
}
