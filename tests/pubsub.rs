//! Pub/Sub: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH and
//! PUBSUB, with Redis 6.2's reply shapes and errors; the subscribed state
//! of a RESP2 client; delivery order; freeing subscriptions; INFO and
//! CLIENT LIST fields; PUBLISH kept out of the AOF; a slow subscriber.
//!
//! Where the reference redis-server (7.0) is installed the same sequences
//! run on it too, except where 7.0 answers differently from 6.2 (shard
//! channels in texts and HELP, subcommand error wording): those are
//! checked on oxredis against 6.2's text only.

mod common;

use common::{Conn, Reply, Server};
use std::time::{Duration, Instant};

fn bulk(s: &str) -> Reply {
    Reply::bulk(s)
}

fn arr(v: Vec<Reply>) -> Reply {
    Reply::Array(Some(v))
}

fn confirm(kind: &str, name: Option<&str>, n: i64) -> Reply {
    arr(vec![bulk(kind), name.map_or(Reply::nil(), bulk), Reply::Int(n)])
}

fn read(c: &mut Conn) -> Reply {
    c.read_reply().unwrap_or_else(|e| panic!("read: {}", e))
}

/// Runs `f` on oxredis and, when installed, on the reference.
fn on_both(f: impl Fn(&Server)) {
    let ox = Server::start(&[]);
    f(&ox);
    if let Some(rf) = common::reference_or_skip(&[]) {
        f(&rf);
    }
}

#[test]
fn subscribe_and_unsubscribe_replies() {
    on_both(|srv| {
        let mut c = srv.conn();
        // Subscribed to nothing: one confirmation with a null name.
        assert_eq!(c.cmd(&["UNSUBSCRIBE"]), confirm("unsubscribe", None, 0));
        assert_eq!(c.cmd(&["PUNSUBSCRIBE"]), confirm("punsubscribe", None, 0));
        // One confirmation per argument, repeats included, with the count
        // of channels plus patterns.
        assert_eq!(c.cmd(&["SUBSCRIBE", "a", "b", "a"]), confirm("subscribe", Some("a"), 1));
        assert_eq!(read(&mut c), confirm("subscribe", Some("b"), 2));
        assert_eq!(read(&mut c), confirm("subscribe", Some("a"), 2));
        assert_eq!(c.cmd(&["PSUBSCRIBE", "p*", "p*"]), confirm("psubscribe", Some("p*"), 3));
        assert_eq!(read(&mut c), confirm("psubscribe", Some("p*"), 3));
        // Unsubscribing from what it is not subscribed to still answers.
        assert_eq!(c.cmd(&["UNSUBSCRIBE", "zz"]), confirm("unsubscribe", Some("zz"), 3));
        assert_eq!(c.cmd(&["PUNSUBSCRIBE", "q*"]), confirm("punsubscribe", Some("q*"), 3));
        // Without arguments: every channel, in no promised order, the
        // count going down one by one.
        let got = [c.cmd(&["UNSUBSCRIBE"]).array(), read(&mut c).array()];
        let mut names: Vec<String> = got.iter().map(|m| m[1].text()).collect();
        names.sort();
        assert_eq!(names, ["a", "b"]);
        assert_eq!([got[0][0].clone(), got[0][2].clone(), got[1][0].clone(), got[1][2].clone()], [
            bulk("unsubscribe"),
            Reply::Int(2),
            bulk("unsubscribe"),
            Reply::Int(1)
        ]);
        // Still subscribed to a pattern: still in the subscribed state.
        assert!(c.cmd(&["GET", "x"]).is_error());
        assert_eq!(c.cmd(&["PUNSUBSCRIBE"]), confirm("punsubscribe", Some("p*"), 0));
        // Out of the subscribed state.
        assert_eq!(c.cmd(&["GET", "x"]), Reply::nil());
        assert_eq!(c.cmd(&["SUBSCRIBE"]), Reply::err("ERR wrong number of arguments for 'subscribe' command"));
        assert_eq!(c.cmd(&["PSUBSCRIBE"]), Reply::err("ERR wrong number of arguments for 'psubscribe' command"));
    });
}

