import TrimtabCore
import TrimtabCycle
import Foundation
import Yams

/// How to reach a Kubernetes API server and who to be there.
public struct KubeConfiguration: Sendable {
    /// The API server's base URL, e.g. `https://10.0.0.1:443`.
    public var server: String
    /// A bearer token given inline (kubeconfig `token`).
    public var token: String?
    /// A file holding the bearer token, read on every request so a rotated token is picked up
    /// (the in-cluster service account token is rotated by the kubelet).
    public var tokenFile: String?
    /// PEM bytes of the CA certificates to trust, or a file of them.
    public var caData: [UInt8]?
    public var caFile: String?
    /// PEM bytes (or files) of a client certificate and key, for mutual TLS.
    public var clientCertificateData: [UInt8]?
    public var clientCertificateFile: String?
    public var clientKeyData: [UInt8]?
    public var clientKeyFile: String?
    /// Basic auth, for the rare cluster that still takes it.
    public var username: String?
    public var password: String?
    /// A credential plugin to run for a token or a client certificate (EKS, GKE, AKS kubeconfigs).
    public var exec: ExecPlugin?
    /// Skip TLS verification: honoured only when the kubeconfig sets it.
    public var insecureSkipTLSVerify: Bool
    /// The default namespace of the context.
    public var namespace: String?
    /// Where this configuration came from, for messages: "kubeconfig /root/.kube/config, context prod".
    public var origin: String
    /// Seconds one request may take, end to end.
    public var timeoutSeconds: Double
    /// The proxy to the API server: the kubeconfig cluster's `proxy-url`, else `HTTPS_PROXY` (or
    /// `HTTP_PROXY`) unless `NO_PROXY` covers the server, as kubectl; nil for a direct connection.
    public var proxy: ProxyEndpoint?

    public init(server: String, token: String? = nil, tokenFile: String? = nil, caData: [UInt8]? = nil, caFile: String? = nil,
                clientCertificateData: [UInt8]? = nil, clientCertificateFile: String? = nil, clientKeyData: [UInt8]? = nil,
                clientKeyFile: String? = nil, username: String? = nil, password: String? = nil, exec: ExecPlugin? = nil,
                insecureSkipTLSVerify: Bool = false, namespace: String? = nil, origin: String = "given", timeoutSeconds: Double = 15) {
        self.server = server
        self.token = token
        self.tokenFile = tokenFile
        self.caData = caData
        self.caFile = caFile
        self.clientCertificateData = clientCertificateData
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyData = clientKeyData
        self.clientKeyFile = clientKeyFile
        self.username = username
        self.password = password
        self.exec = exec
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.namespace = namespace
        self.origin = origin
        self.timeoutSeconds = timeoutSeconds
    }

    /// The directory the kubelet mounts a pod's service account into.
    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// The pod's service account: `KUBERNETES_SERVICE_HOST`/`_PORT`, its token file (re-read on every
    /// request) and the cluster CA file.
    public static func inCluster(environment: [String: String] = ProcessInfo.processInfo.environment,
                                 directory: String = serviceAccountDirectory) throws(KubeError) -> KubeConfiguration {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty else {
            throw .configuration("not running in a cluster: KUBERNETES_SERVICE_HOST is not set; use --kubeconfig or run inside a pod")
        }
        let port = environment["KUBERNETES_SERVICE_PORT"].flatMap { $0.isEmpty ? nil : $0 } ?? "443"
        let tokenFile = (directory as NSString).appendingPathComponent("token")
        guard FileManager.default.isReadableFile(atPath: tokenFile) else {
            throw .configuration("the service account token \(tokenFile) is missing or unreadable: is automountServiceAccountToken off for this pod?")
        }
        let caFile = (directory as NSString).appendingPathComponent("ca.crt")
        let namespace = try? String(contentsOfFile: (directory as NSString).appendingPathComponent("namespace"), encoding: .utf8)
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return KubeConfiguration(server: "https://\(hostPart):\(port)", tokenFile: tokenFile,
                                 caFile: FileManager.default.fileExists(atPath: caFile) ? caFile : nil,
                                 namespace: namespace?.trimmingCharacters(in: .whitespacesAndNewlines),
                                 origin: "in-cluster service account")
    }

