//! `legation convert`: format 1.x archives (the kept compat archives of
//! 1.0, 1.2 and 1.3, freshly packed ones, the 1.x test vectors) rewritten
//! as format 2.0. The output is checked twice: with the format crate alone
//! (the container, the entry table, `public.json`, the head and its
//! signature), and through the reader and the commands (`ls`, `cat`,
//! `verify`) against the 1.x archive it came from. Damaged inputs stop the
//! conversion naming the record, and leave nothing behind.

use std::fs;
use std::path::{Path, PathBuf};

use legation_format::catalog::CatalogRecord;
use legation_format::container;
use legation_format::keys;
use legation_format::manifest::DecoderRef;
use legation_format::v2::{self, entries, head, public};
use legation_reader::source::{FileSource, MemSource};
use legation_reader::{Archive, Key};
use legation_tests::raw::Raw;
use legation_tests::vectors::Outcome;

use crate::common::{bin, code, keys_and_pack, packed, run, stderr, stdout, Tmp};

/// The kept archives of released versions and what opens them.
fn compat(version: &str) -> (PathBuf, PathBuf, PathBuf) {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/compat");
    (
        d.join(version).join(format!("samples-{version}.lgn")),
        d.join("1.0/reader.key"),
        d.join(version).join("issuer.pub"),
    )
}

/// The public facts of a 2.0 archive, read with the format crate alone
/// after checking every structure that holds them: the canonical
/// container, each entry's row in `entries`, `public.json` and `entries`
/// against the head, and the head's signatures (all verify).
struct V2Facts {
    names: Vec<String>,
    public: public::Public,
    head: head::Head,
    /// Public keys whose signature over the head verifies.
    signers: Vec<Vec<u8>>,
}

fn v2_facts(file: &Path) -> V2Facts {
    let bytes = fs::read(file).unwrap();
    let tail = &bytes[bytes.len().saturating_sub(container::TAIL_LEN)..];
    let dir = container::parse_end(tail, bytes.len() as u64).unwrap();
    let cd = &bytes[dir.offset as usize..(dir.offset + dir.size) as usize];
    let list = container::parse_directory(cd, &dir).unwrap();
    let mut at = 0;
    for e in &list {
        assert_eq!(e.offset, at, "{}: entries follow one another", e.name);
        container::check_local_header(e, &bytes[e.offset as usize..e.data_offset() as usize])
            .unwrap();
        at = e.end();
    }
    assert_eq!(at, dir.offset);
    let data = |name: &str| -> &[u8] {
        let e = list.iter().find(|e| e.name == name).unwrap();
        &bytes[e.data_offset() as usize..e.end() as usize]
    };
    let names: Vec<String> = list.iter().map(|e| e.name.clone()).collect();
    let last: Vec<&str> = names[names.len() - 4..]
        .iter()
        .map(|s| s.as_str())
        .collect();
    assert_eq!(
        last,
        [
            v2::ENTRIES_ENTRY,
            v2::PUBLIC_ENTRY,
            v2::HEAD_ENTRY,
            v2::SIGNATURES_ENTRY
        ]
    );
    // Every entry before the table's tree has a row; the tree is the
    // table's (SPEC 2.0 §25.3).
    assert_eq!(names[names.len() - 5], entries::TREE_ENTRY);
    assert_eq!(
        data(entries::TREE_ENTRY),
        entries::tree_bytes(data(v2::ENTRIES_ENTRY))
    );
    let rows = entries::parse(data(v2::ENTRIES_ENTRY)).unwrap();
    assert_eq!(rows.len(), names.len() - 5);
    for (row, e) in rows.iter().zip(&list) {
        assert_eq!(row.name, e.name);
        assert_eq!(row.size, e.size);
        assert_eq!(
            row.blake3,
            *blake3::hash(data(&e.name)).as_bytes(),
            "{}",
            e.name
        );
    }
    let head_bytes = data(v2::HEAD_ENTRY);
    let head = head::Head::parse(head_bytes).unwrap();
    assert_eq!(
        head.entries,
        *blake3::hash(data(v2::ENTRIES_ENTRY)).as_bytes()
    );
    assert_eq!(
        head.public,
        *blake3::hash(data(v2::PUBLIC_ENTRY)).as_bytes()
    );
    let public = public::Public::parse(data(v2::PUBLIC_ENTRY)).unwrap();
    assert_eq!(public.version, "2.0");
    assert_eq!(public.archive_id, head.archive_id);
    let mut signers = Vec::new();
    for line in head::parse_signatures(data(v2::SIGNATURES_ENTRY)).unwrap() {
        assert_eq!(head::verify(&line, head_bytes), Some(true));
        signers.push(line.public_key);
    }
    V2Facts {
        names,
        public,
        head,
        signers,
    }
}

