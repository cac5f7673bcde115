import Foundation
import Testing
import TrimtabCore
@testable import TrimtabPrometheus
import TrimtabTestSupport

/// Runs `body` with a client of a scripted server, and stops both after.
func withServer<T>(timeout: Double = 5, _ script: @escaping @Sendable (ScriptedHTTPServer.Request) -> ScriptedHTTPServer.Reply,
                   configure: (inout PrometheusConfiguration) -> Void = { _ in },
                   _ body: (PrometheusClient, ScriptedHTTPServer) async throws -> T) async throws -> T {
    let server = try await ScriptedHTTPServer(script)
    var configuration = PrometheusConfiguration(url: server.url, timeoutSeconds: timeout)
    configure(&configuration)
    let client = try PrometheusClient(configuration)
    do {
        let result = try await body(client, server)
        await client.shutdown()
        await server.stop()
        return result
    } catch {
        await client.shutdown()
        await server.stop()
        throw error
    }
}

let matrixResult = """
{"status":"success","data":{"resultType":"matrix","result":[
 {"metric":{"namespace":"shop","deployment":"a"},"values":[[1000,"0.5"],[1030,"NaN"],[1060,"+Inf"],[1090,"-Inf"]]},
 {"metric":{"namespace":"shop","deployment":"b"},"values":[[1060,"2"]]}
]}
"""
let matrixBody = matrixResult + "}"
/// The same answer with a partial-response warning and an informational note, as Thanos and Prometheus 2.45+ send them.
let matrixBodyWithWarnings = matrixResult + #","warnings":["results truncated"],"infos":["PromQL info: metric might not be a counter"]}"#

