//! The background AOF rewrite (BGREWRITEAOF, auto-rewrite, CONFIG SET
//! appendonly yes) against Redis 6.2's behaviour and its failure modes:
//!
//! - results: a rewrite under a heavy write load from another thread
//!   reloads (DEBUG LOADAOF, restart) to the dataset the parent had; every
//!   type and encoding, small and big, batched by 64; the file loads in the
//!   reference redis-server with the same digest;
//! - the mechanism: while the child is slow the parent holds the six pipe
//!   ends and `aof_rewrite_buffer_length` grows past a 10 MiB block; the
//!   final file reloads to what a fresh rewrite of the same data gives;
//! - control: refused while one runs, CONFIG SET appendonly no and
//!   SHUTDOWN kill the child (the process is gone, temp files removed),
//!   the auto-rewrite rule, a failed `wait_rewrite` rewrite retried by the
//!   cron, stale temp files removed at start;
//! - faults: the child SIGKILLed, the child unable to write (RLIMIT_FSIZE),
//!   the parent killed mid-rewrite then restarted, and a parent that never
//!   answers the stop handshake (SIGSTOP for longer than the child's 5 s).
//!   In each case nothing acknowledged is lost, the server keeps serving
//!   and the next rewrite succeeds;
//! - INFO persistence/stats fields and LATENCY.
//!
//! The slow child comes from `rdb-key-save-delay` (µs per key in the
//! child), as in Redis's own tests.

mod common;

use common::{Conn, Reply, TempDir, OXREDIS};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Process handling: servers restart in the same directory.

static LOG_SEQ: AtomicUsize = AtomicUsize::new(0);

struct Proc {
    child: Option<Child>,
    port: u16,
    pid: u32,
    log: PathBuf,
}

fn spawn(exe: &str, dir: &Path, port: Option<u16>, args: &[&str], ignore_xfsz: bool) -> Proc {
    for _ in 0..5 {
        let port = port.unwrap_or_else(common::free_port);
        let log = dir.join(format!("server-{}.log", LOG_SEQ.fetch_add(1, Ordering::SeqCst)));
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
        if exe == "redis-server" {
            argv.extend(["--enable-debug-command".into(), "yes".into()]);
        }
        argv.extend(args.iter().map(|s| s.to_string()));
        let mut cmd = if ignore_xfsz {
            // An ignored signal stays ignored across exec and fork: writes
            // past RLIMIT_FSIZE then fail with EFBIG instead of killing.
            let mut c = Command::new("sh");
            c.arg("-c").arg("trap '' XFSZ; exec \"$0\" \"$@\"").arg(exe).args(&argv);
            c
        } else {
            let mut c = Command::new(exe);
            c.args(&argv);
            c
        };
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {}: {}", exe, e));
        let pid = child.id();
        let mut p = Proc { child: Some(child), port, pid, log };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = p.log_text();
            if text.contains("Ready to accept connections") {
                return p;
            }
            let exited = p.child.as_mut().and_then(|c| c.try_wait().ok().flatten()).is_some();
            if exited {
                p.child = None;
                if text.contains("Address already in use") {
                    break;
                }
                panic!("{} exited at start:\n{}", exe, text);
            }
            assert!(Instant::now() < deadline, "server did not become ready:\n{}", text);
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    panic!("could not start {} on a free port", exe);
}

fn start(dir: &Path, args: &[&str]) -> Proc {
    spawn(OXREDIS, dir, None, args, false)
}

fn start_aof(dir: &Path, extra: &[&str]) -> Proc {
    let mut a = vec!["--appendonly", "yes"];
    a.extend_from_slice(extra);
    start(dir, &a)
}

impl Proc {
    fn conn(&self) -> Conn {
        let mut c = Conn::connect(self.port);
        c.set_timeout(Duration::from_secs(30));
        c
    }
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
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
    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
    fn wait_exit(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(_)) = c.try_wait() {
                    self.child = None;
                    return true;
                }
            } else {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }
    fn shutdown(&mut self) {
        let mut c = self.conn();
        let _ = c.send(&["SHUTDOWN"]);
        assert!(self.wait_exit(Duration::from_secs(20)), "no exit after SHUTDOWN:\n{}", self.log_text());
    }
    /// The pid of the last rewrite child, from the log.
    fn rewrite_child_pid(&self) -> u32 {
        let text = self.log_text();
        let line = text
            .lines()
            .filter(|l| l.contains("Background append only file rewriting started by pid "))
            .last()
            .unwrap_or_else(|| panic!("no rewrite child in the log:\n{}", text));
        line.rsplit(' ').next().and_then(|p| p.trim().parse().ok()).unwrap_or_else(|| panic!("bad line {}", line))
    }
    fn count_log(&self, needle: &str) -> usize {
        self.log_text().matches(needle).count()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill").arg(format!("-{}", sig)).arg(pid.to_string()).status();
}

fn pid_alive(pid: u32) -> bool {
    // A zombie still has /proc/<pid>; its state is Z.
    match std::fs::read_to_string(format!("/proc/{}/stat", pid)) {
        Ok(s) => s.rsplit(')').next().map(|r| !r.trim_start().starts_with('Z')).unwrap_or(false),
        Err(_) => false,
    }
}

fn wait_pid_gone(pid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if !pid_alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// File descriptors of `pid` that are pipes.
fn pipe_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", pid))
        .map(|d| {
            d.flatten()
                .filter(|e| std::fs::read_link(e.path()).map(|l| l.to_string_lossy().starts_with("pipe:")).unwrap_or(false))
                .count()
        })
        .unwrap_or(0)
}

fn temp_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.starts_with("temp-rewriteaof-")).collect())
        .unwrap_or_default();
    v.sort();
    v
}

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

// ---------------------------------------------------------------------------
// Client helpers

fn info_field(c: &mut Conn, section: &str, name: &str) -> String {
    c.info_field(section, name)
}

fn info_u64(c: &mut Conn, section: &str, name: &str) -> u64 {
    info_field(c, section, name).parse().unwrap_or_else(|_| panic!("{} is not a number", name))
}

fn digest(c: &mut Conn) -> String {
    c.cmd(&["DEBUG", "DIGEST"]).text()
}

