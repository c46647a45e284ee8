//! Reading Legation archives: open from any random-access source, unlock
//! with a passphrase or identity, list and find records in the paged
//! catalog, read records whole, streamed or by byte range, and verify at
//! the fixity and content levels; rebuild a damaged copy from another
//! copy without a key ([`repair`]).
//!
//! Opening reads the end records, the central directory and the manifest;
//! unlocking reads the catalog index; finding a record reads one catalog
//! page; reading a record reads its chunks alone.
//!
//! # Example
//!
//! Open an archive held in memory, audit it without a key as a host
//! would, then unlock it with a recipient's key, list its records and
//! read one back, checked against its BLAKE3. (The hidden first lines
//! write the archive with `legation_format`'s writer.)
//!
//! ```
//! use legation_format::keys::Identity;
//! use legation_reader::source::MemSource;
//! use legation_reader::{Archive, Key, Level, Signer};
//! # use legation_format::keys::IssuerKey;
//! # use legation_format::writer::{ArchiveWriter, RecordMeta, RecordSource, WriterOptions};
//! # use rand_chacha::rand_core::SeedableRng;
//! #
//! # fn main() -> legation_reader::Result<()> {
//! # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
//! # let issuer = IssuerKey::generate(&mut rng);
//! # let issuer_public = issuer.public();
//! # let identity = Identity::generate(&mut rng);
//! # let opts = WriterOptions {
//! #     created: 1_767_225_600,
//! #     issuer: Some(issuer),
//! #     recipients: vec![identity.public()],
//! #     passphrases: vec![],
//! #     embed_spec: true,
//! #     viewer: None,
//! # };
//! # let mut writer = ArchiveWriter::new(std::io::Cursor::new(Vec::new()), opts, rng)?;
//! # for (path, bytes) in [
//! #     ("acts/constitution.txt", &b"Article 1. The state is a democratic republic.\n"[..]),
//! #     ("registers/population.csv", &b"id,name\n1,Ada Lovelace\n"[..]),
//! # ] {
//! #     let meta = RecordMeta { path: path.into(), media_type: "text/plain".into(), ..Default::default() };
//! #     writer.add_record(meta, RecordSource::Bytes(bytes))?;
//! # }
//! # let bytes: Vec<u8> = writer.finish()?.into_inner();
//! # let secret = *identity.secret();
//! // `bytes` holds an archive of two records, signed by the issuer whose
//! // public key is `issuer_public` and encrypted for the X25519 key
//! // `secret`. Any `ReadAt` will do: a file, an object store, memory.
//! let archive = Archive::open(MemSource::new(bytes, "embassy.lgn"))?;
//!
//! // Fixity, with no key: the container, every entry's BLAKE3 and the
//! // issuer's signature, here pinned to the key we expect.
//! let report = archive.verify_fixity(Some(&issuer_public), &mut |_done, _total| true);
//! assert!(report.ok() && report.level == Level::Fixity);
//! assert!(matches!(
//!     archive.check_signature(Some(&issuer_public))?,
//!     Signer::Valid { .. }
//! ));
//!
//! // Unlock with the recipient's key (a passphrase works the same way,
//! // through `Key::Passphrase`), then list and read.
//! let unlocked = archive.unlock(&[Key::Identity(Identity::from_bytes(secret))])?;
//! let records = unlocked.list(0, 100)?;
//! let paths: Vec<&str> = records.iter().map(|r| r.path.as_str()).collect();
//! assert_eq!(paths, ["acts/constitution.txt", "registers/population.csv"]);
//! let record = unlocked.find("registers/population.csv")?;
//! let data = unlocked.read_record(&record, 1 << 20)?;
//! assert_eq!(data, b"id,name\n1,Ada Lovelace\n");
//!
//! // Content, with the key: also every chunk's tag and record's hash.
//! let report = unlocked.verify_content(Some(&issuer_public), &mut |_, _| true);
//! assert!(report.ok() && report.records_checked == 2);
//! # Ok(())
//! # }
//! ```

mod archive;
pub mod decode;
mod error;
#[cfg(all(feature = "wasmtime", not(target_arch = "wasm32")))]
pub mod isolated;
mod quorum;
pub mod repair;
pub mod source;
mod unlocked;
mod v2;
pub mod verify;
#[cfg(feature = "wasmi")]
pub mod wasmi_engine;
#[cfg(all(feature = "wasmtime", not(target_arch = "wasm32")))]
pub mod wasmtime_engine;

pub use archive::{Archive, Signer};
pub use error::{Error, ErrorKind, Pin, Result};
pub use unlocked::{decrypt_batch, Key, Unlocked};
/// The event log (format 2.1, SPEC §36): reading it with a key.
pub use v2::events;
/// Generations of a series (SPEC §33): finding, checking and reading them.
pub use v2::series;
/// The issuer's handovers and revocations (SPEC §37) a reader applies to a
/// series.
pub use v2::succession;
pub use verify::{Level, Problem, Report, Sample};
