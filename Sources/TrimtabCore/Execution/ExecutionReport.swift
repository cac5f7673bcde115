/// What became of one planned action on the cluster.
public struct ActionOutcome: Sendable, Equatable, Codable {
    public enum Result: String, Sendable, Codable {
        /// Dry-run: the API server accepted the change with `dryRun=All`.
        case wouldApply = "would-apply"
        /// Dry-run: the API server refused it (403, 422…).
        case wouldBeRejected = "would-be-rejected"
        /// Written, journaled and annotated.
        case applied
        /// The cluster refused it; nothing changed.
        case rejected
        /// The object changed under Trimtab (409, or a value other than the plan's); nothing was overwritten.
        case conflict
        /// Not tried: the plan held it, or an earlier error stopped the cycle, or it was already journaled.
        case skipped
        /// The write's fate is unknown (a timeout); the journal entry stays begun and the next run resolves it.
        case uncertain
        /// A GitOps tool manages the object: the change was written as a patch for Git, not to the
        /// cluster (journaled `awaiting-git` in enforce mode).
        case forGit = "for-git"
    }

    public var actionID: String
    public var target: TargetID
    public var knob: Knob
    public var result: Result
    /// The journal entry, when one was written.
    public var journalID: String?
    public var detail: String

    public init(actionID: String, target: TargetID, knob: Knob, result: Result, journalID: String? = nil, detail: String) {
        self.actionID = actionID
        self.target = target
        self.knob = knob
        self.result = result
        self.journalID = journalID
        self.detail = detail
    }
}

/// What happened to an earlier change this cycle: recovered after a restart, verified, or rolled back.
public struct JournalEvent: Sendable, Equatable, Codable {
    public var journalID: String
    public var target: TargetID
    public var knob: Knob
    /// The state the entry is in afterwards.
    public var state: JournalState
    public var detail: String

    public init(journalID: String, target: TargetID, knob: Knob, state: JournalState, detail: String) {
        self.journalID = journalID
        self.target = target
        self.knob = knob
        self.state = state
        self.detail = detail
    }
}

/// The cluster side of one cycle: what the plan's actions came to, and what happened to earlier changes.
public struct ExecutionReport: Sendable, Equatable, Codable {
    public var mode: PolicyMode
    /// The API server, without credentials.
    public var cluster: String
    public var outcomes: [ActionOutcome]
    public var journal: [JournalEvent]
    /// Cluster facts the plan used, in words ("shop/inventory: HorizontalPodAutoscaler inventory owns its replicas").
    public var notes: [String]
    /// What went wrong on the cluster side: reading it, the journal, a refused change.
    public var errors: [String]

    public init(mode: PolicyMode, cluster: String, outcomes: [ActionOutcome] = [], journal: [JournalEvent] = [], notes: [String] = [],
                errors: [String] = []) {
        self.mode = mode
        self.cluster = cluster
        self.outcomes = outcomes
        self.journal = journal
        self.notes = notes
        self.errors = errors
    }
}

/// The Markdown section for an execution report.
enum ExecutionMarkdown {
    static func render(_ execution: ExecutionReport) -> [String] {
        var out = ["## Changes on the cluster", ""]
        out.append("Cluster \(execution.cluster), mode **\(execution.mode.rawValue)**"
                   + (execution.mode == .dryRun ? ": each proposed change was sent with `dryRun=All`, so the API server judged it and stored nothing." : ": proposed changes were journaled, then applied."))
        out.append("")
        for error in execution.errors { out.append("⛔ \(Formatting.cell(error))") }
        if !execution.errors.isEmpty { out.append("") }
        if execution.outcomes.isEmpty {
            out.append("No change was proposed.")
            out.append("")
        } else {
            out.append("| Target | Knob | Result | Journal | Detail |")
            out.append("| --- | --- | --- | --- | --- |")
            for outcome in execution.outcomes {
                out.append("| \(Formatting.cell(outcome.target.description)) | \(Formatting.cell(outcome.knob.description)) | \(symbol(outcome.result)) \(outcome.result.rawValue) | \(outcome.journalID.map { "`\($0)`" } ?? "") | \(Formatting.cell(outcome.detail)) |")
            }
            out.append("")
        }
        if !execution.journal.isEmpty {
            out.append("Earlier changes this cycle (verification, rollback, recovery):")
            out.append("")
            for event in execution.journal {
                out.append("- `\(event.journalID)` \(event.target) \(event.knob): **\(event.state.rawValue)**, \(event.detail)")
            }
            out.append("")
        }
        if !execution.notes.isEmpty {
            for note in execution.notes { out.append("- \(note)") }
            out.append("")
        }
        return out
    }

    static func symbol(_ result: ActionOutcome.Result) -> String {
        switch result {
        case .wouldApply, .applied: return "✅"
        case .wouldBeRejected, .rejected: return "⛔"
        case .conflict, .uncertain: return "⚠️"
        case .skipped: return "⏸"
        case .forGit: return "📝"
        }
    }
}
