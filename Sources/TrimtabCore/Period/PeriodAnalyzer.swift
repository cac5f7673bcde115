/// Builds a period report from the cycle at the end of the period (the judgement `analyze` makes there)
/// and a coarser read of every indicator over this period and the previous one.
public enum PeriodAnalyzer {
    /// How many points the coarse read aims for per period.
    public static let pointsPerPeriod = 96.0
    /// How many scores the report plots across the period.
    public static let scorePoints = 24

    /// The coarse queries: one per indicator over the previous and the current period, ending on `end`.
    public static func trendQueries(for policy: Policy, period: ReportPeriod) -> [IndicatorQuery] {
        let raw = max(policy.evaluation.stepSeconds, period.seconds / pointsPerPeriod)
        let step = (raw / 10).rounded(.up) * 10
        let count = (2 * period.seconds / step).rounded(.up)
        return policy.queriedIndicators.map {
            IndicatorQuery(indicator: $0.name, promql: PromQL.render($0.query, targets: policy.targets),
                           start: period.end - count * step, end: period.end, step: step)
        }
    }

    public struct Inputs: Sendable {
        public var policy: Policy
        public var period: ReportPeriod
        public var context: RunContext
        /// The judgement at the end of the period: the cycle's assessment and plan.
        public var assessment: Assessment
        public var plan: Plan?
        public var trendData: [IndicatorData]
        public var baseline: Assessment?
        public var externalURL: String?
        public var failUnder: Double?
        public var failOn: CheckStatus?
        /// The objectives at the end of the period, as the cycle there judged them.
        public var objectives: [ObjectiveStatus]
        public var failOnSLO: ObjectiveGateLevel?

        public init(policy: Policy, period: ReportPeriod, context: RunContext, assessment: Assessment, plan: Plan?, trendData: [IndicatorData],
                    baseline: Assessment? = nil, externalURL: String? = nil, failUnder: Double? = nil, failOn: CheckStatus? = nil,
                    objectives: [ObjectiveStatus] = [], failOnSLO: ObjectiveGateLevel? = nil) {
            self.policy = policy
            self.period = period
            self.context = context
            self.assessment = assessment
            self.plan = plan
            self.trendData = trendData
            self.baseline = baseline
            self.externalURL = externalURL
            self.failUnder = failUnder
            self.failOn = failOn
            self.objectives = objectives
            self.failOnSLO = failOnSLO
        }
    }

