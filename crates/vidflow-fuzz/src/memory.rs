//! A ceiling on the heap, so that an input that makes a decoder allocate without bound stops
//! the run at once (with the input left on disk) instead of taking the machine down.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The default ceiling on live heap bytes for a whole fuzzing process.
pub const DEFAULT_LIMIT_BYTES: usize = 2 << 30;

/// The system allocator, counting live bytes and refusing any allocation that would take
/// them past [`Ceiling::set_limit`]. A refused allocation aborts the process through Rust's
/// allocation-failure handler, which names the size; the harness has already written the
/// input to its current-input file.
pub struct Ceiling {
    live: AtomicUsize,
    limit: AtomicUsize,
}

impl Ceiling {
    /// A ceiling at [`DEFAULT_LIMIT_BYTES`].
    pub const fn new() -> Self {
        Ceiling {
            live: AtomicUsize::new(0),
            limit: AtomicUsize::new(DEFAULT_LIMIT_BYTES),
        }
    }

    /// Sets the ceiling in bytes.
    pub fn set_limit(&self, bytes: usize) {
        self.limit.store(bytes, Ordering::Relaxed);
    }

    /// Live heap bytes now.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    fn admit(&self, size: usize) -> bool {
        let before = self.live.fetch_add(size, Ordering::Relaxed);
        if before.saturating_add(size) > self.limit.load(Ordering::Relaxed) {
            self.live.fetch_sub(size, Ordering::Relaxed);
            let msg = b"vidflow-fuzz: an allocation would pass the memory ceiling; the input is in target/fuzz-current/<target>\n";
            write_stderr(msg);
            return false;
        }
        true
    }
}

impl Default for Ceiling {
    fn default() -> Self {
        Self::new()
    }
}

/// Writes to stderr without allocating (we may be inside the allocator).
fn write_stderr(msg: &[u8]) {
    use std::io::Write;
    // `Stderr` is unbuffered and its lock does not allocate.
    let _ = std::io::stderr().lock().write_all(msg);
}

// SAFETY: every method forwards to `System` and only adds bookkeeping.
unsafe impl GlobalAlloc for Ceiling {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !self.admit(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            self.live.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !self.admit(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            self.live.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded; `ptr` came from this allocator with this layout.
        unsafe { System.dealloc(ptr, layout) };
        self.live.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        if new_size > old && !self.admit(new_size - old) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded; `ptr` came from this allocator with this layout.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            if new_size > old {
                self.live.fetch_sub(new_size - old, Ordering::Relaxed);
            }
        } else if new_size < old {
            self.live.fetch_sub(old - new_size, Ordering::Relaxed);
        }
        p
    }
}
