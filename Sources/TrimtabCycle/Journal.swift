import Foundation
import TrimtabCore

/// Where journal entries are kept. Every save is whole or not at all.
public protocol JournalStore: Sendable {
    /// Where, for messages: "journal /var/lib/trimtab/journal", "ConfigMap trimtab/trimtab-journal".
    var location: String { get }
    func entries() async throws(JournalError) -> [JournalEntry]
    func save(_ entry: JournalEntry) async throws(JournalError)
    /// Drops the entries with these ids (those already gone are no error): all of them, or, on an
    /// error, possibly some. Only closed entries are removed (see `JournalRetention`), so a partial
    /// removal loses nothing a cycle needs.
    func remove(_ ids: [String]) async throws(JournalError)
}

extension JournalStore {
    public func entry(id: String) async throws(JournalError) -> JournalEntry? {
        try await entries().first { $0.id == id }
    }
}

public struct JournalError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(description: String) {
        self.description = description
    }
}

/// One writer at a time on a journal: a run that changes the cluster holds the lock for its whole
/// cycle, so two runs never act at once and never settle each other's entries.
public protocol JournalLock: Sendable {
    /// Takes the lock, or throws at once (never waits) saying who holds it.
    func acquire() async throws(JournalError)
    func release() async
}

/// The lock of a journal only one process can reach (in memory): nothing to exclude.
public struct NoLock: JournalLock {
    public init() {}
    public func acquire() async throws(JournalError) {}
    public func release() async {}
}

/// A journal held in memory, whole entries saved and read back as a store would: for the simulated
/// cluster, which lives no longer than its process, and for tests.
public final class MemoryJournal: JournalStore, @unchecked Sendable {
    // @unchecked: `saved` is only touched under `lock`.
    private let lock = NSLock()
    private var saved: [String: JournalEntry] = [:]
    private var order: [String] = []
    public let location: String

    public init(location: String = "journal in memory") {
        self.location = location
    }

    public func entries() throws(JournalError) -> [JournalEntry] {
        lock.lock()
        defer { lock.unlock() }
        return order.compactMap { saved[$0] }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    public func save(_ entry: JournalEntry) throws(JournalError) {
        lock.lock()
        if saved[entry.id] == nil { order.append(entry.id) }
        saved[entry.id] = entry
        lock.unlock()
    }

    public func remove(_ ids: [String]) throws(JournalError) {
        lock.lock()
        let gone = Set(ids)
        for id in gone { saved[id] = nil }
        order.removeAll { gone.contains($0) }
        lock.unlock()
    }
}

