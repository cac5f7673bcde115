import Foundation
import TrimtabCore
import TrimtabCycle

/// Where indicator values come from: the seam tests and other backends plug into.
public protocol MetricsSource: Sendable {
    /// The source as it may be shown in reports and errors (no credentials).
    var displayName: String { get }
    func queryRange(_ promql: String, start: Double, end: Double, step: Double) async throws(PrometheusError) -> QueryResponse
    /// Something that changes when the source restarts (Prometheus's start time), or nil when the
    /// source cannot say: kept windows are then read afresh.
    func restartMarker() async -> String?
}

extension MetricsSource {
    public func restartMarker() async -> String? { nil }
}

extension PrometheusClient: MetricsSource {
    public var displayName: String { configuration.displayURL }
    public func restartMarker() async -> String? { try? await startTime() }
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
    /// Seconds of points read again each time with kept windows; nil: two steps, at least 30 seconds.
    public var overlapSeconds: Double?

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

    /// What an incremental read cost, beside what a whole read returns.
    public struct IncrementalResult: Sendable {
        public var result: Result
        /// The indicators read whole this time (all of them on a first read, after a gap or a failure).
        public var wholeReads: Int
        /// Bytes of the answers, as decoded JSON.
        public var bytes: Int
    }

    /// Reads like `read(policy:at:)`, asking only for the points `cache` lacks and keeping the windows
    /// there for the next read. The snapshot is the one a whole read at `time` gives.
    public func read(policy: Policy, at time: Double, cache: inout WindowCache, overlapSeconds: Double,
                     progress: (@Sendable (String) -> Void)? = nil) async -> IncrementalResult {
        let full = IndicatorQuery.plan(for: policy, at: time)
        let asked = full.map { cache.query(for: $0, overlapSeconds: overlapSeconds) }
        let groupBy = policy.targets.groupBy
        var data: [IndicatorData?] = Array(repeating: nil, count: full.count)
        var bytes = 0
        let errors = await collect(asked, progress: progress) { index, answer in
            switch answer {
            case .success(let response):
                bytes += response.bytes
                if cache.merge(response.result.series, read: asked[index], full: full[index], infos: response.infos) {
                    data[index] = cache.indicatorData(for: full[index], groupBy: groupBy)
                } else {
                    data[index] = IndicatorData.from(response.result.series, query: full[index], groupBy: groupBy, warnings: response.infos)
                }
            case .failure(let error):
                // Nothing kept survives a failed read: the next one reads the whole window.
                cache.forget(full[index].indicator)
                data[index] = IndicatorData.failed(full[index], message: error.description)
            }
            return data[index]!
        }
        let whole = zip(asked, full).filter { $0.0.start == $0.1.start }.count
        let snapshot = Snapshot(time: time, indicators: data.compactMap { $0 })
        return IncrementalResult(result: Result(snapshot: snapshot, queriesSent: asked.count, errors: errors), wholeReads: whole, bytes: bytes)
    }

    enum Arrival: Sendable {
        case answer(Int, Swift.Result<QueryResponse, PrometheusError>)
        case deadline
    }

    /// Sends the queries, at most `maxConcurrentQueries` at a time, and groups what they return by target.
    public func read(_ queries: [IndicatorQuery], groupBy: [String], progress: (@Sendable (String) -> Void)? = nil) async
        -> (data: [IndicatorData], errors: [PrometheusError]) {
        var data: [IndicatorData?] = Array(repeating: nil, count: queries.count)
        let errors = await collect(queries, progress: progress) { index, answer in
            switch answer {
            case .success(let response):
                data[index] = IndicatorData.from(response.result.series, query: queries[index], groupBy: groupBy, warnings: response.infos)
            case .failure(let error):
                data[index] = IndicatorData.failed(queries[index], message: error.description)
            }
            return data[index]!
        }
        return (data.compactMap { $0 }, errors)
    }

    /// Sends the queries, at most `maxConcurrentQueries` at a time, handing each answer to `receive` as
    /// it arrives (one at a time, on the caller's task) and returning the errors. An answer with
    /// warnings is a failure; queries not answered by the deadline fail with a timeout.
    func collect(_ queries: [IndicatorQuery], progress: (@Sendable (String) -> Void)?,
                 _ receive: (Int, Swift.Result<QueryResponse, PrometheusError>) -> IndicatorData) async -> [PrometheusError] {
        let source = self.source
        var answeredAt = Array(repeating: false, count: queries.count)
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
                        return .answer(index, .success(response))
                    } catch {
                        return .answer(index, .failure(error))
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
                case .answer(let index, let answer):
                    guard !answeredAt[index] else { continue }
                    answeredAt[index] = true
                    let item = receive(index, answer)
                    if case .failure(let error) = answer { errors.append(error) }
                    progress?("read \(item.indicator): " + (item.failure == nil ? "\(item.series.count) targets" : "failed"))
                    answered += 1
                    if next < queries.count { launch() }
                    if answered == queries.count { group.cancelAll() }
                case .deadline:
                    guard answered < queries.count, let deadlineSeconds else { continue }
                    // Every query not answered yet fails now; the ones in flight are cancelled.
                    group.cancelAll()
                    for index in queries.indices where !answeredAt[index] {
                        answeredAt[index] = true
                        let error = PrometheusError.timeout(server: source.displayName, query: queries[index].promql, seconds: deadlineSeconds)
                        _ = receive(index, .failure(error))
                        errors.append(error)
                    }
                    answered = queries.count
                    next = queries.count
                }
            }
        }
        return errors
    }
}

