import Foundation
import Testing
import TrimtabCLI
import TrimtabCore
import TrimtabPrometheus
import TrimtabSandbox

/// The default policy's objectives, unchanged, against a real Prometheus holding stock-shaped series
/// (client-library histograms and counters per pod, joined to workloads by the mixin's owner series).
/// The expected error ratios come from the profiles the history was written from, not from PromQL.
@Suite("Objectives on stock cluster metrics", .serialized)
struct ObjectivesAgainstPrometheusTests {
    static let step = 30.0
    static let history = 7 * 3600.0

    /// Both rolled out 100 minutes before the end (the profiles' default), so the pods that served the
    /// first five hours are gone: their requests count all the same (read with the owner series joined
    /// over each range; joined as it is now, the 6-hour burn read 15× where the truth is 4.6×).
    static func profiles() -> [WorkloadProfile] {
        [
            // Quick, and one request in 2,000 fails: half the availability budget's rate.
            WorkloadProfile(namespace: "prod", deployment: "steady", requestsPerSecond: { _ in 50 }, latencyP95: { _ in 0.35 },
                            errorRatio: { _ in 0.0005 }, replicas: 2),
            // A p95 of 1.6 s all along (the stock histogram puts 11/12 of requests at or under 1 s), and
            // 3 % failing for the last 50 minutes.
            WorkloadProfile(namespace: "prod", deployment: "burning", requestsPerSecond: { _ in 20 }, latencyP95: { _ in 1.6 },
                            errorRatio: { ago in ago < 3000 ? 0.03 : 0.0005 }, replicas: 3),
        ]
    }

