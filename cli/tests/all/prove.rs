//! `legation prove`: a one-record proof from a format 2.0 archive, checked
//! by `legation check-proof` with no key and no archive; refused for 1.x.

use std::fs;
use std::path::Path;

use legation_format::keys::{self, Identity, IssuerKey};
use legation_format::v2::writer::ArchiveWriter;
use legation_format::writer::{RecordMeta, RecordSource, WriterOptions};
use rand_chacha::rand_core::SeedableRng;

use crate::common::{code, packed, run, stderr, stdout, Tmp};

/// Record `i`'s bytes.
fn bytes(i: usize) -> Vec<u8> {
    format!("person {i}: born {}\n", 1900 + i % 120).into_bytes()
}

/// In `d`: keys (`alice` recipient, `gov` issuer) made by `keygen`, and
/// `v2.lgn`, a 2.0 archive of 5000 records `people/NNNNN.txt` for alice,
/// signed by gov, written by the 2.0 writer.
fn v2_archive(d: &Path) {
    assert_eq!(code(&run(&["keygen", "recipient", "-o", "alice"], d)), 0);
    assert_eq!(code(&run(&["keygen", "issuer", "-o", "gov"], d)), 0);
    let read = |f: &str, tag| {
        let text = fs::read_to_string(d.join(f)).unwrap();
        *keys::parse_key_file(&text, tag, f).unwrap()
    };
    let identity = Identity::from_bytes(read("alice.key", keys::RECIPIENT_SECRET));
    let issuer = IssuerKey::from_bytes(read("gov.key", keys::ISSUER_SECRET));
    let opts = WriterOptions {
        created: 1_767_225_600,
        issuer: Some(issuer),
        recipients: vec![identity.public()],
        passphrases: vec![],
        embed_spec: true,
        viewer: None,
    };
    let rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    let out = fs::File::create(d.join("v2.lgn")).unwrap();
    let mut w = ArchiveWriter::new(out, opts, rng).unwrap();
    for i in 0..5000 {
        let meta = RecordMeta {
            path: format!("people/{i:05}.txt"),
            media_type: "text/plain".into(),
            ..Default::default()
        };
        w.add_record(meta, RecordSource::Bytes(&bytes(i))).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn prove_then_check_proof() {
    let t = Tmp::new("prove-v2");
    let d = &t.0;
    v2_archive(d);
    let prove = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "prove",
            "v2.lgn",
            "people/04242.txt",
            "-o",
            out,
            "-i",
            "alice.key",
            "--issuer",
            "gov.pub",
        ];
        args.extend_from_slice(extra);
        run(&args, d)
    };
    let o = prove("p.proof", &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let proof = fs::read(d.join("p.proof")).unwrap();
    assert!(proof.starts_with(b"legation-proof 2.0\n"));
    // Issue 20: at most 2 KiB plus the signatures (one Ed25519 line).
    assert!(proof.len() < 2048 + 200, "{} bytes", proof.len());
    // No temporary file is left beside it.
    let names: Vec<_> = fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".lgn.partial"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
    // An existing file is not replaced without --force.
    let o = prove("p.proof", &[]);
    assert_ne!(code(&o), 0);
    assert!(stderr(&o).contains("exists"), "{}", stderr(&o));
    assert_eq!(code(&prove("p.proof", &["--force"])), 0);

    // Checked with no key and no archive, with the record's bytes.
    fs::write(d.join("record.txt"), bytes(4242)).unwrap();
    fs::remove_file(d.join("v2.lgn")).unwrap();
    let o = run(
        &[
            "check-proof",
            "p.proof",
            "--record",
            "record.txt",
            "--issuer",
            "gov.pub",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // Other bytes than the record's are refused.
    fs::write(d.join("other.txt"), bytes(4243)).unwrap();
    let o = run(&["check-proof", "p.proof", "--record", "other.txt"], d);
    assert_ne!(code(&o), 0);
}

#[test]
fn prove_refuses_what_it_cannot_prove() {
    let t = Tmp::new("prove-refuse");
    let d = &t.0;
    v2_archive(d);
    let o = run(
        &[
            "prove",
            "v2.lgn",
            "people/99999.txt",
            "-o",
            "x.proof",
            "-i",
            "alice.key",
        ],
        d,
    );
    assert_ne!(code(&o), 0);
    assert!(stderr(&o).contains("no such record"), "{}", stderr(&o));
    assert!(!d.join("x.proof").exists());
    // Without a key.
    let o = run(&["prove", "v2.lgn", "people/00001.txt", "-o", "x.proof"], d);
    assert_ne!(code(&o), 0);
    assert!(!d.join("x.proof").exists());

    // A 1.x archive has no records tree.
    let t = packed("prove-v1");
    let o = run(
        &["prove", "a.lgn", "zero", "-o", "y.proof", "-i", "alice.key"],
        &t.0,
    );
    assert_ne!(code(&o), 0);
    assert!(
        stderr(&o).contains("format 1.x archives carry no records tree; convert first"),
        "{}",
        stderr(&o)
    );
    assert!(!t.0.join("y.proof").exists());
}

#[test]
fn the_reading_commands_read_format_2() {
    let t = Tmp::new("read-v2");
    let d = &t.0;
    v2_archive(d);
    let key = ["-i", "alice.key", "--issuer", "gov.pub"];
    let with = |args: &[&str]| {
        let mut a = args.to_vec();
        a.extend_from_slice(&key);
        let o = run(&a, d);
        assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
        stdout(&o)
    };
    assert_eq!(
        with(&["cat", "v2.lgn", "people/01234.txt"]).as_bytes(),
        bytes(1234)
    );
    let listed = with(&["ls", "v2.lgn"]);
    assert!(listed.contains("people/00000.txt") && listed.contains("people/04999.txt"));
    let out = with(&["verify", "v2.lgn"]);
    assert!(out.contains("5000 records"), "{out}");
    let o = run(&["verify", "v2.lgn", "--issuer", "gov.pub"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(&["info", "v2.lgn"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("2.0"), "{}", stdout(&o));
    with(&["extract", "v2.lgn", "-o", "out", "people/00042.txt"]);
    assert_eq!(fs::read(d.join("out/people/00042.txt")).unwrap(), bytes(42));
    // A damaged bundle is named by the keyless audit.
    let mut b = fs::read(d.join("v2.lgn")).unwrap();
    let a = legation_reader::Archive::open(legation_reader::source::MemSource::new(
        b.clone(),
        "v2.lgn",
    ))
    .unwrap();
    let at = a.entry("b/00000000").unwrap().data_offset() + 100;
    b[at as usize] ^= 1;
    fs::write(d.join("v2.lgn"), &b).unwrap();
    let o = run(&["verify", "v2.lgn"], d);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(stdout(&o).contains("b/00000000"), "{}", stdout(&o));
}

#[test]
fn info_shows_a_format_2_heads_facts() {
    let t = Tmp::new("info-v2");
    let d = &t.0;
    v2_archive(d);
    let o = run(&["info", "v2.lgn"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    let fingerprint = {
        let text = fs::read_to_string(d.join("gov.pub")).unwrap();
        let key = keys::parse_key_file(&text, keys::ISSUER_PUBLIC, "gov.pub").unwrap();
        legation_format::crypto::fingerprint(&key)
    };
    for want in [
        "format:         legation 2.0".to_owned(),
        format!(
            "generation:     sequence 0, created 2026-01-01T00:00:00Z, previous {}",
            "0".repeat(64)
        ),
        "records:        5000 records,".to_owned(),
        "(113890 bytes)".to_owned(),
        "2 catalog pages, 1 bundles".to_owned(),
        format!("signatures:     ed25519 {fingerprint} (valid)"),
        "b/00000000".to_owned(),
    ] {
        assert!(out.contains(&want), "{want:?} not in\n{out}");
    }
    assert!(!out.contains("encrypted entries"), "{out}");
    // A 2.0 signature problem names signatures, not 1.x's manifest.sig or
    // manifest.json.
    assert_eq!(code(&run(&["keygen", "issuer", "-o", "other"], d)), 0);
    let o = run(&["verify", "v2.lgn", "--issuer", "other.pub"], d);
    let said = format!("{}{}", stdout(&o), stderr(&o));
    assert_ne!(code(&o), 0, "{said}");
    assert!(said.contains("signatures: signed by"), "{said}");
    assert!(!said.contains("manifest"), "{said}");
}
