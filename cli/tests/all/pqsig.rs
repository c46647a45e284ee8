//! Hybrid issuer signatures from the command line (SPEC §27.4, format
//! 2.2): `keygen issuer --pq` writes both key files, `pack --sign` with
//! the hybrid key signs with Ed25519 and ML-DSA-65, `info` lists both
//! signature lines without a key, `verify --issuer` with the hybrid
//! public key needs both and with another key is refused, and format 1.3
//! refuses the key.

use std::fs;

use crate::common::{code, packed, run, stderr, stdout};

#[test]
fn keygen_issuer_pq_pack_info_and_verify() {
    let t = packed("pqsig");
    let d = &t.0;
    let o = run(&["keygen", "issuer", "--pq", "-o", "hybrid"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("fingerprint"), "{}", stderr(&o));
    let public = fs::read_to_string(d.join("hybrid.pub")).unwrap();
    let line = public.lines().last().unwrap();
    assert!(line.starts_with("legation-ed25519-mldsa65-public "));
    assert_eq!(
        line.len(),
        "legation-ed25519-mldsa65-public ".len() + 2 * (32 + 1952)
    );
    let secret = fs::read_to_string(d.join("hybrid.key")).unwrap();
    let line = secret.lines().last().unwrap();
    assert!(line.starts_with("legation-ed25519-mldsa65-secret "));
    assert_eq!(line.len(), "legation-ed25519-mldsa65-secret ".len() + 128);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(d.join("hybrid.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
    let signed = ["pack", "src", "--sign", "hybrid.key", "-r", "alice.pub"];
    let pack =
        |out: &str, format: &str| run(&[&signed[..], &["-o", out, "--format", format]].concat(), d);
    let o = pack("h.lgn", "2.0");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = pack("h13.lgn", "1.3");
    assert_ne!(code(&o), 0);
    assert!(stderr(&o).contains("hybrid issuer key"), "{}", stderr(&o));
    // Without a key: both signature lines, both valid.
    let o = run(&["info", "h.lgn"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let info = stdout(&o);
    let valid = |alg: &str| {
        info.lines()
            .any(|l| l.contains(&format!(" {alg} ")) && l.ends_with("(valid)"))
    };
    assert!(valid("ed25519") && valid("ml-dsa-65"), "{info}");
    // Pinned by the hybrid key: both verify; by another issuer: refused.
    let o = run(&["verify", "h.lgn", "--issuer", "hybrid.pub"], d);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let o = run(&["verify", "h.lgn", "--issuer", "gov.pub"], d);
    assert_ne!(code(&o), 0);
    assert!(
        format!("{}{}", stdout(&o), stderr(&o)).contains("not by the pinned issuer"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    // gov's archive pinned with the hybrid key: refused too.
    let o = run(&["verify", "a.lgn", "--issuer", "hybrid.pub"], d);
    assert_ne!(code(&o), 0);
    // A truncated hybrid public key file is named.
    let key_text = public.trim_end();
    let cut = format!("{}\n", &key_text[..key_text.len() - 2]);
    fs::write(d.join("cut.pub"), cut).unwrap();
    let o = run(&["verify", "h.lgn", "--issuer", "cut.pub"], d);
    assert_ne!(code(&o), 0);
    assert!(stderr(&o).contains("cut.pub"), "{}", stderr(&o));
}

/// A hybrid issuer through a series and a re-keying: `pack --update`
/// signs the next generation with both halves, so the series pinned to
/// the hybrid key (both signatures of every generation) verifies; a
/// dependent generation is refused by `rekey` by name; `rekey --in-place`
/// of a self-contained file signs its new head with both halves; the
/// issuer's place cannot be taken by an Ed25519 key alone in either.
#[test]
fn a_hybrid_issuer_updates_and_rekeys_a_series() {
    let t = packed("pqsig-series");
    let d = &t.0;
    for kind in [
        ["issuer", "--pq", "-o", "hybrid"],
        ["recipient", "-o", "bob", ""],
    ] {
        let args: Vec<&str> = kind.iter().copied().filter(|a| !a.is_empty()).collect();
        let o = run(&[&["keygen"][..], &args].concat(), d);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
    }
    fs::create_dir(d.join("reg")).unwrap();
    let pack_hybrid = |out: &str| {
        run(
            &[
                "pack",
                "src",
                "--sign",
                "hybrid.key",
                "-r",
                "alice.pub",
                "-o",
                out,
            ],
            d,
        )
    };
    let o = pack_hybrid("reg/reg.0.lgn");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    fs::write(d.join("src/added.txt"), "added in generation 1\n").unwrap();
    let update = |sign: &str| {
        run(
            &[
                "pack",
                "src",
                "--update",
                "reg/reg.0.lgn",
                "-o",
                "reg/reg.1.lgn",
                "-i",
                "alice.key",
                "--sign",
                sign,
            ],
            d,
        )
    };
    // The Ed25519 half alone (here: another Ed25519 key) cannot continue
    // a hybrid series, and leaves no file behind.
    let o = update("gov.key");
    assert_ne!(code(&o), 0, "{}", stdout(&o));
    assert!(!d.join("reg/reg.1.lgn").exists());
    let o = update("hybrid.key");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let verify = || run(&["verify", "reg", "--issuer", "hybrid.pub"], d);
    let o = verify();
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("(pinned)"), "{}", stdout(&o));
    // A dependent generation is not re-keyed in place: refused by name
    // (before any key is asked for), the file untouched.
    let rekey = |file: &str, sign: &str| {
        run(
            &[
                "rekey",
                file,
                "--in-place",
                "-i",
                "alice.key",
                "--add-recipient",
                "bob.pub",
                "--sign",
                sign,
            ],
            d,
        )
    };
    let before = fs::read(d.join("reg/reg.1.lgn")).unwrap();
    let o = rekey("reg/reg.1.lgn", "hybrid.key");
    assert_ne!(code(&o), 0, "{}", stdout(&o));
    assert!(
        stderr(&o).contains("dependent generation"),
        "{}",
        stderr(&o)
    );
    assert_eq!(fs::read(d.join("reg/reg.1.lgn")).unwrap(), before);
    // A self-contained file re-keyed in place: the Ed25519 key alone is
    // refused, the hybrid key signs the new head with both halves.
    let o = pack_hybrid("h.lgn");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let before = fs::read(d.join("h.lgn")).unwrap();
    let o = rekey("h.lgn", "gov.key");
    assert_ne!(code(&o), 0, "{}", stdout(&o));
    assert_eq!(fs::read(d.join("h.lgn")).unwrap(), before);
    let o = rekey("h.lgn", "hybrid.key");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(&["info", "h.lgn"], d);
    let info = stdout(&o);
    for alg in ["ed25519", "ml-dsa-65"] {
        assert!(
            info.lines()
                .any(|l| l.contains(&format!(" {alg} ")) && l.ends_with("(valid)")),
            "{alg}: {info}"
        );
    }
    let o = run(&["verify", "h.lgn", "--issuer", "hybrid.pub"], d);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let o = run(&["ls", "h.lgn", "-i", "bob.key"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("added.txt"), "{}", stdout(&o));
}

/// Format 2.3 (SPEC §37.6): a series handed over from an Ed25519 key to a
/// hybrid key, then from that hybrid key to another: each handover is
/// signed with every half of its old key, `pack --update --sign` signs
/// with the new one, and a reader pinned to the first key follows both;
/// without the statements the series is refused by `issuers changed`.
#[test]
fn a_series_is_handed_over_to_and_from_hybrid_keys() {
    let t = packed("pqsig-handover");
    let d = &t.0;
    for k in ["hy1", "hy2"] {
        let o = run(&["keygen", "issuer", "--pq", "-o", k], d);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
    }
    fs::create_dir(d.join("reg")).unwrap();
    let o = run(
        &[
            "pack",
            "src",
            "--sign",
            "gov.key",
            "-r",
            "alice.pub",
            "-o",
            "reg/reg.0.lgn",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let step = |n: usize, old: &str, new: &str| {
        let prev = format!("reg/reg.{}.lgn", n - 1);
        let o = run(
            &[
                "issuer",
                "handover",
                &format!("{old}.key"),
                &format!("{new}.pub"),
                "--series",
                &prev,
            ],
            d,
        );
        assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
        fs::write(
            d.join(format!("src/added{n}.txt")),
            format!("generation {n}\n"),
        )
        .unwrap();
        let o = run(
            &[
                "pack",
                "src",
                "--update",
                &prev,
                "-o",
                &format!("reg/reg.{n}.lgn"),
                "-i",
                "alice.key",
                "--sign",
                &format!("{new}.key"),
            ],
            d,
        );
        assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
        assert!(stderr(&o).contains("by handover"), "{}", stderr(&o));
    };
    step(1, "gov", "hy1");
    step(2, "hy1", "hy2");
    let handovers: Vec<_> = fs::read_dir(d.join("reg/issuer"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(handovers.len(), 2);
    // The hybrid key's handover carries both its lines.
    let from_hybrid = handovers
        .iter()
        .map(|p| fs::read_to_string(p).unwrap())
        .find(|t| t.contains("\nml-dsa-65 "))
        .expect("a handover signed by the hybrid key");
    assert!(from_hybrid.contains("\ned25519 "));
    let verify = |pin: &str| run(&["verify", "reg", "--issuer", pin, "--level", "fixity"], d);
    let o = verify("gov.pub");
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(all.contains("holds generation 2 by handover"), "{all}");
    // (Generation 2's holder is hy2's id, which only its two head lines,
    // Ed25519 and ML-DSA-65, both verifying, meet: SPEC §27.4.)
    // The hybrid key's handover stripped of its ML-DSA-65 line no longer
    // accounts for the change: the series is refused by name.
    let file = handovers
        .iter()
        .find(|p| fs::read_to_string(p).unwrap().contains("\nml-dsa-65 "))
        .unwrap();
    let stripped: String = from_hybrid
        .lines()
        .filter(|l| !l.starts_with("ml-dsa-65 "))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(file, stripped).unwrap();
    let o = verify("gov.pub");
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(all.contains("handover"), "{all}");
}
