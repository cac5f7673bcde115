import Foundation
import TrimtabCycle
import NIOConcurrencyHelpers
import TrimtabLoopbackServer

/// An in-memory Kubernetes API server on 127.0.0.1, plain HTTP, for tests and the demo.
///
/// It keeps the semantics clients depend on: a global `resourceVersion` and 409 Conflict on stale
/// writes, `generation`, the `scale` subresource, merge, strategic merge and JSON patches, dry
/// runs, validation with `Status` causes, RBAC-style bearer tokens with the real Forbidden wording,
/// discovery and server-side Tables good enough for kubectl. Deployments and StatefulSets roll out
/// instantly: their status always shows every replica ready.
///
/// Watches are not served: `?watch=true` is answered 405 MethodNotAllowed.
///
/// For tests it adds what a real server cannot: direct access to the objects (``store``),
/// injected faults (``inject(_:)``), a concurrent writer (``afterNextRequest(method:pathContaining:_:)``)
/// and a log of requests (``requests``).
public final class KubeSandbox: Sendable {
    /// Who may call the sandbox and what it holds at start.
    public struct Configuration: Sendable {
        /// Bearer tokens and what each may do.
        public var grants: [String: Grant]
        /// Objects stored at start, as manifests (apiVersion, kind, metadata.name, metadata.namespace).
        public var objects: [JSONValue]
        /// The server's clock (creation timestamps, ages); a manual one keeps a test in fast time.
        public var clock: any TimeSource = SystemClock()

        /// By default, one all-powerful token, ``KubeSandbox/adminToken``, and nothing stored.
        public init(grants: [String: Grant] = [KubeSandbox.adminToken: .admin()], objects: [JSONValue] = []) {
            self.grants = grants
            self.objects = objects
        }

        /// The demo: namespace `shop` seeded with ``KubeSandbox/demoObjects()``, an admin token
        /// ``KubeSandbox/adminToken`` and a read-only token ``KubeSandbox/viewerToken``
        /// (user `system:serviceaccount:shop:viewer`: get, list and watch only).
        public static var demo: Configuration {
            Configuration(grants: [adminToken: .admin(), viewerToken: .viewer(user: "system:serviceaccount:shop:viewer")],
                          objects: KubeSandbox.demoObjects())
        }
    }

    /// The token of the all-powerful user in the default and demo configurations.
    public static let adminToken = "sandbox-admin-token"
    /// The read-only token of the demo configuration.
    public static let viewerToken = "sandbox-viewer-token"

    /// The port the server listens on, on 127.0.0.1.
    public let port: Int
    /// The stored objects, for tests to read and change without going through HTTP.
    public let store: ObjectStore
    private let core: SandboxCore
    private let server: LoopbackHTTPServer

    /// `http://127.0.0.1:PORT`.
    public var url: String { "http://127.0.0.1:\(port)" }

    private init(port: Int, store: ObjectStore, core: SandboxCore, server: LoopbackHTTPServer) {
        self.port = port
        self.store = store
        self.core = core
        self.server = server
    }

    /// Seeds the objects and starts listening on 127.0.0.1; `port` 0 picks a free port.
    /// Throws a ``StatusError`` when a seed object is invalid, or the bind error.
    public static func start(configuration: Configuration = .init(), port: Int = 0) async throws -> KubeSandbox {
        let store = ObjectStore(clock: configuration.clock)
        for object in configuration.objects { try store.apply(object) }
        let core = SandboxCore(api: APIServer(grants: configuration.grants, store: store))
        let server = try await LoopbackHTTPServer.start(port: port) { core.reply(to: $0) }
        return KubeSandbox(port: server.port, store: store, core: core, server: server)
    }

    /// Stops listening and closes open connections.
    public func stop() async {
        await server.stop()
    }

    // MARK: Objects

    /// The stored object, or nil; see ``ObjectStore/object(apiVersion:kind:namespace:name:)``.
    public func object(apiVersion: String, kind: String, namespace: String?, name: String) -> JSONValue? {
        store.object(apiVersion: apiVersion, kind: kind, namespace: namespace, name: name)
    }

    /// Creates or replaces an object; see ``ObjectStore/apply(_:)``.
    @discardableResult
    public func apply(_ object: JSONValue) throws -> JSONValue {
        try store.apply(object)
    }

    /// Changes a stored object as a concurrent writer would; see ``ObjectStore/mutate(apiVersion:kind:namespace:name:_:)``.
    @discardableResult
    public func mutate(apiVersion: String, kind: String, namespace: String?, name: String,
                       _ change: (inout JSONValue) throws -> Void) throws -> JSONValue {
        try store.mutate(apiVersion: apiVersion, kind: kind, namespace: namespace, name: name, change)
    }

