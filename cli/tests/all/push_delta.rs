//! `push` after `rekey --in-place` (issue 22): on a Garage cluster, the
//! second push sends only the ranges that changed and has the store copy
//! the rest (`UploadPartCopy`); the object on the store is the re-keyed
//! archive byte for byte, opens with the new key and not the removed
//! one; without the record of the first push, everything is sent again.

use std::fs;
use std::io::Write;

use rand_chacha::rand_core::{RngCore, SeedableRng};

use super::common::{code, run, stderr, stdout, Tmp};
use crate::embassies::Cluster;

/// (sent, copied, size, parts) from `push --stats`.
fn pushed(o: &std::process::Output) -> (u64, u64, u64, u64) {
    let err = stderr(o);
    let line = err
        .lines()
        .find(|l| l.starts_with("stats: push "))
        .unwrap_or_else(|| panic!("no push stats: {err}"));
    let n: Vec<u64> = line.split(' ').filter_map(|w| w.parse().ok()).collect();
    assert_eq!(n.len(), 4, "{line}");
    (n[0], n[1], n[2], n[3])
}

#[test]
fn push_after_rekey_in_place_sends_only_what_changed() {
    let t = Tmp::new("push-delta");
    let d = &t.0;
    let cluster = Cluster::start_at(&d.join("cluster"), "29800");
    // 36 MiB of random bytes (incompressible), so the archive is seven
    // parts of 5 MiB and more.
    let src = d.join("src");
    fs::create_dir_all(&src).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(22);
    for i in 0..4 {
        let mut b = vec![0u8; 9 << 20];
        rng.fill_bytes(&mut b);
        fs::File::create(src.join(format!("f{i}.bin")))
            .unwrap()
            .write_all(&b)
            .unwrap();
    }
    for args in [
        &["keygen", "recipient", "-o", "alice"][..],
        &["keygen", "recipient", "-o", "bob"],
        &["keygen", "issuer", "-o", "gov"],
        &[
            "pack",
            "src",
            "-o",
            "a.lgn",
            "-r",
            "alice.pub",
            "--sign",
            "gov.key",
        ],
    ] {
        let o = run(args, d);
        assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
    }
    let url = "s3://embassy/custody/a.lgn";
    let push = |extra: &[&str]| {
        let args = [
            &["--stats", "push", "a.lgn", url, "--part-size", "5"][..],
            extra,
        ]
        .concat();
        let o = cluster.run(1, &args, d);
        assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
        o
    };
    let size = fs::metadata(d.join("a.lgn")).unwrap().len();
    let (sent, copied, total, _) = pushed(&push(&[]));
    assert_eq!((sent, copied, total), (size, 0, size));
    assert!(d.join("a.lgn.pushed.json").exists());

    let o = run(
        &[
            "rekey",
            "a.lgn",
            "--in-place",
            "-i",
            "alice.key",
            "--add-recipient",
            "bob.pub",
            "--remove-recipient",
            "alice.key",
            "--sign",
            "gov.key",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let size = fs::metadata(d.join("a.lgn")).unwrap().len();
    let o = push(&["--replace"]);
    let (sent, copied, total, parts) = pushed(&o);
    assert_eq!(total, size);
    assert_eq!(sent + copied, size, "{}", stderr(&o));
    // The event log rewritten where it stands (in the first MiB), sent
    // as one least part of 5 MiB (S3's smallest but for the last), and
    // the tail's MiB blocks: a bound that does not grow with the archive.
    assert!(sent <= (5 << 20) + (2 << 20), "sent {sent} of {size}");
    assert!(copied >= size - (7 << 20), "copied {copied} of {size}");
    assert!(parts >= 2, "{parts}");
    assert!(stdout(&o).contains("on the store from the copy pushed before"));

    // The object is the re-keyed file, and opens with bob, not alice.
    let o = cluster.run(1, &["pull", url, "-o", "back.lgn"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        fs::read(d.join("back.lgn")).unwrap(),
        fs::read(d.join("a.lgn")).unwrap()
    );
    let o = cluster.run(1, &["ls", url, "-i", "bob.key"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("f3.bin"));
    let o = cluster.run(1, &["ls", url, "-i", "alice.key"], d);
    assert_ne!(code(&o), 0);

    // `rekey -o NEW` gives NEW the record: NEW goes up as a change too.
    let o = run(
        &[
            "rekey",
            "a.lgn",
            "-o",
            "b.lgn",
            "-i",
            "bob.key",
            "--add-recipient",
            "alice.pub",
            "--sign",
            "gov.key",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = cluster.run(
        1,
        &[
            "--stats",
            "push",
            "b.lgn",
            url,
            "--replace",
            "--part-size",
            "5",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let (sent, copied, total, _) = pushed(&o);
    assert!(
        sent <= 7 << 20 && sent + copied == total,
        "sent {sent} of {total}"
    );
    // Without the record, or with another object at the URL, everything
    // is sent (nothing is copied from an object it does not describe).
    let record = d.join("a.lgn.pushed.json");
    let saved = fs::read(&record).unwrap();
    fs::remove_file(&record).unwrap();
    let (sent, copied, ..) = pushed(&push(&["--replace"]));
    assert_eq!((sent, copied), (size, 0));
    let o = cluster.run(
        1,
        &["push", "back.lgn", url, "--replace", "--part-size", "6"],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    fs::write(&record, saved).unwrap();
    let (sent, copied, ..) = pushed(&push(&["--replace"]));
    assert_eq!((sent, copied), (size, 0));
}
