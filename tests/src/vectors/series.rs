//! The series vectors (SPEC §33): each a folder of
//! `format/testdata/series/<name>/` holding `vector.txt` and generation
//! files `*.lgn`. `vector.txt` has SPEC §18's header form:
//!
//! - `expect:` `success`, or `series error: <kind>` (the splice rule
//!   broken: `other-series`, `gap`, `wrong-previous`, `fork`, …);
//! - `files:` the generation files a reader is given, in order;
//! - `pinned:` (optional, 64 hex) the issuer key a reader pins (SPEC
//!   §27.3): it then follows the chain of handovers from it (§37.3) and
//!   admits every generation present, and `expect:` may be `refused: `
//!   and a fragment of the message of the first generation refused;
//! - `comment:` for people.
//!
//! A folder may hold `issuer/`, the issuer's statements (handovers and
//! revocations, §37) as a reader finds them beside the series (§37.4):
//! `issuer/<16 hex>.handover` or `.revocation`. A reader takes every one
//! (each must parse): the handovers of the series in the splice rules
//! (§33.6, §37.6), and with a pin all of them in the chain (§37.3).
//!
//! A success is checked in full: the splice rules, the keyless audit of
//! the newest generation (every file it uses) pinned to the sample issuer
//! or, with `pinned:`, every generation admitted by the chain and the
//! audit pinning none, and with the sample's identity
//! (`legation_tests::identity`) its content.
//! [`check_folder`] runs a folder from its files alone.

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

use legation_format::hex;
use legation_format::keys::IssuerKey;
use legation_format::v2::succession::{
    Handover, Revocation, Statement, Succession, HANDOVER_EXT, REVOCATION_EXT,
};

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
    /// The key a reader pins (hex), if any (the `pinned:` line).
    pub pinned: Option<String>,
    /// The statements in `issuer/` (SPEC §37.4): file name and bytes.
    pub statements: Vec<(String, Vec<u8>)>,
}

impl SeriesVector {
    /// `vector.txt`.
    pub fn header(&self) -> String {
        let names: Vec<&str> = self.files.iter().map(|(n, _)| n.as_str()).collect();
        let pinned = match &self.pinned {
            Some(p) => format!("pinned: {p}\n"),
            None => String::new(),
        };
        format!(
            "expect: {}\nfiles: {}\n{pinned}comment: {}\n",
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
        if !self.statements.is_empty() {
            std::fs::create_dir_all(dir.join(STATEMENTS))?;
        }
        for (n, b) in &self.statements {
            std::fs::write(dir.join(STATEMENTS).join(n), b)?;
        }
        Ok(())
    }
}

/// The folder of a vector's statements (SPEC §37.4).
pub const STATEMENTS: &str = "issuer";

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
    let key = if signer == 0 {
        issuer()
    } else {
        other_issuer()
    };
    next_signed(prev, recs, key, None, seed)
}

