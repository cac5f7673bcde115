/// An error of the cluster a cycle acts on (the Kubernetes API, or the simulated cluster), worded for
/// an operator. Its kinds decide what the executor does: a conflict is re-read, a cluster failure stops
/// the cycle, an uncertain write leaves its journal entry open for recovery.

/// A request to the API server, as errors name it: the RBAC verb, the resource, and where.
public struct KubeRequest: Sendable, Equatable, CustomStringConvertible {
    /// The RBAC verb: get, list, create, update, patch, delete.
    public var verb: String
    /// The API group ("" for the core group).
    public var group: String
    /// The resource, with its subresource: `deployments/scale`.
    public var resource: String
    public var namespace: String?
    public var name: String?
    /// The API server, without credentials.
    public var server: String

    public init(verb: String, group: String, resource: String, namespace: String? = nil, name: String? = nil, server: String) {
        self.verb = verb
        self.group = group
        self.resource = resource
        self.namespace = namespace
        self.name = name
        self.server = server
    }

    public var description: String {
        var text = "\(verb) \(resource)" + (group.isEmpty ? "" : ".\(group)")
        if let name { text += " \"\(name)\"" }
        if let namespace { text += " in namespace \(namespace)" }
        return text + " at \(server)"
    }
}

/// An error from the Kubernetes API or on the way to it, worded for an operator, never holding a secret.
public struct KubeError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        case configuration, unauthorized, forbidden, notFound, alreadyExists, conflict, invalid, badRequest
        case tooManyRequests, unavailable, timeout, connection, badResponse, unsupported, other
    }

    public var kind: Kind
    /// The HTTP status, when the server answered.
    public var status: Int?
    public var request: KubeRequest?
    /// The server's own message (from its `Status` body), or ours.
    public var message: String
    /// Field errors of a 422 answer: "spec.replicas: Invalid value: -1: must be greater than or equal to 0".
    public var causes: [String]
    /// Seconds the server asked to wait (429, some 5xx).
    public var retryAfter: Double?

    public init(kind: Kind, status: Int? = nil, request: KubeRequest? = nil, message: String, causes: [String] = [], retryAfter: Double? = nil) {
        self.kind = kind
        self.status = status
        self.request = request
        self.message = message
        self.causes = causes
        self.retryAfter = retryAfter
    }

    public static func configuration(_ message: String) -> KubeError { KubeError(kind: .configuration, message: message) }

    /// Whether a write that failed this way may still have landed: the server failed after or while
    /// committing (5xx), or the answer was lost (timeout, dropped connection, an unreadable answer).
    public var leavesWriteUncertain: Bool { [.unavailable, .timeout, .connection, .badResponse].contains(kind) }

    /// Whether the cluster API itself is failing (not the request): the cycle stops changing things.
    public var isClusterFailure: Bool { [.unavailable, .timeout, .connection, .tooManyRequests, .unauthorized, .badResponse].contains(kind) }

    public var description: String {
        // Refused by Trimtab's own checks (no status: the API server never judged it), not worded as the server's.
        if status == nil, [.invalid, .notFound, .badRequest, .other, .alreadyExists, .forbidden, .conflict].contains(kind) {
            return "\(message) (Trimtab's own check, not the API server's)"
        }
        let what = request.map { " for \($0)" } ?? ""
        let answered = status.map { "answered \($0)" } ?? ""
        switch kind {
        case .configuration:
            return message
        case .unauthorized:
            return "the API server \(answered) (Unauthorized)\(what): \(message). The token or client certificate was refused: check that it is current (service account tokens expire) and belongs to this cluster."
        case .forbidden:
            var hint = ""
            if let request {
                hint = " The RBAC role is missing verb '\(request.verb)' on resource '\(request.resource)' in API group '\(request.group)'"
                    + (request.namespace.map { " (namespace \($0))" } ?? "")
                    + ": add {apiGroups: [\"\(request.group)\"], resources: [\"\(request.resource)\"], verbs: [\"\(request.verb)\"]} to the role bound to Trimtab's service account (deploy/kubernetes/base/rbac.yaml; docs/deploying.md, \"Deploy to a cluster\", names the rule each feature needs)."
            }
            return "the API server \(answered) (Forbidden): \(message).\(hint)"
        case .notFound:
            return "the API server \(answered) (NotFound)\(what): \(message). Check the target's namespace and name, and the policy's targets.kind."
        case .alreadyExists:
            return "the API server \(answered) (AlreadyExists)\(what): \(message)"
        case .conflict:
            return "the API server \(answered) (Conflict)\(what): \(message). Another writer changed the object; Trimtab re-reads and decides again rather than overwrite it."
        case .invalid:
            return "the API server \(answered) (Invalid)\(what): \(message)" + (causes.isEmpty ? "" : " [" + causes.joined(separator: "; ") + "]")
        case .badRequest:
            return "the API server \(answered) (BadRequest)\(what): \(message)"
        case .tooManyRequests:
            return "the API server \(answered) (TooManyRequests)\(what): \(message)" + (retryAfter.map { "; it asked to retry after \(Int($0)) s" } ?? "") + ". It is overloaded or rate-limits this client; no change was made."
        case .unavailable:
            return "the API server \(answered)\(what): \(message). The cluster API is failing; no action is taken while it does."
        case .timeout:
            return "no answer within the timeout\(what): \(message). The cluster API may be overloaded; no further action this cycle."
        case .connection:
            return "could not reach the API server\(what): \(message). Check the server URL and the network."
        case .badResponse:
            return "the API server's answer could not be read\(what): \(message)"
        case .unsupported:
            return message
        case .other:
            return "the API server \(answered)\(what): \(message)"
        }
    }
}
