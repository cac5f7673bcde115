import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// An HTTP/1.1 server on 127.0.0.1 that answers each whole request through one function, and can
/// answer as a failing server does: late, never, cut off, or by closing the connection. The sandbox
/// API server and the tests' scripted servers are this server with different functions.
public final class LoopbackHTTPServer: Sendable {
    /// A request as the server received it, body and all.
    public struct Request: Sendable {
        public var method: String
        /// The request target as sent: path and query.
        public var uri: String
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]
        /// `127.0.0.1:port`, the address the client reached.
        public var serverAddress: String
        public var isKeepAlive: Bool

        /// The first value of a header, its name matched without regard to case.
        public func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    /// An answer.
    public struct Response: Sendable {
        public var status: Int
        public var body: String
        public var headers: [(name: String, value: String)]
        /// A body that is not text (a protobuf exposition), sent instead of `body` when set.
        public var bytes: [UInt8]?

        /// `headers` go after `Content-Type` (JSON unless one is given here) and `Content-Length`.
        public init(status: Int, body: String, headers: [(name: String, value: String)] = []) {
            self.status = status
            self.body = body
            self.headers = headers
        }

        public init(status: Int, bytes: [UInt8], headers: [(name: String, value: String)] = []) {
            self.init(status: status, body: "", headers: headers)
            self.bytes = bytes
        }
    }

    /// What to do with a request.
    public enum Reply: Sendable {
        case respond(Response)
        /// After the delay, decide then: a slow server, and one whose work lands after its client gave up.
        case later(Duration, @Sendable () -> Reply)
        /// Decide when `work` is done (a proxy's forward to its upstream), off the event loop.
        case deferred(@Sendable () async -> Reply)
        /// Never answer; the connection stays open until the client gives up or the server stops.
        case hang
        /// Close the connection without answering.
        case close
        /// Announce `status` and a body of twice `body`'s length, send `body`, then close: an answer
        /// cut off mid-way, as a crashing server or a proxy's timeout leaves it.
        case cutOff(status: Int, body: String)
    }

    public let port: Int
    public let scheme: String
    private let channel: any Channel
    private let connections: NIOLockedValueBox<[ObjectIdentifier: any Channel]>

    public var url: String { "\(scheme)://127.0.0.1:\(port)" }

    /// Listens on 127.0.0.1 (`port` 0 picks a free one), over TLS when given a PEM certificate chain and key;
    /// with `clientCAFile`, a client must present a certificate that CA signed (mutual TLS, as an API server
    /// takes client certificates).
    public static func start(port: Int = 0, tls: (certificateFile: String, keyFile: String)? = nil, clientCAFile: String? = nil,
                             _ answer: @escaping @Sendable (Request) -> Reply) async throws -> LoopbackHTTPServer {
        var sslContext: NIOSSLContext?
        if let tls {
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(tls.certificateFile).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: tls.keyFile, format: .pem)))
            if let clientCAFile {
                configuration.certificateVerification = .noHostnameVerification
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(clientCAFile))
            }
            sslContext = try NIOSSLContext(configuration: configuration)
        }
        let context = sslContext
        let connections = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let id = ObjectIdentifier(channel)
                connections.withLockedValue { $0[id] = channel }
                channel.closeFuture.whenComplete { _ in _ = connections.withLockedValue { $0.removeValue(forKey: id) } }
                return channel.eventLoop.makeCompletedFuture {
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(answer: answer))
                }
            }
        let channel = try await bootstrap.bind(host: "127.0.0.1", port: port).get()
        return LoopbackHTTPServer(port: channel.localAddress?.port ?? port, scheme: context == nil ? "http" : "https",
                                  channel: channel, connections: connections)
    }

    private init(port: Int, scheme: String, channel: any Channel, connections: NIOLockedValueBox<[ObjectIdentifier: any Channel]>) {
        self.port = port
        self.scheme = scheme
        self.channel = channel
        self.connections = connections
    }

    /// Stops listening and closes the connections still open, hanging ones included.
    public func stop() async {
        try? await channel.close()
        let open = connections.withLockedValue { Array($0.values) }
        for connection in open { try? await connection.close() }
    }

    /// One connection's handler: reads a whole request, asks for the reply, carries it out.
    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        // @unchecked: NIO calls a handler on its channel's event loop only; state is never shared.
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        private let answer: @Sendable (Request) -> Reply
        private var head: HTTPRequestHead?
        private var body: [UInt8] = []

        init(answer: @escaping @Sendable (Request) -> Reply) {
            self.answer = answer
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
                let request = Request(method: head.method.rawValue, uri: head.uri,
                                      headers: head.headers.map { (name: $0.name, value: $0.value) },
                                      body: body, serverAddress: address, isKeepAlive: head.isKeepAlive)
                carryOut(answer(request), keepAlive: request.isKeepAlive, context: context)
            }
        }

        private func carryOut(_ reply: Reply, keepAlive: Bool, context: ChannelHandlerContext) {
            switch reply {
            case .respond(let response):
                write(response, keepAlive: keepAlive, context: context)
            case .later(let delay, let decide):
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                let (seconds, attoseconds) = delay.components
                context.eventLoop.scheduleTask(in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)) {
                    // Decided even when the client has gone: the work lands late, as it does on a real server.
                    let (handler, context) = loopBound.value
                    handler.carryOut(decide(), keepAlive: keepAlive, context: context)
                }
            case .deferred(let work):
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                let eventLoop = context.eventLoop
                Task {
                    let reply = await work()
                    eventLoop.execute {
                        let (handler, context) = loopBound.value
                        handler.carryOut(reply, keepAlive: keepAlive, context: context)
                    }
                }
            case .hang:
                return
            case .close:
                context.close(promise: nil)
            case .cutOff(let status, let text):
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "application/json")
                headers.add(name: "Content-Length", value: "\(text.utf8.count * 2)")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
                context.close(promise: nil)
            }
        }

        private func write(_ response: Response, keepAlive: Bool, context: ChannelHandlerContext) {
            var headers = HTTPHeaders()
            if !response.headers.contains(where: { $0.name.lowercased() == "content-type" }) {
                headers.add(name: "Content-Type", value: "application/json")
            }
            headers.add(name: "Content-Length", value: String(response.bytes?.count ?? response.body.utf8.count))
            for (name, value) in response.headers { headers.add(name: name, value: value) }
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            let buffer = response.bytes.map { ByteBuffer(bytes: $0) } ?? ByteBuffer(string: response.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
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
}
