import Foundation
import Hummingbird
import Logging
import NIOCore
import TrimtabCore

/// The daemon's HTTP endpoints, on one address (`--listen HOST:PORT`):
/// - `GET /healthz`: 200 while the process is alive;
/// - `GET /readyz`: 200 once a policy is loaded and the last cycle read Prometheus (and the API server),
///   503 with the reasons otherwise;
/// - `GET /metrics`: the daemon's metrics in Prometheus's text format;
/// - `GET /api/v1/status`: the status document as JSON; with a token file, only for
///   `Authorization: Bearer <token>`.
public enum StatusServer {
    /// The address to listen on, from `HOST:PORT`, `:PORT` (every interface) or `[v6]:PORT`.
    public static func parseListen(_ text: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":") else {
            throw ListenError(description: "--listen '\(text)' is not HOST:PORT (for example 0.0.0.0:8080 or 127.0.0.1:0)")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "0.0.0.0" }
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ListenError(description: "--listen '\(text)': the port must be a number from 0 to 65535 (0 picks a free one)")
        }
        return (host, port)
    }

    public struct ListenError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The application serving the endpoints; `onListening` gets the port it bound (useful with port 0).
    public static func application(board: StatusBoard, metrics: DaemonMetrics, host: String, port: Int, tokenFile: String?,
                                   logger: Logger, onListening: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
        let router = Router()
        router.get("/healthz") { _, _ in
            text(.ok, "ok\n")
        }
        router.get("/readyz") { _, _ in
            let (ready, problems) = await board.readiness()
            return ready ? text(.ok, "ready\n") : text(.serviceUnavailable, "not ready:\n" + problems.map { "- \($0)\n" }.joined())
        }
        router.get("/metrics") { _, _ in
            respond(.ok, metrics.exposition(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        router.get("/api/v1/status") { request, _ in
            if let tokenFile {
                guard let expected = try? String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
                      !expected.isEmpty else {
                    return text(.internalServerError, "the status token file cannot be read; no request is let through\n")
                }
                let given = request.headers[.authorization] ?? ""
                guard constantTimeEqual(given, "Bearer " + expected) else {
                    var response = text(.unauthorized, "the status API needs Authorization: Bearer <token>\n")
                    response.headers[.wwwAuthenticate] = "Bearer realm=\"trimtab\""
                    return response
                }
            }
            let document = await board.document()
            return respond(.ok, (try? ReportEncoding.json(document)) ?? "{}\n", contentType: "application/json")
        }
        return Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "trimtab"),
                           onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) },
                           logger: logger)
    }

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        respond(status, body, contentType: "text/plain; charset=utf-8")
    }

    static func respond(_ status: HTTPResponse.Status, _ body: String, contentType: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// Compares without stopping at the first difference, so timing does not tell how much matched.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let left = Array(a.utf8), right = Array(b.utf8)
        var difference = UInt8(left.count == right.count ? 0 : 1)
        for index in 0..<max(left.count, right.count) {
            difference |= (index < left.count ? left[index] : 0) ^ (index < right.count ? right[index] : 0)
        }
        return difference == 0
    }
}
