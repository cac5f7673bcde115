import Foundation

/// Where two values disagree once encoded, numbers compared to a relative tolerance and everything else
/// exactly; each difference is named by its path (`targets[2].checks[1].value: 0.002 ≠ 0.0021`).
///
/// Two queries of the same PromQL at the same time on the same Prometheus can differ in a sum's last bit
/// (it adds series in hash order), so a judgement made twice is compared this way: the same statuses,
/// times, counts and texts, and values equal to far below any threshold's resolution.
public func disagreements<T: Encodable>(_ left: T, _ right: T, relativeTolerance: Double = 1e-9) throws -> [String] {
    let encoder = JSONEncoder()
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "+Inf", negativeInfinity: "-Inf", nan: "NaN")
    let a = try JSONSerialization.jsonObject(with: encoder.encode(left), options: [.fragmentsAllowed])
    let b = try JSONSerialization.jsonObject(with: encoder.encode(right), options: [.fragmentsAllowed])
    var found: [String] = []
    compare(a, b, path: "", tolerance: relativeTolerance, into: &found)
    return found
}

private func compare(_ a: Any, _ b: Any, path: String, tolerance: Double, into found: inout [String]) {
    switch (a, b) {
    case let (x as [String: Any], y as [String: Any]):
        for key in Set(x.keys).union(y.keys).sorted() {
            let at = path.isEmpty ? key : "\(path).\(key)"
            guard let u = x[key], let v = y[key] else {
                found.append("\(at): only on the \(x[key] == nil ? "right" : "left")")
                continue
            }
            compare(u, v, path: at, tolerance: tolerance, into: &found)
        }
    case let (x as [Any], y as [Any]):
        guard x.count == y.count else {
            found.append("\(path): \(x.count) elements ≠ \(y.count)")
            return
        }
        for (index, (u, v)) in zip(x, y).enumerated() {
            compare(u, v, path: "\(path)[\(index)]", tolerance: tolerance, into: &found)
        }
    case let (x as NSNumber, y as NSNumber):
        // Booleans arrive as 0 and 1, which no tolerance makes equal.
        let u = x.doubleValue, v = y.doubleValue
        if u != v, abs(u - v) > tolerance * max(abs(u), abs(v)) {
            found.append("\(path): \(u) ≠ \(v)")
        }
    default:
        if "\(a)" != "\(b)" || type(of: a) != type(of: b) {
            found.append("\(path): \(a) ≠ \(b)")
        }
    }
}

