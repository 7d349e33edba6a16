//! Sorted set commands (mirrors t_zset.c): ZADD and friends, ranges by
//! rank, score and lex, removals, pops (blocking ones served through
//! blocked.rs), the set operations, ZRANDMEMBER and ZSCAN.
//!
//! A sorted set has two encodings (object.rs):
//! 1. `Value::ZsetZl`: a bare ziplist of member, score, member, score...
//!    ordered by score then member bytes; scores are stored as Redis's
//!    `d2string` text (so integral scores become ziplist integers). It is
//!    used while the set has at most `zset-max-ziplist-entries` elements
//!    and no member longer than `zset-max-ziplist-value` bytes.
//! 2. `Value::ZsetSl`: dict + skiplist (skiplist.rs). A set converts to it
//!    the moment an insertion would break either limit, and never back,
//!    except that the results of ZUNIONSTORE / ZINTERSTORE / ZDIFFSTORE are
//!    built as a skiplist and converted down if they fit
//!    (`zsetConvertToZiplistIfNeeded`), while ZRANGESTORE builds its result
//!    as ZADD would, starting from a ziplist (Redis 6.2).
//!
//! Commands read either encoding through [`ZRef`] and write through the
//! `zset_*` functions on a `&mut Value`, as Redis's `zset*` layer does.
//! Scores are replied as Redis 6.2 does in RESP2: `%.17g`, `inf`, `-inf`.

use crate::blocked::{get_timeout_or_reply, BlockType, BlockingState};
use crate::client::*;
use crate::commands::args::{get_double_or_reply, get_long_or_reply};
use crate::commands::keys::{parse_scan_cursor, parse_scan_opts};
use crate::commands::strings::WRONGTYPE;
use crate::commands::{arg_is, reply_syntax_error, CommandDef};
use crate::config::{NOTIFY_GENERIC, NOTIFY_ZSET};
use crate::object::Value;
use crate::proto::Argv;
use crate::server::Server;
use crate::skiplist::{normalize_rank_range, ZLexRangeSpec, ZRangeSpec, ZaddFlags, ZaddOutcome, Zset, ZsetError};
use crate::util::{d2string, string_match, strtod_exact};
use crate::ziplist::{Where, ZlEntry, ZlPos, Ziplist};

macro_rules! cmd {
    ($name:expr, $f:expr, $arity:expr, $flags:expr, $fk:expr, $lk:expr, $ks:expr) => {
        CommandDef { name: $name, proc_: $f, arity: $arity, sflags: $flags, firstkey: $fk, lastkey: $lk, keystep: $ks }
    };
}

pub static COMMANDS: &[CommandDef] = &[
    cmd!("zadd", zadd_command, -4, "write use-memory fast @sortedset", 1, 1, 1),
    cmd!("zincrby", zincrby_command, 4, "write use-memory fast @sortedset", 1, 1, 1),
    cmd!("zrem", zrem_command, -3, "write fast @sortedset", 1, 1, 1),
    cmd!("zremrangebyscore", zremrangebyscore_command, 4, "write @sortedset", 1, 1, 1),
    cmd!("zremrangebyrank", zremrangebyrank_command, 4, "write @sortedset", 1, 1, 1),
    cmd!("zremrangebylex", zremrangebylex_command, 4, "write @sortedset", 1, 1, 1),
    cmd!("zunionstore", zunionstore_command, -4, "write use-memory @sortedset", 1, 1, 1),
    cmd!("zinterstore", zinterstore_command, -4, "write use-memory @sortedset", 1, 1, 1),
    cmd!("zdiffstore", zdiffstore_command, -4, "write use-memory @sortedset", 1, 1, 1),
    cmd!("zunion", zunion_command, -3, "read-only @sortedset", 0, 0, 0),
    cmd!("zinter", zinter_command, -3, "read-only @sortedset", 0, 0, 0),
    cmd!("zdiff", zdiff_command, -3, "read-only @sortedset", 0, 0, 0),
    cmd!("zrange", zrange_command, -4, "read-only @sortedset", 1, 1, 1),
    cmd!("zrangestore", zrangestore_command, -5, "write use-memory @sortedset", 1, 2, 1),
    cmd!("zrangebyscore", zrangebyscore_command, -4, "read-only @sortedset", 1, 1, 1),
    cmd!("zrevrangebyscore", zrevrangebyscore_command, -4, "read-only @sortedset", 1, 1, 1),
    cmd!("zrangebylex", zrangebylex_command, -4, "read-only @sortedset", 1, 1, 1),
    cmd!("zrevrangebylex", zrevrangebylex_command, -4, "read-only @sortedset", 1, 1, 1),
    cmd!("zcount", zcount_command, 4, "read-only fast @sortedset", 1, 1, 1),
    cmd!("zlexcount", zlexcount_command, 4, "read-only fast @sortedset", 1, 1, 1),
    cmd!("zrevrange", zrevrange_command, -4, "read-only @sortedset", 1, 1, 1),
    cmd!("zcard", zcard_command, 2, "read-only fast @sortedset", 1, 1, 1),
    cmd!("zscore", zscore_command, 3, "read-only fast @sortedset", 1, 1, 1),
    cmd!("zmscore", zmscore_command, -3, "read-only fast @sortedset", 1, 1, 1),
    cmd!("zrank", zrank_command, 3, "read-only fast @sortedset", 1, 1, 1),
    cmd!("zrevrank", zrevrank_command, 3, "read-only fast @sortedset", 1, 1, 1),
    cmd!("zscan", zscan_command, -3, "read-only random @sortedset", 1, 1, 1),
    cmd!("zpopmin", zpopmin_command, -2, "write fast @sortedset", 1, 1, 1),
    cmd!("zpopmax", zpopmax_command, -2, "write fast @sortedset", 1, 1, 1),
    cmd!("bzpopmin", bzpopmin_command, -3, "write no-script fast @sortedset @blocking", 1, -2, 1),
    cmd!("bzpopmax", bzpopmax_command, -3, "write no-script fast @sortedset @blocking", 1, -2, 1),
    cmd!("zrandmember", zrandmember_command, -2, "read-only random @sortedset", 1, 1, 1),
];

const NAN_ERR: &str = "resulting score is not a number (NaN)";
const SCORE_RANGE_ERR: &str = "min or max is not a float";
const LEX_RANGE_ERR: &str = "min or max not valid string range item";

// ---------------------------------------------------------------------------
// The ziplist encoding (`zzl*`).

/// The score stored in a ziplist entry (`zzlGetScore`): an integer entry,
/// or text written by `d2string`.
fn zzl_score(e: ZlEntry<'_>) -> f64 {
    match e {
        ZlEntry::Int(v) => v as f64,
        ZlEntry::Str(b) => strtod_exact(b).unwrap_or(0.0),
    }
}

/// (member, score) pairs of a ziplist-encoded set, in either direction.
struct ZlPairs<'a> {
    it: crate::ziplist::Iter<'a>,
}

impl<'a> Iterator for ZlPairs<'a> {
    type Item = (ZlEntry<'a>, f64);
    fn next(&mut self) -> Option<Self::Item> {
        let m = self.it.next()?;
        let s = self.it.next()?;
        Some((m, zzl_score(s)))
    }
}

impl DoubleEndedIterator for ZlPairs<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let s = self.it.next_back()?;
        let m = self.it.next_back()?;
        Some((m, zzl_score(s)))
    }
}

fn zzl_pairs(zl: &Ziplist) -> ZlPairs<'_> {
    ZlPairs { it: zl.iter() }
}

/// The position of `member` and its score (`zzlFind`).
fn zzl_find(zl: &Ziplist, member: &[u8]) -> Option<(ZlPos, f64)> {
    let mut p = zl.first();
    while let Some(mp) = p {
        let sp = zl.next(mp)?;
        if zl.get(mp).eq_bytes(member) {
            return Some((mp, zzl_score(zl.get(sp))));
        }
        p = zl.next(sp);
    }
    None
}

