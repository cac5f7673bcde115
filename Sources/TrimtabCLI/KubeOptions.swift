import ArgumentParser
import Foundation
import TrimtabCore
import TrimtabCycle
import TrimtabKube

/// How to reach the cluster, and where the journal lives.
struct KubeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A kubeconfig file (else $KUBECONFIG, the pod's service account, ~/.kube/config).", valueName: "path"))
    var kubeconfig: String?

    @Option(help: ArgumentHelp("The kubeconfig context to use instead of its current-context.", valueName: "name"))
    var context: String?

    @Flag(help: "Use the pod's service account (KUBERNETES_SERVICE_HOST, its token and CA files).")
    var inCluster = false

    @Option(help: ArgumentHelp("Longest time one Kubernetes API request may take, e.g. 15s.", valueName: "duration"))
    var kubeTimeout: String = "15s"

    @Option(help: ArgumentHelp(
        "Where the change journal is: a directory, or configmap:NAMESPACE/NAME in the cluster.",
        discussion: "Defaults to $TRIMTAB_JOURNAL, else .trimtab/journal. Keep it durable: it is what rollback, cooldowns and crash recovery read.",
        valueName: "dir|configmap:ns/name"))
    var journal: String?

    /// Whether any cluster option was given.
    var given: Bool { kubeconfig != nil || context != nil || inCluster }

    /// The one rule of every command that can enforce: enforcing names its cluster, never a default
    /// found in the environment. Exits 1 (invalid input) when enforce is asked for without cluster options.
    func requireCluster(toEnforce mode: PolicyMode) throws {
        guard mode == .enforce, !given else { return }
        printError("error: enforcing needs a cluster: give --kubeconfig, --context or --in-cluster (or run with --dry-run)")
        throw TrimtabExit.invalidInput
    }

    var journalLocation: String {
        journal ?? ProcessInfo.processInfo.environment["TRIMTAB_JOURNAL"].flatMap { $0.isEmpty ? nil : $0 } ?? ".trimtab/journal"
    }

    /// The ConfigMap of a `configmap:NAMESPACE/NAME` journal location, nil for a directory.
    var journalConfigMap: (namespace: String, name: String)? {
        let location = journalLocation
        guard location.hasPrefix("configmap:") else { return nil }
        let parts = location.dropFirst("configmap:".count).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return ("", "") }
        return (parts[0], parts[1])
    }

    func validateJournal() throws {
        if let found = journalConfigMap, found.namespace.isEmpty {
            throw ValidationError("--journal '\(journalLocation)' is not configmap:NAMESPACE/NAME")
        }
    }

    /// The journal: a directory, or a ConfigMap through `client`. A shard's is its own: the ConfigMap
    /// NAME-SHARD, or the directory DIR/SHARD (and so its own Lease or lock).
    func journalStore(client: KubeClient, shard: String? = nil) -> any JournalStore {
        if let found = journalConfigMap {
            return ConfigMapJournal(client: client, namespace: found.namespace, name: shard.map { "\(found.name)-\($0)" } ?? found.name)
        }
        return FileJournal(directory: shard.map { (journalLocation as NSString).appendingPathComponent($0) } ?? journalLocation)
    }

    func validate() throws {
        try validateJournal()
        _ = try timeoutSeconds()
    }

    func timeoutSeconds() throws -> Double {
        do {
            let seconds = try PolicyDuration.parse(kubeTimeout)
            guard seconds > 0 else { throw ValidationError("--kube-timeout must be more than 0s") }
            return seconds
        } catch let error as PolicyDuration.ParseError {
            throw ValidationError("--kube-timeout: \(error)")
        }
    }

    /// A client, or exit code 1 with the reason on standard error.
    func clientOrExit() throws -> KubeClient {
        do {
            var configuration = try KubeConfiguration.resolve(kubeconfig: kubeconfig, context: context, inCluster: inCluster)
            configuration.timeoutSeconds = try timeoutSeconds()
            return try KubeClient(configuration)
        } catch let error as KubeError {
            printError("error: \(error)")
            throw TrimtabExit.invalidInput
        }
    }
}
