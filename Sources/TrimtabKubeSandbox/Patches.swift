/// The three patch formats a Kubernetes API server accepts on PATCH, named by Content-Type.
enum PatchType: String, Sendable, CaseIterable {
    case merge = "application/merge-patch+json"
    case strategicMerge = "application/strategic-merge-patch+json"
    case json = "application/json-patch+json"

    /// The patch type for a Content-Type header, ignoring parameters such as `charset`.
    init?(contentType: String?) {
        guard let contentType else { return nil }
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        self.init(rawValue: mediaType)
    }

    /// The patched document, or a Status error worded as the API server words patch failures.
    func apply(_ patch: JSONValue, to original: JSONValue) throws -> JSONValue {
        switch self {
        case .merge: return MergePatch.apply(patch, to: original)
        case .strategicMerge:
            guard case .object = patch else { throw StatusError.badRequest("invalid JSON document: a strategic merge patch must be an object") }
            return StrategicMergePatch.apply(patch, to: original)
        case .json: return try JSONPatch.apply(patch, to: original)
        }
    }
}

/// RFC 7386 JSON Merge Patch: objects merge recursively, `null` deletes, anything else replaces.
enum MergePatch {
    static func apply(_ patch: JSONValue, to original: JSONValue) -> JSONValue {
        guard case .object(let members) = patch else { return patch }
        var result = original.objectValue ?? [:]
        for (key, value) in members {
            if value == .null {
                result[key] = nil
            } else {
                result[key] = apply(value, to: result[key] ?? .null)
            }
        }
        return .object(result)
    }
}

/// Kubernetes' strategic merge patch, as its built-in types declare it: maps merge recursively and
/// `null` deletes a key, like a merge patch; but lists whose field declares a `patchMergeKey` merge
/// element by element on that key, and `$patch` directives delete or replace.
///
/// The merge key is chosen by the list's field name alone, which is exact for the fields of the
/// resources served here (a pod template's containers, env, ports, volumes, volumeMounts).
enum StrategicMergePatch {
    /// The `patchMergeKey` of each list field that has one.
    static let mergeKeys: [String: String] = [
        "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "env": "name",
        "volumes": "name", "imagePullSecrets": "name", "ports": "containerPort", "volumeMounts": "mountPath",
        "hostAliases": "ip", "topologySpreadConstraints": "topologyKey",
    ]

    static func apply(_ patch: JSONValue, to original: JSONValue) -> JSONValue {
        guard case .object(let members) = patch else { return patch }
        if members["$patch"]?.stringValue == "replace" {
            return stripDirectives(.object(members))
        }
        var result = original.objectValue ?? [:]
        for (key, value) in members {
            if key.hasPrefix("$deleteFromPrimitiveList/") {
                let field = String(key.dropFirst("$deleteFromPrimitiveList/".count))
                let removed = value.arrayValue ?? []
                if let list = result[field]?.arrayValue { result[field] = .array(list.filter { !removed.contains($0) }) }
                continue
            }
            // Other directives ($setElementOrder/..., $retainKeys, $patch) only order or guard the merge.
            if key.hasPrefix("$") { continue }
            if value == .null {
                result[key] = nil
            } else if case .object(let child) = value, child["$patch"]?.stringValue == "delete" {
                result[key] = nil
            } else if case .array(let elements) = value, let mergeKey = mergeKeys[key] {
                result[key] = .array(mergeList(elements, into: result[key]?.arrayValue ?? [], mergeKey: mergeKey))
            } else if case .object = value {
                result[key] = apply(value, to: result[key] ?? .object([:]))
            } else if case .array(let elements) = value {
                result[key] = .array(elements.filter { $0.objectValue?["$patch"] == nil }.map(stripDirectives))
            } else {
                result[key] = value
            }
        }
        return .object(result)
    }

    private static func mergeList(_ patch: [JSONValue], into original: [JSONValue], mergeKey: String) -> [JSONValue] {
        if patch.contains(where: { $0.objectValue?["$patch"]?.stringValue == "replace" }) {
            return patch.filter { $0.objectValue?["$patch"] == nil }.map(stripDirectives)
        }
        var result = original
        for element in patch {
            guard case .object(let members) = element, let keyValue = members[mergeKey] else {
                result.append(stripDirectives(element))
                continue
            }
            let index = result.firstIndex { $0[mergeKey] == keyValue }
            if members["$patch"]?.stringValue == "delete" {
                result.removeAll { $0[mergeKey] == keyValue }
            } else if let index {
                result[index] = apply(element, to: result[index])
            } else {
                result.append(apply(element, to: .object([:])))
            }
        }
        return result
    }

    /// A value with every `$` directive key and every `null` member removed, as stored after a patch.
    private static func stripDirectives(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let members):
            var result: [String: JSONValue] = [:]
            for (key, child) in members where !key.hasPrefix("$") && child != .null { result[key] = stripDirectives(child) }
            return .object(result)
        case .array(let elements):
            return .array(elements.map(stripDirectives))
        default:
            return value
        }
    }
}

