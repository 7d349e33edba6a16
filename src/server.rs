//! The server: global state, start-up, the main loop, the cron and the
//! command call path (mirrors server.c).
//!
//! 1. `main` parses the command line and config, sets up logging,
//!    daemonizes if asked, raises the open-files limit, opens the
//!    listeners and registers `server_cron` as a time event.
//! 2. `ae_main` loops: `before_sleep` (flush the AOF, write pending replies,
//!    free clients closed asynchronously), poll, dispatch file events,
//!    run due time events.
//! 3. A client's bytes are parsed into commands (networking.rs) and each
//!    goes through `process_command` (lookup, arity, auth, state checks)
//!    and `call` (run, time for SLOWLOG and commandstats, count dirty
//!    changes, propagate).
//! 4. SIGTERM/SIGINT set a flag; the cron notices it and shuts down
//!    cleanly (`prepare_for_shutdown`), saving the final RDB snapshot
//!    when save points are set, as SHUTDOWN does.

use std::collections::{BTreeMap, VecDeque};
use std::os::unix::io::RawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use crate::ae::{self, EventLoop, FileProc, TimeProc, AE_READABLE, AE_WRITABLE};
use crate::client::*;
use crate::commands::{self, CommandTable, CMD_ADMIN, CMD_LOADING, CMD_NO_AUTH, CMD_SKIP_MONITOR, CMD_SKIP_SLOWLOG, CMD_WRITE};
use crate::config::{self, Config};
use crate::db::Db;
use crate::util;

/// The Redis version we are compatible with, reported as `redis_version`.
pub const REDIS_VERSION: &str = "6.2.14";
/// Our own version, reported as `oxredis_version`.
pub const OXREDIS_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Open fds reserved beyond `maxclients` for listeners, files, pipes.
pub const CONFIG_MIN_RESERVED_FDS: i64 = 32;
/// Accept at most this many connections per readable listener event.
pub const MAX_ACCEPTS_PER_CALL: usize = 1000;
/// Bytes written to one client per writable event before yielding.
pub const NET_MAX_WRITES_PER_EVENT: usize = 64 * 1024;
/// Samples kept for the instantaneous ops/sec metrics.
const STATS_METRIC_SAMPLES: usize = 16;

pub const STATS_METRIC_COMMAND: usize = 0;
pub const STATS_METRIC_NET_INPUT: usize = 1;
pub const STATS_METRIC_NET_OUTPUT: usize = 2;

/// Set by the SIGTERM/SIGINT handler, read by the cron.
static SHUTDOWN_ASAP: AtomicBool = AtomicBool::new(false);
/// The signal that asked for the shutdown, for the log line.
static SHUTDOWN_SIGNAL: AtomicI32 = AtomicI32::new(0);

/// One SLOWLOG entry.
pub struct SlowlogEntry {
    pub id: i64,
    pub time: i64,
    pub duration: i64,
    pub argv: Vec<Vec<u8>>,
    pub peerid: String,
    pub cname: String,
}

/// Per-command statistics for INFO commandstats.
#[derive(Default, Clone, Copy)]
pub struct CommandStats {
    pub calls: u64,
    pub microseconds: u64,
    pub rejected_calls: u64,
    pub failed_calls: u64,
}

/// Instantaneous metric tracking (`trackInstantaneousMetric`).
#[derive(Default, Clone)]
pub struct InstMetric {
    last_sample_time: i64,
    last_sample_count: u64,
    samples: [u64; STATS_METRIC_SAMPLES],
    idx: usize,
}

impl InstMetric {
    fn track(&mut self, now_ms: i64, current: u64) {
        let t = now_ms - self.last_sample_time;
        let ops = current.saturating_sub(self.last_sample_count);
        let per_sec = if t > 0 { ops * 1000 / t as u64 } else { 0 };
        self.samples[self.idx] = per_sec;
        self.idx = (self.idx + 1) % STATS_METRIC_SAMPLES;
        self.last_sample_time = now_ms;
        self.last_sample_count = current;
    }

    pub fn get(&self) -> u64 {
        self.samples.iter().sum::<u64>() / STATS_METRIC_SAMPLES as u64
    }
}

/// Statistics shown by INFO stats and reset by CONFIG RESETSTAT.
#[derive(Default, Clone)]
pub struct Stats {
    pub numcommands: u64,
    pub numconnections: u64,
    pub rejected_conn: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    pub expiredkeys: u64,
    pub evictedkeys: u64,
    /// Microseconds spent over maxmemory, and when the current stretch
    /// began (Redis 7.0's `stat_*_eviction_exceeded_time`).
    pub total_eviction_exceeded_time: u64,
    pub last_eviction_exceeded_time: Option<u64>,
    /// Running estimate of the share of expired keys still in memory.
    pub expired_stale_perc: f64,
    pub expired_time_cap_reached_count: u64,
    /// Microseconds spent in the active expire cycle.
    pub expire_cycle_time_used: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub total_error_replies: u64,
    pub unexpected_error_replies: u64,
    pub total_forks: u64,
    pub latest_fork_usec: u64,
    pub peak_memory: usize,
    pub client_qbuf_limit_disconnections: u64,
    pub errors: BTreeMap<String, u64>,
    pub inst: [InstMetric; 3],
}

/// Which clients CLIENT PAUSE holds back, ordered from least to most strict.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum PauseType {
    Off,
    Write,
    All,
}

pub struct Server {
    pub el: EventLoop,
    pub config: Config,
    /// The effective `hz` (config clamped to 1..500).
    pub hz: i64,
    pub cronloops: u64,
    /// Cached clock, refreshed every loop iteration and in the cron.
    pub unixtime: i64,
    pub mstime: i64,
    pub ustime: i64,
    pub stat_starttime: i64,
    pub start_monotonic_us: u64,

    /// Clients indexed by fd. The client being served is taken out of its
    /// slot while its commands run, and put back after.
    pub clients: Vec<Option<Box<Client>>>,
    pub clients_count: usize,
    pub next_client_id: u64,
    /// Clients with replies to write in `before_sleep`: (fd, id).
    pub clients_pending_write: Vec<(RawFd, u64)>,
    /// Clients to free in `before_sleep` (`clients_to_close`): (fd, id).
    pub clients_to_close: Vec<(RawFd, u64)>,
    /// Biggest client buffers of the last seconds, for INFO clients.
    pub clients_peak_mem: crate::networking::ClientsPeakMem,
    pub monitors: Vec<(RawFd, u64)>,
    pub tcp_listeners: Vec<(RawFd, String)>,
    pub unix_listener: RawFd,
    pub pause_type: PauseType,
    /// Unix ms when CLIENT PAUSE ends.
    pub pause_end_ms: i64,
    /// Clients held back by CLIENT PAUSE, served again when it ends.
    pub paused_clients: Vec<(RawFd, u64)>,
    /// Extra commands the running command propagates after (or instead
    /// of) itself, as (db, argv) (`server.also_propagate`).
    pub also_propagate: Vec<(usize, crate::proto::Argv)>,
    /// Clients blocked on keys (blocked.rs).
    pub blocked: crate::blocked::BlockedState,
    /// Transaction state: EXEC running, MULTI propagated (multi.rs).
    pub multi: crate::multi::MultiServer,
    /// Channel and pattern subscriptions (pubsub.rs).
    pub pubsub: crate::pubsub::PubSub,

