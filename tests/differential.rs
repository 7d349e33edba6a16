//! Differential tests: the same command lists run against oxredis and the
//! reference `redis-server`, every reply compared.
//!
//! The reference installed here is Redis 7.0, whose replies match 6.2 for
//! everything 6.2 has, except the cases in [`SKIP_62`]: for those the
//! oxredis reply is checked against the 6.2 reply written in the table, with
//! the reason, instead of against the reference.
//!
//! Script syntax: one command per line; arguments split on spaces, "double
//! quotes" group (with \r \n \t \\ \" and \xHH escapes). Line prefixes:
//! - `sort:` sort the array reply before comparing (KEYS);
//! - `~` the integer reply is time-dependent (TTL/PTTL): compared within 2 s;
//! - `#` a comment.

mod common;

use common::{Conn, Reply, Server};

/// (command line as written in a script, the Redis 6.2 reply, why 7.0 differs).
const SKIP_62: &[(&str, &str, &str)] = &[
    ("SET k v NX GET", "-ERR syntax error", "7.0 allows NX together with GET"),
    ("SET nx1 v NX GET", "-ERR syntax error", "7.0 allows NX together with GET"),
    ("foo a b", "-ERR unknown command `foo`, with args beginning with: `a`, `b`, ", "7.0 quotes with ' and no trailing comma"),
    ("nosuchcmd", "-ERR unknown command `nosuchcmd`, with args beginning with: ", "7.0 quotes with '"),
    (
        "OBJECT foo k",
        "-ERR Unknown subcommand or wrong number of arguments for 'foo'. Try OBJECT HELP.",
        "7.0 says \"unknown subcommand 'foo'\"",
    ),
    (
        "OBJECT ENCODING",
        "-ERR Unknown subcommand or wrong number of arguments for 'ENCODING'. Try OBJECT HELP.",
        "7.0 reports subcommand arity as 'object|encoding'",
    ),
    (
        "CLIENT foo",
        "-ERR Unknown subcommand or wrong number of arguments for 'foo'. Try CLIENT HELP.",
        "7.0 says \"unknown subcommand 'foo'\"",
    ),
    (
        "CLIENT NO-EVICT on",
        "-ERR Unknown subcommand or wrong number of arguments for 'NO-EVICT'. Try CLIENT HELP.",
        "CLIENT NO-EVICT is 7.0",
    ),
    (
        "CONFIG SET hz abc",
        "-ERR Invalid argument 'abc' for CONFIG SET 'hz' - argument couldn't be parsed into an integer",
        "7.0 CONFIG SET errors are 'CONFIG SET failed (possibly related to argument ...)'",
    ),
    ("CONFIG SET nosuch 1", "-ERR Unsupported CONFIG parameter: nosuch", "7.0: 'Unknown option or number of arguments for CONFIG SET - 'nosuch''"),
    (
        "CONFIG SET hz 10 maxclients 100",
        "-ERR Unknown subcommand or wrong number of arguments for 'SET'. Try CONFIG HELP.",
        "6.2 CONFIG SET takes exactly one pair; any other count falls to the subcommand syntax error; 7.0 takes several pairs",
    ),
    (
        "CONFIG GET",
        "-ERR Unknown subcommand or wrong number of arguments for 'GET'. Try CONFIG HELP.",
        "7.0 reports subcommand arity as 'config|get'",
    ),
    ("EXPIRE k6 100 NX", "-ERR wrong number of arguments for 'expire' command", "EXPIRE NX/XX/GT/LT are 7.0"),
    ("PEXPIRE k6 100 XX", "-ERR wrong number of arguments for 'pexpire' command", "PEXPIRE NX/XX/GT/LT are 7.0"),
    ("EXPIRE s 10 20", "-ERR wrong number of arguments for 'expire' command", "7.0 parses a 4th argument as an option"),
    ("BITCOUNT b 0 -1 BIT", "-ERR syntax error", "BITCOUNT BYTE|BIT is 7.0"),
    ("BITPOS bs 1 0 -1 BIT", "-ERR syntax error", "BITPOS BYTE|BIT is 7.0"),
    ("STRALGO LCS STRINGS ohmytext mynewtext", "$mytext", "STRALGO was removed in 7.0 (LCS replaced it)"),
    ("STRALGO LCS STRINGS ohmytext mynewtext LEN", ":6", "STRALGO was removed in 7.0"),
    (
        "STRALGO LCS STRINGS ohmytext mynewtext IDX MINMATCHLEN 2 WITHMATCHLEN",
        "*[matches, [[[4, 7], [5, 8], 4], [[2, 3], [0, 1], 2]], len, 6]",
        "STRALGO was removed in 7.0",
    ),
    ("STRALGO FOO", "-ERR syntax error", "STRALGO was removed in 7.0"),
    ("SETEX s -10 v", "-ERR invalid expire time in setex", "7.0 quotes the command name"),
    ("PSETEX s -10 v", "-ERR invalid expire time in psetex", "7.0 quotes the command name"),
    ("SET k v EX 0", "-ERR invalid expire time in set", "7.0 quotes the command name"),
    ("SET k v EX -1", "-ERR invalid expire time in set", "7.0 quotes the command name"),
    ("SET k v PX 0", "-ERR invalid expire time in set", "7.0 quotes the command name"),
    ("SET k v EXAT 0", "-ERR invalid expire time in set", "7.0 quotes the command name"),
    ("SETEX k3 0 v", "-ERR invalid expire time in setex", "7.0 quotes the command name"),
    ("GETEX gx EX 0", "-ERR invalid expire time in getex", "7.0 quotes the command name"),
    ("MSET a 1 b", "-ERR wrong number of arguments for MSET", "7.0 uses the generic arity error"),
    ("SET big v EX 9223372036854775807", "-ERR invalid expire time in set", "7.0 quotes the command name"),
    ("GETEX k PERSIST EX 10", "-ERR syntax error", "same text, listed to pin it"),
    (
        "COMMAND INFO get",
        "*[[get, 2, [readonly, fast], 1, 1, 1, [@read, @string, @fast]]]",
        "7.0 COMMAND INFO has 10 fields (tips, key specs, subcommands); 6.2 lists categories in ACL table order",
    ),
    ("COMMAND COUNT", "@", "7.0 has more commands; checked only as an integer"),
];

