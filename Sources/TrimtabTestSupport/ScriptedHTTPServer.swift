import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// An HTTP server on 127.0.0.1 that answers from a script, for testing clients against every
/// answer a real server can give: error statuses, broken bodies, slow or absent answers.
public final class ScriptedHTTPServer: Sendable {
    /// A request as the server received it.
    public struct Request: Sendable {
        public var method: String
        public var uri: String
        public var headers: [String: String]
        public var body: String

        /// The form fields of an `application/x-www-form-urlencoded` body.
        public var form: [String: String] {
            var fields: [String: String] = [:]
            for pair in body.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0) }
                if parts.count == 2 { fields[parts[0]] = parts[1] }
            }
            return fields
        }
    }

    /// What to answer.
    public enum Reply: Sendable {
        case respond(status: Int, body: String, contentType: String = "application/json", delay: Duration = .zero)
        /// Never answer; the connection stays open until the client gives up.
        case hang
        /// Close the connection without answering.
        case close
        /// Announce `status` and a body of twice `body`'s length, send `body`, then close: an answer
        /// cut off mid-way, as a crashing server or a proxy's timeout leaves it.
        case cutOff(status: Int, body: String)
    }

    public let port: Int
    private let channel: any Channel
    private let recorded: NIOLockedValueBox<[Request]>

    private let scheme: String

    public var url: String { "\(scheme)://127.0.0.1:\(port)" }
    public var requests: [Request] { recorded.withLockedValue { $0 } }

    /// - Parameter tls: a PEM certificate chain and key file to serve https with.
    public init(tls: (certificateFile: String, keyFile: String)? = nil,
                _ script: @escaping @Sendable (Request) -> Reply) async throws {
        let recorded = NIOLockedValueBox<[Request]>([])
        self.recorded = recorded
        var sslContext: NIOSSLContext?
        if let tls {
            let configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(tls.certificateFile).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: tls.keyFile, format: .pem)))
            sslContext = try NIOSSLContext(configuration: configuration)
        }
        scheme = tls == nil ? "http" : "https"
        let context = sslContext
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(script: script, recorded: recorded))
                }
            }
        channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
    }

    public func stop() async {
        try? await channel.close()
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let script: @Sendable (Request) -> Reply
        let recorded: NIOLockedValueBox<[Request]>
        var head: HTTPRequestHead?
        var body = ""

        init(script: @escaping @Sendable (Request) -> Reply, recorded: NIOLockedValueBox<[Request]>) {
            self.script = script
            self.recorded = recorded
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = ""
            case .body(var buffer):
                body += buffer.readString(length: buffer.readableBytes) ?? ""
            case .end:
                guard let head else { return }
                var headers: [String: String] = [:]
                for (name, value) in head.headers { headers[name.lowercased()] = value }
                let request = Request(method: head.method.rawValue, uri: head.uri, headers: headers, body: body)
                recorded.withLockedValue { $0.append(request) }
                switch script(request) {
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
                case .respond(let status, let text, let contentType, let delay):
                    if delay == .zero {
                        write(context: context, status: status, body: text, contentType: contentType)
                    } else {
                        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                        let nanos = delay.components.seconds * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000
                        context.eventLoop.scheduleTask(in: .nanoseconds(nanos)) {
                            let (handler, context) = loopBound.value
                            handler.write(context: context, status: status, body: text, contentType: contentType)
                        }
                    }
                }
            }
        }

        func write(context: ChannelHandlerContext, status: Int, body: String, contentType: String) {
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: contentType)
            headers.add(name: "Content-Length", value: "\(body.utf8.count)")
            let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
