import Foundation
import Testing
import TrimtabCycle
@testable import TrimtabCore
@testable import TrimtabKube
import TrimtabKubeSandbox

/// The journal kept in a ConfigMap, against the sandbox API server.
@Suite("Journal in a ConfigMap")
struct ConfigMapJournalTests {
    static func entry(_ id: String, state: JournalState = .applied, updatedAt: Double = 1, knob: Knob = .replicas) -> JournalEntry {
        var entry = JournalEntry(id: id, actionID: "shop/api/replicas@\(id)", target: ClusterFixture.target,
                                 workload: WorkloadRef(kind: "Deployment", namespace: "shop", name: "api"), action: "scale",
                                 knob: knob, before: "4", after: "7", reason: String(repeating: "r", count: 200), evidence: [],
                                 baseline: .of(nil, trigger: ""), state: state, createdAt: updatedAt,
                                 verifyAfterSeconds: 300, rollbackIfScoreDropsBy: 10)
        entry.updatedAt = updatedAt
        return entry
    }

    func keys(_ cluster: ClusterFixture) -> [String] {
        (cluster.sandbox.object(apiVersion: "v1", kind: "ConfigMap", namespace: "trimtab", name: "journal")?["data"]?.objectValue ?? [:]).keys.sorted()
    }

    @Test func createsUpdatesAndReadsBack() async throws {
        let cluster = try await ClusterFixture.start()
        let journal = ConfigMapJournal(client: cluster.client, namespace: "trimtab", name: "journal")
        #expect(try await journal.entries().isEmpty)
        try await journal.save(Self.entry("c00000001", state: .begun))
        try await journal.save(Self.entry("c00000002"))
        var first = Self.entry("c00000001")
        first.move(to: .applied, at: 5, note: "done")
        try await journal.save(first)
        let entries = try await journal.entries()
        #expect(entries.map(\.id) == ["c00000001", "c00000002"])
        #expect(entries[0].state == .applied && entries[0].notes.count == 1)
        let object = try #require(cluster.sandbox.object(apiVersion: "v1", kind: "ConfigMap", namespace: "trimtab", name: "journal"))
        #expect(object[path: ["metadata", "labels", "app.kubernetes.io/component"]] == "journal")
        await cluster.stop()
    }

    @Test func aConcurrentWriterLosesNothing() async throws {
        let cluster = try await ClusterFixture.start()
        let journal = ConfigMapJournal(client: cluster.client, namespace: "trimtab", name: "journal")
        try await journal.save(Self.entry("c00000001"))
        // Another Trimtab replica writes its entry between this one's read and write.
        let other = try ConfigMapJournal.encode(Self.entry("c00000009"))
        cluster.sandbox.afterNextRequest(method: "GET", pathContaining: "/configmaps/journal") { store in
            _ = try? store.mutate(apiVersion: "v1", kind: "ConfigMap", namespace: "trimtab", name: "journal") {
                $0[path: ["data", "c00000009"]] = .string(other)
            }
        }
        try await journal.save(Self.entry("c00000002"))
        #expect(keys(cluster) == ["c00000001", "c00000002", "c00000009"])
        #expect(cluster.sandbox.requests.contains { $0.method == "PATCH" && $0.status == 409 })
        await cluster.stop()
    }

    @Test func theOldestClosedEntriesMakeRoomAndOpenOnesNeverDo() async throws {
        let cluster = try await ClusterFixture.start()
        var journal = ConfigMapJournal(client: cluster.client, namespace: "trimtab", name: "journal")
        // As stored: stamped with the wall clock (whole seconds, so every entry's stamp is as long).
        let size = try ConfigMapJournal.encode(Self.entry("c00000001").stamped(wallClock: 1_795_000_000)).utf8.count + 9
        journal.maximumBytes = size * 3 + 100  // room for three entries (their sizes differ by a few bytes), not four
        try await journal.save(Self.entry("c00000001", state: .verified, updatedAt: 10))
        try await journal.save(Self.entry("c00000002", state: .begun, updatedAt: 5))
        try await journal.save(Self.entry("c00000003", state: .rolledBack, updatedAt: 20))
        try await journal.save(Self.entry("c00000004", state: .applied, updatedAt: 30))
        // c00000001 is the oldest closed one; the begun c00000002 stays although it is older.
        #expect(keys(cluster) == ["c00000002", "c00000003", "c00000004"])
        journal.maximumBytes = size
        await #expect(throws: JournalError.self) { try await journal.save(Self.entry("c00000005", state: .begun, updatedAt: 40)) }
        await cluster.stop()
    }

