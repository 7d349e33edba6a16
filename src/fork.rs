//! Fork children (the child-process part of server.c: `redisFork`,
//! `checkChildrenDone`, `resetChildState`, `hasActiveChildProcess`,
//! `exitFromChild`, `closeChildUnusedResourceAfterFork`).
//!
//! 1. At most one child runs at a time (the AOF rewrite now, the RDB save
//!    later): `child.pid` and `child.child_type` say which.
//! 2. `redis_fork` opens the child-info pipe, forks, and in the parent
//!    records `latest_fork_usec`/`total_forks` and a `fork` latency sample
//!    and forbids dict resizes (copy-on-write would copy the tables). In
//!    the child it marks log lines `C`, names the process, installs the
//!    SIGUSR1 handler (the parent's way to stop it without an error) and
//!    closes the listening sockets.
//! 3. A child never touches the reactor: it shares the parent's epoll
//!    instance, so an `epoll_ctl` (a mio register or deregister, or
//!    dropping the EventLoop) would change what the parent is told. It
//!    works with plain reads, writes and `poll(2)` on its own pipe ends,
//!    and leaves with `_exit` (`exit_from_child`) so that no destructor or
//!    atexit handler runs.
//! 4. The cron reaps the child with `waitpid(-1, WNOHANG)` and calls the
//!    done handler of its type (`check_children_done`), then
//!    `reset_child_state`.

use std::os::unix::io::RawFd;
use std::sync::atomic::{AtomicI32, Ordering};

use crate::childinfo::CowSampler;
use crate::server::Server;

/// What a fork child does (`CHILD_TYPE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildType {
    None,
    Rdb,
    Aof,
}

/// Exit code of a child stopped by SIGUSR1: not an error
/// (`SERVER_CHILD_NOERROR_RETVAL`).
pub const SERVER_CHILD_NOERROR_RETVAL: i32 = 255;

/// The child process and what the parent learned about it.
pub struct Child {
    /// The running child, -1 when none (`server.child_pid`).
    pub pid: libc::pid_t,
    pub child_type: ChildType,
    /// In a child: what it was forked for (`server.in_fork_child`).
    pub in_fork_child: ChildType,
    /// The child-info pipe: [parent's read end, child's write end].
    pub info_pipe: [RawFd; 2],
    pub info_buf: [u8; 40],
    pub info_nread: usize,
    pub cow_sampler: CowSampler,
    pub stat_current_cow_bytes: u64,
    /// Monotonic µs of the last copy-on-write measurement, 0 = none.
    pub stat_current_cow_updated: u64,
    pub stat_current_save_keys_processed: u64,
    pub stat_current_save_keys_total: u64,
    pub stat_module_progress: f64,
    pub stat_rdb_cow_bytes: u64,
    pub stat_module_cow_bytes: u64,
    /// GB per second copied by the last fork (`stat_fork_rate`).
    pub stat_fork_rate: f64,
}

impl Default for Child {
    fn default() -> Self {
        Child {
            pid: -1,
            child_type: ChildType::None,
            in_fork_child: ChildType::None,
            info_pipe: [-1, -1],
            info_buf: [0; 40],
            info_nread: 0,
            cow_sampler: CowSampler::default(),
            stat_current_cow_bytes: 0,
            stat_current_cow_updated: 0,
            stat_current_save_keys_processed: 0,
            stat_current_save_keys_total: 0,
            stat_module_progress: 0.0,
            stat_rdb_cow_bytes: 0,
            stat_module_cow_bytes: 0,
            stat_fork_rate: 0.0,
        }
    }
}

/// Which side of a successful fork we are on.
pub enum Forked {
    Child,
    Parent(libc::pid_t),
}

/// The log file descriptor the child's signal handler writes to, opened
/// before the handler is installed (a handler may not allocate or lock).
static HANDLER_LOG_FD: AtomicI32 = AtomicI32::new(-1);

/// Appends the decimal digits of `v` to `buf` at `len`; returns the new len.
fn push_num(buf: &mut [u8; 160], mut len: usize, v: u64) -> usize {
    let mut digits = [0u8; 20];
    let mut n = 0;
    let mut x = v;
    loop {
        digits[n] = b'0' + (x % 10) as u8;
        n += 1;
        x /= 10;
        if x == 0 {
            break;
        }
    }
    while n > 0 && len < buf.len() {
        n -= 1;
        buf[len] = digits[n];
        len += 1;
    }
    len
}

fn push_bytes(buf: &mut [u8; 160], mut len: usize, s: &[u8]) -> usize {
    for &b in s {
        if len < buf.len() {
            buf[len] = b;
            len += 1;
        }
    }
    len
}

