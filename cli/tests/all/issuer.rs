//! Issuer succession and revocation (SPEC §37): `issuer handover` and
//! `issuer revoke` write their statements beside the series; `verify`
//! pinned to the old key follows a handover to the new key's generation
//! and refuses the old key's after it; a revoked key's later generation is
//! refused, by name, also when the revocation sits beside another copy; a
//! witness records a revocation in its state, puts it beside its copy and
//! refuses to cosign, even once the file is gone.

use std::fs;
use std::path::Path;

use legation_format::keys::{self, IssuerKey};

use crate::common::*;

/// 2027-01-15T08:00:00Z: generation 1; generation `s` `s - 1` days later.
const DAY0: i64 = 1_800_000_000;

fn at(t: i64) -> String {
    legation_format::time::format_rfc3339(t)
}

/// The ministry's old key (1) and its successor (2).
fn key(n: u8) -> IssuerKey {
    IssuerKey::from_bytes([0x60 + n; 32])
}

/// Writes `old.key`, `old.pub`, `new.key`, `new.pub` into `d`.
fn key_files(d: &Path) {
    for (name, n) in [("old", 1), ("new", 2)] {
        let k = key(n);
        let text = keys::format_key_file(keys::ISSUER_SECRET, k.secret(), name);
        fs::write(d.join(format!("{name}.key")), text.as_bytes()).unwrap();
        let text = keys::format_key_file(keys::ISSUER_PUBLIC, &k.public(), name);
        fs::write(d.join(format!("{name}.pub")), text.as_bytes()).unwrap();
    }
}

/// Generations 1 and 2 of series `id`, signed by `signers[0]` and
/// `signers[1]`, each self-contained (written with the library, so that
/// a generation may be signed by any key, with or without a handover).
fn series(id: u8, signers: [u8; 2]) -> Vec<Vec<u8>> {
    library_series([id; 16], signers.map(key), |s| s + u64::from(id) * 100, "")
}

/// Puts `bytes` at `d/folder/register.lgn`.
fn place(d: &Path, folder: &str, bytes: &[u8]) {
    fs::create_dir_all(d.join(folder)).unwrap();
    fs::write(d.join(folder).join("register.lgn"), bytes).unwrap();
}

fn verify(d: &Path, copies: &[&str], extra: &[&str]) -> std::process::Output {
    let mut args = vec!["verify"];
    args.extend_from_slice(copies);
    args.extend_from_slice(&["--issuer", "old.pub", "--level", "fixity"]);
    args.extend_from_slice(extra);
    run(&args, d)
}

