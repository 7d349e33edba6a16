//! Pub/Sub: channels, patterns and message delivery (mirrors pubsub.c).
//!
//! 1. A client subscribes to channels (exact names) and patterns (globs,
//!    matched with `string_match`). Each side keeps its own record: the
//!    client its set of channels and its list of patterns, the server a
//!    table from channel (or pattern) to the clients subscribed, in the
//!    order they subscribed.
//! 2. `PUBLISH ch msg` (and every keyspace notification, see notify.rs)
//!    goes through [`Server::pubsub_publish_message`]: first the channel's
//!    subscribers get `message`, then every pattern that matches gives its
//!    subscribers a `pmessage`. The reply is how many deliveries were made.
//! 3. A message is appended to the subscriber's reply buffer and the
//!    subscriber is queued in `clients_pending_write`, exactly like any
//!    reply, so `before_sleep` writes it, and the pubsub class of
//!    `client-output-buffer-limit` applies to it as to any reply (a slow
//!    subscriber is closed there). A subscriber that is out of its
//!    slot (it is the client whose command is running) gets the message
//!    parked in [`PubSub::pending`] and appended right after that command
//!    (or when it is put back into its slot).
//! 4. A subscribed RESP2 client may only run (P)SUBSCRIBE, (P)UNSUBSCRIBE,
//!    PING, QUIT and RESET (checked in `process_command`); it leaves that
//!    state when its last subscription goes. Subscriptions are dropped when
//!    the client is freed or RESET.
//!
//! PUBLISH changes no data, so it never reaches the AOF: Redis 6.2 forces
//! its propagation to replicas only (`PROPAGATE_REPL`), and oxredis has no
//! replicas yet.

use std::collections::{HashMap, HashSet};
use std::os::unix::io::RawFd;

use crate::client::{Client, CLIENT_PENDING_WRITE, CLIENT_PUBSUB};
use crate::server::Server;
use crate::util::string_match;

/// A client as the subscription tables name it: its fd and its id (the
/// id tells a reused fd apart).
pub type ClientRef = (RawFd, u64);

/// The server side of Pub/Sub (`server.pubsub_channels`,
/// `server.pubsub_patterns`).
#[derive(Default)]
pub struct PubSub {
    /// Channel → subscribers, in subscription order.
    pub channels: HashMap<Box<[u8]>, Vec<ClientRef>>,
    /// Pattern → subscribers, in subscription order. PUBSUB NUMPAT counts
    /// the distinct patterns, as Redis 6.2 does.
    pub patterns: HashMap<Box<[u8]>, Vec<ClientRef>>,
    /// Messages for subscribers that were out of their slot when the
    /// message was published (the running client): appended once that
    /// client's command is over.
    pub pending: Vec<(ClientRef, Vec<u8>)>,
}

/// A client's own subscriptions (`c->pubsub_channels`, `c->pubsub_patterns`).
#[derive(Default)]
pub struct ClientPubSub {
    pub channels: HashSet<Box<[u8]>>,
    /// In subscription order: PUNSUBSCRIBE without arguments replies in it.
    pub patterns: Vec<Box<[u8]>>,
}

impl ClientPubSub {
    /// Channels plus patterns (`clientSubscriptionsCount`).
    pub fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }
}

/// Appends a message to a subscriber's replies and queues the subscriber
/// for `before_sleep`, as every reply is queued. This is the one place
/// Pub/Sub writes to a client other than the one being served.
fn add_reply_to_subscriber(
    clients: &mut [Option<Box<Client>>],
    clients_pending_write: &mut Vec<ClientRef>,
    pending: &mut Vec<(ClientRef, Vec<u8>)>,
    r: ClientRef,
    bytes: &[u8],
) {
    let (fd, id) = r;
    match clients.get_mut(fd as usize) {
        Some(Some(c)) if c.id == id => {
            c.add_reply(bytes);
            if c.has_pending_replies() && c.flags & CLIENT_PENDING_WRITE == 0 {
                c.flags |= CLIENT_PENDING_WRITE;
                clients_pending_write.push(r);
            }
        }
        // Out of its slot: the client whose command is running.
        _ => pending.push((r, bytes.to_vec())),
    }
}

/// Appends `$<len>\r\n<s>\r\n`.
fn push_bulk(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'$');
    out.extend_from_slice(itoa::Buffer::new().format(s.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(s);
    out.extend_from_slice(b"\r\n");
}

/// `*3 message <channel> <msg>` (`addReplyPubsubMessage`, RESP2).
pub fn message_bytes(channel: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + channel.len() + msg.len());
    out.extend_from_slice(b"*3\r\n$7\r\nmessage\r\n");
    push_bulk(&mut out, channel);
    push_bulk(&mut out, msg);
    out
}