    pub commands: CommandTable,
    pub cmdstats: Vec<CommandStats>,
    pub dbs: Vec<Db>,
    pub aof: crate::aof::Aof,
    /// Background save state (rdb.rs).
    pub rdb: crate::rdb::RdbState,
    /// The fork child, if any (fork.rs).
    pub child: crate::fork::Child,
    /// The latency monitor's samples (latency.rs).
    pub latency: crate::latency::Latency,
    pub dirty: u64,
    pub stats: Stats,
    pub slowlog: VecDeque<SlowlogEntry>,
    pub slowlog_entry_id: i64,
    pub lastsave: i64,
    pub loading: bool,

    /// `used_memory` once start-up is done (`used_memory_startup`).
    pub startup_memory: usize,
    pub run_id: String,
    pub executable: String,
    pub configfile: Option<String>,
    pub shutdown_asap: bool,
    /// DEBUG SET-ACTIVE-EXPIRE: the expire cycle runs only when true.
    pub active_expire_enabled: bool,
    /// State of the active expire cycle and of the databases cron.
    pub expire: crate::expire::ExpireState,
    /// The eviction pool and time event state (evict.rs).
    pub evict: crate::evict::EvictState,
    pub arch_bits: u32,
    /// Scratch buffers reused each loop iteration.
    scratch_fired: Vec<ae::Fired>,
    scratch_due: Vec<(i64, TimeProc)>,
}

/// `strerror` text of an io error, without Rust's "(os error N)" suffix.
pub fn strerror(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => {
            // SAFETY: strerror returns a pointer to a static NUL-terminated string.
            let p = unsafe { libc::strerror(code) };
            if p.is_null() {
                return e.to_string();
            }
            // SAFETY: p is a valid C string per strerror's contract.
            unsafe { std::ffi::CStr::from_ptr(p) }.to_string_lossy().into_owned()
        }
        None => e.to_string(),
    }
}

