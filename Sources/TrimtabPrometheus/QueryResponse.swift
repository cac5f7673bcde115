import Foundation
import TrimtabCore

/// A decoded answer of `/api/v1/query` or `/api/v1/query_range`.
public struct QueryResponse: Sendable, Equatable {
    public enum Result: Sendable, Equatable {
        /// Range query answers: series with many points.
        case matrix([RawSeries])
        /// Instant query answers: series with one point each.
        case vector([RawSeries])
        case scalar(Sample)
        case string(time: Double, value: String)

        /// The series of a matrix or vector answer; a scalar becomes one series without labels.
        public var series: [RawSeries] {
            switch self {
            case .matrix(let series), .vector(let series): return series
            case .scalar(let sample): return [RawSeries(labels: [:], samples: [sample])]
            case .string: return []
            }
        }
    }

    public var result: Result
    /// Warnings the server sent with the answer. Thanos, Mimir and Prometheus use them for partial
    /// responses and dropped series, so an answer with warnings is incomplete data.
    public var warnings: [String]
    /// Informational notes (Prometheus 2.45+ `infos`, such as "metric might not be a counter"): shown,
    /// never a reason to doubt the data.
    public var infos: [String]
    /// The size of the answer's body as it arrived (compressed, when the server compressed it is not
    /// known here: this is the decoded JSON), for the cost of a cycle.
    public var bytes: Int = 0

    public init(result: Result, warnings: [String] = [], infos: [String] = [], bytes: Int = 0) {
        self.result = result
        self.warnings = warnings
        self.infos = infos
        self.bytes = bytes
    }
}

/// The Prometheus HTTP API's JSON envelope.
struct APIEnvelope: Decodable {
    var status: String
    var data: APIData?
    var errorType: String?
    var error: String?
    var warnings: [String]?
    var infos: [String]?
}

struct APIData: Decodable {
    var resultType: String
    var result: APIResult

    enum CodingKeys: String, CodingKey { case resultType, result }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        resultType = try container.decode(String.self, forKey: .resultType)
        switch resultType {
        case "matrix": result = .series(try container.decode([APISeries].self, forKey: .result))
        case "vector": result = .series(try container.decode([APISeries].self, forKey: .result))
        case "scalar", "string": result = .point(try container.decode(APIPoint.self, forKey: .result))
        default:
            throw DecodingError.dataCorruptedError(forKey: .resultType, in: container, debugDescription: "unknown resultType '\(resultType)'")
        }
    }
}

enum APIResult {
    case series([APISeries])
    case point(APIPoint)
}

struct APISeries: Decodable {
    var metric: [String: String]
    var values: [APIPoint]?
    var value: APIPoint?
}

/// `[1435781451.781, "1"]`: a time and a value written as a string (which may be "NaN", "+Inf", "-Inf").
struct APIPoint: Decodable {
    var time: Double
    var text: String

    init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        time = try container.decode(Double.self)
        text = try container.decode(String.self)
    }

    func sample() throws -> Sample {
        guard let value = Self.parse(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "'\(text)' is not a sample value"))
        }
        return Sample(time: time, value: value)
    }

    static func parse(_ text: String) -> Double? {
        switch text {
        case "NaN": return .nan
        case "+Inf", "Inf": return .infinity
        case "-Inf": return -.infinity
        default: return Double(text)
        }
    }
}

extension QueryResponse {
    /// Decodes a successful answer; throws a description of what was wrong otherwise.
    static func decode(_ body: Data) throws -> (envelope: APIEnvelope, response: QueryResponse?) {
        let envelope = try JSONDecoder().decode(APIEnvelope.self, from: body)
        guard envelope.status == "success" else { return (envelope, nil) }
        guard let data = envelope.data else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "a success answer without data"))
        }
        let result: Result
        switch (data.resultType, data.result) {
        case ("matrix", .series(let series)):
            result = .matrix(try series.map { RawSeries(labels: $0.metric, samples: try ($0.values ?? []).map { try $0.sample() }) })
        case ("vector", .series(let series)):
            result = .vector(try series.map { RawSeries(labels: $0.metric, samples: try [$0.value].compactMap { try $0?.sample() }) })
        case ("scalar", .point(let point)):
            result = .scalar(try point.sample())
        case ("string", .point(let point)):
            result = .string(time: point.time, value: point.text)
        default:
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "resultType \(data.resultType) does not match its result"))
        }
        return (envelope, QueryResponse(result: result, warnings: envelope.warnings ?? [], infos: envelope.infos ?? []))
    }
}
