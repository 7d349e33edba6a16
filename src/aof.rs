//! The append-only file (mirrors aof.c): feeding, flushing, loading, and
//! switching AOF on and off.
//!
//! 1. **Feeding.** Every command that changed the dataset reaches
//!    `feed_append_only_file` through `Server::propagate`, in RESP, after a
//!    `SELECT` when its db differs from the last one written. Relative
//!    times become absolute: EXPIRE/PEXPIRE/EXPIREAT become PEXPIREAT,
//!    SETEX/PSETEX and `SET … PX` become `SET … PXAT` (6.2's form).
//!    Commands rewrite their own propagated form where the effect differs
//!    from the request (INCRBYFLOAT → SET … KEEPTTL, GETEX → PEXPIREAT or
//!    PERSIST, GETDEL → DEL; see `Client::rewritten`).
//! 2. **Flushing.** `flush_append_only_file` runs in `before_sleep`, so a
//!    reply leaves only after its write reached the file: one `write(2)` of
//!    the whole buffer. `always` fsyncs in the same call; `everysec` hands
//!    the fsync to a bio thread at most once a second and, while one is
//!    still running, postpones the write for up to 2 s before writing
//!    anyway (`aof_delayed_fsync`); `no` never fsyncs.
//! 3. **Write errors.** A short write is truncated back where possible; the
//!    unwritten buffer stays and is retried from the cron; write commands
//!    get `-MISCONF` until a write succeeds. With `always` the server
//!    exits: the client was not answered, so nothing acknowledged is lost.
//! 4. **Loading.** At start with `appendonly yes` the file is replayed
//!    through a fake client, serving other clients `-LOADING` meanwhile. A
//!    truncated tail (or a MULTI without EXEC at the end) is cut off with
//!    `aof-load-truncated yes`; any other damage stops the server with
//!    Redis's messages (plus the offset of the last valid command for a bad
//!    format). MULTI/EXEC/DISCARD are replayed as Redis's fake client sees
//!    them; argument lengths are trusted only as far as the file has bytes.
//! 5. **Background fsync errors** (bio.rs) deny writes with `-MISCONF` and
//!    show `aof_last_write_status:err` until a later fsync succeeds.
//! 6. **Rewriting** happens in a fork child (aof_rewrite.rs). While one
//!    runs, everything fed here is also appended to the rewrite buffer;
//!    switching AOF on (`start_append_only`) waits for such a rewrite
//!    (`wait_rewrite`) before the file is written to.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::io::RawFd;

use crate::bio::{Bio, JobType};
use crate::client::Client;
use crate::config::{AOF_FSYNC_ALWAYS, AOF_FSYNC_EVERYSEC};
use crate::proto::Argv;
use crate::server::{strerror, Server};

/// Log a write error at most once every this many seconds.
const AOF_WRITE_LOG_ERROR_RATE: i64 = 30;
/// Replay this many commands between two rounds of serving clients.
const LOADING_PROCESS_EVENTS_INTERVAL: u64 = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AofStatus {
    Off,
    On,
    /// Switched on with CONFIG SET, waiting for the first rewrite.
    WaitRewrite,
}

/// The AOF's run-time state (the `aof_*` fields of `redisServer`).
pub struct Aof {
    pub state: AofStatus,
    pub fd: RawFd,
    /// Commands propagated since the last flush (`aof_buf`).
    pub buf: Vec<u8>,
    /// Db of the last command written, -1 to force a SELECT.
    pub selected_db: i64,
    pub current_size: u64,
    /// Size after the last rewrite or load (`aof_base_size`).
    pub base_size: u64,
    /// `current_size` at the last fsync.
    pub fsync_offset: u64,
    /// Unix seconds of the last fsync.
    pub last_fsync: i64,
    /// Unix seconds since when a flush waits for a running fsync, or 0.
    pub flush_postponed_start: i64,
    pub delayed_fsync: u64,
    pub last_write_ok: bool,
    pub last_write_errno: i32,
    last_write_error_log: i64,
    /// DEBUG AOF-FLUSH-SLEEP: microseconds to sleep before each write.
    pub flush_sleep_us: u64,
    pub bio: Option<Bio>,
    /// Loading progress for INFO persistence.
    pub loading_start: i64,
    pub loading_total_bytes: u64,
    pub loading_loaded_bytes: u64,
    /// The background rewrite (aof_rewrite.rs).
    pub rewrite: crate::aof_rewrite::AofRewrite,
}

impl Default for Aof {
    fn default() -> Self {
        Aof {
            state: AofStatus::Off,
            fd: -1,
            buf: Vec::new(),
            selected_db: -1,
            current_size: 0,
            base_size: 0,
            fsync_offset: 0,
            last_fsync: 0,
            flush_postponed_start: 0,
            delayed_fsync: 0,
            last_write_ok: true,
            last_write_errno: 0,
            last_write_error_log: 0,
            flush_sleep_us: 0,
            bio: None,
            loading_start: 0,
            loading_total_bytes: 0,
            loading_loaded_bytes: 0,
            rewrite: crate::aof_rewrite::AofRewrite::default(),
        }
    }
}

