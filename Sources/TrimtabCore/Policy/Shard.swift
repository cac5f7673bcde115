/// One shard of a cluster too large for one Trimtab: a set of namespaces, acted on by whichever
/// replica holds the shard's Lease, with a journal of its own. Shards never share a namespace, so no
/// workload is ever acted on by two replicas.
public struct Shard: Sendable, Equatable {
    public var name: String
    public var namespaces: [String]

    public init(name: String, namespaces: [String]) {
        self.name = name
        self.namespaces = namespaces
    }

    /// `NAME=NAMESPACE[,NAMESPACE…]`, as `trimtab run --shard` takes it.
    public static func parse(_ text: String) throws(ShardError) -> Shard {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else { throw ShardError("--shard '\(text)' is not NAME=NAMESPACE[,NAMESPACE…]") }
        let name = parts[0], namespaces = parts[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard isLabel(name, maximum: 40) else {
            throw ShardError("--shard '\(text)': the name '\(name)' is not a DNS label of at most 40 characters (a-z, 0-9, '-'): it names the shard's Lease and journal")
        }
        if let bad = namespaces.first(where: { !isLabel($0, maximum: 63) }) {
            throw ShardError("--shard '\(text)': '\(bad)' is not a namespace name (a DNS label: a-z, 0-9, '-', at most 63 characters)")
        }
        if let twice = duplicate(namespaces) { throw ShardError("--shard '\(text)' names the namespace '\(twice)' twice") }
        return Shard(name: name, namespaces: namespaces)
    }

    /// Shards that can run side by side: distinct names, and no namespace in two of them.
    public static func validate(_ shards: [Shard]) throws(ShardError) {
        if let twice = duplicate(shards.map(\.name)) { throw ShardError("two shards are named '\(twice)'") }
        var owner: [String: String] = [:]
        for shard in shards {
            for namespace in shard.namespaces {
                if let other = owner[namespace] {
                    throw ShardError("the namespace '\(namespace)' is in shards '\(other)' and '\(shard.name)': a workload would be acted on by two replicas")
                }
                owner[namespace] = shard.name
            }
        }
    }

    static func isLabel(_ text: String, maximum: Int) -> Bool {
        guard !text.isEmpty, text.utf8.count <= maximum, text.first != "-", text.last != "-" else { return false }
        return text.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D }
    }

    static func duplicate(_ items: [String]) -> String? {
        var seen = Set<String>()
        return items.first { !seen.insert($0).inserted }
    }
}

public struct ShardError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension Policy {
    /// The policy confined to the shard's namespaces: a policy of every namespace takes the shard's,
    /// a policy of some keeps those in the shard. Nil when it covers none of them. A policy that picks
    /// its namespaces by label cannot be confined before they are found, so it is an error.
    public func confined(to shard: Shard) throws(ShardError) -> Policy? {
        var policy = self
        if targets.namespaceLabels != nil {
            throw ShardError("policy '\(name)' picks its namespaces by label (spec.targets.namespaces.matchLabels); a sharded run needs policies that name their namespaces, or cover every namespace")
        }
        let within: [String]
        if let only = targets.namespace {
            within = shard.namespaces.contains(only) ? [only] : []
        } else if let listed = targets.namespaces {
            within = listed.filter(shard.namespaces.contains)
        } else {
            within = shard.namespaces
        }
        guard !within.isEmpty else { return nil }
        if within.count == 1 {
            policy.targets.namespace = within[0]
            policy.targets.namespaces = nil
        } else {
            policy.targets.namespace = nil
            policy.targets.namespaces = within
        }
        return policy
    }
}

extension Array where Element == Policy {
    /// Every policy confined to the shard (those that cover none of its namespaces left out); an
    /// error when none is left, since the shard's holder would have nothing to do.
    public func confined(to shard: Shard) throws(ShardError) -> [Policy] {
        var result: [Policy] = []
        for policy in self {
            if let confined = try policy.confined(to: shard) { result.append(confined) }
        }
        guard !result.isEmpty else {
            throw ShardError("no policy covers a namespace of shard '\(shard.name)' (\(shard.namespaces.joined(separator: ", "))): its holder would have nothing to do")
        }
        return result
    }
}
