//! The quicklist: Redis 6.2's list encoding (quicklist.c), a sequence of
//! ziplist nodes.
//!
//! 1. **Nodes.** Elements live in ziplists of bounded size; the list holds
//!    the nodes in order (a `VecDeque`, where Redis links them) and the
//!    total element count. A push goes into the head or tail node when
//!    that node still "allows an insert", otherwise into a new node.
//! 2. **The fill factor** (`list-max-ziplist-size`, captured when the list
//!    is created, as Redis does): a negative fill -1..-5 caps a node's
//!    ziplist at 4, 8, 16, 32 or 64 KiB; a positive fill caps its entry
//!    count, and then a node also stops growing past 8 KiB (the safety
//!    limit). The size check estimates the new entry's header as Redis's
//!    `_quicklistNodeAllowInsert` does.
//! 3. **Inserting in the middle** (LINSERT) goes into the pivot's node when
//!    it allows; at a node edge it tries the neighbour; otherwise the node
//!    is split at the pivot, as `_quicklistInsert`.
//! 4. Nodes that become empty are dropped at once, so no node is empty.
//!    `list-compress-depth` is accepted by the configuration, but nodes are
//!    never LZF-compressed.

use std::collections::VecDeque;

use crate::ziplist::{Where, ZlEntry, ZlPos, Ziplist};

/// Node ziplist size caps for fill -1..-5 (`optimization_level`).
const OPTIMIZATION_LEVEL: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// Largest node a positive (count) fill lets grow (`SIZE_SAFETY_LIMIT`).
const SIZE_SAFETY_LIMIT: usize = 8192;
/// Largest fill a list takes (`FILL_MAX`: the 16-bit fill field).
const FILL_MAX: i32 = (1 << 15) - 1;

/// Redis's list encoding.
#[derive(Debug, Clone)]
pub struct Quicklist {
    nodes: VecDeque<Ziplist>,
    count: usize,
    fill: i32,
}

/// Two lists are equal when they hold the same elements, however the
/// elements are spread over nodes.
impl PartialEq for Quicklist {
    fn eq(&self, other: &Quicklist) -> bool {
        self.count == other.count && self.iter().eq(other.iter())
    }
}

impl Eq for Quicklist {}

/// Where an element is: node index and entry position inside the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QlPos {
    pub node: usize,
    pub pos: ZlPos,
}

/// Would a node of `blob_len` bytes and `count` entries take an element of
/// `sz` bytes under `fill`? (`_quicklistNodeAllowInsert`)
fn node_allows_insert(blob_len: usize, count: usize, fill: i32, sz: usize) -> bool {
    let mut overhead = if sz < 254 { 1 } else { 5 };
    overhead += if sz < 64 {
        1
    } else if sz < 16384 {
        2
    } else {
        5
    };
    let new_sz = blob_len + sz + overhead;
    if fill < 0 {
        let level = (-(fill as i64) - 1) as usize;
        if level < OPTIMIZATION_LEVEL.len() && new_sz <= OPTIMIZATION_LEVEL[level] {
            return true;
        }
    }
    if new_sz > SIZE_SAFETY_LIMIT {
        return false;
    }
    (count as i64) < fill as i64
}

impl Quicklist {
    /// An empty list with the given `list-max-ziplist-size`, clamped to
    /// -5..=32767 as `quicklistSetFill` does (a fill below -5 means 64 KiB
    /// nodes, not one element per node).
    pub fn new(fill: i64) -> Quicklist {
        Quicklist { nodes: VecDeque::new(), count: 0, fill: fill.clamp(-5, FILL_MAX as i64) as i32 }
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Number of ziplist nodes (DEBUG OBJECT `ql_nodes`).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The node ziplists, head to tail (for DEBUG, RDB and the rewrite).
    pub fn nodes(&self) -> impl DoubleEndedIterator<Item = &Ziplist> + '_ {
        self.nodes.iter()
    }

    /// Appends a whole ziplist as a new tail node (`quicklistAppendZiplist`),
    /// as RDB loading adopts the nodes Redis wrote. The caller validated it.
    pub fn append_ziplist(&mut self, zl: Ziplist) {
        self.count += zl.len();
        self.nodes.push_back(zl);
    }

    /// The fill factor this list was created with.
    pub fn fill(&self) -> i32 {
        self.fill
    }

    fn allows(&self, zl: &Ziplist, sz: usize) -> bool {
        node_allows_insert(zl.blob_len(), zl.len(), self.fill, sz)
    }

