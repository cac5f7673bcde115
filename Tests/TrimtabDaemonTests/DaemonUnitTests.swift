import Testing
import TrimtabCycle
import TrimtabDaemon

@Suite("The daemon's parts, without a cluster")
struct DaemonUnitTests {
    @Test(arguments: [
        ("configmap:trimtab/trimtab-policy", KillSwitch(kind: .configMap, namespace: "trimtab", name: "trimtab-policy")),
        ("ConfigMap:ops/pause", KillSwitch(kind: .configMap, namespace: "ops", name: "pause")),
        ("deployment:shop/api", KillSwitch(kind: .deployment, namespace: "shop", name: "api")),
    ])
    func killSwitchesParse(_ text: String, _ expected: KillSwitch) {
        #expect(KillSwitch.parse(text) == expected)
    }

    @Test(arguments: ["configmap:trimtab", "secret:trimtab/x", "configmap:/x", "configmap:trimtab/", "deployment:a/b/c", "trimtab/x", ""])
    func malformedKillSwitchesAreRefused(_ text: String) {
        #expect(KillSwitch.parse(text) == nil)
    }

    @Test func theLoopBacksOffByIntervalsUpToFiveMinutes() {
        #expect((1...5).map { ControlLoop.backoff(interval: 60).nominal(afterFailures: $0) } == [60, 120, 240, 300, 300])
        // A short interval stops at ten intervals; a long one never waits less than one.
        #expect(ControlLoop.backoff(interval: 10).nominal(afterFailures: 8) == 100)
        #expect(ControlLoop.backoff(interval: 600).nominal(afterFailures: 3) == 600)
    }
}
