import Yams

/// A database several targets connect to (`spec.databases`): its connection limit is shared, so every
/// pool change and every scale-out of its users is planned against what the others already hold.
public struct SharedDatabase: Sendable, Equatable, Codable {
    public enum Limit: Sendable, Equatable, Codable {
        /// A number of connections (PostgreSQL's `max_connections`).
        case connections(Int)
        /// An indicator that reads it, such as `pg_settings_max_connections` from postgres_exporter;
        /// evaluated per target like any indicator, the smallest value among the users counts.
        case indicator(String)
    }

    public var name: String
    public var limit: Limit
    /// Connections kept for others: administrators, migrations, clients Trimtab does not size
    /// (PostgreSQL's `superuser_reserved_connections` is 3 by default).
    public var reserved: Int
    /// The workloads that connect, as `namespace/name` or `name` (in `spec.targets.namespace`).
    public var users: [String]
    public var location: SourceLocation?

    public init(name: String, limit: Limit, reserved: Int = 0, users: [String], location: SourceLocation? = nil) {
        self.name = name
        self.limit = limit
        self.reserved = reserved
        self.users = users
        self.location = location
    }

    /// The indicator the limit is read from, when it is not a number.
    public var limitIndicator: String? {
        if case .indicator(let name) = limit { return name }
        return nil
    }

    /// Whether `workload` is one of the users.
    public func isUsed(by workload: WorkloadRef) -> Bool {
        users.contains { Self.user($0, names: workload) }
    }

    /// Whether a user as the policy writes it (`namespace/name` or `name`) names `workload`.
    public static func user(_ user: String, names workload: WorkloadRef) -> Bool {
        let parts = user.split(separator: "/", maxSplits: 1).map(String.init)
        return parts.count == 2 ? parts[0] == workload.namespace && parts[1] == workload.name : user == workload.name
    }
}

/// Reads `spec.databases`: a mapping from each database's name to its limit and users.
enum DatabaseParser {
    static let keys = ["connections", "reserved", "users", "description"]

    static func read(_ node: Node, into fragment: inout PolicyFragment, _ reader: inout NodeReader) {
        guard let entries = reader.mapping(node, "spec.databases") else { return }
        for entry in entries {
            let path = "database '\(entry.key)'"
            guard let fields = reader.mapping(entry.value, path, allowed: keys) else { continue }
            var limit: SharedDatabase.Limit?
            var reserved = 0
            var users: [String] = []
            var limitIndicator: Located<String>?
            for field in fields {
                switch field.key {
                case "connections":
                    if field.value.tag == Tag(.int) {
                        limit = reader.integer(field.value, "\(path).connections", minimum: 1).map { .connections($0) }
                    } else if let name = reader.nonEmptyString(field.value, "\(path).connections") {
                        limit = .indicator(name)
                        limitIndicator = Located(value: name, location: reader.location(of: field.value))
                    }
                case "reserved": reserved = reader.integer(field.value, "\(path).reserved") ?? reserved
                case "users":
                    users = reader.stringList(field.value, "\(path).users") ?? []
                    for user in users where user.isEmpty || user.split(separator: "/", omittingEmptySubsequences: false).count > 2
                        || user.split(separator: "/", omittingEmptySubsequences: false).contains(where: \.isEmpty) {
                        reader.error(field.value, "\(path).users: '\(user)' is not a workload (write name, or namespace/name)")
                    }
                    if users.isEmpty { reader.error(field.value, "\(path).users is empty: name the workloads that connect to it") }
                case "description": _ = reader.string(field.value, "\(path).description")
                default: break
                }
            }
            let location = reader.location(of: entry.keyNode)
            guard let limit else {
                reader.error(entry.value, "\(path) has no connections", hint: "write connections: 200 (its max_connections), or the name of an indicator that reads it")
                continue
            }
            if users.isEmpty, !fields.contains(where: { $0.key == "users" }) {
                reader.error(entry.value, "\(path) has no users", hint: "write users: [payments, orders]: the workloads that connect to it")
                continue
            }
            if case .connections(let total) = limit, reserved >= total {
                reader.error(entry.value, "\(path).reserved (\(reserved)) leaves none of its \(total) connections to share")
                continue
            }
            fragment.databases.append(PolicyFragment.DatabaseFragment(database: SharedDatabase(name: entry.key, limit: limit, reserved: reserved,
                                                                                             users: users, location: location),
                                                                      limitIndicator: limitIndicator))
        }
    }

    /// Checks the merged databases against the rest of the policy.
    static func validate(_ fragments: [PolicyFragment.DatabaseFragment], indicators: Set<String>, hasPoolAction: Bool,
                         _ diagnostics: inout [PolicyDiagnostic]) -> [SharedDatabase] {
        var databases: [SharedDatabase] = []
        for item in fragments {
            let database = item.database
            if let name = item.limitIndicator, !indicators.contains(name.value) {
                diagnostics.append(PolicyDiagnostic(name.location, "database '\(database.name)' reads its connections from the indicator '\(name.value)', which is not declared",
                                                    hint: Suggestion.closest(to: name.value, in: Array(indicators)).map { "did you mean '\($0)'?" }
                                                        ?? "declare it under spec.indicators, or write the number"))
                continue
            }
            if !hasPoolAction, let location = database.location {
                diagnostics.append(PolicyDiagnostic(location, "database '\(database.name)' is shared, but no poolSize action says how many connections each replica holds",
                                                    hint: "add a poolSize action whose knob (or size indicator) gives the pool size"))
                continue
            }
            databases.append(database)
        }
        return databases
    }
}
