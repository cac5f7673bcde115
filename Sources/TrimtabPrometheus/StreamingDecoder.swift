import Foundation
import TrimtabCore
#if canImport(Glibc)
import Glibc
#endif

/// Decodes a `query_range` answer as its bytes arrive, one series at a time, so a 20 MB answer never
/// sits in memory whole, nor as a tree of JSON objects: each series goes straight into its labels and
/// an array of samples, and its bytes are dropped.
///
/// The envelope around the series (`status`, `warnings`, `infos`, an `error`) is kept apart and
/// decoded at the end with the series taken out, by the same decoder as a whole answer. An answer that
/// does not have the shape Prometheus, Thanos, Mimir and VictoriaMetrics write (`"resultType":"matrix"`
/// before `"result":[` in `data`) is kept whole and decoded the ordinary way.
struct StreamingDecoder {
    enum Phase {
        /// Reading the envelope up to the series.
        case prefix
        /// Inside `"result":[`, between or within series objects.
        case series
        /// After the series: the rest of the envelope.
        case tail
        /// Not the expected shape: everything is kept and decoded at the end.
        case whole
    }

    private(set) var phase = Phase.prefix
    /// The envelope bytes (prefix and tail), or the whole answer in `.whole`.
    private var envelope: [UInt8] = []
    /// The bytes of the series object being read.
    private var current: [UInt8] = []
    private var depth = 0
    private var inString = false
    private var escaped = false
    /// Opening brackets in the series being read: one per point, so its array is made the right size.
    private var brackets = 0
    private(set) var series: [RawSeries] = []
    private(set) var bytes = 0
    /// Within the prefix: the last string token's text and whether it was a key, for finding the series.
    private var prefixScanner = PrefixScanner()

    mutating func feed<Bytes: Sequence>(_ chunk: Bytes) throws where Bytes.Element == UInt8 {
        // A chunk from the network is contiguous: scanned in place, with no copy.
        if try chunk.withContiguousStorageIfAvailable({ try feed(buffer: $0) }) != nil { return }
        try Array(chunk).withUnsafeBufferPointer { try feed(buffer: $0) }
    }

    /// Reads a chunk. Within a series only the structure is tracked, byte by byte, and the bytes of the
    /// series are copied out in one run each (not one append per byte): this is the loop every byte of
    /// a 20 MB answer goes through.
    private mutating func feed(buffer: UnsafeBufferPointer<UInt8>) throws {
        bytes += buffer.count
        var index = 0
        while index < buffer.count {
            switch phase {
            case .whole, .tail:
                envelope.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[index...]))
                index = buffer.count
            case .prefix:
                let byte = buffer[index]
                index += 1
                envelope.append(byte)
                switch prefixScanner.take(byte) {
                case .seriesStart: phase = .series
                case .notMatrix: phase = .whole
                case .more: break
                }
            case .series where depth == 0:
                try betweenSeries(buffer[index])
                index += 1
            case .series:
                let start = index
                var closed = false
                scan: while index < buffer.count {
                    let byte = buffer[index]
                    index += 1
                    if inString {
                        if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                        continue
                    }
                    switch byte {
                    case UInt8(ascii: "\""): inString = true
                    case UInt8(ascii: "["):
                        depth += 1
                        brackets += 1
                    case UInt8(ascii: "{"): depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        depth -= 1
                        if depth == 0 {
                            closed = true
                            break scan
                        }
                    default: break
                    }
                }
                current.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[start..<index]))
                if closed { series.append(try SeriesParser.parse(current, points: brackets)) }
            }
        }
    }

    /// A byte between two series: the start of the next, a separator, or the end of the series.
    private mutating func betweenSeries(_ byte: UInt8) throws {
        switch byte {
        case UInt8(ascii: "{"):
            depth = 1
            brackets = 0
            current.removeAll(keepingCapacity: true)
            current.append(byte)
        case UInt8(ascii: "]"):
            envelope.append(byte)
            phase = .tail
        case UInt8(ascii: ","), 0x20, 0x0A, 0x0D, 0x09:
            break
        default:
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "unexpected '\(Character(Unicode.Scalar(byte)))' between series"))
        }
    }

    /// The answer: the envelope decoded as usual, with the series read on the way.
    func finish() throws -> (envelope: APIEnvelope, response: QueryResponse?) {
        switch phase {
        case .whole, .prefix:
            return try QueryResponse.decode(Data(envelope))
        case .series:
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "the answer ended inside its series"))
        case .tail:
            let decoded = try QueryResponse.decode(Data(envelope))
            guard var response = decoded.response else { return decoded }
            response.result = .matrix(series)
            return (decoded.envelope, response)
        }
    }
}

/// Finds `"resultType":"matrix"` and then `"result":[` inside `data`, tracking JSON strings and depth.
struct PrefixScanner {
    enum Step { case more, seriesStart, notMatrix }

