import Foundation
import NIOHTTP1
import TrimtabCore
import TrimtabCycle

/// The parts of a Pod Trimtab reads to reach a process in it: readiness, address, ports and when its
/// containers started.
struct PodObject: Decodable {
    struct Spec: Decodable {
        struct Container: Decodable {
            struct Port: Decodable { var name: String?; var containerPort: Int }
            var name: String
            var ports: [Port]?
        }
        var containers: [Container]?
    }
    struct Status: Decodable {
        struct Condition: Decodable { var type: String; var status: String }
        struct ContainerStatus: Decodable {
            struct State: Decodable {
                struct Running: Decodable { var startedAt: String? }
                var running: Running?
            }
            var name: String
            var ready: Bool?
            var state: State?
        }
        var phase: String?
        var podIP: String?
        var startTime: String?
        var conditions: [Condition]?
        var containerStatuses: [ContainerStatus]?
    }
    struct Metadata: Decodable {
        var name: String
        var deletionTimestamp: String?
    }
    var metadata: Metadata
    var spec: Spec?
    var status: Status?

    var isReady: Bool {
        metadata.deletionTimestamp == nil && status?.phase == "Running" && status?.podIP?.isEmpty == false
            && status?.conditions?.contains { $0.type == "Ready" && $0.status == "True" } == true
    }

    /// When its containers last started: the latest `state.running.startedAt`, else the pod's start.
    var startedAt: Double? {
        let running = (status?.containerStatuses ?? []).compactMap { $0.state?.running?.startedAt }.compactMap(KubeTime.parse)
        return running.max() ?? status?.startTime.flatMap(KubeTime.parse)
    }

    /// A container port by name or number.
    func port(_ port: String) -> Int? {
        if let number = Int(port) { return number }
        return (spec?.containers ?? []).lazy.compactMap { $0.ports?.first { $0.name == port }?.containerPort }.first
    }
}

struct PodList: Decodable { var items: [PodObject] }

/// Kubernetes' RFC 3339 times: `2026-12-07T11:43:26Z`, with fractions (a MicroTime has six digits,
/// which ISO8601DateFormatter does not read: cut to three) or without.
enum KubeTime {
    static func parse(_ text: String) -> Double? {
        let trimmed = text.replacingOccurrences(of: #"(\.\d{3})\d+"#, with: "$1", options: .regularExpression)
        let formatter = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds]] {
            formatter.formatOptions = options
            if let date = formatter.date(from: trimmed) { return date.timeIntervalSince1970 }
        }
        return nil
    }
}

/// One ready pod's process, as a per-pod knob reaches it.
struct PodEndpoint: Sendable {
    var pod: String
    /// The pod's IP, bracketed when IPv6, and the container port.
    var host: String
    var port: Int
    var startedAt: Double?

    func url(scheme: String, path: String) -> String { "\(scheme)://\(host):\(port)\(path)" }
}

/// How a knob that lives in each pod's process is read and written on one pod.
protocol PodAccess: Sendable {
    var knob: Knob { get }
    /// The container port (a name or a number) the process listens on.
    var port: String { get }
    /// What the value is read through, for the plan's evidence ("Jolokia").
    var via: String { get }
    /// What the process holds.
    func read(_ endpoint: PodEndpoint) async throws(KubeError) -> String?
    /// Sets `value` in the process.
    func write(_ endpoint: PodEndpoint, _ value: Double) async throws(KubeError)
}

/// A knob in the process of every ready pod of a workload (a Jolokia attribute, a pgbouncer setting).
/// The pods are found as the workload's controller finds them: by its `spec.selector`. There are no
/// versions to be conditional on: a write sets every pod, then reads each back, and a pod that does
/// not hold the value afterwards leaves the write uncertain, for recovery to settle pod by pod.
struct PodKnobActuator: Actuator {
    let client: KubeClient
    let workload: WorkloadRef
    let resource: KubeResource
    let access: any PodAccess
    var knob: Knob { access.knob }
    var supportsServerDryRun: Bool { false }

