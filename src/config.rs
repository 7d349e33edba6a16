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
//!    single log line saying so.

use std::collections::BTreeSet;

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
    pub appendonly: bool,
    pub appendfilename: String,
    pub appendfsync: i32,
    pub no_appendfsync_on_rewrite: bool,
    pub aof_load_truncated: bool,
    pub key_load_delay: i64,
    pub dbfilename: String,
    pub save_params: Vec<(i64, i64)>,
    pub latency_monitor_threshold: i64,
    pub supervised: i32,
    pub set_proc_title: bool,
    pub proc_title_template: String,

    /// `rename-command` directives: (old name, new name or empty).
    pub renamed_commands: Vec<(String, String)>,
    /// Options set in the config file whose feature is not built yet.
    pub not_implemented_seen: BTreeSet<&'static str>,
}

pub const LOGLEVELS: &[(&str, i32)] = &[("debug", 0), ("verbose", 1), ("notice", 2), ("warning", 3)];
pub const MAXMEMORY_POLICIES: &[(&str, i32)] = &[
    ("volatile-lru", 0),
    ("volatile-lfu", 1),
    ("volatile-random", 2),
    ("volatile-ttl", 3),
    ("allkeys-lru", 4),
    ("allkeys-lfu", 5),
    ("allkeys-random", 6),
    ("noeviction", 7),
];
pub const APPENDFSYNC: &[(&str, i32)] = &[("no", 0), ("always", 1), ("everysec", 2)];
pub const SUPERVISED: &[(&str, i32)] = &[("upstart", 1), ("systemd", 2), ("auto", 3), ("no", 0)];

pub const AOF_FSYNC_NO: i32 = 0;
pub const AOF_FSYNC_ALWAYS: i32 = 1;
pub const AOF_FSYNC_EVERYSEC: i32 = 2;

const INT_MAX: i64 = i32::MAX as i64;
const LONG_MAX: i64 = i64::MAX;

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
    // `save ""` clears; otherwise pairs of <seconds> <changes>.
    if args.len() == 1 && args[0].is_empty() {
        c.save_params.clear();
        return Ok(());
    }
    if args.is_empty() || args.len() % 2 != 0 {
        return Err("Invalid save parameters".into());
    }
    let mut v = Vec::new();
    for p in args.chunks(2) {
        match (p[0].parse::<i64>(), p[1].parse::<i64>()) {
            (Ok(s), Ok(ch)) if s >= 1 && ch >= 0 => v.push((s, ch)),
            _ => return Err("Invalid save parameters".into()),
        }
    }
    c.save_params = v;
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
        flags: NOT_IMPLEMENTED,
        apply: None,
        kind: Kind::Special { get: get_save, set: set_save, default: &["3600 1 300 100 60 10000"] },
    },
    str_cfg!("dbfilename", None, dbfilename, "dump.rdb", NOT_IMPLEMENTED, None),
    int_cfg!("maxmemory", None, maxmemory, 0, 0, LONG_MAX, MEMORY | NOT_IMPLEMENTED, None),
    enum_cfg!("maxmemory-policy", None, maxmemory_policy, MAXMEMORY_POLICIES, 7, NOT_IMPLEMENTED, None),
    bool_cfg!("appendonly", None, appendonly, false, 0, Some(apply_appendonly)),
    str_cfg!("appendfilename", None, appendfilename, "appendonly.aof", IMMUTABLE, None),
    enum_cfg!("appendfsync", None, appendfsync, APPENDFSYNC, AOF_FSYNC_EVERYSEC, 0, None),
    bool_cfg!("no-appendfsync-on-rewrite", None, no_appendfsync_on_rewrite, false, 0, None),
    bool_cfg!("aof-load-truncated", None, aof_load_truncated, true, 0, None),
    int_cfg!("key-load-delay", None, key_load_delay, 0, i32::MIN as i64, INT_MAX, 0, None),
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

