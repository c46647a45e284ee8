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

/// A bag made by bagit.py in `d/in` (SHA-256 and SHA-512, its default),
/// with names that need care: Greek in NFC, a name in NFD, a space, a
/// `%`, a payload file named like a Dublin Core sidecar, an empty file.
fn bagit_py_bag(d: &Path) -> std::path::PathBuf {
    let src = d.join("in");
    fs::create_dir_all(src.join("Λόγοι")).unwrap();
    fs::write(src.join("Λόγοι/caf\u{e9}.txt"), "nfc\n").unwrap();
    fs::write(src.join("re\u{301}sume\u{301}.md"), "# nfd\n").unwrap();
    fs::write(src.join("100% of it.csv"), "a,b\n1,2\n").unwrap();
    fs::write(src.join("with space.md"), "# t\n").unwrap();
    fs::write(src.join("x.dc.json"), r#"{"not": "a sidecar here"}"#).unwrap();
    fs::write(src.join("empty"), "").unwrap();
    let (ok, said) = bagit_py(
        &["--quiet", "--source-organization", "Records Office"],
        &src,
    );
    assert!(ok, "{said}");
    src
}

/// The payload files of a bag folder, by NFC path, with their bytes.
fn payload(bag: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, rel: &str, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = legation_interchange::bagit::nfc(e.file_name().to_str().unwrap());
            let path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), &path, out);
            } else {
                out.insert(path, fs::read(e.path()).unwrap());
            }
        }
    }
    let mut out = Default::default();
    walk(&bag.join("data"), "", &mut out);
    out
}

