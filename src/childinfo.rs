//! The child-info pipe (mirrors childinfo.c): how a fork child tells the
//! parent how much memory copy-on-write cost and how far it got.
//!
//! 1. `redis_fork` opens the pipe before forking (`open_child_info_pipe`);
//!    the parent's read end is non-blocking, the child's write end blocks.
//! 2. The child sends fixed-size records (`send_child_info_generic`): a
//!    `CurrentInfo` record at most once a second while it works (keys
//!    processed, copy-on-write so far) and, when done, one final record of
//!    its type (`AofCowSize` for the AOF rewrite). The copy-on-write size is
//!    the sum of `Private_Dirty` over the child's mappings, read from
//!    `/proc/self/smaps_rollup` (or `/proc/self/smaps` where there is no
//!    rollup; the sums are the same), and is refreshed only when doing so
//!    costs under 1 % of the time since the last refresh.
//! 3. The parent drains the pipe once a second from the cron and once more
//!    when the child is reaped (`receive_child_info`), updating INFO's
//!    `current_cow_size`, `current_save_keys_processed` and
//!    `aof_last_cow_size`.
//!
//! Records are 40 bytes, below `PIPE_BUF`, so each write is atomic.

use std::os::unix::io::RawFd;

use crate::server::Server;

/// What a record reports (`childInfoType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildInfoType {
    CurrentInfo = 0,
    AofCowSize = 1,
    RdbCowSize = 2,
    ModuleCowSize = 3,
}

impl ChildInfoType {
    fn from_u32(v: u32) -> Option<ChildInfoType> {
        match v {
            0 => Some(ChildInfoType::CurrentInfo),
            1 => Some(ChildInfoType::AofCowSize),
            2 => Some(ChildInfoType::RdbCowSize),
            3 => Some(ChildInfoType::ModuleCowSize),
            _ => None,
        }
    }
}

/// Refresh the copy-on-write figure only if that took under 1/100 of the
/// time since the last refresh (`CHILD_COW_DUTY_CYCLE`).
const CHILD_COW_DUTY_CYCLE: u64 = 100;

const RECORD_LEN: usize = 40;

/// One record on the pipe (`child_info_data`).
#[derive(Clone, Copy, Debug, PartialEq)]
struct ChildInfoData {
    information_type: u32,
    keys: u64,
    cow: u64,
    /// Monotonic microseconds of the copy-on-write measurement.
    cow_updated: u64,
    progress: f64,
}

impl ChildInfoData {
    fn encode(&self) -> [u8; RECORD_LEN] {
        let mut b = [0u8; RECORD_LEN];
        b[0..4].copy_from_slice(&self.information_type.to_ne_bytes());
        b[8..16].copy_from_slice(&self.keys.to_ne_bytes());
        b[16..24].copy_from_slice(&self.cow.to_ne_bytes());
        b[24..32].copy_from_slice(&self.cow_updated.to_ne_bytes());
        b[32..40].copy_from_slice(&self.progress.to_ne_bytes());
        b
    }

    fn decode(b: &[u8; RECORD_LEN]) -> ChildInfoData {
        let u64_at = |i: usize| {
            let mut x = [0u8; 8];
            x.copy_from_slice(&b[i..i + 8]);
            u64::from_ne_bytes(x)
        };
        let mut t = [0u8; 4];
        t.copy_from_slice(&b[0..4]);
        ChildInfoData {
            information_type: u32::from_ne_bytes(t),
            keys: u64_at(8),
            cow: u64_at(16),
            cow_updated: u64_at(24),
            progress: f64::from_bits(u64_at(32)),
        }
    }
}

/// Sum of the `Private_Dirty:` lines (kB) of an smaps text, in bytes.
fn sum_private_dirty(text: &str) -> u64 {
    let mut total = 0u64;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Private_Dirty:") {
            let kb: u64 = rest.split_whitespace().next().and_then(|v| v.parse().ok()).unwrap_or(0);
            total += kb * 1024;
        }
    }
    total
}

/// Bytes of this process's memory that are private and dirty: in a fork
/// child, what copy-on-write duplicated (`zmalloc_get_private_dirty`).
pub fn get_private_dirty() -> u64 {
    for path in ["/proc/self/smaps_rollup", "/proc/self/smaps"] {
        if let Ok(text) = std::fs::read_to_string(path) {
            return sum_private_dirty(&text);
        }
    }
    0
}

/// The child's side of the copy-on-write sampling (`sendChildInfoGeneric`'s
/// statics), kept in the child's copy of the server.
#[derive(Default)]
pub struct CowSampler {
    cow: u64,
    cow_updated: u64,
    cow_update_cost: u64,
}

