import Foundation
import Subprocess
import TrimtabCycle
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// A kubeconfig user's `exec` credential plugin (`client.authentication.k8s.io` ExecCredential), as
/// EKS (`aws eks get-token`), GKE (`gke-gcloud-auth-plugin`) and AKS (`kubelogin`) write them.
public struct ExecPlugin: Sendable, Equatable {
    public enum InteractiveMode: String, Sendable {
        case never = "Never"
        case ifAvailable = "IfAvailable"
        case always = "Always"
    }

    public static let supportedVersions = ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"]

    public var apiVersion: String
    /// The command as written; a path with a separator is resolved against the kubeconfig's directory.
    public var command: String
    public var args: [String]
    public var env: [String: String]
    public var interactiveMode: InteractiveMode
    public var provideClusterInfo: Bool
    public var installHint: String?
    /// The kubeconfig user it belongs to, and the file, for messages.
    public var user: String
    public var file: String
    /// How long one run may take before it is stopped (a plugin waiting for a browser login would
    /// otherwise hold the cycle).
    public var timeoutSeconds: Double = 60

    public init(apiVersion: String, command: String, args: [String] = [], env: [String: String] = [:],
                interactiveMode: InteractiveMode = .ifAvailable, provideClusterInfo: Bool = false, installHint: String? = nil,
                user: String, file: String) {
        self.apiVersion = apiVersion
        self.command = command
        self.args = args
        self.env = env
        self.interactiveMode = interactiveMode
        self.provideClusterInfo = provideClusterInfo
        self.installHint = installHint
        self.user = user
        self.file = file
    }

    /// Where messages say the plugin comes from.
    var origin: String { "the credential plugin '\(command)' of user '\(user)' in \(file)" }
}

/// What a plugin printed: a bearer token, or a client certificate and key (PEM), and until when.
public struct ExecCredential: Sendable, Equatable {
    public var token: String?
    public var clientCertificateData: String?
    public var clientKeyData: String?
    public var expiration: Date?

    /// Parses a plugin's standard output. The text is never quoted back: it holds the secret.
    static func parse(_ output: String, plugin: ExecPlugin) throws(KubeError) -> ExecCredential {
        struct Document: Decodable {
            struct Status: Decodable {
                var token: String?
                var clientCertificateData: String?
                var clientKeyData: String?
                var expirationTimestamp: String?
            }
            var apiVersion: String?
            var kind: String?
            var status: Status?
        }
        let document: Document
        do {
            document = try JSONDecoder().decode(Document.self, from: Data(output.utf8))
        } catch {
            throw .configuration("\(plugin.origin) did not print an ExecCredential as JSON (\(output.utf8.count) bytes on its standard output, not shown: they may hold a secret)")
        }
        guard document.kind == "ExecCredential" else {
            throw .configuration("\(plugin.origin) printed kind '\(document.kind ?? "none")', not ExecCredential")
        }
        guard document.apiVersion == plugin.apiVersion else {
            throw .configuration("\(plugin.origin) printed apiVersion '\(document.apiVersion ?? "none")', but the kubeconfig asks for \(plugin.apiVersion)")
        }
        guard let status = document.status else { throw .configuration("\(plugin.origin) printed an ExecCredential without a status") }
        let token = status.token.flatMap { $0.isEmpty ? nil : $0 }
        let certificate = status.clientCertificateData.flatMap { $0.isEmpty ? nil : $0 }
        let key = status.clientKeyData.flatMap { $0.isEmpty ? nil : $0 }
        if (certificate == nil) != (key == nil) {
            throw .configuration("\(plugin.origin) printed a client certificate without its key, or a key without its certificate")
        }
        if token == nil && certificate == nil {
            throw .configuration("\(plugin.origin) printed neither a token nor a client certificate")
        }
        var expiration: Date?
        if let text = status.expirationTimestamp {
            guard let date = Self.time(text) else {
                throw .configuration("\(plugin.origin) printed expirationTimestamp '\(text)', which is not an RFC 3339 time")
            }
            expiration = date
        }
        return ExecCredential(token: token, clientCertificateData: certificate, clientKeyData: key, expiration: expiration)
    }

    static func time(_ text: String) -> Date? {
        KubeTime.parse(text).map { Date(timeIntervalSince1970: $0) }
    }
}

