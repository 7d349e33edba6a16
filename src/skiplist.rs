//! The sorted-set "skiplist" encoding (mirrors the zskiplist half of t_zset.c).
//!
//! A big sorted set is two structures that hold the same elements:
//! - a [`Dict`] member → score, for O(1) ZSCORE / membership;
//! - a [`Zskiplist`] ordered by (score, member bytes), for ranks and ranges.
//!
//! The skiplist is William Pugh's, as Redis extends it:
//! 1. every node has a random height h (1 ≤ h ≤ [`ZSKIPLIST_MAXLEVEL`]; each
//!    extra level with probability [`ZSKIPLIST_P`]) and one *link* per level;
//! 2. a link stores its `forward` node and its `span`, the number of level-0
//!    steps it jumps over, so a search adds up spans to know the rank of the
//!    node it stands on: ZRANK and "element at rank r" are O(log n);
//! 3. level 0 is a doubly linked list (`backward`), so ranges can be walked
//!    in both directions, and the list knows its `tail`;
//! 4. equal scores are ordered by member bytes (memcmp, then length), which
//!    also makes lexicographic ranges (ZRANGEBYLEX) work when all scores are
//!    equal.
//!
//! A link whose `forward` is nil keeps a span too, as Redis does: the number
//! of nodes after its node (so the header's is the length). Nothing reads it,
//! but insertion and deletion keep it exact and the invariant checker checks it.
//!
//! # Storage
//!
//! Safe Rust has no raw node pointers here, so the skiplist is an arena of
//! 8-byte words, and a node is the offset of its *block* in it:
//!
//! ```text
//! word 0   score (f64 bits)
//! word 1   backward (low 32 bits) | member slot (high 32 bits)
//! word 2+i link on level i: forward (low 32 bits) | span (high 32 bits)
//! ```
//!
//! A node of height h owns 2 + h consecutive words. A search step reads
//! the forward node's score and, when it moves there, that node's link on
//! the same level: both in one block, usually one cache line, as in
//! Redis, where a node is one allocation holding its score and levels.
//! The member is not in the block (a word cannot hold an `Arc`): the block
//! names a slot of the `members` table, which a search reads only when
//! scores tie, and iteration when it yields an element.
//!
//! - The header's block is at offset 0 and has 32 links. Because the
//!   header is never the forward target of a link, offset 0 doubles as
//!   "nil" for `forward`, `backward` and `tail` (Redis's NULL).
//! - A deleted node's block goes to a free list for its height (chained
//!   through its score word) and is reused for the next node of that
//!   height; it keeps its member slot, emptied, so free slots need no list
//!   of their own. The height is not stored: deleting a node finds it as
//!   the number of levels on which the predecessor links to the node.
//! - Arena and member table are chunked vectors (4096 elements a chunk,
//!   the first one growing geometrically): growing never copies them, and
//!   at most one chunk of each is spare. A block never straddles two
//!   chunks; the rest of a chunk too short for the next block becomes a
//!   free block of its own height.
//!
//! A node is 16 bytes of block head plus on average 4/3 links of 8 bytes,
//! plus a 16-byte member slot (the `Arc`'s pointer and length), with no
//! allocation of its own.
//!
//! # The member is stored once
//!
//! Redis lets the dict and the skiplist share one sds. Here the member is an
//! [`Arc<[u8]>`](Member): one allocation (16 bytes of counts + the bytes) that
//! the skiplist node and the dict key both point to. Storing it twice (a
//! `Box<[u8]>` in each) costs two allocations and the bytes twice, which is
//! more than the 16 bytes of counts as soon as the member is longer than a
//! few bytes; a dict whose key is the node (reading the bytes through it)
//! cannot work either, since a dict key must carry its own bytes to be
//! hashed and compared. `Arc` rather than `Rc` keeps a sorted set `Send`,
//! so a background thread may free it (lazy free).
//!
//! The dict value is the node ([`NodeId`]), as Redis's points at the
//! node's score: ZSCORE reads the score from the node, and ZADD, ZINCRBY,
//! ZREM and ZRANK of a member hand its node to the skiplist, whose search
//! then stops at the node by identity instead of comparing its member
//! (two memory accesses: the member slot and the bytes).
//!
//! Memory per element, for a member of n bytes: block 16 + links ≈ 11 +
//! member slot 16 + dict entry 32 (key 16, node 4 + 4 of padding, chain
//! 8) + bucket pointers ≈ 8–16 + member allocation (16 + n rounded up to
//! a jemalloc size class). Measured as the growth of `used_memory` (counting
//! allocator) over ZADDs of 100 members each (100k members, Redis 7.0 in
//! brackets): 8-byte members 117 (112), 16-byte 117 (128), 40-byte 149
//! (144); 1M 10-byte members 115 (109). The links are cheaper than
//! Redis's (16-byte pointers+spans in a per-node allocation), the `Arc`
//! counts dearer than an sds header.
//!
//! # Scores
//!
//! A NaN score would break the ordering. [`Zskiplist::insert`],
//! [`Zskiplist::update_score`], [`Zset::insert_or_update`] and [`Zset::add`]
//! refuse it ([`ZsetError::NanScore`], or `None`); ZADD and ZINCRBY must
//! reply with Redis's error before getting here (`ERR value is not a valid
//! float`, or `ERR resulting score is not a number (NaN)` for an increment
//! such as `+inf` + `-inf`, which [`Zset::add`] reports as `NanScore`).
//! Ordering uses f64 `<` / `==`, so `-0.0` and `0.0` are the same score.
//!
//! # Limits
//!
//! Offsets and member slots are `u32`: the arena holds at most 2³² words
//! (32 GiB), about 8·10⁸ elements at 5⅓ words each (more than 90 GB of
//! memory with the dict and the members); past that, inserts fail with
//! [`ZsetError::Full`].

use std::sync::Arc;

use crate::dict::{Dict, DictKey};
use crate::util::random_u64;

/// Most levels a node may have (enough for 2^64 elements at P = 1/4).
pub const ZSKIPLIST_MAXLEVEL: usize = 32;
/// Probability that a node has one level more.
pub const ZSKIPLIST_P: f64 = 0.25;

/// A sorted-set member, shared by the dict and the skiplist.
pub type Member = Arc<[u8]>;

/// Offset of the header's block, and "nil" for `forward` / `backward` /
/// `tail`.
const NIL: u32 = 0;
const HEADER: u32 = 0;
/// End of a free list of blocks.
const NO_BLOCK: u32 = u32::MAX;
/// The member slot of the header and of a free block that never had one.
const NO_SLOT: u32 = u32::MAX;

/// Why an element could not be inserted or updated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZsetError {
    /// The score (or the result of an increment) is NaN.
    NanScore,
    /// The skiplist has no room for another node (see the module docs).
    Full,
}

/// A handle on a skiplist node (the offset of its block), valid until the
/// skiplist is next modified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(u32);

/// One link of a node, as stored in a word: `forward` in the low half,
/// `span` in the high half.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Level {
    forward: u32,
    span: u32,
}

/// A score interval, as ZRANGEBYSCORE / ZCOUNT / ZREMRANGEBYSCORE take it
/// (`zrangespec`): `minex` / `maxex` make a bound exclusive (`(1.5`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ZRangeSpec {
    pub min: f64,
    pub max: f64,
    pub minex: bool,
    pub maxex: bool,
}

impl ZRangeSpec {
    /// Parses `min` and `max` as `zslParseRange` does: a leading `(` makes
    /// the bound exclusive, the rest is a number read by `parse_number`
    /// (the commands' strtod-like parser). A NaN or unparsable bound is an
    /// error, None (`ERR min or max is not a float`).
    pub fn parse(min: &[u8], max: &[u8], parse_number: impl Fn(&[u8]) -> Option<f64>) -> Option<ZRangeSpec> {
        let bound = |b: &[u8]| -> Option<(f64, bool)> {
            let (text, ex) = match b.first() {
                Some(b'(') => (&b[1..], true),
                _ => (b, false),
            };
            match parse_number(text) {
                Some(v) if !v.is_nan() => Some((v, ex)),
                _ => None,
            }
        };
        let (min, minex) = bound(min)?;
        let (max, maxex) = bound(max)?;
        Some(ZRangeSpec { min, max, minex, maxex })
    }

    /// Whether `value` is above the lower bound (`zslValueGteMin`).
    #[inline]
    pub fn value_gte_min(&self, value: f64) -> bool {
        if self.minex {
            value > self.min
        } else {
            value >= self.min
        }
    }

    /// Whether `value` is below the upper bound (`zslValueLteMax`).
    #[inline]
    pub fn value_lte_max(&self, value: f64) -> bool {
        if self.maxex {
            value < self.max
        } else {
            value <= self.max
        }
    }

    /// Whether no score at all can be in the range.
    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.minex || self.maxex))
    }
}

/// One end of a lexicographic range: `-`, `+`, `[bytes` or `(bytes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LexBound {
    /// `-`: below every string.
    NegInf,
    /// `+`: above every string.
    PosInf,
    /// `[bytes`
    Inclusive(Vec<u8>),
    /// `(bytes`
    Exclusive(Vec<u8>),
}

impl LexBound {
    /// Parses one item as `zslParseLexRangeItem`: `+` and `-` alone (C
    /// compares the byte after them with the string's NUL terminator, so
    /// `+\0...` still counts as `+`), or `[` / `(` followed by any bytes,
    /// possibly none.
    pub fn parse(item: &[u8]) -> Option<LexBound> {
        let alone = item.len() == 1 || item.get(1) == Some(&0);
        match item.first() {
            Some(b'+') if alone => Some(LexBound::PosInf),
            Some(b'-') if alone => Some(LexBound::NegInf),
            Some(b'[') => Some(LexBound::Inclusive(item[1..].to_vec())),
            Some(b'(') => Some(LexBound::Exclusive(item[1..].to_vec())),
            _ => None,
        }
    }

    /// Redis marks `+` and `-` exclusive; it matters when min equals max.
    fn exclusive(&self) -> bool {
        !matches!(self, LexBound::Inclusive(_))
    }

    /// `sdscmplex` between two bounds: `-` < any bytes < `+`.
    fn cmp_bound(&self, other: &LexBound) -> std::cmp::Ordering {
        use std::cmp::Ordering::*;
        fn rank(b: &LexBound) -> u8 {
            match b {
                LexBound::NegInf => 0,
                LexBound::Inclusive(_) | LexBound::Exclusive(_) => 1,
                LexBound::PosInf => 2,
            }
        }
        match (self, other) {
            (LexBound::Inclusive(a) | LexBound::Exclusive(a), LexBound::Inclusive(b) | LexBound::Exclusive(b)) => {
                a.as_slice().cmp(b.as_slice())
            }
            _ => match rank(self).cmp(&rank(other)) {
                Equal => Equal,
                o => o,
            },
        }
    }
}

/// A lexicographic interval, as ZRANGEBYLEX / ZLEXCOUNT / ZREMRANGEBYLEX
/// take it (`zlexrangespec`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZLexRangeSpec {
    pub min: LexBound,
    pub max: LexBound,
}

impl ZLexRangeSpec {
    /// Parses `min` and `max` as `zslParseLexRange`; None is Redis's
    /// `ERR min or max not valid string range item`.
    pub fn parse(min: &[u8], max: &[u8]) -> Option<ZLexRangeSpec> {
        Some(ZLexRangeSpec { min: LexBound::parse(min)?, max: LexBound::parse(max)? })
    }

    /// Whether `value` is above the lower bound (`zslLexValueGteMin`).
    pub fn value_gte_min(&self, value: &[u8]) -> bool {
        match &self.min {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Inclusive(m) => value >= m.as_slice(),
            LexBound::Exclusive(m) => value > m.as_slice(),
        }
    }

    /// Whether `value` is below the upper bound (`zslLexValueLteMax`).
    pub fn value_lte_max(&self, value: &[u8]) -> bool {
        match &self.max {
            LexBound::PosInf => true,
            LexBound::NegInf => false,
            LexBound::Inclusive(m) => value <= m.as_slice(),
            LexBound::Exclusive(m) => value < m.as_slice(),
        }
    }

    /// Whether no string at all can be in the range.
    pub fn is_empty(&self) -> bool {
        match self.min.cmp_bound(&self.max) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Equal => self.min.exclusive() || self.max.exclusive(),
            std::cmp::Ordering::Less => false,
        }
    }
}

