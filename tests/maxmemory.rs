//! maxmemory and eviction against the real binary: every policy evicts
//! only the keys it may (volatile-* only keys with a TTL, volatile-ttl the
//! soonest to expire first, LRU and LFU keep the keys in use), noeviction
//! refuses `denyoom` commands with -OOM while reads and deletes go on,
//! memory stays at the limit under a stream of writes, evictions reach the
//! AOF as DEL (UNLINK with lazyfree-lazy-eviction), CONFIG SET maxmemory
//! takes effect at once (with Redis's warning), and a run that exceeds its
//! time budget goes on from the event loop.

mod common;

use common::{Conn, Reply, Server, TempDir};
use std::time::Duration;

const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

fn info_field(c: &mut Conn, section: &str, name: &str) -> String {
    c.info_field(section, name)
}

fn info_int(c: &mut Conn, section: &str, name: &str) -> i64 {
    let v = info_field(c, section, name);
    v.parse().unwrap_or_else(|_| panic!("{} is not an integer: {:?}", name, v))
}

fn used_memory(c: &mut Conn) -> i64 {
    info_int(c, "memory", "used_memory")
}

fn evicted_keys(c: &mut Conn) -> i64 {
    info_int(c, "stats", "evicted_keys")
}

/// Sends every command, then reads every reply (one round trip per batch).
fn pipeline(c: &mut Conn, cmds: &[Vec<String>]) -> Vec<Reply> {
    let mut out = Vec::with_capacity(cmds.len());
    for chunk in cmds.chunks(500) {
        let mut bytes = Vec::new();
        for cmd in chunk {
            bytes.extend_from_slice(&Conn::encode(cmd));
        }
        c.send_raw(&bytes).unwrap_or_else(|e| panic!("send: {}", e));
        for _ in chunk {
            out.push(c.read_reply().unwrap_or_else(|e| panic!("read: {}", e)));
        }
    }
    out
}

fn value(n: usize) -> String {
    "v".repeat(n)
}

/// SETs `prefix:0..n` to `size`-byte values, with `EX ttl` when given.
fn fill(c: &mut Conn, prefix: &str, n: usize, size: usize, ttl: Option<u64>) {
    let v = value(size);
    let cmds: Vec<Vec<String>> = (0..n)
        .map(|i| {
            let mut cmd = vec!["SET".to_string(), format!("{}:{}", prefix, i), v.clone()];
            if let Some(t) = ttl {
                cmd.push("EX".into());
                cmd.push(t.to_string());
            }
            cmd
        })
        .collect();
    for r in pipeline(c, &cmds) {
        assert_eq!(r, Reply::ok());
    }
}

/// How many of `prefix:0..n` exist.
fn surviving(c: &mut Conn, prefix: &str, n: usize) -> usize {
    let mut cmd = vec!["EXISTS".to_string()];
    cmd.extend((0..n).map(|i| format!("{}:{}", prefix, i)));
    c.cmd(&cmd).int() as usize
}

fn set_maxmemory(c: &mut Conn, bytes: i64) {
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", &bytes.to_string()]), Reply::ok());
}

/// Memory at most this far above maxmemory right after a command: the
/// command's own allocations (INFO's reply) and allocator rounding.
const SLACK: i64 = 64 * 1024;

