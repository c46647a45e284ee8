//! A cache of an archive's bytes in aligned blocks, so that no byte range
//! is fetched twice: what one read fetched serves every later read of the
//! same bytes, and what the page fetched is handed to the workers with
//! each request (and what the keys worker fetched while unlocking comes
//! back with its answer), so that the page and the three workers together
//! fetch each block once.
//!
//! The end of a URL is read in two requests: the last [`END`] bytes, then,
//! once the end records say where the central directory starts, from
//! [`BEFORE_DIRECTORY`] before it (`crate::source`). A miss fetches every block from the first missing to the last missing
//! one in one request; a miss that continues where the previous fetch
//! ended (a sequential pass: the record list reading catalog page after
//! catalog page) fetches twice as much as the previous one, up to
//! [`READAHEAD_MAX`]. The first blocks stored (the end of the archive,
//! its first block, the public entries and the index: what every worker
//! needs to open and unlock) are kept; the others are dropped oldest first
//! past [`CACHE_MAX`]. The page and the reader's worker also hand each
//! other the blocks each fetched since their last message
//! ([`Blocks::take_fresh`]), so that neither fetches what the other has.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

/// Bytes in a block.
pub const BLOCK: u64 = 16 << 10;
/// Bytes read from the end of an archive on its first read: the end
/// records, the central directory and the public entries of any archive
/// up to about ten million records, in one request.
pub const TAIL: u64 = 512 << 10;
/// Bytes read from the end of a URL first (the end records and, for most
/// archives, the whole central directory).
pub const END: u64 = 64 << 10;
/// Bytes read before the central directory with it: `public.json`, `head`
/// and `signatures`, and the entry table of an archive of ten million
/// records (240 KB), which checking a decoder reads.
pub const BEFORE_DIRECTORY: u64 = 256 << 10;
/// Largest fetch a sequential pass grows to.
pub const READAHEAD_MAX: u64 = 4 << 20;
/// Bytes of blocks kept for good (the first stored) and handed to workers.
pub const KEPT_MAX: u64 = 2 << 20;
/// Bytes of blocks cached in all.
pub const CACHE_MAX: u64 = 32 << 20;
/// Reads at least this large bypass the cache (whole-archive checks).
pub const BYPASS: usize = 1 << 20;

/// The cached blocks of one archive of `len` bytes.
#[derive(Debug, Default)]
pub struct Blocks {
    len: u64,
    /// Block number to (bytes, order stored).
    blocks: HashMap<u64, (Vec<u8>, u64)>,
    /// Order stored to block number, for the blocks not kept for good.
    dropping: BTreeMap<u64, u64>,
    stored: u64,
    kept: u64,
    cached: u64,
    /// Where the last fetch ended and how long it was.
    last: Option<(u64, u64)>,
    /// Blocks fetched here since [`Blocks::take_fresh`] last ran (at most
    /// [`FRESH_MAX`]), which the other side of the reader's lane lacks.
    fresh: Vec<u64>,
}

/// Most blocks remembered as fresh: as many as the cache holds.
pub const FRESH_MAX: usize = (CACHE_MAX / BLOCK) as usize;

impl Blocks {
    /// An empty cache of an archive of `len` bytes.
    pub fn new(len: u64) -> Self {
        Blocks {
            len,
            ..Default::default()
        }
    }

    /// Whether nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Bytes cached.
    pub fn cached(&self) -> u64 {
        self.cached
    }

    /// Whether the archive's last block is cached.
    pub fn has_end(&self) -> bool {
        self.len > 0 && self.blocks.contains_key(&((self.len - 1) / BLOCK))
    }

    /// The first block boundary at or before `at`.
    pub fn align(at: u64) -> u64 {
        at / BLOCK * BLOCK
    }

    /// The bytes of block `n` (the last block of the archive is shorter).
    fn block_len(&self, n: u64) -> u64 {
        (self.len - n * BLOCK).min(BLOCK)
    }

