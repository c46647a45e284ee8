//! PRONOM identification of known files: `samples/national` (in the
//! repository) and `../shared/corpus` (beside the clone on the team's
//! machines and in CI; its README says what each file is), and the same
//! files through fido (opf-fido, installed by scripts/test.sh), every
//! difference accounted for.

use legation_interchange::pronom::{identify_reader, Basis};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository, canonical (fido prints the paths it is given).
fn root() -> PathBuf {
    std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join("..")).unwrap()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn id(path: &Path) -> (String, Basis) {
    let name = path.to_string_lossy();
    let r = identify_reader(&name, std::fs::File::open(path).unwrap()).unwrap();
    assert!(!r.cut_short, "{name}");
    (r.puid().to_string(), r.basis)
}

#[test]
fn every_record_of_samples_national_is_identified_by_its_kind() {
    let all = files(&root().join("samples/national"));
    assert!(all.len() > 900, "{}", all.len());
    for f in all {
        let name = f.to_string_lossy().to_string();
        let (puid, basis) = id(&f);
        let ext = name.rsplit('.').next().unwrap();
        let want: &[&str] = match ext {
            "json" => &["fmt/817"],
            "csv" => &["x-fmt/18"],
            "md" => &["fmt/1149"],
            // The plans: PNG 1.0 or 1.1 by their chunks.
            "png" => &["fmt/11", "fmt/12"],
            "tif" => &["fmt/353"],
            // EBCDIC tape records: no PRONOM signature, no known extension.
            "ebc" => &[""],
            other => panic!("{name}: a kind this test does not know: .{other}"),
        };
        assert!(want.contains(&puid.as_str()), "{name}: {puid}");
        let want_basis = match ext {
            "png" | "tif" => Basis::Signature,
            "ebc" => Basis::Unidentified,
            _ => Basis::Extension,
        };
        assert_eq!(basis, want_basis, "{name}");
    }
}

const CORPUS: [(&str, &str, Basis); 18] = [
    ("README.md", "fmt/1149", Basis::Extension),
    ("images/astronaut.png", "fmt/12", Basis::Signature),
    ("images/camera.png", "fmt/11", Basis::Signature),
    ("images/chessboard_GRAY.png", "fmt/12", Basis::Signature),
    ("images/chessboard_RGB.png", "fmt/11", Basis::Signature),
    ("images/logo.png", "fmt/11", Basis::Signature),
    ("images/microaneurysms.png", "fmt/11", Basis::Signature),
    ("images/multipage_rgb.tif", "fmt/353", Basis::Signature),
    ("registers/iso_15924.json", "fmt/817", Basis::Extension),
    ("registers/iso_3166-3.json", "fmt/817", Basis::Extension),
    ("registers/iso_639-5.json", "fmt/817", Basis::Extension),
    ("tables/iowa-electricity.csv", "x-fmt/18", Basis::Extension),
    ("tables/la-riots.csv", "x-fmt/18", Basis::Extension),
    ("tables/stocks.csv", "x-fmt/18", Basis::Extension),
    // Licence texts without an extension: PRONOM cannot tell them.
    ("texts/Artistic", "", Basis::Unidentified),
    ("texts/BSD", "", Basis::Unidentified),
    ("texts/GPL-2", "", Basis::Unidentified),
    ("texts/LGPL-2.1", "", Basis::Unidentified),
];

#[test]
fn the_shared_corpus_is_identified_as_its_readme_says() {
    let corpus = root().join("../shared/corpus");
    assert_eq!(
        files(&corpus).len(),
        CORPUS.len(),
        "the corpus changed: update this test"
    );
    for (name, puid, basis) in CORPUS {
        assert_eq!(id(&corpus.join(name)), (puid.to_string(), basis), "{name}");
    }
}

/// fido's answers on the same files. The one kind of difference, and why:
/// fido gives every `.json` as fmt/1311 ("Tweet JSON"), because it
/// applies PRONOM's priority (fmt/1311 over fmt/817) to extension-only
/// matches too; here priorities rank signature matches only, and a
/// `.json` with no signature is the generic JSON (fmt/817).
#[test]
fn fido_agrees_but_for_the_differences_explained() {
    let dirs = [
        root().join("samples/national"),
        std::fs::canonicalize(root().join("../shared/corpus")).unwrap(),
    ];
    let text = fido(
        &["-recurse"],
        "%(info.filename)s\t%(info.puid)s\n",
        "%(info.filename)s\t\n",
        dirs.iter().map(PathBuf::as_path),
    );
    let mut fido: std::collections::HashMap<String, Vec<String>> = Default::default();
    for line in text.lines() {
        if let Some((file, puid)) = line.split_once('\t') {
            fido.entry(file.to_string())
                .or_default()
                .push(puid.to_string());
        }
    }
    let mut compared = 0;
    for dir in &dirs {
        for f in files(dir) {
            let name = f.to_string_lossy().to_string();
            let theirs = fido
                .get(&name)
                .unwrap_or_else(|| panic!("fido said nothing of {name}"));
            let (ours, _) = id(&f);
            compared += 1;
            if theirs.contains(&ours) {
                continue;
            }
            let explained = name.ends_with(".json") && ours == "fmt/817" && theirs == &["fmt/1311"];
            assert!(explained, "{name}: ours {ours:?}, fido {theirs:?}");
        }
    }
    assert!(compared > 900);
}

