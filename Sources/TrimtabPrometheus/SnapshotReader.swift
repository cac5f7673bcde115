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

    /// The longest the whole read may take: queries not answered by then are cancelled and count as
    /// failed, so a hanging server costs one deadline, not one timeout per round of queries.
    public var deadlineSeconds: Double?

    public init(source: any MetricsSource, maxConcurrentQueries: Int = 4, deadlineSeconds: Double? = nil) {
        self.source = source
        self.maxConcurrentQueries = max(1, maxConcurrentQueries)
        self.deadlineSeconds = deadlineSeconds
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

    enum Arrival: Sendable {
        case answer(Int, IndicatorData, PrometheusError?)
        case deadline
    }

    /// Sends the queries, at most `maxConcurrentQueries` at a time, and groups what they return by target.
    public func read(_ queries: [IndicatorQuery], groupBy: [String], progress: (@Sendable (String) -> Void)? = nil) async
        -> (data: [IndicatorData], errors: [PrometheusError]) {
        let source = self.source
        var data: [IndicatorData?] = Array(repeating: nil, count: queries.count)
        var errors: [PrometheusError] = []
        await withTaskGroup(of: Arrival.self) { group in
            var next = 0
            func launch() {
                let index = next
                let query = queries[index]
                next += 1
                group.addTask {
                    do throws(PrometheusError) {
                        let response = try await source.queryRange(query.promql, start: query.start, end: query.end, step: query.step)
                        if !response.warnings.isEmpty {
                            // A partial answer is not data to act on: the indicator counts as failed.
                            throw PrometheusError.partialResponse(server: source.displayName, query: query.promql, warnings: response.warnings)
                        }
                        return .answer(index, IndicatorData.from(response.result.series, query: query, groupBy: groupBy, warnings: response.infos), nil)
                    } catch {
                        return .answer(index, IndicatorData.failed(query, message: error.description), error)
                    }
                }
            }
            if let deadlineSeconds {
                group.addTask {
                    try? await Task.sleep(for: .milliseconds(Int64(deadlineSeconds * 1000)))
                    return .deadline
                }
            }
            while next < min(maxConcurrentQueries, queries.count) { launch() }
            var answered = 0
            for await arrival in group {
                switch arrival {
                case .answer(let index, let item, let error):
                    guard data[index] == nil else { continue }
                    progress?("read \(item.indicator): " + (error == nil ? "\(item.series.count) targets" : "failed"))
                    data[index] = item
                    if let error { errors.append(error) }
                    answered += 1
                    if next < queries.count { launch() }
                    if answered == queries.count { group.cancelAll() }
                case .deadline:
                    guard answered < queries.count, let deadlineSeconds else { continue }
                    // Every query not answered yet fails now; the ones in flight are cancelled.
                    group.cancelAll()
                    for index in queries.indices where data[index] == nil {
                        let error = PrometheusError.timeout(server: source.displayName, query: queries[index].promql, seconds: deadlineSeconds)
                        data[index] = IndicatorData.failed(queries[index], message: error.description)
                        errors.append(error)
                    }
                    answered = queries.count
                    next = queries.count
                }
            }
        }
        return (data.compactMap { $0 }, errors)
    }
}
