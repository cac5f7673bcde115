import Foundation
import Testing
@testable import TrimtabCore

/// A load that surges to 3× at the same time every day, `lead` seconds after `SnapshotFixture.now`,
/// for an hour, with a little seeded noise: what a service with a morning peak serves.
func dailySurge(base: Double = 100, factor: Double = 3, noise: Double = 0.03, seed: UInt64 = 7) -> (Double) -> Double {
    { time in
        let offset = (time - SnapshotFixture.now - 600).truncatingRemainder(dividingBy: 86_400)
        let inDay = offset < 0 ? offset + 86_400 : offset
        let level = inDay < 3_600 ? factor * base : base
        // A deterministic jitter from the time itself, within ±noise.
        var x = UInt64(bitPattern: Int64(time)) &* 6_364_136_223_846_793_005 &+ seed
        x ^= x >> 33
        let unit = Double(x % 10_000) / 10_000 * 2 - 1
        return level * (1 + noise * unit)
    }
}

/// Points of `load` every `step` for `days` up to `SnapshotFixture.now`.
func history(_ load: (Double) -> Double, days: Double, step: Double = 300) -> [Sample] {
    stride(from: SnapshotFixture.now - days * 86_400, through: SnapshotFixture.now, by: step).map { Sample(time: $0, value: load($0)) }
}

/// The planner's policy with a request rate and a forecast on its scale rule.
func forecastPolicy(_ forecast: String = "{load: request_rate}") throws -> Policy {
    let text = plannerPolicy
        .replacingOccurrences(of: "  indicators:\n", with: "  indicators:\n    request_rate: {query: 'q_rate{$selector}', unit: per-second}\n")
        .replacingOccurrences(of: "scale: {min: 2, max: 20, utilizationTarget: 0.6}", with: "scale: {min: 2, max: 20, utilizationTarget: 0.6, forecast: \(forecast)}")
    return try PolicyLoader.load(text: text, file: "forecast.yaml")
}

/// The plan for `situation` with `load`'s history read for the forecast.
func forecastPlan(_ situation: Situation, load: [Sample], policy: Policy? = nil) throws -> Plan {
    let policy = try policy ?? forecastPolicy()
    let fixture = situation.fixture(policy)
    var snapshot = fixture.snapshot
    for query in IndicatorQuery.history(for: policy, at: SnapshotFixture.now) {
        snapshot.history[query.indicator] = IndicatorData.from([RawSeries(labels: ["namespace": "shop", "deployment": "api"], samples: load)],
                                                              query: query, groupBy: policy.targets.groupBy)
    }
    return Planner.plan(Assessor.assess(snapshot, policy: policy), snapshot: snapshot, policy: policy)
}

@Suite("Load forecasts: a seasonal forecast raises the floor ahead of a peak and never scales in")
struct LoadForecastTests {
    static let rule = ForecastRule()

    @Test func aDailyPeakIsForecastAheadOfItsStart() {
        let forecast = LoadForecast.make(target: PlannerTests.target, history: history(dailySurge(), days: 8), time: SnapshotFixture.now, rule: Self.rule)
        #expect(forecast.usable, "\(forecast.note)")
        #expect(forecast.seasonSeconds == 86_400)
        #expect(forecast.method != nil)
        // Now the load is the base (about 100); within the next 10 minutes the surge (about 300) begins.
        #expect(abs((forecast.now ?? 0) - 100) < 5)
        let peak = forecast.peak ?? 0
        #expect(peak > 250 && peak < 350, "\(forecast)")
        #expect((forecast.recentError ?? 1) < 0.1 && (forecast.backtestError ?? 1) < 0.25, "\(forecast)")
    }

    @Test func tooLittleHistoryIsNoForecast() {
        let forecast = LoadForecast.make(target: PlannerTests.target, history: history(dailySurge(), days: 2), time: SnapshotFixture.now, rule: Self.rule)
        #expect(!forecast.usable)
        #expect(forecast.method == nil)
        #expect(forecast.note.contains("a daily season needs 3 days"), "\(forecast.note)")
    }

