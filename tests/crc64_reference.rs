//! CRC-64 against the reference `redis-server`: the last 8 bytes of every
//! DUMP payload are Redis's crc64 of the bytes before them, little-endian.
//! Payloads of every type and of many sizes must check with
//! `oxredis::crc64::crc64`, and a payload with one bit flipped must not.
//! Skipped with a message when redis-server is not installed.

mod common;

use common::{reference_or_skip, Reply};
use oxredis::crc64::crc64;

fn check(payload: &[u8]) -> bool {
    if payload.len() < 10 {
        return false;
    }
    let (body, trailer) = payload.split_at(payload.len() - 8);
    let mut t = [0u8; 8];
    t.copy_from_slice(trailer);
    crc64(0, body) == u64::from_le_bytes(t)
}

#[test]
fn dump_payload_checksums_match_redis() {
    let Some(reference) = reference_or_skip(&[]) else { return };
    let mut c = reference.conn();
    let mut keys = Vec::new();
    for (i, n) in [0usize, 1, 7, 8, 9, 15, 16, 17, 44, 45, 100, 1000, 4096, 70_000].iter().enumerate() {
        let k = format!("s{}", i);
        let v: Vec<u8> = (0..*n).map(|j| (j * 131 % 251) as u8).collect();
        assert_eq!(c.cmd(&[b"SET".as_ref(), k.as_bytes(), &v]), Reply::ok());
        keys.push(k);
    }
    for setup in [
        "SET n 12345",
        "RPUSH l a b c 1 2 3",
        "HSET h f1 v1 f2 v2",
        "SADD si 1 2 3 4",
        "SADD ss a b c",
        "ZADD z 1 a 2.5 b -3 c",
    ] {
        let args: Vec<&str> = setup.split(' ').collect();
        assert!(!c.cmd(&args).is_error(), "{}", setup);
        keys.push(args[1].to_string());
    }
    // Big ones in the non-compact encodings too.
    for i in 0..300 {
        c.cmd(&["HSET", "hbig", &format!("field{}", i), &format!("value{}", i)]);
        c.cmd(&["ZADD", "zbig", &i.to_string(), &format!("m{}", i)]);
        c.cmd(&["SADD", "sbig", &format!("m{}", i)]);
    }
    keys.extend(["hbig", "zbig", "sbig"].iter().map(|s| s.to_string()));
    for k in &keys {
        let Reply::Bulk(Some(p)) = c.cmd(&["DUMP", k]) else { panic!("DUMP {} gave no payload", k) };
        assert!(check(&p), "crc64 of DUMP {} ({} bytes) does not match Redis's trailer", k, p.len());
        let mut bad = p.clone();
        bad[0] ^= 1;
        assert!(!check(&bad), "a flipped bit went unnoticed for {}", k);
    }
}
