import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import NIOConcurrencyHelpers
import TrimtabLoopbackServer

/// A fault-injecting HTTP proxy on 127.0.0.1 in front of one upstream server: every request is
/// forwarded as it came, unless a fault is queued for it, which then meets exactly one request.
public final class FaultProxy: Sendable {
    public enum Fault: Sendable, Equatable {
        /// Answer `status` without forwarding: the request never reached the server.
        case errorBeforeForwarding(Int)
        /// Forward (the server acts on it), then answer `status` in place of its answer.
        case errorAfterForwarding(Int)
        /// Close the connection without forwarding.
        case dropBeforeForwarding
        /// Forward, then close the connection without answering: the work landed, the answer is lost.
        case dropAfterForwarding
        /// Forward after this many seconds: a slow server (a large answer, a loaded Prometheus).
        case delay(Double)
    }

    public struct Record: Sendable {
        public var method: String
        public var uri: String
        public var body: String
        public var fault: Fault?
    }

    private let server: LoopbackHTTPServer
    private let state: NIOLockedValueBox<(faults: [(matching: String?, fault: Fault)], log: [Record])>
    public var url: String { server.url }
    public var port: Int { server.port }
    public var records: [Record] { state.withLockedValue { $0.log } }
    public var pendingFaults: Int { state.withLockedValue { $0.faults.count } }

    public init(upstream: String) async throws {
        let state = NIOLockedValueBox<(faults: [(matching: String?, fault: Fault)], log: [Record])>(([], []))
        self.state = state
        let session = URLSession(configuration: .ephemeral)
        server = try await LoopbackHTTPServer.start { request in
            let body = String(decoding: request.body, as: UTF8.self)
            let fault: Fault? = state.withLockedValue { state in
                guard let index = state.faults.firstIndex(where: { $0.matching.map(body.contains) ?? true }) else { return nil }
                return state.faults.remove(at: index).fault
            }
            state.withLockedValue { $0.log.append(Record(method: request.method, uri: request.uri, body: body, fault: fault)) }
            switch fault {
            case .errorBeforeForwarding(let status)?:
                return .respond(.init(status: status, body: "injected \(status)", headers: [("Content-Type", "text/plain")]))
            case .dropBeforeForwarding?:
                return .close
            default:
                break
            }
            return .deferred {
                if case .delay(let seconds)? = fault { try? await Task.sleep(for: .milliseconds(Int64(seconds * 1000))) }
                var forward = URLRequest(url: URL(string: upstream + request.uri)!)
                forward.httpMethod = request.method
                forward.timeoutInterval = 10
                if !request.body.isEmpty { forward.httpBody = Data(request.body) }
                for (name, value) in request.headers where !["host", "content-length", "connection"].contains(name.lowercased()) {
                    forward.setValue(value, forHTTPHeaderField: name)
                }
                let answer: (Data, URLResponse)
                do {
                    answer = try await session.data(for: forward)
                } catch {
                    return .respond(.init(status: 502, body: "upstream: \(error)", headers: [("Content-Type", "text/plain")]))
                }
                switch fault {
                case .errorAfterForwarding(let status)?:
                    return .respond(.init(status: status, body: "injected \(status) after forwarding", headers: [("Content-Type", "text/plain")]))
                case .dropAfterForwarding?:
                    return .close
                default:
                    let status = (answer.1 as? HTTPURLResponse)?.statusCode ?? 502
                    let type = (answer.1 as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type") ?? "application/octet-stream"
                    return .respond(.init(status: status, bytes: Array(answer.0), headers: [("Content-Type", type)]))
                }
            }
        }
    }

    /// Queues a fault for the next request whose body contains `matching` (any request when nil).
    public func inject(_ fault: Fault, matching: String? = nil) {
        state.withLockedValue { $0.faults.append((matching, fault)) }
    }

    public func clearFaults() {
        state.withLockedValue { $0.faults.removeAll() }
    }

    public func stop() async { await server.stop() }
}