    private var depth = 0
    private var inString = false
    private var escaped = false
    private var text: [UInt8] = []
    /// The last string closed, and whether a `:` followed it (a key).
    private var lastString: String?
    private var key: String?
    private var sawMatrix = false
    /// The key whose value is being read at depth 2 inside `data`.
    private var dataKey: String?
    private var inData = false

    mutating func take(_ byte: UInt8) -> Step {
        if inString {
            if escaped {
                escaped = false
                text.append(byte)
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
                text.append(byte)
            } else if byte == UInt8(ascii: "\"") {
                inString = false
                lastString = String(decoding: text, as: UTF8.self)
                // The value of resultType inside data.
                if inData, depth == 2, key == "resultType" {
                    if lastString == "matrix" { sawMatrix = true } else { return .notMatrix }
                }
            } else {
                text.append(byte)
            }
            return .more
        }
        switch byte {
        case UInt8(ascii: "\""):
            inString = true
            text.removeAll(keepingCapacity: true)
            lastString = nil
        case UInt8(ascii: ":"):
            key = lastString
            if depth == 1, key == "data" { inData = true }
        case UInt8(ascii: "{"):
            depth += 1
            if depth == 2, !inData { return .notMatrix }
        case UInt8(ascii: "["):
            depth += 1
            if inData, depth == 3, key == "result" {
                return sawMatrix ? .seriesStart : .notMatrix
            }
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            depth -= 1
            if depth <= 1 && inData { return .notMatrix }
        case UInt8(ascii: ","):
            key = nil
        default:
            break
        }
        return .more
    }
}

/// Parses one series object of a matrix: `{"metric":{…},"values":[[1700000000,"0.5"],…]}`; any other
/// key (`histograms`) is skipped, as the whole-answer decoder skips it.
enum SeriesParser {
    struct Cursor {
        let bytes: [UInt8]
        var index = 0

        @inline(__always)
        static func isSpace(_ byte: UInt8) -> Bool {
            byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
        }

        @inline(__always)
        mutating func skipSpace() {
            while index < bytes.count, Self.isSpace(bytes[index]) { index += 1 }
        }

        mutating func expect(_ character: Unicode.Scalar) throws {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: character) else {
                throw SeriesParser.error("expected '\(character)' at byte \(index) of a series")
            }
            index += 1
        }

        mutating func peek() -> UInt8? {
            skipSpace()
            return index < bytes.count ? bytes[index] : nil
        }

