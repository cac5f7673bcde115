/// Builds one validated policy from one or more policy files, merged in the order given.
///
/// Later files refine earlier ones: an indicator or check of the same name has the fields the later
/// file states replaced; overrides and actions add up. The merged result is then validated as a
/// whole; any error rejects the policy whole.
public enum PolicyLoader {
    /// A policy file's name and text.
    public struct Source: Sendable {
        public var file: String
        public var text: String

        public init(file: String, text: String) {
            self.file = file
            self.text = text
        }
    }

    /// The one policy of `sources`; files naming two policies (`metadata.name`) are refused with
    /// the names, for the callers that run one policy.
    public static func load(_ sources: [Source]) throws(PolicyError) -> Policy {
        let policies = try loadSet(sources)
        guard policies.count == 1 else {
            let names = policies.map { "'\($0.name)' (\($0.sources.joined(separator: ", ")))" }.joined(separator: ", ")
            throw PolicyError([PolicyDiagnostic(SourceLocation(file: sources.first?.file ?? "(none)", line: 1, column: 1),
                                                "the files hold \(policies.count) policies, \(names), and this takes one",
                                                hint: "give one policy file or directory")])
        }
        return policies[0]
    }

    /// Every policy of `sources`: files are grouped by `metadata.name`, each group merged in file
    /// order with the files that name no policy (shared by all), and validated on its own. With one
    /// name or none, that is one policy of every file, as before. Two policies that claim the same
    /// targets are refused, naming both files; any error rejects every policy.
    public static func loadSet(_ sources: [Source]) throws(PolicyError) -> [Policy] {
        var diagnostics: [PolicyDiagnostic] = []
        var fragments: [PolicyFragment] = []
        for source in sources {
            let (fragment, problems) = PolicyParser.parse(source.text, file: source.file)
            diagnostics += problems
            if let fragment { fragments.append(fragment) }
        }
        if sources.isEmpty {
            diagnostics.append(PolicyDiagnostic(SourceLocation(file: "(none)", line: 1, column: 1), "no policy files were given"))
        }
        guard fragments.count == sources.count else { throw PolicyError(diagnostics) }
        var names: [String] = []
        for name in fragments.compactMap(\.name) where !names.contains(name) { names.append(name) }
        let groups: [[PolicyFragment]] = names.count <= 1 ? [fragments]
            : names.map { name in fragments.filter { $0.name == nil || $0.name == name } }
        var policies: [Policy] = []
        var merged: [PolicyFragment] = []
        for group in groups {
            let fragment = merge(group)
            let (policy, problems) = validate(fragment, sources: group.map(\.file))
            diagnostics += problems
            if let policy {
                policies.append(policy)
                merged.append(fragment)
            }
        }
        diagnostics += overlaps(policies, merged)
        // A file that could not be read at all would only add noise ("no checks") above; shared files
        // are validated once per policy: say each problem once.
        var seen = Set<String>()
        diagnostics = diagnostics.filter { seen.insert($0.description).inserted }
        if !diagnostics.isEmpty || policies.isEmpty { throw PolicyError(diagnostics) }
        return policies
    }

    /// Two policies whose targets certainly meet: the same kind, namespaces in common (or one
    /// covering every namespace, or the same namespace labels), and one's matchLabels within the
    /// other's. What only the cluster can tell (a label selector against a list) is found per cycle.
    static func overlaps(_ policies: [Policy], _ fragments: [PolicyFragment]) -> [PolicyDiagnostic] {
        var problems: [PolicyDiagnostic] = []
        for (j, later) in policies.enumerated() {
            for earlier in policies[..<j] where TargetSelector.certainlyMeet(earlier.targets, later.targets) {
                let location = fragments[j].targetsLocation ?? SourceLocation(file: later.sources.last ?? "(none)", line: 1, column: 1)
                problems.append(PolicyDiagnostic(location,
                    "policy '\(later.name)' (\(later.sources.joined(separator: ", "))) and policy '\(earlier.name)' (\(earlier.sources.joined(separator: ", "))) both claim \(later.targets.kind)s in \(later.targets.namespaceText)\(later.targets.matchLabels.isEmpty ? "" : " with " + TargetSelector.selectorText(later.targets.matchLabels))",
                    hint: "a target belongs to one policy: give each its own spec.targets.namespaces or matchLabels"))
            }
        }
        return problems
    }

