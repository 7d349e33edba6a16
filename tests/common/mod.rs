//! Test harness shared by the integration tests: starts the real
//! `oxredis-server` binary (or the reference `redis-server`) on a free port in
//! a fresh temp dir, and talks RESP2 to it with a tiny blocking client.
//!
//! 1. [`Server::start`] binds 127.0.0.1:0 to learn a free port, starts the
//!    binary with `--port N --dir D --logfile F` plus the caller's arguments,
//!    and waits until the log says `Ready to accept connections`. A port
//!    race (another process took the port in between) is retried.
//! 2. Dropping a [`Server`] kills and reaps the process and removes its dir.
//! 3. [`Conn`] sends commands as multibulk (or raw bytes) and reads one
//!    [`Reply`] at a time, with a read timeout so a hung server fails the test
//!    instead of hanging it.

#![allow(dead_code)]

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const OXREDIS: &str = env!("CARGO_BIN_EXE_oxredis-server");

/// A directory under the system temp dir, removed with everything in it on drop.
pub struct TempDir {
    pub path: PathBuf,
}

static DIR_SEQ: AtomicUsize = AtomicUsize::new(0);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let n = DIR_SEQ.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("oxredis-test-{}-{}-{}-{}", tag, std::process::id(), n, nanos));
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("create {}: {}", path.display(), e));
        TempDir { path }
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A free TCP port on 127.0.0.1 (the listener is closed before returning, so
/// a race is possible: callers retry on "Address already in use").
pub fn free_port() -> u16 {
    for _ in 0..50 {
        if let Ok(l) = TcpListener::bind("127.0.0.1:0") {
            if let Ok(a) = l.local_addr() {
                return a.port();
            }
        }
    }
    panic!("could not find a free port");
}

/// A running server process.
pub struct Server {
    child: Option<Child>,
    pub port: u16,
    pub dir: TempDir,
    pub log: PathBuf,
    pub pid: u32,
    pub bin: String,
}

/// What kind of server to start.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Oxredis,
    Reference,
}

impl Server {
    /// Starts oxredis with `args` appended after the harness's own options.
    pub fn start(args: &[&str]) -> Server {
        Self::start_kind(Kind::Oxredis, args, None)
    }

    /// Starts oxredis with a config file holding `conf` as first argument.
    pub fn start_with_config(conf: &str, args: &[&str]) -> Server {
        Self::start_kind(Kind::Oxredis, args, Some(conf))
    }

    /// Starts oxredis with `-` among its arguments and `stdin_text` piped in.
    pub fn start_with_stdin(stdin_text: &str, args: &[&str]) -> Server {
        Self::start_full(Kind::Oxredis, args, None, Some(stdin_text))
    }

    /// Starts the reference `redis-server`, or None if it is not installed.
    pub fn start_reference(args: &[&str]) -> Option<Server> {
        if !reference_installed() {
            return None;
        }
        Some(Self::start_kind(Kind::Reference, args, None))
    }

    pub fn start_kind(kind: Kind, args: &[&str], conf: Option<&str>) -> Server {
        Self::start_full(kind, args, conf, None)
    }

    pub fn start_full(kind: Kind, args: &[&str], conf: Option<&str>, stdin_text: Option<&str>) -> Server {
        let bin = match kind {
            Kind::Oxredis => OXREDIS.to_string(),
            Kind::Reference => "redis-server".to_string(),
        };
        let mut last_log = String::new();
        for _attempt in 0..5 {
            let dir = TempDir::new(if kind == Kind::Oxredis { "ox" } else { "ref" });
            let port = free_port();
            let log = dir.join("server.log");
            let mut cmd = Command::new(&bin);
            if let Some(c) = conf {
                let p = dir.join("test.conf");
                std::fs::write(&p, c).unwrap_or_else(|e| panic!("write config: {}", e));
                cmd.arg(&p);
            }
            cmd.arg("--port").arg(port.to_string());
            cmd.arg("--bind").arg("127.0.0.1");
            cmd.arg("--dir").arg(&dir.path);
            cmd.arg("--logfile").arg(&log);
            cmd.arg("--save").arg("");
            cmd.arg("--appendonly").arg("no");
            if kind == Kind::Reference {
                cmd.arg("--enable-debug-command").arg("yes");
            }
            cmd.args(args);
            let piped = if stdin_text.is_some() { Stdio::piped() } else { Stdio::null() };
            cmd.stdin(piped).stdout(Stdio::null()).stderr(Stdio::null());
            let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {}: {}", bin, e));
            if let (Some(text), Some(mut sin)) = (stdin_text, child.stdin.take()) {
                let _ = sin.write_all(text.as_bytes());
                // Dropping closes stdin so the server sees EOF.
            }
            let pid = child.id();
            let mut srv = Server { child: Some(child), port, dir, log, pid, bin: bin.clone() };
            match srv.wait_ready(Duration::from_secs(10)) {
                Ok(()) => return srv,
                Err(text) => {
                    last_log = text;
                    if last_log.contains("Address already in use") {
                        continue; // port race: try another port
                    }
                    panic!("{} did not become ready; log:\n{}", bin, last_log);
                }
            }
        }
        panic!("{} could not start after retries; last log:\n{}", bin, last_log);
    }

