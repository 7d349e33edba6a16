//! Sorted sets over RESP: every command and its errors, WRONGTYPE, the
//! ziplist → skiplist conversions, blocking pops, AOF propagation, and a
//! randomized differential run against the reference `redis-server`.
//!
//! Scores in differential checks are exactly representable (1.5, 3,
//! -2.25, inf...): Redis 6.2, which we follow, replies `%.17g` (1.1 is
//! `1.1000000000000001`) while the installed 7.0 prints the shortest
//! round-trip form (`1.1`). For the same reason no score may become -0
//! (6.2 prints `-0`, 7.0 `0`), nor may ZPOPMIN get a negative count (6.2
//! replies an empty array, 7.0 an error).

mod common;

use std::time::{Duration, Instant};

use common::{Conn, Reply, Rng, Server};

fn strs(r: &Reply) -> Vec<String> {
    r.array().iter().map(|x| x.text()).collect()
}

fn enc(c: &mut Conn, key: &str) -> String {
    c.q(&format!("OBJECT ENCODING {}", key)).text()
}

#[test]
fn zadd_options_and_errors() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    assert_eq!(c.q("ZADD z 1 a 2 b 3 c").int(), 3);
    assert_eq!(c.q("ZADD z 1 a 5 d").int(), 1);
    assert_eq!(c.q("ZADD z CH 10 a 2 b").int(), 1);
    assert_eq!(c.q("ZADD z NX 100 a 7 e").int(), 1);
    assert_eq!(c.q("ZSCORE z a").text(), "10");
    assert_eq!(c.q("ZADD z XX CH 11 a 8 f").int(), 1);
    assert_eq!(c.q("ZSCORE z f"), Reply::nil());
    assert_eq!(c.q("ZADD z GT CH 5 a 12 a").int(), 1);
    assert_eq!(c.q("ZSCORE z a").text(), "12");
    assert_eq!(c.q("ZADD z LT CH 20 a 1 b").int(), 1);
    assert_eq!(c.q("ZADD z INCR 1.5 b").text(), "2.5");
    assert_eq!(c.q("ZADD z NX INCR 1 b"), Reply::nil());
    assert_eq!(c.q("ZADD z XX INCR 1 nosuch"), Reply::nil());
    assert_eq!(c.q("ZADD z GT INCR -1 b"), Reply::nil());
    assert_eq!(c.q("ZINCRBY z -0.25 b").text(), "2.25");
    assert_eq!(c.q("ZINCRBY z 3 newm").text(), "3");
    assert_eq!(c.q("ZADD z NX XX 1 a").text(), "ERR XX and NX options at the same time are not compatible");
    assert_eq!(c.q("ZADD z GT LT 1 a").text(), "ERR GT, LT, and/or NX options at the same time are not compatible");
    assert_eq!(c.q("ZADD z GT NX 1 a").text(), "ERR GT, LT, and/or NX options at the same time are not compatible");
    assert_eq!(c.q("ZADD z INCR 1 a 2 b").text(), "ERR INCR option supports a single increment-element pair");
    assert_eq!(c.q("ZADD z 1 a 2").text(), "ERR syntax error");
    assert_eq!(c.q("ZADD z NX").text(), "ERR wrong number of arguments for 'zadd' command");
    assert_eq!(c.q("ZADD z abc a").text(), "ERR value is not a valid float");
    assert_eq!(c.q("ZADD z nan a").text(), "ERR value is not a valid float");
    assert_eq!(c.q("ZADD z 1 a x b").text(), "ERR value is not a valid float");
    assert_eq!(c.q("ZSCORE z a").text(), "12", "a failed ZADD changes nothing");
    assert_eq!(c.q("ZINCRBY z x a").text(), "ERR value is not a valid float");
    c.q("ZADD z inf i");
    assert_eq!(c.q("ZINCRBY z -inf i").text(), "ERR resulting score is not a number (NaN)");
    assert_eq!(c.q("ZADD z INCR -inf i").text(), "ERR resulting score is not a number (NaN)");
    assert_eq!(c.q("ZSCORE z i").text(), "inf");
    assert_eq!(c.q("ZADD z 0x10 hex 1e3 e3").int(), 2);
    assert_eq!(c.q("ZSCORE z hex").text(), "16");
    assert_eq!(c.q("ZADD z 1e400 x").text(), "ERR value is not a valid float");
    // XX on a missing key creates nothing.
    assert_eq!(c.q("ZADD nokey XX 1 a").int(), 0);
    assert_eq!(c.q("EXISTS nokey").int(), 0);
    assert_eq!(c.q("ZADD nokey XX INCR 1 a"), Reply::nil());
    // 6.2 replies %.17g.
    c.q("ZADD d 1.1 a");
    assert_eq!(c.q("ZSCORE d a").text(), "1.1000000000000001");
    assert_eq!(c.q("ZINCRBY d 1 a").text(), "2.1000000000000001");
}

