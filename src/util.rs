//! Small helpers shared by every subsystem; mirrors Redis's util.c.
//!
//! Integer parsing here is strict in Redis's way (`string2ll`): no leading
//! spaces or `+`, no leading zeros, no overflow. Glob matching is
//! `stringmatchlen`, used by KEYS, SCAN MATCH, CONFIG GET and PSUBSCRIBE.

use std::time::{SystemTime, UNIX_EPOCH};

/// Parses a signed 64-bit integer exactly as Redis's `string2ll` does.
/// Returns `None` for anything Redis would refuse: empty input, a sign
/// without digits, leading zeros, spaces, or a value that overflows.
pub fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s.len() == 1 && s[0] == b'0' {
        return Some(0);
    }
    let (neg, digits) = if s[0] == b'-' { (true, &s[1..]) } else { (false, s) };
    if digits.is_empty() || digits[0] < b'1' || digits[0] > b'9' {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((d - b'0') as u64)?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else if v > i64::MAX as u64 {
        None
    } else {
        Some(v as i64)
    }
}

/// Like `string2ll` but for configuration and protocol text that is
/// already known to be UTF-8.
pub fn str2ll(s: &str) -> Option<i64> {
    string2ll(s.as_bytes())
}

/// Parses a long double the way Redis's `string2ld`/`strtold` callers
/// accept it: no spaces, no empty string, `inf`/`-inf` allowed, NaN refused.
pub fn string2d(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s[0].is_ascii_whitespace() || s[s.len() - 1].is_ascii_whitespace() {
        return None;
    }
    let t = std::str::from_utf8(s).ok()?;
    let v = match t.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => t.parse::<f64>().ok()?,
    };
    if v.is_nan() {
        None
    } else {
        Some(v)
    }
}

/// Parses a memory amount from the configuration: a plain number or a
/// number followed by b, k, kb, m, mb, g, gb (case-insensitive); k is 1000
/// and kb is 1024, as in redis.conf. Negative values are allowed (some
/// options use -1), units are not allowed with a sign-only number.
pub fn memtoll(s: &str) -> Option<i64> {
    let lower = s.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '-'))
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(split);
    let mul: i64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    let n: i64 = num.parse().ok()?;
    n.checked_mul(mul)
}

/// Glob-style matching with `*`, `?`, `[...]` (with `^` negation and
/// ranges) and `\` escapes: Redis's `stringmatchlen`.
pub fn string_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    string_match_impl(pattern, string, nocase, &mut skip_longer, 0)
}

fn eq_byte(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

fn string_match_impl(
    mut p: &[u8],
    mut s: &[u8],
    nocase: bool,
    skip_longer: &mut bool,
    nesting: usize,
) -> bool {
    // Protects against patterns like "*a*a*a*..." blowing the stack.
    if nesting > 1000 {
        return false;
    }
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                while !s.is_empty() {
                    if string_match_impl(&p[1..], s, nocase, skip_longer, nesting + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    s = &s[1..];
                }
                *skip_longer = true;
                return false;
            }
            b'?' => {
                s = &s[1..];
            }
            b'[' => {
                p = &p[1..];
                let not = !p.is_empty() && p[0] == b'^';
                if not {
                    p = &p[1..];
                }
                let mut matched = false;
                loop {
                    if p.is_empty() {
                        break;
                    }
                    if p[0] == b'\\' && p.len() >= 2 {
                        p = &p[1..];
                        if p[0] == s[0] {
                            matched = true;
                        }
                    } else if p[0] == b']' {
                        break;
                    } else if p.len() >= 3 && p[1] == b'-' {
                        // Redis compares C `char`s, signed on x86: a byte
                        // >= 0x80 sorts below '\0' in a range.
                        let lower = |b: i8| if b >= 0 { (b as u8).to_ascii_lowercase() as i8 } else { b };
                        let (mut start, mut end) = (p[0] as i8, p[2] as i8);
                        let mut c = s[0] as i8;
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        if nocase {
                            start = lower(start);
                            end = lower(end);
                            c = lower(c);
                        }
                        p = &p[2..];
                        if c >= start && c <= end {
                            matched = true;
                        }
                    } else if eq_byte(p[0], s[0], nocase) {
                        matched = true;
                    }
                    p = &p[1..];
                }
                if p.is_empty() {
                    // Unterminated class: Redis treats the end as the class end
                    // and steps back so the outer loop ends.
                    let m = if not { !matched } else { matched };
                    if !m {
                        return false;
                    }
                    s = &s[1..];
                    return s.is_empty();
                }
                let m = if not { !matched } else { matched };
                if !m {
                    return false;
                }
                s = &s[1..];
            }
            b'\\' if p.len() >= 2 => {
                p = &p[1..];
                if !eq_byte(p[0], s[0], nocase) {
                    return false;
                }
                s = &s[1..];
            }
            c => {
                if !eq_byte(c, s[0], nocase) {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];
        if s.is_empty() {
            while !p.is_empty() && p[0] == b'*' {
                p = &p[1..];
            }
            break;
        }
    }
    p.is_empty() && s.is_empty()
}

/// Microseconds since the Unix epoch (Redis's `ustime`).
pub fn ustime() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_micros() as i64,
        Err(_) => 0,
    }
}

