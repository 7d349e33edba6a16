//! RDB loading (mirrors rdb.c's load path: `rdbLoadRio`, `rdbLoadObject`,
//! `rdbGenericLoadStringObject`, `rdbLoadLen`).
//!
//! Three layers:
//! 1. [`RdbReader`]: a buffered reader over a file, an AOF's preamble or a
//!    DUMP payload. It keeps the stream offset and the running CRC-64 of
//!    what was consumed (computed per refill, not per read), and never
//!    allocates more for a length it read than the stream can still hold.
//! 2. [`RdbParser`]: the file grammar. `next_item` returns the next AUX
//!    field, SELECTDB, RESIZEDB, key (with the EXPIRETIME / IDLE / FREQ
//!    opcodes before it folded in), skipped empty key or the EOF with both
//!    checksums. The server's loader and `oxredis-check-rdb` both drive it.
//! 3. [`Server::rdb_load`] / [`Server::rdb_load_rio`]: put the keys into
//!    the databases, with Redis's log lines and failure handling.
//!
//! Versions 1 to 11 load: Redis 6.2 writes 9, Redis 7.0 writes 10 (hashes,
//! sorted sets and list nodes as listpacks), 7.2 writes 11 (small sets as
//! listpacks too). Listpack values are converted to the encodings oxredis
//! keeps (Redis 6.2's: ziplists, intsets, quicklists of ziplists), and any
//! value is converted to the big encoding when it is past this server's
//! `*-max-ziplist-*` / `set-max-intset-entries` limits. Streams, module
//! values and function libraries are refused (oxredis has none of them).
//!
//! Every blob is validated deeply before it is adopted (Redis does so only
//! with `sanitize-dump-payload yes`): a damaged file is refused with Redis's
//! message, never a crash or a value that could crash a later command.

use std::io::Read;

use crate::intset::Intset;
use crate::object::{Obj, RStr, Value};
use crate::quicklist::Quicklist;
use crate::rdb::*;
use crate::server::Server;
use crate::ziplist::{NumBuf, Where, ZlEntry, Ziplist};

/// The newest RDB version this loader understands (Redis 7.2's).
pub const RDB_LOAD_MAX_VERSION: u32 = 11;

pub const RDB_TYPE_LIST: u8 = 1;
pub const RDB_TYPE_ZSET: u8 = 3;
pub const RDB_TYPE_MODULE: u8 = 6;
pub const RDB_TYPE_MODULE_2: u8 = 7;
pub const RDB_TYPE_HASH_ZIPMAP: u8 = 9;
pub const RDB_TYPE_LIST_ZIPLIST: u8 = 10;
pub const RDB_TYPE_STREAM_LISTPACKS: u8 = 15;
pub const RDB_TYPE_HASH_LISTPACK: u8 = 16;
pub const RDB_TYPE_ZSET_LISTPACK: u8 = 17;
pub const RDB_TYPE_LIST_QUICKLIST_2: u8 = 18;
pub const RDB_TYPE_STREAM_LISTPACKS_2: u8 = 19;
pub const RDB_TYPE_SET_LISTPACK: u8 = 20;
pub const RDB_TYPE_STREAM_LISTPACKS_3: u8 = 21;

pub const RDB_OPCODE_FUNCTION2: u8 = 245;
pub const RDB_OPCODE_FUNCTION: u8 = 246;
pub const RDB_OPCODE_MODULE_AUX: u8 = 247;
pub const RDB_OPCODE_EXPIRETIME: u8 = 253;

/// Quicklist node containers of RDB 10 (`QUICKLIST_NODE_CONTAINER_*`).
const QUICKLIST_NODE_CONTAINER_PLAIN: u64 = 1;
const QUICKLIST_NODE_CONTAINER_PACKED: u64 = 2;

/// Load flags (`RDBFLAGS_*`).
pub const RDBFLAGS_NONE: u32 = 0;
/// The RDB is an AOF's preamble: keep keys whose TTL passed, the AOF
/// tail after it assumes them.
pub const RDBFLAGS_AOF_PREAMBLE: u32 = 1;
/// A key already in the db is replaced instead of failing the load
/// (DEBUG RELOAD MERGE).
pub const RDBFLAGS_ALLOW_DUP: u32 = 1 << 2;

/// Bytes between two event-loop turns while loading
/// (`loading-process-events-interval-bytes`).
const LOADING_PROCESS_EVENTS_INTERVAL_BYTES: u64 = 2 * 1024 * 1024;

/// Why reading an RDB stream stopped.
#[derive(Debug)]
pub enum RdbError {
    /// The stream ended too early.
    Eof,
    /// The bytes are not a valid RDB (`rdbReportCorruptRDB`'s reason).
    Corrupt(String),
    /// The stream could not be read.
    Io(std::io::Error),
}

impl std::fmt::Display for RdbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RdbError::Eof => f.write_str("Unexpected EOF reading RDB file"),
            RdbError::Corrupt(s) => f.write_str(s),
            RdbError::Io(e) => write!(f, "Error reading the RDB file: {}", crate::server::strerror(e)),
        }
    }
}

fn corrupt<T>(msg: impl Into<String>) -> Result<T, RdbError> {
    Err(RdbError::Corrupt(msg.into()))
}

/// A buffered RDB byte stream with its offset and running CRC-64.
pub struct RdbReader<R: Read> {
    src: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    /// Stream length when known (a file's size), else `u64::MAX`.
    limit: u64,
    crc: u64,
    /// `buf[..crc_pos]` is in `crc` already.
    crc_pos: usize,
    checksum: bool,
}

