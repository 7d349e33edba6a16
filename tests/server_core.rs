//! The server as a process and its core commands: command line, config
//! loading and errors, authentication, client limits and timeouts, unix
//! sockets, shutdown paths, CONFIG SET hz, CLIENT KILL, INFO, SELECT, DEBUG
//! SLEEP and MONITOR. Expected texts are Redis 6.2's.

mod common;

use common::{Conn, Reply, Server, OXREDIS};
use std::process::{Command, Stdio};
use std::time::Duration;

fn run_bin(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(OXREDIS)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {}", OXREDIS, e));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The `key=value` field names of a `--version` line after the leading words.
fn version_fields(line: &str) -> Vec<String> {
    line.split_whitespace().filter_map(|w| w.split_once('=').map(|(k, _)| k.to_string())).collect()
}

#[test]
fn version_output_format() {
    for flag in ["--version", "-v"] {
        let (code, out, _) = run_bin(&[flag]);
        assert_eq!(code, 0, "{} exit code", flag);
        let line = out.lines().next().unwrap_or("");
        // Redis 6.2: "Redis server v=6.2.14 sha=00000000:0 malloc=libc bits=64 build=…"
        assert!(line.starts_with("Redis server v=6.2.14 "), "{} printed {:?}", flag, line);
        assert_eq!(version_fields(line), ["v", "sha", "malloc", "bits", "build"], "{} printed {:?}", flag, line);
        assert!(line.contains(" bits=64 "), "{:?}", line);
        // The allocator the binary really uses, named as INFO's mem_allocator.
        assert!(line.contains(" malloc=jemalloc-"), "{:?}", line);
    }
    if common::reference_installed() {
        if let Ok(o) = Command::new("redis-server").arg("--version").output() {
            let refline = String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or("").to_string();
            let (_, out, _) = run_bin(&["--version"]);
            assert_eq!(version_fields(out.lines().next().unwrap_or("")), version_fields(&refline), "reference: {:?}", refline);
        }
    }
}

#[test]
fn help_output() {
    for flag in ["--help", "-h"] {
        let (code, out, err) = run_bin(&[flag]);
        assert_eq!(code, 1, "{} exits 1 like redis-server", flag);
        assert!(out.is_empty(), "usage goes to stderr, stdout had {:?}", out);
        assert!(err.starts_with("Usage: "), "{:?}", err);
        for needle in ["- (read config from stdin)", "-v or --version", "-h or --help", "--port 7777", "--test-memory <megabytes>"] {
            assert!(err.contains(needle), "usage lacks {:?}:\n{}", needle, err);
        }
    }
}

#[test]
fn config_from_stdin() {
    let srv = Server::start_with_stdin("requirepass fromstdin\nmaxclients 77\n", &["-"]);
    let mut c = srv.conn();
    assert_eq!(c.q("PING"), Reply::err("NOAUTH Authentication required."));
    assert_eq!(c.q("AUTH fromstdin"), Reply::ok());
    let r = c.q("CONFIG GET maxclients");
    assert_eq!(r, Reply::Array(Some(vec![Reply::bulk("maxclients"), Reply::bulk("77")])));
}

#[test]
fn config_file_with_command_line_overrides() {
    let conf = "# a comment\n\nrequirepass fromfile\nmaxclients 50\n  timeout 0\nhz 20\n";
    let srv = Server::start_with_config(conf, &["--requirepass", "fromcli", "--hz", "30"]);
    let mut c = srv.conn();
    assert_eq!(c.q("AUTH fromfile"), Reply::err("WRONGPASS invalid username-password pair or user is disabled."));
    assert_eq!(c.q("AUTH fromcli"), Reply::ok());
    assert_eq!(c.q("CONFIG GET maxclients").array()[1], Reply::bulk("50"));
    assert_eq!(c.q("CONFIG GET hz").array()[1], Reply::bulk("30"));
    assert_eq!(c.q("CONFIG GET dir").array()[1], Reply::bulk(&srv.dir.path.to_string_lossy()));
}

fn fatal_config(conf: &str, extra: &[&str]) -> (i32, String) {
    let dir = common::TempDir::new("badconf");
    let p = dir.join("bad.conf");
    std::fs::write(&p, conf).unwrap_or_else(|e| panic!("{}", e));
    let ps = p.to_string_lossy().into_owned();
    let mut args = vec![ps.as_str(), "--logfile", ""];
    args.extend_from_slice(extra);
    let (code, out, err) = run_bin(&args);
    (code, format!("{}{}", out, err))
}

#[test]
fn bad_config_is_fatal() {
    let (code, text) = fatal_config("port 0\nfoo bar\n", &[]);
    assert_eq!(code, 1, "{}", text);
    assert!(text.contains("*** FATAL CONFIG FILE ERROR (Redis 6.2.14) ***"), "{}", text);
    assert!(text.contains("Reading the configuration file, at line 2"), "{}", text);
    assert!(text.contains(">>> 'foo bar'"), "{}", text);
    assert!(text.contains("Bad directive or wrong number of arguments"), "{}", text);

    let (code, text) = fatal_config("port 0\n\nmaxclients abc\n", &[]);
    assert_eq!(code, 1, "{}", text);
    assert!(text.contains("at line 3"), "{}", text);
    assert!(text.contains(">>> 'maxclients abc'"), "{}", text);
    assert!(text.contains("argument couldn't be parsed into an integer"), "{}", text);

    let (code, text) = fatal_config("port 0\nappendonly maybe\n", &[]);
    assert_eq!(code, 1, "{}", text);
    assert!(text.contains(">>> 'appendonly maybe'"), "{}", text);
    assert!(text.contains("argument must be 'yes' or 'no'"), "{}", text);

    // A bad --option is reported as a line appended after the file.
    let (code, text) = fatal_config("port 0\n", &["--hz", "abc"]);
    assert_eq!(code, 1, "{}", text);
    assert!(text.contains("*** FATAL CONFIG FILE ERROR"), "{}", text);
    assert!(text.contains(">>> 'hz \"abc\"'"), "{}", text);

    let (code, text) = fatal_config("port 0\nrequirepass \"unterminated\n", &[]);
    assert_eq!(code, 1, "{}", text);
    assert!(text.contains("Unbalanced quotes in configuration line"), "{}", text);
}

#[test]
fn unknown_command_and_arity() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    // 6.2 quotes with backticks and a trailing ", " after each argument.
    assert_eq!(c.q("foo a b"), Reply::err("ERR unknown command `foo`, with args beginning with: `a`, `b`, "));
    assert_eq!(c.q("foo"), Reply::err("ERR unknown command `foo`, with args beginning with: "));
    assert_eq!(c.q("GET"), Reply::err("ERR wrong number of arguments for 'get' command"));
    assert_eq!(c.q("get a b"), Reply::err("ERR wrong number of arguments for 'get' command"));
    assert_eq!(c.q("SET k"), Reply::err("ERR wrong number of arguments for 'set' command"));
    assert_eq!(c.q("ECHO"), Reply::err("ERR wrong number of arguments for 'echo' command"));
    assert_eq!(c.q("CLIENT foo"), Reply::err("ERR Unknown subcommand or wrong number of arguments for 'foo'. Try CLIENT HELP."));
    assert_eq!(c.q("CONFIG foo"), Reply::err("ERR Unknown subcommand or wrong number of arguments for 'foo'. Try CONFIG HELP."));
    // The connection is fine after errors.
    assert_eq!(c.q("PING"), Reply::Status("PONG".into()));
}

