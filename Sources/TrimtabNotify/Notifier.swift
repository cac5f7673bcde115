import AsyncHTTPClient
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOSSL
import TrimtabCore
import TrimtabCycle
import TrimtabPrometheus

/// Delivers notifications to every Alertmanager and webhook, off the caller's path: `submit` only
/// queues (it never waits on a network), and each receiver has its own bounded queue and worker, so a
/// receiver that hangs delays nobody else. Each body is retried with backoff and jitter, each attempt
/// under a timeout; what cannot be delivered is dropped, logged and counted; when a queue is full the
/// oldest waiting body is dropped first, and counted.
public final class Notifier: Sendable {
    public struct Options: Sendable {
        /// Bodies waiting per receiver before the oldest is dropped.
        public var queueLimit = 64
        /// Tries per body, the first included.
        public var attempts = 4
        /// The longest one attempt may take.
        public var timeoutSeconds: Double = 10
        /// The waits between tries: the first, doubled each time up to the ceiling, ±20 %.
        public var backoff = Backoff(first: 1, ceiling: 30)
        /// Whose time the waits between tries pass on.
        public var clock: any TimeSource = SystemClock()
        /// Where `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` are read from: each receiver is reached
        /// through the proxy its URL calls for (a Slack webhook through the corporate proxy, say).
        public var environment: [String: String] = ProcessInfo.processInfo.environment

        public init() {}
    }

    /// What happened to a body, for metrics.
    public enum Event: Sendable, Equatable {
        case delivered(receiver: String)
        /// Given up on after every attempt, or refused outright (a 4xx other than 429).
        case failed(receiver: String)
        /// Dropped from a full queue, unsent.
        case dropped(receiver: String)
        case retried(receiver: String)
    }

    public let receivers: [Receiver]
    /// One client per way out: direct, and one per proxy a receiver goes through.
    let clients: [HTTPClient]
    /// Each receiver's client, by its index.
    let clientOf: [Int]
    var http: HTTPClient { clients[0] }
    let options: Options
    let logger: Logger
    let workers: [Worker]

    /// Reads every secret file now, so a missing file stops the start with its path rather than failing later.
    public init(settings: NotifySettings, options: Options = Options(), logger: Logger,
                observe: @escaping @Sendable (Event) -> Void = { _ in }) throws(NotifyError) {
        var receivers: [Receiver] = []
        for endpoint in settings.alertmanagers { receivers.append(try Receiver(alertmanager: endpoint)) }
        for webhook in settings.webhooks { receivers.append(try Receiver(webhook: webhook)) }
        var names = Set<String>()
        for index in receivers.indices where !names.insert(receivers[index].name).inserted {
            receivers[index].name += "#\(index + 1)"
        }
        self.receivers = receivers
        self.options = options
        self.logger = logger
        // Each request carries its receiver's TLS setting (the pool keys connections by it): one
        // client-wide setting would check every receiver against the first one's CA.
        func client(_ proxy: ProxyEndpoint?) -> HTTPClient {
            var configuration = HTTPClient.Configuration()
            configuration.timeout = .init(connect: .seconds(Int64(max(1, min(options.timeoutSeconds, 10)))))
            configuration.connectionPool.retryConnectionEstablishment = false
            configuration.proxy = proxy.map(HTTPCredentials.proxy)
            return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        }
        var clients = [client(nil)]
        var byProxy: [String: Int] = [:]
        var clientOf: [Int] = []
        for receiver in receivers {
            let proxy: ProxyEndpoint?
            do throws(ProxyError) {
                proxy = try ProxyEnvironment.proxy(for: receiver.url, environment: options.environment)
            } catch {
                throw NotifyError(description: "\(receiver.name): \(error)")
            }
            guard let proxy else {
                clientOf.append(0)
                continue
            }
            let key = "\(proxy.kind) \(proxy.host) \(proxy.port) \(proxy.user ?? "")"
            if byProxy[key] == nil {
                byProxy[key] = clients.count
                clients.append(client(proxy))
            }
            clientOf.append(byProxy[key]!)
        }
        self.clients = clients
        self.clientOf = clientOf
        workers = receivers.indices.map { Worker(receiver: receivers[$0], http: clients[clientOf[$0]], options: options, logger: logger, observe: observe) }
    }