impl<R: Read> RdbReader<R> {
    /// A reader of `src`, which holds `limit` bytes (`u64::MAX` if not
    /// known); `checksum` keeps the CRC-64 of what is consumed.
    pub fn new(src: R, limit: u64, checksum: bool) -> Self {
        let cap = limit.clamp(64, 256 * 1024) as usize;
        RdbReader { src, buf: vec![0; cap], pos: 0, end: 0, base: 0, limit, crc: 0, crc_pos: 0, checksum }
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Bytes the stream can still hold (a cap for lengths read from it).
    fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.offset())
    }

    fn update_crc(&mut self) {
        if self.checksum && self.crc_pos < self.pos {
            self.crc = crate::crc64::crc64(self.crc, &self.buf[self.crc_pos..self.pos]);
        }
        self.crc_pos = self.pos;
    }

    /// The CRC-64 of everything consumed so far.
    pub fn crc(&mut self) -> u64 {
        self.update_crc();
        self.crc
    }

    /// Makes at least `want` (at most the buffer's size) bytes readable.
    fn fill(&mut self, want: usize) -> Result<(), RdbError> {
        self.update_crc();
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
            self.crc_pos = 0;
        }
        while self.end < want {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => return Err(RdbError::Eof),
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(RdbError::Io(e)),
            }
        }
        Ok(())
    }

    /// The next `n` bytes, `n` no more than the buffer's size.
    fn bytes(&mut self, n: usize) -> Result<&[u8], RdbError> {
        if self.end - self.pos < n {
            self.fill(n)?;
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn u8(&mut self) -> Result<u8, RdbError> {
        if self.pos == self.end {
            self.fill(1)?;
        }
        let b = self.buf[self.pos];
        self.pos += 1;
        Ok(b)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N)?);
        Ok(a)
    }

    /// Appends the next `n` bytes to `out`, whatever `n`. A length the
    /// stream cannot hold is a short read before anything is allocated.
    fn read_into(&mut self, n: u64, out: &mut Vec<u8>) -> Result<(), RdbError> {
        if n > self.remaining() {
            return Err(RdbError::Eof);
        }
        let mut left = usize::try_from(n).map_err(|_| RdbError::Eof)?;
        out.reserve_exact(left.min(64 << 20));
        while left > 0 {
            if self.pos == self.end {
                self.fill(1)?;
            }
            let take = left.min(self.end - self.pos);
            out.extend_from_slice(&self.buf[self.pos..self.pos + take]);
            self.pos += take;
            left -= take;
        }
        Ok(())
    }

    /// A length (`rdbLoadLen`) and whether it is a special encoding.
    pub fn load_len_enc(&mut self) -> Result<(u64, bool), RdbError> {
        let b = self.u8()?;
        match b >> 6 {
            0 => Ok(((b & 0x3f) as u64, false)),
            1 => Ok((((b & 0x3f) as u64) << 8 | self.u8()? as u64, false)),
            3 => Ok(((b & 0x3f) as u64, true)),
            _ => match b {
                0x80 => Ok((u32::from_be_bytes(self.array()?) as u64, false)),
                0x81 => Ok((u64::from_be_bytes(self.array()?), false)),
                _ => corrupt(format!("Unknown length encoding {} in rdbLoadLen()", b >> 6)),
            },
        }
    }

    pub fn load_len(&mut self) -> Result<u64, RdbError> {
        Ok(self.load_len_enc()?.0)
    }

    /// A string (`rdbGenericLoadStringObject`): `Some(v)` for the integer
    /// encodings (`out` untouched), else its bytes in `out` (cleared
    /// first), LZF-decompressed if it was compressed.
    pub fn load_string_raw(&mut self, out: &mut Vec<u8>) -> Result<Option<i64>, RdbError> {
        let (len, encoded) = self.load_len_enc()?;
        if encoded {
            return match len as u8 {
                0 => Ok(Some(self.u8()? as i8 as i64)),
                1 => Ok(Some(i16::from_le_bytes(self.array()?) as i64)),
                2 => Ok(Some(i32::from_le_bytes(self.array()?) as i64)),
                3 => {
                    let clen = self.load_len()?;
                    let ulen = self.load_len()?;
                    // LZF expands at most ~88 times (a 3-byte back
                    // reference gives 264 bytes): a bigger claim is damage,
                    // refused before allocating it.
                    if ulen == 0 || ulen > clen.saturating_mul(90) || clen > self.remaining() {
                        return if clen > self.remaining() { Err(RdbError::Eof) } else { corrupt("Invalid LZF compressed string") };
                    }
                    let mut c = Vec::new();
                    self.read_into(clen, &mut c)?;
                    match crate::lzf::decompress(&c, ulen as usize) {
                        Ok(v) => {
                            *out = v;
                            Ok(None)
                        }
                        Err(_) => corrupt("Invalid LZF compressed string"),
                    }
                }
                x => corrupt(format!("Unknown RDB string encoding type {}", x)),
            };
        }
        out.clear();
        self.read_into(len, out)?;
        Ok(None)
    }

    /// A string as bytes, integers formatted.
    pub fn load_string(&mut self) -> Result<Vec<u8>, RdbError> {
        let mut v = Vec::new();
        if let Some(i) = self.load_string_raw(&mut v)? {
            let mut b = itoa::Buffer::new();
            return Ok(b.format(i).as_bytes().to_vec());
        }
        Ok(v)
    }

    /// A double as RDB_TYPE_ZSET wrote it (`rdbLoadDoubleValue`): a length
    /// byte (253 NaN, 254 +inf, 255 -inf) and that many ASCII bytes.
    fn load_double_value(&mut self) -> Result<f64, RdbError> {
        let len = self.u8()?;
        match len {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let b = self.bytes(n as usize)?;
                let s = std::str::from_utf8(b).ok().and_then(|s| s.trim().parse::<f64>().ok());
                s.map_or_else(|| corrupt("Invalid double value"), Ok)
            }
        }
    }

    fn load_binary_double(&mut self) -> Result<f64, RdbError> {
        Ok(f64::from_le_bytes(self.array()?))
    }
}

/// The encoding limits of the loading server, for choosing each value's
/// encoding.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub hash_entries: usize,
    pub hash_value: usize,
    pub zset_entries: usize,
    pub zset_value: usize,
    pub set_intset: usize,
    pub list_fill: i64,
}

