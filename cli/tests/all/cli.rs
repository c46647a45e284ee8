//! The `legation` command end to end: exit codes, output, and what it
//! leaves on disk, on good and hostile input.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common;
use common::*;
use legation_tests::vectors::{Outcome, Refusal};

#[test]
fn keygen_writes_owner_only_secret_and_never_overwrites() {
    let t = Tmp::new("keygen");
    let o = run(&["keygen", "recipient", "-o", "k"], &t.0);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).starts_with("legation-x25519-public "));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(t.0.join("k.key"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
    let before = fs::read(t.0.join("k.key")).unwrap();
    let o = run(&["keygen", "recipient", "-o", "k"], &t.0);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("k.key exists"), "{}", stderr(&o));
    assert_eq!(fs::read(t.0.join("k.key")).unwrap(), before);
    let p = stdout(&run(&["keygen", "passphrase"], &t.0));
    assert_eq!(p.trim().len(), 31);
}

#[test]
fn pack_list_verify_cat_extract_round_trip() {
    let t = packed("roundtrip");
    let d = &t.0;
    // Keyless: public facts only.
    let o = run(&["ls", "a.lgn"], d);
    assert_eq!(code(&o), 0);
    assert!(
        stdout(&o).contains("key slots:      x25519"),
        "{}",
        stdout(&o)
    );
    assert!(
        !stdout(&o).contains("act.md"),
        "record names must not show without a key"
    );
    // With the key: the catalog.
    let o = run(&["ls", "a.lgn", "-i", "alice.key", "--json"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let paths: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "legal/act.md",
            "registers/scan.bin",
            "registers/Ελλάδα.csv",
            "zero"
        ]
    );
    assert_eq!(v[0]["title"], "The Act");
    assert_eq!(v[0]["metadata"]["creator"][0], "Parliament");
    // Fixity without a key, pinned and not.
    let o = run(&["verify", "a.lgn"], d);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(stdout(&o).contains("NOT pinned"));
    let o = run(
        &[
            "verify",
            "a.lgn",
            "--issuer",
            "gov.pub",
            "-i",
            "alice.key",
            "--json",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(r["level"], "render");
    assert_eq!(r["records_checked"], 4);
    // scan.bin and the empty `zero` get the fallback decoder, whose view is
    // shown on demand but not recorded.
    assert_eq!(r["records_rendered"], 2);
    assert_eq!(r["pinned"], true);
    // cat
    let o = run(
        &["cat", "a.lgn", "registers/Ελλάδα.csv", "-i", "alice.key"],
        d,
    );
    assert_eq!(code(&o), 0);
    assert_eq!(
        o.stdout,
        fs::read(d.join("src/registers/Ελλάδα.csv")).unwrap()
    );
    let o = run(&["cat", "a.lgn", "nope", "-i", "alice.key"], d);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("nope: no such record"),
        "{}",
        stderr(&o)
    );
    // extract everything
    let o = run(&["extract", "a.lgn", "-o", "out", "-i", "alice.key"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    for f in [
        "legal/act.md",
        "registers/scan.bin",
        "registers/Ελλάδα.csv",
        "zero",
    ] {
        assert_eq!(
            fs::read(d.join("out").join(f)).unwrap(),
            fs::read(d.join("src").join(f)).unwrap(),
            "{f}"
        );
    }
    assert!(d.join("out/empty/inner").is_dir());
    assert!(
        !d.join("out/legal/act.md.dc.json").exists(),
        "sidecars are metadata, not records"
    );
    let src_m = fs::metadata(d.join("src/registers/scan.bin"))
        .unwrap()
        .modified()
        .unwrap();
    let out_m = fs::metadata(d.join("out/registers/scan.bin"))
        .unwrap()
        .modified()
        .unwrap();
    let diff = src_m.duration_since(out_m).unwrap_or_else(|e| e.duration());
    assert!(diff.as_secs() < 1, "modification time kept");
    // The built-in and the carried spec are the same text.
    let o = run(&["spec", "a.lgn"], d);
    assert_eq!(code(&o), 0);
    assert_eq!(stdout(&o), stdout(&run(&["spec"], d)));
}

#[test]
fn extract_never_overwrites_and_leaves_no_partial_files() {
    let t = packed("overwrite");
    let d = &t.0;
    fs::create_dir_all(d.join("out/legal")).unwrap();
    fs::write(d.join("out/legal/act.md"), "mine").unwrap();
    let o = run(
        &[
            "extract",
            "a.lgn",
            "-o",
            "out",
            "-i",
            "alice.key",
            "legal/act.md",
        ],
        d,
    );
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("exists (use --force"), "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(d.join("out/legal/act.md")).unwrap(),
        "mine"
    );
    let o = run(
        &[
            "extract",
            "a.lgn",
            "-o",
            "out",
            "-i",
            "alice.key",
            "--force",
            "legal/act.md",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        fs::read(d.join("out/legal/act.md")).unwrap(),
        fs::read(d.join("src/legal/act.md")).unwrap()
    );
    let leftovers: Vec<_> = walk(&d.join("out"))
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".partial-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn extract_refuses_to_write_through_a_symlink() {
    let t = packed("symlink-out");
    let d = &t.0;
    fs::create_dir_all(d.join("elsewhere")).unwrap();
    fs::create_dir_all(d.join("out")).unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(d.join("elsewhere"), d.join("out/legal")).unwrap();
        let o = run(
            &[
                "extract",
                "a.lgn",
                "-o",
                "out",
                "-i",
                "alice.key",
                "legal/act.md",
            ],
            d,
        );
        assert_ne!(code(&o), 0);
        assert!(stderr(&o).contains("symbolic link"), "{}", stderr(&o));
        assert!(
            fs::read_dir(d.join("elsewhere")).unwrap().next().is_none(),
            "nothing written outside the folder"
        );
    }
}

#[test]
fn damage_forgery_and_wrong_keys_give_their_exit_codes() {
    let t = packed("codes");
    let d = &t.0;
    assert_eq!(code(&run(&["keygen", "recipient", "-o", "mallory"], d)), 0);
    assert_eq!(code(&run(&["keygen", "issuer", "-o", "other"], d)), 0);
    let o = run(&["ls", "a.lgn", "-i", "mallory.key"], d);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(stderr(&o).contains("no key given opens this archive"));
    let o = run(&["verify", "a.lgn", "--issuer", "other.pub"], d);
    assert_eq!(code(&o), 1);
    assert!(
        stdout(&o).contains("not by the pinned issuer"),
        "{}",
        stdout(&o)
    );
    let mut bytes = fs::read(d.join("a.lgn")).unwrap();
    let n = bytes.len();
    bytes[n / 3] ^= 0x40;
    fs::write(d.join("bad.lgn"), &bytes).unwrap();
    let o = run(&["verify", "bad.lgn"], d);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("FAILED  fixity")
            && stdout(&o).contains("BLAKE3 of the stored bytes differs"),
        "{}",
        stdout(&o)
    );
    let o = run(&["verify", "missing.lgn"], d);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("missing.lgn"));
    fs::write(d.join("short.lgn"), &bytes[..n - 7]).unwrap();
    let o = run(&["ls", "short.lgn"], d);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("end of central directory"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn passphrases_weak_ones_and_the_environment() {
    let t = packed("pass");
    let d = &t.0;
    fs::write(d.join("weak"), "hunter2\n").unwrap();
    let o = run(
        &["pack", "src", "-o", "p.lgn", "--passphrase-file", "weak"],
        d,
    );
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("too weak"), "{}", stderr(&o));
    assert!(!d.join("p.lgn").exists());
    let strong = stdout(&run(&["keygen", "passphrase"], d));
    fs::write(d.join("strong"), &strong).unwrap();
    let o = run(
        &["pack", "src", "-o", "p.lgn", "--passphrase-file", "strong"],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = bin()
        .args(["cat", "p.lgn", "zero"])
        .current_dir(d)
        .env("LEGATION_PASSPHRASE", strong.trim())
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = bin()
        .args(["cat", "p.lgn", "zero"])
        .current_dir(d)
        .env("LEGATION_PASSPHRASE", "wrong but long passphrase")
        .output()
        .unwrap();
    assert_eq!(code(&o), 3);
    // No key at all and no terminal: a clear error, not a hang.
    let o = run(&["cat", "p.lgn", "zero"], d);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(stderr(&o).contains("a key is needed"), "{}", stderr(&o));
    // The output exists: refused without --force, and nothing else left.
    let o = run(
        &["pack", "src", "-o", "p.lgn", "--passphrase-file", "strong"],
        d,
    );
    assert_eq!(code(&o), 2);
    assert!(walk(d)
        .iter()
        .all(|p| !p.to_string_lossy().contains(".partial-")));
}

#[test]
fn pack_refuses_what_cannot_be_packed() {
    let t = Tmp::new("refuse");
    let d = &t.0;
    assert_eq!(code(&run(&["keygen", "recipient", "-o", "k"], d)), 0);
    let src = d.join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("Report.txt"), "a").unwrap();
    fs::write(src.join("report.TXT"), "b").unwrap();
    let o = run(&["pack", "src", "-o", "x.lgn", "-r", "k.pub"], d);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("collides with"), "{}", stderr(&o));
    fs::remove_file(src.join("report.TXT")).unwrap();
    fs::write(src.join("caf\u{e9}.txt"), "nfc").unwrap();
    fs::write(src.join("cafe\u{301}.txt"), "nfd").unwrap();
    let o = run(&["pack", "src", "-o", "x.lgn", "-r", "k.pub"], d);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("Unicode normalization"),
        "{}",
        stderr(&o)
    );
    fs::remove_file(src.join("cafe\u{301}.txt")).unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("/etc/passwd", src.join("link")).unwrap();
        let o = run(&["pack", "src", "-o", "x.lgn", "-r", "k.pub"], d);
        assert_eq!(code(&o), 2);
        assert!(
            stderr(&o).contains("link: is a symbolic link"),
            "{}",
            stderr(&o)
        );
        let o = run(
            &[
                "pack",
                "src",
                "-o",
                "x.lgn",
                "-r",
                "k.pub",
                "--skip-unsupported",
            ],
            d,
        );
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert!(stderr(&o).contains("skipped") && stderr(&o).contains("symbolic link"));
        fs::remove_file(src.join("link")).unwrap();
        use std::os::unix::ffi::OsStrExt;
        fs::write(src.join(std::ffi::OsStr::from_bytes(b"bad\xffname")), "x").unwrap();
        let o = run(&["pack", "src", "-o", "y.lgn", "-r", "k.pub"], d);
        assert_eq!(code(&o), 2);
        assert!(stderr(&o).contains("not valid UTF-8"), "{}", stderr(&o));
    }
    fs::write(src.join("orphan.txt.dc.json"), "{}").unwrap();
    let o = run(
        &[
            "pack",
            "src",
            "-o",
            "z.lgn",
            "-r",
            "k.pub",
            "--skip-unsupported",
        ],
        d,
    );
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("sidecar for \"orphan.txt\""),
        "{}",
        stderr(&o)
    );
    fs::write(src.join("orphan.txt"), "x").unwrap();
    fs::write(src.join("orphan.txt.dc.json"), r#"{"titel": "typo"}"#).unwrap();
    let o = run(
        &[
            "pack",
            "src",
            "-o",
            "z.lgn",
            "-r",
            "k.pub",
            "--skip-unsupported",
        ],
        d,
    );
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("\"titel\" is not a Dublin Core element"),
        "{}",
        stderr(&o)
    );
    assert!(!d.join("z.lgn").exists());
}

