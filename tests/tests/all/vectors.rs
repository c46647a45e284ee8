//! Runs every test vector in format/testdata/ and checks the checked-in
//! files are byte for byte what the generator produces. `UPDATE_VECTORS=1`
//! rewrites them.

use std::path::PathBuf;

use legation_tests::vectors::{self, Outcome};

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../format/testdata")
}

#[test]
fn generated_vectors_behave_as_they_say() {
    let mut failures = Vec::new();
    for v in vectors::all() {
        if let Err(e) = v.check() {
            failures.push(format!("{}: {e}", v.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn checked_in_vectors_match_the_generator_and_pass() {
    let generated = vectors::all();
    let files: Vec<_> = generated
        .iter()
        .map(|v| (v.name.clone(), v.to_file()))
        .collect();
    for (name, _) in checked_in_files(&testdata(), "vector", &files) {
        let g = generated.iter().find(|g| g.name == name).unwrap();
        g.check().unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let failures = generated
        .iter()
        .filter(|v| v.outcome != Outcome::Success)
        .count();
    assert!(
        failures * 2 > generated.len(),
        "most vectors should be failures"
    );
}

/// Each `expect:` line names the stage of the outcome the check expects
/// (SPEC §18), and a failure's line goes on with a message fragment.
#[test]
fn expect_lines_name_the_outcome_checked() {
    for v in vectors::all() {
        let (stage, fragment) = v.expect.split_once(": ").unwrap_or((&v.expect, ""));
        assert_eq!(stage, v.outcome.stage(), "{}", v.name);
        let bare = matches!(v.outcome, Outcome::Success | Outcome::NoKey);
        assert_eq!(fragment.is_empty(), bare, "{}: {}", v.name, v.expect);
    }
}

/// Rewrites `dir`'s `*.vector` files from `generated` (name and bytes)
/// when `UPDATE_VECTORS` is set, then checks that the files on disk are
/// exactly the generator's: as many, each one it produced, byte for byte.
/// Returns each file's name and bytes, in name order.
pub(crate) fn checked_in_files(
    dir: &std::path::Path,
    what: &str,
    generated: &[(String, Vec<u8>)],
) -> Vec<(String, Vec<u8>)> {
    if std::env::var_os("UPDATE_VECTORS").is_some() {
        std::fs::create_dir_all(dir).unwrap();
        for old in std::fs::read_dir(dir).unwrap() {
            let p = old.unwrap().path();
            if p.extension().is_some_and(|e| e == "vector") {
                std::fs::remove_file(p).unwrap();
            }
        }
        for (name, bytes) in generated {
            std::fs::write(dir.join(format!("{name}.vector")), bytes).unwrap();
        }
    }
    let mut on_disk: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "vector"))
        .collect();
    on_disk.sort();
    assert_eq!(
        on_disk.len(),
        generated.len(),
        "{what} files differ in number from the generator (UPDATE_VECTORS=1 rewrites them)"
    );
    on_disk
        .into_iter()
        .map(|path| {
            let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
            let data = std::fs::read(&path).unwrap();
            let (_, g) = generated
                .iter()
                .find(|(n, _)| *n == name)
                .unwrap_or_else(|| panic!("{name}: not produced by the generator"));
            assert!(
                *g == data,
                "{name}: checked-in copy drifted from the generator (UPDATE_VECTORS=1 rewrites it)"
            );
            (name, data)
        })
        .collect()
}

/// The checks of a family of vectors that are not archives (witness,
/// post-quantum: SPEC §18's form with their own header), read by `check`
/// from the file alone: every generated file behaves as its header says;
/// the files checked in to `dir` are the generator's and pass; and each
/// file with the opposite `expect:` line (`success` against `refused: `)
/// fails, so the check is not vacuous.
pub(crate) fn header_vector_family(
    dir: &std::path::Path,
    what: &str,
    generated: &[legation_tests::vectors::witness::WitnessVector],
    check: fn(&[u8]) -> Result<(), String>,
) {
    let failures: Vec<String> = generated
        .iter()
        .filter_map(|v| {
            check(&v.to_file())
                .err()
                .map(|e| format!("{}: {e}", v.name))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let files: Vec<_> = generated
        .iter()
        .map(|v| (v.name.clone(), v.to_file()))
        .collect();
    for (name, data) in checked_in_files(dir, what, &files) {
        check(&data).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for v in generated {
        let file = v.to_file();
        let end = file.iter().position(|&b| b == b'\n').unwrap();
        let opposite = match v.expect.as_str() {
            "success" => "expect: refused: ",
            _ => "expect: success",
        };
        let mut changed = opposite.as_bytes().to_vec();
        changed.extend_from_slice(&file[end..]);
        assert!(
            check(&changed).is_err(),
            "{}: passes with {opposite:?}",
            v.name
        );
    }
}
