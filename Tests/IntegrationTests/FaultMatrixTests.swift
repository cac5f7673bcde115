import Foundation
import Testing
import TrimtabCycle
@testable import TrimtabCore
import TrimtabKube
import TrimtabKubeSandbox

/// The journal tells the truth under faults: every write step (the knob, the annotation, the Event, a
/// rollback, recovery's fence) meets each fault (a 5xx before and after the write lands, a timeout
/// whose write lands late, a dropped connection before and after landing, a crash), then a clean run
/// follows, and the journal must agree with the cluster, nothing may be applied twice, every applied
/// change must carry its annotation and one Event, and a rollback must work.
@Suite("Fault matrix: the journal agrees with the cluster after every fault", .serialized)
struct FaultMatrixTests {
    enum Step: String, Sendable, CaseIterable {
        case knobWrite = "knob write", annotation, event, rollbackWrite = "rollback write", fence
    }

    enum FaultKind: String, Sendable {
        case error500BeforeLanding = "500 before landing"
        case error504AfterLanding = "504 after landing"
        case timeoutLandingLate = "timeout, lands late"
        case dropBeforeLanding = "drop before landing"
        case dropAfterLanding = "drop after landing"
        case crash
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var step: Step
        var knob: Knob
        var fault: FaultKind
        var testDescription: String { "\(step.rawValue) · \(knob) · \(fault.rawValue)" }
    }

    static let knobs: [Knob] = [.replicas, .configMap(name: "api-config", key: "DB_POOL_SIZE"), .env(name: "DB_POOL_SIZE", container: nil)]
    static let networkFaults: [FaultKind] = [.error500BeforeLanding, .error504AfterLanding, .timeoutLandingLate, .dropBeforeLanding, .dropAfterLanding]

    static let cases: [Case] =
        knobs.flatMap { knob in (networkFaults + [.crash]).map { Case(step: .knobWrite, knob: knob, fault: $0) } }
        + [.error500BeforeLanding, .error504AfterLanding, .dropBeforeLanding, .crash].map { Case(step: .annotation, knob: .replicas, fault: $0) }
        + [.error500BeforeLanding, .error504AfterLanding, .dropBeforeLanding, .dropAfterLanding, .crash].map { Case(step: .event, knob: .replicas, fault: $0) }
        + (networkFaults + [.crash]).map { Case(step: .rollbackWrite, knob: .replicas, fault: $0) }
        + [.error500BeforeLanding, .error504AfterLanding, .dropBeforeLanding].map { Case(step: .fence, knob: .replicas, fault: $0) }

    static func values(_ knob: Knob) -> (Double, Double) { knob == .replicas ? (4, 7) : (20, 28) }

    /// The method and path a step's request has, for a knob.
    static func request(of step: Step, knob: Knob) -> (String, String) {
        switch (step, knob) {
        case (.knobWrite, .replicas), (.rollbackWrite, .replicas): return ("PUT", "/deployments/api/scale")
        case (.knobWrite, .configMap): return ("PATCH", "/configmaps/api-config")
        case (.knobWrite, _): return ("PATCH", "/deployments/api")
        case (.annotation, _), (.fence, _): return ("PATCH", "/deployments/api")
        case (.event, _): return ("POST", "/events")
        case (.rollbackWrite, _): return ("PATCH", "/deployments/api")
        }
    }

    static func fault(_ kind: FaultKind, on step: Step, knob: Knob) -> Fault? {
        let (method, path) = request(of: step, knob: knob)
        switch kind {
        case .error500BeforeLanding: return Fault(method: method, pathContaining: path, .status(500))
        case .error504AfterLanding: return Fault(method: method, pathContaining: path, .statusAfterApplying(504))
        case .timeoutLandingLate: return Fault(method: method, pathContaining: path, .latency(.milliseconds(2500)))
        case .dropBeforeLanding: return Fault(method: method, pathContaining: path, .drop)
        case .dropAfterLanding: return Fault(method: method, pathContaining: path, .dropAfterApplying)
        case .crash: return nil
        }
    }

    /// Successful writes that changed the knob itself (not an annotation or a fence), the late ones included.
    static func knobWrites(_ cluster: ClusterFixture, _ knob: Knob) -> Int {
        cluster.sandbox.requests.filter { request in
            let landed = request.status.map { $0 < 300 } ?? false || (request.appliedStatus.map { $0 < 300 } ?? false)
            guard landed, request.query.isEmpty || !request.query.contains("dryRun") else { return false }
            switch knob {
            case .replicas: return request.method == "PUT" && request.path.hasSuffix("/scale")
            case .configMap: return request.method == "PATCH" && request.path.hasSuffix("/configmaps/api-config") && !request.body.contains("trimtab.io/fence")
            default: return request.method == "PATCH" && request.path.hasSuffix("/deployments/api") && request.contentType == "application/strategic-merge-patch+json"
            }
        }.count
    }