/// `*4 pmessage <pattern> <channel> <msg>` (`addReplyPubsubPatMessage`).
pub fn pmessage_bytes(pattern: &[u8], channel: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(48 + pattern.len() + channel.len() + msg.len());
    out.extend_from_slice(b"*4\r\n$8\r\npmessage\r\n");
    push_bulk(&mut out, pattern);
    push_bulk(&mut out, channel);
    push_bulk(&mut out, msg);
    out
}

/// The (un)subscribe confirmation: `*3 <kind> <name or null> :<count>`
/// (`addReplyPubsubSubscribed` and friends).
fn add_reply_pubsub_confirm(c: &mut Client, kind: &str, name: Option<&[u8]>, count: usize) {
    c.add_reply_array_len(3);
    c.add_reply_bulk(kind.as_bytes());
    match name {
        Some(n) => c.add_reply_bulk(n),
        None => c.add_reply_null(),
    }
    c.add_reply_long_long(count as i64);
}

/// Removes `who` from a subscriber list; drops the table entry when the
/// list becomes empty.
fn remove_subscriber(table: &mut HashMap<Box<[u8]>, Vec<ClientRef>>, name: &[u8], who: ClientRef) {
    if let Some(list) = table.get_mut(name) {
        if let Some(i) = list.iter().position(|r| r.1 == who.1) {
            list.remove(i);
        }
        if list.is_empty() {
            table.remove(name);
        }
    }
}

impl Server {
    /// Subscribes `c` to `channel`; replies the confirmation
    /// (`pubsubSubscribeChannel`). True if it was not subscribed yet.
    pub fn pubsub_subscribe_channel(&mut self, c: &mut Client, channel: &[u8]) -> bool {
        let added = c.pubsub.channels.insert(channel.into());
        if added {
            self.pubsub.channels.entry(channel.into()).or_default().push((c.fd, c.id));
        }
        let n = c.pubsub.count();
        add_reply_pubsub_confirm(c, "subscribe", Some(channel), n);
        added
    }

    /// Unsubscribes `c` from `channel`, replying the confirmation when
    /// `notify` (`pubsubUnsubscribeChannel`). True if it was subscribed.
    pub fn pubsub_unsubscribe_channel(&mut self, c: &mut Client, channel: &[u8], notify: bool) -> bool {
        let removed = c.pubsub.channels.remove(channel);
        if removed {
            remove_subscriber(&mut self.pubsub.channels, channel, (c.fd, c.id));
        }
        if notify {
            let n = c.pubsub.count();
            add_reply_pubsub_confirm(c, "unsubscribe", Some(channel), n);
        }
        removed
    }

    /// Subscribes `c` to `pattern` (`pubsubSubscribePattern`).
    pub fn pubsub_subscribe_pattern(&mut self, c: &mut Client, pattern: &[u8]) -> bool {
        let added = !c.pubsub.patterns.iter().any(|p| &p[..] == pattern);
        if added {
            c.pubsub.patterns.push(pattern.into());
            self.pubsub.patterns.entry(pattern.into()).or_default().push((c.fd, c.id));
        }
        let n = c.pubsub.count();
        add_reply_pubsub_confirm(c, "psubscribe", Some(pattern), n);
        added
    }

    /// Unsubscribes `c` from `pattern` (`pubsubUnsubscribePattern`).
    pub fn pubsub_unsubscribe_pattern(&mut self, c: &mut Client, pattern: &[u8], notify: bool) -> bool {
        let pos = c.pubsub.patterns.iter().position(|p| &p[..] == pattern);
        if let Some(i) = pos {
            c.pubsub.patterns.remove(i);
            remove_subscriber(&mut self.pubsub.patterns, pattern, (c.fd, c.id));
        }
        if notify {
            let n = c.pubsub.count();
            add_reply_pubsub_confirm(c, "punsubscribe", Some(pattern), n);
        }
        pos.is_some()
    }

    /// Unsubscribes `c` from every channel; with `notify`, one confirmation
    /// per channel, or one with a null channel if there was none
    /// (`pubsubUnsubscribeAllChannels`). Returns how many there were.
    pub fn pubsub_unsubscribe_all_channels(&mut self, c: &mut Client, notify: bool) -> usize {
        let channels: Vec<Box<[u8]>> = c.pubsub.channels.iter().cloned().collect();
        for ch in &channels {
            self.pubsub_unsubscribe_channel(c, ch, notify);
        }
        if notify && channels.is_empty() {
            let n = c.pubsub.count();
            add_reply_pubsub_confirm(c, "unsubscribe", None, n);
        }
        channels.len()
    }

    /// The same for patterns (`pubsubUnsubscribeAllPatterns`).
    pub fn pubsub_unsubscribe_all_patterns(&mut self, c: &mut Client, notify: bool) -> usize {
        let patterns = c.pubsub.patterns.clone();
        for p in &patterns {
            self.pubsub_unsubscribe_pattern(c, p, notify);
        }
        if notify && patterns.is_empty() {
            let n = c.pubsub.count();
            add_reply_pubsub_confirm(c, "punsubscribe", None, n);
        }
        patterns.len()
    }

