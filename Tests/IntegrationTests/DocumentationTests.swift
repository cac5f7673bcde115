import Foundation
import Testing

/// The README is the front page and `docs/` holds the reference: every page is linked from the README,
/// and every link between them (file and anchor) resolves.
@Suite("Documentation links")
struct DocumentationTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens.
    static func anchor(_ heading: String) -> String {
        let text = heading.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces).lowercased()
        let kept = text.unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == " " || $0 == "_" }
        return String(String.UnicodeScalarView(kept)).replacingOccurrences(of: " ", with: "-")
    }

    /// The anchors of a Markdown file's headings (outside code blocks).
    static func anchors(_ text: String) -> Set<String> {
        var inCode = false
        var found = Set<String>()
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") { inCode.toggle() }
            if !inCode, line.hasPrefix("#"), line.contains("# ") { found.insert(anchor(String(line))) }
        }
        return found
    }

    /// Relative links `[text](target)` outside code blocks.
    static func links(_ text: String) -> [String] {
        var inCode = false
        var found: [String] = []
        let pattern = try! NSRegularExpression(pattern: #"\]\(([^)\s]+)\)"#)
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") { inCode.toggle() }
            guard !inCode else { continue }
            let string = String(line)
            for match in pattern.matches(in: string, range: NSRange(string.startIndex..., in: string)) {
                let target = (string as NSString).substring(with: match.range(at: 1))
                if !target.hasPrefix("http://") && !target.hasPrefix("https://") && !target.hasPrefix("mailto:") { found.append(target) }
            }
        }
        return found
    }

    @Test func everyLinkResolves() throws {
        let docs = try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("docs").path)
            .filter { $0.hasSuffix(".md") }.map { "docs/\($0)" }
        var broken: [String] = []
        for file in ["README.md", "benchmarks/README.md", "deploy/README.md"] + docs {
            let url = Self.root.appendingPathComponent(file)
            let text = try String(contentsOf: url, encoding: .utf8)
            for link in Self.links(text) {
                let parts = link.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                let target = parts[0].isEmpty ? url : url.deletingLastPathComponent().appendingPathComponent(parts[0]).standardizedFileURL
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: target.path, isDirectory: &isDirectory) else {
                    broken.append("\(file): \(link) (no such file)")
                    continue
                }
                if parts.count == 2, !isDirectory.boolValue, target.pathExtension == "md" {
                    let anchors = Self.anchors(try String(contentsOf: target, encoding: .utf8))
                    if !anchors.contains(parts[1]) { broken.append("\(file): \(link) (no heading with that anchor)") }
                }
            }
        }
        #expect(broken.isEmpty, "\(broken.joined(separator: "\n"))")
    }

    @Test func theReadmeIsAFrontPageThatLinksEveryPage() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.split(separator: "\n", omittingEmptySubsequences: false).count < 350)
        let docs = try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("docs").path).filter { $0.hasSuffix(".md") }
        #expect(docs.count >= 10)
        for page in docs { #expect(readme.contains("](docs/\(page))"), "docs/\(page) is not linked from the README") }
        // The two set-up commands stay the README's first instructions.
        #expect(readme.contains("scripts/demo   #") && readme.contains("scripts/test   #"))
    }
}
