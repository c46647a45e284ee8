//! The series vectors (SPEC §33): each a folder of
//! `format/testdata/series/<name>/` holding `vector.txt` and generation
//! files `*.lgn`. `vector.txt` has SPEC §18's header form:
//!
//! - `expect:` `success`, or `series error: <kind>` (the splice rule
//!   broken: `other-series`, `gap`, `wrong-previous`, `fork`, …);
//! - `files:` the generation files a reader is given, in order;
//! - `comment:` for people.
//!
//! A success is checked in full: the splice rules, the keyless audit of
//! the newest generation (every file it uses), and with the sample's
//! identity (`legation_tests::identity`) its content. [`check_folder`]
//! runs a folder from its files alone.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use legation_format::pack::RecordSink;
use legation_format::v2::writer::update::{UpdateOptions, UpdateWriter};
use legation_format::v2::writer::ArchiveWriter;
use legation_format::writer::{RecordMeta, RecordSource, WriterOptions};
use legation_reader::series::{Series, UpdateSink};
use legation_reader::Key;
use rand_core::SeedableRng;

use crate::{identity, issuer, other_issuer, CREATED};

/// One series vector: its header and its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesVector {
    /// The folder's name.
    pub name: String,
    /// The `expect:` line.
    pub expect: String,
    /// What the vector is about.
    pub comment: String,
    /// The files, in the order a reader is given them: name and bytes.
    pub files: Vec<(String, Vec<u8>)>,
}

impl SeriesVector {
    /// `vector.txt`.
    pub fn header(&self) -> String {
        let names: Vec<&str> = self.files.iter().map(|(n, _)| n.as_str()).collect();
        format!(
            "expect: {}\nfiles: {}\ncomment: {}\n",
            self.expect,
            names.join(" "),
            self.comment
        )
    }

    /// Writes the folder (the vector's files and `vector.txt`).
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("vector.txt"), self.header())?;
        for (n, b) in &self.files {
            std::fs::write(dir.join(n), b)?;
        }
        Ok(())
    }
}

fn rng(seed: u64) -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::seed_from_u64(seed)
}

/// Records `r/000` to `r/039`, each `version` 0 unless `changed` says.
fn records(changed: &[(usize, u32)], removed: &[usize]) -> BTreeMap<String, u32> {
    let mut m: BTreeMap<String, u32> = (0..40).map(|i| (format!("r/{i:03}"), 0)).collect();
    for (i, v) in changed {
        m.insert(format!("r/{i:03}"), *v);
    }
    for i in removed {
        m.remove(&format!("r/{i:03}"));
    }
    m
}

fn content(p: &str, v: u32) -> Vec<u8> {
    format!("{p} version {v}\n").repeat(4).into_bytes()
}

fn meta(p: &str) -> RecordMeta {
    RecordMeta {
        path: p.into(),
        media_type: "text/plain".into(),
        modified: Some(CREATED),
        ..Default::default()
    }
}

/// A writer of a self-contained archive for the sample identity, signed
/// by the sample issuer, `created` seconds after the sample's time; the
/// archive id and data key follow from `seed`.
fn writer(late: i64, seed: u64) -> ArchiveWriter<Cursor<Vec<u8>>, rand_chacha::ChaCha20Rng> {
    let opts = WriterOptions {
        created: CREATED + late,
        issuer: Some(issuer()),
        recipients: vec![identity().public()],
        passphrases: vec![],
        embed_spec: false,
        viewer: None,
    };
    ArchiveWriter::new(Cursor::new(Vec::new()), opts, rng(seed)).unwrap()
}

