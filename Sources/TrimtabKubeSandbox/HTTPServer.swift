import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

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

/// One connection's HTTP/1.1 handler: reads a whole request, applies faults, answers.
final class SandboxHTTPHandler: ChannelInboundHandler, @unchecked Sendable {
    // @unchecked: NIO calls a handler on its channel's event loop only; state is never shared.
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let core: SandboxCore
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    init(core: SandboxCore) {
        self.core = core
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
        case .body(let buffer):
            body.append(contentsOf: buffer.readableBytesView)
        case .end:
            guard let head else { return }
            self.head = nil
            let address = context.channel.localAddress.flatMap { address in address.port.map { "127.0.0.1:\($0)" } } ?? "127.0.0.1"
            let (uri, pathToken) = CredentialPath.split(head.uri)
            let request = APIRequest(method: head.method.rawValue, uri: uri,
                                     contentType: head.headers.first(name: "Content-Type"),
                                     accept: head.headers.first(name: "Accept"),
                                     authorization: head.headers.first(name: "Authorization"),
                                     body: body, serverAddress: address, pathToken: pathToken)
            let keepAlive = head.isKeepAlive
            switch core.takeFault(method: request.method, uri: request.uri) {
            case .drop:
                core.record(request, status: nil)
                context.close(promise: nil)
            case .status(let code, let retryAfterSeconds):
                let response = APIResponse.failure(Fault.statusError(code: code, retryAfterSeconds: retryAfterSeconds))
                core.record(request, status: response.status)
                write(response, keepAlive: keepAlive, context: context)
            case .statusAfterApplying(let code):
                let served = core.serve(request)
                let response = APIResponse.failure(Fault.statusError(code: code, retryAfterSeconds: nil))
                core.amendLast(status: response.status, servedStatus: served.status)
                write(response, keepAlive: keepAlive, context: context)
            case .dropAfterApplying:
                let served = core.serve(request)
                core.amendLast(status: nil, servedStatus: served.status)
                context.close(promise: nil)
            case .latency(let delay):
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                let (seconds, attoseconds) = delay.components
                let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
                context.eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) {
                    let (handler, context) = loopBound.value
                    handler.write(handler.core.serve(request), keepAlive: keepAlive, context: context)
                }
            case nil:
                write(core.serve(request), keepAlive: keepAlive, context: context)
            }
        }
    }

    private func write(_ response: APIResponse, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(response.body.utf8.count))
        headers.add(name: "Cache-Control", value: "no-cache, private")
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: response.body)))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
