//! Random datasets for the RDB tests (rdb_roundtrip, rdb_interop): every
//! type in every encoding a Redis 6.2 dataset can hold, built through
//! ordinary commands from a seeded PRNG, and a per-key snapshot (type,
//! encoding, DEBUG DIGEST-VALUE, PTTL) to compare two servers or one
//! server before and after a reload key by key, so a mismatch names the
//! key instead of only changing `DEBUG DIGEST`.
//!
//! Not a test target: cargo builds only the top-level files of tests/;
//! each test file includes this with `mod rdbdata;` beside `mod common;`.

#![allow(dead_code)]

use std::collections::BTreeMap;

use crate::common::{Conn, Reply, Rng};

/// The kinds of values [`fill_db`] creates, each aimed at one encoding
/// under the default `*-max-ziplist-*` limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    StrInt,
    StrEmbstr,
    StrRaw,
    StrCompressible,
    StrBig,
    ListSmall,
    ListBig,
    ListHugeElements,
    SetTiny,
    SetIntset,
    SetHashtable,
    SetBigInts,
    ZsetTiny,
    ZsetSmall,
    ZsetBig,
    ZsetLongMember,
    HashTiny,
    HashSmall,
    HashBig,
    HashLongValue,
}

pub const ALL_KINDS: &[Kind] = &[
    Kind::StrInt,
    Kind::StrEmbstr,
    Kind::StrRaw,
    Kind::StrCompressible,
    Kind::StrBig,
    Kind::ListSmall,
    Kind::ListBig,
    Kind::ListHugeElements,
    Kind::SetTiny,
    Kind::SetIntset,
    Kind::SetHashtable,
    Kind::SetBigInts,
    Kind::ZsetTiny,
    Kind::ZsetSmall,
    Kind::ZsetBig,
    Kind::ZsetLongMember,
    Kind::HashTiny,
    Kind::HashSmall,
    Kind::HashBig,
    Kind::HashLongValue,
];

/// Integers at the edges of every ziplist / intset / RDB integer width.
const EDGE_INTS: &[i64] = &[
    0,
    1,
    -1,
    12,
    13,
    127,
    -128,
    128,
    255,
    -129,
    4095,
    32767,
    -32768,
    32768,
    8388607,
    -8388608,
    8388608,
    2147483647,
    -2147483648,
    2147483648,
    -2147483649,
    9007199254740993,
    i64::MAX,
    i64::MIN,
    i64::MAX - 1,
    i64::MIN + 1,
];

/// Scores that stress the double formats: infinities, negative and
/// fractional values, values with no short decimal form, huge and tiny
/// magnitudes, integers (stored as integers in a ziplist).
pub const EDGE_SCORES: &[&str] = &[
    "-inf", "+inf", "inf", "0", "-1", "1", "0.1", "-0.5", "3.141592653589793", "1e300", "-1e300", "1e-300", "2.5e-310", "1.7976931348623157e308",
    "123456789012345678", "-9007199254740993", "0.30000000000000004", "1e16", "100", "-2147483649",
];

/// `base` plus `RDB_EXTRA_SEEDS` (an environment variable, default 0)
/// more seeds after the last, for longer runs by hand.
pub fn seeds(base: &[u64]) -> Vec<u64> {
    let extra: u64 = std::env::var("RDB_EXTRA_SEEDS").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let last = base.iter().copied().max().unwrap_or(0);
    base.iter().copied().chain((1..=extra).map(|i| last + 1000 * i)).collect()
}

pub struct Gen {
    pub rng: Rng,
    seq: u64,
}

impl Gen {
    pub fn new(seed: u64) -> Gen {
        Gen { rng: Rng::new(seed), seq: 0 }
    }

    pub fn int(&mut self) -> i64 {
        match self.rng.below(4) {
            0 => *self.rng.pick(EDGE_INTS),
            1 => self.rng.below(10_000) as i64 - 5_000,
            2 => self.rng.next() as i64 >> self.rng.below(63),
            _ => self.rng.next() as i64,
        }
    }

    /// Random bytes of length `n`, binary (NUL, CR, LF and high bytes).
    pub fn binary(&mut self, n: usize) -> Vec<u8> {
        self.rng.bytes(n)
    }

    /// `n` bytes LZF compresses well: a short random pattern repeated.
    pub fn compressible(&mut self, n: usize) -> Vec<u8> {
        let pat_len = 1 + self.rng.below(16) as usize;
        let pat = self.rng.bytes(pat_len);
        pat.iter().cycle().take(n).copied().collect()
    }

