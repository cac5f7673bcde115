import Foundation
import Testing
import TrimtabCycle
@testable import TrimtabKube

/// A temporary directory removed when the test is done.
struct TemporaryDirectory {
    let path: String
    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("trimtab-kube-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func file(_ name: String, _ text: String) throws -> String {
        let file = (path as NSString).appendingPathComponent(name)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

let sampleKubeconfig = """
apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev-cluster
  cluster:
    server: https://dev.example:6443
    certificate-authority: certs/ca.pem
- name: prod-cluster
  cluster:
    server: https://prod.example
    certificate-authority-data: \(Data("PEM-BYTES".utf8).base64EncodedString())
    insecure-skip-tls-verify: false
users:
- name: dev-user
  user:
    token: s3cr3t-dev-token
- name: prod-user
  user:
    tokenFile: /var/run/token
- name: plugin-user
  user:
    exec: {command: aws, args: [eks, get-token]}
contexts:
- name: dev
  context: {cluster: dev-cluster, user: dev-user, namespace: shop}
- name: prod
  context: {cluster: prod-cluster, user: prod-user}
- name: plugin
  context: {cluster: prod-cluster, user: plugin-user}
- name: broken
  context: {cluster: nowhere, user: dev-user}
"""

@Suite("Kubernetes configuration: kubeconfig and in-cluster")
struct KubeConfigurationTests {
    @Test func currentContextWithRelativeFiles() throws {
        let config = try KubeConfiguration.parse(kubeconfig: sampleKubeconfig, file: "/home/op/.kube/config")
        #expect(config.server == "https://dev.example:6443")
        #expect(config.token == "s3cr3t-dev-token")
        #expect(config.caFile == "/home/op/.kube/certs/ca.pem")
        #expect(config.namespace == "shop")
        #expect(config.origin == "kubeconfig /home/op/.kube/config, context dev")
        #expect(config.insecureSkipTLSVerify == false)
    }

    @Test func aNamedContext() throws {
        let config = try KubeConfiguration.parse(kubeconfig: sampleKubeconfig, file: "/k", context: "prod")
        #expect(config.server == "https://prod.example")
        #expect(config.tokenFile == "/var/run/token")
        #expect(config.caData.map { String(decoding: $0, as: UTF8.self) } == "PEM-BYTES")
    }

    @Test(arguments: [
        ("missing", "has no context 'missing' (it has: dev, prod, plugin, broken)"),
        ("plugin", "the exec plugin of user 'plugin-user' in /k asks for apiVersion 'none'; Trimtab speaks client.authentication.k8s.io/v1 and client.authentication.k8s.io/v1beta1"),
        ("broken", "names cluster 'nowhere', which the file does not define"),
    ])
    func badContextsAreClearErrors(context: String, message: String) {
        do {
            _ = try KubeConfiguration.parse(kubeconfig: sampleKubeconfig, file: "/k", context: context)
            Issue.record("accepted context \(context)")
        } catch {
            #expect(error.description.contains(message), "\(error.description)")
            #expect(!error.description.contains("s3cr3t"))
        }
    }

    @Test func notYAMLIsAClearError() {
        #expect(throws: KubeError.self) { try KubeConfiguration.parse(kubeconfig: "clusters: 3", file: "/k") }
    }

    @Test func inClusterReadsTheServiceAccount() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try directory.file("token", "first-token\n")
        _ = try directory.file("ca.crt", "PEM")
        _ = try directory.file("namespace", "trimtab\n")
        let config = try KubeConfiguration.inCluster(environment: ["KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "6443"],
                                                     directory: directory.path)
        #expect(config.server == "https://10.0.0.1:6443")
        #expect(config.tokenFile == directory.path + "/token")
        #expect(config.caFile == directory.path + "/ca.crt")
        #expect(config.namespace == "trimtab")
        #expect(throws: KubeError.self) { try KubeConfiguration.inCluster(environment: [:], directory: directory.path) }
    }

    @Test func resolutionOrder() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.file("config", sampleKubeconfig)
        #expect(try KubeConfiguration.resolve(kubeconfig: nil, context: "prod", inCluster: false, environment: ["KUBECONFIG": "/nope:\(file)"]).server == "https://prod.example")
        #expect(try KubeConfiguration.resolve(kubeconfig: file, context: nil, inCluster: false, environment: [:]).server == "https://dev.example:6443")
        do {
            _ = try KubeConfiguration.resolve(kubeconfig: nil, context: nil, inCluster: false, environment: ["HOME": directory.path])
            Issue.record("found a configuration where there is none")
        } catch {
            #expect(error.description.contains("no cluster configuration"))
        }
    }
}
