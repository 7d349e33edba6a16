//! RDB round trips on oxredis alone: a random dataset (seeded, several
//! seeds) of every type and encoding → SAVE → a new server started on the
//! file, and DEBUG RELOAD, must give back every key with the same value
//! digest, the same OBJECT ENCODING and its TTL (± the time that passed
//! plus a second); also with `rdbcompression no` and `rdbchecksum no`,
//! with other encoding limits at load, keys already expired at load, and
//! the DEBUG RELOAD options (MERGE, NOFLUSH, NOSAVE) as Redis has them.

mod common;
mod rdbdata;

use std::time::{Duration, Instant};

use common::{Conn, Reply, Server, TempDir};
use rdbdata::{assert_same, snapshot, Gen};

/// Starts oxredis with `dump` as dbfilename in a directory of its own
/// (kept alive beside the server).
fn start_on(dump: &[u8], args: &[&str]) -> (TempDir, Server) {
    let dir = TempDir::new("rdbrt");
    std::fs::write(dir.join("dump.rdb"), dump).expect("write dump.rdb");
    let path = dir.path.to_string_lossy().into_owned();
    let mut all: Vec<&str> = args.to_vec();
    all.extend_from_slice(&["--dir", &path]);
    let srv = Server::start(&all);
    (dir, srv)
}

fn save(c: &mut Conn, srv: &Server) -> Vec<u8> {
    assert_eq!(c.cmd(&["SAVE"]), Reply::ok(), "log:\n{}", srv.log_text());
    std::fs::read(srv.dir.join("dump.rdb")).expect("SAVE wrote dump.rdb")
}

fn digest(c: &mut Conn) -> String {
    c.cmd(&["DEBUG", "DIGEST"]).text()
}

const EXPECTED_ENCODINGS: &[&str] = &[
    "string/int",
    "string/embstr",
    "string/raw",
    "list/quicklist",
    "set/intset",
    "set/hashtable",
    "zset/ziplist",
    "zset/skiplist",
    "hash/ziplist",
    "hash/hashtable",
];

/// Fill (seed), save, restart on the file, DEBUG RELOAD; compare each step.
fn round_trip(seed: u64, args: &[&str], per_kind: usize, big: bool) {
    let srv = Server::start(args);
    let mut c = srv.conn();
    let mut g = Gen::new(seed);
    rdbdata::fill(&mut c, &mut g, per_kind, big);
    let t0 = Instant::now();
    let before = snapshot(&mut c);
    let d0 = digest(&mut c);
    let encs = rdbdata::encodings(&before);
    for e in EXPECTED_ENCODINGS {
        assert!(encs.contains(*e), "seed {}: the dataset has no {} (has {:?})", seed, e, encs);
    }
    let dump = save(&mut c, &srv);
    drop(c);
    drop(srv);

    let (_dir, srv2) = start_on(&dump, args);
    let mut c = srv2.conn();
    assert!(srv2.log_text().contains("Done loading RDB"), "log:\n{}", srv2.log_text());
    let after = snapshot(&mut c);
    let slack = t0.elapsed().as_millis() as i64 + 1000;
    assert_same(&format!("seed {} {:?}: restart", seed, args), &before, &after, true, slack);
    assert_eq!(digest(&mut c), d0, "seed {}: DEBUG DIGEST after restart", seed);

    // DEBUG RELOAD: save + flush + load in place.
    assert_eq!(c.cmd(&["DEBUG", "RELOAD"]), Reply::ok(), "log:\n{}", srv2.log_text());
    let reloaded = snapshot(&mut c);
    let slack = t0.elapsed().as_millis() as i64 + 1000;
    assert_same(&format!("seed {} {:?}: DEBUG RELOAD", seed, args), &before, &reloaded, true, slack);
    assert_eq!(digest(&mut c), d0, "seed {}: DEBUG DIGEST after DEBUG RELOAD", seed);

    // The reloaded values are usable: every key is still writable in its
    // type (a broken loaded encoding tends to show on the first change).
    let keys: Vec<_> = reloaded.iter().filter(|(k, _)| k.0 == 0).take(60).map(|(k, s)| (k.1.clone(), s.typ.clone())).collect();
    for (k, typ) in keys {
        let r = match typ.as_str() {
            "string" => c.cmd(&[b"APPEND".as_ref(), &k, b"!"]),
            "list" => c.cmd(&[b"RPUSH".as_ref(), &k, b"tail-element"]),
            "set" => c.cmd(&[b"SADD".as_ref(), &k, b"new-member"]),
            "zset" => c.cmd(&[b"ZADD".as_ref(), &k, b"0.25", b"new-member"]),
            "hash" => c.cmd(&[b"HSET".as_ref(), &k, b"new-field", b"v"]),
            other => panic!("type {}", other),
        };
        assert!(!r.is_error(), "{:?} on {:?}: {:?}", typ, String::from_utf8_lossy(&k), r);
    }
    assert_eq!(c.cmd(&["DEBUG", "RELOAD"]), Reply::ok());
    assert_eq!(c.cmd(&["PING"]), Reply::Status("PONG".into()));
}

