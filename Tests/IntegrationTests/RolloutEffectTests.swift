import Foundation
import Testing
import TrimtabCore
import TrimtabCycle
import TrimtabKube
import TrimtabKubeSandbox

/// A change that rolls the pods counts from when its rollout completed: verification waits for it,
/// and a rollout that never completes is called not effective and restored.
@Suite("Verification from when a change took effect")
struct RolloutEffectTests {
    static let ttl = Knob.env(name: "CACHE_TTL_SECONDS", container: nil)

    static func stick(_ cluster: ClusterFixture, _ stuck: Bool) throws {
        try cluster.sandbox.mutate(apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "api") { object in
            object[path: ["metadata", "annotations", "sandbox.trimtab.io/rollout-stuck"]] = stuck ? "true" : nil
        }
    }

    @Test func aRolloutAlreadyCompleteCountsFromTheWrite() async throws {
        let cluster = try await ClusterFixture.start()
        defer { Task { await cluster.stop() } }
        let executor = cluster.executor()
        _ = try await executor.execute(onePlan(Self.ttl, from: 60, to: 120), assessment: assessment(score: 50), mode: .enforce, time: 1_000_000)
        let entry = try #require(try cluster.journal.entries().first)
        #expect(entry.effectiveAt == 1_000_000)
        // Replicas take effect as written: no rollout to wait for.
        #expect(Knob.replicas.rollsPods == false && Self.ttl.rollsPods && Knob.configMap(name: "c", key: "k", restart: true).rollsPods)
    }

    @Test func verificationWaitsForTheRolloutAndCountsFromItsEnd() async throws {
        let cluster = try await ClusterFixture.start()
        defer { Task { await cluster.stop() } }
        try Self.stick(cluster, true)
        let executor = cluster.executor()
        _ = try await executor.execute(onePlan(Self.ttl, from: 60, to: 120), assessment: assessment(score: 50), mode: .enforce, time: 1_000_000)
        #expect(try cluster.journal.entries().first?.effectiveAt == nil)
        // Past the verification window, but the rollout is under way: not judged, however bad the score.
        let waiting = try await executor.verify(assessment(score: 10), time: 1_000_400)
        #expect(waiting.map(\.detail) == ["not judged yet: its rollout is under way (0 of 4 pods run the change)"], "\(waiting)")
        #expect(cluster.value(Self.ttl) == "120")
        // The rollout completes: the change is in effect from now, and judged a window later.
        try Self.stick(cluster, false)
        let effect = try await executor.verify(assessment(score: 10), time: 1_000_500)
        #expect(effect.map(\.detail) == ["took effect: all 4 pods run the change and are available"], "\(effect)")
        #expect(try cluster.journal.entries().first?.effectiveAt == 1_000_500)
        #expect(try await executor.verify(assessment(score: 10), time: 1_000_700).isEmpty)
        let judged = try await executor.verify(assessment(score: 10), time: 1_000_800)
        #expect(judged.map(\.state) == [.rolledBack])
        #expect(cluster.value(Self.ttl) == "60")
    }

    @Test func aRolloutThatNeverCompletesIsNotEffectiveAndRestored() async throws {
        let cluster = try await ClusterFixture.start()
        defer { Task { await cluster.stop() } }
        try Self.stick(cluster, true)
        let executor = cluster.executor()
        _ = try await executor.execute(onePlan(Self.ttl, from: 60, to: 120), assessment: assessment(score: 50), mode: .enforce, time: 1_000_000)
        _ = try await executor.verify(assessment(score: 80), time: 1_000_300)
        // Ten minutes on (Kubernetes' progress deadline), still no pod runs it: restored, whatever the score.
        let events = try await executor.verify(assessment(score: 80), time: 1_000_600)
        #expect(events.map(\.state) == [.notEffective], "\(events)")
        #expect(cluster.value(Self.ttl) == "60")
        let entry = try #require(try cluster.journal.entries().first)
        #expect(entry.notes.contains { $0.contains("not effective: after 10m, 0 of 4 pods run the change") }, "\(entry.notes)")
        // The journal agrees with the cluster: the entry says not effective, the object holds the old value.
        #expect(entry.state == .notEffective && entry.before == cluster.value(Self.ttl))
        // Reported where people look, and not retried blindly: the planner's history holds the restore.
        #expect(entry.recorded == true)
        #expect(cluster.events.contains { $0["reason"]?.stringValue == "TrimtabRolledBack" && $0["type"]?.stringValue == "Warning" })
        #expect(entry.changeRecords.last?.rolledBack?.contains("not effective") == true, "\(entry.changeRecords)")
    }

    /// A crash between the write-ahead of the restore and its write: recovery finishes the restore and
    /// the entry still ends `not-effective`, not as an ordinary rollback.
    @Test func aRestoreOfAChangeNeverInEffectFinishedAfterACrashStaysNotEffective() async throws {
        let cluster = try await ClusterFixture.start()
        defer { Task { await cluster.stop() } }
        try Self.stick(cluster, true)
        _ = try await cluster.executor().execute(onePlan(Self.ttl, from: 60, to: 120), assessment: assessment(score: 50), mode: .enforce, time: 1_000_000)
        var entry = try #require(try cluster.journal.entries().first)
        entry.move(to: .rollingBack, at: 1_000_600, note: "not effective: after 10m, 0 of 4 pods run the change")
        entry.restoresAs = .notEffective
        try cluster.journal.save(entry)
        let recovery = try await cluster.executor().recover(time: 1_000_700)
        #expect(recovery.events.map(\.detail) == ["the rollback was finished after a restart"], "\(recovery.events)")
        #expect(try cluster.journal.entries().first?.state == .notEffective)
        #expect(cluster.value(Self.ttl) == "60")
    }

    @Test func aStatusThatCannotBeReadJudgesNothingAndAFaultLeavesTheJournalAgreeing() async throws {
        let cluster = try await ClusterFixture.start()
        defer { Task { await cluster.stop() } }
        try Self.stick(cluster, true)
        let executor = cluster.executor()
        _ = try await executor.execute(onePlan(Self.ttl, from: 60, to: 120), assessment: assessment(score: 50), mode: .enforce, time: 1_000_000)
        try Self.stick(cluster, false)
        // The API server fails every read of the workload (past the client's retries).
        cluster.sandbox.inject(Fault(method: "GET", pathContaining: "/deployments/api", .status(503), count: 20))
        let failing = try await executor.verify(assessment(score: 10), time: 1_000_400)
        #expect(failing.count == 1 && failing[0].detail.hasPrefix("not judged yet: its rollout could not be read"), "\(failing)")
        #expect(try cluster.journal.entries().first?.state == .applied)
        // A clean run after the fault: the rollout is seen complete, and the journal agrees with the object.
        cluster.sandbox.clearFaults()
        let clean = try await executor.verify(assessment(score: 10), time: 1_000_500)
        #expect(clean.map(\.detail) == ["took effect: all 4 pods run the change and are available"])
        let entry = try #require(try cluster.journal.entries().first)
        #expect(entry.state == .applied && entry.effectiveAt == 1_000_500 && cluster.value(Self.ttl) == entry.after)
    }
}
