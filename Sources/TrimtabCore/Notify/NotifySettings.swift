import Foundation

/// Where Trimtab's notifications go (`spec.notify`, or `--notify` flags): Alertmanagers and webhooks.
public struct NotifySettings: Sendable, Equatable, Codable {
    /// Every Alertmanager gets every alert, as Prometheus sends to each member of an HA pair.
    public var alertmanagers: [AlertmanagerEndpoint]
    public var webhooks: [WebhookEndpoint]
    /// A page for people (the status API, a dashboard, the report's artifact), linked from every alert.
    public var link: String?
    /// How often an alert that still holds is sent to Alertmanager again; its `endsAt` is four times
    /// this (and at least four intervals) ahead, as Prometheus does, so a Trimtab that stops sending
    /// lets its alerts resolve by themselves.
    public var resendSeconds: Double
    /// Cycles in a row that could not read Prometheus or the cluster before `TrimtabCannotRead` fires.
    public var unreachableAfterCycles: Int

    public init(alertmanagers: [AlertmanagerEndpoint] = [], webhooks: [WebhookEndpoint] = [], link: String? = nil,
                resendSeconds: Double = 60, unreachableAfterCycles: Int = 3) {
        self.alertmanagers = alertmanagers
        self.webhooks = webhooks
        self.link = link
        self.resendSeconds = resendSeconds
        self.unreachableAfterCycles = unreachableAfterCycles
    }

    public var isEmpty: Bool { alertmanagers.isEmpty && webhooks.isEmpty }

    /// What is wrong with a URL to post notifications to; each caller words it for where it was written.
    public enum URLProblem: Sendable {
        /// Not http(s), or no host.
        case notHTTP
        /// A password in the URL itself, where a file belongs.
        case holdsPassword
    }

    public static func problem(url text: String) -> URLProblem? {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(), ["http", "https"].contains(scheme),
              components.host?.isEmpty == false else { return .notHTTP }
        return components.password == nil ? nil : .holdsPassword
    }

    /// These settings with `flags`' receivers added, and its link (when it has one) instead of this one.
    public func adding(_ flags: NotifySettings) -> NotifySettings {
        var result = self
        result.alertmanagers += flags.alertmanagers
        result.webhooks += flags.webhooks
        result.link = flags.link ?? link
        return result
    }
}

/// An Alertmanager, reached as Prometheus is: optional bearer token or basic auth, custom CA, client certificate.
public struct AlertmanagerEndpoint: Sendable, Equatable, Codable {
    /// The base URL, e.g. `http://alertmanager.monitoring:9093`; alerts go to `/api/v2/alerts` under it.
    public var url: String
    public var bearerTokenFile: String?
    public var basicAuthUser: String?
    public var basicAuthPasswordFile: String?
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?
    public var insecureSkipVerify: Bool

    public init(url: String, bearerTokenFile: String? = nil, basicAuthUser: String? = nil, basicAuthPasswordFile: String? = nil,
                caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil, insecureSkipVerify: Bool = false) {
        self.url = url
        self.bearerTokenFile = bearerTokenFile
        self.basicAuthUser = basicAuthUser
        self.basicAuthPasswordFile = basicAuthPasswordFile
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.insecureSkipVerify = insecureSkipVerify
    }
}

/// A webhook. Its URL is a secret (a Slack incoming-webhook URL is the credential), so it is only ever
/// read from a file, and shown by name.
public struct WebhookEndpoint: Sendable, Equatable, Codable {
    public enum Format: String, Sendable, Codable, CaseIterable {
        /// Trimtab's versioned JSON body (`trimtab.io/notification/v1`), for generic receivers.
        case json
        /// Slack's incoming-webhook body (text plus blocks), which Mattermost, Rocket.Chat and others accept.
        case slack
    }

    /// How it is shown in logs and metrics.
    public var name: String
    public var urlFile: String
    public var format: Format

    public init(name: String, urlFile: String, format: Format) {
        self.name = name
        self.urlFile = urlFile
        self.format = format
    }
}
