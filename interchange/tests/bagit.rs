//! BagIt against bagit-python 1.9.0 (`python3 -m bagit`, installed by
//! scripts/test.sh): bags written here pass `bagit.py --validate`, and
//! bags bagit.py makes are read and validated here, valid and broken.

use legation_interchange::bagit::{Algorithm, Bag, BagWriter, Problem};
use std::fs;
use std::path::Path;
use std::process::Command;

/// `bagit.py --validate DIR`: whether it says valid, and what it said.
fn bagit_py_validate(dir: &Path) -> (bool, String) {
    let out = Command::new("python3")
        .args(["-m", "bagit", "--validate"])
        .arg(dir)
        .output()
        .expect("python3 with bagit 1.9.0 (scripts/test.sh installs it)");
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    (out.status.success(), text)
}

/// Names that need care: NFC and NFD non-ASCII, spaces, percent signs.
const NAMES: [&str; 7] = [
    "plain.txt",
    "caf\u{e9} nfc.txt",
    "cafe\u{301} nfd.txt",
    "with spaces/and more spaces.csv",
    "100% sure/50% off.txt",
    "\u{392}\u{3b5}\u{3bb}\u{3b3}\u{3c1}\u{3ac}\u{3b4}\u{3b9}/\u{41c}\u{43e}\u{441}\u{43a}\u{432}\u{430}.json",
    "empty",
];

fn write_sample(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let records: Vec<(String, Vec<u8>)> = NAMES
        .iter()
        .enumerate()
        .map(|(i, n)| {
            (
                n.to_string(),
                if *n == "empty" {
                    vec![]
                } else {
                    format!("record {i}: {n}\n")
                        .repeat(i * 1000 + 1)
                        .into_bytes()
                },
            )
        })
        .collect();
    let mut w = BagWriter::create(dir).unwrap();
    for (name, body) in &records {
        assert_eq!(w.add(name, &body[..]).unwrap(), body.len() as u64);
    }
    let info = vec![
        (
            "Source-Organization".to_string(),
            "Velmora National Archives".to_string(),
        ),
        (
            "External-Identifier".to_string(),
            "archive 0123abcd".to_string(),
        ),
        (
            "Internal-Sender-Description".to_string(),
            "two lines\nof description".to_string(),
        ),
    ];
    let mut own = w.tag_file("legation-formats.txt").unwrap();
    std::io::Write::write_all(&mut own, b"fmt/13\tsignature\tdata/x.png\n").unwrap();
    std::io::Write::flush(&mut own).unwrap();
    for bad in [
        "bag-info.txt",
        "manifest-md5.txt",
        "a/b",
        "",
        ".x",
        "legation-formats.txt",
    ] {
        assert!(w.tag_file(bad).is_err(), "{bad:?}");
    }
    let written = w.finish(&info).unwrap();
    assert!(std::fs::read_to_string(dir.join("tagmanifest-sha256.txt"))
        .unwrap()
        .contains("  legation-formats.txt\n"));
    assert_eq!(written.files, records.len() as u64);
    records
}

#[test]
fn bags_written_here_pass_bagit_py_and_read_back() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("bag");
    let records = write_sample(&dir);
    let (ok, said) = bagit_py_validate(&dir);
    assert!(ok, "bagit.py refused our bag: {said}");
    let bag = Bag::open(&dir).unwrap();
    assert_eq!(bag.version, "1.0");
    assert_eq!(bag.algorithms, vec![Algorithm::Sha256, Algorithm::Sha512]);
    assert_eq!(
        bag.info_value("source-organization"),
        Some("Velmora National Archives")
    );
    assert_eq!(
        bag.info_value("Internal-Sender-Description"),
        Some("two lines of description")
    );
    let report = bag.validate().unwrap();
    assert!(report.is_valid(), "{:?}", report.problems);
    assert_eq!(report.files, records.len() as u64);
    let octets: usize = records.iter().map(|(_, b)| b.len()).sum();
    assert_eq!(
        bag.info_value("Payload-Oxum"),
        Some(format!("{octets}.{}", records.len()).as_str())
    );
    // Payload byte for byte.
    for (name, body) in &records {
        assert_eq!(
            &fs::read(dir.join("data").join(name)).unwrap(),
            body,
            "{name}"
        );
    }
}

