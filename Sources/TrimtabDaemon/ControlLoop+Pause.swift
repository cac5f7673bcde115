import TrimtabCore
import TrimtabKube

extension ControlLoop {
    /// Why actions are paused now: the policy's `spec.paused`, an annotated kill-switch object, or a
    /// kill-switch object that cannot be read (failing safe). Empty when not paused.
    func pausedBy(_ policy: Policy, cluster: KubeCluster) async -> [String] {
        await pausedBy([policy], cluster: cluster).reasons
    }

    /// Why actions are paused, for several teams' policies: each policy's own `spec.paused` pauses
    /// that policy (`policies`), a kill switch pauses them all (`all`).
    func pausedBy(_ policies: [Policy], cluster: KubeCluster) async -> (reasons: [String], policies: Set<String>, all: Bool) {
        var reasons: [String] = []
        for policy in policies where policy.paused {
            reasons.append(policies.count == 1 ? "the policy says spec.paused: true" : "policy \(policy.name) says spec.paused: true")
        }
        let paused = Set(policies.filter(\.paused).map(\.name))
        let switches = await killSwitches(cluster)
        return (reasons + switches, paused, !switches.isEmpty || paused.count == policies.count)
    }

    /// The kill switches pulled (or unreadable, failing safe).
    func killSwitches(_ cluster: KubeCluster) async -> [String] {
        var reasons: [String] = []
        struct Object: Decodable { var metadata: ObjectMeta }
        for item in settings.killSwitches {
            let resource: KubeResource = item.kind == .configMap ? .configMaps : .deployments
            do {
                let object = try await cluster.client.get(Object.self, resource, namespace: item.namespace, name: item.name)
                if object.metadata.annotations?[KillSwitch.annotation]?.lowercased() == "true" {
                    reasons.append("\(item) is annotated \(KillSwitch.annotation)=true")
                }
            } catch {
                reasons.append("the kill switch on \(item) cannot be read (\(error)), so nothing is changed until it can")
            }
        }
        return reasons
    }
}
