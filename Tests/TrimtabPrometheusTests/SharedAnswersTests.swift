import Foundation
import Testing
import TrimtabCore
import TrimtabCycle
@testable import TrimtabPrometheus

/// A source that answers from a table and records every query it was sent.
final class TableSource: MetricsSource, @unchecked Sendable {
    // @unchecked: `sent` is only touched under `lock`.
    private let lock = NSLock()
    private var sent: [String] = []
    let answers: [String: [RawSeries]]
    let displayName = "table"

    init(_ answers: [String: [RawSeries]]) { self.answers = answers }

    var queries: [String] {
        lock.lock()
        defer { lock.unlock() }
        return sent
    }

    private func record(_ promql: String) {
        lock.lock()
        sent.append(promql)
        lock.unlock()
    }

    func queryRange(_ promql: String, start: Double, end: Double, step: Double) async throws(PrometheusError) -> QueryResponse {
        record(promql)
        guard let series = answers[promql] else { throw .badQuery(server: "table", query: promql, message: "no answer in the table") }
        return QueryResponse(result: .matrix(series))
    }
}

@Suite struct SharedAnswersTests {
    static func series(_ labels: [String: String]) -> RawSeries {
        RawSeries(labels: labels, samples: Samples([Sample(time: 100, value: 1)]))
    }

    @Test func aQuerySentAlikeByTwoPoliciesGoesOutOnce() async throws {
        let table = TableSource(["up": [Self.series(["job": "a"])]])
        let shared = SharedAnswers(table)
        let first = try await shared.queryRange("up", start: 0, end: 100, step: 10)
        let second = try await shared.queryRange("up", start: 0, end: 100, step: 10)
        #expect(first == second)
        // Another range is another query.
        _ = try await shared.queryRange("up", start: 10, end: 100, step: 10)
        #expect(table.queries == ["up", "up"])
        #expect(await shared.shared == 1)
        // A failure is shared too, not retried behind the first policy's back.
        for _ in 0..<2 { await #expect(throws: PrometheusError.self) { try await shared.queryRange("nope", start: 0, end: 1, step: 1) } }
        #expect(table.queries.filter { $0 == "nope" }.count == 1)
    }

    @Test func namespacesByLabelComeFromKubeStateMetrics() async throws {
        let promql = "group by (namespace) (kube_namespace_labels{label_team=\"payments\",label_tier_kind=\"web\"})"
        let table = TableSource([promql: [Self.series(["namespace": "pay-b"]), Self.series(["namespace": "pay-a"])]])
        let reader = SnapshotReader(source: table)
        // A label key's '.', '/' and '-' are '_' in kube-state-metrics' label names.
        let found = try await reader.namespaces(labelled: ["team": "payments", "tier.kind": "web"], at: 100)
        #expect(found == ["pay-a", "pay-b"])

        // No namespace has the labels, though kube-state-metrics exports some: none, not an error.
        let none = TableSource(["group by (namespace) (kube_namespace_labels{label_team=\"x\"})": [],
                                "count(kube_namespace_labels)": [Self.series([:])]])
        #expect(try await SnapshotReader(source: none).namespaces(labelled: ["team": "x"], at: 100) == [])
        // No kube_namespace_labels at all: an error that says what to run.
        let bare = TableSource(["group by (namespace) (kube_namespace_labels{label_team=\"x\"})": [], "count(kube_namespace_labels)": []])
        do {
            _ = try await SnapshotReader(source: bare).namespaces(labelled: ["team": "x"], at: 100)
            Issue.record("found namespaces without kube_namespace_labels")
        } catch {
            #expect("\(error)".contains("--metric-labels-allowlist=namespaces=[team]"), "\(error)")
        }
    }
}
