//! Keyspace notifications over Pub/Sub (mirrors notify.c).
//!
//! 1. Commands call [`Server::notify_keyspace_event`] with a class (one of
//!    config.rs's `NOTIFY_*`), an event name (`set`, `del`, `expired`,
//!    `lpush`, …), the key and its db, after the change is made.
//! 2. If `notify-keyspace-events` does not enable that class the call
//!    returns at once: one AND on the hot path, nothing else. Nor is any
//!    channel name built while nobody is subscribed to anything.
//! 3. Otherwise, with `K`, the event name is published to
//!    `__keyspace@<db>__:<key>`; with `E`, the key name to
//!    `__keyevent@<db>__:<event>`; in that order, as Redis does.
//!
//! The classes and their letters are Redis 6.2's: `g$lshzxetd` (`A` is all
//! of them), `m` for key misses (not in `A`), `K` and `E` for the two
//! channel kinds. 7.0's `n` (new key) does not exist in 6.2.

use crate::server::Server;

impl Server {
    /// Publishes a keyspace event if its class is enabled
    /// (`notifyKeyspaceEvent`).
    #[inline]
    pub fn notify_keyspace_event(&mut self, class: i32, event: &str, key: &[u8], db: usize) {
        if self.config.notify_keyspace_events & class == 0 {
            return;
        }
        self.notify_keyspace_event_publish(event, key, db);
    }

    #[cold]
    fn notify_keyspace_event_publish(&mut self, event: &str, key: &[u8], db: usize) {
        if self.pubsub.channels.is_empty() && self.pubsub.patterns.is_empty() {
            return;
        }
        let flags = self.config.notify_keyspace_events;
        let mut dbbuf = itoa::Buffer::new();
        let dbid = dbbuf.format(db).as_bytes();
        if flags & crate::config::NOTIFY_KEYSPACE != 0 {
            let mut chan = Vec::with_capacity(16 + dbid.len() + key.len());
            chan.extend_from_slice(b"__keyspace@");
            chan.extend_from_slice(dbid);
            chan.extend_from_slice(b"__:");
            chan.extend_from_slice(key);
            self.pubsub_publish_message(&chan, event.as_bytes());
        }
        if flags & crate::config::NOTIFY_KEYEVENT != 0 {
            let mut chan = Vec::with_capacity(16 + dbid.len() + event.len());
            chan.extend_from_slice(b"__keyevent@");
            chan.extend_from_slice(dbid);
            chan.extend_from_slice(b"__:");
            chan.extend_from_slice(event.as_bytes());
            self.pubsub_publish_message(&chan, key);
        }
    }
}
