//! The witness vectors of `format/testdata/witness/` (SPEC §34): each
//! file behaves as its header says, read from the file alone, the
//! checked-in files are byte for byte what the generator writes
//! (`UPDATE_VECTORS=1` rewrites them), and each file with the opposite
//! verdict fails.

use std::path::PathBuf;

use legation_tests::vectors::witness::{all, check_file};

#[test]
fn witness_vectors_behave_match_the_generator_and_are_not_vacuous() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../format/testdata/witness");
    crate::vectors::header_vector_family(&dir, "witness vector", &all(), check_file);
}
