//! Reading Legation archives: open from any random-access source, unlock
//! with a passphrase or identity, list and find records in the paged
//! catalog, read records whole, streamed or by byte range, and verify at
//! the fixity and content levels; rebuild a damaged copy from another
//! copy without a key ([`repair`]).
//!
//! Opening reads the end records, the central directory and the manifest;
//! unlocking reads the catalog index; finding a record reads one catalog
//! page; reading a record reads its chunks alone.

mod archive;
pub mod decode;
mod error;
#[cfg(all(feature = "wasmtime", not(target_arch = "wasm32")))]
pub mod isolated;
pub mod repair;
pub mod source;
mod unlocked;
pub mod verify;
#[cfg(feature = "wasmi")]
pub mod wasmi_engine;
#[cfg(all(feature = "wasmtime", not(target_arch = "wasm32")))]
pub mod wasmtime_engine;

pub use archive::{Archive, Signer};
pub use error::{Error, ErrorKind, Result};
pub use unlocked::{decrypt_batch, Key, Unlocked};
pub use verify::{Level, Problem, Report, Sample};