#[test]
fn noeviction_refuses_denyoom_commands_and_serves_the_rest() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    fill(&mut c, "k", 100, 100, None);
    c.q("RPUSH list a b c");
    set_maxmemory(&mut c, 1);
    assert!(srv.wait_log("WARNING: the new maxmemory value set via CONFIG SET (1) is smaller than the current memory usage", Duration::from_secs(2)));
    for cmd in [
        "SET k:0 x",
        "SET new x",
        "APPEND k:1 more",
        "INCR counter",
        "LPUSH list x",
        "SADD set m",
        "HSET h f v",
        "ZADD z 1 m",
        "SETRANGE k:2 0 abc",
    ] {
        assert_eq!(c.q(cmd), Reply::err(OOM), "{}", cmd);
    }
    // Reads, deletes and commands that free memory still run.
    assert_eq!(c.q("GET k:0"), Reply::bulk(&value(100)));
    assert_eq!(c.q("LRANGE list 0 -1").array().len(), 3);
    assert_eq!(c.q("DEL k:1"), Reply::Int(1));
    assert_eq!(c.q("UNLINK k:3"), Reply::Int(1));
    assert_eq!(c.q("LPOP list"), Reply::bulk("a"));
    assert_eq!(c.q("EXPIRE k:4 100"), Reply::Int(1));
    assert_eq!(c.q("PING"), Reply::Status("PONG".into()));
    assert_eq!(c.q("DBSIZE"), Reply::Int(99));
    assert_eq!(evicted_keys(&mut c), 0);
    // Refusals are counted as rejected calls and as OOM errors.
    let cmdstats = c.q("INFO commandstats").text();
    let set_line = cmdstats.lines().find(|l| l.starts_with("cmdstat_set:")).unwrap_or_default();
    assert!(set_line.starts_with("cmdstat_set:calls=100,") && set_line.contains("rejected_calls=2,"), "{}", cmdstats);
    let errstats = c.q("INFO errorstats").text();
    assert!(errstats.contains("errorstat_OOM:count=9"), "{}", errstats);
    // Over the limit since the first refusal.
    std::thread::sleep(Duration::from_millis(20));
    assert!(info_int(&mut c, "stats", "current_eviction_exceeded_time") >= 10);
    // Lifting the limit lets writes in again.
    set_maxmemory(&mut c, 0);
    assert_eq!(c.q("SET new x"), Reply::ok());
    assert_eq!(c.q("LPUSH list x"), Reply::Int(3));
}

#[test]
fn no_limit_when_maxmemory_is_zero_and_startup_warning_for_tiny_limits() {
    let srv = Server::start(&["--maxmemory", "1000", "--maxmemory-policy", "allkeys-lru"]);
    assert!(srv.wait_log(
        "WARNING: You specified a maxmemory value that is less than 1MB (current value is 1000 bytes). Are you sure this is what you really want?",
        Duration::from_secs(2)
    ));
    let mut c = srv.conn();
    // Nothing to evict: allkeys-lru has to refuse too.
    assert_eq!(c.q("SET a b"), Reply::err(OOM));
    assert_eq!(info_field(&mut c, "memory", "maxmemory"), "1000");
    assert_eq!(info_field(&mut c, "memory", "maxmemory_human"), "1000B");
    assert_eq!(info_field(&mut c, "memory", "maxmemory_policy"), "allkeys-lru");
    set_maxmemory(&mut c, 0);
    fill(&mut c, "k", 2000, 1000, None);
    assert_eq!(c.q("DBSIZE"), Reply::Int(2000));
    assert_eq!(evicted_keys(&mut c), 0);
}

/// Fills 200 keys without TTL and 2000 with one, then lowers maxmemory so
/// that about half the volatile data must go.
fn volatile_setup(policy: &str) -> (Server, Conn, i64) {
    let srv = Server::start(&["--maxmemory-policy", policy]);
    let mut c = srv.conn();
    fill(&mut c, "persist", 200, 1000, None);
    fill(&mut c, "vol", 2000, 1000, Some(100_000));
    let used = used_memory(&mut c);
    let max = used - 1024 * 1024;
    set_maxmemory(&mut c, max);
    (srv, c, max)
}

