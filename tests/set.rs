//! Set commands against the real binary: every command, the intset →
//! hashtable conversions at `set-max-intset-entries`, the encodings the
//! STORE forms and SPOP produce, errors, WRONGTYPE, the AOF form of SPOP,
//! DEBUG DIGEST and a differential run against the reference `redis-server`
//! when it is installed.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{Conn, Reply, Server};

fn strs(r: &Reply) -> Vec<String> {
    r.array().iter().map(|x| x.text()).collect()
}

fn sorted_strs(r: &Reply) -> Vec<String> {
    let mut v = strs(r);
    v.sort();
    v
}

fn ints(r: &Reply) -> Vec<i64> {
    r.array().iter().map(|x| x.text().parse::<i64>().unwrap_or_else(|_| panic!("not an integer: {:?}", x))).collect()
}

fn set_of(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

fn enc(c: &mut Conn, key: &str) -> String {
    c.cmd(&["OBJECT", "ENCODING", key]).text()
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

#[test]
fn sadd_srem_scard_sismember_smismember() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    assert_eq!(c.q("SADD s 1 2 3 2"), Reply::Int(3));
    assert_eq!(c.q("SADD s 3 4"), Reply::Int(1));
    assert_eq!(c.q("SCARD s"), Reply::Int(4));
    assert_eq!(c.q("SCARD nokey"), Reply::Int(0));
    assert_eq!(c.q("SISMEMBER s 4"), Reply::Int(1));
    assert_eq!(c.q("SISMEMBER s 5"), Reply::Int(0));
    assert_eq!(c.q("SISMEMBER s a"), Reply::Int(0));
    assert_eq!(c.q("SISMEMBER nokey a"), Reply::Int(0));
    assert_eq!(ints(&c.q("SMISMEMBER s 1 9 4 a")), vec![1, 0, 1, 0]);
    assert_eq!(ints(&c.q("SMISMEMBER nokey 1 2")), vec![0, 0]);
    // An intset replies in ascending order.
    assert_eq!(ints(&c.q("SMEMBERS s")), vec![1, 2, 3, 4]);
    assert_eq!(c.q("SREM s 1 9 1"), Reply::Int(1));
    assert_eq!(c.q("SREM nokey 1"), Reply::Int(0));
    assert_eq!(c.q("SADD s a"), Reply::Int(1));
    assert_eq!(c.q("SISMEMBER s a"), Reply::Int(1));
    assert_eq!(c.q("SISMEMBER s 2"), Reply::Int(1));
    assert_eq!(sorted_strs(&c.q("SMEMBERS s")), set_of(&["2", "3", "4", "a"]));
    // Emptying deletes the key; SREM stops counting there.
    assert_eq!(c.q("SREM s 2 3 4 a a"), Reply::Int(4));
    assert_eq!(c.q("EXISTS s"), Reply::Int(0));
    assert_eq!(c.q("SMEMBERS s"), Reply::Array(Some(vec![])));
    // Binary-safe members.
    assert_eq!(c.cmd(&[&b"SADD"[..], b"b", b"\x00\xff", b""]), Reply::Int(2));
    assert_eq!(c.cmd(&[&b"SISMEMBER"[..], b"b", b"\x00\xff"]), Reply::Int(1));
    assert_eq!(c.cmd(&[&b"SISMEMBER"[..], b"b", b""]), Reply::Int(1));
}

#[test]
fn errors_and_wrongtype() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    c.q("SET str x");
    c.q("SADD s 1 2 3");
    for cmd in [
        "SADD str 1",
        "SREM str 1",
        "SCARD str",
        "SISMEMBER str 1",
        "SMISMEMBER str 1",
        "SMEMBERS str",
        "SPOP str",
        "SPOP str 2",
        "SPOP str 0",
        "SRANDMEMBER str",
        "SRANDMEMBER str 3",
        "SRANDMEMBER str 0",
        "SMOVE str s 1",
        "SMOVE s str 1",
        "SINTER s str",
        "SINTERSTORE d s str",
        "SUNION s str",
        "SUNIONSTORE d s str",
        "SDIFF s str",
        "SDIFF nokey str",
        "SDIFFSTORE d s str",
        "SSCAN str 0",
    ] {
        assert_eq!(c.q(cmd), Reply::err(WRONGTYPE), "{}", cmd);
    }
    // Nothing was changed by the failed writes.
    assert_eq!(c.q("GET str"), Reply::bulk("x"));
    assert_eq!(c.q("SCARD s"), Reply::Int(3));
    assert_eq!(c.q("EXISTS d"), Reply::Int(0));
    let positive = Reply::err("ERR value is out of range, must be positive");
    assert_eq!(c.q("SPOP s -1"), positive);
    assert_eq!(c.q("SPOP s abc"), positive);
    assert_eq!(c.q("SPOP nokey -1"), positive);
    assert_eq!(c.q("SPOP s 1 2"), Reply::err("ERR syntax error"));
    assert_eq!(c.q("SRANDMEMBER s 1 2"), Reply::err("ERR syntax error"));
    assert_eq!(c.q("SRANDMEMBER s abc"), Reply::err("ERR value is not an integer or out of range"));
    assert_eq!(
        c.q("SRANDMEMBER s -9223372036854775808"),
        Reply::err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(c.q("SSCAN s abc"), Reply::err("ERR invalid cursor"));
    assert_eq!(c.q("SSCAN s 0 COUNT 0"), Reply::err("ERR syntax error"));
    assert_eq!(c.q("SSCAN s 0 TYPE set"), Reply::err("ERR syntax error"));
    assert_eq!(c.q("SSCAN s 0 MATCH"), Reply::err("ERR syntax error"));
    assert_eq!(c.q("SADD s"), Reply::err("ERR wrong number of arguments for 'sadd' command"));
    assert_eq!(c.q("SMEMBERS"), Reply::err("ERR wrong number of arguments for 'smembers' command"));
    assert_eq!(c.q("SMOVE a b"), Reply::err("ERR wrong number of arguments for 'smove' command"));
    // A missing key first makes SINTER empty before later keys are
    // type-checked (6.2).
    assert_eq!(c.q("SINTER nokey str"), Reply::Array(Some(vec![])));
    assert_eq!(c.q("SINTERSTORE d nokey str"), Reply::Int(0));
}

#[test]
fn missing_keys() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    assert_eq!(c.q("SPOP nokey"), Reply::nil());
    assert_eq!(c.q("SPOP nokey 3"), Reply::Array(Some(vec![])));
    assert_eq!(c.q("SRANDMEMBER nokey"), Reply::nil());
    assert_eq!(c.q("SRANDMEMBER nokey 3"), Reply::Array(Some(vec![])));
    assert_eq!(c.q("SRANDMEMBER nokey -3"), Reply::Array(Some(vec![])));
    assert_eq!(c.q("SMOVE nokey d 1"), Reply::Int(0));
    assert_eq!(c.q("SSCAN nokey 0"), Reply::Array(Some(vec![Reply::bulk("0"), Reply::Array(Some(vec![]))])));
    assert_eq!(c.q("SUNION nokey nokey2"), Reply::Array(Some(vec![])));
    assert_eq!(c.q("SDIFF nokey nokey2"), Reply::Array(Some(vec![])));
    assert_eq!(c.q("DBSIZE"), Reply::Int(0));
}

