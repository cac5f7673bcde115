import NIOConcurrencyHelpers
import TrimtabLoopbackServer

/// The part of the sandbox every connection shares: the API, the faults and hooks waiting to
/// fire, and the request log.
final class SandboxCore: Sendable {
    struct Runtime: Sendable {
        var faults: [Fault] = []
        var hooks: [RequestHook] = []
        var log: [RecordedRequest] = []
    }

    let api: APIServer
    let runtime = NIOLockedValueBox(Runtime())

    init(api: APIServer) {
        self.api = api
    }

    /// The effect of the first fault matching the request, consuming one of its count.
    func takeFault(method: String, uri: String) -> Fault.Effect? {
        runtime.withLockedValue { runtime in
            guard let index = runtime.faults.firstIndex(where: { $0.matches(method: method, uri: uri) }) else { return nil }
            let effect = runtime.faults[index].effect
            runtime.faults[index].count -= 1
            if runtime.faults[index].count <= 0 { runtime.faults.remove(at: index) }
            return effect
        }
    }

    /// Answers through the API, then runs the hooks the request triggers before the answer is
    /// sent, so the client cannot act on the answer before the concurrent write has landed.
    func serve(_ request: APIRequest) -> APIResponse {
        let response = api.handle(request)
        let hooks = runtime.withLockedValue { runtime in
            let matching = runtime.hooks.filter { $0.matches(method: request.method, uri: request.uri) }
            runtime.hooks.removeAll { $0.matches(method: request.method, uri: request.uri) }
            return matching
        }
        for hook in hooks { hook.action(api.store) }
        record(request, status: response.status)
        return response
    }

    /// After a fault answered differently from what the API did: the log shows what the client got.
    func amendLast(status: Int?, servedStatus: Int?) {
        runtime.withLockedValue { runtime in
            guard !runtime.log.isEmpty else { return }
            runtime.log[runtime.log.count - 1].status = status
            runtime.log[runtime.log.count - 1].appliedStatus = servedStatus
        }
    }

    func record(_ request: APIRequest, status: Int?) {
        let entry = RecordedRequest(method: request.method, path: request.path, query: request.rawQuery,
                                    contentType: request.contentType, hadAuthorization: request.authorization != nil,
                                    hadPathToken: request.pathToken != nil,
                                    body: String(decoding: request.body, as: UTF8.self), status: status)
        runtime.withLockedValue { $0.log.append(entry) }
    }
}

extension SandboxCore {
    /// How the sandbox answers one whole request: the first matching fault, else the API.
    func reply(to http: LoopbackHTTPServer.Request) -> LoopbackHTTPServer.Reply {
        let (uri, pathToken) = CredentialPath.split(http.uri)
        let request = APIRequest(method: http.method, uri: uri, contentType: http.header("Content-Type"),
                                 accept: http.header("Accept"), authorization: http.header("Authorization"),
                                 body: http.body, serverAddress: http.serverAddress, pathToken: pathToken)
        switch takeFault(method: request.method, uri: request.uri) {
        case .drop:
            record(request, status: nil)
            return .close
        case .status(let code, let retryAfterSeconds):
            let response = APIResponse.failure(Fault.statusError(code: code, retryAfterSeconds: retryAfterSeconds))
            record(request, status: response.status)
            return .respond(Self.http(response))
        case .statusAfterApplying(let code):
            let served = serve(request)
            let response = APIResponse.failure(Fault.statusError(code: code, retryAfterSeconds: nil))
            amendLast(status: response.status, servedStatus: served.status)
            return .respond(Self.http(response))
        case .dropAfterApplying:
            let served = serve(request)
            amendLast(status: nil, servedStatus: served.status)
            return .close
        case .latency(let delay):
            return .later(delay) { .respond(Self.http(self.serve(request))) }
        case nil:
            return .respond(Self.http(serve(request)))
        }
    }

    private static func http(_ response: APIResponse) -> LoopbackHTTPServer.Response {
        LoopbackHTTPServer.Response(status: response.status, body: response.body,
                                    headers: [("Cache-Control", "no-cache, private")] + response.headers.map { (name: $0.0, value: $0.1) })
    }
}
