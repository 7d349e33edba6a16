//! The background AOF rewrite (the rewrite half of aof.c, Redis 5.0–6.2).
//!
//! This is how rewriting the append only file in background works:
//!
//! 1. A trigger: BGREWRITEAOF, the cron's auto-rewrite rule, CONFIG SET
//!    appendonly yes, or a rewrite scheduled while another child ran.
//!    `rewrite_append_only_file_background` creates three pipes
//!    (`aof_create_pipes`): data parent → child (non-blocking both ends),
//!    ack child → parent (watched by a readable file event), ack parent →
//!    child. Then it forks.
//! 2. The parent sets `aof_selected_db = -1`, so the diff starts with a
//!    SELECT, and from now on every propagated command goes to `aof_buf`
//!    *and* to the rewrite buffer, a list of 10 MiB blocks
//!    (`aof_rewrite_buffer_append`). While the buffer holds data and the
//!    child has not asked to stop, the data pipe has a writable file event
//!    (`aof_child_write_diff_data`) that moves it into the pipe.
//! 3. The child (`rewrite_append_only_file`) writes
//!    `temp-rewriteaof-<pid>.aof`: per db a SELECT, per key the shortest
//!    commands that rebuild it (at most 64 items per variadic command,
//!    PEXPIREAT for a TTL). Every 10 KiB of output it reads what the
//!    parent sent into its own diff buffer (`aof_read_diff_from_parent`),
//!    and with `aof-rewrite-incremental-fsync` it fsyncs every 32 MiB.
//! 4. Done with the snapshot it fsyncs, reads more diff for up to 1 s
//!    (stopping after 20 polls of 1 ms without data), writes `!` to the
//!    parent, waits up to 5 s for the parent's `!`, reads the last diff,
//!    appends the diff to the file, fsyncs, renames the file to
//!    `temp-rewriteaof-bg-<pid>.aof`, reports its copy-on-write size and
//!    exits 0 (1 after unlinking its temp file on any error).
//! 5. The parent, on the child's `!` (`aof_child_pipe_readable`), sets
//!    `aof_stop_sending_diff`, answers `!` and drops the read event: from
//!    then on the diff stays in the rewrite buffer.
//! 6. The cron reaps the child and runs `background_rewrite_done_handler`:
//!    it appends the rest of the rewrite buffer to the child's file, fsyncs
//!    per policy, renames it over `appendfilename`, switches the AOF file
//!    descriptor, and closes the old one in a bio thread. On failure the
//!    temp files go and the old AOF stays. Either way pipes and buffers
//!    are released.
//!
//! With `aof-use-rdb-preamble yes` (the default) the child writes the
//! snapshot as an RDB file (AUX `aof-preamble 1`, EOF and checksum) and
//! the diff after it as commands; loading reads the RDB part and goes on
//! with the commands (aof.rs).

use std::collections::VecDeque;
use std::io::Write;
use std::os::unix::io::{AsRawFd, RawFd};

use crate::ae::{AE_READABLE, AE_WRITABLE};
use crate::aof::AofStatus;
use crate::bio::JobType;
use crate::childinfo::ChildInfoType;
use crate::client::Client;
use crate::config::{AOF_FSYNC_ALWAYS, AOF_FSYNC_EVERYSEC};
use crate::db::Db;
use crate::fork::{exit_from_child, ChildType, Forked};
use crate::object::Value;
use crate::server::{strerror, Server};

/// Size of one rewrite-buffer block (`AOF_RW_BUF_BLOCK_SIZE`).
pub const AOF_RW_BUF_BLOCK_SIZE: usize = 10 * 1024 * 1024;
/// The child reads the diff every this many bytes of output
/// (`AOF_READ_DIFF_INTERVAL_BYTES`).
const AOF_READ_DIFF_INTERVAL_BYTES: u64 = 10 * 1024;
/// The final diff reads stop early once a window of this many ms brings
/// less than `AOF_DIFF_WINDOW_MIN_BYTES` (the parent has no backlog).
const AOF_DIFF_WINDOW_MS: i64 = 10;
const AOF_DIFF_WINDOW_MIN_BYTES: usize = 64 * 1024;
/// fsync the temp file every this many bytes (`REDIS_AUTOSYNC_BYTES`).
const REDIS_AUTOSYNC_BYTES: u64 = 32 * 1024 * 1024;
/// Items per command in a rewritten AOF (`AOF_REWRITE_ITEMS_PER_CMD`).
pub const AOF_REWRITE_ITEMS_PER_CMD: usize = 64;
/// The child's output buffer (stdio's role in Redis).
const RIO_BUFFER: usize = 64 * 1024;

/// One block of the rewrite buffer (`aofrwblock`): bytes in
/// `buf[sent..]` are still to be sent to the child.
pub struct AofRwBlock {
    buf: Vec<u8>,
    sent: usize,
}

impl AofRwBlock {
    fn new() -> AofRwBlock {
        AofRwBlock { buf: Vec::with_capacity(AOF_RW_BUF_BLOCK_SIZE), sent: 0 }
    }
    fn used(&self) -> usize {
        self.buf.len() - self.sent
    }
    fn free(&self) -> usize {
        AOF_RW_BUF_BLOCK_SIZE - self.buf.len()
    }
}

/// State of the rewrite, parent and child side (the `aof_rewrite_*`,
/// `aof_pipe_*` and `aof_child_diff` fields of `redisServer`).
pub struct AofRewrite {
    /// The rewrite buffer (`aof_rewrite_buf_blocks`).
    pub buf_blocks: VecDeque<AofRwBlock>,
    pub pipe_write_data_to_child: RawFd,
    pub pipe_read_data_from_parent: RawFd,
    pub pipe_write_ack_to_parent: RawFd,
    pub pipe_read_ack_from_child: RawFd,
    pub pipe_write_ack_to_child: RawFd,
    pub pipe_read_ack_from_parent: RawFd,
    /// The child asked for no more diff (`aof_stop_sending_diff`).
    pub stop_sending_diff: bool,
    /// In the child: the diff read from the parent (`aof_child_diff`).
    pub child_diff: Vec<u8>,
    /// Start a rewrite as soon as no child runs (`aof_rewrite_scheduled`).
    pub scheduled: bool,
    /// Unix seconds the running rewrite started, -1 (`aof_rewrite_time_start`).
    pub time_start: i64,
    /// Seconds the last rewrite took, -1 (`aof_rewrite_time_last`).
    pub time_last: i64,
    /// `aof_lastbgrewrite_status`.
    pub lastbgrewrite_ok: bool,
    /// Copy-on-write of the last rewrite child (`stat_aof_cow_bytes`).
    pub stat_aof_cow_bytes: u64,
}

