import Foundation
import TrimtabCore
import TrimtabCycle

/// A journal kept in a ConfigMap in the cluster: one key per entry, the entry as JSON. Every save is
/// one merge patch conditional on the `resourceVersion` read, so two writers never lose each other's
/// entries; on a 409 it reads again and retries, a bounded number of times.
///
/// A ConfigMap holds at most 1 MiB: when a save would pass `maximumBytes`, the oldest closed entries
/// (verified, rolled back, not applied, superseded) are dropped in the same patch; open ones, those
/// waiting in Git and the latest of each target and knob never are (see `JournalRetention`).
public struct ConfigMapJournal: JournalStore {
    public let client: KubeClient
    public let namespace: String
    public let name: String
    /// The size the entries are kept under, below the API server's 1 MiB limit for a ConfigMap.
    public var maximumBytes: Int
    /// The wall clock of each entry's `updatedWallClock` stamp and of the journal's Lease.
    public let clock: any TimeSource

    public init(client: KubeClient, namespace: String, name: String, maximumBytes: Int = 900 * 1024, clock: any TimeSource = SystemClock()) {
        self.clock = clock
        self.client = client
        self.namespace = namespace
        self.name = name
        self.maximumBytes = maximumBytes
    }

    public var location: String { "ConfigMap \(namespace)/\(name)" }

    public func entries() async throws(JournalError) -> [JournalEntry] {
        guard let (object, _) = try await read() else { return [] }
        return try Self.decode(object.data ?? [:], location: location)
    }

    public func save(_ entry: JournalEntry) async throws(JournalError) {
        let text = try Self.encode(entry.stamped(wallClock: clock.now().rounded(.down)))
        try await retryingConflicts("write the journal entry \(entry.id) to", ifKubeFails: "; no change is made without it") {
            guard let (object, version) = try await read() else {
                try await create(entry.id, text)
                return
            }
            var data: [String: Any] = [entry.id: text]
            for id in try prune(object.data ?? [:], adding: entry.id, text) { data[id] = NSNull() }
            try await patch(data, version: version)
        }
    }

    public func remove(_ ids: [String]) async throws(JournalError) {
        guard !ids.isEmpty else { return }
        try await retryingConflicts("remove \(ids.count) journal entr\(ids.count == 1 ? "y" : "ies") from") {
            guard let (object, version) = try await read() else { return }
            let present = ids.filter { object.data?[$0] != nil }
            guard !present.isEmpty else { return }
            var data: [String: Any] = [:]
            for id in present { data[id] = NSNull() }
            try await patch(data, version: version)
        }
    }

    /// Runs `attempt` (which reads the ConfigMap afresh) until no other writer got in between: a
    /// conflict on the write, or a create that lost to another's, is tried again, five times at most.
    func retryingConflicts(_ doing: String, ifKubeFails consequence: String = "", _ attempt: () async throws -> Void) async throws(JournalError) {
        for _ in 1...5 {
            do {
                try await attempt()
                return
            } catch let error as KubeError where error.kind == .conflict || error.kind == .alreadyExists {
                continue
            } catch let error as KubeError {
                throw JournalError(description: "could not \(doing) \(location): \(error)\(consequence)")
            } catch let error as JournalError {
                throw error
            } catch {
                throw JournalError(description: "could not \(doing) \(location): \(error)")
            }
        }
        throw JournalError(description: "could not \(doing) \(location): it kept changing under Trimtab (5 conflicts in a row)")
    }

    /// A merge patch of `data` (a key set to null is removed), conditional on `version`.
    func patch(_ data: [String: Any], version: String) async throws(KubeError) {
        try await client.patch(.configMaps, namespace: namespace, name: name, .merge,
                               body: ["metadata": ["resourceVersion": version], "data": data], dryRun: false)
    }

    /// The ConfigMap and its resourceVersion, or nil when it does not exist yet.
    func read() async throws(JournalError) -> (ConfigMapObject, String)? {
        do {
            let object = try await client.get(ConfigMapObject.self, .configMaps, namespace: namespace, name: name)
            return (object, object.metadata.resourceVersion ?? "")
        } catch where error.kind == .notFound {
            return nil
        } catch {
            throw JournalError(description: "could not read the journal \(location): \(error)")
        }
    }

    func create(_ id: String, _ text: String) async throws(KubeError) {
        try await client.create(.configMaps, namespace: namespace, body: [
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": ["name": name, "namespace": namespace, "labels": ["app.kubernetes.io/name": "trimtab",
                                                                         "app.kubernetes.io/component": "journal"]],
            "data": [id: text],
        ])
    }

    /// The ids to drop so that the data, with `id` set to `text`, stays under `maximumBytes`: the
    /// oldest closed entries first.
    func prune(_ data: [String: String], adding id: String, _ text: String) throws(JournalError) -> [String] {
        var merged = data
        merged[id] = text
        var size = merged.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
        guard size > maximumBytes else { return [] }
        let all = try Self.decode(merged, location: location)
        let latest = JournalRetention.latestIDs(all)
        let closed = all.filter { !JournalRetention.mustKeep($0, latest: latest) && $0.id != id }
            .sorted { ($0.updatedAt, $0.id) < ($1.updatedAt, $1.id) }
        var dropped: [String] = []
        for entry in closed where size > maximumBytes {
            size -= entry.id.utf8.count + (merged[entry.id]?.utf8.count ?? 0)
            dropped.append(entry.id)
        }
        if size > maximumBytes {
            throw JournalError(description: "the journal \(location) is full of entries it must keep (\(size) bytes: open, waiting in Git, or the latest of their target and knob); resolve the open ones, or give it a larger maximum, before Trimtab changes more")
        }
        return dropped
    }

    static func encode(_ entry: JournalEntry) throws(JournalError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            return String(decoding: try encoder.encode(entry), as: UTF8.self)
        } catch {
            throw JournalError(description: "could not encode the journal entry \(entry.id): \(error)")
        }
    }

    static func decode(_ data: [String: String], location: String) throws(JournalError) -> [JournalEntry] {
        let decoder = JSONDecoder()
        var result: [JournalEntry] = []
        for (key, text) in data {
            do {
                result.append(try decoder.decode(JournalEntry.self, from: Data(text.utf8)))
            } catch {
                throw JournalError(description: "the journal entry \(key) in \(location) is not valid (\(error)); remove that key to go on, after checking what it recorded")
            }
        }
        return result.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }
}
