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
//!    stored as the smallest integer encoding (`zipTryEncoding`).
//! 2. Each entry records the raw length of the previous one so the list can
//!    be walked backwards. When an entry grows past 253 bytes, the next
//!    entry's `prevlen` grows from 1 to 5 bytes, which may push *that* entry
//!    past 253 bytes, and so on: the cascade update. Like Redis, a cascade
//!    never shrinks a 5-byte `prevlen` (it writes the small value in the
//!    large form), while a plain insert or delete stores it minimally (except
//!    for Redis's `forcelarge` case, mirrored in `insert_raw`).
//! 3. Blobs from outside (RDB, RESTORE) go through `from_bytes`, a deep check
//!    in the spirit of `ziplistValidateIntegrity`: every later operation may
//!    then trust the layout.
//!
//! Positions (`ZlPos`) are byte offsets, like Redis's `unsigned char *p`;
//! any mutation invalidates positions other than the one it returns.

use crate::util::string2ll;

/// Bytes of `zlbytes` + `zltail` + `zllen`.
pub const ZIPLIST_HEADER_SIZE: usize = 10;
const ZIP_END: u8 = 0xFF;
/// First prevlen value that needs the 5-byte form.
const ZIP_BIG_PREVLEN: usize = 254;

const ZIP_INT_16B: u8 = 0xC0;
const ZIP_INT_32B: u8 = 0xD0;
const ZIP_INT_64B: u8 = 0xE0;
const ZIP_INT_24B: u8 = 0xF0;
const ZIP_INT_8B: u8 = 0xFE;
const ZIP_INT_IMM_MIN: u8 = 0xF1;
const ZIP_INT_IMM_MAX: u8 = 0xFD;

const INT24_MIN: i64 = -(1 << 23);
const INT24_MAX: i64 = (1 << 23) - 1;

/// One decoded entry value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZlEntry<'a> {
    Str(&'a [u8]),
    Int(i64),
}

