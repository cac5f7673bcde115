import Foundation
import Testing
import TrimtabCore
@testable import TrimtabPrometheus

@Suite("The streaming decoder reads what the whole-answer decoder reads, however the bytes arrive")
struct StreamingDecoderTests {
    /// Answers as Prometheus, Thanos and VictoriaMetrics write them.
    static let answers: [String] = [
        #"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"api","namespace":"shop"},"values":[[1700000000,"1"],[1700000015.5,"0.25"]]},{"metric":{"pod":"a\"b\\c\u00e9"},"values":[[1700000000,"NaN"],[1700000015,"+Inf"],[1700000030,"-Inf"],[1700000045,"1e-3"]]}]}}"#,
        #"{"status":"success","data":{"resultType":"matrix","result":[]},"warnings":["partial: store down"],"infos":["PromQL info: metric might not be a counter"]}"#,
        #"{"status":"success","isPartial":false,"data":{"resultType":"matrix","result":[{"metric":{},"values":[[1700000000,"3"]]}]}}"#,
        #"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"b"},"histograms":[[1700000000,{"count":"2","sum":"1","buckets":[[0,"0.1","0.2","2"]]}]],"values":[[1700000000,"7"]]}]}}"#,
        #"{ "status" : "success" , "data" : { "resultType" : "matrix" , "result" : [ { "metric" : { "x" : "y" } , "values" : [ [ 1700000000 , "4" ] ] } ] } }"#,
        #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1700000000,"5"]}]}}"#,
        #"{"status":"success","data":{"result":[{"metric":{"a":"b"},"values":[[1700000000,"6"]]}],"resultType":"matrix"}}"#,
        #"{"status":"error","errorType":"bad_data","error":"parse error at char 4"}"#,
        // No server writes a key twice, but JSON allows it: the first counts, either way (found by fuzzing).
        #"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"pod":"a","job":"x","pod":"b"},"values":[[1700000000,"1"]],"metric":{"pod":"c"},"values":[[1700000000,"2"]]}]}}"#,
    ]

    static func text(_ decoded: (envelope: APIEnvelope, response: QueryResponse?)) -> String {
        guard let response = decoded.response else { return "error \(decoded.envelope.errorType ?? "") \(decoded.envelope.error ?? "")" }
        let series = response.result.series.map { item in
            item.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") + ": "
                + item.samples.map { "\($0.time)=\($0.value)" }.joined(separator: ",")
        }
        return "\(series) warnings \(response.warnings) infos \(response.infos)"
    }

    @Test(arguments: Array(answers.indices))
    func anyChunkingDecodesAsTheWholeAnswer(_ index: Int) throws {
        let bytes = Array(Self.answers[index].utf8)
        let whole = Self.text(try QueryResponse.decode(Data(bytes)))
        for size in [1, 2, 3, 7, 64, bytes.count] {
            var decoder = StreamingDecoder()
            var offset = 0
            while offset < bytes.count {
                try decoder.feed(bytes[offset..<min(offset + size, bytes.count)])
                offset += size
            }
            #expect(Self.text(try decoder.finish()) == whole, "chunks of \(size)")
            #expect(decoder.bytes == bytes.count)
        }
        // Bytes that are not contiguous in memory read the same.
        var decoder = StreamingDecoder()
        for offset in stride(from: 0, to: bytes.count, by: 5) {
            try decoder.feed(bytes[offset..<min(offset + 5, bytes.count)].lazy.map { $0 })
        }
        #expect(Self.text(try decoder.finish()) == whole, "a lazy sequence")
    }

    @Test func matrixAnswersAreStreamedAndOthersKeptWhole() throws {
        var decoder = StreamingDecoder()
        try decoder.feed(Array(Self.answers[0].utf8))
        #expect(decoder.phase == .tail)
        #expect(decoder.series.count == 2)
        // Each series lay whole in the one chunk: parsed there, never copied out first.
        #expect(decoder.parsedInPlace == 2)
        // In chunks shorter than a series, every series is cut and copied, and reads the same.
        var cut = StreamingDecoder()
        let bytes = Array(Self.answers[0].utf8)
        for offset in stride(from: 0, to: bytes.count, by: 16) { try cut.feed(bytes[offset..<min(offset + 16, bytes.count)]) }
        #expect(cut.parsedInPlace == 0)
        #expect(Self.text(try cut.finish()) == Self.text(try decoder.finish()))
        var vector = StreamingDecoder()
        try vector.feed(Array(Self.answers[5].utf8))
        #expect(vector.phase == .whole)
    }

    @Test func anAnswerCutOffInsideItsSeriesIsAnError() throws {
        let text = Self.answers[0]
        var decoder = StreamingDecoder()
        try decoder.feed(Array(text.utf8.prefix(text.utf8.count / 2)))
        #expect(throws: DecodingError.self) { try decoder.finish() }
    }

    @Test func aBrokenSeriesIsAnErrorNotASilentGap() {
        var decoder = StreamingDecoder()
        #expect(throws: DecodingError.self) {
            try decoder.feed(Array(#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"b"},"values":[[1700000000,"fast"]]}]}}"#.utf8))
        }
    }
}

@Suite("Numbers read without strings round as Double(String) does")
struct FastNumberTests {
    @Test func everyFormPrometheusWritesReadsAsDoubleOfString() {
        var texts = ["0", "1", "-1", "0.3", "0.1", "0.30000000000000004", "1700000015", "1700000015.5", "1700000015.123", "123456789012345",
                     "1234567890123456789", "0.000001", "1e-3", "2.5e+10", "NaN", "+Inf", "-Inf", "Inf", "49.99999999999999", "0.0020000000000000005",
                     // Around the fast path's edges: 2^53, one past it, 16 and 17 digits, 22 and 23 after the point, 19 and 20 digits.
                     "9007199254740992", "9007199254740993", "0.9007199254740992", "0.9007199254740993", "0.6900000000000001",
                     "0.0000000000000000000001", "0.00000000000000000000001", "1234567890123456789", "12345678901234567890", "-0.0"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            // Ratios as exporters and Prometheus print them: mostly 16 and 17 significant digits.
            texts.append(String(Double.random(in: 0...1, using: &generator)))
            let value = Double.random(in: -1e6...1e6, using: &generator)
            texts.append(String(value))
            texts.append(String(format: "%.\(Int.random(in: 0...12, using: &generator))f", value))
        }
        for text in texts {
            let fast = SeriesParser.double(ArraySlice(Array(text.utf8)))
            let expected = APIPoint.parse(text)
            #expect(fast?.bitPattern == expected?.bitPattern || (fast?.isNaN == true && expected?.isNaN == true), "\(text)")
        }
        #if arch(x86_64)
        // 2^53 + 1 is exactly halfway between two Doubles: Float80 holds it, and the rounding from
        // there is left to strtod, as is every value that lands on a halfway point.
        #expect(SeriesParser.roundedOnce(Float80(9_007_199_254_740_993)) == nil)
        #expect(SeriesParser.roundedOnce(Float80(9_007_199_254_740_995)) == nil)
        #expect(SeriesParser.roundedOnce(Float80(9_007_199_254_740_994)) == 9_007_199_254_740_994)
        #endif
        for bad in ["", "fast", "1.2.3", "0x", "--1", "1e"] {
            #expect(SeriesParser.double(ArraySlice(Array(bad.utf8))) == nil, "\(bad)")
        }
    }
}
