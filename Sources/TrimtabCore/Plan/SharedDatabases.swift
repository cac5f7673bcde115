/// The connections of a database several targets share, and what the plan does with them.
public struct DatabaseUse: Sendable, Equatable, Codable {
    /// What one user holds: replicas (an HPA's maxReplicas, which it may scale to at any time) ×
    /// the pool each replica opens.
    public struct User: Sendable, Equatable, Codable {
        public var target: TargetID
        public var replicas: Int?
        public var poolSize: Int?
        /// Set when its replicas count an autoscaler's upper bound rather than the replicas now.
        public var autoscalerBound: Bool
        /// Connections after the plan's changes to it.
        public var planned: Int?

        public var connections: Int? { replicas.flatMap { r in poolSize.map { r * $0 } } }
    }

    public var name: String
    /// Its connection limit; nil when the indicator that reads it has no value.
    public var limit: Int?
    public var reserved: Int
    public var users: [User]
    /// Why the use is unknown, when it is: no change that needs more connections is made then.
    public var unknown: String?

    /// Connections held now, when every user's are known.
    public var used: Int? {
        unknown == nil ? users.reduce(0) { $0 + ($1.connections ?? 0) } : nil
    }
    /// Connections held once the plan's proposed changes are made.
    public var planned: Int? {
        unknown == nil ? users.reduce(0) { $0 + ($1.planned ?? $1.connections ?? 0) } : nil
    }
    /// What may be shared: the limit less the reserved connections.
    public var shareable: Int? { limit.map { $0 - reserved } }
}

extension TargetPlanning {
    /// What this target holds of a shared database: its replicas (its autoscaler's bound, when one
    /// owns them) and the pool size each opens, read as the pool rule reads them; and the limit, when
    /// an indicator gives it.
    func databaseUser(limitIndicator: String?) -> (user: DatabaseUse.User, limit: Double?, unknown: String?) {
        var user = DatabaseUse.User(target: id, replicas: nil, poolSize: nil, autoscalerBound: false)
        var unknown: [String] = []
        let pools = policy.actions.compactMap { rule -> PoolSizeAction? in if case .poolSize(let pool) = rule.action { return pool } else { return nil } }
        if let declared = pools.first {
            var pool = declared
            pool.knob = knobChoice(ActionKind.poolSize(declared).knobs).0
            var size = knobInput(pool.size, knob: pool.knob)
            // A user that does not export its pool's size still has one: the value its knob holds.
            if size.value == nil, case .value(let number, let source)? = context.knobValues[id]?[pool.knob] {
                size = Input(name: "\(pool.knob)", value: number, unknown: "", source: source)
            }
            user.poolSize = size.value.map { Int($0.rounded()) }
            if size.value == nil { unknown.append(size.unknown) }
            let replicas = input(pool.replicas)
            if let now = replicas.value.map({ Int($0.rounded()) }) {
                if let hpa = context.autoscalers[id] {
                    user.replicas = max(now, hpa.maxReplicas)
                    user.autoscalerBound = hpa.maxReplicas >= now
                } else {
                    user.replicas = now
                }
            } else {
                unknown.append(replicas.unknown)
            }
        }
        let limit = limitIndicator.flatMap(value)
        return (user, limit, unknown.isEmpty ? nil : unknown.joined(separator: "; "))
    }
}

extension Planner {
    /// Every database's use at the start of the plan, from what each user's planning read.
    static func databaseUses(_ policy: Policy, users: [TargetID: [String: (user: DatabaseUse.User, limit: Double?, unknown: String?)]],
                             targets: [TargetID]) -> [DatabaseUse] {
        policy.databases.map { database in
            var use = DatabaseUse(name: database.name, limit: nil, reserved: database.reserved, users: [])
            var unknown: [String] = []
            var limits: [Double] = []
            let members = targets.filter { target in WorkloadRef.resolve(target, selector: policy.targets).map(database.isUsed) ?? false }
            for target in members {
                guard let found = users[target]?[database.name] else { continue }
                use.users.append(found.user)
                if let reason = found.unknown { unknown.append("\(target): \(reason)") }
                if let limit = found.limit { limits.append(limit) }
            }
            // A user named in the policy but absent from this cycle's targets holds an unknown share.
            let workloads = members.compactMap { WorkloadRef.resolve($0, selector: policy.targets) }
            for user in database.users where !workloads.contains(where: { SharedDatabase.user(user, names: $0) }) {
                unknown.append("\(user) is not among this cycle's targets, so its connections are unknown")
            }
            switch database.limit {
            case .connections(let total): use.limit = total
            case .indicator(let name):
                use.limit = limits.min().map { Int($0.rounded(.down)) }
                if use.limit == nil { unknown.append("\(name), its connection limit, has no value") }
            }
            use.unknown = unknown.isEmpty ? nil : unknown.joined(separator: "; ")
            return use
        }
    }