#[test]
fn volatile_policies_evict_only_keys_with_a_ttl() {
    for policy in ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"] {
        let (_srv, mut c, max) = volatile_setup(policy);
        assert_eq!(c.q("SET one more"), Reply::ok(), "{}", policy);
        let used = used_memory(&mut c);
        assert!(used <= max + SLACK, "{}: used {} max {}", policy, used, max);
        // Lift the limit so the counts below hold still.
        set_maxmemory(&mut c, 0);
        assert_eq!(surviving(&mut c, "persist", 200), 200, "{} evicted a key without TTL", policy);
        let vol = surviving(&mut c, "vol", 2000);
        assert!(vol < 1500 && vol > 500, "{}: {} volatile keys left", policy, vol);
        assert_eq!(evicted_keys(&mut c), 2000 - vol as i64, "{}", policy);
        // With every volatile key gone and still over the limit, there is
        // nothing left to evict: writes are refused.
        set_maxmemory(&mut c, 1);
        assert_eq!(surviving(&mut c, "vol", 2000), 0, "{}", policy);
        assert_eq!(surviving(&mut c, "persist", 200), 200, "{}", policy);
        assert_eq!(c.q("SET other x"), Reply::err(OOM), "{}", policy);
        assert_eq!(c.q("GET persist:7"), Reply::bulk(&value(1000)));
    }
}

#[test]
fn allkeys_policies_evict_any_key() {
    for policy in ["allkeys-lru", "allkeys-lfu", "allkeys-random"] {
        let srv = Server::start(&["--maxmemory-policy", policy]);
        let mut c = srv.conn();
        fill(&mut c, "persist", 1000, 1000, None);
        fill(&mut c, "vol", 1000, 1000, Some(100_000));
        let max = used_memory(&mut c) - 1024 * 1024;
        set_maxmemory(&mut c, max);
        assert!(used_memory(&mut c) <= max + SLACK, "{}", policy);
        set_maxmemory(&mut c, 0);
        let p = surviving(&mut c, "persist", 1000);
        let v = surviving(&mut c, "vol", 1000);
        assert!(p < 1000 && v < 1000, "{}: persist {} vol {}", policy, p, v);
        assert_eq!(evicted_keys(&mut c), (2000 - p - v) as i64);
        // Everything can go, and then even allkeys-* must refuse.
        set_maxmemory(&mut c, 1);
        assert_eq!(c.q("DBSIZE"), Reply::Int(0), "{}", policy);
        assert_eq!(c.q("SET x y"), Reply::err(OOM), "{}", policy);
    }
}

#[test]
fn evictions_sample_every_db() {
    let srv = Server::start(&["--maxmemory-policy", "allkeys-lru"]);
    let mut c = srv.conn();
    for db in ["0", "5", "15"] {
        c.cmd(&["SELECT", db]);
        fill(&mut c, "k", 500, 1000, None);
    }
    let max = used_memory(&mut c) - 768 * 1024;
    set_maxmemory(&mut c, max);
    set_maxmemory(&mut c, 0);
    let mut left = 0;
    for db in ["0", "5", "15"] {
        c.cmd(&["SELECT", db]);
        let n = c.q("DBSIZE").int();
        assert!(n < 500, "db {} kept all its keys", db);
        left += n;
    }
    assert_eq!(evicted_keys(&mut c), 1500 - left);
}

#[test]
fn volatile_ttl_evicts_the_soonest_to_expire_first() {
    let srv = Server::start(&["--maxmemory-policy", "volatile-ttl", "--maxmemory-samples", "10"]);
    let mut c = srv.conn();
    fill(&mut c, "late", 500, 1000, Some(500_000));
    fill(&mut c, "soon", 500, 1000, Some(1000));
    let max = used_memory(&mut c) - 256 * 1024;
    set_maxmemory(&mut c, max);
    set_maxmemory(&mut c, 0);
    let soon = surviving(&mut c, "soon", 500);
    let late = surviving(&mut c, "late", 500);
    assert!(soon < 400, "only {} of the soon-to-expire keys went", 500 - soon);
    assert!(late >= 495, "{} keys with a far TTL went first", 500 - late);
}

