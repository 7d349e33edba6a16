//! `oxredis-check-aof [--fix] <file.aof>`: the AOF checker (mirrors
//! redis-check-aof.c). It is the server binary started under another name.
//!
//! 1. Walk the file command by command, checking each `*<argc>` and
//!    `$<len>` header, the payloads and their `\r\n`, and that MULTI/EXEC
//!    pair up; remember the offset after the last complete command (or the
//!    start of an unfinished MULTI).
//! 2. Print `AOF analyzed: size=…, ok_up_to=…, ok_up_to_line=…, diff=…`
//!    with the first error found, then `AOF is valid` (exit 0), or `AOF is
//!    not valid…` (exit 1), or with `--fix` ask `Continue? [y/N]:` and
//!    truncate the file there only on `y`.
//!
//! A file that starts with `REDIS` has an RDB preamble: it is checked
//! first with oxredis-check-rdb's report, and the AOF walk starts after it.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};

struct Checker<R> {
    r: R,
    /// Bytes consumed so far (`ftello`).
    pos: u64,
    /// Offset where the current header started (`epos`), for errors.
    epos: u64,
    line: u64,
    error: String,
}

impl<R: BufRead> Checker<R> {
    fn err(&mut self, msg: String) {
        self.error = format!("0x{:16x}: {}", self.epos, msg);
    }

    /// fgets(buf, 128): up to 127 bytes, through the first '\n'.
    fn read_line(&mut self) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        while out.len() < 127 {
            let avail = match self.r.fill_buf() {
                Ok(a) => a,
                Err(_) => break,
            };
            if avail.is_empty() {
                break;
            }
            let take = avail.len().min(127 - out.len());
            match avail[..take].iter().position(|&b| b == b'\n') {
                Some(i) => {
                    out.extend_from_slice(&avail[..=i]);
                    self.r.consume(i + 1);
                    self.pos += i as u64 + 1;
                    return Some(out);
                }
                None => {
                    out.extend_from_slice(&avail[..take]);
                    self.r.consume(take);
                    self.pos += take as u64;
                }
            }
        }
        if out.is_empty() {
            None
        } else {
            Some(out)
        }
    }

    fn consume_newline(&mut self, b: &[u8]) -> bool {
        if b.len() < 2 || &b[..2] != b"\r\n" {
            let x = b.first().copied().unwrap_or(0);
            let y = b.get(1).copied().unwrap_or(0);
            self.err(format!("Expected \\r\\n, got: {:02x}{:02x}", x, y));
            return false;
        }
        self.line += 1;
        true
    }

    /// `readLong`: a line `<prefix><number>\r\n`.
    fn read_long(&mut self, prefix: u8) -> Option<i64> {
        self.epos = self.pos;
        let buf = self.read_line()?;
        if buf[0] != prefix {
            self.err(format!("Expected prefix '{}', got: '{}'", prefix as char, buf[0] as char));
            return None;
        }
        // strtol: optional sign, digits; the rest must start with \r\n.
        let mut i = 1;
        let neg = matches!(buf.get(1), Some(b'-'));
        if matches!(buf.get(1), Some(b'-') | Some(b'+')) {
            i += 1;
        }
        let mut n: i64 = 0;
        while i < buf.len() && buf[i].is_ascii_digit() {
            n = n.saturating_mul(10).saturating_add((buf[i] - b'0') as i64);
            i += 1;
        }
        if !self.consume_newline(&buf[i..]) {
            return None;
        }
        Some(if neg { -n } else { n })
    }

    /// `readString`: `$<len>\r\n<len bytes>\r\n`.
    fn read_string(&mut self) -> Option<Vec<u8>> {
        let len = self.read_long(b'$')?;
        if len < 0 || len > i64::MAX - 2 {
            self.err(format!("Expected to read string of {} bytes, which is not in the suitable range", len));
            return None;
        }
        let want = len as u64 + 2;
        self.epos = self.pos;
        // Read as the bytes come, so that a damaged huge length costs
        // only what the file really holds.
        let mut data = Vec::new();
        let _ = (&mut self.r).take(want).read_to_end(&mut data);
        let got = data.len() as u64;
        self.pos += got;
        if got != want {
            self.err(format!("Expected to read {} bytes, got {} bytes", want, got));
            return None;
        }
        let body = data.len() - 2;
        let tail = data[body..].to_vec();
        if !self.consume_newline(&tail) {
            return None;
        }
        data.truncate(body);
        Some(data)
    }

    /// `process`: returns the offset up to which the file is valid.
    fn process(&mut self) -> (u64, bool) {
        let mut pos = 0;
        let mut multi = 0i32;
        let mut eof = false;
        loop {
            if multi == 0 {
                pos = self.pos;
            }
            let Some(argc) = self.read_long(b'*') else {
                eof = self.error.is_empty();
                break;
            };
            let mut complete = true;
            for i in 0..argc.max(0) {
                let Some(s) = self.read_string() else {
                    complete = false;
                    eof = self.error.is_empty();
                    break;
                };
                if i == 0 {
                    if s.eq_ignore_ascii_case(b"multi") {
                        multi += 1;
                        if multi > 1 {
                            self.err("Unexpected MULTI".into());
                            complete = false;
                            break;
                        }
                    } else if s.eq_ignore_ascii_case(b"exec") {
                        multi -= 1;
                        if multi != 0 {
                            self.err("Unexpected EXEC".into());
                            complete = false;
                            break;
                        }
                    }
                }
            }
            if !complete {
                break;
            }
        }
        if eof && multi != 0 && self.error.is_empty() {
            self.err("Reached EOF before reading EXEC for MULTI".into());
        }
        (pos, !self.error.is_empty())
    }
}