#[test]
fn intset_converts_at_the_threshold_and_never_back() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    let mut args: Vec<String> = vec!["SADD".into(), "s".into()];
    args.extend((0..512).map(|i| (i * 3).to_string()));
    assert_eq!(c.cmd(&args), Reply::Int(512));
    assert_eq!(enc(&mut c, "s"), "intset");
    assert_eq!(c.q("SADD s 0"), Reply::Int(0));
    assert_eq!(enc(&mut c, "s"), "intset");
    assert_eq!(c.q("SADD s 1"), Reply::Int(1));
    assert_eq!(enc(&mut c, "s"), "hashtable");
    assert_eq!(c.q("SREM s 1 3 6"), Reply::Int(3));
    assert_eq!(enc(&mut c, "s"), "hashtable");
    assert_eq!(c.q("SCARD s"), Reply::Int(510));
    assert_eq!(c.q("SISMEMBER s 9"), Reply::Int(1));

    // Non-canonical integers and out-of-range ones are strings.
    for (i, m) in ["a", "007", " 1", "1 ", "+1", "9223372036854775808", "1.5", ""].iter().enumerate() {
        let key = format!("k{}", i);
        c.cmd(&["SADD", &key, "5"]);
        assert_eq!(enc(&mut c, &key), "intset");
        c.cmd(&["SADD", &key, m]);
        assert_eq!(enc(&mut c, &key), "hashtable", "member {:?}", m);
        assert_eq!(c.cmd(&["SISMEMBER", &key, m]), Reply::Int(1));
        assert_eq!(c.cmd(&["SISMEMBER", &key, "5"]), Reply::Int(1));
    }
    c.q("SADD big -9223372036854775808 9223372036854775807");
    assert_eq!(enc(&mut c, "big"), "intset");
    assert_eq!(ints(&c.q("SMEMBERS big")), vec![i64::MIN, i64::MAX]);

    // A set created by a non-integer is a hashtable at once.
    c.q("SADD h x 1");
    assert_eq!(enc(&mut c, "h"), "hashtable");
    c.q("SREM h x");
    assert_eq!(enc(&mut c, "h"), "hashtable");

    // The threshold follows the config.
    assert_eq!(c.q("CONFIG SET set-max-intset-entries 2"), Reply::ok());
    c.q("SADD t 1 2");
    assert_eq!(enc(&mut c, "t"), "intset");
    c.q("SADD t 3");
    assert_eq!(enc(&mut c, "t"), "hashtable");
    assert_eq!(c.q("CONFIG SET set-max-intset-entries 0"), Reply::ok());
    c.q("SADD z 1");
    assert_eq!(enc(&mut c, "z"), "hashtable");
}

