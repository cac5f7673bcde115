import TrimtabCore

/// Each service's running totals at every scrape, from which the objectives' error ratios over any
/// range are read as the true shares of the requests served in it (the ratio of the increases of the
/// service's counters, which pods coming and going never reset). A latency objective counts requests
/// within the simulation's SLO (1 s, the default policy's latency objective), an availability
/// objective requests that did not fail.
public struct ObjectiveLedger: Sendable {
    struct Mark: Sendable {
        var time: Double
        var requests: Double
        /// Requests answered within the SLO.
        var fast: Double
        var errors: Double
    }

    var marks: [String: [Mark]] = [:]

    public init() {}

    /// The bytes the marks fill: the simulation's stand-in for Prometheus's storage, which grows with
    /// the simulated time (the soak tells it apart from Trimtab's memory). Pages of an array's spare
    /// capacity are not touched, so not resident: the count, not the capacity.
    public var bytesHeld: Int { marks.values.map { $0.count * MemoryLayout<Mark>.stride }.reduce(0, +) }

    mutating func record(_ cluster: SimCluster) {
        let index = QueueingModel.histogramBuckets.lastIndex { $0 <= cluster.slo + 1e-9 } ?? 0
        for service in cluster.services {
            let totals = service.totals
            marks[service.spec.name, default: []].append(Mark(time: cluster.time, requests: totals.requests,
                                                              fast: totals.buckets[index], errors: totals.errors))
        }
    }

    /// The totals at the last mark at or before `time` (the first mark when the range starts earlier).
    static func mark(at time: Double, in list: [Mark]) -> Mark? {
        guard let first = list.first else { return nil }
        if time <= first.time { return first }
        var low = 0, high = list.count - 1
        if list[high].time <= time { return list[high] }
        while high - low > 1 {
            let mid = (low + high) / 2
            if list[mid].time <= time { low = mid } else { high = mid }
        }
        return list[low]
    }

    /// Each service's request rate over each `step` ending at the points of `[start, end]`, as
    /// `rate(requests[step])` at that step reads it: the increase of its total over the step, per
    /// second. Points before the first scrape are absent, as Prometheus has none.
    public func requestRates(policy: Policy, cluster: SimCluster, start: Double, end: Double, step: Double) -> [TargetID: Samples] {
        var rates: [TargetID: Samples] = [:]
        for service in cluster.services {
            guard let list = marks[service.spec.name], let first = list.first else { continue }
            var points: [Sample] = []
            var time = end
            while time >= start - 1e-6 {
                if time - step >= first.time - 1e-6, let now = Self.mark(at: time, in: list), let before = Self.mark(at: time - step, in: list) {
                    points.append(Sample(time: time, value: (now.requests - before.requests) / step))
                }
                time -= step
            }
            rates[service.spec.target(under: policy)] = Samples(points.reversed())
        }
        return rates
    }

    /// The policy's objectives at `time`: per range, the bad share per target that served requests.
    public func readings(policy: Policy, cluster: SimCluster, at time: Double) -> [ObjectiveReading] {
        policy.objectives.map { objective in
            var ratios: [Double: [TargetID: Double]] = [:]
            for range in objective.ranges {
                var byTarget: [TargetID: Double] = [:]
                for service in cluster.services {
                    guard let list = marks[service.spec.name], let end = Self.mark(at: time, in: list),
                          let start = Self.mark(at: time - range, in: list) else { continue }
                    let requests = end.requests - start.requests
                    guard requests > 0 else { continue }
                    let good = objective.kind == .latency ? end.fast - start.fast : requests - (end.errors - start.errors)
                    byTarget[service.spec.target(under: policy)] = min(1, max(0, 1 - good / requests))
                }
                ratios[range] = byTarget
            }
            return ObjectiveReading(objective: objective.name, errorRatios: ratios)
        }
    }
}