/// Normalizes a ZRANGE-style index pair (negative counts from the end) to
/// an inclusive 0-based range inside a set of `len` elements, or None when
/// it selects nothing (as zrangeGenericCommand / ZREMRANGEBYRANK do).
pub fn normalize_rank_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let llen = len as i64;
    let mut start = if start < 0 { start.saturating_add(llen) } else { start };
    let mut end = if end < 0 { end.saturating_add(llen) } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return None;
    }
    if end >= llen {
        end = llen - 1;
    }
    Some((start as usize, end as usize))
}

/// A random height for a new node: 1, plus one with probability P each
/// time (two zero bits of a random word are a 1/4 chance), at most 32.
fn random_level() -> usize {
    let zeros = random_u64().trailing_zeros() as usize;
    (1 + zeros / 2).min(ZSKIPLIST_MAXLEVEL)
}

/// Elements per arena chunk (a power of two).
const CHUNK: usize = 4096;

/// A vector stored as chunks of [`CHUNK`] elements, so that growing it
/// never copies what it holds (no latency spike when a big sorted set
/// grows) and at most one chunk is spare; the first chunk grows
/// geometrically, so small sets stay small.
#[derive(Clone)]
struct Chunked<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T: Clone> Chunked<T> {
    fn from_elem(v: T, n: usize) -> Self {
        let mut c = Chunked { chunks: Vec::new(), len: 0 };
        for _ in 0..n {
            c.push(v.clone());
        }
        c
    }
}

impl<T> Chunked<T> {
    #[inline]
    fn len(&self) -> usize {
        self.len
    }

    fn push(&mut self, v: T) {
        if self.chunks.last().is_none_or(|c| c.len() == CHUNK) {
            let cap = if self.chunks.is_empty() { 4 } else { CHUNK };
            self.chunks.push(Vec::with_capacity(cap));
        }
        let first = self.chunks.len() == 1;
        if let Some(c) = self.chunks.last_mut() {
            if c.len() == c.capacity() {
                let want = if first { (c.capacity() * 2).clamp(4, CHUNK) } else { CHUNK };
                c.reserve_exact(want - c.len());
            }
            c.push(v);
            self.len += 1;
        }
    }

    #[inline]
    fn get(&self, i: usize) -> Option<&T> {
        self.chunks.get(i / CHUNK)?.get(i % CHUNK)
    }

    /// The elements from `i` to the end of its chunk: a block never
    /// straddles two chunks, so a node's words are all in this slice.
    #[inline]
    fn rest_of_chunk(&self, i: usize) -> &[T] {
        &self.chunks[i / CHUNK][i % CHUNK..]
    }

    /// Heap bytes held, spare capacity included.
    fn bytes(&self) -> usize {
        self.chunks.capacity() * std::mem::size_of::<Vec<T>>()
            + self.chunks.iter().map(|c| c.capacity() * std::mem::size_of::<T>()).sum::<usize>()
    }
}

impl<T> std::ops::Index<usize> for Chunked<T> {
    type Output = T;
    #[inline]
    fn index(&self, i: usize) -> &T {
        &self.chunks[i / CHUNK][i % CHUNK]
    }
}

impl<T> std::ops::IndexMut<usize> for Chunked<T> {
    #[inline]
    fn index_mut(&mut self, i: usize) -> &mut T {
        &mut self.chunks[i / CHUNK][i % CHUNK]
    }
}

/// Word offsets inside a node's block: the score, then [`META`] (backward
/// in the low half, member slot in the high half), then one link a level.
const SCORE: usize = 0;
const META: usize = 1;
const LINKS: usize = 2;
/// Words of the header's block.
const HEADER_WORDS: usize = LINKS + ZSKIPLIST_MAXLEVEL;

#[inline]
fn meta_word(backward: u32, slot: u32) -> u64 {
    backward as u64 | (slot as u64) << 32
}

#[inline]
fn link_word(l: Level) -> u64 {
    l.forward as u64 | (l.span as u64) << 32
}

/// The score in a node's block.
#[inline]
fn block_score(blk: &[u64]) -> f64 {
    f64::from_bits(blk[SCORE])
}

#[inline]
fn word_link(w: u64) -> Level {
    Level { forward: w as u32, span: (w >> 32) as u32 }
}

/// The skiplist ordered by (score, member); see the module docs.
#[derive(Clone)]
pub struct Zskiplist {
    /// Node blocks; the header's is at offset 0.
    arena: Chunked<u64>,
    /// Members by slot; None for a free slot (one held by a free block).
    members: Chunked<Option<Member>>,
    /// First free block with h links, for each height h (index h - 1),
    /// chained through the block's score word.
    free_blocks: [u32; ZSKIPLIST_MAXLEVEL],
    tail: u32,
    length: usize,
    /// Levels in use by the header (at least 1).
    level: usize,
}

impl Default for Zskiplist {
    fn default() -> Self {
        Self::new()
    }
}

