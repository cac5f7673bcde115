import Testing
@testable import TrimtabCore
@testable import TrimtabCycle

/// Which policy of several owns a journal entry, and the view of the journal each one gets.
@Suite struct PolicyJournalTests {
    static func policy(_ name: String, namespace: String) -> Policy {
        Policy(name: name, targets: TargetSelector(namespace: namespace, groupBy: ["namespace", "deployment"]), indicators: [], checks: [])
    }

    static func target(_ namespace: String, _ name: String) -> TargetID {
        TargetID(labelNames: ["namespace", "deployment"], labelValues: [namespace, name])
    }

    static func entry(_ id: String, policy: String?, namespace: String, name: String, kind: String = "Deployment") -> JournalEntry {
        var entry = JournalEntry(id: id, actionID: id, target: target(namespace, name), workload: WorkloadRef(kind: kind, namespace: namespace, name: name),
                                 action: "scale", knob: .replicas, before: "2", after: "3", reason: "r", evidence: [],
                                 baseline: .of(nil, trigger: ""), state: .applied, createdAt: 1, verifyAfterSeconds: 60, rollbackIfScoreDropsBy: 10)
        entry.policy = policy
        return entry
    }

    @Test func anEntryGoesToThePolicyItNamesElseToTheOneThatCoversIt() {
        let policies = [Self.policy("pay", namespace: "pay"), Self.policy("search", namespace: "search")]
        // This cycle search also found a target in pay (a label selector, say).
        let owner = Cycle.owner(policies: policies, targets: [[Self.target("pay", "api")], [Self.target("pay", "stray")]])
        #expect(owner(Self.entry("c1", policy: "search", namespace: "pay", name: "api")) == "search")  // named: its own
        #expect(owner(Self.entry("c2", policy: nil, namespace: "pay", name: "stray")) == "search")      // assessed by search
        #expect(owner(Self.entry("c3", policy: nil, namespace: "search", name: "web")) == "search")     // covered by namespace
        #expect(owner(Self.entry("c4", policy: "renamed", namespace: "pay", name: "old")) == "pay")     // a removed name: covered
        #expect(owner(Self.entry("c5", policy: nil, namespace: "other", name: "x")) == "pay")           // nobody's: the first
        #expect(owner(Self.entry("c6", policy: nil, namespace: "search", name: "db", kind: "StatefulSet")) == "pay")
    }

    @Test func eachPolicySeesItsOwnEntriesAndSavesIntoTheSharedJournal() async throws {
        let shared = MemoryJournal()
        try shared.save(Self.entry("c1", policy: "pay", namespace: "pay", name: "api"))
        try shared.save(Self.entry("c2", policy: "search", namespace: "search", name: "web"))
        let pay = PolicyJournal(base: shared, owns: { $0.policy == "pay" })
        #expect(try await pay.entries().map(\.id) == ["c1"])
        try await pay.save(Self.entry("c3", policy: "pay", namespace: "pay", name: "worker"))
        #expect(try await pay.entries().map(\.id) == ["c1", "c3"])
        #expect(try shared.entries().map(\.id) == ["c1", "c2", "c3"])
        #expect(pay.location == shared.location)
    }

    @Test func combinedHealthIsKnownWhenOnePolicyIsAndSaysWhichIsNot() {
        let pay = Self.policy("pay", namespace: "pay"), search = Self.policy("search", namespace: "search")
        func target(_ name: String, _ score: Double?, _ status: HealthStatus) -> TargetAssessment {
            TargetAssessment(target: Self.target("pay", name), score: score, status: status, coverage: 1, checks: [])
        }
        let known = Assessment(policy: "pay", time: 10, score: 80, status: .degraded, targets: [target("a", 60, .degraded), target("b", 100, .healthy)])
        let unknown = Assessment(policy: "search", time: 10, score: nil, status: .unknown, unknownReason: "1 of 3 indicator queries failed",
                                 targets: [], failures: ["latency": "timeout"])
        let combined = PolicySetReport.assessment([(pay, known), (search, unknown)])
        #expect(combined.policy == "pay, search")
        #expect(combined.score == 80 && combined.status == .degraded)
        #expect(combined.targets.map(\.policy) == ["pay", "pay"])
        #expect(combined.failures == ["search/latency": "timeout"])
        #expect(!combined.isComplete)
        #expect(combined.notes.contains { $0.contains("policy search: its health is unknown (1 of 3 indicator queries failed)") })
        let neither = PolicySetReport.assessment([(pay, unknown), (search, unknown)])
        #expect(neither.score == nil && neither.unknownReason?.hasPrefix("no policy's health is known") == true)
    }
}
