//! Values and their encodings (mirrors object.c).
//!
//! A value is one of Redis's types. Strings keep Redis's three encodings,
//! chosen as `tryObjectEncoding` chooses them:
//! 1. `int`: the text is a canonical 64-bit integer of at most 20 chars;
//! 2. `embstr`: at most 44 bytes (`OBJ_ENCODING_EMBSTR_SIZE_LIMIT`),
//!    never modified in place;
//! 3. `raw`: anything longer, or any string modified in place (APPEND,
//!    SETRANGE, SETBIT), which Redis converts to raw first.
//!
//! OBJECT ENCODING and the RDB/AOF writers read the encoding from here.

use crate::blob::Blob;
use crate::intset::Intset;
use crate::ziplist::Ziplist;
use crate::util::string2ll;

/// Longest string stored as `embstr`.
pub const OBJ_ENCODING_EMBSTR_SIZE_LIMIT: usize = 44;
/// Integers in `0..OBJ_SHARED_INTEGERS` are shared objects in Redis:
/// OBJECT REFCOUNT reports `OBJ_SHARED_REFCOUNT` for them.
pub const OBJ_SHARED_INTEGERS: i64 = 10000;
pub const OBJ_SHARED_REFCOUNT: i64 = i32::MAX as i64;

/// Longest `embstr` kept inside the object itself, with no allocation.
pub const INLINE_CAP: usize = 14;

/// A string value with its encoding. The type is 16 bytes, so that a
/// keyspace entry (key, object, next pointer) is one 48-byte allocation:
/// short embstrs live inline, longer ones behind one thin pointer. This
/// is how oxredis keeps its bytes per key under Redis's (whose robj and
/// embstr share one allocation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RStr {
    Int(i64),
    /// An `embstr` of at most [`INLINE_CAP`] bytes.
    Inline { len: u8, buf: [u8; INLINE_CAP] },
    /// An `embstr` up to [`OBJ_ENCODING_EMBSTR_SIZE_LIMIT`] bytes, in one
    /// allocation of exactly its length.
    Embstr(Blob),
    /// A `raw` string as SET stores it: one allocation of exactly its
    /// length (Redis trims the sds of a new raw string the same way).
    Raw(Blob),
    /// A `raw` string modified in place (APPEND, SETRANGE, SETBIT): a
    /// growable buffer, so that repeated appends stay amortised O(1).
    RawMut(Box<Vec<u8>>),
}

/// What the keyspace stores under a key: the value and its access clock
/// (`robj.lru`). Under an LRU policy (or none) `lru` is the LRU clock of
/// the last access; under an LFU policy it holds the last decrement time
/// in minutes (16 bits) and a logarithmic access counter (8 bits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Obj {
    pub val: Value,
    pub lru: u32,
}

/// Bits of the LRU clock (`LRU_BITS`) and its resolution in ms.
pub const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;
pub const LRU_CLOCK_RESOLUTION: i64 = 1000;
/// Counter of a new object under LFU, so it is not evicted at once.
pub const LFU_INIT_VAL: u32 = 5;

/// The LRU clock at `mstime` (`getLRUClock`).
pub fn lru_clock(mstime: i64) -> u32 {
    ((mstime / LRU_CLOCK_RESOLUTION) as u64 & LRU_CLOCK_MAX as u64) as u32
}

/// Milliseconds since the object was last accessed, given the current
/// LRU clock, handling one wrap of the clock (`estimateObjectIdleTime`).
pub fn estimate_idle_time_ms(lru: u32, clock: u32) -> u64 {
    let ticks = if clock >= lru { clock - lru } else { (LRU_CLOCK_MAX - lru) + clock };
    ticks as u64 * LRU_CLOCK_RESOLUTION as u64
}

/// Minutes of unix time, reduced to 16 bits (`LFUGetTimeInMinutes`).
pub fn lfu_time_in_minutes(unixtime: i64) -> u32 {
    ((unixtime / 60) as u64 & 0xffff) as u32
}

