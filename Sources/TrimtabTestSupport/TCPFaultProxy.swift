import Foundation
import NIOConcurrencyHelpers

/// A fault-injecting TCP proxy on 127.0.0.1 in front of one upstream port, for protocols that are not
/// HTTP (pgbouncer's admin console): bytes are piped both ways, unless a queued fault meets a chunk
/// the client sends that contains its text. Each fault meets one chunk. Blocking sockets on threads,
/// every one bounded by a receive timeout; `stop` closes them all.
public final class TCPFaultProxy: @unchecked Sendable {
    public enum Fault: Sendable, Equatable {
        /// Close the connection without forwarding the chunk: the server never saw it.
        case dropBeforeForwarding
        /// Forward the chunk, wait for the server's answer, then close the client's connection without
        /// passing it on: the work landed, the answer is lost.
        case dropAfterForwarding
    }

    public let port: Int
    let upstream: Int
    let listener: Int32
    private let state = NIOLockedValueBox<(faults: [(text: String, fault: Fault)], sockets: Set<Int32>, stopped: Bool, met: [Fault])>(([], [], false, []))
    /// Server sockets whose answers are swallowed (a fault after forwarding), and whether one came.
    private let muted = NIOLockedValueBox<[Int32: Bool]>([:])

    /// The faults that met a chunk, in order.
    public var met: [Fault] { state.withLockedValue { $0.met } }

    public init(upstream: Int) throws {
        self.upstream = upstream
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        guard withUnsafePointer(to: &address, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }) == 0,
              listen(fd, 16) == 0,
              withUnsafeMutablePointer(to: &address, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }) == 0 else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    public func inject(_ fault: Fault, whenClientSends text: String) {
        state.withLockedValue { $0.faults.append((text, fault)) }
    }

    public func stop() {
        let open = state.withLockedValue { state -> Set<Int32> in
            state.stopped = true
            return state.sockets
        }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    func track(_ fd: Int32) { state.withLockedValue { _ = $0.sockets.insert(fd) } }
    func forget(_ fd: Int32) { state.withLockedValue { _ = $0.sockets.remove(fd) } }

    func acceptLoop() {
        while !state.withLockedValue({ $0.stopped }) {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(upstream).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else {
                close(client)
                close(server)
                continue
            }
            var timeout = timeval(tv_sec: 30, tv_usec: 0)
            for fd in [client, server] {
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                track(fd)
            }
            Thread { [self] in clientToServer(client, server) }.start()
            Thread { [self] in pipe(from: server, to: client) }.start()
        }
    }

    func clientToServer(_ client: Int32, _ server: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        defer { finish(client, server) }
        while true {
            let count = recv(client, &buffer, buffer.count, 0)
            guard count > 0 else { return }
            let chunk = Array(buffer[0..<count])
            let text = String(decoding: chunk, as: UTF8.self)
            let fault: Fault? = state.withLockedValue { state in
                guard let index = state.faults.firstIndex(where: { text.contains($0.text) }) else { return nil }
                let fault = state.faults.remove(at: index).fault
                state.met.append(fault)
                return fault
            }
            switch fault {
            case .dropBeforeForwarding?:
                return
            case .dropAfterForwarding?:
                // The answer is swallowed by the other direction's thread; wait until it came.
                muted.withLockedValue { $0[server] = false }
                _ = send(server, chunk, chunk.count, Int32(MSG_NOSIGNAL))
                let deadline = Date().addingTimeInterval(10)
                while Date() < deadline, muted.withLockedValue({ $0[server] }) == false { usleep(10_000) }
                return
            case nil:
                guard send(server, chunk, chunk.count, Int32(MSG_NOSIGNAL)) == count else { return }
            }
        }
    }

    func pipe(from source: Int32, to destination: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = recv(source, &buffer, buffer.count, 0)
            guard count > 0 else { return }
            if muted.withLockedValue({ muted in muted[source].map { _ in muted[source] = true; return true } ?? false }) { return }
            guard send(destination, buffer, count, Int32(MSG_NOSIGNAL)) == count else { return }
        }
    }

    /// Closes both ends (the other thread's recv then returns).
    func finish(_ client: Int32, _ server: Int32) {
        shutdown(client, Int32(SHUT_RDWR))
        shutdown(server, Int32(SHUT_RDWR))
        forget(client)
        forget(server)
        muted.withLockedValue { _ = $0.removeValue(forKey: server) }
        // Closed after the other direction's thread has seen the shutdown.
        DispatchQueue.global().asyncAfter(deadline: .now() + 1) {
            close(client)
            close(server)
        }
    }
}
