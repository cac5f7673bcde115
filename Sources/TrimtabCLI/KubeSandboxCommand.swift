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

        It writes a kubeconfig with two contexts in namespace shop: trimtab-sandbox (the admin token, \
        current) and trimtab-sandbox-viewer (a read-only token). kubectl never sends a token over \
        plain HTTP, so each context's server URL carries its token as a path prefix (/token/TOKEN). Try:
          trimtab sandbox kube &
          export KUBECONFIG=$PWD/.demo/kubeconfig
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

    @Option(help: ArgumentHelp("Where to write the kubeconfig.", valueName: "path"))
    var kubeconfig: String = ".demo/kubeconfig"

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
        let path = URL(fileURLWithPath: kubeconfig).standardizedFileURL.path
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let namespace = KubeSandbox.demoNamespace
            let text = sandbox.kubeconfig(contexts: [
                KubeconfigContext(name: "trimtab-sandbox", token: KubeSandbox.adminToken, namespace: namespace),
                KubeconfigContext(name: "trimtab-sandbox-viewer", token: KubeSandbox.viewerToken, namespace: namespace),
            ])
            // The file holds a token: readable by its owner only, as kubectl writes its own.
            guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteUnknown)
            }
        } catch {
            printError("error: could not write the kubeconfig \(kubeconfig): \(error)")
            await sandbox.stop()
            throw TrimtabExit.invalidInput
        }
        // Standard output, unbuffered, so a script reading the line sees it at once.
        FileHandle.standardOutput.write(Data("sandbox API server at \(sandbox.url); kubeconfig \(kubeconfig) (export KUBECONFIG=\(path))\n".utf8))
        await Self.waitForInterrupt(orSeconds: seconds)
        await sandbox.stop()
        printError("sandbox API server stopped")
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
