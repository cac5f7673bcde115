import Yams

/// A policy test file: input series per target and indicator, and what the policy must find at
/// given times (bottlenecks, planned actions, status), in the spirit of `promtool test rules`.
public struct PolicyTest: Sendable {
    public struct TargetInput: Sendable {
        public var labels: [String: String]
        /// Values per indicator, one per interval from time 0.
        public var series: [String: [Double?]]
        /// What knobs hold in the cluster, by env var name, ConfigMap key or endpoint URL: the current
        /// value of an action input that has no indicator (a TTL, a pool size).
        public var knobs: [String: Double] = [:]
    }

    public struct ExpectedBottleneck: Sendable, Equatable, CustomStringConvertible {
        public var target: String
        public var check: String
        public var severity: CheckStatus
        public var description: String { "\(target) \(check) \(severity.rawValue)" }
    }

    public struct ExpectedAction: Sendable, Equatable, CustomStringConvertible {
        public var target: String
        public var action: String
        public var from: Double?
        public var to: Double?
        public var decision: PlannedAction.Decision
        public var description: String {
            "\(target) \(action)" + (from.map { " from \(Formatting.number($0))" } ?? "") + (to.map { " to \(Formatting.number($0))" } ?? "")
                + " (\(decision.rawValue))"
        }
    }

    public struct Case: Sendable {
        public var at: Double
        public var location: SourceLocation
        public var bottlenecks: [ExpectedBottleneck]?
        public var actions: [ExpectedAction]?
        public var status: HealthStatus?
        public var recommendations: [String]?
    }

    public var name: String
    /// The policy file, relative to the test file.
    public var policy: String
    public var intervalSeconds: Double?
    public var targets: [TargetInput]
    public var cases: [Case]

