import Foundation
import Yams

/// When changes may be made (`spec.safety.changeWindows`): weekly windows in a time zone, and freeze
/// periods that close even an open window. Outside, the plan holds every change with the reason;
/// rollbacks of changes already made are not held (undoing harm is always allowed).
public struct ChangeWindows: Sendable, Equatable, Codable {
    /// Days (1 Monday … 7 Sunday) and a span of the day in minutes; `to` before `from` spans midnight
    /// (the part after midnight belongs to the next day).
    public struct Window: Sendable, Equatable, Codable {
        public var days: [Int]
        public var fromMinutes: Int
        public var toMinutes: Int
    }

    public struct Freeze: Sendable, Equatable, Codable {
        public var start: Double
        public var end: Double
        public var reason: String?
    }

    /// An IANA time zone, `Europe/Berlin`; `UTC` by default.
    public var timeZone: String
    /// Empty: every time is inside (only the freezes close it).
    public var allow: [Window]
    public var freezes: [Freeze]

    public init(timeZone: String = "UTC", allow: [Window] = [], freezes: [Freeze] = []) {
        self.timeZone = timeZone
        self.allow = allow
        self.freezes = freezes
    }

    static let dayNames = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

    /// Whether a change may be made at `time` (Unix seconds), and why (not).
    public func judge(_ time: Double) -> (open: Bool, detail: String) {
        if let freeze = freezes.first(where: { time >= $0.start && time < $0.end }) {
            return (false, "in the freeze\(freeze.reason.map { " '\($0)'" } ?? "") until \(Formatting.time(freeze.end))")
        }
        guard !allow.isEmpty else { return (true, "no change window closes now") }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: timeZone) ?? TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.weekday, .hour, .minute], from: Date(timeIntervalSince1970: time))
        // Calendar's weekday is 1 for Sunday; here 1 is Monday.
        let day = ((parts.weekday ?? 1) + 5) % 7 + 1
        let minute = (parts.hour ?? 0) * 60 + (parts.minute ?? 0)
        let inside = allow.contains { window in
            if window.fromMinutes <= window.toMinutes {
                return window.days.contains(day) && minute >= window.fromMinutes && minute < window.toMinutes
            }
            // Over midnight: the evening of a listed day, or the early hours after one.
            let yesterday = (day + 5) % 7 + 1
            return (window.days.contains(day) && minute >= window.fromMinutes) || (window.days.contains(yesterday) && minute < window.toMinutes)
        }
        let shown = allow.map(Self.describe).joined(separator: ", ") + " \(timeZone)"
        return inside ? (true, "inside the change windows (\(shown))") : (false, "outside the change windows (\(shown))")
    }

    /// `Mon,Tue,Wed 09:00-17:00`.
    static func describe(_ window: Window) -> String {
        window.days.map { dayNames[$0 - 1] }.joined(separator: ",") + " " + clock(window.fromMinutes) + "-" + clock(window.toMinutes)
    }

    static func clock(_ minutes: Int) -> String { String(format: "%02d:%02d", minutes / 60, minutes % 60) }
}

extension ActionParser {
    /// `spec.safety.changeWindows: {timeZone, allow: [{days, from, to}], freeze: [{from, to, reason}]}`.
    static func readChangeWindows(_ node: Node, _ path: String, _ reader: inout NodeReader) -> ChangeWindows? {
        guard let fields = reader.mapping(node, path, allowed: ["timeZone", "allow", "freeze"]) else { return nil }
        var windows = ChangeWindows()
        var valid = true
        for field in fields {
            let here = "\(path).\(field.key)"
            switch field.key {
            case "timeZone":
                guard let name = reader.nonEmptyString(field.value, here) else { valid = false; continue }
                if TimeZone(identifier: name) == nil {
                    reader.error(field.value, "\(here) '\(name)' is not a time zone", hint: "an IANA name, such as UTC, Europe/Berlin or America/New_York")
                    valid = false
                } else {
                    windows.timeZone = name
                }
            case "allow":
                guard let list = field.value.sequence, !list.isEmpty else {
                    reader.error(field.value, "\(here) must be a list of {days, from, to}")
                    valid = false
                    continue
                }
                for (index, item) in list.enumerated() {
                    if let window = readWindow(item, "\(here)[\(index)]", &reader) { windows.allow.append(window) } else { valid = false }
                }
            case "freeze":
                guard let list = field.value.sequence else {
                    reader.error(field.value, "\(here) must be a list of {from, to, reason}")
                    valid = false
                    continue
                }
                for (index, item) in list.enumerated() {
                    if let freeze = readFreeze(item, "\(here)[\(index)]", &reader) { windows.freezes.append(freeze) } else { valid = false }
                }
            default: break
            }
        }
        return valid ? windows : nil
    }

