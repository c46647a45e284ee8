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

/// A dependent generation (SPEC §35.4) re-keyed into the next generation
/// of its series: it stores no record and no page again, opens with the
/// new key and not the removed one, and the series goes on from it; what
/// it cannot do (in place, a new data key, an old generation) is refused
/// by name and leaves nothing behind.
#[test]
fn a_dependent_generation_is_rekeyed_as_the_next_generation_storing_no_record() {
    let t = packed("rekey-dependent");
    let d = &t.0;
    keygen(d, "bob");
    keygen(d, "carol");
    fs::create_dir_all(d.join("reg")).unwrap();
    let pack = |args: &[&str]| {
        let o = run(args, d);
        assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
    };
    pack(&[
        "pack",
        "src",
        "-o",
        "reg/reg.0.lgn",
        "-r",
        "alice.pub",
        "-r",
        "bob.pub",
        "--sign",
        "gov.key",
        "--format",
        "2.0",
    ]);
    fs::write(d.join("src/added.txt"), "added in generation 1\n").unwrap();
    let update = |from: &str, to: &str, key: &str| {
        pack(&[
            "pack", "src", "--update", from, "-o", to, "-i", key, "--sign", "gov.key",
        ]);
    };
    update("reg/reg.0.lgn", "reg/reg.1.lgn", "alice.key");
    let one = fs::read(d.join("reg/reg.1.lgn")).unwrap();
    // Bob is removed and carol added: generation 2, beside the others.
    let o = rekeyed(
        d,
        "reg/reg.1.lgn -o reg/reg.2.lgn -i alice.key --remove-recipient bob.key \
         --add-recipient carol.pub --sign gov.key",
        "re-keyed reg/reg.1.lgn as generation 2 of its series",
    );
    let e = stderr(&o);
    assert!(
        e.contains("2 key slots (1 kept, 1 added, 1 removed)"),
        "{e}"
    );
    assert!(e.contains("no record stored again"), "{e}");
    assert!(e.contains("earlier generation files"), "{e}");
    assert_eq!(fs::read(d.join("reg/reg.1.lgn")).unwrap(), one);
    // It holds no bundle and no page: its records are read from the
    // files before it.
    let two = fs::read(d.join("reg/reg.2.lgn")).unwrap();
    for name in ["b/00000000", "c/00000000"] {
        let mut pattern = vec![name.len() as u8, 0, 0, 0];
        pattern.extend_from_slice(name.as_bytes());
        assert!(!two.windows(pattern.len()).any(|w| w == pattern), "{name}");
    }
    let o = run(&["info", "reg/reg.2.lgn"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // Carol and alice open the newest generation, bob does not.
    let o = run(&["cat", "reg/reg.2.lgn", "added.txt", "-i", "carol.key"], d);
    assert_eq!(stdout(&o), "added in generation 1\n", "{}", stderr(&o));
    let o = run(
        &["cat", "reg/reg.2.lgn", "legal/act.md", "-i", "alice.key"],
        d,
    );
    assert_eq!(stdout(&o), "# Act\n\n".repeat(500), "{}", stderr(&o));
    let (c, out) = ls_with(d, "reg/reg.2.lgn", "bob.key");
    assert_ne!(c, 0, "{out}");
    assert!(!out.contains("added.txt"), "{out}");
    // What it cannot do: bob's key still opens the earlier files, which
    // the newest generation reads (SPEC §35.4).
    let (c, out) = ls_with(d, "reg/reg.1.lgn", "bob.key");
    assert_eq!(c, 0, "{out}");
    // The whole series verifies, the newest with carol's key, and goes on
    // from the re-keyed generation.
    let o = run(
        &["verify", "reg", "-i", "carol.key", "--issuer", "gov.pub"],
        d,
    );
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    fs::write(d.join("src/later.txt"), "added in generation 3\n").unwrap();
    update("reg/reg.2.lgn", "reg/reg.3.lgn", "carol.key");
    let o = run(&["cat", "reg/reg.3.lgn", "later.txt", "-i", "carol.key"], d);
    assert_eq!(stdout(&o), "added in generation 3\n", "{}", stderr(&o));
    assert_ne!(ls_with(d, "reg/reg.3.lgn", "bob.key").0, 0);
    let o = run(&["log", "reg", "-i", "carol.key", "--verify"], d);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("newest: 3; generations 0-3 present"),
        "{}",
        stdout(&o)
    );
    // Refused by name, nothing written: an old generation (its next would
    // fork the series), in place, a new data key.
    let fails = |args: &str, says: &str| {
        let o = run(&args.split(' ').collect::<Vec<_>>(), d);
        assert_ne!(code(&o), 0, "{args:?}");
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
        assert!(!d.join("reg/x.lgn").exists());
    };
    fails(
        "rekey reg/reg.2.lgn -o reg/x.lgn -i carol.key --add-recipient bob.pub --sign gov.key",
        "re-key the newest generation",
    );
    fails(
        "rekey reg/reg.3.lgn --in-place -i carol.key --add-recipient bob.pub --sign gov.key",
        "cannot be re-keyed in place",
    );
    fails(
        "rekey reg/reg.3.lgn -o reg/x.lgn --new-data-key -i carol.key --add-recipient bob.pub \
         --sign gov.key",
        "legation compact",
    );
    // The removed holder's key, the unsigned or wrongly signed next
    // generation: refused.
    fails(
        "rekey reg/reg.3.lgn -o reg/x.lgn -i bob.key --add-recipient bob.pub --sign gov.key",
        "no key given opens",
    );
    fails(
        "rekey reg/reg.3.lgn -o reg/x.lgn -i carol.key --add-recipient bob.pub",
        "needs one of its issuer keys",
    );
    // Hostile: the newest generation's public.json changed (a slot's
    // wrapped key, one hex digit; its last copy in the file, after the
    // one in `recovery`): refused before anything is written.
    let three = fs::read(d.join("reg/reg.3.lgn")).unwrap();
    let at = three
        .windows(9)
        .rposition(|w| w == b"\"wrapped\"")
        .expect("a wrapped key in public.json")
        + 11;
    let mut bad = three.clone();
    bad[at] = if bad[at] == b'0' { b'1' } else { b'0' };
    fs::write(d.join("reg/reg.3.lgn"), &bad).unwrap();
    let o = run(
        &[
            "rekey",
            "reg/reg.3.lgn",
            "-o",
            "reg/x.lgn",
            "-i",
            "carol.key",
            "--add-recipient",
            "bob.pub",
            "--sign",
            "gov.key",
        ],
        d,
    );
    assert_ne!(code(&o), 0, "{}", stderr(&o));
    assert!(!d.join("reg/x.lgn").exists());
    fs::write(d.join("reg/reg.3.lgn"), &three).unwrap();
    // A predecessor missing: the series does not chain, nothing written.
    fs::rename(d.join("reg/reg.1.lgn"), d.join("reg1.lgn")).unwrap();
    fails(
        "rekey reg/reg.3.lgn -o reg/x.lgn -i carol.key --add-recipient bob.pub --sign gov.key",
        "do not chain",
    );
}
