import Crypto
import Foundation
import TrimtabCore
import TrimtabCycle

/// pgbouncer's admin console over the PostgreSQL wire protocol (version 3.0): a startup as an admin
/// user on the virtual database `pgbouncer`, trust, cleartext or md5 authentication, and simple
/// queries only (the console takes no other). One connection per call, closed after it; every
/// socket operation is bounded by the timeout.
struct PgBouncerConsole: Sendable {
    let host: String
    let port: Int
    let user: String
    let password: String?
    let timeoutSeconds: Double

    /// The rows a simple query answered, each a list of column values (nil for NULL).
    func query(_ sql: String) async throws(KubeError) -> [[String?]] {
        let this = self
        let result: Result<[[String?]], KubeError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                do throws(KubeError) {
                    continuation.resume(returning: .success(try this.blockingQuery(sql)))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    var shown: String { "pgbouncer at \(host):\(port)" }

    func blockingQuery(_ sql: String) throws(KubeError) -> [[String?]] {
        let socket = try connect()
        defer { close(socket) }
        var startup = Data()
        startup.appendInt32(196_608)  // protocol 3.0
        for (key, value) in [("user", user), ("database", "pgbouncer"), ("application_name", "trimtab")] {
            startup.appendCString(key)
            startup.appendCString(value)
        }
        startup.append(0)
        try send(socket, type: nil, startup)
        // Authentication, then the server's parameters until ReadyForQuery.
        authentication: while true {
            let (type, body) = try receive(socket)
            switch type {
            case UInt8(ascii: "R"):
                let code = body.int32(at: 0)
                switch code {
                case 0: continue authentication
                case 3:
                    guard let password else { throw refusal("asks for a password and none was given (passwordFile)") }
                    var message = Data()
                    message.appendCString(password)
                    try send(socket, type: "p", message)
                case 5:
                    guard let password else { throw refusal("asks for an md5 password and none was given (passwordFile)") }
                    let salt = body.subdata(in: 4..<8)
                    let inner = Self.hex(Insecure.MD5.hash(data: Data((password + user).utf8)))
                    let outer = Self.hex(Insecure.MD5.hash(data: Data(inner.utf8) + salt))
                    var message = Data()
                    message.appendCString("md5" + outer)
                    try send(socket, type: "p", message)
                case 10:
                    throw refusal("asks for SCRAM-SHA-256, which Trimtab does not speak yet: give the admin user an md5 or plain password in pgbouncer's auth_file")
                default:
                    throw refusal("asks for authentication method \(code), which Trimtab does not speak")
                }
            case UInt8(ascii: "E"):
                throw Self.error(body, shown, during: "login as \(user)")
            case UInt8(ascii: "Z"):
                break authentication
            default:
                continue  // ParameterStatus, BackendKeyData, notices
            }
        }
        var query = Data()
        query.appendCString(sql)
        try send(socket, type: "Q", query)
        var rows: [[String?]] = []
        var failure: KubeError?
        while true {
            let (type, body) = try receive(socket)
            switch type {
            case UInt8(ascii: "D"):
                var row: [String?] = []
                var offset = 2
                for _ in 0..<Int(body.int16(at: 0)) {
                    let length = Int(body.int32(at: offset))
                    offset += 4
                    if length < 0 { row.append(nil); continue }
                    row.append(String(decoding: body.subdata(in: offset..<(offset + length)), as: UTF8.self))
                    offset += length
                }
                rows.append(row)
            case UInt8(ascii: "E"):
                failure = Self.error(body, shown, during: sql)
            case UInt8(ascii: "Z"):
                if let failure { throw failure }
                return rows
            default:
                continue  // RowDescription, CommandComplete, notices
            }
        }
    }

    func refusal(_ text: String) -> KubeError {
        KubeError(kind: .unauthorized, message: "\(shown) \(text)")
    }

    /// An ErrorResponse: its severity, SQLSTATE and message fields.
    static func error(_ body: Data, _ server: String, during what: String) -> KubeError {
        var fields: [UInt8: String] = [:]
        var index = body.startIndex
        while index < body.endIndex, body[index] != 0 {
            let code = body[index]
            let start = body.index(after: index)
            let end = body[start...].firstIndex(of: 0) ?? body.endIndex
            fields[code] = String(decoding: body[start..<end], as: UTF8.self)
            index = end < body.endIndex ? body.index(after: end) : end
        }
        let state = fields[UInt8(ascii: "C")] ?? ""
        let message = fields[UInt8(ascii: "M")] ?? "an error"
        let kind: KubeError.Kind = state == "28P01" || state == "28000" || message.contains("password") ? .unauthorized
            : message.contains("not allowed") ? .forbidden : .invalid
        return KubeError(kind: kind, message: "\(server) refused \(what): \(fields[UInt8(ascii: "S")] ?? "ERROR") \(state.isEmpty ? "" : state + " ")\(message)")
    }

    static func hex(_ digest: Insecure.MD5Digest) -> String { digest.map { String(format: "%02x", $0) }.joined() }

    // MARK: Sockets

    func connect() throws(KubeError) -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        guard getaddrinfo(bare, String(port), &hints, &found) == 0, let info = found else {
            throw KubeError(kind: .connection, message: "\(shown): the address does not resolve")
        }
        defer { freeaddrinfo(found) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard fd >= 0 else { throw KubeError(kind: .connection, message: "\(shown): no socket (\(String(cString: strerror(errno))))") }
        var timeout = timeval(tv_sec: Int(timeoutSeconds), tv_usec: Int((timeoutSeconds - timeoutSeconds.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // A blocking connect on Linux honours SO_SNDTIMEO.
        guard Foundation.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            let reason = errno
            close(fd)
            if reason == EINPROGRESS || reason == EAGAIN || reason == ETIMEDOUT {
                throw KubeError(kind: .timeout, message: "\(shown): no connection within \(Formatting.number(timeoutSeconds)) s")
            }
            throw KubeError(kind: .connection, message: "\(shown): \(String(cString: strerror(reason)))")
        }
        return fd
    }

    /// A message: its type byte (none for the startup message), its length, its body.
    func send(_ fd: Int32, type: Character?, _ body: Data) throws(KubeError) {
        var message = Data()
        if let type { message.append(type.asciiValue!) }
        message.appendInt32(Int32(body.count + 4))
        message.append(body)
        var sent = 0
        while sent < message.count {
            let count = message.withUnsafeBytes { Foundation.send(fd, $0.baseAddress! + sent, message.count - sent, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw transportError("sending") }
            sent += count
        }
    }

    func receive(_ fd: Int32) throws(KubeError) -> (UInt8, Data) {
        let header = try read(fd, 5)
        let length = Int(header.int32(at: 1))
        guard length >= 4, length < 16 * 1024 * 1024 else {
            throw KubeError(kind: .badResponse, message: "\(shown) answered something that is not the PostgreSQL protocol")
        }
        return (header[header.startIndex], try read(fd, length - 4))
    }

    func read(_ fd: Int32, _ count: Int) throws(KubeError) -> Data {
        var data = Data(count: count)
        var got = 0
        while got < count {
            let n = data.withUnsafeMutableBytes { Foundation.recv(fd, $0.baseAddress! + got, count - got, 0) }
            guard n > 0 else { throw n == 0 ? KubeError(kind: .connection, message: "\(shown) closed the connection") : transportError("reading") }
            got += n
        }
        return data
    }

    func transportError(_ doing: String) -> KubeError {
        let reason = errno
        if reason == EAGAIN || reason == EWOULDBLOCK {
            return KubeError(kind: .timeout, message: "\(shown): no answer within \(Formatting.number(timeoutSeconds)) s while \(doing)")
        }
        return KubeError(kind: .connection, message: "\(shown): \(String(cString: strerror(reason))) while \(doing)")
    }
}

extension Data {
    mutating func appendInt32(_ value: Int32) { Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) } }
    mutating func appendCString(_ text: String) {
        append(contentsOf: Array(text.utf8))
        append(0)
    }
    func int32(at offset: Int) -> Int32 {
        let start = startIndex + offset
        return self[start..<(start + 4)].reduce(Int32(0)) { $0 << 8 | Int32($1) }
    }
    func int16(at offset: Int) -> Int16 {
        let start = startIndex + offset
        return Int16(self[start]) << 8 | Int16(self[start + 1])
    }
}

/// A pgbouncer setting (`default_pool_size`, say) on the admin console of every ready pod of a
/// pgbouncer Deployment: read with `SHOW CONFIG`, written with `SET key = value`, which pgbouncer
/// applies at once without a restart (and forgets when it restarts: its ini file is what it starts with).
struct PgBouncerAccess: PodAccess {
    let spec: PgBouncerKnob
    let timeoutSeconds: Double
    var knob: Knob { .pgbouncer(spec) }
    var port: String { spec.port }
    var via: String { "pgbouncer's admin console" }

    func console(_ endpoint: PodEndpoint) throws(KubeError) -> PgBouncerConsole {
        var password: String?
        if let file = spec.passwordFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw KubeError(kind: .configuration, message: "cannot read pgbouncer's admin password from \(file)")
            }
            password = text.trimmingCharacters(in: .newlines)
        }
        return PgBouncerConsole(host: endpoint.host, port: endpoint.port, user: spec.user, password: password, timeoutSeconds: timeoutSeconds)
    }

    func read(_ endpoint: PodEndpoint) async throws(KubeError) -> String? {
        let rows = try await console(endpoint).query("SHOW CONFIG")
        guard let row = rows.first(where: { $0.first == spec.setting }) else {
            throw KubeError(kind: .notFound, message: "pgbouncer on pod \(endpoint.pod) has no setting \(spec.setting) (SHOW CONFIG)")
        }
        return row.count > 1 ? row[1] : nil
    }

    func write(_ endpoint: PodEndpoint, _ value: Double) async throws(KubeError) {
        _ = try await console(endpoint).query("SET \(spec.setting) = \(KnobValue.text(value))")
    }
}
