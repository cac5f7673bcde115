import TrimtabCore

/// A trace and the services it drives, for the control-quality benchmark.
public struct ControlScenario: Sendable {
    public var name: String
    public var summary: String
    public var services: [ServiceSpec]
    public var databases: [DatabaseSpec]
    public var duration: Double

    public init(name: String, summary: String, services: [ServiceSpec], databases: [DatabaseSpec] = [DatabaseSpec()], duration: Double? = nil) {
        self.name = name
        self.summary = summary
        self.services = services
        self.databases = databases
        self.duration = duration ?? services.map(\.load.duration).max() ?? 3600
    }
}

/// How one controller did on one scenario, in service-minutes.
public struct ControlResult: Sendable, Equatable {
    public var scenario: String
    public var controller: String
    public var minutes: Int
    /// Minutes in which more than 5 % of requests were slower than the SLO (or failed): p95 above it.
    public var sloMinutes: Int
    /// Minutes in which more than 1 % of requests failed.
    public var errorMinutes: Int
    /// Pod-hours of every pod that existed, ready or not.
    public var replicaHours: Double
    public var changes: Int
    /// A knob changed in the opposite direction to its previous change.
    public var reversals: Int
    /// Minutes in which the database refused a pool's connections, or the pools were over 90 % busy.
    public var poolMinutes: Int
    /// Minutes in which the cache hit under 50 % of lookups, or a pod's memory passed 95 % of its limit.
    public var cacheMinutes: Int
    /// CPU requested by every pod that existed, in core-hours.
    public var cpuCoreHours: Double = 0
    /// Over the whole trace, per objective of the policy (in its order): the share of good requests.
    public var compliance: [ObjectiveCompliance] = []
    /// The longest run of SLO-violation minutes: from a breach's start to its recovery.
    public var longestBreachMinutes: Int = 0

    /// Whether every objective was met over the trace.
    public var sloMet: Bool { compliance.allSatisfy(\.met) }
    /// The largest share of an objective's budget the trace spent (1 = all of it).
    public var budgetUsed: Double { compliance.map(\.budgetUsed).max() ?? 0 }
}

/// One objective over a whole benchmark trace.
public struct ObjectiveCompliance: Sendable, Equatable {
    public var objective: String
    public var goal: Double
    /// The share of the trace's requests that were good.
    public var share: Double
    public var met: Bool { share >= goal - 1e-12 }
    /// The bad share over the budget: 1 spends it exactly.
    public var budgetUsed: Double { (1 - share) / max(1 - goal, 1e-12) }
}

/// Runs a scenario under a controller in fast time: the model stepped every `dt` seconds, scraped
/// every 15 s, the policy's indicators evaluated every step of the policy, the controller called at
/// every step (it keeps its own period), and a ledger kept per minute.
public enum ControlBenchmark {
    public struct Run: Sendable {
        public var result: ControlResult
        public var changes: [ControlChange]
        public var cluster: SimCluster
    }

    /// - Parameter observe: called every `observeEvery` seconds of simulated time (and at the end) with
    ///   the time elapsed, the cluster, the controller and what the simulated Prometheus holds: the soak's figures.
    public static func run<Controller: SimController>(_ scenario: ControlScenario, controller: Controller, policy: Policy, dt: Double = 5,
                                                      start: Double = 1_800_000_000, slo: Double = 1, observeEvery: Double = .infinity,
                                                      observe: ((Double, SimCluster, Controller, FastIndicators) async -> Void)? = nil) async -> Run {
        var controller = controller
        let services = scenario.services.map { spec -> ServiceSpec in
            var spec = shifted(spec, by: start)
            if !controller.usesAutoscaler { spec.autoscaler = nil }
            return spec
        }
        var cluster = SimCluster(services: services, databases: scenario.databases,
                                 start: start, slo: slo)
        var indicators = FastIndicators(rateWindow: 300, scrapeInterval: 15, keep: policy.windowSeconds + 600)
        let step = policy.evaluation.stepSeconds
        var changes: [ControlChange] = []
        var result = ControlResult(scenario: scenario.name, controller: controller.name, minutes: 0, sloMinutes: 0, errorMinutes: 0,
                                   replicaHours: 0, changes: 0, reversals: 0, poolMinutes: 0, cacheMinutes: 0)
        var lastMinute = cluster.services.map(\.totals)
        var breachRuns = [Int](repeating: 0, count: cluster.services.count)
        let steps = Int((scenario.duration / dt).rounded())
        for index in 0...steps {
            let time = cluster.time
            let elapsed = time - start
            if elapsed.truncatingRemainder(dividingBy: indicators.scrapeInterval) < dt / 2 { indicators.scrape(cluster) }
            if elapsed.truncatingRemainder(dividingBy: step) < dt / 2 { indicators.evaluate(at: time) }
            changes += await controller.control(&cluster, indicators: indicators)
            if index > 0, elapsed.truncatingRemainder(dividingBy: 60) < dt / 2 {
                for (s, service) in cluster.services.enumerated() {
                    ledger(&result, breachRun: &breachRuns[s], before: lastMinute[s], after: service.totals, service: service, time: time)
                }
                lastMinute = cluster.services.map(\.totals)
            }
            if let observe, index > 0, index == steps || elapsed.truncatingRemainder(dividingBy: observeEvery) < dt / 2 {
                await observe(elapsed, cluster, controller, indicators)
            }
            if index < steps { cluster.step(dt) }
        }
        result.replicaHours = cluster.services.map(\.totals.podSeconds).reduce(0, +) / 3600
        result.cpuCoreHours = cluster.services.map { $0.totals.podSeconds * $0.spec.cpuRequestCores }.reduce(0, +) / 3600
        result.compliance = compliance(of: cluster, objectives: policy.objectives)
        result.changes = changes.count
        result.reversals = reversals(changes)
        return Run(result: result, changes: changes, cluster: cluster)
    }

