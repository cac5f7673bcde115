import Foundation
import Yams

/// What a knob is, without the names of the objects it lives on: how `spec.safety.gitOps.writable`
/// names the fields a GitOps tool is configured to ignore.
public enum KnobKind: String, Sendable, Codable, CaseIterable {
    case replicas
    case env
    case configMap
    case http
    case jolokia
    case pgbouncer
    case autoscalerMaxReplicas = "autoscaler.maxReplicas"
    case autoscalerTargetUtilization = "autoscaler.targetUtilization"
    case autoscalerScaleDownWindow = "autoscaler.scaleDownWindow"
}

extension Knob {
    public var kind: KnobKind {
        switch self {
        case .replicas: return .replicas
        case .env: return .env
        case .configMap: return .configMap
        case .http, .podHTTP: return .http
        case .jolokia: return .jolokia
        case .pgbouncer: return .pgbouncer
        case .autoscalerMaxReplicas: return .autoscalerMaxReplicas
        case .autoscalerTargetUtilization: return .autoscalerTargetUtilization
        case .autoscalerScaleDownWindow: return .autoscalerScaleDownWindow
        }
    }

    /// The Kubernetes object a change of this knob writes; nil for an admin endpoint, which no
    /// manifest in Git holds.
    public func object(of workload: WorkloadRef) -> ObjectRef? {
        switch self {
        case .replicas, .env:
            return .workload(workload)
        case .configMap(let name, _, _):
            return .configMap(name, namespace: workload.namespace)
        case .autoscalerMaxReplicas(_, let owner?), .autoscalerTargetUtilization(_, let owner?), .autoscalerScaleDownWindow(_, let owner?):
            return .scaledObject(owner, namespace: workload.namespace)
        case .autoscalerMaxReplicas(let name, nil), .autoscalerTargetUtilization(let name, nil), .autoscalerScaleDownWindow(let name, nil):
            return .autoscaler(name, namespace: workload.namespace)
        case .http, .jolokia, .podHTTP, .pgbouncer:
            return nil
        }
    }
}

/// One Kubernetes object, as a manifest names it.
public struct ObjectRef: Sendable, Hashable, Codable, CustomStringConvertible {
    public var apiVersion: String
    public var kind: String
    public var namespace: String
    public var name: String

    public init(apiVersion: String, kind: String, namespace: String, name: String) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.namespace = namespace
        self.name = name
    }

    public var description: String { "\(kind) \(namespace)/\(name)" }

    /// The objects knobs live on, named once for the planner and the cluster facts alike.
    public static func workload(_ workload: WorkloadRef) -> ObjectRef {
        ObjectRef(apiVersion: workload.apiVersion, kind: workload.kind, namespace: workload.namespace, name: workload.name)
    }

    public static func configMap(_ name: String, namespace: String) -> ObjectRef {
        ObjectRef(apiVersion: "v1", kind: "ConfigMap", namespace: namespace, name: name)
    }

    public static func autoscaler(_ name: String, namespace: String) -> ObjectRef {
        ObjectRef(apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", namespace: namespace, name: name)
    }

    /// A KEDA ScaledObject, which owns the HPA it makes (`keda-hpa-<name>`).
    public static func scaledObject(_ name: String, namespace: String) -> ObjectRef {
        ObjectRef(apiVersion: "keda.sh/v1alpha1", kind: "ScaledObject", namespace: namespace, name: name)
    }
}

/// `spec.safety.gitOps`: how Trimtab treats objects that Argo CD or Flux keep in step with Git.
public struct GitOpsSettings: Sendable, Equatable, Codable {
    /// A change waiting in Git as a patch is not proposed again for this long, unless the object shows it.
    public var cooldownSeconds: Double
    /// Knobs the GitOps tool is configured to leave alone (Argo CD `ignoreDifferences` on
    /// `/spec/replicas`, say): Trimtab writes these even on a managed object.
    public var writable: [KnobKind]
    /// A label that marks Argo CD's label tracking (`application.instanceLabelKey`). Unset by default:
    /// `app.kubernetes.io/instance`, Argo CD's old default, is also what Helm charts set.
    public var argoCDInstanceLabel: String?

    public init(cooldownSeconds: Double = 86_400, writable: [KnobKind] = [], argoCDInstanceLabel: String? = nil) {
        self.cooldownSeconds = cooldownSeconds
        self.writable = writable
        self.argoCDInstanceLabel = argoCDInstanceLabel
    }
}

