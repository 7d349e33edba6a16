//! RDB files and DUMP payloads between oxredis and the reference Redis 7.0
//! (`redis-server`, skipped with a message when it is not installed):
//!
//! 1. a random dataset built on oxredis → SAVE (RDB 9) → redis-server
//!    started on the file has every key with the same DEBUG DIGEST-VALUE,
//!    TTL and encoding (Redis 7 says `listpack` where 6.2 says
//!    `ziplist`), and the same DEBUG DIGEST;
//! 2. the same dataset built on redis-server → SAVE (RDB 10: listpacks,
//!    quicklist 2) → oxredis started on it, likewise; also with small
//!    `*-max-listpack-*` limits (big encodings at a few elements), with
//!    64 kB list nodes (`list-max-listpack-size -5`), and with plain list
//!    nodes (`DEBUG QUICKLIST-PACKED-THRESHOLD`);
//! 3. sorted-set scores whose text forms differ between versions (0.1,
//!    1e300, -0.0, 2.5e-310, …) digest the same both ways;
//! 4. DUMP on one side, RESTORE on the other, both ways.

mod common;
mod rdbdata;

use std::time::Instant;

use common::{Conn, Kind as SrvKind, Reply, Server, TempDir};
use rdbdata::{assert_same, snapshot, Gen};

/// Starts a server of `kind` with `dump` as its dump.rdb.
fn start_on(kind: SrvKind, dump: &[u8], args: &[&str]) -> (TempDir, Server) {
    let dir = TempDir::new("rdbinterop");
    std::fs::write(dir.join("dump.rdb"), dump).expect("write dump.rdb");
    let path = dir.path.to_string_lossy().into_owned();
    let mut all: Vec<&str> = args.to_vec();
    all.extend_from_slice(&["--dir", &path]);
    (dir, Server::start_kind(kind, &all, None))
}

/// SAVE, and the file it wrote (in the server's `dir`, which start_on
/// moves away from the harness's).
fn save(c: &mut Conn, srv: &Server) -> Vec<u8> {
    assert_eq!(c.cmd(&["SAVE"]), Reply::ok(), "log:\n{}", srv.log_text());
    let dir = c.cmd(&["CONFIG", "GET", "dir"]).array()[1].text();
    std::fs::read(std::path::Path::new(&dir).join("dump.rdb")).expect("SAVE wrote dump.rdb")
}

/// Builds the seed's dataset on `from`, saves it, starts `to` on the file
/// and compares every key. `setup` runs on the source before the fill.
fn transfer(what: &str, from: SrvKind, to: SrvKind, from_args: &[&str], to_args: &[&str], seed: u64, setup: &[&[&str]], encodings: bool) -> Vec<u8> {
    let src = Server::start_kind(from, from_args, None);
    let mut c = src.conn();
    for cmd in setup {
        assert_eq!(c.cmd(cmd), Reply::ok(), "{}: {:?}", what, cmd);
    }
    let mut g = Gen::new(seed);
    rdbdata::fill(&mut c, &mut g, 2, seed % 2 == 1);
    let t0 = Instant::now();
    let before = snapshot(&mut c);
    let encs = rdbdata::encodings(&before);
    // Every encoding is there unless the source's limits are unusual.
    for e in ["string/int", "string/embstr", "string/raw", "list/quicklist", "set/intset", "set/hashtable", "zset/skiplist", "hash/hashtable"] {
        assert!(!encodings || encs.contains(e), "{}: the dataset has no {} ({:?})", what, e, encs);
    }
    let digest = c.cmd(&["DEBUG", "DIGEST"]).text();
    let dump = save(&mut c, &src);
    let expect_header: &[u8] = if from == SrvKind::Oxredis { b"REDIS0009" } else { b"REDIS0010" };
    assert_eq!(&dump[..9], expect_header, "{}", what);
    let (_d, dst) = start_on(to, &dump, to_args);
    let mut r = dst.conn();
    let after = snapshot(&mut r);
    assert_same(what, &before, &after, encodings, t0.elapsed().as_millis() as i64 + 1000);
    assert_eq!(r.cmd(&["DEBUG", "DIGEST"]).text(), digest, "{}: DEBUG DIGEST", what);
    dump
}

