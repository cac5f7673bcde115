import Foundation
import TrimtabCore
import TrimtabCycle
#if canImport(Glibc)
import Glibc
#endif

extension JournalStore {
    /// The lock that guards this journal: a file lock beside a directory journal, a Lease beside a
    /// ConfigMap journal.
    public func lock() -> any JournalLock {
        if let store = self as? ConfigMapJournal {
            return LeaseLock(client: store.client, namespace: store.namespace, name: "\(store.name)-lock", clock: store.clock)
        }
        if let store = self as? FileJournal { return FileLock(directory: store.directory, clock: store.clock) }
        return NoLock()
    }
}

/// An exclusive `flock` on `DIR/.lock`, which the kernel releases if the process dies. The file
/// says who holds it, for the message another run prints.
public final class FileLock: JournalLock, @unchecked Sendable {
    // @unchecked: the descriptor is only touched by acquire and release, which a run calls in turn.
    let path: String
    let clock: any TimeSource
    private var descriptor: Int32 = -1

    public init(directory: String, clock: any TimeSource = SystemClock()) {
        path = (directory as NSString).appendingPathComponent(".lock")
        self.clock = clock
    }

    public func acquire() async throws(JournalError) {
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw JournalError(description: "could not create the journal \(directory): \(error.localizedDescription)")
        }
        let fd = open(path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else { throw JournalError(description: "could not open the journal lock \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(fd)
            throw JournalError(description: "another Trimtab run holds the journal \(directory)\(holder.isEmpty ? "" : " (\(holder))"); two runs never act at once, so this one changes nothing")
        }
        let holder = "pid \(getpid()) on \(ProcessInfo.processInfo.hostName) since \(Formatting.time(clock.now().rounded(.down)))\n"
        _ = ftruncate(fd, 0)
        _ = holder.withCString { pwrite(fd, $0, strlen($0), 0) }
        descriptor = fd
    }

    public func release() async {
        guard descriptor >= 0 else { return }
        _ = ftruncate(descriptor, 0)
        _ = flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }
}

/// A `coordination.k8s.io/v1` Lease, as client-go's leader election holds one: taken when absent,
/// expired or already ours, every write conditional on the resourceVersion read; renewed while held;
/// given up on release.
public final class LeaseLock: JournalLock, @unchecked Sendable {
    // @unchecked: `renewal` is set by acquire and cleared by release, which a run calls in turn.
    let client: KubeClient
    let namespace: String
    let name: String
    /// Who we are in `holderIdentity`.
    public let identity: String
    public let durationSeconds: Int
    let clock: any TimeSource
    private var renewal: Task<Void, Never>?

    public init(client: KubeClient, namespace: String, name: String, durationSeconds: Int = 15,
                identity: String = "\(ProcessInfo.processInfo.hostName)-\(getpid())-\(UUID().uuidString.prefix(8).lowercased())",
                clock: any TimeSource = SystemClock()) {
        self.clock = clock
        self.client = client
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.durationSeconds = durationSeconds
    }

    struct LeaseObject: Decodable {
        struct Spec: Decodable {
            var holderIdentity: String?
            var leaseDurationSeconds: Int?
            var renewTime: String?
            var acquireTime: String?
            var leaseTransitions: Int?
        }
        var metadata: ObjectMeta
        var spec: Spec?
    }

    /// Creates a Lease held by `identity`; throws what the API server answered.
    static func create(client: KubeClient, namespace: String, name: String, identity: String, durationSeconds: Int, now: Double,
                       component: String) async throws(KubeError) {
        var spec: [String: Any] = [:]
        spec["holderIdentity"] = identity
        spec["leaseDurationSeconds"] = durationSeconds
        spec["renewTime"] = microTime(now)
        spec["acquireTime"] = microTime(now)
        spec["leaseTransitions"] = 0
        let labels: [String: String] = ["app.kubernetes.io/name": "trimtab", "app.kubernetes.io/component": component]
        let metadata: [String: Any] = ["name": name, "namespace": namespace, "labels": labels]
        var body: [String: Any] = ["apiVersion": "coordination.k8s.io/v1", "kind": "Lease"]
        body["metadata"] = metadata
        body["spec"] = spec
        _ = try await client.create(resource, namespace: namespace, body: body)
    }

