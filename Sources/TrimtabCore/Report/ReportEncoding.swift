import Foundation

/// JSON for machines: stable key order, NaN and infinities written as strings.
public enum ReportEncoding {
    public static func json(_ report: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "+Inf", negativeInfinity: "-Inf", nan: "NaN")
        return String(decoding: try encoder.encode(report), as: UTF8.self) + "\n"
    }

    public static func decode(_ text: String) throws -> AnalysisReport {
        try decode(AnalysisReport.self, text)
    }

    public static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "+Inf", negativeInfinity: "-Inf", nan: "NaN")
        return try decoder.decode(type, from: Data(text.utf8))
    }

    /// The assessment of a report written earlier by `analyze` or `report`, for use as a baseline.
    public static func baseline(_ text: String) throws -> Assessment {
        struct Header: Decodable { var kind: String?; var schemaVersion: Int? }
        let header = try decode(Header.self, text)
        switch (header.kind, header.schemaVersion) {
        case ("trimtab.report", PeriodReport.currentSchemaVersion): return try decode(PeriodReport.self, text).assessment
        case ("trimtab.analysis", AnalysisReport.currentSchemaVersion): return try decode(AnalysisReport.self, text).assessment
        case (let kind?, let version?):
            throw BaselineError(description: "a \(kind) report of schema version \(version) is not one this version reads (trimtab.report or trimtab.analysis, version \(PeriodReport.currentSchemaVersion))")
        default:
            throw BaselineError(description: "not a Trimtab JSON report (no kind and schemaVersion)")
        }
    }

    public struct BaselineError: Error, CustomStringConvertible {
        public var description: String
    }
}