    public var isEmpty: Bool { receivers.isEmpty }

    /// Reads every secret file the settings name, as starting would, without starting anything.
    public static func check(_ settings: NotifySettings) throws(NotifyError) {
        for endpoint in settings.alertmanagers { _ = try Receiver(alertmanager: endpoint) }
        for webhook in settings.webhooks { _ = try Receiver(webhook: webhook) }
    }

    /// Queues what `batch` says for every receiver and returns at once: Alertmanagers get its alerts,
    /// webhooks its news (nothing when there is none).
    public func submit(_ batch: NotificationBatch) {
        for worker in workers {
            switch worker.receiver.kind {
            case .alertmanager:
                if !batch.alerts.isEmpty { worker.enqueue(NotificationBodies.alertmanager(batch.alerts)) }
            case .webhook(let format):
                guard !batch.news.isEmpty else { continue }
                worker.enqueue(format == .slack ? NotificationBodies.slack(batch) : NotificationBodies.webhook(batch))
            }
        }
    }

    /// Bodies waiting (or being sent) per receiver.
    public func queueLengths() -> [(receiver: String, length: Int)] {
        workers.map { ($0.receiver.name, $0.pending) }
    }

    /// The alerts of `policy` that Alertmanager holds active, from the first Alertmanager that answers:
    /// a one-shot run seeds its book with them, so what cleared since the last run is resolved.
    public func activeAlerts(policy: String) async -> [Alert] {
        for (index, receiver) in receivers.enumerated() {
            let http = clients[clientOf[index]]
            guard case .alertmanager = receiver.kind else { continue }
            let filter = "policy=\"\(policy)\"".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            var request = HTTPClientRequest(url: receiver.url + "/api/v2/alerts?active=true&silenced=true&inhibited=true&filter=" + filter)
            request.tlsConfiguration = receiver.tls
            request.headers.add(name: "Accept", value: "application/json")
            do {
                if let header = try receiver.authorization() { request.headers.add(name: "Authorization", value: header) }
                let response = try await http.execute(request, timeout: .milliseconds(Int64(options.timeoutSeconds * 1000)))
                let body = try await response.body.collect(upTo: 16 * 1024 * 1024)
                guard response.status == .ok else {
                    logger.warning("could not list the active alerts", metadata: ["receiver": "\(receiver.name)", "status": "\(response.status.code)"])
                    continue
                }
                return try AlertmanagerAlerts.decode(Data(buffer: body))
            } catch {
                logger.warning("could not list the active alerts", metadata: ["receiver": "\(receiver.name)",
                                                                              "error": "\(receiver.scrub(PrometheusClient.describe(error)))"])
            }
        }
        return []
    }

    /// Waits until every queue is empty or `seconds` pass, then stops the workers (what still waits is
    /// dropped and counted) and closes the connections. Call once, at the end.
    public func finish(within seconds: Double) async {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while workers.contains(where: { $0.pending > 0 }) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        for worker in workers { await worker.stop() }
        for client in clients { try? await client.shutdown() }
    }
}

/// Why notifications cannot start, with the path or setting at fault (never a secret).
public struct NotifyError: Error, CustomStringConvertible {
    public var description: String
}

/// One place notifications go.
public struct Receiver: Sendable {
    public enum Kind: Sendable, Equatable {
        case alertmanager
        case webhook(WebhookEndpoint.Format)
    }

    /// How it is shown: an Alertmanager's URL without credentials, a webhook's name (its URL is a secret).
    public var name: String
    public let kind: Kind
    /// The base URL (Alertmanager) or the webhook's URL, read from its file.
    let url: String
    let tls: TLSConfiguration?
    let credentials: (bearerTokenFile: String?, user: String?, passwordFile: String?)