/// The initial `lru` field of a new object under LFU.
pub fn lfu_init(unixtime: i64) -> u32 {
    (lfu_time_in_minutes(unixtime) << 8) | LFU_INIT_VAL
}

/// The access counter after decaying it by one for every `decay_time`
/// minutes since its last decrement (`LFUDecrAndReturn`).
pub fn lfu_decr_and_return(lru: u32, unixtime: i64, decay_time: i64) -> u32 {
    let ldt = lru >> 8;
    let counter = lru & 255;
    let now = lfu_time_in_minutes(unixtime);
    let elapsed = if now >= ldt { now - ldt } else { 65535 - ldt + now };
    let periods = if decay_time > 0 { elapsed as i64 / decay_time } else { 0 };
    if periods > 0 {
        counter.saturating_sub(periods.min(255) as u32)
    } else {
        counter
    }
}

/// Logarithmic increment of an LFU counter: the higher it is, the less
/// likely an access bumps it (`LFULogIncr`). `r` is uniform in [0, 1).
pub fn lfu_log_incr(counter: u32, log_factor: i64, r: f64) -> u32 {
    if counter >= 255 {
        return 255;
    }
    let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
    let p = 1.0 / (base * log_factor as f64 + 1.0);
    if r < p {
        counter + 1
    } else {
        counter
    }
}

/// The `lru` field after an access under LFU (`updateLFU`).
pub fn lfu_touch(lru: u32, unixtime: i64, log_factor: i64, decay_time: i64, r: f64) -> u32 {
    let counter = lfu_decr_and_return(lru, unixtime, decay_time);
    let counter = lfu_log_incr(counter, log_factor, r);
    (lfu_time_in_minutes(unixtime) << 8) | counter
}

/// Bytes of an RDB length prefix (`rdbSaveLen`).
pub fn rdb_len_size(len: u64) -> usize {
    if len < 1 << 6 {
        1
    } else if len < 1 << 14 {
        2
    } else if len <= u32::MAX as u64 {
        5
    } else {
        9
    }
}

/// Bytes of a string in an RDB file (`rdbSaveRawString`, with
/// `rdbcompression yes`): small integers in their integer encoding, strings
/// over 20 bytes LZF-compressed when that saves at least 5 bytes, else a
/// length prefix and the bytes.
pub fn rdb_string_len(b: &[u8]) -> usize {
    if b.len() <= 11 {
        if let Some(v) = crate::util::string2ll(b) {
            return rdb_int_len(v).unwrap_or(rdb_len_size(b.len() as u64) + b.len());
        }
    }
    if let Some(c) = crate::lzf::rdb_compress(b) {
        return 1 + rdb_len_size(c.len() as u64) + rdb_len_size(b.len() as u64) + c.len();
    }
    rdb_len_size(b.len() as u64) + b.len()
}

/// Bytes of an RDB length field.
pub fn rdb_len_len(n: usize) -> usize {
    rdb_len_size(n as u64)
}

/// Bytes of a blob (ziplist, intset) saved as an RDB string. Redis saves
/// blobs with the same `rdbSaveRawString` as any string (their binary
/// headers never parse as integers), so LZF applies to them too.
pub fn rdb_blob_len(b: &[u8]) -> usize {
    rdb_string_len(b)
}

fn rdb_int_len(v: i64) -> Option<usize> {
    if (i8::MIN as i64..=i8::MAX as i64).contains(&v) {
        Some(2)
    } else if (i16::MIN as i64..=i16::MAX as i64).contains(&v) {
        Some(3)
    } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
        Some(5)
    } else {
        None
    }
}

