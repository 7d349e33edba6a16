//! LZF compression (liblzf 3.6 as Redis bundles it, lzf_c.c / lzf_d.c),
//! byte-exact: the RDB writer must produce Redis's files and DEBUG OBJECT's
//! `serializedlength` must equal Redis's, so every choice the C compressor
//! makes (hash, table size, match extension, re-hashing after a match, the
//! output-space checks) is reproduced here.
//!
//! The format is a sequence of chunks, each starting with a control byte:
//! 1. `ctrl < 32`: a literal run of `ctrl + 1` bytes follows.
//! 2. otherwise a back reference: `len = ctrl >> 5` (7 means one more length
//!    byte follows and is added), then one byte that with `ctrl & 0x1f` forms
//!    a 13-bit offset; `len + 2` bytes are copied from `offset + 1` bytes
//!    back in the output (possibly overlapping the bytes being written).
//!
//! The compressor (Redis's settings: HLOG 16, VERY_FAST, not ULTRA_FAST,
//! offsets rather than pointers in the table):
//! 1. hashes the 3 bytes at each position into a 2^16-entry table holding the
//!    last position with that hash (0 = empty: position 0 is never a match);
//! 2. if that earlier position is under 8 KiB back and its 3 bytes really
//!    match, extends the match (at most 264 bytes) and emits a reference,
//!    then hashes the last two positions of the match and goes on after it;
//! 3. otherwise copies the byte into the current literal run (32 at most).
//!
//! Redis leaves its table uninitialised (INIT_HTAB 0), so in principle stale
//! stack contents could steer a match; a zeroed table is what a fresh
//! process sees and what this module uses.

use std::fmt;

/// log2 of the hash table size.
const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;
/// Longest literal run.
const MAX_LIT: usize = 1 << 5;
/// Farthest back a reference may point (exclusive, minus one).
const MAX_OFF: usize = 1 << 13;
/// Longest back reference, in bytes minus two.
const MAX_REF: usize = (1 << 8) + (1 << 3);

/// Why a compressed buffer could not be decompressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LzfError {
    /// The data would decompress to more than the expected length (E2BIG).
    OutputOverflow,
    /// The input ends inside a chunk (EINVAL).
    Truncated,
    /// A back reference points before the start of the output (EINVAL).
    BadOffset,
    /// The data decompressed to fewer bytes than expected.
    LengthMismatch { expected: usize, got: usize },
}

impl fmt::Display for LzfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LzfError::OutputOverflow => write!(f, "LZF output exceeds the expected length"),
            LzfError::Truncated => write!(f, "LZF input is truncated"),
            LzfError::BadOffset => write!(f, "LZF back reference before the start of the output"),
            LzfError::LengthMismatch { expected, got } => {
                write!(f, "LZF output is {} bytes, expected {}", got, expected)
            }
        }
    }
}

impl std::error::Error for LzfError {}