/// The hostile vectors through the command: the exit code the README
/// table promises for each expectation.
#[test]
fn every_test_vector_through_verify() {
    let t = Tmp::new("vectors");
    for v in legation_tests::vectors::all() {
        let f = t.0.join(format!("{}.lgn", v.name));
        fs::write(&f, &v.bytes).unwrap();
        if v.reader_disagrees.is_some() {
            continue; // the library's vector test says how the reader differs
        }
        let mut c = bin();
        match &v.proof {
            // A proof vector: the file is a proof, checked with no archive.
            Some(record) => {
                c.arg("check-proof").arg(&f).current_dir(&t.0);
                if record != "-" {
                    let r = t.0.join(format!("{}.record", v.name));
                    fs::write(&r, legation_format::hex::decode(record).unwrap()).unwrap();
                    c.arg("--record").arg(&r);
                }
            }
            None => {
                c.arg("verify").arg(&f).current_dir(&t.0);
            }
        }
        if let Some(p) = &v.passphrase {
            c.env("LEGATION_PASSPHRASE", p);
        }
        if let Some(i) = &v.identity {
            let k = t.0.join(format!("{}.key", v.name));
            fs::write(&k, format!("legation-x25519-secret {i}\n")).unwrap();
            c.arg("-i").arg(&k);
        }
        if let Some(i) = &v.pq_identity {
            let k = t.0.join(format!("{}.pq.key", v.name));
            fs::write(&k, format!("legation-mlkem768x25519-secret {i}\n")).unwrap();
            c.arg("-i").arg(&k);
        }
        if let Some(i) = &v.issuer {
            let k = t.0.join(format!("{}.pub", v.name));
            fs::write(&k, format!("legation-ed25519-public {i}\n")).unwrap();
            c.arg("--issuer").arg(&k);
        }
        let o = c.output().unwrap();
        let want = match &v.outcome {
            Outcome::Success => 0,
            Outcome::NoKey => 3,
            Outcome::Open(Refusal::UnsupportedVersion) => 2,
            _ => 1,
        };
        assert_eq!(
            code(&o),
            want,
            "{}: {}\n{}{}",
            v.name,
            v.expect,
            stdout(&o),
            stderr(&o)
        );
        assert!(!stderr(&o).contains("panicked"), "{}", v.name);
    }
}

