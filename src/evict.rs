//! Maxmemory and eviction (mirrors evict.c of Redis 6.2).
//!
//! With `maxmemory` set, every command first goes through
//! [`Server::perform_evictions`] (`processCommand`), and so does
//! `CONFIG SET maxmemory` (`updateMaxmemory`):
//!
//! 1. Memory is `used_memory` minus what eviction must not count: the AOF
//!    buffers (and, once they exist, replicas' output buffers), because
//!    evicting pushes DELs into them and counting them would feed back
//!    into more evictions (`freeMemoryGetNotCountedMemory`).
//! 2. Under the limit: nothing to do. Over it under `noeviction`: the
//!    result is [`EvictResult::Fail`], and `process_command` refuses
//!    commands flagged `denyoom` with `-OOM`.
//! 3. Otherwise keys are evicted one at a time until the bytes freed (the
//!    drop of `used_memory` across each delete) cover the excess:
//!    - LRU, LFU and volatile-ttl keep an *eviction pool* of
//!      [`EVPOOL_SIZE`] candidates sorted by score (idle time, 255 minus
//!      the LFU counter, or how soon the TTL ends), refilled from
//!      `maxmemory-samples` keys sampled in every db (`dictGetSomeKeys`
//!      on the main dict, or on the expires dict for `volatile-*`); the
//!      best candidate that still exists is evicted;
//!    - the random policies take a random key of the next db in turn.
//! 4. An evicted key is propagated as `DEL` (`UNLINK` with
//!    `lazyfree-lazy-eviction`), deleted, counted in `evicted_keys`,
//!    signalled as modified and notified as `evicted`.
//! 5. Every 16 keys the elapsed time is checked against the budget of
//!    `maxmemory-eviction-tenacity`; past it the loop stops and a time
//!    event (`evictionTimeProc`) goes on evicting from the event loop
//!    until memory is back under the limit. Meanwhile the result is
//!    [`EvictResult::Running`] and commands are not refused.
//!
//! Redis 7.0's INFO fields `total_eviction_exceeded_time` and
//! `current_eviction_exceeded_time` are kept too: the time spent over the
//! limit, measured from the first check that found memory over it to the
//! first that found it back under.

use crate::ae::AE_NOMORE;
use crate::client::{Client, CLIENT_MULTI};
use crate::commands::CMD_DENYOOM;
use crate::config::{
    MAXMEMORY_FLAG_ALLKEYS, MAXMEMORY_FLAG_LFU, MAXMEMORY_FLAG_LRU, MAXMEMORY_NO_EVICTION, MAXMEMORY_VOLATILE_TTL,
    NOTIFY_EVICTED,
};
use crate::object::{estimate_idle_time_ms, lfu_decr_and_return, lru_clock};
use crate::proto::Argv;
use crate::server::Server;

/// Candidates kept between calls (`EVPOOL_SIZE`).
pub const EVPOOL_SIZE: usize = 16;
/// Key bytes a pool entry keeps allocated for reuse (`EVPOOL_CACHED_SDS_SIZE`).
pub const EVPOOL_CACHED_SDS_SIZE: usize = 255;

/// The error of a `denyoom` command refused for memory (`shared.oomerr`).
pub const OOM_ERROR: &str = "-OOM command not allowed when used memory > 'maxmemory'.";

/// One eviction candidate (`evictionPoolEntry`). `used` false is Redis's
/// NULL key; `key` keeps its buffer either way, so refilling the pool
/// allocates nothing.
#[derive(Clone, Debug, Default)]
pub struct EvictionPoolEntry {
    /// The score: higher is a better candidate (idle ms, 255 - LFU
    /// counter, or `u64::MAX` - expire time).
    pub idle: u64,
    pub key: Vec<u8>,
    pub used: bool,
    pub dbid: usize,
}

/// What `perform_evictions` found (`EVICT_OK`, `EVICT_RUNNING`, `EVICT_FAIL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvictResult {
    /// Memory is under the limit, or evicting is not possible right now.
    Ok,
    /// Still over the limit, but the eviction time event goes on evicting.
    Running,
    /// Over the limit and nothing (more) can be evicted.
    Fail,
}

