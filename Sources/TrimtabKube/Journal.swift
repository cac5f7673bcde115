import Foundation
import TrimtabCore
import TrimtabCycle

/// A journal in a directory: one JSON file per entry, written to a temporary file, flushed to disk
/// and renamed over the old one, so a crash leaves either the old entry or the new, never half of one.
///
/// A cycle reads the journal several times (recovery, live values, verification, the plan), so entries
/// are kept decoded in memory, each under its file's inode, size and modification time: a file is read
/// and decoded again only when it changed, by this process or another (a save renames a new file into
/// place, so a new inode). Copies of a `FileJournal` share what they have decoded.
public struct FileJournal: JournalStore {
    public let directory: String
    /// The wall clock of each entry's `updatedWallClock` stamp.
    public let clock: any TimeSource
    let decoded: DecodedEntries

    public init(directory: String, clock: any TimeSource = SystemClock()) {
        self.directory = directory
        self.clock = clock
        decoded = DecodedEntries()
    }

    /// The entries decoded so far, by file name, with the identity of the file each came from.
    final class DecodedEntries: @unchecked Sendable {
        // @unchecked: `entries` is only touched under `lock`.
        struct FileIdentity: Equatable {
            var inode: UInt64
            var size: Int64
            var modified: Int64
            var modifiedNanoseconds: Int64
        }
        private let lock = NSLock()
        private var entries: [String: (FileIdentity, JournalEntry)] = [:]

        func entry(_ name: String, _ identity: FileIdentity) -> JournalEntry? {
            lock.lock()
            defer { lock.unlock() }
            guard let (kept, entry) = entries[name], kept == identity else { return nil }
            return entry
        }

        func keep(_ name: String, _ identity: FileIdentity, _ entry: JournalEntry) {
            lock.lock()
            entries[name] = (identity, entry)
            lock.unlock()
        }

        /// Forgets the files no longer in the directory.
        func retain(_ names: Set<String>) {
            lock.lock()
            entries = entries.filter { names.contains($0.key) }
            lock.unlock()
        }
    }

    static func identity(of path: String) -> DecodedEntries.FileIdentity? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return .init(inode: UInt64(info.st_ino), size: Int64(info.st_size),
                     modified: Int64(info.st_mtim.tv_sec), modifiedNanoseconds: Int64(info.st_mtim.tv_nsec))
    }

    public var location: String { "journal \(directory)" }

    public func entries() throws(JournalError) -> [JournalEntry] {
        let manager = FileManager.default
        guard manager.fileExists(atPath: directory) else { return [] }
        let names: [String]
        do {
            names = try manager.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".json") }.sorted()
        } catch {
            throw JournalError(description: "could not list the journal \(directory): \(error.localizedDescription)")
        }
        let decoder = JSONDecoder()
        var result: [JournalEntry] = []
        for name in names {
            let path = (directory as NSString).appendingPathComponent(name)
            let identity = Self.identity(of: path)
            if let identity, let entry = decoded.entry(name, identity) {
                result.append(entry)
                continue
            }
            guard let data = manager.contents(atPath: path) else {
                throw JournalError(description: "could not read the journal entry \(path)")
            }
            do {
                let entry = try decoder.decode(JournalEntry.self, from: data)
                // Kept only when the file is the one stat saw (not replaced between the two).
                if let identity, Self.identity(of: path) == identity { decoded.keep(name, identity, entry) }
                result.append(entry)
            } catch {
                throw JournalError(description: "the journal entry \(path) is not valid (\(error)); move it aside to go on, after checking what it recorded")
            }
        }
        decoded.retain(Set(names))
        return result.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    public func save(_ entry: JournalEntry) throws(JournalError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let path = (directory as NSString).appendingPathComponent("\(entry.id).json")
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let data = try encoder.encode(entry.stamped(wallClock: clock.now().rounded(.down)))
            try Self.writeDurably(data, to: path)
        } catch {
            throw JournalError(description: "could not write the journal entry \(path): \(error.localizedDescription); no change is made without it")
        }
    }

    public func remove(_ ids: [String]) throws(JournalError) {
        guard !ids.isEmpty else { return }
        for id in ids {
            let path = (directory as NSString).appendingPathComponent("\(id).json")
            if unlink(path) != 0, errno != ENOENT {
                throw JournalError(description: "could not remove the journal entry \(path): \(String(cString: strerror(errno)))")
            }
        }
        Self.syncDirectory(directory)
    }

    /// Writes a temporary file, fsyncs it, renames it into place and fsyncs the directory.
    static func writeDurably(_ data: Data, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        var failure: Int32 = 0
        data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { failure = errno; return }
                offset += written
            }
        }
        if failure == 0, fsync(fd) != 0 { failure = errno }
        close(fd)
        if failure != 0 {
            unlink(temporary)
            throw POSIXError(POSIXErrorCode(rawValue: failure) ?? .EIO)
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
        syncDirectory((path as NSString).deletingLastPathComponent)
    }

    /// Flushes a directory's entries (names created, renamed or removed) to disk.
    static func syncDirectory(_ path: String) {
        let directory = open(path, O_RDONLY)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }
}
