/// Runs a policy test: builds the snapshot the policy's queries would see at each test time from the
/// input series, assesses and plans, and compares with what the test expects.
public enum PolicyTestRunner {
    /// How long a sample stays visible to a query, as Prometheus's default lookback delta.
    static let lookbackDelta = 300.0

    public struct Outcome: Sendable, Equatable {
        public var at: Double
        public var location: SourceLocation
        /// Empty when the case passed.
        public var mismatches: [String]
        public var passed: Bool { mismatches.isEmpty }
    }

    public static func run(_ test: PolicyTest, policy: Policy) -> [Outcome] {
        let interval = test.intervalSeconds ?? policy.evaluation.stepSeconds
        return test.cases.map { item in
            let snapshot = snapshot(test, policy: policy, interval: interval, at: item.at)
            let assessment = Assessor.assess(snapshot, policy: policy)
            let plan = Planner.plan(assessment, snapshot: snapshot, policy: policy, context: context(test, policy: policy))
            return Outcome(at: item.at, location: item.location, mismatches: compare(item, assessment, plan))
        }
    }

    /// The cluster as the test describes it: the knobs each target's `knobs` names. A test that names
    /// none stands for a run without a cluster, where knob values are unknown.
    static func context(_ test: PolicyTest, policy: Policy) -> PlanContext {
        guard test.targets.contains(where: { !$0.knobs.isEmpty }) else { return PlanContext() }
        var values: [TargetID: [Knob: KnobState]] = [:]
        for target in test.targets {
            let id = TargetID(labelNames: policy.targets.groupBy, labelValues: policy.targets.groupBy.map { target.labels[$0] ?? "" })
            for knob in policy.knobsReadFromCluster {
                values[id, default: [:]][knob] = knob.settingName.flatMap { target.knobs[$0] }
                    .map { .value($0, source: "the test's knobs") } ?? .unknown("the test gives no value for \(knob)")
            }
        }
        return PlanContext(knobValues: values, clusterRead: true)
    }

    /// What each indicator's range query would return at `time`: at every step, the latest input
    /// sample no older than the lookback delta.
    static func snapshot(_ test: PolicyTest, policy: Policy, interval: Double, at time: Double) -> Snapshot {
        let queries = IndicatorQuery.plan(for: policy, at: time)
        let data = queries.map { query -> IndicatorData in
            let raw = test.targets.compactMap { target -> RawSeries? in
                guard let values = target.series[query.indicator] else { return nil }
                var samples: [Sample] = []
                var point = query.start
                while point <= query.end + 1e-6 {
                    let newest = Int((point / interval + 1e-9).rounded(.down))
                    let oldest = max(0, Int(((point - lookbackDelta) / interval).rounded(.up)))
                    if newest >= 0 {
                        let found = stride(from: min(newest, values.count - 1), through: oldest, by: -1).first { values[$0] != nil }
                        if let found, let value = values[found] { samples.append(Sample(time: point, value: value)) }
                    }
                    point += query.step
                }
                return RawSeries(labels: target.labels, samples: samples)
            }
            return IndicatorData.from(raw, query: query, groupBy: policy.targets.groupBy)
        }
        return Snapshot(time: time, indicators: data)
    }

    static func compare(_ item: PolicyTest.Case, _ assessment: Assessment, _ plan: Plan) -> [String] {
        var mismatches: [String] = []
        if let expected = item.bottlenecks {
            let got = assessment.bottlenecks.map {
                PolicyTest.ExpectedBottleneck(target: $0.target.description, check: $0.check, severity: $0.severity)
            }
            for missing in expected where !got.contains(missing) { mismatches.append("expected bottleneck \(missing), not found") }
            for extra in got where !expected.contains(extra) { mismatches.append("unexpected bottleneck \(extra)") }
        }
        if let expected = item.actions {
            var remaining = plan.actions
            for wanted in expected {
                if let index = remaining.firstIndex(where: { matches($0, wanted) }) {
                    remaining.remove(at: index)
                } else {
                    let near = remaining.filter { $0.target.description == wanted.target && $0.action == wanted.action }
                    // A near miss is reported once, as what was got instead.
                    remaining.removeAll { $0.target.description == wanted.target && $0.action == wanted.action }
                    mismatches.append("expected action \(wanted), " + (near.isEmpty ? "not planned" : "got " + near.map(describe).joined(separator: "; ")))
                }
            }
            for extra in remaining { mismatches.append("unexpected action \(describe(extra))") }
        }
        if let status = item.status, status != assessment.status {
            mismatches.append("expected status \(status.rawValue), got \(assessment.status.rawValue)" + (assessment.unknownReason.map { " (\($0))" } ?? ""))
        }
        if let expected = item.recommendations {
            let got = plan.recommendations.map { "\($0.target) \($0.check)" }
            for missing in expected where !got.contains(missing) { mismatches.append("expected a recommendation for \(missing), not given") }
            for extra in got where !expected.contains(extra) { mismatches.append("unexpected recommendation for \(extra)") }
        }
        return mismatches
    }

    static func matches(_ action: PlannedAction, _ wanted: PolicyTest.ExpectedAction) -> Bool {
        action.target.description == wanted.target && action.action == wanted.action && action.decision == wanted.decision
            && (wanted.from.map { abs($0 - action.current) < 1e-9 } ?? true) && (wanted.to.map { abs($0 - action.proposed) < 1e-9 } ?? true)
    }

    static func describe(_ action: PlannedAction) -> String {
        "\(action.target) \(action.action) from \(Formatting.number(action.current)) to \(Formatting.number(action.proposed)) (\(action.decision.rawValue)"
            + (action.failedRules.isEmpty ? "" : ": " + action.failedRules.map(\.rule).joined(separator: ", ")) + ")"
    }
}
