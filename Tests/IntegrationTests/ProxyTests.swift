import Foundation
import Testing
@testable import TrimtabNotify
import TrimtabCore
import TrimtabCycle
import TrimtabKube
import TrimtabKubeSandbox
import Logging
import TrimtabPrometheus
import TrimtabSandbox
import TrimtabTestSupport

let proxiedMatrix = #"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"namespace":"shop","deployment":"api"},"values":[[0,"1"],[30,"2"]]}]}}"#

/// Trimtab's clients through a real HTTP proxy (Debian's tinyproxy): plain requests forwarded, https
/// tunnelled end to end with CONNECT, proxy credentials sent, and a refusing proxy reported.
@Suite("Through an HTTP proxy")
struct ProxyTests {
    @Test func prometheusIsReadThroughTheProxyOverHTTPAndHTTPS() async throws {
        let proxy = try await ProxySandbox.start()
        defer { proxy.stop() }
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let plain = try await ScriptedHTTPServer { _ in .respond(status: 200, body: proxiedMatrix) }
        let secure = try await ScriptedHTTPServer(tls: (certificates.serverCertificate, certificates.serverKey)) { _ in .respond(status: 200, body: proxiedMatrix) }
        for server in [plain, secure] {
            var configuration = PrometheusConfiguration(url: server.url, caFile: certificates.caFile, timeoutSeconds: 5)
            configuration.proxy = try ProxyEnvironment.parse(proxy.url, origin: "test")
            let client = try PrometheusClient(configuration)
            let answer = try await client.queryRange("up", start: 0, end: 30, step: 30)
            #expect(answer.result.series.count == 1)
            await client.shutdown()
        }
        // AsyncHTTPClient tunnels plain http through CONNECT too: both went through the proxy.
        for server in [plain, secure] {
            let port = try #require(URLComponents(string: server.url)?.port)
            #expect(proxy.log.contains("CONNECT 127.0.0.1:\(port) "), "\(proxy.log)")
        }
        await plain.stop()
        await secure.stop()
    }

