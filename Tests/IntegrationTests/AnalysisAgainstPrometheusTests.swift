import Foundation
import Testing
import TrimtabCLI
import TrimtabCore
import TrimtabPrometheus
import TrimtabSandbox

/// A policy over plain gauges, so the values Prometheus returns are exactly the values written and
/// every score can be asserted exactly.
let gaugePolicy = """
apiVersion: trimtab/v1
kind: Policy
metadata: {name: gauges}
spec:
  targets: {namespace: shop, groupBy: [namespace, deployment]}
  evaluation: {step: 30s, lookback: 1h, minCoverage: 0.5}
  indicators:
    latency: {query: 'max by ($by) (test_latency_seconds{$selector})', unit: seconds}
    errors: {query: 'max by ($by) (test_error_ratio{$selector})', unit: ratio}
    hits: {query: 'max by ($by) (test_cache_hit_ratio{$selector})', unit: ratio}
  checks:
    latency: {worse: higher, warning: 1s, critical: 2s, for: 5m, weight: 3}
    errors: {worse: higher, warning: 1%, critical: 5%, for: 5m, weight: 2}
    hits: {worse: lower, warning: 80%, critical: 50%, for: 10m, weight: 1}
"""

/// The gauge history: each target shows one situation.
func gaugeHistory(end: Double) -> String {
    var series: [SyntheticSeries] = []
    func target(_ name: String, latency: @escaping @Sendable (Double) -> Double?, errors: (@Sendable (Double) -> Double?)?,
                hits: @escaping @Sendable (Double) -> Double?) {
        series.append(gauge("test_latency_seconds", name, end: end, latency))
        if let errors { series.append(gauge("test_error_ratio", name, end: end, errors)) }
        series.append(gauge("test_cache_hit_ratio", name, end: end, hits))
    }
    // Latency critical for the last 30 minutes.
    target("steady", latency: { $0 <= 1800 ? 2.5 : 0.4 }, errors: { _ in 0.002 }, hits: { _ in 0.9 })
    // A one-minute spike 20 minutes ago: not a bottleneck.
    target("spike", latency: { $0 >= 1200 && $0 < 1260 ? 9 : 0.5 }, errors: { _ in 0.002 }, hits: { _ in 0.9 })
    // Latency in warning for only 2 minutes (too short); errors in warning for 30 minutes.
    target("recent", latency: { $0 <= 120 ? 1.5 : 0.5 }, errors: { $0 <= 1800 ? 0.03 : 0.001 }, hits: { _ in 0.9 })
    // No error series at all.
    target("missing", latency: { _ in 0.3 }, errors: nil, hits: { _ in 0.9 })
    // Everything stops 20 minutes before the end.
    target("stale", latency: { $0 > 1200 ? 0.3 : nil }, errors: { $0 > 1200 ? 0.001 : nil }, hits: { $0 > 1200 ? 0.9 : nil })
    target("healthy", latency: { _ in 0.2 }, errors: { _ in 0.001 }, hits: { _ in 0.95 })
    // Cache hit ratio halfway to critical for 40 minutes.
    target("cold", latency: { _ in 0.2 }, errors: { _ in 0.001 }, hits: { $0 <= 2400 ? 0.65 : 0.9 })
    return OpenMetricsWriter.write(series, start: end - 3 * 3600, end: end, step: 15)
}

