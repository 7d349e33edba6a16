//! Hash commands (mirrors t_hash.c): HSET and friends, HINCRBY*, HRANDFIELD
//! and HSCAN, over the two encodings of a hash.
//!
//! A hash starts as a ziplist (`Value::HashZl`): field, value, field,
//! value... in one blob, integers encoded by the ziplist itself. It becomes
//! a dict (`Value::HashHt`) for good, never back, when
//! 1. a write brings an argument longer than `hash-max-ziplist-value`, or
//!    one the blob could not safely grow by (`hash_try_conversion`, checked
//!    before inserting, as `hashTypeTryConversion`); or
//! 2. the hash holds more than `hash-max-ziplist-entries` pairs after an
//!    insert (`hash_set`, as `hashTypeSet`).
//!
//! As in Redis 6.2, HINCRBY and HINCRBYFLOAT skip the first check, so a
//! long field written by them stays in the ziplist. A hash emptied by
//! HDEL is deleted at once, so no empty hash is ever stored.

use std::collections::HashSet;

use crate::client::Client;
use crate::commands::args::get_long_or_reply;
use crate::commands::keys::{parse_scan_cursor, parse_scan_opts};
use crate::commands::strings::WRONGTYPE;
use crate::commands::CommandDef;
use crate::config::{NOTIFY_GENERIC, NOTIFY_HASH};
use crate::object::{HashTable, Value};
use crate::proto::Argv;
use crate::server::Server;
use crate::util::{random_u64, string_match};
use crate::ziplist::{NumBuf, Where, Ziplist, ZlEntry};

macro_rules! cmd {
    ($name:expr, $f:expr, $arity:expr, $flags:expr, $fk:expr, $lk:expr, $ks:expr) => {
        CommandDef { name: $name, proc_: $f, arity: $arity, sflags: $flags, firstkey: $fk, lastkey: $lk, keystep: $ks }
    };
}

pub static COMMANDS: &[CommandDef] = &[
    cmd!("hset", hset_command, -4, "write use-memory fast @hash", 1, 1, 1),
    cmd!("hsetnx", hsetnx_command, 4, "write use-memory fast @hash", 1, 1, 1),
    cmd!("hget", hget_command, 3, "read-only fast @hash", 1, 1, 1),
    cmd!("hmset", hmset_command, -4, "write use-memory fast @hash", 1, 1, 1),
    cmd!("hmget", hmget_command, -3, "read-only fast @hash", 1, 1, 1),
    cmd!("hincrby", hincrby_command, 4, "write use-memory fast @hash", 1, 1, 1),
    cmd!("hincrbyfloat", hincrbyfloat_command, 4, "write use-memory fast @hash", 1, 1, 1),
    cmd!("hdel", hdel_command, -3, "write fast @hash", 1, 1, 1),
    cmd!("hlen", hlen_command, 2, "read-only fast @hash", 1, 1, 1),
    cmd!("hstrlen", hstrlen_command, 3, "read-only fast @hash", 1, 1, 1),
    cmd!("hkeys", hkeys_command, 2, "read-only sort_for_script @hash", 1, 1, 1),
    cmd!("hvals", hvals_command, 2, "read-only sort_for_script @hash", 1, 1, 1),
    cmd!("hgetall", hgetall_command, 2, "read-only random @hash", 1, 1, 1),
    cmd!("hexists", hexists_command, 3, "read-only fast @hash", 1, 1, 1),
    cmd!("hrandfield", hrandfield_command, -2, "read-only random @hash", 1, 1, 1),
    cmd!("hscan", hscan_command, -3, "read-only random @hash", 1, 1, 1),
];

// ---------------------------------------------------------------------------
// The hash type (hashType* in t_hash.c).

fn is_hash(v: &Value) -> bool {
    matches!(v, Value::HashZl(_) | Value::HashHt(_))
}

/// Number of field/value pairs (`hashTypeLength`).
pub fn hash_len(v: &Value) -> usize {
    match v {
        Value::HashZl(z) => z.len() / 2,
        Value::HashHt(h) => h.len(),
        _ => 0,
    }
}