#[test]
fn smove() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    c.q("SADD src 1 2 3");
    c.q("SADD dst a");
    assert_eq!(c.q("SMOVE src dst 2"), Reply::Int(1));
    assert_eq!(sorted_strs(&c.q("SMEMBERS dst")), set_of(&["2", "a"]));
    assert_eq!(ints(&c.q("SMEMBERS src")), vec![1, 3]);
    assert_eq!(c.q("SMOVE src dst 9"), Reply::Int(0));
    // Same key: membership only.
    assert_eq!(c.q("SMOVE src src 1"), Reply::Int(1));
    assert_eq!(c.q("SMOVE src src 9"), Reply::Int(0));
    assert_eq!(c.q("SCARD src"), Reply::Int(2));
    // A new destination takes its encoding from the member.
    assert_eq!(c.q("SMOVE src new 1"), Reply::Int(1));
    assert_eq!(enc(&mut c, "new"), "intset");
    c.q("SADD src x");
    assert_eq!(c.q("SMOVE src new2 x"), Reply::Int(1));
    assert_eq!(enc(&mut c, "new2"), "hashtable");
    // Moving a member the destination has: removed from the source only.
    c.q("SADD dst 3");
    assert_eq!(c.q("SMOVE src dst 3"), Reply::Int(1));
    assert_eq!(c.q("EXISTS src"), Reply::Int(0));
    assert_eq!(c.q("SCARD dst"), Reply::Int(3));
    // Adding a string to an intset destination converts it.
    c.q("SADD is 1 2");
    c.q("SADD hs y");
    assert_eq!(c.q("SMOVE hs is y"), Reply::Int(1));
    assert_eq!(enc(&mut c, "is"), "hashtable");
    assert_eq!(c.q("EXISTS hs"), Reply::Int(0));
}