/// SIGUSR1 in a child: log as `serverLogFromHandler` does
/// (`pid:signal-handler (unixtime) message`) and exit without an error.
extern "C" fn sig_kill_child_handler(_sig: libc::c_int) {
    let mut buf = [0u8; 160];
    // SAFETY: getpid, time, write and _exit are async-signal-safe; the
    // buffer is on the stack.
    unsafe {
        let mut len = push_num(&mut buf, 0, libc::getpid() as u64);
        len = push_bytes(&mut buf, len, b":signal-handler (");
        len = push_num(&mut buf, len, libc::time(std::ptr::null_mut()).max(0) as u64);
        len = push_bytes(&mut buf, len, b") Received SIGUSR1 in child, exiting now.\n");
        let fd = HANDLER_LOG_FD.load(Ordering::Relaxed);
        if fd >= 0 {
            libc::write(fd, buf.as_ptr() as *const libc::c_void, len);
        }
        libc::_exit(SERVER_CHILD_NOERROR_RETVAL);
    }
}

/// Leaves a child without running destructors, atexit handlers or
/// anything that could touch the parent's reactor (`exitFromChild`).
pub fn exit_from_child(code: i32) -> ! {
    // SAFETY: _exit ends the process at once; nothing after it runs.
    unsafe { libc::_exit(code) }
}

/// Names the process for `ps`/`top`/`pgrep`: the thread name (`comm`, at
/// most 15 bytes) and, with `set-proc-title yes`, the command line seen in
/// /proc/<pid>/cmdline, overwritten in place as setproctitle does
/// (`redisSetProcTitle`).
pub fn set_proc_title(title: &str, full_cmdline: bool) {
    let mut comm = [0u8; 16];
    let n = title.len().min(15);
    comm[..n].copy_from_slice(&title.as_bytes()[..n]);
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16
    // bytes from the buffer we own.
    unsafe {
        libc::prctl(libc::PR_SET_NAME, comm.as_ptr() as libc::c_ulong, 0, 0, 0);
    }
    if !full_cmdline {
        return;
    }
    // The argument strings live in one region of our own stack whose
    // bounds the kernel shows as fields 48 and 49 of /proc/self/stat.
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return };
    let Some(close) = stat.rfind(')') else { return };
    let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
    // Field N of the file is fields[N - 3] after "pid (comm)".
    let (Some(start), Some(end)) = (
        fields.get(48 - 3).and_then(|v| v.trim().parse::<usize>().ok()),
        fields.get(49 - 3).and_then(|v| v.trim().parse::<usize>().ok()),
    ) else {
        return;
    };
    if end <= start + 1 || end - start > 1 << 20 {
        return;
    }
    let len = end - start;
    let bytes = title.as_bytes();
    let n = bytes.len().min(len - 1);
    // SAFETY: [start, end) is this process's argv area as the kernel
    // reports it: mapped, writable stack memory that no Rust reference
    // points into (std keeps its own copies of the arguments). Only the
    // child does this, and it never reads its arguments again.
    unsafe {
        let p = start as *mut u8;
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, n);
        std::ptr::write_bytes(p.add(n), 0, len - n);
    }
}

impl Server {
    /// True while a fork child runs (`hasActiveChildProcess`).
    #[inline]
    pub fn has_active_child_process(&self) -> bool {
        self.child.pid != -1
    }

    /// Forks a child for `purpose` (`redisFork`). Fails if a child already
    /// runs or fork(2) fails.
    pub fn redis_fork(&mut self, purpose: ChildType) -> std::io::Result<Forked> {
        if self.has_active_child_process() {
            return Err(std::io::Error::from_raw_os_error(libc::EBUSY));
        }
        self.open_child_info_pipe();
        let start = crate::util::ustime();
        // SAFETY: fork duplicates the process. The child runs only this
        // thread's code on its copy of memory: it never touches the bio
        // threads (absent in the child), the reactor or the clients, and
        // leaves through exit_from_child. jemalloc's fork handlers keep
        // the allocator usable in the child.
        let childpid = unsafe { libc::fork() };
        if childpid == 0 {
            self.child.in_fork_child = purpose;
            crate::log::set_child_role();
            self.setup_child_signal_handlers();
            self.close_child_unused_resource_after_fork();
            return Ok(Forked::Child);
        }
        let err = std::io::Error::last_os_error();
        let fork_time = (crate::util::ustime() - start).max(0) as u64;
        self.stats.total_forks += 1;
        self.stats.latest_fork_usec = fork_time;
        self.child.stat_fork_rate = if fork_time > 0 {
            crate::zmalloc::used_memory() as f64 * 1_000_000.0 / fork_time as f64 / (1024.0 * 1024.0 * 1024.0)
        } else {
            0.0
        };
        self.latency_add_sample_if_needed("fork", fork_time / 1000);
        if childpid == -1 {
            self.close_child_info_pipe();
            return Err(err);
        }
        self.child.pid = childpid;
        self.child.child_type = purpose;
        self.child.stat_current_cow_bytes = 0;
        self.child.stat_current_cow_updated = 0;
        self.child.stat_current_save_keys_processed = 0;
        self.child.stat_module_progress = 0.0;
        self.child.stat_current_save_keys_total = self.dbs.iter().map(|d| d.size() as u64).sum();
        // Resizing tables now would make the child copy them page by page.
        crate::dict::set_resize_allowed(false);
        Ok(Forked::Parent(childpid))
    }

