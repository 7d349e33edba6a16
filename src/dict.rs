//! The hash table behind the keyspace, hashes, sets and sorted sets
//! (mirrors dict.c).
//!
//! A `Dict` is two chained hash tables with power-of-two sizes. Normally only
//! `ht[0]` is in use; growing or shrinking never stops the world:
//!
//! 1. When the table must change size, `ht[1]` is allocated at the new size
//!    and `rehash_idx` starts at 0: the dict is now *rehashing*.
//! 2. Every lookup, insert and delete done through `&mut self` first moves
//!    one bucket of `ht[0]` into `ht[1]` (`rehash_step`); the server cron
//!    also spends up to 1 ms per tick in `rehash_ms` (activerehashing).
//! 3. While rehashing, new entries go to `ht[1]` and lookups search both
//!    tables; buckets of `ht[0]` below `rehash_idx` are empty.
//! 4. When `ht[0]` is empty, `ht[1]` becomes `ht[0]` and rehashing ends.
//!
//! The table grows when it holds as many entries as buckets, unless resizing
//! is disabled (a fork child is running and copy-on-write should not be
//! provoked), in which case only a load factor above
//! `DICT_FORCE_RESIZE_RATIO` forces it. It shrinks only when the caller asks
//! (`needs_resize` then `resize`), as the server cron does.
//!
//! Keys are hashed with SipHash-1-2 under a per-process random seed and
//! compared as bytes ([`DictKey`]), so a `Dict<Box<[u8]>, V>` is looked up
//! with a `&[u8]`. `scan` implements Redis's reverse-binary cursor, which
//! returns every element present for the whole scan at least once however the
//! table is resized between calls. Iterators borrow the dict, so they cannot
//! observe a rehash step: every iterator is a "safe iterator".

use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::siphash;

/// Size of a table when the first entry is added.
pub const DICT_HT_INITIAL_SIZE: usize = 4;
/// Load factor (entries per bucket) above which the table grows even while
/// resizing is disabled.
pub const DICT_FORCE_RESIZE_RATIO: usize = 5;
/// Below this fill percentage a table is worth shrinking (server.h).
pub const HASHTABLE_MIN_FILL: usize = 10;
/// Entries `fair_random_entry` samples to pick one from (GETFAIR_NUM_ENTRIES).
const GETFAIR_NUM_ENTRIES: usize = 15;
/// Chain lengths `stats` counts separately (DICT_STATS_VECTLEN).
const DICT_STATS_VECTLEN: usize = 50;

/// A key a dict can hold: hashed and compared through its bytes, so the
/// table can be searched with a plain `&[u8]`.
pub trait DictKey {
    fn key_bytes(&self) -> &[u8];
}

impl DictKey for Box<[u8]> {
    fn key_bytes(&self) -> &[u8] {
        self
    }
}

impl DictKey for Vec<u8> {
    fn key_bytes(&self) -> &[u8] {
        self
    }
}

impl DictKey for String {
    fn key_bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl DictKey for Box<str> {
    fn key_bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl DictKey for &'static [u8] {
    fn key_bytes(&self) -> &[u8] {
        self
    }
}

impl DictKey for &'static str {
    fn key_bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}

// ---------------------------------------------------------------------------
// Hash seed, hash function, random numbers.

struct Seed {
    bytes: [u8; 16],
    k0: u64,
    k1: u64,
}

static HASH_SEED: OnceLock<Seed> = OnceLock::new();

/// The 16-byte hash seed: read from /dev/urandom on first use, or, if that
/// fails, mixed from the clock, the pid and an address.
fn seed() -> &'static Seed {
    HASH_SEED.get_or_init(|| {
        let mut bytes = [0u8; 16];
        let from_urandom = std::fs::File::open("/dev/urandom")
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
            .is_ok();
        if !from_urandom {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
            let local = 0u8;
            let mut s = now ^ ((std::process::id() as u64) << 32) ^ (&local as *const u8 as u64);
            let a = splitmix64(&mut s);
            let b = splitmix64(&mut s);
            bytes[..8].copy_from_slice(&a.to_le_bytes());
            bytes[8..].copy_from_slice(&b.to_le_bytes());
        }
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[..8]);
        let k0 = u64::from_le_bytes(w);
        w.copy_from_slice(&bytes[8..]);
        let k1 = u64::from_le_bytes(w);
        Seed { bytes, k0, k1 }
    })
}

