import Foundation
import Testing
import TrimtabCLI
import TrimtabCore
import TrimtabPrometheus
import TrimtabSandbox

/// A source that hides Prometheus's restarts, to show what reading from the kept windows would get
/// wrong without the restart check.
struct RestartBlind: MetricsSource {
    let inner: PrometheusClient
    var displayName: String { inner.displayName }
    func queryRange(_ promql: String, start: Double, end: Double, step: Double) async throws(PrometheusError) -> QueryResponse {
        try await inner.queryRange(promql, start: start, end: end, step: step)
    }
    func restartMarker() async -> String? { "always the same" }
}

/// A value to 12 significant digits: Prometheus sums the series of a `sum by` joined `on (…) group_left`
/// in no fixed order, so two whole reads of the same query at the same time can differ in the last bit.
func digits(_ value: Double?) -> String {
    value.map { String(format: "%.12g", $0) } ?? "none"
}

/// The points of a snapshot as text, so NaN equals NaN and a failure names the difference.
func comparable(_ snapshot: Snapshot) -> [String: String] {
    var result: [String: String] = [:]
    for (name, data) in snapshot.indicators {
        for (target, samples) in data.series {
            result["\(name) \(target)"] = samples.map { "\(Int($0.time))=\(digits($0.value))" }.joined(separator: ",")
        }
        result["\(name) ambiguous"] = data.ambiguous.keys.map(\.description).sorted().joined(separator: ",")
        result["\(name) returned"] = "\(data.seriesReturned) unattributed \(data.unattributed) failure \(data.failure?.message ?? "-")"
    }
    return result
}

/// What an assessment judged, as text: scores, statuses, every check's value and status, every bottleneck.
func comparable(_ assessment: Assessment) -> [String] {
    var lines = ["overall \(digits(assessment.score)) \(assessment.status.rawValue) \(assessment.unknownReason ?? "")"]
    for target in assessment.targets {
        lines.append("\(target.target) \(digits(target.score)) \(target.status.rawValue) \(digits(target.coverage))")
        for check in target.checks {
            lines.append("\(target.target) \(check.check) \(digits(check.value)) \(check.status.rawValue) \(digits(check.score))")
        }
    }
    for bottleneck in assessment.bottlenecks {
        lines.append("bottleneck \(bottleneck.target) \(bottleneck.check) \(bottleneck.severity.rawValue) since \(Int(bottleneck.since)) \(digits(bottleneck.value)) \(bottleneck.points)")
    }
    return lines
}

