import Foundation

/// How long PostgreSQL, pgbouncer or a pool service may take to start: under a full test run on two
/// cores, PostgreSQL once took longer than the 30 s it had.
private let readySeconds: TimeInterval = 120

/// Debian's PostgreSQL (`postgresql-15`), started by `initdb` in a temporary directory on
/// 127.0.0.1 and a free port, trusting local connections: the database behind the test services'
/// pools. PostgreSQL refuses to run as root, so under root it runs as the `postgres` user.
public final class PostgresSandbox: @unchecked Sendable {
    public let port: Int
    let directory: URL
    let process: Process
    let bin: URL
    public var jdbcURL: String { "jdbc:postgresql://127.0.0.1:\(port)/postgres" }

    init(port: Int, directory: URL, process: Process, bin: URL) {
        self.port = port
        self.directory = directory
        self.process = process
        self.bin = bin
    }

    /// The binaries of the newest PostgreSQL Debian installed.
    public static func binaries() -> URL? {
        let root = URL(fileURLWithPath: "/usr/lib/postgresql")
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).compactMap(Int.init).sorted()
        return versions.last.map { root.appendingPathComponent("\($0)/bin") }
            .flatMap { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("postgres").path) ? $0 : nil }
    }

    /// `command` as the `postgres` user when running as root (PostgreSQL will not run as root).
    static func asOwner(_ command: [String]) -> (String, [String]) {
        getuid() == 0 ? ("/usr/sbin/runuser", ["-u", "postgres", "--"] + command) : (command[0], Array(command.dropFirst()))
    }

    /// Starts `command` (as its owner, see `asOwner`) in `dir`, its output and errors to `output`.
    static func launchAsOwner(_ command: [String], output: URL, in dir: URL) throws -> Process {
        let handle = try FileHandle(forWritingTo: output)
        let (executable, arguments) = asOwner(command)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        process.currentDirectoryURL = dir
        try process.run()
        return process
    }

    /// Under root, gives `dir` and what is in it to the `postgres` user, which PostgreSQL and
    /// pgbouncer run as.
    static func ownByPostgres(_ dir: URL) throws {
        guard getuid() == 0 else { return }
        var owner = passwd(), found: UnsafeMutablePointer<passwd>? = nil
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwnam_r("postgres", &owner, &buffer, buffer.count, &found) == 0, found != nil else {
            throw PrometheusSandbox.SandboxError.notReady(component: "PostgreSQL", log: "there is no postgres user to run PostgreSQL and pgbouncer as (they refuse root)")
        }
        for path in [dir.path] + ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).map({ dir.appendingPathComponent($0).path }) {
            chown(path, owner.pw_uid, owner.pw_gid)
        }
    }

    public static func start() async throws -> PostgresSandbox {
        guard let bin = binaries() else { throw PrometheusSandbox.SandboxError.missingBinary("postgresql (postgres, initdb)") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trimtab-postgres-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try ownByPostgres(dir)
        let data = dir.appendingPathComponent("data").path
        let (initdb, initArguments) = asOwner([bin.appendingPathComponent("initdb").path, "-D", data, "-U", "postgres", "--auth=trust",
                                               "-E", "UTF8", "--no-sync"])
        let (status, output) = try await PrometheusSandbox.run(initdb, initArguments, in: dir, keepingLast: 2000)
        guard status == 0 else {
            try? FileManager.default.removeItem(at: dir)
            throw PrometheusSandbox.SandboxError.notReady(component: "PostgreSQL", log: "initdb failed: \(output)")
        }
        let logFile = dir.appendingPathComponent("postgres.log")
        for attempt in 1...5 {
            let port = try FreePort.find()
            _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
            let process = try launchAsOwner([bin.appendingPathComponent("postgres").path, "-D", data, "-p", "\(port)", "-k", dir.path,
                                             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=100"],
                                            output: logFile, in: dir)
            let sandbox = PostgresSandbox(port: port, directory: dir, process: process, bin: bin)
            let deadline = Date().addingTimeInterval(readySeconds)
            while Date() < deadline, process.isRunning {
                if (try? await PrometheusSandbox.run(bin.appendingPathComponent("pg_isready").path, ["-h", "127.0.0.1", "-p", "\(port)", "-t", "1"],
                                         in: dir, keepingLast: 200))?.0 == 0 {
                    return sandbox
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            sandbox.terminate()
            let text = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
            if !text.contains("already in use") || attempt == 5 {
                try? FileManager.default.removeItem(at: dir)
                throw PrometheusSandbox.SandboxError.notReady(component: "PostgreSQL", log: String(text.suffix(2000)))
            }
        }
        throw PrometheusSandbox.SandboxError.notReady(component: "PostgreSQL", log: "no free port")
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`, as its owner: it holds nothing worth
    /// keeping) and removes its directory.
    public func stop() {
        terminate()
        try? FileManager.default.removeItem(at: directory)
    }

    func terminate() {
        if process.isRunning {
            let (ctl, arguments) = Self.asOwner([bin.appendingPathComponent("pg_ctl").path, "stop", "-D", directory.appendingPathComponent("data").path,
                                                 "-m", "immediate", "-w", "-t", "20"])
            _ = try? PrometheusSandbox.runBlocking(ctl, arguments, in: directory, keepingLast: 500)
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
    }
}

/// A small JVM service the tests start: a HikariCP pool (Debian's `libhikaricp-java`) to PostgreSQL
/// with its MBeans registered, served over HTTP by Jolokia (Debian's `libjolokia-core-java`, its
/// JSON protocol on `/jolokia`), its pool metrics on `/metrics` as Micrometer names them
/// (`hikaricp_connections_max{pool=…}`), and `/work`, which borrows a connection for one query.
/// Compiled once per test run with the JDK's `javac`.
public final class PoolServiceSandbox: @unchecked Sendable {
    public let port: Int
    public let pool: String
    let process: Process
    let log: URL
    public var url: String { "http://127.0.0.1:\(port)" }
    /// HikariCP's configuration MBean for this pool.
    public var configMBean: String { "com.zaxxer.hikari:type=PoolConfig (\(pool))" }

    init(port: Int, pool: String, process: Process, log: URL) {
        self.port = port
        self.pool = pool
        self.process = process
        self.log = log
    }

    /// Debian's jars the service needs, and the packages they come from.
    static let jars = [("HikariCP.jar", "libhikaricp-java"), ("jolokia-core.jar", "libjolokia-core-java"), ("json-simple.jar", "libjson-simple-java"),
                       ("slf4j-api.jar", "libslf4j-java"), ("slf4j-nop.jar", "libslf4j-java"), ("postgresql.jar", "libpostgresql-jdbc-java")]

    /// The service, compiled once by the first test that needs it; the others wait for that without
    /// holding a thread (a lock held across javac once stalled the whole test process).
    static let compiled = Task<URL, any Error> { try await compileNow() }

    /// The directory of the service's class.
    static func compile() async throws -> URL { try await compiled.value }

    private static func compileNow() async throws -> URL {
        guard let javac = PrometheusSandbox.locate("javac"), PrometheusSandbox.locate("java") != nil else {
            throw PrometheusSandbox.SandboxError.missingBinary("javac and java (a JDK)")
        }
        for (jar, package) in jars where !FileManager.default.fileExists(atPath: "/usr/share/java/\(jar)") {
            throw PrometheusSandbox.SandboxError.missingBinary("/usr/share/java/\(jar) (Debian's \(package))")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trimtab-poolservice-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try source.write(to: dir.appendingPathComponent("PoolService.java"), atomically: true, encoding: .utf8)
        let (status, output) = try await PrometheusSandbox.run(javac, ["-nowarn", "-cp", classPath(nil), "-d", dir.path, dir.appendingPathComponent("PoolService.java").path],
                                                     in: dir, keepingLast: 3000)
        guard status == 0 else { throw PrometheusSandbox.SandboxError.notReady(component: "the pool service", log: "javac PoolService.java failed: \(output)") }
        return dir
    }

    static func classPath(_ classes: URL?) -> String {
        ((classes.map { [$0.path] } ?? []) + jars.map { "/usr/share/java/\($0.0)" }).joined(separator: ":")
    }

    /// Starts the service with a pool of `size` connections to `database`, on `port` (a free one when
    /// nil: give the old port to restart a service where it was).
    public static func start(database: PostgresSandbox, pool: String = "shop", size: Int, port: Int? = nil) async throws -> PoolServiceSandbox {
        let classes = try await compile()
        let java = PrometheusSandbox.locate("java")!
        for attempt in 1...5 {
            let chosen = try port ?? FreePort.find()
            let log = classes.appendingPathComponent("service-\(chosen)-\(UUID().uuidString).log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: java)
            process.arguments = ["-Xmx96m", "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-cp", classPath(classes), "PoolService",
                                 "\(chosen)", database.jdbcURL, "\(size)", pool]
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            let service = PoolServiceSandbox(port: chosen, pool: pool, process: process, log: log)
            let deadline = Date().addingTimeInterval(readySeconds)
            while Date() < deadline, process.isRunning {
                if ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("listening on") { return service }
                try await Task.sleep(for: .milliseconds(100))
            }
            service.stop()
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if !text.contains("BindException") || attempt == 5 {
                throw PrometheusSandbox.SandboxError.notReady(component: "the pool service", log: String(text.suffix(2000)))
            }
        }
        throw PrometheusSandbox.SandboxError.notReady(component: "the pool service", log: "no free port")
    }

    public var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// Kills the JVM (SIGKILL: a crash, as a pod's container is killed) and waits for it.
    public func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    static let source = #"""
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.HashMap;
import java.util.Map;
import org.jolokia.backend.BackendManager;
import org.jolokia.config.ConfigKey;
import org.jolokia.config.Configuration;
import org.jolokia.http.HttpRequestHandler;
import org.jolokia.restrictor.AllowAllRestrictor;
import org.jolokia.util.LogHandler;
import org.json.simple.JSONAware;

/** A service with a HikariCP pool to PostgreSQL, its MBeans served by Jolokia, its pool metrics as Micrometer names them. */
public class PoolService {
    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        String jdbcUrl = args[1];
        int size = Integer.parseInt(args[2]);
        String pool = args[3];
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(jdbcUrl);
        config.setUsername("postgres");
        config.setMaximumPoolSize(size);
        config.setMinimumIdle(1);
        config.setPoolName(pool);
        config.setRegisterMbeans(true);
        HikariDataSource source = new HikariDataSource(config);
        HikariPoolMXBean poolBean = source.getHikariPoolMXBean();

        LogHandler log = new LogHandler.StdoutLogHandler(false);
        Configuration jolokiaConfig = new Configuration(ConfigKey.AGENT_ID, "pool-service");
        BackendManager backend = new BackendManager(jolokiaConfig, log, new AllowAllRestrictor());
        HttpRequestHandler jolokia = new HttpRequestHandler(jolokiaConfig, backend, log);

        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 16);
        server.createContext("/jolokia", exchange -> {
            try {
                String path = exchange.getRequestURI().getRawPath();
                String info = path.length() > "/jolokia".length() ? path.substring("/jolokia".length()) : "";
                Map<String, String[]> params = query(exchange.getRequestURI().getRawQuery());
                JSONAware answer = "POST".equals(exchange.getRequestMethod())
                    ? jolokia.handlePostRequest(exchange.getRequestURI().toString(), exchange.getRequestBody(), "utf-8", params)
                    : jolokia.handleGetRequest(exchange.getRequestURI().toString(), URLDecoder.decode(info, StandardCharsets.UTF_8), params);
                send(exchange, 200, "application/json", answer.toJSONString());
            } catch (Throwable error) {
                send(exchange, 200, "application/json", jolokia.handleThrowable(error).toJSONString());
            }
        });
        server.createContext("/metrics", exchange -> {
            String labels = "{pool=\"" + pool + "\"}";
            StringBuilder text = new StringBuilder();
            gauge(text, "hikaricp_connections_max", "Max connections", labels, source.getHikariConfigMXBean().getMaximumPoolSize());
            gauge(text, "hikaricp_connections_min", "Min idle connections", labels, source.getHikariConfigMXBean().getMinimumIdle());
            gauge(text, "hikaricp_connections_active", "Active connections", labels, poolBean.getActiveConnections());
            gauge(text, "hikaricp_connections_idle", "Idle connections", labels, poolBean.getIdleConnections());
            gauge(text, "hikaricp_connections_pending", "Pending threads", labels, poolBean.getThreadsAwaitingConnection());
            gauge(text, "hikaricp_connections", "Total connections", labels, poolBean.getTotalConnections());
            send(exchange, 200, "text/plain; version=0.0.4", text.toString());
        });
        server.createContext("/work", exchange -> {
            try (Connection connection = source.getConnection(); ResultSet result = connection.createStatement().executeQuery("SELECT 1")) {
                result.next();
                send(exchange, 200, "text/plain", "ok " + result.getInt(1) + "\n");
            } catch (Exception error) {
                send(exchange, 503, "text/plain", error.toString() + "\n");
            }
        });
        server.start();
        // Warm up before saying so: a JVM's first Jolokia request loads and links most of Jolokia
        // (seconds on a busy machine), which a client with a short timeout would take for a hang.
        for (String warm : new String[] { "/jolokia", "/metrics" }) {
            java.net.HttpURLConnection connection = (java.net.HttpURLConnection) new java.net.URL("http://127.0.0.1:" + port + warm).openConnection();
            if (warm.equals("/jolokia")) {
                connection.setRequestMethod("POST");
                connection.setDoOutput(true);
                connection.getOutputStream().write(("{\"type\":\"read\",\"mbean\":\"com.zaxxer.hikari:type=PoolConfig (" + pool + ")\",\"attribute\":\"MaximumPoolSize\"}").getBytes(StandardCharsets.UTF_8));
            }
            connection.getInputStream().readAllBytes();
            connection.disconnect();
        }
        System.out.println("listening on 127.0.0.1:" + port);
        System.out.flush();
    }

    static void gauge(StringBuilder text, String name, String help, String labels, double value) {
        text.append("# HELP ").append(name).append(' ').append(help).append('\n');
        text.append("# TYPE ").append(name).append(" gauge\n");
        text.append(name).append(labels).append(' ').append(value).append('\n');
    }

    static Map<String, String[]> query(String raw) {
        Map<String, String[]> params = new HashMap<>();
        if (raw == null) return params;
        for (String pair : raw.split("&")) {
            String[] parts = pair.split("=", 2);
            params.put(URLDecoder.decode(parts[0], StandardCharsets.UTF_8),
                       new String[] { parts.length > 1 ? URLDecoder.decode(parts[1], StandardCharsets.UTF_8) : "" });
        }
        return params;
    }

    static void send(HttpExchange exchange, int status, String type, String body) throws java.io.IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) { out.write(bytes); }
    }
}
"""#
}

/// Debian's pgbouncer in front of a PostgreSQL sandbox, on 127.0.0.1 and a free port, with an admin
/// user authenticated by md5 (`auth_file`) and a database `shop`. Like PostgreSQL it will not run as
/// root, so under root it runs as the `postgres` user.
public final class PgBouncerSandbox: @unchecked Sendable {
    public let port: Int
    public let adminUser = "trimtab"
    public let adminPassword: String
    /// A file holding the admin password, as a mounted Secret would.
    public let passwordFile: String
    let directory: URL
    let process: Process

    init(port: Int, adminPassword: String, passwordFile: String, directory: URL, process: Process) {
        self.port = port
        self.adminPassword = adminPassword
        self.passwordFile = passwordFile
        self.directory = directory
        self.process = process
    }

    public static func locate() -> String? { PrometheusSandbox.locate("pgbouncer") ?? (FileManager.default.isExecutableFile(atPath: "/usr/sbin/pgbouncer") ? "/usr/sbin/pgbouncer" : nil) }

    /// Starts pgbouncer with `default_pool_size` `poolSize`; `port` to restart one where it was.
    public static func start(database: PostgresSandbox, poolSize: Int = 5, port: Int? = nil,
                             password: String = "pw-\(UUID().uuidString.prefix(8))") async throws -> PgBouncerSandbox {
        guard let binary = locate() else { throw PrometheusSandbox.SandboxError.missingBinary("pgbouncer (Debian's pgbouncer)") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trimtab-pgbouncer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "\"trimtab\" \"\(password)\"\n".write(to: dir.appendingPathComponent("userlist.txt"), atomically: true, encoding: .utf8)
        let passwordFile = dir.appendingPathComponent("admin-password").path
        try (password + "\n").write(toFile: passwordFile, atomically: true, encoding: .utf8)
        for attempt in 1...5 {
            let chosen = try port ?? FreePort.find()
            let ini = """
            [databases]
            shop = host=127.0.0.1 port=\(database.port) dbname=postgres user=postgres
            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = \(chosen)
            unix_socket_dir =
            auth_type = md5
            auth_file = \(dir.appendingPathComponent("userlist.txt").path)
            admin_users = trimtab
            pool_mode = transaction
            default_pool_size = \(poolSize)
            logfile = \(dir.appendingPathComponent("pgbouncer.log").path)
            pidfile = \(dir.appendingPathComponent("pgbouncer.pid").path)
            """
            try ini.write(to: dir.appendingPathComponent("pgbouncer.ini"), atomically: true, encoding: .utf8)
            try PostgresSandbox.ownByPostgres(dir)
            let log = dir.appendingPathComponent("pgbouncer.log")
            let output = dir.appendingPathComponent("pgbouncer.out")
            _ = FileManager.default.createFile(atPath: output.path, contents: nil)
            let process = try PostgresSandbox.launchAsOwner([binary, dir.appendingPathComponent("pgbouncer.ini").path], output: output, in: dir)
            let sandbox = PgBouncerSandbox(port: chosen, adminPassword: password, passwordFile: passwordFile, directory: dir, process: process)
            let deadline = Date().addingTimeInterval(readySeconds)
            while Date() < deadline, process.isRunning {
                let text = ((try? String(contentsOf: log, encoding: .utf8)) ?? "") + ((try? String(contentsOf: output, encoding: .utf8)) ?? "")
                if text.contains("process up") { return sandbox }
                try await Task.sleep(for: .milliseconds(50))
            }
            sandbox.terminate()
            let text = ((try? String(contentsOf: log, encoding: .utf8)) ?? "") + ((try? String(contentsOf: output, encoding: .utf8)) ?? "")
            if !text.contains("in use") || attempt == 5 || port != nil {
                try? FileManager.default.removeItem(at: dir)
                throw PrometheusSandbox.SandboxError.notReady(component: "pgbouncer", log: String(text.suffix(2000)))
            }
        }
        throw PrometheusSandbox.SandboxError.notReady(component: "pgbouncer", log: "no free port")
    }

    /// Kills pgbouncer (as a crashed container is) and waits for it.
    func terminate() {
        // pgbouncer itself, by its pid file (runuser, the process started, need not pass a signal on).
        if let text = try? String(contentsOf: directory.appendingPathComponent("pgbouncer.pid"), encoding: .utf8),
           let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0 {
            kill(pid, SIGKILL)
        }
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
    }

    public func stop() {
        terminate()
        try? FileManager.default.removeItem(at: directory)
    }
}
