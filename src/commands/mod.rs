//! The command table (mirrors `redisCommandTable` in server.c).
//!
//! Each command family (connection, server, strings, …) lives in its own
//! module and exports a `COMMANDS` slice of [`CommandDef`]: name, handler,
//! arity (negative = at least), flags as Redis's space-separated flag
//! string, and key positions. [`CommandTable`] concatenates them at start,
//! parses the flags into bits, applies `rename-command`, and builds the
//! case-insensitive name index used by `process_command`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::client::Client;
use crate::server::Server;

pub mod args;
pub mod bitops;
pub mod connection;
pub mod debug;
pub mod hash;
pub mod keys;
pub mod list;
pub mod pubsub;
pub mod server_cmds;
pub mod sort;
pub mod set;
pub mod strings;
pub mod zset;

pub type CommandProc = fn(&mut Server, &mut Client);

/// A command as written in a family's table.
pub struct CommandDef {
    pub name: &'static str,
    pub proc_: CommandProc,
    pub arity: i32,
    /// Redis's flag words (`write use-memory fast @string …`).
    pub sflags: &'static str,
    pub firstkey: i32,
    pub lastkey: i32,
    pub keystep: i32,
}

pub const CMD_WRITE: u64 = 1 << 0;
pub const CMD_READONLY: u64 = 1 << 1;
pub const CMD_DENYOOM: u64 = 1 << 2;
pub const CMD_MODULE: u64 = 1 << 3;
pub const CMD_ADMIN: u64 = 1 << 4;
pub const CMD_PUBSUB: u64 = 1 << 5;
pub const CMD_NOSCRIPT: u64 = 1 << 6;
pub const CMD_RANDOM: u64 = 1 << 7;
pub const CMD_SORT_FOR_SCRIPT: u64 = 1 << 8;
pub const CMD_LOADING: u64 = 1 << 9;
pub const CMD_STALE: u64 = 1 << 10;
pub const CMD_SKIP_MONITOR: u64 = 1 << 11;
pub const CMD_SKIP_SLOWLOG: u64 = 1 << 12;
pub const CMD_ASKING: u64 = 1 << 13;
pub const CMD_FAST: u64 = 1 << 14;
pub const CMD_NO_AUTH: u64 = 1 << 15;
pub const CMD_MAY_REPLICATE: u64 = 1 << 16;

/// Flag words in the order COMMAND INFO prints them, with their bits.
const FLAG_NAMES: &[(&str, u64)] = &[
    ("write", CMD_WRITE),
    ("readonly", CMD_READONLY),
    ("denyoom", CMD_DENYOOM),
    ("admin", CMD_ADMIN),
    ("pubsub", CMD_PUBSUB),
    ("noscript", CMD_NOSCRIPT),
    ("random", CMD_RANDOM),
    ("sort_for_script", CMD_SORT_FOR_SCRIPT),
    ("loading", CMD_LOADING),
    ("stale", CMD_STALE),
    ("skip_monitor", CMD_SKIP_MONITOR),
    ("skip_slowlog", CMD_SKIP_SLOWLOG),
    ("asking", CMD_ASKING),
    ("fast", CMD_FAST),
    ("no_auth", CMD_NO_AUTH),
    ("may_replicate", CMD_MAY_REPLICATE),
];

/// A command in the running server's table.
pub struct RedisCommand {
    pub name: &'static str,
    pub proc_: CommandProc,
    pub arity: i32,
    pub flags: u64,
    /// ACL categories, `@read` style, in Redis's order.
    pub categories: Vec<&'static str>,
    pub firstkey: i32,
    pub lastkey: i32,
    pub keystep: i32,
}

/// FNV-1a: command names are short and trusted, so a simple fast hash
/// beats SipHash on the dispatch hot path.
#[derive(Default)]
pub struct FnvHasher(u64);

impl Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf29ce484222325 } else { self.0 };
        for b in bytes {
            h ^= *b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
        self.0 = h;
    }
}

type FnvMap<K, V> = HashMap<K, V, BuildHasherDefault<FnvHasher>>;

pub struct CommandTable {
    pub cmds: Vec<RedisCommand>,
    /// Lower-case name (after rename-command) → index in `cmds`.
    index: FnvMap<Vec<u8>, usize>,
}

