/// The windows `trimtab run` keeps between cycles, so a steady-state cycle asks Prometheus only for the
/// points since the last one instead of every indicator's whole window.
///
/// Each indicator keeps the series its query returned, by their full label sets, as one array of
/// values on the query's step grid (a point Prometheus did not return is a marked NaN, distinct from a
/// NaN value it did return). Built into a snapshot, the kept window is exactly what a fresh read of the
/// whole window at the same evaluation time returns, as long as Prometheus still answers the same for
/// the points kept: the last `overlapSeconds` are always read again (late scrapes and rule evaluations
/// land there), and the whole window is read afresh when the query, the step or the grid changes, after
/// a gap longer than the window, after a failed read, and when the caller says so (a Prometheus restart,
/// a policy reload).
public struct WindowCache: Sendable {
    /// A point Prometheus did not return: a NaN with a payload no parsed value has.
    static let absent = Double(nan: 0x7A_B5E7, signaling: false)
    static func isAbsent(_ value: Double) -> Bool { value.bitPattern == absent.bitPattern }

    struct Series: Sendable {
        /// The grid index of `values[0]`.
        var first: Int
        var values: [Double]

        var last: Int { first + values.count - 1 }
        var isEmpty: Bool { !values.contains { !WindowCache.isAbsent($0) } }

        mutating func set(_ slot: Int, _ value: Double) {
            if values.isEmpty {
                first = slot
                values = [value]
            } else if slot < first {
                values.insert(contentsOf: Array(repeating: WindowCache.absent, count: first - slot), at: 0)
                first = slot
                values[0] = value
            } else if slot > last {
                values.append(contentsOf: Array(repeating: WindowCache.absent, count: slot - last - 1))
                values.append(value)
            } else {
                values[slot - first] = value
            }
        }

        /// Marks every point from `slot` on as absent (they are about to be read again).
        mutating func clear(from slot: Int) {
            guard slot <= last else { return }
            let keep = max(0, slot - first)
            values.removeSubrange(keep...)
        }

        /// Drops the points before `slot`.
        mutating func trim(before slot: Int) {
            guard slot > first else { return }
            let drop = min(values.count, slot - first)
            values.removeFirst(drop)
            first = slot
            while let head = values.first, WindowCache.isAbsent(head) {
                values.removeFirst()
                first += 1
            }
        }
    }

    struct Window: Sendable {
        var promql: String
        var step: Double
        /// A time on the grid; every point's time is `anchor + slot * step`.
        var anchor: Double
        /// The end of the last read merged in.
        var end: Double
        var series: [[String: String]: Series]
        var infos: [String]

        func slot(_ time: Double) -> Int? {
            let exact = (time - anchor) / step
            let slot = exact.rounded()
            // Off the grid by more than a millisecond: a server that does not answer on the step grid.
            guard abs(exact - slot) * step < 0.001 else { return nil }
            return Int(slot)
        }

        func time(_ slot: Int) -> Double { anchor + Double(slot) * step }
    }

    var windows: [String: Window] = [:]

    public init() {}

    /// The number of points kept, over every indicator and series (for the daemon's figures).
    public var pointsKept: Int { windows.values.reduce(0) { $0 + $1.series.values.reduce(0) { $0 + $1.values.count } } }

    /// Forgets everything kept: the next read of every indicator is whole.
    public mutating func forgetAll() { windows = [:] }

    /// Forgets one indicator's window.
    public mutating func forget(_ indicator: String) { windows[indicator] = nil }

    /// What to ask for to bring an indicator's window up to `full`: the whole of `full` when nothing
    /// usable is kept, else only the points since the last read, re-reading the last `overlapSeconds`.
    public func query(for full: IndicatorQuery, overlapSeconds: Double) -> IndicatorQuery {
        guard let window = windows[full.indicator], window.promql == full.promql, window.step == full.step,
              let endSlot = window.slot(full.end), window.slot(full.start) != nil, let keptEnd = window.slot(window.end),
              endSlot >= keptEnd else { return full }
        let overlapSlots = max(1, Int((overlapSeconds / full.step).rounded(.up)))
        let startSlot = keptEnd - overlapSlots + 1
        guard let fullStart = window.slot(full.start), startSlot > fullStart else { return full }
        var partial = full
        partial.start = window.time(startSlot)
        return partial
    }

    /// Merges an answer to `read` (as `query(for:overlapSeconds:)` gave it) into the window of `full`.
    /// Returns false when the answer was off the step grid; the window is then forgotten, and the
    /// caller uses the answer as a whole read.
    @discardableResult
    public mutating func merge(_ raw: [RawSeries], read: IndicatorQuery, full: IndicatorQuery, infos: [String] = []) -> Bool {
        var window: Window
        if read.start == full.start || windows[full.indicator] == nil {
            window = Window(promql: full.promql, step: full.step, anchor: full.end, end: full.end, series: [:], infos: infos)
        } else {
            window = windows[full.indicator]!
        }
        guard let readStart = window.slot(read.start), let fullStart = window.slot(full.start) else {
            windows[full.indicator] = nil
            return false
        }
        // The points read again are replaced whole: a series the answer no longer has loses them.
        for key in window.series.keys { window.series[key]?.clear(from: readStart) }
        for item in raw {
            var series = window.series[item.labels] ?? Series(first: readStart, values: [])
            for sample in item.samples {
                guard let slot = window.slot(sample.time) else {
                    windows[full.indicator] = nil
                    return false
                }
                series.set(slot, sample.value)
            }
            window.series[item.labels] = series
        }
        for key in Array(window.series.keys) {
            window.series[key]?.trim(before: fullStart)
            if window.series[key]?.isEmpty ?? true { window.series[key] = nil }
        }
        window.end = full.end
        window.infos = infos
        windows[full.indicator] = window
        return true
    }

    /// The kept window of an indicator as the series a whole read returns, in no particular order.
    public func series(of indicator: String) -> [RawSeries] {
        guard let window = windows[indicator] else { return [] }
        return window.series.map { labels, series in
            var samples: [Sample] = []
            samples.reserveCapacity(series.values.count)
            for (offset, value) in series.values.enumerated() where !Self.isAbsent(value) {
                samples.append(Sample(time: window.time(series.first + offset), value: value))
            }
            return RawSeries(labels: labels, samples: samples)
        }
    }

    /// The kept window of an indicator, grouped by target as a whole read of `full` would be.
    public func indicatorData(for full: IndicatorQuery, groupBy: [String]) -> IndicatorData {
        IndicatorData.from(series(of: full.indicator), query: full, groupBy: groupBy, warnings: windows[full.indicator]?.infos ?? [])
    }
}
