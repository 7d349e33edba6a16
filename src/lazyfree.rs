//! Lazy freeing: big values and whole databases are dropped by a bio
//! thread instead of inside the command (mirrors lazyfree.c).
//!
//! Freeing a value costs one deallocation per element or node: a set of
//! millions of members takes long enough to stall every client. So:
//!
//! 1. The key is unlinked from the keyspace at once: for every later
//!    command it is gone.
//! 2. The value's free effort (`lazyfree_get_free_effort`: list nodes,
//!    hash table entries, skiplist length; 1 for anything that is one
//!    allocation) decides: above [`LAZYFREE_THRESHOLD`] it is moved into a
//!    `LazyFree` bio job that drops it in the background; otherwise it is
//!    dropped here, which is cheaper than handing it over.
//! 3. FLUSHALL/FLUSHDB ASYNC swap each database's tables for empty ones and
//!    hand the old tables over whole (`emptyDbAsync`), whatever their size.
//!
//! Which deletions are lazy, as Redis 6.2 decides:
//! - UNLINK always; DEL when `lazyfree-lazy-user-del`;
//! - FLUSHALL/FLUSHDB with ASYNC, or with no option when
//!   `lazyfree-lazy-user-flush`;
//! - deletions the server does on its own (RENAME's and COPY REPLACE's
//!   target, a SET overwriting a value, STORE destinations, aggregates
//!   left empty, …) when `lazyfree-lazy-server-del` (`db_delete`, and
//!   `set_key` for overwrites);
//! - expired keys when `lazyfree-lazy-expire` (then also propagated as
//!   UNLINK instead of DEL);
//! - evicted keys when `lazyfree-lazy-eviction`: eviction calls
//!   [`Server::db_generic_delete`] with that option.
//!
//! INFO memory shows `lazyfree_pending_objects` (handed over, not yet
//! freed; a whole database counts as its number of keys) and
//! `lazyfreed_objects` (freed in the background since start; 6.2 does not
//! reset it on CONFIG RESETSTAT). The bytes freed by the thread leave
//! `used_memory` as the job runs: the counting allocator counts frees from
//! any thread.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::db::Key;
use crate::dict::Dict;
use crate::object::{Obj, Value};
use crate::server::Server;

/// Values whose free effort is at most this are freed at once: a few
/// allocations are freed faster than a job is handed over.
pub const LAZYFREE_THRESHOLD: usize = 64;

/// Objects queued for the lazyfree thread and not yet freed.
static LAZYFREE_OBJECTS: AtomicUsize = AtomicUsize::new(0);
/// Objects the lazyfree thread freed since start.
static LAZYFREED_OBJECTS: AtomicUsize = AtomicUsize::new(0);

/// INFO's `lazyfree_pending_objects` (`lazyfreeGetPendingObjectsCount`).
pub fn pending_objects() -> usize {
    LAZYFREE_OBJECTS.load(Ordering::Relaxed)
}

/// INFO's `lazyfreed_objects` (`lazyfreeGetFreedObjectsCount`).
pub fn freed_objects() -> usize {
    LAZYFREED_OBJECTS.load(Ordering::Relaxed)
}

/// Work needed to free `v`, proportional to its allocations
/// (`lazyfreeGetFreeEffort`): quicklist nodes for a list, entries for a
/// hash table or skiplist; compact encodings and strings are one
/// allocation.
pub fn free_effort(v: &Value) -> usize {
    match v {
        Value::List(ql) => ql.node_count(),
        Value::SetHt(d) => d.len(),
        Value::HashHt(d) => d.len(),
        Value::ZsetSl(z) => z.len(),
        Value::Str(_) | Value::HashZl(_) | Value::SetInt(_) | Value::ZsetZl(_) => 1,
    }
}

/// Drops `data` counting `n` objects: the job body of the lazyfree thread.
fn lazyfree_free<T>(data: T, n: usize) {
    drop(data);
    LAZYFREE_OBJECTS.fetch_sub(n, Ordering::Relaxed);
    LAZYFREED_OBJECTS.fetch_add(n, Ordering::Relaxed);
}

