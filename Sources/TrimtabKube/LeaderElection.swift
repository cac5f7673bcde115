import Foundation
import TrimtabCore
import TrimtabCycle

/// Who may act: with two daemons on one journal, only the leader changes the cluster; the other keeps
/// assessing and serving its status. The leader holds the journal's own lock (the Lease beside a
/// ConfigMap journal, the file lock beside a directory), so a one-shot `analyze --apply` is excluded
/// while a daemon leads, and the other way round.
public protocol LeaderElection: Actor {
    /// Who this process is, as the lock records it.
    nonisolated var identity: String { get }
    /// Tries once to take leadership, or to keep it; returns whether this process leads now.
    func attempt() async -> Bool
    /// Whether this process leads now: it took or renewed the lock recently enough that no other
    /// process can have taken it over.
    var isLeading: Bool { get }
    /// Who holds the lock, as last seen (nil when free or unknown).
    var holder: String? { get }
    /// Why the last attempt did not lead, for logs and status.
    var lastProblem: String? { get }
    /// Gives the lock up, so another process need not wait for it to expire.
    func release() async
}

/// Timings of Lease-based election, with client-go's defaults.
public struct ElectionTimings: Sendable {
    /// How long a Lease holds without renewal before another process may take it.
    public var leaseDuration: Double = 15
    /// How long the leader keeps acting without a successful renewal; less than `leaseDuration`, so a
    /// leader that cannot renew stops acting before its Lease can be taken over.
    public var renewDeadline: Double = 10
    /// How often to try to take or renew the Lease.
    public var retryPeriod: Double = 2

    public init(leaseDuration: Double = 15, renewDeadline: Double = 10, retryPeriod: Double = 2) {
        self.leaseDuration = leaseDuration
        self.renewDeadline = renewDeadline
        self.retryPeriod = retryPeriod
    }
}

