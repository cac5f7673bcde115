import Foundation

extension TargetPlanning {
    /// Advice for a bottleneck no rule addressed.
    func recommendation(for bottleneck: Bottleneck) -> Recommendation {
        let value = Formatting.value(bottleneck.value, unit: bottleneck.unit)
        // What the indicator measures, as the policy declares it (`kind:`), not how it is spelt.
        let kind = policy.indicator(named: check(bottleneck.check)?.indicator ?? bottleneck.check)?.kind
        let text: String
        switch kind {
        case .errors:
            text = "Errors at \(value) are not a capacity problem Trimtab can scale away: look at recent deploys, failing dependencies and logs. Alert on it."
        case .memory:
            text = "Memory at \(value) of the limit: raise the memory limit or look for a leak. Trimtab does not change resource limits."
        case .latency:
            text = "Latency at \(value) with no saturated resource that a rule addresses: look for slow queries (a missing index?), slow downstream calls, or a noisy neighbour on the node."
        default:
            text = "\(bottleneck.check) at \(value) has no action rule whose cause matches; add one, or investigate by hand."
        }
        return Recommendation(target: id, check: bottleneck.check, text: text)
    }
}