/// Small files of common formats made here, identified here and by fido.
/// They agree on every byte signature (PDF by version, GIF 89a, JFIF,
/// XML, HTML, ZIP, WAVE, GZIP); the second kind of difference: a file
/// whose extension names formats that have byte signatures, none of
/// which matched (a truncated BMP or RTF), is unidentified here, as
/// DROID leaves it by default, while fido gives those formats on the
/// extension alone.
#[test]
fn made_files_agree_with_fido_on_signatures() {
    let tmp = tempfile::tempdir().unwrap();
    let files: [(&str, &[u8], &str); 11] = [
        (
            "a.pdf",
            b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n",
            "fmt/18",
        ),
        ("b.pdf", b"%PDF-1.7\n%%EOF\n", "fmt/276"),
        ("c.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "fmt/4"),
        (
            "d.jpg",
            b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9",
            "fmt/43",
        ),
        (
            "e.xml",
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<root/>\n",
            "fmt/101",
        ),
        (
            "f.html",
            b"<!DOCTYPE html>\n<html><body>x</body></html>\n",
            "fmt/471",
        ),
        (
            "g.zip",
            b"PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
            "",
        ),
        ("j.wav", b"RIFF\x24\x00\x00\x00WAVEfmt ", "fmt/6"),
        (
            "k.gz",
            b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03",
            "x-fmt/266",
        ),
        ("h.bmp", b"BM", ""),
        ("i.rtf", b"{\\rtf1 hello}", ""),
    ];
    for (name, bytes, _) in &files {
        std::fs::write(tmp.path().join(name), bytes).unwrap();
    }
    let paths: Vec<PathBuf> = files.iter().map(|(n, _, _)| tmp.path().join(n)).collect();
    let text = fido(
        &[],
        "%(info.filename)s\t%(info.puid)s\t%(info.matchtype)s\n",
        "%(info.filename)s\t\tfail\n",
        paths.iter().map(PathBuf::as_path),
    );
    for (name, _, want) in &files {
        let path = tmp.path().join(name);
        let (ours, basis) = id(&path);
        assert_eq!(ours, *want, "{name}");
        let key = format!("{}\t", path.display());
        let theirs: Vec<(&str, &str)> = text
            .lines()
            .filter_map(|l| l.strip_prefix(&key))
            .filter_map(|rest| rest.split_once('\t'))
            .collect();
        assert!(!theirs.is_empty(), "fido said nothing of {name}");
        if basis == Basis::Signature {
            assert!(
                theirs.contains(&(want, "signature")),
                "{name}: fido {theirs:?}"
            );
        } else {
            // Unidentified here: fido finds no signature either, and at
            // most names formats by extension.
            assert!(
                theirs.iter().all(|(_, how)| *how != "signature"),
                "{name}: fido {theirs:?}"
            );
        }
    }
}

/// fido 1.6.1's output for `paths`, one line a file as `matched` or
/// `unmatched` formats it (fido prints its -nomatchprintf without
/// expanding escapes, so they are expanded here).
fn fido<'a>(
    options: &[&str],
    matched: &str,
    unmatched: &str,
    paths: impl Iterator<Item = &'a Path>,
) -> String {
    let out = Command::new("python3")
        .args(["-m", "fido.fido", "-q"])
        .args(options)
        .args(["-matchprintf", matched, "-nomatchprintf", unmatched])
        .args(paths)
        .output()
        .expect("python3 with opf-fido (scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .replace("\\t", "\t")
        .replace("\\n", "\n")
}

/// Every record of `samples/national` keeps exactly the PUID, basis and
/// warning it has (the test above allows either PNG version per file):
/// the count per PUID, and a digest of the listing by relative path.
#[test]
fn the_identifications_of_samples_national_are_pinned() {
    let dir = root().join("samples/national");
    let mut listing = String::new();
    let mut counts = std::collections::BTreeMap::new();
    for f in files(&dir) {
        let rel = f.strip_prefix(&dir).unwrap().to_string_lossy().to_string();
        let r = identify_reader(&rel, std::fs::File::open(&f).unwrap()).unwrap();
        *counts.entry(r.puid().to_string()).or_insert(0) += 1;
        listing.push_str(&format!(
            "{rel}\t{}\t{}\t{}\n",
            r.puid(),
            r.basis.as_str(),
            r.warning.as_deref().unwrap_or("")
        ));
    }
    let digest = listing.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    assert_eq!(
        format!("{counts:?}"),
        r#"{"": 18, "fmt/11": 8, "fmt/1149": 10, "fmt/353": 12, "fmt/817": 968, "x-fmt/18": 12}"#
    );
    assert_eq!(digest, 0x1277_b854_e997_9d73, "{listing}");
}
