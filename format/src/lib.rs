//! The Legation archive format.
//!
//! This crate is the format as `SPEC.md` describes it: the canonical ZIP
//! container ([`container`]), the public [`manifest`], the encrypted
//! [`catalog`], chunked record encryption and key slots ([`crypto`]), key
//! files ([`keys`]) and the [`writer`] that produces archives, with
//! [`pack`] walking a folder into a writer. It knows nothing about Wasm
//! engines or user interfaces and builds for `wasm32-unknown-unknown`.
//!
//! # Example
//!
//! Write a signed archive of one record in memory, for one recipient, then
//! find its public manifest through the container and read it back.
//!
//! ```
//! use std::io::Cursor;
//!
//! use legation_format::container;
//! use legation_format::keys::{Identity, IssuerKey};
//! use legation_format::manifest::{self, Manifest};
//! use legation_format::writer::{ArchiveWriter, RecordMeta, RecordSource, WriterOptions};
//! use rand_core::SeedableRng;
//!
//! # fn main() -> legation_format::Result<()> {
//! // A seeded generator keeps the example reproducible; real archives
//! // take their keys and nonces from the operating system (`OsRng`).
//! let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
//! let issuer = IssuerKey::generate(&mut rng);
//! let issuer_public = issuer.public();
//! let reader_key = Identity::generate(&mut rng);
//! let opts = WriterOptions {
//!     created: 1_767_225_600, // 2026-01-01T00:00:00Z
//!     issuer: Some(issuer),
//!     // An X25519 recipient, not a passphrase: no Argon2id to derive.
//!     recipients: vec![reader_key.public()],
//!     passphrases: vec![],
//!     embed_spec: true,
//!     viewer: None,
//! };
//! let mut writer = ArchiveWriter::new(Cursor::new(Vec::new()), opts, rng)?;
//! let meta = RecordMeta {
//!     path: "registers/population.csv".into(),
//!     media_type: "text/csv".into(),
//!     ..RecordMeta::default()
//! };
//! let record = b"id,name\n1,Ada Lovelace\n";
//! writer.add_record(meta, RecordSource::Bytes(record))?;
//! let archive: Vec<u8> = writer.finish()?.into_inner();
//!
//! // Any ZIP reader sees the container; here, the format's own parsers:
//! // the end records, the central directory, then the manifest entry.
//! let tail = &archive[archive.len().saturating_sub(container::TAIL_LEN)..];
//! let dir = container::parse_end(tail, archive.len() as u64)?;
//! let cd = &archive[dir.offset as usize..(dir.offset + dir.size) as usize];
//! let entries = container::parse_directory(cd, &dir)?;
//! assert_eq!(entries[0].name, legation_format::MIMETYPE_ENTRY);
//! let entry = entries
//!     .iter()
//!     .find(|e| e.name == legation_format::MANIFEST_ENTRY)
//!     .expect("every archive has a manifest");
//! let data = &archive[entry.data_offset() as usize..entry.end() as usize];
//! let manifest = Manifest::parse(data)?;
//!
//! assert_eq!(manifest.format, "legation");
//! assert_eq!(manifest.issuer.as_ref().unwrap().public_key, issuer_public);
//! assert_eq!(manifest.key_slots.len(), 1);
//! // The record's path and bytes are encrypted: the manifest lists only an
//! // opaque entry (`r/` and 16 hex digits) with its size and BLAKE3.
//! let opaque = |e: &manifest::ManifestEntry| e.name.starts_with(legation_format::RECORD_PREFIX);
//! assert_eq!(manifest.entries.iter().filter(|e| opaque(e)).count(), 1);
//! let found = |needle: &[u8]| archive.windows(needle.len()).any(|w| w == needle);
//! assert!(!found(record) && !found(b"registers/population.csv"));
//!
//! // The issuer's signature over the manifest's bytes, checked without a key.
//! let sig = entries
//!     .iter()
//!     .find(|e| e.name == legation_format::SIGNATURE_ENTRY)
//!     .expect("a signed archive has a signature");
//! let sig = manifest::parse_signature(&archive[sig.data_offset() as usize..sig.end() as usize])?;
//! assert!(legation_format::crypto::verify_signature(&issuer_public, data, &sig));
//! # Ok(())
//! # }
//! ```

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
pub mod pq;
pub mod pqsig;
pub mod quorum;
pub mod recovery;
pub mod time;
pub mod v2;
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
