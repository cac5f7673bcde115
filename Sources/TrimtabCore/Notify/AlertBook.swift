/// An alert in Alertmanager's API v2 shape (`PostableAlert`): times are Unix seconds here and RFC 3339 on the wire.
public struct Alert: Sendable, Equatable, Codable {
    public var labels: [String: String]
    public var annotations: [String: String]
    public var startsAt: Double
    public var endsAt: Double
    public var generatorURL: String?

    public init(labels: [String: String], annotations: [String: String], startsAt: Double, endsAt: Double, generatorURL: String? = nil) {
        self.labels = labels
        self.annotations = annotations
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.generatorURL = generatorURL
    }

    public var name: String { labels["alertname"] ?? "" }

    /// The identity Alertmanager gives an alert: its label set.
    public var fingerprint: String {
        labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\u{1}")
    }
}

/// The alerts Trimtab raises. Every name is documented in docs/notifications.md.
public enum AlertName {
    /// A check in breach for its whole `for` window, while it holds.
    public static let bottleneck = "TrimtabBottleneck"
    /// A change a person must make, while the plan keeps asking for it (an HPA pinned at its maxReplicas).
    public static let decisionNeeded = "TrimtabDecisionNeeded"
    /// Prometheus or the cluster could not be read for several cycles in a row.
    public static let cannotRead = "TrimtabCannotRead"
    /// A change Trimtab applied (an event: sent once, ends by itself).
    public static let changeApplied = "TrimtabChangeApplied"
    /// A change Trimtab rolled back because it made things worse (an event).
    public static let rollback = "TrimtabRollback"
    /// An objective burning its error budget fast (critical: 14.4× over 1h and 5m), slowly (warning:
    /// 6× over 6h and 30m), or whose budget is spent (critical), while it holds.
    public static let budgetBurn = "TrimtabErrorBudgetBurn"

    /// The alerts that hold while a condition holds, and are resolved when it clears.
    public static let conditions: Set<String> = [bottleneck, decisionNeeded, cannotRead, budgetBurn]
}

/// What one cycle (or one `analyze`) found, as the notifications need it.
public struct CycleFacts: Sendable {
    public var assessment: Assessment
    public var plan: Plan?
    public var execution: ExecutionReport?
    /// The objectives per target, as this cycle judged them (none when the policy declares none).
    public var objectives: [ObjectiveStatus]
    /// Why Prometheus could not be read in full this cycle; nil when every query answered.
    public var metricsProblem: String?
    /// Why the cluster could not be read this cycle; nil when it answered, or when there is none.
    public var clusterProblem: String?

    public init(assessment: Assessment, plan: Plan? = nil, objectives: [ObjectiveStatus] = [], execution: ExecutionReport? = nil,
                metricsProblem: String? = nil, clusterProblem: String? = nil) {
        self.assessment = assessment
        self.plan = plan
        self.objectives = objectives
        self.execution = execution
        self.metricsProblem = metricsProblem
        self.clusterProblem = clusterProblem
    }
}

/// What one cycle has to say: every alert for Alertmanager, and the news for webhooks.
public struct NotificationBatch: Sendable, Equatable {
    public var policy: String
    public var time: Double
    public var score: Double?
    public var status: HealthStatus
    public var link: String?
    /// For every Alertmanager: new alerts, re-sends of those that still hold, resolutions (`endsAt` now) and events.
    public var alerts: [Alert]
    /// For webhooks: only what changed (an alert that began, one that was resolved, an event), once each.
    public var news: [News]

    public struct News: Sendable, Equatable {
        public enum Status: String, Sendable { case firing, resolved }
        public var status: Status
        public var alert: Alert
    }

    public init(policy: String, time: Double, score: Double?, status: HealthStatus, link: String?, alerts: [Alert], news: [News]) {
        self.policy = policy
        self.time = time
        self.score = score
        self.status = status
        self.link = link
        self.alerts = alerts
        self.news = news
    }

    public var isEmpty: Bool { alerts.isEmpty && news.isEmpty }
}