/// Deletes the pair whose member is at `p` (`zzlDelete`: two deletes).
fn zzl_delete(zl: &mut Ziplist, p: ZlPos) {
    if let Some(next) = zl.delete(p) {
        zl.delete(next);
    }
}

/// Inserts a member that is not in the list at its place by (score,
/// member) (`zzlInsert`).
fn zzl_insert(zl: &mut Ziplist, member: &[u8], score: f64) {
    let sbuf = d2string(score);
    let mut p = zl.first();
    while let Some(mp) = p {
        let Some(sp) = zl.next(mp) else { break };
        let s = zzl_score(zl.get(sp));
        if s > score || (s == score && zl.get(mp).cmp_bytes(member) == std::cmp::Ordering::Greater) {
            let mp = zl.insert(mp, member);
            zl.insert_after(mp, sbuf.as_bytes());
            return;
        }
        p = zl.next(sp);
    }
    zl.push(member, Where::Tail);
    zl.push(sbuf.as_bytes(), Where::Tail);
}

/// A ziplist-encoded copy of a skiplist-encoded set (its order is the
/// ziplist's order).
fn zsl_to_ziplist(z: &Zset) -> Ziplist {
    let mut zl = Ziplist::new();
    for (m, s) in z.iter() {
        zl.push(m, Where::Tail);
        zl.push(d2string(s).as_bytes(), Where::Tail);
    }
    zl
}

/// A skiplist-encoded copy of a ziplist-encoded set (`zsetConvert`).
fn ziplist_to_zsl(zl: &Ziplist) -> Zset {
    let mut z = Zset::with_capacity(zl.len() / 2);
    for (m, s) in zzl_pairs(zl) {
        let mut b = crate::ziplist::NumBuf::new();
        let _ = z.insert_or_update(m.as_bytes(&mut b), s);
    }
    z
}

fn reply_entry(c: &mut Client, e: ZlEntry<'_>) {
    match e {
        ZlEntry::Str(s) => c.add_reply_bulk(s),
        ZlEntry::Int(v) => c.add_reply_bulk_long_long(v),
    }
}

// ---------------------------------------------------------------------------
// Both encodings.

/// A sorted set for reading, whatever its encoding.
#[derive(Clone, Copy)]
enum ZRef<'a> {
    Zl(&'a Ziplist),
    Sl(&'a Zset),
}

impl<'a> ZRef<'a> {
    fn of(v: &'a Value) -> Option<ZRef<'a>> {
        match v {
            Value::ZsetZl(zl) => Some(ZRef::Zl(zl)),
            Value::ZsetSl(z) => Some(ZRef::Sl(z)),
            _ => None,
        }
    }

    fn len(self) -> usize {
        match self {
            ZRef::Zl(zl) => zl.len() / 2,
            ZRef::Sl(z) => z.len(),
        }
    }

    fn score(self, member: &[u8]) -> Option<f64> {
        match self {
            ZRef::Zl(zl) => zzl_find(zl, member).map(|(_, s)| s),
            ZRef::Sl(z) => z.score(member),
        }
    }

    /// 0-based rank from the lowest score (from the highest if `reverse`).
    fn rank(self, member: &[u8], reverse: bool) -> Option<usize> {
        match self {
            ZRef::Zl(zl) => {
                let r = zzl_pairs(zl).position(|(m, _)| m.eq_bytes(member))?;
                Some(if reverse { zl.len() / 2 - 1 - r } else { r })
            }
            ZRef::Sl(z) => z.rank(member, reverse),
        }
    }

    /// Calls `f` on every element, ascending.
    fn for_each(self, mut f: impl FnMut(ZlEntry<'_>, f64)) {
        match self {
            ZRef::Zl(zl) => zzl_pairs(zl).for_each(|(m, s)| f(m, s)),
            ZRef::Sl(z) => z.iter().for_each(|(m, s)| f(ZlEntry::Str(m), s)),
        }
    }
}

/// `zset-max-ziplist-entries` and `zset-max-ziplist-value`.
#[derive(Clone, Copy)]
struct ZlLimits {
    entries: i64,
    value: i64,
}

impl ZlLimits {
    fn of(s: &Server) -> ZlLimits {
        ZlLimits { entries: s.config.zset_max_ziplist_entries, value: s.config.zset_max_ziplist_value }
    }
}

/// The length of a sorted set value (0 for other types).
fn zset_length(v: &Value) -> usize {
    ZRef::of(v).map_or(0, |z| z.len())
}

/// Converts a ziplist-encoded set to the skiplist encoding in place.
pub(crate) fn zset_convert_to_skiplist(v: &mut Value) {
    if let Value::ZsetZl(zl) = v {
        let z = ziplist_to_zsl(zl);
        *v = Value::ZsetSl(Box::new(z));
    }
}

/// Converts a skiplist-encoded set to a ziplist (the caller checked the
/// limits): RDB loading of small sets written element by element.
pub(crate) fn zset_convert_to_ziplist(v: &mut Value) {
    if let Value::ZsetSl(z) = v {
        *v = Value::ZsetZl(zsl_to_ziplist(z));
    }
}

/// Converts a skiplist-encoded set down to a ziplist if it fits the limits
/// (`zsetConvertToZiplistIfNeeded`); `maxelelen` is its longest member.
fn zset_convert_to_ziplist_if_needed(s: &Server, v: &mut Value, maxelelen: usize) {
    if let Value::ZsetSl(z) = v {
        if z.len() as i64 <= s.config.zset_max_ziplist_entries && maxelelen as i64 <= s.config.zset_max_ziplist_value {
            let zl = zsl_to_ziplist(z);
            *v = Value::ZsetZl(zl);
        }
    }
}

/// ZADD's core over both encodings (`zsetAdd`), converting a ziplist that
/// would break the limits. Returns what happened and the score after.
fn zset_add(lim: ZlLimits, v: &mut Value, member: &[u8], score: f64, flags: ZaddFlags) -> Result<(ZaddOutcome, f64), ZsetError> {
    if score.is_nan() {
        return Err(ZsetError::NanScore);
    }
    if let Value::ZsetZl(zl) = v {
        match zzl_find(zl, member) {
            Some((p, cur)) => {
                let new = match flags.new_score(cur, score)? {
                    Ok(new) => new,
                    Err(unchanged) => return Ok(unchanged),
                };
                zzl_delete(zl, p);
                zzl_insert(zl, member, new);
                return Ok((ZaddOutcome::Updated, new));
            }
            None => {
                if flags.xx {
                    return Ok((ZaddOutcome::Nop, score));
                }
                if (zl.len() / 2 + 1) as i64 > lim.entries
                    || member.len() as i64 > lim.value
                    || !zl.safe_to_add(member.len())
                {
                    zset_convert_to_skiplist(v);
                } else {
                    zzl_insert(zl, member, score);
                    return Ok((ZaddOutcome::Added, score));
                }
            }
        }
    }
    match v {
        Value::ZsetSl(z) => z.add(member, score, flags),
        _ => Ok((ZaddOutcome::Nop, score)),
    }
}

/// Removes `member`; true if it was there (`zsetDel`).
fn zset_del(v: &mut Value, member: &[u8]) -> bool {
    match v {
        Value::ZsetZl(zl) => match zzl_find(zl, member) {
            Some((p, _)) => {
                zzl_delete(zl, p);
                true
            }
            None => false,
        },
        Value::ZsetSl(z) => z.remove(member).is_some(),
        _ => false,
    }
}

/// An empty sorted set as ZADD creates it for its first member (Redis 6.2
/// looks at that member's length only).
fn zset_create_for(s: &Server, first_member_len: usize) -> Value {
    if s.config.zset_max_ziplist_entries == 0 || s.config.zset_max_ziplist_value < first_member_len as i64 {
        Value::ZsetSl(Box::default())
    } else {
        Value::ZsetZl(Ziplist::new())
    }
}

// ---------------------------------------------------------------------------
// Lookups.

/// The sorted set at `key` for reading: Ok(None) if missing, Err after a
/// WRONGTYPE reply.
fn zset_read<'a>(s: &'a mut Server, c: &mut Client, key: &[u8]) -> Result<Option<ZRef<'a>>, ()> {
    zset_checked(s.lookup_key_read(c.db, key), c)
}

/// As `zset_read`, for the key at `argv[i]`: no copy of the key name.
fn zset_read_at<'a>(s: &'a mut Server, c: &mut Client, i: usize) -> Result<Option<ZRef<'a>>, ()> {
    zset_checked(s.lookup_key_read(c.db, c.argv.get(i)), c)
}

