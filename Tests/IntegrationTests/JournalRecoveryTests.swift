import Foundation
import Testing
import TrimtabCycle
@testable import TrimtabCore
import TrimtabKube
import TrimtabKubeSandbox

struct SimulatedCrash: Error {}

/// A crash at each step of the journal, then a restart: the end state is consistent, and nothing is
/// applied twice.
@Suite("Journal: crashes at each step, restarts, faults")
struct JournalRecoveryTests {
    static let knobs: [Knob] = [.replicas, .configMap(name: "api-config", key: "DB_POOL_SIZE"), .env(name: "DB_POOL_SIZE", container: nil)]
    static func values(_ knob: Knob) -> (Double, Double) { knob == .replicas ? (4, 7) : (20, 28) }

    @Test(arguments: knobs)
    func aCrashAfterTheWriteAheadEntryEndsUnapplied(knob: Knob) async throws {
        let cluster = try await ClusterFixture.start()
        let (from, to) = Self.values(knob)
        let plan = onePlan(knob, from: from, to: to)
        let crashing = cluster.executor(hooks: .init(afterBegin: { _ in throw SimulatedCrash() }))
        await #expect(throws: JournalError.self) { try await crashing.execute(plan, assessment: assessment(), mode: .enforce, time: 1_000_000) }
        #expect(try cluster.journal.entries().map(\.state) == [.begun])
        #expect(cluster.value(knob) == KnobValue.text(from))

        // The restart: a new executor on the same journal.
        let restarted = cluster.executor()
        let events = try await restarted.recover(time: 1_000_010).events
        #expect(events.map(\.state) == [.notApplied])
        #expect(cluster.value(knob) == KnobValue.text(from))
        // The same plan again is not applied: its entry exists.
        let outcomes = try await restarted.execute(plan, assessment: assessment(), mode: .enforce, time: 1_000_010)
        #expect(outcomes.map(\.result) == [.skipped])
        #expect(cluster.value(knob) == KnobValue.text(from))
        // The one write is recovery's fence: an annotation that moves the object's resourceVersion on,
        // conditional on the one it read, so a write of the entry still in flight would get a 409.
        #expect(cluster.successfulWrites.count == 1)
        #expect(cluster.successfulWrites.allSatisfy { $0.body.contains("trimtab.io/fence") && $0.body.contains("resourceVersion") })
        await cluster.stop()
    }

    @Test(arguments: knobs)
    func aCrashAfterTheApplyIsFinishedOnRestartAndNotAppliedTwice(knob: Knob) async throws {
        let cluster = try await ClusterFixture.start()
        let (from, to) = Self.values(knob)
        let plan = onePlan(knob, from: from, to: to)
        let crashing = cluster.executor(hooks: .init(afterApply: { _ in throw SimulatedCrash() }))
        await #expect(throws: JournalError.self) { try await crashing.execute(plan, assessment: assessment(), mode: .enforce, time: 1_000_000) }
        #expect(try cluster.journal.entries().map(\.state) == [.begun])
        #expect(cluster.value(knob) == KnobValue.text(to))
        let writesBefore = cluster.successfulWrites.count
        #expect(writesBefore == 1)

        let restarted = cluster.executor()
        let events = try await restarted.recover(time: 1_000_010).events
        #expect(events.map(\.state) == [.applied])
        let entry = try #require(try cluster.journal.entries().first)
        #expect(entry.state == .applied && entry.appliedAt == 1_000_010)
        // Recovery records what the crash skipped: the annotation and the Event.
        #expect(cluster.deployment?[path: ["metadata", "annotations", KubeCluster.lastChangeAnnotation]] != nil)
        #expect(cluster.events.contains { $0["reason"]?.stringValue == "TrimtabChanged" })
        let outcomes = try await restarted.execute(plan, assessment: assessment(), mode: .enforce, time: 1_000_010)
        #expect(outcomes.map(\.result) == [.skipped])
        // Only the bookkeeping was written after the restart, never the knob again.
        let knobWrites = cluster.successfulWrites.filter { !$0.path.hasSuffix("/events") && !$0.body.contains(KubeCluster.lastChangeAnnotation) }
        #expect(knobWrites.count == 1)
        #expect(cluster.value(knob) == KnobValue.text(to))
        // And a second recovery finds nothing to do.
        #expect(try await restarted.recover(time: 1_000_020).events.isEmpty)
        await cluster.stop()
    }

    @Test func aCrashDuringRollbackIsFinishedOnRestart() async throws {
        let cluster = try await ClusterFixture.start()
        let executor = cluster.executor()
        _ = try await executor.execute(onePlan(.replicas, from: 4, to: 7), assessment: assessment(), mode: .enforce, time: 1_000_000)
        var entry = try #require(try cluster.journal.entries().first)
        // The rollback was journaled, then the process died before writing it.
        entry.move(to: .rollingBack, at: 1_000_100, note: "by hand")
        try cluster.journal.save(entry)
        let events = try await cluster.executor().recover(time: 1_000_110).events
        #expect(events.map(\.state) == [.rolledBack])
        #expect(cluster.value(.replicas) == "4")
        await cluster.stop()
    }

