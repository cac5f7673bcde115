import Testing
@testable import TrimtabCore

/// Several services on one database: every pool change and scale-out of its users is planned
/// against the connections they share, the most beneficial first.
@Suite("Shared databases: one connection budget for all its users")
struct SharedDatabaseTests {
    static func target(_ name: String) -> TargetID { TargetID(labelNames: ["namespace", "deployment"], labelValues: ["shop", name]) }

    static func policy(_ database: String) throws -> Policy {
        try PolicyLoader.load(text: plannerPolicy + "\n  databases:\n" + database, file: "planner.yaml")
    }

    /// `services` pool-bound (pool 20, 98 % used, 4 replicas); `cpuBound` short of CPU instead.
    func plan(_ policy: Policy, poolBound: [String], cpuBound: [String] = [], context: PlanContext = PlanContext()) -> Plan {
        var fixture = SnapshotFixture(policy: policy)
        for name in poolBound + cpuBound {
            var situation = Situation()
            situation.values["pool_size"] = { _ in 20 }
            situation.values["latency_p95"] = { ago in ago <= 900 ? 1.5 : 0.3 }
            if poolBound.contains(name) {
                situation.values["pool_utilization"] = { ago in ago <= 900 ? 0.98 : 0.4 }
                situation.values["cpu_utilization"] = { _ in 0.3 }
            } else {
                situation.values["cpu_utilization"] = { ago in ago <= 900 ? 0.93 : 0.5 }
            }
            for (indicator, value) in situation.values { fixture.add(indicator, name, value) }
        }
        return Planner.plan(fixture.assessment, snapshot: fixture.snapshot, policy: policy, context: context)
    }

    func action(_ plan: Plan, _ name: String) -> PlannedAction? { plan.actions.first { $0.target == Self.target(name) } }

    @Test func twoPoolsThatEachFitAloneShareTheRoomTheDatabaseHas() throws {
        // The case: each alone 20 → 28 (4 × 28 = 112 of its own 200); together 224 of 200.
        let policy = try Self.policy("    orders-db: {connections: 200, users: [payments, orders]}\n")
        let plan = plan(policy, poolBound: ["payments", "orders"])
        let orders = try #require(action(plan, "orders")), payments = try #require(action(plan, "payments"))
        // Equal benefit: by target, orders first; it takes 32 of the 40 free, payments the 8 left (2 per replica).
        #expect(orders.decision == .proposed && orders.proposed == 28)
        #expect(orders.rules.contains { $0.rule == "shared database" && $0.passed && $0.detail.contains("orders-db: +32 → 192 of 200 connections shared by 2 users") })
        #expect(payments.decision == .proposed && payments.proposed == 22, "\(payments.rules)")
        #expect(payments.rules.first { $0.rule == "shared database" }?.detail.contains("reduced from 28 to 22") == true)
        let use = try #require(plan.databases.first)
        #expect(use.name == "orders-db" && use.limit == 200 && use.used == 160 && use.planned == 200)
        #expect(Set(use.users.map(\.target)) == [Self.target("orders"), Self.target("payments")])
        // The report shows the budget's use.
        let markdown = PlanMarkdown.render(plan).joined(separator: "\n")
        #expect(markdown.contains("### Shared databases"))
        #expect(markdown.contains("| orders-db | 200 | 0 | 160 | 200 | shop/orders 4 × 20; shop/payments 4 × 20 |"), "\(markdown)")
    }

    @Test func reservedConnectionsAreNotShared_AndAChangeWithNoRoomIsHeldWithTheUse() throws {
        let policy = try Self.policy("    orders-db: {connections: 200, reserved: 10, users: [shop/payments, shop/orders]}\n")
        let plan = plan(policy, poolBound: ["payments", "orders"])
        #expect(action(plan, "orders")?.proposed == 27)
        let payments = try #require(action(plan, "payments"))
        #expect(payments.decision == .held)
        let rule = try #require(payments.failedRules.first)
        #expect(rule.rule == "shared database")
        #expect(rule.detail.contains("orders-db: +32 would make 220 of the 190 connections it shares"), "\(rule.detail)")
        #expect(rule.detail.contains("shop/orders 4 × 20") && rule.detail.contains("this plan's more beneficial changes take 28"))
        #expect(plan.databases.first?.planned == 188)
    }

    @Test func aScaleOutOfAUserIsPlannedAgainstTheSameConnections() throws {
        let policy = try Self.policy("    orders-db: {connections: 200, users: [payments, orders]}\n")
        // orders is CPU-bound: 4 → 7 replicas would add 3 × 20 = 60 of the 40 free.
        let plan = plan(policy, poolBound: [], cpuBound: ["orders", "payments"])
        let orders = try #require(action(plan, "orders"))
        #expect(orders.knob == .replicas && orders.proposed == 6, "\(orders.rules)")
        #expect(action(plan, "payments")?.decision == .held)
        // An HPA's bound is what it may scale to: a user with one counts its maxReplicas.
        var context = PlanContext(autoscalers: [Self.target("payments"): AutoscalerInfo(name: "payments", minReplicas: 2, maxReplicas: 6)])
        context.clusterRead = true
        let bounded = self.plan(policy, poolBound: ["orders"], cpuBound: ["payments"], context: context)
        let use = try #require(bounded.databases.first)
        #expect(use.users.first { $0.target == Self.target("payments") }?.replicas == 6)
        #expect(use.used == 4 * 20 + 6 * 20)
        // 200 − 200 leaves nothing for orders' pool.
        #expect(action(bounded, "orders")?.decision == .held)
    }

    @Test func unknownUseHoldsGrowthAndAnAbsentUserIsUnknown() throws {
        let policy = try Self.policy("    orders-db: {connections: 200, users: [payments, orders, ledger]}\n")
        let plan = plan(policy, poolBound: ["payments", "orders"])
        #expect(plan.proposed.isEmpty)
        #expect(action(plan, "orders")?.failedRules.first?.detail.contains("ledger is not among this cycle's targets") == true)
        #expect(plan.databases.first?.used == nil)
    }

    @Test func mistakesInDatabasesAreReportedWhereTheyAre() throws {
        func problems(_ text: String) -> [String] {
            do {
                _ = try Self.policy(text)
                return []
            } catch let error as PolicyError {
                return error.diagnostics.map { "\($0.location.line): \($0.message)" }
            } catch {
                return ["\(error)"]
            }
        }
        let base = plannerPolicy.split(separator: "\n", omittingEmptySubsequences: false).count
        #expect(problems("    db: {users: [a]}\n") == ["\(base + 2): database 'db' has no connections"])
        #expect(problems("    db: {connections: 10, reserved: 10, users: [a]}\n").first?.contains("leaves none of its 10 connections") == true)
        #expect(problems("    db: {connections: max_conns, users: [a]}\n").first?.contains("reads its connections from the indicator 'max_conns', which is not declared") == true)
        #expect(problems("    db: {connections: 10, users: [a/b/c]}\n").first?.contains("'a/b/c' is not a workload") == true)
        #expect(problems("    db: {connections: 10}\n").first?.contains("database 'db' has no users") == true)
        #expect(problems("    db: {connections: 10, users: [a], size: 3}\n").first?.contains("size") == true)
    }
}
