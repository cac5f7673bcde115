import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL
import TrimtabCore
import TrimtabCycle

/// A client of the Kubernetes API over AsyncHTTPClient: no kubectl, no client-go.
///
/// Every answer that is not a success becomes a typed `KubeError` read from the server's `Status`
/// body. A 429 is retried after its `Retry-After`, a bounded number of times.
public final class KubeClient: Sendable {
    public let configuration: KubeConfiguration
    private let http: HTTPClient
    /// The kubeconfig's credential plugin, run for a token or a client certificate and kept until it expires.
    let execSource: ExecCredentialSource?
    /// Clients over a plugin's client certificate, made when it prints one.
    private let execClients: ExecTLSClients?
    private let baseURL: String
    /// How many times a 429 is retried, and the longest wait honoured for one.
    public let maxRetries: Int
    public let maxRetryAfterSeconds: Double

    public init(_ configuration: KubeConfiguration, maxRetries: Int = 3, maxRetryAfterSeconds: Double = 30) throws(KubeError) {
        self.configuration = configuration
        self.maxRetries = maxRetries
        self.maxRetryAfterSeconds = maxRetryAfterSeconds
        guard let components = URLComponents(string: configuration.server), let scheme = components.scheme?.lowercased(),
              ["http", "https"].contains(scheme), components.host?.isEmpty == false else {
            throw .configuration("the API server '\(Self.display(configuration.server))' (\(configuration.origin)) is not an http(s) URL")
        }
        var bare = components
        bare.user = nil
        bare.password = nil
        bare.query = nil
        var base = bare.string ?? configuration.server
        while base.hasSuffix("/") { base.removeLast() }
        baseURL = base

        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            if let data = configuration.caData {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(data))
            } else if let file = configuration.caFile {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(file))
            }
            let certificate = try configuration.clientCertificateData.map { try NIOSSLCertificate.fromPEMBytes($0) }
                ?? configuration.clientCertificateFile.map { try NIOSSLCertificate.fromPEMFile($0) }
            let key = try configuration.clientKeyData.map { try NIOSSLPrivateKey(bytes: $0, format: .pem) }
                ?? configuration.clientKeyFile.map { try NIOSSLPrivateKey(file: $0, format: .pem) }
            if let certificate, let key {
                tls.certificateChain = certificate.map { .certificate($0) }
                tls.privateKey = .privateKey(key)
            } else if (certificate == nil) != (key == nil) {
                throw KubeError.configuration("a client certificate needs its key and a key its certificate (\(configuration.origin))")
            }
        } catch let error as KubeError {
            throw error
        } catch {
            // Never echo the bytes: they may be a private key.
            throw .configuration("could not read the TLS material of \(configuration.origin) (CA, client certificate or key): \(type(of: error))")
        }
        if configuration.insecureSkipTLSVerify { tls.certificateVerification = .none }
        http = Self.makeHTTPClient(tls: tls, timeoutSeconds: configuration.timeoutSeconds, proxy: configuration.proxy)
        if let plugin = configuration.exec {
            let authority = configuration.caData ?? configuration.caFile.flatMap { FileManager.default.contents(atPath: $0).map { [UInt8]($0) } }
            execSource = ExecCredentialSource(plugin: plugin, server: configuration.server, certificateAuthorityData: authority,
                                              insecureSkipTLSVerify: configuration.insecureSkipTLSVerify)
            execClients = ExecTLSClients(base: tls, timeoutSeconds: configuration.timeoutSeconds, origin: plugin.origin, proxy: configuration.proxy)
        } else {
            execSource = nil
            execClients = nil
        }
    }

    static func makeHTTPClient(tls: TLSConfiguration, timeoutSeconds: Double, proxy: ProxyEndpoint?) -> HTTPClient {
        var httpConfiguration = HTTPClient.Configuration(tlsConfiguration: tls)
        // An HTTP proxy tunnels every request with CONNECT (TLS stays end to end); or SOCKS5.
        httpConfiguration.proxy = proxy.map { proxy in
            proxy.kind == .socks5 ? .socksServer(host: proxy.host, port: proxy.port)
                : .server(host: proxy.host, port: proxy.port, authorization: proxy.user.map { .basic(username: $0, password: proxy.password ?? "") })
        }
        httpConfiguration.timeout = .init(connect: .seconds(Int64(max(1, min(timeoutSeconds, 10)))))
        // A refused connection is an answer: report it at once instead of retrying it until the deadline.
        httpConfiguration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
    }

    /// The server as it may be shown.
    public var server: String { Self.display(configuration.server) }

    static func display(_ url: String) -> String { Redaction.displayURL(url) }

    public func shutdown() async {
        try? await http.shutdown()
        await execClients?.shutdown()
    }

    // MARK: Typed calls

    public func get<T: Decodable>(_ type: T.Type, _ resource: KubeResource, namespace: String?, name: String,
                                  subresource: String? = nil) async throws(KubeError) -> T {
        let data = try await send(.GET, resource, namespace: namespace, name: name, subresource: subresource)
        return try decode(type, data, request: describe(.GET, resource, namespace, name, subresource))
    }

    public func list<T: Decodable>(_ type: T.Type, _ resource: KubeResource, namespace: String?,
                                   query: [(String, String)] = []) async throws(KubeError) -> T {
        let data = try await send(.GET, resource, namespace: namespace, query: query)
        return try decode(type, data, request: describe(.GET, resource, namespace, nil, nil))
    }

    /// The content types of the PATCH flavours the API server takes.
    public enum PatchType: String, Sendable {
        case merge = "application/merge-patch+json"
        case strategicMerge = "application/strategic-merge-patch+json"
        case json = "application/json-patch+json"
    }

    /// A PATCH; with `dryRun` the server judges it (`?dryRun=All`) and stores nothing.
    @discardableResult
    public func patch(_ resource: KubeResource, namespace: String, name: String, subresource: String? = nil,
                      _ type: PatchType, body: [String: Any], dryRun: Bool) async throws(KubeError) -> Data {
        try await send(.PATCH, resource, namespace: namespace, name: name, subresource: subresource,
                       query: dryRun ? [("dryRun", "All")] : [], body: try Self.json(body), contentType: type.rawValue)
    }

    /// A JSON patch (RFC 6902): a list of operations, which the object form cannot carry.
    @discardableResult
    public func patch(_ resource: KubeResource, namespace: String, name: String, subresource: String? = nil,
                      operations: [[String: Any]], dryRun: Bool) async throws(KubeError) -> Data {
        let body: Data
        do {
            body = try JSONSerialization.data(withJSONObject: operations, options: [.sortedKeys, .withoutEscapingSlashes])
        } catch {
            throw KubeError(kind: .badRequest, message: "could not encode the JSON patch: \(error)")
        }
        return try await send(.PATCH, resource, namespace: namespace, name: name, subresource: subresource,
                              query: dryRun ? [("dryRun", "All")] : [], body: body, contentType: PatchType.json.rawValue)
    }

    /// A PUT of a whole object; its `metadata.resourceVersion` makes it conditional.
    @discardableResult
    public func update(_ resource: KubeResource, namespace: String, name: String, subresource: String? = nil,
                       body: [String: Any], dryRun: Bool) async throws(KubeError) -> Data {
        try await send(.PUT, resource, namespace: namespace, name: name, subresource: subresource,
                       query: dryRun ? [("dryRun", "All")] : [], body: try Self.json(body), contentType: "application/json")
    }

    @discardableResult
    public func create(_ resource: KubeResource, namespace: String, body: [String: Any], dryRun: Bool = false) async throws(KubeError) -> Data {
        try await send(.POST, resource, namespace: namespace, query: dryRun ? [("dryRun", "All")] : [],
                       body: try Self.json(body), contentType: "application/json")
    }

    static func json(_ body: [String: Any]) throws(KubeError) -> Data {
        do {
            return try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])
        } catch {
            throw KubeError(kind: .badRequest, message: "could not encode the request body: \(error)")
        }
    }

    // MARK: The wire

    func describe(_ method: HTTPMethod, _ resource: KubeResource, _ namespace: String?, _ name: String?, _ subresource: String?) -> KubeRequest {
        let verb: String
        switch method {
        case .GET: verb = name == nil ? "list" : "get"
        case .POST: verb = "create"
        case .PUT: verb = "update"
        case .PATCH: verb = "patch"
        case .DELETE: verb = "delete"
        default: verb = method.rawValue.lowercased()
        }
        return KubeRequest(verb: verb, group: resource.group, resource: resource.plural + (subresource.map { "/\($0)" } ?? ""),
                           namespace: namespace, name: name, server: server)
    }

    /// Sends a request, retrying a 429 after its Retry-After (bounded in count and in wait).
    public func send(_ method: HTTPMethod, _ resource: KubeResource, namespace: String?, name: String? = nil,
                     subresource: String? = nil, query: [(String, String)] = [], body: Data? = nil,
                     contentType: String? = nil) async throws(KubeError) -> Data {
        let described = describe(method, resource, namespace, name, subresource)
        var url = baseURL + resource.path(namespace: namespace, name: name, subresource: subresource)
        if !query.isEmpty {
            var components = URLComponents()
            components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) }
            url += "?" + (components.percentEncodedQuery ?? "")
        }
        var attempt = 0
        var reauthenticated = false
        while true {
            let credential = try await execSource?.credential()
            do {
                return try await once(method, url: url, body: body, contentType: contentType, request: described, credential: credential)
            } catch let error where error.kind == .tooManyRequests && attempt < maxRetries {
                attempt += 1
                let wait = min(max(error.retryAfter ?? 1, 0), maxRetryAfterSeconds)
                try? await Task.sleep(for: .milliseconds(Int64(wait * 1000)))
            } catch let error where error.kind == .unauthorized && credential != nil && !reauthenticated {
                // As kubectl: a refused plugin credential is dropped and the plugin runs again, once.
                reauthenticated = true
                await execSource?.invalidate(credential)
            }
        }
    }

    private func once(_ method: HTTPMethod, url: String, body: Data?, contentType: String?,
                      request described: KubeRequest, credential: ExecCredential?) async throws(KubeError) -> Data {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "trimtab")
        let header: String?
        if let credential {
            header = credential.token.map { "Bearer " + $0 }
        } else {
            header = try authorization()
        }
        if let header { request.headers.add(name: "Authorization", value: header) }
        var http = self.http
        if let credential, let certificate = credential.clientCertificateData, let key = credential.clientKeyData, let execClients {
            http = try await execClients.client(certificate: certificate, key: key)
        }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType ?? "application/json")
            request.body = .bytes(ByteBuffer(data: body))
        }
        let status: Int
        let data: Data
        let retryAfter: Double?
        do {
            let response = try await http.execute(request, timeout: .milliseconds(Int64(configuration.timeoutSeconds * 1000)))
            status = Int(response.status.code)
            retryAfter = response.headers.first(name: "Retry-After").flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            data = Data(buffer: try await response.body.collect(upTo: 64 * 1024 * 1024))
        } catch let error as HTTPClientError where [.deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout].contains(error) {
            throw KubeError(kind: .timeout, request: described, message: "\(Int(configuration.timeoutSeconds)) s passed")
        } catch {
            throw KubeError(kind: .connection, request: described,
                            message: Self.describeTransport(error) + (configuration.proxy.map { " (through the proxy \($0))" } ?? ""))
        }
        if (200..<300).contains(status) { return data }
        var error = Self.error(status: status, body: data, request: described, retryAfter: retryAfter)
        // The token itself, echoed without its scheme, is only known here.
        var secrets = [configuration.password].compactMap { $0 }
        if let header {
            secrets += [header, String(header.drop { $0 != " " }.dropFirst())]
        }
        error.message = Redaction.scrub(error.message, secrets: secrets)
        error.causes = error.causes.map { Redaction.scrub($0, secrets: secrets) }
        throw error
    }

    /// A typed error from an answer's status and `Status` body.
    static func error(status: Int, body: Data, request: KubeRequest, retryAfter: Double?) -> KubeError {
        let parsed = try? JSONDecoder().decode(StatusBody.self, from: body)
        // What the server sends back may echo credentials (a proxy's error page, a misbehaving webhook).
        let message = Redaction.scrub(parsed?.message ?? (String(data: body.prefix(300), encoding: .utf8).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""))
        let causes = parsed?.details?.causes?.map { cause in
            Redaction.scrub([cause.field, cause.message].compactMap { $0 }.joined(separator: ": "))
        } ?? []
        let kind: KubeError.Kind
        switch status {
        case 400: kind = .badRequest
        case 401: kind = .unauthorized
        case 403: kind = .forbidden
        case 404: kind = .notFound
        case 409: kind = parsed?.reason == "AlreadyExists" ? .alreadyExists : .conflict
        case 422: kind = .invalid
        case 429: kind = .tooManyRequests
        case 500...: kind = .unavailable
        default: kind = .other
        }
        let retry = retryAfter ?? parsed?.details?.retryAfterSeconds.map(Double.init)
        return KubeError(kind: kind, status: status, request: request, message: message.isEmpty ? "no message" : message,
                         causes: causes, retryAfter: retry)
    }

    static func describeTransport(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .remoteConnectionClosed: return "the server closed the connection without answering"
            case .connectTimeout: return "the connection timed out"
            case .proxyAuthenticationRequired: return "the proxy asked for credentials (407); give them in the proxy URL, http://user:password@proxy:3128"
            case .invalidProxyResponse: return "the proxy would not connect to the server (its answer to CONNECT was not 200); check NO_PROXY and the proxy's allowed ports"
            default: return String(describing: error)
            }
        }
        if let error = error as? NIOSSLError { return "TLS: \(error)" }
        if let error = error as? NIOSSLExtraError { return "TLS: \(error)" }
        return String(describing: error)
    }

    private func decode<T: Decodable>(_ type: T.Type, _ data: Data, request: KubeRequest) throws(KubeError) -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw KubeError(kind: .badResponse, request: request, message: KubeConfiguration.describe(error))
        }
    }

    /// The Authorization header: the token file is read on every request, so rotation is picked up.
    private func authorization() throws(KubeError) -> String? {
        if let file = configuration.tokenFile {
            guard let token = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw .configuration("could not read the token file \(file) (\(configuration.origin))")
            }
            return "Bearer " + token.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let token = configuration.token { return "Bearer " + token }
        if let user = configuration.username {
            return "Basic " + Data("\(user):\(configuration.password ?? "")".utf8).base64EncodedString()
        }
        return nil
    }
}