impl Limits {
    pub fn from_config(c: &crate::config::Config) -> Limits {
        let u = |v: i64| v.max(0) as usize;
        Limits {
            hash_entries: u(c.hash_max_ziplist_entries),
            hash_value: u(c.hash_max_ziplist_value),
            zset_entries: u(c.zset_max_ziplist_entries),
            zset_value: u(c.zset_max_ziplist_value),
            set_intset: u(c.set_max_intset_entries),
            list_fill: c.list_max_ziplist_size,
        }
    }
}

/// One key as read from the stream.
pub struct LoadedKey {
    pub key: Vec<u8>,
    pub val: Value,
    pub rdbtype: u8,
    /// Unix ms, or -1.
    pub expire: i64,
    /// Seconds idle (IDLE opcode), or -1.
    pub lru_idle: i64,
    /// LFU counter (FREQ opcode), or -1.
    pub lfu_freq: i64,
}

/// What `RdbParser::next_item` read.
pub enum Item {
    Aux(Vec<u8>, Vec<u8>),
    SelectDb(u64),
    ResizeDb(u64, u64),
    Key(LoadedKey),
    /// A key whose value has no elements (skipped, as Redis does).
    EmptyKey(Vec<u8>),
    /// The end: the checksum stored in the file (None before version 5)
    /// and the one computed over what was read.
    Eof { stored: Option<u64>, computed: u64 },
}

/// A value that turned out empty: the key is skipped, not an error.
enum ObjError {
    Empty,
    Err(RdbError),
}

impl From<RdbError> for ObjError {
    fn from(e: RdbError) -> Self {
        ObjError::Err(e)
    }
}

type ObjResult = Result<Value, ObjError>;

fn bad<T>(msg: &str) -> Result<T, ObjError> {
    Err(ObjError::Err(RdbError::Corrupt(msg.to_string())))
}

/// The RDB grammar over an [`RdbReader`].
pub struct RdbParser<R: Read> {
    pub r: RdbReader<R>,
    pub version: u32,
    pub lim: Limits,
    /// What the parser was doing (redis-check-rdb's "While doing").
    pub doing: &'static str,
    /// The type byte of the key being read, if any.
    pub key_type: Option<u8>,
    /// The key whose value failed to load (redis-check-rdb's "Reading
    /// key"); set only on that error path.
    pub failed_key: Option<Vec<u8>>,
    scratch: Vec<u8>,
}

/// Is `t` a value type this loader knows (`rdbIsObjectType`)?
pub fn is_object_type(t: u8) -> bool {
    t <= 7 || (9..=21).contains(&t)
}

/// Redis's name of a type byte (redis-check-rdb's `rdb_type_string`).
pub fn type_name(t: u8) -> &'static str {
    match t {
        0 => "string",
        1 => "list-linked",
        2 => "set-hashtable",
        3 => "zset-v1",
        4 => "hash-hashtable",
        5 => "zset-v2",
        6 => "module-pre-release",
        7 => "module-value",
        9 => "hash-zipmap",
        10 => "list-ziplist",
        11 => "set-intset",
        12 => "zset-ziplist",
        13 => "hash-ziplist",
        14 => "quicklist",
        15 => "stream",
        16 => "hash-listpack",
        17 => "zset-listpack",
        18 => "quicklist-v2",
        19 => "stream-v2",
        20 => "set-listpack",
        21 => "stream-v3",
        _ => "unknown",
    }
}

impl<R: Read> RdbParser<R> {
    pub fn new(r: RdbReader<R>, lim: Limits) -> Self {
        RdbParser { r, version: 0, lim, doing: "start", key_type: None, failed_key: None, scratch: Vec::new() }
    }

    /// Reads and checks `REDIS` + 4-digit version; returns the version.
    pub fn read_header(&mut self) -> Result<u32, RdbError> {
        self.doing = "check-signature";
        let head = self.r.array::<9>()?;
        if &head[..5] != b"REDIS" {
            return corrupt("Wrong signature trying to load DB from file");
        }
        self.doing = "check-version";
        // atoi(): the leading digits ("001x" is version 1), as Redis reads it.
        let v = head[5..].iter().take_while(|b| b.is_ascii_digit()).fold(0u32, |v, &b| v * 10 + (b - b'0') as u32);
        if v < 1 || v > RDB_LOAD_MAX_VERSION {
            return corrupt(format!("Can't handle RDB format version {}", v));
        }
        self.version = v;
        Ok(v)
    }

    /// The next element of the file.
    pub fn next_item(&mut self) -> Result<Item, RdbError> {
        let mut expire = -1i64;
        let mut lru_idle = -1i64;
        let mut lfu_freq = -1i64;
        loop {
            self.doing = "read-type";
            self.key_type = None;
            let t = self.r.u8()?;
            match t {
                RDB_OPCODE_EXPIRETIME => {
                    self.doing = "read-expire";
                    expire = i32::from_le_bytes(self.r.array()?) as i64 * 1000;
                }
                RDB_OPCODE_EXPIRETIME_MS => {
                    self.doing = "read-expire";
                    expire = i64::from_le_bytes(self.r.array()?);
                }
                RDB_OPCODE_FREQ => {
                    self.doing = "read-lfu";
                    lfu_freq = self.r.u8()? as i64;
                }
                RDB_OPCODE_IDLE => {
                    self.doing = "read-lru";
                    lru_idle = self.r.load_len()?.min(i64::MAX as u64) as i64;
                }
                RDB_OPCODE_EOF => {
                    self.doing = "check-sum";
                    if self.version < 5 {
                        return Ok(Item::Eof { stored: None, computed: 0 });
                    }
                    let computed = self.r.crc();
                    let stored = u64::from_le_bytes(self.r.array()?);
                    return Ok(Item::Eof { stored: Some(stored), computed });
                }
                RDB_OPCODE_SELECTDB => {
                    self.doing = "select-db";
                    return Ok(Item::SelectDb(self.r.load_len()?));
                }
                RDB_OPCODE_RESIZEDB => {
                    self.doing = "resize-db";
                    let a = self.r.load_len()?;
                    let b = self.r.load_len()?;
                    return Ok(Item::ResizeDb(a, b));
                }
                RDB_OPCODE_AUX => {
                    self.doing = "read-aux";
                    let k = self.r.load_string()?;
                    let v = self.r.load_string()?;
                    return Ok(Item::Aux(k, v));
                }
                RDB_OPCODE_MODULE_AUX => {
                    self.doing = "read-module-aux";
                    return corrupt("The RDB file contains AUX module data I can't load: no matching module (oxredis has no modules)");
                }
                RDB_OPCODE_FUNCTION | RDB_OPCODE_FUNCTION2 => {
                    self.doing = "read-functions";
                    return corrupt("The RDB file contains function libraries (Redis 7 FUNCTION), which oxredis cannot load");
                }
                t => {
                    if !is_object_type(t) {
                        return corrupt(format!("Unknown RDB encoding type {}", t));
                    }
                    self.key_type = Some(t);
                    self.doing = "read-key";
                    let key = self.r.load_string()?;
                    self.doing = "read-object-value";
                    return match self.load_object(t) {
                        Ok(val) => Ok(Item::Key(LoadedKey { key, val, rdbtype: t, expire, lru_idle, lfu_freq })),
                        Err(ObjError::Empty) => Ok(Item::EmptyKey(key)),
                        Err(ObjError::Err(e)) => {
                            self.failed_key = Some(key);
                            Err(e)
                        }
                    };
                }
            }
        }
    }