#[test]
fn allkeys_lru_keeps_recently_used_keys() {
    let srv = Server::start(&["--maxmemory-policy", "allkeys-lru"]);
    let mut c = srv.conn();
    fill(&mut c, "k", 1000, 1000, None);
    // The LRU clock ticks in seconds: let every key age, then touch half.
    std::thread::sleep(Duration::from_millis(2100));
    let gets: Vec<Vec<String>> = (0..500).map(|i| vec!["GET".to_string(), format!("k:{}", i)]).collect();
    pipeline(&mut c, &gets);
    assert_eq!(c.q("OBJECT IDLETIME k:0"), Reply::Int(0));
    assert!(c.q("OBJECT IDLETIME k:999").int() >= 2);
    let max = used_memory(&mut c) - 256 * 1024;
    set_maxmemory(&mut c, max);
    set_maxmemory(&mut c, 0);
    let evicted = evicted_keys(&mut c) as usize;
    assert!(evicted >= 150, "{}", evicted);
    let hot = surviving(&mut c, "k", 500);
    let cold = 1000 - evicted - hot;
    assert!(hot >= 490, "{} recently used keys evicted (of {})", 500 - hot, evicted);
    assert!(cold <= 500 - evicted + 10, "cold {}", cold);
}

#[test]
fn allkeys_lfu_keeps_frequently_used_keys() {
    let srv = Server::start(&["--maxmemory-policy", "allkeys-lfu"]);
    let mut c = srv.conn();
    fill(&mut c, "k", 1000, 1000, None);
    // Keys 0..100 are read 100 times each.
    let gets: Vec<Vec<String>> =
        (0..100 * 100).map(|i| vec!["GET".to_string(), format!("k:{}", i % 100)]).collect();
    pipeline(&mut c, &gets);
    let hot_freq = c.q("OBJECT FREQ k:1").int();
    let cold_freq = c.q("OBJECT FREQ k:500").int();
    assert_eq!(cold_freq, 5, "a new key starts at LFU_INIT_VAL");
    assert!(hot_freq > cold_freq + 2, "hot {} cold {}", hot_freq, cold_freq);
    let max = used_memory(&mut c) - 512 * 1024;
    set_maxmemory(&mut c, max);
    set_maxmemory(&mut c, 0);
    let evicted = evicted_keys(&mut c);
    assert!(evicted >= 400, "{}", evicted);
    assert!(surviving(&mut c, "k", 100) >= 98, "frequently used keys were evicted");
}

#[test]
fn memory_stays_at_the_limit_under_a_stream_of_sets() {
    let srv = Server::start(&["--maxmemory-policy", "allkeys-lru"]);
    let mut c = srv.conn();
    let max = used_memory(&mut c) + 4 * 1024 * 1024;
    set_maxmemory(&mut c, max);
    let v = value(100);
    let mut peak = 0;
    for batch in 0..60 {
        let cmds: Vec<Vec<String>> =
            (0..1000).map(|i| vec!["SET".to_string(), format!("key:{}:{}", batch, i), v.clone()]).collect();
        for r in pipeline(&mut c, &cmds) {
            assert_eq!(r, Reply::ok());
        }
        peak = peak.max(used_memory(&mut c));
    }
    assert!(peak <= max + SLACK, "used_memory reached {} with maxmemory {}", peak, max);
    assert_eq!(info_int(&mut c, "stats", "current_eviction_exceeded_time"), 0);
    set_maxmemory(&mut c, 0);
    let evicted = evicted_keys(&mut c);
    let dbsize = c.q("DBSIZE").int();
    assert!(evicted > 10_000, "{}", evicted);
    assert_eq!(evicted + dbsize, 60_000);
    // The latest writes are there.
    assert_eq!(c.q("GET key:59:999"), Reply::bulk(&v));
}

