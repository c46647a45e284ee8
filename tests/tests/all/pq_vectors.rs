//! The post-quantum recipient vectors of `format/testdata/pq/` (SPEC
//! §7.11): each file behaves as its header says, read from the file
//! alone, the checked-in files are byte for byte what the generator
//! writes (`UPDATE_VECTORS=1` rewrites them), and the opposite verdicts
//! fail.

use std::path::PathBuf;

use legation_tests::vectors::pq::{all, check_file};

#[test]
fn pq_vectors_behave_match_the_generator_and_are_not_vacuous() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../format/testdata/pq");
    crate::vectors::header_vector_family(&dir, "post-quantum vector", &all(), check_file);
}

/// The good slot with another data key in its header fails: the check
/// compares what the slot opens to.
#[test]
fn the_good_slot_with_another_data_key_fails() {
    let good = all()
        .into_iter()
        .find(|v| v.name == "mlkem768x25519-slot")
        .unwrap();
    let text = String::from_utf8(good.to_file()).unwrap();
    let from = format!("data-key: {}", "d4".repeat(32));
    assert!(text.contains(&from));
    let other = text.replace(&from, &format!("data-key: {}", "d5".repeat(32)));
    let e = check_file(other.as_bytes()).unwrap_err();
    assert!(e.contains("another data key"), "{e}");
}