/// Leader election through a `coordination.k8s.io/v1` Lease, as client-go's leaderelection does it:
/// another holder's Lease is taken only once it has not changed for `leaseDuration` as this process
/// observed it (its own clock, so clock skew between nodes does not matter), every write is
/// conditional on the resourceVersion read, and the leader counts as leading only within
/// `renewDeadline` of its last successful renewal.
public actor LeaseElection: LeaderElection {
    let client: KubeClient
    public nonisolated let namespace: String
    public nonisolated let name: String
    public nonisolated let identity: String
    public let timings: ElectionTimings
    /// This process's clock: lease times are judged by it alone, never by another node's.
    let clock: any TimeSource
    /// The holder and renew time last read, and when this process saw them change.
    private var observed: (holder: String, renewTime: String, at: Double)?
    /// When this process last took or renewed the Lease.
    private var renewedAt: Double?
    public private(set) var holder: String?
    public private(set) var lastProblem: String?

    public init(client: KubeClient, namespace: String, name: String, identity: String, timings: ElectionTimings = ElectionTimings(),
                clock: any TimeSource = SystemClock()) {
        self.clock = clock
        self.client = client
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.timings = timings
    }

    typealias LeaseObject = LeaseLock.LeaseObject

    public var isLeading: Bool {
        guard let renewedAt else { return false }
        return clock.now() - renewedAt < timings.renewDeadline
    }

    public func attempt() async -> Bool {
        do {
            try await acquireOrRenew()
            lastProblem = nil
        } catch {
            lastProblem = error.description
        }
        return isLeading
    }

    func acquireOrRenew() async throws(JournalError) {
        let now = clock.now()
        let started = now
        let found: LeaseObject?
        do {
            found = try await client.get(LeaseObject.self, LeaseLock.resource, namespace: namespace, name: name)
        } catch {
            guard error.kind == .notFound else { throw JournalError(description: "could not read the Lease \(namespace)/\(name): \(error)") }
            found = nil
        }
        guard let existing = found else {
            try await create(now: now)
            renewedAt = started
            holder = identity
            return
        }
        let spec = existing.spec
        let current = spec?.holderIdentity ?? ""
        let renewTime = spec?.renewTime ?? ""
        if observed == nil || observed?.holder != current || observed?.renewTime != renewTime {
            // Seen changed when the answer came, not when it was asked for: the other holder may have
            // renewed at any moment until then, so a slow answer (or this process waiting its turn for
            // a thread) must not count as time the Lease stood unrenewed. client-go does the same.
            observed = (current, renewTime, clock.now())
        }
        holder = current.isEmpty ? nil : current
        if !current.isEmpty, current != identity,
           let seenAt = observed?.at, clock.now() - seenAt < Double(spec?.leaseDurationSeconds ?? Int(timings.leaseDuration)) {
            renewedAt = nil
            throw JournalError(description: "\(current) leads (Lease \(namespace)/\(name))")
        }
        var body: [String: Any] = [:]
        body["holderIdentity"] = identity
        body["leaseDurationSeconds"] = Int(timings.leaseDuration.rounded(.up))
        body["renewTime"] = LeaseLock.microTime(now)
        if current != identity {
            body["acquireTime"] = LeaseLock.microTime(now)
            body["leaseTransitions"] = (spec?.leaseTransitions ?? 0) + 1
        }
        var metadata: [String: Any] = [:]
        if let version = existing.metadata.resourceVersion { metadata["resourceVersion"] = version }
        do {
            _ = try await client.patch(LeaseLock.resource, namespace: namespace, name: name, .merge,
                                       body: ["metadata": metadata, "spec": body], dryRun: false)
        } catch {
            if current != identity { renewedAt = nil }
            throw JournalError(description: error.kind == .conflict
                               ? "another process wrote the Lease \(namespace)/\(name) at the same moment"
                               : "could not write the Lease \(namespace)/\(name): \(error)")
        }
        // Counted from before the read: the Lease cannot have been renewed later than that.
        renewedAt = started
        holder = identity
        observed = (identity, LeaseLock.microTime(now), started)
    }

    func create(now: Double) async throws(JournalError) {
        do {
            try await LeaseLock.create(client: client, namespace: namespace, name: name, identity: identity,
                                       durationSeconds: Int(timings.leaseDuration.rounded(.up)), now: now, component: "leader-election")
        } catch {
            throw JournalError(description: error.kind == .alreadyExists
                               ? "another process created the Lease \(namespace)/\(name) first"
                               : "could not create the Lease \(namespace)/\(name): \(error)")
        }
    }

    public func release() async {
        guard renewedAt != nil else { return }
        renewedAt = nil
        await LeaseLock.giveUp(client: client, namespace: namespace, name: name, identity: identity)
        holder = nil
    }
}

/// Leadership as an exclusive lock on a directory journal's `.lock` file: the kernel releases it when
/// the process dies, so a follower takes over within one retry period.
public actor FileLockElection: LeaderElection {
    let lock: FileLock
    public nonisolated let identity: String
    public private(set) var isLeading = false
    public private(set) var lastProblem: String?
    public var holder: String? { isLeading ? identity : nil }

    public init(directory: String, identity: String) {
        lock = FileLock(directory: directory)
        self.identity = identity
    }

    public func attempt() async -> Bool {
        guard !isLeading else { return true }
        do {
            try await lock.acquire()
            isLeading = true
            lastProblem = nil
        } catch {
            lastProblem = error.description
        }
        return isLeading
    }

    public func release() async {
        guard isLeading else { return }
        await lock.release()
        isLeading = false
    }
}

/// No lock to share (an in-memory journal in tests): this process always leads.
public actor SoleLeader: LeaderElection {
    public nonisolated let identity: String
    public let isLeading = true
    public let holder: String? = nil
    public let lastProblem: String? = nil
    public init(identity: String) { self.identity = identity }
    public func attempt() async -> Bool { true }
    public func release() async {}
}

extension JournalStore {
    /// The election among daemons that share this journal, on the journal's own lock.
    public func election(identity: String, timings: ElectionTimings = ElectionTimings()) -> any LeaderElection {
        if let store = self as? ConfigMapJournal {
            return LeaseElection(client: store.client, namespace: store.namespace, name: "\(store.name)-lock", identity: identity, timings: timings,
                                 clock: store.clock)
        }
        if let store = self as? FileJournal { return FileLockElection(directory: store.directory, identity: identity) }
        return SoleLeader(identity: identity)
    }
}