#[test]
fn evictions_reach_the_aof_as_del_or_unlink() {
    for (lazy, verb) in [("no", "DEL"), ("yes", "UNLINK")] {
        let data = TempDir::new("mm-aof");
        let dir = data.path.to_string_lossy().into_owned();
        let srv = Server::start(&[
            "--dir",
            &dir,
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--maxmemory-policy",
            "allkeys-random",
            "--lazyfree-lazy-eviction",
            lazy,
        ]);
        let mut c = srv.conn();
        c.q("SELECT 3");
        fill(&mut c, "k", 300, 1000, None);
        let used = used_memory(&mut c);
        let not_counted = info_int(&mut c, "memory", "mem_not_counted_for_evict");
        assert_eq!(not_counted, info_int(&mut c, "memory", "mem_aof_buffer"));
        set_maxmemory(&mut c, used - 128 * 1024);
        set_maxmemory(&mut c, 0);
        let evicted = evicted_keys(&mut c);
        assert!(evicted > 50, "{}", evicted);
        c.q("PING");
        let digest = c.q("DEBUG DIGEST").text();
        let aof = std::fs::read(data.join("appendonly.aof")).unwrap_or_default();
        let text = String::from_utf8_lossy(&aof);
        let dels = text.matches(&format!("${}\r\n{}\r\n", verb.len(), verb)).count() as i64;
        assert_eq!(dels, evicted, "{} evictions in the AOF", verb);
        drop(srv);
        // Replaying the file rebuilds exactly what survived.
        let srv = Server::start(&["--dir", &dir, "--appendonly", "yes"]);
        let mut c = srv.conn();
        assert_eq!(c.q("DEBUG DIGEST").text(), digest);
        c.q("SELECT 3");
        assert_eq!(c.q("DBSIZE").int(), 300 - evicted);
    }
}

#[test]
fn config_set_maxmemory_evicts_at_once_and_is_shown() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    fill(&mut c, "k", 2000, 1000, None);
    assert_eq!(c.q("CONFIG SET maxmemory-policy allkeys-lru"), Reply::ok());
    let max = used_memory(&mut c) - 1024 * 1024;
    set_maxmemory(&mut c, max);
    // CONFIG SET itself evicted, as Redis 6.2's updateMaxmemory does.
    assert!(evicted_keys(&mut c) > 500);
    assert!(used_memory(&mut c) <= max + SLACK);
    assert!(srv.wait_log("This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy.", Duration::from_secs(2)));
    assert_eq!(c.q("CONFIG GET maxmemory").array()[1], Reply::bulk(&max.to_string()));
    assert_eq!(info_int(&mut c, "memory", "maxmemory"), max);
    // Raising the limit stops evicting.
    set_maxmemory(&mut c, max + 64 * 1024 * 1024);
    let evicted = evicted_keys(&mut c);
    fill(&mut c, "more", 1000, 1000, None);
    assert_eq!(evicted_keys(&mut c), evicted);
    // Typed options with Redis's bounds.
    assert_eq!(c.q("CONFIG SET maxmemory-samples 10"), Reply::ok());
    assert_eq!(c.q("CONFIG GET maxmemory-samples").array()[1], Reply::bulk("10"));
    assert!(c.q("CONFIG SET maxmemory-samples 0").is_error());
    assert!(c.q("CONFIG SET maxmemory-eviction-tenacity 101").is_error());
    assert!(c.q("CONFIG SET maxmemory-policy lru-ish").is_error());
    assert_eq!(c.q("CONFIG RESETSTAT"), Reply::ok());
    assert_eq!(evicted_keys(&mut c), 0);
    assert_eq!(info_int(&mut c, "stats", "total_eviction_exceeded_time"), 0);
}

#[test]
fn a_run_out_of_time_goes_on_from_the_event_loop() {
    // Tenacity 0: a budget of 0 µs, so each run stops after 16 keys and
    // the eviction time event does the rest.
    let srv = Server::start(&["--maxmemory-policy", "allkeys-random", "--maxmemory-eviction-tenacity", "0"]);
    let mut c = srv.conn();
    fill(&mut c, "k", 20_000, 200, None);
    let max = used_memory(&mut c) - 3 * 1024 * 1024;
    set_maxmemory(&mut c, max);
    // Still evicting: writes are not refused meanwhile.
    assert_eq!(c.q("SET during x"), Reply::ok());
    // No commands now: only the time event can evict. The three commands
    // sent since CONFIG SET evicted at most 16 keys each.
    std::thread::sleep(Duration::from_millis(1500));
    let evicted = evicted_keys(&mut c);
    assert!(evicted > 1000, "{}", evicted);
    assert!(used_memory(&mut c) <= max + SLACK);
    assert_eq!(info_int(&mut c, "stats", "current_eviction_exceeded_time"), 0);
    // Under the limit the time event is gone: nothing more goes while
    // idle (the INFO below may evict one batch itself).
    std::thread::sleep(Duration::from_millis(200));
    assert!(evicted_keys(&mut c) - evicted <= 16);
    set_maxmemory(&mut c, 0);
    let evicted = evicted_keys(&mut c);
    assert_eq!(c.q("DBSIZE").int(), 20_001 - evicted);
}