fn parse_line(line: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let mut cur = Vec::new();
        if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    i += 1;
                    match b[i] {
                        b'n' => cur.push(b'\n'),
                        b'r' => cur.push(b'\r'),
                        b't' => cur.push(b'\t'),
                        b'x' if i + 2 < b.len() => {
                            let h = std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                            cur.push(h.unwrap_or(b'?'));
                            i += 2;
                        }
                        c => cur.push(c),
                    }
                } else {
                    cur.push(b[i]);
                }
                i += 1;
            }
            i += 1;
        } else {
            while i < b.len() && b[i] != b' ' {
                cur.push(b[i]);
                i += 1;
            }
        }
        out.push(cur);
    }
    out
}

fn sorted(r: Reply) -> Reply {
    match r {
        Reply::Array(Some(mut v)) => {
            v.sort_by_key(|x| format!("{:?}", x));
            Reply::Array(Some(v))
        }
        other => other,
    }
}

/// Renders a reply the way SKIP_62 writes 6.2 replies.
fn render(r: &Reply) -> String {
    match r {
        Reply::Status(s) => format!("+{}", s),
        Reply::Error(s) => format!("-{}", s),
        Reply::Int(n) => format!(":{}", n),
        Reply::Bulk(Some(b)) => format!("${}", String::from_utf8_lossy(b)),
        Reply::Bulk(None) => "$nil".into(),
        Reply::Array(Some(v)) => format!("*[{}]", v.iter().map(render_plain).collect::<Vec<_>>().join(", ")),
        Reply::Array(None) => "*nil".into(),
    }
}

fn render_plain(r: &Reply) -> String {
    match r {
        Reply::Status(s) | Reply::Error(s) => s.clone(),
        Reply::Int(n) => n.to_string(),
        Reply::Bulk(Some(b)) => String::from_utf8_lossy(b).into_owned(),
        Reply::Array(Some(v)) => format!("[{}]", v.iter().map(render_plain).collect::<Vec<_>>().join(", ")),
        other => format!("{:?}", other),
    }
}

