//! The RDB loader never crashes on damaged input.
//!
//! 1. In process: valid RDB streams (oxredis SAVE files with every
//!    encoding, a hand-made file with the old and the Redis 7 types, and a
//!    Redis 7.0 file when the reference is installed) are mutated thousands
//!    of times (bit flips, byte sets, truncations, inserted, deleted and
//!    duplicated bytes), half of the time with the CRC-64 trailer fixed up
//!    so the damage reaches the value parsers. `RdbParser` runs over each
//!    until EOF or an error; a panic fails the test (the input is saved),
//!    and every value it accepts must hold its encoding's invariants and
//!    survive being walked and converted.
//! 2. RESTORE of mutated DUMP payloads (CRC fixed up): refused with
//!    "Bad data format", or accepted with a value that survives DEBUG
//!    RELOAD unchanged and answers every command of its type.
//! 3. End to end: a server started on a damaged dump.rdb either starts and
//!    answers PING (and its keys answer commands), or exits with code 1 and
//!    Redis's message in its log; never a signal or a panic's exit code.

mod common;
mod rdbdata;

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Reply, Rng, Server, TempDir};
use oxredis::crc64::crc64;
use oxredis::object::Value;
use oxredis::rdb::Rio;
use oxredis::rdb_load::{Item, Limits, RdbParser, RdbReader};
use oxredis::ziplist::{NumBuf, Where, ZlEntry, Ziplist};

fn default_limits() -> Limits {
    Limits::from_config(&oxredis::config::Config::with_defaults())
}

fn small_limits() -> Limits {
    Limits { hash_entries: 2, hash_value: 4, zset_entries: 2, zset_value: 4, set_intset: 2, list_fill: 2 }
}

fn entry_bytes(e: &ZlEntry<'_>) -> Vec<u8> {
    let mut nb = NumBuf::new();
    e.as_bytes(&mut nb).to_vec()
}

fn entry_score(e: &ZlEntry<'_>) -> Result<f64, String> {
    match e {
        ZlEntry::Int(i) => Ok(*i as f64),
        ZlEntry::Str(s) => oxredis::util::string2d(s).ok_or_else(|| format!("score {:?} is not a number", String::from_utf8_lossy(s))),
    }
}

/// A loaded ziplist is valid, and its entries, walked both ways, agree.
fn check_ziplist(z: &Ziplist) -> Result<Vec<Vec<u8>>, String> {
    let n = Ziplist::validate(z.as_bytes()).map_err(|e| format!("ziplist does not validate: {:?}", e))?;
    if n != z.len() {
        return Err(format!("ziplist len {} but {} entries", z.len(), n));
    }
    let fwd: Vec<Vec<u8>> = z.iter().map(|e| entry_bytes(&e)).collect();
    let mut back = Vec::new();
    let mut p = z.last();
    while let Some(pos) = p {
        back.push(entry_bytes(&z.get(pos)));
        p = z.prev(pos);
    }
    back.reverse();
    if fwd != back || fwd.len() != n {
        return Err("ziplist walked forward and backward differs".into());
    }
    Ok(fwd)
}

/// Each encoding's invariants, and what commands would do with the value:
/// walk it, convert it to the big encoding, change it.
fn check_value(v: &Value) -> Result<(), String> {
    match v {
        Value::Str(s) => {
            let mut b = itoa::Buffer::new();
            let _ = s.as_bytes(&mut b).len();
        }
        Value::List(q) => {
            q.check()?;
            let mut n = 0;
            for z in q.nodes() {
                n += check_ziplist(z)?.len();
            }
            if n != q.len() || q.iter().count() != n || q.iter().rev().count() != n {
                return Err(format!("quicklist len {} but {} elements", q.len(), n));
            }
            if n == 0 || q.index(0).is_none() || q.index(-1).is_none() {
                return Err("quicklist without a head or tail".into());
            }
            let mut q2 = q.clone();
            q2.push(b"pushed", Where::Head);
            q2.push(b"12345", Where::Tail);
            q2.check()?;
        }
        Value::HashZl(z) => {
            let es = check_ziplist(z)?;
            if es.len() % 2 != 0 || es.is_empty() {
                return Err(format!("hash ziplist of {} entries", es.len()));
            }
            let mut fields: Vec<&Vec<u8>> = es.iter().step_by(2).collect();
            fields.sort();
            fields.dedup();
            if fields.len() != es.len() / 2 {
                return Err("hash ziplist with a field twice".into());
            }
        }
        Value::ZsetZl(z) => {
            check_ziplist(z)?;
            let entries: Vec<ZlEntry<'_>> = z.iter().collect();
            if entries.len() % 2 != 0 || entries.is_empty() {
                return Err(format!("zset ziplist of {} entries", entries.len()));
            }
            // zsetConvert: every member into a skiplist.
            let mut zs = oxredis::skiplist::Zset::with_capacity(entries.len() / 2);
            for pair in entries.chunks(2) {
                let score = entry_score(&pair[1])?;
                if score.is_nan() {
                    return Err("NaN score".into());
                }
                match zs.insert_or_update(&entry_bytes(&pair[0]), score) {
                    Ok(oxredis::skiplist::ZsetChange::Added) => {}
                    _ => return Err("zset ziplist with a member twice".into()),
                }
            }
            zs.check_invariants()?;
        }
        Value::HashHt(h) => {
            if h.iter().count() != h.len() || h.is_empty() {
                return Err("hash table count".into());
            }
        }
        Value::SetInt(is) => {
            let n = oxredis::intset::Intset::validate(is.as_bytes()).map_err(|e| format!("intset does not validate: {:?}", e))?;
            let vals: Vec<i64> = is.iter().collect();
            if n != is.len() || vals.len() != n || vals.windows(2).any(|w| w[0] >= w[1]) || vals.is_empty() {
                return Err("intset not strictly ascending".into());
            }
            for v in &vals {
                if !is.contains(*v) {
                    return Err(format!("intset lost {}", v));
                }
            }
        }
        Value::SetHt(h) => {
            if h.iter().count() != h.len() || h.is_empty() {
                return Err("set table count".into());
            }
        }
        Value::ZsetSl(z) => {
            z.check_invariants()?;
            if z.iter().count() != z.len() || z.len() == 0 {
                return Err("skiplist count".into());
            }
            for (m, s) in z.zsl().iter() {
                if z.score(m) != Some(s) || s.is_nan() {
                    return Err("skiplist and dict disagree".into());
                }
            }
        }
    }
    Ok(())
}

