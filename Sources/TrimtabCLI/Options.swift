import ArgumentParser
import Foundation
import TrimtabCore
import TrimtabCycle
import TrimtabPrometheus
import TrimtabDaemon

/// How to reach Prometheus.
struct PrometheusOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Base URL of Prometheus or a server with its HTTP API (Thanos, Mimir, VictoriaMetrics).",
        discussion: "Defaults to $TRIMTAB_PROMETHEUS_URL.", valueName: "url"))
    var prometheus: String?

    @Option(help: ArgumentHelp("A file holding a bearer token, re-read on every query.", valueName: "path"))
    var bearerTokenFile: String?

    @Option(help: ArgumentHelp("User for HTTP basic auth.", valueName: "user"))
    var basicAuthUser: String?

    @Option(help: ArgumentHelp("A file holding the basic auth password.", valueName: "path"))
    var basicAuthPasswordFile: String?

    @Option(help: ArgumentHelp("PEM file of CA certificates to trust for https.", valueName: "path"))
    var caFile: String?

    @Option(help: ArgumentHelp("PEM client certificate for mutual TLS (with --key-file).", valueName: "path"))
    var certFile: String?

    @Option(help: ArgumentHelp("PEM private key for mutual TLS (with --cert-file).", valueName: "path"))
    var keyFile: String?

    @Flag(help: "Do not verify the server's TLS certificate. For testing only.")
    var insecureSkipTlsVerify = false

    @Option(help: ArgumentHelp("Longest time one query, and the whole read of Prometheus, may take, e.g. 30s.", valueName: "duration"))
    var timeout: String = "30s"

    @Option(help: ArgumentHelp("Most queries in flight at once.", valueName: "n"))
    var maxConcurrentQueries: Int = 4

    @Option(help: ArgumentHelp("A header sent with every request to Prometheus, as 'Name: value'; repeat it for more.",
                               discussion: "For Mimir's or Cortex's tenant: --prometheus-header 'X-Scope-OrgID: team-a'.", valueName: "header"))
    var prometheusHeader: [String] = []

    func validate() throws {
        if (certFile == nil) != (keyFile == nil) { throw ValidationError("--cert-file and --key-file go together") }
        if basicAuthPasswordFile != nil && basicAuthUser == nil { throw ValidationError("--basic-auth-password-file needs --basic-auth-user") }
        if bearerTokenFile != nil && basicAuthUser != nil { throw ValidationError("use either --bearer-token-file or --basic-auth-user, not both") }
        if maxConcurrentQueries < 1 { throw ValidationError("--max-concurrent-queries must be at least 1") }
        _ = try timeoutSeconds()
        _ = try headers()
    }

    /// `--prometheus-header 'Name: value'`, each checked: a name of HTTP token characters, a value
    /// without line breaks.
    func headers() throws -> [(name: String, value: String)] {
        try prometheusHeader.map { text in
            guard let colon = text.firstIndex(of: ":") else {
                throw ValidationError("--prometheus-header '\(text)' is not 'Name: value'")
            }
            let name = text[..<colon].trimmingCharacters(in: .whitespaces)
            let value = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            let token = CharacterSet(charactersIn: "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
            guard !name.isEmpty, name.unicodeScalars.allSatisfy(token.contains) else {
                throw ValidationError("--prometheus-header '\(text)': '\(name)' is not a header name")
            }
            guard !value.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7f }) else {
                throw ValidationError("--prometheus-header \(name): the value holds a control character")
            }
            guard !PrometheusConfiguration.reservedHeaders.contains(name.lowercased()) else {
                throw ValidationError("--prometheus-header \(name) is set by Trimtab itself or by its own flag (--bearer-token-file, --basic-auth-user)")
            }
            return (name, value)
        }
    }

    func timeoutSeconds() throws -> Double {
        try durationFlag(timeout, flag: "--timeout")
    }

    /// A client, or exit code 1 with the reason on standard error.
    func clientOrExit() throws -> PrometheusClient {
        do {
            return try PrometheusClient(try configuration())
        } catch let error as PrometheusError {
            printError("error: \(error)")
            throw TrimtabExit.invalidInput
        }
    }

    func configuration(url override: String? = nil) throws -> PrometheusConfiguration {
        guard let url = override ?? prometheus ?? ProcessInfo.processInfo.environment["TRIMTAB_PROMETHEUS_URL"], !url.isEmpty else {
            throw ValidationError("say where Prometheus is: --prometheus http://HOST:9090 (or set TRIMTAB_PROMETHEUS_URL)")
        }
        var configuration = PrometheusConfiguration(url: url, bearerTokenFile: bearerTokenFile, basicAuthUser: basicAuthUser,
                                                    basicAuthPasswordFile: basicAuthPasswordFile, caFile: caFile, certFile: certFile,
                                                    keyFile: keyFile, insecureSkipVerify: insecureSkipTlsVerify,
                                                    timeoutSeconds: try timeoutSeconds(), headers: try headers())
        // As Go's clients: HTTPS_PROXY or HTTP_PROXY by the URL's scheme, unless NO_PROXY covers it.
        configuration.proxy = try Self.proxy(for: url)
        return configuration
    }

    static func proxy(for url: String) throws -> ProxyEndpoint? {
        do throws(ProxyError) {
            return try ProxyEnvironment.proxy(for: url, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError(error.description)
        }
    }
}