/// Generation 0 of the sample series (the archive id and data key follow
/// from the generator's seed, so every `first` shares them), `created`
/// seconds after the sample's time.
fn first(late: i64, recs: &BTreeMap<String, u32>) -> Vec<u8> {
    let mut w = writer(late, 33);
    for (p, v) in recs {
        w.add_record(meta(p), RecordSource::Bytes(&content(p, *v)))
            .unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A scratch folder, removed when dropped.
struct Scratch(PathBuf);
impl Scratch {
    fn new() -> Scratch {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let d = std::env::temp_dir().join(format!(
            "legation-series-vectors-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }
}
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The generation after `prev` (given as the files of its series, the
/// last the one to follow), holding `recs`, signed by `signer`.
fn next(prev: &[(&str, &[u8])], recs: &BTreeMap<String, u32>, signer: u8, seed: u64) -> Vec<u8> {
    let d = Scratch::new();
    for (n, b) in prev {
        std::fs::write(d.0.join(n), b).unwrap();
    }
    let last = d.0.join(prev.last().unwrap().0);
    let s = Series::find(&[last]).unwrap();
    let g = s.files[0].sequence();
    let u = s.unlock(g, &[Key::Identity(identity())]).unwrap();
    let w = UpdateWriter::new(
        Cursor::new(Vec::new()),
        u.previous(),
        u.data_key().clone(),
        UpdateOptions {
            created: u.head.created + 86_400,
            issuer: Some(if signer == 0 {
                issuer()
            } else {
                other_issuer()
            }),
            rebase: false,
        },
        rng(seed),
    )
    .unwrap();
    let mut sink = UpdateSink::new(&u, w, false);
    for (p, v) in recs {
        sink.add_record(meta(p), RecordSource::Bytes(&content(p, *v)))
            .unwrap();
    }
    let (w, changes) = sink.finish().unwrap();
    w.finish(changes).unwrap().into_inner()
}

/// Generation 1 re-keyed from `g0` (SPEC §35): its slot kept and one
/// more for another recipient, every byte before `recovery` 0's.
fn rekeyed(g0: &[u8]) -> Vec<u8> {
    let d = Scratch::new();
    let path = d.0.join("g0.lgn");
    std::fs::write(&path, g0).unwrap();
    let s = Series::find(&[path]).unwrap();
    let u = s.unlock(0, &[Key::Identity(identity())]).unwrap();
    let id = u.previous().public.archive_id;
    let other = legation_format::keys::Identity::from_bytes([7; 32]);
    let slot =
        legation_format::crypto::x25519_slot(u.data_key(), &id, &other.public(), &mut rng(45))
            .unwrap();
    let edit = legation_format::v2::rekey::SlotEdit {
        add: vec![slot],
        ..Default::default()
    };
    legation_format::v2::rekey::rekey_file(
        g0,
        u.data_key(),
        &edit,
        u.head.created + 86_400,
        &[issuer()],
    )
    .unwrap()
}

/// (2.1) Generation 0 storing the tiny decoder, which its records name,
/// and generation 1 naming it there instead of storing it again.
fn inheriting_decoder() -> (Vec<u8>, Vec<u8>) {
    let module = crate::tiny_decoder();
    let desc = crate::pack_host()
        .load(&module, "tiny")
        .unwrap()
        .decoder_ref();
    let entry = legation_format::manifest::decoder_entry(blake3::hash(&module).as_bytes());
    let named = |p: &str| RecordMeta {
        decoder: Some(entry.clone()),
        ..meta(p)
    };
    let mut w = writer(0, 35);
    w.add_decoder(&module, desc.clone(), false).unwrap();
    w.add_record(named("r/a"), RecordSource::Bytes(b"a"))
        .unwrap();
    let g0 = w.finish().unwrap().into_inner();
    let d = Scratch::new();
    std::fs::write(d.0.join("d0.lgn"), &g0).unwrap();
    let s = Series::find(&[d.0.join("d0.lgn")]).unwrap();
    let u = s.unlock(0, &[Key::Identity(identity())]).unwrap();
    let mut w = UpdateWriter::new(
        Cursor::new(Vec::new()),
        u.previous(),
        u.data_key().clone(),
        UpdateOptions {
            created: CREATED + 86_400,
            issuer: Some(issuer()),
            rebase: false,
        },
        rng(46),
    )
    .unwrap();
    w.add_decoder(&module, desc).unwrap();
    let mut sink = UpdateSink::new(&u, w, false);
    for (p, b) in [("r/a", b"a"), ("r/b", b"b")] {
        sink.add_record(named(p), RecordSource::Bytes(b)).unwrap();
    }
    let (w, changes) = sink.finish().unwrap();
    (g0, w.finish(changes).unwrap().into_inner())
}

fn vector(name: &str, expect: &str, comment: &str, files: Vec<(&str, &Vec<u8>)>) -> SeriesVector {
    SeriesVector {
        name: name.into(),
        expect: expect.into(),
        comment: comment.into(),
        files: files
            .into_iter()
            .map(|(n, b)| (n.to_owned(), b.clone()))
            .collect(),
    }
}

/// Every series vector, generated from scratch (deterministic).
pub fn all() -> Vec<SeriesVector> {
    let r0 = records(&[], &[]);
    let g0 = first(0, &r0);
    let r1 = records(&[(3, 1), (17, 1)], &[9]);
    let g1 = next(&[("g0.lgn", &g0)], &r1, 0, 41);
    let r2 = records(&[(3, 2), (30, 2)], &[9, 10]);
    let g2 = next(&[("g0.lgn", &g0), ("g1.lgn", &g1)], &r2, 0, 42);
    // Another generation 1 from the same generation 0, signed by the same
    // issuer: a fork.
    let f1 = next(&[("g0.lgn", &g0)], &records(&[(5, 7)], &[]), 0, 43);
    // Another generation 0 (same archive id and key, a second later) and
    // the generation 1 that follows it.
    let h0 = first(1, &r0);
    let h1 = next(&[("h0.lgn", &h0)], &r1, 0, 44);
    // Generation 0 of another series.
    let other = {
        let mut w = writer(0, 34);
        w.add_record(meta("x"), RecordSource::Bytes(b"x")).unwrap();
        w.finish().unwrap().into_inner()
    };
    let k1 = rekeyed(&g0);
    let (d0, d1) = inheriting_decoder();
    vec![
        vector(
            "series-good-three",
            "success",
            "generation 0, a dependent 1 (two changed, one removed) and a dependent 2 (its overlay cumulative: a record of 1's overlay changed again, another removed); the newest read through every file",
            vec![("g2.lgn", &g2), ("g1.lgn", &g1), ("g0.lgn", &g0)],
        ),
        vector(
            "series-other-archive",
            "series error: other-series",
            "a generation 0 of another series given with the series' files",
            vec![("g1.lgn", &g1), ("g0.lgn", &g0), ("x.lgn", &other)],
        ),
        vector(
            "series-gap",
            "series error: gap",
            "generations 0 and 2 without 1 (which 2 inherits: reading 2 fails too)",
            vec![("g2.lgn", &g2), ("g0.lgn", &g0)],
        ),
        vector(
            "series-wrong-previous",
            "series error: wrong-previous",
            "a generation 1 whose previous is another generation 0's chain hash (same archive id and issuer)",
            vec![("h1.lgn", &h1), ("g0.lgn", &g0)],
        ),
        vector(
            "series-fork",
            "series error: fork",
            "two different generations 1 after one generation 0, both signed by the issuer",
            vec![("g1.lgn", &g1), ("f1.lgn", &f1), ("g0.lgn", &g0)],
        ),
        vector(
            "series-rekeyed",
            "success",
            "generation 1 re-keyed from generation 0 (SPEC §35): 0's slot kept and one added, every byte before recovery 0's, the head chained to 0's",
            vec![("k1.lgn", &k1), ("g0.lgn", &g0)],
        ),
        vector(
            "series-inherited-decoder",
            "success",
            "(2.1) generation 1 names the decoder module generation 0 stores (series.inherits[0].decoders, index form 3, version 2.1) instead of storing it; its records name that decoder",
            vec![("d1.lgn", &d1), ("d0.lgn", &d0)],
        ),
    ]
}

/// Runs a vector folder from its files alone: its verdict must be the
/// one `vector.txt` expects.
pub fn check_folder(dir: &Path) -> Result<(), String> {
    let header = std::fs::read_to_string(dir.join("vector.txt")).map_err(|e| e.to_string())?;
    let field = |k: &str| {
        header
            .lines()
            .find_map(|l| l.strip_prefix(k).map(str::to_owned))
            .ok_or_else(|| format!("vector.txt has no `{k}` line"))
    };
    let expect = field("expect: ")?;
    let files: Vec<PathBuf> = field("files: ")?.split(' ').map(|n| dir.join(n)).collect();
    let s = Series::find(&files).map_err(|e| e.to_string())?;
    let kinds: Vec<&str> = s.errors().iter().map(|e| e.kind()).collect();
    if let Some(kind) = expect.strip_prefix("series error: ") {
        return if kinds.contains(&kind) {
            Ok(())
        } else {
            Err(format!("expected {kind}, found {kinds:?}"))
        };
    }
    if expect != "success" {
        return Err(format!("unknown expect: {expect}"));
    }
    if !kinds.is_empty() {
        return Err(format!("expected success, found {kinds:?}"));
    }
    let newest = s.newest().ok_or("no generation")?.sequence();
    let problems = s.audit(newest, Some(&issuer().public()), &mut |_, _| true);
    if !problems.is_empty() {
        return Err(format!("keyless audit: {problems:?}"));
    }
    let u = s
        .unlock(newest, &[Key::Identity(identity())])
        .map_err(|e| e.to_string())?;
    let problems = u.verify_content(&mut |_, _| {});
    if !problems.is_empty() {
        return Err(format!("content: {problems:?}"));
    }
    Ok(())
}