/// The `-MISCONF` reply while background saves fail (`shared.bgsaveerr`).
pub const RDB_MISCONF: &str = "-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. \
Commands that may modify the data set are disabled, because this instance is configured to report errors during writes \
if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// Appends `*<argc>\r\n` and each argument as a bulk string
/// (`catAppendOnlyGenericCommand`).
pub fn cat_command<'a, I: IntoIterator<Item = &'a [u8]>>(buf: &mut Vec<u8>, argc: usize, args: I) {
    let mut ib = itoa::Buffer::new();
    buf.push(b'*');
    buf.extend_from_slice(ib.format(argc).as_bytes());
    buf.extend_from_slice(b"\r\n");
    for a in args {
        buf.push(b'$');
        buf.extend_from_slice(ib.format(a.len()).as_bytes());
        buf.extend_from_slice(b"\r\n");
        buf.extend_from_slice(a);
        buf.extend_from_slice(b"\r\n");
    }
}

/// Appends `PEXPIREAT key <abs ms>` for an expire given in `cmd`'s unit
/// and base (`catAppendOnlyExpireAtCommand`).
fn cat_expire_at(buf: &mut Vec<u8>, cmd: &[u8], key: &[u8], when: &[u8], now_ms: i64) {
    let mut when = crate::util::string2ll(when).unwrap_or(0);
    if cmd == b"expire" || cmd == b"setex" || cmd == b"expireat" {
        when = when.saturating_mul(1000);
    }
    if cmd == b"expire" || cmd == b"pexpire" || cmd == b"setex" || cmd == b"psetex" {
        when = when.saturating_add(now_ms);
    }
    let mut ib = itoa::Buffer::new();
    cat_command(buf, 3, [&b"PEXPIREAT"[..], key, ib.format(when).as_bytes()]);
}

/// Writes all of `buf` to `fd`, retrying short writes and EINTR
/// (`aofWrite`). Returns bytes written, or the error if none were.
fn aof_write(fd: RawFd, buf: &[u8]) -> Result<usize, (usize, std::io::Error)> {
    let mut written = 0;
    while written < buf.len() {
        match crate::anet::write(fd, &buf[written..]) {
            Ok(0) => return Err((written, std::io::Error::from_raw_os_error(libc::ENOSPC))),
            Ok(n) => written += n,
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            Err(e) => return Err((written, e)),
        }
    }
    Ok(written)
}

fn fsync(fd: RawFd) -> std::io::Result<()> {
    // SAFETY: fdatasync on an fd we own.
    if unsafe { libc::fdatasync(fd) } == -1 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Opens the AOF for appending, creating it (`O_WRONLY|O_APPEND|O_CREAT`, 0644).
pub fn open_for_append(path: &str) -> std::io::Result<RawFd> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::IntoRawFd;
    let f = std::fs::OpenOptions::new().append(true).create(true).mode(0o644).custom_flags(libc::O_CLOEXEC).open(path)?;
    Ok(f.into_raw_fd())
}

impl Server {
    /// Memory of the AOF buffer and the rewrite buffer, when AOF is not
    /// off (INFO `mem_aof_buffer`; not counted for eviction).
    pub fn aof_buffers_memory(&self) -> usize {
        if self.aof.state == AofStatus::Off {
            0
        } else {
            self.aof.buf.capacity() + self.aof.rewrite.buffer_size()
        }
    }

    /// True while AOF is on or waiting for its first rewrite.
    pub fn aof_enabled(&self) -> bool {
        self.aof.state != AofStatus::Off
    }

    /// Appends a propagated command to `aof_buf` and, while a rewrite
    /// child runs, to the rewrite buffer (`feedAppendOnlyFile`). Waiting
    /// for the first rewrite, only the rewrite buffer gets it.
    pub fn feed_append_only_file(&mut self, dbid: usize, argv: &Argv) {
        let now = self.mstime;
        let start = self.aof.buf.len();
        let buf = &mut self.aof.buf;
        if dbid as i64 != self.aof.selected_db {
            let mut ib = itoa::Buffer::new();
            cat_command(buf, 2, [&b"SELECT"[..], ib.format(dbid).as_bytes()]);
            self.aof.selected_db = dbid as i64;
        }
        let mut lname = [0u8; 16];
        let name = argv.get(0);
        let cmd: &[u8] = if name.len() <= lname.len() {
            for (i, b) in name.iter().enumerate() {
                lname[i] = b.to_ascii_lowercase();
            }
            &lname[..name.len()]
        } else {
            b""
        };
        match cmd {
            b"expire" | b"pexpire" | b"expireat" => cat_expire_at(buf, cmd, argv.get(1), argv.get(2), now),
            // Redis 6.2 propagates SETEX/PSETEX as `SET k v PX <ms>`, which
            // reaches the AOF as `SET k v PXAT <abs ms>` (as 7.0 writes it).
            b"setex" | b"psetex" => {
                let mut when = crate::util::string2ll(argv.get(2)).unwrap_or(0);
                if cmd == b"setex" {
                    when = when.saturating_mul(1000);
                }
                let when = when.saturating_add(now);
                let mut ib = itoa::Buffer::new();
                cat_command(buf, 5, [&b"SET"[..], argv.get(1), argv.get(3), &b"PXAT"[..], ib.format(when).as_bytes()]);
            }
            b"set" if argv.len() > 4 && argv.get(3).eq_ignore_ascii_case(b"px") => {
                let when = crate::util::string2ll(argv.get(4)).unwrap_or(0).saturating_add(now);
                let mut ib = itoa::Buffer::new();
                cat_command(buf, 5, [argv.get(0), argv.get(1), argv.get(2), &b"PXAT"[..], ib.format(when).as_bytes()]);
            }
            _ => cat_command(buf, argv.len(), argv.iter()),
        }
        if self.child.child_type == crate::fork::ChildType::Aof {
            self.aof_rewrite_buffer_append(start);
        }
        if self.aof.state != AofStatus::On {
            self.aof.buf.truncate(start);
        }
    }

