import Testing
@testable import TrimtabCore

/// A range-query answerer with Prometheus's semantics for these tests: a series has a point at every
/// step of the query where it exists, with a value that depends only on the series and the time.
struct FakeRange {
    struct Series {
        var labels: [String: String]
        var exists: (Double) -> Bool
        var value: (Double) -> Double
    }
    var series: [Series]

    func answer(_ query: IndicatorQuery) -> [RawSeries] {
        series.compactMap { item in
            let samples = stride(from: query.start, through: query.end, by: query.step)
                .filter(item.exists).map { Sample(time: $0, value: item.value($0)) }
            return samples.isEmpty ? nil : RawSeries(labels: item.labels, samples: samples)
        }
    }
}

@Suite("WindowCache: a kept window equals a whole read")
struct WindowCacheTests {
    static let groupBy = ["namespace", "deployment"]

    static func full(at time: Double, window: Double = 600, step: Double = 15) -> IndicatorQuery {
        IndicatorQuery(indicator: "latency", promql: "max by (namespace, deployment) (latency)", start: time - window, end: time, step: step)
    }

    static func labels(_ name: String, pod: String? = nil) -> [String: String] {
        var labels = ["namespace": "shop", "deployment": name]
        if let pod { labels["pod"] = pod }
        return labels
    }

    static func text(_ series: [TargetID: Samples]) -> [String: String] {
        series.reduce(into: [:]) { result, item in result[item.key.description] = item.value.map { "\($0.time)=\($0.value)" }.joined(separator: ",") }
    }

    /// Reads incrementally at every time of `times` and checks each result against a whole read.
    static func check(_ source: FakeRange, times: [Double], overlap: Double = 30) {
        var cache = WindowCache()
        for time in times {
            let full = full(at: time)
            let asked = cache.query(for: full, overlapSeconds: overlap)
            let merged = cache.merge(source.answer(asked), read: asked, full: full)
            #expect(merged)
            let kept = cache.indicatorData(for: full, groupBy: groupBy)
            let whole = IndicatorData.from(source.answer(full), query: full, groupBy: groupBy)
            // Compared as text, so a NaN value equals a NaN value.
            #expect(Self.text(kept.series) == Self.text(whole.series), "at \(time)")
            #expect(kept.ambiguous == whole.ambiguous, "at \(time)")
            #expect(kept.seriesReturned == whole.seriesReturned, "at \(time)")
            #expect(kept.unattributed == whole.unattributed, "at \(time)")
        }
    }

    @Test func aSteadyWindowSlidesAndStaysEqualToAWholeRead() {
        let source = FakeRange(series: [
            .init(labels: Self.labels("api"), exists: { _ in true }, value: { ($0 / 15).truncatingRemainder(dividingBy: 7) }),
            .init(labels: Self.labels("web"), exists: { _ in true }, value: { _ in 0.25 }),
        ])
        Self.check(source, times: stride(from: 30_000.0, through: 31_200, by: 30).map { $0 })
    }

    @Test func aLaterReadAsksOnlyForTheNewPointsAndTheOverlap() {
        var cache = WindowCache()
        let first = Self.full(at: 30_000)
        #expect(cache.query(for: first, overlapSeconds: 30) == first)
        cache.merge([RawSeries(labels: Self.labels("api"), samples: [Sample(time: 30_000, value: 1)])], read: first, full: first)
        let next = Self.full(at: 30_030)
        let asked = cache.query(for: next, overlapSeconds: 30)
        // The two points since 30,000 and the last 30 s again: from 29,985.
        #expect(asked.start == 29_985)
        #expect(asked.end == 30_030)
        // A gap longer than the window: the whole window again.
        let late = Self.full(at: 31_000)
        #expect(cache.query(for: late, overlapSeconds: 30) == late)
        // Another query or step: whole.
        var other = next
        other.promql = "avg by (namespace, deployment) (latency)"
        #expect(cache.query(for: other, overlapSeconds: 30) == other)
        var offGrid = next
        offGrid.end += 7
        offGrid.start += 7
        #expect(cache.query(for: offGrid, overlapSeconds: 30) == offGrid)
    }

