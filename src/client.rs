//! A connected client and the reply API (the `client` struct of server.h
//! and the `addReply*` family of networking.c).
//!
//! Replies are accumulated, never written from a command:
//! 1. bytes go into `buf`, a 16 KiB array reserved once per client;
//! 2. when it is full (or once anything is in the list) they go into
//!    `reply`, a list of chunks of at least 16 KiB;
//! 3. `before_sleep` writes what it can straight to the socket and only a
//!    client left with unsent bytes gets a writable file event.
//!
//! Headers are formatted with `itoa` into the buffer: no allocation per
//! reply for small replies.

use std::collections::VecDeque;
use std::os::unix::io::RawFd;

use crate::proto::{Argv, ReqParser};

/// The size of the static reply buffer and of reply list chunks
/// (PROTO_REPLY_CHUNK_BYTES).
pub const PROTO_REPLY_CHUNK_BYTES: usize = 16 * 1024;
/// Default read size (PROTO_IOBUF_LEN).
pub const PROTO_IOBUF_LEN: usize = 16 * 1024;
/// Arguments at least this big are read with a read sized to them.
pub const PROTO_MBULK_BIG_ARG: usize = 32 * 1024;

// Client flags, with Redis's names.
pub const CLIENT_SLAVE: u64 = 1 << 0;
pub const CLIENT_MASTER: u64 = 1 << 1;
pub const CLIENT_MONITOR: u64 = 1 << 2;
pub const CLIENT_MULTI: u64 = 1 << 3;
pub const CLIENT_BLOCKED: u64 = 1 << 4;
pub const CLIENT_DIRTY_CAS: u64 = 1 << 5;
pub const CLIENT_CLOSE_AFTER_REPLY: u64 = 1 << 6;
pub const CLIENT_UNBLOCKED: u64 = 1 << 7;
pub const CLIENT_CLOSE_ASAP: u64 = 1 << 10;
pub const CLIENT_UNIX_SOCKET: u64 = 1 << 11;
pub const CLIENT_DIRTY_EXEC: u64 = 1 << 12;
pub const CLIENT_PENDING_WRITE: u64 = 1 << 21;
pub const CLIENT_REPLY_OFF: u64 = 1 << 22;
pub const CLIENT_REPLY_SKIP_NEXT: u64 = 1 << 23;
pub const CLIENT_REPLY_SKIP: u64 = 1 << 24;
pub const CLIENT_PUBSUB: u64 = 1 << 18;
pub const CLIENT_PROTOCOL_ERROR: u64 = 1 << 39;
/// A fake client used to replay the AOF: never written to.
pub const CLIENT_FAKE: u64 = 1 << 45;
/// Set while a command runs for a client that got paused.
pub const CLIENT_PAUSED_WAIT: u64 = 1 << 46;

/// One connection (or a fake client with `fd == -1`).
pub struct Client {
    pub id: u64,
    pub fd: RawFd,
    pub flags: u64,
    /// Selected database index.
    pub db: usize,
    pub name: Option<Vec<u8>>,
    /// `ip:port` of the peer, or `path:0` for unix sockets.
    pub addr: String,
    pub laddr: String,
    /// Protocol version chosen with HELLO (2 until RESP3 lands).
    pub resp: u8,
    pub authenticated: bool,

    pub querybuf: Vec<u8>,
    /// Offset of the first byte not yet parsed.
    pub qb_pos: usize,
    /// Peak query buffer length in the last cron period (`querybuf_peak`).
    pub querybuf_peak: usize,
    pub parser: ReqParser,
    pub argv: Argv,
    /// Index in the command table of the command being run (or last run).
    pub cmd: Option<usize>,
    pub lastcmd: Option<usize>,

    pub buf: Vec<u8>,
    pub reply: VecDeque<Vec<u8>>,
    /// Bytes held in `reply` chunks (`reply_bytes`).
    pub reply_bytes: usize,
    /// Bytes of the head (`buf`, then the first list chunk) already sent.
    pub sentlen: usize,