/// DEBUG OBJECT's `serializedlength` (`rdbSavedObjectLen`). Long strings
/// are counted uncompressed until the RDB writer brings LZF.
pub fn serialized_len(v: &Value) -> usize {
    match v {
        Value::Str(RStr::Int(i)) => {
            rdb_int_len(*i).unwrap_or_else(|| rdb_string_len(itoa::Buffer::new().format(*i).as_bytes()))
        }
        Value::Str(s) => rdb_string_len(s.as_bytes(&mut itoa::Buffer::new())),
        // A quicklist is saved as its node count then each node's ziplist
        // as a string.
        Value::List(q) => rdb_len_len(q.node_count()) + q.nodes().map(|z| rdb_blob_len(z.as_bytes())).sum::<usize>(),
        Value::HashZl(z) => rdb_blob_len(z.as_bytes()),
        Value::SetInt(i) => rdb_blob_len(i.as_bytes()),
        Value::HashHt(h) => rdb_len_len(h.len()) + h.iter().map(|(k, v)| rdb_string_len(k) + rdb_string_len(v)).sum::<usize>(),
        Value::SetHt(h) => rdb_len_len(h.len()) + h.keys().map(|k| rdb_string_len(k)).sum::<usize>(),
        Value::ZsetZl(z) => rdb_blob_len(z.as_bytes()),
        // RDB_TYPE_ZSET_2: member strings and binary doubles.
        Value::ZsetSl(z) => rdb_len_len(z.len()) + z.iter().map(|(m, _)| rdb_string_len(m) + 8).sum::<usize>(),
    }
}

/// A value stored under a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Str(RStr),
    /// A list: always a quicklist, as in Redis 6.2.
    List(Box<crate::quicklist::Quicklist>),
    /// A small hash: field, value, field, value... in one ziplist.
    HashZl(Ziplist),
    /// A hash past `hash-max-ziplist-*`: a dict field → value.
    HashHt(Box<HashTable>),
    /// A set of integers below `set-max-intset-entries`.
    SetInt(Intset),
    /// Any other set: a dict member → ().
    SetHt(Box<SetTable>),
    /// A small sorted set: member, score, member, score... in score order.
    ZsetZl(Ziplist),
    /// A sorted set past `zset-max-ziplist-*`: dict + skiplist.
    ZsetSl(Box<crate::skiplist::Zset>),
}

/// The `hashtable` encoding of a hash.
pub type HashTable = crate::dict::Dict<Box<[u8]>, Box<[u8]>>;
/// The `hashtable` encoding of a set.
pub type SetTable = crate::dict::Dict<Box<[u8]>, ()>;

impl RStr {
    /// Builds a string value from client bytes, choosing the encoding as
    /// `tryObjectEncoding` does.
    pub fn from_bytes(b: &[u8]) -> RStr {
        if b.len() <= 20 {
            if let Some(v) = string2ll(b) {
                return RStr::Int(v);
            }
        }
        RStr::from_bytes_no_int(b)
    }

    /// A string that is never int-encoded (`createStringObject`), as
    /// DEBUG POPULATE and internal callers create them.
    pub fn from_bytes_no_int(b: &[u8]) -> RStr {
        if b.len() <= OBJ_ENCODING_EMBSTR_SIZE_LIMIT {
            RStr::embstr(b)
        } else {
            RStr::raw(b.to_vec())
        }
    }

    /// An `embstr` (the caller checked the size limit).
    fn embstr(b: &[u8]) -> RStr {
        if b.len() <= INLINE_CAP {
            let mut buf = [0u8; INLINE_CAP];
            buf[..b.len()].copy_from_slice(b);
            RStr::Inline { len: b.len() as u8, buf }
        } else {
            RStr::Embstr(Blob::from_slice(b))
        }
    }

    /// A `raw` string owning `v` (its spare capacity is released).
    pub fn raw(v: Vec<u8>) -> RStr {
        RStr::Raw(Blob::from_vec(v))
    }

    /// Like `from_bytes` but takes ownership (no copy for raw strings).
    pub fn from_vec(v: Vec<u8>) -> RStr {
        if v.len() <= OBJ_ENCODING_EMBSTR_SIZE_LIMIT {
            RStr::from_bytes(&v)
        } else {
            RStr::raw(v)
        }
    }

