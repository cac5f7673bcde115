import Yams

/// Reads `spec.actions` and `spec.safety`.
enum ActionParser {
    static func readSafety(_ node: Node, into fragment: inout PolicyFragment, _ reader: inout NodeReader) {
        let keys = ["cooldown", "maxChangesPerHour", "freeze", "verifyAfter", "rollbackIfScoreDropsBy", "minImprovement", "changeWindows", "gitOps", "journalRetention"]
        guard let entries = reader.mapping(node, "spec.safety", allowed: keys) else { return }
        for item in entries {
            let path = "spec.safety.\(item.key)"
            switch item.key {
            case "cooldown": fragment.cooldownSeconds = reader.duration(item.value, path)
            case "maxChangesPerHour": fragment.maxChangesPerHour = reader.integer(item.value, path, minimum: 0)
            case "freeze": fragment.freeze = reader.bool(item.value, path)
            case "changeWindows": fragment.changeWindows = readChangeWindows(item.value, path, &reader)
            case "gitOps": fragment.gitOps = readGitOps(item.value, path, &reader)
            case "verifyAfter": fragment.verifyAfterSeconds = reader.duration(item.value, path)
            case "journalRetention":
                if let seconds = reader.duration(item.value, path) {
                    if seconds < JournalRetention.minimumSeconds {
                        reader.error(item.value, "\(path) is at least 1d (closed changes are kept at least a day), found \(PolicyDuration.format(seconds))")
                    } else {
                        fragment.journalRetentionSeconds = seconds
                    }
                }
            case "rollbackIfScoreDropsBy":
                if let value = reader.positiveNumber(item.value, path) {
                    if value > 100 { reader.error(item.value, "\(path) is a score difference from 0 to 100, found \(value)") } else { fragment.rollbackIfScoreDropsBy = value }
                }
            case "minImprovement":
                if let value = ratio(item.value, path, &reader) {
                    if value >= 1 { reader.error(item.value, "\(path) is a share below 100 %, found \(value)") } else { fragment.minImprovement = value }
                }
            default: break
            }
        }
    }

    static func readActions(_ node: Node, into fragment: inout PolicyFragment, _ reader: inout NodeReader) {
        guard let list = node.sequence else {
            reader.error(node, "spec.actions must be a list, found \(reader.kindName(node))")
            return
        }
        for (index, item) in list.enumerated() {
            let path = "spec.actions[\(index)]"
            guard let fields = reader.mapping(item, path, allowed: ["when", "scale", "poolSize", "cacheTTL"]) else { continue }
            var bottleneck: Located<String>?
            var and: [Located<String>] = [], unless: [Located<String>] = []
            var parsed: [(ActionKind, [Located<String>], [Located<String>])] = []
            for field in fields {
                var refs = References(reader: reader, at: reader.location(of: field.value))
                switch field.key {
                case "when":
                    guard let when = reader.mapping(field.value, "\(path).when", allowed: ["bottleneck", "and", "unless"]) else { continue }
                    for part in when {
                        let location = reader.location(of: part.value)
                        switch part.key {
                        case "bottleneck":
                            if let name = reader.nonEmptyString(part.value, "\(path).when.bottleneck") { bottleneck = Located(value: name, location: location) }
                        case "and": and = (reader.stringList(part.value, "\(path).when.and") ?? []).map { Located(value: $0, location: location) }
                        case "unless": unless = (reader.stringList(part.value, "\(path).when.unless") ?? []).map { Located(value: $0, location: location) }
                        default: break
                        }
                    }
                    continue
                case "scale":
                    if let action = readScale(field.value, "\(path).scale", &reader, &refs) { parsed.append((.scale(action), refs.indicators, refs.checks)) }
                case "poolSize":
                    if let action = readPool(field.value, "\(path).poolSize", &reader, &refs) { parsed.append((.poolSize(action), refs.indicators, refs.checks)) }
                case "cacheTTL":
                    if let action = readTTL(field.value, "\(path).cacheTTL", &reader, &refs) { parsed.append((.cacheTTL(action), refs.indicators, refs.checks)) }
                default: break
                }
            }
            guard let bottleneck else {
                reader.error(item, "\(path) has no when.bottleneck", hint: "name the check whose bottleneck allows this action")
                continue
            }
            let kinds = fields.filter { ["scale", "poolSize", "cacheTTL"].contains($0.key) }
            if kinds.count != 1 {
                reader.error(item, "\(path) must have exactly one of scale, poolSize, cacheTTL (found \(kinds.count))")
                continue
            }
            guard let (action, indicators, checks) = parsed.first else { continue }
            fragment.actions.append(.init(location: reader.location(of: item), bottleneck: bottleneck, and: and, unless: unless,
                                          action: action, indicators: indicators, checks: checks))
        }
    }

