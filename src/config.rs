//! Configuration: redis.conf parsing, CONFIG GET/SET/RESETSTAT/REWRITE, and
//! the table of every option (mirrors config.c's `standardConfig` table).
//!
//! 1. Each option is one [`ConfigDef`] in [`CONFIG_TABLE`]: its name and
//!    old alias, flags, a typed getter/setter pair on [`Config`], its
//!    default, bounds, and an optional apply hook that makes a CONFIG SET
//!    take effect on the running server.
//! 2. [`Config::default`] is built from the table's defaults, so a default
//!    is written once.
//! 3. A config file is read as lines, each split like `sdssplitargs`;
//!    `include` recurses; command-line `--name value` pairs are appended as
//!    lines after the file, as redis-server does. Any error stops start-up
//!    with Redis's `*** FATAL CONFIG FILE ERROR ***` report.
//! 4. Options whose feature is not built yet carry `NOT_IMPLEMENTED`: they
//!    are accepted and shown by CONFIG GET, and a file that sets one gets a
//!    single log line saying so. Most of them are [`Kind::Stored`]: typed
//!    validation (yes/no, bounds, enum names, memory units) without a field
//!    of their own, their canonical text kept in [`Config::stored`]. When a
//!    feature lands, its options move to a typed field and lose the flag.
//! 5. Every option of Redis 6.2 is in the table, old names (`slaveof`,
//!    `slave-read-only`, …) as aliases, so an existing 6.2 redis.conf
//!    loads; docs/config-status.md says which ones have their effect.

use std::collections::{BTreeMap, BTreeSet};

use crate::server::Server;

/// Can't be changed with CONFIG SET.
pub const IMMUTABLE: u32 = 1 << 0;
/// The value is a secret: never logged.
pub const SENSITIVE: u32 = 1 << 1;
/// Accepted and stored, but the feature behind it is not built yet.
pub const NOT_IMPLEMENTED: u32 = 1 << 2;
/// Alias-only or file-only directives that CONFIG GET does not list.
pub const HIDDEN: u32 = 1 << 3;
/// Memory option: accepts units, printed in bytes.
pub const MEMORY: u32 = 1 << 4;

pub type ApplyFn = fn(&mut Server) -> Result<(), String>;

/// How an option's value is read, written and validated.
pub enum Kind {
    Bool { get: fn(&Config) -> bool, set: fn(&mut Config, bool), default: bool },
    Int { get: fn(&Config) -> i64, set: fn(&mut Config, i64), default: i64, min: i64, max: i64 },
    Enum { get: fn(&Config) -> i32, set: fn(&mut Config, i32), names: &'static [(&'static str, i32)], default: i32 },
    Str { get: fn(&Config) -> String, set: fn(&mut Config, String), default: &'static str },
    /// Options with their own syntax (bind, save, dir, …). `set` gets the
    /// arguments after the name; `get` gives CONFIG GET's value; `default`
    /// is parsed with `set` at start.
    Special {
        get: fn(&Config) -> String,
        set: fn(&mut Config, &[String]) -> Result<(), String>,
        default: &'static [&'static str],
    },
    /// An option with no field of its own: validated like its type, kept
    /// as its canonical text in [`Config::stored`]. Used for options whose
    /// feature oxredis does not have yet, so accepting them costs one line.
    Stored(Stored),
}

/// The type of a [`Kind::Stored`] option, with its default.
pub enum Stored {
    Bool(bool),
    Int { default: i64, min: i64, max: i64 },
    Enum { names: &'static [(&'static str, i32)], default: i32 },
    Str(&'static str),
}

pub struct ConfigDef {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub flags: u32,
    pub kind: Kind,
    pub apply: Option<ApplyFn>,
}

/// Values of every option. Fields are named after the option.
#[derive(Default, Clone)]
pub struct Config {
    pub daemonize: bool,
    pub pidfile: String,
    pub port: i64,
    pub bind: Vec<String>,
    pub tcp_backlog: i64,
    pub unixsocket: String,
    pub unixsocketperm: u32,
    pub timeout: i64,
    pub tcp_keepalive: i64,
    pub protected_mode: bool,
    pub loglevel: i32,
    pub logfile: String,
    pub databases: i64,
    pub always_show_logo: bool,
    pub hz: i64,
    pub lfu_log_factor: i64,
    pub hash_max_ziplist_entries: i64,
    pub hash_max_ziplist_value: i64,
    pub list_max_ziplist_size: i64,
    pub set_max_intset_entries: i64,
    pub zset_max_ziplist_entries: i64,
    pub zset_max_ziplist_value: i64,
    pub lfu_decay_time: i64,
    pub active_expire_effort: i64,
    pub activerehashing: bool,
    pub dynamic_hz: bool,
    pub maxclients: i64,
    pub requirepass: Option<Vec<u8>>,
    pub proto_max_bulk_len: i64,
    pub client_query_buffer_limit: i64,
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: i64,
    pub dir: String,
    pub maxmemory: i64,
    pub maxmemory_policy: i32,
    pub maxmemory_samples: i64,
    pub maxmemory_eviction_tenacity: i64,
    pub appendonly: bool,
    pub appendfilename: String,
    pub appendfsync: i32,
    pub no_appendfsync_on_rewrite: bool,
    pub aof_load_truncated: bool,
    pub key_load_delay: i64,
    /// `auto-aof-rewrite-percentage` (`aof_rewrite_perc`), 0 = off.
    pub aof_rewrite_perc: i64,
    /// `auto-aof-rewrite-min-size` in bytes.
    pub aof_rewrite_min_size: i64,
    /// Accepted; the rewrite writes pure AOF until RDB support lands.
    pub aof_use_rdb_preamble: bool,
    /// fsync the rewrite's temp file every 32 MiB it writes.
    pub aof_rewrite_incremental_fsync: bool,
    /// Microseconds a fork child sleeps after each key (tests only;
    /// negative: sleep 1 µs with probability 1/|n|).
    pub rdb_key_save_delay: i64,
    pub dbfilename: String,
    /// Save points, `(seconds, changes)` (`server.saveparams`): the cron
    /// starts a BGSAVE once `changes` writes are older than `seconds`.
    pub save_params: Vec<(i64, i64)>,
    /// A config file's first `save` line replaces the defaults, later ones
    /// add to it (Redis's `save_loaded`).
    pub save_loaded: bool,
    /// `stop-writes-on-bgsave-error`: `-MISCONF` for writes while the last
    /// background save failed and save points are set.
    pub stop_writes_on_bgsave_err: bool,
    /// `rdb-del-sync-files`: no effect without replication (oxredis never
    /// writes replication sync files).
    pub rdb_del_sync_files: bool,
    pub latency_monitor_threshold: i64,
    pub supervised: i32,
    pub set_proc_title: bool,
    pub proc_title_template: String,

    /// Replication target (`replicaof host port`), none when a master.
    pub masterhost: Option<(String, i64)>,
    /// `client-output-buffer-limit`: (hard, soft, soft seconds) for the
    /// normal, replica and pubsub classes.
    pub client_obuf_limits: [(i64, i64, i64); 3],
    /// `notify-keyspace-events` as NOTIFY_* flags.
    pub notify_keyspace_events: i32,
    /// `lazyfree-lazy-*`: which deletions free big values in the
    /// background (see lazyfree.rs).
    pub lazyfree_lazy_eviction: bool,
    pub lazyfree_lazy_expire: bool,
    pub lazyfree_lazy_server_del: bool,
    pub lazyfree_lazy_user_del: bool,
    pub lazyfree_lazy_user_flush: bool,
    /// `oom-score-adj-values` for master, replica and background child.
    pub oom_score_adj_values: [i64; 3],
    /// `user` directives as written (ACL rules, applied once ACL exists).
    pub acl_users: Vec<String>,
    /// `loadmodule` directives as written.
    pub load_modules: Vec<String>,
    /// Values of the [`Kind::Stored`] options, by option name.
    pub stored: BTreeMap<&'static str, String>,

    /// `rename-command` directives: (old name, new name or empty).
    pub renamed_commands: Vec<(String, String)>,
    /// Options set in the config file whose feature is not built yet.
    pub not_implemented_seen: BTreeSet<&'static str>,
}

pub const LOGLEVELS: &[(&str, i32)] = &[("debug", 0), ("verbose", 1), ("notice", 2), ("warning", 3)];
/// `maxmemory-policy` values are Redis's: a policy number in the high
/// bits, and flags saying what it samples and how it scores a key.
pub const MAXMEMORY_FLAG_LRU: i32 = 1 << 0;
pub const MAXMEMORY_FLAG_LFU: i32 = 1 << 1;
pub const MAXMEMORY_FLAG_ALLKEYS: i32 = 1 << 2;
#[allow(clippy::identity_op)] // written as Redis writes it: policy 0
pub const MAXMEMORY_VOLATILE_LRU: i32 = (0 << 8) | MAXMEMORY_FLAG_LRU;
pub const MAXMEMORY_VOLATILE_LFU: i32 = (1 << 8) | MAXMEMORY_FLAG_LFU;
pub const MAXMEMORY_VOLATILE_TTL: i32 = 2 << 8;
pub const MAXMEMORY_VOLATILE_RANDOM: i32 = 3 << 8;
pub const MAXMEMORY_ALLKEYS_LRU: i32 = (4 << 8) | MAXMEMORY_FLAG_LRU | MAXMEMORY_FLAG_ALLKEYS;
pub const MAXMEMORY_ALLKEYS_LFU: i32 = (5 << 8) | MAXMEMORY_FLAG_LFU | MAXMEMORY_FLAG_ALLKEYS;
pub const MAXMEMORY_ALLKEYS_RANDOM: i32 = (6 << 8) | MAXMEMORY_FLAG_ALLKEYS;
pub const MAXMEMORY_NO_EVICTION: i32 = 7 << 8;
pub const MAXMEMORY_POLICIES: &[(&str, i32)] = &[
    ("volatile-lru", MAXMEMORY_VOLATILE_LRU),
    ("volatile-lfu", MAXMEMORY_VOLATILE_LFU),
    ("volatile-random", MAXMEMORY_VOLATILE_RANDOM),
    ("volatile-ttl", MAXMEMORY_VOLATILE_TTL),
    ("allkeys-lru", MAXMEMORY_ALLKEYS_LRU),
    ("allkeys-lfu", MAXMEMORY_ALLKEYS_LFU),
    ("allkeys-random", MAXMEMORY_ALLKEYS_RANDOM),
    ("noeviction", MAXMEMORY_NO_EVICTION),
];
pub const APPENDFSYNC: &[(&str, i32)] = &[("no", 0), ("always", 1), ("everysec", 2)];
pub const SUPERVISED: &[(&str, i32)] = &[("upstart", 1), ("systemd", 2), ("auto", 3), ("no", 0)];