@Suite("Prometheus client: answers and every error path")
struct PrometheusClientTests {
    /// A multi-tenant Prometheus (Mimir, Cortex) takes its tenant in a header: it goes with every
    /// request, beside the credentials; a header the client or a credential flag owns is refused.
    @Test func tenantHeadersGoWithEveryRequest() async throws {
        try await withServer({ _ in .respond(status: 200, body: matrixBody) }, configure: {
            $0.headers = [("X-Scope-OrgID", "team-a|team-b"), ("X-Trace", "1")]
            $0.basicAuthUser = "reader"
        }) { client, server in
            _ = try await client.queryRange("up", start: 1000, end: 1090, step: 30)
            _ = try await client.query("up")
            #expect(server.requests.count == 2)
            for request in server.requests {
                #expect(request.headers["x-scope-orgid"] == "team-a|team-b" && request.headers["x-trace"] == "1")
                #expect(request.headers["authorization"]?.hasPrefix("Basic ") == true)
            }
        }
        #expect(throws: PrometheusError.self) {
            _ = try PrometheusClient(PrometheusConfiguration(url: "http://127.0.0.1:1", headers: [("Authorization", "Bearer x")]))
        }
    }

    @Test func decodesAMatrixWithSpecialValuesAndWarnings() async throws {
        let response = try await withServer({ _ in .respond(status: 200, body: matrixBodyWithWarnings) }) { client, server in
            let response = try await client.queryRange("up{job=\"a b\"}", start: 1000, end: 1090, step: 30)
            let request = try #require(server.requests.first)
            #expect(request.method == "POST")
            #expect(request.uri == "/api/v1/query_range")
            #expect(request.headers["content-type"] == "application/x-www-form-urlencoded")
            #expect(request.form["query"] == "up{job=\"a b\"}")
            #expect(request.form["start"] == "1000.000" && request.form["end"] == "1090.000" && request.form["step"] == "30.000")
            #expect(request.form["timeout"] == "5s")
            // Thanos fails loudly instead of answering partially.
            #expect(request.form["partial_response"] == "false")
            return response
        }
        #expect(response.warnings == ["results truncated"])
        #expect(response.infos == ["PromQL info: metric might not be a counter"])
        guard case .matrix(let series) = response.result else { Issue.record("not a matrix"); return }
        #expect(series.count == 2)
        let values = series[0].samples.map(\.value)
        #expect(values[0] == 0.5 && values[1].isNaN && values[2] == .infinity && values[3] == -.infinity)
        #expect(series[1].labels == ["namespace": "shop", "deployment": "b"])
    }

    @Test(arguments: [
        (#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1"},"value":[5,"3"]}]}}"#, "vector"),
        (#"{"status":"success","data":{"resultType":"scalar","result":[5,"3"]}}"#, "scalar"),
        (#"{"status":"success","data":{"resultType":"string","result":[5,"hello"]}}"#, "string"),
    ])
    func decodesEveryResultType(_ body: String, _ kind: String) async throws {
        let response = try await withServer({ _ in .respond(status: 200, body: body) }) { client, _ in
            try await client.query("x", at: 5)
        }
        switch (response.result, kind) {
        case (.vector(let series), "vector"): #expect(series == [RawSeries(labels: ["a": "1"], samples: [Sample(time: 5, value: 3)])])
        case (.scalar(let sample), "scalar"): #expect(sample == Sample(time: 5, value: 3))
        case (.string(let time, let value), "string"): #expect(time == 5 && value == "hello")
        default: Issue.record("wrong result \(response.result) for \(kind)")
        }
    }

    struct ErrorCase: Sendable, CustomTestStringConvertible {
        var name: String
        var status: Int
        var body: String
        var contentType = "application/json"
        var expected: @Sendable (String, String) -> PrometheusError
        var testDescription: String { name }
    }

    static let errorCases: [ErrorCase] = [
        ErrorCase(name: "400 bad_data", status: 400, body: #"{"status":"error","errorType":"bad_data","error":"parse error at char 5"}"#,
                  expected: { .badQuery(server: $0, query: $1, message: "parse error at char 5") }),
        ErrorCase(name: "422 execution", status: 422, body: #"{"status":"error","errorType":"execution","error":"many-to-many matching not allowed"}"#,
                  expected: { .execution(server: $0, query: $1, message: "many-to-many matching not allowed") }),
        ErrorCase(name: "503 timeout", status: 503, body: #"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#,
                  expected: { .timeout(server: $0, query: $1, seconds: 5) }),
        ErrorCase(name: "503 from a proxy", status: 503, body: "<html><body>Service Unavailable</body></html>", contentType: "text/html",
                  expected: { .unavailable(server: $0, query: $1, status: 503, message: "<html><body>Service Unavailable</body></html>") }),
        ErrorCase(name: "500 internal", status: 500, body: #"{"status":"error","errorType":"internal","error":"boom"}"#,
                  expected: { .unavailable(server: $0, query: $1, status: 500, message: "boom") }),
        // vmauth's answer to an unknown bearer token: a 400 in plain text is not a verdict on the query.
        ErrorCase(name: "400 from an auth gateway", status: 400, body: #"cannot find the provided auth token "x" in config"#, contentType: "text/plain",
                  expected: { .http(server: $0, query: $1, status: 400, message: #"cannot find the provided auth token "x" in config"#) }),
        ErrorCase(name: "401", status: 401, body: "Unauthorized", contentType: "text/plain",
                  expected: { .http(server: $0, query: $1, status: 401, message: "Unauthorized") }),
        ErrorCase(name: "404", status: 404, body: "404 page not found", contentType: "text/plain",
                  expected: { .http(server: $0, query: $1, status: 404, message: "404 page not found") }),
        ErrorCase(name: "malformed JSON", status: 200, body: #"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{}, "values":[[1,2]]}]}}"#,
                  expected: { .malformedResponse(server: $0, query: $1, detail: "") }),
        ErrorCase(name: "not JSON at all", status: 200, body: "hello", contentType: "text/plain",
                  expected: { .malformedResponse(server: $0, query: $1, detail: "") }),
        ErrorCase(name: "a value that is not a number", status: 200, body: #"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{}, "values":[[1,"x"]]}]}}"#,
                  expected: { .malformedResponse(server: $0, query: $1, detail: "") }),
    ]

    @Test(arguments: errorCases)
    func mapsErrorsToTypedErrors(_ item: ErrorCase) async throws {
        let query = "rate(x[5m])"
        try await withServer({ _ in .respond(status: item.status, body: item.body, contentType: item.contentType) }) { client, server in
            do throws(PrometheusError) {
                _ = try await client.queryRange(query, start: 0, end: 60, step: 30)
                Issue.record("no error")
            } catch {
                let expected = item.expected(server.url, query)
                if case .malformedResponse = expected {
                    guard case .malformedResponse(let url, let failedQuery, let detail) = error else {
                        Issue.record("expected malformedResponse, got \(error)"); return
                    }
                    #expect(url == server.url && failedQuery == query && !detail.isEmpty)
                } else {
                    #expect(error == expected)
                }
                // Every message names the server and the query.
                #expect(error.description.contains(server.url))
                #expect(error.description.contains(query))
            }
        }
    }

    /// The error can only come from the client's own timeout; the time limit only keeps a client that
    /// never gives up from hanging the run (it is not a speed assertion: a loaded machine once took 38 s
    /// to tear this test down, which an upper bound on the elapsed time failed).
    @Test(.timeLimit(.minutes(2))) func aHangPastTheTimeoutIsATimeout() async throws {
        try await withServer(timeout: 1, { _ in .hang }) { client, server in
            do throws(PrometheusError) {
                _ = try await client.queryRange("x", start: 0, end: 60, step: 30)
                Issue.record("no error")
            } catch {
                #expect(error == .timeout(server: server.url, query: "x", seconds: 1))
                #expect(error.description.contains("did not answer within 1s"))
            }
        }
    }

    @Test func aClosedConnectionIsAConnectionError() async throws {
        try await withServer({ _ in .close }) { client, _ in
            do throws(PrometheusError) {
                _ = try await client.queryRange("x", start: 0, end: 60, step: 30)
                Issue.record("no error")
            } catch {
                guard case .connection = error else { Issue.record("got \(error)"); return }
            }
        }
    }

    @Test func aRefusedConnectionIsAConnectionError() async throws {
        let server = try await ScriptedHTTPServer { _ in .close }
        let url = server.url
        await server.stop()
        let client = try PrometheusClient(PrometheusConfiguration(url: url, timeoutSeconds: 2))
        do throws(PrometheusError) {
            _ = try await client.queryRange("x", start: 0, end: 60, step: 30)
            Issue.record("no error")
        } catch {
            guard case .connection(let server, _, _) = error else { Issue.record("got \(error)"); await client.shutdown(); return }
            #expect(server == url)
            #expect(error.description.contains("could not reach Prometheus at \(url)"))
        }
        await client.shutdown()
    }

    @Test func sendsTheBearerTokenFromItsFileAndRereadsIt() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("token-\(UUID().uuidString)")
        try "s3cret-token\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        try await withServer({ _ in .respond(status: 200, body: matrixBody) }, configure: { $0.bearerTokenFile = file.path }) { client, server in
            _ = try await client.queryRange("x", start: 0, end: 60, step: 30)
            try "rotated-token".write(to: file, atomically: true, encoding: .utf8)
            _ = try await client.queryRange("x", start: 0, end: 60, step: 30)
            #expect(server.requests.map { $0.headers["authorization"] } == ["Bearer s3cret-token", "Bearer rotated-token"])
        }
    }

    @Test func sendsBasicAuthAndNeverShowsTheURLsCredentials() async throws {
        let server = try await ScriptedHTTPServer { _ in .respond(status: 401, body: "no") }
        let url = "http://alice:hunter2@127.0.0.1:\(server.port)/?token=abc"
        let client = try PrometheusClient(PrometheusConfiguration(url: url))
        do throws(PrometheusError) {
            _ = try await client.queryRange("x", start: 0, end: 60, step: 30)
            Issue.record("no error")
        } catch {
            #expect(!error.description.contains("hunter2"))
            #expect(!error.description.contains("abc"))
            #expect(error.description.contains("http://127.0.0.1:\(server.port)/"))
        }
        #expect(server.requests.first?.headers["authorization"] == "Basic " + Data("alice:hunter2".utf8).base64EncodedString())
        #expect(client.displayName == "http://127.0.0.1:\(server.port)/")
        await client.shutdown()
        await server.stop()
    }

    @Test func credentialsInTheURLNeverReachAnError() async throws {
        let port = try await { () async throws -> Int in
            let server = try await ScriptedHTTPServer { _ in .close }
            let port = server.port
            await server.stop()
            return port
        }()
        let client = try PrometheusClient(PrometheusConfiguration(url: "http://alice:hunter2@127.0.0.1:\(port)/prom?token=abc", timeoutSeconds: 2))
        do throws(PrometheusError) {
            _ = try await client.queryRange("x", start: 0, end: 60, step: 30)
            Issue.record("no error")
        } catch {
            #expect(!error.description.contains("hunter2") && !error.description.contains("alice") && !error.description.contains("abc"))
            #expect(error.description.contains("http://127.0.0.1:\(port)/prom"))
        }
        await client.shutdown()
    }

    @Test func rejectsAURLThatIsNotHTTP() {
        #expect(throws: PrometheusError.self) { try PrometheusClient(PrometheusConfiguration(url: "prometheus:9090")) }
    }
}

@Suite("SnapshotReader: one query per indicator, failures make the run unknown")
struct SnapshotReaderTests {
    static let policyText = """
    apiVersion: trimtab/v1
    kind: Policy
    spec:
      indicators:
        a: {query: 'sum by ($by) (a{$selector})', unit: ratio}
        b: {query: 'sum by ($by) (b{$selector})', unit: ratio}
        unused: {query: 'sum by ($by) (c{$selector})', unit: ratio}
      checks:
        a: {worse: higher, warning: 0.5, critical: 0.9}
        b: {worse: higher, warning: 0.5, critical: 0.9}
    """

    @Test func aFailingIndicatorMakesTheAssessmentUnknown() async throws {
        let policy = try PolicyLoader.load(text: Self.policyText, file: "p.yaml")
        let time = 1090.0
        try await withServer({ request in
            if request.form["query"]?.contains("(b{") == true {
                return .respond(status: 503, body: #"{"status":"error","errorType":"unavailable","error":"too many queries"}"#)
            }
            return .respond(status: 200, body: matrixBody)
        }) { client, server in
            let result = await SnapshotReader(source: client).read(policy: policy, at: time)
            // One query per checked indicator; the unused one is not sent.
            #expect(server.requests.count == 2)
            #expect(result.queriesSent == 2)
            #expect(result.errors.count == 1)
            let assessment = Assessor.assess(result.snapshot, policy: policy)
            #expect(assessment.status == .unknown)
            #expect(assessment.score == nil)
            #expect(assessment.failures["b"]?.contains("answered 503 (Service Unavailable): too many queries") == true)
        }
    }

    /// A partial answer fails its indicator (no action on it); an informational note is only a note.
    @Test func aWarningFailsTheIndicatorAndAnInfoDoesNot() async throws {
        let policy = try PolicyLoader.load(text: Self.policyText, file: "p.yaml")
        try await withServer({ request in
            if request.form["query"]?.contains("(b{") == true { return .respond(status: 200, body: matrixBodyWithWarnings) }
            return .respond(status: 200, body: matrixResult + #","infos":["PromQL info: metric might not be a counter"]}"#)
        }) { client, _ in
            let result = await SnapshotReader(source: client).read(policy: policy, at: 1090)
            #expect(result.errors.count == 1)
            let assessment = Assessor.assess(result.snapshot, policy: policy)
            #expect(!assessment.isComplete)
            #expect(assessment.failures.keys.sorted() == ["b"])
            #expect(assessment.failures["b"]?.contains("answered with warnings, so the data may be partial (results truncated)") == true)
            #expect(assessment.notes.contains("Prometheus noted for indicator a: PromQL info: metric might not be a counter"))
        }
    }

    @Test func capsTheQueriesInFlight() async throws {
        let indicators = (0..<12).map { "  i\($0): {query: 'sum by ($by) (m\($0){$selector})', unit: ratio}" }.joined(separator: "\n")
        let checks = (0..<12).map { "  i\($0): {worse: higher, warning: 0.5, critical: 0.9}" }.joined(separator: "\n")
        let text = "apiVersion: trimtab/v1\nkind: Policy\nspec:\n  indicators:\n\(indicators.replacingOccurrences(of: "\n  ", with: "\n    ").replacingOccurrences(of: "^  ", with: "    ", options: .regularExpression))\n  checks:\n\(checks.replacingOccurrences(of: "\n  ", with: "\n    ").replacingOccurrences(of: "^  ", with: "    ", options: .regularExpression))\n"
        let policy = try PolicyLoader.load(text: text, file: "p.yaml")
        let gauge = InFlightGauge()
        try await withServer({ _ in .respond(status: 200, body: matrixBody, delay: .milliseconds(100)) }) { client, _ in
            let counting = CountingSource(inner: client, gauge: gauge)
            let result = await SnapshotReader(source: counting, maxConcurrentQueries: 3).read(policy: policy, at: 1090)
            #expect(result.queriesSent == 12)
            #expect(gauge.maximum <= 3)
            #expect(gauge.maximum >= 1)
        }
    }
}

/// Counts queries in flight through a source.
final class InFlightGauge: @unchecked Sendable {
    private let lock = NSLock()
    private var current = 0
    private(set) var maximum = 0

    func begin() {
        lock.lock(); current += 1; maximum = max(maximum, current); lock.unlock()
    }

    func end() {
        lock.lock(); current -= 1; lock.unlock()
    }
}

struct CountingSource: MetricsSource {
    var inner: PrometheusClient
    var gauge: InFlightGauge
    var displayName: String { inner.displayName }

    func queryRange(_ promql: String, start: Double, end: Double, step: Double) async throws(PrometheusError) -> QueryResponse {
        gauge.begin()
        defer { gauge.end() }
        return try await inner.queryRange(promql, start: start, end: end, step: step)
    }
}
