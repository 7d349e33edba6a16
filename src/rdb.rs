//! RDB snapshots, writer side (mirrors rdb.c's save path): the format
//! below, SAVE, BGSAVE in a fork child, and what else starts a save —
//! save points checked by the cron, FLUSHALL, and SHUTDOWN's final
//! snapshot (`Server::prepare_for_shutdown`). A failed background save
//! denies writes with `-MISCONF` (`Server::write_commands_denied_by_disk_error`
//! in aof.rs) until a save succeeds.
//!
//! A file is:
//! 1. `REDIS0009` (RDB version 9, what Redis 5.0–6.2 write);
//! 2. AUX fields (`redis-ver`, `redis-bits`, `ctime`, `used-mem`,
//!    `aof-preamble`), each opcode 250 + two strings;
//! 3. per non-empty db: SELECTDB (254) + db id, RESIZEDB (251) + the
//!    sizes of its main and expires tables, then per key: EXPIRETIME_MS
//!    (252) + 8-byte ms when it has a TTL, IDLE (248) or FREQ (249) under an
//!    LRU or LFU maxmemory policy, the value's type byte, the key, the value;
//! 4. EOF (255) and the CRC-64 of everything before it, little-endian
//!    (zero when `rdbchecksum no`).
//!
//! Values keep their encodings as Redis 6.2 writes them: a quicklist as
//! its ziplist nodes, small hashes and sorted sets as their ziplist, small
//! integer sets as their intset (all byte-exact, so saved verbatim), big
//! ones element by element (ZSET_2 with binary doubles, highest score
//! first as Redis does). Strings are integer-encoded when they are small
//! integers and LZF-compressed (`rdbcompression yes`) above 20 bytes when
//! that saves at least 4 bytes.

use std::io::Write;

use crate::crc64::crc64;
use crate::object::{RStr, Value};
use crate::server::Server;

pub const RDB_VERSION: u32 = 9;

pub const RDB_TYPE_STRING: u8 = 0;
pub const RDB_TYPE_SET: u8 = 2;
pub const RDB_TYPE_HASH: u8 = 4;
pub const RDB_TYPE_ZSET_2: u8 = 5;
pub const RDB_TYPE_SET_INTSET: u8 = 11;
pub const RDB_TYPE_ZSET_ZIPLIST: u8 = 12;
pub const RDB_TYPE_HASH_ZIPLIST: u8 = 13;
pub const RDB_TYPE_LIST_QUICKLIST: u8 = 14;

pub const RDB_OPCODE_IDLE: u8 = 248;
pub const RDB_OPCODE_FREQ: u8 = 249;
pub const RDB_OPCODE_AUX: u8 = 250;
pub const RDB_OPCODE_RESIZEDB: u8 = 251;
pub const RDB_OPCODE_EXPIRETIME_MS: u8 = 252;
pub const RDB_OPCODE_SELECTDB: u8 = 254;
pub const RDB_OPCODE_EOF: u8 = 255;

const RDB_ENC_INT8: u8 = 0;
const RDB_ENC_INT16: u8 = 1;
const RDB_ENC_INT32: u8 = 2;
const RDB_ENC_LZF: u8 = 3;
const RDB_ENCVAL: u8 = 3;

/// A writer that keeps the running CRC-64 of what went through it (the
/// checksumming `rio` of rio.c).
pub struct Rio<W: Write> {
    w: W,
    pub cksum: u64,
    checksum: bool,
    pub written: u64,
}

impl<W: Write> Rio<W> {
    pub fn new(w: W, checksum: bool) -> Rio<W> {
        Rio { w, cksum: 0, checksum, written: 0 }
    }

    pub fn write(&mut self, b: &[u8]) -> std::io::Result<()> {
        if self.checksum {
            self.cksum = crc64(self.cksum, b);
        }
        self.written += b.len() as u64;
        self.w.write_all(b)
    }

    pub fn into_inner(self) -> W {
        self.w
    }

