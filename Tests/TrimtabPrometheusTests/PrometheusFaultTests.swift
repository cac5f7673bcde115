import Foundation
import Testing
import TrimtabCore
@testable import TrimtabPrometheus
import TrimtabTestSupport

/// What a misbehaving Prometheus (or the proxy in front of it) does, and what Trimtab says of it.
@Suite("Prometheus faults: cut-off answers, echoed credentials, deadlines, refused connections")
struct PrometheusFaultTests {
    @Test func aCutOffAnswerIsNotAConnectionError() async throws {
        try await withServer({ _ in .cutOff(status: 200, body: #"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{}"#) }) { client, _ in
            do throws(PrometheusError) {
                _ = try await client.queryRange("up", start: 0, end: 60, step: 30)
                Issue.record("a cut-off answer was accepted")
            } catch {
                guard case .malformedResponse(_, _, let detail) = error else { Issue.record("\(error)"); return }
                #expect(detail.contains("was cut off before its end"), "\(detail)")
                #expect(!error.description.contains("could not reach"))
            }
        }
    }

    /// A proxy's error page that echoes the request, Authorization header included.
    @Test func credentialsAServerEchoesAreRedacted() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trimtab-token-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let tokenFile = directory.appendingPathComponent("token")
        let token = "tok-9f8e7d6c5b4a39281706"
        try token.write(to: tokenFile, atomically: true, encoding: .utf8)
        try await withServer({ request in
            let echoed = "upstream refused: Authorization: \(request.headers["authorization"] ?? "") token=\(token) url=http://admin:hunter2hunter2@prom:9090/"
            return .respond(status: 502, body: #"{"status":"error","errorType":"server_error","error":"\#(echoed)"}"#)
        }, configure: { $0.bearerTokenFile = tokenFile.path }) { client, _ in
            do throws(PrometheusError) {
                _ = try await client.queryRange("up", start: 0, end: 60, step: 30)
                Issue.record("no error")
            } catch {
                let text = error.description
                #expect(!text.contains(token), "\(text)")
                #expect(!text.contains("hunter2hunter2"), "\(text)")
                #expect(text.contains("[redacted]"))
                #expect(text.contains("answered 502"))
            }
        }
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func shownURLsLoseCredentialsQueryAndFragment() {
        #expect(Redaction.displayURL("https://u:pa55word@prom.example:9090/prometheus?token=abc#frag-s3cret") == "https://prom.example:9090/prometheus")
        #expect(Redaction.scrub(#"{"password": "pa55word", "api_key": "k-123456", "Authorization": "Bearer abcdefghij"}"#)
                == #"{"password": "[redacted]", "api_key": "[redacted]", "Authorization": "Bearer [redacted]"}"#)
    }

    /// A Prometheus that never answers: the whole read ends at its deadline. Counted, not timed: of
    /// ten queries, four at a time, only the first four are ever sent; the rest fail unsent.
    @Test func aHangingServerCostsOneDeadline() async throws {
        let policy = try PolicyLoader.load(text: """
        apiVersion: trimtab/v1
        kind: Policy
        spec:
          indicators:
        \((0..<10).map { "    i\($0): {query: 'sum by ($by) (m\($0){$selector})', unit: ratio}" }.joined(separator: "\n"))
          checks:
        \((0..<10).map { "    i\($0): {worse: higher, warning: 0.5, critical: 0.9}" }.joined(separator: "\n"))
        """, file: "p.yaml")
        try await withServer(timeout: 30, { _ in .hang }) { client, server in
            let reader = SnapshotReader(source: client, maxConcurrentQueries: 4, deadlineSeconds: 1)
            let result = await reader.read(policy: policy, at: 1000)
            #expect(result.errors.count == 10)
            #expect(server.requests.count == 4)
            #expect(result.errors.allSatisfy { if case .timeout(_, _, let seconds) = $0 { return seconds == 1 } else { return false } })
            #expect(Assessor.assess(result.snapshot, policy: policy).failures.count == 10)
        }
    }

    @Test func aRefusedConnectionIsReportedAsRefused() async throws {
        // A port that was just listened on and is closed now.
        let closed = try await ScriptedHTTPServer { _ in .close }
        let port = closed.port
        await closed.stop()
        let client = try PrometheusClient(PrometheusConfiguration(url: "http://127.0.0.1:\(port)", timeoutSeconds: 30))
        do throws(PrometheusError) {
            _ = try await client.queryRange("up", start: 0, end: 60, step: 30)
            Issue.record("no error")
        } catch {
            guard case .connection(_, _, let detail) = error else { Issue.record("\(error)"); await client.shutdown(); return }
            #expect(detail.lowercased().contains("refused"), "\(detail)")
        }
        await client.shutdown()
    }
}
