import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import TrimtabCore
import TrimtabCycle
import TrimtabKube
import TrimtabKubeSandbox
import TrimtabSandbox
import TrimtabTestSupport

/// A pool size changed live: two pods of `shop/api`, each a real JVM with a HikariCP pool to the real
/// PostgreSQL and Jolokia serving its MBeans, found through the sandbox API server's Pods (their
/// `jolokia` container ports point at a fault-injecting proxy in front of each JVM). Trimtab sets
/// `MaximumPoolSize` on every pod, reads it back, rolls it back, and after every fault a clean run
/// leaves the journal agreeing with what each JVM holds.
@Suite("Live pool size through Jolokia on real HikariCP services", .serialized)
struct JolokiaKnobTests {
    static let mbean = "com.zaxxer.hikari:type=PoolConfig (shop)"
    static let knob = Knob.jolokia(JolokiaKnob(port: "jolokia", mbean: mbean, attribute: "MaximumPoolSize"))

    /// PostgreSQL, two pool services behind proxies, and the sandbox with the Deployment and its Pods.
    final class World: @unchecked Sendable {
        let database: PostgresSandbox
        var services: [PoolServiceSandbox]
        let proxies: [FaultProxy]
        let cluster: ClusterFixture
        static let pods = ["api-6b7f9c-a1", "api-6b7f9c-b2"]

        init(database: PostgresSandbox, services: [PoolServiceSandbox], proxies: [FaultProxy], cluster: ClusterFixture) {
            self.database = database
            self.services = services
            self.proxies = proxies
            self.cluster = cluster
        }

