//! The request protocol as the real binary sees it: malformed input gets
//! Redis 6.2's exact error and the connection is closed after it; valid input
//! works however it is split or pipelined.
//!
//! Each malformed case runs against oxredis, and also against the reference
//! `redis-server` when installed unless the case is marked 6.2-only (the
//! reference is 7.0; see `ONLY_62`).

mod common;

use common::{Conn, Reply, Server};
use std::time::Duration;

/// (raw request, replies expected before the close (None = close with no
/// reply at all), true if the behaviour is 6.2-only).
struct Case {
    input: Vec<u8>,
    replies: &'static [&'static str],
    closed: bool,
    only_62: bool,
}

fn case(input: &[u8], replies: &'static [&'static str], closed: bool) -> Case {
    Case { input: input.to_vec(), replies, closed, only_62: false }
}

/// Cases where Redis 7.0 behaves differently from 6.2, with the reason.
/// `*1048577`: 6.2 caps a multibulk count at 1024*1024; 7.0 raised it to INT_MAX.
const ONLY_62: &[&str] = &["*1048577\r\n"];

const PONG: &str = "+PONG";

fn malformed_cases() -> Vec<Case> {
    let mut v = vec![
        case(b"*abc\r\n", &["-ERR Protocol error: invalid multibulk length"], true),
        case(b"*1048577\r\n", &["-ERR Protocol error: invalid multibulk length"], true),
        case(b"*+1\r\n$4\r\nPING\r\n", &["-ERR Protocol error: invalid multibulk length"], true),
        case(b"*\r\nPING\r\n", &["-ERR Protocol error: invalid multibulk length"], true),
        case(b"*1\n$4\r\nPING\r\n", &["-ERR Protocol error: invalid multibulk length"], true),
        case(b"*1\r\nfoo\r\n", &["-ERR Protocol error: expected '$', got 'f'"], true),
        case(b"*1\r\n\r\n", &["-ERR Protocol error: expected '$', got ' '"], true),
        case(b"*1\r\n*4\r\nPING\r\n", &["-ERR Protocol error: expected '$', got '*'"], true),
        case(b"*1\r\n$abc\r\n", &["-ERR Protocol error: invalid bulk length"], true),
        case(b"*1\r\n$\r\n", &["-ERR Protocol error: invalid bulk length"], true),
        case(b"*1\r\n$-1\r\n", &["-ERR Protocol error: invalid bulk length"], true),
        case(b"*1\r\n$+4\r\nPING\r\n", &["-ERR Protocol error: invalid bulk length"], true),
        case(b"*1\r\n$01\r\nX\r\n", &["-ERR Protocol error: invalid bulk length"], true),
        case(b"*1\r\n$ 4\r\nPING\r\n", &["-ERR Protocol error: invalid bulk length"], true),
        // proto-max-bulk-len defaults to 512mb.
        case(b"*1\r\n$536870913\r\n", &["-ERR Protocol error: invalid bulk length"], true),
        case(b"set \"foo\r\n", &["-ERR Protocol error: unbalanced quotes in request"], true),
        case(b"set 'foo\r\n", &["-ERR Protocol error: unbalanced quotes in request"], true),
        // A closing quote must be followed by a space or the end.
        case(b"set \"foo\"bar\r\n", &["-ERR Protocol error: unbalanced quotes in request"], true),
        // Commands before the bad one are answered first.
        case(b"*1\r\n$4\r\nPING\r\n*abc\r\n", &[PONG, "-ERR Protocol error: invalid multibulk length"], true),
        case(b"PING\r\nset \"x\r\n", &[PONG, "-ERR Protocol error: unbalanced quotes in request"], true),
        // Counts of zero or below are skipped, not errors.
        case(b"*0\r\nPING\r\n", &[PONG], false),
        case(b"*-1\r\nPING\r\n", &[PONG], false),
        case(b"*-5\r\nPING\r\n", &[PONG], false),
        // Empty and blank inline lines are ignored.
        case(b"\r\n\r\nPING\r\n", &[PONG], false),
        case(b"\n\nPING\n", &[PONG], false),
        case(b"   \r\nPING\r\n", &[PONG], false),
        // The two bytes after a bulk payload are skipped, not checked.
        case(b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n", &[PONG, PONG], false),
        // A stray empty line after a multibulk is an empty inline command.
        case(b"*1\r\n$4\r\nPING\r\n\r\n", &[PONG], false),
        case(b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", &["$"], false),
        // Inline escapes as sdssplitargs.
        case(b"ECHO \"a\\x41\"\r\n", &["$aA"], false),
        case(b"ECHO \"a\\x4\"\r\n", &["$ax4"], false),
        case(b"ECHO \"a\\q\"\r\n", &["$aq"], false),
        case(b"ECHO 'a\\'b'\r\n", &["$a'b"], false),
        case(b"ECHO \"\\n\\r\\t\\b\\a\"\r\n", &["$\n\r\t\x08\x07"], false),
        // After a closing quote any C isspace() byte ends the argument,
        // vertical tab and form feed included.
        case(b"ECHO \"a\"\x0b\r\n", &["$a"], false),
        case(b"ECHO 'a'\x0b\r\n", &["$a"], false),
        case(b"ECHO \"a\"\x0c\r\n", &["$a"], false),
        case(b"\x0bPING\r\n", &[PONG], false),
        // Redis looks for the inline newline with strchr(): a NUL byte hides
        // it, so the line is never complete (until the 64 KiB limit).
        case(b"ECHO a\x00b\r\n", &[], false),
        case(b"\x00PING\r\nPING\r\n", &[], false),
        // Half a request: nothing yet, connection stays open.
        case(b"*3\r\n", &[], false),
        case(b"*2\r\n$4\r\nECHO\r\n$10\r\nabc", &[], false),
    ];
    let big_inline = vec![b'a'; 65 * 1024];
    v.push(case(&big_inline, &["-ERR Protocol error: too big inline request"], true));
    let mut after_ping = b"PING\r\n".to_vec();
    after_ping.extend_from_slice(&big_inline);
    v.push(case(&after_ping, &[PONG, "-ERR Protocol error: too big inline request"], true));
    let mut mbulk = b"*".to_vec();
    mbulk.extend(std::iter::repeat_n(b'1', 65 * 1024));
    v.push(case(&mbulk, &["-ERR Protocol error: too big mbulk count string"], true));
    let mut bulk = b"*1\r\n$".to_vec();
    bulk.extend(std::iter::repeat_n(b'1', 65 * 1024));
    v.push(case(&bulk, &["-ERR Protocol error: too big bulk count string"], true));
    for c in v.iter_mut() {
        c.only_62 = ONLY_62.iter().any(|s| s.as_bytes() == &c.input[..]);
    }
    v
}

fn render(r: &Reply) -> String {
    match r {
        Reply::Status(s) => format!("+{}", s),
        Reply::Error(s) => format!("-{}", s),
        Reply::Int(n) => format!(":{}", n),
        Reply::Bulk(Some(b)) => format!("${}", String::from_utf8_lossy(b)),
        other => format!("{:?}", other),
    }
}

fn show(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(40)]).into_owned();
    if b.len() > 40 {
        format!("{:?}... ({} bytes)", s, b.len())
    } else {
        format!("{:?}", s)
    }
}