/// Remembers which alerts are active and decides, each cycle, what to send: the state machine behind
/// notifications, pure so that one-shot runs, the daemon and the tests share it.
///
/// - A condition alert (bottleneck, decision needed, cannot read) fires when it begins, is sent again
///   every `resendSeconds` while it holds with `endsAt` pushed ahead, and is resolved (`endsAt` now)
///   when it clears. Webhooks hear of it twice: when it begins and when it is resolved.
/// - An event (a change applied, a rollback) is sent once.
/// - Unknown is not clear: while Prometheus cannot be read, bottlenecks are neither re-sent nor resolved
///   (they end by themselves at `endsAt` if the blindness lasts); `TrimtabCannotRead` says why.
public struct AlertBook: Sendable {
    public var settings: NotifySettings
    /// Active condition alerts by fingerprint, with when each was last sent.
    public private(set) var active: [String: (alert: Alert, lastSent: Double)] = [:]
    private var failures: [String: Int] = [:]

    public init(settings: NotifySettings) {
        self.settings = settings
    }

    /// Takes in alerts that an earlier run sent and Alertmanager still holds (a one-shot run asks it),
    /// so a bottleneck that has cleared since is resolved instead of left to time out.
    public mutating func seed(_ alerts: [Alert], policy: String) {
        for alert in alerts where alert.labels["policy"] == policy && AlertName.conditions.contains(alert.name) {
            active[alert.fingerprint] = (alert, alert.startsAt)
        }
    }

    /// How far ahead `endsAt` is set: four resend periods, and at least four intervals, as Prometheus does.
    public func holdSeconds(interval: Double) -> Double {
        4 * max(settings.resendSeconds, interval)
    }

