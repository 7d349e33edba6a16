//! Generic key commands (mirrors db.c's commands and expire.c's).
//!
//! DEL, UNLINK, EXISTS, TYPE, KEYS, RANDOMKEY, RENAME, RENAMENX, MOVE,
//! COPY, SWAPDB, FLUSHDB, FLUSHALL, TOUCH, OBJECT, and the EXPIRE/TTL
//! family. Relative expires become absolute unix-ms times here; an expire
//! already in the past deletes the key, as Redis does.

use super::{arg_is, reply_help, reply_subcommand_syntax_error, reply_syntax_error, CommandDef};
use crate::client::Client;
use crate::config::NOTIFY_GENERIC;
use crate::server::Server;
use crate::util::{string2ll, string_match};

macro_rules! cmd {
    ($name:expr, $proc:expr, $arity:expr, $flags:expr, $f:expr, $l:expr, $s:expr) => {
        CommandDef { name: $name, proc_: $proc, arity: $arity, sflags: $flags, firstkey: $f, lastkey: $l, keystep: $s }
    };
}

pub static COMMANDS: &[CommandDef] = &[
    cmd!("del", del_command, -2, "write @keyspace", 1, -1, 1),
    cmd!("unlink", unlink_command, -2, "write fast @keyspace", 1, -1, 1),
    cmd!("exists", exists_command, -2, "read-only fast @keyspace", 1, -1, 1),
    cmd!("type", type_command, 2, "read-only fast @keyspace", 1, 1, 1),
    cmd!("keys", keys_command, 2, "read-only sort_for_script @keyspace @dangerous", 0, 0, 0),
    cmd!("randomkey", randomkey_command, 1, "read-only random @keyspace", 0, 0, 0),
    cmd!("scan", scan_command, -2, "read-only random @keyspace", 0, 0, 0),
    cmd!("rename", rename_command, 3, "write @keyspace", 1, 2, 1),
    cmd!("renamenx", renamenx_command, 3, "write fast @keyspace", 1, 2, 1),
    cmd!("move", move_command, 3, "write fast @keyspace", 1, 1, 1),
    cmd!("copy", copy_command, -3, "write use-memory @keyspace", 1, 2, 1),
    cmd!("swapdb", swapdb_command, 3, "write fast @keyspace @dangerous", 0, 0, 0),
    cmd!("flushdb", flushdb_command, -1, "write @keyspace @dangerous", 0, 0, 0),
    cmd!("flushall", flushall_command, -1, "write @keyspace @dangerous", 0, 0, 0),
    cmd!("touch", touch_command, -2, "read-only fast @keyspace", 1, -1, 1),
    cmd!("object", object_command, -2, "read-only random @keyspace", 2, 2, 1),
    cmd!("expire", expire_command, 3, "write fast @keyspace", 1, 1, 1),
    cmd!("pexpire", pexpire_command, 3, "write fast @keyspace", 1, 1, 1),
    cmd!("expireat", expireat_command, 3, "write fast @keyspace", 1, 1, 1),
    cmd!("pexpireat", pexpireat_command, 3, "write fast @keyspace", 1, 1, 1),
    cmd!("ttl", ttl_command, 2, "read-only fast random @keyspace", 1, 1, 1),
    cmd!("pttl", pttl_command, 2, "read-only fast random @keyspace", 1, 1, 1),
    cmd!("persist", persist_command, 2, "write fast @keyspace", 1, 1, 1),
];

/// DEL and UNLINK (`delGenericCommand`): UNLINK, and DEL under
/// `lazyfree-lazy-user-del`, free big values in the background.
fn del_generic(s: &mut Server, c: &mut Client, lazy: bool) {
    let mut deleted = 0;
    for j in 1..c.argv.len() {
        let key = c.argv.get(j);
        s.expire_if_needed(c.db, key);
        if s.db_generic_delete(c.db, key, lazy) {
            s.signal_modified_key(c.db, key);
            s.notify_keyspace_event(NOTIFY_GENERIC, "del", key, c.db);
            deleted += 1;
        }
    }
    s.dirty += deleted;
    c.add_reply_long_long(deleted as i64);
}

