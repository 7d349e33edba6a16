//! The keyspace: databases, each a main table and an expires table, and
//! the access functions every command goes through (mirrors db.c).
//!
//! 1. Reads go through `lookup_key_read` (counts keyspace hits/misses),
//!    writes through `lookup_key_write`; both first expire the key if its
//!    time has passed (`expire_if_needed`: lazy expiry).
//! 2. A lazily expired key is deleted, counted in `expired_keys`, and
//!    propagated as a `DEL`, so that the AOF and replicas see it go.
//! 3. `set_key` overwrites a value and drops its TTL unless asked to keep
//!    it (`setKey` / `genericSetKey`); every change calls
//!    `signal_modified_key`, the hook WATCH builds on.
//!
//! The tables are std maps for now; the keyspace issue moves them onto
//! Redis's incrementally rehashed dict (`dict.rs`), which also gives SCAN
//! its cursor guarantee and RANDOMKEY its O(1) pick.

use std::collections::HashMap;

use crate::object::Value;
use crate::proto::Argv;
use crate::server::Server;

pub type Key = Box<[u8]>;

pub struct Db {
    pub id: usize,
    pub dict: HashMap<Key, Value>,
    /// Key → absolute expire time in unix milliseconds.
    pub expires: HashMap<Key, i64>,
    /// Average TTL estimate for INFO keyspace (`avg_ttl`).
    pub avg_ttl: i64,
}

impl Db {
    pub fn new(id: usize) -> Db {
        Db { id, dict: HashMap::new(), expires: HashMap::new(), avg_ttl: 0 }
    }

    /// Number of keys (`dictSize(db->dict)`).
    pub fn size(&self) -> usize {
        self.dict.len()
    }

    /// Number of keys with a TTL.
    pub fn expires_size(&self) -> usize {
        self.expires.len()
    }

    /// The expire time of `key` in unix ms, if it has one (`getExpire`).
    pub fn get_expire(&self, key: &[u8]) -> Option<i64> {
        self.expires.get(key).copied()
    }

    /// Sets the expire of an existing key (`setExpire`).
    pub fn set_expire(&mut self, key: &[u8], when_ms: i64) {
        if let Some((k, _)) = self.dict.get_key_value(key) {
            let k = k.clone();
            self.expires.insert(k, when_ms);
        }
    }

    /// Removes a key's TTL; true if it had one (`removeExpire`).
    pub fn remove_expire(&mut self, key: &[u8]) -> bool {
        self.expires.remove(key).is_some()
    }

    /// Deletes a key and its TTL; true if it existed (`dbSyncDelete`).
    pub fn delete(&mut self, key: &[u8]) -> bool {
        self.expires.remove(key);
        self.dict.remove(key).is_some()
    }

    /// Memory of the tables themselves, without keys and values
    /// (the per-db part of `used_memory_overhead`).
    pub fn overhead(&self) -> usize {
        let slot = std::mem::size_of::<(Key, Value)>() + 1;
        let eslot = std::mem::size_of::<(Key, i64)>() + 1;
        self.dict.capacity() * slot + self.expires.capacity() * eslot
    }

    /// Removes every key; returns how many there were.
    pub fn clear(&mut self) -> usize {
        let n = self.dict.len();
        self.dict = HashMap::new();
        self.expires = HashMap::new();
        self.avg_ttl = 0;
        n
    }
}

impl Server {
    /// True if `key` in `db` has an expire time in the past.
    pub fn key_is_expired(&self, db: usize, key: &[u8]) -> bool {
        if self.loading {
            return false;
        }
        match self.dbs[db].get_expire(key) {
            Some(when) => self.mstime_for_expire() > when,
            None => false,
        }
    }

    /// The time keys are compared against: the cached clock, refreshed
    /// when each command starts, so a key does not expire in the middle
    /// of a command.
    pub fn mstime_for_expire(&self) -> i64 {
        self.mstime
    }

    /// Deletes `key` if it is expired (`expireIfNeeded`). Returns true if
    /// the key was expired and removed.
    pub fn expire_if_needed(&mut self, db: usize, key: &[u8]) -> bool {
        if !self.key_is_expired(db, key) {
            return false;
        }
        self.stats.expiredkeys += 1;
        self.dbs[db].delete(key);
        self.propagate_expire(db, key);
        self.signal_modified_key(db, key);
        true
    }

    /// Propagates the deletion of an expired key as `DEL key`
    /// (`propagateExpire`; UNLINK when lazyfree-lazy-expire, later).
    pub fn propagate_expire(&mut self, db: usize, key: &[u8]) {
        let argv = Argv::from_slices(&[&b"DEL"[..], key]);
        self.propagate(db, &argv);
    }

    /// Looks a key up for reading (`lookupKeyRead`): lazily expires it and
    /// counts a keyspace hit or miss.
    pub fn lookup_key_read(&mut self, db: usize, key: &[u8]) -> Option<&Value> {
        self.expire_if_needed(db, key);
        let found = self.dbs[db].dict.contains_key(key);
        if found {
            self.stats.keyspace_hits += 1;
        } else {
            self.stats.keyspace_misses += 1;
        }
        self.dbs[db].dict.get(key)
    }

    /// Looks a key up for writing (`lookupKeyWrite`): lazily expires it,
    /// no hit/miss counting.
    pub fn lookup_key_write(&mut self, db: usize, key: &[u8]) -> Option<&mut Value> {
        self.expire_if_needed(db, key);
        self.dbs[db].dict.get_mut(key)
    }

    /// True if the key exists (after lazy expiry), without counting stats.
    pub fn key_exists(&mut self, db: usize, key: &[u8]) -> bool {
        self.expire_if_needed(db, key);
        self.dbs[db].dict.contains_key(key)
    }

    /// Sets `key` to `val`, adding or overwriting; the TTL is removed
    /// unless `keepttl` (`genericSetKey`).
    pub fn set_key(&mut self, db: usize, key: &[u8], val: Value, keepttl: bool) {
        let d = &mut self.dbs[db];
        match d.dict.get_mut(key) {
            Some(v) => *v = val,
            None => {
                d.dict.insert(key.into(), val);
            }
        }
        if !keepttl {
            d.expires.remove(key);
        }
        self.signal_modified_key(db, key);
    }

    /// Deletes a key; true if it existed (`dbDelete`).
    pub fn db_delete(&mut self, db: usize, key: &[u8]) -> bool {
        let existed = self.dbs[db].delete(key);
        if existed {
            self.signal_modified_key(db, key);
        }
        existed
    }

    /// Called whenever a key changes: WATCH and client-side caching hook
    /// in here (`signalModifiedKey`).
    pub fn signal_modified_key(&mut self, _db: usize, _key: &[u8]) {}

    /// Keyspace event notification hook (`notifyKeyspaceEvent`); the
    /// notifications issue fills it in.
    pub fn notify_keyspace_event(&mut self, _class: u32, _event: &str, _key: &[u8], _db: usize) {}
}
