//! A global allocator that forwards to the system's and counts live heap bytes and their
//! peak, to measure what a reverse pass stores. Included by the benches and tests that
//! measure memory (`#[path]`); declaring it makes it the binary's allocator.

// The one `unsafe`: forwarding to the system allocator.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Peak heap bytes allocated while `f` runs, beyond what was live before: everything it
/// needs, since the tapes kept from earlier calls are freed first.
pub fn peak_bytes<T>(f: impl FnOnce() -> T) -> usize {
    autodiff::release_tapes();
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    black_box(f());
    PEAK.load(Ordering::Relaxed).saturating_sub(before)
}
