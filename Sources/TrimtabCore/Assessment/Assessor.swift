/// Judges a snapshot against a policy: a pure function of its inputs.
public enum Assessor {
    public static func assess(_ snapshot: Snapshot, policy: Policy) -> Assessment {
        let time = snapshot.time
        let units = Dictionary(policy.indicators.map { ($0.name, $0.unit) }, uniquingKeysWith: { a, _ in a })
        var failures: [String: String] = [:]
        var notes: [String] = []
        // Health is judged from the indicators checks read; those only actions read are the planner's.
        let checked = Set(policy.checks.map(\.indicator))
        let judged = snapshot.indicators.values.filter { checked.contains($0.indicator) }
        // Every failed query counts, scored or read only by an action: a cycle with any of them is
        // incomplete, is unknown, and changes nothing.
        for data in snapshot.indicators.values {
            if let failure = data.failure { failures[data.indicator] = failure.message }
        }
        for data in judged.sorted(by: { $0.indicator < $1.indicator }) {
            for note in data.warnings { notes.append("Prometheus noted for indicator \(data.indicator): \(note)") }
            if data.unattributed > 0 {
                notes.append("indicator \(data.indicator): \(data.unattributed) series lacked a groupBy label (\(policy.targets.groupBy.joined(separator: ", "))) and were ignored; aggregate the query `by ($by)`")
            }
            for (target, count) in data.ambiguous.sorted(by: { $0.key < $1.key }) {
                notes.append("indicator \(data.indicator) returned \(count) series for \(target); aggregate the query `by ($by)` so each target has one")
            }
        }

        var targets: [TargetAssessment] = []
        for target in snapshot.targets(in: checked) {
            let checks = policy.checks(for: target.labels)
            // Exactly as many as there are checks: grown by doubling, the arrays of 5,000 targets
            // would hold 16 places for 9 results.
            var results: [CheckResult] = []
            results.reserveCapacity(checks.count)
            for check in checks {
                results.append(result(of: check, for: target, in: snapshot, unit: units[check.indicator] ?? .none,
                                      evidenceUnit: check.minEvidence.flatMap { units[$0.indicator] } ?? .none))
            }
            targets.append(summarize(target, results, minCoverage: policy.evaluation.minCoverage))
        }

        let bottlenecks = ordered(targets.flatMap { $0.checks.compactMap(\.bottleneck) })

        var score: Double?
        var status = HealthStatus.unknown
        var reason: String?
        let known = targets.filter { $0.score != nil }
        if !failures.isEmpty {
            reason = "\(failures.count) of \(snapshot.indicators.count) indicator queries failed (\(failures.keys.sorted().joined(separator: ", "))); a cycle with a query error is unknown and takes no action"
        } else if targets.isEmpty {
            reason = "no targets: the indicator queries returned no series for the policy's targets"
            notes += snapshot.noTargetExplanation(checked: checked, groupBy: policy.targets.groupBy).map { "no target: \($0)" }
        } else if Double(known.count) < policy.evaluation.minCoverage * Double(targets.count) {
            reason = "too little is known: \(known.count) of \(targets.count) targets have enough data (at least \(Int((policy.evaluation.minCoverage * 100).rounded())) % needed)"
        } else {
            score = known.compactMap(\.score).reduce(0, +) / Double(known.count)
            let statuses = Set(known.map(\.status))
            status = statuses.contains(.critical) ? .critical : statuses.contains(.degraded) ? .degraded : .healthy
        }
        return Assessment(policy: policy.name, time: time, score: score, status: status, unknownReason: reason,
                          targets: targets, bottlenecks: bottlenecks, failures: failures, notes: notes)
    }

    /// Bottlenecks most severe first, then by target and check.
    public static func ordered(_ bottlenecks: [Bottleneck]) -> [Bottleneck] {
        bottlenecks.sorted { a, b in
            if a.severity != b.severity { return a.severity > b.severity }
            if a.target != b.target { return a.target < b.target }
            return a.check < b.check
        }
    }

