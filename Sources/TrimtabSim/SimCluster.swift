import Foundation
import TrimtabCore

/// Simulated services on a simulated cluster, stepped through time. Pure: `step` takes a length of
/// time and moves every pod, queue, cache and counter on by it; nothing reads a clock.
public struct SimCluster: Sendable {
    /// One pod, with the settings of the pod template it was made from.
    public struct Pod: Sendable, Equatable {
        public var name: String
        public var replicaSet: String
        public var created: Double
        public var readyAt: Double
        public var poolSize: Int
        public var ttl: Double
        /// Requests queued beyond what the pod is working on.
        public var backlog: Double = 0
        /// Connections the database granted this pod's pool.
        public var granted: Int = 0
        public var counters = PodCounters()
        public var gauges = PodGauges()
        public func isReady(at time: Double) -> Bool { time >= readyAt }
    }

    /// Counters a pod's exporters keep (they start at zero with the pod, as in a real process).
    public struct PodCounters: Sendable, Equatable {
        public var ok: Double = 0
        /// Requests answered 5xx: 504 after the timeout, 503 when no pod was ready.
        public var timeouts: Double = 0
        /// Cumulative counts of requests at most each of `QueueingModel.histogramBuckets` seconds, then +Inf.
        public var buckets = [Double](repeating: 0, count: QueueingModel.histogramBuckets.count + 1)
        public var durationSum: Double = 0
        public var cpuSeconds: Double = 0
        public var hits: Double = 0
        public var misses: Double = 0
        public var evictions: Double = 0
    }

    /// A pod's gauges at the last step.
    public struct PodGauges: Sendable, Equatable {
        public var poolUsed: Double = 0
        public var poolPending: Double = 0
        public var memoryBytes: Double = 0
        public var cacheEntries: Double = 0
    }

    /// A service's running totals (never reset by pods coming and going): what fast time reads.
    public struct Totals: Sendable, Equatable {
        public var requests: Double = 0
        public var errors: Double = 0
        public var buckets = [Double](repeating: 0, count: QueueingModel.histogramBuckets.count + 1)
        public var cpuSeconds: Double = 0
        public var hits: Double = 0
        public var gets: Double = 0
        public var evictions: Double = 0
        /// Pod-seconds of every pod that existed (ready or not): what replica-hours count.
        public var podSeconds: Double = 0
        /// Requests slower than the service's SLO (or failed), for the benchmark's SLO minutes.
        public var slowerThanSLO: Double = 0
        /// Connections refused by the database (pool slots it did not grant), in slot-seconds.
        public var refusedConnectionSeconds: Double = 0
        /// Connection-seconds busy and granted, over ready pods: the pool's use over a span.
        public var poolBusySeconds: Double = 0
        public var poolGrantedSeconds: Double = 0
    }

    public struct Service: Sendable {
        public var spec: ServiceSpec
        public var settings: ServiceSettings
        public var pods: [Pod] = []
        public var totals = Totals()
        var podSerial = 0

        /// The pod template's name for the settings that roll pods (pool size and TTL).
        public var currentReplicaSet: String {
            "\(spec.name)-\(KubernetesNames.hash("\(spec.namespace)/\(spec.name)/pool=\(settings.poolSize)/ttl=\(Int(settings.ttl))", length: 10))"
        }
    }

    public private(set) var time: Double
    public var services: [Service]
    public var databases: [String: DatabaseSpec]
    /// The p95 target the ledger counts against.
    public var slo: Double
    /// The busy connections of each database at the last step.
    public private(set) var databaseBusy: [String: Double] = [:]

