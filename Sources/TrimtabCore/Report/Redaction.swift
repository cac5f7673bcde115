import Foundation

/// Takes credentials out of text a server sent back before anyone sees it: an error body may echo the
/// request's `Authorization` header, a token, or a URL with a password in it, and whatever Trimtab
/// shows goes into logs, reports, step summaries and journals.
public enum Redaction {
    public static let mask = "[redacted]"

    /// `text` with every known secret and every credential-shaped substring replaced by `[redacted]`.
    public static func scrub(_ text: String, secrets: [String] = []) -> String {
        var out = text
        // The exact values this process holds (tokens, passwords), longest first so that a password
        // inside a token does not leave the rest behind.
        for secret in secrets.filter({ $0.count >= 4 }).sorted(by: { $0.count > $1.count }) {
            out = out.replacingOccurrences(of: secret, with: mask)
        }
        for (pattern, template) in patterns {
            out = out.replacingOccurrences(of: pattern, with: template, options: [.regularExpression, .caseInsensitive])
        }
        return out
    }

    /// Credential shapes: an Authorization header's scheme and value, a bearer or basic value, a
    /// key=value (or "key": "value") of a password, token or key, and a URL's user:password@.
    static let patterns: [(String, String)] = [
        (#"(authorization["']?\s*[:=]\s*["']?)(bearer|basic|token)\s+[^\s"',}]+"#, "$1$2 \(mask)"),
        (#"\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"#, "$1 \(mask)"),
        (#"(["']?(?:password|passwd|pwd|token|secret|api[_-]?key|access[_-]?key)["']?\s*[:=]\s*["']?)[^\s"'&,}]+"#, "$1\(mask)"),
        (#"(://)[^/\s:@]+:[^/\s@]+@"#, "$1\(mask)@"),
    ]

    /// A URL as it may be shown: no user, password, query or fragment.
    public static func displayURL(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "(unparseable URL)" }
        components.user = nil
        components.password = nil
        components.query = nil
        components.fragment = nil
        return components.string ?? "(unparseable URL)"
    }
}
