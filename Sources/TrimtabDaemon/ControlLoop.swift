import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import ServiceLifecycle
import TrimtabCore
import TrimtabCycle
import TrimtabKube
import TrimtabNotify
import TrimtabPrometheus

/// `trimtab run`'s loop: every interval one `Cycle` (the one `analyze` runs, with kept windows so it
/// reads only the new points), after a policy reload and a look at the kill switches and the lead.
/// Runs until graceful shutdown, which lets the cycle in progress finish.
public struct ControlLoop: Service {
    public let settings: DaemonSettings
    public let source: any MetricsSource
    public let cluster: KubeCluster?
    public let board: StatusBoard
    public let metrics: DaemonMetrics
    public let logger: Logger
    let election: (any LeaderElection)?
    /// The policies at start (the caller loaded and linted them): one, or several teams'.
    let initialPolicies: [Policy]
    /// Yields once the endpoints listen; the first cycle waits for it, so a daemon that cannot listen
    /// stops before it reads or changes anything.
    var listening: AsyncStream<Void>?

    public init(settings: DaemonSettings, policy: Policy, source: any MetricsSource, cluster: KubeCluster?, board: StatusBoard,
                metrics: DaemonMetrics, logger: Logger) {
        self.init(settings: settings, policies: [policy], source: source, cluster: cluster, board: board, metrics: metrics, logger: logger)
    }

    public init(settings: DaemonSettings, policies: [Policy], source: any MetricsSource, cluster: KubeCluster?, board: StatusBoard,
                metrics: DaemonMetrics, logger: Logger) {
        self.settings = settings
        self.initialPolicies = policies
        self.source = source
        self.cluster = cluster
        self.board = board
        self.metrics = metrics
        self.logger = logger
        election = cluster.map { $0.journal.election(identity: settings.identity, timings: settings.election) }
    }

    /// One policy of the daemon's, with its own receivers and what they have been told.
    struct Team {
        var policy: Policy
        var alerts: AlertBook
        var notifier: Notifier?
    }

    /// What carries over from one cycle to the next.
    struct State {
        var teams: [Team]
        var fingerprint: String?
        var cache: WindowCache? = WindowCache()
        var restartMarker: String?
        var failures = 0
        var cycles = 0
        var policies: [Policy] { teams.map(\.policy) }
        /// The first policy: its interval and step grid are the loop's.
        var policy: Policy { teams[0].policy }
    }

    func team(_ policy: Policy) -> Team {
        Team(policy: policy, alerts: AlertBook(settings: policy.notify.adding(settings.notifyFlags)), notifier: makeNotifier(policy))
    }

    /// Notifications to the receivers of `policy` and the flags; a receiver whose secret file cannot
    /// be read is logged and the others still run.
    func makeNotifier(_ policy: Policy) -> Notifier? {
        let settings = policy.notify.adding(settings.notifyFlags)
        guard !settings.isEmpty else { return nil }
        let metrics = self.metrics
        do {
            let notifier = try Notifier(settings: settings, options: self.settings.notifyOptions, logger: logger) { metrics.notification($0) }
            logger.info("notifications", metadata: ["receivers": "\(notifier.receivers.map(\.name).joined(separator: ", "))"])
            return notifier
        } catch {
            logger.error("notifications cannot start; none are sent until the policy or flags are fixed", metadata: ["error": "\(error)"])
            return nil
        }
    }

    public func run() async throws {
        _ = try await runUntilStopped()
    }

