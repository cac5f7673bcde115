import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import ServiceLifecycle
import TrimtabCore
import TrimtabKube
import TrimtabNotify
import TrimtabPrometheus

/// How `trimtab run` behaves, from its flags.
public struct DaemonSettings: Sendable {
    /// Policy files or a directory, watched for changes; nil runs the built-in default (never reloaded).
    public var policyPath: String?
    /// `--namespace`, applied to every policy loaded (reloads included).
    public var namespaceOverride: String?
    /// Seconds between cycles; nil takes the policy's `spec.evaluation.interval`.
    public var interval: Double?
    /// The longest a cycle's read of Prometheus may take; nil: the interval.
    public var cycleTimeout: Double?
    public var maxConcurrentQueries = 4
    /// `--apply` (enforce) or `--dry-run`, over the policy's mode.
    public var modeOverride: PolicyMode?
    /// Seconds of points read again every cycle; nil: two steps, at least 30 seconds.
    public var overlapSeconds: Double?
    /// Stop after this many cycles (tests and demos); nil runs until a signal.
    public var maxCycles: Int?
    /// Objects whose `trimtab.io/paused: "true"` annotation pauses every action.
    public var killSwitches: [KillSwitch] = []
    public var identity: String
    public var election = ElectionTimings()
    /// Wait up to half an interval (at most 15 s) before the first cycle, so replicas started together
    /// do not query at once.
    public var firstCycleJitter = true
    /// Receivers named by flags, added to the policy's `spec.notify` (reloads included).
    public var notifyFlags = NotifySettings()
    public var notifyOptions = Notifier.Options()

    public init(identity: String) {
        self.identity = identity
    }
}

/// An object whose annotation pauses the daemon: `kubectl annotate configmap/trimtab-policy trimtab.io/paused=true`.
public struct KillSwitch: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable { case configMap = "configmap", deployment }
    public var kind: Kind
    public var namespace: String
    public var name: String

    public init(kind: Kind, namespace: String, name: String) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
    }

    public static let annotation = "trimtab.io/paused"

    public var description: String { "\(kind.rawValue)/\(name) in namespace \(namespace)" }

    /// Reads `configmap:NS/NAME` or `deployment:NS/NAME`.
    public static func parse(_ text: String) -> KillSwitch? {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let kind = Kind(rawValue: parts[0].lowercased()) else { return nil }
        let names = parts[1].split(separator: "/").map(String.init)
        guard names.count == 2, !names[0].isEmpty, !names[1].isEmpty else { return nil }
        return KillSwitch(kind: kind, namespace: names[0], name: names[1])
    }
}

/// The cluster the daemon acts on, when it has one.
public struct DaemonCluster: Sendable {
    public var client: KubeClient
    public var http: HTTPEndpointClient
    public var journal: any JournalStore

    public init(client: KubeClient, http: HTTPEndpointClient, journal: any JournalStore) {
        self.client = client
        self.http = http
        self.journal = journal
    }
}

/// `trimtab run`'s loop: every interval one cycle (policy reload, Prometheus read of the new points,
/// assessment, then on the cluster: facts, recovery, verification, plan and execution), judged as
/// `analyze` judges. Runs until graceful shutdown, which lets the cycle in progress finish.
public struct ControlLoop: Service {
    public let settings: DaemonSettings
    public let source: any MetricsSource
    public let cluster: DaemonCluster?
    public let board: StatusBoard
    public let metrics: DaemonMetrics
    public let logger: Logger
    let election: (any LeaderElection)?
    /// Where the policy came from at start (the caller loaded and linted it).
    let initialPolicy: Policy
    /// Yields once the endpoints listen; the first cycle waits for it, so a daemon that cannot listen
    /// stops before it reads or changes anything.
    var listening: AsyncStream<Void>?

    public init(settings: DaemonSettings, policy: Policy, source: any MetricsSource, cluster: DaemonCluster?, board: StatusBoard,
                metrics: DaemonMetrics, logger: Logger) {
        self.settings = settings
        self.initialPolicy = policy
        self.source = source
        self.cluster = cluster
        self.board = board
        self.metrics = metrics
        self.logger = logger
        election = cluster.map { $0.journal.election(identity: settings.identity, timings: settings.election) }
    }

