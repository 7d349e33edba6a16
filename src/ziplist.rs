//! The ziplist: Redis 6.2's compact, byte-exact sequence encoding (ziplist.c).
//!
//! Small hashes, sorted sets and every quicklist node live in one of these
//! blobs, and RDB files embed them verbatim, so the layout here is exactly
//! Redis's, byte for byte:
//!
//! ```text
//! <zlbytes u32 LE> <zltail u32 LE> <zllen u16 LE> <entry> ... <entry> <0xFF>
//! entry = <prevlen> <encoding> <data>
//! prevlen  = 1 byte (< 254) | 0xFE + u32 LE
//! encoding = 00pppppp                       string, len <= 63
//!          | 01pppppp qqqqqqqq              string, 14-bit BE len
//!          | 10______ + u32 BE              string, 32-bit len
//!          | 0xC0 int16 | 0xD0 int32 | 0xE0 int64 | 0xF0 int24 | 0xFE int8
//!          | 0xF1..=0xFD immediate 0..=12 (no data)
//! ```
//!
//! `zltail` is the offset of the last entry, `zllen` the entry count (65535
//! means "count them"). The mechanism worth knowing:
//! 1. A string that `string2ll` accepts (canonical integer, < 32 bytes) is
//!    stored as the smallest integer encoding (`zipTryEncoding`), so "12"
//!    costs one byte of encoding and no data, while "012", "+1" or "-0"
//!    stay strings.
//! 2. Each entry records the raw length of the previous one so the list can
//!    be walked backwards. When an entry grows past 253 bytes, the next
//!    entry's `prevlen` grows from 1 to 5 bytes, which may push *that* entry
//!    past 253 bytes, and so on: the cascade update. Like Redis 6.2, a
//!    cascade never shrinks a 5-byte `prevlen` (it writes the small value in
//!    the large form), and it is done in two passes (measure, then one
//!    resize and a back-to-front move). A plain insert or delete stores the
//!    next entry's `prevlen` minimally, except for Redis's `forcelarge` case
//!    (a tiny entry inserted before a 5-byte field keeps it 5 bytes wide),
//!    mirrored in `insert_raw`.
//! 3. Blobs from outside (RDB, RESTORE) go through `from_bytes`, a deep check
//!    in the spirit of `ziplistValidateIntegrity`: every later operation may
//!    then trust the layout.
//!
//! The blob lives in a `Blob` (one pointer, so `Ziplist` is 8 bytes
//! like Redis's `robj->ptr`), and every mutation leaves capacity equal to
//! length: the heap block is Redis's blob plus the thin vector's 16-byte
//! header. The entry count is not cached: it is the `zllen` header, and
//! only when that saturates at 65535 is the list walked, as `ziplistLen`
//! does.
//!
//! Positions (`ZlPos`) are byte offsets, like Redis's `unsigned char *p`;
//! any mutation invalidates positions other than the one it returns. A
//! stale position is a caller bug and may panic (index out of bounds); it
//! can never be produced by data from outside.

use std::cmp::Ordering;

use crate::blob::Blob;

use crate::util::{random_f64, random_u64, string2ll};

/// Bytes of `zlbytes` + `zltail` + `zllen`.
pub const ZIPLIST_HEADER_SIZE: usize = 10;
/// Size of a ziplist with no entries (header + end byte).
pub const ZIPLIST_EMPTY_SIZE: usize = ZIPLIST_HEADER_SIZE + 1;
/// `SIZE_SAFETY_LIMIT`: callers convert to a real data structure rather than
/// let a blob grow past this (`ziplistSafeToAdd`).
pub const ZIPLIST_MAX_SAFETY_SIZE: usize = 1 << 30;
const ZIP_END: u8 = 0xFF;
/// First byte of a 5-byte prevlen, and the first length that needs it.
const ZIP_BIG_PREVLEN: u8 = 0xFE;
const ZIP_BIG_PREVLEN_LEN: usize = 254;

const ZIP_STR_06B: u8 = 0x00;
const ZIP_STR_14B: u8 = 0x40;
const ZIP_STR_32B: u8 = 0x80;
const ZIP_INT_16B: u8 = 0xC0;
const ZIP_INT_32B: u8 = 0xD0;
const ZIP_INT_64B: u8 = 0xE0;
const ZIP_INT_24B: u8 = 0xF0;
const ZIP_INT_8B: u8 = 0xFE;
const ZIP_INT_IMM_MIN: u8 = 0xF1;
const ZIP_INT_IMM_MAX: u8 = 0xFD;

const INT24_MIN: i64 = -(1 << 23);
const INT24_MAX: i64 = (1 << 23) - 1;

/// Scratch space for rendering an integer entry as text (`get_bytes`).
pub type NumBuf = itoa::Buffer;

/// One decoded entry value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZlEntry<'a> {
    Str(&'a [u8]),
    Int(i64),
}

impl<'a> ZlEntry<'a> {
    /// The value as Redis replies with it: integers in decimal.
    pub fn to_vec(&self) -> Vec<u8> {
        match *self {
            ZlEntry::Str(s) => s.to_vec(),
            ZlEntry::Int(v) => itoa::Buffer::new().format(v).as_bytes().to_vec(),
        }
    }

    /// The value as bytes without allocating: a string entry borrows the
    /// blob, an integer is rendered into `buf`.
    pub fn as_bytes<'b>(&self, buf: &'b mut NumBuf) -> &'b [u8]
    where
        'a: 'b,
    {
        match *self {
            ZlEntry::Str(s) => s,
            ZlEntry::Int(v) => buf.format(v).as_bytes(),
        }
    }

    /// The value as an integer: an integer entry, or a string entry that
    /// `string2ll` accepts.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            ZlEntry::Str(s) => string2ll(s),
            ZlEntry::Int(v) => Some(v),
        }
    }

    /// `ziplistCompare` semantics: a string entry compares bytes, an integer
    /// entry compares with `s` only if `s` is a canonical integer.
    pub fn eq_bytes(&self, s: &[u8]) -> bool {
        match *self {
            ZlEntry::Str(v) => v == s,
            ZlEntry::Int(v) => try_encoding(s).map(|(x, _)| x == v).unwrap_or(false),
        }
    }

    /// Byte-wise order of the entry's text against `s` (memcmp, then the
    /// shorter first), as `zzlCompareElements` orders zset members.
    pub fn cmp_bytes(&self, s: &[u8]) -> Ordering {
        let mut buf = NumBuf::new();
        self.as_bytes(&mut buf).cmp(s)
    }
}

/// Why `from_bytes` refused a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZiplistError(pub &'static str);

impl std::fmt::Display for ZiplistError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid ziplist: {}", self.0)
    }
}

impl std::error::Error for ZiplistError {}

/// Where `push` puts the new entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Where {
    Head,
    Tail,
}

/// The position of an entry: its byte offset in the blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ZlPos(usize);

impl ZlPos {
    /// Byte offset of the entry inside `as_bytes()`.
    pub fn offset(self) -> usize {
        self.0
    }
}

/// A ziplist blob, byte-exact with Redis 6.2.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ziplist {
    buf: Blob,
}

/// Header fields of one entry (`zlentry`).
#[derive(Debug, Clone, Copy)]
struct EntryInfo {
    prevlen_size: usize,
    prevlen: usize,
    len_size: usize,
    len: usize,
    encoding: u8,
}

impl EntryInfo {
    fn header_size(&self) -> usize {
        self.prevlen_size + self.len_size
    }
    fn raw_len(&self) -> usize {
        self.header_size() + self.len
    }
    fn is_str(&self) -> bool {
        self.encoding < 0xC0
    }
}

/// `zipTryEncoding`: the integer value and encoding byte for `s`, if Redis
/// would store it as an integer.
fn try_encoding(s: &[u8]) -> Option<(i64, u8)> {
    if s.is_empty() || s.len() >= 32 {
        return None;
    }
    let v = string2ll(s)?;
    Some((v, int_encoding_for(v)))
}

/// Smallest integer encoding that holds `v`.
fn int_encoding_for(v: i64) -> u8 {
    if (0..=12).contains(&v) {
        ZIP_INT_IMM_MIN + v as u8
    } else if v >= i8::MIN as i64 && v <= i8::MAX as i64 {
        ZIP_INT_8B
    } else if v >= i16::MIN as i64 && v <= i16::MAX as i64 {
        ZIP_INT_16B
    } else if (INT24_MIN..=INT24_MAX).contains(&v) {
        ZIP_INT_24B
    } else if v >= i32::MIN as i64 && v <= i32::MAX as i64 {
        ZIP_INT_32B
    } else {
        ZIP_INT_64B
    }
}

/// Data bytes of an integer encoding, `None` if `enc` is not one.
fn int_size(enc: u8) -> Option<usize> {
    match enc {
        ZIP_INT_8B => Some(1),
        ZIP_INT_16B => Some(2),
        ZIP_INT_24B => Some(3),
        ZIP_INT_32B => Some(4),
        ZIP_INT_64B => Some(8),
        ZIP_INT_IMM_MIN..=ZIP_INT_IMM_MAX => Some(0),
        _ => None,
    }
}

fn prevlen_size_for(len: usize) -> usize {
    if len < ZIP_BIG_PREVLEN_LEN {
        1
    } else {
        5
    }
}

/// A `prevlen` field: up to 5 bytes and how many are used.
type PrevlenField = ([u8; 5], usize);

/// The `prevlen` field for `len` in its minimal form.
fn prevlen_bytes(len: usize) -> PrevlenField {
    if len < ZIP_BIG_PREVLEN_LEN {
        ([len as u8, 0, 0, 0, 0], 1)
    } else {
        prevlen_bytes_large(len)
    }
}

/// The `prevlen` field for `len` forced into the 5-byte form.
fn prevlen_bytes_large(len: usize) -> PrevlenField {
    let l = (len as u32).to_le_bytes();
    ([ZIP_BIG_PREVLEN, l[0], l[1], l[2], l[3]], 5)
}

/// The encoding and data of a new entry, minus the string bytes themselves:
/// `head` is the encoding header (and for integers the data), and `tail` is
/// the string payload (empty for integers).
struct Body<'s> {
    head: [u8; 9],
    head_len: usize,
    tail: &'s [u8],
}

