//! The listpack: Redis 7's compact sequence encoding (listpack.c), read-only.
//!
//! oxredis keeps Redis 6.2's in-memory encodings (ziplist, intset, quicklist
//! of ziplists), but RDB files written by Redis 7.0 (RDB version 10) and 7.2
//! (version 11) store small hashes, sorted sets, list nodes and (7.2) sets
//! as listpacks. The RDB loader checks each such blob here and walks its
//! entries to rebuild our own encodings; nothing in oxredis ever writes one.
//!
//! ```text
//! <total bytes u32 LE> <num elements u16 LE> <entry> ... <entry> <0xFF>
//! entry = <encoding + data> <backlen>
//! encoding = 0xxxxxxx                      uint 0..=127, no data
//!          | 10pppppp + data               string, len <= 63
//!          | 110ppppp qqqqqqqq             int, 13-bit two's complement
//!          | 1110pppp qqqqqqqq + data      string, 12-bit len (p = high bits)
//!          | 0xF0 + u32 LE + data          string, 32-bit len
//!          | 0xF1 i16 | 0xF2 i24 | 0xF3 i32 | 0xF4 i64, all LE
//!          (0xF5..=0xFE unused, 0xFF is the end byte)
//! backlen  = size of <encoding + data> in 1..=5 bytes, 7 bits per byte,
//!            most significant group first; every byte but the first has
//!            the high bit set, so it can be read from its last byte
//!            backwards (`lpEncodeBacklen` / `lpDecodeBacklen`)
//! ```
//!
//! Unlike the ziplist, an entry records its *own* size after itself rather
//! than the previous entry's size before itself, so growing one entry never
//! cascades. A num-elements header of 65535 means "count them".
//!
//! `validate_with` is `lpValidateIntegrity` with `deep`: once a blob passes,
//! `entries` may walk it without further checks. Neither ever panics,
//! whatever the bytes. One deliberate difference: a backlen must be exactly
//! the bytes `lpEncodeBacklen` writes, whereas Redis decodes it backwards
//! and compares values, which would also let through a backlen whose first
//! byte had its high bit set over a zero data byte. Redis never writes that.

use crate::ziplist::ZlEntry;

/// Bytes of total-bytes + num-elements.
pub const LP_HDR_SIZE: usize = 6;
/// Num-elements value meaning "unknown, count them".
pub const LP_HDR_NUMELE_UNKNOWN: u16 = u16::MAX;
const LP_EOF: u8 = 0xFF;

const LP_ENCODING_32BIT_STR: u8 = 0xF0;
const LP_ENCODING_16BIT_INT: u8 = 0xF1;
const LP_ENCODING_24BIT_INT: u8 = 0xF2;
const LP_ENCODING_32BIT_INT: u8 = 0xF3;
const LP_ENCODING_64BIT_INT: u8 = 0xF4;

/// Why `validate_with` refused a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListpackError(pub &'static str);

impl std::fmt::Display for ListpackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid listpack: {}", self.0)
    }
}

impl std::error::Error for ListpackError {}

/// What an entry's first bytes say: where its data starts, how long the
/// data is, and how to read it.
#[derive(Debug, Clone, Copy)]
struct EntryHeader {
    /// Bytes of encoding before the data.
    enc_len: usize,
    /// Bytes of data (string bytes or integer bytes; 0 for immediates).
    data_len: usize,
    kind: Kind,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Str,
    /// Value carried in the encoding bytes themselves (7-bit uint, 13-bit int).
    Imm(i64),
    /// Little-endian two's complement integer of `data_len` bytes.
    Int,
}

impl EntryHeader {
    /// Encoding + data: the value the backlen stores.
    fn size(&self) -> usize {
        self.enc_len + self.data_len
    }
}