#[test]
fn subscribed_context_restrictions() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    c.cmd(&["SUBSCRIBE", "ch"]);
    // 6.2's text (7.0 adds the shard variants).
    for (cmd, name) in [(vec!["GET", "k"], "get"), (vec!["publish", "ch", "x"], "publish"), (vec!["PUBSUB", "NUMPAT"], "pubsub")] {
        assert_eq!(
            c.cmd(&cmd),
            Reply::err(&format!(
                "ERR Can't execute '{}': only (P)SUBSCRIBE / (P)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                name
            ))
        );
    }
    // An unknown command and a wrong arity are found before the state.
    assert!(c.cmd(&["NOSUCH"]).text().starts_with("ERR unknown command `NOSUCH`"));
    assert_eq!(c.cmd(&["GET"]), Reply::err("ERR wrong number of arguments for 'get' command"));
    // PING answers as a message-shaped array.
    assert_eq!(c.cmd(&["PING"]), arr(vec![bulk("pong"), bulk("")]));
    assert_eq!(c.cmd(&["PING", "hi"]), arr(vec![bulk("pong"), bulk("hi")]));
    // The rejected commands count in INFO commandstats as rejected.
    let mut other = srv.conn();
    let stats = other.cmd(&["INFO", "commandstats"]).text();
    assert!(stats.contains("cmdstat_get:calls=0,") && stats.contains("rejected_calls=2"), "{}", stats);
    // RESET leaves the subscribed state and drops the subscriptions.
    assert_eq!(c.cmd(&["RESET"]), Reply::Status("RESET".into()));
    assert_eq!(c.cmd(&["PING"]), Reply::Status("PONG".into()));
    assert_eq!(other.cmd(&["PUBSUB", "NUMSUB", "ch"]), arr(vec![bulk("ch"), Reply::Int(0)]));
    // QUIT works in the subscribed state.
    c.cmd(&["PSUBSCRIBE", "*"]);
    assert_eq!(c.cmd(&["QUIT"]), Reply::ok());
    assert!(c.closed_within(Duration::from_secs(2)));
}

#[test]
fn ping_in_subscribed_state_matches_reference() {
    on_both(|srv| {
        let mut c = srv.conn();
        c.cmd(&["PSUBSCRIBE", "x"]);
        assert_eq!(c.cmd(&["PING"]), arr(vec![bulk("pong"), bulk("")]));
        assert_eq!(c.cmd(&["PING", "a b"]), arr(vec![bulk("pong"), bulk("a b")]));
        assert!(c.cmd(&["PING", "a", "b"]).is_error());
    });
}

#[test]
fn publish_delivers_messages_then_pmessages() {
    on_both(|srv| {
        let mut a = srv.conn();
        let mut b = srv.conn();
        let mut p = srv.conn();
        a.cmd(&["SUBSCRIBE", "news.art", "news.tech"]);
        read(&mut a);
        b.cmd(&["SUBSCRIBE", "news.art"]);
        // One client, two matching patterns: two deliveries.
        b.cmd(&["PSUBSCRIBE", "news.*", "*.art"]);
        read(&mut b);
        assert_eq!(p.cmd(&["PUBLISH", "news.art", "hello"]), Reply::Int(4));
        assert_eq!(read(&mut a), arr(vec![bulk("message"), bulk("news.art"), bulk("hello")]));
        // The channel message comes before the pattern messages.
        assert_eq!(read(&mut b), arr(vec![bulk("message"), bulk("news.art"), bulk("hello")]));
        let mut pm = vec![read(&mut b), read(&mut b)];
        pm.sort_by_key(|r| format!("{:?}", r));
        assert_eq!(
            pm,
            vec![
                arr(vec![bulk("pmessage"), bulk("*.art"), bulk("news.art"), bulk("hello")]),
                arr(vec![bulk("pmessage"), bulk("news.*"), bulk("news.art"), bulk("hello")]),
            ]
        );
        assert_eq!(p.cmd(&["PUBLISH", "nobody", "x"]), Reply::Int(0));
        assert_eq!(p.cmd(&["PUBLISH", "news.tech", ""]), Reply::Int(2));
        assert_eq!(read(&mut a), arr(vec![bulk("message"), bulk("news.tech"), bulk("")]));
        assert_eq!(read(&mut b), arr(vec![bulk("pmessage"), bulk("news.*"), bulk("news.tech"), bulk("")]));
        assert_eq!(p.cmd(&["PUBLISH", "x"]), Reply::err("ERR wrong number of arguments for 'publish' command"));
        // Messages of one publisher arrive in order.
        for i in 0..100 {
            p.send(&["PUBLISH", "news.tech", &i.to_string()]).unwrap_or_else(|e| panic!("{}", e));
        }
        for _ in 0..100 {
            assert_eq!(read(&mut p), Reply::Int(2));
        }
        for i in 0..100 {
            assert_eq!(read(&mut a), arr(vec![bulk("message"), bulk("news.tech"), bulk(&i.to_string())]));
        }
    });
}