/// Who keeps an object in step with Git, and how Trimtab could tell.
public struct GitOpsManagement: Sendable, Equatable, Codable, CustomStringConvertible {
    public enum Tool: String, Sendable, Codable {
        case argoCD = "Argo CD"
        case flux = "Flux"
    }
    public var tool: Tool
    /// `Application shop`, `Kustomization flux-system/apps`, `HelmRelease shop/web`.
    public var owner: String
    /// The label or annotation that says so.
    public var evidence: String
    /// Rendered by Flux's helm-controller: the patch goes in the HelmRelease's post-renderers (or
    /// the chart's values), not a kustomization.
    public var helm: Bool

    public init(tool: Tool, owner: String, evidence: String, helm: Bool = false) {
        self.tool = tool
        self.owner = owner
        self.evidence = evidence
        self.helm = helm
    }

    public var description: String { "\(tool.rawValue) (\(owner); \(evidence))" }

    static let argoTrackingAnnotation = "argocd.argoproj.io/tracking-id"
    static let argoInstanceLabel = "argocd.argoproj.io/instance"
    static let fluxReconcileAnnotation = "kustomize.toolkit.fluxcd.io/reconcile"
    static let fluxSSAAnnotation = "kustomize.toolkit.fluxcd.io/ssa"

    /// Reads an object's labels and annotations: who manages it, or nil with a note when it is
    /// labelled for a tool that leaves it alone (Flux with reconciliation disabled, or `ssa: IfNotPresent`).
    public static func detect(labels: [String: String], annotations: [String: String],
                              settings: GitOpsSettings) -> (management: GitOpsManagement?, note: String?) {
        for (key, tool) in [("kustomize.toolkit.fluxcd.io", "Kustomization"), ("helm.toolkit.fluxcd.io", "HelmRelease")] {
            guard let name = labels["\(key)/name"] else { continue }
            let owner = "\(tool) \(labels["\(key)/namespace"].map { "\($0)/" } ?? "")\(name)"
            if annotations[fluxReconcileAnnotation]?.lowercased() == "disabled" {
                return (nil, "labelled for Flux (\(owner)) with \(fluxReconcileAnnotation): disabled, so Flux leaves it alone")
            }
            if annotations[fluxSSAAnnotation]?.lowercased() == "ifnotpresent" {
                return (nil, "labelled for Flux (\(owner)) with \(fluxSSAAnnotation): IfNotPresent, so Flux only creates it")
            }
            return (GitOpsManagement(tool: .flux, owner: owner, evidence: "label \(key)/name", helm: tool == "HelmRelease"), nil)
        }
        if let tracking = annotations[argoTrackingAnnotation], !tracking.isEmpty {
            // `<application>:<group>/<kind>:<namespace>/<name>`; an application in another namespace is `ns_app`.
            let application = tracking.split(separator: ":", maxSplits: 1).first.map(String.init) ?? tracking
            return (GitOpsManagement(tool: .argoCD, owner: "Application \(application.replacingOccurrences(of: "_", with: "/"))",
                                     evidence: "annotation \(argoTrackingAnnotation)"), nil)
        }
        for key in [argoInstanceLabel, settings.argoCDInstanceLabel].compactMap({ $0 }) {
            if let application = labels[key], !application.isEmpty {
                return (GitOpsManagement(tool: .argoCD, owner: "Application \(application)", evidence: "label \(key)"), nil)
            }
        }
        return (nil, nil)
    }
}

/// An object a target's knobs live on that a GitOps tool manages, as the cluster showed it.
public struct ManagedObject: Sendable, Equatable, Codable {
    public var object: ObjectRef
    public var management: GitOpsManagement
    /// The pod template's containers, in order, for a workload: an env patch names its container.
    public var containers: [String]

    public init(object: ObjectRef, management: GitOpsManagement, containers: [String] = []) {
        self.object = object
        self.management = management
        self.containers = containers
    }
}

/// A change waiting in Git: journaled when its patch was written, until the object shows it or the
/// cooldown passes.
public struct PendingPatch: Sendable, Equatable, Codable {
    public var target: TargetID
    public var knob: Knob
    /// When the patch was written (evaluation time).
    public var time: Double
    public var from: String?
    public var to: String
    public var journalID: String

    public init(target: TargetID, knob: Knob, time: Double, from: String?, to: String, journalID: String) {
        self.target = target
        self.knob = knob
        self.time = time
        self.from = from
        self.to = to
        self.journalID = journalID
    }
}

/// A change written for Git instead of to the cluster: a kustomize patch file and a `kubectl patch` line.
public struct GitPatch: Sendable, Equatable, Codable {
    public var object: ObjectRef
    public var management: GitOpsManagement
    /// Where the file goes under `--patch-dir`: `shop/deployment-web-replicas.yaml`.
    public var file: String
    /// The file: comments saying why and how to use it, then the patch.
    public var text: String
    /// The entry to add to the `patches:` of the kustomization that builds the object.
    public var kustomization: String
    /// The same change by hand (which the GitOps tool reverts unless it ignores the field).
    public var kubectl: String

