//! The post-quantum recipient vectors of `format/testdata/pq/` (SPEC
//! §7.11): each file behaves as its header says, read from the file
//! alone, and the checked-in files are byte for byte what the generator
//! writes. `UPDATE_VECTORS=1` rewrites them.

use std::path::PathBuf;

use legation_tests::vectors::pq::{all, check_file};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../format/testdata/pq")
}

#[test]
fn pq_vectors_behave_as_they_say() {
    let mut failures = Vec::new();
    for v in all() {
        if let Err(e) = check_file(&v.to_file()) {
            failures.push(format!("{}: {e}", v.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn checked_in_pq_vectors_match_the_generator_and_pass() {
    let files: Vec<_> = all()
        .iter()
        .map(|v| (v.name.clone(), v.to_file()))
        .collect();
    for (name, data) in crate::vectors::checked_in_files(&dir(), "post-quantum vector", &files) {
        check_file(&data).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// The check is not vacuous: each vector's file with the opposite
/// `expect:` line fails it, and the good slot with another data key too.
#[test]
fn a_pq_vector_with_the_opposite_verdict_fails() {
    for v in all() {
        let file = v.to_file();
        let end = file.iter().position(|&b| b == b'\n').unwrap();
        let opposite = match v.expect.as_str() {
            "success" => "expect: refused: ",
            _ => "expect: success",
        };
        let mut changed = opposite.as_bytes().to_vec();
        changed.extend_from_slice(&file[end..]);
        assert!(
            check_file(&changed).is_err(),
            "{}: passes with {opposite:?}",
            v.name
        );
    }
    let good = all()
        .into_iter()
        .find(|v| v.name == "mlkem768x25519-slot")
        .unwrap();
    let text = String::from_utf8(good.to_file()).unwrap();
    let other = text.replace(
        &format!("data-key: {}", "d4".repeat(32)),
        &format!("data-key: {}", "d5".repeat(32)),
    );
    assert_ne!(other, text);
    assert!(check_file(other.as_bytes()).is_err());
}
