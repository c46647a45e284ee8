//! `rekey` (issue 22): key slots changed without re-encrypting, to a new
//! file and in place (through its journal, finished after a crash), and
//! `--new-data-key`; each result opened with the new keys and not with
//! the removed one.

use std::fs;
use std::path::Path;

use super::common::{code, pack_v2, packed, run, stderr, stdout};

fn keygen(d: &Path, name: &str) {
    assert_eq!(code(&run(&["keygen", "recipient", "-o", name], d)), 0);
}

/// `ls` of the archive with one identity: its exit code and output.
fn ls_with(d: &Path, archive: &str, key: &str) -> (i32, String) {
    let o = run(&["ls", archive, "-i", key], d);
    (code(&o), stdout(&o) + &stderr(&o))
}

/// Verifies at the content level with one identity, asserting success.
fn verified(d: &Path, archive: &str, key: &str) {
    let o = run(&["verify", archive, "-i", key, "--level", "content"], d);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o) + &stderr(&o);
    assert!(out.contains("content:  OK"), "{out}");
}

/// Runs `rekey` with `args` (split at spaces) in `d`, asserting success
/// and that it says `says`.
fn rekeyed(d: &Path, args: &str, says: &str) -> std::process::Output {
    let o = run(
        &[&["rekey"][..], &args.split(' ').collect::<Vec<_>>()].concat(),
        d,
    );
    assert_eq!(code(&o), 0, "rekey {args}: {}", stderr(&o));
    assert!(stderr(&o).contains(says), "rekey {args}: {}", stderr(&o));
    o
}

/// Where an entry's stored bytes are in an archive file: found by its
/// local header (name length, no extra field, the name), which no
/// stored text holds.
fn entry_data(file: &[u8], name: &str) -> std::ops::Range<usize> {
    let mut pattern = vec![name.len() as u8, 0, 0, 0];
    pattern.extend_from_slice(name.as_bytes());
    let at = file
        .windows(pattern.len())
        .position(|w| w == pattern)
        .unwrap();
    let header = at - 26;
    assert_eq!(&file[header..header + 4], b"PK\x03\x04");
    let size = u32::from_le_bytes(file[header + 18..header + 22].try_into().unwrap()) as usize;
    let start = at + pattern.len();
    start..start + size
}