pub const SYSLOG_FACILITIES: &[(&str, i32)] = &[
    ("user", 8),
    ("local0", 128),
    ("local1", 136),
    ("local2", 144),
    ("local3", 152),
    ("local4", 160),
    ("local5", 168),
    ("local6", 176),
    ("local7", 184),
];
pub const REPL_DISKLESS_LOAD: &[(&str, i32)] = &[("disabled", 0), ("on-empty-db", 1), ("swapdb", 2)];
/// `yes` and `relative` are the same mode; CONFIG GET shows the first.
pub const OOM_SCORE_ADJ: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("relative", 1), ("absolute", 2)];
pub const ACL_PUBSUB_DEFAULT: &[(&str, i32)] = &[("allchannels", 1), ("resetchannels", 0)];
pub const SANITIZE_DUMP_PAYLOAD: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("clients", 2)];
pub const TLS_AUTH_CLIENTS: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("optional", 2)];

/// Keyspace notification classes (`notify-keyspace-events`).
pub const NOTIFY_KEYSPACE: i32 = 1 << 0; // K
pub const NOTIFY_KEYEVENT: i32 = 1 << 1; // E
pub const NOTIFY_GENERIC: i32 = 1 << 2; // g
pub const NOTIFY_STRING: i32 = 1 << 3; // $
pub const NOTIFY_LIST: i32 = 1 << 4; // l
pub const NOTIFY_SET: i32 = 1 << 5; // s
pub const NOTIFY_HASH: i32 = 1 << 6; // h
pub const NOTIFY_ZSET: i32 = 1 << 7; // z
pub const NOTIFY_EXPIRED: i32 = 1 << 8; // x
pub const NOTIFY_EVICTED: i32 = 1 << 9; // e
pub const NOTIFY_STREAM: i32 = 1 << 10; // t
pub const NOTIFY_KEY_MISS: i32 = 1 << 11; // m
pub const NOTIFY_MODULE: i32 = 1 << 13; // d
/// `A`: every class except key-miss.
pub const NOTIFY_ALL: i32 = NOTIFY_GENERIC
    | NOTIFY_STRING
    | NOTIFY_LIST
    | NOTIFY_SET
    | NOTIFY_HASH
    | NOTIFY_ZSET
    | NOTIFY_EXPIRED
    | NOTIFY_EVICTED
    | NOTIFY_STREAM
    | NOTIFY_MODULE;

/// Class letters in the order CONFIG GET prints them.
const NOTIFY_CLASS_CHARS: &[(char, i32)] = &[
    ('g', NOTIFY_GENERIC),
    ('$', NOTIFY_STRING),
    ('l', NOTIFY_LIST),
    ('s', NOTIFY_SET),
    ('h', NOTIFY_HASH),
    ('z', NOTIFY_ZSET),
    ('x', NOTIFY_EXPIRED),
    ('e', NOTIFY_EVICTED),
    ('t', NOTIFY_STREAM),
    ('d', NOTIFY_MODULE),
];

/// Parses `notify-keyspace-events` flags (`keyspaceEventsStringToFlags`).
pub fn keyspace_events_from_str(s: &str) -> Option<i32> {
    let mut flags = 0;
    for ch in s.chars() {
        flags |= match ch {
            'A' => NOTIFY_ALL,
            'K' => NOTIFY_KEYSPACE,
            'E' => NOTIFY_KEYEVENT,
            'm' => NOTIFY_KEY_MISS,
            _ => NOTIFY_CLASS_CHARS.iter().find(|(c, _)| *c == ch).map(|(_, f)| *f)?,
        };
    }
    Some(flags)
}

/// The flags as text, `A` standing for every class.
pub fn keyspace_events_to_string(flags: i32) -> String {
    let mut s = String::new();
    if flags & NOTIFY_ALL == NOTIFY_ALL {
        s.push('A');
    } else {
        s.extend(NOTIFY_CLASS_CHARS.iter().filter(|(_, f)| flags & f != 0).map(|(c, _)| *c));
    }
    if flags & NOTIFY_KEYSPACE != 0 {
        s.push('K');
    }
    if flags & NOTIFY_KEYEVENT != 0 {
        s.push('E');
    }
    if flags & NOTIFY_KEY_MISS != 0 {
        s.push('m');
    }
    s
}

/// Output buffer classes, in `client_obuf_limits` order.
pub const CLIENT_CLASS_NORMAL: usize = 0;
pub const CLIENT_CLASS_REPLICA: usize = 1;
pub const CLIENT_CLASS_PUBSUB: usize = 2;

pub const AOF_FSYNC_NO: i32 = 0;
pub const AOF_FSYNC_ALWAYS: i32 = 1;
pub const AOF_FSYNC_EVERYSEC: i32 = 2;

const INT_MAX: i64 = i32::MAX as i64;
const INT_MIN: i64 = i32::MIN as i64;
const LONG_MAX: i64 = i64::MAX;
const MB: i64 = 1024 * 1024;

macro_rules! bool_cfg {
    ($name:expr, $alias:expr, $field:ident, $default:expr, $flags:expr, $apply:expr) => {
        ConfigDef {
            name: $name,
            alias: $alias,
            flags: $flags,
            apply: $apply,
            kind: Kind::Bool { get: |c| c.$field, set: |c, v| c.$field = v, default: $default },
        }
    };
}

macro_rules! int_cfg {
    ($name:expr, $alias:expr, $field:ident, $default:expr, $min:expr, $max:expr, $flags:expr, $apply:expr) => {
        ConfigDef {
            name: $name,
            alias: $alias,
            flags: $flags,
            apply: $apply,
            kind: Kind::Int {
                get: |c| c.$field as i64,
                set: |c, v| c.$field = v as _,
                default: $default,
                min: $min,
                max: $max,
            },
        }
    };
}

macro_rules! enum_cfg {
    ($name:expr, $alias:expr, $field:ident, $names:expr, $default:expr, $flags:expr, $apply:expr) => {
        ConfigDef {
            name: $name,
            alias: $alias,
            flags: $flags,
            apply: $apply,
            kind: Kind::Enum { get: |c| c.$field, set: |c, v| c.$field = v, names: $names, default: $default },
        }
    };
}

macro_rules! str_cfg {
    ($name:expr, $alias:expr, $field:ident, $default:expr, $flags:expr, $apply:expr) => {
        ConfigDef {
            name: $name,
            alias: $alias,
            flags: $flags,
            apply: $apply,
            kind: Kind::Str { get: |c| c.$field.clone(), set: |c, v| c.$field = v, default: $default },
        }
    };
}

macro_rules! stored {
    ($name:expr, $alias:expr, $flags:expr, $ty:expr) => {
        ConfigDef { name: $name, alias: $alias, flags: NOT_IMPLEMENTED | $flags, apply: None, kind: Kind::Stored($ty) }
    };
}

macro_rules! stored_bool {
    ($name:expr, $alias:expr, $default:expr, $flags:expr) => {
        stored!($name, $alias, $flags, Stored::Bool($default))
    };
}

macro_rules! stored_int {
    ($name:expr, $alias:expr, $default:expr, $min:expr, $max:expr, $flags:expr) => {
        stored!($name, $alias, $flags, Stored::Int { default: $default, min: $min, max: $max })
    };
}

macro_rules! stored_enum {
    ($name:expr, $alias:expr, $names:expr, $default:expr, $flags:expr) => {
        stored!($name, $alias, $flags, Stored::Enum { names: $names, default: $default })
    };
}

macro_rules! stored_str {
    ($name:expr, $alias:expr, $default:expr, $flags:expr) => {
        stored!($name, $alias, $flags, Stored::Str($default))
    };
}

macro_rules! special {
    ($name:expr, $alias:expr, $flags:expr, $get:expr, $set:expr, $default:expr) => {
        ConfigDef {
            name: $name,
            alias: $alias,
            flags: $flags,
            apply: None,
            kind: Kind::Special { get: $get, set: $set, default: $default },
        }
    };
}

fn get_bind(c: &Config) -> String {
    c.bind.join(" ")
}

fn set_bind(c: &mut Config, args: &[String]) -> Result<(), String> {
    if args.is_empty() {
        return Err("wrong number of arguments".into());
    }
    if args.len() > 16 {
        return Err("Too many bind addresses specified.".into());
    }
    c.bind = if args.len() == 1 && args[0].is_empty() { Vec::new() } else { args.to_vec() };
    Ok(())
}

fn get_requirepass(c: &Config) -> String {
    c.requirepass.as_ref().map(|p| String::from_utf8_lossy(p).into_owned()).unwrap_or_default()
}

fn set_requirepass(c: &mut Config, args: &[String]) -> Result<(), String> {
    if args.len() != 1 {
        return Err("wrong number of arguments".into());
    }
    if args[0].len() > 512 {
        return Err("Password is longer than CONFIG_AUTHPASS_MAX_LEN".into());
    }
    c.requirepass = if args[0].is_empty() { None } else { Some(args[0].as_bytes().to_vec()) };
    Ok(())
}

fn get_unixsocketperm(c: &Config) -> String {
    format!("{:o}", c.unixsocketperm)
}

fn set_unixsocketperm(c: &mut Config, args: &[String]) -> Result<(), String> {
    let v = args.first().ok_or("wrong number of arguments")?;
    match u32::from_str_radix(v, 8) {
        Ok(p) if p <= 0o777 => {
            c.unixsocketperm = p;
            Ok(())
        }
        _ => Err("Invalid socket file permissions".into()),
    }
}

fn get_dir(c: &Config) -> String {
    match std::env::current_dir() {
        Ok(p) => p.to_string_lossy().into_owned(),
        Err(_) => c.dir.clone(),
    }
}

fn set_dir(c: &mut Config, args: &[String]) -> Result<(), String> {
    let d = args.first().ok_or("wrong number of arguments")?;
    if d.is_empty() {
        return Ok(());
    }
    std::env::set_current_dir(d).map_err(|e| crate::server::strerror(&e))?;
    c.dir = d.clone();
    Ok(())
}

fn get_save(c: &Config) -> String {
    c.save_params.iter().map(|(s, ch)| format!("{} {}", s, ch)).collect::<Vec<_>>().join(" ")
}

fn set_save(c: &mut Config, args: &[String]) -> Result<(), String> {
    // `save ""` clears; otherwise pairs of <seconds> <changes>, seconds
    // at least 1, changes at least 0 (`setConfigSaveOption`).
    if args.is_empty() {
        return Err("Invalid save parameters".into());
    }
    // One argument holding several (`--save "900 1 300 10"`) is split,
    // as Redis 7 does for its multi-argument options.
    let split: Vec<String>;
    let args = if args.len() == 1 {
        split = args[0].split_ascii_whitespace().map(String::from).collect();
        &split[..]
    } else {
        args
    };
    if !args.len().is_multiple_of(2) {
        return Err("Invalid save parameters".into());
    }
    let mut v = Vec::with_capacity(args.len() / 2);
    for p in args.chunks(2) {
        match (p[0].parse::<i64>(), p[1].parse::<i64>()) {
            (Ok(s), Ok(ch)) if s >= 1 && ch >= 0 => v.push((s, ch)),
            _ => return Err("Invalid save parameters".into()),
        }
    }
    c.save_params = v;
    Ok(())
}