#[test]
fn oxredis_files_load_in_redis_with_the_same_digest() {
    if common::reference_or_skip(&[]).is_none() {
        return;
    }
    for seed in rdbdata::seeds(&[101, 102]) {
        transfer(&format!("oxredis -> redis, seed {}", seed), SrvKind::Oxredis, SrvKind::Reference, &[], &[], seed, &[], true);
    }
    let small = ["--list-max-ziplist-size", "4", "--hash-max-ziplist-entries", "4", "--zset-max-ziplist-entries", "4", "--set-max-intset-entries", "8"];
    transfer("oxredis -> redis, small limits", SrvKind::Oxredis, SrvKind::Reference, &small, &small, 103, &[], true);
    transfer("oxredis -> redis, rdbcompression no", SrvKind::Oxredis, SrvKind::Reference, &["--rdbcompression", "no"], &[], 104, &[], true);
}

#[test]
fn redis_files_load_in_oxredis_with_the_same_digest() {
    if common::reference_or_skip(&[]).is_none() {
        return;
    }
    for seed in rdbdata::seeds(&[201, 202]) {
        transfer(&format!("redis -> oxredis, seed {}", seed), SrvKind::Reference, SrvKind::Oxredis, &[], &[], seed, &[], true);
    }
    transfer("redis -> oxredis, rdbcompression no", SrvKind::Reference, SrvKind::Oxredis, &["--rdbcompression", "no"], &[], 203, &[], true);
}

/// Small listpack limits in Redis: its big encodings at a few elements and
/// many list nodes; oxredis with the same limits keeps the encodings, with
/// its default limits it chooses its own (same content).
#[test]
fn redis_files_with_small_listpack_limits() {
    if common::reference_or_skip(&[]).is_none() {
        return;
    }
    let redis_small = [
        "--list-max-listpack-size",
        "3",
        "--hash-max-listpack-entries",
        "4",
        "--hash-max-listpack-value",
        "10",
        "--zset-max-listpack-entries",
        "4",
        "--zset-max-listpack-value",
        "10",
        "--set-max-intset-entries",
        "8",
    ];
    let ox_small = [
        "--list-max-ziplist-size",
        "3",
        "--hash-max-ziplist-entries",
        "4",
        "--hash-max-ziplist-value",
        "10",
        "--zset-max-ziplist-entries",
        "4",
        "--zset-max-ziplist-value",
        "10",
        "--set-max-intset-entries",
        "8",
    ];
    transfer("redis small -> oxredis small", SrvKind::Reference, SrvKind::Oxredis, &redis_small, &ox_small, 301, &[], true);
    transfer("redis small -> oxredis default", SrvKind::Reference, SrvKind::Oxredis, &redis_small, &[], 302, &[], false);
}

/// 64 kB list nodes, and plain nodes (an element over 100 bytes is a node
/// of its own, RDB container PLAIN) in Redis's file.
#[test]
fn redis_files_with_big_and_plain_list_nodes() {
    if common::reference_or_skip(&[]).is_none() {
        return;
    }
    transfer("redis -5 nodes -> oxredis", SrvKind::Reference, SrvKind::Oxredis, &["--list-max-listpack-size", "-5"], &[], 401, &[], true);
    let plain: &[&str] = &["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100"];
    let dump = transfer("redis plain nodes -> oxredis", SrvKind::Reference, SrvKind::Oxredis, &[], &[], 402, &[plain], true);
    // Make sure the file really has a plain node: a list with a big
    // element, saved with the threshold, loads to the same elements.
    let _ = dump;
    let src = common::reference_or_skip(&[]).expect("reference");
    let mut c = src.conn();
    assert_eq!(c.cmd(plain), Reply::ok());
    let big = "B".repeat(5000);
    let huge = "H".repeat(70_000);
    c.cmd(&["RPUSH", "l", "a", &big, "1", &huge, "b", &big]);
    c.cmd(&["LPUSH", "l", &huge]);
    let digest = c.cmd(&["DEBUG", "DIGEST"]).text();
    let dump = save(&mut c, &src);
    let (_d, ox) = start_on(SrvKind::Oxredis, &dump, &[]);
    let mut o = ox.conn();
    assert_eq!(o.cmd(&["DEBUG", "DIGEST"]).text(), digest);
    assert_eq!(o.cmd(&["LLEN", "l"]), Reply::Int(7));
    assert_eq!(o.cmd(&["LINDEX", "l", "4"]).text(), huge);
    // And back: oxredis's file of that list loads in Redis.
    let dump2 = save(&mut o, &ox);
    let (_d2, r2) = start_on(SrvKind::Reference, &dump2, &[]);
    assert_eq!(r2.conn().cmd(&["DEBUG", "DIGEST"]).text(), digest);
}

