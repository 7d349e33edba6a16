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
pub fn validate_with<'a, F>(buf: &'a [u8], mut check: F) -> Result<usize, ListpackError>
where
    F: FnMut(ZlEntry<'a>) -> bool,
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
    let numele = u16::try_from(entries.len()).unwrap_or(LP_HDR_NUMELE_UNKNOWN);
    out[4..6].copy_from_slice(&numele.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // DUMP payloads produced by redis-server 7.0.15 (RDB version 10): type
    // byte, the value, the 2-byte RDB version, CRC-64. Redis compressed the
    // larger listpacks with LZF (rdbcompression yes), so that path of the
    // loader is exercised too. The server ran with
    // --hash-max-listpack-value 10000 --zset-max-listpack-value 10000 so
    // strings of 4096+ bytes stay in a hash listpack, and the keys were
    // made by HSET (one field at a time, in the order the tests list),
    // ZADD and RPUSH with exactly the values each test expects; `pat(n,
    // tag)` is the generator's repetitive filler.
    const DUMP_HASH_SMALL: &[&str] = &[
        "10c34136427b187b0200003600816602817602826e30030001846e313237057f6007193805c08002846e65673105dfff0285",
        "6d3430393606d0000285702009023506cf20134009053606f1001003601e0f3706f1ffef038369313604f100800384200804",
        "7005f1ff7f201208323404f2ffff7f048420090d6e05f2000080048369333204f3ff2015010584200a036e05f30020160605",
        "8362696704f4400a20030700098369363404f420254000027f0984200e016e05401e40001f8009846f766572059339323233",
        "33373230333638353437373538303814856c651161643006833031320484706c757305822b3120a80f7a65726f06822d3003",
        "8373363304bf78e0350000402045043404e04079e036000942847332303005e0c87ae0be001101ca80018b656d7074792d66",
        "69656c640c88600c0676616c098001ff0a0014a7779a48c55953",
    ];

    const DUMP_HASH_LONG_STRINGS: &[&str] = &[
        "10c340f573c21bc2330000080085733430393506efff612d6162636465666768696a2de0ff0ce1ff10e2ff14e3ff18e3ff18",
        "e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e371180120817009073606f00010000062e503b0",
        "e0ff0ce200a4e1ff10e1ff1063b5e2ff14e2ff14e2ff14e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18",
        "e364180e208585733530303006f08813000063e2038be0ff0ce20098e1ff10e1ff1063a9e2ff14e2ff14e2ff14e3ff18e3ff",
        "18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3d4180f278d816e02f4ece56641e3ffffff09",
        "ff0a00fffa994357e4717d",
    ];

    const DUMP_ZSET: &[&str] = &[
        "11c3405e406a0d6a0000001000846e696e6605842d40051f836e656704842d322e3505847a65726f050001836f6e65040101",
        "85746872656516060301836d696c04f240420f0484687567650597312e30e005000831652b333030188470605120040104ff",
        "0a0013afa08954c32bab",
    ];

    const DUMP_LIST: &[&str] = &[
        "120302313100000006008161020101dfff02c12c02f290eefe04986c6f6e6720737472696e6720656c656d656e7420686572",
        "6519ff02c341028000004e2f072f4e00000100f02020060c642d6162636465666768696a2de0ff0ce1ff10e2ff14e3ff18e3",
        "ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18",
        "e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff",
        "18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3",
        "ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18e3ff18",
        "e3ff18e3ff18e3ff18e3ff18e3b21803019ca5ff0216160000000200f4ffe30b54020000000983656e6404ff0a00c9fa8416",
        "3dde1a20",
    ];

    const RDB_TYPE_HASH_LISTPACK: u8 = 16;
    const RDB_TYPE_ZSET_LISTPACK: u8 = 17;
    const RDB_TYPE_LIST_QUICKLIST_2: u8 = 18;
    const QUICKLIST_NODE_CONTAINER_PACKED: u64 = 2;

    fn unhex(parts: &[&str]) -> Vec<u8> {
        let s: String = parts.concat();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0)).collect()
    }

    /// The strings `pat` wrote in the generator: a short tag repeated.
    fn pat(n: usize, seed: &str) -> Vec<u8> {
        let base = format!("{}-abcdefghij-", seed).into_bytes();
        base.iter().copied().cycle().take(n).collect()
    }

    /// Splits a DUMP payload into its type byte and listpack blobs, after
    /// checking the version (10) and the CRC.
    fn dump_listpacks(parts: &[&str]) -> (u8, Vec<Vec<u8>>) {
        let payload = unhex(parts);
        assert_eq!(crate::rdb::verify_dump_payload(&payload), Some(10), "RDB version or CRC of the embedded DUMP");
        let body = &payload[..payload.len() - 10];
        // The loader's own reader gives lengths and (LZF) strings.
        let mut r = crate::rdb_load::RdbReader::new(body, body.len() as u64, false);
        let ty = r.u8().expect("type byte");
        let mut lps = Vec::new();
        let nodes = if ty == RDB_TYPE_LIST_QUICKLIST_2 { r.load_len().expect("node count") } else { 1 };
        for _ in 0..nodes {
            if ty == RDB_TYPE_LIST_QUICKLIST_2 {
                assert_eq!(r.load_len().expect("container"), QUICKLIST_NODE_CONTAINER_PACKED);
            }
            let mut blob = Vec::new();
            assert_eq!(r.load_string_raw(&mut blob).expect("listpack string"), None, "an integer where a listpack was expected");
            lps.push(blob);
        }
        assert_eq!(r.offset(), body.len() as u64, "trailing bytes in the DUMP value");
        (ty, lps)
    }

    fn as_vecs(lp: &[u8]) -> Vec<Vec<u8>> {
        entries(lp).map(|e| e.to_vec()).collect()
    }

    /// Checks a real listpack: it validates to `want.len()` entries, the
    /// callback sees them in order, `entries` yields them, and Redis encoded
    /// it exactly as `lp_encode` does (so our test encoder is faithful).
    fn check_real(lp: &[u8], want: &[Vec<u8>]) {
        let mut seen = Vec::new();
        assert_eq!(validate_with(lp, |e| { seen.push(e.to_vec()); true }), Ok(want.len()));
        assert_eq!(seen, want);
        assert_eq!(as_vecs(lp), want);
        let refs: Vec<&[u8]> = want.iter().map(|v| v.as_slice()).collect();
        assert_eq!(lp_encode(&refs), lp, "Redis's bytes differ from lp_encode's");
    }

    fn flat(pairs: &[(&[u8], Vec<u8>)]) -> Vec<Vec<u8>> {
        pairs.iter().flat_map(|(k, v)| [k.to_vec(), v.clone()]).collect()
    }

    #[test]
    fn redis_hash_small_values_every_integer_width() {
        let (ty, lps) = dump_listpacks(DUMP_HASH_SMALL);
        assert_eq!(ty, RDB_TYPE_HASH_LISTPACK);
        let b = |s: &str| s.as_bytes().to_vec();
        let pairs: Vec<(&[u8], Vec<u8>)> = vec![
            (b"f", b("v")), (b"n0", b("0")), (b"n127", b("127")), (b"n128", b("128")),
            (b"neg1", b("-1")), (b"m4096", b("-4096")), (b"p4095", b("4095")), (b"p4096", b("4096")),
            (b"m4097", b("-4097")), (b"i16", b("-32768")), (b"i16p", b("32767")), (b"i24", b("8388607")),
            (b"i24n", b("-8388608")), (b"i32", b("2147483647")), (b"i32n", b("-2147483648")),
            (b"big", b("2147483648")), (b"i64", b("9223372036854775807")),
            (b"i64n", b("-9223372036854775808")), (b"over", b("9223372036854775808")),
            (b"lead0", b("012")), (b"plus", b("+1")), (b"mzero", b("-0")),
            (b"s63", vec![b'x'; 63]), (b"s64", vec![b'y'; 64]), (b"s200", vec![b'z'; 200]),
            (b"", b("empty-field")), (b"emptyval", b("")),
        ];
        let want = flat(&pairs);
        check_real(&lps[0], &want);
        // Which values came back as integers, and with their exact value.
        let got: Vec<ZlEntry<'_>> = entries(&lps[0]).collect();
        let value = |field: &[u8]| {
            let i = want.iter().step_by(2).position(|f| f == field).unwrap();
            got[2 * i + 1]
        };
        assert_eq!(value(b"n127"), ZlEntry::Int(127));
        assert_eq!(value(b"m4096"), ZlEntry::Int(-4096));
        assert_eq!(value(b"m4097"), ZlEntry::Int(-4097));
        assert_eq!(value(b"i16"), ZlEntry::Int(-32768));
        assert_eq!(value(b"i24n"), ZlEntry::Int(-8388608));
        assert_eq!(value(b"i32n"), ZlEntry::Int(-2147483648));
        assert_eq!(value(b"i64"), ZlEntry::Int(i64::MAX));
        assert_eq!(value(b"i64n"), ZlEntry::Int(i64::MIN));
        assert_eq!(value(b"over"), ZlEntry::Str(b"9223372036854775808"));
        assert_eq!(value(b"lead0"), ZlEntry::Str(b"012"));
        assert_eq!(value(b"mzero"), ZlEntry::Str(b"-0"));
        assert_eq!(value(b"emptyval"), ZlEntry::Str(b""));
        // 27 fields: the header count is exact, not "unknown".
        assert_eq!(u16::from_le_bytes([lps[0][4], lps[0][5]]), 54);
    }

    #[test]
    fn redis_hash_12_and_32_bit_strings() {
        let (ty, lps) = dump_listpacks(DUMP_HASH_LONG_STRINGS);
        assert_eq!(ty, RDB_TYPE_HASH_LISTPACK);
        let want = flat(&[
            (b"s4095", pat(4095, "a")),
            (b"s4096", pat(4096, "b")),
            (b"s5000", pat(5000, "c")),
            (b"n", b"-123456789012".to_vec()),
        ]);
        check_real(&lps[0], &want);
        let lp = &lps[0];
        // s4095 is the longest 12-bit string, s4096 the shortest 32-bit one.
        assert_eq!(lp[LP_HDR_SIZE + 7], 0xEF);
        assert_eq!(lp[LP_HDR_SIZE + 7 + 1], 0xFF);
        let got: Vec<ZlEntry<'_>> = entries(lp).collect();
        assert_eq!(got[7], ZlEntry::Int(-123456789012));
    }

    #[test]
    fn redis_zset_members_and_scores() {
        let (ty, lps) = dump_listpacks(DUMP_ZSET);
        assert_eq!(ty, RDB_TYPE_ZSET_LISTPACK);
        let b = |s: &str| s.as_bytes().to_vec();
        // Ordered by score; scores as `d2string` writes them (%.17g), the
        // integral ones stored as integers.
        let want = flat(&[
            (b"ninf", b("-inf")),
            (b"neg", b("-2.5")),
            (b"zero", b("0")),
            (b"one", b("1")),
            (b"three", b("3")),
            (b"mil", b("1000000")),
            (b"huge", b("1.0000000000000001e+300")),
            (b"pinf", b("inf")),
        ]);
        check_real(&lps[0], &want);
        let got: Vec<ZlEntry<'_>> = entries(&lps[0]).collect();
        assert_eq!(got[11], ZlEntry::Int(1000000));
        assert_eq!(got[3], ZlEntry::Str(b"-2.5"));
    }

    #[test]
    fn redis_quicklist_nodes_including_a_20000_byte_entry() {
        let (ty, lps) = dump_listpacks(DUMP_LIST);
        assert_eq!(ty, RDB_TYPE_LIST_QUICKLIST_2);
        assert_eq!(lps.len(), 3);
        let b = |s: &str| s.as_bytes().to_vec();
        let nodes = [
            vec![b("a"), b("1"), b("-1"), b("300"), b("-70000"), b("long string element here")],
            vec![pat(20000, "d")],
            vec![b("9999999999"), b("end")],
        ];
        for (lp, want) in lps.iter().zip(nodes.iter()) {
            check_real(lp, want);
        }
        // The big entry is 20005 bytes: its backlen takes 3 bytes.
        let big = &lps[1];
        assert_eq!(&big[big.len() - 4..big.len() - 1], &[1, 0x9C | 0x80, 0x25 | 0x80]);
        assert_eq!(entries(&lps[0]).nth(4), Some(ZlEntry::Int(-70000)));
    }

    #[test]
    fn empty_listpack() {
        let lp = lp_encode(&[]);
        assert_eq!(lp, [7, 0, 0, 0, 0, 0, 0xFF]);
        assert_eq!(validate(&lp), Ok(0));
        assert_eq!(entries(&lp).count(), 0);
    }

    #[test]
    fn backlen_is_lp_encode_backlen() {
        // (entry size, bytes Redis writes)
        let cases: &[(usize, &[u8])] = &[
            (1, &[1]),
            (127, &[127]),
            (128, &[1, 0x80]),
            (16382, &[127, 0xFE]),
            (16383, &[0, 0xFF, 0xFF]),
            (2097150, &[127, 0xFF, 0xFE]),
            (2097151, &[0, 0xFF, 0xFF, 0xFF]),
            (268435455, &[0, 0xFF, 0xFF, 0xFF, 0xFF]),
        ];
        for &(l, bytes) in cases {
            assert_eq!(backlen_size(l), bytes.len(), "size for {}", l);
            assert!(backlen_matches(bytes, l), "bytes for {}", l);
        }
        assert!(!backlen_matches(&[0x81], 1));
        assert!(!backlen_matches(&[0x81, 0x80], 128));
    }

    /// Entries whose sizes sit on every encoding and backlen boundary.
    fn boundary_entries() -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = Vec::new();
        for n in [
            0i64, 127, 128, -1, -4096, 4095, 4096, -4097, 32767, -32768, 32768, -32769, 8388607, -8388608,
            8388608, -8388609, 2147483647, -2147483648, 2147483648, -2147483649, i64::MAX, i64::MIN,
        ] {
            v.push(n.to_string().into_bytes());
        }
        // 6-bit / 12-bit / 32-bit string limits, and entry sizes around the
        // 1/2/3-byte backlen limits (127, 16383).
        for len in [0usize, 1, 63, 64, 125, 126, 127, 4095, 4096, 16377, 16378, 16379, 20000] {
            v.push(vec![b'q'; len]);
        }
        v.push(b"-0".to_vec());
        v.push(b"007".to_vec());
        v.push(b"99999999999999999999".to_vec());
        v
    }

    #[test]
    fn encode_validate_walk_boundaries() {
        let want = boundary_entries();
        let refs: Vec<&[u8]> = want.iter().map(|v| v.as_slice()).collect();
        let lp = lp_encode(&refs);
        assert_eq!(validate(&lp), Ok(want.len()));
        assert_eq!(as_vecs(&lp), want);
        // Every proper prefix with the header fixed up is refused (the last
        // entry is cut), except the one ending exactly after an entry.
        let mut ends = vec![LP_HDR_SIZE];
        for i in 1..=refs.len() {
            ends.push(lp_encode(&refs[..i]).len() - 1);
        }
        for cut in LP_HDR_SIZE..lp.len() - 1 {
            let mut t = lp[..cut].to_vec();
            t.push(LP_EOF);
            let total = t.len() as u32;
            t[..4].copy_from_slice(&total.to_le_bytes());
            t[4..6].copy_from_slice(&LP_HDR_NUMELE_UNKNOWN.to_le_bytes());
            match ends.iter().position(|&e| e == cut) {
                Some(n) => assert_eq!(validate(&t), Ok(n), "cut at {}", cut),
                None => assert!(validate(&t).is_err(), "cut at {}", cut),
            }
        }
    }

    #[test]
    fn header_checks() {
        let lp = lp_encode(&[b"a", b"17"]);
        assert_eq!(validate(&lp), Ok(2));
        assert!(validate(&[]).is_err());
        assert!(validate(&lp[..6]).is_err());
        // total bytes off by one either way
        let mut t = lp.clone();
        t[0] += 1;
        assert!(validate(&t).is_err());
        let mut t = lp.clone();
        t[0] -= 1;
        assert!(validate(&t).is_err());
        // end byte missing
        let mut t = lp.clone();
        let n = t.len();
        t[n - 1] = 0;
        assert!(validate(&t).is_err());
        // count wrong, count unknown
        let mut t = lp.clone();
        t[4] = 3;
        assert_eq!(validate(&t), Err(ListpackError("num elements does not match entries")));
        t[4] = 0xFF;
        t[5] = 0xFF;
        assert_eq!(validate(&t), Ok(2));
        // an end byte in the middle: the entries do not reach the real end
        let mut t = lp.clone();
        t[LP_HDR_SIZE] = LP_EOF;
        assert!(validate(&t).is_err());
    }

    #[test]
    fn entry_checks() {
        // unused encodings 0xF5..=0xFE
        for enc in 0xF5u8..=0xFE {
            let t = [9, 0, 0, 0, 1, 0, enc, 1, 0xFF];
            assert!(validate(&t).is_err(), "{:#x}", enc);
        }
        // backlen that does not match the entry size
        let mut t = lp_encode(&[b"abc"]);
        assert_eq!(t[LP_HDR_SIZE + 4], 4);
        t[LP_HDR_SIZE + 4] = 5;
        assert!(validate(&t).is_err());
        // the quirk Redis lets through (high bit over a zero byte): refused
        let mut t = lp_encode(&[b"a\x00"]);
        t[LP_HDR_SIZE + 3] |= 0x80;
        assert!(validate(&t).is_err());
        // a 32-bit string length far past the end, no overflow
        let t = [12, 0, 0, 0, 1, 0, 0xF0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        assert!(validate(&t).is_err());
        // 13-bit int and 12-bit string encodings cut in half
        assert!(validate(&[8, 0, 0, 0, 1, 0, 0xC0, 0xFF]).is_err());
        assert!(validate(&[8, 0, 0, 0, 1, 0, 0xE0, 0xFF]).is_err());
        // the caller's check refuses
        let t = lp_encode(&[b"a", b"b", b"a"]);
        let mut seen = std::collections::HashSet::new();
        assert_eq!(
            validate_with(&t, |e| seen.insert(e.to_vec())),
            Err(ListpackError("entry refused by caller"))
        );
    }

    #[test]
    fn more_than_65535_entries_count_unknown() {
        let items: Vec<Vec<u8>> = (0..70000).map(|i| format!("e{}", i).into_bytes()).collect();
        let refs: Vec<&[u8]> = items.iter().map(|v| v.as_slice()).collect();
        let lp = lp_encode(&refs);
        assert_eq!(u16::from_le_bytes([lp[4], lp[5]]), LP_HDR_NUMELE_UNKNOWN);
        assert_eq!(validate(&lp), Ok(70000));
        assert_eq!(entries(&lp).count(), 70000);
        assert_eq!(entries(&lp).last(), Some(ZlEntry::Str(b"e69999")));
    }

    use crate::util::TestRng as Rng;

    fn random_entry(r: &mut Rng) -> Vec<u8> {
        match r.below(6) {
            0 => (r.next() as i64).to_string().into_bytes(),
            1 => ((r.next() as i64) >> r.below(64)).to_string().into_bytes(),
            2 => (r.below(300) as i64 - 150).to_string().into_bytes(),
            3 => {
                let n = r.below(80);
                (0..n).map(|_| r.next() as u8).collect()
            }
            4 => {
                let n = [0, 63, 64, 127, 128, 4095, 4096, 5000][r.below(8)];
                vec![b'0' + r.below(10) as u8; n]
            }
            _ => format!("0{}", r.below(100)).into_bytes(),
        }
    }

    /// Validation never panics, and whatever it accepts `entries` walks to
    /// the same count and the same values the callback saw.
    fn check_no_panic(t: &[u8]) {
        let mut seen = Vec::new();
        if let Ok(n) = validate_with(t, |e| { seen.push(e.to_vec()); true }) {
            assert_eq!(seen.len(), n);
            assert_eq!(as_vecs(t), seen);
        }
        // Even on refused bytes the iterator must not panic.
        let _ = entries(t).take(100_000).count();
    }

    fn fix_header(t: &mut [u8], r: &mut Rng) {
        if t.len() < LP_HDR_SIZE + 1 {
            return;
        }
        let total = t.len() as u32;
        t[..4].copy_from_slice(&total.to_le_bytes());
        let n = t.len();
        t[n - 1] = LP_EOF;
        if r.below(2) == 0 {
            t[4..6].copy_from_slice(&LP_HDR_NUMELE_UNKNOWN.to_le_bytes());
        }
    }

    #[test]
    fn fuzz_random_bytes() {
        let mut r = Rng(0x9E3779B97F4A7C15);
        for _ in 0..200_000 {
            let n = r.below(48);
            let mut t: Vec<u8> = (0..n).map(|_| r.next() as u8).collect();
            // Most of the time make the header right so the entries get read.
            if r.below(4) != 0 {
                fix_header(&mut t, &mut r);
            }
            check_no_panic(&t);
        }
    }

    #[test]
    fn fuzz_mutations_of_valid_listpacks() {
        let mut r = Rng(0xDEADBEEF12345);
        let mut seeds: Vec<Vec<u8>> = Vec::new();
        for d in [DUMP_HASH_SMALL, DUMP_HASH_LONG_STRINGS, DUMP_ZSET, DUMP_LIST] {
            seeds.extend(dump_listpacks(d).1);
        }
        for _ in 0..40 {
            let items: Vec<Vec<u8>> = (0..r.below(20)).map(|_| random_entry(&mut r)).collect();
            let refs: Vec<&[u8]> = items.iter().map(|v| v.as_slice()).collect();
            let lp = lp_encode(&refs);
            assert_eq!(validate(&lp), Ok(items.len()));
            assert_eq!(as_vecs(&lp), items.iter().map(|v| match crate::util::string2ll(v) {
                Some(n) => n.to_string().into_bytes(),
                None => v.clone(),
            }).collect::<Vec<_>>());
            seeds.push(lp);
        }
        let mut accepted = 0;
        for i in 0..60_000 {
            let mut t = seeds[i % seeds.len()].clone();
            for _ in 0..1 + r.below(3) {
                match r.below(5) {
                    0 | 1 => {
                        let p = r.below(t.len());
                        t[p] = r.next() as u8;
                    }
                    2 => {
                        let p = r.below(t.len());
                        t[p] ^= 1 << r.below(8);
                    }
                    3 => {
                        let cut = r.below(t.len() + 1);
                        t.truncate(cut);
                    }
                    _ => {
                        let p = r.below(t.len() + 1);
                        t.insert(p, r.next() as u8);
                    }
                }
                if t.is_empty() {
                    break;
                }
            }
            if r.below(3) != 0 {
                fix_header(&mut t, &mut r);
            }
            if validate(&t).is_ok() {
                accepted += 1;
            }
            check_no_panic(&t);
        }
        // Some mutations (string data bytes) keep the blob valid: the
        // accept path was exercised too.
        assert!(accepted > 100, "only {} mutated listpacks accepted", accepted);
    }
}
