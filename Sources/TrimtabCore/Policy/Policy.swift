import Foundation

/// Where something was written: a file, a line and a column (both from 1).
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// Which way a value goes bad.
public enum Direction: String, Sendable, Codable, CaseIterable {
    /// Higher values are worse (latency, error ratio, utilisation).
    case higher
    /// Lower values are worse (cache hit ratio, throughput).
    case lower
}

/// The unit of an indicator; it decides how values are read in thresholds and shown in reports.
public enum IndicatorUnit: String, Sendable, Codable, CaseIterable {
    case seconds
    /// A fraction from 0 to 1; thresholds may be written as `5%`.
    case ratio
    case bytes
    case perSecond = "per-second"
    case count
    case none
}

/// What an indicator measures, whatever it is called: reports and recommendations read this, never
/// the spelling of a name.
public enum IndicatorKind: String, Sendable, Codable, CaseIterable {
    case latency, errors, traffic, cpu, memory, pool, cache, other
}

/// Whether Trimtab only plans changes or also applies them.
public enum PolicyMode: String, Sendable, Codable, CaseIterable {
    case dryRun = "dry-run"
    case enforce
}

/// Which workloads a policy covers, and the labels that identify one in metrics.
public struct TargetSelector: Sendable, Equatable, Codable {
    /// The namespace the workloads live in, when there is exactly one; `nil` with `namespaces` nil
    /// covers every namespace.
    public var namespace: String?
    /// Several namespaces (`spec.targets.namespaces: [a, b]`), or those the label selector found this
    /// cycle; nil when `namespace` alone says (or every namespace is covered). Empty matches nothing.
    public var namespaces: [String]?
    /// `spec.targets.namespaces.matchLabels`: namespaces chosen by their labels, found afresh every
    /// cycle (from the API server, or kube-state-metrics' `kube_namespace_labels`) into `namespaces`.
    public var namespaceLabels: [String: String]?
    /// The workload kind acted on (Deployment or StatefulSet).
    public var kind: String
    /// Extra label matchers every indicator query applies (exact match).
    public var matchLabels: [String: String]
    /// The metric labels that name one target; every indicator is aggregated `by` these.
    public var groupBy: [String]

    public init(namespace: String? = nil, kind: String = "Deployment", matchLabels: [String: String] = [:],
                groupBy: [String] = ["namespace", "deployment"]) {
        self.namespace = namespace
        self.kind = kind
        self.matchLabels = matchLabels
        self.groupBy = groupBy
    }

    /// Whether the targets may live in `namespace`. A label selector not yet resolved says yes: the
    /// cycle resolves it before anything is read or planned.
    public func covers(namespace: String) -> Bool {
        if let only = self.namespace { return only == namespace }
        if let namespaces { return namespaces.contains(namespace) }
        return true
    }

    /// Whether the targets are every namespace's.
    public var coversEveryNamespace: Bool { namespace == nil && namespaces == nil && namespaceLabels == nil }

    /// The one matcher on the namespace label: `namespace="a"`, `namespace=~"a|b"`, or nil for every
    /// namespace. No namespace at all (a label selector that matched none, or is not resolved yet)
    /// matches no series.
    public var namespaceMatcher: String? {
        if let namespace { return "namespace=\"\(PromQL.escape(namespace))\"" }
        // A label selector not yet resolved matches nothing rather than every namespace: fail closed.
        guard let namespaces = namespaces ?? (namespaceLabels == nil ? nil : []) else { return nil }
        if namespaces.isEmpty { return "namespace=\"\", namespace!=\"\"" }
        // Namespace names are DNS labels ([a-z0-9-]): nothing in them is special in a regex.
        return "namespace=~\"\(namespaces.sorted().map(PromQL.escape).joined(separator: "|"))\""
    }

