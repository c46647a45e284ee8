//! `pack --embed-viewer`: the archive carries the one-file browser viewer
//! as a plain `viewer.html` entry, pinned by the signed manifest, that a
//! stock ZIP tool takes out byte for byte (format 1.1, SPEC §4.1).

use crate::common;

use std::fs;

use common::*;

/// A stand-in for target/web/legation-viewer.html: what `pack` checks is
/// that it is the Legation viewer's HTML.
fn viewer_html() -> Vec<u8> {
    let mut v =
        b"<!doctype html>\n<html lang=\"en\"><head><title>Legation viewer</title></head><body>"
            .to_vec();
    v.extend((0..200_000u32).map(|i| b'a' + (i % 26) as u8));
    v.extend_from_slice(b"</body></html>\n");
    v
}

fn pack_with_viewer(t: &Tmp, viewer: &str) -> std::process::Output {
    run(
        &[
            "pack",
            "src",
            "-o",
            "v.lgn",
            "--recipient",
            "alice.pub",
            "--sign",
            "gov.key",
            "--embed-viewer",
            viewer,
            // These cases read 1.x's signed manifest.
            "--format",
            "1.3",
        ],
        &t.0,
    )
}

#[test]
fn the_embedded_viewer_is_pinned_listed_and_taken_out_byte_for_byte() {
    let t = packed("embed-viewer");
    let html = viewer_html();
    fs::write(t.0.join("viewer.html"), &html).unwrap();
    let o = pack_with_viewer(&t, "viewer.html");
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    // The public facts name it with the hash the signed manifest pins.
    let o = run(&["ls", "v.lgn", "--json"], &t.0);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let facts: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    // 1.1 brought the viewer, 1.2 the recovery data this writer always
    // writes; the built-in decoders use vector instructions (1.3).
    assert_eq!(facts["format_version"], "1.3");
    assert_eq!(facts["viewer"]["entry"], "viewer.html");
    assert_eq!(facts["viewer"]["bytes"], html.len());
    assert_eq!(
        facts["viewer"]["blake3"],
        blake3::hash(&html).to_hex().as_str()
    );
    let info = stdout(&run(&["info", "v.lgn"], &t.0));
    assert!(
        info.contains("viewer:") && info.contains(blake3::hash(&html).to_hex().as_str()),
        "{info}"
    );

    // It is the third entry, stored: a ZIP reader that knows nothing of
    // Legation finds its bytes after its local header.
    let archive = fs::read(t.0.join("v.lgn")).unwrap();
    let at = (30..archive.len() - 11)
        .find(|&p| {
            &archive[p..p + 11] == b"viewer.html" && &archive[p - 30..p - 26] == b"PK\x03\x04"
        })
        .expect("a local header names viewer.html");
    let data = at + 11;
    assert!(
        archive[data..data + html.len()] == html[..],
        "the stored bytes differ"
    );

    // The archive still verifies, with the viewer covered by fixity, and
    // opens with the recipient's key.
    let o = run(
        &[
            "verify",
            "v.lgn",
            "--issuer",
            "gov.pub",
            "--identity",
            "alice.key",
        ],
        &t.0,
    );
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));

    // One changed byte in the viewer is damage the audit names.
    let mut bad = archive.clone();
    bad[data + 1000] ^= 0x20;
    fs::write(t.0.join("bad.lgn"), &bad).unwrap();
    let o = run(&["verify", "bad.lgn", "--issuer", "gov.pub"], &t.0);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("viewer.html") || stderr(&o).contains("viewer.html"));
}

#[test]
fn a_file_that_is_not_the_viewer_is_refused_and_nothing_is_written() {
    let t = packed("embed-not-viewer");
    fs::write(t.0.join("notes.txt"), "just some notes\n").unwrap();
    let o = pack_with_viewer(&t, "notes.txt");
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("notes.txt") && stderr(&o).contains("not the Legation one-file viewer"),
        "{}",
        stderr(&o)
    );
    assert!(!t.0.join("v.lgn").exists());
    let o = pack_with_viewer(&t, "missing.html");
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("missing.html"), "{}", stderr(&o));
    assert!(!t.0.join("v.lgn").exists());
}

#[test]
fn an_archive_without_a_viewer_names_none() {
    let t = packed("no-viewer");
    let o = run(&["ls", "a.lgn", "--json"], &t.0);
    let facts: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(facts["format_version"], "1.3");
    assert!(facts["viewer"].is_null());
}
