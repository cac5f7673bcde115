/// Finds breaches that held for a whole `for` window, from the points of one series.
///
/// The rule matches a Prometheus alerting rule's `for`: every evaluation step from the start of the
/// window to the evaluation time must be present and past the warning threshold. A missing point (a
/// gap longer than one and a half steps) breaks the run, as a missing sample resets a pending alert.
public enum BreachDetector {
    /// The unbroken run of breaching points that ends at the evaluation time.
    public struct Run: Sendable, Equatable {
        public var since: Double
        public var startsAtFirstPoint: Bool
    }

    /// The run of points past `threshold` that ends at `time`, or `nil` when the last point is not one.
    public static func run(_ samples: Samples, at time: Double, step: Double, threshold: Double, worse: Direction) -> Run? {
        let relevant = samples.filter { $0.time <= time + step / 2 }
        guard let last = relevant.last, abs(last.time - time) <= step / 2,
              Scoring.breaches(last.value, threshold, worse) else { return nil }
        var since = last.time
        var index = relevant.count - 1
        while index > 0 {
            let previous = relevant[index - 1]
            guard relevant[index].time - previous.time <= step * 1.5,
                  Scoring.breaches(previous.value, threshold, worse) else { break }
            since = previous.time
            index -= 1
        }
        return Run(since: since, startsAtFirstPoint: index == 0)
    }

    /// The bottleneck a check's series shows at `time`, if the breach held for the whole `for` window.
    public static func bottleneck(_ samples: Samples, at time: Double, step: Double, check: Check, unit: IndicatorUnit,
                                  target: TargetID, query: String) -> Bottleneck? {
        guard let warningRun = run(samples, at: time, step: step, threshold: check.warning, worse: check.worse),
              time - warningRun.since >= check.forSeconds - step / 2 else { return nil }
        let criticalRun = run(samples, at: time, step: step, threshold: check.critical, worse: check.worse)
        let isCritical = criticalRun.map { time - $0.since >= check.forSeconds - step / 2 } ?? false
        let windowStart = time - check.forSeconds - step / 2
        let window = samples.filter { $0.time >= windowStart && $0.time <= time + step / 2 }
        let values = window.map(\.value)
        let worst = check.worse == .higher ? values.max() ?? .nan : values.min() ?? .nan
        let best = check.worse == .higher ? values.min() ?? .nan : values.max() ?? .nan
        let run = isCritical ? criticalRun! : warningRun
        return Bottleneck(target: target, check: check.name, indicator: check.indicator, unit: unit, worse: check.worse,
                          severity: isCritical ? .critical : .warning,
                          threshold: isCritical ? check.critical : check.warning,
                          value: window.last?.value ?? .nan, worst: worst, best: best,
                          since: run.since, sinceIsLowerBound: run.startsAtFirstPoint,
                          forSeconds: check.forSeconds, points: window.count, query: query)
    }
}
