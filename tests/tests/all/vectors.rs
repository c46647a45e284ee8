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
    let dir = testdata();
    let generated = vectors::all();
    if std::env::var_os("UPDATE_VECTORS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for old in std::fs::read_dir(&dir).unwrap() {
            let p = old.unwrap().path();
            if p.extension().is_some_and(|e| e == "vector") {
                std::fs::remove_file(p).unwrap();
            }
        }
        for v in &generated {
            std::fs::write(dir.join(format!("{}.vector", v.name)), v.to_file()).unwrap();
        }
    }
    let mut on_disk: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "vector"))
        .collect();
    on_disk.sort();
    assert_eq!(
        on_disk.len(),
        generated.len(),
        "vector files differ in number from the generator (UPDATE_VECTORS=1 rewrites them)"
    );
    for path in on_disk {
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let data = std::fs::read(&path).unwrap();
        let g = generated
            .iter()
            .find(|g| g.name == name)
            .unwrap_or_else(|| panic!("{name}: not produced by the generator"));
        assert!(
            g.to_file() == data,
            "{name}: checked-in copy drifted from the generator (UPDATE_VECTORS=1 rewrites it)"
        );
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
