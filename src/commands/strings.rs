//! String commands (mirrors t_string.c).
//!
//! Values are created with Redis's encoding rules (`RStr::from_bytes`);
//! commands that modify a string in place make it `raw` first, as Redis
//! does. Expire options are parsed once (`parse_expire`) for SET and GETEX.

use super::{arg_is, reply_syntax_error, CommandDef};
use crate::client::Client;
use crate::config::{NOTIFY_GENERIC, NOTIFY_STRING};
use crate::object::{RStr, Value};
use crate::proto::Argv;
use crate::server::Server;
use crate::util::string2ll;

pub const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value";
/// Largest string value (`checkStringLength` in 6.2).
/// `checkStringLength`'s refusal (6.2: the limit is `proto-max-bulk-len`).
const TOO_BIG: &str = "string exceeds maximum allowed size (proto-max-bulk-len)";

/// `string_length_ok` for callers holding a borrow of the keyspace.
fn string_length_ok_parts(limit: i64, flags: u64, size: usize) -> bool {
    flags & crate::client::CLIENT_MASTER != 0 || (size as u64) <= limit as u64
}

/// True if a string of `size` bytes passes `checkStringLength`: at most
/// `proto-max-bulk-len`, except for what the master sends.
fn string_length_ok(s: &Server, c: &Client, size: usize) -> bool {
    c.flags & crate::client::CLIENT_MASTER != 0 || (size as u64) <= s.config.proto_max_bulk_len as u64
}

macro_rules! cmd {
    ($name:expr, $proc:expr, $arity:expr, $flags:expr, $f:expr, $l:expr, $s:expr) => {
        CommandDef { name: $name, proc_: $proc, arity: $arity, sflags: $flags, firstkey: $f, lastkey: $l, keystep: $s }
    };
}

pub static COMMANDS: &[CommandDef] = &[
    cmd!("get", get_command, 2, "read-only fast @string", 1, 1, 1),
    cmd!("set", set_command, -3, "write use-memory @string", 1, 1, 1),
    cmd!("setnx", setnx_command, 3, "write use-memory fast @string", 1, 1, 1),
    cmd!("setex", setex_command, 4, "write use-memory @string", 1, 1, 1),
    cmd!("psetex", psetex_command, 4, "write use-memory @string", 1, 1, 1),
    cmd!("append", append_command, 3, "write use-memory fast @string", 1, 1, 1),
    cmd!("strlen", strlen_command, 2, "read-only fast @string", 1, 1, 1),
    cmd!("getrange", getrange_command, 4, "read-only @string", 1, 1, 1),
    cmd!("substr", getrange_command, 4, "read-only @string", 1, 1, 1),
    cmd!("setrange", setrange_command, 4, "write use-memory @string", 1, 1, 1),
    cmd!("incr", incr_command, 2, "write use-memory fast @string", 1, 1, 1),
    cmd!("decr", decr_command, 2, "write use-memory fast @string", 1, 1, 1),
    cmd!("incrby", incrby_command, 3, "write use-memory fast @string", 1, 1, 1),
    cmd!("decrby", decrby_command, 3, "write use-memory fast @string", 1, 1, 1),
    cmd!("incrbyfloat", incrbyfloat_command, 3, "write use-memory fast @string", 1, 1, 1),
    cmd!("stralgo", stralgo_command, -2, "read-only @string", 0, 0, 0),
    cmd!("mget", mget_command, -2, "read-only fast @string", 1, -1, 1),
    cmd!("mset", mset_command, -3, "write use-memory @string", 1, -1, 2),
    cmd!("msetnx", msetnx_command, -3, "write use-memory @string", 1, -1, 2),
    cmd!("getset", getset_command, 3, "write use-memory fast @string", 1, 1, 1),
    cmd!("getdel", getdel_command, 2, "write fast @string", 1, 1, 1),
    cmd!("getex", getex_command, -2, "write fast @string", 1, 1, 1),
];

/// Replies a string value as a bulk string.
fn reply_rstr(c: &mut Client, s: &RStr) {
    let mut b = itoa::Buffer::new();
    c.add_reply_bulk(s.as_bytes(&mut b));
}

