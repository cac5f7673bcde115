import Foundation
import Testing
import TrimtabCLI
import TrimtabCore
import TrimtabCycle
import TrimtabPrometheus
import TrimtabSandbox
import TrimtabSim

/// The control benchmark reads `FastIndicators` (rate and histogram_quantile in Swift) instead of
/// Prometheus. Its figures count only if that is what the default policy's PromQL says: here the
/// simulation's own exposition (kube-state-metrics, cAdvisor, the client libraries, and the mixin's
/// owner series as deploy/prometheus/rules.yaml records it) is backfilled into the real Prometheus,
/// and both are compared at moments around a scale-out and a pool change that rolls the pods.
@Suite("FastIndicators against the real Prometheus")
struct FastIndicatorsAgreementTests {
    /// One scrape's exposition text, sample by sample.
    static func samples(_ text: String) -> [(series: String, value: Double)] {
        text.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { return nil }
            return (String(line[..<space]), value)
        }
    }

    /// The mixin's owner series for every pod, as the recording rule writes it.
    static func ownerSeries(_ cluster: SimCluster) -> [(series: String, value: Double)] {
        cluster.services.flatMap { service in
            service.pods.map { pod in
                ("namespace_workload_pod:kube_pod_owner:relabel{namespace=\"\(service.spec.namespace)\",pod=\"\(pod.name)\",workload=\"\(service.spec.name)\",workload_type=\"deployment\"}", 1.0)
            }
        }
    }

    @Test func theDefaultPolicysIndicatorsAgreeWithPrometheus() async throws {
        let policy = try PolicyLoader.load(text: DefaultPolicy.yaml, file: "default.yaml")
        let step = policy.evaluation.stepSeconds
        let duration = 2400.0
        let start = ((alignedNow() - duration - 600) / step).rounded(.down) * step
        var spec = ControlScenarios.webService("checkout", load: .ramp(from: 120, to: 260, seconds: duration))
        spec.autoscaler = nil
        var cluster = SimCluster(services: [spec], databases: [DatabaseSpec()], start: start)
        var indicators = FastIndicators(rateWindow: 300, scrapeInterval: 15, keep: 3600)
        // The moments compared: steady, after a scale-out (pods appearing), during and after a rollout.
        let scaleOutAt = start + 900, poolChangeAt = start + 1500
        let moments = [start + 840, start + 1080, start + 1260, start + 1560, start + 1620, start + 1800, start + 2340]
        var fast: [Double: Snapshot] = [:]
        var lines: [String: [(Double, Double)]] = [:]
        let dt = 5.0
        while cluster.time <= start + duration + 1e-6 {
            let time = cluster.time
            let elapsed = time - start
            if abs(time - scaleOutAt) < dt / 2 { cluster.update("checkout") { $0.replicas = 6 } }
            if abs(time - poolChangeAt) < dt / 2 { cluster.update("checkout") { $0.poolSize = 16 } }
            if elapsed.truncatingRemainder(dividingBy: 15) < dt / 2 {
                indicators.scrape(cluster)
                let scraped = Self.samples(StockExposition.kubeStateMetrics(cluster)) + Self.samples(StockExposition.cadvisor(cluster))
                    + Self.samples(StockExposition.application(cluster)) + Self.ownerSeries(cluster)
                for (series, value) in scraped { lines[series, default: []].append((time, value)) }
            }
            if elapsed.truncatingRemainder(dividingBy: step) < dt / 2 { indicators.evaluate(at: time) }
            if moments.contains(where: { abs($0 - time) < dt / 2 }) { fast[time] = indicators.snapshot(policy: policy, cluster: cluster, at: time) }
            cluster.step(dt)
        }
        // OpenMetrics wants each family's samples together, each series in time order.
        var text = ""
        for series in lines.keys.sorted() {
            for (time, value) in lines[series] ?? [] { text += "\(series) \(value.isNaN ? "NaN" : String(value)) \(Int(time.rounded()))\n" }
        }
        text += "# EOF\n"
        // A backfill has no staleness markers, which a scrape writes when a pod's series vanish: without
        // them a gone pod's series (its owner series, which every query joins on) would count for the
        // 5-minute lookback. A lookback under the scrape interval makes a series missing from the last
        // scrape vanish, as the marker would.
        let compared = try await withPrometheus(text, arguments: ["--query.lookback-delta=10s"]) { prometheus in
            let client = try PrometheusClient(PrometheusConfiguration(url: prometheus.url))
            var rows: [(moment: Double, indicator: String, prometheus: Double, fast: Double)] = []
            for moment in moments.sorted() {
                let read = await SnapshotReader(source: client).read(policy: policy, at: moment)
                #expect(read.errors.isEmpty, "\(read.errors)")
                let simulated = try #require(fast[moment])
                for name in FastIndicators.indicatorNames {
                    let real = read.snapshot.indicators[name]?.series.values.first?.last { $0.time <= moment + 1e-6 }
                    let computed = simulated.indicators[name]?.series.values.first?.last { $0.time <= moment + 1e-6 }
                    guard let real, let computed else {
                        Issue.record("\(name) at +\(Int(moment - start)) s: Prometheus \(real.map { "\($0.value)" } ?? "no point"), FastIndicators \(computed.map { "\($0.value)" } ?? "no point")")
                        continue
                    }
                    rows.append((moment, name, real.value, computed.value))
                }
            }
            await client.shutdown()
            return rows
        }
        #expect(compared.count == moments.count * FastIndicators.indicatorNames.count)
        // The tolerance: floating-point rounding only (measured: at most 1e-15 relative).
        for row in compared {
            let scale = max(abs(row.prometheus), abs(row.fast), 1e-12)
            #expect(abs(row.prometheus - row.fast) / scale <= 1e-9 || (row.prometheus.isNaN && row.fast.isNaN),
                    "\(row.indicator) at +\(Int(row.moment - start)) s: Prometheus \(row.prometheus), FastIndicators \(row.fast)")
        }
        // Not vacuous: the rollout is in the data. Two minutes into it, the old pods that served most of
        // the last five minutes have left the owner join, and the policy's request rate reads far below
        // the 200-odd requests a second offered; FastIndicators reads the same.
        let rollout = compared.first { $0.moment == start + 1620 && $0.indicator == "request_rate" }
        #expect((rollout?.prometheus ?? .infinity) < 150)
        let scaledOut = compared.first { $0.moment == start + 1080 && $0.indicator == "replicas" }
        #expect(scaledOut?.prometheus == 6)
    }
}
