//! Post-quantum recipients from the command line (SPEC §7.11, format
//! 2.1): `keygen recipient --pq`, `pack -r` with such a key beside an
//! X25519 one, `info` naming the slot kinds, opening with the
//! post-quantum identity and refusing another; format 1.3 refuses the
//! recipient, and a damaged public key file is named.

use std::fs;

use crate::common::{code, packed, run, stderr, stdout};

#[test]
fn keygen_pq_pack_info_and_open() {
    let t = packed("pq");
    let d = &t.0;
    for name in ["pq", "other"] {
        let o = run(&["keygen", "recipient", "--pq", "-o", name], d);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
    }
    let public = fs::read_to_string(d.join("pq.pub")).unwrap();
    let line = public.lines().last().unwrap();
    assert!(line.starts_with("legation-mlkem768x25519-public "));
    assert_eq!(line.len(), "legation-mlkem768x25519-public ".len() + 2432);
    let secret = fs::read_to_string(d.join("pq.key")).unwrap();
    assert!(secret.contains("legation-mlkem768x25519-secret "));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(d.join("pq.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
    let pack = |out: &str, format: &str| {
        run(
            &[
                "pack",
                "src",
                "-o",
                out,
                "--format",
                format,
                "--sign",
                "gov.key",
                "-r",
                "alice.pub",
                "-r",
                "pq.pub",
            ],
            d,
        )
    };
    let o = pack("pq.lgn", "2.0");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = pack("pq13.lgn", "1.3");
    assert_ne!(code(&o), 0);
    assert!(stderr(&o).contains("format 2.1 feature"), "{}", stderr(&o));
    // Without a key: the slot kinds, never the keys.
    let o = run(&["info", "pq.lgn"], d);
    assert!(
        stdout(&o).contains("x25519, mlkem768x25519"),
        "{}",
        stdout(&o)
    );
    assert!(!stdout(&o).contains(&line[40..104]));
    // The post-quantum identity opens it, as does the X25519 one.
    for id in ["pq.key", "alice.key"] {
        let o = run(&["ls", "pq.lgn", "-i", id], d);
        assert_eq!(code(&o), 0, "{id}: {}", stderr(&o));
        assert!(stdout(&o).contains("registers"), "{}", stdout(&o));
        let o = run(&["verify", "pq.lgn", "-i", id, "--issuer", "gov.pub"], d);
        assert_eq!(code(&o), 0, "{id}: {}", stderr(&o));
    }
    // Another post-quantum identity opens no slot.
    let o = run(&["ls", "pq.lgn", "-i", "other.key"], d);
    assert_ne!(code(&o), 0);
    assert!(
        stderr(&o).contains("no key given opens this archive"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn damaged_post_quantum_keys_are_named() {
    let t = packed("pq-bad");
    let d = &t.0;
    let o = run(&["keygen", "recipient", "--pq", "-o", "pq"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let public = fs::read_to_string(d.join("pq.pub")).unwrap();
    fs::write(d.join("short.pub"), &public[..public.len() - 3]).unwrap();
    let o = run(&["pack", "src", "-o", "x.lgn", "-r", "short.pub"], d);
    assert_ne!(code(&o), 0);
    let e = stderr(&o);
    assert!(
        e.contains("short.pub") && e.contains("not 1216 bytes"),
        "{e}"
    );
    // A post-quantum public key given as an identity: its tag is named.
    let o = run(&["ls", "a.lgn", "-i", "pq.pub"], d);
    assert_ne!(code(&o), 0);
    assert!(
        stderr(&o).contains("legation-mlkem768x25519-public"),
        "{}",
        stderr(&o)
    );
}
