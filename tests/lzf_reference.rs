//! LZF against the reference `redis-server`: the values Redis writes into
//! dump.rdb with LZF must be byte for byte what `oxredis::lzf::compress`
//! produces, values Redis leaves uncompressed must be ones our compressor
//! rejects too, and DEBUG OBJECT's `serializedlength` must match the RDB
//! size estimate (`oxredis::object::rdb_string_len`) and oxredis's own
//! DEBUG OBJECT. Skipped with a message when redis-server is not installed.

mod common;

use common::{reference_or_skip, Reply, Server};
use oxredis::lzf;
use oxredis::object::rdb_string_len;

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Values of many shapes and sizes: runs, short and long periods, words,
/// random bytes over small and full alphabets, mixes, and sizes around the
/// thresholds (20/21 bytes, matches ending near the input's end).
fn corpus() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = Vec::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    v.push(b"abcdefghij".repeat(5));
    v.push(vec![b'x'; 133]);
    for n in 18..80 {
        v.push(vec![b'a'; n]);
        v.push(b"ab".repeat(n / 2 + 1)[..n].to_vec());
        v.push(b"abcdefg".repeat(n / 7 + 1)[..n].to_vec());
    }
    for &n in &[255usize, 256, 263, 264, 265, 266, 267, 270, 300, 1000, 8191, 8192, 8193, 8200, 10000, 100_000] {
        v.push(vec![b'z'; n]);
        v.push((0..n).map(|i| (i % 251) as u8).collect());
        v.push((0..n).map(|i| b"0123456789abcdef"[(i * 7 + i / 13) % 16]).collect());
    }
    let words: [&[u8]; 12] =
        [b"redis ", b"lzf ", b"compress ", b"the ", b"a ", b"value ", b"key ", b"database ", b"rust ", b"of ", b"and ", b"\n"];
    for _ in 0..60 {
        let n = 21 + rng.below(3000);
        let mut s = Vec::new();
        while s.len() < n {
            s.extend_from_slice(words[rng.below(words.len())]);
        }
        s.truncate(n);
        v.push(s);
    }
    for _ in 0..60 {
        let n = 21 + rng.below(2000);
        let alpha = 1 + rng.below(8);
        v.push((0..n).map(|_| rng.below(alpha) as u8).collect());
    }
    for _ in 0..30 {
        // Random bytes with a few repeats: compresses to about len - 4,
        // which exercises the out_cap checks.
        let n = 21 + rng.below(500);
        let mut s: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
        for _ in 0..rng.below(4) {
            let len = 3 + rng.below(6);
            if n > 2 * len {
                let from = rng.below(n - len);
                let to = rng.below(n - len);
                let chunk = s[from..from + len].to_vec();
                s[to..to + len].copy_from_slice(&chunk);
            }
        }
        v.push(s);
    }
    for _ in 0..10 {
        let n = 21 + rng.below(100_000);
        v.push((0..n).map(|_| rng.next() as u8).collect());
    }
    // Long text with long-distance repeats (offsets near 8 KiB).
    let mut long = Vec::new();
    let block: Vec<u8> = (0..8190).map(|_| b'a' + rng.below(26) as u8).collect();
    for _ in 0..12 {
        long.extend_from_slice(&block);
        long.push(rng.next() as u8);
    }
    v.push(long);
    v
}

/// An RDB string as stored: plain bytes, an integer, or LZF data.
#[derive(Debug)]
enum RdbStr {
    Raw(Vec<u8>),
    Int(#[allow(dead_code)] i64),
    Lzf { len: usize, data: Vec<u8> },
}

struct RdbReader<'a> {
    b: &'a [u8],
    p: usize,
}

impl<'a> RdbReader<'a> {
    fn byte(&mut self) -> u8 {
        let x = self.b[self.p];
        self.p += 1;
        x
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        let s = &self.b[self.p..self.p + n];
        self.p += n;
        s
    }
    /// A length, or Err(encoding) for a special string encoding.
    fn len(&mut self) -> Result<u64, u8> {
        let first = self.byte();
        match first >> 6 {
            0 => Ok((first & 0x3f) as u64),
            1 => Ok((((first & 0x3f) as u64) << 8) | self.byte() as u64),
            2 if first == 0x80 => Ok(u32::from_be_bytes(self.take(4).try_into().unwrap_or([0; 4])) as u64),
            2 if first == 0x81 => Ok(u64::from_be_bytes(self.take(8).try_into().unwrap_or([0; 8]))),
            3 => Err(first & 0x3f),
            _ => panic!("bad length byte {:#x}", first),
        }
    }
    fn string(&mut self) -> RdbStr {
        match self.len() {
            Ok(n) => RdbStr::Raw(self.take(n as usize).to_vec()),
            Err(0) => RdbStr::Int(self.byte() as i8 as i64),
            Err(1) => RdbStr::Int(i16::from_le_bytes([self.byte(), self.byte()]) as i64),
            Err(2) => RdbStr::Int(i32::from_le_bytes(self.take(4).try_into().unwrap_or([0; 4])) as i64),
            Err(3) => {
                let clen = self.len().unwrap_or_else(|e| panic!("clen encoding {}", e)) as usize;
                let len = self.len().unwrap_or_else(|e| panic!("len encoding {}", e)) as usize;
                RdbStr::Lzf { len, data: self.take(clen).to_vec() }
            }
            Err(e) => panic!("unknown string encoding {}", e),
        }
    }
}