impl Server {
    /// Hands `data` (worth `n` objects) to the lazyfree thread, starting
    /// the bio threads if needed. Gives `data` back if they cannot start,
    /// so the caller frees it in place.
    fn lazyfree_submit<T: Send + 'static>(&mut self, data: T, n: usize) -> Result<(), T> {
        if self.aof.bio.is_none() {
            match crate::bio::Bio::start() {
                Ok(b) => self.aof.bio = Some(b),
                Err(e) => {
                    log::warn!("Can't start the bio threads, freeing in the foreground: {}", e);
                    return Err(data);
                }
            }
        }
        let Some(bio) = self.aof.bio.as_ref() else { return Err(data) };
        LAZYFREE_OBJECTS.fetch_add(n, Ordering::Relaxed);
        bio.submit_lazy_free(Box::new(move || lazyfree_free(data, n)));
        Ok(())
    }

    /// Frees an object that is no longer in the keyspace, in the background
    /// if it is big (`freeObjAsync`).
    pub fn free_obj_async(&mut self, obj: Obj) {
        if free_effort(&obj.val) > LAZYFREE_THRESHOLD {
            if let Err(obj) = self.lazyfree_submit(obj, 1) {
                drop(obj);
            }
        }
    }

    /// Removes a key and its TTL and frees its value at once; true if it
    /// existed (`dbSyncDelete`). No WATCH signal or notification: callers
    /// do those.
    pub fn db_sync_delete(&mut self, db: usize, key: &[u8]) -> bool {
        self.dbs[db].remove(key).is_some()
    }

    /// Removes a key and its TTL; a big value is freed in the background
    /// (`dbAsyncDelete`). No WATCH signal or notification.
    pub fn db_async_delete(&mut self, db: usize, key: &[u8]) -> bool {
        match self.dbs[db].remove(key) {
            Some(o) => {
                self.free_obj_async(o);
                true
            }
            None => false,
        }
    }

    /// Removes a key, lazily or not (`dbGenericDelete`): the entry point
    /// for deletions whose laziness an option decides, e.g. eviction with
    /// `lazyfree-lazy-eviction`. No WATCH signal or notification.
    pub fn db_generic_delete(&mut self, db: usize, key: &[u8], lazy: bool) -> bool {
        if lazy {
            self.db_async_delete(db, key)
        } else {
            self.db_sync_delete(db, key)
        }
    }

    /// Empties database `db` by giving its tables to the lazyfree thread
    /// and starting over with empty ones (`emptyDbAsync`). Returns the
    /// number of keys it held.
    pub fn empty_db_async(&mut self, db: usize) -> usize {
        let d = &mut self.dbs[db];
        let n = d.size();
        let tables: (Dict<Key, Obj>, Dict<Key, i64>) =
            (std::mem::take(&mut d.dict), std::mem::take(&mut d.expires));
        d.clear();
        if let Err(tables) = self.lazyfree_submit(tables, n) {
            drop(tables);
        }
        n
    }

    /// Empties one database (`Some(db)`) or all, in the background when
    /// `lazy` (`emptyDb`). Returns the number of keys removed.
    pub fn empty_data(&mut self, dbnum: Option<usize>, lazy: bool) -> usize {
        let range = match dbnum {
            Some(db) => db..db + 1,
            None => 0..self.dbs.len(),
        };
        let mut removed = 0;
        for db in range {
            removed += if lazy { self.empty_db_async(db) } else { self.dbs[db].clear() };
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::RStr;

    fn big_set(n: usize) -> Value {
        let mut d = crate::object::SetTable::new();
        for i in 0..n {
            d.insert(i.to_string().into_bytes().into_boxed_slice(), ());
        }
        Value::SetHt(Box::new(d))
    }

    #[test]
    fn free_effort_counts_allocations() {
        assert_eq!(free_effort(&Value::Str(RStr::from_bytes(b"hello"))), 1);
        assert_eq!(free_effort(&big_set(100)), 100);
        let mut h = crate::object::HashTable::new();
        h.insert(b"f".to_vec().into_boxed_slice(), b"v".to_vec().into_boxed_slice());
        assert_eq!(free_effort(&Value::HashHt(Box::new(h))), 1);
    }

    #[test]
    fn values_and_tables_are_send() {
        fn send<T: Send + 'static>() {}
        send::<Obj>();
        send::<(Dict<Key, Obj>, Dict<Key, i64>)>();
    }
}
