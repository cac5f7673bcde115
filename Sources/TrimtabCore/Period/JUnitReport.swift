/// JUnit XML for CI systems that show test results: a test suite per target, a test case per check.
/// A check past its critical threshold (or the gate's level) fails; an unknown one is skipped. Each
/// objective is a test case of its target's suite: it fails at the gate's `--fail-on-slo` level (the
/// budget spent, without one), and an unknown one is skipped.
public enum JUnitReport {
    public static func render(_ report: PeriodReport) -> String {
        let failLevel = report.gate?.failOn ?? .critical
        var suites: [String] = []
        var totalTests = 0, totalFailures = 0, totalSkipped = 0
        let sloLevel = report.gate?.failOnSLO ?? .exhausted
        for target in report.assessment.targets {
            var cases: [String] = []
            var failures = 0, skipped = 0
            for status in (report.objectives ?? []) where status.target == target.target {
                let name = "objective \(status.objective)"
                let facts = "compliance \(status.compliance.map(ObjectiveMarkdown.share) ?? "unknown") against \(ObjectiveMarkdown.share(status.goal)) over \(PolicyDuration.format(status.windowSeconds)), "
                    + "budget left \(status.budgetLeft.map { Formatting.number($0 * 100) + " %" } ?? "unknown"), \(status.state.rawValue)"
                let body: String
                if status.state == .unknown {
                    skipped += 1
                    body = "<skipped message=\"\(escape(status.reason ?? "unknown"))\"/>"
                } else if sloLevel.reached(by: status.state) {
                    failures += 1
                    body = "<failure type=\"\(status.state.rawValue)\" message=\"\(escape(facts))\">\(escape(status.reason ?? ""))</failure>"
                } else {
                    body = "<system-out>\(escape(facts))</system-out>"
                }
                cases.append("    <testcase classname=\"\(escape(target.target.description))\" name=\"\(escape(name))\">\(body)</testcase>")
            }
            for check in target.checks {
                let name = "\(check.check)"
                var body = ""
                let value = Formatting.value(check.value, unit: check.unit)
                let threshold = "warning \(check.worse == .higher ? ">" : "<") \(Formatting.value(check.warning, unit: check.unit)), critical \(check.worse == .higher ? ">" : "<") \(Formatting.value(check.critical, unit: check.unit))"
                if check.status == .unknown {
                    skipped += 1
                    body = "<skipped message=\"\(escape(check.unknownReason ?? "unknown"))\"/>"
                } else if check.status >= failLevel {
                    failures += 1
                    body = "<failure type=\"\(check.status.rawValue)\" message=\"\(escape("\(check.check) is \(value) (\(threshold))"))\">\(escape(check.query))</failure>"
                } else {
                    body = "<system-out>\(escape("\(value) (\(check.status.rawValue); \(threshold))"))</system-out>"
                }
                cases.append("    <testcase classname=\"\(escape(target.target.description))\" name=\"\(escape(name))\">\(body)</testcase>")
            }
            totalTests += cases.count
            totalFailures += failures
            totalSkipped += skipped
            suites.append("  <testsuite name=\"\(escape(target.target.description))\" tests=\"\(cases.count)\" failures=\"\(failures)\" skipped=\"\(skipped)\">\n"
                          + cases.joined(separator: "\n") + "\n  </testsuite>")
        }
        var gateSuite = ""
        if let gate = report.gate {
            totalTests += 1
            let body = gate.passed ? "" : "<failure type=\"gate\" message=\"\(escape(gate.reasons.joined(separator: "; ")))\"/>"
            if !gate.passed { totalFailures += 1 }
            gateSuite = "\n  <testsuite name=\"trimtab gate\" tests=\"1\" failures=\"\(gate.passed ? 0 : 1)\" skipped=\"0\">\n    <testcase classname=\"trimtab\" name=\"gate\">\(body)</testcase>\n  </testsuite>"
        }
        return """
        <?xml version="1.0" encoding="UTF-8"?>
        <testsuites name="trimtab \(escape(report.assessment.policy))" tests="\(totalTests)" failures="\(totalFailures)" skipped="\(totalSkipped)">
        \(suites.joined(separator: "\n"))\(gateSuite)
        </testsuites>

        """
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                // Control characters other than tab and newline are not allowed in XML 1.0.
                if character.value < 0x20 && character != "\t" && character != "\n" { continue }
                out.unicodeScalars.append(character)
            }
        }
        return out
    }
}
