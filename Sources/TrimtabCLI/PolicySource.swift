import Foundation
import TrimtabCore
import TrimtabDaemon

/// Reads policy files from disk: a file, or every `.yaml`/`.yml` file of a directory in name order.
public enum PolicySource {
    public typealias ReadError = PolicySourceFiles.ReadError

    public static func sources(at path: String) throws -> [PolicyLoader.Source] {
        try PolicySourceFiles.sources(at: path)
    }

    /// The policy at `path`, or the built-in default when `path` is `nil`.
    public static func load(_ path: String?) throws -> Policy {
        guard let path else {
            return try PolicyLoader.load(text: DefaultPolicy.yaml, file: DefaultPolicy.file)
        }
        return try PolicyLoader.load(sources(at: path))
    }

    /// Every policy at `path` (several teams' files with different `metadata.name`), or the default.
    public static func loadSet(_ path: String?) throws -> [Policy] {
        guard let path else { return [try load(nil)] }
        return try PolicyLoader.loadSet(sources(at: path))
    }
}