    public static func load(text: String, file: String) throws(PolicyError) -> Policy {
        try load([Source(file: file, text: text)])
    }

    static func merge(_ fragments: [PolicyFragment]) -> PolicyFragment {
        var result = PolicyFragment(file: fragments.first?.file ?? "(none)")
        for fragment in fragments {
            result.name = fragment.name ?? result.name
            result.mode = fragment.mode ?? result.mode
            result.paused = fragment.paused ?? result.paused
            result.namespaces = fragment.namespaces ?? result.namespaces
            result.targetsLocation = fragment.targetsLocation ?? result.targetsLocation
            result.kind = fragment.kind ?? result.kind
            result.matchLabels = fragment.matchLabels ?? result.matchLabels
            result.groupBy = fragment.groupBy ?? result.groupBy
            result.stepSeconds = fragment.stepSeconds ?? result.stepSeconds
            result.lookbackSeconds = fragment.lookbackSeconds ?? result.lookbackSeconds
            result.delaySeconds = fragment.delaySeconds ?? result.delaySeconds
            result.intervalSeconds = fragment.intervalSeconds ?? result.intervalSeconds
            result.minCoverage = fragment.minCoverage ?? result.minCoverage
            result.regressionPercent = fragment.regressionPercent ?? result.regressionPercent
            result.cooldownSeconds = fragment.cooldownSeconds ?? result.cooldownSeconds
            result.maxChangesPerHour = fragment.maxChangesPerHour ?? result.maxChangesPerHour
            result.freeze = fragment.freeze ?? result.freeze
            result.changeWindows = fragment.changeWindows ?? result.changeWindows
            result.gitOps = fragment.gitOps ?? result.gitOps
            result.verifyAfterSeconds = fragment.verifyAfterSeconds ?? result.verifyAfterSeconds
            result.journalRetentionSeconds = fragment.journalRetentionSeconds ?? result.journalRetentionSeconds
            result.rollbackIfScoreDropsBy = fragment.rollbackIfScoreDropsBy ?? result.rollbackIfScoreDropsBy
            result.minImprovement = fragment.minImprovement ?? result.minImprovement
            result.notify = fragment.notify ?? result.notify
            for indicator in fragment.indicators {
                if let index = result.indicators.firstIndex(where: { $0.name == indicator.name }) {
                    var existing = result.indicators[index]
                    if let query = indicator.query {
                        existing.query = query
                        existing.queryLocation = indicator.queryLocation
                    }
                    existing.unit = indicator.unit ?? existing.unit
                    existing.description = indicator.description ?? existing.description
                    existing.location = indicator.location
                    result.indicators[index] = existing
                } else {
                    result.indicators.append(indicator)
                }
            }
            for check in fragment.checks {
                if let index = result.checks.firstIndex(where: { $0.name == check.name }) {
                    var existing = result.checks[index]
                    existing.indicator = check.indicator ?? existing.indicator
                    existing.worse = check.worse ?? existing.worse
                    existing.warning = check.warning ?? existing.warning
                    existing.critical = check.critical ?? existing.critical
                    existing.forSeconds = check.forSeconds ?? existing.forSeconds
                    existing.weight = check.weight ?? existing.weight
                    existing.key = check.key ?? existing.key
                    existing.description = check.description ?? existing.description
                    existing.minEvidence = check.minEvidence ?? existing.minEvidence
                    existing.location = check.location
                    result.checks[index] = existing
                } else {
                    result.checks.append(check)
                }
            }
            for objective in fragment.objectives {
                if let index = result.objectives.firstIndex(where: { $0.name == objective.name }) {
                    var existing = result.objectives[index]
                    existing.kind = objective.kind ?? existing.kind
                    existing.target = objective.target ?? existing.target
                    existing.windowSeconds = objective.windowSeconds ?? existing.windowSeconds
                    if let good = objective.good { existing.good = good; existing.goodLocation = objective.goodLocation }
                    if let total = objective.total { existing.total = total; existing.totalLocation = objective.totalLocation }
                    existing.description = objective.description ?? existing.description
                    existing.location = objective.location
                    result.objectives[index] = existing
                } else {
                    result.objectives.append(objective)
                }
            }
            for database in fragment.databases {
                // A later file's database of the same name replaces it whole.
                result.databases.removeAll { $0.database.name == database.database.name }
                result.databases.append(database)
            }
            result.overrides += fragment.overrides
            result.actions += fragment.actions
        }
        return result
    }