/// DEL key [key ...]
pub fn del_command(s: &mut Server, c: &mut Client) {
    let lazy = s.config.lazyfree_lazy_user_del;
    del_generic(s, c, lazy);
}

/// UNLINK key [key ...]: as DEL, but big values are freed by the lazyfree
/// thread (see lazyfree.rs).
pub fn unlink_command(s: &mut Server, c: &mut Client) {
    del_generic(s, c, true);
}

/// EXISTS key [key ...]: counts repeated keys each time. A read without
/// touching the key (`LOOKUP_NOTOUCH`): misses are counted and notified.
pub fn exists_command(s: &mut Server, c: &mut Client) {
    let mut n = 0;
    for j in 1..c.argv.len() {
        if s.lookup_key_read_notouch(c.db, c.argv.get(j)).is_some() {
            n += 1;
        }
    }
    c.add_reply_long_long(n);
}

/// TOUCH key [key ...]: a read of each key (`lookupKeyRead`).
pub fn touch_command(s: &mut Server, c: &mut Client) {
    let mut n = 0;
    for j in 1..c.argv.len() {
        if s.lookup_key_read(c.db, c.argv.get(j)).is_some() {
            n += 1;
        }
    }
    c.add_reply_long_long(n);
}

/// TYPE key
pub fn type_command(s: &mut Server, c: &mut Client) {
    let t = match s.lookup_key_read_notouch(c.db, c.argv.get(1)) {
        Some(v) => v.type_name(),
        None => "none",
    };
    c.add_reply_status(t);
}

/// KEYS pattern
pub fn keys_command(s: &mut Server, c: &mut Client) {
    let pattern = c.argv.get(1).to_vec();
    let all = pattern == b"*";
    let db = c.db;
    let now = s.mstime;
    let slot = c.add_reply_deferred_len();
    let mut n = 0;
    let d = &s.dbs[db];
    for k in d.dict.keys() {
        if (all || string_match(&pattern, k, false)) && d.get_expire(k).map(|w| now <= w).unwrap_or(true) {
            c.add_reply_bulk(k);
            n += 1;
        }
    }
    c.set_deferred_array_len(slot, n);
}

/// RANDOMKEY (`dbRandomKey`): an O(1) random pick; expired picks are
/// deleted and another one drawn.
pub fn randomkey_command(s: &mut Server, c: &mut Client) {
    let db = c.db;
    loop {
        let Some((key, _)) = s.dbs[db].dict.random_entry() else {
            c.add_reply_null();
            return;
        };
        let key = key.clone();
        if s.dbs[db].expires.contains_key(&key) && s.expire_if_needed(db, &key) {
            continue;
        }
        c.add_reply_bulk(&key);
        return;
    }
}

