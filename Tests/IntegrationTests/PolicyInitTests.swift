import Foundation
import Testing
import TrimtabCore
import TrimtabSandbox

/// `trimtab policy init` against the real Prometheus, on services that export what their libraries
/// and meshes write (names, labels, buckets): the policy it writes finds every workload and every
/// sustained bottleneck, with no hand edits.
@Suite("policy init: the conventions services already export")
struct PolicyInitTests {
    /// Five services, five conventions: orders is also behind Istio, so two conventions report it.
    static func mixedProfiles() -> [WorkloadProfile] {
        var orders = WorkloadProfile(namespace: "shop", deployment: "orders", latencyP95: { _ in 0.2 }, poolUtilization: { _ in 0.96 },
                                     cacheHitRatio: { _ in 0.92 }, replicas: 2)
        orders.requestShape = .micrometer
        orders.poolShape = .hikari
        orders.mesh = .istio
        var search = WorkloadProfile(namespace: "shop", deployment: "search", latencyP95: { _ in 3.0 }, poolUtilization: { _ in 0.3 }, replicas: 2)
        search.requestShape = .openTelemetry
        search.poolShape = .openTelemetry
        var web = WorkloadProfile(namespace: "shop", deployment: "web", latencyP95: { _ in 0.1 }, cacheHitRatio: { _ in 0.4 }, replicas: 2)
        web.requestShape = .promClient
        web.cacheShape = .hitsMisses
        var legacy = WorkloadProfile(namespace: "shop", deployment: "legacy", latencyP95: { _ in 0.3 }, errorRatio: { _ in 0.1 }, replicas: 2)
        legacy.requestShape = .none
        legacy.mesh = .istio
        var billing = WorkloadProfile(namespace: "shop", deployment: "billing", latencyP95: { _ in 1.5 }, replicas: 2)
        billing.requestShape = .none
        billing.mesh = .linkerd
        return [orders, search, web, legacy, billing]
    }

    static func history(_ profiles: [WorkloadProfile], end: Double) -> String {
        let start = end - DemoScenario.historySeconds
        return OpenMetricsWriter.write(RawMetrics.series(for: profiles, start: start, end: end, step: DemoScenario.scrapeInterval),
                                       start: start, end: end, step: DemoScenario.scrapeInterval)
    }

