import Testing
@testable import TrimtabKubeSandbox
