//! The intset: Redis 6.2's sorted array of integers for small sets of
//! integers (intset.c), byte-exact because RDB files embed it verbatim:
//!
//! ```text
//! <encoding u32 LE: 2, 4 or 8> <length u32 LE> <length integers, LE, ascending>
//! ```
//!
//! The mechanism:
//! 1. Every member is stored with the same width, the encoding: the
//!    smallest of int16/int32/int64 that holds every value ever added.
//! 2. Adding a value that does not fit upgrades the whole set to the wider
//!    encoding (`intsetUpgradeAndAdd`). Such a value is larger or smaller
//!    than every member, so it goes at one end without a search. There is
//!    no downgrade: removing the wide value leaves the encoding as it is.
//! 3. Lookups are a binary search; inserts and removals move the tail of
//!    the array by one slot, resizing the blob to exactly its new size.
//!
//! The blob lives in a `Blob` so an `Intset` is one 8-byte pointer,
//! and capacity equals length after every operation, as `intsetResize`
//! reallocates to the exact size.

use crate::blob::Blob;

use crate::util::random_u64;

/// Bytes of the `encoding` + `length` header.
pub const INTSET_HEADER_SIZE: usize = 8;
pub const INTSET_ENC_INT16: u32 = 2;
pub const INTSET_ENC_INT32: u32 = 4;
pub const INTSET_ENC_INT64: u32 = 8;

/// `_intsetValueEncoding`: the narrowest encoding that holds `v`.
pub fn value_encoding(v: i64) -> u32 {
    if v < i32::MIN as i64 || v > i32::MAX as i64 {
        INTSET_ENC_INT64
    } else if v < i16::MIN as i64 || v > i16::MAX as i64 {
        INTSET_ENC_INT32
    } else {
        INTSET_ENC_INT16
    }
}

/// Why `from_bytes` refused a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntsetError(pub &'static str);

impl std::fmt::Display for IntsetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid intset: {}", self.0)
    }
}

impl std::error::Error for IntsetError {}

/// An intset blob, byte-exact with Redis 6.2.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Intset {
    buf: Blob,
}