    /// Collects the names of indicators and checks an action reads, with where they were written.
    struct References {
        var defaultLocation: SourceLocation
        var indicators: [Located<String>] = []
        var checks: [Located<String>] = []
        var explicit: Set<String> = []

        init(reader: NodeReader, at location: SourceLocation) {
            defaultLocation = location
        }

        /// Reads an indicator name from a field, or records the default as read.
        mutating func indicator(_ key: String, _ fields: [(key: String, keyNode: Node, value: Node)], default value: String?,
                                _ path: String, _ reader: inout NodeReader) -> String? {
            if let field = fields.first(where: { $0.key == key }) {
                guard let name = reader.nonEmptyString(field.value, "\(path).\(key)") else { return value }
                indicators.append(Located(value: name, location: reader.location(of: field.value)))
                return name
            }
            if let value { indicators.append(Located(value: value, location: defaultLocation)) }
            return value
        }
    }

    static func readScale(_ node: Node, _ path: String, _ reader: inout NodeReader, _ refs: inout References) -> ScaleAction? {
        let keys = ["replicas", "utilization", "utilizationTarget", "min", "max", "tolerance", "scaleUp", "scaleDown", "autoscaler",
                    "autoscalerTarget", "flapping", "forecast"]
        guard let fields = reader.mapping(node, path, allowed: keys) else { return nil }
        var action = ScaleAction(min: 1, max: 0)
        action.replicas = refs.indicator("replicas", fields, default: "replicas", path, &reader) ?? "replicas"
        action.utilization = refs.indicator("utilization", fields, default: "cpu_utilization", path, &reader) ?? "cpu_utilization"
        var sawMax = false
        for field in fields {
            switch field.key {
            case "min": action.min = reader.integer(field.value, "\(path).min", minimum: 1) ?? action.min
            case "max": if let max = reader.integer(field.value, "\(path).max", minimum: 1) { action.max = max; sawMax = true }
            case "utilizationTarget":
                if let value = ratio(field.value, "\(path).utilizationTarget", &reader) { action.utilizationTarget = value }
            case "tolerance":
                if let value = reader.positiveNumber(field.value, "\(path).tolerance", allowZero: true) {
                    if value >= 1 { reader.error(field.value, "\(path).tolerance is a ratio below 1, found \(value)") } else { action.tolerance = value }
                }
            case "scaleUp": action.scaleUp = readStep(field.value, "\(path).scaleUp", default: .scaleUpDefault, &reader)
            case "scaleDown": action.scaleDown = readStep(field.value, "\(path).scaleDown", default: .scaleDownDefault, &reader)
            case "autoscaler":
                if let text = reader.nonEmptyString(field.value, "\(path).autoscaler") {
                    if let mode = ScaleAction.AutoscalerMode(rawValue: text) { action.autoscaler = mode } else {
                        reader.error(field.value, "\(path).autoscaler is propose or apply, found '\(text)'")
                    }
                }
            case "autoscalerTarget": action.autoscalerTarget = readTargetBounds(field.value, "\(path).autoscalerTarget", &reader)
            case "flapping": action.flapping = readFlapping(field.value, "\(path).flapping", &reader)
            case "forecast": action.forecast = readForecast(field.value, "\(path).forecast", &reader, &refs)
            default: break
            }
        }
        if !sawMax { reader.error(node, "\(path).max is missing"); return nil }
        if action.min > action.max { reader.error(node, "\(path).min (\(action.min)) is more than max (\(action.max))"); return nil }
        return action
    }