    init(alertmanager endpoint: AlertmanagerEndpoint) throws(NotifyError) {
        name = Redaction.displayURL(endpoint.url)
        kind = .alertmanager
        var base = endpoint.url
        while base.hasSuffix("/") { base.removeLast() }
        url = base
        credentials = (endpoint.bearerTokenFile, endpoint.basicAuthUser, endpoint.basicAuthPasswordFile)
        if endpoint.url.lowercased().hasPrefix("https") || endpoint.caFile != nil || endpoint.certFile != nil {
            do {
                tls = try HTTPCredentials.tls(caFile: endpoint.caFile, certFile: endpoint.certFile, keyFile: endpoint.keyFile,
                                              insecureSkipVerify: endpoint.insecureSkipVerify)
            } catch {
                throw NotifyError(description: "Alertmanager \(name): \(error)")
            }
        } else {
            tls = nil
        }
        do {
            _ = try authorization()
        } catch {
            throw NotifyError(description: "Alertmanager \(name): \(error)")
        }
    }

    init(webhook: WebhookEndpoint) throws(NotifyError) {
        name = webhook.name
        kind = .webhook(webhook.format)
        guard let text = try? String(contentsOfFile: webhook.urlFile, encoding: .utf8) else {
            throw NotifyError(description: "webhook \(webhook.name): could not read its URL file \(webhook.urlFile)")
        }
        let url = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard NotifySettings.problem(url: url) != .notHTTP else {
            throw NotifyError(description: "webhook \(webhook.name): the file \(webhook.urlFile) does not hold an http(s) URL")
        }
        self.url = url
        tls = nil
        credentials = (nil, nil, nil)
    }

    func authorization() throws(HTTPCredentials.CredentialError) -> String? {
        try HTTPCredentials.authorization(bearerTokenFile: credentials.bearerTokenFile, basicAuthUser: credentials.user,
                                          basicAuthPasswordFile: credentials.passwordFile)
    }

    var postURL: String { kind == .alertmanager ? url + "/api/v2/alerts" : url }

    /// `text` with this receiver's secrets (its webhook URL, its token) taken out.
    func scrub(_ text: String) -> String {
        var secrets = [url]
        if case .webhook = kind, let components = URLComponents(string: url) { secrets.append(components.path) }
        if let header = try? authorization(), let space = header.firstIndex(of: " ") {
            secrets.append(String(header[header.index(after: space)...]))
        }
        return Redaction.scrub(text, secrets: kind == .alertmanager ? Array(secrets.dropFirst()) : secrets)
    }
}

/// One receiver's queue and the task that empties it.
final class Worker: Sendable {
    let receiver: Receiver
    private let state = NIOLockedValueBox(State())
    private let wake: AsyncStream<Void>.Continuation
    private let task = NIOLockedValueBox<Task<Void, Never>?>(nil)
    private let options: Notifier.Options
    private let observe: @Sendable (Notifier.Event) -> Void
    private let logger: Logger

    struct State {
        var queue: [Data] = []
        var sending = false
        var droppedInARow = 0
    }

    init(receiver: Receiver, http: HTTPClient, options: Notifier.Options, logger: Logger, observe: @escaping @Sendable (Notifier.Event) -> Void) {
        self.receiver = receiver
        self.options = options
        self.observe = observe
        self.logger = logger
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        wake = continuation
        let state = self.state
        let worker = Task { [receiver, options, observe, logger] in
            for await _ in stream {
                while !Task.isCancelled {
                    let next: Data? = state.withLockedValue { state in
                        guard !state.queue.isEmpty else {
                            state.sending = false
                            return nil
                        }
                        state.sending = true
                        return state.queue.removeFirst()
                    }
                    guard let body = next else { break }
                    await Self.deliver(body, to: receiver, http: http, options: options, logger: logger, observe: observe)
                }
            }
        }
        task.withLockedValue { $0 = worker }
    }

    var pending: Int { state.withLockedValue { $0.queue.count + ($0.sending ? 1 : 0) } }

