//! Pub/Sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE,
//! PUBLISH, PUBSUB (the command half of pubsub.c; the mechanism is in
//! `crate::pubsub`). Replies are Redis 6.2's RESP2 shapes.

use super::{arg_is, reply_help, reply_subcommand_syntax_error, CommandDef};
use crate::client::{Client, CLIENT_PUBSUB};
use crate::server::Server;
use crate::util::string_match;

macro_rules! cmd {
    ($name:expr, $proc:expr, $arity:expr, $flags:expr) => {
        CommandDef { name: $name, proc_: $proc, arity: $arity, sflags: $flags, firstkey: 0, lastkey: 0, keystep: 0 }
    };
}

/// Redis 6.2's table entries: no keys; PUBLISH may replicate (it is
/// forced to replicas, never to the AOF).
pub static COMMANDS: &[CommandDef] = &[
    cmd!("subscribe", subscribe_command, -2, "pub-sub no-script ok-loading ok-stale"),
    cmd!("unsubscribe", unsubscribe_command, -1, "pub-sub no-script ok-loading ok-stale"),
    cmd!("psubscribe", psubscribe_command, -2, "pub-sub no-script ok-loading ok-stale"),
    cmd!("punsubscribe", punsubscribe_command, -1, "pub-sub no-script ok-loading ok-stale"),
    cmd!("publish", publish_command, 3, "pub-sub ok-loading ok-stale fast may-replicate"),
    cmd!("pubsub", pubsub_command, -2, "pub-sub ok-loading ok-stale random"),
];


/// SUBSCRIBE channel [channel ...]
pub fn subscribe_command(s: &mut Server, c: &mut Client) {
    let argv = std::mem::take(&mut c.argv);
    for j in 1..argv.len() {
        s.pubsub_subscribe_channel(c, argv.get(j));
    }
    c.argv = argv;
    c.flags |= CLIENT_PUBSUB;
}

/// UNSUBSCRIBE [channel ...]
pub fn unsubscribe_command(s: &mut Server, c: &mut Client) {
    if c.argv.len() == 1 {
        s.pubsub_unsubscribe_all_channels(c, true);
    } else {
        let argv = std::mem::take(&mut c.argv);
        for j in 1..argv.len() {
            s.pubsub_unsubscribe_channel(c, argv.get(j), true);
        }
        c.argv = argv;
    }
    if c.pubsub.count() == 0 {
        c.flags &= !CLIENT_PUBSUB;
    }
}

/// PSUBSCRIBE pattern [pattern ...]
pub fn psubscribe_command(s: &mut Server, c: &mut Client) {
    let argv = std::mem::take(&mut c.argv);
    for j in 1..argv.len() {
        s.pubsub_subscribe_pattern(c, argv.get(j));
    }
    c.argv = argv;
    c.flags |= CLIENT_PUBSUB;
}

/// PUNSUBSCRIBE [pattern ...]
pub fn punsubscribe_command(s: &mut Server, c: &mut Client) {
    if c.argv.len() == 1 {
        s.pubsub_unsubscribe_all_patterns(c, true);
    } else {
        let argv = std::mem::take(&mut c.argv);
        for j in 1..argv.len() {
            s.pubsub_unsubscribe_pattern(c, argv.get(j), true);
        }
        c.argv = argv;
    }
    if c.pubsub.count() == 0 {
        c.flags &= !CLIENT_PUBSUB;
    }
}

/// PUBLISH channel message: replies the number of deliveries. Not dirty,
/// hence not written to the AOF (see the module docs).
pub fn publish_command(s: &mut Server, c: &mut Client) {
    let receivers = s.pubsub_publish_message(c.argv.get(1), c.argv.get(2));
    c.add_reply_long_long(receivers as i64);
}

/// PUBSUB CHANNELS [pattern] | NUMSUB [channel ...] | NUMPAT | HELP
pub fn pubsub_command(s: &mut Server, c: &mut Client) {
    let argc = c.argv.len();
    let sub = c.argv.get(1);
    if argc == 2 && arg_is(sub, "help") {
        reply_help(
            c,
            &[
                "CHANNELS [<pattern>]",
                "    Return the currently active channels matching a <pattern> (default: '*').",
                "NUMPAT",
                "    Return number of subscriptions to patterns.",
                "NUMSUB [<channel> ...]",
                "    Return the number of subscribers for the specified channels, excluding",
                "    pattern subscriptions(default: no channels).",
            ],
        );
    } else if arg_is(sub, "channels") && (argc == 2 || argc == 3) {
        let pat = if argc == 3 { Some(c.argv.get(2).to_vec()) } else { None };
        let names: Vec<&Box<[u8]>> = s
            .pubsub
            .channels
            .keys()
            .filter(|ch| pat.as_ref().map_or(true, |p| string_match(p, ch, false)))
            .collect();
        c.add_reply_array_len(names.len());
        for n in names {
            c.add_reply_bulk(n);
        }
    } else if arg_is(sub, "numsub") {
        c.add_reply_array_len((argc - 2) * 2);
        let argv = std::mem::take(&mut c.argv);
        for j in 2..argc {
            let ch = argv.get(j);
            c.add_reply_bulk(ch);
            let n = s.pubsub.channels.get(ch).map_or(0, |l| l.len());
            c.add_reply_long_long(n as i64);
        }
        c.argv = argv;
    } else if arg_is(sub, "numpat") && argc == 2 {
        c.add_reply_long_long(s.pubsub.patterns.len() as i64);
    } else {
        reply_subcommand_syntax_error(c);
    }
}
