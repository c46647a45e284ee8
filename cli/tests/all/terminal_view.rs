//! `legation view` as a person at a terminal meets it (issue 23): which
//! record it is (path and Dublin Core title), as many table rows as
//! asked, a pager only when standard output is a terminal, and a record
//! its third-party decoder refuses shown raw with the refusal, whose
//! stored reason names the decoder by its entry, not by the packing
//! machine's file.

use crate::common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{code, keys_and_pack, run, stderr, stdout, Tmp};

/// A folder with a 60-row register and a titled act, packed into `a.lgn`.
fn packed_register(name: &str) -> Tmp {
    let t = Tmp::new(name);
    let d = &t.0;
    fs::create_dir_all(d.join("src/legal")).unwrap();
    fs::create_dir_all(d.join("src/registers")).unwrap();
    let mut csv = String::from("id,name\n");
    for i in 0..60 {
        csv.push_str(&format!("{i},person {i}\n"));
    }
    fs::write(d.join("src/registers/people.csv"), csv).unwrap();
    fs::write(d.join("src/legal/act.md"), "# Act\n\nText.\n").unwrap();
    fs::write(
        d.join("src/legal/act.md.dc.json"),
        r#"{"title": "The Land Act of 1921"}"#,
    )
    .unwrap();
    let o = keys_and_pack(d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    t
}

/// `src/` of `d` packed into `out` for alice, unsigned, with `--decoder
/// decoder`; pack's output.
pub fn pack_with_decoder(d: &Path, out: &str, decoder: &str) -> std::process::Output {
    run(
        &[
            "pack",
            "src",
            "-o",
            out,
            "-r",
            "alice.pub",
            "--decoder",
            decoder,
        ],
        d,
    )
}

/// `legation ARGS` in `d` under a pseudo-terminal (`script`), with
/// `PAGER` set to a command that marks every line it is given.
fn on_a_terminal(d: &Path, args: &[&str]) -> String {
    let command = std::iter::once(env!("CARGO_BIN_EXE_legation").to_owned())
        .chain(args.iter().map(|a| (*a).to_owned()))
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let o = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(d)
        .env("PAGER", "sed s/^/PAGED:/")
        .env_remove("LEGATION_PASSPHRASE")
        .output()
        .expect("script(1) from util-linux");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn view_names_the_record_shows_rows_as_asked_and_pages_only_on_a_terminal() {
    let t = packed_register("terminal-view");
    let d = &t.0;
    let view = |extra: &[&str]| {
        let mut args = vec!["view", "a.lgn", "registers/people.csv", "-i", "alice.key"];
        args.extend_from_slice(extra);
        let o = run(&args, d);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        stdout(&o)
    };
    let shown = view(&[]);
    assert!(
        shown.starts_with("record : registers/people.csv\n"),
        "{shown}"
    );
    assert!(shown.contains("person 39") && !shown.contains("person 40"));
    assert!(shown.contains("… 20 more rows (60 in all;"), "{shown}");
    let shown = view(&["--rows", "5"]);
    assert!(shown.contains("person 4") && !shown.contains("person 5"));
    assert!(shown.contains("… 55 more rows"), "{shown}");
    let shown = view(&["--all"]);
    assert!(shown.contains("person 59") && !shown.contains("more rows"));
    assert_eq!(
        code(&run(
            &[
                "view",
                "a.lgn",
                "registers/people.csv",
                "-i",
                "alice.key",
                "--all",
                "--rows",
                "3"
            ],
            d
        )),
        2,
        "--all and --rows exclude each other"
    );

    // The Dublin Core title under the path.
    let o = run(&["view", "a.lgn", "legal/act.md", "-i", "alice.key"], d);
    assert!(
        stdout(&o).starts_with("record : legal/act.md\ntitle  : The Land Act of 1921\n"),
        "{}",
        stdout(&o)
    );

    // Piped (above): never a pager. On a terminal: through $PAGER, unless
    // --no-pager.
    let paged = on_a_terminal(d, &["view", "a.lgn", "legal/act.md", "-i", "alice.key"]);
    assert!(paged.contains("PAGED:record : legal/act.md"), "{paged}");
    let plain = on_a_terminal(
        d,
        &[
            "view",
            "a.lgn",
            "legal/act.md",
            "-i",
            "alice.key",
            "--no-pager",
        ],
    );
    assert!(
        plain.contains("record : legal/act.md") && !plain.contains("PAGED:"),
        "{plain}"
    );
}

#[test]
fn a_refused_record_is_shown_raw_and_its_reason_names_no_packing_path() {
    let t = packed_register("terminal-refused");
    let d = &t.0;
    fs::write(d.join("ebcdic.wasm"), legation_builtin_decoders::EBCDIC).unwrap();
    fs::write(d.join("src/registers/roll.ebc"), b"not a tax roll at all").unwrap();
    let wasm = d.join("ebcdic.wasm").display().to_string();
    let o = pack_with_decoder(d, "b.lgn", &format!(".ebc={wasm}"));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // The stored reason (verify lists it) names the module's entry.
    let o = run(&["verify", "b.lgn", "-i", "alice.key"], d);
    let listed = stdout(&o);
    assert!(listed.contains("registers/roll.ebc"), "{listed}");
    assert!(listed.contains("(d/"), "{listed}");
    assert!(
        !listed.contains(&wasm) && !listed.contains(&d.display().to_string()),
        "{listed}"
    );
    // view: the refusal, then the record through the raw decoder.
    let o = run(
        &["view", "b.lgn", "registers/roll.ebc", "-i", "alice.key"],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let shown = stdout(&o);
    assert!(
        shown.starts_with("record : registers/roll.ebc\n\n"),
        "{shown}"
    );
    assert!(
        shown.contains("[not shown by its decoder: decoder ebcdic"),
        "{shown}"
    );
    assert!(shown.contains("refuses registers/roll.ebc"), "{shown}");
    assert!(shown.contains("shown raw]"), "{shown}");
    // The raw decoder's hex dump of the first bytes ("not a tax").
    assert!(shown.contains("6e 6f 74 20 61 20 74 61  78"), "{shown}");
}

#[test]
fn a_decoder_given_facts_shows_the_records_zone_and_title() {
    // A TZif file names no zone: the decoder reads it from the record's
    // path, and shows the title its Dublin Core sidecar gives (format 2.1,
    // decoder ABI 2, SPEC §12.3).
    let t = packed_register("terminal-facts");
    let d = &t.0;
    fs::write(d.join("tzif.wasm"), legation_builtin_decoders::TZIF).unwrap();
    fs::create_dir_all(d.join("src/zoneinfo/Europe")).unwrap();
    let zone = d.join("src/zoneinfo/Europe/Oslo.tzif");
    fs::write(&zone, legation_decoder_tzif::sample_file()).unwrap();
    fs::write(
        d.join("src/zoneinfo/Europe/Oslo.tzif.dc.json"),
        r#"{"title": "Oslo, Norway"}"#,
    )
    .unwrap();
    let wasm = d.join("tzif.wasm").display().to_string();
    let o = pack_with_decoder(d, "f.lgn", &format!(".tzif={wasm}"));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // Rendered at packing with its facts; the render check gives them
    // again and finds the same hash.
    let o = run(
        &["verify", "f.lgn", "-i", "alice.key", "--level", "render"],
        d,
    );
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let o = run(
        &[
            "view",
            "f.lgn",
            "zoneinfo/Europe/Oslo.tzif",
            "-i",
            "alice.key",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let shown = stdout(&o);
    assert!(shown.contains("Time zone Europe/Oslo"), "{shown}");
    assert!(shown.contains("Oslo, Norway"), "{shown}");
    assert!(shown.contains("application/"), "{shown}");
    assert!(shown.contains("CET-1CEST,M3.5.0,M10.5.0/3"), "{shown}");
}