    static func result(of check: Check, for target: TargetID, in snapshot: Snapshot, unit: IndicatorUnit,
                       evidenceUnit: IndicatorUnit = .none) -> CheckResult {
        let data = snapshot.indicators[check.indicator]
        var result = CheckResult(check: check.name, indicator: check.indicator, unit: unit, worse: check.worse,
                                 warning: check.warning, critical: check.critical, forSeconds: check.forSeconds,
                                 weight: check.weight, key: check.key, status: .unknown, value: nil, score: nil,
                                 unknownReason: nil, bottleneck: nil, query: data?.query.promql ?? "")
        guard let data else {
            result.unknownReason = "indicator \(check.indicator) was not queried"
            return result
        }
        if let failure = data.failure {
            result.unknownReason = "the query failed: \(failure.message)"
            return result
        }
        if let count = data.ambiguous[target] {
            result.unknownReason = "the query returned \(count) series for this target; aggregate it by the groupBy labels"
            return result
        }
        guard let samples = data.series[target], !samples.isEmpty else {
            result.unknownReason = "no data: the query returned no series for this target"
            return result
        }
        let step = data.query.step
        guard let last = samples.last, abs(last.time - snapshot.time) <= step / 2 else {
            let lastTime = samples.last?.time ?? 0
            result.unknownReason = "stale: the last value is from \(PolicyDuration.format(snapshot.time - lastTime)) before the evaluation time"
            return result
        }
        if let minimum = check.minEvidence {
            // Too little traffic to judge comes before the value: one error in two requests is no error ratio.
            guard let evidence = snapshot.currentValue(minimum.indicator, for: target) else {
                result.unknownReason = "the evidence it needs (\(minimum.indicator)) has no current value"
                return result
            }
            if evidence < minimum.atLeast {
                result.status = .insufficient
                if !last.value.isNaN { result.value = last.value }
                result.unknownReason = "\(minimum.indicator) is \(Formatting.value(evidence, unit: evidenceUnit)), under the \(Formatting.value(minimum.atLeast, unit: evidenceUnit)) this check needs to judge"
                return result
            }
        }
        if last.value.isNaN {
            result.unknownReason = "the value is NaN (often 0/0: no traffic in the rate window)"
            return result
        }
        result.value = last.value
        result.status = Scoring.status(value: last.value, worse: check.worse, warning: check.warning, critical: check.critical)
        result.score = Scoring.checkScore(value: last.value, worse: check.worse, warning: check.warning, critical: check.critical)
        // A point of the `for` window with too little evidence cannot breach: it breaks the run.
        result.bottleneck = BreachDetector.bottleneck(snapshot.judgeable(samples, of: check, for: target), at: snapshot.time, step: step, check: check, unit: unit,
                                                      target: target, query: data.query.promql)
        return result
    }

    static func summarize(_ target: TargetID, _ results: [CheckResult], minCoverage: Double) -> TargetAssessment {
        // A check with too little evidence is a judgement, not missing data: it leaves the coverage alone.
        let totalWeight = results.filter { $0.status != .insufficient }.reduce(0) { $0 + $1.weight }
        let known = results.filter { $0.score != nil }
        let knownWeight = known.reduce(0) { $0 + $1.weight }
        let coverage = totalWeight > 0 ? knownWeight / totalWeight : 0
        let keyUnknown = results.contains { $0.key && $0.score == nil }
        guard !known.isEmpty, coverage >= minCoverage, !keyUnknown else {
            return TargetAssessment(target: target, score: nil, status: .unknown, coverage: coverage, checks: results)
        }
        let score = Scoring.weightedMean(known.map { ($0.score!, $0.weight) })
        let worst = known.map(\.status).max() ?? .ok
        let status: HealthStatus = worst == .critical ? .critical : worst == .warning ? .degraded : .healthy
        return TargetAssessment(target: target, score: score, status: status, coverage: coverage, checks: results)
    }
}