/// `in/` of [`bagit_py_bag`] packed with --from-bag for alice, signed by
/// gov, into `archive` of `format`.
fn pack_signed_bag(d: &Path, archive: &str, format: &str) {
    let o = run(
        &[
            "pack",
            "in",
            "--from-bag",
            "-o",
            archive,
            "-r",
            "alice.pub",
            "--sign",
            "gov.key",
            "--format",
            format,
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn pack_from_bag_verifies_and_extracts_to_a_bag_byte_for_byte() {
    let t = Tmp::new("from-bag");
    let d = &t.0;
    let src = bagit_py_bag(d);
    assert_eq!(code(&run(&["keygen", "recipient", "-o", "alice"], d)), 0);
    assert_eq!(code(&run(&["keygen", "issuer", "-o", "gov"], d)), 0);
    for format in ["1.3", "2.0"] {
        let archive = format!("a{format}.lgn");
        pack_signed_bag(d, &archive, format);
        let o = run(&["verify", &archive, "-i", "alice.key"], d);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        // The payload at its paths below data/, the bag's own metadata
        // under .legation/.
        let o = run(&["ls", &archive, "-i", "alice.key"], d);
        let listed = crate::common::stdout(&o);
        for p in [
            ".legation/bag-info.txt",
            ".legation/bag-validation.txt",
            "x.dc.json",
            "empty",
        ] {
            assert!(listed.contains(p), "{p} in {listed}");
        }
        assert!(!listed.contains("manifest-sha256"), "{listed}");
        let out = format!("out{format}");
        let o = run(
            &["extract", &archive, "--to-bag", &out, "-i", "alice.key"],
            d,
        );
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let (ok, said) = bagit_py(&["--validate"], &d.join(&out));
        assert!(ok, "{said}");
        // Byte for byte, every file and nothing else (names in NFC, as
        // packing stores them, SPEC §11.1).
        assert_eq!(payload(&src), payload(&d.join(&out)));
        let info = fs::read_to_string(d.join(&out).join("bag-info.txt")).unwrap();
        assert!(
            info.contains("Source-Organization: Records Office\n"),
            "{info}"
        );
        assert!(info.contains("Bagging-Date: "), "{info}");
        assert_eq!(info.matches("Payload-Oxum").count(), 1, "{info}");
        let original = fs::read_to_string(src.join("bag-info.txt")).unwrap();
        let oxum = original
            .lines()
            .find(|l| l.starts_with("Payload-Oxum: "))
            .unwrap();
        assert!(info.contains(oxum), "{oxum} in {info}");
        let validation =
            fs::read_to_string(d.join(&out).join("legation-bag-validation.txt")).unwrap();
        assert!(validation.contains("Outcome: valid\n"), "{validation}");
        assert!(
            validation.contains("Payload-Manifests: sha256 sha512\n"),
            "{validation}"
        );
    }
}

#[test]
fn pack_from_bag_refuses_an_invalid_bag_naming_each_failing_file() {
    let t = Tmp::new("from-bag-invalid");
    let d = &t.0;
    let src = bagit_py_bag(d);
    assert_eq!(code(&run(&["keygen", "recipient", "-o", "alice"], d)), 0);
    fs::write(src.join("data/with space.md"), "# T\n").unwrap();
    fs::remove_file(src.join("data/empty")).unwrap();
    fs::write(src.join("data/extra.txt"), "not in any manifest\n").unwrap();
    let o = run(
        &["pack", "in", "--from-bag", "-o", "a.lgn", "-r", "alice.pub"],
        d,
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let said = stderr(&o);
    for what in [
        "not a valid bag",
        "\"data/with space.md\": sha256 checksum is",
        "\"data/with space.md\": sha512 checksum is",
        "\"data/empty\": listed in manifest-sha256.txt but not in the bag",
        "\"data/extra.txt\": in the payload but not listed in manifest-sha256.txt",
        "Payload-Oxum is",
    ] {
        assert!(said.contains(what), "{what:?} in {said}");
    }
    assert!(!d.join("a.lgn").exists());
}

#[test]
fn pack_of_a_bag_needs_from_bag_and_refuses_what_no_record_may_be() {
    let t = Tmp::new("from-bag-names");
    let d = &t.0;
    bagit_py_bag(d);
    assert_eq!(code(&run(&["keygen", "recipient", "-o", "alice"], d)), 0);
    // A folder that looks like a bag is not packed as a folder unawares
    // (packed as a folder, x.dc.json would be a sidecar: not this test's).
    fs::remove_file(d.join("in/data/x.dc.json")).unwrap();
    let o = run(&["pack", "in", "-o", "a.lgn", "-r", "alice.pub"], d);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("looks like a BagIt bag"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("--from-bag"), "{}", stderr(&o));
    let o = run(
        &[
            "pack",
            "in",
            "--not-a-bag",
            "-o",
            "a.lgn",
            "-r",
            "alice.pub",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(&["ls", "a.lgn", "-i", "alice.key"], d);
    assert!(crate::common::stdout(&o).contains("manifest-sha256.txt"));
    // A name with a line break, which a manifest can carry as %0A: a
    // bag made by hand, valid by RFC 8493, refused naming it.
    let bag = d.join("lf");
    fs::create_dir_all(bag.join("data")).unwrap();
    fs::write(
        bag.join("bagit.txt"),
        "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
    )
    .unwrap();
    fs::write(bag.join("data/a\nb.txt"), "x").unwrap();
    fs::write(
        bag.join("manifest-sha256.txt"),
        "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881  data/a%0Ab.txt\n",
    )
    .unwrap();
    let o = run(
        &["pack", "lf", "--from-bag", "-o", "b.lgn", "-r", "alice.pub"],
        d,
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("\"a\\nb.txt\": a line break"),
        "{}",
        stderr(&o)
    );
    assert!(!d.join("b.lgn").exists());
    // The payload's own .legation/ folder is refused, bag or not.
    fs::remove_file(bag.join("data/a\nb.txt")).unwrap();
    fs::create_dir_all(bag.join("data/.legation")).unwrap();
    fs::write(bag.join("data/.legation/bag-info.txt"), "x").unwrap();
    fs::write(
        bag.join("manifest-sha256.txt"),
        "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881  data/.legation/bag-info.txt\n",
    )
    .unwrap();
    let o = run(
        &["pack", "lf", "--from-bag", "-o", "b.lgn", "-r", "alice.pub"],
        d,
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("reserved"), "{}", stderr(&o));
    let o = run(&["pack", "lf/data", "-o", "b.lgn", "-r", "alice.pub"], d);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains(".legation/"), "{}", stderr(&o));
}

/// `ls --json`'s records: (path, `legation:puid`).
fn stored_puids(d: &Path, archive: &str) -> Vec<(String, Vec<String>)> {
    let o = run(&["ls", archive, "--json", "-i", "alice.key"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&crate::common::stdout(&o)).unwrap();
    let records = v
        .as_array()
        .or_else(|| v["records"].as_array())
        .expect("an array of records");
    records
        .iter()
        .map(|r| {
            let puid = r["metadata"]["legation:puid"]
                .as_array()
                .unwrap_or_else(|| panic!("no legation:puid: {r}"))
                .iter()
                .map(|s| s.as_str().unwrap().to_owned())
                .collect();
            (r["path"].as_str().unwrap().to_owned(), puid)
        })
        .collect()
}

/// Packs `src` (absolute) for alice in `d` as `archive`, format `format`.
fn pack_for_alice(d: &Path, src: &Path, archive: &str, format: &str) {
    if !d.join("alice.key").exists() {
        assert_eq!(code(&run(&["keygen", "recipient", "-o", "alice"], d)), 0);
    }
    let o = run(
        &[
            "pack",
            src.to_str().unwrap(),
            "-o",
            archive,
            "-r",
            "alice.pub",
            "--format",
            format,
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn every_record_of_samples_national_is_packed_with_its_puid() {
    let t = Tmp::new("puid-national");
    let d = &t.0;
    let national = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/national");
    pack_for_alice(d, &national, "n.lgn", "2.0");
    let stored = stored_puids(d, "n.lgn");
    // 514 records, each with its Dublin Core sidecar.
    assert_eq!(stored.len(), 514);
    for (path, v) in stored {
        let ext = path.rsplit('.').next().unwrap();
        // As interchange/tests/pronom.rs knows these files.
        let want: &[&[&str]] = match ext {
            "json" => &[&["fmt/817", "extension"]],
            "csv" => &[&["x-fmt/18", "extension"]],
            "md" => &[&["fmt/1149", "extension"]],
            "png" => &[&["fmt/11", "signature"], &["fmt/12", "signature"]],
            "tif" => &[&["fmt/353", "signature"]],
            "ebc" => &[&["unidentified"]],
            other => panic!("{path}: a kind this test does not know: .{other}"),
        };
        assert_eq!(v.last().map(String::as_str), Some("PRONOM 109"), "{path}");
        assert!(
            want.iter().any(|w| v[..v.len() - 1] == **w),
            "{path}: {v:?}"
        );
    }
    // `info` with a key: one row a format, counting what `ls` shows.
    let mut counts = std::collections::BTreeMap::new();
    for (_, v) in stored_puids(d, "n.lgn") {
        let row = match v.len() {
            3 => (v[0].clone(), v[1].clone()),
            _ => ("-".to_owned(), v[0].clone()),
        };
        *counts.entry(row).or_insert(0) += 1;
    }
    let o = run(&["info", "n.lgn", "-i", "alice.key"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = crate::common::stdout(&o);
    let table = &out[out.find("\npuid ").expect("a formats table") + 1..];
    assert!(
        table
            .lines()
            .next()
            .unwrap()
            .ends_with("format (PRONOM 109)"),
        "{table}"
    );
    let rows: std::collections::BTreeMap<(String, String), u64> = table
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            ((f[0].to_owned(), f[1].to_owned()), f[2].parse().unwrap())
        })
        .collect();
    assert_eq!(rows, counts, "{table}");
    assert!(
        table.contains("fmt/353        signature            12  Tagged Image File Format"),
        "{table}"
    );
    // Without a key: no table.
    let o = run(&["info", "n.lgn"], d);
    assert!(!crate::common::stdout(&o).contains("\npuid "));
}

/// `pack --update` identifies the records it adds or changes as `pack`
/// does.
#[test]
fn records_of_a_generation_get_their_puid() {
    let t = packed("puid-update");
    let d = &t.0;
    crate::common::pack_v2(d, "g.00000000.lgn");
    fs::write(d.join("src/legal/new.txt"), "a new act\n").unwrap();
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend([0; 17]);
    png.extend(b"\0\0\0\0IEND\xaeB`\x82");
    fs::write(d.join("src/legal/scan.dat"), &png).unwrap();
    let o = run(
        &[
            "pack",
            "src",
            "--update",
            "g.00000000.lgn",
            "-o",
            "g.00000001.lgn",
            "-i",
            "alice.key",
            "--sign",
            "gov.key",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // A generation's own listing leaves metadata out: its records are
    // listed from one self-contained file of it.
    fs::create_dir(d.join("one")).unwrap();
    let o = run(
        &[
            "compact",
            ".",
            "--generation",
            "1",
            "-o",
            "one/c.lgn",
            "-i",
            "alice.key",
            "--sign",
            "gov.key",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let stored = stored_puids(d, "one/c.lgn");
    let of = |p: &str| {
        &stored
            .iter()
            .find(|(path, _)| path == p)
            .unwrap_or_else(|| panic!("{p} not in {stored:?}"))
            .1
    };
    assert_eq!(
        of("legal/new.txt"),
        &["x-fmt/111", "extension", "PRONOM 109"]
    );
    assert_eq!(of("legal/scan.dat")[..2], ["fmt/11", "signature"]);
}

#[test]
fn every_file_of_the_shared_corpus_is_packed_with_its_puid() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    let t = Tmp::new("puid-corpus");
    let d = &t.0;
    pack_for_alice(d, &corpus, "c.lgn", "1.3");
    let stored = stored_puids(d, "c.lgn");
    // ../shared/corpus/README.md says what each file is.
    let want = [
        ("README.md", "fmt/1149 extension"),
        ("images/astronaut.png", "fmt/12 signature"),
        ("images/camera.png", "fmt/11 signature"),
        ("images/chessboard_GRAY.png", "fmt/12 signature"),
        ("images/chessboard_RGB.png", "fmt/11 signature"),
        ("images/logo.png", "fmt/11 signature"),
        ("images/microaneurysms.png", "fmt/11 signature"),
        ("images/multipage_rgb.tif", "fmt/353 signature"),
        ("registers/iso_15924.json", "fmt/817 extension"),
        ("registers/iso_3166-3.json", "fmt/817 extension"),
        ("registers/iso_639-5.json", "fmt/817 extension"),
        ("tables/iowa-electricity.csv", "x-fmt/18 extension"),
        ("tables/la-riots.csv", "x-fmt/18 extension"),
        ("tables/stocks.csv", "x-fmt/18 extension"),
        ("texts/Artistic", "unidentified"),
        ("texts/BSD", "unidentified"),
        ("texts/GPL-2", "unidentified"),
        ("texts/LGPL-2.1", "unidentified"),
    ];
    let got: Vec<(String, String)> = stored
        .into_iter()
        .map(|(p, v)| (p, v[..v.len() - 1].join(" ")))
        .collect();
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(p, v)| (p.to_string(), v.to_string()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn premis_export_validates_against_the_premis_3_schema() {
    let t = Tmp::new("premis-export");
    let d = &t.0;
    bagit_py_bag(d);
    assert_eq!(code(&run(&["keygen", "recipient", "-o", "alice"], d)), 0);
    assert_eq!(code(&run(&["keygen", "issuer", "-o", "gov"], d)), 0);
    pack_signed_bag(d, "a.lgn", "2.0");
    let check = |file: &str| {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../interchange/tests/premis_check.py");
        let out = Command::new("python3")
            .arg(script)
            .arg(d.join(file))
            .output()
            .expect("python3 with xmlschema (scripts/test.sh installs it)");
        let said = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{said}");
        said
    };
    // With a key: the archive and its 8 records (6 payload files and the
    // two under .legation/), ingestion, signature, the bag's validation,
    // 8 format identifications and the renderings recorded.
    let o = run(&["premis", "a.lgn", "-o", "full.xml", "-i", "alice.key"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let said = check("full.xml");
    assert!(
        said.contains("valid against the PREMIS 3.0 schema): 9 objects"),
        "{said}"
    );
    let xml = fs::read_to_string(d.join("full.xml")).unwrap();
    for part in [
        "<premis:eventType>validation</premis:eventType>",
        "<premis:eventType>format identification</premis:eventType>",
        "<premis:eventType>rendering</premis:eventType>",
        "<premis:eventType>digital signature generation</premis:eventType>",
        "<premis:formatRegistryKey>x-fmt/18</premis:formatRegistryKey>",
        "<premis:originalName>100% of it.csv</premis:originalName>",
        "<premis:messageDigestAlgorithm>BLAKE3</premis:messageDigestAlgorithm>",
    ] {
        assert!(xml.contains(part), "{part} in {xml}");
    }
    // Without a key: the archive, its packing and signature only.
    let o = run(&["premis", "a.lgn", "-o", "public.xml"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let said = check("public.xml");
    assert!(said.contains("schema): 1 objects, 2 events"), "{said}");
    // An existing file is kept unless --force.
    let o = run(&["premis", "a.lgn", "-o", "public.xml"], d);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}

/// Office documents, an OpenDocument text and an EPUB (made by Python's
/// `zipfile` in their real structure), packed from a folder and from a
/// bag: each record's `legation:puid` is its own format by container
/// signature, `info -i` counts it, the PREMIS export names it.
#[test]
fn containers_are_packed_with_their_container_puid() {
    let t = Tmp::new("puid-containers");
    let d = &t.0;
    let src = d.join("in");
    fs::create_dir_all(&src).unwrap();
    let script = r#"
import sys, zipfile
d = sys.argv[1]
ct = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
      '<Default Extension="xml" ContentType="application/xml"/>'
      '<Override PartName="/MAIN" ContentType="application/vnd.openxmlformats-officedocument.TYPE"/></Types>')
def ooxml(name, main, typ):
    with zipfile.ZipFile(d + "/" + name, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", ct.replace("MAIN", main).replace("TYPE", typ))
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        z.writestr(main, '<?xml version="1.0"?><doc/>')
ooxml("act.docx", "word/document.xml", "wordprocessingml.document.main+xml")
ooxml("census.xlsx", "xl/workbook.xml", "spreadsheetml.sheet.main+xml")
with zipfile.ZipFile(d + "/act.odt", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
    z.writestr("content.xml", '<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" office:version="1.2"/>')
    z.writestr("META-INF/manifest.xml", '<?xml version="1.0" encoding="UTF-8"?>\n<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/></manifest:manifest>')
with zipfile.ZipFile(d + "/gazette.epub", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
    z.writestr("META-INF/container.xml", '<?xml version="1.0"?><container/>')
with zipfile.ZipFile(d + "/plain.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("a.txt", "hello")
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let release = "PRONOM 109, container 20200121";
    let want = [
        (
            "act.docx",
            "fmt/412",
            "container: [Content_Types].xml",
            release,
        ),
        (
            "census.xlsx",
            "fmt/214",
            "container: [Content_Types].xml",
            release,
        ),
        (
            "act.odt",
            "fmt/291",
            "container: META-INF/manifest.xml, content.xml",
            release,
        ),
        ("gazette.epub", "fmt/483", "container: mimetype", release),
        ("plain.zip", "x-fmt/263", "signature", "PRONOM 109"),
    ];
    let check = |archive: &str, prefix: &str| {
        let stored: std::collections::BTreeMap<String, Vec<String>> =
            stored_puids(d, archive).into_iter().collect();
        for (name, puid, basis, rel) in want {
            assert_eq!(
                stored.get(&format!("{prefix}{name}")).map(Vec::as_slice),
                Some(&[puid.to_owned(), basis.to_owned(), rel.to_owned()][..]),
                "{archive}: {name}"
            );
        }
        let o = run(&["info", archive, "-i", "alice.key"], d);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let out = crate::common::stdout(&o);
        let table = &out[out.find("\npuid ").expect("a formats table") + 1..];
        assert!(table.lines().next().unwrap().contains(release), "{table}");
        for row in [
            "fmt/412        container: [Content_Types].xml          1  Microsoft Word for Windows 2007 onwards",
            "fmt/291        container: META-INF/manifest.xml, content.xml          1  OpenDocument Text 1.2",
            "fmt/483        container: mimetype          1  ePub format",
            "x-fmt/263      signature             1  ZIP Format",
        ] {
            assert!(table.contains(row), "{row} in {table}");
        }
        let xml = format!("{archive}.premis.xml");
        let o = run(&["premis", archive, "-o", &xml, "-i", "alice.key"], d);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let xml = fs::read_to_string(d.join(&xml)).unwrap();
        for part in [
            "<premis:formatRegistryKey>fmt/412</premis:formatRegistryKey>",
            "<premis:formatRegistryKey>fmt/483</premis:formatRegistryKey>",
            "identified by container: [Content_Types].xml (PRONOM 109, container 20200121)",
        ] {
            assert!(xml.contains(part), "{part} in {archive}'s PREMIS");
        }
    };
    pack_for_alice(d, &src, "folder.lgn", "2.0");
    check("folder.lgn", "");
    let (ok, said) = bagit_py(&["--quiet"], &src);
    assert!(ok, "{said}");
    assert_eq!(code(&run(&["keygen", "issuer", "-o", "gov"], d)), 0);
    pack_signed_bag(d, "bag.lgn", "2.0");
    check("bag.lgn", "");
}