/// The string key/value pairs of the one database in an RDB file written by
/// Redis 7.0 (string values only; other types fail the test).
fn parse_rdb_strings(b: &[u8]) -> Vec<(Vec<u8>, RdbStr)> {
    assert_eq!(&b[..5], b"REDIS", "RDB magic");
    let mut r = RdbReader { b, p: 9 };
    let mut out = Vec::new();
    loop {
        let op = r.byte();
        match op {
            0xff => break,
            0xfa => {
                r.string();
                r.string();
            }
            0xfe => {
                let _ = r.len();
            }
            0xfb => {
                let _ = r.len();
                let _ = r.len();
            }
            0xfc => {
                r.take(8);
            }
            0xfd => {
                r.take(4);
            }
            0xf8 => {
                let _ = r.len();
            }
            0xf9 => {
                r.byte();
            }
            0 => {
                let key = match r.string() {
                    RdbStr::Raw(k) => k,
                    other => panic!("unexpected key encoding {:?}", other),
                };
                let val = r.string();
                out.push((key, val));
            }
            t => panic!("unexpected RDB opcode/type {:#x} at {}", t, r.p - 1),
        }
    }
    out
}

fn serializedlength(c: &mut common::Conn, key: &[u8]) -> usize {
    let r = c.cmd(&[&b"DEBUG"[..], b"OBJECT", key]);
    let text = match r {
        Reply::Status(s) => s,
        other => panic!("DEBUG OBJECT: {:?}", other),
    };
    text.split_whitespace()
        .find_map(|f| f.strip_prefix("serializedlength:"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no serializedlength in {:?}", text))
}

#[test]
fn compressed_bytes_match_redis_rdb() {
    let Some(reference) = reference_or_skip(&[]) else { return };
    let values = corpus();
    let mut c = reference.conn();
    for (i, v) in values.iter().enumerate() {
        let key = format!("k{}", i);
        assert_eq!(c.cmd(&[&b"SET"[..], key.as_bytes(), v]), Reply::ok());
    }
    assert_eq!(c.q("SAVE"), Reply::ok());
    let rdb = std::fs::read(reference.dir.join("dump.rdb")).unwrap_or_else(|e| panic!("read dump.rdb: {}", e));
    let entries = parse_rdb_strings(&rdb);
    assert_eq!(entries.len(), values.len());
    let mut compressed = 0;
    let mut plain = 0;
    for (key, stored) in entries {
        let i: usize = std::str::from_utf8(&key[1..]).ok().and_then(|s| s.parse().ok()).unwrap_or(usize::MAX);
        let v = &values[i];
        match stored {
            RdbStr::Lzf { len, data } => {
                assert_eq!(len, v.len());
                let ours = lzf::compress(v, v.len() - 4);
                assert_eq!(ours.as_deref(), Some(&data[..]), "value #{} ({} bytes): compressed bytes differ", i, v.len());
                assert_eq!(lzf::decompress(&data, len).as_deref(), Ok(&v[..]), "value #{}: decompressing Redis's bytes", i);
                compressed += 1;
            }
            RdbStr::Raw(b) => {
                assert_eq!(&b, v);
                if v.len() > 20 {
                    assert_eq!(lzf::compress(v, v.len() - 4), None, "value #{} ({} bytes): Redis did not compress", i, v.len());
                }
                plain += 1;
            }
            RdbStr::Int(_) => panic!("value #{} saved as an integer", i),
        }
    }
    eprintln!("lzf vs redis-server: {} compressed values identical, {} left uncompressed by both", compressed, plain);
    assert!(compressed > 100 && plain > 10, "corpus covers both outcomes");
}

#[test]
fn serializedlength_matches_redis() {
    let Some(reference) = reference_or_skip(&[]) else { return };
    let ours = Server::start(&[]);
    let mut rc = reference.conn();
    let mut oc = ours.conn();
    let mut values = corpus();
    values.truncate(220);
    values.extend([b"12345".to_vec(), b"-7".to_vec(), b"123456789012".to_vec(), b"0123".to_vec(), Vec::new()]);
    for (i, v) in values.iter().enumerate() {
        let key = format!("k{}", i);
        assert_eq!(rc.cmd(&[&b"SET"[..], key.as_bytes(), v]), Reply::ok());
        assert_eq!(oc.cmd(&[&b"SET"[..], key.as_bytes(), v]), Reply::ok());
        let theirs = serializedlength(&mut rc, key.as_bytes());
        assert_eq!(rdb_string_len(v), theirs, "value #{} ({} bytes): estimate", i, v.len());
        assert_eq!(serializedlength(&mut oc, key.as_bytes()), theirs, "value #{} ({} bytes): oxredis DEBUG OBJECT", i, v.len());
    }
    // Hashtable-encoded hashes and sets are saved as a count then their
    // strings one by one (the same in 6.2 and 7.0), each compressed on its
    // own. (Computed from rdb_string_len: this branch has no HSET/SADD.)
    let mut rng = Rng(5);
    let (mut hash_len, mut set_len) = (0usize, 0usize);
    let n = 600;
    for i in 0..n {
        let k = 1 + rng.below(60);
        let field = format!("field:{}:{}", i, "ab".repeat(k));
        let value: Vec<u8> = (0..rng.below(80)).map(|_| b'a' + rng.below(3) as u8).collect();
        rc.cmd(&[&b"HSET"[..], b"bighash", field.as_bytes(), &value]);
        rc.cmd(&[&b"SADD"[..], b"bigset", field.as_bytes()]);
        hash_len += rdb_string_len(field.as_bytes()) + rdb_string_len(&value);
        set_len += rdb_string_len(field.as_bytes());
    }
    let count = oxredis::object::rdb_len_len(n);
    assert_eq!(serializedlength(&mut rc, b"bighash"), count + hash_len);
    assert_eq!(serializedlength(&mut rc, b"bigset"), count + set_len);
    // The two cases the upstream test suite checks.
    assert_eq!(rdb_string_len(&[b'x'; 133]), 13);
    assert_eq!(rdb_string_len(&b"abcdefghij".repeat(5)), 21);
}
