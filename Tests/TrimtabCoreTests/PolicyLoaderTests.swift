import Foundation
import Testing
@testable import TrimtabCore

/// A small valid policy; tests change one thing in it at a time.
let basePolicy = """
apiVersion: trimtab/v1
kind: Policy
metadata: {name: shop}
spec:
  targets:
    namespace: shop
    groupBy: [namespace, deployment]
  indicators:
    latency_p95:
      query: histogram_quantile(0.95, sum by ($by, le) (rate(http_request_duration_seconds_bucket{$selector}[5m])))
      unit: seconds
    cache_hit_ratio:
      query: sum by ($by) (cache_hit_ratio{$selector})
      unit: ratio
  checks:
    latency_p95: {worse: higher, warning: 1s, critical: 2s, for: 5m, weight: 3}
    cache_hit_ratio: {worse: lower, warning: 80%, critical: 50%, for: 10m}
"""

/// Loads a policy and returns its diagnostics (empty when it loaded).
func diagnostics(_ text: String, file: String = "p.yaml") -> [PolicyDiagnostic] {
    do {
        _ = try PolicyLoader.load(text: text, file: file)
        return []
    } catch {
        return error.diagnostics
    }
}

@Suite("Policy loading and lint")
struct PolicyLoaderTests {
    @Test func loadsTheBasePolicy() throws {
        let policy = try PolicyLoader.load(text: basePolicy, file: "p.yaml")
        #expect(policy.name == "shop")
        #expect(policy.mode == .dryRun)
        #expect(policy.indicators.map(\.name) == ["latency_p95", "cache_hit_ratio"])
        let latency = try #require(policy.checks.first)
        #expect(latency.warning == 1 && latency.critical == 2 && latency.forSeconds == 300 && latency.weight == 3)
        let cache = try #require(policy.checks.last)
        #expect(cache.warning == 0.8 && cache.critical == 0.5 && cache.worse == .lower && cache.weight == 1)
        #expect(latency.location == SourceLocation(file: "p.yaml", line: 16, column: 5))
    }