#[test]
fn random_datasets_survive_restart_and_debug_reload() {
    for seed in rdbdata::seeds(&[1, 2, 3]) {
        round_trip(seed, &[], 3, seed % 2 == 1);
    }
}

#[test]
fn round_trip_without_compression() {
    round_trip(11, &["--rdbcompression", "no"], 2, true);
}

#[test]
fn round_trip_without_checksum() {
    let srv = Server::start(&["--rdbchecksum", "no"]);
    let mut c = srv.conn();
    c.cmd(&["SET", "k", "v"]);
    let dump = save(&mut c, &srv);
    assert_eq!(&dump[dump.len() - 8..], &[0u8; 8], "rdbchecksum no writes a zero checksum");
    drop(c);
    drop(srv);
    // A zero checksum loads whatever the loader's rdbchecksum says.
    for args in [&[][..], &["--rdbchecksum", "no"]] {
        let (_d, s2) = start_on(&dump, args);
        assert_eq!(s2.conn().cmd(&["GET", "k"]), Reply::bulk("v"));
    }
    round_trip(12, &["--rdbchecksum", "no"], 2, false);
    round_trip(13, &["--rdbchecksum", "no", "--rdbcompression", "no"], 2, false);
}

/// Small limits: many more list nodes and the big encodings at small sizes.
#[test]
fn round_trip_with_small_encoding_limits() {
    let args = [
        "--list-max-ziplist-size",
        "5",
        "--hash-max-ziplist-entries",
        "8",
        "--hash-max-ziplist-value",
        "16",
        "--zset-max-ziplist-entries",
        "8",
        "--zset-max-ziplist-value",
        "16",
        "--set-max-intset-entries",
        "16",
    ];
    round_trip(21, &args, 3, false);
}

/// A file saved with the default limits, loaded by a server with small
/// limits (and the other way round): the values are converted to the
/// encodings the loading server's limits call for, with the same content.
#[test]
fn load_converts_to_the_loading_servers_encodings() {
    let small = [
        "--list-max-ziplist-size",
        "3",
        "--hash-max-ziplist-entries",
        "4",
        "--hash-max-ziplist-value",
        "8",
        "--zset-max-ziplist-entries",
        "4",
        "--zset-max-ziplist-value",
        "8",
        "--set-max-intset-entries",
        "4",
    ];
    let big = [
        "--hash-max-ziplist-entries",
        "100000",
        "--hash-max-ziplist-value",
        "100000",
        "--zset-max-ziplist-entries",
        "100000",
        "--zset-max-ziplist-value",
        "100000",
        "--set-max-intset-entries",
        "100000",
    ];
    for (save_args, load_args) in [(&[][..], &small[..]), (&small[..], &[][..]), (&[][..], &big[..])] {
        let srv = Server::start(save_args);
        let mut c = srv.conn();
        let mut g = Gen::new(31);
        rdbdata::fill(&mut c, &mut g, 3, false);
        let t0 = Instant::now();
        let before = snapshot(&mut c);
        let d0 = digest(&mut c);
        let dump = save(&mut c, &srv);
        let (_d, s2) = start_on(&dump, load_args);
        let mut c2 = s2.conn();
        let after = snapshot(&mut c2);
        assert_same(&format!("{:?} -> {:?}", save_args, load_args), &before, &after, false, t0.elapsed().as_millis() as i64 + 1000);
        assert_eq!(digest(&mut c2), d0);
        // Each key has the encoding the loading server's limits give it:
        // what DEBUG RELOAD (a save and load within that server) keeps.
        let enc_after = after.clone();
        assert_eq!(c2.cmd(&["DEBUG", "RELOAD"]), Reply::ok());
        let again = snapshot(&mut c2);
        assert_same("reload on the loading server", &enc_after, &again, true, t0.elapsed().as_millis() as i64 + 1000);
        if load_args == &small[..] {
            // Under the small limits only tiny values stay compact.
            for ((db, key), st) in &after {
                if st.encoding != "ziplist" && st.encoding != "intset" {
                    continue;
                }
                assert_eq!(c2.cmd(&["SELECT", &db.to_string()]), Reply::ok());
                let card = match st.typ.as_str() {
                    "hash" => "HLEN",
                    "zset" => "ZCARD",
                    _ => "SCARD",
                };
                let n = c2.cmd(&[card.as_bytes(), key]).int();
                assert!(n <= 4, "db{} {:?} is {} with {} elements", db, String::from_utf8_lossy(key), st.encoding, n);
            }
        }
        if load_args == &big[..] {
            // Under huge limits every hash / zset / set of integers is compact.
            for ((db, key), st) in &after {
                let compact = matches!(st.encoding.as_str(), "ziplist" | "intset");
                if st.typ == "hash" || st.typ == "zset" {
                    assert!(compact, "db{} {:?}: {} {}", db, String::from_utf8_lossy(key), st.typ, st.encoding);
                }
            }
        }
    }
}

