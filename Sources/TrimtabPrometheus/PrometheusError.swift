/// Why Prometheus could not be read. Every case names the server and the query, says what to do,
/// and never holds a credential.
public enum PrometheusError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 400 `bad_data`: the query or its parameters are invalid.
    case badQuery(server: String, query: String, message: String)
    /// 422 `execution`: the query is valid but could not be evaluated.
    case execution(server: String, query: String, message: String)
    /// The query took longer than the timeout (ours or the server's).
    case timeout(server: String, query: String, seconds: Double)
    /// 503 or another 5xx: the server is overloaded, starting, or broken.
    case unavailable(server: String, query: String, status: Int, message: String)
    /// Another HTTP status, such as 401, 403 or 404.
    case http(server: String, query: String, status: Int, message: String)
    /// The answer was not the Prometheus HTTP API's JSON.
    case malformedResponse(server: String, query: String, detail: String)
    /// No answer: connection refused, DNS, TLS.
    case connection(server: String, query: String, detail: String)
    /// The answer carried warnings (a partial response, dropped series): its data may be incomplete.
    case partialResponse(server: String, query: String, warnings: [String])
    /// A credential file could not be read.
    case credentials(detail: String)

    public var query: String? {
        switch self {
        case .badQuery(_, let query, _), .execution(_, let query, _), .timeout(_, let query, _),
             .unavailable(_, let query, _, _), .http(_, let query, _, _), .malformedResponse(_, let query, _),
             .connection(_, let query, _), .partialResponse(_, let query, _):
            return query
        case .credentials:
            return nil
        }
    }

    /// The error with every message a server sent scrubbed of credentials (see `Redaction`).
    public func redacted(secrets: [String]) -> PrometheusError {
        let clean = { (text: String) in Redaction.scrub(text, secrets: secrets) }
        switch self {
        case .badQuery(let server, let query, let message): return .badQuery(server: server, query: query, message: clean(message))
        case .execution(let server, let query, let message): return .execution(server: server, query: query, message: clean(message))
        case .unavailable(let server, let query, let status, let message): return .unavailable(server: server, query: query, status: status, message: clean(message))
        case .http(let server, let query, let status, let message): return .http(server: server, query: query, status: status, message: clean(message))
        case .malformedResponse(let server, let query, let detail): return .malformedResponse(server: server, query: query, detail: clean(detail))
        case .partialResponse(let server, let query, let warnings): return .partialResponse(server: server, query: query, warnings: warnings.map(clean))
        case .timeout, .connection, .credentials: return self
        }
    }

    /// Whether the server could not be reached or gave no usable answer at all, as opposed to refusing
    /// this one query.
    public var isUnreachable: Bool {
        switch self {
        case .connection, .timeout, .unavailable, .credentials: return true
        case .http(_, _, let status, _): return status == 401 || status == 403 || status == 404
        case .badQuery, .execution, .malformedResponse, .partialResponse: return false
        }
    }

    /// Errors one line per cause: a server that is down fails every query the same way, so it is said
    /// once with the number of queries; an error of its own keeps its whole description.
    public static func grouped(_ errors: [PrometheusError]) -> [String] {
        var counts: [String: Int] = [:]
        var order: [(cause: String, first: PrometheusError)] = []
        for error in errors {
            if counts[error.cause] == nil { order.append((error.cause, error)) }
            counts[error.cause, default: 0] += 1
        }
        return order.map { cause, first in
            let count = counts[cause] ?? 1
            return count > 1 ? "\(cause) (\(count) queries)" : first.description
        }
    }

    /// The error with its query left out: the same for every query that failed for one reason
    /// (the server is down), so a run can say it once.
    public var cause: String {
        switch self {
        case .connection(let server, _, let detail): return "could not reach Prometheus at \(server) (\(detail)); check the --prometheus URL and that the server is up"
        case .timeout(let server, _, let seconds): return "Prometheus at \(server) did not answer within \(PolicyDuration.format(seconds))"
        case .unavailable(let server, _, let status, _): return "Prometheus at \(server) answered \(status) (\(HTTPStatusText.reason(status)))"
        case .http(let server, _, let status, _): return "Prometheus at \(server) answered \(status) (\(HTTPStatusText.reason(status)))"
        case .credentials(let detail): return detail
        case .badQuery, .execution, .malformedResponse, .partialResponse: return description
        }
    }

    public var description: String {
        switch self {
        case .badQuery(let server, let query, let message):
            return "Prometheus at \(server) rejected the query as invalid (400 bad_data: \(message)); fix the indicator's PromQL: \(query)"
        case .execution(let server, let query, let message):
            return "Prometheus at \(server) could not evaluate the query (422 execution: \(message)): \(query)"
        case .timeout(let server, let query, let seconds):
            return "Prometheus at \(server) did not answer within \(PolicyDuration.format(seconds)) for query \(query); raise --timeout or make the query cheaper"
        case .unavailable(let server, let query, let status, let message):
            return "Prometheus at \(server) answered \(status) (\(HTTPStatusText.reason(status)))\(message.isEmpty ? "" : ": \(message)") for query \(query); try again later"
        case .http(let server, let query, let status, let message):
            let advice = status == 401 || status == 403 ? "; check --bearer-token-file or --basic-auth-user"
                : status == 404 ? "; check the --prometheus URL (it should be the server's base URL, without /api/v1)"
                : status == 400 ? "; the answer is not Prometheus API JSON, so something in front of it refused the request (a proxy, or an auth gateway such as vmauth, which answers 400 to an unknown token): check --bearer-token-file or --basic-auth-user and the --prometheus URL"
                : ""
            return "Prometheus at \(server) answered \(status) (\(HTTPStatusText.reason(status)))\(message.isEmpty ? "" : ": \(message)") for query \(query)\(advice)"
        case .malformedResponse(let server, let query, let detail):
            return "Prometheus at \(server) sent an answer that is not Prometheus API JSON (\(detail)) for query \(query); is the URL a Prometheus-compatible server?"
        case .connection(let server, let query, let detail):
            return "could not reach Prometheus at \(server) (\(detail)) for query \(query); check the --prometheus URL and that the server is up"
        case .partialResponse(let server, let query, let warnings):
            return "Prometheus at \(server) answered with warnings, so the data may be partial (\(warnings.joined(separator: "; "))) for query \(query); no action is taken on incomplete data"
        case .credentials(let detail):
            return detail
        }
    }
}

import TrimtabCore


enum HTTPStatusText {
    static func reason(_ status: Int) -> String {
        switch status {
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 422: return "Unprocessable Entity"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        default: return "HTTP \(status)"
        }
    }
}