impl Zskiplist {
    /// An empty skiplist: the header with 32 nil links (`zslCreate`).
    pub fn new() -> Self {
        let mut arena = Chunked::from_elem(0u64, HEADER_WORDS);
        arena[META] = meta_word(NIL, NO_SLOT);
        Zskiplist {
            arena,
            members: Chunked { chunks: Vec::new(), len: 0 },
            free_blocks: [NO_BLOCK; ZSKIPLIST_MAXLEVEL],
            tail: NIL,
            length: 0,
            level: 1,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Bytes held by the arena and the member table (including spare
    /// capacity), not counting the members' own allocations.
    pub fn arena_bytes(&self) -> usize {
        self.arena.bytes() + self.members.bytes()
    }

    // -- arena ------------------------------------------------------------

    #[inline]
    fn lv(&self, x: u32, i: usize) -> Level {
        word_link(self.arena[x as usize + LINKS + i])
    }

    #[inline]
    fn set_lv(&mut self, x: u32, i: usize, l: Level) {
        self.arena[x as usize + LINKS + i] = link_word(l);
    }

    #[inline]
    fn add_span(&mut self, x: u32, i: usize, delta: i64) {
        let w = &mut self.arena[x as usize + LINKS + i];
        let span = ((*w >> 32) as i64 + delta) as u32;
        *w = (*w & 0xffff_ffff) | (span as u64) << 32;
    }

    #[inline]
    fn fwd(&self, x: u32, i: usize) -> u32 {
        self.lv(x, i).forward
    }

    #[inline]
    fn score_of(&self, x: u32) -> f64 {
        f64::from_bits(self.arena[x as usize + SCORE])
    }

    #[inline]
    fn backward_of(&self, x: u32) -> u32 {
        self.arena[x as usize + META] as u32
    }

    #[inline]
    fn set_backward(&mut self, x: u32, backward: u32) {
        let w = &mut self.arena[x as usize + META];
        *w = (*w & !0xffff_ffff) | backward as u64;
    }

    #[inline]
    fn slot_of(&self, x: u32) -> u32 {
        (self.arena[x as usize + META] >> 32) as u32
    }

    #[inline]
    fn member_of(&self, x: u32) -> Option<&Member> {
        self.members.get(self.slot_of(x) as usize)?.as_ref()
    }

    #[inline]
    fn ele_of(&self, x: u32) -> &[u8] {
        self.member_of(x).map_or(&[], |m| m)
    }

    /// Whether node `x` sorts before (score, ele).
    #[inline]
    fn node_lt(&self, x: u32, score: f64, ele: &[u8]) -> bool {
        let s = self.score_of(x);
        s < score || (s == score && self.ele_of(x) < ele)
    }

    /// The score word of block `x`, for a handle given back by a caller:
    /// None for the header or past the arena (never a panic). It does not
    /// tell a live node from a free block; the caller's search does, as
    /// it only reaches linked nodes.
    #[inline]
    fn linked_score(&self, x: u32) -> Option<f64> {
        if x == HEADER {
            return None;
        }
        self.arena.get(x as usize + SCORE).map(|&w| f64::from_bits(w))
    }

    /// Whether `x` is a live node (not the header, not a free block);
    /// never panics, for handles given back by callers.
    fn is_live(&self, x: u32) -> bool {
        x != HEADER
            && self
                .arena
                .get(x as usize + META)
                .and_then(|&m| self.members.get((m >> 32) as usize))
                .is_some_and(|m| m.is_some())
    }

    /// A block of `height` links for a new node: a free one of that height
    /// (with the member slot it kept, if any) or a new one at the end.
    /// None when the arena is out of u32 offsets.
    fn alloc_block(&mut self, height: usize) -> Option<(u32, u32)> {
        let off = self.free_blocks[height - 1];
        if off != NO_BLOCK {
            self.free_blocks[height - 1] = self.arena[off as usize + SCORE] as u32;
            return Some((off, self.slot_of(off)));
        }
        let words = LINKS + height;
        if self.arena.len() + words + CHUNK > u32::MAX as usize {
            return None;
        }
        // A block never straddles two chunks: the rest of a chunk too
        // short for it becomes a free block of its own height (or, one or
        // two words, stays unused).
        let used = self.arena.len() % CHUNK;
        if used + words > CHUNK {
            let rest = CHUNK - used;
            let off = self.arena.len();
            for _ in 0..rest {
                self.arena.push(0);
            }
            if rest > LINKS {
                let h = rest - LINKS;
                self.arena[off + SCORE] = self.free_blocks[h - 1] as u64;
                self.arena[off + META] = meta_word(NIL, NO_SLOT);
                self.free_blocks[h - 1] = off as u32;
            }
        }
        let off = self.arena.len() as u32;
        for _ in 0..words {
            self.arena.push(0);
        }
        Some((off, NO_SLOT))
    }

    /// A node holding (score, ele) with `height` zeroed links, not linked
    /// yet; gives the member back when out of offsets or slots.
    fn alloc_node(&mut self, score: f64, ele: Member, height: usize) -> Result<u32, Member> {
        if self.members.len() >= NO_SLOT as usize && self.free_blocks[height - 1] == NO_BLOCK {
            return Err(ele);
        }
        let Some((x, slot)) = self.alloc_block(height) else { return Err(ele) };
        let slot = if slot == NO_SLOT {
            if self.members.len() >= NO_SLOT as usize {
                // Out of slots: hand the block back.
                self.arena[x as usize + SCORE] = self.free_blocks[height - 1] as u64;
                self.free_blocks[height - 1] = x;
                return Err(ele);
            }
            self.members.push(Some(ele));
            (self.members.len() - 1) as u32
        } else {
            self.members[slot as usize] = Some(ele);
            slot
        };
        let x_ = x as usize;
        self.arena[x_ + SCORE] = score.to_bits();
        self.arena[x_ + META] = meta_word(NIL, slot);
        for i in 0..height {
            self.arena[x_ + LINKS + i] = 0;
        }
        Ok(x)
    }

    /// Returns an unlinked node of `height` links to the free list of its
    /// height; its block keeps its member slot for the next node.
    fn free_node(&mut self, x: u32, height: usize) -> Option<Member> {
        let slot = self.slot_of(x);
        let ele = self.members[slot as usize].take();
        self.arena[x as usize + SCORE] = self.free_blocks[height - 1] as u64;
        self.arena[x as usize + META] = meta_word(NIL, slot);
        self.free_blocks[height - 1] = x;
        ele
    }

    // -- insert / delete ----------------------------------------------------

    /// Fills `update[i]` with the last node before (score, ele) on every
    /// level in use and `rank[i]` with the number of nodes crossed to
    /// reach it, and returns the node after it on level 0 (nil at the
    /// end). A node found not to be before (score, ele) on one level is
    /// not compared again on the levels below; `skip`, when not nil, is
    /// such a node from the start: the node holding (score, ele) itself,
    /// when the caller knows it, so its member is never read.
    #[inline]
    fn search(
        &self,
        score: f64,
        ele: &[u8],
        skip: u32,
        update: &mut [u32; ZSKIPLIST_MAXLEVEL],
        rank: &mut [u32; ZSKIPLIST_MAXLEVEL],
    ) -> u32 {
        let mut cur = HEADER;
        let mut blk = self.block(HEADER);
        let mut crossed = 0u32;
        let mut rejected = skip;
        for i in (0..self.level).rev() {
            loop {
                let l = word_link(blk[LINKS + i]);
                if l.forward == NIL || l.forward == rejected {
                    break;
                }
                let next = self.block(l.forward);
                if self.block_lt(next, score, ele) {
                    crossed += l.span;
                    cur = l.forward;
                    blk = next;
                } else {
                    rejected = l.forward;
                    break;
                }
            }
            update[i] = cur;
            rank[i] = crossed;
        }
        word_link(blk[LINKS]).forward
    }

    /// The words of node `x`'s block (and maybe more after it).
    #[inline]
    fn block(&self, x: u32) -> &[u64] {
        self.arena.rest_of_chunk(x as usize)
    }

    /// The member of the node whose block is `blk` (empty for the header).
    #[inline]
    fn block_member(&self, blk: &[u64]) -> &[u8] {
        self.members.get((blk[META] >> 32) as usize).and_then(|m| m.as_deref()).unwrap_or(&[])
    }

    /// Whether the node whose block is `blk` sorts before (score, ele).
    #[inline]
    fn block_lt(&self, blk: &[u64], score: f64, ele: &[u8]) -> bool {
        let s = block_score(blk);
        s < score || (s == score && self.block_member(blk) < ele)
    }

    /// The descent the read-only searches share: from the header, on each
    /// level from the top, moves forward while `go(forward node, its block,
    /// its rank)` holds, and stops early when `done(node, rank)` holds
    /// after a level. Returns the node reached and its rank.
    #[inline]
    fn descend(
        &self,
        mut go: impl FnMut(u32, &[u64], usize) -> bool,
        mut done: impl FnMut(u32, usize) -> bool,
    ) -> (u32, usize) {
        let mut cur = HEADER;
        let mut blk = self.block(HEADER);
        let mut rank = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = word_link(blk[LINKS + i]);
                if l.forward == NIL {
                    break;
                }
                let next = self.block(l.forward);
                if go(l.forward, next, rank + l.span as usize) {
                    rank += l.span as usize;
                    cur = l.forward;
                    blk = next;
                } else {
                    break;
                }
            }
            if done(cur, rank) {
                break;
            }
        }
        (cur, rank)
    }

    /// Links node `x` (score, member and a block of `height` links already
    /// set) at its place given by a search for its score and member: the
    /// body of `zslInsert`. `rank[i]` counts the nodes crossed to reach
    /// `update[i]`, the last node before `x` on level i, which gives the
    /// spans of the new links.
    #[allow(clippy::needless_range_loop)] // update[] and rank[] are indexed by level, as in Redis
    fn link_at(&mut self, x: u32, height: usize, update: &mut [u32; ZSKIPLIST_MAXLEVEL], rank: &mut [u32; ZSKIPLIST_MAXLEVEL]) {
        if height > self.level {
            for i in self.level..height {
                rank[i] = 0;
                update[i] = HEADER;
                let l = self.lv(HEADER, i);
                self.set_lv(HEADER, i, Level { forward: l.forward, span: self.length as u32 });
            }
            self.level = height;
        }
        for i in 0..height {
            let u = self.lv(update[i], i);
            let crossed = rank[0] - rank[i];
            self.set_lv(x, i, Level { forward: u.forward, span: u.span - crossed });
            self.set_lv(update[i], i, Level { forward: x, span: crossed + 1 });
        }
        for i in height..self.level {
            self.add_span(update[i], i, 1);
        }
        self.set_backward(x, if update[0] == HEADER { NIL } else { update[0] });
        let next = self.fwd(x, 0);
        if next != NIL {
            self.set_backward(next, x);
        } else {
            self.tail = x;
        }
        self.length += 1;
    }

    /// Inserts a new element (`zslInsert`). The caller guarantees that
    /// `ele` is not in the skiplist yet (the dict knows).
    pub fn insert(&mut self, score: f64, ele: Member) -> Result<NodeId, ZsetError> {
        self.insert_with_height(score, ele, random_level())
    }

    fn insert_with_height(&mut self, score: f64, ele: Member, height: usize) -> Result<NodeId, ZsetError> {
        if score.is_nan() {
            return Err(ZsetError::NanScore);
        }
        if self.length >= u32::MAX as usize - 1 {
            return Err(ZsetError::Full);
        }
        let x = self.alloc_node(score, ele, height).map_err(|_| ZsetError::Full)?;
        let mut update = [HEADER; ZSKIPLIST_MAXLEVEL];
        let mut rank = [0u32; ZSKIPLIST_MAXLEVEL];
        self.search(score, self.ele_of(x), NIL, &mut update, &mut rank);
        self.link_at(x, height, &mut update, &mut rank);
        Ok(NodeId(x))
    }

    /// Fills `update[i]` with the last node before (score, ele) on every
    /// level and returns the node after it on level 0 (nil at the end).
    fn find_update(&self, score: f64, ele: &[u8], update: &mut [u32; ZSKIPLIST_MAXLEVEL]) -> u32 {
        let mut rank = [0u32; ZSKIPLIST_MAXLEVEL];
        self.search(score, ele, NIL, update, &mut rank)
    }

    /// Unlinks `x` given its predecessors (`zslDeleteNode`) and returns its
    /// height: the levels on which the predecessor links to it.
    #[allow(clippy::needless_range_loop)]
    fn unlink(&mut self, x: u32, update: &[u32; ZSKIPLIST_MAXLEVEL]) -> usize {
        let mut height = 0;
        for i in 0..self.level {
            let u = self.lv(update[i], i);
            if u.forward == x {
                let xl = self.lv(x, i);
                self.set_lv(update[i], i, Level { forward: xl.forward, span: u.span + xl.span - 1 });
                height += 1;
            } else {
                self.set_lv(update[i], i, Level { forward: u.forward, span: u.span - 1 });
            }
        }
        let next = self.fwd(x, 0);
        let back = self.backward_of(x);
        if next != NIL {
            self.set_backward(next, back);
        } else {
            self.tail = back;
        }
        while self.level > 1 && self.fwd(HEADER, self.level - 1) == NIL {
            self.level -= 1;
        }
        self.length -= 1;
        height
    }

    /// Whether node `x` is exactly (score, ele).
    fn is_node(&self, x: u32, score: f64, ele: &[u8]) -> bool {
        x != NIL && self.score_of(x) == score && self.ele_of(x) == ele
    }

    /// Deletes (score, ele) and returns its member, or None if it is not
    /// there (`zslDelete`).
    pub fn delete(&mut self, score: f64, ele: &[u8]) -> Option<Member> {
        let mut update = [HEADER; ZSKIPLIST_MAXLEVEL];
        let x = self.find_update(score, ele, &mut update);
        if !self.is_node(x, score, ele) {
            return None;
        }
        let height = self.unlink(x, &update);
        self.free_node(x, height)
    }

    /// Deletes node `id` and returns its member (`zslDelete` for a caller
    /// that knows the node, as the dict does). The caller guarantees that
    /// `ele` is the node's member: the search stops at the node by
    /// identity, without reading its member (the point: two memory
    /// accesses fewer), so only a node that is not linked where (its
    /// score, `ele`) sorts is refused, with None.
    pub fn delete_node(&mut self, id: NodeId, ele: &[u8]) -> Option<Member> {
        let x = id.0;
        let score = self.linked_score(x)?;
        let mut update = [HEADER; ZSKIPLIST_MAXLEVEL];
        let mut rank = [0u32; ZSKIPLIST_MAXLEVEL];
        if self.search(score, ele, x, &mut update, &mut rank) != x {
            return None;
        }
        let height = self.unlink(x, &update);
        self.free_node(x, height)
    }

    /// Changes the score of (cur_score, ele) to `new_score`
    /// (`zslUpdateScore`; see `move_node`) and returns the node, which is
    /// the same as before. None if the element is not there or
    /// `new_score` is NaN.
    pub fn update_score(&mut self, cur_score: f64, ele: &[u8], new_score: f64) -> Option<NodeId> {
        if new_score.is_nan() {
            return None;
        }
        let mut update = [HEADER; ZSKIPLIST_MAXLEVEL];
        let mut rank = [0u32; ZSKIPLIST_MAXLEVEL];
        let x = self.search(cur_score, ele, NIL, &mut update, &mut rank);
        if !self.is_node(x, cur_score, ele) {
            return None;
        }
        self.move_node(x, ele, new_score, &mut update, &mut rank);
        Some(NodeId(x))
    }

    /// As [`update_score`](Self::update_score) for node `id`, whose member
    /// the caller guarantees is `ele` (see [`delete_node`](Self::delete_node)).
    /// False if `new_score` is NaN or `id` is not linked where (its score,
    /// `ele`) sorts.
    pub fn update_node_score(&mut self, id: NodeId, ele: &[u8], new_score: f64) -> bool {
        let x = id.0;
        let Some(score) = self.linked_score(x) else { return false };
        if new_score.is_nan() {
            return false;
        }
        let mut update = [HEADER; ZSKIPLIST_MAXLEVEL];
        let mut rank = [0u32; ZSKIPLIST_MAXLEVEL];
        if self.search(score, ele, x, &mut update, &mut rank) != x {
            return false;
        }
        self.move_node(x, ele, new_score, &mut update, &mut rank);
        true
    }

    /// The end of `zslUpdateScore`, given node `x` (member `ele`) and its
    /// predecessors: the score changes in place when the node stays
    /// between its neighbours; otherwise the node is unlinked and linked
    /// again at its new place, keeping its block and member slot (its
    /// random height is independent of its score).
    fn move_node(
        &mut self,
        x: u32,
        ele: &[u8],
        new_score: f64,
        update: &mut [u32; ZSKIPLIST_MAXLEVEL],
        rank: &mut [u32; ZSKIPLIST_MAXLEVEL],
    ) {
        let back = self.backward_of(x);
        let next = self.fwd(x, 0);
        if (back == NIL || self.score_of(back) < new_score) && (next == NIL || self.score_of(next) > new_score) {
            self.arena[x as usize + SCORE] = new_score.to_bits();
            return;
        }
        let height = self.unlink(x, update);
        self.arena[x as usize + SCORE] = new_score.to_bits();
        self.search(new_score, ele, NIL, update, rank);
        self.link_at(x, height, update, rank);
    }

    // -- ranks --------------------------------------------------------------

    /// 1-based rank of node `id`, whose member the caller guarantees is
    /// `ele`, stopping on the node by identity (`zslGetRank` for a caller
    /// that knows the node). None if the node is not linked where (its
    /// score, `ele`) sorts.
    pub fn node_rank(&self, id: NodeId, ele: &[u8]) -> Option<usize> {
        let x = id.0;
        let score = self.linked_score(x)?;
        let (cur, rank) = self.descend(
            |f, b, _| {
                let s = block_score(b);
                f == x || s < score || (s == score && self.block_member(b) <= ele)
            },
            |cur, _| cur == x,
        );
        (cur == x).then_some(rank)
    }

    /// 1-based rank of (score, ele), or None if absent (`zslGetRank`).
    pub fn get_rank(&self, score: f64, ele: &[u8]) -> Option<usize> {
        let is_it = |cur: u32| cur != HEADER && self.is_node(cur, score, ele);
        let (cur, rank) = self.descend(
            |_, b, _| {
                let s = block_score(b);
                s < score || (s == score && self.block_member(b) <= ele)
            },
            |cur, _| is_it(cur),
        );
        is_it(cur).then_some(rank)
    }

    /// The node at 1-based `rank` (`zslGetElementByRank`).
    pub fn get_element_by_rank(&self, rank: usize) -> Option<NodeId> {
        if rank == 0 || rank > self.length {
            return None;
        }
        let (cur, reached) = self.descend(|_, _, r| r <= rank, |_, r| r == rank);
        (reached == rank).then_some(NodeId(cur))
    }

    // -- navigation ---------------------------------------------------------

    /// The lowest element.
    pub fn first(&self) -> Option<NodeId> {
        let f = self.fwd(HEADER, 0);
        (f != NIL).then_some(NodeId(f))
    }

    /// The highest element.
    pub fn last(&self) -> Option<NodeId> {
        (self.tail != NIL).then_some(NodeId(self.tail))
    }

    /// The element after `id`.
    pub fn next(&self, id: NodeId) -> Option<NodeId> {
        if !self.is_live(id.0) {
            return None;
        }
        let f = self.fwd(id.0, 0);
        (f != NIL).then_some(NodeId(f))
    }

    /// The element before `id`.
    pub fn prev(&self, id: NodeId) -> Option<NodeId> {
        if !self.is_live(id.0) {
            return None;
        }
        let b = self.backward_of(id.0);
        (b != NIL).then_some(NodeId(b))
    }

    /// Member and score of node `id` (None for a stale handle).
    pub fn entry(&self, id: NodeId) -> Option<(&Member, f64)> {
        if !self.is_live(id.0) {
            return None;
        }
        self.member_of(id.0).map(|m| (m, self.score_of(id.0)))
    }

    /// Ascending iterator over (member, score).
    pub fn iter(&self) -> Iter<'_> {
        Iter { zsl: self, cur: self.fwd(HEADER, 0), reverse: false }
    }

