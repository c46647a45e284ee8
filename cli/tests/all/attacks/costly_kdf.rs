//! Defect 5: the signature is checked before any key derivation, and a reader derives at most one costly Argon2id slot unless told to.
//!
//! A hostile slot asks for 2 GiB: the commands run with their address
//! space capped at 1.5 GiB (`ulimit -v`), so deriving one aborts at once
//! instead of taking a minute. An exit code and an error are asserted,
//! never a time.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use legation_format::crypto::{self, Argon2Params, KeySlot};
use legation_format::keys;
use legation_format::manifest::Manifest;
use legation_tests::raw::Raw;
use rand_chacha::rand_core::SeedableRng;

use crate::common::{stderr, stdout, Tmp};

/// Address space of a capped command, in KiB: under one hostile slot.
const CAP_KIB: u64 = 1536 * 1024;
/// The most a slot may ask for (SPEC §7.7): 2 GiB, 16 passes.
const HOSTILE: Argon2Params = Argon2Params {
    memory_kib: 2 * 1024 * 1024,
    iterations: 16,
    parallelism: 1,
};
/// Just above the default cost in memory, cheap in time (one pass).
const COSTLY: Argon2Params = Argon2Params {
    memory_kib: 257 * 1024,
    iterations: 1,
    parallelism: 1,
};
const RECORD: &str = "legal/act-1.md";

/// `legation ARGS` in `d`, its address space capped.
fn run_capped(args: &[&str], d: &Path) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {CAP_KIB} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_legation"))
        .args(args)
        .current_dir(d)
        .env_remove("LEGATION_PASSPHRASE")
        .output()
        .unwrap()
}

/// `legation ARGS` in `d`.
fn run(args: &[&str], d: &Path) -> Output {
    crate::common::run(args, d)
}

/// A slot no passphrase opens, of `params`.
fn decoy(params: Argon2Params, salt: u8) -> KeySlot {
    KeySlot::Passphrase {
        salt: [salt; 16],
        params,
        wrapped: [0; 48],
        commitment: [0; 32],
    }
}

/// The sample archive (for the sample identity and passphrase, signed by
/// the sample issuer), its keys and passphrase as files.
fn setup(name: &str) -> (Tmp, Raw) {
    let t = Tmp::new(name);
    let d = &t.0;
    let id = keys::format_key_file(keys::RECIPIENT_SECRET, &[0x11; 32], "alice");
    fs::write(d.join("alice.key"), id.as_bytes()).unwrap();
    let gov = keys::format_key_file(
        keys::ISSUER_PUBLIC,
        &legation_tests::issuer().public(),
        "gov",
    );
    fs::write(d.join("gov.pub"), gov.as_bytes()).unwrap();
    fs::write(d.join("pass"), format!("{}\n", legation_tests::PASSPHRASE)).unwrap();
    fs::write(d.join("wrong"), "not the passphrase of this archive\n").unwrap();
    let raw = Raw::parse(&legation_tests::sample_archive(
        legation_tests::Sample::default(),
    ));
    (t, raw)
}

/// Writes `raw` after `edit` to its slots: stripped of its signature
/// (`None`), re-signed by another issuer, or (`forge`) keeping the
/// original signature, which then fails.
fn write(d: &Path, name: &str, raw: &Raw, how: &str, edit: impl FnOnce(&mut Manifest)) {
    let mut r = raw.clone();
    let sig = r.get(legation_format::SIGNATURE_ENTRY).clone();
    let issuer = r.manifest().issuer;
    match how {
        "unsigned" => r.reseal(None, edit),
        "other issuer" => r.reseal(Some(&legation_tests::other_issuer()), edit),
        _ => {
            r.reseal(Some(&legation_tests::other_issuer()), |m| {
                m.issuer = issuer;
                edit(m);
            });
            *r.get_mut(legation_format::SIGNATURE_ENTRY) = sig;
        }
    }
    fs::write(d.join(name), r.build()).unwrap();
}

fn act() -> Vec<u8> {
    legation_tests::sample_records()
        .into_iter()
        .find(|r| r.path == RECORD)
        .unwrap()
        .bytes
}

#[test]
fn a_failing_signature_is_reported_before_any_key_derivation() {
    let (t, raw) = setup("attack-kdf-forged");
    let d = &t.0;
    // The host puts hostile slots before the real one, keeping the
    // issuer's signature (which then fails), or re-signs with its own key.
    let hostile = |m: &mut Manifest| {
        for i in 0..3 {
            m.key_slots.insert(0, decoy(HOSTILE, i));
        }
    };
    write(d, "f.lgn", &raw, "forge", hostile);
    write(d, "o.lgn", &raw, "other issuer", hostile);
    for (archive, pin, error) in [
        ("f.lgn", false, "signature does not verify"),
        ("f.lgn", true, "signature does not verify"),
        ("o.lgn", true, "not by the pinned issuer"),
    ] {
        for cmd in ["cat", "ls"] {
            let mut args = vec![cmd, archive];
            if cmd == "cat" {
                args.push(RECORD);
            }
            args.extend(["--passphrase-file", "pass"]);
            if pin {
                args.extend(["--issuer", "gov.pub"]);
            }
            let o = run_capped(&args, d);
            assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
            assert!(stderr(&o).contains(error), "{args:?}: {}", stderr(&o));
            assert!(stdout(&o).is_empty(), "{args:?}: {}", stdout(&o));
        }
    }
}