/// Keys whose TTL passed between SAVE and the load are not loaded (the
/// log counts them), at start and by DEBUG RELOAD NOSAVE.
#[test]
fn expired_keys_are_dropped_at_load() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    assert_eq!(c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), Reply::ok());
    for i in 0..20 {
        c.cmd(&["SET", &format!("gone{}", i), "v", "PX", "300"]);
        c.cmd(&["RPUSH", &format!("list-gone{}", i), "a", "b"]);
        c.cmd(&["PEXPIRE", &format!("list-gone{}", i), "300"]);
        c.cmd(&["SET", &format!("kept{}", i), "v", "EX", "1000"]);
        c.cmd(&["SET", &format!("plain{}", i), "v"]);
    }
    let dump = save(&mut c, &srv);
    std::thread::sleep(Duration::from_millis(500));
    let (_d, s2) = start_on(&dump, &[]);
    let mut c2 = s2.conn();
    assert_eq!(c2.cmd(&["DBSIZE"]), Reply::Int(40));
    assert!(s2.log_text().contains("keys loaded: 40, keys expired: 40"), "log:\n{}", s2.log_text());
    assert_eq!(c2.cmd(&["EXISTS", "gone0", "list-gone3", "kept1", "plain2"]), Reply::Int(2));
    let ttl = c2.cmd(&["TTL", "kept5"]).int();
    assert!((990..=1000).contains(&ttl), "TTL {}", ttl);

    // DEBUG RELOAD NOSAVE loads the same old file in the first server,
    // where the expired keys are still in memory (active expiry is off).
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(80));
    assert_eq!(c.cmd(&["DEBUG", "RELOAD", "NOSAVE"]), Reply::ok());
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(40));
    assert_eq!(c.cmd(&["EXISTS", "gone0", "list-gone3", "kept1", "plain2"]), Reply::Int(2));
}

/// One DEBUG RELOAD scenario: its commands and their replies.
fn reload_script(c: &mut Conn) -> Vec<Reply> {
    let mut out = Vec::new();
    let mut q = |c: &mut Conn, line: &str| out.push(c.q(line));
    q(c, "FLUSHALL");
    q(c, "SET k1 a");
    q(c, "HSET h f v");
    q(c, "SAVE");
    // NOSAVE loads the file as it is: k2 is lost, k1 is back.
    q(c, "SET k2 b");
    q(c, "SET k1 changed");
    q(c, "DEBUG RELOAD NOSAVE");
    q(c, "MGET k1 k2");
    // NOFLUSH MERGE: the file's keys replace the same keys in memory,
    // the other keys stay.
    q(c, "SET k1 changed");
    q(c, "SET k3 c");
    q(c, "DEBUG RELOAD NOSAVE NOFLUSH MERGE");
    q(c, "MGET k1 k3");
    q(c, "DBSIZE");
    // MERGE with a flush is a plain reload of the file.
    q(c, "SET k4 d");
    q(c, "DEBUG RELOAD NOSAVE MERGE");
    q(c, "MGET k1 k3 k4");
    // NOFLUSH without MERGE, no key in common: the union.
    q(c, "FLUSHALL");
    q(c, "SET only-in-memory x");
    q(c, "DEBUG RELOAD NOSAVE NOFLUSH");
    q(c, "MGET k1 only-in-memory");
    q(c, "DBSIZE");
    // Options are case-insensitive; an unknown one is refused.
    q(c, "debug reload nosave merge noflush");
    q(c, "DEBUG RELOAD FOO");
    q(c, "DEBUG RELOAD NOSAVE BAR");
    // A plain reload saves first.
    q(c, "SET k5 e");
    q(c, "DEBUG RELOAD");
    q(c, "GET k5");
    q(c, "DBSIZE");
    out
}