/// Milliseconds since the Unix epoch (Redis's `mstime`).
pub fn mstime() -> i64 {
    ustime() / 1000
}

/// Microseconds from a monotonic clock, for durations only.
pub fn monotonic_us() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own; CLOCK_MONOTONIC
    // is always available on Linux.
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts);
    }
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1000
}

/// Formats a byte count the way INFO's `*_human` fields do (`bytesToHuman`).
pub fn bytes_to_human(n: u64) -> String {
    let n = n as f64;
    const K: f64 = 1024.0;
    if n < K {
        format!("{}B", n as u64)
    } else if n < K * K {
        format!("{:.2}K", n / K)
    } else if n < K * K * K {
        format!("{:.2}M", n / (K * K))
    } else if n < K * K * K * K {
        format!("{:.2}G", n / (K * K * K))
    } else if n < K * K * K * K * K {
        format!("{:.2}T", n / (K * K * K * K))
    } else if n < K * K * K * K * K * K {
        format!("{:.2}P", n / (K * K * K * K * K))
    } else {
        format!("{}B", n as u64)
    }
}

/// Quotes a byte string for display as Redis's `sdscatrepr` does (used by
/// MONITOR, CLIENT LIST and CONFIG REWRITE).
pub fn repr(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for &c in s {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            c if c.is_ascii_graphic() || c == b' ' => out.push(c as char),
            c => out.push_str(&format!("\\x{:02x}", c)),
        }
    }
    out.push('"');
    out
}

/// 40 random hex characters, as Redis's `run_id`.
pub fn random_hex(len: usize) -> String {
    let mut buf = vec![0u8; len / 2 + 1];
    let mut filled = false;
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        filled = f.read_exact(&mut buf).is_ok();
    }
    if !filled {
        let mut x = ustime() as u64 ^ (std::process::id() as u64) << 32;
        for b in buf.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
    }
    let mut s = String::with_capacity(len);
    for b in buf {
        s.push_str(&format!("{:02x}", b));
    }
    s.truncate(len);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string2ll_is_strict() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-1"), Some(-1));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(string2ll(b"9223372036854775808"), None);
        assert_eq!(string2ll(b"01"), None);
        assert_eq!(string2ll(b"+1"), None);
        assert_eq!(string2ll(b" 1"), None);
        assert_eq!(string2ll(b"-"), None);
        assert_eq!(string2ll(b"-0"), None);
        assert_eq!(string2ll(b""), None);
        assert_eq!(string2ll(b"12a"), None);
    }

    #[test]
    fn memtoll_units() {
        assert_eq!(memtoll("1k"), Some(1000));
        assert_eq!(memtoll("1KB"), Some(1024));
        assert_eq!(memtoll("5mb"), Some(5 * 1024 * 1024));
        assert_eq!(memtoll("1gb"), Some(1 << 30));
        assert_eq!(memtoll("1G"), Some(1_000_000_000));
        assert_eq!(memtoll("100"), Some(100));
        assert_eq!(memtoll("-1"), Some(-1));
        assert_eq!(memtoll("1x"), None);
        assert_eq!(memtoll("mb"), None);
    }

    #[test]
    fn glob() {
        assert!(string_match(b"*", b"anything", false));
        assert!(string_match(b"h?llo", b"hello", false));
        assert!(string_match(b"h[ae]llo", b"hallo", false));
        assert!(!string_match(b"h[^e]llo", b"hello", false));
        assert!(string_match(b"h[a-b]llo", b"hbllo", false));
        assert!(string_match(b"*max*", b"maxmemory", false));
        assert!(string_match(b"MAX*", b"maxclients", true));
        assert!(!string_match(b"MAX*", b"maxclients", false));
        assert!(string_match(b"a\\*b", b"a*b", false));
        assert!(!string_match(b"a*b", b"acbd", false));
        assert!(string_match(b"", b"", false));
        assert!(!string_match(b"*a*a*a*a*a*a*a*a*a*b", &[b'a'; 60], false));
    }

    #[test]
    fn human() {
        assert_eq!(bytes_to_human(1000), "1000B");
        assert_eq!(bytes_to_human(1024), "1.00K");
        assert_eq!(bytes_to_human(1536 * 1024), "1.50M");
    }
}

