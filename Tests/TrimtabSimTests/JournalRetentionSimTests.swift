import Foundation
import Testing
@testable import TrimtabCore
import TrimtabCycle
import TrimtabSim

/// The retention as the one cycle applies it: a cycle that acts drops the closed entries past the
/// policy's `journalRetention`, and keeps the latest of each knob however old.
struct JournalRetentionSimTests {
    static func entry(_ id: String, _ state: JournalState, at time: Double, knob: Knob = .replicas) -> JournalEntry {
        var entry = JournalEntry(id: id, actionID: "\(id)@\(time)", target: TargetID(labelNames: ["namespace", "deployment"], labelValues: ["shop", "gone"]),
                                 workload: WorkloadRef(kind: "Deployment", namespace: "shop", name: "gone"), action: "scale", knob: knob,
                                 before: "2", after: "3", reason: "r", evidence: [], baseline: .of(nil, trigger: ""), state: state,
                                 createdAt: time, verifyAfterSeconds: 300, rollbackIfScoreDropsBy: 10)
        entry.updatedAt = time
        return entry
    }

    @Test func aCycleThatActsDropsWhatTheRetentionLetsGo() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
        let text = try String(contentsOf: root.appendingPathComponent("policies/default.yaml"), encoding: .utf8)
        var policy = try PolicyLoader.load(text: text, file: "policies/default.yaml")
        policy.safety.journalRetentionSeconds = 3 * 86_400
        let day = 86_400.0
        let journal = MemoryJournal()
        try journal.save(Self.entry("c01", .verified, at: -20 * day))
        try journal.save(Self.entry("c02", .rolledBack, at: -10 * day))
        try journal.save(Self.entry("c03", .verified, at: -8 * day))   // the latest of its knob: kept
        try journal.save(Self.entry("c04", .notApplied, at: -2 * day, knob: .env(name: "CACHE_TTL_SECONDS", container: nil)))  // within 3 days
        let scenario = ControlScenario(name: "quiet", summary: "5 min at 60 req/s",
                                       services: [ControlScenarios.webService("shop", load: .steady(60, seconds: 300))])
        // Dry-run acts on nothing and so drops nothing.
        _ = await ControlBenchmark.run(scenario, controller: TrimtabController(policy: policy, journal: journal), policy: policy)
        #expect(try journal.entries().map(\.id) == ["c01", "c02", "c03", "c04"])
        policy.mode = .enforce
        _ = await ControlBenchmark.run(scenario, controller: TrimtabController(policy: policy, journal: journal), policy: policy)
        let kept = try journal.entries().map(\.id)
        #expect(!kept.contains("c01") && !kept.contains("c02"))
        #expect(kept.contains("c03") && kept.contains("c04"))
    }
}