/// The statements in `folder/issuer/` with extension `ext`.
fn beside(d: &Path, folder: &str, ext: &str) -> Vec<std::path::PathBuf> {
    match fs::read_dir(d.join(folder).join("issuer")) {
        Ok(l) => l
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == ext))
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn a_reader_pinned_to_the_old_key_follows_a_handover() {
    let t = Tmp::new("issuer-handover");
    let d = &t.0;
    key_files(d);
    let handed = series(0x5a, [1, 2]);
    let kept = series(0x5a, [1, 1]);
    place(d, "gen1", &handed[0]);
    place(d, "lux", &handed[1]);
    place(d, "old-after", &kept[1]);
    place(d, "bare", &handed[1]);
    // Without the handover, the new key's generation is not the pinned
    // issuer's.
    let o = verify(d, &["bare/register.lgn"], &[]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    // The handover, written beside generation 1; from the next generation.
    let o = run(
        &[
            "issuer",
            "handover",
            "old.key",
            "new.pub",
            "--series",
            "gen1/register.lgn",
            "--now",
            &at(DAY0 + 3600),
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("from generation 2"), "{}", stdout(&o));
    let written = beside(d, "gen1", "handover");
    assert_eq!(written.len(), 1);
    let text = fs::read_to_string(&written[0]).unwrap();
    assert!(text
        .starts_with("legation-handover 2.2\narchive 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\nfrom 2\n"));
    // Beside the copy, or given: generation 2 by the new key passes.
    fs::create_dir_all(d.join("lux/issuer")).unwrap();
    fs::copy(&written[0], d.join("lux/issuer/h.handover")).unwrap();
    let o = verify(d, &["lux/register.lgn"], &[]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains("holds generation 2 by handover"),
        "{}",
        stderr(&o)
    );
    let h = written[0].to_str().unwrap();
    let o = verify(d, &["bare/register.lgn"], &["--handover", h]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    // The old key's generation 2, after its handover, is refused.
    let o = verify(d, &["old-after/register.lgn"], &["--handover", h]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains("handed the series over"),
        "{}",
        stderr(&o)
    );
    // A handover file changed by a byte is refused, never skipped.
    fs::write(
        d.join("lux/issuer/h.handover"),
        text.replace("from 2", "from 1"),
    )
    .unwrap();
    let o = verify(d, &["lux/register.lgn"], &[]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains("not signed by the key it hands over from"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_revoked_keys_later_generation_is_refused_across_copies_and_by_witnesses() {
    let t = Tmp::new("issuer-revoke");
    let d = &t.0;
    key_files(d);
    let g = series(0x5a, [1, 1]);
    place(d, "lux", &g[1]);
    place(d, "est", &g[0]);
    place(d, "ice", &g[1]);
    // Revoked after generation 1, the revocation beside Estonia's copy.
    let o = run(
        &[
            "issuer",
            "revoke",
            "old.key",
            "--reason",
            "key copied by a departing official",
            "--last-generation",
            "1",
            "--series",
            "est/register.lgn",
            "--now",
            &at(DAY0 + 2 * 86_400),
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let rev = beside(d, "est", "revocation");
    assert_eq!(rev.len(), 1);
    // Luxembourg's generation 2 alone: nothing seen, it passes.
    let o = verify(d, &["lux/register.lgn"], &[]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    // Checked with Estonia's copy, the revocation beside it reaches it.
    let o = verify(d, &["lux/register.lgn", "est/register.lgn"], &[]);
    let out = stdout(&o);
    assert_eq!(code(&o), 1, "{out}{}", stderr(&o));
    assert!(out.contains("REVOKED: generation 2"), "{out}");
    assert!(out.contains("key copied by a departing official"), "{out}");
    // Generation 1 is still the key's.
    let o = verify(d, &["est/register.lgn"], &[]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    // A series given as a folder reads the `issuer/` inside it.
    fs::create_dir_all(d.join("lux/issuer")).unwrap();
    fs::copy(&rev[0], d.join("lux/issuer/r.revocation")).unwrap();
    let o = verify(d, &["lux"], &[]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains("REVOKED: generation 2"),
        "{}",
        stderr(&o)
    );
    fs::remove_file(d.join("lux/issuer/r.revocation")).unwrap();
    // A revocation of another series, given for this one, is refused.
    let other = series(0x5b, [1, 1]);
    place(d, "other", &other[0]);
    let o = run(
        &[
            "issuer",
            "revoke",
            "old.key",
            "--reason",
            "another register",
            "--last-generation",
            "0",
            "--series",
            "other/register.lgn",
            "-o",
            "other.revocation",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = verify(
        d,
        &["lux/register.lgn"],
        &["--revocation", "other.revocation"],
    );
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains("a statement about series 5b5b"),
        "{}",
        stderr(&o)
    );

    // Iceland's witness is given the revocation: it refuses, remembers,
    // and puts the revocation beside its copy.
    let o = run(&["keygen", "witness", "-o", "iceland"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let witness = |extra: &[&str]| {
        let mut args = vec![
            "witness",
            "ice/register.lgn",
            "--key",
            "iceland.key",
            "--issuer",
            "old.pub",
            "--state",
            "iceland.state",
            "--now",
        ];
        let now = at(DAY0 + 3 * 86_400);
        args.push(&now);
        args.extend_from_slice(extra);
        run(&args, d)
    };
    let r = rev[0].to_str().unwrap();
    let o = witness(&["--revocation", r]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("NOT COSIGNED"), "{}", stdout(&o));
    assert!(stdout(&o).contains("REVOKED"), "{}", stdout(&o));
    let state = fs::read_to_string(d.join("iceland.state")).unwrap();
    assert!(
        state.contains(&format!(
            "revoked 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a {} 1 ",
            legation_format::hex::encode(&key(1).public())
        )),
        "{state}"
    );
    let carried = beside(d, "ice", "revocation");
    assert_eq!(
        carried.len(),
        1,
        "the witness carries the revocation to its embassy"
    );
    assert!(!d.join("ice/witness").exists(), "nothing cosigned");
    // The file gone, the state still refuses.
    fs::remove_file(&carried[0]).unwrap();
    let o = witness(&[]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("saw revoked after generation 1"),
        "{}",
        stdout(&o)
    );
    // Generation 1 is still cosigned by a witness that saw it revoked
    // after 1.
    place(d, "ice", &g[0]);
    let o = witness(&["--reset"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
}

/// The handovers in `reg/issuer/`.
fn handovers_in(d: &Path) -> Vec<std::path::PathBuf> {
    beside(d, "reg", "handover")
}

#[test]
fn a_series_signed_by_a_new_key_after_a_handover() {
    let t = packed("issuer-series-handover");
    let d = &t.0;
    for k in ["min2", "stranger"] {
        assert_eq!(code(&run(&["keygen", "issuer", "-o", k], d)), 0);
    }
    fs::create_dir_all(d.join("reg")).unwrap();
    pack_v2(d, "reg/reg.00000000.lgn");
    fs::write(d.join("src/legal/new.txt"), "a new act\n").unwrap();
    let update = |extra: &[&str]| {
        let mut args = vec![
            "pack",
            "src",
            "--update",
            "reg/reg.00000000.lgn",
            "-o",
            "reg/reg.00000001.lgn",
            "-i",
            "alice.key",
            "--sign",
            "min2.key",
        ];
        args.extend_from_slice(extra);
        run(&args, d)
    };
    // No handover: the new key is not the series' issuer.
    let o = update(&[]);
    assert_ne!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not one of the series' issuers"),
        "{}",
        stderr(&o)
    );
    // A handover signed by a stranger, not by the series' issuer.
    let handover = |old: &str, out: &[&str]| {
        let mut args = vec![
            "issuer",
            "handover",
            old,
            "min2.pub",
            "--series",
            "reg/reg.00000000.lgn",
        ];
        args.extend_from_slice(out);
        let o = run(&args, d);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert!(stdout(&o).contains("from generation 1"), "{}", stdout(&o));
    };
    handover("stranger.key", &["-o", "stranger.handover"]);
    let o = update(&["--handover", "stranger.handover"]);
    assert_ne!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the handover is from") && stderr(&o).contains("stranger.handover"),
        "{}",
        stderr(&o)
    );
    assert!(!d.join("reg/reg.00000001.lgn").exists());
    // The issuer's handover, beside the series: generation 1 by min2.
    handover("gov.key", &[]);
    assert_eq!(handovers_in(d).len(), 1);
    let o = update(&[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("by handover"), "{}", stderr(&o));
    let verify = |extra: &[&str]| {
        let mut args = vec!["verify", "reg", "--issuer", "gov.pub", "--level", "fixity"];
        args.extend_from_slice(extra);
        run(&args, d)
    };
    let o = verify(&[]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains("holds generation 1 by handover"),
        "{}",
        stderr(&o)
    );
    let o = run(&["log", "reg"], d);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    // Without the statement the series check refuses the change by name;
    // given, it passes again.
    let kept = d.join("kept.handover");
    fs::rename(&handovers_in(d)[0], &kept).unwrap();
    let o = verify(&[]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        all.contains("generation 1 names other issuers than generation 0"),
        "{all}"
    );
    let o = verify(&["--handover", "kept.handover"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    // The stranger's handover explains nothing.
    let o = verify(&["--handover", "stranger.handover"]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
}
