import Foundation
import Testing
import TrimtabCore
import TrimtabSandbox
import TrimtabTestSupport

/// The Prometheus protobuf exposition (`io.prometheus.client.MetricFamily`, length-delimited), which is
/// how native histograms reach Prometheus 2.x: the text formats cannot carry them.
enum ProtobufExposition {
    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value, out: [UInt8] = []
        while value >= 0x80 { out.append(UInt8(value & 0x7f) | 0x80); value >>= 7 }
        return out + [UInt8(value)]
    }
    static func zigzag(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value << 1) ^ (value >> 63)) }
    static func key(_ field: Int, _ wire: Int) -> [UInt8] { varint(UInt64(field << 3 | wire)) }
    static func bytes(_ field: Int, _ payload: [UInt8]) -> [UInt8] { key(field, 2) + varint(UInt64(payload.count)) + payload }
    static func string(_ field: Int, _ text: String) -> [UInt8] { bytes(field, Array(text.utf8)) }
    static func double(_ field: Int, _ value: Double) -> [UInt8] { key(field, 1) + withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
    static func uint(_ field: Int, _ value: UInt64) -> [UInt8] { key(field, 0) + varint(value) }
    static func sint(_ field: Int, _ value: Int64) -> [UInt8] { key(field, 0) + varint(zigzag(value)) }

    static func labels(_ labels: [String: String]) -> [UInt8] {
        labels.sorted { $0.key < $1.key }.flatMap { bytes(1, string(1, $0.key) + string(2, $0.value)) }
    }

    /// A gauge family: one metric per label set.
    static func gauge(_ name: String, _ metrics: [([String: String], Double)]) -> [UInt8] {
        let family = string(1, name) + uint(3, 1) + metrics.flatMap { bytes(4, labels($0.0) + bytes(2, double(1, $0.1))) }
        return varint(UInt64(family.count)) + family
    }

    /// A native histogram family (schema 3): `counts` per bucket index, from `first`.
    static func nativeHistogram(_ name: String, _ metrics: [([String: String], count: UInt64, sum: Double, first: Int, counts: [UInt64])]) -> [UInt8] {
        let family = string(1, name) + uint(3, 4) + metrics.flatMap { metric -> [UInt8] in
            var deltas: [UInt8] = []
            var previous: Int64 = 0
            for count in metric.counts {
                deltas += sint(13, Int64(count) - previous)
                previous = Int64(count)
            }
            let histogram = uint(1, metric.count) + double(2, metric.sum) + sint(5, 3) + double(6, 2.938735877055719e-39) + uint(7, 0)
                + bytes(12, sint(1, Int64(metric.first)) + uint(2, UInt64(metric.counts.count))) + deltas
            return bytes(4, labels(metric.0) + bytes(7, histogram))
        }
        return varint(UInt64(family.count)) + family
    }
}

/// OpenTelemetry's request duration as a native histogram (no `_bucket` series at all), scraped by
/// the real Prometheus with native histograms on: `policy init` recognises it and its quantile reads.
@Suite("policy init: a native histogram")
struct NativeHistogramTests {
    /// Requests so far, spread over schema-3 buckets by an exponential distribution with a 3 s p95.
    static func exposition(elapsed: Double) -> [UInt8] {
        let pods = ["api-7d9f8b6c5d-k2x7p", "api-7d9f8b6c5d-m4q9z"]
        let lambda = log(20.0) / 3.0
        let first = -80, last = 48  // 2^(-10) s to 2^6 s
        func metrics(errors: Bool) -> [([String: String], count: UInt64, sum: Double, first: Int, counts: [UInt64])] {
            pods.map { pod in
                let total = 25 * elapsed * (errors ? 0.08 : 0.92)
                var counts: [UInt64] = []
                var below = 0.0
                for index in first...last {
                    let bound = pow(2, Double(index) / 8)
                    let cumulative = (total * (1 - exp(-lambda * bound))).rounded(.down)
                    counts.append(UInt64(max(0, cumulative - below)))
                    below = cumulative
                }
                let count = counts.reduce(0, +)
                let labels = ["namespace": "shop", "pod": pod, "http_request_method": "GET", "http_route": "/api",
                              "http_response_status_code": errors ? "503" : "200", "otel_scope_name": "io.opentelemetry.java-http-server"]
                return (labels, count, Double(count) / lambda, first + 1, counts)
            }
        }
        let owners = pods.map { (["namespace": "shop", "pod": $0, "workload": "api", "workload_type": "deployment"], 1.0) }
        return ProtobufExposition.nativeHistogram("http_server_request_duration_seconds", metrics(errors: false) + metrics(errors: true))
            + ProtobufExposition.gauge("namespace_workload_pod:kube_pod_owner:relabel", owners)
    }

    @Test func aNativeHistogramIsRecognisedAndItsQuantileRead() async throws {
        let started = Date().timeIntervalSince1970 - 600  // as if the service had served for ten minutes
        let target = try await ScriptedHTTPServer { _ in
            .respondBytes(status: 200, bytes: Self.exposition(elapsed: Date().timeIntervalSince1970 - started),
                          contentType: "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited")
        }
        defer { Task { await target.stop() } }
        let host = try #require(URLComponents(string: target.url)).port.map { "127.0.0.1:\($0)" } ?? ""
        let configuration = """
        global: {scrape_interval: 1s, evaluation_interval: 1s}
        scrape_configs:
          - job_name: app
            honor_labels: true
            static_configs: [{targets: ["\(host)"]}]
        """
        let prometheus = try await PrometheusSandbox.startScraping(configuration: configuration, arguments: ["--enable-feature=native-histograms"])
        defer { prometheus.stop() }
        try await withTemporaryDirectory { dir in
            // Enough scrapes for a rate at analyze's evaluation time, which lies on its 30 s step grid:
            // a few scrapes before the last grid point. Bounded in time.
            let deadline = Date().addingTimeInterval(90)
            var firstScrape: Double?
            while Date() < deadline {
                try await Task.sleep(for: .seconds(1))
                if firstScrape == nil, !target.requests.isEmpty { firstScrape = Date().timeIntervalSince1970 }
                if let firstScrape, (Date().timeIntervalSince1970 / 30).rounded(.down) * 30 >= firstScrape + 4 { break }
            }
            #expect(target.requests.count >= 5, "Prometheus scraped \(target.requests.count) times")
            let policy = dir.appendingPathComponent("init.yaml").path
            #expect(await trimtab(["policy", "init", "--prometheus", prometheus.url, "-o", policy]) == 0)
            let text = try String(contentsOfFile: policy, encoding: .utf8)
            #expect(text.contains("# OpenTelemetry semantic conventions, as a native histogram: 1 workload (shop/api)"), "\(text.prefix(1500))")
            let report = dir.appendingPathComponent("r.json").path
            #expect(await trimtab(["analyze", "--prometheus", prometheus.url, "--policy", policy, "--quiet", "--format", "json", "--output", report]) == 0)
            let analysis = try ReportEncoding.decode(try String(contentsOfFile: report, encoding: .utf8))
            let api = try #require(analysis.assessment.targets.first)
            let latency = try #require(api.checks.first { $0.check == "latency_p95" }?.value)
            let errors = try #require(api.checks.first { $0.check == "error_ratio" }?.value)
            #expect(latency > 2.5 && latency < 3.5, "\(latency)")
            #expect(abs(errors - 0.08) < 0.01, "\(errors)")
        }
    }
}