fn wait_rewrite_done(c: &mut Conn, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while info_field(c, "persistence", "aof_rewrite_in_progress") != "0"
        || info_field(c, "persistence", "aof_rewrite_scheduled") != "0"
    {
        assert!(Instant::now() < deadline, "the AOF rewrite did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_rewrite_running(c: &mut Conn) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while info_field(c, "persistence", "aof_rewrite_in_progress") != "1" {
        assert!(Instant::now() < deadline, "no rewrite started");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn bgrewriteaof_ok(c: &mut Conn) {
    assert_eq!(c.q("BGREWRITEAOF"), Reply::Status("Background append only file rewriting started".into()));
}

/// Where an AOF's RDB preamble ends (0 without one): the loader's own
/// parser walks it to the EOF opcode and checksum.
fn preamble_len(bytes: &[u8]) -> usize {
    use oxredis::rdb_load::{Item, Limits, RdbParser, RdbReader};
    if !bytes.starts_with(b"REDIS") {
        return 0;
    }
    let lim = Limits::from_config(&oxredis::config::Config::with_defaults());
    let mut p = RdbParser::new(RdbReader::new(bytes, bytes.len() as u64, true), lim);
    p.read_header().unwrap_or_else(|e| panic!("preamble header: {}", e));
    loop {
        match p.next_item().unwrap_or_else(|e| panic!("preamble: {}", e)) {
            Item::Eof { stored, computed } => {
                assert_eq!(stored, Some(computed), "preamble checksum");
                return p.r.offset() as usize;
            }
            _ => continue,
        }
    }
}

/// Splits an AOF into commands (those after the RDB preamble, if any).
fn parse_aof(bytes: &[u8]) -> Vec<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut i = preamble_len(bytes);
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
            cmd.push(bytes[i..i + len].to_vec());
            i += len + 2;
        }
        out.push(cmd);
    }
    out
}

/// A writer thread: pipelined batches of mixed writes until `stop`.
/// Returns the number of acknowledged writes.
fn writer(port: u16, stop: Arc<AtomicBool>, acked: Arc<AtomicU64>, seed: u64, big: bool) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut c = Conn::connect(port);
        c.set_timeout(Duration::from_secs(60));
        let mut rng = common::Rng::new(seed);
        let big_val = "v".repeat(16 * 1024);
        while !stop.load(Ordering::Relaxed) {
            let mut batch = Vec::new();
            let n = 64;
            for _ in 0..n {
                let k = rng.below(2000);
                let cmd: Vec<String> = match rng.below(9) {
                    0 => vec!["SET".into(), format!("w:s:{}", k), if big { big_val.clone() } else { format!("val{}", rng.next()) }],
                    1 => vec!["INCRBY".into(), format!("w:n:{}", k), (rng.below(100) as i64 - 50).to_string()],
                    2 => vec!["RPUSH".into(), format!("w:l:{}", k % 50), format!("e{}", rng.below(1000))],
                    3 => vec!["SADD".into(), format!("w:set:{}", k % 50), format!("m{}", rng.below(300))],
                    4 => vec!["HSET".into(), format!("w:h:{}", k % 50), format!("f{}", rng.below(200)), format!("{}", rng.next())],
                    5 => vec!["ZADD".into(), format!("w:z:{}", k % 50), format!("{}", rng.below(1000) as f64 / 7.0), format!("m{}", rng.below(300))],
                    6 => vec!["DEL".into(), format!("w:s:{}", k)],
                    7 => vec!["EXPIRE".into(), format!("w:s:{}", k), "100000".into()],
                    _ => vec!["LPOP".into(), format!("w:l:{}", k % 50)],
                };
                batch.extend_from_slice(&Conn::encode(&cmd));
            }
            if c.send_raw(&batch).is_err() {
                return;
            }
            for _ in 0..n {
                match c.read_reply() {
                    Ok(r) => {
                        assert!(!r.is_error(), "write failed: {:?}", r);
                        acked.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => return,
                }
            }
        }
    })
}

/// Keys of every type and encoding, small and big, with TTLs, in three dbs.
fn fill_every_type(c: &mut Conn) {
    for db in ["0", "5", "15"] {
        c.cmd(&["SELECT", db]);
        c.cmd(&["SET", "str:int", "12345"]);
        c.cmd(&["SET", "str:embstr", "hello"]);
        c.cmd(&["SET", "str:raw", &"r".repeat(300)]);
        c.cmd(&["SET", "str:big", &"B".repeat(200_000)]);
        c.cmd(&["SET", "str:ttl", "x", "PX", "100000000"]);
        c.cmd(&[&b"SET"[..], b"bin\x00\r\n$key", b"\xff\x00\r\n*1\r\n"]);
        c.cmd(&["RPUSH", "list:small", "a", "1", "-2", "bbb"]);
        let items: Vec<String> = (0..700).map(|i| if i % 3 == 0 { i.to_string() } else { format!("item-{}", i) }).collect();
        let mut a = vec!["RPUSH".to_string(), "list:big".into()];
        a.extend(items.iter().cloned());
        c.cmd(&a);
        c.cmd(&["RPUSH", "list:bigval", &"L".repeat(10_000), "x"]);
        c.cmd(&["HSET", "hash:zl", "f1", "v1", "f2", "2"]);
        let mut a = vec!["HSET".to_string(), "hash:ht".into()];
        for i in 0..600 {
            a.push(format!("field:{}", i));
            a.push(format!("value:{}", i * 3));
        }
        c.cmd(&a);
        c.cmd(&["HSET", "hash:bigval", "f", &"H".repeat(5000)]);
        c.cmd(&["SADD", "set:int", "1", "2", "3", "-100", "9223372036854775807"]);
        let mut a = vec!["SADD".to_string(), "set:intbig".into()];
        a.extend((0..600).map(|i| (i * 7).to_string()));
        c.cmd(&a);
        let mut a = vec!["SADD".to_string(), "set:ht".into()];
        a.extend((0..200).map(|i| format!("member-{}", i)));
        c.cmd(&a);
        c.cmd(&["ZADD", "zset:zl", "1", "a", "2.5", "b", "-3", "c", "inf", "d", "-inf", "e"]);
        let mut a = vec!["ZADD".to_string(), "zset:sl".into()];
        for i in 0..300 {
            a.push(format!("{}", i as f64 / 3.0));
            a.push(format!("zm:{}", i));
        }
        c.cmd(&a);
        c.cmd(&["ZADD", "zset:bigmember", "1", &"Z".repeat(100)]);
        c.cmd(&["PEXPIRE", "hash:ht", "500000000"]);
        c.cmd(&["PEXPIRE", "zset:sl", "500000000"]);
        c.cmd(&["EXPIRE", "list:big", "500000"]);
    }
    c.cmd(&["SELECT", "0"]);
}

const TYPE_KEYS: &[&str] = &[
    "str:int", "str:embstr", "str:raw", "str:big", "str:ttl", "list:small", "list:big", "list:bigval", "hash:zl", "hash:ht",
    "hash:bigval", "set:int", "set:intbig", "set:ht", "zset:zl", "zset:sl", "zset:bigmember",
];