/// Runs every case on `srv`; returns the failures as text.
fn run_cases(srv: &Server, cases: &[Case]) -> Vec<String> {
    let mut fails = Vec::new();
    for c in cases {
        if c.only_62 && srv.kind() == common::Kind::Reference {
            continue;
        }
        let mut conn = srv.conn();
        if let Err(e) = conn.send_raw(&c.input) {
            fails.push(format!("{}: send failed: {}", show(&c.input), e));
            continue;
        }
        let mut got = Vec::new();
        for _ in 0..c.replies.len() {
            match conn.read_reply_timeout(Duration::from_secs(5)) {
                Ok(r) => got.push(render(&r)),
                Err(e) => {
                    got.push(format!("<{}>", e));
                    break;
                }
            }
        }
        if got != c.replies {
            fails.push(format!("{}: expected {:?}, got {:?}", show(&c.input), c.replies, got));
            continue;
        }
        let (extra, closed) = conn.drain_within(Duration::from_millis(if c.closed { 3000 } else { 200 }));
        if !extra.is_empty() {
            fails.push(format!("{}: unexpected extra output {}", show(&c.input), show(&extra)));
            continue;
        }
        if closed != c.closed {
            fails.push(format!(
                "{}: connection {} after the replies",
                show(&c.input),
                if closed { "closed" } else { "left open" }
            ));
        }
    }
    fails
}

#[test]
fn malformed_requests_get_redis_errors_and_close() {
    let cases = malformed_cases();
    let ox = Server::start(&[]);
    let fails = run_cases(&ox, &cases);
    // The server survives all of it.
    assert_eq!(ox.conn().q("PING"), Reply::Status("PONG".into()));
    assert!(fails.is_empty(), "oxredis protocol failures:\n{}", fails.join("\n"));
}

