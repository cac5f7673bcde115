import TrimtabCore

/// What Prometheus would hold of the simulation, scraped every `scrapeInterval`, and what the default
/// policy's queries compute from it: the same counters and gauges the live simulation exports, summed
/// per service as the queries sum them, with `rate(…[window])` as the difference of the totals over
/// the window and the p95 by `histogram_quantile`'s interpolation in the client libraries' buckets.
/// Fast time reads this instead of Prometheus.
public struct FastIndicators: Sendable {
    /// One scrape of one service, summed over its pods.
    struct Scrape: Sendable {
        var time: Double
        var totals: SimCluster.Totals
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
    /// Scrapes per service, oldest first, trimmed to what the longest window needs.
    var scrapes: [String: [Scrape]] = [:]
    /// Indicator points per service and indicator, oldest first.
    var points: [String: [String: [Sample]]] = [:]
    let keep: Double

    /// The indicators the default policy declares, computed here.
    public static let indicatorNames = ["request_rate", "latency_p95", "error_ratio", "cpu_utilization", "memory_utilization",
                                        "pool_utilization", "cache_hit_ratio", "replicas", "pool_size", "cache_evictions"]

    public init(rateWindow: Double = 300, scrapeInterval: Double = 15, keep: Double = 3 * 3600) {
        self.rateWindow = rateWindow
        self.scrapeInterval = scrapeInterval
        self.keep = keep
    }

    /// Records what a scrape would see now: app metrics of ready pods, kube-state-metrics of every pod.
    public mutating func scrape(_ cluster: SimCluster) {
        for service in cluster.services {
            let ready = service.pods.filter { $0.isReady(at: cluster.time) }
            let scrape = Scrape(time: cluster.time, totals: service.totals,
                                poolUsed: ready.map(\.gauges.poolUsed).reduce(0, +),
                                poolMax: ready.map { Double($0.poolSize) }.reduce(0, +),
                                poolSizeMax: ready.map { Double($0.poolSize) }.max() ?? .nan,
                                memory: service.pods.map(\.gauges.memoryBytes).reduce(0, +),
                                memoryLimit: Double(service.pods.count) * service.spec.memoryLimitBytes,
                                cpuRequests: Double(service.pods.count) * service.spec.cpuRequestCores,
                                replicas: Double(service.settings.replicas))
            var list = scrapes[service.spec.name, default: []]
            list.append(scrape)
            if let first = list.first, cluster.time - first.time > rateWindow + 120 { list.removeFirst() }
            scrapes[service.spec.name] = list
        }
    }

    /// Evaluates every indicator of every service at the cluster's time and keeps the point.
    public mutating func evaluate(at time: Double) {
        for (name, list) in scrapes {
            guard let now = list.last, let then = list.last(where: { $0.time <= now.time - rateWindow + 1e-6 }) ?? list.first,
                  now.time > then.time else { continue }
            let span = now.time - then.time
            let a = then.totals, b = now.totals
            let requests = (b.requests - a.requests) / span
            var values: [String: Double] = [
                "request_rate": requests,
                "error_ratio": requests > 0 ? (b.errors - a.errors) / (b.requests - a.requests) : .nan,
                "cpu_utilization": now.cpuRequests > 0 ? (b.cpuSeconds - a.cpuSeconds) / span / now.cpuRequests : .nan,
                "memory_utilization": now.memoryLimit > 0 ? now.memory / now.memoryLimit : .nan,
                "pool_utilization": now.poolMax > 0 ? now.poolUsed / now.poolMax : .nan,
                "cache_hit_ratio": b.gets > a.gets ? (b.hits - a.hits) / (b.gets - a.gets) : .nan,
                "replicas": now.replicas,
                "pool_size": now.poolSizeMax,
                "cache_evictions": (b.evictions - a.evictions) / span,
            ]
            values["latency_p95"] = Self.histogramQuantile(0.95, counts: zip(b.buckets, a.buckets).map { $0 - $1 })
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
                let target = TargetID(labelNames: policy.targets.groupBy,
                                      labelValues: policy.targets.groupBy.map { $0 == "namespace" ? service.spec.namespace : service.spec.name })
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