    public init(services: [ServiceSpec], databases: [DatabaseSpec], start: Double = 0, slo: Double = 1) {
        self.time = start
        self.slo = slo
        self.databases = Dictionary(databases.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.services = services.map { spec in
            Service(spec: spec, settings: ServiceSettings(replicas: spec.replicas, poolSize: spec.poolSize, ttl: spec.ttl,
                                                          autoscaler: spec.autoscaler))
        }
        // The services start settled: their pods are ready and their caches warm.
        for index in self.services.indices {
            let count = self.services[index].settings.replicas
            let readyAt = self.services[index].spec.startsCold ? start : start - 3600
            for _ in 0..<count { createPod(service: index, readyAt: readyAt) }
        }
    }

    public func index(of name: String) -> Int? { services.firstIndex { $0.spec.name == name } }

    /// Sets what a service's Deployment (and HPA) hold; pods follow as a Deployment's would.
    public mutating func update(_ name: String, _ change: (inout ServiceSettings) -> Void) {
        guard let index = index(of: name) else { return }
        change(&services[index].settings)
    }

    /// The mounted ConfigMap's values, in every pod once the kubelet has refreshed the volume (a pod
    /// started since read them at its start): the pool is resized and the TTL changed in place, the
    /// cache keeps its entries.
    mutating func applyLiveSettings(service index: Int) {
        let settings = services[index].settings
        for pod in services[index].pods.indices where time >= settings.liveVisibleAt || services[index].pods[pod].created > settings.liveVisibleAt - ServiceSettings.configMapRefreshSeconds {
            if let size = settings.livePoolSize { services[index].pods[pod].poolSize = size }
            if let ttl = settings.liveTTL { services[index].pods[pod].ttl = ttl }
        }
    }

    mutating func createPod(service index: Int, readyAt: Double? = nil) {
        let rs = services[index].currentReplicaSet
        services[index].podSerial += 1
        let name = "\(rs)-\(KubernetesNames.hash("\(rs)#\(services[index].podSerial)", length: 5))"
        let settings = services[index].settings
        services[index].pods.append(Pod(name: name, replicaSet: rs, created: time,
                                        readyAt: readyAt ?? time + services[index].spec.readyDelay,
                                        poolSize: settings.poolSize, ttl: settings.ttl))
    }

    /// A Deployment controller's rolling update (maxSurge 25 % up, maxUnavailable 25 % down) and scale.
    mutating func reconcile(service index: Int) {
        let desired = services[index].settings.replicas
        let current = services[index].currentReplicaSet
        let surge = Int((Double(desired) * 0.25).rounded(.up)), unavailable = Int((Double(desired) * 0.25).rounded(.down))
        var newCount = services[index].pods.filter { $0.replicaSet == current }.count
        let hasOld = services[index].pods.contains { $0.replicaSet != current }
        while newCount < desired && (!hasOld || services[index].pods.count < desired + max(1, surge)) {
            createPod(service: index)
            newCount += 1
        }
        // Old pods go while enough stay ready (not-ready ones first).
        let order = services[index].pods.indices.filter { services[index].pods[$0].replicaSet != current }
            .sorted { (services[index].pods[$0].isReady(at: time) ? 1 : 0, services[index].pods[$0].created)
                      < (services[index].pods[$1].isReady(at: time) ? 1 : 0, services[index].pods[$1].created) }
        var remove = Set<Int>()
        var ready = services[index].pods.filter { $0.isReady(at: time) }.count
        for podIndex in order {
            let pod = services[index].pods[podIndex]
            let total = services[index].pods.count - remove.count
            if !pod.isReady(at: time) || (ready - 1 >= desired - unavailable) || total > desired + surge {
                remove.insert(podIndex)
                if pod.isReady(at: time) { ready -= 1 }
            }
        }
        // Too many of the current template: the newest, not-ready ones go first.
        let extra = newCount - desired
        if extra > 0 {
            let newest = services[index].pods.indices.filter { services[index].pods[$0].replicaSet == current }
                .sorted { (services[index].pods[$0].isReady(at: time) ? 1 : 0, -services[index].pods[$0].created)
                          < (services[index].pods[$1].isReady(at: time) ? 1 : 0, -services[index].pods[$1].created) }
            remove.formUnion(newest.prefix(extra))
        }
        if !remove.isEmpty {
            services[index].pods = services[index].pods.enumerated().filter { !remove.contains($0.offset) }.map(\.element)
        }
    }

    /// Moves the world on by `dt` seconds.
    public mutating func step(_ dt: Double) {
        for index in services.indices {
            reconcile(service: index)
            applyLiveSettings(service: index)
        }
        grantConnections()
        // The database's slowdown depends on the busy connections, which depend on it: a few rounds.
        var slowdown: [String: Double] = [:]
        for (name, db) in databases {
            slowdown[name] = QueueingModel.databaseSlowdown(busy: databaseBusy[name] ?? 0, cores: db.cores)
        }
        var states: [[QueueingModel.PodSteadyState?]] = []
        var caches: [[QueueingModel.Cache]] = []
        for round in 0..<4 {
            var busy: [String: Double] = [:]
            states = []
            caches = []
            for service in services {
                let readyCount = service.pods.filter { $0.isReady(at: time) }.count
                let lambda = service.spec.load.rate(at: time) / Double(max(readyCount, 1))
                var row: [QueueingModel.PodSteadyState?] = []
                var cacheRow: [QueueingModel.Cache] = []
                for pod in service.pods {
                    guard pod.isReady(at: time) else {
                        row.append(nil)
                        cacheRow.append(QueueingModel.Cache(hitRatio: 0, entries: 0, evictionsPerSecond: 0, staleness: 0))
                        continue
                    }
                    let cache = QueueingModel.cache(requestsPerSecond: lambda, keys: service.spec.keys, ttl: pod.ttl,
                                                    capacity: service.spec.cacheCapacity, age: time - pod.readyAt)
                    let dbSeconds = service.spec.dbSecondsPerQuery * (slowdown[service.spec.database] ?? 1)
                    let state = QueueingModel.pod(requestsPerSecond: lambda, cpuSeconds: service.spec.cpuSecondsPerRequest,
                                                  cores: service.spec.cpuLimitCores, hit: cache.hitRatio, pool: Double(pod.granted),
                                                  dbSeconds: dbSeconds, base: service.spec.baseLatency)
                    busy[service.spec.database, default: 0] += state.poolBusy
                    row.append(state)
                    cacheRow.append(cache)
                }
                states.append(row)
                caches.append(cacheRow)
            }
            for (name, db) in databases {
                let next = QueueingModel.databaseSlowdown(busy: busy[name] ?? 0, cores: db.cores)
                slowdown[name] = round == 0 ? next : (slowdown[name]! + next) / 2
            }
            databaseBusy = busy
        }
        for index in services.indices {
            advance(service: index, states: states[index], caches: caches[index], dt: dt)
        }
        time += dt
    }

    /// The database grants connections in the order pods asked (oldest first) up to its limit; a pool
    /// opens all its connections at start (HikariCP's default: minimumIdle = maximumPoolSize).
    mutating func grantConnections() {
        var left = databases.mapValues(\.maxConnections)
        var order: [(service: Int, pod: Int, created: Double)] = []
        for s in services.indices { for p in services[s].pods.indices { order.append((s, p, services[s].pods[p].created)) } }
        order.sort { $0.created < $1.created }
        for item in order {
            let db = services[item.service].spec.database
            let want = services[item.service].pods[item.pod].poolSize
            let granted = min(want, max(0, left[db] ?? want))
            services[item.service].pods[item.pod].granted = granted
            left[db] = (left[db] ?? want) - granted
        }
    }

    mutating func advance(service index: Int, states: [QueueingModel.PodSteadyState?], caches: [QueueingModel.Cache], dt: Double) {
        let spec = services[index].spec
        let arriving = spec.load.rate(at: time) * dt
        let readyCount = states.compactMap { $0 }.count
        var totals = services[index].totals
        totals.podSeconds += Double(services[index].pods.count) * dt
        if readyCount == 0 {
            // Nobody to answer: every request fails at once (503 from the Service with no endpoints).
            totals.requests += arriving
            totals.errors += arriving
            totals.slowerThanSLO += arriving
            totals.buckets = zip(totals.buckets, [Double](repeating: arriving, count: totals.buckets.count)).map(+)
        }
        for p in services[index].pods.indices {
            var pod = services[index].pods[p]
            totals.refusedConnectionSeconds += Double(pod.poolSize - pod.granted) * dt
            guard let state = states[p] else {
                pod.gauges = PodGauges(poolUsed: 0, poolPending: 0, memoryBytes: spec.baseMemoryBytes, cacheEntries: 0)
                services[index].pods[p] = pod
                continue
            }
            let cache = caches[p]
            let lambda = arriving / Double(readyCount)
            let capacity = state.capacity * dt
            // The queue: what is not served waits, up to the timeout's worth; beyond, requests fail.
            let limit = state.capacity * spec.timeout
            var served = lambda
            var overflow = 0.0
            if lambda > capacity || pod.backlog > 0 {
                let queued = pod.backlog + lambda - capacity
                let kept = min(max(0, queued), limit)
                overflow = max(0, queued - limit)
                served = lambda - overflow - (kept - pod.backlog)
                pod.backlog = kept
            }
            served = max(0, served)
            let queueDelay = state.capacity > 0 ? pod.backlog / state.capacity : spec.timeout
            let variable = state.variableLatency + queueDelay
            let fixed = state.fixedLatency
            // Served requests slower than the timeout fail too (504).
            let late = served * (1 - QueueingModel.share(atMost: spec.timeout, fixed: fixed, variable: variable))
            let ok = served - late
            let failed = overflow + late
            pod.counters.ok += ok
            pod.counters.timeouts += failed
            for (b, le) in QueueingModel.histogramBuckets.enumerated() {
                let within = QueueingModel.share(atMost: le, fixed: fixed, variable: variable) * served
                let counted = min(within, ok) + (le >= spec.timeout ? failed : 0)
                pod.counters.buckets[b] += counted
                totals.buckets[b] += counted
            }
            pod.counters.buckets[QueueingModel.histogramBuckets.count] += ok + failed
            totals.buckets[QueueingModel.histogramBuckets.count] += ok + failed
            let meanDuration = fixed + variable
            pod.counters.durationSum += ok * meanDuration + failed * spec.timeout
            let cpu = min(served * spec.cpuSecondsPerRequest, spec.cpuLimitCores * dt)
            pod.counters.cpuSeconds += cpu
            pod.counters.hits += served * cache.hitRatio
            pod.counters.misses += served * (1 - cache.hitRatio)
            pod.counters.evictions += cache.evictionsPerSecond * dt
            pod.gauges = PodGauges(poolUsed: min(state.poolBusy, Double(pod.granted)), poolPending: state.poolWaiters,
                                   memoryBytes: spec.baseMemoryBytes + cache.entries * spec.entryBytes, cacheEntries: cache.entries)
            totals.requests += ok + failed
            totals.errors += failed
            // Late requests are slower than the SLO too (the timeout is above it).
            totals.slowerThanSLO += overflow + served * (1 - QueueingModel.share(atMost: slo, fixed: fixed, variable: variable))
            totals.cpuSeconds += cpu
            totals.hits += served * cache.hitRatio
            totals.gets += served
            totals.evictions += cache.evictionsPerSecond * dt
            totals.poolBusySeconds += min(state.poolBusy, Double(pod.granted)) * dt
            totals.poolGrantedSeconds += Double(pod.granted) * dt
            services[index].pods[p] = pod
        }
        services[index].totals = totals
    }
}