    /// How many more connections a proposed change needs of a database, and per step of its value:
    /// a pool grows by its replicas (or its autoscaler's bound), a scale-out or a higher bound by its pool.
    static func connectionsNeeded(_ action: PlannedAction, user: DatabaseUse.User) -> (delta: Int, perStep: Int, base: Int)? {
        guard action.proposed.isFinite, action.current.isFinite, let replicas = user.replicas, let pool = user.poolSize else { return nil }
        let proposed = Int(action.proposed.rounded()), current = Int(action.current.rounded())
        switch action.action {
        case "poolSize":
            return proposed > current ? ((proposed - current) * replicas, replicas, current) : nil
        case "scale" where action.knob == .replicas:
            return proposed > current ? ((proposed - current) * pool, pool, current) : nil
        case "autoscalerMax":
            // The bound is what it may scale to: the claim grows from the larger of bound and replicas now.
            return proposed > replicas ? ((proposed - replicas) * pool, pool, replicas) : nil
        default:
            return nil
        }
    }

    /// The shared-database rule for a proposed change of a user: passed (perhaps with the change
    /// reduced to what fits every database it uses), or failed with the use that leaves no room.
    /// Commits nothing: `take` says how many connections each database (by index) gives the change
    /// once it is kept.
    static func databaseRule(_ action: inout PlannedAction, uses: [DatabaseUse], policy: Policy) -> (rule: RuleResult, take: [(database: Int, connections: Int)])? {
        guard let workload = WorkloadRef.resolve(action.target, selector: policy.targets) else { return nil }
        let used = policy.databases.indices.filter { policy.databases[$0].isUsed(by: workload) }
        func need(_ index: Int, at value: Double) -> (delta: Int, perStep: Int, base: Int)? {
            guard let user = uses[index].users.first(where: { $0.target == action.target }) else { return nil }
            var probe = action
            probe.proposed = value
            return connectionsNeeded(probe, user: user)
        }
        var notes: [String] = [], failures: [String] = []
        var proposed = action.proposed
        // First the value that fits every database; then what it takes of each.
        for index in used {
            let use = uses[index], name = use.name
            guard let needed = need(index, at: proposed) else { continue }
            guard let shareable = use.shareable, let planned = use.planned else {
                failures.append("\(name): the connections its users hold are unknown (\(use.unknown ?? "no limit")), so no change that needs more is made")
                continue
            }
            let room = shareable - planned
            guard needed.delta > room else { continue }
            let reduced = needed.base + max(0, room) / max(1, needed.perStep)
            if Double(reduced) > action.current {
                notes.append("\(name): reduced from \(Formatting.number(proposed)) to \(reduced), what fits")
                proposed = Double(reduced)
            } else {
                let holders = use.users.map { user in
                    "\(user.target) \(user.replicas.map(String.init) ?? "?")\(user.autoscalerBound ? " (its autoscaler's max)" : "") × \(user.poolSize.map(String.init) ?? "?")"
                }
                let earlier = planned > (use.used ?? planned) ? ", and this plan's more beneficial changes take \(planned - (use.used ?? planned))" : ""
                failures.append("\(name): +\(needed.delta) would make \(planned + needed.delta) of the \(shareable) connections it shares (\(holders.joined(separator: ", "))\(earlier))")
            }
        }
        if !failures.isEmpty {
            return (RuleResult("shared database", false, failures.joined(separator: "; ")), [])
        }
        var take: [(database: Int, connections: Int)] = []
        for index in used {
            guard let needed = need(index, at: proposed), let shareable = uses[index].shareable, let planned = uses[index].planned else { continue }
            take.append((index, needed.delta))
            notes.append("\(uses[index].name): +\(needed.delta) → \(planned + needed.delta) of \(shareable) connections shared by \(uses[index].users.count) users")
        }
        guard !notes.isEmpty else { return nil }
        action.proposed = proposed
        return (RuleResult("shared database", true, notes.joined(separator: "; ")), take)
    }

    /// Gives a kept change its connections: the next change of any user sees them taken.
    static func commit(_ take: [(database: Int, connections: Int)], target: TargetID, to uses: inout [DatabaseUse]) {
        for (database, connections) in take {
            guard let user = uses[database].users.firstIndex(where: { $0.target == target }) else { continue }
            let before = uses[database].users[user].planned ?? uses[database].users[user].connections ?? 0
            uses[database].users[user].planned = before + connections
        }
    }
}
