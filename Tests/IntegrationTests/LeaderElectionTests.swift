import Foundation
import Testing
import TrimtabCore
import TrimtabKube
import TrimtabKubeSandbox
#if canImport(Glibc)
import Glibc
#endif

@Suite("Leader election on a Lease, as client-go does it")
struct LeaderElectionTests {
    /// Short timings with client-go's proportions (lease 15 s, renew deadline 10 s, retry 2 s, scaled down).
    static let timings = ElectionTimings(leaseDuration: 6, renewDeadline: 4, retryPeriod: 0.5)

    @Test func oneLeadsAndALeaderThatCannotRenewStopsBeforeItsLeaseCanBeTaken() async throws {
        let sandbox = try await KubeSandbox.start()
        let client = try KubeClient(KubeConfiguration(server: sandbox.url, token: KubeSandbox.adminToken, timeoutSeconds: 2), maxRetries: 0)
        let a = LeaseElection(client: client, namespace: "trimtab", name: "trimtab-journal-lock", identity: "a", timings: Self.timings)
        let b = LeaseElection(client: client, namespace: "trimtab", name: "trimtab-journal-lock", identity: "b", timings: Self.timings)
        // Every time is counted from before a took the Lease: a's renewal and b's first sight of it
        // come later, so the bounds below hold however slow the machine is.
        let clock = ContinuousClock()
        var lastRenewal = clock.now
        var leading = false
        // One attempt on a very slow machine can outlast the renew deadline (then a does not count itself
        // leader yet, rightly); it tries again as its retry loop would.
        for _ in 0..<20 where !leading {
            lastRenewal = clock.now
            leading = await a.attempt()
        }
        #expect(leading)
        #expect(await !b.attempt())
        #expect(await b.holder == "a")
        // The Lease records what client-go's tools read.
        let lease = sandbox.object(apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespace: "trimtab", name: "trimtab-journal-lock")
        #expect(lease?[path: ["spec", "holderIdentity"]]?.stringValue == "a")
        #expect(lease?[path: ["spec", "leaseDurationSeconds"]]?.intValue == 6)

        // From now on a's renewals fail (the API server answers 500 to every write of the Lease).
        sandbox.inject(Fault(method: "PATCH", pathContaining: "/leases/", .status(500), count: 1000))
        var stoppedAfter: Duration?
        var takenAfter: Duration?
        while clock.now - lastRenewal < .seconds(30), takenAfter == nil {
            _ = await a.attempt()
            if stoppedAfter == nil, await !a.isLeading { stoppedAfter = clock.now - lastRenewal }
            // b may take the Lease once it has stood unrenewed for the lease duration.
            if clock.now - lastRenewal > .seconds(1) { sandbox.clearFaults() }
            if await b.attempt() { takenAfter = clock.now - lastRenewal }
            // a keeps failing: only its own writes fail from here on.
            if clock.now - lastRenewal > .seconds(1), sandbox.pendingFaults == 0 {
                sandbox.inject(Fault(method: "PATCH", pathContaining: "/leases/", .status(500), count: 1))
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let stopped = try #require(stoppedAfter)
        let taken = try #require(takenAfter)
        print("lease election (lease 6 s, renew deadline 4 s, retry 0.5 s): the old leader stopped after \(stopped), the new one took over after \(taken)")
        // a stopped counting itself leader (after the renew deadline) before b could take over (after the
        // lease duration, as b observed it). Upper bounds on time are not asserted: the machine is shared.
        #expect(stopped >= .seconds(4))
        #expect(stopped < taken)
        #expect(taken >= .seconds(6))
        #expect(await !a.isLeading)
        #expect(sandbox.object(apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespace: "trimtab", name: "trimtab-journal-lock")?[path: ["spec", "holderIdentity"]]?.stringValue == "b")
        sandbox.clearFaults()
        // Released on shutdown: the next leader need not wait for it to expire.
        await b.release()
        #expect(sandbox.object(apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespace: "trimtab", name: "trimtab-journal-lock")?[path: ["spec", "holderIdentity"]]?.stringValue == nil)
        await client.shutdown()
        await sandbox.stop()
    }
}