    /// A length (`rdbSaveLen`): 6 bits, 14 bits, 32 or 64 bits big-endian.
    pub fn save_len(&mut self, len: u64) -> std::io::Result<()> {
        if len < 1 << 6 {
            self.write(&[len as u8])
        } else if len < 1 << 14 {
            self.write(&[0x40 | (len >> 8) as u8, len as u8])
        } else if len <= u32::MAX as u64 {
            self.write(&[0x80])?;
            self.write(&(len as u32).to_be_bytes())
        } else {
            self.write(&[0x81])?;
            self.write(&len.to_be_bytes())
        }
    }

    /// An integer in the smallest special encoding, if one fits
    /// (`rdbEncodeInteger`).
    fn try_save_int(&mut self, v: i64) -> std::io::Result<bool> {
        if (i8::MIN as i64..=i8::MAX as i64).contains(&v) {
            self.write(&[(RDB_ENCVAL << 6) | RDB_ENC_INT8, v as i8 as u8])?;
        } else if (i16::MIN as i64..=i16::MAX as i64).contains(&v) {
            self.write(&[(RDB_ENCVAL << 6) | RDB_ENC_INT16])?;
            self.write(&(v as i16).to_le_bytes())?;
        } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
            self.write(&[(RDB_ENCVAL << 6) | RDB_ENC_INT32])?;
            self.write(&(v as i32).to_le_bytes())?;
        } else {
            return Ok(false);
        }
        Ok(true)
    }

    /// A string (`rdbSaveRawString`): integer-encoded when it is a small
    /// canonical integer, LZF when compression is on and pays, else raw.
    pub fn save_string(&mut self, b: &[u8], compress: bool) -> std::io::Result<()> {
        if b.len() <= 11 {
            if let Some(v) = crate::util::string2ll(b) {
                if self.try_save_int(v)? {
                    return Ok(());
                }
            }
        }
        if compress && b.len() > 20 {
            if let Some(c) = crate::lzf::rdb_compress(b) {
                self.write(&[(RDB_ENCVAL << 6) | RDB_ENC_LZF])?;
                self.save_len(c.len() as u64)?;
                self.save_len(b.len() as u64)?;
                return self.write(&c);
            }
        }
        self.save_len(b.len() as u64)?;
        self.write(b)
    }

    /// An integer as a string object (`rdbSaveLongLongAsStringObject`).
    pub fn save_long_long_as_string(&mut self, v: i64) -> std::io::Result<()> {
        if self.try_save_int(v)? {
            return Ok(());
        }
        let mut buf = itoa::Buffer::new();
        let s = buf.format(v).as_bytes();
        self.save_len(s.len() as u64)?;
        self.write(s)
    }

    fn save_aux(&mut self, key: &str, val: &[u8]) -> std::io::Result<()> {
        self.write(&[RDB_OPCODE_AUX])?;
        self.save_string(key.as_bytes(), false)?;
        self.save_string(val, false)
    }

    fn save_aux_int(&mut self, key: &str, v: i64) -> std::io::Result<()> {
        let mut buf = itoa::Buffer::new();
        let s = buf.format(v).as_bytes().to_vec();
        self.save_aux(key, &s)
    }
}

/// The type byte of a value (`rdbSaveObjectType`).
pub fn object_type(v: &Value) -> u8 {
    match v {
        Value::Str(_) => RDB_TYPE_STRING,
        Value::List(_) => RDB_TYPE_LIST_QUICKLIST,
        Value::SetInt(_) => RDB_TYPE_SET_INTSET,
        Value::SetHt(_) => RDB_TYPE_SET,
        Value::ZsetZl(_) => RDB_TYPE_ZSET_ZIPLIST,
        Value::ZsetSl(_) => RDB_TYPE_ZSET_2,
        Value::HashZl(_) => RDB_TYPE_HASH_ZIPLIST,
        Value::HashHt(_) => RDB_TYPE_HASH,
    }
}