    /// An element for a list, set or hash: integers of every width,
    /// short and longer strings, binary ones.
    pub fn element(&mut self, max_len: usize) -> Vec<u8> {
        match self.rng.below(5) {
            0 | 1 => self.int().to_string().into_bytes(),
            2 => {
                let n = 1 + self.rng.below(max_len.max(1) as u64) as usize;
                self.binary(n)
            }
            3 => {
                let n = self.rng.below(max_len.max(1) as u64) as usize;
                self.compressible(n)
            }
            _ => format!("e{}", self.rng.below(1_000_000)).into_bytes(),
        }
    }

    /// A short element (at most 7 bytes), compact under any limits.
    pub fn tiny(&mut self) -> Vec<u8> {
        match self.rng.below(3) {
            0 => (self.rng.below(2000) as i64 - 1000).to_string().into_bytes(),
            1 => {
                let n = 1 + self.rng.below(6) as usize;
                self.binary(n)
            }
            _ => format!("t{}", self.rng.below(1000)).into_bytes(),
        }
    }

    pub fn score(&mut self) -> String {
        match self.rng.below(4) {
            0 => self.rng.pick(EDGE_SCORES).to_string(),
            1 => (self.rng.below(2000) as i64 - 1000).to_string(),
            2 => {
                // A fraction with no short decimal form.
                let v = (self.rng.next() as i64 as f64) / (1u64 << (1 + self.rng.below(62))) as f64;
                format!("{:e}", v)
            }
            _ => format!("{}.{}", self.rng.below(100_000) as i64 - 50_000, self.rng.below(1000)),
        }
    }

    fn key(&mut self, kind: Kind) -> Vec<u8> {
        self.seq += 1;
        let mut k = format!("{:?}:{}:", kind, self.seq).into_bytes();
        // Some keys are binary too.
        if self.rng.below(4) == 0 {
            let n = self.rng.below(8) as usize;
            k.extend(self.binary(n));
        }
        k
    }

    /// The commands creating one key of `kind`.
    pub fn commands(&mut self, kind: Kind) -> (Vec<u8>, Vec<Vec<Vec<u8>>>) {
        let key = self.key(kind);
        let k = key.clone();
        let mut out: Vec<Vec<Vec<u8>>> = Vec::new();
        let cmd = |name: &str, rest: Vec<Vec<u8>>| {
            let mut v = vec![name.as_bytes().to_vec(), k.clone()];
            v.extend(rest);
            v
        };
        match kind {
            Kind::StrInt => {
                let v = self.int().to_string().into_bytes();
                out.push(cmd("SET", vec![v]));
            }
            Kind::StrEmbstr => {
                let n = 1 + self.rng.below(44) as usize;
                // Not all digits (that would be an int).
                let mut v = self.binary(n);
                v[0] = b'x';
                out.push(cmd("SET", vec![v]));
            }
            Kind::StrRaw => {
                let n = 45 + self.rng.below(3000) as usize;
                let v = self.binary(n);
                out.push(cmd("SET", vec![v]));
            }
            Kind::StrCompressible => {
                let n = 21 + self.rng.below(5000) as usize;
                let v = self.compressible(n);
                out.push(cmd("SET", vec![v]));
            }
            Kind::StrBig => {
                let n = 100_000 + self.rng.below(400_000) as usize;
                let v = if self.rng.below(2) == 0 { self.binary(n) } else { self.compressible(n) };
                out.push(cmd("SET", vec![v]));
            }
            Kind::ListSmall => {
                let n = 1 + self.rng.below(20);
                let els: Vec<Vec<u8>> = (0..n).map(|_| self.element(80)).collect();
                out.push(cmd("RPUSH", els));
            }
            Kind::ListBig => {
                let n = 500 + self.rng.below(3000);
                let mut els = Vec::new();
                for _ in 0..n {
                    els.push(self.element(40));
                    if els.len() == 500 {
                        out.push(cmd("RPUSH", std::mem::take(&mut els)));
                    }
                }
                if !els.is_empty() {
                    out.push(cmd("LPUSH", els));
                }
            }
            Kind::ListHugeElements => {
                // Elements past the 8 kB node size: nodes of one element,
                // between ordinary ones; some longer than 16383 bytes (the
                // ziplist's 5-byte length header).
                let mut els = Vec::new();
                for _ in 0..(3 + self.rng.below(6)) {
                    if self.rng.below(2) == 0 {
                        let n = 9000 + self.rng.below(20_000) as usize;
                        els.push(if self.rng.below(2) == 0 { self.binary(n) } else { self.compressible(n) });
                    } else {
                        els.push(self.element(30));
                    }
                }
                out.push(cmd("RPUSH", els));
            }
            Kind::SetTiny | Kind::SetIntset => {
                let n = 1 + self.rng.below(if kind == Kind::SetTiny { 4 } else { 400 });
                let els: Vec<Vec<u8>> = (0..n).map(|_| self.int().to_string().into_bytes()).collect();
                out.push(cmd("SADD", els));
            }
            Kind::SetHashtable => {
                let n = 1 + self.rng.below(300);
                let mut els: Vec<Vec<u8>> = (0..n).map(|_| self.element(60)).collect();
                els.push(b"not-an-int".to_vec());
                out.push(cmd("SADD", els));
            }
            Kind::SetBigInts => {
                // Integers only, but more than set-max-intset-entries.
                let n = 513 + self.rng.below(500);
                let els: Vec<Vec<u8>> = (0..n).map(|i| (i as i64 * 7919 - 1_000_000).to_string().into_bytes()).collect();
                out.push(cmd("SADD", els));
            }
            Kind::ZsetTiny | Kind::ZsetSmall | Kind::ZsetBig | Kind::ZsetLongMember => {
                let n = match kind {
                    Kind::ZsetTiny => 1 + self.rng.below(3),
                    Kind::ZsetSmall => 1 + self.rng.below(100),
                    Kind::ZsetBig => 129 + self.rng.below(800),
                    _ => 1 + self.rng.below(20),
                };
                let mut args = Vec::new();
                for i in 0..n {
                    args.push(self.score().into_bytes());
                    let mut m = if kind == Kind::ZsetTiny { self.tiny() } else { self.element(50) };
                    m.extend(format!("#{}", i).bytes());
                    args.push(m);
                }
                if kind == Kind::ZsetLongMember {
                    args.push(b"-0.0".to_vec());
                    let n = 65 + self.rng.below(300) as usize;
                    args.push(self.binary(n));
                }
                out.push(cmd("ZADD", args));
            }
            Kind::HashTiny | Kind::HashSmall | Kind::HashBig | Kind::HashLongValue => {
                let n = match kind {
                    Kind::HashTiny => 1 + self.rng.below(3),
                    Kind::HashSmall => 1 + self.rng.below(100),
                    Kind::HashBig => 129 + self.rng.below(800),
                    _ => 1 + self.rng.below(20),
                };
                let mut args = Vec::new();
                for i in 0..n {
                    let tiny = kind == Kind::HashTiny;
                    let mut f = if tiny { self.tiny() } else { self.element(30) };
                    f.extend(format!("#{}", i).bytes());
                    args.push(f);
                    let v = if tiny { self.tiny() } else { self.element(60) };
                    args.push(v);
                }
                if kind == Kind::HashLongValue {
                    args.push(b"long".to_vec());
                    let n = 65 + self.rng.below(2000) as usize;
                    args.push(self.compressible(n));
                }
                out.push(cmd("HSET", args));
            }
        }
        (key, out)
    }
}

