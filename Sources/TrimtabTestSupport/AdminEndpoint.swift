import Foundation

/// An application's admin endpoint holding one value, with an ETag that changes on every write.
public final class AdminEndpoint: @unchecked Sendable {
    private let lock = NSLock()
    private var value: String
    private var version = 1
    public init(_ value: String) { self.value = value }

    public var current: String { lock.lock(); defer { lock.unlock() }; return value }

    /// Another writer changes the value (and so the ETag).
    public func set(_ new: String) { lock.lock(); value = new; version += 1; lock.unlock() }

    /// `GET` answers `{"value": V}`; `PUT` takes `{"value": N}`, and refuses a stale `If-Match` with 412.
    public func answer(_ request: ScriptedHTTPServer.Request) -> ScriptedHTTPServer.Reply {
        lock.lock()
        defer { lock.unlock() }
        switch request.method {
        case "GET":
            return .respond(status: 200, body: #"{"value": \#(value)}"#)
        case "PUT":
            if let match = request.headers["if-match"], match != "\"v\(version)\"" {
                return .respond(status: 412, body: #"{"error":"precondition failed"}"#)
            }
            guard let object = try? JSONSerialization.jsonObject(with: Data(request.body.utf8)) as? [String: Any],
                  let number = object["value"] as? NSNumber else { return .respond(status: 400, body: "bad body") }
            let double = number.doubleValue
            value = double == double.rounded() ? String(Int64(double)) : String(double)
            version += 1
            return .respond(status: 204, body: "")
        default:
            return .respond(status: 405, body: "")
        }
    }
}