/// A value's body (`rdbSaveObject`).
pub fn save_object<W: Write>(r: &mut Rio<W>, v: &Value, compress: bool) -> std::io::Result<()> {
    match v {
        Value::Str(RStr::Int(i)) => r.save_long_long_as_string(*i),
        Value::Str(s) => r.save_string(s.as_bytes(&mut itoa::Buffer::new()), compress),
        Value::List(q) => {
            r.save_len(q.node_count() as u64)?;
            for z in q.nodes() {
                r.save_string(z.as_bytes(), compress)?;
            }
            Ok(())
        }
        Value::SetInt(i) => r.save_string(i.as_bytes(), compress),
        Value::HashZl(z) | Value::ZsetZl(z) => r.save_string(z.as_bytes(), compress),
        Value::SetHt(h) => {
            r.save_len(h.len() as u64)?;
            for m in h.keys() {
                r.save_string(m, compress)?;
            }
            Ok(())
        }
        Value::HashHt(h) => {
            r.save_len(h.len() as u64)?;
            for (f, val) in h.iter() {
                r.save_string(f, compress)?;
                r.save_string(val, compress)?;
            }
            Ok(())
        }
        Value::ZsetSl(z) => {
            r.save_len(z.len() as u64)?;
            // From the highest score down, so that loading inserts at the
            // head of the skiplist (as rdb.c explains).
            for (m, score) in z.zsl().iter_rev() {
                r.save_string(m, compress)?;
                r.write(&score.to_le_bytes())?;
            }
            Ok(())
        }
    }
}

/// fsync a save every this many bytes with `rdb-save-incremental-fsync`
/// (`REDIS_AUTOSYNC_BYTES`), so the kernel never holds gigabytes of dirty
/// pages for one final fsync.
const RDB_AUTOSYNC_BYTES: u64 = 32 * 1024 * 1024;

/// A file that fdatasyncs every `every` bytes written (0: never), as
/// `rioSetAutoSync` does.
struct AutoSync {
    f: std::fs::File,
    every: u64,
    since: u64,
}

impl Write for AutoSync {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let n = self.f.write(b)?;
        self.since += n as u64;
        if self.every > 0 && self.since >= self.every {
            self.f.sync_data()?;
            self.since = 0;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.f.flush()
    }
}

/// What the RDB writer needs from the server, taken before the databases
/// are walked (so a rewrite child can read its diff pipe meanwhile).
pub struct SaveParams {
    pub compress: bool,
    pub lru: bool,
    pub lfu: bool,
    pub lru_clock: u32,
    pub unixtime: i64,
    pub lfu_decay_time: i64,
    pub key_save_delay: i64,
    pub used_mem: usize,
}

/// The databases as an RDB stream (`rdbSaveRio`), without the trailing
/// checksum (the caller writes it). `on_key` runs after every key with
/// the bytes written so far: the AOF rewrite child reads its diff there.
pub fn rdb_save_dbs<W: Write>(
    r: &mut Rio<W>,
    dbs: &[crate::db::Db],
    p: &SaveParams,
    aof_preamble: bool,
    mut on_key: impl FnMut(u64),
) -> std::io::Result<()> {
    let compress = p.compress;
    r.write(format!("REDIS{:04}", RDB_VERSION).as_bytes())?;
    r.save_aux("redis-ver", crate::server::REDIS_VERSION.as_bytes())?;
    r.save_aux_int("redis-bits", if usize::BITS == 64 { 64 } else { 32 })?;
    r.save_aux_int("ctime", p.unixtime)?;
    r.save_aux_int("used-mem", p.used_mem as i64)?;
    r.save_aux_int("aof-preamble", aof_preamble as i64)?;
    for db in dbs.iter() {
        if db.dict.is_empty() {
            continue;
        }
        r.write(&[RDB_OPCODE_SELECTDB])?;
        r.save_len(db.id as u64)?;
        r.write(&[RDB_OPCODE_RESIZEDB])?;
        r.save_len(db.dict.len() as u64)?;
        r.save_len(db.expires.len() as u64)?;
        for (k, o) in db.dict.iter() {
            let key: &[u8] = k;
            if let Some(when) = db.get_expire(key) {
                r.write(&[RDB_OPCODE_EXPIRETIME_MS])?;
                r.write(&when.to_le_bytes())?;
            }
            if p.lru {
                let idle = crate::object::estimate_idle_time_ms(o.lru, p.lru_clock) / 1000;
                r.write(&[RDB_OPCODE_IDLE])?;
                r.save_len(idle)?;
            }
            if p.lfu {
                let freq = crate::object::lfu_decr_and_return(o.lru, p.unixtime, p.lfu_decay_time);
                r.write(&[RDB_OPCODE_FREQ, freq as u8])?;
            }
            r.write(&[object_type(&o.val)])?;
            r.save_string(key, compress)?;
            save_object(r, &o.val, compress)?;
            on_key(r.written);
            // Tests slow a saving child down with rdb-key-save-delay.
            if p.key_save_delay != 0 {
                crate::aof_rewrite::debug_delay(p.key_save_delay);
            }
        }
    }
    r.write(&[RDB_OPCODE_EOF])?;
    Ok(())
}

