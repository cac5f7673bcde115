/// Which journal entries may go. A journal that keeps every entry grows without end, and every cycle
/// reads all of it; yet most entries stop mattering once they are closed and old. An entry is kept
/// while any of these holds:
///
/// - it is open (begun, applied, rolling back), waits in Git, or its annotation and Event are unwritten;
/// - it is the latest entry of its target and knob: that one says what the knob should hold (a value
///   that lives in the pods is set again from it) and when it last changed;
/// - it was last changed within the retention, or within what the planner looks back (the rate
///   limit's hour, the cooldown, the hold after a rollback, the GitOps cooldown), whichever is longer.
public enum JournalRetention {
    /// The retention when a policy names none: two weeks of closed changes to read back.
    public static let defaultSeconds: Double = 14 * 86_400
    /// The shortest retention a policy may set: a day, so a night's changes are there in the morning.
    public static let minimumSeconds: Double = 86_400

    /// How far back the planner reads the journal under `safety`: entries younger than this are
    /// never dropped, whatever the retention.
    public static func plannerLookbackSeconds(_ safety: SafetySettings) -> Double {
        max(3600, 4 * safety.cooldownSeconds, safety.gitOps.cooldownSeconds, safety.verifyAfterSeconds)
    }

    /// The ids of the entries that may be dropped at evaluation time `time`, oldest first.
    public static func expired(_ entries: [JournalEntry], at time: Double, keepSeconds: Double) -> [String] {
        let latest = latestIDs(entries)
        return entries
            .filter { !mustKeep($0, latest: latest) && $0.updatedAt < time - keepSeconds }
            .sorted { ($0.updatedAt, $0.id) < ($1.updatedAt, $1.id) }
            .map(\.id)
    }

    /// Whether `entry` stays whatever its age or the room it takes (a size-bounded journal drops
    /// others first): open, waiting in Git, unrecorded, or the latest of its target and knob.
    public static func mustKeep(_ entry: JournalEntry, latest: Set<String>) -> Bool {
        entry.state.isOpen || entry.state == .awaitingGit || entry.needsRecording || latest.contains(entry.id)
    }

    /// The id of the latest entry (by creation) of each target and knob.
    public static func latestIDs(_ entries: [JournalEntry]) -> Set<String> { Set(latest(entries).map(\.id)) }

    /// The latest entry (by creation, then id) of each target and knob, in the order of their ids:
    /// what each knob should hold, as the journal last said.
    public static func latest(_ entries: [JournalEntry]) -> [JournalEntry] {
        var latest: [String: JournalEntry] = [:]
        for entry in entries {
            let key = "\(entry.target)|\(entry.knob)"
            if let seen = latest[key], (seen.createdAt, seen.id) > (entry.createdAt, entry.id) { continue }
            latest[key] = entry
        }
        return latest.values.sorted { $0.id < $1.id }
    }
}
