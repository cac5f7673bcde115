import Yams

/// Reads policy files (YAML) into a fragment per file, every problem located by file, line and column.
enum PolicyParser {
    static let topKeys = ["apiVersion", "kind", "metadata", "spec"]
    static let specKeys = ["mode", "paused", "targets", "evaluation", "indicators", "checks", "overrides", "actions", "safety", "notify", "objectives", "databases"]
    static let indicatorKeys = ["query", "unit", "kind", "description"]
    static let checkKeys = ["indicator", "worse", "warning", "critical", "for", "weight", "key", "description", "minEvidence"]

    static func parse(_ text: String, file: String) -> (PolicyFragment?, [PolicyDiagnostic]) {
        var reader = NodeReader(file: file, text: text)
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                reader.error(at: SourceLocation(file: file, line: 1, column: 1), "the file is empty",
                             hint: "a policy starts with 'apiVersion: \(Policy.apiVersion)' and 'kind: Policy'")
                return (nil, reader.diagnostics)
            }
            root = node
        } catch {
            return (nil, [yamlDiagnostic(error, file: file)])
        }
        var fragment = PolicyFragment(file: file)
        guard let top = reader.mapping(root, "the document", allowed: topKeys) else { return (nil, reader.diagnostics) }
        let byKey = Dictionary(top.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })

        if let entry = byKey["apiVersion"] {
            if let version = reader.string(entry.value, "apiVersion"), version != Policy.apiVersion {
                reader.error(entry.value, "apiVersion '\(version)' is not supported", hint: "write 'apiVersion: \(Policy.apiVersion)'")
            }
        } else {
            reader.error(root, "apiVersion is missing", hint: "write 'apiVersion: \(Policy.apiVersion)'")
        }
        if let entry = byKey["kind"] {
            if let kind = reader.string(entry.value, "kind"), kind != "Policy" {
                reader.error(entry.value, "kind '\(kind)' is not supported", hint: "write 'kind: Policy'")
            }
        } else {
            reader.error(root, "kind is missing", hint: "write 'kind: Policy'")
        }
        if let entry = byKey["metadata"], let metadata = reader.mapping(entry.value, "metadata", allowed: ["name", "description"]) {
            for item in metadata where item.key == "name" {
                fragment.name = reader.nonEmptyString(item.value, "metadata.name")
            }
        }
        guard let specEntry = byKey["spec"] else {
            reader.error(root, "spec is missing", hint: "a policy needs spec.indicators and spec.checks")
            return (fragment, reader.diagnostics)
        }
        if let spec = reader.mapping(specEntry.value, "spec", allowed: specKeys) {
            for item in spec {
                switch item.key {
                case "mode": fragment.mode = reader.enumeration(item.value, "spec.mode", as: PolicyMode.self)
                case "paused": fragment.paused = reader.bool(item.value, "spec.paused")
                case "targets": readTargets(item.value, into: &fragment, &reader)
                case "evaluation": readEvaluation(item.value, into: &fragment, &reader)
                case "indicators": readIndicators(item.value, into: &fragment, &reader)
                case "checks": readChecks(item.value, into: &fragment, &reader)
                case "overrides": readOverrides(item.value, into: &fragment, &reader)
                case "actions": ActionParser.readActions(item.value, into: &fragment, &reader)
                case "safety": ActionParser.readSafety(item.value, into: &fragment, &reader)
                case "notify": NotifyParser.read(item.value, into: &fragment, &reader)
                case "objectives": ObjectiveParser.read(item.value, into: &fragment, &reader)
                case "databases": DatabaseParser.read(item.value, into: &fragment, &reader)
                default: break
                }
            }
        }
        return (fragment, reader.diagnostics)
    }

    /// Turns a Yams syntax error into a located diagnostic.
    static func yamlDiagnostic(_ error: any Error, file: String) -> PolicyDiagnostic {
        func at(_ mark: Mark) -> SourceLocation { SourceLocation(file: file, line: mark.line, column: mark.column) }
        switch error as? YamlError {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let detail = context.map { "\($0.text) " } ?? ""
            return PolicyDiagnostic(at(mark), "invalid YAML: \(detail)\(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return PolicyDiagnostic(at(context.mark),
                                    "duplicate name\(duplicates.count == 1 ? "" : "s") \(duplicates.sorted().map { "'\($0)'" }.joined(separator: ", ")) in one mapping",
                                    hint: "each indicator, check and key may appear once per mapping; rename or remove the second")
        case .reader(let problem, _, _, _):
            return PolicyDiagnostic(SourceLocation(file: file, line: 1, column: 1), "unreadable YAML: \(problem)")
        default:
            return PolicyDiagnostic(SourceLocation(file: file, line: 1, column: 1), "unreadable YAML: \(error)")
        }
    }

    private static func readTargets(_ node: Node, into fragment: inout PolicyFragment, _ reader: inout NodeReader) {
        guard let entries = reader.mapping(node, "spec.targets", allowed: ["namespace", "namespaces", "kind", "matchLabels", "groupBy"]) else { return }
        fragment.targetsLocation = reader.location(of: node)
        if entries.contains(where: { $0.key == "namespace" }), let both = entries.first(where: { $0.key == "namespaces" }) {
            reader.error(both.value, "spec.targets has both namespace and namespaces",
                         hint: "keep one: namespace: NAME, or namespaces: [A, B] (or namespaces: {matchLabels: {team: NAME}})")
            return
        }
        for item in entries {
            switch item.key {
            case "namespace":
                if let name = reader.nonEmptyString(item.value, "spec.targets.namespace") {
                    if Self.isNamespaceName(name) { fragment.namespaces = .one(name) } else {
                        reader.error(item.value, "'\(name)' in spec.targets.namespace is not a namespace name (lower-case letters, digits and '-', at most 63)")
                    }
                }
            case "namespaces": readNamespaces(item.value, into: &fragment, &reader)
            case "kind":
                if let kind = reader.string(item.value, "spec.targets.kind") {
                    if ["Deployment", "StatefulSet", "Rollout"].contains(kind) { fragment.kind = kind } else {
                        reader.error(item.value, "spec.targets.kind must be Deployment, StatefulSet or Rollout (Argo Rollouts), found '\(kind)'")
                    }
                }
            case "matchLabels": fragment.matchLabels = reader.stringMap(item.value, "spec.targets.matchLabels")
            case "groupBy":
                if let labels = reader.stringList(item.value, "spec.targets.groupBy") {
                    if labels.isEmpty { reader.error(item.value, "spec.targets.groupBy must name at least one label") }
                    for label in labels where !PromQL.isValidLabelName(label) {
                        reader.error(item.value, "'\(label)' in spec.targets.groupBy is not a Prometheus label name")
                    }
                    fragment.groupBy = Located(value: labels, location: reader.location(of: item.value))
                }
            default: break
            }
        }
    }

    /// `namespaces: [a, b]`, or `namespaces: {matchLabels: {team: payments}}`.
    private static func readNamespaces(_ node: Node, into fragment: inout PolicyFragment, _ reader: inout NodeReader) {
        let path = "spec.targets.namespaces"
        if node.mapping != nil {
            guard let entries = reader.mapping(node, path, allowed: ["matchLabels"]) else { return }
            guard let entry = entries.first(where: { $0.key == "matchLabels" }) else {
                reader.error(node, "\(path) as a mapping needs matchLabels", hint: "write namespaces: {matchLabels: {team: payments}}")
                return
            }
            guard let labels = reader.stringMap(entry.value, "\(path).matchLabels") else { return }
            if labels.isEmpty {
                reader.error(entry.value, "\(path).matchLabels is empty, which would choose every namespace", hint: "leave namespaces out to cover every namespace")
                return
            }
            fragment.namespaces = .labels(labels)
            return
        }
        guard let names = reader.stringList(node, path) else { return }
        guard !names.isEmpty else {
            reader.error(node, "\(path) is empty", hint: "name at least one namespace, or leave namespaces out to cover every namespace")
            return
        }
        for name in names where !isNamespaceName(name) {
            reader.error(node, "'\(name)' in \(path) is not a namespace name (lower-case letters, digits and '-', at most 63)")
            return
        }
        fragment.namespaces = names.count == 1 ? .one(names[0]) : .list(names)
    }

    /// A Kubernetes namespace name: a DNS-1123 label.
    static func isNamespaceName(_ name: String) -> Bool {
        let scalars = Array(name.unicodeScalars)
        guard !scalars.isEmpty, scalars.count <= 63, scalars.first != "-", scalars.last != "-" else { return false }
        return scalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    private static func readEvaluation(_ node: Node, into fragment: inout PolicyFragment, _ reader: inout NodeReader) {
        guard let entries = reader.mapping(node, "spec.evaluation", allowed: ["step", "interval", "lookback", "delay", "minCoverage", "regression"]) else { return }
        for item in entries {
            switch item.key {
            case "step":
                if let step = reader.duration(item.value, "spec.evaluation.step") {
                    if step < 1 { reader.error(item.value, "spec.evaluation.step must be at least 1s") } else { fragment.stepSeconds = step }
                }
            case "interval":
                if let interval = reader.duration(item.value, "spec.evaluation.interval") {
                    if interval < 1 { reader.error(item.value, "spec.evaluation.interval must be at least 1s") } else { fragment.intervalSeconds = interval }
                }
            case "lookback": fragment.lookbackSeconds = reader.duration(item.value, "spec.evaluation.lookback")
            case "delay":
                if let delay = reader.duration(item.value, "spec.evaluation.delay") {
                    if delay > 3600 { reader.error(item.value, "spec.evaluation.delay must be at most 1h (it is how long the backend takes to answer for new samples), found \(PolicyDuration.format(delay))") } else { fragment.delaySeconds = delay }
                }
            case "regression":
                if let literal = threshold(item.value, "spec.evaluation.regression", &reader) {
                    if literal.value.form == .duration || literal.value.value <= 0 {
                        reader.error(item.value, "spec.evaluation.regression is a relative change such as 10%")
                    } else {
                        fragment.regressionPercent = literal.value.form == .percent ? literal.value.value * 100 : literal.value.value
                    }
                }
            case "minCoverage":
                if let value = reader.number(item.value, "spec.evaluation.minCoverage") {
                    if value <= 0 || value > 1 { reader.error(item.value, "spec.evaluation.minCoverage must be more than 0 and at most 1, found \(value)") } else { fragment.minCoverage = value }
                }
            default: break
            }
        }
    }

    private static func readIndicators(_ node: Node, into fragment: inout PolicyFragment, _ reader: inout NodeReader) {
        guard let entries = reader.mapping(node, "spec.indicators") else { return }
        for entry in entries {
            let path = "indicator '\(entry.key)'"
            if !PromQL.isValidLabelName(entry.key) {
                reader.error(entry.keyNode, "\(path): a name may hold letters, digits and underscores, and not start with a digit")
            }
            var indicator = PolicyFragment.IndicatorFragment(name: entry.key, location: reader.location(of: entry.keyNode))
            guard let fields = reader.mapping(entry.value, path, allowed: indicatorKeys) else { continue }
            for field in fields {
                switch field.key {
                case "query":
                    if let query = reader.nonEmptyString(field.value, "\(path).query") {
                        indicator.query = Located(value: query, location: reader.location(of: field.value))
                        indicator.queryLocation = reader.textLocation(of: field.value)
                    }
                case "unit": indicator.unit = reader.enumeration(field.value, "\(path).unit", as: IndicatorUnit.self)
                case "description": indicator.description = reader.string(field.value, "\(path).description")
                case "kind": indicator.kind = reader.enumeration(field.value, "\(path).kind", as: IndicatorKind.self)
                default: break
                }
            }
            fragment.indicators.append(indicator)
        }
    }

    private static func readChecks(_ node: Node, into fragment: inout PolicyFragment, _ reader: inout NodeReader) {
        guard let entries = reader.mapping(node, "spec.checks") else { return }
        for entry in entries {
            let path = "check '\(entry.key)'"
            var check = PolicyFragment.CheckFragment(name: entry.key, location: reader.location(of: entry.keyNode))
            guard let fields = reader.mapping(entry.value, path, allowed: checkKeys) else { continue }
            for field in fields {
                switch field.key {
                case "indicator":
                    if let name = reader.nonEmptyString(field.value, "\(path).indicator") {
                        check.indicator = Located(value: name, location: reader.location(of: field.value))
                    }
                case "worse": check.worse = reader.enumeration(field.value, "\(path).worse", as: Direction.self)
                case "warning": check.warning = threshold(field.value, "\(path).warning", &reader)
                case "critical": check.critical = threshold(field.value, "\(path).critical", &reader)
                case "for": check.forSeconds = reader.duration(field.value, "\(path).for")
                case "weight": check.weight = reader.positiveNumber(field.value, "\(path).weight")
                case "key": check.key = reader.bool(field.value, "\(path).key")
                case "description": check.description = reader.string(field.value, "\(path).description")
                case "minEvidence":
                    // {indicator: request_rate, atLeast: 0.5}: below it the check cannot judge.
                    guard let parts = reader.mapping(field.value, "\(path).minEvidence", allowed: ["indicator", "atLeast"]) else { break }
                    var name: Located<String>?
                    var least: Double?
                    for part in parts {
                        if part.key == "indicator", let value = reader.nonEmptyString(part.value, "\(path).minEvidence.indicator") {
                            name = Located(value: value, location: reader.location(of: part.value))
                        }
                        if part.key == "atLeast" { least = reader.number(part.value, "\(path).minEvidence.atLeast") }
                    }
                    if let name, let least {
                        check.minEvidence = (name, least)
                    } else {
                        reader.error(field.value, "\(path).minEvidence needs indicator and atLeast",
                                     hint: "write minEvidence: {indicator: request_rate, atLeast: 0.5}")
                    }
                default: break
                }
            }
            fragment.checks.append(check)
        }
    }

    private static func readOverrides(_ node: Node, into fragment: inout PolicyFragment, _ reader: inout NodeReader) {
        guard let list = node.sequence else {
            reader.error(node, "spec.overrides must be a list, found \(reader.kindName(node))")
            return
        }
        for (index, item) in list.enumerated() {
            let path = "spec.overrides[\(index)]"
            guard let fields = reader.mapping(item, path, allowed: ["match", "checks"]) else { continue }
            var override = PolicyFragment.OverrideFragment(location: reader.location(of: item), match: [:], checks: [])
            var sawMatch = false
            for field in fields {
                switch field.key {
                case "match":
                    sawMatch = true
                    override.match = reader.stringMap(field.value, "\(path).match") ?? [:]
                    if override.match.isEmpty { reader.error(field.value, "\(path).match must name at least one label") }
                case "checks":
                    guard let checks = reader.mapping(field.value, "\(path).checks") else { continue }
                    for check in checks {
                        let checkPath = "\(path).checks.\(check.key)"
                        guard let values = reader.mapping(check.value, checkPath, allowed: ["warning", "critical", "for", "weight", "enabled"]) else { continue }
                        var entry: (name: Located<String>, warning: Located<ThresholdLiteral>?, critical: Located<ThresholdLiteral>?,
                                    forSeconds: Double?, weight: Double?, enabled: Bool?)
                        entry = (Located(value: check.key, location: reader.location(of: check.keyNode)), nil, nil, nil, nil, nil)
                        for value in values {
                            switch value.key {
                            case "warning": entry.warning = threshold(value.value, "\(checkPath).warning", &reader)
                            case "critical": entry.critical = threshold(value.value, "\(checkPath).critical", &reader)
                            case "for": entry.forSeconds = reader.duration(value.value, "\(checkPath).for")
                            case "weight": entry.weight = reader.positiveNumber(value.value, "\(checkPath).weight")
                            case "enabled": entry.enabled = reader.bool(value.value, "\(checkPath).enabled")
                            default: break
                            }
                        }
                        override.checks.append(entry)
                    }
                default: break
                }
            }
            if !sawMatch { reader.error(item, "\(path) has no match", hint: "write match: {deployment: checkout} to say which targets it is for") }
            fragment.overrides.append(override)
        }
    }

    /// A threshold: a number, `N%` (a ratio) or a duration such as `500ms` (seconds).
    static func threshold(_ node: Node, _ path: String, _ reader: inout NodeReader) -> Located<ThresholdLiteral>? {
        let location = reader.location(of: node)
        guard let scalar = node.scalar else {
            reader.error(node, "\(path) must be a number, a percentage like 5% or a duration like 500ms, found \(reader.kindName(node))")
            return nil
        }
        if node.tag == Tag(.int) || node.tag == Tag(.float) {
            guard let value = reader.number(node, path) else { return nil }
            return Located(value: ThresholdLiteral(value: value, form: .number), location: location)
        }
        let text = scalar.string.trimmingCharacters(in: .whitespaces)
        if text.hasSuffix("%"), let percent = Double(text.dropLast().trimmingCharacters(in: .whitespaces)), percent.isFinite {
            return Located(value: ThresholdLiteral(value: percent / 100, form: .percent), location: location)
        }
        if let seconds = try? PolicyDuration.parse(text) {
            return Located(value: ThresholdLiteral(value: seconds, form: .duration), location: location)
        }
        reader.error(node, "\(path) must be a number, a percentage like 5% or a duration like 500ms, found '\(text)'")
        return nil
    }
}

import Foundation
