import Foundation
import Testing
@testable import TrimtabKubeSandbox

@Suite("JSON values")
struct JSONValueTests {
    @Test("encodes stably: integers bare, keys sorted, strings escaped", arguments: [
        (JSONValue.number(3), "3"),
        (.number(3.5), "3.5"),
        (.number(-0.25), "-0.25"),
        (["b": 1, "a": [true, .null]], #"{"a":[true,null],"b":1}"#),
        (.string("quote \" slash \\ line\n tab\t bell\u{7} é"), #""quote \" slash \\ line\n tab\t bell\u0007 é""#),
    ] as [(JSONValue, String)])
    func encodes(value: JSONValue, text: String) {
        #expect(value.jsonText == text)
    }

    @Test("Codable encoding writes integers without a fraction")
    func codable() throws {
        let data = try JSONEncoder().encode((["replicas": 3] as JSONValue))
        #expect(String(decoding: data, as: UTF8.self) == #"{"replicas":3}"#)
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(#"{"a":[1,true,"x",null]}"#.utf8)) == ["a": [1, true, "x", .null]])
    }

    @Test("parses what it writes", arguments: [
        #"{"a":{"b":[1,2.5,-3e2,"\u00e9\ud83d\ude00"]},"c":false,"d":null}"#, "[]", "{}", "0", #""x""#,
    ])
    func roundTrip(text: String) throws {
        let value = try JSONValue.parse(text)
        #expect(try JSONValue.parse(value.jsonText) == value)
    }

    @Test("tells true from 1")
    func booleans() throws {
        #expect(try JSONValue.parse("[true,1]") == [.bool(true), .number(1)])
    }

    @Test("rejects malformed text", arguments: ["", "{", #"{"a" 1}"#, "[1,]", "01x", "tru", #"{"a":1} x"#, "+1", ".5", "\"a",
                                                "012", "-01", "1.", "1e", "1e+", "-", "1.e5", "--1"])
    func rejects(text: String) {
        #expect(throws: JSONValue.SyntaxError.self) { try JSONValue.parse(text) }
    }

    /// Found by fuzzing: a number past a double's range was read as infinity, which JSON cannot write
    /// (it came back as null). The API server (Go's encoding/json) refuses it; so does the sandbox.
    @Test("refuses numbers a double cannot hold, and reads the ones it can", arguments: ["1e400", "-1e400", "225866615e25660200"])
    func outOfRange(text: String) {
        do {
            _ = try JSONValue.parse("[\(text)]")
            Issue.record("read \(text)")
        } catch {
            #expect("\(error)" == "invalid JSON at byte \(1 + text.utf8.count): number \(text) out of range")
        }
    }

    @Test("reads every number form JSON has", arguments: [("0", 0.0), ("-0", -0.0), ("10", 10), ("1.5e3", 1500), ("2E-2", 0.02), ("1e+2", 100), ("0.5", 0.5), ("1e-400", 0)])
    func numbers(text: String, value: Double) throws {
        #expect(try JSONValue.parse(text) == .number(value))
    }

    @Test("path subscripts read and write nested members")
    func paths() {
        var object: JSONValue = [:]
        object[path: ["metadata", "annotations", "a"]] = "b"
        #expect(object.jsonText == #"{"metadata":{"annotations":{"a":"b"}}}"#)
        object[path: ["metadata", "annotations"]] = nil
        #expect(object == ["metadata": [:]])
        #expect(([1, 2] as JSONValue)[1] == 2)
        #expect((2.5 as JSONValue).intValue == nil)
    }
}