/// Enforce or only plan, over the policy's `mode`: shared by `analyze` and `run`.
struct ModeOptions: ParsableArguments {
    @Flag(help: "Apply the proposed changes (enforce), whatever the policy's mode. Needs a cluster; `run` applies only while it leads.")
    var apply = false

    @Flag(help: "Only plan, even when the policy says mode: enforce.")
    var dryRun = false

    @Option(help: ArgumentHelp("Write each change to an object Argo CD or Flux manages as a kustomize patch file under this directory (namespace/kind-name-knob.yaml); the report shows them either way.",
                               valueName: "path"))
    var patchDir: String?

    func validate() throws {
        if apply && dryRun { throw ValidationError("--apply and --dry-run contradict each other") }
    }

    /// The mode the flags ask for, or nil to take the policy's.
    var override: PolicyMode? { apply ? .enforce : dryRun ? .dryRun : nil }
}

/// Which policy to apply.
struct PolicyOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "A policy file, or a directory whose .yaml files merge in name order.",
        discussion: "Without it, the built-in default policy (policies/default.yaml) is used.", valueName: "path"))
    var policy: String?

    @Option(help: ArgumentHelp("Only targets in this namespace (overrides the policy's spec.targets.namespace; with several policies, only the ones whose targets include it run).",
                               valueName: "name"))
    var namespace: String?

    func load() throws -> Policy {
        var policy = try PolicySource.load(self.policy)
        if let namespace { policy.targets.restrict(to: namespace) }
        return policy
    }

    /// Every policy at --policy: one, or several teams' (files with different metadata.name).
    func loadSet() throws -> [Policy] {
        guard let path = self.policy else {
            var policy = try PolicySource.load(nil)
            if let namespace { policy.targets.restrict(to: namespace) }
            return [policy]
        }
        return try PolicySourceFiles.policies(at: path, namespace: namespace)
    }

    /// The policy, or exit code 1 with every error on standard error.
    func loadOrExit() throws -> Policy {
        try orExit { try load() }
    }

    /// Every policy, or exit code 1 with every error on standard error.
    func loadSetOrExit() throws -> [Policy] {
        try orExit { try loadSet() }
    }

    private func orExit<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as PolicyError {
            printError(error.description)
            throw TrimtabExit.invalidInput
        } catch let error as PolicySource.ReadError {
            printError("error: \(error)")
            throw TrimtabExit.invalidInput
        }
    }
}

/// A flag's duration (`30s`, `1m`), more than zero; the error names the flag.
func durationFlag(_ text: String, flag: String) throws -> Double {
    do {
        let seconds = try PolicyDuration.parse(text)
        guard seconds > 0 else { throw ValidationError("\(flag) must be more than 0s") }
        return seconds
    } catch let error as PolicyDuration.ParseError {
        throw ValidationError("\(flag): \(error)")
    }
}

/// Reads `--at`: `now`, an RFC 3339 time, or Unix seconds.
enum TimeArgument {
    static func parse(_ text: String?, now: Double = SystemClock().now()) throws -> Double {
        guard let text, text != "now" else { return now.rounded(.down) }
        if let seconds = Double(text) {
            // nan, inf and 1e300 parse as numbers; none is a time Prometheus or a journal can hold.
            guard seconds.isFinite, seconds >= 0, seconds <= 7_258_118_400 else {
                throw ValidationError("--at '\(text)' is not a time between 1970 and 2200; write now, 2026-11-22T21:00:00Z, or Unix seconds")
            }
            return seconds
        }
        let formatter = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds]] {
            formatter.formatOptions = options
            if let date = formatter.date(from: text) { return date.timeIntervalSince1970 }
        }
        throw ValidationError("--at '\(text)' is not a time; write now, 2026-11-22T21:00:00Z, or Unix seconds")
    }
}
