//! `oxredis-check-rdb <file.rdb>`: the RDB checker (mirrors
//! redis-check-rdb.c). It is the server binary started under another name,
//! and the server runs it too when `dbfilename` fails to load at start-up.
//!
//! 1. Print `[offset 0] Checking RDB file <name>`, then drive the loader's
//!    own [`RdbParser`] over the file (no second parser: what the checker
//!    accepts is exactly what the server loads), with the CRC-64 on.
//! 2. Report as Redis does, each line prefixed with the stream offset after
//!    what was read: every AUX field, every SELECTDB, then `Checksum OK`
//!    (or the "checksum disabled" note for a zero trailer), `\o/ RDB looks
//!    OK! \o/` and the counters (`[info] N keys read`, `N expires`, `N
//!    already expired`); exit code 0.
//! 3. On the first problem print the `--- RDB ERROR DETECTED ---` block:
//!    the reason at its offset, the state (`While doing: …`, with
//!    redis-check-rdb's state names), the key and the type byte being read
//!    when known, the counters; exit code 1.
//!
//! Where Redis 6.2's and 7.0's tools differ this follows 6.2: a damaged
//! value is reported once, with no `Terminating server…` log line inside
//! the checker's own output (7.0 adds one), and `-v` is a file name, not a
//! version request. The reason lines are Redis's: `Unexpected EOF reading
//! RDB file`, `Wrong signature trying to load DB from file`, `Can't handle
//! RDB format version N`, `Invalid object type: N`, `RDB CRC error`, and for
//! damage found inside rdb.c's readers `Internal error in RDB reading offset
//! N, function at rdb_load.rs -> <the loader's message>` (Redis names its
//! `rdb.c:<line>` there and prints offset 0; we print the real offset). As
//! in Redis, `Reading type 0 (string)` shows up in errors before the first
//! key was complete: Redis's type state starts at 0, not "none".
//!
//! Known differences, because the checker accepts what oxredis loads:
//! RDB version 11 (Redis 7.2, set listpacks) is accepted; streams, module
//! values, zipmaps and function libraries are refused (Redis 7's tool
//! reads them); compact values are validated more deeply (a zset ziplist
//! score must be a number), and where Redis's readers fail silently (its
//! tool then says `Unexpected EOF reading RDB file`) the loader's message
//! is shown instead. Like Redis's tool, a key with an empty value (which
//! the loader skips) stops the check with `Unexpected EOF reading RDB
//! file`, so that both tools agree line by line on damaged files.
//!
//! `oxredis-check-aof` checks an AOF's RDB preamble with this checker
//! ([`check_aof_preamble`]), as redis-check-aof does.

use std::io::Write;

use crate::rdb_load::{type_name, Item, Limits, RdbError, RdbParser, RdbReader};

/// The counters and the position being read (`rdbstate`).
struct CheckState {
    keys: u64,
    expires: u64,
    already_expired: u64,
    /// The type byte of the key being read; Redis's starts at 0.
    key_type: Option<u8>,
    /// Bytes read when the check ended.
    offset: u64,
}

/// Where the report goes: stdout for the tool, the log for the server.
type Out<'a> = &'a mut dyn FnMut(&[u8]);

/// `printf("%s")` of a Redis string: the bytes up to the first NUL.
fn c_str(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(i) => &b[..i],
        None => b,
    }
}

