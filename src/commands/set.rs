//! Set commands (mirrors t_set.c): SADD/SREM/SMOVE, membership and
//! cardinality, the random commands SPOP/SRANDMEMBER, the algebra
//! SINTER/SUNION/SDIFF and their STORE forms, SSCAN.
//!
//! A set has one of Redis 6.2's two encodings:
//! 1. `intset` (`Value::SetInt`): created when the first member added is an
//!    integer (`string2ll`), kept while every member is one and the size is
//!    at most `set-max-intset-entries`;
//! 2. `hashtable` (`Value::SetHt`): a dict member → (), which an intset
//!    becomes as soon as either condition fails. A set never goes back,
//!    except that the commands building a new set (the STORE forms, SPOP
//!    with a count close to the size) start it as an intset, as Redis does.
//!
//! An emptied set is deleted at once, so no empty set is ever stored.
//! SPOP is random, so it is propagated as its effect: `SREM key member`,
//! one SREM per member for the count form (wrapped in MULTI/EXEC by
//! `call`), or `DEL`/`UNLINK key` when it takes the whole set.

use crate::client::Client;
use crate::commands::args::get_range_long_or_reply;
use crate::commands::keys::{parse_scan_cursor, parse_scan_opts};
use crate::commands::strings::WRONGTYPE;
use crate::commands::CommandDef;
use crate::config::{NOTIFY_GENERIC, NOTIFY_SET};
use crate::intset::Intset;
use crate::object::{SetTable, Value};
use crate::proto::Argv;
use crate::server::Server;
use crate::util::{string2ll, string_match};

macro_rules! cmd {
    ($name:expr, $f:expr, $arity:expr, $flags:expr, $fk:expr, $lk:expr, $ks:expr) => {
        CommandDef { name: $name, proc_: $f, arity: $arity, sflags: $flags, firstkey: $fk, lastkey: $lk, keystep: $ks }
    };
}

pub static COMMANDS: &[CommandDef] = &[
    cmd!("sadd", sadd_command, -3, "write use-memory fast @set", 1, 1, 1),
    cmd!("srem", srem_command, -3, "write fast @set", 1, 1, 1),
    cmd!("smove", smove_command, 4, "write fast @set", 1, 2, 1),
    cmd!("sismember", sismember_command, 3, "read-only fast @set", 1, 1, 1),
    cmd!("smismember", smismember_command, -3, "read-only fast @set", 1, 1, 1),
    cmd!("scard", scard_command, 2, "read-only fast @set", 1, 1, 1),
    cmd!("spop", spop_command, -2, "write random fast @set", 1, 1, 1),
    cmd!("srandmember", srandmember_command, -2, "read-only random @set", 1, 1, 1),
    cmd!("sinter", sinter_command, -2, "read-only sort_for_script @set", 1, -1, 1),
    cmd!("sinterstore", sinterstore_command, -3, "write use-memory @set", 1, -1, 1),
    cmd!("sunion", sunion_command, -2, "read-only sort_for_script @set", 1, -1, 1),
    cmd!("sunionstore", sunionstore_command, -3, "write use-memory @set", 1, -1, 1),
    cmd!("sdiff", sdiff_command, -2, "read-only sort_for_script @set", 1, -1, 1),
    cmd!("sdiffstore", sdiffstore_command, -3, "write use-memory @set", 1, -1, 1),
    cmd!("smembers", smembers_command, 2, "read-only sort_for_script @set", 1, 1, 1),
    cmd!("sscan", sscan_command, -3, "read-only random @set", 1, 1, 1),
];

/// The error of a negative or non-integer SPOP count.
const POSITIVE_ERR: &str = "value is out of range, must be positive";

/// SPOP with a count takes the "build the remaining set" path when the
/// remaining members times this is at most the count.
const SPOP_MOVE_STRATEGY_MUL: usize = 5;
/// SRANDMEMBER with a count copies the set and removes random members
/// when the count times this exceeds the size.
const SRANDMEMBER_SUB_STRATEGY_MUL: usize = 3;

// ---------------------------------------------------------------------------
// The set type (setType* in t_set.c).