    /// Creation and last-interaction times, seconds (unix time).
    pub ctime: i64,
    pub lastinteraction: i64,
    /// Error prefixes replied during the current command, for errorstats.
    pub errors: Vec<String>,
    /// True if the current command was rejected before it ran.
    pub rejected: bool,
    /// The form in which the current command is propagated to the AOF,
    /// when it differs from what was sent (`rewriteClientCommandVector`).
    pub rewritten: Option<Argv>,
    /// Set by a command that propagates its effect only through
    /// `Server::also_propagate` (`preventCommandPropagation`).
    pub prevent_propagation: bool,
    /// What the client is blocked on, if `CLIENT_BLOCKED` (see blocked.rs).
    pub btype: crate::blocked::BlockType,
    pub bpop: crate::blocked::BlockingState,
}

impl Client {
    pub fn new(id: u64, fd: RawFd, now: i64) -> Client {
        Client {
            id,
            fd,
            flags: 0,
            db: 0,
            name: None,
            addr: String::new(),
            laddr: String::new(),
            resp: 2,
            authenticated: false,
            querybuf: Vec::new(),
            qb_pos: 0,
            querybuf_peak: 0,
            parser: ReqParser::default(),
            argv: Argv::new(),
            cmd: None,
            lastcmd: None,
            buf: Vec::with_capacity(PROTO_REPLY_CHUNK_BYTES),
            reply: VecDeque::new(),
            reply_bytes: 0,
            sentlen: 0,
            ctime: now,
            lastinteraction: now,
            errors: Vec::new(),
            rejected: false,
            rewritten: None,
            prevent_propagation: false,
            btype: crate::blocked::BlockType::None,
            bpop: crate::blocked::BlockingState::default(),
        }
    }

    /// A client with no connection, for replaying the AOF and for tests.
    pub fn new_fake() -> Client {
        let mut c = Client::new(u64::MAX, -1, 0);
        c.flags |= CLIENT_FAKE;
        c.authenticated = true;
        c.buf = Vec::new();
        c
    }

    /// Replies are swallowed for fake clients and with CLIENT REPLY OFF/SKIP.
    #[inline]
    fn replies_enabled(&self) -> bool {
        self.flags & (CLIENT_FAKE | CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP) == 0
    }

    /// True if some reply bytes are still to be written.
    #[inline]
    pub fn has_pending_replies(&self) -> bool {
        !self.buf.is_empty() || self.reply_bytes > 0
    }

    /// Total unsent reply bytes (buf + list, minus what was sent).
    pub fn pending_reply_bytes(&self) -> usize {
        self.buf.len() + self.reply_bytes - self.sentlen.min(self.buf.len() + self.reply_bytes)
    }

    /// Appends raw protocol bytes (`_addReplyToBufferOrList`).
    #[inline]
    pub fn add_reply(&mut self, s: &[u8]) {
        if !self.replies_enabled() {
            return;
        }
        self.add_reply_unchecked(s);
    }

    #[inline]
    fn add_reply_unchecked(&mut self, s: &[u8]) {
        if self.reply.is_empty() {
            let room = PROTO_REPLY_CHUNK_BYTES.saturating_sub(self.buf.len());
            if s.len() <= room {
                self.buf.extend_from_slice(s);
                return;
            }
        }
        self.add_reply_to_list(s);
    }

    fn add_reply_to_list(&mut self, mut s: &[u8]) {
        if let Some(tail) = self.reply.back_mut() {
            let room = tail.capacity() - tail.len();
            let n = room.min(s.len());
            if n > 0 && tail.capacity() > 0 {
                tail.extend_from_slice(&s[..n]);
                self.reply_bytes += n;
                s = &s[n..];
            }
        }
        if !s.is_empty() {
            let mut chunk = Vec::with_capacity(s.len().max(PROTO_REPLY_CHUNK_BYTES));
            chunk.extend_from_slice(s);
            self.reply_bytes += s.len();
            self.reply.push_back(chunk);
        }
    }

    /// A double as Redis 6.2 replies it in RESP2 (`addReplyDouble`): a bulk
    /// string, `inf`/`-inf` or `%.17g`.
    pub fn add_reply_double(&mut self, v: f64) {
        if !self.replies_enabled() {
            return;
        }
        let mut buf = [0u8; 64];
        let s = crate::util::reply_double_into(v, &mut buf);
        self.add_reply_bulk(s);
    }

