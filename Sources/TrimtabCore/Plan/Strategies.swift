import Foundation

/// Replica counts the way the HorizontalPodAutoscaler computes them.
public enum ScalingStrategy {
    /// `ceil(current × observed / target)`, or `current` inside the tolerance band.
    public static func recommendation(current: Int, utilization: Double, target: Double, tolerance: Double) -> Int {
        let ratio = utilization / target
        if abs(ratio - 1) <= tolerance + 1e-9 { return current }
        return Int((Double(current) * ratio - 1e-9).rounded(.up))
    }

    /// The outcome of one scaling decision.
    public struct Decision: Sendable, Equatable {
        public var desired: Int
        /// The raw recommendation now, before stabilization, steps and bounds.
        public var raw: Int
        /// How the step limit cut the change, if it did.
        public var stepNote: String?
        /// Stabilization and bounds, in words.
        public var notes: [String]
    }

    /// Desired replicas from the utilisation over the stabilization windows: for scale-up the
    /// lowest recommendation in its window wins, for scale-down the highest, so a dip or a spike
    /// alone does not move the count. A missing or NaN point in the scale-down window counts as
    /// "keep the current count": never scale down on missing data.
    ///
    /// - Parameters:
    ///   - points: utilisation points (oldest first), ending at the evaluation time.
    public static func decide(current: Int, points: Samples, time: Double, action: ScaleAction) -> Decision {
        func recommend(_ sample: Sample) -> Int? {
            sample.value.isFinite ? recommendation(current: current, utilization: sample.value, target: action.utilizationTarget,
                                                   tolerance: action.tolerance) : nil
        }
        let raw = points.last.flatMap(recommend) ?? current
        let upWindow = points.filter { $0.time >= time - action.scaleUp.stabilizationSeconds - 1e-6 }
        let downWindow = points.filter { $0.time >= time - action.scaleDown.stabilizationSeconds - 1e-6 }
        let upRecommendation = upWindow.map { recommend($0) ?? current }.min() ?? current
        let downRecommendation = downWindow.map { recommend($0) ?? current }.max() ?? current
        var notes: [String] = []
        var stepNote: String?
        var desired = current
        if upRecommendation > current {
            desired = upRecommendation
            let step = action.scaleUp.maxStep(from: current)
            if desired - current > step {
                stepNote = ("step limited to +\(step) (max of \(action.scaleUp.maxPods) pods and \(Formatting.number(action.scaleUp.maxPercent)) %)")
                desired = current + step
            }
        } else if downRecommendation < current {
            desired = downRecommendation
            let step = action.scaleDown.maxStep(from: current)
            if current - desired > step {
                stepNote = "step limited to −\(step) (\(Formatting.number(action.scaleDown.maxPercent)) %)"
                desired = current - step
            }
        } else if raw < current {
            notes.append("a scale-down to \(raw) is held by the \(PolicyDuration.format(action.scaleDown.stabilizationSeconds)) stabilization window (its highest recommendation is \(downRecommendation))")
        } else if raw > current {
            notes.append("a scale-up to \(raw) is held by the \(PolicyDuration.format(action.scaleUp.stabilizationSeconds)) stabilization window")
        }
        if desired > action.max {
            notes.append("capped at max \(action.max)")
            desired = action.max
        }
        if desired < action.min {
            notes.append("raised to min \(action.min)")
            desired = action.min
        }
        return Decision(desired: desired, raw: raw, stepNote: stepNote, notes: notes)
    }
}

/// Connection pool sizes.
public enum PoolStrategy {
    /// Connections one replica needs by Little's law: arrivals per second × seconds held × headroom.
    public static func littlesLaw(throughputPerReplica: Double, holdSeconds: Double, headroom: Double) -> Int {
        Int((throughputPerReplica * holdSeconds * headroom - 1e-9).rounded(.up))
    }

    /// The largest pool per replica that keeps `replicas × pool` within the database's connections.
    public static func budgetPerReplica(connections: Int, replicas: Int) -> Int {
        replicas > 0 ? connections / replicas : connections
    }

    /// The size one change may reach from `current`, by the action's step, bounds and budget.
    public static func bounded(current: Int, needed: Int, action: PoolSizeAction, budgetPerReplica: Int?) -> (size: Int, stepNote: String?, notes: [String]) {
        var size = needed
        var notes: [String] = []
        var stepNote: String?
        let step = max(1, Int((Double(current) * action.maxStepPercent / 100).rounded(.up)))
        if abs(size - current) > step {
            size = size > current ? current + step : current - step
            stepNote = "step limited to \(size > current ? "+" : "−")\(step) (\(Formatting.number(action.maxStepPercent)) %)"
        }
        if size > action.max { size = action.max; notes.append("capped at max \(action.max)") }
        if size < action.min { size = action.min; notes.append("raised to min \(action.min)") }
        if let budgetPerReplica, size > budgetPerReplica {
            size = max(budgetPerReplica, action.min)
            notes.append("held to \(budgetPerReplica) per replica by the database connection budget")
        }
        return (size, stepNote, notes)
    }
}

/// Cache TTLs, stepped by a factor.
public enum CacheTTLStrategy {
    public enum Direction: Sendable, Equatable { case longer, shorter }

    public static func next(current: Double, direction: Direction, action: CacheTTLAction) -> Double {
        switch direction {
        case .longer: return min(action.maxSeconds, max(action.minSeconds, current * action.factor))
        case .shorter: return max(action.minSeconds, min(action.maxSeconds, current / action.factor))
        }
    }
}