/// The type check of a read lookup: a sorted set, nothing, or a
/// WRONGTYPE reply.
fn zset_checked<'a>(found: Option<&'a Value>, c: &mut Client) -> Result<Option<ZRef<'a>>, ()> {
    match found {
        None => Ok(None),
        Some(v) => match ZRef::of(v) {
            Some(z) => Ok(Some(z)),
            None => {
                c.add_reply_error(WRONGTYPE);
                Err(())
            }
        },
    }
}

/// The sorted set at `key` for writing, as `zset_read`.
fn zset_write<'a>(s: &'a mut Server, c: &mut Client, key: &[u8]) -> Result<Option<&'a mut Value>, ()> {
    match s.lookup_key_write(c.db, key) {
        None => Ok(None),
        Some(v @ (Value::ZsetZl(_) | Value::ZsetSl(_))) => Ok(Some(v)),
        Some(_) => {
            c.add_reply_error(WRONGTYPE);
            Err(())
        }
    }
}

/// The stored value of `key` in `db`, with no expiry check or touch: for
/// re-borrowing after a lookup in the same command.
fn raw_value<'a>(s: &'a mut Server, db: usize, key: &[u8]) -> Option<&'a mut Value> {
    s.dbs[db].dict.get_mut(key).map(|o| &mut o.val)
}

/// Deletes the set at `key` if it became empty, with the `del` event;
/// true if it did.
fn delete_if_empty(s: &mut Server, db: usize, key: &[u8]) -> bool {
    let empty = matches!(raw_value(s, db, key), Some(v) if zset_length(v) == 0);
    if empty {
        s.db_delete(db, key);
        s.notify_keyspace_event(NOTIFY_GENERIC, "del", key, db);
    }
    empty
}

// ---------------------------------------------------------------------------
// ZADD, ZINCRBY, ZREM.

fn zadd_generic(s: &mut Server, c: &mut Client, mut flags: ZaddFlags) {
    let mut ch = false;
    let mut scoreidx = 2;
    while scoreidx < c.argv.len() {
        let opt = c.argv.get(scoreidx);
        if arg_is(opt, "nx") {
            flags.nx = true;
        } else if arg_is(opt, "xx") {
            flags.xx = true;
        } else if arg_is(opt, "ch") {
            ch = true;
        } else if arg_is(opt, "incr") {
            flags.incr = true;
        } else if arg_is(opt, "gt") {
            flags.gt = true;
        } else if arg_is(opt, "lt") {
            flags.lt = true;
        } else {
            break;
        }
        scoreidx += 1;
    }
    let elements = c.argv.len() - scoreidx;
    if !elements.is_multiple_of(2) || elements == 0 {
        reply_syntax_error(c);
        return;
    }
    let elements = elements / 2;
    if flags.nx && flags.xx {
        c.add_reply_error("XX and NX options at the same time are not compatible");
        return;
    }
    if (flags.nx && (flags.gt || flags.lt)) || (flags.gt && flags.lt) {
        c.add_reply_error("GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if flags.incr && elements > 1 {
        c.add_reply_error("INCR option supports a single increment-element pair");
        return;
    }
    // All scores are checked before the set is touched; up to 8 of them
    // (the common case) live on the stack.
    let mut few = [0.0f64; 8];
    let mut many = Vec::new();
    let scores: &mut [f64] = if elements <= few.len() {
        &mut few[..elements]
    } else {
        many.resize(elements, 0.0);
        &mut many
    };
    for (j, sc) in scores.iter_mut().enumerate() {
        let Some(v) = get_double_or_reply(c, scoreidx + j * 2, None) else { return };
        *sc = v;
    }
    let db = c.db;
    let lim = ZlLimits::of(s);
    // One lookup of the key when it exists (the key name is not copied).
    let done = match s.lookup_key_write(db, c.argv.get(1)) {
        None => None,
        Some(v @ (Value::ZsetZl(_) | Value::ZsetSl(_))) => Some(zadd_elements(lim, v, c, scoreidx, scores, flags)),
        Some(_) => {
            c.add_reply_error(WRONGTYPE);
            return;
        }
    };
    let (added, updated, processed, score, nan) = match done {
        Some(r) => r,
        None if flags.xx => (0, 0, 0, 0.0, false),
        None => {
            let v = zset_create_for(s, c.argv.get(scoreidx + 1).len());
            s.db_add(db, c.argv.get(1), v);
            match raw_value(s, db, c.argv.get(1)) {
                Some(v) => zadd_elements(lim, v, c, scoreidx, scores, flags),
                None => (0, 0, 0, 0.0, false),
            }
        }
    };
    if nan {
        c.add_reply_error(NAN_ERR);
    } else {
        s.dirty += added + updated;
        if flags.incr {
            if processed > 0 {
                c.add_reply_double(score);
            } else {
                c.add_reply_null();
            }
        } else {
            c.add_reply_long_long((if ch { added + updated } else { added }) as i64);
        }
    }
    if added > 0 || updated > 0 {
        s.signal_modified_key(db, c.argv.get(1));
        s.notify_keyspace_event(NOTIFY_ZSET, if flags.incr { "zincr" } else { "zadd" }, c.argv.get(1), db);
    }
}

/// Adds ZADD's score/member pairs (members at `argv[scoreidx + 1 + 2j]`)
/// to the sorted set `v`; returns (added, updated, processed, last
/// score, whether a NaN stopped it).
fn zadd_elements(
    lim: ZlLimits,
    v: &mut Value,
    c: &Client,
    scoreidx: usize,
    scores: &[f64],
    flags: ZaddFlags,
) -> (u64, u64, u64, f64, bool) {
    let (mut added, mut updated, mut processed) = (0u64, 0u64, 0u64);
    let mut score = 0.0;
    for (j, &sc) in scores.iter().enumerate() {
        let member = c.argv.get(scoreidx + 1 + j * 2);
        match zset_add(lim, v, member, sc, flags) {
            Err(_) => return (added, updated, processed, score, true),
            Ok((out, newscore)) => {
                match out {
                    ZaddOutcome::Added => added += 1,
                    ZaddOutcome::Updated => updated += 1,
                    _ => {}
                }
                if out != ZaddOutcome::Nop {
                    processed += 1;
                }
                score = newscore;
            }
        }
    }
    (added, updated, processed, score, false)
}

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
pub fn zadd_command(s: &mut Server, c: &mut Client) {
    zadd_generic(s, c, ZaddFlags::default());
}

/// ZINCRBY key increment member
pub fn zincrby_command(s: &mut Server, c: &mut Client) {
    zadd_generic(s, c, ZaddFlags { incr: true, ..Default::default() });
}

/// ZREM key member [member ...]
pub fn zrem_command(s: &mut Server, c: &mut Client) {
    let db = c.db;
    let key = c.argv.get(1).to_vec();
    let v = match zset_write(s, c, &key) {
        Err(()) => return,
        Ok(None) => {
            c.add_reply_long_long(0);
            return;
        }
        Ok(Some(v)) => v,
    };
    let mut deleted = 0u64;
    for j in 2..c.argv.len() {
        if zset_del(v, c.argv.get(j)) {
            deleted += 1;
        }
        if zset_length(v) == 0 {
            break;
        }
    }
    if deleted > 0 {
        s.notify_keyspace_event(NOTIFY_ZSET, "zrem", &key, db);
        delete_if_empty(s, db, &key);
        s.signal_modified_key(db, &key);
        s.dirty += deleted;
    }
    c.add_reply_long_long(deleted as i64);
}

// ---------------------------------------------------------------------------
// Single-element reads.

/// ZCARD key
pub fn zcard_command(s: &mut Server, c: &mut Client) {
    match zset_read_at(s, c, 1) {
        Err(()) => {}
        Ok(None) => c.add_reply_long_long(0),
        Ok(Some(z)) => {
            let n = z.len();
            c.add_reply_long_long(n as i64)
        }
    }
}

/// ZSCORE key member
pub fn zscore_command(s: &mut Server, c: &mut Client) {
    let z = match zset_read_at(s, c, 1) {
        Err(()) => return,
        Ok(None) => {
            c.add_reply_null();
            return;
        }
        Ok(Some(z)) => z,
    };
    match z.score(c.argv.get(2)) {
        Some(v) => c.add_reply_double(v),
        None => c.add_reply_null(),
    }
}

/// ZMSCORE key member [member ...]
pub fn zmscore_command(s: &mut Server, c: &mut Client) {
    let z = match zset_read_at(s, c, 1) {
        Err(()) => return,
        Ok(z) => z,
    };
    c.add_reply_array_len(c.argv.len() - 2);
    for j in 2..c.argv.len() {
        match z.and_then(|z| z.score(c.argv.get(j))) {
            Some(v) => c.add_reply_double(v),
            None => c.add_reply_null(),
        }
    }
}

fn zrank_generic(s: &mut Server, c: &mut Client, reverse: bool) {
    let key = c.argv.get(1).to_vec();
    let z = match zset_read(s, c, &key) {
        Err(()) => return,
        Ok(None) => {
            c.add_reply_null();
            return;
        }
        Ok(Some(z)) => z,
    };
    match z.rank(c.argv.get(2), reverse) {
        Some(r) => c.add_reply_long_long(r as i64),
        None => c.add_reply_null(),
    }
}

/// ZRANK key member
pub fn zrank_command(s: &mut Server, c: &mut Client) {
    zrank_generic(s, c, false);
}

/// ZREVRANK key member
pub fn zrevrank_command(s: &mut Server, c: &mut Client) {
    zrank_generic(s, c, true);
}

// ---------------------------------------------------------------------------
// Ranges.

/// What a range selects (`zrange_type`), with its parsed bounds.
enum RangeKind {
    Rank(i64, i64),
    Score(ZRangeSpec),
    Lex(ZLexRangeSpec),
}

/// Parses a score range or replies Redis's error.
fn parse_score_range(c: &mut Client, min: usize, max: usize) -> Option<ZRangeSpec> {
    let r = ZRangeSpec::parse(c.argv.get(min), c.argv.get(max), strtod_exact);
    if r.is_none() {
        c.add_reply_error(SCORE_RANGE_ERR);
    }
    r
}

/// Parses a lex range or replies Redis's error.
fn parse_lex_range(c: &mut Client, min: usize, max: usize) -> Option<ZLexRangeSpec> {
    let r = ZLexRangeSpec::parse(c.argv.get(min), c.argv.get(max));
    if r.is_none() {
        c.add_reply_error(LEX_RANGE_ERR);
    }
    r
}

/// Calls `f` on the elements of the range, in the walk's order. For score
/// and lex ranges `offset` elements are skipped first (a negative offset
/// selects nothing, as Redis's `while (offset--)` skips to the end) and at
/// most `limit` are visited (negative: no limit).
fn zset_range_walk(z: ZRef<'_>, kind: &RangeKind, reverse: bool, offset: i64, limit: i64, mut f: impl FnMut(ZlEntry<'_>, f64)) {
    let len = z.len();
    if let RangeKind::Rank(start, end) = *kind {
        let Some((start, end)) = normalize_rank_range(start, end, len) else { return };
        let n = end - start + 1;
        match z {
            ZRef::Zl(zl) => {
                if reverse {
                    zzl_pairs(zl).rev().skip(start).take(n).for_each(|(m, s)| f(m, s));
                } else {
                    zzl_pairs(zl).skip(start).take(n).for_each(|(m, s)| f(m, s));
                }
            }
            ZRef::Sl(zs) => zs.range_by_rank(start, end, reverse).for_each(|(m, s)| f(ZlEntry::Str(m), s)),
        }
        return;
    }
    if offset < 0 || (offset > 0 && offset as u64 >= len as u64) {
        return;
    }
    let offset = offset as usize;
    let limit = if limit < 0 { usize::MAX } else { limit as usize };
    match (z, kind) {
        (ZRef::Sl(zs), RangeKind::Score(r)) => {
            zs.range_by_score(r, reverse, offset, Some(limit)).for_each(|(m, s)| f(ZlEntry::Str(m), s))
        }
        (ZRef::Sl(zs), RangeKind::Lex(r)) => {
            zs.range_by_lex(r, reverse, offset, Some(limit)).for_each(|(m, s)| f(ZlEntry::Str(m), s))
        }
        (ZRef::Zl(zl), _) => {
            let Some((start, n)) = zzl_range_run(zl, kind, reverse) else { return };
            if offset >= n {
                return;
            }
            let take = (n - offset).min(limit);
            if reverse {
                zzl_pairs(zl).rev().skip(start + offset).take(take).for_each(|(m, s)| f(m, s));
            } else {
                zzl_pairs(zl).skip(start + offset).take(take).for_each(|(m, s)| f(m, s));
            }
        }
        (_, RangeKind::Rank(..)) => {}
    }
}

