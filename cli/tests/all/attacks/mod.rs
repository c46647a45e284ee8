//! Hardening, second round: what an attacker found that the earlier suites
//! did not. One module a defect, each test failing on the code before its
//! fix (tests/HOSTILE.md lists them, by module, under "Attacks on the
//! command line").

mod address_space;
mod bidi;
mod catalog_cost;
mod closed_stderr;
mod costly_kdf;
mod key_files;
mod long_names;
mod repair_adopt;
mod sample_and_cat;
mod signer;
