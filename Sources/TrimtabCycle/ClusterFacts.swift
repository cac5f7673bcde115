import TrimtabCore

/// What the cluster says about the targets, read with one list per namespace (never one request per
/// target): which are frozen by annotation, and which have a HorizontalPodAutoscaler on their replicas.
public struct ClusterFacts: Sendable {
    public var frozen: Set<TargetID> = []
    /// Targets another controller holds still (a paused ScaledObject, a Rollout mid-canary), and why.
    public var heldBy: [TargetID: String] = [:]
    public var autoscalers: [TargetID: AutoscalerInfo] = [:]
    /// What the knobs hold that an action reads instead of an indicator (see `Policy.knobsReadFromCluster`).
    public var knobValues: [TargetID: [Knob: KnobState]] = [:]
    /// The objects of each target that Argo CD or Flux keep in step with Git.
    public var managed: [TargetID: [ManagedObject]] = [:]
    /// How each `restart: false` ConfigMap knob reaches the target's pods.
    public var configMapReach: [TargetID: [Knob: ConfigMapReach]] = [:]
    /// What the plan should know, in words.
    public var notes: [String] = []

    /// The annotation that stops Trimtab from changing a workload (`"true"`).
    public static let freezeAnnotation = "trimtab.io/freeze"

    public init(frozen: Set<TargetID> = [], autoscalers: [TargetID: AutoscalerInfo] = [:], knobValues: [TargetID: [Knob: KnobState]] = [:],
                notes: [String] = []) {
        self.frozen = frozen
        self.autoscalers = autoscalers
        self.knobValues = knobValues
        self.notes = notes
    }
}