    static func validate(_ fragment: PolicyFragment, sources: [String]) -> (Policy?, [PolicyDiagnostic]) {
        var diagnostics: [PolicyDiagnostic] = []
        let start = SourceLocation(file: fragment.file, line: 1, column: 1)
        var targets = TargetSelector(kind: fragment.kind ?? "Deployment", matchLabels: fragment.matchLabels ?? [:],
                                     groupBy: fragment.groupBy?.value ?? ["namespace", "deployment"])
        switch fragment.namespaces {
        case .one(let name): targets.namespace = name
        case .list(let names): targets.namespaces = names
        case .labels(let labels): targets.namespaceLabels = labels
        case nil: break
        }
        var indicators: [Indicator] = []
        for item in fragment.indicators {
            guard let query = item.query else {
                diagnostics.append(PolicyDiagnostic(item.location, "indicator '\(item.name)' has no query",
                                                    hint: "write query: a PromQL expression aggregated `by ($by)`"))
                continue
            }
            diagnostics += placeholderProblems(in: query.value, of: "indicator '\(item.name)'", targets: targets) { offset in
                placeholderLocation(item, offset: offset)
            }
            indicators.append(Indicator(name: item.name, query: query.value, unit: item.unit ?? .none,
                                        description: item.description, kind: item.kind, location: item.location,
                                        queryLocation: item.queryLocation))
        }
        let unitByIndicator = Dictionary(indicators.map { ($0.name, $0.unit) }, uniquingKeysWith: { a, _ in a })
        // Units as written: an indicator whose unit was left out or was invalid is not held against thresholds.
        let statedUnits = Dictionary(fragment.indicators.compactMap { item in item.unit.map { (item.name, $0) } }, uniquingKeysWith: { a, _ in a })

        var checks: [Check] = []
        for item in fragment.checks {
            let indicatorName = item.indicator?.value ?? item.name
            var ok = true
            func problem(_ location: SourceLocation, _ message: String, hint: String? = nil) {
                diagnostics.append(PolicyDiagnostic(location, "check '\(item.name)': \(message)", hint: hint))
                ok = false
            }
            let unit = unitByIndicator[indicatorName]
            if unit == nil && fragment.indicators.contains(where: { $0.name == indicatorName }) == false {
                problem(item.indicator?.location ?? item.location, "no indicator is named '\(indicatorName)'",
                        hint: Suggestion.closest(to: indicatorName, in: Array(unitByIndicator.keys)).map { "did you mean '\($0)'?" }
                            ?? "declare it under spec.indicators, or name an existing one with indicator:")
            }
            guard let worse = item.worse else {
                problem(item.location, "worse is missing", hint: "write worse: higher (e.g. latency) or worse: lower (e.g. cache hit ratio)")
                continue
            }
            guard let warning = item.warning, let critical = item.critical else {
                problem(item.location, "needs both warning and critical thresholds")
                continue
            }
            for literal in [warning, critical] {
                if let message = unitMismatch(literal.value, unit: statedUnits[indicatorName]) { problem(literal.location, message) }
            }
            let ordered = worse == .higher ? warning.value.value < critical.value.value : warning.value.value > critical.value.value
            if !ordered {
                problem(critical.location,
                        "critical (\(Formatting.value(critical.value.value, unit: unit ?? .none))) must be \(worse == .higher ? "above" : "below") warning (\(Formatting.value(warning.value.value, unit: unit ?? .none))) when worse is \(worse.rawValue)",
                        hint: "swap them, or change worse to \(worse == .higher ? "lower" : "higher")")
            }
            if let evidence = item.minEvidence, !fragment.indicators.contains(where: { $0.name == evidence.indicator.value }) {
                problem(evidence.indicator.location, "minEvidence names no indicator '\(evidence.indicator.value)'",
                        hint: Suggestion.closest(to: evidence.indicator.value, in: Array(unitByIndicator.keys)).map { "did you mean '\($0)'?" }
                            ?? "declare it under spec.indicators (a request rate, for example)")
            }
            guard ok else { continue }
            checks.append(Check(name: item.name, indicator: indicatorName, worse: worse, warning: warning.value.value,
                                critical: critical.value.value, forSeconds: item.forSeconds ?? 300, weight: item.weight ?? 1,
                                key: item.key ?? false, description: item.description, location: item.location,
                                minEvidence: item.minEvidence.map { EvidenceMinimum(indicator: $0.indicator.value, atLeast: $0.atLeast) }))
        }
        if fragment.checks.isEmpty {
            diagnostics.append(PolicyDiagnostic(start, "the policy has no checks", hint: "add spec.checks; a check names an indicator and its thresholds"))
        }

        let checkByName = Dictionary(checks.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var overrides: [TargetOverride] = []
        for item in fragment.overrides {
            var changes: [String: CheckOverride] = [:]
            for entry in item.checks {
                guard let base = checkByName[entry.name.value] else {
                    if !fragment.checks.contains(where: { $0.name == entry.name.value }) {
                        diagnostics.append(PolicyDiagnostic(entry.name.location, "override names no check '\(entry.name.value)'",
                                                            hint: Suggestion.closest(to: entry.name.value, in: Array(checkByName.keys)).map { "did you mean '\($0)'?" }))
                    }
                    continue
                }
                let unit = statedUnits[base.indicator]
                for literal in [entry.warning, entry.critical].compactMap({ $0 }) {
                    if let message = unitMismatch(literal.value, unit: unit) {
                        diagnostics.append(PolicyDiagnostic(literal.location, "override of check '\(base.name)': \(message)"))
                    }
                }
                let warning = entry.warning?.value.value ?? base.warning
                let critical = entry.critical?.value.value ?? base.critical
                let ordered = base.worse == .higher ? warning < critical : warning > critical
                if !ordered {
                    diagnostics.append(PolicyDiagnostic(entry.critical?.location ?? entry.warning?.location ?? entry.name.location,
                                                        "override of check '\(base.name)': critical (\(Formatting.value(critical, unit: unitByIndicator[base.indicator] ?? .none))) must be \(base.worse == .higher ? "above" : "below") warning (\(Formatting.value(warning, unit: unitByIndicator[base.indicator] ?? .none))) when worse is \(base.worse.rawValue)"))
                }
                changes[base.name] = CheckOverride(warning: entry.warning?.value.value, critical: entry.critical?.value.value,
                                                   forSeconds: entry.forSeconds, weight: entry.weight, enabled: entry.enabled,
                                                   location: entry.name.location)
            }
            overrides.append(TargetOverride(match: item.match, checks: changes, location: item.location))
        }

        var actions: [ActionRule] = []
        let checkNames = Set(fragment.checks.map(\.name))
        let indicatorNames = Set(fragment.indicators.map(\.name))
        for item in fragment.actions {
            for name in [item.bottleneck] + item.and + item.unless + item.checks where !checkNames.contains(name.value) {
                diagnostics.append(PolicyDiagnostic(name.location, "action names no check '\(name.value)'",
                                                    hint: Suggestion.closest(to: name.value, in: Array(checkNames)).map { "did you mean '\($0)'?" }))
            }
            for name in item.indicators where !indicatorNames.contains(name.value) {
                diagnostics.append(PolicyDiagnostic(name.location, "\(item.action.name) action reads the indicator '\(name.value)', which is not declared",
                                                    hint: Suggestion.closest(to: name.value, in: Array(indicatorNames)).map { "did you mean '\($0)'?" }
                                                        ?? "declare it under spec.indicators, or name another with the action's field"))
            }
            actions.append(ActionRule(bottleneck: item.bottleneck.value, and: item.and.map(\.value), unless: item.unless.map(\.value),
                                      action: item.action, location: item.location))
        }
        let defaults = SafetySettings()
        let safety = SafetySettings(cooldownSeconds: fragment.cooldownSeconds ?? defaults.cooldownSeconds,
                                    maxChangesPerHour: fragment.maxChangesPerHour ?? defaults.maxChangesPerHour,
                                    freeze: fragment.freeze ?? defaults.freeze,
                                    verifyAfterSeconds: fragment.verifyAfterSeconds ?? defaults.verifyAfterSeconds,
                                    rollbackIfScoreDropsBy: fragment.rollbackIfScoreDropsBy ?? defaults.rollbackIfScoreDropsBy,
                                    minImprovement: fragment.minImprovement ?? defaults.minImprovement,
                                    changeWindows: fragment.changeWindows, gitOps: fragment.gitOps ?? GitOpsSettings(),
                                    journalRetentionSeconds: fragment.journalRetentionSeconds ?? defaults.journalRetentionSeconds)

        let evaluation = EvaluationSettings(stepSeconds: fragment.stepSeconds ?? 30, lookbackSeconds: fragment.lookbackSeconds ?? 3600,
                                            minCoverage: fragment.minCoverage ?? 0.5,
                                            regressionPercent: fragment.regressionPercent ?? 10,
                                            intervalSeconds: fragment.intervalSeconds ?? 30, delaySeconds: fragment.delaySeconds ?? 0)
        let objectives = ObjectiveParser.validate(fragment.objectives, targets: targets, &diagnostics)
        let hasPoolAction = actions.contains { if case .poolSize = $0.action { return true } else { return false } }
        let databases = DatabaseParser.validate(fragment.databases, indicators: indicatorNames, hasPoolAction: hasPoolAction, &diagnostics)
        guard diagnostics.isEmpty else { return (nil, diagnostics) }
        var policy = Policy(name: fragment.name ?? "unnamed", mode: fragment.mode ?? .dryRun, targets: targets,
                            indicators: indicators, checks: checks, overrides: overrides, evaluation: evaluation,
                            actions: actions, safety: safety, sources: sources)
        policy.paused = fragment.paused ?? false
        policy.notify = fragment.notify ?? NotifySettings()
        policy.objectives = objectives
        policy.databases = databases
        return (policy, [])
    }

    /// The placeholders of a template that cannot be filled: unknown ones (with the closest known one),
    /// and `$namespace` where the targets have no namespace. `extra` names placeholders the template's
    /// owner fills itself (an objective's `$range`); `location` maps an offset in the template to the file.
    static func placeholderProblems(in template: String, of subject: String, extra: [String] = [], targets: TargetSelector,
                                    location: (Int) -> SourceLocation) -> [PolicyDiagnostic] {
        let known = (PromQL.placeholders.keys + extra).sorted()
        var problems: [PolicyDiagnostic] = []
        for use in PromQL.placeholderUses(in: template) {
            if !known.contains(use.name) {
                problems.append(PolicyDiagnostic(location(use.offset), "\(subject) uses the unknown placeholder $\(use.name)",
                                                 hint: Suggestion.closest(to: use.name, in: known).map { "did you mean $\($0)?" }
                                                     ?? "known placeholders: \(known.map { "$\($0)" }.joined(separator: ", "))"))
            } else if use.name == "namespace", targets.namespace == nil {
                problems.append(targets.coversEveryNamespace
                    ? PolicyDiagnostic(location(use.offset), "\(subject) uses $namespace but spec.targets.namespace is not set",
                                       hint: "set spec.targets.namespace, or use $selector, which covers every namespace")
                    : PolicyDiagnostic(location(use.offset), "\(subject) uses $namespace, which stands for one namespace, but the targets are in \(targets.namespaceText)",
                                       hint: "use $namespaceSelector (one matcher for all of them) or $selector"))
            }
        }
        return problems
    }

    /// Where a placeholder stands: exact on one line and in a literal block, the scalar's start otherwise.
    private static func placeholderLocation(_ indicator: PolicyFragment.IndicatorFragment, offset: Int) -> SourceLocation {
        guard let query = indicator.query else { return indicator.location }
        return indicator.queryLocation?.location(ofOffset: offset, in: query.value) ?? query.location
    }

    private static func unitMismatch(_ literal: ThresholdLiteral, unit: IndicatorUnit?) -> String? {
        guard let unit else { return nil }
        switch literal.form {
        case .number: return nil
        case .percent where unit != .ratio:
            return "a percentage only fits a ratio indicator; this one is in \(unit.rawValue)"
        case .duration where unit != .seconds:
            return "a duration only fits an indicator in seconds; this one is in \(unit.rawValue)"
        default: return nil
        }
    }
}
