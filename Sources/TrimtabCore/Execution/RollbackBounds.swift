/// What a rollback may restore. The previous value comes from the journal, which is a file or a
/// ConfigMap a person can edit: a `before` of 100000 replicas must be refused, not restored.
public enum RollbackBounds {
    /// Limits no policy can widen: no Deployment runs 10,000 replicas on purpose, no pool holds
    /// 100,000 connections, no cache TTL is a year.
    public static func sanityLimit(for knob: Knob, action: String) -> ClosedRange<Double> {
        switch (knob, action) {
        case (.replicas, _): return 0...10_000
        case (.autoscalerMaxReplicas, _): return 1...10_000
        case (.autoscalerTargetUtilization, _): return 1...1_000
        case (.autoscalerScaleDownWindow, _): return 0...3_600
        case (_, "poolSize"): return 1...100_000
        case (_, "cacheTTL"): return 0...(30 * 86_400)
        default: return 0...1_000_000
        }
    }

    /// The bounds the policy's rule for this knob sets, when it has one.
    public static func policyBounds(for knob: Knob, action: String, policy: Policy) -> ClosedRange<Double>? {
        for rule in policy.actions {
            switch rule.action {
            case .scale(let scale) where knob == .replicas || action == "autoscalerMax":
                return Double(scale.min)...Double(scale.max)
            case .scale(let scale) where action == "autoscalerTarget":
                return scale.autoscalerTarget.minPercent...scale.autoscalerTarget.maxPercent
            case .scale(let scale) where action == "autoscalerScaleDown":
                return 0...scale.flapping.maxWindowSeconds
            case .poolSize(let pool) where pool.knob == knob:
                return Double(pool.min)...Double(pool.max)
            case .cacheTTL(let cache) where cache.knob == knob:
                return cache.minSeconds...cache.maxSeconds
            default:
                continue
            }
        }
        return nil
    }

    /// Why restoring the entry's previous value is refused, or `nil` when it may be restored. Outside
    /// the sanity limits (or not a number) is always refused; outside the policy's bounds unless forced.
    public static func refusal(_ entry: JournalEntry, policy: Policy, force: Bool) -> String? {
        // An absent value restores by removing the key or variable again.
        guard let before = entry.before else { return nil }
        guard let value = KnobValue.number(before) else {
            return "the journal records \"\(before)\" as the previous value of \(entry.knob), which is not a number; refusing to restore it (was the journal edited?)"
        }
        let sane = sanityLimit(for: entry.knob, action: entry.action)
        if !sane.contains(value) {
            return "restoring \(before) for \(entry.knob) is outside any sane value (\(KnobValue.text(sane.lowerBound))…\(KnobValue.text(sane.upperBound))); refusing it, with or without --force (was the journal edited?)"
        }
        if !force, let bounds = policyBounds(for: entry.knob, action: entry.action, policy: policy), !bounds.contains(value) {
            return "restoring \(before) for \(entry.knob) is outside the policy's bounds \(KnobValue.text(bounds.lowerBound))…\(KnobValue.text(bounds.upperBound)); refusing it (--force restores it anyway)"
        }
        return nil
    }
}