#[test]
fn spop_and_srandmember_properties() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    for (key, members) in [
        ("ints", (0..100).map(|i| i.to_string()).collect::<Vec<_>>()),
        ("strs", (0..100).map(|i| format!("m{}", i)).collect::<Vec<_>>()),
    ] {
        let mut args: Vec<String> = vec!["SADD".into(), key.into()];
        args.extend(members.iter().cloned());
        c.cmd(&args);
        let all: HashSet<String> = members.iter().cloned().collect();
        let m = c.cmd(&["SRANDMEMBER", key]).text();
        assert!(all.contains(&m));
        // Positive counts: distinct members, every case (1, 4: small,
        // 3: close to the size, 2: the whole set).
        for n in [1usize, 5, 40, 99, 100, 150] {
            let r = strs(&c.cmd(&["SRANDMEMBER", key, &n.to_string()]));
            assert_eq!(r.len(), n.min(100), "count {}", n);
            let uniq: HashSet<&String> = r.iter().collect();
            assert_eq!(uniq.len(), r.len(), "duplicates for count {}", n);
            assert!(r.iter().all(|x| all.contains(x)));
        }
        // Negative counts: exactly |n| members, repetitions allowed.
        let r = strs(&c.cmd(&["SRANDMEMBER", key, "-500"]));
        assert_eq!(r.len(), 500);
        assert!(r.iter().all(|x| all.contains(x)));
        let uniq: HashSet<&String> = r.iter().collect();
        assert!(uniq.len() < 500);
        assert_eq!(c.cmd(&["SRANDMEMBER", key, "0"]), Reply::Array(Some(vec![])));
        assert_eq!(c.cmd(&["SCARD", key]), Reply::Int(100));

        // SPOP: what it returns leaves the set.
        let mut left = all.clone();
        let p = c.cmd(&["SPOP", key]).text();
        assert!(left.remove(&p));
        for n in [3usize, 90] {
            let r = strs(&c.cmd(&["SPOP", key, &n.to_string()]));
            assert_eq!(r.len(), n);
            for x in &r {
                assert!(left.remove(x), "{} popped twice or not a member", x);
            }
            let now: HashSet<String> = strs(&c.cmd(&["SMEMBERS", key])).into_iter().collect();
            assert_eq!(now, left);
        }
        assert_eq!(c.cmd(&["SPOP", key, "0"]), Reply::Array(Some(vec![])));
        let r: HashSet<String> = strs(&c.cmd(&["SPOP", key, "100"])).into_iter().collect();
        assert_eq!(r, left);
        assert_eq!(c.cmd(&["EXISTS", key]), Reply::Int(0));
    }
    // SPOP of the last member deletes the key.
    c.q("SADD one x");
    assert_eq!(c.q("SPOP one"), Reply::bulk("x"));
    assert_eq!(c.q("EXISTS one"), Reply::Int(0));
    // SPOP keeps the TTL (the set is changed in place).
    c.q("SADD t 1 2 3 4 5 6 7 8 9 10");
    c.q("EXPIRE t 1000");
    c.q("SPOP t 9");
    assert!(c.q("TTL t").int() > 0);
    assert_eq!(c.q("SCARD t"), Reply::Int(1));
}

#[test]
fn spop_with_count_builds_the_encoding_redis_builds() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    // A hashtable of 1000 integers keeping 100: the remaining set is
    // rebuilt from scratch, as an intset.
    let mut args: Vec<String> = vec!["SADD".into(), "h".into()];
    args.extend((0..1000).map(|i| i.to_string()));
    c.cmd(&args);
    assert_eq!(enc(&mut c, "h"), "hashtable");
    assert_eq!(c.q("SPOP h 900").array().len(), 900);
    assert_eq!(c.q("SCARD h"), Reply::Int(100));
    assert_eq!(enc(&mut c, "h"), "intset");
    // Popping a few keeps the hashtable.
    c.cmd(&args);
    assert_eq!(enc(&mut c, "h"), "hashtable");
    c.q("SPOP h 10");
    assert_eq!(enc(&mut c, "h"), "hashtable");
}