#[test]
fn pattern_globs_and_binary_names() {
    on_both(|srv| {
        let mut s = srv.conn();
        let mut p = srv.conn();
        s.cmd(&["PSUBSCRIBE", "h?llo", "h[ae]llo", "h\\*llo", "x[^a]z"]);
        for _ in 0..3 {
            read(&mut s);
        }
        let expect = [("hello", 2), ("hallo", 2), ("hillo", 1), ("h*llo", 2), ("hllo", 0), ("xbz", 1), ("xaz", 0)];
        for (ch, n) in expect {
            assert_eq!(p.cmd(&["PUBLISH", ch, "m"]), Reply::Int(n), "{}", ch);
            for _ in 0..n {
                let m = read(&mut s).array();
                assert_eq!(m[2], bulk(ch));
            }
        }
        s.cmd(&["PUNSUBSCRIBE"]);
        for _ in 0..3 {
            read(&mut s);
        }
        s.cmd(&[&b"SUBSCRIBE"[..], b"bin\x00\r\n\xff"]);
        assert_eq!(p.cmd(&[&b"PUBLISH"[..], b"bin\x00\r\n\xff", b"\x00\x01\r\n"]), Reply::Int(1));
        assert_eq!(
            read(&mut s),
            arr(vec![bulk("message"), Reply::Bulk(Some(b"bin\x00\r\n\xff".to_vec())), Reply::Bulk(Some(b"\x00\x01\r\n".to_vec()))])
        );
    });
}

