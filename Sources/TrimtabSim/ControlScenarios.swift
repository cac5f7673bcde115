/// The eight traces of the control-quality benchmark, each with the service it drives. Every scenario
/// has the same database: 200 connections, six queries at once at full speed.
public enum ControlScenarios {
    /// A web service: 10 ms of CPU a request (a pod of one core serves 100 requests a second, 35 at
    /// the HPA's 70 % of its half-core request), a cache in front of a 20 ms query, a pool of 10.
    public static func webService(_ name: String, load: LoadTrace) -> ServiceSpec {
        var spec = ServiceSpec(name: name, load: load)
        spec.replicas = 4
        spec.poolSize = 10
        spec.ttl = 60
        spec.autoscaler = AutoscalerSpec(minReplicas: 2, maxReplicas: 20)
        return spec
    }

    public static var all: [ControlScenario] { [diurnal, flashSpike, slowRamp, poolBound, coldCache, pinnedAutoscaler, week, burstyDays] }

    /// A day of traffic, 40 to 420 requests a second, on a service sized for the average.
    public static var diurnal: ControlScenario {
        ControlScenario(name: "diurnal", summary: "24 h, 40 → 420 → 40 req/s; 4 replicas at the start",
                        services: [webService("storefront", load: .diurnal(low: 40, high: 420))])
    }

    /// Steady traffic that jumps six-fold for ten minutes.
    public static var flashSpike: ControlScenario {
        ControlScenario(name: "flash spike", summary: "2 h at 80 req/s, 500 req/s for 10 min at 0:40",
                        services: [webService("checkout", load: .flashSpike(base: 80, peak: 500, at: 2400, hold: 600, seconds: 7200))])
    }

    /// Traffic that grows eleven-fold over six hours.
    public static var slowRamp: ControlScenario {
        ControlScenario(name: "slow ramp", summary: "6 h, 40 → 450 req/s linearly",
                        services: [webService("catalog", load: .ramp(from: 40, to: 450, seconds: 6 * 3600))])
    }

    /// Slow queries on the shared database: every connection more makes each query slower.
    /// Scaling out adds connections, not capacity; fewer misses (a longer TTL) relieve it.
    public static var poolBound: ControlScenario {
        var spec = webService("ledger", load: .ramp(from: 160, to: 220, seconds: 3 * 3600))
        spec.cpuSecondsPerRequest = 0.003
        spec.dbSecondsPerQuery = 0.05
        spec.poolSize = 4
        spec.ttl = 20
        spec.keys = 20_000
        spec.cacheCapacity = 200_000
        spec.entryBytes = 1_024
        return ControlScenario(name: "pool-bound", summary: "3 h, 160 → 220 req/s; 50 ms queries, pool 4",
                               services: [spec])
    }

    /// Every pod just restarted with a 10 s TTL: a cold cache sends most lookups to a shared database.
    public static var coldCache: ControlScenario {
        var spec = webService("search", load: .ramp(from: 200, to: 320, seconds: 2 * 3600))
        spec.startsCold = true
        spec.ttl = 10
        spec.keys = 6_000
        spec.dbSecondsPerQuery = 0.04
        spec.replicas = 6
        return ControlScenario(name: "cold cache", summary: "2 h, 200 → 320 req/s; pods just restarted, TTL 10 s, 40 ms queries",
                               services: [spec])
    }

    /// An HPA whose maxReplicas is too low for the peak.
    public static var pinnedAutoscaler: ControlScenario {
        var spec = webService("recommendations", load: LoadTrace(name: "pinned", points: [(0, 100), (3600, 650), (7200, 650), (10_800, 100)]))
        spec.autoscaler = AutoscalerSpec(minReplicas: 2, maxReplicas: 6)
        return ControlScenario(name: "HPA pinned at max", summary: "3 h, 100 → 650 → 100 req/s; HPA max 6 (needs ~9)",
                               services: [spec])
    }

    /// A week of a web shop's traffic: weekdays 40 → 420 req/s, weekends at 60 %, drifting noise, a
    /// few bursts a day and a two-hour gap with no traffic on the third day.
    public static var week: ControlScenario {
        ControlScenario(name: "week", summary: "7 days, 40 → 420 req/s, weekends 60 %, noise 8 %, 3 bursts a day, a 2 h gap on day 3",
                        services: [webService("shop", load: .multiDay(name: "week", days: 7, low: 40, high: 420, seed: 7))])
    }

    /// Three noisier days with more bursts: what a busy API's logs look like.
    public static var burstyDays: ControlScenario {
        ControlScenario(name: "bursty days", summary: "3 days, 60 → 360 req/s, noise 15 %, 8 bursts a day, a 2 h gap on day 3",
                        services: [webService("api", load: .multiDay(name: "bursty-days", days: 3, low: 60, high: 360, noise: 0.15,
                                                                     burstsPerDay: 8, seed: 2026))])
    }

    /// A trace of your own, driving the web service.
    public static func custom(_ trace: LoadTrace) -> ControlScenario {
        ControlScenario(name: trace.name, summary: "\(Int(trace.duration / 60)) min from \(trace.name)",
                        services: [webService("service", load: trace)])
    }
}