/// The eviction state of the server.
pub struct EvictState {
    /// Sorted by ascending `idle`; empty entries on the right.
    pub pool: Vec<EvictionPoolEntry>,
    /// The db the random policies visit next (`next_db`).
    next_db: usize,
    /// True while the eviction time event is registered
    /// (`isEvictionProcRunning`).
    pub proc_running: bool,
    /// The key being evicted, its buffer reused.
    bestkey: Vec<u8>,
    /// The DEL/UNLINK being propagated, its buffers reused.
    del_argv: Argv,
}

impl Default for EvictState {
    /// The pool with its key buffers allocated (`evictionPoolAlloc`).
    fn default() -> Self {
        let pool = (0..EVPOOL_SIZE)
            .map(|_| EvictionPoolEntry { key: Vec::with_capacity(EVPOOL_CACHED_SDS_SIZE), ..Default::default() })
            .collect();
        EvictState {
            pool,
            next_db: 0,
            proc_running: false,
            bestkey: Vec::with_capacity(EVPOOL_CACHED_SDS_SIZE),
            del_argv: Argv::new(),
        }
    }
}

/// Inserts a candidate into the pool, which stays sorted by ascending
/// score (the insertion step of `evictionPoolPopulate`): into a free
/// entry if there is one, else pushing out the worst candidate, unless
/// the new one is worse than all of them.
pub fn eviction_pool_insert(pool: &mut [EvictionPoolEntry], dbid: usize, key: &[u8], idle: u64) {
    let size = pool.len();
    let mut k = 0;
    while k < size && pool[k].used && pool[k].idle < idle {
        k += 1;
    }
    if k == 0 && pool[size - 1].used {
        // Worse than everything in a full pool.
        return;
    } else if k < size && !pool[k].used {
        // An empty entry right where it belongs.
    } else if !pool[size - 1].used {
        // Room on the right: shift k.. right; the free last entry (and
        // its buffer) comes round to k.
        pool[k..].rotate_right(1);
    } else {
        // Full: drop the worst (leftmost) and shift ..k left.
        k -= 1;
        pool[..=k].rotate_left(1);
    }
    let e = &mut pool[k];
    e.key.clear();
    if e.key.capacity() > EVPOOL_CACHED_SDS_SIZE && key.len() <= EVPOOL_CACHED_SDS_SIZE {
        // Don't keep a big key's buffer around for good.
        e.key.shrink_to(EVPOOL_CACHED_SDS_SIZE);
    }
    e.key.extend_from_slice(key);
    e.used = true;
    e.idle = idle;
    e.dbid = dbid;
}

/// The time budget of one eviction run, from `maxmemory-eviction-tenacity`
/// (`evictionTimeLimitUs`): 0..500 µs linearly up to 10, then +15% per
/// step (about 2 minutes at 99), no limit at 100.
pub fn eviction_time_limit_us(tenacity: i64) -> u64 {
    let t = tenacity.clamp(0, 100);
    if t <= 10 {
        50 * t as u64
    } else if t < 100 {
        (500.0 * 1.15f64.powf(t as f64 - 10.0)) as u64
    } else {
        u64::MAX
    }
}

/// CONFIG SET maxmemory (`updateMaxmemory`): warns when the new limit is
/// under the memory in use, then evicts at once.
pub fn apply_maxmemory(s: &mut Server) -> Result<(), String> {
    s.update_expand_memory_limit();
    let max = s.config.maxmemory;
    if max != 0 {
        let used = crate::zmalloc::used_memory().saturating_sub(s.free_memory_get_not_counted_memory());
        if (max as u64) < used as u64 {
            log::warn!(
                "WARNING: the new maxmemory value set via CONFIG SET ({}) is smaller than the current memory usage ({}). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy.",
                max,
                used
            );
        }
        s.perform_evictions();
    }
    Ok(())
}

impl Server {
    /// Memory that eviction does not count: the AOF buffer (and later
    /// replicas' output buffers and the AOF rewrite buffer)
    /// (`freeMemoryGetNotCountedMemory`).
    pub fn free_memory_get_not_counted_memory(&self) -> usize {
        // Replica output buffers join here with replication.
        self.aof_buffers_memory()
    }

    /// Gives the keyspace tables the current limit for their growth
    /// (see `dict::set_expand_memory_limit`).
    pub fn update_expand_memory_limit(&self) {
        crate::dict::set_expand_memory_limit(
            self.config.maxmemory.max(0) as usize,
            self.free_memory_get_not_counted_memory(),
        );
    }