impl Default for AofRewrite {
    fn default() -> Self {
        AofRewrite {
            buf_blocks: VecDeque::new(),
            pipe_write_data_to_child: -1,
            pipe_read_data_from_parent: -1,
            pipe_write_ack_to_parent: -1,
            pipe_read_ack_from_child: -1,
            pipe_write_ack_to_child: -1,
            pipe_read_ack_from_parent: -1,
            stop_sending_diff: false,
            child_diff: Vec::new(),
            scheduled: false,
            time_start: -1,
            time_last: -1,
            lastbgrewrite_ok: true,
            stat_aof_cow_bytes: 0,
        }
    }
}

impl AofRewrite {
    /// Bytes in the rewrite buffer not yet sent to the child
    /// (`aofRewriteBufferSize`).
    pub fn buffer_size(&self) -> usize {
        self.buf_blocks.iter().map(|b| b.used()).sum()
    }

    /// Appends `s`, filling the last block and adding 10 MiB blocks as
    /// needed; logs each time the block count crosses another 10 (notice)
    /// or 100 (warning) blocks. Returns nothing: the caller installs the
    /// writable event.
    fn append(&mut self, mut s: &[u8]) {
        while !s.is_empty() {
            if let Some(block) = self.buf_blocks.back_mut() {
                let thislen = block.free().min(s.len());
                if thislen > 0 {
                    block.buf.extend_from_slice(&s[..thislen]);
                    s = &s[thislen..];
                }
            }
            if !s.is_empty() {
                self.buf_blocks.push_back(AofRwBlock::new());
                let numblocks = self.buf_blocks.len();
                if (numblocks + 1) % 10 == 0 {
                    let mb = self.buffer_size() / (1024 * 1024);
                    if (numblocks + 1) % 100 == 0 {
                        log::warn!("Background AOF buffer size: {} MB", mb);
                    } else {
                        log::info!("Background AOF buffer size: {} MB", mb);
                    }
                }
            }
        }
    }

    /// Frees the buffer (`aofRewriteBufferReset`).
    fn reset(&mut self) {
        self.buf_blocks = VecDeque::new();
    }
}

