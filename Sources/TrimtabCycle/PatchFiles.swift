import Foundation
import TrimtabCore

/// Writes a plan's patches for Git under a directory (`--patch-dir`): one file per change, at the
/// path the patch names, each written whole (a temporary file renamed over it) and only when its text
/// changed, so a daemon that plans the same patch every cycle leaves the file and its time alone.
public enum PatchFiles {
    /// The files written (or already holding the text), and what failed, one line per file.
    public static func write(_ plan: Plan, under directory: String) -> (written: [String], errors: [String]) {
        var written: [String] = []
        var errors: [String] = []
        let manager = FileManager.default
        for action in plan.actions {
            guard let patch = action.gitPatch else { continue }
            let path = (directory as NSString).appendingPathComponent(patch.file)
            let data = Data(patch.text.utf8)
            if manager.contents(atPath: path) == data {
                written.append(path)
                continue
            }
            do {
                try manager.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                let temporary = path + ".tmp-\(getpid())"
                try data.write(to: URL(fileURLWithPath: temporary))
                if rename(temporary, path) != 0 {
                    let reason = String(cString: strerror(errno))
                    try? manager.removeItem(atPath: temporary)
                    throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: reason])
                }
                written.append(path)
            } catch {
                errors.append("could not write the patch for \(action.target) \(action.knob) to \(path): \(error.localizedDescription)")
            }
        }
        return (written, errors)
    }
}