    public mutating func observe(_ facts: CycleFacts, now: Double, holdSeconds: Double) -> NotificationBatch {
        let policy = facts.assessment.policy
        let endsAt = now + holdSeconds
        var batch = NotificationBatch(policy: policy, time: now, score: facts.assessment.score, status: facts.assessment.status,
                                      link: settings.link, alerts: [], news: [])
        var holding: [String: Alert] = [:]
        // Which kinds of condition this cycle could judge: the others keep their state.
        var judged: Set<String> = [AlertName.cannotRead]
        let base = ["policy": policy]

        if facts.metricsProblem == nil {
            judged.insert(AlertName.bottleneck)
            for bottleneck in facts.assessment.bottlenecks {
                let alert = Self.bottleneckAlert(bottleneck, plan: facts.plan, base: base, link: settings.link, endsAt: endsAt)
                holding[alert.fingerprint] = alert
            }
        }
        // An objective is judged on its own reading: one that is unknown this cycle keeps its alert as it
        // was (unknown is not clear), the others fire or resolve.
        judged.insert(AlertName.budgetBurn)
        for status in facts.objectives {
            if let alert = Self.budgetAlert(status, base: base, link: settings.link, now: now, endsAt: endsAt) {
                holding[alert.fingerprint] = alert
            } else if status.state == .unknown {
                let identity = Self.budgetLabels(status, base: base)
                for (key, known) in active where known.alert.name == AlertName.budgetBurn
                    && known.alert.labels.filter({ $0.key != "severity" }) == identity {
                    var alert = known.alert
                    alert.endsAt = endsAt
                    holding[key] = alert
                }
            }
        }
        if facts.metricsProblem == nil && facts.clusterProblem == nil, let plan = facts.plan {
            judged.insert(AlertName.decisionNeeded)
            for action in plan.held where action.action == "autoscalerMax" && action.rules.contains(where: { $0.rule == "autoscaler" && !$0.passed }) {
                let alert = Self.decisionAlert(action, base: base, link: settings.link, now: now, endsAt: endsAt)
                holding[alert.fingerprint] = alert
            }
        }
        for (source, problem) in [("prometheus", facts.metricsProblem), ("cluster", facts.clusterProblem)] {
            let count = problem == nil ? 0 : failures[source, default: 0] + 1
            failures[source] = count
            if let problem, count >= settings.unreachableAfterCycles {
                var labels = base
                labels["alertname"] = AlertName.cannotRead
                labels["source"] = source
                labels["severity"] = "critical"
                let alert = Alert(labels: labels, annotations: [
                    "summary": "Trimtab could not read \(source == "prometheus" ? "Prometheus" : "the cluster") "
                        + (count == 1 ? "in its last run" : "for \(count) cycles in a row") + "; it takes no action until it can",
                    "description": problem,
                ], startsAt: now, endsAt: endsAt, generatorURL: settings.link)
                holding[alert.fingerprint] = alert
            }
        }

        // Conditions that began, or still hold.
        for (key, var alert) in holding.sorted(by: { $0.key < $1.key }) {
            if let known = active[key] {
                alert.startsAt = min(known.alert.startsAt, alert.startsAt)
                if now - known.lastSent >= settings.resendSeconds * 0.9 {
                    batch.alerts.append(alert)
                    active[key] = (alert, now)
                } else {
                    active[key] = (alert, known.lastSent)
                }
            } else {
                batch.alerts.append(alert)
                batch.news.append(.init(status: .firing, alert: alert))
                active[key] = (alert, now)
            }
        }
        // Conditions judged this cycle that no longer hold: resolved.
        for (key, known) in active.sorted(by: { $0.key < $1.key }) where holding[key] == nil && judged.contains(known.alert.name) {
            var alert = known.alert
            alert.endsAt = now
            batch.alerts.append(alert)
            batch.news.append(.init(status: .resolved, alert: alert))
            active[key] = nil
        }

        // Events: each change applied and each rollback, once.
        for outcome in facts.execution?.outcomes ?? [] where outcome.result == .applied {
            let planned = facts.plan?.actions.first { $0.id == outcome.actionID }
            var labels = base.merging(Self.targetLabels(outcome.target)) { a, _ in a }
            labels["alertname"] = AlertName.changeApplied
            labels["severity"] = "info"
            labels["knob"] = outcome.knob.description
            labels["journal_id"] = outcome.journalID ?? outcome.actionID
            var annotations = ["summary": "Trimtab changed \(outcome.knob) on \(outcome.target): \(outcome.detail)"]
            if let planned {
                annotations["change"] = "\(PlanMarkdown.value(planned.current, planned)) → \(PlanMarkdown.value(planned.proposed, planned))"
                annotations["reason"] = planned.reason
                annotations["check"] = planned.trigger
            }
            let alert = Alert(labels: labels, annotations: annotations, startsAt: now, endsAt: endsAt, generatorURL: settings.link)
            batch.alerts.append(alert)
            batch.news.append(.init(status: .firing, alert: alert))
        }
        for event in facts.execution?.journal ?? [] where event.state.isRestored {
            var labels = base.merging(Self.targetLabels(event.target)) { a, _ in a }
            labels["alertname"] = AlertName.rollback
            labels["severity"] = "warning"
            labels["knob"] = event.knob.description
            labels["journal_id"] = event.journalID
            let alert = Alert(labels: labels, annotations: [
                "summary": "Trimtab rolled back its change to \(event.knob) on \(event.target)",
                "reason": event.detail,
            ], startsAt: now, endsAt: endsAt, generatorURL: settings.link)
            batch.alerts.append(alert)
            batch.news.append(.init(status: .firing, alert: alert))
        }
        return batch
    }

    /// A target's labels, with any that would clash with Trimtab's own prefixed by `target_`.
    static func targetLabels(_ target: TargetID) -> [String: String] {
        let reserved: Set<String> = ["alertname", "policy", "check", "severity", "knob", "journal_id", "source", "objective"]
        var labels: [String: String] = [:]
        for (name, value) in zip(target.labelNames, target.labelValues) {
            labels[reserved.contains(name) ? "target_" + name : name] = value
        }
        return labels
    }

    static func bottleneckAlert(_ bottleneck: Bottleneck, plan: Plan?, base: [String: String], link: String?, endsAt: Double) -> Alert {
        var labels = base.merging(targetLabels(bottleneck.target)) { a, _ in a }
        labels["alertname"] = AlertName.bottleneck
        labels["check"] = bottleneck.check
        labels["severity"] = bottleneck.severity.rawValue
        let value = Formatting.value(bottleneck.value, unit: bottleneck.unit)
        let threshold = Formatting.value(bottleneck.threshold, unit: bottleneck.unit)
        let side = bottleneck.worse == .higher ? "above" : "below"
        let since = Formatting.time(bottleneck.since) + (bottleneck.sinceIsLowerBound ? " or earlier" : "")
        let annotations = [
            "summary": "\(bottleneck.check) on \(bottleneck.target) is \(value), \(bottleneck.severity.rawValue) \(side) \(threshold), since \(since)",
            "value": value,
            "threshold": "\(side) \(threshold) (\(bottleneck.severity.rawValue))",
            "since": since,
            "plan": planText(for: bottleneck, plan: plan),
            "query": bottleneck.query,
        ].merging(link.map { ["link": $0] } ?? [:]) { a, _ in a }
        return Alert(labels: labels, annotations: annotations, startsAt: bottleneck.since, endsAt: endsAt, generatorURL: link)
    }

