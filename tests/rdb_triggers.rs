//! What makes oxredis write an RDB snapshot without a SAVE: save points
//! checked by the cron, SHUTDOWN [SAVE|NOSAVE], SIGTERM and FLUSHALL; and
//! `-MISCONF` for writes while the last background save failed
//! (`stop-writes-on-bgsave-error`). A save is made to fail by pointing
//! `dir` at a directory that is then removed, which works as root too.
//! Where the reference `redis-server` is installed, the failing-save
//! scenario runs on both and the replies must be equal, and a dump.rdb
//! written by SHUTDOWN must load in it to the same DEBUG DIGEST.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Conn, Kind, Reply, Server};

const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. \
Commands that may modify the data set are disabled, because this instance is configured to report errors during writes \
if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// Polls `cond` every 20 ms until it holds (true) or `secs` pass.
fn wait_for(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

fn exists(p: &Path) -> bool {
    p.exists()
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("temp-"))
                .collect()
        })
        .unwrap_or_default()
}

/// Points the server's `dir` at a subdirectory and removes it, so that
/// every save fails with ENOENT (root ignores permissions, not this).
fn break_dir(c: &mut Conn, base: &Path) {
    let gone = base.join("gone");
    std::fs::create_dir_all(&gone).expect("create the doomed dir");
    assert_eq!(c.cmd(&["CONFIG", "SET", "dir", &gone.to_string_lossy()]), Reply::ok());
    std::fs::remove_dir(&gone).expect("remove the doomed dir");
}

#[test]
fn save_point_fires_after_enough_changes() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    // Three changes needed: two are not enough, however long we wait.
    assert_eq!(c.cmd(&["CONFIG", "SET", "save", "1 3"]), Reply::ok());
    assert_eq!(c.cmd(&["CONFIG", "GET", "save"]).array(), vec![Reply::bulk("save"), Reply::bulk("1 3")]);
    let before = c.cmd(&["LASTSAVE"]).int();
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["SET", "b", "2"]);
    std::thread::sleep(Duration::from_millis(2500));
    assert!(!exists(&srv.dir.join("dump.rdb")), "saved with 2 of 3 changes");
    assert_eq!(c.info_int("persistence", "rdb_changes_since_last_save"), 2);
    c.cmd(&["SET", "c", "3"]);
    assert!(wait_for(5, || exists(&srv.dir.join("dump.rdb"))), "no save after 3 changes; log:\n{}", srv.log_text());
    assert!(srv.wait_log("3 changes in 1 seconds. Saving...", Duration::from_secs(2)), "{}", srv.log_text());
    assert!(srv.wait_log("Background saving terminated with success", Duration::from_secs(5)), "{}", srv.log_text());
    assert!(c.cmd(&["LASTSAVE"]).int() > before);
    assert_eq!(c.info_int("persistence", "rdb_changes_since_last_save"), 0);
    assert_eq!(c.info_field("persistence", "rdb_last_bgsave_status"), "ok");
    assert_eq!(c.info_int("persistence", "rdb_bgsave_in_progress"), 0);
    assert!(c.info_int("persistence", "rdb_last_bgsave_time_sec") >= 0);
    assert_eq!(c.info_int("persistence", "rdb_current_bgsave_time_sec"), -1);
    // Nothing changed since: no second save.
    let saves = srv.log_text().matches("Saving...").count();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(srv.log_text().matches("Saving...").count(), saves);
}

#[test]
fn empty_save_never_saves() {
    // The harness starts servers with `--save ""`.
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    assert_eq!(c.cmd(&["CONFIG", "GET", "save"]).array(), vec![Reply::bulk("save"), Reply::bulk("")]);
    for i in 0..50 {
        c.cmd(&["SET", &format!("k{}", i), "v"]);
    }
    std::thread::sleep(Duration::from_millis(2500));
    assert!(!exists(&srv.dir.join("dump.rdb")));
    assert!(!srv.log_text().contains("Saving"), "{}", srv.log_text());
    assert_eq!(c.info_int("persistence", "rdb_changes_since_last_save"), 50);
    // SHUTDOWN without arguments does not save either.
    let mut srv = srv;
    c.send(&["SHUTDOWN"]).expect("send SHUTDOWN");
    assert!(srv.wait_exit(Duration::from_secs(5)).is_some_and(|s| s.success()));
    assert!(!exists(&srv.dir.join("dump.rdb")));
}

