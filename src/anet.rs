//! Socket helpers on plain file descriptors: Redis's anet.c.
//!
//! The server keeps raw fds for listeners and clients (as ae does) so that
//! TCP and unix sockets, and later the rewrite pipes, go through one
//! read/write path. Listening sockets are made here with libc so that
//! `tcp-backlog`, `SO_REUSEADDR` and `IPV6_V6ONLY` are set as Redis sets them.

use std::ffi::CString;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::io::RawFd;

fn last_err() -> io::Error {
    io::Error::last_os_error()
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(last_err())
    } else {
        Ok(r)
    }
}

fn set_int_opt(fd: RawFd, level: libc::c_int, opt: libc::c_int, val: libc::c_int) -> io::Result<()> {
    // SAFETY: setsockopt reads sizeof(int) bytes from a valid local.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            level,
            opt,
            &val as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

/// Closes a descriptor, ignoring errors (the fd is gone either way).
pub fn close(fd: RawFd) {
    if fd >= 0 {
        // SAFETY: closing an fd this process owns.
        unsafe {
            libc::close(fd);
        }
    }
}

/// Sets O_NONBLOCK (and FD_CLOEXEC) on `fd`.
pub fn set_nonblock(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on an fd we own with integer arguments.
    unsafe {
        let flags = cvt(libc::fcntl(fd, libc::F_GETFL))?;
        cvt(libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK))?;
        let fdflags = cvt(libc::fcntl(fd, libc::F_GETFD))?;
        cvt(libc::fcntl(fd, libc::F_SETFD, fdflags | libc::FD_CLOEXEC))?;
    }
    Ok(())
}

/// Opens a listening TCP socket on `addr:port` (`anetTcpServer`).
pub fn tcp_server(addr: IpAddr, port: u16, backlog: i32) -> io::Result<RawFd> {
    let sa = SocketAddr::new(addr, port);
    let domain = if addr.is_ipv6() { libc::AF_INET6 } else { libc::AF_INET };
    // SAFETY: creating a socket has no memory preconditions.
    let fd = cvt(unsafe { libc::socket(domain, libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0) })?;
    let res = (|| {
        set_int_opt(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
        if addr.is_ipv6() {
            set_int_opt(fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 1)?;
        }
        let (storage, len) = sockaddr_from(&sa);
        // SAFETY: storage holds a valid sockaddr of `len` bytes.
        cvt(unsafe { libc::bind(fd, &storage as *const _ as *const libc::sockaddr, len) })?;
        // SAFETY: listen on our socket.
        cvt(unsafe { libc::listen(fd, backlog) })?;
        Ok(())
    })();
    match res {
        Ok(()) => Ok(fd),
        Err(e) => {
            close(fd);
            Err(e)
        }
    }
}

/// Opens a listening unix socket at `path` with permissions `perm`
/// (0 = leave as umask made it) (`anetUnixServer`).
pub fn unix_server(path: &str, perm: u32, backlog: i32) -> io::Result<RawFd> {
    let cpath = CString::new(path).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: creating a socket has no memory preconditions.
    let fd = cvt(unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0) })?;
    let res = (|| {
        // SAFETY: a zeroed sockaddr_un is valid; we copy at most len-1 bytes.
        let mut sun: libc::sockaddr_un = unsafe { std::mem::zeroed() };
        sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
        let bytes = cpath.as_bytes();
        if bytes.len() >= sun.sun_path.len() {
            return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
        }
        for (i, b) in bytes.iter().enumerate() {
            sun.sun_path[i] = *b as libc::c_char;
        }
        // SAFETY: binding our socket to the address we filled in.
        cvt(unsafe {
            libc::bind(
                fd,
                &sun as *const _ as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
            )
        })?;
        // SAFETY: listen on our socket.
        cvt(unsafe { libc::listen(fd, backlog) })?;
        if perm != 0 {
            // SAFETY: chmod on a NUL-terminated path we own.
            cvt(unsafe { libc::chmod(cpath.as_ptr(), perm as libc::mode_t) })?;
        }
        Ok(())
    })();
    match res {
        Ok(()) => Ok(fd),
        Err(e) => {
            close(fd);
            Err(e)
        }
    }
}

