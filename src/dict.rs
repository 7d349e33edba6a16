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
//! (`needs_resize` then `resize`), as the server cron does. While resizing
//! is disabled, a rehash already under way also pauses its per-operation
//! steps unless the two tables' sizes differ by the force ratio: moving
//! entries writes to pages the fork child shares (Redis 7.0's
//! `DICT_RESIZE_AVOID`; 6.2 kept moving them and paid the copy-on-write).
//!
//! Keys are hashed with SipHash-1-2 under a per-process random seed and
//! compared as bytes ([`DictKey`]), so a `Dict<Box<[u8]>, V>` is looked up
//! with a `&[u8]`. `scan` implements Redis's reverse-binary cursor, which
//! returns every element present for the whole scan at least once however the
//! table is resized between calls. Iterators borrow the dict, so they cannot
//! observe a rehash step: every iterator is a "safe iterator".
//!
//! Rust's borrows decide which calls pay the rehash step: everything taking
//! `&mut self` (`find`, `get_mut`, `insert`, `add`, `remove`, `random_entry`,
//! `sample`…) does; the shared-borrow reads (`get`, `get_key_value`,
//! `contains_key`, `scan`, iterators) do not. The resize switch
//! (`set_resize_allowed`) is per thread, as the main thread owns every dict.

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
/// Load factor above which a keyspace table grows even if that takes
/// memory over `maxmemory` (`HASHTABLE_MAX_LOAD_FACTOR`).
pub const HASHTABLE_MAX_LOAD_FACTOR: f64 = 1.618;
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
    /// `maxmemory` and the memory eviction does not count, for
    /// `expand_allowed`; 0 = no limit.
    static EXPAND_MEMORY_LIMIT: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
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

/// Tells keyspace tables the memory limit their growth must respect:
/// `maxmemory` (0 for none) and the bytes eviction does not count. The
/// server refreshes it before each command while maxmemory is set.
pub fn set_expand_memory_limit(maxmemory: usize, not_counted: usize) {
    EXPAND_MEMORY_LIMIT.with(|c| c.set((maxmemory, not_counted)));
}

/// Whether a keyspace table may allocate `more_mem` bytes of buckets to
/// grow (`dictExpandAllowed`): a new table as big as a keyspace's can by
/// itself push memory over maxmemory and evict many keys, so growth waits
/// while it would, until the load factor passes
/// [`HASHTABLE_MAX_LOAD_FACTOR`] (`overMaxmemoryAfterAlloc`).
fn expand_allowed(more_mem: usize, used_ratio: f64) -> bool {
    if used_ratio > HASHTABLE_MAX_LOAD_FACTOR {
        return true;
    }
    let (max, not_counted) = EXPAND_MEMORY_LIMIT.with(|c| c.get());
    if max == 0 {
        return true;
    }
    let used = crate::zmalloc::used_memory();
    if used + more_mem <= max {
        return true;
    }
    used.saturating_sub(not_counted) + more_mem <= max
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
}

// ---------------------------------------------------------------------------
// The dict.

/// Buckets of a new table filled per step while it is being prepared: one
/// 4 KiB page of bucket pointers, so that each operation pays at most about
/// one page fault, as Redis's operations do when they first touch the
/// lazily-zeroed pages of a `calloc`ed table. (A bigger slice let a few
/// hundred pipelined SETs fault in a whole 64 MiB table in one event-loop
/// iteration: 34 ms of CPU at the 4M→8M growth.)
const PREPARE_SLICE: usize = 4096 / std::mem::size_of::<usize>();

/// Tables up to this many buckets (64 KiB) are allocated and filled at
/// once; bigger ones are prepared, and retired, in slices.
const PREPARE_MIN: usize = 8192;

/// A big table being prepared for a rehash (see [`Dict::expand`]).
struct Pending<K, V> {
    buckets: Vec<Bucket<K, V>>,
    size: usize,
}

/// Redis's dict: see the module docs.
pub struct Dict<K, V> {
    ht: [Table<K, V>; 2],
    /// Next bucket of `ht[0]` to move; meaningful only while rehashing.
    rehash_idx: usize,
    /// The next table while its buckets are still being filled in.
    pending: Option<Pending<K, V>>,
    /// A big old table after its rehash, dropped a slice per step for
    /// the same reason (its buckets are all empty, but dropping them
    /// still visits each one).
    retired: Option<Vec<Bucket<K, V>>>,
    /// A db's main or expires table: growth respects maxmemory
    /// (`dictType.expandAllowed`).
    keyspace: bool,
}

impl<K: DictKey, V> Default for Dict<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V> Drop for Dict<K, V> {
    fn drop(&mut self) {
        for t in self.ht.iter_mut() {
            t.clear();
        }
    }
}

impl<K: DictKey, V> Dict<K, V> {
    /// An empty dict; no table is allocated until the first insert.
    pub fn new() -> Self {
        Dict { ht: [Table::empty(), Table::empty()], rehash_idx: 0, pending: None, retired: None, keyspace: false }
    }