fn encodings(c: &mut Conn) -> Vec<String> {
    let mut v = Vec::new();
    for db in ["0", "5", "15"] {
        c.cmd(&["SELECT", db]);
        for k in TYPE_KEYS {
            v.push(format!("{}/{}={}", db, k, c.cmd(&["OBJECT", "ENCODING", k]).text()));
        }
    }
    c.cmd(&["SELECT", "0"]);
    v
}

// ---------------------------------------------------------------------------
// Results

#[test]
fn rewrite_under_heavy_write_load_reloads_to_the_same_dataset() {
    let dir = TempDir::new("aofrw-load");
    let mut p = start_aof(&dir.path, &["--appendfsync", "everysec"]);
    let mut c = p.conn();
    assert_eq!(c.q("DEBUG POPULATE 100000"), Reply::ok());
    fill_every_type(&mut c);
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicU64::new(0));
    let writers: Vec<_> =
        (0..2).map(|i| writer(p.port, Arc::clone(&stop), Arc::clone(&acked), 7 + i, false)).collect();
    std::thread::sleep(Duration::from_millis(200));
    // A child slow enough that the writers keep feeding it diff.
    assert_eq!(c.q("CONFIG SET rdb-key-save-delay -5"), Reply::ok());
    for round in 0..2 {
        let before = acked.load(Ordering::Relaxed);
        bgrewriteaof_ok(&mut c);
        wait_rewrite_done(&mut c, Duration::from_secs(120));
        let during = acked.load(Ordering::Relaxed) - before;
        assert!(during > 1000, "round {}: only {} writes during the rewrite", round, during);
        assert_eq!(info_field(&mut c, "persistence", "aof_last_bgrewrite_status"), "ok");
    }
    // More writes on the new file, then stop.
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().expect("writer thread");
    }
    let log = p.log_text();
    assert!(log.contains("AOF rewrite child asks to stop sending diffs."), "{}", log);
    assert!(log.contains("Residual parent diff successfully flushed to the rewritten AOF"), "{}", log);
    let d = digest(&mut c);
    assert_ne!(d, "0000000000000000000000000000000000000000");
    assert_eq!(c.q("DEBUG LOADAOF"), Reply::ok());
    assert_eq!(digest(&mut c), d, "DEBUG LOADAOF after rewrites under load");
    drop(c);
    p.shutdown();
    let p = start_aof(&dir.path, &[]);
    let mut c = p.conn();
    assert_eq!(digest(&mut c), d, "restart after rewrites under load");
}

#[test]
fn every_type_and_encoding_small_and_big() {
    let dir = TempDir::new("aofrw-types");
    let p = start_aof(&dir.path, &["--aof-use-rdb-preamble", "no"]);
    let mut c = p.conn();
    fill_every_type(&mut c);
    let enc = encodings(&mut c);
    for want in ["str:int=int", "str:embstr=embstr", "str:raw=raw", "list:small=quicklist", "hash:zl=ziplist", "hash:ht=hashtable", "set:int=intset", "set:intbig=hashtable", "set:ht=hashtable", "zset:zl=ziplist", "zset:sl=skiplist"] {
        assert!(enc.iter().any(|e| e.ends_with(want)), "{} not among {:?}", want, enc);
    }
    let d = digest(&mut c);
    bgrewriteaof_ok(&mut c);
    wait_rewrite_done(&mut c, Duration::from_secs(30));
    // The file is the minimal form: one SELECT per db, variadic commands of
    // at most 64 items, PEXPIREAT for TTLs, nothing else.
    let cmds = parse_aof(&std::fs::read(dir.join("appendonly.aof")).expect("aof"));
    let mut selects = 0;
    for cmd in &cmds {
        let name = String::from_utf8_lossy(&cmd[0]).to_string();
        match name.as_str() {
            "SELECT" => selects += 1,
            "SET" => assert_eq!(cmd.len(), 3),
            "RPUSH" | "SADD" => assert!(cmd.len() >= 3 && cmd.len() <= 2 + 64, "{} with {} args", name, cmd.len()),
            "HMSET" | "ZADD" => assert!(cmd.len() >= 4 && cmd.len() <= 2 + 128 && cmd.len() % 2 == 0, "{} with {} args", name, cmd.len()),
            "PEXPIREAT" => assert_eq!(cmd.len(), 3),
            other => panic!("unexpected command {} in a rewritten AOF", other),
        }
    }
    assert_eq!(selects, 3);
    let rpush_big = cmds.iter().filter(|c| c[0] == b"RPUSH" && c[1] == b"list:big").count();
    assert_eq!(rpush_big, 3 * 700_usize.div_ceil(64));
    assert_eq!(cmds.iter().filter(|c| c[0] == b"PEXPIREAT").count(), 3 * 4);
    reloads_everywhere(p, c, &dir, &d, &enc);
}

/// The rewritten AOF in `dir` gives digest `d` and encodings `enc` after
/// DEBUG LOADAOF, after a restart, and (when installed) in redis-server.
fn reloads_everywhere(mut p: Proc, mut c: Conn, dir: &TempDir, d: &str, enc: &[String]) {
    assert_eq!(c.q("DEBUG LOADAOF"), Reply::ok());
    assert_eq!(digest(&mut c), d);
    assert_eq!(encodings(&mut c), enc);
    drop(c);
    p.shutdown();
    let mut p = start_aof(&dir.path, &[]);
    let mut c = p.conn();
    assert_eq!(digest(&mut c), d);
    assert_eq!(encodings(&mut c), enc);
    drop(c);
    p.shutdown();
    if !common::reference_installed() {
        eprintln!("SKIPPED: redis-server not installed");
        return;
    }
    // Redis 7.0 takes a single-file AOF (with or without a preamble) as
    // its base.
    let rdir = TempDir::new("aofrw-ref-load");
    std::fs::copy(dir.join("appendonly.aof"), rdir.join("appendonly.aof")).expect("copy");
    let r = spawn("redis-server", &rdir.path, None, &["--appendonly", "yes"], false);
    let mut rc = r.conn();
    assert_eq!(digest(&mut rc), d, "the reference loads our rewrite to the same dataset");
}

#[test]
fn preamble_rewrite_of_every_type_reloads_here_and_in_the_reference() {
    let dir = TempDir::new("aofrw-preamble");
    let p = start_aof(&dir.path, &["--aof-use-rdb-preamble", "yes"]);
    let mut c = p.conn();
    fill_every_type(&mut c);
    let enc = encodings(&mut c);
    let d = digest(&mut c);
    bgrewriteaof_ok(&mut c);
    wait_rewrite_done(&mut c, Duration::from_secs(30));
    // Writes after the rewrite go to the AOF tail, after the snapshot.
    c.q("SELECT 0");
    c.q("SET after-rewrite 1");
    c.q("DEL after-rewrite");
    let bytes = std::fs::read(dir.join("appendonly.aof")).expect("aof");
    assert!(bytes.starts_with(b"REDIS0009"), "no RDB preamble: {:?}", &bytes[..bytes.len().min(16)]);
    let tail = parse_aof(&bytes);
    assert!(tail.iter().any(|c| c[0].eq_ignore_ascii_case(b"set") && c[1] == b"after-rewrite"), "tail: {} commands", tail.len());
    reloads_everywhere(p, c, &dir, &d, &enc);
}

