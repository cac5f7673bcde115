import Foundation
import Testing
import TrimtabKubeSandbox

/// The real kubectl against the sandbox. These machines ship one, and `.ci/run` installs Debian's
/// `kubernetes-client` where they do not, so its absence fails the test rather than skipping it.
@Suite("kubectl against the sandbox")
struct KubectlTests {
    static let kubectl = "/usr/bin/kubectl"

    struct Outcome {
        var status: Int32
        var output: String
        var error: String
    }

    /// Runs kubectl with a private HOME and cache, killing it if it takes over 60 seconds.
    static func run(_ arguments: [String], kubeconfig: String, directory: URL) async throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: kubectl)
        process.arguments = ["--kubeconfig", kubeconfig, "--cache-dir", directory.appendingPathComponent("cache").path] + arguments
        process.environment = ["HOME": directory.path, "PATH": "/usr/bin:/bin"]
        let outputFile = directory.appendingPathComponent("stdout-\(UUID().uuidString)")
        let errorFile = directory.appendingPathComponent("stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: outputFile)
        process.standardError = try FileHandle(forWritingTo: errorFile)
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        // Looked at every 20 ms rather than blocked on: a blocked thread is one of the test process's few.
        while process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus,
                       output: (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "",
                       error: (try? String(contentsOf: errorFile, encoding: .utf8)) ?? "")
    }

    @Test("get, describe-free reads, scale, annotate, and a forbidden scale with the viewer token")
    func kubectlWorks() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: KubectlTests.kubectl),
                     "kubectl is not installed at /usr/bin/kubectl; apt-get install kubernetes-client (.ci/run does)")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kube-sandbox-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try await withSandbox { sandbox, _ in
            let admin = directory.appendingPathComponent("admin.yaml").path
            let viewer = directory.appendingPathComponent("viewer.yaml").path
            try sandbox.kubeconfig(token: KubeSandbox.adminToken, namespace: "shop").write(toFile: admin, atomically: true, encoding: .utf8)
            try sandbox.kubeconfig(token: KubeSandbox.viewerToken).write(toFile: viewer, atomically: true, encoding: .utf8)
            func kubectl(_ arguments: String, as config: String = admin) async throws -> Outcome {
                try await KubectlTests.run(arguments.split(separator: " ").map(String.init), kubeconfig: config, directory: directory)
            }

            let list = try await kubectl("get deployments -n shop")
            #expect(list.status == 0, "\(list.error)")
            #expect(list.output.contains("NAME"))
            #expect(list.output.contains("UP-TO-DATE"))
            #expect(list.output.range(of: #"checkout\s+4/4\s+4\s+4"#, options: .regularExpression) != nil, "\(list.output)")

            let yaml = try await kubectl("get deploy checkout -n shop -o yaml")
            #expect(yaml.status == 0, "\(yaml.error)")
            #expect(yaml.output.contains("trimtab.io/demo: \"true\""), "\(yaml.output)")
            #expect(yaml.output.contains("replicas: 4"))

            let scale = try await kubectl("scale deployment/checkout --replicas=5 -n shop")
            #expect(scale.status == 0, "\(scale.error)")
            #expect(scale.output.contains("deployment.apps/checkout scaled"))
            #expect(sandbox.object(apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "checkout")?[path: ["spec", "replicas"]] == 5)
            #expect(try await kubectl("get deploy checkout -n shop").output.contains("5/5"))

            let events = try await kubectl("get events -n shop")
            #expect(events.status == 0, "\(events.error)")
            #expect(events.output.contains("ScalingReplicaSet"))
            #expect(events.output.contains("deployment/checkout"))

            let both = try await kubectl("get cm,hpa -n shop")
            #expect(both.status == 0, "\(both.error)")
            #expect(both.output.contains("configmap/shop-config"))
            #expect(both.output.contains("horizontalpodautoscaler.autoscaling/inventory"))
            #expect(both.output.contains("Deployment/inventory"))

            let annotate = try await kubectl("annotate deployment checkout -n shop a=b")
            #expect(annotate.status == 0, "\(annotate.error)")
            #expect(sandbox.object(apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "checkout")?[path: ["metadata", "annotations", "a"]] == "b")

            let forbidden = try await kubectl("scale deployment/checkout --replicas=1 -n shop", as: viewer)
            #expect(forbidden.status != 0)
            #expect(forbidden.error.contains(#"deployments.apps "checkout" is forbidden: User "system:serviceaccount:shop:viewer" cannot patch resource "deployments/scale" in API group "apps" in the namespace "shop""#),
                    "\(forbidden.error)")
            #expect(sandbox.object(apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "checkout")?[path: ["spec", "replicas"]] == 5)
        }
    }
}
