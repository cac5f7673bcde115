import Foundation

/// What other controllers' objects say about whether Trimtab may act on a target now. Pure: the
/// shell reads the objects, these judge them.

/// KEDA's pause annotations on a ScaledObject. `autoscaling.keda.sh/paused: "true"` stops KEDA
/// scaling (it keeps the replicas as they are); `autoscaling.keda.sh/paused-replicas: "N"` scales the
/// workload to N and holds it there. Either way an operator chose to hold the workload still.
public enum KEDAPause {
    public static let pausedAnnotation = "autoscaling.keda.sh/paused"
    public static let pausedReplicasAnnotation = "autoscaling.keda.sh/paused-replicas"
    public static let pausedScaleInAnnotation = "autoscaling.keda.sh/paused-scale-in"

    /// Why a ScaledObject with these annotations holds its target, or nil when it does not.
    public static func reason(scaledObject: String, annotations: [String: String]) -> String? {
        if let replicas = annotations[pausedReplicasAnnotation]?.trimmingCharacters(in: .whitespaces), !replicas.isEmpty {
            return "KEDA ScaledObject \(scaledObject) is paused at \(replicas) replicas (\(pausedReplicasAnnotation): \"\(replicas)\"); Trimtab leaves the workload alone until the annotation is removed"
        }
        if annotations[pausedAnnotation]?.trimmingCharacters(in: .whitespaces).lowercased() == "true" {
            return "KEDA ScaledObject \(scaledObject) is paused (\(pausedAnnotation): \"true\"); Trimtab leaves the workload alone until the annotation is removed"
        }
        return nil
    }
}

/// Where an Argo Rollouts `Rollout` stands, from its spec and status: a Rollout in the middle of an
/// update (a canary's steps, a blue-green switch), paused or aborted is left alone, since a change
/// now would start another revision or fight the steps a person is watching.
public struct RolloutProgress: Sendable, Equatable {
    public var name: String
    /// `spec.paused`.
    public var paused: Bool
    /// The number of `spec.strategy.canary.steps`, nil when it is not a canary.
    public var canarySteps: Int?
    public var blueGreen: Bool
    /// `status.currentPodHash` and `status.stableRS`: they differ while an update is under way.
    public var currentPodHash: String?
    public var stableRS: String?
    public var currentStepIndex: Int?
    /// The reasons of `status.pauseConditions` (`CanaryPauseStep`, `BlueGreenPause`, …).
    public var pauseReasons: [String]
    /// `status.abort`.
    public var aborted: Bool

    public init(name: String, paused: Bool = false, canarySteps: Int? = nil, blueGreen: Bool = false, currentPodHash: String? = nil,
                stableRS: String? = nil, currentStepIndex: Int? = nil, pauseReasons: [String] = [], aborted: Bool = false) {
        self.name = name
        self.paused = paused
        self.canarySteps = canarySteps
        self.blueGreen = blueGreen
        self.currentPodHash = currentPodHash
        self.stableRS = stableRS
        self.currentStepIndex = currentStepIndex
        self.pauseReasons = pauseReasons
        self.aborted = aborted
    }

    /// Why the Rollout holds its target now, or nil when it is settled (stable is current).
    public var holdReason: String? {
        let rollout = "Rollout \(name)"
        if aborted { return "\(rollout) was aborted (status.abort); Trimtab leaves it alone until a person retries or rolls it back" }
        if paused { return "\(rollout) is paused (spec.paused); Trimtab leaves it alone until it is resumed" }
        let updating = currentPodHash.map { current in stableRS.map { !$0.isEmpty && $0 != current } ?? false } ?? false
        if updating || !pauseReasons.isEmpty {
            var stage: String
            if let steps = canarySteps {
                let step = min(steps, currentStepIndex ?? 0)
                stage = "mid-canary, at step \(step) of \(steps)"
            } else if blueGreen {
                stage = "mid blue-green update"
            } else {
                stage = "mid-update"
            }
            if !pauseReasons.isEmpty { stage += ", paused (\(pauseReasons.joined(separator: ", ")))" }
            return "\(rollout) is \(stage): stable ReplicaSet \(stableRS ?? "none") is not yet the current \(currentPodHash ?? "revision"); Trimtab leaves it alone until the update finishes or is aborted"
        }
        return nil
    }
}