    @Test func aChangeSomeoneElseMadeMeanwhileIsLeftAlone() async throws {
        let cluster = try await ClusterFixture.start()
        let crashing = cluster.executor(hooks: .init(afterBegin: { _ in throw SimulatedCrash() }))
        _ = try? await crashing.execute(onePlan(.replicas, from: 4, to: 7), assessment: assessment(), mode: .enforce, time: 1_000_000)
        ActuatorTests.change(.replicas, to: "9", in: cluster.sandbox.store)
        let events = try await cluster.executor().recover(time: 1_000_010).events
        #expect(events.map(\.state) == [.superseded])
        #expect(cluster.value(.replicas) == "9")
        await cluster.stop()
    }

    @Test func forbiddenNamesTheMissingPermissionAndChangesNothing() async throws {
        let cluster = try await ClusterFixture.start(token: ClusterFixture.readOnlyToken)
        let dry = try await cluster.executor().execute(onePlan(.replicas, from: 4, to: 7), assessment: assessment(), mode: .dryRun, time: 1_000_000)
        #expect(dry.map(\.result) == [.wouldBeRejected])
        let message = dry[0].detail
        #expect(message.contains(#"User "system:serviceaccount:trimtab:trimtab" cannot update resource "deployments/scale" in API group "apps" in the namespace "shop""#), "\(message)")
        #expect(message.contains("missing verb 'update' on resource 'deployments/scale' in API group 'apps'"))
        #expect(!message.contains(ClusterFixture.readOnlyToken))

        let applied = try await cluster.executor().execute(onePlan(.replicas, from: 4, to: 7), assessment: assessment(), mode: .enforce, time: 1_000_000)
        #expect(applied.map(\.result) == [.rejected])
        #expect(try cluster.journal.entries().map(\.state) == [.notApplied])
        #expect(cluster.value(.replicas) == "4")
        await cluster.stop()
    }

    @Test func tooManyRequestsIsRetriedAfterRetryAfter() async throws {
        let cluster = try await ClusterFixture.start()
        cluster.sandbox.inject(.tooManyRequests(retryAfterSeconds: 1, method: "PUT", pathContaining: "/scale", count: 2))
        let clock = ContinuousClock()
        let started = clock.now
        let outcomes = try await cluster.executor().execute(onePlan(.replicas, from: 4, to: 7), assessment: assessment(), mode: .enforce, time: 1_000_000)
        #expect(outcomes.map(\.result) == [.applied])
        #expect(cluster.value(.replicas) == "7")
        #expect(cluster.sandbox.requests.filter { $0.method == "PUT" }.map(\.status) == [429, 429, 200])
        #expect(clock.now - started >= .seconds(2), "Retry-After: 1 was not honoured")
        await cluster.stop()
    }

    /// An Event that cannot be written is tried again by every recovery, and the entry keeps one note
    /// of the latest failure, not one per cycle.
    @Test func unwrittenEventsAreRetriedWithoutGrowingTheEntry() async throws {
        let cluster = try await ClusterFixture.start()
        cluster.sandbox.inject(Fault(method: "POST", pathContaining: "/events", .status(500), count: 3))
        _ = try await cluster.executor().execute(onePlan(.replicas, from: 4, to: 7), assessment: assessment(), mode: .enforce, time: 1_000_000)
        for time in [1_000_010.0, 1_000_020] { _ = try await cluster.executor().recover(time: time) }
        var entry = try #require(try cluster.journal.entries().first)
        #expect(entry.state == .applied && entry.recorded == false)
        #expect(entry.notes.filter { $0.contains("could not record an Event") }.count == 1, "\(entry.notes)")
        _ = try await cluster.executor().recover(time: 1_000_030)
        entry = try #require(try cluster.journal.entries().first)
        #expect(entry.recorded == true)
        #expect(!entry.notes.contains { $0.contains("could not record an Event") })
        #expect(cluster.events.filter { $0["reason"]?.stringValue == "TrimtabChanged" }.count == 1)
        await cluster.stop()
    }

    @Test func aServerErrorStopsTheCycle() async throws {
        let cluster = try await ClusterFixture.start()
        cluster.sandbox.inject(Fault(method: "PUT", pathContaining: "/scale", .status(500)))
        var plan = onePlan(.replicas, from: 4, to: 7)
        plan.actions += onePlan(.configMap(name: "api-config", key: "DB_POOL_SIZE"), from: 20, to: 28).actions
        let outcomes = try await cluster.executor().execute(plan, assessment: assessment(), mode: .enforce, time: 1_000_000)
        // A 500 says nothing about whether the write landed: the entry stays begun (uncertain) for
        // recovery to settle from the object, and nothing else is tried.
        #expect(outcomes.map(\.result) == [.uncertain, .skipped])
        #expect(try cluster.journal.entries().map(\.state) == [.begun])
        #expect(outcomes[1].detail.contains("the cluster API is failing"))
        #expect(cluster.value(.replicas) == "4" && cluster.value(.configMap(name: "api-config", key: "DB_POOL_SIZE")) == "20")
        await cluster.stop()
    }

