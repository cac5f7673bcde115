import Foundation
import TrimtabCycle

/// The objects a sandbox holds and the write semantics of a real API server: one global
/// `resourceVersion` counter, uids, creation timestamps, `generation` bumped on spec changes,
/// optimistic concurrency, validation, and an instant rollout for workloads.
///
/// A value type mutated under the store's lock, so that a read-modify-write such as a PATCH is atomic.
struct StoreContents: Sendable {
    struct Key: Hashable, Sendable {
        var resource: String
        var namespace: String
        var name: String
    }

    var objects: [Key: JSONValue] = [:]
    let clock: any TimeSource
    /// The last resourceVersion handed out.
    var counter = 0

    var resourceVersion: String { String(counter) }

    static func key(_ type: ResourceType, _ namespace: String?, _ name: String) -> Key {
        Key(resource: type.groupResource, namespace: type.namespaced ? namespace ?? "" : "", name: name)
    }

    func get(_ type: ResourceType, namespace: String?, name: String) throws -> JSONValue {
        guard let object = objects[StoreContents.key(type, namespace, name)] else { throw StatusError.notFound(type, name: name) }
        return object
    }

    /// The objects of a type, in one namespace or (nil) all, ordered by namespace then name.
    func list(_ type: ResourceType, namespace: String?) -> [JSONValue] {
        objects.filter { key, _ in key.resource == type.groupResource && (namespace == nil || key.namespace == namespace) }
            .sorted { ($0.key.namespace, $0.key.name) < ($1.key.namespace, $1.key.name) }
            .map(\.value)
    }

    // MARK: Writes

    /// Creates an object; with `dryRun`, returns what would be stored and changes nothing.
    mutating func create(_ type: ResourceType, namespace: String?, object body: JSONValue, dryRun: Bool) throws -> JSONValue {
        var object = try StoreContents.normalize(body, as: type, namespace: namespace)
        var name = object[path: ["metadata", "name"]]?.stringValue ?? ""
        if name.isEmpty, let prefix = object[path: ["metadata", "generateName"]]?.stringValue, !prefix.isEmpty {
            name = prefix + StoreContents.randomSuffix()
            object[path: ["metadata", "name"]] = .string(name)
        }
        guard !name.isEmpty else {
            throw StatusError.invalid(type, name: "", causes: [.required("metadata.name", "name or generateName is required")])
        }
        if let version = object[path: ["metadata", "resourceVersion"]]?.stringValue, !version.isEmpty {
            throw StatusError(code: 500, reason: "InternalError",
                              message: "Internal error occurred: resourceVersion should not be set on objects to be created")
        }
        if objects[StoreContents.key(type, namespace, name)] != nil { throw StatusError.alreadyExists(type, name: name) }
        object[path: ["metadata", "uid"]] = .string(UUID().uuidString.lowercased())
        object[path: ["metadata", "creationTimestamp"]] = .string(StoreContents.timestamp(Date(timeIntervalSince1970: clock.now())))
        if type.hasSpec { object[path: ["metadata", "generation"]] = 1 }
        StoreContents.applyDefaults(&object, as: type)
        try StoreContents.validate(object, as: type)
        StoreContents.rollOut(&object, as: type)
        if dryRun { return object }
        if type.namespaced, let namespace { ensureNamespace(namespace) }
        return store(object, as: type)
    }

