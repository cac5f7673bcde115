import Foundation

/// The Prometheus text exposition format (and OpenMetrics, which shares it here), as exporters write
/// it: what the sandbox backfills and the simulation serves are written through these, so both escape
/// and render alike.
public enum ExpositionText {
    /// A label value as the format asks: backslash, double quote and line feed escaped, nothing else.
    public static func escape(_ value: String) -> String {
        var out = ""
        for character in value.unicodeScalars {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// `name{a="1",b="2"}`, labels in name order; the bare name when there are none.
    public static func series(_ name: String, _ labels: [String: String]) -> String {
        guard !labels.isEmpty else { return name }
        return name + "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\(escape($0.value))\"" }.joined(separator: ",") + "}"
    }
}

/// Names as Kubernetes makes them, from a stable hash so a history is the same every time it is written:
/// pod-template hashes and pod suffixes in its alphabet, and UIDs.
public enum KubernetesNames {
    /// The alphabet of pod-template hashes and pod name suffixes (no vowels, no look-alikes).
    public static let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")

    public static func number(_ text: String) -> Int {
        Int(StableHash.of(text) % UInt64(Int.max))
    }

    /// `length` characters of the alphabet, the same for the same text.
    public static func hash(_ text: String, length: Int) -> String {
        var value = UInt64(number(text))
        var out = ""
        for _ in 0..<length {
            out.append(alphabet[Int(value % UInt64(alphabet.count))])
            value = value / UInt64(alphabet.count) ^ UInt64(number(text + out))
        }
        return out
    }

    /// A UID in the 8-4-4-4-12 form, the same for the same name.
    public static func uid(_ name: String) -> String {
        let hex = Array(String(format: "%016llx%016llx", UInt64(number(name)), UInt64(number(name + "/uid"))))
        return "\(String(hex[0..<8]))-\(String(hex[8..<12]))-\(String(hex[12..<16]))-\(String(hex[16..<20]))-\(String(hex[20..<32]))"
    }
}