    /// Where memory stands against `maxmemory` (`getMaxmemoryState`):
    /// None when under the limit (or no limit), else the bytes to free.
    pub fn get_maxmemory_state(&self) -> Option<usize> {
        let max = self.config.maxmemory;
        if max <= 0 {
            return None;
        }
        let max = max as u64;
        let reported = crate::zmalloc::used_memory();
        if reported as u64 <= max {
            return None;
        }
        let used = reported.saturating_sub(self.free_memory_get_not_counted_memory()) as u64;
        if used <= max {
            return None;
        }
        Some((used - max) as usize)
    }

    /// True when evicting is allowed now (`isSafeToPerformEvictions`):
    /// not while loading, not on a replica that ignores maxmemory, not
    /// while clients are paused (the dataset must stay still).
    fn is_safe_to_perform_evictions(&self) -> bool {
        if self.loading {
            return false;
        }
        if self.config.masterhost.is_some() && self.config.stored_bool("replica-ignore-maxmemory").unwrap_or(true) {
            return false;
        }
        if self.pause_type != crate::server::PauseType::Off && self.mstime < self.pause_end_ms {
            return false;
        }
        true
    }

    /// Brings memory back under `maxmemory` if it is over, evicting keys
    /// under the configured policy for at most the tenacity's time budget
    /// (`performEvictions`; see the module docs). Called before every
    /// command when maxmemory is set.
    pub fn perform_evictions(&mut self) -> EvictResult {
        self.update_expand_memory_limit();
        if !self.is_safe_to_perform_evictions() {
            return EvictResult::Ok;
        }
        let result = self.evict_until_under_limit();
        // How long memory stays over the limit (Redis 7.0's metrics).
        match result {
            EvictResult::Running | EvictResult::Fail => {
                if self.stats.last_eviction_exceeded_time.is_none() {
                    self.stats.last_eviction_exceeded_time = Some(crate::util::monotonic_us());
                }
            }
            EvictResult::Ok => {
                if let Some(t) = self.stats.last_eviction_exceeded_time.take() {
                    self.stats.total_eviction_exceeded_time += crate::util::monotonic_us().saturating_sub(t);
                }
            }
        }
        result
    }

    fn evict_until_under_limit(&mut self) -> EvictResult {
        let Some(mem_tofree) = self.get_maxmemory_state() else {
            return EvictResult::Ok;
        };
        let policy = self.config.maxmemory_policy;
        if policy == MAXMEMORY_NO_EVICTION {
            return EvictResult::Fail;
        }
        let time_limit_us = eviction_time_limit_us(self.config.maxmemory_eviction_tenacity);
        let lazy = self.config.lazyfree_lazy_eviction;
        let start = crate::util::monotonic_us();
        let mut mem_freed: i64 = 0;
        let mut keys_freed: u64 = 0;
        while mem_freed < mem_tofree as i64 {
            let Some(dbid) = self.select_eviction_victim(policy) else {
                // Nothing left to evict. (With lazy freeing, Redis waits
                // briefly here for pending background frees.)
                return EvictResult::Fail;
            };
            let key = std::mem::take(&mut self.evict.bestkey);
            self.propagate_deletion(dbid, &key, lazy);
            let before = crate::zmalloc::used_memory() as i64;
            self.delete_evicted_key(dbid, &key, lazy);
            mem_freed += before - crate::zmalloc::used_memory() as i64;
            self.stats.evictedkeys += 1;
            self.signal_modified_key(dbid, &key);
            self.notify_keyspace_event(NOTIFY_EVICTED, "evicted", &key, dbid);
            self.evict.bestkey = key;
            keys_freed += 1;
            if keys_freed.is_multiple_of(16) {
                // Memory freed by a background thread is not in the
                // deltas: look at the real figure from time to time.
                if lazy && self.get_maxmemory_state().is_none() {
                    break;
                }
                if crate::util::monotonic_us().saturating_sub(start) > time_limit_us {
                    // Still over: go on from the event loop.
                    self.start_eviction_time_proc();
                    break;
                }
            }
        }
        if self.evict.proc_running {
            EvictResult::Running
        } else {
            EvictResult::Ok
        }
    }