    /// Which configuration to use, as kubectl chooses: an explicit kubeconfig, else `KUBECONFIG` (its
    /// first file), else the pod's service account when in a cluster, else `~/.kube/config`.
    public static func resolve(kubeconfig: String?, context: String?, inCluster: Bool,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws(KubeError) -> KubeConfiguration {
        try chosen(kubeconfig: kubeconfig, context: context, inCluster: inCluster, environment: environment).withEnvironmentProxy(environment)
    }

    static func chosen(kubeconfig: String?, context: String?, inCluster: Bool, environment: [String: String]) throws(KubeError) -> KubeConfiguration {
        if inCluster { return try Self.inCluster(environment: environment) }
        if let kubeconfig { return try load(kubeconfigAt: kubeconfig, context: context) }
        if let list = environment["KUBECONFIG"], !list.isEmpty {
            let files = list.split(separator: ":").map(String.init)
            guard let file = files.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
                throw .configuration("KUBECONFIG names \(files.joined(separator: ", ")), and none of them exists")
            }
            return try load(kubeconfigAt: file, context: context)
        }
        if context == nil, environment["KUBERNETES_SERVICE_HOST"] != nil { return try Self.inCluster(environment: environment) }
        let home = environment["HOME"] ?? NSHomeDirectory()
        let file = (home as NSString).appendingPathComponent(".kube/config")
        guard FileManager.default.fileExists(atPath: file) else {
            throw .configuration("no cluster configuration: pass --kubeconfig FILE, set KUBECONFIG, or run in a pod with a service account (\(file) does not exist)")
        }
        return try load(kubeconfigAt: file, context: context)
    }

    /// A kubeconfig file, at its current context or the one named.
    public static func load(kubeconfigAt path: String, context: String? = nil) throws(KubeError) -> KubeConfiguration {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw .configuration("could not read the kubeconfig \(path)")
        }
        return try parse(kubeconfig: text, file: path, context: context)
    }

    /// Parses kubeconfig text. Relative file paths in it are relative to the file's directory.
    public static func parse(kubeconfig text: String, file: String, context wanted: String? = nil) throws(KubeError) -> KubeConfiguration {
        let config: Kubeconfig
        do {
            config = try YAMLDecoder().decode(Kubeconfig.self, from: text)
        } catch {
            throw .configuration("the kubeconfig \(file) is not valid: \(Self.describe(error))")
        }
        guard let contextName = wanted ?? config.currentContext.flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw .configuration("the kubeconfig \(file) sets no current-context; pass --context NAME (it has: \(config.contexts.map(\.name).joined(separator: ", ")))")
        }
        guard let context = config.contexts.first(where: { $0.name == contextName })?.context else {
            throw .configuration("the kubeconfig \(file) has no context '\(contextName)' (it has: \(config.contexts.map(\.name).joined(separator: ", ")))")
        }
        guard let cluster = config.clusters.first(where: { $0.name == context.cluster })?.cluster else {
            throw .configuration("context '\(contextName)' in \(file) names cluster '\(context.cluster)', which the file does not define")
        }
        let user = context.user.flatMap { name in config.users?.first(where: { $0.name == name })?.user }
        if let name = context.user, user == nil {
            throw .configuration("context '\(contextName)' in \(file) names user '\(name)', which the file does not define")
        }
        if user?.authProvider != nil {
            throw .configuration("user '\(context.user ?? "")' in \(file) gets its credentials from an auth-provider plugin, which kubectl itself dropped in 1.26; use its exec plugin instead (gke-gcloud-auth-plugin, kubelogin), a token, a tokenFile or a client certificate")
        }
        let directory = (file as NSString).deletingLastPathComponent
        func path(_ value: String?) -> String? {
            guard let value, !value.isEmpty else { return nil }
            return value.hasPrefix("/") ? value : (directory as NSString).appendingPathComponent(value)
        }
        var plugin: ExecPlugin?
        if let exec = user?.exec {
            let name = context.user ?? ""
            guard let apiVersion = exec.apiVersion, ExecPlugin.supportedVersions.contains(apiVersion) else {
                throw .configuration("the exec plugin of user '\(name)' in \(file) asks for apiVersion '\(exec.apiVersion ?? "none")'; Trimtab speaks \(ExecPlugin.supportedVersions.joined(separator: " and "))")
            }
            guard let command = exec.command, !command.isEmpty else {
                throw .configuration("the exec plugin of user '\(name)' in \(file) has no command")
            }
            let mode: ExecPlugin.InteractiveMode
            if let text = exec.interactiveMode {
                guard let parsed = ExecPlugin.InteractiveMode(rawValue: text) else {
                    throw .configuration("the exec plugin of user '\(name)' in \(file) has interactiveMode '\(text)'; it is Never, IfAvailable or Always")
                }
                mode = parsed
            } else if apiVersion.hasSuffix("/v1") {
                throw .configuration("the exec plugin of user '\(name)' in \(file) sets no interactiveMode, which \(apiVersion) requires (as kubectl does): add interactiveMode: Never or IfAvailable")
            } else {
                mode = .ifAvailable
            }
            var env: [String: String] = [:]
            for variable in exec.env ?? [] { env[variable.name] = variable.value }
            // As kubectl: a command with a path separator is relative to the kubeconfig's directory; a bare name is looked up on PATH.
            let resolved = command.contains("/") ? path(command).map { URL(fileURLWithPath: $0).standardizedFileURL.path } ?? command : command
            plugin = ExecPlugin(apiVersion: apiVersion, command: resolved,
                                args: exec.args ?? [], env: env, interactiveMode: mode, provideClusterInfo: exec.provideClusterInfo ?? false,
                                installHint: exec.installHint, user: name, file: file)
        }
        func decode(_ value: String?, _ field: String) throws(KubeError) -> [UInt8]? {
            guard let value else { return nil }
            guard let data = Data(base64Encoded: value, options: .ignoreUnknownCharacters) else {
                throw .configuration("\(field) in \(file) is not base64")
            }
            return [UInt8](data)
        }
        var proxy: ProxyEndpoint?
        if let url = cluster.proxyURL, !url.isEmpty {
            do throws(ProxyError) {
                proxy = try ProxyEnvironment.parse(url, origin: "proxy-url of cluster '\(context.cluster)' in \(file)")
            } catch {
                throw .configuration(error.description)
            }
        }
        var configuration = KubeConfiguration(
            server: cluster.server, token: user?.token, tokenFile: path(user?.tokenFile),
            caData: try decode(cluster.certificateAuthorityData, "certificate-authority-data of cluster '\(context.cluster)'"),
            caFile: path(cluster.certificateAuthority),
            clientCertificateData: try decode(user?.clientCertificateData, "client-certificate-data of user '\(context.user ?? "")'"),
            clientCertificateFile: path(user?.clientCertificate),
            clientKeyData: try decode(user?.clientKeyData, "client-key-data of user '\(context.user ?? "")'"),
            clientKeyFile: path(user?.clientKey), username: user?.username, password: user?.password, exec: plugin,
            insecureSkipTLSVerify: cluster.insecureSkipTLSVerify ?? false, namespace: context.namespace,
            origin: "kubeconfig \(file), context \(contextName)")
        configuration.proxy = proxy
        configuration.proxyFromKubeconfig = proxy != nil
        return configuration
    }

    /// Whether `proxy` came from the kubeconfig's `proxy-url` (which the environment does not override).
    var proxyFromKubeconfig = false

    /// The configuration with the environment's proxy when the kubeconfig names none.
    func withEnvironmentProxy(_ environment: [String: String]) throws(KubeError) -> KubeConfiguration {
        guard !proxyFromKubeconfig else { return self }
        var configuration = self
        do throws(ProxyError) {
            configuration.proxy = try ProxyEnvironment.proxy(for: server, environment: environment)
        } catch {
            throw .configuration(error.description)
        }
        return configuration
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? DecodingError {
            switch error {
            case .keyNotFound(let key, let context):
                return "missing '\(key.stringValue)' at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
            case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
                return "\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
            @unknown default: return "\(error)"
            }
        }
        return "\(error)"
    }
}