#[test]
fn redis_7_base_rdb_and_incr_aof_load_as_one_preamble_aof() {
    if !common::reference_installed() {
        eprintln!("SKIPPED: redis-server not installed");
        return;
    }
    // Redis 7.0 keeps a rewritten AOF as an RDB base file plus an incr
    // file of commands: together they are exactly a 6.2 preamble AOF.
    let rdir = TempDir::new("aofrw-ref7-base");
    let r = spawn("redis-server", &rdir.path, None, &["--appendonly", "yes"], false);
    let mut rc = r.conn();
    fill_every_type(&mut rc);
    bgrewriteaof_ok(&mut rc);
    wait_rewrite_done(&mut rc, Duration::from_secs(30));
    rc.q("SELECT 1");
    rc.q("RPUSH after-base a b c");
    rc.q("INCR counter");
    let d = digest(&mut rc);
    drop(rc);
    drop(r);
    // The manifest names the current base and incr files (older ones may
    // still be on disk): lines "file <name> seq <n> type b|i".
    let adir = rdir.join("appendonlydir");
    let manifest = std::fs::read_to_string(adir.join("appendonly.aof.manifest")).expect("manifest");
    let file_of = |t: &str| -> PathBuf {
        let line = manifest.lines().filter(|l| l.ends_with(&format!("type {}", t))).last().expect("manifest line");
        adir.join(line.split(' ').nth(1).expect("file name"))
    };
    let (base, incr) = (file_of("b"), file_of("i"));
    let mut bytes = std::fs::read(base).expect("base");
    assert!(bytes.starts_with(b"REDIS0010"));
    bytes.extend(std::fs::read(incr).expect("incr"));
    let dir = TempDir::new("aofrw-ref7-base-ox");
    std::fs::write(dir.join("appendonly.aof"), &bytes).expect("write");
    let p = start_aof(&dir.path, &[]);
    let mut c = p.conn();
    assert_eq!(digest(&mut c), d, "oxredis loads Redis 7's base + incr to the same dataset");
    assert!(p.log_text().contains("Reading the remaining AOF tail..."));
}

// ---------------------------------------------------------------------------
// The mechanism

#[test]
fn slow_child_parent_holds_pipes_and_buffers_the_diff_in_10mib_blocks() {
    let dir = TempDir::new("aofrw-mech");
    let p = start_aof(&dir.path, &["--appendfsync", "no"]);
    let mut c = p.conn();
    assert_eq!(c.q("DEBUG POPULATE 12000"), Reply::ok());
    fill_every_type(&mut c);
    let pipes_before = pipe_fds(p.pid);
    assert_eq!(info_u64(&mut c, "persistence", "aof_rewrite_buffer_length"), 0);
    // 1 ms per key: the child reads the diff rarely and slowly.
    assert_eq!(c.q("CONFIG SET rdb-key-save-delay 1000"), Reply::ok());
    bgrewriteaof_ok(&mut c);
    wait_rewrite_running(&mut c);
    let child = p.rewrite_child_pid();
    assert!(pid_alive(child));
    // The child names itself (right after the fork).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let comm = std::fs::read_to_string(format!("/proc/{}/comm", child)).unwrap_or_default();
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", child)).unwrap_or_default();
        if comm.trim() == "oxredis-aof-rew" && cmdline.starts_with(b"oxredis-aof-rewrite") {
            break;
        }
        assert!(Instant::now() < deadline, "child title: {:?} / {:?}", comm, String::from_utf8_lossy(&cmdline));
        std::thread::sleep(Duration::from_millis(5));
    }
    // Data, two acks, and the child-info pipe.
    let pipes_during = pipe_fds(p.pid);
    assert!(pipes_during >= pipes_before + 6 + 2, "pipe fds {} -> {}", pipes_before, pipes_during);

    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicU64::new(0));
    let w = writer(p.port, Arc::clone(&stop), Arc::clone(&acked), 99, true);
    // Samples of (rewrite buffer, mem_aof_buffer, rewrite in progress)
    // from one INFO each, while the rewrite runs.
    let mut samples = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let field = |text: &str, name: &str| -> u64 {
        text.lines().find_map(|l| l.strip_prefix(&format!("{}:", name))).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
    };
    loop {
        let text = c.cmd(&["INFO"]).text();
        let s = (field(&text, "aof_rewrite_buffer_length"), field(&text, "mem_aof_buffer"), field(&text, "aof_rewrite_in_progress"));
        if s.2 == 1 {
            samples.push(s);
        }
        if s.2 == 0 || s.0 > 12 * 1024 * 1024 || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, Ordering::Relaxed);
    w.join().expect("writer");
    let lens: Vec<u64> = samples.iter().map(|s| s.0).collect();
    let max = lens.iter().copied().max().unwrap_or(0);
    assert!(max > 10 * 1024 * 1024, "the rewrite buffer never passed one 10 MiB block while the child ran: {:?}", lens);
    assert!(lens.windows(2).filter(|w| w[1] > w[0]).count() >= 2, "buffer did not grow: {:?}", lens);
    assert!(samples.iter().any(|s| s.1 > 10 * 1024 * 1024), "mem_aof_buffer counts the rewrite buffer");
    let total = info_u64(&mut c, "persistence", "current_save_keys_total");
    let cur = info_field(&mut c, "persistence", "aof_current_rewrite_time_sec").parse::<i64>().unwrap_or(-2);
    if info_field(&mut c, "persistence", "aof_rewrite_in_progress") == "1" {
        assert!(total > 12000, "current_save_keys_total {}", total);
        assert!((0..120).contains(&cur), "aof_current_rewrite_time_sec {}", cur);
    }

    wait_rewrite_done(&mut c, Duration::from_secs(120));
    assert_eq!(info_field(&mut c, "persistence", "aof_last_bgrewrite_status"), "ok");
    assert_eq!(info_u64(&mut c, "persistence", "aof_rewrite_buffer_length"), 0);
    assert!(wait_pid_gone(child, Duration::from_secs(5)));
    assert_eq!(pipe_fds(p.pid), pipes_before, "pipes closed after the rewrite");
    assert!(p.log_text().contains("Residual parent diff successfully flushed to the rewritten AOF"));
    let d = digest(&mut c);
    assert_eq!(c.q("DEBUG LOADAOF"), Reply::ok());
    assert_eq!(digest(&mut c), d, "the file made under load reloads to the dataset");
    // A fresh, quiet rewrite of the same data reloads to the same dataset.
    assert_eq!(c.q("CONFIG SET rdb-key-save-delay 0"), Reply::ok());
    let under_load = std::fs::metadata(dir.join("appendonly.aof")).map(|m| m.len()).unwrap_or(0);
    bgrewriteaof_ok(&mut c);
    wait_rewrite_done(&mut c, Duration::from_secs(60));
    let fresh = std::fs::metadata(dir.join("appendonly.aof")).map(|m| m.len()).unwrap_or(0);
    assert!(fresh <= under_load, "fresh {} vs under load {}", fresh, under_load);
    assert_eq!(c.q("DEBUG LOADAOF"), Reply::ok());
    assert_eq!(digest(&mut c), d, "a fresh rewrite gives the same dataset");
    assert!(temp_files(&dir.path).is_empty());
}

