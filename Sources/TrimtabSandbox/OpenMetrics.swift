import Foundation
import TrimtabCore

/// A synthetic series: a metric name, labels, and a value at each point in time (`nil` for no sample).
public struct SyntheticSeries: Sendable {
    public var name: String
    public var labels: [String: String]
    /// The value at a time (Unix seconds), or `nil` where the series has no sample.
    public var value: @Sendable (Double) -> Double?

    public init(name: String, labels: [String: String], value: @escaping @Sendable (Double) -> Double?) {
        self.name = name
        self.labels = labels
        self.value = value
    }

    /// A counter that grows at `rate(t)` per second, sampled every `step` seconds from `start` to `end`;
    /// `nil` from `rate` means the series has no sample there (and the counter pauses).
    public static func counter(name: String, labels: [String: String], start: Double, end: Double, step: Double,
                               rate: @escaping @Sendable (Double) -> Double?) -> SyntheticSeries {
        var values: [Int: Double] = [:]
        var total = 0.0
        var index = 0
        var time = start
        while time <= end + 1e-6 {
            if let perSecond = rate(time) {
                total += max(0, perSecond) * step
                values[index] = total
            }
            index += 1
            time += step
        }
        let table = values
        return SyntheticSeries(name: name, labels: labels) { time in
            table[Int(((time - start) / step).rounded())]
        }
    }
}

/// Writes series as OpenMetrics text, the input of `promtool tsdb create-blocks-from openmetrics`.
public enum OpenMetricsWriter {
    /// Samples of `series` every `step` seconds from `start` to `end` inclusive.
    public static func write(_ series: [SyntheticSeries], start: Double, end: Double, step: Double) -> String {
        var out = ""
        out.reserveCapacity(series.count * Int((end - start) / step + 1) * 80)
        // OpenMetrics wants all samples of one metric family together.
        let families = Dictionary(grouping: series, by: \.name).sorted { $0.key < $1.key }
        for (_, members) in families {
            for item in members {
                let prefix = ExpositionText.series(item.name, item.labels)
                var time = start
                while time <= end + 1e-6 {
                    if let value = item.value(time) {
                        out += "\(prefix) \(format(value)) \(Int(time.rounded()))\n"
                    }
                    time += step
                }
            }
        }
        out += "# EOF\n"
        return out
    }

    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value == .infinity { return "+Inf" }
        if value == -.infinity { return "-Inf" }
        return String(format: "%.6f", value)
    }
}
