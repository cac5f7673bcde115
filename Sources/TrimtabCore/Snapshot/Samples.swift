/// The points of one series, stored compactly: a series whose points fall on a step grid with none
/// missing (what a range query returns for a series that exists throughout) keeps only its values,
/// 8 bytes a point, and computes each time; any other keeps its points as they came, 16 bytes a
/// point. Either way it reads as the points in order, exactly as they were given: a time is never
/// rounded onto a grid it was not on, and a NaN value stays a point.
///
/// At 5,000 workloads a daemon keeps nine 40-minute windows, 7.2 million points: 58 MB this way
/// instead of 116 MB.
public struct Samples: RandomAccessCollection, Sendable, Equatable, ExpressibleByArrayLiteral, CustomStringConvertible {
    enum Storage: Sendable {
        /// Point `i` is at `start + Double(i) * step`.
        case grid(start: Double, step: Double, values: [Double])
        case points([Sample])
    }

    var storage: Storage

    init(storage: Storage) {
        self.storage = storage
    }

    /// The points, kept on a grid when they are on one.
    public init(_ points: [Sample]) {
        storage = Self.grid(points) ?? .points(points)
    }

    public init(arrayLiteral elements: Sample...) {
        self.init(elements)
    }

    public init() {
        storage = .points([])
    }

    /// `values` at `start`, `start + step`, …
    public init(start: Double, step: Double, values: [Double]) {
        storage = .grid(start: start, step: step, values: values)
    }

    /// The grid storage of `points` when every time is exactly `first + i * step`, for the step
    /// between the first two points; nil otherwise (fewer than two points, a gap, a time off the grid).
    static func grid(_ points: [Sample]) -> Storage? {
        guard points.count >= 2 else { return nil }
        let start = points[0].time
        let step = points[1].time - start
        guard step > 0, step.isFinite else { return nil }
        var values: [Double] = []
        values.reserveCapacity(points.count)
        for (index, point) in points.enumerated() {
            guard start + Double(index) * step == point.time else { return nil }
            values.append(point.value)
        }
        return .grid(start: start, step: step, values: values)
    }

    /// Whether the points are stored as values on a grid (8 bytes a point).
    public var isOnGrid: Bool {
        if case .grid = storage { return true }
        return false
    }

    public var startIndex: Int { 0 }

    public var endIndex: Int {
        switch storage {
        case .grid(_, _, let values): values.count
        case .points(let points): points.count
        }
    }

    public subscript(position: Int) -> Sample {
        switch storage {
        case .grid(let start, let step, let values): Sample(time: start + Double(position) * step, value: values[position])
        case .points(let points): points[position]
        }
    }

    /// The points as an array.
    public var array: [Sample] { Array(self) }

    /// The points at `range`, kept on the grid when they were on one; these very points (nothing
    /// copied) when `range` is all of them.
    public func slice(_ range: Range<Int>) -> Samples {
        if range == startIndex..<endIndex { return self }
        switch storage {
        case .grid(let start, let step, let values):
            guard range.count >= 2 else { return Samples(Array(self[range])) }
            return Samples(start: start + Double(range.lowerBound) * step, step: step, values: Array(values[range]))
        case .points(let points):
            return Samples(Array(points[range]))
        }
    }

    /// The positions of the run of points whose times `keep` accepts, from the first it accepts to the
    /// next it does not: for points in time order and an interval of times, the points in that interval.
    func positions(whereTime keep: (Double) -> Bool) -> Range<Int> {
        let first = firstIndex { keep($0.time) } ?? endIndex
        let end = self[first...].firstIndex { !keep($0.time) } ?? endIndex
        return first..<end
    }

    /// The run of points whose times `keep` accepts (see `positions(whereTime:)`).
    public func slice(whereTime keep: (Double) -> Bool) -> Samples {
        slice(positions(whereTime: keep))
    }

    /// Keeps, in place, the run of points `slice(whereTime:)` would return. Nothing is allocated: a
    /// window that slides keeps its array, so a daemon's steady cycles do not churn the heap.
    public mutating func keep(whereTime keep: (Double) -> Bool) {
        let range = positions(whereTime: keep)
        if range == startIndex..<endIndex { return }
        switch storage {
        case .grid(let start, let step, var values):
            // The enum lets go of the array first, so it is uniquely referenced and changes in place.
            storage = .points([])
            values.removeSubrange(range.upperBound...)
            values.removeSubrange(..<range.lowerBound)
            storage = .grid(start: start + Double(range.lowerBound) * step, step: step, values: values)
        case .points(var points):
            storage = .points([])
            points.removeSubrange(range.upperBound...)
            points.removeSubrange(..<range.lowerBound)
            storage = .points(points)
        }
    }

    /// Appends `more`, in place when the array is not shared and has room (a window that slid out as
    /// many points as come in has): on the grid still when `more` continues it exactly. An array that
    /// must grow, or is shared, gets exactly the room it needs: a window is kept for months.
    public mutating func append(contentsOf more: Samples) {
        if more.isEmpty { return }
        if isEmpty {
            self = more
            return
        }
        if case .grid(let start, let step, var values) = storage,
           more.indices.allSatisfy({ start + Double(values.count + $0) * step == more[$0].time }) {
            storage = .points([])
            values.reserveCapacity(values.count + more.count)
            if case .grid(_, _, let added) = more.storage {
                values.append(contentsOf: added)
            } else {
                for point in more { values.append(point.value) }
            }
            storage = .grid(start: start, step: step, values: values)
            return
        }
        var all: [Sample] = []
        all.reserveCapacity(count + more.count)
        all.append(contentsOf: self)
        all.append(contentsOf: more)
        self = Samples(all)
    }

    /// These points, then `more` (see `append(contentsOf:)`).
    public func appending(_ more: Samples) -> Samples {
        var joined = self
        joined.append(contentsOf: more)
        return joined
    }

    public static func == (lhs: Samples, rhs: Samples) -> Bool {
        lhs.elementsEqual(rhs)
    }

    public var description: String { array.description }
}

extension Samples: Codable {
    public init(from decoder: any Decoder) throws {
        self.init(try [Sample](from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        try array.encode(to: encoder)
    }
}