/// Where a score or lex range starts in a ziplist and how many pairs it
/// spans, as Redis walks it (`zzlFirstInRange` / `zzlLastInRange` and
/// their lex forms, then on while the far bound holds): `start` counts
/// pairs from the head, or from the tail when `reverse`. None when
/// `zzlIsInRange` says nothing can match (it looks at the first and last
/// elements only, which matters for lex ranges over unequal scores).
fn zzl_range_run(zl: &Ziplist, kind: &RangeKind, reverse: bool) -> Option<(usize, usize)> {
    let (fm, fs) = zzl_pairs(zl).next()?;
    let (lm, ls) = zzl_pairs(zl).next_back()?;
    if range_is_empty(kind) || !range_gte_min(kind, &lm, ls) || !range_lte_max(kind, &fm, fs) {
        return None;
    }
    type Bound = fn(&RangeKind, &ZlEntry<'_>, f64) -> bool;
    let (near, far): (Bound, Bound) = if reverse { (range_lte_max, range_gte_min) } else { (range_gte_min, range_lte_max) };
    let run = |it: &mut dyn Iterator<Item = (ZlEntry<'_>, f64)>| -> Option<(usize, usize)> {
        let mut start = 0;
        loop {
            let (m, s) = it.next()?;
            if near(kind, &m, s) {
                if !far(kind, &m, s) {
                    return None;
                }
                break;
            }
            start += 1;
        }
        let n = 1 + it.take_while(|(m, s)| far(kind, m, *s)).count();
        Some((start, n))
    };
    if reverse {
        run(&mut zzl_pairs(zl).rev())
    } else {
        run(&mut zzl_pairs(zl))
    }
}

fn range_is_empty(kind: &RangeKind) -> bool {
    match kind {
        RangeKind::Score(r) => r.is_empty(),
        RangeKind::Lex(r) => r.is_empty(),
        RangeKind::Rank(..) => true,
    }
}

fn range_gte_min(kind: &RangeKind, m: &ZlEntry<'_>, s: f64) -> bool {
    match kind {
        RangeKind::Score(r) => r.value_gte_min(s),
        RangeKind::Lex(r) => r.value_gte_min(m.as_bytes(&mut crate::ziplist::NumBuf::new())),
        RangeKind::Rank(..) => false,
    }
}

fn range_lte_max(kind: &RangeKind, m: &ZlEntry<'_>, s: f64) -> bool {
    match kind {
        RangeKind::Score(r) => r.value_lte_max(s),
        RangeKind::Lex(r) => r.value_lte_max(m.as_bytes(&mut crate::ziplist::NumBuf::new())),
        RangeKind::Rank(..) => false,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeType {
    Auto,
    Rank,
    Score,
    Lex,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Auto,
    Forward,
    Reverse,
}

/// Builds the destination of ZRANGESTORE from its elements as Redis 6.2
/// does: a ziplist to which each element is added as by ZADD.
fn build_stored_range(lim: ZlLimits, elements: &[(Vec<u8>, f64)]) -> Value {
    let mut v = Value::ZsetZl(Ziplist::new());
    for (m, sc) in elements {
        let _ = zset_add(lim, &mut v, m, *sc, ZaddFlags::default());
    }
    v
}

/// Stores a ZRANGESTORE / set operation result under `dst` (or deletes
/// `dst` when it is empty) and replies its length
/// (`zrangeResultFinalizeStore`).
fn store_result(s: &mut Server, c: &mut Client, dst: &[u8], v: Value, event: &str) {
    let db = c.db;
    let n = zset_length(&v);
    if n > 0 {
        s.set_key(db, dst, v, false);
        c.add_reply_long_long(n as i64);
        s.notify_keyspace_event(NOTIFY_ZSET, event, dst, db);
        s.dirty += 1;
    } else {
        c.add_reply_long_long(0);
        if s.db_delete(db, dst) {
            s.signal_modified_key(db, dst);
            s.notify_keyspace_event(NOTIFY_GENERIC, "del", dst, db);
            s.dirty += 1;
        }
    }
}

/// ZRANGE and its variants (`zrangeGenericCommand`): the source key is at
/// `argc_start`, its two bounds after it, then the options.
fn zrange_generic(s: &mut Server, c: &mut Client, argc_start: usize, store: bool, mut rangetype: RangeType, mut direction: Direction) {
    let mut minidx = argc_start + 1;
    let mut maxidx = argc_start + 2;
    let mut withscores = false;
    let mut offset: i64 = 0;
    let mut limit: i64 = -1;
    let mut j = argc_start + 3;
    while j < c.argv.len() {
        let left = c.argv.len() - j - 1;
        let a = c.argv.get(j);
        if !store && arg_is(a, "withscores") {
            withscores = true;
        } else if arg_is(a, "limit") && left >= 2 {
            let Some(o) = get_long_or_reply(c, j + 1, None) else { return };
            let Some(l) = get_long_or_reply(c, j + 2, None) else { return };
            offset = o;
            limit = l;
            j += 2;
        } else if direction == Direction::Auto && arg_is(a, "rev") {
            direction = Direction::Reverse;
        } else if rangetype == RangeType::Auto && arg_is(a, "bylex") {
            rangetype = RangeType::Lex;
        } else if rangetype == RangeType::Auto && arg_is(a, "byscore") {
            rangetype = RangeType::Score;
        } else {
            reply_syntax_error(c);
            return;
        }
        j += 1;
    }
    if direction == Direction::Auto {
        direction = Direction::Forward;
    }
    if rangetype == RangeType::Auto {
        rangetype = RangeType::Rank;
    }
    if limit != -1 && rangetype == RangeType::Rank {
        c.add_reply_error("syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
        return;
    }
    if withscores && rangetype == RangeType::Lex {
        c.add_reply_error("syntax error, WITHSCORES not supported in combination with BYLEX");
        return;
    }
    let reverse = direction == Direction::Reverse;
    if reverse && rangetype != RangeType::Rank {
        std::mem::swap(&mut minidx, &mut maxidx);
    }
    let kind = match rangetype {
        RangeType::Score => {
            let Some(r) = parse_score_range(c, minidx, maxidx) else { return };
            RangeKind::Score(r)
        }
        RangeType::Lex => {
            let Some(r) = parse_lex_range(c, minidx, maxidx) else { return };
            RangeKind::Lex(r)
        }
        _ => {
            let Some(a) = get_long_or_reply(c, minidx, None) else { return };
            let Some(b) = get_long_or_reply(c, maxidx, None) else { return };
            RangeKind::Rank(a, b)
        }
    };
    let key = c.argv.get(argc_start).to_vec();
    if store {
        let dst = c.argv.get(1).to_vec();
        let db = c.db;
        let mut out: Vec<(Vec<u8>, f64)> = Vec::new();
        match s.lookup_key_write(db, &key) {
            None => {}
            Some(v) => match ZRef::of(v) {
                None => {
                    c.add_reply_error(WRONGTYPE);
                    return;
                }
                Some(z) => zset_range_walk(z, &kind, reverse, offset, limit, |m, sc| out.push((m.to_vec(), sc))),
            },
        }
        let v = build_stored_range(ZlLimits::of(s), &out);
        store_result(s, c, &dst, v, "zrangestore");
        return;
    }
    let z = match zset_read(s, c, &key) {
        Err(()) => return,
        Ok(None) => {
            c.add_reply_array_len(0);
            return;
        }
        Ok(Some(z)) => z,
    };
    let slot = c.add_reply_deferred_len();
    let mut n = 0usize;
    zset_range_walk(z, &kind, reverse, offset, limit, |m, sc| {
        reply_entry(c, m);
        if withscores {
            c.add_reply_double(sc);
        }
        n += 1;
    });
    c.set_deferred_array_len(slot, if withscores { n * 2 } else { n });
}

/// ZRANGE key min max [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
pub fn zrange_command(s: &mut Server, c: &mut Client) {
    zrange_generic(s, c, 1, false, RangeType::Auto, Direction::Auto);
}

/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]
pub fn zrangestore_command(s: &mut Server, c: &mut Client) {
    zrange_generic(s, c, 2, true, RangeType::Auto, Direction::Auto);
}

/// ZREVRANGE key start stop [WITHSCORES]
pub fn zrevrange_command(s: &mut Server, c: &mut Client) {
    zrange_generic(s, c, 1, false, RangeType::Rank, Direction::Reverse);
}

/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
pub fn zrangebyscore_command(s: &mut Server, c: &mut Client) {
    zrange_generic(s, c, 1, false, RangeType::Score, Direction::Forward);
}

/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]
pub fn zrevrangebyscore_command(s: &mut Server, c: &mut Client) {
    zrange_generic(s, c, 1, false, RangeType::Score, Direction::Reverse);
}

/// ZRANGEBYLEX key min max [LIMIT offset count]
pub fn zrangebylex_command(s: &mut Server, c: &mut Client) {
    zrange_generic(s, c, 1, false, RangeType::Lex, Direction::Forward);
}

/// ZREVRANGEBYLEX key max min [LIMIT offset count]
pub fn zrevrangebylex_command(s: &mut Server, c: &mut Client) {
    zrange_generic(s, c, 1, false, RangeType::Lex, Direction::Reverse);
}

/// ZCOUNT key min max
pub fn zcount_command(s: &mut Server, c: &mut Client) {
    let Some(r) = parse_score_range(c, 2, 3) else { return };
    let n = match zset_read_at(s, c, 1) {
        Err(()) => return,
        Ok(None) => 0,
        Ok(Some(ZRef::Sl(z))) => z.count_in_range(&r),
        Ok(Some(ZRef::Zl(zl))) => zzl_range_run(zl, &RangeKind::Score(r), false).map_or(0, |(_, n)| n),
    };
    c.add_reply_long_long(n as i64);
}

/// ZLEXCOUNT key min max
pub fn zlexcount_command(s: &mut Server, c: &mut Client) {
    let Some(r) = parse_lex_range(c, 2, 3) else { return };
    let n = match zset_read_at(s, c, 1) {
        Err(()) => return,
        Ok(None) => 0,
        Ok(Some(ZRef::Sl(z))) => z.count_in_lex_range(&r),
        Ok(Some(ZRef::Zl(zl))) => zzl_range_run(zl, &RangeKind::Lex(r), false).map_or(0, |(_, n)| n),
    };
    c.add_reply_long_long(n as i64);
}

// ---------------------------------------------------------------------------
// Range removals.

/// Removes `n` pairs starting at pair `start` (`zzlDeleteRangeByScore`
/// and `zzlDeleteRangeByLex` delete pair by pair).
fn zzl_delete_pairs(zl: &mut Ziplist, start: usize, n: usize) {
    for _ in 0..n {
        match zl.index(2 * start as i64) {
            Some(p) => zzl_delete(zl, p),
            None => break,
        }
    }
}

fn zremrange_generic(s: &mut Server, c: &mut Client, rangetype: RangeType) {
    let kind = match rangetype {
        RangeType::Score => {
            let Some(r) = parse_score_range(c, 2, 3) else { return };
            RangeKind::Score(r)
        }
        RangeType::Lex => {
            let Some(r) = parse_lex_range(c, 2, 3) else { return };
            RangeKind::Lex(r)
        }
        _ => {
            let Some(a) = get_long_or_reply(c, 2, None) else { return };
            let Some(b) = get_long_or_reply(c, 3, None) else { return };
            RangeKind::Rank(a, b)
        }
    };
    let db = c.db;
    let key = c.argv.get(1).to_vec();
    let v = match zset_write(s, c, &key) {
        Err(()) => return,
        Ok(None) => {
            c.add_reply_long_long(0);
            return;
        }
        Ok(Some(v)) => v,
    };
    let deleted = match (v, &kind) {
        (v, RangeKind::Rank(a, b)) => match normalize_rank_range(*a, *b, zset_length(v)) {
            None => 0,
            Some((start, end)) => match v {
                Value::ZsetZl(zl) => zl.delete_range(2 * start as i64, 2 * (end - start + 1)) / 2,
                Value::ZsetSl(z) => z.delete_range_by_rank(start, end).len(),
                _ => 0,
            },
        },
        (Value::ZsetZl(zl), kind) => match zzl_range_run(zl, kind, false) {
            Some((start, n)) => {
                zzl_delete_pairs(zl, start, n);
                n
            }
            None => 0,
        },
        (Value::ZsetSl(z), RangeKind::Score(r)) => z.delete_range_by_score(r).len(),
        (Value::ZsetSl(z), RangeKind::Lex(r)) => z.delete_range_by_lex(r).len(),
        _ => 0,
    };
    if deleted > 0 {
        s.signal_modified_key(db, &key);
        let event = match rangetype {
            RangeType::Score => "zremrangebyscore",
            RangeType::Lex => "zremrangebylex",
            _ => "zremrangebyrank",
        };
        s.notify_keyspace_event(NOTIFY_ZSET, event, &key, db);
        delete_if_empty(s, db, &key);
    }
    s.dirty += deleted as u64;
    c.add_reply_long_long(deleted as i64);
}

/// ZREMRANGEBYRANK key start stop
pub fn zremrangebyrank_command(s: &mut Server, c: &mut Client) {
    zremrange_generic(s, c, RangeType::Rank);
}

/// ZREMRANGEBYSCORE key min max
pub fn zremrangebyscore_command(s: &mut Server, c: &mut Client) {
    zremrange_generic(s, c, RangeType::Score);
}

/// ZREMRANGEBYLEX key min max
pub fn zremrangebylex_command(s: &mut Server, c: &mut Client) {
    zremrange_generic(s, c, RangeType::Lex);
}

// ---------------------------------------------------------------------------
// Pops.

/// Removes and returns the lowest (or highest, `max`) element.
fn zset_pop_one(v: &mut Value, max: bool) -> Option<(Vec<u8>, f64)> {
    match v {
        Value::ZsetZl(zl) => {
            let mp = zl.index(if max { -2 } else { 0 })?;
            let sp = zl.next(mp)?;
            let m = zl.get(mp).to_vec();
            let sc = zzl_score(zl.get(sp));
            zzl_delete(zl, mp);
            Some((m, sc))
        }
        Value::ZsetSl(z) => z.pop(1, max).pop().map(|(m, sc)| (m.to_vec(), sc)),
        _ => None,
    }
}

/// ZPOPMIN / ZPOPMAX and the serving of BZPOP* (`genericZpopCommand`):
/// pops up to `count` elements of the first existing key of `keys`;
/// `emitkey` prefixes the reply with the key (blocking variants).
fn generic_zpop(s: &mut Server, c: &mut Client, keys: &[Vec<u8>], max: bool, emitkey: bool, count: i64) {
    let db = c.db;
    let mut found: Option<&Vec<u8>> = None;
    for k in keys {
        match zset_write(s, c, k) {
            Err(()) => return,
            Ok(None) => continue,
            Ok(Some(_)) => {
                found = Some(k);
                break;
            }
        }
    }
    let Some(key) = found else {
        c.add_reply_array_len(0);
        return;
    };
    let slot = c.add_reply_deferred_len();
    if emitkey {
        c.add_reply_bulk(key);
    }
    let mut n = 0usize;
    let mut left = count;
    while let Some(v) = raw_value(s, db, key) {
        let Some((m, sc)) = zset_pop_one(v, max) else { break };
        let empty = zset_length(v) == 0;
        s.dirty += 1;
        if n == 0 {
            s.notify_keyspace_event(NOTIFY_ZSET, if max { "zpopmax" } else { "zpopmin" }, key, db);
            s.signal_modified_key(db, key);
        }
        c.add_reply_bulk(&m);
        c.add_reply_double(sc);
        n += 2;
        if empty {
            s.db_delete(db, key);
            s.notify_keyspace_event(NOTIFY_GENERIC, "del", key, db);
            break;
        }
        left -= 1;
        if left <= 0 {
            break;
        }
    }
    c.set_deferred_array_len(slot, n + emitkey as usize);
}

fn zpop_command(s: &mut Server, c: &mut Client, max: bool) {
    if c.argv.len() > 3 {
        reply_syntax_error(c);
        return;
    }
    let mut count = 1;
    if c.argv.len() == 3 {
        let Some(n) = get_long_or_reply(c, 2, None) else { return };
        if n <= 0 {
            c.add_reply_array_len(0);
            return;
        }
        count = n;
    }
    let key = c.argv.get(1).to_vec();
    generic_zpop(s, c, &[key], max, false, count);
}

/// ZPOPMIN key [count]
pub fn zpopmin_command(s: &mut Server, c: &mut Client) {
    zpop_command(s, c, false);
}

/// ZPOPMAX key [count]
pub fn zpopmax_command(s: &mut Server, c: &mut Client) {
    zpop_command(s, c, true);
}

/// True if `c` may block: not inside MULTI (where a blocking command
/// behaves as if it timed out at once, `CLIENT_DENY_BLOCKING`).
fn may_block(c: &Client) -> bool {
    c.flags & (CLIENT_MULTI | CLIENT_FAKE) == 0
}

fn zpop_name(max: bool) -> &'static [u8] {
    if max {
        b"ZPOPMAX"
    } else {
        b"ZPOPMIN"
    }
}

/// BZPOPMIN / BZPOPMAX (`blockingGenericZpopCommand`).
fn blocking_zpop_generic(s: &mut Server, c: &mut Client, max: bool) {
    let last = c.argv.len() - 1;
    let Some(timeout) = get_timeout_or_reply(s, c, last) else { return };
    for j in 1..last {
        let key = c.argv.get(j).to_vec();
        match zset_write(s, c, &key) {
            Err(()) => return,
            Ok(None) => continue,
            Ok(Some(v)) if zset_length(v) == 0 => continue,
            Ok(Some(_)) => {
                generic_zpop(s, c, std::slice::from_ref(&key), max, true, 1);
                c.rewritten = Some(Argv::from_slices(&[zpop_name(max), &key]));
                return;
            }
        }
    }
    if !may_block(c) {
        c.add_reply_null_array();
        return;
    }
    let keys: Vec<Box<[u8]>> = (1..last).map(|j| c.argv.get(j).into()).collect();
    let state = BlockingState { zpop_max: max, ..Default::default() };
    s.block_for_keys(c, BlockType::Zset, keys, timeout, state);
}

/// BZPOPMIN key [key ...] timeout
pub fn bzpopmin_command(s: &mut Server, c: &mut Client) {
    blocking_zpop_generic(s, c, false);
}

/// BZPOPMAX key [key ...] timeout
pub fn bzpopmax_command(s: &mut Server, c: &mut Client) {
    blocking_zpop_generic(s, c, true);
}

/// Serves one client blocked on the sorted set at `key`, which exists
/// (`serveClientsBlockedOnSortedSetKey`): pops one element, replies
/// [key, member, score], propagates ZPOPMIN / ZPOPMAX key. The caller
/// unblocks it.
pub fn serve_blocked_zset_client(s: &mut Server, c: &mut Client, db: usize, key: &[u8]) {
    let max = c.bpop.zpop_max;
    let saved_db = c.db;
    c.db = db;
    generic_zpop(s, c, &[key.to_vec()], max, true, 1);
    c.db = saved_db;
    s.propagate(db, &Argv::from_slices(&[zpop_name(max), key]));
}

// ---------------------------------------------------------------------------
// ZUNION, ZINTER, ZDIFF and their STORE forms.

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// One input of a set operation (`zsetopsrc`): a sorted set, or a set
/// whose members all score 1; a missing key is an empty input.
struct OpSrc<'a> {
    value: Option<&'a Value>,
    weight: f64,
}