    /// `+<status>\r\n`.
    pub fn add_reply_status(&mut self, status: &str) {
        if !self.replies_enabled() {
            return;
        }
        self.add_reply_unchecked(b"+");
        self.add_reply_unchecked(status.as_bytes());
        self.add_reply_unchecked(b"\r\n");
    }

    /// `+OK\r\n`.
    #[inline]
    pub fn add_reply_ok(&mut self) {
        self.add_reply(b"+OK\r\n");
    }

    /// An error reply. `msg` without a leading `-` gets `-ERR ` in front,
    /// as `addReplyError` does; newlines are turned into spaces so the
    /// reply stays one protocol line. The error's prefix is recorded for
    /// INFO errorstats even when replies are off.
    pub fn add_reply_error(&mut self, msg: &str) {
        let (prefix, body): (&str, &str) = if let Some(rest) = msg.strip_prefix('-') {
            let code = rest.split(' ').next().unwrap_or("ERR");
            (code, rest)
        } else {
            ("ERR", msg)
        };
        self.errors.push(prefix.to_string());
        if !self.replies_enabled() {
            return;
        }
        self.add_reply_unchecked(b"-");
        if !msg.starts_with('-') {
            self.add_reply_unchecked(b"ERR ");
        }
        if body.bytes().any(|b| b == b'\r' || b == b'\n') {
            let clean: Vec<u8> = body.bytes().map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }).collect();
            self.add_reply_unchecked(&clean);
        } else {
            self.add_reply_unchecked(body.as_bytes());
        }
        self.add_reply_unchecked(b"\r\n");
    }

    /// Writes `<prefix><n>\r\n`.
    #[inline]
    fn add_reply_header(&mut self, prefix: u8, n: i64) {
        if !self.replies_enabled() {
            return;
        }
        let mut tmp = [0u8; 24];
        tmp[0] = prefix;
        let mut b = itoa::Buffer::new();
        let digits = b.format(n).as_bytes();
        tmp[1..1 + digits.len()].copy_from_slice(digits);
        let end = 1 + digits.len();
        tmp[end] = b'\r';
        tmp[end + 1] = b'\n';
        self.add_reply_unchecked(&tmp[..end + 2]);
    }

    /// `:<n>\r\n`.
    #[inline]
    pub fn add_reply_long_long(&mut self, n: i64) {
        match n {
            0 => self.add_reply(b":0\r\n"),
            1 => self.add_reply(b":1\r\n"),
            _ => self.add_reply_header(b':', n),
        }
    }

    /// `$<len>\r\n<bytes>\r\n`.
    #[inline]
    pub fn add_reply_bulk(&mut self, s: &[u8]) {
        if !self.replies_enabled() {
            return;
        }
        self.add_reply_header(b'$', s.len() as i64);
        self.add_reply_unchecked(s);
        self.add_reply_unchecked(b"\r\n");
    }

    /// Replies argument `i` of the current command as a bulk string,
    /// without copying it (the argv is moved out for the call).
    #[inline]
    pub fn add_reply_bulk_arg(&mut self, i: usize) {
        let argv = std::mem::take(&mut self.argv);
        self.add_reply_bulk(argv.get(i));
        self.argv = argv;
    }

    /// A bulk string holding the decimal form of `n`.
    pub fn add_reply_bulk_long_long(&mut self, n: i64) {
        let mut b = itoa::Buffer::new();
        let s = b.format(n);
        self.add_reply_bulk(s.as_bytes());
    }

    /// The null bulk reply (`$-1` in RESP2, `_` in RESP3).
    #[inline]
    pub fn add_reply_null(&mut self) {
        if self.resp >= 3 {
            self.add_reply(b"_\r\n");
        } else {
            self.add_reply(b"$-1\r\n");
        }
    }

    /// The null array reply (`*-1` in RESP2, `_` in RESP3).
    pub fn add_reply_null_array(&mut self) {
        if self.resp >= 3 {
            self.add_reply(b"_\r\n");
        } else {
            self.add_reply(b"*-1\r\n");
        }
    }

    /// `*<n>\r\n`.
    #[inline]
    pub fn add_reply_array_len(&mut self, n: usize) {
        self.add_reply_header(b'*', n as i64);
    }

    /// A map header: `%<n>` in RESP3, `*<2n>` in RESP2.
    pub fn add_reply_map_len(&mut self, n: usize) {
        if self.resp >= 3 {
            self.add_reply_header(b'%', n as i64);
        } else {
            self.add_reply_header(b'*', 2 * n as i64);
        }
    }

    /// A set header: `~<n>` in RESP3, `*<n>` in RESP2.
    pub fn add_reply_set_len(&mut self, n: usize) {
        if self.resp >= 3 {
            self.add_reply_header(b'~', n as i64);
        } else {
            self.add_reply_header(b'*', n as i64);
        }
    }

    /// A verbatim text reply (INFO, CLIENT LIST): a bulk string in RESP2.
    pub fn add_reply_verbatim(&mut self, s: &[u8], ext: &str) {
        if self.resp >= 3 {
            if !self.replies_enabled() {
                return;
            }
            self.add_reply_header(b'=', s.len() as i64 + 4);
            self.add_reply_unchecked(ext.as_bytes());
            self.add_reply_unchecked(b":");
            self.add_reply_unchecked(s);
            self.add_reply_unchecked(b"\r\n");
        } else {
            self.add_reply_bulk(s);
        }
    }

    /// An array of bulk strings.
    pub fn add_reply_bulks<'a, I: IntoIterator<Item = &'a [u8]>>(&mut self, n: usize, items: I) {
        self.add_reply_array_len(n);
        for it in items {
            self.add_reply_bulk(it);
        }
    }

    /// Reserves a spot for an aggregate header whose length is not yet
    /// known (`addReplyDeferredLen`). Everything after it goes to the list.
    pub fn add_reply_deferred_len(&mut self) -> Option<usize> {
        if !self.replies_enabled() {
            return None;
        }
        self.reply.push_back(Vec::new());
        // A zero-capacity placeholder: add_reply_to_list never extends it.
        Some(self.reply.len() - 1)
    }

    /// Fills a header reserved with `add_reply_deferred_len`.
    pub fn set_deferred_array_len(&mut self, slot: Option<usize>, n: usize) {
        self.set_deferred(slot, b'*', n as i64);
    }

    /// Fills a deferred map header (`%n` or `*2n`).
    pub fn set_deferred_map_len(&mut self, slot: Option<usize>, n: usize) {
        if self.resp >= 3 {
            self.set_deferred(slot, b'%', n as i64)
        } else {
            self.set_deferred(slot, b'*', 2 * n as i64)
        }
    }

    fn set_deferred(&mut self, slot: Option<usize>, prefix: u8, n: i64) {
        let Some(i) = slot else { return };
        // Slot indexes shift when the writer drops sent chunks from the
        // head; that cannot happen while a command is running.
        if let Some(chunk) = self.reply.get_mut(i) {
            let mut b = itoa::Buffer::new();
            let mut h = Vec::with_capacity(24);
            h.push(prefix);
            h.extend_from_slice(b.format(n).as_bytes());
            h.extend_from_slice(b"\r\n");
            self.reply_bytes += h.len();
            *chunk = h;
        }
    }

    /// Drops every pending reply (used when output is discarded).
    pub fn clear_replies(&mut self) {
        self.buf.clear();
        self.reply.clear();
        self.reply_bytes = 0;
        self.sentlen = 0;
    }

    /// Memory attributed to this client: buffers, reply list, argv.
    pub fn total_memory(&self) -> usize {
        self.querybuf.capacity()
            + self.buf.capacity()
            + self.reply.iter().map(|c| c.capacity()).sum::<usize>()
            + self.argv.capacity()
            + std::mem::size_of::<Client>()
    }

    /// Resets per-command state once a command is done (`resetClient`).
    pub fn reset(&mut self) {
        self.argv.clear();
        self.parser.reset();
        self.cmd = None;
        self.rejected = false;
        self.rewritten = None;
        // CLIENT REPLY SKIP covers exactly one command after the SKIP.
        if self.flags & CLIENT_REPLY_SKIP != 0 {
            self.flags &= !CLIENT_REPLY_SKIP;
        }
        if self.flags & CLIENT_REPLY_SKIP_NEXT != 0 {
            self.flags |= CLIENT_REPLY_SKIP;
            self.flags &= !CLIENT_REPLY_SKIP_NEXT;
        }
    }

    /// The `flags=` letters of CLIENT LIST.
    pub fn flags_string(&self, events_writable: bool) -> String {
        let _ = events_writable;
        let mut s = String::new();
        let f = self.flags;
        if f & CLIENT_SLAVE != 0 {
            if f & CLIENT_MONITOR != 0 {
                s.push('O');
            } else {
                s.push('S');
            }
        }
        if f & CLIENT_MASTER != 0 {
            s.push('M');
        }
        if f & CLIENT_PUBSUB != 0 {
            s.push('P');
        }
        if f & CLIENT_MULTI != 0 {
            s.push('x');
        }
        if f & CLIENT_BLOCKED != 0 {
            s.push('b');
        }
        if f & CLIENT_DIRTY_CAS != 0 {
            s.push('d');
        }
        if f & CLIENT_CLOSE_AFTER_REPLY != 0 {
            s.push('c');
        }
        if f & CLIENT_UNBLOCKED != 0 {
            s.push('u');
        }
        if f & CLIENT_CLOSE_ASAP != 0 {
            s.push('A');
        }
        if f & CLIENT_UNIX_SOCKET != 0 {
            s.push('U');
        }
        if s.is_empty() {
            s.push('N');
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(c: &Client) -> Vec<u8> {
        let mut v = c.buf.clone();
        for ch in &c.reply {
            v.extend_from_slice(ch);
        }
        v
    }

    #[test]
    fn basic_replies() {
        let mut c = Client::new(1, -1, 0);
        c.add_reply_ok();
        c.add_reply_long_long(-42);
        c.add_reply_bulk(b"hi");
        c.add_reply_null();
        c.add_reply_error("unknown");
        c.add_reply_error("-NOAUTH Authentication required.");
        assert_eq!(
            out(&c),
            b"+OK\r\n:-42\r\n$2\r\nhi\r\n$-1\r\n-ERR unknown\r\n-NOAUTH Authentication required.\r\n".to_vec()
        );
        assert_eq!(c.errors, vec!["ERR".to_string(), "NOAUTH".to_string()]);
    }

    #[test]
    fn big_replies_go_to_the_list_in_order() {
        let mut c = Client::new(1, -1, 0);
        c.add_reply(b"+A\r\n");
        let big = vec![b'x'; 40_000];
        c.add_reply_bulk(&big);
        c.add_reply(b"+B\r\n");
        let o = out(&c);
        assert!(o.starts_with(b"+A\r\n$40000\r\n"));
        assert!(o.ends_with(b"\r\n+B\r\n"));
        assert_eq!(o.len(), 4 + 8 + 40_000 + 2 + 4);
        assert!(!c.reply.is_empty());
    }

    #[test]
    fn deferred_len() {
        let mut c = Client::new(1, -1, 0);
        c.add_reply(b"+x\r\n");
        let slot = c.add_reply_deferred_len();
        c.add_reply_bulk(b"a");
        c.add_reply_bulk(b"b");
        c.set_deferred_array_len(slot, 2);
        assert_eq!(out(&c), b"+x\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n".to_vec());
    }

    #[test]
    fn error_newlines_become_spaces() {
        let mut c = Client::new(1, -1, 0);
        c.add_reply_error("bad\r\nthing");
        assert_eq!(out(&c), b"-ERR bad  thing\r\n".to_vec());
    }

    #[test]
    fn fake_client_swallows_replies() {
        let mut c = Client::new_fake();
        c.add_reply_ok();
        c.add_reply_bulk(b"x");
        assert!(!c.has_pending_replies());
    }
}
