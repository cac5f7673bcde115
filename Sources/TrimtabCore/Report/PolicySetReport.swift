/// One policy's outcome in a cycle of several teams' policies, as the report's header shows it.
public struct PolicyOutcome: Sendable, Equatable, Codable {
    public var name: String
    public var files: [String]
    /// The targets' namespaces in words ("namespaces a, b").
    public var namespaces: String
    public var score: Double?
    public var status: HealthStatus
    public var targets: Int
    public var unknownReason: String?

    public init(name: String, files: [String], namespaces: String, score: Double?, status: HealthStatus, targets: Int,
                unknownReason: String? = nil) {
        self.name = name
        self.files = files
        self.namespaces = namespaces
        self.score = score
        self.status = status
        self.targets = targets
        self.unknownReason = unknownReason
    }
}

/// Several independent policies' results of one cycle as one: every target judged by its own policy,
/// every plan and execution side by side. Pure; the cycle calls it once each policy has run.
public enum PolicySetReport {
    /// The assessments as one: targets (each marked with its policy) and bottlenecks of all, failures
    /// and notes named by policy. The score is the mean of every known target's; a policy whose
    /// health is unknown is named in the reason, and the whole is unknown only when every policy is.
    public static func assessment(_ parts: [(policy: Policy, assessment: Assessment)]) -> Assessment {
        guard parts.count > 1 else { return parts.first?.assessment ?? Assessment(policy: "none", time: 0, score: nil, status: .unknown, targets: []) }
        var targets: [TargetAssessment] = []
        var failures: [String: String] = [:]
        var notes: [String] = []
        for (policy, assessment) in parts {
            targets += assessment.targets.map { target in
                var target = target
                target.policy = policy.name
                return target
            }
            for (indicator, message) in assessment.failures { failures["\(policy.name)/\(indicator)"] = message }
            notes += assessment.notes.map { "policy \(policy.name): \($0)" }
        }
        let bottlenecks = Assessor.ordered(parts.flatMap(\.assessment.bottlenecks))
        let known = parts.filter { $0.assessment.score != nil }
        let unknown = parts.filter { $0.assessment.score == nil }
        var score: Double?
        var status = HealthStatus.unknown
        var reason: String?
        if known.isEmpty {
            reason = "no policy's health is known: " + unknown.map { "\($0.policy.name): \($0.assessment.unknownReason ?? "unknown")" }.joined(separator: "; ")
        } else {
            let scores = known.flatMap { $0.assessment.targets.compactMap(\.score) }
            score = scores.isEmpty ? nil : scores.reduce(0, +) / Double(scores.count)
            let statuses = Set(known.map(\.assessment.status))
            status = statuses.contains(.critical) ? .critical : statuses.contains(.degraded) ? .degraded : .healthy
            for part in unknown {
                notes.append("policy \(part.policy.name): its health is unknown (\(part.assessment.unknownReason ?? "unknown")), so the overall score covers the other policies only")
            }
        }
        return Assessment(policy: parts.map(\.policy.name).joined(separator: ", "), time: parts[0].assessment.time, score: score,
                          status: status, unknownReason: reason, targets: targets, bottlenecks: bottlenecks, failures: failures, notes: notes)
    }

    /// The plans as one, each policy's actions in its own order and marked with it (nil when no
    /// policy planned).
    public static func plan(_ plans: [(name: String, plan: Plan?)]) -> Plan? {
        let present = plans.compactMap { item in
            item.plan.map { plan in
                var plan = plan
                for index in plan.actions.indices { plan.actions[index].policy = item.name }
                return plan
            }
        }
        guard var combined = present.first else { return nil }
        for plan in present.dropFirst() {
            combined.actions += plan.actions
            combined.considered += plan.considered
            combined.recommendations += plan.recommendations
            combined.databases += plan.databases
        }
        return combined
    }

    /// The executions as one (nil when no policy reached the cluster); `names` prefixes each error.
    public static func execution(_ reports: [(name: String, execution: ExecutionReport?)]) -> ExecutionReport? {
        let present = reports.compactMap { item in item.execution.map { (item.name, $0) } }
        guard let first = present.first?.1 else { return nil }
        var combined = ExecutionReport(mode: first.mode, cluster: first.cluster)
        var seenNotes = Set<String>()
        for (name, report) in present {
            combined.outcomes += report.outcomes
            combined.journal += report.journal
            // Facts of the cluster both policies read (an HPA, a note on RBAC) are said once.
            combined.notes += report.notes.filter { seenNotes.insert($0).inserted }
            combined.errors += report.errors.map { "policy \(name): \($0)" }
        }
        return combined
    }

    /// Each policy's line for the report's header.
    public static func outcomes(_ parts: [(policy: Policy, assessment: Assessment)]) -> [PolicyOutcome] {
        parts.map { policy, assessment in
            PolicyOutcome(name: policy.name, files: policy.sources, namespaces: policy.targets.namespaceText, score: assessment.score,
                          status: assessment.status, targets: assessment.targets.count, unknownReason: assessment.unknownReason)
        }
    }

    /// The targets two or more policies claim this cycle (by workload: namespace, kind and name), and
    /// for each policy the reason it holds them. `parts` are each policy's assessed targets.
    public static func contested(_ parts: [(policy: Policy, targets: [TargetID])]) -> [[TargetID: String]] {
        var claims: [String: [(index: Int, target: TargetID, workload: WorkloadRef)]] = [:]
        for (index, part) in parts.enumerated() {
            for target in part.targets {
                guard let workload = WorkloadRef.resolve(target, selector: part.policy.targets) else { continue }
                claims["\(workload.namespace)/\(workload.kind)/\(workload.name)", default: []].append((index, target, workload))
            }
        }
        var holds = Array(repeating: [TargetID: String](), count: parts.count)
        for (_, claimants) in claims where Set(claimants.map(\.index)).count > 1 {
            let names = claimants.map { "'\(parts[$0.index].policy.name)' (\(parts[$0.index].policy.sources.joined(separator: ", ")))" }
            let reason = "\(claimants[0].workload) is claimed by policies \(names.joined(separator: " and ")); a target belongs to one policy, so none changes it until the others leave it out (spec.targets.namespaces or matchLabels)"
            for claimant in claimants { holds[claimant.index][claimant.target] = reason }
        }
        return holds
    }
}
