//! Connection commands: PING, ECHO, SELECT, AUTH, HELLO, CLIENT, RESET.
//!
//! Replies and error texts are Redis 6.2's. QUIT is not here: it is
//! handled in `process_command` before the table lookup, as Redis does.

use super::{arg_is, reply_help, reply_subcommand_syntax_error, reply_syntax_error, CommandDef};
use crate::client::*;
use crate::server::{PauseType, Server};

pub static COMMANDS: &[CommandDef] = &[
    CommandDef { name: "ping", proc_: ping_command, arity: -1, sflags: "ok-stale fast @connection", firstkey: 0, lastkey: 0, keystep: 0 },
    CommandDef { name: "echo", proc_: echo_command, arity: 2, sflags: "fast @connection", firstkey: 0, lastkey: 0, keystep: 0 },
    CommandDef { name: "select", proc_: select_command, arity: 2, sflags: "ok-loading fast ok-stale @keyspace", firstkey: 0, lastkey: 0, keystep: 0 },
    CommandDef {
        name: "auth",
        proc_: auth_command,
        arity: -2,
        sflags: "no-auth no-script ok-loading ok-stale fast no-monitor no-slowlog @connection",
        firstkey: 0,
        lastkey: 0,
        keystep: 0,
    },
    CommandDef {
        name: "hello",
        proc_: hello_command,
        arity: -1,
        sflags: "no-auth no-script fast no-monitor ok-loading ok-stale @connection",
        firstkey: 0,
        lastkey: 0,
        keystep: 0,
    },
    CommandDef { name: "client", proc_: client_command, arity: -2, sflags: "admin no-script random ok-loading ok-stale @connection", firstkey: 0, lastkey: 0, keystep: 0 },
    CommandDef { name: "reset", proc_: reset_command, arity: 1, sflags: "no-script ok-stale ok-loading fast @connection", firstkey: 0, lastkey: 0, keystep: 0 },
];

/// PING [message]
pub fn ping_command(_s: &mut Server, c: &mut Client) {
    if c.argv.len() > 2 {
        c.add_reply_error("wrong number of arguments for 'ping' command");
        return;
    }
    if c.flags & CLIENT_PUBSUB != 0 && c.resp == 2 {
        c.add_reply(b"*2\r\n$4\r\npong\r\n");
        if c.argv.len() == 1 {
            c.add_reply(b"$0\r\n\r\n");
        } else {
            c.add_reply_bulk_arg(1);
        }
        return;
    }
    if c.argv.len() == 1 {
        c.add_reply(b"+PONG\r\n");
    } else {
        c.add_reply_bulk_arg(1);
    }
}

/// ECHO message
pub fn echo_command(_s: &mut Server, c: &mut Client) {
    c.add_reply_bulk_arg(1);
}

/// SELECT index
pub fn select_command(s: &mut Server, c: &mut Client) {
    let Some(id) = crate::commands::args::get_range_long_or_reply(c, 1, i32::MIN as i64, i32::MAX as i64, None) else {
        return;
    };
    if id < 0 || id as usize >= s.dbs.len() {
        c.add_reply_error("DB index is out of range");
        return;
    }
    c.db = id as usize;
    c.add_reply_ok();
}

