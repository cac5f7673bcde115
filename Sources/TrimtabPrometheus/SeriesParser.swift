import Foundation
import TrimtabCore
import Glibc

/// Parses one series object of a matrix: `{"metric":{…},"values":[[1700000000,"0.5"],…]}`; any other
/// key (`histograms`) is skipped, as the whole-answer decoder skips it.
enum SeriesParser {
    /// Reads bytes in place (an unsafe buffer: the loop every byte of an answer goes through, with no
    /// bounds check per byte in a release build); every read checks `index` against the end itself.
    struct Cursor {
        let bytes: UnsafeBufferPointer<UInt8>
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
            if plain { return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self) }
            // Escapes are rare in labels: let Foundation read them.
            let quoted = Data(bytes[(start - 1)...end])
            guard let text = try? JSONDecoder().decode(String.self, from: quoted) else { throw SeriesParser.error("an invalid string in a series") }
            return text
        }

        mutating func number() throws -> Double {
            skipSpace()
            let start = index
            while index < bytes.count, bytes[index] != UInt8(ascii: ","), bytes[index] != UInt8(ascii: "]"), !Self.isSpace(bytes[index]) { index += 1 }
            guard let value = SeriesParser.double(UnsafeBufferPointer(rebasing: bytes[start..<index])) else {
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
            let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
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
        bytes.withUnsafeBufferPointer { double($0) }
    }

    static func double(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        if let exact = simpleDecimal(bytes) { return exact }
        return strtodNumber(bytes)
    }

    static let powersOfTen: [Double] = (0...22).map { exponent in (0..<exponent).reduce(1.0) { value, _ in value * 10 } }

    /// Clinger's fast path: a decimal whose digits make an integer of at most 2^53, with at most 22
    /// after the point, is an integer and a power of ten both exact in a Double, so one division rounds
    /// correctly, as strtod would. That takes most 16-digit values (`0.6900000000000001`).
    ///
    /// The 17-digit values that the shortest round-trip printing of rates and ratios writes as often
    /// (`0.32999999999999996`) have more than 53 bits of digits; on x86-64 they are divided in the
    /// 64-bit significand of `Float80`, where the digits and the power of ten are still exact, and
    /// rounded to a Double from there, unless that one rounding could be wrong (see `roundedOnce`).
    /// Anything else returns nil, for strtod.
    @inline(__always)
    static func simpleDecimal(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        var index = bytes.startIndex
        var negative = false
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        var mantissa: UInt64 = 0
        var digits = 0
        // Digits from the first that is not zero: leading zeros (`0.000123`) add nothing to the integer.
        var significant = 0
        var fraction = -1
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                if mantissa > 0 || byte != UInt8(ascii: "0") {
                    // Past 19 digits the integer could overflow; strtod reads those.
                    guard significant < 19 else { return nil }
                    significant &+= 1
                }
                // At most 19 digits that count: no overflow, so no check for one on every digit.
                mantissa = mantissa &* 10 &+ UInt64(byte &- UInt8(ascii: "0"))
                digits &+= 1
                if fraction >= 0 { fraction &+= 1 }
            } else if byte == UInt8(ascii: "."), fraction < 0 {
                fraction = 0
            } else {
                return nil
            }
            index &+= 1
        }
        guard digits > 0, fraction != 0 else { return nil }
        let scale = max(fraction, 0)
        if mantissa <= 1 << 53, scale <= 22 {
            var value = Double(mantissa)
            if scale > 0 { value /= powersOfTen[scale] }
            return negative ? -value : value
        }
        #if arch(x86_64)
        guard scale < powersOfTen80.count, let value = roundedOnce(Float80(mantissa) / powersOfTen80[scale]) else { return nil }
        return negative ? -value : value
        #else
        return nil
        #endif
    }

    #if arch(x86_64)
    /// 10^0 … 10^27: 5^27 is below 2^64, so each is exact in Float80's 64-bit significand.
    static let powersOfTen80: [Float80] = (0...27).map { exponent in (0..<exponent).reduce(Float80(1)) { value, _ in value * 10 } }

    /// `value` (a quotient of exact operands, rounded once to 64 bits) rounded to a Double, or nil when
    /// that second rounding could differ from rounding the exact quotient. The exact quotient is within
    /// half a Float80 step of `value`, so the two round alike unless `value` sits exactly halfway
    /// between two Doubles (the 11 bits below a Double's 52 are `10000000000`): then strtod decides.
    @inline(__always)
    static func roundedOnce(_ value: Float80) -> Double? {
        guard value.isNormal else { return value == 0 ? 0 : nil }
        guard value.significandBitPattern & 0x7FF != 0x400 else { return nil }
        return Double(value)
    }
    #endif

    static func strtodNumber(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
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

    /// Parses the series object that starts at `start` in `buffer`, and returns it with the index just
    /// past its closing brace. A series cut off by the end of the buffer throws, as a malformed one does:
    /// a parse succeeds only on reading the object's own closing brace, so success means it was whole.
    /// `scratch` holds the points while they are read, its room kept from one series to the next.
    static func parse(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int, scratch: inout [Sample]) throws -> (RawSeries, end: Int) {
        var cursor = Cursor(bytes: buffer, index: start)
        var labels: [String: String] = [:]
        scratch.removeAll(keepingCapacity: true)
        // A key given twice counts once, the first time, as JSONDecoder reads a whole answer: the same
        // answer then means the same series whichever way it was decoded (found by fuzzing).
        var seen = (metric: false, values: false)
        try cursor.expect("{")
        while cursor.peek() != UInt8(ascii: "}") {
            let key = try cursor.string()
            try cursor.expect(":")
            switch key {
            case "metric" where !seen.metric:
                seen.metric = true
                try cursor.expect("{")
                while cursor.peek() != UInt8(ascii: "}") {
                    let name = try cursor.string()
                    try cursor.expect(":")
                    let value = try cursor.string()
                    if labels[name] == nil { labels[name] = value }
                    if cursor.peek() == UInt8(ascii: ",") { cursor.index += 1 }
                }
                try cursor.expect("}")
            case "values" where !seen.values:
                seen.values = true
                try cursor.expect("[")
                while cursor.peek() != UInt8(ascii: "]") {
                    try cursor.expect("[")
                    let time = try cursor.number()
                    try cursor.expect(",")
                    scratch.append(Sample(time: time, value: try cursor.value()))
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
        // On a grid the values are copied out at their exact count; off one, the points are copied so
        // the kept array has no slack from the scratch room.
        var samples = Samples(scratch)
        if !samples.isOnGrid { samples = Samples(Array(scratch[...])) }
        return (RawSeries(labels: labels, samples: samples), cursor.index)
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
