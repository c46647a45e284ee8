//! The `outboard` entry (SPEC 2.0 §25.2): the BLAKE3 chaining values of
//! every large entry's 64 KiB pieces, so that a keyless sampled audit
//! checks one piece of an entry against the entry table's BLAKE3 without
//! reading the whole entry.
//!
//! BLAKE3 hashes its input as a left-complete binary tree of 1024-byte
//! chunks. A piece of [`PIECE`] bytes (64 chunks) starting at a multiple of
//! [`PIECE`] is one whole subtree of that tree, so the tree above the
//! pieces splits exactly as RFC 6962 splits a list of leaves (the left
//! part holds the largest power of two of pieces below their number).
//! `outboard` holds, for every entry before it in container order whose
//! stored size is over [`PIECE`], the chaining value of each of its
//! `ceil(size / PIECE)` pieces, 32 bytes each, back to back; nothing else.
//! Merging one entry's values gives its BLAKE3.

use blake3::hazmat::{self, ChainingValue, HasherExt, Mode};

/// The entry's name.
pub const OUTBOARD_ENTRY: &str = "outboard";
/// Bytes of an entry a piece covers (64 BLAKE3 chunks).
pub const PIECE: u64 = 65536;
/// Bytes of one value (a BLAKE3 chaining value).
pub const VALUE: u64 = 32;

/// The pieces a sampled audit may draw in an entry of `size` bytes: one
/// for an entry of at most [`PIECE`] bytes (an empty one too), else
/// `ceil(size / PIECE)`.
pub fn pieces(size: u64) -> u64 {
    size.div_ceil(PIECE).max(1)
}

/// The values `outboard` holds for an entry of `size` bytes: none for an
/// entry of at most [`PIECE`] bytes (its BLAKE3 is checked whole), else
/// one a piece.
pub fn values(size: u64) -> u64 {
    if size > PIECE {
        size.div_ceil(PIECE)
    } else {
        0
    }
}

/// The chaining value of piece `index` of an entry that has more than one
/// piece: `data` is the piece's bytes (all [`PIECE`] of them, or the
/// last piece's rest, never empty).
pub fn piece_value(index: u64, data: &[u8]) -> ChainingValue {
    debug_assert!(!data.is_empty() && data.len() as u64 <= PIECE);
    let mut h = blake3::Hasher::new();
    h.set_input_offset(index * PIECE);
    h.update(data);
    h.finalize_non_root()
}

/// Merges the values of an entry's pieces, given in order, into the
/// entry's BLAKE3, holding `O(log n)` values: subtrees are merged only
/// when the next value shows they are complete, so that the last merges
/// (the right edge, the root last) happen in [`Merger::root`].
#[derive(Debug, Default, Clone)]
pub struct Merger {
    stack: Vec<ChainingValue>,
    count: u64,
}

impl Merger {
    /// An empty merger.
    pub fn new() -> Self {
        Merger::default()
    }

    /// Values pushed so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Adds the next piece's value.
    pub fn push(&mut self, cv: ChainingValue) {
        // The complete subtrees before this value are one per set bit of
        // the count so far; merge down to that many.
        let keep = self.count.count_ones() as usize;
        while self.stack.len() > keep {
            let right = self.stack.pop().expect("longer than keep");
            let left = self.stack.pop().expect("longer than keep");
            self.stack
                .push(hazmat::merge_subtrees_non_root(&left, &right, Mode::Hash));
        }
        self.stack.push(cv);
        self.count += 1;
    }

    /// The BLAKE3 of the whole entry, or `None` with fewer than two values
    /// (an entry of one piece is hashed whole).
    pub fn root(&self) -> Option<[u8; 32]> {
        let mut stack = self.stack.clone();
        let mut right = stack.pop()?;
        loop {
            let left = stack.pop()?;
            if stack.is_empty() {
                return Some(*hazmat::merge_subtrees_root(&left, &right, Mode::Hash).as_bytes());
            }
            right = hazmat::merge_subtrees_non_root(&left, &right, Mode::Hash);
        }
    }
}

/// Hashes an entry's bytes as they are written, giving its BLAKE3 and,
/// for an entry over [`PIECE`] bytes, its pieces' values in order (taken
/// with [`Pieces::take_ready`] as they complete), at the cost of one
/// BLAKE3 of the bytes.
#[derive(Debug, Clone)]
pub struct Pieces {
    /// The open piece's hasher and how many bytes it holds.
    open: blake3::Hasher,
    open_len: u64,
    /// Pieces closed so far.
    index: u64,
    merger: Merger,
    ready: Vec<ChainingValue>,
}

impl Default for Pieces {
    fn default() -> Self {
        Pieces::new()
    }
}

impl Pieces {
    /// Starts an entry.
    pub fn new() -> Self {
        Pieces {
            open: blake3::Hasher::new(),
            open_len: 0,
            index: 0,
            merger: Merger::new(),
            ready: Vec::new(),
        }
    }