    static func readWindow(_ node: Node, _ path: String, _ reader: inout NodeReader) -> ChangeWindows.Window? {
        guard let fields = reader.mapping(node, path, allowed: ["days", "from", "to"]) else { return nil }
        var days: [Int]?, from: Int?, to: Int?
        for field in fields {
            switch field.key {
            case "days":
                guard let names = reader.stringList(field.value, "\(path).days") else { return nil }
                var found: [Int] = []
                for name in names {
                    guard let parsed = dayRange(name) else {
                        reader.error(field.value, "\(path).days: '\(name)' is not a day", hint: "Mon, Tue, Wed, Thu, Fri, Sat, Sun, or a range such as Mon-Fri")
                        return nil
                    }
                    found += parsed.filter { !found.contains($0) }
                }
                days = found.sorted()
            case "from", "to":
                guard let text = reader.nonEmptyString(field.value, "\(path).\(field.key)") else { return nil }
                guard let minutes = clockMinutes(text) else {
                    reader.error(field.value, "\(path).\(field.key) '\(text)' is not a time of day", hint: "HH:MM from 00:00 to 24:00, quoted: \"09:00\"")
                    return nil
                }
                if field.key == "from" { from = minutes } else { to = minutes }
            default: break
            }
        }
        guard let from, let to else {
            reader.error(node, "\(path) needs from and to (\"09:00\", \"17:00\")")
            return nil
        }
        guard from != to else {
            reader.error(node, "\(path) is empty: from and to are both \(ChangeWindows.clock(from))")
            return nil
        }
        return ChangeWindows.Window(days: days ?? Array(1...7), fromMinutes: from, toMinutes: to)
    }

    static func readFreeze(_ node: Node, _ path: String, _ reader: inout NodeReader) -> ChangeWindows.Freeze? {
        guard let fields = reader.mapping(node, path, allowed: ["from", "to", "reason"]) else { return nil }
        var start: Double?, end: Double?, reason: String?
        for field in fields {
            switch field.key {
            case "from", "to":
                guard let text = reader.nonEmptyString(field.value, "\(path).\(field.key)") else { return nil }
                guard let time = rfc3339(text) else {
                    reader.error(field.value, "\(path).\(field.key) '\(text)' is not a time", hint: "RFC 3339, such as 2026-12-20T00:00:00Z or 2026-12-20T00:00:00+01:00")
                    return nil
                }
                if field.key == "from" { start = time } else { end = time }
            case "reason": reason = reader.nonEmptyString(field.value, "\(path).reason")
            default: break
            }
        }
        guard let start, let end else {
            reader.error(node, "\(path) needs from and to (RFC 3339 times)")
            return nil
        }
        guard start < end else {
            reader.error(node, "\(path) ends before it starts")
            return nil
        }
        return ChangeWindows.Freeze(start: start, end: end, reason: reason)
    }

    /// `Mon`, `monday`, or a range `Mon-Fri` (wrapping: `Fri-Mon`), as day numbers 1…7.
    static func dayRange(_ text: String) -> [Int]? {
        func day(_ name: Substring) -> Int? {
            let key = name.trimmingCharacters(in: .whitespaces).lowercased()
            guard key.count >= 3 else { return nil }
            let full = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
            return full.firstIndex { $0.hasPrefix(key) }.map { $0 + 1 }
        }
        let parts = text.split(separator: "-")
        if parts.count == 1 { return day(parts[0]).map { [$0] } }
        guard parts.count == 2, let first = day(parts[0]), let last = day(parts[1]) else { return nil }
        var days = [first]
        var current = first
        while current != last, days.count < 7 {
            current = current % 7 + 1
            days.append(current)
        }
        return days
    }

    /// `HH:MM` as minutes of the day, `24:00` included.
    static func clockMinutes(_ text: String) -> Int? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts[1].count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]),
              (0...24).contains(hours), (0..<60).contains(minutes), hours < 24 || minutes == 0 else { return nil }
        return hours * 60 + minutes
    }

    static func rfc3339(_ text: String) -> Double? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return date.timeIntervalSince1970 }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)?.timeIntervalSince1970
    }
}
