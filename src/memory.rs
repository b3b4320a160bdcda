//! The allocator's handling of freed memory (mimalloc's `purge_delay`).
//!
//! A batch run keeps freed memory: differential's merge batchers free and
//! reallocate large buffers continuously, and returning them made a third of
//! a friendships run the kernel zeroing fresh pages (perf, 100k users).
//! A long-running `reach serve` hands it back after each night, or it would
//! keep every night's high-water mark for good.
//!
//! Both only matter when mimalloc is the global allocator (the `reach`
//! binary); elsewhere they change an unused allocator's settings.

/// `mi_option_purge_delay`: its index in mimalloc v3's option enum (checked
/// against `MIMALLOC_VERBOSE=1`, which lists options in enum order;
/// libmimalloc-sys is pinned so the C library cannot move under it; see
/// docs/upgrading.md).
const PURGE_DELAY_V3: libmimalloc_sys::mi_option_t = 15;

/// Whether the linked mimalloc is v3 (where the index above holds).
fn is_v3() -> bool {
    // SAFETY: a plain call into mimalloc's C API.
    unsafe { libmimalloc_sys::mi_version() >= 30000 }
}

/// Keeps freed memory in the process (for the whole run).
pub fn keep_freed() {
    if is_v3() {
        // SAFETY: a plain call into mimalloc's C API with valid arguments.
        unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY_V3, -1) };
    }
}

/// Hands this thread's freed memory back to the system now, then restores
/// the setting. Measured at 300k users over 8 nights of `reach serve`:
/// resident memory between nights stays flat instead of growing 8%, for
/// nights about 20% slower (pages are zeroed again).
pub fn give_back() {
    if is_v3() {
        // SAFETY: plain calls into mimalloc's C API with valid arguments.
        unsafe {
            let keep = libmimalloc_sys::mi_option_get(PURGE_DELAY_V3);
            libmimalloc_sys::mi_option_set(PURGE_DELAY_V3, 0);
            libmimalloc_sys::mi_collect(true);
            libmimalloc_sys::mi_option_set(PURGE_DELAY_V3, keep);
        }
    }
}
