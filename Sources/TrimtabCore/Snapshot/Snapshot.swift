/// One workload, named by the values of the policy's groupBy labels (e.g. `shop/checkout`).
public struct TargetID: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The groupBy label names, in policy order.
    public let labelNames: [String]
    /// The label values, in the same order.
    public let labelValues: [String]

    public init(labelNames: [String], labelValues: [String]) {
        precondition(labelNames.count == labelValues.count, "a target needs one value per label")
        self.labelNames = labelNames
        self.labelValues = labelValues
    }

    /// The target's labels as a dictionary, for override matching.
    public var labels: [String: String] {
        Dictionary(zip(labelNames, labelValues), uniquingKeysWith: { a, _ in a })
    }

    public var description: String { labelValues.joined(separator: "/") }

    public static func < (lhs: TargetID, rhs: TargetID) -> Bool {
        lhs.labelValues.lexicographicallyPrecedes(rhs.labelValues)
    }
}

/// One point of a series: a Unix time in seconds and a value (which may be NaN or ±Inf).
public struct Sample: Sendable, Equatable, Codable {
    public var time: Double
    public var value: Double

    public init(time: Double, value: Double) {
        self.time = time
        self.value = value
    }
}

/// A series as the metrics source returned it: all its labels and its points.
public struct RawSeries: Sendable, Equatable {
    public var labels: [String: String]
    public var samples: Samples

    public init(labels: [String: String], samples: Samples) {
        self.labels = labels
        self.samples = samples
    }

    public init(labels: [String: String], samples: [Sample]) {
        self.init(labels: labels, samples: Samples(samples))
    }
}

/// The range query that reads one indicator for every target at once.
public struct IndicatorQuery: Sendable, Equatable, Codable {
    public var indicator: String
    public var promql: String
    public var start: Double
    public var end: Double
    public var step: Double

    public init(indicator: String, promql: String, start: Double, end: Double, step: Double) {
        self.indicator = indicator
        self.promql = promql
        self.start = start
        self.end = end
        self.step = step
    }

    /// The queries for one evaluation at `time`: one per checked indicator, never one per target.
    /// The window covers the longest `for` of the indicator's checks plus the policy's lookback, and
    /// its last point falls exactly on `time`.
    public static func plan(for policy: Policy, at time: Double) -> [IndicatorQuery] {
        plan(for: policy, at: time, indicators: policy.queriedIndicators)
    }

    /// The history queries of the policy's forecasts: each load indicator once, over its rule's
    /// history at its step, the last point on that step's grid at or before `time`.
    public static func history(for policy: Policy, at time: Double) -> [IndicatorQuery] {
        policy.forecastRules.compactMap { rule in
            guard let indicator = policy.indicator(named: rule.load) else { return nil }
            let end = (time / rule.stepSeconds).rounded(.down) * rule.stepSeconds
            return IndicatorQuery(indicator: rule.load, promql: PromQL.render(indicator.query, targets: policy.targets),
                                  start: end - rule.historySeconds, end: end, step: rule.stepSeconds)
        }
    }

    /// The queries for some indicators of `policy` (`policy check` sends every declared one).
    public static func plan(for policy: Policy, at time: Double, indicators: [Indicator]) -> [IndicatorQuery] {
        let step = policy.evaluation.stepSeconds
        let start = time - policy.windowSeconds
        return indicators.map {
            IndicatorQuery(indicator: $0.name, promql: PromQL.render($0.query, targets: policy.targets),
                           start: start, end: time, step: step)
        }
    }
}

/// What was read for one indicator.
public struct IndicatorData: Sendable, Equatable {
    /// Why an indicator could not be read: the error, already worded for an operator.
    public struct Failure: Sendable, Equatable, Codable {
        public var message: String
        public init(message: String) { self.message = message }
    }

    public var indicator: String
    public var query: IndicatorQuery
    /// Points per target, compactly (``Samples``); empty when the query failed.
    public var series: [TargetID: Samples]
    /// Targets for which the query returned more than one series (the query is not aggregated by the groupBy labels).
    public var ambiguous: [TargetID: Int]
    /// Series that lacked a groupBy label and so belong to no target.
    public var unattributed: Int
    /// For the unattributed series: how many lacked each groupBy label.
    public var missingLabels: [String: Int] = [:]
    /// How many series the query returned in all.
    public var seriesReturned: Int = 0
    /// Informational notes the metrics source returned with the answer (never partial-data warnings,
    /// which fail the indicator).
    public var warnings: [String]
    public var failure: Failure?

    public init(indicator: String, query: IndicatorQuery, series: [TargetID: Samples] = [:],
                ambiguous: [TargetID: Int] = [:], unattributed: Int = 0, warnings: [String] = [],
                failure: Failure? = nil) {
        self.indicator = indicator
        self.query = query
        self.series = series
        self.ambiguous = ambiguous
        self.unattributed = unattributed
        self.warnings = warnings
        self.failure = failure
    }

