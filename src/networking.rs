//! Client I/O on the server side: accept, read and parse, write, free
//! (mirrors networking.c).
//!
//! 1. A readable listener accepts up to 1000 connections; each becomes a
//!    [`Client`] in `Server::clients`, indexed by its fd, with a readable
//!    file event.
//! 2. A readable client is read into its query buffer (16 KiB, or the
//!    size of a big argument being read) and every complete command in the
//!    buffer is run (`process_input_buffer`).
//! 3. Replies are written in `before_sleep`
//!    (`handle_clients_with_pending_writes`); a client whose reply did not
//!    fit into the socket gets a writable event until it is drained.
//! 4. Clients are freed at once when their connection fails, or
//!    asynchronously (`CLIENT_CLOSE_ASAP`, freed in `before_sleep`) when
//!    freed from another client's command.
//! 5. Output buffer limits (`client-output-buffer-limit`): the reply path
//!    marks a client over its limits (see client.rs) and queues it; here
//!    the queue is drained into `clients_to_close` with Redis's log line.
//!    The clients cron checks every client too, so a soft limit whose
//!    time runs out while nothing more is appended still closes it.
//!
//! While a client's commands run the client is taken out of its slot
//! (`take_client`) and put back after (`put_client`), so a command gets
//! `&mut Server` and `&mut Client` at once.

use std::os::unix::io::RawFd;

use crate::ae::{FileProc, AE_READABLE, AE_WRITABLE};
use crate::anet;
use crate::client::*;
use crate::proto::Parsed;
use crate::server::{strerror, Server, MAX_ACCEPTS_PER_CALL, NET_MAX_WRITES_PER_EVENT};

/// Redis's protected-mode refusal, sent to non-loopback clients when no
/// password is set and no bind address was configured.
pub const DENIED_PROTECTED_MODE: &str = "-DENIED Redis is running in protected mode because protected mode is enabled, no bind address was specified, no authentication password is requested to clients. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a bind address or an authentication password. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

impl Server {
    /// Takes client `fd` out of its slot if it is still the client `id`.
    pub fn take_client(&mut self, fd: RawFd, id: u64) -> Option<Box<Client>> {
        let slot = self.clients.get_mut(fd as usize)?;
        match slot {
            Some(c) if c.id == id => slot.take(),
            _ => None,
        }
    }

    /// Puts a client back into its slot and, if it now has replies to
    /// send, queues it for `before_sleep`.
    pub fn put_client(&mut self, mut c: Box<Client>) {
        if !self.pubsub.pending.is_empty() {
            self.pubsub_deliver_pending(&mut c);
        }
        if c.flags & CLIENT_OBUF_LIMIT_REACHED != 0 {
            self.queue_obuf_limit_close(&mut c);
        }
        self.apply_pending_dirty_cas(&mut c);
        if c.has_pending_replies() && c.flags & CLIENT_PENDING_WRITE == 0 && c.fd >= 0 {
            c.flags |= CLIENT_PENDING_WRITE;
            self.clients_pending_write.push((c.fd, c.id));
        }
        let fd = c.fd as usize;
        if fd >= self.clients.len() {
            self.clients.resize_with(fd + 1, || None);
        }
        self.clients[fd] = Some(c);
    }

    /// A reference to a connected client, if `fd` holds client `id`.
    pub fn client_mut(&mut self, fd: RawFd, id: u64) -> Option<&mut Box<Client>> {
        match self.clients.get_mut(fd as usize) {
            Some(Some(c)) if c.id == id => Some(c),
            _ => None,
        }
    }