#[test]
fn algebra_and_store_encodings() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    c.q("SADD a 1 2 3 4 x");
    c.q("SADD b 3 4 5 y");
    c.q("SADD c 4 6");
    c.q("SADD i1 1 2 3 4");
    c.q("SADD i2 2 3 9");
    assert_eq!(sorted_strs(&c.q("SINTER a b")), set_of(&["3", "4"]));
    assert_eq!(sorted_strs(&c.q("SINTER a b c")), set_of(&["4"]));
    assert_eq!(sorted_strs(&c.q("SINTER a a")), set_of(&["1", "2", "3", "4", "x"]));
    assert_eq!(sorted_strs(&c.q("SUNION a b c nokey")), set_of(&["1", "2", "3", "4", "5", "6", "x", "y"]));
    assert_eq!(sorted_strs(&c.q("SDIFF a b c")), set_of(&["1", "2", "x"]));
    assert_eq!(c.q("SDIFF a a"), Reply::Array(Some(vec![])));
    assert_eq!(sorted_strs(&c.q("SDIFF a nokey")), set_of(&["1", "2", "3", "4", "x"]));
    assert_eq!(c.q("SINTER a nokey"), Reply::Array(Some(vec![])));
    // Results held in an intset come out ascending.
    assert_eq!(ints(&c.q("SINTER i1 i2")), vec![2, 3]);
    assert_eq!(ints(&c.q("SUNION i2 i1")), vec![1, 2, 3, 4, 9]);
    assert_eq!(ints(&c.q("SDIFF i1 i2")), vec![1, 4]);

    // STORE forms: replace the destination (any type, TTL dropped).
    c.q("SET dst str");
    c.q("EXPIRE dst 100");
    assert_eq!(c.q("SINTERSTORE dst a b"), Reply::Int(2));
    assert_eq!(c.q("TTL dst"), Reply::Int(-1));
    // Integers common to two hashtables are stored as an intset.
    assert_eq!(enc(&mut c, "dst"), "intset");
    assert_eq!(c.q("SUNIONSTORE dst a b"), Reply::Int(7));
    assert_eq!(enc(&mut c, "dst"), "hashtable");
    assert_eq!(c.q("SUNIONSTORE dst i1 i2"), Reply::Int(5));
    assert_eq!(enc(&mut c, "dst"), "intset");
    // A string member kept by SDIFF makes the result a hashtable.
    c.q("SADD big 100 101 102 103 104 105 106 107 108 109 z");
    assert_eq!(c.q("SDIFFSTORE dst a big"), Reply::Int(5));
    assert_eq!(enc(&mut c, "dst"), "hashtable");
    c.q("SADD a2 1 2 x");
    assert_eq!(c.q("SDIFFSTORE dst a2 big"), Reply::Int(3));
    c.q("SADD a3 1 2 3 4 5 6 7 8 9 x");
    c.q("SADD sm x");
    c.q("SADD e1 y");
    c.q("SADD e2 z");
    // Second algorithm (many small sets to subtract): x is added then
    // removed, the result stays a hashtable.
    assert_eq!(c.q("SDIFFSTORE dst a3 sm e1 e2"), Reply::Int(9));
    assert_eq!(enc(&mut c, "dst"), "hashtable");
    // First algorithm: x is never added, the result is an intset.
    c.q("SADD bigx x 100 101 102 103 104 105 106 107 108 109 110 111 112 113 114 115 116 117 118 119 120");
    assert_eq!(c.q("SDIFFSTORE dst a3 bigx"), Reply::Int(9));
    assert_eq!(enc(&mut c, "dst"), "intset");

    // An empty result deletes the destination.
    assert_eq!(c.q("SINTERSTORE dst a nokey"), Reply::Int(0));
    assert_eq!(c.q("EXISTS dst"), Reply::Int(0));
    c.q("SADD dst 1");
    assert_eq!(c.q("SDIFFSTORE dst a a"), Reply::Int(0));
    assert_eq!(c.q("EXISTS dst"), Reply::Int(0));
    c.q("SADD dst 1");
    assert_eq!(c.q("SUNIONSTORE dst nokey"), Reply::Int(0));
    assert_eq!(c.q("EXISTS dst"), Reply::Int(0));
    // The destination may be one of the sources.
    assert_eq!(c.q("SUNIONSTORE a a c"), Reply::Int(6));
    assert_eq!(sorted_strs(&c.q("SMEMBERS a")), set_of(&["1", "2", "3", "4", "6", "x"]));
}

