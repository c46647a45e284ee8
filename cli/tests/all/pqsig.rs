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
