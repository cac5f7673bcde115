import Foundation
import Testing
import TrimtabCore
import TrimtabCycle
import TrimtabKube
import TrimtabKubeSandbox
import TrimtabSandbox
import TrimtabTestSupport

/// pgbouncer's pool size changed live: two pods of a pgbouncer Deployment (`shop/api` here), each a
/// real pgbouncer in front of the real PostgreSQL, found through the sandbox API server's Pods, whose
/// `pgbouncer` container ports point at a fault-injecting TCP proxy in front of each. Trimtab logs in
/// to the admin console with md5, reads `SHOW CONFIG`, writes `SET default_pool_size`, reads back,
/// rolls back, and after every fault a clean run leaves the journal agreeing with every pgbouncer.
@Suite("Live pool size on real pgbouncers", .serialized)
struct PgBouncerKnobTests {
    static let password = "s3cret-admin"

    final class World: @unchecked Sendable {
        let database: PostgresSandbox
        var bouncers: [PgBouncerSandbox]
        let proxies: [TCPFaultProxy]
        let cluster: ClusterFixture
        let knob: Knob

        init(database: PostgresSandbox, bouncers: [PgBouncerSandbox], proxies: [TCPFaultProxy], cluster: ClusterFixture, knob: Knob) {
            self.database = database
            self.bouncers = bouncers
            self.proxies = proxies
            self.cluster = cluster
            self.knob = knob
        }

        static func start() async throws -> World {
            let database = try await PostgresSandbox.start()
            var bouncers: [PgBouncerSandbox] = []
            var proxies: [TCPFaultProxy] = []
            for _ in JolokiaKnobTests.World.pods {
                let bouncer = try await PgBouncerSandbox.start(database: database, poolSize: 5, password: PgBouncerKnobTests.password)
                bouncers.append(bouncer)
                proxies.append(try TCPFaultProxy(upstream: bouncer.port))
            }
            let started = Date().timeIntervalSince1970 - 3600
            let objects = ClusterFixture.seed() + zip(JolokiaKnobTests.World.pods, proxies).map { pod, proxy in
                var object = JolokiaKnobTests.World.pod(pod, port: proxy.port, startedAt: started)
                object[path: ["spec", "containers"]] = [["name": "pgbouncer", "image": "pgbouncer:1.18",
                                                         "ports": [["name": "pgbouncer", "containerPort": .number(Double(proxy.port))]]]]
                return object
            }
            let knob = Knob.pgbouncer(PgBouncerKnob(port: "pgbouncer", user: "trimtab", passwordFile: bouncers[0].passwordFile, setting: "default_pool_size"))
            return World(database: database, bouncers: bouncers, proxies: proxies, cluster: try await ClusterFixture.start(objects: objects, httpTimeoutSeconds: 30), knob: knob)
        }

        /// What each pgbouncer holds, asked directly (not through the proxy), with psql.
        func held() async throws -> [String] {
            var held: [String] = []
            for bouncer in bouncers {
                let dir = FileManager.default.temporaryDirectory
                let (status, output) = try await PrometheusSandbox.run("/usr/bin/env", ["PGPASSWORD=\(PgBouncerKnobTests.password)", "psql", "-h", "127.0.0.1",
                                                                                         "-p", "\(bouncer.port)", "-U", "trimtab", "-At", "-c", "SHOW CONFIG", "pgbouncer"],
                                                                       in: dir, keepingLast: 20_000)
                guard status == 0 else { held.append("unreadable: \(output)"); continue }
                held.append(output.split(separator: "\n").first { $0.hasPrefix("default_pool_size|") }.map { String($0.split(separator: "|")[1]) } ?? "absent")
            }
            return held
        }

        func stop() async {
            for proxy in proxies { proxy.stop() }
            for bouncer in bouncers { bouncer.stop() }
            await cluster.stop()
            database.stop()
        }
    }

    @Test func thePoolIsResizedLiveOnEveryPgBouncerReadBackAndRolledBack() async throws {
        let world = try await World.start()
        do {
            #expect(try await world.held() == ["5", "5"])
            let outcomes = try await world.cluster.executor().execute(onePlan(world.knob, from: 5, to: 12), assessment: assessment(), mode: .enforce, time: 1_000_000)
            #expect(outcomes.map(\.result) == [.applied], "\(outcomes.map(\.detail))")
            #expect(try await world.held() == ["12", "12"])
            let entry = try #require(try world.cluster.journal.entries().first)
            #expect(entry.state == .applied && entry.before == "5" && entry.pods == JolokiaKnobTests.World.pods)
            _ = try await world.cluster.executor().rollback(entry, reason: "by hand", time: 1_000_100, force: false)
            #expect(try await world.held() == ["5", "5"])
            // A pgbouncer that restarts comes back with its ini file's size: set again.
            _ = try await world.cluster.executor().execute(onePlan(world.knob, from: 5, to: 9, time: 1_000_200), assessment: assessment(), mode: .enforce, time: 1_000_200)
            let port = world.bouncers[1].port
            world.bouncers[1].stop()
            world.bouncers[1] = try await PgBouncerSandbox.start(database: world.database, poolSize: 5, port: port, password: Self.password)
            let now = JSONValue.string(ISO8601DateFormatter().string(from: Date()))
            try world.cluster.sandbox.mutate(apiVersion: "v1", kind: "Pod", namespace: "shop", name: JolokiaKnobTests.World.pods[1]) { pod in
                pod[path: ["status", "containerStatuses"]] = [["name": "pgbouncer", "ready": true, "restartCount": 1, "state": ["running": ["startedAt": now]]]]
            }
            #expect(try await world.held() == ["9", "5"])
            let kept = try await world.cluster.executor().keepLiveValues(time: 1_000_260)
            #expect(kept.map(\.detail) == ["set to 9 on api-6b7f9c-b2, which started after the change or was not ready for it"], "\(kept.map(\.detail))")
            #expect(try await world.held() == ["9", "9"])
        } catch {
            Issue.record("\(error)")
        }
        await world.stop()
    }

