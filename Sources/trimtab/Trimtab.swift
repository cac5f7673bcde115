import ArgumentParser
import TrimtabCLI

/// The executable: every command lives in TrimtabCLI, so tests can run them too.
@main
extension TrimtabCommand {}