#[test]
fn auth_and_requirepass() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    assert_eq!(
        c.q("AUTH x"),
        Reply::err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
    );
    // The default user is "nopass": any password works for it by name.
    assert_eq!(c.q("AUTH default anything"), Reply::ok());
    assert_eq!(c.q("AUTH nosuchuser x"), Reply::err("WRONGPASS invalid username-password pair or user is disabled."));
    assert_eq!(c.q("CONFIG SET requirepass s3cret"), Reply::ok());
    // The connection that set it stays authenticated; a new one is not.
    assert_eq!(c.q("PING"), Reply::Status("PONG".into()));
    let mut d = srv.conn();
    assert_eq!(d.q("PING"), Reply::err("NOAUTH Authentication required."));
    assert_eq!(d.q("GET k"), Reply::err("NOAUTH Authentication required."));
    assert_eq!(d.q("AUTH wrong"), Reply::err("WRONGPASS invalid username-password pair or user is disabled."));
    assert_eq!(d.q("PING"), Reply::err("NOAUTH Authentication required."));
    assert_eq!(d.q("AUTH a b c"), Reply::err("ERR syntax error"));
    assert_eq!(d.q("AUTH s3cret"), Reply::ok());
    assert_eq!(d.q("PING"), Reply::Status("PONG".into()));
    let mut e = srv.conn();
    assert_eq!(e.q("AUTH default s3cret"), Reply::ok());
    assert_eq!(e.q("ECHO hi"), Reply::bulk("hi"));
    // HELLO with AUTH.
    let mut f = srv.conn();
    let r = f.q("HELLO 2 AUTH default wrong");
    assert_eq!(r, Reply::err("WRONGPASS invalid username-password pair or user is disabled."));
    let r = f.q("HELLO 2 AUTH default s3cret");
    assert!(matches!(r, Reply::Array(Some(_))), "{:?}", r);
    assert_eq!(f.q("PING"), Reply::Status("PONG".into()));
}

