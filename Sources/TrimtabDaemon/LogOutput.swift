import Foundation
import TrimtabCycle
import Logging

/// How `trimtab run` writes its log: one line per event, on standard error.
public enum LogFormat: String, Sendable, CaseIterable {
    /// `2026-11-24T10:00:00Z info cycle 3: health 82.6 … key=value …`, for people.
    case text
    /// One JSON object per line (`time`, `level`, `message` and the metadata), for log pipelines.
    case json
}

/// A swift-log handler writing one line per event, as text or JSON. Metadata values are written as
/// given: callers never put a credential in them (URLs go through `Redaction.displayURL`).
public struct LineLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let format: LogFormat
    let label: String
    let write: @Sendable (String) -> Void

    public init(label: String, format: LogFormat, level: Logger.Level, write: @escaping @Sendable (String) -> Void = LineLogHandler.standardError) {
        self.label = label
        self.format = format
        self.logLevel = level
        self.write = write
    }

    public static let standardError: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = self.metadata
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        let time = Self.timestamp()
        switch format {
        case .text:
            let fields = all.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.text($0.value))" }
            write(([time, event.level.rawValue, event.message.description] + fields).joined(separator: " "))
        case .json:
            var object: [String: Any] = ["time": time, "level": event.level.rawValue, "message": event.message.description, "logger": label]
            for (key, value) in all where object[key] == nil { object[key] = Self.json(value) }
            if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) {
                write(String(decoding: data, as: UTF8.self))
            }
        }
    }

    static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: SystemClock().now()))
    }

    static func text(_ value: Logger.MetadataValue) -> String {
        let plain = "\(value)"
        return plain.contains(" ") || plain.isEmpty ? "\"\(plain.replacingOccurrences(of: "\"", with: "\\\""))\"" : plain
    }

    static func json(_ value: Logger.MetadataValue) -> Any {
        switch value {
        case .string(let text): return text
        case .stringConvertible(let item): return "\(item)"
        case .array(let items): return items.map(json)
        case .dictionary(let items): return items.mapValues(json)
        }
    }
}

extension Logger {
    /// A logger writing lines in `format`, without touching the process-wide logging system.
    public static func trimtab(format: LogFormat, level: Logger.Level, write: @escaping @Sendable (String) -> Void = LineLogHandler.standardError) -> Logger {
        Logger(label: "trimtab") { label in LineLogHandler(label: label, format: format, level: level, write: write) }
    }
}
