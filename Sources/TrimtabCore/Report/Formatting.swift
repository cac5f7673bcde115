import Foundation

/// How values, times and scores are written for people.
public enum Formatting {
    public static func value(_ value: Double?, unit: IndicatorUnit) -> String {
        guard let value else { return "—" }
        if value.isNaN { return "NaN" }
        if value == .infinity { return "+Inf" }
        if value == -.infinity { return "-Inf" }
        switch unit {
        case .seconds:
            if abs(value) < 1 { return "\(number(value * 1000)) ms" }
            return "\(number(value)) s"
        case .ratio: return "\(number(value * 100)) %"
        case .bytes:
            let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
            var scaled = value
            var index = 0
            while abs(scaled) >= 1024, index < units.count - 1 {
                scaled /= 1024
                index += 1
            }
            return "\(number(scaled)) \(units[index])"
        case .perSecond: return "\(number(value))/s"
        case .count, .none: return number(value)
        }
    }

    /// Three significant digits, no exponent for everyday magnitudes, no trailing zeros.
    public static func number(_ value: Double) -> String {
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude >= 1e9 || magnitude < 1e-4 { return String(format: "%.3g", value) }
        let digits = max(0, 2 - Int(floor(log10(magnitude))))
        var text = String(format: "%.\(digits)f", value)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }

    public static func score(_ score: Double?) -> String {
        guard let score else { return "unknown" }
        return String(format: "%.1f", score)
    }

    /// An ISO 8601 time in UTC, to the second.
    public static func time(_ seconds: Double) -> String {
        Date(timeIntervalSince1970: seconds.rounded()).ISO8601Format()
    }

    /// Text safe inside a Markdown table cell.
    public static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "|", with: "\\|")
            .replacingOccurrences(of: "\n", with: " ")
    }
}