/// [`next`] signed by `key`, which takes the series over by `handover`
/// when it is not one of its issuers (SPEC §37.6).
fn next_signed(
    prev: &[(&str, &[u8])],
    recs: &BTreeMap<String, u32>,
    key: IssuerKey,
    handover: Option<&Handover>,
    seed: u64,
) -> Vec<u8> {
    let d = Scratch::new();
    for (n, b) in prev {
        std::fs::write(d.0.join(n), b).unwrap();
    }
    let last = d.0.join(prev.last().unwrap().0);
    let s = Series::find(&[last]).unwrap();
    let g = s.files[0].sequence();
    let u = s.unlock(g, &[Key::Identity(identity())]).unwrap();
    let w = UpdateWriter::new_handed(
        Cursor::new(Vec::new()),
        u.previous(),
        u.data_key().clone(),
        UpdateOptions {
            created: u.head.created + 86_400,
            issuer: Some(key),
            rebase: false,
        },
        handover,
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
        pinned: None,
        statements: Vec::new(),
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
    .into_iter()
    .chain(succession(&g0, &g1, &g2))
    .chain(hybrid_handover(&g0))
    .collect()
}

/// The series handed over to a hybrid key (format 2.3, SPEC §37.6): the
/// splice rule compares pins, so a handover to the hybrid key's id
/// accounts for generation 1's two `issuers` items; one naming only its
/// Ed25519 half (what a 2.2 writer could name) does not.
fn hybrid_handover(g0: &[u8]) -> Vec<SeriesVector> {
    let archive = {
        let d = Scratch::new();
        std::fs::write(d.0.join("g0.lgn"), g0).unwrap();
        Series::find(&[d.0.join("g0.lgn")]).unwrap().archive_id
    };
    let hybrid = || IssuerKey::from_seeds([0x45; 32], Some([0x46; 32]));
    let to = |pin: [u8; 32]| {
        let mut h = Handover::new(archive, 1, issuer().public(), pin, STATED);
        h.sign(&issuer()).unwrap();
        h
    };
    let good = to(hybrid().public_key().pin());
    let half = to(hybrid().public());
    let r1 = records(&[(3, 1), (17, 1)], &[9]);
    let h1 = next_signed(&[("g0.lgn", g0)], &r1, hybrid(), Some(&good), 48);
    let g0 = g0.to_vec();
    let files = || vec![("h1.lgn", &h1), ("g0.lgn", &g0)];
    vec![
        stated(
            vector(
                "series-handover-hybrid",
                "success",
                "(2.3) generation 1 signed by a hybrid key (Ed25519 and ML-DSA-65), which \
                 generation 0's Ed25519 issuer hands the series over to from 1 by the hybrid \
                 key's id: the splice rules pass (issuers compared as pins), and pinned to the \
                 old key the chain admits the hybrid key for generation 1",
                files(),
            ),
            true,
            &[&good],
            &[],
        ),
        stated(
            vector(
                "series-handover-hybrid-half",
                "series error: issuers-changed",
                "(2.3) series-handover-hybrid with the handover naming the hybrid key's Ed25519 \
                 half instead of its id: it does not account for generation 1's ML-DSA-65 item",
                files(),
            ),
            false,
            &[&half],
            &[],
        ),
    ]
}

/// A third issuer key: the one a forked handover names.
fn third_issuer() -> IssuerKey {
    IssuerKey::from_bytes([0x44; 32])
}

/// When the vectors' statements were made: between generations 0 and 1.
const STATED: i64 = CREATED + 43_200;

/// A statement's name in `issuer/` (SPEC §37.4): the first 8 bytes of its
/// BLAKE3 in hex, a dot, `ext`.
fn statement_name(bytes: &[u8], ext: &str) -> String {
    format!(
        "{}.{ext}",
        hex::encode(&blake3::hash(bytes).as_bytes()[..8])
    )
}

/// The sample issuer's handover of series `archive` to `to` from `from`.
fn handover_to(archive: [u8; 16], from: u64, to: &IssuerKey) -> Handover {
    let mut h = Handover::new(archive, from, issuer().public(), to.public(), STATED);
    h.sign(&issuer()).unwrap();
    h
}

/// A vector of the series across a handover: `vector`'s with a pin and
/// the statements in `issuer/`.
fn stated(
    v: SeriesVector,
    pinned: bool,
    handovers: &[&Handover],
    revocations: &[&Revocation],
) -> SeriesVector {
    let mut statements: Vec<(String, Vec<u8>)> = handovers
        .iter()
        .map(|h| h.to_bytes())
        .map(|b| (statement_name(&b, HANDOVER_EXT), b))
        .chain(
            revocations
                .iter()
                .map(|r| r.to_bytes())
                .map(|b| (statement_name(&b, REVOCATION_EXT), b)),
        )
        .collect();
    statements.sort();
    SeriesVector {
        pinned: pinned.then(|| hex::encode(&issuer().public())),
        statements,
        ..v
    }
}

/// The series vectors with the issuer's statements (SPEC §33.6, §37.6,
/// §37.3): generation 1 (`n1`) signed by another key than generation 0
/// (`g0`), which hands the series over from 1, with its handover, without
/// it, with one from the wrong generation, with a second handover by the
/// same key (a fork, 2.3); and `g0`, `g1`, `g2`, all by the sample issuer,
/// pinned to it with its revocation after 1.
fn succession(g0: &[u8], g1: &[u8], g2: &[u8]) -> Vec<SeriesVector> {
    let archive = {
        let d = Scratch::new();
        std::fs::write(d.0.join("g0.lgn"), g0).unwrap();
        Series::find(&[d.0.join("g0.lgn")]).unwrap().archive_id
    };
    let good = handover_to(archive, 1, &other_issuer());
    let r1 = records(&[(3, 1), (17, 1)], &[9]);
    let n1 = next_signed(&[("g0.lgn", g0)], &r1, other_issuer(), Some(&good), 47);
    let (g0, g1, g2) = (g0.to_vec(), g1.to_vec(), g2.to_vec());
    let files = || vec![("n1.lgn", &n1), ("g0.lgn", &g0)];
    let wrong = handover_to(archive, 2, &other_issuer());
    let fork_same = handover_to(archive, 1, &third_issuer());
    let fork_later = handover_to(archive, 3, &third_issuer());
    let mut revoked = Revocation::new(
        archive,
        issuer().public(),
        1,
        STATED + 2 * 86_400,
        "key copied by a departing official",
    )
    .unwrap();
    revoked.sign(&issuer()).unwrap();
    vec![
        stated(
            vector(
                "series-handover",
                "success",
                "(2.2) generation 1 signed by another key, which generation 0's issuer hands the \
                 series over to from 1 (issuer/): the splice rules pass, and pinned to the old \
                 key the chain admits the new key for generation 1",
                files(),
            ),
            true,
            &[&good],
            &[],
        ),
        vector(
            "series-handover-missing",
            "series error: issuers-changed",
            "(2.2) the same generations without the handover: generation 1 names other issuers",
            files(),
        ),
        stated(
            vector(
                "series-handover-wrong-generation",
                "series error: issuers-changed",
                "(2.2) the same generations with a valid handover to the new key from generation \
                 2, not 1: only a handover taking effect at exactly 1 accounts for the change",
                files(),
            ),
            false,
            &[&wrong],
            &[],
        ),
        stated(
            vector(
                "series-handover-fork",
                "series error: handover-fork",
                "(2.3) the handover to the new key from 1 and another by the same key to a third \
                 key from 1: a fork (a 2.2 reader without a pin applies both and says \
                 issuers-changed)",
                files(),
            ),
            false,
            &[&good, &fork_same],
            &[],
        ),
        stated(
            vector(
                "series-handover-fork-later",
                "series error: handover-fork",
                "(2.3) the handover to the new key from 1 and another by the same key to a third \
                 key from 3: a fork though generation 3 is absent (a 2.2 reader without a pin \
                 applies the first and passes the series)",
                files(),
            ),
            false,
            &[&good, &fork_later],
            &[],
        ),
        stated(
            vector(
                "series-revoked-later",
                "refused: REVOKED: generation 2",
                "(2.2) generations 0, 1 and 2 all by the sample issuer, which revoked itself \
                 after generation 1: the splice rules pass; pinned to it, generation 2 is refused",
                vec![("g2.lgn", &g2), ("g1.lgn", &g1), ("g0.lgn", &g0)],
            ),
            true,
            &[],
            &[&revoked],
        ),
    ]
}

/// The statements in a vector folder's `issuer/`, each parsed (a file
/// that does not parse is a refusal naming it), in name order.
fn statements_of(dir: &Path) -> Result<Vec<(Statement, String)>, String> {
    let d = dir.join(STATEMENTS);
    if !d.is_dir() {
        return Ok(Vec::new());
    }
    let mut names: Vec<String> = std::fs::read_dir(&d)
        .map_err(|e| e.to_string())?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    names.retain(|n| {
        n.ends_with(&format!(".{HANDOVER_EXT}")) || n.ends_with(&format!(".{REVOCATION_EXT}"))
    });
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let label = format!("{STATEMENTS}/{n}");
            let bytes = std::fs::read(d.join(&n)).map_err(|e| e.to_string())?;
            Statement::parse(&bytes, &label)
                .map(|s| (s, label))
                .map_err(|e| format!("refused: {e}"))
        })
        .collect()
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
    let pinned = match field("pinned: ") {
        Ok(p) => Some(hex::decode_array::<32>(&p).ok_or("pinned: not 64 hex")?),
        Err(_) => None,
    };
    let refused = |msg: String| match expect.strip_prefix("refused: ") {
        Some(f) if msg.contains(f) => Ok(()),
        _ => Err(format!("expected {expect}, refused: {msg}")),
    };
    let statements = match statements_of(dir) {
        Ok(s) => s,
        Err(e) => return refused(e),
    };
    let s = Series::find(&files).map_err(|e| e.to_string())?;
    // Statements about another series found beside it are left out
    // (SPEC §37.4).
    let (mut handovers, mut revocations) = (Vec::new(), Vec::new());
    for (st, file) in statements {
        match st {
            Statement::Handover(h) if h.archive_id == s.archive_id => handovers.push((h, file)),
            Statement::Revocation(r) if r.archive_id == s.archive_id => revocations.push((r, file)),
            _ => {}
        }
    }
    let s = match handovers.is_empty() {
        true => s,
        false => s.with_handovers(&handovers),
    };
    let kinds: Vec<&str> = s.errors().iter().map(|e| e.kind()).collect();
    if let Some(kind) = expect.strip_prefix("series error: ") {
        return if kinds.contains(&kind) {
            Ok(())
        } else {
            Err(format!("expected {kind}, found {kinds:?}"))
        };
    }
    if expect != "success" && !expect.starts_with("refused: ") {
        return Err(format!("unknown expect: {expect}"));
    }
    if !kinds.is_empty() {
        return Err(format!("expected {expect}, found {kinds:?}"));
    }
    let newest = s.newest().ok_or("no generation")?.sequence();
    // Pinned: the chain from the pin admits every generation present by
    // the keys whose signatures over its head verified (SPEC §37.3); the
    // audit then checks every file the newest uses, each signed by its own
    // admitted key, so it pins none. Otherwise it pins the sample issuer.
    let sample = issuer().public();
    let mut pin = Some(&sample);
    if let Some(p) = pinned {
        pin = None;
        let chain = match Succession::follow(s.archive_id, p, &handovers, &revocations) {
            Ok(c) => c,
            Err(e) => return refused(e.to_string()),
        };
        let mut files: Vec<_> = s.files.iter().collect();
        files.sort_by_key(|f| f.sequence());
        for f in files {
            // §37.3's K: the Ed25519 signers and (2.3) a hybrid pair's id
            // (its ML-DSA-65 line is verified by the audit below, §27.3).
            let g = &f.generation;
            let mut signers = g.signers.clone();
            for e in &g.signers {
                for m in &g.ml_dsa_65 {
                    signers.push(legation_format::pqsig::hybrid_id(e, m));
                }
            }
            if let Err(e) = chain.admit(f.sequence(), &signers) {
                return refused(e.to_string());
            }
        }
    }
    if expect != "success" {
        return Err(format!("expected {expect}, every generation admitted"));
    }
    let problems = s.audit(newest, pin, &mut |_, _| true);
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
