import ArgumentParser
import Foundation
import Logging
import TrimtabCore
import TrimtabCycle
import TrimtabDaemon
import TrimtabNotify

/// Where notifications go, over the policy's `spec.notify`: shared by `analyze`, `report` and `run`.
struct NotifyOptions: ParsableArguments {
    @Option(name: .customLong("notify"), help: ArgumentHelp(
        "Send notifications to an Alertmanager URL, or to a webhook whose URL is in a file (repeatable).",
        discussion: """
        http://HOST:9093 or https://…: an Alertmanager (API v2; give each member of an HA pair). \
        webhook:FILE: Trimtab's JSON body (trimtab.io/notification/v1) to the URL held in FILE. \
        slack:FILE: Slack's incoming-webhook body (text and blocks) to the URL held in FILE. \
        A webhook's URL is a secret, so it is only read from a file (a mounted Secret), never shown. \
        Added to the policy's spec.notify.
        """, valueName: "target"))
    var notify: [String] = []

    @Option(help: ArgumentHelp("A page for people linked from every alert (the status API, a dashboard, the CI job).", valueName: "url"))
    var notifyLink: String?

    @Option(help: ArgumentHelp(
        "One-shot runs: how long an alert holds in Alertmanager if no later run sends it again; make it longer than the time between runs.",
        valueName: "duration"))
    var notifyValidFor: String = "1h"

    @Option(help: ArgumentHelp("The longest one delivery attempt to one receiver may take.", valueName: "duration"))
    var notifyTimeout: String = "10s"

    @Option(help: ArgumentHelp("Tries per notification and receiver (the first included), with backoff and jitter between them, before it is dropped and counted.", valueName: "n"))
    var notifyAttempts: Int = 4

    @Option(help: ArgumentHelp("A file holding a bearer token for the --notify Alertmanagers.", valueName: "path"))
    var alertmanagerBearerTokenFile: String?

    @Option(help: ArgumentHelp("User for HTTP basic auth to the --notify Alertmanagers.", valueName: "user"))
    var alertmanagerBasicAuthUser: String?

    @Option(help: ArgumentHelp("A file holding that user's password.", valueName: "path"))
    var alertmanagerBasicAuthPasswordFile: String?

    @Option(help: ArgumentHelp("PEM file of CA certificates to trust for https Alertmanagers.", valueName: "path"))
    var alertmanagerCaFile: String?

    @Option(help: ArgumentHelp("PEM client certificate for mutual TLS to the Alertmanagers (with --alertmanager-key-file).", valueName: "path"))
    var alertmanagerCertFile: String?

    @Option(help: ArgumentHelp("PEM private key for mutual TLS to the Alertmanagers.", valueName: "path"))
    var alertmanagerKeyFile: String?

    @Flag(help: "Do not verify the Alertmanagers' TLS certificates. For testing only.")
    var alertmanagerInsecureSkipTlsVerify = false

    func validate() throws {
        _ = try flagSettings()
        _ = try validForSeconds()
        _ = try deliveryOptions()
        if (alertmanagerCertFile == nil) != (alertmanagerKeyFile == nil) {
            throw ValidationError("--alertmanager-cert-file and --alertmanager-key-file go together")
        }
        if alertmanagerBasicAuthPasswordFile != nil && alertmanagerBasicAuthUser == nil {
            throw ValidationError("--alertmanager-basic-auth-password-file needs --alertmanager-basic-auth-user")
        }
    }

    func validForSeconds() throws -> Double {
        let seconds = try durationFlag(notifyValidFor, flag: "--notify-valid-for")
        guard seconds >= 60 else { throw ValidationError("--notify-valid-for must be at least 1m") }
        return seconds
    }

    /// How each notification is delivered: the timeout per attempt and the number of attempts.
    func deliveryOptions() throws -> Notifier.Options {
        var options = Notifier.Options()
        options.timeoutSeconds = try durationFlag(notifyTimeout, flag: "--notify-timeout")
        guard (1...20).contains(notifyAttempts) else { throw ValidationError("--notify-attempts must be from 1 to 20") }
        options.attempts = notifyAttempts
        return options
    }

    /// The receivers and link the flags name, to add to the policy's `spec.notify`.
    func flagSettings() throws -> NotifySettings {
        var settings = NotifySettings()
        for (index, target) in notify.enumerated() {
            let lower = target.lowercased()
            if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
                switch NotifySettings.problem(url: target) {
                case .notHTTP: throw ValidationError("--notify '\(Redaction.displayURL(target))' is not a URL with a host")
                case .holdsPassword:
                    throw ValidationError("--notify: put the Alertmanager's password in a file and give --alertmanager-basic-auth-password-file")
                case nil: break
                }
                settings.alertmanagers.append(AlertmanagerEndpoint(
                    url: target, bearerTokenFile: alertmanagerBearerTokenFile, basicAuthUser: alertmanagerBasicAuthUser,
                    basicAuthPasswordFile: alertmanagerBasicAuthPasswordFile, caFile: alertmanagerCaFile, certFile: alertmanagerCertFile,
                    keyFile: alertmanagerKeyFile, insecureSkipVerify: alertmanagerInsecureSkipTlsVerify))
            } else if let (scheme, format) = [("webhook:", WebhookEndpoint.Format.json), ("slack:", .slack)].first(where: { target.hasPrefix($0.0) }),
                      target.count > scheme.count {
                settings.webhooks.append(WebhookEndpoint(name: "\(scheme.dropLast())-\(settings.webhooks.count + 1)",
                                                         urlFile: String(target.dropFirst(scheme.count)), format: format))
            } else {
                throw ValidationError("--notify #\(index + 1) is neither an Alertmanager URL (http://HOST:9093) nor webhook:FILE or slack:FILE")
            }
        }
        if let notifyLink { settings.link = notifyLink }
        return settings
    }

    /// Sends a one-shot run's notifications and says what became of them; failures are reported, not fatal.
    func sendOnce(_ facts: CycleFacts, policy: Policy, quiet: Bool) async throws {
        var settings = policy.notify.adding(try flagSettings())
        guard !settings.isEmpty else { return }
        // One run is all a one-shot has: one that could not read says so at once (and the next good run resolves it).
        settings.unreachableAfterCycles = 1
        let logger = Logger.trimtab(format: .text, level: quiet ? .error : .warning)
        do {
            let result = try await OneShotNotification.send(facts, settings: settings, validForSeconds: try validForSeconds(),
                                                            now: SystemClock().now().rounded(.down), options: try deliveryOptions(), logger: logger)
            if !quiet || !result.allDelivered { printError(result.line) }
        } catch {
            printError("error: notifications: \(error)")
        }
    }
}