fn splitmix64(s: &mut u64) -> u64 {
    *s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *s;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The per-process hash seed (`dictGetHashFunctionSeed`).
pub fn hash_seed() -> [u8; 16] {
    seed().bytes
}

/// The hash every dict uses: SipHash-1-2 of `key` under the process seed
/// (`dictGenHashFunction`).
#[inline]
pub fn hash_bytes(key: &[u8]) -> u64 {
    let s = seed();
    siphash::siphash12_words(s.k0, s.k1, key)
}

/// The case-insensitive variant (`dictGenCaseHashFunction`).
pub fn hash_bytes_nocase(key: &[u8]) -> u64 {
    siphash::siphash12_nocase(&seed().bytes, key)
}

thread_local! {
    static RNG_STATE: Cell<u64> = Cell::new({
        let s = seed();
        s.k0 ^ s.k1.rotate_left(17) ^ 0x2545_f491_4f6c_dd1d
    });
    static RESIZE_ALLOWED: Cell<bool> = const { Cell::new(true) };
}

/// A wyrand step: the dict's random source for random keys and samples.
fn random_u64() -> u64 {
    RNG_STATE.with(|st| {
        let s = st.get().wrapping_add(0xa076_1d64_78bd_642f);
        st.set(s);
        let t = (s as u128).wrapping_mul((s ^ 0xe703_7ed1_a0b4_28db) as u128);
        ((t >> 64) ^ t) as u64
    })
}

/// Allows or forbids growing tables at load factor 1 (`dictEnableResize` /
/// `dictDisableResize`); the server forbids it while a fork child exists.
/// The switch is per thread: the main thread owns every dict.
pub fn set_resize_allowed(allowed: bool) {
    RESIZE_ALLOWED.with(|c| c.set(allowed));
}

/// Whether tables may grow at load factor 1 (`dict_can_resize`).
pub fn resize_allowed() -> bool {
    RESIZE_ALLOWED.with(|c| c.get())
}

// ---------------------------------------------------------------------------
// Tables.

struct Entry<K, V> {
    key: K,
    val: V,
    next: Option<Box<Entry<K, V>>>,
}

type Bucket<K, V> = Option<Box<Entry<K, V>>>;

struct Table<K, V> {
    buckets: Box<[Bucket<K, V>]>,
    used: usize,
}

impl<K, V> Table<K, V> {
    fn empty() -> Self {
        Table { buckets: Box::new([]), used: 0 }
    }

    /// A table of `size` empty buckets, or None if it cannot be allocated.
    fn with_size(size: usize) -> Option<Self> {
        let mut v: Vec<Bucket<K, V>> = Vec::new();
        v.try_reserve_exact(size).ok()?;
        v.resize_with(size, || None);
        Some(Table { buckets: v.into_boxed_slice(), used: 0 })
    }

    #[inline]
    fn size(&self) -> usize {
        self.buckets.len()
    }

    /// `size - 1`; only meaningful when size > 0.
    #[inline]
    fn mask(&self) -> u64 {
        (self.buckets.len() as u64).wrapping_sub(1)
    }

    #[inline]
    fn index(&self, hash: u64) -> usize {
        (hash & self.mask()) as usize
    }
}

impl<K: DictKey, V> Table<K, V> {
    fn find(&self, key: &[u8], hash: u64) -> Option<&Entry<K, V>> {
        if self.size() == 0 {
            return None;
        }
        let mut cur = self.buckets[self.index(hash)].as_deref();
        while let Some(e) = cur {
            if e.key.key_bytes() == key {
                return Some(e);
            }
            cur = e.next.as_deref();
        }
        None
    }

    fn find_mut(&mut self, key: &[u8], hash: u64) -> Option<&mut Entry<K, V>> {
        if self.size() == 0 {
            return None;
        }
        let idx = self.index(hash);
        let mut cur = self.buckets[idx].as_deref_mut();
        while let Some(e) = cur {
            if e.key.key_bytes() == key {
                return Some(e);
            }
            cur = e.next.as_deref_mut();
        }
        None
    }

    /// Unlinks and returns the entry for `key`.
    fn unlink(&mut self, key: &[u8], hash: u64) -> Option<Box<Entry<K, V>>> {
        if self.size() == 0 {
            return None;
        }
        let idx = self.index(hash);
        let mut link = &mut self.buckets[idx];
        while link.as_ref().is_some_and(|e| e.key.key_bytes() != key) {
            link = &mut link.as_mut()?.next;
        }
        let mut e = link.take()?;
        *link = e.next.take();
        self.used -= 1;
        Some(e)
    }

    fn push_front(&mut self, mut e: Box<Entry<K, V>>, hash: u64) {
        let idx = self.index(hash);
        e.next = self.buckets[idx].take();
        self.buckets[idx] = Some(e);
        self.used += 1;
    }

    /// Drops every entry without recursing down long chains.
    fn clear(&mut self) {
        for b in self.buckets.iter_mut() {
            let mut cur = b.take();
            while let Some(mut e) = cur {
                cur = e.next.take();
            }
        }
        self.used = 0;
    }
}

// ---------------------------------------------------------------------------
// The dict.

/// Redis's dict: see the module docs.
pub struct Dict<K, V> {
    ht: [Table<K, V>; 2],
    /// Next bucket of `ht[0]` to move; meaningful only while rehashing.
    rehash_idx: usize,
}

impl<K: DictKey, V> Default for Dict<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V> Drop for Dict<K, V> {
    fn drop(&mut self) {
        // Iteratively, so that no chain is dropped recursively.
        for t in self.ht.iter_mut() {
            for b in t.buckets.iter_mut() {
                let mut cur = b.take();
                while let Some(mut e) = cur {
                    cur = e.next.take();
                }
            }
        }
    }
}

impl<K: DictKey, V> Dict<K, V> {
    /// An empty dict; no table is allocated until the first insert.
    pub fn new() -> Self {
        Dict { ht: [Table::empty(), Table::empty()], rehash_idx: 0 }
    }

    /// Number of entries (`dictSize`).
    #[inline]
    pub fn len(&self) -> usize {
        self.ht[0].used + self.ht[1].used
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Buckets of both tables (`dictSlots`).
    #[inline]
    pub fn slots(&self) -> usize {
        self.ht[0].size() + self.ht[1].size()
    }

    /// Whether an incremental rehash is under way (`dictIsRehashing`).
    #[inline]
    pub fn is_rehashing(&self) -> bool {
        self.ht[1].size() != 0
    }

    // --- resizing -------------------------------------------------------

    /// Sizes the dict for `size` entries: allocates the first table, or
    /// starts rehashing into a table of the next power of two ≥ `size`
    /// (`dictExpand`). Returns false when already rehashing, when `size` is
    /// below the number of entries, when the size would not change, or when
    /// the table cannot be allocated.
    pub fn expand(&mut self, size: usize) -> bool {
        if self.is_rehashing() || self.ht[0].used > size {
            return false;
        }
        let real = next_power(size);
        if real == self.ht[0].size() {
            return false;
        }
        let table = match Table::with_size(real) {
            Some(t) => t,
            None => return false,
        };
        if self.ht[0].size() == 0 {
            self.ht[0] = table;
        } else {
            self.ht[1] = table;
            self.rehash_idx = 0;
        }
        true
    }

    /// Shrinks (or grows) to the smallest power of two holding every entry,
    /// at least `DICT_HT_INITIAL_SIZE` (`dictResize`). Not while resizing is
    /// disabled or a rehash is under way.
    pub fn resize(&mut self) -> bool {
        if !resize_allowed() || self.is_rehashing() {
            return false;
        }
        let minimal = self.ht[0].used.max(DICT_HT_INITIAL_SIZE);
        self.expand(minimal)
    }

    /// Whether the dict is so sparse that the cron should `resize` it
    /// (`htNeedsResize`).
    pub fn needs_resize(&self) -> bool {
        let size = self.slots();
        let used = self.len();
        size > DICT_HT_INITIAL_SIZE && used * 100 / size < HASHTABLE_MIN_FILL
    }

    /// Grows the table before an insert when it is full (`_dictExpandIfNeeded`).
    fn expand_if_needed(&mut self) {
        if self.is_rehashing() {
            return;
        }
        let size = self.ht[0].size();
        if size == 0 {
            self.expand(DICT_HT_INITIAL_SIZE);
            return;
        }
        let used = self.ht[0].used;
        if used >= size && (resize_allowed() || used / size > DICT_FORCE_RESIZE_RATIO) {
            self.expand(used + 1);
        }
    }

    /// Moves `n` non-empty buckets from `ht[0]` to `ht[1]`, visiting at most
    /// `n * 10` empty buckets so that a sparse table cannot make one call
    /// slow (`dictRehash`). Returns true while there is more to move.
    pub fn rehash(&mut self, n: usize) -> bool {
        if !self.is_rehashing() {
            return false;
        }
        let mut empty_visits = n * 10;
        let mut n = n;
        {
            let [t0, t1] = &mut self.ht;
            while n > 0 && t0.used != 0 {
                n -= 1;
                // t0.used != 0 guarantees a non-empty bucket at or after rehash_idx.
                while self.rehash_idx < t0.size() && t0.buckets[self.rehash_idx].is_none() {
                    self.rehash_idx += 1;
                    empty_visits -= 1;
                    if empty_visits == 0 {
                        return true;
                    }
                }
                if self.rehash_idx >= t0.size() {
                    break;
                }
                let mut chain = t0.buckets[self.rehash_idx].take();
                while let Some(mut e) = chain {
                    chain = e.next.take();
                    let h = hash_bytes(e.key.key_bytes());
                    t0.used -= 1;
                    t1.push_front(e, h);
                }
                self.rehash_idx += 1;
            }
        }
        if self.ht[0].used == 0 {
            self.ht[0] = std::mem::replace(&mut self.ht[1], Table::empty());
            self.rehash_idx = 0;
            return false;
        }
        true
    }

    /// The single step every operation pays while rehashing (`_dictRehashStep`).
    #[inline]
    fn rehash_step(&mut self) {
        if self.is_rehashing() {
            self.rehash(1);
        }
    }

    /// Rehashes in steps of 100 buckets until `ms` milliseconds have passed
    /// (`dictRehashMilliseconds`, for the cron's activerehashing). Returns
    /// true if work remains.
    pub fn rehash_ms(&mut self, ms: u64) -> bool {
        let start = Instant::now();
        let budget = Duration::from_millis(ms);
        while self.rehash(100) {
            if start.elapsed() > budget {
                return true;
            }
        }
        self.is_rehashing()
    }

    // --- lookups --------------------------------------------------------

    fn find_entry(&self, key: &[u8]) -> Option<&Entry<K, V>> {
        if self.is_empty() {
            return None;
        }
        let h = hash_bytes(key);
        match self.ht[0].find(key, h) {
            Some(e) => Some(e),
            None if self.is_rehashing() => self.ht[1].find(key, h),
            None => None,
        }
    }

    fn find_entry_mut(&mut self, key: &[u8]) -> Option<&mut Entry<K, V>> {
        if self.is_empty() {
            return None;
        }
        let h = hash_bytes(key);
        let table = if self.ht[0].find(key, h).is_some() { 0 } else { 1 };
        self.ht[table].find_mut(key, h)
    }

    /// The value for `key`, without a rehash step (a shared borrow cannot
    /// move buckets; `find` is the stepping variant).
    pub fn get(&self, key: &[u8]) -> Option<&V> {
        self.find_entry(key).map(|e| &e.val)
    }

    /// The value for `key` after one rehash step (`dictFind`).
    pub fn find(&mut self, key: &[u8]) -> Option<&V> {
        self.rehash_step();
        self.find_entry(key).map(|e| &e.val)
    }

    /// The stored key and value for `key`, without a rehash step.
    pub fn get_key_value(&self, key: &[u8]) -> Option<(&K, &V)> {
        self.find_entry(key).map(|e| (&e.key, &e.val))
    }

    /// A mutable value for `key`, after one rehash step.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        self.rehash_step();
        self.find_entry_mut(key).map(|e| &mut e.val)
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.find_entry(key).is_some()
    }

    // --- updates --------------------------------------------------------

    /// Inserts or replaces; returns the old value if `key` existed, in which
    /// case the stored key is kept and `key` dropped (`dictReplace`).
    pub fn insert(&mut self, key: K, val: V) -> Option<V> {
        self.rehash_step();
        self.expand_if_needed();
        if let Some(e) = self.find_entry_mut(key.key_bytes()) {
            return Some(std::mem::replace(&mut e.val, val));
        }
        self.push_new(key, val);
        None
    }

    /// Inserts only if `key` is absent; otherwise hands both back (`dictAdd`).
    pub fn add(&mut self, key: K, val: V) -> Result<(), (K, V)> {
        self.rehash_step();
        self.expand_if_needed();
        if self.find_entry(key.key_bytes()).is_some() {
            return Err((key, val));
        }
        self.push_new(key, val);
        Ok(())
    }

    /// Links a new entry at the head of its chain, in `ht[1]` while
    /// rehashing (the most recently added entries are the likeliest to be
    /// accessed, and `ht[0]` is emptying).
    fn push_new(&mut self, key: K, val: V) {
        let h = hash_bytes(key.key_bytes());
        let t = if self.is_rehashing() { 1 } else { 0 };
        self.ht[t].push_front(Box::new(Entry { key, val, next: None }), h);
    }

    /// Removes `key`, returning the stored key and value (`dictUnlink`).
    pub fn remove(&mut self, key: &[u8]) -> Option<(K, V)> {
        if self.is_empty() {
            return None;
        }
        self.rehash_step();
        let h = hash_bytes(key);
        let mut e = self.ht[0].unlink(key, h);
        if e.is_none() && self.is_rehashing() {
            e = self.ht[1].unlink(key, h);
        }
        e.map(|e| {
            let e = *e;
            (e.key, e.val)
        })
    }

    /// Drops every entry and both tables (`dictEmpty`).
    pub fn clear(&mut self) {
        for t in self.ht.iter_mut() {
            t.clear();
            *t = Table::empty();
        }
        self.rehash_idx = 0;
    }

    // --- iteration ------------------------------------------------------

    /// Every entry, `ht[0]` then `ht[1]`, in bucket order.
    pub fn iter(&self) -> Iter<'_, K, V> {
        Iter {
            buckets: self.ht[0].buckets.iter().chain(self.ht[1].buckets.iter()),
            cur: None,
            left: self.len(),
        }
    }

    pub fn iter_mut(&mut self) -> IterMut<'_, K, V> {
        let left = self.len();
        let [t0, t1] = &mut self.ht;
        IterMut { buckets: t0.buckets.iter_mut().chain(t1.buckets.iter_mut()), cur: None, left }
    }

    pub fn keys(&self) -> impl Iterator<Item = &K> + '_ {
        self.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.iter().map(|(_, v)| v)
    }

    /// One step of a SCAN (`dictScan`): calls `f` on every entry of the
    /// bucket(s) the cursor designates and returns the next cursor, 0 when
    /// the scan is complete.
    ///
    /// The cursor counts up with its bits reversed, so the high bits of the
    /// bucket index advance first. Buckets of a table of size 2^n map to
    /// 2^(m-n) buckets of a larger table sharing their low n bits, which the
    /// reversed counter visits in a row: whether the table grows or shrinks
    /// between calls, no bucket range already covered is skipped (a shrink may
    /// return some entries twice). While rehashing, the cursor's bucket in
    /// the small table is visited, then every bucket of the large table it
    /// expands into.
    pub fn scan<F: FnMut(&K, &V)>(&self, cursor: u64, mut f: F) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let mut v = cursor;
        let mut emit = |t: &Table<K, V>, idx: u64| {
            let mut cur = t.buckets[(idx & t.mask()) as usize].as_deref();
            while let Some(e) = cur {
                f(&e.key, &e.val);
                cur = e.next.as_deref();
            }
        };
        if !self.is_rehashing() {
            let t0 = &self.ht[0];
            let m0 = t0.mask();
            emit(t0, v);
            v |= !m0;
            v = v.reverse_bits().wrapping_add(1).reverse_bits();
        } else {
            let (small, large) = if self.ht[0].size() <= self.ht[1].size() {
                (&self.ht[0], &self.ht[1])
            } else {
                (&self.ht[1], &self.ht[0])
            };
            let m0 = small.mask();
            let m1 = large.mask();
            emit(small, v);
            loop {
                emit(large, v);
                v |= !m1;
                v = v.reverse_bits().wrapping_add(1).reverse_bits();
                if v & (m0 ^ m1) == 0 {
                    break;
                }
            }
        }
        v
    }

    // --- random access --------------------------------------------------

    /// A random entry: a random non-empty bucket, then a random element of
    /// its chain (`dictGetRandomKey`). Entries in long chains are less likely
    /// than others; see `fair_random_entry`.
    pub fn random_entry(&mut self) -> Option<(&K, &V)> {
        self.rehash_step();
        self.random_entry_no_step()
    }

    fn random_entry_no_step(&self) -> Option<(&K, &V)> {
        if self.is_empty() {
            return None;
        }
        let head = if self.is_rehashing() {
            // Buckets of ht[0] below rehash_idx are empty: skip them.
            let s0 = self.ht[0].size();
            let span = (self.slots() - self.rehash_idx) as u64;
            loop {
                let h = self.rehash_idx + (random_u64() % span) as usize;
                let b = if h >= s0 { &self.ht[1].buckets[h - s0] } else { &self.ht[0].buckets[h] };
                if let Some(e) = b.as_deref() {
                    break e;
                }
            }
        } else {
            let t = &self.ht[0];
            loop {
                let h = (random_u64() & t.mask()) as usize;
                if let Some(e) = t.buckets[h].as_deref() {
                    break e;
                }
            }
        };
        let mut len = 0u64;
        let mut cur = Some(head);
        while let Some(e) = cur {
            len += 1;
            cur = e.next.as_deref();
        }
        let mut pick = random_u64() % len;
        let mut e = head;
        while pick > 0 {
            e = e.next.as_deref()?;
            pick -= 1;
        }
        Some((&e.key, &e.val))
    }

    /// A random entry with a fairer distribution: one of a sample of
    /// `GETFAIR_NUM_ENTRIES` (`dictGetFairRandomKey`).
    pub fn fair_random_entry(&mut self) -> Option<(&K, &V)> {
        for _ in 0..GETFAIR_NUM_ENTRIES {
            if !self.is_rehashing() {
                break;
            }
            self.rehash_step();
        }
        let this: &Self = self;
        let s = this.sample_no_step(GETFAIR_NUM_ENTRIES);
        if s.is_empty() {
            // The sample can come back empty from a very sparse table.
            return this.random_entry_no_step();
        }
        let i = (random_u64() % s.len() as u64) as usize;
        s.into_iter().nth(i)
    }

    /// Up to `count` distinct entries from random places of the table, for
    /// eviction sampling (`dictGetSomeKeys`). Fast rather than uniform: it
    /// walks consecutive buckets from a random start, jumping elsewhere after
    /// a run of empty buckets, and may return fewer than `count` entries.
    pub fn sample(&mut self, count: usize) -> Vec<(&K, &V)> {
        let count = count.min(self.len());
        // Pay a rehash step per requested entry, as the callers would.
        for _ in 0..count {
            if !self.is_rehashing() {
                break;
            }
            self.rehash_step();
        }
        self.sample_no_step(count)
    }

    fn sample_no_step(&self, count: usize) -> Vec<(&K, &V)> {
        let count = count.min(self.len());
        let mut out: Vec<(&K, &V)> = Vec::with_capacity(count);
        if count == 0 {
            return out;
        }
        let rehashing = self.is_rehashing();
        let tables = if rehashing { 2 } else { 1 };
        let max_mask = if rehashing { self.ht[0].mask().max(self.ht[1].mask()) } else { self.ht[0].mask() };
        let mut max_steps = count * 10;
        let mut i = random_u64() & max_mask;
        let mut empty_len = 0usize;
        let mut visited: u64 = 0;
        // Once a bucket can be seen twice (a jump, or a wrap), check for
        // duplicates by identity.
        let mut may_repeat = false;
        while out.len() < count && max_steps > 0 {
            max_steps -= 1;
            for j in 0..tables {
                let t = &self.ht[j];
                if tables == 2 && j == 0 && (i as usize) < self.rehash_idx {
                    // Buckets of ht[0] below rehash_idx are empty.
                    continue;
                }
                if i as usize >= t.size() {
                    continue;
                }
                match t.buckets[i as usize].as_deref() {
                    None => {
                        empty_len += 1;
                        if empty_len >= 5 && empty_len > count {
                            i = random_u64() & max_mask;
                            empty_len = 0;
                            may_repeat = true;
                        }
                    }
                    Some(head) => {
                        empty_len = 0;
                        let mut cur = Some(head);
                        while let Some(e) = cur {
                            let dup = may_repeat && out.iter().any(|(k, _)| std::ptr::eq(*k, &e.key));
                            if !dup {
                                out.push((&e.key, &e.val));
                                if out.len() == count {
                                    return out;
                                }
                            }
                            cur = e.next.as_deref();
                        }
                    }
                }
            }
            i = (i + 1) & max_mask;
            visited += 1;
            if visited > max_mask {
                may_repeat = true;
            }
        }
        out
    }

    // --- accounting -----------------------------------------------------

    /// Bytes used by the dict itself: the struct, both bucket arrays and one
    /// entry allocation per element. Heap data owned by keys and values is
    /// the caller's to add.
    pub fn mem_usage(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.slots() * std::mem::size_of::<Bucket<K, V>>()
            + self.len() * std::mem::size_of::<Entry<K, V>>()
    }

    /// Chain-length statistics in the format of `DEBUG HTSTATS`
    /// (`dictGetStats`).
    pub fn stats(&self) -> String {
        let mut out = String::new();
        self.table_stats(0, &mut out);
        if self.is_rehashing() {
            self.table_stats(1, &mut out);
        }
        out
    }

    fn table_stats(&self, id: usize, out: &mut String) {
        let t = &self.ht[id];
        if t.used == 0 {
            out.push_str("No stats available for empty dictionaries\n");
            return;
        }
        let mut clvector = [0usize; DICT_STATS_VECTLEN];
        let mut slots = 0usize;
        let mut max_chain = 0usize;
        let mut tot_chain = 0usize;
        for b in t.buckets.iter() {
            let mut len = 0usize;
            let mut cur = b.as_deref();
            while let Some(e) = cur {
                len += 1;
                cur = e.next.as_deref();
            }
            if len == 0 {
                clvector[0] += 1;
                continue;
            }
            slots += 1;
            clvector[len.min(DICT_STATS_VECTLEN - 1)] += 1;
            max_chain = max_chain.max(len);
            tot_chain += len;
        }
        let _ = write!(
            out,
            "Hash table {} stats ({}):\n table size: {}\n number of elements: {}\n different slots: {}\n \
             max chain length: {}\n avg chain length (counted): {:.2}\n avg chain length (computed): {:.2}\n \
             Chain length distribution:\n",
            id,
            if id == 0 { "main hash table" } else { "rehashing target" },
            t.size(),
            t.used,
            slots,
            max_chain,
            tot_chain as f64 / slots as f64,
            t.used as f64 / slots as f64,
        );
        for (i, n) in clvector.iter().enumerate() {
            if *n == 0 {
                continue;
            }
            let _ = writeln!(
                out,
                "   {}{}: {} ({:.2}%)",
                if i == DICT_STATS_VECTLEN - 1 { ">= " } else { "" },
                i,
                n,
                (*n as f32 / t.size() as f32) * 100.0
            );
        }
    }
}