    /// Groups the series a query returned by target.
    public static func from(_ raw: [RawSeries], query: IndicatorQuery, groupBy: [String], warnings: [String] = []) -> IndicatorData {
        var series: [TargetID: Samples] = [:]
        var counts: [TargetID: Int] = [:]
        var unattributed = 0
        var missingLabels: [String: Int] = [:]
        for item in raw {
            let values = groupBy.map { item.labels[$0] ?? "" }
            if values.contains("") {
                unattributed += 1
                for label in groupBy where (item.labels[label] ?? "").isEmpty { missingLabels[label, default: 0] += 1 }
                continue
            }
            let target = TargetID(labelNames: groupBy, labelValues: values)
            counts[target, default: 0] += 1
            // Prometheus answers in time order: keep the array as it came (shared, not copied).
            let ordered = item.samples.isOnGrid || zip(item.samples, item.samples.dropFirst()).allSatisfy { $0.time <= $1.time }
            series[target] = ordered ? item.samples : Samples(item.samples.sorted { $0.time < $1.time })
        }
        let ambiguous = counts.filter { $0.value > 1 }
        for target in ambiguous.keys { series[target] = nil }
        var data = IndicatorData(indicator: query.indicator, query: query, series: series, ambiguous: ambiguous,
                                 unattributed: unattributed, warnings: warnings)
        data.missingLabels = missingLabels
        data.seriesReturned = raw.count
        return data
    }

    public static func failed(_ query: IndicatorQuery, message: String) -> IndicatorData {
        IndicatorData(indicator: query.indicator, query: query, failure: Failure(message: message))
    }
}

/// Everything one evaluation read: the values of every indicator for every target, at one time.
public struct Snapshot: Sendable, Equatable {
    /// The evaluation time (Unix seconds); the last point of every series falls here.
    public var time: Double
    public var indicators: [String: IndicatorData]
    /// The long history of each load indicator a `scale.forecast` names, at the forecast's step
    /// (`IndicatorQuery.history`); empty when the policy forecasts nothing.
    public var history: [String: IndicatorData] = [:]

    public init(time: Double, indicators: [IndicatorData]) {
        self.time = time
        self.indicators = Dictionary(indicators.map { ($0.indicator, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// Every target any of the named indicators returned, sorted.
    public func targets(in names: Set<String>) -> [TargetID] {
        var all = Set<TargetID>()
        for data in indicators.values where names.contains(data.indicator) {
            all.formUnion(data.series.keys)
            all.formUnion(data.ambiguous.keys)
        }
        return all.sorted()
    }

    /// Why the indicators checks read found no target, one line per indicator: the query matched
    /// nothing, or what it matched lacked groupBy labels. Empty when some target was found.
    public func noTargetExplanation(checked names: Set<String>, groupBy: [String]) -> [String] {
        guard targets(in: names).isEmpty else { return [] }
        return indicators.values.filter { names.contains($0.indicator) && $0.failure == nil }.sorted { $0.indicator < $1.indicator }.map { data in
            if data.seriesReturned == 0 {
                return "\(data.indicator): the query matched no series: \(data.query.promql)"
            }
            let missing = data.missingLabels.sorted { $0.key < $1.key }.map { "\($0.key) (missing from \($0.value))" }
            return "\(data.indicator): \(data.seriesReturned) series, none with every groupBy label (\(groupBy.joined(separator: ", "))): lacking \(missing.joined(separator: ", ")); aggregate `by ($by)` and check that the series carry those labels"
        }
    }

    /// The latest value of an indicator for a target, if it is current (its last point is at the snapshot time).
    public func currentValue(_ indicator: String, for target: TargetID) -> Double? {
        guard let data = indicators[indicator], data.failure == nil, let samples = data.series[target],
              let last = samples.last, abs(last.time - time) <= data.query.step / 2, !last.value.isNaN else { return nil }
        return last.value
    }

    /// A check's points as far as they can judge: NaN (never a breach) at every step where the check's
    /// `minEvidence` indicator was under its minimum or missing; unchanged without a `minEvidence`.
    public func judgeable(_ samples: Samples, of check: Check, for target: TargetID) -> Samples {
        guard let minimum = check.minEvidence, let step = indicators[check.indicator]?.query.step else { return samples }
        var byStep: [Int: Double] = [:]
        for point in indicators[minimum.indicator]?.series[target] ?? [] { byStep[Int((point.time / step).rounded())] = point.value }
        return Samples(samples.map { sample in
            guard let amount = byStep[Int((sample.time / step).rounded())], amount >= minimum.atLeast else {
                return Sample(time: sample.time, value: .nan)
            }
            return sample
        })
    }

    /// The points of an indicator for a target within `seconds` before the snapshot time.
    public func window(_ indicator: String, for target: TargetID, seconds: Double) -> Samples {
        guard let data = indicators[indicator], let samples = data.series[target] else { return [] }
        let start = time - seconds - data.query.step / 2, end = time + data.query.step / 2
        return samples.slice { $0 >= start && $0 <= end }
    }
}