#[test]
fn maxclients_rejects_extra_connections() {
    let srv = Server::start(&["--maxclients", "3"]);
    let mut held: Vec<Conn> = (0..3).map(|_| srv.conn()).collect();
    for c in held.iter_mut() {
        assert_eq!(c.q("PING"), Reply::Status("PONG".into()));
    }
    let mut extra = srv.conn();
    let r = extra.read_reply_timeout(Duration::from_secs(5));
    assert!(matches!(r, Ok(Reply::Error(ref s)) if s == "ERR max number of clients reached"), "{:?}", r);
    assert!(extra.closed_within(Duration::from_secs(3)));
    // After one leaves, a new client is accepted.
    held.pop();
    // The server frees the closed client on its next loop; retry until then.
    let mut again = None;
    for _ in 0..100 {
        let mut c = srv.conn();
        if c.q("PING") == Reply::Status("PONG".into()) {
            again = Some(c);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let Some(mut again) = again else { panic!("no slot freed after a client left") };
    let info = again.q("INFO clients").text();
    assert!(info.contains("connected_clients:3"), "{}", info);
    let stats = again.q("INFO stats").text();
    assert!(!stats.contains("rejected_connections:0\r\n"), "{}", stats);
}

#[test]
fn timeout_closes_idle_clients() {
    let srv = Server::start(&["--timeout", "1"]);
    let mut idle = srv.conn();
    assert_eq!(idle.q("PING"), Reply::Status("PONG".into()));
    assert!(idle.closed_within(Duration::from_secs(6)), "idle client was not closed by timeout 1");
    // A busy client is not closed while it keeps talking.
    let mut busy = srv.conn();
    for _ in 0..8 {
        assert_eq!(busy.q("PING"), Reply::Status("PONG".into()));
        std::thread::sleep(Duration::from_millis(250));
    }
    // CONFIG SET timeout 0 disables it.
    assert_eq!(busy.q("CONFIG SET timeout 0"), Reply::ok());
    let mut c = srv.conn();
    assert_eq!(c.q("PING"), Reply::Status("PONG".into()));
    assert!(!c.closed_within(Duration::from_millis(2500)));
}

#[test]
fn unixsocket_and_perm() {
    use std::os::unix::fs::PermissionsExt;
    let dir = common::TempDir::new("sock");
    let sock = dir.join("redis.sock");
    let s = sock.to_string_lossy().into_owned();
    let srv = Server::start(&["--unixsocket", &s, "--unixsocketperm", "700"]);
    let meta = std::fs::metadata(&sock).unwrap_or_else(|e| panic!("socket {}: {}\nlog:\n{}", s, e, srv.log_text()));
    assert_eq!(meta.permissions().mode() & 0o777, 0o700);
    let mut c = Conn::connect_unix(&sock).unwrap_or_else(|e| panic!("connect unix: {}", e));
    assert_eq!(c.q("SET via unix"), Reply::ok());
    let mut t = srv.conn();
    assert_eq!(t.q("GET via"), Reply::bulk("unix"));
    let list = t.q("CLIENT LIST").text();
    assert!(list.contains(&format!("addr={}:0", s)) || list.contains("flags=U"), "{}", list);

    let sock2 = dir.join("other.sock");
    let s2 = sock2.to_string_lossy().into_owned();
    let srv2 = Server::start(&["--unixsocket", &s2, "--unixsocketperm", "755"]);
    let meta = std::fs::metadata(&sock2).unwrap_or_else(|e| panic!("socket: {}\n{}", e, srv2.log_text()));
    assert_eq!(meta.permissions().mode() & 0o777, 0o755);
    // Redis 6.2 logs the unix listener separately.
    let line = format!("The server is now ready to accept connections at {}", s);
    assert!(srv.log_text().contains(&line), "log lacks {:?}:\n{}", line, srv.log_text());
}

#[test]
fn sigterm_graceful_shutdown() {
    let dir = common::TempDir::new("term");
    let sock = dir.join("s.sock");
    let pidfile = dir.join("s.pid");
    let (s, p) = (sock.to_string_lossy().into_owned(), pidfile.to_string_lossy().into_owned());
    let mut srv = Server::start(&["--unixsocket", &s, "--pidfile", &p]);
    let pid_text = std::fs::read_to_string(&pidfile).unwrap_or_else(|e| panic!("pidfile: {}\n{}", e, srv.log_text()));
    assert_eq!(pid_text.trim(), srv.pid.to_string());
    assert!(sock.exists());
    let mut c = srv.conn();
    assert_eq!(c.q("SET k v"), Reply::ok());
    srv.signal("TERM");
    let st = srv.wait_exit(Duration::from_secs(10));
    assert!(st.map(|s| s.success()).unwrap_or(false), "exit status {:?}; log:\n{}", st, srv.log_text());
    assert!(!pidfile.exists(), "pidfile left behind");
    assert!(!sock.exists(), "unix socket left behind");
    let log = srv.log_text();
    assert!(log.contains("Received SIGTERM scheduling shutdown..."), "{}", log);
    assert!(log.contains("User requested shutdown..."), "{}", log);
    assert!(log.contains("Removing the pid file."), "{}", log);
    assert!(log.contains("Removing the unix socket file."), "{}", log);
    assert!(log.contains("is now ready to exit, bye bye..."), "{}", log);
    assert!(c.closed_within(Duration::from_secs(2)));
}

#[test]
fn sigint_also_shuts_down() {
    let mut srv = Server::start(&[]);
    srv.signal("INT");
    let st = srv.wait_exit(Duration::from_secs(10));
    assert!(st.map(|s| s.success()).unwrap_or(false), "{:?}\n{}", st, srv.log_text());
    assert!(srv.log_text().contains("Received SIGINT scheduling shutdown..."), "{}", srv.log_text());
}

#[test]
fn config_set_hz_bounds() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    let get = |c: &mut Conn| c.q("CONFIG GET hz").array()[1].text();
    let info_hz = |c: &mut Conn| {
        let i = c.q("INFO server").text();
        i.lines().find_map(|l| l.strip_prefix("hz:").map(|v| v.trim().to_string())).unwrap_or_default()
    };
    assert_eq!(get(&mut c), "10");
    assert_eq!(c.q("CONFIG SET hz 100"), Reply::ok());
    assert_eq!(get(&mut c), "100");
    // Out-of-range values are accepted and capped to 1..500.
    assert_eq!(c.q("CONFIG SET hz 0"), Reply::ok());
    assert_eq!(get(&mut c), "1");
    assert_eq!(info_hz(&mut c), "1");
    assert_eq!(c.q("CONFIG SET hz 1000"), Reply::ok());
    assert_eq!(get(&mut c), "500");
    assert_eq!(info_hz(&mut c), "500");
    assert_eq!(
        c.q("CONFIG SET hz -1"),
        Reply::err("ERR Invalid argument '-1' for CONFIG SET 'hz' - argument must be between 0 and 2147483647 inclusive")
    );
    assert_eq!(
        c.q("CONFIG SET hz abc"),
        Reply::err("ERR Invalid argument 'abc' for CONFIG SET 'hz' - argument couldn't be parsed into an integer")
    );
    assert_eq!(get(&mut c), "500");
}

fn client_id(c: &mut Conn) -> i64 {
    c.q("CLIENT ID").int()
}

#[test]
fn client_kill_variants() {
    let srv = Server::start(&[]);
    let mut admin = srv.conn();
    let admin_id = client_id(&mut admin);
    assert_eq!(admin.q("CLIENT KILL 1.2.3.4:5"), Reply::err("ERR No such client"));
    assert_eq!(admin.q("CLIENT KILL ID 999999"), Reply::Int(0));
    assert_eq!(admin.q("CLIENT KILL ID abc"), Reply::err("ERR client-id should be greater than 0"));
    assert_eq!(admin.q("CLIENT KILL ID 0"), Reply::err("ERR client-id should be greater than 0"));
    assert_eq!(admin.q("CLIENT KILL TYPE foo"), Reply::err("ERR Unknown client type 'foo'"));
    assert_eq!(admin.q("CLIENT KILL foo bar"), Reply::err("ERR syntax error"));
    assert_eq!(admin.q("CLIENT KILL SKIPME maybe"), Reply::err("ERR syntax error"));
    assert_eq!(admin.q("CLIENT KILL USER nobody"), Reply::err("ERR No such user 'nobody'"));
    assert_eq!(admin.q("CLIENT KILL ADDR 1.2.3.4:5"), Reply::Int(0));
    assert_eq!(admin.q("CLIENT KILL LADDR 1.2.3.4:5"), Reply::Int(0));
    for t in ["pubsub", "master", "replica", "slave"] {
        assert_eq!(admin.cmd(&["CLIENT", "KILL", "TYPE", t]), Reply::Int(0), "type {}", t);
    }

    // By ID.
    let mut v1 = srv.conn();
    let id1 = client_id(&mut v1);
    assert_eq!(admin.cmd(&["CLIENT", "KILL", "ID", &id1.to_string()]), Reply::Int(1));
    assert!(v1.closed_within(Duration::from_secs(2)));

    // Old form ip:port, with the address from CLIENT LIST.
    let mut v2 = srv.conn();
    let id2 = client_id(&mut v2);
    let list = admin.q("CLIENT LIST").text();
    let line = list.lines().find(|l| l.starts_with(&format!("id={} ", id2))).unwrap_or_else(|| panic!("{}", list)).to_string();
    let addr = line.split(' ').find_map(|f| f.strip_prefix("addr=")).unwrap_or("").to_string();
    assert_eq!(admin.cmd(&["CLIENT", "KILL", &addr]), Reply::ok());
    assert!(v2.closed_within(Duration::from_secs(2)));

    // ADDR form.
    let mut v3 = srv.conn();
    let id3 = client_id(&mut v3);
    let list = admin.q("CLIENT LIST").text();
    let line = list.lines().find(|l| l.starts_with(&format!("id={} ", id3))).unwrap_or("").to_string();
    let addr = line.split(' ').find_map(|f| f.strip_prefix("addr=")).unwrap_or("").to_string();
    let laddr = line.split(' ').find_map(|f| f.strip_prefix("laddr=")).unwrap_or("").to_string();
    assert_eq!(admin.cmd(&["CLIENT", "KILL", "ADDR", &addr]), Reply::Int(1));
    assert!(v3.closed_within(Duration::from_secs(2)));

    // LADDR kills every client connected to that local address except the caller (SKIPME yes default).
    let mut v4 = srv.conn();
    let mut v5 = srv.conn();
    assert_eq!(v4.q("PING"), Reply::Status("PONG".into()));
    assert_eq!(v5.q("PING"), Reply::Status("PONG".into()));
    assert_eq!(admin.cmd(&["CLIENT", "KILL", "LADDR", &laddr]), Reply::Int(2));
    assert!(v4.closed_within(Duration::from_secs(2)));
    assert!(v5.closed_within(Duration::from_secs(2)));

    // TYPE normal skips the caller by default, and SKIPME no kills it too.
    let mut v6 = srv.conn();
    assert_eq!(v6.q("PING"), Reply::Status("PONG".into()));
    assert_eq!(admin.q("CLIENT KILL TYPE normal"), Reply::Int(1));
    assert!(v6.closed_within(Duration::from_secs(2)));
    assert_eq!(client_id(&mut admin), admin_id);
    assert_eq!(admin.q("CLIENT KILL TYPE normal SKIPME no"), Reply::Int(1));
    assert!(admin.closed_within(Duration::from_secs(2)));

    // USER default with several filters combined.
    let mut a = srv.conn();
    let mut v7 = srv.conn();
    let id7 = client_id(&mut v7);
    assert_eq!(a.cmd(&["CLIENT", "KILL", "USER", "default", "ID", &id7.to_string()]), Reply::Int(1));
    assert!(v7.closed_within(Duration::from_secs(2)));
    let stats = a.q("INFO stats").text();
    assert!(stats.contains("total_connections_received:"), "{}", stats);
}

#[test]
fn info_sections_present() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    let info = c.q("INFO").text();
    let headers: Vec<&str> = info.lines().filter(|l| l.starts_with("# ")).collect();
    let want = ["# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Replication", "# CPU", "# Modules", "# Errorstats", "# Cluster", "# Keyspace"];
    assert_eq!(headers, want, "INFO default sections");
    assert!(info.contains("redis_version:6.2.14\r\n"), "{}", info);
    for field in ["tcp_port:", "process_id:", "connected_clients:", "used_memory:", "aof_enabled:", "total_commands_processed:", "role:master", "used_cpu_sys:"] {
        assert!(info.contains(field), "INFO lacks {}", field);
    }
    assert!(info.contains(&format!("tcp_port:{}\r\n", srv.port)));
    assert!(info.contains(&format!("process_id:{}\r\n", srv.pid)));
    let server_only = c.q("INFO server").text();
    assert_eq!(server_only.lines().filter(|l| l.starts_with("# ")).collect::<Vec<_>>(), ["# Server"]);
    let all = c.q("INFO all").text();
    assert!(all.contains("# Commandstats"), "INFO all lacks Commandstats");
    assert!(all.contains("cmdstat_info:calls="), "{}", all);
    let everything = c.q("INFO everything").text();
    assert!(everything.contains("# Commandstats"));
    assert_eq!(c.q("INFO nosuchsection"), Reply::bulk(""));
    let mut e = srv.conn();
    assert!(e.q("GET").is_error());
    let errs = e.q("INFO errorstats").text();
    assert!(errs.contains("errorstat_ERR:count=1"), "{}", errs);
}

