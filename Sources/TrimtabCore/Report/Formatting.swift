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
        if magnitude >= 1e9 || magnitude < 1e-4 { return printf("%.3g", value) }
        let digits = max(0, 2 - Int(floor(log10(magnitude))))
        return printf("%.*f", value, precision: digits, trimmingZeros: true)
    }

    public static func score(_ score: Double?) -> String {
        guard let score else { return "unknown" }
        return printf("%.*f", score, precision: 1)
    }

    /// One number through the C library's `snprintf`: what `String(format:)` writes, without its
    /// Foundation formatter, which took a tenth of an `analyze` of 5,000 targets (45,000 check rows).
    /// `format` takes the value, after the precision when it has `*`.
    /// With `trimmingZeros`, the zeros that end a fraction go, and its point if nothing is left after it.
    static func printf(_ format: String, _ value: Double, precision: Int? = nil, trimmingZeros: Bool = false) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 128) { buffer in
            let arguments: [any CVarArg] = precision.map { [Int32($0), value] } ?? [value]
            // The C library's own locale here is "C", as String(format:) without a locale: a point, no grouping.
            let written = withVaList(arguments) { list in
                buffer.withMemoryRebound(to: CChar.self) { vsnprintf($0.baseAddress!, $0.count, format, list) }
            }
            guard written >= 0, Int(written) < buffer.count else { return String(format: format, arguments: arguments) }
            var count = Int(written)
            if trimmingZeros, buffer[..<count].contains(UInt8(ascii: ".")) {
                while buffer[count - 1] == UInt8(ascii: "0") { count -= 1 }
                if buffer[count - 1] == UInt8(ascii: ".") { count -= 1 }
            }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[..<count]), as: UTF8.self)
        }
    }

    /// An ISO 8601 time in UTC, to the second.
    public static func time(_ seconds: Double) -> String {
        Date(timeIntervalSince1970: seconds.rounded()).ISO8601Format()
    }

    /// Text safe inside a Markdown table cell.
    public static func cell(_ text: String) -> String {
        // Most cells hold none of these: returned as they are, without three searches through Foundation.
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "|") || $0 == UInt8(ascii: "\n") }) else { return text }
        return text.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "|", with: "\\|")
            .replacingOccurrences(of: "\n", with: " ")
    }
}