#[test]
fn malformed_cases_match_reference() {
    // Guards the expectations themselves: the reference must agree with every
    // case shared by 6.2 and 7.0.
    let Some(r) = common::reference_or_skip(&[]) else { return };
    let fails = run_cases(&r, &malformed_cases());
    assert!(fails.is_empty(), "reference disagrees with the expected table:\n{}", fails.join("\n"));
}

#[test]
fn bulk_longer_than_proto_max_bulk_len() {
    let ox = Server::start(&["--proto-max-bulk-len", "1mb"]);
    let mut c = ox.conn();
    // Exactly the limit is fine (only the header is sent; the server waits).
    c.send_raw(b"*2\r\n$4\r\nECHO\r\n$1048576\r\n").unwrap();
    assert!(!c.closed_within(Duration::from_millis(200)));
    let mut c = ox.conn();
    c.send_raw(b"*2\r\n$4\r\nECHO\r\n$1048577\r\n").unwrap();
    assert_eq!(c.read_reply().unwrap(), Reply::err("ERR Protocol error: invalid bulk length"));
    assert!(c.closed_within(Duration::from_secs(3)));
    // CONFIG SET changes the limit for new requests.
    let mut a = ox.conn();
    assert_eq!(a.q("CONFIG SET proto-max-bulk-len 2mb"), Reply::ok());
    let mut c = ox.conn();
    c.send_raw(b"*2\r\n$4\r\nECHO\r\n$1048577\r\n").unwrap();
    assert!(!c.closed_within(Duration::from_millis(200)));
}

#[test]
fn query_buffer_limit_closes_without_reply() {
    let ox = Server::start(&["--client-query-buffer-limit", "1mb"]);
    let mut c = ox.conn();
    let mut req = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3000000\r\n".to_vec();
    req.extend(std::iter::repeat_n(b'x', 1_600_000));
    // The server may close while we are still writing.
    let _ = c.send_raw(&req);
    match c.read_reply_timeout(Duration::from_secs(5)) {
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof || e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("expected the connection to be closed with no reply, got {:?}", other),
    }
    assert!(ox.wait_log("Closing client that reached max query buffer length", Duration::from_secs(3)), "log:\n{}", ox.log_text());
    let mut d = ox.conn();
    assert_eq!(d.q("EXISTS k"), Reply::Int(0));
    assert_eq!(d.q("PING"), Reply::Status("PONG".into()));
}

#[test]
fn pipelining_many_commands_in_one_write() {
    let ox = Server::start(&[]);
    let mut c = ox.conn();
    let n = 5000;
    let mut buf = Vec::new();
    for i in 0..n {
        buf.extend_from_slice(&Conn::encode(&["INCR", "counter"]));
        if i % 3 == 0 {
            buf.extend_from_slice(format!("ECHO inline{}\r\n", i).as_bytes());
        }
    }
    c.send_raw(&buf).unwrap();
    for i in 0..n {
        assert_eq!(c.read_reply().unwrap(), Reply::Int(i as i64 + 1));
        if i % 3 == 0 {
            assert_eq!(c.read_reply().unwrap(), Reply::bulk(&format!("inline{}", i)));
        }
    }
    assert_eq!(c.q("GET counter"), Reply::bulk(&n.to_string()));
}