/// Looks up a string for reading: Ok(None) if missing, Err after replying
/// WRONGTYPE (`lookupKeyReadOrReply` + `checkType`).
fn get_string<'a>(s: &'a mut Server, db: usize, key: &[u8]) -> Result<Option<&'a RStr>, ()> {
    match s.lookup_key_read(db, key) {
        None => Ok(None),
        Some(Value::Str(v)) => Ok(Some(v)),
        #[allow(unreachable_patterns)]
        Some(_) => Err(()),
    }
}

/// GET key
pub fn get_command(s: &mut Server, c: &mut Client) {
    match get_string(s, c.db, c.argv.get(1)) {
        Ok(Some(v)) => reply_rstr(c, v),
        Ok(None) => c.add_reply_null(),
        Err(()) => c.add_reply_error(WRONGTYPE),
    }
}

/// Expire options shared by SET and GETEX.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ExpireOpt {
    None,
    Ex,
    Px,
    ExAt,
    PxAt,
    KeepTtl,
    Persist,
}

/// Turns an expire option's argument into an absolute unix-ms time, with
/// Redis's errors (`getExpireMillisecondsOrReply`).
fn expire_to_abs_ms(s: &Server, c: &mut Client, opt: ExpireOpt, arg: usize, cmdname: &str) -> Option<i64> {
    let v = match string2ll(c.argv.get(arg)) {
        Some(v) => v,
        None => {
            c.add_reply_error("value is not an integer or out of range");
            return None;
        }
    };
    let invalid = |c: &mut Client| {
        // 6.2's wording for the SET family (7.0 quotes the name).
        c.add_reply_error(&format!("invalid expire time in {}", cmdname));
        None
    };
    if v <= 0 {
        return invalid(c);
    }
    let ms = match opt {
        ExpireOpt::Ex | ExpireOpt::ExAt => match v.checked_mul(1000) {
            Some(m) => m,
            None => return invalid(c),
        },
        _ => v,
    };
    match opt {
        ExpireOpt::Ex | ExpireOpt::Px => match ms.checked_add(s.mstime) {
            Some(w) => Some(w),
            None => invalid(c),
        },
        _ => Some(ms),
    }
}

/// The expire option an argument names, if any.
fn expire_opt_named(a: &[u8]) -> Option<ExpireOpt> {
    if arg_is(a, "ex") {
        Some(ExpireOpt::Ex)
    } else if arg_is(a, "px") {
        Some(ExpireOpt::Px)
    } else if arg_is(a, "exat") {
        Some(ExpireOpt::ExAt)
    } else if arg_is(a, "pxat") {
        Some(ExpireOpt::PxAt)
    } else {
        None
    }
}

