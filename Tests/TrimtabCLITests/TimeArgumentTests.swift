import Testing
@testable import TrimtabCLI

@Suite("--at: now, RFC 3339 or Unix seconds")
struct TimeArgumentTests {
    @Test func theForms() throws {
        #expect(try TimeArgument.parse(nil, now: 1_796_446_512.7) == 1_796_446_512)
        #expect(try TimeArgument.parse("now", now: 1_796_446_512.7) == 1_796_446_512)
        #expect(try TimeArgument.parse("1796446500") == 1_796_446_500)
        #expect(try TimeArgument.parse("2026-12-06T04:55:00Z") == 1_796_532_900)
        #expect(try TimeArgument.parse("2026-12-06T05:55:00.5+01:00") == 1_796_532_900.5)
    }

    @Test(arguments: ["yesterday", "nan", "inf", "1e300", "-5", "2026-13-01T00:00:00Z", ""])
    func badTimesAreRefusedWithTheForms(_ text: String) {
        #expect {
            try TimeArgument.parse(text)
        } throws: { error in
            "\(error)".contains("--at '\(text)'") && "\(error)".contains("Unix seconds")
        }
    }

    @Test func durationFlagsNameTheFlag() throws {
        #expect(try durationFlag("90s", flag: "--interval") == 90)
        #expect(try durationFlag("2m", flag: "--interval") == 120)
        #expect(throws: (any Error).self) { try durationFlag("0s", flag: "--interval") }
        #expect { try durationFlag("soon", flag: "--interval") } throws: { "\($0)".contains("--interval") }
    }
}
