import Foundation
import Yams

/// Reads `spec.notify`. URLs are checked here; the files named (tokens, webhook URLs) are read when
/// notifications start, where a missing file is reported with its path.
enum NotifyParser {
    static let keys = ["alertmanagers", "webhooks", "link", "resendEvery", "unreachableAfter"]
    static let alertmanagerKeys = ["url", "bearerTokenFile", "basicAuthUser", "basicAuthPasswordFile", "caFile", "certFile", "keyFile",
                                   "insecureSkipVerify"]

    static func read(_ node: Node, into fragment: inout PolicyFragment, _ reader: inout NodeReader) {
        guard let entries = reader.mapping(node, "spec.notify", allowed: keys) else { return }
        var settings = fragment.notify ?? NotifySettings()
        for item in entries {
            let path = "spec.notify.\(item.key)"
            switch item.key {
            case "alertmanagers": settings.alertmanagers = alertmanagers(item.value, path, &reader)
            case "webhooks": settings.webhooks = webhooks(item.value, path, &reader)
            case "link":
                if let link = reader.nonEmptyString(item.value, path) {
                    if let problem = urlProblem(link) { reader.error(item.value, "\(path) \(problem)") } else { settings.link = link }
                }
            case "resendEvery":
                if let seconds = reader.duration(item.value, path) {
                    if seconds < 1 { reader.error(item.value, "\(path) must be at least 1s") } else { settings.resendSeconds = seconds }
                }
            case "unreachableAfter":
                if let cycles = reader.integer(item.value, path, minimum: 1) { settings.unreachableAfterCycles = cycles }
            default: break
            }
        }
        fragment.notify = settings
    }

    static func alertmanagers(_ node: Node, _ path: String, _ reader: inout NodeReader) -> [AlertmanagerEndpoint] {
        guard let list = node.sequence else {
            reader.error(node, "\(path) must be a list of URLs or mappings with a url, found \(reader.kindName(node))")
            return []
        }
        var result: [AlertmanagerEndpoint] = []
        for (index, item) in list.enumerated() {
            let itemPath = "\(path)[\(index)]"
            var endpoint: AlertmanagerEndpoint
            if item.scalar != nil {
                guard let url = reader.nonEmptyString(item, itemPath) else { continue }
                endpoint = AlertmanagerEndpoint(url: url)
            } else {
                guard let fields = reader.mapping(item, itemPath, allowed: alertmanagerKeys) else { continue }
                guard let urlNode = fields.first(where: { $0.key == "url" })?.value else {
                    reader.error(item, "\(itemPath) needs a url, e.g. url: http://alertmanager:9093")
                    continue
                }
                guard let url = reader.nonEmptyString(urlNode, "\(itemPath).url") else { continue }
                endpoint = AlertmanagerEndpoint(url: url)
                for field in fields {
                    let fieldPath = "\(itemPath).\(field.key)"
                    switch field.key {
                    case "bearerTokenFile": endpoint.bearerTokenFile = reader.nonEmptyString(field.value, fieldPath)
                    case "basicAuthUser": endpoint.basicAuthUser = reader.nonEmptyString(field.value, fieldPath)
                    case "basicAuthPasswordFile": endpoint.basicAuthPasswordFile = reader.nonEmptyString(field.value, fieldPath)
                    case "caFile": endpoint.caFile = reader.nonEmptyString(field.value, fieldPath)
                    case "certFile": endpoint.certFile = reader.nonEmptyString(field.value, fieldPath)
                    case "keyFile": endpoint.keyFile = reader.nonEmptyString(field.value, fieldPath)
                    case "insecureSkipVerify": endpoint.insecureSkipVerify = reader.bool(field.value, fieldPath) ?? false
                    default: break
                    }
                }
                if (endpoint.certFile == nil) != (endpoint.keyFile == nil) {
                    reader.error(item, "\(itemPath): certFile and keyFile go together")
                }
                if endpoint.basicAuthPasswordFile != nil && endpoint.basicAuthUser == nil {
                    reader.error(item, "\(itemPath): basicAuthPasswordFile needs basicAuthUser")
                }
                if endpoint.bearerTokenFile != nil && endpoint.basicAuthUser != nil {
                    reader.error(item, "\(itemPath): use either bearerTokenFile or basicAuthUser, not both")
                }
            }
            if let problem = urlProblem(endpoint.url) {
                reader.error(item, "\(itemPath) \(problem)")
                continue
            }
            result.append(endpoint)
        }
        return result
    }

    static func webhooks(_ node: Node, _ path: String, _ reader: inout NodeReader) -> [WebhookEndpoint] {
        guard let list = node.sequence else {
            reader.error(node, "\(path) must be a list of mappings with a urlFile, found \(reader.kindName(node))")
            return []
        }
        var result: [WebhookEndpoint] = []
        for (index, item) in list.enumerated() {
            let itemPath = "\(path)[\(index)]"
            guard let fields = reader.mapping(item, itemPath, allowed: ["name", "urlFile", "url", "format"]) else { continue }
            var name = "webhook-\(index + 1)"
            var urlFile: String?
            var format = WebhookEndpoint.Format.json
            for field in fields {
                let fieldPath = "\(itemPath).\(field.key)"
                switch field.key {
                case "name": name = reader.nonEmptyString(field.value, fieldPath) ?? name
                case "urlFile": urlFile = reader.nonEmptyString(field.value, fieldPath)
                case "format": format = reader.enumeration(field.value, fieldPath, as: WebhookEndpoint.Format.self) ?? format
                case "url":
                    // Named only to say why it is refused: a policy is not the place for a secret.
                    reader.error(field.value, "\(fieldPath): a webhook's URL is its secret and is read only from a file",
                                 hint: "write the URL into a file (a mounted Secret) and name it with urlFile")
                default: break
                }
            }
            guard let urlFile else {
                if !fields.contains(where: { $0.key == "url" }) {
                    reader.error(item, "\(itemPath) needs urlFile: the file (a mounted Secret) that holds the webhook's URL")
                }
                continue
            }
            if result.contains(where: { $0.name == name }) {
                reader.error(item, "\(itemPath): the name '\(name)' is used by another webhook")
                continue
            }
            result.append(WebhookEndpoint(name: name, urlFile: urlFile, format: format))
        }
        return result
    }

    /// Why a URL cannot be posted to, in the policy's words, or nil.
    static func urlProblem(_ text: String) -> String? {
        switch NotifySettings.problem(url: text) {
        case .notHTTP: return "'\(Redaction.displayURL(text))' is not an http(s) URL"
        case .holdsPassword: return "holds a password: put it in a file and name it with basicAuthPasswordFile"
        case nil: return nil
        }
    }
}
