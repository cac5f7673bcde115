import TrimtabCore

/// What Prometheus would hold of the simulation, scraped every `scrapeInterval`, and what the default
/// policy's queries compute from it, the way they compute it: per pod, `rate(…[window])` of each
/// counter series with Prometheus's extrapolation, summed over the pods whose owner series is present
/// at the evaluation (a pod gone from kube-state-metrics leaves the join at once, as its staleness
/// marker makes it); gauges of the last scrape; the p95 by `histogram_quantile`'s interpolation over
/// the summed bucket rates. Fast time reads this instead of Prometheus; a test holds it against the
/// real Prometheus evaluating the policy's PromQL over the same exported series.
public struct FastIndicators: Sendable {
    /// What one scrape saw of one pod.
    struct PodSample: Sendable {
        var time: Double
        /// Whether the application's series were exported (a pod exports them once ready).
        var ready: Bool
        var counters: SimCluster.PodCounters
    }

    /// One scrape of one service's gauges, summed over its pods.
    struct Scrape: Sendable {
        var time: Double
        /// The pods kube-state-metrics listed: those the owner join keeps.
        var pods: [String]
        var poolUsed: Double
        var poolMax: Double
        var poolSizeMax: Double
        var memory: Double
        var memoryLimit: Double
        var cpuRequests: Double
        var replicas: Double
    }

    public let rateWindow: Double
    public let scrapeInterval: Double
    /// The last scrape per service.
    var latest: [String: Scrape] = [:]
    /// Samples per service and pod, oldest first, trimmed to what the rate window needs.
    var samples: [String: [String: [PodSample]]] = [:]
    /// Indicator points per service and indicator, oldest first.
    var points: [String: [String: [Sample]]] = [:]
    let keep: Double
    /// The services' totals at every scrape, for the objectives.
    public var objectives = ObjectiveLedger()

    /// The indicators the default policy declares, computed here.
    public static let indicatorNames = ["request_rate", "latency_p95", "error_ratio", "cpu_utilization", "memory_utilization",
                                        "pool_utilization", "cache_hit_ratio", "replicas", "pool_size", "cache_evictions"]

    public init(rateWindow: Double = 300, scrapeInterval: Double = 15, keep: Double = 3 * 3600) {
        self.rateWindow = rateWindow
        self.scrapeInterval = scrapeInterval
        self.keep = keep
    }

    /// Records what a scrape would see now: app metrics of ready pods, kube-state-metrics and cAdvisor
    /// of every pod.
    public mutating func scrape(_ cluster: SimCluster) {
        objectives.record(cluster)
        for service in cluster.services {
            let ready = service.pods.filter { $0.isReady(at: cluster.time) }
            latest[service.spec.name] = Scrape(time: cluster.time, pods: service.pods.map(\.name),
                                               // As the exposition writes it: a pool's gauge counts whole connections.
                                               poolUsed: ready.map { $0.gauges.poolUsed.rounded() }.reduce(0, +),
                                               poolMax: ready.map { Double($0.poolSize) }.reduce(0, +),
                                               poolSizeMax: ready.map { Double($0.poolSize) }.max() ?? .nan,
                                               memory: service.pods.map(\.gauges.memoryBytes).reduce(0, +),
                                               memoryLimit: Double(service.pods.count) * service.spec.memoryLimitBytes,
                                               cpuRequests: Double(service.pods.count) * service.spec.cpuRequestCores,
                                               replicas: Double(service.settings.replicas))
            var pods = samples[service.spec.name, default: [:]]
            for pod in service.pods {
                pods[pod.name, default: []].append(PodSample(time: cluster.time, ready: pod.isReady(at: cluster.time), counters: pod.counters))
            }
            // What no rate window can reach any more goes: a gone pod's samples, then its entry.
            for name in Array(pods.keys) {
                pods[name]!.removeAll { $0.time < cluster.time - rateWindow - 2 * scrapeInterval }
                if pods[name]!.isEmpty { pods[name] = nil }
            }
            samples[service.spec.name] = pods
        }
    }

    /// `rate(series[window])` at `time` as Prometheus 2 computes it: the increase between the first and
    /// last sample in `[time − window, time]`, extrapolated towards the window's ends (by at most half
    /// a sample interval beyond 110 % of one, and never below zero at the start), per second; nil with
    /// fewer than two samples. The counters never reset: each pod's start at zero is a new series.
    static func rate(_ points: [(time: Double, value: Double)], at time: Double, window: Double) -> Double? {
        let inWindow = points.filter { $0.time >= time - window - 1e-9 && $0.time <= time + 1e-9 }
        guard let first = inWindow.first, let last = inWindow.last, inWindow.count >= 2, last.time > first.time else { return nil }
        let increase = last.value - first.value
        let sampled = last.time - first.time
        let average = sampled / Double(inWindow.count - 1)
        var toStart = first.time - (time - window)
        var toEnd = time - last.time
        if increase > 0 && first.value >= 0 {
            toStart = min(toStart, sampled * (first.value / increase))
        }
        let threshold = average * 1.1
        if toStart >= threshold { toStart = average / 2 }
        if toEnd >= threshold { toEnd = average / 2 }
        return increase * (sampled + toStart + toEnd) / sampled / window
    }

