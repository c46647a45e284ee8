//! The built-in decoders as WebAssembly modules, built from the crates in
//! `decoders/` for `wasm32-unknown-unknown` when this crate is built (see
//! `build.rs`). The modules here are not metered; `legation pack` meters
//! them with the archive's limits before storing them.

include!(concat!(env!("OUT_DIR"), "/decoders.rs"));

/// Every built-in module, fallback (`RAW`) last.
pub const ALL: [&[u8]; 6] = [TEXT, CSV, JSON, PNG, TIFF, RAW];