/// Every family's table.
fn all_defs() -> impl Iterator<Item = &'static CommandDef> {
    connection::COMMANDS
        .iter()
        .chain(server_cmds::COMMANDS.iter())
        .chain(strings::COMMANDS.iter())
        .chain(keys::COMMANDS.iter())
        .chain(list::COMMANDS.iter())
        .chain(sort::COMMANDS.iter())
        .chain(set::COMMANDS.iter())
        .chain(hash::COMMANDS.iter())
        .chain(debug::COMMANDS.iter())
        .chain(bitops::COMMANDS.iter())
        .chain(zset::COMMANDS.iter())
        .chain(crate::multi::COMMANDS.iter())
        .chain(pubsub::COMMANDS.iter())
}

/// Redis's ACL categories, in the order it reports them.
const ACL_CATEGORY_ORDER: &[&str] = &[
    "@keyspace", "@read", "@write", "@set", "@sortedset", "@list", "@hash", "@string",
    "@bitmap", "@hyperloglog", "@geo", "@stream", "@pubsub", "@admin", "@fast", "@slow",
    "@blocking", "@dangerous", "@connection", "@transaction", "@scripting",
];

fn parse_flags(sflags: &'static str) -> (u64, Vec<&'static str>) {
    let mut flags = 0;
    let mut cats = Vec::new();
    for w in sflags.split_whitespace() {
        if w.starts_with('@') {
            cats.push(w);
        } else if let Some((_, bit)) = FLAG_NAMES.iter().find(|(n, _)| *n == w) {
            flags |= bit;
        } else if w == "read-only" {
            flags |= CMD_READONLY;
        } else if w == "use-memory" {
            flags |= CMD_DENYOOM;
        } else if w == "ok-loading" {
            flags |= CMD_LOADING;
        } else if w == "ok-stale" {
            flags |= CMD_STALE;
        } else if w == "no-script" {
            flags |= CMD_NOSCRIPT;
        } else if w == "no-monitor" {
            flags |= CMD_SKIP_MONITOR;
        } else if w == "no-slowlog" {
            flags |= CMD_SKIP_SLOWLOG;
        } else if w == "no-auth" {
            flags |= CMD_NO_AUTH;
        } else if w == "pub-sub" {
            flags |= CMD_PUBSUB;
        } else if w == "may-replicate" {
            flags |= CMD_MAY_REPLICATE;
        }
    }
    // Implicit categories, as setImplicitACLCategories does.
    let mut all: Vec<&'static str> = Vec::new();
    for c in cats {
        all.push(c);
    }
    let mut add = |c: &'static str| {
        if !all.contains(&c) {
            all.push(c);
        }
    };
    if flags & CMD_WRITE != 0 {
        add("@write");
    }
    if flags & CMD_READONLY != 0 {
        add("@read");
    }
    if flags & CMD_ADMIN != 0 {
        add("@admin");
        add("@dangerous");
    }
    if flags & CMD_PUBSUB != 0 {
        add("@pubsub");
    }
    if flags & CMD_FAST != 0 {
        add("@fast");
    } else {
        add("@slow");
    }
    // COMMAND INFO lists categories in the order of Redis's ACL category
    // table, not in the order the flags were written.
    all.sort_by_key(|c| ACL_CATEGORY_ORDER.iter().position(|o| o == c).unwrap_or(usize::MAX));
    (flags, all)
}

impl CommandTable {
    /// Builds the table, applying `rename-command` pairs (an empty new
    /// name removes the command). Errors name an unknown command.
    pub fn new(renames: &[(String, String)]) -> Result<CommandTable, String> {
        let mut cmds = Vec::new();
        let mut index: FnvMap<Vec<u8>, usize> = FnvMap::default();
        for d in all_defs() {
            let (flags, categories) = parse_flags(d.sflags);
            index.insert(d.name.as_bytes().to_ascii_lowercase(), cmds.len());
            cmds.push(RedisCommand {
                name: d.name,
                proc_: d.proc_,
                arity: d.arity,
                flags,
                categories,
                firstkey: d.firstkey,
                lastkey: d.lastkey,
                keystep: d.keystep,
            });
        }
        for (old, new) in renames {
            let key = old.as_bytes().to_ascii_lowercase();
            let Some(i) = index.remove(&key) else {
                return Err(format!("No such command in rename-command: {}", old));
            };
            if !new.is_empty() {
                index.insert(new.as_bytes().to_ascii_lowercase(), i);
            }
        }
        Ok(CommandTable { cmds, index })
    }