#[test]
fn sscan() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    // An intset comes back whole in one call.
    c.q("SADD i 10 20 30 11");
    assert_eq!(c.q("SSCAN i 0 COUNT 1"), Reply::Array(Some(vec![Reply::bulk("0"), Reply::Array(Some(vec![
        Reply::bulk("10"),
        Reply::bulk("11"),
        Reply::bulk("20"),
        Reply::bulk("30"),
    ]))])));
    assert_eq!(c.q("SSCAN i 0 MATCH 1*").array()[1].array().len(), 2);
    // A hashtable is walked with the cursor: every member at least once.
    let mut args: Vec<String> = vec!["SADD".into(), "h".into()];
    args.extend((0..1000).map(|i| format!("m{}", i)));
    c.cmd(&args);
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let r = c.cmd(&["SSCAN", "h", &cursor, "COUNT", "20"]).array();
        cursor = r[0].text();
        for m in strs(&r[1]) {
            seen.insert(m);
        }
        calls += 1;
        if cursor == "0" {
            break;
        }
        assert!(calls < 10_000);
    }
    assert!(calls > 1);
    assert_eq!(seen.len(), 1000);
    let mut matched = HashSet::new();
    let mut cursor = "0".to_string();
    loop {
        let r = c.cmd(&["SSCAN", "h", &cursor, "MATCH", "m1*"]).array();
        cursor = r[0].text();
        for m in strs(&r[1]) {
            assert!(m.starts_with("m1"));
            matched.insert(m);
        }
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(matched.len(), 111);
}

/// Reads the AOF until it holds `needle`, or gives up after 5 s.
fn aof_text(srv: &Server, needle: &str) -> String {
    let path = srv.dir.join("appendonly.aof");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_default()).into_owned();
        if text.contains(needle) || Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The commands in an AOF text, as argument lists.
fn aof_commands(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut lines = text.split("\r\n");
    while let Some(l) = lines.next() {
        let Some(n) = l.strip_prefix('*') else { continue };
        let n: usize = n.parse().unwrap_or(0);
        let mut cmd = Vec::new();
        for _ in 0..n {
            lines.next();
            cmd.push(lines.next().unwrap_or("").to_string());
        }
        out.push(cmd);
    }
    out
}

#[test]
fn spop_is_propagated_as_srem_or_del() {
    let srv = Server::start(&["--appendonly", "yes"]);
    let mut c = srv.conn();
    c.q("SADD s 1 2 3 4 5 6 7 8 9 10");
    let one = c.q("SPOP s").text();
    // Case 2 (few members) and case 3 (most members).
    let few = strs(&c.q("SPOP s 2"));
    let most = strs(&c.q("SPOP s 6"));
    let rest = sorted_strs(&c.q("SPOP s 5"));
    assert_eq!(rest.len(), 1);
    c.q("SET marker done");
    let cmds = aof_commands(&aof_text(&srv, "marker"));
    let pos = |want: &[&str]| cmds.iter().position(|c| c == want);
    assert!(pos(&["SREM", "s", &one]).is_some(), "SPOP as SREM: {:?}", cmds);
    assert!(!cmds.iter().any(|c| c[0].eq_ignore_ascii_case("SPOP")), "SPOP itself propagated: {:?}", cmds);
    // One SREM per popped member, each SPOP's SREMs inside MULTI/EXEC.
    for popped in [&few, &most] {
        let idx: Vec<usize> = popped.iter().map(|m| pos(&["SREM", "s", m]).unwrap_or_else(|| panic!("no SREM {}: {:?}", m, cmds))).collect();
        let lo = idx.iter().min().copied().unwrap_or(0);
        let hi = idx.iter().max().copied().unwrap_or(0);
        assert_eq!(hi - lo + 1, popped.len(), "SREMs not contiguous: {:?}", cmds);
        assert_eq!(cmds[lo - 1], vec!["MULTI"]);
        assert_eq!(cmds[hi + 1], vec!["EXEC"]);
    }
    // Taking the whole set is a DEL.
    assert!(pos(&["DEL", "s"]).is_some(), "{:?}", cmds);
    // Reloading the AOF gives the same (empty) set back.
    c.q("SADD r a b c d e f g h i j");
    c.q("SPOP r 3");
    let before = c.q("DEBUG DIGEST").text();
    assert_eq!(c.q("DEBUG LOADAOF"), Reply::ok());
    assert_eq!(c.q("DEBUG DIGEST").text(), before);
    assert_eq!(c.q("SCARD r"), Reply::Int(7));
}

#[test]
fn spop_whole_set_is_unlink_with_lazyfree_server_del() {
    let srv = Server::start(&["--appendonly", "yes", "--lazyfree-lazy-server-del", "yes"]);
    let mut c = srv.conn();
    c.q("SADD s a b");
    assert_eq!(c.q("SPOP s 2").array().len(), 2);
    c.q("SET marker done");
    let cmds = aof_commands(&aof_text(&srv, "marker"));
    assert!(cmds.iter().any(|c| c == &["UNLINK", "s"]), "{:?}", cmds);
}