    /// On Prometheus and on VictoriaMetrics: the same compliance, budgets and burn rates.
    @Test(arguments: MetricsBackend.allCases)
    func errorRatiosBudgetsAndBurnRatesAreTheProfilesOwn(on backend: MetricsBackend) async throws {
        let end = (alignedNow() / Self.step).rounded(.down) * Self.step
        let policy = try PolicySource.load(nil)
        #expect(policy.objectives.map(\.name) == ["latency", "availability"])
        let series = RawMetrics.series(for: Self.profiles(), start: end - Self.history, end: end, step: Self.step)
        let outcome = try await withBackend(backend, OpenMetricsWriter.write(series, start: end - Self.history, end: end, step: Self.step)) { sandbox in
            let client = try PrometheusClient(PrometheusConfiguration(url: sandbox.url))
            let outcome = await AnalysisRun(policy: policy, source: client, time: end).execute()
            await client.shutdown()
            return outcome
        }
        #expect(outcome.cycle.objectiveRead.errors.isEmpty, "\(outcome.cycle.objectiveRead.errors)")
        // Which objectives have recording rules (none here), then two objectives, five ranges each.
        #expect(outcome.cycle.objectiveRead.queriesSent == 11)
        let statuses = try #require(outcome.report.objectives)
        func status(_ workload: String, _ objective: String) throws -> ObjectiveStatus {
            try #require(statuses.first { $0.target.description == "prod/\(workload)" && $0.objective == objective })
        }
        func near(_ got: Double?, _ want: Double, relative: Double) -> Bool {
            guard let got else { return false }
            return abs(got - want) <= relative * max(abs(want), 1e-9)
        }

        let steady = try status("steady", "availability")
        for range in BurnWindow.ranges { #expect(near(steady.burn(over: range), 0.5, relative: 1e-6), "\(range): \(steady)") }
        #expect(near(steady.compliance, 0.9995, relative: 1e-9) && near(steady.budgetLeft, 0.5, relative: 1e-6))
        #expect(steady.state == .ok)
        let quick = try status("steady", "latency")
        #expect(quick.compliance == 1 && quick.budgetLeft == 1 && quick.state == .ok && quick.exhaustionSeconds == nil)

        // Latency: 1/12 of requests over 1 s in every range, against a budget of 1 %.
        let slow = try status("burning", "latency")
        for range in BurnWindow.ranges { #expect(near(slow.burn(over: range), 100.0 / 12, relative: 1e-6), "\(range): \(slow)") }
        #expect(near(slow.compliance, 11.0 / 12, relative: 1e-6) && slow.state == .exhausted)

        // Availability: 3 % in the last 50 minutes, 0.05 % before. Ranges that hold the change are
        // within a step of it (3 % of their length at most, with Prometheus's extrapolation).
        let failing = try status("burning", "availability")
        let expected: [Double: Double] = [300: 0.03, 1800: 0.03, 3600: (50 * 0.03 + 10 * 0.0005) / 60,
                                          21_600: (50 * 0.03 + 310 * 0.0005) / 360]
        for (range, ratio) in expected {
            #expect(near(failing.burn(over: range), ratio / 0.001, relative: range <= 1800 ? 1e-6 : 0.03), "\(range): \(failing)")
        }
        // Over the 28-day window, as far back as Prometheus holds data: 7 hours.
        #expect(near(failing.compliance, 1 - (50 * 0.03 + 370 * 0.0005) / 420, relative: 0.001), "\(failing)")
        #expect(failing.state == .exhausted)

        let markdown = MarkdownReport.render(outcome.report)
        #expect(markdown.contains("## Error budgets"))
        #expect(markdown.contains("| prod/burning | availability, 28d | 99.9 % |"))
    }

    /// `report --fail-on-slo`: the burning workload fails the gate at `exhausted` by name (and its
    /// JUnit test cases fail), the steady one alone passes it; the JSON carries every objective.
    @Test func reportGatesOnTheObjectives() async throws {
        let end = (alignedNow() / Self.step).rounded(.down) * Self.step
        try await withTemporaryDirectory { dir in
            let path = { (name: String) in dir.appendingPathComponent(name).path }
            let all = Self.profiles(), steady = all.filter { $0.deployment == "steady" }
            var codes: [Int32] = []
            for (name, profiles) in [("both", all), ("steady", steady)] {
                let series = RawMetrics.series(for: profiles, start: end - Self.history, end: end, step: Self.step)
                codes += try await withPrometheus(OpenMetricsWriter.write(series, start: end - Self.history, end: end, step: Self.step)) { sandbox in
                    let base = ["report", "--prometheus", sandbox.url, "--end", "\(Int(end))", "--since", "1h", "--quiet",
                                "--output", path("\(name).md"), "--json-output", path("\(name).json"), "--junit-output", path("\(name).xml")]
                    return [await trimtab(base + ["--fail-on-slo", "exhausted"])]
                }
            }
            #expect(codes == [2, 0])
            let both = try ReportEncoding.decode(PeriodReport.self, try String(contentsOfFile: path("both.json"), encoding: .utf8))
            let gate = try #require(both.gate)
            #expect(gate.failOnSLO == .exhausted && !gate.passed)
            // 1/12 of requests slow against 1 %; (50 min at 3 % + 370 at 0.05 %) / 420 failing against 0.1 %.
            #expect(gate.reasons == ["2 objectives at exhausted or worse: prod/burning latency (exhausted, 833 % of budget used), "
                                     + "prod/burning availability (exhausted, 401 % of budget used)"])
            #expect(!(gate.reasons.first ?? "").contains("steady"))
            #expect(both.objectives?.count == 4)
            let markdown = try String(contentsOfFile: path("both.md"), encoding: .utf8)
            #expect(markdown.contains("## Error budgets") && markdown.contains("no objective at exhausted or worse, or unknown"))
            let junit = try String(contentsOfFile: path("both.xml"), encoding: .utf8)
            #expect(junit.contains("<testcase classname=\"prod/burning\" name=\"objective availability\"><failure type=\"exhausted\""))
            #expect(junit.contains("<testcase classname=\"prod/steady\" name=\"objective availability\"><system-out>"))
            let alone = try ReportEncoding.decode(PeriodReport.self, try String(contentsOfFile: path("steady.json"), encoding: .utf8))
            #expect(alone.gate?.passed == true && alone.objectives?.map(\.state) == [.ok, .ok])
        }
        #expect(await trimtab(["report", "--prometheus", "http://127.0.0.1:9", "--fail-on-slo", "burning"]) == 64)
    }

    /// What `trimtab policy rules`' rules record for a profile (the promtool tests in deploy/prometheus
    /// hold the rules to this): the good and total rates over the 5 minutes before each point, by
    /// workload, from when a 5-minute rate exists. `goodShare` is the profile's share of good requests.
    static func recorded(_ profile: WorkloadProfile, objective: Objective, policy: Policy, goodShare: @escaping @Sendable (Double) -> Double,
                         start: Double, end: Double) -> [SyntheticSeries] {
        let labels = ["namespace": profile.namespace, "workload": profile.deployment, "trimtab_policy": policy.name,
                      "trimtab_objective": objective.name, "trimtab_digest": ObjectiveRecording.digest(objective, targets: policy.targets)]
        func mean(_ rate: @escaping @Sendable (Double) -> Double) -> @Sendable (Double) -> Double? {
            { time in
                guard time >= start + ObjectiveRecording.rateSeconds else { return nil }
                // The requests over (t - 5m, t] at one-second resolution: the increase the rules record.
                return stride(from: 0.5, to: ObjectiveRecording.rateSeconds, by: 1).reduce(0) { $0 + rate(end - (time - $1)) }
            }
        }
        let total: @Sendable (Double) -> Double = { ago in profile.requestsPerSecond(ago) }
        let good: @Sendable (Double) -> Double = { ago in profile.requestsPerSecond(ago) * goodShare(ago) }
        return [SyntheticSeries(name: ObjectiveRecording.goodRecord, labels: labels, value: mean(good)),
                SyntheticSeries(name: ObjectiveRecording.totalRecord, labels: labels, value: mean(total))]
    }

