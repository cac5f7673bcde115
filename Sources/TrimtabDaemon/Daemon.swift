import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import ServiceLifecycle
import TrimtabCore
import TrimtabKube
import TrimtabPrometheus

/// `trimtab run` put together: the control loop and the HTTP endpoints in one service group, which
/// SIGTERM and SIGINT shut down gracefully (the loop first, finishing its cycle and releasing its
/// lead, then the endpoints).
public enum Daemon {
    public static func run(settings: DaemonSettings, policy: Policy, source: any MetricsSource, cluster: KubeCluster?,
                           listen: (host: String, port: Int), statusTokenFile: String?, logger: Logger,
                           onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        try await run(settings: settings, policies: [policy], source: source, cluster: cluster, listen: listen, statusTokenFile: statusTokenFile,
                      logger: logger, onListening: onListening)
    }

    public static func run(settings: DaemonSettings, policies: [Policy], source: any MetricsSource, cluster: KubeCluster?,
                           listen: (host: String, port: Int), statusTokenFile: String?, logger: Logger,
                           onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        try await run(settings: settings, policies: policies, source: source, cluster: cluster, shards: [], listen: listen,
                      statusTokenFile: statusTokenFile, logger: logger, onListening: onListening)
    }

    /// With `shards`, each a shard and its cluster (the journal of its own), the process takes one
    /// shard and acts on it alone (see `ShardedLoop`); `cluster` is then unused.
    public static func run(settings: DaemonSettings, policies: [Policy], source: any MetricsSource, cluster: KubeCluster?,
                           shards: [(shard: Shard, cluster: KubeCluster)],
                           listen: (host: String, port: Int), statusTokenFile: String?, logger: Logger,
                           onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let board = StatusBoard(identity: settings.identity, policies: policies, clusterConfigured: cluster != nil || !shards.isEmpty)
        let metrics = DaemonMetrics()
        let (listening, started) = AsyncStream<Void>.makeStream()
        let service: any Service
        if shards.isEmpty {
            var loop = ControlLoop(settings: settings, policies: policies, source: source, cluster: cluster, board: board, metrics: metrics, logger: logger)
            loop.listening = listening
            service = loop
        } else {
            var members: [ShardedLoop.Member] = []
            for (shard, cluster) in shards {
                members.append(ShardedLoop.Member(shard: shard, cluster: cluster, policies: try policies.confined(to: shard)))
            }
            await board.setShards(shards.map { ShardHolder(name: $0.shard.name, namespaces: $0.shard.namespaces, holder: nil) }.sorted { $0.name < $1.name },
                                  holding: nil)
            service = ShardedLoop(members: members, settings: settings, source: source, board: board, metrics: metrics, logger: logger,
                                  listening: listening)
        }
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
                       .init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
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

#if canImport(Glibc)
/// glibc's `malloc_trim`, which the Glibc module does not export (it lives in malloc.h).
@_silgen_name("malloc_trim")
func trimtabMallocTrim(_ pad: Int) -> Int32
#endif
