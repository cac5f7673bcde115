import Foundation
import Testing
import TrimtabCore
import TrimtabCycle
import TrimtabKube
import TrimtabKubeSandbox
import TrimtabSandbox
import Yams

/// The demo cluster with its objects marked as Argo CD's (the tracking annotation) and Flux's (the
/// kustomize labels): `analyze --apply` writes nothing to them, writes patches for Git instead,
/// journals each once, and settles them from what the objects come to hold.
@Suite("GitOps against the sandbox")
struct GitOpsClusterTests {
    static func mark(_ client: KubeClient, flux: Set<String>) async throws {
        for workload in ["checkout", "cart", "catalog", "payments", "orders", "search", "inventory"] {
            let metadata: [String: Any] = flux.contains(workload)
                ? ["labels": ["kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"]]
                : ["annotations": ["argocd.argoproj.io/tracking-id": "shop:apps/Deployment:shop/\(workload)"]]
            _ = try await client.patch(.deployments, namespace: "shop", name: workload, .merge, body: ["metadata": metadata], dryRun: false)
        }
        _ = try await client.patch(.horizontalPodAutoscalers, namespace: "shop", name: "inventory", .merge,
                                   body: ["metadata": ["annotations": ["argocd.argoproj.io/tracking-id": "shop:autoscaling/HorizontalPodAutoscaler:shop/inventory"]]],
                                   dryRun: false)
    }

    /// Writes other than Trimtab's own bookkeeping (leases, events) and the test's marking.
    static func objectWrites(_ sandbox: KubeSandbox, after index: Int) -> [String] {
        sandbox.requests.dropFirst(index)
            .filter { $0.method != "GET" && !$0.path.contains("/leases") && !$0.path.contains("/events") && !$0.query.contains("dryRun") }
            .map { "\($0.method) \($0.path)" }
    }

    @Test func managedObjectsGetPatchesNotWritesAndEachPatchIsJournaledOnce() async throws {
        let step = DemoScenario.scrapeInterval
        let end = (alignedNow() / step).rounded(.down) * step
        try await withTemporaryDirectory { dir in
            let sandbox = try await KubeSandbox.start(configuration: .demo)
            let client = try KubeClient(KubeConfiguration(server: sandbox.url, token: KubeSandbox.adminToken, timeoutSeconds: 5))
            let http = HTTPEndpointClient()
            defer { Task { await client.shutdown(); await http.shutdown(); await sandbox.stop() } }
            try await Self.mark(client, flux: ["catalog", "search"])
            let kubeconfig = try JournalTruthTests.kubeconfig(sandbox, in: dir)
            let journalPath = dir.appendingPathComponent("journal").path
            let patches = dir.appendingPathComponent("patches").path
            let report = dir.appendingPathComponent("r.md").path
            let journal = FileJournal(directory: journalPath)
            try await withPrometheus(DemoScenario.openMetrics(end: end)) { prometheus in
                func analyze(_ extra: [String] = []) async -> Int32 {
                    await trimtab(["analyze", "--prometheus", prometheus.url, "--at", "\(Int(end))", "--kubeconfig", kubeconfig,
                                   "--journal", journalPath, "--patch-dir", patches, "--quiet", "--output", report] + extra)
                }
                // Dry-run: the patches are written and shown, nothing is journaled or changed.
                var before = sandbox.requests.count
                _ = await analyze()
                #expect(Self.objectWrites(sandbox, after: before) == [])
                #expect(try journal.entries().isEmpty)
                let dryFiles = try Self.files(under: patches)
                #expect(!dryFiles.isEmpty)
                let markdown = try String(contentsOfFile: report, encoding: .utf8)
                #expect(markdown.contains("### Patches for Git"), "\(markdown)")
                #expect(markdown.contains("📝 for Git"))

                // Enforce: still nothing written to the objects; each patch journaled awaiting-git.
                before = sandbox.requests.count
                _ = await analyze(["--apply"])
                #expect(Self.objectWrites(sandbox, after: before) == [])
                let waiting = try journal.entries()
                #expect(!waiting.isEmpty)
                #expect(waiting.allSatisfy { $0.state == .awaitingGit }, "\(waiting.map(\.state))")
                #expect(Set(waiting.map { "\($0.workload.namespace)/\(GitPatchName.of($0))" }).isSubset(of: Set(try Self.files(under: patches))))
                // The files are patches kustomize reads: YAML whose comments say what and why.
                for file in try Self.files(under: patches) {
                    let text = try String(contentsOfFile: patches + "/" + file, encoding: .utf8)
                    #expect(text.hasPrefix("# Trimtab: "))
                    #expect(try Yams.load(yaml: text) != nil, "\(file)")
                }
                let flux = waiting.filter { ["catalog", "search"].contains($0.workload.name) }
                #expect(flux.allSatisfy { $0.notes.last?.contains("Flux (Kustomization flux-system/apps") == true }, "\(flux.map(\.notes))")

                // Again: nothing new is journaled; the plan says each waits in Git.
                _ = await analyze(["--apply"])
                #expect(try journal.entries().count == waiting.count)
                let again = try String(contentsOfFile: report, encoding: .utf8)
                #expect(again.contains("waiting in Git"), "\(again)")

                // Git carries the first patch (the GitOps tool syncs the object to it); the next cycle sees it.
                let first = try #require(waiting.first)
                let cluster = KubeCluster(client: client, http: http, journal: journal)
                let actuator = try cluster.actuator(for: first.knob, of: first.workload)
                try await actuator.write(first.after, over: try await actuator.read(), dryRun: false)
                _ = await analyze(["--apply"])
                let settled = try #require(try journal.entries().first { $0.id == first.id })
                #expect(settled.state == .carried, "\(settled.notes)")
                #expect(settled.appliedAt != nil)
                #expect(try journal.entries().filter { $0.id != first.id }.allSatisfy { $0.state == .awaitingGit })
            }
        }
    }

    static func files(under directory: String) throws -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: directory)
        var files: [String] = []
        while let path = enumerator?.nextObject() as? String {
            if path.hasSuffix(".yaml") { files.append(path) }
        }
        return files.sorted()
    }
}

/// The file name a journaled change's patch gets, as `GitPatch` names it.
enum GitPatchName {
    static func of(_ entry: JournalEntry) -> String {
        guard let object = entry.knob.object(of: entry.workload) else { return "" }
        let managed = ManagedObject(object: object, management: GitOpsManagement(tool: .argoCD, owner: "", evidence: ""), containers: ["app"])
        let file = GitPatch.make(knob: entry.knob, value: Double(entry.after) ?? 0, managed: managed, cpuMetricIndex: 0, reason: "")?.file ?? ""
        return String(file.split(separator: "/").last ?? "")
    }
}