impl<'s> Body<'s> {
    /// `zipTryEncoding` + `zipStoreEntryEncoding` + `zipSaveInteger`.
    fn new(s: &'s [u8]) -> Body<'s> {
        match try_encoding(s) {
            Some((v, _)) => Body::int(v),
            None => Body::string(s),
        }
    }

    /// An integer entry in its smallest encoding.
    fn int(v: i64) -> Body<'s> {
        let mut head = [0u8; 9];
        let enc = int_encoding_for(v);
        {
            head[0] = enc;
            let n = match enc {
                ZIP_INT_8B => {
                    head[1] = v as i8 as u8;
                    1
                }
                ZIP_INT_16B => {
                    head[1..3].copy_from_slice(&(v as i16).to_le_bytes());
                    2
                }
                ZIP_INT_24B => {
                    head[1..4].copy_from_slice(&(v as i32).to_le_bytes()[..3]);
                    3
                }
                ZIP_INT_32B => {
                    head[1..5].copy_from_slice(&(v as i32).to_le_bytes());
                    4
                }
                ZIP_INT_64B => {
                    head[1..9].copy_from_slice(&v.to_le_bytes());
                    8
                }
                _ => 0, // immediate: the value is in the encoding byte
            };
            Body { head, head_len: 1 + n, tail: &[] }
        }
    }

    /// A string entry.
    fn string(s: &'s [u8]) -> Body<'s> {
        let mut head = [0u8; 9];
        let len = s.len();
        let head_len = if len <= 0x3f {
            head[0] = ZIP_STR_06B | len as u8;
            1
        } else if len <= 0x3fff {
            head[0] = ZIP_STR_14B | (len >> 8) as u8;
            head[1] = (len & 0xff) as u8;
            2
        } else {
            head[0] = ZIP_STR_32B;
            head[1..5].copy_from_slice(&(len as u32).to_be_bytes());
            5
        };
        Body { head, head_len, tail: s }
    }

    fn len(&self) -> usize {
        self.head_len + self.tail.len()
    }

    /// Writes the body at the start of `out` (which must be `len()` long).
    fn write(&self, out: &mut [u8]) {
        out[..self.head_len].copy_from_slice(&self.head[..self.head_len]);
        out[self.head_len..self.len()].copy_from_slice(self.tail);
    }
}

/// Reads an integer of encoding `enc` at `d` (caller checked the bounds).
fn load_int(d: &[u8], enc: u8) -> i64 {
    match enc {
        ZIP_INT_8B => d[0] as i8 as i64,
        ZIP_INT_16B => i16::from_le_bytes([d[0], d[1]]) as i64,
        ZIP_INT_24B => (i32::from_le_bytes([0, d[0], d[1], d[2]]) >> 8) as i64,
        ZIP_INT_32B => i32::from_le_bytes([d[0], d[1], d[2], d[3]]) as i64,
        ZIP_INT_64B => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&d[..8]);
            i64::from_le_bytes(b)
        }
        _ => (enc & 0x0F) as i64 - 1,
    }
}

fn read_u32_le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Decodes the entry headers at `p`, checking that every byte they describe
/// lies inside `[HEADER, len-1]` and that `prevlen` does not point before the
/// first entry (`zipEntrySafe`). Never panics.
fn entry_info_safe(buf: &[u8], p: usize) -> Option<EntryInfo> {
    let last = buf.len().checked_sub(1)?; // offset of the end byte
    let in_range = |x: usize| (ZIPLIST_HEADER_SIZE..=last).contains(&x);
    if !in_range(p) {
        return None;
    }
    let (prevlen_size, prevlen) = if buf[p] < ZIP_BIG_PREVLEN {
        (1, buf[p] as usize)
    } else {
        if !in_range(p + 5) {
            return None;
        }
        (5, read_u32_le(buf, p + 1) as usize)
    };
    let e = p + prevlen_size;
    if !in_range(e) {
        return None;
    }
    let b = buf[e];
    let (encoding, len_size) = match b >> 6 {
        0 => (ZIP_STR_06B, 1),
        1 => (ZIP_STR_14B, 2),
        2 => (ZIP_STR_32B, 5),
        _ => {
            int_size(b)?;
            (b, 1)
        }
    };
    if !in_range(e + len_size) {
        return None;
    }
    let len = match encoding {
        ZIP_STR_06B => (b & 0x3f) as usize,
        ZIP_STR_14B => (((b & 0x3f) as usize) << 8) | buf[e + 1] as usize,
        ZIP_STR_32B => u32::from_be_bytes([buf[e + 1], buf[e + 2], buf[e + 3], buf[e + 4]]) as usize,
        _ => int_size(encoding)?,
    };
    let info = EntryInfo { prevlen_size, prevlen, len_size, len, encoding };
    let end = p.checked_add(info.raw_len())?;
    if !in_range(end) {
        return None;
    }
    if p.checked_sub(prevlen).map(|x| !in_range(x)).unwrap_or(true) {
        return None;
    }
    Some(info)
}

/// Decodes the entry at `p` of a blob that passed `entry_info_safe`.
fn decode_entry<'a>(buf: &'a [u8], p: usize, e: &EntryInfo) -> ZlEntry<'a> {
    let d = p + e.header_size();
    if e.is_str() {
        ZlEntry::Str(&buf[d..d + e.len])
    } else {
        ZlEntry::Int(load_int(&buf[d..d + e.len], e.encoding))
    }
}

impl Default for Ziplist {
    fn default() -> Self {
        Self::new()
    }
}

