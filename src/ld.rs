//! Long double arithmetic for INCRBYFLOAT and HINCRBYFLOAT.
//!
//! Redis adds in C `long double` and prints with `%.17Lf` minus trailing
//! zeros; f64 cannot reproduce that (0.1 + 0.2 prints as
//! 0.30000000000000004 in f64, 0.3 in Redis). The arithmetic lives in
//! src/ld.c, compiled by build.rs; this module is its safe face.

use std::os::raw::{c_char, c_long};

extern "C" {
    fn ox_ld_valid(s: *const c_char, slen: usize) -> i32;
    fn ox_ld_add(a: *const c_char, alen: usize, b: *const c_char, blen: usize, out: *mut c_char, outcap: usize) -> c_long;
}

/// Why a long double sum failed.
#[derive(Debug, PartialEq, Eq)]
pub enum LdError {
    /// The current value is not a number.
    BadValue,
    /// The increment is not a number.
    BadIncrement,
    /// The result would be NaN or infinite.
    NanOrInfinity,
}

/// True if `s` is a number Redis's `string2ld` accepts.
pub fn is_valid(s: &[u8]) -> bool {
    // SAFETY: the C function reads exactly `s.len()` bytes from `s`.
    unsafe { ox_ld_valid(s.as_ptr() as *const c_char, s.len()) == 1 }
}

/// `a + b` in long double, formatted as Redis's INCRBYFLOAT reply.
pub fn add(a: &[u8], b: &[u8]) -> Result<Vec<u8>, LdError> {
    let mut out = vec![0u8; 5 * 1024 + 64];
    // SAFETY: the C function reads a.len() and b.len() bytes from a and b
    // and writes at most out.len() bytes into out.
    let n = unsafe {
        ox_ld_add(
            a.as_ptr() as *const c_char,
            a.len(),
            b.as_ptr() as *const c_char,
            b.len(),
            out.as_mut_ptr() as *mut c_char,
            out.len(),
        )
    };
    match n {
        0 => Err(LdError::BadValue),
        -1 => Err(LdError::BadIncrement),
        n if n < 0 => Err(LdError::NanOrInfinity),
        n => {
            out.truncate(n as usize);
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_print_like_redis() {
        assert_eq!(add(b"0.1", b"0.2").unwrap(), b"0.3");
        assert_eq!(add(b"10.5", b"0.1").unwrap(), b"10.6");
        assert_eq!(add(b"5.0e3", b"2.0e2").unwrap(), b"5200");
        assert_eq!(add(b"1", b"-1").unwrap(), b"0");
        assert_eq!(add(b"-0.0", b"0").unwrap(), b"0");
        assert_eq!(add(b"abc", b"1"), Err(LdError::BadValue));
        assert_eq!(add(b"1", b" 1"), Err(LdError::BadIncrement));
        assert_eq!(add(b"1", b""), Err(LdError::BadIncrement));
        assert_eq!(add(b"1", b"nan"), Err(LdError::BadIncrement));
        assert_eq!(add(b"1e4932", b"1e4932"), Err(LdError::NanOrInfinity));
        assert!(add(b"1e4000", b"1e4932").unwrap().len() > 4900);
        assert!(is_valid(b"1.5"));
        assert!(!is_valid(b"1.5x"));
    }
}
