//! The append-only file against Redis 6.2's behaviour: what is fed (the
//! propagated forms, SELECT, nothing for no-ops), what survives a restart
//! (DEBUG DIGEST before and after), damaged files at load (truncated tail,
//! unfinished MULTI, garbage, empty, missing, RDB preamble), DEBUG LOADAOF,
//! CONFIG SET appendonly, SHUTDOWN/SIGTERM, INFO persistence, the
//! `oxredis-check-aof` tool next to the real `redis-check-aof`, write
//! errors (RLIMIT_FSIZE through prlimit), kill -9 crashes, and files
//! exchanged with the reference redis-server.
//!
//! Servers here restart in the same directory, so this file has its own
//! small process wrapper (`Proc`) on top of the shared `Conn`.

mod common;

use common::{Conn, Reply, TempDir, OXREDIS};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Process handling

static LOG_SEQ: AtomicUsize = AtomicUsize::new(0);

/// A server started in a directory the caller owns (so a second start can
/// load what the first one wrote). Killed on drop.
struct Proc {
    child: Option<Child>,
    port: u16,
    pid: u32,
    log: PathBuf,
}

/// How a start ended when the server did not become ready.
#[derive(Debug)]
struct Failed {
    status: Option<ExitStatus>,
    log: String,
}

#[derive(Clone, Copy, PartialEq)]
enum Bin {
    Ox,
    Ref,
}