impl Ziplist {
    /// An empty ziplist (`ziplistNew`): 11 bytes,
    /// `0b 00 00 00 0a 00 00 00 00 00 ff`.
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(ZIPLIST_EMPTY_SIZE);
        buf.extend_from_slice(&(ZIPLIST_EMPTY_SIZE as u32).to_le_bytes());
        buf.extend_from_slice(&(ZIPLIST_HEADER_SIZE as u32).to_le_bytes());
        buf.extend_from_slice(&0u16.to_le_bytes());
        buf.push(ZIP_END);
        Ziplist { buf: Blob::from_vec(buf) }
    }

    /// Adopts a blob from outside after a deep integrity check. Never
    /// panics, whatever the bytes. Empty ziplists are accepted here; RDB
    /// loading refuses them separately, as Redis does.
    pub fn from_bytes(bytes: &[u8]) -> Result<Ziplist, ZiplistError> {
        Self::from_bytes_with(bytes, |_| true)
    }

    /// `from_bytes` that also runs `check` on every entry, head to tail (as
    /// `ziplistValidateIntegrity`'s callback: RDB loading uses it to refuse
    /// duplicate hash fields). `check` returning false refuses the blob.
    pub fn from_bytes_with<F>(bytes: &[u8], check: F) -> Result<Ziplist, ZiplistError>
    where
        F: FnMut(ZlEntry<'_>) -> bool,
    {
        let count = Self::validate_with(bytes, check)?;
        let mut zl = Ziplist { buf: Blob::from_slice(bytes) };
        // A header that says "count them" but could hold the count is
        // rewritten the way `ziplistLen` would.
        zl.set_len_header(count);
        Ok(zl)
    }

    /// The ziplist that pushing `entries` at the tail one by one would
    /// give, encoded in one buffer (RDB loading of Redis 7 listpacks).
    pub fn from_entries<'a>(entries: impl Iterator<Item = ZlEntry<'a>>) -> Ziplist {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(&[0u8; ZIPLIST_HEADER_SIZE]);
        let mut prev_raw = 0usize;
        let mut tail = ZIPLIST_HEADER_SIZE;
        let mut count = 0usize;
        for e in entries {
            let body = match e {
                ZlEntry::Str(s) => Body::new(s),
                ZlEntry::Int(v) => Body::int(v),
            };
            let field = prevlen_bytes(prev_raw);
            tail = buf.len();
            buf.extend_from_slice(&field.0[..field.1]);
            buf.extend_from_slice(&body.head[..body.head_len]);
            buf.extend_from_slice(body.tail);
            prev_raw = field.1 + body.len();
            count += 1;
        }
        buf.push(ZIP_END);
        let mut zl = Ziplist { buf: Blob::from_vec(buf) };
        zl.set_tail(tail);
        zl.set_len_header(count);
        zl.sync_bytes_header();
        zl
    }

    /// Adopts `v`, which `validate` (or `validate_with`) accepted with
    /// `count` entries: RDB loading validates and checks the entries in one
    /// walk, then takes the buffer without walking it again.
    pub(crate) fn from_validated_vec(v: Vec<u8>, count: usize) -> Ziplist {
        let mut zl = Ziplist { buf: Blob::from_vec(v) };
        zl.set_len_header(count);
        zl
    }

    /// `from_bytes` taking over `v` instead of copying it.
    pub fn from_vec(v: Vec<u8>) -> Result<Ziplist, ZiplistError> {
        let count = Self::validate(&v)?;
        let mut zl = Ziplist { buf: Blob::from_vec(v) };
        zl.set_len_header(count);
        Ok(zl)
    }

    /// `ziplistValidateIntegrity` with `deep`: returns the entry count.
    /// Checks: header size and `zlbytes`, the end byte, every entry's
    /// encoding and bounds, every `prevlen`, that the entries end exactly at
    /// the end byte, `zltail`, and `zllen` unless it is 65535.
    pub fn validate(buf: &[u8]) -> Result<usize, ZiplistError> {
        Self::validate_with(buf, |_| true)
    }

    /// `validate` with a per-entry check (see `from_bytes_with`).
    pub fn validate_with<'a, F>(buf: &'a [u8], mut check: F) -> Result<usize, ZiplistError>
    where
        F: FnMut(ZlEntry<'a>) -> bool,
    {
        let size = buf.len();
        if size < ZIPLIST_EMPTY_SIZE {
            return Err(ZiplistError("shorter than header"));
        }
        if read_u32_le(buf, 0) as usize != size {
            return Err(ZiplistError("zlbytes does not match size"));
        }
        if buf[size - 1] != ZIP_END {
            return Err(ZiplistError("missing end byte"));
        }
        let tail = read_u32_le(buf, 4) as usize;
        if tail > size - 1 {
            return Err(ZiplistError("zltail out of range"));
        }
        let header_count = u16::from_le_bytes([buf[8], buf[9]]) as usize;
        let mut p = ZIPLIST_HEADER_SIZE;
        let mut prev: Option<usize> = None;
        let mut prev_raw = 0usize;
        let mut count = 0usize;
        while buf[p] != ZIP_END {
            let e = entry_info_safe(buf, p).ok_or(ZiplistError("entry out of range or bad encoding"))?;
            if e.prevlen != prev_raw {
                return Err(ZiplistError("prevlen mismatch"));
            }
            if !check(decode_entry(buf, p, &e)) {
                return Err(ZiplistError("entry refused by caller"));
            }
            prev_raw = e.raw_len();
            prev = Some(p);
            p += e.raw_len();
            count += 1;
        }
        if p != size - 1 {
            return Err(ZiplistError("entries do not reach the end byte"));
        }
        // Stricter than Redis for an empty list (it ignores zltail there),
        // which Redis itself always writes as 10.
        match prev {
            Some(last) if last != tail => return Err(ZiplistError("zltail is not the last entry")),
            None if tail != ZIPLIST_HEADER_SIZE => return Err(ZiplistError("zltail of empty ziplist")),
            _ => {}
        }
        if header_count != u16::MAX as usize && header_count != count {
            return Err(ZiplistError("zllen does not match entries"));
        }
        Ok(count)
    }

    /// The blob, as RDB and DUMP embed it.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Number of entries (`ziplistLen`): the `zllen` header, or a walk when
    /// it is saturated.
    pub fn len(&self) -> usize {
        let h = self.len_header();
        if h < u16::MAX as usize {
            return h;
        }
        let mut n = 0;
        let mut p = ZIPLIST_HEADER_SIZE;
        while self.buf[p] != ZIP_END {
            p += self.raw_len(p);
            n += 1;
        }
        n
    }

    pub fn is_empty(&self) -> bool {
        self.buf[ZIPLIST_HEADER_SIZE] == ZIP_END
    }

    /// Size of the blob in bytes (`ziplistBlobLen`).
    pub fn blob_len(&self) -> usize {
        self.buf.len()
    }

    /// Bytes allocated for the blob: always exactly `blob_len` (see
    /// blob.rs).
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// `ziplistSafeToAdd`: would the blob stay under the 1 GB safety limit
    /// after adding `add` bytes?
    pub fn safe_to_add(&self, add: usize) -> bool {
        self.buf.len().saturating_add(add) <= ZIPLIST_MAX_SAFETY_SIZE
    }

    // ---- header helpers -------------------------------------------------

    fn tail(&self) -> usize {
        read_u32_le(&self.buf, 4) as usize
    }

    fn set_tail(&mut self, t: usize) {
        self.buf[4..8].copy_from_slice(&(t as u32).to_le_bytes());
    }

    fn len_header(&self) -> usize {
        u16::from_le_bytes([self.buf[8], self.buf[9]]) as usize
    }

    fn set_len_header(&mut self, count: usize) {
        let n = count.min(u16::MAX as usize) as u16;
        self.buf[8..10].copy_from_slice(&n.to_le_bytes());
    }

    /// `ZIPLIST_INCR_LENGTH` after adding entries: a saturated header stays
    /// saturated.
    fn incr_len(&mut self, added: usize) {
        let h = self.len_header();
        if h < u16::MAX as usize {
            self.set_len_header(h + added);
        }
    }

    /// After removing entries. A saturated header is recounted at once (as
    /// the next `ziplistLen` would do in Redis), so `len` stays cheap.
    fn decr_len(&mut self, removed: usize) {
        let h = self.len_header();
        if h < u16::MAX as usize {
            self.set_len_header(h - removed);
        } else {
            let n = self.len();
            self.set_len_header(n);
        }
    }

    fn sync_bytes_header(&mut self) {
        let n = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&n.to_le_bytes());
    }

    /// Entry headers at `p`, which must be a valid entry offset.
    fn info(&self, p: usize) -> EntryInfo {
        let b = &self.buf;
        let (prevlen_size, prevlen) = self.prevlen_at(p);
        let e = p + prevlen_size;
        let c = b[e];
        let (encoding, len_size, len) = match c >> 6 {
            0 => (ZIP_STR_06B, 1, (c & 0x3f) as usize),
            1 => (ZIP_STR_14B, 2, (((c & 0x3f) as usize) << 8) | b[e + 1] as usize),
            2 => (ZIP_STR_32B, 5, u32::from_be_bytes([b[e + 1], b[e + 2], b[e + 3], b[e + 4]]) as usize),
            _ => (c, 1, int_size(c).unwrap_or(0)),
        };
        EntryInfo { prevlen_size, prevlen, len_size, len, encoding }
    }

    fn raw_len(&self, p: usize) -> usize {
        self.info(p).raw_len()
    }

    /// (size of the prevlen field, its value) at entry `p`.
    fn prevlen_at(&self, p: usize) -> (usize, usize) {
        if self.buf[p] < ZIP_BIG_PREVLEN {
            (1, self.buf[p] as usize)
        } else {
            (5, read_u32_le(&self.buf, p + 1) as usize)
        }
    }

    fn write_prevlen_field(&mut self, p: usize, field: PrevlenField) {
        self.buf[p..p + field.1].copy_from_slice(&field.0[..field.1]);
    }

    /// Replaces the `old` bytes at `at` with `new` bytes of room (their
    /// content is unspecified until the caller writes them), moving what
    /// follows: `ziplistResize` + `memmove`. Capacity stays equal to length.
    fn resize_gap(&mut self, at: usize, old: usize, new: usize) {
        let len = self.buf.len();
        if new > old {
            let grow = new - old;
            self.buf.resize(len + grow);
            self.buf.copy_within(at + old..len, at + new);
        } else if new < old {
            let shrink = old - new;
            self.buf.copy_within(at + old..len, at + new);
            self.buf.resize(len - shrink);
        }
    }

    // ---- navigation ------------------------------------------------------

    /// Position of the entry at `index`; negative indexes count from the
    /// tail (-1 is the last entry). `ziplistIndex`.
    pub fn index(&self, index: i64) -> Option<ZlPos> {
        if self.is_empty() {
            return None;
        }
        if index < 0 {
            let mut back = index.unsigned_abs() - 1;
            let mut p = self.tail();
            while back > 0 {
                if p <= ZIPLIST_HEADER_SIZE {
                    return None;
                }
                p -= self.prevlen_at(p).1;
                back -= 1;
            }
            Some(ZlPos(p))
        } else {
            let mut p = ZIPLIST_HEADER_SIZE;
            for _ in 0..index {
                p += self.raw_len(p);
                if self.buf[p] == ZIP_END {
                    return None;
                }
            }
            Some(ZlPos(p))
        }
    }

    /// The first entry, if any.
    pub fn first(&self) -> Option<ZlPos> {
        if self.is_empty() {
            None
        } else {
            Some(ZlPos(ZIPLIST_HEADER_SIZE))
        }
    }

    /// The last entry, if any.
    pub fn last(&self) -> Option<ZlPos> {
        if self.is_empty() {
            None
        } else {
            Some(ZlPos(self.tail()))
        }
    }

    /// The entry after `p` (`ziplistNext`).
    pub fn next(&self, p: ZlPos) -> Option<ZlPos> {
        if self.buf[p.0] == ZIP_END {
            return None;
        }
        let q = p.0 + self.raw_len(p.0);
        if self.buf[q] == ZIP_END {
            None
        } else {
            Some(ZlPos(q))
        }
    }

    /// The entry before `p` (`ziplistPrev`).
    pub fn prev(&self, p: ZlPos) -> Option<ZlPos> {
        if p.0 <= ZIPLIST_HEADER_SIZE {
            return None;
        }
        Some(ZlPos(p.0 - self.prevlen_at(p.0).1))
    }

    /// The value at `p` (`ziplistGet`).
    pub fn get(&self, p: ZlPos) -> ZlEntry<'_> {
        let e = self.info(p.0);
        decode_entry(&self.buf, p.0, &e)
    }

    /// The value at `p` as bytes; an integer is rendered into `buf`.
    pub fn get_bytes<'a>(&'a self, p: ZlPos, buf: &'a mut NumBuf) -> &'a [u8] {
        match self.get(p) {
            ZlEntry::Str(s) => s,
            ZlEntry::Int(v) => buf.format(v).as_bytes(),
        }
    }

    /// The value at `index` (negative from the tail).
    pub fn get_at(&self, index: i64) -> Option<ZlEntry<'_>> {
        self.index(index).map(|p| self.get(p))
    }

    /// Iterates the entries head to tail (`.rev()` walks tail to head).
    pub fn iter(&self) -> Iter<'_> {
        Iter { zl: self, front: self.first(), back: self.last() }
    }

    /// Iterates (position, value) pairs head to tail.
    pub fn positions(&self) -> Positions<'_> {
        Positions { zl: self, next: self.first() }
    }

    /// `ziplistCompare`: does the entry at `p` equal `s`?
    pub fn compare(&self, p: ZlPos, s: &[u8]) -> bool {
        self.get(p).eq_bytes(s)
    }

    /// `ziplistFind`: the first entry from `p` on that equals `s`, looking
    /// at one entry then skipping `skip` (hash fields: skip 1).
    pub fn find(&self, p: ZlPos, s: &[u8], skip: usize) -> Option<ZlPos> {
        let mut p = p.0;
        let mut skipcnt = 0usize;
        // Computed lazily, once, as Redis does.
        let mut as_int: Option<Option<i64>> = None;
        while self.buf[p] != ZIP_END {
            let e = self.info(p);
            let d = p + e.header_size();
            if skipcnt == 0 {
                if e.is_str() {
                    if e.len == s.len() && &self.buf[d..d + e.len] == s {
                        return Some(ZlPos(p));
                    }
                } else {
                    let want = *as_int.get_or_insert_with(|| try_encoding(s).map(|(v, _)| v));
                    if want == Some(load_int(&self.buf[d..d + e.len], e.encoding)) {
                        return Some(ZlPos(p));
                    }
                }
                skipcnt = skip;
            } else {
                skipcnt -= 1;
            }
            p = d + e.len;
        }
        None
    }

    // ---- mutation ----------------------------------------------------------

    /// Adds `s` at the head or the tail (`ziplistPush`); returns the new
    /// entry's position.
    pub fn push(&mut self, s: &[u8], where_: Where) -> ZlPos {
        let p = match where_ {
            Where::Head => ZIPLIST_HEADER_SIZE,
            Where::Tail => self.buf.len() - 1,
        };
        self.insert_raw(p, s);
        ZlPos(p)
    }

    /// Inserts `s` before the entry at `p` (`ziplistInsert`); returns the
    /// new entry's position (which is `p`).
    pub fn insert(&mut self, p: ZlPos, s: &[u8]) -> ZlPos {
        self.insert_raw(p.0, s);
        p
    }

    /// Inserts `s` after the entry at `p` (quicklist's "insert after"):
    /// before the next entry, or pushed at the tail if `p` is the last.
    pub fn insert_after(&mut self, p: ZlPos, s: &[u8]) -> ZlPos {
        match self.next(p) {
            Some(q) => self.insert(q, s),
            None => self.push(s, Where::Tail),
        }
    }

    /// `__ziplistInsert`: `p` is an entry offset or the end byte offset.
    fn insert_raw(&mut self, p: usize, s: &[u8]) {
        let at_end = self.buf[p] == ZIP_END;
        let prevlen = if !at_end {
            self.prevlen_at(p).1
        } else if !self.is_empty() {
            self.raw_len(self.tail())
        } else {
            0
        };
        let body = Body::new(s);
        let own_field = prevlen_bytes(prevlen);
        let reqlen = own_field.1 + body.len();
        let old_tail = self.tail();
        if at_end {
            self.resize_gap(p, 0, reqlen);
            self.write_prevlen_field(p, own_field);
            body.write(&mut self.buf[p + own_field.1..]);
            self.set_tail(p);
            self.incr_len(1);
            self.sync_bytes_header();
            return;
        }
        // The next entry's prevlen field must now hold `reqlen`. Redis keeps
        // a 5-byte field rather than shrinking it when the new entry is tiny
        // (its `forcelarge` case).
        let (old_size, _) = self.prevlen_at(p);
        let need = prevlen_size_for(reqlen);
        let next_field = if old_size == 5 && need == 1 && reqlen < 4 {
            prevlen_bytes_large(reqlen)
        } else {
            prevlen_bytes(reqlen)
        };
        let next_was_tail = p == old_tail;
        self.resize_gap(p, old_size, reqlen + next_field.1);
        self.write_prevlen_field(p, own_field);
        body.write(&mut self.buf[p + own_field.1..]);
        self.write_prevlen_field(p + reqlen, next_field);
        let mut tail = old_tail + reqlen;
        if !next_was_tail {
            // The entries after the new one moved by the change of the next
            // entry's prevlen field too.
            tail = tail + next_field.1 - old_size;
        }
        self.set_tail(tail);
        self.incr_len(1);
        if next_field.1 != old_size {
            self.cascade_update(p + reqlen);
        }
        self.sync_bytes_header();
    }

    /// `__ziplistCascadeUpdate`: the entry at `p` has a correct prevlen but
    /// may have changed size; fix the prevlen fields after it, growing 1-byte
    /// fields to 5 as needed and never shrinking.
    ///
    /// First pass: walk forward and note the run of entries whose 1-byte
    /// field must grow (each grows the entry by 4, which may make the
    /// following one grow too), stopping at the first entry whose field is
    /// already right or wide enough. Second pass: one resize, then move the
    /// run back to front, writing each new 5-byte field.
    fn cascade_update(&mut self, p: usize) {
        if self.buf[p] == ZIP_END {
            return;
        }
        let first_len = self.raw_len(p);
        let mut prevlen = first_len; // new raw length of the entry before `q`
        let mut q = p + first_len;
        // (offset, raw length) of each entry that grows, before the move.
        let mut run: Vec<(usize, usize)> = Vec::new();
        let mut fix: Option<PrevlenField> = None;
        while self.buf[q] != ZIP_END {
            let (size, val) = self.prevlen_at(q);
            if val == prevlen {
                break;
            }
            let need = prevlen_size_for(prevlen);
            if size >= need {
                fix = Some(if size == need { prevlen_bytes(prevlen) } else { prevlen_bytes_large(prevlen) });
                break;
            }
            let raw = self.raw_len(q);
            run.push((q, raw));
            prevlen = raw + 4;
            q += raw;
        }
        // `q` is the first entry (or the end byte) that does not move
        // relative to the run's end; it shifts by the whole growth.
        let extra = 4 * run.len();
        if extra > 0 {
            let old_tail = self.tail();
            self.resize_gap(q, 0, extra);
            for (i, &(off, raw)) in run.iter().enumerate().rev() {
                let dst = off + 4 * i;
                // The body (all but the old 1-byte prevlen) moves to after
                // the new 5-byte field, which holds the previous entry's new
                // length.
                self.buf.copy_within(off + 1..off + raw, dst + 5);
                let before = if i == 0 { first_len } else { run[i - 1].1 + 4 };
                self.write_prevlen_field(dst, prevlen_bytes(before));
            }
            let grown_before_tail = run.iter().filter(|&&(off, _)| off < old_tail).count();
            self.set_tail(old_tail + 4 * grown_before_tail);
        }
        if let Some(field) = fix {
            self.write_prevlen_field(q + extra, field);
        }
    }

    /// Deletes up to `num` entries starting at offset `first`
    /// (`__ziplistDelete`); returns how many were deleted.
    fn delete_raw(&mut self, first: usize, num: usize) -> usize {
        if self.buf[first] == ZIP_END {
            return 0;
        }
        let first_prevlen = self.prevlen_at(first).1;
        let mut q = first;
        let mut deleted = 0;
        while self.buf[q] != ZIP_END && deleted < num {
            q += self.raw_len(q);
            deleted += 1;
        }
        if deleted == 0 {
            return 0;
        }
        let old_tail = self.tail();
        let totlen = q - first;
        let mut nextdiff = false;
        if self.buf[q] != ZIP_END {
            // The entry after the deleted run now follows `first`'s
            // predecessor: its prevlen takes `first`'s, stored minimally.
            let (old_size, _) = self.prevlen_at(q);
            let field = prevlen_bytes(first_prevlen);
            nextdiff = field.1 != old_size;
            let q_was_tail = q == old_tail;
            self.resize_gap(first, totlen + old_size, field.1);
            self.write_prevlen_field(first, field);
            let tail = if q_was_tail { first } else { old_tail - totlen + field.1 - old_size };
            self.set_tail(tail);
        } else {
            self.resize_gap(first, totlen, 0);
            self.set_tail(first - first_prevlen);
        }
        self.decr_len(deleted);
        if nextdiff {
            self.cascade_update(first);
        }
        self.sync_bytes_header();
        deleted
    }

    /// Deletes the entry at `p` (`ziplistDelete`) and returns the position
    /// of the entry that followed it, if any. Hash and zset code delete a
    /// pair as two calls, as Redis does (the `prevlen` fields can come out
    /// differently from one two-entry delete).
    pub fn delete(&mut self, p: ZlPos) -> Option<ZlPos> {
        self.delete_raw(p.0, 1);
        if self.buf[p.0] == ZIP_END {
            None
        } else {
            Some(p)
        }
    }

    /// Deletes up to `num` entries starting at `p` in one operation
    /// (`__ziplistDelete`); returns how many were deleted.
    pub fn delete_n(&mut self, p: ZlPos, num: usize) -> usize {
        self.delete_raw(p.0, num)
    }

    /// Deletes `num` entries starting at `index` (`ziplistDeleteRange`);
    /// an out-of-range index deletes nothing. Returns how many were deleted.
    pub fn delete_range(&mut self, index: i64, num: usize) -> usize {
        match self.index(index) {
            Some(p) => self.delete_raw(p.0, num),
            None => 0,
        }
    }

    /// Replaces the entry at `p` with `s` (`ziplistReplace`): in place when
    /// the encoded size is unchanged, else delete + insert. The entry stays
    /// at `p`.
    pub fn replace(&mut self, p: ZlPos, s: &[u8]) {
        let e = self.info(p.0);
        let body = Body::new(s);
        if body.len() == e.len_size + e.len {
            let start = p.0 + e.prevlen_size;
            body.write(&mut self.buf[start..]);
        } else {
            self.delete_raw(p.0, 1);
            self.insert_raw(p.0, s);
        }
    }

    /// `ziplistMerge`: `second` appended to `first`. The seam entry's
    /// prevlen is fixed with a cascade update, as Redis does.
    pub fn merge(first: Ziplist, second: Ziplist) -> Ziplist {
        if second.is_empty() {
            return first;
        }
        if first.is_empty() {
            return second;
        }
        let count = first.len() + second.len();
        let first_tail = first.tail();
        let first_end = first.buf.len() - 1;
        let second_tail = second.tail();
        let mut zl = first;
        let add = second.buf.len() - ZIPLIST_EMPTY_SIZE;
        let mut v = zl.buf.take_vec();
        v.truncate(first_end);
        v.reserve_exact(add);
        v.extend_from_slice(&second.buf[ZIPLIST_HEADER_SIZE..]);
        zl.buf.set_vec(v);
        zl.set_tail(first_end + second_tail - ZIPLIST_HEADER_SIZE);
        zl.set_len_header(count);
        zl.cascade_update(first_tail);
        zl.sync_bytes_header();
        zl
    }

    // ---- random access for HRANDFIELD / ZRANDMEMBER ------------------------

    /// `ziplistRandomPair`: a random (key, value) pair of a ziplist of
    /// pairs; `None` if there are none.
    pub fn random_pair(&self) -> Option<(ZlPos, ZlPos)> {
        let pairs = self.len() / 2;
        if pairs == 0 {
            return None;
        }
        let r = (random_u64() % pairs as u64) as i64 * 2;
        let k = self.index(r)?;
        let v = self.next(k)?;
        Some((k, v))
    }

    /// `ziplistRandomPairs`: `count` random pairs, repeats allowed, in the
    /// order they were drawn (one walk over the list).
    pub fn random_pairs(&self, count: usize) -> Vec<(ZlPos, ZlPos)> {
        let pairs = self.len() / 2;
        if pairs == 0 {
            return Vec::new();
        }
        let mut picks: Vec<(usize, usize)> =
            (0..count).map(|order| ((random_u64() % pairs as u64) as usize, order)).collect();
        picks.sort_unstable();
        let mut out = vec![(ZlPos(0), ZlPos(0)); count];
        let mut idx = 0usize;
        let mut k = self.first();
        for (pair, order) in picks {
            while idx < pair {
                k = k.and_then(|p| self.next(p)).and_then(|p| self.next(p));
                idx += 1;
            }
            if let Some(kp) = k {
                if let Some(vp) = self.next(kp) {
                    out[order] = (kp, vp);
                }
            }
        }
        out
    }

    /// `ziplistRandomPairsUnique`: up to `count` distinct pairs in list
    /// order, each pair picked with probability (left to pick) / (left to
    /// visit), in one walk.
    pub fn random_pairs_unique(&self, count: usize) -> Vec<(ZlPos, ZlPos)> {
        let total = self.len() / 2;
        let count = count.min(total);
        let mut out = Vec::with_capacity(count);
        let mut k = self.first();
        let mut index = 0usize;
        while out.len() < count {
            let Some(kp) = k else { break };
            let Some(vp) = self.next(kp) else { break };
            let remaining = count - out.len();
            if random_f64() <= remaining as f64 / (total - index) as f64 {
                out.push((kp, vp));
            }
            k = self.next(vp);
            index += 1;
        }
        out
    }
}

