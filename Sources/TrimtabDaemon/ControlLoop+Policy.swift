import Foundation
import TrimtabCore

extension ControlLoop {
    /// Reloads the policy when its files changed; a policy that does not load is refused and the one
    /// running stays.
    func reloadIfChanged(_ state: inout State) async {
        guard let path = settings.policyPath else { return }
        let fingerprint: String
        do {
            fingerprint = try PolicyWatch.fingerprint(path)
        } catch {
            if state.fingerprint != "unreadable" {
                metrics.policyReload(success: false)
                logger.error("the policy files cannot be read; keeping the policy loaded before", metadata: ["path": "\(path)", "error": "\(error)"])
                await board.refusedReload("\(error)")
            }
            state.fingerprint = "unreadable"
            return
        }
        guard fingerprint != state.fingerprint else { return }
        state.fingerprint = fingerprint
        do {
            var policies = try PolicySourceFiles.policies(at: path, namespace: settings.namespaceOverride)
            if let shard = settings.shard { policies = try policies.confined(to: shard) }
            var teams: [Team] = []
            for policy in policies {
                // A team whose receivers did not change keeps its notifier and what it has told them.
                if var kept = state.teams.first(where: { $0.policy.name == policy.name }), kept.policy.notify == policy.notify {
                    kept.policy = policy
                    teams.append(kept)
                } else {
                    teams.append(team(policy))
                }
            }
            for old in state.teams where !teams.contains(where: { $0.policy.name == old.policy.name && $0.policy.notify == old.policy.notify }) {
                if let notifier = old.notifier { Task { await notifier.finish(within: 5) } }
            }
            state.teams = teams
            state.cache?.forgetAll()
            metrics.policyReload(success: true)
            await board.setPolicies(policies)
            logger.notice("policy reloaded", metadata: ["policy": "\(policies.map(\.name).joined(separator: ", "))",
                                                        "files": "\(policies.sourceFiles.joined(separator: ", "))"])
        } catch {
            metrics.policyReload(success: false)
            let text = "\(error)"
            await board.refusedReload(text)
            logger.error("the changed policy is refused; the policy loaded before keeps running",
                         metadata: ["path": "\(path)", "errors": "\(text)"])
        }
    }
}

/// Tells when policy files changed: a digest of every file's path and contents (a ConfigMap mount
/// swaps a symlink, which changes what the same path reads).
enum PolicyWatch {
    static func fingerprint(_ path: String) throws -> String {
        let sources = try PolicySourceFiles.sources(at: path)
        var hash = StableHash()
        for source in sources { hash.add(source.file.utf8 + [0] + source.text.utf8 + [0]) }
        return String(hash.value, radix: 16)
    }
}