impl Server {
    /// The writer's view of the server now.
    pub fn rdb_save_params(&self) -> SaveParams {
        SaveParams {
            compress: self.config.stored_bool("rdbcompression").unwrap_or(true),
            lru: self.config.maxmemory_policy & crate::config::MAXMEMORY_FLAG_LRU != 0,
            lfu: self.config.maxmemory_policy & crate::config::MAXMEMORY_FLAG_LFU != 0,
            lru_clock: crate::object::lru_clock(self.mstime),
            unixtime: self.unixtime,
            lfu_decay_time: self.config.lfu_decay_time,
            key_save_delay: self.config.rdb_key_save_delay,
            used_mem: crate::zmalloc::used_memory(),
        }
    }

    /// The whole dataset as an RDB stream (`rdbSaveRio`), without the
    /// trailing checksum (the caller writes it).
    pub fn rdb_save_rio<W: Write>(&self, r: &mut Rio<W>, aof_preamble: bool) -> std::io::Result<()> {
        rdb_save_dbs(r, &self.dbs, &self.rdb_save_params(), aof_preamble, |_| {})
    }

    /// Saves the dataset to `filename` in the configured dir (`rdbSave`):
    /// written to `temp-<pid>.rdb`, fsynced, renamed over the target. On
    /// success the dirty counter restarts, LASTSAVE moves and a failed
    /// background save no longer denies writes, as in Redis.
    pub fn rdb_save(&mut self, filename: &str) -> Result<(), String> {
        let tmp = rdb_temp_file(std::process::id() as libc::pid_t);
        let checksum = self.config.stored_bool("rdbchecksum").unwrap_or(true);
        let f = match std::fs::File::create(&tmp) {
            Ok(f) => f,
            Err(e) => {
                // 6.2 names the target file here, not the temp file.
                let msg = format!(
                    "Failed opening the RDB file {} (in server root dir {}) for saving: {}",
                    filename,
                    cwd(),
                    crate::server::strerror(&e)
                );
                log::warn!("{}", msg);
                return Err(msg);
            }
        };
        let autosync = if self.config.stored_bool("rdb-save-incremental-fsync").unwrap_or(true) { RDB_AUTOSYNC_BYTES } else { 0 };
        let res = (|| -> std::io::Result<()> {
            let w = AutoSync { f, every: autosync, since: 0 };
            let mut r = Rio::new(std::io::BufWriter::with_capacity(64 * 1024, w), checksum);
            self.rdb_save_rio(&mut r, false)?;
            let ck = if checksum { r.cksum } else { 0 };
            r.write(&ck.to_le_bytes())?;
            let w = r.into_inner().into_inner().map_err(|e| e.into_error())?;
            w.f.sync_all()
        })();
        if let Err(e) = res {
            let msg = format!("Write error saving DB on disk: {}", crate::server::strerror(&e));
            log::warn!("{}", msg);
            let _ = std::fs::remove_file(&tmp);
            return Err(msg);
        }
        if let Err(e) = std::fs::rename(&tmp, filename) {
            let msg = format!(
                "Error moving temp DB file {} on the final destination {} (in server root dir {}): {}",
                tmp,
                filename,
                cwd(),
                crate::server::strerror(&e)
            );
            log::warn!("{}", msg);
            let _ = std::fs::remove_file(&tmp);
            return Err(msg);
        }
        log::info!("DB saved on disk");
        self.dirty = 0;
        self.lastsave = crate::util::ustime() / 1_000_000;
        self.rdb.lastbgsave_ok = true;
        Ok(())
    }
}