#[test]
fn pubsub_introspection() {
    on_both(|srv| {
        let mut a = srv.conn();
        let mut b = srv.conn();
        let mut q = srv.conn();
        a.cmd(&["SUBSCRIBE", "c1", "c2"]);
        read(&mut a);
        b.cmd(&["SUBSCRIBE", "c1"]);
        a.cmd(&["PSUBSCRIBE", "p*"]);
        b.cmd(&["PSUBSCRIBE", "p*", "q*"]);
        read(&mut b);
        let mut chans = q.cmd(&["PUBSUB", "CHANNELS"]).array();
        chans.sort_by_key(|r| r.text());
        assert_eq!(chans, vec![bulk("c1"), bulk("c2")]);
        assert_eq!(q.cmd(&["PUBSUB", "CHANNELS", "*2"]), arr(vec![bulk("c2")]));
        assert_eq!(q.cmd(&["PUBSUB", "CHANNELS", "x*"]), arr(vec![]));
        assert_eq!(
            q.cmd(&["PUBSUB", "NUMSUB", "c1", "c2", "c3", "c1"]),
            arr(vec![bulk("c1"), Reply::Int(2), bulk("c2"), Reply::Int(1), bulk("c3"), Reply::Int(0), bulk("c1"), Reply::Int(2)])
        );
        assert_eq!(q.cmd(&["PUBSUB", "NUMSUB"]), arr(vec![]));
        // Distinct patterns, as 6.2 counts them.
        assert_eq!(q.cmd(&["pubsub", "numpat"]), Reply::Int(2));
        let info = q.cmd(&["INFO", "stats"]).text();
        assert!(info.contains("pubsub_channels:2\r\n") && info.contains("pubsub_patterns:2\r\n"), "{}", info);
        // CLIENT LIST: sub= and psub= counts, flag P.
        let list = q.cmd(&["CLIENT", "LIST"]).text();
        let lines: Vec<&str> = list.lines().filter(|l| l.contains(" flags=P ")).collect();
        assert_eq!(lines.len(), 2, "{}", list);
        assert!(lines.iter().any(|l| l.contains(" sub=2 psub=1 ")), "{}", list);
        assert!(lines.iter().any(|l| l.contains(" sub=1 psub=2 ")), "{}", list);
        assert!(list.lines().any(|l| l.contains(" flags=N ") && l.contains(" sub=0 psub=0 ")), "{}", list);
        let typed = q.cmd(&["CLIENT", "LIST", "TYPE", "pubsub"]).text();
        assert_eq!(typed.lines().count(), 2, "{}", typed);
        // A closed connection gives its subscriptions up.
        drop(b);
        let deadline = Instant::now() + Duration::from_secs(5);
        while q.cmd(&["PUBSUB", "NUMPAT"]) != Reply::Int(1) {
            assert!(Instant::now() < deadline, "subscriptions of a closed client stayed");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(q.cmd(&["PUBSUB", "NUMSUB", "c1"]), arr(vec![bulk("c1"), Reply::Int(1)]));
        assert_eq!(q.cmd(&["PUBLISH", "c1", "x"]), Reply::Int(1));
        // CLIENT KILL TYPE pubsub closes the subscribers.
        assert_eq!(q.cmd(&["CLIENT", "KILL", "TYPE", "pubsub"]), Reply::Int(1));
        assert!(a.closed_within(Duration::from_secs(2)));
        let deadline = Instant::now() + Duration::from_secs(5);
        while q.cmd(&["PUBSUB", "CHANNELS"]) != arr(vec![]) {
            assert!(Instant::now() < deadline, "subscriptions of a killed client stayed");
            std::thread::sleep(Duration::from_millis(5));
        }
        let info = q.cmd(&["INFO", "stats"]).text();
        assert!(info.contains("pubsub_channels:0\r\n") && info.contains("pubsub_patterns:0\r\n"), "{}", info);
    });
}

#[test]
fn pubsub_errors_and_help_as_62() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    let sub_err = |s: &str| Reply::err(&format!("ERR Unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.", s));
    assert_eq!(c.cmd(&["PUBSUB", "foo"]), sub_err("foo"));
    assert_eq!(c.cmd(&["PUBSUB", "CHANNELS", "a", "b"]), sub_err("CHANNELS"));
    assert_eq!(c.cmd(&["PUBSUB", "NUMPAT", "x"]), sub_err("NUMPAT"));
    assert_eq!(c.cmd(&["PUBSUB", "HELP", "x"]), sub_err("HELP"));
    assert_eq!(c.cmd(&["PUBSUB"]), Reply::err("ERR wrong number of arguments for 'pubsub' command"));
    let help: Vec<String> = c.cmd(&["PUBSUB", "help"]).array().iter().map(|r| r.text()).collect();
    assert_eq!(
        help,
        [
            "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "HELP",
            "    Prints this help.",
        ]
    );
    // COMMAND INFO as 6.2's table.
    let info = c.cmd(&["COMMAND", "INFO", "subscribe", "publish", "pubsub"]).array();
    let flags = |i: usize| -> Vec<String> { info[i].array()[2].array().iter().map(|r| r.text()).collect() };
    assert_eq!(flags(0), ["pubsub", "noscript", "loading", "stale"]);
    assert_eq!(flags(1), ["pubsub", "loading", "stale", "fast", "may_replicate"]);
    assert_eq!(flags(2), ["pubsub", "random", "loading", "stale"]);
    assert_eq!(info[1].array()[1], Reply::Int(3));
}

#[test]
fn unsubscribe_without_subscriptions_raw_bytes() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    c.send_raw(b"UNSUBSCRIBE\r\nPUNSUBSCRIBE\r\n").unwrap_or_else(|e| panic!("{}", e));
    let want: &[u8] = b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n";
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut got = Vec::new();
    while got.len() < want.len() && Instant::now() < deadline {
        let (d, _) = c.drain_within(Duration::from_millis(50));
        got.extend(d);
    }
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
}

