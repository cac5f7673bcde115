import Foundation
import TrimtabCore

/// Where indicator values come from: the seam tests and other backends plug into.
public protocol MetricsSource: Sendable {
    /// The source as it may be shown in reports and errors (no credentials).
    var displayName: String { get }
    func queryRange(_ promql: String, start: Double, end: Double, step: Double) async throws(PrometheusError) -> QueryResponse
}

extension PrometheusClient: MetricsSource {
    public var displayName: String { configuration.displayURL }
}

/// Reads a snapshot: one range query per indicator for every target at once, with a cap on the
/// queries in flight so a large policy cannot flood Prometheus.
public struct SnapshotReader: Sendable {
    public var source: any MetricsSource
    /// The most queries in flight at once.
    public var maxConcurrentQueries: Int

    public init(source: any MetricsSource, maxConcurrentQueries: Int = 4) {
        self.source = source
        self.maxConcurrentQueries = max(1, maxConcurrentQueries)
    }

    /// What a read produced, and what it cost.
    public struct Result: Sendable {
        public var snapshot: Snapshot
        public var queriesSent: Int
        public var errors: [PrometheusError]
    }

    /// Reads every queried indicator of `policy` for an evaluation at `time`. A failed query does not
    /// stop the others: its indicator is recorded as failed, which makes the cycle unknown.
    public func read(policy: Policy, at time: Double, progress: (@Sendable (String) -> Void)? = nil) async -> Result {
        let (data, errors) = await read(IndicatorQuery.plan(for: policy, at: time), groupBy: policy.targets.groupBy, progress: progress)
        return Result(snapshot: Snapshot(time: time, indicators: data), queriesSent: data.count, errors: errors)
    }

    /// Sends the queries, at most `maxConcurrentQueries` at a time, and groups what they return by target.
    public func read(_ queries: [IndicatorQuery], groupBy: [String], progress: (@Sendable (String) -> Void)? = nil) async
        -> (data: [IndicatorData], errors: [PrometheusError]) {
        let source = self.source
        var data: [IndicatorData] = []
        var errors: [PrometheusError] = []
        await withTaskGroup(of: (IndicatorData, PrometheusError?).self) { group in
            var next = 0
            func launch() {
                let query = queries[next]
                next += 1
                group.addTask {
                    do throws(PrometheusError) {
                        let response = try await source.queryRange(query.promql, start: query.start, end: query.end, step: query.step)
                        if !response.warnings.isEmpty {
                            // A partial answer is not data to act on: the indicator counts as failed.
                            throw PrometheusError.partialResponse(server: source.displayName, query: query.promql, warnings: response.warnings)
                        }
                        return (IndicatorData.from(response.result.series, query: query, groupBy: groupBy, warnings: response.infos), nil)
                    } catch {
                        return (IndicatorData.failed(query, message: error.description), error)
                    }
                }
            }
            while next < min(maxConcurrentQueries, queries.count) { launch() }
            for await (item, error) in group {
                progress?("read \(item.indicator): " + (error == nil ? "\(item.series.count) targets" : "failed"))
                data.append(item)
                if let error { errors.append(error) }
                if next < queries.count { launch() }
            }
        }
        return (data, errors)
    }
}
