//! `verify --sample`'s odds said honestly (nothing claimed for a sample of none), and `cat` writing nothing a record's hash has not confirmed.

use std::fs;

use legation_tests::raw::Raw;

use crate::common::{code, pack_v2, packed, run, stderr, stdout, Tmp};

/// The sample line of `verify`'s report.
fn sample_line(out: &str) -> String {
    out.lines()
        .find(|l| l.starts_with("sample:"))
        .unwrap_or_else(|| panic!("no sample line in {out}"))
        .to_owned()
}

#[test]
fn a_sample_of_none_claims_no_certainty() {
    let p = packed("sample0");
    let d = &p.0;
    let o = run(&["verify", "a.lgn", "--sample", "0", "--seed", "7"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let line = sample_line(&stdout(&o));
    assert!(!line.contains("95 %"), "{line}");
    assert!(line.contains("none of the other"), "{line}");
    assert!(line.contains("chance of 0.0 %"), "{line}");
}

#[test]
fn a_small_sample_states_its_odds_over_the_entries_it_draws_from() {
    let p = packed("sample1");
    let d = &p.0;
    let o = run(&["info", "a.lgn"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(
        &["verify", "a.lgn", "--sample", "1", "--seed", "7", "--json"],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let total = j["sample"]["entries_total"].as_u64().unwrap();
    let sampled = j["sample"]["entries_sampled"].as_u64().unwrap();
    // The manifest and signature are always checked; one other is drawn.
    let pool = total - (sampled - 1);
    let o = run(&["verify", "a.lgn", "--sample", "1", "--seed", "7"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let line = sample_line(&stdout(&o));
    // One drawn of `pool`: damage is sure to be found only when all of the
    // pool is damaged, and the line says so over the pool, not over every
    // entry (which would put the share below 100 %).
    assert!(
        line.contains(&format!("1 of the other {pool} drawn at random")),
        "{line}"
    );
    assert!(
        line.contains(&format!("damage to all {pool} of them with 95 % or more")),
        "{line}"
    );
    let o = run(&["verify", "a.lgn", "--sample", "100000"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let line = sample_line(&stdout(&o));
    assert!(
        line.contains(&format!("{pool} of the other {pool}")) && line.contains("chance of 100.0 %"),
        "{line}"
    );
}

/// The sample archive with `path`'s BLAKE3 in the catalog changed (and
/// the manifest resealed by its issuer, as an insider holding the key and
/// the signing key could): every chunk's tag is good, the record's hash
/// is not.
fn with_wrong_hash(name: &str, path: &str) -> Tmp {
    let t = Tmp::new(name);
    let bytes = legation_tests::sample_archive(legation_tests::Sample {
        large: true,
        ..Default::default()
    });
    let mut raw = Raw::parse(&bytes);
    let key = raw.data_key();
    let mut found = false;
    raw.edit_page(&key, 0, |p| {
        for r in p.records.iter_mut().filter(|r| r.path == path) {
            r.blake3[0] ^= 1;
            found = true;
        }
    });
    assert!(found, "{path}");
    raw.reseal(Some(&legation_tests::issuer()), |_| {});
    fs::write(t.0.join("a.lgn"), raw.build()).unwrap();
    fs::write(t.0.join("pp"), legation_tests::PASSPHRASE).unwrap();
    t
}

#[test]
fn cat_writes_nothing_of_a_record_whose_hash_differs() {
    for (path, compressed) in [
        ("registers/people.csv", false),
        ("legal/act-1.md", true),
        ("scans/page-1.bin", false),
    ] {
        let t = with_wrong_hash(&format!("cat-{}", path.replace('/', "-")), path);
        let d = &t.0;
        let o = run(&["cat", "a.lgn", path, "--passphrase-file", "pp"], d);
        assert_eq!(
            code(&o),
            1,
            "{path} (compressed: {compressed}): {}",
            stderr(&o)
        );
        assert!(stderr(&o).contains("BLAKE3"), "{}", stderr(&o));
        assert!(
            o.stdout.is_empty(),
            "{path}: {} unverified bytes written",
            o.stdout.len()
        );
        // The other records still come out whole.
        let o = run(
            &[
                "cat",
                "a.lgn",
                "registers/people.csv",
                "--passphrase-file",
                "pp",
            ],
            d,
        );
        if path != "registers/people.csv" {
            assert_eq!(code(&o), 0, "{}", stderr(&o));
            assert!(stdout(&o).starts_with("id,name,born\n"), "{}", stdout(&o));
        }
    }
}

/// Format 2.0: `--sample` draws 64 KiB pieces over every entry's bytes
/// (SPEC 2.0 §30.3), says so with its odds over pieces, claims nothing
/// for a sample of none, and a sample of every piece finds one damaged
/// byte of the bundle, naming the bundle and the piece.
#[test]
fn a_format_2_sample_draws_pieces_and_names_a_damaged_one() {
    let p = packed("sample-v2");
    let d = &p.0;
    pack_v2(d, "v2.lgn");
    let o = run(
        &[
            "verify", "v2.lgn", "--issuer", "gov.pub", "--sample", "3", "--seed", "7", "--json",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(j["sample"]["piece_size"], 65536);
    assert_eq!(j["sample"]["pieces_sampled"], 3);
    let total = j["sample"]["pieces_total"].as_u64().unwrap();
    // The 300 KB scan makes its bundle more than one piece.
    assert!(total > 2, "{j}");
    let o = run(&["verify", "v2.lgn", "--sample", "0", "--seed", "7"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let line = sample_line(&stdout(&o));
    assert!(
        line.contains(&format!("none of {total} pieces of 64 KiB drawn"))
            && line.contains("chance of 0.0 %")
            && !line.contains("95 %"),
        "{line}"
    );
    // One bit of the bundle's second piece flipped.
    let mut bytes = fs::read(d.join("v2.lgn")).unwrap();
    let a = legation_reader::Archive::open(legation_reader::source::MemSource::new(
        bytes.clone(),
        "v2",
    ))
    .unwrap();
    let b = a.entry("b/00000000").unwrap();
    assert!(b.size > 65536, "{}", b.size);
    let end = b.size.min(2 * 65536);
    bytes[(b.data_offset() + 65536 + 10) as usize] ^= 1;
    fs::write(d.join("v2.lgn"), &bytes).unwrap();
    let o = run(
        &[
            "verify", "v2.lgn", "--issuer", "gov.pub", "--sample", "100000",
        ],
        d,
    );
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let out = stdout(&o);
    assert!(
        out.contains(&format!(
            "b/00000000: bytes 65536 to {end} (piece 1) differ from their value in outboard"
        )),
        "{out}"
    );
    assert!(
        sample_line(&out).contains(&format!("{total} of {total} pieces"))
            && sample_line(&out).contains("chance of 100.0 %"),
        "{out}"
    );
}