extension SnapshotReader: SnapshotSource {
    public var displayName: String { source.displayName }
    public func restartMarker() async -> String? { await source.restartMarker() }

    /// Reads whole windows, or with kept `windows` the points since the last read plus the overlap.
    public func read(policy: Policy, at time: Double, windows: inout WindowCache?, progress: (@Sendable (String) -> Void)?) async -> SnapshotRead {
        guard var cache = windows else {
            let result = await read(policy: policy, at: time, progress: progress)
            return SnapshotRead(snapshot: result.snapshot, queriesSent: result.queriesSent, wholeReads: result.queriesSent,
                                errors: PrometheusError.grouped(result.errors))
        }
        windows = nil  // not left half-merged if this task is cancelled mid-read
        let overlap = overlapSeconds ?? max(2 * policy.evaluation.stepSeconds, 30)
        let read = await read(policy: policy, at: time, cache: &cache, overlapSeconds: overlap, progress: progress)
        windows = cache
        return SnapshotRead(snapshot: read.result.snapshot, queriesSent: read.result.queriesSent, wholeReads: read.wholeReads,
                            bytes: read.bytes, errors: PrometheusError.grouped(read.result.errors))
    }
}

extension SnapshotReader {
    /// One query per objective and range (5m, 30m, 1h, 6h and the compliance window), each evaluated at
    /// `time` alone (a range query of one point, so it meets the same cap, deadline and partial-answer
    /// rule as the indicators). A failed range leaves that range unread, which the assessment calls unknown.
    ///
    /// First one query asks which objectives have recording rules (`trimtab policy rules`) with the
    /// digest of their current definition; their long ranges (6h and the window) are read from the
    /// recorded 5-minute rates, the rest from the raw series. A failed first query reads every
    /// objective raw.
    public func readObjectives(policy: Policy, at time: Double) async -> ObjectiveRead {
        guard !policy.objectives.isEmpty else { return ObjectiveRead() }
        let step = policy.evaluation.stepSeconds
        let recorded = await recordedObjectives(policy: policy, at: time)
        var queries: [IndicatorQuery] = []
        var keys: [(objective: String, range: Double)] = []
        for objective in policy.objectives {
            for range in objective.ranges {
                let promql = ObjectiveRecording.query(objective, policy: policy, rangeSeconds: range, recorded: recorded.contains(objective.name))
                queries.append(IndicatorQuery(indicator: "objective \(objective.name) over \(PolicyDuration.format(range))",
                                              promql: promql, start: time, end: time, step: step))
                keys.append((objective.name, range))
            }
        }
        let (data, errors) = await read(queries, groupBy: policy.targets.groupBy)
        var readings = policy.objectives.map {
            ObjectiveReading(objective: $0.name, errorRatios: [:], source: recorded.contains($0.name) ? .recorded : .raw)
        }
        for (index, item) in data.enumerated() {
            guard let slot = readings.firstIndex(where: { $0.objective == keys[index].objective }) else { continue }
            if let failure = item.failure {
                readings[slot].errors.append("\(PolicyDuration.format(keys[index].range)): \(failure.message)")
                continue
            }
            var values: [TargetID: Double] = [:]
            for (target, samples) in item.series {
                if let last = samples.last(where: { $0.time <= time + 1e-6 }), last.time >= time - step {
                    values[target] = last.value
                }
            }
            readings[slot].errorRatios[keys[index].range] = values
        }
        return ObjectiveRead(readings: readings, queriesSent: queries.count + 1, errors: PrometheusError.grouped(errors))
    }

    /// The forecasts' load history: one range query per load indicator at the forecast's step.
    public func readHistory(_ queries: [IndicatorQuery], policy: Policy) async -> [IndicatorData] {
        guard !queries.isEmpty else { return [] }
        return await read(queries, groupBy: policy.targets.groupBy).0
    }

    /// The objectives whose recorded series are present at `time` with their current digest.
    func recordedObjectives(policy: Policy, at time: Double) async -> Set<String> {
        let labels = ["trimtab_objective", "trimtab_digest"]
        let query = IndicatorQuery(indicator: "objective recording rules", promql: ObjectiveRecording.presenceQuery(policy: policy),
                                   start: time, end: time, step: policy.evaluation.stepSeconds)
        let (data, _) = await read([query], groupBy: labels)
        guard let item = data.first, item.failure == nil else { return [] }
        var found: Set<String> = []
        for (series, samples) in item.series where !samples.isEmpty && series.labelValues.count == 2 {
            let (name, digest) = (series.labelValues[0], series.labelValues[1])
            if let objective = policy.objectives.first(where: { $0.name == name }),
               ObjectiveRecording.digest(objective, targets: policy.targets) == digest {
                found.insert(name)
            }
        }
        return found
    }
}
