//! List commands (mirrors t_list.c): pushes, pops, ranges, LINSERT, LPOS,
//! LMOVE, and the blocking pops served through blocked.rs.
//!
//! Every list is a quicklist (quicklist.rs) created with the current
//! `list-max-ziplist-size`. A list that becomes empty is deleted at once,
//! so no empty list is ever stored; a blocking pop therefore blocks only on
//! missing keys, and a new list under a key someone waits on is signalled
//! ready by the keyspace (`Server::db_add`).

use crate::blocked::{get_timeout_or_reply, BlockType, BlockingState};
use crate::client::*;
use crate::commands::args::{get_long_or_reply, get_positive_long_or_reply};
use crate::commands::strings::WRONGTYPE;
use crate::commands::CommandDef;
use crate::config::NOTIFY_GENERIC;
use crate::config::NOTIFY_LIST;
use crate::object::Value;
use crate::proto::Argv;
use crate::quicklist::Quicklist;
use crate::server::Server;
use crate::ziplist::{Where, ZlEntry};

macro_rules! cmd {
    ($name:expr, $f:expr, $arity:expr, $flags:expr, $fk:expr, $lk:expr, $ks:expr) => {
        CommandDef { name: $name, proc_: $f, arity: $arity, sflags: $flags, firstkey: $fk, lastkey: $lk, keystep: $ks }
    };
}

pub static COMMANDS: &[CommandDef] = &[
    cmd!("rpush", rpush_command, -3, "write use-memory fast @list", 1, 1, 1),
    cmd!("lpush", lpush_command, -3, "write use-memory fast @list", 1, 1, 1),
    cmd!("rpushx", rpushx_command, -3, "write use-memory fast @list", 1, 1, 1),
    cmd!("lpushx", lpushx_command, -3, "write use-memory fast @list", 1, 1, 1),
    cmd!("linsert", linsert_command, 5, "write use-memory @list", 1, 1, 1),
    cmd!("rpop", rpop_command, -2, "write fast @list", 1, 1, 1),
    cmd!("lpop", lpop_command, -2, "write fast @list", 1, 1, 1),
    cmd!("brpop", brpop_command, -3, "write no-script @list @blocking", 1, -2, 1),
    cmd!("brpoplpush", brpoplpush_command, 4, "write use-memory no-script @list @blocking", 1, 2, 1),
    cmd!("blmove", blmove_command, 6, "write use-memory no-script @list @blocking", 1, 2, 1),
    cmd!("blpop", blpop_command, -3, "write no-script @list @blocking", 1, -2, 1),
    cmd!("llen", llen_command, 2, "read-only fast @list", 1, 1, 1),
    cmd!("lindex", lindex_command, 3, "read-only @list", 1, 1, 1),
    cmd!("lset", lset_command, 4, "write use-memory @list", 1, 1, 1),
    cmd!("lrange", lrange_command, 4, "read-only @list", 1, 1, 1),
    cmd!("ltrim", ltrim_command, 4, "write @list", 1, 1, 1),
    cmd!("lpos", lpos_command, -3, "read-only @list", 1, 1, 1),
    cmd!("lrem", lrem_command, 4, "write @list", 1, 1, 1),
    cmd!("rpoplpush", rpoplpush_command, 3, "write use-memory @list", 1, 2, 1),
    cmd!("lmove", lmove_command, 5, "write use-memory @list", 1, 2, 1),
];

/// `-ERR no such key` (`shared.nokeyerr`).
const NO_SUCH_KEY: &str = "no such key";

/// The error for a bad LPOP/RPOP count, non-integer or negative
/// (`getPositiveLongFromObjectOrReply` with no message of its own).
const POSITIVE_COUNT: &str = "value is out of range, must be positive";

/// `shared.left` / `shared.right`: how a served BLMOVE names its
/// directions in the propagated LMOVE.
fn where_name(w: Where) -> &'static [u8] {
    match w {
        Where::Head => b"left",
        Where::Tail => b"right",
    }
}

fn reply_entry(c: &mut Client, e: ZlEntry<'_>) {
    match e {
        ZlEntry::Str(s) => c.add_reply_bulk(s),
        ZlEntry::Int(v) => c.add_reply_bulk_long_long(v),
    }
}

