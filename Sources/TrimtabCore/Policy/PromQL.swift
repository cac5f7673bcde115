/// PromQL text helpers: label names, escaping, and the placeholders of indicator templates.
public enum PromQL {
    /// The placeholders an indicator query may use.
    public static let placeholders: [String: String] = [
        "selector": "the label matchers of the targets, without braces: every groupBy label non-empty, the namespace and matchLabels",
        "by": "the groupBy labels, comma-separated, for `sum by ($by)`",
        "namespace": "the targets' namespace, escaped for use inside double quotes",
        "namespaceSelector": "one matcher on the namespace label, for raw series that lack the groupBy labels: namespace=\"NS\" (or namespace=~\"A|B\" for several) when the targets name namespaces, else namespace!=\"\"",
        "workloadType": "the targets' kind in lower case (deployment, statefulset, rollout), as the kubernetes-mixin's workload_type label has it",
    ]

    /// Whether a string is a valid Prometheus label name.
    public static func isValidLabelName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.properties.isAlphabetic && first.isASCII) else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0)) }
    }

    /// Escapes a label value for a double-quoted PromQL string, so a value cannot end the string
    /// and change the query.
    public static func escape(_ value: String) -> String {
        var out = ""
        for character in value.unicodeScalars {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// A placeholder found in a template, with its offset in characters.
    public struct PlaceholderUse: Equatable, Sendable {
        public var name: String
        public var offset: Int
    }

    /// Finds `$name` and `${name}` in a template; `$1`-style references (label_replace) are left alone.
    public static func placeholderUses(in template: String) -> [PlaceholderUse] {
        var uses: [PlaceholderUse] = []
        let chars = Array(template)
        var index = 0
        while index < chars.count {
            guard chars[index] == "$", index + 1 < chars.count else { index += 1; continue }
            var cursor = index + 1
            let braced = chars[cursor] == "{"
            if braced { cursor += 1 }
            let start = cursor
            while cursor < chars.count, chars[cursor] == "_" || chars[cursor].isLetter || (cursor > start && chars[cursor].isNumber) {
                cursor += 1
            }
            if cursor > start {
                uses.append(PlaceholderUse(name: String(chars[start..<cursor]), offset: index))
                if braced, cursor < chars.count, chars[cursor] == "}" { cursor += 1 }
                index = cursor
            } else {
                index += 1
            }
        }
        return uses
    }

    /// The label matchers (without braces) that select the policy's targets.
    public static func selector(for targets: TargetSelector) -> String {
        var matchers = targets.groupBy.map { "\($0)!=\"\"" }
        if let namespace = targets.namespaceMatcher { matchers.append(namespace) }
        for (label, value) in targets.matchLabels.sorted(by: { $0.key < $1.key }) {
            matchers.append("\(label)=\"\(escape(value))\"")
        }
        return matchers.joined(separator: ",")
    }

    /// Fills a template's placeholders for the policy's targets.
    /// `extra` fills placeholders of the template's owner (an objective's `$range`).
    public static func render(_ template: String, targets: TargetSelector, extra: [String: String] = [:]) -> String {
        renderMapped(template, targets: targets, extra: extra).text
    }

    /// Fills a template's placeholders, and says for every character of the result the offset in the
    /// template it came from (a placeholder's value maps to the placeholder), so a position in the
    /// rendered query (a parse error) maps back to the template and from there to the file.
    public static func renderMapped(_ template: String, targets: TargetSelector, extra: [String: String] = [:]) -> (text: String, origin: [Int]) {
        let values: [String: String] = [
            "selector": selector(for: targets),
            "by": targets.groupBy.joined(separator: ", "),
            "namespace": escape(targets.namespace ?? ""),
            "namespaceSelector": targets.namespaceMatcher ?? "namespace!=\"\"",
            "workloadType": escape(targets.kind.lowercased()),
        ].merging(extra) { standard, _ in standard }
        var out = ""
        var origin: [Int] = []
        let chars = Array(template)
        var last = 0
        for use in placeholderUses(in: template) {
            guard let value = values[use.name] else { continue }
            out += String(chars[last..<use.offset])
            origin += Array(last..<use.offset)
            var end = use.offset + 1 + use.name.count
            if chars[use.offset + 1] == "{" { end += 2 }
            out += value
            origin += Array(repeating: use.offset, count: value.count)
            last = end
        }
        out += String(chars[last...])
        origin += Array(last..<chars.count)
        return (out, origin)
    }
}
