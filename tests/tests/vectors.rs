//! Runs every test vector in format/testdata/ and checks the checked-in
//! files are exactly what the generator produces. `UPDATE_VECTORS=1`
//! rewrites them.

use std::path::PathBuf;

use legation_tests::vectors::{self, Vector};

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
        let v = Vector::from_file(&name, &data).unwrap();
        let g = generated
            .iter()
            .find(|g| g.name == name)
            .unwrap_or_else(|| panic!("{name}: not produced by the generator"));
        assert!(
            g == &v,
            "{name}: checked-in copy drifted from the generator (UPDATE_VECTORS=1 rewrites it)"
        );
        v.check().unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let failures: usize = generated.iter().filter(|v| v.expect != "success").count();
    assert!(
        failures * 2 > generated.len(),
        "most vectors should be failures"
    );
}
