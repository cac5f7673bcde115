import Foundation

/// JSON for machines: stable key order, NaN and infinities written as strings.
public enum ReportEncoding {
    public static func json(_ report: AnalysisReport) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "+Inf", negativeInfinity: "-Inf", nan: "NaN")
        return String(decoding: try encoder.encode(report), as: UTF8.self) + "\n"
    }

    public static func decode(_ text: String) throws -> AnalysisReport {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "+Inf", negativeInfinity: "-Inf", nan: "NaN")
        return try decoder.decode(AnalysisReport.self, from: Data(text.utf8))
    }
}
