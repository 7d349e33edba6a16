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
//! 4. The tables are [`Dict`]s: incrementally rehashed, so no resize
//!    stalls a command; SCAN uses their reverse-binary cursor and
//!    RANDOMKEY their O(1) random pick. The server cron shrinks sparse
//!    tables and spends a millisecond per tick rehashing
//!    (`databases_cron`).
//! 5. Every access through the lookup functions refreshes the object's
//!    LRU clock, or its LFU counter under an LFU policy, unless a fork
//!    child is running (touching pages would defeat copy-on-write).

use crate::dict::Dict;
use crate::object::{self, Obj, Value};
use crate::proto::Argv;
use crate::server::Server;

pub type Key = Box<[u8]>;

pub struct Db {
    pub id: usize,
    pub dict: Dict<Key, Obj>,
    /// Key → absolute expire time in unix milliseconds.
    pub expires: Dict<Key, i64>,
    /// Average TTL estimate for INFO keyspace (`avg_ttl`), kept by the
    /// active expire cycle.
    pub avg_ttl: i64,
    /// Where the active expire cycle resumes its walk of `expires`.
    pub expires_cursor: u64,
    /// WATCHed key → the clients watching it (multi.rs). It stays with
    /// the db index: SWAPDB and FLUSH* do not move or clear it.
    pub watched_keys: std::collections::HashMap<Key, Vec<crate::multi::Watcher>>,
}

impl Db {
    pub fn new(id: usize) -> Db {
        Db {
            id,
            dict: Dict::new(),
            expires: Dict::new(),
            avg_ttl: 0,
            expires_cursor: 0,
            watched_keys: std::collections::HashMap::new(),
        }
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
        if self.expires.is_empty() {
            return None;
        }
        self.expires.get(key).copied()
    }

    /// Sets the expire of an existing key (`setExpire`).
    pub fn set_expire(&mut self, key: &[u8], when_ms: i64) {
        if !self.dict.contains_key(key) {
            return;
        }
        match self.expires.get_mut(key) {
            Some(w) => *w = when_ms,
            None => {
                self.expires.insert(key.into(), when_ms);
            }
        }
    }

    /// Removes a key's TTL; true if it had one (`removeExpire`).
    pub fn remove_expire(&mut self, key: &[u8]) -> bool {
        if self.expires.is_empty() {
            return false;
        }
        self.expires.remove(key).is_some()
    }

    /// Deletes a key and its TTL; true if it existed (`dbSyncDelete`).
    pub fn delete(&mut self, key: &[u8]) -> bool {
        self.remove(key).is_some()
    }

    /// Takes a key's object out of the db, with its TTL removed too.
    pub fn remove(&mut self, key: &[u8]) -> Option<Obj> {
        if !self.expires.is_empty() {
            self.expires.remove(key);
        }
        self.dict.remove(key).map(|(_, o)| o)
    }

    /// Memory of the tables themselves, without keys and values
    /// (the per-db part of `used_memory_overhead`).
    pub fn overhead(&self) -> usize {
        self.dict.mem_usage() + self.expires.mem_usage()
    }

    /// Removes every key; returns how many there were.
    pub fn clear(&mut self) -> usize {
        let n = self.dict.len();
        self.dict = Dict::new();
        self.expires = Dict::new();
        self.avg_ttl = 0;
        self.expires_cursor = 0;
        n
    }

    /// Shrinks either table if it became sparse (`tryResizeHashTables`).
    pub fn try_resize_hash_tables(&mut self) {
        if self.dict.needs_resize() {
            self.dict.resize();
        }
        if self.expires.needs_resize() {
            self.expires.resize();
        }
    }

    /// Rehashes for about 1 ms if a table is rehashing; true if it did
    /// any work (`incrementallyRehash`).
    pub fn incrementally_rehash(&mut self) -> bool {
        if self.dict.is_resizing() {
            self.dict.rehash_ms(1);
            return true;
        }
        if self.expires.is_resizing() {
            self.expires.rehash_ms(1);
            return true;
        }
        false
    }
}

/// How an access updates an object's `lru` field.
#[derive(Clone, Copy)]
pub enum Touch {
    /// A fork child is running, or the caller asked not to touch.
    No,
    Lru(u32),
    Lfu { unixtime: i64, log_factor: i64, decay_time: i64 },
}

