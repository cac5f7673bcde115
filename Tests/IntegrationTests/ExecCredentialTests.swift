import Foundation
import Testing
import TrimtabCycle
import TrimtabKube
import TrimtabKubeSandbox

/// Managed clusters' kubeconfigs: a credential plugin (a shell script here, as `aws eks get-token` is
/// a program) run as kubectl runs it, against the sandbox API server.
@Suite("kubeconfig exec credential plugins against the sandbox API server", .serialized)
struct ExecCredentialTests {
    /// The plugin: counts its runs, keeps what it was given (KUBERNETES_EXEC_INFO, an env variable
    /// from the kubeconfig), then prints an ExecCredential per its first argument:
    /// `good` the admin token; `stale-first` a refused token on its first run, then the admin token;
    /// `refused` always a refused token; `fail` exits 3 with a message; `junk` prints a secret that is
    /// not JSON; `slow` sleeps.
    static let script = #"""
    #!/bin/sh
    n=$(cat "$PLUGIN_DIR/runs" 2>/dev/null || echo 0); n=$((n+1)); echo "$n" > "$PLUGIN_DIR/runs"
    printf '%s' "$KUBERNETES_EXEC_INFO" > "$PLUGIN_DIR/exec-info"
    printf '%s' "$PLUGIN_GREETING" > "$PLUGIN_DIR/greeting"
    token=sandbox-admin-token
    case "$1" in
      stale-first) [ "$n" -eq 1 ] && token=expired-t0ken-0001 ;;
      refused) token=expired-t0ken-0002 ;;
      fail) echo "error: the SSO session has expired; run aws sso login" >&2; exit 3 ;;
      junk) echo "token=s3cret-in-junk"; exit 0 ;;
      slow) sleep 120 ;;
    esac
    printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}\n' "$token" "$PLUGIN_EXPIRES"
    """#

    struct World {
        let dir: URL
        let kubeconfig: String
        var runs: Int { Int((try? String(contentsOf: dir.appendingPathComponent("runs"), encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "0") ?? 0 }
        func read(_ name: String) -> String { (try? String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)) ?? "" }
    }

    /// A kubeconfig whose user runs `./plugin.sh MODE` (relative to the kubeconfig, as kubectl resolves it).
    static func world(server: String, mode: String, expires: String, extra: String = "", in dir: URL) throws -> World {
        let plugin = dir.appendingPathComponent("plugin.sh")
        try script.write(to: plugin, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: plugin.path)
        let kubeconfig = dir.appendingPathComponent("config").path
        try """
        apiVersion: v1
        kind: Config
        clusters:
        - name: sandbox
          cluster: {server: "\(server)"}
        users:
        - name: eks-user
          user:
            exec:
              apiVersion: client.authentication.k8s.io/v1
              command: ./plugin.sh
              args: [\(mode)]
              env:
              - {name: PLUGIN_DIR, value: "\(dir.path)"}
              - {name: PLUGIN_EXPIRES, value: "\(expires)"}
              - {name: PLUGIN_GREETING, value: "hello from the kubeconfig"}
              interactiveMode: Never
              provideClusterInfo: true
              installHint: install it with your package manager
        \(extra)
        contexts:
        - name: eks
          context: {cluster: sandbox, user: eks-user}
        current-context: eks
        """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        return World(dir: dir, kubeconfig: kubeconfig)
    }

    struct Named: Decodable {
        struct Metadata: Decodable { var name: String }
        var metadata: Metadata
    }

    /// `pluginTimeout` is generous but for the slow plugin: the machines are shared, and a shell
    /// script can take seconds to start on a loaded one.
    static func with(mode: String, expires: String = "2099-01-01T00:00:00Z", pluginTimeout: Double = 60,
                     _ body: (World, KubeClient) async throws -> Void) async throws {
        let sandbox = try await KubeSandbox.start(configuration: .demo)
        do {
            try await withTemporaryDirectory { dir in
                let world = try world(server: sandbox.url, mode: mode, expires: expires, in: dir)
                var configuration = try KubeConfiguration.load(kubeconfigAt: world.kubeconfig)
                configuration.exec?.timeoutSeconds = pluginTimeout
                configuration.timeoutSeconds = 30
                let client = try KubeClient(configuration)
                do {
                    try await body(world, client)
                } catch {
                    await client.shutdown()
                    throw error
                }
                await client.shutdown()
            }
        } catch {
            await sandbox.stop()
            throw error
        }
        await sandbox.stop()
    }

    @Test func thePluginRunsOnceForACredentialThatHasNotExpiredAndIsToldTheCluster() async throws {
        try await Self.with(mode: "good") { world, client in
            for _ in 0..<3 {
                let deployment = try await client.get(Named.self, .deployments, namespace: "shop", name: "checkout")
                #expect(deployment.metadata.name == "checkout")
            }
            #expect(world.runs == 1)
            // KUBERNETES_EXEC_INFO, as kubectl sets it with provideClusterInfo; the kubeconfig's env too.
            let info = try #require(try JSONSerialization.jsonObject(with: Data(world.read("exec-info").utf8)) as? [String: Any])
            #expect(info["apiVersion"] as? String == "client.authentication.k8s.io/v1" && info["kind"] as? String == "ExecCredential")
            let spec = try #require(info["spec"] as? [String: Any])
            #expect(spec["interactive"] as? Bool == false)
            #expect((spec["cluster"] as? [String: Any])?["server"] as? String == client.configuration.server)
            #expect(world.read("greeting") == "hello from the kubeconfig")
        }
    }

    @Test func anExpiredCredentialRunsThePluginAgain() async throws {
        try await Self.with(mode: "good", expires: "2020-01-01T00:00:00Z") { world, client in
            for _ in 0..<3 { _ = try await client.get(Named.self, .deployments, namespace: "shop", name: "checkout") }
            #expect(world.runs == 3)
        }
    }

    @Test func aRefusedCredentialRunsThePluginAgainOnceAndNeverShowsTheToken() async throws {
        try await Self.with(mode: "stale-first") { world, client in
            _ = try await client.get(Named.self, .deployments, namespace: "shop", name: "checkout")
            #expect(world.runs == 2)
            _ = try await client.get(Named.self, .deployments, namespace: "shop", name: "checkout")
            #expect(world.runs == 2)
        }
        try await Self.with(mode: "refused") { world, client in
            do throws(KubeError) {
                _ = try await client.get(Named.self, .deployments, namespace: "shop", name: "checkout")
                Issue.record("a refused token was accepted")
            } catch {
                #expect(error.kind == .unauthorized, "\(error)")
                #expect(!error.description.contains("expired-t0ken"), "\(error.description)")
            }
            // Once more, not in a loop: the next request's run is its own.
            #expect(world.runs == 2)
        }
    }

    @Test(arguments: [
        ("fail", ["failed (exited(3))", "the SSO session has expired; run aws sso login"], "s3cret"),
        ("junk", ["did not print an ExecCredential as JSON", "not shown: they may hold a secret"], "s3cret-in-junk"),
        ("slow", ["did not finish within 2 s; it was stopped"], "sandbox-admin-token"),
    ])
    func aFailingPluginIsAClearErrorThatNeverQuotesItsOutput(mode: String, says: [String], never: String) async throws {
        try await Self.with(mode: mode, pluginTimeout: mode == "slow" ? 2 : 60) { world, client in
            let started = ContinuousClock.now
            do throws(KubeError) {
                _ = try await client.get(Named.self, .deployments, namespace: "shop", name: "checkout")
                Issue.record("\(mode): the request went through")
            } catch {
                for part in says { #expect(error.description.contains(part), "\(error.description)") }
                #expect(error.description.contains("the credential plugin '\(world.dir.path)/plugin.sh' of user 'eks-user'"), "\(error.description)")
                #expect(!error.description.contains(never), "\(error.description)")
            }
            // The slow plugin was stopped at its deadline, not waited out (it sleeps 120 s).
            #expect(ContinuousClock.now - started < .seconds(90))
        }
    }

    @Test func kubeconfigsThatCannotWorkAreRefusedWithTheReason() throws {
        func refusal(_ exec: String) -> String {
            let text = """
            clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]
            users: [{name: u, user: {exec: \(exec)}}]
            contexts: [{name: x, context: {cluster: c, user: u}}]
            current-context: x
            """
            do {
                _ = try KubeConfiguration.parse(kubeconfig: text, file: "/home/op/.kube/config")
                return "accepted"
            } catch {
                return error.description
            }
        }
        #expect(refusal("{apiVersion: client.authentication.k8s.io/v1, command: aws}").contains("sets no interactiveMode, which client.authentication.k8s.io/v1 requires"))
        #expect(refusal("{apiVersion: client.authentication.k8s.io/v1alpha1, command: aws, interactiveMode: Never}").contains("asks for apiVersion 'client.authentication.k8s.io/v1alpha1'"))
        #expect(refusal("{apiVersion: client.authentication.k8s.io/v1, command: aws, interactiveMode: Sometimes}").contains("interactiveMode 'Sometimes'"))
        // v1beta1 defaults to IfAvailable, as kubectl's; a bare name stays a PATH lookup, a relative path is the file's.
        let beta = try KubeConfiguration.parse(kubeconfig: """
            clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]
            users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: gke-gcloud-auth-plugin}}}]
            contexts: [{name: x, context: {cluster: c, user: u}}]
            current-context: x
            """, file: "/home/op/.kube/config")
        #expect(beta.exec?.interactiveMode == .ifAvailable && beta.exec?.command == "gke-gcloud-auth-plugin")
        let relative = try KubeConfiguration.parse(kubeconfig: """
            clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]
            users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: bin/token, interactiveMode: Never}}}]
            contexts: [{name: x, context: {cluster: c, user: u}}]
            current-context: x
            """, file: "/home/op/.kube/config")
        #expect(relative.exec?.command == "/home/op/.kube/bin/token")
    }

    @Test func aPluginThatNeedsATerminalOrIsMissingSaysWhatToDo() async throws {
        let sandbox = try await KubeSandbox.start(configuration: .demo)
        for (exec, says) in [
            (ExecPlugin(apiVersion: "client.authentication.k8s.io/v1", command: "kubelogin", interactiveMode: .always, user: "aks", file: "/k"),
             "needs an interactive terminal (interactiveMode: Always)"),
            (ExecPlugin(apiVersion: "client.authentication.k8s.io/v1", command: "no-such-credential-plugin", interactiveMode: .never,
                        installHint: "brew install no-such-credential-plugin", user: "eks", file: "/k"),
             "brew install no-such-credential-plugin"),
        ] {
            let client = try KubeClient(KubeConfiguration(server: sandbox.url, exec: exec, timeoutSeconds: 5))
            do throws(KubeError) {
                _ = try await client.get(Named.self, .deployments, namespace: "shop", name: "checkout")
                Issue.record("\(exec.command): the request went through")
            } catch {
                #expect(error.description.contains(says), "\(error.description)")
            }
            await client.shutdown()
        }
        await sandbox.stop()
    }
}