    /// The bytes of the string, formatting an integer into `buf`.
    pub fn as_bytes<'a>(&'a self, buf: &'a mut itoa::Buffer) -> &'a [u8] {
        match self {
            RStr::Int(v) => buf.format(*v).as_bytes(),
            RStr::Inline { len, buf } => &buf[..*len as usize],
            RStr::Embstr(b) | RStr::Raw(b) => b,
            RStr::RawMut(v) => v,
        }
    }

    /// An owned copy of the bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut b = itoa::Buffer::new();
        self.as_bytes(&mut b).to_vec()
    }

    /// Length in bytes (`stringObjectLen`).
    pub fn len(&self) -> usize {
        match self {
            RStr::Int(v) => {
                let mut b = itoa::Buffer::new();
                b.format(*v).len()
            }
            RStr::Inline { len, .. } => *len as usize,
            RStr::Embstr(b) | RStr::Raw(b) => b.len(),
            RStr::RawMut(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The integer value, if the string is one (`getLongLongFromObject`).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            RStr::Int(v) => Some(*v),
            RStr::Inline { len, buf } => string2ll(&buf[..*len as usize]),
            RStr::Embstr(b) | RStr::Raw(b) => string2ll(b),
            RStr::RawMut(v) => string2ll(v),
        }
    }

    /// Makes the string `raw` for in-place modification and returns it
    /// (`dbUnshareStringValue`).
    pub fn make_raw(&mut self) -> &mut Vec<u8> {
        if !matches!(self, RStr::RawMut(_)) {
            *self = RStr::RawMut(Box::new(self.to_vec()));
        }
        match self {
            RStr::RawMut(v) => v,
            // Unreachable: converted just above.
            _ => unreachable!("string was just made raw"),
        }
    }

    /// Redis's encoding name.
    pub fn encoding(&self) -> &'static str {
        match self {
            RStr::Int(_) => "int",
            RStr::Inline { .. } | RStr::Embstr(_) => "embstr",
            RStr::Raw(_) | RStr::RawMut(_) => "raw",
        }
    }
}

/// Redis's type codes (`OBJ_STRING`, …), used by DEBUG DIGEST and RDB.
pub const OBJ_STRING: u32 = 0;
pub const OBJ_LIST: u32 = 1;
pub const OBJ_SET: u32 = 2;
pub const OBJ_ZSET: u32 = 3;
pub const OBJ_HASH: u32 = 4;

impl Value {
    /// Redis's numeric type code.
    pub fn type_code(&self) -> u32 {
        match self {
            Value::Str(_) => OBJ_STRING,
            Value::List(_) => OBJ_LIST,
            Value::HashZl(_) | Value::HashHt(_) => OBJ_HASH,
            Value::SetInt(_) | Value::SetHt(_) => OBJ_SET,
            Value::ZsetZl(_) | Value::ZsetSl(_) => OBJ_ZSET,
        }
    }