    /// Ascending iterator over the nodes.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        std::iter::successors(self.first(), |&x| self.next(x))
    }

    /// Descending iterator over (member, score).
    pub fn iter_rev(&self) -> Iter<'_> {
        Iter { zsl: self, cur: self.tail, reverse: true }
    }

    /// Iterator starting at `id` (included), ascending or descending.
    pub fn iter_from(&self, id: NodeId, reverse: bool) -> Iter<'_> {
        let cur = if self.is_live(id.0) { id.0 } else { NIL };
        Iter { zsl: self, cur, reverse }
    }

    // -- score ranges -------------------------------------------------------

    /// Whether `range` overlaps the span from the lowest to the highest
    /// score (`zslIsInRange`): when false no element can be inside; when
    /// true one may still not be (elements 1 and 5, range 2..3).
    pub fn is_in_range(&self, range: &ZRangeSpec) -> bool {
        if range.is_empty() || self.tail == NIL || !range.value_gte_min(self.score_of(self.tail)) {
            return false;
        }
        let first = self.fwd(HEADER, 0);
        first != NIL && range.value_lte_max(self.score_of(first))
    }

    /// The first element inside `range` (`zslFirstInRange`).
    pub fn first_in_range(&self, range: &ZRangeSpec) -> Option<NodeId> {
        if !self.is_in_range(range) {
            return None;
        }
        let (cur, _) = self.descend(|_, b, _| !range.value_gte_min(block_score(b)), |_, _| false);
        let x = self.fwd(cur, 0);
        (x != NIL && range.value_lte_max(self.score_of(x))).then_some(NodeId(x))
    }

    /// The last element inside `range` (`zslLastInRange`).
    pub fn last_in_range(&self, range: &ZRangeSpec) -> Option<NodeId> {
        if !self.is_in_range(range) {
            return None;
        }
        let (cur, _) = self.descend(|_, b, _| range.value_lte_max(block_score(b)), |_, _| false);
        (cur != HEADER && range.value_gte_min(self.score_of(cur))).then_some(NodeId(cur))
    }

    // -- lex ranges ---------------------------------------------------------

    /// Whether `range` overlaps the span from the first to the last member
    /// (`zslIsInLexRange`), with the same meaning as
    /// [`is_in_range`](Self::is_in_range). Lex ranges assume all scores are
    /// equal, as Redis's do.
    pub fn is_in_lex_range(&self, range: &ZLexRangeSpec) -> bool {
        if range.is_empty() || self.tail == NIL || !range.value_gte_min(self.ele_of(self.tail)) {
            return false;
        }
        let first = self.fwd(HEADER, 0);
        first != NIL && range.value_lte_max(self.ele_of(first))
    }

    /// The first element inside the lex range (`zslFirstInLexRange`).
    pub fn first_in_lex_range(&self, range: &ZLexRangeSpec) -> Option<NodeId> {
        if !self.is_in_lex_range(range) {
            return None;
        }
        let (cur, _) = self.descend(|_, b, _| !range.value_gte_min(self.block_member(b)), |_, _| false);
        let x = self.fwd(cur, 0);
        (x != NIL && range.value_lte_max(self.ele_of(x))).then_some(NodeId(x))
    }

    /// The last element inside the lex range (`zslLastInLexRange`).
    pub fn last_in_lex_range(&self, range: &ZLexRangeSpec) -> Option<NodeId> {
        if !self.is_in_lex_range(range) {
            return None;
        }
        let (cur, _) = self.descend(|_, b, _| range.value_lte_max(self.block_member(b)), |_, _| false);
        (cur != HEADER && range.value_gte_min(self.ele_of(cur))).then_some(NodeId(cur))
    }

    // -- range deletion -----------------------------------------------------

    /// Deletes the run of nodes starting after `update[0]` while `keep_going`
    /// says so, and returns them in ascending order. `update` stays valid
    /// through the run: every predecessor is before every deleted node.
    fn delete_run(
        &mut self,
        update: &[u32; ZSKIPLIST_MAXLEVEL],
        mut keep_going: impl FnMut(&Self, u32) -> bool,
    ) -> Vec<(Member, f64)> {
        let mut removed = Vec::new();
        let mut x = self.fwd(update[0], 0);
        while x != NIL && keep_going(self, x) {
            let next = self.fwd(x, 0);
            let score = self.score_of(x);
            let height = self.unlink(x, update);
            if let Some(ele) = self.free_node(x, height) {
                removed.push((ele, score));
            }
            x = next;
        }
        removed
    }

    /// Deletes every element with a score inside `range`
    /// (`zslDeleteRangeByScore`); the caller removes them from its dict.
    pub fn delete_range_by_score(&mut self, range: &ZRangeSpec) -> Vec<(Member, f64)> {
        let mut update = [HEADER; ZSKIPLIST_MAXLEVEL];
        let mut cur = HEADER;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(cur, i);
                if f != NIL && !range.value_gte_min(self.score_of(f)) {
                    cur = f;
                } else {
                    break;
                }
            }
            update[i] = cur;
        }
        self.delete_run(&update, |z, x| range.value_lte_max(z.score_of(x)))
    }

    /// Deletes every element inside the lex range (`zslDeleteRangeByLex`).
    pub fn delete_range_by_lex(&mut self, range: &ZLexRangeSpec) -> Vec<(Member, f64)> {
        if range.is_empty() {
            return Vec::new();
        }
        let mut update = [HEADER; ZSKIPLIST_MAXLEVEL];
        let mut cur = HEADER;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(cur, i);
                if f != NIL && !range.value_gte_min(self.ele_of(f)) {
                    cur = f;
                } else {
                    break;
                }
            }
            update[i] = cur;
        }
        self.delete_run(&update, |z, x| range.value_lte_max(z.ele_of(x)))
    }

    /// Deletes the elements of 1-based ranks `start..=end`
    /// (`zslDeleteRangeByRank`).
    pub fn delete_range_by_rank(&mut self, start: usize, end: usize) -> Vec<(Member, f64)> {
        if start == 0 || start > end {
            return Vec::new();
        }
        let mut update = [HEADER; ZSKIPLIST_MAXLEVEL];
        let mut traversed = 0usize;
        let mut cur = HEADER;
        for i in (0..self.level).rev() {
            loop {
                let l = self.lv(cur, i);
                if l.forward != NIL && traversed + (l.span as usize) < start {
                    traversed += l.span as usize;
                    cur = l.forward;
                } else {
                    break;
                }
            }
            update[i] = cur;
        }
        let mut rank = traversed;
        self.delete_run(&update, |_, _| {
            rank += 1;
            rank <= end
        })
    }
    // -- checking -----------------------------------------------------------

    /// Checks every structural invariant: level-0 order and length,
    /// backward pointers and tail, every span (against ranks counted on
    /// level 0, nil links included), each node's levels forming a prefix,
    /// the header's unused levels, that blocks and free lists do not
    /// overlap, and that live nodes and free blocks hold distinct member
    /// slots (filled for the live, empty for the free). For tests and
    /// DEBUG-style self checks; O(n · levels).
    pub fn check_invariants(&self) -> Result<(), String> {
        let words = self.arena.len();
        if self.level == 0 || self.level > ZSKIPLIST_MAXLEVEL {
            return Err(format!("bad level {}", self.level));
        }
        let in_arena = |x: u32, h: usize| x as usize + LINKS + h <= words;
        // Level 0: order, backward, tail, ranks (by block offset).
        let mut rank_of = vec![usize::MAX; words];
        rank_of[HEADER as usize] = 0;
        let mut prev = NIL;
        let mut x = self.fwd(HEADER, 0);
        let mut count = 0usize;
        while x != NIL {
            count += 1;
            if count > self.length {
                return Err("level 0 longer than length (or a cycle)".into());
            }
            if !in_arena(x, 1) {
                return Err(format!("node {} out of the arena", x));
            }
            if self.member_of(x).is_none() {
                return Err(format!("free block {} linked", x));
            }
            let score = self.score_of(x);
            if score.is_nan() {
                return Err(format!("NaN score at {}", x));
            }
            if self.backward_of(x) != prev {
                return Err(format!("node {} backward {} expected {}", x, self.backward_of(x), prev));
            }
            if prev != NIL && !self.node_lt(prev, score, self.ele_of(x)) {
                return Err(format!("node {} not after {}", x, prev));
            }
            rank_of[x as usize] = count;
            prev = x;
            x = self.fwd(x, 0);
        }
        if count != self.length {
            return Err(format!("level 0 has {} nodes, length {}", count, self.length));
        }
        if self.tail != prev {
            return Err(format!("tail {} expected {}", self.tail, prev));
        }
        // Every level: spans, and heights as prefixes.
        let mut height = vec![0usize; words];
        for i in 0..self.level {
            let mut cur = HEADER;
            loop {
                if cur != HEADER {
                    if height[cur as usize] != i {
                        return Err(format!("node {} on level {} but height {}", cur, i, height[cur as usize]));
                    }
                    if !in_arena(cur, i + 1) {
                        return Err(format!("node {} level {} out of the arena", cur, i));
                    }
                    height[cur as usize] = i + 1;
                }
                let l = self.lv(cur, i);
                let expect = if l.forward == NIL {
                    self.length - rank_of[cur as usize]
                } else {
                    let r = rank_of.get(l.forward as usize).copied().unwrap_or(usize::MAX);
                    if r == usize::MAX || r <= rank_of[cur as usize] {
                        return Err(format!("level {} link {}->{} goes backwards or off list", i, cur, l.forward));
                    }
                    r - rank_of[cur as usize]
                };
                if l.span as usize != expect {
                    return Err(format!("level {} node {} span {} expected {}", i, cur, l.span, expect));
                }
                if l.forward == NIL {
                    break;
                }
                cur = l.forward;
            }
        }
        if self.level > 1 && self.fwd(HEADER, self.level - 1) == NIL {
            return Err("top level empty".into());
        }
        for i in self.level..ZSKIPLIST_MAXLEVEL {
            if self.fwd(HEADER, i) != NIL {
                return Err(format!("header links on unused level {}", i));
            }
        }
        // Arena: the header's block, live blocks and free blocks are
        // disjoint and none straddles two chunks; member slots are
        // distinct, filled exactly for live nodes.
        let mut owner = vec![false; words];
        let mut claim = |off: usize, h: usize, what: &str| -> Result<(), String> {
            let end = off + LINKS + h;
            if end > owner.len() || off / CHUNK != (end - 1) / CHUNK {
                return Err(format!("{} block {}+{} out of bounds or straddling", what, off, h));
            }
            for o in &mut owner[off..end] {
                if *o {
                    return Err(format!("{} block {}+{} overlaps", what, off, h));
                }
                *o = true;
            }
            Ok(())
        };
        claim(HEADER as usize, ZSKIPLIST_MAXLEVEL, "header")?;
        let mut slot_used = vec![false; self.members.len()];
        let mut take_slot = |slot: u32, what: &str, x: usize| -> Result<(), String> {
            match slot_used.get_mut(slot as usize) {
                Some(u) if !*u => {
                    *u = true;
                    Ok(())
                }
                Some(_) => Err(format!("{} block {} shares member slot {}", what, x, slot)),
                None => Err(format!("{} block {} has slot {} out of the table", what, x, slot)),
            }
        };
        for (x, &h) in height.iter().enumerate() {
            if h > 0 {
                claim(x, h, "node")?;
                take_slot(self.slot_of(x as u32), "node", x)?;
            }
        }
        for h in 1..=ZSKIPLIST_MAXLEVEL {
            let mut off = self.free_blocks[h - 1];
            let mut guard = 0;
            while off != NO_BLOCK {
                claim(off as usize, h, "free")?;
                let slot = self.slot_of(off);
                if slot != NO_SLOT {
                    take_slot(slot, "free", off as usize)?;
                    if self.members[slot as usize].is_some() {
                        return Err(format!("free block {} holds a member", off));
                    }
                }
                off = self.arena[off as usize + SCORE] as u32;
                guard += 1;
                if guard > words {
                    return Err("free block cycle".into());
                }
            }
        }
        let filled = (0..self.members.len()).filter(|&i| self.members[i].is_some()).count();
        if filled != self.length {
            return Err(format!("{} member slots filled, length {}", filled, self.length));
        }
        Ok(())
    }
}

/// Walks level 0 forward or backward, yielding (member, score).
pub struct Iter<'a> {
    zsl: &'a Zskiplist,
    cur: u32,
    reverse: bool,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a Member, f64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.cur == NIL {
            return None;
        }
        let (zsl, x) = (self.zsl, self.cur);
        self.cur = if self.reverse { zsl.backward_of(x) } else { zsl.fwd(x, 0) };
        zsl.member_of(x).map(|e| (e, zsl.score_of(x)))
    }
}