    public static func build(_ inputs: Inputs) -> PeriodReport {
        let policy = inputs.policy, period = inputs.period
        let assessment = inputs.assessment, plan = inputs.plan

        // The score across the period, and the mean over the previous one, from the coarse read.
        let step = inputs.trendData.first?.query.step ?? policy.evaluation.stepSeconds
        let stride = max(1, Int((period.seconds / step / Double(scorePoints)).rounded(.down)))
        let currentTimes = grid(from: period.start, to: period.end, step: step * Double(stride))
        let previousTimes = grid(from: period.previousStart, to: period.start, step: step * Double(stride))
        var scores: [ScorePoint] = []
        var targetScores: [String: [Double?]] = [:]
        let targets = assessment.targets.map(\.target.description)
        for time in currentTimes {
            let past = Assessor.assess(snapshot(inputs.trendData, at: time), policy: policy)
            scores.append(ScorePoint(time: time, score: past.score))
            let byTarget = Dictionary(past.targets.map { ($0.target.description, $0.score) }, uniquingKeysWith: { a, _ in a })
            for target in targets { targetScores[target, default: []].append(byTarget[target] ?? nil) }
        }
        let previousScores = previousTimes.compactMap { Assessor.assess(snapshot(inputs.trendData, at: $0), policy: policy).score }

        // Every check compared with the previous period.
        let data = Dictionary(inputs.trendData.map { ($0.indicator, $0) }, uniquingKeysWith: { a, _ in a })
        var trends: [Trend] = []
        for target in assessment.targets {
            for check in target.checks {
                let series = data[check.indicator]?.series[target.target] ?? []
                let current = series.filter { $0.time > period.start && $0.time <= period.end + 1e-6 }
                let previous = series.filter { $0.time > period.previousStart && $0.time <= period.start + 1e-6 }
                let value = mean(current), reference = mean(previous)
                let (change, direction, calledOut) = Trend.compare(value, reference, worse: check.worse,
                                                                   limitPercent: policy.evaluation.regressionPercent)
                let sparkline = currentTimes.map { time in
                    current.last(where: { $0.time <= time + 1e-6 && $0.time > time - step * Double(stride) }).map(\.value).flatMap { $0.isFinite ? $0 : nil }
                }
                trends.append(Trend(target: target.target, check: check.check, indicator: check.indicator, unit: check.unit,
                                    worse: check.worse, value: value, reference: reference, changePercent: change,
                                    direction: direction, calledOut: calledOut, series: sparkline))
            }
        }

        // Every check compared with the baseline report's value.
        var baselineTrends: [Trend]?
        if let baseline = inputs.baseline {
            let old = Dictionary(baseline.targets.flatMap { target in target.checks.map { ("\(target.target)|\($0.check)", $0.value) } },
                                 uniquingKeysWith: { a, _ in a })
            baselineTrends = assessment.targets.flatMap { target in
                target.checks.map { check in
                    let reference = old["\(target.target)|\(check.check)"] ?? nil
                    let (change, direction, calledOut) = Trend.compare(check.value, reference, worse: check.worse,
                                                                       limitPercent: policy.evaluation.regressionPercent)
                    return Trend(target: target.target, check: check.check, indicator: check.indicator, unit: check.unit,
                                 worse: check.worse, value: check.value, reference: reference, changePercent: change,
                                 direction: direction, calledOut: calledOut, series: [])
                }
            }
        }

        var gate: GateResult?
        if inputs.failUnder != nil || inputs.failOn != nil || inputs.failOnSLO != nil {
            gate = GateResult.judge(assessment, failUnder: inputs.failUnder, failOn: inputs.failOn,
                                    objectives: inputs.objectives, failOnSLO: inputs.failOnSLO)
        }
        return PeriodReport(schemaVersion: PeriodReport.currentSchemaVersion, kind: "trimtab.report",
                            generatedAt: Formatting.time(period.end), period: period, context: inputs.context,
                            assessment: assessment, plan: plan, scores: scores, targetScores: targetScores,
                            periodScore: mean(scores.compactMap(\.score)), previousPeriodScore: mean(previousScores),
                            trends: trends, regressionPercent: policy.evaluation.regressionPercent, baseline: baselineTrends, baselineScore: inputs.baseline?.score, gate: gate,
                            objectives: inputs.objectives.isEmpty ? nil : inputs.objectives, externalURL: inputs.externalURL)
    }

    /// Times `step` apart within `(from, to]`, counted back from `to` (a point of the coarse grid).
    static func grid(from: Double, to: Double, step: Double) -> [Double] {
        var result: [Double] = []
        var time = to
        while time > from + 1e-6, result.count < 10_000 {
            result.append(time)
            time -= step
        }
        return result.reversed()
    }

    /// The coarse data as a snapshot at an earlier time: the points up to it.
    static func snapshot(_ data: [IndicatorData], at time: Double) -> Snapshot {
        Snapshot(time: time, indicators: data.map { item in
            var copy = item
            copy.query.end = time
            copy.series = item.series.mapValues { Samples($0.filter { $0.time <= time + 1e-6 }) }
            return copy
        })
    }

    static func mean(_ samples: [Sample]) -> Double? {
        mean(samples.map(\.value).filter(\.isFinite))
    }

    static func mean(_ values: [Double]) -> Double? {
        values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }
}