/// Runs a credential plugin as kubectl does and keeps what it printed until it expires (a credential
/// without an expiry is kept until the server refuses it). Concurrent requests share one run.
actor ExecCredentialSource {
    let plugin: ExecPlugin
    /// The cluster as `KUBERNETES_EXEC_INFO` describes it when the plugin asks (`provideClusterInfo`).
    let server: String
    let certificateAuthorityData: [UInt8]?
    let insecureSkipTLSVerify: Bool
    let timeoutSeconds: Double
    /// Renewed this long before it expires, so a request never carries a credential about to lapse.
    static let skewSeconds = 10.0

    private var cached: ExecCredential?
    private var running: Task<Result<ExecCredential, KubeError>, Never>?
    /// How many times the plugin has run, for tests and messages.
    private(set) var runs = 0

    init(plugin: ExecPlugin, server: String, certificateAuthorityData: [UInt8]?, insecureSkipTLSVerify: Bool) {
        self.plugin = plugin
        self.server = server
        self.certificateAuthorityData = certificateAuthorityData
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.timeoutSeconds = plugin.timeoutSeconds
    }

    func credential(now: Date = Date()) async throws(KubeError) -> ExecCredential {
        if let cached, cached.expiration.map({ $0.timeIntervalSince(now) > Self.skewSeconds }) ?? true { return cached }
        cached = nil
        let task: Task<Result<ExecCredential, KubeError>, Never>
        if let running {
            task = running
        } else {
            runs += 1
            let plugin = plugin, environment = execInfo(), timeout = timeoutSeconds
            task = Task { await Self.run(plugin, execInfo: environment, timeoutSeconds: timeout) }
            running = task
        }
        let result = await task.value
        running = nil
        let credential = try result.get()
        cached = credential
        return credential
    }

    /// Drops the kept credential (the server refused it): the next request runs the plugin again.
    func invalidate(_ refused: ExecCredential?) {
        if refused == nil || cached == refused { cached = nil }
    }

    /// `KUBERNETES_EXEC_INFO`: the ExecCredential the plugin is asked for; never interactive, since
    /// Trimtab runs unattended and does not hand the plugin its terminal.
    func execInfo() -> String {
        var spec: [String: Any] = ["interactive": false]
        if plugin.provideClusterInfo {
            var cluster: [String: Any] = ["server": server]
            if let certificateAuthorityData { cluster["certificate-authority-data"] = Data(certificateAuthorityData).base64EncodedString() }
            if insecureSkipTLSVerify { cluster["insecure-skip-tls-verify"] = true }
            spec["cluster"] = cluster
        }
        let document: [String: Any] = ["apiVersion": plugin.apiVersion, "kind": "ExecCredential", "spec": spec]
        let data = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// One run of the plugin, bounded in time; its standard output is parsed and never shown, its
    /// standard error is quoted (its end) only when it fails.
    static func run(_ plugin: ExecPlugin, execInfo: String, timeoutSeconds: Double) async -> Result<ExecCredential, KubeError> {
        if plugin.interactiveMode == .always {
            return .failure(.configuration("\(plugin.origin) needs an interactive terminal (interactiveMode: Always), which Trimtab never gives a plugin: log in once with kubectl, or set interactiveMode: IfAvailable or Never"))
        }
        let executable: Executable = plugin.command.contains("/") ? .path(FilePath(plugin.command)) : .name(plugin.command)
        var overrides: [Environment.Key: String?] = [:]
        for (name, value) in plugin.env {
            if let key = Environment.Key(rawValue: name) { overrides[key] = value }
        }
        overrides["KUBERNETES_EXEC_INFO"] = execInfo
        let environment = Environment.inherit.updating(overrides)
        let outcome: Result<(status: TerminationStatus, output: String, error: String), KubeError> = await withTaskGroup(
            of: Result<(status: TerminationStatus, output: String, error: String), KubeError>?.self
        ) { group in
            group.addTask {
                do {
                    let result = try await Subprocess.run(executable, arguments: Arguments(plugin.args), environment: environment,
                                                          input: .none, output: .string(limit: 1 << 20), error: .string(limit: 64 << 10))
                    return .success((result.terminationStatus, result.standardOutput, result.standardError))
                } catch {
                    let hint = plugin.installHint.map { ": \($0.trimmingCharacters(in: .whitespacesAndNewlines))" } ?? ""
                    return .failure(.configuration("could not run \(plugin.origin) (\(Self.describe(error)))\(hint)"))
                }
            }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(Int64(timeoutSeconds * 1000)))
                return Task.isCancelled ? nil : .failure(.configuration("\(plugin.origin) did not finish within \(Int(timeoutSeconds)) s; it was stopped"))
            }
            var first: Result<(status: TerminationStatus, output: String, error: String), KubeError>?
            while let next = await group.next() {
                if let next {
                    first = next
                    break
                }
            }
            group.cancelAll()
            return first ?? .failure(.configuration("\(plugin.origin) did not finish"))
        }
        switch outcome {
        case .failure(let error): return .failure(error)
        case .success(let run):
            guard case .exited(0) = run.status else {
                let said = run.error.trimmingCharacters(in: .whitespacesAndNewlines).suffix(300)
                return .failure(.configuration("\(plugin.origin) failed (\(run.status))" + (said.isEmpty ? "" : ": \(said)")))
            }
            do throws(KubeError) {
                return .success(try ExecCredential.parse(run.output, plugin: plugin))
            } catch {
                return .failure(error)
            }
        }
    }

    static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        return text.count > 200 ? String(text.prefix(200)) + "…" : text
    }
}
