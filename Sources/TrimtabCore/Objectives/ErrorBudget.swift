/// What the error budget says a target may do this cycle: trim cost while every objective has budget
/// to spare, protect while one burns fast, and nothing on what is not known.
public enum BudgetStance: Sendable, Equatable {
    /// The policy declares no objectives: decisions are the checks' alone.
    case none
    /// An objective of the target could not be judged: no budget decision is made on it.
    case unknown(String)
    /// Every objective burns slower than its budget over both slow windows (6 h and 30 m).
    case trim(String)
    /// Budget is being spent at or above its rate, but not fast: cost is not trimmed, nor is it added.
    case hold(String)
    /// An objective burns fast (1 h and 5 m both at 14.4× or more).
    case protect(String)

    public var explanation: String {
        switch self {
        case .none: return "the policy declares no objectives"
        case .unknown(let why), .trim(let why), .hold(let why), .protect(let why): return why
        }
    }
}

/// Why a budget change was made, kept with it so that verification judges it against the objectives.
public struct BudgetBaseline: Sendable, Equatable, Codable {
    public enum Lever: String, Sendable, Codable {
        /// A cheaper setting while the budget has room: rolled back when the objectives burn after it.
        case trim
        /// A safer setting while an objective burns fast: rolled back only when the burn did not ease at all.
        case protect
        /// A longer scale-down window for an HPA that flaps: kept (it keeps pods longer).
        case flapping
    }

    public var lever: Lever
    /// Each objective's burn rate over 5 m when the change was decided.
    public var burns: [String: Double]

    public init(lever: Lever, burns: [String: Double]) {
        self.lever = lever
        self.burns = burns
    }
}

/// The error-budget rules. Pure: the policy's objectives and this cycle's statuses go in.
public enum ErrorBudget {
    /// A burn rate over a range that was read; a target absent from a read range served no request
    /// there, which burns nothing.
    static func burn(_ status: ObjectiveStatus, _ seconds: Double) -> Double { status.burn(over: seconds) ?? 0 }

    static func spell(_ rate: Double) -> String { "\(Formatting.number((rate * 100).rounded() / 100))×" }

    /// The statuses of the policy's objectives for `target`, or why one is missing.
    static func statuses(for target: TargetID, policy: Policy, statuses: [ObjectiveStatus]) -> (found: [ObjectiveStatus], missing: [String]) {
        var found: [ObjectiveStatus] = [], missing: [String] = []
        for objective in policy.objectives {
            if let status = statuses.first(where: { $0.objective == objective.name && $0.target == target }) {
                found.append(status)
            } else {
                missing.append(objective.name)
            }
        }
        return (found, missing)
    }

    public static func stance(for target: TargetID, policy: Policy, statuses all: [ObjectiveStatus]) -> BudgetStance {
        guard !policy.objectives.isEmpty else { return .none }
        let (statuses, missing) = statuses(for: target, policy: policy, statuses: all)
        if !missing.isEmpty {
            return .unknown("no reading of the objective\(missing.count == 1 ? "" : "s") \(missing.joined(separator: ", ")) for \(target) (no requests, or the query failed)")
        }
        let fast = BurnWindow.fast
        let burningFast = statuses.filter { burn($0, fast.longSeconds) >= fast.factor && burn($0, fast.shortSeconds) >= fast.factor }
        if let status = burningFast.first {
            return .protect("\(status.objective) burns fast: \(spell(burn(status, fast.longSeconds))) its budget over 1h and \(spell(burn(status, fast.shortSeconds))) over 5m (the fast alert is \(Formatting.number(fast.factor))× on both)")
        }
        if let unknown = statuses.first(where: { $0.state == .unknown }) {
            return .unknown("\(unknown.objective) is unknown: \(unknown.reason ?? "too little was read")")
        }
        let slow = BurnWindow.slow
        let words = statuses.map { status in
            "\(status.objective) \(spell(burn(status, slow.longSeconds))) over 6h and \(spell(burn(status, slow.shortSeconds))) over 30m"
                + (status.budgetLeft.map { ", \(Formatting.number((max(-9.99, $0) * 1000).rounded() / 10)) % of its budget left" } ?? "")
        }
        if let exhausted = statuses.first(where: { $0.state == .exhausted }) {
            return .hold("\(exhausted.objective)'s budget for the window is spent, so cost is not trimmed (\(words.joined(separator: "; ")))")
        }
        let spending = statuses.filter { burn($0, slow.longSeconds) >= 1 || burn($0, slow.shortSeconds) >= 1 }
        if !spending.isEmpty {
            return .hold("\(spending.map(\.objective).joined(separator: ", ")) \(spending.count == 1 ? "spends" : "spend") budget at or above its rate, so cost is not trimmed (\(words.joined(separator: "; ")))")
        }
        return .trim("every objective has budget to spare: \(words.joined(separator: "; "))")
    }

    /// The 5-minute burn of each objective of the target, for the change's baseline.
    public static func burns(for target: TargetID, statuses: [ObjectiveStatus]) -> [String: Double] {
        Dictionary(statuses.filter { $0.target == target }.map { ($0.objective, burn($0, BurnWindow.fast.shortSeconds)) },
                   uniquingKeysWith: { a, _ in a })
    }

    /// The verdict on a budget change once its window has passed: a trim is rolled back when an
    /// objective now burns faster than its budget over both 5 m and 30 m; protection when the burn it
    /// answered did not ease at all (the pods were not what was missing); a longer scale-down window
    /// is kept (it only keeps pods longer).
    public static func judge(_ baseline: BudgetBaseline, entry: JournalEntry, statuses all: [ObjectiveStatus]) -> Verdict {
        let statuses = all.filter { $0.target == entry.target }
        let missing = baseline.burns.keys.sorted().filter { name in !statuses.contains { $0.objective == name } }
        if !missing.isEmpty {
            return .undetermined("no reading of \(missing.joined(separator: ", ")) for \(entry.target) this cycle")
        }
        if let unknown = statuses.first(where: { $0.state == .unknown }) {
            return .undetermined("\(unknown.objective) is unknown: \(unknown.reason ?? "too little was read")")
        }
        let short = BurnWindow.fast.shortSeconds, slow = BurnWindow.slow.shortSeconds
        let now = statuses.map { "\($0.objective) \(spell(burn($0, short))) over 5m (was \(spell(baseline.burns[$0.objective] ?? 0)))" }.joined(separator: "; ")
        switch baseline.lever {
        case .flapping:
            return .keep("a longer scale-down window only keeps pods longer: \(now)")
        case .protect:
            if let unrelieved = statuses.first(where: { status in
                let before = baseline.burns[status.objective] ?? 0
                return before >= 1 && burn(status, short) >= 1 && burn(status, short) >= before * 0.95
            }) {
                return .rollBack("\(unrelieved.objective) still burns \(spell(burn(unrelieved, short))) its budget over 5m (\(spell(baseline.burns[unrelieved.objective] ?? 0)) when the change was made): the protection did not ease the burn, so capacity was not what it lacked")
            }
            return .keep("the burn eased after the protection: \(now)")
        case .trim:
            if let burning = statuses.first(where: { burn($0, short) >= 1 && burn($0, slow) >= 1 }) {
                return .rollBack("\(burning.objective) burns \(spell(burn(burning, short))) its budget over 5m and \(spell(burn(burning, slow))) over 30m after the change: the cheaper setting costs reliability")
            }
            return .keep("every objective stays within its budget after the change: \(now)")
        }
    }
}