    /// `forecast: {load: request_rate, history: 8d, step: 5m, lead: 5m, maxError: 25%}`.
    static func readForecast(_ node: Node, _ path: String, _ reader: inout NodeReader, _ refs: inout References) -> ForecastRule? {
        guard let fields = reader.mapping(node, path, allowed: ["load", "history", "step", "lead", "maxError"]) else { return nil }
        var rule = ForecastRule()
        rule.load = refs.indicator("load", fields, default: "request_rate", path, &reader) ?? rule.load
        for field in fields {
            switch field.key {
            case "history": rule.historySeconds = reader.duration(field.value, "\(path).history") ?? rule.historySeconds
            case "step":
                if let seconds = reader.duration(field.value, "\(path).step") {
                    if seconds < 60 || seconds > 3_600 { reader.error(field.value, "\(path).step is between 1m and 1h, found \(PolicyDuration.format(seconds))") } else { rule.stepSeconds = seconds }
                }
            case "lead": rule.leadSeconds = reader.duration(field.value, "\(path).lead") ?? rule.leadSeconds
            case "maxError": rule.maxError = ratio(field.value, "\(path).maxError", &reader) ?? rule.maxError
            default: break
            }
        }
        if rule.historySeconds < 3 * 86_400 {
            reader.error(node, "\(path).history is at least 3d (two daily seasons and a day to backtest), found \(PolicyDuration.format(rule.historySeconds))")
            return nil
        }
        if rule.historySeconds / rule.stepSeconds > 11_000 {
            // Prometheus refuses a range query of more than 11,000 points per series.
            reader.error(node, "\(path): \(PolicyDuration.format(rule.historySeconds)) at a step of \(PolicyDuration.format(rule.stepSeconds)) is more than the 11,000 points Prometheus returns; raise step")
            return nil
        }
        return rule
    }

    /// `autoscalerTarget: {min: 50%, max: 90%, step: 5%}`: percentages of the CPU request.
    static func readTargetBounds(_ node: Node, _ path: String, _ reader: inout NodeReader) -> AutoscalerTargetBounds {
        let base = AutoscalerTargetBounds()
        guard let fields = reader.mapping(node, path, allowed: ["min", "max", "step"]) else { return base }
        var bounds = base
        for field in fields {
            guard let value = ratio(field.value, "\(path).\(field.key)", &reader) else { continue }
            switch field.key {
            case "min": bounds.minPercent = value * 100
            case "max": bounds.maxPercent = value * 100
            case "step": bounds.stepPercent = value * 100
            default: break
            }
        }
        if bounds.minPercent > bounds.maxPercent {
            reader.error(node, "\(path).min (\(Formatting.number(bounds.minPercent)) %) is more than max (\(Formatting.number(bounds.maxPercent)) %)")
            return base
        }
        return bounds
    }

    /// `flapping: {reversals: 3, window: 1h, maxStabilization: 30m}`.
    static func readFlapping(_ node: Node, _ path: String, _ reader: inout NodeReader) -> FlappingRule {
        let base = FlappingRule()
        guard let fields = reader.mapping(node, path, allowed: ["reversals", "window", "maxStabilization"]) else { return base }
        var rule = base
        for field in fields {
            switch field.key {
            case "reversals": rule.reversals = reader.integer(field.value, "\(path).reversals", minimum: 1) ?? rule.reversals
            case "window": rule.windowSeconds = reader.duration(field.value, "\(path).window") ?? rule.windowSeconds
            case "maxStabilization":
                if let seconds = reader.duration(field.value, "\(path).maxStabilization") {
                    // The HPA's API allows at most an hour.
                    if seconds > 3600 { reader.error(field.value, "\(path).maxStabilization is at most 1h (the HPA's limit), found \(PolicyDuration.format(seconds))") } else { rule.maxWindowSeconds = seconds }
                }
            default: break
            }
        }
        return rule
    }

    static func readStep(_ node: Node, _ path: String, default base: StepPolicy, _ reader: inout NodeReader) -> StepPolicy {
        guard let fields = reader.mapping(node, path, allowed: ["stabilization", "maxPods", "maxPercent"]) else { return base }
        var step = base
        for field in fields {
            switch field.key {
            case "stabilization": step.stabilizationSeconds = reader.duration(field.value, "\(path).stabilization") ?? step.stabilizationSeconds
            case "maxPods": step.maxPods = reader.integer(field.value, "\(path).maxPods", minimum: 0) ?? step.maxPods
            case "maxPercent": step.maxPercent = reader.positiveNumber(field.value, "\(path).maxPercent") ?? step.maxPercent
            default: break
            }
        }
        return step
    }

    /// One knob, or a list of knobs for the same setting, preferred first (`[{jolokia: …}, {env: DB_POOL_SIZE}]`).
    static func readKnobs(_ node: Node, _ path: String, _ reader: inout NodeReader) -> (Knob?, [Knob]?) {
        guard let list = node.sequence else { return (readKnob(node, path, &reader), nil) }
        guard !list.isEmpty else {
            reader.error(node, "\(path) is an empty list: give one knob, or several for the same setting, preferred first")
            return (nil, nil)
        }
        var knobs: [Knob] = []
        var failed = false
        for (index, item) in list.enumerated() {
            guard let knob = readKnob(item, "\(path)[\(index)]", &reader) else { failed = true; continue }
            if knobs.contains(knob) {
                reader.error(item, "\(path)[\(index)] repeats \(knob)")
                failed = true
            }
            knobs.append(knob)
        }
        guard !failed, let first = knobs.first else { return (nil, nil) }
        return (first, knobs.count > 1 ? Array(knobs.dropFirst()) : nil)
    }

