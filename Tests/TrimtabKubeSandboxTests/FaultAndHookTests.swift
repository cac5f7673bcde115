import Foundation
import Testing
import TrimtabKubeSandbox

@Suite("Faults, the concurrent-writer hook and the request log")
struct FaultAndHookTests {
    @Test("a status fault answers its Status for `count` matching requests, then the server answers normally", arguments: [
        (429, "TooManyRequests", 2 as Int?),
        (500, "InternalError", nil),
        (503, "ServiceUnavailable", nil),
    ])
    func statusFault(code: Int, reason: String, retryAfter: Int?) async throws {
        try await withSandbox { sandbox, client in
            sandbox.inject(Fault(method: "GET", pathContaining: "/deployments/checkout", .status(code, retryAfterSeconds: retryAfter), count: 2))
            for _ in 0..<2 {
                let reply = try await client.get(Paths.checkout)
                #expect(reply.status == code)
                #expect(reply.json["kind"] == "Status")
                #expect(reply.json["reason"] == .string(reason))
                #expect(reply.json["code"] == .number(Double(code)))
                #expect(reply.headers["retry-after"] == retryAfter.map(String.init))
            }
            // Another method or path is not affected, and the fault is used up after two.
            #expect(try await client.get(Paths.deployments + "/cart").status == 200)
            #expect(try await client.get(Paths.checkout).status == 200)
            #expect(sandbox.requests.map(\.status) == [code, code, 200, 200])
        }
    }

    @Test("the 429 helper sets Retry-After and details.retryAfterSeconds")
    func tooManyRequests() async throws {
        try await withSandbox { sandbox, client in
            sandbox.inject(.tooManyRequests(retryAfterSeconds: 3, method: "PATCH"))
            let reply = try await client.patch(Paths.checkoutScale, ["spec": ["replicas": 5]])
            #expect(reply.status == 429)
            #expect(reply.headers["retry-after"] == "3")
            #expect(reply.json[path: ["details", "retryAfterSeconds"]] == 3)
            #expect(reply.json["message"] == "Too many requests, please try again later.")
            #expect(sandbox.object(apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "checkout")?[path: ["spec", "replicas"]] == 4)
            #expect(try await client.patch(Paths.checkoutScale, ["spec": ["replicas": 5]]).status == 200)
        }
    }

    @Test("a drop closes the connection without an answer")
    func drop() async throws {
        try await withSandbox { sandbox, client in
            sandbox.inject(Fault(pathContaining: "/deployments", .drop))
            try await Task.sleep(for: .milliseconds(1))
            await #expect(throws: (any Error).self) { _ = try await client.get(Paths.checkout) }
            #expect(try await client.get(Paths.checkout).status == 200)
            #expect(sandbox.requests.first?.status == nil)
            #expect(sandbox.requests.count == 2)
        }
    }

    @Test("latency delays the answer, then answers normally")
    func latency() async throws {
        try await withSandbox { sandbox, client in
            sandbox.inject(Fault(.latency(.milliseconds(400))))
            let clock = ContinuousClock()
            let start = clock.now
            let reply = try await client.get(Paths.checkout)
            let elapsed = clock.now - start
            #expect(reply.status == 200)
            #expect(elapsed >= .milliseconds(400))
            // The fault is used up: the next answer is not delayed (asserted by the count, not a
            // wall-clock bound, which a busy machine breaks).
            #expect(sandbox.pendingFaults == 0)
            #expect(try await client.get(Paths.checkout).status == 200)
        }
    }

    @Test("the concurrent-writer hook runs once, so the client's next write conflicts once")
    func concurrentWriter() async throws {
        try await withSandbox { sandbox, client in
            sandbox.afterNextRequest(method: "GET", pathContaining: "/deployments/checkout") { store in
                _ = try? store.mutate(apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "checkout") {
                    $0[path: ["metadata", "annotations", "other-writer"]] = "was here"
                }
            }
            // Not triggered by another path or method.
            #expect(try await client.get(Paths.deployments + "/cart").status == 200)
            var scale = try await client.get(Paths.checkoutScale).json
            scale[path: ["spec", "replicas"]] = 5
            let conflict = try await client.send("PUT", Paths.checkoutScale, json: scale)
            #expect(conflict.status == 409)
            #expect(conflict.json["reason"] == "Conflict")
            // Read again, write again: the hook is gone, so this one lands.
            var fresh = try await client.get(Paths.checkoutScale).json
            fresh[path: ["spec", "replicas"]] = 5
            #expect(try await client.send("PUT", Paths.checkoutScale, json: fresh).status == 200)
            let stored = sandbox.object(apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "checkout")
            #expect(stored?[path: ["metadata", "annotations", "other-writer"]] == "was here")
            #expect(stored?[path: ["spec", "replicas"]] == 5)
        }
    }

    @Test("the request log records method, path, query, content type and status, never the token")
    func requestLog() async throws {
        try await withSandbox { sandbox, client in
            _ = try await client.patch(Paths.checkoutScale + "?dryRun=All", ["spec": ["replicas": 2]])
            _ = try await client.with(token: nil).get("/version")
            let log = sandbox.requests
            #expect(log.count == 2)
            #expect(log[0].method == "PATCH")
            #expect(log[0].path == Paths.checkoutScale)
            #expect(log[0].query == "dryRun=All")
            #expect(log[0].contentType == "application/merge-patch+json")
            #expect(log[0].hadAuthorization)
            #expect(log[0].body == #"{"spec":{"replicas":2}}"#)
            #expect(log[0].status == 200)
            #expect(log[1].hadAuthorization == false)
            #expect(log[1].status == 401)
            #expect(!String(describing: log).contains(KubeSandbox.adminToken))
            sandbox.clearRequests()
            #expect(sandbox.requests.isEmpty)
        }
    }
}