/// Runs `script` on both servers, returns every mismatch as text.
fn run_script(name: &str, script: &str, ox: &mut Conn, rf: &mut Conn) -> Vec<String> {
    let mut fails = Vec::new();
    for (n, raw) in script.lines().enumerate() {
        let mut line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut sort = false;
        let mut approx = false;
        if let Some(rest) = line.strip_prefix("sort:") {
            sort = true;
            line = rest.trim();
        }
        if let Some(rest) = line.strip_prefix('~') {
            approx = true;
            line = rest.trim();
        }
        let argv = parse_line(line);
        let mut a = ox.cmd(&argv);
        let mut b = rf.cmd(&argv);
        if let Some((_, want, _)) = SKIP_62.iter().find(|(cmd, _, _)| *cmd == line) {
            let got = render(&a);
            let ok = if *want == "@" { matches!(a, Reply::Int(_)) } else { got == *want };
            if !ok {
                fails.push(format!("[{}:{}] {}\n    oxredis:  {}\n    6.2 wants: {}", name, n + 1, line, got, want));
            }
            continue;
        }
        if sort {
            a = sorted(a);
            b = sorted(b);
        }
        let same = match (&a, &b) {
            (Reply::Int(x), Reply::Int(y)) if approx => {
                let tol = if line.to_ascii_uppercase().starts_with("PTTL") { 2000 } else { 2 };
                (x - y).abs() <= tol
            }
            _ => a == b,
        };
        if !same {
            fails.push(format!("[{}:{}] {}\n    oxredis:   {:?}\n    reference: {:?}", name, n + 1, line, a, b));
        }
    }
    fails
}

struct Pair {
    ox: Server,
    rf: Server,
}

fn pair() -> Option<Pair> {
    let rf = common::reference_or_skip(&[])?;
    Some(Pair { ox: Server::start(&[]), rf })
}

fn check(name: &str, script: &str) {
    let Some(p) = pair() else { return };
    let mut a = p.ox.conn();
    let mut b = p.rf.conn();
    let fails = run_script(name, script, &mut a, &mut b);
    assert!(fails.is_empty(), "{} mismatches in {}:\n{}", fails.len(), name, fails.join("\n"));
}

#[test]
fn connection_and_server_commands() {
    check(
        "connection",
        r#"
PING
PING hello
PING a b
ECHO "hello world"
ECHO
SELECT 1
SELECT 16
SELECT x
DBSIZE
SET a 1
DBSIZE
SELECT 0
DBSIZE
FLUSHDB
FLUSHALL
FLUSHALL ASYNC
FLUSHALL SYNC
FLUSHALL x
CLIENT SETNAME myname
CLIENT GETNAME
CLIENT SETNAME "bad name"
CLIENT SETNAME ""
CLIENT GETNAME
CLIENT foo
CLIENT NO-EVICT on
CONFIG GET maxmemory
CONFIG GET hz
CONFIG GET timeout
CONFIG GET databases
CONFIG SET hz 10
CONFIG SET hz abc
CONFIG SET nosuch 1
CONFIG SET hz 10 maxclients 100
CONFIG GET
foo a b
nosuchcmd
GET
SET x
COMMAND INFO get
COMMAND COUNT
LASTSAVE x
SHUTDOWN x y
"#,
    );
}

#[test]
fn string_commands() {
    check(
        "strings",
        r#"
SET k v
GET k
SET k v2 XX
SET nk v XX
GET nk
SET k v3 NX
SET k v4 GET
SET nokey v GET
SET k v NX GET
SET nx1 v NX GET
SET k v EX 0
SET k v EX -1
SET k v PX 0
SET k v EX abc
SET k v EX 10 PX 100
SET k v NX XX
SET k v KEEPTTL EX 10
SET k v FOO
SET big v EX 9223372036854775807
SET k v EX 1000
~TTL k
~PTTL k
SET k v2 KEEPTTL
~TTL k
SET k v3
TTL k
SET k v EXAT 99999999999
SET k v PXAT 99999999999000
SET k v EXAT 0
SETNX k other
SETNX k2 other
GET k2
SETEX k3 100 v
~TTL k3
SETEX k3 0 v
SETEX k3 abc v
PSETEX k4 100000 v
~PTTL k4
GETSET k2 new
GETSET nokey2 new
GETDEL k2
GETDEL k2
GETEX k
SET gx v
GETEX gx EX 100
~TTL gx
GETEX gx PX 100000
~PTTL gx
GETEX gx PERSIST
TTL gx
GETEX gx EXAT 99999999999
GETEX gx EX 0
GETEX gx EX 10 PX 10
GETEX k PERSIST EX 10
GETEX nosuch EX 10
GETEX gx FOO
MSET a 1 b 2 c 3
MSET a 1 b
MGET a b c nosuch
MSETNX a 1 d 4
MSETNX d 4 e 5
MGET d e
STRLEN a
STRLEN nosuch
APPEND a 23
APPEND newkey hello
GET newkey
APPEND newkey " world"
GET newkey
INCR counter
INCR counter
INCRBY counter 10
INCRBY counter abc
DECR counter
DECRBY counter 5
DECRBY counter -9223372036854775808
SET big 9223372036854775807
INCR big
SET small -9223372036854775808
DECR small
SET notnum abc
INCR notnum
SET spaced " 1"
INCR spaced
SET f 10.5
INCRBYFLOAT f 0.1
INCRBYFLOAT f -5
INCRBYFLOAT f 1e3
INCRBYFLOAT f 5.0e3
INCRBYFLOAT f abc
INCRBYFLOAT f inf
INCRBYFLOAT nf 3
INCRBYFLOAT nf 3.0
INCRBYFLOAT nf 0.1
SET f2 1.1
INCRBYFLOAT f2 2.2
SET f3 "1e400"
INCRBYFLOAT f3 1
# A NUL inside the stored value or the increment makes it invalid.
SET fz "1\x00"
INCRBYFLOAT fz 1
SET fz "-31\x00\x00x"
INCRBYFLOAT fz 1
INCRBYFLOAT fz2 "1\x002"
INCRBYFLOAT fz2 "\x00"
SET sr hello
SETRANGE sr 1 ipp
GET sr
SETRANGE sr 10 x
GET sr
SETRANGE sr -1 x
SETRANGE sr 536870912 x
SETRANGE srnew 0 ""
EXISTS srnew
SETRANGE srnew 3 ab
GET srnew
SETRANGE counter 0 9
GETRANGE sr 0 3
GETRANGE sr -3 -1
GETRANGE sr 5 2
GETRANGE sr 0 -100
GETRANGE sr -100 -50
GETRANGE sr 100 200
GETRANGE nosuch 0 -1
GETRANGE sr a b
SUBSTR sr 0 2
SET n 12345
GETRANGE n 1 2
SETRANGE n 0 9
GET n
STRLEN n
STRALGO LCS STRINGS ohmytext mynewtext
STRALGO LCS STRINGS ohmytext mynewtext LEN
STRALGO LCS STRINGS ohmytext mynewtext IDX MINMATCHLEN 2 WITHMATCHLEN
STRALGO FOO
"#,
    );
}