@Suite("Incremental reads against a real Prometheus equal whole reads", .serialized)
struct IncrementalReadTests {
    /// Reads at each time incrementally and whole, and checks both give the same snapshot and assessment.
    /// Returns the bytes of the incremental and the whole reads of the steady cycles (not the first).
    @discardableResult
    static func walk(_ times: [Double], policy: Policy, source: any MetricsSource, cache: inout WindowCache,
                     expectWhole: Set<Int> = [0]) async -> (incremental: Int, whole: Int) {
        let reader = SnapshotReader(source: source)
        var bytes = (incremental: 0, whole: 0)
        for (index, time) in times.enumerated() {
            let kept = await reader.read(policy: policy, at: time, cache: &cache, overlapSeconds: 60)
            let fresh = await reader.read(policy: policy, at: time)
            #expect(kept.result.errors.isEmpty && fresh.errors.isEmpty)
            let a = comparable(kept.result.snapshot), b = comparable(fresh.snapshot)
            let differing = Set(a.keys).union(b.keys).filter { a[$0] != b[$0] }.sorted()
            #expect(differing.isEmpty, "snapshot at step \(index) (\(Int(time))): \(differing.prefix(3).map { "\($0): kept \(a[$0]?.suffix(200) ?? "none") whole \(b[$0]?.suffix(200) ?? "none")" })")
            #expect(comparable(Assessor.assess(kept.result.snapshot, policy: policy)) == comparable(Assessor.assess(fresh.snapshot, policy: policy)),
                    "assessment at step \(index)")
            let queries = policy.queriedIndicators.count
            #expect(kept.wholeReads == (expectWhole.contains(index) ? queries : 0), "whole reads at step \(index)")
            if !expectWhole.contains(index) {
                bytes.incremental += kept.bytes
                // The bytes of the same read whole, asked again through the incremental path with an empty cache.
                var empty = WindowCache()
                bytes.whole += await reader.read(policy: policy, at: time, cache: &empty, overlapSeconds: 60).bytes
            }
        }
        return bytes
    }

    @Test func theDefaultPolicyOnStockMetricsAssessesTheSameCycleAfterCycle() async throws {
        let step = DemoScenario.scrapeInterval
        let end = (Date().timeIntervalSince1970 / step).rounded(.down) * step - 120
        let policy = try PolicySource.load(nil)
        try await withPrometheus(DemoScenario.openMetrics(end: end)) { sandbox in
            let client = try PrometheusClient(PrometheusConfiguration(url: sandbox.url))
            var cache = WindowCache()
            // 20 cycles 30 s apart, a 10-minute gap (inside the window), then one longer than the
            // window, which reads every indicator whole again.
            var times = (0..<12).map { end - 3600 + Double($0) * 30 }
            times.append(times.last! + 600)
            times.append(times.last! + 30)
            times.append(times.last! + policy.windowSeconds + 300)
            times.append(times.last! + 60)
            let bytes = await Self.walk(times, policy: policy, source: client, cache: &cache, expectWhole: [0, 14])
            // A steady cycle asks for a small share of a whole read (the benchmark measures it at scale).
            #expect(bytes.incremental * 10 < bytes.whole, "incremental \(bytes.incremental) bytes, whole \(bytes.whole)")
            await client.shutdown()
        }
    }

    @Test func targetsThatAppearAndDisappearMidWindow() async throws {
        let end = alignedNow()
        let policy = try PolicyLoader.load(text: gaugePolicy, file: "gauges.yaml")
        var history = gaugeHistory(end: end)
        // A target that appears 30 minutes before the end (`stale` in the gauge history disappears 20 minutes before it).
        let appearing = [SyntheticSeries(name: "test_latency_seconds", labels: ["namespace": "shop", "deployment": "appearing"]) { time in
            time >= end - 1800 ? 0.3 : nil
        }]
        history = history.replacingOccurrences(of: "# EOF\n", with: "")
            + OpenMetricsWriter.write(appearing, start: end - 3 * 3600, end: end, step: 15)
        try await withPrometheus(history) { sandbox in
            let client = try PrometheusClient(PrometheusConfiguration(url: sandbox.url))
            var cache = WindowCache()
            let times = stride(from: end - 2400, through: end, by: 90).map { $0 }
            await Self.walk(times, policy: policy, source: client, cache: &cache)
            await client.shutdown()
        }
    }

    @Test func aPrometheusRestartWithOtherDataIsReadAfresh() async throws {
        let end = alignedNow()
        let policy = try PolicyLoader.load(text: gaugePolicy, file: "gauges.yaml")
        try await withPrometheus(gaugeHistory(end: end)) { sandbox in
            let client = try PrometheusClient(PrometheusConfiguration(url: sandbox.url))
            let reader = SnapshotReader(source: client)
            var cache = WindowCache()
            var blindCache = WindowCache()
            let blind = SnapshotReader(source: RestartBlind(inner: client))
            for time in [end - 600, end - 570] {
                _ = await reader.read(policy: policy, at: time, cache: &cache, overlapSeconds: 60)
                _ = await blind.read(policy: policy, at: time, cache: &blindCache, overlapSeconds: 60)
            }
            let before = await client.restartMarker()
            // The same port, another history: every latency is now 0.1 s.
            var series: [SyntheticSeries] = []
            for name in ["steady", "spike", "recent", "missing", "healthy", "cold"] {
                series.append(SyntheticSeries(name: "test_latency_seconds", labels: ["namespace": "shop", "deployment": name]) { _ in 0.1 })
            }
            try await sandbox.resume(replacingWith: OpenMetricsWriter.write(series, start: end - 3 * 3600, end: end, step: 15))
            let after = await client.restartMarker()
            #expect(before != nil && after != nil && before != after)
            // What the daemon does on a new marker: forget what is kept.
            if before != after { cache.forgetAll() }
            let time = end - 540
            let kept = await reader.read(policy: policy, at: time, cache: &cache, overlapSeconds: 60)
            let fresh = await reader.read(policy: policy, at: time)
            #expect(kept.wholeReads == 3)
            #expect(comparable(kept.result.snapshot) == comparable(fresh.snapshot))
            // Without the check, the kept window mixes the old history with the new.
            let stale = await blind.read(policy: policy, at: time, cache: &blindCache, overlapSeconds: 60)
            #expect(stale.wholeReads < 3)
            #expect(comparable(stale.result.snapshot) != comparable(fresh.snapshot))
            await client.shutdown()
        }
    }

    @Test func aFailedReadIsFollowedByAWholeRead() async throws {
        let end = alignedNow()
        let policy = try PolicyLoader.load(text: gaugePolicy, file: "gauges.yaml")
        try await withPrometheus(gaugeHistory(end: end)) { sandbox in
            let client = try PrometheusClient(PrometheusConfiguration(url: sandbox.url, timeoutSeconds: 5))
            let reader = SnapshotReader(source: client)
            var cache = WindowCache()
            _ = await reader.read(policy: policy, at: end - 600, cache: &cache, overlapSeconds: 60)
            sandbox.pause()
            let down = await reader.read(policy: policy, at: end - 570, cache: &cache, overlapSeconds: 60)
            #expect(down.result.errors.count == 3)
            #expect(cache.pointsKept == 0)
            try await sandbox.resume()
            let back = await reader.read(policy: policy, at: end - 540, cache: &cache, overlapSeconds: 60)
            let fresh = await reader.read(policy: policy, at: end - 540)
            #expect(back.wholeReads == 3)
            #expect(comparable(back.result.snapshot) == comparable(fresh.snapshot))
            await client.shutdown()
        }
    }
}