    /// In the child: SIGUSR1 ends it without an error
    /// (`setupChildSignalHandlers`).
    fn setup_child_signal_handlers(&self) {
        let path = crate::log::logfile();
        let fd = if path.is_empty() {
            1
        } else {
            use std::os::unix::fs::OpenOptionsExt;
            use std::os::unix::io::IntoRawFd;
            std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o644)
                .custom_flags(libc::O_CLOEXEC)
                .open(&path)
                .map(|f| f.into_raw_fd())
                .unwrap_or(-1)
        };
        HANDLER_LOG_FD.store(fd, Ordering::Relaxed);
        // SAFETY: installing a handler that only formats on its stack,
        // writes and calls _exit.
        unsafe {
            libc::signal(libc::SIGUSR1, sig_kill_child_handler as extern "C" fn(libc::c_int) as libc::sighandler_t);
        }
    }

    /// In the child: closes what it must not keep (the listening sockets,
    /// so a restarted server can bind while it finishes) and forgets the
    /// pidfile (`closeChildUnusedResourceAfterFork`). Plain close(2): the
    /// parent's epoll keeps watching its own descriptors of the sockets.
    fn close_child_unused_resource_after_fork(&mut self) {
        for (fd, _) in std::mem::take(&mut self.tcp_listeners) {
            crate::anet::close(fd);
        }
        if self.unix_listener >= 0 {
            crate::anet::close(self.unix_listener);
            self.unix_listener = -1;
        }
        self.config.pidfile.clear();
        // The child's end of nothing: it only writes the info pipe.
        if self.child.info_pipe[0] != -1 {
            crate::anet::close(self.child.info_pipe[0]);
            self.child.info_pipe[0] = -1;
        }
    }

    /// The title a child shows, from `proc-title-template`'s default
    /// `{title} {listen-addr} {server-mode}`.
    pub fn child_proc_title(&self, title: &str) -> String {
        let addr = self.config.bind.first().map(|b| b.trim_start_matches('-').to_string()).unwrap_or_else(|| "*".into());
        format!("{} {}:{}", title, addr, self.config.port)
    }

    /// Reaps a finished child and runs its done handler
    /// (`checkChildrenDone`). Called from the cron while a child runs.
    pub fn check_children_done(&mut self) {
        let mut statloc: libc::c_int = 0;
        // SAFETY: waitpid writes the status into the int we own.
        let pid = unsafe { libc::waitpid(-1, &mut statloc, libc::WNOHANG) };
        if pid == 0 {
            return;
        }
        let mut exitcode = if libc::WIFEXITED(statloc) { libc::WEXITSTATUS(statloc) } else { -1 };
        let mut bysignal = if libc::WIFSIGNALED(statloc) { libc::WTERMSIG(statloc) } else { 0 };
        // The SIGUSR1 handler exits with this code: a kill we asked for.
        if exitcode == SERVER_CHILD_NOERROR_RETVAL {
            bysignal = libc::SIGUSR1;
            exitcode = 1;
        }
        if pid == -1 {
            log::warn!(
                "waitpid() returned an error: {}. child_type: {}, child_pid = {}",
                crate::server::strerror(&std::io::Error::last_os_error()),
                self.str_child_type(),
                self.child.pid
            );
        } else if pid == self.child.pid {
            match self.child.child_type {
                ChildType::Aof => self.background_rewrite_done_handler(exitcode, bysignal),
                ChildType::Rdb => self.background_save_done_handler(exitcode, bysignal),
                ChildType::None => {
                    log::warn!("Unknown child type {} for child pid {}", self.str_child_type(), pid);
                }
            }
            if bysignal == 0 && exitcode == 0 {
                self.receive_child_info();
            }
            self.reset_child_state();
        } else {
            log::warn!("Warning, detected child with unmatched pid: {}", pid);
        }
    }

    fn str_child_type(&self) -> &'static str {
        match self.child.child_type {
            ChildType::None => "none",
            ChildType::Rdb => "RDB",
            ChildType::Aof => "AOF",
        }
    }

    /// Forgets the child once reaped or killed (`resetChildState`).
    pub fn reset_child_state(&mut self) {
        self.child.child_type = ChildType::None;
        self.child.pid = -1;
        self.child.stat_current_cow_bytes = 0;
        self.child.stat_current_cow_updated = 0;
        self.child.stat_current_save_keys_processed = 0;
        self.child.stat_module_progress = 0.0;
        self.child.stat_current_save_keys_total = 0;
        crate::dict::set_resize_allowed(true);
        self.close_child_info_pipe();
    }
}