/// The replies of a failing-save scenario, the same on oxredis and Redis.
fn failing_save_transcript(srv: &Server) -> Vec<Reply> {
    let mut out = Vec::new();
    let mut c = srv.conn();
    c.cmd(&["SET", "before", "1"]);
    break_dir(&mut c, &srv.dir.path);
    assert_eq!(c.cmd(&["CONFIG", "SET", "save", "1 1"]), Reply::ok());
    assert!(srv.wait_log("Background saving error", Duration::from_secs(6)), "{:?} log:\n{}", srv.kind(), srv.log_text());
    out.push(c.cmd(&["INFO", "persistence"]).text().lines().find(|l| l.starts_with("rdb_last_bgsave_status")).map(Reply::bulk).unwrap_or(Reply::nil()));
    out.push(c.cmd(&["SET", "k", "v"]));
    out.push(c.cmd(&["DEL", "nosuchkey"]));
    out.push(c.cmd(&["PING"]));
    out.push(c.cmd(&["GET", "before"]));
    out.push(c.cmd(&["EXISTS", "k"]));
    out.push(c.cmd(&["MULTI"]));
    out.push(c.cmd(&["SET", "k", "v"]));
    out.push(c.cmd(&["EXEC"]));
    out.push(c.cmd(&["MULTI"]));
    out.push(c.cmd(&["GET", "before"]));
    out.push(c.cmd(&["EXEC"]));
    // SAVE is no write, and fails as well (a bare -ERR).
    out.push(c.cmd(&["SAVE"]));
    // With stop-writes-on-bgsave-error off writes go through.
    out.push(c.cmd(&["CONFIG", "SET", "stop-writes-on-bgsave-error", "no"]));
    out.push(c.cmd(&["SET", "k", "v2"]));
    out.push(c.cmd(&["CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"]));
    out.push(c.cmd(&["SET", "k", "v3"]));
    // Without save points nothing is refused either.
    out.push(c.cmd(&["CONFIG", "SET", "save", ""]));
    out.push(c.cmd(&["SET", "k", "v4"]));
    out.push(c.cmd(&["CONFIG", "SET", "save", "1 1"]));
    out.push(c.cmd(&["SET", "k", "v5"]));
    // A working dir again: the save point retries after 5 s and succeeds.
    out.push(c.cmd(&["CONFIG", "SET", "dir", &srv.dir.path.to_string_lossy()]));
    assert!(
        srv.wait_log("Background saving terminated with success", Duration::from_secs(10)),
        "{:?} log:\n{}",
        srv.kind(),
        srv.log_text()
    );
    out.push(c.cmd(&["SET", "k", "v6"]));
    out.push(c.cmd(&["INFO", "persistence"]).text().lines().find(|l| l.starts_with("rdb_last_bgsave_status")).map(Reply::bulk).unwrap_or(Reply::nil()));
    out.push(c.cmd(&["GET", "k"]));
    out
}

#[test]
fn failed_background_save_denies_writes_until_a_save_succeeds() {
    let reference = std::thread::spawn(|| {
        if !common::reference_installed() {
            eprintln!("SKIPPED: redis-server not installed: the scenario is not compared with Redis");
            return None;
        }
        // Redis 7 protects `dir` from CONFIG SET unless told otherwise.
        let r = Server::start_kind(Kind::Reference, &["--enable-protected-configs", "yes"], None);
        Some(failing_save_transcript(&r))
    });
    let srv = Server::start(&[]);
    let got = failing_save_transcript(&srv);
    let want = vec![
        Reply::bulk("rdb_last_bgsave_status:err"),
        Reply::err(MISCONF),
        Reply::err(MISCONF),
        Reply::err(MISCONF),
        Reply::bulk("1"),
        Reply::Int(0),
        Reply::ok(),
        Reply::err(MISCONF),
        Reply::err("EXECABORT Transaction discarded because of previous errors."),
        Reply::ok(),
        Reply::Status("QUEUED".into()),
        Reply::Array(Some(vec![Reply::bulk("1")])),
        Reply::err("ERR"),
        Reply::ok(),
        Reply::ok(),
        Reply::ok(),
        Reply::err(MISCONF),
        Reply::ok(),
        Reply::ok(),
        Reply::ok(),
        Reply::err(MISCONF),
        Reply::ok(),
        Reply::ok(),
        Reply::bulk("rdb_last_bgsave_status:ok"),
        Reply::bulk("v6"),
    ];
    assert_eq!(got, want, "log:\n{}", srv.log_text());
    let log = srv.log_text();
    assert!(log.contains("Failed opening the RDB file dump.rdb (in server root dir unknown) for saving: No such file or directory"), "{}", log);
    assert!(exists(&srv.dir.join("dump.rdb")));
    if let Ok(Some(r)) = reference.join() {
        assert_eq!(got, r, "oxredis and redis-server differ");
    }
}

