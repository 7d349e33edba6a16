//! Server commands: INFO, CONFIG, COMMAND, SLOWLOG, MONITOR, TIME, DBSIZE,
//! LASTSAVE, SHUTDOWN, DEBUG.

use super::{arg_is, reply_help, reply_subcommand_syntax_error, reply_syntax_error, CommandDef, CommandTable};
use crate::client::*;
use crate::config;
use crate::server::{Server, ShutdownFlags, STATS_METRIC_COMMAND, STATS_METRIC_NET_INPUT, STATS_METRIC_NET_OUTPUT};
use crate::util::bytes_to_human;

pub static COMMANDS: &[CommandDef] = &[
    CommandDef { name: "info", proc_: info_command, arity: -1, sflags: "ok-loading ok-stale random @dangerous", firstkey: 0, lastkey: 0, keystep: 0 },
    CommandDef { name: "config", proc_: config_command, arity: -2, sflags: "admin ok-loading ok-stale no-script", firstkey: 0, lastkey: 0, keystep: 0 },
    CommandDef { name: "command", proc_: command_command, arity: -1, sflags: "ok-loading ok-stale random @connection", firstkey: 0, lastkey: 0, keystep: 0 },
    CommandDef { name: "slowlog", proc_: slowlog_command, arity: -2, sflags: "admin random ok-loading ok-stale", firstkey: 0, lastkey: 0, keystep: 0 },
    CommandDef { name: "monitor", proc_: monitor_command, arity: 1, sflags: "admin no-script ok-loading ok-stale", firstkey: 0, lastkey: 0, keystep: 0 },
    CommandDef { name: "time", proc_: time_command, arity: 1, sflags: "ok-loading ok-stale random fast", firstkey: 0, lastkey: 0, keystep: 0 },
    CommandDef { name: "dbsize", proc_: dbsize_command, arity: 1, sflags: "readonly fast @keyspace", firstkey: 0, lastkey: 0, keystep: 0 },
    CommandDef { name: "lastsave", proc_: lastsave_command, arity: 1, sflags: "random fast ok-loading ok-stale @admin @dangerous", firstkey: 0, lastkey: 0, keystep: 0 },
    CommandDef { name: "shutdown", proc_: shutdown_command, arity: -1, sflags: "admin no-script ok-loading ok-stale", firstkey: 0, lastkey: 0, keystep: 0 },
    CommandDef { name: "restore", proc_: crate::rdb::restore_command, arity: -4, sflags: "write use-memory @keyspace @dangerous", firstkey: 1, lastkey: 1, keystep: 1 },
    CommandDef { name: "dump", proc_: crate::rdb::dump_command, arity: 2, sflags: "read-only random @keyspace", firstkey: 1, lastkey: 1, keystep: 1 },
    CommandDef { name: "bgsave", proc_: crate::rdb::bgsave_command, arity: -1, sflags: "admin no-script", firstkey: 0, lastkey: 0, keystep: 0 },
    CommandDef { name: "save", proc_: crate::rdb::save_command, arity: 1, sflags: "admin no-script", firstkey: 0, lastkey: 0, keystep: 0 },
    CommandDef { name: "bgrewriteaof", proc_: crate::aof_rewrite::bgrewriteaof_command, arity: 1, sflags: "admin no-script", firstkey: 0, lastkey: 0, keystep: 0 },
    CommandDef { name: "latency", proc_: crate::latency::latency_command, arity: -2, sflags: "admin no-script ok-loading ok-stale", firstkey: 0, lastkey: 0, keystep: 0 },
];

/// TIME
pub fn time_command(_s: &mut Server, c: &mut Client) {
    let us = crate::util::ustime();
    c.add_reply_array_len(2);
    c.add_reply_bulk_long_long(us / 1_000_000);
    c.add_reply_bulk_long_long(us % 1_000_000);
}

/// DBSIZE
pub fn dbsize_command(s: &mut Server, c: &mut Client) {
    let n = s.dbs[c.db].size();
    c.add_reply_long_long(n as i64);
}

/// LASTSAVE
pub fn lastsave_command(s: &mut Server, c: &mut Client) {
    c.add_reply_long_long(s.lastsave);
}

