//! Bidirectional overrides and control characters in names, titles, texts and the archive's own name reach no terminal and no HTML, whatever the command.

use std::fs;
use std::path::Path;

use crate::common::{code, keys_and_pack, run, stderr, stdout, Tmp};

/// Characters that would drive a terminal (ESC, BEL, CR, C1's CSI) or
/// reorder what it shows (bidirectional overrides, isolates and marks).
const HOSTILE: &[char] = &[
    '\x1b', '\x07', '\r', '\u{9b}', '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}',
    '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{200e}', '\u{200f}', '\u{061c}',
];

fn assert_clean(what: &str, text: &str) {
    let found: Vec<char> = text.chars().filter(|c| HOSTILE.contains(c)).collect();
    assert!(
        found.is_empty(),
        "{what}: {found:?} reached the output: {text:?}"
    );
}

fn assert_output_clean(what: &str, o: &std::process::Output) {
    assert_clean(&format!("{what} (stdout)"), &stdout(o));
    assert_clean(&format!("{what} (stderr)"), &stderr(o));
    assert!(!stderr(o).contains("panicked"), "{what}: {}", stderr(o));
}

/// A record name with an override, an isolate and marks.
const RECORD: &str = "legal/\u{202e}txt.exe\u{2066}\u{200f}\u{061c}.md";
/// An empty folder named with an override.
const EMPTY: &str = "empty\u{202e}gpj";

/// A folder whose names, title, metadata and texts carry hostile
/// characters, packed for alice and signed by gov into `a.lgn`.
fn hostile_archive(name: &str) -> Tmp {
    let t = Tmp::new(name);
    let d = &t.0;
    let src = d.join("src");
    fs::create_dir_all(src.join("legal")).unwrap();
    fs::create_dir_all(src.join(EMPTY)).unwrap();
    fs::write(
        src.join(RECORD),
        "# Act \x1b]0;pwned\x07 \u{202e}dlrow\n\nA paragraph \x1b[2J\u{9b}31m with \u{2067}escapes\r.\n",
    )
    .unwrap();
    fs::write(
        src.join(format!("{RECORD}.dc.json")),
        "{\"title\": \"T\\u001b[31m\\u0007\\u202eitle\", \"creator\": [\"\\u009b1m\\u2068P\"]}",
    )
    .unwrap();
    fs::write(src.join("plain.csv"), "id,name\n1,\u{202e}eve\x1b[0m\n").unwrap();
    let o = keys_and_pack(d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_output_clean("pack", &o);
    t
}

/// Every command that prints names or texts, on an archive whose record
/// and empty-folder names, title, metadata and contents hold overrides
/// and control characters: none of them reaches standard output,
/// standard error or the HTML written, and what is shown is still there.
#[test]
fn hostile_names_and_texts_are_cleaned_on_every_output() {
    let t = hostile_archive("bidi-every");
    let d = &t.0;
    let key = ["-i", "alice.key"];
    let with_key = |args: &[&str]| {
        let mut v: Vec<&str> = args.to_vec();
        v.extend(key);
        run(&v, d)
    };

    let o = with_key(&["ls", "a.lgn"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_output_clean("ls", &o);
    assert!(stdout(&o).contains("txt.exe"), "{}", stdout(&o));
    assert!(stdout(&o).contains("folder (empty)"), "{}", stdout(&o));
    assert!(stdout(&o).contains("gpj/"), "{}", stdout(&o));

    // JSON keeps every name exactly, as escapes a terminal does not obey.
    let o = with_key(&["ls", "a.lgn", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_output_clean("ls --json", &o);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(
        v.as_array().unwrap().iter().any(|r| r["path"] == RECORD),
        "{v}"
    );

    for args in [
        &["ls", "a.lgn"][..],
        &["info", "a.lgn"][..],
        &["verify", "a.lgn"][..],
        &["verify", "a.lgn", "--json"][..],
    ] {
        let o = run(args, d);
        assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
        assert_output_clean(&format!("{args:?}"), &o);
    }
    let o = with_key(&["verify", "a.lgn"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_output_clean("verify with a key", &o);

    for rec in [RECORD, "plain.csv"] {
        let o = with_key(&["view", "a.lgn", rec]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert_output_clean(&format!("view {rec:?}"), &o);
        assert!(stdout(&o).contains("dlrow") || stdout(&o).contains("eve"));

        let o = with_key(&["render", "a.lgn", rec, "-o", "r.html", "--force"]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert_output_clean(&format!("render {rec:?}"), &o);
        let html = fs::read_to_string(d.join("r.html")).unwrap();
        assert_clean(&format!("render {rec:?} (HTML)"), &html);
        assert!(html.contains("txt.exe") || html.contains("eve"), "{html}");
    }

    let o = with_key(&["extract", "a.lgn", "-o", "out"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_output_clean("extract", &o);
    // The files themselves keep their names: only what is shown is cleaned.
    assert!(d.join("out").join(RECORD).is_file());
    assert!(d.join("out").join(EMPTY).is_dir());
    // Again, without --force: every record's error line names it, cleaned.
    let o = with_key(&["extract", "a.lgn", "-o", "out"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert_output_clean("extract's error lines", &o);
    assert!(stderr(&o).contains("txt.exe"), "{}", stderr(&o));
    assert!(stderr(&o).contains("exists"), "{}", stderr(&o));
}

/// An archive whose own file name carries control characters and an
/// override (a name chosen by whoever sent it) is named cleanly.
#[test]
fn a_hostile_archive_file_name_is_cleaned() {
    let t = hostile_archive("bidi-file");
    let d = &t.0;
    let name = "\u{202e}nls.\x1b]0;x\x07\u{9b}1m.lgn";
    fs::copy(d.join("a.lgn"), d.join(name)).unwrap();
    for args in [
        &["info", name][..],
        &["ls", name][..],
        &["verify", name][..],
        &["verify", name, "a.lgn"][..],
        &["ls", name, "-i", "alice.key", "--json"][..],
        &[
            "render",
            name,
            "plain.csv",
            "-o",
            "r.html",
            "-i",
            "alice.key",
        ][..],
        &["extract", name, "-o", "x", "-i", "alice.key"][..],
    ] {
        let o = run(args, d);
        assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
        assert_output_clean(&format!("{args:?}"), &o);
    }
    assert_clean(
        "render's HTML",
        &fs::read_to_string(d.join("r.html")).unwrap(),
    );
    // A name the archive cannot hold: refused or skipped, named cleanly.
    let src = d.join("src2");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("ok.txt"), "fine").unwrap();
    fs::write(src.join("bell\x07\x1b[31m\u{202e}.txt"), "x").unwrap();
    let o = run(&["pack", "src2", "-o", "b.lgn", "-r", "alice.pub"], d);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert_output_clean("pack refusing a name", &o);
    let o = run(
        &[
            "pack",
            "src2",
            "-o",
            "b.lgn",
            "-r",
            "alice.pub",
            "--skip-unsupported",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_output_clean("pack skipping a name", &o);
    assert!(stderr(&o).contains("skipped"), "{}", stderr(&o));
    assert!(Path::new(&d.join("b.lgn")).is_file());
}