    // MARK: Test controls

    /// Adds a fault; faults are matched in the order they were injected.
    public func inject(_ fault: Fault) {
        core.runtime.withLockedValue { $0.faults.append(fault) }
    }

    /// How many injected faults are still waiting to fire (a fault with a count of 3 counts 3).
    public var pendingFaults: Int {
        core.runtime.withLockedValue { $0.faults.reduce(0) { $0 + $1.count } }
    }

    /// Removes every fault not yet used up.
    public func clearFaults() {
        core.runtime.withLockedValue { $0.faults.removeAll() }
    }

    /// Runs `action` once, after the first later request that matches `method` (nil: any) and
    /// whose target (path and query) contains `pathContaining` (nil: any) has been answered by the
    /// API, and before that answer is sent. Use it to simulate a concurrent writer between a
    /// client's read and its write:
    ///
    /// ```swift
    /// sandbox.afterNextRequest(method: "GET", pathContaining: "/deployments/api") { store in
    ///     try? store.mutate(apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "api") {
    ///         $0[path: ["metadata", "annotations", "other-writer"]] = "yes"
    ///     }
    /// }
    /// ```
    ///
    /// Requests stopped by a fault do not trigger it.
    public func afterNextRequest(method: String? = nil, pathContaining: String? = nil,
                                 _ action: @escaping @Sendable (ObjectStore) -> Void) {
        core.runtime.withLockedValue {
            $0.hooks.append(RequestHook(method: method, pathContaining: pathContaining, action: action))
        }
    }

    /// Every request received so far, oldest first.
    public var requests: [RecordedRequest] { core.runtime.withLockedValue { $0.log } }

    /// Forgets the requests received so far.
    public func clearRequests() {
        core.runtime.withLockedValue { $0.log.removeAll() }
    }

    // MARK: Kubeconfig

    /// A kubeconfig for kubectl and client libraries with one context, cluster and user, all named
    /// `trimtab-sandbox`, set as the current context, with a default namespace if given.
    ///
    /// kubectl (client-go) never sends a kubeconfig's token over plain HTTP, so by default the
    /// server URL also carries the token as a path prefix, `http://127.0.0.1:PORT/token/TOKEN`,
    /// which the sandbox accepts when no Authorization header is sent. A client must then keep the
    /// server URL's path, as it must for real clusters behind proxies (Rancher, GitLab's KAS).
    /// With `tokenInServerPath: false` the server URL is bare and only the user's token authenticates.
    public func kubeconfig(token: String, namespace: String? = nil, tokenInServerPath: Bool = true) -> String {
        kubeconfig(contexts: [KubeconfigContext(name: "trimtab-sandbox", token: token, namespace: namespace)],
                   tokenInServerPath: tokenInServerPath)
    }

    /// A kubeconfig with a context (and a cluster and user of the same name) per entry; the first
    /// is the current context. See ``kubeconfig(token:namespace:tokenInServerPath:)``.
    public func kubeconfig(contexts: [KubeconfigContext], tokenInServerPath: Bool = true) -> String {
        func quoted(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        var clusters = "clusters:\n"
        var users = "users:\n"
        var entries = "contexts:\n"
        for context in contexts {
            let server = tokenInServerPath ? url + CredentialPath.segment(for: context.token) : url
            clusters += "- name: \(quoted(context.name))\n  cluster:\n    server: \(quoted(server))\n"
            users += "- name: \(quoted(context.name))\n  user:\n    token: \(quoted(context.token))\n"
            entries += "- name: \(quoted(context.name))\n  context:\n    cluster: \(quoted(context.name))\n    user: \(quoted(context.name))\n"
            if let namespace = context.namespace { entries += "    namespace: \(quoted(namespace))\n" }
        }
        let current = contexts.first.map { "current-context: \(quoted($0.name))\n" } ?? ""
        return "apiVersion: v1\nkind: Config\n" + clusters + users + entries + current + "preferences: {}\n"
    }
}

/// One context of a kubeconfig the sandbox writes: a name, the token it authenticates with, and
/// its default namespace.
public struct KubeconfigContext: Sendable, Equatable {
    public var name: String
    public var token: String
    public var namespace: String?

    public init(name: String, token: String, namespace: String? = nil) {
        self.name = name
        self.token = token
        self.namespace = namespace
    }
}
