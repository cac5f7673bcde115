import Foundation
import Testing
import TrimtabCycle
@testable import TrimtabCore
import TrimtabCLI
import TrimtabKube
import TrimtabKubeSandbox
import TrimtabSandbox
import TrimtabTestSupport

/// Two writers, a failing recovery, an edited journal: `analyze --apply` and `rollback` as an operator
/// runs them, against the real Prometheus and the sandbox API server.
@Suite("The journal's truth: one writer, a failing recovery, bounded rollbacks", .serialized)
struct JournalTruthTests {
    static func writes(_ sandbox: KubeSandbox) -> [String] {
        sandbox.requests.filter { $0.method != "GET" && !$0.path.contains("/leases") }.map { "\($0.method) \($0.path)" }
    }

    static func kubeconfig(_ sandbox: KubeSandbox, in dir: URL) throws -> String {
        let path = dir.appendingPathComponent("kubeconfig-\(UUID().uuidString.prefix(6))").path
        try sandbox.kubeconfig(token: KubeSandbox.adminToken, tokenInServerPath: false).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func oneWriterAtATimeWithEitherJournal() async throws {
        let step = DemoScenario.scrapeInterval
        let end = (alignedNow() / step).rounded(.down) * step
        try await withTemporaryDirectory { dir in
            try await withPrometheus(DemoScenario.openMetrics(end: end)) { prometheus in
                for journal in [dir.appendingPathComponent("journal").path, "configmap:trimtab/trimtab-journal"] {
                    let sandbox = try await KubeSandbox.start(configuration: .demo)
                    let kubeconfig = try Self.kubeconfig(sandbox, in: dir)
                    let base = ["analyze", "--prometheus", prometheus.url, "--at", "\(Int(end))", "--kubeconfig", kubeconfig,
                                "--journal", journal, "--apply", "--quiet", "--output", dir.appendingPathComponent("r-\(UUID().uuidString.prefix(4)).md").path]
                    // Another run holds the lock: this one changes nothing, says who holds it, exits 4.
                    let client = try KubeClient(KubeConfiguration(server: sandbox.url, token: KubeSandbox.adminToken, timeoutSeconds: 5))
                    let store: any JournalStore = journal.hasPrefix("configmap:")
                        ? ConfigMapJournal(client: client, namespace: "trimtab", name: "trimtab-journal") : FileJournal(directory: journal)
                    let held = store.lock()
                    try await held.acquire()
                    let (refused, errors) = await capturingStandardError { await trimtab(base) }
                    #expect(refused == 4, "\(errors)")
                    #expect(errors.contains("another Trimtab run") && errors.contains("changes nothing"), "\(errors)")
                    #expect(Self.writes(sandbox).isEmpty, "\(Self.writes(sandbox))")
                    await held.release()

                    // Two runs at once at the same evaluation time: whichever takes the lock acts; the
                    // other changes nothing, or (when it comes after) finds every action journaled.
                    async let first = capturingStandardError { await trimtab(base) }
                    async let second = capturingStandardError { await trimtab(base) }
                    let (one, two) = await (first, second)
                    #expect(Set([one.0, two.0]).isSubset(of: [0, 4]) && [one.0, two.0].contains(0), "\(one.1)\n\(two.1)")
                    let entries = try await store.entries()
                    #expect(Set(entries.map(\.id)).count == entries.count, "duplicate ids")
                    #expect(Set(entries.map(\.actionID)).count == entries.count, "an action journaled twice")
                    #expect(entries.count == 4 && entries.allSatisfy { $0.state == .applied }, "\(entries.map { "\($0.target) \($0.state.rawValue)" })")
                    // Each knob was written once.
                    let knobWrites = sandbox.requests.filter { ($0.method == "PUT" && $0.path.hasSuffix("/scale"))
                        || ($0.method == "PATCH" && $0.contentType == "application/strategic-merge-patch+json") }.filter { ($0.status ?? 0) < 300 }
                    #expect(knobWrites.count == 4, "\(knobWrites.map(\.path))")
                    await client.shutdown()
                    await sandbox.stop()
                }
            }
        }
    }

    /// A 500 while recovery reads an open entry's object stops the cycle: exit 4, nothing changed.
    @Test func aFailingRecoveryStopsTheCycle() async throws {
        let step = DemoScenario.scrapeInterval
        let end = (alignedNow() / step).rounded(.down) * step
        try await withTemporaryDirectory { dir in
            let sandbox = try await KubeSandbox.start(configuration: .demo)
            let kubeconfig = try Self.kubeconfig(sandbox, in: dir)
            let journal = dir.appendingPathComponent("journal").path
            // An entry a crashed run left begun on catalog's replicas.
            let target = TargetID(labelNames: ["namespace", "workload"], labelValues: ["shop", "catalog"])
            var entry = JournalEntry(id: "c0000beef", actionID: "shop/catalog/replicas@\(Int(end) - 600)", target: target,
                                     workload: WorkloadRef(kind: "Deployment", namespace: "shop", name: "catalog"), action: "scale",
                                     knob: .replicas, before: "6", after: "3", reason: "idle", evidence: [], baseline: .of(nil, trigger: ""),
                                     state: .begun, createdAt: end - 600, verifyAfterSeconds: 300, rollbackIfScoreDropsBy: 10)
            entry.notes = ["begun"]
            try FileJournal(directory: journal).save(entry)
            sandbox.inject(Fault(method: "GET", pathContaining: "/deployments/catalog/scale", .status(500)))
            let (code, errors) = try await capturingStandardError {
                try await withPrometheus(DemoScenario.openMetrics(end: end)) { prometheus in
                    await trimtab(["analyze", "--prometheus", prometheus.url, "--at", "\(Int(end))", "--kubeconfig", kubeconfig,
                                   "--journal", journal, "--apply", "--quiet", "--output", dir.appendingPathComponent("r.md").path])
                }
            }
            #expect(code == 4, "\(errors)")
            #expect(errors.contains("recovering open journal entries failed, so nothing was verified or changed"), "\(errors)")
            #expect(Self.writes(sandbox).isEmpty, "\(Self.writes(sandbox))")
            #expect(try FileJournal(directory: journal).entries().map(\.state) == [.begun])
            await sandbox.stop()
        }
    }

    /// A journal is a file a person can edit: a rollback never restores a value outside sane limits,
    /// nor, without --force, one outside the policy's bounds.
    @Test func aRollbackRespectsBounds() async throws {
        try await withTemporaryDirectory { dir in
            let sandbox = try await KubeSandbox.start(configuration: .demo)
            let kubeconfig = try Self.kubeconfig(sandbox, in: dir)
            let journal = dir.appendingPathComponent("journal").path
            let target = TargetID(labelNames: ["namespace", "workload"], labelValues: ["shop", "checkout"])
            func entry(before: String) throws -> String {
                var entry = JournalEntry(id: "c\(UUID().uuidString.prefix(8).lowercased())", actionID: "shop/checkout/replicas@\(UUID().uuidString)",
                                         target: target, workload: WorkloadRef(kind: "Deployment", namespace: "shop", name: "checkout"),
                                         action: "scale", knob: .replicas, before: before, after: "4", reason: "test", evidence: [],
                                         baseline: .of(nil, trigger: ""), state: .begun, createdAt: 1_000_000, verifyAfterSeconds: 300,
                                         rollbackIfScoreDropsBy: 10)
                entry.move(to: .applied, at: 1_000_000, note: "applied")
                entry.recorded = true
                try FileJournal(directory: journal).save(entry)
                return entry.id
            }
            let base = ["--kubeconfig", kubeconfig, "--journal", journal]
            let insane = try entry(before: "100000")
            let (code, errors) = await capturingStandardError { await trimtab(["rollback", insane, "--force"] + base) }
            #expect(code == 1)
            #expect(errors.contains("restoring 100000 for replicas is outside any sane value (0…10000); refusing it, with or without --force"), "\(errors)")
            // The default policy scales between 2 and 20.
            let high = try entry(before: "25")
            let (refused, why) = await capturingStandardError { await trimtab(["rollback", high] + base) }
            #expect(refused == 1)
            #expect(why.contains("outside the policy's bounds 2…20"), "\(why)")
            #expect(replicas(in: sandbox, of: "checkout") == 4)
            #expect(await trimtab(["rollback", high, "--force"] + base) == 0)
            #expect(replicas(in: sandbox, of: "checkout") == 25)
            await sandbox.stop()
        }
    }

    /// An API server (or a proxy before it) whose error echoes the request's credentials.
    @Test func aKubernetesErrorNeverShowsTheToken() async throws {
        let token = "kube-tok-7c6b5a4938271605"
        let server = try await ScriptedHTTPServer { request in
            .respond(status: 500, body: #"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"upstream said: \#(request.headers["authorization"] ?? "") / \#(token)","reason":"InternalError","code":500}"#)
        }
        let client = try KubeClient(KubeConfiguration(server: server.url, token: token, timeoutSeconds: 5), maxRetries: 0)
        do {
            _ = try await client.get(ConfigMapJSON.self, .configMaps, namespace: "shop", name: "x")
            Issue.record("no error")
        } catch {
            #expect(!error.description.contains(token), "\(error.description)")
            #expect(error.description.contains("[redacted]"))
        }
        await client.shutdown()
        await server.stop()
        // Trimtab's own refusals are not worded as the server's.
        #expect(KubeError(kind: .invalid, message: "maxReplicas must be a whole number of at least 1, not 0").description
                == "maxReplicas must be a whole number of at least 1, not 0 (Trimtab's own check, not the API server's)")
    }

    struct ConfigMapJSON: Decodable {}

    /// A Prometheus (or its proxy) whose errors echo the Authorization header, reached through a URL
    /// with a password in its fragment: neither secret reaches the reports or what is printed.
    @Test func echoedCredentialsReachNoOutput() async throws {
        let token = "prom-tok-31415926535897"
        let server = try await ScriptedHTTPServer { request in
            .respond(status: 401, body: #"{"status":"error","errorType":"unauthorized","error":"bad credentials: \#(request.headers["authorization"] ?? "")"}"#)
        }
        try await withTemporaryDirectory { dir in
            let tokenFile = dir.appendingPathComponent("token").path
            try token.write(toFile: tokenFile, atomically: true, encoding: .utf8)
            let url = server.url + "/#pw=fr4gment-s3cret"
            var outputs: [String] = []
            var printed = ""
            for format in ["markdown", "json"] {
                let path = dir.appendingPathComponent("r.\(format)").path
                let (code, errors) = await capturingStandardError {
                    await trimtab(["analyze", "--prometheus", url, "--bearer-token-file", tokenFile, "--format", format, "--output", path])
                }
                #expect(code == 3)
                printed += errors
                outputs.append(try String(contentsOfFile: path, encoding: .utf8))
            }
            let everything = outputs.joined() + printed
            #expect(everything.contains("answered 401"))
            #expect(!everything.contains(token), "the token leaked")
            #expect(!everything.contains("fr4gment-s3cret"), "the fragment leaked")
        }
        await server.stop()
    }

    @Test(arguments: ["nan", "inf", "-inf", "1e300", "-5"])
    func anImpossibleTimeIsRefused(_ text: String) async {
        let (code, errors) = await capturingStandardError { await trimtab(["analyze", "--prometheus", "http://127.0.0.1:1", "--at", text]) }
        #expect(code != 0)
        #expect(errors.contains("is not a time between 1970 and 2200") || code == 64, "\(errors)")
    }
}
