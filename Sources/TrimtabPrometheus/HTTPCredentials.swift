import AsyncHTTPClient
import Foundation
import NIOSSL
import TrimtabCore

/// How Trimtab authenticates to an HTTP server it reads or posts to (Prometheus, Alertmanager):
/// a bearer token or basic auth read from files on every request (so rotated secrets are picked up),
/// and TLS with a custom CA, a client certificate, or (for testing) no verification.
public enum HTTPCredentials {
    /// The proxy as AsyncHTTPClient takes it: an HTTP proxy (CONNECT for https) or SOCKS5.
    public static func proxy(_ endpoint: ProxyEndpoint) -> HTTPClient.Configuration.Proxy {
        guard endpoint.kind == .http else { return .socksServer(host: endpoint.host, port: endpoint.port) }
        return .server(host: endpoint.host, port: endpoint.port,
                       authorization: endpoint.user.map { .basic(username: $0, password: endpoint.password ?? "") })
    }

    /// The `Authorization` header, or nil without credentials. Throws the path of a file it cannot read.
    public static func authorization(bearerTokenFile: String?, basicAuthUser: String?, basicAuthPasswordFile: String?) throws(CredentialError) -> String? {
        if let file = bearerTokenFile {
            guard let token = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw CredentialError(description: "could not read the bearer token file \(file)")
            }
            return "Bearer " + token.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let user = basicAuthUser {
            var password = ""
            if let file = basicAuthPasswordFile {
                guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                    throw CredentialError(description: "could not read the basic auth password file \(file)")
                }
                password = text.trimmingCharacters(in: .newlines)
            }
            return "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
        }
        return nil
    }

    /// A client TLS configuration from PEM files.
    public static func tls(caFile: String?, certFile: String?, keyFile: String?, insecureSkipVerify: Bool) throws(CredentialError) -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            if let caFile {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            }
            if let certFile, let keyFile {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certFile).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
            }
        } catch {
            throw CredentialError(description: "could not read the TLS files (CA \(caFile ?? "-"), certificate \(certFile ?? "-"), key \(keyFile ?? "-")): \(error)")
        }
        if insecureSkipVerify { tls.certificateVerification = .none }
        return tls
    }

    public struct CredentialError: Error, CustomStringConvertible {
        public var description: String
    }
}