    /// Writes `aof_buf` to the file and fsyncs per policy
    /// (`flushAppendOnlyFile`). `force` skips the everysec postponement.
    pub fn flush_append_only_file(&mut self, force: bool) {
        if self.aof.fd < 0 {
            return;
        }
        let fsync_policy = self.config.appendfsync;
        let mut sync_in_progress = false;
        if self.aof.buf.is_empty() {
            // Nothing new, but an everysec fsync may still be owed for data
            // written in the last second.
            if fsync_policy == AOF_FSYNC_EVERYSEC
                && self.aof.fsync_offset != self.aof.current_size
                && self.unixtime > self.aof.last_fsync
                && !self.aof_fsync_in_progress()
            {
                self.aof_try_fsync(false);
            }
            return;
        }
        if fsync_policy == AOF_FSYNC_EVERYSEC {
            sync_in_progress = self.aof_fsync_in_progress();
        }
        if fsync_policy == AOF_FSYNC_EVERYSEC && !force && sync_in_progress {
            if self.aof.flush_postponed_start == 0 {
                self.aof.flush_postponed_start = self.unixtime;
                return;
            } else if self.unixtime - self.aof.flush_postponed_start < 2 {
                return;
            }
            self.aof.delayed_fsync += 1;
            log::info!("Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer without waiting for fsync to complete, this may slow down Redis.");
        }
        if self.aof.flush_sleep_us > 0 {
            std::thread::sleep(std::time::Duration::from_micros(self.aof.flush_sleep_us));
        }
        let start = crate::util::monotonic_us();
        let res = aof_write(self.aof.fd, &self.aof.buf);
        let latency = (crate::util::monotonic_us() - start) / 1000;
        // Slow writes by cause: a pending fsync, a child doing I/O, or alone.
        if sync_in_progress {
            self.latency_add_sample_if_needed("aof-write-pending-fsync", latency);
        } else if self.has_active_child_process() {
            self.latency_add_sample_if_needed("aof-write-active-child", latency);
        } else {
            self.latency_add_sample_if_needed("aof-write-alone", latency);
        }
        self.latency_add_sample_if_needed("aof-write", latency);
        self.aof.flush_postponed_start = 0;
        match res {
            Ok(n) => {
                if !self.aof.last_write_ok {
                    log::warn!("AOF write error looks solved, Redis can write again.");
                    self.aof.last_write_ok = true;
                }
                self.aof.current_size += n as u64;
            }
            Err((n, e)) => {
                let can_log = self.unixtime - self.aof.last_write_error_log > AOF_WRITE_LOG_ERROR_RATE;
                if can_log {
                    self.aof.last_write_error_log = self.unixtime;
                }
                let mut nwritten = n;
                if n == 0 {
                    if can_log {
                        log::warn!("Error writing to the AOF file: {}", strerror(&e));
                    }
                    self.aof.last_write_errno = e.raw_os_error().unwrap_or(libc::EIO);
                } else {
                    if can_log {
                        log::warn!(
                            "Short write while writing to the AOF file: (nwritten={}, expected={})",
                            n,
                            self.aof.buf.len()
                        );
                    }
                    // SAFETY: ftruncate on our AOF fd back to the size it
                    // had before this write.
                    if unsafe { libc::ftruncate(self.aof.fd, self.aof.current_size as libc::off_t) } == -1 {
                        if can_log {
                            log::warn!(
                                "Could not remove short write from the append-only file.  Redis may refuse to load the AOF the next time it starts.  ftruncate: {}",
                                strerror(&std::io::Error::last_os_error())
                            );
                        }
                    } else {
                        // The partial write is gone: retry the whole buffer.
                        nwritten = 0;
                    }
                    self.aof.last_write_errno = libc::ENOSPC;
                }
                if fsync_policy == AOF_FSYNC_ALWAYS {
                    log::warn!("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...");
                    std::process::exit(1);
                }
                self.aof.last_write_ok = false;
                if nwritten > 0 {
                    self.aof.current_size += nwritten as u64;
                    self.aof.buf.drain(..nwritten);
                }
                return;
            }
        }
        // Reuse a small buffer, give a big one back.
        if self.aof.buf.capacity() < 4000 {
            self.aof.buf.clear();
        } else {
            self.aof.buf = Vec::new();
        }
        self.aof_try_fsync(sync_in_progress);
    }