/// The temp file a save by process `pid` writes before its rename.
pub fn rdb_temp_file(pid: libc::pid_t) -> String {
    format!("temp-{}.rdb", pid)
}

fn cwd() -> String {
    std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_else(|_| "unknown".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(f: impl FnOnce(&mut Rio<Vec<u8>>) -> std::io::Result<()>) -> Vec<u8> {
        let mut r = Rio::new(Vec::new(), true);
        f(&mut r).expect("write to a Vec");
        r.into_inner()
    }

    #[test]
    fn lengths_use_redis_encodings() {
        assert_eq!(bytes(|r| r.save_len(5)), [5]);
        assert_eq!(bytes(|r| r.save_len(63)), [63]);
        assert_eq!(bytes(|r| r.save_len(64)), [0x40, 64]);
        assert_eq!(bytes(|r| r.save_len(16383)), [0x7f, 0xff]);
        assert_eq!(bytes(|r| r.save_len(16384)), [0x80, 0, 0, 0x40, 0]);
        assert_eq!(bytes(|r| r.save_len(1 << 32)), [0x81, 0, 0, 0, 1, 0, 0, 0, 0]);
    }

    #[test]
    fn strings_integers_and_lzf() {
        assert_eq!(bytes(|r| r.save_string(b"12", true)), [0xc0, 12]);
        assert_eq!(bytes(|r| r.save_string(b"-300", true)), [0xc1, 0xd4, 0xfe]);
        assert_eq!(bytes(|r| r.save_string(b"100000", true)), [0xc2, 0xa0, 0x86, 1, 0]);
        // Not canonical, or too long: plain strings.
        assert_eq!(bytes(|r| r.save_string(b"012", true)), [3, b'0', b'1', b'2']);
        assert_eq!(bytes(|r| r.save_string(b"12345678901", true))[0], 11);
        let long = vec![b'a'; 100];
        assert_eq!(bytes(|r| r.save_string(&long, true))[0], 0xc3);
        assert_eq!(bytes(|r| r.save_string(&long, false))[..3], [0x40, 100, b'a']);
    }
}

/// SAVE: a synchronous snapshot to `dbfilename` (`saveCommand`).
pub fn save_command(s: &mut Server, c: &mut crate::client::Client) {
    if s.child.child_type == crate::fork::ChildType::Rdb {
        c.add_reply_error("Background save already in progress");
        return;
    }
    let name = s.config.dbfilename.clone();
    match s.rdb_save(&name) {
        Ok(()) => c.add_reply_ok(),
        // Redis answers a bare `-ERR` (shared.err); the log has the cause.
        Err(_) => c.add_reply_error("-ERR"),
    }
}

/// Seconds between attempts after a failed background save
/// (`CONFIG_BGSAVE_RETRY_DELAY`).
const BGSAVE_RETRY_DELAY: i64 = 5;

/// Background save state (the `rdb_*` fields of `struct redisServer`).
#[derive(Debug)]
pub struct RdbState {
    /// BGSAVE SCHEDULE asked while another child ran.
    pub bgsave_scheduled: bool,
    /// Unix seconds the running background save started, or -1.
    pub save_time_start: i64,
    pub save_time_last: i64,
    pub lastbgsave_ok: bool,
    /// Unix seconds of the last background save attempt.
    pub lastbgsave_try: i64,
    /// `dirty` when the running background save forked.
    pub dirty_before_bgsave: u64,
}

impl Default for RdbState {
    fn default() -> Self {
        RdbState {
            bgsave_scheduled: false,
            save_time_start: -1,
            save_time_last: -1,
            lastbgsave_ok: true,
            lastbgsave_try: 0,
            dirty_before_bgsave: 0,
        }
    }
}

impl Server {
    /// Forks a child that saves the dataset to `filename`
    /// (`rdbSaveBackground`). The child never returns.
    pub fn rdb_save_background(&mut self, filename: &str) -> Result<(), ()> {
        if self.has_active_child_process() {
            return Err(());
        }
        self.rdb.dirty_before_bgsave = self.dirty;
        self.rdb.lastbgsave_try = self.unixtime;
        match self.redis_fork(crate::fork::ChildType::Rdb) {
            Ok(crate::fork::Forked::Child) => {
                let title = self.child_proc_title("oxredis-rdb-bgsave");
                crate::fork::set_proc_title(&title, self.config.set_proc_title);
                let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.rdb_save(filename).is_ok()));
                if ok.unwrap_or(false) {
                    self.send_child_info(crate::childinfo::ChildInfoType::RdbCowSize, 0, "RDB");
                    crate::fork::exit_from_child(0)
                }
                let _ = std::fs::remove_file(rdb_temp_file(std::process::id() as libc::pid_t));
                crate::fork::exit_from_child(1)
            }
            Ok(crate::fork::Forked::Parent(pid)) => {
                log::info!("Background saving started by pid {}", pid);
                self.rdb.save_time_start = self.unixtime;
                Ok(())
            }
            Err(e) => {
                self.rdb.lastbgsave_ok = false;
                log::warn!("Can't save in background: fork: {}", crate::server::strerror(&e));
                Err(())
            }
        }
    }

    /// The cron's end of a background save (`backgroundSaveDoneHandlerDisk`).
    pub fn background_save_done_handler(&mut self, exitcode: i32, bysignal: i32) {
        if bysignal == 0 && exitcode == 0 {
            log::info!("Background saving terminated with success");
            self.dirty = self.dirty.saturating_sub(self.rdb.dirty_before_bgsave);
            self.lastsave = self.unixtime;
            self.rdb.lastbgsave_ok = true;
        } else if bysignal == 0 && exitcode != 0 {
            log::warn!("Background saving error");
            self.rdb.lastbgsave_ok = false;
        } else {
            log::warn!("Background saving terminated by signal {}", bysignal);
            let _ = std::fs::remove_file(rdb_temp_file(self.child.pid));
            // A kill we asked for (SIGUSR1) is not an error.
            if bysignal != libc::SIGUSR1 {
                self.rdb.lastbgsave_ok = false;
            }
        }
        self.rdb.save_time_last = self.unixtime - self.rdb.save_time_start;
        self.rdb.save_time_start = -1;
    }

    /// The save points (`save <seconds> <changes>`), checked by the cron
    /// while no child runs (the saveparams loop of `serverCron`): the first
    /// one with at least `changes` writes since the last save, more than
    /// `seconds` ago, starts a BGSAVE, unless the last one failed less
    /// than `BGSAVE_RETRY_DELAY` seconds ago.
    pub fn rdb_save_points_cron(&mut self) {
        if self.config.save_params.is_empty() || self.has_active_child_process() {
            return;
        }
        let retry_ok = self.unixtime - self.rdb.lastbgsave_try > BGSAVE_RETRY_DELAY || self.rdb.lastbgsave_ok;
        if !retry_ok {
            return;
        }
        let due = self
            .config
            .save_params
            .iter()
            .find(|&&(seconds, changes)| self.dirty >= changes as u64 && self.unixtime - self.lastsave > seconds)
            .copied();
        if let Some((seconds, changes)) = due {
            log::info!("{} changes in {} seconds. Saving...", changes, seconds);
            let filename = self.config.dbfilename.clone();
            let _ = self.rdb_save_background(&filename);
        }
    }

    /// A BGSAVE SCHEDULE'd while another child ran, once none runs (end
    /// of `serverCron`).
    pub fn rdb_cron(&mut self) {
        if self.has_active_child_process() || !self.rdb.bgsave_scheduled {
            return;
        }
        let retry_ok = self.unixtime - self.rdb.lastbgsave_try > BGSAVE_RETRY_DELAY || self.rdb.lastbgsave_ok;
        if retry_ok {
            let filename = self.config.dbfilename.clone();
            if self.rdb_save_background(&filename).is_ok() {
                self.rdb.bgsave_scheduled = false;
            }
        }
    }

    /// After FLUSHALL (the RDB part of `flushAllDataAndResetRDB`): a
    /// running background save would write the old dataset, so it is
    /// stopped; with save points set, the empty dataset is saved at once.
    /// `dirty` is kept so that FLUSHALL still propagates.
    pub fn rdb_reset_after_flushall(&mut self) {
        if self.child.child_type == crate::fork::ChildType::Rdb {
            self.kill_rdb_child();
        }
        if !self.config.save_params.is_empty() {
            let saved_dirty = self.dirty;
            let filename = self.config.dbfilename.clone();
            let _ = self.rdb_save(&filename);
            self.dirty = saved_dirty;
        }
    }

    /// Stops a running background save for SHUTDOWN or FLUSHALL
    /// (`killRDBChild` plus `rdbRemoveTempFile`): SIGUSR1 ends it without an error, and its temp
    /// file goes at once; the cron reaps it later if the server lives on.
    pub fn kill_rdb_child(&mut self) {
        if self.child.child_type != crate::fork::ChildType::Rdb {
            return;
        }
        let pid = self.child.pid;
        // SAFETY: signalling our own child.
        unsafe {
            libc::kill(pid, libc::SIGUSR1);
        }
        let _ = std::fs::remove_file(rdb_temp_file(pid));
    }
}