    /// Copies `buf.len()` bytes at `offset` into `buf` if all are cached.
    pub fn get(&self, offset: u64, buf: &mut [u8]) -> bool {
        if self.fetch_for(offset, buf.len()).is_some() {
            return false;
        }
        let mut at = offset;
        let mut done = 0;
        while done < buf.len() {
            let n = at / BLOCK;
            let Some((b, _)) = self.blocks.get(&n) else {
                return false;
            };
            let from = (at - n * BLOCK) as usize;
            let take = (b.len() - from).min(buf.len() - done);
            buf[done..done + take].copy_from_slice(&b[from..from + take]);
            done += take;
            at += take as u64;
        }
        true
    }

    /// The byte range to fetch so that `count` bytes at `offset` are
    /// cached, or `None` if they are. `offset + count` must be at most the
    /// archive's length.
    pub fn fetch_for(&self, offset: u64, count: usize) -> Option<Range<u64>> {
        if count == 0 {
            return None;
        }
        let first = offset / BLOCK;
        let last = (offset + count as u64 - 1) / BLOCK;
        let missing_first = (first..=last).find(|n| !self.blocks.contains_key(n))?;
        let missing_last = (first..=last)
            .rev()
            .find(|n| !self.blocks.contains_key(n))
            .unwrap_or(missing_first);
        let mut start = missing_first * BLOCK;
        let mut end = ((missing_last + 1) * BLOCK).min(self.len);
        if !self.has_end() {
            // The first read near the end: the whole tail with it.
            let tail = (self.len.saturating_sub(TAIL) / BLOCK) * BLOCK;
            if start >= tail {
                start = tail;
                end = self.len;
            }
        } else if let Some((last_end, last_len)) = self.last {
            // A sequential pass: read ahead.
            if start == last_end.div_ceil(BLOCK) * BLOCK || start == last_end {
                let want = (last_len * 2).min(READAHEAD_MAX);
                if end - start < want {
                    end = (start + want).min(self.len);
                    // Stop before blocks already held.
                    let held = (missing_last + 1..end.div_ceil(BLOCK))
                        .find(|n| self.blocks.contains_key(n));
                    if let Some(h) = held {
                        end = h * BLOCK;
                    }
                }
            }
        }
        Some(start..end)
    }

    /// Stores `bytes`, fetched at `start` (a block boundary), as blocks.
    /// A final partial block is stored only at the archive's end.
    pub fn put(&mut self, start: u64, bytes: &[u8], fetched: bool) {
        if !start.is_multiple_of(BLOCK) {
            return;
        }
        if fetched {
            self.last = Some((start + bytes.len() as u64, bytes.len() as u64));
        }
        for (i, chunk) in bytes.chunks(BLOCK as usize).enumerate() {
            let n = start / BLOCK + i as u64;
            if n * BLOCK >= self.len || chunk.len() as u64 != self.block_len(n) {
                continue;
            }
            if self.blocks.contains_key(&n) {
                continue;
            }
            let order = self.stored;
            self.stored += 1;
            let size = chunk.len() as u64;
            if self.kept + size <= KEPT_MAX {
                self.kept += size;
            } else {
                self.dropping.insert(order, n);
            }
            self.cached += size;
            self.blocks.insert(n, (chunk.to_vec(), order));
            if fetched && self.fresh.len() < FRESH_MAX {
                self.fresh.push(n);
            }
        }
        while self.cached > CACHE_MAX {
            let Some((_, n)) = self.dropping.pop_first() else {
                break;
            };
            if let Some((b, _)) = self.blocks.remove(&n) {
                self.cached -= b.len() as u64;
            }
        }
    }

    /// The blocks fetched here (not handed in) since the last call and
    /// still cached, in the order stored: (offset, bytes). Each is given
    /// out once.
    pub fn take_fresh(&mut self) -> Vec<(u64, &[u8])> {
        let fresh = std::mem::take(&mut self.fresh);
        fresh
            .into_iter()
            .filter_map(|n| self.blocks.get(&n).map(|(b, _)| (n * BLOCK, b.as_slice())))
            .collect()
    }