/// The smallest power of two ≥ `size`, at least the initial size
/// (`_dictNextPower`); saturates at the largest power of two.
fn next_power(size: usize) -> usize {
    if size <= DICT_HT_INITIAL_SIZE {
        return DICT_HT_INITIAL_SIZE;
    }
    size.checked_next_power_of_two().unwrap_or(1 << (usize::BITS - 1))
}

impl<K: DictKey + std::fmt::Debug, V: std::fmt::Debug> std::fmt::Debug for Dict<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Shared iterator over a dict's entries.
pub struct Iter<'a, K, V> {
    buckets: std::iter::Chain<std::slice::Iter<'a, Bucket<K, V>>, std::slice::Iter<'a, Bucket<K, V>>>,
    cur: Option<&'a Entry<K, V>>,
    left: usize,
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(e) = self.cur {
                self.cur = e.next.as_deref();
                self.left -= 1;
                return Some((&e.key, &e.val));
            }
            if self.left == 0 {
                return None;
            }
            self.cur = self.buckets.next()?.as_deref();
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<K, V> ExactSizeIterator for Iter<'_, K, V> {}

/// Iterator over a dict's entries with mutable values.
pub struct IterMut<'a, K, V> {
    buckets: std::iter::Chain<std::slice::IterMut<'a, Bucket<K, V>>, std::slice::IterMut<'a, Bucket<K, V>>>,
    cur: Option<&'a mut Entry<K, V>>,
    left: usize,
}

impl<'a, K, V> Iterator for IterMut<'a, K, V> {
    type Item = (&'a K, &'a mut V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(e) = self.cur.take() {
                let Entry { key, val, next } = e;
                self.cur = next.as_deref_mut();
                self.left -= 1;
                return Some((&*key, val));
            }
            if self.left == 0 {
                return None;
            }
            self.cur = self.buckets.next()?.as_deref_mut();
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<K, V> ExactSizeIterator for IterMut<'_, K, V> {}

impl<'a, K: DictKey, V> IntoIterator for &'a Dict<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}