/// A member as an encoding yields it: an intset's integer or a
/// hashtable's bytes.
#[derive(Clone, Copy, Debug)]
pub enum Member<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Member<'_> {
    /// The member's bytes, formatting an integer into `buf`.
    fn bytes<'b>(&'b self, buf: &'b mut itoa::Buffer) -> &'b [u8] {
        match self {
            Member::Int(v) => buf.format(*v).as_bytes(),
            Member::Str(b) => b,
        }
    }

    fn to_box(self) -> Box<[u8]> {
        let mut b = itoa::Buffer::new();
        self.bytes(&mut b).into()
    }

    fn reply(self, c: &mut Client) {
        match self {
            Member::Int(v) => c.add_reply_bulk_long_long(v),
            Member::Str(b) => c.add_reply_bulk(b),
        }
    }
}

/// Is `v` a set value?
fn is_set(v: &Value) -> bool {
    matches!(v, Value::SetInt(_) | Value::SetHt(_))
}

/// `set-max-intset-entries`, capped as Redis caps it (intset internals).
fn max_intset_entries(s: &Server) -> usize {
    (s.config.set_max_intset_entries.max(0) as u64).min(1 << 30) as usize
}

/// A new empty set able to hold `first` (`setTypeCreate`): an intset if
/// it is an integer, else a hashtable.
pub fn set_type_create(first: &[u8]) -> Value {
    if string2ll(first).is_some() {
        Value::SetInt(Intset::new())
    } else {
        Value::SetHt(Box::default())
    }
}

/// Number of members (`setTypeSize`); 0 for a non-set.
pub fn set_type_size(v: &Value) -> usize {
    match v {
        Value::SetInt(is) => is.len(),
        Value::SetHt(d) => d.len(),
        _ => 0,
    }
}

/// Converts an intset to a hashtable sized for its members
/// (`setTypeConvert`).
pub(crate) fn set_type_convert(v: &mut Value) {
    let Value::SetInt(is) = v else { return };
    let mut d: SetTable = SetTable::new();
    d.expand(is.len());
    let mut b = itoa::Buffer::new();
    for m in is.iter() {
        d.insert(b.format(m).as_bytes().into(), ());
    }
    *v = Value::SetHt(Box::new(d));
}

/// Adds `ele` (`setTypeAdd`); true if it was not a member. An intset
/// turns into a hashtable for a non-integer or when it grows past
/// `max_intset`.
pub fn set_type_add(v: &mut Value, ele: &[u8], max_intset: usize) -> bool {
    match v {
        Value::SetHt(d) => {
            if d.contains_key(ele) {
                return false;
            }
            d.insert(ele.into(), ());
            true
        }
        Value::SetInt(is) => match string2ll(ele) {
            Some(n) => {
                if !is.add(n) {
                    return false;
                }
                if is.len() > max_intset {
                    set_type_convert(v);
                }
                true
            }
            None => {
                set_type_convert(v);
                if let Value::SetHt(d) = v {
                    d.insert(ele.into(), ());
                }
                true
            }
        },
        _ => false,
    }
}

/// Removes `ele` (`setTypeRemove`); true if it was a member. A sparse
/// hashtable is shrunk, as Redis does after every removal.
pub fn set_type_remove(v: &mut Value, ele: &[u8]) -> bool {
    match v {
        Value::SetHt(d) => {
            if d.remove(ele).is_none() {
                return false;
            }
            if d.needs_resize() {
                d.resize();
            }
            true
        }
        Value::SetInt(is) => match string2ll(ele) {
            Some(n) => is.remove(n),
            None => false,
        },
        _ => false,
    }
}

/// Is `ele` a member (`setTypeIsMember`)?
pub fn set_type_is_member(v: &Value, ele: &[u8]) -> bool {
    match v {
        Value::SetHt(d) => d.contains_key(ele),
        Value::SetInt(is) => string2ll(ele).is_some_and(|n| is.contains(n)),
        _ => false,
    }
}

/// Membership of a member yielded by another set: an integer against an
/// intset needs no formatting.
fn set_type_has(v: &Value, m: Member<'_>) -> bool {
    match (v, m) {
        (Value::SetInt(is), Member::Int(n)) => is.contains(n),
        (_, m) => {
            let mut b = itoa::Buffer::new();
            set_type_is_member(v, m.bytes(&mut b))
        }
    }
}

/// Calls `f` on every member, in the encoding's order (ascending for an
/// intset).
fn set_type_for_each<'a>(v: &'a Value, mut f: impl FnMut(Member<'a>)) {
    match v {
        Value::SetInt(is) => is.iter().for_each(|n| f(Member::Int(n))),
        Value::SetHt(d) => d.keys().for_each(|k| f(Member::Str(k))),
        _ => {}
    }
}

