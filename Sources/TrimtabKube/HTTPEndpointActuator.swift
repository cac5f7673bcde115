import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import TrimtabCore
import TrimtabCycle

/// A client for applications' runtime admin endpoints (`GET`/`PUT` of `{"value": …}`).
public final class HTTPEndpointClient: Sendable {
    let http: HTTPClient
    let timeoutSeconds: Double

    public init(timeoutSeconds: Double = 10) {
        self.timeoutSeconds = timeoutSeconds
        http = HTTPClient(eventLoopGroupProvider: .singleton)
    }

    public func shutdown() async {
        try? await http.shutdown()
    }

    func execute(_ method: HTTPMethod, _ url: String, body: Data? = nil, ifMatch: String? = nil) async throws(KubeError) -> (Int, Data, String?) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "trimtab")
        if let ifMatch { request.headers.add(name: "If-Match", value: ifMatch) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: body))
        }
        let shown = KubeClient.display(url)
        do {
            let response = try await http.execute(request, timeout: .milliseconds(Int64(timeoutSeconds * 1000)))
            let data = Data(buffer: try await response.body.collect(upTo: 1024 * 1024))
            return (Int(response.status.code), data, response.headers.first(name: "ETag"))
        } catch let error as HTTPClientError where [.deadlineExceeded, .readTimeout, .connectTimeout].contains(error) {
            throw KubeError(kind: .timeout, message: "\(method.rawValue) \(shown): no answer within \(Int(timeoutSeconds)) s")
        } catch {
            throw KubeError(kind: .connection, message: "\(method.rawValue) \(shown): \(KubeClient.describeTransport(error))")
        }
    }
}

/// A knob behind an application's admin endpoint: `GET URL` answers `{"value": X}` (or a bare value),
/// `PUT URL` with `{"value": X}` sets it. An ETag, when the endpoint gives one, makes the write
/// conditional (`If-Match`; 412 is a conflict). There is no server-side dry-run.
struct HTTPEndpointActuator: Actuator {
    let client: HTTPEndpointClient
    let workload: WorkloadRef
    let url: String
    var knob: Knob { .http(url: url) }
    var supportsServerDryRun: Bool { false }

    func read() async throws(KubeError) -> KnobReading {
        let (status, data, etag) = try await client.execute(.GET, url)
        guard status == 200 else { throw Self.error(status, data, "GET", url) }
        guard let value = Self.value(in: data) else {
            throw KubeError(kind: .badResponse, message: "GET \(KubeClient.display(url)) answered \(String(decoding: data.prefix(120), as: UTF8.self)); expected {\"value\": …}")
        }
        return KnobReading(value: value, version: etag)
    }

    func write(_ value: String?, over reading: KnobReading, dryRun: Bool) async throws(KubeError) {
        if dryRun { return }
        guard let value else { throw KubeError(kind: .invalid, message: "an admin endpoint knob cannot be removed, only set") }
        let body = try KubeClient.json(["value": Double(value).map(Self.json) ?? value])
        let (status, data, _) = try await client.execute(.PUT, url, body: body, ifMatch: reading.version)
        guard (200..<300).contains(status) else { throw Self.error(status, data, "PUT", url) }
    }

    /// Writing the value it holds, conditional on its ETag, moves the ETag on: a write still in flight
    /// (it carries the old ETag) then fails. Without an ETag there is nothing to fence with.
    func fence(over reading: KnobReading, note: String) async throws(KubeError) {
        guard reading.version != nil, let value = reading.value else {
            throw KubeError(kind: .unsupported, message: "\(KubeClient.display(url)) gives no ETag, so a write still in flight cannot be fenced off")
        }
        try await write(value, over: reading, dryRun: false)
    }

    /// A number as JSON writes it: whole numbers without a decimal point.
    static func json(_ number: Double) -> Any {
        number == number.rounded() && abs(number) < 1e15 ? Int64(number) as Any : number as Any
    }

    static func value(in data: Data) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else { return nil }
        let value = (object as? [String: Any])?["value"] ?? object
        switch value {
        case let number as NSNumber: return KnobValue.text(number.doubleValue)
        case let text as String: return text
        default: return nil
        }
    }

    static func error(_ status: Int, _ data: Data, _ method: String, _ url: String) -> KubeError {
        let kind: KubeError.Kind
        switch status {
        case 401: kind = .unauthorized
        case 403: kind = .forbidden
        case 404: kind = .notFound
        case 409, 412: kind = .conflict
        case 422, 400: kind = .invalid
        case 429: kind = .tooManyRequests
        case 500...: kind = .unavailable
        default: kind = .other
        }
        let text = Redaction.scrub(String(decoding: data.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        return KubeError(kind: kind, status: status, message: "\(method) \(KubeClient.display(url)): \(text.isEmpty ? "no body" : text)")
    }
}