const TRICKY_SCORES: &[&str] = &[
    "0.1",
    "1e300",
    "-1e300",
    "-0.0",
    "0",
    "2.5e-310",
    "1e-300",
    "0.30000000000000004",
    "123456789.123456789",
    "9007199254740993",
    "-9223372036854775808",
    "1.7976931348623157e308",
    "4.9e-324",
    "+inf",
    "-inf",
    "3.0",
    "1e16",
    "100000000000000000000",
];

/// Sorted sets with scores whose printed forms are delicate, in both
/// encodings, go both ways with the same digest (and ZSCORE text).
#[test]
fn tricky_scores_digest_the_same_both_ways() {
    let Some(reference) = common::reference_or_skip(&[]) else { return };
    drop(reference);
    for (from, to) in [(SrvKind::Oxredis, SrvKind::Reference), (SrvKind::Reference, SrvKind::Oxredis)] {
        let src = Server::start_kind(from, &[], None);
        let mut c = src.conn();
        for (i, s) in TRICKY_SCORES.iter().enumerate() {
            // One member per key (ziplist), and all in one key, twice, the
            // second past the ziplist limits (skiplist).
            c.cmd(&["ZADD", &format!("z{}", i), s, "m"]);
            c.cmd(&["ZADD", "zall", s, &format!("m{}", i)]);
            c.cmd(&["ZADD", "zall-big", s, &format!("m{}-{}", i, "x".repeat(70))]);
        }
        assert_eq!(rdbdata::normalize_encoding(&c.cmd(&["OBJECT", "ENCODING", "zall"]).text()), "ziplist");
        assert_eq!(c.cmd(&["OBJECT", "ENCODING", "zall-big"]).text(), "skiplist");
        let digest = c.cmd(&["DEBUG", "DIGEST"]).text();
        let scores: Vec<Reply> = (0..TRICKY_SCORES.len()).map(|i| c.cmd(&["ZSCORE", &format!("z{}", i), "m"])).collect();
        let dump = save(&mut c, &src);
        let (_d, dst) = start_on(to, &dump, &[]);
        let mut r = dst.conn();
        assert_eq!(r.cmd(&["DEBUG", "DIGEST"]).text(), digest, "{:?} -> {:?}", from, to);
        for i in 0..TRICKY_SCORES.len() {
            let k = format!("z{}", i);
            assert_eq!(r.cmd(&["DEBUG", "DIGEST-VALUE", &k]), c.cmd(&["DEBUG", "DIGEST-VALUE", &k]), "score {}", TRICKY_SCORES[i]);
            assert_eq!(r.cmd(&["ZSCORE", &k, "m"]), scores[i], "ZSCORE of {} after {:?} -> {:?}", TRICKY_SCORES[i], from, to);
        }
        assert_eq!(r.cmd(&["ZRANGE", "zall", "0", "-1", "WITHSCORES"]), c.cmd(&["ZRANGE", "zall", "0", "-1", "WITHSCORES"]));
        assert_eq!(r.cmd(&["ZRANGE", "zall-big", "0", "-1", "WITHSCORES"]), c.cmd(&["ZRANGE", "zall-big", "0", "-1", "WITHSCORES"]));
    }
}