/// BGSAVE [SCHEDULE] (`bgsaveCommand`).
pub fn bgsave_command(s: &mut Server, c: &mut crate::client::Client) {
    let mut schedule = false;
    if c.argv.len() > 1 {
        if c.argv.len() == 2 && c.argv.get(1).eq_ignore_ascii_case(b"schedule") {
            schedule = true;
        } else {
            c.add_reply_error("syntax error");
            return;
        }
    }
    if s.child.child_type == crate::fork::ChildType::Rdb {
        c.add_reply_error("Background save already in progress");
    } else if s.has_active_child_process() {
        if schedule {
            s.rdb.bgsave_scheduled = true;
            c.add_reply_status("Background saving scheduled");
        } else {
            c.add_reply_error("Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
        }
    } else {
        let name = s.config.dbfilename.clone();
        match s.rdb_save_background(&name) {
            Ok(()) => c.add_reply_status("Background saving started"),
            Err(()) => c.add_reply_error("-ERR"),
        }
    }
}

/// A DUMP payload (`createDumpPayload`): the value's type byte and body as
/// in an RDB file, then the RDB version (2 bytes) and the CRC-64 of all
/// that (8 bytes), both little-endian.
pub fn create_dump_payload(v: &Value, compress: bool) -> Vec<u8> {
    let mut r = Rio::new(Vec::new(), true);
    // Writing into a Vec cannot fail.
    let _ = r.write(&[object_type(v)]).and_then(|_| save_object(&mut r, v, compress));
    let _ = r.write(&(RDB_VERSION as u16).to_le_bytes());
    let crc = r.cksum;
    let mut out = r.into_inner();
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// DUMP key (`dumpCommand`): the serialized value, or a null bulk.
pub fn dump_command(s: &mut Server, c: &mut crate::client::Client) {
    let compress = s.config.stored_bool("rdbcompression").unwrap_or(true);
    let payload = match s.lookup_key_read(c.db, c.argv.get(1)) {
        None => None,
        Some(v) => Some(create_dump_payload(v, compress)),
    };
    match payload {
        Some(p) => c.add_reply_bulk(&p),
        None => c.add_reply_null(),
    }
}

/// Checks a DUMP payload's footer (`verifyDumpPayload`): the RDB version
/// (this server loads up to Redis 7.2's 11) and the CRC-64 of everything
/// before the last 8 bytes. Returns the version.
pub fn verify_dump_payload(p: &[u8]) -> Option<u32> {
    if p.len() < 10 {
        return None;
    }
    let footer = &p[p.len() - 10..];
    let ver = u16::from_le_bytes([footer[0], footer[1]]) as u32;
    if ver > crate::rdb_load::RDB_LOAD_MAX_VERSION {
        return None;
    }
    let mut crc = [0u8; 8];
    crc.copy_from_slice(&footer[2..]);
    (crate::crc64::crc64(0, &p[..p.len() - 8]) == u64::from_le_bytes(crc)).then_some(ver)
}

/// The value of a DUMP payload whose footer checked out, or None when it
/// is not a well-formed value of a known type (an empty one included).
pub fn load_dump_payload(p: &[u8], ver: u32, lim: crate::rdb_load::Limits) -> Option<Value> {
    use crate::rdb_load::{RdbParser, RdbReader};
    let body = &p[..p.len() - 10];
    let mut parser = RdbParser::new(RdbReader::new(body, body.len() as u64, false), lim);
    parser.version = ver;
    let t = parser.r.u8().ok()?;
    if !crate::rdb_load::is_object_type(t) {
        return None;
    }
    parser.load_value(t).ok().flatten()
}

/// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds]
/// [FREQ frequency] (`restoreCommand`).
pub fn restore_command(s: &mut Server, c: &mut crate::client::Client) {
    use crate::commands::{arg_is, get_long_long_or_reply};
    let (mut replace, mut absttl) = (false, false);
    let (mut lfu_freq, mut lru_idle) = (-1i64, -1i64);
    let mut j = 4;
    while j < c.argv.len() {
        let additional = c.argv.len() - j - 1;
        let a = c.argv.get(j);
        if arg_is(a, "replace") {
            replace = true;
        } else if arg_is(a, "absttl") {
            absttl = true;
        } else if arg_is(a, "idletime") && additional >= 1 && lfu_freq == -1 {
            let Some(v) = get_long_long_or_reply(c, j + 1) else { return };
            if v < 0 {
                c.add_reply_error("Invalid IDLETIME value, must be >= 0");
                return;
            }
            lru_idle = v;
            j += 1;
        } else if arg_is(a, "freq") && additional >= 1 && lru_idle == -1 {
            let Some(v) = get_long_long_or_reply(c, j + 1) else { return };
            if !(0..=255).contains(&v) {
                c.add_reply_error("Invalid FREQ value, must be >= 0 and <= 255");
                return;
            }
            lfu_freq = v;
            j += 1;
        } else {
            c.add_reply_error("syntax error");
            return;
        }
        j += 1;
    }
    let db = c.db;
    let key = c.argv.get(1).to_vec();
    if !replace && s.lookup_key_write(db, &key).is_some() {
        c.add_reply_error("-BUSYKEY Target key name already exists.");
        return;
    }
    let Some(mut ttl) = get_long_long_or_reply(c, 2) else { return };
    if ttl < 0 {
        c.add_reply_error("Invalid TTL value, must be >= 0");
        return;
    }
    let Some(ver) = verify_dump_payload(c.argv.get(3)) else {
        c.add_reply_error("DUMP payload version or checksum are wrong");
        return;
    };
    let lim = crate::rdb_load::Limits::from_config(&s.config);
    let Some(val) = load_dump_payload(c.argv.get(3), ver, lim) else {
        c.add_reply_error("Bad data format");
        return;
    };
    let deleted = replace && s.db_delete(db, &key);
    if ttl != 0 && !absttl {
        ttl = ttl.saturating_add(s.mstime);
    }
    if ttl != 0 && ttl <= s.mstime && !s.loading {
        // Already expired: the old key (if any) is gone, the new one is
        // never created; replicas and the AOF see a DEL.
        if deleted {
            c.rewritten = Some(crate::proto::Argv::from_slices(&[&b"DEL"[..], &key]));
            s.signal_modified_key(db, &key);
            s.notify_keyspace_event(crate::config::NOTIFY_GENERIC, "del", &key, db);
            s.dirty += 1;
        }
        c.add_reply_ok();
        return;
    }
    s.db_add(db, &key, val);
    if ttl != 0 {
        s.dbs[db].set_expire(&key, ttl);
    }
    let lru_clock = crate::object::lru_clock(s.mstime);
    if let Some(lru) = s.lru_from_idle_or_freq(lfu_freq, lru_idle, lru_clock) {
        if let Some(o) = s.dbs[db].dict.get_mut(&key[..]) {
            o.lru = lru;
        }
    }
    s.signal_modified_key(db, &key);
    s.notify_keyspace_event(crate::config::NOTIFY_GENERIC, "restore", &key, db);
    s.dirty += 1;
    c.add_reply_ok();
}
