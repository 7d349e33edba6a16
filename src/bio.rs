//! Background I/O jobs (mirrors bio.c): one thread per job type, fed
//! through a queue, so that slow system calls never block the event loop.
//!
//! 1. `AofFsync`: the everysec fsync of the AOF. The main thread asks
//!    `pending(AofFsync)` before a flush; while one is still running it
//!    postpones the write for up to 2 s (see aof.rs).
//! 2. `CloseFile`: closing the old AOF after a rewrite swapped it out; the
//!    last close of a renamed-over file unlinks it, which can block.
//! 3. `LazyFree`: dropping big values and whole databases that UNLINK,
//!    FLUSHALL ASYNC and the `lazyfree-lazy-*` options hand over (see
//!    lazyfree.rs). The job is the owned value in a closure that drops it
//!    and updates the lazyfree counters, as Redis's job carries the free
//!    function and its arguments.
//!
//! A failed background fsync is remembered (`last_fsync_errno`, Redis's
//! `aof_bio_fsync_status`): write commands get `-MISCONF` until a later
//! fsync succeeds (see `Server::write_commands_denied_by_disk_error`).
//!
//! Threads never touch the keyspace. A forked child must not use bio: the
//! threads do not exist in the child.

use std::collections::VecDeque;
use std::os::unix::io::RawFd;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobType {
    CloseFile = 0,
    AofFsync = 1,
    LazyFree = 2,
}

const NUM_TYPES: usize = 3;

/// Microseconds each background AOF fsync sleeps first: an oxredis-only
/// test hook (`DEBUG AOF-FSYNC-SLEEP`) standing for a busy disk, so that
/// the everysec postponement and `aof_delayed_fsync` can be exercised.
pub static AOF_FSYNC_SLEEP_US: AtomicU64 = AtomicU64::new(0);

/// What a job works on.
enum Job {
    /// A file descriptor to fsync or close.
    Fd(RawFd),
    /// Owned data to drop off the main thread (`bioCreateLazyFreeJob`).
    Free(Box<dyn FnOnce() + Send>),
}

struct Queue {
    jobs: Mutex<VecDeque<Job>>,
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
        let queue = || Arc::new(Queue { jobs: Mutex::new(VecDeque::new()), cond: Condvar::new(), pending: AtomicUsize::new(0) });
        let queues = [queue(), queue(), queue()];
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
        self.push(t, Job::Fd(fd));
    }

    /// Queues `free` on the lazyfree thread (`bioCreateLazyFreeJob`): it
    /// runs there, once, after the jobs queued before it.
    pub fn submit_lazy_free(&self, free: Box<dyn FnOnce() + Send>) {
        self.push(JobType::LazyFree, Job::Free(free));
    }

    fn push(&self, t: JobType, job: Job) {
        let q = &self.queues[t as usize];
        q.pending.fetch_add(1, Ordering::SeqCst);
        match q.jobs.lock() {
            Ok(mut jobs) => jobs.push_back(job),
            Err(poisoned) => poisoned.into_inner().push_back(job),
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
        let job = {
            let mut jobs = match q.jobs.lock() {
                Ok(j) => j,
                Err(p) => p.into_inner(),
            };
            loop {
                if let Some(job) = jobs.pop_front() {
                    break job;
                }
                jobs = match q.cond.wait(jobs) {
                    Ok(j) => j,
                    Err(p) => p.into_inner(),
                };
            }
        };
        let fd = match job {
            Job::Fd(fd) => fd,
            Job::Free(free) => {
                // A panic while dropping must not kill the thread and
                // leave `pending` stuck above zero.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(free));
                q.pending.fetch_sub(1, Ordering::SeqCst);
                continue;
            }
        };
        if t == JobType::CloseFile as usize {
            crate::anet::close(fd);
        } else {
            let sleep_us = AOF_FSYNC_SLEEP_US.load(Ordering::Relaxed);
            if sleep_us > 0 {
                std::thread::sleep(std::time::Duration::from_micros(sleep_us));
            }
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

    #[test]
    fn lazy_free_jobs_run_on_the_bio_thread() {
        let bio = Bio::start().unwrap();
        let main = std::thread::current().id();
        let (tx, rx) = std::sync::mpsc::channel();
        let big: Vec<Vec<u8>> = (0..1000).map(|i| vec![i as u8; 100]).collect();
        bio.submit_lazy_free(Box::new(move || {
            drop(big);
            let _ = tx.send(std::thread::current().id());
        }));
        let ran_on = rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap();
        assert_ne!(ran_on, main);
        bio.drain(JobType::LazyFree);
        assert_eq!(bio.pending(JobType::LazyFree), 0);
    }
}