    @Test func theLatestEntryOfAKnobStaysHoweverOldItIs() async throws {
        let cluster = try await ClusterFixture.start()
        var journal = ConfigMapJournal(client: cluster.client, namespace: "trimtab", name: "journal")
        let size = try ConfigMapJournal.encode(Self.entry("c00000001").stamped(wallClock: 1_795_000_000)).utf8.count + 9
        journal.maximumBytes = size * 3 + 100
        // The pool's only entry is the oldest: it says what the pool should hold, so it is not dropped for room.
        try await journal.save(Self.entry("c00000001", state: .verified, updatedAt: 1, knob: .env(name: "DB_POOL_SIZE", container: nil)))
        try await journal.save(Self.entry("c00000002", state: .verified, updatedAt: 10))
        try await journal.save(Self.entry("c00000003", state: .awaitingGit, updatedAt: 20))
        try await journal.save(Self.entry("c00000004", state: .verified, updatedAt: 30))
        #expect(keys(cluster) == ["c00000001", "c00000003", "c00000004"])
        await cluster.stop()
    }

    @Test func removesEntriesInOnePatchAndThoseAlreadyGoneAreNoError() async throws {
        let cluster = try await ClusterFixture.start()
        let journal = ConfigMapJournal(client: cluster.client, namespace: "trimtab", name: "journal")
        try await journal.remove(["c00000001"])  // no ConfigMap yet
        for id in ["c00000001", "c00000002", "c00000003"] { try await journal.save(Self.entry(id, state: .verified)) }
        let before = cluster.sandbox.requests.filter { $0.method == "PATCH" }.count
        try await journal.remove(["c00000001", "c00000003", "c0000000x"])
        #expect(keys(cluster) == ["c00000002"])
        #expect(cluster.sandbox.requests.filter { $0.method == "PATCH" }.count == before + 1)
        try await journal.remove(["c00000001"])
        #expect(cluster.sandbox.requests.filter { $0.method == "PATCH" }.count == before + 1)
        await cluster.stop()
    }

    @Test func aCrashAfterTheApplyIsRecoveredFromTheConfigMap() async throws {
        let cluster = try await ClusterFixture.start()
        let journal = ConfigMapJournal(client: cluster.client, namespace: "trimtab", name: "journal")
        let crashing = Executor(cluster: KubeCluster(client: cluster.client, http: cluster.http, journal: journal), policy: cluster.policy,
                                hooks: .init(afterApply: { _ in throw SimulatedCrash() }))
        await #expect(throws: JournalError.self) {
            try await crashing.execute(onePlan(.replicas, from: 4, to: 7), assessment: assessment(), mode: .enforce, time: 1_000_000)
        }
        #expect(try await journal.entries().map(\.state) == [.begun])
        let restarted = Executor(cluster: KubeCluster(client: cluster.client, http: cluster.http, journal: journal), policy: cluster.policy)
        #expect(try await restarted.recover(time: 1_000_010).events.map(\.state) == [.applied])
        #expect(cluster.value(.replicas) == "7")
        await cluster.stop()
    }

    @Test func anUnreadableEntryIsAClearError() async throws {
        let cluster = try await ClusterFixture.start(objects: ClusterFixture.seed() + [
            ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "journal", "namespace": "trimtab"], "data": ["c0000000x": "{not json"]],
        ])
        let journal = ConfigMapJournal(client: cluster.client, namespace: "trimtab", name: "journal")
        do {
            _ = try await journal.entries()
            Issue.record("read a broken entry")
        } catch {
            #expect(error.description.contains("the journal entry c0000000x in ConfigMap trimtab/journal is not valid"))
        }
        await cluster.stop()
    }
}