impl Server {
    /// Builds the server state from a loaded configuration
    /// (`initServerConfig` + `initServer`, without the listeners).
    pub fn new(config: Config) -> std::io::Result<Server> {
        let maxclients = config.maxclients.max(1) as usize;
        let now_us = util::ustime();
        let commands = CommandTable::new(&config.renamed_commands).map_err(|e| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, e)
        })?;
        let ncmds = commands.len();
        let dbs: Vec<Db> = (0..config.databases.max(1) as usize).map(Db::new).collect();
        let blocked = crate::blocked::BlockedState::new(dbs.len());
        Ok(Server {
            el: EventLoop::new(maxclients + CONFIG_MIN_RESERVED_FDS as usize)?,
            hz: config.hz.clamp(1, 500),
            config,
            cronloops: 0,
            unixtime: now_us / 1_000_000,
            mstime: now_us / 1000,
            ustime: now_us,
            stat_starttime: now_us / 1_000_000,
            start_monotonic_us: util::monotonic_us(),
            clients: Vec::new(),
            clients_count: 0,
            next_client_id: 1,
            clients_pending_write: Vec::new(),
            clients_to_close: Vec::new(),
            clients_peak_mem: Default::default(),
            monitors: Vec::new(),
            tcp_listeners: Vec::new(),
            unix_listener: -1,
            pause_type: PauseType::Off,
            pause_end_ms: 0,
            paused_clients: Vec::new(),
            also_propagate: Vec::new(),
            blocked,
            multi: Default::default(),
            pubsub: Default::default(),
            cmdstats: vec![CommandStats::default(); ncmds],
            commands,
            dbs,
            aof: crate::aof::Aof::default(),
            rdb: crate::rdb::RdbState::default(),
            child: crate::fork::Child::default(),
            latency: crate::latency::Latency::default(),
            dirty: 0,
            stats: Stats::default(),
            slowlog: VecDeque::new(),
            slowlog_entry_id: 0,
            lastsave: now_us / 1_000_000,
            loading: false,
            startup_memory: 0,
            run_id: util::random_hex(40),
            executable: String::new(),
            configfile: None,
            shutdown_asap: false,
            active_expire_enabled: true,
            expire: Default::default(),
            evict: Default::default(),
            arch_bits: (std::mem::size_of::<usize>() * 8) as u32,
            scratch_fired: Vec::with_capacity(1024),
            scratch_due: Vec::new(),
        })
    }

    /// Refreshes the cached clock (`updateCachedTime`).
    pub fn update_cached_time(&mut self) {
        self.ustime = util::ustime();
        self.mstime = self.ustime / 1000;
        self.unixtime = self.mstime / 1000;
        crate::client::set_cached_unixtime(self.unixtime);
    }

    /// Raises RLIMIT_NOFILE to maxclients + reserved fds, lowering
    /// maxclients if the OS refuses (`adjustOpenFilesLimit`).
    pub fn adjust_open_files_limit(&mut self) {
        let maxfiles = self.config.maxclients + CONFIG_MIN_RESERVED_FDS;
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit writes into the struct we own.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == -1 {
            log::warn!(
                "Unable to obtain the current NOFILE limit ({}), assuming 1024 and setting the max clients configuration accordingly.",
                strerror(&std::io::Error::last_os_error())
            );
            self.config.maxclients = 1024 - CONFIG_MIN_RESERVED_FDS;
            return;
        }
        let oldlimit = limit.rlim_cur as i64;
        if oldlimit >= maxfiles {
            return;
        }
        let mut bestlimit = maxfiles;
        while bestlimit > oldlimit {
            let l = libc::rlimit { rlim_cur: bestlimit as libc::rlim_t, rlim_max: limit.rlim_max.max(bestlimit as libc::rlim_t) };
            // SAFETY: setrlimit reads the struct we pass.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &l) } != -1 {
                break;
            }
            let l = libc::rlimit { rlim_cur: bestlimit as libc::rlim_t, rlim_max: limit.rlim_max };
            // SAFETY: as above.
            if bestlimit as u64 <= limit.rlim_max as u64 && unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &l) } != -1 {
                break;
            }
            bestlimit -= 16.min(bestlimit - oldlimit).max(1);
        }
        if bestlimit < oldlimit {
            bestlimit = oldlimit;
        }
        if bestlimit < maxfiles {
            let old_max = self.config.maxclients;
            self.config.maxclients = (bestlimit - CONFIG_MIN_RESERVED_FDS).max(1);
            log::warn!(
                "You requested maxclients of {} requiring at least {} max file descriptors.",
                old_max,
                maxfiles
            );
            log::warn!(
                "Server can't set maximum open files to {} because of OS error: {}.",
                maxfiles,
                strerror(&std::io::Error::last_os_error())
            );
            log::warn!(
                "Current maximum open files is {}. maxclients has been reduced to {} to compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'.",
                bestlimit,
                self.config.maxclients
            );
        } else {
            log::info!(
                "Increased maximum number of open files to {} (it was originally set to {}).",
                maxfiles,
                oldlimit
            );
        }
    }

    /// Opens the TCP listeners for `bind` and `port` (`listenToPort`).
    /// An address starting with `-` may fail to bind without stopping the
    /// start-up; with no `bind` at all every IPv4 and IPv6 interface is
    /// used and IPv6 being unavailable is not an error.
    pub fn listen_to_port(&mut self) -> Result<(), String> {
        let port = self.config.port;
        if port == 0 {
            return Ok(());
        }
        let backlog = self.config.tcp_backlog as i32;
        let default_bind = self.config.bind.is_empty();
        let addrs: Vec<String> =
            if default_bind { vec!["-::*".to_string(), "*".to_string()] } else { self.config.bind.clone() };
        for a in addrs {
            let (optional, name) = match a.strip_prefix('-') {
                Some(rest) => (true, rest.to_string()),
                None => (false, a.clone()),
            };
            let ip: std::net::IpAddr = match name.as_str() {
                "*" => std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                "::*" => std::net::IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
                other => match other.parse() {
                    Ok(ip) => ip,
                    Err(_) => {
                        let msg = format!("Could not create server TCP listening socket {}:{}: Invalid address", name, port);
                        if optional {
                            log::warn!("{}", msg);
                            continue;
                        }
                        return Err(msg);
                    }
                },
            };
            match crate::anet::tcp_server(ip, port as u16, backlog) {
                Ok(fd) => {
                    let idx = self.tcp_listeners.len();
                    self.tcp_listeners.push((fd, name.clone()));
                    self.el
                        .create_file_event(fd, AE_READABLE, FileProc::TcpListener(idx))
                        .map_err(|e| format!("Unrecoverable error creating TCP socket accept handler: {}", e))?;
                }
                Err(e) => {
                    let unsupported = matches!(e.raw_os_error(), Some(libc::EAFNOSUPPORT) | Some(libc::EADDRNOTAVAIL) | Some(libc::EPROTONOSUPPORT));
                    let msg = format!("Could not create server TCP listening socket {}:{}: {}", name, port, strerror(&e));
                    if optional && unsupported {
                        log::warn!("{}", msg);
                        continue;
                    }
                    return Err(msg);
                }
            }
        }
        if self.tcp_listeners.is_empty() {
            return Err("Configured to not listen anywhere, exiting.".into());
        }
        Ok(())
    }

    /// Opens the unix socket listener when `unixsocket` is set.
    pub fn listen_to_unix_socket(&mut self) -> Result<(), String> {
        if self.config.unixsocket.is_empty() {
            return Ok(());
        }
        let path = self.config.unixsocket.clone();
        let _ = std::fs::remove_file(&path);
        let fd = crate::anet::unix_server(&path, self.config.unixsocketperm, self.config.tcp_backlog as i32)
            .map_err(|e| format!("Failed opening Unix socket: {}", strerror(&e)))?;
        self.unix_listener = fd;
        self.el
            .create_file_event(fd, AE_READABLE, FileProc::UnixListener)
            .map_err(|e| format!("Unrecoverable error creating server.sofd file event: {}", e))?;
        Ok(())
    }

    /// The main loop (`aeMain`).
    pub fn ae_main(&mut self) {
        self.el.create_time_event(1, TimeProc::ServerCron);
        while !self.el.stop {
            self.before_sleep();
            if let Err(e) = self.el.process_events() {
                log::warn!("Event loop poll failed: {}", e);
            }
            self.update_cached_time();
            let mut fired = std::mem::take(&mut self.scratch_fired);
            fired.clear();
            fired.extend_from_slice(&self.el.fired);
            for f in fired.iter() {
                self.dispatch_file_event(f.fd, f.mask);
            }
            self.scratch_fired = fired;
            self.process_time_events();
        }
    }

    /// Calls the handlers of one fired fd: readable then writable, or the
    /// reverse when the fd has AE_BARRIER (as in `aeProcessEvents`).
    fn dispatch_file_event(&mut self, fd: RawFd, mask: u8) {
        let barrier = self.el.get_file_events(fd) & ae::AE_BARRIER != 0;
        let order: [u8; 2] = if barrier { [AE_WRITABLE, AE_READABLE] } else { [AE_READABLE, AE_WRITABLE] };
        for dir in order {
            if mask & dir == 0 {
                continue;
            }
            // Re-check: a previous handler may have removed the event.
            let Some(p) = self.el.file_proc(fd, dir) else { continue };
            match (p, dir) {
                (FileProc::TcpListener(_), _) | (FileProc::UnixListener, _) => self.accept_handler(fd, p),
                (FileProc::Client, AE_READABLE) => self.read_query_from_client(fd, mask & ae::AE_HUP != 0),
                (FileProc::Client, _) => self.send_reply_to_client(fd),
                (FileProc::RewriteDataToChild, _) => self.aof_child_write_diff_data(),
                (FileProc::RewriteAckFromChild, _) => self.aof_child_pipe_readable(fd),
            }
        }
    }

    fn process_time_events(&mut self) {
        let mut due = std::mem::take(&mut self.scratch_due);
        self.el.due_time_events(&mut due);
        for &(id, p) in due.iter() {
            let next = match p {
                TimeProc::ServerCron => self.server_cron(),
                TimeProc::Eviction => self.eviction_time_proc(),
            };
            self.el.reschedule_time_event(id, next);
        }
        self.scratch_due = due;
    }

    /// Runs before every poll (`beforeSleep`).
    pub fn before_sleep(&mut self) {
        self.handle_blocked_clients_timeout();
        self.process_unblocked_clients();
        self.handle_clients_blocked_on_keys();
        if self.active_expire_enabled && !self.loading {
            self.active_expire_cycle(crate::expire::CycleType::Fast);
        }
        // The AOF is written before any reply leaves (see aof.rs).
        if self.aof.state == crate::aof::AofStatus::On {
            self.flush_append_only_file(false);
        }
        self.handle_clients_with_pending_writes();
        self.free_clients_in_async_free_queue();
    }

    /// The periodic task, `hz` times a second (`serverCron`). Returns the
    /// milliseconds until its next run.
    pub fn server_cron(&mut self) -> i64 {
        self.update_cached_time();
        self.hz = self.config.hz.clamp(1, 500);
        let period_ms = 1000 / self.hz;

        if self.run_with_period(100) {
            let now = self.mstime;
            let cmds = self.stats.numcommands;
            let inb = self.stats.net_input_bytes;
            let outb = self.stats.net_output_bytes;
            self.stats.inst[STATS_METRIC_COMMAND].track(now, cmds);
            self.stats.inst[STATS_METRIC_NET_INPUT].track(now, inb);
            self.stats.inst[STATS_METRIC_NET_OUTPUT].track(now, outb);
        }
        let used = crate::zmalloc::used_memory();
        if used > self.stats.peak_memory {
            self.stats.peak_memory = used;
        }

        if SHUTDOWN_ASAP.load(Ordering::Relaxed) || self.shutdown_asap {
            let sig = SHUTDOWN_SIGNAL.load(Ordering::Relaxed);
            match sig {
                libc::SIGINT => log::warn!("Received SIGINT scheduling shutdown..."),
                libc::SIGTERM => log::warn!("Received SIGTERM scheduling shutdown..."),
                _ => {}
            }
            if self.prepare_for_shutdown(ShutdownFlags::default()).is_ok() {
                self.exit_after_shutdown(0);
            }
            log::warn!("SIGTERM received but errors trying to shut down the server, check the logs for more information");
            SHUTDOWN_ASAP.store(false, Ordering::Relaxed);
            self.shutdown_asap = false;
        }

        // With no child running: a save point that is due, then the AOF
        // growth rule (serverCron checks them in this order); with one,
        // reap it when it has finished.
        self.rdb_save_points_cron();
        self.rewrite_cron();

        // A flush postponed while an everysec fsync ran, or one that failed.
        if self.aof.state == crate::aof::AofStatus::On {
            if self.aof.flush_postponed_start != 0 {
                self.flush_append_only_file(false);
            }
            if self.run_with_period(1000) && !self.aof.last_write_ok {
                self.flush_append_only_file(false);
            }
        }
        self.clients_cron();
        self.databases_cron();
        self.check_client_pause_timeout();
        // A scheduled BGSAVE, then a rewrite asked for while another
        // child ran.
        self.rdb_cron();
        self.start_scheduled_rewrite();
        self.cronloops += 1;
        if period_ms <= 0 {
            1
        } else {
            period_ms
        }
    }

    /// True once every `ms` milliseconds of cron time (`run_with_period`).
    pub fn run_with_period(&self, ms: i64) -> bool {
        let period = 1000 / self.hz;
        ms <= period || self.cronloops % ((ms / period) as u64).max(1) == 0
    }

    /// Closes idle clients and trims query buffers, a slice of the
    /// clients per tick (`clientsCron`).
    fn clients_cron(&mut self) {
        let timeout = self.config.timeout;
        let now = self.unixtime;
        let limits = self.config.client_obuf_limits;
        let mut to_close = Vec::new();
        let mut over_limit = Vec::new();
        let slot_idx = self.clients_peak_mem.start_slot(now);
        let (mut peak_in, mut peak_out) = (0, 0);
        for slot in self.clients.iter_mut() {
            let Some(c) = slot.as_mut() else { continue };
            if timeout > 0
                && c.flags & (CLIENT_SLAVE | CLIENT_MASTER | CLIENT_BLOCKED | CLIENT_PUBSUB) == 0
                && now - c.lastinteraction > timeout
            {
                log::debug!("Closing idle client");
                to_close.push((c.fd, c.id));
                continue;
            }
            // Give back memory of a query buffer that grew for a big
            // request and is now idle (`clientsCronResizeQueryBuffer`).
            if c.querybuf.is_empty() && c.querybuf.capacity() > 32 * 1024 && now - c.lastinteraction > 2 {
                c.querybuf = Vec::new();
            }
            c.argv.shrink(64 * 1024);
            c.querybuf_peak = c.querybuf.len();
            // `clientsCronTrackExpansiveClients`.
            peak_in = peak_in.max(c.input_memory());
            peak_out = peak_out.max(c.output_buffer_memory_usage());
            if c.output_buffer_limit_reached(&limits, now) {
                over_limit.push((c.fd, c.id));
            }
        }
        self.clients_peak_mem.track(slot_idx, peak_in, peak_out);
        for (fd, id) in to_close {
            self.free_client_by_fd(fd, id);
        }
        for (fd, id) in over_limit {
            self.close_client_on_output_buffer_limit_reached_sync(fd, id);
        }
    }

    /// Ends CLIENT PAUSE when its time is up and serves held clients.
    fn check_client_pause_timeout(&mut self) {
        if self.pause_type != PauseType::Off && self.mstime >= self.pause_end_ms {
            self.unpause_clients();
        }
    }

    /// Starts or extends CLIENT PAUSE: the stricter type and the later end
    /// time win (`pauseClients`).
    pub fn pause_clients(&mut self, end_ms: i64, ptype: PauseType) {
        if ptype > self.pause_type {
            self.pause_type = ptype;
        }
        if end_ms > self.pause_end_ms {
            self.pause_end_ms = end_ms;
        }
    }

    /// Ends CLIENT PAUSE now: held clients run their held command, then
    /// whatever else they sent meanwhile (`unpauseClients`).
    pub fn unpause_clients(&mut self) {
        self.pause_type = PauseType::Off;
        self.pause_end_ms = 0;
        let held = std::mem::take(&mut self.paused_clients);
        for (fd, id) in held {
            if let Some(mut c) = self.take_client(fd, id) {
                c.flags &= !CLIENT_PAUSED_WAIT;
                if !c.argv.is_empty() {
                    self.process_command(&mut c);
                    if c.flags & CLIENT_PAUSED_WAIT == 0 {
                        c.reset();
                    }
                }
                self.process_input_buffer(&mut c);
                self.put_client(c);
            }
        }
    }

    /// True if a command with `flags` must wait because of CLIENT PAUSE.
    pub fn command_is_paused(&self, flags: u64, c: &Client) -> bool {
        if c.flags & (CLIENT_SLAVE | CLIENT_MASTER) != 0 {
            return false;
        }
        match self.pause_type {
            PauseType::Off => false,
            PauseType::All => true,
            PauseType::Write => flags & (CMD_WRITE | commands::CMD_MAY_REPLICATE) != 0,
        }
    }

    /// Looks up, checks and runs the command in `c.argv`
    /// (`processCommand`). Returns false if the client must stop being
    /// processed (it is to be closed or is held by CLIENT PAUSE).
    pub fn process_command(&mut self, c: &mut Client) -> bool {
        let name = c.argv.get(0);
        // QUIT is handled here so it works in every state, as Redis does.
        if name.eq_ignore_ascii_case(b"quit") {
            c.add_reply_ok();
            c.flags |= CLIENT_CLOSE_AFTER_REPLY;
            return false;
        }
        let idx = match self.commands.lookup(name) {
            Some(i) => i,
            None => {
                let mut args = String::new();
                let mut i = 1;
                while i < c.argv.len() && args.len() < 128 {
                    let a = c.argv.get_str(i);
                    let room = 128 - args.len();
                    let a: String = a.chars().take(room).collect();
                    args.push_str(&format!("`{}`, ", a));
                    i += 1;
                }
                let msg = format!(
                    "unknown command `{}`, with args beginning with: {}",
                    c.argv.get_str(0).chars().take(128).collect::<String>(),
                    args
                );
                self.reject_command(c, &msg);
                return true;
            }
        };
        c.cmd = Some(idx);
        c.lastcmd = Some(idx);
        let arity = self.commands.cmds[idx].arity;
        let flags = self.command_flags_with_queue(c, idx);
        let argc = c.argv.len() as i32;
        if (arity > 0 && arity != argc) || argc < -arity {
            let msg = format!("wrong number of arguments for '{}' command", self.commands.cmds[idx].name);
            self.reject_command(c, &msg);
            return true;
        }
        if self.auth_required(c) && flags & CMD_NO_AUTH == 0 {
            self.reject_command(c, "-NOAUTH Authentication required.");
            return true;
        }
        if self.config.maxmemory != 0 && self.maxmemory_rejects_command(c, idx, flags) {
            self.reject_command(c, crate::evict::OOM_ERROR);
            return true;
        }
        if flags & CMD_WRITE != 0 || self.commands.cmds[idx].name == "ping" {
            if let Some(msg) = self.write_commands_denied_by_disk_error() {
                self.reject_command(c, &msg);
                return true;
            }
        }
        // Before the loading check, as in Redis 6.2.
        if c.flags & CLIENT_PUBSUB != 0 && c.resp == 2 && !commands::allowed_in_pubsub(self.commands.cmds[idx].name) {
            let msg = format!(
                "Can't execute '{}': only (P)SUBSCRIBE / (P)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                self.commands.cmds[idx].name
            );
            self.reject_command(c, &msg);
            return true;
        }
        if self.loading && flags & CMD_LOADING == 0 {
            self.reject_command(c, "-LOADING Redis is loading the dataset in memory");
            return true;
        }
        if self.command_is_paused(flags, c) {
            c.flags |= CLIENT_PAUSED_WAIT;
            self.paused_clients.push((c.fd, c.id));
            return false;
        }
        if c.flags & CLIENT_MULTI != 0 && !crate::multi::runs_inside_multi(self.commands.cmds[idx].name) {
            self.queue_multi_command(c, idx);
            c.add_reply(b"+QUEUED\r\n");
            return true;
        }
        self.call(c, idx);
        if !self.blocked.ready_keys.is_empty() {
            self.handle_clients_blocked_on_keys();
        }
        true
    }

    /// Replies with an error for a command that did not run, counting it
    /// as rejected (`rejectCommand`). Inside MULTI it dooms the
    /// transaction; a refused EXEC discards it with the reason.
    fn reject_command(&mut self, c: &mut Client, msg: &str) {
        c.rejected = true;
        crate::multi::flag_transaction(c);
        if let Some(i) = c.cmd {
            self.cmdstats[i].rejected_calls += 1;
        }
        if c.cmd.is_some_and(|i| self.commands.cmds[i].name == "exec") {
            self.exec_command_abort(c, msg);
        } else {
            c.add_reply_error(msg);
        }
        self.after_error_replies(c);
    }

    /// Counts error replies made by the last command (`afterErrorReply`).
    pub fn after_error_replies(&mut self, c: &mut Client) -> bool {
        if c.errors.is_empty() {
            return false;
        }
        for e in c.errors.drain(..) {
            self.stats.total_error_replies += 1;
            let n = self.stats.errors.len();
            match self.stats.errors.get_mut(&e) {
                Some(v) => *v += 1,
                // Redis caps distinct error codes at 128.
                None if n < 128 => {
                    self.stats.errors.insert(e, 1);
                }
                None => {}
            }
        }
        true
    }

    /// True if the client must authenticate before running commands.
    pub fn auth_required(&self, c: &Client) -> bool {
        self.config.requirepass.is_some() && !c.authenticated
    }

    /// Runs a command and does the bookkeeping around it (`call`).
    pub fn call(&mut self, c: &mut Client, idx: usize) {
        let flags = self.commands.cmds[idx].flags;
        if !self.monitors.is_empty() && !self.loading && flags & (CMD_SKIP_MONITOR | CMD_ADMIN) == 0 {
            self.feed_monitors(c);
        }
        let dirty_before = self.dirty;
        // Fix "now" for the command, so keys cannot expire half-way; the
        // commands of a transaction share the time EXEC started at.
        if !self.multi.in_exec {
            self.update_cached_time();
        }
        let start = util::monotonic_us();
        let proc_ = self.commands.cmds[idx].proc_;
        proc_(self, c);
        let duration = util::monotonic_us().saturating_sub(start);
        let dirty = self.dirty.saturating_sub(dirty_before);
        if self.config.latency_monitor_threshold > 0 {
            let event = if flags & commands::CMD_FAST != 0 { "fast-command" } else { "command" };
            self.latency_add_sample_if_needed(event, duration / 1000);
        }

        let failed = self.after_error_replies(c);
        if flags & CMD_SKIP_SLOWLOG == 0 {
            self.slowlog_push_if_needed(c, duration as i64);
        }
        let st = &mut self.cmdstats[idx];
        st.calls += 1;
        st.microseconds += duration;
        if failed {
            st.failed_calls += 1;
        }
        // Whatever changed the dataset is propagated, in the form the
        // command chose (`c.rewritten`) or as it was sent, then what it
        // asked for with `also_propagate`: more than one of those is
        // wrapped in MULTI/EXEC unless we already are inside a MULTI.
        if dirty > 0 && !c.prevent_propagation {
            match c.rewritten.take() {
                Some(argv) => self.propagate(c.db, &argv),
                None => self.propagate(c.db, &c.argv),
            }
        }
        c.rewritten = None;
        c.prevent_propagation = false;
        self.flush_also_propagate(c.flags & CLIENT_MULTI != 0);
        self.stats.numcommands += 1;
        // Messages the command published to its own client come after
        // its reply (inside MULTI: after EXEC's, when it is put back).
        if !self.pubsub.pending.is_empty() && c.flags & CLIENT_MULTI == 0 {
            self.pubsub_deliver_pending(c);
        }
    }

    /// Propagates what commands queued with `also_propagate`.
    pub fn flush_also_propagate(&mut self, in_multi: bool) {
        if self.also_propagate.is_empty() {
            return;
        }
        let ops = std::mem::take(&mut self.also_propagate);
        let wrap = ops.len() > 1 && !in_multi;
        if wrap {
            self.propagate(ops[0].0, &crate::proto::Argv::from_slices(&[b"MULTI"]));
        }
        for (db, argv) in &ops {
            self.propagate(*db, argv);
        }
        if wrap {
            self.propagate(ops[ops.len() - 1].0, &crate::proto::Argv::from_slices(&[b"EXEC"]));
        }
    }

    /// Where changes reach the AOF (and later replicas): `propagate`.
    pub fn propagate(&mut self, dbid: usize, argv: &crate::proto::Argv) {
        // The first change made by a transaction opens it with MULTI.
        if self.multi.in_exec && !self.multi.propagate_in_transaction {
            self.exec_command_propagate_multi(dbid);
        }
        if self.aof.state != crate::aof::AofStatus::Off {
            self.feed_append_only_file(dbid, argv);
        }
    }

    /// Serves clients during a long blocking job such as loading
    /// (`processEventsWhileBlocked`): a few non-blocking loop iterations.
    pub fn process_events_while_blocked(&mut self) {
        for _ in 0..4 {
            self.update_cached_time();
            if self.el.process_events_now().is_err() {
                return;
            }
            let fired: Vec<ae::Fired> = self.el.fired.clone();
            if fired.is_empty() {
                break;
            }
            for f in fired {
                self.dispatch_file_event(f.fd, f.mask);
            }
            self.handle_clients_with_pending_writes();
            self.free_clients_in_async_free_queue();
        }
    }

    /// Sends the command about to run to every MONITOR client
    /// (`replicationFeedMonitors`).
    pub(crate) fn feed_monitors(&mut self, c: &Client) {
        let mut line = String::with_capacity(64);
        let ts = self.ustime_now();
        line.push_str(&format!("+{}.{:06} [{} ", ts / 1_000_000, ts % 1_000_000, c.db));
        if c.flags & CLIENT_UNIX_SOCKET != 0 {
            line.push_str(&format!("unix:{}", self.config.unixsocket));
        } else if c.flags & CLIENT_FAKE != 0 {
            line.push_str("lua");
        } else {
            line.push_str(&c.addr);
        }
        line.push(']');
        for a in c.argv.iter() {
            line.push(' ');
            line.push_str(&util::repr(a));
        }
        line.push_str("\r\n");
        let monitors = self.monitors.clone();
        for (fd, id) in monitors {
            if fd == c.fd {
                continue;
            }
            if let Some(mut m) = self.take_client(fd, id) {
                m.add_reply(line.as_bytes());
                self.put_client(m);
            }
        }
    }

    /// Current time in microseconds (not the cached one).
    pub fn ustime_now(&self) -> i64 {
        util::ustime()
    }

    /// Adds an entry to the slow log if the command took long enough
    /// (`slowlogPushEntryIfNeeded`).
    fn slowlog_push_if_needed(&mut self, c: &Client, duration: i64) {
        let threshold = self.config.slowlog_log_slower_than;
        if threshold < 0 || duration < threshold {
            return;
        }
        const SLOWLOG_ENTRY_MAX_ARGC: usize = 32;
        const SLOWLOG_ENTRY_MAX_STRING: usize = 128;
        let argc = c.argv.len();
        let n = argc.min(SLOWLOG_ENTRY_MAX_ARGC);
        let mut argv = Vec::with_capacity(n);
        for j in 0..n {
            if n != argc && j == n - 1 {
                argv.push(format!("... ({} more arguments)", argc - n + 1).into_bytes());
            } else {
                let a = c.argv.get(j);
                if a.len() > SLOWLOG_ENTRY_MAX_STRING {
                    let mut v = a[..SLOWLOG_ENTRY_MAX_STRING].to_vec();
                    v.extend_from_slice(format!("... ({} more bytes)", a.len() - SLOWLOG_ENTRY_MAX_STRING).as_bytes());
                    argv.push(v);
                } else {
                    argv.push(a.to_vec());
                }
            }
        }
        let entry = SlowlogEntry {
            id: self.slowlog_entry_id,
            time: self.unixtime,
            duration,
            argv,
            peerid: c.addr.clone(),
            cname: c.name.as_ref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default(),
        };
        self.slowlog_entry_id += 1;
        self.slowlog.push_front(entry);
        self.slowlog_trim();
    }

    /// Drops entries beyond `slowlog-max-len`.
    pub fn slowlog_trim(&mut self) {
        let max = self.config.slowlog_max_len.max(0) as usize;
        while self.slowlog.len() > max {
            self.slowlog.pop_back();
        }
    }

    /// Prepares to exit (`prepareForShutdown`): kill children, flush the
    /// AOF, save the final RDB snapshot when save points are set (or
    /// SHUTDOWN SAVE) unless NOSAVE, remove the pidfile and the unix
    /// socket. Fails, and the server goes on serving, when the AOF was
    /// never written or the final save fails.
    pub fn prepare_for_shutdown(&mut self, mut flags: ShutdownFlags) -> Result<(), ()> {
        // Saving a half-loaded dataset would replace the good file.
        if self.loading {
            flags.save = false;
            flags.nosave = true;
        }
        log::warn!("User requested shutdown...");
        // A child still saving could overwrite the final snapshot.
        if self.child.child_type == crate::fork::ChildType::Rdb {
            log::warn!("There is a child saving an .rdb. Killing it!");
            self.kill_rdb_child();
        }
        if self.child.child_type == crate::fork::ChildType::Aof {
            // Without a first AOF written the dataset would be lost.
            if self.aof.state == crate::aof::AofStatus::WaitRewrite {
                log::warn!("Writing initial AOF, can't exit.");
                return Err(());
            }
            // The AOF we have is complete anyway. (Redis 6.2 leaves a
            // one-time rewrite running with AOF off; we stop it too.)
            log::warn!("There is a child rewriting the AOF. Killing it!");
            self.kill_append_only_child();
        }
        if self.aof.state != crate::aof::AofStatus::Off {
            log::info!("Calling fsync() on the AOF file.");
            self.flush_and_fsync_aof();
        }
        if (!self.config.save_params.is_empty() && !flags.nosave) || flags.save {
            log::info!("Saving the final RDB snapshot before exiting.");
            let filename = self.config.dbfilename.clone();
            if self.rdb_save(&filename).is_err() {
                log::warn!("Error trying to save the DB, can't exit.");
                return Err(());
            }
        }
        if self.config.daemonize || !self.config.pidfile.is_empty() {
            let pidfile = self.pidfile_path();
            log::info!("Removing the pid file.");
            let _ = std::fs::remove_file(pidfile);
        }
        if !self.config.unixsocket.is_empty() {
            log::info!("Removing the unix socket file.");
            let _ = std::fs::remove_file(&self.config.unixsocket);
        }
        // Write what clients are still owed, best effort, before closing.
        self.handle_clients_with_pending_writes();
        for (fd, _) in std::mem::take(&mut self.tcp_listeners) {
            crate::anet::close(fd);
        }
        if self.unix_listener >= 0 {
            crate::anet::close(self.unix_listener);
            self.unix_listener = -1;
        }
        log::warn!("oxredis is now ready to exit, bye bye...");
        Ok(())
    }

    /// Exits the process after a successful shutdown.
    pub fn exit_after_shutdown(&mut self, code: i32) -> ! {
        std::process::exit(code)
    }

    /// The pidfile path: configured, or Redis's default when daemonized.
    pub fn pidfile_path(&self) -> String {
        if self.config.pidfile.is_empty() {
            "/var/run/redis.pid".to_string()
        } else {
            self.config.pidfile.clone()
        }
    }

    /// Applies the loaded configuration's process-wide settings.
    pub fn apply_initial_config(&mut self) {
        crate::log::set_level(config::name_of(config::LOGLEVELS, self.config.loglevel));
        crate::client::set_obuf_limits(self.config.client_obuf_limits);
    }
}