    pub fn len(&self) -> usize {
        self.cmds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cmds.is_empty()
    }

    /// Finds a command by name, case-insensitively, without allocating.
    #[inline]
    pub fn lookup(&self, name: &[u8]) -> Option<usize> {
        let mut buf = [0u8; 64];
        if name.len() > buf.len() {
            return None;
        }
        for (i, b) in name.iter().enumerate() {
            buf[i] = b.to_ascii_lowercase();
        }
        self.index.get(&buf[..name.len()]).copied()
    }

    /// Finds a command by its original name (COMMAND INFO ignores renames).
    pub fn lookup_original(&self, name: &[u8]) -> Option<usize> {
        self.cmds.iter().position(|c| c.name.as_bytes().eq_ignore_ascii_case(name))
    }

    /// Flag words of a command for COMMAND INFO.
    pub fn flag_names(flags: u64) -> Vec<&'static str> {
        FLAG_NAMES.iter().filter(|(_, b)| flags & b != 0).map(|(n, _)| *n).collect()
    }
}

/// Commands a RESP2 client in subscribed state may still run.
pub fn allowed_in_pubsub(name: &str) -> bool {
    matches!(name, "ping" | "subscribe" | "unsubscribe" | "psubscribe" | "punsubscribe" | "reset")
}

/// Case-insensitive comparison of an argument with a keyword.
#[inline]
pub fn arg_is(arg: &[u8], kw: &str) -> bool {
    arg.eq_ignore_ascii_case(kw.as_bytes())
}

/// Parses an argument as an integer or replies Redis's error.
pub fn get_long_long_or_reply(c: &mut Client, arg_idx: usize) -> Option<i64> {
    match crate::util::string2ll(c.argv.get(arg_idx)) {
        Some(v) => Some(v),
        None => {
            c.add_reply_error("value is not an integer or out of range");
            None
        }
    }
}

/// The syntax error reply.
pub fn reply_syntax_error(c: &mut Client) {
    c.add_reply_error("syntax error");
}

/// Unknown subcommand reply, as `addReplySubcommandSyntaxError`.
pub fn reply_subcommand_syntax_error(c: &mut Client) {
    let cmd = c.argv.get_str(0).to_string();
    // `%.128s`: the subcommand up to its first NUL, at most 128 bytes.
    let raw = c.argv.get(1);
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len()).min(128);
    let sub = String::from_utf8_lossy(&raw[..end]).into_owned();
    c.add_reply_error(&format!(
        "Unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        sub,
        cmd.to_ascii_uppercase()
    ));
}

/// A HELP reply: the command's name line, the given lines, and the
/// standard HELP line (`addReplyHelp`).
pub fn reply_help(c: &mut Client, lines: &[&str]) {
    let cmd = c.argv.get_str(0).to_ascii_uppercase();
    c.add_reply_array_len(lines.len() + 3);
    c.add_reply_status(&format!("{} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", cmd));
    for l in lines {
        c.add_reply_status(l);
    }
    c.add_reply_status("HELP");
    c.add_reply_status("    Prints this help.");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_case_insensitive_and_renames_apply() {
        let t = CommandTable::new(&[]).unwrap();
        assert!(t.lookup(b"PiNg").is_some());
        assert!(t.lookup(b"nosuch").is_none());
        let t = CommandTable::new(&[("config".into(), "".into()), ("ping".into(), "pong".into())]).unwrap();
        assert!(t.lookup(b"config").is_none());
        assert!(t.lookup(b"ping").is_none());
        assert_eq!(t.cmds[t.lookup(b"PONG").unwrap()].name, "ping");
        assert!(CommandTable::new(&[("nosuch".into(), "x".into())]).is_err());
    }

    #[test]
    fn implicit_categories() {
        let (f, cats) = parse_flags("admin no-script ok-loading");
        assert!(f & CMD_ADMIN != 0 && f & CMD_NOSCRIPT != 0 && f & CMD_LOADING != 0);
        // In the order of Redis's category table, as COMMAND INFO shows them.
        assert_eq!(cats, vec!["@admin", "@slow", "@dangerous"]);
        let (_, cats) = parse_flags("ok-stale fast @connection");
        assert_eq!(cats, vec!["@fast", "@connection"]);
    }
}