    /// Accepts waiting connections on a listener (`acceptTcpHandler`,
    /// `acceptUnixHandler`).
    pub fn accept_handler(&mut self, lfd: RawFd, kind: FileProc) {
        for _ in 0..MAX_ACCEPTS_PER_CALL {
            match anet::accept(lfd) {
                Ok(Some((fd, peer))) => {
                    let unix = matches!(kind, FileProc::UnixListener);
                    if unix {
                        log::debug!("Accepted connection to {}", self.config.unixsocket);
                    } else if let Some(p) = &peer {
                        log::debug!("Accepted {}", anet::format_addr(p));
                    }
                    self.accept_common_handler(fd, peer, unix);
                }
                Ok(None) => return,
                Err(e) => {
                    // EMFILE and friends: keep the listener, try next time.
                    log::warn!("Accepting client connection: {}", strerror(&e));
                    return;
                }
            }
        }
        // Stopped before EAGAIN: come back next iteration.
        self.el.requeue(lfd, AE_READABLE);
    }

    fn accept_common_handler(&mut self, fd: RawFd, peer: Option<std::net::SocketAddr>, unix: bool) {
        if self.clients_count as i64 >= self.config.maxclients {
            let _ = anet::write(fd, b"-ERR max number of clients reached\r\n");
            self.stats.rejected_conn += 1;
            anet::close(fd);
            return;
        }
        if self.config.protected_mode
            && self.config.bind.is_empty()
            && self.config.requirepass.is_none()
            && !unix
            && !anet::is_loopback(&peer)
        {
            let _ = anet::write(fd, DENIED_PROTECTED_MODE.as_bytes());
            self.stats.rejected_conn += 1;
            anet::close(fd);
            return;
        }
        if !unix {
            anet::enable_tcp_no_delay(fd);
            if self.config.tcp_keepalive > 0 {
                anet::keep_alive(fd, self.config.tcp_keepalive as i32);
            }
        }
        if let Err(e) = self.el.create_file_event(fd, AE_READABLE, FileProc::Client) {
            log::warn!("Error registering fd event for the new client: {} (fd={})", e, fd);
            anet::close(fd);
            return;
        }
        let id = self.next_client_id;
        self.next_client_id += 1;
        let mut c = Box::new(Client::new(id, fd, self.unixtime));
        if unix {
            c.flags |= CLIENT_UNIX_SOCKET;
            c.addr = format!("{}:0", self.config.unixsocket);
            c.laddr = c.addr.clone();
        } else {
            c.addr = peer.map(|p| anet::format_addr(&p)).unwrap_or_else(|| "?:0".into());
            c.laddr = anet::sock_name(fd).map(|p| anet::format_addr(&p)).unwrap_or_else(|| "?:0".into());
        }
        c.authenticated = self.config.requirepass.is_none();
        self.clients_count += 1;
        self.stats.numconnections += 1;
        self.put_client(c);
    }