/// Options of SHUTDOWN.
#[derive(Default, Clone, Copy)]
pub struct ShutdownFlags {
    pub nosave: bool,
    pub save: bool,
}

extern "C" fn sig_shutdown_handler(sig: libc::c_int) {
    // A second SIGINT while a shutdown is pending exits at once, as Redis.
    if SHUTDOWN_ASAP.load(Ordering::Relaxed) && sig == libc::SIGINT {
        let msg = b"You insist... exiting now.\n";
        // SAFETY: write and _exit are async-signal-safe.
        unsafe {
            libc::write(2, msg.as_ptr() as *const libc::c_void, msg.len());
            libc::_exit(1);
        }
    }
    SHUTDOWN_SIGNAL.store(sig, Ordering::Relaxed);
    SHUTDOWN_ASAP.store(true, Ordering::Relaxed);
}

extern "C" fn sig_crash_handler(sig: libc::c_int) {
    // Best effort: formatting allocates, which is not async-signal-safe,
    // but the process is dying anyway and the report is what matters.
    log::warn!("\n\n=== OXREDIS BUG REPORT START: Cut & paste starting from here ===");
    log::warn!("    oxredis {} crashed by signal: {}", OXREDIS_VERSION, sig);
    log::warn!("{}", std::backtrace::Backtrace::force_capture());
    log::warn!("=== OXREDIS BUG REPORT END. Make sure to include from START to END. ===");
    // SAFETY: restore the default action and re-raise so the process dies
    // with the original signal (and a core dump if enabled).
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

/// Installs the signal handlers (`setupSignalHandlers`).
pub fn setup_signal_handlers() {
    // SAFETY: installing handlers that only touch atomics (shutdown) or
    // log and re-raise (crash); SIG_IGN for SIGPIPE/SIGHUP.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
        libc::signal(libc::SIGTERM, sig_shutdown_handler as extern "C" fn(libc::c_int) as libc::sighandler_t);
        libc::signal(libc::SIGINT, sig_shutdown_handler as extern "C" fn(libc::c_int) as libc::sighandler_t);
        for s in [libc::SIGSEGV, libc::SIGBUS, libc::SIGFPE, libc::SIGILL] {
            libc::signal(s, sig_crash_handler as extern "C" fn(libc::c_int) as libc::sighandler_t);
        }
    }
    std::panic::set_hook(Box::new(|info| {
        log::warn!("\n\n=== OXREDIS BUG REPORT START: Cut & paste starting from here ===");
        log::warn!("------------------------------------------------");
        log::warn!("!!! Software Failure. Press left mouse button to continue");
        log::warn!("Guru Meditation: {} #{}", info, OXREDIS_VERSION);
        log::warn!("{}", std::backtrace::Backtrace::force_capture());
        log::warn!("=== OXREDIS BUG REPORT END. Make sure to include from START to END. ===");
    }));
}