/// A random member (`setTypeRandomElement`, fair for a hashtable).
fn set_type_random(v: &mut Value) -> Option<Member<'_>> {
    match v {
        Value::SetInt(is) => is.random().map(Member::Int),
        Value::SetHt(d) => d.fair_random_entry().map(|(k, _)| Member::Str(&k[..])),
        _ => None,
    }
}

/// A random member, owned.
fn set_type_random_owned(v: &mut Value) -> Option<Box<[u8]>> {
    set_type_random(v).map(Member::to_box)
}

/// Replies every member of `v` as a set.
fn reply_set(c: &mut Client, v: &Value) {
    c.add_reply_set_len(set_type_size(v));
    set_type_for_each(v, |m| m.reply(c));
}

/// The set at `key` for reading: Ok(None) if missing, Err after a
/// WRONGTYPE reply.
fn set_read<'a>(s: &'a mut Server, c: &mut Client, key: &[u8]) -> Result<Option<&'a Value>, ()> {
    set_checked(s.lookup_key_read(c.db, key), c)
}

/// As `set_read`, for the key at `argv[i]`: no copy of the key name.
fn set_read_at<'a>(s: &'a mut Server, c: &mut Client, i: usize) -> Result<Option<&'a Value>, ()> {
    set_checked(s.lookup_key_read(c.db, c.argv.get(i)), c)
}

/// The type check of a read lookup: a set, nothing, or a WRONGTYPE reply.
fn set_checked<'a>(found: Option<&'a Value>, c: &mut Client) -> Result<Option<&'a Value>, ()> {
    match found {
        None => Ok(None),
        Some(v) if is_set(v) => Ok(Some(v)),
        Some(_) => {
            c.add_reply_error(WRONGTYPE);
            Err(())
        }
    }
}

/// The set at `key` for writing, as `set_read`.
fn set_write<'a>(s: &'a mut Server, c: &mut Client, key: &[u8]) -> Result<Option<&'a mut Value>, ()> {
    match s.lookup_key_write(c.db, key) {
        None => Ok(None),
        Some(v) if is_set(v) => Ok(Some(v)),
        Some(_) => {
            c.add_reply_error(WRONGTYPE);
            Err(())
        }
    }
}

/// The stored set at `key`, with no lookup side effects (the caller
/// already looked it up).
fn stored_set<'a>(s: &'a Server, db: usize, key: &[u8]) -> Option<&'a Value> {
    s.dbs[db].dict.get(key).map(|o| &o.val).filter(|v| is_set(v))
}

fn stored_set_mut<'a>(s: &'a mut Server, db: usize, key: &[u8]) -> Option<&'a mut Value> {
    s.dbs[db].dict.get_mut(key).map(|o| &mut o.val).filter(|v| is_set(v))
}

/// Deletes the set at `key` if it became empty, with its `del` event;
/// true if it did.
fn delete_if_empty(s: &mut Server, db: usize, key: &[u8]) -> bool {
    if stored_set(s, db, key).is_some_and(|v| set_type_size(v) == 0) {
        s.db_delete(db, key);
        s.notify_keyspace_event(NOTIFY_GENERIC, "del", key, db);
        return true;
    }
    false
}

// ---------------------------------------------------------------------------
// Adding, removing, moving.

/// SADD key member [member ...]
pub fn sadd_command(s: &mut Server, c: &mut Client) {
    let db = c.db;
    let key = c.argv.get(1).to_vec();
    let max = max_intset_entries(s);
    let mut added = 0usize;
    match set_write(s, c, &key) {
        Err(()) => return,
        Ok(Some(v)) => {
            for j in 2..c.argv.len() {
                if set_type_add(v, c.argv.get(j), max) {
                    added += 1;
                }
            }
        }
        Ok(None) => {
            let mut v = set_type_create(c.argv.get(2));
            for j in 2..c.argv.len() {
                if set_type_add(&mut v, c.argv.get(j), max) {
                    added += 1;
                }
            }
            s.db_add(db, &key, v);
        }
    }
    if added > 0 {
        s.signal_modified_key(db, &key);
        s.notify_keyspace_event(NOTIFY_SET, "sadd", &key, db);
    }
    s.dirty += added as u64;
    c.add_reply_long_long(added as i64);
}

