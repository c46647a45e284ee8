//! Quorum custody from the command line (SPEC §7.9, §7.10): pack with
//! --quorum, each holder's `share`, a sheet read back from its words,
//! and any command opening with --share; one share too few, another
//! archive's share and a mistyped word named.

use std::fs;

use crate::common::{code, packed, run, stderr, stdout};

#[test]
fn two_of_three_holders_from_pack_to_ls() {
    let t = packed("quorum");
    let d = &t.0;
    for h in ["h1", "h2", "h3"] {
        assert_eq!(code(&run(&["keygen", "recipient", "-o", h], d)), 0);
    }
    let pack = |out: &str, format: &str| {
        run(
            &[
                "pack", "src", "-o", out, "--format", format, "--sign", "gov.key", "--quorum", "2",
                "--holder", "h1.pub", "--holder", "h2.pub", "--holder", "h3.pub",
            ],
            d,
        )
    };
    let o = pack("q.lgn", "2.0");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = pack("q13.lgn", "1.3");
    assert_ne!(code(&o), 0);
    assert!(stderr(&o).contains("format 2.0 feature"), "{}", stderr(&o));
    // Without a key: the policy's shape, no holder's key.
    let o = run(&["info", "q.lgn"], d);
    assert!(
        stdout(&o).contains("quorum 2 of (x25519, x25519, x25519)"),
        "{}",
        stdout(&o)
    );
    let public = fs::read_to_string(d.join("h1.pub")).unwrap();
    let key_hex = public
        .lines()
        .last()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .to_owned();
    assert!(!stdout(&o).contains(&key_hex));
    // Each holder on their own machine.
    let o = run(
        &[
            "share",
            "q.lgn",
            "-i",
            "h1.key",
            "-o",
            "h1.share",
            "--sheet",
            "h1.html",
            "--holder-name",
            "Ministry One",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        code(&run(
            &["share", "q.lgn", "-i", "h3.key", "-o", "h3.share"],
            d
        )),
        0
    );
    let file = fs::read_to_string(d.join("h1.share")).unwrap();
    assert!(file.contains("only. It opens nothing alone"), "{file}");
    // Two shares open it, for every command that takes a key.
    let o = run(
        &[
            "ls", "q.lgn", "--share", "h1.share", "--share", "h3.share", "--issuer", "gov.pub",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("registers"), "{}", stdout(&o));
    let o = run(
        &[
            "verify", "q.lgn", "--level", "content", "--share", "h1.share", "-i", "h2.key",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // One is too few, named; exit code 3 (wrong key).
    let o = run(&["ls", "q.lgn", "--share", "h3.share"], d);
    assert_eq!(code(&o), 3);
    assert!(
        stderr(&o).contains("not enough shares: node top (2 of 3) has 1"),
        "{}",
        stderr(&o)
    );
    // Another archive's share with the same holders.
    assert_eq!(code(&pack("other.lgn", "2.0")), 0);
    assert_eq!(
        code(&run(
            &["share", "other.lgn", "-i", "h2.key", "-o", "other.share"],
            d
        )),
        0
    );
    let o = run(
        &[
            "ls",
            "q.lgn",
            "--share",
            "h1.share",
            "--share",
            "other.share",
        ],
        d,
    );
    assert_ne!(code(&o), 0);
    assert!(stderr(&o).contains("not of this one"), "{}", stderr(&o));
    // The sheet's words, typed back in; then one word mistyped.
    let html = fs::read_to_string(d.join("h1.html")).unwrap();
    assert!(html.contains("Ministry One (holder 1)") && html.contains("2 of 3 in its node"));
    let words = &html[html.find("<pre>").unwrap() + 5..html.find("</pre>").unwrap()];
    fs::write(d.join("words.txt"), words).unwrap();
    let o = run(
        &[
            "share",
            "--from-words",
            "words.txt",
            "-o",
            "back.share",
            "q.lgn",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(
        &[
            "ls",
            "q.lgn",
            "--share",
            "back.share",
            "--share",
            "h3.share",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let third = words
        .split_whitespace()
        .filter(|w| w.len() == 5)
        .nth(2)
        .unwrap();
    let typo = format!(
        "{}{}",
        &third[..4],
        if third.ends_with('b') { 'd' } else { 'b' }
    );
    fs::write(d.join("typo.txt"), words.replacen(third, &typo, 1)).unwrap();
    let o = run(
        &["share", "--from-words", "typo.txt", "-o", "typo.share"],
        d,
    );
    assert_ne!(code(&o), 0);
    assert!(
        stderr(&o).contains(&format!("word 3 '{typo}'")),
        "{}",
        stderr(&o)
    );
}

/// A post-quantum (X-Wing) holder beside an X25519 one (format 2.2,
/// SPEC §7.9.1): `share --identity PQ.key` unwraps its share, which opens
/// the archive with the other holder's share or key, and not alone.
#[test]
fn a_post_quantum_holder_makes_and_uses_a_share() {
    let t = packed("quorum-pq");
    let d = &t.0;
    assert_eq!(code(&run(&["keygen", "recipient", "-o", "a"], d)), 0);
    let o = run(&["keygen", "recipient", "--pq", "-o", "b"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(
        &[
            "pack", "src", "-o", "q.lgn", "--sign", "gov.key", "--quorum", "2", "--holder",
            "a.pub", "--holder", "b.pub",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(&["info", "q.lgn"], d);
    assert!(
        stdout(&o).contains("quorum 2 of (x25519, mlkem768x25519)"),
        "{}",
        stdout(&o)
    );
    for h in ["a", "b"] {
        let o = run(
            &[
                "share",
                "q.lgn",
                "-i",
                &format!("{h}.key"),
                "-o",
                &format!("{h}.share"),
            ],
            d,
        );
        assert_eq!(code(&o), 0, "{h}: {}", stderr(&o));
    }
    // The X25519 holder's key opens no post-quantum holder's share.
    let o = run(&["share", "q.lgn", "-i", "a.key", "-o", "x.share"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        fs::read(d.join("x.share")).unwrap(),
        fs::read(d.join("a.share")).unwrap()
    );
    let o = run(
        &["ls", "q.lgn", "--share", "a.share", "--share", "b.share"],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("legal/act.md"), "{}", stdout(&o));
    // The post-quantum identity itself takes part beside a share.
    let o = run(&["ls", "q.lgn", "-i", "b.key", "--share", "a.share"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(&["ls", "q.lgn", "--share", "b.share"], d);
    assert_ne!(code(&o), 0);
    assert!(stderr(&o).contains("has 1"), "{}", stderr(&o));
}