    /// Waits for "Ready to accept connections" in the log; on failure returns the log.
    fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            if text.contains("Ready to accept connections") {
                return Ok(());
            }
            if let Some(ch) = self.child.as_mut() {
                if let Ok(Some(st)) = ch.try_wait() {
                    self.child = None;
                    let text = std::fs::read_to_string(&self.log).unwrap_or_default();
                    return Err(format!("(exited: {})\n{}", st, text));
                }
            }
            if Instant::now() > deadline {
                return Err(format!("(timeout)\n{}", text));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn kind(&self) -> Kind {
        if self.bin == OXREDIS {
            Kind::Oxredis
        } else {
            Kind::Reference
        }
    }

    pub fn conn(&self) -> Conn {
        Conn::connect(self.port)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `needle` (true) or the timeout passes.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.log_text().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// True while the process has not exited.
    pub fn alive(&mut self) -> bool {
        match self.child.as_mut() {
            Some(ch) => matches!(ch.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Waits for the process to exit; returns its exit code (None if killed
    /// by a signal or still running at the timeout).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(ch) = self.child.as_mut() {
                if let Ok(Some(st)) = ch.try_wait() {
                    self.child = None;
                    return Some(st);
                }
            } else {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// Sends a signal to the server with kill(1) (std only).
    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill").arg(format!("-{}", sig)).arg(self.pid.to_string()).status();
    }

    /// Resident set size in KiB from /proc/PID/status.
    pub fn rss_kb(&self) -> Option<u64> {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut ch) = self.child.take() {
            let _ = ch.kill();
            let _ = ch.wait();
        }
    }
}

static REF_CHECK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// True if a `redis-server` is on PATH and runs.
pub fn reference_installed() -> bool {
    *REF_CHECK.get_or_init(|| {
        Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    })
}

/// Starts the reference or prints the skip notice; for differential tests.
pub fn reference_or_skip(args: &[&str]) -> Option<Server> {
    let r = Server::start_reference(args);
    if r.is_none() {
        eprintln!("SKIPPED: redis-server not installed");
    }
    r
}

/// One RESP2 reply.
#[derive(Clone, PartialEq, Eq)]
pub enum Reply {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Status(s) => write!(f, "+{}", s),
            Reply::Error(s) => write!(f, "-{}", s),
            Reply::Int(n) => write!(f, ":{}", n),
            Reply::Bulk(None) => write!(f, "(nil)"),
            Reply::Bulk(Some(b)) => write!(f, "{:?}", String::from_utf8_lossy(b)),
            Reply::Array(None) => write!(f, "(nil array)"),
            Reply::Array(Some(v)) => f.debug_list().entries(v.iter()).finish(),
        }
    }
}

impl Reply {
    pub fn ok() -> Reply {
        Reply::Status("OK".into())
    }
    pub fn bulk(s: &str) -> Reply {
        Reply::Bulk(Some(s.as_bytes().to_vec()))
    }
    pub fn nil() -> Reply {
        Reply::Bulk(None)
    }
    pub fn err(s: &str) -> Reply {
        Reply::Error(s.to_string())
    }
    /// The reply as text (status, error, bulk), for assertions.
    pub fn text(&self) -> String {
        match self {
            Reply::Status(s) | Reply::Error(s) => s.clone(),
            Reply::Bulk(Some(b)) => String::from_utf8_lossy(b).into_owned(),
            Reply::Int(n) => n.to_string(),
            other => format!("{:?}", other),
        }
    }
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }
    pub fn int(&self) -> i64 {
        match self {
            Reply::Int(n) => *n,
            other => panic!("expected integer, got {:?}", other),
        }
    }
    pub fn array(&self) -> Vec<Reply> {
        match self {
            Reply::Array(Some(v)) => v.clone(),
            other => panic!("expected array, got {:?}", other),
        }
    }
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_read_timeout(d),
            Stream::Unix(s) => s.set_read_timeout(d),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(b),
            Stream::Unix(s) => s.read(b),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(b),
            Stream::Unix(s) => s.write(b),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            Stream::Unix(s) => s.flush(),
        }
    }
}