    /// LPUSH / RPUSH of one element (`quicklistPush`).
    pub fn push(&mut self, s: &[u8], where_: Where) {
        match where_ {
            Where::Head => match self.nodes.front_mut() {
                Some(zl) if node_allows_insert(zl.blob_len(), zl.len(), self.fill, s.len()) => {
                    zl.push(s, Where::Head);
                }
                _ => {
                    let mut zl = Ziplist::new();
                    zl.push(s, Where::Head);
                    self.nodes.push_front(zl);
                }
            },
            Where::Tail => match self.nodes.back_mut() {
                Some(zl) if node_allows_insert(zl.blob_len(), zl.len(), self.fill, s.len()) => {
                    zl.push(s, Where::Tail);
                }
                _ => {
                    let mut zl = Ziplist::new();
                    zl.push(s, Where::Tail);
                    self.nodes.push_back(zl);
                }
            },
        }
        self.count += 1;
    }

    /// LPOP / RPOP of one element (`quicklistPop`).
    pub fn pop(&mut self, where_: Where) -> Option<Vec<u8>> {
        let ni = match where_ {
            Where::Head => 0,
            Where::Tail => self.nodes.len().checked_sub(1)?,
        };
        let zl = self.nodes.get_mut(ni)?;
        let p = match where_ {
            Where::Head => zl.first()?,
            Where::Tail => zl.last()?,
        };
        let v = zl.get(p).to_vec();
        zl.delete(p);
        self.count -= 1;
        if zl.is_empty() {
            self.nodes.remove(ni);
        }
        Some(v)
    }

    /// The position of the element at `index` (negative from the tail),
    /// walking from the nearer end (`quicklistGetIteratorAtIdx`).
    pub fn index(&self, index: i64) -> Option<QlPos> {
        let (forward, mut left) = if index >= 0 {
            (true, index as u64)
        } else {
            (false, index.unsigned_abs() - 1)
        };
        if left >= self.count as u64 {
            return None;
        }
        if forward {
            for (ni, zl) in self.nodes.iter().enumerate() {
                if left < zl.len() as u64 {
                    return Some(QlPos { node: ni, pos: zl.index(left as i64)? });
                }
                left -= zl.len() as u64;
            }
        } else {
            for (ni, zl) in self.nodes.iter().enumerate().rev() {
                if left < zl.len() as u64 {
                    return Some(QlPos { node: ni, pos: zl.index(-(left as i64) - 1)? });
                }
                left -= zl.len() as u64;
            }
        }
        None
    }