    fn aof_fsync_in_progress(&self) -> bool {
        self.aof.bio.as_ref().map(|b| b.pending(JobType::AofFsync) != 0).unwrap_or(false)
    }

    /// The fsync half of `flush_append_only_file`.
    fn aof_try_fsync(&mut self, sync_in_progress: bool) {
        if self.config.no_appendfsync_on_rewrite && self.has_active_child_process() {
            return;
        }
        match self.config.appendfsync {
            AOF_FSYNC_ALWAYS => {
                let start = crate::util::monotonic_us();
                if let Err(e) = fsync(self.aof.fd) {
                    log::warn!(
                        "Can't persist AOF for fsync error when the AOF fsync policy is 'always': {}. Exiting...",
                        strerror(&e)
                    );
                    std::process::exit(1);
                }
                self.latency_add_sample_if_needed("aof-fsync-always", (crate::util::monotonic_us() - start) / 1000);
                self.aof.fsync_offset = self.aof.current_size;
                self.aof.last_fsync = self.unixtime;
            }
            AOF_FSYNC_EVERYSEC if self.unixtime > self.aof.last_fsync => {
                if !sync_in_progress {
                    if let Some(bio) = &self.aof.bio {
                        bio.submit(JobType::AofFsync, self.aof.fd);
                    }
                    self.aof.fsync_offset = self.aof.current_size;
                }
                self.aof.last_fsync = self.unixtime;
            }
            _ => {}
        }
    }

    /// The `-MISCONF` error for write commands (and PING) while the server
    /// cannot persist, if it cannot (`writeCommandsDeniedByDiskError` and
    /// `writeCommandsGetDiskErrorMessage`):
    /// - RDB: the last background save failed, save points are set and
    ///   `stop-writes-on-bgsave-error` is on (until a save succeeds);
    /// - AOF: a failed write, or a failed background fsync (Redis 6.2's
    ///   `aof_bio_fsync_status`), until a write or fsync succeeds.
    pub fn write_commands_denied_by_disk_error(&self) -> Option<String> {
        if !self.rdb.lastbgsave_ok && self.config.stop_writes_on_bgsave_err && !self.config.save_params.is_empty() {
            return Some(RDB_MISCONF.to_string());
        }
        if self.aof.state != AofStatus::On {
            return None;
        }
        let errno = if !self.aof.last_write_ok { self.aof.last_write_errno } else { self.aof_bio_fsync_errno() };
        if errno == 0 {
            return None;
        }
        let e = std::io::Error::from_raw_os_error(errno);
        Some(format!("-MISCONF Errors writing to the AOF file: {}", strerror(&e)))
    }

    /// errno of the last background fsync if it failed, else 0.
    pub fn aof_bio_fsync_errno(&self) -> i32 {
        self.aof.bio.as_ref().map(|b| b.last_fsync_errno.load(std::sync::atomic::Ordering::SeqCst) as i32).unwrap_or(0)
    }

    /// `aof_last_write_status` of INFO: ok only if the last write and the
    /// last background fsync both succeeded.
    pub fn aof_last_write_status_ok(&self) -> bool {
        self.aof.last_write_ok && self.aof_bio_fsync_errno() == 0
    }

    /// Opens the AOF and starts the bio threads at start-up
    /// (the AOF part of `initServer`).
    pub fn open_append_only_file(&mut self) -> Result<(), String> {
        if self.aof.bio.is_none() {
            self.aof.bio = Some(Bio::start().map_err(|e| format!("Can't start the bio threads: {}", e))?);
        }
        self.aof_remove_stale_temp_files();
        if !self.config.appendonly {
            return Ok(());
        }
        let fd = open_for_append(&self.config.appendfilename)
            .map_err(|e| format!("Can't open the append-only file: {}", strerror(&e)))?;
        self.aof.fd = fd;
        self.aof.state = AofStatus::On;
        self.aof.last_fsync = self.unixtime;
        Ok(())
    }

    /// Flushes and fsyncs the AOF (SHUTDOWN, CONFIG SET appendonly no).
    pub fn flush_and_fsync_aof(&mut self) {
        if self.aof.fd < 0 {
            return;
        }
        self.flush_append_only_file(true);
        if let Some(bio) = &self.aof.bio {
            bio.drain(JobType::AofFsync);
        }
        if let Err(e) = fsync(self.aof.fd) {
            log::warn!("Fail to fsync the AOF file: {}", strerror(&e));
        }
        self.aof.fsync_offset = self.aof.current_size;
    }

