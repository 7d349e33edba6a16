//! `oxredis-check-rdb`: the server binary started under that name checks
//! RDB files as `redis-check-rdb` does. Good files (written by oxredis SAVE
//! and, when it is installed, by the reference redis-server in its v10
//! listpack format) pass with exit code 0; damaged ones (truncated
//! anywhere, a flipped byte anywhere, bad signature, bad version, unknown
//! type) fail with exit code 1 and the error block. Where the reference
//! `redis-check-rdb` is installed, both tools run on the same files and
//! their reports must agree line by line, offsets included; only the
//! "Internal error … function at rdb.c:LINE ->" prefix is normalised (Redis
//! names its C source line there and prints offset 0). Last, a server
//! started on a damaged dump.rdb logs the check report and exits with code
//! 1, no signal, no panic.

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{Reply, Server, TempDir, OXREDIS};

/// Runs oxredis as `oxredis-check-rdb <path>`: (exit code, stdout).
fn ox_check(path: &Path) -> (i32, String) {
    let out = Command::new(OXREDIS)
        .arg0("oxredis-check-rdb")
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {}", OXREDIS, e));
    let code = out.status.code().unwrap_or_else(|| panic!("oxredis-check-rdb killed by a signal: {:?}", out.status));
    (code, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs the reference `redis-check-rdb`, if installed.
fn ref_check(path: &Path) -> Option<(i32, String)> {
    let out = Command::new("redis-check-rdb").arg(path).stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
    Some((out.status.code()?, String::from_utf8_lossy(&out.stdout).into_owned()))
}

static REF_TOOL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

fn ref_tool_installed() -> bool {
    *REF_TOOL.get_or_init(|| {
        let ok = Command::new("redis-check-rdb").arg("/nonexistent").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
        if !ok {
            eprintln!("SKIPPED (comparison part): redis-check-rdb not installed");
        }
        ok
    })
}

/// The report with the loader-internal prefix of "Internal error" lines
/// cut, and Redis 7's extra "Terminating server" log line dropped (6.2's
/// tool does not print it; see check_rdb.rs).
fn normalize(report: &str) -> String {
    let mut out = String::new();
    for line in report.lines() {
        if line.contains("Terminating server after rdb file reading failure.") {
            continue;
        }
        let line = match (line.find("Internal error in RDB reading offset "), line.find(" -> ")) {
            (Some(a), Some(b)) if a < b => format!("{}<internal> {}", &line[..a], &line[b + 4..]),
            _ => line.to_string(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Checks `data` with both tools; returns our (code, report) after
/// asserting that the reference, when installed, says the same.
fn check_both(dir: &TempDir, name: &str, data: &[u8]) -> (i32, String) {
    let path = dir.join(name);
    std::fs::write(&path, data).expect("write test file");
    let (code, report) = ox_check(&path);
    assert!(code == 0 || code == 1, "exit code {} for {}:\n{}", code, name, report);
    // Streams, modules and zipmaps are no oxredis types: the loader
    // refuses them where Redis would read on.
    if ref_tool_installed() && !reason(&report).contains("-> Unknown RDB encoding type ") {
        if let Some((rcode, rreport)) = ref_check(&path) {
            // The loader checks more of a compact value than Redis does
            // (e.g. that a zset ziplist's scores are numbers): there it
            // stops earlier, where Redis reads on to a later error.
            if code == rcode && reason(&report).ends_with(" integrity check failed.") && offset_of(reason(&rreport)) > offset_of(reason(&report)) {
                return (code, report);
            }
            // RDB 11's set listpacks (Redis 7.2) load in oxredis.
            if code == rcode && reason(&rreport).ends_with("] Invalid object type: 20") {
                return (code, report);
            }
            // Where Redis's reader fails without a message of its own (a
            // text score that is no number, some ziplist checks) its tool
            // prints "Unexpected EOF"; the loader names the problem. The
            // offset, state, key, type and counters must still agree.
            let ours = if reason(&report).contains("] Internal error in RDB reading offset ")
                && reason(&rreport).ends_with("] Unexpected EOF reading RDB file")
                && offset_of(reason(&report)) == offset_of(reason(&rreport))
            {
                report.replace(reason(&report), reason(&rreport))
            } else {
                report.clone()
            };
            assert_eq!(
                (code, normalize(&ours)),
                (rcode, normalize(&rreport)),
                "oxredis-check-rdb (left) and redis-check-rdb (right) differ on {}",
                name
            );
        }
    }
    (code, report)
}

/// The error block's reason line: `[offset N] <reason>`.
fn reason(report: &str) -> &str {
    let mut lines = report.lines();
    while let Some(l) = lines.next() {
        if l == "--- RDB ERROR DETECTED ---" {
            return lines.next().unwrap_or("");
        }
    }
    ""
}

/// N of a `[offset N] …` line (0 if none).
fn offset_of(line: &str) -> u64 {
    line.strip_prefix("[offset ").and_then(|l| l.split(']').next()).and_then(|n| n.parse().ok()).unwrap_or(0)
}

fn assert_error_block(report: &str, what: &str) {
    let lines: Vec<&str> = report.lines().collect();
    let i = lines.iter().position(|l| *l == "--- RDB ERROR DETECTED ---").unwrap_or_else(|| panic!("{}: no error block:\n{}", what, report));
    assert!(lines[i + 1].starts_with("[offset "), "{}: reason line: {}", what, report);
    assert!(lines[i + 2].starts_with("[additional info] While doing: "), "{}: {}", what, report);
    let n = lines.len();
    assert!(lines[n - 3].ends_with(" keys read") && lines[n - 2].ends_with(" expires") && lines[n - 1].ends_with(" already expired"), "{}: {}", what, report);
    assert!(!report.contains("RDB looks OK"), "{}: {}", what, report);
}

/// A small dataset of every type in its compact encoding, a TTL and two
/// databases, saved by `srv`; the file's bytes.
fn small_dump(srv: &Server) -> Vec<u8> {
    let mut c = srv.conn();
    for cmd in [
        "SET foo bar",
        "SET n 12345",
        "RPUSH l a b 3",
        "HSET h f v",
        "ZADD z 1 a 2.5 b",
        "SADD s 1 2",
        "SADD s2 x y",
        "SET e v EX 100000",
        "SELECT 2",
        "SET x y",
        "SAVE",
    ] {
        let r = c.q(cmd);
        assert!(!r.is_error(), "{}: {:?}", cmd, r);
    }
    pin_aux(std::fs::read(srv.dir.join("dump.rdb")).expect("SAVE wrote dump.rdb"))
}

/// The dump with its `ctime` and `used-mem` AUX values and the TTL of
/// "e" fixed (and the
/// checksum redone), so that the same dataset gives the same bytes on
/// every run and the byte-by-byte comparisons below are reproducible.
fn pin_aux(mut d: Vec<u8>) -> Vec<u8> {
    for (field, val) in [(&b"\x05ctime\xc2"[..], 1_700_000_000u32), (&b"\x08used-mem\xc2"[..], 1_000_000u32)] {
        let at = d.windows(field.len()).position(|w| w == field).unwrap_or_else(|| panic!("{:?} in the dump", field)) + field.len();
        d[at..at + 4].copy_from_slice(&val.to_le_bytes());
    }
    // The TTL of "e" (EXPIRETIME_MS before its type and name), in 2096.
    let e = d.windows(4).position(|w| w == b"\x00\x01e\x01").expect("e in the dump");
    assert_eq!(d[e - 9], 0xfc, "EXPIRETIME_MS before e");
    d[e - 8..e].copy_from_slice(&4_000_000_000_000i64.to_le_bytes());
    let body = d.len() - 8;
    let crc = oxredis::crc64::crc64(0, &d[..body]);
    d[body..].copy_from_slice(&crc.to_le_bytes());
    d
}

#[test]
fn a_file_saved_by_oxredis_looks_ok() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    // Big values too: a quicklist of several nodes, hash and sorted set
    // tables, a compressible string.
    for i in 0..1000 {
        c.cmd(&["RPUSH", "lbig", &format!("element-{}", i)]);
        c.cmd(&["HSET", "hbig", &format!("field{}", i), "v"]);
        c.cmd(&["ZADD", "zbig", &i.to_string(), &format!("m{}", i)]);
        c.cmd(&["SADD", "sbig", &format!("m{}", i)]);
    }
    assert_eq!(c.cmd(&["SET", "rep", &"abc".repeat(100)]), Reply::ok());
    assert_eq!(c.cmd(&["PEXPIRE", "rep", "100000000"]), Reply::Int(1));
    let data = small_dump(&srv);
    let dir = TempDir::new("checkrdb");
    let (code, report) = check_both(&dir, "ox.rdb", &data);
    assert_eq!(code, 0, "{}", report);
    let size = data.len();
    assert!(report.starts_with(&format!("[offset 0] Checking RDB file {}\n", dir.join("ox.rdb").display())), "{}", report);
    assert!(report.contains("] AUX FIELD redis-ver = '"), "{}", report);
    assert!(report.contains("] Selecting DB ID 0\n"), "{}", report);
    assert!(report.contains("] Selecting DB ID 2\n"), "{}", report);
    assert!(report.contains(&format!("[offset {}] Checksum OK\n", size)), "{}", report);
    assert!(report.contains(&format!("[offset {}] \\o/ RDB looks OK! \\o/\n", size)), "{}", report);
    assert!(report.ends_with("[info] 14 keys read\n[info] 2 expires\n[info] 0 already expired\n"), "{}", report);
}

#[test]
fn a_file_saved_by_the_reference_server_looks_ok() {
    let Some(srv) = common::reference_or_skip(&[]) else { return };
    let data = small_dump(&srv);
    assert!(data.starts_with(b"REDIS0010"), "the reference writes RDB 10 (listpacks)");
    let dir = TempDir::new("checkrdb");
    let (code, report) = check_both(&dir, "ref.rdb", &data);
    assert_eq!(code, 0, "{}", report);
    assert!(report.contains("\\o/ RDB looks OK! \\o/"), "{}", report);
    assert!(report.ends_with("[info] 9 keys read\n[info] 1 expires\n[info] 0 already expired\n"), "{}", report);
}

/// `small_dump` of oxredis, and of the reference when it is installed.
fn small_dumps_of_both() -> Vec<(&'static str, Vec<u8>)> {
    let mut files = vec![("ox", small_dump(&Server::start(&[])))];
    if let Some(r) = Server::start_reference(&[]) {
        files.push(("ref", small_dump(&r)));
    }
    files
}

#[test]
fn a_file_cut_anywhere_is_an_error() {
    let files = small_dumps_of_both();
    let dir = TempDir::new("checkrdb");
    for (tag, data) in &files {
        for n in 0..data.len() {
            let (code, report) = check_both(&dir, &format!("{}-cut.rdb", tag), &data[..n]);
            assert_eq!(code, 1, "{} cut at {}:\n{}", tag, n, report);
            assert_error_block(&report, &format!("{} cut at {}", tag, n));
            assert!(reason(&report).ends_with("] Unexpected EOF reading RDB file"), "{} cut at {}:\n{}", tag, n, report);
        }
    }
    // Spot checks of the state, as redis-check-rdb reports it.
    let data = &files[0].1;
    let (_, r) = check_both(&dir, "cut.rdb", &data[..5]);
    assert!(r.contains("[offset 0] Unexpected EOF reading RDB file\n[additional info] While doing: start\n"), "{}", r);
    let (_, r) = check_both(&dir, "cut.rdb", &data[..9]);
    assert!(r.contains("[offset 9] Unexpected EOF reading RDB file\n[additional info] While doing: read-type\n"), "{}", r);
    let (_, r) = check_both(&dir, "cut.rdb", &data[..data.len() - 4]);
    assert!(r.contains(&format!("[offset {}] Unexpected EOF reading RDB file\n[additional info] While doing: check-sum\n", data.len() - 8)), "{}", r);
    // Inside the value of "foo": the key and its type are named, and the
    // key is counted.
    let at = data.windows(5).position(|w| w == b"\x03foo\x03").expect("foo in the dump") + 5;
    let (_, r) = check_both(&dir, "cut.rdb", &data[..at]);
    assert!(r.contains("While doing: read-object-value\n[additional info] Reading key 'foo'\n[additional info] Reading type 0 (string)\n"), "{}", r);
}

#[test]
fn a_flipped_byte_anywhere_is_reported_as_the_reference_does() {
    let files = small_dumps_of_both();
    let dir = TempDir::new("checkrdb");
    for (tag, data) in &files {
        for i in 0..data.len() {
            let mut d = data.clone();
            d[i] ^= 0xff;
            let (code, report) = check_both(&dir, &format!("{}-flip.rdb", tag), &d);
            // "0010" with its last digit flipped reads as version 1 (atoi),
            // which has no checksum: both tools accept that file.
            if i == 8 && d.starts_with(b"REDIS001") {
                continue;
            }
            assert_eq!(code, 1, "{} flipped at {}:\n{}", tag, i, report);
            assert_error_block(&report, &format!("{} flipped at {}", tag, i));
        }
    }
    // A flipped byte inside a string value: only the checksum sees it.
    let data = &files[0].1;
    let at = data.windows(4).position(|w| w == b"\x03bar").expect("bar in the dump") + 1;
    let mut d = data.clone();
    d[at] = b'c';
    let (code, r) = check_both(&dir, "crc.rdb", &d);
    assert_eq!(code, 1);
    assert!(r.contains(&format!("[offset {}] RDB CRC error\n[additional info] While doing: check-sum\n", d.len())), "{}", r);
    assert!(r.ends_with("[info] 9 keys read\n[info] 1 expires\n[info] 0 already expired\n"), "{}", r);
}

#[test]
fn bad_signature_version_and_type() {
    let srv = Server::start(&[]);
    let data = small_dump(&srv);
    let dir = TempDir::new("checkrdb");

    let mut d = data.clone();
    d[..5].copy_from_slice(b"RUDIS");
    let (code, r) = check_both(&dir, "sig.rdb", &d);
    assert_eq!(code, 1);
    assert_eq!(reason(&r), "[offset 9] Wrong signature trying to load DB from file");
    assert!(r.contains("While doing: start\n[additional info] Reading type 0 (string)\n[info] 0 keys read\n"), "{}", r);

    let mut d = data.clone();
    d[5..9].copy_from_slice(b"0099");
    let (code, r) = check_both(&dir, "ver.rdb", &d);
    assert_eq!(code, 1);
    assert_eq!(reason(&r), "[offset 9] Can't handle RDB format version 99");

    // The type byte of "foo" (after a SELECT and the rest): 51 is no type.
    let at = data.windows(5).position(|w| w == b"\x00\x03foo").expect("foo in the dump");
    let mut d = data.clone();
    d[at] = 51;
    let (code, r) = check_both(&dir, "type.rdb", &d);
    assert_eq!(code, 1);
    assert_eq!(reason(&r), format!("[offset {}] Invalid object type: 51", at + 1));
    assert!(r.contains("[additional info] While doing: read-type\n"), "{}", r);

    // A damaged ziplist inside a value: the loader's own message.
    let at = data.windows(3).position(|w| w == b"\x0c\x01z").expect("z in the dump");
    let mut d = data.clone();
    d[at + 4] ^= 0x55; // the ziplist's total-bytes header
    let (code, r) = check_both(&dir, "zl.rdb", &d);
    assert_eq!(code, 1);
    assert!(reason(&r).ends_with("-> Zset ziplist integrity check failed."), "{}", r);
    assert!(r.contains("[additional info] Reading key 'z'\n[additional info] Reading type 12 (zset-ziplist)\n"), "{}", r);
}

#[test]
fn usage_and_missing_file() {
    let out = Command::new(OXREDIS).arg0("oxredis-check-rdb").output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage: oxredis-check-rdb <rdb-file-name>"));
    let dir = TempDir::new("checkrdb");
    let (code, r) = ox_check(&dir.join("nope.rdb"));
    assert_eq!(code, 1);
    assert_eq!(r, format!("[offset 0] Checking RDB file {}\n", dir.join("nope.rdb").display()));
}

/// Starts oxredis on `dump` as its dump.rdb and waits for it to exit:
/// (exit status, log).
fn start_on_damaged(dump: &[u8]) -> (std::process::ExitStatus, String) {
    let dir = TempDir::new("checkrdb-srv");
    std::fs::write(dir.join("dump.rdb"), dump).expect("write dump.rdb");
    match common::start_ready_or_exit(&dir.path) {
        (_, Err((status, log))) => {
            assert!(!log.contains("panicked"), "panic: {}", log);
            (status, log)
        }
        (mut child, Ok(_)) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server started on a damaged dump.rdb");
        }
    }
}

#[test]
fn a_server_started_on_a_damaged_dump_logs_the_check_and_exits() {
    let srv = Server::start(&[]);
    let data = small_dump(&srv);
    drop(srv);
    let foo = data.windows(5).position(|w| w == b"\x03foo\x03").expect("foo in the dump") + 5;
    let mut crc = data.clone();
    crc[foo] = b'c';
    let z = data.windows(3).position(|w| w == b"\x0c\x01z").expect("z in the dump");
    let mut zl = data.clone();
    zl[z + 4] ^= 0x55;
    for (what, dump, expect) in [
        ("truncated", &data[..foo], "Unexpected EOF reading RDB file"),
        ("checksum", &crc[..], "RDB CRC error"),
        ("ziplist", &zl[..], "Zset ziplist integrity check failed."),
    ] {
        let (status, log) = start_on_damaged(dump);
        assert_eq!(status.code(), Some(1), "{}: exit status {:?}; log:\n{}", what, status, log);
        let at = |needle: &str| log.find(needle).unwrap_or_else(|| panic!("{}: no {:?} in the log:\n{}", what, needle, log));
        let checking = at("[offset 0] Checking RDB file dump.rdb");
        let block = at("--- RDB ERROR DETECTED ---");
        let reason = at(expect);
        let counters = at(" already expired");
        let terminating = at("Terminating server after rdb file reading failure.");
        assert!(checking < block && block < terminating && counters < terminating, "{}: order in the log:\n{}", what, log);
        assert!(reason < terminating, "{}", log);
        assert!(!log.contains("Ready to accept connections"), "{}", log);
    }
}

/// Runs `tool` (oxredis under the name `oxredis-check-aof`, or the
/// reference) on an AOF file: (exit code, stdout).
fn check_aof(reference: bool, path: &Path) -> Option<(i32, String)> {
    let mut cmd = if reference { Command::new("redis-check-aof") } else { Command::new(OXREDIS) };
    if !reference {
        cmd.arg0("oxredis-check-aof");
    }
    let out = cmd.arg(path).stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
    Some((out.status.code()?, String::from_utf8_lossy(&out.stdout).into_owned()))
}

/// The RDB part of a check-aof report (from the checker's first line to
/// the preamble verdict) and the `ok_up_to=…` numbers of the AOF part.
fn preamble_parts(report: &str) -> (String, String) {
    let from = report.find("[offset 0] Checking RDB file").unwrap_or(report.len());
    let to = report[from..].find("RDB preamble ").map(|i| from + i + report[from + i..].find('\n').unwrap_or(0)).unwrap_or(report.len());
    let up_to = report.find("ok_up_to=").map(|i| report[i..].lines().next().unwrap_or("").to_string()).unwrap_or_default();
    (normalize(&report[from..to]), up_to)
}

#[test]
fn check_aof_checks_an_rdb_preamble_with_this_checker() {
    let srv = Server::start(&[]);
    let rdb = small_dump(&srv);
    let tail = b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n";
    let dir = TempDir::new("checkrdb-aof");
    let cases: [(&str, Vec<u8>, i32, &str); 3] = [
        ("good", [&rdb[..], &tail[..]].concat(), 0, "RDB preamble is OK, proceeding with AOF tail..."),
        ("bad-tail", [&rdb[..], &tail[..tail.len() - 3]].concat(), 1, "RDB preamble is OK, proceeding with AOF tail..."),
        ("bad-preamble", rdb[..rdb.len() / 2].to_vec(), 1, "RDB preamble of AOF file is not sane, aborting."),
    ];
    for (what, data, want, verdict) in cases {
        let path = dir.join(&format!("{}.aof", what));
        std::fs::write(&path, &data).expect("write aof");
        let (code, report) = check_aof(false, &path).expect("run oxredis-check-aof");
        assert_eq!(code, want, "{}:\n{}", what, report);
        assert!(report.starts_with("The AOF appears to start with an RDB preamble.\nChecking the RDB preamble to start:\n[offset 0] Checking RDB file "), "{}:\n{}", what, report);
        assert!(report.contains(&format!("\n{}\n", verdict)), "{}:\n{}", what, report);
        if what == "good" {
            let n = rdb.len() + tail.len();
            assert!(report.contains(&format!("AOF analyzed: size={}, ok_up_to={}, ok_up_to_line=8, diff=0\nAOF is valid\n", n, n)), "{}", report);
        }
        if what == "bad-tail" {
            assert!(report.contains(&format!("ok_up_to={}, ok_up_to_line=7, diff=", rdb.len())), "{}", report);
        }
        // Redis 7's tool prints the same RDB part and the same numbers.
        if let Some((rcode, rreport)) = check_aof(true, &path) {
            assert_eq!(code, rcode, "{}: ours\n{}\nreference\n{}", what, report, rreport);
            assert_eq!(preamble_parts(&report), preamble_parts(&rreport), "{}", what);
        }
    }
}