    /// With the objectives' recording rules present, the long ranges are read from the recorded rates
    /// (and agree with the raw read), the short ones stay raw; an objective whose definition changed
    /// since the rules were written (another digest) is read raw, and the report says which is which.
    @Test func theLongRangesAreReadFromTheRecordingRulesWhileTheyMatchTheDefinition() async throws {
        let end = (alignedNow() / Self.step).rounded(.down) * Self.step, start = end - Self.history
        let policy = try PolicySource.load(nil)
        let latency = try #require(policy.objectives.first { $0.name == "latency" })
        let availability = try #require(policy.objectives.first { $0.name == "availability" })
        let profiles = Self.profiles()
        var series = RawMetrics.series(for: profiles, start: start, end: end, step: Self.step)
        for profile in profiles {
            let slow = profile.deployment == "burning"
            let errors = profile.errorRatio
            series += Self.recorded(profile, objective: latency, policy: policy, goodShare: { _ in slow ? 11.0 / 12 : 1 }, start: start, end: end)
            series += Self.recorded(profile, objective: availability, policy: policy, goodShare: { 1 - errors($0) }, start: start, end: end)
        }
        // The same policy with the latency objective written another way: its rules no longer match.
        let edited = DefaultPolicy.yaml.replacingOccurrences(of: "increase(http_request_duration_seconds_bucket{", with: "increase( http_request_duration_seconds_bucket{")
        let changed = try PolicyLoader.load(text: edited, file: "edited.yaml")
        #expect(ObjectiveRecording.digest(try #require(changed.objectives.first), targets: changed.targets) != ObjectiveRecording.digest(latency, targets: policy.targets))
        let (current, stale) = try await withPrometheus(OpenMetricsWriter.write(series, start: start, end: end, step: Self.step)) { sandbox in
            let client = try PrometheusClient(PrometheusConfiguration(url: sandbox.url))
            let current = await AnalysisRun(policy: policy, source: client, time: end).execute()
            let stale = await AnalysisRun(policy: changed, source: client, time: end).execute()
            await client.shutdown()
            return (current, stale)
        }
        #expect(current.cycle.objectiveRead.errors.isEmpty && stale.cycle.objectiveRead.errors.isEmpty)
        #expect(current.cycle.objectiveRead.readings.map(\.source) == [.recorded, .recorded])
        #expect(stale.cycle.objectiveRead.readings.map(\.source) == [.raw, .recorded])
        let statuses = try #require(current.report.objectives)
        func status(_ workload: String, _ objective: String, in list: [ObjectiveStatus] = statuses) throws -> ObjectiveStatus {
            try #require(list.first { $0.target.description == "prod/\(workload)" && $0.objective == objective })
        }
        // Against the truth of the profiles, as the raw read is held to it above.
        let failing = try status("burning", "availability")
        #expect(failing.source == .recorded)
        // Each recorded rate covers the 5 minutes before it, so the range's last 5 minutes count in part
        // (and the 5 before its start in part): a burn that began 50 minutes ago reads 4 % low over 6 h.
        let sixHours = (50 * 0.03 + 310 * 0.0005) / 360 / 0.001
        let lastMinutesInPart = (47.5 * 0.03 + 312.5 * 0.0005) / 360 / 0.001
        #expect(abs((failing.burn(over: 21_600) ?? 0) - lastMinutesInPart) <= 0.005 * sixHours, "\(failing)")
        #expect(abs((failing.burn(over: 300) ?? 0) - 30) <= 30e-6, "\(failing)")
        let compliance = 1 - (50 * 0.03 + 370 * 0.0005) / 420
        #expect(abs((failing.compliance ?? 0) - compliance) <= 0.001 * compliance && failing.state == .exhausted, "\(failing)")
        let slow = try status("burning", "latency")
        #expect(abs((slow.compliance ?? 0) - 11.0 / 12) <= 1e-6 && slow.state == .exhausted, "\(slow)")
        let steady = try status("steady", "availability")
        #expect(abs((steady.budgetLeft ?? 0) - 0.5) <= 1e-3 && steady.state == .ok, "\(steady)")
        // Each status is the one the raw read gives, within the recorded rates' smear.
        let rawStatuses = try #require(stale.report.objectives)
        let rawSlow = try status("burning", "latency", in: rawStatuses)
        #expect(rawSlow.source == .raw && abs((rawSlow.compliance ?? 0) - (slow.compliance ?? 1)) <= 1e-6)
        let markdown = MarkdownReport.render(stale.report)
        #expect(markdown.contains("Read over 6h and the window from the recording rules (`trimtab_slo:good:increase5m`, `trimtab_slo:total:increase5m`), over shorter ranges from the raw series: availability."))
        #expect(markdown.contains("Read from the raw series over every range, the whole window included: latency."))
    }
}