impl ConfigDef {
    /// The value as CONFIG GET and CONFIG REWRITE print it.
    pub fn get(&self, c: &Config) -> String {
        match &self.kind {
            Kind::Bool { get, .. } => if get(c) { "yes" } else { "no" }.to_string(),
            Kind::Int { get, .. } => get(c).to_string(),
            Kind::Enum { get, names, .. } => name_of(names, get(c)).to_string(),
            Kind::Str { get, .. } => get(c),
            Kind::Special { get, .. } => get(c),
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
            Kind::Bool { set, .. } => {
                let b = parse_bool(v).ok_or("argument must be 'yes' or 'no'")?;
                set(c, b);
            }
            Kind::Int { set, min, max, .. } => {
                let n = if self.flags & MEMORY != 0 {
                    crate::util::memtoll(v).ok_or("argument must be a memory value")?
                } else {
                    crate::util::str2ll(v).ok_or("argument couldn't be parsed into an integer")?
                };
                if n < *min || n > *max {
                    return Err(format!("argument must be between {} and {} inclusive", min, max));
                }
                set(c, n);
            }
            Kind::Enum { set, names, .. } => {
                match names.iter().find(|(n, _)| n.eq_ignore_ascii_case(v)) {
                    Some((_, x)) => set(c, *x),
                    None => {
                        let list: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
                        return Err(format!("argument must be one of the following: {}", list.join(", ")));
                    }
                }
            }
            Kind::Str { set, .. } => set(c, v.clone()),
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
                def.set(c, &args[1..]).map_err(|m| {
                    if m == "wrong number of arguments" {
                        err("Bad directive or wrong number of arguments")
                    } else {
                        err(&m)
                    }
                })?;
                if def.flags & NOT_IMPLEMENTED != 0 {
                    c.not_implemented_seen.insert(def.name);
                }
            }
        }
    }
    Ok(())
}

/// CONFIG GET: (name, value) pairs of every listed option matching the
/// glob `pattern`, in table order.
pub fn config_get(c: &Config, pattern: &[u8]) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for d in CONFIG_TABLE {
        if d.flags & HIDDEN != 0 {
            continue;
        }
        if crate::util::string_match(pattern, d.name.as_bytes(), true) {
            out.push((d.name, d.get(c)));
        }
    }
    out
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

    #[test]
    fn config_get_globs() {
        let c = Config::with_defaults();
        let v = config_get(&c, b"*max*");
        assert!(v.iter().any(|(n, _)| *n == "maxclients"));
        assert!(v.iter().all(|(n, _)| n.contains("max")));
        assert_eq!(config_get(&c, b"HZ"), vec![("hz", "10".to_string())]);
    }
}

/// CONFIG REWRITE: rewrites `path` so that it reflects the running
/// configuration (`rewriteConfig`). Lines of options keep their place
/// (the first occurrence is replaced, later duplicates dropped); comments
/// and unknown lines stay; options that differ from their default and
/// were not in the file are appended after Redis's marker line. The new
/// file replaces the old one atomically (write to a temp file, rename).
/// A byte count as CONFIG REWRITE writes it: the largest of gb/mb/kb that
/// divides it exactly, else plain bytes (rewriteConfigBytesOption).
fn memory_to_human(v: i64) -> String {
    const KB: i64 = 1024;
    const MB: i64 = 1024 * KB;
    const GB: i64 = 1024 * MB;
    if v != 0 && v % GB == 0 {
        format!("{}gb", v / GB)
    } else if v != 0 && v % MB == 0 {
        format!("{}mb", v / MB)
    } else if v != 0 && v % KB == 0 {
        format!("{}kb", v / KB)
    } else {
        v.to_string()
    }
}

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
                if v.is_empty() {
                    if d.name == "save" {
                        return Some("save \"\"".to_string());
                    }
                    return None;
                }
                Some(format!("{} {}", d.name, v))
            }
            Kind::Str { .. } => Some(format!("{} {}", d.name, crate::util::repr(v.as_bytes()))),
            Kind::Int { get, .. } if d.flags & MEMORY != 0 => {
                Some(format!("{} {}", d.name, memory_to_human(get(c))))
            }
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
        if d.get(c) == d.get(&defaults) || d.name == "dir" {
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