/// The value of `field`, if present (`hashTypeGetValue`): a ziplist may
/// give an integer, a dict always gives bytes.
pub fn hash_get<'a>(v: &'a Value, field: &[u8]) -> Option<ZlEntry<'a>> {
    match v {
        Value::HashZl(z) => {
            let f = z.find(z.first()?, field, 1)?;
            let vp = z.next(f)?;
            Some(z.get(vp))
        }
        Value::HashHt(h) => h.get(field).map(|b| ZlEntry::Str(b)),
        _ => None,
    }
}

/// `hashTypeExists`.
pub fn hash_exists(v: &Value, field: &[u8]) -> bool {
    hash_get(v, field).is_some()
}

fn entry_to_box(e: ZlEntry<'_>) -> Box<[u8]> {
    let mut nb = NumBuf::new();
    Box::from(e.as_bytes(&mut nb))
}

/// Turns a ziplist hash into a dict (`hashTypeConvertZiplist`). A dict
/// hash is left alone: Redis never converts back.
pub fn hash_convert(v: &mut Value) {
    let Value::HashZl(z) = v else { return };
    let mut d = HashTable::new();
    let mut it = z.iter();
    while let (Some(f), Some(val)) = (it.next(), it.next()) {
        d.insert(entry_to_box(f), entry_to_box(val));
    }
    *v = Value::HashHt(Box::new(d));
}

/// Converts a ziplist hash before a write of `argv[start..=end]` when one
/// argument is longer than `max_value` or the blob could not grow by their
/// total (`hashTypeTryConversion`).
pub fn hash_try_conversion(v: &mut Value, argv: &Argv, start: usize, end: usize, max_value: usize) {
    let Value::HashZl(z) = v else { return };
    let mut sum = 0usize;
    for i in start..=end {
        let len = argv.get(i).len();
        if len > max_value {
            hash_convert(v);
            return;
        }
        sum += len;
    }
    if !z.safe_to_add(sum) {
        hash_convert(v);
    }
}

/// Sets `field` to `value`, adding the pair if new (`hashTypeSet`);
/// returns true if the field existed (an update). A ziplist hash past
/// `max_entries` pairs is converted afterwards.
pub fn hash_set(v: &mut Value, field: &[u8], value: &[u8], max_entries: usize) -> bool {
    match v {
        Value::HashZl(z) => {
            let found = z.first().and_then(|p| z.find(p, field, 1)).and_then(|f| z.next(f));
            let update = match found {
                Some(vp) => {
                    z.replace(vp, value);
                    true
                }
                None => {
                    z.push(field, Where::Tail);
                    z.push(value, Where::Tail);
                    false
                }
            };
            if z.len() / 2 > max_entries {
                hash_convert(v);
            }
            update
        }
        Value::HashHt(h) => match h.get_mut(field) {
            Some(old) => {
                *old = Box::from(value);
                true
            }
            None => {
                h.insert(Box::from(field), Box::from(value));
                false
            }
        },
        _ => false,
    }
}

/// Removes `field`; true if it was there (`hashTypeDelete`). A dict that
/// became sparse is shrunk at once, as Redis does after every delete.
pub fn hash_delete(v: &mut Value, field: &[u8]) -> bool {
    match v {
        Value::HashZl(z) => {
            let Some(f) = z.first().and_then(|p| z.find(p, field, 1)) else { return false };
            // Field, then value: two deletes, as Redis (the prevlen fields
            // can differ from one two-entry delete).
            if let Some(vp) = z.delete(f) {
                z.delete(vp);
            }
            true
        }
        Value::HashHt(h) => {
            if h.remove(field).is_none() {
                return false;
            }
            if h.needs_resize() {
                h.resize();
            }
            true
        }
        _ => false,
    }
}

