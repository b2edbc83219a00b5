//! Is the program's `#[global_allocator]` the system allocator?
//!
//! A reloaded build is a cdylib with its own copy of `std`, which allocates
//! with the system allocator (`malloc`). If the program set another global
//! allocator (jemalloc, mimalloc, a bump arena), new code would `realloc` or
//! `free` the program's memory with the wrong allocator: heap corruption.
//! So `Reloader::start()` refuses to turn reloading on (`HOT031`).
//!
//! There is no API to ask which allocator is global, so this watches glibc's
//! own accounting: a large allocation through the global allocator that does
//! not show up in `mallinfo2()` did not come from `malloc`. An allocator
//! that wraps the system one (a counting allocator) passes, which is right:
//! it frees through `malloc` too. On a platform without `mallinfo2` the
//! check cannot tell and lets the program through.

use std::alloc::{GlobalAlloc, Layout, System, alloc, dealloc};

/// glibc's `struct mallinfo2`.
#[repr(C)]
#[derive(Default)]
struct MallInfo2 {
    arena: usize,
    ordblks: usize,
    smblks: usize,
    hblks: usize,
    hblkhd: usize,
    usmblks: usize,
    fsmblks: usize,
    uordblks: usize,
    fordblks: usize,
    keepcost: usize,
}

/// Big enough that other threads' allocations between two readings cannot
/// be mistaken for it.
const PROBE: usize = 16 << 20;

/// `Some(true)` if the global allocator allocates through `malloc`,
/// `Some(false)` if it does not, `None` if this platform cannot tell.
pub fn global_is_system() -> Option<bool> {
    // Looked up at run time: an older C library may not have it.
    let this = libloading::os::unix::Library::this();
    // SAFETY: if the symbol exists, it is glibc's `mallinfo2`, with this
    // signature (`struct mallinfo2 mallinfo2(void)`, mirrored by
    // `MallInfo2`).
    let mallinfo2 = unsafe { this.get::<unsafe extern "C" fn() -> MallInfo2>(b"mallinfo2\0") };
    let mallinfo2 = mallinfo2.ok()?;
    let in_use = || {
        // SAFETY: takes no arguments, only reads the allocator's counters.
        let info = unsafe { mallinfo2() };
        info.uordblks + info.hblkhd
    };
    let layout = Layout::from_size_align(PROBE, 16).ok()?;
    // Calibrate: the same probe through `System` must show up, or the
    // counters are not what we think they are.
    // SAFETY: non-zero size; freed with the same layout right after.
    let seen = |global: bool| unsafe {
        let before = in_use();
        let block = if global {
            alloc(layout)
        } else {
            System.alloc(layout)
        };
        if block.is_null() {
            return None;
        }
        let after = in_use();
        if global {
            dealloc(block, layout)
        } else {
            System.dealloc(block, layout)
        }
        Some(after.saturating_sub(before) >= PROBE)
    };
    // Other threads allocate and free too: a few tries settle it.
    let mut system_counts = false;
    let mut global_counts = false;
    for _ in 0..3 {
        system_counts |= seen(false)?;
        global_counts |= seen(true)?;
        if system_counts && global_counts {
            break;
        }
    }
    system_counts.then_some(global_counts)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_test_binary_uses_the_system_allocator() {
        // Tests run with std's default allocator; on glibc the check sees it.
        if cfg!(target_env = "gnu") {
            assert_eq!(super::global_is_system(), Some(true));
        }
    }
}
