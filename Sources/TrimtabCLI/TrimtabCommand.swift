import ArgumentParser

/// `trimtab`: the root command.
public struct TrimtabCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "trimtab",
        abstract: "Finds the bottlenecks of services on Kubernetes from Prometheus metrics, and plans small, reversible fixes.",
        discussion: """
        Start with the demo, which needs no cluster (only Debian's prometheus package):
          trimtab demo
        Then point it at your Prometheus:
          trimtab analyze --prometheus http://prometheus:9090
        Check a policy before you use it:
          trimtab policy lint policies/
        Check the plan against the cluster (dry-run), then apply it, and undo a change:
          trimtab analyze --prometheus http://prometheus:9090 --kubeconfig ~/.kube/config
          trimtab analyze --prometheus http://prometheus:9090 --kubeconfig ~/.kube/config --apply
          trimtab history; trimtab rollback ID

        Exit codes: 0 ran; 1 invalid input (a policy, a file, a flag's value checked after parsing); \
        2 gate failed; 3 metrics could not be read; 4 the cluster could not be read or refused a change; \
        5 the policy found no targets; 64 a usage error (an unknown flag, or a value that does not parse).
        """,
        version: "0.1.0",
        subcommands: [AnalyzeCommand.self, RunCommand.self, ReportCommand.self, RollbackCommand.self, JournalHistoryCommand.self, PolicyCommand.self,
                      DemoCommand.self, SandboxCommand.self]
    )

    public init() {}
}
