//! Active expiry and the databases cron (mirrors expire.c and
//! server.c's `databasesCron`).
//!
//! Lazy expiry (db.rs) only reclaims keys that are touched. The active
//! expire cycle reclaims the rest without blocking:
//! 1. Each call visits up to 16 databases round robin, resuming where the
//!    last call stopped.
//! 2. Per database it samples about 20 keys with a TTL (more with a higher
//!    `active-expire-effort`), walking the expires table with a SCAN
//!    cursor kept in the db, and deletes those whose time has passed.
//! 3. It repeats on the same database while more than 10 % of a sample
//!    was expired, i.e. while stale keys are likely still many.
//! 4. A slow cycle (from the cron) may use 25 % of a cron period; a fast
//!    cycle (from `before_sleep`) at most 1 ms, and runs only when the last
//!    cycle ran out of time, and never twice within two fast durations.
//! 5. Each sample also feeds the `avg_ttl` estimate of INFO keyspace, and
//!    the cycle keeps `expired_stale_perc`, the running share of expired
//!    keys among those sampled.
//!
//! The databases cron also shrinks sparse tables and, with
//! `activerehashing`, gives a table that is rehashing 1 ms per tick; both
//! only while no fork child runs, so that copy-on-write is not provoked.

use crate::db::Db;
use crate::dict::{self, DICT_HT_INITIAL_SIZE};
use crate::server::Server;
use crate::util::{mstime, ustime};

/// Databases visited per call (`CRON_DBS_PER_CALL`).
const CRON_DBS_PER_CALL: usize = 16;
/// Keys sampled per database per loop at effort 1.
const KEYS_PER_LOOP: i64 = 20;
/// Microseconds a fast cycle may take at effort 1.
const FAST_DURATION: i64 = 1000;
/// Share of a cron period (percent) a slow cycle may take at effort 1.
const SLOW_TIME_PERC: i64 = 25;
/// Percent of expired keys in a sample below which a db is left alone.
const ACCEPTABLE_STALE: i64 = 10;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CycleType {
    Fast,
    Slow,
}

/// What the expire cycle and the databases cron remember between calls.
#[derive(Default, Debug)]
pub struct ExpireState {
    /// Next database the expire cycle visits.
    pub current_db: usize,
    /// The last cycle stopped because it ran out of time.
    pub timelimit_exit: bool,
    /// Start (µs) of the last fast cycle.
    pub last_fast_cycle: i64,
    /// Next databases to try shrinking and rehashing.
    pub resize_db: usize,
    pub rehash_db: usize,
}

/// What one sampling pass over a database found.
#[derive(Default)]
struct Sample {
    sampled: i64,
    expired: Vec<Box<[u8]>>,
    ttl_sum: i64,
    ttl_samples: i64,
}

/// Samples up to `num` keys of `db`'s expires table, visiting at most
/// `num * 20` buckets from the db's cursor; keys whose time is before
/// `now` are returned for deletion.
fn sample_expires(db: &mut Db, num: usize, now: i64) -> Sample {
    let mut s = Sample::default();
    let max_buckets = num * 20;
    let mut checked_buckets = 0;
    while (s.sampled as usize) < num && checked_buckets < max_buckets {
        let cursor = db.expires_cursor;
        db.expires_cursor = db.expires.scan(cursor, |k, &when| {
            s.sampled += 1;
            if now > when {
                s.expired.push(k.clone());
            } else {
                s.ttl_sum += when - now;
                s.ttl_samples += 1;
            }
        });
        checked_buckets += 1;
    }
    s
}

