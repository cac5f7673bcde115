// Benchmarks: prints figures, asserts nothing. Run with
//   swift run -c release trimtab-bench            # the core, analyze and the cluster side
//   swift run -c release trimtab-bench loop 1000 5000   # trimtab run's steady cycle, and memory
//   swift run -c release trimtab-bench loop --serve 5000  # its Prometheus and policy, kept up for profiling
//   swift run -c release trimtab-bench control          # control quality: fixed, HPA, Trimtab, HPA + Trimtab
//   swift run -c release trimtab-bench soak --days 30   # a month of trimtab run in fast time: memory, fds, journal
// Compare the ratios within one run; absolute times depend on the (shared, noisy) machine.
import Foundation
import TrimtabCLI
import TrimtabCore
import TrimtabCycle
import TrimtabKube
import TrimtabKubeSandbox
import TrimtabPrometheus
import TrimtabSandbox

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}

if CommandLine.arguments.dropFirst().first == "decode" {
    try DecodeBenchmark.run()
    exit(0)
}
if CommandLine.arguments.dropFirst().first == "control" {
    do { try await ControlQualityBenchmark.run(arguments: Array(CommandLine.arguments.dropFirst(2))) } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        exit(2)
    }
    exit(0)
}
if CommandLine.arguments.dropFirst().first == "soak" {
    do { try await SoakBenchmark.run(arguments: Array(CommandLine.arguments.dropFirst(2))) } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        exit(2)
    }
    exit(0)
}
if CommandLine.arguments.dropFirst().first == "loop", CommandLine.arguments.dropFirst(2).first == "--serve" {
    // The loop benchmark's Prometheus and policy, kept up for profiling by hand (heaptrack, callgrind).
    let workloads = CommandLine.arguments.dropFirst(3).first.flatMap { Int($0) } ?? 1000
    try await LoopBenchmark.serve(workloads: workloads)
    exit(0)
}
if CommandLine.arguments.dropFirst().first == "loop" {
    let sizes = CommandLine.arguments.dropFirst(2).compactMap { Int($0) }
    try await LoopBenchmark.run(sizes: sizes.isEmpty ? [1000, 5000] : sizes)
    exit(0)
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

// 3. The cluster side against the sandbox API server: reading the facts (one list of workloads and one of
// HPAs per namespace, whatever the number of targets) and dry-running one change per workload.
print("\ncluster side against the sandbox API server on 127.0.0.1")
print("workloads  facts requests  facts ms  dry-run requests  dry-run ms  ms/change  ratio to 10")
var baseChange = 0.0
for count in [10, 100, 1000] {
    let objects: [JSONValue] = (0..<count).map { index in
        let labels: JSONValue = ["app": .string("d\(index)")]
        return ["apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": ["name": .string("d\(index)"), "namespace": "bench", "labels": labels],
                "spec": ["replicas": 4, "selector": ["matchLabels": labels],
                         "template": ["metadata": ["labels": labels], "spec": ["containers": [["name": "app", "image": "bench:1"]]]]]]
    }
    let cluster = try await KubeSandbox.start(configuration: .init(objects: objects))
    let kube = try KubeClient(KubeConfiguration(server: cluster.url, token: KubeSandbox.adminToken))
    let targets = (0..<count).map { TargetID(labelNames: ["namespace", "deployment"], labelValues: ["bench", "d\($0)"]) }
    var benchPolicy = policy
    benchPolicy.targets.namespace = "bench"
    let started = clock.now
    let facts = try await ClusterFacts.read(targets: targets, policy: benchPolicy, client: kube)
    let factsSeconds = seconds(clock.now - started)
    precondition(facts.autoscalers.isEmpty)
    let factsRequests = cluster.requests.count
    cluster.clearRequests()
    let actions = targets.map { target in
        PlannedAction(id: "\(target)/replicas@1", target: target, action: "scale", knob: .replicas, current: 4, proposed: 6,
                      reason: "bench", trigger: "latency", evidence: [], rules: [], decision: .proposed, benefit: 1)
    }
    let plan = Plan(time: 1, mode: .dryRun, actions: actions, considered: [], recommendations: [])
    let journal = FileJournal(directory: FileManager.default.temporaryDirectory.appendingPathComponent("bench-journal-\(UUID().uuidString)").path)
    let endpoints = HTTPEndpointClient()
    let executor = Executor(cluster: KubeCluster(client: kube, http: endpoints, journal: journal), policy: benchPolicy)
    let assessment = Assessment(policy: "bench", time: 1, score: nil, status: .unknown, unknownReason: nil, targets: [], bottlenecks: [],
                                failures: [:], notes: [])
    let dryStart = clock.now
    let outcomes = try await executor.execute(plan, assessment: assessment, mode: .dryRun, time: 1)
    let drySeconds = seconds(clock.now - dryStart)
    precondition(outcomes.allSatisfy { $0.result == .wouldApply }, "\(outcomes.first { $0.result != .wouldApply }?.detail ?? "")")
    let perChange = drySeconds * 1000 / Double(count)
    if count == 10 { baseChange = perChange }
    print(String(format: "%9d  %14d  %8.1f  %16d  %10.1f  %9.2f  %11.2f", count, factsRequests, factsSeconds * 1000,
                 cluster.requests.count, drySeconds * 1000, perChange, perChange / baseChange))
    await kube.shutdown()
    await endpoints.shutdown()
    await cluster.stop()
}