        static func pod(_ name: String, port: Int, startedAt: Double) -> JSONValue {
            let started = JSONValue.string(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: startedAt)))
            return ["apiVersion": "v1", "kind": "Pod",
                    "metadata": ["name": .string(name), "namespace": "shop", "labels": ["app": "api"]],
                    "spec": ["containers": [["name": "app", "image": "shop/api:1",
                                             "ports": [["name": "http", "containerPort": 8080], ["name": "jolokia", "containerPort": .number(Double(port))]]]]],
                    "status": ["phase": "Running", "podIP": "127.0.0.1", "startTime": started,
                               "conditions": [["type": "Ready", "status": "True"]],
                               "containerStatuses": [["name": "app", "ready": true, "restartCount": 0, "state": ["running": ["startedAt": started]]]]]]
        }

        static func start(size: Int = 5) async throws -> World {
            let database = try await PostgresSandbox.start()
            var services: [PoolServiceSandbox] = []
            var proxies: [FaultProxy] = []
            for _ in pods {
                let service = try await PoolServiceSandbox.start(database: database, size: size)
                services.append(service)
                proxies.append(try await FaultProxy(upstream: service.url))
            }
            let started = Date().timeIntervalSince1970 - 3600
            let objects = ClusterFixture.seed() + zip(pods, proxies).map { pod($0, port: $1.port, startedAt: started) }
            // Real JVMs behind a proxy on a loaded 2-core machine: a first answer once took over 5 s.
            return World(database: database, services: services, proxies: proxies,
                         cluster: try await ClusterFixture.start(objects: objects, httpTimeoutSeconds: 30))
        }

        /// What each JVM's pool holds, read from its own `/metrics` (not through Trimtab, not through the proxy).
        func held() async throws -> [String] {
            var values: [String] = []
            for service in services {
                let (data, _) = try await URLSession.shared.data(from: URL(string: service.url + "/metrics")!)
                let line = String(decoding: data, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("hikaricp_connections_max{") }
                values.append(line.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }.map(KnobValue.text) ?? "unreadable")
            }
            return values
        }

        /// Kills one JVM and starts it again where it was, with its configured size: a container restart,
        /// which the kubelet reports as a new `startedAt`.
        func restart(_ index: Int, size: Int = 5) async throws {
            let port = services[index].port
            services[index].stop()
            services[index] = try await PoolServiceSandbox.start(database: database, size: size, port: port)
            let now = JSONValue.string(ISO8601DateFormatter().string(from: Date()))
            try cluster.sandbox.mutate(apiVersion: "v1", kind: "Pod", namespace: "shop", name: Self.pods[index]) { pod in
                pod[path: ["status", "containerStatuses"]] = [["name": "app", "ready": true, "restartCount": 1, "state": ["running": ["startedAt": now]]]]
            }
        }

        /// Sets a pod's Ready condition, as the kubelet reports its readiness probe.
        func setReady(_ index: Int, _ ready: Bool) throws {
            try cluster.sandbox.mutate(apiVersion: "v1", kind: "Pod", namespace: "shop", name: Self.pods[index]) { pod in
                pod[path: ["status", "conditions"]] = [["type": "Ready", "status": .string(ready ? "True" : "False")]]
            }
        }

        func stop() async {
            for proxy in proxies { await proxy.stop() }
            for service in services { service.stop() }
            await cluster.stop()
            database.stop()
        }
    }

    /// An executor whose clock is a minute ahead: a write sent before can no longer be in flight, so
    /// recovery may close an entry Jolokia (which has nothing to fence with) left begun.
    static func later(_ cluster: ClusterFixture) -> Executor {
        Executor(cluster: KubeCluster(client: cluster.client, http: cluster.http, journal: cluster.journal), policy: cluster.policy,
                 clock: ManualClock(start: Date().timeIntervalSince1970 + 60))
    }

    @Test func thePoolIsResizedLiveOnEveryPodReadBackAndRolledBack() async throws {
        let world = try await World.start()
        do {
            let generation = world.cluster.deployment?[path: ["metadata", "generation"]]
            let outcomes = try await world.cluster.executor().execute(onePlan(Self.knob, from: 5, to: 8), assessment: assessment(), mode: .enforce, time: 1_000_000)
            #expect(outcomes.map(\.result) == [.applied], "\(outcomes.map(\.detail))")
            #expect(try await world.held() == ["8", "8"])
            let entry = try #require(try world.cluster.journal.entries().first)
            #expect(entry.state == .applied && entry.before == "5" && entry.after == "8")
            #expect(entry.recorded == true, "annotation and Event on the Deployment")
            // Nothing rolled: the pod template is untouched.
            #expect(world.cluster.deployment?[path: ["metadata", "generation"]] == generation)
            #expect(world.cluster.successfulWrites.allSatisfy { !$0.path.hasSuffix("/deployments/api") || $0.method == "PATCH" })
            // Each pod was written once and read back, through Jolokia's JSON protocol.
            for proxy in world.proxies {
                let bodies = proxy.records.map(\.body)
                #expect(bodies.filter { $0.contains("\"write\"") }.count == 1, "\(bodies)")
                #expect(bodies.last?.contains("\"read\"") == true)
            }
            // The plan's read of the knob: both pods agree.
            #expect(try await world.cluster.knobState(Self.knob) == .value(8, source: "Jolokia on the 2 ready pods of deployment/api in namespace shop"))

            _ = try await world.cluster.executor().rollback(entry, reason: "by hand", time: 1_000_100, force: false)
            #expect(try await world.held() == ["5", "5"])
            #expect(try world.cluster.journal.entries().first?.state == .rolledBack)
        } catch {
            Issue.record("\(error)\n\(world.services.map(\.output).joined(separator: "\n"))")
        }
        await world.stop()
    }

    enum JolokiaFault: String, CaseIterable, Sendable {
        case error500AfterTheSecondPodsWrite = "500 after the second pod's write landed"
        case dropAfterTheSecondPodsWrite = "dropped after the second pod's write landed"
        case dropBeforeTheSecondPodsWrite = "dropped before the second pod's write"
        case error503BeforeTheFirstPodsWrite = "503 before the first pod's write"
    }

    @Test(arguments: JolokiaFault.allCases)
    func theJournalAgreesWithEveryJVMAfterAFault(_ fault: JolokiaFault) async throws {
        let world = try await World.start()
        do {
            switch fault {
            case .error500AfterTheSecondPodsWrite: world.proxies[1].inject(.errorAfterForwarding(500), matching: "\"write\"")
            case .dropAfterTheSecondPodsWrite: world.proxies[1].inject(.dropAfterForwarding, matching: "\"write\"")
            case .dropBeforeTheSecondPodsWrite: world.proxies[1].inject(.dropBeforeForwarding, matching: "\"write\"")
            case .error503BeforeTheFirstPodsWrite: world.proxies[0].inject(.errorBeforeForwarding(503), matching: "\"write\"")
            }
            let faulty = try await world.cluster.executor().execute(onePlan(Self.knob, from: 5, to: 8), assessment: assessment(), mode: .enforce, time: 1_000_000)
            #expect(faulty.map(\.result) == [.uncertain], "\(faulty.map(\.detail))")
            #expect(try world.cluster.journal.entries().first?.state == .begun)
            let during = try await world.held()

            // The clean run settles the entry from what every pod holds.
            let clean = Self.later(world.cluster)
            let recovery = try await clean.recover(time: 1_000_200)
            #expect(recovery.stoppedBy == nil, "\(recovery.events.map(\.detail))")
            let entry = try #require(try world.cluster.journal.entries().first)
            let held = try await world.held()
            switch entry.state {
            case .applied: #expect(held == ["8", "8"], "journal applied, the JVMs hold \(held)")
            case .notApplied: #expect(held == ["5", "5"], "journal not-applied, the JVMs hold \(held)")
            default: Issue.record("left \(entry.state.rawValue): \(entry.notes)")
            }
            switch fault {
            case .error500AfterTheSecondPodsWrite, .dropAfterTheSecondPodsWrite:
                #expect(entry.state == .applied, "both writes landed: \(entry.notes)")
            case .dropBeforeTheSecondPodsWrite:
                // The write reached one pod: undone there, so no pod runs a size the journal does not show.
                #expect(during == ["8", "5"])
                #expect(entry.state == .notApplied && entry.notes.last?.contains("reached 1 of 2 pods") == true, "\(entry.notes)")
            case .error503BeforeTheFirstPodsWrite:
                #expect(during == ["5", "5"])
                #expect(entry.state == .notApplied)
            }
            // A re-run of the same plan changes nothing (an action is journaled once).
            let again = try await clean.execute(onePlan(Self.knob, from: 5, to: 8), assessment: assessment(), mode: .enforce, time: 1_000_000)
            #expect(again.allSatisfy { $0.result == .skipped }, "\(again.map(\.detail))")
            #expect(try await world.held() == held)
            print("jolokia-faults | \(fault.rawValue) | during \(during) | \(entry.state.rawValue) | after \(held)")
        } catch {
            Issue.record("\(error)\n\(world.services.map(\.output).joined(separator: "\n"))")
        }
        await world.stop()
    }

    /// A pod whose JVM restarted comes up with its configured size: the next cycle sets it again. A
    /// pod that ran through the change and holds another size was changed by someone else: the
    /// entry is superseded and nothing is written.
    @Test func aRestartedPodIsSetAgainAndAnotherWritersChangeIsLeftAlone() async throws {
        let world = try await World.start()
        do {
            // Pod b is not ready when the change is made: only pod a gets it.
            try world.setReady(1, false)
            _ = try await world.cluster.executor().execute(onePlan(Self.knob, from: 5, to: 8), assessment: assessment(), mode: .enforce, time: 1_000_000)
            #expect(try await world.held() == ["8", "5"])
            #expect(try world.cluster.journal.entries().first?.pods == ["api-6b7f9c-a1"])
            // Ready now (it has run since before the change): it never had the value, so it is set, not taken for another writer's.
            try world.setReady(1, true)
            let readied = try await world.cluster.executor().keepLiveValues(time: 1_000_030)
            #expect(readied.map(\.detail) == ["set to 8 on api-6b7f9c-b2, which started after the change or was not ready for it"], "\(readied.map(\.detail))")
            #expect(try await world.held() == ["8", "8"])

            try await world.restart(1)
            #expect(try await world.held() == ["8", "5"], "the restarted JVM lost the value")
            let events = try await world.cluster.executor().keepLiveValues(time: 1_000_060)
            #expect(events.map(\.detail) == ["set to 8 on api-6b7f9c-b2, which started after the change or was not ready for it"], "\(events.map(\.detail))")
            #expect(try await world.held() == ["8", "8"])
            var entry = try #require(try world.cluster.journal.entries().first)
            #expect(entry.state == .applied && entry.notes.last?.contains("on pod api-6b7f9c-b2 (5)") == true, "\(entry.notes)")
            // Nothing to do when every pod holds it.
            #expect(try await world.cluster.executor().keepLiveValues(time: 1_000_120).isEmpty)

            // Someone sets pod a's pool by hand (it has run since before the change).
            let (status, body) = try await Self.jolokiaWrite(world.services[0].url, value: 6)
            #expect(status == 200 && body.contains("\"status\":200"), "\(body)")
            let writesBefore = world.proxies.map { $0.records.filter { $0.body.contains("\"write\"") }.count }
            let seen = try await world.cluster.executor().keepLiveValues(time: 1_000_180)
            entry = try #require(try world.cluster.journal.entries().first)
            #expect(entry.state == .superseded, "\(seen.map(\.detail))")
            #expect(world.proxies.map { $0.records.filter { $0.body.contains("\"write\"") }.count } == writesBefore, "nothing written")
            #expect(try await world.held() == ["6", "8"])
        } catch {
            Issue.record("\(error)\n\(world.services.map(\.output).joined(separator: "\n"))")
        }
        await world.stop()
    }

    static func jolokiaWrite(_ url: String, value: Int) async throws -> (Int, String) {
        var request = URLRequest(url: URL(string: url + "/jolokia")!)
        request.httpMethod = "POST"
        request.httpBody = Data(#"{"type":"write","mbean":"\#(mbean)","attribute":"MaximumPoolSize","value":\#(value)}"#.utf8)
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// Jolokia's error bodies (HTTP 200, the failure in `status`, `error_type` and `error`): an MBean
    /// that is not there leaves the knob unknown, naming it and the pod; a value HikariCP refuses is
    /// rejected with its own words, and no pod changed.
    @Test func jolokiasErrorsAreReportedInItsOwnWords() async throws {
        let world = try await World.start()
        do {
            let missing = Knob.jolokia(JolokiaKnob(port: "jolokia", mbean: "com.zaxxer.hikari:type=PoolConfig (orders)", attribute: "MaximumPoolSize"))
            let state = try await world.cluster.knobState(missing)
            guard case .unknown(let why)? = state else {
                Issue.record("expected an unknown value, got \(String(describing: state))")
                throw CancellationError()
            }
            #expect(why.contains("404 javax.management.InstanceNotFoundException") && why.contains("pod api-6b7f9c-a1"), "\(why)")

            let outcomes = try await world.cluster.executor().execute(onePlan(Self.knob, from: 5, to: 0), assessment: assessment(), mode: .enforce, time: 1_000_000)
            #expect(outcomes.map(\.result) == [.rejected], "\(outcomes.map(\.detail))")
            #expect(outcomes.first?.detail.contains("maxPoolSize cannot be less than 1") == true, "\(outcomes.map(\.detail))")
            #expect(try world.cluster.journal.entries().first?.state == .notApplied)
            #expect(try await world.held() == ["5", "5"])
        } catch is CancellationError {
        } catch {
            Issue.record("\(error)\n\(world.services.map(\.output).joined(separator: "\n"))")
        }
        await world.stop()
    }
}

/// `{http: {port, path}}`: an application's admin endpoint on each pod (a setting each process holds,
/// as Go's `SetMaxOpenConns`), not one URL behind a Service that reaches one pod of many.
@Suite("An admin endpoint on every pod")
struct PodAdminEndpointTests {
    @Test func everyPodIsSetAndReadBackAndPodsThatDisagreeHoldThePlan() async throws {
        let endpoints = [AdminEndpoint("10"), AdminEndpoint("10")]
        var servers: [ScriptedHTTPServer] = []
        for endpoint in endpoints { servers.append(try await ScriptedHTTPServer { endpoint.answer($0) }) }
        let started = Date().timeIntervalSince1970 - 3600
        let objects = ClusterFixture.seed() + zip(JolokiaKnobTests.World.pods, servers).map { pod, server in
            var object = JolokiaKnobTests.World.pod(pod, port: server.port, startedAt: started)
            object[path: ["spec", "containers"]] = [["name": "app", "image": "shop/api:1", "ports": [["name": "admin", "containerPort": .number(Double(server.port))]]]]
            return object
        }
        let cluster = try await ClusterFixture.start(objects: objects)
        let knob = Knob.podHTTP(PodHTTPKnob(port: "admin", path: "/admin/db-max-open"))
        let outcomes = try await cluster.executor().execute(onePlan(knob, from: 10, to: 16), assessment: assessment(), mode: .enforce, time: 1_000_000)
        #expect(outcomes.map(\.result) == [.applied], "\(outcomes.map(\.detail))")
        #expect(endpoints.map(\.current) == ["16", "16"])
        #expect(servers.allSatisfy { $0.requests.contains { $0.method == "PUT" && $0.uri == "/admin/db-max-open" && $0.body == #"{"value":16}"# } })
        // Pods that disagree: the plan cannot say what the pool holds, so it holds the change.
        endpoints[1].set("12")
        #expect(try await cluster.knobState(knob) == .unknown("the 2 pods of deployment/api in namespace shop disagree on /admin/db-max-open: mixed (api-6b7f9c-a1: 16, api-6b7f9c-b2: 12)"))
        for server in servers { await server.stop() }
        await cluster.stop()
    }
}