/// CONFIG SET save's value split as 6.2 does (`sdssplitlen` on single
/// spaces: doubled or trailing spaces make empty, invalid arguments).
pub fn split_save_value(v: &str) -> Vec<String> {
    if v.is_empty() {
        return vec![String::new()];
    }
    v.split(' ').map(String::from).collect()
}

fn get_client_obuf_limits(c: &Config) -> String {
    let names = ["normal", "slave", "pubsub"];
    let parts: Vec<String> = c
        .client_obuf_limits
        .iter()
        .zip(names)
        .map(|((h, s, t), n)| format!("{} {} {} {}", n, h, s, t))
        .collect();
    parts.join(" ")
}

/// `client-output-buffer-limit <class> <hard> <soft> <soft-seconds> ...`:
/// only the classes named change.
fn set_client_obuf_limits(c: &mut Config, args: &[String]) -> Result<(), String> {
    if args.is_empty() || !args.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut limits = c.client_obuf_limits;
    for a in args.chunks(4) {
        let class = match a[0].to_ascii_lowercase().as_str() {
            "normal" => CLIENT_CLASS_NORMAL,
            "replica" | "slave" => CLIENT_CLASS_REPLICA,
            "pubsub" => CLIENT_CLASS_PUBSUB,
            _ => {
                return Err("Unrecognized client limit class: the user specified an invalid one, or 'master' which has no buffer limits.".into())
            }
        };
        let bad = || "Error in hard, soft or soft_seconds setting in buffer limit configuration.".to_string();
        let hard = crate::util::memtoll(&a[1]).filter(|v| *v >= 0).ok_or_else(bad)?;
        let soft = crate::util::memtoll(&a[2]).filter(|v| *v >= 0).ok_or_else(bad)?;
        let secs = crate::util::str2ll(&a[3]).ok_or_else(bad)?;
        if secs < 0 {
            return Err("Negative number of seconds in soft limit is invalid".into());
        }
        limits[class] = (hard, soft, secs);
    }
    c.client_obuf_limits = limits;
    Ok(())
}

fn get_replicaof(c: &Config) -> String {
    c.masterhost.as_ref().map(|(h, p)| format!("{} {}", h, p)).unwrap_or_default()
}

/// `replicaof <host> <port>` or `replicaof no one`.
fn set_replicaof(c: &mut Config, args: &[String]) -> Result<(), String> {
    if args.len() != 2 {
        return Err("wrong number of arguments".into());
    }
    if args[0].eq_ignore_ascii_case("no") && args[1].eq_ignore_ascii_case("one") {
        c.masterhost = None;
        return Ok(());
    }
    match crate::util::str2ll(&args[1]) {
        Some(p) if (0..=65535).contains(&p) => {
            c.masterhost = Some((args[0].clone(), p));
            Ok(())
        }
        _ => Err("Invalid master port".into()),
    }
}

fn get_notify_keyspace_events(c: &Config) -> String {
    keyspace_events_to_string(c.notify_keyspace_events)
}

fn set_notify_keyspace_events(c: &mut Config, args: &[String]) -> Result<(), String> {
    if args.len() != 1 {
        return Err("wrong number of arguments".into());
    }
    c.notify_keyspace_events =
        keyspace_events_from_str(&args[0]).ok_or("Invalid event class character. Use 'Ag$lshzxeKEtmd'.")?;
    Ok(())
}

fn get_oom_score_adj_values(c: &Config) -> String {
    let v = c.oom_score_adj_values;
    format!("{} {} {}", v[0], v[1], v[2])
}

fn set_oom_score_adj_values(c: &mut Config, args: &[String]) -> Result<(), String> {
    if args.len() != 3 {
        return Err("wrong number of arguments".into());
    }
    let mut v = [0i64; 3];
    for (slot, a) in v.iter_mut().zip(args) {
        *slot = match crate::util::str2ll(a) {
            Some(n) if (-2000..=2000).contains(&n) => n,
            _ => return Err("Invalid oom-score-adj-values, elements must be between -2000 and 2000.".into()),
        };
    }
    c.oom_score_adj_values = v;
    Ok(())
}

fn get_acl_users(c: &Config) -> String {
    c.acl_users.join("\n")
}

/// `user <name> [rules...]`: may appear many times; kept for ACL.
fn set_acl_user(c: &mut Config, args: &[String]) -> Result<(), String> {
    if args.is_empty() {
        return Err("wrong number of arguments".into());
    }
    c.acl_users.push(args.join(" "));
    Ok(())
}

fn get_load_modules(c: &Config) -> String {
    c.load_modules.join("\n")
}

fn set_load_module(c: &mut Config, args: &[String]) -> Result<(), String> {
    if args.is_empty() {
        return Err("wrong number of arguments".into());
    }
    c.load_modules.push(args.join(" "));
    Ok(())
}

fn apply_loglevel(s: &mut Server) -> Result<(), String> {
    crate::log::set_level(name_of(LOGLEVELS, s.config.loglevel));
    Ok(())
}

/// CONFIG SET appendonly: start (with a rewrite) or stop the AOF.
fn apply_appendonly(s: &mut Server) -> Result<(), String> {
    use crate::aof::AofStatus;
    if s.config.appendonly && s.aof.state == AofStatus::Off {
        s.start_append_only().map_err(|_| "Unable to turn on AOF. Check server logs.".to_string())
    } else if !s.config.appendonly && s.aof.state != AofStatus::Off {
        s.stop_append_only();
        Ok(())
    } else {
        Ok(())
    }
}

/// The reply path checks its own copy of the limits (see client.rs).
fn apply_client_obuf_limits(s: &mut Server) -> Result<(), String> {
    crate::client::set_obuf_limits(s.config.client_obuf_limits);
    Ok(())
}

fn apply_hz(s: &mut Server) -> Result<(), String> {
    // Like Redis's updateHZ: the stored value itself is clamped.
    s.config.hz = s.config.hz.clamp(1, 500);
    s.hz = s.config.hz;
    Ok(())
}

fn apply_maxclients(s: &mut Server) -> Result<(), String> {
    s.adjust_open_files_limit();
    Ok(())
}

fn apply_slowlog_len(s: &mut Server) -> Result<(), String> {
    s.slowlog_trim();
    Ok(())
}

