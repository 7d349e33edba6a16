//! oxredis: the Redis 6.2 server rebuilt in Rust.
//!
//! `ls src` is the architecture:
//! - `ae`: the event loop (ae.c) on mio;
//! - `aof`, `aof_rewrite`, `bio`: the append-only file, its background
//!   rewrite and the background I/O threads (aof.c, bio.c);
//! - `rdb`, `rdb_load`, `check_rdb`: snapshots, their loader and the
//!   `oxredis-check-rdb` tool (rdb.c, redis-check-rdb.c); `check_aof` is
//!   `oxredis-check-aof` (redis-check-aof.c);
//! - `fork`, `childinfo`: fork children and their info pipe (server.c, childinfo.c);
//! - `latency`: the latency monitor (latency.c);
//! - `anet`: socket helpers (anet.c);
//! - `server`: global state, start-up, cron, the command call path (server.c);
//! - `networking`, `client`, `proto`: clients, replies, the RESP parser (networking.c);
//! - `commands/`: the command table and one module per command family;
//! - `db`, `object`: the keyspace and values with their encodings (db.c, object.c);
//! - `pubsub`, `notify`: Pub/Sub and keyspace notifications (pubsub.c, notify.c);
//! - `config`: redis.conf and CONFIG (config.c);
//! - `log`, `zmalloc`, `util`: logging, memory accounting, helpers.

pub mod ae;
pub mod anet;
pub mod aof;
pub mod aof_rewrite;
pub mod bio;
pub mod blob;
pub mod blocked;
pub mod check_aof;
pub mod check_rdb;
pub mod childinfo;
pub mod client;
pub mod commands;
pub mod config;
pub mod crc64;
pub mod db;
pub mod expire;
pub mod fork;
pub mod intset;
pub mod lazyfree;
pub mod listpack;
pub mod dict;
pub mod evict;
pub mod latency;
pub mod ld;
pub mod log;
pub mod lzf;
pub mod multi;
pub mod networking;
pub mod notify;
pub mod object;
pub mod proto;
pub mod pubsub;
pub mod server;
pub mod sha1;
pub mod siphash;
pub mod skiplist;
pub mod util;
pub mod zmalloc;
pub mod ziplist;
pub mod quicklist;
pub mod rdb;
pub mod rdb_load;

/// Runs the binary: dispatches on the name it was started under, as
/// Redis does for redis-check-aof / redis-check-rdb.
pub fn run(args: Vec<String>) -> i32 {
    let prog = args
        .first()
        .map(|a| std::path::Path::new(a).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default())
        .unwrap_or_default();
    if prog.contains("check-aof") {
        return check_aof::main(args);
    }
    if prog.contains("check-rdb") {
        return check_rdb::main(args);
    }
    server::main(args)
}
