import Foundation

/// A seasonal forecast of one target's load (its request rate, say), made from the history a policy's
/// `scale.forecast` reads: daily seasonality once two days of history exist, weekly once two weeks
/// do. Two methods are fitted, seasonal-naive with trend (the same time a season ago, scaled by how
/// the last hour compares with the same hour a season ago) and additive Holt-Winters, and the one with
/// the lower backtest error over the last day is chosen. A forecast whose recent error is above the
/// rule's `maxError` is not used: the target is then sized reactively, as without one. Pure.
public struct LoadForecast: Sendable, Equatable, Codable {
    public enum Method: String, Sendable, Codable {
        case seasonalNaive = "seasonal-naive"
        case holtWinters = "holt-winters"
    }

    public var target: TargetID
    /// The indicator forecast.
    public var load: String
    /// The method chosen, and its season in seconds; nil without enough history.
    public var method: Method?
    public var seasonSeconds: Double?
    /// The chosen method's weighted absolute percentage error (sum |forecast − actual| / sum actual),
    /// `horizon` ahead, over the backtest (the last day) and over the last two hours.
    public var backtestError: Double?
    public var recentError: Double?
    /// The load now (the history's last point) and the most it is forecast to reach within the horizon.
    public var now: Double?
    public var peak: Double?
    /// The most it is forecast to reach within the horizon and `holdSeconds` after it: what an idle
    /// scale-in keeps room for, so pods the coming hour needs are not taken away only to come back.
    public var holdPeak: Double?
    public var holdSeconds: Double = 0
    public var horizonSeconds: Double
    /// Whether the plan may act on it.
    public var usable: Bool
    /// Why it is (not) used, in words.
    public var note: String
    /// What the plan made of it (set by the planner): the floor it asked for and the change, or why none.
    public var effect: String?

    public init(target: TargetID, load: String, horizonSeconds: Double, usable: Bool = false, note: String) {
        self.target = target
        self.load = load
        self.horizonSeconds = horizonSeconds
        self.usable = usable
        self.note = note
    }

    /// The forecast for `target` at `time` from `history` (points at `step`, oldest first; gaps allowed).
    /// `horizonSeconds` (the rule's by default) counts from `time`.
    public static func make(target: TargetID, history: [Sample], time: Double, rule: ForecastRule, horizonSeconds: Double? = nil,
                            holdSeconds: Double = 0) -> LoadForecast {
        let step = rule.stepSeconds
        let horizonSeconds = horizonSeconds ?? rule.horizonSeconds
        let horizon = max(1, Int((horizonSeconds / step).rounded(.up)))
        let futureSteps = horizon + Int((holdSeconds / step).rounded(.up))
        var forecast = LoadForecast(target: target, load: rule.load, horizonSeconds: horizonSeconds, note: "")
        forecast.holdSeconds = holdSeconds
        let grid = regular(history, time: time, step: step, count: Int((rule.historySeconds / step).rounded()) + 1)
        guard let last = grid.last, let now = last else {
            forecast.note = "no \(rule.load) point at the evaluation time"
            return forecast
        }
        forecast.now = now
        // From the first point read: a target younger than the history has less of it.
        let series = Array(grid[(grid.firstIndex { $0 != nil } ?? grid.count - 1)...])
        let known = series.compactMap { $0 }.count
        let span = Double(series.count - 1) * step
        let seasons = [86_400.0, 604_800].filter { span >= 2 * $0 + 86_400 - step / 2 }
        guard !seasons.isEmpty else {
            forecast.note = "\(PolicyDuration.format(span)) of \(rule.load) history; a daily season needs 3 days (two seasons and a day to backtest)"
            return forecast
        }
        guard Double(known) >= 0.8 * Double(series.count) else {
            forecast.note = "\(rule.load) history has too many gaps (\(known) of \(series.count) points)"
            return forecast
        }
        let backtestPoints = Int(86_400 / step)
        let recentPoints = max(1, Int(7_200 / step))
        var best: (method: Method, season: Double, backtest: Double, recent: Double, forecasts: [Double?])?
        for season in seasons {
            let period = Int((season / step).rounded())
            for method in [Method.seasonalNaive, .holtWinters] {
                let ahead = method == .seasonalNaive
                    ? seasonalNaive(series, period: period, horizon: horizon, step: step, futureSteps: futureSteps)
                    : holtWinters(series, period: period, horizon: horizon, futureSteps: futureSteps)
                guard let backtest = wape(series, ahead.backtest, last: backtestPoints),
                      let recent = wape(series, ahead.backtest, last: recentPoints) else { continue }
                if best == nil || backtest < best!.backtest {
                    best = (method, season, backtest, recent, ahead.future)
                }
            }
        }
        guard let best else {
            forecast.note = "no method could be backtested on the \(rule.load) history"
            return forecast
        }
        forecast.method = best.method
        forecast.seasonSeconds = best.season
        forecast.backtestError = best.backtest
        forecast.recentError = best.recent
        forecast.peak = best.forecasts.prefix(horizon).compactMap { $0 }.max().map { Swift.max(0, $0) }
        forecast.holdPeak = best.forecasts.compactMap { $0 }.max().map { Swift.max(0, $0) }
        let described = "\(best.method.rawValue), \(best.season == 86_400 ? "daily" : "weekly") season: error \(percent(best.backtest)) over the last day, \(percent(best.recent)) over the last 2h"
        if best.recent > rule.maxError || best.backtest > rule.maxError {
            forecast.note = "\(described), above the \(percent(rule.maxError)) allowed: sized reactively"
        } else if forecast.peak == nil {
            forecast.note = "\(described), but no point of the next \(PolicyDuration.format(horizonSeconds)) could be forecast"
        } else {
            forecast.usable = true
            forecast.note = described
        }
        return forecast
    }

