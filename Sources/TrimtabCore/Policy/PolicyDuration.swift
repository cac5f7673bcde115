/// Durations as Prometheus writes them: `30s`, `5m`, `1h30m`, `2d`, `500ms`.
///
/// Policies, flags and reports all use this one syntax so an operator can copy a value from a
/// Prometheus alerting rule into a Trimtab policy unchanged.
public enum PolicyDuration {
    /// What can go wrong when reading a duration.
    public enum ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        case empty
        case negative(String)
        case malformed(String)

        public var description: String {
            switch self {
            case .empty:
                return "empty duration; write one like 30s, 5m, 1h30m"
            case .negative(let text):
                return "negative duration '\(text)'; durations must be zero or more, like 30s, 5m, 1h30m"
            case .malformed(let text):
                return "'\(text)' is not a duration; write one like 500ms, 30s, 5m, 1h30m, 2d (units: ms, s, m, h, d, w, y)"
            }
        }
    }

    private static let units: [(suffix: String, seconds: Double)] = [
        ("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400), ("w", 604_800), ("y", 31_536_000),
    ]

    /// Parses a duration into seconds.
    public static func parse(_ text: String) throws(ParseError) -> Double {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw .empty }
        if trimmed.hasPrefix("-") { throw .negative(trimmed) }
        if trimmed == "0" { return 0 }
        var total = 0.0
        var rest = Substring(trimmed)
        var previousUnit = units.count
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !digits.isEmpty, let number = Double(digits) else { throw .malformed(trimmed) }
            rest = rest.dropFirst(digits.count)
            let letters = rest.prefix { $0.isASCII && $0.isLetter }
            rest = rest.dropFirst(letters.count)
            guard let index = units.firstIndex(where: { $0.suffix == letters }) else { throw .malformed(trimmed) }
            // Units go from largest to smallest, each once: "1h30m", not "30m1h".
            guard index < previousUnit else { throw .malformed(trimmed) }
            previousUnit = index
            total += number * units[index].seconds
        }
        return total
    }

    /// Formats seconds as the shortest duration that reads back to the same value.
    public static func format(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "\(seconds)" }
        if seconds == 0 { return "0s" }
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        var remaining = Int(seconds.rounded())
        var parts: [String] = []
        for (suffix, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] where remaining >= size {
            parts.append("\(remaining / size)\(suffix)")
            remaining %= size
        }
        return parts.joined()
    }
}

import Foundation
