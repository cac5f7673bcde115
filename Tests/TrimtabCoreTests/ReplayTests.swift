import Foundation
import Testing
@testable import TrimtabCore

/// A simulated day: a diurnal load with noise and spikes on one service whose replicas the planner
/// scales, replayed through the whole pure core (snapshot → assessment → plan) once a minute.
struct DaySimulation {
    static let policyText = """
    apiVersion: trimtab/v1
    kind: Policy
    metadata: {name: replay}
    spec:
      targets: {namespace: sim}
      evaluation: {step: 30s, lookback: 10m}
      indicators:
        latency_p95: {query: 'latency{$selector}', unit: seconds}
        cpu_utilization: {query: 'cpu{$selector}', unit: ratio}
        replicas: {query: 'replicas{$selector}', unit: count}
      checks:
        latency_p95: {worse: higher, warning: 500ms, critical: 1s, for: 2m, weight: 3}
        cpu_utilization: {worse: higher, warning: 75%, critical: 90%, for: 2m, weight: 2}
      actions:
        - when: {bottleneck: latency_p95, and: cpu_utilization}
          scale: {min: 2, max: 40, utilizationTarget: 60%}
      safety: {cooldown: 1m, maxChangesPerHour: 60}
    """

    struct Result {
        var changes: [(time: Double, from: Int, to: Int)]
        var directionChanges: Int
        var minutesOverCritical: Int
    }

    /// Requests per second at time `t` (seconds into the day): a diurnal curve, spikes and noise.
    static func load(_ t: Double) -> Double {
        let diurnal = 300 + 1500 * (0.5 - 0.5 * cos(2 * .pi * (t - 4 * 3600) / 86_400))
        let spikes: [Double] = [9 * 3600, 13.5 * 3600, 20 * 3600]
        let spike = spikes.contains { t >= $0 && t < $0 + 180 } ? 1.6 : 1
        // Deterministic noise of ±12 %.
        let noise = 1 + 0.12 * sin(t * 0.0137) * cos(t * 0.0071 + 1.3)
        return diurnal * spike * noise
    }

    static func run(scaleDownStabilization: Double) throws -> Result {
        var policy = try PolicyLoader.load(text: policyText, file: "replay.yaml")
        if case .scale(var scale) = policy.actions[0].action {
            scale.scaleDown.stabilizationSeconds = scaleDownStabilization
            policy.actions[0].action = .scale(scale)
        }
        let target = TargetID(labelNames: ["namespace", "deployment"], labelValues: ["sim", "api"])
        let labels = ["namespace": "sim", "deployment": "api"]
        let perReplica = 100.0
        var replicas = 6
        var history: [String: [Sample]] = ["latency_p95": [], "cpu_utilization": [], "replicas": []]
        var changes: [(time: Double, from: Int, to: Int)] = []
        var records: [ChangeRecord] = []
        var overCritical = 0
        let start = 1_000_000.0
        for step in 0..<(86_400 / 30) {
            let time = start + Double(step) * 30
            let utilization = load(time - start) / (Double(replicas) * perReplica)
            let latency = 0.1 / max(0.02, 1 - min(utilization, 0.98))
            history["latency_p95"]!.append(Sample(time: time, value: latency))
            history["cpu_utilization"]!.append(Sample(time: time, value: min(utilization, 1.5)))
            history["replicas"]!.append(Sample(time: time, value: Double(replicas)))
            guard step % 2 == 0, step >= 40 else { continue }
            if latency > 1 { overCritical += 1 }
            let queries = IndicatorQuery.plan(for: policy, at: time)
            let data = queries.map { query in
                let samples = history[query.indicator]!.suffix(60).filter { $0.time >= query.start }
                return IndicatorData.from([RawSeries(labels: labels, samples: Array(samples))], query: query, groupBy: policy.targets.groupBy)
            }
            let snapshot = Snapshot(time: time, indicators: data)
            let assessment = Assessor.assess(snapshot, policy: policy)
            let plan = Planner.plan(assessment, snapshot: snapshot, policy: policy, context: PlanContext(history: records))
            for action in plan.proposed where action.target == target {
                let next = Int(action.proposed)
                changes.append((time, replicas, next))
                records.append(ChangeRecord(target: target, knob: .replicas, time: time, from: Double(replicas), to: action.proposed))
                replicas = next
            }
        }
        var flips = 0
        for index in changes.indices.dropFirst() {
            let previousUp = changes[index - 1].to > changes[index - 1].from
            let up = changes[index].to > changes[index].from
            if previousUp != up { flips += 1 }
        }
        return Result(changes: changes, directionChanges: flips, minutesOverCritical: overCritical)
    }
}

@Suite("Replay over a simulated day")
struct ReplayTests {
    @Test func theStabilizationWindowPreventsFlapping() throws {
        let on = try DaySimulation.run(scaleDownStabilization: 300)
        let off = try DaySimulation.run(scaleDownStabilization: 0)
        print("replay: window 5m: \(on.changes.count) changes, \(on.directionChanges) direction changes, \(on.minutesOverCritical) minutes over critical latency")
        print("replay: window 0s: \(off.changes.count) changes, \(off.directionChanges) direction changes, \(off.minutesOverCritical) minutes over critical latency")
        // The service is scaled at all, both up for the peak and down at night.
        #expect(on.changes.contains { $0.to > $0.from })
        #expect(on.changes.contains { $0.to < $0.from })
        // Fewer reversals with the window than without it.
        #expect(on.directionChanges < off.directionChanges)
        // With the window, no scale-down follows a scale-up within five minutes.
        var downsAfterAnUp = 0
        for (index, change) in on.changes.enumerated() where change.to < change.from {
            guard let lastUp = on.changes[..<index].last(where: { $0.to > $0.from }) else { continue }
            downsAfterAnUp += 1
            #expect(change.time - lastUp.time >= 300, "scale-down \(change.time - lastUp.time) s after a scale-up")
        }
        // The rule above was tested: the night's scale-down comes after the peak's scale-up.
        #expect(downsAfterAnUp > 0)
        // Replicas stay within the policy's bounds.
        #expect(on.changes.allSatisfy { (2...40).contains($0.to) })
    }
}
