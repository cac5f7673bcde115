import Foundation
import TrimtabCore

extension Executor {
    // MARK: Patches for Git

    /// A held action that carries a patch for Git: in enforce mode it is journaled `awaiting-git`
    /// (after a read that confirms the object still holds the value the plan was made from), so later
    /// cycles do not propose it again; in dry-run nothing is stored. Nothing is written to the object.
    func journalPatch(_ action: PlannedAction, patch: GitPatch, workload: WorkloadRef, mode: PolicyMode, time: Double,
                      id: String) async throws -> ActionOutcome {
        func outcome(_ result: ActionOutcome.Result, _ detail: String, journal: String? = nil) -> ActionOutcome {
            ActionOutcome(actionID: action.id, target: action.target, knob: action.knob, result: result, journalID: journal, detail: detail)
        }
        let actuator = try cluster.actuator(for: action.knob, of: workload)
        let reading = try await actuator.read()
        guard KnobValue.matches(reading.value, action.current) else {
            return outcome(.conflict, "\(workload) holds \(reading.value ?? "nothing") for \(action.knob), not the \(KnobValue.text(action.current)) the plan was made from; no patch kept, decided again next cycle")
        }
        let after = KnobValue.text(action.proposed)
        guard mode == .enforce else {
            return outcome(.forGit, "\(patch.object) is managed by \(patch.management.tool.rawValue): \(action.knob) \(reading.value ?? "nothing") → \(after) written as a patch for Git (\(patch.file)); with --apply it is journaled and not proposed again while it waits")
        }
        if let permit, let refusal = await permit() {
            return outcome(.skipped, "not tried: \(refusal)")
        }
        var entry = JournalEntry(id: id, actionID: action.id, target: action.target, workload: workload, action: action.action,
                                 knob: action.knob, before: reading.value, after: after, reason: action.reason,
                                 evidence: action.evidence, baseline: VerificationBaseline.of(nil, trigger: action.trigger),
                                 state: .awaitingGit, createdAt: time, verifyAfterSeconds: policy.safety.verifyAfterSeconds,
                                 rollbackIfScoreDropsBy: policy.safety.rollbackIfScoreDropsBy, minImprovement: policy.safety.minImprovement)
        entry.policy = policy.name
        entry.notes.append("\(Formatting.time(time)) awaiting-git: \(reading.value ?? "nothing") → \(after) written as a patch for Git (\(patch.file)); \(patch.object) is managed by \(patch.management)")
        try await journal.save(entry)
        return outcome(.forGit, "\(patch.object) is managed by \(patch.management.tool.rawValue): \(action.knob) \(reading.value ?? "nothing") → \(after) written as a patch for Git (\(patch.file)) and journaled; not proposed again until the object shows it or \(PolicyDuration.format(policy.safety.gitOps.cooldownSeconds)) pass", journal: id)
    }

    /// Settles the patches waiting in Git from what their objects hold: the patch's value is `carried`
    /// (the cooldown counts from now); a value that is neither the old nor the new one is `superseded`;
    /// a patch still waiting after the GitOps cooldown is `not-applied`, and may be proposed again. A
    /// failed read leaves the entry waiting; a failing cluster stops here.
    public func settlePatches(time: Double) async throws(JournalError) -> [JournalEvent] {
        var events: [JournalEvent] = []
        let cooldown = policy.safety.gitOps.cooldownSeconds
        for var entry in try await journal.entries() where entry.state == .awaitingGit {
            let observed: String?
            do {
                observed = try await actuator(for: entry).read().value
            } catch {
                events.append(event(entry, "still waits in Git; its object could not be read: \(error)"))
                if error.isClusterFailure { break }
                continue
            }
            if entry.holdsAfter(observed) {
                entry.move(to: .carried, at: time, note: "the object holds \(entry.after): Git carried the change")
                entry.appliedAt = time
                try await journal.save(entry)
                events.append(event(entry, "carried by Git: the object holds \(entry.after)"))
            } else if !entry.holdsBefore(observed) {
                entry.move(to: .superseded, at: time, note: "the object holds \(observed ?? "nothing"), neither \(entry.before ?? "nothing") nor \(entry.after): changed another way; the patch is dropped")
                try await journal.save(entry)
                events.append(event(entry, "superseded: the object holds \(observed ?? "nothing")"))
            } else if time - entry.createdAt >= cooldown {
                entry.move(to: .notApplied, at: time, note: "Git did not carry the patch within \(PolicyDuration.format(cooldown)); it may be proposed again")
                try await journal.save(entry)
                events.append(event(entry, "not carried by Git within \(PolicyDuration.format(cooldown))"))
            }
        }
        return events
    }
}