/// SET key value [EX s|PX ms|EXAT ts|PXAT ms-ts|KEEPTTL] [NX|XX] [GET]
pub fn set_command(s: &mut Server, c: &mut Client) {
    let (mut nx, mut xx, mut get) = (false, false, false);
    let mut exp = ExpireOpt::None;
    let mut exp_arg = 0;
    let mut j = 3;
    let argc = c.argv.len();
    while j < argc {
        let a = c.argv.get(j);
        let has_next = j + 1 < argc;
        if arg_is(a, "nx") && !xx {
            nx = true;
        } else if arg_is(a, "xx") && !nx {
            xx = true;
        } else if arg_is(a, "get") {
            get = true;
        } else if arg_is(a, "keepttl") && matches!(exp, ExpireOpt::None | ExpireOpt::KeepTtl) {
            exp = ExpireOpt::KeepTtl;
        } else if let Some(opt) = expire_opt_named(a).filter(|o| has_next && (exp == ExpireOpt::None || exp == *o)) {
            // As in 6.2, an option may repeat (the last value wins) but
            // not be mixed with another expire option.
            exp = opt;
            exp_arg = j + 1;
            j += 1;
        } else {
            reply_syntax_error(c);
            return;
        }
        j += 1;
    }
    // Redis 6.2 refuses GET together with NX.
    if get && nx {
        reply_syntax_error(c);
        return;
    }
    let when = match exp {
        ExpireOpt::Ex | ExpireOpt::Px | ExpireOpt::ExAt | ExpireOpt::PxAt => {
            match expire_to_abs_ms(s, c, exp, exp_arg, "set") {
                Some(w) => Some(w),
                None => return,
            }
        }
        _ => None,
    };
    let db = c.db;
    let key = c.argv.get(1).to_vec();
    // Propagated as `SET k v PX <ms>` (relative forms) or `SET k v PXAT
    // <ms>` (absolute forms), as Redis 6.2 does; without an expire, GET is
    // dropped from the propagated form.
    let rewritten = match (exp, when) {
        (ExpireOpt::Ex | ExpireOpt::Px, Some(w)) => {
            let ms = itoa::Buffer::new().format(w - s.mstime).to_string();
            Some(Argv::from_slices(&[&b"SET"[..], &key, c.argv.get(2), b"PX", ms.as_bytes()]))
        }
        (ExpireOpt::ExAt | ExpireOpt::PxAt, Some(w)) => {
            let ms = itoa::Buffer::new().format(w).to_string();
            Some(Argv::from_slices(&[&b"SET"[..], &key, c.argv.get(2), b"PXAT", ms.as_bytes()]))
        }
        _ if get => {
            let kept: Vec<&[u8]> = c.argv.iter().enumerate().filter(|(i, a)| *i < 3 || !arg_is(a, "get")).map(|(_, a)| a).collect();
            Some(Argv::from_slices(&kept))
        }
        _ => None,
    };
    let old: Option<Option<Vec<u8>>> = if get {
        match get_string(s, db, &key) {
            Ok(v) => Some(v.map(|v| v.to_vec())),
            Err(()) => {
                c.add_reply_error(WRONGTYPE);
                return;
            }
        }
    } else {
        None
    };
    let exists = s.key_exists(db, &key);
    if (nx && exists) || (xx && !exists) {
        if get {
            match old.flatten() {
                Some(v) => c.add_reply_bulk(&v),
                None => c.add_reply_null(),
            }
        } else {
            c.add_reply_null();
        }
        return;
    }
    let val = Value::Str(RStr::from_bytes(c.argv.get(2)));
    s.set_key(db, &key, val, exp == ExpireOpt::KeepTtl);
    s.dirty += 1;
    s.notify_keyspace_event(NOTIFY_STRING, "set", &key, db);
    if let Some(w) = when {
        s.dbs[db].set_expire(&key, w);
        s.notify_keyspace_event(NOTIFY_GENERIC, "expire", &key, db);
    }
    c.rewritten = rewritten;
    match old {
        Some(Some(v)) => c.add_reply_bulk(&v),
        Some(None) => c.add_reply_null(),
        None => c.add_reply_ok(),
    }
}

/// SETNX key value
pub fn setnx_command(s: &mut Server, c: &mut Client) {
    let db = c.db;
    let key = c.argv.get(1);
    if s.key_exists(db, key) {
        c.add_reply_long_long(0);
        return;
    }
    let val = Value::Str(RStr::from_bytes(c.argv.get(2)));
    s.set_key(db, c.argv.get(1), val, false);
    s.dirty += 1;
    s.notify_keyspace_event(NOTIFY_STRING, "set", c.argv.get(1), db);
    c.add_reply_long_long(1);
}

fn setex_generic(s: &mut Server, c: &mut Client, unit_ms: bool, name: &str) {
    let opt = if unit_ms { ExpireOpt::Px } else { ExpireOpt::Ex };
    let Some(when) = expire_to_abs_ms(s, c, opt, 2, name) else { return };
    let db = c.db;
    let val = Value::Str(RStr::from_bytes(c.argv.get(3)));
    s.set_key(db, c.argv.get(1), val, false);
    s.dbs[db].set_expire(c.argv.get(1), when);
    s.dirty += 1;
    s.notify_keyspace_event(NOTIFY_STRING, "set", c.argv.get(1), db);
    s.notify_keyspace_event(NOTIFY_GENERIC, "expire", c.argv.get(1), db);
    c.add_reply_ok();
}

/// SETEX key seconds value
pub fn setex_command(s: &mut Server, c: &mut Client) {
    setex_generic(s, c, false, "setex");
}