#[test]
fn shutdown_nosave() {
    let mut srv = Server::start(&[]);
    let mut c = srv.conn();
    assert_eq!(c.q("SHUTDOWN foo"), Reply::err("ERR syntax error"));
    c.send(&["SHUTDOWN", "NOSAVE"]).unwrap_or_else(|e| panic!("{}", e));
    let r = c.read_reply_timeout(Duration::from_secs(5));
    assert!(r.is_err(), "SHUTDOWN NOSAVE must close without a reply, got {:?}", r);
    let st = srv.wait_exit(Duration::from_secs(10));
    assert!(st.map(|s| s.success()).unwrap_or(false), "{:?}\n{}", st, srv.log_text());
    let log = srv.log_text();
    assert!(log.contains("User requested shutdown..."), "{}", log);
    assert!(!srv.dir.join("dump.rdb").exists(), "NOSAVE must not write an RDB");
}

#[test]
fn select_range() {
    let srv = Server::start(&["--databases", "4"]);
    let mut c = srv.conn();
    assert_eq!(c.q("SELECT 3"), Reply::ok());
    assert_eq!(c.q("SELECT 4"), Reply::err("ERR DB index is out of range"));
    assert_eq!(c.q("SELECT -1"), Reply::err("ERR DB index is out of range"));
    assert_eq!(c.q("SELECT abc"), Reply::err("ERR value is not an integer or out of range"));
    assert_eq!(c.q("SELECT 99999999999999999999"), Reply::err("ERR value is not an integer or out of range"));
    // A failed SELECT leaves the db unchanged.
    assert_eq!(c.q("SET in three"), Reply::ok());
    assert_eq!(c.q("SELECT 0"), Reply::ok());
    assert_eq!(c.q("EXISTS in"), Reply::Int(0));
}

