//! The end-to-end tests that can share one process, linked once: the
//! test vectors and their drift check, the released archives of
//! `tests/compat/`, the built-in decoders on every engine, and writer ->
//! reader round trips. `bounds.rs` (its counting allocator must see one
//! test alone) and `hostile_decoders.rs` (its own `main`, which is also
//! the decoder worker process) are binaries of their own.

mod compat;
mod cost_model;
mod decoder_items;
mod engines;
mod facts;
mod pq_vectors;
mod roundtrip;
mod series_vectors;
mod succession_vectors;
mod vectors;
mod witness_vectors;