/// Calls `f` on every (field, value) pair in Redis's iteration order
/// (`hashTypeNext`).
fn for_each_pair<'a, F: FnMut(ZlEntry<'a>, ZlEntry<'a>)>(v: &'a Value, mut f: F) {
    match v {
        Value::HashZl(z) => {
            let mut it = z.iter();
            while let (Some(k), Some(val)) = (it.next(), it.next()) {
                f(k, val);
            }
        }
        Value::HashHt(h) => {
            for (k, val) in h.iter() {
                f(ZlEntry::Str(k), ZlEntry::Str(val));
            }
        }
        _ => {}
    }
}

fn reply_entry(c: &mut Client, e: ZlEntry<'_>) {
    match e {
        ZlEntry::Str(s) => c.add_reply_bulk(s),
        ZlEntry::Int(v) => c.add_reply_bulk_long_long(v),
    }
}

// ---------------------------------------------------------------------------
// Lookups.

/// The hash at `argv[1]` for reading: Ok(None) if missing, Err after a
/// WRONGTYPE reply (`lookupKeyRead` + `checkType`).
fn hash_read<'a>(s: &'a mut Server, c: &mut Client) -> Result<Option<&'a Value>, ()> {
    match s.lookup_key_read(c.db, c.argv.get(1)) {
        None => Ok(None),
        Some(v) if is_hash(v) => Ok(Some(v)),
        Some(_) => {
            c.add_reply_error(WRONGTYPE);
            Err(())
        }
    }
}

/// The hash at `argv[1]` for writing, an empty one added if missing
/// (`hashTypeLookupWriteOrCreate`); Err after a WRONGTYPE reply. The
/// second value is true when the hash was just created.
fn hash_write_or_create<'a>(s: &'a mut Server, c: &mut Client) -> Result<(&'a mut Value, bool), ()> {
    let db = c.db;
    let key = c.argv.get(1);
    let found = match s.lookup_key_write(db, key) {
        None => false,
        Some(v) if is_hash(v) => true,
        Some(_) => {
            c.add_reply_error(WRONGTYPE);
            return Err(());
        }
    };
    if !found {
        s.db_add(db, key, Value::HashZl(Ziplist::new()));
    }
    match s.dbs[db].dict.get_mut(key) {
        Some(o) => Ok((&mut o.val, !found)),
        None => Err(()),
    }
}

/// Deletes a hash created by `hash_write_or_create` for a write that then
/// failed, so no empty hash is left in the keyspace.
fn drop_if_created_empty(s: &mut Server, db: usize, key: &[u8], created: bool) {
    if created {
        if let Some(o) = s.dbs[db].dict.get(key) {
            if hash_len(&o.val) == 0 {
                s.dbs[db].delete(key);
            }
        }
    }
}

fn max_entries(s: &Server) -> usize {
    s.config.hash_max_ziplist_entries.max(0) as usize
}

fn max_value(s: &Server) -> usize {
    s.config.hash_max_ziplist_value.max(0) as usize
}

// ---------------------------------------------------------------------------
// Writes.

fn hset_generic(s: &mut Server, c: &mut Client, name: &str, hmset: bool) {
    if c.argv.len() % 2 == 1 {
        c.add_reply_error(&format!("wrong number of arguments for '{}' command", name));
        return;
    }
    let (me, mv) = (max_entries(s), max_value(s));
    let db = c.db;
    let created = {
        let Ok((v, _)) = hash_write_or_create(s, c) else { return };
        let argv = &c.argv;
        hash_try_conversion(v, argv, 2, argv.len() - 1, mv);
        let mut created = 0i64;
        let mut i = 2;
        while i + 1 < argv.len() {
            if !hash_set(v, argv.get(i), argv.get(i + 1), me) {
                created += 1;
            }
            i += 2;
        }
        created
    };
    if hmset {
        c.add_reply_ok();
    } else {
        c.add_reply_long_long(created);
    }
    s.signal_modified_key(db, c.argv.get(1));
    s.notify_keyspace_event(NOTIFY_HASH, "hset", c.argv.get(1), db);
    s.dirty += ((c.argv.len() - 2) / 2) as u64;
}

/// HSET key field value [field value ...]
pub fn hset_command(s: &mut Server, c: &mut Client) {
    hset_generic(s, c, "hset", false);
}