impl Server {
    /// Opens the pipe before a fork (`openChildInfoPipe`). On failure the
    /// child simply reports nothing.
    pub fn open_child_info_pipe(&mut self) {
        let mut fds = [-1 as RawFd; 2];
        // SAFETY: pipe2 writes two fds into the array we own.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } == -1 {
            self.close_child_info_pipe();
            return;
        }
        if crate::anet::set_nonblock(fds[0]).is_err() {
            crate::anet::close(fds[0]);
            crate::anet::close(fds[1]);
            self.close_child_info_pipe();
            return;
        }
        self.child.info_pipe = fds;
        self.child.info_nread = 0;
    }

    /// Closes both ends (`closeChildInfoPipe`).
    pub fn close_child_info_pipe(&mut self) {
        for fd in self.child.info_pipe.iter_mut() {
            if *fd != -1 {
                crate::anet::close(*fd);
                *fd = -1;
            }
        }
        self.child.info_nread = 0;
    }

    /// In the child: sends a record, measuring copy-on-write when that is
    /// cheap enough (`sendChildInfoGeneric`). `pname` names the job in the
    /// log line, e.g. "AOF rewrite".
    pub fn send_child_info_generic(&mut self, info_type: ChildInfoType, keys: u64, progress: f64, pname: &str) {
        let fd = self.child.info_pipe[1];
        if fd == -1 {
            return;
        }
        let now = crate::util::monotonic_us();
        let s = &mut self.child.cow_sampler;
        if info_type != ChildInfoType::CurrentInfo
            || s.cow_updated == 0
            || now.saturating_sub(s.cow_updated) > s.cow_update_cost * CHILD_COW_DUTY_CYCLE
        {
            s.cow = get_private_dirty();
            s.cow_updated = crate::util::monotonic_us();
            s.cow_update_cost = s.cow_updated.saturating_sub(now);
            if s.cow > 0 {
                let msg = format!("{}: {} MB of memory used by copy-on-write", pname, s.cow / (1024 * 1024));
                if info_type == ChildInfoType::CurrentInfo {
                    log::debug!("{}", msg);
                } else {
                    log::info!("{}", msg);
                }
            }
        }
        let data =
            ChildInfoData { information_type: info_type as u32, keys, cow: s.cow, cow_updated: s.cow_updated, progress };
        let rec = data.encode();
        // A failed write only loses statistics.
        let _ = crate::anet::write(fd, &rec);
    }

    /// In the child: the progress record (`sendChildInfo`).
    pub fn send_child_info(&mut self, info_type: ChildInfoType, keys: u64, pname: &str) {
        self.send_child_info_generic(info_type, keys, -1.0, pname);
    }

    /// In the parent: reads one record, keeping a partial one for later
    /// (`readChildInfo`).
    fn read_child_info(&mut self) -> Option<ChildInfoData> {
        let fd = self.child.info_pipe[0];
        if fd == -1 {
            return None;
        }
        let have = self.child.info_nread;
        match crate::anet::read(fd, &mut self.child.info_buf[have..]) {
            Ok(n) if n > 0 => self.child.info_nread += n,
            _ => {}
        }
        if self.child.info_nread == RECORD_LEN {
            self.child.info_nread = 0;
            return Some(ChildInfoData::decode(&self.child.info_buf));
        }
        None
    }

    /// In the parent: drains the pipe and applies every record
    /// (`receiveChildInfo`).
    pub fn receive_child_info(&mut self) {
        while let Some(d) = self.read_child_info() {
            let Some(t) = ChildInfoType::from_u32(d.information_type) else { continue };
            self.update_child_info(t, d.cow, d.cow_updated, d.keys, d.progress);
        }
    }

    /// `updateChildInfo`.
    fn update_child_info(&mut self, t: ChildInfoType, cow: u64, cow_updated: u64, keys: u64, progress: f64) {
        match t {
            ChildInfoType::CurrentInfo => {
                self.child.stat_current_cow_bytes = cow;
                self.child.stat_current_cow_updated = cow_updated;
                self.child.stat_current_save_keys_processed = keys;
                if progress != -1.0 {
                    self.child.stat_module_progress = progress;
                }
            }
            ChildInfoType::AofCowSize => self.aof.rewrite.stat_aof_cow_bytes = cow,
            ChildInfoType::RdbCowSize => self.child.stat_rdb_cow_bytes = cow,
            ChildInfoType::ModuleCowSize => self.child.stat_module_cow_bytes = cow,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let d = ChildInfoData { information_type: 1, keys: 12345, cow: 1 << 33, cow_updated: 77, progress: -1.0 };
        assert_eq!(ChildInfoData::decode(&d.encode()), d);
    }

    #[test]
    fn private_dirty_is_summed_in_bytes() {
        let text = "00400000-00452000 r-xp 00000000 08:02 173521 /bin/x\nSize: 8 kB\nPrivate_Dirty:        4 kB\nRss: 1 kB\nPrivate_Dirty: 12 kB\n";
        assert_eq!(sum_private_dirty(text), 16 * 1024);
        // This process has written memory of its own.
        assert!(get_private_dirty() > 0);
    }

    #[test]
    fn parent_reads_what_the_child_side_sends() {
        let mut s = Server::new(crate::config::Config::with_defaults()).unwrap();
        s.open_child_info_pipe();
        assert!(s.child.info_pipe[0] >= 0);
        s.send_child_info(ChildInfoType::CurrentInfo, 42, "test");
        s.send_child_info(ChildInfoType::AofCowSize, 43, "test");
        s.receive_child_info();
        assert_eq!(s.child.stat_current_save_keys_processed, 42);
        assert!(s.child.stat_current_cow_bytes > 0);
        assert!(s.aof.rewrite.stat_aof_cow_bytes > 0);
        s.close_child_info_pipe();
        assert_eq!(s.child.info_pipe, [-1, -1]);
    }
}
