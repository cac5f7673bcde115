// Benchmarks: prints figures, asserts nothing. Run with
//   swift run -c release trimtab-bench
// Compare the ratios within one run; absolute times depend on the (shared, noisy) machine.
import Foundation
import TrimtabCLI
import TrimtabCore
import TrimtabPrometheus
import TrimtabSandbox

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}

let policyText = """
apiVersion: trimtab/v1
kind: Policy
metadata: {name: bench}
spec:
  targets: {groupBy: [namespace, deployment]}
  evaluation: {step: 30s, lookback: 10m}
  indicators:
    latency: {query: 'max by ($by) (bench_latency_seconds{$selector})', unit: seconds}
    errors: {query: 'max by ($by) (bench_error_ratio{$selector})', unit: ratio}
    hits: {query: 'max by ($by) (bench_cache_hit_ratio{$selector})', unit: ratio}
  checks:
    latency: {worse: higher, warning: 1s, critical: 2s, for: 5m, weight: 3}
    errors: {worse: higher, warning: 1%, critical: 5%, for: 5m, weight: 2}
    hits: {worse: lower, warning: 80%, critical: 50%, for: 10m, weight: 1}
"""

let clock = ContinuousClock()
var policy = try PolicyLoader.load(text: policyText, file: "bench.yaml")

// 1. The pure core: assessing a snapshot, by number of targets.
print("core: assess a snapshot (3 indicators, 41 points per series)")
print("targets  median ms  µs/target  ratio to 10")
var base = 0.0
for count in [10, 100, 1000, 10_000] {
    let time = 1_000_000.0
    let queries = IndicatorQuery.plan(for: policy, at: time)
    let data = queries.map { query in
        let raw = (0..<count).map { index in
            RawSeries(labels: ["namespace": "bench", "deployment": "d\(index)"],
                      samples: stride(from: query.start, through: time, by: 30).map { Sample(time: $0, value: index % 7 == 0 ? 2.5 : 0.3) })
        }
        return IndicatorData.from(raw, query: query, groupBy: policy.targets.groupBy)
    }
    let snapshot = Snapshot(time: time, indicators: data)
    var runs: [Double] = []
    for _ in 0..<5 {
        let start = clock.now
        let assessment = Assessor.assess(snapshot, policy: policy)
        precondition(assessment.targets.count == count)
        runs.append(seconds(clock.now - start))
    }
    let ms = median(runs) * 1000
    if count == 10 { base = ms }
    print(String(format: "%7d  %9.2f  %9.1f  %11.1f", count, ms, ms * 1000 / Double(count), ms / base))
}

// 2. End to end against a real Prometheus: queries sent and wall time, by number of targets.
print("\nanalyze against a real Prometheus (Debian's package) on 127.0.0.1")
let end = (Date().timeIntervalSince1970 / 60).rounded(.down) * 60 - 60
var series: [SyntheticSeries] = []
let sizes = [("ten", 10), ("hundred", 100), ("thousand", 1000)]
for (namespace, count) in sizes {
    for index in 0..<count {
        for name in ["bench_latency_seconds", "bench_error_ratio", "bench_cache_hit_ratio"] {
            series.append(SyntheticSeries(name: name, labels: ["namespace": namespace, "deployment": "d\(index)"]) { _ in
                name == "bench_cache_hit_ratio" ? 0.9 : 0.001
            })
        }
    }
}
let sandbox = try await PrometheusSandbox.start(openMetrics: OpenMetricsWriter.write(series, start: end - 1800, end: end, step: 15))
print("targets  queries  median wall ms  ratio to 10")
var baseWall = 0.0
for (namespace, count) in sizes {
    policy.targets.namespace = namespace
    var runs: [Double] = []
    var queries = 0
    for _ in 0..<5 {
        let client = try PrometheusClient(PrometheusConfiguration(url: sandbox.url))
        let start = clock.now
        let outcome = await AnalysisRun(policy: policy, source: client, time: end).execute()
        runs.append(seconds(clock.now - start))
        await client.shutdown()
        precondition(outcome.errors.isEmpty && outcome.report.assessment.targets.count == count, "\(outcome.errors)")
        queries = outcome.report.context.queries
    }
    let ms = median(runs) * 1000
    if count == 10 { baseWall = ms }
    print(String(format: "%7d  %7d  %14.1f  %11.1f", count, queries, ms, ms / baseWall))
}
sandbox.stop()
