import Testing
@testable import TrimtabCore

/// Which closed journal entries may go, and the policy's `spec.safety.journalRetention`.
@Suite struct JournalRetentionTests {
    static let day = 86_400.0

    static func entry(_ id: String, _ state: JournalState, created: Double, updated: Double? = nil,
                      knob: Knob = .replicas, name: String = "api") -> JournalEntry {
        var entry = JournalEntry(id: id, actionID: "\(id)@\(created)", target: TargetID(labelNames: ["namespace", "deployment"], labelValues: ["shop", name]),
                                 workload: WorkloadRef(kind: "Deployment", namespace: "shop", name: name), action: "scale", knob: knob,
                                 before: "2", after: "3", reason: "r", evidence: [], baseline: .of(nil, trigger: ""), state: state,
                                 createdAt: created, verifyAfterSeconds: 300, rollbackIfScoreDropsBy: 10)
        entry.updatedAt = updated ?? created
        return entry
    }

    @Test func closedOldEntriesGoAndWhatACycleStillNeedsStays() {
        let now = 40 * Self.day
        var unrecorded = Self.entry("c06", .rolledBack, created: 2 * Self.day)
        unrecorded.recorded = false
        let entries = [
            Self.entry("c01", .verified, created: 1 * Self.day),                       // old, closed, superseded by c03: goes
            Self.entry("c02", .rolledBack, created: 3 * Self.day),                     // old, closed: goes
            Self.entry("c03", .verified, created: 5 * Self.day),                       // old, but the latest of api's replicas: stays
            Self.entry("c04", .applied, created: 0.5 * Self.day),                      // open: stays
            Self.entry("c05", .awaitingGit, created: 0.2 * Self.day, knob: .env(name: "DB_POOL_SIZE", container: nil)),  // waits in Git: stays
            unrecorded,                                                                // its Event is unwritten: stays
            Self.entry("c07", .verified, created: 4 * Self.day, updated: 30 * Self.day, knob: .env(name: "DB_POOL_SIZE", container: nil)),  // changed lately: stays
            Self.entry("c08", .superseded, created: 2 * Self.day, name: "web"),        // the latest of web's replicas: stays
            Self.entry("c09", .notApplied, created: 1.5 * Self.day, name: "web"),      // goes
        ]
        let expired = JournalRetention.expired(entries, at: now, keepSeconds: 14 * Self.day)
        #expect(expired == ["c01", "c09", "c02"])  // oldest last change first
        // A longer retention keeps more; with nothing older than it, nothing goes.
        #expect(JournalRetention.expired(entries, at: now, keepSeconds: 38.8 * Self.day) == ["c01"])
        #expect(JournalRetention.expired(entries, at: now, keepSeconds: 40 * Self.day).isEmpty)
        #expect(JournalRetention.latestIDs(entries) == ["c03", "c07", "c08"])
    }

    @Test func theRetentionNeverCutsWhatThePlannerReadsBack() {
        var safety = SafetySettings()
        #expect(JournalRetention.plannerLookbackSeconds(safety) == 86_400)  // the GitOps cooldown, a day
        safety.cooldownSeconds = 2 * Self.day
        #expect(JournalRetention.plannerLookbackSeconds(safety) == 8 * Self.day)  // the hold after a rollback: 4 cooldowns
        var policy = Policy(name: "p", indicators: [], checks: [])
        policy.safety = safety
        #expect(Planner.retryAfterRollbackSeconds(policy) == 8 * Self.day)
    }

    @Test func aPolicyNamesItsRetentionAndAShortOneIsAnError() throws {
        let safety = "\n  safety:\n    journalRetention: "
        #expect(try PolicyLoader.load(text: basePolicy, file: "p.yaml").safety.journalRetentionSeconds == 14 * Self.day)
        #expect(try PolicyLoader.load(text: basePolicy + safety + "30d\n", file: "p.yaml").safety.journalRetentionSeconds == 30 * Self.day)
        let found = diagnostics(basePolicy + safety + "12h\n")
        #expect(found.count == 1)
        #expect(found.first?.description.contains("p.yaml:19:23:") == true)
        #expect(found.first?.description.contains("spec.safety.journalRetention is at least 1d") == true)
    }
}
