/// The plan section of the Markdown report: what would change, why, and why not.
enum PlanMarkdown {
    static func render(_ plan: Plan) -> [String] {
        var out: [String] = ["## Plan", ""]
        switch plan.mode {
        case .dryRun: out.append("Mode **dry-run**: nothing is changed. Proposed changes are what enforce mode would apply.")
        case .enforce: out.append("Mode **enforce**: proposed changes are applied, each journaled first and verified after.")
        }
        out.append("")
        if plan.actions.isEmpty {
            out.append("No change is called for.")
            out.append("")
        } else {
            out.append("| Target | Action | Knob | Change | Decision | Why | Cost |")
            out.append("| --- | --- | --- | --- | --- | --- | --- |")
            for action in plan.actions {
                let change = "\(value(action.current, action)) → \(value(action.proposed, action))"
                let decision = action.decision == .proposed ? "✅ proposed"
                    : action.gitPatch != nil ? "📝 for Git: patch `\(action.gitPatch!.file)`"
                    : "⏸ held: " + action.failedRules.map(\.rule).joined(separator: ", ")
                let target = action.target.description + (action.policy.map { " (policy \($0))" } ?? "")
                out.append("| \(Formatting.cell(target)) | \(action.action) | \(Formatting.cell(action.knob.description)) | \(change) | \(decision) | \(Formatting.cell(action.reason)) | \(Formatting.cell(action.cost ?? "")) |")
            }
            out.append("")
            for action in plan.actions {
                out.append("<details><summary>\(action.id): safety rules and evidence</summary>")
                out.append("")
                for rule in action.rules {
                    out.append("- \(rule.passed ? "✅" : "❌") **\(rule.rule)**: \(rule.detail)")
                }
                for item in action.evidence {
                    out.append("- `\(item.name)` = \(Formatting.value(item.value, unit: item.unit))" + (item.note.map { " (\($0))" } ?? "")
                               + (item.query.map { ": `\($0)`" } ?? ""))
                }
                out.append("")
                out.append("</details>")
                out.append("")
            }
            let patches = plan.actions.compactMap(\.gitPatch)
            if !patches.isEmpty {
                out.append("### Patches for Git")
                out.append("")
                out.append("Argo CD or Flux keep these objects in step with Git and would revert a write, so Trimtab writes each change as a patch instead (under `--patch-dir` when given). A patch is not proposed again while it waits, until the object shows it or `safety.gitOps.cooldown` passes.")
                out.append("")
                for patch in patches {
                    out.append("#### `\(patch.file)`: \(patch.object), managed by \(patch.management.tool.rawValue) (\(patch.management.owner))")
                    out.append("")
                    out.append("```yaml")
                    out.append(contentsOf: patch.text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init))
                    out.append("```")
                    out.append("")
                    out.append("By hand: `\(patch.kubectl)`")
                    out.append("")
                }
            }
        }
        if !plan.databases.isEmpty {
            out.append("### Shared databases")
            out.append("")
            out.append("Connections of the databases several targets share (`spec.databases`): each user's replicas (its autoscaler's maximum, which it may scale to) × its pool; every pool change and scale-out was planned against them, the most beneficial first.")
            out.append("")
            out.append("| database | limit | reserved | in use | after this plan | users |")
            out.append("| --- | ---: | ---: | ---: | ---: | --- |")
            for use in plan.databases {
                let users = use.users.map { user in
                    let replicas = user.replicas.map { "\($0)\(user.autoscalerBound ? " (max)" : "")" } ?? "?"
                    return "\(user.target) \(replicas) × \(user.poolSize.map(String.init) ?? "?")"
                }
                let number = { (value: Int?) in value.map(String.init) ?? "unknown" }
                out.append("| \(use.name) | \(number(use.limit)) | \(use.reserved) | \(number(use.used)) | \(number(use.planned)) | \(users.joined(separator: "; ")) |")
            }
            for use in plan.databases {
                if let unknown = use.unknown { out.append(""); out.append("\(use.name): unknown use, so nothing that needs more connections is changed: \(unknown).") }
            }
            out.append("")
        }
        if let forecasts = plan.forecasts, !forecasts.isEmpty {
            out.append("### Load forecasts")
            out.append("")
            out.append("Each scale rule's `forecast`: the load's history, a seasonal method chosen by its backtest error over the last day, and what it changed. A forecast only raises replicas ahead of a peak (or stops a scale-in above what the peak needs); one whose error is above the rule's `maxError` is not used.")
            out.append("")
            out.append("| target | load now | forecast peak | horizon | method | error (last day / 2h) | effect |")
            out.append("| --- | ---: | ---: | ---: | --- | ---: | --- |")
            for forecast in forecasts {
                let number = { (value: Double?) in value.map { Formatting.number(($0 * 100).rounded() / 100) } ?? "–" }
                let method = forecast.method.map { "\($0.rawValue), \(forecast.seasonSeconds == 604_800 ? "weekly" : "daily")" } ?? "–"
                let errors = forecast.backtestError.map { "\(LoadForecast.percent($0)) / \(forecast.recentError.map(LoadForecast.percent) ?? "–")" } ?? "–"
                out.append("| \(forecast.target) (\(forecast.load)) | \(number(forecast.now)) | \(number(forecast.peak)) | \(PolicyDuration.format(forecast.horizonSeconds)) | \(method) | \(errors) | \(forecast.effect ?? forecast.note) |")
            }
            out.append("")
        }
        if !plan.considered.isEmpty {
            out.append("Rules that did not lead to a change:")
            out.append("")
            for line in plan.considered { out.append("- \(line)") }
            out.append("")
        }
        if !plan.recommendations.isEmpty {
            out.append("### Recommendations")
            out.append("")
            out.append("What Trimtab does not change by itself:")
            out.append("")
            for item in plan.recommendations {
                out.append("- **\(item.target)** (`\(item.check)`): \(item.text)")
            }
            out.append("")
        }
        return out
    }

    static func value(_ number: Double, _ action: PlannedAction) -> String {
        if number.isNaN { return "?" }
        return action.action == "cacheTTL" ? PolicyDuration.format(number) : Formatting.number(number)
    }
}