    /// Runs until graceful shutdown, `--max-cycles`, or (a shard's loop) its shard taken by another
    /// replica; says whether it was the last.
    func runUntilStopped() async throws -> (lostShard: Bool, cycles: Int) {
        var lostShard = false
        var state = State(teams: initialPolicies.map(team), fingerprint: settings.policyPath.flatMap { try? PolicyWatch.fingerprint($0) })
        let electing = election.map { election in
            Task { await Self.elect(election, board: board, metrics: metrics, logger: logger, retry: settings.election.retryPeriod, clock: settings.clock) }
        }
        logger.info("trimtab run started", metadata: ["policy": "\(state.policies.map(\.name).joined(separator: ", "))", "prometheus": "\(source.displayName)",
                                                      "interval": "\(PolicyDuration.format(interval(state)))",
                                                      "cluster": "\(cluster.map { Redaction.displayURL($0.client.server) } ?? "none (metrics only)")",
                                                      "identity": "\(settings.identity)"])
        if let listening {
            for await _ in listening { break }
            guard !Task.isCancelled else {
                electing?.cancel()
                return (false, 0)
            }
        }
        let clock = settings.clock
        if settings.firstCycleJitter {
            let jitter = Double.random(in: 0...min(interval(state) / 2, 15))
            try? await cancelWhenGracefulShutdown { try await clock.sleep(for: jitter) }
        }
        var next = clock.now()
        var ledOnce = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let started = clock.now()
            let succeeded = await cycle(&state)
            state.cycles += 1
            if let maxCycles = settings.maxCycles, state.cycles >= maxCycles { break }
            // A shard's loop that lost its Lease to another replica has nothing left to do here: the
            // shard has a holder. It ends, and the process looks for a shard without one (ShardedLoop).
            if let shard = settings.shard, let election {
                let leading = await election.isLeading
                ledOnce = ledOnce || leading
                if ledOnce, !leading, let holder = await election.holder, holder != election.identity {
                    logger.warning("lost shard \(shard.name) to \(holder): looking for a shard without a holder",
                                   metadata: ["shard": "\(shard.name)", "holder": "\(holder)"])
                    lostShard = true
                    break
                }
            }
            let every = interval(state)
            if succeeded {
                state.failures = 0
                // On schedule: a slow cycle skips the ticks it overran instead of piling cycles up.
                next += every
                while next <= clock.now() { next += every }
            } else {
                state.failures += 1
                let delay = Self.backoff(interval: every).delay(afterFailures: state.failures)
                next = started + delay
                logger.warning("backing off after a failed cycle", metadata: ["failures": "\(state.failures)",
                                                                             "next_in_seconds": "\(String(format: "%.1f", delay))"])
            }
            let wait = next - clock.now()
            if wait > 0 {
                try? await cancelWhenGracefulShutdown { try await clock.sleep(for: wait) }
            }
        }
        logger.info("trimtab run stopping: the cycle in progress has finished", metadata: ["cycles": "\(state.cycles)"])
        // What is queued gets a few seconds to go out; the rest is counted as dropped.
        for team in state.teams { await team.notifier?.finish(within: 5) }
        electing?.cancel()
        await electing?.value
        if let election {
            await election.release()
            await board.setLeader(false, holder: nil)
            metrics.leader.record(0)
            logger.info("leadership released", metadata: ["identity": "\(election.identity)"])
        }
        return (lostShard, state.cycles)
    }

    func interval(_ policy: Policy) -> Double { settings.interval ?? policy.evaluation.intervalSeconds }

    /// How long a cycle's read may take without --cycle-timeout: an interval, or ten when it reads the
    /// windows whole (the first cycle, after a failure or a Prometheus restart). At 20,000 workloads a
    /// whole read takes 50 s (benchmarks/README.md): cut at a 15 s interval it failed every cycle, and
    /// the daemon, reading whole again after each failure, never reached its cheap steady cycles.
    static func readDeadline(interval: Double, whole: Bool) -> Double { whole ? 10 * interval : interval }

    /// The loop's interval: --interval, or the shortest of its policies'.
    func interval(_ state: State) -> Double { state.policies.map(interval).min() ?? interval(state.policy) }

    /// How long to wait after failed cycles while Prometheus or the API server fails: 1, 2, 4 …
    /// intervals, at most 10 intervals or 5 minutes (an interval, if that is longer), ±20 %.
    public static func backoff(interval: Double) -> Backoff {
        Backoff(first: interval, ceiling: min(10 * interval, max(interval, 300)))
    }


    /// One cycle. Returns false when Prometheus or the cluster failed (the loop then backs off).
    func cycle(_ state: inout State) async -> Bool {
        let started = ContinuousClock.now
        let wallStart = settings.clock.now()
        let number = state.cycles + 1
        await reloadIfChanged(&state)
        let policy = state.policy
        let policies = state.policies
        // Prometheus restarted: what is kept may no longer be what it answers, so read afresh.
        let marker = await source.restartMarker()
        if let marker, let previous = state.restartMarker, marker != previous {
            logger.notice("Prometheus restarted; reading every window afresh", metadata: ["started": "\(marker)"])
            state.cache?.forgetAll()
        }
        if marker == nil { state.cache?.forgetAll() }  // cannot tell a restart: never trust what is kept
        state.restartMarker = marker ?? state.restartMarker
        var reader = SnapshotReader(source: source, maxConcurrentQueries: settings.maxConcurrentQueries)
        reader.deadlineSeconds = settings.cycleTimeout ?? Self.readDeadline(interval: interval(state), whole: (state.cache?.pointsKept ?? 0) == 0 || state.failures > 0)
        reader.overlapSeconds = settings.overlapSeconds
        var mode = PolicyMode.dryRun
        var pausedPolicies: Set<String> = []
        let leading = await election?.isLeading ?? false
        if let cluster, policies.contains(where: { !$0.actions.isEmpty }) {
            let pause = await pausedBy(policies, cluster: cluster)
            await board.setPaused(!pause.reasons.isEmpty, by: pause.reasons)
            metrics.paused.record(pause.all ? 1 : 0)
            pausedPolicies = pause.policies
            let wanted = settings.modeOverride ?? policy.mode
            mode = wanted == .enforce && leading && !pause.all ? .enforce : .dryRun
            if wanted == .enforce && !pause.reasons.isEmpty {
                logger.notice(pause.all ? "paused: assessing and planning, changing nothing" : "policies paused: they assess and plan, changing nothing",
                              metadata: ["by": "\(pause.reasons.joined(separator: "; "))"])
            }
        }
        var cycle = Cycle(policies: policies, source: reader, cluster: cluster, mode: cluster == nil ? policy.mode : mode, clock: settings.clock)
        cycle.dryRunPolicies = pausedPolicies
        // The daemon holds the journal's lock for as long as it leads.
        cycle.lockHeldByCaller = true
        cycle.patchDirectory = settings.patchDirectory
        if let election {
            // Asked before every write: a leader that could not renew stops before its Lease can expire.
            cycle.permit = { await election.isLeading ? nil : "this process lost its leadership; the new leader decides" }
        }
        let result = await cycle.run(at: cycle.evaluationTime(wallStart), windows: &state.cache)
        let journal = result.execution == nil ? nil : try? await cluster?.journal.entries()
        let assessment = result.assessment
        let errors = result.read.errors + result.clusterErrors
        let duration = (ContinuousClock.now - started).seconds
        let every = interval(state)
        let outcome: CycleSummary.Outcome = !assessment.isComplete ? .metricsFailed
            : (result.execution?.errors.isEmpty == false ? .clusterFailed : .complete)
        let summary = CycleSummary(number: number, startedAt: Formatting.time(wallStart.rounded(.down)), evaluationTime: result.time,
                                   durationSeconds: duration, outcome: outcome, mode: mode, queries: result.read.queriesSent,
                                   wholeReads: result.read.wholeReads, bytes: result.read.bytes, slow: duration > every, errors: errors)
        await board.record(summary, report: result.report, journal: journal)
        record(summary, report: result.report, pointsKept: state.cache?.pointsKept ?? 0)
        // Each team's receivers hear of its own policy's targets only.
        let parts = result.parts.isEmpty ? [result] : result.parts
        for (index, part) in parts.enumerated() where index < state.teams.count {
            guard let notifier = state.teams[index].notifier else { continue }
            // Queued, never awaited: a receiver that hangs cannot slow the loop.
            let partErrors = part.read.errors + part.clusterErrors
            let facts = CycleFacts(assessment: part.assessment, plan: part.plan, objectives: part.objectives, execution: part.execution,
                                   metricsProblem: part.assessment.isComplete ? nil : (partErrors.isEmpty ? "the read of Prometheus was incomplete" : partErrors.joined(separator: "; ")),
                                   clusterProblem: part.execution.flatMap { $0.errors.isEmpty ? nil : $0.errors.joined(separator: "; ") })
            let batch = state.teams[index].alerts.observe(facts, now: settings.clock.now().rounded(.down),
                                                          holdSeconds: state.teams[index].alerts.holdSeconds(interval: every))
            // Only the leader speaks, so a webhook hears each thing once; a follower keeps its book
            // current, so it takes over without announcing again what is already known.
            if election == nil || leading { notifier.submit(batch) }
            metrics.notificationQueues(notifier.queueLengths())
        }
        #if canImport(Glibc)
        // The snapshot of this cycle is gone: give the pages it freed back, so a daemon that lives for
        // months keeps the footprint of its windows, not of its largest cycle.
        _ = trimtabMallocTrim(0)
        #endif
        return outcome == .complete
    }
}