/// A blocking RESP2 client connection.
pub struct Conn {
    stream: Stream,
    buf: Vec<u8>,
    pos: usize,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl Conn {
    pub fn connect(port: u16) -> Conn {
        Self::try_connect(port).unwrap_or_else(|e| panic!("connect 127.0.0.1:{}: {}", port, e))
    }

    pub fn try_connect(port: u16) -> io::Result<Conn> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_nodelay(true)?;
        let c = Conn { stream: Stream::Tcp(s), buf: Vec::new(), pos: 0 };
        c.stream.set_read_timeout(Some(DEFAULT_TIMEOUT))?;
        Ok(c)
    }

    pub fn connect_unix(path: &Path) -> io::Result<Conn> {
        let s = UnixStream::connect(path)?;
        let c = Conn { stream: Stream::Unix(s), buf: Vec::new(), pos: 0 };
        c.stream.set_read_timeout(Some(DEFAULT_TIMEOUT))?;
        Ok(c)
    }

    pub fn set_timeout(&mut self, d: Duration) {
        let _ = self.stream.set_read_timeout(Some(d));
    }

    /// Encodes `args` as a multibulk request.
    pub fn encode<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            let a = a.as_ref();
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    pub fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) -> io::Result<()> {
        let b = Self::encode(args);
        self.send_raw(&b)
    }

    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// Sends a command and reads its reply; panics on I/O errors.
    pub fn cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Reply {
        if let Err(e) = self.send(args) {
            panic!("send {:?}: {}", args.iter().map(|a| String::from_utf8_lossy(a.as_ref()).into_owned()).collect::<Vec<_>>(), e);
        }
        match self.read_reply() {
            Ok(r) => r,
            Err(e) => panic!(
                "reading reply to {:?}: {}",
                args.iter().map(|a| String::from_utf8_lossy(a.as_ref()).into_owned()).collect::<Vec<_>>(),
                e
            ),
        }
    }

    /// Splits `line` on spaces and runs it (no quoting; for short tests).
    /// The value of field `name` in `INFO section`, if it is there.
    pub fn try_info_field(&mut self, section: &str, name: &str) -> Option<String> {
        let text = self.cmd(&["INFO", section]).text();
        let prefix = format!("{}:", name);
        text.lines().find_map(|l| l.strip_prefix(prefix.as_str()).map(|v| v.trim().to_string()))
    }

    /// The value of field `name` in `INFO section`; panics when it is missing.
    pub fn info_field(&mut self, section: &str, name: &str) -> String {
        match self.try_info_field(section, name) {
            Some(v) => v,
            None => panic!("INFO {} has no field {}", section, name),
        }
    }

    /// A numeric INFO field; panics when it is missing or not a number.
    pub fn info_int(&mut self, section: &str, name: &str) -> i64 {
        let v = self.info_field(section, name);
        v.parse().unwrap_or_else(|_| panic!("INFO {}: {} is not a number: {:?}", section, name, v))
    }

    pub fn q(&mut self, line: &str) -> Reply {
        let args: Vec<&str> = line.split_whitespace().collect();
        self.cmd(&args)
    }

    fn fill(&mut self) -> io::Result<()> {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        let mut tmp = [0u8; 16384];
        let n = self.stream.read(&mut tmp)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed"));
        }
        self.buf.extend_from_slice(&tmp[..n]);
        Ok(())
    }

    fn read_line(&mut self) -> io::Result<Vec<u8>> {
        loop {
            if let Some(i) = self.buf[self.pos..].windows(2).position(|w| w == b"\r\n") {
                let line = self.buf[self.pos..self.pos + i].to_vec();
                self.pos += i + 2;
                return Ok(line);
            }
            self.fill()?;
        }
    }

    fn read_exact_n(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.buf.len() - self.pos < n {
            self.fill()?;
        }
        let v = self.buf[self.pos..self.pos + n].to_vec();
        self.pos += n;
        Ok(v)
    }

    fn bad(msg: String) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, msg)
    }

    /// Reads one reply. EOF gives `UnexpectedEof`, a timeout `WouldBlock`/`TimedOut`.
    pub fn read_reply(&mut self) -> io::Result<Reply> {
        let line = self.read_line()?;
        if line.is_empty() {
            return Err(Self::bad("empty reply line".into()));
        }
        let rest = String::from_utf8_lossy(&line[1..]).into_owned();
        let num = || rest.parse::<i64>().map_err(|_| Self::bad(format!("bad number in {:?}", rest)));
        match line[0] {
            b'+' => Ok(Reply::Status(rest.clone())),
            b'-' => Ok(Reply::Error(rest.clone())),
            b':' => Ok(Reply::Int(num()?)),
            b'$' => {
                let n = num()?;
                if n < 0 {
                    return Ok(Reply::Bulk(None));
                }
                let mut v = self.read_exact_n(n as usize + 2)?;
                v.truncate(n as usize);
                Ok(Reply::Bulk(Some(v)))
            }
            b'*' => {
                let n = num()?;
                if n < 0 {
                    return Ok(Reply::Array(None));
                }
                let mut v = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    v.push(self.read_reply()?);
                }
                Ok(Reply::Array(Some(v)))
            }
            c => Err(Self::bad(format!("unexpected reply type byte {:?} in {:?}", c as char, String::from_utf8_lossy(&line)))),
        }
    }

    /// Reads one reply with a different timeout.
    pub fn read_reply_timeout(&mut self, d: Duration) -> io::Result<Reply> {
        self.set_timeout(d);
        let r = self.read_reply();
        self.set_timeout(DEFAULT_TIMEOUT);
        r
    }

    /// Reads one line of raw bytes (for MONITOR and other raw checks).
    pub fn read_raw_line(&mut self) -> io::Result<Vec<u8>> {
        self.read_line()
    }

    /// True if the server closes the connection (EOF or reset) within `d`,
    /// after any replies still buffered have been discarded.
    pub fn closed_within(&mut self, d: Duration) -> bool {
        self.set_timeout(Duration::from_millis(50));
        let deadline = Instant::now() + d;
        let mut tmp = [0u8; 4096];
        let r = loop {
            match self.stream.read(&mut tmp) {
                Ok(0) => break true,
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut => {
                    if Instant::now() > deadline {
                        break false;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break true, // reset
            }
        };
        self.set_timeout(DEFAULT_TIMEOUT);
        r
    }
}

impl Conn {
    /// Everything the server sends within `d` (plus anything already
    /// buffered), and whether it closed the connection. Reading stops early
    /// at EOF; for an open connection it waits the full `d`.
    pub fn drain_within(&mut self, d: Duration) -> (Vec<u8>, bool) {
        let mut data = self.buf[self.pos..].to_vec();
        self.buf.clear();
        self.pos = 0;
        self.set_timeout(Duration::from_millis(50));
        let deadline = Instant::now() + d;
        let mut tmp = [0u8; 4096];
        let closed = loop {
            match self.stream.read(&mut tmp) {
                Ok(0) => break true,
                Ok(n) => data.extend_from_slice(&tmp[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut => {
                    if Instant::now() > deadline {
                        break false;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break true,
            }
        };
        self.set_timeout(DEFAULT_TIMEOUT);
        (data, closed)
    }
}

/// Builds an argv from a space-separated string literal.
pub fn args(line: &str) -> Vec<Vec<u8>> {
    line.split_whitespace().map(|s| s.as_bytes().to_vec()).collect()
}

/// A small seeded xorshift64* PRNG (no crates).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545F4914F6CDD1D)
    }
    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

/// Starts oxredis in `dir` (whose dump.rdb may be damaged) with AOF and
/// save points off, and waits until it is ready or has exited: the
/// process, and Ok(port) while it runs or Err((exit status, log)) with
/// whatever it wrote on stderr (a panic message) appended to the log.
pub fn start_ready_or_exit(dir: &Path) -> (Child, Result<u16, (std::process::ExitStatus, String)>) {
    let port = free_port();
    let log = dir.join("server.log");
    let mut child = Command::new(OXREDIS)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(&log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn oxredis-server: {}", e));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("Ready to accept connections") {
            return (child, Ok(port));
        }
        if let Ok(Some(st)) = child.try_wait() {
            let mut text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut text);
            }
            return (child, Err((st, text)));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("server neither ready nor exited; log:\n{}", text);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
