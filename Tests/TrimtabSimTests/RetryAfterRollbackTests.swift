import Testing
@testable import TrimtabCore

/// The planner's "after a rollback" rule, found by the control benchmark: a change verification rolled
/// back was retried every cooldown, flapping its knob all day.
struct RetryAfterRollbackTests {
    let policy: Policy
    let target = TargetID(labelNames: ["namespace", "workload"], labelValues: ["shop", "web"])
    let knob = Knob.env(name: "CACHE_TTL_SECONDS", container: nil)

    init() throws {
        policy = try PolicyLoader.load(text: """
        apiVersion: trimtab/v1
        kind: Policy
        metadata: {name: t}
        spec:
          targets: {groupBy: [namespace, workload]}
          indicators:
            hits: {query: 'sum by ($by) (x{$selector})', unit: ratio}
          checks:
            hits: {worse: lower, warning: 0.8, critical: 0.5, for: 5m}
          safety: {cooldown: 10m}
        """, file: "t.yaml")
    }

    func draft(_ current: Double, _ proposed: Double) -> Planner.Draft {
        Planner.Draft(action: "cacheTTL", knob: knob, current: current, proposed: proposed, reason: "", trigger: "hits", evidence: [], rules: [], benefit: 1)
    }

    @Test func aRolledBackChangeIsNotRetriedInItsDirectionForAnHour() {
        // 60 → 120 was applied, then rolled back (120 → 60) at t = 1000.
        let history = [ChangeRecord(target: target, knob: knob, time: 400, from: 60, to: 120),
                       ChangeRecord(target: target, knob: knob, time: 1000, from: 120, to: 60, rolledBack: "cache hits did not improve")]
        #expect(Planner.retryAfterRollbackSeconds(policy) == 3600)
        let held = Planner.retryHold(target: target, draft: draft(60, 120), time: 1000 + 1800, policy: policy, history: history)
        #expect(held?.passed == false)
        #expect(held?.detail.contains("was rolled back 30m ago (cache hits did not improve)") == true)
        // The other direction, another knob, another target, or an hour later: not held.
        #expect(Planner.retryHold(target: target, draft: draft(60, 30), time: 2800, policy: policy, history: history) == nil)
        #expect(Planner.retryHold(target: target, draft: draft(60, 120), time: 1000 + 3601, policy: policy, history: history) == nil)
        let other = TargetID(labelNames: ["namespace", "workload"], labelValues: ["shop", "api"])
        #expect(Planner.retryHold(target: other, draft: draft(60, 120), time: 2800, policy: policy, history: history) == nil)
        // A change that was not a rollback holds nothing (the cooldown deals with it).
        #expect(Planner.retryHold(target: target, draft: draft(60, 120), time: 2800, policy: policy, history: [history[0]]) == nil)
    }

    @Test func theJournalSaysWhichChangesWereRollbacks() {
        var entry = JournalEntry(id: "c1", actionID: "a", target: target, workload: WorkloadRef(kind: "Deployment", namespace: "shop", name: "web"),
                                 action: "cacheTTL", knob: knob, before: "60", after: "120", reason: "r", evidence: [],
                                 baseline: .of(nil, trigger: "hits"), state: .begun, createdAt: 100, verifyAfterSeconds: 900, rollbackIfScoreDropsBy: 10)
        entry.move(to: .applied, at: 100, note: "applied")
        #expect(entry.changeRecords.map(\.rolledBack) == [nil])
        // Until it is judged, the planner sees when its verification is due.
        #expect(entry.changeRecords.map(\.verificationDue) == [1000])
        entry.move(to: .rolledBack, at: 1000, note: "restored 60 (verification: no better)")
        #expect(entry.changeRecords.count == 2)
        #expect(entry.changeRecords[1].rolledBack?.contains("restored 60 (verification: no better)") == true)
        #expect(entry.changeRecords[1].from == 120 && entry.changeRecords[1].to == 60 && entry.changeRecords[1].time == 1000)
        #expect(entry.changeRecords.map(\.verificationDue) == [nil, nil])
    }
}