/// PSETEX key milliseconds value
pub fn psetex_command(s: &mut Server, c: &mut Client) {
    setex_generic(s, c, true, "psetex");
}

/// APPEND key value
pub fn append_command(s: &mut Server, c: &mut Client) {
    let db = c.db;
    let add = c.argv.get(2);
    let limit = s.config.proto_max_bulk_len;
    let newlen = match s.lookup_key_write(db, c.argv.get(1)) {
        None => {
            let val = Value::Str(RStr::from_bytes(add));
            let n = add.len();
            s.set_key(db, c.argv.get(1), val, false);
            n
        }
        Some(Value::Str(v)) => {
            if !string_length_ok_parts(limit, c.flags, v.len() + add.len()) {
                c.add_reply_error(TOO_BIG);
                return;
            }
            let raw = v.make_raw();
            raw.extend_from_slice(add);
            let n = raw.len();
            s.signal_modified_key(db, c.argv.get(1));
            n
        }
        #[allow(unreachable_patterns)]
        Some(_) => {
            c.add_reply_error(WRONGTYPE);
            return;
        }
    };
    s.dirty += 1;
    s.notify_keyspace_event(NOTIFY_STRING, "append", c.argv.get(1), db);
    c.add_reply_long_long(newlen as i64);
}

/// STRLEN key
pub fn strlen_command(s: &mut Server, c: &mut Client) {
    match get_string(s, c.db, c.argv.get(1)) {
        Ok(Some(v)) => {
            let n = v.len();
            c.add_reply_long_long(n as i64);
        }
        Ok(None) => c.add_reply_long_long(0),
        Err(()) => c.add_reply_error(WRONGTYPE),
    }
}

/// GETRANGE key start end (and SUBSTR)
pub fn getrange_command(s: &mut Server, c: &mut Client) {
    let (Some(mut start), Some(mut end)) = (string2ll(c.argv.get(2)), string2ll(c.argv.get(3))) else {
        c.add_reply_error("value is not an integer or out of range");
        return;
    };
    let v = match get_string(s, c.db, c.argv.get(1)) {
        Ok(Some(v)) => v.to_vec(),
        Ok(None) => {
            c.add_reply(b"$0\r\n\r\n");
            return;
        }
        Err(()) => {
            c.add_reply_error(WRONGTYPE);
            return;
        }
    };
    let len = v.len() as i64;
    // Both negative and start > end: empty, as Redis 6.2 does.
    if start < 0 && end < 0 && start > end {
        c.add_reply(b"$0\r\n\r\n");
        return;
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        c.add_reply(b"$0\r\n\r\n");
        return;
    }
    c.add_reply_bulk(&v[start as usize..=end as usize]);
}

/// SETRANGE key offset value
pub fn setrange_command(s: &mut Server, c: &mut Client) {
    let offset = match string2ll(c.argv.get(2)) {
        Some(o) => o,
        None => {
            c.add_reply_error("value is not an integer or out of range");
            return;
        }
    };
    if offset < 0 {
        c.add_reply_error("offset is out of range");
        return;
    }
    let db = c.db;
    let val = c.argv.get(3);
    let offset = offset as usize;
    let too_big = !string_length_ok(s, c, offset.saturating_add(val.len()));
    match s.lookup_key_write(db, c.argv.get(1)) {
        None => {
            if val.is_empty() {
                c.add_reply_long_long(0);
                return;
            }
            if too_big {
                c.add_reply_error(TOO_BIG);
                return;
            }
            let mut v = vec![0u8; offset + val.len()];
            v[offset..].copy_from_slice(val);
            let n = v.len();
            s.set_key(db, c.argv.get(1), Value::Str(RStr::raw(v)), false);
            s.dirty += 1;
            s.notify_keyspace_event(NOTIFY_STRING, "setrange", c.argv.get(1), db);
            c.add_reply_long_long(n as i64);
        }
        Some(Value::Str(v)) => {
            let cur = v.len();
            if val.is_empty() {
                c.add_reply_long_long(cur as i64);
                return;
            }
            if too_big {
                c.add_reply_error(TOO_BIG);
                return;
            }
            let raw = v.make_raw();
            if raw.len() < offset + val.len() {
                raw.resize(offset + val.len(), 0);
            }
            raw[offset..offset + val.len()].copy_from_slice(val);
            let n = raw.len();
            s.signal_modified_key(db, c.argv.get(1));
            s.dirty += 1;
            s.notify_keyspace_event(NOTIFY_STRING, "setrange", c.argv.get(1), db);
            c.add_reply_long_long(n as i64);
        }
        #[allow(unreachable_patterns)]
        Some(_) => c.add_reply_error(WRONGTYPE),
    }
}

