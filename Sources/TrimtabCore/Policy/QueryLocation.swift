/// Where an indicator's query stands in its policy file, so that a position in the query (a
/// placeholder lint found, a parse error Prometheus reported) maps back to a line and column.
public struct QueryLocation: Sendable, Equatable, Codable {
    public enum Layout: String, Sendable, Codable {
        /// On one line, plain or quoted: offset n is n columns right of the first character.
        case inline
        /// A literal block (`|`): each line of the query is a line of the file, indented to `column`.
        case literalBlock
        /// Folded or spread over lines otherwise: only the start is known exactly.
        case other
    }

    public var file: String
    /// The line and column of the query's first character.
    public var line: Int
    public var column: Int
    public var layout: Layout

    public init(file: String, line: Int, column: Int, layout: Layout) {
        self.file = file
        self.line = line
        self.column = column
        self.layout = layout
    }

    /// The file position of a character offset in the query text.
    public func location(ofOffset offset: Int, in query: String) -> SourceLocation {
        let before = query.prefix(max(0, offset))
        switch layout {
        case .inline where !before.contains("\n"):
            return SourceLocation(file: file, line: line, column: column + before.count)
        case .literalBlock:
            let lines = before.split(separator: "\n", omittingEmptySubsequences: false)
            return SourceLocation(file: file, line: line + lines.count - 1, column: column + (lines.last?.count ?? 0))
        default:
            return SourceLocation(file: file, line: line, column: column)
        }
    }
}