    /// The blocks kept for good, in the order stored: (offset, bytes).
    pub fn kept(&self) -> Vec<(u64, &[u8])> {
        let mut v: Vec<_> = self
            .blocks
            .iter()
            .filter(|(_, (_, o))| !self.dropping.contains_key(o))
            .map(|(n, (b, o))| (*o, *n * BLOCK, b.as_slice()))
            .collect();
        v.sort_unstable_by_key(|(o, ..)| *o);
        v.into_iter().map(|(_, at, b)| (at, b)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::{wasm_bindgen_test as test, wasm_bindgen_test_configure};

    wasm_bindgen_test_configure!(run_in_browser);

    fn bytes(len: u64) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    /// Reads `count` at `offset` through the cache, fetching from `data`;
    /// returns the fetched ranges.
    fn read(c: &mut Blocks, data: &[u8], offset: u64, count: usize) -> Vec<Range<u64>> {
        let mut fetched = Vec::new();
        let mut buf = vec![0u8; count];
        while !c.get(offset, &mut buf) {
            let r = c.fetch_for(offset, count).expect("a miss names a range");
            assert!(r.start < r.end && r.end <= data.len() as u64);
            c.put(r.start, &data[r.start as usize..r.end as usize], true);
            fetched.push(r);
            assert!(fetched.len() < 3, "a read fetches once");
        }
        assert_eq!(buf, &data[offset as usize..offset as usize + count]);
        fetched
    }

    #[test]
    fn the_first_read_near_the_end_fetches_the_tail_and_nothing_twice() {
        let len = 3 * TAIL + 1234;
        let data = bytes(len);
        let mut c = Blocks::new(len);
        // The URL's length is learnt with its first block.
        c.put(0, &data[..BLOCK as usize], true);
        let f = read(&mut c, &data, len - 22, 22);
        assert_eq!(f, vec![(len - TAIL) / BLOCK * BLOCK..len]);
        // Everything in the tail is now served without a fetch.
        for (at, n) in [(len - 5000, 5000), (len - TAIL + 10, 100_000), (len - 1, 1)] {
            assert!(read(&mut c, &data, at, n).is_empty());
        }
        // A read elsewhere fetches its aligned blocks once.
        assert!(read(&mut c, &data, 40, 100).is_empty());
        let f = read(&mut c, &data, BLOCK - 10, 20);
        assert_eq!(f, vec![BLOCK..2 * BLOCK]);
        let f = read(&mut c, &data, 5 * BLOCK + 10, 20);
        assert_eq!(f, vec![5 * BLOCK..6 * BLOCK]);
    }

    #[test]
    fn a_small_archive_is_read_whole_by_its_first_read() {
        let data = bytes(5000);
        let mut c = Blocks::new(5000);
        assert_eq!(read(&mut c, &data, 4900, 100), vec![0..5000]);
        assert!(read(&mut c, &data, 0, 5000).is_empty());
    }

    #[test]
    fn a_read_spanning_held_blocks_fetches_from_first_to_last_missing() {
        let len = 100 * BLOCK;
        let data = bytes(len);
        let mut c = Blocks::new(len);
        c.put(len - BLOCK, &data[(len - BLOCK) as usize..], false);
        read(&mut c, &data, 0, 10);
        read(&mut c, &data, 5 * BLOCK, 10);
        let f = read(&mut c, &data, 10, (6 * BLOCK) as usize);
        assert_eq!(f, vec![BLOCK..7 * BLOCK]);
    }

    #[test]
    fn a_sequential_pass_reads_ahead_and_stops_at_held_blocks() {
        let len = 1000 * BLOCK;
        let data = bytes(len);
        let mut c = Blocks::new(len);
        c.put(len - BLOCK, &data[(len - BLOCK) as usize..], false);
        read(&mut c, &data, 50 * BLOCK, 10);
        read(&mut c, &data, 40 * BLOCK, 10);
        // Reads of 100 KB one after another from block 0.
        let mut fetched = Vec::new();
        let mut at = 0;
        while at < 40 * BLOCK {
            fetched.extend(read(&mut c, &data, at, 100_000));
            at += 100_000;
        }
        // Fewer fetches than reads; the block held at 40 ends one.
        assert!(fetched.len() < 6, "{fetched:?}");
        assert!(fetched
            .iter()
            .all(|r| r.end <= 40 * BLOCK || r.start > 40 * BLOCK));
        let total: u64 = fetched.iter().map(|r| r.end - r.start).sum();
        assert!(total <= 40 * BLOCK + READAHEAD_MAX, "{total}");
    }

    #[test]
    fn the_first_blocks_are_kept_and_the_rest_dropped_past_the_cap() {
        let len = 4 * CACHE_MAX;
        let data = bytes(len);
        let mut c = Blocks::new(len);
        let mut at = 0;
        while at < 2 * CACHE_MAX {
            c.put(at, &data[at as usize..(at + READAHEAD_MAX) as usize], true);
            at += READAHEAD_MAX;
        }
        assert!(c.cached() <= CACHE_MAX);
        let kept = c.kept();
        assert_eq!(
            kept.iter().map(|(_, b)| b.len() as u64).sum::<u64>(),
            KEPT_MAX
        );
        assert_eq!(kept[0].0, 0);
        // Handed to another cache, they serve it.
        let mut other = Blocks::new(len);
        for (at, b) in kept {
            other.put(at, b, false);
        }
        assert!(read(&mut c, &data, 0, KEPT_MAX as usize).is_empty());
        assert!(read(&mut other, &data, 100, 1000).is_empty());
    }

    #[test]
    fn fresh_blocks_are_those_fetched_here_each_given_once() {
        let len = 100 * BLOCK;
        let data = bytes(len);
        let mut c = Blocks::new(len);
        // Handed in by another thread: not fresh.
        c.put(len - BLOCK, &data[(len - BLOCK) as usize..], false);
        assert!(c.take_fresh().is_empty());
        let f = read(&mut c, &data, 3 * BLOCK + 5, 2 * BLOCK as usize);
        assert_eq!(f, vec![3 * BLOCK..6 * BLOCK]);
        let fresh: Vec<_> = c
            .take_fresh()
            .iter()
            .map(|(at, b)| (*at, b.to_vec()))
            .collect();
        assert_eq!(
            fresh.iter().map(|(at, _)| *at).collect::<Vec<_>>(),
            vec![3 * BLOCK, 4 * BLOCK, 5 * BLOCK]
        );
        for (at, b) in &fresh {
            assert_eq!(&b[..], &data[*at as usize..(*at + BLOCK) as usize]);
        }
        assert!(c.take_fresh().is_empty(), "given out once");
        // Handed to another cache, they serve its reads without a fetch.
        let mut other = Blocks::new(len);
        other.put(len - BLOCK, &data[(len - BLOCK) as usize..], false);
        for (at, b) in &fresh {
            other.put(*at, b, false);
        }
        assert!(read(&mut other, &data, 3 * BLOCK + 5, 2 * BLOCK as usize).is_empty());
        assert!(other.take_fresh().is_empty());
    }

    #[test]
    fn unaligned_or_short_blocks_are_not_stored() {
        let len = 10 * BLOCK + 100;
        let data = bytes(len);
        let mut c = Blocks::new(len);
        c.put(5, &data[5..100], true);
        assert!(c.is_empty());
        c.put(BLOCK, &data[BLOCK as usize..(BLOCK + 100) as usize], false);
        assert!(c.is_empty());
        // The archive's last block is short.
        c.put(10 * BLOCK, &data[(10 * BLOCK) as usize..], false);
        assert_eq!(c.cached(), 100);
        assert!(read(&mut c, &data, 10 * BLOCK + 50, 50).is_empty());
    }
}