fn public_key(file: &Path, kind: &'static str) -> [u8; 32] {
    *keys::parse_key_file(&fs::read_to_string(file).unwrap(), kind, "key").unwrap()
}

fn identity(file: &Path) -> Key {
    Key::Identity(keys::Identity::from(
        keys::parse_key_file(
            &fs::read_to_string(file).unwrap(),
            keys::RECIPIENT_SECRET,
            "key",
        )
        .unwrap(),
    ))
}

/// Every record of an archive, in order, through the reader.
fn records(file: &Path, key: &Path) -> (Archive, Vec<CatalogRecord>) {
    let a = Archive::open(FileSource::open(file).unwrap()).unwrap();
    let u = a.unlock(&[identity(key)]).unwrap();
    let all = u.list(0, u64::MAX).unwrap();
    assert_eq!(all.len() as u64, u.record_count());
    (a, all)
}

/// What a reader sees of a record, without where its bytes are stored.
fn facts(r: &CatalogRecord) -> impl PartialEq + std::fmt::Debug {
    (
        r.path.clone(),
        r.title.clone(),
        r.media_type.clone(),
        r.size,
        r.blake3,
        r.modified.clone(),
        r.decoder.clone(),
        r.render.clone(),
        r.metadata.clone(),
    )
}

/// Checks that `new` (2.0, opened by `new_key`) holds what `old` (1.x,
/// opened by `old_key`) holds: every record's facts, decoder and render
/// outcome through the reader; `ls --json` alike; `cat` of every record
/// byte for byte; `verify` at the render level; the decoders byte for
/// byte with their descriptions.
fn same_archive(dir: &Path, old: &Path, old_key: &Path, new: &Path, new_key: &Path) {
    let (old_a, old_recs) = records(old, old_key);
    let (new_a, new_recs) = records(new, new_key);
    assert!(!old_recs.is_empty());
    assert_eq!(
        old_recs.iter().map(facts).collect::<Vec<_>>(),
        new_recs.iter().map(facts).collect::<Vec<_>>()
    );
    let mut old_dec: Vec<DecoderRef> = old_a.manifest().decoders.clone();
    let mut new_dec: Vec<DecoderRef> = new_a.manifest().decoders.clone();
    old_dec.sort_by(|a, b| a.entry.cmp(&b.entry));
    new_dec.sort_by(|a, b| a.entry.cmp(&b.entry));
    assert_eq!(old_dec, new_dec);
    for d in &old_dec {
        assert_eq!(
            old_a.read_entry(&d.entry, 64 << 20).unwrap(),
            new_a.read_entry(&d.entry, 64 << 20).unwrap(),
            "{}",
            d.entry
        );
    }

    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let ls_old = run(&["ls", &s(old), "-i", &s(old_key), "--json"], dir);
    let ls_new = run(&["ls", &s(new), "-i", &s(new_key), "--json"], dir);
    assert_eq!(code(&ls_new), 0, "{}", stderr(&ls_new));
    assert_eq!(stdout(&ls_old), stdout(&ls_new));
    for r in &old_recs {
        let a = run(&["cat", &s(old), &r.path, "-i", &s(old_key)], dir);
        let b = run(&["cat", &s(new), &r.path, "-i", &s(new_key)], dir);
        assert_eq!(code(&b), 0, "{}: {}", r.path, stderr(&b));
        assert_eq!(a.stdout.len() as u64, r.size, "{}", r.path);
        assert!(a.stdout == b.stdout, "{}: bytes differ", r.path);
    }
    for level in ["content", "render"] {
        let v = run(
            &["verify", &s(new), "-i", &s(new_key), "--level", level],
            dir,
        );
        assert_eq!(code(&v), 0, "{level}: {}{}", stdout(&v), stderr(&v));
    }
}

