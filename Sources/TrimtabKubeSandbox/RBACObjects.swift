/// RBAC objects (Roles, ClusterRoles and their bindings, as `kubectl kustomize` renders them) turned
/// into the ``Grant`` of one subject, the way the API server's RBAC authorizer reads them: a
/// ClusterRoleBinding grants its ClusterRole everywhere; a RoleBinding grants its Role, or a
/// ClusterRole, in the binding's namespace only. A binding whose role is missing grants nothing,
/// as on a real cluster. Documents of other kinds are ignored.
public enum RBACObjects {
    /// Something in the RBAC documents that is not what Kubernetes accepts.
    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    /// What the service account `namespace/name` may do under `documents`.
    public static func grant(serviceAccount name: String, namespace: String, documents: [JSONValue]) throws(Invalid) -> Grant {
        let user = "system:serviceaccount:\(namespace):\(name)"
        var rules: [PolicyRule] = []
        for document in documents {
            let kind = document["kind"]?.stringValue
            guard kind == "RoleBinding" || kind == "ClusterRoleBinding" else { continue }
            guard document["apiVersion"]?.stringValue == "rbac.authorization.k8s.io/v1" else {
                throw Invalid(description: "\(kind ?? "?") \(label(document)): apiVersion is not rbac.authorization.k8s.io/v1")
            }
            let subjects = document["subjects"]?.arrayValue ?? []
            guard subjects.contains(where: { names($0, user: user, serviceAccount: name, namespace: namespace, binding: document) }) else { continue }
            guard let roleKind = document[path: ["roleRef", "kind"]]?.stringValue,
                  let roleName = document[path: ["roleRef", "name"]]?.stringValue else {
                throw Invalid(description: "\(kind ?? "?") \(label(document)): roleRef needs kind and name")
            }
            let bindingNamespace = document[path: ["metadata", "namespace"]]?.stringValue
            if kind == "RoleBinding" {
                guard let bindingNamespace else { throw Invalid(description: "RoleBinding \(label(document)) has no namespace") }
                if roleKind == "ClusterRole" {
                    rules += try roleRules(documents, kind: "ClusterRole", name: roleName, namespace: nil, boundIn: [bindingNamespace])
                } else if roleKind == "Role" {
                    rules += try roleRules(documents, kind: "Role", name: roleName, namespace: bindingNamespace, boundIn: [bindingNamespace])
                } else {
                    throw Invalid(description: "RoleBinding \(label(document)): roleRef.kind \(roleKind) is neither Role nor ClusterRole")
                }
            } else {
                guard roleKind == "ClusterRole" else {
                    throw Invalid(description: "ClusterRoleBinding \(label(document)): roleRef.kind must be ClusterRole, not \(roleKind)")
                }
                rules += try roleRules(documents, kind: "ClusterRole", name: roleName, namespace: nil, boundIn: [])
            }
        }
        return Grant(user: user, rules: rules)
    }

    /// Whether a binding's subject is the service account, by name, by its user name, or by one of
    /// the groups every service account belongs to.
    private static func names(_ subject: JSONValue, user: String, serviceAccount: String, namespace: String, binding: JSONValue) -> Bool {
        let name = subject["name"]?.stringValue
        switch subject["kind"]?.stringValue {
        case "ServiceAccount":
            // A ServiceAccount subject without a namespace means the binding's own (kubectl create rolebinding does so).
            let subjectNamespace = subject["namespace"]?.stringValue ?? binding[path: ["metadata", "namespace"]]?.stringValue
            return name == serviceAccount && subjectNamespace == namespace
        case "User":
            return name == user
        case "Group":
            return ["system:serviceaccounts", "system:serviceaccounts:\(namespace)", "system:authenticated"].contains(name ?? "")
        default:
            return false
        }
    }

    private static func roleRules(_ documents: [JSONValue], kind: String, name: String, namespace: String?,
                                  boundIn namespaces: [String]) throws(Invalid) -> [PolicyRule] {
        guard let role = documents.first(where: {
            $0["kind"]?.stringValue == kind && $0[path: ["metadata", "name"]]?.stringValue == name
                && (namespace == nil || $0[path: ["metadata", "namespace"]]?.stringValue == namespace)
        }) else { return [] }
        var rules: [PolicyRule] = []
        for (index, rule) in (role["rules"]?.arrayValue ?? []).enumerated() {
            func strings(_ key: String) throws(Invalid) -> [String] {
                guard let value = rule[key] else { return [] }
                guard let array = value.arrayValue else { throw Invalid(description: "\(kind) \(label(role)): rules[\(index)].\(key) is not a list") }
                var result: [String] = []
                for element in array {
                    guard let text = element.stringValue else { throw Invalid(description: "\(kind) \(label(role)): rules[\(index)].\(key) holds a non-string") }
                    result.append(text)
                }
                return result
            }
            // Rules for non-resource URLs (/healthz, /metrics) say nothing about API objects.
            let resources = try strings("resources")
            if resources.isEmpty { continue }
            rules.append(PolicyRule(verbs: try strings("verbs"), apiGroups: try strings("apiGroups"), resources: resources,
                                    namespaces: namespaces, resourceNames: try strings("resourceNames")))
        }
        return rules
    }

    private static func label(_ document: JSONValue) -> String {
        let name = document[path: ["metadata", "name"]]?.stringValue ?? "(no name)"
        return document[path: ["metadata", "namespace"]]?.stringValue.map { "\($0)/\(name)" } ?? name
    }
}
