/// A misbehaviour injected into the sandbox for tests: the next `count` requests that match are
/// delayed, answered with an error status, or dropped; then the fault is gone.
///
/// Faults act before authentication, as a proxy or an overloaded server in front of the API would.
public struct Fault: Sendable {
    /// What a matching request suffers.
    public enum Effect: Sendable, Equatable {
        /// Wait, then answer normally.
        case latency(Duration)
        /// Answer this HTTP status with a `Status` body of the matching reason (429 TooManyRequests,
        /// 500 InternalError, 503 ServiceUnavailable, 504 Timeout...). `retryAfterSeconds` adds a
        /// `Retry-After` header, as the API server's priority-and-fairness does on 429.
        case status(Int, retryAfterSeconds: Int? = nil)
        /// Close the connection without answering.
        case drop
        /// Carry the request out (a write lands), then answer this status anyway: a gateway that
        /// timed out, or a server that failed after committing.
        case statusAfterApplying(Int)
        /// Carry the request out, then close the connection without answering.
        case dropAfterApplying
    }

    /// The HTTP method to match, such as `"PATCH"`; nil matches any.
    public var method: String?
    /// A substring of the request target (path and query) to match; nil matches any.
    public var pathContaining: String?
    public var effect: Effect
    /// How many matching requests the fault affects before it is gone.
    public var count: Int

    public init(method: String? = nil, pathContaining: String? = nil, _ effect: Effect, count: Int = 1) {
        self.method = method
        self.pathContaining = pathContaining
        self.effect = effect
        self.count = count
    }

    /// 429 TooManyRequests with `Retry-After`, as API Priority and Fairness answers when it sheds load.
    public static func tooManyRequests(retryAfterSeconds: Int = 1, method: String? = nil, pathContaining: String? = nil, count: Int = 1) -> Fault {
        Fault(method: method, pathContaining: pathContaining, .status(429, retryAfterSeconds: retryAfterSeconds), count: count)
    }

    func matches(method: String, uri: String) -> Bool {
        (self.method.map { $0.uppercased() == method } ?? true) && (pathContaining.map { uri.contains($0) } ?? true)
    }

    /// The error this fault answers with, worded as the API server words it.
    static func statusError(code: Int, retryAfterSeconds: Int?) -> StatusError {
        var error: StatusError
        switch code {
        case 429:
            error = StatusError(code: 429, reason: "TooManyRequests", message: "Too many requests, please try again later.")
        case 500:
            error = StatusError(code: 500, reason: "InternalError", message: "Internal error occurred: injected fault")
        case 503:
            error = StatusError(code: 503, reason: "ServiceUnavailable", message: "the server is currently unable to handle the request")
        case 504:
            error = StatusError(code: 504, reason: "Timeout", message: "the server was unable to return a response in the time allotted, but may still be processing the request")
        case 401:
            error = StatusError.unauthorized
        case 403:
            error = StatusError(code: 403, reason: "Forbidden", message: "forbidden: injected fault")
        case 409:
            error = StatusError(code: 409, reason: "Conflict", message: "Operation cannot be fulfilled: injected fault")
        default:
            error = StatusError(code: code, reason: code >= 500 ? "InternalError" : "BadRequest", message: "injected fault")
        }
        if let retryAfterSeconds {
            error.retryAfterSeconds = retryAfterSeconds
            var details = error.details ?? [:]
            details["retryAfterSeconds"] = .number(Double(retryAfterSeconds))
            error.details = details
        }
        return error
    }
}

/// A request as the sandbox received it, for tests to assert on. The bearer token itself is never kept.
public struct RecordedRequest: Sendable, Equatable {
    public var method: String
    /// The path, without the query, and without the `/token/TOKEN` prefix kubeconfigs for kubectl carry.
    public var path: String
    /// The raw query string, without `?`; empty when none.
    public var query: String
    public var contentType: String?
    /// Whether an Authorization header was sent.
    public var hadAuthorization: Bool
    /// Whether the request carried a token as a `/token/TOKEN` path prefix (see ``KubeSandbox/kubeconfig(token:namespace:tokenInServerPath:)``).
    public var hadPathToken: Bool
    /// The body as text.
    public var body: String
    /// The HTTP status answered; nil when the connection was dropped by a fault.
    public var status: Int?
    /// What the API itself answered when a fault then answered otherwise (`statusAfterApplying`,
    /// `dropAfterApplying`): 200 means the write landed although the client saw an error.
    public var appliedStatus: Int? = nil
}

/// A one-shot action run after the first request that matches, to simulate a concurrent writer.
struct RequestHook: Sendable {
    var method: String?
    var pathContaining: String?
    var action: @Sendable (ObjectStore) -> Void

    func matches(method: String, uri: String) -> Bool {
        (self.method.map { $0.uppercased() == method } ?? true) && (pathContaining.map { uri.contains($0) } ?? true)
    }
}
