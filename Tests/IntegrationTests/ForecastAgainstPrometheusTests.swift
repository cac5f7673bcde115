import Foundation
import Testing
import TrimtabCore
import TrimtabSandbox

/// A scale rule's forecast read from a real Prometheus: four days of a service's stock metrics (the
/// client library's request counter per pod, cAdvisor's CPU, kube-state-metrics and the mixin's owner
/// series), with a peak at the same time every day, scraped every five minutes to keep the history
/// small (the policy's rates read 15 minutes so each holds three scrapes).
@Suite("Load forecasts against a real Prometheus")
struct ForecastAgainstPrometheusTests {
    /// 100 req/s, 300 from 5 minutes after the end every day for an hour; CPU follows the load.
    static func profile(end: Double) -> WorkloadProfile {
        let surge: @Sendable (Double) -> Bool = { ago in
            let offset = (-ago - 300).truncatingRemainder(dividingBy: 86_400)
            let inDay = offset < 0 ? offset + 86_400 : offset
            return inDay < 3_600
        }
        return WorkloadProfile(namespace: "shop", deployment: "web", requestsPerSecond: { surge($0) ? 300 : 100 },
                               latencyP95: { _ in 0.2 }, cpuUtilization: { surge($0) ? 0.9 : 0.3 }, replicas: 4, rolloutAgo: nil)
    }

    static func policyText() throws -> String {
        let text = try String(contentsOf: DeployManifests.root.appendingPathComponent("policies/default.yaml"), encoding: .utf8)
        let forecasting = text.replacingOccurrences(of: "[5m])", with: "[15m])")
            .replacingOccurrences(of: "scale: {min: 2, max: 20, utilizationTarget: 70%}",
                                  with: "scale: {min: 2, max: 20, utilizationTarget: 70%, forecast: {load: request_rate, lead: 15m, history: 4d}}")
        #expect(forecasting.contains("forecast: {load: request_rate"), "the default policy's scale rule must be where the test expects it")
        return forecasting
    }

    @Test func fourDaysOfHistoryForecastTheDailyPeakAndScaleOutAheadOfIt() async throws {
        let step = 300.0
        let end = (alignedNow() / step).rounded(.down) * step
        let start = end - 4 * 86_400
        let metrics = OpenMetricsWriter.write(RawMetrics.series(for: [Self.profile(end: end)], start: start, end: end, step: step),
                                              start: start, end: end, step: step)
        try await withTemporaryDirectory { dir in
            let policy = dir.appendingPathComponent("forecast.yaml").path
            try Self.policyText().write(toFile: policy, atomically: true, encoding: .utf8)
            let json = dir.appendingPathComponent("r.json").path
            let markdown = dir.appendingPathComponent("r.md").path
            try await withPrometheus(metrics) { prometheus in
                for (format, path) in [("json", json), ("markdown", markdown)] {
                    #expect(await trimtab(["analyze", "--prometheus", prometheus.url, "--at", "\(Int(end))", "--policy", policy,
                                           "--quiet", "--format", format, "--output", path]) == 0)
                }
            }
            let report = try JSONDecoder().decode(AnalysisReport.self, from: Data(contentsOf: URL(fileURLWithPath: json)))
            let forecast = try #require(report.plan?.forecasts?.first { $0.target.labelValues == ["shop", "web"] }, "\(String(describing: report.plan?.forecasts))")
            #expect(forecast.usable, "\(forecast.note)")
            #expect(forecast.seasonSeconds == 86_400)
            #expect(abs((forecast.now ?? 0) - 100) < 10, "\(forecast)")
            #expect(abs((forecast.peak ?? 0) - 300) < 45, "\(forecast)")
            // The peak begins in 5 minutes; the 15-minute rate shows it whole 15 minutes later, within
            // the horizon (the lead, 15m, and a step). 4 pods at 30 % CPU serve 100/s, so a pod serves
            // 100 / (4 × 0.3) × 0.7 ≈ 58/s at the target: the peak needs ceil(300 / 58) = 6, asked for now.
            // The idle scale-in the low CPU would make (to 2) is not made.
            let action = try #require(report.plan?.actions.first { $0.target == forecast.target && $0.knob == .replicas }, "\(report.plan?.considered ?? [])")
            #expect(action.current == 4 && action.proposed == 6, "\(action.reason)")
            #expect(action.reason.hasPrefix("ahead of a forecast peak"), "\(action.reason)")
            #expect(forecast.effect == "scale out 4 → 6 ahead of the peak (it needs 6)", "\(String(describing: forecast.effect))")
            let text = try String(contentsOfFile: markdown, encoding: .utf8)
            #expect(text.contains("### Load forecasts"), "\(text)")
            #expect(text.contains("| shop/web (request_rate) | 100"), "\(text)")
        }
    }
}