/// Every key DUMPed on one side RESTOREs on the other to the same value
/// digest and encoding; the TTL travels beside the payload.
fn dump_restore(from: SrvKind, to: SrvKind, seed: u64) {
    let src = Server::start_kind(from, &[], None);
    let dst = Server::start_kind(to, &[], None);
    let mut c = src.conn();
    let mut r = dst.conn();
    let mut g = Gen::new(seed);
    let dbs = rdbdata::fill(&mut c, &mut g, 2, false);
    let before = snapshot(&mut c);
    for db in dbs {
        c.cmd(&["SELECT", &db.to_string()]);
        r.cmd(&["SELECT", &db.to_string()]);
        let keys: Vec<Reply> = c.cmd(&["KEYS", "*"]).array();
        for k in keys {
            let Reply::Bulk(Some(k)) = k else { panic!("key") };
            let Reply::Bulk(Some(payload)) = c.cmd(&[b"DUMP".as_ref(), &k]) else { panic!("DUMP") };
            let ttl = c.cmd(&[b"PTTL".as_ref(), &k]).int().max(0).to_string();
            let res = r.cmd(&[b"RESTORE".as_ref(), &k, ttl.as_bytes(), &payload]);
            assert_eq!(res, Reply::ok(), "{:?} -> {:?}: RESTORE {:?}", from, to, String::from_utf8_lossy(&k));
            // A second RESTORE without REPLACE is refused, with it accepted.
            assert_eq!(r.cmd(&[b"RESTORE".as_ref(), &k, b"0", &payload]), Reply::err("BUSYKEY Target key name already exists."));
            assert_eq!(r.cmd(&[b"RESTORE".as_ref(), &k, ttl.as_bytes(), &payload, b"REPLACE"]), Reply::ok());
        }
    }
    let after = snapshot(&mut r);
    assert_same(&format!("DUMP {:?} -> RESTORE {:?}", from, to), &before, &after, true, 2000);
    assert_eq!(r.cmd(&["DEBUG", "DIGEST"]), c.cmd(&["DEBUG", "DIGEST"]));
}

#[test]
fn dump_on_one_restore_on_the_other() {
    if common::reference_or_skip(&[]).is_none() {
        return;
    }
    for seed in rdbdata::seeds(&[501]) {
        dump_restore(SrvKind::Oxredis, SrvKind::Reference, seed);
        dump_restore(SrvKind::Reference, SrvKind::Oxredis, seed + 1);
    }
}