#[test]
fn reads_removals_and_wrongtype() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    c.q("ZADD z 1 a 2 b 3 c 4 d -2.25 e");
    assert_eq!(c.q("ZCARD z").int(), 5);
    assert_eq!(c.q("ZCARD nosuch").int(), 0);
    assert_eq!(c.q("ZRANK z e").int(), 0);
    assert_eq!(c.q("ZREVRANK z e").int(), 4);
    assert_eq!(c.q("ZRANK z nosuch"), Reply::nil());
    assert_eq!(c.q("ZRANK nosuch a"), Reply::nil());
    assert_eq!(strs(&c.q("ZMSCORE z a nosuch e")), vec!["1", "(nil)", "-2.25"]);
    assert_eq!(strs(&c.q("ZMSCORE nosuch a")), vec!["(nil)"]);
    assert_eq!(c.q("ZCOUNT z (1 3").int(), 2);
    assert_eq!(c.q("ZCOUNT z -inf +inf").int(), 5);
    assert_eq!(c.q("ZCOUNT z 1 x").text(), "ERR min or max is not a float");
    assert_eq!(c.q("ZCOUNT z (nan 1").text(), "ERR min or max is not a float");
    assert_eq!(c.q("ZLEXCOUNT z - +").int(), 5);
    assert_eq!(c.q("ZLEXCOUNT z a b").text(), "ERR min or max not valid string range item");
    assert_eq!(c.q("ZREM z a nosuch b").int(), 2);
    assert_eq!(c.q("ZREM nosuch a").int(), 0);
    assert_eq!(c.q("ZREMRANGEBYSCORE z (3 4").int(), 1);
    assert_eq!(c.q("ZREMRANGEBYSCORE z x 4").text(), "ERR min or max is not a float");
    assert_eq!(c.q("ZREMRANGEBYRANK z 5 10").int(), 0);
    assert_eq!(c.q("ZREMRANGEBYRANK z x 1").text(), "ERR value is not an integer or out of range");
    assert_eq!(c.q("ZREMRANGEBYRANK z 0 0").int(), 1);
    assert_eq!(c.q("ZREMRANGEBYLEX z [c [c").int(), 1);
    assert_eq!(c.q("EXISTS z").int(), 0, "emptied sets are deleted");
    c.q("SET s x");
    for cmd in [
        "ZADD s 1 a", "ZINCRBY s 1 a", "ZREM s a", "ZCARD s", "ZSCORE s a", "ZMSCORE s a", "ZRANK s a",
        "ZRANGE s 0 -1", "ZRANGESTORE d s 0 -1", "ZCOUNT s 0 1", "ZLEXCOUNT s - +", "ZREMRANGEBYRANK s 0 1",
        "ZPOPMIN s", "BZPOPMIN s 0", "ZRANDMEMBER s", "ZRANDMEMBER s 2", "ZSCAN s 0", "ZUNION 1 s", "ZINTERSTORE d 1 s",
        "ZDIFF 2 nosuch s",
    ] {
        assert!(c.q(cmd).text().starts_with("WRONGTYPE"), "{}", cmd);
    }
    assert_eq!(c.q("GET s").text(), "x");
}