/// Entry point; returns the exit code.
pub fn main(args: Vec<String>) -> i32 {
    let prog = args.first().cloned().unwrap_or_else(|| "oxredis-check-aof".into());
    let (path, fix) = match args.len() {
        0 | 1 => {
            println!("Usage: {} [--fix] <file.aof>", prog);
            return 1;
        }
        2 => (args[1].clone(), false),
        3 => {
            if args[1] != "--fix" {
                println!("Invalid argument: {}", args[1]);
                return 1;
            }
            (args[2].clone(), true)
        }
        _ => {
            println!("Invalid arguments");
            return 1;
        }
    };
    let file = match OpenOptions::new().read(true).write(true).open(&path) {
        Ok(f) => f,
        Err(_) => {
            println!("Cannot open file: {}", path);
            return 1;
        }
    };
    let size = match file.metadata() {
        Ok(m) => m.len(),
        Err(_) => {
            println!("Cannot stat file: {}", path);
            return 1;
        }
    };
    if size == 0 {
        println!("Empty file: {}", path);
        return 1;
    }
    // An RDB preamble is checked by oxredis-check-rdb's code; the AOF
    // check goes on after it, with absolute offsets.
    let mut start = 0;
    if size >= 8 {
        let mut sig = [0u8; 5];
        if (&file).read_exact(&mut sig).is_ok() && &sig == b"REDIS" {
            println!("The AOF appears to start with an RDB preamble.\nChecking the RDB preamble to start:");
            match crate::check_rdb::check_aof_preamble(&path) {
                Some(end) => {
                    println!("RDB preamble is OK, proceeding with AOF tail...");
                    start = end;
                }
                None => {
                    println!("RDB preamble of AOF file is not sane, aborting.");
                    return 1;
                }
            }
        }
    }
    let reader = match std::fs::File::open(&path).and_then(|mut f| f.seek(SeekFrom::Start(start)).map(|_| f)) {
        Ok(f) => BufReader::with_capacity(64 * 1024, f),
        Err(_) => {
            println!("Cannot open file: {}", path);
            return 1;
        }
    };
    let mut ck = Checker { r: reader, pos: start, epos: start, line: 1, error: String::new() };
    let (pos, had_error) = ck.process();
    if had_error {
        println!("{}", ck.error);
    }
    let diff = size.saturating_sub(pos);
    println!("AOF analyzed: size={}, ok_up_to={}, ok_up_to_line={}, diff={}", size, pos, ck.line, diff);
    if diff > 0 {
        if fix {
            println!("This will shrink the AOF from {} bytes, with {} bytes, to {} bytes", size, diff, pos);
            print!("Continue? [y/N]: ");
            let _ = std::io::stdout().flush();
            let mut answer = String::new();
            let n = std::io::stdin().read_line(&mut answer).unwrap_or(0);
            if n == 0 || !answer.to_ascii_lowercase().starts_with('y') {
                println!("Aborting...");
                return 1;
            }
            if file.set_len(pos).is_err() {
                println!("Failed to truncate AOF");
                return 1;
            }
            println!("Successfully truncated AOF");
        } else {
            println!("AOF is not valid. Use the --fix option to try fixing it.");
            return 1;
        }
    } else {
        println!("AOF is valid");
    }
    0
}
