import Foundation
import NIOConcurrencyHelpers
import TrimtabLoopbackServer

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
        /// A body that is not text, such as a protobuf exposition.
        case respondBytes(status: Int, bytes: [UInt8], contentType: String)
        /// Never answer; the connection stays open until the client gives up.
        case hang
        /// Close the connection without answering.
        case close
        /// Announce `status` and a body of twice `body`'s length, send `body`, then close: an answer
        /// cut off mid-way, as a crashing server or a proxy's timeout leaves it.
        case cutOff(status: Int, body: String)
    }

    private let server: LoopbackHTTPServer
    private let recorded: NIOLockedValueBox<[Request]>

    public var port: Int { server.port }
    public var url: String { server.url }
    public var requests: [Request] { recorded.withLockedValue { $0 } }

    /// - Parameter tls: a PEM certificate chain and key file to serve https with.
    /// - Parameter clientCAFile: with `tls`, the CA whose client certificates are required.
    public init(tls: (certificateFile: String, keyFile: String)? = nil, clientCAFile: String? = nil,
                _ script: @escaping @Sendable (Request) -> Reply) async throws {
        let recorded = NIOLockedValueBox<[Request]>([])
        self.recorded = recorded
        server = try await LoopbackHTTPServer.start(tls: tls, clientCAFile: clientCAFile) { http in
            var headers: [String: String] = [:]
            for (name, value) in http.headers { headers[name.lowercased()] = value }
            let request = Request(method: http.method, uri: http.uri, headers: headers, body: String(decoding: http.body, as: UTF8.self))
            recorded.withLockedValue { $0.append(request) }
            switch script(request) {
            case .respond(let status, let body, let contentType, let delay):
                let response = LoopbackHTTPServer.Response(status: status, body: body, headers: [("Content-Type", contentType)])
                return delay == .zero ? .respond(response) : .later(delay) { .respond(response) }
            case .respondBytes(let status, let bytes, let contentType):
                return .respond(LoopbackHTTPServer.Response(status: status, bytes: bytes, headers: [("Content-Type", contentType)]))
            case .hang: return .hang
            case .close: return .close
            case .cutOff(let status, let body): return .cutOff(status: status, body: body)
            }
        }
    }

    public func stop() async {
        await server.stop()
    }
}
