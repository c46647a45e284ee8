//! The allocator of decoder modules: a bump allocator over fresh pages.
//!
//! The host runs every call in a fresh instance that lives for one
//! record, so a general-purpose allocator's bookkeeping (free lists,
//! coalescing) buys nothing and costs a fifth of the time of a typical
//! decoder. This one hands out memory from the top of the heap and takes
//! back only the last block: freeing it, shrinking it, or growing it in
//! place (the common case of one `Vec` or `String` being built). Other
//! freed blocks stay unused until the instance ends, which bounds the
//! waste by the sum of a vector's earlier capacities (under twice its
//! final size).
//!
//! It is deterministic like everything else in a decoder: the same calls
//! give the same addresses and the same `memory.grow` requests on every
//! engine.

#![allow(unsafe_code)] // an allocator is unsafe by contract

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::cell::Cell;

const PAGE: usize = 65536;
/// The most pages one growth asks for beyond what is needed, so that a
/// run of small allocations does not call `memory.grow` for each page.
const MAX_AHEAD: usize = 16;

/// Bump allocation from the end of the memory the module starts with.
pub struct Bump {
    /// First free byte, or 0 before the first allocation.
    top: Cell<usize>,
    /// End of the memory (a multiple of the page size).
    end: Cell<usize>,
}

// SAFETY: decoder modules have no threads (no shared memory, no atomics
// in the ABI), so the cells are never touched concurrently.
unsafe impl Sync for Bump {}

impl Bump {
    /// An allocator that starts at the first allocation.
    pub const fn new() -> Self {
        Bump {
            top: Cell::new(0),
            end: Cell::new(0),
        }
    }

    /// Makes `[.., new_top)` addressable, growing memory if needed.
    fn reserve(&self, new_top: usize) -> bool {
        let end = self.end.get();
        if new_top <= end {
            return true;
        }
        let needed = (new_top - end).div_ceil(PAGE);
        let ahead = (end / PAGE).min(MAX_AHEAD);
        // Ask for room ahead first; if the memory cap refuses, only what
        // is needed, so the cap is reached exactly where it would be.
        for pages in [needed + ahead, needed] {
            if wasm32::memory_grow(0, pages) != usize::MAX {
                self.end.set(end + pages * PAGE);
                return true;
            }
        }
        false
    }

    fn top(&self) -> usize {
        if self.top.get() == 0 {
            let start = wasm32::memory_size(0) * PAGE;
            self.top.set(start);
            self.end.set(start);
        }
        self.top.get()
    }
}

impl Default for Bump {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: blocks are disjoint ranges of addressable memory aligned as
// asked: `top` only moves past a block when it is handed out, and moves
// back only over the last block, when that block is freed or shrunk.
unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let top = self.top();
        let Some(start) = top.checked_next_multiple_of(layout.align()) else {
            return core::ptr::null_mut();
        };
        let Some(new_top) = start.checked_add(layout.size()) else {
            return core::ptr::null_mut();
        };
        if !self.reserve(new_top) {
            return core::ptr::null_mut();
        }
        self.top.set(new_top);
        start as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ptr as usize + layout.size() == self.top.get() {
            self.top.set(ptr as usize);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let start = ptr as usize;
        if start + layout.size() == self.top.get() {
            // The last block grows or shrinks where it is.
            let Some(new_top) = start.checked_add(new_size) else {
                return core::ptr::null_mut();
            };
            if !self.reserve(new_top) {
                return core::ptr::null_mut();
            }
            self.top.set(new_top);
            return ptr;
        }
        if new_size <= layout.size() {
            return ptr;
        }
        // SAFETY: the caller guarantees `layout.align()` is valid and
        // `new_size`, rounded to it, does not overflow.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: as for `alloc`; the blocks are disjoint.
        unsafe {
            let new = self.alloc(new_layout);
            if !new.is_null() {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size());
            }
            new
        }
    }
}
