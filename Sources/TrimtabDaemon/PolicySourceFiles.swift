import Foundation
import TrimtabCore

/// Reads policy files from disk: a file, or every `.yaml`/`.yml` file of a directory in name order
/// (a mounted ConfigMap's `..data` entries are not policy files and are skipped).
public enum PolicySourceFiles {
    public struct ReadError: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// Every policy at `path`, narrowed to `namespace` when given: with several teams' policies,
    /// only those whose targets include it are kept (narrowing all would make them claim it alike).
    public static func policies(at path: String, namespace: String? = nil) throws -> [Policy] {
        var policies = try PolicyLoader.loadSet(sources(at: path))
        guard let namespace else { return policies }
        if policies.count > 1 {
            policies = policies.filter { $0.targets.covers(namespace: namespace) }
            guard !policies.isEmpty else { throw ReadError(description: "--namespace \(namespace): no policy's targets include that namespace") }
        }
        for index in policies.indices { policies[index].targets.restrict(to: namespace) }
        return policies
    }

    public static func sources(at path: String) throws -> [PolicyLoader.Source] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw PolicySourceFiles.ReadError(description: "\(path): no such file or directory")
        }
        var files = [path]
        if isDirectory.boolValue {
            let names = try FileManager.default.contentsOfDirectory(atPath: path)
            files = names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
                .map { (path as NSString).appendingPathComponent($0) }
            if files.isEmpty { throw PolicySourceFiles.ReadError(description: "\(path): the directory holds no .yaml or .yml policy files") }
        }
        return try files.map { file in
            guard let data = FileManager.default.contents(atPath: file) else {
                throw PolicySourceFiles.ReadError(description: "\(file): could not be read")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw PolicySourceFiles.ReadError(description: "\(file): is not UTF-8 text")
            }
            return PolicyLoader.Source(file: file, text: text)
        }
    }
}