    /// The workload's ready pods, each with the address of its process.
    func endpoints() async throws(KubeError) -> [PodEndpoint] {
        let object = try await client.get(SelectorObject.self, resource, namespace: workload.namespace, name: workload.name)
        guard let selector = object.spec?.selector?.labelSelector, !selector.isEmpty else {
            throw KubeError(kind: .unsupported, message: "\(workload) has no spec.selector.matchLabels (without matchExpressions) to find its pods by")
        }
        let pods = try await client.list(PodList.self, .pods, namespace: workload.namespace, query: [("labelSelector", selector)])
        let ready = pods.items.filter(\.isReady).sorted { $0.metadata.name < $1.metadata.name }
        guard !ready.isEmpty else {
            throw KubeError(kind: .unavailable, message: "\(workload) has no ready pod (selector \(selector)) to reach \(knob) on")
        }
        var endpoints: [PodEndpoint] = []
        for pod in ready {
            guard let port = pod.port(access.port), let ip = pod.status?.podIP else {
                throw KubeError(kind: .unsupported, message: "pod \(pod.metadata.name) of \(workload) has no container port \(access.port)")
            }
            endpoints.append(PodEndpoint(pod: pod.metadata.name, host: ip.contains(":") ? "[\(ip)]" : ip, port: port, startedAt: pod.startedAt))
        }
        return endpoints
    }

    func read() async throws(KubeError) -> KnobReading {
        try await read(from: try await endpoints())
    }

    func read(from endpoints: [PodEndpoint]) async throws(KubeError) -> KnobReading {
        var pods: [PodValue] = []
        for endpoint in endpoints {
            pods.append(PodValue(pod: endpoint.pod, value: try await access.read(endpoint), startedAt: endpoint.startedAt))
        }
        return KnobReading(value: Self.common(pods), version: nil, location: "\(pods.count) pod\(pods.count == 1 ? "" : "s")", pods: pods)
    }

    /// The value every pod holds, or a text naming what each holds when they differ (which is neither
    /// value of any change, so nothing mistakes it for one).
    static func common(_ pods: [PodValue]) -> String? {
        let values = Set(pods.map { $0.value.flatMap(KnobValue.number).map(KnobValue.text) ?? $0.value ?? "nothing" })
        if values.count == 1, let only = pods.first { return only.value.flatMap(KnobValue.number).map(KnobValue.text) ?? only.value }
        return "mixed (" + pods.map { "\($0.pod): \($0.value ?? "nothing")" }.joined(separator: ", ") + ")"
    }

    /// Sets `value` on every ready pod, then reads each back.
    func write(_ value: String?, over reading: KnobReading, dryRun: Bool) async throws(KubeError) {
        guard let value, let number = KnobValue.number(value) else {
            throw KubeError(kind: .invalid, message: "\(knob) must be set to a number, not \(value ?? "nothing")")
        }
        let endpoints = try await endpoints()
        // No server-side dry-run: reading every pod shows they can be reached and hold the setting.
        if dryRun {
            _ = try await read(from: endpoints)
            return
        }
        for endpoint in endpoints { try await access.write(endpoint, number) }
        let back = try await read(from: endpoints)
        let missed = (back.pods ?? []).filter { !KnobValue.matches($0.value, number) }
        if !missed.isEmpty {
            throw KubeError(kind: .badResponse, message: "after writing \(value) to \(knob), "
                            + missed.map { "pod \($0.pod) reads back \($0.value ?? "nothing")" }.joined(separator: ", "))
        }
    }

    /// A process's setting has no version, so there is nothing to fence a write in flight with.
    func fence(over reading: KnobReading, note: String) async throws(KubeError) {
        throw KubeError(kind: .unsupported, message: "\(knob) has no conditional writes, so a write still in flight cannot be fenced off")
    }
}

/// An admin endpoint on each pod: `GET` answers `{"value": X}` (or a bare value), `PUT` with
/// `{"value": X}` sets it, as `{http: URL}` for one URL.
struct PodHTTPAccess: PodAccess {
    let http: HTTPEndpointClient
    let spec: PodHTTPKnob
    var knob: Knob { .podHTTP(spec) }
    var port: String { spec.port }
    var via: String { "the admin endpoint" }

    func url(_ endpoint: PodEndpoint) -> String { endpoint.url(scheme: spec.scheme, path: spec.path) }

