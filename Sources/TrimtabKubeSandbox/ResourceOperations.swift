/// The verbs on one resource target, each atomic under the store's lock, including the `scale`
/// subresource, which reads and writes the parent workload's `spec.replicas`.
struct ResourceOperations {
    let store: ObjectStore
    let target: ResourceTarget
    let dryRun: Bool

    private var type: ResourceType { target.type }
    private var name: String { target.name ?? "" }

    /// How Invalid messages name a Scale: `Scale.autoscaling "api" is invalid: ...`.
    static let scaleType = ResourceType(group: "autoscaling", version: "v1", plural: "scale", singular: "scale",
                                        kind: "Scale", namespaced: true)

    func get() throws -> JSONValue {
        let object = try store.contents.withLockedValue { try $0.get(type, namespace: target.namespace, name: name) }
        return target.subresource == "scale" ? ResourceOperations.scale(of: object) : object
    }

    func list(labelSelector: String?, fieldSelector: String?) throws -> (items: [JSONValue], resourceVersion: String) {
        let labels = try LabelSelector(parsing: labelSelector ?? "")
        let fields = try FieldSelector(parsing: fieldSelector ?? "", for: type)
        let (items, version) = store.contents.withLockedValue { ($0.list(type, namespace: target.namespace), $0.resourceVersion) }
        let selected = items.filter { object in
            let objectLabels = (object[path: ["metadata", "labels"]]?.objectValue ?? [:]).compactMapValues(\.stringValue)
            return labels.matches(objectLabels) && fields.matches(object)
        }
        return (selected, version)
    }

    func create(_ body: JSONValue) throws -> JSONValue {
        try store.contents.withLockedValue { try $0.create(type, namespace: target.namespace, object: body, dryRun: dryRun) }
    }

    func update(_ body: JSONValue) throws -> (object: JSONValue, created: Bool) {
        try store.contents.withLockedValue { contents in
            if target.subresource == "scale" {
                return (try writeScale(body, contents: &contents), false)
            }
            return try contents.update(type, namespace: target.namespace, name: name, object: body, dryRun: dryRun)
        }
    }

    /// Applies the patch to the stored object (or its Scale) and writes the result as an update, so a
    /// `metadata.resourceVersion` in the patch is a precondition exactly as in a PUT.
    func patch(_ patch: JSONValue, as patchType: PatchType) throws -> JSONValue {
        try store.contents.withLockedValue { contents in
            let existing = try contents.get(type, namespace: target.namespace, name: name)
            if target.subresource == "scale" {
                let patched = try patchType.apply(patch, to: ResourceOperations.scale(of: existing))
                return try writeScale(patched, contents: &contents)
            }
            let patched = try patchType.apply(patch, to: existing)
            return try contents.update(type, namespace: target.namespace, name: name, object: patched, dryRun: dryRun).object
        }
    }

    func delete(precondition: String?) throws -> JSONValue {
        try store.contents.withLockedValue {
            try $0.delete(type, namespace: target.namespace, name: name, precondition: precondition, dryRun: dryRun)
        }
    }

    func deleteCollection(labelSelector: String?, fieldSelector: String?) throws -> [JSONValue] {
        let (items, _) = try list(labelSelector: labelSelector, fieldSelector: fieldSelector)
        return store.contents.withLockedValue { contents in
            items.compactMap { item in
                guard let itemName = item[path: ["metadata", "name"]]?.stringValue else { return nil }
                return try? contents.delete(type, namespace: target.namespace, name: itemName, precondition: nil, dryRun: dryRun)
            }
        }
    }

    // MARK: Scale subresource

    /// The `autoscaling/v1` Scale of a workload; its metadata is the parent's.
    static func scale(of object: JSONValue) -> JSONValue {
        var metadata: JSONValue = [:]
        for field in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] {
            metadata[field] = object[path: ["metadata", field]]
        }
        let replicas = object[path: ["spec", "replicas"]] ?? 1
        return ["kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": metadata,
                "spec": ["replicas": replicas],
                "status": ["replicas": object[path: ["status", "replicas"]] ?? replicas,
                           "selector": .string(TableRendering.selectorText(object))]]
    }

    /// Writes a Scale through to its parent: a stale resourceVersion is a Conflict on the parent,
    /// and absent replicas mean zero, as Go's int32 default makes them on a real server.
    private func writeScale(_ scale: JSONValue, contents: inout StoreContents) throws -> JSONValue {
        guard case .object = scale else { throw StatusError.badRequest("the body of the request must be a JSON object") }
        var parent = try contents.get(type, namespace: target.namespace, name: name)
        let stored = parent[path: ["metadata", "resourceVersion"]]
        if let version = scale[path: ["metadata", "resourceVersion"]]?.stringValue, !version.isEmpty, .string(version) != stored {
            throw StatusError.conflict(type, name: name)
        }
        let replicas = scale[path: ["spec", "replicas"]] ?? 0
        let causes = Validation.replicasCauses(replicas, field: "spec.replicas")
        guard causes.isEmpty else { throw StatusError.invalid(ResourceOperations.scaleType, name: name, causes: causes) }
        parent[path: ["spec", "replicas"]] = replicas
        let updated = try contents.update(type, namespace: target.namespace, name: name, object: parent, dryRun: dryRun).object
        return ResourceOperations.scale(of: updated)
    }
}
