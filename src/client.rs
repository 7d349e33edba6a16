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
//!
//! Output buffer limits (`client-output-buffer-limit`, networking.c's
//! `checkClientOutputBufferLimits`): every append to the reply list checks
//! the client's list memory against its class's hard and soft limits. A
//! client over them gets `CLIENT_CLOSE_ASAP` at once, so nothing more is
//! appended to it, and is queued in [`take_clients_over_obuf_limit`]; the
//! server logs it and frees it in `before_sleep`. The limits and the
//! cached clock the check reads are per-thread copies of the server's
//! ([`set_obuf_limits`], [`set_cached_unixtime`]): the reply API has no
//! `&Server`.

use std::cell::{Cell, RefCell};
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
/// Closed for its output buffer limits; the log line is still to write.
pub const CLIENT_OBUF_LIMIT_REACHED: u64 = 1 << 47;

/// Output buffer classes (`getClientType` for the limits), indexes of
/// `client-output-buffer-limit`.
pub const CLIENT_TYPE_NORMAL: usize = 0;
pub const CLIENT_TYPE_SLAVE: usize = 1;
pub const CLIENT_TYPE_PUBSUB: usize = 2;

/// Where a deferred length header goes (see `add_reply_deferred_len`):
/// in `buf` (`chunk` None) or in reply chunk `chunk`, at byte `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeferredPos {
    chunk: Option<usize>,
    offset: usize,
}

/// Most bytes moved to insert a deferred header (Redis's limit for
/// gluing it to the next node: `PROTO_REPLY_CHUNK_BYTES * 4`).
const DEFERRED_MAX_MOVE: usize = PROTO_REPLY_CHUNK_BYTES * 4;

/// Bookkeeping bytes of one reply list chunk besides its buffer (the
/// `Vec` header in the list), counted into `omem` as Redis counts its
/// `listNode` + `clientReplyBlock` (`getClientOutputBufferMemoryUsage`).
pub const REPLY_CHUNK_OVERHEAD: usize = std::mem::size_of::<Vec<u8>>();

/// One class's limits: (hard bytes, soft bytes, soft seconds); 0 = none.
pub type ObufLimit = (i64, i64, i64);

thread_local! {
    /// The main thread's copy of `client-output-buffer-limit`.
    static OBUF_LIMITS: Cell<[ObufLimit; 3]> = const { Cell::new([(0, 0, 0), (268435456, 67108864, 60), (33554432, 8388608, 60)]) };
    /// `server.unixtime`, as the soft limit's timer reads it.
    static CACHED_UNIXTIME: Cell<i64> = const { Cell::new(0) };
    /// Clients that went over their limits while replies were appended:
    /// (fd, id), drained by the server (`Server::handle_obuf_limit_queue`).
    static OVER_OBUF_LIMIT: RefCell<Vec<(RawFd, u64)>> = const { RefCell::new(Vec::new()) };
}

/// Installs the limits the reply path checks (at start and on CONFIG SET).
pub fn set_obuf_limits(limits: [ObufLimit; 3]) {
    OBUF_LIMITS.with(|l| l.set(limits));
}

/// Mirrors the server's cached unix time for the soft limit's timer.
#[inline]
pub fn set_cached_unixtime(t: i64) {
    CACHED_UNIXTIME.with(|c| c.set(t));
}

/// Takes the clients marked for closing by the reply path since the
/// last call.
pub fn take_clients_over_obuf_limit() -> Vec<(RawFd, u64)> {
    OVER_OBUF_LIMIT.with(|q| std::mem::take(&mut *q.borrow_mut()))
}

/// True if some client waits in the queue of [`take_clients_over_obuf_limit`].
#[inline]
pub fn clients_over_obuf_limit_pending() -> bool {
    OVER_OBUF_LIMIT.with(|q| !q.borrow().is_empty())
}