/// A SCAN cursor as Redis parses it (`parseScanCursorOrReply`, i.e.
/// `strtoul`): an optional sign then digits, a negative value wrapping
/// around, nothing else; an empty string is cursor 0.
pub fn parse_scan_cursor(b: &[u8]) -> Option<u64> {
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() {
        return if b.is_empty() { Some(0) } else { None };
    }
    let mut v: u64 = 0;
    for &ch in digits {
        if !ch.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((ch - b'0') as u64)?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// The options of SCAN and its per-type variants after the cursor.
pub struct ScanOpts {
    pub count: usize,
    pub pattern: Option<Vec<u8>>,
    pub type_name: Option<Vec<u8>>,
}

/// Parses `[MATCH pattern] [COUNT count] [TYPE type]` from argument
/// `first` on, replying with Redis's error on failure. TYPE is accepted
/// only when `allow_type` (SCAN, not the per-key variants).
pub fn parse_scan_opts(c: &mut Client, first: usize, allow_type: bool) -> Option<ScanOpts> {
    let mut o = ScanOpts { count: 10, pattern: None, type_name: None };
    let mut j = first;
    while j < c.argv.len() {
        let has_arg = j + 1 < c.argv.len();
        let a = c.argv.get(j);
        if arg_is(a, "count") && has_arg {
            match string2ll(c.argv.get(j + 1)) {
                Some(n) if n >= 1 => o.count = n as usize,
                Some(_) => {
                    reply_syntax_error(c);
                    return None;
                }
                None => {
                    c.add_reply_error("value is not an integer or out of range");
                    return None;
                }
            }
        } else if arg_is(a, "match") && has_arg {
            let p = c.argv.get(j + 1);
            o.pattern = if p == b"*" { None } else { Some(p.to_vec()) };
        } else if allow_type && arg_is(a, "type") && has_arg {
            o.type_name = Some(c.argv.get(j + 1).to_vec());
        } else {
            reply_syntax_error(c);
            return None;
        }
        j += 2;
    }
    Some(o)
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
/// (`scanGenericCommand` over the keyspace).
pub fn scan_command(s: &mut Server, c: &mut Client) {
    let Some(mut cursor) = parse_scan_cursor(c.argv.get(1)) else {
        c.add_reply_error("invalid cursor");
        return;
    };
    let Some(opts) = parse_scan_opts(c, 2, true) else { return };
    let db = c.db;
    let mut keys: Vec<Box<[u8]>> = Vec::with_capacity(opts.count);
    let mut maxiterations = opts.count * 10;
    loop {
        cursor = s.dbs[db].dict.scan(cursor, |k, _| keys.push(k.clone()));
        if cursor == 0 || maxiterations == 0 || keys.len() >= opts.count {
            break;
        }
        maxiterations -= 1;
    }
    let mut out: Vec<Box<[u8]>> = Vec::with_capacity(keys.len());
    for k in keys {
        if let Some(p) = &opts.pattern {
            if !string_match(p, &k, false) {
                continue;
            }
        }
        if let Some(t) = &opts.type_name {
            let matches = match s.dbs[db].dict.get(&k) {
                Some(o) => o.val.type_name().as_bytes().eq_ignore_ascii_case(t),
                None => false,
            };
            if !matches {
                continue;
            }
        }
        if s.expire_if_needed(db, &k) {
            continue;
        }
        out.push(k);
    }
    c.add_reply_array_len(2);
    c.add_reply_bulk(itoa::Buffer::new().format(cursor).as_bytes());
    c.add_reply_array_len(out.len());
    for k in &out {
        c.add_reply_bulk(k);
    }
}

fn rename_generic(s: &mut Server, c: &mut Client, nx: bool) {
    let db = c.db;
    let src = c.argv.get(1).to_vec();
    let dst = c.argv.get(2).to_vec();
    if !s.key_exists(db, &src) {
        c.add_reply_error("no such key");
        return;
    }
    if src == dst {
        if nx {
            c.add_reply_long_long(0);
        } else {
            c.add_reply_ok();
        }
        return;
    }
    if s.key_exists(db, &dst) {
        if nx {
            c.add_reply_long_long(0);
            return;
        }
        s.db_delete(db, &dst);
    }
    let expire = s.dbs[db].get_expire(&src);
    let Some(obj) = s.dbs[db].remove(&src) else {
        c.add_reply_error("no such key");
        return;
    };
    s.signal_modified_key(db, &src);
    s.set_key_obj(db, &dst, obj);
    if let Some(w) = expire {
        s.dbs[db].set_expire(&dst, w);
    }
    s.notify_keyspace_event(NOTIFY_GENERIC, "rename_from", &src, db);
    s.notify_keyspace_event(NOTIFY_GENERIC, "rename_to", &dst, db);
    s.dirty += 1;
    if nx {
        c.add_reply_long_long(1);
    } else {
        c.add_reply_ok();
    }
}

/// RENAME key newkey
pub fn rename_command(s: &mut Server, c: &mut Client) {
    rename_generic(s, c, false);
}

/// RENAMENX key newkey
pub fn renamenx_command(s: &mut Server, c: &mut Client) {
    rename_generic(s, c, true);
}

/// Parses a DB index argument: integer errors and range errors as Redis.
fn parse_db_index(s: &Server, c: &mut Client, arg: usize) -> Option<usize> {
    // getIntFromObjectOrReply: not an integer, then outside C int range.
    let id = match string2ll(c.argv.get(arg)) {
        Some(v) if v >= i32::MIN as i64 && v <= i32::MAX as i64 => v,
        Some(_) => {
            c.add_reply_error("value is out of range, value must between -2147483648 and 2147483647");
            return None;
        }
        None => {
            c.add_reply_error("value is not an integer or out of range");
            return None;
        }
    };
    if id < 0 || id as usize >= s.dbs.len() {
        c.add_reply_error("DB index is out of range");
        return None;
    }
    Some(id as usize)
}

/// MOVE key db
pub fn move_command(s: &mut Server, c: &mut Client) {
    let Some(dst) = parse_db_index(s, c, 2) else { return };
    let src = c.db;
    if src == dst {
        c.add_reply_error("source and destination objects are the same");
        return;
    }
    let key = c.argv.get(1).to_vec();
    if !s.key_exists(src, &key) || s.key_exists(dst, &key) {
        c.add_reply_long_long(0);
        return;
    }
    let expire = s.dbs[src].get_expire(&key);
    let Some(obj) = s.dbs[src].remove(&key) else {
        c.add_reply_long_long(0);
        return;
    };
    s.signal_modified_key(src, &key);
    s.set_key_obj(dst, &key, obj);
    if let Some(w) = expire {
        s.dbs[dst].set_expire(&key, w);
    }
    s.notify_keyspace_event(NOTIFY_GENERIC, "move_from", &key, src);
    s.notify_keyspace_event(NOTIFY_GENERIC, "move_to", &key, dst);
    s.dirty += 1;
    c.add_reply_long_long(1);
}

/// COPY source destination [DB destination-db] [REPLACE]
pub fn copy_command(s: &mut Server, c: &mut Client) {
    let src_db = c.db;
    let mut dst_db = c.db;
    let mut replace = false;
    let mut j = 3;
    while j < c.argv.len() {
        let a = c.argv.get(j);
        if arg_is(a, "replace") {
            replace = true;
        } else if arg_is(a, "db") && j + 1 < c.argv.len() {
            match parse_db_index(s, c, j + 1) {
                Some(d) => dst_db = d,
                None => return,
            }
            j += 1;
        } else {
            reply_syntax_error(c);
            return;
        }
        j += 1;
    }
    let src = c.argv.get(1).to_vec();
    let dst = c.argv.get(2).to_vec();
    if src_db == dst_db && src == dst {
        c.add_reply_error("source and destination objects are the same");
        return;
    }
    let Some(val) = s.lookup_key_write(src_db, &src).cloned() else {
        c.add_reply_long_long(0);
        return;
    };
    let expire = s.dbs[src_db].get_expire(&src);
    if s.key_exists(dst_db, &dst) {
        if !replace {
            c.add_reply_long_long(0);
            return;
        }
        s.db_delete(dst_db, &dst);
    }
    s.set_key(dst_db, &dst, val, false);
    if let Some(w) = expire {
        s.dbs[dst_db].set_expire(&dst, w);
    }
    s.notify_keyspace_event(NOTIFY_GENERIC, "copy_to", &dst, dst_db);
    s.dirty += 1;
    c.add_reply_long_long(1);
}

/// SWAPDB index1 index2
pub fn swapdb_command(s: &mut Server, c: &mut Client) {
    let parse = |c: &Client, i: usize| string2ll(c.argv.get(i)).filter(|v| *v >= i32::MIN as i64 && *v <= i32::MAX as i64);
    let Some(a) = parse(c, 1) else {
        c.add_reply_error("invalid first DB index");
        return;
    };
    let Some(b) = parse(c, 2) else {
        c.add_reply_error("invalid second DB index");
        return;
    };
    let n = s.dbs.len() as i64;
    if a < 0 || a >= n || b < 0 || b >= n {
        c.add_reply_error("DB index is out of range");
        return;
    }
    let (a, b) = (a as usize, b as usize);
    if a != b {
        // Swap the contents; each Db keeps its id.
        // WATCHers stay with their db index: a key that exists on either
        // side changes for them.
        s.touch_all_watched_keys_in_db(a, Some(b));
        s.touch_all_watched_keys_in_db(b, Some(a));
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        let (left, right) = s.dbs.split_at_mut(hi);
        std::mem::swap(&mut left[lo].dict, &mut right[0].dict);
        std::mem::swap(&mut left[lo].expires, &mut right[0].expires);
        std::mem::swap(&mut left[lo].avg_ttl, &mut right[0].avg_ttl);
        // Clients blocked in either db may now find their list.
        s.scan_database_for_ready_keys(a);
        s.scan_database_for_ready_keys(b);
        s.dirty += 1;
    }
    c.add_reply_ok();
}

/// Parses the optional ASYNC|SYNC of FLUSHDB/FLUSHALL
/// (`getFlushCommandFlags`): Some(true) to flush in the background, which
/// is the default under `lazyfree-lazy-user-flush`.
fn flush_flags(s: &Server, c: &mut Client) -> Option<bool> {
    match c.argv.len() {
        1 => Some(s.config.lazyfree_lazy_user_flush),
        2 if arg_is(c.argv.get(1), "sync") => Some(false),
        2 if arg_is(c.argv.get(1), "async") => Some(true),
        _ => {
            reply_syntax_error(c);
            None
        }
    }
}

/// FLUSHDB [ASYNC|SYNC]
pub fn flushdb_command(s: &mut Server, c: &mut Client) {
    let Some(lazy) = flush_flags(s, c) else { return };
    s.signal_flushed_db(c.db as i64);
    let n = s.empty_data(Some(c.db), lazy);
    s.dirty += n as u64;
    c.add_reply_ok();
}

/// FLUSHALL [ASYNC|SYNC]
pub fn flushall_command(s: &mut Server, c: &mut Client) {
    let Some(lazy) = flush_flags(s, c) else { return };
    s.signal_flushed_db(-1);
    let n = s.empty_data(None, lazy);
    s.dirty += n as u64;
    // The empty dataset replaces the last snapshot.
    s.rdb_reset_after_flushall();
    // Redis counts FLUSHALL as at least one change so it is propagated.
    s.dirty += 1;
    c.add_reply_ok();
}

const OBJECT_HELP: &[&str] = &[
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
];

/// OBJECT ENCODING|REFCOUNT|IDLETIME|FREQ|HELP key
pub fn object_command(s: &mut Server, c: &mut Client) {
    let sub = c.argv.get(1).to_ascii_lowercase();
    if c.argv.len() == 2 && sub == b"help" {
        reply_help(c, OBJECT_HELP);
        return;
    }
    if c.argv.len() != 3 {
        reply_subcommand_syntax_error(c);
        return;
    }
    // OBJECT does not count as an access: no touch, no hit/miss stats.
    let db = c.db;
    let lfu = s.lfu_policy();
    let clock = crate::object::lru_clock(s.mstime);
    let (unixtime, decay) = (s.unixtime, s.config.lfu_decay_time);
    let Some(o) = s.lookup_key_notouch(db, c.argv.get(2)) else {
        match sub.as_slice() {
            b"encoding" | b"refcount" | b"idletime" | b"freq" => c.add_reply_null(),
            _ => reply_subcommand_syntax_error(c),
        }
        return;
    };
    match sub.as_slice() {
        b"encoding" => c.add_reply_bulk(o.val.encoding().as_bytes()),
        b"refcount" => c.add_reply_long_long(o.val.refcount()),
        b"idletime" => {
            if lfu {
                c.add_reply_error("An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
                return;
            }
            c.add_reply_long_long((crate::object::estimate_idle_time_ms(o.lru, clock) / 1000) as i64);
        }
        b"freq" => {
            if !lfu {
                c.add_reply_error("An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
                return;
            }
            c.add_reply_long_long(crate::object::lfu_decr_and_return(o.lru, unixtime, decay) as i64);
        }
        _ => reply_subcommand_syntax_error(c),
    }
}

/// EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT (`expireGenericCommand`): `basetime`
/// is added to the argument (0 for the *AT forms); `unit_ms` is false for
/// seconds.
fn expire_generic(s: &mut Server, c: &mut Client, basetime: i64, unit_ms: bool) {
    let Some(mut when) = string2ll(c.argv.get(2)) else {
        c.add_reply_error("value is not an integer or out of range");
        return;
    };
    let name = c.argv.get_str(0).to_ascii_lowercase();
    if !unit_ms {
        match when.checked_mul(1000) {
            Some(w) => when = w,
            None => {
                c.add_reply_error(&format!("invalid expire time in '{}' command", name));
                return;
            }
        }
    }
    match when.checked_add(basetime) {
        Some(w) => when = w,
        None => {
            c.add_reply_error(&format!("invalid expire time in '{}' command", name));
            return;
        }
    }
    let db = c.db;
    let key = c.argv.get(1).to_vec();
    if !s.key_exists(db, &key) {
        c.add_reply_long_long(0);
        return;
    }
    if when <= s.mstime && !s.loading {
        // Already expired: delete now, propagated as DEL (UNLINK when
        // lazyfree-lazy-expire frees it in the background).
        let lazy = s.config.lazyfree_lazy_expire;
        s.db_generic_delete(db, &key, lazy);
        s.signal_modified_key(db, &key);
        s.notify_keyspace_event(NOTIFY_GENERIC, "del", &key, db);
        s.dirty += 1;
        let del: &[u8] = if lazy { b"UNLINK" } else { b"DEL" };
        c.rewritten = Some(crate::proto::Argv::from_slices(&[del, &key]));
        c.add_reply_long_long(1);
        return;
    }
    s.dbs[db].set_expire(&key, when);
    s.signal_modified_key(db, &key);
    s.notify_keyspace_event(NOTIFY_GENERIC, "expire", &key, db);
    s.dirty += 1;
    c.add_reply_long_long(1);
}

/// EXPIRE key seconds
pub fn expire_command(s: &mut Server, c: &mut Client) {
    let now = s.mstime;
    expire_generic(s, c, now, false);
}

/// PEXPIRE key milliseconds
pub fn pexpire_command(s: &mut Server, c: &mut Client) {
    let now = s.mstime;
    expire_generic(s, c, now, true);
}

/// EXPIREAT key timestamp
pub fn expireat_command(s: &mut Server, c: &mut Client) {
    expire_generic(s, c, 0, false);
}

/// PEXPIREAT key ms-timestamp
pub fn pexpireat_command(s: &mut Server, c: &mut Client) {
    expire_generic(s, c, 0, true);
}

fn ttl_generic(s: &mut Server, c: &mut Client, ms: bool) {
    let db = c.db;
    if s.lookup_key_read_notouch(db, c.argv.get(1)).is_none() {
        c.add_reply_long_long(-2);
        return;
    }
    match s.dbs[db].get_expire(c.argv.get(1)) {
        None => c.add_reply_long_long(-1),
        Some(w) => {
            let ttl = (w - s.mstime).max(0);
            c.add_reply_long_long(if ms { ttl } else { (ttl + 500) / 1000 });
        }
    }
}

/// TTL key
pub fn ttl_command(s: &mut Server, c: &mut Client) {
    ttl_generic(s, c, false);
}

/// PTTL key
pub fn pttl_command(s: &mut Server, c: &mut Client) {
    ttl_generic(s, c, true);
}

/// PERSIST key
pub fn persist_command(s: &mut Server, c: &mut Client) {
    let db = c.db;
    if s.lookup_key_write(db, c.argv.get(1)).is_none() {
        c.add_reply_long_long(0);
        return;
    }
    if s.dbs[db].remove_expire(c.argv.get(1)) {
        s.signal_modified_key(db, c.argv.get(1));
        s.notify_keyspace_event(NOTIFY_GENERIC, "persist", c.argv.get(1), db);
        s.dirty += 1;
        c.add_reply_long_long(1);
    } else {
        c.add_reply_long_long(0);
    }
}
