//! The event loop: Redis's ae.c, on `mio`.
//!
//! 1. File events are keyed by file descriptor. Each has a mask
//!    (`AE_READABLE`, `AE_WRITABLE`, optionally `AE_BARRIER`) and a handler
//!    per direction. Handlers are a plain enum ([`FileProc`]) rather than
//!    closures, so the server loop can match on them and call into
//!    `&mut Server` without borrow fights.
//! 2. Time events fire after a number of milliseconds; the handler returns
//!    the delay until the next firing or [`AE_NOMORE`].
//! 3. One iteration (`process_events`): compute the timeout from the
//!    nearest time event, poll, record the fired events. The server then
//!    dispatches them (readable before writable, reversed with
//!    `AE_BARRIER`), then runs due time events. `before_sleep` runs before
//!    every poll.
//!
//! mio drives epoll in edge-triggered mode while ae is level-triggered. A
//! handler that stops before the kernel said `EAGAIN` (to be fair to other
//! clients, or to bound a buffer) calls [`EventLoop::requeue`]; the fd is
//! then dispatched again in the next iteration, which polls without
//! sleeping. Handlers that drain until `EAGAIN` need nothing.

use std::io;
use std::os::unix::io::RawFd;
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

pub const AE_NONE: u8 = 0;
pub const AE_READABLE: u8 = 1;
pub const AE_WRITABLE: u8 = 2;
/// With this flag the writable handler runs before the readable one in
/// the same iteration (used by `appendfsync always`).
pub const AE_BARRIER: u8 = 4;
/// In a fired mask only: the peer closed its side or the socket failed.
/// With edge-triggered polling no later event reports the EOF, so the
/// reader must read until the kernel says EOF or EAGAIN.
pub const AE_HUP: u8 = 8;

/// Returned by a time event handler to delete the event.
pub const AE_NOMORE: i64 = -1;

/// What to call when a file descriptor is ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileProc {
    /// A listening TCP socket (index into the server's listeners).
    TcpListener(usize),
    /// The listening unix socket.
    UnixListener,
    /// A connected client; the client is found by fd.
    Client,
    /// The parent end of the rewrite data pipe (parent → child).
    RewriteDataToChild,
    /// The parent end of the ack pipe child → parent.
    RewriteAckFromChild,
}

/// What to call when a time event is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeProc {
    ServerCron,
    /// Goes on evicting keys when one run ran out of time (evict.rs).
    Eviction,
}

#[derive(Clone, Copy, Default)]
struct FileEvent {
    mask: u8,
    rproc: Option<FileProc>,
    wproc: Option<FileProc>,
}

struct TimeEvent {
    id: i64,
    when_ms: u64,
    proc_: TimeProc,
}

/// A fired event: the fd and which directions are ready.
#[derive(Clone, Copy, Debug)]
pub struct Fired {
    pub fd: RawFd,
    pub mask: u8,
}

pub struct EventLoop {
    poll: Poll,
    events: Events,
    file_events: Vec<FileEvent>,
    /// Events to dispatch in this iteration, filled by `process_events`.
    pub fired: Vec<Fired>,
    /// Events requeued by handlers that stopped before EAGAIN.
    requeued: Vec<Fired>,
    time_events: Vec<TimeEvent>,
    next_time_id: i64,
    pub stop: bool,
}

fn interest_of(mask: u8) -> Option<Interest> {
    match (mask & AE_READABLE != 0, mask & AE_WRITABLE != 0) {
        (true, true) => Some(Interest::READABLE | Interest::WRITABLE),
        (true, false) => Some(Interest::READABLE),
        (false, true) => Some(Interest::WRITABLE),
        (false, false) => None,
    }
}

impl EventLoop {
    /// Creates the loop with room for `setsize` file descriptors (grown on
    /// demand, like `aeResizeSetSize`).
    pub fn new(setsize: usize) -> io::Result<EventLoop> {
        Ok(EventLoop {
            poll: Poll::new()?,
            events: Events::with_capacity(1024),
            file_events: vec![FileEvent::default(); setsize],
            fired: Vec::with_capacity(1024),
            requeued: Vec::new(),
            time_events: Vec::new(),
            next_time_id: 0,
            stop: false,
        })
    }