    /// The element at `p`.
    pub fn get(&self, p: QlPos) -> ZlEntry<'_> {
        self.nodes[p.node].get(p.pos)
    }

    /// The element at `index` (LINDEX).
    pub fn get_at(&self, index: i64) -> Option<ZlEntry<'_>> {
        self.index(index).map(|p| self.get(p))
    }

    /// LSET: replaces the element at `index`; false if out of range
    /// (`quicklistReplaceAtIndex`).
    pub fn replace_at(&mut self, index: i64, s: &[u8]) -> bool {
        match self.index(index) {
            Some(p) => {
                self.nodes[p.node].replace(p.pos, s);
                true
            }
            None => false,
        }
    }

    /// The position after `p`, head to tail.
    pub fn next(&self, p: QlPos) -> Option<QlPos> {
        if let Some(q) = self.nodes[p.node].next(p.pos) {
            return Some(QlPos { node: p.node, pos: q });
        }
        let ni = p.node + 1;
        let zl = self.nodes.get(ni)?;
        Some(QlPos { node: ni, pos: zl.first()? })
    }

    /// The position before `p`.
    pub fn prev(&self, p: QlPos) -> Option<QlPos> {
        if let Some(q) = self.nodes[p.node].prev(p.pos) {
            return Some(QlPos { node: p.node, pos: q });
        }
        let ni = p.node.checked_sub(1)?;
        Some(QlPos { node: ni, pos: self.nodes[ni].last()? })
    }

    /// Iterates head to tail (`.rev()` for tail to head).
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = ZlEntry<'_>> + '_ {
        self.nodes.iter().flat_map(|zl| zl.iter())
    }

    /// Inserts `s` before or after the element at `p` (`_quicklistInsert`).
    pub fn insert(&mut self, p: QlPos, s: &[u8], after: bool) {
        let ni = p.node;
        let zl = &self.nodes[ni];
        let at_tail = zl.next(p.pos).is_none();
        let at_head = zl.prev(p.pos).is_none();
        self.count += 1;
        if self.allows(zl, s.len()) {
            let zl = &mut self.nodes[ni];
            if after {
                zl.insert_after(p.pos, s);
            } else {
                zl.insert(p.pos, s);
            }
            return;
        }
        if after && at_tail {
            if let Some(next) = self.nodes.get(ni + 1) {
                if self.allows(next, s.len()) {
                    self.nodes[ni + 1].push(s, Where::Head);
                    return;
                }
            }
            let mut n = Ziplist::new();
            n.push(s, Where::Tail);
            self.nodes.insert(ni + 1, n);
            return;
        }
        if !after && at_head {
            if ni > 0 && self.allows(&self.nodes[ni - 1], s.len()) {
                self.nodes[ni - 1].push(s, Where::Tail);
                return;
            }
            let mut n = Ziplist::new();
            n.push(s, Where::Tail);
            self.nodes.insert(ni, n);
            return;
        }
        // Split the full node around the pivot: entries after the split
        // point move to a new node, then `s` goes at the seam.
        let split_at = {
            let zl = &self.nodes[ni];
            let mut idx = 0usize;
            let mut q = zl.first();
            while let Some(x) = q {
                if x == p.pos {
                    break;
                }
                idx += 1;
                q = zl.next(x);
            }
            if after {
                idx + 1
            } else {
                idx
            }
        };
        let zl = &mut self.nodes[ni];
        let mut tail = Ziplist::new();
        for e in zl.iter().skip(split_at) {
            tail.push(&e.to_vec(), Where::Tail);
        }
        let moved = zl.len() - split_at;
        zl.delete_range(split_at as i64, moved);
        if self.allows(&self.nodes[ni], s.len()) {
            self.nodes[ni].push(s, Where::Tail);
        } else {
            tail.push(s, Where::Head);
        }
        self.nodes.insert(ni + 1, tail);
    }

    /// Deletes the element at `p` and returns the position of the one that
    /// followed it (head to tail), if any.
    pub fn delete(&mut self, p: QlPos) -> Option<QlPos> {
        let zl = &mut self.nodes[p.node];
        let next = zl.delete(p.pos);
        self.count -= 1;
        if zl.is_empty() {
            self.nodes.remove(p.node);
            let zl = self.nodes.get(p.node)?;
            return Some(QlPos { node: p.node, pos: zl.first()? });
        }
        match next {
            Some(q) => Some(QlPos { node: p.node, pos: q }),
            None => {
                let ni = p.node + 1;
                let zl = self.nodes.get(ni)?;
                Some(QlPos { node: ni, pos: zl.first()? })
            }
        }
    }

    /// Deletes `n` elements starting at `start` (0-based from the head;
    /// `quicklistDelRange`). Returns how many were deleted.
    pub fn delete_range(&mut self, start: usize, n: usize) -> usize {
        if start >= self.count || n == 0 {
            return 0;
        }
        let mut left = n.min(self.count - start);
        let deleted = left;
        let mut ni = 0usize;
        let mut skip = start;
        while ni < self.nodes.len() && skip >= self.nodes[ni].len() {
            skip -= self.nodes[ni].len();
            ni += 1;
        }
        while left > 0 && ni < self.nodes.len() {
            let len = self.nodes[ni].len();
            let take = (len - skip).min(left);
            if skip == 0 && take == len {
                self.nodes.remove(ni);
            } else {
                self.nodes[ni].delete_range(skip as i64, take);
                ni += 1;
            }
            left -= take;
            skip = 0;
        }
        self.count -= deleted;
        deleted
    }

    /// LTRIM's core: keeps elements `start..=end` (already clamped).
    pub fn keep_range(&mut self, start: usize, end: usize) {
        if start > end || start >= self.count {
            self.delete_range(0, self.count);
            return;
        }
        let tail_from = end + 1;
        if tail_from < self.count {
            self.delete_range(tail_from, self.count - tail_from);
        }
        self.delete_range(0, start);
    }

    /// Checks the structure: counts add up, no empty node (tests).
    pub fn check(&self) -> Result<(), String> {
        let sum: usize = self.nodes.iter().map(|z| z.len()).sum();
        if sum != self.count {
            return Err(format!("count {} but nodes hold {}", self.count, sum));
        }
        if self.nodes.iter().any(|z| z.is_empty()) {
            return Err("empty node".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::random_u64;

    fn contents(q: &Quicklist) -> Vec<Vec<u8>> {
        q.iter().map(|e| e.to_vec()).collect()
    }

    fn rand_val() -> Vec<u8> {
        match random_u64() % 4 {
            0 => (random_u64() % 1000).to_string().into_bytes(),
            1 => vec![b'x'; (random_u64() % 300) as usize],
            2 => format!("v{}", random_u64() % 50).into_bytes(),
            _ => vec![b'y'; (random_u64() % 3000) as usize],
        }
    }

    #[test]
    fn fill_rules_match_redis() {
        // -2: 8 KiB nodes.
        assert!(node_allows_insert(8000, 10, -2, 100));
        assert!(!node_allows_insert(8150, 10, -2, 100));
        // Positive fill: count cap, and the 8 KiB safety limit.
        assert!(node_allows_insert(100, 3, 4, 10));
        assert!(!node_allows_insert(100, 4, 4, 10));
        assert!(!node_allows_insert(8190, 1, 100, 10));
        // A fill beyond -5 (never stored: `new` clamps it) would behave
        // like a count fill of 0.
        assert!(!node_allows_insert(100, 0, -6, 10));
    }

    #[test]
    fn model_test_against_vecdeque() {
        for fill in [-2i64, -1, 1, 3, 128] {
            let mut q = Quicklist::new(fill);
            let mut m: VecDeque<Vec<u8>> = VecDeque::new();
            for step in 0..3000 {
                let len = m.len();
                match random_u64() % 9 {
                    0 | 1 => {
                        let v = rand_val();
                        q.push(&v, Where::Head);
                        m.push_front(v);
                    }
                    2 | 3 => {
                        let v = rand_val();
                        q.push(&v, Where::Tail);
                        m.push_back(v);
                    }
                    4 => assert_eq!(q.pop(Where::Head), m.pop_front()),
                    5 => assert_eq!(q.pop(Where::Tail), m.pop_back()),
                    6 if len > 0 => {
                        let i = (random_u64() % len as u64) as usize;
                        let after = random_u64() % 2 == 0;
                        let v = rand_val();
                        let p = q.index(i as i64).expect("index in range");
                        q.insert(p, &v, after);
                        m.insert(if after { i + 1 } else { i }, v);
                    }
                    7 if len > 0 => {
                        let i = (random_u64() % len as u64) as usize;
                        let neg = -((len - i) as i64);
                        assert_eq!(q.get_at(neg).map(|e| e.to_vec()), m.get(i).cloned());
                        let v = rand_val();
                        assert!(q.replace_at(i as i64, &v));
                        m[i] = v;
                    }
                    8 if len > 0 => {
                        let s = (random_u64() % len as u64) as usize;
                        let n = (random_u64() % 20) as usize;
                        let d = q.delete_range(s, n);
                        let e = n.min(len - s);
                        assert_eq!(d, e);
                        m.drain(s..s + e);
                    }
                    _ => {}
                }
                q.check().unwrap_or_else(|e| panic!("fill {} step {}: {}", fill, step, e));
                assert_eq!(q.len(), m.len());
            }
            assert_eq!(contents(&q), m.iter().cloned().collect::<Vec<_>>());
            let rev: Vec<Vec<u8>> = q.iter().rev().map(|e| e.to_vec()).collect();
            assert_eq!(rev, m.iter().rev().cloned().collect::<Vec<_>>());
        }
    }

    #[test]
    fn fill_is_clamped_like_quicklist_set_fill() {
        assert_eq!(Quicklist::new(-10).fill(), -5);
        assert_eq!(Quicklist::new(i64::MIN).fill(), -5);
        assert_eq!(Quicklist::new(100000).fill(), 32767);
        let mut q = Quicklist::new(-100);
        for i in 0..10 {
            q.push(i.to_string().as_bytes(), Where::Tail);
        }
        assert_eq!(q.node_count(), 1);
    }

    #[test]
    fn nodes_respect_fill() {
        let mut q = Quicklist::new(4);
        for i in 0..10 {
            q.push(i.to_string().as_bytes(), Where::Tail);
        }
        assert_eq!(q.node_count(), 3);
        let mut q = Quicklist::new(-1);
        for _ in 0..100 {
            q.push(&[b'a'; 100], Where::Tail);
        }
        assert!(q.nodes().all(|z| z.blob_len() <= 4096));
        assert!(q.node_count() >= 3);
    }

    #[test]
    fn delete_walks_across_nodes() {
        let mut q = Quicklist::new(2);
        for i in 0..7 {
            q.push(i.to_string().as_bytes(), Where::Tail);
        }
        let mut p = q.index(1);
        let mut kept = Vec::new();
        while let Some(x) = p {
            let v = q.get(x).to_vec();
            if v == b"2" || v == b"3" || v == b"6" {
                p = q.delete(x);
            } else {
                kept.push(v);
                p = q.next(x);
            }
        }
        assert_eq!(contents(&q), vec![b"0".to_vec(), b"1".to_vec(), b"4".to_vec(), b"5".to_vec()]);
        q.check().expect("consistent");
        q.keep_range(1, 2);
        assert_eq!(contents(&q), vec![b"1".to_vec(), b"4".to_vec()]);
        q.keep_range(5, 9);
        assert!(q.is_empty());
        assert_eq!(q.node_count(), 0);
    }
}
