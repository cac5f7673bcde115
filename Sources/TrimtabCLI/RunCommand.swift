import ArgumentParser
import Foundation
import Logging
import TrimtabCore
import TrimtabCycle
import TrimtabDaemon
import TrimtabKube
import TrimtabNotify
import TrimtabPrometheus

/// `trimtab run`: the control loop that lives in the cluster.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the control loop: assess every interval, act as the leader, serve health, metrics and status.",
        discussion: """
        Every interval (the policy's spec.evaluation.interval, default 30s, or --interval) one cycle judges \
        exactly as `analyze` does: reload the policy if its files changed (a policy that does not lint is \
        refused and the running one kept), read Prometheus, assess, then on the cluster read the facts, \
        finish what a crash left open, verify changes whose verifyAfter has passed, plan and carry the plan \
        out. The first cycle reads every indicator's whole window; later cycles read only the points since \
        the last one (and the last two steps again) and keep the window in memory. A read after a failure, a \
        Prometheus restart or a policy reload is whole again.

        Only the leader changes the cluster. Daemons sharing a journal elect one through the journal's lock: \
        the Lease NAME-lock beside a configmap:NS/NAME journal (lease 15s, renew deadline 10s, retry 2s, as \
        client-go), or the file lock of a directory journal. The others assess, plan in dry-run and serve \
        their status. `analyze --apply` takes the same lock, so it never acts while a daemon leads.

        Failing safe: when Prometheus or the API server fails, the cycle changes nothing, /readyz fails, and \
        the loop backs off (1, 2, 4 … intervals, at most 10, with jitter) until they answer again. To pause \
        every action without stopping the assessment, set `spec.paused: true` in the policy, or annotate an \
        object named by --kill-switch: kubectl annotate deployment/trimtab -n trimtab trimtab.io/paused=true

        Shards (--shard NAME=NS[,NS…], repeatable), for clusters too large for one process: each shard is a \
        set of namespaces (no namespace in two) with a journal of its own (configmap:NS/NAME-SHARD, or \
        DIR/SHARD) and the Lease beside it. A process takes one shard whose Lease is free and acts on its \
        namespaces alone, every policy confined to them; a process that finds every shard held waits as a \
        spare (ready, holding no shard) and takes over a shard whose holder stops renewing, within a lease period. Run as \
        many replicas as shards, and one or two more as spares.

        SIGTERM or SIGINT lets the cycle in progress finish (never a half-applied change), releases the \
        lead and exits 0.

        Endpoints (--listen): /healthz, /readyz, /metrics (Prometheus text format), /api/v1/status (JSON; \
        with --status-token-file only for Authorization: Bearer <token>).

        Examples (in a pod, with TRIMTAB_PROMETHEUS_URL set):
          trimtab run --in-cluster --journal configmap:trimtab/trimtab-journal
          trimtab run --in-cluster --kill-switch deployment:trimtab/trimtab
          trimtab run --prometheus http://127.0.0.1:9090 --listen 127.0.0.1:8080
          trimtab run --in-cluster --journal configmap:trimtab/journal --shard a=shop,cart --shard b=search
          curl -s 127.0.0.1:8080/api/v1/status | jq '.score, .lastCycle'

        Exit codes: 0 after SIGTERM, SIGINT or --max-cycles; 1 invalid policy or flags, or the endpoints \
        could not listen (the address is taken).
        """
    )

    @OptionGroup(title: "Prometheus") var prometheus: PrometheusOptions
    @OptionGroup(title: "Policy") var policy: PolicyOptions
    @OptionGroup(title: "Cluster") var kube: KubeOptions
    @OptionGroup var mode: ModeOptions
    @OptionGroup(title: "Notifications") var notifications: NotifyOptions

    @Option(help: ArgumentHelp("Time between cycles, e.g. 30s or 1m; overrides spec.evaluation.interval.", valueName: "duration"))
    var interval: String?

    @Option(help: ArgumentHelp("The longest a cycle's read of Prometheus may take; defaults to the interval.", valueName: "duration"))
    var cycleTimeout: String?

    @Option(help: ArgumentHelp("Address of the endpoints: HOST:PORT, :PORT for every interface, port 0 for a free one.", valueName: "address"))
    var listen: String = "0.0.0.0:8080"

    @Option(help: ArgumentHelp("A file holding the bearer token /api/v1/status requires (read on every request).", valueName: "path"))
    var statusTokenFile: String?

    @Option(help: ArgumentHelp("Log format: text (for people) or json (one object per line).", valueName: "format"))
    var logFormat: LogFormat = .text

    @Option(help: ArgumentHelp("Least severe log level written: debug, info, notice, warning or error.", valueName: "level"))
    var logLevel: String = "info"

    @Option(help: ArgumentHelp(
        "An object whose annotation trimtab.io/paused=true pauses every action: configmap:NS/NAME or deployment:NS/NAME (repeatable).",
        discussion: "An object that cannot be read pauses too: the daemon never acts without knowing it may.", valueName: "object"))
    var killSwitch: [String] = []

    @Option(help: ArgumentHelp("Who this process is in leader election; defaults to $POD_NAME, else host-pid.", valueName: "name"))
    var identity: String?

    @Option(help: ArgumentHelp("Points read again every cycle, as a duration; defaults to two steps, at least 30s.", valueName: "duration"))
    var overlap: String?

    @Option(help: ArgumentHelp("Stop after this many cycles (for CI and demos); runs until a signal without it.", valueName: "count"))
    var maxCycles: Int?

    @Option(help: ArgumentHelp("A shard: NAME=NAMESPACE[,NAMESPACE…] (repeatable). The process takes one free shard and acts on it alone.",
                               valueName: "shard"))
    var shard: [String] = []

    @Flag(help: .hidden)
    var noJitter = false

    func shards() throws -> [Shard] {
        do {
            let shards = try shard.map(Shard.parse)
            try Shard.validate(shards)
            return shards
        } catch {
            throw ValidationError(error.description)
        }
    }

    func validate() throws {
        if let maxCycles, maxCycles < 1 { throw ValidationError("--max-cycles must be at least 1") }
        _ = try parsedListen()
        _ = try killSwitches()
        _ = try level()
        if try !shards().isEmpty && !kube.given {
            throw ValidationError("--shard acts on a cluster: give --kubeconfig or --in-cluster (each shard keeps its journal and Lease there)")
        }
        for (flag, value) in [("--interval", interval), ("--cycle-timeout", cycleTimeout), ("--overlap", overlap)] {
            if let value { _ = try durationFlag(value, flag: flag) }
        }
    }

    func parsedListen() throws -> (host: String, port: Int) {
        do { return try StatusServer.parseListen(listen) } catch { throw ValidationError("\(error)") }
    }

    func killSwitches() throws -> [KillSwitch] {
        try killSwitch.map { text in
            guard let parsed = KillSwitch.parse(text) else {
                throw ValidationError("--kill-switch '\(text)' is not configmap:NAMESPACE/NAME or deployment:NAMESPACE/NAME")
            }
            return parsed
        }
    }

    func level() throws -> Logger.Level {
        guard let level = Logger.Level(rawValue: logLevel.lowercased()) else {
            throw ValidationError("--log-level '\(logLevel)' is not one of trace, debug, info, notice, warning, error, critical")
        }
        return level
    }

    func run() async throws {
        #if canImport(Glibc)
        // Two malloc arenas, not eight per core: the loop's tasks hop between threads, and memory freed
        // in one thread's arena is not reused by another, so many arenas only fragment a long-lived heap.
        _ = trimtabMallopt(-8, 2)  // M_ARENA_MAX
        #endif
        let policies = try self.policy.loadSetOrExit()
        let policy = policies[0]
        let mode = self.mode.override
        let logger = Logger.trimtab(format: logFormat, level: try level())
        var settings = DaemonSettings(identity: identity ?? ProcessInfo.processInfo.environment["POD_NAME"].flatMap { $0.isEmpty ? nil : $0 }
                                      ?? "\(ProcessInfo.processInfo.hostName)-\(getpid())")
        settings.policyPath = self.policy.policy
        settings.namespaceOverride = self.policy.namespace
        settings.interval = try interval.map { try durationFlag($0, flag: "--interval") }
        settings.cycleTimeout = try cycleTimeout.map { try durationFlag($0, flag: "--cycle-timeout") }
        settings.overlapSeconds = try overlap.map { try durationFlag($0, flag: "--overlap") }
        settings.maxConcurrentQueries = prometheus.maxConcurrentQueries
        settings.modeOverride = mode
        settings.patchDirectory = self.mode.patchDir
        settings.maxCycles = maxCycles
        settings.killSwitches = try killSwitches()
        settings.firstCycleJitter = !noJitter
        settings.notifyFlags = try notifications.flagSettings()
        settings.notifyOptions = try notifications.deliveryOptions()
        do {
            for policy in policies { try Notifier.check(policy.notify.adding(settings.notifyFlags)) }
        } catch {
            printError("error: notifications: \(error)")
            throw TrimtabExit.invalidInput
        }
        try kube.requireCluster(toEnforce: mode ?? policy.mode)
        let kubeClient: KubeClient? = kube.given ? try kube.clientOrExit() : nil
        let client: PrometheusClient
        do {
            client = try prometheus.clientOrExit()
        } catch {
            await kubeClient?.shutdown()
            throw error
        }
        let endpoints = HTTPEndpointClient()
        let cluster = kubeClient.map { KubeCluster(client: $0, http: endpoints, journal: kube.journalStore(client: $0)) }
        let shardClusters = try kubeClient.map { client in
            try shards().map { (shard: $0, cluster: KubeCluster(client: client, http: endpoints, journal: kube.journalStore(client: client, shard: $0.name))) }
        } ?? []
        var failure: (any Error)?
        do {
            try await Daemon.run(settings: settings, policies: policies, source: client, cluster: cluster, shards: shardClusters,
                                 listen: try parsedListen(), statusTokenFile: statusTokenFile, logger: logger)
        } catch {
            failure = error
        }
        await client.shutdown()
        await kubeClient?.shutdown()
        await endpoints.shutdown()
        if let failure {
            printError("error: \(failure)")
            throw TrimtabExit.invalidInput
        }
    }
}

extension LogFormat: ExpressibleByArgument {}

#if canImport(Glibc)
/// glibc's `mallopt`, which the Glibc module does not export (it lives in malloc.h).
@_silgen_name("mallopt")
func trimtabMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
