import Foundation

/// Load anticipated: a scale rule's `forecast` raises the replicas ahead of a forecast peak by the
/// pods' start-up time, and holds an idle scale-in above what the peak needs. Never a scale-in on a
/// forecast; a forecast whose error is above the rule's allows nothing, and the target is sized
/// reactively as without one.
extension TargetPlanning {
    /// How far past the horizon an idle scale-in looks: it keeps the pods the forecast peak of the
    /// next hour needs, so a forecast that wavers does not take pods away only to add them back.
    static let forecastHoldSeconds: Double = 3_600

    /// This target's forecast under `scale`, or nil when the rule forecasts nothing.
    func loadForecast(_ scale: ScaleAction) -> LoadForecast? {
        guard let rule = scale.forecast else { return nil }
        guard let data = snapshot.history[rule.load] else {
            return LoadForecast(target: id, load: rule.load, horizonSeconds: rule.horizonSeconds, note: "the \(rule.load) history was not read")
        }
        if let failure = data.failure {
            return LoadForecast(target: id, load: rule.load, horizonSeconds: rule.horizonSeconds,
                                note: "the \(rule.load) history could not be read: \(failure.message); sized reactively")
        }
        // The history ends on its step's grid, up to a step before now: the horizon counts from there.
        let end = data.query.end
        return LoadForecast.make(target: id, history: Array(data.series[id] ?? []), time: end, rule: rule,
                                 horizonSeconds: max(0, snapshot.time - end) + rule.horizonSeconds, holdSeconds: Self.forecastHoldSeconds)
    }

    /// The replicas the forecast peak needs at the rule's utilisation target, from what one pod
    /// serves now at that target (the load now, per replica, per unit of utilisation); nil with the
    /// reason when it cannot be told.
    func forecastFloor(_ scale: ScaleAction, _ forecast: LoadForecast) -> (floor: Int, hold: Int, perPod: Double, peak: Double, holdPeak: Double)? {
        guard forecast.usable, let peak = forecast.peak, let now = forecast.now, now > 0,
              let replicas = value(scale.replicas), replicas >= 1,
              let utilization = value(scale.utilization), utilization >= 0.05 else { return nil }
        let perPod = now / (replicas * utilization) * scale.utilizationTarget
        guard perPod > 0 else { return nil }
        let pods = { (load: Double) in min(scale.max, max(scale.min, Int((load / perPod - 1e-9).rounded(.up)))) }
        let holdPeak = max(peak, forecast.holdPeak ?? peak)
        return (pods(peak), pods(holdPeak), perPod, peak, holdPeak)
    }