/// Runs the parser over `data` to the end; Ok(keys) if it was accepted
/// whole, Err(reason) if refused. Accepted values are checked.
fn parse_all(data: &[u8], lim: Limits) -> Result<usize, String> {
    let mut p = RdbParser::new(RdbReader::new(Cursor::new(data), data.len() as u64, true), lim);
    p.read_header().map_err(|e| e.to_string())?;
    let mut keys = 0;
    loop {
        match p.next_item().map_err(|e| e.to_string())? {
            Item::Key(k) => {
                check_value(&k.val).map_err(|e| format!("ACCEPTED BAD VALUE for key {:?} (type {}): {}", String::from_utf8_lossy(&k.key), k.rdbtype, e))?;
                keys += 1;
            }
            Item::Eof { stored, computed } => {
                if let Some(s) = stored {
                    if s != 0 && s != computed {
                        return Err("Wrong RDB checksum".into());
                    }
                }
                return Ok(keys);
            }
            _ => {}
        }
    }
}

/// Writes the CRC-64 of everything before the last 8 bytes into them.
fn fix_crc(d: &mut [u8]) {
    if d.len() >= 8 {
        let n = d.len() - 8;
        let c = crc64(0, &d[..n]);
        d[n..].copy_from_slice(&c.to_le_bytes());
    }
}

const INTERESTING: &[u8] = &[0, 1, 0x3f, 0x40, 0x7f, 0x80, 0x81, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xf0, 0xf1, 0xf4, 0xfe, 0xff];

/// One random damage of `base`.
fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut d = base.to_vec();
    // Mostly past the 9-byte header, where the values are.
    let pos = |rng: &mut Rng, len: usize| -> usize {
        if len <= 9 || rng.below(10) == 0 {
            rng.below(len.max(1) as u64) as usize
        } else {
            9 + rng.below((len - 9) as u64) as usize
        }
    };
    let rounds = 1 + rng.below(3);
    for _ in 0..rounds {
        if d.is_empty() {
            break;
        }
        match rng.below(8) {
            0 => {
                let p = pos(rng, d.len());
                d[p] ^= 1 << rng.below(8);
            }
            1 => {
                let p = pos(rng, d.len());
                d[p] = rng.next() as u8;
            }
            2 => {
                let p = pos(rng, d.len());
                d[p] = *rng.pick(INTERESTING);
            }
            3 => {
                let p = pos(rng, d.len());
                d.truncate(p);
            }
            4 => {
                let p = pos(rng, d.len());
                let n = 1 + rng.below(8) as usize;
                let ins = rng.bytes(n);
                d.splice(p..p, ins);
            }
            5 => {
                let p = pos(rng, d.len());
                let n = (1 + rng.below(16) as usize).min(d.len() - p);
                d.drain(p..p + n);
            }
            6 => {
                let p = pos(rng, d.len());
                let n = (1 + rng.below(32) as usize).min(d.len() - p);
                let chunk = d[p..p + n].to_vec();
                let q = pos(rng, d.len());
                d.splice(q..q, chunk);
            }
            _ => {
                // A 16- or 32-bit length field somewhere: a big number.
                let p = pos(rng, d.len());
                let n = (1 + rng.below(4) as usize).min(d.len() - p);
                for b in &mut d[p..p + n] {
                    *b = 0xff;
                }
            }
        }
    }
    if rng.below(2) == 0 {
        fix_crc(&mut d);
    }
    d
}

/// A listpack of `entries` (small unsigned ints, 64-bit ints, strings
/// shorter than 64 bytes), as listpack.c lays it out.
fn listpack(entries: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![0u8; 6];
    for e in entries {
        let start = out.len();
        match oxredis::util::string2ll(e) {
            Some(v) if (0..=127).contains(&v) => out.push(v as u8),
            Some(v) => {
                out.push(0xf4);
                out.extend_from_slice(&v.to_le_bytes());
            }
            None => {
                assert!(e.len() < 64);
                out.push(0x80 | e.len() as u8);
                out.extend_from_slice(e);
            }
        }
        let size = out.len() - start;
        assert!(size < 128);
        out.push(size as u8);
    }
    out.push(0xff);
    let total = out.len() as u32;
    out[..4].copy_from_slice(&total.to_le_bytes());
    out[4..6].copy_from_slice(&(entries.len() as u16).to_le_bytes());
    out
}

