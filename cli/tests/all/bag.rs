//! `extract --to-bag`: an archive's records written as a BagIt bag that
//! bagit-python 1.9.0 (`python3 -m bagit`, installed by scripts/test.sh)
//! validates, payload byte for byte; and a bag made by bagit.py, its
//! payload packed, comes back as a valid bag with the same payload.

use crate::common::{code, packed, run, stderr, Tmp};
use std::fs;
use std::path::Path;
use std::process::Command;

fn bagit_py(args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new("python3")
        .args(["-m", "bagit"])
        .args(args)
        .arg(dir)
        .output()
        .expect("python3 with bagit 1.9.0 (scripts/test.sh installs it)");
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    (out.status.success(), text)
}

#[test]
fn extract_to_bag_writes_a_bag_bagit_py_validates() {
    let t = packed("to-bag");
    let d = &t.0;
    let o = run(
        &["extract", "a.lgn", "--to-bag", "bag", "-i", "alice.key"],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let (ok, said) = bagit_py(&["--validate"], &d.join("bag"));
    assert!(ok, "{said}");
    for f in [
        "legal/act.md",
        "registers/Ελλάδα.csv",
        "registers/scan.bin",
        "zero",
    ] {
        assert_eq!(
            fs::read(d.join("bag/data").join(f)).unwrap(),
            fs::read(d.join("src").join(f)).unwrap(),
            "{f}"
        );
    }
    let info = fs::read_to_string(d.join("bag/bag-info.txt")).unwrap();
    let info_o = run(&["info", "a.lgn"], d);
    let public = crate::common::stdout(&info_o);
    let id = public
        .lines()
        .find_map(|l| l.strip_prefix("archive id:"))
        .unwrap()
        .trim();
    assert!(
        info.contains(&format!("Legation-Archive-Id: {id}\n")),
        "{info}"
    );
    assert!(info.contains("Legation-Record-Count: 4\n"), "{info}");
    assert!(info.contains("Legation-Issuer-Fingerprint: "), "{info}");
    assert!(info.contains("Legation-Generation: "), "{info}");
    // Each record's PRONOM format, in a tag file the tag manifests cover.
    let formats = fs::read_to_string(d.join("bag/legation-formats.txt")).unwrap();
    for line in [
        "fmt/1149\textension\tMarkdown\t\tlegal/act.md\n",
        "x-fmt/18\textension\tComma Separated Values\t\tregisters/Ελλάδα.csv\n",
        "fmt/208\textension\tBinary File\t\tregisters/scan.bin\n",
        "\tunidentified\t\t\tzero\n",
    ] {
        assert!(formats.contains(line), "{line:?} in {formats}");
    }
    assert!(fs::read_to_string(d.join("bag/tagmanifest-sha256.txt"))
        .unwrap()
        .contains("  legation-formats.txt\n"));
    // The folder must be new or empty; --to-bag goes without -o.
    let o = run(
        &["extract", "a.lgn", "--to-bag", "bag", "-i", "alice.key"],
        d,
    );
    assert_ne!(code(&o), 0);
    assert!(stderr(&o).contains("not empty"), "{}", stderr(&o));
    let o = run(
        &[
            "extract",
            "a.lgn",
            "--to-bag",
            "b2",
            "-o",
            "out",
            "-i",
            "alice.key",
        ],
        d,
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    // Without a key: refused, nothing written.
    let o = run(&["extract", "a.lgn", "--to-bag", "b3"], d);
    assert_ne!(code(&o), 0);
    assert!(!d.join("b3/bagit.txt").exists());
}

#[test]
fn a_bag_from_bagit_py_packs_and_comes_back_byte_for_byte() {
    let t = Tmp::new("bag-round-trip");
    let d = &t.0;
    let src = d.join("in");
    fs::create_dir_all(src.join("Λόγοι")).unwrap();
    fs::write(src.join("Λόγοι/caf\u{e9}.txt"), "nfc\n").unwrap();
    fs::write(src.join("100% of it.csv"), "a,b\n1,2\n").unwrap();
    fs::write(src.join("with space.md"), "# t\n").unwrap();
    let (ok, said) = bagit_py(&["--quiet", "--sha256"], &src);
    assert!(ok, "{said}");
    let (ok, said) = bagit_py(&["--validate"], &src);
    assert!(ok, "{said}");
    assert_eq!(code(&run(&["keygen", "recipient", "-o", "alice"], d)), 0);
    let o = run(&["pack", "in/data", "-o", "a.lgn", "-r", "alice.pub"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(
        &["extract", "a.lgn", "--to-bag", "out", "-i", "alice.key"],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let (ok, said) = bagit_py(&["--validate"], &d.join("out"));
    assert!(ok, "{said}");
    for f in ["Λόγοι/caf\u{e9}.txt", "100% of it.csv", "with space.md"] {
        assert_eq!(
            fs::read(d.join("out/data").join(f)).unwrap(),
            fs::read(src.join("data").join(f)).unwrap(),
            "{f}"
        );
    }
    // The payload manifests agree line for line (same names, same SHA-256).
    let lines = |p: &Path| {
        let mut v: Vec<String> = fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        lines(&src.join("manifest-sha256.txt")),
        lines(&d.join("out/manifest-sha256.txt"))
    );
}