/// SREM key member [member ...]
pub fn srem_command(s: &mut Server, c: &mut Client) {
    let db = c.db;
    let key = c.argv.get(1).to_vec();
    let v = match set_write(s, c, &key) {
        Err(()) => return,
        Ok(None) => {
            c.add_reply_long_long(0);
            return;
        }
        Ok(Some(v)) => v,
    };
    let mut deleted = 0usize;
    let mut emptied = false;
    for j in 2..c.argv.len() {
        if set_type_remove(v, c.argv.get(j)) {
            deleted += 1;
            if set_type_size(v) == 0 {
                emptied = true;
                break;
            }
        }
    }
    if emptied {
        s.db_delete(db, &key);
    }
    if deleted > 0 {
        s.signal_modified_key(db, &key);
        s.notify_keyspace_event(NOTIFY_SET, "srem", &key, db);
        if emptied {
            s.notify_keyspace_event(NOTIFY_GENERIC, "del", &key, db);
        }
        s.dirty += deleted as u64;
    }
    c.add_reply_long_long(deleted as i64);
}

/// SMOVE source destination member
pub fn smove_command(s: &mut Server, c: &mut Client) {
    let db = c.db;
    let src = c.argv.get(1).to_vec();
    let dst = c.argv.get(2).to_vec();
    let ele = c.argv.get(3).to_vec();
    let src_ok = match s.lookup_key_write(db, &src) {
        None => {
            // Redis looks both keys up before this check: an expired
            // destination goes (and is notified) all the same.
            s.expire_if_needed(db, &dst);
            c.add_reply_long_long(0);
            return;
        }
        Some(v) => is_set(v),
    };
    let dst_exists = match s.lookup_key_write(db, &dst) {
        None => false,
        Some(v) if is_set(v) => true,
        Some(_) => {
            c.add_reply_error(WRONGTYPE);
            return;
        }
    };
    if !src_ok {
        c.add_reply_error(WRONGTYPE);
        return;
    }
    // The same set on both sides: a no-op that still answers membership.
    if src == dst {
        let member = stored_set(s, db, &src).is_some_and(|v| set_type_is_member(v, &ele));
        c.add_reply_long_long(member as i64);
        return;
    }
    let removed = stored_set_mut(s, db, &src).is_some_and(|v| set_type_remove(v, &ele));
    if !removed {
        c.add_reply_long_long(0);
        return;
    }
    s.notify_keyspace_event(NOTIFY_SET, "srem", &src, db);
    delete_if_empty(s, db, &src);
    if !dst_exists {
        s.db_add(db, &dst, set_type_create(&ele));
    }
    s.signal_modified_key(db, &src);
    s.dirty += 1;
    let max = max_intset_entries(s);
    if stored_set_mut(s, db, &dst).is_some_and(|v| set_type_add(v, &ele, max)) {
        s.dirty += 1;
        s.signal_modified_key(db, &dst);
        s.notify_keyspace_event(NOTIFY_SET, "sadd", &dst, db);
    }
    c.add_reply_long_long(1);
}

// ---------------------------------------------------------------------------
// Reads.

/// SISMEMBER key member
pub fn sismember_command(s: &mut Server, c: &mut Client) {
    match set_read_at(s, c, 1) {
        Err(()) => {}
        Ok(None) => c.add_reply_long_long(0),
        Ok(Some(v)) => {
            let m = set_type_is_member(v, c.argv.get(2));
            c.add_reply_long_long(m as i64);
        }
    }
}

/// SMISMEMBER key member [member ...]
pub fn smismember_command(s: &mut Server, c: &mut Client) {
    let Ok(v) = set_read_at(s, c, 1) else { return };
    let n = c.argv.len() - 2;
    c.add_reply_array_len(n);
    for j in 2..c.argv.len() {
        let m = v.is_some_and(|v| set_type_is_member(v, c.argv.get(j)));
        c.add_reply_long_long(m as i64);
    }
}

/// SCARD key
pub fn scard_command(s: &mut Server, c: &mut Client) {
    match set_read_at(s, c, 1) {
        Err(()) => {}
        Ok(None) => c.add_reply_long_long(0),
        Ok(Some(v)) => {
            let n = set_type_size(v);
            c.add_reply_long_long(n as i64);
        }
    }
}

