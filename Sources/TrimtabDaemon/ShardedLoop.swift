import Foundation
import Logging
import ServiceLifecycle
import TrimtabCore
import TrimtabCycle
import TrimtabKube
import TrimtabPrometheus

/// `trimtab run --shard …`: a cluster split into shards of namespaces, each with its own journal and
/// the Lease beside it. A process holds one shard at a time: it tries the shards' Leases, starting at
/// a place its identity picks (so replicas started together spread), takes the first one free, and
/// then runs the ordinary control loop for that shard alone: its policies confined to the shard's
/// namespaces, its journal, its Lease. A replica that holds none (a spare) keeps trying every retry
/// period, so a shard whose holder stops renewing is taken over once its Lease expires; and a holder
/// that lost its shard's Lease to another replica (it could not renew in time) looks again for a shard
/// without a holder, rather than follow the one it lost. Shards never
/// share a namespace and a Lease has one holder, so no workload is ever acted on by two replicas.
struct ShardedLoop: Service {
    struct Member: Sendable {
        var shard: Shard
        var cluster: KubeCluster
        var policies: [Policy]
    }

    let members: [Member]
    let settings: DaemonSettings
    let source: any MetricsSource
    let board: StatusBoard
    let metrics: DaemonMetrics
    let logger: Logger
    var listening: AsyncStream<Void>?

    func run() async throws {
        if let listening {
            for await _ in listening { break }
            guard !Task.isCancelled else { return }
        }
        let elections = members.map { $0.cluster.journal.election(identity: settings.identity, timings: settings.election) }
        let start = Int(StableHash.of(settings.identity) % UInt64(max(1, members.count)))
        let order = members.indices.map { (start + $0) % members.count }
        var waitingSaid = false
        var cycles = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var holders: [ShardHolder] = []
            var won: Int?
            for index in order {
                if won == nil, await elections[index].attempt() { won = index }
                holders.append(ShardHolder(name: members[index].shard.name, namespaces: members[index].shard.namespaces,
                                           holder: await elections[index].holder))
            }
            holders.sort { $0.name < $1.name }
            if let won {
                let member = members[won]
                await board.setShards(holders, holding: member.shard.name)
                metrics.shards(members.map(\.shard.name), holding: member.shard.name)
                await board.setPolicies(member.policies)
                logger.notice("took shard \(member.shard.name): acting on its namespaces alone", metadata: [
                    "shard": "\(member.shard.name)", "namespaces": "\(member.shard.namespaces.joined(separator: ","))",
                    "journal": "\(member.cluster.journal.location)"])
                // The loop's own election takes over the Lease just won (same identity: a renewal).
                var shardSettings = settings
                shardSettings.shard = member.shard
                shardSettings.maxCycles = settings.maxCycles.map { max(1, $0 - cycles) }
                let loop = ControlLoop(settings: shardSettings, policies: member.policies, source: source, cluster: member.cluster,
                                       board: board, metrics: metrics, logger: logger)
                let ended = try await loop.runUntilStopped()
                cycles += ended.cycles
                guard ended.lostShard else { return }
                waitingSaid = false
                continue
            }
            await board.setShards(holders, holding: nil)
            metrics.shards(members.map(\.shard.name), holding: nil)
            if !waitingSaid {
                logger.notice("every shard is held: waiting as a spare to take over one whose holder stops renewing", metadata: [
                    "shards": "\(holders.map { "\($0.name) (\($0.holder ?? "?"))" }.joined(separator: ", "))"])
                waitingSaid = true
            }
            try? await cancelWhenGracefulShutdown { try await settings.clock.sleep(for: settings.election.retryPeriod) }
        }
    }
}
