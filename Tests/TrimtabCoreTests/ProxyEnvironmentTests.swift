import Testing
@testable import TrimtabCore

/// The environment's proxy settings, read as Go's net/http (and so kubectl) reads them.
@Suite struct ProxyEnvironmentTests {
    let environment = ["HTTPS_PROXY": "http://proxy.corp:3128", "http_proxy": "squid.corp:8080",
                       "NO_PROXY": "svc, .cluster.local, 10.0.0.0/8, 192.168.1.7, metrics.corp:9090, [fd00::1]"]

    func proxy(_ url: String, _ environment: [String: String]? = nil) throws -> String? {
        try ProxyEnvironment.proxy(for: url, environment: environment ?? self.environment).map { "\($0.host):\($0.port)" }
    }

    @Test func theSchemeChoosesTheVariableAndUpperCaseComesFirst() throws {
        #expect(try proxy("https://mimir.example/prometheus") == "proxy.corp:3128")
        #expect(try proxy("http://prometheus.example:9090") == "squid.corp:8080")  // a bare host:port is http
        #expect(try proxy("https://x.example", ["https_proxy": "http://lower:1", "HTTPS_PROXY": "http://upper:2"]) == "upper:2")
        #expect(try proxy("https://x.example", ["https_proxy": "http://lower:1", "HTTPS_PROXY": ""]) == "lower:1")
        #expect(try proxy("https://x.example", [:]) == nil)
    }

    @Test(arguments: [
        ("https://prometheus.svc", true), ("https://svc", true), ("https://mysvc", false),
        ("https://prometheus.monitoring.svc.cluster.local", true), ("https://cluster.local", false),
        ("https://10.96.0.1:443", true), ("https://11.0.0.1", false), ("https://192.168.1.7:6443", true),
        ("https://metrics.corp:9090", true), ("https://metrics.corp:9091", false), ("https://[fd00::1]:443", true),
        ("http://localhost:9090", true), ("http://127.0.0.53:9090", true), ("http://[::1]:9090", true),
    ])
    func noProxyAndLoopbackGoDirect(_ url: String, _ direct: Bool) throws {
        #expect(try proxy(url) == nil ? direct : !direct, "\(url)")
    }

    @Test func aStarSendsEverythingDirect() throws {
        #expect(try proxy("https://anything.example", ["HTTPS_PROXY": "proxy:1", "no_proxy": "*"]) == nil)
    }

    @Test func aProxyURLKeepsItsCredentialsAndNeverShowsThem() throws {
        let endpoint = try ProxyEnvironment.parse("http://trimtab:s%40cret@proxy.corp:3128", origin: "HTTPS_PROXY")
        #expect(endpoint.user == "trimtab" && endpoint.password == "s@cret" && endpoint.port == 3128)
        #expect(endpoint.description == "http://proxy.corp:3128 (from HTTPS_PROXY)")
        #expect(try ProxyEnvironment.parse("socks5://gw.corp", origin: "x").kind == .socks5)
        #expect(try ProxyEnvironment.parse("socks5://gw.corp", origin: "x").port == 1080)
        #expect(try ProxyEnvironment.parse("http://proxy.corp", origin: "x").port == 80)
    }

    @Test(arguments: [
        ("https://proxy.corp:3128", "an https:// proxy (TLS to the proxy itself) is not supported"),
        ("ftp://proxy.corp", "proxy scheme 'ftp' is not supported"),
        ("http://:3128", "is not a proxy URL"),
        ("http://user:pw@", "is not a proxy URL"),
        ("socks5://user:pw@gw.corp", "a SOCKS5 proxy with a user and password is not supported"),
    ])
    func aBadProxyIsRefusedSayingWhere(_ text: String, _ message: String) {
        do {
            _ = try ProxyEnvironment.parse(text, origin: "HTTPS_PROXY")
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.description.hasPrefix("HTTPS_PROXY: "), "\(error)")
            #expect(error.description.contains(message), "\(error)")
            #expect(!error.description.contains("pw"), "\(error)")
        }
    }
}
