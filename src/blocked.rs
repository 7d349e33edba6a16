//! Clients blocked on keys (mirrors blocked.c): BLPOP and friends.
//!
//! 1. **Blocking.** A blocking command that finds nothing to pop calls
//!    `block_for_keys`: the client gets `CLIENT_BLOCKED`, its keys (and the
//!    BLMOVE target and directions) go into `c.bpop`, and it is queued, per
//!    key, in `blocking_keys[db]` in the order clients blocked. A timeout
//!    goes into `clients_timeout_table`, ordered by deadline. A blocked
//!    client reads no more commands until it is unblocked.
//! 2. **Ready keys.** Whenever a list or sorted set is created under a key
//!    someone waits on (`db_add` and friends call `signal_key_as_ready`),
//!    the key is queued once in `ready_keys`. After every command, and in
//!    `before_sleep`, `handle_clients_blocked_on_keys` serves the waiting
//!    clients of each ready key, first blocked first served, while the
//!    value lasts; serving may create other ready keys (BLMOVE pushes),
//!    which are served in the same call. Each pop is propagated as the
//!    non-blocking command it amounts to.
//! 3. **Unblocking.** A served, timed-out (`handle_blocked_clients_timeout`
//!    from `before_sleep` and the cron), `CLIENT UNBLOCK`ed or freed client
//!    leaves every queue; a still connected one is put on
//!    `unblocked_clients`, whose pending input `before_sleep` processes.
//!
//! Clients are named by (fd, id) and taken out of their slot while they
//! are served, as everywhere else.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::os::unix::io::RawFd;

use crate::client::*;
use crate::server::Server;
use crate::ziplist::Where;

/// Why a client is blocked (`BLOCKED_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BlockType {
    #[default]
    None,
    List,
    Zset,
}

/// What a blocked client waits for (`blockingState`).
#[derive(Debug, Default)]
pub struct BlockingState {
    /// Unix ms deadline, 0 for none.
    pub timeout: i64,
    pub keys: Vec<Box<[u8]>>,
    /// BLMOVE / BRPOPLPUSH destination.
    pub target: Option<Box<[u8]>>,
    pub wherefrom: Option<Where>,
    pub whereto: Option<Where>,
    /// True for BRPOPLPUSH (propagated as RPOPLPUSH, not LMOVE).
    pub rpoplpush: bool,
    /// For BZPOPMIN / BZPOPMAX: pop the highest scores.
    pub zpop_max: bool,
}

/// Server-side bookkeeping of blocked clients.
#[derive(Default)]
pub struct BlockedState {
    /// Per db: key → clients waiting on it, in blocking order.
    pub blocking_keys: Vec<HashMap<Box<[u8]>, VecDeque<(RawFd, u64)>>>,
    /// Keys that became ready since they were last served, once each.
    pub ready_keys: Vec<(usize, Box<[u8]>)>,
    ready_set: HashSet<(usize, Box<[u8]>)>,
    /// (deadline ms, client id, fd) of blocked clients with a timeout.
    pub clients_timeout_table: BTreeSet<(i64, u64, RawFd)>,
    /// Clients unblocked since the last `before_sleep`.
    pub unblocked_clients: Vec<(RawFd, u64)>,
    /// Number of blocked clients (`blocked_clients` in INFO).
    pub blocked_clients: usize,
}

impl BlockedState {
    pub fn new(dbs: usize) -> BlockedState {
        BlockedState { blocking_keys: (0..dbs).map(|_| HashMap::new()).collect(), ..Default::default() }
    }
}

/// Parses a blocking timeout in seconds (`getTimeoutFromObjectOrReply`):
/// a float, not negative; returns the unix ms deadline, 0 for "forever".
pub fn get_timeout_or_reply(s: &Server, c: &mut Client, i: usize) -> Option<i64> {
    let Some(secs) = crate::util::strtod_exact(c.argv.get(i)) else {
        c.add_reply_error("timeout is not a float or out of range");
        return None;
    };
    let ms = secs * 1000.0;
    // C's conversion of an out-of-range double gives LLONG_MIN on x86.
    let tval = if ms.is_finite() && ms.abs() < 9.2e18 { ms as i64 } else { i64::MIN };
    if tval < 0 {
        c.add_reply_error("timeout is negative");
        return None;
    }
    Some(if tval > 0 { tval.saturating_add(s.mstime) } else { 0 })
}

impl Server {
    /// Blocks `c` on `keys` (`blockForKeys`).
    pub fn block_for_keys(&mut self, c: &mut Client, btype: BlockType, keys: Vec<Box<[u8]>>, timeout: i64, state: BlockingState) {
        let db = c.db;
        c.bpop = state;
        c.bpop.timeout = timeout;
        for k in keys {
            if c.bpop.keys.iter().any(|x| *x == k) {
                continue;
            }
            self.blocked.blocking_keys[db].entry(k.clone()).or_default().push_back((c.fd, c.id));
            c.bpop.keys.push(k);
        }
        c.btype = btype;
        c.flags |= CLIENT_BLOCKED;
        self.blocked.blocked_clients += 1;
        if timeout > 0 {
            self.blocked.clients_timeout_table.insert((timeout, c.id, c.fd));
        }
    }

