/// What a bearer token may do, as RBAC would grant it: a user name and allowing rules.
public struct Grant: Sendable, Equatable {
    /// The user name the API server reports in Forbidden messages, such as
    /// `system:serviceaccount:trimtab:trimtab`.
    public var user: String
    public var rules: [PolicyRule]

    public init(user: String, rules: [PolicyRule]) {
        self.user = user
        self.rules = rules
    }

    /// Everything, everywhere, like `cluster-admin`.
    public static func admin(user: String = "kubernetes-admin") -> Grant {
        Grant(user: user, rules: [PolicyRule(verbs: ["*"], apiGroups: ["*"], resources: ["*"])])
    }

    /// Reading only (get, list, watch) everything, everywhere, like the `view` role.
    public static func viewer(user: String) -> Grant {
        Grant(user: user, rules: [PolicyRule(verbs: ["get", "list", "watch"], apiGroups: ["*"], resources: ["*"])])
    }

    /// Whether the rules allow a verb on a resource (`deployments`, `deployments/scale`) of a group
    /// (`""` for core) in a namespace (nil for a cluster-scoped request), on the object `name` (nil
    /// for requests that name none: list, watch and create).
    public func allows(verb: String, apiGroup: String, resource: String, namespace: String?, name: String? = nil) -> Bool {
        rules.contains { $0.allows(verb: verb, apiGroup: apiGroup, resource: resource, namespace: namespace, name: name) }
    }
}

/// One allowing rule, like an RBAC PolicyRule bound in some namespaces. `"*"` matches anything;
/// in `resources`, `"deployments/*"` matches every subresource of deployments and `"*/scale"` the
/// scale subresource of anything, while `"deployments"` alone does not cover `"deployments/scale"`.
public struct PolicyRule: Sendable, Equatable {
    public var verbs: [String]
    /// API groups; `""` is the core group.
    public var apiGroups: [String]
    public var resources: [String]
    /// The namespaces the rule applies in, as if bound by a RoleBinding in each; empty means all
    /// namespaces and cluster-scoped requests, as a ClusterRoleBinding would.
    public var namespaces: [String]
    /// The objects the rule is limited to; empty means any. As in RBAC, a rule with names never
    /// allows a request that names no object: create, list, watch.
    public var resourceNames: [String]

    public init(verbs: [String], apiGroups: [String], resources: [String], namespaces: [String] = [], resourceNames: [String] = []) {
        self.verbs = verbs
        self.apiGroups = apiGroups
        self.resources = resources
        self.namespaces = namespaces
        self.resourceNames = resourceNames
    }

    func allows(verb: String, apiGroup: String, resource: String, namespace: String?, name: String? = nil) -> Bool {
        guard verbs.contains("*") || verbs.contains(verb) else { return false }
        guard apiGroups.contains("*") || apiGroups.contains(apiGroup) else { return false }
        if !namespaces.isEmpty {
            guard let namespace, namespaces.contains(namespace) else { return false }
        }
        if !resourceNames.isEmpty {
            guard let name, resourceNames.contains(name) else { return false }
        }
        return resources.contains { pattern in
            if pattern == "*" || pattern == resource { return true }
            if pattern.hasSuffix("/*"), resource.hasPrefix(pattern.dropLast()) { return true }
            if pattern.hasPrefix("*/"), resource.contains("/"), resource.hasSuffix(pattern.dropFirst()) { return true }
            return false
        }
    }
}

extension StatusError {
    /// The Forbidden answer, worded exactly as the API server words an RBAC denial.
    static func forbidden(user: String, verb: String, type: ResourceType, subresource: String?,
                          name: String?, namespace: String?) -> StatusError {
        let resource = subresource.map { "\(type.plural)/\($0)" } ?? type.plural
        let subject = name.map { "\(type.groupResource) \"\($0)\"" } ?? type.groupResource
        let scope = namespace.map { "in the namespace \"\($0)\"" } ?? "at the cluster scope"
        return StatusError(code: 403, reason: "Forbidden",
                           message: "\(subject) is forbidden: User \"\(user)\" cannot \(verb) resource \"\(resource)\" in API group \"\(type.group)\" \(scope)",
                           details: details(type, name: name))
    }
}