/// MONITOR
pub fn monitor_command(s: &mut Server, c: &mut Client) {
    // A client that expects one reply per command (inside EXEC) can't.
    if c.flags & CLIENT_DENY_BLOCKING != 0 {
        c.add_reply_error("MONITOR isn't allowed for DENY BLOCKING client");
        return;
    }
    // A replica can't become a monitor; a monitor is already one.
    if c.flags & CLIENT_SLAVE != 0 {
        return;
    }
    c.flags |= CLIENT_SLAVE | CLIENT_MONITOR;
    s.monitors.push((c.fd, c.id));
    c.add_reply_ok();
}

/// SHUTDOWN [NOSAVE|SAVE]
pub fn shutdown_command(s: &mut Server, c: &mut Client) {
    let mut flags = ShutdownFlags::default();
    if c.argv.len() > 2 {
        reply_syntax_error(c);
        return;
    }
    if c.argv.len() == 2 {
        let a = c.argv.get(1);
        if arg_is(a, "nosave") {
            flags.nosave = true;
        } else if arg_is(a, "save") {
            flags.save = true;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    if s.prepare_for_shutdown(flags).is_ok() {
        s.exit_after_shutdown(0);
    }
    c.add_reply_error("Errors trying to SHUTDOWN. Check logs.");
}

const SLOWLOG_HELP: &[&str] = &[
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10). Entries are",
    "    made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
];

/// SLOWLOG GET [count] | LEN | RESET | HELP
pub fn slowlog_command(s: &mut Server, c: &mut Client) {
    let argc = c.argv.len();
    let sub = c.argv.get(1);
    if argc == 2 && arg_is(sub, "help") {
        reply_help(c, SLOWLOG_HELP);
    } else if argc == 2 && arg_is(sub, "reset") {
        s.slowlog.clear();
        c.add_reply_ok();
    } else if argc == 2 && arg_is(sub, "len") {
        c.add_reply_long_long(s.slowlog.len() as i64);
    } else if (argc == 2 || argc == 3) && arg_is(sub, "get") {
        let mut count: i64 = 10;
        if argc == 3 {
            match crate::util::string2ll(c.argv.get(2)) {
                Some(v) => count = v,
                None => {
                    c.add_reply_error("value is not an integer or out of range");
                    return;
                }
            }
        }
        // A negative count means all entries, as Redis 6.2's loop does.
        let n = if count < 0 { s.slowlog.len() } else { (count as usize).min(s.slowlog.len()) };
        c.add_reply_array_len(n);
        for e in s.slowlog.iter().take(n) {
            c.add_reply_array_len(6);
            c.add_reply_long_long(e.id);
            c.add_reply_long_long(e.time);
            c.add_reply_long_long(e.duration);
            c.add_reply_array_len(e.argv.len());
            for a in &e.argv {
                c.add_reply_bulk(a);
            }
            c.add_reply_bulk(e.peerid.as_bytes());
            c.add_reply_bulk(e.cname.as_bytes());
        }
    } else {
        reply_subcommand_syntax_error(c);
    }
}

fn add_command_info(c: &mut Client, t: &CommandTable, i: usize) {
    let cmd = &t.cmds[i];
    let flags = CommandTable::flag_names(cmd.flags);
    c.add_reply_array_len(7);
    c.add_reply_bulk(cmd.name.as_bytes());
    c.add_reply_long_long(cmd.arity as i64);
    c.add_reply_set_len(flags.len());
    for f in flags {
        c.add_reply_status(f);
    }
    c.add_reply_long_long(cmd.firstkey as i64);
    c.add_reply_long_long(cmd.lastkey as i64);
    c.add_reply_long_long(cmd.keystep as i64);
    c.add_reply_set_len(cmd.categories.len());
    for cat in &cmd.categories {
        c.add_reply_status(cat);
    }
}

const COMMAND_HELP: &[&str] = &[
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
];

/// COMMAND [COUNT | INFO name... | GETKEYS cmd args... | HELP]
pub fn command_command(s: &mut Server, c: &mut Client) {
    let argc = c.argv.len();
    if argc == 1 {
        c.add_reply_array_len(s.commands.len());
        for i in 0..s.commands.len() {
            add_command_info(c, &s.commands, i);
        }
        return;
    }
    let sub = c.argv.get(1).to_ascii_lowercase();
    match sub.as_slice() {
        b"help" if argc == 2 => reply_help(c, COMMAND_HELP),
        b"count" if argc == 2 => c.add_reply_long_long(s.commands.len() as i64),
        b"info" => {
            c.add_reply_array_len(argc - 2);
            for j in 2..argc {
                match s.commands.lookup_original(c.argv.get(j)) {
                    Some(i) => add_command_info(c, &s.commands, i),
                    None => c.add_reply_null_array(),
                }
            }
        }
        b"getkeys" if argc >= 3 => {
            let Some(i) = s.commands.lookup_original(c.argv.get(2)) else {
                c.add_reply_error("Invalid command specified");
                return;
            };
            let cmd = &s.commands.cmds[i];
            if cmd.firstkey == 0 {
                c.add_reply_error("The command has no key arguments");
                return;
            }
            let nargs = (argc - 2) as i32;
            if (cmd.arity > 0 && cmd.arity != nargs) || nargs < -cmd.arity {
                c.add_reply_error("Invalid number of arguments specified for command");
                return;
            }
            let keys = get_keys_from_command(cmd.firstkey, cmd.lastkey, cmd.keystep, nargs);
            if keys.is_empty() {
                c.add_reply_error("Invalid arguments specified for command");
                return;
            }
            c.add_reply_array_len(keys.len());
            for k in keys {
                let key = c.argv.get(2 + k).to_vec();
                c.add_reply_bulk(&key);
            }
        }
        _ => reply_subcommand_syntax_error(c),
    }
}

/// Positions of the keys of a command with `argc` arguments, from its
/// first/last/step triple (`getKeysUsingCommandTable`).
pub fn get_keys_from_command(first: i32, last: i32, step: i32, argc: i32) -> Vec<usize> {
    let mut keys = Vec::new();
    if first == 0 || step <= 0 {
        return keys;
    }
    let last = if last < 0 { argc + last } else { last };
    let mut j = first;
    while j <= last && j < argc {
        keys.push(j as usize);
        j += step;
    }
    keys
}

const CONFIG_HELP: &[&str] = &[
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
];

/// CONFIG GET pattern | SET name value | RESETSTAT | REWRITE | HELP
pub fn config_command(s: &mut Server, c: &mut Client) {
    let argc = c.argv.len();
    let sub = c.argv.get(1).to_ascii_lowercase();
    match (sub.as_slice(), argc) {
        (b"help", 2) => reply_help(c, CONFIG_HELP),
        (b"get", 3) => {
            let pairs = config::config_get(&s.config, c.argv.get(2));
            c.add_reply_map_len(pairs.len());
            for (k, v) in pairs {
                c.add_reply_bulk(k.as_bytes());
                c.add_reply_bulk(v.as_bytes());
            }
        }
        (b"set", 4) => config_set(s, c),
        (b"resetstat", 2) => {
            s.reset_server_stats();
            c.add_reply_ok();
        }
        (b"rewrite", 2) => match &s.configfile {
            None => c.add_reply_error("The server is running without a config file"),
            Some(path) => {
                let path = path.clone();
                match config::rewrite_config(s, &path) {
                    Ok(()) => {
                        log::info!("CONFIG REWRITE executed with success.");
                        c.add_reply_ok();
                    }
                    Err(e) => {
                        log::warn!("CONFIG REWRITE failed: {}", e);
                        c.add_reply_error(&format!("Rewriting config file: {}", e));
                    }
                }
            }
        },
        _ => reply_subcommand_syntax_error(c),
    }
}

fn config_set(s: &mut Server, c: &mut Client) {
    let name = c.argv.get_str(2).to_string();
    let value = c.argv.get_str(3).into_owned();
    let def = match config::lookup(&name) {
        Some(d) if d.flags & config::IMMUTABLE == 0 => d,
        _ => {
            c.add_reply_error(&format!("Unsupported CONFIG parameter: {}", name));
            return;
        }
    };
    // 6.2 takes exactly one value; options with their own syntax (save,
    // client-output-buffer-limit, …) split it into their arguments.
    let is_special = matches!(def.kind, config::Kind::Special { .. });
    let args: Vec<String> = if def.name == "save" {
        config::split_save_value(&value)
    } else if is_special {
        match crate::proto::split_args(value.as_bytes()) {
            Some(v) if !v.is_empty() => v.into_iter().map(|a| String::from_utf8_lossy(&a).into_owned()).collect(),
            _ => vec![String::new()],
        }
    } else {
        vec![value.clone()]
    };
    let shown = value;
    let old = s.config.clone();
    if let Err(e) = def.set(&mut s.config, &args) {
        s.config = old;
        // 6.2's special-syntax options report no reason; `dir` reports
        // the failed chdir.
        let msg = if def.name == "dir" {
            format!("Changing directory: {}", e)
        } else if is_special {
            format!("Invalid argument '{}' for CONFIG SET '{}'", shown, name)
        } else {
            format!("Invalid argument '{}' for CONFIG SET '{}' - {}", shown, name, e)
        };
        c.add_reply_error(&msg);
        return;
    }
    if let Some(apply) = def.apply {
        if let Err(e) = apply(s) {
            s.config = old;
            c.add_reply_error(&format!("Invalid argument '{}' for CONFIG SET '{}' - {}", shown, name, e));
            return;
        }
    }
    c.add_reply_ok();
}

/// CPU times of this process and its waited-for children, as INFO cpu
/// prints them.
fn rusage(who: libc::c_int) -> (f64, f64) {
    // SAFETY: getrusage fills the zeroed struct we own.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut ru);
        ru
    };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (t(ru.ru_stime), t(ru.ru_utime))
}