    /// Replaces an object. A body carrying `metadata.resourceVersion` is a precondition; `force`
    /// bumps the version even when nothing changed, as another writer's update would.
    mutating func update(_ type: ResourceType, namespace: String?, name: String, object body: JSONValue,
                         dryRun: Bool, force: Bool = false) throws -> (object: JSONValue, created: Bool) {
        var object = try StoreContents.normalize(body, as: type, namespace: namespace)
        let bodyName = object[path: ["metadata", "name"]]?.stringValue ?? ""
        if bodyName.isEmpty {
            object[path: ["metadata", "name"]] = .string(name)
        } else if bodyName != name {
            throw StatusError.badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        guard let existing = objects[StoreContents.key(type, namespace, name)] else {
            guard type.allowCreateOnUpdate else { throw StatusError.notFound(type, name: name) }
            object[path: ["metadata", "resourceVersion"]] = nil
            return (try create(type, namespace: namespace, object: object, dryRun: dryRun), true)
        }
        let stored = existing[path: ["metadata", "resourceVersion"]]
        if let version = object[path: ["metadata", "resourceVersion"]]?.stringValue, !version.isEmpty, .string(version) != stored {
            throw StatusError.conflict(type, name: name)
        }
        // Fields the server owns: a client cannot change them with an update.
        for field in ["uid", "creationTimestamp", "generation", "resourceVersion"] {
            object[path: ["metadata", field]] = existing[path: ["metadata", field]]
        }
        if type.hasSpec {
            // The main resource does not write status (the status subresource does), as on a real server.
            object["status"] = existing["status"]
        }
        StoreContents.applyDefaults(&object, as: type)
        if type.hasSpec, object["spec"] != existing["spec"] {
            object[path: ["metadata", "generation"]] = .number(Double((existing[path: ["metadata", "generation"]]?.intValue ?? 0) + 1))
        }
        try StoreContents.validate(object, as: type)
        StoreContents.rollOut(&object, as: type)
        if (object == existing && !force) || dryRun { return (object, false) }
        return (store(object, as: type), false)
    }

    /// Deletes an object; deleting a namespace deletes everything in it.
    mutating func delete(_ type: ResourceType, namespace: String?, name: String, precondition: String?, dryRun: Bool) throws -> JSONValue {
        let key = StoreContents.key(type, namespace, name)
        guard let existing = objects[key] else { throw StatusError.notFound(type, name: name) }
        if let precondition, .string(precondition) != existing[path: ["metadata", "resourceVersion"]] {
            throw StatusError.conflict(type, name: name, because: "the ResourceVersion in the precondition (\(precondition)) does not match the ResourceVersion in record (\(existing[path: ["metadata", "resourceVersion"]]?.stringValue ?? "")). The object might have been modified")
        }
        if dryRun { return existing }
        objects[key] = nil
        if type == ResourceCatalog.namespaces {
            objects = objects.filter { $0.key.namespace != name }
        }
        counter += 1
        return existing
    }

    private mutating func store(_ object: JSONValue, as type: ResourceType) -> JSONValue {
        counter += 1
        var object = object
        object[path: ["metadata", "resourceVersion"]] = .string(resourceVersion)
        let name = object[path: ["metadata", "name"]]?.stringValue ?? ""
        objects[StoreContents.key(type, object[path: ["metadata", "namespace"]]?.stringValue, name)] = object
        return object
    }

    /// A namespace exists once something is in it, so that seeding and tests need not create it first.
    private mutating func ensureNamespace(_ namespace: String) {
        let type = ResourceCatalog.namespaces
        guard objects[StoreContents.key(type, nil, namespace)] == nil else { return }
        _ = try? create(type, namespace: nil, object: ["metadata": ["name": .string(namespace)]], dryRun: false)
    }

    // MARK: Object shape

    /// The body checked against the URL and given its kind and apiVersion.
    static func normalize(_ body: JSONValue, as type: ResourceType, namespace: String?) throws -> JSONValue {
        guard case .object = body else { throw StatusError.badRequest("the body of the request must be a JSON object") }
        var object = body
        if let kind = object["kind"]?.stringValue, !kind.isEmpty, kind != type.kind {
            throw StatusError.badRequest("the kind in the data (\(kind)) does not match the expected kind (\(type.kind))")
        }
        if let version = object["apiVersion"]?.stringValue, !version.isEmpty, version != type.apiVersion {
            throw StatusError.badRequest("the API version in the data (\(version)) does not match the expected API version (\(type.apiVersion))")
        }
        object["kind"] = .string(type.kind)
        object["apiVersion"] = .string(type.apiVersion)
        if object["metadata"]?.objectValue == nil { object["metadata"] = .object([:]) }
        if type.namespaced {
            let declared = object[path: ["metadata", "namespace"]]?.stringValue ?? ""
            if !declared.isEmpty, declared != namespace {
                throw StatusError.badRequest("the namespace of the provided object does not match the namespace sent on the request")
            }
            object[path: ["metadata", "namespace"]] = .string(namespace ?? "")
        } else {
            object[path: ["metadata", "namespace"]] = nil
        }
        return object
    }

    static func validate(_ object: JSONValue, as type: ResourceType) throws {
        let causes = Validation.causes(object, as: type)
        guard causes.isEmpty else {
            throw StatusError.invalid(type, name: object[path: ["metadata", "name"]]?.stringValue ?? "", causes: causes)
        }
    }

    static func applyDefaults(_ object: inout JSONValue, as type: ResourceType) {
        if type.rollsOut, object[path: ["spec", "replicas"]] == nil || object[path: ["spec", "replicas"]] == .null {
            object[path: ["spec", "replicas"]] = 1
        }
        if type == ResourceCatalog.horizontalPodAutoscalers, object[path: ["spec", "minReplicas"]] == nil {
            object[path: ["spec", "minReplicas"]] = 1
        }
        if type == ResourceCatalog.namespaces {
            object[path: ["spec", "finalizers"]] = ["kubernetes"]
            object[path: ["status", "phase"]] = "Active"
        }
    }

    /// The annotation that holds a workload's rollout where it is (see `rollOut`).
    static let stuckRolloutAnnotation = "sandbox.trimtab.io/rollout-stuck"

    /// The instant rollout: every replica is at once ready, available and up to date.
    static func rollOut(_ object: inout JSONValue, as type: ResourceType) {
        guard type.rollsOut, let replicas = object[path: ["spec", "replicas"]] else { return }
        for field in ["replicas", "readyReplicas", "availableReplicas", "updatedReplicas"] {
            object[path: ["status", field]] = replicas
        }
        // A rollout that cannot progress (its new pods never become ready), for the tests: the
        // controller sees the new generation, and no pod runs it.
        if object[path: ["metadata", "annotations", stuckRolloutAnnotation]]?.stringValue == "true" {
            object[path: ["status", "updatedReplicas"]] = 0
        }
        if type == ResourceCatalog.statefulSets { object[path: ["status", "currentReplicas"]] = replicas }
        let generation = object[path: ["metadata", "generation"]] ?? 1
        if type == ResourceCatalog.rollouts {
            // Argo Rollouts keeps observedGeneration as a string, and its HPA-facing count apart. Where
            // an update stands (currentPodHash, stableRS, steps) is the Rollout controller's, left as written.
            object[path: ["status", "HPAReplicas"]] = replicas
            object[path: ["status", "observedGeneration"]] = .string(generation.intValue.map(String.init) ?? "1")
        } else {
            object[path: ["status", "observedGeneration"]] = generation
        }
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    /// Five characters from the alphabet Kubernetes uses for generated names (no vowels, no look-alikes).
    static func randomSuffix() -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return String((0..<5).map { _ in alphabet.randomElement()! })
    }
}