// ---------------------------------------------------------------------------
// The skiplist-encoded sorted set: dict + skiplist.

/// A dict key that shares its bytes with the skiplist node.
#[derive(Clone, Debug)]
pub struct SharedMember(pub Member);

impl DictKey for SharedMember {
    fn key_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// What [`Zset::insert_or_update`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZsetChange {
    /// The member was new.
    Added,
    /// The member existed with another score.
    Updated,
    /// The member existed with this very score.
    Unchanged,
}

/// ZADD's input flags (`ZADD_IN_*`): `incr` adds the score to the current
/// one (ZINCRBY, ZADD INCR); `nx` only adds new members; `xx` only updates
/// existing ones; `gt` / `lt` only update when the new score is greater /
/// less than the current one. The command checks the incompatible
/// combinations (NX with XX, GT or LT, GT with LT) before calling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ZaddFlags {
    pub incr: bool,
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
}

impl ZaddFlags {
    /// The ZADD rules for a member already present with score `cur`
    /// (`zsetAdd`, shared by both encodings): `Ok(Ok(new))` when its score
    /// becomes `new`; `Ok(Err((outcome, cur)))` when nothing changes (NX,
    /// GT/LT refusing, or the same score); `Err(NanScore)` when an
    /// increment gives NaN.
    pub fn new_score(&self, cur: f64, score: f64) -> Result<Result<f64, (ZaddOutcome, f64)>, ZsetError> {
        if self.nx {
            return Ok(Err((ZaddOutcome::Nop, cur)));
        }
        let new = if self.incr { cur + score } else { score };
        if new.is_nan() {
            return Err(ZsetError::NanScore);
        }
        if (self.lt && new >= cur) || (self.gt && new <= cur) {
            return Ok(Err((ZaddOutcome::Nop, cur)));
        }
        if new == cur {
            return Ok(Err((ZaddOutcome::Unchanged, cur)));
        }
        Ok(Ok(new))
    }
}

/// What [`Zset::add`] did (`ZADD_OUT_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZaddOutcome {
    /// New member (counts for ZADD's reply).
    Added,
    /// Score changed (counts for ZADD CH).
    Updated,
    /// Member present, score the same: nothing changed but it is not a NOP
    /// (ZADD INCR still replies with the score).
    Unchanged,
    /// NX / XX / GT / LT prevented the operation (ZADD INCR replies nil).
    Nop,
}

/// A sorted set in the skiplist encoding (`zset` in server.h): a dict
/// member → skiplist node and a skiplist holding the same elements,
/// sharing each member's bytes (see the module docs). As in Redis, whose
/// dict value points at the node's score, the score is read from the node
/// and a command that found the member in the dict hands the node to the
/// skiplist, whose searches then stop at it without reading its member.
pub struct Zset {
    dict: Dict<SharedMember, NodeId>,
    zsl: Zskiplist,
}

impl Default for Zset {
    fn default() -> Self {
        Self::new()
    }
}

impl Zset {
    pub fn new() -> Self {
        Zset { dict: Dict::new(), zsl: Zskiplist::new() }
    }

    /// An empty set whose dict is sized for `n` elements, as zsetConvert
    /// does when converting a ziplist.
    pub fn with_capacity(n: usize) -> Self {
        let mut z = Zset::new();
        z.dict.expand(n);
        z
    }

    pub fn len(&self) -> usize {
        self.zsl.len()
    }

    pub fn is_empty(&self) -> bool {
        self.zsl.is_empty()
    }

    /// The skiplist, for ordered walks and ranks.
    pub fn zsl(&self) -> &Zskiplist {
        &self.zsl
    }

    /// One step of a scan in hash order (ZSCAN; see `Dict::scan`): calls
    /// `f` with the member and score of every element in the buckets
    /// visited, returns the next cursor.
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(&Member, f64)) -> u64 {
        self.dict.scan(cursor, |k, &x| f(&k.0, self.zsl.score_of(x.0)))
    }

    /// The score of `member` (ZSCORE, ZMSCORE).
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.dict.get(member).map(|&x| self.zsl.score_of(x.0))
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        self.dict.contains_key(member)
    }

    /// Sets `member`'s score, adding it if needed. Refuses NaN.
    pub fn insert_or_update(&mut self, member: &[u8], score: f64) -> Result<ZsetChange, ZsetError> {
        self.insert_shared_or_update(member, score, |m| Arc::from(m))
    }

    /// As [`insert_or_update`](Self::insert_or_update), sharing an existing
    /// [`Member`] (e.g. one taken from another sorted set by ZUNIONSTORE or
    /// ZRANGESTORE) instead of copying the bytes when the member is new.
    pub fn insert_member(&mut self, member: &Member, score: f64) -> Result<ZsetChange, ZsetError> {
        self.insert_shared_or_update(member, score, |_| member.clone())
    }

    fn insert_shared_or_update(
        &mut self,
        member: &[u8],
        score: f64,
        make: impl FnOnce(&[u8]) -> Member,
    ) -> Result<ZsetChange, ZsetError> {
        if score.is_nan() {
            return Err(ZsetError::NanScore);
        }
        if let Some(&x) = self.dict.find(member) {
            if self.zsl.score_of(x.0) == score {
                return Ok(ZsetChange::Unchanged);
            }
            self.zsl.update_node_score(x, member, score);
            return Ok(ZsetChange::Updated);
        }
        let m = make(member);
        let x = self.zsl.insert(score, m.clone())?;
        // The member is new, so `add` cannot find it.
        let _ = self.dict.add(SharedMember(m), x);
        Ok(ZsetChange::Added)
    }

    /// Inserts a member expected to be new with one table lookup (RDB
    /// loading). `Ok(false)` if it was there: the skiplist then holds it
    /// twice and the caller must drop the whole set.
    pub fn insert_new(&mut self, member: &[u8], score: f64) -> Result<bool, ZsetError> {
        if score.is_nan() {
            return Err(ZsetError::NanScore);
        }
        let m: Member = Arc::from(member);
        let x = self.zsl.insert(score, m.clone())?;
        Ok(self.dict.add(SharedMember(m), x).is_ok())
    }

    /// ZADD / ZINCRBY semantics (`zsetAdd`): returns what happened and the
    /// member's score afterwards (for a NOP, its current score if it has
    /// one, else `score`). `Err(NanScore)` when `score` is NaN or an
    /// increment gives NaN (`+inf` + `-inf`): nothing is changed then.
    pub fn add(&mut self, member: &[u8], score: f64, flags: ZaddFlags) -> Result<(ZaddOutcome, f64), ZsetError> {
        if score.is_nan() {
            return Err(ZsetError::NanScore);
        }
        // One dict lookup, as zsetAdd's dictFind: it gives the node.
        if let Some(&x) = self.dict.find(member) {
            let cur = self.zsl.score_of(x.0);
            let new = match flags.new_score(cur, score)? {
                Ok(new) => new,
                Err(unchanged) => return Ok(unchanged),
            };
            self.zsl.update_node_score(x, member, new);
            return Ok((ZaddOutcome::Updated, new));
        }
        if flags.xx {
            return Ok((ZaddOutcome::Nop, score));
        }
        let m: Member = Arc::from(member);
        let x = self.zsl.insert(score, m.clone())?;
        // The member is new, so `add` cannot find it.
        let _ = self.dict.add(SharedMember(m), x);
        Ok((ZaddOutcome::Added, score))
    }

    /// Removes `member` and returns its score (`zsetDel`).
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let (_, x) = self.dict.remove(member)?;
        let score = self.zsl.score_of(x.0);
        self.zsl.delete_node(x, member);
        Some(score)
    }

    /// 0-based rank of `member`, from the lowest score, or from the highest
    /// when `reverse` (ZRANK / ZREVRANK).
    pub fn rank(&self, member: &[u8], reverse: bool) -> Option<usize> {
        let &x = self.dict.get(member)?;
        let r = self.zsl.node_rank(x, member)?;
        Some(if reverse { self.len() - r } else { r - 1 })
    }

    /// Ascending walk over (member, score).
    pub fn iter(&self) -> Iter<'_> {
        self.zsl.iter()
    }

    /// Elements of 0-based ranks `start..=end` (already normalized with
    /// [`normalize_rank_range`]), ascending; with `reverse`, ranks count
    /// from the highest score and the walk descends (ZREVRANGE).
    pub fn range_by_rank(&self, start: usize, end: usize, reverse: bool) -> RangeIter<'_> {
        let len = self.len();
        let (cur, remaining) = if start > end || start >= len {
            (NIL, 0)
        } else {
            let rank = if reverse { len - start } else { start + 1 };
            let cur = self.zsl.get_element_by_rank(rank).map_or(NIL, |n| n.0);
            (cur, end.min(len - 1) - start + 1)
        };
        RangeIter { inner: Iter { zsl: &self.zsl, cur, reverse }, remaining, stop: Stop::None }
    }

    /// Elements with a score inside `range`, ascending from the lowest (or
    /// descending from the highest with `reverse`, ZREVRANGEBYSCORE), after
    /// skipping `offset` of them, at most `limit` (LIMIT offset count; None
    /// for no limit). The offset is skipped by rank, in O(log n).
    pub fn range_by_score(&self, range: &ZRangeSpec, reverse: bool, offset: usize, limit: Option<usize>) -> RangeIter<'_> {
        let start = if reverse { self.zsl.last_in_range(range) } else { self.zsl.first_in_range(range) };
        let cur = self.skip_by_rank(start, reverse, offset);
        RangeIter {
            inner: Iter { zsl: &self.zsl, cur, reverse },
            remaining: limit.unwrap_or(usize::MAX),
            stop: Stop::Score(*range),
        }
    }

    /// Elements inside the lex range, as [`range_by_score`](Self::range_by_score)
    /// (ZRANGEBYLEX / ZREVRANGEBYLEX).
    pub fn range_by_lex<'a>(
        &'a self,
        range: &'a ZLexRangeSpec,
        reverse: bool,
        offset: usize,
        limit: Option<usize>,
    ) -> RangeIter<'a> {
        let start = if reverse { self.zsl.last_in_lex_range(range) } else { self.zsl.first_in_lex_range(range) };
        let cur = self.skip_by_rank(start, reverse, offset);
        RangeIter { inner: Iter { zsl: &self.zsl, cur, reverse }, remaining: limit.unwrap_or(usize::MAX), stop: Stop::Lex(range) }
    }

    /// The node `offset` steps after `start` in the walk direction.
    fn skip_by_rank(&self, start: Option<NodeId>, reverse: bool, offset: usize) -> u32 {
        let Some(start) = start else { return NIL };
        if offset == 0 {
            return start.0;
        }
        let Some((m, _)) = self.zsl.entry(start) else { return NIL };
        let Some(rank) = self.zsl.node_rank(start, m) else { return NIL };
        let target = if reverse { rank.checked_sub(offset) } else { rank.checked_add(offset) };
        target.and_then(|r| self.zsl.get_element_by_rank(r)).map_or(NIL, |n| n.0)
    }

    /// Number of elements with a score inside `range` (ZCOUNT), from ranks.
    pub fn count_in_range(&self, range: &ZRangeSpec) -> usize {
        let first = self.zsl.first_in_range(range);
        let last = self.zsl.last_in_range(range);
        self.count_between(first, last)
    }

    /// Number of elements inside the lex range (ZLEXCOUNT).
    pub fn count_in_lex_range(&self, range: &ZLexRangeSpec) -> usize {
        let first = self.zsl.first_in_lex_range(range);
        let last = self.zsl.last_in_lex_range(range);
        self.count_between(first, last)
    }

    fn count_between(&self, first: Option<NodeId>, last: Option<NodeId>) -> usize {
        let rank = |n: Option<NodeId>| {
            let n = n?;
            self.zsl.node_rank(n, self.zsl.entry(n)?.0)
        };
        match (rank(first), rank(last)) {
            (Some(a), Some(b)) if b >= a => b - a + 1,
            _ => 0,
        }
    }

    /// Removes the `count` lowest elements (ZPOPMIN), lowest first, or the
    /// `count` highest (ZPOPMAX), highest first.
    pub fn pop(&mut self, count: usize, max: bool) -> Vec<(Member, f64)> {
        let len = self.len();
        let count = count.min(len);
        if count == 0 {
            return Vec::new();
        }
        let mut removed =
            if max { self.zsl.delete_range_by_rank(len - count + 1, len) } else { self.zsl.delete_range_by_rank(1, count) };
        if max {
            removed.reverse();
        }
        for (m, _) in &removed {
            self.dict.remove(m);
        }
        removed
    }

    /// Removes the elements of 0-based ranks `start..=end` (normalized),
    /// ascending (ZREMRANGEBYRANK).
    pub fn delete_range_by_rank(&mut self, start: usize, end: usize) -> Vec<(Member, f64)> {
        let removed = self.zsl.delete_range_by_rank(start.saturating_add(1), end.saturating_add(1));
        self.forget(removed)
    }

    /// Removes the elements with a score inside `range` (ZREMRANGEBYSCORE).
    pub fn delete_range_by_score(&mut self, range: &ZRangeSpec) -> Vec<(Member, f64)> {
        let removed = self.zsl.delete_range_by_score(range);
        self.forget(removed)
    }

    /// Removes the elements inside the lex range (ZREMRANGEBYLEX).
    pub fn delete_range_by_lex(&mut self, range: &ZLexRangeSpec) -> Vec<(Member, f64)> {
        let removed = self.zsl.delete_range_by_lex(range);
        self.forget(removed)
    }

    /// Drops removed members from the dict and shrinks it if it became
    /// sparse, as zremrangeGenericCommand does.
    fn forget(&mut self, removed: Vec<(Member, f64)>) -> Vec<(Member, f64)> {
        for (m, _) in &removed {
            self.dict.remove(m);
        }
        if !removed.is_empty() && self.dict.needs_resize() {
            self.dict.resize();
        }
        removed
    }

    /// A random element (ZRANDMEMBER without count).
    pub fn random_entry(&mut self) -> Option<(&Member, f64)> {
        let zsl = &self.zsl;
        self.dict.fair_random_entry().map(|(k, x)| (&k.0, zsl.score_of(x.0)))
    }

    /// Checks the skiplist invariants and that the dict holds exactly the
    /// skiplist's elements, each member mapped to its own node and sharing
    /// the node's bytes.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.zsl.check_invariants()?;
        if self.dict.len() != self.zsl.len() {
            return Err(format!("dict has {} entries, skiplist {}", self.dict.len(), self.zsl.len()));
        }
        for x in self.zsl.node_ids() {
            let Some((m, _)) = self.zsl.entry(x) else { return Err(format!("node {:?} not live", x)) };
            match self.dict.get_key_value(m) {
                Some((k, &v)) if v == x && Arc::ptr_eq(&k.0, m) => {}
                Some((_, &v)) if v == x => return Err(format!("member {:?} not shared", crate::util::repr(m))),
                other => {
                    return Err(format!("member {:?} dict {:?} skiplist {:?}", crate::util::repr(m), other.map(|e| *e.1), x))
                }
            }
        }
        Ok(())
    }
}

