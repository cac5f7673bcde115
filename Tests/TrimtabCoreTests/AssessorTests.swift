import Testing
@testable import TrimtabCore

/// Builds snapshots by hand: series per target and indicator, every step up to `now`.
struct SnapshotFixture {
    static let now = 100_000.0
    static let step = 30.0

    var policy: Policy
    var series: [String: [RawSeries]] = [:]
    var failures: [String: String] = [:]

    init(policy: Policy) {
        self.policy = policy
    }

    /// Adds a series for `deployment` whose value is `value(secondsBeforeNow)`, `nil` for no point.
    mutating func add(_ indicator: String, _ deployment: String, span: Double = 3600, _ value: (Double) -> Double?) {
        let samples = stride(from: Self.now - span, through: Self.now, by: Self.step).compactMap { time in
            value(Self.now - time).map { Sample(time: time, value: $0) }
        }
        series[indicator, default: []].append(RawSeries(labels: ["namespace": "shop", "deployment": deployment], samples: samples))
    }

    var snapshot: Snapshot {
        let queries = IndicatorQuery.plan(for: policy, at: Self.now)
        return Snapshot(time: Self.now, indicators: queries.map { query in
            if let message = failures[query.indicator] { return IndicatorData.failed(query, message: message) }
            return IndicatorData.from(series[query.indicator] ?? [], query: query, groupBy: policy.targets.groupBy)
        })
    }

    var assessment: Assessment { Assessor.assess(snapshot, policy: policy) }
}

@Suite("Assessor: scores, statuses and bottlenecks from a snapshot")
struct AssessorTests {
    static func policy() throws -> Policy { try PolicyLoader.load(text: basePolicy, file: "p.yaml") }