/// Every option oxredis knows. Order is the order of CONFIG GET * and of
/// a fresh CONFIG REWRITE.
pub static CONFIG_TABLE: &[ConfigDef] = &[
    bool_cfg!("daemonize", None, daemonize, false, IMMUTABLE, None),
    str_cfg!("pidfile", None, pidfile, "", IMMUTABLE, None),
    int_cfg!("port", None, port, 6379, 0, 65535, IMMUTABLE, None),
    ConfigDef {
        name: "bind",
        alias: None,
        flags: IMMUTABLE,
        apply: None,
        kind: Kind::Special { get: get_bind, set: set_bind, default: &[""] },
    },
    int_cfg!("tcp-backlog", None, tcp_backlog, 511, 0, INT_MAX, IMMUTABLE, None),
    str_cfg!("unixsocket", None, unixsocket, "", IMMUTABLE, None),
    ConfigDef {
        name: "unixsocketperm",
        alias: None,
        flags: IMMUTABLE,
        apply: None,
        kind: Kind::Special { get: get_unixsocketperm, set: set_unixsocketperm, default: &["0"] },
    },
    int_cfg!("timeout", None, timeout, 0, 0, INT_MAX, 0, None),
    int_cfg!("tcp-keepalive", None, tcp_keepalive, 300, 0, INT_MAX, 0, None),
    bool_cfg!("protected-mode", None, protected_mode, true, 0, None),
    enum_cfg!("loglevel", None, loglevel, LOGLEVELS, 2, 0, Some(apply_loglevel)),
    str_cfg!("logfile", None, logfile, "", IMMUTABLE, None),
    int_cfg!("databases", None, databases, 16, 1, INT_MAX, IMMUTABLE, None),
    bool_cfg!("always-show-logo", None, always_show_logo, false, IMMUTABLE, None),
    bool_cfg!("set-proc-title", None, set_proc_title, true, IMMUTABLE, None),
    str_cfg!("proc-title-template", None, proc_title_template, "{title} {listen-addr} {server-mode}", 0, None),
    enum_cfg!("supervised", None, supervised, SUPERVISED, 0, IMMUTABLE, None),
    int_cfg!("hz", None, hz, 10, 0, INT_MAX, 0, Some(apply_hz)),
    bool_cfg!("dynamic-hz", None, dynamic_hz, true, 0, None),
    int_cfg!("maxclients", None, maxclients, 10000, 1, INT_MAX, 0, Some(apply_maxclients)),
    ConfigDef {
        name: "requirepass",
        alias: None,
        flags: SENSITIVE,
        apply: None,
        kind: Kind::Special { get: get_requirepass, set: set_requirepass, default: &[""] },
    },
    int_cfg!("proto-max-bulk-len", None, proto_max_bulk_len, 512 * 1024 * 1024, 1024 * 1024, LONG_MAX, MEMORY, None),
    int_cfg!(
        "client-query-buffer-limit",
        None,
        client_query_buffer_limit,
        1024 * 1024 * 1024,
        1024 * 1024,
        LONG_MAX,
        MEMORY,
        None
    ),
    int_cfg!("slowlog-log-slower-than", None, slowlog_log_slower_than, 10000, -1, LONG_MAX, 0, None),
    int_cfg!("slowlog-max-len", None, slowlog_max_len, 128, 0, LONG_MAX, 0, Some(apply_slowlog_len)),
    int_cfg!("latency-monitor-threshold", None, latency_monitor_threshold, 0, 0, LONG_MAX, 0, None),
    ConfigDef {
        name: "dir",
        alias: None,
        flags: 0,
        apply: None,
        kind: Kind::Special { get: get_dir, set: set_dir, default: &[""] },
    },
    ConfigDef {
        name: "save",
        alias: None,
        flags: 0,
        apply: None,
        kind: Kind::Special { get: get_save, set: set_save, default: &["3600 1 300 100 60 10000"] },
    },
    str_cfg!("dbfilename", None, dbfilename, "dump.rdb", 0, None),
    int_cfg!("maxmemory", None, maxmemory, 0, 0, LONG_MAX, MEMORY, Some(crate::evict::apply_maxmemory)),
    enum_cfg!("maxmemory-policy", None, maxmemory_policy, MAXMEMORY_POLICIES, MAXMEMORY_NO_EVICTION, 0, None),
    bool_cfg!("appendonly", None, appendonly, false, 0, Some(apply_appendonly)),
    str_cfg!("appendfilename", None, appendfilename, "appendonly.aof", IMMUTABLE, None),
    enum_cfg!("appendfsync", None, appendfsync, APPENDFSYNC, AOF_FSYNC_EVERYSEC, 0, None),
    bool_cfg!("no-appendfsync-on-rewrite", None, no_appendfsync_on_rewrite, false, 0, None),
    bool_cfg!("aof-load-truncated", None, aof_load_truncated, true, 0, None),
    int_cfg!("key-load-delay", None, key_load_delay, 0, i32::MIN as i64, INT_MAX, 0, None),
    // Everything below is accepted, validated and stored; the feature
    // behind it is not built yet (see docs/config-status.md).
    //
    // General and networking.
    stored_bool!("syslog-enabled", None, false, IMMUTABLE),
    stored_str!("syslog-ident", None, "redis", IMMUTABLE),
    stored_enum!("syslog-facility", None, SYSLOG_FACILITIES, 128, IMMUTABLE),
    stored_bool!("crash-log-enabled", None, true, 0),
    stored_bool!("crash-memcheck-enabled", None, true, 0),
    stored_bool!("use-exit-on-panic", None, false, 0),
    stored_str!("ignore-warnings", None, "", 0),
    stored_bool!("gopher-enabled", None, false, 0),
    stored_enum!("oom-score-adj", None, OOM_SCORE_ADJ, 0, 0),
    special!(
        "oom-score-adj-values",
        None,
        NOT_IMPLEMENTED,
        get_oom_score_adj_values,
        set_oom_score_adj_values,
        &["0 200 800"]
    ),
    stored_bool!("disable-thp", None, true, IMMUTABLE),
    stored_bool!("jemalloc-bg-thread", None, true, 0),
    stored_str!("server_cpulist", None, "", IMMUTABLE),
    stored_str!("bio_cpulist", None, "", IMMUTABLE),
    stored_str!("aof_rewrite_cpulist", None, "", IMMUTABLE),
    stored_str!("bgsave_cpulist", None, "", IMMUTABLE),
    stored_int!("io-threads", None, 1, 1, 128, IMMUTABLE),
    stored_bool!("io-threads-do-reads", None, false, IMMUTABLE),
    // TLS (oxredis has no TLS listener yet).
    stored_int!("tls-port", None, 0, 0, 65535, 0),
    stored_str!("tls-cert-file", None, "", 0),
    stored_str!("tls-key-file", None, "", 0),
    stored_str!("tls-key-file-pass", None, "", 0),
    stored_str!("tls-client-cert-file", None, "", 0),
    stored_str!("tls-client-key-file", None, "", 0),
    stored_str!("tls-client-key-file-pass", None, "", 0),
    stored_str!("tls-dh-params-file", None, "", 0),
    stored_str!("tls-ca-cert-file", None, "", 0),
    stored_str!("tls-ca-cert-dir", None, "", 0),
    stored_enum!("tls-auth-clients", None, TLS_AUTH_CLIENTS, 1, 0),
    stored_bool!("tls-replication", None, false, 0),
    stored_bool!("tls-cluster", None, false, 0),
    stored_str!("tls-protocols", None, "", 0),
    stored_str!("tls-ciphers", None, "", 0),
    stored_str!("tls-ciphersuites", None, "", 0),
    stored_bool!("tls-prefer-server-ciphers", None, false, 0),
    stored_bool!("tls-session-caching", None, true, 0),
    stored_int!("tls-session-cache-size", None, 20 * 1024, 0, INT_MAX, 0),
    stored_int!("tls-session-cache-timeout", None, 300, 0, INT_MAX, 0),
    // Snapshotting.
    bool_cfg!("stop-writes-on-bgsave-error", None, stop_writes_on_bgsave_err, true, 0, None),
    // Built (the RDB writer reads them), kept as stored text.
    ConfigDef { name: "rdbcompression", alias: None, flags: 0, apply: None, kind: Kind::Stored(Stored::Bool(true)) },
    ConfigDef { name: "rdbchecksum", alias: None, flags: IMMUTABLE, apply: None, kind: Kind::Stored(Stored::Bool(true)) },
    // oxredis validates RDB and RESTORE payloads deeply whatever this says
    // (as `yes`): a value that could crash a later command is never taken.
    ConfigDef { name: "sanitize-dump-payload", alias: None, flags: 0, apply: None, kind: Kind::Stored(Stored::Enum { names: SANITIZE_DUMP_PAYLOAD, default: 0 }) },
    bool_cfg!("rdb-del-sync-files", None, rdb_del_sync_files, false, 0, None),
    int_cfg!("rdb-key-save-delay", None, rdb_key_save_delay, 0, INT_MIN, INT_MAX, 0, None),
    ConfigDef { name: "rdb-save-incremental-fsync", alias: None, flags: 0, apply: None, kind: Kind::Stored(Stored::Bool(true)) },
    // Replication.
    special!("replicaof", Some("slaveof"), IMMUTABLE | NOT_IMPLEMENTED, get_replicaof, set_replicaof, &["no one"]),
    stored_str!("masterauth", None, "", SENSITIVE),
    stored_str!("masteruser", None, "", 0),
    stored_bool!("replica-serve-stale-data", Some("slave-serve-stale-data"), true, 0),
    stored_bool!("replica-read-only", Some("slave-read-only"), true, 0),
    stored_bool!("repl-diskless-sync", None, false, 0),
    stored_int!("repl-diskless-sync-delay", None, 5, 0, INT_MAX, 0),
    stored_enum!("repl-diskless-load", None, REPL_DISKLESS_LOAD, 0, 0),
    stored_int!("repl-ping-replica-period", Some("repl-ping-slave-period"), 10, 1, INT_MAX, 0),
    stored_int!("repl-timeout", None, 60, 1, INT_MAX, 0),
    stored_bool!("repl-disable-tcp-nodelay", None, false, 0),
    stored_int!("repl-backlog-size", None, MB, 1, LONG_MAX, MEMORY),
    stored_int!("repl-backlog-ttl", None, 3600, 0, LONG_MAX, 0),
    stored_int!("replica-priority", Some("slave-priority"), 100, 0, INT_MAX, 0),
    stored_bool!("replica-announced", None, true, 0),
    stored_int!("min-replicas-to-write", Some("min-slaves-to-write"), 0, 0, INT_MAX, 0),
    stored_int!("min-replicas-max-lag", Some("min-slaves-max-lag"), 10, 0, INT_MAX, 0),
    stored_str!("replica-announce-ip", Some("slave-announce-ip"), "", 0),
    stored_int!("replica-announce-port", Some("slave-announce-port"), 0, 0, 65535, 0),
    stored_bool!("replica-ignore-maxmemory", Some("slave-ignore-maxmemory"), true, 0),
    stored_bool!("replica-lazy-flush", Some("slave-lazy-flush"), false, 0),
    // Keys tracking and security.
    stored_int!("tracking-table-max-keys", None, 1_000_000, 0, LONG_MAX, 0),
    stored_int!("acllog-max-len", None, 128, 0, LONG_MAX, 0),
    stored_str!("aclfile", None, "", IMMUTABLE),
    stored_enum!("acl-pubsub-default", None, ACL_PUBSUB_DEFAULT, 1, 0),
    special!("user", None, IMMUTABLE | HIDDEN | NOT_IMPLEMENTED, get_acl_users, set_acl_user, &[]),
    special!("loadmodule", None, IMMUTABLE | HIDDEN | NOT_IMPLEMENTED, get_load_modules, set_load_module, &[]),
    // Memory management and eviction.
    int_cfg!("maxmemory-samples", None, maxmemory_samples, 5, 1, INT_MAX, 0, None),
    int_cfg!("maxmemory-eviction-tenacity", None, maxmemory_eviction_tenacity, 10, 0, 100, 0, None),
    int_cfg!("lfu-log-factor", None, lfu_log_factor, 10, 0, INT_MAX, 0, None),
    int_cfg!("lfu-decay-time", None, lfu_decay_time, 1, 0, INT_MAX, 0, None),
    int_cfg!("active-expire-effort", None, active_expire_effort, 1, 1, 10, 0, None),
    // Lazy freeing.
    bool_cfg!("lazyfree-lazy-eviction", None, lazyfree_lazy_eviction, false, 0, None),
    bool_cfg!("lazyfree-lazy-expire", None, lazyfree_lazy_expire, false, 0, None),
    bool_cfg!("lazyfree-lazy-server-del", None, lazyfree_lazy_server_del, false, 0, None),
    bool_cfg!("lazyfree-lazy-user-del", None, lazyfree_lazy_user_del, false, 0, None),
    bool_cfg!("lazyfree-lazy-user-flush", None, lazyfree_lazy_user_flush, false, 0, None),
    // Append only file.
    int_cfg!("auto-aof-rewrite-percentage", None, aof_rewrite_perc, 100, 0, INT_MAX, 0, None),
    int_cfg!("auto-aof-rewrite-min-size", None, aof_rewrite_min_size, 64 * MB, 0, LONG_MAX, MEMORY, None),
    bool_cfg!("aof-use-rdb-preamble", None, aof_use_rdb_preamble, true, 0, None),
    bool_cfg!("aof-rewrite-incremental-fsync", None, aof_rewrite_incremental_fsync, true, 0, None),
    // Lua scripting.
    stored_int!("lua-time-limit", None, 5000, 0, LONG_MAX, 0),
    stored_bool!("lua-replicate-commands", None, true, 0),
    // Cluster.
    stored_bool!("cluster-enabled", None, false, IMMUTABLE),
    stored_str!("cluster-config-file", None, "nodes.conf", IMMUTABLE),
    stored_int!("cluster-node-timeout", None, 15000, 0, LONG_MAX, 0),
    stored_int!("cluster-replica-validity-factor", Some("cluster-slave-validity-factor"), 10, 0, INT_MAX, 0),
    stored_int!("cluster-migration-barrier", None, 1, 0, INT_MAX, 0),
    stored_bool!("cluster-allow-replica-migration", None, true, 0),
    stored_bool!("cluster-require-full-coverage", None, true, 0),
    stored_bool!("cluster-replica-no-failover", Some("cluster-slave-no-failover"), false, 0),
    stored_bool!("cluster-allow-reads-when-down", None, false, 0),
    stored_str!("cluster-announce-ip", None, "", 0),
    stored_int!("cluster-announce-port", None, 0, 0, 65535, 0),
    stored_int!("cluster-announce-tls-port", None, 0, 0, 65535, 0),
    stored_int!("cluster-announce-bus-port", None, 0, 0, 65535, 0),
    // Event notification and client limits.
    special!(
        "notify-keyspace-events",
        None,
        0,
        get_notify_keyspace_events,
        set_notify_keyspace_events,
        &["\"\""]
    ),
    ConfigDef {
        name: "client-output-buffer-limit",
        alias: None,
        flags: 0,
        apply: Some(apply_client_obuf_limits),
        kind: Kind::Special {
            get: get_client_obuf_limits,
            set: set_client_obuf_limits,
            default: &["normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60"],
        },
    },
    // Encodings of small aggregates.
    int_cfg!("hash-max-ziplist-entries", None, hash_max_ziplist_entries, 512, 0, LONG_MAX, 0, None),
    int_cfg!("hash-max-ziplist-value", None, hash_max_ziplist_value, 64, 0, LONG_MAX, MEMORY, None),
    int_cfg!("list-max-ziplist-size", None, list_max_ziplist_size, -2, INT_MIN, INT_MAX, 0, None),
    stored_int!("list-compress-depth", None, 0, 0, INT_MAX, 0),
    int_cfg!("set-max-intset-entries", None, set_max_intset_entries, 512, 0, LONG_MAX, 0, None),
    int_cfg!("zset-max-ziplist-entries", None, zset_max_ziplist_entries, 128, 0, LONG_MAX, 0, None),
    int_cfg!("zset-max-ziplist-value", None, zset_max_ziplist_value, 64, 0, LONG_MAX, MEMORY, None),
    stored_int!("hll-sparse-max-bytes", None, 3000, 0, LONG_MAX, MEMORY),
    stored_int!("stream-node-max-bytes", None, 4096, 0, LONG_MAX, MEMORY),
    stored_int!("stream-node-max-entries", None, 100, 0, LONG_MAX, 0),
    bool_cfg!("activerehashing", None, activerehashing, true, 0, None),
    // Dead options Redis 6.2 still reads from a file and ignores.
    ConfigDef {
        name: "list-max-ziplist-entries",
        alias: None,
        flags: IMMUTABLE | HIDDEN,
        apply: None,
        kind: Kind::Stored(Stored::Str("")),
    },
    ConfigDef {
        name: "list-max-ziplist-value",
        alias: None,
        flags: IMMUTABLE | HIDDEN,
        apply: None,
        kind: Kind::Stored(Stored::Str("")),
    },
    // Active defragmentation.
    stored_bool!("activedefrag", None, false, 0),
    stored_int!("active-defrag-ignore-bytes", None, 100 * MB, 1, LONG_MAX, MEMORY),
    stored_int!("active-defrag-threshold-lower", None, 10, 0, 1000, 0),
    stored_int!("active-defrag-threshold-upper", None, 100, 0, 1000, 0),
    stored_int!("active-defrag-cycle-min", None, 1, 1, 99, 0),
    stored_int!("active-defrag-cycle-max", None, 25, 1, 99, 0),
    stored_int!("active-defrag-max-scan-fields", None, 1000, 1, LONG_MAX, 0),
];

