//! Transactions: MULTI, EXEC, DISCARD and the optimistic locking of WATCH
//! (mirrors multi.c).
//!
//! 1. MULTI sets `CLIENT_MULTI`. From then on `process_command` queues
//!    every command except EXEC, DISCARD, MULTI, WATCH, QUIT and RESET
//!    (`queue_multi_command`) and answers `+QUEUED`. A command refused
//!    before it could be queued (unknown, wrong arity, `-MISCONF`,
//!    `-LOADING`, …) flags the transaction (`flag_transaction`,
//!    `CLIENT_DIRTY_EXEC`) and EXEC then answers `-EXECABORT`. When EXEC
//!    itself is refused, the transaction is discarded with the reason
//!    (`exec_command_abort`).
//! 2. EXEC runs the queue through `call`, one command after the other,
//!    with `CLIENT_DENY_BLOCKING` set: blocking commands answer as if they
//!    timed out, MONITOR is refused. A command's own error is its reply in
//!    the EXEC array; the other commands still run. The clock is frozen
//!    for the whole transaction, so no key expires half-way.
//! 3. Propagation (AOF, later replicas): the MULTI goes out lazily, before
//!    the first thing a queued command propagates (`propagate` checks
//!    `in_exec`), and the EXEC after the last one. A transaction that
//!    changed nothing propagates nothing.
//! 4. WATCH: each db maps a watched key to its watchers, as (fd, id).
//!    Every change of a key goes through `signal_modified_key`, which
//!    calls `touch_watched_key`: the watchers get `CLIENT_DIRTY_CAS`.
//!    FLUSHDB, FLUSHALL and SWAPDB touch the watched keys that existed
//!    (`touch_all_watched_keys_in_db`). With nobody watching in a db the
//!    cost per write is one emptiness check.
//! 5. The client being served is out of `Server::clients`: a watcher not
//!    found in its slot is remembered in `dirty_cas_pending` and flagged
//!    when it is put back, or when it reaches EXEC/UNWATCH itself.
//! 6. EXEC of a flagged client answers a null array. A watched key that
//!    expired (logically) since WATCH also aborts it
//!    (`is_watched_key_expired`); a key that was already expired when it
//!    was watched is not a change, nor is its deletion by expiry later.
//!    UNWATCH, EXEC, DISCARD, RESET and closing the connection unwatch
//!    every key.

use std::os::unix::io::RawFd;

use crate::client::*;
use crate::commands::{CommandDef, CMD_DENYOOM, CMD_MAY_REPLICATE, CMD_WRITE};
use crate::db::Key;
use crate::proto::Argv;
use crate::server::Server;

pub static COMMANDS: &[CommandDef] = &[
    CommandDef { name: "multi", proc_: multi_command, arity: 1, sflags: "no-script fast ok-loading ok-stale @transaction", firstkey: 0, lastkey: 0, keystep: 0 },
    CommandDef { name: "exec", proc_: exec_command, arity: 1, sflags: "no-script no-slowlog ok-loading ok-stale @transaction", firstkey: 0, lastkey: 0, keystep: 0 },
    CommandDef { name: "discard", proc_: discard_command, arity: 1, sflags: "no-script fast ok-loading ok-stale @transaction", firstkey: 0, lastkey: 0, keystep: 0 },
    CommandDef { name: "watch", proc_: watch_command, arity: -2, sflags: "no-script fast ok-loading ok-stale @transaction", firstkey: 1, lastkey: -1, keystep: 1 },
    CommandDef { name: "unwatch", proc_: unwatch_command, arity: 1, sflags: "no-script fast ok-loading ok-stale @transaction", firstkey: 0, lastkey: 0, keystep: 0 },
];

/// One queued command (`multiCmd`).
pub struct MultiCmd {
    pub argv: Argv,
    /// Index in the command table.
    pub cmd: usize,
}

/// A client's transaction (`multiState`).
#[derive(Default)]
pub struct MultiState {
    pub commands: Vec<MultiCmd>,
    /// The flags of the queued commands OR-ed together: EXEC counts as a
    /// write for `-MISCONF` and CLIENT PAUSE when it carries one.
    pub cmd_flags: u64,
}

impl MultiState {
    /// Memory held by the queue, for client memory accounting.
    pub fn mem(&self) -> usize {
        self.commands.iter().map(|m| m.argv.capacity()).sum::<usize>()
            + self.commands.capacity() * std::mem::size_of::<MultiCmd>()
    }
}