    @Test func aDroppedConnectionLeavesTheEntryBegunUntilRecoveryResolvesIt() async throws {
        let cluster = try await ClusterFixture.start()
        cluster.sandbox.inject(Fault(method: "PUT", pathContaining: "/scale", .drop))
        let outcomes = try await cluster.executor().execute(onePlan(.replicas, from: 4, to: 7), assessment: assessment(), mode: .enforce, time: 1_000_000)
        #expect(outcomes.map(\.result) == [.uncertain])
        #expect(try cluster.journal.entries().map(\.state) == [.begun])
        let events = try await cluster.executor().recover(time: 1_000_010).events
        #expect(events.map(\.state) == [.notApplied])
        #expect(cluster.value(.replicas) == "4")
        await cluster.stop()
    }

    @Test func latencyIsWaitedOut() async throws {
        let cluster = try await ClusterFixture.start()
        cluster.sandbox.inject(Fault(method: "GET", pathContaining: "/scale", .latency(.milliseconds(300))))
        let outcomes = try await cluster.executor().execute(onePlan(.replicas, from: 4, to: 7), assessment: assessment(), mode: .enforce, time: 1_000_000)
        #expect(outcomes.map(\.result) == [.applied])
        await cluster.stop()
    }

    @Test func verificationKeepsWhatHelpedAndRollsBackWhatDidNot() async throws {
        let cluster = try await ClusterFixture.start()
        var plan = onePlan(.replicas, from: 4, to: 7)
        plan.actions += onePlan(.configMap(name: "api-config", key: "DB_POOL_SIZE"), from: 20, to: 28).actions
        let executor = cluster.executor()
        // The score was 50 at the change.
        let outcomes = try await executor.execute(plan, assessment: assessment(score: 50), mode: .enforce, time: 1_000_000)
        #expect(outcomes.map(\.result) == [.applied, .applied])
        // Before its window (the policy's verifyAfter, 5m) nothing is judged.
        #expect(try await executor.verify(assessment(score: 10), time: 1_000_100).isEmpty)
        #expect(cluster.value(.replicas) == "7")
        // After it, the score fell 40 points: both are rolled back, with the reason journaled.
        let events = try await executor.verify(assessment(score: 10), time: 1_000_400)
        #expect(events.map(\.state) == [.rolledBack, .rolledBack])
        #expect(cluster.value(.replicas) == "4" && cluster.value(.configMap(name: "api-config", key: "DB_POOL_SIZE")) == "20")
        let notes = try cluster.journal.entries().flatMap(\.notes).joined(separator: "\n")
        #expect(notes.contains("the health score of shop/api fell from 50.0 to 10.0"))
        await cluster.stop()
    }

    @Test func verificationKeepsAChangeThatHeld() async throws {
        let cluster = try await ClusterFixture.start()
        let executor = cluster.executor()
        _ = try await executor.execute(onePlan(.replicas, from: 4, to: 7), assessment: assessment(score: 50), mode: .enforce, time: 1_000_000)
        let events = try await executor.verify(assessment(score: 80), time: 1_000_400)
        #expect(events.map(\.state) == [.verified])
        #expect(cluster.value(.replicas) == "7")
        // A verified change can still be rolled back by hand.
        let entry = try #require(try cluster.journal.entries().first)
        _ = try await executor.rollback(entry, reason: "by hand", time: 1_000_500, force: false)
        #expect(cluster.value(.replicas) == "4")
        await cluster.stop()
    }

    @Test func aRollbackRefusesToOverwriteALaterChange() async throws {
        let cluster = try await ClusterFixture.start()
        let executor = cluster.executor()
        _ = try await executor.execute(onePlan(.replicas, from: 4, to: 7), assessment: assessment(), mode: .enforce, time: 1_000_000)
        ActuatorTests.change(.replicas, to: "10", in: cluster.sandbox.store)
        let entry = try #require(try cluster.journal.entries().first)
        do {
            _ = try await executor.rollback(entry, reason: "by hand", time: 1_000_100, force: false)
            Issue.record("overwrote a later change")
        } catch {
            #expect(error.description.contains("holds 10 for replicas, not the 7 change \(entry.id) set"))
        }
        #expect(cluster.value(.replicas) == "10")
        _ = try await executor.rollback(entry, reason: "by hand", time: 1_000_100, force: true)
        #expect(cluster.value(.replicas) == "4")
        await cluster.stop()
    }
}