    /// A count of elements for sizing a table: never more than the
    /// stream could hold at `min_bytes` per element.
    fn cap_hint(&self, len: u64, min_bytes: u64) -> usize {
        len.min(self.r.remaining() / min_bytes.max(1)).min(1 << 32) as usize
    }

    /// A value of type `t` (`rdbLoadObject`).
    pub fn load_value(&mut self, t: u8) -> Result<Option<Value>, RdbError> {
        match self.load_object(t) {
            Ok(v) => Ok(Some(v)),
            Err(ObjError::Empty) => Ok(None),
            Err(ObjError::Err(e)) => Err(e),
        }
    }

    fn load_object(&mut self, t: u8) -> ObjResult {
        match t {
            RDB_TYPE_STRING => {
                let mut v = Vec::new();
                Ok(Value::Str(match self.r.load_string_raw(&mut v)? {
                    Some(i) => RStr::Int(i),
                    None => RStr::from_vec(v),
                }))
            }
            RDB_TYPE_LIST => self.load_list_linked(),
            RDB_TYPE_SET => self.load_set(),
            RDB_TYPE_ZSET | RDB_TYPE_ZSET_2 => self.load_zset(t == RDB_TYPE_ZSET_2),
            RDB_TYPE_HASH => self.load_hash(),
            RDB_TYPE_LIST_QUICKLIST | RDB_TYPE_LIST_QUICKLIST_2 => self.load_quicklist(t == RDB_TYPE_LIST_QUICKLIST_2),
            RDB_TYPE_LIST_ZIPLIST => {
                let blob = self.blob()?;
                let zl = Ziplist::from_vec(blob).or_else(|_| bad("List ziplist integrity check failed."))?;
                if zl.is_empty() {
                    return Err(ObjError::Empty);
                }
                let mut ql = Quicklist::new(self.lim.list_fill);
                let mut nb = NumBuf::new();
                for e in zl.iter() {
                    ql.push(e.as_bytes(&mut nb), Where::Tail);
                }
                Ok(Value::List(Box::new(ql)))
            }
            RDB_TYPE_SET_INTSET => {
                let blob = self.blob()?;
                let is = Intset::from_vec(blob).or_else(|_| bad("Intset integrity check failed."))?;
                let mut v = Value::SetInt(is);
                if crate::commands::set::set_type_size(&v) > self.lim.set_intset {
                    crate::commands::set::set_type_convert(&mut v);
                }
                Ok(v)
            }
            RDB_TYPE_ZSET_ZIPLIST | RDB_TYPE_HASH_ZIPLIST => {
                let zset = t == RDB_TYPE_ZSET_ZIPLIST;
                let msg = if zset { "Zset ziplist integrity check failed." } else { "Hash ziplist integrity check failed." };
                let blob = self.blob()?;
                // One walk validates the blob and checks its pairs.
                let mut pc = PairsCheck::new(zset);
                let count = Ziplist::validate_with(&blob, |e| pc.push(e));
                let (Ok(count), Some(info)) = (count, pc.finish()) else { return bad(msg) };
                let zl = Ziplist::from_validated_vec(blob, count);
                self.pairs_value(zl, zset, info)
            }
            RDB_TYPE_HASH_LISTPACK | RDB_TYPE_ZSET_LISTPACK => {
                let zset = t == RDB_TYPE_ZSET_LISTPACK;
                let msg = if zset { "Zset listpack integrity check failed." } else { "Hash listpack integrity check failed." };
                let blob = self.blob()?;
                let mut pc = PairsCheck::new(zset);
                let count = crate::listpack::validate_with(&blob, |e| pc.push(e));
                let (Ok(_), Some(info)) = (count, pc.finish()) else { return bad(msg) };
                let zl = Ziplist::from_entries(crate::listpack::entries(&blob));
                self.pairs_value(zl, zset, info)
            }
            RDB_TYPE_SET_LISTPACK => {
                let blob = self.blob()?;
                let n = crate::listpack::validate_with(&blob, |_| true).or_else(|_| bad("Set listpack integrity check failed."))?;
                if has_duplicates(&mut crate::listpack::entries(&blob).collect::<Vec<_>>()) {
                    return bad("Set listpack integrity check failed.");
                }
                if n == 0 {
                    return Err(ObjError::Empty);
                }
                let all_int = crate::listpack::entries(&blob).all(|e| e.as_i64().is_some());
                if all_int && n <= self.lim.set_intset {
                    let mut is = Intset::new();
                    for e in crate::listpack::entries(&blob) {
                        is.add(e.as_i64().unwrap_or(0));
                    }
                    return Ok(Value::SetInt(is));
                }
                let mut d = crate::object::SetTable::new();
                d.expand(n);
                let mut nb = NumBuf::new();
                for e in crate::listpack::entries(&blob) {
                    d.insert(e.as_bytes(&mut nb).into(), ());
                }
                Ok(Value::SetHt(Box::new(d)))
            }
            RDB_TYPE_HASH_ZIPMAP => bad("Unknown RDB encoding type 9 (zipmap hashes of Redis before 2.6 are not supported)"),
            RDB_TYPE_STREAM_LISTPACKS | RDB_TYPE_STREAM_LISTPACKS_2 | RDB_TYPE_STREAM_LISTPACKS_3 => {
                bad(&format!("Unknown RDB encoding type {} (oxredis has no stream type)", t))
            }
            RDB_TYPE_MODULE | RDB_TYPE_MODULE_2 => bad(&format!("Unknown RDB encoding type {} (oxredis has no modules)", t)),
            _ => bad(&format!("Unknown RDB encoding type {}", t)),
        }
    }