// ---------------------------------------------------------------------------
// Against the reference server.

/// Lines of a differential script: `sort:` sorts an array reply first.
fn run_script(script: &str, ox: &mut Conn, rf: &mut Conn) -> Vec<String> {
    let mut fails = Vec::new();
    for (n, raw) in script.lines().enumerate() {
        let mut line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut sort = false;
        if let Some(rest) = line.strip_prefix("sort:") {
            sort = true;
            line = rest.trim();
        }
        let argv: Vec<&str> = line.split_whitespace().collect();
        let mut a = ox.cmd(&argv);
        let mut b = rf.cmd(&argv);
        if let Some((_, want)) = SKIP_62.iter().find(|(cmd, _)| *cmd == line) {
            if a != *want {
                fails.push(format!("[{}] {}\n    oxredis:  {:?}\n    6.2 wants: {:?}", n + 1, line, a, want));
            }
            continue;
        }
        if sort {
            a = sort_reply(a);
            b = sort_reply(b);
        }
        if a != b {
            fails.push(format!("[{}] {}\n    oxredis:   {:?}\n    reference: {:?}", n + 1, line, a, b));
        }
    }
    fails
}

fn sort_reply(r: Reply) -> Reply {
    match r {
        Reply::Array(Some(mut v)) => {
            v.sort_by_key(|x| format!("{:?}", x));
            Reply::Array(Some(v))
        }
        other => other,
    }
}

/// Where the reference (7.0) differs from 6.2: the 6.2 reply.
static SKIP_62: &[(&str, Reply)] = &[
    // 7.0 type-checks every key before treating a missing one as empty.
    ("SINTER nokey str", Reply::Array(Some(Vec::new()))),
];

const SCRIPT: &str = r#"
SADD s 1 2 3
SADD s 3 4 x
SADD i 5 1 3 -7 100000 -100000 9223372036854775807
SMEMBERS i
OBJECT ENCODING s
OBJECT ENCODING i
SET str x
SADD str 1
SREM str 1
SREM s 1 1 5
SCARD s
SCARD str
SCARD nokey
SISMEMBER s 2
SISMEMBER s 9
SISMEMBER str 1
SMISMEMBER s 2 3 9 x
SMISMEMBER nokey 1 2
SMISMEMBER str 1
SMISMEMBER s
SPOP nokey
SPOP nokey 3
SPOP s -1
SPOP s 1 2
SPOP str
SPOP str 0
SPOP s 0
SRANDMEMBER nokey
SRANDMEMBER nokey 5
SRANDMEMBER nokey -5
SRANDMEMBER str
SRANDMEMBER str 3
SRANDMEMBER s 0
SRANDMEMBER s 1 2
SRANDMEMBER s abc
SRANDMEMBER s -9223372036854775808
sort: SRANDMEMBER s 9223372036854775807
SRANDMEMBER i 100
SMOVE nokey s 1
SMOVE str s 1
SMOVE s str 2
SMOVE s s 2
SMOVE s s 99
SMOVE s d 2
SMOVE s d 99
OBJECT ENCODING d
SMOVE s d x
OBJECT ENCODING d
sort: SMEMBERS d
SMEMBERS str
SMEMBERS nokey
SINTER nokey str
SINTER d str
SUNION d str
SDIFF d str
SDIFF nokey str
SUNION nokey nokey2
SDIFF nokey d
SINTERSTORE dst nokey
SUNIONSTORE dst nokey
SDIFFSTORE dst nokey
SADD a 1 2 3 4 x
SADD b 3 4 5 y
SADD c 4
SADD i1 1 2 3 4 5 6 7 8
SADD i2 2 4 6 8 10
sort: SINTER a b
sort: SINTER a b c
sort: SUNION a b c
sort: SDIFF a b
sort: SDIFF a b c
SINTER i1 i2
SUNION i1 i2
SDIFF i1 i2
SDIFF i2 i1
SINTERSTORE dst a b
SMEMBERS dst
OBJECT ENCODING dst
SDIFFSTORE dst a b
OBJECT ENCODING dst
SUNIONSTORE dst a b
OBJECT ENCODING dst
SADD a3 1 2 3 4 5 6 7 8 9 x
SADD sm x
SDIFFSTORE dst a3 sm
OBJECT ENCODING dst
SADD e1 y
SADD e2 z
SDIFFSTORE dst a3 sm e1 e2
OBJECT ENCODING dst
SADD bigx x 100 101 102 103 104 105 106 107 108 109 110 111 112 113 114 115 116 117 118 119 120
SDIFFSTORE dst a3 bigx
OBJECT ENCODING dst
SMEMBERS dst
SINTERSTORE dst a nokey
EXISTS dst
SINTERSTORE str a b
TYPE str
SSCAN nokey 0
SSCAN str 0
SSCAN a abc
SSCAN a 0 COUNT 0
SSCAN a 0 TYPE set
SSCAN a 0 MATCH x*
SSCAN a 0 COUNT
SSCAN i 0
SSCAN i 0 MATCH 1*
SSCAN i 0 COUNT 1
SSCAN nokey abc
SSCAN str 0 COUNT 0
SSCAN nokey 0 COUNT 0
SADD hi z 5 3 9 1
SREM hi z
OBJECT ENCODING hi
sort: SRANDMEMBER hi 10
SUNION hi
SDIFF hi nokey
SPOP hi 4
EXISTS hi
SADD hi2 z 5 3 9 1
SREM hi2 z
SINTERSTORE hi3 hi2 hi2
OBJECT ENCODING hi3
SUNIONSTORE hi3 hi2
OBJECT ENCODING hi3
CONFIG SET set-max-intset-entries 3
SADD t 1 2 3
OBJECT ENCODING t
SADD t 4
OBJECT ENCODING t
SREM t 4
OBJECT ENCODING t
SINTERSTORE t2 t t
OBJECT ENCODING t2
SUNIONSTORE t3 t i2
OBJECT ENCODING t3
DEBUG DIGEST-VALUE t
DEBUG DIGEST-VALUE t2
DEBUG DIGEST-VALUE i
DEBUG DIGEST-VALUE a
DEBUG DIGEST
"#;