/// The bytes written, as `rekey` reports them ("… 12.3 KiB written …").
fn reported(o: &std::process::Output) -> String {
    let e = stderr(o);
    let line = e
        .lines()
        .find(|l| l.contains(" written from offset "))
        .unwrap_or_else(|| panic!("{e}"));
    line.split(" written from offset ")
        .next()
        .unwrap()
        .rsplit("; ")
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn rekey_to_a_new_file_opens_with_the_new_keys_and_not_the_removed_one() {
    let t = packed("rekey-copy");
    let d = &t.0;
    pack_v2(d, "g.lgn");
    keygen(d, "bob");
    keygen(d, "carol");
    // g.lgn is for alice; give it bob, then remove alice for carol.
    let o = rekeyed(
        d,
        "g.lgn -o b.lgn -i alice.key --add-recipient bob.pub --sign gov.key",
        "generation 1 of its series",
    );
    assert!(
        stderr(&o).contains("the data key is unchanged"),
        "{}",
        stderr(&o)
    );
    rekeyed(
        d,
        "b.lgn -o c.lgn -i bob.key --remove-recipient alice.key --add-recipient carol.pub --sign gov.key",
        "2 key slots (1 kept, 1 added, 1 removed)",
    );
    verified(d, "c.lgn", "carol.key");
    verified(d, "c.lgn", "bob.key");
    let (c, out) = ls_with(d, "c.lgn", "alice.key");
    assert_eq!(c, 3, "{out}");
    assert!(out.contains("no key given opens this archive"), "{out}");
    // The old files still open for whom they were made.
    verified(d, "g.lgn", "alice.key");
    assert_eq!(ls_with(d, "g.lgn", "carol.key").0, 3);
    // The records are the same bytes: everything up to the tail is the
    // old file's but the event log, rewritten where it stands.
    let a = fs::read(d.join("g.lgn")).unwrap();
    let c = fs::read(d.join("c.lgn")).unwrap();
    let same = a.iter().zip(&c).take_while(|(x, y)| x == y).count();
    let first_bundle = entry_data(&a, "b/00000000").start;
    let tail = entry_data(&a, "recovery").start - 30 - "recovery".len();
    let log = entry_data(&a, "events");
    assert!(
        same >= log.start - 30 - "events".len() && same < log.end,
        "{same}"
    );
    assert_eq!(a[log.end..tail], c[log.end..tail]);
    assert!(first_bundle > log.end);
    let o = run(&["cat", "c.lgn", "legal/act.md", "-i", "carol.key"], d);
    assert_eq!(stdout(&o), "# Act\n\n".repeat(500));
    // The three files are one series: 0, 1, 2.
    let o = run(&["log", ".", "-i", "carol.key", "--verify"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("newest: 2; generations 0-2 present"),
        "{}",
        stdout(&o)
    );
    // A post-quantum recipient (format 2.1) is added as any other.
    assert_eq!(
        code(&run(&["keygen", "recipient", "--pq", "-o", "dave"], d)),
        0
    );
    rekeyed(
        d,
        "c.lgn -o e.lgn -i carol.key --add-recipient dave.pub --sign gov.key",
        "re-keyed",
    );
    verified(d, "e.lgn", "dave.key");
}

#[test]
fn rekey_in_place_writes_only_the_tail_and_finishes_after_a_crash() {
    let t = packed("rekey-in-place");
    let d = &t.0;
    pack_v2(d, "g.lgn");
    keygen(d, "carol");
    let before = fs::read(d.join("g.lgn")).unwrap();
    let o = rekeyed(
        d,
        "g.lgn --in-place -i alice.key --replace-slots --add-recipient carol.pub --sign gov.key",
        "re-keyed",
    );
    let written = reported(&o);
    assert!(written.ends_with("KiB"), "{written}");
    assert!(!d.join("g.lgn.rekey-journal").exists());
    verified(d, "g.lgn", "carol.key");
    assert_eq!(ls_with(d, "g.lgn", "alice.key").0, 3);
    let after = fs::read(d.join("g.lgn")).unwrap();
    let same = before.iter().zip(&after).filter(|(x, y)| x == y).count();
    assert!(before.len().min(after.len()) - same < 128 << 10);

    // A crash after each step: the file is never taken for a whole
    // archive until the job is finished, and `rekey --in-place` again
    // finishes it from the journal.
    for step in ["journal", "zeroed", "body"] {
        fs::write(d.join("x.lgn"), &before).unwrap();
        let o = super::common::bin()
            .args([
                "rekey",
                "x.lgn",
                "--in-place",
                "-i",
                "alice.key",
                "--add-recipient",
                "carol.pub",
                "--sign",
                "gov.key",
            ])
            .env("LEGATION_REKEY_STOP_AFTER", step)
            .current_dir(d)
            .output()
            .unwrap();
        assert_eq!(code(&o), 9, "{step}: {}", stderr(&o));
        assert!(d.join("x.lgn.rekey-journal").exists());
        let o = run(&["verify", "x.lgn", "--level", "fixity"], d);
        if step == "journal" {
            // Nothing touched yet: the old archive, whole.
            assert_eq!(code(&o), 0, "{step}: {}", stderr(&o));
        } else {
            assert_ne!(
                code(&o),
                0,
                "{step}: a half-written file passed: {}",
                stderr(&o)
            );
        }
        let o = run(&["rekey", "x.lgn", "-o", "y.lgn", "-i", "alice.key"], d);
        assert_ne!(code(&o), 0);
        assert!(stderr(&o).contains("was interrupted"), "{}", stderr(&o));
        let o = run(&["rekey", "x.lgn", "--in-place"], d);
        assert_eq!(code(&o), 0, "{step}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("finished an interrupted re-keying"),
            "{}",
            stderr(&o)
        );
        assert!(!d.join("x.lgn.rekey-journal").exists());
        verified(d, "x.lgn", "carol.key");
        verified(d, "x.lgn", "alice.key");
    }
}

#[test]
fn new_data_key_seals_every_record_again_for_the_new_keys_only() {
    let t = packed("rekey-new-key");
    let d = &t.0;
    pack_v2(d, "g.lgn");
    keygen(d, "carol");
    rekeyed(
        d,
        "g.lgn -o n.lgn --new-data-key -i alice.key --add-recipient carol.pub --sign gov.key",
        "again under a new data key",
    );
    verified(d, "n.lgn", "carol.key");
    assert_eq!(ls_with(d, "n.lgn", "alice.key").0, 3);
    let o = run(
        &["cat", "n.lgn", "registers/Ελλάδα.csv", "-i", "carol.key"],
        d,
    );
    assert_eq!(stdout(&o), "id,name\n1,Ελένη\n");
    // Nothing of the old records' sealed bytes is in the new file: a
    // 64-byte run from the middle of the old file's scan is not found.
    let a = fs::read(d.join("g.lgn")).unwrap();
    let n = fs::read(d.join("n.lgn")).unwrap();
    let bundle = entry_data(&a, "b/00000000");
    assert!(bundle.len() > 100_000);
    let at = bundle.start + bundle.len() / 2;
    assert!(!n.windows(64).any(|w| w == &a[at..at + 64]));
}

#[test]
fn rekey_refuses_what_it_cannot_do_and_says_why() {
    let t = packed("rekey-refusals");
    let d = &t.0;
    pack_v2(d, "g.lgn");
    keygen(d, "carol");
    let fails = |args: &str, says: &str| {
        let o = run(&args.split(' ').collect::<Vec<_>>(), d);
        assert_ne!(code(&o), 0, "{args:?}");
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
    };
    // Signed by gov: no --sign would strip it.
    fails(
        "rekey g.lgn -o b.lgn -i alice.key --add-recipient carol.pub",
        "exactly the archive's issuers",
    );
    fails(
        "rekey g.lgn -o b.lgn -i alice.key --remove-slot 2 --sign gov.key",
        "key slots 1 to 1",
    );
    fails(
        "rekey g.lgn -o b.lgn -i alice.key --remove-slot 1 --sign gov.key",
        "no key slot would be left",
    );
    fails(
        "rekey g.lgn -o b.lgn -i alice.key --remove-recipient carol.key --sign gov.key",
        "opens no key slot",
    );
    fails(
        "rekey g.lgn -o b.lgn -i carol.key --add-recipient carol.pub --sign gov.key",
        "no key given opens",
    );
    fails(
        "rekey g.lgn -o b.lgn --new-data-key -i alice.key --sign gov.key",
        "give the new archive's keys",
    );
    // A 1.x archive: packed() wrote a.lgn as 1.3.
    fails(
        "rekey a.lgn -o b.lgn -i alice.key --add-recipient carol.pub --sign gov.key",
        "format 1.3",
    );
    assert!(!d.join("b.lgn").exists());
}