impl OpSrc<'_> {
    fn len(&self) -> usize {
        match self.value {
            None => 0,
            Some(Value::SetInt(is)) => is.len(),
            Some(Value::SetHt(h)) => h.len(),
            Some(v) => zset_length(v),
        }
    }

    fn for_each(&self, mut f: impl FnMut(ZlEntry<'_>, f64)) {
        match self.value {
            None => {}
            Some(Value::SetInt(is)) => is.iter().for_each(|v| f(ZlEntry::Int(v), 1.0)),
            Some(Value::SetHt(h)) => h.keys().for_each(|m| f(ZlEntry::Str(m), 1.0)),
            Some(v) => {
                if let Some(z) = ZRef::of(v) {
                    z.for_each(f)
                }
            }
        }
    }

    /// The score of `member` in this input (`zuiFind`).
    fn find(&self, member: &[u8]) -> Option<f64> {
        match self.value {
            None => None,
            Some(Value::SetInt(is)) => crate::util::string2ll(member).filter(|&v| is.contains(v)).map(|_| 1.0),
            Some(Value::SetHt(h)) => h.contains_key(member).then_some(1.0),
            Some(v) => ZRef::of(v).and_then(|z| z.score(member)),
        }
    }

    fn same_subject(&self, other: &OpSrc<'_>) -> bool {
        match (self.value, other.value) {
            (Some(a), Some(b)) => std::ptr::eq(a, b),
            _ => false,
        }
    }
}