    /// Removes `c` from every blocking queue and resumes it
    /// (`unblockClient`).
    pub fn unblock_client(&mut self, c: &mut Client) {
        if c.flags & CLIENT_BLOCKED == 0 {
            return;
        }
        let db = c.db;
        for k in std::mem::take(&mut c.bpop.keys) {
            if let Some(q) = self.blocked.blocking_keys[db].get_mut(&k) {
                q.retain(|&(_, id)| id != c.id);
                if q.is_empty() {
                    self.blocked.blocking_keys[db].remove(&k);
                }
            }
        }
        if c.bpop.timeout > 0 {
            self.blocked.clients_timeout_table.remove(&(c.bpop.timeout, c.id, c.fd));
        }
        c.bpop = BlockingState::default();
        c.btype = BlockType::None;
        c.flags &= !CLIENT_BLOCKED;
        self.blocked.blocked_clients = self.blocked.blocked_clients.saturating_sub(1);
        if c.flags & CLIENT_UNBLOCKED == 0 && c.fd >= 0 {
            c.flags |= CLIENT_UNBLOCKED;
            self.blocked.unblocked_clients.push((c.fd, c.id));
        }
    }

    /// The reply of a blocked client whose time ran out
    /// (`replyToBlockedClientTimedOut`).
    pub fn reply_to_blocked_client_timed_out(c: &mut Client) {
        c.add_reply_null_array();
    }

    /// Queues `key` for `handle_clients_blocked_on_keys` if a client waits
    /// on it (`signalKeyAsReady`).
    pub fn signal_key_as_ready(&mut self, db: usize, key: &[u8]) {
        let Some(map) = self.blocked.blocking_keys.get(db) else { return };
        if !map.contains_key(key) {
            return;
        }
        let k: Box<[u8]> = key.into();
        if self.blocked.ready_set.insert((db, k.clone())) {
            self.blocked.ready_keys.push((db, k));
        }
    }

    /// Signals every key of `db` that clients wait on and that now holds a
    /// list or sorted set (`scanDatabaseForReadyLists`, after SWAPDB).
    pub fn scan_database_for_ready_keys(&mut self, db: usize) {
        let keys: Vec<Box<[u8]>> = self.blocked.blocking_keys[db].keys().cloned().collect();
        for k in keys {
            if let Some(o) = self.dbs[db].dict.get(&k) {
                if matches!(o.val.type_code(), crate::object::OBJ_LIST | crate::object::OBJ_ZSET) {
                    self.signal_key_as_ready(db, &k);
                }
            }
        }
    }

    /// Serves clients blocked on keys that became ready
    /// (`handleClientsBlockedOnKeys`).
    pub fn handle_clients_blocked_on_keys(&mut self) {
        while !self.blocked.ready_keys.is_empty() {
            let ready = std::mem::take(&mut self.blocked.ready_keys);
            self.blocked.ready_set.clear();
            for (db, key) in ready {
                self.update_cached_time();
                // Lazy expiry first: an expired key serves nobody.
                self.expire_if_needed(db, &key);
                let waiting: Vec<(RawFd, u64)> = match self.blocked.blocking_keys[db].get(&key) {
                    Some(q) => q.iter().copied().collect(),
                    None => continue,
                };
                for (fd, id) in waiting {
                    let tc = match self.dbs[db].dict.get(&key) {
                        Some(o) => o.val.type_code(),
                        None => break,
                    };
                    let Some(mut c) = self.take_client(fd, id) else { continue };
                    let served = match (c.btype, tc) {
                        (BlockType::List, crate::object::OBJ_LIST) => {
                            crate::commands::list::serve_blocked_list_client(self, &mut c, db, &key);
                            true
                        }
                        (BlockType::Zset, crate::object::OBJ_ZSET) => {
                            crate::commands::zset::serve_blocked_zset_client(self, &mut c, db, &key);
                            true
                        }
                        _ => false,
                    };
                    if served {
                        self.unblock_client(&mut c);
                    }
                    self.put_client(c);
                }
            }
        }
    }

    /// Unblocks the clients whose timeout passed
    /// (`handleBlockedClientsTimeout`).
    pub fn handle_blocked_clients_timeout(&mut self) {
        if self.blocked.clients_timeout_table.is_empty() {
            return;
        }
        let now = crate::util::mstime();
        while let Some(&(deadline, id, fd)) = self.blocked.clients_timeout_table.first() {
            if deadline > now {
                break;
            }
            self.blocked.clients_timeout_table.remove(&(deadline, id, fd));
            if let Some(mut c) = self.take_client(fd, id) {
                if c.flags & CLIENT_BLOCKED != 0 {
                    Server::reply_to_blocked_client_timed_out(&mut c);
                    self.unblock_client(&mut c);
                }
                self.put_client(c);
            }
        }
    }

    /// Processes the input that unblocked clients received while blocked
    /// (`processUnblockedClients`).
    pub fn process_unblocked_clients(&mut self) {
        while !self.blocked.unblocked_clients.is_empty() {
            let list = std::mem::take(&mut self.blocked.unblocked_clients);
            for (fd, id) in list {
                let Some(mut c) = self.take_client(fd, id) else { continue };
                c.flags &= !CLIENT_UNBLOCKED;
                if c.flags & CLIENT_BLOCKED == 0 {
                    self.process_input_buffer(&mut c);
                }
                self.put_client(c);
            }
        }
    }

    /// CLIENT UNBLOCK on client `id`: true if it was blocked on keys.
    pub fn client_unblock(&mut self, id: u64, error: bool) -> bool {
        let found = self.clients.iter().flatten().find(|c| c.id == id).map(|c| (c.fd, c.flags & CLIENT_BLOCKED != 0, c.btype));
        match found {
            Some((fd, true, BlockType::List | BlockType::Zset)) => {
                if let Some(mut c) = self.take_client(fd, id) {
                    if error {
                        c.add_reply_error("-UNBLOCKED client unblocked via CLIENT UNBLOCK");
                    } else {
                        Server::reply_to_blocked_client_timed_out(&mut c);
                    }
                    self.unblock_client(&mut c);
                    self.put_client(c);
                }
                true
            }
            _ => false,
        }
    }
}
