/// A value as written, with where it was written.
struct Located<Value: Sendable>: Sendable {
    var value: Value
    var location: SourceLocation
}

/// A threshold as written: a plain number, a percentage (`5%`) or a duration (`500ms`).
struct ThresholdLiteral: Sendable {
    enum Form: Sendable { case number, percent, duration }
    var value: Double
    var form: Form
}

/// One policy file as read, before it is merged with the others and validated as a whole.
/// Every field is optional: a later file only states what it changes.
struct PolicyFragment: Sendable {
    struct IndicatorFragment: Sendable {
        var name: String
        var location: SourceLocation
        var query: Located<String>?
        var queryLocation: QueryLocation?
        var unit: IndicatorUnit?
        var description: String?
        var kind: IndicatorKind?
    }

    struct CheckFragment: Sendable {
        var name: String
        var location: SourceLocation
        var indicator: Located<String>?
        var worse: Direction?
        var warning: Located<ThresholdLiteral>?
        var critical: Located<ThresholdLiteral>?
        var forSeconds: Double?
        var weight: Double?
        var key: Bool?
        var description: String?
        var minEvidence: (indicator: Located<String>, atLeast: Double)?
    }

    struct OverrideFragment: Sendable {
        var location: SourceLocation
        var match: [String: String]
        var checks: [(name: Located<String>, warning: Located<ThresholdLiteral>?, critical: Located<ThresholdLiteral>?,
                      forSeconds: Double?, weight: Double?, enabled: Bool?)]
    }

    struct ActionFragment: Sendable {
        var location: SourceLocation
        var bottleneck: Located<String>
        var and: [Located<String>]
        var unless: [Located<String>]
        var action: ActionKind
        /// The indicators the action reads, where each was named (or the action, for defaults).
        var indicators: [Located<String>]
        /// The checks the action reads (a cache rule's memory check).
        var checks: [Located<String>]
    }

    struct ObjectiveFragment: Sendable {
        var name: String
        var location: SourceLocation
        var kind: Objective.Kind?
        var target: Located<ThresholdLiteral>?
        var windowSeconds: Located<Double>?
        var good: Located<String>?
        var goodLocation: QueryLocation?
        var total: Located<String>?
        var totalLocation: QueryLocation?
        var description: String?
    }

    struct DatabaseFragment: Sendable {
        var database: SharedDatabase
        /// Where the indicator its limit is read from was named.
        var limitIndicator: Located<String>?
    }

    var file: String
    var name: String?
    var mode: PolicyMode?
    var paused: Bool?
    /// The targets' namespaces as this file states them (`namespace:` or `namespaces:`).
    var namespaces: NamespaceChoice?
    /// Where `spec.targets` was written (for an error about two policies' targets).
    var targetsLocation: SourceLocation?
    var kind: String?
    var matchLabels: [String: String]?
    var groupBy: Located<[String]>?
    var stepSeconds: Double?
    var lookbackSeconds: Double?
    var delaySeconds: Double?
    var intervalSeconds: Double?
    var minCoverage: Double?
    var regressionPercent: Double?
    var indicators: [IndicatorFragment] = []
    var checks: [CheckFragment] = []
    var overrides: [OverrideFragment] = []
    var actions: [ActionFragment] = []
    var cooldownSeconds: Double?
    var maxChangesPerHour: Int?
    var freeze: Bool?
    var changeWindows: ChangeWindows?
    var gitOps: GitOpsSettings?
    var verifyAfterSeconds: Double?
    var journalRetentionSeconds: Double?
    var rollbackIfScoreDropsBy: Double?
    var minImprovement: Double?
    var notify: NotifySettings?
    var objectives: [ObjectiveFragment] = []
    var databases: [DatabaseFragment] = []
}

/// How a policy file names its targets' namespaces.
enum NamespaceChoice: Sendable, Equatable {
    case one(String)
    case list([String])
    case labels([String: String])
}