/// HMSET key field value [field value ...]
pub fn hmset_command(s: &mut Server, c: &mut Client) {
    hset_generic(s, c, "hmset", true);
}

/// HSETNX key field value
pub fn hsetnx_command(s: &mut Server, c: &mut Client) {
    let (me, mv) = (max_entries(s), max_value(s));
    let db = c.db;
    let set = {
        let Ok((v, _)) = hash_write_or_create(s, c) else { return };
        let argv = &c.argv;
        // Converted even when the field exists and nothing is written, as
        // Redis does.
        hash_try_conversion(v, argv, 2, 3, mv);
        if hash_exists(v, argv.get(2)) {
            false
        } else {
            hash_set(v, argv.get(2), argv.get(3), me);
            true
        }
    };
    if !set {
        c.add_reply_long_long(0);
        return;
    }
    c.add_reply_long_long(1);
    s.signal_modified_key(db, c.argv.get(1));
    s.notify_keyspace_event(NOTIFY_HASH, "hset", c.argv.get(1), db);
    s.dirty += 1;
}

/// HINCRBY key field increment
pub fn hincrby_command(s: &mut Server, c: &mut Client) {
    let Some(incr) = get_long_or_reply(c, 3, None) else { return };
    let me = max_entries(s);
    let db = c.db;
    let result: Result<i64, &str> = {
        let Ok((v, created)) = hash_write_or_create(s, c) else { return };
        let argv = &c.argv;
        let cur = match hash_get(v, argv.get(2)) {
            None => Ok(0),
            Some(e) => e.as_i64().ok_or("hash value is not an integer"),
        };
        let r = cur.and_then(|old| old.checked_add(incr).ok_or("increment or decrement would overflow"));
        match r {
            Ok(n) => {
                let mut nb = NumBuf::new();
                hash_set(v, argv.get(2), nb.format(n).as_bytes(), me);
            }
            Err(_) => drop_if_created_empty(s, db, c.argv.get(1), created),
        }
        r
    };
    match result {
        Err(e) => c.add_reply_error(e),
        Ok(n) => {
            c.add_reply_long_long(n);
            s.signal_modified_key(db, c.argv.get(1));
            s.notify_keyspace_event(NOTIFY_HASH, "hincrby", c.argv.get(1), db);
            s.dirty += 1;
        }
    }
}

/// HINCRBYFLOAT key field increment
///
/// Added in long double and printed as INCRBYFLOAT does; propagated as
/// `HSET key field <result>` so replicas and the AOF cannot drift.
pub fn hincrbyfloat_command(s: &mut Server, c: &mut Client) {
    if !crate::ld::is_valid(c.argv.get(3)) {
        c.add_reply_error("value is not a valid float");
        return;
    }
    let me = max_entries(s);
    let db = c.db;
    let result: Result<Vec<u8>, &str> = {
        let Ok((v, created)) = hash_write_or_create(s, c) else { return };
        let argv = &c.argv;
        let mut nb = NumBuf::new();
        let cur: &[u8] = match hash_get(v, argv.get(2)) {
            None => b"0",
            Some(ZlEntry::Int(n)) => nb.format(n).as_bytes(),
            Some(ZlEntry::Str(b)) => b,
        };
        let r = match crate::ld::add(cur, argv.get(3)) {
            Ok(n) => Ok(n),
            Err(crate::ld::LdError::NanOrInfinity) => Err("increment would produce NaN or Infinity"),
            Err(crate::ld::LdError::BadIncrement) => Err("value is not a valid float"),
            Err(crate::ld::LdError::BadValue) => Err("hash value is not a float"),
        };
        match &r {
            Ok(n) => {
                hash_set(v, argv.get(2), n, me);
            }
            Err(_) => drop_if_created_empty(s, db, c.argv.get(1), created),
        }
        r
    };
    match result {
        Err(e) => c.add_reply_error(e),
        Ok(n) => {
            c.add_reply_bulk(&n);
            s.signal_modified_key(db, c.argv.get(1));
            s.notify_keyspace_event(NOTIFY_HASH, "hincrbyfloat", c.argv.get(1), db);
            s.dirty += 1;
            c.rewritten = Some(Argv::from_slices(&[&b"HSET"[..], c.argv.get(1), c.argv.get(2), &n]));
        }
    }
}