    @Test func aMixOfConventionsIsFoundWholeAndAnalyzedWithNoHandEdits() async throws {
        let step = DemoScenario.scrapeInterval
        let end = (alignedNow() / step).rounded(.down) * step
        try await withTemporaryDirectory { dir in
            let policy = dir.appendingPathComponent("init.yaml").path
            let report = dir.appendingPathComponent("r.json").path
            try await withPrometheus(Self.history(Self.mixedProfiles(), end: end)) { prometheus in
                #expect(await trimtab(["policy", "init", "--prometheus", prometheus.url, "--at", "\(Int(end))", "-o", policy]) == 0)
                #expect(await trimtab(["policy", "lint", policy]) == 0)
                // `policy check` on its output passes: every indicator finds the targets.
                #expect(await trimtab(["policy", "check", "--prometheus", prometheus.url, "--at", "\(Int(end))", "--policy", policy]) == 0)
                #expect(await trimtab(["analyze", "--prometheus", prometheus.url, "--at", "\(Int(end))", "--policy", policy, "--quiet",
                                       "--format", "json", "--output", report]) == 0)
            }
            let text = try String(contentsOfFile: policy, encoding: .utf8)
            for line in ["# Spring Boot / Micrometer: 1 workload (shop/orders)",
                         "# OpenTelemetry semantic conventions (Prometheus exporter): 1 workload (shop/search)",
                         "# Node.js prom-client (http_request_duration_seconds by status_code): 1 workload (shop/web)",
                         "# Istio (no instrumentation: the sidecar's metrics): 2 workloads (shop/legacy, shop/orders); 1 also reported by Spring Boot / Micrometer, which is preferred: counted once",
                         "# Linkerd (no instrumentation: the proxy's metrics): 1 workload (shop/billing)",
                         "# connection pools: HikariCP through Micrometer", "# connection pools: OpenTelemetry db.client.connection.* (current names)",
                         "# caches: a cache_hits_total and cache_misses_total pair"] {
                #expect(text.contains(line), "missing \(line) in\n\(text.prefix(3000))")
            }
            let analysis = try ReportEncoding.decode(try String(contentsOfFile: report, encoding: .utf8))
            let targets = analysis.assessment.targets.map(\.target.description).sorted()
            #expect(targets == ["shop/billing", "shop/legacy", "shop/orders", "shop/search", "shop/web"])
            #expect(analysis.assessment.targets.allSatisfy { $0.score != nil }, "\(analysis.assessment.targets.map { ($0.target.description, $0.status) })")
            let bottlenecks = Set(analysis.assessment.bottlenecks.map { "\($0.target) \($0.check) \($0.severity.rawValue)" })
            for expected in ["shop/search latency_p95 critical", "shop/legacy error_ratio critical", "shop/orders pool_utilization critical",
                             "shop/web cache_hit_ratio critical", "shop/billing latency_p95 warning"] {
                #expect(bottlenecks.contains(expected), "\(expected) not in \(bottlenecks.sorted())")
            }
            // Only those: orders' healthy latency is its own (Micrometer's), not double-counted with Istio's.
            #expect(bottlenecks.count == 5, "\(bottlenecks.sorted())")
            // Milliseconds became seconds: billing's p95 is near 1.5 s, not 1500.
            let billing = try #require(analysis.assessment.targets.first { $0.target.description == "shop/billing" })
            let latency = try #require(billing.checks.first { $0.check == "latency_p95" }?.value)
            #expect(latency > 1 && latency < 2, "\(latency)")
        }
    }

    @Test func onTheDemoItWritesThePolicyTheDefaultIs() async throws {
        let step = DemoScenario.scrapeInterval
        let end = (alignedNow() / step).rounded(.down) * step
        try await withTemporaryDirectory { dir in
            let policy = dir.appendingPathComponent("init.yaml").path
            let fromInit = dir.appendingPathComponent("init.json").path
            let fromDefault = dir.appendingPathComponent("default.json").path
            try await withPrometheus(DemoScenario.openMetrics(end: end)) { prometheus in
                #expect(await trimtab(["policy", "init", "--prometheus", prometheus.url, "--at", "\(Int(end))", "-o", policy]) == 0)
                for (path, extra) in [(fromInit, ["--policy", policy]), (fromDefault, [])] {
                    #expect(await trimtab(["analyze", "--prometheus", prometheus.url, "--at", "\(Int(end))", "--quiet", "--format", "json",
                                           "--output", path] + extra) == 0)
                }
            }
            let text = try String(contentsOfFile: policy, encoding: .utf8)
            // Seven services; inventory went silent before the end, so six report requests now (analyze still finds it, stale).
            #expect(text.contains("# Prometheus client libraries (http_requests_total by code): 6 workloads (shop/cart, shop/catalog, shop/checkout, shop/orders, shop/payments, shop/search)"),
                    "\(text.prefix(2000))")
            let a = try ReportEncoding.decode(try String(contentsOfFile: fromInit, encoding: .utf8)).assessment
            let b = try ReportEncoding.decode(try String(contentsOfFile: fromDefault, encoding: .utf8)).assessment
            #expect(a.targets.map(\.target) == b.targets.map(\.target))
            #expect(a.bottlenecks.map { "\($0.target) \($0.check) \($0.severity)" } == b.bottlenecks.map { "\($0.target) \($0.check) \($0.severity)" })
            #expect(a.score == b.score)
        }
    }
}