#[test]
fn bit_commands() {
    check(
        "bits",
        r#"
SET b foobar
BITCOUNT b
BITCOUNT b 0 0
BITCOUNT b 1 1
BITCOUNT b -2 -1
BITCOUNT b 5 2
BITCOUNT b 0
BITCOUNT b 0 -1 BIT
BITCOUNT b a b
BITCOUNT nosuch
SETBIT bs 7 1
SETBIT bs 7 0
SETBIT bs 100 1
GETBIT bs 100
GETBIT bs 1000
SETBIT bs -1 1
SETBIT bs 1 2
SETBIT bs 4294967296 1
GET bs
BITPOS bs 1
BITPOS bs 0
BITPOS bs 1 2
BITPOS bs 1 -1
BITPOS bs 1 0 -1 BIT
BITPOS nosuch 0
BITPOS nosuch 1
SET ff "\xff\xff\xff"
BITPOS ff 0
BITPOS ff 0 0 -1
BITPOS ff 2
SET x1 "\x00\xff"
SET x2 "\x0f\x0f\x0f"
BITOP AND dst x1 x2
GET dst
BITOP OR dst x1 x2
GET dst
BITOP XOR dst x1 x2
GET dst
BITOP NOT dst x1
GET dst
BITOP NOT dst x1 x2
BITOP FOO dst x1
BITOP AND dst nosuch1 nosuch2
EXISTS dst
BITFIELD bf SET u8 0 255 GET u8 0 GET i8 0
BITFIELD bf INCRBY u8 0 10 OVERFLOW SAT INCRBY u8 0 300 OVERFLOW FAIL INCRBY u8 0 300
BITFIELD bf SET i64 0 -1 GET u63 1
BITFIELD bf GET u64 0
BITFIELD bf GET i0 0
BITFIELD bf SET u8 #1 5 GET u8 #1
BITFIELD bf SET u8 -1 5
BITFIELD bf OVERFLOW FOO
BITFIELD bf GET
BITFIELD bf INCRBY i5 100 1 GET u4 0
BITFIELD_RO bf GET u8 0
BITFIELD_RO bf SET u8 0 1
BITFIELD nosuch GET u8 0
OBJECT ENCODING bf
# BITPOS clamps both ends to 0 when they are below -len (no BITCOUNT-style
# empty-range shortcut), and looks the key up before parsing the range.
SET b2 -0
BITPOS b2 0 -3 -14
BITPOS b2 1 -16 -20
BITCOUNT b2 -16 -20
BITPOS nosuch 0 abc
BITPOS nosuch 1 0 abc
BITCOUNT nosuch abc 1
BITPOS b2 abc
BITPOS b2 2
"#,
    );
}