/// Redis's name for what the parser was doing (`rdb_check_doing_string`):
/// the header is still "start", SELECTDB and RESIZEDB read lengths, and
/// the FREQ / IDLE opcodes never leave "read-type".
fn doing_name(doing: &'static str) -> &'static str {
    match doing {
        "check-signature" | "check-version" => "start",
        "select-db" | "resize-db" => "read-len",
        "read-lfu" | "read-lru" => "read-type",
        d => d,
    }
}

impl CheckState {
    /// `rdbCheckInfo`.
    fn info(out: Out<'_>, offset: u64, msg: &[u8]) {
        let mut line = format!("[offset {}] ", offset).into_bytes();
        line.extend_from_slice(msg);
        out(&line);
    }

    /// `rdbShowGenericInfo`.
    fn show_generic_info(&self, out: Out<'_>) {
        out(format!("[info] {} keys read", self.keys).as_bytes());
        out(format!("[info] {} expires", self.expires).as_bytes());
        out(format!("[info] {} already expired", self.already_expired).as_bytes());
    }

    /// `rdbCheckError`: the error block.
    fn error(&self, out: Out<'_>, offset: u64, msg: &str, doing: &str, key: Option<&[u8]>) {
        out(b"--- RDB ERROR DETECTED ---");
        out(format!("[offset {}] {}", offset, msg).as_bytes());
        out(format!("[additional info] While doing: {}", doing).as_bytes());
        if let Some(k) = key {
            let mut line = b"[additional info] Reading key '".to_vec();
            line.extend_from_slice(c_str(k));
            line.push(b'\'');
            out(&line);
        }
        if let Some(t) = self.key_type {
            out(format!("[additional info] Reading type {} ({})", t, type_name(t)).as_bytes());
        }
        self.show_generic_info(out);
    }
}

/// Checks the RDB file at `path` (`redis_check_rdb`), reporting to `out`
/// line by line (no newlines) and counting into `st`. Returns true if the
/// file looks sane; a file that cannot be opened is false with nothing
/// reported.
fn redis_check_rdb(path: &str, st: &mut CheckState, out: Out<'_>) -> bool {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(_) => return false,
    };
    let total = f.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    let lim = Limits::from_config(&crate::config::Config::with_defaults());
    let mut p = RdbParser::new(RdbReader::new(f, total, true), lim);
    let now = crate::util::mstime();

    if let Err(e) = p.read_header() {
        let msg = match e {
            RdbError::Corrupt(m) => m,
            RdbError::Eof | RdbError::Io(_) => "Unexpected EOF reading RDB file".to_string(),
        };
        st.error(out, p.r.offset(), &msg, "start", None);
        return false;
    }
    loop {
        let item = match p.next_item() {
            Ok(item) => item,
            Err(e) => {
                let doing = doing_name(p.doing);
                let offset = p.r.offset();
                let msg = match e {
                    RdbError::Eof | RdbError::Io(_) => "Unexpected EOF reading RDB file".to_string(),
                    // Only the type byte can be wrong while reading it:
                    // the checker's own message, with the byte.
                    RdbError::Corrupt(m) if doing == "read-type" => match m.rsplit(' ').next().and_then(|n| n.parse::<u8>().ok()) {
                        Some(t) => format!("Invalid object type: {}", t),
                        None => m,
                    },
                    RdbError::Corrupt(m) => format!("Internal error in RDB reading offset {}, function at rdb_load.rs -> {}", offset, m),
                };
                if p.key_type.is_some() {
                    st.key_type = p.key_type;
                }
                // The key was read (and counted, as Redis does) when its
                // value failed.
                let key = if doing == "read-object-value" { p.failed_key.take() } else { None };
                if key.is_some() {
                    st.keys += 1;
                }
                st.error(out, offset, &msg, doing, key.as_deref());
                return false;
            }
        };
        match item {
            Item::Aux(k, v) => {
                let mut msg = b"AUX FIELD ".to_vec();
                msg.extend_from_slice(c_str(&k));
                msg.extend_from_slice(b" = '");
                msg.extend_from_slice(c_str(&v));
                msg.push(b'\'');
                CheckState::info(out, p.r.offset(), &msg);
            }
            Item::SelectDb(id) => CheckState::info(out, p.r.offset(), format!("Selecting DB ID {}", id).as_bytes()),
            Item::ResizeDb(..) => {}
            Item::Key(k) => {
                st.keys += 1;
                if k.expire != -1 {
                    st.expires += 1;
                    if k.expire < now {
                        st.already_expired += 1;
                    }
                }
                st.key_type = None;
            }
            // Redis's tool takes the loader's "empty key, skip it" for a
            // failed read and stops there, though the server loads the
            // file: so do we, to report as it does.
            Item::EmptyKey(k) => {
                st.keys += 1;
                st.key_type = p.key_type;
                st.error(out, p.r.offset(), "Unexpected EOF reading RDB file", "read-object-value", Some(&k));
                return false;
            }
            Item::Eof { stored: None, .. } => {
                st.offset = p.r.offset();
                return true;
            }
            Item::Eof { stored: Some(0), .. } => {
                st.offset = p.r.offset();
                CheckState::info(out, st.offset, b"RDB file was saved with checksum disabled: no check performed.");
                return true;
            }
            Item::Eof { stored: Some(stored), computed } => {
                if stored != computed {
                    st.error(out, p.r.offset(), "RDB CRC error", "check-sum", None);
                    return false;
                }
                st.offset = p.r.offset();
                CheckState::info(out, st.offset, b"Checksum OK");
                return true;
            }
        }
    }
}

/// The checker's whole run over `path` (`redis_check_rdb_main` after its
/// argument check): the opening line, the check, the verdict. Returns the
/// offset just past the RDB (its checksum) if it looks sane.
fn check_and_report(path: &str, out: Out<'_>) -> Option<u64> {
    CheckState::info(out, 0, format!("Checking RDB file {}", path).as_bytes());
    let mut st = CheckState { keys: 0, expires: 0, already_expired: 0, key_type: Some(0), offset: 0 };
    if !redis_check_rdb(path, &mut st, out) {
        return None;
    }
    CheckState::info(out, st.offset, b"\\o/ RDB looks OK! \\o/");
    st.show_generic_info(out);
    Some(st.offset)
}

/// Prints report lines on stdout, as the tool does.
fn to_stdout(f: impl FnOnce(Out<'_>) -> Option<u64>) -> Option<u64> {
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    let res = f(&mut |line: &[u8]| {
        let _ = w.write_all(line);
        let _ = w.write_all(b"\n");
    });
    let _ = w.flush();
    res
}

/// Entry point of `oxredis-check-rdb <file>`; returns the exit code.
pub fn main(args: Vec<String>) -> i32 {
    if args.len() != 2 {
        let prog = args.first().map(String::as_str).unwrap_or("oxredis-check-rdb");
        eprintln!("Usage: {} <rdb-file-name>", prog);
        return 1;
    }
    match to_stdout(|out| check_and_report(&args[1], out)) {
        Some(_) => 0,
        None => 1,
    }
}

/// Checks the RDB preamble of an AOF file for `oxredis-check-aof` (which
/// calls `redis_check_rdb_main` with its open file in Redis), printing the
/// report; returns the offset where the AOF tail starts if it is sane.
pub fn check_aof_preamble(path: &str) -> Option<u64> {
    to_stdout(|out| check_and_report(path, out))
}

/// Runs the checker on a file the server failed to load at start-up and
/// logs its report (`rdbReportError` runs `redis_check_rdb_main` there).
pub fn check_after_load_failure(path: &str) {
    check_and_report(path, &mut |line: &[u8]| log::warn!("{}", String::from_utf8_lossy(line)));
}
