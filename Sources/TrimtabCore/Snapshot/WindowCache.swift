/// The windows `trimtab run` keeps between cycles, so a steady-state cycle asks Prometheus only for the
/// points since the last one instead of every indicator's whole window.
///
/// Each indicator keeps the series its query returned, by their full label sets, as the points
/// Prometheus answered (in time order; a point it did not return is not there, a NaN it returned is),
/// compactly (``Samples``: 8 bytes a point on the step grid). Built into a snapshot, the kept points are
/// shared, not copied, so the window costs its memory once. The kept window is exactly what a fresh read of the whole window at the same evaluation time
/// returns, as long as Prometheus still answers the same for the points kept: the last `overlapSeconds`
/// are always read again (late scrapes and rule evaluations land there), and the whole window is read
/// afresh when the query, the step or the grid changes, after a gap longer than the window, after a
/// failed read, and when the caller says so (a Prometheus restart, a policy reload).
public struct WindowCache: Sendable {
    struct Window: Sendable {
        var promql: String
        var step: Double
        /// A time on the grid; every point's time is `anchor + slot * step`.
        var anchor: Double
        /// The end of the last read merged in.
        var end: Double
        var series: [[String: String]: Samples]
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
    /// The forecasts' load history as last read, by load indicator (see `Cycle.readHistory`).
    public var history: [String: IndicatorData] = [:]
    /// With several teams' policies, each policy's own windows, by policy name.
    var scopes: [String: WindowCache] = [:]

    public init() {}

    /// The number of points kept, over every indicator and series (for the daemon's figures).
    public var pointsKept: Int {
        windows.values.reduce(0) { $0 + $1.series.values.reduce(0) { $0 + $1.count } } + scopes.values.reduce(0) { $0 + $1.pointsKept }
    }

    /// Forgets everything kept: the next read of every indicator is whole.
    public mutating func forgetAll() {
        windows = [:]
        scopes = [:]
    }

    /// The windows kept for one policy of several (empty the first time).
    public func scope(_ name: String) -> WindowCache { scopes[name] ?? WindowCache() }

    /// Keeps one policy's windows for its next read.
    public mutating func setScope(_ name: String, _ cache: WindowCache) { scopes[name] = cache }

    /// Forgets one indicator's window.
    public mutating func forget(_ indicator: String) { windows[indicator] = nil }

    /// What to ask for to bring an indicator's window up to `full`: the whole of `full` when nothing
    /// usable is kept, else only the points since the last read, re-reading the last `overlapSeconds`.
    public func query(for full: IndicatorQuery, overlapSeconds: Double) -> IndicatorQuery {
        guard let window = windows[full.indicator], window.promql == full.promql, window.step == full.step,
              let endSlot = window.slot(full.end), let fullStart = window.slot(full.start), let keptEnd = window.slot(window.end),
              endSlot >= keptEnd else { return full }
        let overlapSlots = max(1, Int((overlapSeconds / full.step).rounded(.up)))
        let startSlot = keptEnd - overlapSlots + 1
        guard startSlot > fullStart else { return full }
        var partial = full
        partial.start = window.time(startSlot)
        return partial
    }

    /// Merges an answer to `read` (as `query(for:overlapSeconds:)` gave it) into the window of `full`.
    /// Returns false when the answer was off the step grid; the window is then forgotten, and the
    /// caller uses the answer as a whole read.
    @discardableResult
    public mutating func merge(_ raw: [RawSeries], read: IndicatorQuery, full: IndicatorQuery, infos: [String] = []) -> Bool {
        let whole = read.start == full.start || windows[full.indicator] == nil
        var window = whole
            ? Window(promql: full.promql, step: full.step, anchor: full.end, end: full.end, series: [:], infos: infos)
            : windows[full.indicator]!
        // Taken out while it changes, so its arrays are uniquely referenced and change in place.
        windows[full.indicator] = nil
        guard window.slot(read.start) != nil, window.slot(full.start) != nil else { return false }
        for item in raw {
            for sample in item.samples where window.slot(sample.time) == nil { return false }
        }
        let half = full.step / 2
        if !whole {
            // Points that slid out of the window go, and the points read again are replaced whole (a
            // series the answer no longer has loses them), before anything is added. In place: the
            // snapshot that shared these arrays is gone by now, so each is cut and refilled in the
            // memory it has, and a steady cycle allocates nothing for its windows.
            Self.cut(&window) { $0 >= full.start - half && $0 < read.start - half }
        }
        for item in raw {
            guard !whole, window.series[item.labels] != nil else {
                window.series[item.labels] = item.samples
                continue
            }
            window.series[item.labels]!.append(contentsOf: item.samples)
        }
        if whole {
            Self.cut(&window) { $0 >= full.start - half }
        }
        window.end = full.end
        window.infos = infos
        windows[full.indicator] = window
        return true
    }

    /// Cuts every series of `window`, in place, to the points whose times `keep` accepts, and drops the
    /// series left empty.
    static func cut(_ window: inout Window, keep: (Double) -> Bool) {
        var emptied: [[String: String]] = []
        // The keys copied first: iterating the dictionary's own keys would share its storage, and the
        // first change would copy the dictionary and every array in it.
        for key in Array(window.series.keys) {
            window.series[key]?.keep(whereTime: keep)
            if window.series[key]?.isEmpty == true { emptied.append(key) }
        }
        for key in emptied { window.series[key] = nil }
    }

    /// The kept window of an indicator as the series a whole read returns, in no particular order; the
    /// arrays are the kept ones, shared.
    public func series(of indicator: String) -> [RawSeries] {
        guard let window = windows[indicator] else { return [] }
        return window.series.map { RawSeries(labels: $0.key, samples: $0.value) }
    }

    /// The kept window of an indicator, grouped by target as a whole read of `full` would be.
    public func indicatorData(for full: IndicatorQuery, groupBy: [String]) -> IndicatorData {
        IndicatorData.from(series(of: full.indicator), query: full, groupBy: groupBy, warnings: windows[full.indicator]?.infos ?? [])
    }
}