#[test]
fn shutdown_save_writes_a_dump_the_reference_loads() {
    let mut srv = Server::start(&[]);
    let mut c = srv.conn();
    c.cmd(&["RPUSH", "list", "a", "b", "c"]);
    c.cmd(&["HSET", "hash", "f", "v"]);
    c.cmd(&["ZADD", "zset", "1.5", "m"]);
    c.cmd(&["SADD", "set", "1", "2"]);
    c.cmd(&["SET", "ttl", "v", "EX", "100000"]);
    assert_eq!(c.cmd(&["SELECT", "5"]), Reply::ok());
    c.cmd(&["SET", "in5", "x".repeat(100).as_str()]);
    let digest = c.cmd(&["DEBUG", "DIGEST"]).text();
    assert_ne!(digest, "0".repeat(40));
    // No save points, but SAVE asks for the final snapshot.
    c.send(&["SHUTDOWN", "SAVE"]).expect("send SHUTDOWN SAVE");
    assert!(c.read_reply().is_err(), "SHUTDOWN SAVE replied instead of exiting");
    assert!(srv.wait_exit(Duration::from_secs(5)).is_some_and(|s| s.success()));
    let log = srv.log_text();
    for line in ["User requested shutdown...", "Saving the final RDB snapshot before exiting.", "DB saved on disk", "is now ready to exit, bye bye..."] {
        assert!(log.contains(line), "no '{}' in\n{}", line, log);
    }
    let dump = srv.dir.join("dump.rdb");
    let data = std::fs::read(&dump).expect("SHUTDOWN SAVE wrote dump.rdb");
    assert!(data.starts_with(b"REDIS0009"));
    assert!(temp_files(&srv.dir.path).is_empty());

    let Some(reference) = common::reference_or_skip(&["--dir", &srv.dir.path.to_string_lossy(), "--dbfilename", "dump.rdb"]) else {
        return;
    };
    let mut r = reference.conn();
    assert_eq!(r.cmd(&["DEBUG", "DIGEST"]).text(), digest, "reference log:\n{}", reference.log_text());
    assert_eq!(r.cmd(&["SELECT", "5"]), Reply::ok());
    assert_eq!(r.cmd(&["STRLEN", "in5"]), Reply::Int(100));
}

#[test]
fn shutdown_nosave_does_not_save_even_with_save_points() {
    let mut srv = Server::start(&["--save", "3600 1"]);
    let mut c = srv.conn();
    c.cmd(&["SET", "k", "v"]);
    c.send(&["SHUTDOWN", "NOSAVE"]).expect("send");
    assert!(srv.wait_exit(Duration::from_secs(5)).is_some_and(|s| s.success()));
    assert!(!exists(&srv.dir.join("dump.rdb")));
    assert!(!srv.log_text().contains("Saving the final RDB snapshot"));
}

#[test]
fn sigterm_with_save_points_saves() {
    let mut srv = Server::start(&["--save", "3600 1 300 100"]);
    let mut c = srv.conn();
    c.cmd(&["SET", "k", "v"]);
    assert_eq!(c.cmd(&["CONFIG", "GET", "save"]).array()[1], Reply::bulk("3600 1 300 100"));
    srv.signal("TERM");
    assert!(srv.wait_exit(Duration::from_secs(5)).is_some_and(|s| s.success()), "log:\n{}", srv.log_text());
    assert!(exists(&srv.dir.join("dump.rdb")), "log:\n{}", srv.log_text());
    let log = srv.log_text();
    assert!(log.contains("Received SIGTERM scheduling shutdown..."), "{}", log);
    assert!(log.contains("Saving the final RDB snapshot before exiting."), "{}", log);
}