    @Test(arguments: cases)
    func theJournalAgreesWithTheCluster(_ item: Case) async throws {
        let cluster = try await ClusterFixture.start()
        // A client that gives up after 1 s: the 2.5 s latency fault makes its write land after that.
        let impatient = try KubeClient(KubeConfiguration(server: cluster.sandbox.url, token: ClusterFixture.operatorToken, timeoutSeconds: 1),
                                       maxRetries: 0, maxRetryAfterSeconds: 1)
        let (from, to) = Self.values(item.knob)
        let plan = onePlan(item.knob, from: from, to: to)
        let crash: @Sendable (JournalEntry) throws -> Void = { _ in throw SimulatedCrash() }

        // The faulty run.
        switch item.step {
        case .knobWrite, .annotation, .event:
            var hooks = Executor.Hooks()
            if item.fault == .crash {
                switch item.step {
                case .knobWrite: hooks.afterBegin = crash
                case .annotation: hooks.afterApply = crash
                default: hooks.afterJournal = crash
                }
            } else if let fault = Self.fault(item.fault, on: item.step, knob: item.knob) {
                cluster.sandbox.inject(fault)
            }
            _ = try? await cluster.executor(hooks: hooks, client: impatient).execute(plan, assessment: assessment(), mode: .enforce, time: 1_000_000)
        case .rollbackWrite:
            _ = try await cluster.executor().execute(plan, assessment: assessment(), mode: .enforce, time: 1_000_000)
            let entry = try #require(try cluster.journal.entries().first)
            if item.fault == .crash {
                // A crash between the rolling-back entry and the write: the entry as a crashed run leaves it.
                var rolling = entry
                rolling.move(to: .rollingBack, at: 1_000_100, note: "by hand")
                try cluster.journal.save(rolling)
            } else if let fault = Self.fault(item.fault, on: .rollbackWrite, knob: item.knob) {
                cluster.sandbox.inject(fault)
                _ = try? await cluster.executor(client: impatient).rollback(entry, reason: "by hand", time: 1_000_100, force: false)
            }
        case .fence:
            // A crash right after the write-ahead entry, then a recovery whose fence meets the fault.
            _ = try? await cluster.executor(hooks: .init(afterBegin: crash)).execute(plan, assessment: assessment(), mode: .enforce, time: 1_000_000)
            if let fault = Self.fault(item.fault, on: .fence, knob: item.knob) { cluster.sandbox.inject(fault) }
            _ = try? await cluster.executor(client: impatient).recover(time: 1_000_005)
        }
        // Let a delayed write land (or fail) before the clean run looks, as it would in production.
        if item.fault == .timeoutLandingLate {
            for _ in 0..<50 where cluster.sandbox.pendingFaults > 0 || cluster.sandbox.requests.last?.status == nil {
                try await Task.sleep(for: .milliseconds(100))
            }
        }

        // The clean run: recovery, then the same plan again (a re-run at the same evaluation time).
        cluster.sandbox.clearFaults()
        let clean = cluster.executor()
        let recovery = try await clean.recover(time: 1_000_200)
        #expect(recovery.stoppedBy == nil)
        let again = try await clean.execute(plan, assessment: assessment(), mode: .enforce, time: 1_000_000)
        #expect(again.allSatisfy { $0.result == .skipped }, "\(again.map(\.detail))")
        try await Task.sleep(for: .milliseconds(item.fault == .timeoutLandingLate ? 1500 : 0))

        // The journal agrees with the cluster.
        let entries = try cluster.journal.entries()
        #expect(entries.count == 1, "\(entries.map(\.state))")
        let entry = try #require(entries.first)
        #expect(!entry.state.isOpen || entry.state == .applied, "left \(entry.state.rawValue)")
        let holds = cluster.value(item.knob)
        switch entry.state {
        case .applied, .verified: #expect(entry.holdsAfter(holds), "journal \(entry.state.rawValue), cluster holds \(holds ?? "nothing")")
        case .notApplied, .rolledBack: #expect(entry.holdsBefore(holds), "journal \(entry.state.rawValue), cluster holds \(holds ?? "nothing")")
        default: Issue.record("unexpected state \(entry.state.rawValue)")
        }
        // Nothing applied twice: one write of the change, and one of its rollback.
        let writes = Self.knobWrites(cluster, item.knob)
        #expect(writes <= (item.step == .rollbackWrite ? 2 : 1), "\(writes) writes of the knob")
        // Every change the cluster holds has its annotation and exactly one Event per state.
        if [.applied, .rolledBack].contains(entry.state) {
            #expect(entry.recorded == true)
            let reason = entry.state == .applied ? "TrimtabChanged" : "TrimtabRolledBack"
            #expect(cluster.events.filter { $0["reason"]?.stringValue == reason }.count == 1, "\(cluster.events.count) events")
            let annotation = cluster.deployment?[path: ["metadata", "annotations", KubeCluster.lastChangeAnnotation]]?.stringValue ?? ""
            #expect(annotation.contains("\"id\":\"\(entry.id)\"") && annotation.contains("\"state\":\"\(entry.state.rawValue)\""), "\(annotation)")
        }
        // Rollback works on what is applied.
        var final = entry.state.rawValue
        if entry.state == .applied {
            _ = try await clean.rollback(entry, reason: "after the matrix", time: 1_000_300, force: false)
            #expect(cluster.value(item.knob) == KnobValue.text(from))
            #expect(try cluster.journal.entries().first?.state == .rolledBack)
            final += " → rolled-back"
        }
        print("fault-matrix | \(item.step.rawValue) | \(item.knob) | \(item.fault.rawValue) | \(final) | knob writes \(writes) | events \(cluster.events.count)")
        await impatient.shutdown()
        await cluster.stop()
    }
}
