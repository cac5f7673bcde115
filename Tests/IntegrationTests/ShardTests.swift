import Foundation
import Testing
import TrimtabCore
import TrimtabKube
import TrimtabKubeSandbox
#if canImport(Glibc)
import Glibc
#endif

/// `trimtab run --shard`: three replicas, two shards. Each shard is taken by one replica, the third
/// waits as a spare; the holder of the shard with the hot service acts on it alone, and when it is
/// killed the spare takes the shard over once its Lease expires, and nothing is acted on twice.
@Suite("trimtab run: shards across replicas")
struct ShardTests {
    @Test func aSpareTakesOverAShardWhoseHolderStopsAndNoWorkloadIsActedOnByTwo() async throws {
        try await LoopWorld.with(recovers: false) { world in
            // The policy covers both shards' namespaces; only shop has a service (checkout, hot).
            try loopPolicy.replacingOccurrences(of: "verifyAfter: 40s", with: "verifyAfter: 10m")
                .replacingOccurrences(of: "targets: {namespace: shop,", with: "targets: {namespaces: [shop, search],")
                .write(toFile: world.policyDirectory + "/loop.yaml", atomically: true, encoding: .utf8)
            let journal = "configmap:shop/trimtab-journal"
            let shards = ["--shard", "a=shop", "--shard", "b=search"]
            func took(_ daemon: DaemonProcess) -> String? {
                daemon.lines.compactMap { $0["message"] as? String }.first { $0.hasPrefix("took shard ") }
                    .map { String($0.dropFirst("took shard ".count).prefix { $0 != ":" }) }
            }
            var replicas: [DaemonProcess] = []
            for name in ["r1", "r2"] {
                let replica = try await world.daemon(["--identity", name] + shards, journal: journal, name: name)
                #expect(await replica.waitFor(seconds: 30) { ($0["message"] as? String)?.hasPrefix("took shard ") == true } != nil, "\(replica.text.suffix(2000))")
                replicas.append(replica)
            }
            #expect(Set(replicas.compactMap(took)) == ["a", "b"])
            let spare = try await world.daemon(["--identity", "r3"] + shards, journal: journal, name: "r3")
            #expect(await spare.waitFor(seconds: 30) { ($0["message"] as? String)?.hasPrefix("every shard is held") == true } != nil, "\(spare.text.suffix(2000))")
            let holderOfA = try #require(replicas.first { took($0) == "a" })
            let holderOfB = try #require(replicas.first { took($0) == "b" })
            #expect(await holderOfA.waitFor(seconds: 40) { ($0["message"] as? String)?.hasPrefix("applied: shop/checkout replicas") == true } != nil,
                    "\(holderOfA.text.suffix(2000))")
            #expect(await holderOfB.waitForCycles(3, seconds: 60))

            // The spare is ready (a rollout waits for every pod to be), holds no shard, and shows who holds each.
            let ready = try await spare.get("/readyz")
            #expect(ready.status == 200, "\(ready)")
            let status = try JSONSerialization.jsonObject(with: Data(try await spare.get("/api/v1/status").body.utf8)) as? [String: Any]
            #expect(status?["shard"] == nil || status?["shard"] is NSNull)
            let holders = (status?["shards"] as? [[String: Any]])?.map { "\($0["name"] ?? "")=\($0["holder"] ?? "")" }
            #expect(holders == ["a=\(holderOfA === replicas[0] ? "r1" : "r2")", "b=\(holderOfB === replicas[0] ? "r1" : "r2")"])
            // The holder of b never touched shop: its journal is empty, its cycles planned nothing for checkout.
            #expect(!holderOfB.lines.contains { ($0["message"] as? String)?.contains("shop/checkout") == true && ($0["message"] as? String)?.hasPrefix("applied") == true })

            // SIGKILL the holder of a: its Lease is not released; the spare takes the shard once it expires.
            let killed = Date()
            holderOfA.kill(SIGKILL)
            _ = await holderOfA.waitForExit(seconds: 10)
            let taken = await spare.waitFor(seconds: 40) { ($0["message"] as? String)?.hasPrefix("took shard a") == true }
            let seconds = (taken?["time"] as? String).flatMap { ISO8601DateFormatter.withFractions.date(from: $0) }?.timeIntervalSince(killed)
            print("shard takeover after SIGKILL: \(seconds.map { String(format: "%.1f", $0) } ?? "never") s (lease 15 s, retry 2 s)")
            #expect(seconds != nil && seconds! <= 15 + 2 + 2, "\(spare.text.suffix(2000))")
            #expect(await spare.waitFor(seconds: 30) { $0["message"] as? String == "became the leader: this process now acts on the cluster" } != nil)
            let enforced = await spare.waitFor(seconds: 30) { _ in spare.cycles.filter { $0["mode"] as? String == "enforce" }.count >= 3 }
            #expect(enforced != nil, "\(spare.text.suffix(2000))")
            // One scale write in all: the change is in shard a's journal, which the spare read and did not repeat.
            #expect(world.scaleWrites.count == 1)
            let client = try KubeClient(KubeConfiguration(server: world.cluster.url, token: KubeSandbox.adminToken))
            let a = try await ConfigMapJournal(client: client, namespace: "shop", name: "trimtab-journal-a").entries()
            let b = try await ConfigMapJournal(client: client, namespace: "shop", name: "trimtab-journal-b").entries()
            #expect(a.count == 1 && a.first?.workload.namespace == "shop" && a.first?.knob == .replicas)
            #expect(b.isEmpty)
            await client.shutdown()
            await spare.stop()
            await holderOfB.stop()
        }
    }

    @Test func aHolderThatLosesItsShardLooksForOneWithoutAHolder() async throws {
        try await LoopWorld.with(recovers: false) { world in
            try loopPolicy.replacingOccurrences(of: "targets: {namespace: shop,", with: "targets: {namespaces: [shop, search],")
                .write(toFile: world.policyDirectory + "/loop.yaml", atomically: true, encoding: .utf8)
            let shards = ["--shard", "a=shop", "--shard", "b=search"]
            let journal = "configmap:shop/trimtab-journal"
            let one = try await world.daemon(["--identity", "r1"] + shards, journal: journal, name: "r1")
            let first = await one.waitFor(seconds: 30) { ($0["message"] as? String)?.hasPrefix("took shard ") == true }
            let shard = try #require((first?["message"] as? String).map { String($0.dropFirst("took shard ".count).prefix { $0 != ":" }) })
            #expect(await one.waitFor(seconds: 30) { $0["message"] as? String == "became the leader: this process now acts on the cluster" } != nil)
            // Another replica takes the Lease (as one would after a renewal r1 could not make in time).
            let client = try KubeClient(KubeConfiguration(server: world.cluster.url, token: KubeSandbox.adminToken))
            let formatter = ISO8601DateFormatter.withFractions
            try await client.patch(KubeResource(group: "coordination.k8s.io", version: "v1", plural: "leases", kind: "Lease"),
                                   namespace: "shop", name: "trimtab-journal-\(shard)-lock", .merge,
                                   body: ["spec": ["holderIdentity": "intruder", "renewTime": formatter.string(from: Date()), "leaseDurationSeconds": 15]],
                                   dryRun: false)
            await client.shutdown()
            // r1 gives the shard up and takes the other, which nobody holds.
            #expect(await one.waitFor(seconds: 30) { ($0["message"] as? String)?.hasPrefix("lost shard \(shard) to intruder") == true } != nil,
                    "\(one.text.suffix(2000))")
            let other = shard == "a" ? "b" : "a"
            #expect(await one.waitFor(seconds: 30) { ($0["message"] as? String)?.hasPrefix("took shard \(other)") == true } != nil,
                    "\(one.text.suffix(2000))")
            let status = try JSONSerialization.jsonObject(with: Data(try await one.get("/api/v1/status").body.utf8)) as? [String: Any]
            #expect(status?["shard"] as? String == other)
            let exposition = try await one.get("/metrics").body
            #expect(metricValue(exposition, "trimtab_shard_held", labels: "shard=\"\(other)\"") == 1)
            #expect(metricValue(exposition, "trimtab_shard_held", labels: "shard=\"\(shard)\"") == 0)
            await one.stop()
        }
    }
}