    /// Reads from a readable client and runs what it sent
    /// (`readQueryFromClient`). `hup`: the peer closed its side, so the
    /// socket is read again until EOF even after a short read.
    pub fn read_query_from_client(&mut self, fd: RawFd, hup: bool) {
        let id = match self.clients.get(fd as usize) {
            Some(Some(c)) => c.id,
            _ => return,
        };
        let Some(mut c) = self.take_client(fd, id) else { return };

        // A big argument being read: read exactly what it still needs, so
        // that it lands in the buffer with one copy (PROTO_MBULK_BIG_ARG).
        let mut readlen = PROTO_IOBUF_LEN;
        if let Some(need) = c.parser.pending_bulk() {
            if need >= PROTO_MBULK_BIG_ARG {
                let have = c.querybuf.len() - c.qb_pos;
                let remaining = need.saturating_sub(have);
                if remaining > 0 && remaining < readlen {
                    readlen = remaining;
                } else if remaining > readlen {
                    // Grow with what actually arrived, not with what the
                    // client announced: a client that declares a huge
                    // bulk and sends nothing must not pin memory.
                    let have_total = c.querybuf.len().max(PROTO_IOBUF_LEN);
                    readlen = remaining.min(16 * 1024 * 1024).min(have_total);
                }
            }
        }
        let old_len = c.querybuf.len();
        c.querybuf.reserve(readlen);
        // SAFETY: we read into the spare capacity reserved above and only
        // extend the length by what the kernel reported as written.
        let res = unsafe {
            let spare = c.querybuf.as_mut_ptr().add(old_len);
            let n = libc::read(fd, spare as *mut libc::c_void, readlen);
            if n > 0 {
                c.querybuf.set_len(old_len + n as usize);
            }
            n
        };
        if res < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EAGAIN) || e.raw_os_error() == Some(libc::EINTR) {
                self.put_client(c);
                return;
            }
            log::debug!("Reading from client: {}", strerror(&e));
            self.free_client(c);
            return;
        }
        if res == 0 {
            log::debug!("Client closed connection");
            self.free_client(c);
            return;
        }
        let n = res as usize;
        c.lastinteraction = self.unixtime;
        self.stats.net_input_bytes += n as u64;
        if c.querybuf.len() > c.querybuf_peak {
            c.querybuf_peak = c.querybuf.len();
        }
        if c.querybuf.len() as i64 > self.config.client_query_buffer_limit {
            let head = &c.querybuf[..c.querybuf.len().min(64)];
            log::warn!(
                "Closing client that reached max query buffer length: {} (qbuf initial bytes: {})",
                self.client_info_string(&c),
                crate::util::repr(head)
            );
            self.stats.client_qbuf_limit_disconnections += 1;
            self.free_client(c);
            return;
        }
        self.process_input_buffer(&mut c);
        if n == readlen || hup {
            // The socket may hold more (or an EOF): edge-triggered, so ask again.
            self.el.requeue(fd, if hup { AE_READABLE | crate::ae::AE_HUP } else { AE_READABLE });
        }
        if c.flags & CLIENT_CLOSE_ASAP != 0 {
            self.free_client(c);
            return;
        }
        self.put_client(c);
    }

    /// Runs every complete command in the client's query buffer
    /// (`processInputBuffer`).
    pub fn process_input_buffer(&mut self, c: &mut Client) {
        while c.qb_pos < c.querybuf.len() {
            if c.flags & (CLIENT_BLOCKED | CLIENT_PAUSED_WAIT | CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP) != 0 {
                break;
            }
            let max_bulk = if c.flags & CLIENT_MASTER != 0 { i64::MAX } else { self.config.proto_max_bulk_len };
            match c.parser.parse(&c.querybuf, &mut c.qb_pos, &mut c.argv, max_bulk) {
                Parsed::Incomplete => break,
                Parsed::Error(msg) => {
                    log::debug!("Protocol error ({}) from client: {}", msg, self.client_info_string(c));
                    c.add_reply_error(&msg);
                    self.after_error_replies(c);
                    c.flags |= CLIENT_CLOSE_AFTER_REPLY | CLIENT_PROTOCOL_ERROR;
                    c.querybuf.clear();
                    c.qb_pos = 0;
                    break;
                }
                Parsed::Complete => {
                    if c.argv.is_empty() {
                        c.reset();
                        continue;
                    }
                    let keep_going = self.process_command(c);
                    if c.flags & CLIENT_PAUSED_WAIT != 0 {
                        // Held by CLIENT PAUSE: keep argv, run it later.
                        break;
                    }
                    c.reset();
                    if !keep_going {
                        break;
                    }
                }
            }
        }
        // Drop what was consumed (`sdsrange(c->querybuf, c->qb_pos, -1)`).
        if c.qb_pos > 0 {
            if c.qb_pos >= c.querybuf.len() {
                c.querybuf.clear();
            } else {
                c.querybuf.drain(..c.qb_pos);
            }
            c.qb_pos = 0;
        }
    }

    /// Writes as much of the client's replies as the socket takes
    /// (`_writeToClient`). Returns Err if the connection is dead.
    fn write_to_client(&mut self, c: &mut Client) -> Result<(), ()> {
        let mut total = 0usize;
        while c.has_pending_replies() {
            let res = if !c.buf.is_empty() {
                let r = anet::write(c.fd, &c.buf[c.sentlen..]);
                if let Ok(n) = r {
                    c.sentlen += n;
                    if c.sentlen == c.buf.len() {
                        c.buf.clear();
                        c.sentlen = 0;
                    }
                }
                r
            } else {
                let Some(head) = c.reply.front() else { break };
                if head.is_empty() {
                    c.pop_sent_chunk();
                    continue;
                }
                let r = anet::write(c.fd, &head[c.sentlen..]);
                if let Ok(n) = r {
                    c.sentlen += n;
                    if c.sentlen == head.len() {
                        c.pop_sent_chunk();
                        c.sentlen = 0;
                    }
                }
                r
            };
            match res {
                Ok(n) => total += n,
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => break,
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                Err(e) => {
                    log::debug!("Error writing to client: {}", strerror(&e));
                    self.stats.net_output_bytes += total as u64;
                    return Err(());
                }
            }
            if total > NET_MAX_WRITES_PER_EVENT && c.flags & CLIENT_SLAVE == 0 {
                // Be fair to other clients; the rest goes next iteration.
                if c.has_pending_replies() {
                    self.el.requeue(c.fd, AE_WRITABLE);
                }
                break;
            }
        }
        self.stats.net_output_bytes += total as u64;
        if total > 0 && c.flags & CLIENT_MASTER == 0 {
            c.lastinteraction = self.unixtime;
        }
        if !c.has_pending_replies() {
            c.sentlen = 0;
            // Give back list chunks' memory eagerly; `buf` stays.
            if c.reply.capacity() > 16 {
                c.reply.shrink_to_fit();
            }
        }
        Ok(())
    }

    /// The writable handler (`sendReplyToClient`).
    pub fn send_reply_to_client(&mut self, fd: RawFd) {
        let id = match self.clients.get(fd as usize) {
            Some(Some(c)) => c.id,
            _ => return,
        };
        let Some(mut c) = self.take_client(fd, id) else { return };
        if self.write_to_client(&mut c).is_err() {
            self.free_client(c);
            return;
        }
        if !c.has_pending_replies() {
            self.el.delete_file_event(fd, AE_WRITABLE);
            if c.flags & CLIENT_CLOSE_AFTER_REPLY != 0 {
                self.free_client(c);
                return;
            }
        }
        self.put_client_quiet(c);
    }

    /// Puts a client back without queueing it for writes.
    fn put_client_quiet(&mut self, c: Box<Client>) {
        let fd = c.fd as usize;
        self.clients[fd] = Some(c);
    }

    /// Writes replies of every client that got some in this iteration;
    /// only those not fully written get a writable event
    /// (`handleClientsWithPendingWrites`).
    pub fn handle_clients_with_pending_writes(&mut self) {
        if self.clients_pending_write.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.clients_pending_write);
        for &(fd, id) in pending.iter() {
            let Some(mut c) = self.take_client(fd, id) else { continue };
            c.flags &= !CLIENT_PENDING_WRITE;
            if c.flags & CLIENT_CLOSE_ASAP != 0 {
                self.put_client_quiet(c);
                continue;
            }
            if self.write_to_client(&mut c).is_err() {
                self.free_client(c);
                continue;
            }
            if c.has_pending_replies() {
                if self.el.get_file_events(fd) & AE_WRITABLE == 0 {
                    if let Err(e) = self.el.create_file_event(fd, AE_WRITABLE, FileProc::Client) {
                        log::warn!("Error installing write handler: {}", e);
                        self.free_client(c);
                        continue;
                    }
                    // With appendfsync always, replies from this iteration
                    // must not leave before the next flush+fsync: the
                    // writable handler runs before the readable one (AE_BARRIER).
                    if self.aof.state == crate::aof::AofStatus::On
                        && self.config.appendfsync == crate::config::AOF_FSYNC_ALWAYS
                    {
                        self.el.set_barrier(fd, true);
                    }
                }
            } else if c.flags & CLIENT_CLOSE_AFTER_REPLY != 0 {
                self.free_client(c);
                continue;
            }
            self.put_client_quiet(c);
        }
        // Reuse the allocation.
        let mut pending = pending;
        pending.clear();
        if self.clients_pending_write.is_empty() {
            self.clients_pending_write = pending;
        }
    }

    /// Frees a client that was taken out of its slot (`freeClient`).
    pub fn free_client(&mut self, mut c: Box<Client>) {
        self.log_obuf_limit_close(&mut c);
        if c.flags & CLIENT_BLOCKED != 0 {
            self.unblock_client(&mut c);
        }
        if c.fd >= 0 {
            self.el.delete_file_event(c.fd, AE_READABLE | AE_WRITABLE);
            anet::close(c.fd);
            self.clients_count = self.clients_count.saturating_sub(1);
        }
        self.pubsub_free_client(&mut c);
        if c.flags & CLIENT_MONITOR != 0 {
            self.monitors.retain(|&(_, id)| id != c.id);
        }
        if c.flags & CLIENT_PAUSED_WAIT != 0 {
            self.paused_clients.retain(|&(_, id)| id != c.id);
        }
        self.unwatch_all_keys(&mut c);
        drop(c);
    }

    /// Frees the client at `fd` if it is client `id` and not being served.
    pub fn free_client_by_fd(&mut self, fd: RawFd, id: u64) {
        if let Some(c) = self.take_client(fd, id) {
            self.free_client(c);
        }
    }

    /// Marks a client to be freed in `before_sleep` (`freeClientAsync`).
    pub fn free_client_async(&mut self, fd: RawFd, id: u64) {
        if let Some(c) = self.client_mut(fd, id) {
            if c.flags & CLIENT_CLOSE_ASAP != 0 {
                return;
            }
            c.flags |= CLIENT_CLOSE_ASAP;
        }
        self.clients_to_close.push((fd, id));
    }

    /// Frees the clients marked with CLIENT_CLOSE_ASAP.
    pub fn free_clients_in_async_free_queue(&mut self) {
        if crate::client::clients_over_obuf_limit_pending() {
            self.handle_obuf_limit_queue();
        }
        if self.clients_to_close.is_empty() {
            return;
        }
        for (fd, id) in std::mem::take(&mut self.clients_to_close) {
            self.free_client_by_fd(fd, id);
        }
    }

    /// Moves the clients the reply path found over their output limits to
    /// the async free queue, logging each (the second half of
    /// `closeClientOnOutputBufferLimitReached(c, 1)`). A client being
    /// served is out of its slot: `put_client` queues it.
    pub fn handle_obuf_limit_queue(&mut self) {
        for (fd, id) in crate::client::take_clients_over_obuf_limit() {
            // Gone: it was freed (and logged) already. Out of its slot:
            // it is being served, and `put_client` will queue it.
            let Some(mut c) = self.take_client(fd, id) else { continue };
            self.queue_obuf_limit_close(&mut c);
            self.put_client_quiet(c);
        }
    }

    /// Logs a client the reply path marked and queues it for freeing.
    fn queue_obuf_limit_close(&mut self, c: &mut Client) {
        if c.flags & CLIENT_OBUF_LIMIT_REACHED != 0 {
            self.log_obuf_limit_close(c);
            self.clients_to_close.push((c.fd, c.id));
        }
    }

    /// Writes the warning for a client closed by the reply path's output
    /// limit check, once. The info string is taken as it was before the
    /// client was marked, as Redis formats it before `freeClientAsync`.
    fn log_obuf_limit_close(&self, c: &mut Client) {
        if c.flags & CLIENT_OBUF_LIMIT_REACHED == 0 {
            return;
        }
        c.flags &= !(CLIENT_OBUF_LIMIT_REACHED | CLIENT_CLOSE_ASAP);
        let info = self.client_info_string(c);
        c.flags |= CLIENT_CLOSE_ASAP;
        log::warn!("Client {} scheduled to be closed ASAP for overcoming of output buffer limits.", info);
    }

    /// The clients cron's output limit check (`closeClientOnOutputBufferLimitReached(c, 0)`):
    /// frees at once a client over its hard limit, or over its soft limit
    /// for longer than allowed even though nothing more was appended.
    /// Returns true if the client was freed.
    pub fn close_client_on_output_buffer_limit_reached_sync(&mut self, fd: RawFd, id: u64) -> bool {
        let limits = self.config.client_obuf_limits;
        let now = self.unixtime;
        let Some(mut c) = self.take_client(fd, id) else { return false };
        if c.output_buffer_limit_reached(&limits, now) {
            let info = self.client_info_string(&c);
            log::warn!("Client {} closed for overcoming of output buffer limits.", info);
            self.free_client(c);
            return true;
        }
        self.put_client_quiet(c);
        false
    }

    /// One line of CLIENT LIST / CLIENT INFO (`catClientInfoString`).
    pub fn client_info_string(&self, c: &Client) -> String {
        let events = self.el.get_file_events(c.fd);
        let mut ev = String::new();
        if events & AE_READABLE != 0 {
            ev.push('r');
        }
        if events & AE_WRITABLE != 0 {
            ev.push('w');
        }
        let cmd = c.lastcmd.map(|i| self.commands.cmds[i].name).unwrap_or("NULL");
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} multi={} qbuf={} qbuf-free={} argv-mem={} obl={} oll={} omem={} tot-mem={} events={} cmd={} user=default redir=-1",
            c.id,
            c.addr,
            c.laddr,
            c.fd,
            c.name.as_ref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default(),
            self.unixtime - c.ctime,
            self.unixtime - c.lastinteraction,
            c.flags_string(events & AE_WRITABLE != 0),
            c.db,
            c.pubsub.channels.len(),
            c.pubsub.patterns.len(),
            if c.flags & CLIENT_MULTI != 0 { c.mstate.commands.len() as i64 } else { -1 },
            c.querybuf.len(),
            c.querybuf.capacity() - c.querybuf.len(),
            c.argv.mem(),
            c.buf.len(),
            c.reply.len(),
            c.output_buffer_memory_usage(),
            c.total_memory(),
            ev,
            cmd
        )
    }

    /// Every connected client, the current one included, in id order.
    pub fn all_clients<'a>(&'a self, current: &'a Client) -> Vec<&'a Client> {
        let mut v: Vec<&Client> = self.clients.iter().flatten().map(|b| b.as_ref()).collect();
        if current.fd >= 0 && !v.iter().any(|c| c.id == current.id) {
            v.push(current);
        }
        v.sort_by_key(|c| c.id);
        v
    }
}

