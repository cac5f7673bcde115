import TrimtabCore
import TrimtabCycle

/// A metrics source for one cycle of several teams' policies: a range query sent alike (the same
/// PromQL, range and step) by two policies goes to the server once, and the second is given the
/// first's answer, failure included. Lives for one cycle, so nothing stale is ever answered.
actor SharedAnswers: MetricsSource {
    struct Key: Hashable {
        var promql: String
        var start: Double
        var end: Double
        var step: Double
    }

    let base: any MetricsSource
    nonisolated let displayName: String
    private var answers: [Key: Task<Result<QueryResponse, PrometheusError>, Never>] = [:]
    /// How many queries were answered from an earlier one.
    private(set) var shared = 0

    init(_ base: any MetricsSource) {
        self.base = base
        displayName = base.displayName
    }

    func queryRange(_ promql: String, start: Double, end: Double, step: Double) async throws(PrometheusError) -> QueryResponse {
        let key = Key(promql: promql, start: start, end: end, step: step)
        if let task = answers[key] {
            shared += 1
            return try await task.value.get()
        }
        let base = self.base
        let task = Task { () async -> Result<QueryResponse, PrometheusError> in
            do throws(PrometheusError) { return .success(try await base.queryRange(promql, start: start, end: end, step: step)) } catch { return .failure(error) }
        }
        answers[key] = task
        // The reader's deadline cancels its queries: pass that on to the one in flight.
        return try await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }.get()
    }

    nonisolated func restartMarker() async -> String? { await base.restartMarker() }
}

extension SnapshotReader {
    /// The same reader over answers shared for one cycle of several policies.
    public func sharingAnswers() -> any SnapshotSource {
        guard !(source is SharedAnswers) else { return self }
        var reader = self
        reader.source = SharedAnswers(source)
        return reader
    }

    /// The namespaces whose labels include every one of `labels`, from kube-state-metrics'
    /// `kube_namespace_labels` (which carries a namespace's labels as `label_<name>`, non-alphanumeric
    /// characters as `_`, for the labels its `--metric-labels-allowlist` names). One query at `time`.
    public func namespaces(labelled labels: [String: String], at time: Double) async throws -> [String] {
        let matchers = labels.sorted { $0.key < $1.key }.map { key, value in
            "label_\(String(key.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" }))=\"\(PromQL.escape(value))\""
        }
        let promql = "group by (namespace) (kube_namespace_labels{\(matchers.joined(separator: ","))})"
        let answer = try await source.queryRange(promql, start: time, end: time, step: 60)
        let found = Set(answer.result.series.compactMap { $0.labels["namespace"] }.filter { !$0.isEmpty })
        guard !found.isEmpty else {
            // Nothing matched: no namespace has the labels, or kube-state-metrics does not export them.
            let any = try await source.queryRange("count(kube_namespace_labels)", start: time, end: time, step: 60)
            if any.result.series.isEmpty {
                throw NamespaceLookupError(description: "\(displayName) has no kube_namespace_labels series; run kube-state-metrics, with --metric-labels-allowlist=namespaces=[\(labels.keys.sorted().joined(separator: ","))], or give Trimtab a cluster")
            }
            return []
        }
        return found.sorted()
    }
}