    /// Reads a test file; every problem is located.
    public static func parse(_ text: String, file: String) throws(PolicyError) -> PolicyTest {
        var reader = NodeReader(file: file)
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw PolicyError([PolicyDiagnostic(SourceLocation(file: file, line: 1, column: 1), "the file is empty")])
            }
            root = node
        } catch let error as PolicyError {
            throw error
        } catch {
            throw PolicyError([PolicyParser.yamlDiagnostic(error, file: file)])
        }
        var test = PolicyTest(name: file, policy: "", intervalSeconds: nil, targets: [], cases: [])
        guard let top = reader.mapping(root, "the document", allowed: ["apiVersion", "kind", "metadata", "policy", "interval", "targets", "tests"]) else {
            throw PolicyError(reader.diagnostics)
        }
        var sawPolicy = false
        for entry in top {
            switch entry.key {
            case "apiVersion":
                if let version = reader.string(entry.value, "apiVersion"), version != Policy.apiVersion {
                    reader.error(entry.value, "apiVersion '\(version)' is not supported", hint: "write 'apiVersion: \(Policy.apiVersion)'")
                }
            case "kind":
                if let kind = reader.string(entry.value, "kind"), kind != "PolicyTest" {
                    reader.error(entry.value, "kind '\(kind)' is not a policy test", hint: "write 'kind: PolicyTest'")
                }
            case "metadata":
                for item in reader.mapping(entry.value, "metadata", allowed: ["name", "description"]) ?? [] where item.key == "name" {
                    test.name = reader.string(item.value, "metadata.name") ?? test.name
                }
            case "policy":
                sawPolicy = true
                test.policy = reader.nonEmptyString(entry.value, "policy") ?? ""
            case "interval":
                if let seconds = reader.duration(entry.value, "interval") {
                    if seconds <= 0 { reader.error(entry.value, "interval must be more than 0s") } else { test.intervalSeconds = seconds }
                }
            case "targets":
                guard let list = entry.value.sequence else { reader.error(entry.value, "targets must be a list"); continue }
                for (index, item) in list.enumerated() {
                    let path = "targets[\(index)]"
                    var input = TargetInput(labels: [:], series: [:])
                    for field in reader.mapping(item, path, allowed: ["labels", "series", "knobs"]) ?? [] {
                        if field.key == "labels" { input.labels = reader.stringMap(field.value, "\(path).labels") ?? [:] }
                        if field.key == "knobs" {
                            for knob in reader.mapping(field.value, "\(path).knobs") ?? [] {
                                if let value = reader.number(knob.value, "\(path).knobs.\(knob.key)") { input.knobs[knob.key] = value }
                            }
                        }
                        if field.key == "series" {
                            for series in reader.mapping(field.value, "\(path).series") ?? [] {
                                guard let text = reader.string(series.value, "\(path).series.\(series.key)") else { continue }
                                do {
                                    input.series[series.key] = try SeriesNotation.parse(text)
                                } catch {
                                    reader.error(series.value, "\(path).series.\(series.key): \(error)")
                                }
                            }
                        }
                    }
                    test.targets.append(input)
                }
            case "tests":
                guard let list = entry.value.sequence else { reader.error(entry.value, "tests must be a list"); continue }
                for (index, item) in list.enumerated() {
                    if let found = parseCase(item, "tests[\(index)]", &reader) { test.cases.append(found) }
                }
            default: break
            }
        }
        if !sawPolicy { reader.error(root, "policy is missing", hint: "name the policy file to test, relative to this file") }
        if test.cases.isEmpty && reader.diagnostics.isEmpty { reader.error(root, "there are no tests", hint: "add tests: [{at: 30m, bottlenecks: [...]}]") }
        if !reader.diagnostics.isEmpty { throw PolicyError(reader.diagnostics) }
        return test
    }

    static func parseCase(_ node: Node, _ path: String, _ reader: inout NodeReader) -> Case? {
        guard let fields = reader.mapping(node, path, allowed: ["at", "bottlenecks", "actions", "status", "recommendations"]) else { return nil }
        var item = Case(at: -1, location: reader.location(of: node))
        let sawAt = fields.contains { $0.key == "at" }
        for field in fields {
            switch field.key {
            case "at": item.at = reader.duration(field.value, "\(path).at") ?? -1
            case "status": item.status = reader.enumeration(field.value, "\(path).status", as: HealthStatus.self)
            case "recommendations": item.recommendations = reader.stringList(field.value, "\(path).recommendations") ?? []
            case "bottlenecks":
                guard let list = field.value.sequence else { reader.error(field.value, "\(path).bottlenecks must be a list"); continue }
                item.bottlenecks = list.enumerated().compactMap { index, entry in
                    let entryPath = "\(path).bottlenecks[\(index)]"
                    var target: String?, check: String?, severity: CheckStatus?
                    for part in reader.mapping(entry, entryPath, allowed: ["target", "check", "severity"]) ?? [] {
                        switch part.key {
                        case "target": target = reader.nonEmptyString(part.value, "\(entryPath).target")
                        case "check": check = reader.nonEmptyString(part.value, "\(entryPath).check")
                        case "severity": severity = reader.enumeration(part.value, "\(entryPath).severity", as: CheckStatus.self)
                        default: break
                        }
                    }
                    guard let target, let check else { reader.error(entry, "\(entryPath) needs target and check"); return nil }
                    return ExpectedBottleneck(target: target, check: check, severity: severity ?? .warning)
                }
            case "actions":
                guard let list = field.value.sequence else { reader.error(field.value, "\(path).actions must be a list"); continue }
                item.actions = list.enumerated().compactMap { index, entry in
                    let entryPath = "\(path).actions[\(index)]"
                    var target: String?, action: String?, from: Double?, to: Double?, decision = PlannedAction.Decision.proposed
                    for part in reader.mapping(entry, entryPath, allowed: ["target", "action", "from", "to", "decision"]) ?? [] {
                        switch part.key {
                        case "target": target = reader.nonEmptyString(part.value, "\(entryPath).target")
                        case "action": action = reader.nonEmptyString(part.value, "\(entryPath).action")
                        case "from": from = durationOrNumber(part.value, "\(entryPath).from", &reader)
                        case "to": to = durationOrNumber(part.value, "\(entryPath).to", &reader)
                        case "decision": decision = reader.enumeration(part.value, "\(entryPath).decision", as: PlannedAction.Decision.self) ?? decision
                        default: break
                        }
                    }
                    guard let target, let action else { reader.error(entry, "\(entryPath) needs target and action"); return nil }
                    return ExpectedAction(target: target, action: action, from: from, to: to, decision: decision)
                }
            default: break
            }
        }
        if !sawAt { reader.error(node, "\(path) needs at: the time to evaluate, like 30m") }
        if item.at < 0 { return nil }
        return item
    }

    static func durationOrNumber(_ node: Node, _ path: String, _ reader: inout NodeReader) -> Double? {
        if node.tag == Tag(.int) || node.tag == Tag(.float) { return reader.number(node, path) }
        return reader.duration(node, path)
    }
}

