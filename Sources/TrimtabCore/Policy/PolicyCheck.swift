/// `policy check`: what each indicator of a policy finds on a real Prometheus, judged for the
/// problems a new policy has (a query Prometheus cannot parse, one that matches nothing, series that
/// lack a groupBy label or are not aggregated per target, data that stopped). Pure: the answers go
/// in, findings come out; the command does the reading.
public enum PolicyCheck {
    /// What one indicator's query found.
    public struct Finding: Sendable, Equatable {
        public var indicator: String
        /// No problem: the query parsed, ran and gave every series it returned to one target.
        public var ok: Bool
        /// What to tell the user, the first line first.
        public var lines: [String]
    }

    /// One indicator as read: what the snapshot reader made of the answer, and the server's own
    /// message when it refused the query as invalid (to locate a parse error).
    public struct Input: Sendable {
        public var data: IndicatorData
        public var invalidQueryMessage: String?

        public init(data: IndicatorData, invalidQueryMessage: String? = nil) {
            self.data = data
            self.invalidQueryMessage = invalidQueryMessage
        }
    }

    public static func check(_ policy: Policy, inputs: [Input], time: Double) -> [Finding] {
        var everyTarget = Set<TargetID>()
        for input in inputs {
            everyTarget.formUnion(input.data.series.keys)
            everyTarget.formUnion(input.data.ambiguous.keys)
        }
        let used = Set(policy.queriedIndicators.map(\.name))
        return policy.indicators.compactMap { indicator in
            guard let input = inputs.first(where: { $0.data.indicator == indicator.name }) else { return nil }
            var finding = finding(for: indicator, input, policy: policy, everyTarget: everyTarget, time: time)
            if !used.contains(indicator.name) { finding.lines.append("not read by any check or action, so analyze does not send it") }
            return finding
        }
    }

    static func finding(for indicator: Indicator, _ input: Input, policy: Policy, everyTarget: Set<TargetID>, time: Double) -> Finding {
        let data = input.data
        if let message = input.invalidQueryMessage {
            let rendered = PromQL.renderMapped(indicator.query, targets: policy.targets)
            if let position = parseErrorPosition(message), let offset = characterOffset(line: position.line, column: position.column, in: rendered.text) {
                let templateOffset = offset < rendered.origin.count ? rendered.origin[offset] : indicator.query.count
                let location = indicator.queryLocation?.location(ofOffset: templateOffset, in: indicator.query) ?? indicator.location
                let near = String(indicator.query.dropFirst(max(0, templateOffset - 20)).prefix(40)).replacingOccurrences(of: "\n", with: " ")
                return Finding(indicator: indicator.name, ok: false, lines: [
                    "invalid PromQL at \(location.map { "\($0)" } ?? "its query"): \(position.text)",
                    "near: …\(near)…",
                ])
            }
            return Finding(indicator: indicator.name, ok: false, lines: ["invalid PromQL: \(message)"])
        }
        if let failure = data.failure {
            return Finding(indicator: indicator.name, ok: false, lines: ["the query failed: \(failure.message)"])
        }
        var ok = true
        var lines: [String] = []
        let targets = Set(data.series.keys).union(data.ambiguous.keys)
        if data.seriesReturned == 0 {
            ok = false
            lines.append("matched no series at all: check the metric names and label matchers (the query as sent is below)")
            lines.append(PromQL.render(indicator.query, targets: policy.targets).replacingOccurrences(of: "\n", with: " "))
        } else {
            lines.append("\(targets.count) target\(targets.count == 1 ? "" : "s") from \(data.seriesReturned) series")
        }
        if data.unattributed > 0 {
            ok = false
            let missing = data.missingLabels.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }.joined(separator: ", ")
            lines.append("\(data.unattributed) series lack a groupBy label, so they belong to no target: missing \(missing); aggregate `by ($by)` and check that the series carry \(policy.targets.groupBy.joined(separator: ", "))")
        }
        if !data.ambiguous.isEmpty {
            ok = false
            let listed = data.ambiguous.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }
            lines.append("\(data.ambiguous.count) target\(data.ambiguous.count == 1 ? " has" : "s have") more than one series: \(list(listed)); aggregate it with `sum by ($by)` or `max by ($by)`")
        }
        let lacking = everyTarget.subtracting(targets).sorted().map(\.description)
        if !lacking.isEmpty, !targets.isEmpty {
            lines.append("lacks \(lacking.count) target\(lacking.count == 1 ? "" : "s") that other indicators have: \(list(lacking))")
        }
        let newest = data.series.values.compactMap { $0.last?.time }.max()
        if let newest {
            let age = time - newest
            if age > data.query.step / 2 {
                ok = false
                lines.append("stale: the newest point is \(PolicyDuration.format(age)) before the evaluation time")
            } else {
                lines.append("newest point at the evaluation time")
                // Targets whose series stopped: their workload went away, or its exporter did.
                let stale = data.series.filter { ($0.value.last?.time ?? 0) < time - data.query.step / 2 }
                    .sorted { $0.key < $1.key }.map { "\($0.key) (\(PolicyDuration.format(time - ($0.value.last?.time ?? time))) old)" }
                if !stale.isEmpty { lines.append("stale for \(stale.count) target\(stale.count == 1 ? "" : "s"): \(list(stale))") }
            }
        }
        return Finding(indicator: indicator.name, ok: ok, lines: lines)
    }

    static func list(_ items: [String], limit: Int = 5) -> String {
        items.prefix(limit).joined(separator: ", ") + (items.count > limit ? " and \(items.count - limit) more" : "")
    }

    /// The line, column and message of a PromQL parse error as Prometheus words it: `3:2: parse error: unclosed left parenthesis`.
    public static func parseErrorPosition(_ message: String) -> (line: Int, column: Int, text: String)? {
        guard let range = message.range(of: #"(\d+):(\d+): parse error: "#, options: .regularExpression) else { return nil }
        let head = message[range].dropLast(": parse error: ".count).split(separator: ":")
        guard head.count == 2, let line = Int(head[0]), let column = Int(head[1]) else { return nil }
        return (line, column, String(message[range.upperBound...]))
    }

    /// The character offset of a 1-based line and byte column (as Prometheus counts them) in a text.
    static func characterOffset(line: Int, column: Int, in text: String) -> Int? {
        var currentLine = 1
        var lineStart = text.utf8.startIndex
        var index = text.utf8.startIndex
        while currentLine < line {
            guard let newline = text.utf8[index...].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
            index = text.utf8.index(after: newline)
            lineStart = index
            currentLine += 1
        }
        let target = text.utf8.index(lineStart, offsetBy: column - 1, limitedBy: text.utf8.endIndex) ?? text.utf8.endIndex
        return text.distance(from: text.startIndex, to: String.Index(target, within: text) ?? text.endIndex)
    }
}
