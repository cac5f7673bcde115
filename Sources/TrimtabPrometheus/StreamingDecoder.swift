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
    /// The points of the series being parsed, its room kept from one series to the next.
    private var scratch: [Sample] = []
    private(set) var series: [RawSeries] = []
    /// How many of `series` were parsed where they lay in a chunk, without a copy.
    private(set) var parsedInPlace = 0
    private(set) var bytes = 0
    /// Within the prefix: the last string token's text and whether it was a key, for finding the series.
    private var prefixScanner = PrefixScanner()

    mutating func feed<Bytes: Sequence>(_ chunk: Bytes) throws where Bytes.Element == UInt8 {
        // A chunk from the network is contiguous: scanned in place, with no copy.
        if try chunk.withContiguousStorageIfAvailable({ try feed(buffer: $0) }) != nil { return }
        try Array(chunk).withUnsafeBufferPointer { try feed(buffer: $0) }
    }

    /// Reads a chunk. A series that lies whole in the chunk is parsed where it lies, in one pass. Only
    /// the series cut by the chunk's end is copied out: its structure is tracked byte by byte, in this
    /// chunk and the next, until it closes, and then its bytes are parsed.
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
                if buffer[index] == UInt8(ascii: "{"), let (parsed, end) = try? SeriesParser.parse(buffer, from: index, scratch: &scratch) {
                    series.append(parsed)
                    parsedInPlace += 1
                    index = end
                    continue
                }
                // Not whole in this chunk (or not well formed: parsed again below, to say where).
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
                    case UInt8(ascii: "["), UInt8(ascii: "{"): depth += 1
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
                if closed { series.append(try current.withUnsafeBufferPointer { try SeriesParser.parse($0, from: 0, scratch: &scratch).0 }) }
            }
        }
    }

    /// A byte between two series: the start of the next, a separator, or the end of the series.
    private mutating func betweenSeries(_ byte: UInt8) throws {
        switch byte {
        case UInt8(ascii: "{"):
            depth = 1
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