    /// A string holding a ziplist, intset or listpack.
    fn blob(&mut self) -> Result<Vec<u8>, RdbError> {
        let mut v = Vec::new();
        match self.r.load_string_raw(&mut v)? {
            // An integer is no blob: let the validation refuse it.
            Some(_) => Ok(Vec::new()),
            None => Ok(v),
        }
    }

    /// A checked ziplist of pairs as a sorted set or hash, in the big
    /// encoding when it is past this server's limits.
    fn pairs_value(&self, zl: Ziplist, zset: bool, info: PairsInfo) -> ObjResult {
        if info.entries == 0 {
            return Err(ObjError::Empty);
        }
        let pairs = info.entries / 2;
        if zset {
            let mut v = Value::ZsetZl(zl);
            if pairs > self.lim.zset_entries || info.max_field > self.lim.zset_value {
                crate::commands::zset::zset_convert_to_skiplist(&mut v);
            }
            Ok(v)
        } else {
            let mut v = Value::HashZl(zl);
            if pairs > self.lim.hash_entries || info.max_entry > self.lim.hash_value {
                crate::commands::hash::hash_convert(&mut v);
            }
            Ok(v)
        }
    }

    /// RDB_TYPE_LIST: a length and the elements.
    fn load_list_linked(&mut self) -> ObjResult {
        let len = self.r.load_len()?;
        if len == 0 {
            return Err(ObjError::Empty);
        }
        let mut ql = Quicklist::new(self.lim.list_fill);
        for _ in 0..len {
            let s = self.r.load_string()?;
            ql.push(&s, Where::Tail);
        }
        Ok(Value::List(Box::new(ql)))
    }

    /// RDB_TYPE_SET: an intset while the members are integers and few
    /// enough, else a table.
    fn load_set(&mut self) -> ObjResult {
        let len = self.r.load_len()?;
        if len == 0 {
            return Err(ObjError::Empty);
        }
        let mut v = if len as usize <= self.lim.set_intset {
            Value::SetInt(Intset::new())
        } else {
            let mut d = crate::object::SetTable::new();
            d.expand(self.cap_hint(len, 1));
            Value::SetHt(Box::new(d))
        };
        let mut s = std::mem::take(&mut self.scratch);
        for _ in 0..len {
            let int = self.r.load_string_raw(&mut s)?;
            let added = match (&mut v, int) {
                (Value::SetInt(is), Some(i)) => is.add(i),
                (Value::SetInt(is), None) => match crate::util::string2ll(&s) {
                    Some(i) => is.add(i),
                    None => {
                        crate::commands::set::set_type_convert(&mut v);
                        set_ht_add(&mut v, &s)
                    }
                },
                (_, Some(i)) => set_ht_add(&mut v, itoa::Buffer::new().format(i).as_bytes()),
                (_, None) => set_ht_add(&mut v, &s),
            };
            if !added {
                self.scratch = s;
                return bad("Duplicate set members detected");
            }
        }
        self.scratch = s;
        if matches!(&v, Value::SetInt(is) if is.len() > self.lim.set_intset) {
            crate::commands::set::set_type_convert(&mut v);
        }
        Ok(v)
    }

    /// RDB_TYPE_ZSET / ZSET_2: members with text or binary scores, highest
    /// first as Redis writes them; a ziplist at the end if it is small.
    fn load_zset(&mut self, binary: bool) -> ObjResult {
        let len = self.r.load_len()?;
        if len == 0 {
            return Err(ObjError::Empty);
        }
        let mut z = crate::skiplist::Zset::with_capacity(self.cap_hint(len, if binary { 9 } else { 2 }));
        let mut maxelelen = 0usize;
        let mut totelelen = 0usize;
        for _ in 0..len {
            let m = self.r.load_string()?;
            let score = if binary { self.r.load_binary_double()? } else { self.r.load_double_value()? };
            if score.is_nan() {
                return bad("Zset with NAN score detected");
            }
            maxelelen = maxelelen.max(m.len());
            totelelen += m.len();
            if !matches!(z.insert_new(&m, score), Ok(true)) {
                return bad("Duplicate zset fields detected");
            }
        }
        let mut v = Value::ZsetSl(Box::new(z));
        if len as usize <= self.lim.zset_entries && maxelelen <= self.lim.zset_value && totelelen < crate::ziplist::ZIPLIST_MAX_SAFETY_SIZE {
            crate::commands::zset::zset_convert_to_ziplist(&mut v);
        }
        Ok(v)
    }