    @Test func aLoadWithNoSeasonIsSizedReactively() {
        // A random walk: no day is like the one before, so every method's backtest is poor.
        var level = 100.0
        var x: UInt64 = 42
        let points = stride(from: SnapshotFixture.now - 8 * 86_400, through: SnapshotFixture.now, by: 300).map { time -> Sample in
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            level = max(5, level * (0.7 + Double(x >> 40) / Double(1 << 24) * 0.6))
            return Sample(time: time, value: level)
        }
        let forecast = LoadForecast.make(target: PlannerTests.target, history: points, time: SnapshotFixture.now, rule: Self.rule)
        #expect(forecast.method != nil)
        #expect(!forecast.usable)
        #expect(forecast.note.contains("sized reactively"), "\(forecast.note)")
    }

    @Test func holtWintersAndSeasonalNaiveBothFollowASeasonalLoad() {
        let series = LoadForecast.regular(history(dailySurge(noise: 0), days: 8), time: SnapshotFixture.now, step: 300, count: 8 * 288 + 1)
        for ahead in [LoadForecast.seasonalNaive(series, period: 288, horizon: 2, step: 300), LoadForecast.holtWinters(series, period: 288, horizon: 2)] {
            let error = LoadForecast.wape(series, ahead.backtest, last: 288)
            #expect((error ?? 1) < 0.2, "\(String(describing: error))")
        }
    }

    @Test func aHealthyTargetScalesOutAheadOfTheForecastPeak() throws {
        // 4 replicas at 50 % CPU serve 100/s: a pod serves 100 / (4 × 0.5) × 0.6 = 30/s at the 60 % target.
        var situation = Situation()
        situation.values["cpu_utilization"] = { _ in 0.5 }
        let plan = try forecastPlan(situation, load: history(dailySurge(), days: 8))
        let action = try #require(plan.proposed.first, "\(plan.considered) \(String(describing: plan.forecasts))")
        #expect(action.action == "scale" && action.current == 4)
        // The peak (about 300/s) needs about 10 pods; the scale-up step allows at most +4 (or 100 %) from 4.
        #expect(action.proposed > 4)
        #expect(action.reason.hasPrefix("ahead of a forecast peak"), "\(action.reason)")
        #expect(action.rules.contains { $0.rule == "forecast" && $0.passed })
        #expect(action.forecast != nil)
        let forecast = try #require(plan.forecasts?.first)
        #expect(forecast.effect?.hasPrefix("scale out 4 →") == true, "\(String(describing: forecast.effect))")
    }

    @Test func aNeedWithinTheRulesToleranceChangesNothing() throws {
        // A pod serves 30/s at the target; a peak of 125/s needs 4.2 pods of the 4 there are, inside the
        // rule's 10 % band: noise in what one pod serves, not a reason to add a pod and take it away.
        var situation = Situation()
        situation.values["cpu_utilization"] = { _ in 0.5 }
        let plan = try forecastPlan(situation, load: history(dailySurge(factor: 1.25, noise: 0), days: 8))
        #expect(plan.actions.isEmpty, "\(plan.actions.map(\.reason))")
        #expect(plan.forecasts?.first?.effect?.contains("within the 10 % tolerance") == true, "\(String(describing: plan.forecasts?.first?.effect))")
    }

    @Test func aForecastNeverScalesIn() throws {
        // Busy enough that nothing else changes, and the load is forecast to fall to a tenth.
        var situation = Situation()
        situation.values["cpu_utilization"] = { _ in 0.55 }
        let falling: (Double) -> Double = { time in
            let offset = (time - SnapshotFixture.now - 600).truncatingRemainder(dividingBy: 86_400)
            let inDay = offset < 0 ? offset + 86_400 : offset
            return inDay < 3_600 || inDay > 86_400 - 1_200 ? 100 : 10
        }
        let plan = try forecastPlan(situation, load: history(falling, days: 8))
        #expect(plan.actions.isEmpty, "\(plan.actions.map(\.reason))")
        let forecast = try #require(plan.forecasts?.first)
        #expect(forecast.effect?.hasPrefix("none") == true, "\(String(describing: forecast.effect))")
    }