/// Sends `cmds` pipelined in batches and checks no reply is an error.
pub fn pipeline(c: &mut Conn, cmds: &[Vec<Vec<u8>>]) {
    for chunk in cmds.chunks(200) {
        for cm in chunk {
            c.send(cm).unwrap_or_else(|e| panic!("send: {}", e));
        }
        for cm in chunk {
            let r = c.read_reply().unwrap_or_else(|e| panic!("reply: {}", e));
            assert!(!r.is_error(), "{} -> {:?}", String::from_utf8_lossy(&cm[0]), r);
        }
    }
}

/// Fills the selected db with `per_kind` keys of each kind in random
/// order (`big` false leaves out the 100 kB+ strings), a quarter of them
/// with a TTL between 100 s and a few days.
pub fn fill_db(c: &mut Conn, g: &mut Gen, per_kind: usize, big: bool) {
    let mut kinds = Vec::new();
    for k in ALL_KINDS {
        if *k == Kind::StrBig && !big {
            continue;
        }
        for _ in 0..per_kind {
            kinds.push(*k);
        }
    }
    // Shuffle.
    for i in (1..kinds.len()).rev() {
        let j = g.rng.below(i as u64 + 1) as usize;
        kinds.swap(i, j);
    }
    let mut cmds = Vec::new();
    for kind in kinds {
        let (key, mut cs) = g.commands(kind);
        cmds.append(&mut cs);
        match g.rng.below(8) {
            0 => cmds.push(vec![b"PEXPIRE".to_vec(), key, (100_000 + g.rng.below(300_000_000)).to_string().into_bytes()]),
            1 => cmds.push(vec![b"EXPIREAT".to_vec(), key, (4_000_000_000u64 + g.rng.below(1_000_000)).to_string().into_bytes()]),
            _ => {}
        }
    }
    pipeline(c, &cmds);
}