#[test]
fn default_cost_slots_are_derived_before_costly_ones() {
    let (t, raw) = setup("attack-kdf-order");
    let d = &t.0;
    write(d, "u.lgn", &raw, "unsigned", |m| {
        for i in 0..3 {
            m.key_slots.insert(0, decoy(HOSTILE, i));
        }
    });
    let o = run_capped(&["cat", "u.lgn", RECORD, "--passphrase-file", "pass"], d);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stdout == act());
    assert!(stderr(&o).contains("u.lgn: NOT SIGNED"), "{}", stderr(&o));
}

#[test]
fn a_second_costly_slot_is_refused_naming_it() {
    let (t, raw) = setup("attack-kdf-second");
    let d = &t.0;
    // Slots: x25519, the real one (default cost), then a hostile one and
    // a costly one; the passphrase given opens none of them.
    write(d, "u.lgn", &raw, "unsigned", |m| {
        m.key_slots.push(decoy(HOSTILE, 1));
        m.key_slots.push(decoy(COSTLY, 2));
    });
    let o = run_capped(&["cat", "u.lgn", RECORD, "--passphrase-file", "wrong"], d);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // The cheaper costly slot (3) was derived; the hostile one (2) not.
    assert!(
        stderr(&o).contains(
            "key slot 2: Argon2id of 2097152 KiB x 16 passes costs more than the default"
        ) && stderr(&o).contains("--allow-costly-kdf"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty());
}

#[test]
fn allow_costly_kdf_derives_the_next_costly_slot() {
    let (t, raw) = setup("attack-kdf-allow");
    let d = &t.0;
    // The real passphrase slot made costly, after a costly decoy.
    let key = raw.data_key();
    let id = raw.manifest().archive_id;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
    let real =
        crypto::passphrase_slot(&key, &id, legation_tests::PASSPHRASE, COSTLY, &mut rng).unwrap();
    write(d, "u.lgn", &raw, "unsigned", |m| {
        m.key_slots
            .retain(|s| !matches!(s, KeySlot::Passphrase { .. }));
        m.key_slots.push(decoy(COSTLY, 3));
        m.key_slots.push(real);
    });
    let o = run(&["cat", "u.lgn", RECORD, "--passphrase-file", "pass"], d);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("key slot 2: Argon2id of 263168 KiB x 1 passes")
            && stderr(&o).contains("--allow-costly-kdf"),
        "{}",
        stderr(&o)
    );
    let o = run(
        &[
            "cat",
            "u.lgn",
            RECORD,
            "--passphrase-file",
            "pass",
            "--allow-costly-kdf",
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stdout == act());
    // An identity needs no passphrase slot at all.
    let o = run(&["cat", "u.lgn", RECORD, "-i", "alice.key"], d);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// The archives behind RELIABILITY.md's unlock times: the sample archive
/// with `$HOSTILE_SLOTS` (7) slots of 2 GiB and 16 passes before the
/// real one, unsigned (`u.lgn`) and with the issuer's signature kept
/// (`f.lgn`). Both must carry every hostile slot as made (what the
/// measurement relies on) and the forgery must be refused by its
/// signature; with `$LEGATION_MEASURE_DIR` set they are copied there with
/// their keys, for timing by hand.
#[test]
fn hostile_slots_as_measured() {
    let n: u8 = std::env::var("HOSTILE_SLOTS").map_or(7, |s| s.parse().unwrap());
    let (t, raw) = setup("attack-kdf-measure");
    let hostile = |m: &mut Manifest| {
        for i in 0..n {
            m.key_slots.insert(0, decoy(HOSTILE, i));
        }
    };
    write(&t.0, "u.lgn", &raw, "unsigned", hostile);
    write(&t.0, "f.lgn", &raw, "forge", hostile);
    for f in ["u.lgn", "f.lgn"] {
        let m = Raw::parse(&fs::read(t.0.join(f)).unwrap()).manifest();
        let costly = m
            .key_slots
            .iter()
            .filter(|s| matches!(s, KeySlot::Passphrase { params, .. } if *params == HOSTILE))
            .count();
        assert_eq!(costly, usize::from(n), "{f}");
    }
    let o = run_capped(&["cat", "f.lgn", RECORD, "--passphrase-file", "pass"], &t.0);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("signature"), "{}", stderr(&o));
    if let Some(dir) = std::env::var_os("LEGATION_MEASURE_DIR") {
        let dir = std::path::PathBuf::from(dir);
        fs::create_dir_all(&dir).unwrap();
        for f in ["u.lgn", "f.lgn", "alice.key", "gov.pub", "pass", "wrong"] {
            fs::copy(t.0.join(f), dir.join(f)).unwrap();
        }
    }
}
