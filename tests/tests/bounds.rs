//! Every test vector, hostile or not, is handled within fixed bounds: the
//! bytes the reader reads from the archive and the heap it allocates, at
//! every stage the vector reaches (open, fixity, unlock, content, render).
//! One test in this binary, so that the counting allocator sees only it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator and only counts sizes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = NOW.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.dealloc(ptr, layout) };
        NOW.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract is passed on unchanged.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let now = NOW.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size
                    - layout.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                NOW.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes read, summed over the stages `check_counting` runs. Each level
/// includes the ones below it (`verify_content` runs fixity first,
/// `verify_render` runs content first), and the vector runs fixity, then
/// content, then render, so a good vector has the fixity pass read three
/// times, the content pass twice and the render pass once. By SPEC §31
/// (and §16 for 1.x):
///
/// - fixity (keyless audit row): every entry once, `F - CD - Z`, plus the
///   entry table and `outboard` again (2.0), so at most the file once
///   plus a few KiB;
/// - the content pass (content verification row, §30.4): each page and
///   each bundle (1.x: each record entry) once, in order: at most the
///   file once;
/// - the render pass: the pages again, and each record with a recorded
///   view and its decoder once ('read one record' row): at most the file
///   once in these vectors;
/// - opening and unlocking ('open' and 'unlock' rows): the tail entries,
///   the central directory and the index, a few KiB.
///
/// So `3 + 2 + 1 = 6` times the archive plus 64 KiB for the headers,
/// tables and second reads of `entries` and `outboard`.
/// Measured: `v2-good-large-record`, almost all one bundle whose records
/// render nothing, reads 4.93 times (3 fixity passes of 141,467 bytes,
/// 2 content passes of 135,435, a render pass of 219); `v2-good-two-pages`
/// 4.12 times; no other vector above 3.9 times.
fn read_bound(len: u64) -> u64 {
    6 * len + (64 << 10)
}

/// Heap beyond what was live before the vector: the archive copied into
/// memory, a record and its plaintext, and a compiled decoder (the largest
/// seen is 3 times the archive; ZIP bombs stay under 110 KB).
fn heap_bound(len: usize) -> usize {
    4 * len + (4 << 20)
}

#[test]
fn every_vector_stays_within_read_and_heap_bounds() {
    let host = legation_reader::decode::Host::native();
    let mut report = Vec::new();
    let mut over = Vec::new();
    for v in legation_tests::vectors::all() {
        let len = v.bytes.len();
        let base = NOW.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let read = v
            .check_counting(&host)
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        let heap = PEAK.load(Ordering::Relaxed) - base;
        report.push(format!(
            "{:<40} {:>9} bytes  read {:>9} ({:.2}x)  heap {:>10}",
            v.name,
            len,
            read,
            read as f64 / len as f64,
            heap
        ));
        if read > read_bound(len as u64) || heap > heap_bound(len) {
            over.push(v.name.clone());
        }
    }
    println!("{}", report.join("\n"));
    assert!(
        over.is_empty(),
        "over the bounds: {over:?}\n{}",
        report.join("\n")
    );
}
