import Foundation
import TrimtabCore

/// What one cycle of `trimtab run` did, as `/api/v1/status` and the log show it.
public struct CycleSummary: Sendable, Codable, Equatable {
    public enum Outcome: String, Sendable, Codable {
        /// Prometheus and (with a cluster) the API server were read; whatever the plan was, it was carried out.
        case complete
        /// Some indicator could not be read: the health is unknown and nothing was changed.
        case metricsFailed = "metrics-failed"
        /// The cluster could not be read, or refused a change.
        case clusterFailed = "cluster-failed"
    }

    public var number: Int
    /// Wall clock when the cycle started.
    public var startedAt: String
    /// The evaluation time (Unix seconds), on the policy's step grid.
    public var evaluationTime: Double
    public var durationSeconds: Double
    public var outcome: Outcome
    /// The mode the cycle ran in: enforce only when leading, not paused, and enforce was asked for.
    public var mode: PolicyMode
    public var queries: Int
    /// Indicators whose whole window was read this cycle (the others read only the new points).
    public var wholeReads: Int
    public var bytes: Int
    public var slow: Bool
    public var errors: [String]
}

/// A change applied and waiting for its verification.
public struct PendingVerification: Sendable, Codable, Equatable {
    public var id: String
    public var target: String
    public var knob: String
    public var from: String?
    public var to: String
    /// The evaluation time after which it is judged.
    public var verifyAfter: Double
}

/// One journal entry, short.
public struct JournalSummary: Sendable, Codable, Equatable {
    public var id: String
    public var target: String
    public var knob: String
    public var state: String
    public var from: String?
    public var to: String
    public var reason: String
    public var updatedAt: Double
}

/// The document `/api/v1/status` serves.
public struct StatusDocument: Sendable, Codable {
    public var kind = "trimtab.status"
    public var schemaVersion = 1
    public var identity: String
    public var leader: Bool
    /// Who leads, as last seen.
    public var leaderIdentity: String?
    /// With `--shard`: the shard this process holds, nil while it waits for one.
    public var shard: String?
    /// With `--shard`: every shard, and who holds each as last seen.
    public var shards: [ShardHolder]?
    public var paused: Bool
    /// What paused it: the policy's `spec.paused`, or an annotated object.
    public var pausedBy: [String]
    public var policy: String
    public var policyFiles: [String]
    /// The last reload that was refused, with its errors; nil once a reload succeeds.
    public var policyReloadError: String?
    public var ready: Bool
    public var readyProblems: [String]
    public var lastCycle: CycleSummary?
    public var score: Double?
    public var status: String
    public var targets: [TargetAssessment]
    public var bottlenecks: [Bottleneck]
    /// Each service-level objective per target, as the last cycle judged it.
    public var objectives: [ObjectiveStatus]
    public var plan: Plan?
    public var execution: ExecutionReport?
    public var pendingVerifications: [PendingVerification]
    public var recentJournal: [JournalSummary]
}

/// A shard and who holds its Lease, as this process last saw it.
public struct ShardHolder: Sendable, Codable, Equatable {
    public var name: String
    public var namespaces: [String]
    public var holder: String?
}

/// What the daemon knows now, shared between the control loop (which writes it) and the endpoints
/// (which read it).
public actor StatusBoard {
    public let identity: String
    var leader = false
    var leaderIdentity: String?
    var paused = false
    var pausedBy: [String] = []
    var policies: [Policy]
    var policyReloadError: String?
    var lastCycle: CycleSummary?
    var lastReport: AnalysisReport?
    var journal: [JournalEntry] = []
    var shard: String?
    var shards: [ShardHolder]?
    /// Whether the cluster side is configured (then readiness needs the API server too).
    let clusterConfigured: Bool

    public init(identity: String, policy: Policy, clusterConfigured: Bool) {
        self.init(identity: identity, policies: [policy], clusterConfigured: clusterConfigured)
    }

    public init(identity: String, policies: [Policy], clusterConfigured: Bool) {
        self.identity = identity
        self.policies = policies
        self.clusterConfigured = clusterConfigured
    }

    func setLeader(_ leading: Bool, holder: String?) {
        leader = leading
        leaderIdentity = holder
    }

    func setShards(_ shards: [ShardHolder], holding: String?) {
        self.shards = shards
        shard = holding
    }

    func setPolicies(_ policies: [Policy]) {
        self.policies = policies
        policyReloadError = nil
    }

    func refusedReload(_ error: String) { policyReloadError = error }

    func setPaused(_ paused: Bool, by: [String]) {
        self.paused = paused
        pausedBy = by
    }

    /// The last cycle and its report, as the loop recorded them.
    public func latest() -> (cycle: CycleSummary?, report: AnalysisReport?) { (lastCycle, lastReport) }

    func record(_ cycle: CycleSummary, report: AnalysisReport, journal: [JournalEntry]?) {
        lastCycle = cycle
        lastReport = report
        if let journal { self.journal = journal }
    }

    /// A spare of a sharded run is ready while it waits. Otherwise ready when a policy is loaded and the last cycle read Prometheus (and the API server, when the
    /// daemon has a cluster). Not ready before the first cycle.
    public func readiness() -> (ready: Bool, problems: [String]) {
        // A spare waiting for a shard is doing its job: ready, or a rollout of the Deployment would never
        // finish (its new pods would never all be Ready). The status says it holds none.
        if shards != nil, shard == nil { return (true, []) }
        guard let lastCycle else { return (false, ["no cycle has finished yet"]) }
        var problems: [String] = []
        if lastCycle.outcome == .metricsFailed {
            problems.append("the last cycle could not read Prometheus: " + (lastCycle.errors.first ?? "unknown error"))
        }
        if clusterConfigured, lastCycle.outcome == .clusterFailed, lastCycle.errors.contains(where: { $0.contains("could not read the cluster") }) {
            problems.append("the last cycle could not read the API server: " + (lastCycle.errors.first ?? "unknown error"))
        }
        return (problems.isEmpty, problems)
    }

    public func document() -> StatusDocument {
        let (ready, problems) = readiness()
        let assessment = lastReport?.assessment
        let pending = journal.filter { $0.state == .applied }.map { entry in
            PendingVerification(id: entry.id, target: entry.target.description, knob: entry.knob.description, from: entry.before, to: entry.after,
                                verifyAfter: (entry.verificationStart ?? entry.createdAt) + entry.verifyAfterSeconds)
        }
        let recent = journal.sorted { ($0.updatedAt, $0.id) > ($1.updatedAt, $1.id) }.prefix(20).map { entry in
            JournalSummary(id: entry.id, target: entry.target.description, knob: entry.knob.description, state: entry.state.rawValue,
                           from: entry.before, to: entry.after, reason: entry.reason, updatedAt: entry.updatedAt)
        }
        return StatusDocument(identity: identity, leader: leader, leaderIdentity: leaderIdentity, shard: shard, shards: shards, paused: paused, pausedBy: pausedBy,
                              policy: policies.map(\.name).joined(separator: ", "), policyFiles: policies.sourceFiles, policyReloadError: policyReloadError, ready: ready,
                              readyProblems: problems, lastCycle: lastCycle, score: assessment?.score,
                              status: assessment?.status.rawValue ?? "unknown", targets: assessment?.targets ?? [],
                              bottlenecks: assessment?.bottlenecks ?? [], objectives: lastReport?.objectives ?? [], plan: lastReport?.plan, execution: lastReport?.execution,
                              pendingVerifications: pending, recentJournal: Array(recent))
    }
}
