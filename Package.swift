// swift-tools-version: 6.0
import PackageDescription

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

// scripts/fuzz builds with TRIMTAB_FUZZING=1: the modules the fuzzers read through, and the fuzzer
// itself, get libFuzzer's coverage instrumentation (their dependencies do not, so those stay as built).
let fuzzing = Context.environment["TRIMTAB_FUZZING"] == "1"
let fuzzed: [SwiftSetting] = strict + (fuzzing ? [.unsafeFlags(["-sanitize=fuzzer"]), .define("FUZZING")] : [])

let package = Package(
    name: "trimtab",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "trimtab", targets: ["trimtab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        // Already in the graph through swift-certificates: MD5 for pgbouncer's md5 authentication.
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        // The pure core: policy model, scoring, detection, planning, report rendering. No I/O, no wall clock.
        .target(
            name: "TrimtabCore",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            swiftSettings: fuzzed
        ),
        // One cycle for every mode: the seams (snapshot source, cluster, actuators, journal, clock), the
        // executor, and the cycle that chains read, assessment, plan and execution. No I/O of its own.
        .target(name: "TrimtabCycle", dependencies: ["TrimtabCore"], swiftSettings: strict),
        // A simulated cluster that answers: services whose latency, errors, CPU, pool and cache follow a
        // queueing model, stepped in fast time for the control-quality benchmark. Pure, like the core.
        .target(name: "TrimtabSim", dependencies: ["TrimtabCore", "TrimtabCycle"], swiftSettings: strict),
        // The shell: Prometheus HTTP API client.
        .target(
            name: "TrimtabPrometheus",
            dependencies: [
                "TrimtabCore", "TrimtabCycle",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTPCompression", package: "swift-nio-extras"),
            ],
            swiftSettings: fuzzed
        ),
        // The shell: a local Prometheus with synthetic history, for the demo and the tests.
        .target(
            name: "TrimtabSandbox",
            dependencies: ["TrimtabCore", "TrimtabPrometheus", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        // The shell: the Kubernetes API client, actuators, journal and execution of plans.
        .target(
            name: "TrimtabKube",
            dependencies: [
                "TrimtabCore", "TrimtabCycle",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: fuzzed
        ),
        // The shell: one raw HTTP/1.1 server on loopback that can fail as servers do, for the sandbox and tests.
        .target(
            name: "TrimtabLoopbackServer",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        // The shell: a sandbox Kubernetes API server with Kubernetes' semantics, for tests and the demo.
        .target(
            name: "TrimtabKubeSandbox",
            dependencies: [
                "TrimtabCycle", "TrimtabLoopbackServer",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: fuzzed
        ),
        // The shell: notifications to Alertmanager and webhooks, delivered off the control loop's path.
        .target(
            name: "TrimtabNotify",
            dependencies: [
                "TrimtabCore", "TrimtabCycle", "TrimtabPrometheus",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // The shell: `trimtab run`, the control loop that lives in the cluster, with its endpoints.
        .target(
            name: "TrimtabDaemon",
            dependencies: [
                "TrimtabCore", "TrimtabCycle", "TrimtabPrometheus", "TrimtabKube", "TrimtabNotify",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // The shell: command-line commands.
        .target(
            name: "TrimtabCLI",
            dependencies: [
                "TrimtabCore", "TrimtabCycle", "TrimtabPrometheus", "TrimtabSandbox", "TrimtabKube", "TrimtabKubeSandbox", "TrimtabDaemon", "TrimtabNotify", "TrimtabSim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "trimtab",
            dependencies: ["TrimtabCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict
        ),
        // Benchmarks that print figures: swift run -c release trimtab-bench
        .executableTarget(
            name: "trimtab-bench",
            dependencies: ["TrimtabCLI", "TrimtabCore", "TrimtabCycle", "TrimtabSim", "TrimtabPrometheus", "TrimtabSandbox", "TrimtabKube", "TrimtabKubeSandbox"],
            path: "benchmarks/TrimtabBenchmarks",
            swiftSettings: strict
        ),
        // Fuzzing (scripts/fuzz): the targets, and an executable that is libFuzzer's when built with
        // TRIMTAB_FUZZING=1 and otherwise replays inputs (the corpus in fuzz/corpus, a saved crash).
        .target(
            name: "TrimtabFuzz",
            dependencies: ["TrimtabCore", "TrimtabPrometheus", "TrimtabKube", "TrimtabKubeSandbox"],
            path: "fuzz/TrimtabFuzz",
            swiftSettings: fuzzed
        ),
        .executableTarget(
            name: "trimtab-fuzz",
            dependencies: ["TrimtabFuzz"],
            path: "fuzz/trimtab-fuzz",
            swiftSettings: fuzzed,
            linkerSettings: fuzzing ? [.unsafeFlags(["-sanitize=fuzzer", "-use-ld=lld"])] : []
        ),
        // Helpers for tests only: a scripted HTTP server on loopback, comparison of judgements.
        .target(
            name: "TrimtabTestSupport",
            dependencies: [
                "TrimtabLoopbackServer",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "TrimtabCoreTests", dependencies: ["TrimtabCore"], exclude: ["Golden"], swiftSettings: strict),
        .testTarget(
            name: "TrimtabPrometheusTests",
            dependencies: ["TrimtabPrometheus", "TrimtabTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TrimtabKubeTests",
            dependencies: ["TrimtabKube", "TrimtabCycle", "TrimtabTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(name: "TrimtabCycleTests", dependencies: ["TrimtabCycle", "TrimtabCore"], swiftSettings: strict),
        .testTarget(name: "TrimtabSimTests", dependencies: ["TrimtabSim", "TrimtabCycle", "TrimtabCore"], swiftSettings: strict),
        .testTarget(name: "TrimtabDaemonTests", dependencies: ["TrimtabDaemon", "TrimtabCycle"], swiftSettings: strict),
        .testTarget(
            name: "TrimtabNotifyTests",
            dependencies: ["TrimtabNotify", "TrimtabCore", "TrimtabCycle", "TrimtabTestSupport",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "NIOConcurrencyHelpers", package: "swift-nio")],
            swiftSettings: strict
        ),
        .testTarget(name: "TrimtabCLITests", dependencies: ["TrimtabCLI"], swiftSettings: strict),
        .testTarget(name: "TrimtabKubeSandboxTests", dependencies: ["TrimtabKubeSandbox"], swiftSettings: strict),
        .testTarget(name: "TrimtabFuzzTests", dependencies: ["TrimtabFuzz", "TrimtabPrometheus"], swiftSettings: strict),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["TrimtabCLI", "TrimtabSandbox", "TrimtabPrometheus", "TrimtabCore", "TrimtabCycle", "TrimtabSim", "TrimtabKube", "TrimtabKubeSandbox",
                           "TrimtabDaemon", "TrimtabNotify", "TrimtabTestSupport", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
    ]
)
