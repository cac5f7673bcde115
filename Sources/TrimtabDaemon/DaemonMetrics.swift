import Foundation
import Metrics
import Prometheus
import TrimtabCore
import TrimtabNotify

/// What `trimtab run` tells Prometheus about itself, through swift-metrics into a registry of its own
/// (never the process-wide metrics system, so two daemons in one test process do not mix).
/// Every name is documented in docs/control-loop.md's "Metrics" table.
public final class DaemonMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory
    let cycleDuration: Metrics.Timer
    let slowCycles: Metrics.Counter
    let cycleQueries: Metrics.Gauge
    let cycleBytes: Metrics.Gauge
    let queries: Metrics.Counter
    let queryBytes: Metrics.Counter
    let queryErrors: Metrics.Counter
    let wholeReads: Metrics.Counter
    let windowPoints: Metrics.Gauge
    let score: Metrics.Gauge
    let scoreKnown: Metrics.Gauge
    let leader: Metrics.Gauge
    let paused: Metrics.Gauge
    let lastSuccess: Metrics.Gauge
    let rollbacks: Metrics.Counter
    let policyRefused: Metrics.Gauge
    private let targetScores = LockedTargets()
    private let objectiveGauges = LockedTargets()

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120].map { .milliseconds(Int64($0 * 1000)) }
        self.factory = factory
        cycleDuration = Metrics.Timer(label: "trimtab_cycle_duration_seconds", dimensions: [], preferredDisplayUnit: .seconds, factory: factory)
        slowCycles = Metrics.Counter(label: "trimtab_cycles_slow_total", factory: factory)
        cycleQueries = Metrics.Gauge(label: "trimtab_cycle_queries", factory: factory)
        cycleBytes = Metrics.Gauge(label: "trimtab_cycle_query_bytes", factory: factory)
        queries = Metrics.Counter(label: "trimtab_queries_total", factory: factory)
        queryBytes = Metrics.Counter(label: "trimtab_query_bytes_total", factory: factory)
        queryErrors = Metrics.Counter(label: "trimtab_query_errors_total", factory: factory)
        wholeReads = Metrics.Counter(label: "trimtab_window_whole_reads_total", factory: factory)
        windowPoints = Metrics.Gauge(label: "trimtab_window_points", factory: factory)
        score = Metrics.Gauge(label: "trimtab_health_score", factory: factory)
        scoreKnown = Metrics.Gauge(label: "trimtab_health_score_known", factory: factory)
        leader = Metrics.Gauge(label: "trimtab_leader", factory: factory)
        paused = Metrics.Gauge(label: "trimtab_paused", factory: factory)
        lastSuccess = Metrics.Gauge(label: "trimtab_last_successful_cycle_timestamp_seconds", factory: factory)
        rollbacks = Metrics.Counter(label: "trimtab_rollbacks_total", factory: factory)
        policyRefused = Metrics.Gauge(label: "trimtab_policy_refused", factory: factory)
        leader.record(0)
        policyRefused.record(0)
        paused.record(0)
        scoreKnown.record(0)
    }

    /// With `--shard`: 1 for the shard held, 0 for each other.
    func shards(_ names: [String], holding: String?) {
        for name in names {
            Metrics.Gauge(label: "trimtab_shard_held", dimensions: [("shard", name)], factory: factory).record(name == holding ? 1 : 0)
        }
    }

    func cycle(outcome: String) {
        Metrics.Counter(label: "trimtab_cycles_total", dimensions: [("outcome", outcome)], factory: factory).increment()
    }

    func bottlenecks(_ assessment: Assessment) {
        for severity in [CheckStatus.warning, .critical] {
            Metrics.Gauge(label: "trimtab_bottlenecks", dimensions: [("severity", severity.rawValue)], factory: factory)
                .record(assessment.bottlenecks.filter { $0.severity == severity }.count)
        }
    }

    func action(kind: String, outcome: String) {
        Metrics.Counter(label: "trimtab_actions_total", dimensions: [("kind", kind), ("outcome", outcome)], factory: factory).increment()
    }

    func verification(result: String) {
        Metrics.Counter(label: "trimtab_verifications_total", dimensions: [("result", result)], factory: factory).increment()
    }

    /// A reload, and whether the policy files as they are now are refused: the counter counts each
    /// change of the files once, so an alert on a policy still refused reads the gauge.
    func policyReload(success: Bool) {
        Metrics.Counter(label: "trimtab_policy_reloads_total", dimensions: [("result", success ? "success" : "failure")], factory: factory).increment()
        policyRefused.record(success ? 0 : 1)
    }

    /// What became of a notification, per receiver (a webhook by its name: its URL is a secret).
    func notification(_ event: Notifier.Event) {
        switch event {
        case .delivered(let receiver): notificationCounter(receiver, "delivered").increment()
        case .failed(let receiver): notificationCounter(receiver, "failed").increment()
        case .dropped(let receiver): notificationCounter(receiver, "dropped").increment()
        case .retried(let receiver):
            Metrics.Counter(label: "trimtab_notification_retries_total", dimensions: [("receiver", receiver)], factory: factory).increment()
        }
    }

    func notificationCounter(_ receiver: String, _ result: String) -> Metrics.Counter {
        Metrics.Counter(label: "trimtab_notifications_total", dimensions: [("receiver", receiver), ("result", result)], factory: factory)
    }

    func notificationQueues(_ lengths: [(receiver: String, length: Int)]) {
        for (receiver, length) in lengths {
            Metrics.Gauge(label: "trimtab_notification_queue_length", dimensions: [("receiver", receiver)], factory: factory).record(length)
        }
    }

    /// One gauge per target, labelled with the target's groupBy labels; the gauges of targets that
    /// went away are removed, so a scrape never shows a score for a workload no longer there.
    func targetScores(_ assessment: Assessment) {
        var seen: Set<[String]> = []
        for target in assessment.targets {
            let dimensions = zip(target.target.labelNames, target.target.labelValues).map { ($0, $1) }
            let gauge = Metrics.Gauge(label: "trimtab_target_health_score", dimensions: dimensions, factory: factory)
            gauge.record(target.score ?? .nan)
            let key = target.target.labelNames + ["\u{0}"] + target.target.labelValues
            seen.insert(key)
            targetScores.keep(key, gauge)
        }
        for gauge in targetScores.removeAll(except: seen) { gauge.destroy() }
    }

    /// Per objective and target: compliance over its window, the share of its budget left and the burn
    /// rate over each alert window, NaN where unknown; the gauges of objectives or targets gone are
    /// removed, as the target scores' are.
    func objectives(_ statuses: [ObjectiveStatus]) {
        var seen: Set<[String]> = []
        func gauge(_ label: String, _ status: ObjectiveStatus, extra: [(String, String)] = [], _ value: Double?) {
            let dimensions = zip(status.target.labelNames, status.target.labelValues).map { ($0, $1) } + [("objective", status.objective)] + extra
            let gauge = Metrics.Gauge(label: label, dimensions: dimensions, factory: factory)
            gauge.record(value ?? .nan)
            let key = [label] + dimensions.flatMap { [$0.0, $0.1] }
            seen.insert(key)
            objectiveGauges.keep(key, gauge)
        }
        for status in statuses {
            gauge("trimtab_objective_compliance_ratio", status, status.compliance)
            gauge("trimtab_objective_budget_remaining_ratio", status, status.budgetLeft)
            for range in BurnWindow.ranges {
                gauge("trimtab_objective_burn_rate", status, extra: [("window", PolicyDuration.format(range))], status.burn(over: range))
            }
            gauge("trimtab_objective_fast_burn", status, status.state == .unknown ? nil : (status.state == .fastBurn || status.state == .exhausted ? 1 : 0))
        }
        for gauge in objectiveGauges.removeAll(except: seen) { gauge.destroy() }
    }

    /// The registry in Prometheus's text format.
    public func exposition() -> String { registry.emitToString() }

    static func knobKind(_ knob: Knob) -> String {
        switch knob {
        case .replicas: return "replicas"
        case .configMap: return "configmap"
        case .env: return "env"
        case .http, .podHTTP: return "http"
        case .jolokia: return "jolokia"
        case .pgbouncer: return "pgbouncer"
        case .autoscalerMaxReplicas: return "hpa-max-replicas"
        case .autoscalerTargetUtilization: return "hpa-target-utilization"
        case .autoscalerScaleDownWindow: return "hpa-scale-down-window"
        }
    }
}

/// The per-target gauges alive now, behind a lock (the metrics object is shared, its users are not
/// isolated to one actor).
final class LockedTargets: @unchecked Sendable {
    private let lock = NSLock()
    private var gauges: [[String]: Metrics.Gauge] = [:]

    func keep(_ key: [String], _ gauge: Metrics.Gauge) {
        lock.withLock { gauges[key] = gauge }
    }

    func removeAll(except keys: Set<[String]>) -> [Metrics.Gauge] {
        lock.withLock {
            let gone = gauges.filter { !keys.contains($0.key) }
            for key in gone.keys { gauges[key] = nil }
            return Array(gone.values)
        }
    }
}
