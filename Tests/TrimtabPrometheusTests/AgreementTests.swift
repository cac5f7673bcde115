import Testing
import TrimtabTestSupport

/// The comparison the side-by-side tests rely on must still see a real difference.
@Suite("disagreements: values to a tolerance, everything else exactly")
struct AgreementTests {
    struct Check: Encodable {
        var name: String
        var value: Double?
        var breached: Bool
        var points: [Double]
    }

    @Test func aLastBitDifferenceAgrees() throws {
        let a = Check(name: "error_ratio", value: 0.002, breached: false, points: [1, 2])
        var b = a
        b.value = 0.0020000000000000005
        #expect(try disagreements(a, b) == [])
    }

    @Test func aRealDifferenceIsNamedByItsPath() throws {
        let a = Check(name: "error_ratio", value: 0.002, breached: false, points: [1, 2])
        var b = a
        b.value = 0.0021
        b.breached = true
        b.points = [1, 2, 3]
        b.name = "latency_p95"
        #expect(try disagreements(a, b) == [
            "breached: 0.0 ≠ 1.0", "name: error_ratio ≠ latency_p95", "points: 2 elements ≠ 3", "value: 0.002 ≠ 0.0021",
        ])
        b = a
        b.value = nil
        #expect(try disagreements(a, b) == ["value: only on the left"])
    }
}