    /// Drops every subscription of a client that goes away or is RESET,
    /// without replies; it leaves the subscribed state.
    pub fn pubsub_free_client(&mut self, c: &mut Client) {
        if c.pubsub.count() > 0 {
            self.pubsub_unsubscribe_all_channels(c, false);
            self.pubsub_unsubscribe_all_patterns(c, false);
        }
        c.flags &= !CLIENT_PUBSUB;
        if !self.pubsub.pending.is_empty() {
            self.pubsub.pending.retain(|(r, _)| r.1 != c.id);
        }
    }

    /// Sends `msg` to `channel`'s subscribers and to those of every
    /// matching pattern; returns the number of deliveries
    /// (`pubsubPublishMessage`).
    pub fn pubsub_publish_message(&mut self, channel: &[u8], msg: &[u8]) -> usize {
        let mut receivers = 0;
        let Server { pubsub, clients, clients_pending_write, .. } = self;
        let PubSub { channels, patterns, pending } = pubsub;
        if let Some(list) = channels.get(channel) {
            let bytes = message_bytes(channel, msg);
            for &r in list {
                add_reply_to_subscriber(clients, clients_pending_write, pending, r, &bytes);
                receivers += 1;
            }
        }
        for (pattern, list) in patterns.iter() {
            if !string_match(pattern, channel, false) {
                continue;
            }
            let bytes = pmessage_bytes(pattern, channel, msg);
            for &r in list {
                add_reply_to_subscriber(clients, clients_pending_write, pending, r, &bytes);
                receivers += 1;
            }
        }
        receivers
    }

    /// Appends the messages parked for `c` while it was out of its slot.
    pub fn pubsub_deliver_pending(&mut self, c: &mut Client) {
        if !self.pubsub.pending.iter().any(|(r, _)| r.1 == c.id) {
            return;
        }
        let pending = std::mem::take(&mut self.pubsub.pending);
        for (r, bytes) in pending {
            if r.1 == c.id {
                c.add_reply(&bytes);
            } else {
                self.pubsub.pending.push((r, bytes));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_encoding() {
        assert_eq!(message_bytes(b"ch", b"hi"), b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n".to_vec());
        assert_eq!(
            pmessage_bytes(b"c*", b"ch", b""),
            b"*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$0\r\n\r\n".to_vec()
        );
    }

    fn out(c: &Client) -> Vec<u8> {
        let mut v = c.buf.clone();
        for ch in &c.reply {
            v.extend_from_slice(ch);
        }
        v
    }

    #[test]
    fn delivery_to_slotted_and_running_clients() {
        let mut s = match Server::new(crate::config::Config::with_defaults()) {
            Ok(s) => s,
            Err(e) => panic!("server: {}", e),
        };
        // A subscriber in its slot, and one that is "running" (out of it).
        let mut idle = Box::new(Client::new(1, 3, 0));
        let mut running = Client::new(2, 4, 0);
        s.pubsub_subscribe_channel(&mut idle, b"ch");
        s.pubsub_subscribe_pattern(&mut running, b"c*");
        idle.clear_replies();
        running.clear_replies();
        s.clients.resize_with(5, || None);
        s.clients[3] = Some(idle);

        assert_eq!(s.pubsub_publish_message(b"ch", b"hi"), 2);
        let idle = s.clients[3].as_ref().map(|c| out(c)).unwrap_or_default();
        assert_eq!(idle, message_bytes(b"ch", b"hi"));
        assert_eq!(s.clients_pending_write, vec![(3, 1)]);
        // Parked until the running client's command is over.
        assert!(out(&running).is_empty());
        assert_eq!(s.pubsub.pending.len(), 1);
        s.pubsub_deliver_pending(&mut running);
        assert_eq!(out(&running), pmessage_bytes(b"c*", b"ch", b"hi"));
        assert!(s.pubsub.pending.is_empty());

        // A second message does not queue the idle client twice.
        s.pubsub_publish_message(b"ch", b"again");
        assert_eq!(s.clients_pending_write, vec![(3, 1)]);
        s.pubsub.pending.clear();

        // Freeing drops the subscriptions on both sides.
        s.pubsub_free_client(&mut running);
        assert!(s.pubsub.patterns.is_empty());
        assert_eq!(s.pubsub_publish_message(b"ch", b"x"), 1);
    }

    #[test]
    fn remove_subscriber_drops_empty_entries() {
        let mut t: HashMap<Box<[u8]>, Vec<ClientRef>> = HashMap::new();
        t.entry(b"a"[..].into()).or_default().extend([(5, 1), (6, 2)]);
        remove_subscriber(&mut t, b"a", (5, 1));
        assert_eq!(t.get(&b"a"[..]).map(|l| l.len()), Some(1));
        remove_subscriber(&mut t, b"a", (6, 2));
        assert!(t.is_empty());
        remove_subscriber(&mut t, b"missing", (6, 2));
    }
}