thread_local! {
    static RNG: std::cell::Cell<u64> = std::cell::Cell::new(0);
}

/// A fast process-local pseudo random number (xorshift64*), seeded from
/// the clock and pid on first use: for sampling and probabilistic
/// counters (Redis uses `rand()` for these), never for secrets.
pub fn random_u64() -> u64 {
    RNG.with(|r| {
        let mut x = r.get();
        if x == 0 {
            x = (ustime() as u64 ^ ((std::process::id() as u64) << 32)) | 1;
        }
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        r.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    })
}

/// A random float in [0, 1).
pub fn random_f64() -> f64 {
    (random_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// `strtod` over the whole of `s`, as Redis's `getDoubleFromObject` and
/// `zslParseRange` use it: C syntax (decimal, hex floats, `inf`,
/// `infinity`, any case), no leading space, nothing left over, no NaN, no
/// overflow, no underflow to zero. Denormal results are accepted.
pub fn strtod_exact(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s.len() > 4096 || is_c_space(s[0]) || s.contains(&0) {
        return None;
    }
    if let Some(v) = small_integer(s) {
        return Some(v);
    }
    // The common short number is copied into a small buffer: zeroing the
    // 4 KiB one on every call would cost more than the parse.
    if s.len() < 64 {
        let mut buf = [0u8; 64];
        buf[..s.len()].copy_from_slice(s);
        return strtod_nul(&buf, s.len());
    }
    let mut buf = [0u8; 4097];
    buf[..s.len()].copy_from_slice(s);
    strtod_nul(&buf, s.len())
}

/// An optional sign and 1 to 15 decimal digits, which is most scores:
/// below 10^15 < 2^53, so the integer is exactly a double and strtod
/// would give the very same value (`-0` included), without its cost.
fn small_integer(s: &[u8]) -> Option<f64> {
    let (neg, digits) = match s.first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 15 {
        return None;
    }
    let mut v = 0u64;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (d - b'0') as u64;
    }
    let v = v as f64;
    Some(if neg { -v } else { v })
}

/// `strtod` of the `len` bytes at the start of `buf`, which holds no NUL
/// before `len` and at least one after: None unless all of them are
/// consumed and the value is neither NaN nor out of range.
fn strtod_nul(buf: &[u8], len: usize) -> Option<f64> {
    if buf.get(len) != Some(&0) {
        return None;
    }
    let mut end: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: `buf[len]` is a NUL (checked above), so the string strtod
    // reads ends inside `buf`, which outlives the call; strtod only reads up to that NUL and writes
    // the end pointer into `end`. errno is thread-local.
    let (v, consumed, erange) = unsafe {
        *libc::__errno_location() = 0;
        let v = libc::strtod(buf.as_ptr() as *const libc::c_char, &mut end);
        let erange = *libc::__errno_location() == libc::ERANGE;
        (v, (end as usize).wrapping_sub(buf.as_ptr() as usize), erange)
    };
    if consumed != len || v.is_nan() || (erange && (v.is_infinite() || v == 0.0)) {
        return None;
    }
    Some(v)
}

/// C's `isspace` in the "C" locale.
pub fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// `printf("%.17g", v)`: how Redis 6.2 replies a double (`addReplyDouble`)
/// and writes one it cannot write as an integer.
pub fn fmt_g17(v: f64) -> String {
    let mut buf = [0u8; 64];
    String::from_utf8_lossy(fmt_g17_into(v, &mut buf)).into_owned()
}

/// `%.17g` of `v` written into `buf`, without allocating.
pub fn fmt_g17_into(v: f64, buf: &mut [u8; 64]) -> &[u8] {
    // SAFETY: snprintf writes at most buf.len() bytes including the NUL
    // and the format takes exactly one double.
    let n = unsafe {
        libc::snprintf(buf.as_mut_ptr() as *mut libc::c_char, buf.len(), b"%.17g\0".as_ptr() as *const libc::c_char, v)
    };
    let n = (n.max(0) as usize).min(buf.len() - 1);
    &buf[..n]
}

/// A double as Redis's `addReplyDouble` sends it in RESP2: `inf`, `-inf`,
/// otherwise `%.17g`.
pub fn reply_double_str(v: f64) -> String {
    let mut buf = [0u8; 64];
    String::from_utf8_lossy(reply_double_into(v, &mut buf)).into_owned()
}

/// As `reply_double_str`, written into `buf`, without allocating.
pub fn reply_double_into(v: f64, buf: &mut [u8; 64]) -> &[u8] {
    if v.is_infinite() {
        if v > 0.0 { b"inf" } else { b"-inf" }
    } else {
        fmt_g17_into(v, buf)
    }
}

/// Redis's `d2string`: `nan`, `inf`, `-inf`, `-0`/`0`, integral values
/// inside ±2^52 as integers, anything else `%.17g`. Sorted sets store
/// scores in ziplists this way.
pub fn d2string(v: f64) -> String {
    if v.is_nan() {
        "nan".to_string()
    } else if v.is_infinite() {
        if v < 0.0 { "-inf".to_string() } else { "inf".to_string() }
    } else if v == 0.0 {
        if v.is_sign_negative() { "-0".to_string() } else { "0".to_string() }
    } else if v > -4503599627370495.0 && v < 4503599627370496.0 && v == (v as i64) as f64 {
        itoa::Buffer::new().format(v as i64).to_string()
    } else {
        fmt_g17(v)
    }
}

#[cfg(test)]
mod double_tests {
    use super::*;

    #[test]
    fn strtod_exact_follows_c() {
        assert_eq!(strtod_exact(b"1.5"), Some(1.5));
        assert_eq!(strtod_exact(b"0x10"), Some(16.0));
        assert_eq!(strtod_exact(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(strtod_exact(b"+Infinity"), Some(f64::INFINITY));
        assert_eq!(strtod_exact(b"1e-320").map(|v| v > 0.0), Some(true));
        for bad in [&b""[..], b" 1", b"1 ", b"nan", b"1e400", b"1e-400", b"1x", b"1\x002", b"abc"] {
            assert_eq!(strtod_exact(bad), None, "{:?}", bad);
        }
    }

    /// The integer fast path gives exactly what strtod gives, sign of
    /// zero included, and leaves everything else to strtod.
    #[test]
    fn strtod_integer_fast_path_matches_strtod() {
        let via_strtod = |s: &[u8]| {
            let mut buf = [0u8; 64];
            buf[..s.len()].copy_from_slice(s);
            strtod_nul(&buf, s.len())
        };
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut cases: Vec<Vec<u8>> = ["0", "-0", "+0", "007", "-000000000000000", "999999999999999", "-999999999999999"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = 1 + (x % 15) as usize;
            let digits: String = (0..len).map(|i| char::from(b'0' + ((x >> (i * 4)) % 10) as u8)).collect();
            let sign = ["", "-", "+"][(x >> 60) as usize % 3];
            cases.push(format!("{}{}", sign, digits).into_bytes());
        }
        for s in &cases {
            let fast = small_integer(s);
            let slow = via_strtod(s);
            assert!(fast.is_some(), "{:?}", s);
            assert_eq!(fast.map(f64::to_bits), slow.map(f64::to_bits), "{:?}", String::from_utf8_lossy(s));
            assert_eq!(strtod_exact(s).map(f64::to_bits), slow.map(f64::to_bits));
        }
        for s in [&b"1234567890123456"[..], b"-", b"+", b"1.0", b"1e3", b"0x1", b"12a", b"--1", b"+-1", b" 1", b"inf"] {
            assert_eq!(small_integer(s), None, "{:?}", s);
        }
        assert_eq!(strtod_exact(b"1234567890123456789"), Some(1234567890123456789.0));
        assert_eq!(strtod_exact(b"-"), None);
        assert_eq!(strtod_exact(b"+"), None);
    }

    #[test]
    fn double_formats_are_c_formats() {
        assert_eq!(fmt_g17(1.1), "1.1000000000000001");
        assert_eq!(fmt_g17(3.0), "3");
        assert_eq!(fmt_g17(1e20), "1e+20");
        assert_eq!(reply_double_str(f64::NEG_INFINITY), "-inf");
        assert_eq!(d2string(3.0), "3");
        assert_eq!(d2string(-0.0), "-0");
        assert_eq!(d2string(1.5), "1.5");
        assert_eq!(d2string(4503599627370496.0), "4503599627370496");
        assert_eq!(d2string(1e300), "1.0000000000000001e+300");
    }
}

/// Characters of `v` in decimal, the sign included (`sdigits10`).
pub fn digits10(v: i64) -> usize {
    let sign = (v < 0) as usize;
    let mut u = v.unsigned_abs();
    let mut n = 1;
    while u >= 10 {
        u /= 10;
        n += 1;
    }
    n + sign
}

#[cfg(test)]
mod digits_tests {
    #[test]
    fn digits10_matches_formatting() {
        for v in [0, 9, 10, -1, -10, 99, 100, i64::MAX, i64::MIN, 123456789, -987654321012] {
            assert_eq!(super::digits10(v), v.to_string().len(), "{}", v);
        }
    }
}

/// A seeded xorshift64* generator for unit tests (no crates), so that a
/// failing seed replays.
#[cfg(test)]
pub(crate) struct TestRng(pub u64);

#[cfg(test)]
impl TestRng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in 0..n (0 for n = 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}