    /// Adds the entry's next bytes.
    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.open_len == PIECE {
                // More bytes follow a full piece: it is not the root.
                self.close_open();
            }
            let n = ((PIECE - self.open_len) as usize).min(data.len());
            self.open.update(&data[..n]);
            self.open_len += n as u64;
            data = &data[n..];
        }
    }

    fn close_open(&mut self) {
        let cv = self.open.finalize_non_root();
        self.merger.push(cv);
        self.ready.push(cv);
        self.index += 1;
        self.open = blake3::Hasher::new();
        self.open.set_input_offset(self.index * PIECE);
        self.open_len = 0;
    }

    /// The values completed since the last call, in order.
    pub fn take_ready(&mut self) -> Vec<ChainingValue> {
        std::mem::take(&mut self.ready)
    }

    /// Ends the entry: its BLAKE3, and the values not yet taken (the last
    /// piece's, for an entry over [`PIECE`] bytes).
    pub fn finish(mut self) -> ([u8; 32], Vec<ChainingValue>) {
        if self.index == 0 {
            return (*self.open.finalize().as_bytes(), self.take_ready());
        }
        let cv = self.open.finalize_non_root();
        self.merger.push(cv);
        self.ready.push(cv);
        let root = self.merger.root().expect("two pieces or more");
        (root, self.ready)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 + i / 977) as u8).collect()
    }

    #[test]
    fn pieces_give_blake3_at_every_boundary() {
        let p = PIECE as usize;
        for len in [
            0,
            1,
            1024,
            p - 1,
            p,
            p + 1,
            2 * p,
            2 * p + 7,
            3 * p,
            5 * p - 1,
            8 * p,
            9 * p + 1,
            13 * p + 4096,
        ] {
            let d = data(len);
            // Fed in uneven slices.
            let mut pc = Pieces::new();
            let mut all = Vec::new();
            for part in d.chunks(40_000) {
                pc.update(part);
                all.extend(pc.take_ready());
            }
            let (root, rest) = pc.finish();
            all.extend(rest);
            assert_eq!(root, *blake3::hash(&d).as_bytes(), "len {len}");
            assert_eq!(all.len() as u64, values(len as u64), "len {len}");
            assert_eq!(pieces(len as u64), (len as u64).div_ceil(PIECE).max(1));
            // Each value is its piece's, and they merge to the hash.
            let mut m = Merger::new();
            for (i, cv) in all.iter().enumerate() {
                let piece = &d[i * p..((i + 1) * p).min(len)];
                assert_eq!(piece_value(i as u64, piece), *cv, "len {len} piece {i}");
                m.push(*cv);
            }
            match len as u64 > PIECE {
                true => assert_eq!(m.root(), Some(root), "len {len}"),
                false => assert_eq!(m.root(), None),
            }
        }
    }

    #[test]
    fn a_changed_or_moved_value_does_not_merge_to_the_hash() {
        let d = data(5 * PIECE as usize + 3);
        let mut pc = Pieces::new();
        pc.update(&d);
        let (root, cvs) = pc.finish();
        let merged = |v: &[ChainingValue]| {
            let mut m = Merger::new();
            v.iter().for_each(|c| m.push(*c));
            m.root()
        };
        assert_eq!(merged(&cvs), Some(root));
        let mut bad = cvs.clone();
        bad[3][0] ^= 1;
        assert_ne!(merged(&bad), Some(root));
        let mut swapped = cvs.clone();
        swapped.swap(1, 2);
        assert_ne!(merged(&swapped), Some(root));
        assert_ne!(merged(&cvs[..5]), Some(root));
    }

    /// Known answer: the values of 128 KiB + 1 bytes of the pattern
    /// `data`, pinned so that another implementation can check its piece
    /// offsets and merging.
    #[test]
    fn known_answer() {
        let d = data(2 * PIECE as usize + 1);
        let mut pc = Pieces::new();
        pc.update(&d);
        let (root, cvs) = pc.finish();
        let hex: Vec<String> = cvs.iter().map(|v| crate::hex::encode(v)).collect();
        assert_eq!(root, *blake3::hash(&d).as_bytes());
        assert_eq!(
            hex,
            [
                "ccd3ed568f016a64dd8566744032c807c008cfb3ea056784cb3db8642bb502bd",
                "a8d656192ee1f029bc83c727088b3993ea104ef6919e3accff5ce3f93f541e4c",
                "33e47193cf4af530cf96bc823acd0cdf2c060b31c68fd55f0646d63a39d62e3c",
            ]
        );
        assert_eq!(
            crate::hex::encode(&root),
            "5fe19e417cac737d3eb0925374fff5e7c0c26c7bce69d49d03d8a53d684e186f"
        );
    }
}
