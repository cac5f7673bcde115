import ArgumentParser

/// The exit codes Trimtab documents (see "Exit codes" in the README).
public enum TrimtabExit {
    /// The command ran. For `analyze`, whatever the health it found.
    public static let ok = ExitCode(0)
    /// The input was invalid: a policy with errors, a file that could not be read, a bad flag value.
    public static let invalidInput = ExitCode(1)
    /// A CI gate failed (reserved for `trimtab report`).
    public static let gateFailed = ExitCode(2)
    /// Metrics could not be read: Prometheus was unreachable or a query failed. The report still says what was known.
    public static let metricsUnavailable = ExitCode(3)
    /// The cluster could not be read or a change could not be made: nothing further was changed.
    public static let clusterFailed = ExitCode(4)
    /// The policy found no target: its queries matched nothing, or nothing with the groupBy labels.
    /// Not a healthy run: the report and the error say which query and which labels.
    public static let noTargets = ExitCode(5)
}

/// Where `printError` writes instead of standard error, for a task and its children: tests read what a
/// command line printed without taking over the process's file descriptor 2.
public enum ErrorOutput {
    @TaskLocal public static var capture: (@Sendable (String) -> Void)?
    /// The same for standard output, for the commands whose result is what they print (`policy check`).
    @TaskLocal public static var captureStandardOutput: (@Sendable (String) -> Void)?
}

/// Prints a result line to standard output (or to the task's capture).
func printOutput(_ text: String) {
    if let capture = ErrorOutput.captureStandardOutput {
        capture(text + "\n")
        return
    }
    print(text)
}

/// Prints to standard error, for progress and diagnostics, keeping standard output for results.
func printError(_ text: String) {
    if let capture = ErrorOutput.capture {
        capture(text + "\n")
        return
    }
    var stderr = StandardError()
    print(text, to: &stderr)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandleWriter.write(string)
    }
}

import Foundation

enum FileHandleWriter {
    static func write(_ string: String) {
        FileHandle.standardError.write(Data(string.utf8))
    }
}