    /// The patch that sets `knob` to `value` on `managed`. `cpuMetricIndex` is where the HPA's CPU
    /// metric sits in `spec.metrics` (or a ScaledObject's cpu trigger in `spec.triggers`): a list without
    /// a merge key, so only a JSON patch can change one entry.
    public static func make(knob: Knob, value: Double, managed: ManagedObject, cpuMetricIndex: Int?, reason: String) -> GitPatch? {
        let object = managed.object
        let number = KnobValue.text(value)
        var json6902: [[String: Any]]?
        var fields: [String: Any]
        var patchType = "merge"
        switch knob {
        case .replicas:
            fields = ["spec": ["replicas": Int(value)]]
        case .env(let name, let container):
            // A custom resource (a Rollout) takes no strategic merge: a merge patch would replace its containers.
            guard object.apiVersion == "apps/v1", let container = container ?? managed.containers.first else { return nil }
            fields = ["spec": ["template": ["spec": ["containers": [["name": container, "env": [["name": name, "value": number]]]]]]]]
            patchType = "strategic"
        case .configMap(_, let key, _):
            fields = ["data": [key: number]]
        case .autoscalerMaxReplicas(_, _?):
            fields = ["spec": ["maxReplicaCount": Int(value)]]
        case .autoscalerScaleDownWindow(_, _?):
            fields = ["spec": ["advanced": ["horizontalPodAutoscalerConfig": ["behavior": ["scaleDown": ["stabilizationWindowSeconds": Int(value)]]]]]]
        case .autoscalerTargetUtilization(_, _?):
            // A trigger's metadata values are strings; the list has no merge key.
            guard let index = cpuMetricIndex else { return nil }
            fields = [:]
            json6902 = [["op": "test", "path": "/spec/triggers/\(index)/type", "value": "cpu"],
                        ["op": "replace", "path": "/spec/triggers/\(index)/metadata/value", "value": String(Int(value))]]
            patchType = "json"
        case .autoscalerMaxReplicas(_, nil):
            fields = ["spec": ["maxReplicas": Int(value)]]
        case .autoscalerScaleDownWindow(_, nil):
            fields = ["spec": ["behavior": ["scaleDown": ["stabilizationWindowSeconds": Int(value)]]]]
        case .autoscalerTargetUtilization(_, nil):
            guard let index = cpuMetricIndex else { return nil }
            fields = [:]
            json6902 = [["op": "test", "path": "/spec/metrics/\(index)/resource/name", "value": "cpu"],
                        ["op": "replace", "path": "/spec/metrics/\(index)/resource/target/averageUtilization", "value": Int(value)]]
            patchType = "json"
        case .http, .jolokia, .podHTTP, .pgbouncer:
            return nil
        }
        let base = [object.kind.lowercased(), object.name, knobFileSuffix(knob)].joined(separator: "-")
        let fileName = sanitize(base) + ".yaml"
        let file = "\(sanitize(object.namespace))/\(fileName)"
        let body: String
        let kustomization: String
        if let operations = json6902 {
            let group = object.apiVersion.split(separator: "/").count == 2 ? String(object.apiVersion.split(separator: "/")[0]) : ""
            let version = String(object.apiVersion.split(separator: "/").last ?? "")
            body = operations.map { op in
                "- op: \(op["op"]!)\n  path: \(op["path"]!)\n  value: \(YAMLText.scalar(op["value"]!))\n"
            }.joined()
            kustomization = "patches:\n  - path: \(fileName)\n    target:\n" + (group.isEmpty ? "" : "      group: \(group)\n")
                + "      version: \(version)\n      kind: \(object.kind)\n      name: \(object.name)\n      namespace: \(object.namespace)\n"
        } else {
            var document: [String: Any] = fields
            document["apiVersion"] = object.apiVersion
            document["kind"] = object.kind
            document["metadata"] = ["name": object.name, "namespace": object.namespace]
            body = YAMLText.document(document, order: ["apiVersion", "kind", "metadata", "spec", "data"])
            kustomization = "patches:\n  - path: \(fileName)\n"
        }
        let payload: Any = json6902 ?? fields
        let data = (try? JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        let kubectl = "kubectl patch \(object.kind.lowercased()) \(object.name) --namespace \(object.namespace) --type \(patchType) --patch "
            + shellQuote(String(decoding: data, as: UTF8.self))
        var header = ["Trimtab: \(reason)",
                      "\(object) is managed by \(managed.management), so Trimtab does not write it.",
                      managed.management.helm
                        ? "Flux renders it from a Helm chart: set the value in the HelmRelease's values, or add this patch to its spec.postRenderers[].kustomize.patches."
                        : "Add this patch to the kustomization.yaml that builds it:"]
        if !managed.management.helm { header += kustomization.split(separator: "\n").map { "  " + $0 } }
        header += ["Or by hand (reverted at the next sync unless the tool ignores the field):", "  " + kubectl]
        let text = header.flatMap { $0.split(separator: "\n", omittingEmptySubsequences: false) }.map { "# \($0)" }.joined(separator: "\n") + "\n" + body
        return GitPatch(object: object, management: managed.management, file: file, text: text, kustomization: kustomization, kubectl: kubectl)
    }

    static func knobFileSuffix(_ knob: Knob) -> String {
        switch knob {
        case .replicas: return "replicas"
        case .env(let name, _): return "env-\(name)"
        case .configMap(_, let key, _): return key
        case .http, .podHTTP: return "http"
        case .jolokia(let spec): return "jolokia-\(spec.attribute)"
        case .pgbouncer(let spec): return "pgbouncer-\(spec.setting)"
        case .autoscalerMaxReplicas: return "maxreplicas"
        case .autoscalerTargetUtilization: return "cpu-target"
        case .autoscalerScaleDownWindow: return "scaledown-window"
        }
    }

    static func sanitize(_ text: String) -> String {
        String(text.map { $0.isLetter || $0.isNumber || "._-".contains($0) ? $0 : "_" })
    }

    /// POSIX single quotes: `'` becomes `'\''`.
    static func shellQuote(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// The little YAML a patch needs: mappings, lists of mappings, numbers and double-quoted strings.
enum YAMLText {
    static func scalar(_ value: Any) -> String {
        switch value {
        case let number as Int: return String(number)
        case let number as Double: return KnobValue.text(number)
        case let text as String:
            // Plain when YAML cannot read it as anything but this string (names, `apps/v1`), else quoted.
            if let first = text.first, first.isLetter, text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "./_-".contains($0)) }),
               !["true", "false", "yes", "no", "on", "off", "null", "y", "n"].contains(text.lowercased()) {
                return text
            }
            let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])) ?? Data()
            let array = String(decoding: data, as: UTF8.self)
            return String(array.dropFirst().dropLast())
        default: return "\(value)"
        }
    }

    static func document(_ mapping: [String: Any], order: [String] = []) -> String {
        lines(mapping, indent: 0, order: order).joined(separator: "\n") + "\n"
    }

    static func lines(_ mapping: [String: Any], indent: Int, order: [String] = []) -> [String] {
        let pad = String(repeating: " ", count: indent)
        let keys = order.filter { mapping[$0] != nil } + mapping.keys.filter { !order.contains($0) }.sorted { a, b in
            // `name` first in a list entry, as manifests write it.
            a == "name" ? true : b == "name" ? false : a < b
        }
        var out: [String] = []
        for key in keys {
            let value = mapping[key]!
            let shownKey = scalar(key)
            if let nested = value as? [String: Any] {
                out.append("\(pad)\(shownKey):")
                out += lines(nested, indent: indent + 2)
            } else if let list = value as? [[String: Any]] {
                out.append("\(pad)\(shownKey):")
                for item in list {
                    let itemLines = lines(item, indent: indent + 4)
                    guard let first = itemLines.first else { continue }
                    out.append("\(pad)  - " + first.dropFirst(indent + 4))
                    out += itemLines.dropFirst()
                }
            } else {
                out.append("\(pad)\(shownKey): \(scalar(value))")
            }
        }
        return out
    }
}