    static func readKnob(_ node: Node, _ path: String, _ reader: inout NodeReader) -> Knob? {
        guard let fields = reader.mapping(node, path, allowed: ["configMap", "key", "restart", "env", "container", "http", "jolokia", "pgbouncer"]) else { return nil }
        var values: [String: String] = [:]
        var restart = false
        for field in fields {
            if field.key == "restart" {
                restart = reader.bool(field.value, "\(path).restart") ?? false
            } else if field.key == "http", field.value.mapping != nil {
                if fields.count > 1 { reader.error(node, "\(path).http is a knob of its own: leave out \(fields.map(\.key).filter { $0 != "http" }.joined(separator: ", "))") }
                return readPodHTTP(field.value, "\(path).http", &reader)
            } else if field.key == "jolokia" || field.key == "pgbouncer" {
                if fields.count > 1 { reader.error(node, "\(path).\(field.key) is a knob of its own: leave out \(fields.map(\.key).filter { $0 != field.key }.joined(separator: ", "))") }
                return field.key == "jolokia" ? readJolokia(field.value, "\(path).jolokia", &reader) : readPgBouncer(field.value, "\(path).pgbouncer", &reader)
            } else {
                values[field.key] = reader.nonEmptyString(field.value, "\(path).\(field.key)")
            }
        }
        if restart, values["configMap"] == nil {
            reader.error(node, "\(path).restart applies to a configMap knob only (an env change restarts the pods by itself)")
        }
        if let name = values["configMap"], let key = values["key"] { return .configMap(name: name, key: key, restart: restart) }
        if let name = values["env"] { return .env(name: name, container: values["container"]) }
        if let url = values["http"] { return .http(url: url) }
        reader.error(node, "\(path) must be {configMap: NAME, key: KEY}, {env: NAME}, {http: URL}, {jolokia: {port, mbean, attribute}} or {pgbouncer: {user, setting}}")
        return nil
    }

    /// Whether `port` (a per-pod knob's container port) is a port number in range or a name; says so where not.
    static func containerPort(_ port: String, _ fields: [(key: String, keyNode: Node, value: Node)], _ path: String, _ reader: inout NodeReader) -> Bool {
        guard let number = Int(port), !(1...65535).contains(number) else { return true }
        reader.error(fields.first { $0.key == "port" }!.value, "\(path).port must be a port number (1–65535) or a container port's name, found \(port)")
        return false
    }

    /// A per-pod knob's scheme: http (the default) or https; nil, with the error, for anything else.
    static func httpScheme(_ scheme: String?, _ fields: [(key: String, keyNode: Node, value: Node)], _ path: String, _ reader: inout NodeReader) -> String? {
        let scheme = scheme ?? "http"
        guard ["http", "https"].contains(scheme) else {
            reader.error(fields.first { $0.key == "scheme" }!.value, "\(path).scheme must be http or https, found \(scheme)")
            return nil
        }
        return scheme
    }

    /// `{http: {port: admin, path: /admin/pool-size}}`: the admin endpoint on each pod.
    static func readPodHTTP(_ node: Node, _ path: String, _ reader: inout NodeReader) -> Knob? {
        guard let fields = reader.mapping(node, path, allowed: ["port", "path", "scheme"]) else { return nil }
        var values: [String: String] = [:]
        for field in fields { values[field.key] = reader.nonEmptyString(field.value, "\(path).\(field.key)") }
        guard let port = values["port"], let endpoint = values["path"] else {
            reader.error(node, "\(path) needs port and path: the pod's container port (a name or a number) and the endpoint's path, or give one URL as {http: URL}")
            return nil
        }
        guard containerPort(port, fields, path, &reader) else { return nil }
        guard let scheme = httpScheme(values["scheme"], fields, path, &reader) else { return nil }
        return .podHTTP(PodHTTPKnob(port: port, path: endpoint.hasPrefix("/") ? endpoint : "/" + endpoint, scheme: scheme))
    }