    /// The admin console's own refusals, in its words: a wrong password, a setting it does not have.
    @Test func theConsolesRefusalsAreReportedInItsOwnWords() async throws {
        let world = try await World.start()
        do {
            let wrong = FileManager.default.temporaryDirectory.appendingPathComponent("wrong-\(UUID().uuidString)").path
            try "not-it\n".write(toFile: wrong, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: wrong) }
            let badLogin = Knob.pgbouncer(PgBouncerKnob(port: "pgbouncer", user: "trimtab", passwordFile: wrong))
            let why = try await Self.knobState(badLogin, world)
            #expect(why.contains("refused login as trimtab") && why.contains("password authentication failed"), "\(why)")
            let noSuch = Knob.pgbouncer(PgBouncerKnob(port: "pgbouncer", user: "trimtab", passwordFile: world.bouncers[0].passwordFile, setting: "no_such_setting"))
            #expect(try await Self.knobState(noSuch, world) == "pgbouncer on pod api-6b7f9c-a1 has no setting no_such_setting (SHOW CONFIG)")
            // A value pgbouncer refuses: rejected, nothing changed.
            let outcomes = try await world.cluster.executor().execute(onePlan(world.knob, from: 5, to: -1), assessment: assessment(), mode: .enforce, time: 1_000_000)
            #expect(outcomes.map(\.result) == [.rejected], "\(outcomes.map(\.detail))")
            #expect(outcomes.first?.detail.contains("refused SET default_pool_size = -1") == true, "\(outcomes.map(\.detail))")
            #expect(try await world.held() == ["5", "5"])
        } catch {
            Issue.record("\(error)")
        }
        await world.stop()
    }
    /// Why the plan's read of `knob` found no value.
    static func knobState(_ knob: Knob, _ world: World) async throws -> String {
        let state = try await world.cluster.knobState(knob)
        guard case .unknown(let why)? = state else { return "expected an unknown value, got \(String(describing: state))" }
        return why
    }

    enum BouncerFault: String, CaseIterable, Sendable {
        case dropAfterTheSecondSetLanded = "dropped after the second pgbouncer's SET landed"
        case dropBeforeTheSecondSet = "dropped before the second pgbouncer's SET"
        case dropBeforeTheFirstSet = "dropped before the first pgbouncer's SET"
    }

    @Test(arguments: BouncerFault.allCases)
    func theJournalAgreesWithEveryPgBouncerAfterAFault(_ fault: BouncerFault) async throws {
        let world = try await World.start()
        do {
            switch fault {
            case .dropAfterTheSecondSetLanded: world.proxies[1].inject(.dropAfterForwarding, whenClientSends: "SET default_pool_size")
            case .dropBeforeTheSecondSet: world.proxies[1].inject(.dropBeforeForwarding, whenClientSends: "SET default_pool_size")
            case .dropBeforeTheFirstSet: world.proxies[0].inject(.dropBeforeForwarding, whenClientSends: "SET default_pool_size")
            }
            let faulty = try await world.cluster.executor().execute(onePlan(world.knob, from: 5, to: 12), assessment: assessment(), mode: .enforce, time: 1_000_000)
            #expect(faulty.map(\.result) == [.uncertain], "\(faulty.map(\.detail))")
            #expect(world.proxies.flatMap(\.met).count == 1)
            let during = try await world.held()
            let recovery = try await JolokiaKnobTests.later(world.cluster).recover(time: 1_000_200)
            #expect(recovery.stoppedBy == nil, "\(recovery.events.map(\.detail))")
            let entry = try #require(try world.cluster.journal.entries().first)
            let held = try await world.held()
            switch entry.state {
            case .applied: #expect(held == ["12", "12"], "journal applied, pgbouncers hold \(held)")
            case .notApplied: #expect(held == ["5", "5"], "journal not-applied, pgbouncers hold \(held)")
            default: Issue.record("left \(entry.state.rawValue): \(entry.notes)")
            }
            switch fault {
            case .dropAfterTheSecondSetLanded: #expect(entry.state == .applied && during == ["12", "12"])
            case .dropBeforeTheSecondSet: #expect(entry.state == .notApplied && during == ["12", "5"], "\(during) \(entry.notes)")
            case .dropBeforeTheFirstSet: #expect(entry.state == .notApplied && during == ["5", "5"])
            }
            print("pgbouncer-faults | \(fault.rawValue) | during \(during) | \(entry.state.rawValue) | after \(held)")
        } catch {
            Issue.record("\(error)")
        }
        await world.stop()
    }
}
