//! Key and passphrase files: a UTF-8 BOM, UTF-16 and other encodings, files that never end, secret keys others can read.

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{bin, code, packed, run, stderr, Tmp};

/// The sample archive (a slot for the sample passphrase, cheap KDF) as
/// `a.lgn` in a new folder.
fn sample(name: &str) -> Tmp {
    let t = Tmp::new(name);
    let bytes = legation_tests::sample_archive(legation_tests::Sample::default());
    fs::write(t.0.join("a.lgn"), bytes).unwrap();
    t
}

/// Runs `cmd`, killing it after `limit`: `None` if it had to be killed.
fn run_within(mut cmd: Command, limit: Duration) -> Option<Output> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return Some(child.wait_with_output().unwrap());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_utf8_byte_order_mark_in_a_passphrase_file_is_not_part_of_the_passphrase() {
    let t = sample("bom");
    let d = &t.0;
    let mut text = b"\xEF\xBB\xBF".to_vec();
    text.extend_from_slice(legation_tests::PASSPHRASE.as_bytes());
    text.extend_from_slice(b"\r\n");
    fs::write(d.join("pp"), &text).unwrap();
    let o = run(&["ls", "a.lgn", "--passphrase-file", "pp"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // The same passphrase typed (here: from the environment) opens what
    // was packed with the file.
    let p = packed("bom-pack");
    let d = &p.0;
    fs::write(d.join("pp"), &text).unwrap();
    let o = run(
        &["pack", "src", "-o", "b.lgn", "--passphrase-file", "pp"],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = bin()
        .args(["ls", "b.lgn"])
        .env("LEGATION_PASSPHRASE", legation_tests::PASSPHRASE)
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn utf16_and_other_encodings_are_refused_naming_the_file() {
    let t = sample("utf16");
    let d = &t.0;
    let mut le = vec![0xFF, 0xFE];
    for u in legation_tests::PASSPHRASE.encode_utf16() {
        le.extend_from_slice(&u.to_le_bytes());
    }
    fs::write(d.join("pp16"), &le).unwrap();
    let o = run(&["ls", "a.lgn", "--passphrase-file", "pp16"], d);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("pp16") && e.contains("UTF-16"), "{e}");
    assert!(e.contains("save it as UTF-8"), "{e}");
    // Big-endian too, and an identity file.
    let mut be = vec![0xFE, 0xFF];
    for u in "legation-x25519-secret 00".encode_utf16() {
        be.extend_from_slice(&u.to_be_bytes());
    }
    fs::write(d.join("id16.key"), &be).unwrap();
    let o = run(&["ls", "a.lgn", "-i", "id16.key"], d);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("id16.key") && e.contains("UTF-16"), "{e}");
    // Latin-1: not UTF-8, said so with the way out.
    fs::write(d.join("pp1"), b"caf\xE9 cr\xE8me br\xFBl\xE9e\n").unwrap();
    let o = run(&["ls", "a.lgn", "--passphrase-file", "pp1"], d);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("pp1") && e.contains("not UTF-8") && e.contains("save it as UTF-8"),
        "{e}"
    );
}

#[test]
fn oversized_key_and_passphrase_files_are_refused_naming_them() {
    let p = packed("oversized");
    let d = &p.0;
    // A long first line would otherwise be taken as the passphrase.
    fs::write(d.join("big"), "a".repeat(100_000)).unwrap();
    let mut id = fs::read_to_string(d.join("alice.key")).unwrap();
    id.push_str(&"# padding\n".repeat(10_000));
    fs::write(d.join("big.key"), &id).unwrap();
    let mut pubkey = fs::read_to_string(d.join("gov.pub")).unwrap();
    pubkey.push_str(&"# padding\n".repeat(10_000));
    fs::write(d.join("big.pub"), &pubkey).unwrap();
    for (args, name) in [
        (&["ls", "a.lgn", "--passphrase-file", "big"][..], "big"),
        (&["ls", "a.lgn", "-i", "big.key"][..], "big.key"),
        (&["verify", "a.lgn", "--issuer", "big.pub"][..], "big.pub"),
        (
            &["pack", "src", "-o", "c.lgn", "-r", "big.pub"][..],
            "big.pub",
        ),
        (
            &[
                "pack",
                "src",
                "-o",
                "c.lgn",
                "-r",
                "alice.pub",
                "--sign",
                "big.key",
            ][..],
            "big.key",
        ),
    ] {
        let o = run(args, d);
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains(name) && e.contains("64 KiB"), "{args:?}: {e}");
    }
}

#[test]
fn a_file_that_never_ends_is_refused_at_once() {
    if !Path::new("/dev/zero").exists() {
        return;
    }
    let t = sample("devzero");
    let d = &t.0;
    for args in [
        &["ls", "a.lgn", "--passphrase-file", "/dev/zero"][..],
        &["ls", "a.lgn", "-i", "/dev/zero"][..],
        &["verify", "a.lgn", "--issuer", "/dev/zero"][..],
    ] {
        let mut c = bin();
        c.args(args).current_dir(d);
        let o = run_within(c, Duration::from_secs(20))
            .unwrap_or_else(|| panic!("{args:?}: still reading /dev/zero after 20 s"));
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(
            e.contains("/dev/zero") && e.contains("64 KiB"),
            "{args:?}: {e}"
        );
    }
}

#[cfg(unix)]
#[test]
fn secret_key_files_others_can_read_are_used_with_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let p = packed("shared-key");
    let d = &p.0;
    // keygen wrote them owner-only: no warning.
    for f in ["alice.key", "gov.key"] {
        let mode = fs::metadata(d.join(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    let o = run(&["ls", "a.lgn", "-i", "alice.key"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!stderr(&o).contains("chmod"), "{}", stderr(&o));
    // Readable by others: still used (the tests run as root, so a refusal
    // could not be told from a read), with a warning naming the file.
    fs::set_permissions(d.join("alice.key"), fs::Permissions::from_mode(0o644)).unwrap();
    let o = run(&["ls", "a.lgn", "-i", "alice.key"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("warning") && e.contains("alice.key") && e.contains("chmod 600 alice.key"),
        "{e}"
    );
    fs::set_permissions(d.join("gov.key"), fs::Permissions::from_mode(0o640)).unwrap();
    let o = run(
        &[
            "pack",
            "src",
            "-o",
            "s.lgn",
            "-r",
            "alice.pub",
            "--sign",
            "gov.key",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("warning") && e.contains("chmod 600 gov.key"),
        "{e}"
    );
    // A passphrase file others can read is a secret too.
    fs::write(d.join("pp"), "x").unwrap();
    fs::set_permissions(d.join("pp"), fs::Permissions::from_mode(0o604)).unwrap();
    let o = run(&["ls", "a.lgn", "--passphrase-file", "pp"], d);
    assert!(stderr(&o).contains("chmod 600 pp"), "{}", stderr(&o));
}
