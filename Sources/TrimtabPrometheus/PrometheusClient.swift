import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOHTTPCompression
import NIOSSL
import TrimtabCore

/// How to reach a Prometheus server (or anything with its HTTP API: Thanos, Mimir, VictoriaMetrics).
public struct PrometheusConfiguration: Sendable {
    /// The server's base URL, e.g. `http://prometheus:9090` or `https://mimir.example/prometheus`.
    public var url: String
    /// A file holding a bearer token; read on every request, so a rotated token is picked up.
    public var bearerTokenFile: String?
    /// Basic auth user, with the password read from `basicAuthPasswordFile`.
    public var basicAuthUser: String?
    public var basicAuthPasswordFile: String?
    /// A PEM file of CA certificates to trust instead of the system's.
    public var caFile: String?
    /// A client certificate and key (PEM) for mutual TLS.
    public var certFile: String?
    public var keyFile: String?
    /// Skip TLS verification: only for testing, and only when asked for.
    public var insecureSkipVerify: Bool
    /// Seconds one query may take, end to end; also sent to Prometheus as its `timeout` parameter.
    public var timeoutSeconds: Double
    /// Headers sent with every request, such as Mimir's and Cortex's tenant `X-Scope-OrgID`.
    public var headers: [(name: String, value: String)]
    /// The proxy requests go through (from `HTTPS_PROXY`/`HTTP_PROXY` and `NO_PROXY`, see
    /// `ProxyEnvironment`), or nil for a direct connection.
    public var proxy: ProxyEndpoint?

    /// Header names the client sets itself, or that the credential flags own.
    public static let reservedHeaders: Set<String> = ["authorization", "host", "content-type", "content-length", "accept", "user-agent",
                                                      "transfer-encoding", "connection", "proxy-authorization"]

    public init(url: String, bearerTokenFile: String? = nil, basicAuthUser: String? = nil,
                basicAuthPasswordFile: String? = nil, caFile: String? = nil, certFile: String? = nil,
                keyFile: String? = nil, insecureSkipVerify: Bool = false, timeoutSeconds: Double = 30,
                headers: [(name: String, value: String)] = []) {
        self.url = url
        self.bearerTokenFile = bearerTokenFile
        self.basicAuthUser = basicAuthUser
        self.basicAuthPasswordFile = basicAuthPasswordFile
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.insecureSkipVerify = insecureSkipVerify
        self.timeoutSeconds = timeoutSeconds
        self.headers = headers
    }

    /// The URL as it may be shown: without user, password or query string.
    public var displayURL: String { Redaction.displayURL(url) }
}

/// An answer of the API: `{"status": "success", "data": …}`.
struct DataEnvelope<T: Decodable>: Decodable { var data: T }

/// A client of the Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`).
///
/// Queries go as form-encoded POSTs, so long PromQL never meets a URL length limit.
public final class PrometheusClient: Sendable {
    public let configuration: PrometheusConfiguration
    private let http: HTTPClient
    private let baseURL: String
    private let authorization: String?

    public init(_ configuration: PrometheusConfiguration) throws(PrometheusError) {
        self.configuration = configuration
        guard let components = URLComponents(string: configuration.url), let scheme = components.scheme,
              ["http", "https"].contains(scheme.lowercased()), components.host?.isEmpty == false else {
            throw .credentials(detail: "--prometheus '\(configuration.displayURL)' is not an http(s) URL; write one like http://127.0.0.1:9090")
        }
        // Requests go to the URL without credentials or query, so no error of the HTTP stack can show them.
        var bare = components
        bare.user = nil
        bare.password = nil
        bare.query = nil
        bare.fragment = nil
        var base = bare.string ?? configuration.url
        while base.hasSuffix("/") { base.removeLast() }
        baseURL = base
        // Credentials in the URL itself become a basic auth header, never part of a shown URL.
        if let user = components.user {
            authorization = "Basic " + Data("\(user):\(components.password ?? "")".utf8).base64EncodedString()
        } else {
            authorization = nil
        }

        let tls: TLSConfiguration
        do {
            tls = try HTTPCredentials.tls(caFile: configuration.caFile, certFile: configuration.certFile, keyFile: configuration.keyFile,
                                          insecureSkipVerify: configuration.insecureSkipVerify)
        } catch {
            throw .credentials(detail: "\(error) (--ca-file, --cert-file, --key-file)")
        }
        for header in configuration.headers {
            guard !PrometheusConfiguration.reservedHeaders.contains(header.name.lowercased()) else {
                throw .credentials(detail: "--prometheus-header \(header.name) is set by Trimtab itself or by its own flag (--bearer-token-file, --basic-auth-user)")
            }
        }
        var httpConfiguration = HTTPClient.Configuration(tlsConfiguration: tls)
        httpConfiguration.timeout = .init(connect: .seconds(Int64(max(1, min(configuration.timeoutSeconds, 10)))))
        // A refused connection is an answer: report it at once instead of retrying it until the deadline.
        httpConfiguration.connectionPool.retryConnectionEstablishment = false
        // Query answers are repetitive JSON that compresses far beyond 100:1; bound the size instead.
        httpConfiguration.decompression = .enabled(limit: .size(Self.maximumBodyBytes))
        httpConfiguration.proxy = configuration.proxy.map(HTTPCredentials.proxy)
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
    }

