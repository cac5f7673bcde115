import Testing
@testable import TrimtabCore

/// `Samples` keeps a series on its step grid (values only) when it can, and reads back exactly the
/// points it was given either way.
@Suite("Samples: compact points")
struct SamplesTests {
    static func points(_ times: [Double], value: (Double) -> Double = { $0 / 10 }) -> [Sample] {
        times.map { Sample(time: $0, value: value($0)) }
    }

    @Test func aSeriesOnItsStepGridKeepsValuesOnlyAndReadsBackExactly() {
        let given = Self.points(stride(from: 1_700_000_000.0, through: 1_700_002_400, by: 15).map { $0 })
        let samples = Samples(given)
        #expect(samples.isOnGrid)
        #expect(samples.count == given.count)
        #expect(samples.array == given)
        #expect(samples.last == given.last && samples[7] == given[7])
    }

    @Test("what is not on a grid is kept as given", arguments: [
        [0.0, 15, 45, 60],                  // a gap
        [0.0, 15, 30.5, 45],                // a time off the grid
        [0.0],                              // one point
        [30.0, 15, 0],                      // not in order
    ])
    func offTheGrid(times: [Double]) {
        let given = Self.points(times)
        let samples = Samples(given)
        #expect(!samples.isOnGrid)
        #expect(samples.array.map(\.time) == times)
    }

    @Test func aNaNValueIsAPointAndAFractionalGridIsExact() {
        var given = Self.points(stride(from: 0.5, through: 300.5, by: 7.5).map { $0 })
        given[3].value = .nan
        let samples = Samples(given)
        #expect(samples.isOnGrid)
        #expect(samples[3].value.isNaN && samples[3].time == given[3].time)
        #expect(samples.map(\.time) == given.map(\.time))
    }

    @Test func slicingAndAppendingStayOnTheGridWhenTheyContinueIt() {
        let all = Self.points(stride(from: 0.0, through: 600, by: 15).map { $0 })
        let samples = Samples(all)
        let middle = samples.slice(4..<20)
        #expect(middle.isOnGrid && middle.array == Array(all[4..<20]))
        let joined = middle.appending(Samples(Array(all[20..<30])))
        #expect(joined.isOnGrid && joined.array == Array(all[4..<30]))
        // A continuation with a gap, or off the step, is kept, though no longer on the grid.
        let gapped = middle.appending(Samples(Array(all[21..<30])))
        #expect(!gapped.isOnGrid && gapped.array == Array(all[4..<20]) + Array(all[21..<30]))
        #expect(middle.appending([]).array == middle.array && Samples().appending(middle).array == middle.array)
        // By times: the points of an interval, on the grid still.
        let byTime = samples.slice { $0 >= 60 && $0 < 300 }
        #expect(byTime.isOnGrid && byTime.array == Array(all[4..<20]))
        #expect(samples.slice { $0 > 600 }.isEmpty)
    }

    /// The address of the values' storage, to tell a change in place from a copy.
    static func storageAddress(_ samples: Samples) -> UnsafeRawPointer? {
        switch samples.storage {
        case .grid(_, _, let values): values.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
        case .points(let points): points.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
        }
    }

    @Test func aSlidingWindowChangesInPlaceAndReadsAsSliceAndAppend() {
        let all = Self.points(stride(from: 0.0, through: 900, by: 15).map { $0 })
        // A window of 40 points, slid by 3: cut the oldest 3 and the last 2 (read again), add 5.
        var window = Samples(Array(all[0..<40]))
        let before = Self.storageAddress(window)
        let expected = window.slice { $0 >= 45 && $0 < 570 }.appending(Samples(Array(all[38..<43])))
        window.keep { $0 >= 45 && $0 < 570 }
        window.append(contentsOf: Samples(Array(all[38..<43])))
        #expect(window == expected && window.array == Array(all[3..<43]))
        #expect(window.isOnGrid)
        #expect(Self.storageAddress(window) == before, "no new array: the window kept its memory")
        // Shared with a snapshot, the window is copied on change and the snapshot keeps its points.
        let snapshot = window
        window.keep { $0 >= 90 }
        #expect(snapshot.array == Array(all[3..<43]) && window.array == Array(all[6..<43]))
        // Off the grid and gapped points change in place too, and read as the slice would.
        var gapped = Samples(Self.points([0, 15, 45, 60, 75]))
        gapped.keep { $0 >= 15 && $0 < 75 }
        #expect(!gapped.isOnGrid && gapped.array.map(\.time) == [15, 45, 60])
        gapped.append(contentsOf: Samples(Self.points([75, 90])))
        #expect(gapped.array.map(\.time) == [15, 45, 60, 75, 90])
        // Cut to nothing, then refilled; a gap after the grid leaves it, as appending does.
        var emptied = Samples(Array(all[0..<5]))
        emptied.keep { $0 > 1000 }
        #expect(emptied.isEmpty)
        emptied.append(contentsOf: Samples(Array(all[7..<9])))
        #expect(emptied.array == Array(all[7..<9]))
        emptied.append(contentsOf: Samples(Array(all[10..<12])))
        #expect(!emptied.isOnGrid && emptied.array == Array(all[7..<9]) + Array(all[10..<12]))
    }

    @Test func equalityIsByPointsWhateverTheStorage() {
        let given = Self.points([0, 15, 30])
        let onGrid = Samples(given)
        let asGiven = Samples(storage: .points(given))
        #expect(onGrid.isOnGrid && !asGiven.isOnGrid)
        #expect(onGrid == asGiven)
        #expect(onGrid != Samples(Self.points([0, 15, 30], value: { $0 })))
    }
}
