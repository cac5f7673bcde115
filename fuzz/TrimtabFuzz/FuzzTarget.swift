import Foundation
@testable import TrimtabCore
@testable import TrimtabKube
@testable import TrimtabKubeSandbox
@testable import TrimtabPrometheus

/// What the fuzzers feed: the readers of text Trimtab does not write itself. Each takes any bytes and
/// must return (never trap, never hang); where a second reading of the same input is at hand, the two
/// must agree. `run` says what went wrong, or nil; under libFuzzer a non-nil answer is a crash.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// A policy file: `PolicyLoader.load`, every error placed at the file.
    case policy
    /// A Prometheus `/api/v1/query_range` answer, decoded whole and as it streams in chunks (the first
    /// byte sets the chunk size): both must give the same answer whenever both read it.
    case prometheusAnswer = "prometheus-answer"
    /// A kubeconfig: `KubeConfiguration.parse`, every error naming the file.
    case kubeconfig
    /// The sandbox API server's patch handling: the first byte picks merge, strategic merge or JSON
    /// patch; the rest is the patch and the object, as JSON, one line each. The sandbox's JSON reader
    /// must read back what its writer wrote, and a merge patch applied twice must equal it applied once.
    case patch

    public var summary: String {
        switch self {
        case .policy: "the policy parser and its checks (PolicyLoader.load)"
        case .prometheusAnswer: "the Prometheus answer decoder, whole and streaming, which must agree"
        case .kubeconfig: "the kubeconfig reader (KubeConfiguration.parse)"
        case .patch: "the sandbox's JSON reader and its merge, strategic merge and JSON patches"
        }
    }

    /// Runs one input; the fault found, or nil.
    public func run(_ bytes: [UInt8]) -> String? {
        switch self {
        case .policy: Self.policy(bytes)
        case .prometheusAnswer: Self.prometheusAnswer(bytes)
        case .kubeconfig: Self.kubeconfig(bytes)
        case .patch: Self.patch(bytes)
        }
    }

    static func policy(_ bytes: [UInt8]) -> String? {
        do {
            _ = try PolicyLoader.load(text: String(decoding: bytes, as: UTF8.self), file: "fuzz.yaml")
        } catch {
            if error.diagnostics.isEmpty { return "a policy was rejected with no diagnostic" }
            if let unplaced = error.diagnostics.first(where: { !$0.description.hasPrefix("fuzz.yaml") }) {
                return "a diagnostic that does not name the file: \(unplaced)"
            }
        }
        return nil
    }

    static func prometheusAnswer(_ bytes: [UInt8]) -> String? {
        guard let first = bytes.first else { return nil }
        let body = Array(bytes.dropFirst())
        let chunk = Int(first % 64) + 1
        let whole = try? QueryResponse.decode(Data(body))
        var decoder = StreamingDecoder()
        var streamed: (envelope: APIEnvelope, response: QueryResponse?)?
        do {
            var offset = 0
            while offset < body.count {
                try decoder.feed(body[offset..<min(body.count, offset + chunk)])
                offset += chunk
            }
            streamed = try decoder.finish()
        } catch {
            streamed = nil
        }
        guard let whole, let streamed else { return nil }
        return disagreement(whole, streamed)
    }

    /// How two decodings of one answer differ, or nil when they agree.
    static func disagreement(_ whole: (envelope: APIEnvelope, response: QueryResponse?),
                             _ streamed: (envelope: APIEnvelope, response: QueryResponse?)) -> String? {
        if whole.envelope.status != streamed.envelope.status || whole.envelope.error != streamed.envelope.error {
            return "the streaming decoder read status \(streamed.envelope.status) (\(streamed.envelope.error ?? "")), the whole answer \(whole.envelope.status) (\(whole.envelope.error ?? ""))"
        }
        if let a = whole.response?.result, let b = streamed.response?.result, let difference = difference(a, b) {
            return "the streaming decoder and the whole answer differ: \(difference)"
        }
        if (whole.response == nil) != (streamed.response == nil) {
            return "one decoder read an answer, the other none"
        }
        return nil
    }

    /// Where two results differ (a NaN equals a NaN here: both read the same text), or nil.
    static func difference(_ a: QueryResponse.Result, _ b: QueryResponse.Result) -> String? {
        func kind(_ result: QueryResponse.Result) -> String {
            switch result {
            case .matrix: "matrix"
            case .vector: "vector"
            case .scalar: "scalar"
            case .string: "string"
            }
        }
        guard kind(a) == kind(b) else { return "\(kind(a)) against \(kind(b))" }
        if case .string(let t1, let v1) = a, case .string(let t2, let v2) = b { return t1 == t2 && v1 == v2 ? nil : "the strings differ" }
        let (x, y) = (a.series, b.series)
        guard x.count == y.count else { return "\(x.count) series against \(y.count)" }
        func same(_ p: Double, _ q: Double) -> Bool { p == q || (p.isNaN && q.isNaN) }
        for (index, (s1, s2)) in zip(x, y).enumerated() {
            guard s1.labels == s2.labels else { return "series \(index): labels \(s1.labels) against \(s2.labels)" }
            guard s1.samples.count == s2.samples.count else { return "series \(index): \(s1.samples.count) samples against \(s2.samples.count)" }
            for (p1, p2) in zip(s1.samples, s2.samples) where !same(p1.time, p2.time) || !same(p1.value, p2.value) {
                return "series \(index): (\(p1.time), \(p1.value)) against (\(p2.time), \(p2.value))"
            }
        }
        return nil
    }

    static func kubeconfig(_ bytes: [UInt8]) -> String? {
        let file = "/fuzz/kubeconfig"
        do {
            _ = try KubeConfiguration.parse(kubeconfig: String(decoding: bytes, as: UTF8.self), file: file)
        } catch {
            if !error.description.contains(file) { return "an error that does not name the kubeconfig: \(error)" }
        }
        return nil
    }

    static func patch(_ bytes: [UInt8]) -> String? {
        guard let first = bytes.first else { return nil }
        let types: [PatchType] = [.merge, .strategicMerge, .json]
        let type = types[Int(first) % types.count]
        let rest = bytes.dropFirst()
        let newline = rest.firstIndex(of: 0x0A) ?? rest.endIndex
        guard let patch = try? JSONValue.parse(Array(rest[rest.startIndex..<newline])) else { return nil }
        if let fault = roundTrip(patch) { return fault }
        let original = newline < rest.endIndex ? (try? JSONValue.parse(Array(rest[(newline + 1)...]))) ?? .object([:]) : .object([:])
        if let fault = roundTrip(original) { return fault }
        guard let once = try? type.apply(patch, to: original) else { return nil }
        if let fault = roundTrip(once) { return fault }
        if type == .merge, let twice = try? type.apply(patch, to: once), twice != once {
            return "a merge patch applied twice gave \(twice.jsonText), once \(once.jsonText)"
        }
        return nil
    }

    /// What the sandbox writes, it reads back as the same value.
    static func roundTrip(_ value: JSONValue) -> String? {
        let text = value.jsonText
        guard let read = try? JSONValue.parse(text) else { return "the sandbox wrote JSON it cannot read: \(text.prefix(200))" }
        return read == value ? nil : "the sandbox read back \(read.jsonText.prefix(200)) for \(text.prefix(200))"
    }
}

/// Runs inputs from files and directories without libFuzzer: the corpus as a regression check, and a
/// crash libFuzzer saved, replayed under a debugger.
public enum FuzzReplay {
    /// The inputs under `paths` (files, and the files directly in directories), sorted by path.
    public static func inputs(_ paths: [String]) throws -> [(path: String, bytes: [UInt8])] {
        var result: [(String, [UInt8])] = []
        let manager = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw FuzzReplayError(description: "\(path): no such file or directory")
            }
            let files = isDirectory.boolValue
                ? try manager.contentsOfDirectory(atPath: path).filter { !$0.hasPrefix(".") }.sorted().map { (path as NSString).appendingPathComponent($0) }
                : [path]
            for file in files {
                guard let data = manager.contents(atPath: file) else { throw FuzzReplayError(description: "\(file): could not be read") }
                result.append((file, [UInt8](data)))
            }
        }
        return result
    }
}

public struct FuzzReplayError: Error, CustomStringConvertible {
    public var description: String
}
