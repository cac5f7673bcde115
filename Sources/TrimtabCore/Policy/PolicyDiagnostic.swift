/// One problem found in a policy file: where it is, what is wrong, and what to do.
public struct PolicyDiagnostic: Error, Sendable, Equatable, Codable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String
    /// What to write instead, when there is a clear fix.
    public var hint: String?

    public init(_ location: SourceLocation, _ message: String, hint: String? = nil) {
        self.location = location
        self.message = message
        self.hint = hint
    }

    public var description: String {
        "\(location): error: \(message)" + (hint.map { "\n    hint: \($0)" } ?? "")
    }
}

/// A policy that could not be read; it is rejected whole.
public struct PolicyError: Error, Sendable, Equatable, CustomStringConvertible {
    public var diagnostics: [PolicyDiagnostic]

    public init(_ diagnostics: [PolicyDiagnostic]) {
        self.diagnostics = diagnostics.sorted {
            ($0.location.file, $0.location.line, $0.location.column) < ($1.location.file, $1.location.line, $1.location.column)
        }
    }

    public var description: String {
        let count = diagnostics.count
        return diagnostics.map(\.description).joined(separator: "\n")
            + "\n\(count) error\(count == 1 ? "" : "s"); the policy was rejected as a whole and nothing was run."
    }
}

/// Suggests the closest known word, for "unknown key 'critcal'; did you mean 'critical'?".
enum Suggestion {
    static func closest(to word: String, in candidates: [String]) -> String? {
        let scored = candidates.map { ($0, distance(word.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        return best.1 <= max(2, word.count / 3) ? best.0 : nil
    }

    /// Levenshtein distance.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
