import Foundation
import Testing
import TrimtabCore
import TrimtabCycle
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
        while clock.now - lastRenewal < .seconds(60), takenAfter == nil {
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
        guard let stopped = stoppedAfter, let taken = takenAfter else {
            Issue.record("within 60 s of a's last renewal, \(stoppedAfter == nil ? "a never stopped leading" : "b never took the Lease")")
            // Shut down before returning: a client dropped while open stops the whole test process.
            sandbox.clearFaults()
            await client.shutdown()
            await sandbox.stop()
            return
        }
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

    /// A slow answer is not time the Lease stood unrenewed: b asks for the Lease just after a renewed
    /// it, and while the answer is on its way b's clock passes a whole lease duration (as when a loaded
    /// machine keeps b waiting for a thread). b saw the Lease renewed when the answer came, so it must
    /// not take it. (CI once saw b take it on its first look.)
    @Test func aSlowAnswerDoesNotCountAsTheLeaseStandingUnrenewed() async throws {
        let sandbox = try await KubeSandbox.start()
        let client = try KubeClient(KubeConfiguration(server: sandbox.url, token: KubeSandbox.adminToken, timeoutSeconds: 30), maxRetries: 0)
        let clock = ManualClock(start: 1_000_000)
        let a = LeaseElection(client: client, namespace: "trimtab", name: "lock", identity: "a", timings: Self.timings, clock: clock)
        let b = LeaseElection(client: client, namespace: "trimtab", name: "lock", identity: "b", timings: Self.timings, clock: clock)
        #expect(await a.attempt())
        sandbox.inject(Fault(method: "GET", pathContaining: "/leases/lock", .latency(.seconds(1)), count: 1))
        let look = Task { await b.attempt() }
        // The answer is delayed by a second of real time; b's clock moves past the lease duration meanwhile.
        for _ in 0..<100 where sandbox.pendingFaults > 0 { try await Task.sleep(for: .milliseconds(10)) }
        clock.advance(by: 10)
        #expect(await look.value == false)
        #expect(await b.holder == "a")
        #expect(sandbox.object(apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespace: "trimtab", name: "lock")?[path: ["spec", "holderIdentity"]]?.stringValue == "a")
        // Once b has seen it stand unchanged for a lease duration by its own clock, it may take it.
        clock.advance(by: 7)
        #expect(await b.attempt())
        await client.shutdown()
        await sandbox.stop()
    }
}
