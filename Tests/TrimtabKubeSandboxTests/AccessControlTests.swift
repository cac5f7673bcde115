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
}