    @Test func targetsThatAppearAndDisappearMatchAWholeRead() {
        let source = FakeRange(series: [
            .init(labels: Self.labels("api"), exists: { _ in true }, value: { _ in 1 }),
            // Appears at 30,300, in the middle of the reads.
            .init(labels: Self.labels("new"), exists: { $0 >= 30_300 }, value: { $0 / 1000 }),
            // Gone after 30,200: its points stay in the window until they slide out of it.
            .init(labels: Self.labels("old"), exists: { $0 <= 30_200 }, value: { _ in 2 }),
            // Comes and goes.
            .init(labels: Self.labels("flaky"), exists: { Int($0 / 15) % 9 < 4 }, value: { _ in 3 }),
        ])
        Self.check(source, times: stride(from: 30_000.0, through: 31_500, by: 45).map { $0 })
    }

    @Test func nanValuesStayValuesAndMissingPointsStayMissing() {
        let source = FakeRange(series: [
            .init(labels: Self.labels("api"), exists: { Int($0 / 15) % 3 != 0 }, value: { Int($0 / 15) % 2 == 0 ? .nan : 0.5 }),
            .init(labels: Self.labels("inf"), exists: { _ in true }, value: { _ in .infinity }),
        ])
        Self.check(source, times: stride(from: 30_000.0, through: 30_900, by: 30).map { $0 })
    }

    @Test func twoSeriesOfOneTargetAreAmbiguousOnlyWhileBothAreInTheWindow() {
        let source = FakeRange(series: [
            .init(labels: Self.labels("api", pod: "a"), exists: { _ in true }, value: { _ in 1 }),
            .init(labels: Self.labels("api", pod: "b"), exists: { $0 <= 30_100 }, value: { _ in 2 }),
            .init(labels: ["namespace": "shop"], exists: { _ in true }, value: { _ in 9 }),
        ])
        Self.check(source, times: stride(from: 30_000.0, through: 31_000, by: 60).map { $0 })
    }

    @Test func theOverlapTakesInPointsThatChangedAfterTheyWereFirstRead() {
        // A late scrape: the point at the last read's end changes afterwards; the overlap reads it again.
        var cache = WindowCache()
        let first = Self.full(at: 30_000)
        cache.merge([RawSeries(labels: Self.labels("api"), samples: [Sample(time: 29_985, value: 1), Sample(time: 30_000, value: 1)])],
                    read: first, full: first)
        let next = Self.full(at: 30_015)
        let asked = cache.query(for: next, overlapSeconds: 15)
        #expect(asked.start == 30_000)
        cache.merge([RawSeries(labels: Self.labels("api"), samples: [Sample(time: 30_000, value: 5), Sample(time: 30_015, value: 6)])],
                    read: asked, full: next)
        let data = cache.indicatorData(for: next, groupBy: Self.groupBy)
        #expect(data.series.values.first?.map(\.value) == [1, 5, 6])
    }

    @Test func anAnswerOffTheStepGridIsTakenWholeAndNotKept() {
        var cache = WindowCache()
        let first = Self.full(at: 30_000)
        cache.merge([RawSeries(labels: Self.labels("api"), samples: [Sample(time: 30_000, value: 1)])], read: first, full: first)
        let next = Self.full(at: 30_015)
        let asked = cache.query(for: next, overlapSeconds: 15)
        let merged = cache.merge([RawSeries(labels: Self.labels("api"), samples: [Sample(time: 30_007.5, value: 1)])], read: asked, full: next)
        #expect(!merged)
        #expect(cache.query(for: next, overlapSeconds: 15) == next)
    }

    @Test func pointsKeptCountsEveryKeptPoint() {
        var cache = WindowCache()
        let full = Self.full(at: 30_000)
        let raw = (0..<100).map { index in
            RawSeries(labels: Self.labels("d\(index)"), samples: stride(from: full.start, through: full.end, by: full.step).map { Sample(time: $0, value: 1) })
        }
        cache.merge(raw, read: full, full: full)
        #expect(cache.pointsKept == 100 * 41)
    }
}