/// Checks a username/password pair against `requirepass` (the `default`
/// user is the only user until ACLs land).
fn check_password(s: &Server, user: &[u8], pass: &[u8]) -> bool {
    if user != b"default" {
        return false;
    }
    match &s.config.requirepass {
        None => true,
        Some(p) => constant_time_eq(p, pass),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

const WRONGPASS: &str = "-WRONGPASS invalid username-password pair or user is disabled.";

/// AUTH [username] password
pub fn auth_command(s: &mut Server, c: &mut Client) {
    if c.argv.len() > 3 {
        reply_syntax_error(c);
        return;
    }
    if c.argv.len() == 2 && s.config.requirepass.is_none() {
        c.add_reply_error(
            "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        );
        return;
    }
    let (user, pass) = if c.argv.len() == 2 {
        (b"default".to_vec(), c.argv.get(1).to_vec())
    } else {
        (c.argv.get(1).to_vec(), c.argv.get(2).to_vec())
    };
    if check_password(s, &user, &pass) {
        c.authenticated = true;
        c.add_reply_ok();
    } else {
        // A failed AUTH leaves the client's authentication as it was.
        c.add_reply_error(WRONGPASS);
    }
}

/// HELLO [protover [AUTH username password] [SETNAME clientname]]
pub fn hello_command(s: &mut Server, c: &mut Client) {
    let mut ver = 0i64;
    let mut next = 1;
    if c.argv.len() >= 2 {
        match crate::util::string2ll(c.argv.get(1)) {
            Some(v) => ver = v,
            None => {
                c.add_reply_error("Protocol version is not an integer or out of range");
                return;
            }
        }
        next = 2;
        if !(2..=3).contains(&ver) {
            c.add_reply_error("-NOPROTO unsupported protocol version");
            return;
        }
    }
    let mut setname: Option<Vec<u8>> = None;
    let mut auth: Option<(Vec<u8>, Vec<u8>)> = None;
    let mut j = next;
    while j < c.argv.len() {
        let more = c.argv.len() - j - 1;
        let opt = c.argv.get(j);
        if arg_is(opt, "AUTH") && more >= 2 {
            auth = Some((c.argv.get(j + 1).to_vec(), c.argv.get(j + 2).to_vec()));
            j += 3;
        } else if arg_is(opt, "SETNAME") && more >= 1 {
            setname = Some(c.argv.get(j + 1).to_vec());
            j += 2;
        } else {
            let o = c.argv.get_str(j).to_string();
            c.add_reply_error(&format!("Syntax error in HELLO option '{}'", o));
            return;
        }
    }
    if let Some((u, p)) = auth {
        if !check_password(s, &u, &p) {
            c.add_reply_error(WRONGPASS);
            return;
        }
        c.authenticated = true;
    }
    if s.auth_required(c) {
        c.add_reply_error("-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
        return;
    }
    if let Some(name) = setname {
        if let Err(e) = validate_client_name(&name) {
            c.add_reply_error(e);
            return;
        }
        c.name = if name.is_empty() { None } else { Some(name) };
    }
    if ver == 3 {
        // RESP3 is a later step: refuse it as an unsupported version.
        c.add_reply_error("-NOPROTO unsupported protocol version");
        return;
    }
    if ver != 0 {
        c.resp = ver as u8;
    }
    c.add_reply_map_len(7);
    c.add_reply_bulk(b"server");
    c.add_reply_bulk(b"redis");
    c.add_reply_bulk(b"version");
    c.add_reply_bulk(crate::server::REDIS_VERSION.as_bytes());
    c.add_reply_bulk(b"proto");
    c.add_reply_long_long(c.resp as i64);
    c.add_reply_bulk(b"id");
    c.add_reply_long_long(c.id as i64);
    c.add_reply_bulk(b"mode");
    c.add_reply_bulk(b"standalone");
    c.add_reply_bulk(b"role");
    c.add_reply_bulk(b"master");
    c.add_reply_bulk(b"modules");
    c.add_reply_array_len(0);
}

/// RESET: back to a fresh connection's state.
pub fn reset_command(s: &mut Server, c: &mut Client) {
    s.discard_transaction(c);
    s.pubsub_unsubscribe_all_channels(c, false);
    s.pubsub_unsubscribe_all_patterns(c, false);
    c.flags &= !(CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP | CLIENT_REPLY_SKIP_NEXT | CLIENT_PUBSUB);
    c.db = 0;
    c.resp = 2;
    c.name = None;
    c.add_reply_status("RESET");
}

/// Client names may not hold spaces, newlines or other special bytes.
fn validate_client_name(name: &[u8]) -> Result<(), &'static str> {
    if name.iter().any(|&b| b < b'!' || b > b'~') {
        return Err("Client names cannot contain spaces, newlines or special characters.");
    }
    Ok(())
}

/// The client type named in CLIENT LIST/KILL TYPE.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Replica,
    PubSub,
    Master,
}

fn client_type_by_name(name: &[u8]) -> Option<ClientType> {
    let n = name.to_ascii_lowercase();
    match n.as_slice() {
        b"normal" => Some(ClientType::Normal),
        b"slave" | b"replica" => Some(ClientType::Replica),
        b"pubsub" => Some(ClientType::PubSub),
        b"master" => Some(ClientType::Master),
        _ => None,
    }
}

fn client_type(c: &Client) -> ClientType {
    if c.flags & CLIENT_MASTER != 0 {
        ClientType::Master
    } else if c.flags & CLIENT_SLAVE != 0 && c.flags & CLIENT_MONITOR == 0 {
        ClientType::Replica
    } else if c.flags & CLIENT_PUBSUB != 0 {
        ClientType::PubSub
    } else {
        ClientType::Normal
    }
}

const CLIENT_HELP: &[&str] = &[
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (normal|master|replica|pubsub)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "    * ID <client-id>",
    "      Kill connections by client id.",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
];

/// CLIENT <subcommand> ...
pub fn client_command(s: &mut Server, c: &mut Client) {
    let sub = c.argv.get(1).to_ascii_lowercase();
    let argc = c.argv.len();
    match (sub.as_slice(), argc) {
        (b"help", 2) => reply_help(c, CLIENT_HELP),
        (b"id", 2) => c.add_reply_long_long(c.id as i64),
        (b"info", 2) => {
            let mut line = s.client_info_string(c);
            line.push('\n');
            c.add_reply_verbatim(line.as_bytes(), "txt");
        }
        (b"list", _) => client_list(s, c),
        (b"getname", 2) => match c.name.clone() {
            Some(n) => c.add_reply_bulk(&n),
            None => c.add_reply_null(),
        },
        (b"setname", 3) => {
            let name = c.argv.get(2).to_vec();
            match validate_client_name(&name) {
                Ok(()) => {
                    c.name = if name.is_empty() { None } else { Some(name) };
                    c.add_reply_ok();
                }
                Err(e) => c.add_reply_error(e),
            }
        }
        (b"setinfo", 4) => {
            // Redis 7.2's client library metadata: accepted, not shown.
            let attr = c.argv.get(2).to_ascii_lowercase();
            if attr == b"lib-name" || attr == b"lib-ver" {
                c.add_reply_ok();
            } else {
                let a = c.argv.get_str(2).to_string();
                c.add_reply_error(&format!("Unrecognized option '{}'", a));
            }
        }
        (b"kill", _) if argc >= 3 => client_kill(s, c),
        (b"reply", 3) => {
            let mode = c.argv.get(2);
            if arg_is(mode, "on") {
                c.flags &= !(CLIENT_REPLY_SKIP | CLIENT_REPLY_OFF);
                c.add_reply_ok();
            } else if arg_is(mode, "off") {
                c.flags |= CLIENT_REPLY_OFF;
            } else if arg_is(mode, "skip") {
                if c.flags & CLIENT_REPLY_OFF == 0 {
                    c.flags |= CLIENT_REPLY_SKIP_NEXT;
                }
            } else {
                reply_syntax_error(c);
            }
        }
        (b"pause", 3) | (b"pause", 4) => {
            let ms = match crate::util::string2ll(c.argv.get(2)) {
                Some(v) if v >= 0 => v,
                Some(_) => {
                    c.add_reply_error("timeout is negative");
                    return;
                }
                None => {
                    c.add_reply_error("timeout is not an integer or out of range");
                    return;
                }
            };
            let ptype = if argc == 4 {
                let t = c.argv.get(3);
                if arg_is(t, "write") {
                    PauseType::Write
                } else if arg_is(t, "all") {
                    PauseType::All
                } else {
                    c.add_reply_error("CLIENT PAUSE mode must be WRITE or ALL");
                    return;
                }
            } else {
                PauseType::All
            };
            // A stricter type or a later end wins, as pauseClients does.
            s.pause_clients(s.mstime + ms, ptype);
            c.add_reply_ok();
        }
        (b"unpause", 2) => {
            s.unpause_clients();
            c.add_reply_ok();
        }
        (b"unblock", 3) | (b"unblock", 4) => {
            let Some(id) = crate::util::string2ll(c.argv.get(2)) else {
                c.add_reply_error("value is not an integer or out of range");
                return;
            };
            let error = argc == 4 && arg_is(c.argv.get(3), "error");
            if argc == 4 && !error && !arg_is(c.argv.get(3), "timeout") {
                c.add_reply_error("CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
                return;
            }
            let done = s.client_unblock(id as u64, error);
            c.add_reply_long_long(done as i64);
        }
        (b"getredir", 2) => c.add_reply_long_long(-1),
        _ => reply_subcommand_syntax_error(c),
    }
}

fn client_list(s: &mut Server, c: &mut Client) {
    let argc = c.argv.len();
    let mut filter_type: Option<ClientType> = None;
    let mut ids: Option<Vec<u64>> = None;
    if argc == 4 && arg_is(c.argv.get(2), "type") {
        match client_type_by_name(c.argv.get(3)) {
            Some(t) => filter_type = Some(t),
            None => {
                let t = c.argv.get_str(3).to_string();
                c.add_reply_error(&format!("Unknown client type '{}'", t));
                return;
            }
        }
    } else if argc > 3 && arg_is(c.argv.get(2), "id") {
        let mut v = Vec::new();
        for j in 3..argc {
            match crate::util::string2ll(c.argv.get(j)) {
                Some(id) if id > 0 => v.push(id as u64),
                _ => {
                    c.add_reply_error("Invalid client ID");
                    return;
                }
            }
        }
        ids = Some(v);
    } else if argc != 2 {
        reply_syntax_error(c);
        return;
    }
    let mut out = String::new();
    for cl in s.all_clients(c) {
        if let Some(t) = filter_type {
            if client_type(cl) != t {
                continue;
            }
        }
        if let Some(ids) = &ids {
            if !ids.contains(&cl.id) {
                continue;
            }
        }
        out.push_str(&s.client_info_string(cl));
        out.push('\n');
    }
    c.add_reply_verbatim(out.as_bytes(), "txt");
}

fn client_kill(s: &mut Server, c: &mut Client) {
    let argc = c.argv.len();
    let mut addr: Option<Vec<u8>> = None;
    let mut laddr: Option<Vec<u8>> = None;
    let mut id: Option<u64> = None;
    let mut ctype: Option<ClientType> = None;
    let mut user: Option<Vec<u8>> = None;
    let mut skipme = true;
    let old_form = argc == 3;
    if old_form {
        addr = Some(c.argv.get(2).to_vec());
        skipme = false;
    } else {
        if argc % 2 != 0 {
            reply_syntax_error(c);
            return;
        }
        let mut i = 2;
        while i + 1 < argc {
            let opt = c.argv.get(i);
            let val = c.argv.get(i + 1);
            if arg_is(opt, "id") {
                match crate::util::string2ll(val) {
                    Some(v) if v > 0 => id = Some(v as u64),
                    _ => {
                        c.add_reply_error("client-id should be greater than 0");
                        return;
                    }
                }
            } else if arg_is(opt, "type") {
                match client_type_by_name(val) {
                    Some(t) => ctype = Some(t),
                    None => {
                        let t = String::from_utf8_lossy(val).into_owned();
                        c.add_reply_error(&format!("Unknown client type '{}'", t));
                        return;
                    }
                }
            } else if arg_is(opt, "addr") {
                addr = Some(val.to_vec());
            } else if arg_is(opt, "laddr") {
                laddr = Some(val.to_vec());
            } else if arg_is(opt, "user") {
                if val != b"default" {
                    let u = String::from_utf8_lossy(val).into_owned();
                    c.add_reply_error(&format!("No such user '{}'", u));
                    return;
                }
                user = Some(val.to_vec());
            } else if arg_is(opt, "skipme") {
                if arg_is(val, "yes") {
                    skipme = true;
                } else if arg_is(val, "no") {
                    skipme = false;
                } else {
                    reply_syntax_error(c);
                    return;
                }
            } else {
                reply_syntax_error(c);
                return;
            }
            i += 2;
        }
    }
    let _ = user;
    let mut victims: Vec<(i32, u64)> = Vec::new();
    let mut kill_self = false;
    for cl in s.all_clients(c) {
        if let Some(a) = &addr {
            if cl.addr.as_bytes() != a.as_slice() {
                continue;
            }
        }
        if let Some(a) = &laddr {
            if cl.laddr.as_bytes() != a.as_slice() {
                continue;
            }
        }
        if let Some(t) = ctype {
            if client_type(cl) != t {
                continue;
            }
        }
        if let Some(i) = id {
            if cl.id != i {
                continue;
            }
        }
        if cl.id == c.id {
            if skipme {
                continue;
            }
            kill_self = true;
        } else {
            victims.push((cl.fd, cl.id));
        }
    }
    let killed = victims.len() + kill_self as usize;
    for (fd, vid) in victims {
        s.free_client_async(fd, vid);
    }
    if old_form {
        if killed == 0 {
            c.add_reply_error("No such client");
            return;
        }
        c.add_reply_ok();
    } else {
        c.add_reply_long_long(killed as i64);
    }
    if kill_self {
        c.flags |= CLIENT_CLOSE_AFTER_REPLY;
    }
}