    /// Applies each scale rule's forecast to the drafts: a scale-out ahead of the peak when no other
    /// change reaches it, an idle scale-in held at what the peak needs. Returns the forecasts with
    /// their effect.
    func applyForecasts(_ result: inout Result) {
        for rule in policy.actions {
            guard case .scale(let scale) = rule.action, let declared = scale.forecast, var forecast = loadForecast(scale) else { continue }
            defer { result.forecasts.append(forecast) }
            let label = "\(rule.action.name) for \(id)"
            guard forecast.usable else {
                forecast.effect = "none: \(forecast.note)"
                continue
            }
            if context.autoscaledTargets.contains(id) {
                // An HPA owns the replicas: its minReplicas would be the floor, which Trimtab does not move yet.
                forecast.effect = "none: an autoscaler owns \(id)'s replicas; the forecast is shown, not acted on"
                continue
            }
            guard let (floor, hold, perPod, peak, holdPeak) = forecastFloor(scale, forecast), let replicas = value(scale.replicas) else {
                forecast.effect = "none: what one pod serves cannot be told (no load, replicas or \(scale.utilization) of 5 % or more now)"
                continue
            }
            let current = Int(replicas.rounded())
            let load = declared.load
            let perPodText = Formatting.number((perPod * 10).rounded() / 10)
            let serves = "at \(Formatting.value(scale.utilizationTarget, unit: .ratio)) \(scale.utilization) a pod serves \(perPodText)"
            let words = "\(load) forecast to reach \(Formatting.number(peak)) within \(PolicyDuration.format(forecast.horizonSeconds)) (now \(Formatting.number(forecast.now ?? 0))); \(serves): ceil(\(Formatting.number(peak)) / \(perPodText)) = \(floor)"
            // An idle scale-in goes no lower than the next hour's forecast peak needs.
            if let index = result.drafts.firstIndex(where: { $0.knob == .replicas && $0.proposed < $0.current }) {
                let proposed = Int(result.drafts[index].proposed.rounded())
                let holding = "\(load) forecast to reach \(Formatting.number(holdPeak)) within \(PolicyDuration.format(forecast.horizonSeconds + forecast.holdSeconds)); \(serves), so \(hold) are needed"
                if hold >= current {
                    result.drafts.remove(at: index)
                    result.considered.append("\(label): no scale-in, \(holding)")
                    forecast.effect = "the scale-in is held: the next hour's peak needs \(hold) of the \(current) replicas"
                    // A peak that needs more than there are is scaled out for, below.
                    if floor <= current { continue }
                } else if hold > proposed {
                    result.drafts[index].proposed = Double(hold)
                    result.drafts[index].reason += "; held at \(hold), what the next hour's forecast peak needs (\(holding))"
                    result.drafts[index].rules.append(RuleResult("forecast", true, "the scale-in stops at \(hold): \(holding)"))
                    forecast.effect = "the scale-in stops at \(hold) instead of \(proposed)"
                    continue
                } else {
                    forecast.effect = "none: the next hour's forecast peak needs \(hold), the scale-in to \(proposed) leaves enough"
                    continue
                }
            }
            if let other = result.drafts.first(where: { $0.knob == .replicas && $0.proposed >= Double(floor) }) {
                forecast.effect = "none: the scale-out to \(Formatting.number(other.proposed)) already reaches the \(floor) the peak needs"
                continue
            }
            // The rule's tolerance band, as for a scale-out on utilisation: a need within it of the
            // pods there are is noise in what one pod serves, and acting on it would flap.
            guard floor > current, peak / perPod > Double(current) * (1 + scale.tolerance) else {
                forecast.effect = "none: \(current) replicas serve the forecast peak (it needs \(Formatting.number((peak / perPod * 10).rounded() / 10)), within the \(Formatting.number(scale.tolerance * 100)) % tolerance)"
                continue
            }
            let step = scale.scaleUp.maxStep(from: current)
            let desired = min(floor, current + step)
            var rules = commonRules(knob: .replicas, inputs: [input(scale.replicas), input(scale.utilization)])
            rules.append(RuleResult("autoscaler", true, "no HorizontalPodAutoscaler on \(id)"))
            rules.append(RuleResult("forecast", true, "\(forecast.note), within the \(LoadForecast.percent(declared.maxError)) allowed"))
            rules.append(RuleResult("max step", true, desired < floor ? "reduced from \(floor) to \(desired), the step limit of \(step)" : "\(desired - current) within the step limit of \(step)"))
            rules.append(RuleResult("bounds", true, "\(desired) within \(scale.min)…\(scale.max)"))
            var draft = Planner.Draft(action: "scale", knob: .replicas, current: Double(current), proposed: Double(desired),
                                      reason: "ahead of a forecast peak: \(words); scale out \(current) → \(desired) \(PolicyDuration.format(declared.leadSeconds)) before it, the pods' start-up time",
                                      trigger: "", evidence: forecastEvidence(scale, forecast), rules: rules, benefit: 2)
            draft.forecast = forecast.note
            result.drafts.append(draft)
            forecast.effect = "scale out \(current) → \(desired) ahead of the peak (it needs \(floor))"
        }
    }

    func forecastEvidence(_ scale: ScaleAction, _ forecast: LoadForecast) -> [Evidence] {
        var evidence: [Evidence] = []
        if let now = forecast.now { evidence.append(Evidence(name: "\(forecast.load) now", value: now, unit: unit(forecast.load))) }
        if let peak = forecast.peak {
            evidence.append(Evidence(name: "\(forecast.load) forecast peak within \(PolicyDuration.format(forecast.horizonSeconds))", value: peak,
                                     unit: unit(forecast.load), note: forecast.method?.rawValue))
        }
        if let error = forecast.recentError { evidence.append(Evidence(name: "forecast error over the last 2h", value: error, unit: .ratio)) }
        if let utilization = value(scale.utilization) { evidence.append(self.evidence(scale.utilization, utilization)) }
        return evidence
    }
}