fn incr_generic(s: &mut Server, c: &mut Client, incr: i64) {
    let db = c.db;
    let old = match s.lookup_key_write(db, c.argv.get(1)) {
        None => 0,
        Some(Value::Str(v)) => match v.as_i64() {
            Some(n) => n,
            None => {
                c.add_reply_error("value is not an integer or out of range");
                return;
            }
        },
        #[allow(unreachable_patterns)]
        Some(_) => {
            c.add_reply_error(WRONGTYPE);
            return;
        }
    };
    let Some(new) = old.checked_add(incr) else {
        c.add_reply_error("increment or decrement would overflow");
        return;
    };
    s.set_key(db, c.argv.get(1), Value::Str(RStr::Int(new)), true);
    s.dirty += 1;
    s.notify_keyspace_event(NOTIFY_STRING, "incrby", c.argv.get(1), db);
    c.add_reply_long_long(new);
}

/// INCR key
pub fn incr_command(s: &mut Server, c: &mut Client) {
    incr_generic(s, c, 1);
}

/// DECR key
pub fn decr_command(s: &mut Server, c: &mut Client) {
    incr_generic(s, c, -1);
}

/// INCRBY key increment
pub fn incrby_command(s: &mut Server, c: &mut Client) {
    match string2ll(c.argv.get(2)) {
        Some(n) => incr_generic(s, c, n),
        None => c.add_reply_error("value is not an integer or out of range"),
    }
}

/// DECRBY key decrement
pub fn decrby_command(s: &mut Server, c: &mut Client) {
    match string2ll(c.argv.get(2)) {
        Some(n) if n != i64::MIN => incr_generic(s, c, -n),
        Some(_) => c.add_reply_error("decrement would overflow"),
        None => c.add_reply_error("value is not an integer or out of range"),
    }
}

/// INCRBYFLOAT key increment: long double math, Redis's formatting
/// (see `ld.rs`). Propagated as SET with KEEPTTL by the AOF issue.
pub fn incrbyfloat_command(s: &mut Server, c: &mut Client) {
    let db = c.db;
    let cur = match s.lookup_key_write(db, c.argv.get(1)) {
        None => b"0".to_vec(),
        Some(Value::Str(v)) => v.to_vec(),
        #[allow(unreachable_patterns)]
        Some(_) => {
            c.add_reply_error(WRONGTYPE);
            return;
        }
    };
    let new = match crate::ld::add(&cur, c.argv.get(2)) {
        Ok(v) => v,
        Err(crate::ld::LdError::NanOrInfinity) => {
            c.add_reply_error("increment would produce NaN or Infinity");
            return;
        }
        Err(_) => {
            c.add_reply_error("value is not a valid float");
            return;
        }
    };
    c.add_reply_bulk(&new);
    // Stored as embstr/raw, never int-encoded, as createStringObjectFromLongDouble.
    s.set_key(db, c.argv.get(1), Value::Str(RStr::from_bytes_no_int(&new)), true);
    s.dirty += 1;
    s.notify_keyspace_event(NOTIFY_STRING, "incrbyfloat", c.argv.get(1), db);
    // Replayed as the value it produced, so float rounding cannot drift.
    c.rewritten = Some(Argv::from_slices(&[&b"SET"[..], c.argv.get(1), &new, b"KEEPTTL"]));
}

/// MGET key [key ...]
pub fn mget_command(s: &mut Server, c: &mut Client) {
    let n = c.argv.len() - 1;
    c.add_reply_array_len(n);
    for j in 1..=n {
        match s.lookup_key_read(c.db, c.argv.get(j)) {
            Some(Value::Str(v)) => reply_rstr(c, v),
            // MGET answers nil for keys of other types.
            _ => c.add_reply_null(),
        }
    }
}