/// Head-to-tail iterator over a ziplist's values; `.rev()` walks back.
pub struct Iter<'a> {
    zl: &'a Ziplist,
    front: Option<ZlPos>,
    back: Option<ZlPos>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = ZlEntry<'a>;

    fn next(&mut self) -> Option<ZlEntry<'a>> {
        let p = self.front?;
        if Some(p) == self.back {
            self.front = None;
            self.back = None;
        } else {
            self.front = self.zl.next(p);
        }
        Some(self.zl.get(p))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let p = self.back?;
        if Some(p) == self.front {
            self.front = None;
            self.back = None;
        } else {
            self.back = self.zl.prev(p);
        }
        Some(self.zl.get(p))
    }
}

/// Head-to-tail iterator over (position, value).
pub struct Positions<'a> {
    zl: &'a Ziplist,
    next: Option<ZlPos>,
}

impl<'a> Iterator for Positions<'a> {
    type Item = (ZlPos, ZlEntry<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let p = self.next?;
        self.next = self.zl.next(p);
        Some((p, self.zl.get(p)))
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn from_entries_equals_pushing_at_the_tail() {
        let big = vec![b'x'; 300];
        let huge = vec![b'y'; 20000];
        let strs: Vec<&[u8]> = vec![b"", b"a", b"12", b"-5", b"300", b"70000", b"9999999999", b"-9223372036854775808", &big, b"z", &huge, b"0"];
        for n in 0..=strs.len() {
            let mut pushed = Ziplist::new();
            for s in &strs[..n] {
                pushed.push(s, Where::Tail);
            }
            let built = Ziplist::from_entries(strs[..n].iter().map(|s| ZlEntry::Str(s)));
            assert_eq!(built.as_bytes(), pushed.as_bytes(), "{} entries", n);
            let built_ints = Ziplist::from_entries(pushed.iter());
            assert_eq!(built_ints.as_bytes(), pushed.as_bytes());
            assert!(Ziplist::validate(built.as_bytes()).is_ok());
        }
    }

    use super::*;

    use crate::util::TestRng as Rng;

    /// A value from a mix meant to hit every encoding and the cascade sizes.
    fn random_value(r: &mut Rng) -> Vec<u8> {
        match r.below(12) {
            0 => r.below(13).to_string().into_bytes(),
            1 => ((r.next() as i8) as i64).to_string().into_bytes(),
            2 => ((r.next() as i16) as i64).to_string().into_bytes(),
            3 => ((r.next() as i32) >> 8).to_string().into_bytes(),
            4 => (r.next() as i32).to_string().into_bytes(),
            5 => (r.next() as i64).to_string().into_bytes(),
            6 => {
                let n = r.below(8);
                (0..n).map(|_| b'a' + r.below(26) as u8).collect()
            }
            7 | 8 => vec![b'x'; 245 + r.below(20)], // around the 254-byte prevlen edge
            9 => vec![b'y'; r.below(300)],
            10 => [b"0", b"-0".as_slice(), b"01", b" 1", b"+1", b"1 ", b""][r.below(7)].to_vec(),
            _ => {
                if r.below(20) == 0 {
                    vec![b'z'; 16384 + r.below(10)] // 32-bit string length
                } else {
                    vec![b'w'; 60 + r.below(10)] // 6/14-bit length edge
                }
            }
        }
    }

    fn contents(zl: &Ziplist) -> Vec<Vec<u8>> {
        zl.iter().map(|e| e.to_vec()).collect()
    }

    /// Everything that must hold after any operation.
    fn check(zl: &Ziplist, model: &[Vec<u8>]) {
        assert_eq!(Ziplist::validate(zl.as_bytes()), Ok(model.len()));
        assert_eq!(zl.len(), model.len());
        assert_eq!(zl.is_empty(), model.is_empty());
        assert_eq!(zl.capacity(), zl.blob_len());
        assert_eq!(contents(zl), model);
        let mut rev: Vec<Vec<u8>> = zl.iter().rev().map(|e| e.to_vec()).collect();
        rev.reverse();
        assert_eq!(rev, model);
        if !model.is_empty() {
            assert_eq!(zl.get(zl.last().unwrap()).to_vec(), model[model.len() - 1]);
            assert_eq!(zl.get_at(-1).unwrap().to_vec(), model[model.len() - 1]);
            assert_eq!(zl.get_at(0).unwrap().to_vec(), model[0]);
        }
        assert!(zl.index(model.len() as i64).is_none());
        assert!(zl.index(-(model.len() as i64) - 1).is_none());
    }

    fn zl_of(items: &[&[u8]]) -> Ziplist {
        let mut zl = Ziplist::new();
        for it in items {
            zl.push(it, Where::Tail);
        }
        zl
    }

    #[test]
    fn ziplist_is_one_pointer() {
        assert_eq!(std::mem::size_of::<Ziplist>(), 8);
        assert_eq!(std::mem::size_of::<Option<Ziplist>>(), 8);
    }

    #[test]
    fn empty_layout() {
        let zl = Ziplist::new();
        assert_eq!(zl.as_bytes(), &[0x0b, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0, 0xff]);
        assert_eq!(zl.len(), 0);
        assert!(zl.first().is_none() && zl.last().is_none() && zl.index(0).is_none() && zl.index(-1).is_none());
        assert_eq!(zl.iter().count(), 0);
        assert_eq!(Ziplist::from_bytes(zl.as_bytes()).unwrap(), zl);
    }

    #[test]
    fn documented_two_small_ints_layout() {
        // "2" and "5" as immediates, then a short string.
        let mut zl = zl_of(&[b"2", b"5"]);
        assert_eq!(zl.as_bytes(), &[0x0f, 0, 0, 0, 0x0c, 0, 0, 0, 0x02, 0, 0x00, 0xf3, 0x02, 0xf6, 0xff]);
        zl.push(b"Hello World", Where::Tail);
        let mut want = vec![0x1c, 0, 0, 0, 0x0e, 0, 0, 0, 0x03, 0, 0x00, 0xf3, 0x02, 0xf6, 0x02, 0x0b];
        want.extend_from_slice(b"Hello World");
        want.push(0xff);
        assert_eq!(zl.as_bytes(), &want[..]);
    }

    #[test]
    fn mixed_int_layout() {
        let zl = zl_of(&[b"1", b"300", b"-1"]);
        assert_eq!(
            zl.as_bytes(),
            &[0x14, 0, 0, 0, 0x10, 0, 0, 0, 3, 0, 0x00, 0xf2, 0x02, 0xc0, 0x2c, 0x01, 0x04, 0xfe, 0xff, 0xff]
        );
        let zl = zl_of(&[b"a"]);
        assert_eq!(zl.as_bytes(), &[0x0e, 0, 0, 0, 0x0a, 0, 0, 0, 1, 0, 0x00, 0x01, b'a', 0xff]);
    }

    /// The bytes of the single entry of a one-entry ziplist holding `s`.
    fn single_entry(s: &[u8]) -> Vec<u8> {
        let zl = zl_of(&[s]);
        let b = zl.as_bytes();
        b[ZIPLIST_HEADER_SIZE..b.len() - 1].to_vec()
    }

    #[test]
    fn integer_encoding_boundaries() {
        let cases: &[(i64, &[u8])] = &[
            (0, &[0x00, 0xf1]),
            (12, &[0x00, 0xfd]),
            (13, &[0x00, 0xfe, 13]),
            (-1, &[0x00, 0xfe, 0xff]),
            (127, &[0x00, 0xfe, 0x7f]),
            (-128, &[0x00, 0xfe, 0x80]),
            (128, &[0x00, 0xc0, 0x80, 0x00]),
            (-129, &[0x00, 0xc0, 0x7f, 0xff]),
            (32767, &[0x00, 0xc0, 0xff, 0x7f]),
            (-32768, &[0x00, 0xc0, 0x00, 0x80]),
            (32768, &[0x00, 0xf0, 0x00, 0x80, 0x00]),
            (-32769, &[0x00, 0xf0, 0xff, 0x7f, 0xff]),
            (8388607, &[0x00, 0xf0, 0xff, 0xff, 0x7f]),
            (-8388608, &[0x00, 0xf0, 0x00, 0x00, 0x80]),
            (8388608, &[0x00, 0xd0, 0x00, 0x00, 0x80, 0x00]),
            (-8388609, &[0x00, 0xd0, 0xff, 0xff, 0x7f, 0xff]),
            (i32::MAX as i64, &[0x00, 0xd0, 0xff, 0xff, 0xff, 0x7f]),
            (i32::MIN as i64, &[0x00, 0xd0, 0x00, 0x00, 0x00, 0x80]),
            (i32::MAX as i64 + 1, &[0x00, 0xe0, 0, 0, 0, 0x80, 0, 0, 0, 0]),
            (i32::MIN as i64 - 1, &[0x00, 0xe0, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff]),
            (i64::MAX, &[0x00, 0xe0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
            (i64::MIN, &[0x00, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0x80]),
        ];
        for &(v, bytes) in cases {
            let s = v.to_string();
            assert_eq!(single_entry(s.as_bytes()), bytes, "value {}", v);
            let zl = zl_of(&[s.as_bytes()]);
            assert_eq!(zl.get_at(0), Some(ZlEntry::Int(v)));
            assert_eq!(Ziplist::from_bytes(zl.as_bytes()).unwrap().get_at(0), Some(ZlEntry::Int(v)));
        }
        // Immediates 0..=12 are one encoding byte each.
        for v in 0..=12u8 {
            assert_eq!(single_entry(v.to_string().as_bytes()), [0x00, 0xf1 + v]);
        }
    }

    #[test]
    fn non_canonical_numbers_stay_strings() {
        let strs: &[&[u8]] = &[
            b"01",
            b"-0",
            b" 1",
            b"1 ",
            b"+1",
            b"00",
            b"-",
            b"1.0",
            b"0x10",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"123456789012345678901",
            b"12345678901234567890123456789012345",
            b"",
        ];
        for s in strs {
            let zl = zl_of(&[s]);
            assert_eq!(zl.get_at(0), Some(ZlEntry::Str(s)), "{:?}", String::from_utf8_lossy(s));
            let e = single_entry(s);
            assert_eq!(e[1], s.len() as u8);
            assert_eq!(&e[2..], *s);
        }
        // And the compare rules: an int entry only equals canonical text.
        let zl = zl_of(&[b"10"]);
        let p = zl.first().unwrap();
        assert!(zl.compare(p, b"10"));
        assert!(!zl.compare(p, b"010"));
        assert!(!zl.compare(p, b"+10"));
        let zl = zl_of(&[b"010"]);
        assert!(zl.compare(zl.first().unwrap(), b"010"));
        assert!(!zl.compare(zl.first().unwrap(), b"10"));
    }

    #[test]
    fn string_length_encodings() {
        let e = single_entry(&[b'q'; 63]);
        assert_eq!(&e[..2], &[0x00, 0x3f]);
        let e = single_entry(&[b'q'; 64]);
        assert_eq!(&e[..3], &[0x00, 0x40, 0x40]);
        let e = single_entry(&[b'q'; 0x3fff]);
        assert_eq!(&e[..3], &[0x00, 0x7f, 0xff]);
        let e = single_entry(&[b'q'; 0x4000]);
        assert_eq!(&e[..6], &[0x00, 0x80, 0x00, 0x00, 0x40, 0x00]);
        assert_eq!(e.len(), 6 + 0x4000);
    }

    #[test]
    fn large_prevlen_layout() {
        let big = vec![b'b'; 300];
        let zl = zl_of(&[&big, b"a"]);
        // First entry: 00 41 2c + 300 bytes = 303 bytes; the second's
        // prevlen is fe 2f 01 00 00.
        let b = zl.as_bytes();
        let second = ZIPLIST_HEADER_SIZE + 303;
        assert_eq!(&b[second..], &[0xfe, 0x2f, 0x01, 0x00, 0x00, 0x01, b'a', 0xff]);
        assert_eq!(zl.last().unwrap().offset(), second);
        assert_eq!(read_u32_le(b, 4) as usize, second);
        assert_eq!(zl.blob_len(), 11 + 303 + 7);
    }

    /// Offsets of all entries, head to tail.
    fn offsets(zl: &Ziplist) -> Vec<usize> {
        zl.positions().map(|(p, _)| p.offset()).collect()
    }

    #[test]
    fn cascade_grows_then_keeps_large_fields() {
        // Entries of raw length 253 (1 + 2 + 250): a 1-byte prevlen each.
        let n = 10;
        let s250 = vec![b's'; 250];
        let mut zl = Ziplist::new();
        let mut model = Vec::new();
        for _ in 0..n {
            zl.push(&s250, Where::Tail);
            model.push(s250.clone());
        }
        assert_eq!(zl.blob_len(), 11 + n * 253);
        // A 254+ byte head pushes every prevlen to 5 bytes.
        let head = vec![b'h'; 260]; // raw 1 + 2 + 260 = 263
        zl.push(&head, Where::Head);
        model.insert(0, head.clone());
        check(&zl, &model);
        assert_eq!(zl.blob_len(), 11 + 263 + n * 257);
        for (i, off) in offsets(&zl).into_iter().enumerate().skip(1) {
            assert_eq!(zl.as_bytes()[off], 0xfe, "entry {} has a 5-byte prevlen", i);
        }
        // Deleting the head: the new head's prevlen shrinks to 1 byte (a
        // delete stores minimally), its length drops to 253, and the cascade
        // writes 253 into the next entry's 5-byte field without shrinking it.
        zl.delete(zl.first().unwrap());
        model.remove(0);
        check(&zl, &model);
        assert_eq!(zl.blob_len(), 11 + 253 + (n - 1) * 257);
        let offs = offsets(&zl);
        let b = zl.as_bytes();
        assert_eq!(b[offs[0]], 0);
        assert_eq!(&b[offs[1]..offs[1] + 5], &[0xfe, 253, 0, 0, 0]);
        for &off in &offs[2..] {
            assert_eq!(&b[off..off + 5], &[0xfe, 1, 1, 0, 0]); // 257
        }
    }

    #[test]
    fn cascade_in_the_middle_and_tail_offset() {
        let s250 = vec![b's'; 250];
        let mut zl = Ziplist::new();
        let mut model: Vec<Vec<u8>> = vec![b"x".to_vec()];
        zl.push(b"x", Where::Tail);
        for _ in 0..5 {
            zl.push(&s250, Where::Tail);
            model.push(s250.clone());
        }
        zl.push(b"end", Where::Tail);
        model.push(b"end".to_vec());
        // Grow the first entry past 253 bytes via replace: cascade through
        // all the 253-byte entries and into "end".
        let p = zl.first().unwrap();
        zl.replace(p, &[b'X'; 300]);
        model[0] = vec![b'X'; 300];
        check(&zl, &model);
        assert_eq!(zl.blob_len(), 11 + 303 + 5 * 257 + 9);
        // Insert in the middle, before a 5-byte field: a small entry keeps
        // it 5 bytes only if it is tiny (forcelarge); here it shrinks.
        let p = zl.index(3).unwrap();
        zl.insert(p, b"abcdefghij");
        model.insert(3, b"abcdefghij".to_vec());
        check(&zl, &model);
        // The new entry is 5 + 1 + 10 bytes: stored in one byte.
        let off = zl.index(4).unwrap().offset();
        assert_eq!(&zl.as_bytes()[off..off + 2], &[16, 0x40]);
    }

    /// [e1, e2, e3] where e1 is 253 bytes and e2 keeps a 5-byte prevlen
    /// field holding 253 (left by a cascade, which never shrinks).
    fn small_before_large_field() -> (Ziplist, Vec<Vec<u8>>) {
        let s250 = vec![b's'; 250];
        let mut zl = zl_of(&[&s250, &s250, &s250]);
        zl.push(&[b'h'; 300], Where::Head);
        zl.delete(zl.first().unwrap());
        let off = zl.index(1).unwrap().offset();
        assert_eq!(&zl.as_bytes()[off..off + 5], &[0xfe, 253, 0, 0, 0]);
        (zl, vec![s250.clone(), s250.clone(), s250])
    }

    #[test]
    fn forcelarge_keeps_five_byte_field() {
        // An immediate (2 bytes) before a 5-byte field: Redis's forcelarge
        // keeps the field 5 bytes wide and stores 2 in it.
        let (mut zl, mut model) = small_before_large_field();
        zl.insert(zl.index(1).unwrap(), b"7");
        model.insert(1, b"7".to_vec());
        check(&zl, &model);
        let off = zl.index(2).unwrap().offset();
        assert_eq!(&zl.as_bytes()[off..off + 5], &[0xfe, 2, 0, 0, 0]);
        // An int8 entry: 3 bytes, still forced large.
        let (mut zl, mut model) = small_before_large_field();
        zl.insert(zl.index(1).unwrap(), b"-5");
        model.insert(1, b"-5".to_vec());
        check(&zl, &model);
        let off = zl.index(2).unwrap().offset();
        assert_eq!(&zl.as_bytes()[off..off + 5], &[0xfe, 3, 0, 0, 0]);
        // 4 bytes: the field shrinks to one byte; the cascade then finds
        // e3's 5-byte field and rewrites it in place with e2's new length.
        let (mut zl, mut model) = small_before_large_field();
        let before = zl.blob_len();
        zl.insert(zl.index(1).unwrap(), b"ab");
        model.insert(1, b"ab".to_vec());
        check(&zl, &model);
        assert_eq!(zl.blob_len(), before + 4 - 4);
        let off = zl.index(2).unwrap().offset();
        assert_eq!(&zl.as_bytes()[off..off + 2], &[4, 0x40]);
        let off = zl.index(3).unwrap().offset();
        assert_eq!(&zl.as_bytes()[off..off + 5], &[0xfe, 253, 0, 0, 0]);
    }

    #[test]
    fn merge_fixes_the_seam() {
        let big = vec![b'b'; 300];
        let a = zl_of(&[b"1", &big]);
        let b = zl_of(&[b"two", b"3"]);
        let m = Ziplist::merge(a.clone(), b.clone());
        check(&m, &[b"1".to_vec(), big.clone(), b"two".to_vec(), b"3".to_vec()]);
        let seam = m.index(2).unwrap().offset();
        assert_eq!(&m.as_bytes()[seam..seam + 5], &[0xfe, 0x2f, 0x01, 0, 0]);
        // Same bytes as pushing everything into one list.
        assert_eq!(m, zl_of(&[b"1", &big, b"two", b"3"]));
        let m2 = Ziplist::merge(b.clone(), a.clone());
        check(&m2, &[b"two".to_vec(), b"3".to_vec(), b"1".to_vec(), big.clone()]);
        assert_eq!(Ziplist::merge(Ziplist::new(), b.clone()), b);
        assert_eq!(Ziplist::merge(a.clone(), Ziplist::new()), a);
    }

    #[test]
    fn find_with_skip_sees_only_fields() {
        // field, value pairs where a value looks like a later field.
        let zl = zl_of(&[b"f1", b"f2", b"f2", b"v2", b"10", b"v3", b"k", b"10"]);
        let head = zl.first().unwrap();
        let p = zl.find(head, b"f2", 1).unwrap();
        assert_eq!(p, zl.index(2).unwrap());
        assert_eq!(zl.find(head, b"10", 1), zl.index(4));
        assert_eq!(zl.find(head, b"v2", 1), None);
        assert_eq!(zl.find(head, b"v2", 0), zl.index(3));
        assert_eq!(zl.find(head, b"010", 0), None);
        let p = zl.index(1).unwrap();
        assert_eq!(zl.find(p, b"10", 1), zl.index(7));
    }

    #[test]
    fn get_bytes_and_ordering() {
        let zl = zl_of(&[b"-42", b"abc", b"12"]);
        let mut buf = NumBuf::new();
        assert_eq!(zl.get_bytes(zl.index(0).unwrap(), &mut buf), b"-42");
        assert_eq!(zl.get_bytes(zl.index(1).unwrap(), &mut buf), b"abc");
        let e = zl.get_at(2).unwrap();
        assert_eq!(e, ZlEntry::Int(12));
        assert_eq!(e.as_i64(), Some(12));
        assert_eq!(ZlEntry::Str(b"12").as_i64(), Some(12));
        assert_eq!(ZlEntry::Str(b"012").as_i64(), None);
        assert_eq!(e.cmp_bytes(b"12"), Ordering::Equal);
        assert_eq!(e.cmp_bytes(b"120"), Ordering::Less);
        assert_eq!(e.cmp_bytes(b"2"), Ordering::Less);
        assert_eq!(e.cmp_bytes(b"1"), Ordering::Greater);
        assert_eq!(zl.get_at(1).unwrap().cmp_bytes(b"abd"), Ordering::Less);
    }

    #[test]
    fn navigation() {
        let zl = zl_of(&[b"a", b"b", b"c"]);
        let a = zl.first().unwrap();
        let b = zl.next(a).unwrap();
        let c = zl.next(b).unwrap();
        assert_eq!(zl.next(c), None);
        assert_eq!(zl.prev(c), Some(b));
        assert_eq!(zl.prev(a), None);
        assert_eq!(zl.index(-3), Some(a));
        assert_eq!(zl.index(-4), None);
        assert_eq!(zl.index(i64::MIN), None);
        assert_eq!(zl.index(i64::MAX), None);
        let mut it = zl.iter();
        assert_eq!(it.next(), Some(ZlEntry::Str(b"a")));
        assert_eq!(it.next_back(), Some(ZlEntry::Str(b"c")));
        assert_eq!(it.next(), Some(ZlEntry::Str(b"b")));
        assert_eq!(it.next_back(), None);
        assert_eq!(it.next(), None);
    }

    #[test]
    fn delete_variants() {
        let mut zl = zl_of(&[b"a", b"b", b"c", b"d", b"e"]);
        // delete returns the following entry, or None at the tail.
        let p = zl.index(1).unwrap();
        let q = zl.delete(p).unwrap();
        assert_eq!(zl.get(q), ZlEntry::Str(b"c"));
        assert_eq!(zl.delete_range(-2, 10), 2);
        assert_eq!(contents(&zl), vec![b"a".to_vec(), b"c".to_vec()]);
        assert_eq!(zl.delete_range(5, 1), 0);
        let last = zl.last().unwrap();
        assert_eq!(zl.delete(last), None);
        assert_eq!(zl.delete_n(zl.first().unwrap(), 3), 1);
        assert_eq!(zl, Ziplist::new());
    }

    #[test]
    fn replace_in_place_and_resized() {
        let mut zl = zl_of(&[b"abc", b"100", b"z"]);
        let before = zl.blob_len();
        zl.replace(zl.index(0).unwrap(), b"xyz");
        zl.replace(zl.index(1).unwrap(), b"-100"); // int8 -> int16? no: -100 is int8 too
        assert_eq!(zl.blob_len(), before);
        check(&zl, &[b"xyz".to_vec(), b"-100".to_vec(), b"z".to_vec()]);
        zl.replace(zl.index(1).unwrap(), b"100000");
        zl.replace(zl.index(2).unwrap(), &[b'q'; 400]);
        check(&zl, &[b"xyz".to_vec(), b"100000".to_vec(), vec![b'q'; 400]]);
        zl.replace(zl.index(0).unwrap(), b"");
        check(&zl, &[b"".to_vec(), b"100000".to_vec(), vec![b'q'; 400]]);
    }

    #[test]
    fn insert_after_and_push_positions() {
        let mut zl = Ziplist::new();
        let p = zl.push(b"m", Where::Tail);
        assert_eq!(zl.get(p), ZlEntry::Str(b"m"));
        let p = zl.push(b"h", Where::Head);
        assert_eq!(zl.get(p), ZlEntry::Str(b"h"));
        let m = zl.index(1).unwrap();
        let t = zl.insert_after(m, b"t");
        assert_eq!(zl.get(t), ZlEntry::Str(b"t"));
        let h = zl.first().unwrap();
        let i = zl.insert_after(h, b"i");
        assert_eq!(zl.get(i), ZlEntry::Str(b"i"));
        check(&zl, &[b"h".to_vec(), b"i".to_vec(), b"m".to_vec(), b"t".to_vec()]);
    }

    /// A reference ziplist: values plus the width (1 or 5) of each entry's
    /// prevlen field, updated by Redis's rules stated plainly (minimal
    /// widths on insert/delete, `forcelarge`, a cascade that only grows),
    /// then serialized from scratch. Our blob must equal it byte for byte.
    #[derive(Default)]
    struct RefZl {
        vals: Vec<Vec<u8>>,
        widths: Vec<usize>,
    }

    impl RefZl {
        fn raw(&self, i: usize) -> usize {
            self.widths[i] + Body::new(&self.vals[i]).len()
        }
        fn prev_raw(&self, i: usize) -> usize {
            if i == 0 {
                0
            } else {
                self.raw(i - 1)
            }
        }
        /// Entry `j` changed length: grow the fields after it while needed.
        fn cascade(&mut self, mut j: usize) {
            while j + 1 < self.vals.len() {
                let need = prevlen_size_for(self.raw(j));
                if self.widths[j + 1] >= need {
                    break;
                }
                self.widths[j + 1] = 5;
                j += 1;
            }
        }
        fn insert(&mut self, i: usize, v: &[u8]) {
            let w = prevlen_size_for(self.prev_raw(i));
            self.vals.insert(i, v.to_vec());
            self.widths.insert(i, w);
            if i + 1 < self.vals.len() {
                let reqlen = self.raw(i);
                let old = self.widths[i + 1];
                let need = prevlen_size_for(reqlen);
                let new = if old == 5 && need == 1 && reqlen < 4 { 5 } else { need };
                self.widths[i + 1] = new;
                if new != old {
                    self.cascade(i + 1);
                }
            }
        }
        fn delete(&mut self, i: usize, n: usize) {
            let end = (i + n).min(self.vals.len());
            if end == i {
                return;
            }
            let w = prevlen_size_for(self.prev_raw(i));
            self.vals.drain(i..end);
            self.widths.drain(i..end);
            if i < self.vals.len() {
                let old = self.widths[i];
                self.widths[i] = w;
                if w != old {
                    self.cascade(i);
                }
            }
        }
        fn replace(&mut self, i: usize, v: &[u8]) {
            if Body::new(v).len() == Body::new(&self.vals[i]).len() {
                self.vals[i] = v.to_vec();
            } else {
                self.delete(i, 1);
                self.insert(i, v);
            }
        }
        fn merge(mut self, other: RefZl) -> RefZl {
            if self.vals.is_empty() {
                return other;
            }
            let seam = self.vals.len() - 1;
            self.vals.extend(other.vals);
            self.widths.extend(other.widths);
            self.cascade(seam);
            self
        }
        fn serialize(&self) -> Vec<u8> {
            let mut body = Vec::new();
            let mut tail = ZIPLIST_HEADER_SIZE;
            for i in 0..self.vals.len() {
                tail = ZIPLIST_HEADER_SIZE + body.len();
                let pr = self.prev_raw(i);
                if self.widths[i] == 1 {
                    body.push(pr as u8);
                } else {
                    body.push(0xfe);
                    body.extend_from_slice(&(pr as u32).to_le_bytes());
                }
                let b = Body::new(&self.vals[i]);
                body.extend_from_slice(&b.head[..b.head_len]);
                body.extend_from_slice(b.tail);
            }
            let mut out = Vec::new();
            out.extend_from_slice(&((body.len() + ZIPLIST_EMPTY_SIZE) as u32).to_le_bytes());
            out.extend_from_slice(&(tail as u32).to_le_bytes());
            out.extend_from_slice(&(self.vals.len().min(65535) as u16).to_le_bytes());
            out.extend_from_slice(&body);
            out.push(0xff);
            out
        }
    }

    #[test]
    fn model_random_ops() {
        let mut r = Rng(0x9E37_79B9_7F4A_7C15);
        let mut cascades = 0;
        for round in 0..12 {
            let mut zl = Ziplist::new();
            let mut rf = RefZl::default();
            for _ in 0..400 {
                let op = r.below(100);
                let n = rf.vals.len();
                if op < 25 {
                    let v = random_value(&mut r);
                    let w = if r.below(2) == 0 { Where::Head } else { Where::Tail };
                    let p = zl.push(&v, w);
                    assert_eq!(zl.get(p).to_vec(), v);
                    match w {
                        Where::Head => rf.insert(0, &v),
                        Where::Tail => rf.insert(n, &v),
                    }
                } else if op < 45 {
                    let v = random_value(&mut r);
                    let i = r.below(n + 1);
                    match zl.index(i as i64) {
                        Some(p) => {
                            let q = zl.insert(p, &v);
                            assert_eq!(zl.get(q).to_vec(), v);
                        }
                        None => {
                            zl.push(&v, Where::Tail);
                        }
                    }
                    rf.insert(i, &v);
                } else if op < 60 && n > 0 {
                    let i = r.below(n);
                    let neg = r.below(2) == 0;
                    let idx = if neg { i as i64 - n as i64 } else { i as i64 };
                    let p = zl.index(idx).unwrap();
                    let next = zl.delete(p);
                    rf.delete(i, 1);
                    match next {
                        Some(q) => assert_eq!(zl.get(q).to_vec(), rf.vals[i]),
                        None => assert_eq!(i, rf.vals.len()),
                    }
                } else if op < 70 && n > 0 {
                    let i = r.below(n);
                    let k = r.below(6);
                    let deleted = zl.delete_range(i as i64, k);
                    assert_eq!(deleted, (i + k).min(n) - i);
                    rf.delete(i, k);
                } else if op < 85 && n > 0 {
                    let i = r.below(n);
                    let v = random_value(&mut r);
                    zl.replace(zl.index(i as i64).unwrap(), &v);
                    rf.replace(i, &v);
                } else if op < 90 {
                    let mut other = Ziplist::new();
                    let mut orf = RefZl::default();
                    for _ in 0..r.below(5) {
                        let v = random_value(&mut r);
                        other.push(&v, Where::Tail);
                        orf.insert(orf.vals.len(), &v);
                    }
                    if r.below(2) == 0 {
                        zl = Ziplist::merge(zl, other);
                        rf = rf.merge(orf);
                    } else {
                        zl = Ziplist::merge(other, zl);
                        rf = orf.merge(rf);
                    }
                } else if n > 0 {
                    // find with skip 0 and 1 agrees with the model.
                    let target = rf.vals[r.below(n)].clone();
                    let skip = r.below(2);
                    let expect = rf.vals.iter().enumerate().step_by(skip + 1).find(|(_, v)| **v == target).map(|(i, _)| i);
                    let got = zl.find(zl.first().unwrap(), &target, skip);
                    assert_eq!(got, expect.and_then(|i| zl.index(i as i64)));
                }
                check(&zl, &rf.vals);
                assert_eq!(zl.as_bytes(), &rf.serialize()[..], "round {}", round);
                cascades += rf.widths.iter().enumerate().filter(|&(i, &w)| w == 5 && rf.prev_raw(i) < 254).count();
                // A blob we produced is accepted as is.
                assert_eq!(Ziplist::from_bytes(zl.as_bytes()).as_ref(), Ok(&zl));
            }
        }
        // The run did exercise kept-large fields (cascade / forcelarge).
        assert!(cascades > 0);
    }

    #[test]
    fn from_bytes_rejects_bad_blobs() {
        let good = zl_of(&[b"hello", b"42", &[b'x'; 300], b"end"]);
        let g = good.as_bytes().to_vec();
        assert!(Ziplist::from_bytes(&g).is_ok());
        // Truncated anywhere.
        for n in 0..g.len() {
            assert!(Ziplist::from_bytes(&g[..n]).is_err(), "truncated to {}", n);
        }
        let mut b = g.clone();
        b[0] ^= 1; // zlbytes
        assert!(Ziplist::from_bytes(&b).is_err());
        let mut b = g.clone();
        *b.last_mut().unwrap() = 0; // end byte
        assert!(Ziplist::from_bytes(&b).is_err());
        let mut b = g.clone();
        b[4] = b[4].wrapping_add(1); // zltail
        assert!(Ziplist::from_bytes(&b).is_err());
        let mut b = g.clone();
        b[8] = 3; // zllen
        assert!(Ziplist::from_bytes(&b).is_err());
        let mut b = g.clone();
        b[ZIPLIST_HEADER_SIZE] = 1; // first prevlen must be 0
        assert!(Ziplist::from_bytes(&b).is_err());
        let mut b = g.clone();
        b[ZIPLIST_HEADER_SIZE + 1] = 0xc1; // no such encoding
        assert!(Ziplist::from_bytes(&b).is_err());
        let mut b = g.clone();
        b[ZIPLIST_HEADER_SIZE + 1] = 0x06; // string length one too long
        assert!(Ziplist::from_bytes(&b).is_err());
        // Entries that stop short of the end byte.
        let mut b = g.clone();
        let n = b.len();
        b.insert(n - 1, 0);
        let len = b.len() as u32;
        b[0..4].copy_from_slice(&len.to_le_bytes());
        assert!(Ziplist::from_bytes(&b).is_err());
        // A 32-bit string length pointing far outside.
        let mut b = Ziplist::new().as_bytes().to_vec();
        b.splice(10..10, [0x00, 0x80, 0xff, 0xff, 0xff, 0xff]);
        let len = b.len() as u32;
        b[0..4].copy_from_slice(&len.to_le_bytes());
        assert!(Ziplist::from_bytes(&b).is_err());
        // An empty list with a bogus tail.
        let mut b = Ziplist::new().as_bytes().to_vec();
        b[4] = 5;
        assert!(Ziplist::from_bytes(&b).is_err());
        // The caller's per-entry check.
        assert!(Ziplist::from_bytes_with(&g, |e| e != ZlEntry::Int(42)).is_err());
        let mut seen = 0;
        assert!(Ziplist::from_bytes_with(&g, |_| {
            seen += 1;
            true
        })
        .is_ok());
        assert_eq!(seen, 4);
    }

    #[test]
    fn saturated_length_header() {
        // 70000 immediate entries, built by hand: "count them" header.
        let n = 70_000usize;
        let mut b = Vec::with_capacity(11 + 2 * n);
        b.extend_from_slice(&((11 + 2 * n) as u32).to_le_bytes());
        b.extend_from_slice(&((10 + 2 * (n - 1)) as u32).to_le_bytes());
        b.extend_from_slice(&u16::MAX.to_le_bytes());
        for i in 0..n {
            b.push(if i == 0 { 0 } else { 2 });
            b.push(0xf1 + (i % 13) as u8);
        }
        b.push(0xff);
        let mut zl = Ziplist::from_bytes(&b).unwrap();
        assert_eq!(zl.len(), n);
        assert_eq!(&zl.as_bytes()[8..10], &[0xff, 0xff]);
        assert_eq!(zl.get_at(-1), Some(ZlEntry::Int(((n - 1) % 13) as i64)));
        zl.push(b"x", Where::Tail);
        assert_eq!(zl.len(), n + 1);
        assert_eq!(zl.delete_range(0, 6000), 6000);
        assert_eq!(zl.len(), n + 1 - 6000);
        assert_eq!(u16::from_le_bytes([zl.as_bytes()[8], zl.as_bytes()[9]]) as usize, n + 1 - 6000);
        assert_eq!(Ziplist::validate(zl.as_bytes()), Ok(n + 1 - 6000));
        // A wrong exact count is refused, a saturated one is accepted.
        let mut bad = b.clone();
        bad[8..10].copy_from_slice(&1000u16.to_le_bytes());
        assert!(Ziplist::from_bytes(&bad).is_err());
        // A small list that says "count them" gets its real count written.
        let mut small = zl_of(&[b"a", b"b"]).as_bytes().to_vec();
        small[8..10].copy_from_slice(&u16::MAX.to_le_bytes());
        let zl = Ziplist::from_bytes(&small).unwrap();
        assert_eq!(&zl.as_bytes()[8..10], &[2, 0]);
    }

    #[test]
    fn from_bytes_fuzz_never_panics() {
        let mut r = Rng(0xD1B5_4A32_D192_ED03);
        let seeds: Vec<Vec<u8>> = vec![
            zl_of(&[b"a", b"1", b"-70000", &[b'x'; 260], b"9999999999"]).as_bytes().to_vec(),
            zl_of(&[&[b'y'; 70], b"12", b"", b"hi"]).as_bytes().to_vec(),
            Ziplist::new().as_bytes().to_vec(),
        ];
        let mut accepted = 0;
        for i in 0..30_000 {
            let mut b = if i % 4 == 0 {
                let n = r.below(40);
                let mut v: Vec<u8> = (0..n).map(|_| r.next() as u8).collect();
                if n >= 4 && r.below(2) == 0 {
                    v[0..4].copy_from_slice(&(n as u32).to_le_bytes());
                }
                v
            } else {
                seeds[r.below(seeds.len())].clone()
            };
            for _ in 0..1 + r.below(3) {
                if b.is_empty() {
                    break;
                }
                match r.below(4) {
                    0 => {
                        let k = r.below(b.len());
                        b[k] = r.next() as u8;
                    }
                    1 => {
                        let k = r.below(b.len());
                        b[k] ^= 1 << r.below(8);
                    }
                    2 => b.truncate(r.below(b.len() + 1)),
                    _ => {
                        let k = r.below(b.len() + 1);
                        b.insert(k, r.next() as u8);
                    }
                }
            }
            // Half the time keep zlbytes consistent so deeper checks run.
            if b.len() >= 4 && r.below(2) == 0 {
                let n = b.len() as u32;
                b[0..4].copy_from_slice(&n.to_le_bytes());
            }
            if let Ok(mut zl) = Ziplist::from_bytes(&b) {
                accepted += 1;
                // Whatever was accepted must be fully usable.
                let fwd: Vec<Vec<u8>> = zl.iter().map(|e| e.to_vec()).collect();
                let mut back: Vec<Vec<u8>> = zl.iter().rev().map(|e| e.to_vec()).collect();
                back.reverse();
                assert_eq!(fwd, back);
                assert_eq!(fwd.len(), zl.len());
                let mut model = fwd;
                zl.push(b"tail", Where::Tail);
                model.push(b"tail".to_vec());
                zl.delete_range(0, 1);
                model.remove(0);
                check(&zl, &model);
            }
        }
        assert!(accepted > 0);
    }

    #[test]
    fn random_pairs() {
        let zl = zl_of(&[b"k1", b"v1", b"k2", b"v2", b"k3", b"v3"]);
        for _ in 0..50 {
            let (k, v) = zl.random_pair().unwrap();
            assert_eq!(zl.next(k), Some(v));
            let kt = zl.get(k).to_vec();
            assert_eq!(kt[0], b'k');
            assert_eq!(zl.get(v).to_vec()[1..], kt[1..]);
        }
        let picks = zl.random_pairs(20);
        assert_eq!(picks.len(), 20);
        for (k, v) in &picks {
            assert_eq!(zl.next(*k), Some(*v));
            assert_eq!(zl.get(*k).to_vec()[0], b'k');
        }
        let u = zl.random_pairs_unique(2);
        assert_eq!(u.len(), 2);
        assert!(u[0].0 < u[1].0);
        let all = zl.random_pairs_unique(10);
        assert_eq!(all.len(), 3);
        assert_eq!(Ziplist::new().random_pair(), None);
        assert!(Ziplist::new().random_pairs(3).is_empty());
    }

    #[test]
    fn safe_to_add_limit() {
        let zl = Ziplist::new();
        assert!(zl.safe_to_add(100));
        assert!(!zl.safe_to_add(ZIPLIST_MAX_SAFETY_SIZE));
        assert!(!zl.safe_to_add(usize::MAX));
    }
}
