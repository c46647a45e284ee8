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

/// `pack src --update PREV -o OUT` in `d`, for alice, signed by gov.
fn update(d: &std::path::Path, prev: &str, out: &str) -> std::process::Output {
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
    let up = |prev: &str, out: &str| update(d, prev, out);
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
    // Checked alone, away from its series, it says which generation it is.
    fs::create_dir(d.join("alone")).unwrap();
    fs::copy(d.join("one.lgn"), d.join("alone/one.lgn")).unwrap();
    let o = run(&["verify", "alone/one.lgn"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("generation: 2 of its series, created ")
            && stdout(&o).contains("(the 2 earlier generation(s) are not in this file"),
        "{}",
        stdout(&o)
    );

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

/// A series of three generations in `d` (`reg.0000000{0,1,2}.lgn`): one
/// record changed, then one added.
fn three_generations(d: &std::path::Path) {
    pack_v2(d, "reg.00000000.lgn");
    let up = |prev: &str, out: &str| {
        let o = update(d, prev, out);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
    };
    fs::write(
        d.join("src/registers/Ελλάδα.csv"),
        "id,name\n1,Ελένη\n2,Νίκος\n",
    )
    .unwrap();
    up("reg.00000000.lgn", "reg.00000001.lgn");
    fs::write(d.join("src/legal/new.txt"), "a new act\n").unwrap();
    up("reg.00000001.lgn", "reg.00000002.lgn");
}

#[test]
fn verify_audits_every_generation_of_a_series_however_it_is_given() {
    let t = packed("generations-verify");
    let d = &t.0;
    three_generations(d);
    let gens = ["reg.00000000.lgn", "reg.00000001.lgn", "reg.00000002.lgn"];
    // The newest file, the three files, the folder: every generation
    // present is audited once, and the series chains.
    for args in [&gens[2..], &gens[..], &["."][..]] {
        let mut a = vec!["verify"];
        a.extend_from_slice(args);
        a.extend(["--issuer", "gov.pub"]);
        let o = run(&a, d);
        let out = stdout(&o);
        assert_eq!(code(&o), 0, "{args:?}: {out}{}", stderr(&o));
        assert!(
            out.contains("generation 2 read; generations 0, 1, 2 present in 3 file(s)")
                && out.contains("fixity:   OK: every generation present (3 file(s),")
                && out.contains("(pinned)"),
            "{args:?}: {out}"
        );
        // Files of one series given together are one series checked.
        assert_eq!(
            out.contains("0 archive(s) and 1 series checked: all OK"),
            args.len() > 1,
            "{args:?}: {out}"
        );
        // The series' notes, each said once (finding the pinned key's
        // generation does not say them again).
        let err = stderr(&o);
        let notes: Vec<&str> = err.lines().filter(|l| l.starts_with("note:")).collect();
        let mut once = notes.clone();
        once.sort_unstable();
        once.dedup();
        assert_eq!(notes.len(), once.len(), "{args:?}: {err}");
    }
    // With a key: the content of the generation given.
    let o = run(&["verify", "reg.00000002.lgn", "-i", "alice.key"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("  gen    2* content OK: 5 records")
            && stdout(&o).contains("content:  OK: generation(s) 0, 1, 2 of 0, 1, 2 checked"),
        "{}",
        stdout(&o)
    );
    let o = run(
        &["verify", "reg.00000001.lgn", "-i", "alice.key", "--json"],
        d,
    );
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["generation"], 1);
    assert_eq!(v["content"]["ok"], true);
    assert_eq!(v["files"].as_array().unwrap().len(), 3);
    // A sample: pieces drawn in each file.
    let o = run(
        &["verify", "reg.00000002.lgn", "--sample", "2", "--seed", "7"],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o).matches("2 of ").count(), 3, "{}", stdout(&o));

    // Generation 1 damaged in the middle of its file: named by the audit
    // of generation 2 (which reads it), and repaired from another copy.
    fs::create_dir(d.join("copy")).unwrap();
    fs::copy(d.join(gens[1]), d.join("copy").join(gens[1])).unwrap();
    let mut b = fs::read(d.join(gens[1])).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 0x40;
    fs::write(d.join(gens[1]), &b).unwrap();
    let o = run(&["verify", "reg.00000002.lgn"], d);
    let out = stdout(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(
        out.contains("reg.00000001.lgn  ") && out.contains("fixity FAILED (1 problem(s))"),
        "{out}"
    );
    assert!(out.contains("FAILED  ./reg.00000001.lgn: "), "{out}");
    let o = run(&["verify", "reg.00000002.lgn", "--sample", "100"], d);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let o = run(
        &[
            "repair",
            gens[1],
            "--from",
            "copy/reg.00000001.lgn",
            "-o",
            "fixed.lgn",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("taken from copy/reg.00000001.lgn: 1 entr"),
        "{}",
        stdout(&o)
    );
    fs::rename(d.join("fixed.lgn"), d.join(gens[1])).unwrap();
    let o = run(&["verify", ".", "-i", "alice.key"], d);
    assert_eq!(code(&o), 0, "{}", stdout(&o));

    // A generation it reads missing: named.
    fs::rename(d.join(gens[0]), d.join("gone")).unwrap();
    let o = run(&["verify", "reg.00000002.lgn"], d);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("generation 0 is needed and no file holds it"),
        "{}",
        stdout(&o)
    );
    // extract of a generation given by its file reads through the series.
    fs::rename(d.join("gone"), d.join(gens[0])).unwrap();
    let o = run(&["extract", gens[1], "-o", "out1", "-i", "alice.key"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!d.join("out1/legal/new.txt").exists());
    assert_eq!(
        fs::read_to_string(d.join("out1/registers/Ελλάδα.csv")).unwrap(),
        "id,name\n1,Ελένη\n2,Νίκος\n"
    );
}

#[test]
fn a_series_on_an_object_store_is_pushed_pulled_verified_and_read() {
    let t = packed("generations-s3");
    let d = &t.0;
    three_generations(d);
    let cluster = crate::embassies::Cluster::start_at(&d.join("cluster"), "29600");
    let url = |n: u32| format!("s3://embassy/register/reg.{n:08}.lgn");
    // Generation 1 first, then 2: the push of 2 sends only its own file,
    // the push of 1 also generation 0, which it reads.
    let o = cluster.run(
        1,
        &["push", "reg.00000001.lgn", &url(1), "--issuer", "gov.pub"],
        d,
    );
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(
        out.contains(&format!("which is not at {}: pushing it first", url(0)))
            && out.contains("series:   OK at "),
        "{out}"
    );
    let o = cluster.run(
        2,
        &["push", "reg.00000002.lgn", &url(2), "--issuer", "gov.pub"],
        d,
    );
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(!out.contains("first"), "{out}");
    assert_eq!(out.matches("pushed:").count(), 1, "{out}");

    // verify of the newest object: every generation there audited; with a
    // key its content; a sample.
    let o = cluster.run(3, &["verify", &url(2), "-i", "alice.key"], d);
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(
        out.contains("generations 0, 1, 2 present in 3 file(s)")
            && out.contains("content:  OK: generation(s) 0, 1, 2 of 0, 1, 2 checked"),
        "{out}"
    );
    let o = cluster.run(1, &["verify", &url(2), "--sample", "2"], d);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    // ls, cat and extract of the object read through its series.
    let o = cluster.run(1, &["cat", &url(2), "legal/new.txt", "-i", "alice.key"], d);
    assert_eq!(stdout(&o), "a new act\n", "{}", stderr(&o));
    let o = cluster.run(
        1,
        &["extract", &url(1), "-o", "from-s3", "-i", "alice.key"],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        fs::read(d.join("from-s3/registers/scan.bin")).unwrap(),
        fs::read(d.join("src/registers/scan.bin")).unwrap()
    );
    assert!(!d.join("from-s3/legal/new.txt").exists());
    // pull of the newest into an empty folder brings what it reads.
    fs::create_dir(d.join("pulled")).unwrap();
    let o = cluster.run(
        2,
        &[
            "pull",
            &url(2),
            "-o",
            "pulled/reg.00000002.lgn",
            "--issuer",
            "gov.pub",
        ],
        d,
    );
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert_eq!(out.matches("pulled:").count(), 3, "{out}");
    for n in 0..3 {
        let name = format!("reg.{n:08}.lgn");
        assert_eq!(
            fs::read(d.join("pulled").join(&name)).unwrap(),
            fs::read(d.join(&name)).unwrap(),
            "{name}"
        );
    }
    // A damaged object named by the audit of the newest.
    let store_url: legation_remote::Url = url(1).parse().unwrap();
    let mut b = fs::read(d.join("reg.00000001.lgn")).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 1;
    cluster.store(&store_url).put(&store_url, b).unwrap();
    let o = cluster.run(3, &["verify", &url(2)], d);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(
        stdout(&o).contains(&format!("FAILED  {}: ", url(1))),
        "{}",
        stdout(&o)
    );
}

#[test]
fn an_update_reads_again_only_what_changed_and_never_misses_a_change() {
    let t = packed("generations-scan");
    let d = &t.0;
    three_generations(d);
    let up = |prev: &str, out: &str| update(d, prev, out);
    // Nothing changed: every file hashed once, only the one with a
    // sidecar (legal/act.md) read again.
    let o = up("reg.00000002.lgn", "reg.00000003.lgn");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("read 5 records once to find what changed")
            && stderr(&o).contains("; 1 read again to store")
            && stderr(&o).contains("(+0 added, ~0 changed, -0 removed)"),
        "{}",
        stderr(&o)
    );
    // Bytes changed with the size and modification time kept: the hash
    // catches it. A sidecar's record is always read again.
    let csv = d.join("src/registers/Ελλάδα.csv");
    let before = fs::metadata(&csv).unwrap().modified().unwrap();
    let old = fs::read(&csv).unwrap();
    let mut new = old.clone();
    let last = new.len() - 2;
    new[last] = if new[last] == b'X' { b'Y' } else { b'X' };
    fs::write(&csv, &new).unwrap();
    fs::File::options()
        .write(true)
        .open(&csv)
        .unwrap()
        .set_modified(before)
        .unwrap();
    let o = up("reg.00000003.lgn", "reg.00000004.lgn");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("; 2 read again to store")
            && stderr(&o).contains("(+0 added, ~1 changed, -0 removed)"),
        "{}",
        stderr(&o)
    );
    let o = run(
        &[
            "cat",
            "reg.00000004.lgn",
            "registers/Ελλάδα.csv",
            "-i",
            "alice.key",
        ],
        d,
    );
    assert_eq!(o.stdout, new, "{}", stderr(&o));
    let o = run(&["verify", ".", "-i", "alice.key"], d);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
}

/// Records of the embassy series test (`LEGATION_SERIES_RECORDS`, 2,000
/// by default; the run is 100,000), 0.1 % of them (at least two)
/// changed in generation 1.
fn embassy_records() -> usize {
    std::env::var("LEGATION_SERIES_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

#[test]
fn three_embassies_hold_a_series_and_the_stale_one_is_named() {
    let t = super::common::Tmp::new("generations-embassies");
    let d = &t.0;
    let n = embassy_records();
    for i in 0..n {
        let dir = d.join(format!("src/d{:03}", i / 1000));
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join(format!("r{i:06}.csv")),
            format!("id,row,value\n{i},0,{}\n", i.wrapping_mul(2_654_435_761)),
        )
        .unwrap();
    }
    assert_eq!(code(&run(&["keygen", "recipient", "-o", "alice"], d)), 0);
    assert_eq!(code(&run(&["keygen", "issuer", "-o", "gov"], d)), 0);
    pack_v2(d, "reg.00000000.lgn");
    // A fork: another generation 1 from the same generation 0, kept apart.
    fs::create_dir(d.join("fork")).unwrap();
    fs::copy(d.join("reg.00000000.lgn"), d.join("fork/reg.00000000.lgn")).unwrap();
    fs::write(d.join("src/d000/r000000.csv"), "forked\n").unwrap();
    let o = update(d, "fork/reg.00000000.lgn", "fork/reg.00000001.lgn");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // Generation 1: 0.1 % of the records changed.
    let changed = (n / 1000).max(2);
    for i in 0..changed {
        let k = i * (n / changed);
        let p = d.join(format!("src/d{:03}/r{k:06}.csv", k / 1000));
        fs::write(&p, format!("id,row,value\n{k},1,changed\n")).unwrap();
    }
    let o = update(d, "reg.00000000.lgn", "reg.00000001.lgn");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("~{changed} changed")),
        "{}",
        stderr(&o)
    );
    let cluster = crate::embassies::Cluster::start_at(&d.join("cluster"), "29700");
    let hosts = ["luxembourg", "estonia", "iceland"];
    for b in hosts {
        cluster.bucket(b);
        assert_eq!(code(&run(&["keygen", "witness", "-o", b], d)), 0);
    }
    let url = |b: &str, g: u32| format!("s3://{b}/register/reg.{g:08}.lgn");
    let push = |file: &str, to: &str| {
        let o = cluster.run(1, &["push", file, to, "--issuer", "gov.pub"], d);
        assert_eq!(
            code(&o),
            0,
            "push {file} {to}: {}{}",
            stdout(&o),
            stderr(&o)
        );
        stdout(&o)
    };
    let witness = |b: &str, g: u32| {
        let o = cluster.run(
            2,
            &[
                "witness",
                &url(b, g),
                "--key",
                &format!("{b}.key"),
                "--issuer",
                "gov.pub",
                "--state",
                &format!("{b}.state"),
            ],
            d,
        );
        assert_eq!(code(&o), 0, "witness {b}: {}{}", stdout(&o), stderr(&o));
    };
    let verify = |copies: [&str; 3]| {
        let iceland = format!("iceland.pub={}", copies[2]);
        let mut args = vec!["verify"];
        args.extend(copies);
        args.extend([
            "--issuer",
            "gov.pub",
            "--witness",
            "luxembourg.pub",
            "--witness",
            "estonia.pub",
            "--witness",
            &iceland,
            "--min-witnesses",
            "2",
        ]);
        cluster.run(3, &args, d)
    };
    // Generation 0 everywhere; generation 1 to two embassies, which sends
    // the delta only.
    for b in hosts {
        push("reg.00000000.lgn", &url(b, 0));
    }
    let delta = fs::metadata(d.join("reg.00000001.lgn")).unwrap().len();
    let whole = fs::metadata(d.join("reg.00000000.lgn")).unwrap().len();
    assert!(delta * 4 < whole, "{delta} bytes against {whole}");
    for b in &hosts[..2] {
        let out = push("reg.00000001.lgn", &url(b, 1));
        assert!(
            !out.contains("pushing it first") && out.contains("series:   OK at "),
            "{out}"
        );
    }
    witness("luxembourg", 1);
    witness("estonia", 1);
    witness("iceland", 0);
    let (l1, e1, i0, i1) = (
        url("luxembourg", 1),
        url("estonia", 1),
        url("iceland", 0),
        url("iceland", 1),
    );
    let o = verify([&l1, &e1, &i0]);
    let out = stdout(&o);
    assert_eq!(code(&o), 4, "{out}{}", stderr(&o));
    assert!(
        out.contains(&format!("STALE: {i0} holds generation 0")),
        "{out}"
    );
    assert_eq!(out.matches("STALE").count(), 1, "{out}");
    // Iceland receives generation 1 (its delta only) and cosigns it.
    let out = push("reg.00000001.lgn", &i1);
    assert!(!out.contains("pushing it first"), "{out}");
    witness("iceland", 1);
    let o = verify([&l1, &e1, &i1]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(stdout(&o).matches("current: ").count(), 3, "{}", stdout(&o));
    // Iceland serving generation 0 after cosigning 1: its own cosignature
    // catches it.
    let o = verify([&l1, &e1, &i0]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(
        stdout(&o).contains(&format!("EQUIVOCATION: {i0} holds generation 0")),
        "{}",
        stdout(&o)
    );
    // A forked generation 1 at Estonia (its generation 0 pushed with it).
    let forked = "s3://estonia/fork/reg.00000001.lgn";
    let out = push("fork/reg.00000001.lgn", forked);
    assert!(out.contains("pushing it first"), "{out}");
    let o = verify([&l1, forked, &i1]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(stdout(&o).contains("FORK: series "), "{}", stdout(&o));
}

/// The lines of `info`'s formats table (from its `puid` header on).
fn formats_table(out: &str) -> String {
    let at = out.find("\npuid ").expect("a formats table");
    out[at..].to_owned()
}

/// `compact SERIES… -o OUT EXTRA…` in `d`, for alice, signed by gov.
fn compact(
    d: &std::path::Path,
    series: &[&str],
    out: &str,
    extra: &[&str],
) -> std::process::Output {
    let mut a = vec!["compact"];
    a.extend(series);
    a.extend(["-o", out, "-i", "alice.key", "--sign", "gov.key"]);
    a.extend(extra);
    run(&a, d)
}

#[test]
fn compact_writes_after_the_newest_whatever_the_order_of_the_files() {
    let t = packed("generations-compact");
    let d = &t.0;
    three_generations(d);
    let g = ["reg.00000000.lgn", "reg.00000001.lgn", "reg.00000002.lgn"];
    fs::create_dir(d.join("out")).unwrap();
    let orders = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    for order in orders {
        let o = compact(d, &order.map(|i| g[i]), "out/one.lgn", &["--force"]);
        let err = stderr(&o);
        assert_eq!(code(&o), 0, "{order:?}: {err}");
        assert!(
            err.contains("compacting generation 2, the newest of the 3 file(s) found")
                && err.contains("compacted generation 2 into out/one.lgn: ",)
                && err.contains("self-contained (generation 3 of the series)"),
            "{order:?}: {err}"
        );
        assert_eq!(
            records_root(&d.join("out/one.lgn")),
            records_root(&d.join(g[2])),
            "{order:?}"
        );
        let o = run(&["info", "out/one.lgn"], d);
        assert!(stdout(&o).contains("sequence 3,"), "{}", stdout(&o));
    }
    // An older generation is refused: it would fork the series.
    let o = compact(d, &[g[0]], "out/old.lgn", &["--generation", "1"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("holds generation 2, after generation 1")
            && stderr(&o).contains("(no branch)"),
        "{}",
        stderr(&o)
    );
    assert!(!d.join("out/old.lgn").exists());
}

#[test]
fn verify_checks_the_content_and_views_of_every_generation_through_the_series() {
    let t = packed("generations-render");
    let d = &t.0;
    three_generations(d);
    // The views generation 2's records have, from the same folder packed
    // as one self-contained archive.
    fs::create_dir(d.join("solo")).unwrap();
    pack_v2(d, "solo/one.lgn");
    let o = run(&["verify", "solo/one.lgn", "-i", "alice.key"], d);
    let out = stdout(&o);
    let views: u64 = out
        .split("render:   OK: ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(views >= 3, "{out}");

    // Generation 1 given alone (a dependent file, read through the series
    // beside it), at the render level, the default with a key.
    for level in [None, Some("render")] {
        let mut a = vec!["verify", "reg.00000001.lgn", "-i", "alice.key", "--json"];
        a.extend(level.map(|l| ["--level", l]).into_iter().flatten());
        let o = run(&a, d);
        assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
        let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
        let c = &v["content"];
        assert_eq!(
            (c["ok"].clone(), c["render"].clone()),
            (true.into(), true.into())
        );
        let rows = c["generations"].as_array().unwrap();
        let field = |k: &str| {
            rows.iter()
                .map(|r| r[k].as_u64().unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(field("sequence"), [2, 1, 0]);
        assert_eq!(field("records"), [5, 4, 4]);
        // Every record's stored bytes read once: generation 1 holds
        // nothing generation 2 does not; generation 0 its first CSV.
        assert_eq!(field("records_read"), [5, 0, 1]);
        // Generation 2's views, as many as the self-contained archive's.
        assert_eq!(rows[0]["rendered"].as_u64().unwrap(), views);
        let seen: Vec<u64> = rows
            .iter()
            .map(|r| r["rendered"].as_u64().unwrap() + r["rendered_before"].as_u64().unwrap())
            .collect();
        assert!(seen[1] >= views - 1 && seen[2] >= views - 1, "{seen:?}");
        assert!(rows.iter().all(|r| r["checked"] == true && r["ok"] == true));
    }
    let o = run(&["verify", "reg.00000002.lgn", "-i", "alice.key"], d);
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}");
    assert!(
        out.contains("content:  OK: generation(s) 0, 1, 2 of 0, 1, 2 checked:")
            && out.contains(&format!("render:   OK: {} views re-rendered", views + 1))
            && out.contains("  gen    2* content OK: 5 records"),
        "{out}"
    );
    let o = run(
        &[
            "verify",
            "reg.00000002.lgn",
            "-i",
            "alice.key",
            "--level",
            "content",
        ],
        d,
    );
    assert!(
        stdout(&o).contains("render:   not checked (--level content)"),
        "{}",
        stdout(&o)
    );
    // Without a key, a level that needs one is refused, as for one archive.
    let o = run(&["verify", "reg.00000002.lgn", "--level", "render"], d);
    assert_ne!(code(&o), 0);
    assert!(stderr(&o).contains("key"), "{}", stderr(&o));
    // A key that opens none of them: refused, as for one archive.
    assert_eq!(code(&run(&["keygen", "recipient", "-o", "bob"], d)), 0);
    let o = run(&["verify", "reg.00000002.lgn", "-i", "bob.key"], d);
    assert_eq!(code(&o), 3, "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("no key given opens"), "{}", stderr(&o));

    // A file the series needs missing: named, with the name it was
    // written as, at the render level too.
    fs::rename(d.join("reg.00000000.lgn"), d.join("gone")).unwrap();
    let o = run(
        &[
            "verify",
            "reg.00000002.lgn",
            "-i",
            "alice.key",
            "--level",
            "render",
        ],
        d,
    );
    let out = stdout(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(
        out.contains(
            "FAILED  generation 2: series: generation 0 is needed and no file holds it \
             (it was written as reg.00000000.lgn)"
        ) && out.contains(
            "content:  FAILED: generation(s) none of 1, 2 checked (NOT generation(s) 1, 2: \
             not opened, above)"
        ) && out.contains("render:   FAILED (generation(s) 1, 2 not opened)"),
        "{out}"
    );
}

#[test]
fn info_with_a_key_shows_the_formats_of_a_generation_of_a_series() {
    let t = packed("generations-info");
    let d = &t.0;
    three_generations(d);
    fs::create_dir(d.join("out")).unwrap();
    let o = compact(d, &["."], "out/one.lgn", &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(&["info", "reg.00000002.lgn", "-i", "alice.key"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("what changed: +1 added, ~0 changed, -0 removed against generation 1")
            && out.contains("event log:")
            && out.contains("x-fmt/18 ")
            && out.contains("Comma Separated Values"),
        "{out}"
    );
    // The same table as the self-contained file of the same records.
    let one = run(&["info", "out/one.lgn", "-i", "alice.key"], d);
    assert_eq!(formats_table(&out), formats_table(&stdout(&one)));
    // An earlier generation: its own records' formats (no new.txt yet).
    let o = run(
        &[
            "info",
            "reg.00000002.lgn",
            "-i",
            "alice.key",
            "--generation",
            "1",
        ],
        d,
    );
    let out = stdout(&o);
    assert!(
        out.contains("what changed: +0 added, ~1 changed, -0 removed against generation 0"),
        "{out}"
    );
    let rows: u64 = formats_table(&out)
        .lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().nth(2)?.parse::<u64>().ok())
        .sum();
    assert_eq!(rows, 4, "{out}");
    // Without a key: the public facts only, as before.
    let o = run(&["info", "reg.00000002.lgn"], d);
    assert!(
        stdout(&o).contains("what changed: sealed in its index"),
        "{}",
        stdout(&o)
    );
    assert!(!stdout(&o).contains("\npuid "), "{}", stdout(&o));
}