/// The compat archives of 1.0, 1.2 and 1.3 convert, signed by a new
/// issuer for a new recipient, and hold what they held.
#[test]
fn the_kept_compat_archives_convert_to_2_0() {
    let t = Tmp::new("convert-compat");
    let d = &t.0;
    assert_eq!(code(&run(&["keygen", "recipient", "-o", "bob"], d)), 0);
    assert_eq!(code(&run(&["keygen", "issuer", "-o", "gov"], d)), 0);
    // The test identity is kept readable by all in the repository; a copy
    // of it, owner-only, spares the warning.
    let (_, kept_key, _) = compat("1.0");
    let reader_key = d.join("reader.key");
    fs::copy(&kept_key, &reader_key).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&reader_key, fs::Permissions::from_mode(0o600)).unwrap();
    }
    let gov = public_key(&d.join("gov.pub"), keys::ISSUER_PUBLIC);
    for version in ["1.0", "1.2", "1.3"] {
        let (old, _, issuer) = compat(version);
        let new = d.join(format!("s{version}.lgn"));
        let o = run(
            &[
                "convert",
                old.to_str().unwrap(),
                "-o",
                new.to_str().unwrap(),
                "-i",
                "reader.key",
                "--issuer",
                issuer.to_str().unwrap(),
                "-r",
                "bob.pub",
                "--sign",
                "gov.key",
            ],
            d,
        );
        assert_eq!(code(&o), 0, "{version}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("(pinned)"), "{err}");
        assert!(
            err.contains(&format!(
                "converted 8 records (202.3 KiB), 0 empty folders and 6 decoders from format \
                 {version} to format 2.0"
            )),
            "{err}"
        );
        assert!(
            err.contains(&legation_format::crypto::fingerprint(&gov)),
            "{err}"
        );

        // The format crate alone: a 2.0 archive signed by gov only, for
        // bob only, with the 1.x archive's decoders and 8 records.
        let f = v2_facts(&new);
        assert_eq!(f.signers, vec![gov.to_vec()]);
        assert_eq!(f.public.issuers.len(), 1);
        assert_eq!(f.public.issuers[0].public_key, gov);
        assert_eq!(f.public.key_slots.len(), 1);
        assert_eq!(f.head.records, 8);
        let (_, old_recs) = records(&old, &reader_key);
        assert_eq!(f.head.bytes, old_recs.iter().map(|r| r.size).sum::<u64>());
        assert_eq!(f.head.sequence, 0);
        let old_a = Archive::open(FileSource::open(&old).unwrap()).unwrap();
        assert_ne!(f.public.archive_id, old_a.manifest().archive_id);
        let mut want: Vec<String> = old_a
            .manifest()
            .decoders
            .iter()
            .map(|d| d.entry.clone())
            .collect();
        want.sort();
        let mut got: Vec<String> = f
            .names
            .iter()
            .filter(|n| n.starts_with("d/"))
            .cloned()
            .collect();
        got.sort();
        assert_eq!(got, want);
        assert!(!f.names.iter().any(|n| n == "manifest.json"));

        same_archive(d, &old, &reader_key, &new, &d.join("bob.key"));
    }
}