/// The name of an enum value.
pub fn name_of(names: &'static [(&'static str, i32)], v: i32) -> &'static str {
    names.iter().find(|(_, x)| *x == v).map(|(n, _)| *n).unwrap_or("")
}

/// Finds an option by name or alias, case-insensitively.
pub fn lookup(name: &str) -> Option<&'static ConfigDef> {
    CONFIG_TABLE
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case(name) || d.alias.map(|a| a.eq_ignore_ascii_case(name)).unwrap_or(false))
}

fn parse_bool(v: &str) -> Option<bool> {
    if v.eq_ignore_ascii_case("yes") {
        Some(true)
    } else if v.eq_ignore_ascii_case("no") {
        Some(false)
    } else {
        None
    }
}

fn parse_bool_arg(v: &str) -> Result<bool, String> {
    parse_bool(v).ok_or_else(|| "argument must be 'yes' or 'no'".to_string())
}

/// An integer option's value: memory options take units (`1k`, `5mb`,
/// `1gb`, any case), others plain integers; both within `min..=max`.
fn parse_int_arg(flags: u32, v: &str, min: i64, max: i64) -> Result<i64, String> {
    let n = if flags & MEMORY != 0 {
        crate::util::memtoll(v).ok_or("argument must be a memory value")?
    } else {
        crate::util::str2ll(v).ok_or("argument couldn't be parsed into an integer")?
    };
    if n < min || n > max {
        return Err(format!("argument must be between {} and {} inclusive", min, max));
    }
    Ok(n)
}

fn parse_enum_arg(names: &'static [(&'static str, i32)], v: &str) -> Result<i32, String> {
    match names.iter().find(|(n, _)| n.eq_ignore_ascii_case(v)) {
        Some((_, x)) => Ok(*x),
        None => {
            let list: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
            Err(format!("argument must be one of the following: {}", list.join(", ")))
        }
    }
}

impl ConfigDef {
    /// The value as CONFIG GET and CONFIG REWRITE print it.
    pub fn get(&self, c: &Config) -> String {
        match &self.kind {
            Kind::Bool { get, .. } => if get(c) { "yes" } else { "no" }.to_string(),
            Kind::Int { get, .. } => get(c).to_string(),
            Kind::Enum { get, names, .. } => name_of(names, get(c)).to_string(),
            Kind::Str { get, .. } => get(c),
            Kind::Special { get, .. } => get(c),
            Kind::Stored(_) => c.stored.get(self.name).cloned().unwrap_or_default(),
        }
    }

    /// Sets the value from its text arguments, validating as Redis does.
    /// The error text is what follows `- ` in Redis's messages.
    pub fn set(&self, c: &mut Config, args: &[String]) -> Result<(), String> {
        if let Kind::Special { set, .. } = &self.kind {
            return set(c, args);
        }
        if args.len() != 1 {
            return Err("wrong number of arguments".into());
        }
        let v = &args[0];
        match &self.kind {
            Kind::Bool { set, .. } => set(c, parse_bool_arg(v)?),
            Kind::Int { set, min, max, .. } => set(c, parse_int_arg(self.flags, v, *min, *max)?),
            Kind::Enum { set, names, .. } => set(c, parse_enum_arg(names, v)?),
            Kind::Str { set, .. } => set(c, v.clone()),
            Kind::Stored(ty) => {
                let text = match ty {
                    Stored::Bool(_) => if parse_bool_arg(v)? { "yes" } else { "no" }.to_string(),
                    Stored::Int { min, max, .. } => parse_int_arg(self.flags, v, *min, *max)?.to_string(),
                    Stored::Enum { names, .. } => name_of(names, parse_enum_arg(names, v)?).to_string(),
                    Stored::Str(_) => v.clone(),
                };
                c.stored.insert(self.name, text);
            }
            Kind::Special { .. } => {}
        }
        Ok(())
    }

    fn set_default(&self, c: &mut Config) {
        match &self.kind {
            Kind::Bool { set, default, .. } => set(c, *default),
            Kind::Int { set, default, .. } => set(c, *default),
            Kind::Enum { set, default, .. } => set(c, *default),
            Kind::Str { set, default, .. } => set(c, default.to_string()),
            Kind::Stored(ty) => {
                let text = match ty {
                    Stored::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
                    Stored::Int { default, .. } => default.to_string(),
                    Stored::Enum { names, default } => name_of(names, *default).to_string(),
                    Stored::Str(d) => d.to_string(),
                };
                c.stored.insert(self.name, text);
            }
            Kind::Special { set, default, .. } => {
                let mut args = Vec::new();
                for d in default.iter() {
                    match crate::proto::split_args(d.as_bytes()) {
                        Some(v) if !v.is_empty() => {
                            args.extend(v.into_iter().map(|a| String::from_utf8_lossy(&a).into_owned()))
                        }
                        _ => args.push(String::new()),
                    }
                }
                // `dir ""` means "stay where we are": skip the chdir.
                if self.name != "dir" {
                    let _ = set(c, &args);
                }
            }
        }
    }
}

impl Config {
    /// The value of a [`Kind::Stored`] integer option (bytes for memory
    /// options); `None` for an unknown name.
    pub fn stored_int(&self, name: &str) -> Option<i64> {
        self.stored.get(name).and_then(|v| v.parse().ok())
    }

    /// The value of a [`Kind::Stored`] yes/no option.
    pub fn stored_bool(&self, name: &str) -> Option<bool> {
        self.stored.get(name).and_then(|v| parse_bool(v))
    }

    /// Every option at its default value.
    pub fn with_defaults() -> Config {
        let mut c = Config::default();
        for d in CONFIG_TABLE {
            d.set_default(&mut c);
        }
        c
    }
}

/// A config-file error: the line number (1-based), the line and the reason.
pub struct ConfigError {
    pub linenum: usize,
    pub line: String,
    pub msg: String,
}

impl ConfigError {
    /// Redis's report, printed to stderr before exiting 1.
    pub fn report(&self) -> String {
        format!(
            "\n*** FATAL CONFIG FILE ERROR (Redis {}) ***\nReading the configuration file, at line {}\n>>> '{}'\n{}\n",
            crate::server::REDIS_VERSION,
            self.linenum,
            self.line,
            self.msg
        )
    }
}

/// Loads configuration text (a whole file plus command-line options) into
/// `c` (`loadServerConfigFromString`). `include` directives read other
/// files relative to the current directory, as Redis does.
pub fn load_from_string(c: &mut Config, text: &str, depth: usize) -> Result<(), ConfigError> {
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.trim_matches(|ch: char| ch == ' ' || ch == '\t' || ch == '\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |msg: &str| ConfigError { linenum: i + 1, line: line.to_string(), msg: msg.to_string() };
        let argv = match crate::proto::split_args(line.as_bytes()) {
            Some(v) => v,
            None => return Err(err("Unbalanced quotes in configuration line")),
        };
        if argv.is_empty() {
            continue;
        }
        let args: Vec<String> = argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        let name = args[0].to_ascii_lowercase();
        match name.as_str() {
            "include" if args.len() == 2 => {
                if depth > 16 {
                    return Err(err("Too many nested includes"));
                }
                let inc = std::fs::read_to_string(&args[1])
                    .map_err(|e| err(&format!("Fatal error, can't open config file '{}': {}", args[1], e)))?;
                load_from_string(c, &inc, depth + 1)?;
            }
            "rename-command" if args.len() == 3 => {
                c.renamed_commands.push((args[1].clone(), args[2].clone()));
            }
            _ => {
                let def = match lookup(&name) {
                    Some(d) => d,
                    None => return Err(err("Bad directive or wrong number of arguments")),
                };
                // The first `save` line replaces the default save points,
                // later ones add theirs; `save ""` clears them all.
                let clears = args.len() == 2 && args[1].is_empty();
                let earlier_saves = if def.name == "save" && c.save_loaded && !clears {
                    std::mem::take(&mut c.save_params)
                } else {
                    Vec::new()
                };
                def.set(c, &args[1..]).map_err(|m| {
                    if m == "wrong number of arguments" {
                        err("Bad directive or wrong number of arguments")
                    } else {
                        err(&m)
                    }
                })?;
                if def.name == "save" {
                    c.save_params.splice(0..0, earlier_saves);
                    c.save_loaded = true;
                }
                if def.flags & NOT_IMPLEMENTED != 0 {
                    c.not_implemented_seen.insert(def.name);
                }
            }
        }
    }
    Ok(())
}