#[test]
fn debug_reload_options_as_redis() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    let got = reload_script(&mut c);
    let b = Reply::bulk;
    let arr = |v: Vec<Reply>| Reply::Array(Some(v));
    let ok = Reply::ok;
    let expected = vec![
        ok(),
        ok(),
        Reply::Int(1),
        ok(),
        ok(),
        ok(),
        ok(),
        arr(vec![b("a"), Reply::nil()]),
        ok(),
        ok(),
        ok(),
        arr(vec![b("a"), b("c")]),
        Reply::Int(3),
        ok(),
        ok(),
        arr(vec![b("a"), Reply::nil(), Reply::nil()]),
        ok(),
        ok(),
        ok(),
        arr(vec![b("a"), b("x")]),
        Reply::Int(3),
        ok(),
        Reply::err("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options."),
        Reply::err("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options."),
        ok(),
        ok(),
        b("e"),
        Reply::Int(4),
    ];
    assert_eq!(got, expected);
    if let Some(reference) = common::reference_or_skip(&[]) {
        let mut r = reference.conn();
        assert_eq!(reload_script(&mut r), got, "the reference answers the same script differently");
    }
}

/// NOFLUSH without MERGE over a key in memory: Redis 6.2/7.0 panic
/// ("Duplicated key found in RDB file"); oxredis refuses the load with an
/// error reply and keeps serving. A missing file is an error in both.
#[test]
fn debug_reload_noflush_duplicate_and_missing_file() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    c.cmd(&["SET", "k", "v"]);
    assert_eq!(c.cmd(&["DEBUG", "RELOAD", "NOSAVE"]), Reply::err("ERR Error trying to load the RDB dump"), "no dump.rdb yet");
    // As in Redis, the flush came before the failed load.
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(0));
    c.cmd(&["SET", "k", "v"]);
    assert_eq!(c.cmd(&["SAVE"]), Reply::ok());
    let r = c.cmd(&["DEBUG", "RELOAD", "NOSAVE", "NOFLUSH"]);
    assert_eq!(r, Reply::err("ERR Error trying to load the RDB dump"));
    assert!(srv.log_text().contains("RDB has duplicated key 'k' in DB 0"), "log:\n{}", srv.log_text());
    assert_eq!(c.cmd(&["PING"]), Reply::Status("PONG".into()));
    assert_eq!(c.cmd(&["GET", "k"]), Reply::bulk("v"));
}