/// The parts of a kubeconfig file Trimtab reads.
struct Kubeconfig: Decodable {
    struct NamedCluster: Decodable {
        var name: String
        var cluster: Cluster
    }
    struct Cluster: Decodable {
        var server: String
        var certificateAuthority: String?
        var certificateAuthorityData: String?
        var insecureSkipTLSVerify: Bool?
        var proxyURL: String?
        enum CodingKeys: String, CodingKey {
            case server
            case proxyURL = "proxy-url"
            case certificateAuthority = "certificate-authority"
            case certificateAuthorityData = "certificate-authority-data"
            case insecureSkipTLSVerify = "insecure-skip-tls-verify"
        }
    }
    struct NamedUser: Decodable {
        var name: String
        var user: User?
    }
    struct User: Decodable {
        var token: String?
        var tokenFile: String?
        var clientCertificate: String?
        var clientCertificateData: String?
        var clientKey: String?
        var clientKeyData: String?
        var username: String?
        var password: String?
        var exec: Exec?
        var authProvider: Ignored?
        enum CodingKeys: String, CodingKey {
            case token, tokenFile, username, password, exec
            case clientCertificate = "client-certificate"
            case clientCertificateData = "client-certificate-data"
            case clientKey = "client-key"
            case clientKeyData = "client-key-data"
            case authProvider = "auth-provider"
        }
    }
    struct Exec: Decodable {
        struct Variable: Decodable {
            var name: String
            var value: String
        }
        var apiVersion: String?
        var command: String?
        var args: [String]?
        var env: [Variable]?
        var installHint: String?
        var provideClusterInfo: Bool?
        var interactiveMode: String?
    }
    struct NamedContext: Decodable {
        var name: String
        var context: Context
    }
    struct Context: Decodable {
        var cluster: String
        var user: String?
        var namespace: String?
    }

    var clusters: [NamedCluster]
    var users: [NamedUser]?
    var contexts: [NamedContext]
    var currentContext: String?

    enum CodingKeys: String, CodingKey {
        case clusters, users, contexts
        case currentContext = "current-context"
    }
}

/// A field whose presence matters and whose content does not.
struct Ignored: Codable, Sendable, Equatable {
    init() {}
    init(from decoder: any Decoder) throws {}
    func encode(to encoder: any Encoder) throws {}
}