    /// Closes the client's connections. Call once when done.
    public func shutdown() async {
        try? await http.shutdown()
    }

    /// An instant query at `time` (the server's now when `nil`).
    public func query(_ promql: String, at time: Double? = nil) async throws(PrometheusError) -> QueryResponse {
        var form = [("query", promql), ("timeout", timeoutParameter)]
        if let time { form.append(("time", Self.timestamp(time))) }
        return try await post("/api/v1/query", form: form, query: promql)
    }

    /// A range query from `start` to `end` (Unix seconds) every `step` seconds.
    public func queryRange(_ promql: String, start: Double, end: Double, step: Double) async throws(PrometheusError) -> QueryResponse {
        try await post("/api/v1/query_range", form: [
            ("query", promql), ("start", Self.timestamp(start)), ("end", Self.timestamp(end)),
            ("step", Self.timestamp(step)), ("timeout", timeoutParameter),
            // Thanos answers a query some stores could not serve with a warning unless told to fail
            // instead; Prometheus, Mimir and VictoriaMetrics ignore the parameter.
            ("partial_response", "false"),
        ], query: promql, streaming: true)
    }

    /// When the server started, as `/api/v1/status/runtimeinfo` says (Prometheus only; Thanos and
    /// Mimir may not answer it). A different answer between two cycles means the server restarted.
    public func startTime() async throws(PrometheusError) -> String {
        struct Info: Decodable { var startTime: String }
        return try await get(Info.self, "/api/v1/status/runtimeinfo", what: "runtime information").startTime
    }

    /// Every metric name the server has (`/api/v1/label/__name__/values`): one cheap call.
    public func metricNames() async throws(PrometheusError) -> [String] {
        try await get([String].self, "/api/v1/label/__name__/values", what: "the metric names")
    }

    /// The label names of the series `selector` matches (`/api/v1/labels?match[]=…`).
    public func labelNames(matching selector: String) async throws(PrometheusError) -> [String] {
        var components = URLComponents()
        components.queryItems = [URLQueryItem(name: "match[]", value: selector)]
        return try await get([String].self, "/api/v1/labels?" + (components.percentEncodedQuery ?? ""), what: "the label names of \(selector)")
    }

