import Foundation
import Testing
import Yams
@testable import TrimtabCore

@Suite("GitOps: objects Argo CD or Flux manage get patches for Git, not writes")
struct GitOpsTests {
    static let target = PlannerTests.target
    static let deployment = ObjectRef(apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "api")
    static let argo = GitOpsManagement(tool: .argoCD, owner: "Application shop", evidence: "annotation argocd.argoproj.io/tracking-id")

    func cpuBound() -> Situation {
        var situation = Situation()
        situation.values["latency_p95"] = { ago in ago <= 900 ? 2.4 : 0.3 }
        situation.values["cpu_utilization"] = { ago in ago <= 900 ? 0.93 : 0.5 }
        return situation
    }

    func managedContext(_ objects: [ManagedObject]) -> PlanContext {
        var context = PlanContext(clusterRead: true)
        context.managed = [Self.target: objects]
        return context
    }

    @Test func detectsEachToolFromWhatItWritesOnObjects() {
        let settings = GitOpsSettings()
        let argo = GitOpsManagement.detect(labels: [:], annotations: ["argocd.argoproj.io/tracking-id": "shop:apps/Deployment:shop/api"], settings: settings)
        #expect(argo.management?.tool == .argoCD && argo.management?.owner == "Application shop")
        let argoElsewhere = GitOpsManagement.detect(labels: [:], annotations: ["argocd.argoproj.io/tracking-id": "apps_shop:apps/Deployment:shop/api"], settings: settings)
        #expect(argoElsewhere.management?.owner == "Application apps/shop")
        let flux = GitOpsManagement.detect(labels: ["kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"],
                                           annotations: [:], settings: settings)
        #expect(flux.management == GitOpsManagement(tool: .flux, owner: "Kustomization flux-system/apps", evidence: "label kustomize.toolkit.fluxcd.io/name"))
        let helm = GitOpsManagement.detect(labels: ["helm.toolkit.fluxcd.io/name": "api", "helm.toolkit.fluxcd.io/namespace": "shop"], annotations: [:], settings: settings)
        #expect(helm.management?.helm == true && helm.management?.owner == "HelmRelease shop/api")
        // Flux told to leave the object alone: writable, with a note.
        let disabled = GitOpsManagement.detect(labels: ["kustomize.toolkit.fluxcd.io/name": "apps"],
                                               annotations: ["kustomize.toolkit.fluxcd.io/reconcile": "disabled"], settings: settings)
        #expect(disabled.management == nil && disabled.note?.contains("reconcile: disabled") == true)
        // Helm's own instance label is not Argo CD's unless the policy says it tracks by it.
        let helmLabel = ["app.kubernetes.io/instance": "shop"]
        #expect(GitOpsManagement.detect(labels: helmLabel, annotations: [:], settings: settings).management == nil)
        let byLabel = GitOpsManagement.detect(labels: helmLabel, annotations: [:], settings: GitOpsSettings(argoCDInstanceLabel: "app.kubernetes.io/instance"))
        #expect(byLabel.management?.tool == .argoCD && byLabel.management?.evidence == "label app.kubernetes.io/instance")
        #expect(GitOpsManagement.detect(labels: ["app": "api"], annotations: [:], settings: settings).management == nil)
    }

    @Test func aManagedDeploymentsScaleOutIsHeldAsAPatch() throws {
        let context = managedContext([ManagedObject(object: Self.deployment, management: Self.argo, containers: ["app"])])
        let (_, plan) = try plan(cpuBound(), context: context)
        #expect(plan.proposed.isEmpty)
        let held = try #require(plan.held.first { $0.knob == .replicas })
        #expect(held.failedRules.map(\.rule) == ["gitops"])
        #expect(held.failedRules.first?.detail.contains("Deployment shop/api is managed by Argo CD (Application shop") == true)
        let patch = try #require(held.gitPatch)
        #expect(patch.file == "shop/deployment-api-replicas.yaml")
        #expect(patch.kubectl == #"kubectl patch deployment api --namespace shop --type merge --patch '{"spec":{"replicas":7}}'"#)
        // The file is a strategic-merge patch kustomize can take as it is: the comment lines say how.
        let document = try #require(try Yams.load(yaml: patch.text) as? [String: Any])
        #expect(document["apiVersion"] as? String == "apps/v1" && document["kind"] as? String == "Deployment")
        #expect((document["metadata"] as? [String: Any])?["name"] as? String == "api")
        #expect((document["spec"] as? [String: Any])?["replicas"] as? Int == 7)
        #expect(patch.text.contains("#   patches:\n#     - path: deployment-api-replicas.yaml"))
        // The Markdown shows the patch and says why.
        let markdown = PlanMarkdown.render(plan).joined(separator: "\n")
        #expect(markdown.contains("📝 for Git: patch `shop/deployment-api-replicas.yaml`"))
        #expect(markdown.contains("### Patches for Git") && markdown.contains("replicas: 7"))
    }

    @Test func aKnobThePolicyListsAsIgnoredIsWritten() throws {
        let context = managedContext([ManagedObject(object: Self.deployment, management: Self.argo)])
        let (_, plan) = try plan(cpuBound(), context: context) { $0.safety.gitOps.writable = [.replicas] }
        let action = try #require(plan.proposed.first)
        #expect(action.gitPatch == nil)
        #expect(action.rules.contains { $0.rule == "gitops" && $0.passed && $0.detail.contains("safety.gitOps.writable") })
    }

    @Test func anUnmanagedObjectHasNoGitOpsRule() throws {
        // The ConfigMap of the pool is managed, the Deployment is not: a scale-out is written.
        let configMap = ObjectRef(apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "api-config")
        let (_, plan) = try plan(cpuBound(), context: managedContext([ManagedObject(object: configMap, management: Self.argo)]))
        let action = try #require(plan.proposed.first)
        #expect(!action.rules.contains { $0.rule == "gitops" })
    }