/// Decodes the encoding at `p` (`lpCurrentEncodedSizeBytes` +
/// `lpCurrentEncodedSizeUnsafe`, made safe): None if the byte is not a
/// valid encoding or the encoding bytes themselves run past the buffer.
/// The data bytes are not bounds-checked here.
fn entry_header(buf: &[u8], p: usize) -> Option<EntryHeader> {
    let b0 = *buf.get(p)?;
    let h = if b0 & 0x80 == 0 {
        EntryHeader { enc_len: 1, data_len: 0, kind: Kind::Imm(i64::from(b0 & 0x7F)) }
    } else if b0 & 0xC0 == 0x80 {
        EntryHeader { enc_len: 1, data_len: usize::from(b0 & 0x3F), kind: Kind::Str }
    } else if b0 & 0xE0 == 0xC0 {
        let b1 = *buf.get(p + 1)?;
        let u = (i64::from(b0 & 0x1F) << 8) | i64::from(b1);
        // Sign-extend from 13 bits.
        let v = if u >= 1 << 12 { u - (1 << 13) } else { u };
        EntryHeader { enc_len: 2, data_len: 0, kind: Kind::Imm(v) }
    } else if b0 & 0xF0 == 0xE0 {
        let b1 = *buf.get(p + 1)?;
        let len = (usize::from(b0 & 0x0F) << 8) | usize::from(b1);
        EntryHeader { enc_len: 2, data_len: len, kind: Kind::Str }
    } else {
        match b0 {
            LP_ENCODING_32BIT_STR => {
                let l = buf.get(p + 1..p + 5)?;
                let len = u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize;
                EntryHeader { enc_len: 5, data_len: len, kind: Kind::Str }
            }
            LP_ENCODING_16BIT_INT => EntryHeader { enc_len: 1, data_len: 2, kind: Kind::Int },
            LP_ENCODING_24BIT_INT => EntryHeader { enc_len: 1, data_len: 3, kind: Kind::Int },
            LP_ENCODING_32BIT_INT => EntryHeader { enc_len: 1, data_len: 4, kind: Kind::Int },
            LP_ENCODING_64BIT_INT => EntryHeader { enc_len: 1, data_len: 8, kind: Kind::Int },
            _ => return None, // 0xF5..=0xFE unused; 0xFF is not an entry
        }
    };
    Some(h)
}

/// Reads `data` (1..=8 bytes) as a little-endian two's complement integer.
fn load_int_le(data: &[u8]) -> i64 {
    let mut raw = [0u8; 8];
    let n = data.len().min(8);
    raw[..n].copy_from_slice(&data[..n]);
    let v = i64::from_le_bytes(raw);
    // Sign-extend from n bytes.
    let shift = 64 - 8 * n as u32;
    if shift >= 64 {
        0
    } else {
        (v << shift) >> shift
    }
}

/// Number of bytes `lpEncodeBacklen` uses for an entry of `l` bytes.
fn backlen_size(l: usize) -> usize {
    if l <= 127 {
        1
    } else if l < 16383 {
        2
    } else if l < 2097151 {
        3
    } else if l < 268435455 {
        4
    } else {
        5
    }
}

/// Whether `b` is exactly the backlen `lpEncodeBacklen` writes for `l`
/// (`b.len()` is `backlen_size(l)`): groups of 7 bits, most significant
/// first, the high bit set on all but the first byte.
fn backlen_matches(b: &[u8], l: usize) -> bool {
    let n = b.len();
    b.iter().enumerate().all(|(i, &byte)| {
        let group = ((l as u64) >> (7 * (n - 1 - i))) & 127;
        let want = if i == 0 { group } else { group | 128 };
        u64::from(byte) == want
    })
}

/// The entry at `p` if it lies wholly inside `buf[..end]` with a matching
/// backlen (`lpValidateNext`): returns the entry value and the offset of
/// the next entry.
fn next_entry(buf: &[u8], p: usize, end: usize) -> Option<(ZlEntry<'_>, usize)> {
    let h = entry_header(buf, p)?;
    let size = h.size();
    let data_start = p + h.enc_len;
    let data_end = data_start.checked_add(h.data_len)?;
    let next = data_end.checked_add(backlen_size(size))?;
    if next > end {
        return None;
    }
    if !backlen_matches(buf.get(data_end..next)?, size) {
        return None;
    }
    let data = buf.get(data_start..data_end)?;
    let value = match h.kind {
        Kind::Str => ZlEntry::Str(data),
        Kind::Imm(v) => ZlEntry::Int(v),
        Kind::Int => ZlEntry::Int(load_int_le(data)),
    };
    Some((value, next))
}