    /// Whether two policies' targets certainly share a workload, as far as the policy files tell: the
    /// same kind; namespaces in common, one covering every namespace, or one's namespace labels
    /// within the other's; and one's matchLabels within the other's.
    public static func certainlyMeet(_ a: TargetSelector, _ b: TargetSelector) -> Bool {
        guard a.kind == b.kind else { return false }
        func within(_ small: [String: String], _ large: [String: String]) -> Bool { small.allSatisfy { large[$0.key] == $0.value } }
        guard within(a.matchLabels, b.matchLabels) || within(b.matchLabels, a.matchLabels) else { return false }
        if a.coversEveryNamespace || b.coversEveryNamespace { return true }
        if let left = a.namespaceLabels, let right = b.namespaceLabels { return within(left, right) || within(right, left) }
        if a.namespaceLabels != nil || b.namespaceLabels != nil { return false }
        let left = Set(a.namespaces ?? a.namespace.map { [$0] } ?? [])
        let right = Set(b.namespaces ?? b.namespace.map { [$0] } ?? [])
        return !left.isDisjoint(with: right)
    }

    /// Narrows the targets to one namespace (`--namespace`), whatever the policy chose.
    public mutating func restrict(to namespace: String) {
        self.namespace = namespace
        namespaces = nil
        namespaceLabels = nil
    }

    /// Labels as a Kubernetes label selector (and as people read them): `team=payments,tier=web`.
    public static func selectorText(_ labels: [String: String]) -> String {
        labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    /// The targets' namespaces in words: "namespace shop", "namespaces a, b", "namespaces labelled team=x".
    public var namespaceText: String {
        if let namespace { return "namespace \(namespace)" }
        if let namespaceLabels {
            return "namespaces labelled \(Self.selectorText(namespaceLabels))" + (namespaces.map { $0.isEmpty ? " (none now)" : " (\($0.sorted().joined(separator: ", ")))" } ?? "")
        }
        if let namespaces { return "namespaces \(namespaces.joined(separator: ", "))" }
        return "every namespace"
    }
}

extension Collection where Element == Policy {
    /// Every file the policies were read from, once, in the order they name them (a shared file once).
    public var sourceFiles: [String] {
        var files: [String] = []
        for file in flatMap(\.sources) where !files.contains(file) { files.append(file) }
        return files
    }
}

/// A measured quantity: one PromQL expression that yields a value per target.
public struct Indicator: Sendable, Equatable, Codable {
    public var name: String
    /// The PromQL template; placeholders (`$selector`, `$by`, `$namespace`) are filled per run.
    public var query: String
    public var unit: IndicatorUnit
    public var description: String?
    /// What it measures (`kind:` in the policy), when the policy says.
    public var kind: IndicatorKind?
    public var location: SourceLocation?
    /// Where the query's text stands, to map a position in it back to the file.
    public var queryLocation: QueryLocation?

    public init(name: String, query: String, unit: IndicatorUnit, description: String? = nil, kind: IndicatorKind? = nil,
                location: SourceLocation? = nil, queryLocation: QueryLocation? = nil) {
        self.name = name
        self.query = query
        self.unit = unit
        self.description = description
        self.kind = kind
        self.location = location
        self.queryLocation = queryLocation
    }
}

/// Thresholds for one indicator: when a value is a warning or critical, and for how long a breach
/// must hold before it is a bottleneck.
public struct Check: Sendable, Equatable, Codable {
    public var name: String
    public var indicator: String
    public var worse: Direction
    public var warning: Double
    public var critical: Double
    /// Seconds a breach must hold, at every evaluation step, before it is a bottleneck.
    public var forSeconds: Double
    /// Relative weight in the target's score.
    public var weight: Double
    /// A key check makes the whole target unknown when its data is missing.
    public var key: Bool
    public var description: String?
    public var location: SourceLocation?
    /// The least evidence the check needs to judge (a request rate, say): below it the check is
    /// *insufficient evidence*, neither healthy nor failing, and no action follows from it.
    public var minEvidence: EvidenceMinimum?

    public init(name: String, indicator: String, worse: Direction, warning: Double, critical: Double,
                forSeconds: Double = 300, weight: Double = 1, key: Bool = false, description: String? = nil,
                location: SourceLocation? = nil, minEvidence: EvidenceMinimum? = nil) {
        self.name = name
        self.indicator = indicator
        self.worse = worse
        self.warning = warning
        self.critical = critical
        self.forSeconds = forSeconds
        self.weight = weight
        self.key = key
        self.description = description
        self.location = location
        self.minEvidence = minEvidence
    }
}

/// "One error in two requests is not a critical error ratio": the value of an indicator (such as the
/// request rate) a check needs before its own value means anything.
public struct EvidenceMinimum: Sendable, Equatable, Codable {
    public var indicator: String
    public var atLeast: Double