    /// Picks the next key to evict into `self.evict.bestkey` and returns
    /// its db, or None if no key can be evicted under `policy`.
    fn select_eviction_victim(&mut self, policy: i32) -> Option<usize> {
        let allkeys = policy & MAXMEMORY_FLAG_ALLKEYS != 0;
        let ndb = self.dbs.len();
        if policy & (MAXMEMORY_FLAG_LRU | MAXMEMORY_FLAG_LFU) != 0 || policy == MAXMEMORY_VOLATILE_TTL {
            loop {
                // Sample every db, so the choice is not local to one.
                let mut total_keys = 0;
                for i in 0..ndb {
                    let d = &self.dbs[i];
                    let keys = if allkeys { d.dict.len() } else { d.expires.len() };
                    if keys != 0 {
                        self.eviction_pool_populate(i, policy);
                        total_keys += keys;
                    }
                }
                if total_keys == 0 {
                    return None;
                }
                // From the best candidate down; entries whose key is gone
                // (ghosts) are dropped on the way.
                for k in (0..EVPOOL_SIZE).rev() {
                    let e = &mut self.evict.pool[k];
                    if !e.used {
                        continue;
                    }
                    let dbid = e.dbid;
                    let d = &self.dbs[dbid];
                    let exists = if allkeys { d.dict.contains_key(&e.key) } else { d.expires.contains_key(&e.key) };
                    e.used = false;
                    e.idle = 0;
                    if exists {
                        std::mem::swap(&mut e.key, &mut self.evict.bestkey);
                        return Some(dbid);
                    }
                }
            }
        } else {
            // volatile-random and allkeys-random: one db after the other.
            for _ in 0..ndb {
                self.evict.next_db = self.evict.next_db.wrapping_add(1);
                let j = self.evict.next_db % ndb;
                let d = &mut self.dbs[j];
                let picked = if allkeys {
                    d.dict.random_entry().map(|(k, _)| k)
                } else {
                    d.expires.random_entry().map(|(k, _)| k)
                };
                if let Some(k) = picked {
                    self.evict.bestkey.clear();
                    self.evict.bestkey.extend_from_slice(k);
                    return Some(j);
                }
            }
            None
        }
    }

    /// Samples `maxmemory-samples` keys of db `dbid` and offers each to
    /// the pool with its score (`evictionPoolPopulate`).
    fn eviction_pool_populate(&mut self, dbid: usize, policy: i32) {
        let samples = self.config.maxmemory_samples.max(1) as usize;
        let clock = lru_clock(self.mstime);
        let (unixtime, decay) = (self.unixtime, self.config.lfu_decay_time);
        let score = move |lru: u32| -> u64 {
            if policy & MAXMEMORY_FLAG_LRU != 0 {
                estimate_idle_time_ms(lru, clock)
            } else {
                // Least frequently used first: invert the counter.
                255 - lfu_decr_and_return(lru, unixtime, decay) as u64
            }
        };
        let pool = &mut self.evict.pool;
        let crate::db::Db { dict, expires, .. } = &mut self.dbs[dbid];
        if policy & MAXMEMORY_FLAG_ALLKEYS != 0 {
            dict.get_some_keys(samples, |k, o| eviction_pool_insert(pool, dbid, k, score(o.lru)));
        } else {
            let dict = &*dict;
            expires.get_some_keys(samples, |k, when| {
                let idle = if policy == MAXMEMORY_VOLATILE_TTL {
                    // The sooner it expires, the better.
                    u64::MAX - *when as u64
                } else {
                    match dict.get(k) {
                        Some(o) => score(o.lru),
                        None => return,
                    }
                };
                eviction_pool_insert(pool, dbid, k, idle);
            });
        }
    }

    /// Feeds the AOF (and later replicas) the deletion of an evicted key,
    /// before it is deleted, as `DEL` or, when it is freed lazily,
    /// `UNLINK` (`propagateExpire(db, key, lazyfree_lazy_eviction)`).
    fn propagate_deletion(&mut self, dbid: usize, key: &[u8], lazy: bool) {
        let mut argv = std::mem::take(&mut self.evict.del_argv);
        argv.clear();
        argv.push(if lazy { b"UNLINK" } else { b"DEL" });
        argv.push(key);
        self.propagate(dbid, &argv);
        self.evict.del_argv = argv;
    }

    /// Deletes an evicted key: `dbAsyncDelete` with
    /// lazyfree-lazy-eviction (a big value goes to the lazyfree thread),
    /// else `dbSyncDelete`.
    fn delete_evicted_key(&mut self, dbid: usize, key: &[u8], lazy: bool) {
        self.db_generic_delete(dbid, key, lazy);
    }