#[test]
fn key_commands() {
    check(
        "keys",
        r#"
MSET k1 v1 k2 v2 k3 v3 other x
sort:KEYS *
sort:KEYS k?
sort:KEYS k[12]
sort:KEYS k[^1]*
sort:KEYS nosuch*
KEYS "\\*"
EXISTS k1 k2 nosuch k1
DEL k1 nosuch
DEL k1
UNLINK k2
TYPE k3
TYPE nosuch
TOUCH k3 nosuch other
RENAME k3 k4
GET k4
RENAME nosuch x
RENAME k4 k4
RENAMENX k4 other
RENAMENX k4 k5
EXPIRE k5 100
RENAME k5 k6
~TTL k6
PERSIST k6
PERSIST k6
TTL k6
TTL nosuch
PTTL nosuch
EXPIRE k6 abc
EXPIRE nosuch 10
EXPIRE k6 100 NX
PEXPIRE k6 100 XX
PEXPIRE k6 100000
~PTTL k6
EXPIREAT k6 99999999999
~TTL k6
PEXPIREAT k6 99999999999000
EXPIRE k6 -1
EXISTS k6
SET e v
EXPIREAT e 1
EXISTS e
SET e v
EXPIRE e 9223372036854775807
EXPIRE e 9223372036854775
PEXPIRE e 9223372036854775807
COPY other cp
GET cp
COPY other cp
COPY other cp REPLACE
COPY other cp DB 1
COPY other cp DB 99
COPY other cp DB x
COPY other other
COPY nosuch cp2
COPY other cp FOO
SELECT 1
GET cp
SELECT 0
MOVE cp 1
MOVE cp 1
MOVE other 0
MOVE other 99
MOVE nosuch 1
SET m v
MOVE m 1
SELECT 1
sort:KEYS *
SWAPDB 0 1
sort:KEYS *
SELECT 0
sort:KEYS *
SWAPDB 0 99
SWAPDB 0 x
SWAPDB 0 0
DBSIZE
FLUSHDB
RANDOMKEY
SET only 1
RANDOMKEY
SET s1 12345
OBJECT ENCODING s1
SET s2 hello
OBJECT ENCODING s2
SET s3 "this is a string that is longer than forty four bytes, surely"
OBJECT ENCODING s3
SET s4 "-0"
OBJECT ENCODING s4
SET s5 9223372036854775808
OBJECT ENCODING s5
SET s6 " 12"
OBJECT ENCODING s6
APPEND s1 6
OBJECT ENCODING s1
APPEND s2 x
OBJECT ENCODING s2
SETRANGE s4 0 1
OBJECT ENCODING s4
INCR s6x
OBJECT ENCODING s6x
INCRBYFLOAT fl 1.5
OBJECT ENCODING fl
OBJECT ENCODING nosuch
OBJECT REFCOUNT s1
OBJECT FREQ s1
OBJECT foo k
OBJECT ENCODING
OBJECT HELP
OBJECT IDLETIME nosuch
TYPE s1
"#,
    );
}

#[test]
fn wrong_type_arity_and_syntax_errors() {
    check(
        "errors",
        r#"
SET s v
GET s x
SET
GETRANGE s 0
SETRANGE s 0
INCRBY s
APPEND s
MGET
MSET a
MSETNX
DEL
EXISTS
RENAME s
EXPIRE s
TTL
COPY s
SWAPDB 0
MOVE s
BITOP AND
BITCOUNT
BITPOS s
STRLEN
KEYS
TYPE
TOUCH
OBJECT
GETEX
GETDEL
SETEX s 10
PSETEX s
INCRBYFLOAT s
DECRBY s 1 2
SET s v EX
SET s v PX
SET s v EXAT
SET s v GET GET
SET s v KEEPTTL KEEPTTL
GETEX s EX
GETEX s EX 1 2
SETEX s -10 v
PSETEX s -10 v
EXPIRE s 10 20
"#,
    );
}