/// One convention at a time: a service whose metrics follow only it is found, named, and judged
/// with its own status label and unit.
@Suite("policy init: each convention on its own")
struct PolicyInitConventionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var title: String
        var configure: @Sendable (inout WorkloadProfile) -> Void
        var testDescription: String { title }
    }

    static let cases: [Case] = [
        Case(title: "Spring Boot / Micrometer") { $0.requestShape = .micrometer },
        Case(title: "OpenTelemetry semantic conventions (Prometheus exporter)") { $0.requestShape = .openTelemetry },
        Case(title: "Prometheus client libraries (http_requests_total by code)") { $0.requestShape = .prometheusClient },
        Case(title: "Node.js prom-client (http_request_duration_seconds by status_code)") { $0.requestShape = .promClient },
        Case(title: "Istio (no instrumentation: the sidecar's metrics)") { $0.requestShape = .none; $0.mesh = .istio },
        Case(title: "Linkerd (no instrumentation: the proxy's metrics)") { $0.requestShape = .none; $0.mesh = .linkerd },
    ]

    @Test(arguments: cases)
    func aServiceOfOneConventionIsFoundAndJudged(_ item: Case) async throws {
        let step = DemoScenario.scrapeInterval
        let end = (alignedNow() / step).rounded(.down) * step
        // Slow and failing: p95 3 s and 8 % server errors, both critical under the default's checks.
        var profile = WorkloadProfile(namespace: "shop", deployment: "api", latencyP95: { _ in 3 }, errorRatio: { _ in 0.08 }, replicas: 2)
        item.configure(&profile)
        try await withTemporaryDirectory { dir in
            let policy = dir.appendingPathComponent("init.yaml").path
            let report = dir.appendingPathComponent("r.json").path
            try await withPrometheus(PolicyInitTests.history([profile], end: end)) { prometheus in
                #expect(await trimtab(["policy", "init", "--prometheus", prometheus.url, "--at", "\(Int(end))", "-o", policy]) == 0)
                #expect(await trimtab(["analyze", "--prometheus", prometheus.url, "--at", "\(Int(end))", "--policy", policy, "--quiet",
                                       "--format", "json", "--output", report]) == 0)
            }
            let text = try String(contentsOfFile: policy, encoding: .utf8)
            #expect(text.contains("# \(item.title): 1 workload (shop/api)"), "\(text.prefix(1500))")
            let analysis = try ReportEncoding.decode(try String(contentsOfFile: report, encoding: .utf8))
            let api = try #require(analysis.assessment.targets.first)
            func value(_ check: String) -> Double? { api.checks.first { $0.check == check }?.value }
            let latency = try #require(value("latency_p95")), errors = try #require(value("error_ratio"))
            // The buckets differ by library; every estimate of a 3 s p95 lies between the bounds around it.
            #expect(latency > 2 && latency < 5, "\(latency)")
            #expect(abs(errors - 0.08) < 0.01, "\(errors)")
            #expect(Set(analysis.assessment.bottlenecks.map(\.check)) == ["latency_p95", "error_ratio"])
        }
    }

    @Test func seriesThatNameNoPodAreSaidToBeUnmapped() async throws {
        let step = DemoScenario.scrapeInterval
        let end = (alignedNow() / step).rounded(.down) * step
        var profile = WorkloadProfile(namespace: "shop", deployment: "api", latencyP95: { _ in 0.2 }, replicas: 2)
        profile.requestShape = .micrometer
        let start = end - DemoScenario.historySeconds
        // The same service also scraped through a job that keeps no pod label (a Service-level scrape).
        var series = RawMetrics.series(for: [profile], start: start, end: end, step: step)
        series += series.filter { $0.name.hasPrefix("http_server_requests_seconds") }.map { original in
            var copy = original
            copy.labels["pod"] = nil
            copy.labels["job"] = "api-service"
            return copy
        }
        try await withTemporaryDirectory { dir in
            let policy = dir.appendingPathComponent("init.yaml").path
            try await withPrometheus(OpenMetricsWriter.write(series, start: start, end: end, step: step)) { prometheus in
                #expect(await trimtab(["policy", "init", "--prometheus", prometheus.url, "--at", "\(Int(end))", "-o", policy]) == 0)
            }
            let text = try String(contentsOfFile: policy, encoding: .utf8)
            #expect(text.contains("# Spring Boot / Micrometer: 1 workload (shop/api)"), "\(text.prefix(1500))")
            #expect(text.contains("could not map 4 of 8 http_server_requests_seconds_count series: they lack namespace or pod, so they name no workload"),
                    "\(text.prefix(1500))")
        }
    }
}
