//! The command's integration tests, one binary (linked once) with a
//! module a suite: `cli` (every command, and every test vector through
//! `legation verify`), `crash` (SIGKILL at random moments), `embassies`
//! (a three-node Garage cluster), `embed_viewer`, `proof` (`check-proof`
//! on good and tampered proofs), `readme_decoder` (the decoder guide's
//! worked example), `repair`, and `attacks` (the second
//! hardening round, one module a defect). `common` runs the command.

mod attacks;
mod bag;
mod cli;
mod common;
mod convert;
#[cfg(unix)]
mod crash;
mod decoder_authoring;
mod embassies;
mod embed_viewer;
mod event_log;
mod generations;
mod issuer;
mod pq;
mod pqsig;
mod proof;
mod prove;
mod push_delta;
mod quorum;
mod readme_decoder;
mod rekey;
mod repair;
mod terminal_view;
mod witness;