fn read_u32_le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Reads member `pos` of encoding `enc` from a blob (bounds checked by
/// the caller).
fn load(b: &[u8], pos: usize, enc: u32) -> i64 {
    let at = INTSET_HEADER_SIZE + pos * enc as usize;
    match enc {
        INTSET_ENC_INT16 => i16::from_le_bytes([b[at], b[at + 1]]) as i64,
        INTSET_ENC_INT32 => i32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as i64,
        _ => {
            let mut x = [0u8; 8];
            x.copy_from_slice(&b[at..at + 8]);
            i64::from_le_bytes(x)
        }
    }
}

/// Writes `v` as member `pos` of encoding `enc` (which must hold it).
fn store(b: &mut [u8], pos: usize, enc: u32, v: i64) {
    let at = INTSET_HEADER_SIZE + pos * enc as usize;
    match enc {
        INTSET_ENC_INT16 => b[at..at + 2].copy_from_slice(&(v as i16).to_le_bytes()),
        INTSET_ENC_INT32 => b[at..at + 4].copy_from_slice(&(v as i32).to_le_bytes()),
        _ => b[at..at + 8].copy_from_slice(&v.to_le_bytes()),
    }
}

impl Default for Intset {
    fn default() -> Self {
        Self::new()
    }
}

impl Intset {
    /// An empty intset (`intsetNew`): int16 encoding, no members, 8 bytes.
    pub fn new() -> Intset {
        let mut buf = Vec::with_capacity(INTSET_HEADER_SIZE);
        buf.extend_from_slice(&INTSET_ENC_INT16.to_le_bytes());
        buf.extend_from_slice(&0u32.to_le_bytes());
        Intset { buf: Blob::from_vec(buf) }
    }

    /// Adopts a blob from outside after `validate`. Never panics, whatever
    /// the bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Intset, IntsetError> {
        Self::validate(bytes)?;
        Ok(Intset { buf: Blob::from_slice(bytes) })
    }

    /// `from_bytes` taking over `v` instead of copying it.
    pub fn from_vec(v: Vec<u8>) -> Result<Intset, IntsetError> {
        Self::validate(&v)?;
        Ok(Intset { buf: Blob::from_vec(v) })
    }

    /// `intsetValidateIntegrity` with `deep`: a known encoding, a size that
    /// matches the length exactly, at least one member (Redis refuses empty
    /// intsets from RDB), and members strictly ascending. Members narrower
    /// than the encoding are fine (there is no downgrade). Returns the
    /// number of members.
    pub fn validate(b: &[u8]) -> Result<usize, IntsetError> {
        if b.len() < INTSET_HEADER_SIZE {
            return Err(IntsetError("shorter than header"));
        }
        let enc = read_u32_le(b, 0);
        if !matches!(enc, INTSET_ENC_INT16 | INTSET_ENC_INT32 | INTSET_ENC_INT64) {
            return Err(IntsetError("unknown encoding"));
        }
        let count = read_u32_le(b, 4) as usize;
        let want = count.checked_mul(enc as usize).and_then(|n| n.checked_add(INTSET_HEADER_SIZE));
        if want != Some(b.len()) {
            return Err(IntsetError("size does not match length"));
        }
        if count == 0 {
            return Err(IntsetError("empty intset"));
        }
        let mut prev = load(b, 0, enc);
        for i in 1..count {
            let cur = load(b, i, enc);
            if cur <= prev {
                return Err(IntsetError("members not strictly ascending"));
            }
            prev = cur;
        }
        Ok(count)
    }

    /// The blob, as RDB and DUMP embed it.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Number of members (`intsetLen`).
    pub fn len(&self) -> usize {
        read_u32_le(&self.buf, 4) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Size of the blob in bytes (`intsetBlobLen`).
    pub fn blob_len(&self) -> usize {
        self.buf.len()
    }

    /// Bytes allocated for the blob (equal to `blob_len`).
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// The width of every member: 2, 4 or 8 bytes.
    pub fn encoding(&self) -> u32 {
        read_u32_le(&self.buf, 0)
    }

    /// Would `v` be stored without upgrading the encoding?
    pub fn fits(&self, v: i64) -> bool {
        value_encoding(v) <= self.encoding()
    }

    fn set_len(&mut self, n: usize) {
        self.buf[4..8].copy_from_slice(&(n as u32).to_le_bytes());
    }

    /// Member `pos` in ascending order (`intsetGet`).
    pub fn get(&self, pos: usize) -> Option<i64> {
        if pos < self.len() {
            Some(load(&self.buf, pos, self.encoding()))
        } else {
            None
        }
    }

    /// `intsetSearch`: `Ok(position)` of `v`, or `Err(position)` where it
    /// would be inserted.
    pub fn search(&self, v: i64) -> Result<usize, usize> {
        let enc = self.encoding();
        let n = self.len();
        if n == 0 {
            return Err(0);
        }
        // Values past either end are common (appending ascending ids).
        if v > load(&self.buf, n - 1, enc) {
            return Err(n);
        }
        if v < load(&self.buf, 0, enc) {
            return Err(0);
        }
        let (mut lo, mut hi) = (0usize, n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let cur = load(&self.buf, mid, enc);
            if cur < v {
                lo = mid + 1;
            } else if cur > v {
                hi = mid;
            } else {
                return Ok(mid);
            }
        }
        Err(lo)
    }

    /// Is `v` a member (`intsetFind`)?
    pub fn contains(&self, v: i64) -> bool {
        self.fits(v) && self.search(v).is_ok()
    }

    /// Adds `v` (`intsetAdd`); returns whether it was not already there.
    pub fn add(&mut self, v: i64) -> bool {
        let enc = self.encoding();
        if value_encoding(v) > enc {
            self.upgrade_and_add(v);
            return true;
        }
        let pos = match self.search(v) {
            Ok(_) => return false,
            Err(pos) => pos,
        };
        let n = self.len();
        let w = enc as usize;
        let at = INTSET_HEADER_SIZE + pos * w;
        let old_len = self.buf.len();
        self.buf.resize(old_len + w);
        self.buf.copy_within(at..old_len, at + w);
        store(&mut self.buf, pos, enc, v);
        self.set_len(n + 1);
        true
    }

    /// `intsetUpgradeAndAdd`: `v` needs a wider encoding, so it is smaller
    /// than every member (goes first) or larger (goes last).
    fn upgrade_and_add(&mut self, v: i64) {
        let old_enc = self.encoding();
        let new_enc = value_encoding(v);
        let n = self.len();
        let mut buf = Vec::with_capacity(INTSET_HEADER_SIZE + (n + 1) * new_enc as usize);
        buf.extend_from_slice(&new_enc.to_le_bytes());
        buf.extend_from_slice(&((n + 1) as u32).to_le_bytes());
        let mut push = |x: i64| match new_enc {
            INTSET_ENC_INT32 => buf.extend_from_slice(&(x as i32).to_le_bytes()),
            _ => buf.extend_from_slice(&x.to_le_bytes()),
        };
        if v < 0 {
            push(v);
        }
        for i in 0..n {
            push(load(&self.buf, i, old_enc));
        }
        if v >= 0 {
            push(v);
        }
        self.buf = Blob::from_vec(buf);
    }

    /// Removes `v` (`intsetRemove`); returns whether it was there. The
    /// encoding never narrows.
    pub fn remove(&mut self, v: i64) -> bool {
        if !self.fits(v) {
            return false;
        }
        let pos = match self.search(v) {
            Ok(pos) => pos,
            Err(_) => return false,
        };
        let enc = self.encoding();
        let w = enc as usize;
        let n = self.len();
        let at = INTSET_HEADER_SIZE + pos * w;
        let old_len = self.buf.len();
        self.buf.copy_within(at + w..old_len, at);
        self.buf.resize(old_len - w);
        self.set_len(n - 1);
        true
    }

    /// A uniformly random member (`intsetRandom`), `None` if empty.
    pub fn random(&self) -> Option<i64> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        self.get((random_u64() % n as u64) as usize)
    }

    /// The smallest member (`intsetMin`).
    pub fn min(&self) -> Option<i64> {
        self.get(0)
    }

    /// The largest member (`intsetMax`).
    pub fn max(&self) -> Option<i64> {
        self.len().checked_sub(1).and_then(|i| self.get(i))
    }

    /// Members in ascending order (`.rev()` for descending).
    pub fn iter(&self) -> Iter<'_> {
        Iter { set: self, front: 0, back: self.len() }
    }
}