    public init(indicator: String, atLeast: Double) {
        self.indicator = indicator
        self.atLeast = atLeast
    }
}

/// Different thresholds for the targets whose labels match.
public struct TargetOverride: Sendable, Equatable, Codable {
    /// Label values a target must have (all of them) for the override to apply.
    public var match: [String: String]
    /// Per check name, the fields replaced for matching targets.
    public var checks: [String: CheckOverride]
    public var location: SourceLocation?

    public init(match: [String: String], checks: [String: CheckOverride], location: SourceLocation? = nil) {
        self.match = match
        self.checks = checks
        self.location = location
    }

    /// Whether the override applies to a target with these labels.
    public func matches(_ labels: [String: String]) -> Bool {
        match.allSatisfy { labels[$0.key] == $0.value }
    }
}

/// The fields of a check that an override may replace; `nil` keeps the policy's value.
public struct CheckOverride: Sendable, Equatable, Codable {
    public var warning: Double?
    public var critical: Double?
    public var forSeconds: Double?
    public var weight: Double?
    /// `false` switches the check off for matching targets.
    public var enabled: Bool?
    public var location: SourceLocation?

    public init(warning: Double? = nil, critical: Double? = nil, forSeconds: Double? = nil, weight: Double? = nil,
                enabled: Bool? = nil, location: SourceLocation? = nil) {
        self.warning = warning
        self.critical = critical
        self.forSeconds = forSeconds
        self.weight = weight
        self.enabled = enabled
        self.location = location
    }
}

/// How a run reads Prometheus and judges what it reads.
public struct EvaluationSettings: Sendable, Equatable, Codable {
    /// Seconds between the points of the range queries.
    public var stepSeconds: Double
    /// Seconds of history read before the longest `for` window, to tell since when a breach holds.
    public var lookbackSeconds: Double
    /// The share of check weight (per target) and of targets (overall) that must be known for a score.
    public var minCoverage: Double
    /// How much worse (in percent) an indicator may get against the previous period or a baseline
    /// before a report calls it out.
    public var regressionPercent: Double
    /// Seconds between the cycles of `trimtab run`.
    public var intervalSeconds: Double = 30
    /// How far behind the time asked for (now, `--at`, a report's end) every evaluation is, before it
    /// goes on the step grid: for a backend that does not yet answer for the last seconds
    /// (VictoriaMetrics' `-search.latencyOffset`, 30 s by default; remote-write lag).
    public var delaySeconds: Double = 0

    /// The seconds of history one evaluation reads: the longest `for` (overrides included) plus the
    /// lookback, in whole steps, and never more than Prometheus answers (11,000 points a series).
    public func windowSeconds(longestFor: Double) -> Double {
        let span = min(longestFor + lookbackSeconds, stepSeconds * 10_000)
        return (span / stepSeconds).rounded(.up) * stepSeconds
    }

    public init(stepSeconds: Double = 30, lookbackSeconds: Double = 3600, minCoverage: Double = 0.5, regressionPercent: Double = 10,
                intervalSeconds: Double = 30, delaySeconds: Double = 0) {
        self.delaySeconds = delaySeconds
        self.stepSeconds = stepSeconds
        self.lookbackSeconds = lookbackSeconds
        self.minCoverage = minCoverage
        self.regressionPercent = regressionPercent
        self.intervalSeconds = intervalSeconds
    }
}

/// A validated policy: every reference resolves and every threshold is in order.
public struct Policy: Sendable, Equatable, Codable {
    public static let apiVersion = "trimtab/v1"

    public var name: String
    public var mode: PolicyMode
    /// The kill switch: assess and plan, but change nothing (`spec.paused: true`).
    public var paused = false
    public var targets: TargetSelector
    /// Indicators in the order they were declared.
    public var indicators: [Indicator]
    /// Checks in the order they were declared.
    public var checks: [Check]
    public var overrides: [TargetOverride]
    public var evaluation: EvaluationSettings
    public var actions: [ActionRule]
    public var safety: SafetySettings
    /// Where notifications go (`spec.notify`); empty sends none.
    public var notify = NotifySettings()
    /// The checks of the utilisation the policy's scale rules scale on: on a target an HPA owns, the
    /// HPA keeps that utilisation at its own target, so their breaches are the HPA's, not a change's.
    public var autoscaledChecks: Set<String> {
        var names = Set<String>()
        for rule in actions {
            guard case .scale(let scale) = rule.action else { continue }
            for check in checks where check.indicator == scale.utilization { names.insert(check.name) }
        }
        return names
    }