    /// Registers the eviction time event unless it already runs
    /// (`startEvictionTimeProc`).
    fn start_eviction_time_proc(&mut self) {
        if !self.evict.proc_running {
            self.evict.proc_running = true;
            self.el.create_time_event(0, crate::ae::TimeProc::Eviction);
        }
    }

    /// The eviction time event (`evictionTimeProc`): evicts again on
    /// every loop iteration until memory is under the limit or nothing
    /// is left to evict. Returns the delay to the next run or AE_NOMORE.
    pub fn eviction_time_proc(&mut self) -> i64 {
        if self.perform_evictions() == EvictResult::Running {
            return 0;
        }
        self.evict.proc_running = false;
        AE_NOMORE
    }

    /// The maxmemory step of `processCommand`: evicts what is needed, and
    /// says whether the command must be refused with [`OOM_ERROR`]:
    /// memory is still over the limit with nothing to evict, and the
    /// command may use memory (`denyoom`), or the client is queuing a
    /// transaction (anything but EXEC, DISCARD and RESET).
    pub fn maxmemory_rejects_command(&mut self, c: &Client, idx: usize, flags: u64) -> bool {
        if self.perform_evictions() != EvictResult::Fail {
            return false;
        }
        flags & CMD_DENYOOM != 0
            || (c.flags & CLIENT_MULTI != 0 && !matches!(self.commands.cmds[idx].name, "exec" | "discard" | "reset"))
    }

