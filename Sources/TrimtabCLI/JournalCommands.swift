import ArgumentParser
import Foundation
import TrimtabCore
import TrimtabCycle
import TrimtabKube

/// `trimtab rollback`: restore the value a change replaced.
struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Restore the previous value of a change Trimtab made, by its journal id or the last one.",
        discussion: """
        Reads the journal entry, checks that the object still holds what Trimtab set (someone may have \
        changed it since: then it refuses, unless --force), writes the recorded previous value with \
        optimistic concurrency, and records it in the journal, an annotation and an Event. Running the \
        command is the explicit choice to act; --dry-run asks the API server to judge it without storing.

        Examples:
          trimtab history                                   # find the id
          trimtab rollback c1a2b3c4d --kubeconfig ~/.kube/config
          trimtab rollback --last shop/checkout --dry-run

        The value restored must be within sane limits (never 100,000 replicas, whatever the journal says) \
        and within the bounds of the policy's rule for that knob (--policy; the built-in default without \
        it), unless --force. Like every change it takes the journal's lock: never two writers at once.

        Exit codes: 0 restored (or would be); 1 no such change, or it cannot be rolled back (the error says \
        why); 4 the cluster refused, or another run holds the journal.
        """
    )

    @Argument(help: ArgumentHelp("The journal id of the change (see trimtab history); with --last, a target such as shop/checkout.",
                                 valueName: "id-or-target"))
    var id: String?

    @Flag(help: "Roll back the most recent applied change (of the target given, when one is).")
    var last = false

    @OptionGroup(title: "Cluster") var kube: KubeOptions

    @Option(help: ArgumentHelp("The policy whose bounds a restored value must respect.",
                               discussion: "Defaults to the built-in default policy.", valueName: "path"))
    var policy: String?

    @Flag(help: "Restore even when the object no longer holds the value Trimtab set, or the value is outside the policy's bounds (never outside sane limits).")
    var force = false

    @Flag(help: "Ask the API server to judge the rollback (dryRun=All) without storing anything.")
    var dryRun = false

    @Option(help: ArgumentHelp("Why, for the journal and the Event.", valueName: "text"))
    var reason: String = "rolled back by hand"

    mutating func validate() throws {
        if id == nil && !last { throw ValidationError("say which change: trimtab rollback ID, or --last [TARGET] (see trimtab history)") }
    }

    func run() async throws {
        let client = try kube.clientOrExit()
        let endpoints = HTTPEndpointClient()
        do {
            try await rollback(client: client, endpoints: endpoints)
            await client.shutdown()
            await endpoints.shutdown()
        } catch {
            await client.shutdown()
            await endpoints.shutdown()
            throw error
        }
    }

    func rollback(client: KubeClient, endpoints: HTTPEndpointClient) async throws {
        let journal = kube.journalStore(client: client)
        let entries: [JournalEntry]
        do { entries = try await journal.entries() } catch {
            printError("error: \(error)")
            throw TrimtabExit.invalidInput
        }
        let entry: JournalEntry
        if let id, !last {
            // The journal id, or the plan's action id (target/knob@time) the report shows.
            guard let found = entries.first(where: { $0.id == id || $0.actionID == id }) else {
                printError("error: no change \(id) in the \(journal.location) (\(entries.count) entries; see trimtab history)")
                throw TrimtabExit.invalidInput
            }
            entry = found
        } else {
            let target = id
            let candidates = entries.filter { [.applied, .verified].contains($0.state) && (target == nil || $0.target.description == target) }
            guard let found = candidates.max(by: { ($0.appliedAt ?? 0, $0.createdAt) < ($1.appliedAt ?? 0, $1.createdAt) }) else {
                printError("error: no applied change\(target.map { " of \($0)" } ?? "") to roll back in the \(journal.location)")
                throw TrimtabExit.invalidInput
            }
            entry = found
        }
        let policy: Policy
        do {
            // With several teams' policies, the one that made the change (or covers its target) rules its rollback.
            let policies = try PolicySource.loadSet(self.policy)
            let owner = Cycle.owner(policies: policies, targets: policies.map { _ in [] })(entry)
            policy = policies.first { $0.name == owner } ?? policies[0]
        } catch let error as PolicyError {
            printError(error.description)
            throw TrimtabExit.invalidInput
        } catch {
            printError("error: \(error)")
            throw TrimtabExit.invalidInput
        }
        let cluster = KubeCluster(client: client, http: endpoints, journal: journal)
        do {
            let event = try await Cycle.rollBack(entry, on: cluster, policy: policy, reason: reason, force: force, dryRun: dryRun)
            print("\(event.journalID) \(event.target) \(event.knob): \(event.detail)")
        } catch {
            printError("error: \(error)")
            switch error {
            case .kube, .locked: throw TrimtabExit.clusterFailed
            case .notRollbackable, .journal: throw TrimtabExit.invalidInput
            }
        }
    }
}

/// `trimtab history`: the journal, newest first.
struct JournalHistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "List the changes Trimtab made or began, newest first, from the journal.",
        discussion: """
        Each line: the journal id (for trimtab rollback), when, the target, the knob, before → after, \
        the state (begun, applied, verified, rolling-back, rolled-back, not-applied, superseded) and why. \
        --verbose adds every state change with its reason.

        Examples:
          trimtab history
          trimtab history --target shop/checkout --verbose
          trimtab history --format json | jq '.[0]'
        """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case table, json }

    @OptionGroup(title: "Journal (and the cluster, for a journal in a ConfigMap)") var kube: KubeOptions

    @Option(help: ArgumentHelp("Only this target, e.g. shop/checkout.", valueName: "target"))
    var target: String?

    @Option(help: ArgumentHelp("table or json.", valueName: "format"))
    var format: Format = .table

    @Flag(name: .shortAndLong, help: "Show every state change of each entry.")
    var verbose = false

    func run() async throws {
        // Only a journal in a ConfigMap needs the cluster.
        let client = kube.journalConfigMap != nil ? try kube.clientOrExit() : nil
        let journal: any JournalStore = client.map { kube.journalStore(client: $0) } ?? FileJournal(directory: kube.journalLocation)
        var entries: [JournalEntry]
        do {
            entries = try await journal.entries()
            await client?.shutdown()
        } catch {
            await client?.shutdown()
            printError("error: \(error)")
            throw TrimtabExit.invalidInput
        }
        if let target { entries = entries.filter { $0.target.description == target } }
        entries.reverse()
        switch format {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(entries), as: UTF8.self))
        case .table:
            if entries.isEmpty {
                print("no changes in the \(journal.location)" + (target.map { " for \($0)" } ?? ""))
                return
            }
            for entry in entries {
                // Evaluation time first (what cooldowns count in); the wall clock when it differs.
                let wall = entry.createdWallClock.flatMap { abs($0 - entry.createdAt) >= 60 ? " (written \(Formatting.time($0)))" : nil } ?? ""
                print("\(entry.id)  evaluated \(Formatting.time(entry.createdAt))\(wall)  \(entry.target)  \(entry.knob)  \(entry.before ?? "∅") → \(entry.after)  \(entry.state.rawValue)")
                print("    \(entry.reason)")
                if verbose { for note in entry.notes { print("    · \(note)") } }
            }
        }
    }
}
