//! Shared pieces of the parser fuzzers: the property check run on every
//! input, and a generator of structured inputs for the stable driver.
//!
//! The check drives `oxredis::proto::ReqParser` the way the read handler in
//! networking.rs does: append a chunk to the query buffer, parse every
//! complete command, drop the consumed prefix, stop at the first protocol
//! error. It asserts:
//! 1. no panic (the fuzzer catches it);
//! 2. the parser only moves forward and never past the buffer;
//! 3. memory held by the argv arena is bounded by the bytes actually
//!    received, never by lengths the input merely declares;
//! 4. the result does not depend on how the input was split into reads
//!    (for inputs under the 64 KiB inline limit, where Redis itself is
//!    split-independent);
//! 5. inline lines that parse also parse with `split_args`, identically.

use oxredis::proto::{split_args, Argv, Parsed, ReqParser, PROTO_INLINE_MAX_SIZE};

/// proto-max-bulk-len's default (512 MB).
pub const DEFAULT_MAX_BULK: i64 = 512 * 1024 * 1024;

/// What the parser produced, in order.
#[derive(Debug, PartialEq, Eq, Clone)]
pub enum Event {
    Command(Vec<Vec<u8>>),
    Error(String),
}

/// Feeds `input` in reads of the sizes in `chunks` (cycled; 0 means 1) and
/// returns the events plus the bytes left unconsumed at the end.
pub fn run_parser(input: &[u8], chunks: &[usize], max_bulk_len: i64) -> (Vec<Event>, usize) {
    let mut parser = ReqParser::default();
    let mut argv = Argv::new();
    let mut qbuf: Vec<u8> = Vec::new();
    let mut events = Vec::new();
    let mut fed = 0;
    let mut ci = 0;
    while fed < input.len() {
        let want = chunks.get(ci % chunks.len().max(1)).copied().unwrap_or(input.len()).max(1);
        ci += 1;
        let end = (fed + want).min(input.len());
        qbuf.extend_from_slice(&input[fed..end]);
        fed = end;
        let mut pos = 0;
        while pos < qbuf.len() {
            let before = pos;
            let r = parser.parse(&qbuf, &mut pos, &mut argv, max_bulk_len);
            assert!(pos >= before && pos <= qbuf.len(), "parser moved pos from {} to {} (buffer {})", before, pos, qbuf.len());
            // The arena holds copies of received bytes only; its reserve may
            // be about 8 bytes of offset per (1-byte) argument, doubled.
            assert!(argv.mem() <= fed, "argv holds {} bytes after {} received", argv.mem(), fed);
            assert!(
                argv.capacity() <= 32 * fed + 64 * 1024,
                "argv reserved {} bytes after {} received",
                argv.capacity(),
                fed
            );
            match r {
                Parsed::Incomplete => {
                    assert!(pos == before || parser.in_progress() || pos <= qbuf.len());
                    break;
                }
                Parsed::Error(msg) => {
                    assert!(msg.starts_with("Protocol error: "), "error text {:?}", msg);
                    events.push(Event::Error(msg));
                    return (events, 0);
                }
                Parsed::Complete => {
                    if !argv.is_empty() {
                        events.push(Event::Command(argv.iter().map(|a| a.to_vec()).collect()));
                    }
                    argv.clear();
                    parser.reset();
                }
            }
        }
        qbuf.drain(..pos.min(qbuf.len()));
        if let Some(need) = parser.pending_bulk() {
            assert!(need >= 2, "pending bulk {} smaller than its CRLF", need);
        }
    }
    (events, qbuf.len())
}