    /// RDB_TYPE_HASH: field/value pairs, into a ziplist while they fit.
    fn load_hash(&mut self) -> ObjResult {
        let len = self.r.load_len()?;
        if len == 0 {
            return Err(ObjError::Empty);
        }
        let mut v = if len as usize > self.lim.hash_entries {
            let mut d = crate::object::HashTable::new();
            d.expand(self.cap_hint(len, 2));
            Value::HashHt(Box::new(d))
        } else {
            Value::HashZl(Ziplist::new())
        };
        for _ in 0..len {
            let f = self.r.load_string()?;
            let val = self.r.load_string()?;
            if let Value::HashZl(zl) = &v {
                if f.len() > self.lim.hash_value || val.len() > self.lim.hash_value || !zl.safe_to_add(f.len() + val.len()) {
                    crate::commands::hash::hash_convert(&mut v);
                }
            }
            match &mut v {
                Value::HashZl(zl) => {
                    if zl.first().and_then(|p| zl.find(p, &f, 1)).is_some() {
                        return bad("Duplicate hash fields detected");
                    }
                    zl.push(&f, Where::Tail);
                    zl.push(&val, Where::Tail);
                }
                Value::HashHt(d) => {
                    if d.add(f.into_boxed_slice(), val.into_boxed_slice()).is_err() {
                        return bad("Duplicate hash fields detected");
                    }
                }
                _ => {}
            }
        }
        Ok(v)
    }

    /// RDB_TYPE_LIST_QUICKLIST (ziplist nodes, adopted as they are) and
    /// _2 (plain elements or listpack nodes, re-pushed).
    fn load_quicklist(&mut self, v2: bool) -> ObjResult {
        let nodes = self.r.load_len()?;
        if nodes == 0 {
            return Err(ObjError::Empty);
        }
        let mut ql = Quicklist::new(self.lim.list_fill);
        for _ in 0..nodes {
            let container = if v2 { self.r.load_len()? } else { QUICKLIST_NODE_CONTAINER_PACKED };
            if container != QUICKLIST_NODE_CONTAINER_PACKED && container != QUICKLIST_NODE_CONTAINER_PLAIN {
                return bad("Quicklist integrity check failed.");
            }
            let blob = self.r.load_string()?;
            if container == QUICKLIST_NODE_CONTAINER_PLAIN {
                ql.push(&blob, Where::Tail);
                continue;
            }
            if v2 {
                if crate::listpack::validate_with(&blob, |_| true).is_err() {
                    return bad("Listpack integrity check failed.");
                }
                // The node as Redis sized it, as a ziplist (empty ones are
                // dropped).
                let zl = Ziplist::from_entries(crate::listpack::entries(&blob));
                if !zl.is_empty() {
                    ql.append_ziplist(zl);
                }
            } else {
                let zl = Ziplist::from_vec(blob).or_else(|_| bad("Ziplist integrity check failed."))?;
                // Empty nodes are dropped, as Redis does.
                if !zl.is_empty() {
                    ql.append_ziplist(zl);
                }
            }
        }
        if ql.is_empty() {
            return Err(ObjError::Empty);
        }
        Ok(Value::List(Box::new(ql)))
    }
}

fn set_ht_add(v: &mut Value, m: &[u8]) -> bool {
    match v {
        Value::SetHt(d) => d.add(m.into(), ()).is_ok(),
        _ => false,
    }
}

/// What one walk over a blob of pairs found.
struct PairsInfo {
    entries: usize,
    /// Longest field (member), and longest entry of all, as strings.
    max_field: usize,
    max_entry: usize,
}

/// The pair checks of hash and sorted set blobs (`hashZiplistValidateIntegrity`,
/// `zsetZiplistValidateIntegrity`), fed one entry at a time (by the blob's
/// own validation walk): an even count, no field twice, and for a sorted
/// set every score a number.
struct PairsCheck<'a> {
    zset: bool,
    // Fields of small blobs stay on the stack.
    small: [ZlEntry<'a>; 16],
    fields: Vec<ZlEntry<'a>>,
    info: PairsInfo,
}

impl<'a> PairsCheck<'a> {
    fn new(zset: bool) -> Self {
        PairsCheck { zset, small: [ZlEntry::Int(0); 16], fields: Vec::new(), info: PairsInfo { entries: 0, max_field: 0, max_entry: 0 } }
    }

    /// Takes the next entry; false if it is a score that is no number.
    fn push(&mut self, e: ZlEntry<'a>) -> bool {
        let i = self.info.entries;
        self.info.entries += 1;
        let len = match e {
            ZlEntry::Str(s) => s.len(),
            ZlEntry::Int(v) => crate::util::digits10(v),
        };
        self.info.max_entry = self.info.max_entry.max(len);
        if i % 2 == 0 {
            self.info.max_field = self.info.max_field.max(len);
            let k = i / 2;
            if k < self.small.len() {
                self.small[k] = e;
            } else {
                if k == self.small.len() {
                    self.fields.extend_from_slice(&self.small);
                }
                self.fields.push(e);
            }
        } else if self.zset {
            if let ZlEntry::Str(s) = e {
                return crate::util::string2d(s).is_some_and(|d| !d.is_nan());
            }
        }
        true
    }

    /// The verdict once every entry was pushed.
    fn finish(mut self) -> Option<PairsInfo> {
        let n_fields = self.info.entries.div_ceil(2);
        let fields = if n_fields <= self.small.len() { &mut self.small[..n_fields] } else { &mut self.fields[..] };
        if self.info.entries % 2 != 0 || has_duplicates(fields) {
            return None;
        }
        Some(self.info)
    }
}

#[cfg(test)]
fn pairs_check<'a>(entries: impl Iterator<Item = ZlEntry<'a>>, zset: bool) -> Option<PairsInfo> {
    let mut pc = PairsCheck::new(zset);
    for e in entries {
        if !pc.push(e) {
            return None;
        }
    }
    pc.finish()
}

/// Equal as strings? (A string entry equals an integer entry when it is
/// that integer's canonical decimal form.)
fn entry_eq(a: &ZlEntry<'_>, b: &ZlEntry<'_>) -> bool {
    match (a, b) {
        (ZlEntry::Str(x), ZlEntry::Str(y)) => x == y,
        (ZlEntry::Int(x), ZlEntry::Int(y)) => x == y,
        (ZlEntry::Str(s), ZlEntry::Int(i)) | (ZlEntry::Int(i), ZlEntry::Str(s)) => crate::util::string2ll(s) == Some(*i),
    }
}

