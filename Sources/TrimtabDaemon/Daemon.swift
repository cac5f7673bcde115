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
        let board = StatusBoard(identity: settings.identity, policies: policies, clusterConfigured: cluster != nil)
        let metrics = DaemonMetrics()
        var loop = ControlLoop(settings: settings, policies: policies, source: source, cluster: cluster, board: board, metrics: metrics, logger: logger)
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

#if canImport(Glibc)
/// glibc's `malloc_trim`, which the Glibc module does not export (it lives in malloc.h).
@_silgen_name("malloc_trim")
func trimtabMallocTrim(_ pad: Int) -> Int32
#endif
