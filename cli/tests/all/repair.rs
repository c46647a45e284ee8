//! `legation repair`: two copies damaged in different places (seeded
//! random bytes in the central directory, the end record, decoders,
//! records, a catalog page, the manifest, truncation) give back the
//! original archive byte for byte; what cannot be repaired is refused,
//! naming why, and leaves no file.

use std::fs;
use std::ops::Range;
use std::path::Path;

use legation_reader::source::MemSource;
use legation_reader::Archive;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::common;
use common::*;

/// Where things are in an archive.
struct Map {
    /// Entry name to the range of its data.
    data: Vec<(String, Range<usize>)>,
    /// Entry name to the range of its local header.
    headers: Vec<(String, Range<usize>)>,
    /// The central directory.
    cd: Range<usize>,
    /// The end of central directory record.
    eocd: Range<usize>,
}

impl Map {
    fn of(bytes: &[u8]) -> Map {
        let a = Archive::open(MemSource::new(bytes.to_vec(), "original")).unwrap();
        let e = a.entries();
        let cd_start = e.last().unwrap().end() as usize;
        Map {
            data: e
                .iter()
                .map(|e| (e.name.clone(), e.data_offset() as usize..e.end() as usize))
                .collect(),
            headers: e
                .iter()
                .map(|e| (e.name.clone(), e.offset as usize..e.data_offset() as usize))
                .collect(),
            cd: cd_start..bytes.len() - 22,
            eocd: bytes.len() - 22..bytes.len(),
        }
    }
    /// The data of the entry whose name starts with `prefix` (the `n`th such).
    fn data(&self, prefix: &str, n: usize) -> (String, Range<usize>) {
        self.data
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .nth(n)
            .cloned()
            .unwrap_or_else(|| panic!("no entry {n} starting with {prefix}"))
    }
    /// The data of the entry of exactly this name (`entries-tree`
    /// starts with `entries`).
    fn named(&self, name: &str) -> Range<usize> {
        self.data
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no entry {name}"))
            .1
            .clone()
    }
    fn header(&self, name: &str) -> Range<usize> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .unwrap()
            .1
            .clone()
    }
}

/// The number of random trials: the variable `var` if set, else `default`.
fn trial_count(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Changes 1 to 8 bytes at seeded random places in `range`.
fn hit(bytes: &mut [u8], range: Range<usize>, rng: &mut ChaCha8Rng) {
    for _ in 0..1 + rng.next_u32() % 8 {
        let at = range.start + (rng.next_u32() as usize) % range.len();
        bytes[at] ^= 1 + (rng.next_u32() % 255) as u8;
    }
}

/// No file but the ones listed is left in the folder (no partial output).
fn files(d: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".lgn") || n.contains(".partial"))
        .collect();
    v.sort();
    v
}

fn repair_json(d: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["repair"];
    all.extend_from_slice(args);
    all.push("--json");
    let o = run(&all, d);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

fn names(v: &serde_json::Value) -> Vec<String> {
    let mut n: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["entry"].as_str().unwrap().to_owned())
        .collect();
    n.sort();
    n
}

