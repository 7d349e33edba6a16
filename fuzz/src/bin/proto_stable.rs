//! A stable-toolchain driver for the parser properties in
//! `oxredis_fuzz::check`, for machines without cargo-fuzz or nightly.
//!
//! Usage:
//!   proto_stable [SECONDS] [SEED]      run generated inputs for SECONDS (default 10)
//!   proto_stable --replay FILE...      run the check on saved inputs
//!
//! A failing input is written to artifacts/crash-<seed>-<n>.bin (replayable
//! by both this driver and `cargo fuzz run proto <file>`), and the driver
//! exits 1. Memory is checked too: the process RSS must stay under 256 MB.

use oxredis_fuzz::{check, generate, Rng};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

const RSS_LIMIT_KB: u64 = 256 * 1024;

fn rss_kb() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn replay(files: &[String]) -> i32 {
    let mut bad = 0;
    for f in files {
        match std::fs::read(f) {
            Ok(data) => {
                if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
                    eprintln!("FAIL: {}", f);
                    bad += 1;
                } else {
                    println!("ok: {}", f);
                }
            }
            Err(e) => {
                eprintln!("{}: {}", f, e);
                bad += 1;
            }
        }
    }
    if bad > 0 {
        1
    } else {
        0
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(|a| a == "--replay").unwrap_or(false) {
        std::process::exit(replay(&args[1..]));
    }
    let secs: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(10);
    let seed: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1)
    });
    println!("proto_stable: {} s, seed {}", secs, seed);
    // Keep panics quiet: a failure is reported once with its input.
    std::panic::set_hook(Box::new(|info| eprintln!("panic: {}", info)));
    let mut rng = Rng(seed);
    let start = Instant::now();
    let mut n: u64 = 0;
    let mut bytes: u64 = 0;
    while start.elapsed() < Duration::from_secs(secs) {
        let input = generate(&mut rng);
        bytes += input.len() as u64;
        if catch_unwind(AssertUnwindSafe(|| check(&input))).is_err() {
            let _ = std::fs::create_dir_all("artifacts");
            let path = format!("artifacts/crash-{}-{}.bin", seed, n);
            let _ = std::fs::write(&path, &input);
            eprintln!("FAIL after {} inputs; input saved to {}", n, path);
            std::process::exit(1);
        }
        n += 1;
        if n.is_multiple_of(4096) {
            if let Some(kb) = rss_kb() {
                if kb > RSS_LIMIT_KB {
                    eprintln!("FAIL: RSS {} KiB over {} KiB after {} inputs", kb, RSS_LIMIT_KB, n);
                    std::process::exit(1);
                }
            }
        }
    }
    println!("proto_stable: {} inputs, {} bytes, no failures (RSS {} KiB)", n, bytes, rss_kb().unwrap_or(0));
}
