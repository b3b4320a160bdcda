//! Handing freed memory back to the system between nights.
//!
//! `reach` uses the system allocator. It was mimalloc until measurements at
//! 1M users (2 workers, 2-vCPU VM, back to back, 2026-11-29) showed the
//! system allocator (glibc) ahead once rows and reductions stopped making
//! millions of small allocations: `reach run` 22.6 s and 2.34 GB peak
//! against 23.5-24.1 s and 3.2-3.5 GB; `reach serve` 3.51 GB resident after
//! each night against 4.4-5.3 GB, nights computed and published as fast.
//!
//! A long-running `reach serve` gives freed memory back after each night
//! (`[serve] return_memory`): glibc's `malloc_trim` releases the free pages
//! of every arena, not only the top of the heap.

/// Hands freed memory back to the system now (glibc; elsewhere nothing).
pub fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: a plain call into glibc with a valid argument.
    unsafe {
        libc::malloc_trim(0);
    }
}