impl Touch {
    pub fn apply(self, o: &mut Obj) {
        match self {
            Touch::No => {}
            Touch::Lru(clock) => o.lru = clock,
            Touch::Lfu { unixtime, log_factor, decay_time } => {
                o.lru = object::lfu_touch(o.lru, unixtime, log_factor, decay_time, crate::util::random_f64())
            }
        }
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
        self.delete_expired_key_and_propagate(db, key);
        true
    }

    /// Propagates the deletion of an expired key as `DEL key`, or `UNLINK
    /// key` with `lazyfree-lazy-expire` (`propagateExpire`).
    pub fn propagate_expire(&mut self, db: usize, key: &[u8]) {
        let lazy = self.config.lazyfree_lazy_expire;
        self.propagate_expire_lazy(db, key, lazy);
    }

    /// Propagates a deletion the server decided (expire, eviction) as
    /// `UNLINK` when it was lazy, else `DEL` (`propagateExpire`'s `lazy`).
    pub fn propagate_expire_lazy(&mut self, db: usize, key: &[u8], lazy: bool) {
        let cmd: &[u8] = if lazy { b"UNLINK" } else { b"DEL" };
        let argv = Argv::from_slices(&[cmd, key]);
        self.propagate(db, &argv);
    }

    /// True if the maxmemory policy is an LFU one.
    pub fn lfu_policy(&self) -> bool {
        matches!(self.config.maxmemory_policy, 1 | 5)
    }

    /// How an access now updates `lru` (`lookupKey`'s touch rules).
    pub fn touch_mode(&self) -> Touch {
        if self.has_active_child_process() {
            Touch::No
        } else if self.lfu_policy() {
            Touch::Lfu {
                unixtime: self.unixtime,
                log_factor: self.config.lfu_log_factor,
                decay_time: self.config.lfu_decay_time,
            }
        } else {
            Touch::Lru(object::lru_clock(self.mstime))
        }
    }

    /// The `lru` field of an object created now (`createObject`).
    pub fn new_lru(&self) -> u32 {
        if self.lfu_policy() {
            object::lfu_init(self.unixtime)
        } else {
            object::lru_clock(self.mstime)
        }
    }

    /// Wraps a value into a keyspace object created now.
    pub fn new_obj(&self, val: Value) -> Obj {
        Obj { val, lru: self.new_lru() }
    }

    /// Looks a key up for reading (`lookupKeyRead`): lazily expires it,
    /// counts a keyspace hit or miss and touches the object.
    pub fn lookup_key_read(&mut self, db: usize, key: &[u8]) -> Option<&Value> {
        self.expire_if_needed(db, key);
        // A miss is announced before the lookup proper: the borrow of the
        // value returned on a hit rules out notifying after it.
        if self.config.notify_keyspace_events & crate::config::NOTIFY_KEY_MISS != 0 && !self.dbs[db].dict.contains_key(key) {
            self.notify_keyspace_event(crate::config::NOTIFY_KEY_MISS, "keymiss", key, db);
        }
        let touch = self.touch_mode();
        match self.dbs[db].dict.get_mut(key) {
            Some(o) => {
                self.stats.keyspace_hits += 1;
                touch.apply(o);
                Some(&o.val)
            }
            None => {
                self.stats.keyspace_misses += 1;
                None
            }
        }
    }

    /// Looks a key up for reading without touching it
    /// (`lookupKeyReadWithFlags(LOOKUP_NOTOUCH)`, as EXISTS, TYPE and TTL
    /// do): lazily expires it, counts a hit or miss and notifies a miss.
    pub fn lookup_key_read_notouch(&mut self, db: usize, key: &[u8]) -> Option<&Value> {
        self.expire_if_needed(db, key);
        if !self.dbs[db].dict.contains_key(key) {
            self.stats.keyspace_misses += 1;
            self.notify_keyspace_event(crate::config::NOTIFY_KEY_MISS, "keymiss", key, db);
            return None;
        }
        self.stats.keyspace_hits += 1;
        self.dbs[db].dict.find(key).map(|o| &o.val)
    }