fn sockaddr_from(sa: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: an all-zero sockaddr_storage is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match sa {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(a.ip().octets()) },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_in fits in sockaddr_storage.
            unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in, sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr { s6_addr: a.ip().octets() },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_in6 fits in sockaddr_storage.
            unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in6, sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

fn sockaddr_to(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match storage.ss_family as libc::c_int {
        libc::AF_INET => {
            // SAFETY: the family says this storage holds a sockaddr_in.
            let sin = unsafe { &*(storage as *const _ as *const libc::sockaddr_in) };
            let ip = std::net::Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            Some(SocketAddr::new(IpAddr::V4(ip), u16::from_be(sin.sin_port)))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this storage holds a sockaddr_in6.
            let sin6 = unsafe { &*(storage as *const _ as *const libc::sockaddr_in6) };
            let ip = std::net::Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Some(SocketAddr::new(IpAddr::V6(ip), u16::from_be(sin6.sin6_port)))
        }
        _ => None,
    }
}

/// Accepts one connection; `Ok(None)` when none is waiting (EAGAIN).
/// Returns the fd and the peer address (None for unix sockets).
pub fn accept(lfd: RawFd) -> io::Result<Option<(RawFd, Option<SocketAddr>)>> {
    // SAFETY: an all-zero sockaddr_storage is a valid out-buffer.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: accept4 writes at most `len` bytes into storage.
    let fd = unsafe {
        libc::accept4(
            lfd,
            &mut storage as *mut _ as *mut libc::sockaddr,
            &mut len,
            libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        )
    };
    if fd < 0 {
        let e = last_err();
        return match e.raw_os_error() {
            Some(libc::EAGAIN) => Ok(None),
            Some(libc::EINTR) | Some(libc::ECONNABORTED) => Ok(None),
            _ => Err(e),
        };
    }
    Ok(Some((fd, sockaddr_to(&storage))))
}

/// The local address of a connected socket.
pub fn sock_name(fd: RawFd) -> Option<SocketAddr> {
    // SAFETY: as in accept.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: getsockname writes at most `len` bytes into storage.
    let r = unsafe { libc::getsockname(fd, &mut storage as *mut _ as *mut libc::sockaddr, &mut len) };
    if r < 0 {
        return None;
    }
    sockaddr_to(&storage)
}

/// Formats an address as Redis's `anetFormatAddr`: `ip:port`, `[ip6]:port`.
pub fn format_addr(sa: &SocketAddr) -> String {
    match sa {
        SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => match a.ip().to_ipv4_mapped() {
            Some(v4) => format!("{}:{}", v4, a.port()),
            None => format!("[{}]:{}", a.ip(), a.port()),
        },
    }
}

/// TCP_NODELAY on (`anetEnableTcpNoDelay`).
pub fn enable_tcp_no_delay(fd: RawFd) {
    let _ = set_int_opt(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1);
}

/// SO_KEEPALIVE with the probe interval Redis derives from `interval`
/// (`anetKeepAlive`).
pub fn keep_alive(fd: RawFd, interval: i32) {
    if set_int_opt(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1).is_err() {
        return;
    }
    let _ = set_int_opt(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, interval);
    let _ = set_int_opt(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, (interval / 3).max(1));
    let _ = set_int_opt(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 3);
}

/// One non-blocking read into `buf`; Ok(0) is EOF, WouldBlock is EAGAIN.
pub fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: read writes at most buf.len() bytes into buf.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
    if n < 0 {
        Err(last_err())
    } else {
        Ok(n as usize)
    }
}

/// One non-blocking write of `buf`.
pub fn write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: write reads at most buf.len() bytes from buf.
    let n = unsafe { libc::write(fd, buf.as_ptr() as *const libc::c_void, buf.len()) };
    if n < 0 {
        Err(last_err())
    } else {
        Ok(n as usize)
    }
}

/// True if `ip` is a loopback address (protected mode lets these in).
pub fn is_loopback(sa: &Option<SocketAddr>) -> bool {
    match sa {
        None => true, // unix socket
        Some(SocketAddr::V4(a)) => a.ip().is_loopback(),
        Some(SocketAddr::V6(a)) => {
            a.ip().is_loopback() || a.ip().to_ipv4_mapped().map(|v| v.is_loopback()).unwrap_or(false)
        }
    }
}