    /// An empty dict for a db's keys or expires, whose growth is held
    /// back near maxmemory (see [`set_expand_memory_limit`]).
    pub fn new_keyspace() -> Self {
        let mut d = Self::new();
        d.keyspace = true;
        d
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

    /// True while a rehash is under way or its table is being prepared:
    /// no other resize may start.
    #[inline]
    pub fn is_resizing(&self) -> bool {
        self.is_rehashing() || self.pending.is_some()
    }

    /// Sizes the dict for `size` entries: allocates the first table, or
    /// starts rehashing into a table of the next power of two ≥ `size`
    /// (`dictExpand`). Returns false when already resizing, when `size` is
    /// below the number of entries, when the size would not change, or when
    /// the table cannot be allocated.
    ///
    /// Redis gets a big table from `calloc`, whose pages the kernel zeroes
    /// lazily; filling millions of buckets at once here would stall the
    /// server for tens of milliseconds. So a table above `PREPARE_MIN`
    /// buckets (when another table exists) is first *prepared*: its
    /// buckets are filled in slices by the same steps that later move
    /// entries, while `ht[0]` alone keeps serving (the dict does not count
    /// as rehashing yet). When it is complete the rehash proper starts.
    pub fn expand(&mut self, size: usize) -> bool {
        if self.is_resizing() || self.ht[0].used > size {
            return false;
        }
        let real = next_power(size);
        if real == self.ht[0].size() {
            return false;
        }
        if self.ht[0].size() != 0 && real > PREPARE_MIN {
            let mut buckets = Vec::new();
            if buckets.try_reserve_exact(real).is_err() {
                return false;
            }
            self.pending = Some(Pending { buckets, size: real });
            self.prepare_step();
            return true;
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

    /// Fills one slice of the pending table; when it is complete, installs
    /// it as `ht[1]` and starts the rehash.
    fn prepare_step(&mut self) {
        let Some(p) = self.pending.as_mut() else { return };
        let n = (p.size - p.buckets.len()).min(PREPARE_SLICE);
        p.buckets.resize_with(p.buckets.len() + n, || None);
        if p.buckets.len() == p.size {
            if let Some(p) = self.pending.take() {
                self.ht[1] = Table { buckets: p.buckets.into_boxed_slice(), used: 0 };
                self.rehash_idx = 0;
            }
        }
    }

    /// Shrinks (or grows) to the smallest power of two holding every entry,
    /// at least `DICT_HT_INITIAL_SIZE` (`dictResize`). Not while resizing is
    /// disabled or a rehash is under way.
    pub fn resize(&mut self) -> bool {
        if !resize_allowed() || self.is_resizing() {
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
        if self.is_resizing() {
            return;
        }
        let size = self.ht[0].size();
        if size == 0 {
            self.expand(DICT_HT_INITIAL_SIZE);
            return;
        }
        let used = self.ht[0].used;
        if used >= size
            && (resize_allowed() || used / size > DICT_FORCE_RESIZE_RATIO)
            && (!self.keyspace
                || expand_allowed(next_power(used + 1) * std::mem::size_of::<Bucket<K, V>>(), used as f64 / size as f64))
        {
            self.expand(used + 1);
        }
    }

    /// Moves `n` non-empty buckets from `ht[0]` to `ht[1]`, visiting at most
    /// `n * 10` empty buckets so that a sparse table cannot make one call
    /// slow (`dictRehash`). Returns true while there is more to move.
    pub fn rehash(&mut self, n: usize) -> bool {
        if self.retired.is_some() {
            self.retire_step();
        }
        if self.pending.is_some() {
            self.prepare_step();
            return true;
        }
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
            let new = std::mem::replace(&mut self.ht[1], Table::empty());
            let old = std::mem::replace(&mut self.ht[0], new);
            if old.size() > PREPARE_MIN {
                self.retired = Some(old.buckets.into_vec());
            }
            self.rehash_idx = 0;
            return false;
        }
        true
    }

    /// Drops one slice of a retired table.
    fn retire_step(&mut self) {
        if let Some(r) = self.retired.as_mut() {
            r.truncate(r.len().saturating_sub(PREPARE_SLICE));
            if r.is_empty() {
                self.retired = None;
            }
        }
    }

    /// The single step every operation pays while rehashing (`_dictRehashStep`).
    #[inline]
    fn rehash_step(&mut self) {
        if self.retired.is_some() {
            self.retire_step();
        }
        if self.is_resizing() && !self.rehash_paused() {
            self.rehash(1);
        }
    }

    /// True while resizing is disabled (a fork child runs) and the tables'
    /// sizes differ by less than `DICT_FORCE_RESIZE_RATIO`: per-operation
    /// rehash steps wait (Redis 7.0's `DICT_RESIZE_AVOID`).
    fn rehash_paused(&self) -> bool {
        if resize_allowed() {
            return false;
        }
        let s0 = self.ht[0].size();
        let s1 = match &self.pending {
            Some(p) => p.size,
            None => self.ht[1].size(),
        };
        if s0 == 0 || s1 == 0 {
            return false;
        }
        s0.max(s1) / s0.min(s1) < DICT_FORCE_RESIZE_RATIO
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
        self.is_resizing()
    }

    // --- lookups --------------------------------------------------------

    fn find_entry(&self, key: &[u8]) -> Option<&Entry<K, V>> {
        if self.is_empty() {
            return None;
        }
        self.find_entry_h(key, hash_bytes(key))
    }

    fn find_entry_h(&self, key: &[u8], h: u64) -> Option<&Entry<K, V>> {
        match self.ht[0].find(key, h) {
            Some(e) => Some(e),
            None if self.is_rehashing() => self.ht[1].find(key, h),
            None => None,
        }
    }

    fn find_entry_mut(&mut self, key: &[u8], h: u64) -> Option<&mut Entry<K, V>> {
        if self.is_empty() {
            return None;
        }
        // Only while rehashing can the key be in either table.
        let table = if self.is_rehashing() && self.ht[0].find(key, h).is_none() { 1 } else { 0 };
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
        let h = hash_bytes(key);
        self.find_entry_mut(key, h).map(|e| &mut e.val)
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
        let h = hash_bytes(key.key_bytes());
        if let Some(e) = self.find_entry_mut(key.key_bytes(), h) {
            return Some(std::mem::replace(&mut e.val, val));
        }
        self.push_new(key, val, h);
        None
    }

    /// Inserts only if `key` is absent; otherwise hands both back (`dictAdd`).
    pub fn add(&mut self, key: K, val: V) -> Result<(), (K, V)> {
        self.rehash_step();
        self.expand_if_needed();
        let h = hash_bytes(key.key_bytes());
        if self.find_entry_h(key.key_bytes(), h).is_some() {
            return Err((key, val));
        }
        self.push_new(key, val, h);
        Ok(())
    }

    /// The value for `key`, inserted from `make` first if absent
    /// (`dictAddOrFind`); `key` is dropped when the entry exists. Returns
    /// the value and whether it was inserted.
    pub fn get_or_insert_with<F: FnOnce() -> V>(&mut self, key: K, make: F) -> (&mut V, bool) {
        self.rehash_step();
        self.expand_if_needed();
        let h = hash_bytes(key.key_bytes());
        let inserted = self.find_entry_h(key.key_bytes(), h).is_none();
        if inserted {
            self.push_new(key, make(), h);
            // The new entry heads its chain.
            let t = if self.is_rehashing() { 1 } else { 0 };
            let idx = self.ht[t].index(h);
            if let Some(e) = self.ht[t].buckets[idx].as_deref_mut() {
                return (&mut e.val, true);
            }
            unreachable!("entry just linked at the head of its bucket");
        }
        match self.find_entry_mut(key.key_bytes(), h) {
            Some(e) => (&mut e.val, false),
            None => unreachable!("entry found a moment ago"),
        }
    }

    /// Links a new entry at the head of its chain, in `ht[1]` while
    /// rehashing (the most recently added entries are the likeliest to be
    /// accessed, and `ht[0]` is emptying).
    fn push_new(&mut self, key: K, val: V, h: u64) {
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
        self.pending = None;
        self.retired = None;
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
        self.walk_some(count, |k, v, may_repeat| {
            // Once a bucket can be seen twice (a jump, or a wrap), check
            // for duplicates by identity.
            if may_repeat && out.iter().any(|(ok, _)| std::ptr::eq(*ok, k)) {
                return false;
            }
            out.push((k, v));
            true
        });
        out
    }

    /// Calls `f` on up to `count` entries from random places of the table,
    /// without allocating (`dictGetSomeKeys`, for eviction sampling). As in
    /// Redis, an entry may be passed twice when the walk jumps or wraps.
    /// Returns how many calls were made.
    pub fn get_some_keys<F: FnMut(&K, &V)>(&mut self, count: usize, mut f: F) -> usize {
        let count = count.min(self.len());
        for _ in 0..count {
            if !self.is_rehashing() {
                break;
            }
            self.rehash_step();
        }
        self.walk_some(count, |k, v, _| {
            f(k, v);
            true
        })
    }

    /// The walk behind `sample` and `get_some_keys`: consecutive buckets
    /// from a random start, jumping elsewhere after a run of empty ones,
    /// at most `count * 10` steps. `store` gets each entry and whether
    /// entries may repeat from now on, and says whether it kept it.
    fn walk_some<'a, F: FnMut(&'a K, &'a V, bool) -> bool>(&'a self, count: usize, mut store: F) -> usize {
        let mut stored = 0;
        if count == 0 {
            return 0;
        }
        let rehashing = self.is_rehashing();
        let tables = if rehashing { 2 } else { 1 };
        let max_mask = if rehashing { self.ht[0].mask().max(self.ht[1].mask()) } else { self.ht[0].mask() };
        let mut max_steps = count * 10;
        let mut i = random_u64() & max_mask;
        let mut empty_len = 0usize;
        let mut visited: u64 = 0;
        let mut may_repeat = false;
        while stored < count && max_steps > 0 {
            max_steps -= 1;
            for j in 0..tables {
                let t = &self.ht[j];
                if tables == 2 && j == 0 && (i as usize) < self.rehash_idx {
                    // Buckets of ht[0] below rehash_idx are empty; when
                    // shrinking, so are those past ht[1]'s end: skip ahead.
                    if i as usize >= self.ht[1].size() {
                        i = self.rehash_idx as u64;
                    } else {
                        continue;
                    }
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
                            if store(&e.key, &e.val, may_repeat) {
                                stored += 1;
                                if stored == count {
                                    return stored;
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
        stored
    }

    // --- accounting -----------------------------------------------------

    /// Bytes used by the dict itself: the struct, both bucket arrays and one
    /// entry allocation per element. Heap data owned by keys and values is
    /// the caller's to add.
    pub fn mem_usage(&self) -> usize {
        std::mem::size_of::<Self>()
            + (self.slots()
                + self.pending.as_ref().map_or(0, |p| p.buckets.capacity())
                + self.retired.as_ref().map_or(0, |r| r.capacity()))
                * std::mem::size_of::<Bucket<K, V>>()
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

/// A deep copy with the same entries (COPY of a hash or set), sized for
/// them at once.
impl<K: DictKey + Clone, V: Clone> Clone for Dict<K, V> {
    fn clone(&self) -> Self {
        let mut d = Dict::new();
        d.keyspace = self.keyspace;
        d.expand(self.len());
        for (k, v) in self.iter() {
            d.insert(k.clone(), v.clone());
        }
        d
    }
}

/// Two dicts are equal when they hold the same entries.
impl<K: DictKey, V: PartialEq> PartialEq for Dict<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k.key_bytes()) == Some(v))
    }
}

impl<K: DictKey, V: Eq> Eq for Dict<K, V> {}

impl<K: DictKey + std::fmt::Debug, V: std::fmt::Debug> std::fmt::Debug for Dict<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// The buckets of ht[0] followed by those of ht[1].
type BothTables<I> = std::iter::Chain<I, I>;

/// Shared iterator over a dict's entries.
pub struct Iter<'a, K, V> {
    buckets: BothTables<std::slice::Iter<'a, Bucket<K, V>>>,
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
    buckets: BothTables<std::slice::IterMut<'a, Bucket<K, V>>>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    /// A test-local PRNG, seeded explicitly so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            splitmix64(&mut self.0)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
    }

    fn key(i: u64) -> Box<[u8]> {
        format!("key:{}", i).into_bytes().into_boxed_slice()
    }

    /// Checks the structure: counts match, every entry sits in the bucket
    /// its hash selects, ht[0] is empty below rehash_idx, no key twice.
    fn check_invariants<V>(d: &Dict<Box<[u8]>, V>) {
        let mut seen = HashSet::new();
        for (t, table) in d.ht.iter().enumerate() {
            let mut count = 0;
            for (i, b) in table.buckets.iter().enumerate() {
                let mut cur = b.as_deref();
                if t == 0 && d.is_rehashing() && i < d.rehash_idx {
                    assert!(cur.is_none(), "bucket {} below rehash_idx {} not empty", i, d.rehash_idx);
                }
                while let Some(e) = cur {
                    assert_eq!(table.index(hash_bytes(&e.key)), i);
                    assert!(seen.insert(e.key.clone()), "duplicate key");
                    count += 1;
                    cur = e.next.as_deref();
                }
            }
            assert_eq!(count, table.used);
            assert!(table.size() == 0 || table.size().is_power_of_two());
        }
        if !d.is_rehashing() {
            assert_eq!(d.ht[1].used, 0);
        }
        assert_eq!(seen.len(), d.len());
        assert_eq!(d.iter().count(), d.len());
    }

    #[test]
    fn get_some_keys_visits_existing_entries_without_collecting() {
        let mut d: Dict<Box<[u8]>, u64> = Dict::new();
        for i in 0..1000 {
            d.insert(key(i), i);
        }
        for _ in 0..100 {
            let mut n = 0;
            let got = d.get_some_keys(5, |k, v| {
                assert_eq!(*k, key(*v));
                n += 1;
            });
            assert_eq!(got, n);
            assert_eq!(n, 5);
        }
        // Never more than the dict holds; nothing from an empty dict.
        let mut small: Dict<Box<[u8]>, u64> = Dict::new();
        small.insert(key(1), 1);
        small.insert(key(2), 2);
        assert!(small.get_some_keys(16, |_, _| {}) <= 2);
        let mut empty: Dict<Box<[u8]>, u64> = Dict::new();
        assert_eq!(empty.get_some_keys(5, |_, _| panic!("no entries")), 0);
    }

    #[test]
    fn keyspace_tables_wait_to_grow_near_maxmemory() {
        // A limit no growth fits under (unit tests count no memory, so
        // any allocation is "more" than 1 byte allows).
        set_expand_memory_limit(1, 0);
        let mut d: Dict<Box<[u8]>, u64> = Dict::new_keyspace();
        let mut plain: Dict<Box<[u8]>, u64> = Dict::new();
        for i in 0..7 {
            d.insert(key(i), i);
            plain.insert(key(i), i);
        }
        // The first table is always allocated; growth waits until the
        // load factor passes 1.618 (7 entries in 4 buckets).
        assert_eq!(d.slots(), DICT_HT_INITIAL_SIZE);
        assert!(plain.slots() > DICT_HT_INITIAL_SIZE);
        d.insert(key(7), 7);
        assert!(d.slots() > DICT_HT_INITIAL_SIZE);
        // No limit: the usual rule.
        set_expand_memory_limit(0, 0);
        let mut d: Dict<Box<[u8]>, u64> = Dict::new_keyspace();
        for i in 0..5 {
            d.insert(key(i), i);
        }
        assert!(d.slots() > DICT_HT_INITIAL_SIZE);
    }

    #[test]
    fn insert_get_replace_add_remove() {
        let mut d: Dict<Box<[u8]>, u64> = Dict::new();
        assert!(d.is_empty());
        assert_eq!(d.slots(), 0);
        assert_eq!(d.get(b"a"), None);
        assert_eq!(d.remove(b"a"), None);
        assert_eq!(d.insert(key(1), 10), None);
        assert_eq!(d.slots(), DICT_HT_INITIAL_SIZE);
        assert_eq!(d.insert(key(1), 11), Some(10));
        assert_eq!(d.len(), 1);
        assert_eq!(d.get(b"key:1"), Some(&11));
        assert_eq!(d.find(b"key:1"), Some(&11));
        assert!(d.contains_key(b"key:1"));
        assert!(!d.contains_key(b"key:2"));
        match d.add(key(1), 12) {
            Err((k, v)) => assert_eq!((&k[..], v), (&b"key:1"[..], 12)),
            Ok(()) => panic!("add of an existing key succeeded"),
        }
        assert!(d.add(key(2), 20).is_ok());
        if let Some(v) = d.get_mut(b"key:2") {
            *v += 1;
        }
        assert_eq!(d.get_key_value(b"key:2").map(|(k, v)| (&k[..], *v)), Some((&b"key:2"[..], 21)));
        assert_eq!(d.remove(b"key:1").map(|(k, v)| (k.to_vec(), v)), Some((b"key:1".to_vec(), 11)));
        assert_eq!(d.remove(b"key:1"), None);
        assert_eq!(d.len(), 1);
        d.clear();
        assert!(d.is_empty());
        assert_eq!(d.slots(), 0);
        assert_eq!(d.get(b"key:2"), None);
        // Empty and binary keys are keys like any other.
        d.insert(Box::new([]), 1);
        d.insert(Box::new([0, 255, 0]), 2);
        assert_eq!(d.get(b""), Some(&1));
        assert_eq!(d.get(&[0, 255, 0]), Some(&2));
        assert_eq!(d.get(&[0, 255]), None);
    }

    #[test]
    fn get_or_insert_with_adds_once() {
        let mut d: Dict<Box<[u8]>, Vec<u32>> = Dict::new();
        for i in 0..5000u32 {
            let (v, inserted) = d.get_or_insert_with(key(u64::from(i % 1000)), Vec::new);
            assert_eq!(inserted, i < 1000);
            v.push(i);
        }
        assert_eq!(d.len(), 1000);
        check_invariants(&d);
        for i in 0..1000u32 {
            assert_eq!(d.get(&key(u64::from(i))).map(|v| v.len()), Some(5));
        }
    }

    #[test]
    fn at_scale_with_rehashing_interleaved() {
        let n = 100_000u64;
        let mut d: Dict<Box<[u8]>, u64> = Dict::new();
        let mut saw_rehashing = 0;
        for i in 0..n {
            assert_eq!(d.insert(key(i), i), None);
            if d.is_rehashing() {
                saw_rehashing += 1;
                // Lookups during a rehash find old and new entries alike.
                if i % 97 == 0 {
                    assert_eq!(d.get(&key(i / 2)), Some(&(i / 2)));
                    assert_eq!(d.get(&key(i)), Some(&i));
                }
            }
        }
        assert!(saw_rehashing > 1000, "rehashing was observed {} times", saw_rehashing);
        assert_eq!(d.len(), n as usize);
        check_invariants(&d);
        for i in 0..n {
            assert_eq!(d.find(&key(i)), Some(&i));
        }
        assert_eq!(d.get(&key(n)), None);
        // Remove the odd keys, replacing every tenth even one meanwhile.
        for i in 0..n {
            if i % 2 == 1 {
                assert_eq!(d.remove(&key(i)).map(|(_, v)| v), Some(i));
            } else if i % 10 == 0 {
                assert_eq!(d.insert(key(i), i + 1), Some(i));
            }
        }
        assert_eq!(d.len(), (n / 2) as usize);
        check_invariants(&d);
        for i in 0..n {
            let want = if i % 2 == 1 {
                None
            } else if i % 10 == 0 {
                Some(i + 1)
            } else {
                Some(i)
            };
            assert_eq!(d.get(&key(i)).copied(), want);
        }
    }

    #[test]
    fn no_entry_lost_or_duplicated_across_single_rehash_steps() {
        let mut rng = Rng(7);
        let mut d: Dict<Box<[u8]>, u64> = Dict::new();
        let mut model: HashMap<u64, u64> = HashMap::new();
        for round in 0..20_000u64 {
            let k = rng.below(3000);
            match rng.below(4) {
                0 | 1 => {
                    assert_eq!(d.insert(key(k), round), model.insert(k, round));
                }
                2 => {
                    assert_eq!(d.remove(&key(k)).map(|(_, v)| v), model.remove(&k));
                }
                _ => {
                    if d.needs_resize() {
                        d.resize();
                    }
                    d.rehash(1);
                }
            }
            if round % 500 == 0 {
                check_invariants(&d);
            }
        }
        check_invariants(&d);
        assert_eq!(d.len(), model.len());
        for (k, v) in &model {
            assert_eq!(d.get(&key(*k)), Some(v));
        }
        // Step a fresh rehash one bucket at a time, checking each state.
        assert!(d.expand(d.len() * 8));
        assert!(d.is_resizing());
        let mut steps = 0;
        while d.rehash(1) {
            check_invariants(&d);
            steps += 1;
            assert!(steps < 1_000_000);
        }
        check_invariants(&d);
        assert_eq!(d.ht[0].size(), next_power(model.len() * 8));
        for (k, v) in &model {
            assert_eq!(d.get(&key(*k)), Some(v));
        }
    }

    /// A big table is filled a slice per step before the rehash proper
    /// starts; the dict keeps working on `ht[0]` meanwhile.
    #[test]
    fn big_tables_are_prepared_in_slices() {
        let mut d: Dict<Box<[u8]>, u64> = Dict::new();
        for i in 0..1000u64 {
            d.insert(key(i), i);
        }
        while d.rehash(100) {}
        let target = PREPARE_MIN * 4;
        assert!(d.expand(target));
        assert!(d.is_resizing());
        assert!(!d.is_rehashing(), "must not rehash before the table is complete");
        assert!(!d.expand(target * 2), "no second resize while preparing");
        let mut prepared = d.pending.as_ref().map(|p| p.buckets.len()).unwrap_or(0);
        assert!(prepared <= PREPARE_SLICE);
        let mut i = 1000u64;
        while !d.is_rehashing() {
            // Every operation pays one bounded preparation step.
            d.insert(key(i), i);
            assert_eq!(d.find(&key(i / 2)), Some(&(i / 2)));
            i += 1;
            if let Some(p) = d.pending.as_ref() {
                assert!(p.buckets.len() - prepared <= 2 * PREPARE_SLICE);
                prepared = p.buckets.len();
            }
            assert!(i < 1000 + 100);
        }
        assert_eq!(d.ht[1].size(), target);
        while d.rehash(100) {}
        assert_eq!(d.ht[0].size(), target);
        // Shrinking back retires the big table, dropped a slice per step.
        for j in 0..i {
            d.remove(&key(j));
        }
        d.insert(key(0), 0);
        i = 1;
        assert!(d.resize());
        while d.rehash(1) {}
        let left = d.retired.as_ref().map(|r| r.len()).unwrap_or(0);
        assert!(left > 0 && left <= target);
        d.find(&key(0));
        let after = d.retired.as_ref().map(|r| r.len()).unwrap_or(0);
        assert!(after < left && left - after <= PREPARE_SLICE);
        while d.retired.is_some() {
            d.find(&key(0));
        }
        for j in 0..i {
            assert_eq!(d.get(&key(j)), Some(&j));
        }
        check_invariants(&d);
    }

    #[test]
    fn shrinks_after_deletes_when_asked() {
        let mut d: Dict<Box<[u8]>, ()> = Dict::new();
        for i in 0..10_000 {
            d.insert(key(i), ());
        }
        while d.rehash(100) {}
        assert_eq!(d.slots(), 16384);
        assert!(!d.needs_resize());
        for i in 100..10_000 {
            d.remove(&key(i));
        }
        // Deletes never shrink by themselves: the cron does.
        assert_eq!(d.slots(), 16384);
        assert!(d.needs_resize());
        assert!(d.resize());
        assert!(d.is_rehashing());
        assert!(!d.resize(), "resize while rehashing");
        assert!(!d.rehash_ms(100_000));
        assert_eq!(d.slots(), 128);
        assert!(!d.needs_resize());
        check_invariants(&d);
        for i in 0..100 {
            assert!(d.contains_key(&key(i)));
        }
        // Emptied out, it shrinks to the initial size.
        for i in 0..100 {
            d.remove(&key(i));
        }
        assert!(d.needs_resize());
        assert!(d.resize());
        d.rehash(1);
        assert_eq!(d.slots(), DICT_HT_INITIAL_SIZE);
        assert!(!d.needs_resize());
    }

    #[test]
    fn rehash_steps_pause_while_resize_disabled() {
        let mut d: Dict<Box<[u8]>, u64> = Dict::new();
        for i in 0..5 {
            d.insert(key(i), i);
        }
        // 4 -> 8 buckets: a rehash is under way.
        assert!(d.is_rehashing());
        set_resize_allowed(false);
        let before = d.ht[0].used;
        for i in 0..20 {
            assert_eq!(d.get_mut(&key(i % 5)).copied(), Some(i % 5));
        }
        assert_eq!(d.ht[0].used, before, "entries moved while a child would share the pages");
        for i in 5..10 {
            d.insert(key(i), i);
        }
        check_invariants(&d);
        set_resize_allowed(true);
        for i in 0..40 {
            d.get_mut(&key(i % 10));
        }
        assert!(!d.is_rehashing());
        for i in 0..10 {
            assert_eq!(d.get(&key(i)), Some(&i));
        }
    }

    #[test]
    fn grows_only_past_force_ratio_while_resize_disabled() {
        let mut d: Dict<Box<[u8]>, u64> = Dict::new();
        set_resize_allowed(false);
        for i in 0..24 {
            d.insert(key(i), i);
        }
        assert_eq!(d.slots(), 4, "grew before the load factor passed 5");
        assert!(!d.is_rehashing());
        d.insert(key(24), 24);
        assert!(d.is_rehashing());
        assert_eq!(d.slots(), 4 + 32);
        while d.rehash(1) {}
        for i in 25..200 {
            d.insert(key(i), i);
        }
        for i in 0..190 {
            d.remove(&key(i));
        }
        assert!(d.needs_resize());
        assert!(!d.resize(), "shrank while resizing was disabled");
        set_resize_allowed(true);
        assert!(resize_allowed());
        assert!(d.resize());
        check_invariants(&d);
        for i in 190..200 {
            assert_eq!(d.get(&key(i)), Some(&i));
        }
    }

    #[test]
    fn expand_presizes_and_refuses_nonsense() {
        let mut d: Dict<Box<[u8]>, ()> = Dict::new();
        assert!(d.expand(1000));
        assert_eq!(d.slots(), 1024);
        assert!(!d.is_rehashing());
        assert!(!d.expand(1000), "same size");
        for i in 0..1000 {
            d.insert(key(i), ());
        }
        assert_eq!(d.slots(), 1024, "a pre-sized table does not grow");
        assert!(!d.expand(10), "smaller than the element count");
        assert!(!d.expand(usize::MAX), "cannot allocate");
        assert!(d.expand(5000));
        assert!(d.is_rehashing());
        assert!(!d.expand(10_000), "already rehashing");
        assert_eq!(next_power(0), 4);
        assert_eq!(next_power(5), 8);
        assert_eq!(next_power(1 << 20), 1 << 20);
    }

    /// Runs a full SCAN while `mutate` changes the dict between calls and
    /// returns every key seen.
    fn full_scan(d: &mut Dict<Box<[u8]>, u64>, mut mutate: impl FnMut(&mut Dict<Box<[u8]>, u64>)) -> Vec<Box<[u8]>> {
        let mut seen = Vec::new();
        let mut cursor = 0u64;
        let mut calls = 0;
        loop {
            cursor = d.scan(cursor, |k, _| seen.push(k.clone()));
            calls += 1;
            assert!(calls < 10_000_000, "scan does not terminate");
            if cursor == 0 {
                break;
            }
            mutate(d);
        }
        seen
    }

    #[test]
    fn scan_without_changes_returns_everything_exactly_once() {
        for n in [0u64, 1, 5, 100, 3000] {
            let mut d: Dict<Box<[u8]>, u64> = Dict::new();
            for i in 0..n {
                d.insert(key(i), i);
            }
            while d.rehash(100) {}
            let mut seen = full_scan(&mut d, |_| {});
            seen.sort();
            let mut want: Vec<Box<[u8]>> = (0..n).map(key).collect();
            want.sort();
            assert_eq!(seen, want);
            // Frozen in the middle of a rehash, growing and shrinking.
            if n >= 100 {
                for target in [n as usize * 4, n as usize] {
                    let mut d2: Dict<Box<[u8]>, u64> = Dict::new();
                    d2.expand(n as usize * 2);
                    for i in 0..n {
                        d2.insert(key(i), i);
                    }
                    assert!(d2.expand(target));
                    // A big table is prepared first, then rehashed.
                    while !d2.is_rehashing() {
                        assert!(d2.rehash(10));
                    }
                    d2.rehash(10);
                    assert!(d2.is_rehashing());
                    let mut seen = full_scan(&mut d2, |_| {});
                    seen.sort();
                    assert_eq!(seen, want);
                }
            }
        }
    }

    #[test]
    fn scan_guarantee_holds_under_growth_and_shrink() {
        let mut rng = Rng(0x5eed);
        let mut grows_mid_scan = 0;
        let mut shrinks_mid_scan = 0;
        for round in 0..300u64 {
            let mut d: Dict<Box<[u8]>, u64> = Dict::new();
            let stable_n = 1 + rng.below(300);
            let volatile_start = rng.below(4000);
            // Stable keys live through the whole scan; volatile keys come
            // and go, driving the table to grow and shrink.
            for i in 0..stable_n {
                d.insert(key(i), i);
            }
            let mut next_volatile = 1_000_000u64;
            let mut volatile: Vec<u64> = Vec::new();
            for _ in 0..volatile_start {
                d.insert(key(next_volatile), next_volatile);
                volatile.push(next_volatile);
                next_volatile += 1;
            }
            if rng.below(2) == 0 {
                while d.rehash(100) {}
            }
            let grow_bias = rng.below(3);
            let mut mutate = |d: &mut Dict<Box<[u8]>, u64>| match rng.below(6) {
                0 | 1 if grow_bias > 0 && volatile.len() < 8000 => {
                    for _ in 0..rng.below(40) {
                        d.insert(key(next_volatile), next_volatile);
                        volatile.push(next_volatile);
                        next_volatile += 1;
                    }
                }
                0..=2 => {
                    for _ in 0..rng.below(60) {
                        if volatile.is_empty() {
                            break;
                        }
                        let i = rng.below(volatile.len() as u64) as usize;
                        let k = volatile.swap_remove(i);
                        assert!(d.remove(&key(k)).is_some());
                    }
                    if d.needs_resize() {
                        d.resize();
                    }
                }
                3 => {
                    d.rehash(rng.below(50) as usize);
                }
                4 => {
                    if d.needs_resize() {
                        d.resize();
                    }
                    d.rehash_ms(0);
                }
                _ => {}
            };
            let seen = full_scan(&mut d, |d| {
                let before = (d.ht[0].size(), d.ht[1].size());
                mutate(d);
                let after = (d.ht[0].size(), d.ht[1].size());
                if after.1 != 0 && before.1 == 0 {
                    if after.1 > after.0 {
                        grows_mid_scan += 1;
                    } else {
                        shrinks_mid_scan += 1;
                    }
                }
            });
            let seen: HashSet<Box<[u8]>> = seen.into_iter().collect();
            for i in 0..stable_n {
                assert!(seen.contains(&key(i)), "round {}: stable key {} not returned by SCAN", round, i);
            }
            check_invariants(&d);
        }
        // The property was exercised in both directions.
        assert!(grows_mid_scan > 50 && shrinks_mid_scan > 50, "{} grows, {} shrinks", grows_mid_scan, shrinks_mid_scan);
    }

    #[test]
    fn scan_guarantee_with_table_resized_at_every_call() {
        // Alternate a 4x growth and a shrink back between every two calls.
        for n in [50u64, 700] {
            let mut d: Dict<Box<[u8]>, u64> = Dict::new();
            for i in 0..n {
                d.insert(key(i), i);
            }
            let mut flip = false;
            let seen = full_scan(&mut d, |d| {
                while d.rehash(100) {}
                flip = !flip;
                let target = if flip { d.len() * 8 } else { d.len() };
                d.expand(target);
                d.rehash(1);
            });
            let seen: HashSet<Box<[u8]>> = seen.into_iter().collect();
            assert_eq!(seen.len(), n as usize);
        }
    }

    #[test]
    fn random_entry_reaches_every_key() {
        let mut d: Dict<Box<[u8]>, u64> = Dict::new();
        assert!(d.random_entry().is_none());
        assert!(d.fair_random_entry().is_none());
        for i in 0..200 {
            d.insert(key(i), i);
        }
        let mut seen = HashSet::new();
        let mut fair_seen = HashSet::new();
        for _ in 0..20_000 {
            let (k, v) = d.random_entry().map(|(k, v)| (k.clone(), *v)).unwrap_or_default();
            assert_eq!(d.get(&k), Some(&v));
            seen.insert(k);
            let (k, v) = d.fair_random_entry().map(|(k, v)| (k.clone(), *v)).unwrap_or_default();
            assert_eq!(d.get(&k), Some(&v));
            fair_seen.insert(k);
        }
        assert_eq!(seen.len(), 200);
        assert_eq!(fair_seen.len(), 200);
        // While rehashing, both tables are drawn from.
        let mut d: Dict<Box<[u8]>, u64> = Dict::new();
        d.expand(4096);
        for i in 0..3000 {
            d.insert(key(i), i);
        }
        d.expand(8192);
        d.rehash(600);
        assert!(d.is_rehashing());
        let frac_t1 = d.ht[1].used as f64 / d.len() as f64;
        assert!(frac_t1 > 0.1 && frac_t1 < 0.5, "{}", frac_t1);
        let mut from_t1 = 0;
        let mut seen = HashSet::new();
        for _ in 0..5000 {
            // Peek without the step random_entry takes, to keep the state.
            let (k, _) = d.random_entry_no_step().map(|(k, v)| (k.clone(), *v)).unwrap_or_default();
            if d.ht[1].find(&k, hash_bytes(&k)).is_some() {
                from_t1 += 1;
            }
            seen.insert(k);
        }
        // Buckets are picked uniformly over the live range of both tables,
        // so ht[1]'s share follows its share of the entries, roughly.
        let got = from_t1 as f64 / 5000.0;
        assert!((got - frac_t1).abs() < 0.15, "{} of 5000 from ht[1], {} of entries there", from_t1, frac_t1);
        assert!(seen.len() > 2000);
    }

    #[test]
    fn sample_returns_distinct_existing_entries() {
        let mut rng = Rng(99);
        for round in 0..400 {
            let mut d: Dict<Box<[u8]>, u64> = Dict::new();
            let n = rng.below(2000);
            for i in 0..n {
                d.insert(key(i), i * 3);
            }
            // Some rounds sparse (after deletes), some mid-rehash.
            if rng.below(3) == 0 {
                for i in 0..n {
                    if i % 8 != 0 {
                        d.remove(&key(i));
                    }
                }
                if rng.below(2) == 0 && d.needs_resize() {
                    d.resize();
                }
            }
            let len = d.len();
            let count = 1 + rng.below(40) as usize;
            let dense = !d.is_rehashing() && len * 2 >= d.slots();
            let s: Vec<(Box<[u8]>, u64)> = d.sample(count).into_iter().map(|(k, v)| (k.clone(), *v)).collect();
            assert!(s.len() <= count.min(len), "round {}", round);
            if dense && len > 0 {
                assert!(!s.is_empty(), "round {}: empty sample from a dense table", round);
            }
            if count >= len && len <= 4 && d.slots() <= 8 {
                assert_eq!(s.len(), len, "round {}: small table not sampled whole", round);
            }
            let mut distinct = HashSet::new();
            for (k, v) in &s {
                assert!(distinct.insert(k.clone()), "round {}: duplicate in sample", round);
                assert_eq!(d.get(k), Some(v));
            }
        }
    }

    #[test]
    fn rehash_ms_terminates_and_completes() {
        let mut d: Dict<Box<[u8]>, u64> = Dict::new();
        d.expand(200_000);
        for i in 0..200_000 {
            d.insert(key(i), i);
        }
        assert!(d.expand(1 << 20));
        let mut calls = 0;
        while d.rehash_ms(1) {
            calls += 1;
            assert!(calls < 100_000);
        }
        assert!(!d.is_rehashing());
        assert_eq!(d.slots(), 1 << 20);
        assert!(!d.rehash_ms(1), "nothing to do");
        assert_eq!(d.len(), 200_000);
        for i in (0..200_000).step_by(1000) {
            assert_eq!(d.get(&key(i)), Some(&i));
        }
        // A huge empty-bucket run cannot make one step slow: rehash(1)
        // visits at most 10 empty buckets.
        let mut d: Dict<Box<[u8]>, u64> = Dict::new();
        d.expand(1 << 16);
        d.insert(key(1), 1);
        d.resize();
        let before = d.rehash_idx;
        d.rehash(1);
        assert!(d.rehash_idx <= before + 10 || !d.is_rehashing());
    }

    #[test]
    fn iterators_visit_each_entry_once_and_can_mutate() {
        let mut d: Dict<Box<[u8]>, u64> = Dict::new();
        for i in 0..1000 {
            d.insert(key(i), i);
        }
        d.expand(8192);
        d.rehash(100);
        assert!(d.is_rehashing());
        assert_eq!(d.iter().len(), 1000);
        for (_, v) in d.iter_mut() {
            *v *= 2;
        }
        let keys: HashSet<&Box<[u8]>> = d.keys().collect();
        assert_eq!(keys.len(), 1000);
        let sum: u64 = d.values().sum();
        assert_eq!(sum, (0..1000u64).map(|i| i * 2).sum());
        for i in 0..1000 {
            assert_eq!(d.get(&key(i)), Some(&(i * 2)));
        }
        let dbg = format!("{:?}", {
            let mut small: Dict<String, u8> = Dict::new();
            small.insert("a".to_string(), 1);
            small
        });
        assert_eq!(dbg, "{\"a\": 1}");
    }

    #[test]
    fn stats_and_mem_usage() {
        let mut d: Dict<Box<[u8]>, u64> = Dict::new();
        assert_eq!(d.stats(), "No stats available for empty dictionaries\n");
        let empty = d.mem_usage();
        for i in 0..3 {
            d.insert(key(i), i);
        }
        let s = d.stats();
        assert!(s.starts_with("Hash table 0 stats (main hash table):\n table size: 4\n number of elements: 3\n"), "{}", s);
        assert!(s.contains(" Chain length distribution:\n"), "{}", s);
        // The distribution's counts add up to the table size.
        let total: usize = s
            .lines()
            .filter(|l| l.starts_with("   "))
            .filter_map(|l| l.trim().split(':').nth(1)?.split_whitespace().next()?.parse::<usize>().ok())
            .sum();
        assert_eq!(total, 4, "{}", s);
        let small = d.mem_usage();
        assert!(small > empty);
        for i in 3..1000 {
            d.insert(key(i), i);
        }
        let big = d.mem_usage();
        assert!(big >= small + 997 * std::mem::size_of::<Entry<Box<[u8]>, u64>>());
        // While rehashing, both tables report.
        d.expand(4096);
        d.rehash(10);
        assert!(d.is_rehashing());
        let s = d.stats();
        assert!(s.contains("Hash table 0 stats (main hash table):\n table size: 1024\n"), "{}", s);
        assert!(s.contains("Hash table 1 stats (rehashing target):\n table size: 4096\n"), "{}", s);
        assert!(d.mem_usage() > big);
    }

    #[test]
    fn hash_is_stable_and_seeded_once() {
        assert_eq!(hash_bytes(b"foo"), hash_bytes(b"foo"));
        assert_ne!(hash_bytes(b"foo"), hash_bytes(b"fop"));
        assert_eq!(hash_bytes_nocase(b"FoO"), hash_bytes_nocase(b"foo"));
        assert_eq!(hash_seed(), hash_seed());
        assert_eq!(hash_bytes(b"x"), siphash::siphash12(&hash_seed(), b"x"));
    }

    #[test]
    fn micro_benchmark_prints_only() {
        let n = 200_000u64;
        let keys: Vec<Box<[u8]>> = (0..n).map(key).collect();
        let t = Instant::now();
        let mut d: Dict<Box<[u8]>, u64> = Dict::new();
        for (i, k) in keys.iter().enumerate() {
            d.insert(k.clone(), i as u64);
        }
        let ins = t.elapsed();
        let t = Instant::now();
        let mut hits = 0;
        for k in &keys {
            hits += d.find(k).is_some() as usize;
        }
        let look = t.elapsed();
        assert_eq!(hits, n as usize);
        let t = Instant::now();
        let mut m: HashMap<Box<[u8]>, u64> = HashMap::new();
        for (i, k) in keys.iter().enumerate() {
            m.insert(k.clone(), i as u64);
        }
        let mins = t.elapsed();
        let t = Instant::now();
        for k in &keys {
            hits += m.contains_key(k) as usize;
        }
        let mlook = t.elapsed();
        println!(
            "dict: {} inserts {:?}, lookups {:?}, {} bytes/entry (excl. key data); std HashMap: inserts {:?}, lookups {:?}",
            n,
            ins,
            look,
            d.mem_usage() / n as usize,
            mins,
            mlook
        );
        assert_eq!(hits, 2 * n as usize);
    }
}