extension ActionParser {
    /// `spec.safety.gitOps: {cooldown, writable: [knob kinds], argoCDInstanceLabel}`.
    static func readGitOps(_ node: Node, _ path: String, _ reader: inout NodeReader) -> GitOpsSettings? {
        guard let fields = reader.mapping(node, path, allowed: ["cooldown", "writable", "argoCDInstanceLabel"]) else { return nil }
        var settings = GitOpsSettings()
        var valid = true
        for field in fields {
            let here = "\(path).\(field.key)"
            switch field.key {
            case "cooldown":
                if let seconds = reader.duration(field.value, here) { settings.cooldownSeconds = seconds } else { valid = false }
            case "writable":
                guard let list = field.value.sequence else {
                    reader.error(field.value, "\(here) must be a list of knob kinds", hint: KnobKind.allCases.map(\.rawValue).joined(separator: ", "))
                    valid = false
                    continue
                }
                for item in list {
                    if let kind = reader.enumeration(item, "an entry of \(here)", as: KnobKind.self) {
                        if !settings.writable.contains(kind) { settings.writable.append(kind) }
                    } else {
                        valid = false
                    }
                }
            case "argoCDInstanceLabel":
                if let key = reader.nonEmptyString(field.value, here) { settings.argoCDInstanceLabel = key } else { valid = false }
            default: break
            }
        }
        return valid ? settings : nil
    }
}
