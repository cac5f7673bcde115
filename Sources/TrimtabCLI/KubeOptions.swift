import ArgumentParser
import Foundation
import TrimtabCore
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
        "The directory of the change journal.",
        discussion: "Defaults to $TRIMTAB_JOURNAL, else .trimtab/journal. Keep it on durable storage: it is what rollback and crash recovery read.",
        valueName: "dir"))
    var journal: String?

    /// Whether any cluster option was given.
    var given: Bool { kubeconfig != nil || context != nil || inCluster }

    var journalDirectory: String {
        journal ?? ProcessInfo.processInfo.environment["TRIMTAB_JOURNAL"].flatMap { $0.isEmpty ? nil : $0 } ?? ".trimtab/journal"
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
