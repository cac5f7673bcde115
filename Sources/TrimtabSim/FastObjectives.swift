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
                    let target = TargetID(labelNames: policy.targets.groupBy,
                                          labelValues: policy.targets.groupBy.map { $0 == "namespace" ? service.spec.namespace : service.spec.name })
                    byTarget[target] = min(1, max(0, 1 - good / requests))
                }
                ratios[range] = byTarget
            }
            return ObjectiveReading(objective: objective.name, errorRatios: ratios)
        }
    }
}
