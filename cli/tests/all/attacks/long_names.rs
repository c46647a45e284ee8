//! Names of 230 to 255 bytes are extracted, rendered and packed (temporary names fit whatever the final name), and one record's failure does not stop the others.

use std::fs;

use crate::common::{code, packed, run, stderr, stdout, Tmp};

/// A file name of exactly `n` bytes (the most a Linux file system allows
/// is 255), ending in `.md`.
fn long_name(n: usize) -> String {
    format!("{}.md", "n".repeat(n - 3))
}

/// Records named with 230 to 255 bytes (one of them in a folder whose
/// name is as long) are all extracted from the whole archive, `render -o`
/// writes to such a name, and `pack -o` too.
#[test]
fn names_up_to_the_file_systems_limit_are_extracted_and_rendered() {
    let t = Tmp::new("long-names");
    let d = &t.0;
    let src = d.join("src");
    let deep = "d".repeat(255);
    fs::create_dir_all(src.join(&deep)).unwrap();
    let lengths = [230, 240, 250, 255];
    for n in lengths {
        fs::write(src.join(long_name(n)), format!("# Record of {n} bytes\n")).unwrap();
    }
    fs::write(src.join(&deep).join(long_name(255)), "# Deep\n").unwrap();
    fs::write(src.join("short.md"), "# Short\n").unwrap();
    assert_eq!(code(&run(&["keygen", "recipient", "-o", "alice"], d)), 0);
    let archive = format!("{}.lgn", "a".repeat(251));
    let o = run(&["pack", "src", "-o", &archive, "-r", "alice.pub"], d);
    assert_eq!(code(&o), 0, "pack -o with a 255-byte name: {}", stderr(&o));
    assert!(d.join(&archive).is_file());

    let o = run(&["extract", &archive, "-o", "out", "-i", "alice.key"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    for n in lengths {
        assert_eq!(
            fs::read_to_string(d.join("out").join(long_name(n))).unwrap(),
            format!("# Record of {n} bytes\n")
        );
    }
    assert_eq!(
        fs::read_to_string(d.join("out").join(&deep).join(long_name(255))).unwrap(),
        "# Deep\n"
    );
    assert_eq!(
        fs::read_to_string(d.join("out/short.md")).unwrap(),
        "# Short\n"
    );
    assert!(
        stderr(&o).contains("extracted 6 of 6 records"),
        "{}",
        stderr(&o)
    );

    // One record named, and render -o to a 255-byte name.
    let o = run(
        &[
            "extract",
            &archive,
            "-o",
            "one",
            "-i",
            "alice.key",
            &long_name(255),
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(d.join("one").join(long_name(255)).is_file());
    let html = format!("{}.html", "h".repeat(250));
    let o = run(
        &[
            "render",
            &archive,
            &long_name(250),
            "-o",
            &html,
            "-i",
            "alice.key",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(fs::read_to_string(d.join(&html))
        .unwrap()
        .contains("Record of 250 bytes"));
    // No temporary file is left anywhere.
    let mut stack = vec![d.to_path_buf()];
    while let Some(p) = stack.pop() {
        for e in fs::read_dir(&p).unwrap() {
            let e = e.unwrap();
            assert!(
                !e.file_name().to_string_lossy().contains("partial"),
                "left behind: {:?}",
                e.path()
            );
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            }
        }
    }
}

/// A record that cannot be written (its name is taken, or longer than
/// the file system allows) is reported by name and the others are still
/// extracted; the exit code is the worst of them.
#[test]
fn one_record_failing_does_not_stop_the_others() {
    let t = packed("long-failing");
    let d = &t.0;
    // The first record in the catalog's order exists already.
    fs::create_dir_all(d.join("out/legal")).unwrap();
    fs::write(d.join("out/legal/act.md"), "mine").unwrap();
    let o = run(&["extract", "a.lgn", "-o", "out", "-i", "alice.key"], d);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("legal/act.md") && err.contains("exists"),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(d.join("out/legal/act.md")).unwrap(),
        "mine"
    );
    assert_eq!(
        fs::read(d.join("out/registers/scan.bin")).unwrap(),
        fs::read(d.join("src/registers/scan.bin")).unwrap()
    );
    assert!(d.join("out/zero").is_file());
    assert!(d.join("out/empty/inner").is_dir());
    assert!(err.contains("extracted 3 of 4 records"), "{err}");
    assert!(stdout(&o).is_empty());

    // A record whose place is taken by a folder fails alone.
    let t = Tmp::new("long-folder");
    let d = &t.0;
    fs::create_dir_all(d.join("src")).unwrap();
    fs::write(d.join("src/a.md"), "# A\n").unwrap();
    fs::write(d.join("src/z.md"), "# Z\n").unwrap();
    assert_eq!(code(&run(&["keygen", "recipient", "-o", "alice"], d)), 0);
    let o = run(&["pack", "src", "-o", "a.lgn", "-r", "alice.pub"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // Extracting into a folder where `a.md` is a folder: that record
    // fails (it cannot replace a folder even with --force), `z.md` is
    // written.
    fs::create_dir_all(d.join("out/a.md/inside")).unwrap();
    let o = run(
        &[
            "extract",
            "a.lgn",
            "-o",
            "out",
            "-i",
            "alice.key",
            "--force",
        ],
        d,
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("a.md"), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(d.join("out/z.md")).unwrap(), "# Z\n");
}
