import TrimtabCore
import TrimtabKube

extension ControlLoop {
    /// Why actions are paused now: the policy's `spec.paused`, an annotated kill-switch object, or a
    /// kill-switch object that cannot be read (failing safe). Empty when not paused.
    func pausedBy(_ policy: Policy, cluster: KubeCluster) async -> [String] {
        var reasons: [String] = []
        if policy.paused { reasons.append("the policy says spec.paused: true") }
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
