import Foundation

/// A `labelSelector` query parameter, in Kubernetes' syntax: `a=b`, `a==b`, `a!=b`, `a`, `!a`,
/// `a in (x,y)`, `a notin (x,y)`, joined by commas, all of which must hold.
struct LabelSelector: Sendable {
    enum Requirement: Sendable {
        case equals(String, String)
        case notEquals(String, String)
        case exists(String)
        case doesNotExist(String)
        case isIn(String, Set<String>)
        case notIn(String, Set<String>)
    }

    var requirements: [Requirement] = []

    init(parsing text: String) throws {
        for term in LabelSelector.splitTerms(text) {
            let term = term.trimmingCharacters(in: .whitespaces)
            if term.isEmpty { continue }
            requirements.append(try LabelSelector.parseTerm(term))
        }
    }

    func matches(_ labels: [String: String]) -> Bool {
        requirements.allSatisfy { requirement in
            switch requirement {
            case .equals(let key, let value): return labels[key] == value
            case .notEquals(let key, let value): return labels[key] != value
            case .exists(let key): return labels[key] != nil
            case .doesNotExist(let key): return labels[key] == nil
            case .isIn(let key, let values): return labels[key].map(values.contains) ?? false
            case .notIn(let key, let values): return !(labels[key].map(values.contains) ?? false)
            }
        }
    }

    /// Splits on the commas that separate requirements, not those inside `in (x,y)`.
    private static func splitTerms(_ text: String) -> [String] {
        var terms: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            if character == "(" { depth += 1 }
            if character == ")" { depth -= 1 }
            if character == ",", depth == 0 {
                terms.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        terms.append(current)
        return terms
    }

    private static func parseTerm(_ term: String) throws -> Requirement {
        let invalid = StatusError.badRequest("unable to parse requirement: found '\(term)', expected: identifier")
        for (separator, make) in [("!=", Requirement.notEquals), ("==", Requirement.equals), ("=", Requirement.equals)] {
            if let range = term.range(of: separator) {
                let key = term[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
                let value = term[range.upperBound...].trimmingCharacters(in: .whitespaces)
                guard !key.isEmpty else { throw invalid }
                return make(key, value)
            }
        }
        for (word, make) in [(" notin ", Requirement.notIn), (" in ", Requirement.isIn)] {
            if let range = term.range(of: word) {
                let key = term[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
                var list = term[range.upperBound...].trimmingCharacters(in: .whitespaces)
                guard list.hasPrefix("("), list.hasSuffix(")"), !key.isEmpty else { throw invalid }
                list = String(list.dropFirst().dropLast())
                let values = Set(list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
                return make(key, values)
            }
        }
        if term.hasPrefix("!") {
            return .doesNotExist(term.dropFirst().trimmingCharacters(in: .whitespaces))
        }
        guard !term.contains(" ") else { throw invalid }
        return .exists(term)
    }
}

/// A `fieldSelector` query parameter: `field=value` and `field!=value` terms over the fields the
/// API server indexes for the resource (`metadata.name`, `metadata.namespace`; for events also
/// `involvedObject.*`, `reason` and `type`).
struct FieldSelector: Sendable {
    struct Requirement: Sendable {
        var path: [String]
        var value: String
        var negated: Bool
    }

    var requirements: [Requirement] = []

    init(parsing text: String, for type: ResourceType) throws {
        var supported = ["metadata.name", "metadata.namespace"]
        if type == ResourceCatalog.events {
            supported += ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
                          "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
                          "reason", "type", "reportingComponent"]
        }
        if type == ResourceCatalog.namespaces { supported.append("status.phase") }
        for term in text.split(separator: ",") {
            let term = String(term)
            let negated = term.contains("!=")
            let separator = negated ? "!=" : (term.contains("==") ? "==" : "=")
            guard let range = term.range(of: separator) else {
                throw StatusError.badRequest("invalid selector: '\(text)'; can't understand '\(term)'")
            }
            let field = term[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
            let value = term[range.upperBound...].trimmingCharacters(in: .whitespaces)
            guard supported.contains(field) else {
                throw StatusError.badRequest("field label not supported: \(field)")
            }
            requirements.append(Requirement(path: field.split(separator: ".").map(String.init), value: value, negated: negated))
        }
    }

    func matches(_ object: JSONValue) -> Bool {
        requirements.allSatisfy { requirement in
            let actual = object[path: requirement.path]?.stringValue ?? ""
            return (actual == requirement.value) != requirement.negated
        }
    }
}
