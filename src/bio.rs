//! Background I/O jobs (mirrors bio.c): one thread per job type, fed
//! through a queue, so that slow system calls never block the event loop.
//!
//! 1. `AofFsync`: the everysec fsync of the AOF. The main thread asks
//!    `pending(AofFsync)` before a flush; while one is still running it
//!    postpones the write for up to 2 s (see aof.rs).
//! 2. `CloseFile`: closing the old AOF after a rewrite swapped it out; the
//!    last close of a renamed-over file unlinks it, which can block.
//!
//! A failed background fsync is remembered (`last_fsync_errno`, Redis's
//! `aof_bio_fsync_status`): write commands get `-MISCONF` until a later
//! fsync succeeds (see `Server::aof_write_error_message`).
//!
//! Threads never touch the keyspace. A forked child must not use bio: the
//! threads do not exist in the child.

use std::collections::VecDeque;
use std::os::unix::io::RawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobType {
    CloseFile = 0,
    AofFsync = 1,
}

const NUM_TYPES: usize = 2;

struct Queue {
    jobs: Mutex<VecDeque<RawFd>>,
    cond: Condvar,
    pending: AtomicUsize,
}

/// The bio threads and their queues.
pub struct Bio {
    queues: [Arc<Queue>; NUM_TYPES],
    /// errno of the last failed background fsync (0 when it succeeded).
    pub last_fsync_errno: Arc<AtomicUsize>,
}

impl Bio {
    /// Starts one thread per job type (`bioInit`).
    pub fn start() -> std::io::Result<Bio> {
        let queues = [
            Arc::new(Queue { jobs: Mutex::new(VecDeque::new()), cond: Condvar::new(), pending: AtomicUsize::new(0) }),
            Arc::new(Queue { jobs: Mutex::new(VecDeque::new()), cond: Condvar::new(), pending: AtomicUsize::new(0) }),
        ];
        let last_fsync_errno = Arc::new(AtomicUsize::new(0));
        for (t, q) in queues.iter().enumerate() {
            let q = Arc::clone(q);
            let errno = Arc::clone(&last_fsync_errno);
            std::thread::Builder::new().name(format!("bio-{}", t)).spawn(move || worker(t, q, errno))?;
        }
        Ok(Bio { queues, last_fsync_errno })
    }

    /// Queues a job on `fd` (`bioCreateFsyncJob`, `bioCreateCloseJob`).
    pub fn submit(&self, t: JobType, fd: RawFd) {
        let q = &self.queues[t as usize];
        q.pending.fetch_add(1, Ordering::SeqCst);
        match q.jobs.lock() {
            Ok(mut jobs) => jobs.push_back(fd),
            Err(poisoned) => poisoned.into_inner().push_back(fd),
        }
        q.cond.notify_one();
    }

    /// Jobs of type `t` queued or running (`bioPendingJobsOfType`).
    pub fn pending(&self, t: JobType) -> usize {
        self.queues[t as usize].pending.load(Ordering::SeqCst)
    }

    /// Waits until no job of type `t` is left (used at shutdown).
    pub fn drain(&self, t: JobType) {
        while self.pending(t) > 0 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

fn worker(t: usize, q: Arc<Queue>, errno: Arc<AtomicUsize>) {
    loop {
        let fd = {
            let mut jobs = match q.jobs.lock() {
                Ok(j) => j,
                Err(p) => p.into_inner(),
            };
            loop {
                if let Some(fd) = jobs.pop_front() {
                    break fd;
                }
                jobs = match q.cond.wait(jobs) {
                    Ok(j) => j,
                    Err(p) => p.into_inner(),
                };
            }
        };
        if t == JobType::CloseFile as usize {
            crate::anet::close(fd);
        } else {
            // SAFETY: fdatasync on an fd the main thread keeps open until
            // every pending fsync job is done (it waits before closing).
            let r = unsafe { libc::fdatasync(fd) };
            if r == -1 {
                let e = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
                // EBADF/EINVAL: the fd was closed or cannot be synced; not a
                // data-safety problem worth reporting.
                if e != libc::EBADF && e != libc::EINVAL {
                    // Logged once per switch from ok to failing, as Redis.
                    if errno.swap(e as usize, Ordering::SeqCst) == 0 {
                        log::warn!("Fail to fsync the AOF file: {}", std::io::Error::from_raw_os_error(e));
                    }
                } else {
                    errno.store(0, Ordering::SeqCst);
                }
            } else {
                errno.store(0, Ordering::SeqCst);
            }
        }
        q.pending.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::io::IntoRawFd;

    #[test]
    fn fsync_and_close_jobs_run() {
        let bio = Bio::start().unwrap();
        let path = std::env::temp_dir().join(format!("oxredis-bio-test-{}", std::process::id()));
        let f = std::fs::File::create(&path).unwrap();
        let fd = f.into_raw_fd();
        bio.submit(JobType::AofFsync, fd);
        bio.drain(JobType::AofFsync);
        assert_eq!(bio.pending(JobType::AofFsync), 0);
        assert_eq!(bio.last_fsync_errno.load(Ordering::SeqCst), 0);
        bio.submit(JobType::CloseFile, fd);
        bio.drain(JobType::CloseFile);
        assert_eq!(bio.pending(JobType::CloseFile), 0);
        let _ = std::fs::remove_file(path);
    }
}
