//! Lazy freeing (lazyfree.c): UNLINK, FLUSHALL/FLUSHDB ASYNC and the
//! `lazyfree-lazy-*` options hand big values to a background thread, so
//! the server keeps answering while millions of allocations are freed.
//! INFO memory's `lazyfree_pending_objects` and `lazyfreed_objects` show
//! what went through the thread; the option scenarios also run against the
//! reference redis-server when it is installed.

mod common;

use common::{Conn, Reply, Server};
use std::time::{Duration, Instant};

fn info_field(c: &mut Conn, section: &str, field: &str) -> i64 {
    c.info_int(section, field)
}

fn lazyfreed(c: &mut Conn) -> i64 {
    info_field(c, "memory", "lazyfreed_objects")
}

/// Waits until nothing is pending in the lazyfree thread.
fn wait_lazyfree_done(c: &mut Conn, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while info_field(c, "memory", "lazyfree_pending_objects") != 0 {
        assert!(Instant::now() < deadline, "lazyfree_pending_objects did not go back to 0");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Builds a set of `n` non-integer members (hashtable encoding) with
/// pipelined SADDs of 10000 members each.
fn build_set(c: &mut Conn, key: &str, n: usize) {
    const BATCH: usize = 10_000;
    const DEPTH: usize = 16;
    let mut pending = 0;
    let mut start = 0;
    while start < n {
        let end = (start + BATCH).min(n);
        let mut args: Vec<Vec<u8>> = vec![b"sadd".to_vec(), key.as_bytes().to_vec()];
        args.extend((start..end).map(|i| format!("member:{}", i).into_bytes()));
        c.send(&args).unwrap();
        pending += 1;
        if pending == DEPTH {
            for _ in 0..pending {
                assert!(c.read_reply().unwrap().int() > 0);
            }
            pending = 0;
        }
        start = end;
    }
    for _ in 0..pending {
        assert!(c.read_reply().unwrap().int() > 0);
    }
    assert_eq!(c.cmd(&["scard", key]).int(), n as i64);
}

/// PING round trips on `p` until `done` is true; returns the slowest.
fn max_ping_while(p: &mut Conn, mut done: impl FnMut() -> bool) -> (Duration, usize) {
    let mut max = Duration::ZERO;
    let mut n = 0;
    loop {
        let t = Instant::now();
        assert_eq!(p.q("ping"), Reply::Status("PONG".into()));
        max = max.max(t.elapsed());
        n += 1;
        if done() {
            return (max, n);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn unlink_of_a_huge_set_returns_at_once_and_the_server_keeps_answering() {
    const N: usize = 1_500_000;
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    let mut watcher = srv.conn();
    let mut p = srv.conn();

    // For comparison only: DEL frees in the command.
    build_set(&mut c, "big", N);
    let t = Instant::now();
    assert_eq!(c.q("del big").int(), 1);
    let del_time = t.elapsed();

    build_set(&mut c, "big", N);
    let used_full = info_field(&mut c, "memory", "used_memory");
    let freed_before = lazyfreed(&mut c);
    let t = Instant::now();
    assert_eq!(c.q("unlink big").int(), 1);
    let unlink_time = t.elapsed();
    // The key is gone for everyone at once.
    assert_eq!(c.q("exists big").int(), 0);
    let (max_ping, pings) = max_ping_while(&mut p, || info_field(&mut watcher, "memory", "lazyfree_pending_objects") == 0);
    eprintln!("DEL {:?}, UNLINK {:?}, slowest of {} PINGs during the background free {:?}", del_time, unlink_time, pings, max_ping);
    // Generous bounds for a loaded machine; freeing 1.5M members in the
    // command takes a good fraction of a second or more.
    assert!(unlink_time < Duration::from_millis(150), "UNLINK took {:?}", unlink_time);
    assert!(max_ping < Duration::from_millis(150), "a PING took {:?} during the background free", max_ping);
    wait_lazyfree_done(&mut c, Duration::from_secs(20));
    assert_eq!(lazyfreed(&mut c), freed_before + 1);
    // The memory was really given back (counted whichever thread frees).
    let used_after = info_field(&mut c, "memory", "used_memory");
    assert!(used_after < used_full / 4, "used_memory {} after freeing, {} with the set", used_after, used_full);
}

#[test]
fn flushall_async_on_a_big_db() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    assert_eq!(c.q("debug populate 1000000"), Reply::ok());
    assert_eq!(c.q("select 1"), Reply::ok());
    assert_eq!(c.q("debug populate 1000"), Reply::ok());
    let used_full = info_field(&mut c, "memory", "used_memory");
    let freed_before = lazyfreed(&mut c);
    let t = Instant::now();
    assert_eq!(c.q("flushall async"), Reply::ok());
    let took = t.elapsed();
    // Logically empty at once: every database.
    assert_eq!(c.q("dbsize").int(), 0);
    assert_eq!(c.q("select 0"), Reply::ok());
    assert_eq!(c.q("dbsize").int(), 0);
    assert_eq!(c.q("set after flush"), Reply::ok());
    assert!(took < Duration::from_millis(150), "FLUSHALL ASYNC took {:?}", took);
    wait_lazyfree_done(&mut c, Duration::from_secs(20));
    // A database counts as its keys.
    assert_eq!(lazyfreed(&mut c), freed_before + 1_001_000);
    assert!(info_field(&mut c, "memory", "used_memory") < used_full / 4);
    assert_eq!(c.q("get after"), Reply::bulk("flush"));
}

/// The `lazyfree-lazy-*` options route the right deletions to the
/// lazyfree thread; small values are always freed at once.
fn lazyfree_options_route(srv: &Server) {
    let mut c = srv.conn();
    // A value's free effort must be above 64 (LAZYFREE_THRESHOLD).
    let big_set = |c: &mut Conn, key: &str, n: usize| {
        let mut args = vec!["sadd".to_string(), key.to_string()];
        args.extend((0..n).map(|i| format!("m{}", i)));
        assert_eq!(c.cmd(&args).int(), n as i64);
    };
    // Runs `f` and returns how many objects went through the lazyfree thread.
    fn through_thread(c: &mut Conn, f: impl FnOnce(&mut Conn)) -> i64 {
        let before = lazyfreed(c);
        f(c);
        wait_lazyfree_done(c, Duration::from_secs(10));
        lazyfreed(c) - before
    }

    // UNLINK: lazy above the threshold only.
    big_set(&mut c, "s64", 64);
    big_set(&mut c, "s65", 65);
    assert_eq!(through_thread(&mut c, |c| assert_eq!(c.q("unlink s64").int(), 1)), 0);
    assert_eq!(through_thread(&mut c, |c| assert_eq!(c.q("unlink s65").int(), 1)), 1);
    // Compact encodings are one allocation, however many elements.
    let mut args = vec!["sadd".to_string(), "ints".to_string()];
    args.extend((0..300).map(|i| i.to_string()));
    c.cmd(&args);
    assert_eq!(through_thread(&mut c, |c| assert_eq!(c.q("unlink ints").int(), 1)), 0);
    // A list counts its quicklist nodes; a sorted set its skiplist; a hash
    // its table.
    assert_eq!(c.q("config set list-max-ziplist-size 1"), Reply::ok());
    let mut args = vec!["rpush".to_string(), "l".to_string()];
    args.extend((0..100).map(|i| i.to_string()));
    c.cmd(&args);
    assert_eq!(c.q("config set list-max-ziplist-size -2"), Reply::ok());
    let mut args = vec!["zadd".to_string(), "z".to_string()];
    args.extend((0..200).flat_map(|i| [i.to_string(), format!("m{}", i)]));
    c.cmd(&args);
    let mut args = vec!["hset".to_string(), "h".to_string()];
    args.extend((0..600).flat_map(|i| [format!("f{}", i), "v".to_string()]));
    c.cmd(&args);
    assert_eq!(through_thread(&mut c, |c| assert_eq!(c.q("unlink l z h").int(), 3)), 3);

    // DEL: lazy only with lazyfree-lazy-user-del.
    big_set(&mut c, "s", 100);
    assert_eq!(through_thread(&mut c, |c| assert_eq!(c.q("del s").int(), 1)), 0);
    assert_eq!(c.q("config set lazyfree-lazy-user-del yes"), Reply::ok());
    big_set(&mut c, "s", 100);
    assert_eq!(through_thread(&mut c, |c| assert_eq!(c.q("del s").int(), 1)), 1);
    assert_eq!(c.q("config set lazyfree-lazy-user-del no"), Reply::ok());

    // Deletions the server does itself: lazyfree-lazy-server-del.
    big_set(&mut c, "s", 100);
    assert_eq!(through_thread(&mut c, |c| assert_eq!(c.q("set s plain"), Reply::ok())), 0);
    assert_eq!(c.q("config set lazyfree-lazy-server-del yes"), Reply::ok());
    big_set(&mut c, "s2", 100);
    assert_eq!(through_thread(&mut c, |c| assert_eq!(c.q("set s2 plain"), Reply::ok())), 1);
    big_set(&mut c, "s3", 100);
    assert_eq!(through_thread(&mut c, |c| assert_eq!(c.q("rename s s3"), Reply::ok())), 1);
    assert_eq!(c.q("get s3"), Reply::bulk("plain"));
    big_set(&mut c, "s4", 100);
    big_set(&mut c, "s5", 100);
    assert_eq!(through_thread(&mut c, |c| assert_eq!(c.q("sunionstore s4 s5").int(), 100)), 1);
    assert_eq!(c.q("config set lazyfree-lazy-server-del no"), Reply::ok());
    assert_eq!(through_thread(&mut c, |c| assert_eq!(c.q("sinterstore s4 nosuchkey").int(), 0)), 0);

    // Expired keys: lazyfree-lazy-expire.
    assert_eq!(c.q("debug set-active-expire 0"), Reply::ok());
    big_set(&mut c, "e", 100);
    assert_eq!(c.q("pexpire e 1").int(), 1);
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(through_thread(&mut c, |c| assert_eq!(c.q("exists e").int(), 0)), 0);
    assert_eq!(c.q("config set lazyfree-lazy-expire yes"), Reply::ok());
    big_set(&mut c, "e", 100);
    assert_eq!(c.q("pexpire e 1").int(), 1);
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(through_thread(&mut c, |c| assert_eq!(c.q("exists e").int(), 0)), 1);
    assert_eq!(c.q("config set lazyfree-lazy-expire no"), Reply::ok());
    assert_eq!(c.q("debug set-active-expire 1"), Reply::ok());

    // FLUSHALL/FLUSHDB: ASYNC, or no option with lazyfree-lazy-user-flush;
    // a database counts as its keys, however small.
    assert_eq!(c.q("flushall"), Reply::ok());
    c.q("mset a 1 b 2 c 3");
    assert_eq!(through_thread(&mut c, |c| assert_eq!(c.q("flushdb"), Reply::ok())), 0);
    c.q("mset a 1 b 2 c 3");
    assert_eq!(through_thread(&mut c, |c| assert_eq!(c.q("flushdb async"), Reply::ok())), 3);
    assert_eq!(c.q("config set lazyfree-lazy-user-flush yes"), Reply::ok());
    c.q("mset a 1 b 2");
    assert_eq!(through_thread(&mut c, |c| assert_eq!(c.q("flushall"), Reply::ok())), 2);
    c.q("mset a 1 b 2");
    assert_eq!(through_thread(&mut c, |c| assert_eq!(c.q("flushall sync"), Reply::ok())), 0);
    assert_eq!(c.q("config set lazyfree-lazy-user-flush no"), Reply::ok());
    assert_eq!(c.q("flushall foo"), Reply::err("ERR syntax error"));
    assert_eq!(c.q("flushdb async sync"), Reply::err("ERR syntax error"));
}

#[test]
fn lazyfree_options_route_the_right_deletions() {
    let srv = Server::start(&[]);
    lazyfree_options_route(&srv);
}

#[test]
fn lazyfree_options_route_the_right_deletions_reference() {
    if let Some(srv) = common::reference_or_skip(&[]) {
        lazyfree_options_route(&srv);
    }
}

#[test]
fn lazyfree_config_defaults() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    for name in [
        "lazyfree-lazy-eviction",
        "lazyfree-lazy-expire",
        "lazyfree-lazy-server-del",
        "lazyfree-lazy-user-del",
        "lazyfree-lazy-user-flush",
        "replica-lazy-flush",
    ] {
        let r = c.cmd(&["config", "get", name]).array();
        assert_eq!((r[0].text(), r[1].text()), (name.to_string(), "no".to_string()));
        assert_eq!(c.cmd(&["config", "set", name, "yes"]), Reply::ok());
        assert_eq!(c.cmd(&["config", "get", name]).array()[1].text(), "yes");
        assert!(c.cmd(&["config", "set", name, "maybe"]).is_error());
    }
    assert_eq!(info_field(&mut c, "memory", "lazyfree_pending_objects"), 0);
    assert_eq!(info_field(&mut c, "memory", "lazyfreed_objects"), 0);
}

#[test]
fn lazy_deletions_are_propagated_as_unlink() {
    let srv = Server::start(&["--appendonly", "yes", "--lazyfree-lazy-expire", "yes"]);
    let mut c = srv.conn();
    assert_eq!(c.q("debug set-active-expire 0"), Reply::ok());
    assert_eq!(c.q("set k v"), Reply::ok());
    assert_eq!(c.q("pexpire k 1").int(), 1);
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(c.q("get k"), Reply::nil());
    assert_eq!(c.q("config set lazyfree-lazy-expire no"), Reply::ok());
    assert_eq!(c.q("set k2 v"), Reply::ok());
    assert_eq!(c.q("pexpire k2 1").int(), 1);
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(c.q("get k2"), Reply::nil());
    // An expire in the past deletes at once, the same way.
    assert_eq!(c.q("config set lazyfree-lazy-expire yes"), Reply::ok());
    assert_eq!(c.q("set k3 v"), Reply::ok());
    assert_eq!(c.q("expire k3 -1").int(), 1);
    assert_eq!(c.q("set k4 v"), Reply::ok());
    assert_eq!(c.q("getex k4 pxat 1"), Reply::bulk("v"));
    assert_eq!(c.q("exists k4").int(), 0);
    // GETDEL follows lazyfree-lazy-user-del, as DEL does.
    assert_eq!(c.q("config set lazyfree-lazy-user-del yes"), Reply::ok());
    assert_eq!(c.q("set k5 v"), Reply::ok());
    assert_eq!(c.q("getdel k5"), Reply::bulk("v"));
    // The AOF is written before replies leave.
    let aof = std::fs::read(srv.dir.join("appendonly.aof")).unwrap_or_default();
    let text = String::from_utf8_lossy(&aof);
    assert!(text.contains("*2\r\n$6\r\nUNLINK\r\n$1\r\nk\r\n"), "{}", text);
    assert!(text.contains("*2\r\n$3\r\nDEL\r\n$2\r\nk2\r\n"), "{}", text);
    for k in ["k3", "k4", "k5"] {
        assert!(text.contains(&format!("*2\r\n$6\r\nUNLINK\r\n$2\r\n{}\r\n", k)), "{}: {}", k, text);
    }
}