    func enqueue(_ body: Data) {
        let dropped = state.withLockedValue { state -> Int in
            state.queue.append(body)
            var dropped = 0
            while state.queue.count > options.queueLimit {
                state.queue.removeFirst()
                dropped += 1
            }
            state.droppedInARow = dropped > 0 ? state.droppedInARow + dropped : 0
            return dropped > 0 ? state.droppedInARow : 0
        }
        if dropped > 0 {
            observe(.dropped(receiver: receiver.name))
            // Once per run of drops, not once per drop: a receiver down for hours must not flood the log.
            if dropped == 1 || dropped % 100 == 0 {
                logger.warning("notification queue full: dropping the oldest waiting notification",
                               metadata: ["receiver": "\(receiver.name)", "dropped_in_a_row": "\(dropped)", "limit": "\(options.queueLimit)"])
            }
        }
        wake.yield()
    }

    /// Stops the worker; what still waits is dropped and counted.
    func stop() async {
        let left = state.withLockedValue { state -> Int in
            let count = state.queue.count
            state.queue.removeAll()
            return count
        }
        for _ in 0..<left { observe(.dropped(receiver: receiver.name)) }
        if left > 0 {
            logger.warning("stopping with notifications unsent", metadata: ["receiver": "\(receiver.name)", "unsent": "\(left)"])
        }
        wake.finish()
        let worker = task.withLockedValue { $0 }
        worker?.cancel()
        await worker?.value
    }

    static func deliver(_ body: Data, to receiver: Receiver, http: HTTPClient, options: Notifier.Options, logger: Logger,
                        observe: @Sendable (Notifier.Event) -> Void) async {
        var problem = ""
        for attempt in 1...max(1, options.attempts) {
            if attempt > 1 {
                observe(.retried(receiver: receiver.name))
                do { try await options.clock.sleep(for: options.backoff.delay(afterFailures: attempt - 1)) } catch { break }
            }
            var request = HTTPClientRequest(url: receiver.postURL)
            request.tlsConfiguration = receiver.tls
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "User-Agent", value: "trimtab")
            request.body = .bytes(ByteBuffer(bytes: body))
            do {
                if let header = try receiver.authorization() { request.headers.add(name: "Authorization", value: header) }
                let response = try await http.execute(request, timeout: .milliseconds(Int64(options.timeoutSeconds * 1000)))
                let answer = try await response.body.collect(upTo: 64 * 1024)
                let code = Int(response.status.code)
                if (200..<300).contains(code) {
                    observe(.delivered(receiver: receiver.name))
                    logger.debug("notification delivered", metadata: ["receiver": "\(receiver.name)", "attempt": "\(attempt)"])
                    return
                }
                let excerpt = String(decoding: Data(buffer: answer).prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                problem = "HTTP \(code)" + (excerpt.isEmpty ? "" : ": \(excerpt)")
                // A refusal other than 429 will be refused again: do not retry it.
                if (400..<500).contains(code) && code != 429 { break }
            } catch let error as HTTPCredentials.CredentialError {
                problem = error.description
                break
            } catch {
                if Task.isCancelled { problem = "stopped"; break }
                problem = PrometheusClient.describe(error)
            }
        }
        observe(.failed(receiver: receiver.name))
        logger.error("notification not delivered; dropped", metadata: ["receiver": "\(receiver.name)", "error": "\(receiver.scrub(problem))"])
    }
}

/// Alertmanager's `GET /api/v2/alerts` answer, as alerts.
enum AlertmanagerAlerts {
    struct Gettable: Decodable {
        var labels: [String: String]
        var annotations: [String: String]?
        var startsAt: String
        var endsAt: String
        var generatorURL: String?
    }

    static func decode(_ data: Data) throws -> [Alert] {
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        func seconds(_ text: String) -> Double {
            (parser.date(from: text) ?? plain.date(from: text))?.timeIntervalSince1970 ?? 0
        }
        return try JSONDecoder().decode([Gettable].self, from: data).map {
            Alert(labels: $0.labels, annotations: $0.annotations ?? [:], startsAt: seconds($0.startsAt), endsAt: seconds($0.endsAt),
                  generatorURL: $0.generatorURL)
        }
    }
}