/// A freshly packed 1.3 archive with Dublin Core, an empty file, non-ASCII
/// paths, nested empty folders and a record over 16 MiB (streamed through
/// the pipe) converts; its extraction is the same tree, empty folders
/// included.
#[test]
fn a_packed_archive_converts_with_its_empty_folders_and_a_large_record() {
    let t = Tmp::new("convert-packed");
    let d = &t.0;
    let src = d.join("src");
    fs::create_dir_all(src.join("legal")).unwrap();
    fs::create_dir_all(src.join("empty/inner")).unwrap();
    fs::create_dir_all(src.join("scans")).unwrap();
    fs::write(src.join("legal/act.md"), "# Act\n\n".repeat(500)).unwrap();
    fs::write(
        src.join("legal/act.md.dc.json"),
        r#"{"title": "The Act", "creator": ["Parliament"], "date": "2026"}"#,
    )
    .unwrap();
    fs::write(src.join("Ελλάδα.csv"), "id,name\n1,Ελένη\n").unwrap();
    fs::write(src.join("zero"), "").unwrap();
    // 17 MiB that DEFLATE cannot shrink: over COMPRESS_MAX, so streamed.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let big: Vec<u8> = (0..17usize << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    fs::write(src.join("scans/big.bin"), &big).unwrap();
    let o = keys_and_pack(d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(
        &[
            "convert",
            "a.lgn",
            "-o",
            "b.lgn",
            "-i",
            "alice.key",
            "--issuer",
            "gov.pub",
            "-r",
            "alice.pub",
            "--sign",
            "gov.key",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("converted 4 records (17.0 MiB), 1 empty folders and"),
        "{}",
        stderr(&o)
    );
    let f = v2_facts(&d.join("b.lgn"));
    assert_eq!(f.head.records, 4);
    assert_eq!(
        f.head.bytes,
        fs::read(src.join("legal/act.md")).unwrap().len() as u64
            + "id,name\n1,Ελένη\n".len() as u64
            + big.len() as u64
    );
    same_archive(
        d,
        &d.join("a.lgn"),
        &d.join("alice.key"),
        &d.join("b.lgn"),
        &d.join("alice.key"),
    );
    for (archive, out) in [("a.lgn", "x1"), ("b.lgn", "x2")] {
        let o = run(&["extract", archive, "-o", out, "-i", "alice.key"], d);
        assert_eq!(code(&o), 0, "{archive}: {}", stderr(&o));
    }
    assert!(d.join("x2/empty/inner").is_dir());
    assert_eq!(tree(&d.join("x1")), tree(&d.join("x2")));
    assert!(fs::read(d.join("x2/scans/big.bin")).unwrap() == big);

    // The large record damaged in the 1.x input, two ways: its catalog
    // BLAKE3 changed (every chunk still opens), or one bit of its sealed
    // bytes flipped. Each stops the streamed copy naming the record; the
    // manifest is resealed (unsigned) so that only the record is wrong.
    let raw = Raw::parse(&fs::read(d.join("a.lgn")).unwrap());
    let a = Archive::open(FileSource::open(&d.join("a.lgn")).unwrap()).unwrap();
    let u = a.unlock(&[identity(&d.join("alice.key"))]).unwrap();
    let rec = u.find("scans/big.bin").unwrap();
    let page = u.index().page_for("scans/big.bin").unwrap() as u64;
    let mut hash = raw.clone();
    hash.edit_page(u.data_key(), page, |p| {
        for r in p.records.iter_mut().filter(|r| r.path == "scans/big.bin") {
            r.blake3[0] ^= 1;
        }
    });
    let mut flip = raw.clone();
    flip.get_mut(&rec.entry)[9 << 20] ^= 0x20;
    for (name, mut damaged, what) in [
        ("hash.lgn", hash, "BLAKE3 of the bytes differs"),
        ("flip.lgn", flip, "scans/big.bin"),
    ] {
        damaged.reseal(None, |_| {});
        fs::write(d.join(name), damaged.build()).unwrap();
        let o = run(
            &[
                "convert",
                name,
                "-o",
                "c.lgn",
                "-i",
                "alice.key",
                "-r",
                "alice.pub",
                "--sign",
                "gov.key",
            ],
            d,
        );
        assert_eq!(code(&o), 1, "{name}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("record scans/big.bin"), "{name}: {err}");
        assert!(err.contains(what), "{name}: {err}");
        assert!(!d.join("c.lgn").exists(), "{name}");
        assert!(
            !fs::read_dir(d).unwrap().any(|e| e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".lgn.partial")),
            "{name}: a partial file is left"
        );
    }
}

/// Every file and folder under `root`, relative, with its bytes.
fn tree(root: &Path) -> Vec<(String, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        for e in fs::read_dir(&p).unwrap() {
            let e = e.unwrap().path();
            let rel = e.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if e.is_dir() {
                out.push((rel, None));
                stack.push(e);
            } else {
                out.push((rel, Some(fs::read(&e).unwrap())));
            }
        }
    }
    out.sort();
    out
}

/// No file left in `d` but those named: no partial output.
fn only(d: &Path, names: &[&str]) {
    let mut got: Vec<String> = fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".key") && !n.ends_with(".pub") && n != "src")
        .collect();
    got.sort();
    let mut want: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(got, want);
}