/// Populates both servers the same way and compares DEBUG DIGEST and
/// DEBUG DIGEST-VALUE (no TTLs: the digest mixes in absolute expire times).
#[test]
fn debug_digest_matches_after_same_population() {
    let Some(p) = pair() else { return };
    let mut a = p.ox.conn();
    let mut b = p.rf.conn();
    assert_eq!(a.q("DEBUG DIGEST"), b.q("DEBUG DIGEST"), "empty dataset digest");
    let mut rng = common::Rng::new(20240601);
    let mut script = Vec::new();
    for i in 0..300 {
        let k = format!("key:{}", rng.below(120));
        let cmd: Vec<String> = match rng.below(8) {
            0 => vec!["SET".into(), k, format!("value-{}", i)],
            1 => vec!["SET".into(), k, rng.below(100_000).to_string()],
            2 => vec!["APPEND".into(), k, "tail".into()],
            3 => vec!["INCRBY".into(), format!("n:{}", rng.below(20)), rng.below(1000).to_string()],
            4 => vec!["SETRANGE".into(), k, rng.below(50).to_string(), "xyz".into()],
            5 => vec!["SETBIT".into(), format!("bits:{}", rng.below(5)), rng.below(2000).to_string(), "1".into()],
            6 => vec!["DEL".into(), k],
            _ => vec!["INCRBYFLOAT".into(), format!("f:{}", rng.below(10)), "1.25".into()],
        };
        script.push(cmd);
    }
    script.push(vec!["SELECT".into(), "3".into()]);
    script.push(vec!["SET".into(), "in3".into(), "x".into()]);
    script.push(vec!["SELECT".into(), "0".into()]);
    for cmd in &script {
        let ra = a.cmd(cmd);
        let rb = b.cmd(cmd);
        assert_eq!(ra, rb, "populating: {:?}", cmd);
    }
    assert_eq!(a.q("DBSIZE"), b.q("DBSIZE"));
    let da = a.q("DEBUG DIGEST");
    assert_eq!(da, b.q("DEBUG DIGEST"), "DEBUG DIGEST after population");
    assert_ne!(da, Reply::Status("0".repeat(40)), "populated digest must not be the empty one");
    let keys = sorted(a.q("KEYS *")).array();
    let mut cmd: Vec<Vec<u8>> = vec![b"DEBUG".to_vec(), b"DIGEST-VALUE".to_vec()];
    for k in &keys {
        if let Reply::Bulk(Some(k)) = k {
            cmd.push(k.clone());
        }
    }
    cmd.push(b"nosuchkey".to_vec());
    assert_eq!(a.cmd(&cmd), b.cmd(&cmd), "DEBUG DIGEST-VALUE per key");
    // A change to one value changes the digest on both the same way.
    a.q("APPEND key:1 !");
    b.q("APPEND key:1 !");
    let d2 = a.q("DEBUG DIGEST");
    assert_ne!(d2, da);
    assert_eq!(d2, b.q("DEBUG DIGEST"));
}

/// Values chosen to sit on parsing and encoding edges.
const EDGE_VALUES: &[&str] = &[
    "", "0", "-0", "+1", "007", "-1", "123", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
    "12345678901234567890", "3.14", "-0.25", "1e5", "1E5", "1e400", "inf", "-inf", "nan", " 1", "1 ", "0x10", "abc",
    "\u{0}\u{ff}", "10.50", "5.0e3", "0.1", "1.7976931348623157e308", "x", "hello world",
    "a string longer than forty-four bytes for the raw encoding....",
];

fn rand_key(rng: &mut common::Rng) -> String {
    format!("k{}", rng.below(8))
}

fn rand_val(rng: &mut common::Rng) -> String {
    rng.pick(EDGE_VALUES).to_string()
}

fn rand_int(rng: &mut common::Rng) -> String {
    match rng.below(6) {
        0 => rng.pick(&["9223372036854775807", "-9223372036854775808", "abc", "1.5", "", "4294967296"]).to_string(),
        _ => (rng.below(60) as i64 - 20).to_string(),
    }
}