/// A key a client watches, in the client's own list (`watchedKey`).
pub struct WatchedKey {
    pub db: usize,
    pub key: Key,
}

/// One watcher of a key, in the db's `watched_keys`.
pub struct Watcher {
    pub fd: RawFd,
    pub id: u64,
    /// The key was already (logically) expired when WATCH was called:
    /// its deletion by expiry is then no change.
    pub expired: bool,
}

/// Server-wide transaction state.
#[derive(Default)]
pub struct MultiServer {
    /// EXEC is running its queue (`server.in_exec`).
    pub in_exec: bool,
    /// MULTI was already propagated for the running EXEC
    /// (`server.propagate_in_transaction`).
    pub propagate_in_transaction: bool,
    /// Watchers touched while out of their slot in `Server::clients`
    /// (being served), as (fd, id): flagged when they are put back.
    pub dirty_cas_pending: Vec<(RawFd, u64)>,
}

/// Commands that run at once inside MULTI instead of being queued.
#[inline]
pub fn runs_inside_multi(name: &str) -> bool {
    matches!(name, "exec" | "discard" | "multi" | "watch" | "quit" | "reset")
}

/// Flags the transaction as failed, so that EXEC answers -EXECABORT
/// (`flagTransaction`): called for every command refused while queueing.
#[inline]
pub fn flag_transaction(c: &mut Client) {
    if c.flags & CLIENT_MULTI != 0 {
        c.flags |= CLIENT_DIRTY_EXEC;
    }
}

/// Sets CLIENT_DIRTY_CAS on client (fd, id), or remembers it when it is
/// out of its slot (the client being served).
fn mark_dirty_cas(clients: &mut [Option<Box<Client>>], pending: &mut Vec<(RawFd, u64)>, fd: RawFd, id: u64) {
    match clients.get_mut(fd as usize) {
        Some(Some(c)) if c.id == id => c.flags |= CLIENT_DIRTY_CAS,
        _ => {
            if !pending.contains(&(fd, id)) {
                pending.push((fd, id));
            }
        }
    }
}

impl Server {
    /// Adds the command in `c.argv` to the client's queue
    /// (`queueMultiCommand`). A transaction already doomed keeps nothing.
    pub fn queue_multi_command(&mut self, c: &mut Client, idx: usize) {
        if c.flags & CLIENT_DIRTY_EXEC != 0 {
            return;
        }
        let mut argv = Argv::new_compact(c.argv.mem(), c.argv.len());
        for a in c.argv.iter() {
            argv.push(a);
        }
        c.mstate.commands.push(MultiCmd { argv, cmd: idx });
        c.mstate.cmd_flags |= self.commands.cmds[idx].flags;
    }

    /// Leaves MULTI state: drops the queue, the flags and every watched
    /// key (`discardTransaction`).
    pub fn discard_transaction(&mut self, c: &mut Client) {
        c.mstate = MultiState::default();
        c.flags &= !(CLIENT_MULTI | CLIENT_DIRTY_CAS | CLIENT_DIRTY_EXEC);
        self.unwatch_all_keys(c);
    }

    /// The effective flags of a command for the checks of
    /// `process_command`: EXEC counts as a write (or a command that may
    /// replicate, or use memory) when a queued command does.
    #[inline]
    pub fn command_flags_with_queue(&self, c: &Client, idx: usize) -> u64 {
        let cmd = &self.commands.cmds[idx];
        if c.flags & CLIENT_MULTI != 0 && cmd.name == "exec" {
            cmd.flags | (c.mstate.cmd_flags & (CMD_WRITE | CMD_MAY_REPLICATE | CMD_DENYOOM))
        } else {
            cmd.flags
        }
    }

    /// Refuses EXEC with the reason its checks gave, discarding the
    /// transaction (`execCommandAbort`). MONITOR clients still see the
    /// EXEC, as they saw the MULTI.
    pub fn exec_command_abort(&mut self, c: &mut Client, error: &str) {
        self.discard_transaction(c);
        let error = error.strip_prefix('-').unwrap_or(error);
        c.add_reply_error(&format!("-EXECABORT Transaction discarded because of: {}", error));
        if !self.monitors.is_empty() && !self.loading {
            self.feed_monitors(c);
        }
    }

    /// Propagates the MULTI that opens a transaction's changes
    /// (`execCommandPropagateMulti`).
    pub fn exec_command_propagate_multi(&mut self, dbid: usize) {
        self.multi.propagate_in_transaction = true;
        self.propagate(dbid, &Argv::from_slices(&[b"MULTI"]));
    }

