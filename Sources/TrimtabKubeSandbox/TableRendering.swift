import Foundation

/// The `meta.k8s.io/v1` Table the API server answers when a client (kubectl get) asks for one in
/// its Accept header, with the columns the real server prints for each resource.
enum TableRendering {
    struct Column {
        var name: String
        var type: String = "string"
        var format: String = ""
        var priority: Int = 0
        var cell: (JSONValue, Date) -> JSONValue
    }

    /// Whether an Accept header asks for a Table.
    static func wantsTable(_ accept: String?) -> Bool {
        guard let accept else { return false }
        return accept.split(separator: ",").contains { $0.contains("as=Table") && $0.contains("g=meta.k8s.io") }
    }

    /// `includeObject` is the query parameter of that name: `Metadata` (the default), `Object` or `None`.
    static func table(_ type: ResourceType, objects: [JSONValue], resourceVersion: String, includeObject: String?, now: Date) -> JSONValue {
        let layout = columns(for: type)
        let definitions: [JSONValue] = layout.map {
            ["name": .string($0.name), "type": .string($0.type), "format": .string($0.format), "description": .string($0.name),
             "priority": .number(Double($0.priority))]
        }
        let rows: [JSONValue] = objects.map { object in
            var row: JSONValue = ["cells": .array(layout.map { $0.cell(object, now) })]
            switch includeObject {
            case "None": break
            case "Object": row["object"] = object
            default:
                row["object"] = ["kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": object["metadata"] ?? [:]]
            }
            return row
        }
        return ["kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": ["resourceVersion": .string(resourceVersion)],
                "columnDefinitions": .array(definitions), "rows": .array(rows)]
    }

    private static func columns(for type: ResourceType) -> [Column] {
        let name = Column(name: "Name", format: "name") { object, _ in object[path: ["metadata", "name"]] ?? "" }
        let age = Column(name: "Age") { object, now in .string(TableRendering.age(of: object, now: now)) }
        func int(_ path: [String]) -> (JSONValue, Date) -> JSONValue { { object, _ in .number(Double(object[path: path]?.intValue ?? 0)) } }
        let containers = Column(name: "Containers", priority: 1) { object, _ in
            .string(podContainers(object).compactMap { $0["name"]?.stringValue }.joined(separator: ","))
        }
        let images = Column(name: "Images", priority: 1) { object, _ in
            .string(podContainers(object).compactMap { $0["image"]?.stringValue }.joined(separator: ","))
        }
        let ready = Column(name: "Ready") { object, _ in
            .string("\(object[path: ["status", "readyReplicas"]]?.intValue ?? 0)/\(object[path: ["spec", "replicas"]]?.intValue ?? 0)")
        }
        switch type {
        case ResourceCatalog.deployments:
            return [name, ready, Column(name: "Up-to-date", type: "integer", cell: int(["status", "updatedReplicas"])),
                    Column(name: "Available", type: "integer", cell: int(["status", "availableReplicas"])), age, containers, images,
                    Column(name: "Selector", priority: 1) { object, _ in .string(selectorText(object)) }]
        case ResourceCatalog.statefulSets:
            return [name, ready, age, containers, images]
        case ResourceCatalog.configMaps:
            return [name, Column(name: "Data", type: "integer") { object, _ in
                .number(Double((object["data"]?.objectValue?.count ?? 0) + (object["binaryData"]?.objectValue?.count ?? 0)))
            }, age]
        case ResourceCatalog.events:
            return [Column(name: "Last Seen") { object, now in
                        let stamp = object["lastTimestamp"]?.stringValue ?? object["eventTime"]?.stringValue
                            ?? object[path: ["metadata", "creationTimestamp"]]?.stringValue
                        return .string(since(stamp, now: now))
                    },
                    Column(name: "Type") { object, _ in object["type"] ?? "" },
                    Column(name: "Reason") { object, _ in object["reason"] ?? "" },
                    Column(name: "Object") { object, _ in
                        let kind = object[path: ["involvedObject", "kind"]]?.stringValue?.lowercased() ?? ""
                        return .string("\(kind)/\(object[path: ["involvedObject", "name"]]?.stringValue ?? "")")
                    },
                    Column(name: "Message") { object, _ in object["message"] ?? "" }]
        case ResourceCatalog.horizontalPodAutoscalers:
            return [name,
                    Column(name: "Reference") { object, _ in
                        .string("\(object[path: ["spec", "scaleTargetRef", "kind"]]?.stringValue ?? "")/\(object[path: ["spec", "scaleTargetRef", "name"]]?.stringValue ?? "")")
                    },
                    Column(name: "MinPods", type: "integer", cell: int(["spec", "minReplicas"])),
                    Column(name: "MaxPods", type: "integer", cell: int(["spec", "maxReplicas"])),
                    Column(name: "Replicas", type: "integer", cell: int(["status", "currentReplicas"])), age]
        case ResourceCatalog.namespaces:
            return [name, Column(name: "Status") { object, _ in object[path: ["status", "phase"]] ?? "" }, age]
        case ResourceCatalog.leases:
            return [name, Column(name: "Holder") { object, _ in object[path: ["spec", "holderIdentity"]] ?? "" }, age]
        default:
            return [name, age]
        }
    }

    private static func podContainers(_ object: JSONValue) -> [JSONValue] {
        object[path: ["spec", "template", "spec", "containers"]]?.arrayValue ?? []
    }

    /// `app=checkout,tier=api`, as the Scale subresource and the Selector column print a selector.
    static func selectorText(_ object: JSONValue) -> String {
        let labels = object[path: ["spec", "selector", "matchLabels"]]?.objectValue ?? [:]
        return labels.keys.sorted().map { "\($0)=\(labels[$0]?.stringValue ?? "")" }.joined(separator: ",")
    }

    static func age(of object: JSONValue, now: Date) -> String {
        since(object[path: ["metadata", "creationTimestamp"]]?.stringValue, now: now)
    }

    static func since(_ stamp: String?, now: Date) -> String {
        guard let stamp, let date = try? Date(stamp, strategy: .iso8601) else { return "<unknown>" }
        return humanDuration(now.timeIntervalSince(date))
    }

    /// Kubernetes' `duration.HumanDuration`, so ages read as kubectl prints them for a real cluster.
    static func humanDuration(_ interval: TimeInterval) -> String {
        let seconds = Int(interval)
        if seconds < -1 { return "<invalid>" }
        if seconds < 0 { return "0s" }
        if seconds < 120 { return "\(seconds)s" }
        let minutes = seconds / 60
        if minutes < 10 { return seconds % 60 == 0 ? "\(minutes)m" : "\(minutes)m\(seconds % 60)s" }
        if minutes < 180 { return "\(minutes)m" }
        let hours = minutes / 60
        if hours < 8 { return minutes % 60 == 0 ? "\(hours)h" : "\(hours)h\(minutes % 60)m" }
        if hours < 48 { return "\(hours)h" }
        if hours < 24 * 8 { return hours % 24 == 0 ? "\(hours / 24)d" : "\(hours / 24)d\(hours % 24)h" }
        if hours < 24 * 365 * 2 { return "\(hours / 24)d" }
        if hours < 24 * 365 * 8 {
            let days = (hours / 24) % 365
            return days == 0 ? "\(hours / 24 / 365)y" : "\(hours / 24 / 365)y\(days)d"
        }
        return "\(hours / 24 / 365)y"
    }
}