    /// Switches AOF off (`stopAppendOnly`): flush, fsync, close, and stop
    /// a running rewrite, whose result nobody would use.
    pub fn stop_append_only(&mut self) {
        if self.aof.state == AofStatus::Off {
            return;
        }
        self.flush_and_fsync_aof();
        crate::anet::close(self.aof.fd);
        self.aof.fd = -1;
        self.aof.selected_db = -1;
        self.aof.state = AofStatus::Off;
        self.aof.rewrite.scheduled = false;
        self.kill_append_only_child();
        self.aof.buf = Vec::new();
    }

    /// Switches AOF on (`startAppendOnly`): opens the file and starts a
    /// background rewrite; the AOF is written to only once that rewrite
    /// succeeded (`wait_rewrite`). While another kind of child runs the
    /// rewrite is scheduled; a running rewrite is restarted, since it has
    /// not been accumulating the diff.
    pub fn start_append_only(&mut self) -> Result<(), String> {
        if self.aof.bio.is_none() {
            self.aof.bio = Some(Bio::start().map_err(|e| format!("Can't start the bio threads: {}", e))?);
        }
        let path = self.config.appendfilename.clone();
        let newfd = match open_for_append(&path) {
            Ok(fd) => fd,
            Err(e) => {
                let cwd = std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_else(|_| "unknown".into());
                let msg = format!(
                    "Redis needs to enable the AOF but can't open the append only file {} (in server root dir {}): {}",
                    path,
                    cwd,
                    strerror(&e)
                );
                log::warn!("{}", msg);
                return Err(msg);
            }
        };
        if self.has_active_child_process() && self.child.child_type != crate::fork::ChildType::Aof {
            self.aof.rewrite.scheduled = true;
            log::warn!("AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.");
        } else {
            if self.child.child_type == crate::fork::ChildType::Aof {
                log::warn!("AOF was enabled but there is already an AOF rewriting in background. Stopping background AOF and starting a rewrite now.");
                self.kill_append_only_child();
            }
            if self.rewrite_append_only_file_background().is_err() {
                crate::anet::close(newfd);
                let msg = "Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error.";
                log::warn!("{}", msg);
                return Err(msg.to_string());
            }
        }
        self.aof.state = AofStatus::WaitRewrite;
        self.aof.last_fsync = self.unixtime;
        self.aof.fd = newfd;
        self.aof.selected_db = -1;
        self.aof.buf.clear();
        if let Some(bio) = &self.aof.bio {
            if bio.last_fsync_errno.swap(0, std::sync::atomic::Ordering::SeqCst) != 0 {
                log::warn!("AOF reopen, just ignore the AOF fsync error in bio job");
            }
        }
        if !self.aof.last_write_ok {
            log::warn!("AOF reopen, just ignore the last error.");
            self.aof.last_write_ok = true;
        }
        Ok(())
    }
}

/// How loading ended when it did not succeed.
#[derive(Debug)]
pub enum LoadError {
    /// The file is empty: start with an empty dataset.
    Empty,
    /// A fatal error; Redis's log line(s) were written, the server exits.
    Fatal,
}

/// Reads one `\n`-terminated line of at most 127 bytes, as Redis's
/// `fgets(buf, 128, fp)`. None at EOF with nothing read.
fn read_line<R: BufRead>(r: &mut R, out: &mut Vec<u8>) -> std::io::Result<Option<()>> {
    out.clear();
    while out.len() < 127 {
        let avail = r.fill_buf()?;
        if avail.is_empty() {
            break;
        }
        let take = avail.len().min(127 - out.len());
        match avail[..take].iter().position(|&b| b == b'\n') {
            Some(i) => {
                out.extend_from_slice(&avail[..=i]);
                r.consume(i + 1);
                return Ok(Some(()));
            }
            None => {
                out.extend_from_slice(&avail[..take]);
                r.consume(take);
            }
        }
    }
    Ok(if out.is_empty() { None } else { Some(()) })
}

/// `atoi`/`strtol` of the digits after the first byte of a header line.
fn header_number(line: &[u8]) -> i64 {
    let mut i = 1;
    let neg = line.get(1) == Some(&b'-');
    if neg || line.get(1) == Some(&b'+') {
        i += 1;
    }
    let mut n: i64 = 0;
    while i < line.len() && line[i].is_ascii_digit() {
        n = n.saturating_mul(10).saturating_add((line[i] - b'0') as i64);
        i += 1;
    }
    if neg {
        -n
    } else {
        n
    }
}

enum Step {
    Command(Argv),
    Eof,
    /// Ran out of bytes inside a command.
    Truncated,
    Format,
}

