//! Defect 4: every reading command says who signed, stops at a signature that fails, and pins with `--issuer`.

use std::fs;
use std::path::Path;

use legation_format::manifest::Manifest;
use legation_format::{crypto, keys};
use legation_tests::raw::Raw;

use crate::common::{code, packed, run, stderr, stdout};

const RECORD: &str = "legal/act.md";

/// The fingerprint of `gov.pub`.
fn gov_fingerprint(d: &Path) -> String {
    let text = fs::read_to_string(d.join("gov.pub")).unwrap();
    let k = keys::parse_key_file(&text, keys::ISSUER_PUBLIC, "gov.pub").unwrap();
    crypto::fingerprint(&k)
}

/// Every command that shows content, reading `archive` with alice's key
/// and then `extra` (each writing to its own place).
fn reading(archive: &str, n: usize, extra: &[&str]) -> Vec<Vec<String>> {
    let out = format!("out-{n}");
    let html = format!("view-{n}.html");
    let cmds: [&[&str]; 5] = [
        &["ls", archive, "-i", "alice.key"],
        &["cat", archive, RECORD, "-i", "alice.key"],
        &["extract", archive, "-o", &out, "-i", "alice.key"],
        &["view", archive, RECORD, "-i", "alice.key"],
        &["render", archive, RECORD, "-o", &html, "-i", "alice.key"],
    ];
    cmds.iter()
        .map(|c| c.iter().chain(extra).map(|s| s.to_string()).collect())
        .collect()
}

fn run_s(args: &[String], d: &Path) -> std::process::Output {
    run(&args.iter().map(String::as_str).collect::<Vec<_>>(), d)
}

/// A copy of `a.lgn` whose manifest `edit` changed, still carrying the
/// issuer and the signature of the original: a host's forgery.
fn forged(
    d: &Path,
    name: &str,
    edit: impl FnOnce(&mut Raw),
    edit_manifest: impl FnOnce(&mut Manifest),
) {
    let mut r = Raw::parse(&fs::read(d.join("a.lgn")).unwrap());
    let sig = r.get(legation_format::SIGNATURE_ENTRY).clone();
    let issuer = r.manifest().issuer;
    edit(&mut r);
    r.reseal(Some(&legation_tests::other_issuer()), |m| {
        m.issuer = issuer;
        edit_manifest(m);
    });
    *r.get_mut(legation_format::SIGNATURE_ENTRY) = sig;
    fs::write(d.join(name), r.build()).unwrap();
}

/// A copy of `a.lgn` without its signature (anyone can strip it), after
/// `edit`.
fn unsigned(d: &Path, name: &str, edit: impl FnOnce(&mut Raw)) {
    let mut r = Raw::parse(&fs::read(d.join("a.lgn")).unwrap());
    edit(&mut r);
    r.reseal(None, |_| {});
    fs::write(d.join(name), r.build()).unwrap();
}

#[test]
fn every_reading_command_names_the_signer_pinned_or_not() {
    let t = packed("attack-signer-named");
    let d = &t.0;
    let fp = gov_fingerprint(d);
    for (n, args) in reading("a.lgn", 0, &[]).into_iter().enumerate() {
        let o = run_s(&args, d);
        assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("a.lgn: signed by issuer {fp} (NOT pinned")),
            "{args:?}: {}",
            stderr(&o)
        );
        let pinned = &reading("a.lgn", n + 10, &["--issuer", "gov.pub"])[n];
        let o = run_s(pinned, d);
        assert_eq!(code(&o), 0, "{pinned:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("a.lgn: signed by issuer {fp} (pinned)")),
            "{pinned:?}: {}",
            stderr(&o)
        );
    }
    let o = run(&["spec", "a.lgn", "--issuer", "gov.pub"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("(pinned)"), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("# "), "{}", stdout(&o));
}

#[test]
fn an_unsigned_archive_is_said_and_refused_under_issuer() {
    let t = packed("attack-signer-unsigned");
    let d = &t.0;
    unsigned(d, "u.lgn", |_| {});
    for (n, args) in reading("u.lgn", 0, &[]).into_iter().enumerate() {
        let o = run_s(&args, d);
        assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("u.lgn: NOT SIGNED: anyone with a recipient's public key"),
            "{args:?}: {}",
            stderr(&o)
        );
        let pinned = &reading("u.lgn", n + 10, &["--issuer", "gov.pub"])[n];
        let o = run_s(pinned, d);
        assert_eq!(code(&o), 1, "{pinned:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("archive is not signed, but issuer"),
            "{pinned:?}: {}",
            stderr(&o)
        );
        assert!(stdout(&o).is_empty(), "{pinned:?}: {}", stdout(&o));
    }
    assert!(!d.join("out-11").exists() && !d.join("view-14.html").exists());
}

#[test]
fn a_signature_that_fails_stops_every_reading_command() {
    let t = packed("attack-signer-forged");
    let d = &t.0;
    // The host changes what the manifest says (here, its date) and keeps
    // the issuer's signature.
    forged(
        d,
        "f.lgn",
        |_| {},
        |m| m.created = "2031-01-01T00:00:00Z".into(),
    );
    let mut all = reading("f.lgn", 0, &[]);
    all.push(vec!["spec".into(), "f.lgn".into()]);
    for args in all {
        let o = run_s(&args, d);
        assert_eq!(code(&o), 1, "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("f.lgn: refusing to read the archive")
                && stderr(&o).contains("signature does not verify"),
            "{args:?}: {}",
            stderr(&o)
        );
        assert!(stdout(&o).is_empty(), "{args:?}: {}", stdout(&o));
    }
    assert!(!d.join("out-2").exists() && !d.join("view-4.html").exists());
    // Another issuer pinned: refused, naming both.
    assert_eq!(code(&run(&["keygen", "issuer", "-o", "other"], d)), 0);
    let o = run(
        &[
            "cat",
            "a.lgn",
            RECORD,
            "-i",
            "alice.key",
            "--issuer",
            "other.pub",
        ],
        d,
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not by the pinned issuer"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty());
}

#[test]
fn spec_prints_an_archives_copy_only_once_checked() {
    let t = packed("attack-signer-spec");
    let d = &t.0;
    let swap = |r: &mut Raw| {
        *r.get_mut(legation_format::SPEC_ENTRY) =
            b"# Legation\n\nReaders MAY skip every check.\n".to_vec();
    };
    // Swapped, the manifest's hash updated, the signature kept.
    forged(d, "s.lgn", swap, |_| {});
    let o = run(&["spec", "s.lgn"], d);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("signature does not verify"),
        "{}",
        stderr(&o)
    );
    assert!(!stdout(&o).contains("MAY skip"), "{}", stdout(&o));
    // Swapped and the signature stripped: printed, said to be unsigned,
    // and refused when an issuer is pinned.
    unsigned(d, "su.lgn", swap);
    let o = run(&["spec", "su.lgn"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("su.lgn: NOT SIGNED"), "{}", stderr(&o));
    let o = run(&["spec", "su.lgn", "--issuer", "gov.pub"], d);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(!stdout(&o).contains("MAY skip"), "{}", stdout(&o));
}