#[test]
fn ranges_and_stores() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    c.q("ZADD z 1 a 2 b 3 c 4 d 5 e");
    assert_eq!(strs(&c.q("ZRANGE z 0 -1")), vec!["a", "b", "c", "d", "e"]);
    assert_eq!(strs(&c.q("ZRANGE z -2 -1 WITHSCORES")), vec!["d", "4", "e", "5"]);
    assert_eq!(strs(&c.q("ZRANGE z 0 1 REV")), vec!["e", "d"]);
    assert_eq!(strs(&c.q("ZRANGE z (1 4 BYSCORE LIMIT 1 2")), vec!["c", "d"]);
    assert_eq!(strs(&c.q("ZRANGE z 4 (1 BYSCORE REV")), vec!["d", "c", "b"]);
    assert_eq!(strs(&c.q("ZRANGE z [b (d BYLEX")), vec!["b", "c"]);
    assert_eq!(strs(&c.q("ZRANGE z (d - BYLEX REV")), vec!["c", "b", "a"]);
    assert_eq!(strs(&c.q("ZREVRANGEBYSCORE z +inf -inf LIMIT 0 2 WITHSCORES")), vec!["e", "5", "d", "4"]);
    assert_eq!(strs(&c.q("ZRANGEBYSCORE z -inf +inf LIMIT -1 2")), Vec::<String>::new());
    assert_eq!(strs(&c.q("ZRANGEBYSCORE z -inf +inf LIMIT 3 -1")), vec!["d", "e"]);
    assert_eq!(strs(&c.q("ZREVRANGEBYLEX z + - LIMIT 1 1")), vec!["d"]);
    assert_eq!(c.q("ZRANGE z 0 1 LIMIT 0 1").text(), "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
    assert_eq!(c.q("ZRANGE z - + BYLEX WITHSCORES").text(), "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
    assert_eq!(c.q("ZRANGE z 0 1 BYSCORE BYLEX").text(), "ERR syntax error");
    assert_eq!(c.q("ZREVRANGE z 0 1 REV").text(), "ERR syntax error");
    assert_eq!(c.q("ZRANGEBYSCORE z 0 1 BYLEX").text(), "ERR syntax error");
    assert_eq!(c.q("ZRANGEBYLEX z 0 1").text(), "ERR min or max not valid string range item");
    assert_eq!(c.q("ZRANGE z a 1").text(), "ERR value is not an integer or out of range");
    assert_eq!(strs(&c.q("ZRANGE nosuch 0 -1")), Vec::<String>::new());
    assert_eq!(c.q("ZRANGESTORE d z 1 3 WITHSCORES").text(), "ERR syntax error");
    assert_eq!(c.q("ZRANGESTORE d z 1 3").int(), 3);
    assert_eq!(strs(&c.q("ZRANGE d 0 -1 WITHSCORES")), vec!["b", "2", "c", "3", "d", "4"]);
    assert_eq!(c.q("ZRANGESTORE d z (3 +inf BYSCORE LIMIT 0 1").int(), 1);
    assert_eq!(strs(&c.q("ZRANGE d 0 -1")), vec!["d"]);
    assert_eq!(c.q("ZRANGESTORE d nosuch 0 -1").int(), 0);
    assert_eq!(c.q("EXISTS d").int(), 0);
    // ZPOP
    assert_eq!(strs(&c.q("ZPOPMIN z")), vec!["a", "1"]);
    assert_eq!(strs(&c.q("ZPOPMAX z 2")), vec!["e", "5", "d", "4"]);
    assert_eq!(strs(&c.q("ZPOPMIN z 0")), Vec::<String>::new());
    assert_eq!(strs(&c.q("ZPOPMIN z -1")), Vec::<String>::new(), "6.2: a count <= 0 is an empty array");
    assert_eq!(c.q("ZPOPMIN z 1 2").text(), "ERR syntax error");
    assert_eq!(strs(&c.q("ZPOPMIN z 10")), vec!["b", "2", "c", "3"]);
    assert_eq!(c.q("EXISTS z").int(), 0);
    assert_eq!(strs(&c.q("ZPOPMIN z")), Vec::<String>::new());
}

#[test]
fn set_operations() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    c.q("ZADD a 1 x 2 y 3 z");
    c.q("ZADD b 2 y 3 z 4 w");
    assert_eq!(strs(&c.q("ZUNION 2 a b WITHSCORES")), vec!["x", "1", "w", "4", "y", "4", "z", "6"]);
    assert_eq!(strs(&c.q("ZUNION 2 a b WEIGHTS 2 1 AGGREGATE MAX WITHSCORES")), vec!["x", "2", "w", "4", "y", "4", "z", "6"]);
    assert_eq!(strs(&c.q("ZINTER 2 a b AGGREGATE MIN WITHSCORES")), vec!["y", "2", "z", "3"]);
    assert_eq!(strs(&c.q("ZDIFF 2 a b WITHSCORES")), vec!["x", "1"]);
    assert_eq!(strs(&c.q("ZDIFF 2 a a")), Vec::<String>::new());
    assert_eq!(strs(&c.q("ZINTER 2 a nosuch")), Vec::<String>::new());
    assert_eq!(c.q("ZUNIONSTORE u 2 a b").int(), 4);
    assert_eq!(enc(&mut c, "u"), "ziplist");
    assert_eq!(c.q("ZINTERSTORE u 2 a b WEIGHTS 1 0.5").int(), 2);
    assert_eq!(strs(&c.q("ZRANGE u 0 -1 WITHSCORES")), vec!["y", "3", "z", "4.5"]);
    assert_eq!(c.q("ZDIFFSTORE u 2 a b").int(), 1);
    assert_eq!(c.q("ZINTERSTORE u 2 a nosuch").int(), 0);
    assert_eq!(c.q("EXISTS u").int(), 0);
    assert_eq!(c.q("ZUNIONSTORE u 0 a").text(), "ERR at least 1 input key is needed for zunionstore");
    assert_eq!(c.q("ZINTER 0 a").text(), "ERR at least 1 input key is needed for zinter");
    assert_eq!(c.q("ZDIFFSTORE u 0 a").text(), "ERR at least 1 input key is needed for zdiffstore");
    assert_eq!(c.q("ZUNION 3 a b").text(), "ERR syntax error");
    assert_eq!(c.q("ZUNION 2 a b WEIGHTS 1").text(), "ERR syntax error");
    assert_eq!(c.q("ZUNION 2 a b WEIGHTS 1 x").text(), "ERR weight value is not a float");
    assert_eq!(c.q("ZUNION 2 a b AGGREGATE avg").text(), "ERR syntax error");
    assert_eq!(c.q("ZDIFF 2 a b WEIGHTS 1 1").text(), "ERR syntax error");
    assert_eq!(c.q("ZUNIONSTORE u 2 a b WITHSCORES").text(), "ERR syntax error");
    assert_eq!(c.q("ZUNION x a").text(), "ERR value is not an integer or out of range");
    // inf + -inf is 0 in a sum, and 0 * inf is 0.
    c.q("ZADD p inf m");
    c.q("ZADD n -inf m");
    assert_eq!(strs(&c.q("ZUNION 2 p n WITHSCORES")), vec!["m", "0"]);
    assert_eq!(strs(&c.q("ZINTER 2 p n WITHSCORES")), vec!["m", "0"]);
    assert_eq!(strs(&c.q("ZUNION 1 p WEIGHTS 0 WITHSCORES")), vec!["m", "0"]);
}

