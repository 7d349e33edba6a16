//! SipHash, the keyed hash behind every dict (mirrors siphash.c).
//!
//! Redis 6.2 hashes keys with SipHash-1-2 (one compression round per 8-byte
//! word, two finalization rounds): fast on short keys, and keyed with a
//! per-process random seed so clients cannot craft colliding keys. The core
//! is generic over the round counts so the reference SipHash-2-4 vectors from
//! the paper can check it.
//!
//! 1. The 16-byte key gives k0, k1 (little endian); the state v0..v3 is
//!    initialised from them xor the constants "somepseudorandomlygeneratedbytes".
//! 2. Each full 8-byte word m of the input: v3 ^= m, C rounds, v0 ^= m.
//! 3. The last word holds the remaining bytes plus `len << 56`.
//! 4. v2 ^= 0xff, D rounds, the result is v0 ^ v1 ^ v2 ^ v3.

#[inline(always)]
fn sip_round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13);
    v[1] ^= v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16);
    v[3] ^= v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21);
    v[3] ^= v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17);
    v[1] ^= v[2];
    v[2] = v[2].rotate_left(32);
}

/// SipHash-C-D of `data` under the key (k0, k1). `LOWER` folds ASCII
/// upper case to lower case first (siphash_nocase, for case-insensitive
/// tables such as the command table).
#[inline(always)]
fn siphash<const C: usize, const D: usize, const LOWER: bool>(k0: u64, k1: u64, data: &[u8]) -> u64 {
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    let fold = |b: u8| if LOWER { b.to_ascii_lowercase() } else { b };
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        let mut w = [0u8; 8];
        for (d, s) in w.iter_mut().zip(chunk) {
            *d = fold(*s);
        }
        let m = u64::from_le_bytes(w);
        v[3] ^= m;
        for _ in 0..C {
            sip_round(&mut v);
        }
        v[0] ^= m;
    }
    let mut b = (data.len() as u64) << 56;
    for (i, byte) in chunks.remainder().iter().enumerate() {
        b |= (fold(*byte) as u64) << (8 * i);
    }
    v[3] ^= b;
    for _ in 0..C {
        sip_round(&mut v);
    }
    v[0] ^= b;
    v[2] ^= 0xff;
    for _ in 0..D {
        sip_round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

fn key_words(key: &[u8; 16]) -> (u64, u64) {
    let mut a = [0u8; 8];
    let mut b = [0u8; 8];
    a.copy_from_slice(&key[..8]);
    b.copy_from_slice(&key[8..]);
    (u64::from_le_bytes(a), u64::from_le_bytes(b))
}

/// SipHash-1-2 of `data` (Redis's `siphash`).
pub fn siphash12(key: &[u8; 16], data: &[u8]) -> u64 {
    let (k0, k1) = key_words(key);
    siphash::<1, 2, false>(k0, k1, data)
}

/// SipHash-1-2 of `data` with ASCII case folded (Redis's `siphash_nocase`).
pub fn siphash12_nocase(key: &[u8; 16], data: &[u8]) -> u64 {
    let (k0, k1) = key_words(key);
    siphash::<1, 2, true>(k0, k1, data)
}

/// SipHash-2-4, the paper's standard parameters; kept to validate the core.
pub fn siphash24(key: &[u8; 16], data: &[u8]) -> u64 {
    let (k0, k1) = key_words(key);
    siphash::<2, 4, false>(k0, k1, data)
}

/// SipHash-1-2 with the key already split into words (the dict's hot path).
#[inline]
pub fn siphash12_words(k0: u64, k1: u64, data: &[u8]) -> u64 {
    siphash::<1, 2, false>(k0, k1, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ref_key() -> [u8; 16] {
        let mut k = [0u8; 16];
        for (i, b) in k.iter_mut().enumerate() {
            *b = i as u8;
        }
        k
    }

    #[test]
    fn siphash24_matches_reference_vectors() {
        let key = ref_key();
        let msg: Vec<u8> = (0u8..64).collect();
        // Appendix A of the SipHash paper: 15-byte message 00..0e.
        assert_eq!(siphash24(&key, &msg[..15]), 0xa129_ca61_49be_45e5);
        // The reference implementation's vectors.h, first entries.
        assert_eq!(siphash24(&key, &msg[..0]), 0x726f_db47_dd0e_0e31);
        assert_eq!(siphash24(&key, &msg[..1]), 0x74f8_39c5_93dc_67fd);
        assert_eq!(siphash24(&key, &msg[..2]), 0x0d6c_8009_d9a9_4f5a);
        assert_eq!(siphash24(&key, &msg[..8]), 0x93f5_f579_9a93_2462);
    }

    #[test]
    fn siphash12_is_deterministic_and_keyed() {
        let key = ref_key();
        let mut other = ref_key();
        other[0] ^= 1;
        for len in 0..40usize {
            let msg: Vec<u8> = (0..len as u8).collect();
            assert_eq!(siphash12(&key, &msg), siphash12(&key, &msg));
            assert_ne!(siphash12(&key, &msg), siphash12(&other, &msg));
            assert_ne!(siphash12(&key, &msg), siphash24(&key, &msg));
            let (k0, k1) = key_words(&key);
            assert_eq!(siphash12_words(k0, k1, &msg), siphash12(&key, &msg));
        }
    }

    #[test]
    fn siphash12_nocase_folds_ascii_only() {
        let key = ref_key();
        assert_eq!(siphash12_nocase(&key, b"HeLLo World 123"), siphash12(&key, b"hello world 123"));
        assert_eq!(siphash12_nocase(&key, b"GET"), siphash12_nocase(&key, b"get"));
        assert_ne!(siphash12_nocase(&key, b"\xc4"), siphash12(&key, b"\xe4"));
    }

    #[test]
    fn siphash12_spreads_low_bits() {
        // Dict buckets use the low bits: sequential keys must fill 256
        // buckets evenly (expected 100 each for 25600 keys).
        let key = ref_key();
        let mut counts = [0u32; 256];
        for i in 0..25_600u32 {
            let k = format!("key:{}", i);
            counts[(siphash12(&key, k.as_bytes()) & 255) as usize] += 1;
        }
        let min = counts.iter().min().copied().unwrap_or(0);
        let max = counts.iter().max().copied().unwrap_or(0);
        assert!(min > 50 && max < 150, "min {} max {}", min, max);
        // Flipping one input bit flips about half of the output bits.
        let mut total = 0u32;
        for i in 0..1000u32 {
            let a = i.to_le_bytes();
            let mut b = a;
            b[(i % 4) as usize] ^= 1 << (i % 8);
            total += (siphash12(&key, &a) ^ siphash12(&key, &b)).count_ones();
        }
        let avg = total as f64 / 1000.0;
        assert!((28.0..36.0).contains(&avg), "avg flipped bits {}", avg);
    }
}
