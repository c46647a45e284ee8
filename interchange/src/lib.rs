//! Archivists' interchange (issue 24): what other preservation tools
//! produce and expect, without touching the archive's bytes.
//!
//! - [`bagit`]: BagIt bags (RFC 8493) read, validated (each failing file
//!   named) and written from a stream of records, payloads never held in
//!   memory.
//! - [`pronom`]: format identification by PRONOM identifiers (PUIDs) from
//!   the DROID signatures PRONOM publishes (`pronom/signatures.tsv`, taken
//!   from opf-fido; see `pronom/README.md`), matched by our own bounded
//!   matchers over a fixed window at each end of a record.
//! - [`premis`]: PREMIS 3 XML for objects, events and agents, written as
//!   a stream in the schema's order.
//!
//! Pure Rust, no I/O but the bag folder's; builds for wasm32.

pub mod bagit;
pub mod premis;
pub mod pronom;