/// RESTORE in oxredis of payloads made by Redis with small listpack
/// limits (its big encodings) and with plain list nodes.
#[test]
fn redis_payloads_with_big_encodings_and_plain_nodes_restore() {
    let Some(src) = common::reference_or_skip(&["--hash-max-listpack-entries", "2", "--zset-max-listpack-entries", "2", "--list-max-listpack-size", "2"]) else {
        return;
    };
    let dst = Server::start(&[]);
    let mut c = src.conn();
    let mut o = dst.conn();
    assert_eq!(c.cmd(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100"]), Reply::ok());
    c.cmd(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    c.cmd(&["ZADD", "z", "0.1", "a", "1e300", "b", "-0.0", "c"]);
    c.cmd(&["RPUSH", "l", "a", &"P".repeat(200), "b", "c", "d", &"Q".repeat(9000)]);
    for k in ["h", "z", "l"] {
        let Reply::Bulk(Some(p)) = c.cmd(&["DUMP", k]) else { panic!("DUMP {}", k) };
        assert_eq!(&p[p.len() - 10..p.len() - 8], &[10, 0], "Redis 7.0 payloads are RDB 10");
        assert_eq!(o.cmd(&[b"RESTORE".as_ref(), k.as_bytes(), b"0", &p]), Reply::ok(), "{}", k);
        assert_eq!(o.cmd(&["DEBUG", "DIGEST-VALUE", k]), c.cmd(&["DEBUG", "DIGEST-VALUE", k]), "{}", k);
    }
    // oxredis's limits decide the encodings (defaults: compact).
    assert_eq!(o.cmd(&["OBJECT", "ENCODING", "h"]).text(), "ziplist");
    assert_eq!(o.cmd(&["OBJECT", "ENCODING", "z"]).text(), "ziplist");
    assert_eq!(o.cmd(&["LRANGE", "l", "0", "-1"]), c.cmd(&["LRANGE", "l", "0", "-1"]));
}

/// A Redis file with a db past oxredis's `databases` stops the start as
/// Redis does; with enough databases it loads.
#[test]
fn redis_file_with_more_databases() {
    let Some(src) = common::reference_or_skip(&["--databases", "32"]) else { return };
    let mut c = src.conn();
    c.cmd(&["SELECT", "20"]);
    c.cmd(&["SET", "k", "v"]);
    let dump = save(&mut c, &src);
    let dir = TempDir::new("rdbinterop-dbs");
    std::fs::write(dir.join("dump.rdb"), &dump).expect("write");
    let log = dir.join("server.log");
    let st = std::process::Command::new(common::OXREDIS)
        .args(["--port", &common::free_port().to_string(), "--bind", "127.0.0.1", "--save", ""])
        .arg("--dir")
        .arg(&dir.path)
        .arg("--logfile")
        .arg(&log)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run oxredis-server");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(st.code(), Some(1), "log:\n{}", text);
    assert!(text.contains("FATAL: Data file was created with a Redis server configured to handle more than 16 databases. Exiting"), "log:\n{}", text);
    let (_d, ox) = start_on(SrvKind::Oxredis, &dump, &["--databases", "32"]);
    let mut o = ox.conn();
    o.cmd(&["SELECT", "20"]);
    assert_eq!(o.cmd(&["GET", "k"]), Reply::bulk("v"));
}

/// IDLE and FREQ opcodes written by Redis under an LRU / LFU policy reach
/// OBJECT IDLETIME / OBJECT FREQ in oxredis.
#[test]
fn redis_lru_and_lfu_fields_load() {
    if common::reference_or_skip(&[]).is_none() {
        return;
    }
    let src = Server::start_reference(&["--maxmemory-policy", "allkeys-lfu"]).expect("reference");
    let mut c = src.conn();
    c.cmd(&["SET", "hot", "v"]);
    for _ in 0..300 {
        c.cmd(&["GET", "hot"]);
    }
    c.cmd(&["SET", "cold", "v"]);
    let hot = c.cmd(&["OBJECT", "FREQ", "hot"]).int();
    assert!(hot > 5);
    let dump = save(&mut c, &src);
    let (_d, ox) = start_on(SrvKind::Oxredis, &dump, &["--maxmemory-policy", "allkeys-lfu"]);
    let mut o = ox.conn();
    assert_eq!(o.cmd(&["OBJECT", "FREQ", "hot"]).int(), hot);
    assert_eq!(o.cmd(&["OBJECT", "FREQ", "cold"]).int(), 5);

    let src = Server::start_reference(&["--maxmemory-policy", "allkeys-lru"]).expect("reference");
    let mut c = src.conn();
    c.cmd(&["SET", "old", "v"]);
    // Redis's LRU clock ticks in seconds; an object one second idle or more.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let idle = c.cmd(&["OBJECT", "IDLETIME", "old"]).int();
    assert!(idle >= 1, "idle {}", idle);
    let dump = save(&mut c, &src);
    let (_d, ox) = start_on(SrvKind::Oxredis, &dump, &["--maxmemory-policy", "allkeys-lru"]);
    let got = ox.conn().cmd(&["OBJECT", "IDLETIME", "old"]).int();
    assert!((idle..=idle + 2).contains(&got), "IDLETIME {} after load, {} before", got, idle);
}

/// Redis with LZF-compressed list nodes (`list-compress-depth`), and with
/// listpack limits far above oxredis's: oxredis converts what its own
/// limits do not allow as compact, with the same content.
#[test]
fn redis_files_with_compressed_nodes_and_huge_listpacks() {
    if common::reference_or_skip(&[]).is_none() {
        return;
    }
    transfer("redis compress-depth 1 -> oxredis", SrvKind::Reference, SrvKind::Oxredis, &["--list-compress-depth", "1", "--list-max-listpack-size", "-1"], &[], 601, &[], true);
    let huge = [
        "--hash-max-listpack-entries",
        "5000",
        "--hash-max-listpack-value",
        "5000",
        "--zset-max-listpack-entries",
        "5000",
        "--zset-max-listpack-value",
        "5000",
        "--set-max-intset-entries",
        "5000",
    ];
    transfer("redis huge listpacks -> oxredis default", SrvKind::Reference, SrvKind::Oxredis, &huge, &[], 602, &[], false);
    // And oxredis with huge ziplists -> Redis with its defaults.
    let huge_ox: Vec<&str> = huge.iter().map(|a| match *a {
        "--hash-max-listpack-entries" => "--hash-max-ziplist-entries",
        "--hash-max-listpack-value" => "--hash-max-ziplist-value",
        "--zset-max-listpack-entries" => "--zset-max-ziplist-entries",
        "--zset-max-listpack-value" => "--zset-max-ziplist-value",
        other => other,
    }).collect();
    transfer("oxredis huge ziplists -> redis default", SrvKind::Oxredis, SrvKind::Reference, &huge_ox, &[], 603, &[], false);
}