    /// Watches `key` in the client's db (`watchForKey`).
    fn watch_for_key(&mut self, c: &mut Client, key: &[u8]) {
        let db = c.db;
        if c.watched_keys.iter().any(|w| w.db == db && &*w.key == key) {
            return;
        }
        let expired = self.key_is_expired(db, key);
        let watchers = self.dbs[db].watched_keys.entry(key.into()).or_default();
        watchers.push(Watcher { fd: c.fd, id: c.id, expired });
        c.watched_keys.push(WatchedKey { db, key: key.into() });
    }

    /// Unwatches every key of `c` (`unwatchAllKeys`); clearing
    /// CLIENT_DIRTY_CAS is up to the caller.
    pub fn unwatch_all_keys(&mut self, c: &mut Client) {
        if c.watched_keys.is_empty() {
            return;
        }
        for wk in std::mem::take(&mut c.watched_keys) {
            let map = &mut self.dbs[wk.db].watched_keys;
            if let Some(list) = map.get_mut(&wk.key) {
                list.retain(|w| w.id != c.id);
                if list.is_empty() {
                    map.remove(&wk.key);
                }
            }
        }
        if !self.multi.dirty_cas_pending.is_empty() {
            self.multi.dirty_cas_pending.retain(|&(_, id)| id != c.id);
        }
    }

    /// Gives `c` the CLIENT_DIRTY_CAS it was owed while it was out of its
    /// slot (see `dirty_cas_pending`).
    #[inline]
    pub fn apply_pending_dirty_cas(&mut self, c: &mut Client) {
        if self.multi.dirty_cas_pending.is_empty() {
            return;
        }
        let before = self.multi.dirty_cas_pending.len();
        self.multi.dirty_cas_pending.retain(|&(_, id)| id != c.id);
        if self.multi.dirty_cas_pending.len() != before {
            c.flags |= CLIENT_DIRTY_CAS;
        }
    }

    /// True if a key `c` watches expired since it was watched
    /// (`isWatchedKeyExpired`).
    fn is_watched_key_expired(&self, c: &Client) -> bool {
        c.watched_keys.iter().any(|wk| {
            let was_expired = self.dbs[wk.db]
                .watched_keys
                .get(&wk.key)
                .and_then(|l| l.iter().find(|w| w.id == c.id))
                .is_some_and(|w| w.expired);
            !was_expired && self.key_is_expired(wk.db, &wk.key)
        })
    }

    /// Makes the next EXEC of every client watching `key` fail
    /// (`touchWatchedKey`). One emptiness check when nobody watches.
    #[inline]
    pub fn touch_watched_key(&mut self, db: usize, key: &[u8]) {
        if self.dbs[db].watched_keys.is_empty() {
            return;
        }
        self.touch_watched_key_slow(db, key);
    }

    fn touch_watched_key_slow(&mut self, db: usize, key: &[u8]) {
        let d = &mut self.dbs[db];
        let Some(watchers) = d.watched_keys.get_mut(key) else { return };
        let exists = d.dict.contains_key(key);
        for w in watchers.iter_mut() {
            if w.expired && !exists {
                // An already expired key got deleted: logically no change.
                w.expired = false;
                continue;
            }
            mark_dirty_cas(&mut self.clients, &mut self.multi.dirty_cas_pending, w.fd, w.id);
        }
    }

    /// Touches the watched keys of `emptied` that exist there, or in
    /// `replaced_with` for SWAPDB, before a FLUSHDB/FLUSHALL/SWAPDB
    /// (`touchAllWatchedKeysInDb`). Keys present in neither are no change.
    pub fn touch_all_watched_keys_in_db(&mut self, emptied: usize, replaced_with: Option<usize>) {
        if self.dbs[emptied].watched_keys.is_empty() {
            return;
        }
        let mut watched = std::mem::take(&mut self.dbs[emptied].watched_keys);
        for (key, watchers) in watched.iter_mut() {
            let exists_in_emptied = self.dbs[emptied].dict.contains_key(key);
            let exists_in_replaced = replaced_with.is_some_and(|r| self.dbs[r].dict.contains_key(key));
            if !exists_in_emptied && !exists_in_replaced {
                continue;
            }
            let replaced_expired = replaced_with.is_some_and(|r| self.key_is_expired(r, key));
            for w in watchers.iter_mut() {
                if w.expired {
                    if !exists_in_replaced {
                        // The expired key goes away: no logical change.
                        w.expired = false;
                        continue;
                    } else if replaced_expired {
                        continue;
                    }
                } else if !exists_in_emptied && replaced_expired {
                    // A missing key replaced by an expired one: no change.
                    w.expired = true;
                    continue;
                }
                mark_dirty_cas(&mut self.clients, &mut self.multi.dirty_cas_pending, w.fd, w.id);
            }
        }
        self.dbs[emptied].watched_keys = watched;
    }

