//! DEBUG: the subcommands tests and tools use, and the dataset digest
//! (mirrors debug.c).
//!
//! The digest is Redis's, byte for byte, so a dataset in oxredis and in
//! real Redis can be compared by `DEBUG DIGEST` alone:
//! 1. per key, a 20-byte digest starts at zero; the key's bytes, then the
//!    value's type code (big-endian u32), then the value are *mixed* in
//!    (`mix`: xor with SHA1(data), then replace with SHA1 of the result);
//!    a key with a TTL xors in SHA1("!!expire!!");
//! 2. each key digest is folded into the result with `xor_digest` (xor
//!    with SHA1 of the key digest), after the db's index (big-endian u32)
//!    was mixed into the result.
//!
//! Order does not matter (xor), so any iteration order gives the same digest.

use super::{reply_help, reply_subcommand_syntax_error, CommandDef};
use crate::client::Client;
use crate::object::{RStr, Value};
use crate::server::Server;
use crate::sha1::{hex, sha1};

pub static COMMANDS: &[CommandDef] = &[CommandDef {
    name: "debug",
    proc_: debug_command,
    arity: -2,
    sflags: "admin no-script ok-loading ok-stale",
    firstkey: 0,
    lastkey: 0,
    keystep: 0,
}];

/// `xorDigest`: digest ^= SHA1(data).
fn xor_digest(digest: &mut [u8; 20], data: &[u8]) {
    let h = sha1(data);
    for (d, x) in digest.iter_mut().zip(h.iter()) {
        *d ^= x;
    }
}

/// `mixDigest`: digest = SHA1(digest ^ SHA1(data)).
fn mix_digest(digest: &mut [u8; 20], data: &[u8]) {
    xor_digest(digest, data);
    *digest = sha1(&digest[..]);
}

/// Mixes one value into `digest` (`xorObjectDigest`).
fn mix_value_digest(digest: &mut [u8; 20], v: &Value, has_expire: bool) {
    mix_digest(digest, &v.type_code().to_be_bytes());
    match v {
        Value::Str(s) => {
            let mut b = itoa::Buffer::new();
            mix_digest(digest, s.as_bytes(&mut b));
        }
        Value::List(q) => {
            for e in q.iter() {
                mix_digest(digest, &e.to_vec());
            }
        }
        // Unordered collections: each element digested alone, then
        // XORed in, so the order of iteration does not matter. A hash
        // pair's digest is itself passed through `xor_digest` (SHA1 of
        // it), as Redis's `xorDigest(digest, eledigest, 20)`.
        Value::SetInt(set) => {
            let mut b = itoa::Buffer::new();
            for v in set.iter() {
                xor_digest(digest, b.format(v).as_bytes());
            }
        }
        Value::SetHt(set) => {
            for m in set.keys() {
                xor_digest(digest, m);
            }
        }
        Value::HashZl(zl) => {
            let mut it = zl.iter();
            while let (Some(f), Some(v)) = (it.next(), it.next()) {
                let mut ele = [0u8; 20];
                mix_digest(&mut ele, &f.to_vec());
                mix_digest(&mut ele, &v.to_vec());
                xor_digest(digest, &ele);
            }
        }
        // Sorted sets: member then score as "%.17g", per element.
        Value::ZsetZl(zl) => {
            let mut it = zl.iter();
            while let (Some(m), Some(sc)) = (it.next(), it.next()) {
                let score = match sc {
                    crate::ziplist::ZlEntry::Int(v) => v as f64,
                    crate::ziplist::ZlEntry::Str(b) => crate::util::strtod_exact(b).unwrap_or(0.0),
                };
                let mut ele = [0u8; 20];
                mix_digest(&mut ele, &m.to_vec());
                mix_digest(&mut ele, crate::util::fmt_g17(score).as_bytes());
                xor_digest(digest, &ele);
            }
        }
        Value::ZsetSl(z) => {
            for (m, score) in z.iter() {
                let mut ele = [0u8; 20];
                mix_digest(&mut ele, m);
                mix_digest(&mut ele, crate::util::fmt_g17(score).as_bytes());
                xor_digest(digest, &ele);
            }
        }
        Value::HashHt(h) => {
            for (f, v) in h.iter() {
                let mut ele = [0u8; 20];
                mix_digest(&mut ele, f);
                mix_digest(&mut ele, v);
                xor_digest(digest, &ele);
            }
        }
    }
    if has_expire {
        xor_digest(digest, b"!!expire!!");
    }
}