    /// Looks a key up for writing (`lookupKeyWrite`): lazily expires it and
    /// touches the object; no hit/miss counting.
    pub fn lookup_key_write(&mut self, db: usize, key: &[u8]) -> Option<&mut Value> {
        self.expire_if_needed(db, key);
        let touch = self.touch_mode();
        let o = self.dbs[db].dict.get_mut(key)?;
        touch.apply(o);
        Some(&mut o.val)
    }

    /// Looks a key up without touching it or counting stats, after lazy
    /// expiry (`LOOKUP_NOTOUCH`, as OBJECT and DEBUG OBJECT do).
    pub fn lookup_key_notouch(&mut self, db: usize, key: &[u8]) -> Option<&Obj> {
        self.expire_if_needed(db, key);
        self.dbs[db].dict.find(key)
    }

    /// True if the key exists (after lazy expiry), without counting stats.
    pub fn key_exists(&mut self, db: usize, key: &[u8]) -> bool {
        self.expire_if_needed(db, key);
        self.dbs[db].dict.contains_key(key)
    }

    /// Sets `key` to `val`, adding or overwriting; the TTL is removed
    /// unless `keepttl` (`genericSetKey`). An overwrite keeps the old
    /// object's LFU counter under an LFU policy (`dbOverwrite`).
    pub fn set_key(&mut self, db: usize, key: &[u8], val: Value, keepttl: bool) {
        // `lookupKeyWrite` first: an expired key is deleted (and notified,
        // and propagated) before it is overwritten.
        self.expire_if_needed(db, key);
        let mut o = self.new_obj(val);
        let lfu = self.lfu_policy();
        let d = &mut self.dbs[db];
        match d.dict.get_mut(key) {
            Some(old) => {
                if lfu {
                    o.lru = old.lru;
                }
                let prev = std::mem::replace(old, o);
                // `dbOverwrite`: a big old value goes to the lazyfree thread.
                if self.config.lazyfree_lazy_server_del {
                    self.free_obj_async(prev);
                }
            }
            None => {
                let ready = matches!(o.val.type_code(), crate::object::OBJ_LIST | crate::object::OBJ_ZSET);
                d.dict.insert(key.into(), o);
                if ready {
                    self.signal_key_as_ready(db, key);
                }
            }
        }
        if !keepttl {
            self.dbs[db].remove_expire(key);
        }
        self.signal_modified_key(db, key);
    }

    /// Adds a key that does not exist (`dbAdd`): a list or sorted set
    /// under a key some client waits on makes that key ready.
    pub fn db_add(&mut self, db: usize, key: &[u8], val: Value) {
        let ready = matches!(val.type_code(), crate::object::OBJ_LIST | crate::object::OBJ_ZSET);
        let o = self.new_obj(val);
        self.dbs[db].dict.insert(key.into(), o);
        if ready {
            self.signal_key_as_ready(db, key);
        }
    }

    /// Adds or replaces `key` with an existing object, keeping its access
    /// clock (RENAME and MOVE move the object itself in Redis). The TTL
    /// is removed; the caller sets the one it carries over.
    pub fn set_key_obj(&mut self, db: usize, key: &[u8], o: Obj) {
        let ready = matches!(o.val.type_code(), crate::object::OBJ_LIST | crate::object::OBJ_ZSET);
        let d = &mut self.dbs[db];
        d.remove_expire(key);
        d.dict.insert(key.into(), o);
        if ready {
            self.signal_key_as_ready(db, key);
        }
        self.signal_modified_key(db, key);
    }

    /// Deletes a key; true if it existed (`dbDelete`). A deletion the
    /// server does on its own: lazy with `lazyfree-lazy-server-del`.
    pub fn db_delete(&mut self, db: usize, key: &[u8]) -> bool {
        let lazy = self.config.lazyfree_lazy_server_del;
        let existed = self.db_generic_delete(db, key, lazy);
        if existed {
            self.signal_modified_key(db, key);
        }
        existed
    }

    /// Called whenever a key changes: WATCH and client-side caching hook
    /// in here (`signalModifiedKey`).
    #[inline]
    pub fn signal_modified_key(&mut self, db: usize, key: &[u8]) {
        self.touch_watched_key(db, key);
    }

    // notify_keyspace_event lives in notify.rs.
}
