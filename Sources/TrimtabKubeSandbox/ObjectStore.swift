import TrimtabCycle
import NIOConcurrencyHelpers

/// The sandbox's objects, for tests to read and change directly: no authentication, no faults,
/// but the same write semantics as requests through the API (resourceVersion, generation,
/// validation, instant rollout).
///
/// Objects are named by `apiVersion` and `kind` as in a manifest, such as `"apps/v1"`, `"Deployment"`.
public final class ObjectStore: Sendable {
    let contents: NIOLockedValueBox<StoreContents>
    /// The server's own clock: creation timestamps and the ages `kubectl get` shows.
    let clock: any TimeSource

    init(clock: any TimeSource = SystemClock()) {
        self.clock = clock
        contents = NIOLockedValueBox(StoreContents(clock: clock))
    }

    /// The current value of the global resourceVersion counter.
    public var resourceVersion: String { contents.withLockedValue { $0.resourceVersion } }

    /// The stored object, or nil. `namespace` is ignored for cluster-scoped kinds.
    public func object(apiVersion: String, kind: String, namespace: String?, name: String) -> JSONValue? {
        guard let type = ResourceCatalog.find(apiVersion: apiVersion, kind: kind) else { return nil }
        return contents.withLockedValue { try? $0.get(type, namespace: namespace, name: name) }
    }

    /// The stored objects of a kind, in one namespace or (nil) all, ordered by namespace and name.
    public func objects(apiVersion: String, kind: String, namespace: String? = nil) -> [JSONValue] {
        guard let type = ResourceCatalog.find(apiVersion: apiVersion, kind: kind) else { return [] }
        return contents.withLockedValue { $0.list(type, namespace: namespace) }
    }

    /// Creates the object, or replaces the stored one of the same kind, namespace and name (any
    /// `resourceVersion` in it is ignored). Bumps the resourceVersion; returns the stored object.
    /// Throws a ``StatusError`` when the object is invalid or of a kind the sandbox does not serve.
    @discardableResult
    public func apply(_ object: JSONValue) throws -> JSONValue {
        let type = try ObjectStore.type(of: object)
        var object = object
        object[path: ["metadata", "resourceVersion"]] = nil
        let namespace = object[path: ["metadata", "namespace"]]?.stringValue ?? (type.namespaced ? "default" : nil)
        let name = object[path: ["metadata", "name"]]?.stringValue ?? ""
        return try contents.withLockedValue { contents in
            if (try? contents.get(type, namespace: namespace, name: name)) != nil {
                return try contents.update(type, namespace: namespace, name: name, object: object, dryRun: false).object
            }
            return try contents.create(type, namespace: namespace, object: object, dryRun: false)
        }
    }

    /// Changes a stored object as a concurrent writer would: the change is validated and stored,
    /// and the resourceVersion is bumped even when nothing changed, so that a client holding the
    /// old version gets 409 Conflict on its next conditional write. Returns the stored object.
    @discardableResult
    public func mutate(apiVersion: String, kind: String, namespace: String?, name: String,
                       _ change: (inout JSONValue) throws -> Void) throws -> JSONValue {
        guard let type = ResourceCatalog.find(apiVersion: apiVersion, kind: kind) else {
            throw StatusError.badRequest("no kind \"\(kind)\" is registered for version \"\(apiVersion)\"")
        }
        return try contents.withLockedValue { contents in
            var object = try contents.get(type, namespace: namespace, name: name)
            try change(&object)
            object[path: ["metadata", "resourceVersion"]] = nil
            return try contents.update(type, namespace: namespace, name: name, object: object, dryRun: false, force: true).object
        }
    }

    /// Deletes a stored object; throws NotFound when there is none.
    public func delete(apiVersion: String, kind: String, namespace: String?, name: String) throws {
        guard let type = ResourceCatalog.find(apiVersion: apiVersion, kind: kind) else {
            throw StatusError.badRequest("no kind \"\(kind)\" is registered for version \"\(apiVersion)\"")
        }
        _ = try contents.withLockedValue { try $0.delete(type, namespace: namespace, name: name, precondition: nil, dryRun: false) }
    }

    static func type(of object: JSONValue) throws -> ResourceType {
        let apiVersion = object["apiVersion"]?.stringValue ?? ""
        let kind = object["kind"]?.stringValue ?? ""
        guard let type = ResourceCatalog.find(apiVersion: apiVersion, kind: kind) else {
            throw StatusError.badRequest("no kind \"\(kind)\" is registered for version \"\(apiVersion)\"")
        }
        return type
    }
}