/// Extracting a forged archive whose catalog names `../` paths writes
/// nothing outside the output folder.
#[test]
fn forged_traversal_path_writes_nothing_outside() {
    let t = Tmp::new("traversal");
    let v = legation_tests::vectors::all()
        .into_iter()
        .find(|v| v.name == "catalog-path-traversal")
        .unwrap();
    fs::write(t.0.join("t.lgn"), &v.bytes).unwrap();
    fs::create_dir_all(t.0.join("deep/out")).unwrap();
    let o = bin()
        .args(["extract", "../../t.lgn", "-o", "."])
        .current_dir(t.0.join("deep/out"))
        .env("LEGATION_PASSPHRASE", v.passphrase.as_deref().unwrap())
        .output()
        .unwrap();
    assert_ne!(code(&o), 0);
    assert!(stderr(&o).contains("'..' segment"), "{}", stderr(&o));
    let files = walk(&t.0);
    assert_eq!(files, vec![t.0.join("t.lgn")], "nothing but the archive");
}

fn walk(d: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = fs::read_dir(d) {
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn view_render_and_a_third_party_decoder_by_extension() {
    let t = packed("views");
    let d = &t.0;
    // The built-in CSV decoder, in the terminal and as HTML.
    let o = run(
        &["view", "a.lgn", "registers/Ελλάδα.csv", "-i", "alice.key"],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("Ελένη"), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("identical to the one recorded at packing"),
        "{}",
        stderr(&o)
    );
    let o = run(
        &[
            "render",
            "a.lgn",
            "legal/act.md",
            "-i",
            "alice.key",
            "-o",
            "act.html",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let html = fs::read_to_string(d.join("act.html")).unwrap();
    assert!(
        html.contains("<h1>") && html.contains("dc:creator") && !html.contains("<script"),
        "{html}"
    );
    let o = run(
        &[
            "render",
            "a.lgn",
            "legal/act.md",
            "-i",
            "alice.key",
            "-o",
            "act.html",
        ],
        d,
    );
    assert_eq!(code(&o), 2, "never overwrites without --force");
    // A decoder of our own for files ending in .ebc.
    fs::write(d.join("tiny.wasm"), legation_tests::tiny_decoder()).unwrap();
    fs::write(d.join("src/registers/old.EBC"), [0xc1u8, 0xc2, 0xc3]).unwrap();
    let o = run(
        &[
            "pack",
            "src",
            "-o",
            "b.lgn",
            "-r",
            "alice.pub",
            "--decoder",
            ".ebc=tiny.wasm",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(
        &["view", "b.lgn", "registers/old.EBC", "-i", "alice.key"],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("tiny") && stdout(&o).contains("fixed view"),
        "{}",
        stdout(&o)
    );
    let o = run(&["verify", "b.lgn", "-i", "alice.key"], d);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("render:   OK: 3 views"),
        "{}",
        stdout(&o)
    );
    let o = run(
        &[
            "pack",
            "src",
            "-o",
            "c.lgn",
            "-r",
            "alice.pub",
            "--decoder",
            "ebc=tiny.wasm",
        ],
        d,
    );
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("neither a media type"),
        "{}",
        stderr(&o)
    );
}

/// The decoders' limits are chosen when packing and recorded, and a record
/// that breaks one is named with the decoder and the limit; `view` then
/// shows the record by its facts and first bytes.
#[test]
fn decoder_limits_are_chosen_at_packing_and_named_when_met() {
    let t = packed("limits");
    let d = &t.0;
    let pack = |out: &str, extra: &[&str]| {
        let mut args = vec!["pack", "src", "-o", out, "-r", "alice.pub"];
        args.extend_from_slice(extra);
        run(&args, d)
    };
    let o = pack("starved.lgn", &["--decoder-fuel", "1000"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("decoder csv 1.0.0 (d/")
            && stderr(&o).contains(
                ") on registers/Ελλάδα.csv: stopped by a limit: \
             its fuel limit of 1000 units ran out"
            ),
        "{}",
        stderr(&o)
    );
    // `info` lists each decoder with the limits recorded in it.
    let csv_limits = |archive: &str| {
        let o = run(&["info", archive], d);
        let line = stdout(&o)
            .lines()
            .find(|l| l.contains(" csv 1.0.0 "))
            .map(|l| {
                l.split_whitespace()
                    .skip(3)
                    .take(4)
                    .collect::<Vec<_>>()
                    .join(" ")
            });
        line.unwrap_or_else(|| panic!("{}", stdout(&o)))
    };
    assert_eq!(csv_limits("starved.lgn"), "1000 2000 1024 MiB");
    let o = run(
        &[
            "view",
            "starved.lgn",
            "registers/Ελλάδα.csv",
            "-i",
            "alice.key",
        ],
        d,
    );
    assert_eq!(
        code(&o),
        0,
        "not rendered at packing either: {}",
        stderr(&o)
    );
    let shown = stdout(&o);
    for part in [
        "registers/Ελλάδα.csv (not rendered)",
        "text/csv",
        "fuel limit of 1000 units ran out",
        "00000000  69 64 2c 6e 61 6d 65",
    ] {
        assert!(shown.contains(part), "{part}: {shown}");
    }
    // `render` writes such a record the same way, as HTML.
    let o = run(
        &[
            "render",
            "starved.lgn",
            "registers/Ελλάδα.csv",
            "-i",
            "alice.key",
            "-o",
            "starved.html",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("not rendered"), "{}", stderr(&o));
    let html = fs::read_to_string(d.join("starved.html")).unwrap();
    for part in [
        "registers/Ελλάδα.csv (not rendered)",
        "fuel limit of 1000 units ran out",
        "00000000  69 64 2c 6e 61 6d 65",
    ] {
        assert!(html.contains(part), "{part}: {html}");
    }
    assert!(
        html.contains("<td>BLAKE3</td>") && !html.contains("<script"),
        "{html}"
    );
    // Limits a decoder cannot have are refused before anything is written.
    for (flag, value, says) in [
        ("--decoder-memory", "0", "from 1 to 4096 MiB"),
        ("--decoder-memory", "4097", "from 1 to 4096 MiB"),
        ("--decoder-depth", "0", "at least its own call"),
        ("--decoder-fuel", "9223372036854775808", "at most"),
    ] {
        let o = pack("refused.lgn", &[flag, value]);
        assert_eq!(code(&o), 2, "{flag} {value}");
        assert!(stderr(&o).contains(says), "{flag} {value}: {}", stderr(&o));
        assert!(!d.join("refused.lgn").exists());
    }
    // More memory than the default is recorded as such.
    let o = pack("roomy.lgn", &["--decoder-memory", "2048"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(csv_limits("roomy.lgn"), "20000000000 2000 2048 MiB");
}

/// Text that a decoder or an archive chose (a refusal message, a reason
/// recorded in the catalog) is shown with its control characters
/// replaced, so it cannot drive the terminal or fake a verdict.
#[test]
fn decoder_messages_cannot_drive_the_terminal() {
    let t = packed("escapes");
    let d = &t.0;
    let message = b"\x01\x1b[2J\x1b]0;owned\x07all records verified OK\r";
    let evil = legation_tests::hostile::module(
        &legation_tests::hostile::ret(16, message.len() as u64),
        message,
        "",
    );
    fs::write(d.join("evil.wasm"), evil).unwrap();
    fs::write(d.join("src/registers/old.ebc"), b"ledger").unwrap();
    let o = run(
        &[
            "pack",
            "src",
            "-o",
            "e.lgn",
            "-r",
            "alice.pub",
            "--decoder",
            ".ebc=evil.wasm",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let outputs = [
        o,
        run(&["verify", "e.lgn", "-i", "alice.key"], d),
        run(
            &["view", "e.lgn", "registers/old.ebc", "-i", "alice.key"],
            d,
        ),
    ];
    for o in &outputs {
        let all = format!("{}{}", stdout(o), stderr(o));
        assert!(all.contains("all records verified OK"), "{all}");
        assert!(
            !all.contains(['\x1b', '\x07', '\r']),
            "a control character reached the terminal: {all:?}"
        );
    }
}

/// A reader that closes the pipe early (`legation ls … | head`) ends the
/// command quietly with SIGPIPE's status, not with a panic.
#[test]
fn a_closed_output_pipe_ends_the_command_quietly() {
    use std::process::Stdio;
    let t = packed("pipe");
    for args in [
        &["ls", "a.lgn", "-i", "alice.key"][..],
        &["view", "a.lgn", "legal/act.md", "-i", "alice.key"][..],
        &["cat", "a.lgn", "legal/act.md", "-i", "alice.key"][..],
    ] {
        // The reading end is closed before the command starts: closing it
        // after `spawn` raced a fast command, whose few bytes fitted in the
        // pipe's buffer before the close (CI saw `cat` exit 0).
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let o = bin()
            .args(args)
            .current_dir(&t.0)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(code(&o), 141, "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{args:?}: {}", stderr(&o));
    }
}

/// `legation decode-worker` on a pipe (not the socket that `legation`
/// starts it with) reads it plainly, and exits 0 at the end of its input.
#[test]
fn a_decode_worker_on_a_pipe_ends_with_its_input() {
    use std::process::Stdio;
    let mut child = bin()
        .arg("decode-worker")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdin.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(o.stdout.is_empty());
}
