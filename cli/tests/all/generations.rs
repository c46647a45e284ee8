//! Generations of a series (SPEC §33) through the command: `pack
//! --update`, `log`, `diff`, `ls`/`cat`/`extract`/`info` of a dependent
//! generation and of an earlier one, `compact`, and splices caught.

use std::fs;

use super::common::{code, pack_v2, packed, run, stderr, stdout};

/// The head's `records-root` line of a generation file (its entry is
/// stored, so it is in the file's bytes as written).
fn records_root(file: &std::path::Path) -> String {
    let b = fs::read(file).unwrap();
    let at = b.windows(13).rposition(|w| w == b"records-root ").unwrap();
    String::from_utf8_lossy(&b[at..at + 13 + 64]).into_owned()
}

#[test]
fn a_series_updated_read_and_compacted() {
    let t = packed("generations");
    let d = &t.0;
    pack_v2(d, "reg.00000000.lgn");
    // Generation 1: one record changed, one removed, one added.
    fs::write(
        d.join("src/registers/Ελλάδα.csv"),
        "id,name\n1,Ελένη\n2,Νίκος\n",
    )
    .unwrap();
    fs::remove_file(d.join("zero")).ok();
    fs::remove_file(d.join("src/zero")).unwrap();
    fs::write(d.join("src/legal/new.txt"), "a new act\n").unwrap();
    let up = |prev: &str, out: &str| {
        run(
            &[
                "pack",
                "src",
                "--update",
                prev,
                "-o",
                out,
                "-i",
                "alice.key",
                "--sign",
                "gov.key",
            ],
            d,
        )
    };
    let o = up("reg.00000000.lgn", "reg.00000001.lgn");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("(+1 added, ~1 changed, -1 removed)"),
        "{}",
        stderr(&o)
    );
    // The big scan is not written again: the delta is far smaller.
    let len = |n: &str| fs::metadata(d.join(n)).unwrap().len();
    assert!(len("reg.00000001.lgn") < len("reg.00000000.lgn") - 250_000);

    let o = run(&["log", ".", "-i", "alice.key", "--verify"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("newest: 1; generations 0-1 present"), "{out}");
    assert!(stderr(&o).contains("content:  OK"), "{}", stderr(&o));
    let o = run(&["diff", ".", "-i", "alice.key"], d);
    assert_eq!(
        stdout(&o),
        "+ legal/new.txt  10 B\n~ registers/Ελλάδα.csv  21 B -> 34 B\n- zero  0 B\n",
        "{}",
        stderr(&o)
    );
    // The newest by itself (its series found beside it), and generation 0.
    let o = run(
        &[
            "cat",
            "reg.00000001.lgn",
            "legal/new.txt",
            "-i",
            "alice.key",
        ],
        d,
    );
    assert_eq!(stdout(&o), "a new act\n", "{}", stderr(&o));
    let o = run(
        &[
            "ls",
            "reg.00000001.lgn",
            "-i",
            "alice.key",
            "--generation",
            "0",
        ],
        d,
    );
    assert!(
        stdout(&o).contains("zero") && !stdout(&o).contains("new.txt"),
        "{}",
        stdout(&o)
    );
    let o = run(
        &[
            "extract",
            "reg.00000001.lgn",
            "-o",
            "out",
            "-i",
            "alice.key",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        fs::read(d.join("out/registers/scan.bin")).unwrap(),
        fs::read(d.join("src/registers/scan.bin")).unwrap()
    );
    let o = run(&["info", "reg.00000001.lgn"], d);
    assert!(
        stdout(&o).contains("dependent: uses generations 0 (reg.00000000.lgn)"),
        "{}",
        stdout(&o)
    );

    // Compacted: a self-contained generation 2 with generation 1's root.
    let o = run(
        &[
            "compact",
            ".",
            "-o",
            "one.lgn",
            "-i",
            "alice.key",
            "--sign",
            "gov.key",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        records_root(&d.join("one.lgn")),
        records_root(&d.join("reg.00000001.lgn"))
    );
    let o = run(&["ls", "one.lgn", "-i", "alice.key"], d);
    assert!(stdout(&o).contains("legal/new.txt"), "{}", stdout(&o));

    // An update from an old generation is refused (no branch).
    let o = up("reg.00000000.lgn", "branch.lgn");
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("never from an old one"),
        "{}",
        stderr(&o)
    );
    // A missing generation is named; a gap is caught.
    fs::remove_file(d.join("one.lgn")).unwrap();
    fs::rename(d.join("reg.00000000.lgn"), d.join("gone")).unwrap();
    let o = run(&["ls", "reg.00000001.lgn", "-i", "alice.key"], d);
    assert_ne!(code(&o), 0);
    assert!(
        stderr(&o).contains(
            "generation 0 is needed and no file holds it (it was written as reg.00000000.lgn)"
        ),
        "{}",
        stderr(&o)
    );
}