// ---------------------------------------------------------------------------
// Control

#[test]
fn bgrewriteaof_replies_and_refuses_a_second_one() {
    let dir = TempDir::new("aofrw-refuse");
    let p = start(&dir.path, &[]);
    let mut c = p.conn();
    assert_eq!(c.q("DEBUG POPULATE 2000"), Reply::ok());
    assert_eq!(c.q("CONFIG SET rdb-key-save-delay 500"), Reply::ok());
    // With AOF off it is a one-time rewrite.
    bgrewriteaof_ok(&mut c);
    let second = c.q("BGREWRITEAOF");
    assert_eq!(second, Reply::Error("ERR Background append only file rewriting already in progress".into()));
    assert_eq!(info_field(&mut c, "persistence", "aof_rewrite_in_progress"), "1");
    assert_eq!(c.q("DBSIZE").int(), 2000, "the server serves during the rewrite");
    // Switching AOF on restarts the rewrite: the running one does not
    // accumulate the diff.
    let first = p.rewrite_child_pid();
    assert_eq!(c.q("CONFIG SET appendonly yes"), Reply::ok());
    assert!(p.wait_log("Stopping background AOF and starting a rewrite now", Duration::from_secs(5)));
    assert!(wait_pid_gone(first, Duration::from_secs(5)));
    assert_ne!(p.rewrite_child_pid(), first);
    // wait_rewrite: nothing is written to the file until the rewrite ends.
    c.q("SET during-wait 1");
    assert_eq!(std::fs::metadata(dir.join("appendonly.aof")).map(|m| m.len()).unwrap_or(0), 0);
    assert_eq!(c.q("CONFIG SET rdb-key-save-delay 0"), Reply::ok());
    wait_rewrite_done(&mut c, Duration::from_secs(60));
    c.q("SET after-on 1");
    // With everysec a write waits (up to 2 s) while a background fsync is
    // still running, as in Redis: poll for it.
    let deadline = Instant::now() + Duration::from_secs(5);
    let cmds = loop {
        let cmds = parse_aof(&std::fs::read(dir.join("appendonly.aof")).expect("aof"));
        if cmds.iter().any(|c| c[0] == b"SET" && c[1] == b"after-on") || Instant::now() > deadline {
            break cmds;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(cmds.iter().any(|c| c[0] == b"SET" && c[1] == b"during-wait"), "the diff reached the file");
    assert!(cmds.iter().any(|c| c[0] == b"SET" && c[1] == b"after-on"));
    assert_eq!(info_field(&mut c, "persistence", "aof_last_bgrewrite_status"), "ok");
    assert!(info_u64(&mut c, "stats", "total_forks") >= 2);

    // The same replies as the reference.
    let Some(r) = (if common::reference_installed() {
        let rdir = TempDir::new("aofrw-refuse-ref");
        let r = spawn("redis-server", &rdir.path, None, &["--rdb-key-save-delay", "500"], false);
        Some((r, rdir))
    } else {
        None
    }) else {
        return;
    };
    let mut rc = r.0.conn();
    assert_eq!(rc.q("DEBUG POPULATE 2000"), Reply::ok());
    bgrewriteaof_ok(&mut rc);
    assert_eq!(rc.q("BGREWRITEAOF"), second);
}

#[test]
fn appendonly_no_kills_the_child_and_removes_its_files() {
    let dir = TempDir::new("aofrw-off");
    let p = start_aof(&dir.path, &[]);
    let mut c = p.conn();
    assert_eq!(c.q("DEBUG POPULATE 5000"), Reply::ok());
    assert_eq!(c.q("CONFIG SET rdb-key-save-delay 1000"), Reply::ok());
    bgrewriteaof_ok(&mut c);
    wait_rewrite_running(&mut c);
    let child = p.rewrite_child_pid();
    // The temp file exists while the child writes.
    let deadline = Instant::now() + Duration::from_secs(5);
    while temp_files(&dir.path).is_empty() {
        assert!(Instant::now() < deadline, "no temp file");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(temp_files(&dir.path), vec![format!("temp-rewriteaof-{}.aof", child)]);
    assert_eq!(c.q("CONFIG SET appendonly no"), Reply::ok());
    assert!(p.log_text().contains(&format!("Killing running AOF rewrite child: {}", child)));
    // Reaped at once: no zombie, no process.
    assert!(!pid_alive(child), "child {} still exists", child);
    assert!(!Path::new(&format!("/proc/{}", child)).exists() || !pid_alive(child));
    assert!(temp_files(&dir.path).is_empty(), "{:?}", temp_files(&dir.path));
    assert_eq!(info_field(&mut c, "persistence", "aof_rewrite_in_progress"), "0");
    // Killing on purpose is not a failed rewrite.
    assert_eq!(info_field(&mut c, "persistence", "aof_last_bgrewrite_status"), "ok");
    assert_eq!(c.q("DBSIZE").int(), 5000);
    // And on again: a new rewrite makes the file.
    assert_eq!(c.q("CONFIG SET rdb-key-save-delay 0"), Reply::ok());
    assert_eq!(c.q("CONFIG SET appendonly yes"), Reply::ok());
    wait_rewrite_done(&mut c, Duration::from_secs(30));
    let d = digest(&mut c);
    assert_eq!(c.q("DEBUG LOADAOF"), Reply::ok());
    assert_eq!(digest(&mut c), d);
}

#[test]
fn shutdown_kills_the_child_and_keeps_the_old_aof() {
    let dir = TempDir::new("aofrw-shutdown");
    let mut p = start_aof(&dir.path, &["--appendfsync", "always"]);
    let mut c = p.conn();
    for i in 0..500 {
        c.cmd(&["SET", &format!("k{}", i), &format!("v{}", i)]);
    }
    assert_eq!(c.q("CONFIG SET rdb-key-save-delay 20000"), Reply::ok());
    bgrewriteaof_ok(&mut c);
    wait_rewrite_running(&mut c);
    let child = p.rewrite_child_pid();
    c.cmd(&["SET", "last", "write"]);
    let d = digest(&mut c);
    drop(c);
    p.shutdown();
    assert!(p.log_text().contains("There is a child rewriting the AOF. Killing it!"));
    assert!(wait_pid_gone(child, Duration::from_secs(2)));
    assert!(temp_files(&dir.path).is_empty());
    let p = start_aof(&dir.path, &[]);
    let mut c = p.conn();
    assert_eq!(digest(&mut c), d);
}

#[test]
fn shutdown_is_refused_while_the_first_aof_is_being_written() {
    let dir = TempDir::new("aofrw-shutdown-wait");
    let mut p = start(&dir.path, &[]);
    let mut c = p.conn();
    assert_eq!(c.q("DEBUG POPULATE 3000"), Reply::ok());
    assert_eq!(c.q("CONFIG SET rdb-key-save-delay 1000"), Reply::ok());
    assert_eq!(c.q("CONFIG SET appendonly yes"), Reply::ok());
    // Exiting now would lose the dataset: there is no AOF yet.
    assert_eq!(c.q("SHUTDOWN"), Reply::err("ERR Errors trying to SHUTDOWN. Check logs."));
    assert!(p.log_text().contains("Writing initial AOF, can't exit."));
    assert_eq!(c.q("DBSIZE").int(), 3000);
    wait_rewrite_done(&mut c, Duration::from_secs(30));
    drop(c);
    p.shutdown();
    let p = start_aof(&dir.path, &[]);
    let mut c = p.conn();
    assert_eq!(c.q("DBSIZE").int(), 3000);
}

#[test]
fn auto_rewrite_on_growth_updates_the_base_size() {
    let dir = TempDir::new("aofrw-auto");
    let p = start_aof(&dir.path, &["--auto-aof-rewrite-min-size", "100kb", "--auto-aof-rewrite-percentage", "100"]);
    let mut c = p.conn();
    assert_eq!(info_u64(&mut c, "persistence", "aof_base_size"), 0);
    // Overwrite the same keys: the file grows, the dataset does not.
    let val = "x".repeat(1000);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !p.log_text().contains("Starting automatic rewriting of AOF on") {
        for i in 0..20 {
            c.cmd(&["SET", &format!("k{}", i), &val]);
        }
        assert!(Instant::now() < deadline, "no automatic rewrite:\n{}", p.log_text());
    }
    wait_rewrite_done(&mut c, Duration::from_secs(30));
    let line = p.log_text().lines().find(|l| l.contains("Starting automatic rewriting of AOF on")).map(|s| s.to_string()).unwrap_or_default();
    let growth: i64 = line.split(" on ").nth(1).and_then(|s| s.trim_end_matches("% growth").parse().ok()).unwrap_or(-1);
    assert!(growth >= 100, "{}", line);
    let base = info_u64(&mut c, "persistence", "aof_base_size");
    let cur = info_u64(&mut c, "persistence", "aof_current_size");
    assert!(base > 0 && base < 100 * 1024, "base {} after rewriting 20 keys", base);
    assert!(cur >= base);
    assert_eq!(info_field(&mut c, "persistence", "aof_last_bgrewrite_status"), "ok");
    let cmds = parse_aof(&std::fs::read(dir.join("appendonly.aof")).expect("aof"));
    assert!(cmds.len() <= 21 + 20 * 3, "rewritten file has {} commands", cmds.len());
}

#[test]
fn stale_temp_files_are_removed_at_start() {
    let dir = TempDir::new("aofrw-stale");
    // A pid that does not exist (pids are below 2^22 on Linux).
    let dead = 4_194_303 + 1000;
    let stale = [format!("temp-rewriteaof-bg-{}.aof", dead), format!("temp-rewriteaof-{}.aof", dead)];
    for f in &stale {
        std::fs::write(dir.join(f), b"*1\r\n$4\r\nPING\r\n").expect("write");
    }
    // One of a process that runs (ours) stays.
    let live = format!("temp-rewriteaof-bg-{}.aof", std::process::id());
    std::fs::write(dir.join(&live), b"x").expect("write");
    std::fs::write(dir.join("temp-rewriteaof-notapid.aof"), b"x").expect("write");
    let p = start_aof(&dir.path, &[]);
    for f in &stale {
        assert!(!dir.join(f).exists(), "{} not removed", f);
        assert!(p.log_text().contains(&format!("Removing stale temporary AOF rewrite file {}", f)));
    }
    assert!(dir.join(&live).exists());
    assert!(dir.join("temp-rewriteaof-notapid.aof").exists());
}

// ---------------------------------------------------------------------------
// Faults

#[test]
fn child_killed_by_sigkill_leaves_the_old_aof_and_the_next_rewrite_works() {
    let dir = TempDir::new("aofrw-sigkill");
    let mut p = start_aof(&dir.path, &["--appendfsync", "always"]);
    let mut c = p.conn();
    for i in 0..1000 {
        c.cmd(&["RPUSH", "l", &i.to_string()]);
    }
    assert_eq!(c.q("CONFIG SET rdb-key-save-delay 200000"), Reply::ok());
    c.cmd(&["SET", "a", "1"]);
    bgrewriteaof_ok(&mut c);
    wait_rewrite_running(&mut c);
    let child = p.rewrite_child_pid();
    let aof_before = std::fs::read(dir.join("appendonly.aof")).expect("aof");
    signal(child, "KILL");
    assert!(p.wait_log("Background AOF rewrite terminated by signal 9", Duration::from_secs(5)), "{}", p.log_text());
    assert_eq!(info_field(&mut c, "persistence", "aof_last_bgrewrite_status"), "err");
    assert_eq!(info_field(&mut c, "persistence", "aof_rewrite_in_progress"), "0");
    assert!(temp_files(&dir.path).is_empty(), "{:?}", temp_files(&dir.path));
    // The old file is untouched and still appended to.
    let aof_after = std::fs::read(dir.join("appendonly.aof")).expect("aof");
    assert!(aof_after.starts_with(&aof_before));
    c.cmd(&["SET", "b", "2"]);
    let grown = std::fs::read(dir.join("appendonly.aof")).expect("aof");
    assert!(grown.len() > aof_after.len());
    // The next rewrite succeeds.
    assert_eq!(c.q("CONFIG SET rdb-key-save-delay 0"), Reply::ok());
    bgrewriteaof_ok(&mut c);
    wait_rewrite_done(&mut c, Duration::from_secs(30));
    assert_eq!(info_field(&mut c, "persistence", "aof_last_bgrewrite_status"), "ok");
    let d = digest(&mut c);
    drop(c);
    p.shutdown();
    let p = start_aof(&dir.path, &[]);
    let mut c = p.conn();
    assert_eq!(digest(&mut c), d);
}

#[test]
fn child_unable_to_write_fails_cleanly_and_the_next_rewrite_works() {
    let dir = TempDir::new("aofrw-efbig");
    let p = spawn(OXREDIS, &dir.path, None, &["--appendonly", "yes", "--appendfsync", "always"], true);
    if !prlimit_fsize(p.pid, "unlimited") {
        eprintln!("SKIPPED: prlimit(1) cannot change this process's RLIMIT_FSIZE");
        return;
    }
    let mut c = p.conn();
    c.cmd(&["SET", "first", "1"]);
    // Not propagated: the AOF stays tiny while the dataset is ~1 MB.
    assert_eq!(c.q("DEBUG POPULATE 20000 key 40"), Reply::ok());
    let aof_len = std::fs::metadata(dir.join("appendonly.aof")).map(|m| m.len()).unwrap_or(0);
    let limit = 256 * 1024;
    assert!(aof_len < 1024);
    // The child inherits the limit: its temp file cannot pass 256 KiB.
    assert!(prlimit_fsize(p.pid, &limit.to_string()));
    bgrewriteaof_ok(&mut c);
    assert!(
        p.wait_log("Write error writing append only file on disk: File too large", Duration::from_secs(10)),
        "{}",
        p.log_text()
    );
    assert!(p.wait_log("Background AOF rewrite terminated with error", Duration::from_secs(5)));
    wait_rewrite_done(&mut c, Duration::from_secs(10));
    assert_eq!(info_field(&mut c, "persistence", "aof_last_bgrewrite_status"), "err");
    assert!(temp_files(&dir.path).is_empty(), "{:?}", temp_files(&dir.path));
    // The parent still appends to its old file, under the limit.
    assert_eq!(c.cmd(&["SET", "second", "2"]), Reply::ok());
    let cmds = parse_aof(&std::fs::read(dir.join("appendonly.aof")).expect("aof"));
    assert!(cmds.iter().any(|c| c[0] == b"SET" && c[1] == b"second"));
    assert!(prlimit_fsize(p.pid, "unlimited"));
    bgrewriteaof_ok(&mut c);
    wait_rewrite_done(&mut c, Duration::from_secs(30));
    assert_eq!(info_field(&mut c, "persistence", "aof_last_bgrewrite_status"), "ok");
    let d = digest(&mut c);
    assert_eq!(c.q("DEBUG LOADAOF"), Reply::ok());
    assert_eq!(digest(&mut c), d);
    assert_eq!(c.q("DBSIZE").int(), 20002);
}

#[test]
fn failed_first_rewrite_of_config_set_appendonly_is_retried_by_the_cron() {
    let dir = TempDir::new("aofrw-retry");
    let p = spawn(OXREDIS, &dir.path, None, &["--appendonly", "no"], true);
    if !prlimit_fsize(p.pid, "unlimited") {
        eprintln!("SKIPPED: prlimit(1) cannot change this process's RLIMIT_FSIZE");
        return;
    }
    let mut c = p.conn();
    assert_eq!(c.q("DEBUG POPULATE 20000 key 40"), Reply::ok());
    assert!(prlimit_fsize(p.pid, &(512 * 1024).to_string()));
    assert_eq!(c.q("CONFIG SET appendonly yes"), Reply::ok());
    // wait_rewrite: the rewrite fails and is scheduled again and again.
    let deadline = Instant::now() + Duration::from_secs(10);
    while p.count_log("Background AOF rewrite terminated with error") < 2 {
        assert!(Instant::now() < deadline, "no retry:\n{}", p.log_text());
        c.cmd(&["SET", "while-waiting", "x"]);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(info_field(&mut c, "persistence", "aof_enabled"), "1");
    assert_eq!(info_field(&mut c, "persistence", "aof_last_bgrewrite_status"), "err");
    assert_eq!(std::fs::metadata(dir.join("appendonly.aof")).map(|m| m.len()).unwrap_or(0), 0);
    assert!(prlimit_fsize(p.pid, "unlimited"));
    wait_rewrite_done(&mut c, Duration::from_secs(30));
    assert_eq!(info_field(&mut c, "persistence", "aof_last_bgrewrite_status"), "ok");
    c.cmd(&["SET", "after", "on"]);
    let d = digest(&mut c);
    assert_eq!(c.q("DEBUG LOADAOF"), Reply::ok());
    assert_eq!(digest(&mut c), d);
    assert_eq!(c.cmd(&["GET", "while-waiting"]), Reply::bulk("x"));
}

#[test]
fn parent_killed_mid_rewrite_restarts_from_the_complete_old_aof() {
    let dir = TempDir::new("aofrw-parent-kill");
    let mut p = start_aof(&dir.path, &["--appendfsync", "always"]);
    let port = p.port;
    let mut c = p.conn();
    for i in 0..300 {
        c.cmd(&["HSET", &format!("h{}", i % 7), &format!("f{}", i), &i.to_string()]);
    }
    assert_eq!(c.q("CONFIG SET rdb-key-save-delay 100000"), Reply::ok());
    bgrewriteaof_ok(&mut c);
    wait_rewrite_running(&mut c);
    let child = p.rewrite_child_pid();
    // Acknowledged writes during the rewrite (appendfsync always: on disk).
    for i in 0..200 {
        c.cmd(&["SET", &format!("during:{}", i), "x"]);
    }
    let d = digest(&mut c);
    drop(c);
    p.kill9();
    // The orphaned child closed its listening sockets: the same port binds.
    let p = spawn(OXREDIS, &dir.path, Some(port), &["--appendonly", "yes"], false);
    let mut c = p.conn();
    assert_eq!(digest(&mut c), d, "the old AOF is complete");
    // The orphan gives up (no parent answers) and removes its temp file.
    assert!(wait_pid_gone(child, Duration::from_secs(30)), "orphaned child still runs");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !temp_files(&dir.path).is_empty() {
        assert!(Instant::now() < deadline, "temp files left: {:?}", temp_files(&dir.path));
        std::thread::sleep(Duration::from_millis(20));
    }
    bgrewriteaof_ok(&mut c);
    wait_rewrite_done(&mut c, Duration::from_secs(30));
    assert_eq!(info_field(&mut c, "persistence", "aof_last_bgrewrite_status"), "ok");
    assert_eq!(c.q("DEBUG LOADAOF"), Reply::ok());
    assert_eq!(digest(&mut c), d);
}

#[test]
fn stop_handshake_with_a_parent_that_never_answers() {
    let dir = TempDir::new("aofrw-stopped");
    let p = start_aof(&dir.path, &["--appendfsync", "always"]);
    let mut c = p.conn();
    for i in 0..100 {
        c.cmd(&["SET", &format!("k{}", i), &i.to_string()]);
    }
    // 100 keys of 3 ms: the snapshot takes 0.3 s, enough to stop the parent.
    assert_eq!(c.q("CONFIG SET rdb-key-save-delay 3000"), Reply::ok());
    bgrewriteaof_ok(&mut c);
    signal(p.pid, "STOP");
    let child = p.rewrite_child_pid();
    // The child asks, waits 5 s for an answer that does not come, gives up.
    let gave_up = p.wait_log("Write error writing append only file on disk: Connection timed out", Duration::from_secs(10));
    let child_done = wait_pid_gone(child, Duration::from_secs(2)) || {
        // A zombie until the parent reaps it: look at its state instead.
        std::fs::read_to_string(format!("/proc/{}/stat", child)).map(|s| s.contains(") Z")).unwrap_or(true)
    };
    signal(p.pid, "CONT");
    assert!(gave_up, "{}", p.log_text());
    assert!(child_done);
    wait_rewrite_done(&mut c, Duration::from_secs(10));
    assert_eq!(info_field(&mut c, "persistence", "aof_last_bgrewrite_status"), "err");
    assert!(temp_files(&dir.path).is_empty(), "{:?}", temp_files(&dir.path));
    // The parent kept its file and serves; the next rewrite succeeds.
    assert_eq!(c.cmd(&["SET", "after", "stop"]), Reply::ok());
    let cmds = parse_aof(&std::fs::read(dir.join("appendonly.aof")).expect("aof"));
    assert_eq!(cmds.iter().filter(|c| c[0] == b"SET").count(), 101);
    assert_eq!(c.q("CONFIG SET rdb-key-save-delay 0"), Reply::ok());
    bgrewriteaof_ok(&mut c);
    wait_rewrite_done(&mut c, Duration::from_secs(30));
    assert_eq!(info_field(&mut c, "persistence", "aof_last_bgrewrite_status"), "ok");
    let d = digest(&mut c);
    assert_eq!(c.q("DEBUG LOADAOF"), Reply::ok());
    assert_eq!(digest(&mut c), d);
    assert_eq!(c.q("DBSIZE").int(), 101);
}

// ---------------------------------------------------------------------------
// Visible state

#[test]
fn info_fields_and_latency() {
    let dir = TempDir::new("aofrw-info");
    let p = start_aof(&dir.path, &[]);
    let mut c = p.conn();
    for f in [
        "aof_rewrite_in_progress:0",
        "aof_rewrite_scheduled:0",
        "aof_last_rewrite_time_sec:-1",
        "aof_current_rewrite_time_sec:-1",
        "aof_last_bgrewrite_status:ok",
        "aof_last_cow_size:0",
        "aof_pending_rewrite:0",
        "aof_rewrite_buffer_length:0",
    ] {
        let (k, v) = f.split_once(':').unwrap_or((f, ""));
        assert_eq!(info_field(&mut c, "persistence", k), v, "{}", k);
    }
    assert_eq!(info_field(&mut c, "stats", "total_forks"), "0");
    assert_eq!(info_field(&mut c, "stats", "latest_fork_usec"), "0");
    assert_eq!(c.q("DEBUG POPULATE 300000"), Reply::ok());
    assert_eq!(c.q("CONFIG SET latency-monitor-threshold 1"), Reply::ok());
    bgrewriteaof_ok(&mut c);
    wait_rewrite_done(&mut c, Duration::from_secs(60));
    assert_eq!(info_field(&mut c, "stats", "total_forks"), "1");
    let fork_us = info_u64(&mut c, "stats", "latest_fork_usec");
    assert!(fork_us > 0);
    assert!(info_u64(&mut c, "persistence", "aof_last_cow_size") > 0, "child reported its copy-on-write");
    assert!(info_field(&mut c, "persistence", "aof_last_rewrite_time_sec").parse::<i64>().unwrap_or(-1) >= 0);
    let size = info_u64(&mut c, "persistence", "aof_current_size");
    assert_eq!(info_u64(&mut c, "persistence", "aof_base_size"), size);
    assert_eq!(std::fs::metadata(dir.join("appendonly.aof")).map(|m| m.len()).unwrap_or(0), size);
    // LATENCY: a fork of 1 ms or more was recorded as `fork`.
    let hist = c.q("LATENCY HISTORY fork").array();
    if fork_us >= 1000 {
        assert_eq!(hist.len(), 1);
        assert!(hist[0].array()[1].int() as u64 >= fork_us / 1000);
    }
    assert_eq!(c.q("DEBUG SLEEP 0.05"), Reply::ok());
    let latest = c.q("LATENCY LATEST").array();
    let cmd = latest.iter().map(|e| e.array()).find(|e| e[0] == Reply::bulk("command")).expect("command event");
    assert!(cmd[2].int() >= 50 && cmd[3].int() >= 50, "{:?}", cmd);
    // One sample per second at most; DEBUG SLEEP's is the last.
    let h = c.q("LATENCY HISTORY command").array();
    assert!(!h.is_empty());
    assert!(h[h.len() - 1].array()[1].int() >= 50, "{:?}", h);
    let g = c.q("LATENCY GRAPH command").text();
    assert!(g.starts_with("command - high "), "{}", g);
    assert!(c.q("LATENCY DOCTOR").text().contains("Dave, I have observed latency spikes"));
    assert_eq!(c.q("LATENCY GRAPH nope"), Reply::Error("ERR No samples available for event 'nope'".into()));
    assert_eq!(c.q("LATENCY HISTORY nope").array().len(), 0);
    assert_eq!(c.q("LATENCY RESET command nope").int(), 1);
    assert!(c.q("LATENCY RESET").int() >= 0);
    assert_eq!(c.q("LATENCY LATEST").array().len(), 0);
    assert!(c.q("LATENCY DOCTOR").text().starts_with("Dave, no latency spike was observed"));
    assert_eq!(c.q("CONFIG SET latency-monitor-threshold 0"), Reply::ok());
    assert!(c.q("LATENCY DOCTOR").text().starts_with("I'm sorry, Dave, I can't do that."));
    assert!(c.q("LATENCY FOO").text().starts_with("ERR Unknown subcommand or wrong number of arguments for 'FOO'"));
}