    /// What carries over from one cycle to the next.
    struct State {
        var policy: Policy
        var fingerprint: String?
        var cache = WindowCache()
        var restartMarker: String?
        var failures = 0
        var cycles = 0
        var alerts: AlertBook
        var notifier: Notifier?
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
        var state = State(policy: initialPolicy, fingerprint: settings.policyPath.flatMap { try? PolicyWatch.fingerprint($0) },
                          alerts: AlertBook(settings: initialPolicy.notify.adding(settings.notifyFlags)))
        state.notifier = makeNotifier(initialPolicy)
        let electing = election.map { election in
            Task { await Self.elect(election, board: board, metrics: metrics, logger: logger, retry: settings.election.retryPeriod) }
        }
        logger.info("trimtab run started", metadata: ["policy": "\(state.policy.name)", "prometheus": "\(source.displayName)",
                                                      "interval": "\(PolicyDuration.format(interval(state.policy)))",
                                                      "cluster": "\(cluster.map { Redaction.displayURL($0.client.server) } ?? "none (metrics only)")",
                                                      "identity": "\(settings.identity)"])
        if let listening {
            for await _ in listening { break }
            guard !Task.isCancelled else {
                electing?.cancel()
                return
            }
        }
        let clock = ContinuousClock()
        if settings.firstCycleJitter {
            let jitter = Double.random(in: 0...min(interval(state.policy) / 2, 15))
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int64(jitter * 1000))) }
        }
        var next = clock.now
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let started = clock.now
            let succeeded = await cycle(&state, clock: clock)
            state.cycles += 1
            if let maxCycles = settings.maxCycles, state.cycles >= maxCycles { break }
            let every = Duration.milliseconds(Int64(interval(state.policy) * 1000))
            if succeeded {
                state.failures = 0
                // On schedule: a slow cycle skips the ticks it overran instead of piling cycles up.
                next = next + every
                while next <= clock.now { next = next + every }
            } else {
                state.failures += 1
                // Back off with jitter while Prometheus or the API server fails: 1, 2, 4 … intervals, at
                // most 10 intervals or 5 minutes, ±20 %.
                let factor = min(pow(2, Double(state.failures - 1)), 10)
                let delay = min(interval(state.policy) * factor, max(interval(state.policy), 300)) * Double.random(in: 0.8...1.2)
                next = started + .milliseconds(Int64(delay * 1000))
                logger.warning("backing off after a failed cycle", metadata: ["failures": "\(state.failures)",
                                                                             "next_in_seconds": "\(String(format: "%.1f", delay))"])
            }
            let wait = next - clock.now
            if wait > .zero {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
            }
        }
        logger.info("trimtab run stopping: the cycle in progress has finished", metadata: ["cycles": "\(state.cycles)"])
        // What is queued gets a few seconds to go out; the rest is counted as dropped.
        await state.notifier?.finish(within: 5)
        electing?.cancel()
        await electing?.value
        if let election {
            await election.release()
            await board.setLeader(false, holder: nil)
            metrics.leader.record(0)
            logger.info("leadership released", metadata: ["identity": "\(election.identity)"])
        }
    }

    func interval(_ policy: Policy) -> Double { settings.interval ?? policy.evaluation.intervalSeconds }

    /// Takes or keeps the lead every retry period until cancelled.
    static func elect(_ election: any LeaderElection, board: StatusBoard, metrics: DaemonMetrics, logger: Logger, retry: Double) async {
        var wasLeading = false
        var lastProblem: String?
        while !Task.isCancelled {
            let leading = await election.attempt()
            let holder = await election.holder
            let problem = await election.lastProblem
            await board.setLeader(leading, holder: holder)
            metrics.leader.record(leading ? 1 : 0)
            if leading != wasLeading {
                if leading {
                    logger.notice("became the leader: this process now acts on the cluster", metadata: ["identity": "\(election.identity)"])
                } else {
                    logger.warning("not the leader: assessing only", metadata: ["leader": "\(holder ?? "unknown")",
                                                                                 "reason": "\(problem ?? "")"])
                }
                wasLeading = leading
            }
            if problem != lastProblem, let problem, !leading {
                logger.debug("leader election", metadata: ["detail": "\(problem)"])
            }
            lastProblem = problem
            try? await Task.sleep(for: .milliseconds(Int64(retry * 1000)))
        }
    }

    /// One cycle. Returns false when Prometheus or the cluster failed (the loop then backs off).
    func cycle(_ state: inout State, clock: ContinuousClock) async -> Bool {
        let started = clock.now
        let wallStart = Date().timeIntervalSince1970
        let number = state.cycles + 1
        await reloadIfChanged(&state)
        let policy = state.policy
        // Prometheus restarted: what is kept may no longer be what it answers, so read afresh.
        let marker = await source.restartMarker()
        if let marker, let previous = state.restartMarker, marker != previous {
            logger.notice("Prometheus restarted; reading every window afresh", metadata: ["started": "\(marker)"])
            state.cache.forgetAll()
        }
        if marker == nil { state.cache.forgetAll() }  // cannot tell a restart: never trust what is kept
        state.restartMarker = marker ?? state.restartMarker
        // On the step grid, so each cycle's points are the ones a fresh read at that time returns.
        let step = policy.evaluation.stepSeconds
        let time = (wallStart / step).rounded(.down) * step
        var reader = SnapshotReader(source: source, maxConcurrentQueries: settings.maxConcurrentQueries)
        reader.deadlineSeconds = settings.cycleTimeout ?? interval(policy)
        let overlap = settings.overlapSeconds ?? max(2 * step, 30)
        let read = await reader.read(policy: policy, at: time, cache: &state.cache, overlapSeconds: overlap)
        let readSeconds = (clock.now - started).seconds
        let assessment = Assessor.assess(read.result.snapshot, policy: policy)
        var context = RunContext(source: source.displayName, queries: read.result.queriesSent, readSeconds: readSeconds,
                                 policyFiles: policy.sources, mode: policy.mode)
        var errors = PrometheusError.grouped(read.result.errors)
        var plan: Plan?
        var execution: ExecutionReport?
        var journal: [JournalEntry]?
        var mode = PolicyMode.dryRun
        let leading = await election?.isLeading ?? false
        if let cluster, !policy.actions.isEmpty {
            let pause = await pausedBy(policy, cluster: cluster)
            await board.setPaused(!pause.isEmpty, by: pause)
            metrics.paused.record(pause.isEmpty ? 0 : 1)
            let wanted = settings.modeOverride ?? policy.mode
            mode = wanted == .enforce && leading && pause.isEmpty ? .enforce : .dryRun
            if wanted == .enforce && !pause.isEmpty {
                logger.notice("paused: assessing and planning, changing nothing", metadata: ["by": "\(pause.joined(separator: "; "))"])
            }
            var executor = Executor(client: cluster.client, http: cluster.http, journal: cluster.journal, policy: policy)
            if let election {
                // Asked before every write: a leader that could not renew stops before its Lease can expire.
                executor.permit = { await election.isLeading ? nil : "this process lost its leadership; the new leader decides" }
            }
            let outcome = await ClusterCycle(executor: executor, mode: mode, lockHeldByCaller: true).run(assessment, snapshot: read.result.snapshot, time: time)
            plan = outcome.plan ?? Planner.plan(assessment, snapshot: read.result.snapshot, policy: policy)
            execution = outcome.execution
            errors += outcome.errors
            journal = try? await cluster.journal.entries()
            context.mode = mode
        } else if !policy.actions.isEmpty {
            plan = Planner.plan(assessment, snapshot: read.result.snapshot, policy: policy)
        }
        let duration = (clock.now - started).seconds
        let every = interval(policy)
        let outcome: CycleSummary.Outcome = !assessment.isComplete ? .metricsFailed
            : (execution?.errors.isEmpty == false ? .clusterFailed : .complete)
        let summary = CycleSummary(number: number, startedAt: Formatting.time(wallStart.rounded(.down)), evaluationTime: time,
                                   durationSeconds: duration, outcome: outcome, mode: mode, queries: read.result.queriesSent,
                                   wholeReads: read.wholeReads, bytes: read.bytes, slow: duration > every, errors: errors)
        let report = AnalysisReport(assessment: assessment, context: context, plan: plan, execution: execution)
        await board.record(summary, report: report, journal: journal)
        record(summary, report: report, cache: state.cache)
        if let notifier = state.notifier {
            // Queued, never awaited: a receiver that hangs cannot slow the loop.
            let facts = CycleFacts(assessment: assessment, plan: plan, execution: execution,
                                   metricsProblem: assessment.isComplete ? nil : (errors.isEmpty ? "the read of Prometheus was incomplete" : errors.joined(separator: "; ")),
                                   clusterProblem: execution.flatMap { $0.errors.isEmpty ? nil : $0.errors.joined(separator: "; ") })
            let batch = state.alerts.observe(facts, now: Date().timeIntervalSince1970.rounded(.down), holdSeconds: state.alerts.holdSeconds(interval: every))
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

    /// Why actions are paused now: the policy's `spec.paused`, an annotated kill-switch object, or a
    /// kill-switch object that cannot be read (failing safe). Empty when not paused.
    func pausedBy(_ policy: Policy, cluster: DaemonCluster) async -> [String] {
        var reasons: [String] = []
        if policy.paused { reasons.append("the policy says spec.paused: true") }
        struct Object: Decodable { var metadata: ObjectMeta }
        for item in settings.killSwitches {
            let resource: KubeResource = item.kind == .configMap ? .configMaps : .deployments
            do {
                let object = try await cluster.client.get(Object.self, resource, namespace: item.namespace, name: item.name)
                if object.metadata.annotations?[KillSwitch.annotation]?.lowercased() == "true" {
                    reasons.append("\(item) is annotated \(KillSwitch.annotation)=true")
                }
            } catch {
                reasons.append("the kill switch on \(item) cannot be read (\(error)), so nothing is changed until it can")
            }
        }
        return reasons
    }

    /// Reloads the policy when its files changed; a policy that does not load is refused and the one
    /// running stays.
    func reloadIfChanged(_ state: inout State) async {
        guard let path = settings.policyPath else { return }
        let fingerprint: String
        do {
            fingerprint = try PolicyWatch.fingerprint(path)
        } catch {
            if state.fingerprint != "unreadable" {
                metrics.policyReload(success: false)
                logger.error("the policy files cannot be read; keeping the policy loaded before", metadata: ["path": "\(path)", "error": "\(error)"])
                await board.refusedReload("\(error)")
            }
            state.fingerprint = "unreadable"
            return
        }
        guard fingerprint != state.fingerprint else { return }
        state.fingerprint = fingerprint
        do {
            var policy = try PolicyLoader.load(try PolicySourceFiles.sources(at: path))
            if let namespace = settings.namespaceOverride { policy.targets.namespace = namespace }
            if policy.notify != state.policy.notify {
                let old = state.notifier
                state.notifier = makeNotifier(policy)
                state.alerts.settings = policy.notify.adding(settings.notifyFlags)
                if let old { Task { await old.finish(within: 5) } }
            }
            state.policy = policy
            state.cache.forgetAll()
            metrics.policyReload(success: true)
            await board.setPolicy(policy)
            logger.notice("policy reloaded", metadata: ["policy": "\(policy.name)", "files": "\(policy.sources.joined(separator: ", "))"])
        } catch {
            metrics.policyReload(success: false)
            let text = "\(error)"
            await board.refusedReload(text)
            logger.error("the changed policy is refused; the policy loaded before keeps running",
                         metadata: ["path": "\(path)", "errors": "\(text)"])
        }
    }

    func record(_ summary: CycleSummary, report: AnalysisReport, cache: WindowCache) {
        let assessment = report.assessment
        metrics.cycleDuration.recordNanoseconds(Int64(summary.durationSeconds * 1e9))
        metrics.cycle(outcome: summary.outcome.rawValue)
        if summary.slow {
            metrics.slowCycles.increment()
            logger.warning("the cycle took longer than the interval; the next starts at the next tick",
                           metadata: ["cycle": "\(summary.number)", "seconds": "\(String(format: "%.2f", summary.durationSeconds))"])
        }
        metrics.cycleQueries.record(summary.queries)
        metrics.cycleBytes.record(summary.bytes)
        metrics.queries.increment(by: summary.queries)
        metrics.queryBytes.increment(by: summary.bytes)
        metrics.queryErrors.increment(by: assessment.failures.count)
        metrics.wholeReads.increment(by: summary.wholeReads)
        metrics.windowPoints.record(cache.pointsKept)
        metrics.score.record(assessment.score ?? .nan)
        metrics.scoreKnown.record(assessment.score == nil ? 0 : 1)
        metrics.bottlenecks(assessment)
        metrics.targetScores(assessment)
        if summary.outcome == .complete { metrics.lastSuccess.record(Date().timeIntervalSince1970) }
        for outcome in report.execution?.outcomes ?? [] {
            metrics.action(kind: DaemonMetrics.knobKind(outcome.knob), outcome: outcome.result.rawValue)
        }
        for event in report.execution?.journal ?? [] {
            switch event.state {
            case .verified: metrics.verification(result: "kept")
            case .rolledBack:
                metrics.verification(result: "rolled-back")
                metrics.rollbacks.increment()
            default: break
            }
        }
        var metadata: Logger.Metadata = [
            "cycle": "\(summary.number)", "outcome": "\(summary.outcome.rawValue)", "mode": "\(summary.mode.rawValue)",
            "evaluated_at": "\(Formatting.time(summary.evaluationTime))", "seconds": "\(String(format: "%.2f", summary.durationSeconds))",
            "queries": "\(summary.queries)", "whole_reads": "\(summary.wholeReads)", "bytes": "\(summary.bytes)",
            "score": "\(assessment.score.map { Formatting.score($0) } ?? "unknown")", "targets": "\(assessment.targets.count)",
            "bottlenecks": "\(assessment.bottlenecks.count)",
        ]
        if let plan = report.plan { metadata["proposed"] = "\(plan.proposed.count)" }
        logger.info("cycle \(summary.number): \(AnalysisSummary.line(report))", metadata: metadata)
        for outcome in report.execution?.outcomes ?? [] where outcome.result != .skipped {
            logger.notice("\(outcome.result.rawValue): \(outcome.target) \(outcome.knob): \(outcome.detail)",
                          metadata: ["journal": "\(outcome.journalID ?? "")"])
        }
        for event in report.execution?.journal ?? [] {
            logger.notice("journal \(event.journalID) \(event.state.rawValue): \(event.target) \(event.knob): \(event.detail)")
        }
        for error in summary.errors { logger.error("\(error)") }
    }
}

#if canImport(Glibc)
/// glibc's `malloc_trim`, which the Glibc module does not export (it lives in malloc.h).
@_silgen_name("malloc_trim")
func trimtabMallocTrim(_ pad: Int) -> Int32
#endif

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// Tells when policy files changed: a digest of every file's path and contents (a ConfigMap mount
/// swaps a symlink, which changes what the same path reads).
enum PolicyWatch {
    static func fingerprint(_ path: String) throws -> String {
        let sources = try PolicySourceFiles.sources(at: path)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for source in sources {
            for byte in source.file.utf8 + [0] + source.text.utf8 + [0] {
                hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
            }
        }
        return String(hash, radix: 16)
    }
}

/// `trimtab run` put together: the control loop and the HTTP endpoints in one service group, which
/// SIGTERM and SIGINT shut down gracefully (the loop first, finishing its cycle and releasing its
/// lead, then the endpoints).
public enum Daemon {
    public static func run(settings: DaemonSettings, policy: Policy, source: any MetricsSource, cluster: DaemonCluster?,
                           listen: (host: String, port: Int), statusTokenFile: String?, logger: Logger,
                           onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let board = StatusBoard(identity: settings.identity, policy: policy, clusterConfigured: cluster != nil)
        let metrics = DaemonMetrics()
        var loop = ControlLoop(settings: settings, policy: policy, source: source, cluster: cluster, board: board, metrics: metrics, logger: logger)
        let (listening, started) = AsyncStream<Void>.makeStream()
        loop.listening = listening
        var serverLogger = logger
        serverLogger.logLevel = max(logger.logLevel, .notice)
        let server = StatusServer.application(board: board, metrics: metrics, host: listen.host, port: listen.port, tokenFile: statusTokenFile,
                                              logger: serverLogger) { port in
            logger.info("serving /healthz, /readyz, /metrics and /api/v1/status", metadata: ["address": "\(listen.host):\(port)"])
            started.yield()
            await onListening(port)
        }
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: server),
                       .init(service: loop, successTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: serverLogger))
        do {
            try await group.run()
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            throw DaemonError(description: "could not listen on \(listen.host):\(listen.port): the address is in use (another trimtab run, or another server?); choose another with --listen")
        } catch let error as IOError {
            throw DaemonError(description: "could not listen on \(listen.host):\(listen.port): \(String(cString: strerror(error.errnoCode)))")
        }
    }
}

/// Why the daemon could not run, worded for an operator.
public struct DaemonError: Error, CustomStringConvertible {
    public var description: String
}