/// SMEMBERS key: the intersection of one set, as in Redis.
pub fn smembers_command(s: &mut Server, c: &mut Client) {
    let keys = vec![c.argv.get(1).to_vec()];
    sinter_generic(s, c, &keys, None);
}

// ---------------------------------------------------------------------------
// Random members.

/// SPOP key [count]
pub fn spop_command(s: &mut Server, c: &mut Client) {
    if c.argv.len() == 3 {
        spop_with_count(s, c);
        return;
    }
    if c.argv.len() > 3 {
        c.add_reply_error("syntax error");
        return;
    }
    let db = c.db;
    let key = c.argv.get(1).to_vec();
    let v = match set_write(s, c, &key) {
        Err(()) => return,
        Ok(None) => {
            c.add_reply_null();
            return;
        }
        Ok(Some(v)) => v,
    };
    let Some(ele) = set_type_random_owned(v) else {
        c.add_reply_null();
        return;
    };
    set_type_remove(v, &ele);
    s.notify_keyspace_event(NOTIFY_SET, "spop", &key, db);
    c.rewritten = Some(Argv::from_slices(&[&b"SREM"[..], &key, &ele]));
    c.add_reply_bulk(&ele);
    delete_if_empty(s, db, &key);
    s.signal_modified_key(db, &key);
    s.dirty += 1;
}

/// SPOP key count (`spopWithCountCommand`).
fn spop_with_count(s: &mut Server, c: &mut Client) {
    // 6.2's getPositiveLongFromObjectOrReply: one message for a
    // non-integer and for a negative count.
    let Some(count) = get_range_long_or_reply(c, 2, 0, i64::MAX, Some(POSITIVE_ERR)) else { return };
    let count = count as u64;
    let db = c.db;
    let key = c.argv.get(1).to_vec();
    let size = match set_write(s, c, &key) {
        Err(()) => return,
        Ok(None) => {
            c.add_reply_set_len(0);
            return;
        }
        Ok(Some(v)) => set_type_size(v),
    };
    if count == 0 {
        c.add_reply_set_len(0);
        return;
    }
    s.notify_keyspace_event(NOTIFY_SET, "spop", &key, db);
    s.dirty += count;

    // Case 1: the whole set goes; propagated as deleting the key.
    if count >= size as u64 {
        let max = max_intset_entries(s);
        if let Some(v) = stored_set(s, db, &key) {
            let copy = sunion_diff_compute(&[Some(v)], SetOp::Union, max);
            reply_set(c, &copy);
        }
        s.db_delete(db, &key);
        s.notify_keyspace_event(NOTIFY_GENERIC, "del", &key, db);
        let del: &[u8] = if s.config.lazyfree_lazy_server_del {
            b"UNLINK"
        } else {
            b"DEL"
        };
        c.rewritten = Some(Argv::from_slices(&[del, &key]));
        s.signal_modified_key(db, &key);
        s.dirty += 1;
        return;
    }

    // Cases 2 and 3 are propagated as one SREM per popped member.
    let count = count as usize;
    c.add_reply_set_len(count);
    let remaining = size - count;
    let mut popped: Vec<Box<[u8]>> = Vec::with_capacity(count);
    if remaining * SPOP_MOVE_STRATEGY_MUL > count {
        // Case 2: few members leave: pick and remove them one by one.
        if let Some(v) = stored_set_mut(s, db, &key) {
            for _ in 0..count {
                let Some(m) = set_type_random(v) else { break };
                m.reply(c);
                let ele = m.to_box();
                set_type_remove(v, &ele);
                popped.push(ele);
            }
        }
    } else {
        // Case 3: most members leave: pick the ones that stay into a new
        // set, which replaces the old one, and return what is left.
        let max = max_intset_entries(s);
        if let Some(v) = stored_set_mut(s, db, &key) {
            let mut newset: Option<Value> = None;
            for _ in 0..remaining {
                let Some(ele) = set_type_random_owned(v) else { break };
                let ns = newset.get_or_insert_with(|| set_type_create(&ele));
                set_type_add(ns, &ele, max);
                set_type_remove(v, &ele);
            }
            let old = std::mem::replace(v, newset.unwrap_or_else(|| Value::SetInt(Intset::new())));
            set_type_for_each(&old, |m| {
                m.reply(c);
                popped.push(m.to_box());
            });
        }
    }
    for ele in popped {
        s.also_propagate.push((db, Argv::from_slices(&[&b"SREM"[..], &key, &ele])));
    }
    c.prevent_propagation = true;
    s.signal_modified_key(db, &key);
    s.dirty += 1;
}

