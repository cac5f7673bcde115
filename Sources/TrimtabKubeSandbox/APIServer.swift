import Foundation
import TrimtabCycle

/// Answers API requests: authentication, authorization, then the verb on the store. Faults and
/// the request log are the HTTP layer's business, not this one's.
struct APIServer: Sendable {
    let grants: [String: Grant]
    let store: ObjectStore

    func handle(_ request: APIRequest) -> APIResponse {
        do {
            return try answer(request)
        } catch let error as StatusError {
            return .failure(error)
        } catch {
            return .failure(StatusError(code: 500, reason: "InternalError", message: "Internal error occurred: \(error)"))
        }
    }

    private func answer(_ request: APIRequest) throws -> APIResponse {
        guard let token = request.bearerToken, let grant = grants[token] else { throw StatusError.unauthorized }
        let segments = request.path.split(separator: "/").map(String.init)
        if let document = Discovery.document(segments, serverAddress: request.serverAddress) {
            guard request.method == "GET" else { throw StatusError.methodNotAllowed }
            return .json(document)
        }
        guard let target = ResourceTarget(segments: segments) else { throw StatusError.pathNotFound(request.path) }
        let query = request.query
        let watch = ["true", "1"].contains(query["watch"]?.first ?? "")
        guard let verb = target.verb(method: request.method, watch: watch) else { throw StatusError.methodNotAllowed }
        // Authorization comes first, as on a real server: a denied client learns nothing else.
        let namespace = target.namespace
        let scope = target.type.namespaced || target.type == ResourceCatalog.namespaces ? namespace : nil
        guard grant.allows(verb: verb, apiGroup: target.type.group, resource: target.rbacResource, namespace: scope, name: target.name) else {
            throw StatusError.forbidden(user: grant.user, verb: verb, type: target.type, subresource: target.subresource,
                                        name: target.name, namespace: scope)
        }
        // Watches are not served: a client that needs one learns so at once rather than hanging.
        if verb == "watch" { throw StatusError.methodNotAllowed }
        let dryRun = try dryRunRequested(query["dryRun"] ?? [])
        let operations = ResourceOperations(store: store, target: target, dryRun: dryRun)
        switch verb {
        case "get":
            let object = try operations.get()
            if target.subresource == nil, TableRendering.wantsTable(request.accept) {
                return .json(TableRendering.table(target.type, objects: [object], resourceVersion: store.resourceVersion,
                                                  includeObject: query["includeObject"]?.first, now: Date(timeIntervalSince1970: store.clock.now())))
            }
            return .json(object)
        case "list":
            let (items, resourceVersion) = try operations.list(labelSelector: query["labelSelector"]?.first,
                                                               fieldSelector: query["fieldSelector"]?.first)
            if TableRendering.wantsTable(request.accept) {
                return .json(TableRendering.table(target.type, objects: items, resourceVersion: resourceVersion,
                                                  includeObject: query["includeObject"]?.first, now: Date(timeIntervalSince1970: store.clock.now())))
            }
            return .json(["kind": .string(target.type.kind + "List"), "apiVersion": .string(target.type.apiVersion),
                          "metadata": ["resourceVersion": .string(resourceVersion)], "items": .array(items)])
        case "create":
            return .json(try operations.create(try body(request)), status: 201)
        case "update":
            let (object, created) = try operations.update(try body(request))
            return .json(object, status: created ? 201 : 200)
        case "patch":
            guard let patchType = PatchType(contentType: request.contentType) else { throw StatusError.unsupportedPatchType }
            // Custom resources have no patch strategy to merge lists by (and the scale subresource of one is no exception).
            if target.type.custom, patchType == .strategicMerge { throw StatusError.unsupportedCustomPatchType }
            return .json(try operations.patch(try body(request), as: patchType))
        case "delete":
            let options = request.body.isEmpty ? JSONValue.object([:]) : try body(request)
            let deleted = try operations.delete(precondition: options[path: ["preconditions", "resourceVersion"]]?.stringValue)
            var details = StatusError.details(target.type, name: target.name)
            details["uid"] = deleted[path: ["metadata", "uid"]]
            return .json(["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success", "details": details])
        case "deletecollection":
            let items = try operations.deleteCollection(labelSelector: query["labelSelector"]?.first,
                                                        fieldSelector: query["fieldSelector"]?.first)
            return .json(["kind": .string(target.type.kind + "List"), "apiVersion": .string(target.type.apiVersion),
                          "metadata": ["resourceVersion": .string(store.resourceVersion)], "items": .array(items)])
        default:
            throw StatusError.methodNotAllowed
        }
    }

    /// `dryRun=All` is the only dry run Kubernetes knows; any other value is refused.
    private func dryRunRequested(_ values: [String]) throws -> Bool {
        if values.isEmpty { return false }
        guard values.allSatisfy({ $0 == "All" }) else {
            throw StatusError.badRequest("dryRun: Unsupported value: \(values.map { "\"\($0)\"" }.joined(separator: ", ")): supported values: \"All\"")
        }
        return true
    }

    private func body(_ request: APIRequest) throws -> JSONValue {
        do {
            return try JSONValue.parse(request.body)
        } catch let error as JSONValue.SyntaxError {
            throw StatusError.badRequest("error decoding request body: \(error)")
        }
    }
}