    @Test func healthyCriticalAndScores() throws {
        var fixture = SnapshotFixture(policy: try Self.policy())
        fixture.add("latency_p95", "cart") { _ in 0.2 }
        fixture.add("cache_hit_ratio", "cart") { _ in 0.95 }
        // Latency halfway from warning to critical for 20 minutes: a warning bottleneck scoring 50.
        fixture.add("latency_p95", "checkout") { ago in ago <= 1200 ? 1.5 : 0.3 }
        // Cache at critical-exactly for 20 minutes: scores 0, a warning (not beyond critical).
        fixture.add("cache_hit_ratio", "checkout") { ago in ago <= 1200 ? 0.5 : 0.9 }
        let assessment = fixture.assessment

        #expect(assessment.targets.map(\.target.description) == ["shop/cart", "shop/checkout"])
        let cart = assessment.targets[0], checkout = assessment.targets[1]
        #expect(cart.score == 100 && cart.status == .healthy && cart.coverage == 1)
        // (50 × 3 + 0 × 1) / 4
        #expect(checkout.score == 37.5)
        #expect(checkout.status == .degraded)
        #expect(assessment.score == (100 + 37.5) / 2)
        #expect(assessment.status == .degraded)
        #expect(assessment.bottlenecks.map { "\($0.target)/\($0.check)/\($0.severity)" }
                == ["shop/checkout/cache_hit_ratio/warning", "shop/checkout/latency_p95/warning"])
        let latency = try #require(assessment.bottlenecks.first { $0.check == "latency_p95" })
        #expect(latency.since == SnapshotFixture.now - 1200)
        #expect(latency.query.contains("histogram_quantile"))
    }

    @Test func missingDataIsUnknownNeverHealthy() throws {
        var fixture = SnapshotFixture(policy: try Self.policy())
        fixture.add("latency_p95", "stale", span: 3600) { ago in ago > 900 ? 0.1 : nil }
        fixture.add("cache_hit_ratio", "stale") { ago in ago > 900 ? 0.9 : nil }
        fixture.add("latency_p95", "nan") { _ in .nan }
        fixture.add("cache_hit_ratio", "nan") { _ in .nan }
        let assessment = fixture.assessment
        for target in assessment.targets {
            #expect(target.status == .unknown, "\(target.target)")
            #expect(target.score == nil)
            #expect(target.checks.allSatisfy { $0.status == .unknown && $0.unknownReason != nil })
        }
        #expect(assessment.score == nil)
        #expect(assessment.status == .unknown)
        #expect(assessment.unknownReason?.contains("0 of 2 targets") == true)
        let stale = try #require(assessment.targets.first { $0.target.description == "shop/stale" })
        #expect(stale.checks[0].unknownReason?.hasPrefix("stale") == true)
        let nan = try #require(assessment.targets.first { $0.target.description == "shop/nan" })
        #expect(nan.checks[0].unknownReason?.contains("NaN") == true)
    }

    @Test func coverageDecidesWhetherATargetHasAScore() throws {
        var fixture = SnapshotFixture(policy: try Self.policy())
        // Only latency (weight 3 of 4) is known: coverage 75 %, enough.
        fixture.add("latency_p95", "a") { _ in 0.2 }
        // Only the cache (weight 1 of 4) is known: coverage 25 %, too little.
        fixture.add("cache_hit_ratio", "b") { _ in 0.9 }
        let assessment = fixture.assessment
        let a = assessment.targets[0], b = assessment.targets[1]
        #expect(a.coverage == 0.75 && a.score == 100 && a.status == .healthy)
        #expect(b.coverage == 0.25 && b.score == nil && b.status == .unknown)
        #expect(b.checks.first { $0.check == "cache_hit_ratio" }?.score == 100)
        // One of two targets known meets the 50 % minimum.
        #expect(assessment.score == 100)
        #expect(assessment.status == .healthy)
    }

    @Test func aKeyCheckWithoutDataMakesTheTargetUnknown() throws {
        var policy = try Self.policy()
        policy.checks[1].key = true
        var fixture = SnapshotFixture(policy: policy)
        fixture.add("latency_p95", "a") { _ in 0.2 }
        #expect(fixture.assessment.targets[0].status == .unknown)
    }

    @Test func aFailedQueryMakesTheCycleUnknown() throws {
        var fixture = SnapshotFixture(policy: try Self.policy())
        fixture.add("latency_p95", "a") { _ in 0.2 }
        fixture.failures["cache_hit_ratio"] = "Prometheus answered 503"
        let assessment = fixture.assessment
        #expect(assessment.score == nil)
        #expect(assessment.status == .unknown)
        #expect(assessment.failures == ["cache_hit_ratio": "Prometheus answered 503"])
        let check = try #require(assessment.targets.first?.checks.first { $0.check == "cache_hit_ratio" })
        #expect(check.status == .unknown)
        #expect(check.unknownReason == "the query failed: Prometheus answered 503")
    }

    @Test func ambiguousAndUnattributedSeriesAreReported() throws {
        let policy = try Self.policy()
        let query = IndicatorQuery.plan(for: policy, at: SnapshotFixture.now)[0]
        let point = [Sample(time: SnapshotFixture.now, value: 0.1)]
        let data = IndicatorData.from([
            RawSeries(labels: ["namespace": "shop", "deployment": "a", "pod": "1"], samples: point),
            RawSeries(labels: ["namespace": "shop", "deployment": "a", "pod": "2"], samples: point),
            RawSeries(labels: ["namespace": "shop"], samples: point),
        ], query: query, groupBy: policy.targets.groupBy)
        #expect(data.ambiguous.count == 1 && data.unattributed == 1 && data.series.isEmpty)
        let assessment = Assessor.assess(Snapshot(time: SnapshotFixture.now, indicators: [data]), policy: policy)
        #expect(assessment.targets.first?.checks.first?.unknownReason?.contains("2 series") == true)
        #expect(assessment.notes.count == 2)
    }

    @Test func noTargetsIsUnknown() throws {
        let assessment = SnapshotFixture(policy: try Self.policy()).assessment
        #expect(assessment.status == .unknown && assessment.score == nil)
        #expect(assessment.unknownReason?.contains("no targets") == true)
    }

    @Test func overridesChangeThresholdsForMatchingTargets() throws {
        var policy = try Self.policy()
        policy.overrides = [TargetOverride(match: ["deployment": "strict"], checks: ["latency_p95": CheckOverride(warning: 0.1, critical: 0.3)])]
        var fixture = SnapshotFixture(policy: policy)
        fixture.add("latency_p95", "strict") { _ in 0.2 }
        fixture.add("latency_p95", "lenient") { _ in 0.2 }
        let assessment = fixture.assessment
        let strict = try #require(assessment.targets.first { $0.target.description == "shop/strict" })
        let lenient = try #require(assessment.targets.first { $0.target.description == "shop/lenient" })
        #expect(strict.checks[0].status == .warning)
        #expect(abs((strict.checks[0].score ?? 0) - 50) < 1e-9)
        #expect(lenient.checks[0].status == .ok)
    }

    @Test func assessmentIsDeterministic() throws {
        var fixture = SnapshotFixture(policy: try Self.policy())
        for name in ["c", "a", "b"] { fixture.add("latency_p95", name) { ago in ago < 900 ? 3 : 0.1 } }
        #expect(fixture.assessment == fixture.assessment)
        #expect(fixture.assessment.bottlenecks.map(\.target.description) == ["shop/a", "shop/b", "shop/c"])
    }
}