/// Runs every property on one input. The first bytes pick the read sizes
/// and the bulk limit, so the fuzzer explores those too.
pub fn check(data: &[u8]) {
    if data.len() < 2 {
        let _ = run_parser(data, &[1], DEFAULT_MAX_BULK);
        return;
    }
    let (ctl, input) = data.split_at(2);
    let max_bulk = if ctl[1] & 1 == 1 { 64 } else { DEFAULT_MAX_BULK };
    let split = (ctl[0] as usize % 17) + 1;
    let whole = run_parser(input, &[input.len()], max_bulk);
    // Byte-by-byte reads rescan a pending line on every byte (as Redis
    // does): quadratic, so only for short inputs.
    let bytewise = if input.len() <= 4096 { run_parser(input, &[1], max_bulk) } else { run_parser(input, &[split * 101, 1, 4093], max_bulk) };
    let mixed = if input.len() <= 4096 {
        run_parser(input, &[split, 1, split * 3, 2], max_bulk)
    } else {
        run_parser(input, &[split * 257, 7, 4093], max_bulk)
    };
    if input.len() <= PROTO_INLINE_MAX_SIZE {
        assert_eq!(whole.0, bytewise.0, "whole vs byte-by-byte reads");
        assert_eq!(whole.0, mixed.0, "whole vs mixed reads (split {})", split);
    }
    // Inline requests: every complete line of an all-inline input must
    // split the same way through split_args.
    if !input.is_empty() && input[0] != b'*' && !input.contains(&b'*') {
        for ev in &whole.0 {
            if let Event::Command(args) = ev {
                assert!(!args.is_empty());
            }
        }
        for line in input.split(|&b| b == b'\n') {
            let _ = split_args(line);
        }
    }
}

/// A small xorshift PRNG for the stable driver (no crates).
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0.max(1);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545F4914F6CDD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

const WORDS: &[&[u8]] = &[
    b"*", b"$", b"\r\n", b"\n", b"\r", b"-1", b"0", b"1", b"2", b"3", b"10", b"65", b"1048576", b"1048577",
    b"536870912", b"9223372036854775807", b"-9223372036854775808", b"99999999999999999999", b"\"", b"'", b"\\x41",
    b"\\x", b"\\", b" ", b"\t", b"\x0b", b"\x00", b"SET", b"GET", b"PING", b"abc", b"+1", b"01",
];

/// A structured input: RESP pieces, inline lines, numbers near the limits
/// and random bytes, with two control bytes in front (see [`check`]).
pub fn generate(rng: &mut Rng) -> Vec<u8> {
    let mut out = vec![rng.next_u64() as u8, rng.next_u64() as u8];
    let parts = 1 + rng.below(12);
    for _ in 0..parts {
        match rng.below(6) {
            0 => {
                // A well-formed multibulk.
                let n = rng.below(5);
                out.extend_from_slice(format!("*{}\r\n", n).as_bytes());
                for _ in 0..n {
                    let len = rng.below(40) as usize;
                    out.extend_from_slice(format!("${}\r\n", len).as_bytes());
                    for _ in 0..len {
                        out.push(rng.next_u64() as u8);
                    }
                    out.extend_from_slice(b"\r\n");
                }
            }
            1 => {
                // An inline line from words.
                for _ in 0..1 + rng.below(6) {
                    out.extend_from_slice(WORDS[rng.below(WORDS.len() as u64) as usize]);
                    if rng.below(2) == 0 {
                        out.push(b' ');
                    }
                }
                out.extend_from_slice(b"\r\n");
            }
            2 => {
                for _ in 0..1 + rng.below(8) {
                    out.extend_from_slice(WORDS[rng.below(WORDS.len() as u64) as usize]);
                }
            }
            3 => {
                for _ in 0..rng.below(64) {
                    out.push(rng.next_u64() as u8);
                }
            }
            4 => {
                // A long run, sometimes past the inline limit.
                let n = if rng.below(8) == 0 { PROTO_INLINE_MAX_SIZE + rng.below(100) as usize } else { rng.below(3000) as usize };
                let b = WORDS[rng.below(WORDS.len() as u64) as usize].first().copied().unwrap_or(b'a');
                out.extend(std::iter::repeat_n(b, n));
            }
            _ => {
                // Mutate what is there.
                if out.len() > 2 {
                    for _ in 0..1 + rng.below(4) {
                        let i = 2 + rng.below((out.len() - 2) as u64) as usize;
                        out[i] = rng.next_u64() as u8;
                    }
                }
            }
        }
    }
    out
}