#[test]
fn debug_sleep_zero() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    assert_eq!(c.q("DEBUG SLEEP 0"), Reply::ok());
    assert_eq!(c.q("DEBUG SLEEP 0.01"), Reply::ok());
    assert_eq!(c.q("PING"), Reply::Status("PONG".into()));
}

/// Parses `+<sec>.<usec> [<db> <addr>] "arg" ...` into (db, addr, args).
fn parse_monitor(line: &str) -> Option<(String, String, String)> {
    let rest = line.strip_prefix('+')?;
    let (ts, rest) = rest.split_once(' ')?;
    let (sec, usec) = ts.split_once('.')?;
    if sec.is_empty() || !sec.bytes().all(|b| b.is_ascii_digit()) || usec.len() != 6 || !usec.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let rest = rest.strip_prefix('[')?;
    let (inside, args) = rest.split_once("] ")?;
    let (db, addr) = inside.split_once(' ')?;
    Some((db.to_string(), addr.to_string(), args.to_string()))
}

#[test]
fn monitor_output_format() {
    let srv = Server::start(&[]);
    let mut m = srv.conn();
    assert_eq!(m.q("MONITOR"), Reply::ok());
    let mut c = srv.conn();
    // CLIENT is an admin command: never fed to monitors.
    let id = client_id(&mut c);
    c.cmd(&["SET", "a b", "x\"y"]);
    c.cmd(&[&b"ECHO"[..], b"\x01\xff\n"]);
    c.q("SELECT 2");
    c.q("GET k");
    // AUTH is never shown.
    c.q("AUTH secret");
    c.q("PING");
    let list = c.q("CLIENT LIST").text();
    let addr = list
        .lines()
        .find(|l| l.starts_with(&format!("id={} ", id)))
        .and_then(|l| l.split(' ').find_map(|f| f.strip_prefix("addr=")))
        .unwrap_or("")
        .to_string();
    let mut lines = Vec::new();
    for _ in 0..5 {
        let l = m.read_raw_line().unwrap_or_else(|e| panic!("monitor read: {} after {:?}", e, lines));
        lines.push(String::from_utf8_lossy(&l).into_owned());
    }
    let parsed: Vec<_> = lines.iter().map(|l| parse_monitor(l).unwrap_or_else(|| panic!("bad monitor line {:?}", l))).collect();
    assert_eq!(parsed[0], ("0".to_string(), addr.clone(), "\"SET\" \"a b\" \"x\\\"y\"".to_string()));
    assert_eq!(parsed[1].2, "\"ECHO\" \"\\x01\\xff\\n\"");
    // SELECT is shown with the db the client was in when it ran.
    assert_eq!(parsed[2].0, "0");
    assert_eq!(parsed[2].2, "\"SELECT\" \"2\"");
    assert_eq!(parsed[3], ("2".to_string(), addr.clone(), "\"GET\" \"k\"".to_string()));
    assert_eq!(parsed[4].2, "\"PING\"", "AUTH must not be fed to monitors: {:?}", lines);
    // Admin commands (CLIENT LIST above) were not fed: the next line is this GET.
    c.q("GET after");
    let l = m.read_raw_line().unwrap_or_default();
    let p = parse_monitor(&String::from_utf8_lossy(&l)).unwrap_or_default();
    assert_eq!(p.2, "\"GET\" \"after\"");
}