    /// Gives a Lease up if `identity` still holds it, so the next holder need not wait for it to expire.
    static func giveUp(client: KubeClient, namespace: String, name: String, identity: String) async {
        guard let existing = try? await client.get(LeaseObject.self, resource, namespace: namespace, name: name),
              existing.spec?.holderIdentity == identity else { return }
        var metadata: [String: Any] = [:]
        if let version = existing.metadata.resourceVersion { metadata["resourceVersion"] = version }
        var spec: [String: Any] = [:]
        spec["holderIdentity"] = NSNull()
        spec["leaseDurationSeconds"] = 1
        _ = try? await client.patch(resource, namespace: namespace, name: name, .merge, body: ["metadata": metadata, "spec": spec], dryRun: false)
    }

    static let resource = KubeResource(group: "coordination.k8s.io", version: "v1", plural: "leases", kind: "Lease")

    /// A Kubernetes MicroTime: RFC 3339 with six fractional digits.
    static func microTime(_ seconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: seconds)).replacingOccurrences(of: "Z", with: "000Z")
    }

    static func seconds(_ text: String?) -> Double? {
        text.flatMap(KubeTime.parse)
    }

    func spec(now: Double, holder: String?) -> [String: Any] {
        var spec: [String: Any] = [:]
        spec["leaseDurationSeconds"] = durationSeconds
        spec["renewTime"] = Self.microTime(now)
        spec["holderIdentity"] = holder.map { $0 as Any } ?? NSNull()
        return spec
    }

    public func acquire() async throws(JournalError) {
        try await take()
        let renewEvery = Double(durationSeconds) / 3
        let clock = self.clock
        renewal = Task { [weak self] in
            while !Task.isCancelled {
                try? await clock.sleep(for: renewEvery)
                guard !Task.isCancelled, let self else { return }
                try? await self.take()
            }
        }
    }

    /// Creates the Lease, or takes it over when it is free, expired or ours; a 409 means another run
    /// moved first.
    func take() async throws(JournalError) {
        let now = clock.now()
        let found: LeaseObject?
        do {
            found = try await client.get(LeaseObject.self, Self.resource, namespace: namespace, name: name)
        } catch {
            guard error.kind == .notFound else { throw JournalError(description: "could not read the journal's Lease \(namespace)/\(name): \(error)") }
            found = nil
        }
        guard let existing = found else {
            try await create(now: now)
            return
        }
        let holder = existing.spec?.holderIdentity ?? ""
        let renewed = Self.seconds(existing.spec?.renewTime) ?? 0
        let expires = renewed + Double(existing.spec?.leaseDurationSeconds ?? durationSeconds)
        if !holder.isEmpty, holder != identity, expires > now {
            throw JournalError(description: "another Trimtab run (\(holder)) holds the journal's Lease \(namespace)/\(name) until \(Formatting.time(expires.rounded(.up))); two runs never act at once, so this one changes nothing")
        }
        var metadata: [String: Any] = [:]
        if let version = existing.metadata.resourceVersion { metadata["resourceVersion"] = version }
        var body = spec(now: now, holder: identity)
        if holder != identity { body["acquireTime"] = Self.microTime(now) }
        do {
            _ = try await client.patch(Self.resource, namespace: namespace, name: name, .merge, body: ["metadata": metadata, "spec": body], dryRun: false)
        } catch {
            if error.kind == .conflict {
                throw JournalError(description: "another Trimtab run took the journal's Lease \(namespace)/\(name) at the same moment; this one changes nothing")
            }
            throw JournalError(description: "could not take the journal's Lease \(namespace)/\(name): \(error)")
        }
    }

    func create(now: Double) async throws(JournalError) {
        do {
            try await Self.create(client: client, namespace: namespace, name: name, identity: identity, durationSeconds: durationSeconds,
                                  now: now, component: "journal-lock")
        } catch {
            if error.kind == .alreadyExists {
                throw JournalError(description: "another Trimtab run took the journal's Lease \(namespace)/\(name) first; this one changes nothing")
            }
            throw JournalError(description: "could not create the journal's Lease \(namespace)/\(name): \(error)")
        }
    }

    public func release() async {
        // Wait for a renewal already under way: one that read the Lease after it was given up would
        // find it free and take it again, holding off the next run for a whole lease duration.
        let running = renewal
        renewal = nil
        running?.cancel()
        await running?.value
        await Self.giveUp(client: client, namespace: namespace, name: name, identity: identity)
    }
}