    /// A kubeconfig of the sandbox whose cluster names `proxy` as its proxy-url.
    static func kubeconfig(_ sandbox: KubeSandbox, proxy: String, in dir: URL) throws -> String {
        let text = sandbox.kubeconfig(token: KubeSandbox.adminToken, tokenInServerPath: false)
        let proxied = text.replacingOccurrences(of: "    server: \"\(sandbox.url)\"\n", with: "    server: \"\(sandbox.url)\"\n    proxy-url: \"\(proxy)\"\n")
        #expect(proxied != text, "the kubeconfig must name the proxy")
        let path = dir.appendingPathComponent("kubeconfig-proxied").path
        try proxied.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func theAPIServerIsReachedThroughTheKubeconfigsProxyWithItsCredentials() async throws {
        let step = DemoScenario.scrapeInterval
        let end = (alignedNow() / step).rounded(.down) * step
        let proxy = try await ProxySandbox.start(credentials: ("trimtab", "pr0xy-pass"))
        defer { proxy.stop() }
        try await withTemporaryDirectory { dir in
            let sandbox = try await KubeSandbox.start(configuration: .demo)
            defer { Task { await sandbox.stop() } }
            let port = try #require(URLComponents(string: sandbox.url)?.port)
            let good = try Self.kubeconfig(sandbox, proxy: "http://trimtab:pr0xy-pass@127.0.0.1:\(proxy.port)", in: dir)
            try await withPrometheus(DemoScenario.openMetrics(end: end)) { prometheus in
                let report = dir.appendingPathComponent("r.md").path
                let code = await trimtab(["analyze", "--prometheus", prometheus.url, "--at", "\(Int(end))", "--kubeconfig", good, "--quiet", "--output", report])
                #expect(code == 0)
                let markdown = try String(contentsOfFile: report, encoding: .utf8)
                #expect(markdown.contains("would-apply"), "\(markdown)")
            }
            // Every call to the API server went through the proxy's tunnel.
            #expect(proxy.log.contains("CONNECT 127.0.0.1:\(port) "), "\(proxy.log)")
            #expect(!sandbox.requests.isEmpty)

            // Without the credentials the proxy answers 407, and the error says so (and never the password).
            let bare = try Self.kubeconfig(sandbox, proxy: "http://127.0.0.1:\(proxy.port)", in: dir)
            let client = try KubeClient(try KubeConfiguration.load(kubeconfigAt: bare))
            defer { Task { await client.shutdown() } }
            do {
                _ = try await client.get(ObjectMeta.self, .configMaps, namespace: "shop", name: "shop-config")
                Issue.record("reached the API server through a proxy that wants credentials")
            } catch {
                #expect((error as? KubeError)?.kind == .connection)
                #expect("\(error)".contains("the proxy asked for credentials (407)"), "\(error)")
                #expect("\(error)".contains("through the proxy http://127.0.0.1:\(proxy.port) (from proxy-url of cluster 'trimtab-sandbox'"), "\(error)")
            }
        }
    }

    @Test func aKubeconfigProxyURLThatCannotWorkIsRefusedNamingTheCluster() throws {
        let text = """
        apiVersion: v1
        kind: Config
        clusters:
        - name: prod
          cluster: {server: "https://10.0.0.1", proxy-url: "https://user:secret@proxy.corp:3128"}
        users: [{name: u, user: {token: t}}]
        contexts: [{name: c, context: {cluster: prod, user: u}}]
        current-context: c
        """
        do {
            _ = try KubeConfiguration.parse(kubeconfig: text, file: "/home/op/.kube/config")
            Issue.record("an https proxy was accepted")
        } catch {
            #expect(error.message.contains("proxy-url of cluster 'prod' in /home/op/.kube/config: an https:// proxy"), "\(error)")
            #expect(!error.message.contains("secret"))
        }
        // Without proxy-url, the environment's proxy applies, unless NO_PROXY covers the server.
        let direct = text.replacingOccurrences(of: ", proxy-url: \"https://user:secret@proxy.corp:3128\"", with: "")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("kubeconfig-\(UUID().uuidString)").path
        try direct.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let proxied = try KubeConfiguration.resolve(kubeconfig: file, context: nil, inCluster: false, environment: ["HTTPS_PROXY": "proxy.corp:3128"])
        #expect(proxied.proxy?.host == "proxy.corp" && proxied.proxy?.origin == "HTTPS_PROXY")
        let bypassed = try KubeConfiguration.resolve(kubeconfig: file, context: nil, inCluster: false,
                                                      environment: ["HTTPS_PROXY": "proxy.corp:3128", "NO_PROXY": "10.0.0.0/16"])
        #expect(bypassed.proxy == nil)
    }

    @Test func eachReceiverGoesThroughTheProxyItsURLCallsFor() throws {
        var options = Notifier.Options()
        options.environment = ["HTTPS_PROXY": "http://proxy.corp:3128", "NO_PROXY": "alertmanager.monitoring.svc"]
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let slack = dir.appendingPathComponent("slack").path
        try "https://hooks.slack.example/services/T0/B0/x\n".write(toFile: slack, atomically: true, encoding: .utf8)
        var settings = NotifySettings()
        settings.alertmanagers = [AlertmanagerEndpoint(url: "https://alertmanager.monitoring.svc:9093")]
        settings.webhooks = [WebhookEndpoint(name: "slack", urlFile: slack, format: .slack)]
        let notifier = try Notifier(settings: settings, options: options, logger: Logger(label: "test"))
        // The Alertmanager (in NO_PROXY) directly, Slack through the proxy: two clients.
        #expect(notifier.clients.count == 2)
        #expect(notifier.clientOf == [0, 1])
        Task { await notifier.finish(within: 0) }
    }
}
