import Foundation
import Testing
@testable import TrimtabCore
import TrimtabKube
import TrimtabKubeSandbox
import TrimtabSandbox
#if canImport(Glibc)
import Glibc
#endif

/// The manifests in `deploy/kubernetes` hold Trimtab to least privilege, and the code to them: each
/// test renders an overlay with the real `kubectl kustomize`, gives Trimtab a token holding exactly
/// the rendered RBAC in the sandbox API server, runs Trimtab with the rendered container arguments,
/// and fails on any request the rules refused.
@Suite("deploy/kubernetes: the rendered RBAC and arguments against the sandbox API server", .serialized)
struct DeployManifestTests {
    /// What each overlay may write, all of it: no Secrets, no deletes, nothing cluster-wide but
    /// the targets' knobs, and Trimtab's own objects by name.
    @Test(arguments: ["dry-run", "enforce", "namespaced", "cronjob"])
    func everyOverlayGrantsTheLeastPrivilege(overlay: String) async throws {
        let grant = try DeployManifests.grant(try await DeployManifests.render(overlay))
        let writes = Set(["create", "update", "patch", "delete", "deletecollection", "*"])
        var written: [String] = []
        for rule in grant.rules {
            #expect(!rule.resources.contains("*") && !rule.verbs.contains("*") && !rule.apiGroups.contains("*"), "\(rule)")
            #expect(!rule.resources.contains("secrets") && !rule.resources.contains("pods"), "\(rule)")
            #expect(!rule.verbs.contains("delete") && !rule.verbs.contains("deletecollection"), "\(rule)")
            for verb in rule.verbs where writes.contains(verb) {
                for resource in rule.resources {
                    let scope = rule.namespaces.isEmpty ? "*" : rule.namespaces.joined(separator: ",")
                    let names = rule.resourceNames.isEmpty ? "" : "[" + rule.resourceNames.joined(separator: ",") + "]"
                    written.append("\(verb) \(resource)\(names) in \(scope)")
                }
            }
        }
        let targets = overlay == "namespaced" ? "shop" : "*"
        #expect(Set(written) == [
            "patch deployments in \(targets)", "update deployments/scale in \(targets)", "create events in \(targets)",
            "patch configmaps[trimtab-journal] in trimtab", "create configmaps in trimtab",
            "patch leases[trimtab-journal-lock] in trimtab", "create leases in trimtab",
        ])
        // The rules say what a real authorizer would: the journal, yes; another ConfigMap, no.
        #expect(grant.allows(verb: "patch", apiGroup: "", resource: "configmaps", namespace: "trimtab", name: "trimtab-journal"))
        #expect(!grant.allows(verb: "patch", apiGroup: "", resource: "configmaps", namespace: "trimtab", name: "trimtab-policy"))
        #expect(!grant.allows(verb: "get", apiGroup: "", resource: "secrets", namespace: "trimtab", name: "anything"))
        #expect(grant.allows(verb: "list", apiGroup: "apps", resource: "deployments", namespace: "kube-system") == (overlay != "namespaced"))
    }

    /// The CronJob overlay: two scheduled runs fifteen minutes apart (the default policy's verifyAfter), with the CronJob's own arguments,
    /// the shipped policy and its rules: the first applies, the second verifies and rolls back, and
    /// the API server refused nothing.
    @Test func theCronJobActsAndRollsBackWithOnlyItsRules() async throws {
        let documents = try await DeployManifests.render("cronjob")
        let arguments = try DeployManifests.arguments(of: "CronJob", in: documents)
        #expect(arguments.first == "analyze")
        let sandbox = try await start(documents, grant: try DeployManifests.grant(documents))
        let step = DemoScenario.scrapeInterval
        let end = (alignedNow() / step).rounded(.down) * step
        try await withTemporaryDirectory { dir in
            let run = try cronJobArguments(documents, sandbox: sandbox, dir: dir) + ["--apply", "--quiet"]
            let codes = try await withPrometheus(DemoScenario.openMetrics(end: end)) { prometheus in
                [await trimtab(run + ["--prometheus", prometheus.url, "--at", "\(Int(end - 900))", "--output", dir.appendingPathComponent("first.md").path]),
                 await trimtab(run + ["--prometheus", prometheus.url, "--at", "\(Int(end))", "--output", dir.appendingPathComponent("second.md").path])]
            }
            // On a failure, what the run said: its report's errors and notes.
            #expect(codes == [0, 0], "\((try? String(contentsOf: dir.appendingPathComponent("second.md"), encoding: .utf8)) ?? "no second report")")
            #expect(DeployManifests.forbidden(sandbox) == [])
            let entries = try await journalEntries(sandbox)
            let states = Dictionary(uniqueKeysWithValues: entries.map { ($0.target.description, $0.state) })
            #expect(states == ["shop/checkout": .rolledBack, "shop/payments": .rolledBack, "shop/search": .rolledBack, "shop/catalog": .verified])
            // Every change and rollback was annotated and has its Event: nothing left for recovery to retry.
            #expect(entries.allSatisfy { $0.recorded != false }, "\(entries.map(\.notes))")
            #expect(sandbox.requests.contains { $0.method == "POST" && $0.path.hasSuffix("/namespaces/shop/events") && $0.status == 201 })
            // The Lease that keeps one run at a time acting was taken under its granted name.
            #expect(sandbox.object(apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespace: "trimtab", name: "trimtab-journal-lock") != nil)
        }
        await sandbox.stop()
    }

    /// A rule the code needs and the manifests lack shows as a refused request and a message that
    /// names the rule: this is how the tests above would catch the two drifting apart.
    @Test func aMissingRuleIsRefusedAndNamed() async throws {
        let documents = try await DeployManifests.render("cronjob")
        var grant = try DeployManifests.grant(documents)
        grant.rules.removeAll { $0.resources.contains("deployments/scale") }
        let sandbox = try await start(documents, grant: grant)
        let step = DemoScenario.scrapeInterval
        let end = (alignedNow() / step).rounded(.down) * step
        try await withTemporaryDirectory { dir in
            let report = dir.appendingPathComponent("report.md")
            let arguments = try cronJobArguments(documents, sandbox: sandbox, dir: dir)
            _ = try await withPrometheus(DemoScenario.openMetrics(end: end)) { prometheus in
                await trimtab(arguments + ["--prometheus", prometheus.url, "--at", "\(Int(end))", "--apply", "--quiet", "--output", report.path])
            }
            let refused = DeployManifests.forbidden(sandbox)
            #expect(refused.contains { $0.contains("/deployments/checkout/scale") }, "\(refused)")
            let text = try String(contentsOf: report, encoding: .utf8)
            #expect(text.contains(#"resources: [\"deployments/scale\"]"#) || text.contains(#"resources: ["deployments/scale"]"#), "\(text)")
            #expect(replicas(in: sandbox, of: "checkout") == 4)
        }
        await sandbox.stop()
    }

    /// The enforce overlay's Deployment: `trimtab run` with the rendered arguments (leader election on
    /// the granted Lease, the journal ConfigMap, the kill switch on its own Deployment) acts on a
    /// sustained breach, verifies the change, releases its lead on SIGTERM, and was refused nothing.
    @Test func theDaemonActsWithOnlyTheEnforceOverlaysRules() async throws {
        let documents = try await DeployManifests.render("enforce")
        let arguments = try DeployManifests.arguments(of: "Deployment", in: documents)
        #expect(arguments.first == "run" && arguments.contains("--apply"))
        let access = (token: DeployManifests.token, grant: try DeployManifests.grant(documents))
        try await LoopWorld.with(recovers: true, access: access, objects: DeployManifests.storable(documents)) { world in
            let flags = DeployManifests.outsideThePod(Array(arguments.dropFirst()), kubeconfig: world.kubeconfig, policy: world.policyDirectory)
            await world.waitForStart()
            let daemon = try await DaemonProcess.start(["--prometheus", world.prometheus.url] + flags, log: world.dir.appendingPathComponent("daemon.log"))
            let verified = await daemon.waitFor(seconds: 120) { ($0["message"] as? String)?.contains(" verified: shop/checkout replicas") == true }
            #expect(verified != nil, "\(daemon.text.suffix(3000))")
            #expect((world.replicas ?? 0) > 4)
            // The kill switch was read every cycle, under its granted name.
            #expect(world.cluster.requests.contains { $0.method == "GET" && $0.path == "/apis/apps/v1/namespaces/trimtab/deployments/trimtab" && $0.status == 200 })
            let lease = world.cluster.object(apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespace: "trimtab", name: "trimtab-journal-lock")
            #expect(lease?[path: ["spec", "holderIdentity"]]?.stringValue?.isEmpty == false)
            // Pausing through the annotation the manifests' comment documents.
            _ = try world.cluster.mutate(apiVersion: "apps/v1", kind: "Deployment", namespace: "trimtab", name: "trimtab") { object in
                object[path: ["metadata", "annotations", "trimtab.io/paused"]] = "true"
            }
            let paused = await daemon.waitFor(seconds: 30) { ($0["message"] as? String)?.contains("paused") == true }
            #expect(paused != nil, "\(daemon.text.suffix(2000))")
            daemon.kill(SIGTERM)
            #expect(await daemon.waitForExit(seconds: 30) == 0)
            #expect(DeployManifests.forbidden(world.cluster) == [])
            let entries = try await journalEntries(world.cluster)
            #expect(entries.map(\.state) == [.verified])
        }
    }

    /// The namespaced overlay: no ClusterRole, a Role in `shop` only. The daemon plans in dry-run (the
    /// API server judges each change with dryRun=All, which RBAC authorizes like the change itself)
    /// and changes nothing.
    @Test func theNamespacedOverlayPlansInDryRunWithRolesOnly() async throws {
        let documents = try await DeployManifests.render("namespaced")
        #expect(!documents.contains { $0["kind"]?.stringValue == "ClusterRole" || $0["kind"]?.stringValue == "ClusterRoleBinding" })
        let arguments = try DeployManifests.arguments(of: "Deployment", in: documents)
        #expect(arguments.contains("--dry-run") && arguments.contains("--namespace=shop"))
        let access = (token: DeployManifests.token, grant: try DeployManifests.grant(documents))
        try await LoopWorld.with(recovers: false, access: access, objects: DeployManifests.storable(documents)) { world in
            let flags = DeployManifests.outsideThePod(Array(arguments.dropFirst()), kubeconfig: world.kubeconfig, policy: world.policyDirectory)
            let daemon = try await DaemonProcess.start(["--prometheus", world.prometheus.url] + flags, log: world.dir.appendingPathComponent("daemon.log"))
            #expect(await daemon.waitForCycles(2, seconds: 60), "\(daemon.text.suffix(3000))")
            let metrics = try await daemon.get("/metrics").body
            #expect((metricValue(metrics, "trimtab_actions_total", labels: #"kind="replicas",outcome="would-apply""#) ?? 0) >= 1, "\(metrics)")
            daemon.kill(SIGTERM)
            #expect(await daemon.waitForExit(seconds: 30) == 0)
            #expect(world.replicas == 4)
            #expect(world.cluster.requests.contains { $0.method == "PUT" && $0.path.hasSuffix("/deployments/checkout/scale") && $0.query.contains("dryRun=All") && $0.status == 200 })
            #expect(DeployManifests.forbidden(world.cluster) == [])
        }
    }

    /// The CronJob's arguments as they run outside its pod: a kubeconfig for `sandbox` with Trimtab's
    /// token, written into `dir`, and the shipped policy in place of the mounted one.
    private func cronJobArguments(_ documents: [JSONValue], sandbox: KubeSandbox, dir: URL) throws -> [String] {
        let kubeconfig = dir.appendingPathComponent("kubeconfig").path
        try sandbox.kubeconfig(token: DeployManifests.token, tokenInServerPath: false).write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        let policy = DeployManifests.root.appendingPathComponent("deploy/kubernetes/base/policy.yaml").path
        return DeployManifests.outsideThePod(try DeployManifests.arguments(of: "CronJob", in: documents), kubeconfig: kubeconfig, policy: policy)
    }

    /// The sandbox with the demo's workloads and the rendered objects, Trimtab's token holding `grant`.
    private func start(_ documents: [JSONValue], grant: Grant) async throws -> KubeSandbox {
        var configuration = KubeSandbox.Configuration.demo
        configuration.objects += DeployManifests.storable(documents)
        configuration.grants[DeployManifests.token] = grant
        return try await KubeSandbox.start(configuration: configuration)
    }

    private func journalEntries(_ sandbox: KubeSandbox) async throws -> [JournalEntry] {
        let client = try KubeClient(KubeConfiguration(server: sandbox.url, token: KubeSandbox.adminToken, timeoutSeconds: 5))
        do {
            let entries = try await ConfigMapJournal(client: client, namespace: "trimtab", name: "trimtab-journal").entries()
            await client.shutdown()
            return entries
        } catch {
            await client.shutdown()
            throw error
        }
    }
}
