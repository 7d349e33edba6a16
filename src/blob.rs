//! `Blob`: a byte blob of exactly its length, behind one 8-byte pointer.
//!
//! Ziplists and intsets are Redis's own byte layouts; Redis keeps each in
//! an allocation of exactly its size, pointed to by `robj->ptr`. A `Vec`
//! would add length and capacity (16 bytes in the value), a `ThinVec` adds
//! them in the heap block (16 bytes per blob, enough to push a 10-member
//! intset from jemalloc's 32-byte class to the 48-byte one). `Blob` keeps
//! the length in the pointer word (`thin_slice::ThinBoxedSlice`: the top
//! 16 bits of an x86-64 pointer for blobs under 64 KiB, a spilled fat
//! pointer above), so a small hash, set or sorted set costs what it costs
//! in Redis.
//!
//! Every resize reallocates to the exact new length, as `ziplistResize` and
//! `intsetResize` do; Redis pays the same `realloc` per change.

use std::ops::{Deref, DerefMut};

use thin_slice::ThinBoxedSlice;

/// An exact-size byte blob in one pointer.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Blob(ThinBoxedSlice<u8>);

impl Blob {
    /// A blob holding a copy of `b`.
    pub fn from_slice(b: &[u8]) -> Blob {
        Blob(Box::<[u8]>::from(b).into())
    }

    /// A blob taking over `v` (its spare capacity is released).
    pub fn from_vec(v: Vec<u8>) -> Blob {
        Blob(v.into_boxed_slice().into())
    }

    /// Resizes to `new_len` bytes: growth is zero-filled, shrinking drops
    /// the tail. The allocation is exactly `new_len` bytes afterwards.
    pub fn resize(&mut self, new_len: usize) {
        let old = std::mem::take(&mut self.0);
        let boxed: Box<[u8]> = old.into();
        let mut v = boxed.into_vec();
        if new_len > v.len() {
            v.reserve_exact(new_len - v.len());
            v.resize(new_len, 0);
        } else {
            v.truncate(new_len);
        }
        self.0 = v.into_boxed_slice().into();
    }

    /// Replaces the content with `v`.
    pub fn set_vec(&mut self, v: Vec<u8>) {
        self.0 = v.into_boxed_slice().into();
    }

    /// The blob as an owned `Vec` (for rebuilding it), leaving it empty.
    pub fn take_vec(&mut self) -> Vec<u8> {
        let old = std::mem::take(&mut self.0);
        let boxed: Box<[u8]> = old.into();
        boxed.into_vec()
    }
}

impl Deref for Blob {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl DerefMut for Blob {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Blob({} bytes)", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_word_exact_size() {
        assert_eq!(std::mem::size_of::<Blob>(), 8);
        assert_eq!(std::mem::size_of::<Option<Blob>>(), 8);
        let mut b = Blob::from_slice(b"abc");
        assert_eq!(&b[..], b"abc");
        b.resize(5);
        assert_eq!(&b[..], b"abc\0\0");
        b[3] = b'd';
        b.resize(4);
        assert_eq!(&b[..], b"abcd");
        let c = b.clone();
        assert_eq!(c, b);
        assert_eq!(b.take_vec(), b"abcd".to_vec());
        assert!(b.is_empty());
    }

    #[test]
    fn big_blobs_spill_and_still_work() {
        let mut b = Blob::from_vec(vec![7u8; 70_000]);
        assert_eq!(b.len(), 70_000);
        b.resize(65_534);
        assert_eq!(b.len(), 65_534);
        b.resize(100_000);
        assert_eq!(b[99_999], 0);
        assert_eq!(b[0], 7);
    }
}
