/// Whether a ConfigMap key written without a restart reaches the running pods. The kubelet refreshes a
/// ConfigMap mounted as a volume (within its sync period and cache, about a minute by default); it
/// never refreshes one mounted with `subPath`, nor an environment variable read from it
/// (kubernetes #50345). So a `restart: false` knob is live only when its key is mounted whole.
public enum ConfigMapReach: Sendable, Equatable {
    /// Mounted as a volume: the file `path` in `container` follows the ConfigMap.
    case live(container: String, path: String)
    /// Mounted with `subPath`, or read into an environment variable: fixed at the pod's start.
    case frozen(String)
    /// Not in the pod template at all (or the volume's `items` leave the key out).
    case absent(String)

    /// What the pod template says of one container, as far as ConfigMaps go.
    public struct Container: Sendable, Equatable {
        public var name: String
        public var mounts: [Mount]
        /// `env[].valueFrom.configMapKeyRef`: the variable, the ConfigMap and its key.
        public var keyRefs: [(variable: String, configMap: String, key: String)]
        /// `envFrom[].configMapRef`.
        public var envFrom: [String]

        public init(name: String, mounts: [Mount] = [], keyRefs: [(variable: String, configMap: String, key: String)] = [], envFrom: [String] = []) {
            self.name = name
            self.mounts = mounts
            self.keyRefs = keyRefs
            self.envFrom = envFrom
        }

        public static func == (a: Container, b: Container) -> Bool {
            a.name == b.name && a.mounts == b.mounts && a.envFrom == b.envFrom
                && a.keyRefs.map { "\($0.variable)=\($0.configMap)/\($0.key)" } == b.keyRefs.map { "\($0.variable)=\($0.configMap)/\($0.key)" }
        }
    }

    public struct Mount: Sendable, Equatable {
        public var volume: String
        public var path: String
        public var subPath: String?
        public init(volume: String, path: String, subPath: String? = nil) {
            self.volume = volume
            self.path = path
            self.subPath = subPath
        }
    }

    /// A volume of the pod: the ConfigMap it projects, and its `items` keys when it lists them.
    public struct Volume: Sendable, Equatable {
        public var name: String
        public var configMap: String
        public var items: [(key: String, path: String)]?
        public init(name: String, configMap: String, items: [(key: String, path: String)]? = nil) {
            self.name = name
            self.configMap = configMap
            self.items = items
        }
        public static func == (a: Volume, b: Volume) -> Bool {
            a.name == b.name && a.configMap == b.configMap && a.items?.map { "\($0.key)=\($0.path)" } == b.items?.map { "\($0.key)=\($0.path)" }
        }
    }

    /// How `key` of ConfigMap `name` reaches the pods of `workload`.
    public static func judge(configMap name: String, key: String, volumes: [Volume], containers: [Container], workload: String) -> ConfigMapReach {
        var frozen: [String] = []
        for volume in volumes where volume.configMap == name {
            // A volume that lists items projects only those keys, each at its own path.
            let file: String?
            if let items = volume.items { file = items.first { $0.key == key }?.path } else { file = key }
            guard let file else { continue }
            for container in containers {
                for mount in container.mounts where mount.volume == volume.name {
                    if let subPath = mount.subPath {
                        if subPath == file { frozen.append("container \(container.name) mounts it with subPath \(subPath) at \(mount.path)") }
                        continue
                    }
                    return .live(container: container.name, path: mount.path + (mount.path.hasSuffix("/") ? "" : "/") + file)
                }
            }
        }
        for container in containers {
            for ref in container.keyRefs where ref.configMap == name && ref.key == key {
                frozen.append("container \(container.name) reads it into the variable \(ref.variable)")
            }
            if container.envFrom.contains(name) { frozen.append("container \(container.name) reads it with envFrom") }
        }
        if !frozen.isEmpty {
            return .frozen("ConfigMap \(name) key \(key) reaches \(workload) only as it was when each pod started: \(frozen.joined(separator: "; ")), which the kubelet never refreshes (kubernetes #50345); mount the ConfigMap as a volume without subPath, or set restart: true on the knob")
        }
        return .absent("ConfigMap \(name) key \(key) is not in the pod template of \(workload) (no volume mounts it, no variable reads it), so writing it changes nothing there; mount it, or name the knob the workload reads")
    }

    /// The plan's rule for a change written without a restart.
    public var rule: RuleResult {
        switch self {
        case .live(let container, let path):
            return RuleResult("live knob", true, "mounted whole at \(path) in container \(container): the kubelet refreshes it within about a minute, no pod restarts")
        case .frozen(let why), .absent(let why):
            return RuleResult("live knob", false, why)
        }
    }
}
