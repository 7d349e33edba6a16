//! Logging in Redis's line format (mirrors `serverLog` in server.c).
//!
//! Every line reads `pid:role dd Mon yyyy hh:mm:ss.mmm <lvl> message`, where
//! role is `M` for the server, `C` for a forked child, and lvl is `.` `-` `*`
//! `#` for debug, verbose, notice and warning. We plug into the `log` facade
//! so the rest of the crate writes `log::info!` and friends:
//!
//! | Redis level | `log` macro      |
//! |-------------|------------------|
//! | warning `#` | `warn!`/`error!` |
//! | notice  `*` | `info!`          |
//! | verbose `-` | `debug!`         |
//! | debug   `.` | `trace!`         |
//!
//! Like Redis, the log file is opened, appended to and closed for every
//! line, so that an external `logrotate` needs no signal.

use std::fs::OpenOptions;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

/// Where log lines go: the empty string means standard output.
static LOGFILE: Mutex<String> = Mutex::new(String::new());
/// `M` in the server, `C` in a forked child (set right after `fork`).
static ROLE: AtomicU8 = AtomicU8::new(b'M');

struct RedisLogger;

static LOGGER: RedisLogger = RedisLogger;

/// Installs the logger. Called once at start, before anything logs.
pub fn init() {
    // set_logger fails only if a logger was already installed, which is fine.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(log::LevelFilter::Info);
}

/// Applies the `loglevel` option (`debug`, `verbose`, `notice`, `warning`).
pub fn set_level(level: &str) {
    let filter = match level {
        "debug" => log::LevelFilter::Trace,
        "verbose" => log::LevelFilter::Debug,
        "warning" => log::LevelFilter::Warn,
        _ => log::LevelFilter::Info,
    };
    log::set_max_level(filter);
}

/// Applies the `logfile` option; the empty string logs to standard output.
pub fn set_logfile(path: &str) {
    if let Ok(mut f) = LOGFILE.lock() {
        *f = path.to_string();
    }
}

/// The configured log file ("" for standard output).
pub fn logfile() -> String {
    LOGFILE.lock().map(|p| p.clone()).unwrap_or_default()
}

/// Marks this process as a forked child (`C`) in every later line.
pub fn set_child_role() {
    ROLE.store(b'C', Ordering::Relaxed);
}

fn level_char(level: log::Level) -> char {
    match level {
        log::Level::Error | log::Level::Warn => '#',
        log::Level::Info => '*',
        log::Level::Debug => '-',
        log::Level::Trace => '.',
    }
}

/// `25 Nov 2026 06:21:39.123`, in local time as Redis prints it.
pub fn timestamp() -> String {
    let us = crate::util::ustime();
    let secs = (us / 1_000_000) as libc::time_t;
    let ms = (us / 1000) % 1000;
    // SAFETY: localtime_r only writes into the zeroed tm we own.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&secs, &mut tm);
        tm
    };
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        tm.tm_mday,
        MONTHS[(tm.tm_mon.clamp(0, 11)) as usize],
        tm.tm_year + 1900,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        ms
    )
}

/// Writes one already-formatted line, with no prefix (Redis's LL_RAW).
pub fn write_raw(line: &str) {
    let path = LOGFILE.lock().map(|p| p.clone()).unwrap_or_default();
    if path.is_empty() {
        let out = std::io::stdout();
        let mut out = out.lock();
        let _ = out.write_all(line.as_bytes());
        let _ = out.flush();
    } else if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(&path) {
        let _ = f.write_all(line.as_bytes());
    }
}

impl log::Log for RedisLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = format!(
            "{}:{} {} {} {}\n",
            std::process::id(),
            ROLE.load(Ordering::Relaxed) as char,
            timestamp(),
            level_char(record.level()),
            record.args()
        );
        write_raw(&line);
    }

    fn flush(&self) {}
}