impl Server {
    /// One active expire cycle (`activeExpireCycle`).
    pub fn active_expire_cycle(&mut self, kind: CycleType) {
        let effort = self.config.active_expire_effort.clamp(1, 10) - 1;
        let keys_per_loop = (KEYS_PER_LOOP + KEYS_PER_LOOP / 4 * effort) as usize;
        let fast_duration = FAST_DURATION + FAST_DURATION / 4 * effort;
        let slow_time_perc = SLOW_TIME_PERC + 2 * effort;
        let acceptable_stale = ACCEPTABLE_STALE - effort;

        let start = ustime();
        if kind == CycleType::Fast {
            // Redis compares the stale fraction (0..1) with a percentage
            // here, so in practice a fast cycle only follows a cycle that
            // ran out of time; kept as is to behave the same.
            if !self.expire.timelimit_exit && self.stats.expired_stale_perc < acceptable_stale as f64 {
                return;
            }
            if start < self.expire.last_fast_cycle + fast_duration * 2 {
                return;
            }
            self.expire.last_fast_cycle = start;
        }
        let dbnum = self.dbs.len();
        let mut dbs_per_call = CRON_DBS_PER_CALL;
        if dbs_per_call > dbnum || self.expire.timelimit_exit {
            dbs_per_call = dbnum;
        }
        let mut timelimit = slow_time_perc * 1_000_000 / self.hz.max(1) / 100;
        if timelimit <= 0 {
            timelimit = 1;
        }
        if kind == CycleType::Fast {
            timelimit = fast_duration;
        }
        self.expire.timelimit_exit = false;

        let mut total_sampled = 0i64;
        let mut total_expired = 0i64;
        let mut iteration = 0u64;
        for _ in 0..dbs_per_call {
            if self.expire.timelimit_exit {
                break;
            }
            let id = self.expire.current_db % dbnum;
            self.expire.current_db = self.expire.current_db.wrapping_add(1);
            loop {
                iteration += 1;
                let db = &mut self.dbs[id];
                let num = db.expires.len();
                if num == 0 {
                    db.avg_ttl = 0;
                    break;
                }
                // Too sparse to sample cheaply: wait for the cron to shrink it.
                let slots = db.expires.slots();
                if slots > DICT_HT_INITIAL_SIZE && num * 100 / slots < 1 {
                    break;
                }
                let now = mstime();
                let sample = sample_expires(db, num.min(keys_per_loop), now);
                if sample.ttl_samples > 0 {
                    let avg = sample.ttl_sum / sample.ttl_samples;
                    db.avg_ttl = if db.avg_ttl == 0 { avg } else { db.avg_ttl / 50 * 49 + avg / 50 };
                }
                let expired = sample.expired.len() as i64;
                for key in sample.expired {
                    // Re-check: an entry can be sampled twice in one pass.
                    if self.dbs[id].get_expire(&key).is_some_and(|w| now > w) {
                        self.delete_expired_key_and_propagate(id, &key);
                    }
                }
                total_expired += expired;
                total_sampled += sample.sampled;
                if iteration & 0xf == 0 && ustime() - start > timelimit {
                    self.expire.timelimit_exit = true;
                    self.stats.expired_time_cap_reached_count += 1;
                    break;
                }
                if !(sample.sampled == 0 || expired * 100 / sample.sampled > acceptable_stale) {
                    break;
                }
            }
        }
        let elapsed = ustime() - start;
        self.stats.expire_cycle_time_used += elapsed.max(0) as u64;
        self.latency_add_sample_if_needed("expire-cycle", elapsed.max(0) as u64 / 1000);
        let current_perc = if total_sampled > 0 { total_expired as f64 / total_sampled as f64 } else { 0.0 };
        self.stats.expired_stale_perc = current_perc * 0.05 + self.stats.expired_stale_perc * 0.95;
    }

    /// Deletes a key whose time has passed, counting and propagating it
    /// (`deleteExpiredKeyAndPropagate`).
    pub fn delete_expired_key_and_propagate(&mut self, db: usize, key: &[u8]) {
        let lazy = self.config.lazyfree_lazy_expire;
        self.db_generic_delete(db, key, lazy);
        self.stats.expiredkeys += 1;
        self.propagate_expire(db, key);
        self.notify_keyspace_event(crate::config::NOTIFY_EXPIRED, "expired", key, db);
        self.signal_modified_key(db, key);
    }

    /// The keyspace part of the cron (`databasesCron`).
    pub fn databases_cron(&mut self) {
        if self.loading {
            return;
        }
        if self.active_expire_enabled {
            self.active_expire_cycle(CycleType::Slow);
        }
        let child = self.has_active_child_process();
        dict::set_resize_allowed(!child);
        if child {
            return;
        }
        let dbnum = self.dbs.len();
        let dbs_per_call = CRON_DBS_PER_CALL.min(dbnum);
        for _ in 0..dbs_per_call {
            let id = self.expire.resize_db % dbnum;
            self.dbs[id].try_resize_hash_tables();
            self.expire.resize_db = (self.expire.resize_db + 1) % dbnum;
        }
        if self.config.activerehashing {
            for _ in 0..dbs_per_call {
                let id = self.expire.rehash_db % dbnum;
                if self.dbs[id].incrementally_rehash() {
                    break;
                }
                self.expire.rehash_db = (self.expire.rehash_db + 1) % dbnum;
            }
        }
    }
}
