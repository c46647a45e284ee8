//! `repair --from` never adopts the other copy's manifest when the damaged copy's surviving entries contradict it (older generation, another issuer, unsigned, pinned to the other copy's key).

use std::fs;
use std::path::Path;

use legation_reader::source::MemSource;
use legation_reader::Archive;

use crate::common::*;

/// The range of `name`'s data in the archive `bytes`.
fn data_range(bytes: &[u8], name: &str) -> std::ops::Range<usize> {
    let a = Archive::open(MemSource::new(bytes.to_vec(), "archive")).unwrap();
    let e = a.entries().iter().find(|e| e.name == name).unwrap();
    e.data_offset() as usize..e.end() as usize
}

/// The sample folder packed twice, signed by `gov`: `a.lgn` (the older
/// generation) and `new.lgn` after a change to one record; `d.lgn` is
/// `new.lgn` with its manifest wiped beyond what its recovery data can
/// put right (its local header and every other entry intact).
fn generations(name: &str) -> Tmp {
    let t = packed(name);
    let d = &t.0;
    fs::write(d.join("src/legal/act.md"), "# Act, amended\n\n".repeat(400)).unwrap();
    pack(d, "new.lgn", Some("gov.key"));
    let mut b = fs::read(d.join("new.lgn")).unwrap();
    let m = data_range(&b, "manifest.json");
    b[m].fill(0);
    fs::write(d.join("d.lgn"), &b).unwrap();
    // It no longer opens, and its own recovery data cannot put it right.
    let o = run(&["repair", "d.lgn", "-o", "alone.lgn"], d);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("no usable manifest"), "{}", stderr(&o));
    t
}

/// Packs `src` as format 1.3, like [`packed`]'s `a.lgn` (these cases are
/// about 1.x's manifest).
fn pack(d: &Path, out: &str, sign: Option<&str>) {
    let mut args = vec![
        "pack",
        "src",
        "-o",
        out,
        "-r",
        "alice.pub",
        "--format",
        "1.3",
    ];
    if let Some(k) = sign {
        args.extend(["--sign", k]);
    }
    let o = run(&args, d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

/// Runs `repair d.lgn --from FROM -o r.lgn EXTRA` and checks that it is
/// refused with exit 1, naming the contradiction, leaving no output.
fn refused(d: &Path, from: &str, extra: &[&str], expect: &[&str]) -> String {
    let mut args = vec!["repair", "d.lgn", "--from", from, "-o", "r.lgn"];
    args.extend_from_slice(extra);
    let o = run(&args, d);
    let e = stderr(&o);
    assert_eq!(code(&o), 1, "{args:?}: {}{e}", stdout(&o));
    for x in expect {
        assert!(e.contains(x), "{args:?}: expected {x:?} in: {e}");
    }
    assert!(!d.join("r.lgn").exists(), "{args:?}: an output was written");
    let partial = fs::read_dir(d)
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().contains(".partial"));
    assert!(!partial, "{args:?}: a partial output was left");
    e
}

#[test]
fn an_older_generation_of_the_same_archive_is_not_adopted() {
    let t = generations("adopt-older");
    let d = &t.0;
    for extra in [&[][..], &["--issuer", "gov.pub"][..]] {
        refused(
            d,
            "a.lgn",
            extra,
            &["a.lgn's manifest is not supported by d.lgn", "intact"],
        );
    }
    // Even asked to prefer the other copy: d.lgn's own entries contradict it.
    refused(
        d,
        "a.lgn",
        &["--prefer-from"],
        &["a.lgn's manifest is not supported by d.lgn"],
    );
}

#[test]
fn another_issuers_archive_is_not_adopted_even_pinned_to_its_key() {
    let t = generations("adopt-issuer");
    let d = &t.0;
    assert_eq!(code(&run(&["keygen", "issuer", "-o", "evil"], d)), 0);
    pack(d, "e.lgn", Some("evil.key"));
    refused(
        d,
        "e.lgn",
        &[],
        &["e.lgn's manifest is not supported by d.lgn"],
    );
    // Pinned to the other copy's key (not the one d.lgn was signed by).
    refused(
        d,
        "e.lgn",
        &["--issuer", "evil.pub"],
        &["e.lgn's manifest is not supported by d.lgn"],
    );
    // Pinned to a key neither copy was signed by, from an intact copy of
    // the very archive: refused for the pin.
    refused(
        d,
        "new.lgn",
        &["--issuer", "evil.pub"],
        &["not by the pinned issuer"],
    );
}

#[test]
fn an_unsigned_archive_is_not_adopted_for_a_signed_one() {
    let t = generations("adopt-unsigned");
    let d = &t.0;
    pack(d, "u.lgn", None);
    let e = refused(
        d,
        "u.lgn",
        &[],
        &["u.lgn's manifest is not supported by d.lgn", "unsigned"],
    );
    assert!(e.contains("manifest.sig"), "{e}");
}

#[test]
fn the_same_archive_is_repaired_and_the_report_says_what_d_confirmed() {
    let t = generations("adopt-same");
    let d = &t.0;
    let new = fs::read(d.join("new.lgn")).unwrap();
    let listed = Archive::open(MemSource::new(new.clone(), "new"))
        .unwrap()
        .entries()
        .len()
        - 2; // the manifest and its signature are not listed
    let o = run(
        &[
            "repair", "d.lgn", "--from", "new.lgn", "-o", "r.lgn", "--issuer", "gov.pub",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(fs::read(d.join("r.lgn")).unwrap() == new);
    let out = stdout(&o);
    assert!(
        out.contains(&format!(
            "confirmed by d.lgn: {listed} of {listed} listed entries intact where the manifest puts them"
        )),
        "{out}"
    );
    // The JSON report says the same.
    let o = run(
        &[
            "repair", "d.lgn", "--from", "new.lgn", "-o", "r2.lgn", "--json",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["support"]["confirmed"], listed);
    assert_eq!(v["support"]["listed"], listed);
    assert_eq!(v["support"]["surviving"], listed);
    assert_eq!(v["support"]["signed"], true);
    assert!(v["support"]["confirmed_own"].as_u64().unwrap() > 0);
}

#[test]
fn an_unsigned_archive_is_repaired_from_its_own_copy() {
    let t = packed("adopt-unsigned-same");
    let d = &t.0;
    pack(d, "u.lgn", None);
    let u = fs::read(d.join("u.lgn")).unwrap();
    let mut b = u.clone();
    let m = data_range(&b, "manifest.json");
    b[m].fill(0);
    fs::write(d.join("d.lgn"), &b).unwrap();
    let o = run(&["repair", "d.lgn", "--from", "u.lgn", "-o", "r.lgn"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(fs::read(d.join("r.lgn")).unwrap() == u);
    // But not from another unsigned packing of the same folder.
    fs::remove_file(d.join("r.lgn")).unwrap();
    pack(d, "u2.lgn", None);
    refused(
        d,
        "u2.lgn",
        &[],
        &["u2.lgn's manifest is not supported by d.lgn"],
    );
}