/// The `Status` body of an error answer.
struct StatusBody: Decodable {
    struct Details: Decodable {
        struct Cause: Decodable {
            var reason: String?
            var message: String?
            var field: String?
        }
        var name: String?
        var group: String?
        var kind: String?
        var causes: [Cause]?
        var retryAfterSeconds: Int?
    }
    var kind: String?
    var message: String?
    var reason: String?
    var details: Details?
    var code: Int?
}

/// The HTTP clients over a credential plugin's client certificates: one for the certificate printed
/// last, made when it first appears (TLS is a client's configuration, not a request's); those it
/// replaces are shut down with the client.
actor ExecTLSClients {
    let base: TLSConfiguration
    let timeoutSeconds: Double
    let origin: String
    let proxy: ProxyEndpoint?
    private var current: (certificate: String, key: String, client: HTTPClient)?
    private var retired: [HTTPClient] = []

    init(base: TLSConfiguration, timeoutSeconds: Double, origin: String, proxy: ProxyEndpoint?) {
        self.base = base
        self.timeoutSeconds = timeoutSeconds
        self.origin = origin
        self.proxy = proxy
    }

    func client(certificate: String, key: String) throws(KubeError) -> HTTPClient {
        if let current, current.certificate == certificate, current.key == key { return current.client }
        var tls = base
        do {
            tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(certificate.utf8)).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(key.utf8), format: .pem))
        } catch {
            // Never echo the bytes: they hold a private key.
            throw .configuration("\(origin) printed a client certificate or key that is not PEM (\(type(of: error)))")
        }
        let client = KubeClient.makeHTTPClient(tls: tls, timeoutSeconds: timeoutSeconds, proxy: proxy)
        if let current { retired.append(current.client) }
        current = (certificate, key, client)
        return client
    }

    func shutdown() async {
        for client in retired + [current?.client].compactMap({ $0 }) { try? await client.shutdown() }
        retired = []
        current = nil
    }
}