/// Does any entry appear twice (as a string)?
fn has_duplicates(v: &mut [ZlEntry<'_>]) -> bool {
    if v.len() <= 16 {
        return (0..v.len()).any(|i| (i + 1..v.len()).any(|j| entry_eq(&v[i], &v[j])));
    }
    // A total order that agrees with entry_eq: canonical integers first.
    fn key<'a>(e: &ZlEntry<'a>) -> Result<i64, &'a [u8]> {
        match *e {
            ZlEntry::Int(i) => Ok(i),
            ZlEntry::Str(s) => crate::util::string2ll(s).ok_or(s),
        }
    }
    v.sort_unstable_by(|a, b| key(a).cmp(&key(b)));
    v.windows(2).any(|w| key(&w[0]) == key(&w[1]))
}

/// How loading a file failed, for the caller's choice of exit or reply.
#[derive(Debug)]
pub enum RdbLoadError {
    /// The file could not be opened (`NotFound` is no error at start-up).
    Open(std::io::Error),
    /// Bad signature or version (Redis sets errno EINVAL).
    Invalid(String),
    /// Damaged or truncated content, already logged.
    Corrupt,
    /// More databases than configured, already logged.
    TooManyDbs,
}

impl Server {
    /// Loads `path` into the databases (`rdbLoad`).
    pub fn rdb_load(&mut self, path: &str, flags: u32) -> Result<(), RdbLoadError> {
        let f = std::fs::File::open(path).map_err(RdbLoadError::Open)?;
        let total = f.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
        let checksum = self.config.stored_bool("rdbchecksum").unwrap_or(true);
        let mut p = RdbParser::new(RdbReader::new(f, total, checksum), Limits::from_config(&self.config));
        self.start_loading(total);
        let res = self.rdb_load_rio(&mut p, flags);
        self.stop_loading();
        match res {
            Ok(()) => Ok(()),
            Err(e) => {
                Err(e)
            }
        }
    }

    /// Loads one RDB stream (`rdbLoadRio`): the header, then every item up
    /// to EOF and the checksum.
    pub fn rdb_load_rio<R: Read>(&mut self, p: &mut RdbParser<R>, flags: u32) -> Result<(), RdbLoadError> {
        if let Err(e) = p.read_header() {
            let msg = match e {
                RdbError::Corrupt(m) => m,
                _ => "Short read or OOM loading DB. Unrecoverable error, aborting now.".to_string(),
            };
            log::warn!("{}", msg);
            return Err(RdbLoadError::Invalid(msg));
        }
        let mut db = 0usize;
        let mut keys_loaded = 0u64;
        let mut expired_skipped = 0u64;
        let mut empty_skipped = 0u64;
        let mut next_events = LOADING_PROCESS_EVENTS_INTERVAL_BYTES;
        let lru_clock = crate::object::lru_clock(self.mstime);
        let now = crate::util::mstime();
        let preamble = flags & RDBFLAGS_AOF_PREAMBLE != 0;
        loop {
            let item = match p.next_item() {
                Ok(i) => i,
                Err(e) => {
                    self.rdb_report_error(p.r.offset(), &e);
                    return Err(RdbLoadError::Corrupt);
                }
            };
            match item {
                Item::Aux(k, v) => self.rdb_load_aux(&k, &v),
                Item::SelectDb(id) => {
                    if id >= self.dbs.len() as u64 {
                        log::warn!(
                            "FATAL: Data file was created with a Redis server configured to handle more than {} databases. Exiting\n",
                            self.dbs.len()
                        );
                        return Err(RdbLoadError::TooManyDbs);
                    }
                    db = id as usize;
                }
                Item::ResizeDb(a, b) => {
                    let a = p.cap_hint(a, 2);
                    let b = p.cap_hint(b, 10);
                    self.dbs[db].dict.expand(a);
                    self.dbs[db].expires.expand(b);
                }
                Item::EmptyKey(k) => {
                    if empty_skipped < 10 {
                        log::warn!("rdbLoadObject skipping empty key: {}", String::from_utf8_lossy(&k));
                    }
                    empty_skipped += 1;
                }
                Item::Key(k) => {
                    if !preamble && k.expire != -1 && k.expire < now {
                        expired_skipped += 1;
                    } else {
                        let lru = self.lru_from_idle_or_freq(k.lfu_freq, k.lru_idle, lru_clock);
                        let o = Obj { val: k.val, lru: lru.unwrap_or_else(|| self.new_lru()) };
                        let key: Box<[u8]> = k.key.into_boxed_slice();
                        // Keys with a TTL pay one copy of the name, for
                        // the expires table.
                        let ttl_key = if k.expire != -1 { Some(key.clone()) } else { None };
                        let d = &mut self.dbs[db];
                        if let Err((key, o)) = d.dict.add(key, o) {
                            if flags & RDBFLAGS_ALLOW_DUP == 0 {
                                log::warn!("RDB has duplicated key '{}' in DB {}", String::from_utf8_lossy(&key), db);
                                self.rdb_report_error(p.r.offset(), &RdbError::Corrupt("Duplicated key found in RDB file".into()));
                                return Err(RdbLoadError::Corrupt);
                            }
                            d.remove(&key);
                            d.dict.insert(key, o);
                        }
                        if let Some(tk) = ttl_key {
                            // A key that was just added has no TTL yet,
                            // except one replaced by MERGE.
                            if let Err((tk, when)) = self.dbs[db].expires.add(tk, k.expire) {
                                self.dbs[db].expires.insert(tk, when);
                            }
                        }
                        keys_loaded += 1;
                    }
                    if self.config.key_load_delay > 0 {
                        std::thread::sleep(std::time::Duration::from_micros(self.config.key_load_delay as u64));
                    }
                }
                Item::Eof { stored, computed } => {
                    if let Some(stored) = stored {
                        if self.config.stored_bool("rdbchecksum").unwrap_or(true) {
                            if stored == 0 {
                                log::info!("RDB file was saved with checksum disabled: no check performed.");
                            } else if stored != computed {
                                // Redis's wording: "expected" is what the
                                // bytes hash to, "got" what the file says.
                                log::warn!("Wrong RDB checksum expected: ({:x}) but got ({:x}). Aborting now.", computed, stored);
                                self.rdb_report_error(p.r.offset(), &RdbError::Corrupt("RDB CRC error".into()));
                                return Err(RdbLoadError::Corrupt);
                            }
                        }
                    }
                    break;
                }
            }
            if p.r.offset() >= next_events {
                self.aof.loading_loaded_bytes = p.r.offset();
                next_events = p.r.offset() + LOADING_PROCESS_EVENTS_INTERVAL_BYTES;
                self.process_events_while_blocked();
            }
        }
        if empty_skipped > 0 {
            log::warn!(
                "Done loading RDB, keys loaded: {}, keys expired: {}, empty keys skipped: {}.",
                keys_loaded,
                expired_skipped,
                empty_skipped
            );
        } else {
            log::info!("Done loading RDB, keys loaded: {}, keys expired: {}.", keys_loaded, expired_skipped);
        }
        Ok(())
    }

