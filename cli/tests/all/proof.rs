//! `legation check-proof`: proofs built with the format crate's own
//! functions (a records tree of made-up leaves around one real record, a
//! head, a signature), checked by the binary good and tampered.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use legation_format::catalog::{Encoding, Render};
use legation_format::crypto::{fingerprint, DataKey};
use legation_format::keys::{format_key_file, IssuerKey, ISSUER_PUBLIC};
use legation_format::v2::head::{self, Head};
use legation_format::v2::page::Record;
use legation_format::v2::proof::Proof;
use legation_format::v2::tree;

use crate::common::{code, run, stderr, stdout, Tmp};

const BODY: &[u8] = b"id;name;born\n42;Ada;1815-12-10\n";
const PATH: &str = "registers/births/1815/0042.csv";

/// Record 7 of the last page of archive `archive` of 4096 + 10 records,
/// signed by `issuer`.
fn proof(issuer: &IssuerKey, archive: [u8; 16]) -> Proof {
    proof_with(issuer, archive, |_| {})
}

/// [`proof`] of the record as `edit` changes it.
fn proof_with(issuer: &IssuerKey, archive: [u8; 16], edit: impl Fn(&mut Record)) -> Proof {
    let mut rec = Record {
        path: PATH.into(),
        title: None,
        media_type: "text/csv".into(),
        size: BODY.len() as u64,
        blake3: *blake3::hash(BODY).as_bytes(),
        modified: Some(1_795_775_512),
        decoder: None,
        render: Some(Render::Rendered {
            blake3: [9; 32],
            pages: 0,
        }),
        metadata: BTreeMap::new(),
        encoding: Encoding::Identity,
        stored_size: BODY.len() as u64,
        new_bundle: false,
    };
    edit(&mut rec);
    let salt = tree::record_salt(&DataKey::from_bytes([1; 32]), &archive, &rec.path);
    let leaf = rec.leaf(&salt).unwrap();
    let leaves: Vec<[u8; 32]> = (0..10u32)
        .map(|i| {
            if i == 7 {
                tree::leaf_hash(&leaf)
            } else {
                tree::leaf_hash(&i.to_le_bytes())
            }
        })
        .collect();
    let pages = [
        tree::leaf_hash(blake3::hash(b"page 0").as_bytes()),
        tree::leaf_hash(&tree::root(&leaves)),
    ];
    let head = Head {
        archive_id: archive,
        sequence: 0,
        previous: [0; 32],
        created: 1_795_775_512,
        records: 4106,
        bytes: 400_000,
        records_root: tree::root(&pages),
        entries: [2; 32],
        public: [3; 32],
    }
    .to_bytes();
    let signatures = head::signatures_to_bytes(&[head::sign(issuer, &head)]);
    Proof {
        page: 1,
        pages: 2,
        record: 7,
        page_records: 10,
        leaf,
        page_path: tree::path(&leaves, 7),
        pages_path: tree::path(&pages, 1),
        head,
        signatures,
    }
}

fn write_public(d: &Path, name: &str, k: &IssuerKey) {
    let text = format_key_file(ISSUER_PUBLIC, &k.public(), "test issuer");
    fs::write(d.join(name), text.as_bytes()).unwrap();
}