/// Writes all of `buf` to `fd`, retrying short writes and EINTR.
fn write_all_fd(fd: RawFd, mut buf: &[u8]) -> std::io::Result<()> {
    while !buf.is_empty() {
        match crate::anet::write(fd, buf) {
            Ok(0) => return Err(std::io::Error::from_raw_os_error(libc::EIO)),
            Ok(n) => buf = &buf[n..],
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn fdatasync(fd: RawFd) -> std::io::Result<()> {
    // SAFETY: fdatasync on a descriptor we own.
    if unsafe { libc::fdatasync(fd) } == -1 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Waits up to `ms` for `fd` to be readable (`aeWait`, without the
/// reactor: the child must not touch it). True when readable or closed.
fn wait_readable(fd: RawFd, ms: i32) -> bool {
    let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: poll on one pollfd we own.
    let r = unsafe { libc::poll(&mut pfd, 1, ms) };
    r > 0
}

/// Reads exactly `buf.len()` bytes within `timeout_ms`, polling a
/// non-blocking fd (`syncRead`). ETIMEDOUT when time runs out.
fn sync_read(fd: RawFd, buf: &mut [u8], timeout_ms: i64) -> std::io::Result<usize> {
    const SYNCIO_RESOLUTION: i64 = 10;
    let start = crate::util::mstime();
    let mut remaining = timeout_ms;
    let mut got = 0;
    if buf.is_empty() {
        return Ok(0);
    }
    loop {
        let wait = remaining.max(SYNCIO_RESOLUTION);
        match crate::anet::read(fd, &mut buf[got..]) {
            Ok(0) => return Err(std::io::Error::from_raw_os_error(libc::EPIPE)),
            Ok(n) => got += n,
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) || e.raw_os_error() == Some(libc::EINTR) => {}
            Err(e) => return Err(e),
        }
        if got == buf.len() {
            return Ok(got);
        }
        wait_readable(fd, wait.min(i32::MAX as i64) as i32);
        let elapsed = crate::util::mstime() - start;
        if elapsed >= timeout_ms {
            return Err(std::io::Error::from_raw_os_error(libc::ETIMEDOUT));
        }
        remaining = timeout_ms - elapsed;
    }
}

/// Sleeps `usec` µs, or with a negative value 1 µs with probability
/// 1/|usec| (`debugDelay`, behind `rdb-key-save-delay`).
pub fn debug_delay(usec: i64) {
    if usec < 0 {
        if crate::util::random_u64() % usec.unsigned_abs() != 0 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_micros(1));
    } else if usec > 0 {
        std::thread::sleep(std::time::Duration::from_micros(usec as u64));
    }
}

/// The child's buffered output file (rio on a stdio FILE): counts the
/// bytes written and fsyncs every `autosync` bytes when asked.
struct Rio {
    file: std::fs::File,
    buf: Vec<u8>,
    processed_bytes: u64,
    autosync: u64,
    buffered: u64,
}

/// The rewrite child's bookkeeping after each key: read the diff every
/// `AOF_READ_DIFF_INTERVAL_BYTES` of output (so the parent's buffer stays
/// small), report progress to the parent every second.
struct ChildProgress {
    processed: u64,
    key_count: u64,
    updated_time: i64,
}

impl ChildProgress {
    fn new() -> Self {
        ChildProgress { processed: 0, key_count: 0, updated_time: crate::util::mstime() }
    }

    fn key_done(&mut self, s: &mut Server, written: u64) {
        if written > self.processed + AOF_READ_DIFF_INTERVAL_BYTES {
            self.processed = written;
            s.aof_read_diff_from_parent();
        }
        if self.key_count & 1023 == 0 {
            let t = crate::util::mstime();
            if t - self.updated_time >= 1000 {
                s.send_child_info(ChildInfoType::CurrentInfo, self.key_count, "AOF rewrite");
                self.updated_time = t;
            }
        }
        self.key_count += 1;
    }
}

/// So the RDB writer can write an AOF's preamble through it.
impl Write for Rio {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        Rio::write(self, b)?;
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Rio {
    fn new(file: std::fs::File, autosync: u64) -> Rio {
        Rio { file, buf: Vec::with_capacity(RIO_BUFFER), processed_bytes: 0, autosync, buffered: 0 }
    }

    #[inline]
    fn maybe_flush(&mut self) -> std::io::Result<()> {
        if self.buf.len() >= RIO_BUFFER {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the buffer out; fsyncs when `autosync` bytes accumulated
    /// since the last fsync (`rioFileWrite`'s autosync).
    fn flush(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            self.file.write_all(&self.buf)?;
            self.buffered += self.buf.len() as u64;
            self.buf.clear();
        }
        if self.autosync > 0 && self.buffered >= self.autosync {
            fdatasync(self.file.as_raw_fd())?;
            self.buffered = 0;
        }
        Ok(())
    }

    fn write(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.buf.extend_from_slice(b);
        self.processed_bytes += b.len() as u64;
        self.maybe_flush()
    }

    /// `*<n>\r\n` (`rioWriteBulkCount`).
    fn write_bulk_count(&mut self, n: usize) -> std::io::Result<()> {
        let mut ib = itoa::Buffer::new();
        let s = ib.format(n).as_bytes();
        let before = self.buf.len();
        self.buf.push(b'*');
        self.buf.extend_from_slice(s);
        self.buf.extend_from_slice(b"\r\n");
        self.processed_bytes += (self.buf.len() - before) as u64;
        self.maybe_flush()
    }

    /// `$<len>\r\n<s>\r\n` (`rioWriteBulkString`).
    fn write_bulk_string(&mut self, s: &[u8]) -> std::io::Result<()> {
        let mut ib = itoa::Buffer::new();
        let before = self.buf.len();
        self.buf.push(b'$');
        self.buf.extend_from_slice(ib.format(s.len()).as_bytes());
        self.buf.extend_from_slice(b"\r\n");
        self.buf.extend_from_slice(s);
        self.buf.extend_from_slice(b"\r\n");
        self.processed_bytes += (self.buf.len() - before) as u64;
        self.maybe_flush()
    }

    fn write_bulk_long_long(&mut self, v: i64) -> std::io::Result<()> {
        let mut ib = itoa::Buffer::new();
        self.write_bulk_string(ib.format(v).as_bytes())
    }

    /// A score as `%.17g` (`rioWriteBulkDouble`).
    fn write_bulk_double(&mut self, d: f64) -> std::io::Result<()> {
        self.write_bulk_string(crate::util::fmt_g17(d).as_bytes())
    }

    /// Starts one batch of a variadic command when `count` is 0.
    fn batch_header(&mut self, count: usize, items: usize, per_item: usize, cmd: &[u8], key: &[u8]) -> std::io::Result<()> {
        if count == 0 {
            let cmd_items = items.min(AOF_REWRITE_ITEMS_PER_CMD);
            self.write_bulk_count(2 + cmd_items * per_item)?;
            self.write_bulk_string(cmd)?;
            self.write_bulk_string(key)?;
        }
        Ok(())
    }
}

/// Emits the commands that rebuild one value (`rewriteListObject`,
/// `rewriteSetObject`, `rewriteSortedSetObject`, `rewriteHashObject` and
/// the string case of `rewriteAppendOnlyFileRio`).
fn rewrite_object(r: &mut Rio, key: &[u8], v: &Value) -> std::io::Result<()> {
    let mut nb = itoa::Buffer::new();
    // Counts items of the current batch; a new header every 64.
    macro_rules! batched {
        ($cmd:expr, $items:expr, $per:expr, $iter:expr, |$r:ident, $e:pat_param| $emit:block) => {{
            let mut items = $items;
            let mut count = 0usize;
            for $e in $iter {
                let $r = &mut *r;
                $r.batch_header(count, items, $per, $cmd, key)?;
                $emit
                count += 1;
                if count == AOF_REWRITE_ITEMS_PER_CMD {
                    count = 0;
                }
                items -= 1;
            }
        }};
    }
    match v {
        Value::Str(s) => {
            r.write(b"*3\r\n$3\r\nSET\r\n")?;
            r.write_bulk_string(key)?;
            r.write_bulk_string(s.as_bytes(&mut nb))?;
        }
        Value::List(q) => batched!(b"RPUSH", q.len(), 1, q.iter(), |r, e| {
            r.write_bulk_string(e.as_bytes(&mut nb))?;
        }),
        Value::SetInt(set) => batched!(b"SADD", set.len(), 1, set.iter(), |r, e| {
            r.write_bulk_long_long(e)?;
        }),
        Value::SetHt(set) => batched!(b"SADD", set.len(), 1, set.keys(), |r, m| {
            r.write_bulk_string(m)?;
        }),
        Value::HashZl(z) => {
            let mut it = z.iter();
            let pairs = std::iter::from_fn(move || match (it.next(), it.next()) {
                (Some(f), Some(v)) => Some((f, v)),
                _ => None,
            });
            let mut vb = itoa::Buffer::new();
            batched!(b"HMSET", z.len() / 2, 2, pairs, |r, (f, v)| {
                r.write_bulk_string(f.as_bytes(&mut nb))?;
                r.write_bulk_string(v.as_bytes(&mut vb))?;
            })
        }
        Value::HashHt(h) => batched!(b"HMSET", h.len(), 2, h.iter(), |r, (f, v)| {
            r.write_bulk_string(f)?;
            r.write_bulk_string(v)?;
        }),
        // The ziplist holds member then score; ZADD wants score then member.
        Value::ZsetZl(z) => {
            let mut it = z.iter();
            let pairs = std::iter::from_fn(move || match (it.next(), it.next()) {
                (Some(m), Some(s)) => Some((m, s)),
                _ => None,
            });
            batched!(b"ZADD", z.len() / 2, 2, pairs, |r, (m, sc)| {
                let score = match sc {
                    crate::ziplist::ZlEntry::Int(v) => v as f64,
                    crate::ziplist::ZlEntry::Str(b) => crate::util::strtod_exact(b).unwrap_or(0.0),
                };
                r.write_bulk_double(score)?;
                r.write_bulk_string(m.as_bytes(&mut nb))?;
            })
        }
        Value::ZsetSl(z) => batched!(b"ZADD", z.len(), 2, z.iter(), |r, (m, sc)| {
            r.write_bulk_double(sc)?;
            r.write_bulk_string(m)?;
        }),
    }
    Ok(())
}

/// Removes a file without blocking on the unlink of a big file: the last
/// close happens in a bio thread (`bg_unlink`).
fn bg_unlink(path: &str, bio: Option<&crate::bio::Bio>) {
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::IntoRawFd;
    let f = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC).open(path);
    let _ = std::fs::remove_file(path);
    if let Ok(f) = f {
        match bio {
            Some(b) => b.submit(JobType::CloseFile, f.into_raw_fd()),
            None => drop(f),
        }
    }
}

/// True if `name` is a temp file of a rewrite child with pid `pid`.
fn temp_file_pid(name: &str) -> Option<i32> {
    let rest = name.strip_prefix("temp-rewriteaof-")?;
    let rest = rest.strip_prefix("bg-").unwrap_or(rest);
    let digits = rest.strip_suffix(".aof")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

impl Server {
    /// Appends the bytes `aof.buf[start..]`, just fed, to the rewrite
    /// buffer and makes sure the data pipe is watched
    /// (`aofRewriteBufferAppend`).
    pub fn aof_rewrite_buffer_append(&mut self, start: usize) {
        let aof = &mut self.aof;
        aof.rewrite.append(&aof.buf[start..]);
        let fd = aof.rewrite.pipe_write_data_to_child;
        if !aof.rewrite.stop_sending_diff && fd != -1 && self.el.get_file_events(fd) == 0 {
            let _ = self.el.create_file_event(fd, AE_WRITABLE, crate::ae::FileProc::RewriteDataToChild);
        }
    }

    /// The writable handler of the data pipe: sends blocks until the pipe
    /// is full or the buffer empty (`aofChildWriteDiffData`).
    pub fn aof_child_write_diff_data(&mut self) {
        let fd = self.aof.rewrite.pipe_write_data_to_child;
        loop {
            let rw = &mut self.aof.rewrite;
            let nblocks = rw.buf_blocks.len();
            let Some(block) = rw.buf_blocks.front_mut() else {
                self.el.delete_file_event(fd, AE_WRITABLE);
                return;
            };
            if rw.stop_sending_diff {
                self.el.delete_file_event(fd, AE_WRITABLE);
                return;
            }
            if block.used() > 0 {
                match crate::anet::write(fd, &block.buf[block.sent..]) {
                    Ok(n) if n > 0 => block.sent += n,
                    // Full pipe: the next edge comes when the child reads.
                    _ => return,
                }
            }
            if block.used() == 0 {
                if nblocks == 1 {
                    // Keep the last block for what comes next.
                    block.buf.clear();
                    block.sent = 0;
                    self.el.delete_file_event(fd, AE_WRITABLE);
                    return;
                }
                rw.buf_blocks.pop_front();
            }
        }
    }

    /// The readable handler of the child → parent ack pipe: the child asks
    /// to stop sending diff (`aofChildPipeReadable`).
    pub fn aof_child_pipe_readable(&mut self, fd: RawFd) {
        let mut byte = [0u8; 1];
        if matches!(crate::anet::read(fd, &mut byte), Ok(1)) && byte[0] == b'!' {
            log::info!("AOF rewrite child asks to stop sending diffs.");
            self.aof.rewrite.stop_sending_diff = true;
            if let Err(e) = crate::anet::write(self.aof.rewrite.pipe_write_ack_to_child, b"!") {
                // The child uses a timeout, so do not try again.
                log::warn!("Can't send ACK to AOF child: {}", strerror(&e));
            }
        }
        // Called once per rewrite.
        self.el.delete_file_event(self.aof.rewrite.pipe_read_ack_from_child, AE_READABLE);
    }

    /// Creates the three pipes and watches the child's ack
    /// (`aofCreatePipes`).
    fn aof_create_pipes(&mut self) -> Result<(), ()> {
        let mut fds = [-1 as RawFd; 6];
        let res = (|| -> std::io::Result<()> {
            for j in 0..3 {
                // SAFETY: pipe2 writes two fds into the array we own.
                if unsafe { libc::pipe2(fds[j * 2..].as_mut_ptr(), libc::O_CLOEXEC) } == -1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            crate::anet::set_nonblock(fds[0])?;
            crate::anet::set_nonblock(fds[1])?;
            self.el.create_file_event(fds[2], AE_READABLE, crate::ae::FileProc::RewriteAckFromChild)?;
            Ok(())
        })();
        if let Err(e) = res {
            log::warn!("Error opening /setting AOF rewrite IPC pipes: {}", strerror(&e));
            for fd in fds {
                if fd != -1 {
                    crate::anet::close(fd);
                }
            }
            return Err(());
        }
        let rw = &mut self.aof.rewrite;
        rw.pipe_write_data_to_child = fds[1];
        rw.pipe_read_data_from_parent = fds[0];
        rw.pipe_write_ack_to_parent = fds[3];
        rw.pipe_read_ack_from_child = fds[2];
        rw.pipe_write_ack_to_child = fds[5];
        rw.pipe_read_ack_from_parent = fds[4];
        rw.stop_sending_diff = false;
        Ok(())
    }

    /// Stops watching and closes the six pipe ends (`aofClosePipes`).
    fn aof_close_pipes(&mut self) {
        let rw = &self.aof.rewrite;
        if rw.pipe_read_ack_from_child != -1 {
            self.el.delete_file_event(rw.pipe_read_ack_from_child, AE_READABLE);
        }
        if rw.pipe_write_data_to_child != -1 {
            self.el.delete_file_event(rw.pipe_write_data_to_child, AE_WRITABLE);
        }
        let rw = &mut self.aof.rewrite;
        for fd in [
            &mut rw.pipe_write_data_to_child,
            &mut rw.pipe_read_data_from_parent,
            &mut rw.pipe_write_ack_to_parent,
            &mut rw.pipe_read_ack_from_child,
            &mut rw.pipe_write_ack_to_child,
            &mut rw.pipe_read_ack_from_parent,
        ] {
            if *fd != -1 {
                crate::anet::close(*fd);
                *fd = -1;
            }
        }
    }

    /// Forks the rewrite child (`rewriteAppendOnlyFileBackground`). In the
    /// parent returns whether it started; the child never returns.
    pub fn rewrite_append_only_file_background(&mut self) -> Result<(), ()> {
        if self.has_active_child_process() {
            return Err(());
        }
        self.aof_create_pipes()?;
        match self.redis_fork(ChildType::Aof) {
            Ok(Forked::Child) => {
                let title = self.child_proc_title("oxredis-aof-rewrite");
                crate::fork::set_proc_title(&title, self.config.set_proc_title);
                let pid = std::process::id();
                let tmpfile = format!("temp-rewriteaof-bg-{}.aof", pid);
                let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    self.rewrite_append_only_file(&tmpfile).is_ok()
                }));
                match ok {
                    Ok(true) => {
                        self.send_child_info(ChildInfoType::AofCowSize, 0, "AOF rewrite");
                        exit_from_child(0)
                    }
                    Ok(false) => exit_from_child(1),
                    Err(_) => {
                        let _ = std::fs::remove_file(format!("temp-rewriteaof-{}.aof", pid));
                        let _ = std::fs::remove_file(&tmpfile);
                        exit_from_child(1)
                    }
                }
            }
            Ok(Forked::Parent(childpid)) => {
                log::info!("Background append only file rewriting started by pid {}", childpid);
                self.aof.rewrite.scheduled = false;
                self.aof.rewrite.time_start = crate::util::ustime() / 1_000_000;
                // The diff must start with a SELECT to be safe to append.
                self.aof.selected_db = -1;
                Ok(())
            }
            Err(e) => {
                log::warn!("Can't rewrite append only file in background: fork: {}", strerror(&e));
                self.aof_close_pipes();
                Err(())
            }
        }
    }

    /// In the child: reads whatever the parent sent (`aofReadDiffFromParent`).
    fn aof_read_diff_from_parent(&mut self) -> usize {
        let mut buf = [0u8; 65536];
        let mut total = 0;
        let fd = self.aof.rewrite.pipe_read_data_from_parent;
        while let Ok(n) = crate::anet::read(fd, &mut buf) {
            if n == 0 {
                break;
            }
            self.aof.rewrite.child_diff.extend_from_slice(&buf[..n]);
            total += n;
        }
        total
    }

    /// In the child: the dataset as commands (`rewriteAppendOnlyFileRio`).
    /// Keys already expired are left out.
    fn rewrite_append_only_file_rio(&mut self, r: &mut Rio, dbs: &[Db]) -> std::io::Result<()> {
        let mut progress = ChildProgress::new();
        let now = crate::util::mstime();
        for db in dbs {
            if db.size() == 0 {
                continue;
            }
            r.write(b"*2\r\n$6\r\nSELECT\r\n")?;
            r.write_bulk_long_long(db.id as i64)?;
            for (k, o) in db.dict.iter() {
                let expiretime = db.get_expire(k);
                if matches!(expiretime, Some(w) if w < now) {
                    continue;
                }
                rewrite_object(r, k, &o.val)?;
                if let Some(w) = expiretime {
                    r.write(b"*3\r\n$9\r\nPEXPIREAT\r\n")?;
                    r.write_bulk_string(k)?;
                    r.write_bulk_long_long(w)?;
                }
                progress.key_done(self, r.processed_bytes);
                if self.config.rdb_key_save_delay != 0 {
                    debug_delay(self.config.rdb_key_save_delay);
                }
            }
        }
        Ok(())
    }

    /// In the child: the dataset as an RDB snapshot with `aof-preamble 1`
    /// (`rdbSaveRio` with `RDBFLAGS_AOF_PREAMBLE`), reading the diff every
    /// `AOF_READ_DIFF_INTERVAL_BYTES` as the pure-AOF form does.
    fn rewrite_rdb_preamble(&mut self, r: &mut Rio, dbs: &[Db]) -> std::io::Result<()> {
        let params = self.rdb_save_params();
        let checksum = self.config.stored_bool("rdbchecksum").unwrap_or(true);
        let mut progress = ChildProgress::new();
        let mut rr = crate::rdb::Rio::new(&mut *r, checksum);
        crate::rdb::rdb_save_dbs(&mut rr, dbs, &params, true, |written| progress.key_done(self, written))?;
        let ck = if checksum { rr.cksum } else { 0 };
        rr.write(&ck.to_le_bytes())
    }

    /// In the child: writes the whole rewrite to `temp-rewriteaof-<pid>.aof`
    /// and renames it to `filename` (`rewriteAppendOnlyFile`).
    fn rewrite_append_only_file(&mut self, filename: &str) -> Result<(), ()> {
        let tmpfile = format!("temp-rewriteaof-{}.aof", std::process::id());
        let file = match std::fs::File::create(&tmpfile) {
            Ok(f) => f,
            Err(e) => {
                log::warn!("Opening the temp file for AOF rewrite in rewriteAppendOnlyFile(): {}", strerror(&e));
                return Err(());
            }
        };
        self.aof.rewrite.child_diff = Vec::new();
        let autosync = if self.config.aof_rewrite_incremental_fsync { REDIS_AUTOSYNC_BYTES } else { 0 };
        let mut r = Rio::new(file, autosync);
        // The child owns its copy of the dataset: moving the table list out
        // lets the loop read it while the diff reader mutates the server.
        let dbs = std::mem::take(&mut self.dbs);
        let res = self.rewrite_append_only_file_finish(&mut r, &dbs);
        self.dbs = dbs;
        match res {
            Ok(()) => {}
            Err(e) => {
                log::warn!("Write error writing append only file on disk: {}", strerror(&e));
                drop(r);
                let _ = std::fs::remove_file(&tmpfile);
                return Err(());
            }
        }
        drop(r);
        if let Err(e) = std::fs::rename(&tmpfile, filename) {
            log::warn!("Error moving temp append only file on the final destination: {}", strerror(&e));
            let _ = std::fs::remove_file(&tmpfile);
            return Err(());
        }
        log::info!("SYNC append only file rewrite performed");
        Ok(())
    }

    /// The body of `rewrite_append_only_file` from the snapshot to the
    /// last fsync; any error ends the rewrite.
    fn rewrite_append_only_file_finish(&mut self, r: &mut Rio, dbs: &[Db]) -> std::io::Result<()> {
        if self.config.aof_use_rdb_preamble {
            self.rewrite_rdb_preamble(r, dbs)?;
        } else {
            self.rewrite_append_only_file_rio(r, dbs)?;
        }
        // A first, slow fsync while the parent still sends, so that the
        // final one is quick.
        r.flush()?;
        fdatasync(r.file.as_raw_fd())?;

        // Read more diff while it keeps coming: at most 1 s, and stop after
        // 20 ms in a row without data (the parent may produce diff faster
        // than we can read it forever).
        // Redis 6.2's loop exists so that a parent with a backlog in its
        // rewrite buffer hands it over before the stop; with a steady
        // writer the data never pauses for 20 ms and the loop always used
        // its full second. oxredis also stops when a 10 ms window brings
        // less than one pipe buffer (64 KiB): the parent is then keeping
        // up, and what it writes after the stop is as small either way.
        let data_fd = self.aof.rewrite.pipe_read_data_from_parent;
        let mut nodata = 0;
        let start = crate::util::mstime();
        let mut window_start = start;
        let mut window_bytes = 0usize;
        while crate::util::mstime() - start < 1000 && nodata < 20 {
            let now = crate::util::mstime();
            if now - window_start >= AOF_DIFF_WINDOW_MS {
                if window_bytes < AOF_DIFF_WINDOW_MIN_BYTES {
                    break;
                }
                window_start = now;
                window_bytes = 0;
            }
            if !wait_readable(data_fd, 1) {
                nodata += 1;
                continue;
            }
            nodata = 0;
            window_bytes += self.aof_read_diff_from_parent();
        }

        // Ask the parent to stop sending diff, and wait for its answer at
        // most 5 s, so that a lost answer cannot keep us forever.
        write_all_fd(self.aof.rewrite.pipe_write_ack_to_parent, b"!")?;
        let ack_fd = self.aof.rewrite.pipe_read_ack_from_parent;
        crate::anet::set_nonblock(ack_fd)?;
        let mut byte = [0u8; 1];
        sync_read(ack_fd, &mut byte, 5000)?;
        if byte[0] != b'!' {
            return Err(std::io::Error::from_raw_os_error(libc::EPROTO));
        }
        log::info!("Parent agreed to stop sending diffs. Finalizing AOF...");

        // What the parent wrote before its answer.
        self.aof_read_diff_from_parent();
        let diff = std::mem::take(&mut self.aof.rewrite.child_diff);
        log::info!("Concatenating {:.2} MB of AOF diff received from parent.", diff.len() as f64 / (1024.0 * 1024.0));
        r.flush()?;
        let key_count: u64 = dbs.iter().map(|d| d.size() as u64).sum();
        let mut cow_updated_time = crate::util::mstime();
        for chunk in diff.chunks(8 << 20) {
            r.file.write_all(chunk)?;
            let now = crate::util::mstime();
            if now - cow_updated_time >= 1000 {
                self.send_child_info(ChildInfoType::CurrentInfo, key_count, "AOF rewrite");
                cow_updated_time = now;
            }
        }
        fdatasync(r.file.as_raw_fd())
    }

    /// Writes the rest of the rewrite buffer to `fd` (`aofRewriteBufferWrite`).
    fn aof_rewrite_buffer_write(&self, fd: RawFd) -> std::io::Result<usize> {
        let mut count = 0;
        for block in &self.aof.rewrite.buf_blocks {
            if block.used() > 0 {
                write_all_fd(fd, &block.buf[block.sent..])?;
                count += block.used();
            }
        }
        Ok(count)
    }

    /// Unlinks the child's two possible temp files (`aofRemoveTempFile`).
    pub fn aof_remove_temp_file(&self, childpid: libc::pid_t) {
        bg_unlink(&format!("temp-rewriteaof-bg-{}.aof", childpid), self.aof.bio.as_ref());
        bg_unlink(&format!("temp-rewriteaof-{}.aof", childpid), self.aof.bio.as_ref());
    }

    /// Updates `aof_current_size` from the file (`aofUpdateCurrentSize`).
    fn aof_update_current_size(&mut self) {
        let start = crate::util::monotonic_us();
        // SAFETY: fstat fills the zeroed stat we own.
        let (r, size) = unsafe {
            let mut st: libc::stat = std::mem::zeroed();
            let r = libc::fstat(self.aof.fd, &mut st);
            (r, st.st_size as u64)
        };
        if r == -1 {
            log::warn!("Unable to obtain the AOF file length. stat: {}", strerror(&std::io::Error::last_os_error()));
        } else {
            self.aof.current_size = size;
        }
        self.latency_add_sample_if_needed("aof-fstat", (crate::util::monotonic_us() - start) / 1000);
    }

    /// Called from the cron when the rewrite child ended
    /// (`backgroundRewriteDoneHandler`).
    pub fn background_rewrite_done_handler(&mut self, exitcode: i32, bysignal: i32) {
        if bysignal == 0 && exitcode == 0 {
            self.background_rewrite_succeeded();
        } else if bysignal == 0 && exitcode != 0 {
            self.aof.rewrite.lastbgrewrite_ok = false;
            log::warn!("Background AOF rewrite terminated with error");
        } else {
            // SIGUSR1 is how we stop a child on purpose: not an error.
            if bysignal != libc::SIGUSR1 {
                self.aof.rewrite.lastbgrewrite_ok = false;
            }
            log::warn!("Background AOF rewrite terminated by signal {}", bysignal);
        }
        // Cleanup, whatever happened.
        self.aof_close_pipes();
        self.aof.rewrite.reset();
        self.aof_remove_temp_file(self.child.pid);
        let now = crate::util::ustime() / 1_000_000;
        self.aof.rewrite.time_last = now - self.aof.rewrite.time_start;
        self.aof.rewrite.time_start = -1;
        // Still waiting to switch the AOF on: try again from the cron.
        if self.aof.state == AofStatus::WaitRewrite {
            self.aof.rewrite.scheduled = true;
        }
    }

    /// The success half of the done handler: append the residual diff,
    /// fsync per policy, rename over the AOF, switch descriptors.
    fn background_rewrite_succeeded(&mut self) {
        let now = crate::util::ustime();
        log::info!("Background AOF rewrite terminated with success");
        let start = crate::util::monotonic_us();
        let tmpfile = format!("temp-rewriteaof-bg-{}.aof", self.child.pid);
        let newfd = match std::fs::OpenOptions::new().append(true).open(&tmpfile) {
            Ok(f) => std::os::unix::io::IntoRawFd::into_raw_fd(f),
            Err(e) => {
                log::warn!("Unable to open the temporary AOF produced by the child: {}", strerror(&e));
                return;
            }
        };
        if let Err(e) = self.aof_rewrite_buffer_write(newfd) {
            log::warn!("Error trying to flush the parent diff to the rewritten AOF: {}", strerror(&e));
            crate::anet::close(newfd);
            return;
        }
        self.latency_add_sample_if_needed("aof-rewrite-diff-write", (crate::util::monotonic_us() - start) / 1000);
        if self.config.appendfsync == AOF_FSYNC_EVERYSEC {
            if let Some(bio) = &self.aof.bio {
                bio.submit(JobType::AofFsync, newfd);
            }
        } else if self.config.appendfsync == AOF_FSYNC_ALWAYS {
            let start = crate::util::monotonic_us();
            if let Err(e) = fdatasync(newfd) {
                log::warn!("Error trying to fsync the parent diff to the rewritten AOF: {}", strerror(&e));
                crate::anet::close(newfd);
                return;
            }
            self.latency_add_sample_if_needed("aof-fsync-always", (crate::util::monotonic_us() - start) / 1000);
        }
        log::info!(
            "Residual parent diff successfully flushed to the rewritten AOF ({:.2} MB)",
            self.aof.rewrite.buffer_size() as f64 / (1024.0 * 1024.0)
        );
        // With AOF off this was a one-time rewrite: hold the old file open
        // so that the rename does not unlink it here (it may be big); the
        // last close happens in a bio thread.
        let mut oldfd: RawFd = -1;
        if self.aof.fd == -1 {
            use std::os::unix::fs::OpenOptionsExt;
            if let Ok(f) = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
                .open(&self.config.appendfilename)
            {
                oldfd = std::os::unix::io::IntoRawFd::into_raw_fd(f);
            }
        }
        let start = crate::util::monotonic_us();
        if let Err(e) = std::fs::rename(&tmpfile, &self.config.appendfilename) {
            log::warn!(
                "Error trying to rename the temporary AOF file {} into {}: {}",
                tmpfile,
                self.config.appendfilename,
                strerror(&e)
            );
            crate::anet::close(newfd);
            if oldfd != -1 {
                crate::anet::close(oldfd);
            }
            return;
        }
        self.latency_add_sample_if_needed("aof-rename", (crate::util::monotonic_us() - start) / 1000);
        if self.aof.fd == -1 {
            crate::anet::close(newfd);
        } else {
            oldfd = self.aof.fd;
            self.aof.fd = newfd;
            self.aof.selected_db = -1;
            self.aof_update_current_size();
            self.aof.base_size = self.aof.current_size;
            self.aof.fsync_offset = self.aof.current_size;
            self.aof.last_fsync = self.unixtime;
            // All of it reached the new file through the rewrite buffer.
            self.aof.buf = Vec::new();
        }
        self.aof.rewrite.lastbgrewrite_ok = true;
        log::info!("Background AOF rewrite finished successfully");
        if self.aof.state == AofStatus::WaitRewrite {
            self.aof.state = AofStatus::On;
        }
        if oldfd != -1 {
            match &self.aof.bio {
                Some(bio) => bio.submit(JobType::CloseFile, oldfd),
                None => crate::anet::close(oldfd),
            }
        }
        log::debug!("Background AOF rewrite signal handler took {}us", crate::util::ustime() - now);
    }

    /// Kills a running rewrite child, waits for it and removes its files
    /// (`killAppendOnlyChild`). CONFIG SET appendonly no, SHUTDOWN.
    pub fn kill_append_only_child(&mut self) {
        if self.child.child_type != ChildType::Aof {
            return;
        }
        let pid = self.child.pid;
        log::info!("Killing running AOF rewrite child: {}", pid);
        // SAFETY: signalling and reaping our own child.
        unsafe {
            if libc::kill(pid, libc::SIGUSR1) != -1 {
                let mut statloc: libc::c_int = 0;
                loop {
                    let r = libc::waitpid(pid, &mut statloc, 0);
                    if r == pid || (r == -1 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR)) {
                        break;
                    }
                }
            }
        }
        self.aof.rewrite.reset();
        self.aof_remove_temp_file(pid);
        self.reset_child_state();
        self.aof.rewrite.time_start = -1;
        self.aof_close_pipes();
    }

    /// The cron's part for children and rewrites: reap a finished child,
    /// else check the auto-rewrite rule (the child section of `serverCron`).
    pub fn rewrite_cron(&mut self) {
        if self.has_active_child_process() {
            if self.run_with_period(1000) {
                self.receive_child_info();
            }
            self.check_children_done();
            return;
        }
        let perc = self.config.aof_rewrite_perc;
        if self.aof.state == AofStatus::On
            && perc > 0
            && self.aof.current_size > self.config.aof_rewrite_min_size.max(0) as u64
        {
            let base = if self.aof.base_size > 0 { self.aof.base_size } else { 1 };
            let growth = (self.aof.current_size as i128 * 100 / base as i128) - 100;
            if growth >= perc as i128 {
                log::info!("Starting automatic rewriting of AOF on {}% growth", growth);
                let _ = self.rewrite_append_only_file_background();
            }
        }
    }

    /// Starts a rewrite asked for while another child ran, once none runs
    /// (end of `serverCron`).
    pub fn start_scheduled_rewrite(&mut self) {
        if !self.has_active_child_process() && self.aof.rewrite.scheduled {
            let _ = self.rewrite_append_only_file_background();
        }
    }

    /// At start: removes temp files of rewrite children that no longer
    /// exist (a server killed mid-rewrite leaves them). Redis 6.2 leaves
    /// them on disk; a file whose pid still runs is kept.
    pub fn aof_remove_stale_temp_files(&self) {
        let Ok(dir) = std::fs::read_dir(".") else { return };
        for entry in dir.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Some(pid) = temp_file_pid(name) else { continue };
            // SAFETY: kill with signal 0 only checks that the pid exists.
            let alive = pid > 0
                && (unsafe { libc::kill(pid, 0) } == 0
                    || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM));
            if !alive {
                log::info!("Removing stale temporary AOF rewrite file {}", name);
                bg_unlink(name, self.aof.bio.as_ref());
            }
        }
    }
}

