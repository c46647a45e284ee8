//! A third-party decoder as its author makes it (issue 23): `legation
//! decoder new` writes a crate that builds outside this source tree (the
//! SDK vendored into it), `legation decoder build` gives the same bytes
//! in two different folders, the module's declared media types choose
//! its records when packed with a bare `--decoder FILE` (SPEC §11.5), and
//! a panic in it reaches `view` and the stored "not rendered" reason
//! with its message.

use crate::common;

use std::fs;
use std::path::Path;

use common::{code, run, stderr, stdout, Tmp};

/// `legation decoder new outline` in `parent`, made to declare
/// `application/xml` and to panic on a record holding `PANIC`; then
/// `legation decoder build` in it. Returns the module's bytes.
fn new_and_build(parent: &Path) -> Vec<u8> {
    fs::create_dir_all(parent).unwrap();
    let o = run(&["decoder", "new", "outline"], parent);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let krate = parent.join("outline");
    assert!(krate
        .join("vendor/legation-decoder-sdk/src/abi.rs")
        .is_file());
    let lib = krate.join("src/lib.rs");
    let source = fs::read_to_string(&lib).unwrap();
    let source = source
        .replace("media_types: []", "media_types: [\"application/xml\"]")
        .replace(
            "    let text = std::str::from_utf8(input)",
            "    assert!(!input.starts_with(b\"PANIC\"), \"the record asked for a panic\");\n    \
             let text = std::str::from_utf8(input)",
        );
    fs::write(&lib, source).unwrap();
    let o = run(&["decoder", "build"], &krate);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("BLAKE3"), "{}", stdout(&o));
    fs::read(krate.join("outline.wasm")).unwrap()
}

#[test]
fn a_new_decoder_builds_reproducibly_is_chosen_by_its_types_and_reports_its_panic() {
    // decoders/README.md gives these commands for outside the workspace.
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../decoders/README.md"))
            .unwrap();
    for command in ["legation decoder new note ", "legation decoder build "] {
        assert!(readme.contains(command), "decoders/README.md: {command}");
    }
    let t = Tmp::new("decoder-authoring");
    let d = &t.0;
    // Two folders of different depths and names: nothing of either may
    // reach the module.
    let one = new_and_build(&d.join("one"));
    let two = new_and_build(&d.join("a second, longer folder/with depth"));
    assert_eq!(
        blake3::hash(&one),
        blake3::hash(&two),
        "the same source built in two folders"
    );
    assert!(one.len() < 200_000, "{} bytes", one.len());
    let text = String::from_utf8_lossy(&one);
    assert!(
        !text.contains(&d.display().to_string()),
        "a build path in the module"
    );

    let o = run(&["decoder", "new", "outline"], &d.join("one"));
    assert_eq!(code(&o), 2, "never overwrites");
    let o = run(&["decoder", "new", "Bad/Name"], d);
    assert_eq!(code(&o), 2);

    // Packed bare: chosen by the media type it declares.
    fs::create_dir_all(d.join("src/laws")).unwrap();
    fs::write(
        d.join("src/laws/act.xml"),
        "<act>\n<title>Land act</title>\n</act>\n",
    )
    .unwrap();
    fs::write(d.join("src/laws/bad.xml"), "PANIC <act/>").unwrap();
    fs::write(d.join("src/laws/notes.txt"), "plain text\n").unwrap();
    assert_eq!(code(&run(&["keygen", "recipient", "-o", "alice"], d)), 0);
    let o = crate::terminal_view::pack_with_decoder(d, "a.lgn", "one/outline/outline.wasm");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let view = |record: &str| run(&["view", "a.lgn", record, "-i", "alice.key"], d);
    let o = view("laws/act.xml");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("━━ outline ━━"), "{}", stdout(&o));
    assert!(stdout(&o).contains("lines : 3"), "{}", stdout(&o));
    // Other types keep their built-in decoders.
    let o = view("laws/notes.txt");
    assert!(!stdout(&o).contains("━━ outline ━━"), "{}", stdout(&o));
    // The panic, with its message and place, in view and in the stored
    // reason (verify lists it).
    let o = view("laws/bad.xml");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let panicked = "panicked: the record asked for a panic (at src/lib.rs:";
    assert!(stdout(&o).contains(panicked), "{}", stdout(&o));
    assert!(stdout(&o).contains("|PANIC <act/>|"), "{}", stdout(&o));
    let o = run(&["verify", "a.lgn", "-i", "alice.key"], d);
    assert!(stdout(&o).contains(panicked), "{}", stdout(&o));
}
