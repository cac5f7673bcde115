/// A failed API request, answered as the `Status` object a real API server sends, with the same
/// reason, code and wording, so that clients' error handling is tested against the real thing.
public struct StatusError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The HTTP status code, also the Status' `code`.
    public var code: Int
    /// The Status' `reason`, such as `NotFound` or `Conflict`.
    public var reason: String
    public var message: String
    /// The Status' `details`, when the failure concerns one object.
    public var details: JSONValue?
    /// Seconds for a `Retry-After` header, for TooManyRequests.
    public var retryAfterSeconds: Int?

    public init(code: Int, reason: String, message: String, details: JSONValue? = nil, retryAfterSeconds: Int? = nil) {
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { "\(code) \(reason): \(message)" }

    /// The `Status` object for the response body.
    public var status: JSONValue {
        var status: JSONValue = ["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure",
                                 "message": .string(message), "reason": .string(reason), "code": .number(Double(code))]
        if let details { status["details"] = details }
        return status
    }

    static func details(_ type: ResourceType, name: String?, kind: String? = nil) -> JSONValue {
        var details: JSONValue = ["kind": .string(kind ?? type.plural)]
        if let name, !name.isEmpty { details["name"] = .string(name) }
        if !type.group.isEmpty { details["group"] = .string(type.group) }
        return details
    }

    static func notFound(_ type: ResourceType, name: String) -> StatusError {
        StatusError(code: 404, reason: "NotFound", message: "\(type.groupResource) \"\(name)\" not found",
                    details: details(type, name: name))
    }

    static func alreadyExists(_ type: ResourceType, name: String) -> StatusError {
        StatusError(code: 409, reason: "AlreadyExists", message: "\(type.groupResource) \"\(name)\" already exists",
                    details: details(type, name: name))
    }

    static func conflict(_ type: ResourceType, name: String) -> StatusError {
        StatusError(code: 409, reason: "Conflict",
                    message: "Operation cannot be fulfilled on \(type.groupResource) \"\(name)\": the object has been modified; please apply your changes to the latest version and try again",
                    details: details(type, name: name))
    }

    static func conflict(_ type: ResourceType, name: String, because text: String) -> StatusError {
        StatusError(code: 409, reason: "Conflict", message: "Operation cannot be fulfilled on \(type.groupResource) \"\(name)\": \(text)",
                    details: details(type, name: name))
    }

    static func badRequest(_ message: String) -> StatusError {
        StatusError(code: 400, reason: "BadRequest", message: message)
    }

    /// A field that failed validation, as in the Status' `details.causes`.
    struct Cause: Sendable, Equatable {
        var reason: String
        var field: String
        var message: String

        static func invalid(_ field: String, _ value: JSONValue, _ detail: String) -> Cause {
            Cause(reason: "FieldValueInvalid", field: field, message: "Invalid value: \(Cause.render(value)): \(detail)")
        }

        static func required(_ field: String, _ detail: String) -> Cause {
            Cause(reason: "FieldValueRequired", field: field, message: "Required value: \(detail)")
        }

        /// Values appear in messages as Go's `%#v` would print them: strings quoted, numbers bare.
        static func render(_ value: JSONValue) -> String {
            switch value {
            case .string(let text): return "\"\(text)\""
            case .number, .bool, .null: return value.jsonText
            default: return "\"\(value.jsonText)\""
            }
        }
    }

    static func invalid(_ type: ResourceType, name: String, causes: [Cause]) -> StatusError {
        let parts = causes.map { "\($0.field): \($0.message)" }
        let summary = parts.count == 1 ? parts[0] : "[" + parts.joined(separator: ", ") + "]"
        var details = details(type, name: name, kind: type.kind)
        details["causes"] = .array(causes.map { ["reason": .string($0.reason), "message": .string($0.message), "field": .string($0.field)] })
        return StatusError(code: 422, reason: "Invalid", message: "\(type.groupKind) \"\(name)\" is invalid: \(summary)", details: details)
    }

    static let unauthorized = StatusError(code: 401, reason: "Unauthorized", message: "Unauthorized")

    static let methodNotAllowed = StatusError(code: 405, reason: "MethodNotAllowed",
                                              message: "the server does not allow this method on the requested resource")

    static let unsupportedPatchType = StatusError(
        code: 415, reason: "UnsupportedMediaType",
        message: "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json")

    static let unsupportedCustomPatchType = StatusError(
        code: 415, reason: "UnsupportedMediaType",
        message: "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")

    static func pathNotFound(_ path: String) -> StatusError {
        StatusError(code: 404, reason: "NotFound", message: "the server could not find the requested resource",
                    details: ["causes": [["reason": "UnexpectedServerResponse", "message": .string("404 page not found: \(path)")]]])
    }
}