/// Reads the next command of an AOF (the body of Redis's loading loop).
fn read_command<R: BufRead>(r: &mut R, line: &mut Vec<u8>) -> std::io::Result<Step> {
    match read_line(r, line)? {
        None => return Ok(Step::Eof),
        Some(()) => {}
    }
    if line[0] != b'*' {
        return Ok(Step::Format);
    }
    if line.len() == 1 {
        return Ok(Step::Truncated);
    }
    let argc = header_number(line);
    if argc < 1 {
        return Ok(Step::Format);
    }
    let mut argv = Argv::new();
    let mut arg = Vec::new();
    for _ in 0..argc {
        if read_line(r, line)?.is_none() {
            return Ok(Step::Truncated);
        }
        if line[0] != b'$' {
            return Ok(Step::Format);
        }
        let len = header_number(line);
        if len < 0 {
            return Ok(Step::Format);
        }
        // Read as the bytes come: a damaged huge length must not allocate
        // more than the file holds.
        arg.clear();
        if len > 0 && (&mut *r).take(len as u64).read_to_end(&mut arg)? < len as usize {
            return Ok(Step::Truncated);
        }
        let mut crlf = [0u8; 2];
        if read_exact_or_eof(r, &mut crlf)? < 2 {
            return Ok(Step::Truncated);
        }
        argv.push(&arg);
    }
    Ok(Step::Command(argv))
}