fn spawn(bin: Bin, dir: &Path, args: &[&str], wrap_ignore_xfsz: bool) -> Result<Proc, Failed> {
    let mut last = Failed { status: None, log: String::new() };
    for _ in 0..5 {
        let port = common::free_port();
        let log = dir.join(format!("server-{}.log", LOG_SEQ.fetch_add(1, Ordering::SeqCst)));
        let exe = match bin {
            Bin::Ox => OXREDIS.to_string(),
            Bin::Ref => "redis-server".to_string(),
        };
        let mut argv: Vec<String> = vec![
            "--port".into(),
            port.to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--dir".into(),
            dir.display().to_string(),
            "--logfile".into(),
            log.display().to_string(),
            "--save".into(),
            "".into(),
        ];
        if bin == Bin::Ref {
            argv.extend(["--enable-debug-command".into(), "yes".into()]);
        }
        argv.extend(args.iter().map(|s| s.to_string()));
        let mut cmd = if wrap_ignore_xfsz {
            // An ignored signal stays ignored across exec: the server then
            // sees EFBIG instead of dying from SIGXFSZ when over RLIMIT_FSIZE.
            let mut c = Command::new("sh");
            c.arg("-c").arg("trap '' XFSZ; exec \"$0\" \"$@\"").arg(&exe).args(&argv);
            c
        } else {
            let mut c = Command::new(&exe);
            c.args(&argv);
            c
        };
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {}: {}", exe, e));
        let pid = child.id();
        let mut p = Proc { child: Some(child), port, pid, log };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let text = p.log_text();
            if text.contains("Ready to accept connections") {
                return Ok(p);
            }
            if let Some(st) = p.try_exit() {
                last = Failed { status: Some(st), log: p.log_text() };
                break;
            }
            if Instant::now() > deadline {
                panic!("server did not become ready:\n{}", text);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if !last.log.contains("Address already in use") {
            return Err(last);
        }
    }
    Err(last)
}

fn start(dir: &Path, args: &[&str]) -> Proc {
    match spawn(Bin::Ox, dir, args, false) {
        Ok(p) => p,
        Err(f) => panic!("oxredis failed to start ({:?}):\n{}", f.status, f.log),
    }
}

fn start_aof(dir: &Path, extra: &[&str]) -> Proc {
    let mut a = vec!["--appendonly", "yes"];
    a.extend_from_slice(extra);
    start(dir, &a)
}

/// Starts oxredis expecting it to exit (a fatal load error).
fn start_fails(dir: &Path, args: &[&str]) -> Failed {
    match spawn(Bin::Ox, dir, args, false) {
        Ok(p) => panic!("server started but should have exited; log:\n{}", p.log_text()),
        Err(f) => f,
    }
}

impl Proc {
    fn conn(&self) -> Conn {
        Conn::connect(self.port)
    }
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
    fn try_exit(&mut self) -> Option<ExitStatus> {
        let st = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
        if st.is_some() {
            self.child = None;
        }
        st
    }
    fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(st) = self.try_exit() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    }
    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
    /// SHUTDOWN (no reply expected) and wait for the exit.
    fn shutdown(&mut self) {
        let mut c = self.conn();
        let _ = c.send(&["SHUTDOWN"]);
        let st = self.wait_exit(Duration::from_secs(10));
        assert!(st.is_some(), "server did not exit after SHUTDOWN; log:\n{}", self.log_text());
    }
    fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.log_text().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

// ---------------------------------------------------------------------------
// AOF files

/// Splits an AOF into commands; panics on anything that is not complete
/// RESP multibulk (the files under test here are never damaged).
fn parse_aof(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut i = 0;
    let line = |i: &mut usize| -> String {
        let start = *i;
        while !(bytes[*i] == b'\r' && bytes[*i + 1] == b'\n') {
            *i += 1;
        }
        let s = String::from_utf8_lossy(&bytes[start..*i]).into_owned();
        *i += 2;
        s
    };
    while i < bytes.len() {
        let h = line(&mut i);
        assert!(h.starts_with('*'), "bad header {:?} at {}", h, i);
        let argc: usize = h[1..].parse().unwrap_or_else(|_| panic!("bad argc {:?}", h));
        let mut cmd = Vec::new();
        for _ in 0..argc {
            let l = line(&mut i);
            let len: usize = l[1..].parse().unwrap_or_else(|_| panic!("bad len {:?}", l));
            cmd.push(String::from_utf8_lossy(&bytes[i..i + len]).into_owned());
            i += len + 2;
        }
        out.push(cmd);
    }
    out
}

fn read_aof(path: &Path) -> Vec<Vec<String>> {
    parse_aof(&std::fs::read(path).unwrap_or_default())
}

fn cmd_text(c: &[String]) -> String {
    c.join(" ")
}

/// Encodes commands as an AOF.
fn aof_of(cmds: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in cmds {
        let a: Vec<&str> = c.split(' ').collect();
        out.extend_from_slice(&Conn::encode(&a));
    }
    out
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn info_field(c: &mut Conn, section: &str, name: &str) -> String {
    c.info_field(section, name)
}

/// Waits until no rewrite runs or is scheduled.
fn wait_rewrite_done(c: &mut Conn) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while info_field(c, "persistence", "aof_rewrite_in_progress") != "0"
        || info_field(c, "persistence", "aof_rewrite_scheduled") != "0"
    {
        assert!(Instant::now() < deadline, "the AOF rewrite did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn digest(c: &mut Conn) -> String {
    c.cmd(&["DEBUG", "DIGEST"]).text()
}

/// Fills a few dbs with strings, lists and expires; returns nothing, the
/// digest is the witness.
fn populate(c: &mut Conn, n: usize) {
    for db in [0, 3, 9] {
        c.cmd(&["SELECT", &db.to_string()]);
        for i in 0..n {
            let k = format!("k:{}:{}", db, i);
            match i % 5 {
                0 => assert_eq!(c.cmd(&["SET", &k, &format!("v{}", i)]), Reply::ok()),
                1 => assert_eq!(c.cmd(&["INCRBY", &k, &(i as i64 * 7 - 50).to_string()]).is_error(), false),
                2 => assert!(c.cmd(&["RPUSH", &k, "a", &format!("{}", i), "bbbbbbbbbbbbbbbbbbbbbbbb"]).int() > 0),
                3 => assert_eq!(c.cmd(&["SET", &k, "with-ttl", "EX", "10000"]), Reply::ok()),
                _ => assert!(c.cmd(&["APPEND", &k, &"x".repeat(i % 50 + 1)]).int() > 0),
            }
        }
    }
    c.cmd(&["SELECT", "0"]);
    // Binary-safe keys and values.
    c.cmd(&[&b"SET"[..], b"bin\r\n\x00key", b"\x00\xff\r\n$3\r\n"]);
}

// ---------------------------------------------------------------------------
// Feeding

/// Runs `cmds` and returns the AOF commands they added (appendfsync
/// always: the file is complete when the reply arrives).
fn fed(dir: &Path, c: &mut Conn, cmds: &[&[&str]]) -> Vec<Vec<String>> {
    let before = read_aof(&dir.join("appendonly.aof")).len();
    for a in cmds {
        let _ = c.cmd(a);
    }
    let all = read_aof(&dir.join("appendonly.aof"));
    all[before..].to_vec()
}

#[test]
fn feeding_forms_are_6_2s() {
    let dir = TempDir::new("aof-feed");
    let p = start_aof(&dir.path, &["--appendfsync", "always"]);
    let mut c = p.conn();
    let t0 = now_ms();
    let got = fed(
        &dir.path,
        &mut c,
        &[
            &["SET", "a", "1"],
            &["SET", "b", "2", "EX", "100"],
            &["SET", "b2", "2", "PX", "5000", "GET"],
            &["SETEX", "c", "100", "v"],
            &["PSETEX", "d", "100000", "v"],
            &["SET", "e", "v", "EXAT", "9999999999"],
            &["SET", "e", "w", "KEEPTTL"],
            &["EXPIRE", "a", "100"],
            &["PEXPIRE", "a", "100000"],
            &["EXPIREAT", "a", "9999999998"],
            &["PEXPIREAT", "a", "9999999997000"],
            &["INCRBYFLOAT", "f", "1.5"],
            &["GETEX", "f", "EX", "100"],
            &["GETEX", "f", "PERSIST"],
            &["GETDEL", "f"],
        ],
    );
    let t1 = now_ms();
    let text: Vec<String> = got.iter().map(|c| cmd_text(c)).collect();
    // Absolute times are checked against the clock around the commands.
    let abs = |i: usize, j: usize, rel: i64| {
        let v: i64 = got[i][j].parse().unwrap_or_else(|_| panic!("not a number: {:?}", got[i]));
        assert!(v >= t0 + rel && v <= t1 + rel, "{:?}: {} not in [{}, {}]", got[i], v, t0 + rel, t1 + rel);
    };
    assert_eq!(got.len(), 16, "{:#?}", text);
    assert_eq!(text[0], "SELECT 0");
    assert_eq!(text[1], "SET a 1");
    assert_eq!(&got[2][..4], &["SET", "b", "2", "PXAT"]);
    abs(2, 4, 100_000);
    // GET is dropped, PX becomes PXAT.
    assert_eq!(&got[3][..4], &["SET", "b2", "2", "PXAT"]);
    assert_eq!(got[3].len(), 5);
    abs(3, 4, 5000);
    // SETEX / PSETEX: Redis 6.2 propagates SET k v PX ms, the AOF gets PXAT.
    assert_eq!(&got[4][..4], &["SET", "c", "v", "PXAT"]);
    abs(4, 4, 100_000);
    assert_eq!(&got[5][..4], &["SET", "d", "v", "PXAT"]);
    abs(5, 4, 100_000);
    assert_eq!(text[6], "SET e v PXAT 9999999999000");
    assert_eq!(text[7], "SET e w KEEPTTL");
    assert_eq!(&got[8][..2], &["PEXPIREAT", "a"]);
    abs(8, 2, 100_000);
    assert_eq!(&got[9][..2], &["PEXPIREAT", "a"]);
    abs(9, 2, 100_000);
    assert_eq!(text[10], "PEXPIREAT a 9999999998000");
    assert_eq!(text[11], "PEXPIREAT a 9999999997000");
    assert_eq!(text[12], "SET f 1.5 KEEPTTL");
    assert_eq!(&got[13][..2], &["PEXPIREAT", "f"]);
    abs(13, 2, 100_000);
    assert_eq!(text[14], "PERSIST f");
    assert_eq!(text[15], "DEL f");
}

#[test]
fn noops_and_failures_are_not_fed_select_follows_db() {
    let dir = TempDir::new("aof-noop");
    let p = start_aof(&dir.path, &["--appendfsync", "always"]);
    let mut c = p.conn();
    c.q("SET s 1");
    c.q("RPUSH l a");
    let got = fed(
        &dir.path,
        &mut c,
        &[
            &["DEL", "missing"],
            &["INCR", "l"],                 // WRONGTYPE
            &["SET", "s", "2", "NX"],       // not set
            &["SET", "missing", "2", "XX"], // not set
            &["GETEX", "s"],                // no option: nothing changes
            &["GETEX", "s", "PERSIST"],     // no TTL to remove
            &["GETDEL", "missing"],
            &["EXPIRE", "missing", "10"],
            &["PERSIST", "s"],
            &["LPOP", "missing"],
            &["GET", "s"],
            &["NOSUCHCOMMAND", "x"],
            &["SET", "s"], // arity
            &["SETEX", "s", "-1", "v"], // invalid expire
            &["GETDEL", "s"],
            &["SELECT", "5"],
            &["SET", "x", "1"],
            &["EXPIRE", "x", "-1"], // in the past: deleted, fed as DEL
            &["SET", "y", "1"],
            &["SELECT", "0"],
            &["GETEX", "l", "EX", "10"], // WRONGTYPE
            &["SET", "z", "1"],
        ],
    );
    let text: Vec<String> = got.iter().map(|c| cmd_text(c)).collect();
    assert_eq!(text, vec!["DEL s", "SELECT 5", "SET x 1", "DEL x", "SET y 1", "SELECT 0", "SET z 1"]);
}

#[test]
fn expired_keys_are_fed_as_del_lazy_and_active() {
    let dir = TempDir::new("aof-expire");
    let p = start_aof(&dir.path, &["--appendfsync", "always"]);
    let mut c = p.conn();
    let aof = dir.join("appendonly.aof");
    assert_eq!(c.q("DEBUG SET-ACTIVE-EXPIRE 0"), Reply::ok());
    c.q("SET lazy v PX 30");
    std::thread::sleep(Duration::from_millis(80));
    assert_eq!(c.q("GET lazy"), Reply::nil());
    let all = read_aof(&aof);
    assert_eq!(cmd_text(&all[all.len() - 1]), "DEL lazy");
    // Active expiry: the cron finds the key and feeds DEL without a client.
    assert_eq!(c.q("DEBUG SET-ACTIVE-EXPIRE 1"), Reply::ok());
    c.q("SELECT 2");
    c.q("SET active v PX 30");
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut found = false;
    while Instant::now() < deadline && !found {
        std::thread::sleep(Duration::from_millis(50));
        let all = read_aof(&aof);
        found = all.iter().any(|c| cmd_text(c) == "DEL active");
    }
    assert!(found, "active expiry fed no DEL: {:?}", read_aof(&aof));
    let all = read_aof(&aof);
    let n = all.len();
    assert_eq!(cmd_text(&all[n - 1]), "DEL active");
    assert_eq!(&all[n - 2][..4], &["SET", "active", "v", "PXAT"]);
    assert_eq!(cmd_text(&all[n - 3]), "SELECT 2");
    // The reloaded dataset has neither key.
    drop(c);
    drop(p);
    let p = start_aof(&dir.path, &[]);
    let mut c = p.conn();
    assert_eq!(c.q("DBSIZE").int(), 0);
}

fn wait_blocked(c: &mut Conn, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while info_field(c, "clients", "blocked_clients").parse::<i64>().unwrap_or(-1) != n {
        assert!(Instant::now() < deadline, "no client blocked");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn blocking_pops_are_fed_as_their_effect() {
    let dir = TempDir::new("aof-block");
    let p = start_aof(&dir.path, &["--appendfsync", "always"]);
    let mut c = p.conn();
    let mut b = p.conn();
    let aof = dir.join("appendonly.aof");
    let before = read_aof(&aof).len();
    // Served at once.
    c.q("RPUSH now x y");
    assert_eq!(c.q("BLPOP now 0").array().len(), 2);
    assert_eq!(c.q("BRPOP now 0").array().len(), 2);
    // Served later, by another client's push.
    b.send(&["BLPOP", "later", "0"]).unwrap_or_else(|e| panic!("{}", e));
    wait_blocked(&mut c, 1);
    c.q("RPUSH later a b");
    assert_eq!(b.read_reply().unwrap_or_else(|e| panic!("{}", e)), Reply::Array(Some(vec![Reply::bulk("later"), Reply::bulk("a")])));
    b.send(&["BRPOPLPUSH", "src", "dst", "0"]).unwrap_or_else(|e| panic!("{}", e));
    wait_blocked(&mut c, 1);
    c.q("LPUSH src m");
    assert_eq!(b.read_reply().unwrap_or_else(|e| panic!("{}", e)), Reply::bulk("m"));
    b.send(&["BLMOVE", "src2", "dst", "LEFT", "RIGHT", "0"]).unwrap_or_else(|e| panic!("{}", e));
    wait_blocked(&mut c, 1);
    c.q("LPUSH src2 n");
    assert_eq!(b.read_reply().unwrap_or_else(|e| panic!("{}", e)), Reply::bulk("n"));
    // A timeout changes nothing.
    assert_eq!(b.q("BLPOP nothing 0.05"), Reply::Array(None));
    let all = read_aof(&aof);
    let text: Vec<String> = all[before..].iter().map(|c| cmd_text(c)).collect();
    assert_eq!(
        text,
        vec![
            "SELECT 0",
            "RPUSH now x y",
            "LPOP now",
            "RPOP now",
            "RPUSH later a b",
            "LPOP later",
            "LPUSH src m",
            "RPOPLPUSH src dst",
            "LPUSH src2 n",
            "LMOVE src2 dst left right",
        ]
    );
    let d = digest(&mut c);
    drop((c, b));
    drop(p);
    let p = start_aof(&dir.path, &[]);
    let mut c = p.conn();
    assert_eq!(digest(&mut c), d);
    assert_eq!(c.q("LRANGE dst 0 -1").array(), vec![Reply::bulk("m"), Reply::bulk("n")]);
    assert_eq!(c.q("LRANGE later 0 -1").array(), vec![Reply::bulk("b")]);
}

// ---------------------------------------------------------------------------
// Loading

#[test]
fn restart_reloads_everything_after_shutdown_and_sigterm() {
    let dir = TempDir::new("aof-restart");
    let mut p = start_aof(&dir.path, &["--appendfsync", "everysec"]);
    let mut c = p.conn();
    populate(&mut c, 60);
    let d1 = digest(&mut c);
    let ttl1 = c.q("PTTL k:0:3").int();
    assert!(ttl1 > 0);
    drop(c);
    p.shutdown();
    assert!(p.log_text().contains("Calling fsync() on the AOF file."));
    let mut p = start_aof(&dir.path, &["--appendfsync", "no"]);
    assert!(p.log_text().contains("DB loaded from append only file"), "{}", p.log_text());
    let mut c = p.conn();
    assert_eq!(digest(&mut c), d1);
    // The TTL was stored as an absolute time: it did not restart.
    let ttl2 = c.q("PTTL k:0:3").int();
    assert!(ttl2 > 0 && ttl2 <= ttl1, "ttl {} then {}", ttl1, ttl2);
    // More writes, then SIGTERM.
    c.q("SELECT 3");
    c.q("LPUSH k:3:2 front");
    c.q("DEL k:3:0");
    c.q("SELECT 0");
    let d2 = digest(&mut c);
    assert_ne!(d1, d2);
    drop(c);
    send_signal(p.pid, "TERM");
    let st = p.wait_exit(Duration::from_secs(10));
    assert_eq!(st.and_then(|s| s.code()), Some(0), "log:\n{}", p.log_text());
    assert!(p.log_text().contains("Received SIGTERM scheduling shutdown..."));
    let p = start_aof(&dir.path, &[]);
    let mut c = p.conn();
    assert_eq!(digest(&mut c), d2);
}

/// kill(1) with a signal name (no unsafe in tests).
fn send_signal(pid: u32, sig: &str) {
    let _ = Command::new("kill").arg(format!("-{}", sig)).arg(pid.to_string()).status();
}

const GOOD: &[&str] = &["SELECT 0", "SET a 1", "RPUSH l x y z", "INCR n", "INCR n"];

#[test]
fn truncated_tail_is_cut_with_aof_load_truncated_yes() {
    let dir = TempDir::new("aof-trunc-yes");
    let mut bytes = aof_of(GOOD);
    let good_len = bytes.len() as u64;
    // Cut in the middle of the last command's payload.
    let tail = aof_of(&["SET b 2222"]);
    bytes.extend_from_slice(&tail[..tail.len() - 4]);
    std::fs::write(dir.join("appendonly.aof"), &bytes).unwrap_or_else(|e| panic!("{}", e));
    let p = start_aof(&dir.path, &["--aof-load-truncated", "yes"]);
    let log = p.log_text();
    assert!(log.contains("!!! Warning: short read while loading the AOF file !!!"), "{}", log);
    assert!(log.contains(&format!("!!! Truncating the AOF at offset {} !!!", good_len)), "{}", log);
    assert!(log.contains("AOF loaded anyway because aof-load-truncated is enabled"), "{}", log);
    let mut c = p.conn();
    assert_eq!(c.q("GET a"), Reply::bulk("1"));
    assert_eq!(c.q("GET n"), Reply::bulk("2"));
    assert_eq!(c.q("EXISTS b").int(), 0);
    assert_eq!(std::fs::metadata(dir.join("appendonly.aof")).map(|m| m.len()).unwrap_or(0), good_len);
    assert_eq!(info_field(&mut c, "persistence", "aof_current_size"), good_len.to_string());
    // New writes land after the cut and load cleanly next time.
    c.q("SET after cut");
    let d = digest(&mut c);
    drop(c);
    drop(p);
    let p = start_aof(&dir.path, &["--aof-load-truncated", "no"]);
    let mut c = p.conn();
    assert_eq!(digest(&mut c), d);
    assert_eq!(c.q("GET after"), Reply::bulk("cut"));
}

#[test]
fn truncated_tail_is_fatal_with_aof_load_truncated_no() {
    let dir = TempDir::new("aof-trunc-no");
    for cut in [1usize, 3, 9] {
        let mut bytes = aof_of(GOOD);
        let tail = aof_of(&["SET b 2222"]);
        bytes.extend_from_slice(&tail[..tail.len() - cut]);
        std::fs::write(dir.join("appendonly.aof"), &bytes).unwrap_or_else(|e| panic!("{}", e));
        let f = start_fails(&dir.path, &["--appendonly", "yes", "--aof-load-truncated", "no"]);
        assert_eq!(f.status.and_then(|s| s.code()), Some(1), "{}", f.log);
        assert!(
            f.log.contains("Unexpected end of file reading the append only file. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."),
            "{}",
            f.log
        );
        // Nothing was changed on disk.
        assert_eq!(std::fs::read(dir.join("appendonly.aof")).unwrap_or_default(), bytes);
    }
}

#[test]
fn unfinished_multi_is_rolled_back_or_fatal() {
    let dir = TempDir::new("aof-multi");
    let head = aof_of(&["SELECT 0", "SET a 1", "MULTI", "SET inmulti 1", "INCR n", "EXEC", "SET b 2"]);
    let mut bytes = head.clone();
    bytes.extend_from_slice(&aof_of(&["MULTI", "SET lost 1", "SET lost2 1"]));
    std::fs::write(dir.join("appendonly.aof"), &bytes).unwrap_or_else(|e| panic!("{}", e));
    let f = start_fails(&dir.path, &["--appendonly", "yes", "--aof-load-truncated", "no"]);
    assert_eq!(f.status.and_then(|s| s.code()), Some(1));
    assert!(f.log.contains("Revert incomplete MULTI/EXEC transaction in AOF file"), "{}", f.log);
    assert!(f.log.contains("Unexpected end of file reading the append only file."), "{}", f.log);
    let p = start_aof(&dir.path, &[]);
    let log = p.log_text();
    assert!(log.contains("Revert incomplete MULTI/EXEC transaction in AOF file"), "{}", log);
    assert!(log.contains(&format!("!!! Truncating the AOF at offset {} !!!", head.len())), "{}", log);
    let mut c = p.conn();
    assert_eq!(c.q("MGET a inmulti n b lost lost2").array(), vec![
        Reply::bulk("1"),
        Reply::bulk("1"),
        Reply::bulk("1"),
        Reply::bulk("2"),
        Reply::nil(),
        Reply::nil()
    ]);
    assert_eq!(std::fs::read(dir.join("appendonly.aof")).unwrap_or_default(), head);
}

#[test]
fn multi_exec_discard_in_the_file_as_redis_replays_them() {
    let dir = TempDir::new("aof-multi2");
    let bytes = aof_of(&[
        "SELECT 0",
        "EXEC",
        "DISCARD",
        "MULTI",
        "SET a 1",
        "MULTI",
        "SET b 2",
        "EXEC",
        "MULTI",
        "SET c 3",
        "DISCARD",
        "SET d 4",
        "MULTI",
        "SELECT 2",
        "SET e 5",
        "EXEC",
        "SET f 6",
    ]);
    std::fs::write(dir.join("appendonly.aof"), &bytes).unwrap_or_else(|e| panic!("{}", e));
    let p = start_aof(&dir.path, &["--aof-load-truncated", "no"]);
    let mut c = p.conn();
    assert_eq!(c.q("MGET a b c d").array(), vec![Reply::bulk("1"), Reply::bulk("2"), Reply::nil(), Reply::bulk("4")]);
    c.q("SELECT 2");
    assert_eq!(c.q("MGET e f").array(), vec![Reply::bulk("5"), Reply::bulk("6")]);
}

/// A damaged length far beyond the file is a truncated tail, not an
/// attempt to allocate it.
#[test]
fn huge_length_at_the_tail_is_a_truncation() {
    let dir = TempDir::new("aof-huge");
    let good = aof_of(GOOD);
    let mut bytes = good.clone();
    bytes.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4611686018427387904\r\nabc");
    std::fs::write(dir.join("appendonly.aof"), &bytes).unwrap_or_else(|e| panic!("{}", e));
    let f = start_fails(&dir.path, &["--appendonly", "yes", "--aof-load-truncated", "no"]);
    assert_eq!(f.status.and_then(|s| s.code()), Some(1));
    assert!(f.log.contains("Unexpected end of file reading the append only file."), "{}", f.log);
    let p = start_aof(&dir.path, &["--aof-load-truncated", "yes"]);
    let mut c = p.conn();
    assert_eq!(c.q("GET n"), Reply::bulk("2"));
    assert_eq!(std::fs::read(dir.join("appendonly.aof")).unwrap_or_default(), good);
    // The checker says the same, without allocating it either.
    std::fs::write(dir.join("appendonly.aof"), &bytes).unwrap_or_else(|e| panic!("{}", e));
    let tool = check_tool(&dir);
    let (code, out) = run_check(&tool, &[&dir.join("appendonly.aof").display().to_string()], "");
    assert_eq!(code, 1);
    assert!(out.contains(": Expected to read 4611686018427387906 bytes, got 3 bytes\n"), "{}", out);
    assert!(out.contains(&format!("ok_up_to={},", good.len())), "{}", out);
}

#[test]
fn garbage_in_the_middle_is_fatal() {
    let dir = TempDir::new("aof-garbage");
    let good = aof_of(GOOD);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        // A line that is not a command.
        ([&good[..], b"garbage\r\n", &aof_of(&["SET c 3"])[..]].concat(), "Bad file format reading the append only file: make a backup of your AOF file, then use ./redis-check-aof --fix <filename>"),
        // An argument without its '$' header.
        ([&good[..], b"*2\r\n$3\r\nGET\r\nxx\r\n", &aof_of(&["SET c 3"])[..]].concat(), "Bad file format reading the append only file"),
        // argc zero.
        ([&good[..], b"*0\r\n", &aof_of(&["SET c 3"])[..]].concat(), "Bad file format reading the append only file"),
        // A command this server does not know.
        ([&good[..], &aof_of(&["NOSUCHCMD x"])[..], &aof_of(&["SET c 3"])[..]].concat(), "Unknown command 'NOSUCHCMD' reading the append only file"),
    ];
    for (bytes, msg) in cases {
        std::fs::write(dir.join("appendonly.aof"), &bytes).unwrap_or_else(|e| panic!("{}", e));
        let f = start_fails(&dir.path, &["--appendonly", "yes", "--aof-load-truncated", "yes"]);
        assert_eq!(f.status.and_then(|s| s.code()), Some(1), "{}", f.log);
        assert!(f.log.contains(msg), "want {:?} in:\n{}", msg, f.log);
        if msg.starts_with("Bad file format") {
            assert!(f.log.contains(&format!("offset {}", good.len())), "no offset in:\n{}", f.log);
        }
        assert_eq!(std::fs::read(dir.join("appendonly.aof")).unwrap_or_default(), bytes, "file changed");
    }
}

#[test]
fn empty_or_missing_file_starts_empty() {
    let dir = TempDir::new("aof-empty");
    let path = dir.join("appendonly.aof");
    std::fs::write(&path, b"").unwrap_or_else(|e| panic!("{}", e));
    let p = start_aof(&dir.path, &[]);
    let mut c = p.conn();
    assert_eq!(c.q("DBSIZE").int(), 0);
    assert_eq!(info_field(&mut c, "persistence", "aof_enabled"), "1");
    c.q("SET x 1");
    drop((c, p));
    assert_eq!(read_aof(&path).iter().map(|c| cmd_text(c)).collect::<Vec<_>>(), vec!["SELECT 0", "SET x 1"]);
    // Missing: created at start.
    std::fs::remove_file(&path).unwrap_or_else(|e| panic!("{}", e));
    let p = start_aof(&dir.path, &[]);
    let mut c = p.conn();
    assert_eq!(c.q("DBSIZE").int(), 0);
    assert!(path.exists());
    // A different appendfilename is honoured.
    c.q("SET y 2");
    drop((c, p));
    let p = start_aof(&dir.path, &["--appendfilename", "other.aof"]);
    let mut c = p.conn();
    assert_eq!(c.q("DBSIZE").int(), 0);
    c.q("SET z 3");
    drop((c, p));
    assert_eq!(read_aof(&dir.join("other.aof")).len(), 2);
    let p = start_aof(&dir.path, &[]);
    let mut c = p.conn();
    assert_eq!(c.q("GET y"), Reply::bulk("2"));
    assert_eq!(c.q("EXISTS z").int(), 0);
}

/// An RDB by hand: version 9, one AUX field, db 0 with `k` = "v" and
/// `n` = 7, EOF and a checksum of zero ("saved with checksum disabled").
fn tiny_rdb() -> Vec<u8> {
    let mut b = b"REDIS0009\xfa\x09redis-ver\x056.2.0".to_vec();
    b.extend_from_slice(b"\xfe\x00\x00\x01k\x01v\x00\x01n\xc0\x07\xff");
    b.extend_from_slice(&[0u8; 8]);
    b
}

#[test]
fn rdb_preamble_loads_then_the_tail() {
    let dir = TempDir::new("aof-preamble");
    let mut bytes = tiny_rdb();
    bytes.extend_from_slice(&aof_of(&["SET a 1", "INCR n"]));
    std::fs::write(dir.join("appendonly.aof"), &bytes).unwrap_or_else(|e| panic!("{}", e));
    let p = start_aof(&dir.path, &[]);
    let mut c = p.conn();
    assert_eq!(c.q("GET k"), Reply::bulk("v"));
    assert_eq!(c.q("GET a"), Reply::bulk("1"));
    assert_eq!(c.q("GET n"), Reply::bulk("8"));
    let log = p.log_text();
    assert!(log.contains("Reading RDB preamble from AOF file..."), "{}", log);
    assert!(log.contains("Reading the remaining AOF tail..."), "{}", log);
}

#[test]
fn damaged_rdb_preamble_stops_the_load() {
    let dir = TempDir::new("aof-preamble-bad");
    let mut bytes = tiny_rdb();
    // An unknown type byte where the second key's type is.
    let at = bytes.iter().position(|&b| b == b'n').unwrap_or(0) - 2;
    bytes[at] = 0x7f;
    bytes.extend_from_slice(&aof_of(&["SET a 1"]));
    std::fs::write(dir.join("appendonly.aof"), &bytes).unwrap_or_else(|e| panic!("{}", e));
    let f = start_fails(&dir.path, &["--appendonly", "yes"]);
    assert_eq!(f.status.and_then(|s| s.code()), Some(1));
    assert!(f.log.contains("Error reading the RDB preamble of the AOF file, AOF loading aborted"), "{}", f.log);
    assert_eq!(std::fs::read(dir.join("appendonly.aof")).unwrap_or_default(), bytes);
}

#[test]
fn debug_loadaof_reloads_without_feeding_again() {
    let dir = TempDir::new("aof-loadaof");
    let p = start_aof(&dir.path, &["--appendfsync", "everysec"]);
    let mut c = p.conn();
    let aof = dir.join("appendonly.aof");
    let flen = || std::fs::metadata(&aof).map(|m| m.len()).unwrap_or(0);
    populate(&mut c, 30);
    let d = digest(&mut c);
    let len = flen();
    assert_eq!(info_field(&mut c, "persistence", "aof_current_size"), len.to_string());
    assert_eq!(c.q("DEBUG LOADAOF"), Reply::ok());
    assert!(p.log_text().contains("Append Only File loaded by DEBUG LOADAOF"));
    assert_eq!(digest(&mut c), d);
    // The replay was not fed to the file again.
    c.q("PING");
    assert_eq!(flen(), len);
    // Loading does not expire keys: one whose time passed comes back and
    // goes on first access, fed as DEL.
    assert_eq!(c.q("DEBUG SET-ACTIVE-EXPIRE 0"), Reply::ok());
    c.q("SET gone soon PX 1");
    std::thread::sleep(Duration::from_millis(10));
    let n = c.q("DBSIZE").int();
    assert_eq!(c.q("DEBUG LOADAOF"), Reply::ok());
    assert_eq!(c.q("DBSIZE").int(), n);
    assert_eq!(c.q("GET gone"), Reply::nil());
    let all = read_aof(&aof);
    assert_eq!(cmd_text(&all[all.len() - 1]), "DEL gone");
    // Data appended to the file behind the server's back shows up.
    let mut f = std::fs::OpenOptions::new().append(true).open(&aof).unwrap_or_else(|e| panic!("{}", e));
    std::io::Write::write_all(&mut f, &aof_of(&["SET behind back"])).unwrap_or_else(|e| panic!("{}", e));
    drop(f);
    assert_eq!(c.q("DEBUG LOADAOF"), Reply::ok());
    assert_eq!(c.q("GET behind"), Reply::bulk("back"));
}

#[test]
fn config_set_appendonly_at_run_time() {
    let dir = TempDir::new("aof-config");
    let p = start(&dir.path, &["--appendonly", "no"]);
    let mut c = p.conn();
    let aof = dir.join("appendonly.aof");
    populate(&mut c, 20);
    assert!(!aof.exists());
    assert_eq!(info_field(&mut c, "persistence", "aof_enabled"), "0");
    assert_eq!(c.q("CONFIG SET appendonly yes"), Reply::ok());
    assert_eq!(info_field(&mut c, "persistence", "aof_enabled"), "1");
    assert!(aof.exists());
    // The first file comes from a background rewrite (wait_rewrite).
    wait_rewrite_done(&mut c);
    c.q("SET after on");
    c.q("SELECT 9");
    c.q("RPUSH k:9:2 tail");
    let d_on = digest(&mut c);
    assert_eq!(c.q("CONFIG SET appendonly no"), Reply::ok());
    assert_eq!(info_field(&mut c, "persistence", "aof_enabled"), "0");
    let len_off = std::fs::metadata(&aof).map(|m| m.len()).unwrap_or(0);
    c.q("SET not-logged 1");
    assert_eq!(std::fs::metadata(&aof).map(|m| m.len()).unwrap_or(0), len_off);
    drop(c);
    drop(p);
    let p = start_aof(&dir.path, &[]);
    let mut c = p.conn();
    assert_eq!(digest(&mut c), d_on);
    assert_eq!(c.q("EXISTS not-logged").int(), 0);
    // Off and on again: the new file is the whole dataset, nothing lost.
    assert_eq!(c.q("CONFIG SET appendonly no"), Reply::ok());
    c.q("SET while-off 1");
    assert_eq!(c.q("CONFIG SET appendonly yes"), Reply::ok());
    wait_rewrite_done(&mut c);
    let d = digest(&mut c);
    drop(c);
    drop(p);
    let p = start_aof(&dir.path, &[]);
    let mut c = p.conn();
    assert_eq!(digest(&mut c), d);
}

#[test]
fn info_persistence_fields() {
    let dir = TempDir::new("aof-info");
    let p = start_aof(&dir.path, &["--appendfsync", "always"]);
    let mut c = p.conn();
    let f = |c: &mut Conn, n: &str| info_field(c, "persistence", n);
    assert_eq!(f(&mut c, "loading"), "0");
    assert_eq!(f(&mut c, "aof_enabled"), "1");
    assert_eq!(f(&mut c, "aof_rewrite_in_progress"), "0");
    assert_eq!(f(&mut c, "aof_rewrite_scheduled"), "0");
    assert_eq!(f(&mut c, "aof_last_bgrewrite_status"), "ok");
    assert_eq!(f(&mut c, "aof_last_write_status"), "ok");
    assert_eq!(f(&mut c, "aof_current_size"), "0");
    assert_eq!(f(&mut c, "aof_base_size"), "0");
    assert_eq!(f(&mut c, "aof_pending_rewrite"), "0");
    assert_eq!(f(&mut c, "aof_buffer_length"), "0");
    assert_eq!(f(&mut c, "aof_rewrite_buffer_length"), "0");
    assert_eq!(f(&mut c, "aof_pending_bio_fsync"), "0");
    assert_eq!(f(&mut c, "aof_delayed_fsync"), "0");
    c.q("SET a b");
    let len = std::fs::metadata(dir.join("appendonly.aof")).map(|m| m.len()).unwrap_or(0);
    assert!(len > 0);
    assert_eq!(f(&mut c, "aof_current_size"), len.to_string());
    assert_eq!(f(&mut c, "aof_base_size"), "0");
    drop(c);
    drop(p);
    // After a load, the base size is the loaded size.
    let p = start_aof(&dir.path, &[]);
    let mut c = p.conn();
    assert_eq!(f(&mut c, "aof_base_size"), len.to_string());
    assert_eq!(f(&mut c, "aof_current_size"), len.to_string());
    // With AOF off the size fields are absent, as in 6.2.
    assert_eq!(c.q("CONFIG SET appendonly no"), Reply::ok());
    let text = c.q("INFO persistence").text();
    assert!(!text.contains("aof_current_size"), "{}", text);
    assert!(text.contains("aof_enabled:0"));
}

// ---------------------------------------------------------------------------
// oxredis-check-aof, next to redis-check-aof

/// `oxredis-check-aof` is the server binary started under that name.
fn check_tool(dir: &TempDir) -> PathBuf {
    let link = dir.join("oxredis-check-aof");
    if !link.exists() {
        std::os::unix::fs::symlink(OXREDIS, &link).unwrap_or_else(|e| panic!("symlink: {}", e));
    }
    link
}

/// Runs a checker on `file`, answering `answer` on stdin; (exit code, stdout).
fn run_check(tool: &Path, args: &[&str], answer: &str) -> (i32, String) {
    let mut child = Command::new(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("run {}: {}", tool.display(), e));
    if let Some(mut sin) = child.stdin.take() {
        let _ = std::io::Write::write_all(&mut sin, answer.as_bytes());
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("wait: {}", e));
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The numbers of an `AOF analyzed:` line (size, ok_up_to, ok_up_to_line, diff).
fn analyzed(out: &str) -> Vec<(String, i64)> {
    let line = out.lines().find(|l| l.starts_with("AOF analyzed:")).unwrap_or_else(|| panic!("no analysis in {:?}", out));
    line["AOF analyzed:".len()..]
        .split(',')
        .filter_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

fn redis_check_aof_installed() -> bool {
    Command::new("redis-check-aof").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

#[test]
fn check_aof_reports_like_redis_check_aof() {
    let dir = TempDir::new("aof-check");
    let tool = check_tool(&dir);
    let have_ref = redis_check_aof_installed();
    if !have_ref {
        eprintln!("SKIPPED (comparison part): redis-check-aof not installed");
    }
    let good = aof_of(GOOD);
    let multi = aof_of(&["MULTI", "SET x y"]);
    let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        ("valid", [&good[..], &aof_of(&["MULTI", "SET x y", "EXEC"])[..]].concat(), None),
        ("truncated payload", good[..good.len() - 2].to_vec(), Some("Expected to read 3 bytes, got 1 bytes")),
        ("truncated header", good[..good.len() - 8].to_vec(), Some("Expected to read 6 bytes, got 5 bytes")),
        ("truncated argc", good[..good.len() - 18].to_vec(), Some("Expected \\r\\n, got: 0d00")),
        ("garbage", [&good[..], b"garbage\r\n", &good[..]].concat(), Some("Expected prefix '*', got: 'g'")),
        ("bad crlf", [&good[..], b"*1\r\n$4\r\nPINGxx"].concat(), Some("Expected \\r\\n, got: 7878")),
        ("unfinished multi", [&good[..], &multi[..]].concat(), Some("Reached EOF before reading EXEC for MULTI")),
        ("nested multi", [&good[..], &multi[..], &multi[..]].concat(), Some("Unexpected MULTI")),
        ("exec alone", [&good[..], &aof_of(&["EXEC"])[..]].concat(), Some("Unexpected EXEC")),
        ("negative length", [&good[..], b"*1\r\n$-5\r\nxx\r\n"].concat(), Some("Expected to read string of -5 bytes, which is not in the suitable range")),
    ];
    for (name, bytes, err) in cases {
        let f = dir.join("t.aof");
        std::fs::write(&f, &bytes).unwrap_or_else(|e| panic!("{}", e));
        let fs = f.display().to_string();
        let (code, out) = run_check(&tool, &[&fs], "");
        let nums = analyzed(&out);
        let ok_up_to = nums.iter().find(|(k, _)| k == "ok_up_to").map(|x| x.1).unwrap_or(-1);
        match err {
            None => {
                assert_eq!(code, 0, "{}: {}", name, out);
                assert!(out.ends_with("AOF is valid\n"), "{}: {}", name, out);
                assert_eq!(ok_up_to, bytes.len() as i64);
            }
            Some(e) => {
                assert_eq!(code, 1, "{}: {}", name, out);
                let first = out.lines().next().unwrap_or("");
                assert!(first.starts_with("0x") && first.ends_with(&format!(": {}", e)), "{}: {:?}", name, out);
                assert!(out.ends_with("AOF is not valid. Use the --fix option to try fixing it.\n"), "{}: {}", name, out);
            }
        }
        assert!(out.contains(&format!("AOF analyzed: size={}, ok_up_to={}, ok_up_to_line=", bytes.len(), ok_up_to)), "{}", out);
        if have_ref {
            let (rcode, rout) = run_check(Path::new("redis-check-aof"), &[&fs], "");
            assert_eq!(code, rcode, "{}: exit code\nours:\n{}\nredis:\n{}", name, out, rout);
            // 7.0 adds `filename=` and words some errors differently; the
            // numbers are the same.
            let theirs: Vec<(String, i64)> = analyzed(&rout).into_iter().filter(|(k, _)| k != "filename").collect();
            assert_eq!(nums, theirs, "{}\nours:\n{}\nredis:\n{}", name, out, rout);
        }
        // --fix answered "n" changes nothing; "y" truncates at ok_up_to.
        if err.is_some() {
            let (code, out) = run_check(&tool, &["--fix", &fs], "n\n");
            assert_eq!(code, 1);
            assert!(out.contains(&format!(
                "This will shrink the AOF from {} bytes, with {} bytes, to {} bytes\nContinue? [y/N]: Aborting...\n",
                bytes.len(),
                bytes.len() as i64 - ok_up_to,
                ok_up_to
            )), "{}", out);
            assert_eq!(std::fs::read(&f).unwrap_or_default(), bytes);
            let (code, _) = run_check(&tool, &["--fix", &fs], "");
            assert_eq!(code, 1, "no answer is no");
            let (code, out) = run_check(&tool, &["--fix", &fs], "y\n");
            assert_eq!(code, 0, "{}", out);
            assert!(out.ends_with("Continue? [y/N]: Successfully truncated AOF\n"), "{}", out);
            assert_eq!(std::fs::read(&f).unwrap_or_default(), &bytes[..ok_up_to as usize]);
            let (code, out) = run_check(&tool, &[&fs], "");
            assert_eq!(code, 0, "fixed file is valid: {}", out);
            if have_ref {
                let (rcode, rout) = run_check(Path::new("redis-check-aof"), &[&fs], "");
                assert_eq!(rcode, 0, "{}", rout);
            }
        } else {
            let (code, out) = run_check(&tool, &["--fix", &fs], "");
            assert_eq!(code, 0);
            assert!(out.ends_with("AOF is valid\n"));
        }
    }
    // Usage and file errors, as 6.2 prints them.
    let t = tool.display().to_string();
    assert_eq!(run_check(&tool, &[], ""), (1, format!("Usage: {} [--fix] <file.aof>\n", t)));
    assert_eq!(run_check(&tool, &["--fx", "a"], ""), (1, "Invalid argument: --fx\n".to_string()));
    assert_eq!(run_check(&tool, &["--fix", "a", "b"], ""), (1, "Invalid arguments\n".to_string()));
    let missing = dir.join("missing.aof").display().to_string();
    assert_eq!(run_check(&tool, &[&missing], ""), (1, format!("Cannot open file: {}\n", missing)));
    let empty = dir.join("empty.aof");
    std::fs::write(&empty, b"").unwrap_or_else(|e| panic!("{}", e));
    let es = empty.display().to_string();
    assert_eq!(run_check(&tool, &[&es], ""), (1, format!("Empty file: {}\n", es)));
}

#[test]
fn fixed_file_loads() {
    let dir = TempDir::new("aof-fixload");
    let tool = check_tool(&dir);
    let mut bytes = aof_of(GOOD);
    bytes.extend_from_slice(&aof_of(&["MULTI", "SET lost 1"]));
    let f = dir.join("appendonly.aof");
    std::fs::write(&f, &bytes).unwrap_or_else(|e| panic!("{}", e));
    let (code, _) = run_check(&tool, &["--fix", &f.display().to_string()], "y\n");
    assert_eq!(code, 0);
    let p = start_aof(&dir.path, &["--aof-load-truncated", "no"]);
    let mut c = p.conn();
    assert_eq!(c.q("GET n"), Reply::bulk("2"));
    assert_eq!(c.q("EXISTS lost").int(), 0);
}

// ---------------------------------------------------------------------------
// Write errors: RLIMIT_FSIZE set on the running server with prlimit(1)
// makes its AOF writes fail (EFBIG, or a short write) until it is lifted.

fn prlimit_fsize(pid: u32, soft: &str) -> bool {
    Command::new("prlimit")
        .arg("--pid")
        .arg(pid.to_string())
        .arg(format!("--fsize={}:", soft))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn start_limited(dir: &Path, args: &[&str]) -> Option<Proc> {
    let p = match spawn(Bin::Ox, dir, args, true) {
        Ok(p) => p,
        Err(f) => panic!("start failed: {}", f.log),
    };
    if !prlimit_fsize(p.pid, "unlimited") {
        eprintln!("SKIPPED: prlimit(1) cannot change this process's RLIMIT_FSIZE");
        return None;
    }
    Some(p)
}

fn wait_write_status(c: &mut Conn, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while info_field(c, "persistence", "aof_last_write_status") != want {
        assert!(Instant::now() < deadline, "aof_last_write_status never became {}", want);
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn write_errors_give_misconf_then_recover_without_losing_acknowledged_writes() {
    let dir = TempDir::new("aof-werr");
    let Some(mut p) = start_limited(&dir.path, &["--appendonly", "yes", "--appendfsync", "everysec"]) else { return };
    let aof = dir.join("appendonly.aof");
    let flen = || std::fs::metadata(&aof).map(|m| m.len()).unwrap_or(0);
    let mut c = p.conn();
    // Keep the AOF bigger than the log, so log lines still fit the limit.
    assert_eq!(c.cmd(&["SET", "pad", &"p".repeat(16000)]), Reply::ok());
    let mut acked: Vec<String> = Vec::new();
    // Round 1: no byte fits (EFBIG). Round 2: a few bytes fit (short write,
    // cut back; Redis reports it as ENOSPC).
    for (round, room, errtext, logtext) in [
        (1, 0u64, "File too large", "Error writing to the AOF file: File too large"),
        // Error lines are logged at most once per 30 s, as in Redis.
        (2, 10u64, "No space left on device", ""),
    ] {
        let size = flen();
        assert!(prlimit_fsize(p.pid, &(size + room).to_string()));
        // This write's flush fails after the command ran; with everysec the
        // reply still goes out and the data waits in the buffer.
        let k = format!("acked-{}", round);
        assert_eq!(c.cmd(&["SET", &k, &"v".repeat(100)]), Reply::ok());
        acked.push(k);
        assert_eq!(info_field(&mut c, "persistence", "aof_last_write_status"), "err");
        let r = c.q("SET refused 1");
        assert_eq!(r, Reply::err(&format!("MISCONF Errors writing to the AOF file: {}", errtext)));
        assert_eq!(c.q("INCR refused"), r);
        // Reads and non-write commands still work.
        assert_eq!(c.q("EXISTS pad").int(), 1);
        if !logtext.is_empty() {
            assert!(p.wait_log(logtext, Duration::from_secs(2)), "no {:?} in:\n{}", logtext, p.log_text());
        } else {
            assert!(!p.log_text().contains("Short write"), "error logged twice within 30 s");
        }
        assert_eq!(flen(), size, "a partial write was left in the file");
        assert!(info_field(&mut c, "persistence", "aof_buffer_length").parse::<u64>().unwrap_or(0) > 0);
        // Lift the limit: the cron retries the write within a second.
        assert!(prlimit_fsize(p.pid, "unlimited"));
        wait_write_status(&mut c, "ok");
        assert_eq!(p.log_text().matches("AOF write error looks solved, Redis can write again.").count(), round);
        assert_eq!(info_field(&mut c, "persistence", "aof_buffer_length"), "0");
        let k = format!("after-{}", round);
        assert_eq!(c.q(&format!("SET {} 1", k)), Reply::ok());
        acked.push(k);
    }
    let d = digest(&mut c);
    drop(c);
    p.shutdown();
    let p = start_aof(&dir.path, &["--aof-load-truncated", "no"]);
    let mut c = p.conn();
    assert_eq!(digest(&mut c), d);
    for k in &acked {
        assert_eq!(c.q(&format!("EXISTS {}", k)).int(), 1, "{} lost", k);
    }
    assert_eq!(c.q("EXISTS refused").int(), 0);
}

#[test]
fn write_error_with_appendfsync_always_exits_before_acknowledging() {
    let dir = TempDir::new("aof-werr-always");
    let Some(mut p) = start_limited(&dir.path, &["--appendonly", "yes", "--appendfsync", "always"]) else { return };
    let aof = dir.join("appendonly.aof");
    let mut c = p.conn();
    assert_eq!(c.cmd(&["SET", "pad", &"p".repeat(16000)]), Reply::ok());
    let size = std::fs::metadata(&aof).map(|m| m.len()).unwrap_or(0);
    assert!(prlimit_fsize(p.pid, &(size + 10).to_string()));
    c.send(&["SET", "never-acked", &"v".repeat(100)]).unwrap_or_else(|e| panic!("{}", e));
    let r = c.read_reply();
    assert!(r.is_err(), "a write that did not reach the file was acknowledged: {:?}", r);
    let st = p.wait_exit(Duration::from_secs(5));
    assert_eq!(st.and_then(|s| s.code()), Some(1), "log:\n{}", p.log_text());
    assert!(p.log_text().contains("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting..."));
    // The partial write was cut back: the file loads as it is.
    assert_eq!(std::fs::metadata(&aof).map(|m| m.len()).unwrap_or(0), size);
    let p = start_aof(&dir.path, &["--aof-load-truncated", "no"]);
    let mut c = p.conn();
    assert_eq!(c.q("STRLEN pad").int(), 16000);
}

// ---------------------------------------------------------------------------
// kill -9 at random moments

struct Acked {
    /// Value of the last acknowledged INCR.
    incr: i64,
    /// Acknowledged SETs, with the time of the reply.
    sets: Vec<(String, Instant)>,
}

/// Writes INCR/SET pairs until the connection dies; returns what was acknowledged.
fn writer(port: u16, round: usize) -> Acked {
    let mut acked = Acked { incr: 0, sets: Vec::new() };
    let Ok(mut c) = Conn::try_connect(port) else { return acked };
    c.set_timeout(Duration::from_secs(5));
    for i in 0.. {
        if c.send(&["INCR", &format!("ctr:{}", round)]).is_err() {
            break;
        }
        match c.read_reply() {
            Ok(Reply::Int(n)) => acked.incr = n,
            _ => break,
        }
        let k = format!("k:{}:{}", round, i);
        if c.send(&["SET", &k, &i.to_string()]).is_err() {
            break;
        }
        match c.read_reply() {
            Ok(r) if r == Reply::ok() => acked.sets.push((k, Instant::now())),
            _ => break,
        }
    }
    acked
}

fn crash_rounds(policy: &str, rounds: usize, run_ms: (u64, u64), allowed_loss: Duration) {
    let dir = TempDir::new(&format!("aof-crash-{}", policy));
    let seed = now_ms() as u64;
    eprintln!("crash test {}: seed {}", policy, seed);
    let mut rng = common::Rng::new(seed);
    let mut history: Vec<(usize, Acked, Instant)> = Vec::new();
    for round in 0..rounds {
        let mut p = start_aof(&dir.path, &["--appendfsync", policy]);
        // Everything acknowledged in earlier rounds survived the crashes.
        let mut c = p.conn();
        for (r, acked, killed_at) in &history {
            let n: i64 = c.cmd(&["GET", &format!("ctr:{}", r)]).text().parse().unwrap_or(0);
            let mut lost = 0;
            for (k, at) in &acked.sets {
                let v = c.cmd(&["GET", k]);
                if v.is_error() || v == Reply::nil() {
                    assert!(*killed_at - *at < allowed_loss, "{} acknowledged {:?} before the kill is missing", k, *killed_at - *at);
                    lost += 1;
                }
            }
            if allowed_loss.is_zero() {
                // One INCR may have been in flight, never more.
                assert!(n == acked.incr || n == acked.incr + 1, "ctr:{} = {}, acknowledged {}", r, n, acked.incr);
            } else {
                assert!(n + lost as i64 + 1 >= acked.incr, "ctr:{} = {}, acknowledged {}", r, n, acked.incr);
            }
        }
        drop(c);
        let port = p.port;
        let w = std::thread::spawn(move || writer(port, round));
        std::thread::sleep(Duration::from_millis(run_ms.0 + rng.below(run_ms.1 - run_ms.0)));
        p.kill9();
        let killed_at = Instant::now();
        let acked = w.join().unwrap_or(Acked { incr: 0, sets: Vec::new() });
        assert!(acked.incr > 0, "round {}: nothing was acknowledged", round);
        history.push((round, acked, killed_at));
    }
    // Final check after the last crash.
    let p = start_aof(&dir.path, &[]);
    let mut c = p.conn();
    for (r, acked, killed_at) in &history {
        let n: i64 = c.cmd(&["GET", &format!("ctr:{}", r)]).text().parse().unwrap_or(0);
        if allowed_loss.is_zero() {
            assert!(n == acked.incr || n == acked.incr + 1, "ctr:{} = {}, acknowledged {}", r, n, acked.incr);
        }
        for (k, at) in &acked.sets {
            let v = c.cmd(&["GET", k]);
            if v == Reply::nil() {
                assert!(*killed_at - *at < allowed_loss, "{} acknowledged {:?} before the kill is missing", k, *killed_at - *at);
            }
        }
    }
}

/// Crash rounds: a short run in `make test`; `make test-slow` sets
/// OXREDIS_CRASH_ROUNDS for the long form.
fn crash_round_count(default: usize) -> usize {
    std::env::var("OXREDIS_CRASH_ROUNDS").ok().and_then(|v| v.parse().ok()).filter(|&n| n > 0).unwrap_or(default)
}

#[test]
fn kill9_loses_nothing_acknowledged_with_appendfsync_always() {
    crash_rounds("always", crash_round_count(4), (150, 600), Duration::ZERO);
}

#[test]
fn kill9_loses_at_most_about_two_seconds_with_everysec() {
    crash_rounds("everysec", crash_round_count(2), (1200, 2500), Duration::from_millis(2500));
}

// ---------------------------------------------------------------------------
// Interop with the reference redis-server (7.0: multi-part AOF in
// `appendonlydir/`, but it loads and migrates a 6.2-style single file).

fn start_ref(dir: &Path, args: &[&str]) -> Option<Proc> {
    if !common::reference_installed() {
        eprintln!("SKIPPED: redis-server not installed");
        return None;
    }
    match spawn(Bin::Ref, dir, args, false) {
        Ok(p) => Some(p),
        Err(f) => panic!("redis-server failed to start ({:?}):\n{}", f.status, f.log),
    }
}

/// The reference's files in manifest order (base, then incr), concatenated.
fn ref_aof_bytes(dir: &Path) -> Vec<u8> {
    let adir = dir.join("appendonlydir");
    let manifest = std::fs::read_to_string(adir.join("appendonly.aof.manifest")).unwrap_or_default();
    let mut base = Vec::new();
    let mut incr = Vec::new();
    for l in manifest.lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        let name = w.iter().position(|x| *x == "file").and_then(|i| w.get(i + 1));
        let ty = w.iter().position(|x| *x == "type").and_then(|i| w.get(i + 1));
        if let (Some(name), Some(ty)) = (name, ty) {
            let bytes = std::fs::read(adir.join(name)).unwrap_or_default();
            match *ty {
                "b" => base.extend(bytes),
                "i" => incr.extend(bytes),
                _ => {}
            }
        }
    }
    base.extend(incr);
    base
}

/// A script of writes over strings, lists and expires, run on both servers.
fn interop_script(c: &mut Conn) {
    for line in [
        "SET a 1",
        "SET b 2 EX 1000",
        "SETEX c 1000 v",
        "PSETEX d 1000000 v",
        "SET e v EXAT 9999999999",
        "SET e w KEEPTTL",
        "EXPIRE a 1000",
        "PEXPIRE a 1000000",
        "EXPIREAT b 9999999998",
        "INCRBYFLOAT f 1.5",
        "INCRBYFLOAT f 0.25",
        "GETEX f EX 1000",
        "GETEX f PERSIST",
        "GETEX f",
        "GETDEL nothing",
        "RPUSH l a b c d",
        "LPUSH l z",
        "LPOP l",
        "RPOPLPUSH l l2",
        "LMOVE l l2 LEFT LEFT",
        "LSET l 0 X",
        "LINSERT l BEFORE X W",
        "LREM l 0 nothing",
        "LTRIM l 0 10",
        "APPEND s hello",
        "SETRANGE s 10 x",
        "INCR n",
        "DECRBY n 5",
        "MSET m1 1 m2 2",
        "MSETNX m1 9 m3 3",
        "SETNX m4 4",
        "GETSET m4 5",
        "SETBIT bits 100 1",
        "DEL m2 nothing",
        "RENAME m1 m1b",
        "SELECT 4",
        "SET other db",
        "RPUSH l4 1 2 3",
        "EXPIRE other -1",
        "COPY l4 l4copy",
        "SELECT 0",
        "SET last 1",
    ] {
        let r = c.q(line);
        assert!(!r.is_error(), "{}: {:?}", line, r);
    }
}

/// Compares two command lists, allowing absolute times to differ a little.
fn same_commands(a: &[Vec<String>], b: &[Vec<String>]) -> Result<(), String> {
    if a.len() != b.len() {
        return Err(format!("{} commands vs {}", a.len(), b.len()));
    }
    for (x, y) in a.iter().zip(b) {
        let timed = x.first().map(|s| s.eq_ignore_ascii_case("PEXPIREAT")).unwrap_or(false)
            || x.get(3).map(|s| s == "PXAT").unwrap_or(false);
        let ok = x.len() == y.len()
            && x.iter().zip(y).enumerate().all(|(i, (p, q))| {
                if timed && i == x.len() - 1 {
                    match (p.parse::<i64>(), q.parse::<i64>()) {
                        (Ok(p), Ok(q)) => (p - q).abs() < 5000,
                        _ => p == q,
                    }
                } else {
                    p == q
                }
            });
        if !ok {
            return Err(format!("{} vs {}", cmd_text(x), cmd_text(y)));
        }
    }
    Ok(())
}

#[test]
fn same_feed_as_the_reference() {
    let rdir = TempDir::new("aof-ref-feed");
    let Some(r) = start_ref(&rdir.path, &["--appendonly", "yes", "--appendfsync", "always", "--aof-use-rdb-preamble", "no"]) else { return };
    let odir = TempDir::new("aof-ox-feed");
    let o = start_aof(&odir.path, &["--appendfsync", "always"]);
    let mut rc = r.conn();
    let mut oc = o.conn();
    interop_script(&mut rc);
    interop_script(&mut oc);
    for (p, c) in [(&r, &mut rc), (&o, &mut oc)] {
        // Blocking pops served at once and later; lazy expiry.
        let mut b = p.conn();
        c.q("RPUSH now x y");
        assert_eq!(c.q("BLPOP now 0").array().len(), 2);
        b.send(&["BRPOP", "later", "0"]).unwrap_or_else(|e| panic!("{}", e));
        wait_blocked(c, 1);
        c.q("RPUSH later a b");
        assert_eq!(b.read_reply().map(|r| r.array().len()).unwrap_or(0), 2);
        b.send(&["BLMOVE", "src", "dst", "RIGHT", "LEFT", "0"]).unwrap_or_else(|e| panic!("{}", e));
        wait_blocked(c, 1);
        c.q("LPUSH src m");
        assert_eq!(b.read_reply().unwrap_or(Reply::nil()), Reply::bulk("m"));
        assert_eq!(c.q("DEBUG SET-ACTIVE-EXPIRE 0"), Reply::ok());
        c.q("SET shortlived v PX 20");
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(c.q("GET shortlived"), Reply::nil());
    }
    assert_eq!(digest(&mut oc), digest(&mut rc));
    let theirs = parse_aof(&ref_aof_bytes(&rdir.path));
    let ours = read_aof(&odir.join("appendonly.aof"));
    if let Err(e) = same_commands(&ours, &theirs) {
        panic!(
            "feeds differ: {}\nours:\n{}\nredis:\n{}",
            e,
            ours.iter().map(|c| cmd_text(c)).collect::<Vec<_>>().join("\n"),
            theirs.iter().map(|c| cmd_text(c)).collect::<Vec<_>>().join("\n")
        );
    }
}

#[test]
fn oxredis_file_loads_in_the_reference_with_the_same_digest() {
    let dir = TempDir::new("aof-ox-to-ref");
    let mut o = start_aof(&dir.path, &[]);
    let mut c = o.conn();
    populate(&mut c, 50);
    interop_script(&mut c);
    let d = digest(&mut c);
    drop(c);
    o.shutdown();
    let Some(r) = start_ref(&dir.path, &["--appendonly", "yes", "--aof-use-rdb-preamble", "no"]) else { return };
    let mut c = r.conn();
    assert_eq!(c.q("DBSIZE").int() > 0, true, "log:\n{}", r.log_text());
    assert_eq!(digest(&mut c), d, "log:\n{}", r.log_text());
}

#[test]
fn reference_file_loads_in_oxredis_with_the_same_digest() {
    let rdir = TempDir::new("aof-ref-to-ox");
    let Some(mut r) = start_ref(&rdir.path, &["--appendonly", "yes", "--aof-use-rdb-preamble", "no"]) else { return };
    let mut c = r.conn();
    populate(&mut c, 50);
    // A rewrite puts the dataset into a base file in command form.
    assert!(!c.q("BGREWRITEAOF").is_error());
    let deadline = Instant::now() + Duration::from_secs(10);
    while info_field(&mut c, "persistence", "aof_rewrite_in_progress") != "0"
        || info_field(&mut c, "persistence", "aof_rewrite_scheduled") != "0"
    {
        assert!(Instant::now() < deadline, "rewrite did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
    interop_script(&mut c);
    let d = digest(&mut c);
    drop(c);
    r.shutdown();
    let bytes = ref_aof_bytes(&rdir.path);
    assert!(!bytes.starts_with(b"REDIS"), "the reference wrote an RDB preamble");
    let odir = TempDir::new("aof-ref-to-ox-2");
    std::fs::write(odir.join("appendonly.aof"), &bytes).unwrap_or_else(|e| panic!("{}", e));
    let o = start_aof(&odir.path, &["--aof-load-truncated", "no"]);
    let mut c = o.conn();
    assert_eq!(digest(&mut c), d);
}

// ---------------------------------------------------------------------------
// Serving clients while loading

/// Starts oxredis without waiting for it to be ready.
fn spawn_nowait(dir: &Path, args: &[&str]) -> Proc {
    let port = common::free_port();
    let log = dir.join(format!("server-{}.log", LOG_SEQ.fetch_add(1, Ordering::SeqCst)));
    let child = Command::new(OXREDIS)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""])
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(&log)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {}", e));
    let pid = child.id();
    Proc { child: Some(child), port, pid, log }
}

#[test]
fn clients_get_loading_while_the_aof_loads() {
    let dir = TempDir::new("aof-loading");
    let n = 4000;
    let mut bytes = aof_of(&["SELECT 0"]);
    for i in 0..n {
        bytes.extend_from_slice(&aof_of(&[&format!("SET key:{} {}", i, i)]));
    }
    std::fs::write(dir.join("appendonly.aof"), &bytes).unwrap_or_else(|e| panic!("{}", e));
    // 1 ms per command: about 4 s of loading, clients served every 1000.
    let p = spawn_nowait(&dir.path, &["--appendonly", "yes", "--key-load-delay", "1000"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut c = loop {
        if let Ok(c) = Conn::try_connect(p.port) {
            break c;
        }
        assert!(Instant::now() < deadline, "could not connect while loading");
        std::thread::sleep(Duration::from_millis(10));
    };
    let r = c.q("GET key:1");
    assert_eq!(r, Reply::err("LOADING Redis is loading the dataset in memory"));
    let info = c.q("INFO persistence").text();
    assert!(info.contains("loading:1"), "{}", info);
    for f in ["loading_start_time:", "loading_loaded_perc:", "loading_eta_seconds:"] {
        assert!(info.contains(f), "no {} in {}", f, info);
    }
    assert!(info.contains(&format!("loading_total_bytes:{}", bytes.len())), "{}", info);
    // Loading finishes; the same connection then works.
    assert!(p.wait_log("Ready to accept connections", Duration::from_secs(15)), "{}", p.log_text());
    assert_eq!(info_field(&mut c, "persistence", "loading"), "0");
    assert_eq!(c.q("DBSIZE").int(), n);
    assert_eq!(c.q(&format!("GET key:{}", n - 1)), Reply::bulk(&(n - 1).to_string()));
}

/// Writes queued in the same read as SHUTDOWN are still in the AOF buffer
/// when SHUTDOWN runs: it must flush them.
#[test]
fn shutdown_flushes_writes_pipelined_before_it() {
    let dir = TempDir::new("aof-shutdown-flush");
    for policy in ["no", "everysec", "always"] {
        let mut p = start_aof(&dir.path, &["--appendfsync", policy]);
        let mut c = p.conn();
        let mut pipe = Vec::new();
        for i in 0..200 {
            pipe.extend_from_slice(&Conn::encode(&["SET", &format!("{}:{}", policy, i), "v"]));
        }
        pipe.extend_from_slice(&Conn::encode(&["SHUTDOWN"]));
        c.send_raw(&pipe).unwrap_or_else(|e| panic!("{}", e));
        let st = p.wait_exit(Duration::from_secs(10));
        assert_eq!(st.and_then(|s| s.code()), Some(0), "{}", p.log_text());
        drop(c);
        let p = start_aof(&dir.path, &["--aof-load-truncated", "no"]);
        let mut c = p.conn();
        for i in [0, 199] {
            assert_eq!(c.q(&format!("EXISTS {}:{}", policy, i)).int(), 1, "{} lost with appendfsync {}", i, policy);
        }
    }
}

// ---------------------------------------------------------------------------
// Transactions (the rest of MULTI/EXEC is in tests/multi.rs)

/// Count of `MULTI` and `EXEC` commands, and whether every MULTI is closed
/// before the next one opens.
fn multi_blocks(cmds: &[Vec<String>]) -> (usize, usize, bool) {
    let (mut m, mut e, mut open, mut well_formed) = (0, 0, false, true);
    for c in cmds {
        if c[0].eq_ignore_ascii_case("multi") {
            m += 1;
            well_formed &= !open;
            open = true;
        } else if c[0].eq_ignore_ascii_case("exec") {
            e += 1;
            well_formed &= open;
            open = false;
        }
    }
    (m, e, well_formed && !open)
}

#[test]
fn transactions_are_wrapped_and_replay_after_restart() {
    let dir = TempDir::new("aof-multi");
    let mut p = start_aof(&dir.path, &["--appendfsync", "always"]);
    let mut c = p.conn();
    let script: &[&str] = &[
        "MULTI",
        "SET a 1",
        "INCR a",
        "RPUSH l x y z",
        "LPOP l",
        "EXEC",
        // Reads only: nothing in the file.
        "MULTI",
        "GET a",
        "LRANGE l 0 -1",
        "EXEC",
        "MULTI",
        "SELECT 3",
        "SADD s 1 2 3 4 5",
        "SPOP s 2",
        "SET t v EX 1000",
        "HSET h f 1 g 2",
        "HINCRBYFLOAT h f 0.5",
        "EXEC",
        "SELECT 0",
        // Discarded and aborted ones leave nothing.
        "MULTI",
        "SET gone 1",
        "DISCARD",
        "MULTI",
        "SET gone 1",
        "NOSUCHCOMMAND",
        "EXEC",
        "MULTI",
        "ZADD z 1 a 2 b 3 c",
        "ZPOPMIN z",
        "BLPOP l 0",
        "EXEC",
    ];
    for line in script {
        let _ = c.q(line);
    }
    let cmds = read_aof(&dir.join("appendonly.aof"));
    let (m, e, ok) = multi_blocks(&cmds);
    assert_eq!((m, e, ok), (3, 3, true), "{:?}", cmds.iter().map(|c| cmd_text(c)).collect::<Vec<_>>());
    assert!(!cmds.iter().any(|c| c.iter().any(|a| a == "gone")), "a discarded write reached the file");
    let d = digest(&mut c);
    drop(c);
    p.shutdown();
    let p = start_aof(&dir.path, &["--aof-load-truncated", "no"]);
    let mut c = p.conn();
    assert_eq!(digest(&mut c), d);
    assert_eq!(c.q("GET a"), Reply::bulk("2"));
    assert_eq!(c.q("LRANGE l 0 -1").array(), vec![Reply::bulk("z")]);
    assert_eq!(c.q("EXISTS gone").int(), 0);
    c.q("SELECT 3");
    assert_eq!(c.q("SCARD s").int(), 3);
    assert!(c.q("TTL t").int() > 900);
    // A crash right after an EXEC (appendfsync always) keeps it whole.
    c.q("SELECT 0");
    assert_eq!(c.q("MULTI"), Reply::ok());
    c.q("SET crash 1");
    c.q("INCR crash");
    assert_eq!(c.q("EXEC").array().len(), 2);
    let d = digest(&mut c);
    drop(c);
    let mut p = p;
    p.kill9();
    let p = start_aof(&dir.path, &["--aof-load-truncated", "no"]);
    let mut c = p.conn();
    assert_eq!(digest(&mut c), d);
    assert_eq!(c.q("GET crash"), Reply::bulk("2"));
}

#[test]
fn misconf_refuses_queueing_and_aborts_exec() {
    let dir = TempDir::new("aof-multi-misconf");
    let Some(p) = start_limited(&dir.path, &["--appendonly", "yes", "--appendfsync", "everysec"]) else { return };
    let aof = dir.join("appendonly.aof");
    let mut c = p.conn();
    let mut t = p.conn();
    assert_eq!(c.cmd(&["SET", "pad", &"p".repeat(16000)]), Reply::ok());
    // Queued before the write error: EXEC is a write, and is refused.
    assert_eq!(t.q("MULTI"), Reply::ok());
    assert_eq!(t.q("SET queued 1"), Reply::Status("QUEUED".into()));
    let size = std::fs::metadata(&aof).map(|m| m.len()).unwrap_or(0);
    assert!(prlimit_fsize(p.pid, &size.to_string()));
    assert_eq!(c.q("SET failing 1"), Reply::ok());
    assert_eq!(info_field(&mut c, "persistence", "aof_last_write_status"), "err");
    assert_eq!(
        t.q("EXEC"),
        Reply::err("EXECABORT Transaction discarded because of: MISCONF Errors writing to the AOF file: File too large")
    );
    assert_eq!(t.q("EXEC"), Reply::err("ERR EXEC without MULTI"));
    // A write refused while queueing dooms the transaction.
    assert_eq!(t.q("MULTI"), Reply::ok());
    assert_eq!(t.q("SET y 1"), Reply::err("MISCONF Errors writing to the AOF file: File too large"));
    assert_eq!(t.q("GET pad"), Reply::Status("QUEUED".into()));
    assert_eq!(t.q("EXEC"), Reply::err("EXECABORT Transaction discarded because of previous errors."));
    // Reads only still run.
    assert_eq!(t.q("MULTI"), Reply::ok());
    assert_eq!(t.q("EXISTS pad"), Reply::Status("QUEUED".into()));
    assert_eq!(t.q("EXEC"), Reply::Array(Some(vec![Reply::Int(1)])));
    assert!(prlimit_fsize(p.pid, "unlimited"));
    wait_write_status(&mut c, "ok");
    assert_eq!(t.q("MULTI"), Reply::ok());
    assert_eq!(t.q("SET y 1"), Reply::Status("QUEUED".into()));
    assert_eq!(t.q("EXEC"), Reply::Array(Some(vec![Reply::ok()])));
    assert_eq!(c.q("EXISTS queued").int(), 0);
}

#[test]
fn loading_refusals_doom_a_transaction() {
    let dir = TempDir::new("aof-multi-loading");
    let mut bytes = aof_of(&["SELECT 0"]);
    for i in 0..3000 {
        bytes.extend_from_slice(&aof_of(&[&format!("SET key:{} {}", i, i)]));
    }
    std::fs::write(dir.join("appendonly.aof"), &bytes).unwrap_or_else(|e| panic!("{}", e));
    let p = spawn_nowait(&dir.path, &["--appendonly", "yes", "--key-load-delay", "1000"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut c = loop {
        if let Ok(c) = Conn::try_connect(p.port) {
            break c;
        }
        assert!(Instant::now() < deadline, "could not connect while loading");
        std::thread::sleep(Duration::from_millis(10));
    };
    // MULTI, DISCARD and EXEC may run while loading; the commands may not.
    assert_eq!(c.q("MULTI"), Reply::ok());
    assert_eq!(c.q("GET key:1"), Reply::err("LOADING Redis is loading the dataset in memory"));
    assert_eq!(c.q("EXEC"), Reply::err("EXECABORT Transaction discarded because of previous errors."));
    assert_eq!(c.q("MULTI"), Reply::ok());
    assert_eq!(c.q("DISCARD"), Reply::ok());
    assert!(p.wait_log("Ready to accept connections", Duration::from_secs(15)), "{}", p.log_text());
    assert_eq!(c.q("MULTI"), Reply::ok());
    assert_eq!(c.q("GET key:1"), Reply::Status("QUEUED".into()));
    assert_eq!(c.q("EXEC"), Reply::Array(Some(vec![Reply::bulk("1")])));
}

/// A busy disk (every background fsync first sleeps 3 s, through the
/// oxredis-only `DEBUG AOF-FSYNC-SLEEP`): with everysec the writes wait up
/// to 2 s for the running fsync, then go out without waiting, counted in
/// `aof_delayed_fsync` and logged as Redis logs it. Clients keep being
/// served, and after SHUTDOWN and a restart every write is there.
#[test]
fn everysec_writes_past_a_slow_fsync_after_two_seconds() {
    let dir = TempDir::new("aof-delayed-fsync");
    let mut p = start_aof(&dir.path, &["--appendfsync", "everysec"]);
    let mut c = p.conn();
    assert_eq!(c.cmd(&["DEBUG", "AOF-FSYNC-SLEEP", "3000000"]), Reply::ok());
    let start = Instant::now();
    let mut n = 0;
    let mut saw_pending = false;
    while start.elapsed() < Duration::from_secs(7) {
        assert_eq!(c.cmd(&["SET", &format!("k{}", n), "v"]), Reply::ok());
        n += 1;
        saw_pending |= info_field(&mut c, "persistence", "aof_pending_bio_fsync") != "0";
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(saw_pending, "no background fsync was ever seen pending");
    let delayed: u64 = info_field(&mut c, "persistence", "aof_delayed_fsync").parse().unwrap_or(0);
    assert!(delayed >= 1, "aof_delayed_fsync = {}; log:\n{}", delayed, p.log_text());
    assert!(p.log_text().contains("Asynchronous AOF fsync is taking too long (disk is busy?)"), "log:\n{}", p.log_text());
    assert_eq!(c.cmd(&["DEBUG", "AOF-FSYNC-SLEEP", "0"]), Reply::ok());
    p.shutdown();
    let p = start_aof(&dir.path, &["--appendfsync", "everysec"]);
    let mut c = p.conn();
    assert_eq!(c.cmd(&["DBSIZE"]).int(), n as i64);
    assert_eq!(c.cmd(&["GET", &format!("k{}", n - 1)]), Reply::bulk("v"));
}