    /// `signalFlushedDb`: before emptying db `dbid` (-1 for all of them).
    pub fn signal_flushed_db(&mut self, dbid: i64) {
        if dbid < 0 {
            for j in 0..self.dbs.len() {
                self.touch_all_watched_keys_in_db(j, None);
            }
        } else {
            self.touch_all_watched_keys_in_db(dbid as usize, None);
        }
    }
}

/// MULTI
pub fn multi_command(_s: &mut Server, c: &mut Client) {
    if c.flags & CLIENT_MULTI != 0 {
        c.add_reply_error("MULTI calls can not be nested");
        return;
    }
    c.flags |= CLIENT_MULTI;
    c.add_reply_ok();
}

/// DISCARD
pub fn discard_command(s: &mut Server, c: &mut Client) {
    if c.flags & CLIENT_MULTI == 0 {
        c.add_reply_error("DISCARD without MULTI");
        return;
    }
    s.discard_transaction(c);
    c.add_reply_ok();
}

/// EXEC: runs the queued commands, or answers a null array when a watched
/// key changed, or -EXECABORT when queueing failed.
pub fn exec_command(s: &mut Server, c: &mut Client) {
    if c.flags & CLIENT_MULTI == 0 {
        c.add_reply_error("EXEC without MULTI");
        return;
    }
    s.apply_pending_dirty_cas(c);
    if s.is_watched_key_expired(c) {
        c.flags |= CLIENT_DIRTY_CAS;
    }
    if c.flags & (CLIENT_DIRTY_CAS | CLIENT_DIRTY_EXEC) != 0 {
        if c.flags & CLIENT_DIRTY_EXEC != 0 {
            c.add_reply_error("-EXECABORT Transaction discarded because of previous errors.");
        } else {
            c.add_reply_null_array();
        }
        s.discard_transaction(c);
        return;
    }

    let old_flags = c.flags;
    c.flags |= CLIENT_DENY_BLOCKING;
    // Nothing the queue does can fail this EXEC any more.
    s.unwatch_all_keys(c);
    s.multi.in_exec = true;

    let orig_argv = std::mem::take(&mut c.argv);
    let orig_cmd = c.cmd;
    let n = c.mstate.commands.len();
    c.add_reply_array_len(n);
    for j in 0..n {
        // The queue stays in place (CLIENT LIST shows its length while it
        // runs); each argv is lent to the client for its call.
        let idx = c.mstate.commands[j].cmd;
        c.argv = std::mem::take(&mut c.mstate.commands[j].argv);
        c.cmd = Some(idx);
        s.call(c, idx);
        c.mstate.commands[j].argv = std::mem::take(&mut c.argv);
    }
    if old_flags & CLIENT_DENY_BLOCKING == 0 {
        c.flags &= !CLIENT_DENY_BLOCKING;
    }
    c.argv = orig_argv;
    c.cmd = orig_cmd;
    s.discard_transaction(c);

    // Close what the queue propagated with the EXEC as the client sent
    // it, as Redis 6.2 does; `call` must not propagate it a second time.
    if s.multi.propagate_in_transaction {
        s.dirty += 1;
        let db = c.db;
        let argv = std::mem::take(&mut c.argv);
        s.propagate(db, &argv);
        c.argv = argv;
        s.multi.propagate_in_transaction = false;
        c.prevent_propagation = true;
    }
    s.multi.in_exec = false;
}

/// WATCH key [key ...]
pub fn watch_command(s: &mut Server, c: &mut Client) {
    if c.flags & CLIENT_MULTI != 0 {
        c.add_reply_error("WATCH inside MULTI is not allowed");
        return;
    }
    let argv = std::mem::take(&mut c.argv);
    for j in 1..argv.len() {
        s.watch_for_key(c, argv.get(j));
    }
    c.argv = argv;
    c.add_reply_ok();
}

/// UNWATCH
pub fn unwatch_command(s: &mut Server, c: &mut Client) {
    s.unwatch_all_keys(c);
    c.flags &= !CLIENT_DIRTY_CAS;
    c.add_reply_ok();
}