/// One random command over a small key space (strings only, no TTL reads,
/// nothing 7.0-only).
fn random_command(rng: &mut common::Rng) -> Vec<String> {
    let k = rand_key(rng);
    let s = |x: &str| x.to_string();
    match rng.below(30) {
        0 => {
            let mut v = vec![s("SET"), k, rand_val(rng)];
            match rng.below(6) {
                0 => v.push(s("NX")),
                1 => v.push(s("XX")),
                2 => v.push(s("GET")),
                3 => v.push(s("KEEPTTL")),
                4 => {
                    v.push(s("XX"));
                    v.push(s("GET"));
                }
                _ => {}
            }
            v
        }
        1 => vec![s("GET"), k],
        2 => vec![s("APPEND"), k, rand_val(rng)],
        3 => vec![s("SETRANGE"), k, rng.below(70).to_string(), rand_val(rng)],
        4 => vec![s("GETRANGE"), k, rand_int(rng), rand_int(rng)],
        5 => vec![s("STRLEN"), k],
        6 => vec![s("INCR"), k],
        7 => vec![s("INCRBY"), k, rand_int(rng)],
        8 => vec![s("DECRBY"), k, rand_int(rng)],
        9 => vec![s("INCRBYFLOAT"), k, rand_val(rng)],
        10 => vec![s("MSET"), k, rand_val(rng), rand_key(rng), rand_val(rng)],
        11 => vec![s("MGET"), k, rand_key(rng), rand_key(rng)],
        12 => vec![s("SETNX"), k, rand_val(rng)],
        13 => vec![s("GETSET"), k, rand_val(rng)],
        14 => vec![s("GETDEL"), k],
        15 => vec![s("DEL"), k, rand_key(rng)],
        16 => vec![s("EXISTS"), k, rand_key(rng)],
        17 => vec![s("RENAME"), k, rand_key(rng)],
        18 => vec![s("RENAMENX"), k, rand_key(rng)],
        19 => {
            let mut v = vec![s("COPY"), k, rand_key(rng)];
            if rng.below(2) == 0 {
                v.push(s("REPLACE"));
            }
            v
        }
        20 => vec![s("BITCOUNT"), k, rand_int(rng), rand_int(rng)],
        21 => vec![s("BITPOS"), k, rng.pick(&["0", "1", "2"]).to_string(), rand_int(rng), rand_int(rng)],
        22 => vec![s("SETBIT"), k, rng.below(300).to_string(), rng.pick(&["0", "1"]).to_string()],
        23 => vec![s("GETBIT"), k, rng.below(300).to_string()],
        24 => vec![s("BITOP"), rng.pick(&["AND", "OR", "XOR", "NOT"]).to_string(), k, rand_key(rng), rand_key(rng)],
        25 => {
            let ty = format!("{}{}", rng.pick(&["i", "u"]), 1 + rng.below(64));
            let off = if rng.below(3) == 0 { format!("#{}", rng.below(10)) } else { rng.below(200).to_string() };
            let mut v = vec![s("BITFIELD"), k];
            if rng.below(2) == 0 {
                v.push(s("OVERFLOW"));
                v.push(rng.pick(&["WRAP", "SAT", "FAIL"]).to_string());
            }
            match rng.below(3) {
                0 => v.extend([s("GET"), ty, off]),
                1 => v.extend([s("SET"), ty, off, rand_int(rng)]),
                _ => v.extend([s("INCRBY"), ty, off, rand_int(rng)]),
            }
            v
        }
        26 => vec![s("OBJECT"), s("ENCODING"), k],
        27 => vec![s("TYPE"), k],
        28 => vec![s("GETEX"), k, s("PERSIST")],
        _ => vec![s("SUBSTR"), k, rand_int(rng), rand_int(rng)],
    }
}

/// Random command sequences over edge values: every reply compared, then
/// the datasets compared with DEBUG DIGEST.
#[test]
fn random_string_command_sequences() {
    let Some(p) = pair() else { return };
    let mut a = p.ox.conn();
    let mut b = p.rf.conn();
    let seed = std::env::var("OXREDIS_DIFF_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(7u64);
    let mut rng = common::Rng::new(seed);
    let mut history: Vec<String> = Vec::new();
    let mut fails = Vec::new();
    for _ in 0..3000 {
        let cmd = random_command(&mut rng);
        // The key's value before the command, for the report.
        let before = b.cmd(&["GET", cmd[1].as_str()]);
        let ra = a.cmd(&cmd);
        let rb = b.cmd(&cmd);
        let line = cmd.iter().map(|x| format!("{:?}", x)).collect::<Vec<_>>().join(" ");
        if ra != rb {
            fails.push(format!("{}\n    with {} = {:?}\n    oxredis:   {:?}\n    reference: {:?}", line, cmd[1], before, ra, rb));
            if fails.len() >= 40 {
                break;
            }
            // Resynchronise the whole key space so one difference is reported once.
            for i in 0..8 {
                let key = format!("k{}", i);
                // SET on both so the encodings match too.
                let v = b.cmd(&["GET", key.as_str()]);
                a.cmd(&["DEL", key.as_str()]);
                b.cmd(&["DEL", key.as_str()]);
                if let Reply::Bulk(Some(v)) = v {
                    let set = [b"SET".to_vec(), key.as_bytes().to_vec(), v];
                    a.cmd(&set);
                    b.cmd(&set);
                }
            }
        }
        history.push(line);
    }
    assert!(fails.is_empty(), "seed {}: {} mismatches:\n{}", seed, fails.len(), fails.join("\n"));
    assert_eq!(a.q("DEBUG DIGEST"), b.q("DEBUG DIGEST"), "seed {}: datasets differ", seed);
}

/// Replaces unknown-command errors (quoted differently by 6.2 and 7.0) with
/// a placeholder, line by line.
fn normalize_unknown(out: &[u8]) -> Vec<u8> {
    let mut res = Vec::new();
    for line in out.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"-ERR unknown command") {
            res.extend_from_slice(b"-ERR unknown command <normalized>\r\n");
        } else {
            res.extend_from_slice(line);
        }
    }
    res
}