/// HDEL key field [field ...]
pub fn hdel_command(s: &mut Server, c: &mut Client) {
    let db = c.db;
    let (deleted, emptied) = {
        let v = match s.lookup_key_write(db, c.argv.get(1)) {
            None => {
                c.add_reply_long_long(0);
                return;
            }
            Some(v) if is_hash(v) => v,
            Some(_) => {
                c.add_reply_error(WRONGTYPE);
                return;
            }
        };
        let mut deleted = 0u64;
        let mut emptied = false;
        for j in 2..c.argv.len() {
            if hash_delete(v, c.argv.get(j)) {
                deleted += 1;
                if hash_len(v) == 0 {
                    emptied = true;
                    break;
                }
            }
        }
        (deleted, emptied)
    };
    if emptied {
        s.db_delete(db, c.argv.get(1));
    }
    if deleted > 0 {
        s.signal_modified_key(db, c.argv.get(1));
        s.notify_keyspace_event(NOTIFY_HASH, "hdel", c.argv.get(1), db);
        if emptied {
            s.notify_keyspace_event(NOTIFY_GENERIC, "del", c.argv.get(1), db);
        }
        s.dirty += deleted;
    }
    c.add_reply_long_long(deleted as i64);
}

// ---------------------------------------------------------------------------
// Reads.

/// HGET key field
pub fn hget_command(s: &mut Server, c: &mut Client) {
    match hash_read(s, c) {
        Err(()) => {}
        Ok(None) => c.add_reply_null(),
        Ok(Some(v)) => match hash_get(v, c.argv.get(2)) {
            Some(e) => reply_entry(c, e),
            None => c.add_reply_null(),
        },
    }
}

/// HMGET key field [field ...]: nulls for a missing key.
pub fn hmget_command(s: &mut Server, c: &mut Client) {
    let Ok(v) = hash_read(s, c) else { return };
    let n = c.argv.len() - 2;
    c.add_reply_array_len(n);
    for i in 2..c.argv.len() {
        match v.and_then(|v| hash_get(v, c.argv.get(i))) {
            Some(e) => reply_entry(c, e),
            None => c.add_reply_null(),
        }
    }
}

/// HLEN key
pub fn hlen_command(s: &mut Server, c: &mut Client) {
    match hash_read(s, c) {
        Err(()) => {}
        Ok(v) => {
            let n = v.map(hash_len).unwrap_or(0);
            c.add_reply_long_long(n as i64);
        }
    }
}

/// HSTRLEN key field: the value's length, 0 if missing
/// (`hashTypeGetValueLength`).
pub fn hstrlen_command(s: &mut Server, c: &mut Client) {
    match hash_read(s, c) {
        Err(()) => {}
        Ok(v) => {
            let n = match v.and_then(|v| hash_get(v, c.argv.get(2))) {
                None => 0,
                Some(ZlEntry::Str(b)) => b.len(),
                Some(ZlEntry::Int(n)) => NumBuf::new().format(n).len(),
            };
            c.add_reply_long_long(n as i64);
        }
    }
}

/// HEXISTS key field
pub fn hexists_command(s: &mut Server, c: &mut Client) {
    match hash_read(s, c) {
        Err(()) => {}
        Ok(v) => {
            let found = v.map(|v| hash_exists(v, c.argv.get(2))).unwrap_or(false);
            c.add_reply_long_long(found as i64);
        }
    }
}

/// HKEYS / HVALS / HGETALL (`genericHgetallCommand`): HGETALL is a map
/// (RESP3) or a flat array of pairs (RESP2).
fn hgetall_generic(s: &mut Server, c: &mut Client, keys: bool, vals: bool) {
    let v = match hash_read(s, c) {
        Err(()) => return,
        Ok(None) => {
            if keys && vals {
                c.add_reply_map_len(0);
            } else {
                c.add_reply_array_len(0);
            }
            return;
        }
        Ok(Some(v)) => v,
    };
    let n = hash_len(v);
    if keys && vals {
        c.add_reply_map_len(n);
    } else {
        c.add_reply_array_len(n);
    }
    for_each_pair(v, |f, val| {
        if keys {
            reply_entry(c, f);
        }
        if vals {
            reply_entry(c, val);
        }
    });
}