    func read(_ endpoint: PodEndpoint) async throws(KubeError) -> String? {
        let url = url(endpoint)
        let (status, data, _) = try await http.execute(.GET, url)
        guard status == 200 else { throw HTTPEndpointActuator.error(status, data, "GET", url) }
        guard let value = HTTPEndpointActuator.value(in: data) else {
            throw KubeError(kind: .badResponse, message: "GET \(KubeClient.display(url)) on pod \(endpoint.pod) answered \(String(decoding: data.prefix(120), as: UTF8.self)); expected {\"value\": …}")
        }
        return value
    }

    func write(_ endpoint: PodEndpoint, _ value: Double) async throws(KubeError) {
        let url = url(endpoint)
        let (status, data, _) = try await http.execute(.PUT, url, body: try KubeClient.json(["value": HTTPEndpointActuator.json(value)]))
        guard (200..<300).contains(status) else { throw HTTPEndpointActuator.error(status, data, "PUT", url) }
    }
}

/// A JMX attribute through each pod's Jolokia agent: `POST http://POD_IP:PORT/PATH` with Jolokia's
/// JSON protocol.
struct JolokiaAccess: PodAccess {
    let http: HTTPEndpointClient
    let spec: JolokiaKnob
    var knob: Knob { .jolokia(spec) }
    var port: String { spec.port }
    var via: String { "Jolokia" }

    func url(_ endpoint: PodEndpoint) -> String { endpoint.url(scheme: spec.scheme, path: spec.path) }

    func read(_ endpoint: PodEndpoint) async throws(KubeError) -> String? {
        try await request(endpoint, ["type": "read", "mbean": spec.mbean, "attribute": spec.attribute])
    }

    func write(_ endpoint: PodEndpoint, _ value: Double) async throws(KubeError) {
        _ = try await request(endpoint, ["type": "write", "mbean": spec.mbean, "attribute": spec.attribute, "value": HTTPEndpointActuator.json(value)])
    }

    /// One Jolokia request; the `value` of its answer. Jolokia answers HTTP 200 with the request's own
    /// `status` in the body (and `error_type`, `error` when it failed).
    func request(_ endpoint: PodEndpoint, _ body: [String: Any]) async throws(KubeError) -> String? {
        let url = url(endpoint)
        let (status, data, _) = try await http.execute(.POST, url, body: try KubeClient.json(body))
        let what = "\(body["type"] ?? "") \(spec.mbean) \(spec.attribute) on pod \(endpoint.pod) (\(KubeClient.display(url)))"
        guard status == 200 else {
            var error = HTTPEndpointActuator.error(status, data, "POST", url)
            error.message = "Jolokia \(what): HTTP \(status): \(error.message)"
            throw error
        }
        guard let answer = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let inner = answer["status"] as? Int else {
            throw KubeError(kind: .badResponse, message: "Jolokia \(what) answered \(String(decoding: data.prefix(120), as: UTF8.self)); expected Jolokia's JSON")
        }
        guard inner == 200 else {
            let type = answer["error_type"] as? String ?? "an error"
            let message = Redaction.scrub(answer["error"] as? String ?? "")
            let kind: KubeError.Kind
            switch inner {
            case 404: kind = .notFound
            case 403: kind = .forbidden
            case 400: kind = .invalid
            default: kind = type.hasSuffix("IllegalArgumentException") || type.hasSuffix("InvalidAttributeValueException") ? .invalid : .other
            }
            throw KubeError(kind: kind, message: "Jolokia \(what): \(inner) \(type): \(message)")
        }
        switch answer["value"] {
        case let number as NSNumber: return KnobValue.text(number.doubleValue)
        case let text as String: return text
        case nil, is NSNull: return nil
        case let other?: return "\(other)"
        }
    }
}

/// A workload's `spec.selector`.
struct SelectorObject: Decodable {
    struct Spec: Decodable {
        struct Selector: Decodable {
            var matchLabels: [String: String]?
            var matchExpressions: [Ignored]?
            /// `matchLabels` as a list's `labelSelector`; nil with `matchExpressions`, which are not read.
            var labelSelector: String? {
                guard matchExpressions?.isEmpty ?? true, let labels = matchLabels, !labels.isEmpty else { return nil }
                return labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            }
        }
        var selector: Selector?
    }
    var spec: Spec?
}