@Suite("Analysis against a real Prometheus", .serialized)
struct AnalysisAgainstPrometheusTests {
    /// On Prometheus and on VictoriaMetrics alike: MetricsQL's differences (no lookback for a gap,
    /// its own staleness) must not move a score.
    @Test(arguments: MetricsBackend.allCases)
    func exactBottlenecksAndScores(on backend: MetricsBackend) async throws {
        let end = alignedNow()
        let policy = try PolicyLoader.load(text: gaugePolicy, file: "gauges.yaml")
        let assessment = try await withBackend(backend, gaugeHistory(end: end)) { sandbox in
            let client = try PrometheusClient(PrometheusConfiguration(url: sandbox.url))
            let counter = QueryCounter(client)
            let outcome = await AnalysisRun(policy: policy, source: counter, time: end).execute()
            await client.shutdown()
            #expect(outcome.errors.isEmpty, "\(outcome.errors)")
            #expect(counter.count == 3)
            return outcome.report.assessment
        }
        let scores = Dictionary(uniqueKeysWithValues: assessment.targets.map { ($0.target.labelValues[1], $0.score) })
        let statuses = Dictionary(uniqueKeysWithValues: assessment.targets.map { ($0.target.labelValues[1], $0.status) })
        func near(_ a: Double??, _ b: Double) -> Bool {
            guard let outer = a, let value = outer else { return false }
            return abs(value - b) < 1e-6
        }
        // steady: latency 2.5 s is past critical (0), errors and hits fine: (0·3 + 100·2 + 100·1) / 6.
        #expect(near(scores["steady"], 50))
        #expect(statuses["steady"] == .critical)
        #expect(near(scores["spike"], 100))
        #expect(statuses["spike"] == .healthy)
        // recent: latency 1.5 s (50), errors 3 % (50), hits fine: (50·3 + 50·2 + 100) / 6.
        #expect(near(scores["recent"], 350.0 / 6))
        #expect(statuses["recent"] == .degraded)
        // missing: errors unknown; latency and hits (weight 4 of 6) are known and fine.
        #expect(near(scores["missing"], 100))
        #expect(statuses["missing"] == .healthy)
        #expect(assessment.targets.first { $0.target.labelValues[1] == "missing" }?.coverage == 4.0 / 6)
        #expect(scores["stale"] == .some(nil))
        #expect(statuses["stale"] == .unknown)
        #expect(near(scores["healthy"], 100))
        // cold: hits 65 % is halfway to critical (50): (100·3 + 100·2 + 50·1) / 6.
        #expect(near(scores["cold"], 550.0 / 6))
        #expect(statuses["cold"] == .degraded)
        // Overall: the mean of the six known targets.
        #expect(near(.some(assessment.score), (50 + 100 + 350.0 / 6 + 100 + 100 + 550.0 / 6) / 6))
        #expect(assessment.status == .critical)

        let found = assessment.bottlenecks.map { "\($0.target.labelValues[1]) \($0.check) \($0.severity.rawValue) since -\(Int(end - $0.since))s" }
        #expect(found == [
            "steady latency critical since -1800s",
            "cold hits warning since -2400s",
            "recent errors warning since -1800s",
        ])
        let steady = try #require(assessment.bottlenecks.first)
        #expect(steady.value == 2.5 && steady.worst == 2.5 && steady.threshold == 2 && steady.points == 11)
        #expect(steady.query == #"max by (namespace, deployment) (test_latency_seconds{namespace!="",deployment!="",namespace="shop"})"#)
    }

    /// The demo's verdicts, scores, plan and objectives, on Prometheus and on VictoriaMetrics alike.
    @Test(arguments: MetricsBackend.allCases)
    func theDefaultPolicyFindsTheDemoBottlenecks(on backend: MetricsBackend) async throws {
        let end = (Date().timeIntervalSince1970 / DemoScenario.scrapeInterval).rounded(.down) * DemoScenario.scrapeInterval
        let policy = try PolicySource.load(nil)
        let report = try await withBackend(backend, DemoScenario.openMetrics(end: end)) { sandbox in
            let client = try PrometheusClient(PrometheusConfiguration(url: sandbox.url))
            let outcome = await AnalysisRun(policy: policy, source: client, time: end).execute()
            await client.shutdown()
            #expect(outcome.errors.isEmpty)
            // Six scored indicators, the request rate that latency and errors need as evidence, and three
            // that only the actions read (the TTL has none: it is read from the knob in the cluster); then
            // one to find the objectives' recording rules, and the two objectives over 5m, 30m, 1h, 6h and 28d.
            #expect(outcome.report.context.queries == 10 + 1 + 2 * 5)
            return outcome.report
        }
        let assessment = report.assessment
        let found = Set(assessment.bottlenecks.map { "\($0.target.labelValues[1]) \($0.check) \($0.severity.rawValue)" })
        #expect(found == [
            "checkout latency_p95 critical", "checkout cpu_utilization critical",
            "payments pool_utilization critical", "payments latency_p95 warning",
            "search cache_hit_ratio critical", "orders error_ratio critical",
        ])
        let statuses = Dictionary(uniqueKeysWithValues: assessment.targets.map { ($0.target.labelValues[1], $0.status) })
        #expect(statuses == ["checkout": .critical, "cart": .healthy, "catalog": .healthy, "payments": .critical,
                             "search": .critical, "orders": .critical, "inventory": .unknown])
        // The plan: the action that addresses each cause, and advice for what cannot be changed.
        let plan = try #require(report.plan)
        let changes = Set(plan.proposed.map { "\($0.target.labelValues[1]) \($0.action) \(Int($0.current))→\(Int($0.proposed))" })
        // checkout's latency objective burns fast with CPU past its target: the protective scale-out
        // (towards 50 %, a step of +4) outranks the checks' own (towards 70 %), which is held for it.
        // catalog is idle and within its objectives: scaled in.
        #expect(changes == ["checkout scale 4→8", "payments poolSize 20→28", "catalog scale 6→3"])
        let protect = try #require(plan.proposed.first { $0.target.labelValues[1] == "checkout" })
        #expect(protect.budget?.lever == .protect && protect.reason.contains("latency burns fast"))
        #expect(Set(plan.held.map { "\($0.target.labelValues[1]) \($0.action)" }) == ["search cacheTTL", "checkout scale"])
        // Without a cluster, the TTL's current value is unknown: the change is held, and says why.
        #expect(plan.held.first { $0.action == "cacheTTL" }?.failedRules.map(\.detail) == ["current value of env CACHE_TTL_SECONDS unknown: declare an indicator cache_ttl_seconds or give a cluster (--kubeconfig or --in-cluster) to read it from"])
        // orders burns its availability budget fast, but with CPU far under its target: errors from
        // a fault, not load, so no pods are added for them.
        #expect(plan.considered.contains { $0.contains("shop/orders: no protection") })
        #expect(plan.recommendations.map { "\($0.target.labelValues[1]) \($0.check)" } == ["orders error_ratio"])
        // The histogram is built so histogram_quantile reads the profile's p95 back.
        let checkout = try #require(assessment.targets.first { $0.target.labelValues[1] == "checkout" })
        let latency = try #require(checkout.checks.first { $0.check == "latency_p95" }?.value)
        #expect(abs(latency - 2.6) < 0.01, "p95 \(latency)")
    }

    @Test func queriesDoNotGrowWithTheNumberOfTargets() async throws {
        let end = alignedNow()
        var series: [SyntheticSeries] = []
        for (namespace, count) in [("ten", 10), ("thousand", 1000)] {
            for index in 0..<count {
                for name in ["test_latency_seconds", "test_error_ratio", "test_cache_hit_ratio"] {
                    series.append(gauge(name, "d\(index)", namespace: namespace, end: end) { _ in name == "test_cache_hit_ratio" ? 0.9 : 0.001 })
                }
            }
        }
        let history = OpenMetricsWriter.write(series, start: end - 1800, end: end, step: 60)
        var policy = try PolicyLoader.load(text: gaugePolicy, file: "gauges.yaml")
        policy.evaluation.lookbackSeconds = 600
        let counts = try await withPrometheus(history) { sandbox in
            var counts: [Int: (queries: Int, targets: Int)] = [:]
            for namespace in ["ten", "thousand"] {
                policy.targets.namespace = namespace
                let client = try PrometheusClient(PrometheusConfiguration(url: sandbox.url))
                let counter = QueryCounter(client)
                let outcome = await AnalysisRun(policy: policy, source: counter, time: end).execute()
                await client.shutdown()
                #expect(outcome.errors.isEmpty)
                counts[outcome.report.assessment.targets.count] = (counter.count, outcome.report.assessment.targets.count)
            }
            return counts
        }
        #expect(counts[10]?.queries == 3)
        #expect(counts[1000]?.queries == 3)
    }
}
