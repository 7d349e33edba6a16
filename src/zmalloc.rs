//! Memory accounting (mirrors zmalloc.c's `used_memory` counter).
//!
//! A global allocator that wraps the system allocator and keeps the number
//! of bytes currently allocated in one relaxed atomic. INFO memory reports it
//! as `used_memory`, and `maxmemory` decisions read it. The count is of the
//! sizes asked for, not the allocator's rounded-up size classes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct CountingAllocator;

static USED: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call forwards to the system allocator with the same layout
// and pointer; the only addition is the byte counter.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            USED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            USED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        USED.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            if new_size > layout.size() {
                USED.fetch_add(new_size - layout.size(), Ordering::Relaxed);
            } else {
                USED.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

/// Bytes currently allocated by the process through the Rust allocator.
pub fn used_memory() -> usize {
    USED.load(Ordering::Relaxed)
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