/// `zunionInterAggregate`; in a sum, `inf + -inf` gives 0 as in Redis.
fn aggregate(target: &mut f64, val: f64, agg: Aggregate) {
    match agg {
        Aggregate::Sum => {
            *target += val;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if val < *target {
                *target = val
            }
        }
        Aggregate::Max => {
            if val > *target {
                *target = val
            }
        }
    }
}

/// The core of `zunionInterDiffGenericCommand`: the result as a skiplist
/// set and its longest member.
fn zset_op(srcs: &mut [OpSrc<'_>], op: SetOp, agg: Aggregate) -> (Zset, usize) {
    let mut dst = Zset::new();
    let mut maxelelen = 0usize;
    if op != SetOp::Diff {
        srcs.sort_by_key(|s| s.len());
    }
    match op {
        SetOp::Inter => {
            if srcs[0].len() > 0 {
                let (first, rest) = srcs.split_at(1);
                let first = &first[0];
                first.for_each(|m, sc| {
                    let mut b = crate::ziplist::NumBuf::new();
                    let m = m.as_bytes(&mut b);
                    let mut score = first.weight * sc;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    for r in rest {
                        let value = if r.same_subject(first) { Some(sc) } else { r.find(m) };
                        match value {
                            Some(v) => aggregate(&mut score, v * r.weight, agg),
                            None => return,
                        }
                    }
                    maxelelen = maxelelen.max(m.len());
                    let _ = dst.insert_or_update(m, score);
                });
            }
        }
        SetOp::Union => {
            let mut acc: std::collections::HashMap<Vec<u8>, f64> =
                std::collections::HashMap::with_capacity(srcs.last().map_or(0, |s| s.len()));
            for src in srcs.iter() {
                src.for_each(|m, sc| {
                    let mut score = src.weight * sc;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    let mut b = crate::ziplist::NumBuf::new();
                    let m = m.as_bytes(&mut b);
                    match acc.get_mut(m) {
                        Some(cur) => aggregate(cur, score, agg),
                        None => {
                            maxelelen = maxelelen.max(m.len());
                            acc.insert(m.to_vec(), score);
                        }
                    }
                });
            }
            for (m, sc) in acc {
                let _ = dst.insert_or_update(&m, sc);
            }
        }
        SetOp::Diff => {
            if srcs[0].len() > 0 {
                let (first, rest) = srcs.split_at(1);
                let first = &first[0];
                first.for_each(|m, sc| {
                    let mut b = crate::ziplist::NumBuf::new();
                    let m = m.as_bytes(&mut b);
                    if rest.iter().any(|r| r.same_subject(first) || r.find(m).is_some()) {
                        return;
                    }
                    maxelelen = maxelelen.max(m.len());
                    let _ = dst.insert_or_update(m, sc);
                });
            }
        }
    }
    (dst, maxelelen)
}

fn op_name(op: SetOp, store: bool) -> &'static str {
    match (op, store) {
        (SetOp::Union, true) => "zunionstore",
        (SetOp::Inter, true) => "zinterstore",
        (SetOp::Diff, true) => "zdiffstore",
        (SetOp::Union, false) => "zunion",
        (SetOp::Inter, false) => "zinter",
        (SetOp::Diff, false) => "zdiff",
    }
}

