import Foundation

/// A proxy that requests go through: an HTTP proxy (which tunnels https with CONNECT) or SOCKS5.
public struct ProxyEndpoint: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable { case http, socks5 }
    public var kind: Kind
    public var host: String
    public var port: Int
    /// Credentials from the proxy URL's user part, sent as `Proxy-Authorization: Basic`.
    public var user: String?
    public var password: String?
    /// Where it was given, for messages: "HTTPS_PROXY", "kubeconfig cluster prod's proxy-url".
    public var origin: String

    /// The proxy as it may be shown: never its password.
    public var description: String { "\(kind == .http ? "http" : "socks5")://\(host):\(port) (from \(origin))" }
}

/// Why a proxy setting was refused.
public struct ProxyError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The proxy settings of the environment, as Go's `net/http` (and so kubectl and Prometheus' own
/// tools) reads them: `HTTPS_PROXY` for https URLs, `HTTP_PROXY` for http ones (each also in lower
/// case), `NO_PROXY` for the hosts that are reached directly, and `localhost` and loopback addresses
/// never proxied.
public enum ProxyEnvironment {
    /// The proxy for requests to `url`, or nil to connect directly.
    public static func proxy(for url: String, environment: [String: String]) throws(ProxyError) -> ProxyEndpoint? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), let host = components.host else { return nil }
        let names = scheme == "https" ? ["HTTPS_PROXY", "https_proxy"] : ["HTTP_PROXY", "http_proxy"]
        guard let name = names.first(where: { !(environment[$0] ?? "").isEmpty }), let value = environment[name] else { return nil }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        if isLoopback(host) { return nil }
        let noProxy = environment["NO_PROXY"].flatMap { $0.isEmpty ? nil : $0 } ?? environment["no_proxy"] ?? ""
        if bypasses(host: host, port: port, noProxy: noProxy) { return nil }
        return try parse(value, origin: name)
    }

    /// A proxy URL: `http://[user:password@]host[:port]` (port 80 by default; a bare `host:port` is
    /// http), or `socks5://host[:port]` (1080). An https proxy, reached over TLS itself, is refused.
    public static func parse(_ text: String, origin: String) throws(ProxyError) -> ProxyEndpoint {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let withScheme = trimmed.contains("://") ? trimmed : "http://" + trimmed
        guard let components = URLComponents(string: withScheme), let scheme = components.scheme?.lowercased(),
              let host = components.host, !host.isEmpty else {
            throw ProxyError("\(origin): '\(Redaction.displayURL(trimmed))' is not a proxy URL; write http://proxy.example:3128 or socks5://proxy.example:1080")
        }
        let kind: ProxyEndpoint.Kind
        switch scheme {
        case "http": kind = .http
        case "socks5", "socks5h": kind = .socks5
        case "https":
            throw ProxyError("\(origin): an https:// proxy (TLS to the proxy itself) is not supported; use its http:// address (https requests are still tunnelled end to end with CONNECT)")
        default:
            throw ProxyError("\(origin): proxy scheme '\(scheme)' is not supported; use http:// or socks5://")
        }
        if kind == .socks5, components.user != nil {
            throw ProxyError("\(origin): a SOCKS5 proxy with a user and password is not supported; use an http:// proxy for that")
        }
        if let port = components.port, !(1...65535).contains(port) {
            throw ProxyError("\(origin): port \(port) is not a TCP port")
        }
        return ProxyEndpoint(kind: kind, host: host, port: components.port ?? (kind == .http ? 80 : 1080),
                             user: components.user?.removingPercentEncoding, password: components.password?.removingPercentEncoding, origin: origin)
    }

    /// Whether `NO_PROXY` sends `host` direct: `*`; an IP address or a CIDR range; a domain, which
    /// covers itself and its subdomains (`example.com`, `.example.com` only the subdomains); any of
    /// them with `:port` to match that port only.
    public static func bypasses(host: String, port: Int, noProxy: String) -> Bool {
        let host = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        for raw in noProxy.split(separator: ",") {
            var entry = raw.trimmingCharacters(in: .whitespaces).lowercased()
            if entry.isEmpty { continue }
            if entry == "*" { return true }
            // A port, unless the entry is an IPv6 address or range without brackets.
            var entryPort: Int?
            if entry.hasPrefix("["), let close = entry.firstIndex(of: "]") {
                let rest = entry[entry.index(after: close)...]
                if rest.hasPrefix(":") { entryPort = Int(rest.dropFirst()) }
                entry = String(entry[entry.index(after: entry.startIndex)..<close])
            } else if entry.filter({ $0 == ":" }).count == 1, let colon = entry.lastIndex(of: ":") {
                entryPort = Int(entry[entry.index(after: colon)...])
                entry = String(entry[..<colon])
            }
            if let entryPort, entryPort != port { continue }
            if entry.contains("/") {
                if let range = CIDR(entry), let address = IPAddress(host), range.contains(address) { return true }
                continue
            }
            if let address = IPAddress(entry) {
                if IPAddress(host) == address { return true }
                continue
            }
            if entry.hasPrefix(".") {
                if host.hasSuffix(entry) { return true }
            } else if host == entry || host.hasSuffix("." + entry) {
                return true
            }
        }
        return false
    }

    static func isLoopback(_ host: String) -> Bool {
        let host = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if host == "localhost" { return true }
        guard let address = IPAddress(host) else { return false }
        return address.isLoopback
    }
}

/// An IPv4 or IPv6 address, as bytes.
struct IPAddress: Equatable {
    var bytes: [UInt8]

    init?(_ text: String) {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
        } else {
            return nil
        }
    }

    var isLoopback: Bool { bytes.count == 4 ? bytes[0] == 127 : bytes == Array(repeating: 0, count: 15) + [1] }
}

/// An address range such as `10.0.0.0/8` or `fd00::/8`.
struct CIDR {
    var base: IPAddress
    var bits: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard parts.count == 2, let base = IPAddress(String(parts[0])), let bits = Int(parts[1]),
              (0...(base.bytes.count * 8)).contains(bits) else { return nil }
        self.base = base
        self.bits = bits
    }

    func contains(_ address: IPAddress) -> Bool {
        guard address.bytes.count == base.bytes.count else { return false }
        var left = bits
        for (a, b) in zip(address.bytes, base.bytes) where left > 0 {
            let take = min(8, left)
            let mask = UInt8(truncatingIfNeeded: 0xff << (8 - take))
            if a & mask != b & mask { return false }
            left -= take
        }
        return true
    }
}
