import Testing
@testable import TrimtabCore

@Suite("Scaling, pool and TTL strategies at and around every threshold, tolerance and bound")
struct StrategyTests {
    @Test(arguments: [
        // (current, utilization, target, tolerance, expected)
        (4, 0.7, 0.7, 0.1, 4),     // on target
        (4, 0.77, 0.7, 0.1, 4),    // exactly at +10 %: inside the band
        (4, 0.7701, 0.7, 0.1, 5),  // just past it
        (4, 0.63, 0.7, 0.1, 4),    // exactly at −10 %
        (4, 0.6299, 0.7, 0.1, 4),  // just past: ceil(3.599) = 4, no change
        (4, 0.35, 0.7, 0.1, 2),    // half the target: half the replicas
        (4, 1.4, 0.7, 0.1, 8),     // double
        (3, 0.95, 0.7, 0.1, 5),    // ceil(4.07)
        (4, 0.0, 0.7, 0.1, 0),     // nothing used
        (4, 0.8, 0.7, 0.0, 5),     // no tolerance
    ])
    func hpaRecommendation(_ current: Int, _ utilization: Double, _ target: Double, _ tolerance: Double, _ expected: Int) {
        #expect(ScalingStrategy.recommendation(current: current, utilization: utilization, target: target, tolerance: tolerance) == expected)
    }

    static let time = 10_000.0
    static func points(_ values: [Double?]) -> Samples {
        Samples(values.enumerated().compactMap { index, value in
            value.map { Sample(time: time - Double(values.count - 1 - index) * 30, value: $0) }
        })
    }

    @Test func scaleDownWaitsForTheWholeStabilizationWindow() {
        let action = ScaleAction(utilizationTarget: 0.7, min: 1, max: 20)
        // 11 points over 5 minutes: low for the last 4 minutes only.
        let recent = ScalingStrategy.decide(current: 8, points: Self.points([0.7] + Array(repeating: 0.2, count: 10)), time: Self.time, action: action)
        #expect(recent.desired == 8)
        #expect(recent.raw == 3)
        #expect(recent.notes.first?.contains("held by the 5m stabilization window") == true)
        // Low for the whole window: the highest recommendation in it wins.
        let sustained = ScalingStrategy.decide(current: 8, points: Self.points([0.35] + Array(repeating: 0.2, count: 10)), time: Self.time, action: action)
        #expect(sustained.desired == 4)
    }

    @Test func aMissingPointInTheWindowBlocksScaleDown() {
        let action = ScaleAction(utilizationTarget: 0.7, min: 1, max: 20)
        var values: [Double?] = Array(repeating: 0.2, count: 11)
        values[5] = .nan
        #expect(ScalingStrategy.decide(current: 8, points: Self.points(values), time: Self.time, action: action).desired == 8)
    }

    @Test func scaleUpIsImmediateAndStepLimited() {
        let action = ScaleAction(utilizationTarget: 0.5, min: 1, max: 50)
        // From 2 at 5× the target: wants 10, may add max(4 pods, 100 % = 2) = 4.
        let decision = ScalingStrategy.decide(current: 2, points: Self.points([0.1, 0.1, 2.5]), time: Self.time, action: action)
        #expect(decision.desired == 6)
        #expect(decision.raw == 10)
        #expect(decision.stepNote == "step limited to +4 (max of 4 pods and 100 %)")
        // From 10: 100 % = 10 is the larger step.
        #expect(ScalingStrategy.decide(current: 10, points: Self.points([1.5]), time: Self.time, action: action).desired == 20)
    }

    @Test func scaleUpWindowTakesTheLowestRecommendation() {
        var action = ScaleAction(utilizationTarget: 0.5, min: 1, max: 50)
        action.scaleUp.stabilizationSeconds = 30
        #expect(ScalingStrategy.decide(current: 4, points: Self.points([0.5, 0.75, 1.0]), time: Self.time, action: action).desired == 6)
    }

    @Test(arguments: [(30, 20, 20), (0, 2, 2), (250, 2, 20)])
    func boundsClamp(_ utilizationPercent: Int, _ current: Int, _ expected: Int) {
        let action = ScaleAction(utilizationTarget: 0.1, min: 2, max: 20, scaleUp: StepPolicy(stabilizationSeconds: 0, maxPods: 100, maxPercent: 1000),
                                 scaleDown: StepPolicy(stabilizationSeconds: 0, maxPods: 100, maxPercent: 100))
        let decision = ScalingStrategy.decide(current: current, points: Self.points([Double(utilizationPercent) / 100]), time: Self.time, action: action)
        #expect(decision.desired == expected)
    }

    @Test(arguments: [(50.0, 0.1, 1.2, 6), (100, 0.05, 1.0, 5), (10, 0.25, 1.5, 4), (0, 1, 1.2, 0)])
    func littlesLaw(_ throughput: Double, _ hold: Double, _ headroom: Double, _ expected: Int) {
        #expect(PoolStrategy.littlesLaw(throughputPerReplica: throughput, holdSeconds: hold, headroom: headroom) == expected)
    }

    @Test func poolBoundsStepAndBudget() {
        let action = PoolSizeAction(knob: .env(name: "POOL", container: nil), min: 5, max: 40, maxStepPercent: 50)
        #expect(PoolStrategy.bounded(current: 10, needed: 12, action: action, budgetPerReplica: nil).size == 12)
        #expect(PoolStrategy.bounded(current: 10, needed: 30, action: action, budgetPerReplica: nil).size == 15)
        #expect(PoolStrategy.bounded(current: 30, needed: 60, action: action, budgetPerReplica: nil).size == 40)
        #expect(PoolStrategy.bounded(current: 10, needed: 14, action: action, budgetPerReplica: 12).size == 12)
        #expect(PoolStrategy.bounded(current: 10, needed: 14, action: action, budgetPerReplica: 12).notes.last?.contains("budget") == true)
        #expect(PoolStrategy.bounded(current: 10, needed: 30, action: action, budgetPerReplica: nil).stepNote == "step limited to +5 (50 %)")
        #expect(PoolStrategy.budgetPerReplica(connections: 100, replicas: 8) == 12)
    }

    @Test func ttlStepsByTheFactorWithinBounds() {
        let action = CacheTTLAction(knob: .env(name: "TTL", container: nil), minSeconds: 10, maxSeconds: 600, factor: 2)
        #expect(CacheTTLStrategy.next(current: 60, direction: .longer, action: action) == 120)
        #expect(CacheTTLStrategy.next(current: 400, direction: .longer, action: action) == 600)
        #expect(CacheTTLStrategy.next(current: 600, direction: .longer, action: action) == 600)
        #expect(CacheTTLStrategy.next(current: 60, direction: .shorter, action: action) == 30)
        #expect(CacheTTLStrategy.next(current: 15, direction: .shorter, action: action) == 10)
    }

    @Test func stepPolicyTakesTheLargerOfPodsAndPercent() {
        #expect(StepPolicy.scaleUpDefault.maxStep(from: 2) == 4)
        #expect(StepPolicy.scaleUpDefault.maxStep(from: 10) == 10)
        #expect(StepPolicy(stabilizationSeconds: 0, maxPods: 0, maxPercent: 10).maxStep(from: 3) == 1)
    }
}
