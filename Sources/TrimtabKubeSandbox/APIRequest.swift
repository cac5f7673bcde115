import Foundation

/// An HTTP request as the API layer sees it, fully read.
struct APIRequest: Sendable {
    var method: String
    /// The request target: path and query.
    var uri: String
    var contentType: String?
    var accept: String?
    var authorization: String?
    var body: [UInt8]
    /// `127.0.0.1:PORT`, as the client reached the server; discovery reports it.
    var serverAddress: String
    /// The token given as a path prefix (see ``CredentialPath``), if any.
    var pathToken: String? = nil

    var path: String { String(uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "") }

    var rawQuery: String {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        return parts.count > 1 ? String(parts[1]) : ""
    }

    /// Query parameters, decoded (`+` as space, percent escapes); a repeated name keeps every value.
    var query: [String: [String]] {
        var parameters: [String: [String]] = [:]
        for pair in rawQuery.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                $0.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            parameters[parts[0], default: []].append(parts.count > 1 ? parts[1] : "")
        }
        return parameters
    }

    /// The bearer token of the Authorization header; without that header, the path's token.
    var bearerToken: String? {
        guard let authorization else { return pathToken }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return parts[1].trimmingCharacters(in: .whitespaces)
    }
}

/// An HTTP response from the API layer.
struct APIResponse: Sendable {
    var status: Int
    var body: String
    var headers: [(String, String)] = []

    static func json(_ value: JSONValue, status: Int = 200) -> APIResponse {
        APIResponse(status: status, body: value.jsonText + "\n")
    }

    static func failure(_ error: StatusError) -> APIResponse {
        var response = APIResponse.json(error.status, status: error.code)
        if let seconds = error.retryAfterSeconds { response.headers.append(("Retry-After", String(seconds))) }
        return response
    }
}

/// Where a request is aimed, parsed as the API server's RequestInfo parses a URL.
struct ResourceTarget: Sendable {
    var type: ResourceType
    /// The namespace in the URL; for the namespaces resource, the namespace named.
    var namespace: String?
    var name: String?
    var subresource: String?

    /// `deployments` or `deployments/scale`: the resource as RBAC rules name it.
    var rbacResource: String { subresource.map { "\(type.plural)/\($0)" } ?? type.plural }

    /// Parses `/api/v1/...` and `/apis/GROUP/VERSION/...`; nil when the path names no resource.
    init?(segments: [String]) {
        var rest: ArraySlice<String>
        let group: String
        let version: String
        if segments.first == "api", segments.count >= 3 {
            group = ""
            version = segments[1]
            rest = segments[2...]
        } else if segments.first == "apis", segments.count >= 4 {
            group = segments[1]
            version = segments[2]
            rest = segments[3...]
        } else {
            return nil
        }
        var namespace: String?
        if rest.first == "namespaces", rest.count >= 3 {
            namespace = rest[rest.startIndex + 1]
            rest = rest.dropFirst(2)
        }
        let parts = Array(rest)
        guard let type = ResourceCatalog.find(group: group, version: version, plural: parts[0]), parts.count <= 3 else { return nil }
        if type.namespaced == false, namespace != nil { return nil }
        self.type = type
        self.namespace = namespace
        name = parts.count > 1 ? parts[1] : nil
        subresource = parts.count > 2 ? parts[2] : nil
        if let subresource, !type.subresources.contains(subresource) { return nil }
        // A namespaced object is only reachable through its namespace.
        if type.namespaced, namespace == nil, name != nil { return nil }
        if type == ResourceCatalog.namespaces { self.namespace = name }
    }

    /// The verb RBAC checks for an HTTP method on this target.
    func verb(method: String, watch: Bool) -> String? {
        switch (method, name == nil) {
        case ("GET", true): return watch ? "watch" : "list"
        case ("GET", false): return watch ? "watch" : "get"
        case ("POST", true): return "create"
        case ("PUT", false): return "update"
        case ("PATCH", false): return "patch"
        case ("DELETE", false): return "delete"
        case ("DELETE", true): return "deletecollection"
        default: return nil
        }
    }
}

/// A token carried as a path prefix, `/token/TOKEN/api/v1/...`, for kubectl's sake: client-go never
/// sends a kubeconfig's credentials over plain HTTP ("only try to read the auth information if we
/// are secure", kubernetes/kubectl#744), but it keeps a server URL's path. The sandbox serves plain
/// HTTP only, so its kubeconfigs name the server as `http://127.0.0.1:PORT/token/TOKEN`.
enum CredentialPath {
    static let prefix = "/token/"

    /// The request target without the prefix, and the token it carried.
    static func split(_ uri: String) -> (uri: String, token: String?) {
        guard uri.hasPrefix(prefix) else { return (uri, nil) }
        let rest = uri.dropFirst(prefix.count)
        let end = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let token = String(rest[..<end])
        var remainder = String(rest[end...])
        if !remainder.hasPrefix("/") { remainder = "/" + remainder }
        return (remainder, token.removingPercentEncoding ?? token)
    }

    /// The path segment for a token, percent-encoded.
    static func segment(for token: String) -> String {
        prefix + (token.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? token)
    }
}