fn mset_generic(s: &mut Server, c: &mut Client, nx: bool) {
    if c.argv.len() % 2 == 0 {
        // 6.2 names MSET for both commands here.
        c.add_reply_error("wrong number of arguments for MSET");
        return;
    }
    let db = c.db;
    if nx {
        for j in (1..c.argv.len()).step_by(2) {
            if s.key_exists(db, c.argv.get(j)) {
                c.add_reply_long_long(0);
                return;
            }
        }
    }
    for j in (1..c.argv.len()).step_by(2) {
        let val = Value::Str(RStr::from_bytes(c.argv.get(j + 1)));
        s.set_key(db, c.argv.get(j), val, false);
        s.notify_keyspace_event(NOTIFY_STRING, "set", c.argv.get(j), db);
    }
    s.dirty += ((c.argv.len() - 1) / 2) as u64;
    if nx {
        c.add_reply_long_long(1);
    } else {
        c.add_reply_ok();
    }
}

/// MSET key value [key value ...]
pub fn mset_command(s: &mut Server, c: &mut Client) {
    mset_generic(s, c, false);
}

/// MSETNX key value [key value ...]
pub fn msetnx_command(s: &mut Server, c: &mut Client) {
    mset_generic(s, c, true);
}

/// Replies the current string value (or nil); Err after WRONGTYPE.
fn reply_current(s: &mut Server, c: &mut Client) -> Result<bool, ()> {
    match get_string(s, c.db, c.argv.get(1)) {
        Ok(Some(v)) => {
            let v = v.clone();
            reply_rstr(c, &v);
            Ok(true)
        }
        Ok(None) => {
            c.add_reply_null();
            Ok(false)
        }
        Err(()) => {
            c.add_reply_error(WRONGTYPE);
            Err(())
        }
    }
}

/// GETSET key value
pub fn getset_command(s: &mut Server, c: &mut Client) {
    if reply_current(s, c).is_err() {
        return;
    }
    let val = Value::Str(RStr::from_bytes(c.argv.get(2)));
    s.set_key(c.db, c.argv.get(1), val, false);
    s.dirty += 1;
    s.notify_keyspace_event(NOTIFY_STRING, "set", c.argv.get(1), c.db);
    // Propagated as SET, as Redis 6.2 does.
    c.rewritten = Some(Argv::from_slices(&[&b"SET"[..], c.argv.get(1), c.argv.get(2)]));
}

/// GETDEL key
pub fn getdel_command(s: &mut Server, c: &mut Client) {
    match reply_current(s, c) {
        Ok(true) => {
            // As DEL: lazy, and propagated as UNLINK, under lazyfree-lazy-user-del.
            let lazy = s.config.lazyfree_lazy_user_del;
            s.db_generic_delete(c.db, c.argv.get(1), lazy);
            s.signal_modified_key(c.db, c.argv.get(1));
            s.notify_keyspace_event(NOTIFY_GENERIC, "del", c.argv.get(1), c.db);
            s.dirty += 1;
            let del: &[u8] = if lazy { b"UNLINK" } else { b"DEL" };
            c.rewritten = Some(Argv::from_slices(&[del, c.argv.get(1)]));
        }
        _ => {}
    }
}