#[test]
fn encoding_conversions_at_thresholds() {
    let srv = Server::start(&["--zset-max-ziplist-entries", "4", "--zset-max-ziplist-value", "8"]);
    let mut c = srv.conn();
    c.q("ZADD z 1 a 2 b 3 c 4 d");
    assert_eq!(enc(&mut c, "z"), "ziplist");
    c.q("ZADD z 4 d");
    assert_eq!(enc(&mut c, "z"), "ziplist", "an update does not grow the set");
    c.q("ZADD z 5 e");
    assert_eq!(enc(&mut c, "z"), "skiplist");
    c.q("ZREM z a b c");
    assert_eq!(enc(&mut c, "z"), "skiplist", "never converted back");
    c.q("ZADD v 1 12345678");
    assert_eq!(enc(&mut c, "v"), "ziplist");
    c.q("ZADD v 1 123456789");
    assert_eq!(enc(&mut c, "v"), "skiplist");
    c.q("ZADD w 1 123456789 2 a");
    assert_eq!(enc(&mut c, "w"), "skiplist", "created for a long first member");
    c.q("ZADD x 1 a 2 123456789");
    assert_eq!(enc(&mut c, "x"), "skiplist");
    // Set operation results are converted down when they fit.
    c.q("ZUNIONSTORE u 1 z");
    assert_eq!(enc(&mut c, "u"), "ziplist");
    c.q("ZUNIONSTORE u 2 z x");
    assert_eq!(enc(&mut c, "u"), "skiplist");
    assert_eq!(c.q("ZCARD u").int(), 4);
    // ZRANGESTORE results are built as ZADD builds them.
    c.q("ZADD big 1 a 2 b 3 c 4 d 5 e 6 f");
    c.q("ZRANGESTORE r big 0 3");
    assert_eq!(enc(&mut c, "r"), "ziplist");
    c.q("ZRANGESTORE r big 0 4");
    assert_eq!(enc(&mut c, "r"), "skiplist");
    // Both encodings answer the same.
    c.q("ZADD zl 1 a 2 b 3 c");
    c.q("ZADD sl 1 a 2 b 3 c 4 zzzzzzzzzz");
    c.q("ZREM sl zzzzzzzzzz");
    assert_eq!(enc(&mut c, "zl"), "ziplist");
    assert_eq!(enc(&mut c, "sl"), "skiplist");
    for cmd in ["ZRANGE {} 0 -1 WITHSCORES", "ZRANGE {} (1 +inf BYSCORE REV", "ZRANGE {} [b + BYLEX", "ZRANK {} c"] {
        let a = c.q(&cmd.replace("{}", "zl"));
        let b = c.q(&cmd.replace("{}", "sl"));
        assert_eq!(a, b, "{}", cmd);
    }
    assert_eq!(c.q("DEBUG DIGEST-VALUE zl"), c.q("DEBUG DIGEST-VALUE sl"));
    // zset-max-ziplist-entries 0: always a skiplist.
    c.q("CONFIG SET zset-max-ziplist-entries 0");
    c.q("ZADD e0 1 a");
    assert_eq!(enc(&mut c, "e0"), "skiplist");
}