/// BGREWRITEAOF
///
/// ```text
/// +Background append only file rewriting started
/// +Background append only file rewriting scheduled    (another child runs)
/// -ERR Background append only file rewriting already in progress
/// ```
pub fn bgrewriteaof_command(s: &mut Server, c: &mut Client) {
    if s.child.child_type == ChildType::Aof {
        c.add_reply_error("Background append only file rewriting already in progress");
    } else if s.has_active_child_process() {
        s.aof.rewrite.scheduled = true;
        c.add_reply_status("Background append only file rewriting scheduled");
    } else if s.rewrite_append_only_file_background().is_ok() {
        c.add_reply_status("Background append only file rewriting started");
    } else {
        c.add_reply_error("Can't execute an AOF background rewriting. Please check the server logs for more information.");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrite_buffer_fills_10_mib_blocks() {
        let mut rw = AofRewrite::default();
        let chunk = vec![b'x'; 3 * 1024 * 1024];
        for _ in 0..7 {
            rw.append(&chunk);
        }
        // 21 MiB: two full blocks and one with 1 MiB.
        assert_eq!(rw.buf_blocks.len(), 3);
        assert_eq!(rw.buf_blocks[0].used(), AOF_RW_BUF_BLOCK_SIZE);
        assert_eq!(rw.buf_blocks[1].used(), AOF_RW_BUF_BLOCK_SIZE);
        assert_eq!(rw.buffer_size(), 21 * 1024 * 1024);
        rw.buf_blocks[0].sent = 1000;
        assert_eq!(rw.buffer_size(), 21 * 1024 * 1024 - 1000);
        rw.reset();
        assert_eq!(rw.buffer_size(), 0);
    }

    #[test]
    fn temp_file_names_are_recognised() {
        assert_eq!(temp_file_pid("temp-rewriteaof-bg-123.aof"), Some(123));
        assert_eq!(temp_file_pid("temp-rewriteaof-77.aof"), Some(77));
        assert_eq!(temp_file_pid("temp-rewriteaof-bg-.aof"), None);
        assert_eq!(temp_file_pid("temp-rewriteaof-12x.aof"), None);
        assert_eq!(temp_file_pid("appendonly.aof"), None);
    }

    #[test]
    fn sync_read_times_out_and_reads() {
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two fds into the array we own.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK) }, 0);
        let mut b = [0u8; 1];
        let t = std::time::Instant::now();
        let e = sync_read(fds[0], &mut b, 50).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ETIMEDOUT));
        assert!(t.elapsed() >= std::time::Duration::from_millis(50));
        write_all_fd(fds[1], b"!").unwrap();
        assert_eq!(sync_read(fds[0], &mut b, 50).unwrap(), 1);
        assert_eq!(&b, b"!");
        crate::anet::close(fds[0]);
        crate::anet::close(fds[1]);
    }

    #[test]
    fn rewritten_objects_batch_by_64() {
        let path = std::env::temp_dir().join(format!("oxredis-rio-{}", std::process::id()));
        let f = std::fs::File::create(&path).unwrap();
        let mut r = Rio::new(f, 0);
        let mut q = crate::quicklist::Quicklist::new(-2);
        for i in 0..130 {
            q.push(format!("e{}", i).as_bytes(), crate::ziplist::Where::Tail);
        }
        rewrite_object(&mut r, b"l", &Value::List(Box::new(q))).unwrap();
        r.flush().unwrap();
        let text = std::fs::read(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        // 64 + 64 + 2 items.
        let headers: Vec<&[u8]> =
            text.split(|&b| b == b'\n').filter(|l| l.starts_with(b"*")).collect();
        assert_eq!(headers, vec![&b"*66\r"[..], &b"*66\r"[..], &b"*4\r"[..]]);
        assert_eq!(r.processed_bytes, text.len() as u64);
    }
}
