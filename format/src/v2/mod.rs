//! Format 2.0: archives at national scale (tens of millions of records).
//!
//! A 2.0 archive keeps the 1.x container (one canonical ZIP of stored
//! entries), streams (64 KiB AES-256-GCM chunks), key slots, decoders and
//! view documents, and replaces what grew with the number of records:
//!
//! - records are stored back to back in a few large sealed **bundles**
//!   (`b/<8 hex>`, at most [`BUNDLE_TARGET`] bytes of records each unless
//!   one record is larger), not one ZIP entry each;
//! - the catalog is binary **pages** of [`PAGE_RECORDS`] records
//!   (`c/<8 hex>`, [`page`]) under a sealed **index** (`c/index`, [`index`]);
//! - the public metadata is a small **public facts** document
//!   (`public.json`, [`public`]), an **entry table** (`entries`,
//!   [`entries`]) and a signed **head** (`head`, `signatures`, [`head`]),
//!   none of which lists records;
//! - a salted two-level hash tree over the records ([`tree`]) whose root
//!   the head carries, so that one record can be proven to a party with
//!   no key and no archive ([`proof`]).
//!
//! Entry order in the file: `mimetype`, `SPEC.md`, `viewer.html` (0-1),
//! `d/<16 hex>.wasm` (decoders), `b/…` (bundles, in order), `c/…` (pages,
//! in order), `c/index`, `p/…` (parity), `outboard` (the pieces' BLAKE3
//! chaining values, [`outboard`]), `recovery`, `entries-tree` (the entry
//! table's BLAKE3 tree, [`entries::tree_bytes`]), `entries`, `public.json`, `head`, `signatures`,
//! then the central directory and end records. The last four entries and
//! the central directory are read by one tail read when opening.
//!
//! What covers each byte: `head` is covered by the signatures; `public.json`
//! and `entries` by the hashes `head` carries; every entry before `entries`
//! by its row in `entries` (size, CRC-32, BLAKE3); the ZIP headers by the
//! canonical-container check (as 1.x). `format/SPEC.md` §§ "Format 2.0" is
//! the normative text; this module is its implementation.
//!
//! Encodings shared by the binary structures: `varint` is unsigned LEB128
//! in shortest form ([`varint`]); `zigzag` maps a signed integer to an
//! unsigned one before `varint`; `str` is `varint` byte length followed by
//! UTF-8 bytes.

pub mod base64;
pub mod entries;
pub mod events;
pub mod head;
pub mod index;
pub mod outboard;
pub mod page;
pub mod proof;
pub mod public;
pub mod rekey;
pub mod series;
pub mod succession;
pub mod tree;
pub mod varint;
pub mod witness;
pub mod writer;

/// The format version a 2.0 writer writes (`public.json` `version`)
/// when the file needs nothing of 2.1 that a 2.0 reader refuses.
pub const VERSION: &str = "2.0";
/// The version of a file holding a 2.1 addition a 2.0 reader refuses: a
/// decoder of ABI 2 (SPEC §12.3) or decoders named from an earlier file
/// of its series (§33.2). An archive says the lowest version that
/// describes it (SPEC, status).
pub const VERSION_2_1: &str = "2.1";

/// The version a file says: [`VERSION_2_1`] when it stores a decoder of
/// ABI 2 or names decoders an earlier file stores, else [`VERSION`].
pub fn version_for(
    decoders: &[crate::manifest::DecoderRef],
    inherits_decoders: bool,
) -> &'static str {
    if inherits_decoders || decoders.iter().any(|d| d.abi >= 2) {
        VERSION_2_1
    } else {
        VERSION
    }
}
/// Records per catalog page (the last page holds 1 to this many).
pub const PAGE_RECORDS: usize = 4096;
/// A bundle is closed before a record would take it past this many bytes
/// of stored records (a larger record gets a bundle of its own).
pub const BUNDLE_TARGET: u64 = 256 << 20;
/// The catalog index entry.
pub const INDEX_ENTRY: &str = "c/index";
/// The entry table.
pub const ENTRIES_ENTRY: &str = "entries";
/// The public facts document.
pub const PUBLIC_ENTRY: &str = "public.json";
/// The signed head.
pub const HEAD_ENTRY: &str = "head";
/// The signatures over the head.
pub const SIGNATURES_ENTRY: &str = "signatures";

/// The entry name of bundle `n`: `b/` and 8 lowercase hex digits.
pub fn bundle_entry(n: u64) -> String {
    format!("b/{n:08x}")
}

/// The entry name of catalog page `n`: `c/` and 8 lowercase hex digits.
pub fn page_entry(n: u64) -> String {
    format!("c/{n:08x}")
}

#[cfg(test)]
mod version_tests {
    use super::*;
    use crate::manifest::{DecoderLimits, DecoderRef};

    fn decoder(abi: u32) -> DecoderRef {
        DecoderRef {
            entry: "d/0000000000000000.wasm".into(),
            name: "t".into(),
            version: "1".into(),
            abi,
            media_types: Vec::new(),
            limits: DecoderLimits {
                fuel: 1,
                max_depth: 1,
                max_memory_pages: 1,
            },
        }
    }

    #[test]
    fn a_file_says_2_1_only_for_what_a_2_0_reader_refuses() {
        assert_eq!(version_for(&[], false), "2.0");
        assert_eq!(version_for(&[decoder(1)], false), "2.0");
        assert_eq!(version_for(&[decoder(1), decoder(2)], false), "2.1");
        assert_eq!(version_for(&[decoder(1)], true), "2.1");
    }
}