/// HKEYS key
pub fn hkeys_command(s: &mut Server, c: &mut Client) {
    hgetall_generic(s, c, true, false);
}

/// HVALS key
pub fn hvals_command(s: &mut Server, c: &mut Client) {
    hgetall_generic(s, c, false, true);
}

/// HGETALL key
pub fn hgetall_command(s: &mut Server, c: &mut Client) {
    hgetall_generic(s, c, true, true);
}

// ---------------------------------------------------------------------------
// HRANDFIELD.

/// Above this many times the requested count, HRANDFIELD picks random
/// fields one by one; below, it removes random ones from a full copy
/// (`HRANDFIELD_SUB_STRATEGY_MUL`).
const HRANDFIELD_SUB_STRATEGY_MUL: u64 = 3;
/// Random pairs drawn from a ziplist per batch (`HRANDFIELD_RANDOM_SAMPLE_LIMIT`).
const HRANDFIELD_RANDOM_SAMPLE_LIMIT: usize = 1000;

/// One (field, value) of an HRANDFIELD reply: RESP3 nests each pair in an
/// array of two, RESP2 flattens.
fn reply_rand_pair(c: &mut Client, f: ZlEntry<'_>, v: ZlEntry<'_>, withvalues: bool) {
    if withvalues && c.resp > 2 {
        c.add_reply_array_len(2);
    }
    reply_entry(c, f);
    if withvalues {
        reply_entry(c, v);
    }
}

/// HRANDFIELD key [count [WITHVALUES]]
pub fn hrandfield_command(s: &mut Server, c: &mut Client) {
    if c.argv.len() >= 3 {
        let Some(l) = get_long_or_reply(c, 2, None) else { return };
        let withvalues = c.argv.len() == 4 && c.argv.get(3).eq_ignore_ascii_case(b"withvalues");
        if c.argv.len() > 4 || (c.argv.len() == 4 && !withvalues) {
            c.add_reply_error("syntax error");
            return;
        }
        // Redis 6.2 has no sane reply for these (its count overflows); they
        // get the range errors Redis 7.0 introduced.
        if l == i64::MIN {
            c.add_reply_error(&format!("value is out of range, value must between {} and {}", -i64::MAX, i64::MAX));
            return;
        }
        if withvalues && !(-i64::MAX / 2..=i64::MAX / 2).contains(&l) {
            c.add_reply_error("value is out of range");
            return;
        }
        hrandfield_with_count(s, c, l, withvalues);
        return;
    }
    let db = c.db;
    match hash_read(s, c) {
        Err(()) => return,
        Ok(None) => {
            c.add_reply_null();
            return;
        }
        Ok(Some(_)) => {}
    }
    match s.dbs[db].dict.get_mut(c.argv.get(1)).map(|o| &mut o.val) {
        Some(Value::HashZl(z)) => match z.random_pair() {
            Some((f, _)) => reply_entry(c, z.get(f)),
            None => c.add_reply_null(),
        },
        Some(Value::HashHt(h)) => match h.fair_random_entry() {
            Some((f, _)) => c.add_reply_bulk(f),
            None => c.add_reply_null(),
        },
        _ => c.add_reply_null(),
    }
}