    static func percent(_ ratio: Double) -> String { "\(Formatting.number((ratio * 1000).rounded() / 10)) %" }

    /// The history on a grid of `count` points at `step`, the last at `time`; nil where no point fell.
    static func regular(_ history: [Sample], time: Double, step: Double, count: Int) -> [Double?] {
        var values = [Double?](repeating: nil, count: max(1, count))
        let first = time - Double(values.count - 1) * step
        for sample in history where sample.value.isFinite {
            let index = Int(((sample.time - first) / step).rounded())
            if values.indices.contains(index) { values[index] = sample.value }
        }
        return values
    }

    /// Forecasts `horizon` steps ahead: `backtest[i]` is the forecast for point i made at i − horizon
    /// from the points before it; `future[k]` for k + 1 steps after the last point.
    struct Ahead {
        var backtest: [Double?]
        var future: [Double?]
    }

    /// The same time a season ago (the mean of its point and the two beside it, which smooths one
    /// burst away), times how the last hour compares with the same hour a season before (between ½
    /// and 2; 1 when a season ago had no load).
    static func seasonalNaive(_ y: [Double?], period: Int, horizon: Int, step: Double, futureSteps: Int? = nil) -> Ahead {
        let window = max(1, Int(3_600 / step))
        // Prefix sums of the known values and of how many are known.
        var sums = [0.0], counts = [0]
        for value in y {
            sums.append(sums.last! + (value ?? 0))
            counts.append(counts.last! + (value == nil ? 0 : 1))
        }
        func mean(_ from: Int, _ to: Int) -> Double? {  // over [from, to]
            let a = Swift.max(0, from), b = Swift.min(y.count - 1, to)
            guard a <= b, counts[b + 1] - counts[a] > 0 else { return nil }
            return (sums[b + 1] - sums[a]) / Double(counts[b + 1] - counts[a])
        }
        func forecast(origin: Int, at index: Int) -> Double? {
            guard origin - period - window + 1 >= 0, let reference = mean(index - period - 1, index - period + 1) else { return nil }
            let recent = mean(origin - window + 1, origin)
            let before = mean(origin - period - window + 1, origin - period)
            var ratio = 1.0
            if let recent, let before, before > 1e-9 { ratio = Swift.min(2, Swift.max(0.5, recent / before)) }
            return reference * ratio
        }
        var backtest = [Double?](repeating: nil, count: y.count)
        for index in y.indices where index - horizon >= 0 {
            backtest[index] = forecast(origin: index - horizon, at: index)
        }
        let origin = y.count - 1
        let future = (1...Swift.max(horizon, Swift.min(futureSteps ?? horizon, period))).map { forecast(origin: origin, at: origin + $0) }
        return Ahead(backtest: backtest, future: future)
    }

    /// Additive Holt-Winters (level α 0.2, trend β 0.01, season γ 0.2), started from the first two
    /// seasons; a missing point is filled with the one-step forecast.
    static func holtWinters(_ y: [Double?], period: Int, horizon: Int, futureSteps: Int? = nil) -> Ahead {
        var backtest = [Double?](repeating: nil, count: y.count)
        guard y.count >= 2 * period + 1 else { return Ahead(backtest: backtest, future: Array(repeating: nil, count: horizon)) }
        let alpha = 0.2, beta = 0.01, gamma = 0.2
        func seasonMean(_ k: Int) -> Double? {
            let known = y[(k * period)..<((k + 1) * period)].compactMap { $0 }
            return known.isEmpty ? nil : known.reduce(0, +) / Double(known.count)
        }
        guard let first = seasonMean(0), let second = seasonMean(1) else { return Ahead(backtest: backtest, future: Array(repeating: nil, count: horizon)) }
        var level = first
        var trend = (second - first) / Double(period)
        var season = (0..<period).map { (y[$0] ?? first) - first }
        // pending[i]: the forecast for point i made `horizon` steps before it.
        for index in period..<y.count {
            let slot = index % period
            let expected = level + trend + season[slot]
            let value = y[index] ?? expected
            let previous = level
            level = alpha * (value - season[slot]) + (1 - alpha) * (level + trend)
            trend = beta * (level - previous) + (1 - beta) * trend
            season[slot] = gamma * (value - level) + (1 - gamma) * season[slot]
            let target = index + horizon
            if target < y.count, index >= 2 * period {
                backtest[target] = level + Double(horizon) * trend + season[target % period]
            }
        }
        let last = y.count - 1
        let future = (1...Swift.max(horizon, Swift.min(futureSteps ?? horizon, period))).map { k -> Double? in level + Double(k) * trend + season[(last + k) % period] }
        return Ahead(backtest: backtest, future: future)
    }

    /// sum |forecast − actual| / sum actual over the last `last` points that have both; nil when none
    /// has or nothing was served.
    static func wape(_ y: [Double?], _ forecast: [Double?], last: Int) -> Double? {
        var error = 0.0, total = 0.0, pairs = 0
        for index in Swift.max(0, y.count - last)..<y.count {
            guard let actual = y[index], let predicted = forecast[index] else { continue }
            error += abs(Swift.max(0, predicted) - actual)
            total += abs(actual)
            pairs += 1
        }
        guard pairs >= Swift.max(1, last / 2) else { return nil }
        return total > 1e-9 ? error / total : (error > 1e-9 ? 1 : 0)
    }
}
