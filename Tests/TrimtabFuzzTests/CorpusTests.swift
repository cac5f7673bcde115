import Foundation
import Testing
@testable import TrimtabFuzz
@testable import TrimtabPrometheus

/// The fuzzers' corpus (fuzz/corpus/TARGET: seeds, and every input a fuzzer found that reached new
/// code) replayed through each target: none may trap, hang or find a fault. scripts/fuzz runs libFuzzer
/// itself; this keeps what it found from coming back in an ordinary test run.
struct CorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../fuzz/corpus").standardized

    @Test(arguments: FuzzTarget.allCases)
    func theCorpusRunsClean(_ target: FuzzTarget) throws {
        let inputs = try FuzzReplay.inputs([Self.corpus.appendingPathComponent(target.rawValue).path])
        #expect(inputs.count >= 3, "fuzz/corpus/\(target.rawValue) holds seeds")
        for input in inputs {
            #expect(target.run(input.bytes) == nil, "\(input.path)")
        }
    }

    /// The oracle finds a disagreement when there is one.
    @Test func twoDecodingsThatDifferAreAFinding() throws {
        func answer(_ value: String) throws -> (envelope: APIEnvelope, response: QueryResponse?) {
            try QueryResponse.decode(Data(#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"pod":"a"},"values":[[1,"\#(value)"]]}]}}"#.utf8))
        }
        #expect(FuzzTarget.disagreement(try answer("1"), try answer("1")) == nil)
        #expect(FuzzTarget.disagreement(try answer("1"), try answer("2")) != nil)
    }

    /// Through the whole target: a streamed answer in chunks of every size reads as the whole does.
    @Test func everyChunkSizeOfAnAnswerAgrees() {
        let body = Array(#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","pod":"a\"b"},"values":[[1.5,"1"],[2,"NaN"]]},{"metric":{},"values":[]}]},"warnings":["w"]}"#.utf8)
        for size in 0..<64 { #expect(FuzzTarget.prometheusAnswer.run([UInt8(size)] + body) == nil) }
    }
}