    /// The trace starts at the simulation's start.
    static func shifted(_ spec: ServiceSpec, by start: Double) -> ServiceSpec {
        var spec = spec
        spec.load = LoadTrace(name: spec.load.name, points: spec.load.points.map { ($0.time + start, $0.rps) })
        return spec
    }

    static func ledger(_ result: inout ControlResult, breachRun: inout Int, before a: SimCluster.Totals, after b: SimCluster.Totals,
                       service: SimCluster.Service, time: Double) {
        result.minutes += 1
        let requests = b.requests - a.requests
        if requests > 0 {
            if (b.slowerThanSLO - a.slowerThanSLO) / requests > 0.05 {
                result.sloMinutes += 1
                breachRun += 1
                result.longestBreachMinutes = max(result.longestBreachMinutes, breachRun)
            } else {
                breachRun = 0
            }
            if (b.errors - a.errors) / requests > 0.01 { result.errorMinutes += 1 }
        }
        let granted = b.poolGrantedSeconds - a.poolGrantedSeconds
        if b.refusedConnectionSeconds > a.refusedConnectionSeconds || (granted > 0 && (b.poolBusySeconds - a.poolBusySeconds) / granted > 0.9) {
            result.poolMinutes += 1
        }
        let gets = b.gets - a.gets
        let memory = service.pods.map { $0.gauges.memoryBytes / service.spec.memoryLimitBytes }.max() ?? 0
        if (gets > 0 && (b.hits - a.hits) / gets < 0.5) || memory > 0.95 { result.cacheMinutes += 1 }
    }

    /// The policy's objectives over the whole trace, every service's requests together: a latency
    /// objective counts the requests within the SLO (the histogram's bucket at it), an availability
    /// objective those that did not fail.
    static func compliance(of cluster: SimCluster, objectives: [Objective]) -> [ObjectiveCompliance] {
        let index = QueueingModel.histogramBuckets.lastIndex { $0 <= cluster.slo + 1e-9 } ?? 0
        let requests = cluster.services.map(\.totals.requests).reduce(0, +)
        let fast = cluster.services.map { $0.totals.buckets[index] }.reduce(0, +)
        let errors = cluster.services.map(\.totals.errors).reduce(0, +)
        return objectives.map { objective in
            let good = objective.kind == .latency ? fast : requests - errors
            return ObjectiveCompliance(objective: objective.name, goal: objective.target, share: requests > 0 ? good / requests : 1)
        }
    }

    /// Changes of a knob in the opposite direction to its previous change, per service and knob.
    public static func reversals(_ changes: [ControlChange]) -> Int {
        var last: [String: Double] = [:]
        var count = 0
        for change in changes.sorted(by: { $0.time < $1.time }) where change.to != change.from {
            let key = "\(change.service)/\(change.knob)"
            let direction: Double = change.to > change.from ? 1 : -1
            if let previous = last[key], previous != direction { count += 1 }
            last[key] = direction
        }
        return count
    }
}