#[test]
fn names_that_cannot_go_in_are_refused_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let mut w = BagWriter::create(tmp.path().join("bag")).unwrap();
    for bad in [
        "line\nbreak.txt",
        "carriage\rreturn",
        "../escape",
        "a//b",
        "/abs",
        ".",
    ] {
        let e = w.add(bad, &b"x"[..]).unwrap_err().to_string();
        assert!(e.contains(bad), "{e}");
    }
    let e = w.add("x\ny", &b""[..]).unwrap_err().to_string();
    assert!(e.contains("line break"), "{e}");
    let e = w.add("50%25 off", &b""[..]).unwrap_err().to_string();
    assert!(e.contains("\"%25\"") && e.contains("bagit-python"), "{e}");
    w.add("caf\u{e9}", &b"1"[..]).unwrap();
    let e = w.add("cafe\u{301}", &b"2"[..]).unwrap_err().to_string();
    assert!(e.contains("normalization"), "{e}");
    // A folder that is not empty is not a place for a bag.
    assert!(BagWriter::create(tmp.path()).is_err());
}

/// A bag made by bagit.py from a folder with the same names.
fn bagit_py_bag(dir: &Path, extra: &[&str]) {
    fs::create_dir_all(dir).unwrap();
    for (i, n) in NAMES.iter().enumerate() {
        let p = dir.join(n);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, format!("file {i}\n").repeat(i * 100)).unwrap();
    }
    let out = Command::new("python3")
        .args(["-m", "bagit", "--quiet"])
        .args(extra)
        .args(["--source-organization", "Velmora"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bags_made_by_bagit_py_validate_here_and_each_fault_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    for algs in [&["--sha256", "--sha512"][..], &["--md5", "--sha1"][..]] {
        let dir = tmp.path().join(format!("bag{}", algs[0]));
        bagit_py_bag(&dir, algs);
        let bag = Bag::open(&dir).unwrap();
        assert_eq!(bag.algorithms.len(), 2);
        assert!(!bag.tag_algorithms.is_empty());
        let report = bag.validate().unwrap();
        assert!(report.is_valid(), "{:?}", report.problems);
        assert_eq!(report.files, NAMES.len() as u64);
    }
    // bagit.py writes '%' as it is, so "a%25b" in its manifest is that
    // file (RFC 8493 would read "a%b"): found either way.
    let odd = tmp.path().join("odd");
    fs::create_dir_all(&odd).unwrap();
    fs::write(odd.join("a%25b.txt"), b"percent").unwrap();
    let out = Command::new("python3")
        .args(["-m", "bagit", "--quiet"])
        .arg(&odd)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(fs::read_to_string(odd.join("manifest-sha256.txt"))
        .unwrap()
        .contains("data/a%25b.txt"));
    let report = Bag::open(&odd).unwrap().validate().unwrap();
    assert!(report.is_valid(), "{:?}", report.problems);

    let dir = tmp.path().join("bag--sha256");
    let problems = |dir: &Path| Bag::open(dir).unwrap().validate().unwrap().problems;

    // A changed payload byte: named, both algorithms.
    let target = dir.join("data/with spaces/and more spaces.csv");
    let mut body = fs::read(&target).unwrap();
    body[3] ^= 1;
    fs::write(&target, &body).unwrap();
    let p = problems(&dir);
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(p.iter().all(|x| matches!(x, Problem::Checksum { path, .. } if path == "data/with spaces/and more spaces.csv")), "{p:?}");
    assert!(p[0].to_string().contains("and more spaces.csv"));
    assert!(!bagit_py_validate(&dir).0);
    body[3] ^= 1;
    fs::write(&target, &body).unwrap();
    assert!(problems(&dir).is_empty());

    // A missing file: missing from the bag, and the Oxum is off.
    let gone = dir.join("data/100% sure/50% off.txt");
    let kept = fs::read(&gone).unwrap();
    fs::remove_file(&gone).unwrap();
    let p = problems(&dir);
    assert!(
        p.iter().any(
            |x| matches!(x, Problem::Missing { path, .. } if path == "data/100% sure/50% off.txt")
        ),
        "{p:?}"
    );
    assert!(p.iter().any(|x| matches!(x, Problem::Oxum { .. })), "{p:?}");
    assert!(!bagit_py_validate(&dir).0);
    fs::write(&gone, kept).unwrap();

    // An extra file: in no manifest.
    fs::write(dir.join("data/stowaway.bin"), b"x").unwrap();
    let p = problems(&dir);
    assert!(
        p.iter().any(
            |x| matches!(x, Problem::NotInManifest { path, .. } if path == "data/stowaway.bin")
        ),
        "{p:?}"
    );
    assert!(!bagit_py_validate(&dir).0);
    fs::remove_file(dir.join("data/stowaway.bin")).unwrap();
    assert!(problems(&dir).is_empty());

    // A wrong Oxum (and so a bag-info.txt the tag manifests disagree with).
    let info_path = dir.join("bag-info.txt");
    let info = fs::read_to_string(&info_path).unwrap();
    let oxum = info
        .lines()
        .find(|l| l.starts_with("Payload-Oxum"))
        .unwrap()
        .to_string();
    fs::write(&info_path, info.replace(&oxum, "Payload-Oxum: 1.1")).unwrap();
    let p = problems(&dir);
    assert!(
        p.iter()
            .any(|x| matches!(x, Problem::Oxum { expected, .. } if expected == "1.1")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|x| matches!(x, Problem::Checksum { path, .. } if path == "bag-info.txt")),
        "{p:?}"
    );
    assert!(!bagit_py_validate(&dir).0);
    fs::write(&info_path, info).unwrap();
    assert!(problems(&dir).is_empty());
}

#[test]
fn hostile_tag_files_are_refused_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("bag");
    write_sample(&dir);
    let manifest = dir.join("manifest-sha256.txt");
    let good = fs::read_to_string(&manifest).unwrap();
    let sum = "0".repeat(64);
    for (line, why) in [
        (format!("{sum}  data/../../etc/passwd"), "escape"),
        (format!("{sum}  bag-info.txt"), "outside data/"),
        (format!("{sum}  /etc/passwd"), "absolute"),
        ("abc  data/x".to_string(), "not a sha256 checksum"),
        ("nochecksum".to_string(), "not CHECKSUM PATH"),
    ] {
        fs::write(&manifest, format!("{good}{line}\n")).unwrap();
        let e = Bag::open(&dir).unwrap_err().to_string();
        assert!(
            e.starts_with("manifest-sha256.txt") && e.contains(why),
            "{e}"
        );
    }
    fs::write(&manifest, &good).unwrap();
    fs::write(dir.join("fetch.txt"), "http://example.invalid/x 3 data/x\n").unwrap();
    let e = Bag::open(&dir).unwrap_err().to_string();
    assert!(
        e.contains("fetch.txt") && e.contains("not supported"),
        "{e}"
    );
    fs::remove_file(dir.join("fetch.txt")).unwrap();
    fs::write(
        dir.join("bagit.txt"),
        "BagIt-Version: 1.0\nTag-File-Character-Encoding: ISO-8859-1\n",
    )
    .unwrap();
    let e = Bag::open(&dir).unwrap_err().to_string();
    assert!(e.contains("ISO-8859-1"), "{e}");
    fs::write(
        dir.join("bagit.txt"),
        "\u{feff}BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
    )
    .unwrap();
    assert!(Bag::open(&dir)
        .unwrap_err()
        .to_string()
        .contains("byte-order mark"));
    // A line longer than any manifest line may be: refused before it is held.
    fs::write(
        dir.join("bagit.txt"),
        "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
    )
    .unwrap();
    fs::write(&manifest, format!("{sum}  data/{}\n", "a".repeat(70_000))).unwrap();
    assert!(Bag::open(&dir)
        .unwrap_err()
        .to_string()
        .contains("longer than"));
    // A manifest line encoding a name with a line break finds the file.
    fs::write(&manifest, &good).unwrap();
    let report = Bag::open(&dir).unwrap().validate().unwrap();
    assert!(report.is_valid(), "{:?}", report.problems);
}
