//! The series vectors of `format/testdata/series/` (SPEC §33): each
//! folder behaves as its `vector.txt` says, read from its files alone,
//! and the checked-in folders are byte for byte what the generator
//! writes. `UPDATE_VECTORS=1` rewrites them.

use std::path::PathBuf;

use legation_tests::vectors::series::{all, check_folder, STATEMENTS};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../format/testdata/series")
}

#[test]
fn checked_in_series_vectors_match_the_generator_and_pass() {
    let dir = dir();
    let generated = all();
    if std::env::var_os("UPDATE_VECTORS").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        for v in &generated {
            v.write(&dir.join(&v.name)).unwrap();
        }
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut names: Vec<String> = generated.iter().map(|v| v.name.clone()).collect();
    names.sort();
    assert_eq!(
        on_disk, names,
        "series vector folders differ from the generator (UPDATE_VECTORS=1 rewrites them)"
    );
    for v in &generated {
        let d = dir.join(&v.name);
        assert_eq!(
            std::fs::read_to_string(d.join("vector.txt")).unwrap(),
            v.header(),
            "{}: vector.txt drifted",
            v.name
        );
        let mut held: Vec<String> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "vector.txt")
            .collect();
        held.sort();
        let mut want: Vec<String> = v.files.iter().map(|(n, _)| n.clone()).collect();
        if !v.statements.is_empty() {
            want.push(STATEMENTS.to_string());
        }
        want.sort();
        assert_eq!(held, want, "{}: files differ", v.name);
        let stated: Vec<String> = match std::fs::read_dir(d.join(STATEMENTS)) {
            Ok(r) => r
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        };
        assert_eq!(
            stated.len(),
            v.statements.len(),
            "{}: issuer/ differs",
            v.name
        );
        for (n, b) in v.files.iter().chain(
            &v.statements
                .iter()
                .map(|(n, b)| (format!("{STATEMENTS}/{n}"), b.clone()))
                .collect::<Vec<_>>(),
        ) {
            assert!(
                std::fs::read(d.join(n)).unwrap() == *b,
                "{}/{n}: drifted from the generator",
                v.name
            );
        }
        check_folder(&d).unwrap_or_else(|e| panic!("{}: {e}", v.name));
    }
}

/// The check is not vacuous: each folder with another verdict fails it.
#[test]
fn a_series_vector_with_another_verdict_fails() {
    for v in all() {
        let d = std::env::temp_dir().join(format!(
            "legation-series-opposite-{}-{}",
            std::process::id(),
            v.name
        ));
        let _ = std::fs::remove_dir_all(&d);
        let mut other = v.clone();
        other.expect = if v.expect == "success" {
            "series error: fork".into()
        } else {
            "success".into()
        };
        other.write(&d).unwrap();
        assert!(
            check_folder(&d).is_err(),
            "{}: passes with {}",
            v.name,
            other.expect
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}