#[test]
fn check_proof_good_and_tampered() {
    let t = Tmp::new("check-proof");
    let d = &t.0;
    let gov = IssuerKey::from_bytes([7; 32]);
    let other = IssuerKey::from_bytes([8; 32]);
    write_public(d, "gov.pub", &gov);
    write_public(d, "other.pub", &other);
    let p = proof(&gov, [0x42; 16]);
    fs::write(d.join("good.proof"), p.to_bytes()).unwrap();
    fs::write(d.join("record.csv"), BODY).unwrap();

    // Good, pinned, with the record's bytes.
    let args = [
        "check-proof",
        "good.proof",
        "--record",
        "record.csv",
        "--issuer",
        "gov.pub",
    ];
    let o = run(&args, d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    for want in [
        "archive    42424242424242424242424242424242".to_string(),
        "sequence   0".into(),
        "created    2026-11-27T10:31:52Z".into(),
        format!("record     {PATH}"),
        format!("size       {} bytes", BODY.len()),
        format!("blake3     {}", blake3::hash(BODY).to_hex()),
        "media type text/csv".into(),
        format!("signed by  {} (pinned)", fingerprint(&gov.public())),
        "record file record.csv matches (size and BLAKE3)".into(),
        "The proof holds".into(),
    ] {
        assert!(out.contains(&want), "{want:?} not in:\n{out}");
    }
    assert!(!stderr(&o).contains("NOT pinned"));

    // Good, nothing pinned: holds, and says the signer is not pinned.
    let o = run(&["check-proof", "good.proof"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("NOT pinned"), "{}", stderr(&o));
    assert!(stdout(&o).contains("record file not given"));

    // Each tampering fails with exit 1 and says what.
    let mut changed = BODY.to_vec();
    changed[20] ^= 1;
    fs::write(d.join("changed.csv"), &changed).unwrap();
    let mut path_swapped = p.clone();
    path_swapped.page_path.swap(0, 1);
    let mut unsigned = p.clone();
    unsigned.signatures.clear();
    let mut bad_sig = p.clone();
    bad_sig.signatures = head::signatures_to_bytes(&[head::sign(&gov, b"another head")]);
    let mut wrong_count = p.clone();
    wrong_count.pages = 3;
    // Another archive's head and its valid signature, this one's leaf.
    let another = proof(&gov, [0x43; 16]);
    let mut other_head = p.clone();
    other_head.head = another.head;
    other_head.signatures = another.signatures;
    fs::write(d.join("other.proof"), other_head.to_bytes()).unwrap();
    fs::write(d.join("swapped.proof"), path_swapped.to_bytes()).unwrap();
    fs::write(d.join("unsigned.proof"), unsigned.to_bytes()).unwrap();
    fs::write(d.join("badsig.proof"), bad_sig.to_bytes()).unwrap();
    fs::write(d.join("count.proof"), wrong_count.to_bytes()).unwrap();
    let mut truncated = p.to_bytes();
    truncated.truncate(truncated.len() / 2);
    fs::write(d.join("truncated.proof"), truncated).unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["check-proof", "good.proof", "--record", "changed.csv"],
            "the record file's BLAKE3",
        ),
        (
            &["check-proof", "good.proof", "--issuer", "other.pub"],
            "not signed by the pinned issuer",
        ),
        (&["check-proof", "swapped.proof"], "not the head's"),
        (&["check-proof", "other.proof"], "not the head's"),
        (&["check-proof", "unsigned.proof"], "not signed"),
        (
            &["check-proof", "badsig.proof"],
            "does not verify over the head",
        ),
        (
            &["check-proof", "count.proof"],
            "3 pages, but the head's 4106",
        ),
        (&["check-proof", "truncated.proof"], "proof: "),
    ];
    for (args, why) in cases {
        let o = run(args, d);
        assert_eq!(code(&o), 1, "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("the proof does NOT hold"), "{args:?}: {err}");
        assert!(err.contains(why), "{args:?}: {why:?} not in {err}");
        assert!(!stdout(&o).contains("The proof holds"));
    }

    // Files that cannot be read: exit 2.
    for args in [
        &["check-proof", "missing.proof"][..],
        &["check-proof", "good.proof", "--record", "missing.csv"],
        &["check-proof", "good.proof", "--issuer", "missing.pub"],
        &["check-proof", "good.proof", "--issuer", "record.csv"],
    ] {
        let o = run(args, d);
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn check_proof_shows_the_proven_facts_cleaned() {
    // A forged proof (signed by the forger's own key, which holds unless
    // an issuer is pinned) whose media type carries terminal escapes that
    // would erase the "NOT pinned" warning and draw a pinned signer's
    // line, and whose path carries a bidirectional override that shows
    // `txt.exe` as `exe.txt`: the facts are shown, never obeyed (the
    // command's output macros clean every line, src/output.rs).
    let t = Tmp::new("check-proof-clean");
    let d = &t.0;
    let forger = IssuerKey::from_bytes([9; 32]);
    let escape = "text/csv\u{1b}[2K\u{1b}[1A\rsigned by  gov (pinned)\u{7}";
    let p = proof_with(&forger, [0x44; 16], |r| {
        r.media_type = escape.into();
        r.path = "registers/\u{202e}txt.exe".into();
    });
    fs::write(d.join("forged.proof"), p.to_bytes()).unwrap();
    let o = run(&["check-proof", "forged.proof"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let (out, err) = (stdout(&o), stderr(&o));
    for text in [&out, &err] {
        assert!(
            !text.chars().any(legation_html::unsafe_to_show),
            "unsafe characters shown: {text:?}"
        );
    }
    assert!(
        out.contains("media type text/csv\u{fffd}[2K\u{fffd}[1A\u{fffd}signed by"),
        "{out}"
    );
    assert!(
        out.contains("record     registers/\u{fffd}txt.exe"),
        "{out}"
    );
    assert!(err.contains("NOT pinned"), "{err}");
    // A refusal's words are cleaned too (the record file does not match).
    fs::write(d.join("record.csv"), b"x").unwrap();
    let o = run(
        &["check-proof", "forged.proof", "--record", "record.csv"],
        d,
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(!stderr(&o).chars().any(legation_html::unsafe_to_show));
}
