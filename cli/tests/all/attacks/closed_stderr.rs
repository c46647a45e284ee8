//! A standard error or output that is closed, broken or full ends no command with a panic: each ends with its documented exit code.

use std::fs;
use std::process::{Command, Output, Stdio};

use crate::common::{bin, code, packed, stderr, stdout};

/// The commands tried, with the exit code each has when its streams work.
fn commands() -> Vec<(Vec<&'static str>, i32)> {
    let k = ["-i", "alice.key"];
    let with_key = |a: &[&'static str]| a.iter().chain(&k).copied().collect::<Vec<_>>();
    vec![
        (vec!["info", "a.lgn"], 0),
        (vec!["ls", "a.lgn"], 0), // a hint on stderr
        (with_key(&["ls", "a.lgn"]), 0),
        (vec!["verify", "a.lgn"], 0),
        (with_key(&["view", "a.lgn", "legal/act.md"]), 0),
        (
            with_key(&["render", "a.lgn", "legal/act.md", "-o", "r.html", "--force"]),
            0,
        ),
        (with_key(&["extract", "a.lgn", "-o", "out", "--force"]), 0),
        (vec!["cat", "a.lgn", "zero"], 3), // no key: an error on stderr
        (vec!["ls", "missing.lgn"], 2),
        (vec!["keygen", "passphrase"], 0),
    ]
}

fn legation(dir: &std::path::Path, args: &[&str]) -> Command {
    let mut c = bin();
    c.args(args).current_dir(dir);
    c
}

/// The same, started by `sh` with `redirect` applied first (`exec 2>&-`
/// closes the descriptor for real, as a shell does; `Stdio::null` would
/// not).
fn through_shell(dir: &std::path::Path, redirect: &str, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("exec {redirect}; exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_legation"))
        .args(args)
        .current_dir(dir)
        .env_remove("LEGATION_PASSPHRASE")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn no_panic(what: &str, o: &Output) {
    assert_ne!(code(o), 101, "{what}: panicked: {}", stderr(o));
    assert!(!stderr(o).contains("panicked"), "{what}: {}", stderr(o));
}

/// Standard error closed, on a pipe whose reader has gone (a logger that
/// died), or on a full device: every command goes on and ends with the
/// code it has when standard error works, its standard output intact.
#[test]
fn a_closed_or_broken_standard_error_changes_no_exit_code() {
    let t = packed("stderr-closed");
    let d = &t.0;
    for (args, expected) in commands() {
        let good = legation(d, &args).output().unwrap();
        assert_eq!(code(&good), expected, "{args:?}: {}", stderr(&good));

        let o = through_shell(d, "2>&-", &args);
        no_panic(&format!("{args:?} 2>&-"), &o);
        assert_eq!(code(&o), expected, "{args:?} with stderr closed");
        if args[0] != "keygen" {
            assert_eq!(o.stdout, good.stdout, "{args:?} with stderr closed");
        }

        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let o = legation(d, &args)
            .stdout(Stdio::piped())
            .stderr(writer)
            .output()
            .unwrap();
        assert_eq!(code(&o), expected, "{args:?} with stderr's reader gone");
        if args[0] != "keygen" {
            assert_eq!(o.stdout, good.stdout, "{args:?} with stderr's reader gone");
        }

        let o = through_shell(d, "2>/dev/full", &args);
        assert_eq!(code(&o), expected, "{args:?} with stderr on /dev/full");
    }
    // The extracted files are all there.
    assert_eq!(
        fs::read(d.join("out/registers/scan.bin")).unwrap(),
        fs::read(d.join("src/registers/scan.bin")).unwrap()
    );
}

/// Standard output closed or full: no panic; a command whose output is
/// lost says so on standard error and exits 2 (an I/O error), one that
/// writes nothing there keeps its code.
#[test]
fn a_closed_or_full_standard_output_ends_with_an_io_error() {
    let t = packed("stdout-closed");
    let d = &t.0;
    for (args, expected) in commands() {
        let o = through_shell(d, ">&-", &args);
        no_panic(&format!("{args:?} >&-"), &o);
        let good = legation(d, &args).output().unwrap();
        let wrote = !good.stdout.is_empty();
        let o = through_shell(d, ">/dev/full", &args);
        no_panic(&format!("{args:?} >/dev/full"), &o);
        if wrote && expected == 0 {
            assert_eq!(code(&o), 2, "{args:?} >/dev/full: {}", stderr(&o));
            assert!(
                stderr(&o).contains("standard output"),
                "{args:?} >/dev/full: {}",
                stderr(&o)
            );
        } else {
            assert_eq!(code(&o), expected, "{args:?} >/dev/full: {}", stderr(&o));
        }
        // Both streams gone at once.
        let o = through_shell(d, ">&- 2>&-", &args);
        no_panic(&format!("{args:?} >&- 2>&-"), &o);
        let o = through_shell(d, ">/dev/full 2>/dev/full", &args);
        assert!(
            [expected, 2].contains(&code(&o)),
            "{args:?} >/dev/full 2>/dev/full: {}",
            code(&o)
        );
        assert!(stdout(&o).is_empty());
    }
}