    /// INFO stats' eviction times in ms: total over the limit, and of the
    /// current stretch (0 when under the limit).
    pub fn eviction_exceeded_time_ms(&self) -> (u64, u64) {
        let current = self
            .stats
            .last_eviction_exceeded_time
            .map(|t| crate::util::monotonic_us().saturating_sub(t))
            .unwrap_or(0);
        ((self.stats.total_eviction_exceeded_time + current) / 1000, current / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> Vec<EvictionPoolEntry> {
        EvictState::default().pool
    }

    fn idles(p: &[EvictionPoolEntry]) -> Vec<Option<u64>> {
        p.iter().map(|e| if e.used { Some(e.idle) } else { None }).collect()
    }

    #[test]
    fn pool_stays_sorted_with_free_entries_on_the_right() {
        let mut p = pool();
        for (i, idle) in [50u64, 10, 30, 40, 20].iter().enumerate() {
            eviction_pool_insert(&mut p, i, format!("k{}", idle).as_bytes(), *idle);
        }
        let got: Vec<u64> = p.iter().take_while(|e| e.used).map(|e| e.idle).collect();
        assert_eq!(got, vec![10, 20, 30, 40, 50]);
        assert!(p[5..].iter().all(|e| !e.used));
        assert_eq!(p[4].key, b"k50");
        assert_eq!(p[4].dbid, 0);
        assert_eq!(p[0].key, b"k10");
        assert_eq!(p[0].dbid, 1);
    }

    #[test]
    fn full_pool_drops_the_worst_and_refuses_worse_candidates() {
        let mut p = pool();
        for idle in 1..=EVPOOL_SIZE as u64 {
            eviction_pool_insert(&mut p, 0, format!("k{}", idle * 10).as_bytes(), idle * 10);
        }
        assert!(p.iter().all(|e| e.used));
        // Worse than the worst: refused.
        eviction_pool_insert(&mut p, 0, b"low", 5);
        assert_eq!(p[0].idle, 10);
        assert!(p.iter().all(|e| e.key != b"low"));
        // In the middle: the worst (10) goes, the rest shifts left.
        eviction_pool_insert(&mut p, 3, b"mid", 35);
        let got: Vec<u64> = p.iter().map(|e| e.idle).collect();
        let mut want: Vec<u64> = (2..=EVPOOL_SIZE as u64).map(|i| i * 10).collect();
        want.insert(2, 35);
        assert_eq!(got, want);
        assert_eq!(p[2].key, b"mid");
        assert_eq!(p[2].dbid, 3);
        // Better than the best: at the right end.
        eviction_pool_insert(&mut p, 0, b"top", 1000);
        assert_eq!(p[EVPOOL_SIZE - 1].key, b"top");
        assert_eq!(p[0].idle, 30);
    }

    #[test]
    fn equal_scores_go_left_of_existing_ones() {
        let mut p = pool();
        eviction_pool_insert(&mut p, 0, b"a", 7);
        eviction_pool_insert(&mut p, 0, b"b", 7);
        assert_eq!(idles(&p)[..3], [Some(7), Some(7), None]);
        // Redis stops at the first entry that is not smaller: the newer
        // candidate sits left of the older one.
        assert_eq!(p[0].key, b"b");
        assert_eq!(p[1].key, b"a");
    }

    #[test]
    fn pool_key_buffers_are_reused() {
        let mut p = pool();
        let ptrs: Vec<*const u8> = p.iter().map(|e| e.key.as_ptr()).collect();
        for i in 0..100u64 {
            eviction_pool_insert(&mut p, 0, format!("key:{}", i * 7919 % 101).as_bytes(), i * 7919 % 101);
        }
        let mut after: Vec<*const u8> = p.iter().map(|e| e.key.as_ptr()).collect();
        let mut before = ptrs;
        before.sort();
        after.sort();
        assert_eq!(before, after, "inserting must only move the preallocated buffers around");
        // A big key's buffer is not kept once a small key takes its place.
        let mut p = pool();
        eviction_pool_insert(&mut p, 0, &[b'x'; 4096], 1);
        p[0].used = false;
        eviction_pool_insert(&mut p, 0, b"small", 1);
        assert!(p[0].key.capacity() <= 4096);
        assert!(p[0].key.capacity() >= 5);
    }

    /// A deterministic uniform [0, 1) source for the LFU tests.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn counter_after(hits: u32, log_factor: i64, seed: u64) -> u32 {
        let mut rng = Rng(seed);
        let mut c = crate::object::LFU_INIT_VAL;
        for _ in 0..hits {
            c = crate::object::lfu_log_incr(c, log_factor, rng.next());
        }
        c
    }

    #[test]
    fn lfu_counter_grows_as_redis_conf_documents() {
        // redis.conf's table for lfu-log-factor: hits -> counter.
        for seed in [1, 0x9e37_79b9_7f4a_7c15, 42] {
            assert!((8..=12).contains(&counter_after(100, 10, seed)));
            assert!((16..=23).contains(&counter_after(1000, 10, seed)));
            assert!((130..=160).contains(&counter_after(100_000, 10, seed)));
            assert_eq!(counter_after(1_000_000, 10, seed), 255);
            assert!((40..=58).contains(&counter_after(1000, 1, seed)));
            assert_eq!(counter_after(100_000, 1, seed), 255);
            assert!((90..=115).contains(&counter_after(100, 0, seed)));
            assert!((42..=58).contains(&counter_after(100_000, 100, seed)));
        }
    }

    #[test]
    fn lfu_decay_counts_whole_periods_and_wraps_with_the_minute_clock() {
        use crate::object::{lfu_decr_and_return, lfu_time_in_minutes};
        let lru = |minute: u32, counter: u32| (minute << 8) | counter;
        let at = |minute: i64| minute * 60;
        // lfu-decay-time 2: one step per two whole minutes.
        assert_eq!(lfu_decr_and_return(lru(100, 20), at(101), 2), 20);
        assert_eq!(lfu_decr_and_return(lru(100, 20), at(102), 2), 19);
        assert_eq!(lfu_decr_and_return(lru(100, 20), at(107), 2), 17);
        // Never below zero.
        assert_eq!(lfu_decr_and_return(lru(100, 3), at(200), 1), 0);
        // The 16-bit minute clock wrapped once since the last decrement.
        assert_eq!(lfu_time_in_minutes(at(65536 + 4)), 4);
        assert_eq!(lfu_decr_and_return(lru(65530, 30), at(65536 + 4), 1), 30 - (65535 - 65530 + 4));
        // The eviction score inverts the counter: rarely used scores high.
        assert!(255 - lfu_decr_and_return(lru(100, 5), at(100), 1) > 255 - lfu_decr_and_return(lru(100, 50), at(100), 1));
    }

    #[test]
    fn time_limit_follows_tenacity() {
        assert_eq!(eviction_time_limit_us(0), 0);
        assert_eq!(eviction_time_limit_us(1), 50);
        assert_eq!(eviction_time_limit_us(10), 500);
        assert_eq!(eviction_time_limit_us(11), 575);
        assert_eq!(eviction_time_limit_us(20), (500.0 * 1.15f64.powi(10)) as u64);
        // About two minutes at 99.
        let t99 = eviction_time_limit_us(99);
        assert!((100_000_000..150_000_000).contains(&t99), "{}", t99);
        assert_eq!(eviction_time_limit_us(100), u64::MAX);
    }
}