/// What convert refuses, and that it writes nothing when it does.
#[test]
fn convert_refuses_without_keys_a_signer_or_a_1x_input() {
    let t = packed("convert-refusals");
    let d = &t.0;
    let base = ["convert", "a.lgn", "-o", "b.lgn", "-i", "alice.key"];
    let with = |extra: &[&str]| {
        let mut v: Vec<&str> = base.to_vec();
        v.extend_from_slice(extra);
        run(&v, d)
    };

    // No key for the new archive.
    let o = with(&["--sign", "gov.key"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--recipient"), "{}", stderr(&o));
    // No signing key, and --unsigned not asked for.
    let o = with(&["-r", "alice.pub"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--sign"), "{}", stderr(&o));
    // Both.
    let o = with(&["-r", "alice.pub", "--sign", "gov.key", "--unsigned"]);
    assert_eq!(code(&o), 2);
    // No key that opens the input.
    let o = run(
        &[
            "convert",
            "a.lgn",
            "-o",
            "b.lgn",
            "-r",
            "alice.pub",
            "--sign",
            "gov.key",
        ],
        d,
    );
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    // A pinned issuer that did not sign it: refused before unlocking.
    assert_eq!(code(&run(&["keygen", "issuer", "-o", "other"], d)), 0);
    let o = with(&[
        "-r",
        "alice.pub",
        "--sign",
        "gov.key",
        "--issuer",
        "other.pub",
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("refusing to read the archive"),
        "{}",
        stderr(&o)
    );
    only(d, &["a.lgn"]);

    // Unsigned, when asked for, with a passphrase as the new key.
    fs::write(d.join("pass.txt"), "correct horse battery staple tide\n").unwrap();
    let o = with(&["--new-passphrase-file", "pass.txt", "--unsigned"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("into b.lgn, unsigned"),
        "{}",
        stderr(&o)
    );
    let f = v2_facts(&d.join("b.lgn"));
    assert!(f.signers.is_empty() && f.public.issuers.is_empty());
    assert_eq!(f.public.key_slots.len(), 1);
    let o = bin()
        .args(["cat", "b.lgn", "legal/act.md"])
        .env("LEGATION_PASSPHRASE", "correct horse battery staple tide")
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(o.stdout == "# Act\n\n".repeat(500).as_bytes());

    // An existing output is kept without --force, replaced with it.
    let before = fs::read(d.join("b.lgn")).unwrap();
    let o = with(&["-r", "alice.pub", "--sign", "gov.key"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert!(fs::read(d.join("b.lgn")).unwrap() == before);
    let o = with(&["-r", "alice.pub", "--sign", "gov.key", "--force"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(v2_facts(&d.join("b.lgn")).signers.len(), 1);

    // A 2.0 input.
    let o = run(
        &[
            "convert",
            "b.lgn",
            "-o",
            "c.lgn",
            "-i",
            "alice.key",
            "-r",
            "alice.pub",
            "--sign",
            "gov.key",
        ],
        d,
    );
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("already format 2.0"), "{}", stderr(&o));
    only(d, &["a.lgn", "b.lgn", "pass.txt"]);
}

/// The 1.x test vectors: the good ones convert (by identity, passphrase,
/// unsigned, with a decoder) and verify; a record whose bytes differ from
/// its catalog BLAKE3, and one whose sealed bytes were flipped, stop the
/// conversion naming the record, and nothing is written.
#[test]
fn test_vectors_convert_or_stop_at_the_damaged_record() {
    let t = Tmp::new("convert-vectors");
    let d = &t.0;
    assert_eq!(code(&run(&["keygen", "recipient", "-o", "bob"], d)), 0);
    assert_eq!(code(&run(&["keygen", "issuer", "-o", "gov"], d)), 0);
    let all = legation_tests::vectors::all();
    let cases = [
        ("good-identity", None),
        ("good-passphrase", None),
        ("good-unsigned", None),
        ("good-with-decoder", None),
        ("record-hash-mismatch", Some("BLAKE3 of the bytes differs")),
        ("record-larger-than-declared", Some("more than")),
        ("bitflip-record-data", Some("")),
    ];
    for (name, fails) in cases {
        let v = all.iter().find(|v| v.name == name).unwrap();
        let input = d.join(format!("{name}.lgn"));
        fs::write(&input, &v.bytes).unwrap();
        let mut c = bin();
        c.current_dir(d)
            .arg("convert")
            .arg(&input)
            .args(["-o", "out.lgn", "-r", "bob.pub", "--sign", "gov.key"]);
        if let Some(p) = &v.passphrase {
            c.env("LEGATION_PASSPHRASE", p);
        }
        if let Some(i) = &v.identity {
            let k = d.join(format!("{name}.key"));
            fs::write(&k, format!("legation-x25519-secret {i}\n")).unwrap();
            c.arg("-i").arg(&k);
        }
        if let Some(i) = &v.issuer {
            let k = d.join(format!("{name}.pub"));
            fs::write(&k, format!("legation-ed25519-public {i}\n")).unwrap();
            c.arg("--issuer").arg(&k);
        }
        let o = c.output().unwrap();
        match fails {
            None => {
                assert_eq!(code(&o), 0, "{name}: {}", stderr(&o));
                let v = run(
                    &["verify", "out.lgn", "-i", "bob.key", "--issuer", "gov.pub"],
                    d,
                );
                assert_eq!(code(&v), 0, "{name}: {}{}", stdout(&v), stderr(&v));
                fs::remove_file(d.join("out.lgn")).unwrap();
            }
            Some(what) => {
                assert_eq!(code(&o), 1, "{name}: {}", stderr(&o));
                let err = stderr(&o);
                assert!(err.contains(what), "{name}: {err}");
                assert!(err.contains("nothing written"), "{name}: {err}");
                // The record is named: the one the content check names,
                // or the one whose entry the keyless audit names.
                let path = match &v.outcome {
                    Outcome::Content(f) => f.subject.clone(),
                    Outcome::Fixity(f) => {
                        let a = Archive::open(MemSource::new(v.bytes.clone(), name)).unwrap();
                        let key = Key::Passphrase(v.passphrase.clone().unwrap().into());
                        let u = a.unlock(&[key]).unwrap();
                        let all = u.list(0, u64::MAX).unwrap();
                        all.into_iter().find(|r| r.entry == f.subject).unwrap().path
                    }
                    o => panic!("{name}: {o:?}"),
                };
                assert!(err.contains(&format!("record {path}")), "{name}: {err}");
                assert!(!d.join("out.lgn").exists(), "{name}");
                assert!(
                    !fs::read_dir(d).unwrap().any(|e| e
                        .unwrap()
                        .file_name()
                        .to_string_lossy()
                        .starts_with(".lgn.partial")),
                    "{name}: a partial file is left"
                );
            }
        }
    }
}