        mutating func string() throws -> String {
            try expect("\"")
            var plain = true
            let start = index
            while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                if bytes[index] == UInt8(ascii: "\\") {
                    plain = false
                    index += 1
                }
                index += 1
            }
            guard index < bytes.count else { throw SeriesParser.error("a string of a series does not end") }
            let end = index
            index += 1
            if plain { return String(decoding: bytes[start..<end], as: UTF8.self) }
            // Escapes are rare in labels: let Foundation read them.
            let quoted = Data(bytes[(start - 1)...end])
            guard let text = try? JSONDecoder().decode(String.self, from: quoted) else { throw SeriesParser.error("an invalid string in a series") }
            return text
        }

        mutating func number() throws -> Double {
            skipSpace()
            let start = index
            while index < bytes.count, bytes[index] != UInt8(ascii: ","), bytes[index] != UInt8(ascii: "]"), !Self.isSpace(bytes[index]) { index += 1 }
            guard let value = SeriesParser.double(bytes[start..<index]) else {
                throw SeriesParser.error("a sample time is not a number")
            }
            return value
        }

        /// A sample value: the bytes of a string without escapes, read as a number (`NaN`, `+Inf`, `-Inf` too).
        mutating func value() throws -> Double {
            try expect("\"")
            let start = index
            while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") { index += 1 }
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                // An escape in a number: read it the slow way.
                index = start - 1
                let text = try string()
                guard let value = APIPoint.parse(text) else { throw SeriesParser.error("'\(text)' is not a sample value") }
                return value
            }
            let slice = bytes[start..<index]
            index += 1
            guard let value = SeriesParser.double(slice) else {
                throw SeriesParser.error("'\(String(decoding: slice, as: UTF8.self))' is not a sample value")
            }
            return value
        }

        /// Skips any JSON value.
        mutating func skipValue() throws {
            guard let byte = peek() else { throw SeriesParser.error("a series ends early") }
            if byte == UInt8(ascii: "\"") { _ = try string(); return }
            if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") {
                var depth = 0
                var inString = false, escaped = false
                repeat {
                    let current = bytes[index]
                    index += 1
                    if inString {
                        if escaped { escaped = false } else if current == UInt8(ascii: "\\") { escaped = true } else if current == UInt8(ascii: "\"") { inString = false }
                    } else if current == UInt8(ascii: "\"") {
                        inString = true
                    } else if current == UInt8(ascii: "{") || current == UInt8(ascii: "[") {
                        depth += 1
                    } else if current == UInt8(ascii: "}") || current == UInt8(ascii: "]") {
                        depth -= 1
                    }
                } while depth > 0 && index < bytes.count
                return
            }
            while index < bytes.count, bytes[index] != UInt8(ascii: ","), bytes[index] != UInt8(ascii: "}"), bytes[index] != UInt8(ascii: "]") { index += 1 }
        }
    }

    /// Reads a number from ASCII bytes without making a String: `strtod` on a copy with a terminator.
    /// The whole text must be the number, as `Double(String)` demands.
    static func double(_ bytes: ArraySlice<UInt8>) -> Double? {
        if let exact = simpleDecimal(bytes) { return exact }
        return strtodNumber(bytes)
    }

    static let powersOfTen: [Double] = (0...22).map { exponent in (0..<exponent).reduce(1.0) { value, _ in value * 10 } }

    /// Clinger's fast path: a decimal whose digits make an integer of at most 2^53, with at most 22
    /// after the point, is an integer and a power of ten both exact in a Double, so one division rounds
    /// correctly, as strtod would. That takes most 16-digit values too (`0.6900000000000001`), which
    /// the shortest round-trip printing of rates and ratios writes often.
    @inline(__always)
    static func simpleDecimal(_ bytes: ArraySlice<UInt8>) -> Double? {
        var index = bytes.startIndex
        var negative = false
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var fraction = -1
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                // Past 19 digits the integer could overflow; strtod reads those.
                guard digits < 19 else { return nil }
                mantissa = mantissa * 10 + UInt64(byte - UInt8(ascii: "0"))
                digits += 1
                if fraction >= 0 { fraction += 1 }
            } else if byte == UInt8(ascii: "."), fraction < 0 {
                fraction = 0
            } else {
                return nil
            }
            index += 1
        }
        guard digits > 0, mantissa <= 1 << 53, fraction != 0, fraction <= 22 else { return nil }
        var value = Double(mantissa)
        if fraction > 0 { value /= powersOfTen[fraction] }
        return negative ? -value : value
    }

    static func strtodNumber(_ bytes: ArraySlice<UInt8>) -> Double? {
        guard !bytes.isEmpty, bytes.count < 64 else { return bytes.isEmpty ? nil : APIPoint.parse(String(decoding: bytes, as: UTF8.self)) }
        // strtod also reads hexadecimal and "infinity"; what Prometheus writes is decimal, NaN and ±Inf.
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: bytes.count + 1) { buffer -> Double? in
            var offset = 0
            for byte in bytes {
                buffer[offset] = CChar(bitPattern: byte)
                offset += 1
            }
            buffer[offset] = 0
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod(buffer.baseAddress!, &end)
            guard let end, end == buffer.baseAddress! + offset, offset > 0 else { return nil }
            return value
        }
    }

    static func error(_ text: String) -> DecodingError {
        DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: text))
    }

    /// `points` is how many points to make room for (the arrays of a window are kept for many cycles:
    /// no slack from growing them one point at a time).
    static func parse(_ bytes: [UInt8], points: Int = 0) throws -> RawSeries {
        var cursor = Cursor(bytes: bytes)
        var labels: [String: String] = [:]
        var samples: [Sample] = []
        samples.reserveCapacity(points)
        try cursor.expect("{")
        while cursor.peek() != UInt8(ascii: "}") {
            let key = try cursor.string()
            try cursor.expect(":")
            switch key {
            case "metric":
                try cursor.expect("{")
                while cursor.peek() != UInt8(ascii: "}") {
                    let name = try cursor.string()
                    try cursor.expect(":")
                    labels[name] = try cursor.string()
                    if cursor.peek() == UInt8(ascii: ",") { cursor.index += 1 }
                }
                try cursor.expect("}")
            case "values":
                try cursor.expect("[")
                while cursor.peek() != UInt8(ascii: "]") {
                    try cursor.expect("[")
                    let time = try cursor.number()
                    try cursor.expect(",")
                    samples.append(Sample(time: time, value: try cursor.value()))
                    try cursor.expect("]")
                    if cursor.peek() == UInt8(ascii: ",") { cursor.index += 1 }
                }
                try cursor.expect("]")
            default:
                try cursor.skipValue()
            }
            if cursor.peek() == UInt8(ascii: ",") { cursor.index += 1 }
        }
        try cursor.expect("}")
        return RawSeries(labels: labels, samples: Samples(samples))
    }
}

/// The two ways an answer can be decoded, for the benchmarks to compare.
public enum AnswerDecoding {
    /// As the client decodes a range answer: streamed, in chunks of `chunk` bytes.
    public static func streamed(_ bytes: [UInt8], chunk: Int = 16_384) throws -> QueryResponse? {
        var decoder = StreamingDecoder()
        var offset = 0
        while offset < bytes.count {
            try decoder.feed(bytes[offset..<min(offset + chunk, bytes.count)])
            offset += chunk
        }
        return try decoder.finish().response
    }

    /// Whole, with JSONDecoder, as every answer was decoded before.
    public static func whole(_ data: Data) throws -> QueryResponse? {
        try QueryResponse.decode(data).response
    }
}