impl ZlEntry<'_> {
    /// The value as Redis replies with it: integers in decimal.
    pub fn to_vec(&self) -> Vec<u8> {
        match *self {
            ZlEntry::Str(s) => s.to_vec(),
            ZlEntry::Int(v) => v.to_string().into_bytes(),
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ZlPos(usize);

impl ZlPos {
    /// Byte offset of the entry inside `as_bytes()`.
    pub fn offset(self) -> usize {
        self.0
    }
}

/// A ziplist blob plus its cached entry count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ziplist {
    buf: Vec<u8>,
    count: usize,
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
    if len < ZIP_BIG_PREVLEN {
        1
    } else {
        5
    }
}

/// The `prevlen` field for `len` in its minimal form.
fn prevlen_bytes(len: usize) -> ([u8; 5], usize) {
    if len < ZIP_BIG_PREVLEN {
        ([len as u8, 0, 0, 0, 0], 1)
    } else {
        prevlen_bytes_large(len)
    }
}

/// The `prevlen` field for `len` forced into the 5-byte form.
fn prevlen_bytes_large(len: usize) -> ([u8; 5], usize) {
    let l = (len as u32).to_le_bytes();
    ([ZIP_INT_8B, l[0], l[1], l[2], l[3]], 5)
}

/// Appends the encoding header for a string of `len` bytes.
fn push_str_encoding(out: &mut Vec<u8>, len: usize) {
    if len <= 0x3f {
        out.push(len as u8);
    } else if len <= 0x3fff {
        out.push(0x40 | (len >> 8) as u8);
        out.push((len & 0xff) as u8);
    } else {
        out.push(0x80);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

/// Appends the data bytes of integer `v` under encoding `enc` (LE).
fn push_int(out: &mut Vec<u8>, v: i64, enc: u8) {
    match enc {
        ZIP_INT_8B => out.push(v as i8 as u8),
        ZIP_INT_16B => out.extend_from_slice(&(v as i16).to_le_bytes()),
        ZIP_INT_24B => out.extend_from_slice(&(v as i32).to_le_bytes()[..3]),
        ZIP_INT_32B => out.extend_from_slice(&(v as i32).to_le_bytes()),
        ZIP_INT_64B => out.extend_from_slice(&v.to_le_bytes()),
        _ => {} // immediate: the value is in the encoding byte
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
/// lies inside `[HEADER, len-1)` (`zipEntrySafe`). Never panics.
fn entry_info_safe(buf: &[u8], p: usize) -> Option<EntryInfo> {
    let last = buf.len().checked_sub(1)?; // offset of the end byte
    let in_range = |x: usize| x >= ZIPLIST_HEADER_SIZE && x <= last;
    if !in_range(p) {
        return None;
    }
    let (prevlen_size, prevlen) = if buf[p] < ZIP_INT_8B {
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
        0 => (0x00, 1),
        1 => (0x40, 2),
        2 => (0x80, 5),
        _ => {
            int_size(b)?;
            (b, 1)
        }
    };
    if !in_range(e + len_size) {
        return None;
    }
    let len = match encoding {
        0x00 => (b & 0x3f) as usize,
        0x40 => (((b & 0x3f) as usize) << 8) | buf[e + 1] as usize,
        0x80 => u32::from_be_bytes([buf[e + 1], buf[e + 2], buf[e + 3], buf[e + 4]]) as usize,
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

impl Default for Ziplist {
    fn default() -> Self {
        Self::new()
    }
}

impl Ziplist {
    /// An empty ziplist (`ziplistNew`): 11 bytes.
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(ZIPLIST_HEADER_SIZE + 1);
        buf.extend_from_slice(&11u32.to_le_bytes());
        buf.extend_from_slice(&(ZIPLIST_HEADER_SIZE as u32).to_le_bytes());
        buf.extend_from_slice(&0u16.to_le_bytes());
        buf.push(ZIP_END);
        Ziplist { buf, count: 0 }
    }

    /// Adopts a blob from outside after a deep integrity check. Empty
    /// ziplists are accepted here; RDB loading refuses them separately.
    pub fn from_bytes(buf: Vec<u8>) -> Result<Ziplist, ZiplistError> {
        let count = Self::validate(&buf)?;
        let mut zl = Ziplist { buf, count };
        // A header that says "count them" but could hold the count is
        // rewritten the way `ziplistLen` would.
        zl.sync_len_header();
        Ok(zl)
    }

    /// `ziplistValidateIntegrity` with `deep`: returns the entry count.
    pub fn validate(buf: &[u8]) -> Result<usize, ZiplistError> {
        let size = buf.len();
        if size < ZIPLIST_HEADER_SIZE + 1 {
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
            prev_raw = e.raw_len();
            prev = Some(p);
            p += e.raw_len();
            count += 1;
        }
        if p != size - 1 {
            return Err(ZiplistError("entries do not reach the end byte"));
        }
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

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Number of entries (`ziplistLen`).
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Size of the blob in bytes (`ziplistBlobLen`).
    pub fn blob_len(&self) -> usize {
        self.buf.len()
    }

    // ---- header helpers -------------------------------------------------

    fn tail(&self) -> usize {
        read_u32_le(&self.buf, 4) as usize
    }

    fn set_tail(&mut self, t: usize) {
        self.buf[4..8].copy_from_slice(&(t as u32).to_le_bytes());
    }

    fn sync_bytes_header(&mut self) {
        let n = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&n.to_le_bytes());
    }

    fn sync_len_header(&mut self) {
        let n = self.count.min(u16::MAX as usize) as u16;
        self.buf[8..10].copy_from_slice(&n.to_le_bytes());
    }

    /// Entry headers at `p`, which must be a valid entry offset.
    fn info(&self, p: usize) -> EntryInfo {
        let b = &self.buf;
        let (prevlen_size, prevlen) = if b[p] < ZIP_INT_8B {
            (1, b[p] as usize)
        } else {
            (5, read_u32_le(b, p + 1) as usize)
        };
        let e = p + prevlen_size;
        let c = b[e];
        let (encoding, len_size, len) = match c >> 6 {
            0 => (0x00, 1, (c & 0x3f) as usize),
            1 => (0x40, 2, (((c & 0x3f) as usize) << 8) | b[e + 1] as usize),
            2 => (0x80, 5, u32::from_be_bytes([b[e + 1], b[e + 2], b[e + 3], b[e + 4]]) as usize),
            _ => (c, 1, int_size(c).unwrap_or(0)),
        };
        EntryInfo { prevlen_size, prevlen, len_size, len, encoding }
    }

    fn raw_len(&self, p: usize) -> usize {
        self.info(p).raw_len()
    }

    fn prevlen_at(&self, p: usize) -> (usize, usize) {
        if self.buf[p] < ZIP_INT_8B {
            (1, self.buf[p] as usize)
        } else {
            (5, read_u32_le(&self.buf, p + 1) as usize)
        }
    }

    fn write_prevlen_field(&mut self, p: usize, field: ([u8; 5], usize)) {
        self.buf[p..p + field.1].copy_from_slice(&field.0[..field.1]);
    }

    // ---- navigation ------------------------------------------------------

    /// Position of the entry at `index`; negative indexes count from the
    /// tail (-1 is the last entry). `ziplistIndex`.
    pub fn index(&self, index: i64) -> Option<ZlPos> {
        if self.count == 0 {
            return None;
        }
        if index < 0 {
            let back = index.unsigned_abs() - 1;
            if back >= self.count as u64 {
                return None;
            }
            let mut p = self.tail();
            for _ in 0..back {
                p -= self.prevlen_at(p).1;
            }
            Some(ZlPos(p))
        } else {
            if index as u64 >= self.count as u64 {
                return None;
            }
            let mut p = ZIPLIST_HEADER_SIZE;
            for _ in 0..index {
                p += self.raw_len(p);
            }
            Some(ZlPos(p))
        }
    }

    /// The first entry, if any.
    pub fn first(&self) -> Option<ZlPos> {
        self.index(0)
    }

    /// The last entry, if any.
    pub fn last(&self) -> Option<ZlPos> {
        if self.count == 0 {
            None
        } else {
            Some(ZlPos(self.tail()))
        }
    }

    /// The entry after `p` (`ziplistNext`).
    pub fn next(&self, p: ZlPos) -> Option<ZlPos> {
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
        let d = p.0 + e.header_size();
        if e.is_str() {
            ZlEntry::Str(&self.buf[d..d + e.len])
        } else {
            ZlEntry::Int(load_int(&self.buf[d..d + e.len], e.encoding))
        }
    }

    /// The value at `index` (negative from the tail).
    pub fn get_at(&self, index: i64) -> Option<ZlEntry<'_>> {
        self.index(index).map(|p| self.get(p))
    }

    /// Iterates the entries head to tail (reversible).
    pub fn iter(&self) -> Iter<'_> {
        Iter { zl: self, front: self.first(), back: self.last(), left: self.count }
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
                    if let Some(v) = want {
                        if load_int(&self.buf[d..d + e.len], e.encoding) == v {
                            return Some(ZlPos(p));
                        }
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

    /// Bytes of a new entry holding `s` after an entry of raw length
    /// `prevlen`.
    fn encode_entry(prevlen: usize, s: &[u8]) -> Vec<u8> {
        let (field, n) = prevlen_bytes(prevlen);
        let mut out = Vec::with_capacity(n + 5 + s.len());
        out.extend_from_slice(&field[..n]);
        match try_encoding(s) {
            Some((v, enc)) => {
                out.push(enc);
                push_int(&mut out, v, enc);
            }
            None => {
                push_str_encoding(&mut out, s.len());
                out.extend_from_slice(s);
            }
        }
        out
    }

    /// Adds `s` at the head or the tail (`ziplistPush`).
    pub fn push(&mut self, s: &[u8], where_: Where) {
        let p = match where_ {
            Where::Head => ZIPLIST_HEADER_SIZE,
            Where::Tail => self.buf.len() - 1,
        };
        self.insert_raw(p, s);
    }

    /// Inserts `s` before the entry at `p` (`ziplistInsert`).
    pub fn insert(&mut self, p: ZlPos, s: &[u8]) {
        self.insert_raw(p.0, s);
    }

    /// Inserts `s` so that it ends up at `index` (0..=len); an index past
    /// the end appends.
    pub fn insert_at(&mut self, index: usize, s: &[u8]) {
        match self.index(index as i64) {
            Some(p) => self.insert_raw(p.0, s),
            None => self.push(s, Where::Tail),
        }
    }

    /// `__ziplistInsert`: `p` is an entry offset or the end byte offset.
    fn insert_raw(&mut self, p: usize, s: &[u8]) {
        let at_end = self.buf[p] == ZIP_END;
        let prevlen = if !at_end {
            self.prevlen_at(p).1
        } else if self.count > 0 {
            self.raw_len(self.tail())
        } else {
            0
        };
        let entry = Self::encode_entry(prevlen, s);
        let reqlen = entry.len();
        let old_tail = self.tail();
        if at_end {
            self.buf.splice(p..p, entry);
            self.set_tail(p);
            self.count += 1;
            self.sync_bytes_header();
            self.sync_len_header();
            return;
        }
        // The next entry's prevlen field must now hold `reqlen`.
        let (old_size, _) = self.prevlen_at(p);
        let need = prevlen_size_for(reqlen);
        // Redis keeps a 5-byte field rather than shrinking it when the new
        // entry is tiny (its `forcelarge` case).
        let field = if old_size == 5 && need == 1 && reqlen < 4 {
            prevlen_bytes_large(reqlen)
        } else {
            prevlen_bytes(reqlen)
        };
        let nextdiff = field.1 as isize - old_size as isize;
        let next_was_tail = p == old_tail;
        let mut repl = entry;
        repl.extend_from_slice(&field.0[..field.1]);
        self.buf.splice(p..p + old_size, repl);
        let mut tail = old_tail + reqlen;
        if !next_was_tail {
            tail = (tail as isize + nextdiff) as usize;
        }
        self.set_tail(tail);
        self.count += 1;
        if nextdiff != 0 {
            self.cascade_update(p + reqlen);
        }
        self.sync_bytes_header();
        self.sync_len_header();
    }

    /// `__ziplistCascadeUpdate`: the entry at `p` has a correct prevlen but
    /// may have changed size; fix the prevlen fields after it, growing 1-byte
    /// fields to 5 as needed and never shrinking.
    fn cascade_update(&mut self, mut p: usize) {
        if self.buf[p] == ZIP_END {
            return;
        }
        loop {
            let cur_len = self.raw_len(p);
            let q = p + cur_len;
            if self.buf[q] == ZIP_END {
                break;
            }
            let (size, val) = self.prevlen_at(q);
            if val == cur_len {
                break;
            }
            let need = prevlen_size_for(cur_len);
            if size >= need {
                let field = if size == need { prevlen_bytes(cur_len) } else { prevlen_bytes_large(cur_len) };
                self.write_prevlen_field(q, field);
                break;
            }
            let (field, n) = prevlen_bytes(cur_len);
            self.buf.splice(q..q + size, field[..n].iter().copied());
            let tail = self.tail();
            if q < tail {
                self.set_tail(tail + n - size);
            }
            p = q;
        }
    }

    /// Deletes up to `num` entries starting at offset `first`
    /// (`__ziplistDelete`).
    fn delete_raw(&mut self, first: usize, num: usize) {
        let first_prevlen = self.prevlen_at(first).1;
        let mut q = first;
        let mut deleted = 0;
        while self.buf[q] != ZIP_END && deleted < num {
            q += self.raw_len(q);
            deleted += 1;
        }
        if deleted == 0 {
            return;
        }
        let old_tail = self.tail();
        let mut nextdiff = 0isize;
        if self.buf[q] != ZIP_END {
            let (old_size, _) = self.prevlen_at(q);
            let field = prevlen_bytes(first_prevlen);
            nextdiff = field.1 as isize - old_size as isize;
            self.buf.splice(first..q + old_size, field.0[..field.1].iter().copied());
            let tail = if q == old_tail {
                first
            } else {
                (old_tail as isize - (q - first) as isize + nextdiff) as usize
            };
            self.set_tail(tail);
        } else {
            self.buf.splice(first..q, std::iter::empty());
            self.set_tail(first - first_prevlen);
        }
        self.count -= deleted;
        if nextdiff != 0 {
            self.cascade_update(first);
        }
        self.sync_bytes_header();
        self.sync_len_header();
    }

    /// Deletes the entry at `p` and returns the position of the entry that
    /// followed it, if any (`ziplistDelete`).
    pub fn delete(&mut self, p: ZlPos) -> Option<ZlPos> {
        self.delete_raw(p.0, 1);
        if self.buf[p.0] == ZIP_END {
            None
        } else {
            Some(p)
        }
    }

    /// Deletes `num` entries starting at `index` (`ziplistDeleteRange`);
    /// an out-of-range index deletes nothing.
    pub fn delete_range(&mut self, index: i64, num: usize) {
        if let Some(p) = self.index(index) {
            self.delete_raw(p.0, num);
        }
    }

    /// Replaces the entry at `p` with `s` (`ziplistReplace`): in place when
    /// the encoded size is unchanged, else delete + insert.
    pub fn replace(&mut self, p: ZlPos, s: &[u8]) {
        let e = self.info(p.0);
        let mut body = Vec::with_capacity(s.len() + 9);
        match try_encoding(s) {
            Some((v, enc)) => {
                body.push(enc);
                push_int(&mut body, v, enc);
            }
            None => {
                push_str_encoding(&mut body, s.len());
                body.extend_from_slice(s);
            }
        }
        if body.len() == e.len_size + e.len {
            let start = p.0 + e.prevlen_size;
            self.buf[start..start + body.len()].copy_from_slice(&body);
        } else {
            self.delete_raw(p.0, 1);
            self.insert_raw(p.0, s);
        }
    }

    /// `ziplistMerge`: `second` appended to `first`. The seam entry's
    /// prevlen is fixed with a cascade update, as Redis does.
    pub fn merge(first: Ziplist, second: Ziplist) -> Ziplist {
        if second.count == 0 {
            return first;
        }
        if first.count == 0 {
            return second;
        }
        let first_tail = first.tail();
        let first_end = first.buf.len() - 1;
        let second_tail = second.tail();
        let mut buf = first.buf;
        buf.truncate(first_end);
        buf.extend_from_slice(&second.buf[ZIPLIST_HEADER_SIZE..]);
        let mut zl = Ziplist { buf, count: first.count + second.count };
        zl.set_tail(first_end + second_tail - ZIPLIST_HEADER_SIZE);
        zl.cascade_update(first_tail);
        zl.sync_bytes_header();
        zl.sync_len_header();
        zl
    }
}

/// Head-to-tail iterator over a ziplist's values; `.rev()` walks back.
pub struct Iter<'a> {
    zl: &'a Ziplist,
    front: Option<ZlPos>,
    back: Option<ZlPos>,
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = ZlEntry<'a>;

    fn next(&mut self) -> Option<ZlEntry<'a>> {
        if self.left == 0 {
            return None;
        }
        let p = self.front?;
        self.left -= 1;
        self.front = self.zl.next(p);
        Some(self.zl.get(p))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let p = self.back?;
        self.left -= 1;
        self.back = self.zl.prev(p);
        Some(self.zl.get(p))
    }
}

impl ExactSizeIterator for Iter<'_> {}