#[test]
fn object_idletime_and_freq_follow_the_policy() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    c.q("SET k v");
    let not_lfu = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
    let lfu = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
    assert_eq!(c.q("OBJECT FREQ k"), Reply::err(not_lfu));
    assert_eq!(c.q("OBJECT IDLETIME k"), Reply::Int(0));
    assert_eq!(c.q("OBJECT IDLETIME nokey"), Reply::nil());
    c.q("CONFIG SET maxmemory-policy volatile-lfu");
    assert_eq!(c.q("OBJECT IDLETIME k"), Reply::err(lfu));
    c.q("SET fresh v");
    assert_eq!(c.q("OBJECT FREQ fresh"), Reply::Int(5));
    assert_eq!(c.q("OBJECT FREQ nokey"), Reply::nil());
    // Overwriting keeps the counter; reads raise it (logarithmically).
    let gets: Vec<Vec<String>> = (0..200).map(|_| vec!["GET".to_string(), "fresh".to_string()]).collect();
    pipeline(&mut c, &gets);
    let f = c.q("OBJECT FREQ fresh").int();
    assert!((8..=20).contains(&f), "{}", f);
    c.q("SET fresh w");
    let f2 = c.q("OBJECT FREQ fresh").int();
    assert!(f2 >= f && f2 <= f + 1, "{} then {}", f, f2);
    // OBJECT itself does not count as an access.
    for _ in 0..50 {
        c.q("OBJECT FREQ fresh");
    }
    assert_eq!(c.q("OBJECT FREQ fresh").int(), f2);
}

#[test]
fn evicting_allocates_nothing_per_key() {
    let srv = Server::start(&["--maxmemory-policy", "allkeys-lru"]);
    let mut c = srv.conn();
    fill(&mut c, "base", 5000, 100, None);
    let calls = |c: &mut Conn| c.q("DEBUG ALLOC-CALLS").int();
    // 2000 SETs of new keys with no limit...
    fill(&mut c, "warm", 2000, 100, None);
    let before = calls(&mut c);
    fill(&mut c, "a", 2000, 100, None);
    let no_limit = calls(&mut c) - before;
    // ...and with a limit that makes every SET evict about one key.
    let max = used_memory(&mut c);
    set_maxmemory(&mut c, max);
    fill(&mut c, "warm2", 2000, 100, None);
    let evicted_before = evicted_keys(&mut c);
    let before = calls(&mut c);
    fill(&mut c, "b", 2000, 100, None);
    let evicting = calls(&mut c) - before;
    assert!(evicted_keys(&mut c) - evicted_before >= 1900);
    assert!(no_limit >= 2000, "{}", no_limit);
    assert!(evicting <= no_limit + 100, "{} allocator calls while evicting, {} without", evicting, no_limit);
    // Reads under a limit that is not reached allocate nothing either.
    set_maxmemory(&mut c, max * 4);
    let gets: Vec<Vec<String>> = (0..2000).map(|i| vec!["GET".to_string(), format!("b:{}", i)]).collect();
    pipeline(&mut c, &gets);
    let before = calls(&mut c);
    pipeline(&mut c, &gets);
    let reads = calls(&mut c) - before;
    assert!(reads < 100, "{} allocator calls for 2000 GETs", reads);
}