/// The client expects one reply per command and may not block (set
/// while EXEC runs the queued commands).
pub const CLIENT_DENY_BLOCKING: u64 = 1 << 41;

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
    /// Bytes allocated for `reply` chunks (Redis's `reply_bytes`, which
    /// counts block sizes, not the bytes used in them).
    pub reply_mem: usize,
    /// When the soft output limit was first seen reached, unix seconds;
    /// 0 when under it (`obuf_soft_limit_reached_time`).
    pub obuf_soft_limit_reached_time: i64,

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
    /// Commands queued after MULTI (see multi.rs).
    pub mstate: crate::multi::MultiState,
    /// Keys this client WATCHes, as (db, key).
    pub watched_keys: Vec<crate::multi::WatchedKey>,
    /// Channels and patterns this client is subscribed to (pubsub.rs).
    pub pubsub: crate::pubsub::ClientPubSub,
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
            reply_mem: 0,
            obuf_soft_limit_reached_time: 0,
            ctime: now,
            lastinteraction: now,
            errors: Vec::new(),
            rejected: false,
            rewritten: None,
            prevent_propagation: false,
            btype: crate::blocked::BlockType::None,
            bpop: crate::blocked::BlockingState::default(),
            mstate: crate::multi::MultiState::default(),
            watched_keys: Vec::new(),
            pubsub: Default::default(),
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

    /// Replies are swallowed for fake clients, with CLIENT REPLY OFF/SKIP,
    /// and once the client is to be closed (`prepareClientToWrite`).
    #[inline]
    fn replies_enabled(&self) -> bool {
        self.flags & (CLIENT_FAKE | CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP | CLIENT_CLOSE_ASAP) == 0
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
            self.reply_mem += chunk.capacity();
            self.reply.push_back(chunk);
        }
        self.close_on_output_buffer_limit_reached_async();
    }

    /// Memory of the reply list: chunk buffers plus their bookkeeping
    /// (`getClientOutputBufferMemoryUsage`). The 16 KiB `buf` is not in
    /// it, so an idle client shows `omem=0`.
    #[inline]
    pub fn output_buffer_memory_usage(&self) -> usize {
        self.reply_mem + REPLY_CHUNK_OVERHEAD * self.reply.len()
    }

    /// The class whose output limits apply (`getClientType`; a master
    /// counts as normal, a MONITOR client too).
    pub fn obuf_class(&self) -> usize {
        if self.flags & CLIENT_MASTER != 0 {
            CLIENT_TYPE_NORMAL
        } else if self.flags & CLIENT_SLAVE != 0 && self.flags & CLIENT_MONITOR == 0 {
            CLIENT_TYPE_SLAVE
        } else if self.flags & CLIENT_PUBSUB != 0 {
            CLIENT_TYPE_PUBSUB
        } else {
            CLIENT_TYPE_NORMAL
        }
    }

    /// True if the reply list is over the hard limit, or has been over the
    /// soft limit for more than its seconds (`checkClientOutputBufferLimits`).
    /// Starts or resets the soft limit's timer as a side effect.
    pub fn check_output_buffer_limits(&mut self, limits: &[ObufLimit; 3], now: i64) -> bool {
        let used = self.output_buffer_memory_usage() as u64;
        let (hard_limit, soft_limit, soft_seconds) = limits[self.obuf_class()];
        let hard = hard_limit > 0 && used >= hard_limit as u64;
        let mut soft = soft_limit > 0 && used >= soft_limit as u64;
        if soft {
            if self.obuf_soft_limit_reached_time == 0 {
                // First time seen over it: the timer starts now.
                self.obuf_soft_limit_reached_time = now;
                soft = false;
            } else if now - self.obuf_soft_limit_reached_time <= soft_seconds {
                soft = false;
            }
        } else {
            self.obuf_soft_limit_reached_time = 0;
        }
        soft || hard
    }

    /// True if the client must be closed for its output limits now
    /// (`closeClientOnOutputBufferLimitReached`'s test): never a fake
    /// client, one with an empty list, or one already being closed.
    pub fn output_buffer_limit_reached(&mut self, limits: &[ObufLimit; 3], now: i64) -> bool {
        if self.fd < 0 || self.reply_mem == 0 || self.flags & CLIENT_CLOSE_ASAP != 0 {
            return false;
        }
        self.check_output_buffer_limits(limits, now)
    }

    /// The reply path's check (`closeClientOnOutputBufferLimitReached(c,1)`):
    /// a client over its limits is marked to be closed, which stops its
    /// replies from growing, and queued for the server to log and free.
    fn close_on_output_buffer_limit_reached_async(&mut self) {
        let limits = OBUF_LIMITS.with(|l| l.get());
        let now = CACHED_UNIXTIME.with(|t| t.get());
        if self.output_buffer_limit_reached(&limits, now) {
            self.flags |= CLIENT_CLOSE_ASAP | CLIENT_OBUF_LIMIT_REACHED;
            let entry = (self.fd, self.id);
            OVER_OBUF_LIMIT.with(|q| q.borrow_mut().push(entry));
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

    /// Reserves the place of a length header that is known only after
    /// the elements are added (`addReplyDeferredLen`). Nothing is
    /// allocated: the place is the current end of the reply, and
    /// `set_deferred_*` inserts the header there, moving the bytes added
    /// since, as Redis's `setDeferredReply` glues the header to the node
    /// after its placeholder. (A placeholder chunk per reply would give
    /// every pipelined ZRANGE its own 16 KiB chunk and its own write.)
    /// Nested headers must be set innermost first, as commands do.
    pub fn add_reply_deferred_len(&mut self) -> Option<DeferredPos> {
        if !self.replies_enabled() {
            return None;
        }
        Some(match self.reply.back() {
            None => DeferredPos { chunk: None, offset: self.buf.len() },
            Some(tail) => DeferredPos { chunk: Some(self.reply.len() - 1), offset: tail.len() },
        })
    }

    /// Fills a header reserved with `add_reply_deferred_len`.
    pub fn set_deferred_array_len(&mut self, slot: Option<DeferredPos>, n: usize) {
        self.set_deferred(slot, b'*', n as i64);
    }

    /// Fills a deferred map header (`%n` or `*2n`).
    pub fn set_deferred_map_len(&mut self, slot: Option<DeferredPos>, n: usize) {
        if self.resp >= 3 {
            self.set_deferred(slot, b'%', n as i64)
        } else {
            self.set_deferred(slot, b'*', 2 * n as i64)
        }
    }

    fn set_deferred(&mut self, slot: Option<DeferredPos>, prefix: u8, n: i64) {
        let Some(pos) = slot else { return };
        let mut b = itoa::Buffer::new();
        let digits = b.format(n).as_bytes();
        let mut h = [0u8; 24];
        h[0] = prefix;
        h[1..1 + digits.len()].copy_from_slice(digits);
        h[1 + digits.len()..3 + digits.len()].copy_from_slice(b"\r\n");
        let h = &h[..3 + digits.len()];
        // Positions stay valid while a command runs: the writer only drops
        // sent chunks from the head between commands.
        let Some(i) = pos.chunk else {
            let at = pos.offset.min(self.buf.len());
            self.buf.splice(at..at, h.iter().copied());
            return;
        };
        let Some(chunk) = self.reply.get_mut(i) else { return };
        let at = pos.offset.min(chunk.len());
        let tail = chunk.len() - at;
        let old_cap = chunk.capacity();
        if tail == 0 && chunk.capacity() - chunk.len() < h.len() {
            // The elements all went to later chunks: a chunk of its own.
            self.reply.insert(i + 1, h.to_vec());
            self.reply_mem += h.len();
        } else if tail <= DEFERRED_MAX_MOVE {
            chunk.splice(at..at, h.iter().copied());
            self.reply_mem = self.reply_mem - old_cap + chunk.capacity();
        } else {
            // Too much to move (a big reply went into this chunk): split.
            let rest = chunk.split_off(at);
            let head_cap = chunk.capacity();
            self.reply.insert(i + 1, h.to_vec());
            self.reply_mem = self.reply_mem - old_cap + head_cap + h.len() + rest.capacity();
            self.reply.insert(i + 2, rest);
        }
        self.reply_bytes += h.len();
    }

    /// Drops every pending reply (used when output is discarded).
    pub fn clear_replies(&mut self) {
        self.buf.clear();
        self.reply.clear();
        self.reply_bytes = 0;
        self.reply_mem = 0;
        self.sentlen = 0;
    }

    /// Drops the first reply chunk once it was sent.
    pub fn pop_sent_chunk(&mut self) {
        if let Some(head) = self.reply.pop_front() {
            self.reply_bytes -= head.len();
            self.reply_mem -= head.capacity();
        }
    }

    /// Input side memory: query buffer and arguments, as INFO's
    /// `client_recent_max_input_buffer` counts it.
    pub fn input_memory(&self) -> usize {
        self.querybuf.capacity() + self.argv.capacity()
    }

    /// Memory attributed to this client (CLIENT LIST `tot-mem`, INFO
    /// `mem_clients_*`): the reply list, the client itself with its
    /// static reply buffer, the query buffer and the arguments.
    pub fn total_memory(&self) -> usize {
        self.output_buffer_memory_usage() + std::mem::size_of::<Client>() + self.buf.capacity() + self.input_memory() + self.mstate.mem()
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
    fn deferred_len_in_every_place() {
        // Many deferred replies share the buffer and chunks: no placeholder
        // chunk per reply.
        let mut c = Client::new(1, -1, 0);
        let mut want = Vec::new();
        for r in 0..2000 {
            let slot = c.add_reply_deferred_len();
            for e in 0..(r % 7) {
                c.add_reply_bulk(format!("e{}", e).as_bytes());
            }
            c.set_deferred_array_len(slot, r % 7);
            want.extend_from_slice(format!("*{}\r\n", r % 7).as_bytes());
            for e in 0..(r % 7) {
                want.extend_from_slice(format!("$2\r\ne{}\r\n", e).as_bytes());
            }
        }
        assert_eq!(out(&c), want);
        assert!(c.reply.len() <= want.len() / PROTO_REPLY_CHUNK_BYTES + 1, "{} chunks", c.reply.len());
        let cap: usize = c.reply.iter().map(|ch| ch.capacity()).sum();
        assert_eq!(c.reply_mem, cap);
        assert_eq!(c.reply_bytes, c.reply.iter().map(|ch| ch.len()).sum::<usize>());

        // A header before more than DEFERRED_MAX_MOVE bytes in one chunk:
        // the chunk is split rather than moved.
        let mut c = Client::new(1, -1, 0);
        c.add_reply_bulk(&vec![b'a'; 20_000]);
        let slot = c.add_reply_deferred_len();
        c.add_reply_bulk(&vec![b'b'; 100_000]);
        c.set_deferred_array_len(slot, 1);
        let o = out(&c);
        let mut w = b"$20000\r\n".to_vec();
        w.extend(vec![b'a'; 20_000]);
        w.extend_from_slice(b"\r\n*1\r\n$100000\r\n");
        w.extend(vec![b'b'; 100_000]);
        w.extend_from_slice(b"\r\n");
        assert_eq!(o, w);
        let cap: usize = c.reply.iter().map(|ch| ch.capacity()).sum();
        assert_eq!(c.reply_mem, cap);
        assert_eq!(c.reply_bytes, c.reply.iter().map(|ch| ch.len()).sum::<usize>());
    }

    #[test]
    fn error_newlines_become_spaces() {
        let mut c = Client::new(1, -1, 0);
        c.add_reply_error("bad\r\nthing");
        assert_eq!(out(&c), b"-ERR bad  thing\r\n".to_vec());
    }

    #[test]
    fn reply_mem_follows_the_list() {
        let mut c = Client::new(1, 5, 0);
        c.add_reply_bulk(&vec![b'a'; 40_000]);
        c.add_reply_bulk(&vec![b'b'; 10]);
        let slot = c.add_reply_deferred_len();
        c.set_deferred_array_len(slot, 3);
        let cap: usize = c.reply.iter().map(|ch| ch.capacity()).sum();
        assert_eq!(c.reply_mem, cap);
        assert_eq!(c.output_buffer_memory_usage(), cap + REPLY_CHUNK_OVERHEAD * c.reply.len());
        while !c.reply.is_empty() {
            c.pop_sent_chunk();
        }
        assert_eq!((c.reply_mem, c.reply_bytes, c.output_buffer_memory_usage()), (0, 0, 0));
    }

    #[test]
    fn hard_limit_marks_the_client_and_stops_its_replies() {
        set_obuf_limits([(100_000, 0, 0), (0, 0, 0), (0, 0, 0)]);
        let _ = take_clients_over_obuf_limit();
        let mut c = Client::new(7, 5, 0);
        c.add_reply_bulk(&vec![b'x'; 60_000]);
        assert_eq!(c.flags & CLIENT_CLOSE_ASAP, 0);
        c.add_reply_bulk(&vec![b'y'; 60_000]);
        assert_ne!(c.flags & CLIENT_CLOSE_ASAP, 0);
        assert_ne!(c.flags & CLIENT_OBUF_LIMIT_REACHED, 0);
        let mem = c.output_buffer_memory_usage();
        c.add_reply_bulk(&vec![b'z'; 60_000]);
        c.add_reply_ok();
        assert_eq!(c.output_buffer_memory_usage(), mem);
        assert_eq!(take_clients_over_obuf_limit(), vec![(5, 7)]);
        assert!(!clients_over_obuf_limit_pending());
        // Another class's limit does not apply.
        let mut p = Client::new(8, 6, 0);
        p.flags |= CLIENT_PUBSUB;
        p.add_reply_bulk(&vec![b'x'; 200_000]);
        assert_eq!(p.flags & CLIENT_CLOSE_ASAP, 0);
        set_obuf_limits([(0, 0, 0), (268435456, 67108864, 60), (33554432, 8388608, 60)]);
    }

    #[test]
    fn soft_limit_needs_its_seconds_continuously() {
        let limits = [(0, 1000, 2), (0, 0, 0), (0, 0, 0)];
        let mut c = Client::new(1, 5, 0);
        c.reply.push_back(Vec::with_capacity(5000));
        c.reply_mem = 5000;
        assert!(!c.check_output_buffer_limits(&limits, 100));
        assert_eq!(c.obuf_soft_limit_reached_time, 100);
        assert!(!c.check_output_buffer_limits(&limits, 102));
        assert!(c.check_output_buffer_limits(&limits, 103));
        // Under the limit again: the timer starts over.
        c.reply.clear();
        c.reply_mem = 0;
        assert!(!c.check_output_buffer_limits(&limits, 104));
        assert_eq!(c.obuf_soft_limit_reached_time, 0);
        c.reply.push_back(Vec::with_capacity(5000));
        c.reply_mem = 5000;
        assert!(!c.check_output_buffer_limits(&limits, 105));
        assert!(!c.check_output_buffer_limits(&limits, 107));
        // A MONITOR client is a normal one; a replica has its own class.
        c.flags |= CLIENT_SLAVE | CLIENT_MONITOR;
        assert_eq!(c.obuf_class(), CLIENT_TYPE_NORMAL);
        c.flags &= !CLIENT_MONITOR;
        assert_eq!(c.obuf_class(), CLIENT_TYPE_SLAVE);
    }

    #[test]
    fn fake_client_swallows_replies() {
        let mut c = Client::new_fake();
        c.add_reply_ok();
        c.add_reply_bulk(b"x");
        assert!(!c.has_pending_replies());
    }
}
