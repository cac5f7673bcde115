import Foundation
import Testing
import TrimtabSandbox

/// The "dead" receivers and servers of the tests: a reserved port refuses connections, and no other
/// server of the run can be handed it while the reservation is held (the CI flake it fixes: an
/// Alertmanager receiver's retries, sent to a port from `FreePort.find()`, reached the API server
/// another test had started there, and showed up as writes a cycle on incomplete data never made).
@Suite("A reserved port is refused and kept")
struct RefusingPortTests {
    /// `bind` or `connect` on a fresh socket to 127.0.0.1:`port`: 0, or the errno.
    static func onFreshSocket(_ port: Int, _ call: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(fd, $0, length) } }
        return result == 0 ? 0 : errno
    }

    static func tryBind(_ port: Int) -> Bool { onFreshSocket(port) { bind($0, $1, $2) } == 0 }
    static func connectError(_ port: Int) -> Int32 { onFreshSocket(port) { connect($0, $1, $2) } }

    @Test func heldItRefusesAndCannotBeTakenReleasedItCanBe() throws {
        var reserved: RefusingPort? = try FreePort.reserveRefusing()
        let port = reserved!.port
        #expect(Self.connectError(port) == ECONNREFUSED)
        #expect(!Self.tryBind(port), "another server could take the port while it is held")
        reserved = nil
        #expect(Self.tryBind(port), "released, the port is free again")
    }
}