fn read_exact_or_eof<R: Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Counts bytes consumed from the inner reader, for `valid_up_to`.
struct Counting<R> {
    inner: R,
    pos: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Server {
    /// Replays the AOF at `path` (`loadAppendOnlyFile`). As in Redis, the
    /// AOF is switched off meanwhile, so that nothing the replay does can be
    /// fed to the file being read (DEBUG LOADAOF runs with AOF on).
    pub fn load_append_only_file(&mut self, path: &str) -> Result<(), LoadError> {
        let old_state = self.aof.state;
        self.aof.state = AofStatus::Off;
        let res = self.load_append_only_file_inner(path);
        self.aof.state = old_state;
        self.also_propagate.clear();
        res
    }

    fn load_append_only_file_inner(&mut self, path: &str) -> Result<(), LoadError> {
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) => {
                log::warn!("Fatal error: can't open the append log file for reading: {}", strerror(&e));
                return Err(LoadError::Fatal);
            }
        };
        let total = file.metadata().map(|m| m.len()).unwrap_or(0);
        if total == 0 {
            self.aof.current_size = 0;
            self.aof.fsync_offset = 0;
            return Err(LoadError::Empty);
        }
        let start = std::time::Instant::now();
        self.start_loading(total);
        // An AOF written with aof-use-rdb-preamble starts with an RDB
        // snapshot; the commands follow it.
        let mut head = [0u8; 5];
        let mut file = file;
        let n = read_exact_or_eof(&mut file, &mut head).unwrap_or(0);
        let mut tail_start = 0u64;
        if n == 5 && &head == b"REDIS" {
            log::info!("Reading RDB preamble from AOF file...");
            let checksum = self.config.stored_bool("rdbchecksum").unwrap_or(true);
            let reader = crate::rdb_load::RdbReader::new(std::io::Cursor::new(head).chain(&mut file), total, checksum);
            let mut p = crate::rdb_load::RdbParser::new(reader, crate::rdb_load::Limits::from_config(&self.config));
            if self.rdb_load_rio(&mut p, crate::rdb_load::RDBFLAGS_AOF_PREAMBLE).is_err() {
                log::warn!("Error reading the RDB preamble of the AOF file, AOF loading aborted");
                self.stop_loading();
                return Err(LoadError::Fatal);
            }
            log::info!("Reading the remaining AOF tail...");
            tail_start = p.r.offset();
        }
        if let Err(e) = std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(tail_start)) {
            log::warn!("Unrecoverable error reading the append only file: {}", strerror(&e));
            self.stop_loading();
            return Err(LoadError::Fatal);
        }
        let mut r = BufReader::with_capacity(64 * 1024, Counting { inner: file, pos: tail_start });
        let mut fake = Client::new_fake();
        let mut line = Vec::with_capacity(128);
        let mut valid_up_to: u64 = tail_start;
        let mut valid_before_multi: u64 = tail_start;
        let mut multi: Option<Vec<Argv>> = None;
        let mut loops: u64 = 0;
        let truncated = loop {
            let pos_before = r.get_ref().pos - r.buffer().len() as u64;
            let _ = pos_before;
            let step = match read_command(&mut r, &mut line) {
                Ok(s) => s,
                Err(e) => {
                    log::warn!("Unrecoverable error reading the append only file: {}", strerror(&e));
                    self.stop_loading();
                    return Err(LoadError::Fatal);
                }
            };
            let argv = match step {
                Step::Eof => {
                    if multi.is_some() {
                        log::warn!("Revert incomplete MULTI/EXEC transaction in AOF file");
                        valid_up_to = valid_before_multi;
                        break true;
                    }
                    break false;
                }
                Step::Truncated => break true,
                Step::Format => {
                    // Redis logs no position; the offset saves a trip
                    // through the check tool.
                    log::warn!("Bad file format in the append only file after offset {} (the end of the last valid command)", valid_up_to);
                    log::warn!("Bad file format reading the append only file: make a backup of your AOF file, then use ./redis-check-aof --fix <filename>");
                    self.stop_loading();
                    return Err(LoadError::Fatal);
                }
                Step::Command(a) => a,
            };
            let name = argv.get(0);
            // MULTI/EXEC/DISCARD as Redis's fake client sees them: a nested
            // MULTI is an error without effect (it only moves the rollback
            // point), DISCARD drops the queue, EXEC or DISCARD without
            // MULTI are errors that loading ignores.
            if name.eq_ignore_ascii_case(b"multi") {
                valid_before_multi = valid_up_to;
                if multi.is_none() {
                    multi = Some(Vec::new());
                }
            } else if name.eq_ignore_ascii_case(b"discard") {
                multi = None;
            } else if name.eq_ignore_ascii_case(b"exec") {
                for queued in multi.take().unwrap_or_default() {
                    if !self.replay_command(&mut fake, queued) {
                        self.stop_loading();
                        return Err(LoadError::Fatal);
                    }
                }
            } else if let Some(q) = multi.as_mut() {
                if self.commands.lookup(name).is_none() {
                    log::warn!("Unknown command '{}' reading the append only file", String::from_utf8_lossy(name));
                    self.stop_loading();
                    return Err(LoadError::Fatal);
                }
                q.push(argv);
            } else if !self.replay_command(&mut fake, argv) {
                self.stop_loading();
                return Err(LoadError::Fatal);
            }
            valid_up_to = r.get_ref().pos - r.buffer().len() as u64;
            self.aof.loading_loaded_bytes = valid_up_to;
            loops += 1;
            if loops % LOADING_PROCESS_EVENTS_INTERVAL == 0 {
                self.process_events_while_blocked();
            }
            if self.config.key_load_delay > 0 {
                std::thread::sleep(std::time::Duration::from_micros(self.config.key_load_delay as u64));
            }
        };
        if truncated {
            if self.config.aof_load_truncated {
                log::warn!("!!! Warning: short read while loading the AOF file !!!");
                log::warn!("!!! Truncating the AOF at offset {} !!!", valid_up_to);
                match std::fs::OpenOptions::new().write(true).open(path).and_then(|f| f.set_len(valid_up_to)) {
                    Ok(()) => log::warn!("AOF loaded anyway because aof-load-truncated is enabled"),
                    Err(e) => {
                        log::warn!("Error truncating the AOF file: {}", strerror(&e));
                        self.unexpected_eof_message();
                        self.stop_loading();
                        return Err(LoadError::Fatal);
                    }
                }
            } else {
                self.unexpected_eof_message();
                self.stop_loading();
                return Err(LoadError::Fatal);
            }
        }
        self.stop_loading();
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(valid_up_to);
        self.aof.current_size = size;
        self.aof.base_size = size;
        self.aof.fsync_offset = size;
        log::info!("DB loaded from append only file: {:.3} seconds", start.elapsed().as_secs_f64());
        Ok(())
    }

    fn unexpected_eof_message(&self) {
        log::warn!("Unexpected end of file reading the append only file. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.");
    }

    /// Runs one command from the AOF through the fake client; false (after
    /// logging) for an unknown command.
    fn replay_command(&mut self, fake: &mut Client, argv: Argv) -> bool {
        let Some(idx) = self.commands.lookup(argv.get(0)) else {
            log::warn!("Unknown command '{}' reading the append only file", String::from_utf8_lossy(argv.get(0)));
            return false;
        };
        fake.argv = argv;
        fake.cmd = Some(idx);
        let proc_ = self.commands.cmds[idx].proc_;
        proc_(self, fake);
        // Nothing of a replayed command is propagated.
        fake.rewritten = None;
        self.also_propagate.clear();
        fake.errors.clear();
        fake.argv.clear();
        true
    }

    pub(crate) fn start_loading(&mut self, total: u64) {
        self.loading = true;
        self.aof.loading_start = self.unixtime;
        self.aof.loading_total_bytes = total;
        self.aof.loading_loaded_bytes = 0;
    }

    pub(crate) fn stop_loading(&mut self) {
        self.loading = false;
    }

    /// Loads the dataset at start-up (`loadDataFromDisk`): the AOF when it
    /// is on, else `dbfilename` if it exists. Returns false if the server
    /// must exit.
    pub fn load_data_from_disk(&mut self) -> bool {
        if self.aof.state == AofStatus::On {
            let path = self.config.appendfilename.clone();
            return match self.load_append_only_file(&path) {
                Ok(()) | Err(LoadError::Empty) => true,
                Err(LoadError::Fatal) => false,
            };
        }
        let start = std::time::Instant::now();
        let path = self.config.dbfilename.clone();
        match self.rdb_load(&path, crate::rdb_load::RDBFLAGS_NONE) {
            Ok(()) => {
                log::info!("DB loaded from disk: {:.3} seconds", start.elapsed().as_secs_f64());
                true
            }
            Err(crate::rdb_load::RdbLoadError::Open(e)) if e.kind() == std::io::ErrorKind::NotFound => true,
            Err(crate::rdb_load::RdbLoadError::Open(e)) => {
                log::warn!("Fatal error loading the DB: {}. Exiting.", strerror(&e));
                false
            }
            Err(crate::rdb_load::RdbLoadError::Invalid(_)) => {
                log::warn!("Fatal error loading the DB: Invalid argument. Exiting.");
                false
            }
            Err(crate::rdb_load::RdbLoadError::Corrupt) => {
                crate::check_rdb::check_after_load_failure(&path);
                log::warn!("Terminating server after rdb file reading failure.");
                false
            }
            Err(crate::rdb_load::RdbLoadError::TooManyDbs) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn generic_and_translated_feeds() {
        let mut s = Server::new(crate::config::Config::with_defaults()).unwrap();
        s.mstime = 1_000_000;
        s.aof.state = AofStatus::On;
        s.feed_append_only_file(0, &Argv::from_slices(&["SET", "k", "v"]));
        s.feed_append_only_file(0, &Argv::from_slices(&["expire", "k", "10"]));
        s.feed_append_only_file(1, &Argv::from_slices(&["SETEX", "k", "5", "v"]));
        s.feed_append_only_file(1, &Argv::from_slices(&["set", "k", "v", "PX", "100"]));
        s.feed_append_only_file(1, &Argv::from_slices(&["EXPIREAT", "k", "7"]));
        let text = String::from_utf8(s.aof.buf.clone()).unwrap();
        let expect = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n\
*3\r\n$9\r\nPEXPIREAT\r\n$1\r\nk\r\n$7\r\n1010000\r\n\
*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$4\r\nPXAT\r\n$7\r\n1005000\r\n\
*5\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n$4\r\nPXAT\r\n$7\r\n1000100\r\n\
*3\r\n$9\r\nPEXPIREAT\r\n$1\r\nk\r\n$4\r\n7000\r\n";
        assert_eq!(text, expect);
    }

    #[test]
    fn failed_background_fsync_denies_writes_until_one_succeeds() {
        let mut s = Server::new(crate::config::Config::with_defaults()).unwrap();
        s.aof.bio = Some(Bio::start().unwrap());
        s.aof.state = AofStatus::On;
        assert_eq!(s.write_commands_denied_by_disk_error(), None);
        assert!(s.aof_last_write_status_ok());
        let errno = Arc::clone(&s.aof.bio.as_ref().unwrap().last_fsync_errno);
        errno.store(libc::EIO as usize, std::sync::atomic::Ordering::SeqCst);
        let msg = s.write_commands_denied_by_disk_error().unwrap();
        assert!(msg.starts_with("-MISCONF Errors writing to the AOF file: Input/output error"), "{}", msg);
        assert!(!s.aof_last_write_status_ok());
        // A good fsync clears it.
        let path = std::env::temp_dir().join(format!("oxredis-aof-fsync-{}", std::process::id()));
        let f = std::fs::File::create(&path).unwrap();
        let fd = std::os::unix::io::AsRawFd::as_raw_fd(&f);
        s.aof.bio.as_ref().unwrap().submit(JobType::AofFsync, fd);
        s.aof.bio.as_ref().unwrap().drain(JobType::AofFsync);
        assert_eq!(s.write_commands_denied_by_disk_error(), None);
        assert!(s.aof_last_write_status_ok());
        // With AOF off nothing is refused.
        errno.store(libc::EIO as usize, std::sync::atomic::Ordering::SeqCst);
        s.aof.state = AofStatus::Off;
        assert_eq!(s.write_commands_denied_by_disk_error(), None);
        drop(f);
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn failed_bgsave_denies_writes_only_with_save_points_and_stop_writes() {
        let mut s = Server::new(crate::config::Config::with_defaults()).unwrap();
        assert_eq!(s.write_commands_denied_by_disk_error(), None);
        s.rdb.lastbgsave_ok = false;
        assert_eq!(s.write_commands_denied_by_disk_error().as_deref(), Some(RDB_MISCONF));
        assert!(RDB_MISCONF.contains("unable to persist to disk. Commands that may modify"));
        assert!(RDB_MISCONF.contains("during writes if RDB snapshotting fails (stop-writes"));
        s.config.stop_writes_on_bgsave_err = false;
        assert_eq!(s.write_commands_denied_by_disk_error(), None);
        s.config.stop_writes_on_bgsave_err = true;
        s.config.save_params.clear();
        assert_eq!(s.write_commands_denied_by_disk_error(), None);
    }

    #[test]
    fn reader_classifies_damage() {
        let mut line = Vec::new();
        let mut ok = BufReader::new(&b"*1\r\n$4\r\nPING\r\n"[..]);
        assert!(matches!(read_command(&mut ok, &mut line).unwrap(), Step::Command(_)));
        assert!(matches!(read_command(&mut ok, &mut line).unwrap(), Step::Eof));
        let mut t = BufReader::new(&b"*2\r\n$3\r\nGET\r\n$3\r\nab"[..]);
        assert!(matches!(read_command(&mut t, &mut line).unwrap(), Step::Truncated));
        let mut f = BufReader::new(&b"garbage\r\n"[..]);
        assert!(matches!(read_command(&mut f, &mut line).unwrap(), Step::Format));
        let mut f2 = BufReader::new(&b"*1\r\nXX\r\n"[..]);
        assert!(matches!(read_command(&mut f2, &mut line).unwrap(), Step::Format));
    }
}