    /// The TYPE name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::HashZl(_) | Value::HashHt(_) => "hash",
            Value::SetInt(_) | Value::SetHt(_) => "set",
            Value::ZsetZl(_) | Value::ZsetSl(_) => "zset",
        }
    }

    /// The OBJECT ENCODING name.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::List(_) => "quicklist",
            Value::HashZl(_) | Value::ZsetZl(_) => "ziplist",
            Value::ZsetSl(_) => "skiplist",
            Value::HashHt(_) | Value::SetHt(_) => "hashtable",
            Value::SetInt(_) => "intset",
        }
    }

    /// OBJECT REFCOUNT: shared integers report Redis's shared refcount.
    pub fn refcount(&self) -> i64 {
        match self {
            Value::Str(RStr::Int(v)) if (0..OBJ_SHARED_INTEGERS).contains(v) => OBJ_SHARED_REFCOUNT,
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_follow_redis() {
        assert_eq!(RStr::from_bytes(b"12345").encoding(), "int");
        assert_eq!(RStr::from_bytes(b"-9223372036854775808").encoding(), "int");
        assert_eq!(RStr::from_bytes(b"007").encoding(), "embstr");
        assert_eq!(RStr::from_bytes(b" 1").encoding(), "embstr");
        assert_eq!(RStr::from_bytes(&[b'a'; 44]).encoding(), "embstr");
        assert_eq!(RStr::from_bytes(&[b'a'; 45]).encoding(), "raw");
        let mut s = RStr::from_bytes(b"abc");
        s.make_raw().push(b'd');
        assert_eq!(s.encoding(), "raw");
        assert_eq!(s.to_vec(), b"abcd");
        assert_eq!(RStr::Int(-42).len(), 3);
    }

    /// The keyspace's memory per key rests on these sizes: a dict entry
    /// (16-byte key, 24-byte object, next pointer) fills a 48-byte class.
    #[test]
    fn objects_stay_compact() {
        assert_eq!(std::mem::size_of::<RStr>(), 16);
        assert_eq!(std::mem::size_of::<Value>(), 16);
        assert_eq!(std::mem::size_of::<Obj>(), 24);
    }

    #[test]
    fn inline_and_boxed_embstr_agree() {
        for n in [0, 1, INLINE_CAP, INLINE_CAP + 1, OBJ_ENCODING_EMBSTR_SIZE_LIMIT, OBJ_ENCODING_EMBSTR_SIZE_LIMIT + 1] {
            let b: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            let s = RStr::from_bytes(&b);
            assert_eq!(s.to_vec(), b);
            assert_eq!(s.len(), n);
            let want = if n <= OBJ_ENCODING_EMBSTR_SIZE_LIMIT { "embstr" } else { "raw" };
            assert_eq!(s.encoding(), want, "len {}", n);
        }
        let mut s = RStr::from_bytes(b"hello");
        s.make_raw().extend_from_slice(b" world");
        assert_eq!(s.encoding(), "raw");
        assert_eq!(s.to_vec(), b"hello world");
    }

    #[test]
    fn lru_idle_time_handles_clock_wrap() {
        assert_eq!(estimate_idle_time_ms(100, 103), 3000);
        assert_eq!(estimate_idle_time_ms(LRU_CLOCK_MAX - 1, 2), 3000);
        assert_eq!(lru_clock(5_000), 5);
    }

    #[test]
    fn lfu_counter_decays_and_grows_logarithmically() {
        let t = 600 * 60; // minute 600
        let fresh = lfu_init(t);
        assert_eq!(fresh & 255, LFU_INIT_VAL);
        // Three minutes later with decay time 1, the counter lost 3.
        assert_eq!(lfu_decr_and_return(fresh, t + 180, 1), LFU_INIT_VAL - 3);
        // decay time 0 never decays.
        assert_eq!(lfu_decr_and_return(fresh, t + 180, 0), LFU_INIT_VAL);
        // At the initial value an access always increments (p = 1).
        assert_eq!(lfu_log_incr(LFU_INIT_VAL, 10, 0.999), LFU_INIT_VAL + 1);
        // Far above it, an access rarely does.
        assert_eq!(lfu_log_incr(100, 10, 0.5), 100);
        assert_eq!(lfu_log_incr(100, 10, 0.0), 101);
        assert_eq!(lfu_log_incr(255, 10, 0.0), 255);
        let touched = lfu_touch(fresh, t + 60, 10, 1, 0.0);
        assert_eq!(touched >> 8, lfu_time_in_minutes(t + 60));
        assert_eq!(touched & 255, LFU_INIT_VAL);
    }

    #[test]
    fn refcount_of_shared_integers() {
        assert_eq!(Value::Str(RStr::Int(5)).refcount(), OBJ_SHARED_REFCOUNT);
        assert_eq!(Value::Str(RStr::Int(10000)).refcount(), 1);
        assert_eq!(Value::Str(RStr::from_bytes(b"x")).refcount(), 1);
    }
}
