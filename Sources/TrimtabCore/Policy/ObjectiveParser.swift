import Yams

/// Reads `spec.objectives` and validates the merged objectives: every problem located by file, line
/// and column, as the rest of the policy.
enum ObjectiveParser {
    static let keys = ["kind", "target", "window", "good", "total", "description"]

    static func read(_ node: Node, into fragment: inout PolicyFragment, _ reader: inout NodeReader) {
        guard let entries = reader.mapping(node, "spec.objectives") else { return }
        for entry in entries {
            let path = "objective '\(entry.key)'"
            if !PromQL.isValidLabelName(entry.key) {
                reader.error(entry.keyNode, "\(path): a name may hold letters, digits and underscores, and not start with a digit")
            }
            var objective = PolicyFragment.ObjectiveFragment(name: entry.key, location: reader.location(of: entry.keyNode))
            guard let fields = reader.mapping(entry.value, path, allowed: keys) else { continue }
            for field in fields {
                switch field.key {
                case "kind": objective.kind = reader.enumeration(field.value, "\(path).kind", as: Objective.Kind.self)
                case "target": objective.target = PolicyParser.threshold(field.value, "\(path).target", &reader)
                case "window":
                    if let seconds = reader.duration(field.value, "\(path).window") {
                        objective.windowSeconds = Located(value: seconds, location: reader.location(of: field.value))
                    }
                case "good":
                    if let query = reader.nonEmptyString(field.value, "\(path).good") {
                        objective.good = Located(value: query, location: reader.location(of: field.value))
                        objective.goodLocation = reader.textLocation(of: field.value)
                    }
                case "total":
                    if let query = reader.nonEmptyString(field.value, "\(path).total") {
                        objective.total = Located(value: query, location: reader.location(of: field.value))
                        objective.totalLocation = reader.textLocation(of: field.value)
                    }
                case "description": objective.description = reader.string(field.value, "\(path).description")
                default: break
                }
            }
            fragment.objectives.append(objective)
        }
    }

    static func validate(_ fragments: [PolicyFragment.ObjectiveFragment], targets: TargetSelector,
                         _ diagnostics: inout [PolicyDiagnostic]) -> [Objective] {
        var objectives: [Objective] = []
        for item in fragments {
            let path = "objective '\(item.name)'"
            var complete = true
            func missing(_ field: String, _ hint: String) {
                diagnostics.append(PolicyDiagnostic(item.location, "\(path) has no \(field)", hint: hint))
                complete = false
            }
            if item.kind == nil { missing("kind", "write kind: latency (good = faster than a bound) or kind: availability (good = not failed)") }
            var goal: Double?
            if let target = item.target {
                // 99.9% or 0.999; 100 % leaves no budget to spend, and nothing could be judged against it.
                let value = target.value.value
                if target.value.form == .duration || !(value > 0 && value < 1) {
                    diagnostics.append(PolicyDiagnostic(target.location, "\(path).target must be a share between 0 and 100 % (both excluded), such as 99.9%",
                                                        hint: "a target of 100 % leaves no error budget"))
                    complete = false
                } else {
                    goal = value
                }
            } else {
                missing("target", "write target: 99.9% (the share of requests that must be good)")
            }
            let window = item.windowSeconds?.value ?? Objective.defaultWindowSeconds
            if let written = item.windowSeconds, written.value < 6 * 3600 || written.value > 90 * 86_400 {
                diagnostics.append(PolicyDiagnostic(written.location, "\(path).window must be from 6h to 90d, found \(PolicyDuration.format(written.value))",
                                                    hint: "the burn-rate windows reach back 6h; 28d or 30d is usual"))
                complete = false
            }
            for (field, query, location) in [("good", item.good, item.goodLocation), ("total", item.total, item.totalLocation)] {
                guard let query else {
                    missing(field, "write \(field): a PromQL template summing the \(field == "good" ? "good requests'" : "requests'") rate over [$range] by ($by)")
                    continue
                }
                let uses = PromQL.placeholderUses(in: query.value)
                if !uses.contains(where: { $0.name == "range" }) {
                    diagnostics.append(PolicyDiagnostic(query.location, "\(path).\(field) does not use $range",
                                                        hint: "write the counter's rate over [$range]: Trimtab reads it over 5m, 30m, 1h, 6h and the window"))
                    complete = false
                }
                let problems = PolicyLoader.placeholderProblems(in: query.value, of: "\(path).\(field)", extra: ["range"], targets: targets) { offset in
                    location?.location(ofOffset: offset, in: query.value) ?? query.location
                }
                if !problems.isEmpty { complete = false }
                diagnostics += problems
            }
            guard complete, let kind = item.kind, let goal, let good = item.good, let total = item.total else { continue }
            objectives.append(Objective(name: item.name, kind: kind, target: goal, windowSeconds: window, good: good.value,
                                        total: total.value, description: item.description, location: item.location))
        }
        return objectives
    }
}
