import Foundation

/// The equations of the simulated services, as pure functions of one pod's load and settings. Each is
/// stated and its assumptions named in `docs/simulation-model.md`; `SimulationLawTests` holds them to
/// the laws an operator expects (more replicas lower utilisation and latency, a bigger pool removes
/// waiters until the database's limit, a longer TTL raises the hit ratio and the staleness).
public enum QueueingModel {
    /// The request-duration buckets of the Prometheus client libraries' default histogram.
    public static let histogramBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    /// A TTL cache seen by one pod: `keys` keys requested uniformly, Poisson arrivals per key.
    public struct Cache: Sendable, Equatable {
        /// The share of lookups that hit.
        public var hitRatio: Double
        /// Entries held.
        public var entries: Double
        /// Entries evicted for room, per second.
        public var evictionsPerSecond: Double
        /// The mean age of the entry a hit returns, in seconds: how stale a hit is.
        public var staleness: Double
    }

    /// A key asked for at rate `r` stays cached `ttl` seconds after a miss, during which its `r × ttl`
    /// lookups hit: its hit ratio is `r·T / (1 + r·T)`, and it is cached that share of the time. Keys
    /// are asked for with Zipf popularity (rank `i` in proportion to `i^−skew`), summed over groups of
    /// ranks `[2^b, 2^(b+1))`. Beyond `capacity` entries, the cache holds `capacity` and hits in
    /// proportion; what does not fit is evicted. A pod `age` seconds old has seen a key at least once
    /// with probability `1 − e^(−r·age)`: a new pod's cache starts empty and warms.
    public static func cache(requestsPerSecond lambda: Double, keys: Double, ttl: Double, capacity: Double, age: Double,
                             skew: Double = 0.9) -> Cache {
        guard lambda > 0, keys >= 1, ttl > 0 else { return Cache(hitRatio: 0, entries: 0, evictionsPerSecond: 0, staleness: 0) }
        // ∫ x^−s dx from a to b: the popularity mass of ranks [a, b).
        func mass(_ a: Double, _ b: Double) -> Double {
            abs(skew - 1) < 1e-9 ? log(b / a) : (pow(b, 1 - skew) - pow(a, 1 - skew)) / (1 - skew)
        }
        let total = mass(1, keys + 1)
        var hit = 0.0, occupancy = 0.0, warmHit = 0.0
        var low = 1.0
        while low <= keys {
            let high = min(low * 2, keys + 1)
            let share = mass(low, high) / total
            let count = high - low
            let perKey = lambda * share / count
            let h = perKey * ttl / (1 + perKey * ttl)
            hit += share * h
            warmHit += share * h * (1 - exp(-perKey * max(0, age)))
            occupancy += count * h
            low = high
        }
        let fits = occupancy > capacity ? capacity / occupancy : 1
        let warmth = hit > 0 ? warmHit / hit : 0
        let hitRatio = warmHit * fits
        let misses = lambda * (1 - hitRatio)
        return Cache(hitRatio: hitRatio, entries: min(occupancy, capacity) * warmth,
                     evictionsPerSecond: misses * (1 - fits), staleness: ttl / 2)
    }

    /// The mean wait for one of `servers` busy servers, each holding a job `service` seconds, at
    /// utilisation `rho` < 1: Sakasegawa's approximation of M/M/c, `s · ρ^(√(2(c+1)) − 1) / (c (1 − ρ))`.
    public static func meanWait(servers: Double, service: Double, rho: Double) -> Double {
        guard servers > 0, rho > 0 else { return 0 }
        let bounded = min(rho, 0.995)
        return service * pow(bounded, (2 * (servers + 1)).squareRoot() - 1) / (servers * (1 - bounded))
    }

    /// What one pod does at a steady arrival rate.
    public struct PodSteadyState: Sendable, Equatable {
        /// Requests per second the pod can complete: the lesser of its CPU and its pool.
        public var capacity: Double
        public var cpuUtilizationOfLimit: Double
        /// Connections busy, and the share of the pool they are.
        public var poolBusy: Double
        public var poolUtilization: Double
        /// Requests waiting for a connection, on average.
        public var poolWaiters: Double
        /// The fixed part of a request's duration, and the mean of the rest (exponentially distributed).
        public var fixedLatency: Double
        public var variableLatency: Double
    }

    /// One pod at `lambda` requests per second, `hit` of whose lookups hit the cache; misses hold a
    /// connection of a pool of `pool` for `dbSeconds`. CPU is one processor-sharing server of `cores`
    /// (`cpuSeconds` per request), the pool an M/M/c queue; both in series, after a fixed `base`.
    public static func pod(requestsPerSecond lambda: Double, cpuSeconds: Double, cores: Double, hit: Double, pool: Double,
                           dbSeconds: Double, base: Double) -> PodSteadyState {
        let missRate = lambda * (1 - hit)
        let cpuCapacity = cores / cpuSeconds
        let poolCapacity = pool > 0 ? pool / (dbSeconds * max(1 - hit, 1e-9)) : (hit >= 1 ? .infinity : 0)
        let capacity = min(cpuCapacity, poolCapacity)
        let rhoCPU = min(lambda / cpuCapacity, 0.995)
        let offered = missRate * dbSeconds
        let rhoPool = pool > 0 ? offered / pool : 1
        let cpuTime = (cpuSeconds / cores) / (1 - rhoCPU)
        let wait = meanWait(servers: pool, service: dbSeconds, rho: rhoPool)
        let variable = cpuTime + (1 - hit) * (wait + dbSeconds)
        return PodSteadyState(capacity: capacity, cpuUtilizationOfLimit: min(1, lambda / cpuCapacity),
                              poolBusy: min(offered, pool), poolUtilization: pool > 0 ? min(1, rhoPool) : 0,
                              poolWaiters: missRate * (rhoPool < 1 ? wait : 0), fixedLatency: base, variableLatency: variable)
    }

    /// The `q` quantile of a duration `fixed + Exp(mean variable)`.
    public static func quantile(_ q: Double, fixed: Double, variable: Double) -> Double {
        fixed + variable * -log(1 - q)
    }

    /// The share of durations `fixed + Exp(variable)` at most `x`.
    public static func share(atMost x: Double, fixed: Double, variable: Double) -> Double {
        guard x >= fixed else { return 0 }
        guard variable > 0 else { return 1 }
        return 1 - exp(-(x - fixed) / variable)
    }

    /// How much longer than at an idle database a query takes when `busy` connections run queries on a
    /// database that runs `cores` at once: processor sharing beyond its cores.
    public static func databaseSlowdown(busy: Double, cores: Double) -> Double {
        max(1, busy / max(cores, 1e-9))
    }
}