/// A file with the types oxredis never writes: the pre-quicklist list
/// types, text-score sorted sets, second-precision expires, and Redis 7's
/// listpack types (hash, zset, quicklist 2 with a plain node, set).
fn handmade_rdb() -> Vec<u8> {
    let mut r = Rio::new(Vec::new(), true);
    let mut w = || -> std::io::Result<()> {
        r.write(b"REDIS0011")?;
        r.write(&[250])?;
        r.save_string(b"redis-ver", false)?;
        r.save_string(b"7.2.0", false)?;
        r.write(&[254])?;
        r.save_len(0)?;
        r.write(&[251])?;
        r.save_len(9)?;
        r.save_len(1)?;
        // RDB_TYPE_LIST: a length and the elements.
        r.write(&[1])?;
        r.save_string(b"old-list", false)?;
        r.save_len(3)?;
        for e in [&b"a"[..], b"12345", &[b'z'; 40]] {
            r.save_string(e, true)?;
        }
        // RDB_TYPE_ZSET: text scores, 253 NaN (not used), 254 +inf, 255 -inf.
        r.write(&[3])?;
        r.save_string(b"old-zset", false)?;
        r.save_len(3)?;
        r.save_string(b"one", false)?;
        r.write(&[3])?;
        r.write(b"1.5")?;
        r.save_string(b"top", false)?;
        r.write(&[254])?;
        r.save_string(b"bottom", false)?;
        r.write(&[255])?;
        // EXPIRETIME in seconds, then IDLE and FREQ, before a string.
        r.write(&[253])?;
        r.write(&2_000_000_000u32.to_le_bytes())?;
        r.write(&[248])?;
        r.save_len(100)?;
        r.write(&[0])?;
        r.save_string(b"old-expire", false)?;
        r.save_string(b"value", false)?;
        // RDB_TYPE_LIST_ZIPLIST.
        let mut z = Ziplist::new();
        for e in [&b"x"[..], b"-5", b"300000"] {
            z.push(e, Where::Tail);
        }
        r.write(&[10])?;
        r.save_string(b"zl-list", false)?;
        r.save_string(z.as_bytes(), false)?;
        // RDB_TYPE_HASH_LISTPACK, ZSET_LISTPACK, SET_LISTPACK.
        r.write(&[16])?;
        r.save_string(b"lp-hash", false)?;
        r.save_string(&listpack(&[b"f1", b"v1", b"f2", b"99"]), false)?;
        r.write(&[17])?;
        r.save_string(b"lp-zset", false)?;
        r.save_string(&listpack(&[b"m3", b"-9000000000", b"m1", b"1", b"m2", b"2.5"]), false)?;
        r.write(&[20])?;
        r.save_string(b"lp-set", false)?;
        r.save_string(&listpack(&[b"7", b"member", b"-12345678901"]), false)?;
        r.write(&[20])?;
        r.save_string(b"lp-set-ints", false)?;
        r.save_string(&listpack(&[b"3", b"1", b"2"]), false)?;
        // RDB_TYPE_LIST_QUICKLIST_2: a packed node, a plain one, a packed one.
        r.write(&[18])?;
        r.save_string(b"ql2", false)?;
        r.save_len(3)?;
        r.save_len(2)?;
        r.save_string(&listpack(&[b"a", b"b"]), false)?;
        r.save_len(1)?;
        r.save_string(&[b'P'; 300], true)?;
        r.save_len(2)?;
        r.save_string(&listpack(&[b"100", b"c"]), false)?;
        r.write(&[255])?;
        Ok(())
    };
    w().expect("writing to a Vec");
    let crc = r.cksum;
    let mut out = r.into_inner();
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// A small oxredis SAVE file with every encoding: tight limits give the
/// big encodings at a few elements, and many list nodes.
fn oxredis_rdb(seed: u64) -> Vec<u8> {
    let srv = Server::start(&[
        "--list-max-ziplist-size",
        "4",
        "--hash-max-ziplist-entries",
        "4",
        "--zset-max-ziplist-entries",
        "4",
        "--set-max-intset-entries",
        "8",
    ]);
    let mut c = srv.conn();
    let mut rng = Rng::new(seed);
    let mut cmds: Vec<Vec<Vec<u8>>> = Vec::new();
    let s = |v: &str| v.as_bytes().to_vec();
    for i in 0..3 {
        let k = |t: &str| format!("{}{}", t, i).into_bytes();
        cmds.push(vec![s("SET"), k("int"), (rng.next() as i64 >> 20).to_string().into_bytes()]);
        cmds.push(vec![s("SET"), k("str"), rng.bytes(10)]);
        cmds.push(vec![s("SET"), k("lzf"), b"abcabcabcabcabcabcabcabcabcabcabcabc".repeat(3)]);
        cmds.push(vec![s("SET"), k("raw"), rng.bytes(60)]);
        let mut l = vec![s("RPUSH"), k("list")];
        for j in 0..10 {
            l.push(if j % 2 == 0 { (rng.next() as i64 >> (rng.below(60))).to_string().into_bytes() } else { rng.bytes(1 + j) });
        }
        cmds.push(l);
        cmds.push(vec![s("SADD"), k("iset"), s("1"), s("-70000"), s("5000000000")]);
        cmds.push(vec![s("SADD"), k("hset"), s("a"), s("b"), s("c"), s("1"), s("2")]);
        cmds.push(vec![s("HSET"), k("hzl"), s("f"), s("v"), s("n"), s("17")]);
        cmds.push(vec![s("HSET"), k("hht"), s("f1"), s("v"), s("f2"), s("v"), s("f3"), s("v"), s("f4"), s("v"), s("f5"), rng.bytes(5)]);
        cmds.push(vec![s("ZADD"), k("zzl"), s("1.5"), s("a"), s("-inf"), s("b"), s("3"), s("c")]);
        cmds.push(vec![s("ZADD"), k("zsl"), s("1"), s("a"), s("2"), s("b"), s("0.1"), s("c"), s("inf"), s("d"), s("-2.5"), s("e")]);
        cmds.push(vec![s("PEXPIRE"), k("list"), s("100000000")]);
    }
    rdbdata::pipeline(&mut c, &cmds);
    assert_eq!(c.cmd(&["SAVE"]), Reply::ok());
    std::fs::read(srv.dir.join("dump.rdb")).expect("dump.rdb")
}

/// The same kind of dataset saved by Redis 7.0 (RDB 10: listpacks,
/// quicklist 2 with plain nodes), or None without the reference.
fn reference_rdb() -> Option<Vec<u8>> {
    let srv = common::reference_or_skip(&[
        "--list-max-listpack-size",
        "4",
        "--hash-max-listpack-entries",
        "4",
        "--zset-max-listpack-entries",
        "4",
        "--set-max-intset-entries",
        "8",
    ])?;
    let mut c = srv.conn();
    assert_eq!(c.cmd(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100"]), Reply::ok());
    c.cmd(&["RPUSH", "plain", "a", &"P".repeat(150), "b", &"Q".repeat(120)]);
    c.cmd(&["RPUSH", "packed", "1", "2", "3", "x", "y", "z", "-100000", "4294967296"]);
    c.cmd(&["HSET", "hlp", "f", "v", "n", "17"]);
    c.cmd(&["HSET", "hht", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5"]);
    c.cmd(&["ZADD", "zlp", "0.1", "a", "1e300", "b", "-0.0", "c"]);
    c.cmd(&["ZADD", "zsl", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"]);
    c.cmd(&["SADD", "iset", "1", "2", "-3"]);
    c.cmd(&["SADD", "sht", "a", "b"]);
    c.cmd(&["SET", "s", "hello"]);
    c.cmd(&["SET", "n", "123456"]);
    assert_eq!(c.cmd(&["SAVE"]), Reply::ok());
    std::fs::read(srv.dir.join("dump.rdb")).ok()
}

/// The corpus: (name, valid file).
fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut v = vec![("handmade-v11".to_string(), handmade_rdb()), ("oxredis-1".to_string(), oxredis_rdb(1))];
    if let Some(r) = reference_rdb() {
        v.push(("redis-7.0".to_string(), r));
    }
    v
}

#[test]
fn the_corpus_files_parse_whole() {
    for (name, data) in corpus() {
        for lim in [default_limits(), small_limits()] {
            match parse_all(&data, lim) {
                Ok(n) => assert!(n >= 9, "{}: only {} keys", name, n),
                Err(e) => panic!("{} does not parse: {}", name, e),
            }
        }
    }
}

/// The hand-made file's old and Redis 7 types load to the right values.
#[test]
fn handmade_types_load_with_their_values() {
    let dir = TempDir::new("rdbfuzz-hm");
    std::fs::write(dir.join("dump.rdb"), handmade_rdb()).expect("write");
    let path = dir.path.to_string_lossy().into_owned();
    let srv = Server::start(&["--dir", &path]);
    let mut c = srv.conn();
    let strs = |r: Reply| -> Vec<String> { r.array().iter().map(|x| x.text()).collect() };
    assert_eq!(strs(c.cmd(&["LRANGE", "old-list", "0", "-1"])), ["a", "12345", &"z".repeat(40)]);
    assert_eq!(strs(c.cmd(&["ZRANGE", "old-zset", "0", "-1", "WITHSCORES"])), ["bottom", "-inf", "one", "1.5", "top", "inf"]);
    assert_eq!(c.cmd(&["GET", "old-expire"]), Reply::bulk("value"));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let at = c.cmd(&["TTL", "old-expire"]).int() + now;
    assert!((at - 2_000_000_000).abs() <= 2, "expires at {}", at);
    assert_eq!(strs(c.cmd(&["LRANGE", "zl-list", "0", "-1"])), ["x", "-5", "300000"]);
    assert_eq!(strs(c.cmd(&["HGETALL", "lp-hash"])), ["f1", "v1", "f2", "99"]);
    assert_eq!(strs(c.cmd(&["ZRANGE", "lp-zset", "0", "-1", "WITHSCORES"])), ["m3", "-9000000000", "m1", "1", "m2", "2.5"]);
    let mut m = strs(c.cmd(&["SMEMBERS", "lp-set"]));
    m.sort();
    assert_eq!(m, ["-12345678901", "7", "member"]);
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "lp-set"]).text(), "hashtable");
    assert_eq!(strs(c.cmd(&["SMEMBERS", "lp-set-ints"])), ["1", "2", "3"]);
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "lp-set-ints"]).text(), "intset");
    assert_eq!(strs(c.cmd(&["LRANGE", "ql2", "0", "-1"])), ["a", "b", &"P".repeat(300), "100", "c"]);
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(9));
}

