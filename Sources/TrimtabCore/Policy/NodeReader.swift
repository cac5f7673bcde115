import Yams

/// Reads a YAML node tree, recording every problem with its file, line and column instead of
/// stopping at the first, so `policy lint` can list them all.
struct NodeReader {
    let file: String
    /// The file's lines, to find where a block scalar's text begins.
    let lines: [Substring]
    private(set) var diagnostics: [PolicyDiagnostic] = []

    init(file: String, text: String = "") {
        self.file = file
        self.lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    func location(of node: Node) -> SourceLocation {
        let mark = node.mark
        return SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    /// Where a scalar's text begins and how it is laid out: past the quote of a quoted scalar, on the
    /// first content line of a literal block (`|`), at the node for anything else.
    func textLocation(of node: Node) -> QueryLocation {
        let start = location(of: node)
        switch node.scalar?.style {
        case .plain?:
            return QueryLocation(file: file, line: start.line, column: start.column, layout: .inline)
        case .singleQuoted?, .doubleQuoted?:
            return QueryLocation(file: file, line: start.line, column: start.column + 1, layout: .inline)
        case .literal?:
            // The content starts on the first non-blank line after the indicator, at its indentation.
            var index = start.line
            while index < lines.count, lines[index].allSatisfy({ $0 == " " }) { index += 1 }
            guard index < lines.count else { return QueryLocation(file: file, line: start.line, column: start.column, layout: .other) }
            let indent = lines[index].prefix { $0 == " " }.count
            return QueryLocation(file: file, line: index + 1, column: indent + 1, layout: .literalBlock)
        default:
            return QueryLocation(file: file, line: start.line, column: start.column, layout: .other)
        }
    }

    mutating func error(_ node: Node, _ message: String, hint: String? = nil) {
        diagnostics.append(PolicyDiagnostic(location(of: node), message, hint: hint))
    }

    mutating func error(at location: SourceLocation, _ message: String, hint: String? = nil) {
        diagnostics.append(PolicyDiagnostic(location, message, hint: hint))
    }

    /// The entries of a mapping, reporting keys outside `allowed` (with a suggestion).
    mutating func mapping(_ node: Node, _ path: String, allowed: [String]? = nil) -> [(key: String, keyNode: Node, value: Node)]? {
        guard let mapping = node.mapping else {
            error(node, "\(path) must be a mapping (key: value), found \(kindName(node))")
            return nil
        }
        var entries: [(key: String, keyNode: Node, value: Node)] = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                error(keyNode, "\(path) has a key that is not a plain string")
                continue
            }
            if let allowed, !allowed.contains(key) {
                let hint = Suggestion.closest(to: key, in: allowed).map { "did you mean '\($0)'?" }
                    ?? "allowed keys: \(allowed.joined(separator: ", "))"
                error(keyNode, "unknown key '\(key)' in \(path)", hint: hint)
                continue
            }
            entries.append((key, keyNode, value))
        }
        return entries
    }

    mutating func string(_ node: Node, _ path: String) -> String? {
        guard let scalar = node.scalar, node.tag != Tag(.null) || !scalar.string.isEmpty else {
            error(node, "\(path) must be a string, found \(kindName(node))")
            return nil
        }
        return scalar.string
    }

    mutating func nonEmptyString(_ node: Node, _ path: String) -> String? {
        guard let value = string(node, path) else { return nil }
        if value.trimmingCharacters(in: .whitespaces).isEmpty {
            error(node, "\(path) must not be empty")
            return nil
        }
        return value
    }

    mutating func number(_ node: Node, _ path: String) -> Double? {
        guard let scalar = node.scalar, node.tag == Tag(.int) || node.tag == Tag(.float),
              let value = node.float ?? Double(scalar.string), value.isFinite else {
            error(node, "\(path) must be a number, found \(describe(node))")
            return nil
        }
        return value
    }

    mutating func positiveNumber(_ node: Node, _ path: String, allowZero: Bool = false) -> Double? {
        guard let value = number(node, path) else { return nil }
        if value < 0 || (!allowZero && value == 0) || !value.isFinite {
            error(node, "\(path) must be \(allowZero ? "zero or more" : "more than zero"), found \(describe(node))")
            return nil
        }
        return value
    }

    mutating func integer(_ node: Node, _ path: String, minimum: Int = 0) -> Int? {
        guard node.scalar != nil, let value = node.int else {
            error(node, "\(path) must be a whole number, found \(describe(node))")
            return nil
        }
        if value < minimum {
            error(node, "\(path) must be at least \(minimum), found \(value)")
            return nil
        }
        return value
    }

    mutating func bool(_ node: Node, _ path: String) -> Bool? {
        guard node.scalar != nil, let value = node.bool else {
            error(node, "\(path) must be true or false, found \(describe(node))")
            return nil
        }
        return value
    }

    mutating func duration(_ node: Node, _ path: String) -> Double? {
        guard let scalar = node.scalar else {
            error(node, "\(path) must be a duration like 5m, found \(kindName(node))")
            return nil
        }
        do {
            return try PolicyDuration.parse(scalar.string)
        } catch {
            self.error(node, "\(path): \(error)")
            return nil
        }
    }

    mutating func enumeration<E: RawRepresentable & CaseIterable>(_ node: Node, _ path: String, as type: E.Type) -> E? where E.RawValue == String {
        guard let text = string(node, path) else { return nil }
        if let value = E(rawValue: text) { return value }
        let options = E.allCases.map(\.rawValue)
        error(node, "\(path) must be one of \(options.joined(separator: ", ")), found '\(text)'",
              hint: Suggestion.closest(to: text, in: options).map { "did you mean '\($0)'?" })
        return nil
    }

    /// A list of strings; a single string is read as a list of one.
    mutating func stringList(_ node: Node, _ path: String) -> [String]? {
        if node.scalar != nil, let one = string(node, path) { return [one] }
        guard let sequence = node.sequence else {
            error(node, "\(path) must be a list of strings, found \(kindName(node))")
            return nil
        }
        var values: [String] = []
        var seen: Set<String> = []
        for item in sequence {
            guard let value = nonEmptyString(item, "an entry of \(path)") else { continue }
            if !seen.insert(value).inserted {
                error(item, "'\(value)' is listed twice in \(path)")
                continue
            }
            values.append(value)
        }
        return values
    }

    mutating func stringMap(_ node: Node, _ path: String) -> [String: String]? {
        guard let entries = mapping(node, path) else { return nil }
        var map: [String: String] = [:]
        for entry in entries {
            if let value = string(entry.value, "\(path).\(entry.key)") { map[entry.key] = value }
        }
        return map
    }

    func kindName(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            if node.tag == Tag(.null) { return "nothing (null)" }
            return "'\(scalar.string)'"
        }
    }

    func describe(_ node: Node) -> String { kindName(node) }
}