    @Test func aPatchWaitingInGitIsNotProposedAgainUntilTheCooldownPasses() throws {
        var context = managedContext([ManagedObject(object: Self.deployment, management: Self.argo)])
        context.pendingPatches = [PendingPatch(target: Self.target, knob: .replicas, time: 100_000 - 3600, from: "4", to: "7", journalID: "c0000abcd")]
        let (_, waiting) = try plan(cpuBound(), context: context)
        let held = try #require(waiting.held.first { $0.knob == .replicas })
        #expect(held.gitPatch == nil)
        #expect(held.failedRules.map(\.rule) == ["waiting in Git"])
        #expect(held.failedRules.first?.detail.contains("from 4 to 7 was written 1h ago (journal c0000abcd)") == true)
        // After the cooldown (24 h by default) it is proposed for Git again.
        context.pendingPatches[0].time = 100_000 - 90_000
        let (_, again) = try plan(cpuBound(), context: context)
        #expect(again.held.first { $0.knob == .replicas }?.gitPatch != nil)
    }

    @Test func patchesForEachKnobAreWellFormed() throws {
        let hpa = ManagedObject(object: ObjectRef(apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", namespace: "shop", name: "api"),
                                management: GitOpsManagement(tool: .flux, owner: "Kustomization flux-system/apps", evidence: "label"))
        let target = try #require(GitPatch.make(knob: .autoscalerTargetUtilization(name: "api"), value: 75, managed: hpa, cpuMetricIndex: 1, reason: "trim"))
        // A list without a merge key: a JSON 6902 patch at the metric's index, with a test of its name.
        let operations = try #require(try Yams.load(yaml: target.text) as? [[String: Any]])
        #expect(operations.map { $0["op"] as? String } == ["test", "replace"])
        #expect(operations[1]["path"] as? String == "/spec/metrics/1/resource/target/averageUtilization" && operations[1]["value"] as? Int == 75)
        #expect(target.kustomization.contains("target:\n      group: autoscaling\n      version: v2\n      kind: HorizontalPodAutoscaler\n      name: api"))
        #expect(target.kubectl.contains("--type json"))
        #expect(GitPatch.make(knob: .autoscalerTargetUtilization(name: "api"), value: 75, managed: hpa, cpuMetricIndex: nil, reason: "") == nil)

        let deployment = ManagedObject(object: Self.deployment, management: Self.argo, containers: ["app", "sidecar"])
        let env = try #require(GitPatch.make(knob: .env(name: "CACHE_TTL_SECONDS", container: nil), value: 120, managed: deployment, cpuMetricIndex: nil, reason: "ttl"))
        let document = try #require(try Yams.load(yaml: env.text) as? [String: Any])
        let containers = try #require(((document["spec"] as? [String: Any])?["template"] as? [String: Any]).flatMap { ($0["spec"] as? [String: Any])?["containers"] as? [[String: Any]] })
        #expect(containers.first?["name"] as? String == "app")
        #expect((containers.first?["env"] as? [[String: Any]])?.first?["value"] as? String == "120")
        #expect(env.kubectl.contains("--type strategic"))

        let configMap = ManagedObject(object: ObjectRef(apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "api-config"), management: Self.argo)
        let pool = try #require(GitPatch.make(knob: .configMap(name: "api-config", key: "DB_POOL_SIZE", restart: false), value: 14, managed: configMap,
                                              cpuMetricIndex: nil, reason: "pool"))
        let data = try #require((try Yams.load(yaml: pool.text) as? [String: Any])?["data"] as? [String: Any])
        #expect(data["DB_POOL_SIZE"] as? String == "14")
        #expect(pool.file == "shop/configmap-api-config-DB_POOL_SIZE.yaml")
        // A reason with a quote stays a comment, and the kubectl line survives a shell.
        let quoted = try #require(GitPatch.make(knob: .replicas, value: 3, managed: deployment, cpuMetricIndex: nil, reason: "it's\nbusy"))
        #expect(quoted.text.hasPrefix("# Trimtab: it's\n# busy\n"))
        #expect(GitPatch.shellQuote("a'b") == #"'a'\''b'"#)
    }

    @Test func thePolicyReadsGitOpsSettingsAndReportsMistakesWhereTheyAre() throws {
        let good = plannerPolicy.replacingOccurrences(of: "  safety: {cooldown: 10m, maxChangesPerHour: 6}",
                                                      with: "  safety:\n    cooldown: 10m\n    gitOps:\n      cooldown: 6h\n      writable: [replicas, autoscaler.maxReplicas]\n      argoCDInstanceLabel: app.kubernetes.io/instance")
        let policy = try PolicyLoader.load(text: good, file: "p.yaml")
        #expect(policy.safety.gitOps == GitOpsSettings(cooldownSeconds: 21_600, writable: [.replicas, .autoscalerMaxReplicas], argoCDInstanceLabel: "app.kubernetes.io/instance"))
        let bad = plannerPolicy.replacingOccurrences(of: "  safety: {cooldown: 10m, maxChangesPerHour: 6}",
                                                     with: "  safety:\n    gitOps:\n      writable: [replica]")
        do {
            _ = try PolicyLoader.load(text: bad, file: "p.yaml")
            Issue.record("an unknown knob kind was accepted")
        } catch {
            let message = "\(error)"
            #expect(message.contains("p.yaml:"))
            #expect(message.contains("must be one of replicas, env, configMap, http, jolokia, pgbouncer, autoscaler.maxReplicas"))
            #expect(message.contains("did you mean 'replicas'?"))
        }
    }
}