#[test]
fn mutated_files_never_crash_the_parser() {
    let iterations: u64 = std::env::var("RDB_FUZZ_ITERATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let mut panics = Vec::new();
    let mut bad_values = Vec::new();
    let (mut accepted, mut refused) = (0u64, 0u64);
    let start = Instant::now();
    // The panic message still prints; the test collects the failures.
    for (name, base) in corpus() {
        let mut rng = Rng::new(0x5eed ^ base.len() as u64);
        for i in 0..iterations {
            let data = mutate(&mut rng, &base);
            let lim = if i % 3 == 2 { small_limits() } else { default_limits() };
            match catch_unwind(AssertUnwindSafe(|| parse_all(&data, lim))) {
                Ok(Ok(_)) => accepted += 1,
                Ok(Err(e)) if e.starts_with("ACCEPTED BAD VALUE") => bad_values.push((name.clone(), i, e, data)),
                Ok(Err(_)) => refused += 1,
                Err(p) => {
                    let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
                    panics.push((name.clone(), i, msg, data));
                }
            }
        }
    }
    eprintln!("{} accepted, {} refused in {:?}", accepted, refused, start.elapsed());
    let report = |what: &str, v: &[(String, u64, String, Vec<u8>)]| {
        if let Some((name, i, msg, data)) = v.first() {
            let path = std::env::temp_dir().join(format!("oxredis-rdb-fuzz-{}-{}.rdb", name, i));
            let _ = std::fs::write(&path, data);
            panic!("{} {} (first: {} iteration {}: {}; input saved to {})", v.len(), what, name, i, msg, path.display());
        }
    };
    report("panics", &panics);
    report("accepted values that break their invariants", &bad_values);
    assert!(refused > iterations, "the mutations hardly ever damage the file");
    assert!(accepted > 0, "no mutation was harmless (the fix-up of the CRC does not work?)");
}

fn start_on_damaged(dir: &TempDir) -> (std::process::Child, Result<u16, (std::process::ExitStatus, String)>) {
    common::start_ready_or_exit(&dir.path)
}

#[test]
fn a_server_on_a_damaged_dump_starts_or_exits_cleanly() {
    use std::os::unix::process::ExitStatusExt;
    let base = oxredis_rdb(7);
    let mut rng = Rng::new(77);
    let (mut started, mut refused) = (0, 0);
    let mut cases: Vec<Vec<u8>> = (0..10).map(|_| mutate(&mut rng, &base)).collect();
    // Damage the parser accepts (a changed value with a fixed-up CRC):
    // the server must serve those values.
    let mut found = 0;
    for _ in 0..100_000 {
        let d = mutate(&mut rng, &base);
        if d != base && d.len() == base.len() && parse_all(&d, default_limits()).is_ok() {
            cases.push(d);
            found += 1;
            if found == 8 {
                break;
            }
        }
    }
    assert_eq!(found, 8, "no accepted mutations");
    // And the classic damages: truncated, a wrong checksum, a bad version.
    cases.push(base[..base.len() / 2].to_vec());
    let mut bad_crc = base.clone();
    let n = bad_crc.len();
    bad_crc[n - 1] ^= 0x55;
    cases.push(bad_crc.clone());
    let mut bad_ver = base.clone();
    bad_ver[5..9].copy_from_slice(b"0099");
    cases.push(bad_ver);
    for (i, data) in cases.iter().enumerate() {
        let dir = TempDir::new("rdbfuzz-e2e");
        std::fs::write(dir.join("dump.rdb"), data).expect("write dump.rdb");
        let (mut child, res) = start_on_damaged(&dir);
        match res {
            Ok(port) => {
                started += 1;
                let mut c = common::Conn::connect(port);
                assert_eq!(c.cmd(&["PING"]), Reply::Status("PONG".into()));
                // Every loaded key answers the commands of its type.
                let keys: Vec<Reply> = c.cmd(&["KEYS", "*"]).array();
                for k in keys {
                    let Reply::Bulk(Some(k)) = k else { continue };
                    let t = c.cmd(&[b"TYPE".as_ref(), &k]).text();
                    let ops: Vec<Vec<&[u8]>> = match t.as_str() {
                        "string" => vec![vec![b"STRLEN", &k], vec![b"GETRANGE", &k, b"1", b"-2"], vec![b"APPEND", &k, b"x"]],
                        "list" => vec![
                            vec![b"LRANGE", &k, b"0", b"-1"],
                            vec![b"LINDEX", &k, b"-2"],
                            vec![b"LINSERT", &k, b"BEFORE", b"a", b"ins"],
                            vec![b"LPOP", &k],
                            vec![b"RPUSH", &k, b"tail"],
                            vec![b"LREM", &k, b"0", b"1"],
                        ],
                        "set" => vec![vec![b"SMEMBERS", &k], vec![b"SISMEMBER", &k, b"1"], vec![b"SADD", &k, b"new"], vec![b"SPOP", &k]],
                        "zset" => vec![
                            vec![b"ZRANGE", &k, b"0", b"-1", b"WITHSCORES"],
                            vec![b"ZRANGEBYSCORE", &k, b"-inf", b"+inf"],
                            vec![b"ZRANGEBYLEX", &k, b"-", b"+"],
                            vec![b"ZRANK", &k, b"a"],
                            vec![b"ZADD", &k, b"2", b"b"],
                            vec![b"ZADD", &k, b"1", b"a-much-longer-member-than-the-zset-max-ziplist-value-limit-of-64-bytes"],
                            vec![b"ZREM", &k, b"c"],
                        ],
                        "hash" => vec![vec![b"HGETALL", &k], vec![b"HGET", &k, b"f"], vec![b"HSET", &k, b"f", b"v2"], vec![b"HDEL", &k, b"n"], vec![b"HSET", &k, b"z1", b"1", b"z2", b"2", b"z3", b"3"]],
                        other => panic!("type {}", other),
                    };
                    for op in ops {
                        let r = c.cmd(&op);
                        let wrongtype = matches!(&r, Reply::Error(e) if e.starts_with("WRONGTYPE"));
                        assert!(!r.is_error() || wrongtype, "case {}: {:?} -> {:?}", i, op.iter().map(|a| String::from_utf8_lossy(a)).collect::<Vec<_>>(), r);
                    }
                }
                assert_eq!(c.cmd(&["DEBUG", "RELOAD"]), Reply::ok());
                assert_eq!(c.cmd(&["PING"]), Reply::Status("PONG".into()));
                let _ = child.kill();
                let _ = child.wait();
            }
            Err((st, log)) => {
                refused += 1;
                assert!(st.signal().is_none(), "case {}: killed by signal {:?}; log:\n{}", i, st.signal(), log);
                assert_eq!(st.code(), Some(1), "case {}: exit status {:?}; log:\n{}", i, st, log);
                assert!(!log.contains("panicked"), "case {}: a panic; log:\n{}", i, log);
                let known = [
                    "Terminating server after rdb file reading failure.",
                    "Wrong RDB checksum",
                    "Fatal error loading the DB: Invalid argument. Exiting.",
                    "FATAL: Data file was created with a Redis server configured to handle more than",
                ];
                assert!(known.iter().any(|m| log.contains(m)), "case {}: no known message; log:\n{}", i, log);
            }
        }
    }
    eprintln!("{} started, {} refused", started, refused);
    assert!(refused >= 3, "the truncated, bad-CRC and bad-version files must be refused");
    assert!(started >= 8, "the accepted mutations must start");
}

/// The commands run on a key after each accepted RESTORE, pipelined; a
/// command of another type answers WRONGTYPE, which is fine.
const PROBES: &[&[&str]] = &[
    &["TYPE", "k"],
    &["OBJECT", "ENCODING", "k"],
    &["DEBUG", "DIGEST-VALUE", "k"],
    &["STRLEN", "k"],
    &["APPEND", "k", "x"],
    &["LRANGE", "k", "0", "-1"],
    &["LINDEX", "k", "-1"],
    &["LINSERT", "k", "AFTER", "a", "new"],
    &["LPOP", "k"],
    &["RPUSH", "k", "1"],
    &["SMEMBERS", "k"],
    &["SISMEMBER", "k", "1"],
    &["SADD", "k", "member"],
    &["SRANDMEMBER", "k", "-5"],
    &["ZRANGE", "k", "0", "-1", "WITHSCORES"],
    &["ZRANGEBYSCORE", "k", "(0", "+inf"],
    &["ZRANGEBYLEX", "k", "-", "+"],
    &["ZRANK", "k", "a"],
    &["ZADD", "k", "1.5", "member"],
    &["ZREMRANGEBYRANK", "k", "0", "0"],
    &["HGETALL", "k"],
    &["HGET", "k", "f"],
    &["HSET", "k", "f", "v"],
    &["HRANDFIELD", "k", "-3", "WITHVALUES"],
    &["DUMP", "k"],
    &["DEBUG", "RELOAD"],
    &["DEBUG", "DIGEST-VALUE", "k"],
];

/// DUMP payloads of every type and encoding, from oxredis, from Redis
/// 7.0 when installed, and hand-made for the types neither writes.
fn payload_corpus() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut grab = |tag: &str, c: &mut common::Conn| {
        for k in c.cmd(&["KEYS", "*"]).array() {
            let Reply::Bulk(Some(k)) = k else { continue };
            if let Reply::Bulk(Some(p)) = c.cmd(&[b"DUMP".as_ref(), &k]) {
                out.push((format!("{}:{}", tag, String::from_utf8_lossy(&k)), p));
            }
        }
    };
    let dir = TempDir::new("rdbfuzz-pl");
    std::fs::write(dir.join("dump.rdb"), oxredis_rdb(3)).expect("write");
    let path = dir.path.to_string_lossy().into_owned();
    let ox = Server::start(&["--dir", &path, "--list-max-ziplist-size", "4", "--hash-max-ziplist-entries", "4", "--zset-max-ziplist-entries", "4", "--set-max-intset-entries", "8"]);
    grab("oxredis", &mut ox.conn());
    if let Some(r) = reference_rdb() {
        let dir = TempDir::new("rdbfuzz-plr");
        std::fs::write(dir.join("dump.rdb"), r).expect("write");
        let path = dir.path.to_string_lossy().into_owned();
        if let Some(rs) = common::reference_or_skip(&["--dir", &path, "--list-max-listpack-size", "4"]) {
            grab("redis", &mut rs.conn());
        }
    }
    // Hand-made: each value of the hand-made file as a payload.
    let file = handmade_rdb();
    let dir = TempDir::new("rdbfuzz-plh");
    std::fs::write(dir.join("dump.rdb"), file).expect("write");
    let path = dir.path.to_string_lossy().into_owned();
    let hm = Server::start(&["--dir", &path]);
    grab("oxredis-handmade", &mut hm.conn());
    out
}