/// Ascending iterator over an intset's members.
pub struct Iter<'a> {
    set: &'a Intset,
    front: usize,
    back: usize,
}

impl Iterator for Iter<'_> {
    type Item = i64;

    fn next(&mut self) -> Option<i64> {
        if self.front >= self.back {
            return None;
        }
        let v = load(&self.set.buf, self.front, self.set.encoding());
        self.front += 1;
        Some(v)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<i64> {
        if self.front >= self.back {
            return None;
        }
        self.back -= 1;
        Some(load(&self.set.buf, self.back, self.set.encoding()))
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    use crate::util::TestRng as Rng;

    /// Values clustered around the encoding boundaries.
    fn random_value(r: &mut Rng, wide: usize) -> i64 {
        let edges = [0i64, i16::MIN as i64, i16::MAX as i64, i32::MIN as i64, i32::MAX as i64, i64::MIN, i64::MAX];
        match r.below(wide) {
            0..=5 => r.below(200) as i64 - 100,
            6 | 7 => (r.next() as i16) as i64,
            8 => {
                let e = edges[r.below(3)];
                e.saturating_add(r.below(5) as i64 - 2)
            }
            9 => (r.next() as i32) as i64,
            10 => {
                let e = edges[r.below(5)];
                e.saturating_add(r.below(5) as i64 - 2)
            }
            11 => r.next() as i64,
            _ => {
                let e = edges[r.below(edges.len())];
                e.saturating_add(r.below(5) as i64 - 2)
            }
        }
    }

    fn check(s: &Intset, model: &BTreeSet<i64>, enc: u32) {
        assert_eq!(s.len(), model.len());
        assert_eq!(s.encoding(), enc);
        assert_eq!(s.blob_len(), INTSET_HEADER_SIZE + model.len() * enc as usize);
        assert_eq!(s.capacity(), s.blob_len());
        assert!(s.iter().eq(model.iter().copied()));
        assert!(s.iter().rev().eq(model.iter().rev().copied()));
        assert_eq!(s.min(), model.first().copied());
        assert_eq!(s.max(), model.last().copied());
        if model.is_empty() {
            assert!(Intset::validate(s.as_bytes()).is_err());
        } else {
            assert_eq!(Intset::validate(s.as_bytes()), Ok(model.len()));
        }
    }

    #[test]
    fn intset_is_one_pointer() {
        assert_eq!(std::mem::size_of::<Intset>(), 8);
    }

    #[test]
    fn layout_and_upgrades() {
        let mut s = Intset::new();
        assert_eq!(s.as_bytes(), &[2, 0, 0, 0, 0, 0, 0, 0]);
        assert!(s.add(5));
        assert!(s.add(-3));
        assert!(s.add(1));
        assert!(!s.add(5));
        assert_eq!(s.as_bytes(), &[2, 0, 0, 0, 3, 0, 0, 0, 0xfd, 0xff, 1, 0, 5, 0]);
        // 65536 needs int32: everything is rewritten 4 bytes wide, the new
        // value goes last.
        assert!(s.add(65536));
        assert_eq!(
            s.as_bytes(),
            &[4, 0, 0, 0, 4, 0, 0, 0, 0xfd, 0xff, 0xff, 0xff, 1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 1, 0]
        );
        // A negative int64 goes first.
        assert!(s.add(i32::MIN as i64 - 1));
        let mut want = vec![8, 0, 0, 0, 5, 0, 0, 0];
        for v in [i32::MIN as i64 - 1, -3, 1, 5, 65536] {
            want.extend_from_slice(&v.to_le_bytes());
        }
        assert_eq!(s.as_bytes(), &want[..]);
        // No downgrade when the wide members leave.
        assert!(s.remove(i32::MIN as i64 - 1));
        assert!(s.remove(65536));
        assert_eq!(s.encoding(), 8);
        assert_eq!(s.blob_len(), 8 + 3 * 8);
        assert!(s.iter().eq([-3, 1, 5]));
        assert_eq!(Intset::from_bytes(s.as_bytes()).as_ref(), Ok(&s));
    }

    #[test]
    fn encoding_boundaries() {
        let cases = [
            (i16::MAX as i64, 2),
            (i16::MIN as i64, 2),
            (i16::MAX as i64 + 1, 4),
            (i16::MIN as i64 - 1, 4),
            (i32::MAX as i64, 4),
            (i32::MIN as i64, 4),
            (i32::MAX as i64 + 1, 8),
            (i32::MIN as i64 - 1, 8),
            (i64::MAX, 8),
            (i64::MIN, 8),
        ];
        for (v, enc) in cases {
            assert_eq!(value_encoding(v), enc, "{}", v);
            let mut s = Intset::new();
            s.add(0);
            s.add(v);
            assert_eq!(s.encoding(), enc, "{}", v);
            assert!(s.contains(v) && s.contains(0));
            assert_eq!(s.blob_len(), 8 + 2 * enc as usize);
        }
        let mut s = Intset::new();
        s.add(1);
        assert!(s.fits(i16::MAX as i64) && !s.fits(i16::MAX as i64 + 1));
        // Values wider than the encoding are never members.
        assert!(!s.contains(1 << 40));
        assert!(!s.remove(1 << 40));
        assert!(!s.remove(2));
        assert_eq!(s.get(1), None);
        assert_eq!(s.get(0), Some(1));
    }

    #[test]
    fn empty_set_queries() {
        let mut s = Intset::new();
        assert_eq!(s.len(), 0);
        assert_eq!(s.min(), None);
        assert_eq!(s.max(), None);
        assert_eq!(s.random(), None);
        assert_eq!(s.search(3), Err(0));
        assert!(!s.contains(0));
        assert!(!s.remove(0));
        assert_eq!(s.iter().count(), 0);
        s.add(1);
        s.remove(1);
        assert_eq!(s, Intset::new());
    }

    #[test]
    fn model_random_ops() {
        let mut r = Rng(0x2545_F491_4F6C_DD1D);
        for round in 0..40 {
            let mut s = Intset::new();
            let mut model = BTreeSet::new();
            let mut enc = INTSET_ENC_INT16;
            // Early rounds stay narrow longer so int16/int32 sets get big.
            let wide = 9 + round % 5;
            for _ in 0..600 {
                let v = if !model.is_empty() && r.below(4) == 0 {
                    *model.iter().nth(r.below(model.len())).unwrap()
                } else {
                    random_value(&mut r, wide)
                };
                match r.below(10) {
                    0..=5 => {
                        assert_eq!(s.add(v), model.insert(v));
                        enc = enc.max(value_encoding(v));
                    }
                    6..=8 => assert_eq!(s.remove(v), model.remove(&v)),
                    _ => {
                        assert_eq!(s.contains(v), model.contains(&v));
                        let want = model.range(..v).count();
                        match s.search(v) {
                            Ok(i) => assert!(model.contains(&v) && i == want),
                            Err(i) => assert!(!model.contains(&v) && i == want),
                        }
                    }
                }
                check(&s, &model, enc);
                if let Some(i) = (!model.is_empty()).then(|| r.below(model.len())) {
                    assert_eq!(s.get(i), model.iter().nth(i).copied());
                }
            }
        }
    }

    #[test]
    fn random_member() {
        let mut s = Intset::new();
        for v in [-7, 3, 100_000, 42] {
            s.add(v);
        }
        let mut seen = BTreeSet::new();
        for _ in 0..2000 {
            let v = s.random().unwrap();
            assert!(s.contains(v));
            seen.insert(v);
        }
        assert_eq!(seen.len(), 4);
    }

    #[test]
    fn from_bytes_rejects_bad_blobs() {
        let mut s = Intset::new();
        for v in [1, 2, 300] {
            s.add(v);
        }
        let g = s.as_bytes().to_vec();
        assert_eq!(Intset::from_bytes(&g).as_ref(), Ok(&s));
        for n in 0..g.len() {
            assert!(Intset::from_bytes(&g[..n]).is_err(), "truncated to {}", n);
        }
        let mut b = g.clone();
        b.push(0);
        assert!(Intset::from_bytes(&b).is_err()); // trailing byte
        for enc in [0u32, 1, 3, 6, 16, u32::MAX] {
            let mut b = g.clone();
            b[0..4].copy_from_slice(&enc.to_le_bytes());
            assert!(Intset::from_bytes(&b).is_err(), "encoding {}", enc);
        }
        let mut b = g.clone();
        b[8..10].copy_from_slice(&2i16.to_le_bytes()); // duplicate 2, 2
        assert!(Intset::from_bytes(&b).is_err());
        let mut b = g.clone();
        b[12..14].copy_from_slice(&0i16.to_le_bytes()); // 1, 2, 0
        assert!(Intset::from_bytes(&b).is_err());
        // Length overflowing the size computation.
        let mut b = g.clone();
        b[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(Intset::from_bytes(&b).is_err());
        // Empty: refused as Redis does for RDB payloads.
        assert!(Intset::from_bytes(Intset::new().as_bytes()).is_err());
        // An int32 set holding only small values is valid (no downgrade).
        let mut b = vec![4, 0, 0, 0, 2, 0, 0, 0];
        b.extend_from_slice(&(-1i32).to_le_bytes());
        b.extend_from_slice(&7i32.to_le_bytes());
        let t = Intset::from_bytes(&b).unwrap();
        assert!(t.iter().eq([-1, 7]));
        assert_eq!(t.encoding(), 4);
    }

    #[test]
    fn from_bytes_fuzz_never_panics() {
        let mut r = Rng(0xA076_1D64_78BD_642F);
        let mut seed = Intset::new();
        for v in [-40000, -5, 0, 9, 70000] {
            seed.add(v);
        }
        let mut small = Intset::new();
        for v in [-5, 0, 9] {
            small.add(v);
        }
        let seeds = [seed.as_bytes().to_vec(), small.as_bytes().to_vec()];
        let mut accepted = 0;
        for i in 0..30_000 {
            let mut b = if i % 3 == 0 {
                (0..r.below(40)).map(|_| r.next() as u8).collect::<Vec<u8>>()
            } else {
                seeds[r.below(2)].clone()
            };
            if i % 3 == 0 && b.len() >= 8 {
                // A plausible header so the member checks run.
                let enc = [2u32, 4, 8][r.below(3)];
                b[0..4].copy_from_slice(&enc.to_le_bytes());
                let n = (b.len() - 8) / enc as usize;
                b.truncate(8 + n * enc as usize);
                b[4..8].copy_from_slice(&(n as u32).to_le_bytes());
            }
            for _ in 0..1 + r.below(2) {
                if b.is_empty() {
                    break;
                }
                match r.below(3) {
                    0 => {
                        let k = r.below(b.len());
                        b[k] ^= 1 << r.below(8);
                    }
                    1 => b.truncate(r.below(b.len() + 1)),
                    _ => {}
                }
            }
            if let Ok(mut s) = Intset::from_bytes(&b) {
                accepted += 1;
                let mut model: BTreeSet<i64> = s.iter().collect();
                assert_eq!(model.len(), s.len());
                let enc = s.encoding();
                let v = r.next() as i16 as i64;
                assert_eq!(s.add(v), model.insert(v));
                check(&s, &model, enc);
            }
        }
        assert!(accepted > 100);
    }
}