/// CONFIG GET: (name, value) pairs of every listed option matching the
/// glob `pattern`, in table order. As in 6.2, an old alias that matches
/// is listed under its own name too (`slave-read-only`), except that
/// `replicaof` is listed once, as `slaveof` when that name matches.
pub fn config_get(c: &Config, pattern: &[u8]) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let matches = |name: &str| crate::util::string_match(pattern, name.as_bytes(), true);
    for d in CONFIG_TABLE {
        if d.flags & HIDDEN != 0 {
            continue;
        }
        let alias_matches = d.alias.filter(|a| matches(a));
        if d.name == "replicaof" {
            if let Some(a) = alias_matches {
                out.push((a, d.get(c)));
            } else if matches(d.name) {
                out.push((d.name, d.get(c)));
            }
            continue;
        }
        if matches(d.name) {
            out.push((d.name, d.get(c)));
        }
        if let Some(a) = alias_matches {
            out.push((a, d.get(c)));
        }
    }
    out
}

/// A byte count the way CONFIG REWRITE writes it: in gb, mb or kb when it
/// is an exact multiple, else in bytes.
pub fn format_memory(n: i64) -> String {
    const KB: i64 = 1024;
    if n != 0 && n % (KB * KB * KB) == 0 {
        format!("{}gb", n / (KB * KB * KB))
    } else if n != 0 && n % (KB * KB) == 0 {
        format!("{}mb", n / (KB * KB))
    } else if n != 0 && n % KB == 0 {
        format!("{}kb", n / KB)
    } else {
        n.to_string()
    }
}