    /// Adds `mask` to the events watched on `fd`, with `proc_` as the
    /// handler for the directions in `mask` (`aeCreateFileEvent`).
    pub fn create_file_event(&mut self, fd: RawFd, mask: u8, proc_: FileProc) -> io::Result<()> {
        if fd < 0 {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        let idx = fd as usize;
        if idx >= self.file_events.len() {
            self.file_events.resize(idx + 1, FileEvent::default());
        }
        let old = self.file_events[idx].mask & (AE_READABLE | AE_WRITABLE);
        let new = old | (mask & (AE_READABLE | AE_WRITABLE));
        if new != old {
            let interest = interest_of(new).ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
            let registry = self.poll.registry();
            if old == AE_NONE {
                registry.register(&mut SourceFd(&fd), Token(idx), interest)?;
            } else {
                registry.reregister(&mut SourceFd(&fd), Token(idx), interest)?;
            }
        }
        let fe = &mut self.file_events[idx];
        fe.mask |= mask;
        if mask & AE_READABLE != 0 {
            fe.rproc = Some(proc_);
        }
        if mask & AE_WRITABLE != 0 {
            fe.wproc = Some(proc_);
        }
        Ok(())
    }

    /// Stops watching the directions in `mask` on `fd` (`aeDeleteFileEvent`).
    /// Removing `AE_WRITABLE` also removes `AE_BARRIER`, as in ae.c.
    pub fn delete_file_event(&mut self, fd: RawFd, mut mask: u8) {
        if fd < 0 || fd as usize >= self.file_events.len() {
            return;
        }
        let idx = fd as usize;
        let old = self.file_events[idx].mask;
        if old == AE_NONE {
            return;
        }
        if mask & AE_WRITABLE != 0 {
            mask |= AE_BARRIER;
        }
        let new = old & !mask;
        let (old_io, new_io) = (old & 3, new & 3);
        if new_io != old_io {
            let registry = self.poll.registry();
            // A failure here means the fd is already closed, which removed
            // it from epoll anyway.
            match interest_of(new_io) {
                None => {
                    let _ = registry.deregister(&mut SourceFd(&fd));
                }
                Some(i) => {
                    let _ = registry.reregister(&mut SourceFd(&fd), Token(idx), i);
                }
            }
        }
        let fe = &mut self.file_events[idx];
        fe.mask = new;
        if new & AE_READABLE == 0 {
            fe.rproc = None;
        }
        if new & AE_WRITABLE == 0 {
            fe.wproc = None;
        }
    }

    /// Sets or clears `AE_BARRIER` on an fd that already has events.
    pub fn set_barrier(&mut self, fd: RawFd, on: bool) {
        if let Some(fe) = self.file_events.get_mut(fd as usize) {
            if on {
                fe.mask |= AE_BARRIER;
            } else {
                fe.mask &= !AE_BARRIER;
            }
        }
    }

    /// The mask currently watched on `fd` (`aeGetFileEvents`).
    pub fn get_file_events(&self, fd: RawFd) -> u8 {
        self.file_events.get(fd as usize).map(|fe| fe.mask).unwrap_or(AE_NONE)
    }

    /// The handler for one direction of `fd`, if still registered.
    pub fn file_proc(&self, fd: RawFd, dir: u8) -> Option<FileProc> {
        let fe = self.file_events.get(fd as usize)?;
        if fe.mask & dir == 0 {
            return None;
        }
        if dir == AE_READABLE {
            fe.rproc
        } else {
            fe.wproc
        }
    }

    /// Asks for `fd` to be dispatched again for `mask` in the next
    /// iteration: the handler stopped before the kernel said EAGAIN.
    pub fn requeue(&mut self, fd: RawFd, mask: u8) {
        if let Some(f) = self.requeued.iter_mut().find(|f| f.fd == fd) {
            f.mask |= mask;
        } else {
            self.requeued.push(Fired { fd, mask });
        }
    }

    /// Adds a time event due in `ms` milliseconds; returns its id.
    pub fn create_time_event(&mut self, ms: u64, proc_: TimeProc) -> i64 {
        let id = self.next_time_id;
        self.next_time_id += 1;
        self.time_events.push(TimeEvent { id, when_ms: crate::util::monotonic_us() / 1000 + ms, proc_ });
        id
    }

    /// Time events that are due now, in creation order. The caller runs
    /// them and reports each result with `reschedule_time_event`.
    pub fn due_time_events(&self, out: &mut Vec<(i64, TimeProc)>) {
        let now = crate::util::monotonic_us() / 1000;
        out.clear();
        for te in &self.time_events {
            if te.when_ms <= now {
                out.push((te.id, te.proc_));
            }
        }
    }

    /// Schedules time event `id` again in `ms` milliseconds, or deletes it
    /// when `ms` is `AE_NOMORE`.
    pub fn reschedule_time_event(&mut self, id: i64, ms: i64) {
        if ms == AE_NOMORE {
            self.time_events.retain(|te| te.id != id);
        } else if let Some(te) = self.time_events.iter_mut().find(|te| te.id == id) {
            te.when_ms = crate::util::monotonic_us() / 1000 + ms.max(0) as u64;
        }
    }

    /// Milliseconds until the nearest time event (None when there is none).
    fn ms_to_nearest_timer(&self) -> Option<u64> {
        let now = crate::util::monotonic_us() / 1000;
        self.time_events.iter().map(|te| te.when_ms.saturating_sub(now)).min()
    }

    /// Polls without waiting (for serving clients during a blocking job).
    pub fn process_events_now(&mut self) -> io::Result<()> {
        self.fired.clear();
        match self.poll.poll(&mut self.events, Some(Duration::ZERO)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        self.collect_fired();
        Ok(())
    }

    /// Turns mio's events plus requeued fds into `fired`. Errors and
    /// hang-ups are reported as readable+writable so the handler notices
    /// them through the failing read or write.
    fn collect_fired(&mut self) {
        for ev in self.events.iter() {
            let mut mask = 0;
            if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                mask |= AE_READABLE;
            }
            if ev.is_read_closed() || ev.is_error() {
                mask |= AE_HUP;
            }
            if ev.is_writable() || ev.is_write_closed() || ev.is_error() {
                mask |= AE_WRITABLE;
            }
            self.fired.push(Fired { fd: ev.token().0 as RawFd, mask });
        }
        for rq in self.requeued.drain(..) {
            if let Some(f) = self.fired.iter_mut().find(|f| f.fd == rq.fd) {
                f.mask |= rq.mask;
            } else {
                self.fired.push(rq);
            }
        }
    }

    /// Waits for file events, at most until the nearest time event, and
    /// fills `fired`. Requeued events are added and make the poll
    /// non-blocking.
    pub fn process_events(&mut self) -> io::Result<()> {
        self.fired.clear();
        let timeout = if !self.requeued.is_empty() {
            Some(Duration::ZERO)
        } else {
            self.ms_to_nearest_timer().map(Duration::from_millis)
        };
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        self.collect_fired();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::io::AsRawFd;

    #[test]
    fn pipe_readable_fires_and_delete_stops_it() {
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two fds into the array we own.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK) }, 0);
        let mut el = EventLoop::new(16).unwrap();
        el.create_file_event(fds[0], AE_READABLE, FileProc::RewriteAckFromChild).unwrap();
        // SAFETY: writing one byte from a valid buffer to our pipe.
        assert_eq!(unsafe { libc::write(fds[1], b"!".as_ptr() as *const _, 1) }, 1);
        el.create_time_event(50, TimeProc::ServerCron);
        el.process_events().unwrap();
        assert_eq!(el.fired.len(), 1);
        assert_eq!(el.fired[0].fd, fds[0]);
        assert_eq!(el.fired[0].mask & AE_READABLE, AE_READABLE);
        assert_eq!(el.file_proc(fds[0], AE_READABLE), Some(FileProc::RewriteAckFromChild));
        el.delete_file_event(fds[0], AE_READABLE);
        assert_eq!(el.get_file_events(fds[0]), AE_NONE);
        // With nothing registered the poll returns at the timer.
        let t = std::time::Instant::now();
        el.process_events().unwrap();
        assert!(el.fired.is_empty());
        assert!(t.elapsed() < Duration::from_secs(2));
        let mut due = Vec::new();
        std::thread::sleep(Duration::from_millis(60));
        el.due_time_events(&mut due);
        assert_eq!(due.len(), 1);
        el.reschedule_time_event(due[0].0, AE_NOMORE);
        el.due_time_events(&mut due);
        assert!(due.is_empty());
        // SAFETY: closing the fds we opened.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
    }

    #[test]
    fn requeue_makes_poll_non_blocking() {
        let mut el = EventLoop::new(4).unwrap();
        el.create_time_event(10_000, TimeProc::ServerCron);
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        el.create_file_event(sock.as_raw_fd(), AE_READABLE, FileProc::Client).unwrap();
        el.requeue(sock.as_raw_fd(), AE_READABLE);
        let t = std::time::Instant::now();
        el.process_events().unwrap();
        assert!(t.elapsed() < Duration::from_secs(1));
        assert_eq!(el.fired.len(), 1);
    }
}
