import Foundation
import TrimtabFuzz

#if FUZZING
// Built with -sanitize=fuzzer (scripts/fuzz): libFuzzer's driver runs from this main (SwiftPM names an
// executable's entry point itself, so libFuzzer's own main is not the one linked), and
// TRIMTAB_FUZZ_TARGET names the target.
nonisolated(unsafe) var chosen = FuzzTarget.policy

@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
               _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

@main
enum FuzzMain {
    static func main() {
        let name = ProcessInfo.processInfo.environment["TRIMTAB_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write(Data("trimtab-fuzz: set TRIMTAB_FUZZ_TARGET to one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")) (found '\(name)')\n".utf8))
            exit(2)
        }
        chosen = target
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(runDriver(&argc, &argv, testOneInput))
    }
}

/// One input; a fault aborts, which libFuzzer saves as a crash. (libFuzzer's archive names this symbol too.)
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    if let fault = chosen.run(bytes) {
        FileHandle.standardError.write(Data("trimtab-fuzz \(chosen.rawValue): \(fault)\n".utf8))
        abort()
    }
    return 0
}
#else
@main
enum FuzzMain {
    static let usage = """
    usage: trimtab-fuzz replay TARGET PATH...   run each input under PATH (files or directories) once
           trimtab-fuzz list                    the targets

    Built as usual this replays inputs, such as fuzz/corpus/TARGET or a crash libFuzzer saved. scripts/fuzz
    builds it with -sanitize=fuzzer and runs libFuzzer on each target.
    """

    static func main() {
        var arguments = CommandLine.arguments.dropFirst()
        switch arguments.popFirst() {
        case "list":
            for target in FuzzTarget.allCases { print("\(target.rawValue)\t\(target.summary)") }
        case "replay":
            guard let name = arguments.popFirst(), let target = FuzzTarget(rawValue: name) else {
                fail("replay takes a target: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard !arguments.isEmpty else { fail("replay takes at least one file or directory") }
            do {
                let inputs = try FuzzReplay.inputs(Array(arguments))
                var faults = 0
                for input in inputs {
                    if let fault = target.run(input.bytes) {
                        faults += 1
                        print("\(input.path): \(fault)")
                    }
                }
                print("\(target.rawValue): \(inputs.count) inputs, \(faults) fault\(faults == 1 ? "" : "s")")
                exit(faults == 0 ? 0 : 1)
            } catch {
                fail("\(error)")
            }
        case "--help", "-h", "help":
            print(usage)
        default:
            fail("unknown command\n\(usage)")
        }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("trimtab-fuzz: \(message)\n".utf8))
        exit(2)
    }
}
#endif
