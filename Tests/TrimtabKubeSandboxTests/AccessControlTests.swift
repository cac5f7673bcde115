import Testing
import TrimtabKubeSandbox

@Suite("Authentication and authorization")
struct AccessControlTests {
    static let trimtabUser = "system:serviceaccount:trimtab:trimtab"

    /// Trimtab's service account: reads deployments and patches their scale in `shop` only.
    static var configuration: KubeSandbox.Configuration {
        var configuration = KubeSandbox.Configuration.demo
        configuration.grants["trimtab-token"] = Grant(user: trimtabUser, rules: [
            PolicyRule(verbs: ["get", "list"], apiGroups: ["apps"], resources: ["deployments"], namespaces: ["shop"]),
            PolicyRule(verbs: ["get"], apiGroups: ["apps"], resources: ["deployments/scale"], namespaces: ["shop"]),
        ])
        return configuration
    }

    @Test("no token or an unknown token is 401 Unauthorized", arguments: [nil, "wrong-token"] as [String?])
    func unauthorized(token: String?) async throws {
        try await withSandbox { sandbox, client in
            for path in [Paths.checkout, "/version", "/api"] {
                let reply = try await client.with(token: token).get(path)
                #expect(reply.status == 401)
                #expect(reply.json == ["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure",
                                       "message": "Unauthorized", "reason": "Unauthorized", "code": 401])
            }
            #expect(sandbox.requests.allSatisfy { $0.hadAuthorization == (token != nil) })
        }
    }

    @Test("denials are worded exactly as Kubernetes words them", arguments: [
        ("PATCH", Paths.deployments + "/api/scale",
         #"deployments.apps "api" is forbidden: User "system:serviceaccount:trimtab:trimtab" cannot patch resource "deployments/scale" in API group "apps" in the namespace "shop""#),
        ("GET", "/apis/apps/v1/namespaces/other/deployments",
         #"deployments.apps is forbidden: User "system:serviceaccount:trimtab:trimtab" cannot list resource "deployments" in API group "apps" in the namespace "other""#),
        ("GET", Paths.configMaps + "/shop-config",
         #"configmaps "shop-config" is forbidden: User "system:serviceaccount:trimtab:trimtab" cannot get resource "configmaps" in API group "" in the namespace "shop""#),
        ("GET", "/apis/apps/v1/deployments",
         #"deployments.apps is forbidden: User "system:serviceaccount:trimtab:trimtab" cannot list resource "deployments" in API group "apps" at the cluster scope"#),
        ("POST", Paths.deployments,
         #"deployments.apps is forbidden: User "system:serviceaccount:trimtab:trimtab" cannot create resource "deployments" in API group "apps" in the namespace "shop""#),
        ("PUT", Paths.checkout,
         #"deployments.apps "checkout" is forbidden: User "system:serviceaccount:trimtab:trimtab" cannot update resource "deployments" in API group "apps" in the namespace "shop""#),
        ("DELETE", Paths.checkout,
         #"deployments.apps "checkout" is forbidden: User "system:serviceaccount:trimtab:trimtab" cannot delete resource "deployments" in API group "apps" in the namespace "shop""#),
    ])
    func forbidden(method: String, path: String, message: String) async throws {
        try await withSandbox(AccessControlTests.configuration) { sandbox, client in
            let before = sandbox.store.resourceVersion
            let reply = try await client.with(token: "trimtab-token").send(method, path, json: ["spec": ["replicas": 1]],
                                                                           contentType: "application/merge-patch+json")
            #expect(reply.status == 403)
            #expect(reply.json["reason"] == "Forbidden")
            #expect(reply.json["message"] == .string(message))
            #expect(reply.json["code"] == 403)
            #expect(sandbox.store.resourceVersion == before)
        }
    }

    @Test("what the rules allow goes through, discovery needs only a valid token")
    func allowed() async throws {
        try await withSandbox(AccessControlTests.configuration) { _, client async throws in
            let trimtab = client.with(token: "trimtab-token")
            #expect(try await trimtab.get(Paths.deployments).status == 200)
            #expect(try await trimtab.get(Paths.checkoutScale).status == 200)
            for path in ["/version", "/api", "/api/v1", "/apis", "/apis/apps/v1"] {
                #expect(try await trimtab.get(path).status == 200)
            }
        }
    }

    @Test("a /token/TOKEN path prefix authenticates when no Authorization header is sent, as kubectl needs over http")
    func pathToken() async throws {
        try await withSandbox { sandbox, client in
            let anonymous = client.with(token: nil)
            #expect(try await anonymous.get("/token/\(KubeSandbox.viewerToken)" + Paths.checkout).status == 200)
            let refused = try await anonymous.patch("/token/\(KubeSandbox.viewerToken)" + Paths.checkoutScale, ["spec": ["replicas": 1]])
            #expect(refused.status == 403)
            #expect(try await anonymous.get("/token/wrong" + Paths.checkout).status == 401)
            // An Authorization header wins over the path.
            #expect(try await client.patch("/token/\(KubeSandbox.viewerToken)" + Paths.checkoutScale, ["spec": ["replicas": 1]]).status == 200)
            let log = sandbox.requests
            #expect(log.allSatisfy { $0.path.hasPrefix("/apis/apps/v1/") && $0.hadPathToken })
            #expect(!String(describing: log).contains(KubeSandbox.viewerToken))
            #expect(sandbox.kubeconfig(token: "t", namespace: "shop").contains("server: \"\(sandbox.url)/token/t\""))
            #expect(sandbox.kubeconfig(token: "t", tokenInServerPath: false).contains("server: \"\(sandbox.url)\""))
        }
    }

    @Test("the demo's viewer token reads but cannot scale")
    func viewer() async throws {
        try await withSandbox { _, client in
            let viewer = client.with(token: KubeSandbox.viewerToken)
            #expect(try await viewer.get(Paths.checkout).status == 200)
            let reply = try await viewer.patch(Paths.checkoutScale, ["spec": ["replicas": 9]])
            #expect(reply.status == 403)
            #expect(reply.json["message"] == #"deployments.apps "checkout" is forbidden: User "system:serviceaccount:shop:viewer" cannot patch resource "deployments/scale" in API group "apps" in the namespace "shop""#)
        }
    }

    @Test("rules match like RBAC", arguments: [
        (PolicyRule(verbs: ["patch"], apiGroups: ["apps"], resources: ["deployments"]), "deployments/scale", false),
        (PolicyRule(verbs: ["patch"], apiGroups: ["apps"], resources: ["deployments/*"]), "deployments/scale", true),
        (PolicyRule(verbs: ["patch"], apiGroups: ["apps"], resources: ["*/scale"]), "deployments/scale", true),
        (PolicyRule(verbs: ["patch"], apiGroups: ["apps"], resources: ["*/scale"]), "deployments", false),
        (PolicyRule(verbs: ["*"], apiGroups: ["*"], resources: ["*"]), "deployments/scale", true),
        (PolicyRule(verbs: ["get"], apiGroups: ["apps"], resources: ["*"]), "deployments", false),
        (PolicyRule(verbs: ["patch"], apiGroups: [""], resources: ["*"]), "deployments", false),
        (PolicyRule(verbs: ["patch"], apiGroups: ["apps"], resources: ["*"], namespaces: ["other"]), "deployments", false),
    ])
    func ruleMatching(rule: PolicyRule, resource: String, allowed: Bool) {
        let grant = Grant(user: "u", rules: [rule])
        #expect(grant.allows(verb: "patch", apiGroup: "apps", resource: resource, namespace: "shop") == allowed)
    }

    @Test("resourceNames limit a rule to named objects, and never allow what names none")
    func resourceNames() {
        let grant = Grant(user: "u", rules: [PolicyRule(verbs: ["get", "patch", "create", "list"], apiGroups: [""], resources: ["configmaps"],
                                                        namespaces: ["trimtab"], resourceNames: ["trimtab-journal"])])
        #expect(grant.allows(verb: "patch", apiGroup: "", resource: "configmaps", namespace: "trimtab", name: "trimtab-journal"))
        #expect(!grant.allows(verb: "patch", apiGroup: "", resource: "configmaps", namespace: "trimtab", name: "other"))
        #expect(!grant.allows(verb: "create", apiGroup: "", resource: "configmaps", namespace: "trimtab", name: nil))
        #expect(!grant.allows(verb: "list", apiGroup: "", resource: "configmaps", namespace: "trimtab", name: nil))
    }

    @Test("RBAC objects resolve as the authorizer reads them: cluster-wide, per binding namespace, by subject")
    func rbacObjects() throws {
        let clusterRole: JSONValue = ["apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": ["name": "reader"],
                                      "rules": [["apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["list"]],
                                                ["nonResourceURLs": ["/metrics"], "verbs": ["get"]]]]
        let role: JSONValue = ["apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": ["name": "self", "namespace": "trimtab"],
                               "rules": [["apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["journal"], "verbs": ["get"]]]]
        func binding(_ kind: String, namespace: String?, role: String, roleKind: String, subject: JSONValue) -> JSONValue {
            var metadata: JSONValue = ["name": .string("b-\(role)")]
            if let namespace { metadata["namespace"] = .string(namespace) }
            return ["apiVersion": "rbac.authorization.k8s.io/v1", "kind": .string(kind), "metadata": metadata,
                    "roleRef": ["apiGroup": "rbac.authorization.k8s.io", "kind": .string(roleKind), "name": .string(role)], "subjects": [subject]]
        }
        let trimtab: JSONValue = ["kind": "ServiceAccount", "name": "trimtab", "namespace": "trimtab"]
        // A ClusterRole bound in one namespace by a RoleBinding, a Role in its own namespace.
        var documents = [clusterRole, role,
                         binding("RoleBinding", namespace: "shop", role: "reader", roleKind: "ClusterRole", subject: trimtab),
                         binding("RoleBinding", namespace: "trimtab", role: "self", roleKind: "Role", subject: trimtab)]
        var grant = try RBACObjects.grant(serviceAccount: "trimtab", namespace: "trimtab", documents: documents)
        #expect(grant.user == "system:serviceaccount:trimtab:trimtab")
        #expect(grant.allows(verb: "list", apiGroup: "apps", resource: "deployments", namespace: "shop"))
        #expect(!grant.allows(verb: "list", apiGroup: "apps", resource: "deployments", namespace: "kube-system"))
        #expect(grant.allows(verb: "get", apiGroup: "", resource: "configmaps", namespace: "trimtab", name: "journal"))
        #expect(!grant.allows(verb: "get", apiGroup: "", resource: "configmaps", namespace: "shop", name: "journal"))
        // Bound cluster-wide, it holds everywhere; another service account holds nothing.
        documents.append(binding("ClusterRoleBinding", namespace: nil, role: "reader", roleKind: "ClusterRole", subject: trimtab))
        grant = try RBACObjects.grant(serviceAccount: "trimtab", namespace: "trimtab", documents: documents)
        #expect(grant.allows(verb: "list", apiGroup: "apps", resource: "deployments", namespace: "kube-system"))
        #expect(try RBACObjects.grant(serviceAccount: "other", namespace: "trimtab", documents: documents).rules.isEmpty)
        // A binding to a role that does not exist grants nothing, as on a cluster; one that names a Role cluster-wide is refused.
        let dangling = try RBACObjects.grant(serviceAccount: "trimtab", namespace: "trimtab",
                                             documents: [binding("RoleBinding", namespace: "shop", role: "missing", roleKind: "Role", subject: trimtab)])
        #expect(dangling.rules.isEmpty)
        #expect(throws: RBACObjects.Invalid.self) {
            try RBACObjects.grant(serviceAccount: "trimtab", namespace: "trimtab",
                                  documents: [binding("ClusterRoleBinding", namespace: nil, role: "self", roleKind: "Role", subject: trimtab)])
        }
    }
}