/// Sends `input` on a fresh connection, half-closes, and returns everything
/// the server sends until it closes.
fn stream_output(port: u16, input: &[u8]) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut s = match std::net::TcpStream::connect(("127.0.0.1", port)) {
        Ok(s) => s,
        Err(e) => panic!("connect: {}", e),
    };
    let _ = s.set_read_timeout(Some(std::time::Duration::from_millis(1500)));
    let _ = s.write_all(input);
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut out = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => {
                out.extend_from_slice(b"<timeout or reset>");
                break;
            }
        }
    }
    out
}

fn random_stream(rng: &mut common::Rng) -> Vec<u8> {
    const CMDS: &[&str] = &["PING", "ECHO", "SET", "GET", "DEL", "EXISTS", "STRLEN", "APPEND", "INCR", "GETRANGE", "MGET", "nosuch"];
    const FILLER: &[&[u8]] = &[b"\r\n", b"\n", b"*0\r\n", b"*-1\r\n", b"   \r\n", b"*", b"$3\r\n", b"\r"];
    const ATOMS: &[&[u8]] = &[
        b"\"quoted arg\"", b"'single'", b"\"esc\\x41\\n\"", b"\"bad\\xZZ\"", b"\"unterminated", b"'open", b"\"a\"b",
        b"k1", b"k2", b"12", b"-3", b"", b"\t", b"\x0b", b"\x0c", b"x y",
    ];
    let mut out = Vec::new();
    for _ in 0..1 + rng.below(6) {
        match rng.below(4) {
            0 | 1 => {
                // Multibulk, sometimes lying.
                let mut args: Vec<Vec<u8>> = vec![rng.pick(CMDS).as_bytes().to_vec()];
                for _ in 0..rng.below(4) {
                    args.push(rng.pick(ATOMS).to_vec());
                }
                let count = if rng.below(8) == 0 { rng.below(6) as i64 - 2 } else { args.len() as i64 };
                out.extend_from_slice(format!("*{}\r\n", count).as_bytes());
                for a in &args {
                    let len = if rng.below(12) == 0 { a.len() as i64 + rng.below(3) as i64 - 1 } else { a.len() as i64 };
                    let prefix = if rng.below(30) == 0 { "%" } else { "$" };
                    out.extend_from_slice(format!("{}{}\r\n", prefix, len).as_bytes());
                    out.extend_from_slice(a);
                    out.extend_from_slice(b"\r\n");
                }
            }
            2 => {
                // Inline.
                out.extend_from_slice(rng.pick(CMDS).as_bytes());
                for _ in 0..rng.below(4) {
                    out.push(b' ');
                    let atom: &&[u8] = rng.pick(ATOMS);
                    out.extend_from_slice(atom);
                }
                out.extend_from_slice(if rng.below(3) == 0 { b"\n" } else { b"\r\n" });
            }
            _ => {
                // Blank lines, zero counts, stray bytes.
                let filler: &&[u8] = rng.pick(FILLER);
                out.extend_from_slice(filler);
            }
        }
    }
    out
}

/// Random request streams, each on a fresh connection to both servers:
/// the bytes sent back (replies, errors, the close) must be identical.
#[test]
fn random_protocol_streams() {
    let Some(p) = pair() else { return };
    let seed = std::env::var("OXREDIS_DIFF_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(11u64);
    let mut rng = common::Rng::new(seed);
    let mut fails = Vec::new();
    for i in 0..300 {
        let input = random_stream(&mut rng);
        let a = normalize_unknown(&stream_output(p.ox.port, &input));
        let b = normalize_unknown(&stream_output(p.rf.port, &input));
        if a != b {
            fails.push(format!(
                "#{} input {:?}\n    oxredis:   {:?}\n    reference: {:?}",
                i,
                String::from_utf8_lossy(&input),
                String::from_utf8_lossy(&a),
                String::from_utf8_lossy(&b)
            ));
            if fails.len() >= 5 {
                break;
            }
        }
    }
    assert!(fails.is_empty(), "seed {}: {} streams differ:\n{}", seed, fails.len(), fails.join("\n"));
}