    @Test func loadsTheShippedDefaultPolicy() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../policies/default.yaml")
        let text = try String(contentsOf: url, encoding: .utf8)
        let policy = try PolicyLoader.load(text: text, file: "default.yaml")
        #expect(policy.checks.count == 6)
        let byName = Dictionary(uniqueKeysWithValues: policy.checks.map { ($0.name, $0) })
        #expect(byName["latency_p95"]?.warning == 1 && byName["latency_p95"]?.critical == 2)
        #expect(byName["error_ratio"]?.warning == 0.01 && byName["error_ratio"]?.critical == 0.05)
        #expect(byName["cpu_utilization"]?.warning == 0.7 && byName["cpu_utilization"]?.critical == 0.9)
        #expect(byName["memory_utilization"]?.warning == 0.8 && byName["memory_utilization"]?.critical == 0.95)
        #expect(byName["pool_utilization"]?.warning == 0.7 && byName["pool_utilization"]?.critical == 0.9)
        #expect(byName["cache_hit_ratio"]?.worse == .lower)
    }

    /// A change that breaks the base policy, and where the error must point: the line, and the text
    /// that starts at the reported column.
    struct Bad: Sendable, CustomTestStringConvertible {
        var name: String
        var replace: String
        var with: String
        var line: Int
        var pointsAt: String
        var message: String
        var testDescription: String { name }
    }

    static let bad: [Bad] = [
        Bad(name: "unknown key with a suggestion", replace: "weight: 3}", with: "weight: 3, critcal: 4}",
            line: 16, pointsAt: "critcal: 4", message: "unknown key 'critcal' in check 'latency_p95'"),
        Bad(name: "wrong type", replace: "weight: 3}", with: "weight: heavy}", line: 16, pointsAt: "heavy",
            message: "check 'latency_p95'.weight must be a number, found 'heavy'"),
        Bad(name: "thresholds in the wrong order", replace: "warning: 1s, critical: 2s", with: "warning: 2s, critical: 1s",
            line: 16, pointsAt: "1s, for", message: "check 'latency_p95': critical (1 s) must be above warning (2 s) when worse is higher"),
        Bad(name: "thresholds in the wrong order for lower", replace: "warning: 80%, critical: 50%", with: "warning: 50%, critical: 80%",
            line: 17, pointsAt: "80%, for", message: "check 'cache_hit_ratio': critical (80 %) must be below warning (50 %) when worse is lower"),
        Bad(name: "negative duration", replace: "for: 5m", with: "for: -5m", line: 16, pointsAt: "-5m",
            message: "check 'latency_p95'.for: negative duration '-5m'"),
        Bad(name: "unknown placeholder", replace: "{$selector}[5m])))", with: "{$selectr}[5m])))", line: 10, pointsAt: "$selectr}",
            message: "indicator 'latency_p95' uses the unknown placeholder $selectr"),
        Bad(name: "duplicate names", replace: "    cache_hit_ratio: {worse", with: "    latency_p95: {worse: higher, warning: 1, critical: 2}\n    cache_hit_ratio: {worse",
            line: 16, pointsAt: "latency_p95: {worse: higher, warning: 1s", message: "duplicate name 'latency_p95' in one mapping"),
        Bad(name: "a check on a missing indicator", replace: "latency_p95: {worse", with: "latency_p99: {worse", line: 16, pointsAt: "latency_p99",
            message: "check 'latency_p99': no indicator is named 'latency_p99'"),
        Bad(name: "a percentage on a seconds indicator", replace: "warning: 1s", with: "warning: 50%", line: 16, pointsAt: "50%",
            message: "check 'latency_p95': a percentage only fits a ratio indicator; this one is in seconds"),
        Bad(name: "bad enum", replace: "worse: lower", with: "worse: lowest", line: 17, pointsAt: "lowest",
            message: "check 'cache_hit_ratio'.worse must be one of higher, lower, found 'lowest'"),
        Bad(name: "wrong apiVersion", replace: "apiVersion: trimtab/v1", with: "apiVersion: trimtab/v2", line: 1, pointsAt: "trimtab/v2",
            message: "apiVersion 'trimtab/v2' is not supported"),
        Bad(name: "invalid YAML", replace: "metadata: {name: shop}", with: "metadata: {name: shop", line: 4, pointsAt: ":",
            message: "invalid YAML"),
        Bad(name: "a mapping where a list belongs", replace: "groupBy: [namespace, deployment]", with: "groupBy: {namespace: 1}", line: 7,
            pointsAt: "{namespace", message: "spec.targets.groupBy must be a list of strings, found a mapping"),
        Bad(name: "an evaluation delay past an hour", replace: "    groupBy: [namespace, deployment]\n", with: "    groupBy: [namespace, deployment]\n  evaluation: {delay: 2h}\n",
            line: 8, pointsAt: "2h}", message: "spec.evaluation.delay must be at most 1h"),
    ]

    @Test(arguments: bad)
    func rejectsWithLocation(_ item: Bad) throws {
        #expect(basePolicy.contains(item.replace), "the case must change the policy")
        let text = basePolicy.replacingOccurrences(of: item.replace, with: item.with)
        let found = diagnostics(text)
        let first = try #require(found.first { $0.message.contains(item.message) }, "diagnostics: \(found)")
        #expect(first.location.file == "p.yaml")
        #expect(first.location.line == item.line, "\(first)")
        let lines = text.components(separatedBy: "\n")
        let line = try #require(first.location.line <= lines.count ? lines[first.location.line - 1] : nil)
        #expect(line.dropFirst(first.location.column - 1).hasPrefix(item.pointsAt), "\(first) points at: \(line.dropFirst(first.location.column - 1))")
    }

    /// `evaluation.delay` moves every evaluation time behind the one asked for, before the grid.
    @Test func anEvaluationDelayIsRead() throws {
        let policy = try PolicyLoader.load(text: basePolicy.replacingOccurrences(of: "    groupBy: [namespace, deployment]\n",
                                                                                  with: "    groupBy: [namespace, deployment]\n  evaluation: {step: 30s, delay: 45s}\n"),
                                           file: "p.yaml")
        #expect(policy.evaluation.delaySeconds == 45)
        #expect(try PolicyLoader.load(text: basePolicy, file: "p.yaml").evaluation.delaySeconds == 0)
    }

    @Test func suggestsTheClosestKey() throws {
        let found = diagnostics(basePolicy.replacingOccurrences(of: "weight: 3}", with: "weight: 3, critcal: 4}"))
        #expect(found.first?.hint == "did you mean 'critical'?")
    }

    @Test func reportsEveryErrorNotJustTheFirst() {
        let text = basePolicy
            .replacingOccurrences(of: "weight: 3}", with: "weight: -1}")
            .replacingOccurrences(of: "for: 10m", with: "for: soon")
            .replacingOccurrences(of: "unit: ratio", with: "unit: percentage")
        let found = diagnostics(text)
        #expect(found.count == 3, "\(found)")
    }

    @Test func namespacePlaceholderNeedsANamespace() throws {
        let text = basePolicy.replacingOccurrences(of: "    namespace: shop\n", with: "")
            .replacingOccurrences(of: "cache_hit_ratio{$selector}", with: "cache_hit_ratio{namespace=\"$namespace\"}")
        let found = diagnostics(text)
        let first = try #require(found.first)
        #expect(first.message == "indicator 'cache_hit_ratio' uses $namespace but spec.targets.namespace is not set")
        #expect(first.location.line == 12)
    }

    @Test func emptyFileIsAnError() {
        #expect(diagnostics("").first?.message == "the file is empty")
    }

    @Test func policyErrorSaysTheWholePolicyWasRejected() {
        do {
            _ = try PolicyLoader.load(text: "apiVersion: trimtab/v1\nkind: Policy\nspec: {checks: {}}\n", file: "x.yaml")
            Issue.record("an empty policy loaded")
        } catch {
            #expect(error.description.contains("rejected as a whole"))
            #expect(error.description.contains("x.yaml:"))
        }
    }

    @Test func filesMergeInOrderAndOverridesApplyPerTarget() throws {
        let overlay = """
        apiVersion: trimtab/v1
        kind: Policy
        spec:
          checks:
            latency_p95: {warning: 500ms}
          overrides:
            - match: {deployment: checkout}
              checks:
                latency_p95: {critical: 900ms, weight: 5}
                cache_hit_ratio: {enabled: false}
        """
        let policy = try PolicyLoader.load([.init(file: "00-base.yaml", text: basePolicy), .init(file: "10-overlay.yaml", text: overlay)])
        #expect(policy.name == "shop")
        #expect(policy.sources == ["00-base.yaml", "10-overlay.yaml"])
        let latency = try #require(policy.checks.first { $0.name == "latency_p95" })
        #expect(latency.warning == 0.5 && latency.critical == 2 && latency.forSeconds == 300)
        let checkout = policy.checks(for: ["namespace": "shop", "deployment": "checkout"])
        #expect(checkout.map(\.name) == ["latency_p95"])
        #expect(checkout.first?.critical == 0.9 && checkout.first?.weight == 5)
        let cart = policy.checks(for: ["namespace": "shop", "deployment": "cart"])
        #expect(cart.count == 2 && cart.first?.critical == 2)
    }

    @Test func overrideThatBreaksThresholdOrderIsRejected() throws {
        let overlay = """
        apiVersion: trimtab/v1
        kind: Policy
        spec:
          overrides:
            - match: {deployment: checkout}
              checks:
                latency_p95: {critical: 500ms}
        """
        do {
            _ = try PolicyLoader.load([.init(file: "a.yaml", text: basePolicy), .init(file: "b.yaml", text: overlay)])
            Issue.record("loaded")
        } catch {
            let first = try #require(error.diagnostics.first)
            #expect(first.location == SourceLocation(file: "b.yaml", line: 7, column: 33))
            #expect(first.message.contains("critical (500 ms) must be above warning (1 s)"))
        }
    }

    /// A pool knob through Jolokia on each pod, and what a wrong one is told, where.
    @Test func aJolokiaKnobIsReadAndAWrongOneIsNamed() throws {
        func policy(_ knob: String) -> String {
            basePolicy.replacingOccurrences(of: "  checks:\n", with: """
                pool_utilization: {query: 'max by ($by) (hikaricp_connections_active{$selector} / hikaricp_connections_max{$selector})', unit: ratio}
                replicas: {query: 'sum by ($by) (kube_deployment_spec_replicas{$selector})', unit: count}
              checks:
                pool_utilization: {worse: higher, warning: 80%, critical: 95%}

            """) + """

              actions:
                - when: {bottleneck: latency_p95, and: pool_utilization}
                  poolSize:
                    min: 2
                    max: 40
                    knob: \(knob)
            """
        }
        let loaded = try PolicyLoader.load(text: policy(#"{jolokia: {port: jolokia, mbean: "com.zaxxer.hikari:type=PoolConfig (shop)", attribute: MaximumPoolSize}}"#), file: "p.yaml")
        let expected = Knob.jolokia(JolokiaKnob(port: "jolokia", path: "/jolokia", mbean: "com.zaxxer.hikari:type=PoolConfig (shop)", attribute: "MaximumPoolSize"))
        #expect(loaded.actions.first?.action.knob == expected)
        #expect(expected.livesInPods && !expected.rollsPods)
        #expect(loaded.knobsReadFromCluster == [expected], "no size indicator: the size is read from the pods")

        let withoutAttribute = policy("{jolokia: {port: jolokia, mbean: \"com.zaxxer.hikari:type=PoolConfig (shop)\"}}")
        let missing = diagnostics(withoutAttribute)
        let knobLine = (withoutAttribute.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("knob: {jolokia") } ?? -1) + 1
        #expect(missing.map(\.message) == ["spec.actions[0].poolSize.knob.jolokia needs attribute: the pod's container port (a name such as jolokia, or a number), the MBean and its attribute"], "\(missing)")
        #expect(missing.first?.location.line == knobLine, "at the knob's jolokia mapping: \(missing)")
        let badName = diagnostics(policy("{jolokia: {port: 8778, mbean: HikariPool-1, attribute: MaximumPoolSize}}"))
        #expect(badName.first?.message.contains("must be an ObjectName, DOMAIN:KEY=VALUE") == true, "\(badName)")
        let badPort = diagnostics(policy("{jolokia: {port: 99999, mbean: \"a:b=c\", attribute: X}}"))
        #expect(badPort.first?.message.contains("port must be a port number (1–65535) or a container port's name, found 99999") == true, "\(badPort)")
        // A list: the same setting by several knobs, preferred first.
        let preferring = try PolicyLoader.load(text: policy(#"[{jolokia: {port: jolokia, mbean: "com.zaxxer.hikari:type=PoolConfig (shop)", attribute: MaximumPoolSize}}, {env: DB_POOL_SIZE}]"#), file: "p.yaml")
        #expect(preferring.actions.first?.action.knobs == [expected, .env(name: "DB_POOL_SIZE", container: nil)])
        #expect(preferring.knobsReadFromCluster == [expected, .env(name: "DB_POOL_SIZE", container: nil)], "each is read to choose")
        #expect(diagnostics(policy("[]")).first?.message.contains("is an empty list") == true)
        #expect(diagnostics(policy("[{env: A}, {env: A}]")).first?.message == "spec.actions[0].poolSize.knob[1] repeats env A")
        // An admin endpoint on each pod, and one URL as before.
        let perPod = try PolicyLoader.load(text: policy("{http: {port: admin, path: admin/db-max-open}}"), file: "p.yaml")
        #expect(perPod.actions.first?.action.knob == .podHTTP(PodHTTPKnob(port: "admin", path: "/admin/db-max-open")))
        #expect(diagnostics(policy("{http: {port: admin}}")).first?.message.contains("needs port and path") == true)
        let oneURL = try PolicyLoader.load(text: policy("{http: \"http://pool-admin.shop.svc:8081/pool-size\"}"), file: "p.yaml")
        #expect(oneURL.actions.first?.action.knob == .http(url: "http://pool-admin.shop.svc:8081/pool-size"))
        // pgbouncer's admin console on each pod.
        let bouncer = try PolicyLoader.load(text: policy("{pgbouncer: {user: trimtab, passwordFile: /etc/trimtab/pgbouncer/password}}"), file: "p.yaml")
        #expect(bouncer.actions.first?.action.knob == .pgbouncer(PgBouncerKnob(port: "pgbouncer", user: "trimtab", passwordFile: "/etc/trimtab/pgbouncer/password", setting: "default_pool_size")))
        #expect(diagnostics(policy("{pgbouncer: {setting: default_pool_size}}")).first?.message.contains("needs user: an admin user of pgbouncer") == true)
        #expect(diagnostics(policy("{pgbouncer: {user: a, setting: \"x; RELOAD\"}}")).first?.message.contains("must be a setting's name as SHOW CONFIG lists it") == true)
        let mixed = diagnostics(policy("{env: DB_POOL_SIZE, jolokia: {port: 8778, mbean: \"a:b=c\", attribute: X}}"))
        #expect(mixed.first?.message.contains("jolokia is a knob of its own: leave out env") == true, "\(mixed)")
    }

    @Test func actionsAreReadAndTheirReferencesChecked() throws {
        let withActions = basePolicy.replacingOccurrences(of: "  checks:\n", with: """
            replicas: {query: 'sum by ($by) (kube_deployment_spec_replicas{$selector})', unit: count}
            cpu_utilization: {query: 'sum by ($by) (cpu{$selector})', unit: ratio}
            cache_ttl_seconds: {query: 'max by ($by) (ttl{$selector})', unit: seconds}
          checks:
            cpu_utilization: {worse: higher, warning: 70%, critical: 90%}

        """) + """

          actions:
            - when: {bottleneck: cache_hit_ratio, unless: cpu_utilization}
              cacheTTL: {knob: {env: CACHE_TTL_SECONDS}, max: 10m, factor: 2}
            - when: {bottleneck: latency_p95, and: cpu_utilization}
              scale: {min: 2, max: 20, utilizationTarget: 70%, scaleDown: {stabilization: 10m}}
          safety: {cooldown: 15m, maxChangesPerHour: 3}
        """
        let policy = try PolicyLoader.load(text: withActions, file: "p.yaml")
        #expect(policy.actions.count == 2)
        #expect(policy.actions[0].action == .cacheTTL(CacheTTLAction(knob: .env(name: "CACHE_TTL_SECONDS", container: nil), maxSeconds: 600)))
        #expect(policy.actions[0].unless == ["cpu_utilization"])
        var scale = ScaleAction(utilizationTarget: 0.7, min: 2, max: 20)
        scale.scaleDown.stabilizationSeconds = 600
        #expect(policy.actions[1].action == .scale(scale))
        #expect(policy.safety.cooldownSeconds == 900 && policy.safety.maxChangesPerHour == 3)
        #expect(policy.queriedIndicators.map(\.name).contains("replicas"))

        let badCheck = withActions.replacingOccurrences(of: "bottleneck: latency_p95}", with: "bottleneck: latency}")
            .replacingOccurrences(of: "bottleneck: latency_p95, and", with: "bottleneck: latency, and")
        #expect(diagnostics(badCheck).first?.message == "action names no check 'latency'")
        let badIndicator = withActions.replacingOccurrences(of: "scale: {min: 2", with: "scale: {utilization: cpu_utilisation, min: 2")
        let found = try #require(diagnostics(badIndicator).first)
        #expect(found.message == "scale action reads the indicator 'cpu_utilisation', which is not declared")
        #expect(found.hint == "did you mean 'cpu_utilization'?")

        // The error budget's levers on an HPA: its CPU target's range and step, and when it flaps.
        let tuned = withActions.replacingOccurrences(of: "scaleDown: {stabilization: 10m}}", with: """
            scaleDown: {stabilization: 10m},
                         autoscalerTarget: {min: 60%, max: 85%, step: 0.1}, flapping: {reversals: 4, window: 30m, maxStabilization: 20m}}
            """)
        guard case .scale(let read)? = try PolicyLoader.load(text: tuned, file: "p.yaml").actions.last?.action else {
            Issue.record("the scale action is read")
            return
        }
        #expect(read.autoscalerTarget == AutoscalerTargetBounds(minPercent: 60, maxPercent: 85, stepPercent: 10))
        #expect(read.flapping == FlappingRule(reversals: 4, windowSeconds: 1800, maxWindowSeconds: 1200))
        #expect(scale.autoscalerTarget == AutoscalerTargetBounds(minPercent: 50, maxPercent: 90, stepPercent: 5), "the defaults")
        let inverted = tuned.replacingOccurrences(of: "min: 60%, max: 85%", with: "min: 95%, max: 85%")
        #expect(diagnostics(inverted).first?.message.contains("autoscalerTarget.min (95 %) is more than max (85 %)") == true, "\(diagnostics(inverted))")
        let tooLong = tuned.replacingOccurrences(of: "maxStabilization: 20m", with: "maxStabilization: 2h")
        #expect(diagnostics(tooLong).first?.message.contains("flapping.maxStabilization is at most 1h (the HPA's limit), found 2h") == true, "\(diagnostics(tooLong))")
        let notARatio = tuned.replacingOccurrences(of: "step: 0.1", with: "step: 5")
        #expect(diagnostics(notARatio).first?.message.contains("autoscalerTarget.step is a ratio above 0 and at most 1") == true, "\(diagnostics(notARatio))")
    }
}

@Suite("PromQL templates")
struct PromQLTests {
    @Test func escapesLabelValues() {
        #expect(PromQL.escape(#"a"b\c"#) == #"a\"b\\c"#)
        #expect(PromQL.escape("line\nbreak") == "line\\nbreak")
    }

    @Test func rendersPlaceholders() {
        let targets = TargetSelector(namespace: #"sh"op"#, matchLabels: ["tier": "api"], groupBy: ["namespace", "deployment"])
        let query = PromQL.render(#"sum by ($by) (rate(x{$selector}[5m])) + on() y{ns="$namespace"} + label_replace(z, "a", "$1", "b", "(.*)")"#, targets: targets)
        #expect(query == #"sum by (namespace, deployment) (rate(x{namespace!="",deployment!="",namespace="sh\"op",tier="api"}[5m])) + on() y{ns="sh\"op"} + label_replace(z, "a", "$1", "b", "(.*)")"#)
    }

    @Test func findsBracedPlaceholders() {
        #expect(PromQL.placeholderUses(in: "a ${by} $x $1").map(\.name) == ["by", "x"])
        #expect(PromQL.render("sum by (${by})", targets: TargetSelector(groupBy: ["pod"])) == "sum by (pod)")
    }

    @Test func queryPlanIsOnePerIndicatorEndingAtTheEvaluationTime() throws {
        let policy = try PolicyLoader.load(text: basePolicy, file: "p.yaml")
        let plan = IndicatorQuery.plan(for: policy, at: 1_000_000)
        #expect(plan.map(\.indicator) == ["latency_p95", "cache_hit_ratio"])
        #expect(plan.allSatisfy { $0.end == 1_000_000 && $0.step == 30 })
        // The longest `for` (10m) plus the 1h lookback.
        #expect(plan[0].start == 1_000_000 - 4200)
    }
}
