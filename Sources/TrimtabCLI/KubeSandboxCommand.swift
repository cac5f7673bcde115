import ArgumentParser
import Foundation
import TrimtabKubeSandbox

/// `trimtab sandbox kube`: a sandbox Kubernetes API server for kubectl and trimtab, no cluster needed.
struct KubeSandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kube",
        abstract: "Run an in-memory Kubernetes API server on 127.0.0.1, for kubectl and trimtab. No cluster needed.",
        discussion: """
        Serves Deployments (with the scale subresource), StatefulSets, ConfigMaps, Events, \
        HorizontalPodAutoscalers, Leases and Namespaces over plain HTTP on 127.0.0.1, with a real API \
        server's semantics: resourceVersion conflicts, patches, dry runs, validation, RBAC-style tokens. \
        Deployments roll out instantly. With --seed demo (the default) namespace `shop` holds the demo's \
        services, the ConfigMap shop-config and an HPA on inventory. Nothing is kept after it stops.

        It writes two kubeconfigs with two contexts in namespace shop: trimtab-sandbox (the admin token, \
        current) and trimtab-sandbox-viewer (a read-only token). kubectl never sends a token over \
        plain HTTP, so the kubectl copy (.demo/kubectl.kubeconfig) carries each token as a path prefix \
        of the server URL (/token/TOKEN); trimtab's (.demo/kubeconfig) sends it as a header. Try:
          trimtab sandbox kube &
          export KUBECONFIG=$PWD/.demo/kubectl.kubeconfig
          kubectl get deployments
          kubectl get deploy checkout -o yaml
          kubectl scale deployment/checkout --replicas=5
          kubectl get events; kubectl get cm,hpa
          kubectl --context trimtab-sandbox-viewer scale deployment/checkout --replicas=1
        (the last one is refused: Forbidden, as with a real cluster's RBAC).
        Then point trimtab at it with --kubeconfig .demo/kubeconfig. For scripts, --for stops it after a while:
          trimtab sandbox kube --port 6443 --for 600
        """
    )

    /// What the server holds at start.
    enum Seed: String, ExpressibleByArgument, CaseIterable {
        case demo, none
    }

    @Option(help: ArgumentHelp("The port on 127.0.0.1; 0 picks a free one.", valueName: "port"))
    var port: Int = 0

    @Option(help: ArgumentHelp("Where to write the kubeconfig for trimtab (the token in an Authorization header).", valueName: "path"))
    var kubeconfig: String = ".demo/kubeconfig"

    @Option(help: ArgumentHelp("Where to write the kubeconfig for kubectl (the token in the server's path).", valueName: "path"))
    var kubectlKubeconfig: String = ".demo/kubectl.kubeconfig"

    @Option(help: ArgumentHelp("The objects to start with: demo (namespace shop) or none.", valueName: "seed"))
    var seed: Seed = .demo

    @Option(name: .customLong("for"), help: ArgumentHelp("Stop after this many seconds (default: run until interrupted).", valueName: "seconds"))
    var seconds: Double?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        if let seconds, !(seconds > 0) { throw ValidationError("--for must be a positive number of seconds") }
    }

    func run() async throws {
        var configuration = KubeSandbox.Configuration.demo
        if seed == .none { configuration.objects = [] }
        let sandbox: KubeSandbox
        do {
            sandbox = try await KubeSandbox.start(configuration: configuration, port: port)
        } catch {
            printError("error: could not start the sandbox API server: \(error)")
            throw TrimtabExit.invalidInput
        }
        do {
            try Self.writeKubeconfigs(for: sandbox, trimtab: kubeconfig, kubectl: kubectlKubeconfig)
        } catch {
            printError("error: could not write the kubeconfigs \(kubeconfig), \(kubectlKubeconfig): \(error)")
            await sandbox.stop()
            throw TrimtabExit.invalidInput
        }
        // Standard output, unbuffered, so a script reading the line sees it at once.
        let kubectlPath = URL(fileURLWithPath: kubectlKubeconfig).standardizedFileURL.path
        FileHandle.standardOutput.write(Data("sandbox API server at \(sandbox.url); kubeconfig \(kubeconfig) for trimtab, \(kubectlKubeconfig) for kubectl (export KUBECONFIG=\(kubectlPath))\n".utf8))
        await Self.waitForInterrupt(orSeconds: seconds)
        await sandbox.stop()
        printError("sandbox API server stopped")
    }

    /// Writes the two kubeconfigs, each with an admin context (current) and a read-only one, readable
    /// by their owner only. kubectl sends no token over plain http, so its copy carries the token in the
    /// server's path; trimtab's sends it as a header, like a real cluster's, and never shows it.
    static func writeKubeconfigs(for sandbox: KubeSandbox, trimtab: String, kubectl: String) throws {
        let namespace = KubeSandbox.demoNamespace
        let contexts = [
            KubeconfigContext(name: "trimtab-sandbox", token: KubeSandbox.adminToken, namespace: namespace),
            KubeconfigContext(name: "trimtab-sandbox-viewer", token: KubeSandbox.viewerToken, namespace: namespace),
        ]
        for (path, inPath) in [(trimtab, false), (kubectl, true)] {
            let file = URL(fileURLWithPath: path).standardizedFileURL.path
            try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try? FileManager.default.removeItem(atPath: file)
            let text = sandbox.kubeconfig(contexts: contexts, tokenInServerPath: inPath)
            guard FileManager.default.createFile(atPath: file, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: file])
            }
        }
    }

    /// Returns on SIGINT or SIGTERM, or after `seconds` when given.
    static func waitForInterrupt(orSeconds seconds: Double?) async {
        let (signals, continuation) = AsyncStream<Int32>.makeStream()
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            // Ignored by the default handler so the dispatch source, not the process, gets it.
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: DispatchQueue(label: "trimtab.signal.\(number)"))
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            sources.append(source)
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in signals { return }
            }
            if let seconds {
                group.addTask { try? await Task.sleep(for: .seconds(seconds)) }
            }
            await group.next()
            group.cancelAll()
            continuation.finish()
        }
        for source in sources { source.cancel() }
    }
}