/// GETEX key [EX s|PX ms|EXAT ts|PXAT ms-ts|PERSIST]
pub fn getex_command(s: &mut Server, c: &mut Client) {
    let mut exp = ExpireOpt::None;
    let mut exp_arg = 0;
    let argc = c.argv.len();
    let mut j = 2;
    while j < argc {
        let a = c.argv.get(j);
        let has_next = j + 1 < argc;
        if arg_is(a, "persist") && matches!(exp, ExpireOpt::None | ExpireOpt::Persist) {
            exp = ExpireOpt::Persist;
        } else if let Some(opt) = expire_opt_named(a).filter(|o| has_next && (exp == ExpireOpt::None || exp == *o)) {
            exp = opt;
            exp_arg = j + 1;
            j += 1;
        } else {
            reply_syntax_error(c);
            return;
        }
        j += 1;
    }
    // As getexCommand: a missing key answers nil and a wrong type errors
    // before the expire argument is validated.
    let db = c.db;
    let val = match get_string(s, db, c.argv.get(1)) {
        Ok(Some(v)) => v.clone(),
        Ok(None) => {
            c.add_reply_null();
            return;
        }
        Err(()) => {
            c.add_reply_error(WRONGTYPE);
            return;
        }
    };
    let when = match exp {
        ExpireOpt::Ex | ExpireOpt::Px | ExpireOpt::ExAt | ExpireOpt::PxAt => {
            match expire_to_abs_ms(s, c, exp, exp_arg, "getex") {
                Some(w) => Some(w),
                None => return,
            }
        }
        _ => None,
    };
    reply_rstr(c, &val);
    let key = c.argv.get(1);
    // GETEX is never propagated as such: it becomes PEXPIREAT, PERSIST
    // or DEL, so that replaying it does not depend on the time.
    if let Some(w) = when {
        if w <= s.mstime {
            // An expire in the past deletes the key, as Redis does
            // (lazily, and propagated as UNLINK, with lazyfree-lazy-expire).
            let lazy = s.config.lazyfree_lazy_expire;
            s.db_generic_delete(db, key, lazy);
            s.signal_modified_key(db, key);
            s.notify_keyspace_event(NOTIFY_GENERIC, "del", key, db);
            let del: &[u8] = if lazy { b"UNLINK" } else { b"DEL" };
            c.rewritten = Some(Argv::from_slices(&[del, key]));
        } else {
            s.dbs[db].set_expire(key, w);
            s.signal_modified_key(db, key);
            s.notify_keyspace_event(NOTIFY_GENERIC, "expire", key, db);
            let ms = itoa::Buffer::new().format(w).to_string();
            c.rewritten = Some(Argv::from_slices(&[&b"PEXPIREAT"[..], key, ms.as_bytes()]));
        }
        s.dirty += 1;
    } else if exp == ExpireOpt::Persist && s.dbs[db].remove_expire(key) {
        s.signal_modified_key(db, key);
        s.notify_keyspace_event(NOTIFY_GENERIC, "persist", key, db);
        s.dirty += 1;
        c.rewritten = Some(Argv::from_slices(&[&b"PERSIST"[..], key]));
    }
}

/// STRALGO LCS [KEYS k1 k2 | STRINGS a b] [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]
pub fn stralgo_command(s: &mut Server, c: &mut Client) {
    if arg_is(c.argv.get(1), "lcs") {
        stralgo_lcs(s, c);
    } else {
        c.add_reply_error("syntax error");
    }
}

fn stralgo_lcs(s: &mut Server, c: &mut Client) {
    let (mut getlen, mut getidx, mut withmatchlen) = (false, false, false);
    let mut minmatchlen: i64 = 0;
    let mut strings: Option<(Vec<u8>, Vec<u8>)> = None;
    let argc = c.argv.len();
    let mut j = 2;
    while j < argc {
        let a = c.argv.get(j);
        let more = argc - j - 1;
        if arg_is(a, "idx") {
            getidx = true;
        } else if arg_is(a, "len") {
            getlen = true;
        } else if arg_is(a, "withmatchlen") {
            withmatchlen = true;
        } else if arg_is(a, "minmatchlen") && more >= 1 {
            match string2ll(c.argv.get(j + 1)) {
                Some(v) => minmatchlen = v.max(0),
                None => {
                    c.add_reply_error("value is not an integer or out of range");
                    return;
                }
            }
            j += 1;
        } else if arg_is(a, "strings") && more >= 2 {
            if strings.is_some() {
                c.add_reply_error("Either use STRINGS or KEYS");
                return;
            }
            strings = Some((c.argv.get(j + 1).to_vec(), c.argv.get(j + 2).to_vec()));
            j += 2;
        } else if arg_is(a, "keys") && more >= 2 {
            if strings.is_some() {
                c.add_reply_error("Either use STRINGS or KEYS");
                return;
            }
            let db = c.db;
            let mut pair = Vec::with_capacity(2);
            for k in [j + 1, j + 2] {
                match s.lookup_key_read(db, c.argv.get(k)) {
                    None => pair.push(Vec::new()),
                    Some(Value::Str(v)) => pair.push(v.to_vec()),
                    #[allow(unreachable_patterns)]
                    Some(_) => {
                        c.add_reply_error("The specified keys must contain string values");
                        return;
                    }
                }
            }
            let b = pair.pop().unwrap_or_default();
            let a = pair.pop().unwrap_or_default();
            strings = Some((a, b));
            j += 2;
        } else {
            reply_syntax_error(c);
            return;
        }
        j += 1;
    }
    let Some((a, b)) = strings else {
        c.add_reply_error("Please specify two strings: STRINGS or KEYS options are mandatory");
        return;
    };
    if getlen && getidx {
        c.add_reply_error("If you want both the length and indexes, please just use IDX.");
        return;
    }
    lcs_reply(c, &a, &b, getlen, getidx, withmatchlen, minmatchlen as u64);
}