/// `hrandfieldWithCountCommand`: a negative count allows repeats; a
/// positive one returns distinct fields, choosing among Redis's strategies
/// by how the count compares with the size.
fn hrandfield_with_count(s: &mut Server, c: &mut Client, l: i64, withvalues: bool) {
    let db = c.db;
    let size = match hash_read(s, c) {
        Err(()) => return,
        Ok(None) => {
            c.add_reply_array_len(0);
            return;
        }
        Ok(Some(v)) => hash_len(v) as u64,
    };
    let (count, uniq) = if l >= 0 { (l as u64, true) } else { (l.unsigned_abs(), false) };
    // No stored hash is empty; the size check keeps the reply well formed
    // regardless.
    if count == 0 || size == 0 {
        c.add_reply_array_len(0);
        return;
    }
    let resp2_flat = withvalues && c.resp == 2;
    let Some(v) = s.dbs[db].dict.get_mut(c.argv.get(1)).map(|o| &mut o.val) else {
        c.add_reply_array_len(0);
        return;
    };

    // Case 1: repeats allowed (or a single field): draw `count` times.
    if !uniq || count == 1 {
        c.add_reply_array_len(if resp2_flat { count as usize * 2 } else { count as usize });
        match v {
            Value::HashHt(h) => {
                for _ in 0..count {
                    match h.fair_random_entry() {
                        Some((f, val)) => reply_rand_pair(c, ZlEntry::Str(f), ZlEntry::Str(val), withvalues),
                        None => reply_rand_pair(c, ZlEntry::Str(b""), ZlEntry::Str(b""), withvalues),
                    }
                }
            }
            Value::HashZl(z) => {
                let mut left = count as usize;
                while left > 0 {
                    let n = left.min(HRANDFIELD_RANDOM_SAMPLE_LIMIT);
                    left -= n;
                    for (f, val) in z.random_pairs(n) {
                        reply_rand_pair(c, z.get(f), z.get(val), withvalues);
                    }
                }
            }
            _ => {}
        }
        return;
    }

    let reply_size = count.min(size) as usize;
    c.add_reply_array_len(if resp2_flat { reply_size * 2 } else { reply_size });

    // Case 2: the whole hash.
    if count >= size {
        for_each_pair(v, |f, val| reply_rand_pair(c, f, val, withvalues));
        return;
    }

    // Case 3: the count is close to the size: take everything and drop
    // random pairs until `count` remain.
    if count * HRANDFIELD_SUB_STRATEGY_MUL > size {
        let mut all: Vec<(ZlEntry<'_>, ZlEntry<'_>)> = Vec::with_capacity(size as usize);
        for_each_pair(v, |f, val| all.push((f, val)));
        while all.len() as u64 > count {
            let i = (random_u64() % all.len() as u64) as usize;
            all.swap_remove(i);
        }
        for &(f, val) in &all {
            reply_rand_pair(c, f, val, withvalues);
        }
        return;
    }

    // Case 4: the hash is large compared with the count.
    match v {
        Value::HashZl(z) => {
            for (f, val) in z.random_pairs_unique(count as usize) {
                reply_rand_pair(c, z.get(f), z.get(val), withvalues);
            }
        }
        Value::HashHt(h) => {
            let mut seen: HashSet<Box<[u8]>> = HashSet::with_capacity(count as usize);
            while (seen.len() as u64) < count {
                let Some((f, val)) = h.fair_random_entry() else { break };
                if seen.contains(&f[..]) {
                    continue;
                }
                seen.insert(f.clone());
                reply_rand_pair(c, ZlEntry::Str(f), ZlEntry::Str(val), withvalues);
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// HSCAN.

/// An owned (field, value) pair.
type FieldValue = (Box<[u8]>, Box<[u8]>);

/// HSCAN key cursor [MATCH pattern] [COUNT count]
///
/// A ziplist hash is returned whole with cursor 0, whatever the cursor;
/// a dict is walked with `Dict::scan`, COUNT counting fields and values.
pub fn hscan_command(s: &mut Server, c: &mut Client) {
    let Some(mut cursor) = parse_scan_cursor(c.argv.get(2)) else {
        c.add_reply_error("invalid cursor");
        return;
    };
    match hash_read(s, c) {
        Err(()) => return,
        Ok(None) => {
            c.add_reply_array_len(2);
            c.add_reply_bulk(b"0");
            c.add_reply_array_len(0);
            return;
        }
        Ok(Some(_)) => {}
    }
    let Some(opts) = parse_scan_opts(c, 3, false) else { return };
    let Some(v) = s.dbs[c.db].dict.get(c.argv.get(1)).map(|o| &o.val) else { return };
    let mut items: Vec<FieldValue> = Vec::new();
    match v {
        Value::HashZl(_) => {
            for_each_pair(v, |f, val| items.push((entry_to_box(f), entry_to_box(val))));
            cursor = 0;
        }
        Value::HashHt(h) => {
            let mut maxiterations = opts.count.saturating_mul(10);
            loop {
                cursor = h.scan(cursor, |f, val| items.push((f.clone(), val.clone())));
                if cursor == 0 || maxiterations == 0 || items.len() * 2 >= opts.count {
                    break;
                }
                maxiterations -= 1;
            }
        }
        _ => {}
    }
    if let Some(p) = &opts.pattern {
        items.retain(|(f, _)| string_match(p, f, false));
    }
    c.add_reply_array_len(2);
    c.add_reply_bulk(NumBuf::new().format(cursor).as_bytes());
    c.add_reply_array_len(items.len() * 2);
    for (f, val) in &items {
        c.add_reply_bulk(f);
        c.add_reply_bulk(val);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zl_hash(pairs: &[(&str, &str)]) -> Value {
        let mut v = Value::HashZl(Ziplist::new());
        for (f, val) in pairs {
            hash_set(&mut v, f.as_bytes(), val.as_bytes(), 512);
        }
        v
    }

    #[test]
    fn set_get_delete_in_both_encodings() {
        for convert in [false, true] {
            let mut v = zl_hash(&[("a", "1"), ("b", "two"), ("c", "-3")]);
            if convert {
                hash_convert(&mut v);
                assert!(matches!(v, Value::HashHt(_)));
            }
            assert_eq!(hash_len(&v), 3);
            assert_eq!(hash_get(&v, b"a").map(|e| e.to_vec()), Some(b"1".to_vec()));
            assert_eq!(hash_get(&v, b"c").and_then(|e| e.as_i64()), Some(-3));
            assert!(hash_get(&v, b"1").is_none(), "values are not fields");
            assert!(hash_set(&mut v, b"b", b"2", 512));
            assert!(!hash_set(&mut v, b"d", b"4", 512));
            assert_eq!(hash_get(&v, b"b").map(|e| e.to_vec()), Some(b"2".to_vec()));
            assert!(hash_delete(&mut v, b"a"));
            assert!(!hash_delete(&mut v, b"a"));
            assert_eq!(hash_len(&v), 3);
            let mut seen = Vec::new();
            for_each_pair(&v, |f, val| seen.push((f.to_vec(), val.to_vec())));
            seen.sort();
            assert_eq!(
                seen,
                vec![(b"b".to_vec(), b"2".to_vec()), (b"c".to_vec(), b"-3".to_vec()), (b"d".to_vec(), b"4".to_vec())]
            );
        }
    }

    #[test]
    fn converts_past_max_entries_and_keeps_capacity_exact() {
        let mut v = Value::HashZl(Ziplist::new());
        for i in 0..4 {
            hash_set(&mut v, format!("f{}", i).as_bytes(), b"v", 4);
            if let Value::HashZl(z) = &v {
                assert_eq!(z.capacity(), z.blob_len());
            }
        }
        assert!(matches!(v, Value::HashZl(_)));
        hash_set(&mut v, b"f4", b"v", 4);
        assert!(matches!(v, Value::HashHt(_)));
        assert_eq!(hash_len(&v), 5);
    }

    #[test]
    fn try_conversion_checks_argument_lengths() {
        let mut v = zl_hash(&[("a", "1")]);
        let argv = Argv::from_slices(&["hset", "k", "f", "12345"]);
        hash_try_conversion(&mut v, &argv, 2, 3, 5);
        assert!(matches!(v, Value::HashZl(_)));
        let argv = Argv::from_slices(&["hset", "k", "f", "123456"]);
        hash_try_conversion(&mut v, &argv, 2, 3, 5);
        assert!(matches!(v, Value::HashHt(_)));
        assert_eq!(hash_get(&v, b"a").map(|e| e.to_vec()), Some(b"1".to_vec()));
    }
}
