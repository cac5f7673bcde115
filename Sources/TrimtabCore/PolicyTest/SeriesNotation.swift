/// Input series in `promtool test rules` notation: `1 2 _ 3x4 0.5+0.1x3 stale`.
///
/// `a` is one value; `axn` is `a` repeated n+1 times; `a+bxn` and `a-bxn` count up or down from
/// `a` in n steps (n+1 values); `_` is a missing sample and `_xn` n missing samples; `stale` is a
/// missing sample too; `NaN`, `Inf` and `-Inf` are values.
public enum SeriesNotation {
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var item: String
        public var description: String {
            "'\(item)' is not a series value; write values like 1, 0.5x10 (repeat), 1+0.5x4 (count up), _ (missing), _x3"
        }
    }

    /// The values, one per interval; `nil` for a missing sample.
    public static func parse(_ text: String) throws(ParseError) -> [Double?] {
        var values: [Double?] = []
        for item in text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init) {
            if item == "_" || item == "stale" { values.append(nil); continue }
            if item.hasPrefix("_x") {
                guard let count = Int(item.dropFirst(2)), count >= 0, count <= 100_000 else { throw ParseError(item: item) }
                values += Array(repeating: nil, count: count)
                continue
            }
            let parts = item.split(separator: "x", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard let first = parts.first else { throw ParseError(item: item) }
            if parts.count == 1 {
                guard let value = number(first) else { throw ParseError(item: item) }
                values.append(value)
                continue
            }
            guard let count = Int(parts[1]), count >= 0, count <= 100_000 else { throw ParseError(item: item) }
            let (start, step) = try startAndStep(first, item: item)
            for index in 0...count { values.append(start + Double(index) * step) }
        }
        return values
    }

    private static func startAndStep(_ text: String, item: String) throws(ParseError) -> (Double, Double) {
        // The sign of the step is the last + or - that is not the first character or an exponent's.
        let characters = Array(text)
        var split: Int?
        for index in stride(from: characters.count - 1, to: 0, by: -1) where characters[index] == "+" || characters[index] == "-" {
            if characters[index - 1] == "e" || characters[index - 1] == "E" { continue }
            split = index
            break
        }
        guard let split else {
            guard let value = number(text) else { throw ParseError(item: item) }
            return (value, 0)
        }
        guard let start = number(String(characters[..<split])), let step = number(String(characters[(split + 1)...])) else {
            throw ParseError(item: item)
        }
        return (start, characters[split] == "-" ? -step : step)
    }

    private static func number(_ text: String) -> Double? {
        switch text {
        case "NaN": return .nan
        case "Inf", "+Inf": return .infinity
        case "-Inf": return -.infinity
        default: return Double(text)
        }
    }
}