/// SRANDMEMBER key [count]
pub fn srandmember_command(s: &mut Server, c: &mut Client) {
    if c.argv.len() == 3 {
        srandmember_with_count(s, c);
        return;
    }
    if c.argv.len() > 3 {
        c.add_reply_error("syntax error");
        return;
    }
    let key = c.argv.get(1).to_vec();
    match set_read(s, c, &key) {
        Err(()) => return,
        Ok(None) => {
            c.add_reply_null();
            return;
        }
        Ok(Some(_)) => {}
    }
    match stored_set_mut(s, c.db, &key).and_then(set_type_random) {
        Some(m) => m.reply(c),
        None => c.add_reply_null(),
    }
}

/// SRANDMEMBER key count (`srandmemberWithCountCommand`).
fn srandmember_with_count(s: &mut Server, c: &mut Client) {
    let Some(l) = get_range_long_or_reply(c, 2, -i64::MAX, i64::MAX, None) else { return };
    let (count, uniq) = (l.unsigned_abs(), l >= 0);
    let db = c.db;
    let key = c.argv.get(1).to_vec();
    let size = match set_read(s, c, &key) {
        Err(()) => return,
        Ok(None) => {
            c.add_reply_array_len(0);
            return;
        }
        Ok(Some(v)) => set_type_size(v) as u64,
    };
    if count == 0 {
        c.add_reply_array_len(0);
        return;
    }
    let Some(v) = stored_set_mut(s, db, &key) else {
        c.add_reply_array_len(0);
        return;
    };

    // Case 1: repetitions allowed (or a single member): sample each time.
    if !uniq || count == 1 {
        c.add_reply_array_len(count as usize);
        for _ in 0..count {
            match set_type_random(v) {
                Some(m) => m.reply(c),
                None => c.add_reply_null(),
            }
        }
        return;
    }

    // Case 2: at least the whole set: return it, as an array (also in
    // RESP3), in the set's own order.
    if count >= size {
        c.add_reply_array_len(size as usize);
        set_type_for_each(v, |m| m.reply(c));
        return;
    }

    let count = count as usize;
    let size = size as usize;
    let mut d: SetTable = SetTable::new();
    if count * SRANDMEMBER_SUB_STRATEGY_MUL > size {
        // Case 3: the count is close to the size: copy the set, then
        // remove random members down to the count.
        d.expand(size);
        set_type_for_each(v, |m| {
            d.insert(m.to_box(), ());
        });
        while d.len() > count {
            let Some(k) = d.random_entry().map(|(k, _)| k.clone()) else { break };
            d.remove(&k);
        }
    } else {
        // Case 4: a small count: pick random members until enough are
        // distinct.
        while d.len() < count {
            let Some(ele) = set_type_random_owned(v) else { break };
            if !d.contains_key(&ele) {
                d.insert(ele, ());
            }
        }
    }
    c.add_reply_array_len(d.len());
    for k in d.keys() {
        c.add_reply_bulk(k);
    }
}

// ---------------------------------------------------------------------------
// Intersection, union, difference.

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Diff,
}

/// Looks every key up (for writing when storing), stopping at a wrong
/// type: Err after the WRONGTYPE reply, else which keys exist.
fn lookup_sets(s: &mut Server, c: &mut Client, keys: &[Vec<u8>], write: bool, stop_at_missing: bool) -> Result<Vec<bool>, ()> {
    let db = c.db;
    let mut exists = Vec::with_capacity(keys.len());
    for k in keys {
        let found = if write { s.lookup_key_write(db, k).map(|v| is_set(v)) } else { s.lookup_key_read(db, k).map(is_set) };
        match found {
            None => {
                exists.push(false);
                if stop_at_missing {
                    return Ok(exists);
                }
            }
            Some(true) => exists.push(true),
            Some(false) => {
                c.add_reply_error(WRONGTYPE);
                return Err(());
            }
        }
    }
    Ok(exists)
}

