//! The Legation archive format.
//!
//! This crate is the format as `SPEC.md` describes it: the canonical ZIP
//! container ([`container`]), the public [`manifest`], the encrypted
//! [`catalog`], chunked record encryption and key slots ([`crypto`]), key
//! files ([`keys`]) and the [`writer`] that produces archives, with
//! [`pack`] walking a folder into a writer. It knows nothing about Wasm
//! engines or user interfaces and builds for `wasm32-unknown-unknown`.

pub mod catalog;
pub mod container;
pub mod crypto;
mod error;
pub mod gcm;
pub mod hex;
pub mod keys;
pub mod manifest;
pub mod media;
pub mod pack;
pub mod recovery;
pub mod time;
pub mod writer;

pub use error::{Error, Result};

/// The text of the specification this crate implements; archives carry it
/// as the entry [`SPEC_ENTRY`].
pub const SPEC_MD: &str = include_str!("../SPEC.md");

/// The newest format version (`major.minor`) this crate reads and writes.
/// 1.1 added the optional embedded viewer ([`VIEWER_ENTRY`]); 1.2 the
/// recovery data ([`recovery`]: the manifest's `recovery` member and the
/// catalog's parity entries), which this writer always writes; 1.3 lets
/// decoder modules use WebAssembly's vector instructions. A manifest says
/// the lowest version that describes its archive: `"1.3"` if a decoder
/// it holds uses vector instructions, else `"1.2"`.
pub const FORMAT_VERSION: &str = "1.3";
/// The version of an archive whose decoders use no vector instructions.
const VERSION_WITHOUT_VECTORS: &str = "1.2";
/// Major format version this crate reads; another major is refused.
pub const FORMAT_MAJOR: u32 = 1;

/// Media type stored in the first entry, [`MIMETYPE_ENTRY`].
pub const MEDIA_TYPE: &str = "application/vnd.legation.archive+zip";

/// Name of the first entry, holding [`MEDIA_TYPE`] so that tools can tell a
/// Legation archive by its first bytes.
pub const MIMETYPE_ENTRY: &str = "mimetype";
/// Name of the entry holding a copy of `SPEC.md`.
pub const SPEC_ENTRY: &str = "SPEC.md";
/// Name of the plain entry holding the one-file browser viewer (format
/// 1.1, optional).
pub const VIEWER_ENTRY: &str = "viewer.html";
/// Largest embedded viewer the writer accepts.
pub const VIEWER_MAX: usize = 64 << 20;
/// Name of the public manifest entry.
pub const MANIFEST_ENTRY: &str = "manifest.json";
/// Name of the entry holding the issuer's signature over the manifest.
pub const SIGNATURE_ENTRY: &str = "manifest.sig";
/// Name of the encrypted catalog index entry.
pub const CATALOG_INDEX_ENTRY: &str = "c/index";
/// Prefix of encrypted catalog page entries (`c/` and eight hex digits).
pub const CATALOG_PAGE_PREFIX: &str = "c/";
/// Prefix of encrypted record entries (`r/` and sixteen hex digits).
pub const RECORD_PREFIX: &str = "r/";
/// Records per catalog page.
pub const PAGE_SIZE: usize = 512;

/// Name of the catalog page entry with the given number.
pub fn catalog_page_entry(page: u64) -> String {
    format!("{CATALOG_PAGE_PREFIX}{page:08x}")
}
