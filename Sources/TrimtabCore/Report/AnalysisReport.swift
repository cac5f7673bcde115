/// Facts about a run that the assessment itself does not hold, for the report.
public struct RunContext: Sendable, Equatable, Codable {
    /// The metrics source, with any credentials removed.
    public var source: String
    /// How many HTTP queries the run sent.
    public var queries: Int
    /// Seconds the run took to read its data.
    public var readSeconds: Double
    public var policyFiles: [String]
    public var mode: PolicyMode

    public init(source: String, queries: Int, readSeconds: Double, policyFiles: [String], mode: PolicyMode) {
        self.source = source
        self.queries = queries
        self.readSeconds = readSeconds
        self.policyFiles = policyFiles
        self.mode = mode
    }
}

/// The machine-readable report: a versioned document a later run can read back as a baseline.
public struct AnalysisReport: Sendable, Equatable, Codable {
    /// Bumped on any change that would break a reader of the previous version.
    public static let currentSchemaVersion = 1

    public var schemaVersion: Int
    public var kind: String
    public var generatedAt: String
    public var context: RunContext
    public var assessment: Assessment
    /// The changes the policy's actions call for (none when the policy has no actions).
    public var plan: Plan?
    /// What the plan came to on the cluster, when a cluster was given.
    public var execution: ExecutionReport?
    /// Each service-level objective per target, when the policy declares objectives.
    public var objectives: [ObjectiveStatus]?
    /// Each policy's outcome, when the cycle ran several teams' policies.
    public var policies: [PolicyOutcome]?

    public init(assessment: Assessment, context: RunContext, plan: Plan? = nil, execution: ExecutionReport? = nil) {
        schemaVersion = Self.currentSchemaVersion
        kind = "trimtab.analysis"
        generatedAt = Formatting.time(assessment.time)
        self.context = context
        self.assessment = assessment
        self.plan = plan
        self.execution = execution
    }
}