/// Parsing, dispatch and reply writing allocate nothing per command for
/// small commands: thousands of pipelined reads cost (almost) no
/// allocator calls. DEBUG ALLOC-CALLS is an oxredis-only counter.
#[test]
fn small_commands_allocate_nothing_per_call() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    for setup in ["SET k hello", "HSET h f v", "RPUSH l a b c", "SADD s 1 2 3", "ZADD z 1 a", "SET n 12345"] {
        assert!(!c.q(setup).is_error(), "{}", setup);
    }
    let cmds: [&[u8]; 10] = [
        b"*1\r\n$4\r\nPING\r\n",
        b"PING\r\n",
        b"*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n",
        b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
        b"*2\r\n$6\r\nEXISTS\r\n$1\r\nk\r\n",
        b"*3\r\n$4\r\nHGET\r\n$1\r\nh\r\n$1\r\nf\r\n",
        b"*3\r\n$6\r\nLINDEX\r\n$1\r\nl\r\n$1\r\n1\r\n",
        b"*3\r\n$9\r\nSISMEMBER\r\n$1\r\ns\r\n$1\r\n2\r\n",
        b"*3\r\n$6\r\nZSCORE\r\n$1\r\nz\r\n$1\r\na\r\n",
        b"*2\r\n$3\r\nGET\r\n$1\r\nn\r\n",
    ];
    let mut batch = Vec::new();
    for _ in 0..100 {
        for cmd in cmds.iter() {
            batch.extend_from_slice(cmd);
        }
    }
    let round = |c: &mut common::Conn| {
        for _ in 0..10 {
            c.send_raw(&batch).expect("send");
            for _ in 0..100 * cmds.len() {
                let r = c.read_reply().expect("reply");
                assert!(!r.is_error(), "{:?}", r.text());
            }
        }
    };
    round(&mut c); // warm-up: buffers reach their working size
    let before = c.q("DEBUG ALLOC-CALLS").int();
    round(&mut c);
    let after = c.q("DEBUG ALLOC-CALLS").int();
    let per_1000 = (after - before) * 1000 / (10 * 100 * cmds.len() as i64);
    // The DEBUG command, the cron and the reply of the counter itself may
    // allocate a little; 10,000 commands must not.
    assert!(after - before < 100, "{} allocator calls for 10000 commands ({} per 1000)", after - before, per_1000);
}