    /// `{pgbouncer: {port: pgbouncer, user: trimtab, passwordFile: /etc/trimtab/pgbouncer/password, setting: default_pool_size}}`.
    static func readPgBouncer(_ node: Node, _ path: String, _ reader: inout NodeReader) -> Knob? {
        guard let fields = reader.mapping(node, path, allowed: ["port", "user", "passwordFile", "setting"]) else { return nil }
        var values: [String: String] = [:]
        for field in fields { values[field.key] = reader.nonEmptyString(field.value, "\(path).\(field.key)") }
        guard let user = values["user"] else {
            reader.error(node, "\(path) needs user: an admin user of pgbouncer (its admin_users)")
            return nil
        }
        let setting = values["setting"] ?? "default_pool_size"
        if !setting.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
            reader.error(fields.first { $0.key == "setting" }!.value, "\(path).setting must be a setting's name as SHOW CONFIG lists it (default_pool_size, say), found \(setting)")
            return nil
        }
        if let port = values["port"], !containerPort(port, fields, path, &reader) { return nil }
        return .pgbouncer(PgBouncerKnob(port: values["port"] ?? "pgbouncer", user: user, passwordFile: values["passwordFile"], setting: setting))
    }

    /// `{jolokia: {port: jolokia, path: /jolokia, mbean: "com.zaxxer.hikari:type=PoolConfig (shop)", attribute: MaximumPoolSize}}`.
    static func readJolokia(_ node: Node, _ path: String, _ reader: inout NodeReader) -> Knob? {
        guard let fields = reader.mapping(node, path, allowed: ["port", "path", "mbean", "attribute", "scheme"]) else { return nil }
        var values: [String: String] = [:]
        for field in fields { values[field.key] = reader.nonEmptyString(field.value, "\(path).\(field.key)") }
        let missing = ["port", "mbean", "attribute"].filter { key in !fields.contains { $0.key == key } }
        if !missing.isEmpty {
            reader.error(node, "\(path) needs \(missing.joined(separator: " and ")): the pod's container port (a name such as jolokia, or a number), the MBean and its attribute")
            return nil
        }
        guard let port = values["port"], let mbean = values["mbean"], let attribute = values["attribute"] else { return nil }
        guard containerPort(port, fields, path, &reader) else { return nil }
        if !mbean.contains(":") {
            reader.error(fields.first { $0.key == "mbean" }!.value, "\(path).mbean must be an ObjectName, DOMAIN:KEY=VALUE[,…] (HikariCP's is com.zaxxer.hikari:type=PoolConfig (POOL)), found \(mbean)")
            return nil
        }
        guard let scheme = httpScheme(values["scheme"], fields, path, &reader) else { return nil }
        var agentPath = values["path"] ?? "/jolokia"
        if !agentPath.hasPrefix("/") { agentPath = "/" + agentPath }
        return .jolokia(JolokiaKnob(port: port, path: agentPath, mbean: mbean, attribute: attribute, scheme: scheme))
    }

    static func readPool(_ node: Node, _ path: String, _ reader: inout NodeReader, _ refs: inout References) -> PoolSizeAction? {
        let keys = ["knob", "size", "utilization", "utilizationTarget", "throughput", "holdTime", "headroom", "replicas", "min", "max",
                    "maxStepPercent", "databaseConnections"]
        guard let fields = reader.mapping(node, path, allowed: keys) else { return nil }
        var knob: Knob?, fallbacks: [Knob]?
        var min = 1, max: Int?, budget: Int?, budgetIndicator: String?
        var target = 0.7, headroom = 1.2, step = 50.0
        // Without an indicator of its own, the size is read from the knob in the cluster.
        let size = refs.indicator("size", fields, default: nil, path, &reader) ?? "pool_size"
        let utilization = refs.indicator("utilization", fields, default: "pool_utilization", path, &reader) ?? "pool_utilization"
        let replicas = refs.indicator("replicas", fields, default: "replicas", path, &reader) ?? "replicas"
        let throughput = refs.indicator("throughput", fields, default: nil, path, &reader)
        let holdTime = refs.indicator("holdTime", fields, default: nil, path, &reader)
        for field in fields {
            switch field.key {
            case "knob": (knob, fallbacks) = readKnobs(field.value, "\(path).knob", &reader)
            case "min": min = reader.integer(field.value, "\(path).min", minimum: 1) ?? min
            case "max": max = reader.integer(field.value, "\(path).max", minimum: 1)
            case "utilizationTarget": target = ratio(field.value, "\(path).utilizationTarget", &reader) ?? target
            case "headroom":
                if let value = reader.positiveNumber(field.value, "\(path).headroom") {
                    if value < 1 { reader.error(field.value, "\(path).headroom must be at least 1 (1.2 is 20 % spare), found \(value)") } else { headroom = value }
                }
            case "maxStepPercent": step = reader.positiveNumber(field.value, "\(path).maxStepPercent") ?? step
            case "databaseConnections":
                // A number, or the name of an indicator such as pg_settings_max_connections.
                if field.value.tag == Tag(.int) {
                    budget = reader.integer(field.value, "\(path).databaseConnections", minimum: 1)
                } else if let name = reader.nonEmptyString(field.value, "\(path).databaseConnections") {
                    budgetIndicator = name
                    refs.indicators.append(Located(value: name, location: reader.location(of: field.value)))
                }
            default: break
            }
        }
        if (throughput == nil) != (holdTime == nil) {
            reader.error(node, "\(path): throughput and holdTime go together (Little's law needs both)")
        }
        guard let knob else {
            // A knob that was there but wrong has had its own error.
            if !fields.contains(where: { $0.key == "knob" }) { reader.error(node, "\(path).knob is missing") }
            return nil
        }
        guard let max else { reader.error(node, "\(path).max is missing"); return nil }
        if min > max { reader.error(node, "\(path).min (\(min)) is more than max (\(max))"); return nil }
        var pool = PoolSizeAction(knob: knob, size: size, utilization: utilization, utilizationTarget: target, throughput: throughput,
                                  holdTime: holdTime, headroom: headroom, replicas: replicas, min: min, max: max, maxStepPercent: step,
                                  databaseConnections: budget, databaseConnectionsIndicator: budgetIndicator)
        pool.fallbacks = fallbacks
        return pool
    }

    static func readTTL(_ node: Node, _ path: String, _ reader: inout NodeReader, _ refs: inout References) -> CacheTTLAction? {
        let keys = ["knob", "ttl", "min", "max", "factor", "evictions", "evictionsAbove", "memory"]
        guard let fields = reader.mapping(node, path, allowed: keys) else { return nil }
        var knob: Knob?, fallbacks: [Knob]?
        var min = 1.0, max: Double?, factor = 2.0, evictionsAbove = 1.0
        var memory: String?
        // Without an indicator of its own, the TTL is read from the knob in the cluster.
        let ttl = refs.indicator("ttl", fields, default: nil, path, &reader) ?? "cache_ttl_seconds"
        let evictions = refs.indicator("evictions", fields, default: nil, path, &reader)
        for field in fields {
            switch field.key {
            case "knob": (knob, fallbacks) = readKnobs(field.value, "\(path).knob", &reader)
            case "min": min = reader.duration(field.value, "\(path).min") ?? min
            case "max": max = reader.duration(field.value, "\(path).max")
            case "factor":
                if let value = reader.number(field.value, "\(path).factor") {
                    if value <= 1 { reader.error(field.value, "\(path).factor must be more than 1, found \(value)") } else { factor = value }
                }
            case "evictionsAbove": evictionsAbove = reader.positiveNumber(field.value, "\(path).evictionsAbove", allowZero: true) ?? evictionsAbove
            case "memory":
                if let name = reader.nonEmptyString(field.value, "\(path).memory") {
                    memory = name
                    refs.checks.append(Located(value: name, location: reader.location(of: field.value)))
                }
            default: break
            }
        }
        guard let knob else {
            // A knob that was there but wrong has had its own error.
            if !fields.contains(where: { $0.key == "knob" }) { reader.error(node, "\(path).knob is missing") }
            return nil
        }
        guard let max else { reader.error(node, "\(path).max is missing"); return nil }
        if min > max { reader.error(node, "\(path).min is more than max"); return nil }
        var cache = CacheTTLAction(knob: knob, ttl: ttl, minSeconds: min, maxSeconds: max, factor: factor, evictions: evictions,
                                   evictionsAbove: evictionsAbove, memory: memory)
        cache.fallbacks = fallbacks
        return cache
    }

    static func ratio(_ node: Node, _ path: String, _ reader: inout NodeReader) -> Double? {
        guard let literal = PolicyParser.threshold(node, path, &reader) else { return nil }
        let value = literal.value.value
        if value <= 0 || value > 1 || literal.value.form == .duration {
            reader.error(node, "\(path) is a ratio above 0 and at most 1 (or a percentage), found \(value)")
            return nil
        }
        return value
    }
}