fn zunion_inter_diff_generic(s: &mut Server, c: &mut Client, store: bool, numkeys_index: usize, op: SetOp) {
    let Some(setnum) = get_long_or_reply(c, numkeys_index, None) else { return };
    if setnum < 1 {
        c.add_reply_error(&format!("at least 1 input key is needed for {}", op_name(op, store)));
        return;
    }
    if setnum as u64 > (c.argv.len() - (numkeys_index + 1)) as u64 {
        reply_syntax_error(c);
        return;
    }
    let setnum = setnum as usize;
    let db = c.db;
    let first = numkeys_index + 1;
    // Look every key up first (expiry, stats), checking the types.
    for j in first..first + setnum {
        let key = c.argv.get(j);
        let v = if store { s.lookup_key_write(db, key).map(|v| &*v) } else { s.lookup_key_read(db, key) };
        if let Some(v) = v {
            if !matches!(v, Value::ZsetZl(_) | Value::ZsetSl(_) | Value::SetInt(_) | Value::SetHt(_)) {
                c.add_reply_error(WRONGTYPE);
                return;
            }
        }
    }
    let mut weights = vec![1.0f64; setnum];
    let mut agg = Aggregate::Sum;
    let mut withscores = false;
    let mut j = first + setnum;
    while j < c.argv.len() {
        let remaining = c.argv.len() - j;
        let a = c.argv.get(j);
        if op != SetOp::Diff && remaining > setnum && arg_is(a, "weights") {
            j += 1;
            for w in weights.iter_mut() {
                let Some(v) = get_double_or_reply(c, j, Some("weight value is not a float")) else { return };
                *w = v;
                j += 1;
            }
        } else if op != SetOp::Diff && remaining >= 2 && arg_is(a, "aggregate") {
            let name = c.argv.get(j + 1);
            agg = if arg_is(name, "sum") {
                Aggregate::Sum
            } else if arg_is(name, "min") {
                Aggregate::Min
            } else if arg_is(name, "max") {
                Aggregate::Max
            } else {
                reply_syntax_error(c);
                return;
            };
            j += 2;
        } else if !store && arg_is(a, "withscores") {
            withscores = true;
            j += 1;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    let (dst, maxelelen) = {
        let mut srcs: Vec<OpSrc<'_>> = (0..setnum)
            .map(|i| OpSrc { value: s.dbs[db].dict.get(c.argv.get(first + i)).map(|o| &o.val), weight: weights[i] })
            .collect();
        zset_op(&mut srcs, op, agg)
    };
    if store {
        let dstkey = c.argv.get(1).to_vec();
        let mut v = Value::ZsetSl(Box::new(dst));
        zset_convert_to_ziplist_if_needed(s, &mut v, maxelelen);
        store_result(s, c, &dstkey, v, op_name(op, true));
    } else {
        c.add_reply_array_len(if withscores { dst.len() * 2 } else { dst.len() });
        for (m, sc) in dst.iter() {
            c.add_reply_bulk(m);
            if withscores {
                c.add_reply_double(sc);
            }
        }
    }
}

/// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX]
pub fn zunionstore_command(s: &mut Server, c: &mut Client) {
    zunion_inter_diff_generic(s, c, true, 2, SetOp::Union);
}

/// ZINTERSTORE destination numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX]
pub fn zinterstore_command(s: &mut Server, c: &mut Client) {
    zunion_inter_diff_generic(s, c, true, 2, SetOp::Inter);
}

/// ZDIFFSTORE destination numkeys key [key ...]
pub fn zdiffstore_command(s: &mut Server, c: &mut Client) {
    zunion_inter_diff_generic(s, c, true, 2, SetOp::Diff);
}

/// ZUNION numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
pub fn zunion_command(s: &mut Server, c: &mut Client) {
    zunion_inter_diff_generic(s, c, false, 1, SetOp::Union);
}

/// ZINTER numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
pub fn zinter_command(s: &mut Server, c: &mut Client) {
    zunion_inter_diff_generic(s, c, false, 1, SetOp::Inter);
}

/// ZDIFF numkeys key [key ...] [WITHSCORES]
pub fn zdiff_command(s: &mut Server, c: &mut Client) {
    zunion_inter_diff_generic(s, c, false, 1, SetOp::Diff);
}

// ---------------------------------------------------------------------------
// ZRANDMEMBER, ZSCAN.

/// ZRANDMEMBER with a count (`zrandmemberWithCountCommand`).
fn zrandmember_with_count(s: &mut Server, c: &mut Client, l: i64, withscores: bool) {
    let db = c.db;
    let key = c.argv.get(1).to_vec();
    match zset_read(s, c, &key) {
        Err(()) => return,
        Ok(None) => {
            c.add_reply_array_len(0);
            return;
        }
        Ok(Some(_)) => {}
    }
    let (count, uniq) = if l >= 0 { (l as u64, true) } else { (l.unsigned_abs(), false) };
    if count == 0 {
        c.add_reply_array_len(0);
        return;
    }
    let Some(v) = raw_value(s, db, &key) else { return };
    let size = zset_length(v) as u64;
    let mult = if withscores { 2 } else { 1 };
    if !uniq || count == 1 {
        c.add_reply_array_len((count * mult) as usize);
        let mut left = count;
        match v {
            Value::ZsetZl(zl) => {
                while left > 0 {
                    let batch = left.min(1000) as usize;
                    for (mp, sp) in zl.random_pairs(batch) {
                        reply_entry(c, zl.get(mp));
                        if withscores {
                            c.add_reply_double(zzl_score(zl.get(sp)));
                        }
                    }
                    left -= batch as u64;
                }
            }
            Value::ZsetSl(z) => {
                while left > 0 {
                    if let Some((m, sc)) = z.random_entry() {
                        c.add_reply_bulk(m);
                        if withscores {
                            c.add_reply_double(sc);
                        }
                    }
                    left -= 1;
                }
            }
            _ => {}
        }
        return;
    }
    // Distinct elements: the whole set when it is not larger than `count`.
    let z = match v {
        Value::ZsetZl(zl) => ZRef::Zl(zl),
        Value::ZsetSl(z) => ZRef::Sl(z),
        _ => return,
    };
    let picked: Vec<(Vec<u8>, f64)> = if count >= size {
        let mut all = Vec::with_capacity(size as usize);
        z.for_each(|m, sc| all.push((m.to_vec(), sc)));
        all
    } else {
        match z {
            ZRef::Zl(zl) => zl.random_pairs_unique(count as usize).into_iter().map(|(mp, sp)| (zl.get(mp).to_vec(), zzl_score(zl.get(sp)))).collect(),
            ZRef::Sl(zs) => {
                // Partial Fisher-Yates over the ranks.
                let n = size as usize;
                let mut ranks: Vec<usize> = (0..n).collect();
                let k = count as usize;
                for i in 0..k {
                    let r = i + (crate::util::random_u64() % (n - i) as u64) as usize;
                    ranks.swap(i, r);
                }
                ranks[..k]
                    .iter()
                    .filter_map(|&r| zs.range_by_rank(r, r, false).next().map(|(m, sc)| (m.to_vec(), sc)))
                    .collect()
            }
        }
    };
    c.add_reply_array_len(picked.len() * mult as usize);
    for (m, sc) in &picked {
        c.add_reply_bulk(m);
        if withscores {
            c.add_reply_double(*sc);
        }
    }
}

/// ZRANDMEMBER key [count [WITHSCORES]]
pub fn zrandmember_command(s: &mut Server, c: &mut Client) {
    if c.argv.len() >= 3 {
        let Some(l) = crate::commands::args::get_range_long_or_reply(c, 2, -i64::MAX, i64::MAX, None) else { return };
        if c.argv.len() > 4 || (c.argv.len() == 4 && !arg_is(c.argv.get(3), "withscores")) {
            reply_syntax_error(c);
            return;
        }
        zrandmember_with_count(s, c, l, c.argv.len() == 4);
        return;
    }
    let db = c.db;
    let key = c.argv.get(1).to_vec();
    match zset_read(s, c, &key) {
        Err(()) => return,
        Ok(None) => {
            c.add_reply_null();
            return;
        }
        Ok(Some(_)) => {}
    }
    match raw_value(s, db, &key) {
        Some(Value::ZsetZl(zl)) => match zl.random_pair() {
            Some((mp, _)) => reply_entry(c, zl.get(mp)),
            None => c.add_reply_null(),
        },
        Some(Value::ZsetSl(z)) => match z.random_entry() {
            Some((m, _)) => c.add_reply_bulk(m),
            None => c.add_reply_null(),
        },
        _ => c.add_reply_null(),
    }
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count]: a ziplist set is
/// returned whole with cursor 0, a skiplist set is scanned through its dict.
pub fn zscan_command(s: &mut Server, c: &mut Client) {
    let Some(mut cursor) = parse_scan_cursor(c.argv.get(2)) else {
        c.add_reply_error("invalid cursor");
        return;
    };
    let z = match zset_read_at(s, c, 1) {
        Err(()) => return,
        Ok(None) => {
            c.add_reply_array_len(2);
            c.add_reply_bulk(b"0");
            c.add_reply_array_len(0);
            return;
        }
        Ok(Some(z)) => z,
    };
    let Some(opts) = parse_scan_opts(c, 3, false) else { return };
    // (member, score text) pairs.
    let mut items: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    match z {
        ZRef::Zl(zl) => {
            let mut it = zl.iter();
            while let (Some(m), Some(sc)) = (it.next(), it.next()) {
                items.push((m.to_vec(), sc.to_vec()));
            }
            cursor = 0;
        }
        ZRef::Sl(zs) => {
            let mut maxiterations = opts.count * 10;
            loop {
                cursor = zs.scan(cursor, |m, sc| {
                    items.push((m.to_vec(), crate::util::reply_double_str(sc).into_bytes()))
                });
                if cursor == 0 || maxiterations == 0 || items.len() >= opts.count {
                    break;
                }
                maxiterations -= 1;
            }
        }
    }
    if let Some(p) = &opts.pattern {
        items.retain(|(m, _)| string_match(p, m, false));
    }
    c.add_reply_array_len(2);
    c.add_reply_bulk(itoa::Buffer::new().format(cursor).as_bytes());
    c.add_reply_array_len(items.len() * 2);
    for (m, sc) in &items {
        c.add_reply_bulk(m);
        c.add_reply_bulk(sc);
    }
}