fn sorted(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// Damages D and O as told, repairs D from O, and checks that the result
/// is the original and verifies with the key; returns the JSON report.
fn round_trip(
    d: &Path,
    original: &[u8],
    damage_d: impl FnOnce(&mut Vec<u8>),
    damage_o: impl FnOnce(&mut Vec<u8>),
) -> serde_json::Value {
    let (mut dc, mut oc) = (original.to_vec(), original.to_vec());
    damage_d(&mut dc);
    damage_o(&mut oc);
    assert_ne!(dc, original);
    assert_ne!(oc, original);
    fs::write(d.join("d.lgn"), &dc).unwrap();
    fs::write(d.join("o.lgn"), &oc).unwrap();
    let _ = fs::remove_file(d.join("r.lgn"));
    let v = repair_json(
        d,
        &[
            "d.lgn", "--from", "o.lgn", "-o", "r.lgn", "--issuer", "gov.pub",
        ],
    );
    assert!(
        fs::read(d.join("r.lgn")).unwrap() == original,
        "the repaired copy differs from the original"
    );
    // The inputs are left as they were.
    assert_eq!(fs::read(d.join("d.lgn")).unwrap(), dc);
    assert_eq!(fs::read(d.join("o.lgn")).unwrap(), oc);
    let o = run(
        &[
            "verify",
            "r.lgn",
            "--issuer",
            "gov.pub",
            "-i",
            "alice.key",
            "--level",
            "content",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert_eq!(v["fixity"]["problems"].as_array().unwrap().len(), 0);
    assert_eq!(v["len"].as_u64().unwrap(), original.len() as u64);
    assert_eq!(files(d), ["a.lgn", "d.lgn", "o.lgn", "r.lgn"]);
    v
}

#[test]
fn copies_damaged_in_different_entries_give_back_the_original_byte_for_byte() {
    let t = packed("repair-roundtrip");
    let d = &t.0;
    let original = fs::read(d.join("a.lgn")).unwrap();
    let map = Map::of(&original);
    let mut rng = ChaCha8Rng::seed_from_u64(0x1e6a_7105);

    // D: central directory, end record, a decoder, a record, and another
    // record's local header (its data intact); O: the catalog page,
    // another decoder, another record.
    let (dec0, dec0_at) = map.data("d/", 0);
    let (_, dec1_at) = map.data("d/", 1);
    let (rec0, rec0_at) = map.data("r/", 0);
    let (_, rec1_at) = map.data("r/", 1);
    let (rec2, _) = map.data("r/", 2);
    let (_, page_at) = map.data("c/0", 0);
    let mut r = rng.clone();
    let v = round_trip(
        d,
        &original,
        |b| {
            hit(b, map.cd.clone(), &mut r);
            hit(b, map.eocd.clone(), &mut r);
            hit(b, dec0_at, &mut r);
            hit(b, rec0_at, &mut r);
            hit(b, map.header(&rec2), &mut r);
        },
        |b| {
            hit(b, page_at, &mut rng);
            hit(b, dec1_at, &mut rng);
            hit(b, rec1_at, &mut rng);
        },
    );
    assert_eq!(names(&v["damaged_entries"]), sorted(&[&dec0, &rec0]));
    assert_eq!(
        names(&v["damaged_structure"]),
        sorted(&[&rec2, "central directory and end records"])
    );
    assert_eq!(names(&v["damaged_in_other"]), Vec::<String>::new());
    assert_eq!(v["from_other"]["entries"], 2);
    assert_eq!(
        v["from_other"]["bytes"].as_u64().unwrap() as usize,
        map.data("d/", 0).1.len() + map.data("r/", 0).1.len()
    );
    assert_eq!(
        v["from_damaged"]["entries"].as_u64().unwrap() as usize + 2,
        map.data.len()
    );
    // D's directory did not open: its manifest was found by scanning.
    assert_eq!(v["damaged"]["found"], "scan");
    assert_eq!(v["other"]["found"], "central directory");
    assert_eq!(v["manifest_from"], "damaged");
    assert!(v["signer"].as_str().unwrap().contains(':'));
    assert_eq!(v["pinned"], true);
}

#[test]
fn a_damaged_manifest_and_a_truncated_copy_are_repaired_from_each_other() {
    let t = packed("repair-manifest");
    let d = &t.0;
    let original = fs::read(d.join("a.lgn")).unwrap();
    let map = Map::of(&original);
    let mut rng = ChaCha8Rng::seed_from_u64(0x7a11);
    let (manifest, manifest_at) = map.data("manifest.json", 0);
    let (rec0, rec0_at) = map.data("r/", 0);
    let (_, index_at) = map.data("c/index", 0);

    // D: its manifest wiped (beyond what its recovery data can put
    // right) and a record; O: cut in the middle of its central directory,
    // so it does not open and its manifest is found by scanning.
    let mut r = rng.clone();
    let cut = map.cd.start + map.cd.len() / 2;
    let v = round_trip(
        d,
        &original,
        |b| {
            b[manifest_at].fill(0);
            hit(b, rec0_at, &mut r);
        },
        |b| b.truncate(cut),
    );
    assert_eq!(v["manifest_from"], "other");
    assert_eq!(v["damaged"]["usable"], false);
    assert_eq!(v["other"]["found"], "scan");
    assert_eq!(names(&v["damaged_entries"]), sorted(&[&manifest, &rec0]));

    // D: cut inside the catalog index (the manifest, the signature and the
    // directory are gone); O: the mimetype and SPEC.md, so it does not
    // open either, and a record.
    let (rec1, rec1_at) = map.data("r/", 1);
    let (_, spec_at) = map.data("SPEC.md", 0);
    let (_, mime_at) = map.data("mimetype", 0);
    let cut = index_at.start + index_at.len() / 2;
    let mut r = rng.clone();
    let v = round_trip(
        d,
        &original,
        |b| {
            b.truncate(cut);
            hit(b, rec1_at, &mut r);
        },
        |b| {
            hit(b, mime_at.clone(), &mut rng);
            hit(b, spec_at, &mut rng);
        },
    );
    assert_eq!(v["manifest_from"], "other");
    assert_eq!(v["other"]["found"], "scan");
    assert!(
        v["other"]["directory_problem"]
            .as_str()
            .unwrap()
            .contains("mimetype"),
        "{}",
        v["other"]
    );
    assert_eq!(
        names(&v["damaged_entries"]),
        sorted(&[
            &rec1,
            "c/index",
            "manifest.json",
            "manifest.sig",
            "p/00000000"
        ])
    );
    let lost = v["damaged_entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["entry"] == "manifest.sig")
        .unwrap();
    assert!(lost["problem"].as_str().unwrap().contains("beyond the end"));
    assert!(names(&v["damaged_structure"]).contains(&"file length".to_owned()));
}

#[test]
fn an_entry_damaged_in_both_copies_is_named_and_nothing_is_written() {
    let t = packed("repair-both");
    let d = &t.0;
    let original = fs::read(d.join("a.lgn")).unwrap();
    let map = Map::of(&original);
    let mut rng = ChaCha8Rng::seed_from_u64(0xb07);
    let (rec, rec_at) = map.data("r/", 1);
    let (_, other_at) = map.data("r/", 0);
    let (mut dc, mut oc) = (original.clone(), original.clone());
    hit(&mut dc, rec_at.clone(), &mut rng);
    hit(&mut dc, other_at, &mut rng);
    hit(&mut oc, rec_at, &mut rng);
    fs::write(d.join("d.lgn"), &dc).unwrap();
    fs::write(d.join("o.lgn"), &oc).unwrap();
    let o = run(&["repair", "d.lgn", "--from", "o.lgn", "-o", "r.lgn"], d);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("{rec}: damaged in both copies")),
        "{}",
        stderr(&o)
    );
    assert_eq!(files(d), ["a.lgn", "d.lgn", "o.lgn"]);
}

#[test]
fn copies_of_different_archives_are_refused_unless_one_is_chosen() {
    let t = packed("repair-ids");
    let d = &t.0;
    let o = run(
        &[
            "pack",
            "src",
            "-o",
            "b.lgn",
            "-r",
            "alice.pub",
            "--sign",
            "gov.key",
            "--format",
            "1.3",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let id = |p: &str| {
        let b = fs::read(d.join(p)).unwrap();
        let a = Archive::open(MemSource::new(b, p)).unwrap();
        legation_format::hex::encode(&a.manifest().archive_id)
    };
    let (ida, idb) = (id("a.lgn"), id("b.lgn"));
    assert_ne!(ida, idb);
    let o = run(&["repair", "a.lgn", "--from", "b.lgn", "-o", "r.lgn"], d);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("different manifests") && e.contains(&ida) && e.contains(&idb),
        "{e}"
    );
    assert!(e.contains("--prefer-from"), "{e}");
    assert_eq!(files(d), ["a.lgn", "b.lgn"]);
    // Chosen: the result is the chosen archive; the other copy gives only
    // the entries that are the same in both (the plain ones).
    let v = repair_json(
        d,
        &["a.lgn", "--from", "b.lgn", "-o", "r.lgn", "--prefer-from"],
    );
    assert_eq!(
        fs::read(d.join("r.lgn")).unwrap(),
        fs::read(d.join("b.lgn")).unwrap()
    );
    assert_eq!(v["manifest_from"], "other");
    assert_eq!(v["preferred"], true);
    assert_eq!(v["archive_id"], idb);
    let plain = Map::of(&fs::read(d.join("b.lgn")).unwrap())
        .data
        .iter()
        .filter(|(n, _)| n == "mimetype" || n == "SPEC.md" || n.starts_with("d/"))
        .count();
    assert_eq!(
        v["from_damaged"]["entries"].as_u64().unwrap() as usize,
        plain
    );
}

#[test]
fn an_existing_output_or_an_input_is_never_overwritten_without_force() {
    let t = packed("repair-force");
    let d = &t.0;
    let original = fs::read(d.join("a.lgn")).unwrap();
    let mut dc = original.clone();
    let n = dc.len();
    dc[n / 2] ^= 0x10;
    fs::write(d.join("d.lgn"), &dc).unwrap();
    fs::write(d.join("r.lgn"), b"keep me").unwrap();
    let o = run(&["repair", "d.lgn", "--from", "a.lgn", "-o", "r.lgn"], d);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("r.lgn exists"), "{}", stderr(&o));
    assert_eq!(fs::read(d.join("r.lgn")).unwrap(), b"keep me");
    // The output may not be one of the inputs, even with --force.
    for out in ["d.lgn", "./a.lgn"] {
        let o = run(
            &["repair", "d.lgn", "--from", "a.lgn", "-o", out, "--force"],
            d,
        );
        assert_eq!(code(&o), 2);
        assert!(stderr(&o).contains("is the input"), "{}", stderr(&o));
    }
    assert_eq!(fs::read(d.join("d.lgn")).unwrap(), dc);
    assert_eq!(fs::read(d.join("a.lgn")).unwrap(), original);
    let o = run(
        &[
            "repair", "d.lgn", "--from", "a.lgn", "-o", "r.lgn", "--force",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(fs::read(d.join("r.lgn")).unwrap(), original);
    assert!(
        stdout(&o)
            .contains("damaged in d.lgn: 1 entry (taken from a.lgn), 0 headers or structures"),
        "{}",
        stdout(&o)
    );
    assert_eq!(files(d), ["a.lgn", "d.lgn", "r.lgn"]);
}

#[test]
fn the_pinned_issuer_decides_which_manifest_is_used() {
    let t = packed("repair-issuer");
    let d = &t.0;
    let original = fs::read(d.join("a.lgn")).unwrap();
    fs::copy(d.join("a.lgn"), d.join("b.lgn")).unwrap();
    assert_eq!(code(&run(&["keygen", "issuer", "-o", "other"], d)), 0);
    let o = run(
        &[
            "repair",
            "a.lgn",
            "--from",
            "b.lgn",
            "-o",
            "r.lgn",
            "--issuer",
            "other.pub",
        ],
        d,
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not by the pinned issuer"),
        "{}",
        stderr(&o)
    );
    assert_eq!(files(d), ["a.lgn", "b.lgn"]);

    // A copy re-signed by someone else (same entries, same archive id):
    // without a pin the copies disagree; with the pin its manifest is not
    // used, and its manifest and signature count as damaged.
    let mut raw = legation_tests::raw::Raw::parse(&original);
    raw.reseal(Some(&legation_tests::other_issuer()), |_| {});
    fs::write(d.join("forged.lgn"), raw.build()).unwrap();
    let o = run(
        &["repair", "forged.lgn", "--from", "a.lgn", "-o", "r.lgn"],
        d,
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("different manifests"), "{}", stderr(&o));
    let v = repair_json(
        d,
        &[
            "forged.lgn",
            "--from",
            "a.lgn",
            "-o",
            "r.lgn",
            "--issuer",
            "gov.pub",
        ],
    );
    assert_eq!(fs::read(d.join("r.lgn")).unwrap(), original);
    assert_eq!(v["manifest_from"], "other");
    assert!(v["damaged"]["problem"]
        .as_str()
        .unwrap()
        .contains("not by the pinned issuer"));
    assert_eq!(
        names(&v["damaged_entries"]),
        sorted(&["manifest.json", "manifest.sig"])
    );
}

/// Seeded random trials (`LEGATION_REPAIR_TRIALS`, default 30): each
/// damages both copies at random (entries' data, the directory, the end
/// record, truncation of one copy). Where every entry and one manifest
/// survive in some copy, the repair must give back the original byte for
/// byte and name exactly the entries lost in the damaged copy; otherwise
/// it must fail naming the first entry lost in both (or the manifest) and
/// leave no file.
#[test]
fn random_damage_trials() {
    let trials = trial_count("LEGATION_REPAIR_TRIALS", 30);
    let t = packed("repair-trials");
    let d = &t.0;
    let original = fs::read(d.join("a.lgn")).unwrap();
    let map = Map::of(&original);
    let (mut repaired, mut rescued, mut refused) = (0, 0, 0);
    for trial in 0..trials {
        let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_0000 + trial);
        let mut copies = [original.clone(), original.clone()];
        let cut_copy = (rng.next_u32() % 6) as usize; // 0 or 1: that copy is cut
        for (i, c) in copies.iter_mut().enumerate() {
            for _ in 0..rng.next_u32() % 4 {
                let n = rng.next_u32() as usize % map.data.len();
                hit(c, map.data[n].1.clone(), &mut rng);
            }
            if rng.next_u32() % 3 == 0 {
                hit(c, map.cd.clone(), &mut rng);
            }
            if rng.next_u32() % 3 == 0 {
                hit(c, map.eocd.clone(), &mut rng);
            }
            if i == cut_copy {
                let at = rng.next_u32() as usize % c.len();
                c.truncate(at);
            }
        }
        // What each copy lost, from the bytes themselves.
        let lost = |c: &[u8], r: &Range<usize>| c.get(r.clone()) != original.get(r.clone());
        let lost_in: Vec<[bool; 2]> = map
            .data
            .iter()
            .map(|(_, r)| [lost(&copies[0], r), lost(&copies[1], r)])
            .collect();
        let manifest_ok = |i: usize| {
            map.data
                .iter()
                .zip(&lost_in)
                .filter(|((n, _), _)| n.starts_with("manifest."))
                .all(|(_, l)| !l[i])
        };
        let first_lost_in_both = map
            .data
            .iter()
            .zip(&lost_in)
            .find(|(_, l)| l[0] && l[1])
            .map(|((n, _), _)| n.clone());
        fs::write(d.join("d.lgn"), &copies[0]).unwrap();
        fs::write(d.join("o.lgn"), &copies[1]).unwrap();
        let _ = fs::remove_file(d.join("r.lgn"));
        let o = run(
            &[
                "repair", "d.lgn", "--from", "o.lgn", "-o", "r.lgn", "--json",
            ],
            d,
        );
        let why = format!("trial {trial}: {}{}", stdout(&o), stderr(&o));
        // Without recovery data, the repair can succeed exactly when a
        // manifest and every entry survive in some copy. The manifest's
        // recovery data and the catalog's parity can save more; nothing
        // can make a repair that should succeed fail.
        let by_copies = (manifest_ok(0) || manifest_ok(1)) && first_lost_in_both.is_none();
        if code(&o) == 0 {
            assert!(fs::read(d.join("r.lgn")).unwrap() == original, "{why}");
            let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
            let mut expected: Vec<String> = map
                .data
                .iter()
                .zip(&lost_in)
                .filter(|(_, l)| l[0])
                .map(|((n, _), _)| n.clone())
                .collect();
            expected.sort();
            assert_eq!(names(&v["damaged_entries"]), expected, "{why}");
            if by_copies {
                repaired += 1;
            } else {
                rescued += 1;
            }
        } else {
            assert!(!by_copies, "{why}");
            assert_eq!(code(&o), 1, "{why}");
            let named = map
                .data
                .iter()
                .zip(&lost_in)
                .filter(|(_, l)| l[0] && l[1])
                .any(|((n, _), _)| stderr(&o).contains(&format!("{n}: damaged in both copies")));
            assert!(named || stderr(&o).contains("no usable manifest"), "{why}");
            assert_eq!(files(d), ["a.lgn", "d.lgn", "o.lgn"], "{why}");
            refused += 1;
        }
    }
    eprintln!(
        "{trials} trials: {repaired} repaired byte for byte from the copies, {rescued} more \
         with the recovery data, {refused} refused as expected"
    );
    assert_eq!(repaired + rescued + refused, trials);
}

/// One copy alone: a manifest damaged by a run of bytes and a catalog page
/// with a bad byte still read (the manifest put right in memory, the page
/// rebuilt from the catalog's parity); fixity names both; `repair` without
/// `--from` gives back the original byte for byte, even with the directory
/// and the end record damaged too; a damaged record it cannot rebuild is
/// refused, naming it, and leaves no file.
#[test]
fn one_copy_alone_is_repaired_from_its_own_recovery_data() {
    let t = packed("repair-alone");
    let d = &t.0;
    let original = fs::read(d.join("a.lgn")).unwrap();
    let map = Map::of(&original);
    let (_, manifest_at) = map.data("manifest.json", 0);
    let (page, page_at) = map.data("c/0", 0);
    let mut dc = original.clone();
    let run_at = manifest_at.start + manifest_at.len() / 3;
    dc[run_at..run_at + 300].fill(0);
    dc[page_at.start + page_at.len() / 2] ^= 0x40;
    fs::write(d.join("d.lgn"), &dc).unwrap();

    let o = run(&["ls", "d.lgn", "-i", "alice.key"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("registers/scan.bin"), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("manifest.json is damaged and was put right in memory"),
        "{}",
        stderr(&o)
    );
    let o = run(&["verify", "d.lgn", "--level", "fixity"], d);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let out = stdout(&o);
    assert!(
        out.contains("manifest.json") && out.contains(&page),
        "{out}"
    );
    assert!(out.contains("repair:"), "{out}");

    let mut rng = ChaCha8Rng::seed_from_u64(0xa10e);
    hit(&mut dc, map.cd.clone(), &mut rng);
    hit(&mut dc, map.eocd.clone(), &mut rng);
    fs::write(d.join("d.lgn"), &dc).unwrap();
    let v = repair_json(d, &["d.lgn", "-o", "r.lgn", "--issuer", "gov.pub"]);
    assert!(fs::read(d.join("r.lgn")).unwrap() == original);
    assert_eq!(v["damaged"]["recovered"], true);
    assert!(v["other"].is_null());
    assert_eq!(v["from_parity"]["entries"], 1);
    assert_eq!(
        names(&v["damaged_entries"]),
        sorted(&["manifest.json", &page])
    );
    assert_eq!(v["fixity"]["problems"].as_array().unwrap().len(), 0);
    let o = run(&["repair", "d.lgn", "-o", "r2.lgn"], d);
    assert!(
        stdout(&o).contains("manifest.json: damaged; put right from its own recovery data"),
        "{}",
        stdout(&o)
    );
    fs::remove_file(d.join("r2.lgn")).unwrap();

    let (rec, rec_at) = map.data("r/", 0);
    let mut dc = original.clone();
    dc[rec_at.start] ^= 1;
    fs::write(d.join("d.lgn"), &dc).unwrap();
    let _ = fs::remove_file(d.join("r.lgn"));
    let o = run(&["repair", "d.lgn", "-o", "r.lgn"], d);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&rec) && stderr(&o).contains("give an intact copy with --from"),
        "{}",
        stderr(&o)
    );
    assert_eq!(files(d), ["a.lgn", "d.lgn"]);
}

/// One byte changed anywhere in what the recovery data covers (the
/// manifest, the catalog pages, the index and their parity, every local
/// header, the central directory, the end record) is repaired from the
/// copy alone, byte for byte: every byte of the manifest's and the
/// signature's central headers, then seeded random trials
/// (`LEGATION_ALONE_TRIALS`, default 40) over all of it.
#[test]
fn any_one_bad_byte_outside_records_and_decoders_is_repaired_alone() {
    let trials = trial_count("LEGATION_ALONE_TRIALS", 40);
    let t = packed("repair-alone-trials");
    let d = &t.0;
    let original = fs::read(d.join("a.lgn")).unwrap();
    let map = Map::of(&original);
    let mut ranges: Vec<(String, Range<usize>)> = map
        .data
        .iter()
        .filter(|(n, _)| n == "manifest.json" || n.starts_with("c/") || n.starts_with("p/"))
        .cloned()
        .collect();
    ranges.extend(map.headers.iter().cloned());
    ranges.push(("central directory".into(), map.cd.clone()));
    ranges.push(("end record".into(), map.eocd.clone()));
    let total: usize = ranges.iter().map(|(_, r)| r.len()).sum();
    // Every byte of the central directory headers of the manifest and the
    // signature, in turn: the directory's CRC-32s of these two are what
    // opening checks them against.
    for name in ["manifest.json", "manifest.sig"] {
        let cd = &original[map.cd.clone()];
        let at = map.cd.start
            + cd.windows(name.len())
                .position(|w| w == name.as_bytes())
                .unwrap()
            - 46;
        for i in at..at + 46 + name.len() {
            let mut dc = original.clone();
            dc[i] ^= 0x21;
            fs::write(d.join("d.lgn"), &dc).unwrap();
            let _ = fs::remove_file(d.join("r.lgn"));
            let o = run(&["repair", "d.lgn", "-o", "r.lgn"], d);
            let why = format!("{name}'s central header, byte {}: {}", i - at, stderr(&o));
            assert_eq!(code(&o), 0, "{why}");
            assert!(fs::read(d.join("r.lgn")).unwrap() == original, "{why}");
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(0x0a1e_0000);
    for trial in 0..trials {
        // Uniform over the covered bytes.
        let mut k = rng.next_u32() as usize % total;
        let (what, at) = ranges
            .iter()
            .find_map(|(n, r)| {
                if k < r.len() {
                    Some((n.clone(), r.start + k))
                } else {
                    k -= r.len();
                    None
                }
            })
            .unwrap();
        let mut dc = original.clone();
        dc[at] ^= 1 + (rng.next_u32() % 255) as u8;
        fs::write(d.join("d.lgn"), &dc).unwrap();
        let _ = fs::remove_file(d.join("r.lgn"));
        let o = run(&["repair", "d.lgn", "-o", "r.lgn"], d);
        let why = format!(
            "trial {trial}: byte {at} ({what}): {}{}",
            stdout(&o),
            stderr(&o)
        );
        assert_eq!(code(&o), 0, "{why}");
        assert!(fs::read(d.join("r.lgn")).unwrap() == original, "{why}");
    }
}

/// A damaged signature does not lose the archive: it still opens, lists
/// and reads, while every check of who signed it fails, naming the damage;
/// the signature cannot be recomputed, so `repair` needs another copy.
#[test]
fn a_damaged_signature_leaves_the_archive_readable_but_unproven() {
    let t = packed("repair-signature");
    let d = &t.0;
    let original = fs::read(d.join("a.lgn")).unwrap();
    let map = Map::of(&original);
    let (_, sig_at) = map.data("manifest.sig", 0);
    let mut dc = original.clone();
    dc[sig_at.start + 7] ^= 0x04;
    fs::write(d.join("d.lgn"), &dc).unwrap();

    let o = run(&["ls", "d.lgn", "-i", "alice.key"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("registers/scan.bin"), "{}", stdout(&o));
    let o = run(&["info", "d.lgn"], d);
    assert!(
        stdout(&o).contains("SIGNATURE NOT CHECKED: manifest.sig: damaged"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    for args in [
        &["verify", "d.lgn", "--level", "fixity"][..],
        &["verify", "d.lgn", "--issuer", "gov.pub", "-i", "alice.key"][..],
    ] {
        let o = run(args, d);
        assert_eq!(code(&o), 1, "{args:?}: {}", stdout(&o));
        assert!(
            stdout(&o).contains("manifest.sig: damaged"),
            "{}",
            stdout(&o)
        );
    }
    let o = run(&["repair", "d.lgn", "-o", "r.lgn"], d);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("give another copy with --from"),
        "{}",
        stderr(&o)
    );
    assert_eq!(files(d), ["a.lgn", "d.lgn"]);
    let v = repair_json(d, &["d.lgn", "--from", "a.lgn", "-o", "r.lgn"]);
    assert!(fs::read(d.join("r.lgn")).unwrap() == original);
    assert_eq!(names(&v["damaged_entries"]), sorted(&["manifest.sig"]));
}

/// A folder as [`packed`] makes it, with `v2.lgn` packed from it as
/// format 2.0 (and `a.lgn`, the 1.x packing, removed).
fn packed_v2(name: &str) -> (common::Tmp, Vec<u8>) {
    let t = packed(name);
    fs::remove_file(t.0.join("a.lgn")).unwrap();
    pack_v2(&t.0, "v2.lgn");
    let bytes = fs::read(t.0.join("v2.lgn")).unwrap();
    assert!(Archive::open(MemSource::new(bytes.clone(), "v2"))
        .unwrap()
        .is_v2());
    (t, bytes)
}

/// Format 2.0 alone: one flipped byte in each entry the archive's own
/// recovery data covers (the public tail from the recovery entry, one byte
/// of signatures by its CRC-32, a page, the index and parity from their
/// stripe, the recovery entry from the tail, outboard from the entries it
/// covers), with the central directory
/// damaged too, gives back the original byte for byte.
#[test]
fn v2_each_entry_kind_is_repaired_from_the_archive_alone() {
    let (t, original) = packed_v2("repair-v2-alone");
    let d = &t.0;
    let map = Map::of(&original);
    for (name, source) in [
        ("public.json", "from_recovery"),
        ("head", "from_recovery"),
        ("entries", "from_recovery"),
        ("signatures", "from_recovery"),
        ("recovery", "from_recovery"),
        ("outboard", "from_recovery"),
        ("c/00000000", "from_parity"),
        ("c/index", "from_parity"),
        ("p/00000000", "from_parity"),
    ] {
        let at = map.named(name);
        let mut dc = original.clone();
        dc[at.start + at.len() / 2] ^= 0x20;
        if name == "head" {
            // And the directory: the tail is then found by its headers.
            dc[map.cd.start + 20] ^= 0x10;
        }
        fs::write(d.join("d.lgn"), &dc).unwrap();
        let _ = fs::remove_file(d.join("r.lgn"));
        let v = repair_json(d, &["d.lgn", "-o", "r.lgn", "--issuer", "gov.pub"]);
        assert!(
            fs::read(d.join("r.lgn")).unwrap() == original,
            "{name}: the repaired copy differs from the original"
        );
        assert_eq!(names(&v["damaged_entries"]), sorted(&[name]), "{name}");
        assert_eq!(v[source]["entries"], 1, "{name}: {v}");
        assert_eq!(v["version"], "2.0");
        assert_eq!(v["fixity"]["problems"].as_array().unwrap().len(), 0);
        if name == "head" {
            assert_eq!(v["damaged"]["found"], "scan", "{v}");
        }
    }
    let o = run(&["repair", "d.lgn", "-o", "r2.lgn"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("head:"), "{}", stdout(&o));
}

/// Format 2.0: a damaged bundle has no recovery data in the archive: alone
/// it is refused, naming it, and nothing is written; from another copy it
/// is taken back byte for byte; so is a copy that lost its tail.
#[test]
fn v2_a_damaged_bundle_or_a_lost_tail_needs_another_copy() {
    let (t, original) = packed_v2("repair-v2-other");
    let d = &t.0;
    let map = Map::of(&original);
    let (bundle, at) = map.data("b/", 0);
    let mut dc = original.clone();
    dc[at.start + 9] ^= 0x01;
    fs::write(d.join("d.lgn"), &dc).unwrap();
    let o = run(&["repair", "d.lgn", "-o", "r.lgn"], d);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&bundle) && stderr(&o).contains("give an intact copy with --from"),
        "{}",
        stderr(&o)
    );
    assert_eq!(files(d), ["d.lgn", "v2.lgn"]);
    let v = repair_json(
        d,
        &[
            "d.lgn", "--from", "v2.lgn", "-o", "r.lgn", "--issuer", "gov.pub",
        ],
    );
    assert!(fs::read(d.join("r.lgn")).unwrap() == original);
    assert_eq!(names(&v["damaged_entries"]), sorted(&[&bundle]));
    assert_eq!(v["from_other"]["entries"], 1);
    assert_eq!(v["manifest_from"], "damaged");

    // The tail lost: cut in the middle of the entry table.
    let table_at = map.named("entries");
    fs::write(d.join("d.lgn"), &original[..table_at.start + 10]).unwrap();
    fs::remove_file(d.join("r.lgn")).unwrap();
    let o = run(&["repair", "d.lgn", "-o", "r.lgn"], d);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(files(d), ["d.lgn", "v2.lgn"]);
    let v = repair_json(
        d,
        &[
            "d.lgn", "--from", "v2.lgn", "-o", "r.lgn", "--issuer", "gov.pub",
        ],
    );
    assert!(fs::read(d.join("r.lgn")).unwrap() == original);
    assert_eq!(v["manifest_from"], "other");
    let s = &v["support"];
    assert!(s["confirmed_own"].as_u64().unwrap() >= 3, "{s}");
    assert_eq!(s["confirmed"], s["surviving"], "{s}");
    assert!(names(&v["damaged_structure"]).contains(&"file length".to_owned()));
}

/// Format 2.0: another generation (the same records packed again: every
/// bundle, page and the head differ) gives nothing where it differs: a
/// damaged bundle is refused, and a copy that lost its tail does not take
/// the other generation's head (its surviving bundle contradicts it).
#[test]
fn v2_another_generation_is_refused_where_it_differs() {
    let (t, original) = packed_v2("repair-v2-generation");
    let d = &t.0;
    pack_v2(d, "next.lgn");
    let next = fs::read(d.join("next.lgn")).unwrap();
    assert_ne!(next, original);
    let map = Map::of(&original);
    let (bundle, at) = map.data("b/", 0);
    let mut dc = original.clone();
    dc[at.start + 9] ^= 0x01;
    fs::write(d.join("d.lgn"), &dc).unwrap();
    // Both heads whole and different: refused unless one is chosen
    // (SPEC §16.5); chosen, the other gives only entries matching its rows.
    let o = run(&["repair", "d.lgn", "--from", "next.lgn", "-o", "r.lgn"], d);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("different manifests"), "{}", stderr(&o));
    assert_eq!(files(d), ["d.lgn", "next.lgn", "v2.lgn"]);
    let o = run(
        &[
            "repair",
            "d.lgn",
            "--from",
            "next.lgn",
            "-o",
            "r.lgn",
            "--prefer-damaged",
        ],
        d,
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&bundle) && stderr(&o).contains("damaged in both copies"),
        "{}",
        stderr(&o)
    );
    assert_eq!(files(d), ["d.lgn", "next.lgn", "v2.lgn"]);

    let table_at = map.named("entries");
    fs::write(d.join("d.lgn"), &original[..table_at.start + 10]).unwrap();
    let o = run(
        &[
            "repair", "d.lgn", "--from", "next.lgn", "-o", "r.lgn", "--issuer", "gov.pub",
        ],
        d,
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    // The first surviving entry the other head does not place is named:
    // the event log (SPEC §36), which sits before the bundles.
    assert!(
        stderr(&o).contains("is not supported by") && stderr(&o).contains("first events at offset"),
        "{}",
        stderr(&o)
    );
    assert_eq!(files(d), ["d.lgn", "next.lgn", "v2.lgn"]);
}