/// Seconds of history kept for INFO's `client_recent_max_*_buffer`
/// (CLIENTS_PEAK_MEM_USAGE_SLOTS).
pub const CLIENTS_PEAK_MEM_USAGE_SLOTS: usize = 8;

/// The biggest input and output buffers seen per second over the last
/// few seconds, filled by the clients cron, so INFO needs no scan of
/// every client (`ClientsPeakMemInput` / `ClientsPeakMemOutput`).
#[derive(Default)]
pub struct ClientsPeakMem {
    input: [usize; CLIENTS_PEAK_MEM_USAGE_SLOTS],
    output: [usize; CLIENTS_PEAK_MEM_USAGE_SLOTS],
}

impl ClientsPeakMem {
    /// The slot of second `unixtime`; the next slot is zeroed so that it
    /// starts fresh when its second comes.
    pub fn start_slot(&mut self, unixtime: i64) -> usize {
        let idx = unixtime.rem_euclid(CLIENTS_PEAK_MEM_USAGE_SLOTS as i64) as usize;
        let next = (idx + 1) % CLIENTS_PEAK_MEM_USAGE_SLOTS;
        self.input[next] = 0;
        self.output[next] = 0;
        idx
    }

    /// Records the biggest buffers seen in this cron run.
    pub fn track(&mut self, idx: usize, input: usize, output: usize) {
        self.input[idx] = self.input[idx].max(input);
        self.output[idx] = self.output[idx].max(output);
    }

    /// (input, output) maxima over the kept seconds (`getExpansiveClientsInfo`).
    pub fn recent_max(&self) -> (usize, usize) {
        (self.input.iter().copied().max().unwrap_or(0), self.output.iter().copied().max().unwrap_or(0))
    }
}
