import Foundation
import TrimtabCore
import TrimtabCycle

/// A journal in a directory: one JSON file per entry, written to a temporary file, flushed to disk
/// and renamed over the old one, so a crash leaves either the old entry or the new, never half of one.
public struct FileJournal: JournalStore {
    public let directory: String
    /// The wall clock of each entry's `updatedWallClock` stamp.
    public let clock: any TimeSource

    public init(directory: String, clock: any TimeSource = SystemClock()) {
        self.directory = directory
        self.clock = clock
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
            guard let data = manager.contents(atPath: path) else {
                throw JournalError(description: "could not read the journal entry \(path)")
            }
            do {
                result.append(try decoder.decode(JournalEntry.self, from: data))
            } catch {
                throw JournalError(description: "the journal entry \(path) is not valid (\(error)); move it aside to go on, after checking what it recorded")
            }
        }
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