#[test]
fn mutated_dump_payloads_never_crash_restore() {
    let corpus = payload_corpus();
    assert!(corpus.len() >= 40, "only {} payloads", corpus.len());
    let srv = Server::start(&["--hash-max-ziplist-entries", "8", "--zset-max-ziplist-entries", "8", "--list-max-ziplist-size", "4"]);
    let mut c = srv.conn();
    let mut rng = Rng::new(4242);
    let rounds: usize = std::env::var("RDB_FUZZ_RESTORES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let (mut accepted, mut refused) = (0, 0);
    for i in 0..rounds {
        let (name, base) = &corpus[i % corpus.len()];
        let mut p = base.clone();
        // Damage the value, not the footer, and fix the CRC up (the
        // version stays) so the damage reaches the loader.
        let body = p.len() - 10;
        let damaged = mutate(&mut rng, &p[..body]);
        p.splice(..body, damaged);
        fix_crc(&mut p);
        let r = c.cmd(&[b"RESTORE".as_ref(), b"k", b"0", &p, b"REPLACE"]);
        match r {
            Reply::Status(ref s) if s == "OK" => {
                accepted += 1;
                // The value survives a save and load unchanged.
                let d1 = c.cmd(&["DEBUG", "DIGEST-VALUE", "k"]);
                assert_eq!(c.cmd(&["DEBUG", "RELOAD"]), Reply::ok(), "{} iteration {}: log:\n{}", name, i, srv.log_text());
                assert_eq!(c.cmd(&["DEBUG", "DIGEST-VALUE", "k"]), d1, "{} iteration {}: DEBUG RELOAD changed the value", name, i);
                for probe in PROBES {
                    c.send(probe).unwrap_or_else(|e| panic!("send: {}", e));
                }
                for probe in PROBES {
                    let r = c.read_reply().unwrap_or_else(|e| panic!("{} iteration {}: the server died at {:?}: {}\nlog:\n{}", name, i, probe, e, srv.log_text()));
                    if let Reply::Error(e) = &r {
                        assert!(e.starts_with("WRONGTYPE"), "{} iteration {}: {:?} -> {:?}", name, i, probe, r);
                    }
                }
            }
            Reply::Error(ref e) if e == "ERR Bad data format" || e == "ERR DUMP payload version or checksum are wrong" => refused += 1,
            other => panic!("{} iteration {}: RESTORE -> {:?}", name, i, other),
        }
    }
    eprintln!("RESTORE fuzz: {} accepted, {} refused", accepted, refused);
    assert_eq!(c.cmd(&["PING"]), Reply::Status("PONG".into()));
    assert!(!srv.log_text().contains("panicked"));
    assert!(accepted > 10 && refused > 10);
}

/// A wrong CRC-64 trailer: exit 1 with Redis's line, where "expected" is
/// the checksum of the bytes and "got" the one in the file (the reference
/// prints the same line for the same file).
#[test]
fn wrong_checksum_is_reported_as_redis_does() {
    let mut data = oxredis_rdb(9);
    let n = data.len();
    let computed = crc64(0, &data[..n - 8]);
    data[n - 3] ^= 1;
    let mut t = [0u8; 8];
    t.copy_from_slice(&data[n - 8..]);
    let stored = u64::from_le_bytes(t);
    let line = format!("Wrong RDB checksum expected: ({:x}) but got ({:x}). Aborting now.", computed, stored);
    let dir = TempDir::new("rdbfuzz-crc");
    std::fs::write(dir.join("dump.rdb"), &data).expect("write");
    let (_child, res) = start_on_damaged(&dir);
    let Err((st, log)) = res else { panic!("started on a file with a wrong checksum") };
    assert_eq!(st.code(), Some(1));
    assert!(log.contains(&line), "want {:?} in log:\n{}", line, log);
    assert!(log.contains("Terminating server after rdb file reading failure."), "log:\n{}", log);
    if common::reference_installed() {
        let log = dir.join("ref.log");
        let st = Command::new("redis-server")
            .args(["--port", &common::free_port().to_string(), "--bind", "127.0.0.1", "--save", ""])
            .arg("--dir")
            .arg(&dir.path)
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run redis-server");
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        assert_eq!(st.code(), Some(1), "reference log:\n{}", text);
        assert!(text.contains(&line), "want {:?} in the reference log:\n{}", line, text);
    }
}

/// A whole file around one key's type byte and body (after the key name).
fn file_with(version: u32, body: impl Fn(&mut Rio<Vec<u8>>) -> std::io::Result<()>) -> Vec<u8> {
    let mut r = Rio::new(Vec::new(), true);
    let mut w = || -> std::io::Result<()> {
        r.write(format!("REDIS{:04}", version).as_bytes())?;
        r.write(&[254, 0])?;
        body(&mut r)?;
        r.write(&[255])
    };
    w().expect("writing to a Vec");
    let crc = r.cksum;
    let mut out = r.into_inner();
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Damage aimed at each check, with a valid checksum: each is refused
/// with Redis's reason, fast and without allocating what the damaged
/// lengths claim.
#[test]
fn crafted_damage_is_refused_with_the_reason() {
    type Body = Box<dyn Fn(&mut Rio<Vec<u8>>) -> std::io::Result<()>>;
    let key = |r: &mut Rio<Vec<u8>>, t: u8| -> std::io::Result<()> {
        r.write(&[t])?;
        r.save_string(b"k", false)
    };
    let zl = |entries: &[&[u8]]| -> Vec<u8> {
        let mut z = Ziplist::new();
        for e in entries {
            z.push(e, Where::Tail);
        }
        z.as_bytes().to_vec()
    };
    let cases: Vec<(&str, Body, &str)> = vec![
        ("unknown type", Box::new(move |r| key(r, 99)), "Unknown RDB encoding type 99"),
        ("stream", Box::new(move |r| key(r, 15)), "Unknown RDB encoding type 15"),
        ("module", Box::new(move |r| key(r, 7)), "Unknown RDB encoding type 7"),
        (
            "NaN score",
            Box::new(move |r| {
                key(r, 5)?;
                r.save_len(1)?;
                r.save_string(b"m", false)?;
                r.write(&f64::NAN.to_le_bytes())
            }),
            "Zset with NAN score detected",
        ),
        (
            "duplicate zset member",
            Box::new(move |r| {
                key(r, 5)?;
                r.save_len(2)?;
                r.save_string(b"m", false)?;
                r.write(&1f64.to_le_bytes())?;
                r.save_string(b"m", false)?;
                r.write(&2f64.to_le_bytes())
            }),
            "Duplicate zset fields detected",
        ),
        (
            "duplicate set member",
            Box::new(move |r| {
                key(r, 2)?;
                r.save_len(2)?;
                r.save_string(b"x", false)?;
                r.save_string(b"x", false)
            }),
            "Duplicate set members detected",
        ),
        (
            "duplicate hash field",
            Box::new(move |r| {
                key(r, 4)?;
                r.save_len(2)?;
                for _ in 0..2 {
                    r.save_string(b"f", false)?;
                    r.save_string(b"v", false)?;
                }
                Ok(())
            }),
            "Duplicate hash fields detected",
        ),
        (
            "hash ziplist with a field twice",
            Box::new(move |r| {
                key(r, 13)?;
                r.save_string(&zl(&[b"f", b"1", b"f", b"2"]), false)
            }),
            "Hash ziplist integrity check failed.",
        ),
        (
            "hash ziplist with an odd count",
            Box::new(move |r| {
                key(r, 13)?;
                r.save_string(&zl(&[b"f", b"1", b"g"]), false)
            }),
            "Hash ziplist integrity check failed.",
        ),
        (
            "zset ziplist with a score that is no number",
            Box::new(move |r| {
                key(r, 12)?;
                r.save_string(&zl(&[b"m", b"abc"]), false)
            }),
            "Zset ziplist integrity check failed.",
        ),
        (
            "intset out of order",
            Box::new(move |r| {
                key(r, 11)?;
                let mut b = vec![2, 0, 0, 0, 2, 0, 0, 0];
                b.extend_from_slice(&5i16.to_le_bytes());
                b.extend_from_slice(&3i16.to_le_bytes());
                r.save_string(&b, false)
            }),
            "Intset integrity check failed.",
        ),
        (
            "quicklist node that is no ziplist",
            Box::new(move |r| {
                key(r, 14)?;
                r.save_len(1)?;
                r.save_string(b"not a ziplist at all", false)
            }),
            "Ziplist integrity check failed.",
        ),
        (
            "quicklist 2 with an unknown container",
            Box::new(move |r| {
                key(r, 18)?;
                r.save_len(1)?;
                r.save_len(7)?;
                r.save_string(b"x", false)
            }),
            "Quicklist integrity check failed.",
        ),
        (
            "huge set length, two members",
            Box::new(move |r| {
                key(r, 2)?;
                r.save_len(1 << 40)?;
                r.save_string(b"a", false)?;
                r.save_string(b"b", false)
            }),
            // The EOF opcode is read as the third member's length.
            "Unknown RDB string encoding type 63",
        ),
        (
            "huge list node count",
            Box::new(move |r| {
                key(r, 14)?;
                r.save_len(u64::MAX)
            }),
            "Unknown RDB string encoding type 63",
        ),
        (
            "huge string length",
            Box::new(move |r| {
                key(r, 0)?;
                r.save_len(1 << 50)
            }),
            "Unexpected EOF",
        ),
        (
            "LZF claiming a huge result",
            Box::new(move |r| {
                key(r, 0)?;
                r.write(&[0xc3])?;
                r.save_len(4)?;
                r.save_len(1 << 40)?;
                r.write(b"abcd")
            }),
            "Invalid LZF compressed string",
        ),
        (
            "LZF that does not decompress to its length",
            Box::new(move |r| {
                key(r, 0)?;
                r.write(&[0xc3])?;
                r.save_len(4)?;
                r.save_len(10)?;
                r.write(&[3, b'a', b'b', b'c'])
            }),
            "Invalid LZF compressed string",
        ),
        (
            "huge RESIZEDB then a key (loads)",
            Box::new(move |r| {
                r.write(&[251])?;
                r.save_len(1 << 60)?;
                r.save_len(1 << 60)?;
                key(r, 0)?;
                r.save_string(b"v", false)
            }),
            "OK",
        ),
    ];
    for (name, body, want) in cases {
        let data = file_with(9, body);
        let t = Instant::now();
        let got = match catch_unwind(AssertUnwindSafe(|| parse_all(&data, default_limits()))) {
            Ok(Ok(_)) => "OK".to_string(),
            Ok(Err(e)) => e,
            Err(_) => panic!("{}: the parser panicked", name),
        };
        assert!(got.contains(want), "{}: got {:?}, want {:?}", name, got, want);
        assert!(t.elapsed() < Duration::from_secs(1), "{}: took {:?}", name, t.elapsed());
    }
}

/// A file with the same key twice: Redis 6.2/7.0 panic on it; oxredis
/// logs Redis's line and stops the start with exit code 1.
#[test]
fn duplicate_keys_stop_the_start() {
    let data = file_with(9, |r| {
        for v in [b"v", b"w"] {
            r.write(&[0])?;
            r.save_string(b"dup", false)?;
            r.save_string(v, false)?;
        }
        Ok(())
    });
    let dir = TempDir::new("rdbfuzz-dup");
    std::fs::write(dir.join("dump.rdb"), &data).expect("write");
    let (_child, res) = start_on_damaged(&dir);
    let Err((st, log)) = res else { panic!("started on a file with a duplicated key") };
    assert_eq!(st.code(), Some(1), "log:\n{}", log);
    assert!(log.contains("RDB has duplicated key 'dup' in DB 0"), "log:\n{}", log);
    assert!(log.contains("Terminating server after rdb file reading failure."), "log:\n{}", log);
}