/// The hash of the 3 bytes `v` holds in its low 24 bits (VERY_FAST `IDX`).
/// Bits above 24 are left over from earlier bytes and masked out by the
/// arithmetic, as in C.
#[inline]
fn idx(h: u32) -> usize {
    ((h >> (3 * 8 - HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

#[inline]
fn first(inp: &[u8], p: usize) -> u32 {
    ((inp[p] as u32) << 8) | inp[p + 1] as u32
}

#[inline]
fn next(h: u32, inp: &[u8], p: usize) -> u32 {
    (h << 8) | inp[p + 2] as u32
}

/// Compresses `input` as `lzf_compress` does with an output buffer of
/// `out_cap` bytes. Returns None where `lzf_compress` returns 0: the input
/// is empty or the output might not fit. Its space checks look ahead (room
/// for a whole reference plus the next run's control byte, and 3 bytes for
/// the tail), so up to `len + 4` may be needed for a `len`-byte result;
/// Redis's accept/refuse decision depends on exactly these checks.
pub fn compress(input: &[u8], out_cap: usize) -> Option<Vec<u8>> {
    if input.is_empty() {
        return None;
    }
    HTAB.with(|t| match t.try_borrow_mut() {
        Ok(mut table) => {
            let out = compress_with(input, out_cap, &mut table.slots);
            // Leave the table all zeros for the next call without a 256 KiB
            // memset: only the slots this input wrote need clearing, and
            // when they are many a fill is cheaper.
            if input.len() > HSIZE / 4 {
                table.slots.fill(0);
            } else {
                clear_slots(input, &mut table.slots);
            }
            out
        }
        // Not reentrant; a nested call (impossible today) gets its own table.
        Err(_) => compress_with(input, out_cap, &mut vec![0u32; HSIZE]),
    })
}

/// The compressor's hash table, kept per thread so that estimating sizes
/// of many short strings (DEBUG OBJECT on a big hash) costs no 256 KiB
/// allocation each.
struct HashTable {
    slots: Vec<u32>,
}

thread_local! {
    static HTAB: std::cell::RefCell<HashTable> = std::cell::RefCell::new(HashTable { slots: vec![0u32; HSIZE] });
}

/// Zeroes every slot `compress_with` may have written for `input`: those of
/// the 3-byte windows at every position.
fn clear_slots(input: &[u8], htab: &mut [u32]) {
    for w in input.windows(3) {
        let h = ((w[0] as u32) << 16) | ((w[1] as u32) << 8) | w[2] as u32;
        htab[idx(h)] = 0;
    }
}

/// The compressor proper, on a zeroed table.
fn compress_with(input: &[u8], out_cap: usize, htab: &mut [u32]) -> Option<Vec<u8>> {
    let in_len = input.len();
    debug_assert_eq!(htab.len(), HSIZE);
    // Room for the run byte the C code may reserve one past the end before
    // its checks fail; never more than the worst case (33 bytes out per 32
    // in, plus a run byte), whatever `out_cap` says.
    let mut out = vec![0u8; out_cap.min(in_len + in_len / 32 + 8) + 1];
    let out_end = out_cap;
    let mut ip = 0usize;
    let mut op = 1usize; // op 0 is the first run's control byte
    let mut lit = 0usize;

    // `ip < in_end - 2` in C, with in_end - 2 possibly "negative".
    let hash_end = in_len.saturating_sub(2);
    let mut hval = if in_len >= 2 { first(input, 0) } else { 0 };

    while ip < hash_end {
        hval = next(hval, input, ip);
        let slot = idx(hval);
        let r = htab[slot] as usize;
        htab[slot] = ip as u32;

        // An empty slot reads as position 0, which the `r > 0` test rejects.
        let is_match = r > 0
            && r < ip
            && ip - r - 1 < MAX_OFF
            && input[r + 2] == input[ip + 2]
            && input[r] == input[ip]
            && input[r + 1] == input[ip + 1];

        if is_match {
            let off = ip - r - 1;
            let mut len = 2usize;
            let maxlen = (in_len - ip - len).min(MAX_REF);

            // Exact space check: the control byte of a zero-length run is
            // reused, and up to 3 bytes of reference plus the next run's
            // control byte must fit.
            if op - usize::from(lit == 0) + 3 + 1 >= out_end {
                return None;
            }

            out[op - lit - 1] = (lit as u8).wrapping_sub(1);
            op -= usize::from(lit == 0);

            // The C loop first compares 16 bytes unconditionally when more
            // than 16 may match, then goes byte by byte up to maxlen; for
            // maxlen 17 or 18 that can reach 19 bytes.
            'extend: {
                if maxlen > 16 {
                    for _ in 0..16 {
                        len += 1;
                        if input[r + len] != input[ip + len] {
                            break 'extend;
                        }
                    }
                }
                loop {
                    len += 1;
                    if !(len < maxlen && input[r + len] == input[ip + len]) {
                        break;
                    }
                }
            }

            len -= 2; // now bytes - 3 + 1, the encoded length
            ip += 1;

            if len < 7 {
                out[op] = ((off >> 8) + (len << 5)) as u8;
                op += 1;
            } else {
                out[op] = ((off >> 8) + (7 << 5)) as u8;
                out[op + 1] = (len - 7) as u8;
                op += 2;
            }
            out[op] = off as u8;
            op += 1;

            lit = 0;
            op += 1; // start a run

            ip += len + 1;
            if ip >= hash_end {
                break;
            }

            // VERY_FAST: hash the last two positions of the match.
            ip -= 2;
            hval = first(input, ip);
            hval = next(hval, input, ip);
            htab[idx(hval)] = ip as u32;
            ip += 1;
            hval = next(hval, input, ip);
            htab[idx(hval)] = ip as u32;
            ip += 1;
        } else {
            if op >= out_end {
                return None;
            }
            out[op] = input[ip];
            op += 1;
            ip += 1;
            lit += 1;
            if lit == MAX_LIT {
                out[op - lit - 1] = (lit - 1) as u8;
                lit = 0;
                op += 1;
            }
        }
    }

    // At most 3 bytes (2 literals and a control byte) remain to be written.
    if op + 3 > out_end {
        return None;
    }
    while ip < in_len {
        out[op] = input[ip];
        op += 1;
        ip += 1;
        lit += 1;
        if lit == MAX_LIT {
            out[op - lit - 1] = (lit - 1) as u8;
            lit = 0;
            op += 1;
        }
    }
    out[op - lit - 1] = (lit as u8).wrapping_sub(1);
    op -= usize::from(lit == 0);
    out.truncate(op);
    Some(out)
}

/// Decompresses `input`, which must expand to exactly `expected_len` bytes
/// (Redis's RDB loader rejects any other result of `lzf_decompress`).
/// Corrupt input is an error, never a panic.
pub fn decompress(input: &[u8], expected_len: usize) -> Result<Vec<u8>, LzfError> {
    let mut out: Vec<u8> = Vec::with_capacity(expected_len);
    let mut ip = 0usize;
    while ip < input.len() {
        let ctrl = input[ip] as usize;
        ip += 1;
        if ctrl < MAX_LIT {
            let n = ctrl + 1;
            if out.len() + n > expected_len {
                return Err(LzfError::OutputOverflow);
            }
            let lits = input.get(ip..ip + n).ok_or(LzfError::Truncated)?;
            out.extend_from_slice(lits);
            ip += n;
        } else {
            let mut len = ctrl >> 5;
            let mut back = (ctrl & 0x1f) << 8;
            if len == 7 {
                len += *input.get(ip).ok_or(LzfError::Truncated)? as usize;
                ip += 1;
            }
            back += *input.get(ip).ok_or(LzfError::Truncated)? as usize;
            ip += 1;
            let n = len + 2;
            if out.len() + n > expected_len {
                return Err(LzfError::OutputOverflow);
            }
            let start = out.len().checked_sub(back + 1).ok_or(LzfError::BadOffset)?;
            // The source may overlap what is being written (a run of
            // period `back + 1`): copy from `start` what is there, which
            // doubles each pass and stays a whole number of periods, so
            // each pass continues the run exactly.
            let mut rem = n;
            while rem > 0 {
                let chunk = rem.min(out.len() - start);
                out.extend_from_within(start..start + chunk);
                rem -= chunk;
            }
        }
    }
    if out.len() != expected_len {
        return Err(LzfError::LengthMismatch { expected: expected_len, got: out.len() });
    }
    Ok(out)
}

/// Redis's decision to save a string LZF-compressed (`rdbSaveRawString` /
/// `rdbSaveLzfStringObject` with `rdbcompression yes`): only strings over 20
/// bytes are tried, with room for `len - 4` bytes of output, so compression
/// is kept only when it saves at least 5 bytes. Returns the compressed
/// bytes, or None to store the string as it is.
pub fn rdb_compress(s: &[u8]) -> Option<Vec<u8>> {
    if s.len() <= 20 {
        return None;
    }
    compress(s, s.len() - 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0)).collect()
    }

    /// Inputs and the bytes redis-server 7.0 wrote for them in dump.rdb.
    fn redis_vectors() -> Vec<(Vec<u8>, Vec<u8>)> {
        vec![
            (b"abcdefghij".repeat(5), unhex("0a6162636465666768696a61e01c0901696a")),
            (vec![b'x'; 133], unhex("017878e07800017878")),
            (
                b"hello world, hello redis, hello lzf; hello world again!".to_vec(),
                unhex("0d68656c6c6f20776f726c642c2068600c047265646973c00c036c7a663ba01760240620616761696e21"),
            ),
            ((0..100).map(|i| (i % 7) as u8).collect(), unhex("070001020304050600e05106010001")),
            ([b"ab".repeat(150), b"tail".to_vec()].concat(), unhex("02616261e0ff01e01801037461696c")),
            (
                b"the quick brown fox jumps over the lazy dog. ".repeat(3),
                unhex(concat!(
                    "1f74686520717569636b2062726f776e20666f78206a756d7073206f7665722074",
                    "201e086c617a7920646f672e600de04b2c012e20"
                )),
            ),
        ]
    }

    #[test]
    fn compresses_like_redis() {
        for (input, expected) in redis_vectors() {
            assert_eq!(compress(&input, input.len() - 4), Some(expected.clone()), "{:?}", String::from_utf8_lossy(&input));
            assert_eq!(rdb_compress(&input), Some(expected.clone()));
            assert_eq!(decompress(&expected, input.len()), Ok(input));
        }
    }

    #[test]
    fn out_cap_checks_are_liblzfs() {
        for (input, expected) in redis_vectors() {
            // liblzf's checks are conservative (a reference wants room for
            // the next run's control byte too), so the smallest accepted
            // cap can exceed the output by a few bytes; never less than it.
            let min_cap = (0..expected.len() + 8).find(|&cap| compress(&input, cap).is_some());
            assert!(matches!(min_cap, Some(c) if c >= expected.len() && c <= expected.len() + 4), "{:?}", min_cap);
            for cap in min_cap.unwrap_or(0)..expected.len() + 16 {
                assert_eq!(compress(&input, cap).as_ref(), Some(&expected));
            }
            assert_eq!(compress(&input, usize::MAX), Some(expected));
        }
        // 'x' * 133 ends with a reference: 9 bytes out, refused at cap 9.
        assert_eq!(compress(&[b'x'; 133], 9), None);
        assert!(compress(&[b'x'; 133], 10).is_some());
        assert_eq!(compress(b"", 100), None);
        assert_eq!(compress(b"a", 0), None);
        // The tail check wants 3 bytes free after the reserved run byte.
        assert_eq!(compress(b"ab", 4), Some(b"\x01ab".to_vec()));
        assert_eq!(compress(b"ab", 3), None);
    }

    #[test]
    fn rdb_rule_skips_short_and_incompressible() {
        assert_eq!(rdb_compress(&[b'a'; 20]), None, "20 bytes are never tried");
        assert!(rdb_compress(&[b'a'; 21]).is_some());
        // 21 distinct bytes cannot shrink by the required 5 bytes.
        let distinct: Vec<u8> = (0..21).collect();
        assert_eq!(rdb_compress(&distinct), None);
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn random_input(rng: &mut Rng) -> Vec<u8> {
        let big = rng.below(10) == 0;
        let n = rng.below(if big { 70_000 } else { 600 }) + 1;
        match rng.below(4) {
            0 => (0..n).map(|_| rng.next() as u8).collect(),
            1 => {
                let alpha = 1 + rng.below(4) as u64;
                (0..n).map(|_| (rng.next() % alpha) as u8).collect()
            }
            2 => {
                // Copies of earlier pieces at all distances, including > 8 KiB.
                let mut v: Vec<u8> = (0..16).map(|_| rng.next() as u8).collect();
                while v.len() < n {
                    let from = rng.below(v.len());
                    let len = 1 + rng.below(300).min(v.len() - from);
                    let piece = v[from..from + len.min(v.len() - from)].to_vec();
                    v.extend_from_slice(&piece);
                    if rng.below(3) == 0 {
                        v.push(rng.next() as u8);
                    }
                }
                v.truncate(n);
                v
            }
            _ => {
                let period = 1 + rng.below(40);
                let pat: Vec<u8> = (0..period).map(|_| rng.next() as u8).collect();
                (0..n).map(|i| pat[i % period]).collect()
            }
        }
    }

    #[test]
    fn roundtrip_random_inputs() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for _ in 0..3000 {
            let input = random_input(&mut rng);
            let c = compress(&input, usize::MAX).unwrap_or_default();
            assert!(c.len() <= input.len() + input.len() / 32 + 1, "worst-case growth");
            assert_eq!(decompress(&c, input.len()).as_deref(), Ok(&input[..]));
            // Any cap gives the same bytes or nothing; a cap below the
            // output's size always nothing, and one 4 bytes over never
            // (at most a run byte and a 3-byte reference are checked ahead).
            let cap = rng.below(c.len() + 6);
            match compress(&input, cap) {
                Some(d) => assert_eq!(d, c),
                None => assert!(cap < c.len() + 4, "cap {} output {}", cap, c.len()),
            }
            assert_eq!(compress(&input, c.len() + 4).as_ref(), Some(&c));
            assert_eq!(compress(&input, c.len().saturating_sub(1)), None);
        }
    }

    #[test]
    fn table_is_clean_between_calls() {
        // The per-thread table must not carry positions over: compressing B
        // after A gives what compressing B first gave.
        let mut rng = Rng(42);
        let inputs: Vec<Vec<u8>> = (0..200).map(|_| random_input(&mut rng)).collect();
        let first: Vec<_> = inputs.iter().map(|i| compress(i, usize::MAX)).collect();
        for (i, input) in inputs.iter().enumerate().rev() {
            assert_eq!(compress(input, usize::MAX), first[i]);
        }
    }

    #[test]
    fn decompress_hand_built_streams() {
        // A literal run, then a back reference of 3 bytes one back (overlap).
        assert_eq!(decompress(b"\x01ab\x20\x00", 5), Ok(b"abbbb".to_vec()));
        // Length 7 + extra byte 1: 10 bytes copied from 2 back.
        assert_eq!(decompress(b"\x01ab\xe0\x01\x01", 12), Ok(b"abababababab".to_vec()));
        // 13-bit offset: 0x1f high bits plus low byte 0xff = 8191, i.e. 8192 back.
        let mut lits = Vec::new();
        let mut data = Vec::new();
        for chunk in 0..256 {
            let bytes: Vec<u8> = (0..32).map(|i| (chunk * 7 + i * 3) as u8).collect();
            lits.push(31u8);
            lits.extend_from_slice(&bytes);
            data.extend_from_slice(&bytes);
        }
        lits.extend_from_slice(&[0x3f, 0xff]);
        data.extend_from_slice(&data[..3].to_vec());
        assert_eq!(decompress(&lits, data.len()), Ok(data));
        assert_eq!(decompress(b"", 0), Ok(Vec::new()));
    }

    #[test]
    fn decompress_rejects_corrupt_input() {
        use LzfError::*;
        // Literal run longer than the input holds.
        assert_eq!(decompress(b"\x05abc", 6), Err(Truncated));
        // Back reference cut before its offset byte, and before its length byte.
        assert_eq!(decompress(b"\x00a\x20", 4), Err(Truncated));
        assert_eq!(decompress(b"\x00a\xe0", 20), Err(Truncated));
        assert_eq!(decompress(b"\x00a\xe0\x01", 20), Err(Truncated));
        // Reference before the start of the output.
        assert_eq!(decompress(b"\x00a\x20\x01", 4), Err(BadOffset));
        assert_eq!(decompress(b"\x20\x00", 3), Err(BadOffset));
        assert_eq!(decompress(b"\x01ab\x3f\xff", 5), Err(BadOffset));
        // Output larger than expected, by a literal or by a reference.
        assert_eq!(decompress(b"\x02abc", 2), Err(OutputOverflow));
        assert_eq!(decompress(b"\x00a\x20\x00", 3), Err(OutputOverflow));
        // Shorter than expected.
        assert_eq!(decompress(b"\x02abc", 4), Err(LengthMismatch { expected: 4, got: 3 }));
        assert_eq!(decompress(b"", 1), Err(LengthMismatch { expected: 1, got: 0 }));
    }

    #[test]
    fn decompress_never_panics_on_mutations() {
        let mut rng = Rng(7);
        for _ in 0..3000 {
            let input = random_input(&mut rng);
            let Some(mut c) = compress(&input, usize::MAX) else { continue };
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(c.len());
                c[at] = rng.next() as u8;
            }
            let cut = rng.below(c.len() + 1);
            let expected = if rng.below(2) == 0 { input.len() } else { rng.below(2 * input.len() + 2) };
            if let Ok(out) = decompress(&c[..cut], expected) {
                assert_eq!(out.len(), expected);
            }
        }
    }
}