#[test]
fn differential_against_reference() {
    let Some(rf) = common::reference_or_skip(&[]) else { return };
    let ox = Server::start(&[]);
    let mut a = ox.conn();
    let mut b = rf.conn();
    let fails = run_script(SCRIPT, &mut a, &mut b);
    assert!(fails.is_empty(), "{} mismatches:\n{}", fails.len(), fails.join("\n"));
}

/// The same set data digests the same in both servers, in both encodings
/// and across conversions.
#[test]
fn digest_matches_reference() {
    let Some(rf) = common::reference_or_skip(&[]) else { return };
    let ox = Server::start(&[]);
    let mut a = ox.conn();
    let mut b = rf.conn();
    let mut script: Vec<Vec<String>> = Vec::new();
    let mut ints: Vec<String> = vec!["SADD".into(), "ints".into()];
    ints.extend((0..600).map(|i| (i * 7 - 2000).to_string()));
    script.push(ints);
    let mut small: Vec<String> = vec!["SADD".into(), "small".into()];
    small.extend((0..50).map(|i| (i * 1000).to_string()));
    script.push(small);
    let mut strs: Vec<String> = vec!["SADD".into(), "strs".into()];
    strs.extend((0..300).map(|i| format!("member:{}", i)));
    script.push(strs);
    script.push(vec!["SREM".into(), "ints".into(), "-2000".into(), "5".into()]);
    for cmd in &script {
        assert_eq!(a.cmd(cmd), b.cmd(cmd), "{:?}", cmd);
    }
    for key in ["ints", "small", "strs"] {
        assert_eq!(a.cmd(&["OBJECT", "ENCODING", key]), b.cmd(&["OBJECT", "ENCODING", key]));
        assert_eq!(a.cmd(&["DEBUG", "DIGEST-VALUE", key]), b.cmd(&["DEBUG", "DIGEST-VALUE", key]), "{}", key);
    }
    let da = a.q("DEBUG DIGEST");
    assert_eq!(da, b.q("DEBUG DIGEST"));
    assert_ne!(da.text(), "0000000000000000000000000000000000000000");
}