/// The list at `argv[i]` for reading: Ok(None) if missing, Err after a
/// WRONGTYPE reply.
fn list_read_at<'a>(s: &'a mut Server, c: &mut Client, i: usize) -> Result<Option<&'a Quicklist>, ()> {
    match s.lookup_key_read(c.db, c.argv.get(i)) {
        None => Ok(None),
        Some(Value::List(q)) => Ok(Some(q)),
        Some(_) => {
            c.add_reply_error(WRONGTYPE);
            Err(())
        }
    }
}

/// The list at `key` for writing, as `list_read_at`.
fn list_write<'a>(s: &'a mut Server, c: &mut Client, key: &[u8]) -> Result<Option<&'a mut Quicklist>, ()> {
    match s.lookup_key_write(c.db, key) {
        None => Ok(None),
        Some(Value::List(q)) => Ok(Some(q)),
        Some(_) => {
            c.add_reply_error(WRONGTYPE);
            Err(())
        }
    }
}

/// Checks that `key`, if it exists, holds a list (`checkType`).
fn check_list_or_missing(s: &mut Server, db: usize, key: &[u8]) -> bool {
    !matches!(s.lookup_key_write(db, key), Some(v) if !matches!(v, Value::List(_)))
}

fn new_list(s: &Server) -> Value {
    Value::List(Box::new(Quicklist::new(s.config.list_max_ziplist_size)))
}

/// After elements were removed from the list at `key`: the event, the
/// deletion of an emptied list, the dirty count (`listElementsRemoved`).
fn list_elements_removed(s: &mut Server, db: usize, key: &[u8], where_: Where, count: usize) {
    let event = if where_ == Where::Head { "lpop" } else { "rpop" };
    s.notify_keyspace_event(NOTIFY_LIST, event, key, db);
    if let Some(Value::List(q)) = s.dbs[db].dict.get(key).map(|o| &o.val) {
        if q.is_empty() {
            s.notify_keyspace_event(NOTIFY_GENERIC, "del", key, db);
            s.db_delete(db, key);
        }
    }
    s.signal_modified_key(db, key);
    s.dirty += count as u64;
}

// ---------------------------------------------------------------------------
// Pushes.

fn push_generic(s: &mut Server, c: &mut Client, where_: Where, xx: bool) {
    let db = c.db;
    let key = c.argv.get(1).to_vec();
    let n = c.argv.len() - 2;
    let len = match list_write(s, c, &key) {
        Err(()) => return,
        Ok(Some(q)) => {
            for j in 2..c.argv.len() {
                q.push(c.argv.get(j), where_);
            }
            q.len()
        }
        Ok(None) => {
            if xx {
                c.add_reply_long_long(0);
                return;
            }
            let mut q = Quicklist::new(s.config.list_max_ziplist_size);
            for j in 2..c.argv.len() {
                q.push(c.argv.get(j), where_);
            }
            let len = q.len();
            s.db_add(db, &key, Value::List(Box::new(q)));
            len
        }
    };
    c.add_reply_long_long(len as i64);
    s.signal_modified_key(db, &key);
    let event = if where_ == Where::Head { "lpush" } else { "rpush" };
    s.notify_keyspace_event(NOTIFY_LIST, event, &key, db);
    s.dirty += n as u64;
}

/// LPUSH key element [element ...]
pub fn lpush_command(s: &mut Server, c: &mut Client) {
    push_generic(s, c, Where::Head, false);
}

/// RPUSH key element [element ...]
pub fn rpush_command(s: &mut Server, c: &mut Client) {
    push_generic(s, c, Where::Tail, false);
}

/// LPUSHX key element [element ...]
pub fn lpushx_command(s: &mut Server, c: &mut Client) {
    push_generic(s, c, Where::Head, true);
}

/// RPUSHX key element [element ...]
pub fn rpushx_command(s: &mut Server, c: &mut Client) {
    push_generic(s, c, Where::Tail, true);
}