    @Test func anIdleScaleInStopsAtWhatTheForecastPeakNeeds() throws {
        // 8 replicas at 15 % CPU: idle, the scale-in goes to ceil(8 × 0.15 / 0.6) = 2. A pod serves
        // 100 / (8 × 0.15) × 0.6 = 50/s at the target, so the coming peak (about 300/s) needs about 6.
        var situation = Situation()
        situation.values["cpu_utilization"] = { _ in 0.15 }
        situation.values["replicas"] = { _ in 8 }
        let plan = try forecastPlan(situation, load: history(dailySurge(), days: 8))
        let action = try #require(plan.proposed.first)
        #expect(action.current == 8 && action.proposed >= 5 && action.proposed < 8, "\(action.proposed)")
        #expect(action.rules.contains { $0.rule == "forecast" && $0.detail.hasPrefix("the scale-in stops at") })
        // Without the forecast the same target scales in to 2.
        let reactive = try forecastPlan(situation, load: history(dailySurge(), days: 8), policy: PolicyLoader.load(text: plannerPolicy, file: "planner.yaml"))
        #expect(reactive.proposed.first?.proposed == 2)
    }

    @Test func aFailedHistoryReadIsNoForecastAndChangesNothingElse() throws {
        let policy = try forecastPolicy()
        var situation = Situation()
        situation.values["cpu_utilization"] = { _ in 0.15 }
        situation.values["replicas"] = { _ in 8 }
        let fixture = situation.fixture(policy)
        var snapshot = fixture.snapshot
        let query = try #require(IndicatorQuery.history(for: policy, at: SnapshotFixture.now).first)
        snapshot.history[query.indicator] = IndicatorData.failed(query, message: "Prometheus at http://127.0.0.1:9 answered 503")
        let plan = Planner.plan(Assessor.assess(snapshot, policy: policy), snapshot: snapshot, policy: policy)
        #expect(plan.proposed.first?.proposed == 2)
        #expect(plan.forecasts?.first?.effect?.contains("could not be read: Prometheus at http://127.0.0.1:9 answered 503") == true)
    }

    @Test func theHistoryQueryEndsOnTheForecastsStepGrid() throws {
        let policy = try forecastPolicy("{load: request_rate, history: 10d, step: 10m, lead: 2m, maxError: 30%}")
        let query = try #require(IndicatorQuery.history(for: policy, at: 1_000_123).first)
        #expect(query.indicator == "request_rate" && query.promql.hasPrefix("q_rate{") && query.promql.contains("namespace=\"shop\""), "\(query.promql)")
        #expect(query.step == 600 && query.end == 999_600 && query.start == 999_600 - 10 * 86_400)
        guard case .scale(let scale) = policy.actions[0].action else { Issue.record("not a scale rule"); return }
        #expect(scale.forecast == ForecastRule(load: "request_rate", historySeconds: 10 * 86_400, stepSeconds: 600, leadSeconds: 120, maxError: 0.3))
    }

    @Test(arguments: [
        ("{load: request_rate, history: 2d}", "forecast.yaml:27:66: error: spec.actions[0].scale.forecast.history is at least 3d"),
        ("{load: nothing_here}", "nothing_here"),
        ("{load: request_rate, step: 10s}", "spec.actions[0].scale.forecast.step is between 1m and 1h, found 10s"),
        ("{load: request_rate, soon: 1}", "soon"),
    ])
    func aBadForecastIsAnErrorAtItsPlace(_ forecast: String, _ says: String) {
        do {
            _ = try forecastPolicy(forecast)
            Issue.record("\(forecast) was accepted")
        } catch {
            #expect("\(error)".contains(says), "\(error)")
        }
    }

    @Test func aForecastScaleOutIsKeptWhateverTheLoadDoesNext() {
        var baseline = VerificationBaseline(score: 90, trigger: nil, triggerIndicator: nil, triggerValue: nil, breaching: [])
        baseline.forecast = "holt-winters, daily season"
        var entry = JournalEntry(id: "f1", actionID: "a", target: PlannerTests.target,
                                 workload: WorkloadRef(kind: "Deployment", namespace: "shop", name: "api"), action: "scale",
                                 knob: .replicas, before: "4", after: "8", reason: "ahead of a forecast peak", evidence: [], baseline: baseline,
                                 state: .applied, createdAt: 0, verifyAfterSeconds: 300, rollbackIfScoreDropsBy: 10)
        entry.appliedAt = 0
        // The peak came bigger than forecast: latency is in breach, the score fell. The pods stay.
        let target = TargetAssessment(target: PlannerTests.target, score: 40, status: .critical, coverage: 1, checks: [])
        guard case .keep(let why) = Verification.judge(entry, now: target, time: 600, cycleUnknown: false) else {
            Issue.record("not kept"); return
        }
        #expect(why.contains("ahead of a forecast peak"))
    }
}
