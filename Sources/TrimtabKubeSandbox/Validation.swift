/// The checks the API server's validation makes on the fields Trimtab writes, with its wording.
enum Validation {
    static let subdomainMessage = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"

    /// The causes that make `object` invalid as a `type`; empty when it is valid.
    static func causes(_ object: JSONValue, as type: ResourceType) -> [StatusError.Cause] {
        var causes: [StatusError.Cause] = []
        let name = object[path: ["metadata", "name"]]?.stringValue ?? ""
        if !isSubdomain(name) {
            causes.append(.invalid("metadata.name", .string(name), subdomainMessage))
        }
        if type.rollsOut {
            causes += replicasCauses(object[path: ["spec", "replicas"]], field: "spec.replicas")
        }
        if type == ResourceCatalog.configMaps, let data = object["data"] {
            if case .object(let members) = data {
                for key in members.keys.sorted() where members[key]?.stringValue == nil {
                    causes.append(.invalid("data[\(key)]", members[key]!, "must be a string"))
                }
            } else if data != .null {
                causes.append(.invalid("data", data, "must be a map of strings"))
            }
        }
        if type == ResourceCatalog.horizontalPodAutoscalers {
            causes += autoscalerCauses(object)
        }
        if type == ResourceCatalog.scaledObjects {
            causes += scaledObjectCauses(object)
        }
        return causes
    }

    /// Replicas must be a whole number, at least zero; absent is fine (it defaults).
    static func replicasCauses(_ value: JSONValue?, field: String) -> [StatusError.Cause] {
        guard let value, value != .null else { return [] }
        guard let replicas = value.intValue, replicas <= Int(Int32.max) else {
            return [.invalid(field, value, "must be an integer")]
        }
        return replicas < 0 ? [.invalid(field, value, "must be greater than or equal to 0")] : []
    }

    private static func autoscalerCauses(_ object: JSONValue) -> [StatusError.Cause] {
        var causes: [StatusError.Cause] = []
        let minimum = object[path: ["spec", "minReplicas"]]
        let maximum = object[path: ["spec", "maxReplicas"]]
        if let minimum, minimum != .null {
            if let value = minimum.intValue {
                if value < 1 { causes.append(.invalid("spec.minReplicas", minimum, "must be greater than or equal to 1")) }
            } else {
                causes.append(.invalid("spec.minReplicas", minimum, "must be an integer"))
            }
        }
        if let maximum, maximum != .null {
            if let value = maximum.intValue {
                if value < 1 { causes.append(.invalid("spec.maxReplicas", maximum, "must be greater than 0")) }
                if let low = minimum?.intValue, value < low {
                    causes.append(.invalid("spec.maxReplicas", maximum, "must be greater than or equal to `minReplicas`"))
                }
            } else {
                causes.append(.invalid("spec.maxReplicas", maximum, "must be an integer"))
            }
        } else {
            causes.append(.required("spec.maxReplicas", "must be greater than 0"))
        }
        if object[path: ["spec", "scaleTargetRef", "kind"]]?.stringValue?.isEmpty ?? true {
            causes.append(.required("spec.scaleTargetRef.kind", ""))
        }
        if object[path: ["spec", "scaleTargetRef", "name"]]?.stringValue?.isEmpty ?? true {
            causes.append(.required("spec.scaleTargetRef.name", ""))
        }
        return causes
    }

    /// What KEDA's CRD schema (and its admission webhook) require of a ScaledObject.
    private static func scaledObjectCauses(_ object: JSONValue) -> [StatusError.Cause] {
        var causes: [StatusError.Cause] = []
        if object[path: ["spec", "scaleTargetRef", "name"]]?.stringValue?.isEmpty ?? true {
            causes.append(.required("spec.scaleTargetRef.name", ""))
        }
        guard case .array(let triggers)? = object[path: ["spec", "triggers"]], !triggers.isEmpty else {
            return causes + [.required("spec.triggers", "")]
        }
        for (index, trigger) in triggers.enumerated() {
            if trigger["type"]?.stringValue?.isEmpty ?? true { causes.append(.required("spec.triggers[\(index)].type", "")) }
            if case .object(let members)? = trigger["metadata"] {
                for key in members.keys.sorted() where members[key]?.stringValue == nil {
                    causes.append(.invalid("spec.triggers[\(index)].metadata.\(key)", members[key]!, "must be of type string"))
                }
            }
        }
        for field in ["minReplicaCount", "maxReplicaCount"] {
            if let value = object[path: ["spec", field]], value != .null {
                if let number = value.intValue {
                    if number < 0 { causes.append(.invalid("spec.\(field)", value, "should be greater than or equal to 0")) }
                } else {
                    causes.append(.invalid("spec.\(field)", value, "must be of type integer"))
                }
            }
        }
        if let low = object[path: ["spec", "minReplicaCount"]]?.intValue, let high = object[path: ["spec", "maxReplicaCount"]]?.intValue, low > high {
            causes.append(.invalid("spec.minReplicaCount", .number(Double(low)), "MinReplicaCount=\(low) must be less than MaxReplicaCount=\(high)"))
        }
        return causes
    }

    /// Whether `name` is a DNS-1123 subdomain: at most 253 characters, dot-separated labels of
    /// lower-case alphanumerics and '-', each starting and ending with an alphanumeric.
    static func isSubdomain(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            let characters = Array(label.utf8)
            guard let first = characters.first, let last = characters.last else { return false }
            func alphanumeric(_ c: UInt8) -> Bool { (0x61...0x7A).contains(c) || (0x30...0x39).contains(c) }
            return alphanumeric(first) && alphanumeric(last) && characters.allSatisfy { alphanumeric($0) || $0 == UInt8(ascii: "-") }
        }
    }
}