/// LINSERT key BEFORE|AFTER pivot element
pub fn linsert_command(s: &mut Server, c: &mut Client) {
    let after = if c.argv.get(2).eq_ignore_ascii_case(b"after") {
        true
    } else if c.argv.get(2).eq_ignore_ascii_case(b"before") {
        false
    } else {
        c.add_reply_error("syntax error");
        return;
    };
    let db = c.db;
    let key = c.argv.get(1).to_vec();
    let q = match list_write(s, c, &key) {
        Err(()) => return,
        Ok(None) => {
            c.add_reply_long_long(0);
            return;
        }
        Ok(Some(q)) => q,
    };
    let pivot = c.argv.get(3);
    let mut p = q.index(0);
    let mut found = None;
    while let Some(x) = p {
        if q.get(x).eq_bytes(pivot) {
            found = Some(x);
            break;
        }
        p = q.next(x);
    }
    let Some(x) = found else {
        c.add_reply_long_long(-1);
        return;
    };
    q.insert(x, c.argv.get(4), after);
    let len = q.len();
    s.signal_modified_key(db, &key);
    s.notify_keyspace_event(NOTIFY_LIST, "linsert", &key, db);
    s.dirty += 1;
    c.add_reply_long_long(len as i64);
}

// ---------------------------------------------------------------------------
// Reads.

/// LLEN key
pub fn llen_command(s: &mut Server, c: &mut Client) {
    match list_read_at(s, c, 1) {
        Err(()) => {}
        Ok(None) => c.add_reply_long_long(0),
        Ok(Some(q)) => {
            let n = q.len();
            c.add_reply_long_long(n as i64);
        }
    }
}

/// LINDEX key index
pub fn lindex_command(s: &mut Server, c: &mut Client) {
    let q = match list_read_at(s, c, 1) {
        Err(()) => return,
        Ok(None) => {
            c.add_reply_null();
            return;
        }
        Ok(Some(q)) => q,
    };
    let Some(index) = crate::util::string2ll(c.argv.get(2)) else {
        c.add_reply_error("value is not an integer or out of range");
        return;
    };
    match q.get_at(index) {
        Some(e) => reply_entry(c, e),
        None => c.add_reply_null(),
    }
}

/// Replies the elements `start..=end` of `q` (indexes already clamped),
/// tail to head when `reverse` (`addListRangeReply`).
fn add_list_range_reply(c: &mut Client, q: &Quicklist, start: usize, end: usize, reverse: bool) {
    let n = end - start + 1;
    c.add_reply_array_len(n);
    if reverse {
        let from = q.len() - 1 - end;
        let mut p = q.index(-(from as i64) - 1);
        for _ in 0..n {
            let Some(x) = p else { break };
            reply_entry(c, q.get(x));
            p = q.prev(x);
        }
    } else {
        let mut p = q.index(start as i64);
        for _ in 0..n {
            let Some(x) = p else { break };
            reply_entry(c, q.get(x));
            p = q.next(x);
        }
    }
}

/// Clamps Redis-style start/end indexes against `len`: None for an empty
/// range.
fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let llen = len as i64;
    let mut start = if start < 0 { llen + start } else { start };
    let mut end = if end < 0 { llen + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return None;
    }
    if end >= llen {
        end = llen - 1;
    }
    Some((start as usize, end as usize))
}

