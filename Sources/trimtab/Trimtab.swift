import ArgumentParser
import Foundation
import TrimtabCLI

/// The executable: every command lives in TrimtabCLI, so tests can run them too.
@main
enum Trimtab {
    static func main() async {
        // Linked with the static Swift standard library, the runtime reads the arguments from
        // /proc/self/cmdline. Without /proc (a bare chroot; never a container, whose runtime mounts it)
        // there are none, not even the program's name, and the command would print its help and exit 0:
        // a daemon would restart forever doing nothing. Say so instead.
        if CommandLine.arguments.isEmpty {
            FileHandle.standardError.write(Data("trimtab: no command-line arguments could be read; mount /proc (Swift reads them from /proc/self/cmdline)\n".utf8))
            exit(1)
        }
        await TrimtabCommand.main()
    }
}