impl Server {
    /// The dataset digest (`computeDatasetDigest`).
    pub fn compute_dataset_digest(&self) -> [u8; 20] {
        let mut fin = [0u8; 20];
        for (j, db) in self.dbs.iter().enumerate() {
            if db.size() == 0 {
                continue;
            }
            mix_digest(&mut fin, &(j as u32).to_be_bytes());
            for (k, v) in db.dict.iter() {
                let mut d = [0u8; 20];
                mix_digest(&mut d, k);
                mix_value_digest(&mut d, &v.val, db.expires.contains_key(k));
                xor_digest(&mut fin, &d);
            }
        }
        fin
    }
}

const DEBUG_HELP: &[&str] = &[
    "AOF-FLUSH-SLEEP <microsec>",
    "    Server will sleep before flushing the AOF, this is used for testing.",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "LOADAOF",
    "    Flush the AOF buffers on disk and reload the AOF in memory.",
    "RELOAD [MERGE] [NOFLUSH] [NOSAVE]",
    "    Save the RDB on disk and reload it back to memory. By default it will save",
    "    the RDB file and load it back.",
    "    * MERGE: keys from the RDB replace keys with the same name instead of failing.",
    "    * NOFLUSH: the current dataset is not removed before loading the RDB file.",
    "    * NOSAVE: the dataset is not saved first, the RDB file on disk is loaded.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "HTSTATS <dbid>",
    "    Return hash table statistics of the specified Redis database.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "PANIC",
    "    Crash the server simulating a panic.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "SEGFAULT",
    "    Crash the server with sigsegv.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
];

/// Parses a positive integer argument (`getPositiveLongFromObjectOrReply`).
fn positive_arg(c: &mut Client, i: usize) -> Option<u64> {
    crate::commands::args::get_positive_long_or_reply(c, i, None).map(|v| v as u64)
}

/// DEBUG <subcommand> ...
/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save the dataset to
/// `dbfilename`, empty it, load the file back.
fn debug_reload(s: &mut Server, c: &mut Client) {
    let (mut flush, mut save) = (true, true);
    let mut flags = crate::rdb_load::RDBFLAGS_NONE;
    for j in 2..c.argv.len() {
        let opt = c.argv.get(j);
        if opt.eq_ignore_ascii_case(b"merge") {
            flags |= crate::rdb_load::RDBFLAGS_ALLOW_DUP;
        } else if opt.eq_ignore_ascii_case(b"noflush") {
            flush = false;
        } else if opt.eq_ignore_ascii_case(b"nosave") {
            save = false;
        } else {
            c.add_reply_error("DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.");
            return;
        }
    }
    let name = s.config.dbfilename.clone();
    if save && s.rdb_save(&name).is_err() {
        c.add_reply_error("-ERR");
        return;
    }
    if flush {
        s.signal_flushed_db(-1);
        s.empty_data(None, false);
    }
    if s.rdb_load(&name, flags).is_err() {
        c.add_reply_error("Error trying to load the RDB dump");
        return;
    }
    log::warn!("DB reloaded by DEBUG RELOAD");
    c.add_reply_ok();
}