/// Values at the edges of each format: the empty key and empty values,
/// strings that look like integers but are not canonical, the embstr/raw
/// and LZF size boundaries, ziplist integers at each width, empty members
/// and fields. Restart and DEBUG RELOAD give them back; the reference
/// loads oxredis's file to the same digest, and oxredis the reference's.
#[test]
fn edge_values_round_trip() {
    let fill = |c: &mut Conn| {
        let mut cmds: Vec<Vec<Vec<u8>>> = Vec::new();
        let v = |s: &[&[u8]]| -> Vec<Vec<u8>> { s.iter().map(|a| a.to_vec()).collect() };
        cmds.push(v(&[b"SET", b"", b"empty key"]));
        cmds.push(v(&[b"SET", b"empty-value", b""]));
        let ints: &[&[u8]] = &[
            b"0", b"-0", b"+1", b" 1", b"1 ", b"00", b"01", b"-1", b"127", b"-128", b"32767", b"-32768", b"2147483647", b"-2147483648", b"2147483648",
            b"9223372036854775807", b"-9223372036854775808", b"9223372036854775808", b"99999999999999999999", b"1e5", b"0x10", b"1.0",
        ];
        for (i, s) in ints.iter().enumerate() {
            cmds.push(v(&[b"SET", format!("int{}", i).as_bytes(), s]));
        }
        for n in [19usize, 20, 21, 22, 43, 44, 45, 46] {
            cmds.push(v(&[b"SET", format!("a{}", n).as_bytes(), &vec![b'a'; n]]));
            let bin: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            cmds.push(v(&[b"SET", format!("b{}", n).as_bytes(), &bin]));
        }
        let mut list = v(&[b"RPUSH", b"list-ints"]);
        for x in [0i64, 12, 13, -1, 127, 128, -129, 255, 256, 4095, 32767, 32768, -32769, 8388607, 8388608, -8388609, 2147483647, 2147483648, i64::MAX, i64::MIN] {
            list.push(x.to_string().into_bytes());
        }
        list.push(Vec::new());
        list.push(vec![b'x'; 63]);
        list.push(vec![b'y'; 64]);
        list.push(vec![b'z'; 16383]);
        list.push(vec![b'w'; 16384]);
        cmds.push(list);
        cmds.push(v(&[b"SADD", b"set-empty-member", b"", b"a"]));
        cmds.push(v(&[b"SADD", b"intset-edges", b"-9223372036854775808", b"9223372036854775807", b"0", b"-1"]));
        cmds.push(v(&[b"SADD", b"intset-16", b"1", b"-32768", b"32767"]));
        cmds.push(v(&[b"SADD", b"intset-32", b"1", b"2147483647", b"-2147483648"]));
        // (Not -0.0: ZADD -0.0 stores 0 in Redis 7.0 and -0 in oxredis, a
        // difference of ZADD, not of the files; tricky_scores in rdb_interop
        // moves -0 through files both ways.)
        cmds.push(v(&[b"ZADD", b"zset-empty-member", b"0", b"", b"-1.5", b"a"]));
        cmds.push(v(&[b"HSET", b"hash-empty", b"", b"", b"f", b""]));
        cmds.push(v(&[b"HSET", b"hash-long-field", &vec![b'f'; 65], b"v"]));
        pipeline(c, &cmds);
    };
    use rdbdata::pipeline;
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    fill(&mut c);
    let before = snapshot(&mut c);
    let d0 = digest(&mut c);
    let dump = save(&mut c, &srv);
    let (_d, s2) = start_on(&dump, &[]);
    let mut c2 = s2.conn();
    assert_same("edges: restart", &before, &snapshot(&mut c2), true, 1000);
    assert_eq!(c2.cmd(&["DEBUG", "RELOAD"]), Reply::ok());
    assert_same("edges: reload", &before, &snapshot(&mut c2), true, 1000);
    assert_eq!(c2.cmd(&["GET", ""]), Reply::bulk("empty key"));
    assert_eq!(c2.cmd(&["OBJECT", "ENCODING", "int2"]).text(), "embstr", "+1 is no integer");

    let Some(reference) = common::reference_or_skip(&[]) else { return };
    drop(reference);
    // oxredis -> reference.
    let rdir = TempDir::new("rdbrt-edge");
    std::fs::write(rdir.join("dump.rdb"), &dump).expect("write");
    let path = rdir.path.to_string_lossy().into_owned();
    let r = Server::start_reference(&["--dir", &path]).expect("reference");
    let mut rc = r.conn();
    assert_same("edges: oxredis -> redis", &before, &snapshot(&mut rc), true, 1000);
    assert_eq!(digest(&mut rc), d0);
    // reference -> oxredis, from the reference's own writes.
    let r2 = Server::start_reference(&[]).expect("reference");
    let mut rc2 = r2.conn();
    fill(&mut rc2);
    let rbefore = snapshot(&mut rc2);
    assert_same("edges: the same commands in redis and oxredis", &before, &rbefore, true, 1000);
    assert_eq!(digest(&mut rc2), d0, "the same commands give the same digest in both");
    assert_eq!(rc2.cmd(&["SAVE"]), Reply::ok());
    let rdump = std::fs::read(r2.dir.join("dump.rdb")).expect("dump.rdb");
    let (_d3, s3) = start_on(&rdump, &[]);
    let mut c3 = s3.conn();
    assert_same("edges: redis -> oxredis", &rbefore, &snapshot(&mut c3), true, 1000);
    assert_eq!(digest(&mut c3), d0);
}