#[test]
fn zscan_and_zrandmember() {
    let srv = Server::start(&["--zset-max-ziplist-entries", "16"]);
    let mut c = srv.conn();
    c.q("ZADD small 1 a 2 b 3 c");
    let r = c.q("ZSCAN small 0 COUNT 1");
    assert_eq!(r.array()[0].text(), "0");
    assert_eq!(strs(&r.array()[1]), vec!["a", "1", "b", "2", "c", "3"]);
    let r = c.q("ZSCAN small 0 MATCH b*");
    assert_eq!(strs(&r.array()[1]), vec!["b", "2"]);
    assert_eq!(c.q("ZSCAN small x").text(), "ERR invalid cursor");
    assert_eq!(c.q("ZSCAN small 0 COUNT 0").text(), "ERR syntax error");
    let r = c.q("ZSCAN nosuch 0");
    assert_eq!(r.array()[0].text(), "0");
    // A skiplist set is scanned with a cursor and yields every member once.
    let mut args = vec!["ZADD".to_string(), "big".to_string()];
    for i in 0..100 {
        args.push(format!("{}.5", i));
        args.push(format!("m{}", i));
    }
    c.cmd(&args);
    assert_eq!(enc(&mut c, "big"), "skiplist");
    let mut seen = std::collections::BTreeMap::new();
    let mut cursor = "0".to_string();
    loop {
        let r = c.q(&format!("ZSCAN big {} COUNT 7", cursor));
        let a = r.array();
        cursor = a[0].text();
        let items = strs(&a[1]);
        for p in items.chunks(2) {
            seen.insert(p[0].clone(), p[1].clone());
        }
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 100);
    assert_eq!(seen["m7"], "7.5");
    for key in ["small", "big"] {
        let n = c.q(&format!("ZCARD {}", key)).int() as usize;
        assert!(!c.q(&format!("ZRANDMEMBER {}", key)).is_error());
        let r = strs(&c.q(&format!("ZRANDMEMBER {} 5", key)));
        assert_eq!(r.len(), 5.min(n));
        let uniq: std::collections::HashSet<_> = r.iter().collect();
        assert_eq!(uniq.len(), r.len(), "positive count: distinct members");
        let r = strs(&c.q(&format!("ZRANDMEMBER {} -20 WITHSCORES", key)));
        assert_eq!(r.len(), 40);
        for p in r.chunks(2) {
            assert_eq!(c.q(&format!("ZSCORE {} {}", key, p[0])).text(), p[1]);
        }
        let r = strs(&c.q(&format!("ZRANDMEMBER {} 1000", key)));
        assert_eq!(r.len(), n);
    }
    assert_eq!(c.q("ZRANDMEMBER nosuch"), Reply::nil());
    assert_eq!(strs(&c.q("ZRANDMEMBER nosuch 3")), Vec::<String>::new());
    assert_eq!(strs(&c.q("ZRANDMEMBER small 0")), Vec::<String>::new());
    assert_eq!(c.q("ZRANDMEMBER small 1 foo").text(), "ERR syntax error");
    assert_eq!(c.q("ZRANDMEMBER small x").text(), "ERR value is not an integer or out of range");
}

