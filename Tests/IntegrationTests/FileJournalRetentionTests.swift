import Foundation
import Testing
import TrimtabCycle
@testable import TrimtabCore
import TrimtabKube

/// The file journal: its retention through the executor (closed entries past the policy's retention
/// are removed from the directory, what a cycle still needs stays), and the entries it keeps decoded.
@Suite("The journal on disk: retention, and what it keeps decoded")
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

    @Test func whatAnotherWriterOrAHandChangedIsReadAgain() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trimtab-journal-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = FileJournal(directory: directory), other = FileJournal(directory: directory)
        var entry = ConfigMapJournalTests.entry("c00000001", state: .applied)
        try daemon.save(entry)
        #expect(try daemon.entries().map(\.state) == [.applied])
        #expect(try daemon.entries().map(\.state) == [.applied])  // the second read from what was decoded
        // Another process (say `trimtab rollback`) saves the entry: a new file renamed over the old.
        entry.move(to: .verified, at: 2, note: "kept")
        try other.save(entry)
        #expect(try daemon.entries().map(\.state) == [.verified])
        // An operator edits it in place (the same inode): read again too.
        let path = (directory as NSString).appendingPathComponent("c00000001.json")
        let edited = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "\"verified\"", with: "\"superseded\"")
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data(edited.utf8))
        try handle.close()
        #expect(try daemon.entries().map(\.state) == [.superseded])
        // Removed by another: gone, and a broken file is still an error, not an old decoding.
        try other.remove(["c00000001"])
        #expect(try daemon.entries().isEmpty)
        try daemon.save(entry)
        _ = try daemon.entries()
        try Data("{broken".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: JournalError.self) { try daemon.entries() }
    }
}