/// Stores `result` at `dst` if non-empty (replacing whatever is there and
/// its TTL), else deletes `dst`; replies the size (the STORE forms).
fn store_result(s: &mut Server, c: &mut Client, dst: &[u8], result: Value, event: &str) {
    let db = c.db;
    let n = set_type_size(&result);
    if n > 0 {
        s.set_key(db, dst, result, false);
        c.add_reply_long_long(n as i64);
        s.notify_keyspace_event(NOTIFY_SET, event, dst, db);
        s.dirty += 1;
    } else {
        c.add_reply_long_long(0);
        if s.db_delete(db, dst) {
            s.dirty += 1;
            s.signal_modified_key(db, dst);
            s.notify_keyspace_event(NOTIFY_GENERIC, "del", dst, db);
        }
    }
}

/// SINTER and SINTERSTORE (`sinterGenericCommand`): walks the smallest
/// set and keeps the members every other set has.
fn sinter_generic(s: &mut Server, c: &mut Client, keys: &[Vec<u8>], dst: Option<&[u8]>) {
    let db = c.db;
    let Ok(exists) = lookup_sets(s, c, keys, dst.is_some(), true) else { return };
    if exists.len() < keys.len() || exists.iter().any(|e| !e) {
        // A missing key is an empty set: the intersection is empty.
        match dst {
            Some(dst) => {
                if s.db_delete(db, dst) {
                    s.signal_modified_key(db, dst);
                    s.notify_keyspace_event(NOTIFY_GENERIC, "del", dst, db);
                    s.dirty += 1;
                }
                c.add_reply_long_long(0);
            }
            None => c.add_reply_set_len(0),
        }
        return;
    }
    let max = max_intset_entries(s);
    let mut sets: Vec<&Value> = keys.iter().filter_map(|k| stored_set(s, db, k)).collect();
    sets.sort_by_key(|v| set_type_size(v));
    let Some(&first) = sets.first() else { return };
    let rest = &sets[1..];
    let keep = |m: Member<'_>| rest.iter().all(|&o| std::ptr::eq(o, first) || set_type_has(o, m));
    match dst {
        None => {
            let mut out: Vec<Member<'_>> = Vec::new();
            set_type_for_each(first, |m| {
                if keep(m) {
                    out.push(m);
                }
            });
            c.add_reply_set_len(out.len());
            for m in out {
                m.reply(c);
            }
        }
        Some(dst) => {
            let mut result = Value::SetInt(Intset::new());
            set_type_for_each(first, |m| {
                if keep(m) {
                    let mut b = itoa::Buffer::new();
                    set_type_add(&mut result, m.bytes(&mut b), max);
                }
            });
            store_result(s, c, dst, result, "sinterstore");
        }
    }
}

/// The union or difference of `sets` (None for a missing key) as a new
/// set, started as an intset (`sunionDiffGenericCommand`'s core). The
/// difference picks Redis's algorithm, which decides the result's encoding:
/// 1. walk the first set, keep members no other set has (O(N*M));
/// 2. copy the first set, remove every other set's members (O(total)).
fn sunion_diff_compute(sets: &[Option<&Value>], op: SetOp, max: usize) -> Value {
    let mut result = Value::SetInt(Intset::new());
    let mut b = itoa::Buffer::new();
    match op {
        SetOp::Union => {
            for v in sets.iter().flatten() {
                set_type_for_each(v, |m| {
                    set_type_add(&mut result, m.bytes(&mut b), max);
                });
            }
        }
        SetOp::Diff => {
            let Some(Some(first)) = sets.first() else { return result };
            let mut algo_one_work: u64 = 0;
            let mut algo_two_work: u64 = 0;
            for v in sets.iter().flatten() {
                algo_one_work += set_type_size(first) as u64;
                algo_two_work += set_type_size(v) as u64;
            }
            algo_one_work /= 2;
            if algo_one_work <= algo_two_work {
                // Largest sets first: a duplicate is found sooner.
                let mut others: Vec<Option<&Value>> = sets[1..].to_vec();
                others.sort_by_key(|v| std::cmp::Reverse(v.map_or(0, set_type_size)));
                set_type_for_each(first, |m| {
                    let dup = others.iter().flatten().any(|&o| std::ptr::eq(o, *first) || set_type_has(o, m));
                    if !dup {
                        set_type_add(&mut result, m.bytes(&mut b), max);
                    }
                });
            } else {
                for (j, v) in sets.iter().enumerate() {
                    let Some(v) = v else { continue };
                    set_type_for_each(v, |m| {
                        let e = m.bytes(&mut b);
                        if j == 0 {
                            set_type_add(&mut result, e, max);
                        } else {
                            set_type_remove(&mut result, e);
                        }
                    });
                    if set_type_size(&result) == 0 {
                        break;
                    }
                }
            }
        }
    }
    result
}