pub fn debug_command(s: &mut Server, c: &mut Client) {
    let argc = c.argv.len();
    let sub = c.argv.get(1).to_ascii_lowercase();
    match (sub.as_slice(), argc) {
        (b"help", 2) => reply_help(c, DEBUG_HELP),
        (b"sleep", 3) => {
            let secs = crate::util::string2d(c.argv.get(2)).unwrap_or(0.0);
            if secs > 0.0 && secs.is_finite() {
                std::thread::sleep(std::time::Duration::from_micros((secs * 1e6) as u64));
            }
            c.add_reply_ok();
        }
        (b"log", 3) => {
            log::warn!("DEBUG LOG: {}", c.argv.get_str(2));
            c.add_reply_ok();
        }
        (b"segfault", 2) => {
            // SAFETY: raising a signal on ourselves; the crash handler logs
            // the report and the default action ends the process.
            unsafe {
                libc::raise(libc::SIGSEGV);
            }
        }
        (b"panic", 2) => panic!("DEBUG PANIC called at Unix time {}", s.unixtime),
        (b"quicklist-packed-threshold", 3) => c.add_reply_ok(),
        (b"set-active-expire", 3) => {
            s.active_expire_enabled = crate::util::string2ll(c.argv.get(2)).unwrap_or(0) != 0;
            c.add_reply_ok();
        }
        (b"object", 3) => {
            let db = c.db;
            let clock = crate::object::lru_clock(s.mstime);
            // As Redis, the raw dict: no lazy expiry, no touch.
            let Some(o) = s.dbs[db].dict.get(c.argv.get(2)) else {
                c.add_reply_error("no such key");
                return;
            };
            let mut extra = String::new();
            if let crate::object::Value::List(q) = &o.val {
                let nodes = q.node_count();
                let avg = if nodes > 0 { q.len() as f64 / nodes as f64 } else { 0.0 };
                let usize_sum: usize = q.nodes().map(|z| z.blob_len()).sum();
                extra = format!(
                    " ql_nodes:{} ql_avg_node:{:.2} ql_ziplist_max:{} ql_compressed:0 ql_uncompressed_size:{}",
                    nodes,
                    avg,
                    q.fill(),
                    usize_sum
                );
            }
            let line = format!(
                "Value at:{:p} refcount:{} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}{}",
                o as *const _,
                o.val.refcount(),
                o.val.encoding(),
                crate::object::serialized_len(&o.val),
                o.lru,
                crate::object::estimate_idle_time_ms(o.lru, clock) / 1000,
                extra
            );
            c.add_reply_status(&line);
        }
        (b"htstats", 3) => {
            let id = match crate::util::string2ll(c.argv.get(2)) {
                Some(v) if v >= 0 && (v as usize) < s.dbs.len() => v as usize,
                Some(_) => {
                    c.add_reply_error("Out of range database");
                    return;
                }
                None => {
                    c.add_reply_error("value is not an integer or out of range");
                    return;
                }
            };
            let d = &s.dbs[id];
            let text = format!("[Dictionary HT]\n{}[Expires HT]\n{}", d.dict.stats(), d.expires.stats());
            c.add_reply_verbatim(text.as_bytes(), "txt");
        }
        // oxredis only, not in HELP: allocator calls so far, for the test
        // that small commands allocate nothing per call.
        (b"alloc-calls", 2) => c.add_reply_long_long(crate::zmalloc::alloc_calls() as i64),
        // oxredis only, not in HELP: each background AOF fsync first sleeps
        // <usec>, standing for a busy disk (tests of aof_delayed_fsync).
        (b"aof-fsync-sleep", 3) => match crate::util::string2ll(c.argv.get(2)) {
            Some(us) if us >= 0 => {
                crate::bio::AOF_FSYNC_SLEEP_US.store(us as u64, std::sync::atomic::Ordering::Relaxed);
                c.add_reply_ok();
            }
            _ => c.add_reply_error("value is not an integer or out of range"),
        },
        (b"aof-flush-sleep", 3) => match crate::util::string2ll(c.argv.get(2)) {
            Some(us) if us >= 0 => {
                s.aof.flush_sleep_us = us as u64;
                c.add_reply_ok();
            }
            _ => c.add_reply_error("value is not an integer or out of range"),
        },
        (b"reload", _) => debug_reload(s, c),
        (b"loadaof", 2) => {
            // Flush what is pending, empty the dataset, replay the AOF.
            if s.aof.state == crate::aof::AofStatus::On {
                s.flush_and_fsync_aof();
            }
            s.signal_flushed_db(-1);
            for d in s.dbs.iter_mut() {
                d.clear();
            }
            let path = s.config.appendfilename.clone();
            match s.load_append_only_file(&path) {
                Ok(()) | Err(crate::aof::LoadError::Empty) => {
                    // The replay changed the dataset, but none of it may be
                    // propagated again (Redis resets dirty here too).
                    s.dirty = 0;
                    log::warn!("Append Only File loaded by DEBUG LOADAOF");
                    c.add_reply_ok();
                }
                Err(crate::aof::LoadError::Fatal) => {
                    c.add_reply_error("Error loading the AOF. Check the server logs.");
                }
            }
        }
        (b"digest", 2) => {
            let d = s.compute_dataset_digest();
            c.add_reply_status(&hex(&d));
        }
        (b"digest-value", _) => {
            let db = c.db;
            c.add_reply_array_len(argc - 2);
            for j in 2..argc {
                let mut d = [0u8; 20];
                if let Some(v) = s.dbs[db].dict.get(c.argv.get(j)) {
                    let has_expire = s.dbs[db].expires.contains_key(c.argv.get(j));
                    mix_value_digest(&mut d, &v.val, has_expire);
                }
                c.add_reply_status(&hex(&d));
            }
        }
        (b"populate", 3..=5) => {
            let Some(count) = positive_arg(c, 2) else { return };
            let valsize = if argc == 5 {
                match positive_arg(c, 4) {
                    Some(v) => Some(v as usize),
                    None => return,
                }
            } else {
                None
            };
            let prefix = if argc >= 4 { c.argv.get(3).to_vec() } else { b"key".to_vec() };
            let db = c.db;
            s.dbs[db].dict.expand(count as usize);
            let mut key = Vec::with_capacity(prefix.len() + 21);
            for j in 0..count {
                key.clear();
                key.extend_from_slice(&prefix);
                key.push(b':');
                key.extend_from_slice(itoa::Buffer::new().format(j).as_bytes());
                if s.lookup_key_write(db, &key).is_some() {
                    continue;
                }
                let text = format!("value:{}", j);
                let val = match valsize {
                    None => RStr::from_bytes_no_int(text.as_bytes()),
                    Some(n) => {
                        let mut v = vec![0u8; n];
                        let m = n.min(text.len());
                        v[..m].copy_from_slice(&text.as_bytes()[..m]);
                        RStr::from_bytes_no_int(&v)
                    }
                };
                let o = s.new_obj(Value::Str(val));
                s.dbs[db].dict.insert(key.as_slice().into(), o);
                s.signal_modified_key(db, &key);
            }
            c.add_reply_ok();
        }
        _ => reply_subcommand_syntax_error(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    /// The value redis-server 7.0 prints for DEBUG DIGEST after
    /// `FLUSHALL` + `SET a b` in db 0.
    #[test]
    fn digest_matches_redis() {
        let mut s = Server::new(Config::with_defaults()).unwrap();
        assert_eq!(hex(&s.compute_dataset_digest()), "0000000000000000000000000000000000000000");
        s.set_key(0, b"a", Value::Str(RStr::from_bytes(b"b")), false);
        assert_eq!(hex(&s.compute_dataset_digest()), "479783d7290f02957dfbe3408a858ba13eea1709");
        // Moving the same data to another db changes the digest.
        let o = s.dbs[0].remove(b"a").unwrap();
        s.set_key_obj(1, b"a", o);
        assert_ne!(hex(&s.compute_dataset_digest()), "479783d7290f02957dfbe3408a858ba13eea1709");
    }
}