#[test]
fn publish_never_reaches_the_aof() {
    let srv = Server::start(&["--appendonly", "yes", "--notify-keyspace-events", "KEA"]);
    let mut c = srv.conn();
    let mut s = srv.conn();
    s.cmd(&["PSUBSCRIBE", "*"]);
    assert_eq!(c.cmd(&["PUBLISH", "ch", "payload-one"]), Reply::Int(1));
    c.cmd(&["SET", "k", "v"]);
    assert_eq!(c.cmd(&["PUBLISH", "ch", "payload-two"]), Reply::Int(1));
    let aof = std::fs::read(srv.dir.join("appendonly.aof")).unwrap_or_else(|e| panic!("read aof: {}", e));
    let text = String::from_utf8_lossy(&aof).to_ascii_lowercase();
    assert!(text.contains("$3\r\nset\r\n"), "the SET is there: {:?}", text);
    assert!(!text.contains("publish") && !text.contains("payload"), "PUBLISH in the AOF: {:?}", text);
    // PUBLISH is not a write: no dirty change.
    let info = c.cmd(&["INFO", "persistence"]).text();
    assert!(info.contains("aof_enabled:1"), "{}", info);
}

#[test]
fn publish_waits_during_client_pause_write() {
    on_both(|srv| {
        let mut c = srv.conn();
        let mut p = srv.conn();
        assert_eq!(c.cmd(&["CLIENT", "PAUSE", "300", "WRITE"]), Reply::ok());
        let t = Instant::now();
        // PUBLISH may replicate, so CLIENT PAUSE WRITE holds it.
        assert_eq!(p.cmd(&["PUBLISH", "ch", "x"]), Reply::Int(0));
        assert!(t.elapsed() >= Duration::from_millis(200), "{:?}", t.elapsed());
    });
}

#[test]
fn slow_subscriber_gets_everything() {
    let srv = Server::start(&[]);
    let mut s = srv.conn();
    let mut p = srv.conn();
    s.cmd(&["SUBSCRIBE", "bulk"]);
    let payload = "x".repeat(4096);
    // Far more than a socket buffer: the rest waits in the subscriber's
    // reply list and leaves through its writable event.
    let n = 2000;
    for _ in 0..n {
        p.send(&["PUBLISH", "bulk", payload.as_str()]).unwrap_or_else(|e| panic!("{}", e));
    }
    for _ in 0..n {
        assert_eq!(read(&mut p), Reply::Int(1));
    }
    let list = p.cmd(&["CLIENT", "LIST"]).text();
    assert!(list.lines().any(|l| l.contains(" sub=1 ")), "{}", list);
    for i in 0..n {
        let m = read(&mut s).array();
        assert_eq!(m[2].text().len(), 4096, "message {}", i);
    }
    assert_eq!(s.cmd(&["PING"]), arr(vec![bulk("pong"), bulk("")]));
}

#[test]
fn subscriber_pipeline() {
    on_both(|srv| {
        let mut c = srv.conn();
        let mut p = srv.conn();
        c.send_raw(b"SUBSCRIBE a\r\nPING\r\nSUBSCRIBE b\r\nUNSUBSCRIBE a\r\nPING x\r\n").unwrap_or_else(|e| panic!("{}", e));
        assert_eq!(read(&mut c), confirm("subscribe", Some("a"), 1));
        assert_eq!(read(&mut c), arr(vec![bulk("pong"), bulk("")]));
        assert_eq!(read(&mut c), confirm("subscribe", Some("b"), 2));
        assert_eq!(read(&mut c), confirm("unsubscribe", Some("a"), 1));
        assert_eq!(read(&mut c), arr(vec![bulk("pong"), bulk("x")]));
        assert_eq!(p.cmd(&["PUBLISH", "a", "1"]), Reply::Int(0));
        assert_eq!(p.cmd(&["PUBLISH", "b", "2"]), Reply::Int(1));
        assert_eq!(read(&mut c), arr(vec![bulk("message"), bulk("b"), bulk("2")]));
    });
}
