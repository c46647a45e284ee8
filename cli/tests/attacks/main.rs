//! Hardening, second round: what an attacker found that the earlier suites
//! did not. One module a defect, each test failing on the code before its
//! fix (tests/HOSTILE.md lists them, by module, under "Attacks on the
//! command line").

#[path = "../common/mod.rs"]
mod common;
mod key_files;
mod sample_and_cat;

mod address_space;
mod repair_adopt;
mod costly_kdf;
mod signer;
mod bidi;
mod closed_stderr;
mod long_names;