impl Clone for Zset {
    /// Clones the skiplist (sharing the members) and rebuilds the dict.
    fn clone(&self) -> Self {
        let zsl = self.zsl.clone();
        let mut dict = Dict::new();
        dict.expand(zsl.len());
        for x in zsl.node_ids() {
            if let Some((m, _)) = zsl.entry(x) {
                let _ = dict.add(SharedMember(m.clone()), x);
            }
        }
        Zset { dict, zsl }
    }
}

impl PartialEq for Zset {
    /// Same members with the same scores (NaN never gets in, so this is an
    /// equivalence).
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a.0 == b.0 && a.1 == b.1)
    }
}

impl Eq for Zset {}

impl std::fmt::Debug for Zset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter().map(|(m, s)| (crate::util::repr(m), s))).finish()
    }
}

enum Stop<'a> {
    None,
    Score(ZRangeSpec),
    Lex(&'a ZLexRangeSpec),
}

/// A walk over a range of a [`Zset`], yielding (member, score); it ends at
/// the range's far bound or after its limit.
pub struct RangeIter<'a> {
    inner: Iter<'a>,
    remaining: usize,
    stop: Stop<'a>,
}

impl<'a> Iterator for RangeIter<'a> {
    type Item = (&'a Member, f64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let (m, s) = self.inner.next()?;
        let inside = match &self.stop {
            Stop::None => true,
            Stop::Score(r) => {
                if self.inner.reverse {
                    r.value_gte_min(s)
                } else {
                    r.value_lte_max(s)
                }
            }
            Stop::Lex(r) => {
                if self.inner.reverse {
                    r.value_gte_min(m)
                } else {
                    r.value_lte_max(m)
                }
            }
        };
        if !inside {
            self.remaining = 0;
            self.inner.cur = NIL;
            return None;
        }
        self.remaining -= 1;
        Some((m, s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    /// Deterministic xorshift for the op sequences (node heights still come
    /// from `random_u64`, which is what the structure must cope with).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn coin(&mut self) -> bool {
            self.next() & 1 == 1
        }
    }

    /// The reference: a sorted Vec of (score, member).
    #[derive(Default)]
    struct Model(Vec<(f64, Vec<u8>)>);

    fn cmp(a: &(f64, Vec<u8>), score: f64, ele: &[u8]) -> Ordering {
        match a.0.partial_cmp(&score) {
            Some(Ordering::Equal) | None => a.1.as_slice().cmp(ele),
            Some(o) => o,
        }
    }

    impl Model {
        fn pos(&self, m: &[u8]) -> Option<usize> {
            self.0.iter().position(|(_, x)| x == m)
        }
        fn set(&mut self, m: &[u8], s: f64) -> ZsetChange {
            let change = match self.pos(m) {
                Some(i) if self.0[i].0 == s => return ZsetChange::Unchanged,
                Some(i) => {
                    self.0.remove(i);
                    ZsetChange::Updated
                }
                None => ZsetChange::Added,
            };
            let at = self.0.partition_point(|e| cmp(e, s, m) == Ordering::Less);
            self.0.insert(at, (s, m.to_vec()));
            change
        }
        fn remove(&mut self, m: &[u8]) -> Option<f64> {
            let i = self.pos(m)?;
            Some(self.0.remove(i).0)
        }
        fn score(&self, m: &[u8]) -> Option<f64> {
            self.pos(m).map(|i| self.0[i].0)
        }
    }

    fn owned<'a>(it: impl Iterator<Item = (&'a Member, f64)>) -> Vec<(f64, Vec<u8>)> {
        it.map(|(m, s)| (s, m.to_vec())).collect()
    }

    fn owned_removed(v: Vec<(Member, f64)>) -> Vec<(f64, Vec<u8>)> {
        v.into_iter().map(|(m, s)| (s, m.to_vec())).collect()
    }

    /// Checks the whole set against the model: invariants, content, every
    /// rank both ways, every element by rank (which exercises every span).
    fn check_full(z: &Zset, model: &Model) {
        if let Err(e) = z.check_invariants() {
            panic!("invariant broken: {}", e);
        }
        assert_eq!(owned(z.iter()), model.0);
        assert_eq!(owned(z.zsl().iter_rev()), model.0.iter().rev().cloned().collect::<Vec<_>>());
        let n = model.0.len();
        for (i, (s, m)) in model.0.iter().enumerate() {
            assert_eq!(z.score(m), Some(*s));
            assert_eq!(z.rank(m, false), Some(i));
            assert_eq!(z.rank(m, true), Some(n - 1 - i));
            assert_eq!(z.zsl().get_rank(*s, m), Some(i + 1));
            let id = z.zsl().get_element_by_rank(i + 1).expect("rank inside the set");
            let (em, es) = z.zsl().entry(id).expect("live node");
            assert_eq!((es, &em[..]), (*s, m.as_slice()));
        }
        assert_eq!(z.zsl().get_element_by_rank(0), None);
        assert_eq!(z.zsl().get_element_by_rank(n + 1), None);
    }

    const SCORES: [f64; 9] = [f64::NEG_INFINITY, -2.5, -1.0, -0.0, 0.0, 1.0, 1.5, 3.0, f64::INFINITY];

    /// Up to 3 bytes from a 4-byte alphabet (85 members, so many hits and
    /// equal scores) or, with `wide`, from 16 bytes (4369 members, so the
    /// set grows to thousands and tall nodes appear).
    fn random_member_from(r: &mut Rng, wide: bool) -> Vec<u8> {
        const ALPHA: &[u8] = b"ab\x00\xffcdefghijklmn";
        let k = if wide { 16 } else { 4 };
        let len = r.below(4) as usize;
        (0..len).map(|_| ALPHA[r.below(k) as usize]).collect()
    }

    fn random_member(r: &mut Rng) -> Vec<u8> {
        random_member_from(r, false)
    }

    fn random_score(r: &mut Rng) -> f64 {
        if r.below(4) == 0 {
            (r.below(2000) as f64 - 1000.0) / 7.0
        } else {
            SCORES[r.below(SCORES.len() as u64) as usize]
        }
    }

    fn random_range(r: &mut Rng) -> ZRangeSpec {
        ZRangeSpec { min: random_score(r), max: random_score(r), minex: r.coin(), maxex: r.coin() }
    }

    fn random_lex_bound(r: &mut Rng) -> LexBound {
        match r.below(6) {
            0 => LexBound::NegInf,
            1 => LexBound::PosInf,
            2 | 3 => LexBound::Inclusive(random_member(r)),
            _ => LexBound::Exclusive(random_member(r)),
        }
    }

    fn in_range(r: &ZRangeSpec, s: f64) -> bool {
        r.value_gte_min(s) && r.value_lte_max(s)
    }

    fn model_range(model: &Model, keep: impl Fn(&(f64, Vec<u8>)) -> bool, reverse: bool, offset: usize, limit: Option<usize>) -> Vec<(f64, Vec<u8>)> {
        let mut v: Vec<_> = model.0.iter().filter(|e| keep(e)).cloned().collect();
        if reverse {
            v.reverse();
        }
        v.into_iter().skip(offset).take(limit.unwrap_or(usize::MAX)).collect()
    }

    #[test]
    fn block_is_two_words_plus_one_a_level() {
        let mut zsl = Zskiplist::new();
        assert_eq!(zsl.arena.len(), HEADER_WORDS);
        for h in [1, 2, 5, 32] {
            let before = zsl.arena.len();
            let x = zsl.insert_with_height(h as f64, Arc::from(&b"m"[..]), h).unwrap();
            assert_eq!((x.0 as usize, zsl.arena.len()), (before, before + LINKS + h));
        }
        assert_eq!(zsl.members.len(), 4);
        assert_eq!(std::mem::size_of::<Option<Member>>(), 16);
        zsl.check_invariants().unwrap();
    }

    /// Blocks never straddle two chunks: the rest of a chunk becomes a
    /// free block of its own height, which a later node of that height
    /// takes (it has no member slot yet, so one is added).
    #[test]
    fn chunk_rest_becomes_a_free_block() {
        let mut zsl = Zskiplist::new();
        let mut i = 0;
        // Fill the first chunk up to 10 words before its end.
        while zsl.arena.len() < CHUNK - 10 - 3 {
            zsl.insert_with_height(i as f64, Arc::from(format!("{}", i).as_bytes()), 1).unwrap();
            i += 1;
        }
        let rest = CHUNK - zsl.arena.len();
        assert!((10..13).contains(&rest), "{}", rest);
        let tall = zsl.insert_with_height(-1.0, Arc::from(&b"tall"[..]), 20).unwrap();
        assert_eq!(tall.0 as usize, CHUNK);
        assert_eq!(zsl.free_blocks[rest - LINKS - 1], (CHUNK - rest) as u32);
        zsl.check_invariants().unwrap();
        let slots = zsl.members.len();
        let x = zsl.insert_with_height(-2.0, Arc::from(&b"rest"[..]), rest - LINKS).unwrap();
        assert_eq!(x.0 as usize, CHUNK - rest);
        assert_eq!(zsl.members.len(), slots + 1);
        assert_eq!(zsl.first().and_then(|n| zsl.entry(n)).map(|e| e.1), Some(-2.0));
        zsl.check_invariants().unwrap();
    }

    #[test]
    fn equal_scores_order_by_member_bytes() {
        let mut z = Zset::new();
        for m in [&b"b"[..], b"aa", b"a", b"", b"\xff", b"a\x00", b"B"] {
            assert_eq!(z.insert_or_update(m, 1.0), Ok(ZsetChange::Added));
        }
        let got: Vec<Vec<u8>> = z.iter().map(|(m, _)| m.to_vec()).collect();
        let want: Vec<Vec<u8>> = [&b""[..], b"B", b"a", b"a\x00", b"aa", b"b", b"\xff"].iter().map(|m| m.to_vec()).collect();
        assert_eq!(got, want);
        assert_eq!(z.rank(b"a\x00", false), Some(3));
        assert_eq!(z.rank(b"a\x00", true), Some(3));
        assert_eq!(z.rank(b"zz", false), None);
        z.check_invariants().unwrap();
    }

    #[test]
    fn infinities_and_signed_zero() {
        let mut z = Zset::new();
        z.insert_or_update(b"top", f64::INFINITY).unwrap();
        z.insert_or_update(b"bottom", f64::NEG_INFINITY).unwrap();
        z.insert_or_update(b"zero", 0.0).unwrap();
        z.insert_or_update(b"negzero", -0.0).unwrap();
        let order: Vec<&[u8]> = z.iter().map(|(m, _)| &m[..]).collect();
        assert_eq!(order, vec![&b"bottom"[..], b"negzero", b"zero", b"top"]);
        // -0 and 0 are the same score: ZADD of -0 over 0 changes nothing.
        assert_eq!(z.insert_or_update(b"zero", -0.0), Ok(ZsetChange::Unchanged));
        let all = ZRangeSpec { min: f64::NEG_INFINITY, max: f64::INFINITY, minex: false, maxex: false };
        assert_eq!(z.count_in_range(&all), 4);
        let open = ZRangeSpec { minex: true, maxex: true, ..all };
        assert_eq!(owned(z.range_by_score(&open, false, 0, None)).len(), 2);
        // inf + -inf is NaN: refused, set unchanged.
        let incr = ZaddFlags { incr: true, ..Default::default() };
        assert_eq!(z.add(b"top", f64::NEG_INFINITY, incr), Err(ZsetError::NanScore));
        assert_eq!(z.score(b"top"), Some(f64::INFINITY));
        assert_eq!(z.insert_or_update(b"x", f64::NAN), Err(ZsetError::NanScore));
        assert_eq!(z.zsl.insert(f64::NAN, Arc::from(&b"y"[..])), Err(ZsetError::NanScore));
        assert_eq!(z.zsl.update_score(0.0, b"zero", f64::NAN), None);
        assert!(!z.contains(b"x"));
        z.check_invariants().unwrap();
    }

    #[test]
    fn lex_range_parsing() {
        use LexBound::*;
        assert_eq!(LexBound::parse(b"-"), Some(NegInf));
        assert_eq!(LexBound::parse(b"+"), Some(PosInf));
        assert_eq!(LexBound::parse(b"+\x00junk"), Some(PosInf));
        assert_eq!(LexBound::parse(b"[a"), Some(Inclusive(b"a".to_vec())));
        assert_eq!(LexBound::parse(b"(a b"), Some(Exclusive(b"a b".to_vec())));
        assert_eq!(LexBound::parse(b"["), Some(Inclusive(Vec::new())));
        assert_eq!(LexBound::parse(b"("), Some(Exclusive(Vec::new())));
        assert_eq!(LexBound::parse(b"[+"), Some(Inclusive(b"+".to_vec())));
        for bad in [&b""[..], b"a", b"+a", b"-a", b"++", b"]a", b" [a", b"\x00"] {
            assert_eq!(LexBound::parse(bad), None, "{:?}", bad);
        }
        assert!(ZLexRangeSpec::parse(b"[a", b"x").is_none());
        assert!(ZLexRangeSpec::parse(b"x", b"[a").is_none());
        assert_eq!(ZLexRangeSpec::parse(b"-", b"(z"), Some(ZLexRangeSpec { min: NegInf, max: Exclusive(b"z".to_vec()) }));
    }

    #[test]
    fn lex_range_emptiness() {
        let spec = |a: &[u8], b: &[u8]| ZLexRangeSpec::parse(a, b).unwrap();
        assert!(!spec(b"-", b"+").is_empty());
        assert!(spec(b"+", b"-").is_empty());
        assert!(spec(b"-", b"-").is_empty());
        assert!(spec(b"+", b"+").is_empty());
        assert!(!spec(b"[a", b"[a").is_empty());
        assert!(spec(b"(a", b"[a").is_empty());
        assert!(spec(b"[a", b"(a").is_empty());
        assert!(spec(b"[b", b"[a").is_empty());
        assert!(!spec(b"-", b"[a").is_empty());
        assert!(!spec(b"[a", b"+").is_empty());
        let mut z = Zset::new();
        for m in [&b"a"[..], b"b", b"c"] {
            z.insert_or_update(m, 0.0).unwrap();
        }
        assert!(!z.zsl().is_in_lex_range(&spec(b"-", b"-")));
        assert!(!z.zsl().is_in_lex_range(&spec(b"(c", b"+")));
        assert!(!z.zsl().is_in_lex_range(&spec(b"-", b"(a")));
        assert!(z.zsl().is_in_lex_range(&spec(b"[a", b"[a")));
        assert_eq!(z.count_in_lex_range(&spec(b"(a", b"+")), 2);
        assert_eq!(z.count_in_lex_range(&spec(b"[b", b"[b")), 1);
    }

    #[test]
    fn score_range_parsing_and_emptiness() {
        let num = |b: &[u8]| std::str::from_utf8(b).ok()?.parse::<f64>().ok();
        let r = ZRangeSpec::parse(b"(1.5", b"3", num).unwrap();
        assert_eq!(r, ZRangeSpec { min: 1.5, max: 3.0, minex: true, maxex: false });
        assert!(ZRangeSpec::parse(b"x", b"3", num).is_none());
        assert!(ZRangeSpec::parse(b"1", b"(", num).is_none());
        assert!(ZRangeSpec::parse(b"NaN", b"1", num).is_none());
        assert!(ZRangeSpec { min: 1.0, max: 1.0, minex: false, maxex: true }.is_empty());
        assert!(!ZRangeSpec { min: 1.0, max: 1.0, minex: false, maxex: false }.is_empty());
        assert!(ZRangeSpec { min: 2.0, max: 1.0, minex: false, maxex: false }.is_empty());
        let mut z = Zset::new();
        z.insert_or_update(b"a", 1.0).unwrap();
        assert!(z.zsl().is_in_range(&ZRangeSpec { min: 1.0, max: 1.0, minex: false, maxex: false }));
        assert!(!z.zsl().is_in_range(&ZRangeSpec { min: 1.0, max: 1.0, minex: true, maxex: false }));
        assert_eq!(z.zsl().first_in_range(&ZRangeSpec { min: 1.0, max: 2.0, minex: true, maxex: false }), None);
    }

    #[test]
    fn normalize_ranks_like_zrange() {
        assert_eq!(normalize_rank_range(0, -1, 5), Some((0, 4)));
        assert_eq!(normalize_rank_range(-2, -1, 5), Some((3, 4)));
        assert_eq!(normalize_rank_range(-100, 2, 5), Some((0, 2)));
        assert_eq!(normalize_rank_range(1, 100, 5), Some((1, 4)));
        assert_eq!(normalize_rank_range(5, 10, 5), None);
        assert_eq!(normalize_rank_range(3, 2, 5), None);
        assert_eq!(normalize_rank_range(0, -1, 0), None);
        assert_eq!(normalize_rank_range(i64::MIN, i64::MAX, 3), Some((0, 2)));
    }

    #[test]
    fn zadd_flags() {
        let f = |s: &str| ZaddFlags {
            incr: s.contains('i'),
            nx: s.contains('n'),
            xx: s.contains('x'),
            gt: s.contains('g'),
            lt: s.contains('l'),
        };
        let mut z = Zset::new();
        assert_eq!(z.add(b"m", 5.0, f("x")), Ok((ZaddOutcome::Nop, 5.0)));
        assert!(!z.contains(b"m"));
        assert_eq!(z.add(b"m", 5.0, f("n")), Ok((ZaddOutcome::Added, 5.0)));
        assert_eq!(z.add(b"m", 6.0, f("n")), Ok((ZaddOutcome::Nop, 5.0)));
        assert_eq!(z.add(b"m", 4.0, f("g")), Ok((ZaddOutcome::Nop, 5.0)));
        assert_eq!(z.add(b"m", 5.0, f("g")), Ok((ZaddOutcome::Nop, 5.0)));
        assert_eq!(z.add(b"m", 7.0, f("g")), Ok((ZaddOutcome::Updated, 7.0)));
        assert_eq!(z.add(b"m", 8.0, f("l")), Ok((ZaddOutcome::Nop, 7.0)));
        assert_eq!(z.add(b"m", 2.0, f("lx")), Ok((ZaddOutcome::Updated, 2.0)));
        assert_eq!(z.add(b"m", 2.0, f("")), Ok((ZaddOutcome::Unchanged, 2.0)));
        assert_eq!(z.add(b"m", 0.0, f("i")), Ok((ZaddOutcome::Unchanged, 2.0)));
        assert_eq!(z.add(b"m", 3.0, f("i")), Ok((ZaddOutcome::Updated, 5.0)));
        assert_eq!(z.add(b"m", -1.0, f("ig")), Ok((ZaddOutcome::Nop, 5.0)));
        assert_eq!(z.add(b"m", 1.0, f("ig")), Ok((ZaddOutcome::Updated, 6.0)));
        assert_eq!(z.add(b"new", 3.0, f("i")), Ok((ZaddOutcome::Added, 3.0)));
        assert_eq!(z.add(b"new2", 3.0, f("ix")), Ok((ZaddOutcome::Nop, 3.0)));
        assert_eq!(z.score(b"m"), Some(6.0));
        assert_eq!(z.len(), 2);
        z.check_invariants().unwrap();
    }

    #[test]
    fn update_score_in_place_or_moved() {
        let mut zsl = Zskiplist::new();
        for (i, m) in [&b"a"[..], b"b", b"c", b"d"].iter().enumerate() {
            zsl.insert(i as f64 * 10.0, Arc::from(*m)).unwrap();
        }
        let b = zsl.get_element_by_rank(2).unwrap();
        // Stays between 0 and 20: changed in place, same node.
        assert_eq!(zsl.update_score(10.0, b"b", 15.0), Some(b));
        zsl.check_invariants().unwrap();
        // Equal to a neighbour's score: Redis moves it (strict comparison).
        assert_eq!(zsl.update_score(15.0, b"b", 20.0), Some(b));
        zsl.check_invariants().unwrap();
        assert_eq!(zsl.get_rank(20.0, b"b"), Some(2));
        // Past everything: moved to the end, same slot.
        assert_eq!(zsl.update_score(20.0, b"b", 100.0), Some(b));
        zsl.check_invariants().unwrap();
        assert_eq!(zsl.last(), Some(b));
        assert_eq!(zsl.get_rank(100.0, b"b"), Some(4));
        // Wrong current score or unknown member: nothing happens.
        assert_eq!(zsl.update_score(20.0, b"b", 1.0), None);
        assert_eq!(zsl.update_score(0.0, b"zz", 1.0), None);
        zsl.check_invariants().unwrap();
    }

    /// The node-handle operations (what the dict hands over) agree with
    /// the (score, member) ones on a run of equal scores, where the search
    /// must order by member everywhere except at the node itself, and
    /// refuse a handle that does not hold the given member.
    #[test]
    fn node_handle_operations_match_searches() {
        let mut zsl = Zskiplist::new();
        let mut ids = Vec::new();
        for i in 0..200u32 {
            let m = format!("m{:03}", i);
            ids.push(zsl.insert((i / 50) as f64, Arc::from(m.as_bytes())).unwrap());
        }
        for (i, &id) in ids.iter().enumerate() {
            let m = format!("m{:03}", i);
            assert_eq!(zsl.node_rank(id, m.as_bytes()), Some(i + 1));
            assert_eq!(zsl.get_rank((i / 50) as f64, m.as_bytes()), Some(i + 1));
        }
        // Wrong member for the node: refused, nothing changes.
        assert!(!zsl.update_node_score(ids[10], b"m011", 9.0));
        assert!(!zsl.update_node_score(ids[10], b"m010", f64::NAN));
        assert_eq!(zsl.delete_node(ids[10], b"m011"), None);
        assert_eq!(zsl.node_rank(NodeId(HEADER), b""), None);
        zsl.check_invariants().unwrap();
        // Moved to the end, changed in place there, moved to the front,
        // moved back into a run of equal scores.
        assert!(zsl.update_node_score(ids[10], b"m010", 3.5));
        assert_eq!(zsl.node_rank(ids[10], b"m010"), Some(200));
        assert!(zsl.update_node_score(ids[10], b"m010", 3.25));
        assert_eq!(zsl.node_rank(ids[10], b"m010"), Some(200));
        assert!(zsl.update_node_score(ids[150], b"m150", -1.0));
        assert_eq!(zsl.node_rank(ids[150], b"m150"), Some(1));
        assert!(zsl.update_node_score(ids[150], b"m150", 1.0));
        assert_eq!(zsl.node_rank(ids[150], b"m150"), Some(100));
        zsl.check_invariants().unwrap();
        assert_eq!(zsl.delete_node(ids[60], b"m060").as_deref(), Some(&b"m060"[..]));
        assert_eq!(zsl.delete_node(ids[60], b"m060"), None);
        assert!(!zsl.update_node_score(ids[60], b"m060", 1.0));
        assert_eq!(zsl.node_rank(ids[60], b"m060"), None);
        assert_eq!(zsl.node_rank(ids[61], b"m061"), Some(60));
        zsl.check_invariants().unwrap();
        assert_eq!(zsl.len(), 199);
    }

    #[test]
    fn navigation_and_stale_handles() {
        let mut zsl = Zskiplist::new();
        assert_eq!((zsl.first(), zsl.last()), (None, None));
        for i in 0..10u8 {
            zsl.insert(i as f64, Arc::from(&[b'a' + i][..])).unwrap();
        }
        let third = zsl.get_element_by_rank(3).unwrap();
        assert_eq!(zsl.entry(zsl.next(third).unwrap()).map(|e| e.1), Some(3.0));
        assert_eq!(zsl.entry(zsl.prev(third).unwrap()).map(|e| e.1), Some(1.0));
        assert_eq!(zsl.prev(zsl.first().unwrap()), None);
        assert_eq!(zsl.next(zsl.last().unwrap()), None);
        let back: Vec<f64> = zsl.iter_from(third, true).map(|e| e.1).collect();
        assert_eq!(back, vec![2.0, 1.0, 0.0]);
        assert_eq!(zsl.delete(2.0, b"c").as_deref(), Some(&b"c"[..]));
        assert_eq!(zsl.delete(2.0, b"c"), None);
        assert_eq!(zsl.entry(third), None);
        assert_eq!(zsl.iter_from(third, false).count(), 0);
        assert_eq!(zsl.entry(NodeId(HEADER)), None);
        assert_eq!(zsl.next(NodeId(HEADER)), None);
        zsl.check_invariants().unwrap();
        // The freed block, and the member slot it keeps, are reused by the
        // next node of its height.
        let height = (0..ZSKIPLIST_MAXLEVEL).take_while(|&i| zsl.free_blocks[i] != third.0).count() + 1;
        assert!(height <= ZSKIPLIST_MAXLEVEL);
        let slots = zsl.members.len();
        let again = zsl.insert_with_height(2.5, Arc::from(&b"x"[..]), height).unwrap();
        assert_eq!(again, third);
        assert_eq!(zsl.members.len(), slots);
        zsl.check_invariants().unwrap();
    }

    /// Thousands of random operations on a Zset, each checked against the
    /// sorted-Vec model, with the full check (invariants, every rank) after
    /// every mutation.
    #[test]
    fn random_ops_match_model() {
        for (seed, wide) in [(0x9e37_79b9_7f4a_7c15u64, false), (12345, false), (987_654_321, true), (4242, true)] {
            let mut r = Rng(seed);
            // Wide runs insert more than they delete so the set grows large;
            // their full check runs less often (it is O(n log n)).
            let check_every = if wide { 100 } else { 1 };
            let mut biggest = (0usize, 0usize);
            let mut z = Zset::new();
            let mut model = Model::default();
            let steps = if wide { 20_000 } else { 4000 };
            for step in 0..steps {
                let mutated = match r.below(20) {
                    0..=7 => {
                        let (m, s) = (random_member_from(&mut r, wide), random_score(&mut r));
                        assert_eq!(z.insert_or_update(&m, s), Ok(model.set(&m, s)), "step {}", step);
                        true
                    }
                    8..=9 => {
                        let m = random_member_from(&mut r, wide);
                        assert_eq!(z.remove(&m), model.remove(&m));
                        true
                    }
                    10 => {
                        // ZINCRBY-style add; NaN results are refused on both sides.
                        let (m, s) = (random_member_from(&mut r, wide), random_score(&mut r));
                        let flags = ZaddFlags { incr: true, ..Default::default() };
                        let new = model.score(&m).map_or(s, |c| c + s);
                        match z.add(&m, s, flags) {
                            Err(ZsetError::NanScore) => assert!(new.is_nan()),
                            Ok((_, got)) => {
                                assert_eq!(got, new);
                                model.set(&m, new);
                            }
                            Err(e) => panic!("{:?}", e),
                        }
                        true
                    }
                    11 if !wide || (r.below(10) == 0 && z.len() > 2000) => {
                        let range = random_range(&mut r);
                        let want: Vec<_> = model.0.iter().filter(|e| in_range(&range, e.0)).cloned().collect();
                        model.0.retain(|e| !in_range(&range, e.0));
                        assert_eq!(owned_removed(z.delete_range_by_score(&range)), want);
                        true
                    }
                    12 if !wide || (r.below(10) == 0 && z.len() > 2000) => {
                        let n = model.0.len() as i64 + 2;
                        let (a, b) = (r.below(2 * n as u64) as i64 - n, r.below(2 * n as u64) as i64 - n);
                        let want = match normalize_rank_range(a, b, model.0.len()) {
                            Some((s, e)) => model.0.drain(s..=e).collect(),
                            None => Vec::new(),
                        };
                        let got = match normalize_rank_range(a, b, z.len()) {
                            Some((s, e)) => z.delete_range_by_rank(s, e),
                            None => Vec::new(),
                        };
                        assert_eq!(owned_removed(got), want);
                        true
                    }
                    13 => {
                        let (count, max) = (r.below(4) as usize, r.coin());
                        let k = count.min(model.0.len());
                        let want: Vec<_> = if max {
                            model.0.drain(model.0.len() - k..).rev().collect()
                        } else {
                            model.0.drain(..k).collect()
                        };
                        assert_eq!(owned_removed(z.pop(count, max)), want);
                        true
                    }
                    14..=16 => {
                        let range = random_range(&mut r);
                        let (rev, off) = (r.coin(), r.below(4) as usize);
                        let limit = if r.coin() { None } else { Some(r.below(5) as usize) };
                        let want = model_range(&model, |e| in_range(&range, e.0), rev, off, limit);
                        assert_eq!(owned(z.range_by_score(&range, rev, off, limit)), want, "{:?}", range);
                        assert_eq!(z.count_in_range(&range), model.0.iter().filter(|e| in_range(&range, e.0)).count());
                        let first = z.zsl().first_in_range(&range).and_then(|n| z.zsl().entry(n)).map(|e| e.1);
                        let last = z.zsl().last_in_range(&range).and_then(|n| z.zsl().entry(n)).map(|e| e.1);
                        let inside: Vec<f64> = model.0.iter().filter(|e| in_range(&range, e.0)).map(|e| e.0).collect();
                        assert_eq!((first, last), (inside.first().copied(), inside.last().copied()));
                        if !z.zsl().is_in_range(&range) {
                            assert!(inside.is_empty());
                        }
                        false
                    }
                    17..=18 => {
                        let n = model.0.len() as i64 + 2;
                        let (a, b) = (r.below(2 * n as u64) as i64 - n, r.below(2 * n as u64) as i64 - n);
                        let rev = r.coin();
                        let want: Vec<_> = match normalize_rank_range(a, b, model.0.len()) {
                            Some((s, e)) if rev => model.0.iter().rev().skip(s).take(e - s + 1).cloned().collect(),
                            Some((s, e)) => model.0[s..=e].to_vec(),
                            None => Vec::new(),
                        };
                        let got = match normalize_rank_range(a, b, z.len()) {
                            Some((s, e)) => owned(z.range_by_rank(s, e, rev)),
                            None => Vec::new(),
                        };
                        assert_eq!(got, want);
                        false
                    }
                    _ => {
                        let m = random_member_from(&mut r, wide);
                        assert_eq!(z.score(&m), model.score(&m));
                        assert_eq!(z.rank(&m, false), model.pos(&m));
                        false
                    }
                };
                biggest = (biggest.0.max(z.len()), biggest.1.max(z.zsl().level));
                if (mutated && step % check_every == 0) || step % 500 == 0 {
                    check_full(&z, &model);
                }
            }
            check_full(&z, &model);
            if wide {
                assert!(biggest.0 > 1000 && biggest.1 >= 4, "largest {} levels {}", biggest.0, biggest.1);
            }
        }
    }

    /// Lex ranges on a set whose scores are all equal, as ZRANGEBYLEX
    /// requires, against a filter over the model.
    #[test]
    fn random_lex_ops_match_model() {
        let mut r = Rng(0xdead_beef);
        let mut z = Zset::new();
        let mut model = Model::default();
        for step in 0..3000 {
            let m = random_member(&mut r);
            if r.below(3) == 0 {
                assert_eq!(z.remove(&m), model.remove(&m));
            } else {
                assert_eq!(z.insert_or_update(&m, 7.0), Ok(model.set(&m, 7.0)));
            }
            let spec = ZLexRangeSpec { min: random_lex_bound(&mut r), max: random_lex_bound(&mut r) };
            let keep = |e: &(f64, Vec<u8>)| spec.value_gte_min(&e.1) && spec.value_lte_max(&e.1);
            let (rev, off) = (r.coin(), r.below(3) as usize);
            let limit = if r.coin() { None } else { Some(r.below(4) as usize) };
            assert_eq!(owned(z.range_by_lex(&spec, rev, off, limit)), model_range(&model, keep, rev, off, limit), "{:?}", spec);
            let count = model.0.iter().filter(|e| keep(e)).count();
            assert_eq!(z.count_in_lex_range(&spec), count);
            if !z.zsl().is_in_lex_range(&spec) {
                assert_eq!(count, 0);
            }
            if step % 10 == 0 {
                let want: Vec<_> = model.0.iter().filter(|e| keep(e)).cloned().collect();
                model.0.retain(|e| !keep(e));
                assert_eq!(owned_removed(z.delete_range_by_lex(&spec)), want);
            }
            if step % 25 == 0 {
                check_full(&z, &model);
            }
        }
        check_full(&z, &model);
    }

    /// A bigger set built in order and in reverse, then thinned, so that
    /// tall nodes and many levels appear; checks every rank and the arena
    /// size per element.
    #[test]
    fn large_set_ranks_and_arena_size() {
        let n = 50_000usize;
        let mut z = Zset::new();
        let mut model = Model::default();
        for i in 0..n {
            // Two runs of scores interleave, so inserts land everywhere.
            let s = if i % 2 == 0 { i as f64 } else { (n - i) as f64 };
            let m = format!("member:{}", i).into_bytes();
            assert_eq!(z.insert_or_update(&m, s), Ok(ZsetChange::Added));
            model.0.push((s, m));
        }
        model.0.sort_by(|a, b| cmp(a, b.0, &b.1));
        check_full(&z, &model);
        assert!(z.zsl().level > 3, "level {}", z.zsl().level);
        // Block heads 16 bytes, links 8 bytes each (4/3 per node on
        // average), member slots 16 bytes, plus at most one spare chunk of
        // the arena and of the member table.
        let per = z.zsl().arena_bytes() as f64 / n as f64;
        let spare = (CHUNK * (8 + 16)) as f64 / n as f64;
        assert!(per < 32.0 + 8.0 * 1.5 + spare, "{} bytes per element", per);
        let removed = z.delete_range_by_rank(100, 40_000);
        assert_eq!(owned_removed(removed), model.0.drain(100..=40_000).collect::<Vec<_>>());
        check_full(&z, &model);
        let all = z.clone();
        assert_eq!(all, z);
        all.check_invariants().unwrap();
    }

    #[test]
    fn clone_shares_members_and_compares_equal() {
        let mut a = Zset::new();
        for i in 0..300 {
            a.insert_or_update(format!("m{}", i % 97).as_bytes(), (i % 13) as f64).unwrap();
        }
        let b = a.clone();
        b.check_invariants().unwrap();
        assert_eq!(a, b);
        let mut c = b.clone();
        c.insert_or_update(b"m1", 99.0).unwrap();
        assert_ne!(a, c);
        // insert_member shares the Arc with the source set.
        let mut d = Zset::new();
        for (m, s) in a.iter() {
            d.insert_member(m, s).unwrap();
        }
        assert_eq!(a, d);
        let (m, _) = d.iter().next().unwrap();
        assert!(Arc::strong_count(m) >= 4);
        assert!(format!("{:?}", d).contains("m1"));
    }
}
