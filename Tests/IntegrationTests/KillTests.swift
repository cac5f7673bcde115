import Foundation
import Testing
@testable import TrimtabCore
import TrimtabKube
import TrimtabKubeSandbox
import TrimtabSandbox

/// The real binary, `analyze --apply`, killed with SIGKILL at spread-out moments of its run; then a
/// clean run. After each, the journal agrees with the cluster, nothing was applied twice and every
/// change the cluster holds has its annotation and one Event.
@Suite("SIGKILL at random moments, then a clean run", .serialized)
struct KillTests {
    /// `trimtab`, built beside the test bundle.
    static var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("trimtab").path
    }

    @Test func theJournalAgreesWithTheClusterAfterEveryKill() async throws {
        let binary = Self.binary
        try #require(FileManager.default.isExecutableFile(atPath: binary), "no trimtab binary at \(binary)")
        let step = DemoScenario.scrapeInterval
        let end = (alignedNow() / step).rounded(.down) * step
        // Spread over the run: before, during and after the cluster side (a run takes about half a second here).
        let delays = [40, 150, 200, 215, 230, 245, 260, 275, 290, 310, 350, 500].map { Duration.milliseconds($0) }
        var lines: [String] = []
        try await withTemporaryDirectory { dir in
            try await withPrometheus(DemoScenario.openMetrics(end: end)) { prometheus in
                for (index, delay) in delays.enumerated() {
                    let sandbox = try await KubeSandbox.start(configuration: .demo)
                    let kubeconfig = dir.appendingPathComponent("kubeconfig-\(index)").path
                    try sandbox.kubeconfig(token: KubeSandbox.adminToken, tokenInServerPath: false).write(toFile: kubeconfig, atomically: true, encoding: .utf8)
                    let journal = dir.appendingPathComponent("journal-\(index)").path
                    let arguments = ["analyze", "--prometheus", prometheus.url, "--at", "\(Int(end))", "--kubeconfig", kubeconfig,
                                     "--journal", journal, "--apply", "--quiet", "--output", dir.appendingPathComponent("r-\(index).md").path]
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: binary)
                    process.arguments = arguments
                    process.standardOutput = FileHandle.nullDevice
                    process.standardError = FileHandle.nullDevice
                    try process.run()
                    try await Task.sleep(for: delay)
                    kill(process.processIdentifier, SIGKILL)
                    process.waitUntilExit()
                    let before = try FileJournal(directory: journal).entries().map(\.state.rawValue).sorted()

                    // The clean run, in-process.
                    let (code, errors) = await capturingStandardError { await trimtab(arguments) }
                    #expect(code == 0, "kill after \(delay): \(errors)")
                    let entries = try FileJournal(directory: journal).entries()
                    #expect(Set(entries.map(\.actionID)).count == entries.count, "an action journaled twice")
                    #expect(entries.allSatisfy { !$0.state.isOpen || $0.state == .applied }, "\(entries.map(\.state))")
                    for entry in entries {
                        let holds = entry.knob == .replicas ? replicas(in: sandbox, of: entry.workload.name).map(String.init)
                            : env(entry.knob.settingName ?? "", in: sandbox, of: entry.workload.name)
                        switch entry.state {
                        case .applied: #expect(entry.holdsAfter(holds), "\(entry.target) applied but holds \(holds ?? "nothing")")
                        case .notApplied: #expect(entry.holdsBefore(holds), "\(entry.target) not-applied but holds \(holds ?? "nothing")")
                        default: break
                        }
                        if entry.state == .applied {
                            #expect(entry.recorded == true)
                            let events = sandbox.store.objects(apiVersion: "v1", kind: "Event", namespace: "shop")
                                .filter { $0[path: ["metadata", "name"]]?.stringValue?.contains(entry.id) == true }
                            #expect(events.count == 1, "\(entry.target): \(events.count) Events")
                        }
                    }
                    // Nothing applied twice: one successful write per changed knob, across both runs.
                    let knobWrites = sandbox.requests.filter { ($0.method == "PUT" && $0.path.hasSuffix("/scale"))
                        || ($0.method == "PATCH" && $0.contentType == "application/strategic-merge-patch+json") }
                        .filter { ($0.status ?? 0) < 300 && !$0.query.contains("dryRun") }
                    #expect(knobWrites.count == entries.filter { $0.state == .applied }.count, "\(knobWrites.map(\.path))")
                    lines.append("kill after \(delay): journal before the clean run [\(before.joined(separator: ", "))], after: \(entries.map(\.state.rawValue).sorted().joined(separator: ", ")); knob writes \(knobWrites.count)")
                    await sandbox.stop()
                }
            }
        }
        for line in lines { print("kill-matrix | \(line)") }
    }
}