/// The LCS dynamic program and Redis's backwards walk that emits matched
/// ranges from the end of the strings to their start.
fn lcs_reply(c: &mut Client, a: &[u8], b: &[u8], getlen: bool, getidx: bool, withmatchlen: bool, minmatchlen: u64) {
    let (alen, blen) = (a.len(), b.len());
    let cells = (alen as u64 + 1).saturating_mul(blen as u64 + 1);
    if cells >= (u32::MAX as u64) / 4 {
        c.add_reply_error("Insufficient memory, failed allocating transient memory for LCS");
        return;
    }
    let w = blen + 1;
    let mut t = vec![0u32; (alen + 1) * w];
    for i in 1..=alen {
        for jj in 1..=blen {
            t[i * w + jj] = if a[i - 1] == b[jj - 1] {
                t[(i - 1) * w + jj - 1] + 1
            } else {
                t[(i - 1) * w + jj].max(t[i * w + jj - 1])
            };
        }
    }
    let total = t[alen * w + blen];
    let computelcs = getidx || !getlen;
    let mut result = vec![0u8; if computelcs { total as usize } else { 0 }];
    let mut slot = None;
    if getidx {
        c.add_reply_map_len(2);
        c.add_reply_bulk(b"matches");
        slot = c.add_reply_deferred_len();
    }
    let mut matches = 0;
    let (mut i, mut jj, mut idx) = (alen, blen, total as usize);
    let (mut as_, mut ae, mut bs, mut be) = (alen, 0usize, 0usize, 0usize);
    while computelcs && i > 0 && jj > 0 {
        let mut emit = false;
        if a[i - 1] == b[jj - 1] {
            result[idx - 1] = a[i - 1];
            if as_ == alen {
                as_ = i - 1;
                ae = i - 1;
                bs = jj - 1;
                be = jj - 1;
            } else if as_ == i && bs == jj {
                as_ -= 1;
                bs -= 1;
            } else {
                emit = true;
            }
            if as_ == 0 || bs == 0 {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            jj -= 1;
        } else {
            if t[(i - 1) * w + jj] > t[i * w + jj - 1] {
                i -= 1;
            } else {
                jj -= 1;
            }
            if as_ != alen {
                emit = true;
            }
        }
        let match_len = (ae as i64 - as_ as i64 + 1) as u64;
        if emit {
            if (minmatchlen == 0 || match_len >= minmatchlen) && getidx {
                c.add_reply_array_len(2 + withmatchlen as usize);
                c.add_reply_array_len(2);
                c.add_reply_long_long(as_ as i64);
                c.add_reply_long_long(ae as i64);
                c.add_reply_array_len(2);
                c.add_reply_long_long(bs as i64);
                c.add_reply_long_long(be as i64);
                if withmatchlen {
                    c.add_reply_long_long(match_len as i64);
                }
                matches += 1;
            }
            as_ = alen;
        }
    }
    if getidx {
        c.set_deferred_array_len(slot, matches);
        c.add_reply_bulk(b"len");
        c.add_reply_long_long(total as i64);
    } else if getlen {
        c.add_reply_long_long(total as i64);
    } else {
        c.add_reply_bulk(&result);
    }
}