/// Detaches from the terminal (`daemonize`).
fn daemonize() {
    // SAFETY: fork before any thread is started; the parent exits at once
    // with _exit, the child continues as the server.
    unsafe {
        match libc::fork() {
            -1 => return,
            0 => {}
            _ => libc::_exit(0),
        }
        libc::setsid();
        let devnull = std::ffi::CString::new("/dev/null").unwrap_or_default();
        let fd = libc::open(devnull.as_ptr(), libc::O_RDWR, 0);
        if fd != -1 {
            libc::dup2(fd, 0);
            libc::dup2(fd, 1);
            libc::dup2(fd, 2);
            if fd > 2 {
                libc::close(fd);
            }
        }
    }
}

fn create_pid_file(path: &str) {
    if let Err(e) = std::fs::write(path, format!("{}\n", std::process::id())) {
        log::warn!("Failed to write PID file: {}", strerror(&e));
    }
}

/// `--version`: redis-server's line, so that tools parsing `v=` see the
/// Redis version we are compatible with; `build=` names oxredis's own.
fn version_line() -> String {
    format!(
        "Redis server v={} sha=00000000:0 malloc={} bits={} build=oxredis-{}",
        REDIS_VERSION,
        crate::zmalloc::ALLOCATOR_NAME,
        std::mem::size_of::<usize>() * 8,
        OXREDIS_VERSION
    )
}

