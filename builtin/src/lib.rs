//! The built-in decoders as WebAssembly modules, built from the crates in
//! `decoders/` for `wasm32-unknown-unknown` when this crate is built (see
//! `build.rs`). `decoders/decoders.txt` names them, the constant each
//! becomes and which are in [`ALL`]. The modules here are not metered;
//! `legation pack` meters them with the archive's limits before storing
//! them.

include!(concat!(env!("OUT_DIR"), "/decoders.rs"));