#[test]
fn shutdown_refuses_to_exit_when_the_final_save_fails() {
    let mut srv = Server::start(&["--save", "3600 1"]);
    let mut c = srv.conn();
    c.cmd(&["SET", "k", "v"]);
    break_dir(&mut c, &srv.dir.path);
    assert_eq!(c.cmd(&["SHUTDOWN"]), Reply::err("ERR Errors trying to SHUTDOWN. Check logs."));
    assert_eq!(c.cmd(&["SHUTDOWN", "SAVE"]), Reply::err("ERR Errors trying to SHUTDOWN. Check logs."));
    assert!(srv.log_text().contains("Error trying to save the DB, can't exit."), "{}", srv.log_text());
    // SIGTERM is refused the same way.
    srv.signal("TERM");
    assert!(srv.wait_log("SIGTERM received but errors trying to shut down the server", Duration::from_secs(3)), "{}", srv.log_text());
    assert!(srv.alive());
    assert_eq!(c.cmd(&["GET", "k"]), Reply::bulk("v"));
    assert_eq!(c.cmd(&["SET", "k2", "v2"]), Reply::ok());
    // Arguments are checked as in Redis.
    assert_eq!(c.cmd(&["SHUTDOWN", "MAYBE"]), Reply::err("ERR syntax error"));
    assert_eq!(c.cmd(&["SHUTDOWN", "SAVE", "NOSAVE"]), Reply::err("ERR syntax error"));
    // NOSAVE still exits.
    c.send(&["SHUTDOWN", "NOSAVE"]).expect("send");
    assert!(srv.wait_exit(Duration::from_secs(5)).is_some_and(|s| s.success()));
}

#[test]
fn shutdown_kills_a_saving_child_and_saves_itself() {
    let mut srv = Server::start(&["--save", "3600 1", "--rdb-key-save-delay", "100000"]);
    let mut c = srv.conn();
    for i in 0..100 {
        c.cmd(&["SET", &format!("k{}", i), "v"]);
    }
    assert_eq!(c.cmd(&["BGSAVE"]), Reply::Status("Background saving started".into()));
    assert!(wait_for(3, || !temp_files(&srv.dir.path).is_empty()), "the child wrote no temp file");
    assert_eq!(c.info_int("persistence", "rdb_bgsave_in_progress"), 1);
    // The final save must not wait for the slow child: with the delay a
    // child would need 10 s.
    assert_eq!(c.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "0"]), Reply::ok());
    let started = Instant::now();
    c.send(&["SHUTDOWN"]).expect("send");
    assert!(srv.wait_exit(Duration::from_secs(5)).is_some_and(|s| s.success()), "log:\n{}", srv.log_text());
    assert!(started.elapsed() < Duration::from_secs(4));
    let log = srv.log_text();
    assert!(log.contains("There is a child saving an .rdb. Killing it!"), "{}", log);
    assert!(log.contains("DB saved on disk"), "{}", log);
    assert!(exists(&srv.dir.join("dump.rdb")));
    assert!(wait_for(3, || temp_files(&srv.dir.path).is_empty()), "{:?}", temp_files(&srv.dir.path));
}

#[test]
fn flushall_saves_the_empty_dataset_when_save_points_are_set() {
    let srv = Server::start(&["--save", "3600 1"]);
    let mut c = srv.conn();
    c.cmd(&["SET", "k", "v"]);
    assert!(!exists(&srv.dir.join("dump.rdb")));
    assert_eq!(c.cmd(&["FLUSHALL"]), Reply::ok());
    let data = std::fs::read(srv.dir.join("dump.rdb")).expect("FLUSHALL saved");
    assert!(data.starts_with(b"REDIS0009"));
    // As in 6.2 the save keeps the dirty count (the SET, the deleted key,
    // the flush itself), so that FLUSHALL still propagates.
    assert_eq!(c.info_int("persistence", "rdb_changes_since_last_save"), 3);
    // Without save points it does not save.
    let srv2 = Server::start(&[]);
    let mut c2 = srv2.conn();
    c2.cmd(&["SET", "k", "v"]);
    assert_eq!(c2.cmd(&["FLUSHALL"]), Reply::ok());
    assert!(!exists(&srv2.dir.join("dump.rdb")));
}

#[test]
fn default_save_points_without_a_config_file() {
    // No `save` at all: Redis's built-in defaults, the same as the
    // reference's. (The harness passes `--save ""`, so start by hand.)
    let dir = common::TempDir::new("savedefault");
    let port = common::free_port();
    let log = dir.join("log");
    let mut child = std::process::Command::new(common::OXREDIS)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--dir", &dir.path.to_string_lossy()])
        .arg("--logfile")
        .arg(&log)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn oxredis");
    let ready = wait_for(10, || std::fs::read_to_string(&log).unwrap_or_default().contains("Ready to accept connections"));
    let got = if ready { Some(Conn::connect(port).cmd(&["CONFIG", "GET", "save"])) } else { None };
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(got, Some(Reply::Array(Some(vec![Reply::bulk("save"), Reply::bulk("3600 1 300 100 60 10000")]))));
}