    /// A GET of the API whose answer's `data` is a `T`.
    func get<T: Decodable>(_ type: T.Type, _ path: String, what: String, limit: Int = 16 * 1024 * 1024) async throws(PrometheusError) -> T {
        let server = configuration.displayURL
        var request = HTTPClientRequest(url: baseURL + path)
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "trimtab")
        for header in configuration.headers { request.headers.add(name: header.name, value: header.value) }
        if let header = try authorizationHeader() { request.headers.add(name: "Authorization", value: header) }
        do {
            let response = try await http.execute(request, timeout: .milliseconds(Int64(configuration.timeoutSeconds * 1000)))
            let body = try await response.body.collect(upTo: limit)
            guard response.status == .ok else {
                throw PrometheusError.http(server: server, query: what, status: Int(response.status.code), message: Self.excerpt(Data(buffer: body)))
            }
            do {
                return try JSONDecoder().decode(DataEnvelope<T>.self, from: Data(buffer: body)).data
            } catch {
                throw PrometheusError.malformedResponse(server: server, query: what, detail: Self.describe(error))
            }
        } catch let error as PrometheusError {
            throw error
        } catch let error as HTTPClientError where Self.isTimeout(error) {
            throw .timeout(server: server, query: what, seconds: configuration.timeoutSeconds)
        } catch {
            throw .connection(server: server, query: what, detail: Self.describe(error) + viaProxy)
        }
    }

    private var timeoutParameter: String { "\(Int(max(1, configuration.timeoutSeconds.rounded(.up))))s" }

    static func timestamp(_ value: Double) -> String {
        String(format: "%.3f", value)
    }

    /// The largest answer read; a bigger one is a sign the query is not aggregated.
    static let maximumBodyBytes = 256 * 1024 * 1024

    /// Posts a query. With `streaming`, a 200 answer is decoded as it arrives (`StreamingDecoder`), so
    /// its body is never held whole; other answers are read whole (they are small).
    private func post(_ path: String, form: [(String, String)], query: String, streaming: Bool = false) async throws(PrometheusError) -> QueryResponse {
        let server = configuration.displayURL
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "trimtab")
        for header in configuration.headers { request.headers.add(name: header.name, value: header.value) }
        if let header = try authorizationHeader() { request.headers.add(name: "Authorization", value: header) }
        request.body = .bytes(ByteBuffer(string: FormEncoding.encode(form)))

        var status = 0
        var body = Data()
        var streamed: StreamingDecoder?
        var answered = false
        do {
            let response = try await http.execute(request, timeout: .milliseconds(Int64(configuration.timeoutSeconds * 1000)))
            status = Int(response.status.code)
            answered = true
            if streaming && status == 200 {
                var decoder = StreamingDecoder()
                for try await chunk in response.body {
                    do {
                        try decoder.feed(chunk.readableBytesView)
                    } catch {
                        throw PrometheusError.malformedResponse(server: server, query: query, detail: Self.describe(error))
                    }
                    if decoder.bytes > Self.maximumBodyBytes { throw NIOTooManyBytesError(maxBytes: Self.maximumBodyBytes) }
                }
                streamed = decoder
            } else {
                let buffer = try await response.body.collect(upTo: Self.maximumBodyBytes)
                body = Data(buffer: buffer)
            }
        } catch let error as PrometheusError {
            throw error
        } catch let error as HTTPClientError where Self.isTimeout(error) {
            throw .timeout(server: server, query: query, seconds: configuration.timeoutSeconds)
        } catch NIOHTTPDecompression.DecompressionError.limit {
            throw .malformedResponse(server: server, query: query, detail: "the answer is larger than \(Self.maximumBodyBytes / 1024 / 1024) MiB")
        } catch is NIOTooManyBytesError {
            throw .malformedResponse(server: server, query: query, detail: "the answer is larger than \(Self.maximumBodyBytes / 1024 / 1024) MiB")
        } catch {
            // Reached, answered, then cut off: the server (or a proxy) broke off its answer.
            if answered {
                throw .malformedResponse(server: server, query: query, detail: "the answer (status \(status)) was cut off before its end: \(Self.describe(error))")
            }
            throw .connection(server: server, query: query, detail: Self.describe(error) + viaProxy)
        }
        do {
            if let streamed {
                let decoded: (envelope: APIEnvelope, response: QueryResponse?)?
                var problem = ""
                do { decoded = try streamed.finish() } catch {
                    decoded = nil
                    problem = Self.describe(error)
                }
                var response = try Self.interpret(status: status, decoded: decoded, decodeProblem: problem, excerpt: "",
                                                  server: server, query: query, timeout: configuration.timeoutSeconds)
                response.bytes = streamed.bytes
                return response
            }
            var response = try Self.interpret(status: status, body: body, server: server, query: query, timeout: configuration.timeoutSeconds)
            response.bytes = body.count
            return response
        } catch {
            throw error.redacted(secrets: secrets())
        }
    }

    /// Maps an HTTP answer to a response or a typed error.
    static func interpret(status: Int, body: Data, server: String, query: String, timeout: Double) throws(PrometheusError) -> QueryResponse {
        let decoded: (envelope: APIEnvelope, response: QueryResponse?)?
        var decodeProblem = ""
        do {
            decoded = try QueryResponse.decode(body)
        } catch {
            decoded = nil
            decodeProblem = Self.describe(error)
        }
        return try interpret(status: status, decoded: decoded, decodeProblem: decodeProblem, excerpt: excerpt(body), server: server,
                             query: query, timeout: timeout)
    }

    /// Maps a decoded answer (or why it could not be decoded) to a response or a typed error.
    static func interpret(status: Int, decoded: (envelope: APIEnvelope, response: QueryResponse?)?, decodeProblem: String, excerpt: String,
                          server: String, query: String, timeout: Double) throws(PrometheusError) -> QueryResponse {
        if let decoded, status == 200, let response = decoded.response { return response }
        let message = decoded?.envelope.error ?? ""
        switch (status, decoded?.envelope.errorType) {
        case (_, "timeout"):
            throw .timeout(server: server, query: query, seconds: timeout)
        // A 400 is Prometheus's verdict on the query only when it comes as Prometheus's own error:
        // a proxy or an auth gateway in front (vmauth answers 400 to an unknown token) says 400 too.
        case (400, _) where decoded != nil, (_, "bad_data"):
            throw .badQuery(server: server, query: query, message: message.isEmpty ? excerpt : message)
        case (422, _), (_, "execution"):
            throw .execution(server: server, query: query, message: message.isEmpty ? excerpt : message)
        case (500..., _):
            throw .unavailable(server: server, query: query, status: status, message: message.isEmpty ? excerpt : message)
        case (200, _):
            if let decoded, decoded.envelope.status != "success" {
                throw .execution(server: server, query: query, message: message.isEmpty ? "status \(decoded.envelope.status)" : message)
            }
            throw .malformedResponse(server: server, query: query, detail: decodeProblem.isEmpty ? "no data" : decodeProblem)
        default:
            throw .http(server: server, query: query, status: status, message: message.isEmpty ? excerpt : message)
        }
    }

    /// The first line of a non-JSON body, short, for an error message.
    static func excerpt(_ body: Data) -> String {
        let text = String(decoding: body.prefix(200), as: UTF8.self)
        let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        return line.trimmingCharacters(in: .whitespaces)
    }

    static func isTimeout(_ error: HTTPClientError) -> Bool {
        [.deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout].contains(error)
    }

    /// An HTTP client error in words, for an operator.
    public static func describe(_ error: any Error) -> String {
        if let error = error as? DecodingError {
            switch error {
            case .dataCorrupted(let context): return "invalid JSON: \(context.debugDescription)"
            case .keyNotFound(let key, _): return "invalid JSON: missing field '\(key.stringValue)'"
            case .typeMismatch(_, let context), .valueNotFound(_, let context):
                return "invalid JSON at \(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
            @unknown default: return "invalid JSON"
            }
        }
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        if let error = error as? HTTPClientError {
            switch error {
            case .remoteConnectionClosed: return "the server closed the connection without answering"
            case .connectTimeout: return "the connection timed out"
            case .invalidURL: return "the URL is invalid"
            case .proxyAuthenticationRequired: return "the proxy asked for credentials (407); give them in the proxy URL, http://user:password@proxy:3128"
            case .invalidProxyResponse: return "the proxy would not connect to the server (its answer to CONNECT was not 200); check NO_PROXY and the proxy's allowed ports"
            default: return String(describing: error)
            }
        }
        if let error = error as? NIOSSLError { return "TLS: \(error)" }
        return String(describing: error)
    }

    /// " (through the proxy …)" when requests go through one, for connection errors.
    var viaProxy: String { configuration.proxy.map { " (through the proxy \($0))" } ?? "" }

    /// The credentials this client sends, to take out of anything a server echoes back.
    func secrets() -> [String] {
        var found: [String] = []
        if let header = try? authorizationHeader() {
            found.append(header)
            if let space = header.firstIndex(of: " ") { found.append(String(header[header.index(after: space)...])) }
        }
        if let file = configuration.basicAuthPasswordFile, let text = try? String(contentsOfFile: file, encoding: .utf8) {
            found.append(text.trimmingCharacters(in: .newlines))
        }
        if let components = URLComponents(string: configuration.url), let password = components.password { found.append(password) }
        return found
    }

    private func authorizationHeader() throws(PrometheusError) -> String? {
        do {
            return try HTTPCredentials.authorization(bearerTokenFile: configuration.bearerTokenFile, basicAuthUser: configuration.basicAuthUser,
                                                     basicAuthPasswordFile: configuration.basicAuthPasswordFile) ?? authorization
        } catch {
            throw .credentials(detail: error.description)
        }
    }
}

/// `application/x-www-form-urlencoded` bodies.
enum FormEncoding {
    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }
}