fn usage() -> ! {
    eprintln!("Usage: ./oxredis-server [/path/to/redis.conf] [options] [-]");
    eprintln!("       ./oxredis-server - (read config from stdin)");
    eprintln!("       ./oxredis-server -v or --version");
    eprintln!("       ./oxredis-server -h or --help");
    eprintln!("       ./oxredis-server --test-memory <megabytes>\n");
    eprintln!("Examples:");
    eprintln!("       ./oxredis-server (run the server with default conf)");
    eprintln!("       ./oxredis-server /etc/redis/6379.conf");
    eprintln!("       ./oxredis-server --port 7777");
    eprintln!("       ./oxredis-server --port 7777 --replicaof 127.0.0.1 8888");
    eprintln!("       ./oxredis-server /etc/myredis.conf --loglevel verbose -");
    eprintln!("       ./oxredis-server /etc/myredis.conf --loglevel verbose\n");
    eprintln!("Sentinel mode:");
    eprintln!("       ./oxredis-server /etc/sentinel.conf --sentinel");
    std::process::exit(1);
}

/// Turns the command line after an optional config file into config
/// text: `--port 7000 --save ""` becomes lines `port 7000` and `save ""`.
/// Values are quoted so that spaces survive, as redis-server does.
pub fn options_to_config_text(args: &[String]) -> String {
    let mut out = String::new();
    let mut first = true;
    for a in args {
        if let Some(name) = a.strip_prefix("--") {
            if !first {
                out.push('\n');
            }
            out.push_str(name);
            out.push(' ');
            first = false;
        } else {
            // Redis quotes each value with sdscatrepr.
            out.push_str(&util::repr(a.as_bytes()));
            out.push(' ');
        }
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// Entry point of `oxredis-server`.
pub fn main(args: Vec<String>) -> i32 {
    crate::log::init();
    let mut config = Config::with_defaults();
    let mut configfile: Option<String> = None;
    let mut options_text = String::new();

    if args.len() >= 2 {
        let a1 = args[1].as_str();
        match a1 {
            "-v" | "--version" => {
                println!("{}", version_line());
                return 0;
            }
            "--help" | "-h" => usage(),
            _ => {}
        }
        let mut j = 1;
        if !a1.starts_with('-') {
            configfile = Some(a1.to_string());
            j = 2;
        }
        let mut rest: Vec<String> = Vec::new();
        let mut read_stdin = false;
        while j < args.len() {
            if args[j] == "-" {
                read_stdin = true;
            } else {
                rest.push(args[j].clone());
            }
            j += 1;
        }
        if let Some(first) = rest.first() {
            if !first.starts_with("--") {
                usage();
            }
        }
        options_text = options_to_config_text(&rest);
        if read_stdin {
            let mut s = String::new();
            use std::io::Read;
            let _ = std::io::stdin().read_to_string(&mut s);
            options_text = format!("{}\n{}", s, options_text);
        }
    }

    // Resolve the path before `dir` changes the working directory, so that
    // CONFIG REWRITE finds the file again (Redis's getAbsolutePath).
    let configfile =
        configfile.map(|p| std::fs::canonicalize(&p).map(|c| c.to_string_lossy().into_owned()).unwrap_or(p));
    let mut text = String::new();
    if let Some(path) = &configfile {
        match std::fs::read_to_string(path) {
            Ok(s) => text = s,
            Err(e) => {
                eprintln!("Fatal error, can't open config file '{}': {}", path, strerror(&e));
                return 1;
            }
        }
    }
    text.push('\n');
    text.push_str(&options_text);
    if let Err(e) = config::load_from_string(&mut config, &text, 0) {
        eprint!("{}", e.report());
        return 1;
    }

    crate::log::set_logfile(&config.logfile);
    crate::log::set_level(config::name_of(config::LOGLEVELS, config.loglevel));
    if config.daemonize && config.logfile.is_empty() {
        // Redis sends a daemon's log to /dev/null unless logfile is set.
        crate::log::set_logfile("/dev/null");
    }

    log::warn!("oO0OoO0OoO0Oo oxredis is starting oO0OoO0OoO0Oo");
    log::warn!(
        "oxredis version={}, redis_version={}, bits={}, pid={}, just started",
        OXREDIS_VERSION,
        REDIS_VERSION,
        std::mem::size_of::<usize>() * 8,
        std::process::id()
    );
    if configfile.is_none() {
        log::warn!(
            "Warning: no config file specified, using the default config. In order to specify a config file use {} /path/to/redis.conf",
            args.first().map(|s| s.as_str()).unwrap_or("oxredis-server")
        );
    } else {
        log::warn!("Configuration loaded");
    }
    for name in &config.not_implemented_seen {
        log::warn!("Config option '{}' is accepted but not implemented yet in oxredis; its value is stored only.", name);
    }

    if config.daemonize {
        daemonize();
    }

    let mut server = match Server::new(config) {
        Ok(s) => s,
        Err(e) => {
            log::warn!("Failed creating the server: {}", e);
            return 1;
        }
    };
    server.configfile = configfile.map(|p| {
        std::fs::canonicalize(&p).map(|c| c.to_string_lossy().into_owned()).unwrap_or(p)
    });
    server.executable = std::env::current_exe().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
    server.apply_initial_config();
    server.update_expand_memory_limit();
    setup_signal_handlers();
    server.adjust_open_files_limit();
    if server.config.daemonize || !server.config.pidfile.is_empty() {
        create_pid_file(&server.pidfile_path());
    }
    if let Err(e) = server.listen_to_port() {
        log::warn!("{}", e);
        if server.config.daemonize || !server.config.pidfile.is_empty() {
            let _ = std::fs::remove_file(server.pidfile_path());
        }
        return 1;
    }
    if let Err(e) = server.listen_to_unix_socket() {
        log::warn!("{}", e);
        return 1;
    }
    log::info!(
        "Running mode=standalone, port={}, PID: {}",
        server.config.port,
        std::process::id()
    );
    log::warn!("Server initialized");
    if let Err(e) = server.open_append_only_file() {
        log::warn!("{}", e);
        return 1;
    }
    if !server.load_data_from_disk() {
        return 1;
    }
    if server.tcp_listeners.is_empty() && server.unix_listener < 0 {
        log::warn!("Configured to not listen anywhere, exiting.");
        return 1;
    }
    server.startup_memory = crate::zmalloc::used_memory();
    if !server.tcp_listeners.is_empty() {
        log::info!("Ready to accept connections");
    }
    if server.unix_listener >= 0 {
        log::info!("The server is now ready to accept connections at {}", server.config.unixsocket);
    }
    if server.config.maxmemory > 0 && server.config.maxmemory < 1024 * 1024 {
        log::warn!(
            "WARNING: You specified a maxmemory value that is less than 1MB (current value is {} bytes). Are you sure this is what you really want?",
            server.config.maxmemory
        );
    }
    server.ae_main();
    0
}
