import ArgumentParser
import Foundation
import TrimtabCore
import TrimtabPrometheus

/// `trimtab policy init`: writes a policy for the metrics a Prometheus already has.
struct PolicyInitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a policy for the metric conventions your Prometheus already has.",
        discussion: """
        Reads what the server has (its metric names, the label names of a few candidate metrics, and one \
        count per convention found: a handful of cheap queries, never one per series) and recognises the \
        conventions services export: Spring Boot / Micrometer, OpenTelemetry's semantic conventions (classic \
        and native histograms), the Prometheus client libraries, Node's prom-client, and the Istio and \
        Linkerd meshes; HikariCP and OpenTelemetry connection pools; Micrometer and hits/misses caches. It \
        writes the default policy with each indicator covering every convention found (a workload reported \
        by two, the application and its mesh, is counted once, the application preferred; milliseconds \
        become seconds), keeping its checks, thresholds and actions. The file's header and standard error \
        say what was found, for how many workloads, and what could not be mapped and why. The policy is \
        linted before it is written.

        Examples:
          trimtab policy init --prometheus http://prometheus:9090 -o policies/mine.yaml
          trimtab policy check --prometheus http://prometheus:9090 --policy policies/mine.yaml

        Exit codes: 0 the policy was written; 1 invalid flags, or the file could not be written; 3 \
        Prometheus could not be read (nothing is written).
        """
    )

    @OptionGroup(title: "Prometheus") var prometheus: PrometheusOptions

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the policy; - for standard output.", valueName: "path"))
    var output: String = "-"

    @Option(help: ArgumentHelp("The policy's metadata.name.", valueName: "name"))
    var name: String = "default"

    @Option(help: ArgumentHelp("Count workloads at this time: now, an RFC 3339 time, or Unix seconds.", valueName: "time"))
    var at: String = "now"

    func run() async throws {
        let time = try TimeArgument.parse(at)
        let client = try prometheus.clientOrExit()
        let outcome: (found: PolicyInitWriter.Found, summary: [String])
        do {
            outcome = try await Self.survey(client, at: time) { printError($0) }
        } catch {
            await client.shutdown()
            printError("error: \(error)")
            printError("no policy was written")
            throw TrimtabExit.metricsUnavailable
        }
        await client.shutdown()
        let text = PolicyInitWriter.write(defaultPolicy: DefaultPolicy.yaml, found: outcome.found, name: name, source: client.displayName)
        // Never write a policy that does not load: that would be this command's bug.
        do {
            _ = try PolicyLoader.load(text: text, file: output == "-" ? "(policy init)" : output)
        } catch {
            printError("error: the written policy does not lint, which is a bug in policy init:\n\(error)")
            throw TrimtabExit.invalidInput
        }
        try emit(text + "\n", to: output)
        for line in outcome.summary { printError(line) }
        if output != "-" { printError("policy: \(output); try it with `trimtab policy check --prometheus \(client.displayName) --policy \(output)`") }
    }

    /// What the server has, in a few cheap queries: the conventions found, with a line each for the
    /// file's header, and the same for standard error.
    static func survey(_ client: PrometheusClient, at time: Double,
                       progress: (String) -> Void) async throws(PrometheusError) -> (found: PolicyInitWriter.Found, summary: [String]) {
        progress("reading the metric names of \(client.displayName)")
        let names = Set(try await client.metricNames())
        // Label names only where a convention needs one to tell it from another (prom-client's status_code).
        var labels: [String: Set<String>] = [:]
        for convention in MetricConventions.requests where convention.requiresLabel != nil && convention.requires.allSatisfy(names.contains) {
            labels[convention.requestMetric] = Set(try await client.labelNames(matching: convention.requestMetric))
        }
        let (requests, resources) = MetricConventions.recognise(names: names, labels: labels)
        let targets = TargetSelector(groupBy: ["namespace", "workload"])
        var notes: [String] = []
        var claimed: [String: String] = [:]  // workload → the convention that reports it
        for convention in requests.sorted(by: { $0.rank < $1.rank }) {
            progress("counting the workloads of \(convention.title)")
            let query = PromQL.render("count by (namespace, workload) (\(MetricConventions.aggregate(convention.requests, join: convention.join)))",
                                      targets: targets)
            let workloads = try await client.query(query, at: time).result.series
                .map { "\($0.labels["namespace"] ?? "")/\($0.labels["workload"] ?? "")" }.sorted()
            let twice = workloads.filter { claimed[$0] != nil }
            for workload in workloads where claimed[workload] == nil { claimed[workload] = convention.title }
            var line = "\(convention.title): \(workloads.count) workload\(workloads.count == 1 ? "" : "s")"
            if !workloads.isEmpty { line += " (\(workloads.prefix(8).joined(separator: ", "))\(workloads.count > 8 ? ", …" : ""))" }
            if !twice.isEmpty {
                line += "; \(twice.count) also reported by \(Set(twice.compactMap { claimed[$0] }).sorted().joined(separator: " and ")), which is preferred: counted once"
            }
            notes.append(line)
            // Series that cannot be tied to a workload: without the labels the join needs.
            let labelsNeeded = convention.joinLabels.map { "\($0)!=\"\"" }.joined(separator: ", ")
            let metric = convention.requestMetric
            let all = try await client.query("count(\(metric))", at: time).result.series.first?.samples.last?.value ?? 0
            let tied = try await client.query("count(\(metric){\(labelsNeeded)})", at: time).result.series.first?.samples.last?.value ?? 0
            if all > tied {
                notes.append("  could not map \(Int(all - tied)) of \(Int(all)) \(metric) series: they lack \(convention.joinLabels.joined(separator: " or ")), so they name no workload")
            } else if workloads.isEmpty, all > 0 {
                notes.append("  could not map its \(Int(all)) \(metric) series: none belongs to a pod of a Deployment the mixin's owner series know")
            }
        }
        if requests.isEmpty {
            notes.append("no request metrics of a known convention: request_rate, latency_p95 and error_ratio keep the default's http_requests_total and http_request_duration_seconds; rename them to yours")
        }
        for kind in [ResourceConvention.Kind.pool, .cache] {
            let found = resources.filter { $0.kind == kind }
            if found.isEmpty {
                notes.append(kind == .pool
                    ? "no connection pool metrics (hikaricp_connections_*, db_client_connection_*, db_client_connections_*): pool_utilization and pool_size keep the default's db_client_connections_*"
                    : "no cache metrics (cache_gets_total, cache_hits_total with cache_misses_total): cache_hit_ratio keeps the default's cache_gets_total")
            } else {
                notes += found.map { "\(kind == .pool ? "connection pools" : "caches"): \($0.title)" }
            }
        }
        if names.contains("http_server_request_duration_seconds"), requests.contains(where: { $0.id == "opentelemetry-native" }) {
            notes.append("http_server_request_duration_seconds is a native histogram (no _bucket series): its quantile is read with histogram_quantile over the native histogram")
        }
        if !names.contains("namespace_workload_pod:kube_pod_owner:relabel") {
            notes.append("warning: no namespace_workload_pod:kube_pod_owner:relabel series (the kubernetes-mixin's owner rule): load deploy/prometheus/rules.yaml, or no workload can be named")
        }
        let found = PolicyInitWriter.Found(requests: requests, resources: resources, notes: notes)
        return (found, ["found on \(client.displayName):"] + notes.map { "  " + $0 })
    }
}