/// CONFIG REWRITE: rewrites `path` so that it reflects the running
/// configuration (`rewriteConfig`). Lines of options keep their place
/// (the first occurrence is replaced, later duplicates dropped); comments
/// and unknown lines stay; options that differ from their default and
/// were not in the file are appended after Redis's marker line. The new
/// file replaces the old one atomically (write to a temp file, rename).
pub fn rewrite_config(s: &Server, path: &str) -> Result<(), String> {
    const MARKER: &str = "# Generated by CONFIG REWRITE";
    let old = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(crate::server::strerror(&e)),
    };
    let defaults = Config::with_defaults();
    let c = &s.config;
    let mut done: BTreeSet<&'static str> = BTreeSet::new();
    let mut out: Vec<String> = Vec::new();
    let line_for = |d: &ConfigDef| -> Option<String> {
        let v = d.get(c);
        match &d.kind {
            Kind::Special { .. } => {
                if d.name == "save" && !c.save_params.is_empty() {
                    // One line per save point: 6.2 reads one pair a line.
                    let lines: Vec<String> = c.save_params.iter().map(|(s, ch)| format!("save {} {}", s, ch)).collect();
                    return Some(lines.join("\n"));
                }
                if v.is_empty() {
                    if d.name == "save" || d.name == "notify-keyspace-events" {
                        return Some(format!("{} \"\"", d.name));
                    }
                    return None;
                }
                if d.name == "client-output-buffer-limit" {
                    // One line per class, sizes with units, as Redis writes it.
                    let lines: Vec<String> = c
                        .client_obuf_limits
                        .iter()
                        .zip(["normal", "replica", "pubsub"])
                        .map(|((h, s, t), n)| {
                            format!("{} {} {} {} {}", d.name, n, format_memory(*h), format_memory(*s), t)
                        })
                        .collect();
                    return Some(lines.join("\n"));
                }
                Some(format!("{} {}", d.name, v))
            }
            Kind::Str { .. } | Kind::Stored(Stored::Str(_)) => {
                Some(format!("{} {}", d.name, crate::util::repr(v.as_bytes())))
            }
            Kind::Int { get, .. } if d.flags & MEMORY != 0 => Some(format!("{} {}", d.name, format_memory(get(c)))),
            Kind::Stored(Stored::Int { .. }) if d.flags & MEMORY != 0 => match v.parse::<i64>() {
                Ok(n) => Some(format!("{} {}", d.name, format_memory(n))),
                Err(_) => Some(format!("{} {}", d.name, v)),
            },
            _ => Some(format!("{} {}", d.name, v)),
        }
    };
    for raw in old.lines() {
        let line = raw.trim();
        if line == MARKER {
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            out.push(raw.to_string());
            continue;
        }
        let first = match crate::proto::split_args(line.as_bytes()) {
            Some(a) if !a.is_empty() => String::from_utf8_lossy(&a[0]).to_ascii_lowercase(),
            _ => {
                out.push(raw.to_string());
                continue;
            }
        };
        match lookup(&first) {
            // File-only directives (`user`, `loadmodule`, dead options)
            // may repeat and are not rewritten: keep them as written.
            Some(d) if d.flags & HIDDEN != 0 => out.push(raw.to_string()),
            Some(d) => {
                if done.insert(d.name) {
                    if let Some(l) = line_for(d) {
                        out.push(l);
                    }
                }
            }
            None => out.push(raw.to_string()),
        }
    }
    let mut appended = false;
    for d in CONFIG_TABLE {
        if done.contains(d.name) || d.flags & HIDDEN != 0 {
            continue;
        }
        // Save points are always written (`rewriteConfigSaveOption` forces
        // them), so that the file keeps them if Redis's defaults change.
        if (d.get(c) == d.get(&defaults) && d.name != "save") || d.name == "dir" {
            continue;
        }
        if let Some(l) = line_for(d) {
            if !appended {
                out.push(MARKER.to_string());
                appended = true;
            }
            out.push(l);
        }
    }
    let mut text = out.join("\n");
    text.push('\n');
    let tmp = format!("{}.tmp-{}", path, std::process::id());
    std::fs::write(&tmp, text).map_err(|e| crate::server::strerror(&e))?;
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(crate::server::strerror(&e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_come_from_the_table() {
        let c = Config::with_defaults();
        assert_eq!(c.port, 6379);
        assert_eq!(c.hz, 10);
        assert_eq!(c.databases, 16);
        assert!(c.bind.is_empty());
        assert_eq!(c.proto_max_bulk_len, 512 * 1024 * 1024);
        assert!(c.protected_mode);
        assert_eq!(lookup("save").unwrap().get(&c), "3600 1 300 100 60 10000");
    }

    #[test]
    fn file_syntax() {
        let mut c = Config::with_defaults();
        let text = "# comment\n  port 7000\nhz   20\r\nloglevel WARNING\nclient-query-buffer-limit 2GB\nrequirepass \"a b\"\n";
        assert!(load_from_string(&mut c, text, 0).is_ok());
        assert_eq!(c.port, 7000);
        assert_eq!(c.hz, 20);
        assert_eq!(c.loglevel, 3);
        assert_eq!(c.client_query_buffer_limit, 2 * 1024 * 1024 * 1024);
        assert_eq!(c.requirepass.as_deref(), Some(&b"a b"[..]));
    }

    #[test]
    fn errors_name_the_line() {
        let mut c = Config::with_defaults();
        let e = load_from_string(&mut c, "port 1\nnosuchthing 3\n", 0).err().unwrap();
        assert_eq!(e.linenum, 2);
        assert_eq!(e.msg, "Bad directive or wrong number of arguments");
        assert!(e.report().contains("*** FATAL CONFIG FILE ERROR"));
        assert!(e.report().contains(">>> 'nosuchthing 3'"));
        let e = load_from_string(&mut c, "port abc\n", 0).err().unwrap();
        assert_eq!(e.msg, "argument couldn't be parsed into an integer");
        let e = load_from_string(&mut c, "port 70000\n", 0).err().unwrap();
        assert_eq!(e.msg, "argument must be between 0 and 65535 inclusive");
        let e = load_from_string(&mut c, "daemonize maybe\n", 0).err().unwrap();
        assert_eq!(e.msg, "argument must be 'yes' or 'no'");
        let e = load_from_string(&mut c, "port \"1\n", 0).err().unwrap();
        assert_eq!(e.msg, "Unbalanced quotes in configuration line");
    }

    /// A full redis.conf in 6.2's style: every option once, old aliases
    /// where they exist, values away from the defaults.
    const FULL_CONF: &str = r#"
include-not-here-on-purpose-is-a-comment-line-below
# daemonize and paths
daemonize no
pidfile /tmp/oxredis-test.pid
port 6390
bind 127.0.0.1 -::1
tcp-backlog 1024
unixsocket /tmp/oxredis-test.sock
unixsocketperm 700
timeout 30
tcp-keepalive 60
protected-mode no
loglevel verbose
logfile ""
databases 32
always-show-logo yes
set-proc-title no
proc-title-template "{title} {port}"
supervised auto
hz 20
dynamic-hz no
maxclients 500
requirepass secret
proto-max-bulk-len 2mb
client-query-buffer-limit 2GB
slowlog-log-slower-than 5000
slowlog-max-len 64
latency-monitor-threshold 100
dir ""
save 900 1 300 10
dbfilename other.rdb
maxmemory 100MB
maxmemory-policy allkeys-lru
appendonly no
appendfilename "other.aof"
appendfsync always
no-appendfsync-on-rewrite yes
aof-load-truncated no
key-load-delay 0
syslog-enabled yes
syslog-ident oxredis
syslog-facility local3
crash-log-enabled no
crash-memcheck-enabled no
use-exit-on-panic yes
ignore-warnings ARM64-COW-BUG
gopher-enabled yes
oom-score-adj relative
oom-score-adj-values 0 100 900
disable-thp no
jemalloc-bg-thread no
server_cpulist 0-1
bio_cpulist 1
aof_rewrite_cpulist 1
bgsave_cpulist 1
io-threads 4
io-threads-do-reads yes
tls-port 6391
tls-cert-file redis.crt
tls-key-file redis.key
tls-key-file-pass pw
tls-client-cert-file client.crt
tls-client-key-file client.key
tls-client-key-file-pass pw2
tls-dh-params-file redis.dh
tls-ca-cert-file ca.crt
tls-ca-cert-dir /etc/ssl/certs
tls-auth-clients optional
tls-replication yes
tls-cluster yes
tls-protocols "TLSv1.2 TLSv1.3"
tls-ciphers DEFAULT:!MEDIUM
tls-ciphersuites TLS_CHACHA20_POLY1305_SHA256
tls-prefer-server-ciphers yes
tls-session-caching no
tls-session-cache-size 5000
tls-session-cache-timeout 60
stop-writes-on-bgsave-error no
rdbcompression no
rdbchecksum no
sanitize-dump-payload clients
rdb-del-sync-files yes
rdb-key-save-delay 0
rdb-save-incremental-fsync no
slaveof 10.0.0.1 6380
masterauth mpass
masteruser muser
slave-serve-stale-data no
slave-read-only no
repl-diskless-sync yes
repl-diskless-sync-delay 0
repl-diskless-load swapdb
repl-ping-slave-period 5
repl-timeout 120
repl-disable-tcp-nodelay yes
repl-backlog-size 5mb
repl-backlog-ttl 7200
slave-priority 50
replica-announced no
min-slaves-to-write 2
min-slaves-max-lag 20
slave-announce-ip 5.5.5.5
slave-announce-port 1234
slave-ignore-maxmemory no
slave-lazy-flush yes
tracking-table-max-keys 500
acllog-max-len 64
aclfile ""
acl-pubsub-default resetchannels
user default on nopass ~* &* +@all
user alice on >pw ~cached:* +get
loadmodule /path/to/module.so arg1
maxmemory-samples 10
maxmemory-eviction-tenacity 50
lfu-log-factor 20
lfu-decay-time 2
active-expire-effort 5
lazyfree-lazy-eviction yes
lazyfree-lazy-expire yes
lazyfree-lazy-server-del yes
lazyfree-lazy-user-del yes
lazyfree-lazy-user-flush yes
auto-aof-rewrite-percentage 50
auto-aof-rewrite-min-size 1gb
aof-use-rdb-preamble no
aof-rewrite-incremental-fsync no
lua-time-limit 1000
lua-replicate-commands no
cluster-enabled yes
cluster-config-file nodes-6390.conf
cluster-node-timeout 5000
cluster-slave-validity-factor 0
cluster-migration-barrier 2
cluster-allow-replica-migration no
cluster-require-full-coverage no
cluster-slave-no-failover yes
cluster-allow-reads-when-down yes
cluster-announce-ip 10.1.1.5
cluster-announce-port 7000
cluster-announce-tls-port 7001
cluster-announce-bus-port 17000
notify-keyspace-events Ex
client-output-buffer-limit normal 1mb 512kb 10
client-output-buffer-limit slave 256mb 64mb 60
client-output-buffer-limit pubsub 32mb 8mb 60
hash-max-ziplist-entries 256
hash-max-ziplist-value 1kb
list-max-ziplist-size -3
list-compress-depth 1
set-max-intset-entries 1024
zset-max-ziplist-entries 64
zset-max-ziplist-value 32
hll-sparse-max-bytes 4000
stream-node-max-bytes 8kb
stream-node-max-entries 200
activerehashing no
list-max-ziplist-entries 512
list-max-ziplist-value 64
activedefrag no
active-defrag-ignore-bytes 200mb
active-defrag-threshold-lower 20
active-defrag-threshold-upper 90
active-defrag-cycle-min 5
active-defrag-cycle-max 50
active-defrag-max-scan-fields 2000
rename-command FLUSHALL ""
"#;

    fn load(text: &str) -> Result<Config, ConfigError> {
        let mut c = Config::with_defaults();
        load_from_string(&mut c, text, 0).map(|_| c)
    }

    fn get(c: &Config, name: &str) -> String {
        lookup(name).map(|d| d.get(c)).unwrap_or_else(|| panic!("no option {}", name))
    }

    #[test]
    fn a_full_redis_conf_loads() {
        // The first line is not a directive: prove errors are still caught,
        // then load the rest.
        assert!(load(FULL_CONF).is_err());
        let text = FULL_CONF.replacen("include-not-here-on-purpose-is-a-comment-line-below", "#", 1);
        let c = match load(&text) {
            Ok(c) => c,
            Err(e) => panic!("{}", e.report()),
        };
        // Every option of the table is set by the file, by name or alias.
        let set_names: BTreeSet<String> = text
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|w| !w.starts_with('#'))
            .map(|w| w.to_ascii_lowercase())
            .collect();
        for d in CONFIG_TABLE {
            assert!(
                set_names.contains(d.name) || d.alias.map(|a| set_names.contains(a)).unwrap_or(false),
                "FULL_CONF does not set {}",
                d.name
            );
        }
        // Typed options landed in their fields, stored ones as canonical text.
        assert_eq!(c.port, 6390);
        assert_eq!(c.bind, vec!["127.0.0.1".to_string(), "-::1".to_string()]);
        assert_eq!(c.maxmemory, 100 * 1024 * 1024);
        assert_eq!(c.client_query_buffer_limit, 2 * 1024 * 1024 * 1024);
        assert_eq!(get(&c, "io-threads"), "4");
        assert_eq!(c.stored_int("io-threads"), Some(4));
        assert_eq!(c.stored_int("repl-backlog-size"), Some(5 * 1024 * 1024));
        assert!(c.lazyfree_lazy_user_flush && c.lazyfree_lazy_server_del);
        assert_eq!(c.stored_bool("no-such-option"), None);
        assert_eq!(get(&c, "replica-read-only"), "no");
        assert_eq!(get(&c, "replica-priority"), "50");
        assert_eq!(get(&c, "repl-backlog-size"), (5 * 1024 * 1024).to_string());
        assert_eq!(get(&c, "hash-max-ziplist-value"), "1024");
        assert_eq!(get(&c, "auto-aof-rewrite-min-size"), (1u64 << 30).to_string());
        assert_eq!(get(&c, "oom-score-adj"), "yes");
        assert_eq!(get(&c, "syslog-facility"), "local3");
        assert_eq!(get(&c, "tls-protocols"), "TLSv1.2 TLSv1.3");
        assert_eq!(get(&c, "replicaof"), "10.0.0.1 6380");
        assert_eq!(get(&c, "notify-keyspace-events"), "xE");
        assert_eq!(get(&c, "client-output-buffer-limit"), "normal 1048576 524288 10 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
        assert_eq!(get(&c, "oom-score-adj-values"), "0 100 900");
        assert_eq!(c.acl_users.len(), 2);
        assert_eq!(c.load_modules, vec!["/path/to/module.so arg1".to_string()]);
        assert_eq!(c.renamed_commands, vec![("FLUSHALL".to_string(), String::new())]);
        // One entry per not-implemented option, under its canonical name.
        assert!(c.not_implemented_seen.contains("io-threads"));
        assert!(c.not_implemented_seen.contains("replica-read-only"));
        assert!(!c.not_implemented_seen.contains("client-output-buffer-limit"));
        assert!(c.not_implemented_seen.contains("user"));
        assert!(!c.not_implemented_seen.contains("slave-read-only"));
        assert!(!c.not_implemented_seen.contains("port"));
        assert!(!c.not_implemented_seen.contains("list-max-ziplist-entries"));
    }

    #[test]
    fn stored_defaults_are_redis_62s() {
        let c = Config::with_defaults();
        for (name, want) in [
            ("io-threads", "1"),
            ("repl-diskless-sync", "no"),
            ("acl-pubsub-default", "allchannels"),
            ("repl-backlog-size", "1048576"),
            ("auto-aof-rewrite-min-size", "67108864"),
            ("active-defrag-ignore-bytes", "104857600"),
            ("list-max-ziplist-size", "-2"),
            ("client-output-buffer-limit", "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"),
            ("oom-score-adj-values", "0 200 800"),
            ("notify-keyspace-events", ""),
            ("replicaof", ""),
            ("syslog-facility", "local0"),
            ("tls-auth-clients", "yes"),
            ("maxmemory-eviction-tenacity", "10"),
            ("lua-time-limit", "5000"),
        ] {
            assert_eq!(get(&c, name), want, "default of {}", name);
        }
        assert!(c.not_implemented_seen.is_empty());
    }

    #[test]
    fn bad_values_are_rejected_with_redis_messages() {
        let cases: &[(&str, &str)] = &[
            ("io-threads 0", "argument must be between 1 and 128 inclusive"),
            ("io-threads many", "argument couldn't be parsed into an integer"),
            ("slave-read-only perhaps", "argument must be 'yes' or 'no'"),
            ("repl-backlog-size 5zb", "argument must be a memory value"),
            ("repl-backlog-size 0", "argument must be between 1 and 9223372036854775807 inclusive"),
            ("maxmemory-eviction-tenacity 101", "argument must be between 0 and 100 inclusive"),
            ("active-expire-effort 11", "argument must be between 1 and 10 inclusive"),
            ("repl-diskless-load sometimes", "argument must be one of the following: disabled, on-empty-db, swapdb"),
            ("oom-score-adj maybe", "argument must be one of the following: no, yes, relative, absolute"),
            ("syslog-facility local9", "argument must be one of the following: user, local0, local1, local2, local3, local4, local5, local6, local7"),
            ("notify-keyspace-events KEQ", "Invalid event class character. Use 'Ag$lshzxeKEtmd'."),
            (
                "client-output-buffer-limit master 1 1 1",
                "Unrecognized client limit class: the user specified an invalid one, or 'master' which has no buffer limits.",
            ),
            ("client-output-buffer-limit normal 1 1", "Wrong number of arguments in buffer limit configuration."),
            ("client-output-buffer-limit normal 1x 1 1", "Error in hard, soft or soft_seconds setting in buffer limit configuration."),
            ("client-output-buffer-limit normal 1 1 -1", "Negative number of seconds in soft limit is invalid"),
            ("oom-score-adj-values 0 200 3000", "Invalid oom-score-adj-values, elements must be between -2000 and 2000."),
            ("oom-score-adj-values 0 200", "Bad directive or wrong number of arguments"),
            ("replicaof 10.0.0.1 port", "Invalid master port"),
            ("replicaof 10.0.0.1", "Bad directive or wrong number of arguments"),
            ("user", "Bad directive or wrong number of arguments"),
            ("tls-port 1 2", "Bad directive or wrong number of arguments"),
            ("enable-debug-command yes", "Bad directive or wrong number of arguments"),
        ];
        for (line, msg) in cases {
            match load(line) {
                Ok(_) => panic!("'{}' was accepted", line),
                Err(e) => assert_eq!(&e.msg, msg, "for '{}'", line),
            }
        }
    }

    #[test]
    fn memory_units() {
        let mut c = Config::with_defaults();
        let def = lookup("repl-backlog-size").unwrap();
        for (v, want) in [
            ("1k", 1000),
            ("1kb", 1024),
            ("1KB", 1024),
            ("5mb", 5 * 1024 * 1024),
            ("5Mb", 5 * 1024 * 1024),
            ("1gb", 1 << 30),
            ("1G", 1_000_000_000),
            ("42", 42),
            ("42b", 42),
        ] {
            assert!(def.set(&mut c, &[v.to_string()]).is_ok(), "{}", v);
            assert_eq!(def.get(&c), want.to_string(), "{}", v);
        }
        assert!(def.set(&mut c, &["1tb".to_string()]).is_err());
        assert!(def.set(&mut c, &["kb".to_string()]).is_err());
        // Typed memory options take the same units.
        assert!(load("maxmemory 1Gb").map(|c| c.maxmemory == 1 << 30).unwrap_or(false));
    }

    #[test]
    fn aliases_set_and_get_the_same_value() {
        let c = match load("slave-priority 7\nslave-serve-stale-data no\nmin-slaves-to-write 3\n") {
            Ok(c) => c,
            Err(e) => panic!("{}", e.report()),
        };
        assert_eq!(get(&c, "replica-priority"), "7");
        assert_eq!(get(&c, "slave-priority"), "7");
        assert_eq!(config_get(&c, b"slave-priority"), vec![("slave-priority", "7".to_string())]);
        assert_eq!(config_get(&c, b"replica-priority"), vec![("replica-priority", "7".to_string())]);
        assert_eq!(
            config_get(&c, b"*-serve-stale-data"),
            vec![("replica-serve-stale-data", "no".to_string()), ("slave-serve-stale-data", "no".to_string())]
        );
        assert_eq!(config_get(&c, b"min-*-to-write").len(), 2);
        // replicaof is listed once, as slaveof when that name matches.
        let c = match load("replicaof 127.0.0.1 7000") {
            Ok(c) => c,
            Err(e) => panic!("{}", e.report()),
        };
        assert_eq!(config_get(&c, b"slaveof"), vec![("slaveof", "127.0.0.1 7000".to_string())]);
        assert_eq!(config_get(&c, b"replicaof"), vec![("replicaof", "127.0.0.1 7000".to_string())]);
        assert_eq!(config_get(&c, b"*of").len(), 1);
        // File-only directives are not listed.
        assert!(config_get(&c, b"user").is_empty());
        assert!(config_get(&c, b"list-max-ziplist-entries").is_empty());
    }

    #[test]
    fn config_set_stores_and_validates_stored_options() {
        let mut c = Config::with_defaults();
        let def = lookup("slave-lazy-flush").unwrap();
        assert_eq!(def.flags & IMMUTABLE, 0);
        assert!(def.set(&mut c, &["YES".to_string()]).is_ok());
        assert_eq!(get(&c, "replica-lazy-flush"), "yes");
        assert!(def.set(&mut c, &["on".to_string()]).is_err());
        assert_eq!(get(&c, "replica-lazy-flush"), "yes");
        let def = lookup("acl-pubsub-default").unwrap();
        assert!(def.set(&mut c, &["ResetChannels".to_string()]).is_ok());
        assert_eq!(get(&c, "acl-pubsub-default"), "resetchannels");
        // 6.2 keeps these immutable.
        for name in ["io-threads", "rdbchecksum", "cluster-enabled", "syslog-ident", "replicaof", "slaveof", "disable-thp", "user"] {
            assert_ne!(lookup(name).map(|d| d.flags & IMMUTABLE).unwrap_or(0), 0, "{}", name);
        }
        let def = lookup("client-output-buffer-limit").unwrap();
        let args: Vec<String> = "pubsub 0 0 0 replica 1gb 0 0".split(' ').map(String::from).collect();
        assert!(def.set(&mut c, &args).is_ok());
        assert_eq!(def.get(&c), "normal 0 0 0 slave 1073741824 0 0 pubsub 0 0 0");
    }

    #[test]
    fn keyspace_event_flags_round_trip() {
        for (input, shown) in [("KEA", "AKE"), ("Ex", "xE"), ("g$lshzxetd", "A"), ("Km", "Km"), ("", "")] {
            let f = keyspace_events_from_str(input);
            assert_eq!(f.map(keyspace_events_to_string).as_deref(), Some(shown), "{}", input);
        }
        assert_eq!(keyspace_events_from_str("n"), None);
    }

    /// The shipped redis.conf loads, and documents every option.
    #[test]
    fn shipped_redis_conf_is_complete() {
        const SHIPPED: &str = include_str!("../redis.conf");
        let c = match load(SHIPPED) {
            Ok(c) => c,
            Err(e) => panic!("{}", e.report()),
        };
        assert_eq!(c.bind, vec!["127.0.0.1".to_string(), "-::1".to_string()]);
        assert_eq!(c.port, 6379);
        let mentioned: BTreeSet<String> = SHIPPED
            .lines()
            .filter_map(|l| l.trim_start_matches('#').split_whitespace().next())
            .map(|w| w.to_ascii_lowercase())
            .collect();
        for d in CONFIG_TABLE {
            assert!(mentioned.contains(d.name), "redis.conf does not document {}", d.name);
        }
        // Uncommented lines keep the defaults (except dir and bind).
        let defaults = Config::with_defaults();
        for d in CONFIG_TABLE {
            if d.name != "dir" && d.name != "bind" {
                assert_eq!(d.get(&c), d.get(&defaults), "redis.conf changes the default of {}", d.name);
            }
        }
    }

    /// CONFIG REWRITE of a file with aliases, repeated `user` lines and
    /// per-class buffer limits gives a file that loads to the same values.
    #[test]
    fn rewrite_round_trips() {
        let dir = std::env::temp_dir().join(format!("oxredis-config-rw-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("r.conf");
        let path_s = path.to_string_lossy().into_owned();
        let text = "slave-read-only no\nuser a on nopass\nuser b off\nclient-output-buffer-limit normal 0 0 0\n\
                    client-output-buffer-limit pubsub 32mb 8mb 60\nnotify-keyspace-events \"\"\nlist-max-ziplist-value 64\n";
        assert!(std::fs::write(&path, text).is_ok());
        let mut c = Config::with_defaults();
        assert!(load_from_string(&mut c, text, 0).is_ok());
        c.client_obuf_limits[CLIENT_CLASS_PUBSUB] = (1 << 20, 1000, 1);
        c.stored.insert("repl-backlog-size", (3i64 << 30).to_string());
        let server = match Server::new(c.clone()) {
            Ok(s) => s,
            Err(e) => panic!("{}", e),
        };
        assert_eq!(rewrite_config(&server, &path_s), Ok(()));
        let out = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(out.contains("replica-read-only no\n"), "{}", out);
        assert!(out.contains("user a on nopass\nuser b off\n"), "{}", out);
        assert!(out.contains("client-output-buffer-limit pubsub 1mb 1000 1\n"), "{}", out);
        assert!(out.contains("notify-keyspace-events \"\"\n"), "{}", out);
        assert!(out.contains("repl-backlog-size 3gb\n"), "{}", out);
        assert!(out.contains("list-max-ziplist-value 64\n"), "{}", out);
        let mut again = Config::with_defaults();
        assert!(load_from_string(&mut again, &out, 0).is_ok());
        for d in CONFIG_TABLE {
            if d.name != "dir" {
                assert_eq!(d.get(&again), d.get(&c), "{} after rewrite", d.name);
            }
        }
    }

    /// A file's first `save` line replaces the defaults and later lines
    /// add to it; `save ""` clears; a line holds one pair or several.
    #[test]
    fn save_lines_add_up_and_empty_clears() {
        let params = |text: &str| load(text).map(|c| c.save_params).map_err(|e| e.msg);
        assert_eq!(params(""), Ok(vec![(3600, 1), (300, 100), (60, 10000)]));
        assert_eq!(params("save 900 1\nsave 300 10\n"), Ok(vec![(900, 1), (300, 10)]));
        assert_eq!(params("save 900 1 300 10\nsave 60 0\n"), Ok(vec![(900, 1), (300, 10), (60, 0)]));
        assert_eq!(params("save \"900 1\"\n"), Ok(vec![(900, 1)]));
        assert_eq!(params("save 900 1\nsave \"\"\n"), Ok(vec![]));
        assert_eq!(params("save \"\"\nsave 20 3\n"), Ok(vec![(20, 3)]));
        for bad in ["save 0 1", "save 10 -1", "save 10", "save a 1", "save 10 1 20"] {
            assert_eq!(params(bad), Err("Invalid save parameters".to_string()), "{}", bad);
        }
        // CONFIG SET splits on single spaces, as 6.2's sdssplitlen.
        assert_eq!(split_save_value("10 1"), vec!["10", "1"]);
        assert_eq!(split_save_value("10  1").len(), 3);
        let mut c = Config::with_defaults();
        let def = lookup("save").unwrap();
        assert!(def.set(&mut c, &split_save_value("10  1")).is_err());
        assert!(def.set(&mut c, &split_save_value("10 1 ")).is_err());
        assert!(def.set(&mut c, &split_save_value("5 0 7 3")).is_ok());
        assert_eq!(def.get(&c), "5 0 7 3");
        assert!(def.set(&mut c, &split_save_value("")).is_ok());
        assert_eq!(def.get(&c), "");
    }

    /// CONFIG REWRITE writes one `save` line per save point even at the
    /// defaults, and `save ""` when there are none.
    #[test]
    fn rewrite_writes_save_points() {
        let dir = std::env::temp_dir().join(format!("oxredis-config-save-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("s.conf");
        let path_s = path.to_string_lossy().into_owned();
        let rewritten = |c: Config, before: &str| -> String {
            assert!(std::fs::write(&path, before).is_ok());
            let server = match Server::new(c) {
                Ok(s) => s,
                Err(e) => panic!("{}", e),
            };
            assert_eq!(rewrite_config(&server, &path_s), Ok(()));
            std::fs::read_to_string(&path).unwrap_or_default()
        };
        let out = rewritten(Config::with_defaults(), "port 7000\n");
        assert!(out.contains("save 3600 1\nsave 300 100\nsave 60 10000\n"), "{}", out);
        let mut c = Config::with_defaults();
        c.save_params.clear();
        let out = rewritten(c, "save 900 1\n# a comment\nsave 300 10\n");
        assert_eq!(out, "save \"\"\n# a comment\n");
        let mut c = Config::with_defaults();
        c.save_params = vec![(10, 2), (20, 0)];
        let out = rewritten(c, "save 900 1\n");
        assert_eq!(out, "save 10 2\nsave 20 0\n");
        let _ = std::fs::remove_dir_all(&dir);
        let back = load(&out).map(|c| c.save_params).unwrap_or_default();
        assert_eq!(back, vec![(10, 2), (20, 0)]);
    }

    #[test]
    fn config_get_globs() {
        let c = Config::with_defaults();
        let v = config_get(&c, b"*max*");
        assert!(v.iter().any(|(n, _)| *n == "maxclients"));
        assert!(v.iter().all(|(n, _)| n.contains("max")));
        assert_eq!(config_get(&c, b"HZ"), vec![("hz", "10".to_string())]);
    }
}
