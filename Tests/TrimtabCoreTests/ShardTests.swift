import Testing
@testable import TrimtabCore

/// `--shard NAME=NS,…`: what a shard is, which shards may run side by side, and a policy confined to one.
struct ShardParsingTests {
    @Test func aShardIsANameAndItsNamespaces() throws {
        #expect(try Shard.parse("a=shop,cart") == Shard(name: "a", namespaces: ["shop", "cart"]))
        #expect(try Shard.parse("payments-1=pay") == Shard(name: "payments-1", namespaces: ["pay"]))
    }

    @Test(arguments: [
        ("shop", "is not NAME=NAMESPACE"),
        ("=shop", "the name '' is not a DNS label"),
        ("A=shop", "the name 'A' is not a DNS label"),
        ("a=shop,", "'' is not a namespace name"),
        ("a=Shop", "'Shop' is not a namespace name"),
        ("a=shop,shop", "names the namespace 'shop' twice"),
    ])
    func aBadShardSaysWhatIsWrong(_ text: String, _ message: String) {
        #expect(throws: ShardError.self) { try Shard.parse(text) }
        do { _ = try Shard.parse(text) } catch { #expect(error.description.contains(message), "\(error)") }
    }

    @Test func shardsNeverShareANamespaceOrAName() throws {
        try Shard.validate([Shard(name: "a", namespaces: ["shop"]), Shard(name: "b", namespaces: ["cart"])])
        #expect(throws: ShardError("the namespace 'shop' is in shards 'a' and 'b': a workload would be acted on by two replicas")) {
            try Shard.validate([Shard(name: "a", namespaces: ["shop", "x"]), Shard(name: "b", namespaces: ["shop"])])
        }
        #expect(throws: ShardError("two shards are named 'a'")) {
            try Shard.validate([Shard(name: "a", namespaces: ["shop"]), Shard(name: "a", namespaces: ["cart"])])
        }
    }

    @Test func aPolicyIsConfinedToTheShardsNamespaces() throws {
        let shard = Shard(name: "a", namespaces: ["shop", "cart"])
        func policy(_ targets: TargetSelector) -> Policy { Policy(name: "p", targets: targets, indicators: [], checks: []) }
        // Every namespace: the shard's.
        let every = try #require(try policy(TargetSelector()).confined(to: shard))
        #expect(every.targets.namespaces == ["shop", "cart"] && every.targets.namespace == nil)
        #expect(every.targets.namespaceMatcher == #"namespace=~"cart|shop""#)
        // Some: those in the shard; one left: that one.
        var some = TargetSelector()
        some.namespaces = ["shop", "search"]
        let confined = try #require(try policy(some).confined(to: shard))
        #expect(confined.targets.namespace == "shop" && confined.targets.namespaces == nil)
        #expect(try policy(TargetSelector(namespace: "search")).confined(to: shard) == nil)
        #expect(try [policy(TargetSelector(namespace: "search")), policy(TargetSelector(namespace: "cart"))].confined(to: shard).map(\.targets.namespace) == ["cart"])
        #expect(throws: ShardError("no policy covers a namespace of shard 'a' (shop, cart): its holder would have nothing to do")) {
            try [policy(TargetSelector(namespace: "search"))].confined(to: shard)
        }
        // By label: cannot be confined before its namespaces are found.
        var labelled = TargetSelector()
        labelled.namespaceLabels = ["team": "shop"]
        #expect(throws: ShardError.self) { try policy(labelled).confined(to: shard) }
    }
}
