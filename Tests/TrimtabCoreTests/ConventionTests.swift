import Testing
@testable import TrimtabCore

/// The library of conventions: which are recognised from what names and labels, and what the
/// written policy keeps of the default's.
@Suite struct ConventionTests {
    func ids(_ names: [String], labels: [String: Set<String>] = [:]) -> [String] {
        let found = MetricConventions.recognise(names: Set(names), labels: labels)
        return found.requests.map(\.id) + found.resources.map(\.id)
    }

    @Test func conventionsThatShareANameAreToldApartByTheirOtherMetricsAndLabels() {
        // client_golang and prom-client both write http_request_duration_seconds.
        #expect(ids(["http_request_duration_seconds_bucket", "http_requests_total"]) == ["prometheus-client"])
        #expect(ids(["http_request_duration_seconds_bucket"], labels: ["http_request_duration_seconds_count": ["status_code", "route"]]) == ["prom-client"])
        #expect(ids(["http_request_duration_seconds_bucket"], labels: ["http_request_duration_seconds_count": ["code"]]) == [])
        // OpenTelemetry's histogram: classic when it has buckets, native when it has none.
        #expect(ids(["http_server_request_duration_seconds_bucket", "http_server_request_duration_seconds"]) == ["opentelemetry"])
        #expect(ids(["http_server_request_duration_seconds"]) == ["opentelemetry-native"])
        #expect(ids(["istio_requests_total"]) == [])  // its latency histogram is needed too
        #expect(ids(["cache_hits_total", "cache_misses_total", "hikaricp_connections_active", "hikaricp_connections_max"]) == ["hikaricp", "hits-misses"])
    }

    @Test func aNativeHistogramIsReadWithoutBucketsAndMillisecondsBecomeSeconds() {
        let native = MetricConventions.requests.first { $0.id == "opentelemetry-native" }!
        let istio = MetricConventions.requests.first { $0.id == "istio" }!
        let (_, latency, _) = MetricConventions.requestIndicators([istio, native])
        // The application's own histogram first (rank), then the mesh, joined with `or`.
        let parts = latency.components(separatedBy: "\nor\n")
        #expect(parts.count == 2)
        #expect(parts[0].contains("max by ($by) (\n  histogram_quantile(0.95, sum by (namespace, pod) (rate(http_server_request_duration_seconds{$namespaceSelector}[5m])))"))
        #expect(!parts[0].contains("$by, le"))
        #expect(parts[1].contains("istio_request_duration_milliseconds_bucket{$namespaceSelector, reporter=\"destination\"}"))
        #expect(parts[1].hasSuffix("/ 1000\n)"))
        #expect(parts[1].contains("\"workload\", \"$1\", \"destination_workload\""))
    }

    @Test func theWrittenPolicyKeepsTheDefaultsChecksAndActions() throws {
        let defaultText = try String(contentsOfFile: #filePath.replacingOccurrences(of: "Tests/TrimtabCoreTests/ConventionTests.swift", with: "policies/default.yaml"),
                                     encoding: .utf8)
        let micrometer = MetricConventions.requests.first { $0.id == "micrometer" }!
        let hikari = MetricConventions.resources.first { $0.id == "hikaricp" }!
        let text = PolicyInitWriter.write(defaultPolicy: defaultText, found: .init(requests: [micrometer], resources: [hikari], notes: ["a note"]),
                                          name: "shop", source: "http://prometheus:9090")
        let written = try PolicyLoader.load(text: text, file: "init.yaml")
        let original = try PolicyLoader.load(text: defaultText, file: "default.yaml")
        #expect(written.name == "shop")
        #expect(written.checks.map(\.name) == original.checks.map(\.name))
        #expect(zip(written.checks, original.checks).allSatisfy { $0.warning == $1.warning && $0.critical == $1.critical && $0.forSeconds == $1.forSeconds })
        #expect(written.actions.count == original.actions.count)
        #expect(written.indicators.map(\.name) == original.indicators.map(\.name))
        #expect(written.indicator(named: "latency_p95")?.query.contains("http_server_requests_seconds_bucket") == true)
        #expect(written.indicator(named: "pool_size")?.query.contains("hikaricp_connections_max") == true)
        // Not found: the default's names stay.
        #expect(written.indicator(named: "cache_hit_ratio")?.query == original.indicator(named: "cache_hit_ratio")?.query)
        #expect(written.indicator(named: "cpu_utilization")?.query == original.indicator(named: "cpu_utilization")?.query)
        #expect(text.hasPrefix("# Written by `trimtab policy init` from http://prometheus:9090"))
        #expect(text.contains("\n# a note\n"))
    }
}
