//! Memory accounting (mirrors zmalloc.c's `used_memory` counter).
//!
//! The process allocates through jemalloc, as Redis does: its size classes
//! and arenas are what Redis's memory figures and fragmentation behaviour
//! are built on, so comparing oxredis with Redis is comparing like with
//! like. The global allocator wraps jemalloc and keeps, in one relaxed
//! atomic, the bytes currently allocated counted at the allocator's usable
//! size (`je_malloc_usable_size`, as zmalloc does with HAVE_MALLOC_SIZE):
//! INFO memory reports it as `used_memory`, and `maxmemory` decisions read
//! it.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicUsize, Ordering};

use tikv_jemallocator::Jemalloc;

pub struct CountingAllocator;

static USED: AtomicUsize = AtomicUsize::new(0);
/// Calls that obtained memory (alloc, alloc_zeroed, realloc): lets a test
/// check that the hot path allocates nothing per command.
static ALLOC_CALLS: AtomicUsize = AtomicUsize::new(0);

/// The name and version INFO prints as `mem_allocator`.
pub const ALLOCATOR_NAME: &str = "jemalloc-5.3.0";

#[inline]
fn usable(p: *const u8) -> usize {
    // SAFETY: `p` is a live pointer returned by jemalloc (callers check for
    // null and call this before freeing).
    unsafe { tikv_jemallocator::usable_size(p) }
}

// SAFETY: every call forwards to jemalloc with the same layout and pointer;
// the only addition is the byte counter, read from live pointers.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = Jemalloc.alloc(layout);
        ALLOC_CALLS.fetch_add(1, Ordering::Relaxed);
        if !p.is_null() {
            USED.fetch_add(usable(p), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = Jemalloc.alloc_zeroed(layout);
        ALLOC_CALLS.fetch_add(1, Ordering::Relaxed);
        if !p.is_null() {
            USED.fetch_add(usable(p), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        USED.fetch_sub(usable(ptr), Ordering::Relaxed);
        Jemalloc.dealloc(ptr, layout);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = usable(ptr);
        let p = Jemalloc.realloc(ptr, layout, new_size);
        ALLOC_CALLS.fetch_add(1, Ordering::Relaxed);
        if !p.is_null() {
            let new = usable(p);
            if new >= old {
                USED.fetch_add(new - old, Ordering::Relaxed);
            } else {
                USED.fetch_sub(old - new, Ordering::Relaxed);
            }
        }
        p
    }
}

/// Bytes currently allocated by the process through the Rust allocator.
pub fn used_memory() -> usize {
    USED.load(Ordering::Relaxed)
}

/// Allocation calls so far, in every thread (see `ALLOC_CALLS`).
pub fn alloc_calls() -> usize {
    ALLOC_CALLS.load(Ordering::Relaxed)
}

/// Resident set size from /proc/self/stat (field 24, in pages), as
/// Redis's `zmalloc_get_rss`.
pub fn get_rss() -> usize {
    let stat = match std::fs::read_to_string("/proc/self/stat") {
        Ok(s) => s,
        Err(_) => return 0,
    };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let after = match stat.rfind(')') {
        Some(i) => &stat[i + 1..],
        None => return 0,
    };
    let rss_pages: usize = after.split_whitespace().nth(21).and_then(|v| v.parse().ok()).unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    rss_pages * if page > 0 { page as usize } else { 4096 }
}

/// Total physical memory of the machine (`total_system_memory`).
pub fn get_total_system_memory() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let (pages, page) = unsafe { (libc::sysconf(libc::_SC_PHYS_PAGES), libc::sysconf(libc::_SC_PAGESIZE)) };
    if pages > 0 && page > 0 {
        pages as u64 * page as u64
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rss_is_read() {
        assert!(super::get_rss() > 0);
        assert!(super::get_total_system_memory() > 0);
    }
}
