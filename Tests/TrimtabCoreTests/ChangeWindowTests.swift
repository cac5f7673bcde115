import Foundation
import Testing
@testable import TrimtabCore

/// `spec.safety.changeWindows`: when enforcing may change things, and the freezes that close even an
/// open window.
@Suite("Change windows: weekly windows in a time zone, freezes, and the plan that holds outside them")
struct ChangeWindowTests {
    static let policy = basePolicy + """

      safety:
        changeWindows:
          timeZone: Europe/Berlin
          allow:
            - {days: [Mon-Fri], from: "09:00", to: "17:00"}
            - {days: [Fri], from: "22:00", to: "02:00"}
          freeze:
            - {from: 2026-12-21T00:00:00Z, to: 2027-01-04T00:00:00Z, reason: year-end}
    """

    static func time(_ text: String) -> Double { ISO8601DateFormatter().date(from: text)!.timeIntervalSince1970 }

    @Test func windowsAreJudgedInTheirTimeZoneAcrossMidnightAndFreezesCloseThem() throws {
        let windows = try #require(try PolicyLoader.load(text: Self.policy, file: "p.yaml").safety.changeWindows)
        #expect(windows.allow.count == 2 && windows.allow[0].days == [1, 2, 3, 4, 5] && windows.allow[1].fromMinutes == 22 * 60)
        // December: Berlin is UTC+1.
        let cases: [(String, Bool)] = [
            ("2026-12-07T08:30:00Z", true),   // Monday 09:30
            ("2026-12-07T07:59:00Z", false),  // Monday 08:59
            ("2026-12-07T16:00:00Z", false),  // Monday 17:00: the end is not inside
            ("2026-12-12T10:00:00Z", false),  // Saturday 11:00
            ("2026-12-11T21:30:00Z", true),   // Friday 22:30
            ("2026-12-12T00:30:00Z", true),   // Saturday 01:30, after Friday's evening window
            ("2026-12-13T00:30:00Z", false),  // Sunday 01:30: Saturday has no evening window
            ("2026-12-22T09:00:00Z", false),  // Tuesday 10:00, but in the freeze
            ("2027-01-04T09:00:00Z", true),   // after it
        ]
        for (text, open) in cases {
            #expect(windows.judge(Self.time(text)).open == open, "\(text): \(windows.judge(Self.time(text)).detail)")
        }
        #expect(windows.judge(Self.time("2026-12-12T10:00:00Z")).detail
                == "outside the change windows (Mon,Tue,Wed,Thu,Fri 09:00-17:00, Fri 22:00-02:00 Europe/Berlin)")
        #expect(windows.judge(Self.time("2026-12-22T09:00:00Z")).detail == "in the freeze 'year-end' until 2027-01-04T00:00:00Z")
    }

    @Test(arguments: [
        ("timeZone: Europe/Berlin", "timeZone: Mars/Olympus", "'Mars/Olympus' is not a time zone"),
        ("days: [Mon-Fri]", "days: [Mon-Fry]", "'Mon-Fry' is not a day"),
        ("from: \"09:00\"", "from: \"9am\"", "'9am' is not a time of day"),
        ("to: \"17:00\"", "to: \"09:00\"", "is empty: from and to are both 09:00"),
        ("to: 2027-01-04T00:00:00Z", "to: 2026-12-01T00:00:00Z", "ends before it starts"),
        ("from: 2026-12-21T00:00:00Z", "from: next week", "'next week' is not a time"),
    ])
    func mistakesAreLocated(original: String, broken: String, message: String) throws {
        let text = Self.policy.replacingOccurrences(of: original, with: broken)
        #expect(text != Self.policy)
        let found = diagnostics(text)
        let diagnostic = try #require(found.first { $0.message.contains(message) }, "\(found)")
        let line = text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains(broken) }.map { $0 + 1 }
        #expect(diagnostic.location.line == line, "\(diagnostic)")
    }

    @Test func outsideTheWindowsEveryChangeIsHeldWithTheReason() throws {
        var situation = Situation()
        situation.values["latency_p95"] = { ago in ago <= 900 ? 2.4 : 0.3 }
        situation.values["cpu_utilization"] = { ago in ago <= 900 ? 0.93 : 0.5 }
        // The fixture's time is a Friday, 03:46 UTC.
        let closed = ChangeWindows(allow: [.init(days: [1, 2, 3, 4, 5], fromMinutes: 9 * 60, toMinutes: 17 * 60)])
        let (_, held) = try plan(situation) { $0.safety.changeWindows = closed }
        #expect(held.proposed.isEmpty)
        let rule = try #require(held.held.first?.rules.first { $0.rule == "change window" })
        #expect(!rule.passed && rule.detail == "outside the change windows (Mon,Tue,Wed,Thu,Fri 09:00-17:00 UTC)")
        let open = ChangeWindows(allow: [.init(days: [5], fromMinutes: 3 * 60, toMinutes: 4 * 60)])
        let (_, proposed) = try plan(situation) { $0.safety.changeWindows = open }
        #expect(proposed.proposed.count == 1 && proposed.proposed[0].rules.contains { $0.rule == "change window" && $0.passed })
    }
}