fn uname() -> String {
    // SAFETY: uname fills the zeroed struct we own; the fields are
    // NUL-terminated C strings.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return "Linux".into();
        }
        let f = |a: &[libc::c_char]| std::ffi::CStr::from_ptr(a.as_ptr()).to_string_lossy().into_owned();
        format!("{} {} {}", f(&u.sysname), f(&u.release), f(&u.machine))
    }
}

impl Server {
    /// CONFIG RESETSTAT (`resetServerStats` plus slowlog-independent bits).
    pub fn reset_server_stats(&mut self) {
        let peak = crate::zmalloc::used_memory();
        self.stats = Default::default();
        self.stats.peak_memory = peak;
        self.child.stat_fork_rate = 0.0;
        for st in self.cmdstats.iter_mut() {
            *st = Default::default();
        }
    }

    /// The INFO text for `section` ("default", "all", "everything" or a
    /// section name), as `genRedisInfoString`.
    pub fn gen_info_string(&self, section: &str, current: Option<&Client>) -> String {
        let section = section.to_ascii_lowercase();
        let all = section == "all" || section == "everything";
        let def = section == "default";
        let want = |name: &str| all || def || section == name;
        let mut out = String::with_capacity(4096);
        let mut sections = 0;
        let mut begin = |out: &mut String, title: &str| {
            if sections > 0 {
                out.push_str("\r\n");
            }
            sections += 1;
            out.push_str("# ");
            out.push_str(title);
            out.push_str("\r\n");
        };
        macro_rules! field {
            ($out:expr, $($arg:tt)*) => {{
                use std::fmt::Write;
                let _ = write!($out, $($arg)*);
                $out.push_str("\r\n");
            }};
        }
        if want("server") {
            begin(&mut out, "Server");
            let uptime = self.unixtime - self.stat_starttime;
            field!(out, "redis_version:{}", crate::server::REDIS_VERSION);
            field!(out, "redis_git_sha1:00000000");
            field!(out, "redis_git_dirty:0");
            field!(out, "redis_build_id:0");
            field!(out, "redis_mode:standalone");
            field!(out, "os:{}", uname());
            field!(out, "arch_bits:{}", self.arch_bits);
            field!(out, "monotonic_clock:POSIX clock_gettime");
            field!(out, "multiplexing_api:epoll");
            field!(out, "atomicvar_api:c11-builtin");
            field!(out, "gcc_version:0.0.0");
            field!(out, "process_id:{}", std::process::id());
            field!(out, "process_supervised:no");
            field!(out, "run_id:{}", self.run_id);
            field!(out, "tcp_port:{}", self.config.port);
            field!(out, "server_time_usec:{}", crate::util::ustime());
            field!(out, "uptime_in_seconds:{}", uptime);
            field!(out, "uptime_in_days:{}", uptime / 86400);
            field!(out, "hz:{}", self.hz);
            field!(out, "configured_hz:{}", self.config.hz);
            field!(out, "lru_clock:{}", (self.mstime / 1000) & ((1 << 24) - 1));
            field!(out, "executable:{}", self.executable);
            field!(out, "config_file:{}", self.configfile.as_deref().unwrap_or(""));
            field!(out, "io_threads_active:0");
            field!(out, "oxredis_version:{}", crate::server::OXREDIS_VERSION);
        }
        if want("clients") {
            begin(&mut out, "Clients");
            let (max_in, max_out) = self.clients_peak_mem.recent_max();
            field!(out, "connected_clients:{}", self.clients_count);
            field!(out, "cluster_connections:0");
            field!(out, "maxclients:{}", self.config.maxclients);
            field!(out, "client_recent_max_input_buffer:{}", max_in);
            field!(out, "client_recent_max_output_buffer:{}", max_out);
            field!(out, "blocked_clients:{}", self.blocked.blocked_clients);
            field!(out, "tracking_clients:0");
            field!(out, "clients_in_timeout_table:{}", self.blocked.clients_timeout_table.len());
        }
        if want("memory") {
            begin(&mut out, "Memory");
            let used = crate::zmalloc::used_memory();
            let rss = crate::zmalloc::get_rss();
            let peak = self.stats.peak_memory.max(used);
            let total = crate::zmalloc::get_total_system_memory();
            let frag = if used > 0 { rss as f64 / used as f64 } else { 0.0 };
            field!(out, "used_memory:{}", used);
            field!(out, "used_memory_human:{}", bytes_to_human(used as u64));
            field!(out, "used_memory_rss:{}", rss);
            field!(out, "used_memory_rss_human:{}", bytes_to_human(rss as u64));
            field!(out, "used_memory_peak:{}", peak);
            field!(out, "used_memory_peak_human:{}", bytes_to_human(peak as u64));
            field!(out, "used_memory_peak_perc:{:.2}%", if peak > 0 { used as f64 * 100.0 / peak as f64 } else { 0.0 });
            // Overhead as Redis counts it: start-up memory, client buffers
            // and the keyspace's hash tables (`getMemoryOverheadData`).
            // Per class as `clientsCronTrackClientsMemUsage` sums it;
            // replicas apart, everything else is "normal".
            let (mut clients_slaves, mut clients_normal) = (0usize, 0usize);
            for cl in self.clients.iter().flatten().map(|b| b.as_ref()).chain(current) {
                if cl.obuf_class() == crate::client::CLIENT_TYPE_SLAVE {
                    clients_slaves += cl.total_memory();
                } else {
                    clients_normal += cl.total_memory();
                }
            }
            let clients_mem = clients_slaves + clients_normal;
            let dict_overhead: usize = self.dbs.iter().map(|d| d.overhead()).sum();
            let aof_buffer = self.aof_buffers_memory();
            let overhead = (self.startup_memory + clients_mem + dict_overhead + aof_buffer).min(used);
            let dataset = used - overhead;
            let net = used.saturating_sub(self.startup_memory);
            field!(out, "used_memory_overhead:{}", overhead);
            field!(out, "used_memory_startup:{}", self.startup_memory);
            field!(out, "used_memory_dataset:{}", dataset);
            field!(out, "used_memory_dataset_perc:{:.2}%", if net > 0 { dataset as f64 * 100.0 / net as f64 } else { 0.0 });
            field!(out, "allocator_allocated:{}", used);
            field!(out, "allocator_active:{}", used);
            field!(out, "allocator_resident:{}", rss);
            field!(out, "total_system_memory:{}", total);
            field!(out, "total_system_memory_human:{}", bytes_to_human(total));
            field!(out, "used_memory_lua:37888");
            field!(out, "used_memory_lua_human:37.00K");
            field!(out, "used_memory_scripts:0");
            field!(out, "used_memory_scripts_human:0B");
            field!(out, "number_of_cached_scripts:0");
            field!(out, "maxmemory:{}", self.config.maxmemory);
            field!(out, "maxmemory_human:{}", bytes_to_human(self.config.maxmemory as u64));
            field!(out, "maxmemory_policy:{}", config::name_of(config::MAXMEMORY_POLICIES, self.config.maxmemory_policy));
            field!(out, "allocator_frag_ratio:1.00");
            field!(out, "allocator_frag_bytes:0");
            field!(out, "allocator_rss_ratio:{:.2}", frag);
            field!(out, "allocator_rss_bytes:{}", rss as i64 - used as i64);
            field!(out, "rss_overhead_ratio:1.00");
            field!(out, "rss_overhead_bytes:0");
            field!(out, "mem_fragmentation_ratio:{:.2}", frag);
            field!(out, "mem_fragmentation_bytes:{}", rss as i64 - used as i64);
            field!(out, "mem_not_counted_for_evict:{}", self.free_memory_get_not_counted_memory());
            field!(out, "mem_replication_backlog:0");
            field!(out, "mem_clients_slaves:{}", clients_slaves);
            field!(out, "mem_clients_normal:{}", clients_normal);
            field!(out, "mem_aof_buffer:{}", aof_buffer);
            field!(out, "mem_allocator:{}", crate::zmalloc::ALLOCATOR_NAME);
            field!(out, "active_defrag_running:0");
            field!(out, "lazyfree_pending_objects:{}", crate::lazyfree::pending_objects());
            field!(out, "lazyfreed_objects:{}", crate::lazyfree::freed_objects());
        }
        if want("persistence") {
            begin(&mut out, "Persistence");
            field!(out, "loading:{}", self.loading as i32);
            if self.loading {
                let a = &self.aof;
                let elapsed = (self.unixtime - a.loading_start).max(0);
                let perc = if a.loading_total_bytes > 0 {
                    a.loading_loaded_bytes as f64 * 100.0 / a.loading_total_bytes as f64
                } else {
                    0.0
                };
                let eta = if elapsed > 0 && a.loading_loaded_bytes > 0 {
                    let speed = a.loading_loaded_bytes as f64 / elapsed as f64;
                    ((a.loading_total_bytes - a.loading_loaded_bytes) as f64 / speed) as i64
                } else {
                    1
                };
                field!(out, "loading_start_time:{}", a.loading_start);
                field!(out, "loading_total_bytes:{}", a.loading_total_bytes);
                field!(out, "loading_rdb_used_mem:0");
                field!(out, "loading_loaded_bytes:{}", a.loading_loaded_bytes);
                field!(out, "loading_loaded_perc:{:.2}", perc);
                field!(out, "loading_eta_seconds:{}", eta);
            }
            let ch = &self.child;
            let cow_age = if ch.stat_current_cow_updated > 0 {
                crate::util::monotonic_us().saturating_sub(ch.stat_current_cow_updated) / 1_000_000
            } else {
                0
            };
            let fork_perc = if ch.stat_module_progress > 0.0 {
                ch.stat_module_progress * 100.0
            } else if ch.stat_current_save_keys_total > 0 {
                ch.stat_current_save_keys_processed as f64 / ch.stat_current_save_keys_total as f64 * 100.0
            } else {
                0.0
            };
            field!(out, "current_cow_size:{}", ch.stat_current_cow_bytes);
            field!(out, "current_cow_size_age:{}", cow_age);
            field!(out, "current_fork_perc:{:.2}", fork_perc);
            field!(out, "current_save_keys_processed:{}", ch.stat_current_save_keys_processed);
            field!(out, "current_save_keys_total:{}", ch.stat_current_save_keys_total);
            field!(out, "rdb_changes_since_last_save:{}", self.dirty);
            let rdb_child = self.child.child_type == crate::fork::ChildType::Rdb;
            field!(out, "rdb_bgsave_in_progress:{}", rdb_child as i32);
            field!(out, "rdb_last_save_time:{}", self.lastsave);
            field!(out, "rdb_last_bgsave_status:{}", if self.rdb.lastbgsave_ok { "ok" } else { "err" });
            field!(out, "rdb_last_bgsave_time_sec:{}", self.rdb.save_time_last);
            field!(out, "rdb_current_bgsave_time_sec:{}", if rdb_child && self.rdb.save_time_start != -1 { self.unixtime - self.rdb.save_time_start } else { -1 });
            field!(out, "rdb_last_cow_size:{}", self.child.stat_rdb_cow_bytes);
            field!(out, "aof_enabled:{}", (self.aof.state != crate::aof::AofStatus::Off) as i32);
            let rw = &self.aof.rewrite;
            let aof_child = self.child.child_type == crate::fork::ChildType::Aof;
            field!(out, "aof_rewrite_in_progress:{}", aof_child as i32);
            field!(out, "aof_rewrite_scheduled:{}", rw.scheduled as i32);
            field!(out, "aof_last_rewrite_time_sec:{}", rw.time_last);
            field!(
                out,
                "aof_current_rewrite_time_sec:{}",
                if aof_child { crate::util::ustime() / 1_000_000 - rw.time_start } else { -1 }
            );
            field!(out, "aof_last_bgrewrite_status:{}", if rw.lastbgrewrite_ok { "ok" } else { "err" });
            field!(out, "aof_last_write_status:{}", if self.aof_last_write_status_ok() { "ok" } else { "err" });
            field!(out, "aof_last_cow_size:{}", rw.stat_aof_cow_bytes);
            field!(out, "module_fork_in_progress:0");
            field!(out, "module_fork_last_cow_size:0");
            if self.aof.state != crate::aof::AofStatus::Off {
                let a = &self.aof;
                let pending_fsync = a.bio.as_ref().map(|b| b.pending(crate::bio::JobType::AofFsync)).unwrap_or(0);
                field!(out, "aof_current_size:{}", a.current_size);
                field!(out, "aof_base_size:{}", a.base_size);
                field!(out, "aof_pending_rewrite:{}", a.rewrite.scheduled as i32);
                field!(out, "aof_buffer_length:{}", a.buf.len());
                field!(out, "aof_rewrite_buffer_length:{}", a.rewrite.buffer_size());
                field!(out, "aof_pending_bio_fsync:{}", pending_fsync);
                field!(out, "aof_delayed_fsync:{}", a.delayed_fsync);
            }
        }
        if want("stats") {
            begin(&mut out, "Stats");
            let st = &self.stats;
            field!(out, "total_connections_received:{}", st.numconnections);
            field!(out, "total_commands_processed:{}", st.numcommands);
            field!(out, "instantaneous_ops_per_sec:{}", st.inst[STATS_METRIC_COMMAND].get());
            field!(out, "total_net_input_bytes:{}", st.net_input_bytes);
            field!(out, "total_net_output_bytes:{}", st.net_output_bytes);
            field!(out, "instantaneous_input_kbps:{:.2}", st.inst[STATS_METRIC_NET_INPUT].get() as f64 / 1024.0);
            field!(out, "instantaneous_output_kbps:{:.2}", st.inst[STATS_METRIC_NET_OUTPUT].get() as f64 / 1024.0);
            field!(out, "rejected_connections:{}", st.rejected_conn);
            field!(out, "sync_full:0");
            field!(out, "sync_partial_ok:0");
            field!(out, "sync_partial_err:0");
            field!(out, "expired_keys:{}", st.expiredkeys);
            field!(out, "expired_stale_perc:{:.2}", st.expired_stale_perc * 100.0);
            field!(out, "expired_time_cap_reached_count:{}", st.expired_time_cap_reached_count);
            field!(out, "expire_cycle_cpu_milliseconds:{}", st.expire_cycle_time_used / 1000);
            field!(out, "evicted_keys:{}", st.evictedkeys);
            let (total_exceeded, current_exceeded) = self.eviction_exceeded_time_ms();
            field!(out, "total_eviction_exceeded_time:{}", total_exceeded);
            field!(out, "current_eviction_exceeded_time:{}", current_exceeded);
            field!(out, "keyspace_hits:{}", st.keyspace_hits);
            field!(out, "keyspace_misses:{}", st.keyspace_misses);
            field!(out, "pubsub_channels:{}", self.pubsub.channels.len());
            field!(out, "pubsub_patterns:{}", self.pubsub.patterns.len());
            field!(out, "latest_fork_usec:{}", st.latest_fork_usec);
            field!(out, "total_forks:{}", st.total_forks);
            field!(out, "migrate_cached_sockets:0");
            field!(out, "slave_expires_tracked_keys:0");
            field!(out, "active_defrag_hits:0");
            field!(out, "active_defrag_misses:0");
            field!(out, "active_defrag_key_hits:0");
            field!(out, "active_defrag_key_misses:0");
            field!(out, "tracking_total_keys:0");
            field!(out, "tracking_total_items:0");
            field!(out, "tracking_total_prefixes:0");
            field!(out, "unexpected_error_replies:{}", st.unexpected_error_replies);
            field!(out, "total_error_replies:{}", st.total_error_replies);
            field!(out, "dump_payload_sanitizations:0");
            field!(out, "total_reads_processed:{}", st.numcommands);
            field!(out, "total_writes_processed:{}", st.numcommands);
            field!(out, "io_threaded_reads_processed:0");
            field!(out, "io_threaded_writes_processed:0");
        }
        if want("replication") {
            begin(&mut out, "Replication");
            field!(out, "role:master");
            field!(out, "connected_slaves:0");
            field!(out, "master_failover_state:no-failover");
            field!(out, "master_replid:{}", self.run_id);
            field!(out, "master_replid2:0000000000000000000000000000000000000000");
            field!(out, "master_repl_offset:0");
            field!(out, "second_repl_offset:-1");
            field!(out, "repl_backlog_active:0");
            field!(out, "repl_backlog_size:1048576");
            field!(out, "repl_backlog_first_byte_offset:0");
            field!(out, "repl_backlog_histlen:0");
        }
        if want("cpu") {
            begin(&mut out, "CPU");
            let (sys, user) = rusage(libc::RUSAGE_SELF);
            let (csys, cuser) = rusage(libc::RUSAGE_CHILDREN);
            field!(out, "used_cpu_sys:{:.6}", sys);
            field!(out, "used_cpu_user:{:.6}", user);
            field!(out, "used_cpu_sys_children:{:.6}", csys);
            field!(out, "used_cpu_user_children:{:.6}", cuser);
        }
        if want("modules") {
            begin(&mut out, "Modules");
        }
        if all || section == "commandstats" {
            begin(&mut out, "Commandstats");
            for (i, st) in self.cmdstats.iter().enumerate() {
                if st.calls == 0 && st.rejected_calls == 0 && st.failed_calls == 0 {
                    continue;
                }
                let per = if st.calls > 0 { st.microseconds as f64 / st.calls as f64 } else { 0.0 };
                field!(
                    out,
                    "cmdstat_{}:calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}",
                    self.commands.cmds[i].name,
                    st.calls,
                    st.microseconds,
                    per,
                    st.rejected_calls,
                    st.failed_calls
                );
            }
        }
        if want("errorstats") {
            begin(&mut out, "Errorstats");
            for (k, v) in &self.stats.errors {
                field!(out, "errorstat_{}:count={}", k, v);
            }
        }
        if want("cluster") {
            begin(&mut out, "Cluster");
            field!(out, "cluster_enabled:0");
        }
        if want("keyspace") {
            begin(&mut out, "Keyspace");
            for db in &self.dbs {
                let keys = db.size();
                if keys > 0 {
                    field!(out, "db{}:keys={},expires={},avg_ttl={}", db.id, keys, db.expires_size(), db.avg_ttl);
                }
            }
        }
        out
    }
}

/// INFO [section]
pub fn info_command(s: &mut Server, c: &mut Client) {
    if c.argv.len() > 2 {
        reply_syntax_error(c);
        return;
    }
    let section = if c.argv.len() == 2 { c.argv.get_str(1).into_owned() } else { "default".to_string() };
    let info = s.gen_info_string(&section, Some(c));
    c.add_reply_verbatim(info.as_bytes(), "txt");
}