/// LRANGE key start stop
pub fn lrange_command(s: &mut Server, c: &mut Client) {
    let Some(start) = get_long_or_reply(c, 2, None) else { return };
    let Some(end) = get_long_or_reply(c, 3, None) else { return };
    let q = match list_read_at(s, c, 1) {
        Err(()) => return,
        Ok(None) => {
            c.add_reply_array_len(0);
            return;
        }
        Ok(Some(q)) => q,
    };
    match clamp_range(start, end, q.len()) {
        None => c.add_reply_array_len(0),
        Some((a, b)) => add_list_range_reply(c, q, a, b, false),
    }
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
pub fn lpos_command(s: &mut Server, c: &mut Client) {
    let mut rank: i64 = 1;
    let mut count: i64 = -1;
    let mut maxlen: i64 = 0;
    let mut j = 3;
    while j < c.argv.len() {
        let opt = c.argv.get(j);
        let more = c.argv.len() - j - 1;
        if opt.eq_ignore_ascii_case(b"rank") && more >= 1 {
            let Some(v) = get_long_or_reply(c, j + 1, None) else { return };
            if v == 0 {
                c.add_reply_error("RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
                return;
            }
            rank = v;
            j += 2;
        } else if opt.eq_ignore_ascii_case(b"count") && more >= 1 {
            let Some(v) = get_positive_long_or_reply(c, j + 1, Some("COUNT can't be negative")) else { return };
            count = v;
            j += 2;
        } else if opt.eq_ignore_ascii_case(b"maxlen") && more >= 1 {
            let Some(v) = get_positive_long_or_reply(c, j + 1, Some("MAXLEN can't be negative")) else { return };
            maxlen = v;
            j += 2;
        } else {
            c.add_reply_error("syntax error");
            return;
        }
    }
    let q = match list_read_at(s, c, 1) {
        Err(()) => return,
        Ok(None) => {
            if count != -1 {
                c.add_reply_array_len(0);
            } else {
                c.add_reply_null();
            }
            return;
        }
        Ok(Some(q)) => q,
    };
    let ele = c.argv.get(2).to_vec();
    let forward = rank > 0;
    // Redis negates the rank in a `long`: i64::MIN stays negative, and
    // every match then satisfies `matches >= rank`, so it counts as a rank
    // of -1 (the first match from the tail).
    let mut rank_left = if rank == i64::MIN { 1 } else { rank.unsigned_abs() };
    let len = q.len() as i64;
    let mut p = if forward { q.index(0) } else { q.index(-1) };
    let mut index: i64 = if forward { 0 } else { len - 1 };
    let mut matches: Vec<i64> = Vec::new();
    let mut scanned: i64 = 0;
    while let Some(x) = p {
        if maxlen != 0 && scanned >= maxlen {
            break;
        }
        if q.get(x).eq_bytes(&ele) {
            if rank_left > 1 {
                rank_left -= 1;
            } else {
                matches.push(index);
                if count != -1 && count != 0 && matches.len() as i64 >= count {
                    break;
                }
                if count == -1 {
                    break;
                }
            }
        }
        scanned += 1;
        if forward {
            index += 1;
            p = q.next(x);
        } else {
            index -= 1;
            p = q.prev(x);
        }
    }
    if count != -1 {
        c.add_reply_array_len(matches.len());
        for m in matches {
            c.add_reply_long_long(m);
        }
    } else {
        match matches.first() {
            Some(&m) => c.add_reply_long_long(m),
            None => c.add_reply_null(),
        }
    }
}

// ---------------------------------------------------------------------------
// Writes in place.

/// LSET key index element
pub fn lset_command(s: &mut Server, c: &mut Client) {
    let db = c.db;
    let key = c.argv.get(1).to_vec();
    // The key is looked up before the index is parsed: a missing key is
    // `no such key` whatever the index says.
    let q = match list_write(s, c, &key) {
        Err(()) => return,
        Ok(None) => {
            c.add_reply_error(NO_SUCH_KEY);
            return;
        }
        Ok(Some(q)) => q,
    };
    let Some(index) = crate::util::string2ll(c.argv.get(2)) else {
        c.add_reply_error("value is not an integer or out of range");
        return;
    };
    if !q.replace_at(index, c.argv.get(3)) {
        c.add_reply_error("index out of range");
        return;
    }
    c.add_reply_ok();
    s.signal_modified_key(db, &key);
    s.notify_keyspace_event(NOTIFY_LIST, "lset", &key, db);
    s.dirty += 1;
}

/// LTRIM key start stop
pub fn ltrim_command(s: &mut Server, c: &mut Client) {
    let Some(start) = get_long_or_reply(c, 2, None) else { return };
    let Some(end) = get_long_or_reply(c, 3, None) else { return };
    let db = c.db;
    let key = c.argv.get(1).to_vec();
    let q = match list_write(s, c, &key) {
        Err(()) => return,
        Ok(None) => {
            c.add_reply_ok();
            return;
        }
        Ok(Some(q)) => q,
    };
    let before = q.len();
    match clamp_range(start, end, before) {
        Some((a, b)) => q.keep_range(a, b),
        None => q.keep_range(1, 0),
    }
    let removed = before - q.len();
    let empty = q.is_empty();
    s.notify_keyspace_event(NOTIFY_LIST, "ltrim", &key, db);
    if empty {
        s.db_delete(db, &key);
        s.notify_keyspace_event(NOTIFY_GENERIC, "del", &key, db);
    }
    s.signal_modified_key(db, &key);
    s.dirty += removed as u64;
    c.add_reply_ok();
}

/// LREM key count element
pub fn lrem_command(s: &mut Server, c: &mut Client) {
    let Some(toremove) = get_long_or_reply(c, 2, None) else { return };
    let db = c.db;
    let key = c.argv.get(1).to_vec();
    let q = match list_write(s, c, &key) {
        Err(()) => return,
        Ok(None) => {
            c.add_reply_long_long(0);
            return;
        }
        Ok(Some(q)) => q,
    };
    let ele = c.argv.get(3);
    let limit = toremove.unsigned_abs();
    let mut removed: u64 = 0;
    if toremove < 0 {
        let mut p = q.index(-1);
        while let Some(x) = p {
            let prev = q.prev(x);
            if q.get(x).eq_bytes(ele) {
                // Positions before `x` in the same node stay valid when
                // `x` is deleted: only what follows moves.
                q.delete(x);
                removed += 1;
                if removed == limit {
                    break;
                }
                // If the node of `x` vanished, `prev` is in an earlier node
                // whose index is unchanged.
            }
            p = prev;
        }
    } else {
        let mut p = q.index(0);
        while let Some(x) = p {
            if q.get(x).eq_bytes(ele) {
                p = q.delete(x);
                removed += 1;
                if limit != 0 && removed == limit {
                    break;
                }
            } else {
                p = q.next(x);
            }
        }
    }
    let empty = q.is_empty();
    if removed > 0 {
        s.notify_keyspace_event(NOTIFY_LIST, "lrem", &key, db);
    }
    if empty {
        s.db_delete(db, &key);
        s.notify_keyspace_event(NOTIFY_GENERIC, "del", &key, db);
    }
    if removed > 0 {
        s.signal_modified_key(db, &key);
        s.dirty += removed;
    }
    c.add_reply_long_long(removed as i64);
}

// ---------------------------------------------------------------------------
// Pops and moves.

fn pop_generic(s: &mut Server, c: &mut Client, where_: Where) {
    if c.argv.len() > 3 {
        let name = if where_ == Where::Head { "lpop" } else { "rpop" };
        c.add_reply_error(&format!("wrong number of arguments for '{}' command", name));
        return;
    }
    let mut count: Option<usize> = None;
    if c.argv.len() == 3 {
        // Redis passes this text for a non-integer too.
        let Some(n) = get_positive_long_or_reply(c, 2, Some(POSITIVE_COUNT)) else { return };
        if n == 0 {
            c.add_reply_null_array();
            return;
        }
        count = Some(n as usize);
    }
    let db = c.db;
    let key = c.argv.get(1).to_vec();
    let q = match list_write(s, c, &key) {
        Err(()) => return,
        Ok(None) => {
            // 6.2 replies a null bulk for a missing key even with a count
            // (7.0 changed it to a null array).
            c.add_reply_null();
            return;
        }
        Ok(Some(q)) => q,
    };
    let popped = match count {
        None => {
            match q.pop(where_) {
                Some(v) => c.add_reply_bulk(&v),
                None => c.add_reply_null(),
            }
            1
        }
        Some(n) => {
            let n = n.min(q.len());
            c.add_reply_array_len(n);
            for _ in 0..n {
                if let Some(v) = q.pop(where_) {
                    c.add_reply_bulk(&v);
                }
            }
            n
        }
    };
    list_elements_removed(s, db, &key, where_, popped);
}

/// LPOP key [count]
pub fn lpop_command(s: &mut Server, c: &mut Client) {
    pop_generic(s, c, Where::Head);
}

/// RPOP key [count]
pub fn rpop_command(s: &mut Server, c: &mut Client) {
    pop_generic(s, c, Where::Tail);
}

fn parse_where(b: &[u8]) -> Option<Where> {
    if b.eq_ignore_ascii_case(b"left") {
        Some(Where::Head)
    } else if b.eq_ignore_ascii_case(b"right") {
        Some(Where::Tail)
    } else {
        None
    }
}

/// Pushes `value` onto the list at `dst` (created if missing), with its
/// event, and replies it (`lmoveHandlePush`). The caller checked the type.
fn lmove_handle_push(s: &mut Server, c: &mut Client, db: usize, dst: &[u8], value: &[u8], whereto: Where) {
    match s.dbs[db].dict.get_mut(dst).map(|o| &mut o.val) {
        Some(Value::List(q)) => q.push(value, whereto),
        _ => {
            let mut v = new_list(s);
            if let Value::List(q) = &mut v {
                q.push(value, whereto);
            }
            s.db_add(db, dst, v);
        }
    }
    s.signal_modified_key(db, dst);
    let event = if whereto == Where::Head { "lpush" } else { "rpush" };
    s.notify_keyspace_event(NOTIFY_LIST, event, dst, db);
    c.add_reply_bulk(value);
}

/// Pops from `src` and pushes onto `dst`; Err after an error reply, Ok(false)
/// if `src` is missing (`lmoveGenericCommand`'s core). The caller replies
/// null for a missing source.
fn lmove_core(s: &mut Server, c: &mut Client, src: &[u8], dst: &[u8], wherefrom: Where, whereto: Where) -> Result<bool, ()> {
    let db = c.db;
    match list_write(s, c, src)? {
        None => return Ok(false),
        Some(q) if q.is_empty() => return Ok(false),
        Some(_) => {}
    }
    if !check_list_or_missing(s, db, dst) {
        c.add_reply_error(WRONGTYPE);
        return Err(());
    }
    let value = match s.dbs[db].dict.get_mut(src).map(|o| &mut o.val) {
        Some(Value::List(q)) => q.pop(wherefrom),
        _ => None,
    };
    let Some(value) = value else { return Ok(false) };
    lmove_handle_push(s, c, db, dst, &value, whereto);
    let event = if wherefrom == Where::Head { "lpop" } else { "rpop" };
    s.notify_keyspace_event(NOTIFY_LIST, event, src, db);
    if let Some(Value::List(q)) = s.dbs[db].dict.get(src).map(|o| &o.val) {
        if q.is_empty() {
            s.db_delete(db, src);
            s.notify_keyspace_event(NOTIFY_GENERIC, "del", src, db);
        }
    }
    s.signal_modified_key(db, src);
    s.dirty += 1;
    Ok(true)
}

fn lmove_generic(s: &mut Server, c: &mut Client, wherefrom: Where, whereto: Where) {
    let src = c.argv.get(1).to_vec();
    let dst = c.argv.get(2).to_vec();
    match lmove_core(s, c, &src, &dst, wherefrom, whereto) {
        Ok(true) | Err(()) => {}
        Ok(false) => c.add_reply_null(),
    }
}

/// RPOPLPUSH source destination
pub fn rpoplpush_command(s: &mut Server, c: &mut Client) {
    lmove_generic(s, c, Where::Tail, Where::Head);
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT
pub fn lmove_command(s: &mut Server, c: &mut Client) {
    let (Some(from), Some(to)) = (parse_where(c.argv.get(3)), parse_where(c.argv.get(4))) else {
        c.add_reply_error("syntax error");
        return;
    };
    lmove_generic(s, c, from, to);
}

/// True if `c` may block: not inside MULTI (where a blocking command
/// behaves as if it timed out at once, `CLIENT_DENY_BLOCKING`).
fn may_block(c: &Client) -> bool {
    c.flags & (CLIENT_MULTI | CLIENT_FAKE) == 0
}

fn blocking_pop_generic(s: &mut Server, c: &mut Client, where_: Where) {
    let last = c.argv.len() - 1;
    let Some(timeout) = get_timeout_or_reply(s, c, last) else { return };
    let db = c.db;
    for j in 1..last {
        let key = c.argv.get(j).to_vec();
        let q = match list_write(s, c, &key) {
            Err(()) => return,
            Ok(None) => continue,
            Ok(Some(q)) => q,
        };
        let Some(v) = q.pop(where_) else { continue };
        c.add_reply_array_len(2);
        c.add_reply_bulk(&key);
        c.add_reply_bulk(&v);
        list_elements_removed(s, db, &key, where_, 1);
        let name: &[u8] = if where_ == Where::Head { b"LPOP" } else { b"RPOP" };
        c.rewritten = Some(Argv::from_slices(&[name, &key]));
        return;
    }
    if !may_block(c) {
        c.add_reply_null_array();
        return;
    }
    let keys: Vec<Box<[u8]>> = (1..last).map(|j| c.argv.get(j).into()).collect();
    let state = BlockingState { wherefrom: Some(where_), ..Default::default() };
    s.block_for_keys(c, BlockType::List, keys, timeout, state);
}

/// BLPOP key [key ...] timeout
pub fn blpop_command(s: &mut Server, c: &mut Client) {
    blocking_pop_generic(s, c, Where::Head);
}

/// BRPOP key [key ...] timeout
pub fn brpop_command(s: &mut Server, c: &mut Client) {
    blocking_pop_generic(s, c, Where::Tail);
}

fn blmove_generic(s: &mut Server, c: &mut Client, wherefrom: Where, whereto: Where, timeout_arg: usize, rpoplpush: bool) {
    let Some(timeout) = get_timeout_or_reply(s, c, timeout_arg) else { return };
    let src = c.argv.get(1).to_vec();
    let dst = c.argv.get(2).to_vec();
    match lmove_core(s, c, &src, &dst, wherefrom, whereto) {
        Err(()) => {}
        Ok(true) => {
            c.rewritten = Some(if rpoplpush {
                Argv::from_slices(&[&b"RPOPLPUSH"[..], &src, &dst])
            } else {
                // Served at once: the client's own direction arguments.
                let (from, to) = (c.argv.get(3).to_vec(), c.argv.get(4).to_vec());
                Argv::from_slices(&[&b"LMOVE"[..], &src, &dst, &from, &to])
            });
        }
        Ok(false) => {
            if !may_block(c) {
                // Unlike BLPOP's null array, a null bulk (`addReplyNull`).
                c.add_reply_null();
                return;
            }
            let state = BlockingState {
                target: Some(dst.into()),
                wherefrom: Some(wherefrom),
                whereto: Some(whereto),
                rpoplpush,
                ..Default::default()
            };
            s.block_for_keys(c, BlockType::List, vec![src.into()], timeout, state);
        }
    }
}

/// BRPOPLPUSH source destination timeout
pub fn brpoplpush_command(s: &mut Server, c: &mut Client) {
    blmove_generic(s, c, Where::Tail, Where::Head, 3, true);
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
pub fn blmove_command(s: &mut Server, c: &mut Client) {
    let (Some(from), Some(to)) = (parse_where(c.argv.get(3)), parse_where(c.argv.get(4))) else {
        c.add_reply_error("syntax error");
        return;
    };
    blmove_generic(s, c, from, to, 5, false);
}

/// Serves one client blocked on the list at `key`, which exists
/// (`serveClientBlockedOnList`): pops, pushes to the BLMOVE target,
/// replies, propagates the non-blocking form. The caller unblocks it.
pub fn serve_blocked_list_client(s: &mut Server, c: &mut Client, db: usize, key: &[u8]) {
    let wherefrom = c.bpop.wherefrom.unwrap_or(Where::Head);
    let target = c.bpop.target.clone();
    if let Some(dst) = &target {
        // A wrong-type destination fails the client and leaves the list as
        // it was.
        if !check_list_or_missing(s, db, dst) {
            c.add_reply_error(WRONGTYPE);
            return;
        }
    }
    let value = match s.dbs[db].dict.get_mut(key).map(|o| &mut o.val) {
        Some(Value::List(q)) => q.pop(wherefrom),
        _ => None,
    };
    let Some(value) = value else { return };
    match target {
        None => {
            let name: &[u8] = if wherefrom == Where::Head { b"LPOP" } else { b"RPOP" };
            s.propagate(db, &Argv::from_slices(&[name, key]));
            c.add_reply_array_len(2);
            c.add_reply_bulk(key);
            c.add_reply_bulk(&value);
            let event = if wherefrom == Where::Head { "lpop" } else { "rpop" };
            s.notify_keyspace_event(NOTIFY_LIST, event, key, db);
        }
        Some(dst) => {
            let whereto = c.bpop.whereto.unwrap_or(Where::Head);
            lmove_handle_push(s, c, db, &dst, &value, whereto);
            let argv = if c.bpop.rpoplpush {
                Argv::from_slices(&[&b"RPOPLPUSH"[..], key, &dst])
            } else {
                Argv::from_slices(&[&b"LMOVE"[..], key, &dst, where_name(wherefrom), where_name(whereto)])
            };
            s.propagate(db, &argv);
            let event = if wherefrom == Where::Head { "lpop" } else { "rpop" };
            s.notify_keyspace_event(NOTIFY_LIST, event, key, db);
        }
    }
    if let Some(Value::List(q)) = s.dbs[db].dict.get(key).map(|o| &o.val) {
        if q.is_empty() {
            s.db_delete(db, key);
            s.notify_keyspace_event(NOTIFY_GENERIC, "del", key, db);
        }
    }
    s.signal_modified_key(db, key);
    s.dirty += 1;
}