    fn rdb_load_aux(&mut self, k: &[u8], v: &[u8]) {
        let val = String::from_utf8_lossy(v);
        match k {
            b"redis-ver" => log::info!("Loading RDB produced by version {}", val),
            b"ctime" => {
                let age = self.unixtime - crate::util::string2ll(v).unwrap_or(self.unixtime);
                log::info!("RDB age {} seconds", age.max(0));
            }
            b"used-mem" => {
                let mem = crate::util::string2ll(v).unwrap_or(0);
                log::info!("RDB memory usage when created {:.2} Mb", mem as f64 / (1024.0 * 1024.0));
            }
            b"aof-preamble" => {
                if crate::util::string2ll(v).unwrap_or(0) != 0 {
                    log::info!("RDB has an AOF tail");
                }
            }
            b"redis-bits" | b"repl-stream-db" | b"repl-id" | b"repl-offset" | b"lua" | b"aof-base" => {}
            _ => log::debug!("Unrecognized RDB AUX field: '{}'", String::from_utf8_lossy(k)),
        }
    }

    /// Logs a load failure as `rdbReportError` does.
    fn rdb_report_error(&self, offset: u64, e: &RdbError) {
        if let RdbError::Eof = e {
            log::warn!("Short read or OOM loading DB. Unrecoverable error, aborting now.");
        }
        log::warn!("Internal error in RDB reading offset {}, function at rdb_load.rs -> {}", offset, e);
    }

    /// The access clock of an object given IDLE / FREQ values read from an
    /// RDB or RESTORE (`objectSetLRUOrLFU`), or None if neither applies
    /// under the current policy (the object keeps a fresh clock).
    pub fn lru_from_idle_or_freq(&self, lfu_freq: i64, lru_idle: i64, lru_clock: u32) -> Option<u32> {
        if self.lfu_policy() {
            if lfu_freq >= 0 {
                return Some((crate::object::lfu_time_in_minutes(self.unixtime) << 8) | lfu_freq.min(255) as u32);
            }
        } else if lru_idle >= 0 {
            let idle = lru_idle.saturating_mul(1000) / crate::object::LRU_CLOCK_RESOLUTION;
            let mut abs = lru_clock as i64 - idle;
            if abs < 0 {
                abs = (lru_clock as i64 + (crate::object::LRU_CLOCK_MAX as i64 / 2)) % crate::object::LRU_CLOCK_MAX as i64;
            }
            return Some(abs as u32);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ZlEntry::{Int, Str};

    fn check(e: &[ZlEntry<'static>], zset: bool) -> Option<(usize, usize, usize)> {
        pairs_check(e.iter().copied(), zset).map(|i| (i.entries, i.max_field, i.max_entry))
    }

    #[test]
    fn pairs_check_counts_lengths_and_refuses_damage() {
        assert_eq!(check(&[Str(b"f"), Str(b"value"), Int(-100), Int(7)], false), Some((4, 4, 5)));
        // Odd count, a score that is no number, NaN.
        assert_eq!(check(&[Str(b"f"), Str(b"v"), Str(b"g")], false), None);
        assert_eq!(check(&[Str(b"m"), Str(b"x1")], true), None);
        assert_eq!(check(&[Str(b"m"), Str(b"nan")], true), None);
        assert!(check(&[Str(b"m"), Str(b"1.5"), Str(b"n"), Int(3)], true).is_some());
        // A field twice, also as a string equal to an integer entry.
        assert_eq!(check(&[Str(b"a"), Int(1), Str(b"a"), Int(2)], false), None);
        assert_eq!(check(&[Int(12), Int(1), Str(b"12"), Int(2)], false), None);
        assert!(check(&[Int(12), Int(1), Str(b"012"), Int(2)], false).is_some());
    }

    #[test]
    fn pairs_check_finds_duplicates_past_the_stack_slots() {
        let names: Vec<Vec<u8>> = (0..40).map(|i| format!("field{}", i).into_bytes()).collect();
        let names: &'static [Vec<u8>] = Box::leak(names.into_boxed_slice());
        let mut e: Vec<ZlEntry<'static>> = Vec::new();
        for n in names {
            e.push(Str(n));
            e.push(Int(1));
        }
        assert_eq!(check(&e, false).map(|x| x.0), Some(80));
        // The last field repeats one from the first 16.
        e.push(Str(b"field3"));
        e.push(Int(1));
        assert_eq!(check(&e, false), None);
        // Integers and their string forms beyond 16 fields too.
        let mut e: Vec<ZlEntry<'static>> = (0..20).flat_map(|i| [Int(i), Int(0)]).collect();
        assert!(check(&e, false).is_some());
        e.push(Str(b"19"));
        e.push(Int(0));
        assert_eq!(check(&e, false), None);
    }
}
