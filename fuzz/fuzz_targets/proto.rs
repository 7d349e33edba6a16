//! libFuzzer target for the request parser: `cargo +nightly fuzz run proto`.
//! The properties checked are in `oxredis_fuzz::check` (fuzz/src/lib.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    oxredis_fuzz::check(data);
});