/// RFC 6902 JSON Patch: a list of operations on RFC 6901 pointers.
enum JSONPatch {
    static func apply(_ patch: JSONValue, to original: JSONValue) throws -> JSONValue {
        guard case .array(let operations) = patch else {
            throw StatusError.badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        }
        var document = original
        for operation in operations {
            guard let op = operation["op"]?.stringValue, let path = operation["path"]?.stringValue else {
                throw StatusError.badRequest("invalid JSON patch operation: \(operation.jsonText)")
            }
            let pointer = try parsePointer(path)
            switch op {
            case "add":
                guard let value = operation["value"] else { throw unprocessable("missing value for add operation") }
                document = try add(value, at: pointer, in: document)
            case "remove":
                document = try remove(at: pointer, in: document).document
            case "replace":
                guard let value = operation["value"] else { throw unprocessable("missing value for replace operation") }
                guard get(pointer, in: document) != nil else {
                    throw unprocessable("replace operation does not apply: doc is missing key: \(path)")
                }
                document = try add(value, at: pointer, in: try remove(at: pointer, in: document).document)
            case "test":
                guard get(pointer, in: document) == operation["value"] else {
                    throw unprocessable("testing value \(path) failed: test failed")
                }
            case "move", "copy":
                guard let fromPath = operation["from"]?.stringValue else { throw unprocessable("missing from for \(op) operation") }
                let from = try parsePointer(fromPath)
                guard let value = get(from, in: document) else { throw unprocessable("\(op) operation does not apply: doc is missing from path: \(fromPath)") }
                if op == "move" { document = try remove(at: from, in: document).document }
                document = try add(value, at: pointer, in: document)
            default:
                throw StatusError.badRequest("Unexpected kind: \(op)")
            }
        }
        return document
    }

    /// The API server answers a patch that cannot apply with 422 and the patch library's text.
    static func unprocessable(_ message: String) -> StatusError {
        StatusError(code: 422, reason: "Invalid", message: message)
    }

    static func parsePointer(_ path: String) throws -> [String] {
        if path.isEmpty { return [] }
        guard path.hasPrefix("/") else { throw unprocessable("JSON pointer must be empty or start with a \"/\": \(path)") }
        return path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    static func get(_ pointer: [String], in document: JSONValue) -> JSONValue? {
        var current = document
        for token in pointer {
            switch current {
            case .object(let members):
                guard let next = members[token] else { return nil }
                current = next
            case .array(let elements):
                guard let index = Int(token), elements.indices.contains(index) else { return nil }
                current = elements[index]
            default:
                return nil
            }
        }
        return current
    }

    static func add(_ value: JSONValue, at pointer: [String], in document: JSONValue) throws -> JSONValue {
        guard let token = pointer.first else { return value }
        let rest = Array(pointer.dropFirst())
        switch document {
        case .object(var members):
            if rest.isEmpty {
                members[token] = value
            } else {
                guard let child = members[token] else { throw unprocessable("add operation does not apply: doc is missing path: /\(pointer.joined(separator: "/"))") }
                members[token] = try add(value, at: rest, in: child)
            }
            return .object(members)
        case .array(var elements):
            if rest.isEmpty {
                let index = token == "-" ? elements.count : Int(token) ?? -1
                guard (0...elements.count).contains(index) else { throw unprocessable("add operation does not apply: index out of bounds: \(token)") }
                elements.insert(value, at: index)
            } else {
                guard let index = Int(token), elements.indices.contains(index) else { throw unprocessable("add operation does not apply: index out of bounds: \(token)") }
                elements[index] = try add(value, at: rest, in: elements[index])
            }
            return .array(elements)
        default:
            throw unprocessable("add operation does not apply: doc is missing path: /\(pointer.joined(separator: "/"))")
        }
    }

    static func remove(at pointer: [String], in document: JSONValue) throws -> (document: JSONValue, removed: JSONValue) {
        guard let token = pointer.first else { throw unprocessable("remove operation does not apply: empty path") }
        let rest = Array(pointer.dropFirst())
        let missing = unprocessable("remove operation does not apply: doc is missing path: /\(pointer.joined(separator: "/"))")
        switch document {
        case .object(var members):
            guard let child = members[token] else { throw missing }
            if rest.isEmpty {
                members[token] = nil
                return (.object(members), child)
            }
            let (updated, removed) = try remove(at: rest, in: child)
            members[token] = updated
            return (.object(members), removed)
        case .array(var elements):
            guard let index = Int(token), elements.indices.contains(index) else { throw missing }
            if rest.isEmpty {
                let removed = elements.remove(at: index)
                return (.array(elements), removed)
            }
            let (updated, removed) = try remove(at: rest, in: elements[index])
            elements[index] = updated
            return (.array(elements), removed)
        default:
            throw missing
        }
    }
}
