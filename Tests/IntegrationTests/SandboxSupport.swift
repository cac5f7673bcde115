import Foundation
import Testing
import TrimtabCore
import TrimtabPrometheus
import TrimtabSandbox

/// Starts a real Prometheus with `openMetrics` backfilled, runs `body`, and always stops it.
func withPrometheus<T>(_ openMetrics: String, arguments: [String] = [], _ body: (PrometheusSandbox) async throws -> T) async throws -> T {
    try await stopping(try await PrometheusSandbox.start(openMetrics: openMetrics, arguments: arguments), body)
}

/// Starts `backend` with `openMetrics` loaded, runs `body`, and always stops it: the analysis tests
/// run once on Prometheus and once on VictoriaMetrics, on the same history.
func withBackend<T>(_ backend: MetricsBackend, _ openMetrics: String, _ body: (any MetricsServer) async throws -> T) async throws -> T {
    switch backend {
    case .prometheus: return try await stopping(try await PrometheusSandbox.start(openMetrics: openMetrics)) { try await body($0) }
    case .victoriaMetrics: return try await stopping(try await VictoriaMetricsSandbox.start(openMetrics: openMetrics)) { try await body($0) }
    }
}

/// Runs `body` with a started server, and always stops it.
func stopping<Server: MetricsServer, T>(_ server: Server, _ body: (Server) async throws -> T) async throws -> T {
    do {
        let result = try await body(server)
        server.stop()
        return result
    } catch {
        server.stop()
        throw error
    }
}

/// An evaluation time aligned to the minute, recent enough for Prometheus to accept the history.
func alignedNow() -> Double {
    (Date().timeIntervalSince1970 / 60).rounded(.down) * 60 - 60
}

/// A gauge for `deployment` in namespace `namespace` whose value is `value(secondsBeforeEnd)`.
func gauge(_ name: String, _ deployment: String, namespace: String = "shop", end: Double,
           _ value: @escaping @Sendable (Double) -> Double?) -> SyntheticSeries {
    SyntheticSeries(name: name, labels: ["namespace": namespace, "deployment": deployment]) { time in value(end - time) }
}

/// Runs a query source and counts the HTTP queries it sends.
final class QueryCounter: MetricsSource, @unchecked Sendable {
    let inner: PrometheusClient
    private let lock = NSLock()
    private var sent = 0
    var count: Int { lock.withLock { sent } }
    var displayName: String { inner.displayName }

    init(_ inner: PrometheusClient) {
        self.inner = inner
    }

    func queryRange(_ promql: String, start: Double, end: Double, step: Double) async throws(PrometheusError) -> QueryResponse {
        lock.withLock { sent += 1 }
        return try await inner.queryRange(promql, start: start, end: end, step: step)
    }
}
