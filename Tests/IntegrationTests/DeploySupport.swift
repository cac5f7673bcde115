import Foundation
import Testing
import TrimtabKubeSandbox
import TrimtabSandbox
import Yams

/// The manifests in `deploy/kubernetes`, rendered by the real `kubectl kustomize` exactly as an
/// operator's `kubectl apply -k` renders them, for tests that hold Trimtab to what they grant.
enum DeployManifests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
    /// The service account the manifests create and bind.
    static let serviceAccount = (namespace: "trimtab", name: "trimtab")
    /// The token the tests give that service account in the sandbox.
    static let token = "trimtab-sa-token-5e1f0c3a"

    struct Failed: Error, CustomStringConvertible { var description: String }

    /// The documents of `deploy/kubernetes/overlays/<overlay>`.
    static func render(_ overlay: String) async throws -> [JSONValue] {
        let (status, output) = try await runTool("/usr/bin/kubectl", ["kustomize", root.appendingPathComponent("deploy/kubernetes/overlays/\(overlay)").path])
        guard status == 0 else { throw Failed(description: "kubectl kustomize \(overlay) exited \(status): \(output)") }
        return try Yams.load_all(yaml: output).map { try json($0) }
    }

    /// What the rendered RBAC lets Trimtab's service account do.
    static func grant(_ documents: [JSONValue]) throws -> Grant {
        try RBACObjects.grant(serviceAccount: serviceAccount.name, namespace: serviceAccount.namespace, documents: documents)
    }

    /// The rendered objects of the kinds the sandbox stores (Namespace, Deployment, ConfigMap…), to
    /// seed it with what `kubectl apply -k` would have created.
    static func storable(_ documents: [JSONValue]) -> [JSONValue] {
        let kinds: Set = ["Namespace", "Deployment", "ConfigMap", "StatefulSet", "HorizontalPodAutoscaler", "Lease"]
        return documents.filter { kinds.contains($0["kind"]?.stringValue ?? "") }
    }

    /// The arguments of the first container of the rendered object of `kind`.
    static func arguments(of kind: String, in documents: [JSONValue]) throws -> [String] {
        guard let object = documents.first(where: { $0["kind"]?.stringValue == kind }) else {
            throw Failed(description: "no \(kind) in the rendered manifests")
        }
        let pod = kind == "CronJob" ? object[path: ["spec", "jobTemplate", "spec", "template", "spec"]] : object[path: ["spec", "template", "spec"]]
        return pod?["containers"]?[0]?["args"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    /// Replaces what only holds in a pod (`--in-cluster`, the mounted policy, the listen address and
    /// the log format the test harness sets itself) with what holds in the test.
    static func outsideThePod(_ arguments: [String], kubeconfig: String, policy: String) -> [String] {
        var result: [String] = []
        for argument in arguments {
            if argument == "--in-cluster" {
                result += ["--kubeconfig", kubeconfig]
            } else if argument.hasPrefix("--policy=") {
                result.append("--policy=\(policy)")
            } else if argument.hasPrefix("--listen=") || argument.hasPrefix("--log-format=") || argument.hasPrefix("--output=") {
                continue
            } else {
                result.append(argument)
            }
        }
        return result
    }

    /// Requests the sandbox refused for want of a rule, each once, in order.
    static func forbidden(_ sandbox: KubeSandbox) -> [String] {
        var seen: Set<String> = []
        return sandbox.requests.filter { $0.status == 403 }
            .map { "\($0.method) \($0.path)\($0.query.isEmpty ? "" : "?" + $0.query)" }
            .filter { seen.insert($0).inserted }
    }

    /// A YAML value as JSON.
    static func json(_ value: Any?) throws -> JSONValue {
        switch value {
        case nil, is NSNull: return .null
        case let value as Bool: return .bool(value)
        case let value as Int: return .number(Double(value))
        case let value as Double: return .number(value)
        case let value as String: return .string(value)
        case let value as [Any]: return .array(try value.map { try json($0) })
        case let value as [String: Any]: return .object(try value.mapValues { try json($0) })
        default: throw Failed(description: "a YAML value of type \(type(of: value!)) has no JSON form")
        }
    }
}

/// Runs a tool to the end in a directory of its own; everything it wrote, output and errors.
func runTool(_ path: String, _ arguments: [String]) async throws -> (Int32, String) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tool-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try await PrometheusSandbox.run(path, arguments, in: directory, keepingLast: .max)
}