    /// An objective's alert labels but its severity: the policy, the target's labels, its name.
    static func budgetLabels(_ status: ObjectiveStatus, base: [String: String]) -> [String: String] {
        var labels = base.merging(targetLabels(status.target)) { a, _ in a }
        labels["alertname"] = AlertName.budgetBurn
        labels["objective"] = status.objective
        return labels
    }

    /// The alert for an objective burning or spent; nil when it is within budget or unknown.
    static func budgetAlert(_ status: ObjectiveStatus, base: [String: String], link: String?, now: Double, endsAt: Double) -> Alert? {
        var labels = budgetLabels(status, base: base)
        let severity: String
        let what: String
        switch status.state {
        case .ok, .unknown: return nil
        case .slowBurn: severity = "warning"; what = "is burning its error budget slowly (6× or more over 6h and 30m)"
        case .fastBurn: severity = "critical"; what = "is burning its error budget fast (14.4× or more over 1h and 5m)"
        case .exhausted: severity = "critical"; what = "has spent its error budget"
        }
        labels["severity"] = severity
        let burns = BurnWindow.ranges.compactMap { range in
            status.burn(over: range).map { "\(PolicyDuration.format(range)) \(Formatting.number($0))×" }
        }.joined(separator: ", ")
        var annotations = [
            "summary": "\(status.objective) on \(status.target) \(what)",
            "compliance": status.compliance.map(ObjectiveMarkdown.share) ?? "unknown",
            "goal": "\(ObjectiveMarkdown.share(status.goal)) over \(PolicyDuration.format(status.windowSeconds))",
            "budget_left": status.budgetLeft.map { Formatting.number($0 * 100) + " %" } ?? "unknown",
            "burn_rates": burns,
        ]
        if let seconds = status.exhaustionSeconds { annotations["spent_in"] = ObjectiveMarkdown.coarse(seconds) }
        if let link { annotations["link"] = link }
        return Alert(labels: labels, annotations: annotations, startsAt: now, endsAt: endsAt, generatorURL: link)
    }

    static func decisionAlert(_ action: PlannedAction, base: [String: String], link: String?, now: Double, endsAt: Double) -> Alert {
        var labels = base.merging(targetLabels(action.target)) { a, _ in a }
        labels["alertname"] = AlertName.decisionNeeded
        labels["severity"] = "warning"
        labels["knob"] = action.knob.description
        let ask = action.failedRules.map(\.detail).joined(separator: "; ")
        return Alert(labels: labels, annotations: [
            "summary": "\(action.target) needs a person: \(ask)",
            "change": "\(PlanMarkdown.value(action.current, action)) → \(PlanMarkdown.value(action.proposed, action))",
            "reason": action.reason,
            "check": action.trigger,
        ], startsAt: now, endsAt: endsAt, generatorURL: link)
    }

    /// What the plan does about a bottleneck, in words.
    static func planText(for bottleneck: Bottleneck, plan: Plan?) -> String {
        guard let plan else { return "no action rule applies (assessment only)" }
        if let action = plan.actions.first(where: { $0.target == bottleneck.target && $0.trigger == bottleneck.check }) {
            let change = "\(action.action) \(action.knob) \(PlanMarkdown.value(action.current, action)) → \(PlanMarkdown.value(action.proposed, action))"
            switch action.decision {
            case .proposed: return "\(change): proposed (\(plan.mode == .enforce ? "enforce: applied this cycle" : "dry-run: not applied"))"
            case .held: return "\(change): held, \(action.failedRules.map { "\($0.rule): \($0.detail)" }.joined(separator: "; "))"
            }
        }
        if let advice = plan.recommendations.first(where: { $0.target == bottleneck.target && $0.check == bottleneck.check }) {
            return "no change Trimtab can make: \(advice.text)"
        }
        return "no action rule applies to this check"
    }
}