/// `lpValidateIntegrity` with `deep`, calling `check` on every entry head
/// to tail (RDB loading refuses duplicate hash fields or bad zset scores
/// with it; `check` returning false refuses the blob). Returns the entry
/// count.
///
/// Checks: the header fits, total-bytes equals `buf.len()`, the last byte
/// is the end byte, every entry has a known encoding, lies inside the blob
/// and is followed by the backlen of its size, the entries end exactly at
/// the end byte, and num-elements is the count unless it is 65535. An
/// empty listpack passes; the RDB loader refuses those separately, as
/// Redis does.
pub fn validate_with<F>(buf: &[u8], mut check: F) -> Result<usize, ListpackError>
where
    F: FnMut(ZlEntry<'_>) -> bool,
{
    let size = buf.len();
    if size < LP_HDR_SIZE + 1 {
        return Err(ListpackError("shorter than header"));
    }
    if u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize != size {
        return Err(ListpackError("total bytes do not match size"));
    }
    if buf[size - 1] != LP_EOF {
        return Err(ListpackError("missing end byte"));
    }
    let numele = u16::from_le_bytes([buf[4], buf[5]]);
    let end = size - 1;
    let mut p = LP_HDR_SIZE;
    let mut count = 0usize;
    while p < end {
        let (value, next) = next_entry(buf, p, end).ok_or(ListpackError("entry out of range or bad encoding"))?;
        if !check(value) {
            return Err(ListpackError("entry refused by caller"));
        }
        count += 1;
        p = next;
    }
    if numele != LP_HDR_NUMELE_UNKNOWN && usize::from(numele) != count {
        return Err(ListpackError("num elements does not match entries"));
    }
    Ok(count)
}

/// `validate_with` without a per-entry check.
pub fn validate(buf: &[u8]) -> Result<usize, ListpackError> {
    validate_with(buf, |_| true)
}

/// The entries of a listpack, head to tail (`lpFirst` / `lpNext` / `lpGet`).
/// Meant for a blob that passed `validate_with`; on any other bytes it
/// stops at the first entry it cannot read, and never panics.
pub fn entries(buf: &[u8]) -> impl Iterator<Item = ZlEntry<'_>> {
    let end = buf.len().saturating_sub(1);
    let mut p = LP_HDR_SIZE;
    std::iter::from_fn(move || {
        if p >= end {
            return None;
        }
        let (value, next) = next_entry(buf, p, end)?;
        p = next;
        Some(value)
    })
}

/// Encodes `entries` as Redis's `lpAppend` would: a string `string2ll`
/// accepts becomes the smallest integer encoding, anything else a string.
#[cfg(test)]
pub fn lp_encode(entries: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![0u8; LP_HDR_SIZE];
    for e in entries {
        let start = out.len();
        match crate::util::string2ll(e) {
            Some(v) if (0..=127).contains(&v) => out.push(v as u8),
            Some(v) if (-4096..=4095).contains(&v) => {
                let u = if v < 0 { (1 << 13) + v } else { v } as u16;
                out.push(0xC0 | (u >> 8) as u8);
                out.push(u as u8);
            }
            Some(v) if i16::try_from(v).is_ok() => {
                out.push(LP_ENCODING_16BIT_INT);
                out.extend_from_slice(&(v as i16).to_le_bytes());
            }
            Some(v) if (-(1 << 23)..(1 << 23)).contains(&v) => {
                out.push(LP_ENCODING_24BIT_INT);
                out.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
            }
            Some(v) if i32::try_from(v).is_ok() => {
                out.push(LP_ENCODING_32BIT_INT);
                out.extend_from_slice(&(v as i32).to_le_bytes());
            }
            Some(v) => {
                out.push(LP_ENCODING_64BIT_INT);
                out.extend_from_slice(&v.to_le_bytes());
            }
            None if e.len() < 64 => {
                out.push(0x80 | e.len() as u8);
                out.extend_from_slice(e);
            }
            None if e.len() < 4096 => {
                out.push(0xE0 | (e.len() >> 8) as u8);
                out.push(e.len() as u8);
                out.extend_from_slice(e);
            }
            None => {
                out.push(LP_ENCODING_32BIT_STR);
                out.extend_from_slice(&(e.len() as u32).to_le_bytes());
                out.extend_from_slice(e);
            }
        }
        let l = out.len() - start;
        let n = backlen_size(l);
        for i in 0..n {
            let group = ((l as u64) >> (7 * (n - 1 - i))) as u8 & 127;
            out.push(if i == 0 { group } else { group | 128 });
        }
    }
    out.push(LP_EOF);
    let total = out.len() as u32;
    out[..4].copy_from_slice(&total.to_le_bytes());
    let numele = u16::try_from(entries.len()).unwrap_or(LP_HDR_NUMELE_UNKNOWN).min(LP_HDR_NUMELE_UNKNOWN);
    out[4..6].copy_from_slice(&numele.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_listpack() {
        let lp = lp_encode(&[]);
        assert_eq!(lp, [7, 0, 0, 0, 0, 0, 0xFF]);
        assert_eq!(validate(&lp), Ok(0));
        assert_eq!(entries(&lp).count(), 0);
    }
}
