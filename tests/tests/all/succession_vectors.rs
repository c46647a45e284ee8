//! The succession vectors of `format/testdata/succession/` (SPEC §37.7):
//! each file behaves as its header says, read from the file alone, the
//! checked-in files are byte for byte what the generator writes
//! (`UPDATE_VECTORS=1` rewrites them), and each file with the opposite
//! verdict fails.

use std::path::PathBuf;

use legation_tests::vectors::succession::{all, check_file};

#[test]
fn succession_vectors_behave_match_the_generator_and_are_not_vacuous() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../format/testdata/succession");
    crate::vectors::header_vector_family(&dir, "succession vector", &all(), check_file);
}

/// The good chain read with the pinned key of another series' issuer, or
/// with one handover left out, is refused: the check follows the chain.
#[test]
fn the_good_chain_fails_without_its_first_link() {
    let good = all()
        .into_iter()
        .find(|v| v.name == "chain-of-two-handovers")
        .unwrap();
    let file = good.to_file();
    let split = file.windows(2).position(|w| w == b"\n\n").unwrap() + 2;
    let body = &file[split..];
    // Drop the first statement: key 3 is then not reached from key 1.
    let first_len: usize =
        std::str::from_utf8(&body[..body.iter().position(|&b| b == b'\n').unwrap()])
            .unwrap()
            .strip_prefix("statement ")
            .unwrap()
            .parse()
            .unwrap();
    let skip = body.iter().position(|&b| b == b'\n').unwrap() + 1 + first_len;
    let mut cut = file[..split].to_vec();
    cut.extend_from_slice(&body[skip..]);
    let e = check_file(&cut).unwrap_err();
    assert!(e.contains("not by the pinned issuer"), "{e}");
}
