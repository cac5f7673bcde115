/// The discovery documents kubectl and client-go read before anything else: `/version`, `/api`,
/// `/api/v1`, `/apis`, `/apis/GROUP` and `/apis/GROUP/VERSION`, in their legacy (unaggregated) JSON
/// forms. kubectl asks for aggregated discovery first and falls back to these when the answer's
/// Content-Type is plain `application/json`.
enum Discovery {
    static let gitVersion = "v1.32.0-trimtab-sandbox"

    /// The discovery document at `segments`, or nil when the path is not a discovery path.
    static func document(_ segments: [String], serverAddress: String) -> JSONValue? {
        switch segments {
        case ["version"], ["version", ""]:
            return ["major": "1", "minor": "32", "gitVersion": .string(gitVersion), "gitCommit": "0000000000000000000000000000000000000000",
                    "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23.4", "compiler": "gc",
                    "platform": "linux/amd64"]
        case ["api"]:
            return ["kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": .string(serverAddress)]]]
        case ["api", "v1"]:
            return resourceList(group: "", version: "v1")
        case ["apis"]:
            return ["kind": "APIGroupList", "apiVersion": "v1", "groups": .array(ResourceCatalog.groups.map { apiGroup($0.name, $0.version) })]
        case let path where path.count == 2 && path[0] == "apis":
            guard let group = ResourceCatalog.groups.first(where: { $0.name == path[1] }) else { return nil }
            var document = apiGroup(group.name, group.version)
            document["kind"] = "APIGroup"
            document["apiVersion"] = "v1"
            return document
        case let path where path.count == 3 && path[0] == "apis":
            guard ResourceCatalog.groups.contains(where: { $0.name == path[1] && $0.version == path[2] }) else { return nil }
            return resourceList(group: path[1], version: path[2])
        default:
            return nil
        }
    }

    private static func apiGroup(_ name: String, _ version: String) -> JSONValue {
        let groupVersion: JSONValue = ["groupVersion": .string("\(name)/\(version)"), "version": .string(version)]
        return ["name": .string(name), "versions": [groupVersion], "preferredVersion": groupVersion]
    }

    private static func resourceList(group: String, version: String) -> JSONValue {
        var resources: [JSONValue] = []
        for type in ResourceCatalog.all where type.group == group && type.version == version {
            var verbs = ResourceType.verbs
            if !type.namespaced { verbs.removeAll { $0 == "deletecollection" } }
            var resource: JSONValue = ["name": .string(type.plural), "singularName": .string(type.singular),
                                       "namespaced": .bool(type.namespaced), "kind": .string(type.kind),
                                       "verbs": .array(verbs.map(JSONValue.string))]
            if !type.shortNames.isEmpty { resource["shortNames"] = .array(type.shortNames.map(JSONValue.string)) }
            if type.rollsOut || type == ResourceCatalog.horizontalPodAutoscalers { resource["categories"] = ["all"] }
            resources.append(resource)
            for subresource in type.subresources {
                // client-go's scale client reads the Scale group and version from this entry.
                resources.append(["name": .string("\(type.plural)/\(subresource)"), "singularName": "",
                                  "namespaced": .bool(type.namespaced), "group": "autoscaling", "version": "v1",
                                  "kind": "Scale", "verbs": ["get", "patch", "update"]])
            }
        }
        return ["kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": .string(group.isEmpty ? version : "\(group)/\(version)"), "resources": .array(resources)]
    }
}