    /// The sum over the pods the owner join keeps of `rate` of one counter series per pod; `exported`
    /// says which samples the series has (an application series only while ready, a 5xx series once
    /// there is a 5xx). Nil when no pod has a rate, as Prometheus returns no series.
    func summedRate(_ pods: [String: [PodSample]], present: [String], at time: Double,
                    exported: (PodSample) -> Bool, _ value: (SimCluster.PodCounters) -> Double) -> Double? {
        var sum: Double?
        for name in present {
            guard let list = pods[name] else { continue }
            let series = list.filter(exported).map { (time: $0.time, value: value($0.counters)) }
            if let rate = Self.rate(series, at: time, window: rateWindow) { sum = (sum ?? 0) + rate }
        }
        return sum
    }

    /// Evaluates every indicator of every service at `time` and keeps the point.
    public mutating func evaluate(at time: Double) {
        for (name, now) in latest {
            let pods = samples[name] ?? [:]
            let present = now.pods
            func app(_ sample: PodSample) -> Bool { sample.ready }
            func rate(_ exported: (PodSample) -> Bool = app, _ value: (SimCluster.PodCounters) -> Double) -> Double? {
                summedRate(pods, present: present, at: time, exported: exported, value)
            }
            let ok = rate { $0.ok }
            let failed = rate({ $0.ready && $0.counters.timeouts > 0 }) { $0.timeouts }
            let requests = ok.map { $0 + (failed ?? 0) } ?? failed
            let cpu = rate({ _ in true }) { $0.cpuSeconds }
            let hits = rate { $0.hits }
            let gets = hits.flatMap { hits in rate { $0.misses }.map { hits + $0 } }
            let buckets = (0...QueueingModel.histogramBuckets.count).map { index in rate { $0.buckets[index] } ?? 0 }
            var values: [String: Double] = [
                "request_rate": requests ?? .nan,
                "error_ratio": requests.map { $0 > 0 ? (failed ?? 0) / $0 : .nan } ?? .nan,
                "cpu_utilization": now.cpuRequests > 0 ? (cpu ?? .nan) / now.cpuRequests : .nan,
                "memory_utilization": now.memoryLimit > 0 ? now.memory / now.memoryLimit : .nan,
                "pool_utilization": now.poolMax > 0 ? now.poolUsed / now.poolMax : .nan,
                "cache_hit_ratio": gets.flatMap { gets in gets > 0 ? hits.map { $0 / gets } : nil } ?? .nan,
                "replicas": now.replicas,
                "pool_size": now.poolSizeMax,
                "cache_evictions": rate { $0.evictions } ?? .nan,
            ]
            values["latency_p95"] = Self.histogramQuantile(0.95, counts: buckets)
            var series = points[name, default: [:]]
            for (indicator, value) in values {
                var list = series[indicator, default: []]
                list.append(Sample(time: time, value: value))
                if let first = list.first, time - first.time > keep { list.removeFirst() }
                series[indicator] = list
            }
            points[name] = series
        }
    }

    /// `histogram_quantile(q, …)` over cumulative bucket counts (the last is +Inf), as Prometheus
    /// interpolates: linearly within the bucket the rank falls in, from 0 for the first; the highest
    /// finite bound when it falls in +Inf; NaN with no observations.
    public static func histogramQuantile(_ q: Double, counts: [Double], bounds: [Double] = QueueingModel.histogramBuckets) -> Double {
        guard let total = counts.last, total > 0 else { return .nan }
        let rank = q * total
        for (index, count) in counts.enumerated() where count >= rank {
            guard index < bounds.count else { return bounds.last ?? .nan }
            let lower = index == 0 ? 0 : bounds[index - 1]
            let below = index == 0 ? 0 : counts[index - 1]
            let inBucket = count - below
            return inBucket > 0 ? lower + (bounds[index] - lower) * (rank - below) / inBucket : bounds[index]
        }
        return bounds.last ?? .nan
    }

    /// A snapshot as the policy's queries would return it at `time`: one target per service
    /// (`namespace`, `workload`), the policy's window at its step.
    public func snapshot(policy: Policy, cluster: SimCluster, at time: Double) -> Snapshot {
        let queries = IndicatorQuery.plan(for: policy, at: time)
        let data = queries.map { query -> IndicatorData in
            var series: [TargetID: Samples] = [:]
            for service in cluster.services {
                guard let list = points[service.spec.name]?[query.indicator] else { continue }
                let target = service.spec.target(under: policy)
                let inWindow = list.filter { $0.time >= query.start - 1e-6 && $0.time <= time + 1e-6 }
                if !inWindow.isEmpty { series[target] = Samples(inWindow) }
            }
            var indicator = IndicatorData(indicator: query.indicator, query: query, series: series)
            indicator.seriesReturned = series.count
            return indicator
        }
        return Snapshot(time: time, indicators: data)
    }
}