/// SUNION, SDIFF and their STORE forms (`sunionDiffGenericCommand`).
fn sunion_diff_generic(s: &mut Server, c: &mut Client, keys: &[Vec<u8>], dst: Option<&[u8]>, op: SetOp) {
    let db = c.db;
    if lookup_sets(s, c, keys, dst.is_some(), false).is_err() {
        return;
    }
    let max = max_intset_entries(s);
    let sets: Vec<Option<&Value>> = keys.iter().map(|k| stored_set(s, db, k)).collect();
    let result = sunion_diff_compute(&sets, op, max);
    match dst {
        None => reply_set(c, &result),
        Some(dst) => {
            let event = if op == SetOp::Union { "sunionstore" } else { "sdiffstore" };
            store_result(s, c, dst, result, event);
        }
    }
}

fn key_args(c: &Client, from: usize) -> Vec<Vec<u8>> {
    (from..c.argv.len()).map(|j| c.argv.get(j).to_vec()).collect()
}

/// SINTER key [key ...]
pub fn sinter_command(s: &mut Server, c: &mut Client) {
    let keys = key_args(c, 1);
    sinter_generic(s, c, &keys, None);
}

/// SINTERSTORE destination key [key ...]
pub fn sinterstore_command(s: &mut Server, c: &mut Client) {
    let keys = key_args(c, 2);
    let dst = c.argv.get(1).to_vec();
    sinter_generic(s, c, &keys, Some(&dst));
}

/// SUNION key [key ...]
pub fn sunion_command(s: &mut Server, c: &mut Client) {
    let keys = key_args(c, 1);
    sunion_diff_generic(s, c, &keys, None, SetOp::Union);
}

/// SUNIONSTORE destination key [key ...]
pub fn sunionstore_command(s: &mut Server, c: &mut Client) {
    let keys = key_args(c, 2);
    let dst = c.argv.get(1).to_vec();
    sunion_diff_generic(s, c, &keys, Some(&dst), SetOp::Union);
}

/// SDIFF key [key ...]
pub fn sdiff_command(s: &mut Server, c: &mut Client) {
    let keys = key_args(c, 1);
    sunion_diff_generic(s, c, &keys, None, SetOp::Diff);
}

/// SDIFFSTORE destination key [key ...]
pub fn sdiffstore_command(s: &mut Server, c: &mut Client) {
    let keys = key_args(c, 2);
    let dst = c.argv.get(1).to_vec();
    sunion_diff_generic(s, c, &keys, Some(&dst), SetOp::Diff);
}

// ---------------------------------------------------------------------------
// SSCAN.

/// SSCAN key cursor [MATCH pattern] [COUNT count]: an intset is returned
/// whole with cursor 0; a hashtable is scanned with the dict cursor.
pub fn sscan_command(s: &mut Server, c: &mut Client) {
    let Some(mut cursor) = parse_scan_cursor(c.argv.get(2)) else {
        c.add_reply_error("invalid cursor");
        return;
    };
    let key = c.argv.get(1).to_vec();
    match set_read(s, c, &key) {
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
    let Some(v) = stored_set(s, c.db, &key) else { return };
    let mut items: Vec<Box<[u8]>> = Vec::new();
    match v {
        Value::SetHt(d) => {
            let mut maxiterations = opts.count * 10;
            loop {
                cursor = d.scan(cursor, |k, _| items.push(k.clone()));
                if cursor == 0 || maxiterations == 0 || items.len() >= opts.count {
                    break;
                }
                maxiterations -= 1;
            }
        }
        _ => {
            set_type_for_each(v, |m| items.push(m.to_box()));
            cursor = 0;
        }
    }
    if let Some(p) = &opts.pattern {
        items.retain(|k| string_match(p, k, false));
    }
    c.add_reply_array_len(2);
    c.add_reply_bulk(itoa::Buffer::new().format(cursor).as_bytes());
    c.add_reply_array_len(items.len());
    for k in &items {
        c.add_reply_bulk(k);
    }
}