/// Polls `f` until it is true or 10 s pass.
fn eventually(mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn blocked_clients(c: &mut Conn) -> i64 {
    let info = c.q("INFO clients").text();
    info.lines()
        .find_map(|l| l.strip_prefix("blocked_clients:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(-1)
}

#[test]
fn blocking_pops() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    let mut b = srv.conn();
    c.q("ZADD z 1 a 2 b");
    assert_eq!(strs(&b.q("BZPOPMIN nosuch z 0")), vec!["z", "a", "1"]);
    assert_eq!(strs(&b.q("BZPOPMAX z 0")), vec!["z", "b", "2"]);
    assert_eq!(c.q("EXISTS z").int(), 0);
    // Blocks until a sorted set appears under one of the keys.
    b.send(&["BZPOPMAX", "k1", "k2", "0"]).unwrap();
    assert!(eventually(|| blocked_clients(&mut c) == 1));
    c.q("ZADD k2 1 x 5 y");
    let r = b.read_reply().unwrap();
    assert_eq!(strs(&r), vec!["k2", "y", "5"]);
    assert_eq!(strs(&c.q("ZRANGE k2 0 -1")), vec!["x"]);
    // Two waiters, one element: first blocked, first served.
    let mut b2 = srv.conn();
    b.send(&["BZPOPMIN", "q", "0"]).unwrap();
    assert!(eventually(|| blocked_clients(&mut c) == 1));
    b2.send(&["BZPOPMIN", "q", "0"]).unwrap();
    assert!(eventually(|| blocked_clients(&mut c) == 2));
    c.q("ZADD q 1 only");
    assert_eq!(strs(&b.read_reply().unwrap()), vec!["q", "only", "1"]);
    assert_eq!(blocked_clients(&mut c), 1);
    c.q("ZADD q 2 second");
    assert_eq!(strs(&b2.read_reply().unwrap()), vec!["q", "second", "2"]);
    // A timeout replies a null array.
    assert_eq!(b.q("BZPOPMIN nosuch 0.05"), Reply::Array(None));
    assert_eq!(b.q("BZPOPMIN nosuch x").text(), "ERR timeout is not a float or out of range");
    assert_eq!(b.q("BZPOPMIN nosuch -1").text(), "ERR timeout is negative");
    c.q("SET str x");
    assert!(b.q("BZPOPMIN nosuch str 0").text().starts_with("WRONGTYPE"));
    // A list under the key does not serve a zset waiter.
    b.send(&["BZPOPMIN", "lst", "0"]).unwrap();
    assert!(eventually(|| blocked_clients(&mut c) == 1));
    c.q("RPUSH lst a");
    c.q("DEL lst");
    c.q("ZADD lst 3 m");
    assert_eq!(strs(&b.read_reply().unwrap()), vec!["lst", "m", "3"]);
}

#[test]
fn pops_are_propagated_to_the_aof() {
    let srv = Server::start(&["--appendonly", "yes"]);
    let mut c = srv.conn();
    let mut b = srv.conn();
    c.q("ZADD z 1 a 2 b 3 c");
    c.q("ZPOPMIN z");
    b.q("BZPOPMAX z 0");
    b.send(&["BZPOPMIN", "w", "0"]).unwrap();
    assert!(eventually(|| blocked_clients(&mut c) == 1));
    c.q("ZADD w 7 m");
    assert_eq!(strs(&b.read_reply().unwrap()), vec!["w", "m", "7"]);
    c.q("ZADD marker 1 end");
    let path = srv.dir.join("appendonly.aof");
    let mut text = String::new();
    assert!(
        eventually(|| {
            text = String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_default()).into_owned();
            text.contains("marker")
        }),
        "AOF never got the marker"
    );
    assert!(text.contains("$7\r\nZPOPMIN\r\n$1\r\nz\r\n"), "{}", text);
    assert!(text.contains("$7\r\nZPOPMAX\r\n$1\r\nz\r\n"), "{}", text);
    assert!(text.contains("$7\r\nZPOPMIN\r\n$1\r\nw\r\n"), "{}", text);
    assert!(!text.contains("BZPOP"), "{}", text);
    // Replaying the AOF gives the same data set.
    let before = c.q("DEBUG DIGEST").text();
    assert_eq!(c.q("DEBUG LOADAOF"), Reply::ok());
    assert_eq!(c.q("DEBUG DIGEST").text(), before);
    assert_eq!(strs(&c.q("ZRANGE z 0 -1")), vec!["b"]);
    assert_eq!(c.q("EXISTS w").int(), 0);
}

// ---------------------------------------------------------------------------
// Differential against the reference server.

/// A score both servers print alike: exactly representable, short.
fn safe_score(rng: &mut Rng) -> String {
    match rng.below(12) {
        0 => "inf".into(),
        1 => "-inf".into(),
        2 => format!("{}.5", rng.below(20) as i64 - 10),
        3 => format!("-{}.25", rng.below(10)),
        4 => format!("{}.125", rng.below(10)),
        _ => format!("{}", rng.below(30) as i64 - 10),
    }
}

fn bound(rng: &mut Rng) -> String {
    let s = safe_score(rng);
    if rng.below(3) == 0 && !s.contains("inf") {
        format!("({}", s)
    } else {
        s
    }
}

fn lex_bound(rng: &mut Rng, members: &[String]) -> String {
    match rng.below(6) {
        0 => "-".into(),
        1 => "+".into(),
        2 => format!("({}", rng.pick(members)),
        _ => format!("[{}", rng.pick(members)),
    }
}

fn random_command(rng: &mut Rng, keys: &[&str], members: &[String]) -> Vec<String> {
    let k = rng.pick(keys).to_string();
    let m = |rng: &mut Rng| rng.pick(members).clone();
    let idx = |rng: &mut Rng| (rng.below(24) as i64 - 12).to_string();
    let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // Lex ranges are only defined over equal scores (over unequal ones
    // Redis's skiplist answer depends on its random node levels), so they
    // go to "lx", whose scores are all 0.
    match rng.below(28) {
        26 | 27 => {
            let mut c = v(&["ZADD", "lx"]);
            for _ in 0..1 + rng.below(4) {
                c.push("0".into());
                c.push(m(rng));
            }
            c
        }
        0..=4 => {
            let mut c = v(&["ZADD", &k]);
            for opt in ["NX", "XX", "GT", "LT", "CH"] {
                if rng.below(8) == 0 {
                    c.push(opt.into());
                }
            }
            for _ in 0..1 + rng.below(6) {
                c.push(safe_score(rng));
                c.push(m(rng));
            }
            c
        }
        5 => v(&["ZINCRBY", &k, &safe_score(rng), &m(rng)]),
        6 => v(&["ZREM", &k, &m(rng), &m(rng)]),
        7 => v(&["ZSCORE", &k, &m(rng)]),
        8 => v(&["ZMSCORE", &k, &m(rng), &m(rng)]),
        9 => v(&[if rng.below(2) == 0 { "ZRANK" } else { "ZREVRANK" }, &k, &m(rng)]),
        10 => {
            let mut c = v(&["ZRANGE", &k, &idx(rng), &idx(rng)]);
            if rng.below(2) == 0 {
                c.push("REV".into());
            }
            if rng.below(2) == 0 {
                c.push("WITHSCORES".into());
            }
            c
        }
        11 => {
            let mut c = v(&["ZRANGE", &k, &bound(rng), &bound(rng), "BYSCORE"]);
            if rng.below(2) == 0 {
                c.push("REV".into());
            }
            if rng.below(2) == 0 {
                c.extend(v(&["LIMIT", &(rng.below(5) as i64 - 1).to_string(), &(rng.below(6) as i64 - 1).to_string()]));
            }
            if rng.below(2) == 0 {
                c.push("WITHSCORES".into());
            }
            c
        }
        12 => {
            let mut c = v(&["ZRANGE", "lx", &lex_bound(rng, members), &lex_bound(rng, members), "BYLEX"]);
            if rng.below(2) == 0 {
                c.push("REV".into());
            }
            if rng.below(2) == 0 {
                c.extend(v(&["LIMIT", &rng.below(4).to_string(), &(rng.below(5) as i64 - 1).to_string()]));
            }
            c
        }
        13 => v(&["ZCOUNT", &k, &bound(rng), &bound(rng)]),
        14 => v(&["ZLEXCOUNT", "lx", &lex_bound(rng, members), &lex_bound(rng, members)]),
        15 => v(&["ZREMRANGEBYRANK", &k, &idx(rng), &idx(rng)]),
        16 => v(&["ZREMRANGEBYSCORE", &k, &bound(rng), &bound(rng)]),
        17 => v(&["ZREMRANGEBYLEX", "lx", &lex_bound(rng, members), &lex_bound(rng, members)]),
        18 => v(&[if rng.below(2) == 0 { "ZPOPMIN" } else { "ZPOPMAX" }, &k, &(1 + rng.below(3)).to_string()]),
        19 => v(&["ZCARD", &k]),
        20 => {
            let op = *rng.pick(&["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]);
            let mut c = v(&[op, *rng.pick(keys), "2", &k, *rng.pick(keys)]);
            if op != "ZDIFFSTORE" && rng.below(2) == 0 {
                // Positive weights only: 0 or a negative weight times 0 gives
                // -0, which 6.2 prints "-0" and 7.0 "0".
                c.extend(v(&["WEIGHTS", *rng.pick(&["1", "2", "0.5"]), *rng.pick(&["1", "3", "0.25"])]));
            }
            if op != "ZDIFFSTORE" && rng.below(2) == 0 {
                c.extend(v(&["AGGREGATE", *rng.pick(&["SUM", "MIN", "MAX"])]));
            }
            c
        }
        21 => {
            let op = *rng.pick(&["ZUNION", "ZINTER", "ZDIFF"]);
            v(&[op, "2", &k, *rng.pick(keys), "WITHSCORES"])
        }
        22 => v(&["ZRANGESTORE", *rng.pick(keys), &k, &idx(rng), &idx(rng)]),
        23 => v(&["ZRANGESTORE", *rng.pick(keys), &k, &bound(rng), &bound(rng), "BYSCORE", "LIMIT", "0", "3"]),
        24 => v(&["ZADD", &k, "INCR", &safe_score(rng), &m(rng)]),
        _ => v(&["ZRANGEBYSCORE", &k, &bound(rng), &bound(rng), "WITHSCORES"]),
    }
}

#[test]
fn differential_random_against_reference() {
    let Some(rf) = common::reference_or_skip(&[]) else { return };
    let ox = Server::start(&[]);
    let mut a = ox.conn();
    let mut b = rf.conn();
    let keys = ["k1", "k2", "k3", "k4"];
    for seed in 1..=3u64 {
        let mut rng = Rng::new(seed * 7919);
        // Small limits make both encodings and the conversions show up.
        for conn in [&mut a, &mut b] {
            conn.q("FLUSHALL");
            conn.q(&format!("CONFIG SET zset-max-ziplist-entries {}", [4, 16, 128][seed as usize - 1]));
        }
        let mut members: Vec<String> = (0..24).map(|i| format!("m{:02}", i)).collect();
        members.extend(["7", "12", "-3", "100"].map(String::from));
        members.push("a".repeat(70));
        let mut fails = Vec::new();
        for n in 0..1500 {
            let cmd = random_command(&mut rng, &keys, &members);
            let x = a.cmd(&cmd);
            let y = b.cmd(&cmd);
            if x != y {
                fails.push(format!("seed {} #{} {:?}\n  oxredis:   {:?}\n  reference: {:?}", seed, n, cmd, x, y));
                if fails.len() > 10 {
                    break;
                }
            }
            if n % 100 == 99 {
                let (x, y) = (a.q("DEBUG DIGEST"), b.q("DEBUG DIGEST"));
                if x != y {
                    fails.push(format!("seed {} #{} digest {:?} vs {:?}", seed, n, x, y));
                    break;
                }
            }
        }
        assert!(fails.is_empty(), "{} mismatches:\n{}", fails.len(), fails.join("\n"));
        assert_eq!(a.q("DEBUG DIGEST"), b.q("DEBUG DIGEST"));
    }
}

#[test]
fn digest_matches_reference_in_both_encodings() {
    let Some(rf) = common::reference_or_skip(&[]) else { return };
    let ox = Server::start(&[]);
    let mut a = ox.conn();
    let mut b = rf.conn();
    let mut big = vec!["ZADD".to_string(), "big".to_string()];
    for i in 0..300 {
        big.push(format!("{}.25", i as i64 - 150));
        big.push(format!("member:{}", i));
    }
    for conn in [&mut a, &mut b] {
        conn.q("ZADD small 1.5 a 3 b -2.25 c inf d -inf e 0 f");
        conn.cmd(&big);
        conn.q("ZADD ints 1 1 2 2 300000 3 -70000 4");
    }
    assert_eq!(enc(&mut a, "small"), "ziplist");
    assert_eq!(enc(&mut a, "big"), "skiplist");
    for key in ["small", "big", "ints"] {
        let q = format!("DEBUG DIGEST-VALUE {}", key);
        assert_eq!(a.q(&q), b.q(&q), "{}", key);
        let q = format!("ZRANGE {} 0 -1 WITHSCORES", key);
        assert_eq!(a.q(&q), b.q(&q), "{}", key);
    }
    assert_eq!(a.q("DEBUG DIGEST"), b.q("DEBUG DIGEST"));
}

/// Updating members that exist in a skiplist-encoded set allocates nothing
/// per command (no copy of the key name or the member, scores on the
/// stack), and the set stays right: after thousands of pipelined ZADD /
/// ZINCRBY score changes, every score and rank is the last one written.
#[test]
fn zadd_updates_allocate_nothing_per_call() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    let n = 300usize;
    for i in 0..n {
        assert_eq!(c.q(&format!("ZADD z {} m{:03}", i, i)).int(), 1);
    }
    assert_eq!(enc(&mut c, "z"), "skiplist");
    let mut rng = Rng::new(77);
    let mut scores: Vec<i64> = (0..n as i64).collect();
    let mut round = |c: &mut Conn, scores: &mut Vec<i64>| {
        let mut batch = Vec::new();
        let mut cmds = 0;
        for _ in 0..2000 {
            let i = rng.below(n as u64) as usize;
            let member = format!("m{:03}", i);
            let (cmd, s) = if rng.below(4) == 0 {
                let d = rng.below(1000) as i64 - 500;
                scores[i] += d;
                ("ZINCRBY", d)
            } else {
                scores[i] = rng.below(1000) as i64;
                ("ZADD", scores[i])
            };
            let s = s.to_string();
            batch.extend_from_slice(
                format!("*4\r\n${}\r\n{}\r\n$1\r\nz\r\n${}\r\n{}\r\n${}\r\n{}\r\n", cmd.len(), cmd, s.len(), s, member.len(), member)
                    .as_bytes(),
            );
            cmds += 1;
        }
        c.send_raw(&batch).expect("send");
        for _ in 0..cmds {
            let r = c.read_reply().expect("reply");
            assert!(!r.is_error(), "{:?}", r.text());
        }
    };
    round(&mut c, &mut scores); // warm-up: buffers reach their working size
    let before = c.q("DEBUG ALLOC-CALLS").int();
    round(&mut c, &mut scores);
    round(&mut c, &mut scores);
    let after = c.q("DEBUG ALLOC-CALLS").int();
    assert!(after - before < 100, "{} allocator calls for 4000 ZADD/ZINCRBY", after - before);
    let mut order: Vec<(i64, String)> = scores.iter().enumerate().map(|(i, &s)| (s, format!("m{:03}", i))).collect();
    order.sort();
    for (rank, (s, m)) in order.iter().enumerate() {
        assert_eq!(c.q(&format!("ZSCORE z {}", m)).text(), s.to_string());
        assert_eq!(c.q(&format!("ZRANK z {}", m)).int(), rank as i64);
    }
    let all = c.q("ZRANGE z 0 -1");
    assert_eq!(strs(&all), order.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>());
}
