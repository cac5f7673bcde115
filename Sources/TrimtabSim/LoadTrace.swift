import Foundation

/// Requests per second over time: a named shape, or the points of a CSV, linear between points and
/// held flat beyond the last.
public struct LoadTrace: Sendable, Equatable {
    /// Points (seconds from the start, requests per second), in time order.
    public var points: [(time: Double, rps: Double)]
    public var name: String

    public init(name: String, points: [(time: Double, rps: Double)]) {
        self.name = name
        self.points = points
    }

    public static func == (lhs: LoadTrace, rhs: LoadTrace) -> Bool {
        lhs.name == rhs.name && lhs.points.elementsEqual(rhs.points) { $0.time == $1.time && $0.rps == $1.rps }
    }

    /// How long the trace lasts: its last point.
    public var duration: Double { points.last?.time ?? 0 }

    public func rate(at time: Double) -> Double {
        guard let first = points.first else { return 0 }
        if time <= first.time { return first.rps }
        var low = 0, high = points.count - 1
        if time >= points[high].time { return points[high].rps }
        while high - low > 1 {
            let mid = (low + high) / 2
            if points[mid].time <= time { low = mid } else { high = mid }
        }
        let a = points[low], b = points[high]
        return a.rps + (b.rps - a.rps) * (time - a.time) / (b.time - a.time)
    }

    /// A shape sampled every minute from `f(seconds)`.
    public static func shape(_ name: String, seconds: Double, _ f: (Double) -> Double) -> LoadTrace {
        LoadTrace(name: name, points: stride(from: 0.0, through: seconds, by: 60).map { ($0, max(0, f($0))) })
    }

    /// The same load all along.
    public static func steady(_ rps: Double, seconds: Double) -> LoadTrace {
        LoadTrace(name: "steady", points: [(0, rps), (seconds, rps)])
    }

    /// A day: lowest at 04:00, highest at 16:00 (`low` to `high`), with a short lunch bump.
    public static func diurnal(low: Double, high: Double, seconds: Double = 86_400) -> LoadTrace {
        shape("diurnal", seconds: seconds) { t in
            let hour = t / 3600
            let day = (1 - cos((hour - 4) / 24 * 2 * .pi)) / 2
            let lunch = exp(-pow((hour - 12.5) / 0.5, 2)) * 0.1
            return low + (high - low) * min(1, day + lunch)
        }
    }

    /// Days of traffic sampled every minute, with what real request logs show and a smooth curve does
    /// not: the daily shape of `diurnal`, weekends at `weekend` of weekdays (the trace starts on a
    /// Monday), noise that drifts from minute to minute (an AR(1) process with `noise` standard
    /// deviation, multiplicative), bursts of 1.3 to 1.8 times the load for 5–20 minutes about
    /// `burstsPerDay` times a day, and `gapHours` with no traffic at all at noon of the third day (an
    /// outage upstream, or a maintenance window) after which traffic returns over ten minutes. Deterministic for a `seed`.
    public static func multiDay(name: String, days: Int, low: Double, high: Double, weekend: Double = 0.6, noise: Double = 0.08,
                                burstsPerDay: Double = 3, gapHours: Double = 2, seed: UInt64) -> LoadTrace {
        var random = SplitMix64(seed: seed)
        let seconds = Double(days) * 86_400
        var drift = 0.0
        var burstUntil = -1.0, burstFactor = 1.0
        let gapStart = 2 * 86_400 + 12 * 3600.0, gapEnd = gapStart + gapHours * 3600
        let perMinute = burstsPerDay / 1440
        return LoadTrace(name: name, points: stride(from: 0.0, through: seconds, by: 60).map { t in
            let day = Int(t / 86_400) % 7
            let hour = t.truncatingRemainder(dividingBy: 86_400) / 3600
            let shape = (1 - cos((hour - 4) / 24 * 2 * .pi)) / 2 + exp(-pow((hour - 12.5) / 0.5, 2)) * 0.1
            var rps = (low + (high - low) * min(1, shape)) * (day >= 5 ? weekend : 1)
            // The noise drifts: 0.9 of the last minute's deviation and a fresh part, so its spread stays `noise`.
            drift = 0.9 * drift + (1 - 0.81).squareRoot() * noise * random.normal()
            rps *= max(0.2, 1 + drift)
            if t >= burstUntil, random.uniform() < perMinute {
                burstUntil = t + 300 + 900 * random.uniform()
                burstFactor = 1.3 + 0.5 * random.uniform()
            }
            if t < burstUntil { rps *= burstFactor }
            if gapHours > 0, t >= gapStart, t < gapEnd { rps = 0 }
            // Traffic comes back over ten minutes, as clients retry and caches in front refill.
            if gapHours > 0, t >= gapEnd, t < gapEnd + 600 { rps *= (t - gapEnd) / 600 }
            return (t, max(0, rps))
        })
    }