/// Fills dbs chosen by the seed (always 0, some of 1..15).
pub fn fill(c: &mut Conn, g: &mut Gen, per_kind: usize, big: bool) -> Vec<u32> {
    let mut dbs = vec![0u32];
    for db in 1..16u32 {
        if g.rng.below(5) == 0 {
            dbs.push(db);
        }
    }
    if dbs.len() == 1 {
        dbs.push(1 + g.rng.below(15) as u32);
    }
    for &db in &dbs {
        assert_eq!(c.cmd(&["SELECT", &db.to_string()]), Reply::ok());
        fill_db(c, g, per_kind, big);
    }
    assert_eq!(c.cmd(&["SELECT", "0"]), Reply::ok());
    dbs
}

/// What a key looks like from outside.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyState {
    pub typ: String,
    pub encoding: String,
    pub digest: String,
    /// PTTL: -1 for no TTL.
    pub pttl: i64,
}

/// Every key of every db (0..16) with its state.
pub type Snapshot = BTreeMap<(u32, Vec<u8>), KeyState>;

fn bulk_bytes(r: &Reply) -> Vec<u8> {
    match r {
        Reply::Bulk(Some(b)) => b.clone(),
        other => panic!("expected a bulk, got {:?}", other),
    }
}

pub fn snapshot(c: &mut Conn) -> Snapshot {
    let mut out = BTreeMap::new();
    for db in 0..16u32 {
        assert_eq!(c.cmd(&["SELECT", &db.to_string()]), Reply::ok());
        let keys: Vec<Vec<u8>> = c.cmd(&["KEYS", "*"]).array().iter().map(bulk_bytes).collect();
        for chunk in keys.chunks(200) {
            for k in chunk {
                for sub in [&["TYPE"][..], &["OBJECT", "ENCODING"], &["DEBUG", "DIGEST-VALUE"], &["PTTL"]] {
                    let mut a: Vec<&[u8]> = sub.iter().map(|s| s.as_bytes()).collect();
                    a.push(k);
                    c.send(&a).unwrap_or_else(|e| panic!("send: {}", e));
                }
            }
            for k in chunk {
                let mut rd = || c.read_reply().unwrap_or_else(|e| panic!("reply: {}", e));
                let typ = rd().text();
                let encoding = rd().text();
                let digest = match rd() {
                    Reply::Array(Some(v)) if v.len() == 1 => v[0].text(),
                    other => other.text(),
                };
                let pttl = rd().int();
                out.insert((db, k.clone()), KeyState { typ, encoding, digest, pttl });
            }
        }
    }
    assert_eq!(c.cmd(&["SELECT", "0"]), Reply::ok());
    out
}

/// Redis 7 names the ziplist encodings `listpack`; compare them as one.
pub fn normalize_encoding(e: &str) -> &str {
    match e {
        "listpack" => "ziplist",
        other => other,
    }
}

/// Compares two snapshots key by key: the same keys, types, digests and
/// (when `encodings`) encodings; TTLs within `ttl_slack_ms`.
pub fn assert_same(what: &str, before: &Snapshot, after: &Snapshot, encodings: bool, ttl_slack_ms: i64) {
    let mut problems = Vec::new();
    for (k, b) in before {
        let name = format!("db{} {:?}", k.0, String::from_utf8_lossy(&k.1));
        match after.get(k) {
            None => problems.push(format!("{}: missing", name)),
            Some(a) => {
                if a.typ != b.typ || a.digest != b.digest {
                    problems.push(format!("{}: {}/{} became {}/{}", name, b.typ, b.digest, a.typ, a.digest));
                }
                if encodings && normalize_encoding(&a.encoding) != normalize_encoding(&b.encoding) {
                    problems.push(format!("{}: encoding {} became {}", name, b.encoding, a.encoding));
                }
                let ttl_ok = if b.pttl < 0 { a.pttl == b.pttl } else { a.pttl >= 0 && (a.pttl - b.pttl).abs() <= ttl_slack_ms };
                if !ttl_ok {
                    problems.push(format!("{}: PTTL {} became {}", name, b.pttl, a.pttl));
                }
            }
        }
    }
    for k in after.keys() {
        if !before.contains_key(k) {
            problems.push(format!("db{} {:?}: appeared", k.0, String::from_utf8_lossy(&k.1)));
        }
    }
    assert!(problems.is_empty(), "{}: {} differences:\n{}", what, problems.len(), problems.iter().take(30).cloned().collect::<Vec<_>>().join("\n"));
}

/// Every encoding a key of `snapshot` has, for coverage checks.
pub fn encodings(s: &Snapshot) -> std::collections::BTreeSet<String> {
    s.values().map(|k| format!("{}/{}", k.typ, normalize_encoding(&k.encoding))).collect()
}