#[test]
fn requests_split_at_every_byte() {
    let ox = Server::start(&[]);
    let mut c = ox.conn();
    let reqs: Vec<(Vec<u8>, Reply)> = vec![
        (Conn::encode(&["SET", "key", "value"]), Reply::ok()),
        (Conn::encode(&["ECHO", "hello\r\nworld"]), Reply::bulk("hello\r\nworld")),
        (b"ECHO \"in line\" x\r\n".to_vec(), Reply::err("ERR wrong number of arguments for 'echo' command")),
        (b"GET key\r\n".to_vec(), Reply::bulk("value")),
        (b"ECHO 'quoted text'\n".to_vec(), Reply::bulk("quoted text")),
    ];
    for (req, want) in &reqs {
        for split in 1..req.len() {
            c.send_raw(&req[..split]).unwrap();
            // Give the server a chance to read the first part on its own.
            std::thread::sleep(Duration::from_millis(2));
            c.send_raw(&req[split..]).unwrap();
            let got = c.read_reply().unwrap();
            assert_eq!(&got, want, "request {} split at {}", show(req), split);
        }
    }
    // And one byte per write.
    let req = Conn::encode(&["SET", "k2", "dripped"]);
    for b in &req {
        c.send_raw(&[*b]).unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(c.read_reply().unwrap(), Reply::ok());
    assert_eq!(c.q("GET k2"), Reply::bulk("dripped"));
}

#[test]
fn inline_commands() {
    let ox = Server::start(&[]);
    let mut c = ox.conn();
    c.send_raw(b"SET \"a key\" 'a value'\r\nGET \"a key\"\r\nEXISTS a\r\nPING\r\nping hi\r\n").unwrap();
    assert_eq!(c.read_reply().unwrap(), Reply::ok());
    assert_eq!(c.read_reply().unwrap(), Reply::bulk("a value"));
    assert_eq!(c.read_reply().unwrap(), Reply::Int(0));
    assert_eq!(c.read_reply().unwrap(), Reply::Status("PONG".into()));
    assert_eq!(c.read_reply().unwrap(), Reply::bulk("hi"));
    // A line ending with \n only works too, and tabs separate arguments.
    c.send_raw(b"ECHO\tx\n").unwrap();
    assert_eq!(c.read_reply().unwrap(), Reply::bulk("x"));
    // A binary-safe argument via \x escapes.
    c.send_raw(b"SET bin \"\\x00\\xff\"\r\nSTRLEN bin\r\n").unwrap();
    assert_eq!(c.read_reply().unwrap(), Reply::ok());
    assert_eq!(c.read_reply().unwrap(), Reply::Int(2));
    // Unknown inline command reports its name like a multibulk one.
    c.send_raw(b"NOSUCH a b\r\n").unwrap();
    let r = c.read_reply().unwrap();
    assert!(r.text().starts_with("ERR unknown command"), "{:?}", r);
}

#[test]
fn empty_lines_and_zero_counts_are_ignored_between_commands() {
    let ox = Server::start(&[]);
    let mut c = ox.conn();
    let mut buf = Vec::new();
    for _ in 0..100 {
        buf.extend_from_slice(b"\r\n*0\r\n\n*-1\r\n");
        buf.extend_from_slice(&Conn::encode(&["INCR", "n"]));
    }
    c.send_raw(&buf).unwrap();
    for i in 1..=100 {
        assert_eq!(c.read_reply().unwrap(), Reply::Int(i));
    }
    // Nothing more is pending: the next reply is PING's.
    assert_eq!(c.q("PING"), Reply::Status("PONG".into()));
}

#[test]
fn big_argument_in_many_pieces() {
    let ox = Server::start(&[]);
    let mut c = ox.conn();
    let val: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let req = Conn::encode(&[&b"SET"[..], b"big", &val]);
    for chunk in req.chunks(65_536) {
        c.send_raw(chunk).unwrap();
    }
    assert_eq!(c.read_reply().unwrap(), Reply::ok());
    assert_eq!(c.q("STRLEN big"), Reply::Int(val.len() as i64));
    assert_eq!(c.cmd(&["GET", "big"]), Reply::Bulk(Some(val)));
}

/// A client that sends a request and closes (or half-closes) right away is
/// answered and then freed: the EOF that arrives together with the data
/// must not be missed.
#[test]
fn client_closing_right_after_request_is_freed() {
    use std::io::{Read, Write};
    let ox = Server::start(&[]);
    for req in [&b"PING\r\n"[..], b"*1\r\n$4\r\nPING\r\n", b"SET k v\r\nGET k\r\n"] {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", ox.port)).unwrap_or_else(|e| panic!("{}", e));
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap_or_else(|e| panic!("{}", e));
        s.write_all(req).unwrap_or_else(|e| panic!("{}", e));
        s.shutdown(std::net::Shutdown::Write).unwrap_or_else(|e| panic!("{}", e));
        let mut out = Vec::new();
        let r = s.read_to_end(&mut out);
        assert!(r.is_ok(), "{}: server did not close after the client's EOF ({:?}); got {:?}", show(req), r, String::from_utf8_lossy(&out));
        assert!(out.starts_with(b"+") || out.starts_with(b"$"), "{:?}", String::from_utf8_lossy(&out));
    }
    // Fully closed clients are gone from the server too.
    for _ in 0..20 {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", ox.port)).unwrap_or_else(|e| panic!("{}", e));
        let _ = s.write_all(b"PING\r\n");
        drop(s);
    }
    let mut c = ox.conn();
    let mut clients = String::new();
    for _ in 0..100 {
        clients = c.q("INFO clients").text();
        if clients.contains("connected_clients:1\r\n") {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("closed clients still connected after 5 s:\n{}\n{}", clients, c.q("CLIENT LIST").text());
}