    /// `base` with a spike to `peak` at `at` seconds: up within a minute, held `hold` seconds, down over five.
    public static func flashSpike(base: Double, peak: Double, at: Double, hold: Double, seconds: Double) -> LoadTrace {
        LoadTrace(name: "flash-spike", points: [(0, base), (at, base), (at + 60, peak), (at + 60 + hold, peak),
                                                (at + 360 + hold, base), (seconds, base)])
    }

    /// From `from` to `to`, linearly over the whole trace.
    public static func ramp(from: Double, to: Double, seconds: Double) -> LoadTrace {
        LoadTrace(name: "ramp", points: [(0, from), (seconds, to)])
    }

    /// A trace read from CSV: a header `time_seconds,requests_per_second`, then one row per sample in
    /// time order. Errors name the file and line.
    public static func parseCSV(_ text: String, file: String) throws(TraceError) -> LoadTrace {
        var points: [(time: Double, rps: Double)] = []
        var sawHeader = false
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            let number = index + 1
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            if !sawHeader {
                guard fields == ["time_seconds", "requests_per_second"] else {
                    throw TraceError(file: file, line: number, message: "the header must be `time_seconds,requests_per_second`, found `\(line)`")
                }
                sawHeader = true
                continue
            }
            guard fields.count == 2 else {
                throw TraceError(file: file, line: number, message: "expected 2 fields (time_seconds,requests_per_second), found \(fields.count)")
            }
            guard let time = Double(fields[0]), time.isFinite else {
                throw TraceError(file: file, line: number, message: "time_seconds `\(fields[0])` is not a number")
            }
            guard let rps = Double(fields[1]), rps.isFinite, rps >= 0 else {
                throw TraceError(file: file, line: number, message: "requests_per_second `\(fields[1])` is not a number ≥ 0")
            }
            if let last = points.last, time <= last.time {
                throw TraceError(file: file, line: number, message: "time_seconds \(fields[0]) is not after the previous row's \(last.time)")
            }
            points.append((time, rps))
        }
        guard sawHeader else { throw TraceError(file: file, line: 1, message: "the file is empty; it needs the header `time_seconds,requests_per_second` and rows") }
        guard points.count >= 2 else { throw TraceError(file: file, line: 1, message: "a trace needs at least two rows, found \(points.count)") }
        let start = points[0].time
        return LoadTrace(name: (file as NSString).lastPathComponent, points: points.map { ($0.time - start, $0.rps) })
    }
}

/// A trace file that cannot be read, with where.
public struct TraceError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int
    public var message: String
    public var description: String { "\(file):\(line): \(message)" }
}

/// A small seeded generator (SplitMix64) so that a trace with noise is the same on every machine.
public struct SplitMix64: Sendable {
    var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func uniform() -> Double { Double(next() >> 11) / Double(UInt64(1) << 53) }

    /// Standard normal, by Box–Muller.
    public mutating func normal() -> Double {
        let u = max(uniform(), 1e-300), v = uniform()
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }
}