    /// Service-level objectives per target (`spec.objectives`), in declaration order.
    public var objectives: [Objective] = []
    /// Databases whose connections several targets share (`spec.databases`).
    public var databases: [SharedDatabase] = []
    /// The files the policy was read from, in merge order.
    public var sources: [String]

    public init(name: String, mode: PolicyMode = .dryRun, targets: TargetSelector = TargetSelector(),
                indicators: [Indicator], checks: [Check], overrides: [TargetOverride] = [],
                evaluation: EvaluationSettings = EvaluationSettings(), actions: [ActionRule] = [],
                safety: SafetySettings = SafetySettings(), sources: [String] = []) {
        self.name = name
        self.mode = mode
        self.targets = targets
        self.indicators = indicators
        self.checks = checks
        self.overrides = overrides
        self.evaluation = evaluation
        self.actions = actions
        self.safety = safety
        self.sources = sources
    }

    /// The seconds of history one evaluation reads for every indicator.
    public var windowSeconds: Double {
        let longestFor = checks.map(\.forSeconds).max() ?? 0
        let overrideFor = overrides.flatMap { $0.checks.values.compactMap(\.forSeconds) }.max() ?? 0
        return evaluation.windowSeconds(longestFor: max(longestFor, overrideFor))
    }

    public func indicator(named name: String) -> Indicator? {
        indicators.first { $0.name == name }
    }

    /// The indicators some check or action reads, in declaration order: the queries one run sends.
    public var queriedIndicators: [Indicator] {
        let used = Set(checks.map(\.indicator) + checks.compactMap(\.minEvidence?.indicator) + actions.flatMap(\.action.indicators))
        return indicators.filter { used.contains($0.name) }
    }

    /// The forecasts of the policy's scale rules, one per load indicator (the first rule's).
    public var forecastRules: [ForecastRule] {
        var rules: [ForecastRule] = []
        for rule in actions {
            if case .scale(let scale) = rule.action, let forecast = scale.forecast, !rules.contains(where: { $0.load == forecast.load }) {
                rules.append(forecast)
            }
        }
        return rules
    }

    /// The ConfigMaps the policy's pool and cache rules write, by name.
    public var configMapsOfKnobs: [String] {
        var names: [String] = []
        for knob in actions.flatMap(\.action.knobs) {
            if case .configMap(let name, _, _) = knob, !names.contains(name) { names.append(name) }
        }
        return names
    }

    /// The knobs whose current value an action reads from the cluster: those of pool and TTL rules
    /// whose size or TTL indicator the policy does not declare (most applications export neither).
    public var knobsReadFromCluster: [Knob] {
        var seen = Set<Knob>()
        return actions.flatMap { rule -> [Knob] in
            switch rule.action {
            // A shared database counts every user's pool, exporting its size or not: the knob is its fallback.
            // With a choice of knobs, each is read: which one a target can use depends on it.
            case .poolSize(let pool) where indicator(named: pool.size) == nil || !databases.isEmpty || pool.fallbacks?.isEmpty == false:
                return rule.action.knobs
            case .cacheTTL(let cache) where indicator(named: cache.ttl) == nil || cache.fallbacks?.isEmpty == false:
                return rule.action.knobs
            default: return []
            }
        }.filter { seen.insert($0).inserted }
    }

    /// The checks that apply to a target, with its overrides applied (later overrides win).
    public func checks(for labels: [String: String]) -> [Check] {
        let applicable = overrides.filter { $0.matches(labels) }
        return checks.compactMap { check in
            var result = check
            for override in applicable {
                guard let change = override.checks[check.name] else { continue }
                if change.enabled == false { return nil }
                if let value = change.warning { result.warning = value }
                if let value = change.critical { result.critical = value }
                if let value = change.forSeconds { result.forSeconds = value }
                if let value = change.weight { result.weight = value }
            }
            return result
        }
    }
}
