import Foundation
import Testing
import TrimtabCycle
@testable import TrimtabCore
import TrimtabKube

/// The file journal's retention through the executor: closed entries past the policy's retention are
/// removed from the directory, and what a cycle still needs stays.
@Suite("Journal retention on disk")
struct FileJournalRetentionTests {
    static let day = 86_400.0

    @Test func theExecutorPrunesClosedEntriesPastTheRetention() async throws {
        let cluster = try await ClusterFixture.start()
        let journal = cluster.journal
        func entry(_ id: String, _ state: JournalState, at time: Double, knob: Knob = .replicas) -> JournalEntry {
            ConfigMapJournalTests.entry(id, state: state, updatedAt: time, knob: knob)
        }
        try journal.save(entry("c00000001", .verified, at: 1 * Self.day))
        try journal.save(entry("c00000002", .rolledBack, at: 2 * Self.day))
        try journal.save(entry("c00000003", .verified, at: 3 * Self.day))   // the latest of the replicas
        try journal.save(entry("c00000004", .applied, at: 0.5 * Self.day, knob: .env(name: "DB_POOL_SIZE", container: nil)))  // open
        let executor = cluster.executor()
        #expect(try await executor.prune(time: 10 * Self.day) == nil)  // within the default 14 days
        let note = try await executor.prune(time: 30 * Self.day)
        #expect(note?.contains("2 closed journal entries last changed more than 14d ago were dropped") == true)
        let files = try FileManager.default.contentsOfDirectory(atPath: cluster.journalDirectory).sorted()
        #expect(files == ["c00000003.json", "c00000004.json"])
        #expect(try journal.entries().map(\.id) == ["c00000004", "c00000003"])
        try journal.remove(["c00000001"])  // already gone: no error
        await cluster.stop()
    }
}
