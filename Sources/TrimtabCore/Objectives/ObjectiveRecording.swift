/// Recording rules for a policy's objectives, as Sloth and Pyrra generate them for theirs: Prometheus
/// records each objective's good and total requests over 5 minutes (the increase the default policy's
/// queries take; a policy that writes rate() records rates, and the ratio is the same), by target,
/// every interval;
/// Trimtab then reads the long ranges (6 hours and the 28-day window) from those few recorded series
/// instead of the raw histograms and counters of every pod. The short ranges (5m, 30m, 1h) stay raw:
/// they are cheap, and the recorded rates would smear their edges by the rate's 5 minutes, which over
/// an hour is 4 % of the range and over 6 hours under 1 %.
///
/// Each recorded series carries `trimtab_policy`, `trimtab_objective` and `trimtab_digest` (a hash of
/// the rendered good and total queries): a policy whose objective changed no longer matches rules
/// written for the old one, and is read from the raw series until the rules are regenerated.
public enum ObjectiveRecording {
    public static let goodRecord = "trimtab_slo:good:increase5m"
    public static let totalRecord = "trimtab_slo:total:increase5m"
    /// The range the rules count over (their increases, or rates).
    public static let rateSeconds = 300.0
    /// Ranges this long or longer are read from the recorded rates when they are present.
    public static let recordedFromSeconds = 6 * 3600.0

    /// The rendered good and total queries over 5 minutes: what the rules record.
    public static func expressions(_ objective: Objective, targets: TargetSelector) -> (good: String, total: String) {
        let range = ["range": PolicyDuration.format(rateSeconds)]
        return (PromQL.render(objective.good, targets: targets, extra: range), PromQL.render(objective.total, targets: targets, extra: range))
    }

    /// 16 hex digits of FNV-1a over the rendered queries and the target labels.
    public static func digest(_ objective: Objective, targets: TargetSelector) -> String {
        let (good, total) = expressions(objective, targets: targets)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in (good + "\u{0}" + total + "\u{0}" + targets.groupBy.joined(separator: ",")).utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The label matchers that pick one objective's recorded series.
    static func matchers(_ objective: Objective, policy: Policy) -> String {
        "trimtab_policy=\"\(PromQL.escape(policy.name))\", trimtab_objective=\"\(PromQL.escape(objective.name))\", "
            + "trimtab_digest=\"\(digest(objective, targets: policy.targets))\""
    }

    /// Which objectives of the policy have recorded series now, with which digest: one cheap query.
    public static func presenceQuery(policy: Policy) -> String {
        "group by (trimtab_objective, trimtab_digest) (\(totalRecord){trimtab_policy=\"\(PromQL.escape(policy.name))\"})"
    }

    /// The bad share over `rangeSeconds` from the recorded rates: the request-weighted mean of the
    /// 5-minute rates in the range (each request counted alike, so a quiet night weighs less than a
    /// busy day, as in the raw read).
    public static func errorRatioQuery(_ objective: Objective, policy: Policy, rangeSeconds: Double) -> String {
        let by = policy.targets.groupBy.joined(separator: ", ")
        let select = matchers(objective, policy: policy)
        func part(_ record: String) -> String {
            "sum by (\(by)) (sum_over_time(\(record){\(select)}[\(PolicyDuration.format(rangeSeconds))]))"
        }
        return "1 - (\n\(part(goodRecord))\n) / (\n\(part(totalRecord))\n)"
    }

    /// The query of one objective's range: from the recorded rates when they are present and the
    /// range is long, else from the raw series.
    public static func query(_ objective: Objective, policy: Policy, rangeSeconds: Double, recorded: Bool) -> String {
        recorded && rangeSeconds >= recordedFromSeconds
            ? errorRatioQuery(objective, policy: policy, rangeSeconds: rangeSeconds)
            : objective.errorRatioQuery(rangeSeconds: rangeSeconds, targets: policy.targets)
    }

    /// The rule file for a policy's objectives (empty groups when it declares none), for
    /// `rule_files:` in prometheus.yml or a PrometheusRule's `spec`.
    public static func rules(for policy: Policy, intervalSeconds: Double = 30) -> String {
        rules(for: [policy], intervalSeconds: intervalSeconds)
    }

    /// The rule file for several teams' policies: one group each.
    public static func rules(for policies: [Policy], intervalSeconds: Double = 30) -> String {
        var out = [
            "# Recording rules for the objectives of Trimtab polic\(policies.count == 1 ? "y" : "ies") \(policies.map(\.name).joined(separator: ", ")), written by `trimtab policy rules`.",
            "# Trimtab reads its objectives from these series when they are present with the digest of the",
            "# objective's current definition, and from the raw series otherwise; the report says which.",
            "# Regenerate them when an objective's good or total query, or the policy's targets, change.",
            "groups:",
        ]
        for policy in policies { out += group(policy, intervalSeconds: intervalSeconds) }
        return out.joined(separator: "\n") + "\n"
    }

    static func group(_ policy: Policy, intervalSeconds: Double) -> [String] {
        var out = [
            "  - name: \(quoted("trimtab.objectives.\(policy.name)"))",
            "    interval: \(PolicyDuration.format(intervalSeconds))",
            "    rules:",
        ]
        if policy.objectives.isEmpty { out[out.count - 1] = "    rules: []" }
        for objective in policy.objectives {
            let (good, total) = expressions(objective, targets: policy.targets)
            for (record, expression) in [(goodRecord, good), (totalRecord, total)] {
                out.append("      - record: \(record)")
                out.append("        expr: |-")
                out += expression.split(separator: "\n", omittingEmptySubsequences: false).map { "          " + $0 }
                out.append("        labels:")
                out.append("          trimtab_policy: \(quoted(policy.name))")
                out.append("          trimtab_objective: \(quoted(objective.name))")
                out.append("          trimtab_digest: \(quoted(digest(objective, targets: policy.targets)))")
            }
        }
        return out
    }

    /// A YAML double-quoted scalar: PromQL's escapes are YAML's too, and other control characters as `\xNN`.
    static func quoted(_ text: String) -> String {
        "\"" + PromQL.escape(text).unicodeScalars.map { $0.value < 0x20 ? "\\x" + String($0.value, radix: 16).paddedHex : String($0) }.joined() + "\""
    }
}

extension String {
    fileprivate var paddedHex: String { count >= 2 ? self : "0" + self }
}
