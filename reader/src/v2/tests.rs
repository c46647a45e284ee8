//! Format 2.0 through the reader's public API, over archives the 2.0
//! writer makes: open, unlock, list, find, read (whole and by range),
//! fixity naming each kind of damaged entry, content catching swapped pages
//! and moved records, what opening and finding read, and proofs.

use std::sync::{Arc, Mutex};

use legation_format::keys::{Identity, IssuerKey};
use legation_format::v2::writer::ArchiveWriter;
use legation_format::writer::{RecordMeta, RecordSource, WriterOptions};
use rand_chacha::rand_core::SeedableRng;

use crate::source::{MemSource, ReadAt};
use crate::{Archive, Key, Level, Signer};

struct Made {
    bytes: Vec<u8>,
    identity: [u8; 32],
    issuer: [u8; 32],
    records: Vec<(String, Vec<u8>)>,
}

/// The bytes of record `i`: a few sizes, text (compressible) and noise.
fn record_bytes(i: usize, big: bool) -> Vec<u8> {
    if big {
        // Three and a half chunks, so that ranges cross chunk edges.
        return (0..(3 * 65536 + 30_000))
            .map(|k: usize| (k.wrapping_mul(31) ^ (k >> 9)) as u8)
            .collect();
    }
    match i % 3 {
        0 => format!("record {i}\n").repeat(1 + i % 40).into_bytes(),
        1 => (0..(20 + i % 180)).map(|k| (k * 7 + i) as u8).collect(),
        _ => Vec::new(),
    }
}

/// An archive of `n` records (paths `r/NNNNNN`), one of them large.
fn make(n: usize) -> Made {
    make_with(n, |i| format!("r/{i:06}"), |i| record_bytes(i, i == 7))
}

fn make_with(n: usize, path: impl Fn(usize) -> String, bytes: impl Fn(usize) -> Vec<u8>) -> Made {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(20);
    let issuer = IssuerKey::generate(&mut rng);
    let issuer_public = issuer.public();
    let identity = Identity::generate(&mut rng);
    let opts = WriterOptions {
        created: 1_767_225_600,
        issuer: Some(issuer),
        recipients: vec![identity.public()],
        passphrases: vec![],
        embed_spec: false,
        viewer: None,
    };
    let mut w = ArchiveWriter::new(std::io::Cursor::new(Vec::new()), opts, rng).unwrap();
    let mut records = Vec::with_capacity(n);
    for i in 0..n {
        let (p, b) = (path(i), bytes(i));
        let meta = RecordMeta {
            path: p.clone(),
            media_type: if i % 3 == 0 {
                "text/plain"
            } else {
                "application/octet-stream"
            }
            .into(),
            modified: (i % 5 == 0).then_some(1_700_000_000 + i as i64),
            ..Default::default()
        };
        w.add_record(meta, RecordSource::Bytes(&b)).unwrap();
        records.push((p, b));
    }
    Made {
        bytes: w.finish().unwrap().into_inner(),
        identity: *identity.secret(),
        issuer: issuer_public,
        records,
    }
}

fn key(m: &Made) -> Vec<Key> {
    vec![Key::Identity(Identity::from_bytes(m.identity))]
}

/// A source that logs every read's range.
#[derive(Clone)]
pub(crate) struct Logged {
    inner: Arc<MemSource>,
    reads: Arc<Mutex<Vec<(u64, u64)>>>,
}

impl Logged {
    pub(crate) fn new(bytes: Vec<u8>) -> Self {
        Logged {
            inner: Arc::new(MemSource::new(bytes, "logged.lgn")),
            reads: Arc::default(),
        }
    }
    pub(crate) fn take(&self) -> Vec<(u64, u64)> {
        std::mem::take(&mut *self.reads.lock().unwrap())
    }
}

impl ReadAt for Logged {
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.reads
            .lock()
            .unwrap()
            .push((offset, offset + buf.len() as u64));
        self.inner.read_exact_at(offset, buf)
    }
    fn name(&self) -> &str {
        self.inner.name()
    }
}

/// Names of the entries whose data any of `reads` touches.
fn touched(a: &Archive, reads: &[(u64, u64)]) -> Vec<String> {
    a.entries()
        .iter()
        .filter(|e| {
            reads
                .iter()
                .any(|&(from, to)| from < e.end() && to > e.data_offset())
        })
        .map(|e| e.name.clone())
        .collect()
}

#[test]
fn opens_unlocks_lists_finds_and_reads_every_record() {
    let m = make(5000);
    let a = Archive::open(MemSource::new(m.bytes.clone(), "v2.lgn")).unwrap();
    assert!(a.is_v2());
    assert_eq!(a.manifest().version, "2.0");
    assert_eq!(a.manifest().catalog.pages, 2);
    assert!(matches!(
        a.check_signature(Some(&m.issuer)),
        Ok(Signer::Valid { public_key, .. }) if public_key == m.issuer
    ));
    let u = a.unlock(&key(&m)).unwrap();
    assert_eq!(u.record_count(), 5000);
    assert_eq!(u.index().pages.len(), 2);
    let all = u.list(0, u64::MAX).unwrap();
    assert_eq!(all.len(), 5000);
    // Listing from the middle of the second page.
    let some = u.list(4100, 3).unwrap();
    let paths: Vec<&str> = some.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["r/004100", "r/004101", "r/004102"]);
    assert!(u.list(5000, 10).unwrap().is_empty());
    for ((path, bytes), listed) in m.records.iter().zip(&all) {
        assert_eq!(&listed.path, path);
        let rec = u.find(path).unwrap();
        assert_eq!(&rec, listed);
        assert_eq!(&u.read_record(&rec, 1 << 20).unwrap(), bytes, "{path}");
    }
    assert!(matches!(
        u.find("r/999999"),
        Err(crate::Error::NoSuchRecord { .. })
    ));
    // Ranges of the large record, across chunk edges, and of a small one.
    let big = u.find("r/000007").unwrap();
    let whole = &m.records[7].1;
    for (from, len) in [
        (0, 10),
        (65530, 20),
        (65536, 65536),
        (200_000, 100_000),
        (0, u64::MAX),
    ] {
        let end = (from + len.min(whole.len() as u64)).min(whole.len() as u64);
        assert_eq!(
            u.read_range(&big, from, len).unwrap(),
            &whole[from as usize..end as usize],
            "{from}+{len}"
        );
    }
    let small = u.find("r/000010").unwrap();
    assert_eq!(u.read_range(&small, 3, 5).unwrap(), &m.records[10].1[3..8]);
    // Both levels pass.
    let report = a.verify_fixity(Some(&m.issuer), &mut |_, _| true);
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(report.entries_checked, a.entries().len() as u64);
    let report = u.verify_content(Some(&m.issuer), &mut |_, _| true);
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(
        (report.level, report.records_checked),
        (Level::Content, 5000)
    );
}

#[test]
fn opening_reads_neither_entries_nor_pages_and_finding_reads_one_page() {
    let m = make(9000);
    let src = Logged::new(m.bytes.clone());
    let a = Archive::open(src.clone()).unwrap();
    let opened = touched(&a, &src.take());
    assert_eq!(
        opened,
        ["mimetype", "public.json", "head", "signatures"],
        "opening read"
    );
    let u = a.unlock(&key(&m)).unwrap();
    assert_eq!(touched(&a, &src.take()), ["c/index"], "unlocking read");
    let rec = u.find("r/005001").unwrap();
    assert_eq!(touched(&a, &src.take()), ["c/00000001"], "finding read");
    u.read_record(&rec, 1 << 20).unwrap();
    let reads = src.take();
    assert_eq!(touched(&a, &reads), ["b/00000000"], "reading read");
    // One 64 KiB chunk (two at most, when the record crosses an edge).
    let bytes: u64 = reads.iter().map(|(f, t)| t - f).sum();
    assert!(
        bytes <= 2 * legation_format::crypto::SEALED_CHUNK as u64,
        "{bytes}"
    );
    // A second find on the same page is served from the cache.
    u.find("r/005002").unwrap();
    assert!(src.take().is_empty());
}

/// Flips one byte of entry `name`'s data.
fn flipped(m: &Made, name: &str, at: u64) -> Vec<u8> {
    let a = Archive::open(MemSource::new(m.bytes.clone(), "x")).unwrap();
    let e = a.entry(name).unwrap();
    let mut b = m.bytes.clone();
    b[(e.data_offset() + at.min(e.size - 1)) as usize] ^= 0x20;
    b
}

#[test]
fn fixity_names_each_kind_of_damaged_entry() {
    let m = make(300);
    for name in [
        "b/00000000",
        "c/00000000",
        "c/index",
        "p/00000000",
        "recovery",
        "entries",
        "public.json",
        "head",
        "signatures",
    ] {
        let a = Archive::open(MemSource::new(flipped(&m, name, 5), "x")).unwrap();
        let r = a.verify_fixity(Some(&m.issuer), &mut |_, _| true);
        assert!(!r.ok(), "{name}");
        assert!(
            r.problems.iter().any(|p| p.subject == name),
            "{name}: {:?}",
            r.problems
        );
        // The public tail and the entry table were put right from the
        // recovery data (damaged, recoverable): the signer still checks.
        if ["entries", "public.json", "head", "signatures"].contains(&name) {
            assert!(a.manifest_recovered(), "{name}");
            assert_eq!(
                r.problems.len(),
                1,
                "{name}: only the stored entry: {:?}",
                r.problems
            );
            assert!(r.signer.is_some(), "{name}");
        }
    }
    // Two damaged public entries (one and its copy): opening fails, naming it.
    let both = {
        let once = flipped(&m, "public.json", 5);
        let a = Archive::open(MemSource::new(once.clone(), "x")).unwrap();
        let e = a.entry("recovery").unwrap();
        let mut b = once;
        b[(e.data_offset() + 40) as usize] ^= 0x20;
        b
    };
    let err = Archive::open(MemSource::new(both, "x")).err().unwrap();
    assert!(err.to_string().contains("public.json"), "{err}");
}

#[test]
fn damaged_pages_and_index_are_read_through_their_parity() {
    let m = make(9000);
    // A flipped byte in page 1, then a lost sector (4 KiB of zeros) over
    // the index: each is rebuilt from its stripe, and every record reads.
    let page = flipped(&m, "c/00000001", 7);
    let a = Archive::open(MemSource::new(m.bytes.clone(), "x")).unwrap();
    let e = a.entry("c/index").unwrap().clone();
    let mut lost = m.bytes.clone();
    let from = e.data_offset() as usize;
    let to = (from + 4096).min(e.end() as usize);
    lost[from..to].fill(0);
    for bytes in [page, lost] {
        let a = Archive::open(MemSource::new(bytes, "x")).unwrap();
        let u = a.unlock(&key(&m)).unwrap();
        assert_eq!(u.list(0, u64::MAX).unwrap().len(), 9000);
        assert_eq!(u.find("r/008999").unwrap().path, "r/008999");
        // Fixity still reports the stored entry damaged.
        assert!(!a.verify_fixity(None, &mut |_, _| true).ok());
    }
    // Two members of one stripe damaged: not guessed, the page is refused.
    let two = {
        let once = flipped(&m, "c/00000001", 7);
        let a = Archive::open(MemSource::new(once.clone(), "x")).unwrap();
        let e = a.entry("c/00000000").unwrap();
        let mut b = once;
        b[(e.data_offset() + 9) as usize] ^= 0x20;
        b
    };
    let a = Archive::open(MemSource::new(two, "x")).unwrap();
    let u = a.unlock(&key(&m)).unwrap();
    let err = u.list(0, u64::MAX).err().unwrap();
    assert!(err.to_string().contains("c/0000000"), "{err}");
}

/// The archive `bytes` written again as a canonical container whose
/// entries hold what `data(name, stored)` gives (headers made anew).
fn rebuilt(bytes: &[u8], data: impl Fn(&str, &[u8]) -> Vec<u8>) -> Vec<u8> {
    use legation_format::container;
    let a = Archive::open(MemSource::new(bytes.to_vec(), "x")).unwrap();
    let mut out = Vec::new();
    let mut written = Vec::new();
    for e in a.entries() {
        let d = data(&e.name, &bytes[e.data_offset() as usize..e.end() as usize]);
        let crc = crc32fast::hash(&d);
        written.push(container::Entry {
            name: e.name.clone(),
            size: d.len() as u64,
            crc32: crc,
            offset: out.len() as u64,
        });
        out.extend_from_slice(&container::local_header(&e.name, d.len() as u64, crc));
        out.extend_from_slice(&d);
    }
    let cd_offset = out.len() as u64;
    for e in &written {
        out.extend_from_slice(&container::central_header(e));
    }
    let cd_size = out.len() as u64 - cd_offset;
    out.extend_from_slice(&container::end_records(
        written.len() as u64,
        cd_offset,
        cd_size,
    ));
    out
}

#[test]
fn content_catches_swapped_pages_and_moved_records() {
    // The bytes of two pages exchanged: each is opened under the other's
    // stream key, and fails.
    let m = make(9000);
    let page = |n: &str| {
        let a = Archive::open(MemSource::new(m.bytes.clone(), "x")).unwrap();
        let e = a.entry(n).unwrap().clone();
        m.bytes[e.data_offset() as usize..e.end() as usize].to_vec()
    };
    let (p0, p1) = (page("c/00000000"), page("c/00000001"));
    let b = rebuilt(&m.bytes, |name, d| match name {
        "c/00000000" => p1.clone(),
        "c/00000001" => p0.clone(),
        _ => d.to_vec(),
    });
    let a = Archive::open(MemSource::new(b, "x")).unwrap();
    let u = a.unlock(&key(&m)).unwrap();
    let r = u.verify_content(None, &mut |_, _| true);
    let content: Vec<_> = r
        .problems
        .iter()
        .filter(|p| p.level == Level::Content)
        .map(|p| p.subject.as_str())
        .collect();
    assert!(
        content.contains(&"c/00000000") && content.contains(&"c/00000001"),
        "{r:?}"
    );
    // Fixity, without the key, finds the entry table's rows wrong.
    let fixity: Vec<_> = r
        .problems
        .iter()
        .filter(|p| p.level == Level::Fixity)
        .map(|p| p.subject.as_str())
        .collect();
    assert!(fixity.contains(&"entries"), "{fixity:?}");

    // Two records' bytes exchanged inside the bundle, re-sealed with the
    // key (as only a key holder could): the records' hashes catch it.
    let m = make(200);
    let a = Archive::open(MemSource::new(m.bytes.clone(), "x")).unwrap();
    let u = a.unlock(&key(&m)).unwrap();
    let (x, y) = (u.find("r/000001").unwrap(), u.find("r/000181").unwrap());
    assert_eq!(x.stored_size, y.stored_size);
    let e = a.entry("b/00000000").unwrap();
    let sk = u.data_key().stream_key(
        &a.manifest().archive_id,
        legation_format::crypto::StreamId::Bundle(x.stream),
    );
    let mut plain = legation_format::crypto::open_stream(
        &sk,
        &m.bytes[e.data_offset() as usize..e.end() as usize],
    )
    .unwrap();
    let (xs, ys, n) = (x.offset as usize, y.offset as usize, x.stored_size as usize);
    let tmp = plain[xs..xs + n].to_vec();
    plain.copy_within(ys..ys + n, xs);
    plain[ys..ys + n].copy_from_slice(&tmp);
    let chunks = plain.chunks(legation_format::crypto::CHUNK_SIZE).count();
    let mut sealed = Vec::new();
    for (i, c) in plain
        .chunks(legation_format::crypto::CHUNK_SIZE)
        .enumerate()
    {
        let mut c = c.to_vec();
        sk.seal_chunk(i as u64, i + 1 == chunks, &mut c);
        sealed.extend_from_slice(&c);
    }
    let mut b = m.bytes.clone();
    b[e.data_offset() as usize..e.end() as usize].copy_from_slice(&sealed);
    let a = Archive::open(MemSource::new(b, "x")).unwrap();
    let u = a.unlock(&key(&m)).unwrap();
    let r = u.verify_content(None, &mut |_, _| true);
    for path in ["r/000001", "r/000181"] {
        assert!(
            r.problems
                .iter()
                .any(|p| p.level == Level::Content && p.subject == path),
            "{path}: {:?}",
            r.problems
        );
    }
}

#[test]
fn a_proof_checks_against_the_signed_head() {
    let m = make(5000);
    let a = Archive::open(MemSource::new(m.bytes.clone(), "x")).unwrap();
    let u = a.unlock(&key(&m)).unwrap();
    let proof = u.prove("r/004321").unwrap();
    assert_eq!((proof.page, proof.pages, proof.record), (1, 2, 4321 - 4096));
    let bytes = proof.to_bytes();
    let back = legation_format::v2::proof::Proof::parse(&bytes).unwrap();
    assert_eq!(back, proof);
    let checked = back
        .check(Some(&m.issuer), Some(&m.records[4321].1))
        .unwrap();
    assert!(checked.record_matched);
    assert_eq!(checked.record.path, "r/004321");
    assert!(back.check(Some(&m.issuer), Some(b"other bytes")).is_err());
    assert_eq!(
        checked.record.blake3,
        *blake3::hash(&m.records[4321].1).as_bytes()
    );
    assert!(matches!(
        u.prove("r/999999"),
        Err(crate::Error::NoSuchRecord { .. })
    ));
}

#[test]
fn a_decoder_not_named_after_its_hash_is_refused_by_the_entry_table() {
    use legation_format::container::{local_header_len, Entry};
    use legation_format::v2::{entries, head::Head};
    let module = b"\0asm";
    let row = |name: &str| entries::Row {
        name: name.into(),
        size: module.len() as u64,
        crc32: crc32fast::hash(module),
        blake3: *blake3::hash(module).as_bytes(),
    };
    for (name, ok) in [
        (
            legation_format::manifest::decoder_entry(blake3::hash(module).as_bytes()),
            true,
        ),
        ("d/0123456789abcdef.wasm".to_owned(), false),
    ] {
        let table = entries::to_bytes(&[row(&name)]);
        let at = 64u64;
        let mut file = vec![0u8; 1024];
        let data = at + local_header_len("entries", table.len() as u64) as u64;
        file[data as usize..data as usize + table.len()].copy_from_slice(&table);
        let entry = |name: &str, offset: u64, size: u64| Entry {
            name: name.into(),
            size,
            crc32: 0,
            offset,
        };
        let listed = vec![
            Entry {
                crc32: crc32fast::hash(module),
                ..entry(&name, 0, module.len() as u64)
            },
            // The table's tree: none for a table of one chunk.
            entry("entries-tree", at, 0),
            entry("entries", at, table.len() as u64),
            entry("public.json", 900, 0),
            entry("head", 950, 0),
            entry("signatures", 1000, 0),
        ];
        let head = Head {
            archive_id: [1; 16],
            sequence: 0,
            previous: [0; 32],
            created: 0,
            records: 0,
            bytes: 0,
            records_root: [0; 32],
            entries: *blake3::hash(&table).as_bytes(),
            public: [0; 32],
        };
        let got = super::open::read_table(&MemSource::new(file, "t"), &listed, &head);
        match (ok, got) {
            (true, Ok((rows, ..))) => assert_eq!(rows[0].name, name),
            (false, Err(crate::Error::ManifestMismatch { entry, .. })) => assert_eq!(entry, name),
            (_, other) => panic!("{name}: {:?}", other.map(|r| r.0.len())),
        }
    }
}

/// The archive `m` with its catalog index replaced by `idx`, sealed under
/// the index's key (the head and entry table left as they were: unlocking
/// reads neither).
fn with_index(m: &Made, edit: impl Fn(&mut legation_format::v2::index::Index)) -> Vec<u8> {
    use legation_format::crypto::{seal_stream, StreamId};
    let a = Archive::open(MemSource::new(m.bytes.clone(), "a")).unwrap();
    let u = a.unlock(&key(m)).unwrap();
    let mut idx = u.v2_index().unwrap().clone();
    edit(&mut idx);
    let stream = a.v2().unwrap().public.catalog.index_stream;
    let sk = u
        .data_key()
        .stream_key(&a.manifest().archive_id, StreamId::Index(stream));
    let sealed = seal_stream(&sk, &idx.encode());
    rebuilt(&m.bytes, |name, stored| {
        if name == legation_format::v2::INDEX_ENTRY {
            sealed.clone()
        } else {
            stored.to_vec()
        }
    })
}

#[test]
fn unlocking_refuses_an_index_naming_a_decoder_public_json_does_not_list() {
    // SPEC 2.0 §24: a decoder table item that is not the entry of an item
    // of public.json's decoders is refused, naming c/index, at unlocking.
    let m = make(3);
    let same = with_index(&m, |_| {});
    Archive::open(MemSource::new(same, "same"))
        .unwrap()
        .unlock(&key(&m))
        .unwrap();
    let bad = with_index(&m, |idx| {
        idx.tables.decoders.push("d/0123456789abcdef.wasm".into())
    });
    let a = Archive::open(MemSource::new(bad, "bad")).unwrap();
    match a.unlock(&key(&m)) {
        Err(crate::Error::ManifestMismatch { entry, what }) => {
            assert_eq!(entry, "c/index");
            assert!(what.contains("d/0123456789abcdef.wasm"), "{what}");
        }
        other => panic!("{:?}", other.map(|u| u.record_count())),
    }
}

#[test]
fn many_decoders_are_checked_at_opening_in_linear_time() {
    // public.json's 4 MiB hold about 30,000 decoder items, each with its
    // d/ entry: matching items and entries one by one, both ways, took
    // seconds; by name it takes milliseconds.
    use legation_format::container::Entry;
    let m = make(3);
    let a = Archive::open(MemSource::new(m.bytes.clone(), "a")).unwrap();
    let mut public = a.v2().unwrap().public.clone();
    let mut entries = a.entries().to_vec();
    let item = |i: u32| legation_format::manifest::DecoderRef {
        entry: format!("d/{i:016x}.wasm"),
        name: "x".into(),
        version: "1".into(),
        abi: 1,
        media_types: vec![],
        limits: legation_format::manifest::DecoderLimits {
            fuel: 1,
            max_depth: 1,
            max_memory_pages: 1,
        },
    };
    let n = 30_000u32;
    public.decoders = (0..n).map(item).collect();
    let held = (0..n).map(|i| Entry {
        name: format!("d/{i:016x}.wasm"),
        size: 0,
        crc32: 0,
        offset: 0,
    });
    entries.splice(1..1, held);
    let t = std::time::Instant::now();
    super::open::check_layout(&public, &entries).unwrap();
    let took = t.elapsed();
    assert!(took < std::time::Duration::from_secs(3), "{took:?}");
    // And the checks still hold: an item with no entry, an entry with no item.
    public.decoders.push(item(n));
    let e = super::open::check_layout(&public, &entries).unwrap_err();
    assert!(e.to_string().contains(&format!("d/{n:016x}.wasm")), "{e}");
    public.decoders.swap_remove(0);
    let e = super::open::check_layout(&public, &entries).unwrap_err();
    assert!(e.to_string().contains("d/0000000000000000.wasm"), "{e}");
}

#[test]
fn a_record_whose_leaf_is_too_long_for_a_proof_is_refused_at_proving() {
    // SPEC 2.0 §29.2 step 1: a checker refuses a leaf over 64 KiB; the
    // prover says so instead of writing a proof that cannot be checked.
    use legation_format::writer::{RecordMeta, RecordSource};
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(21);
    let identity = Identity::generate(&mut rng);
    let opts = WriterOptions {
        created: 1_767_225_600,
        issuer: Some(IssuerKey::generate(&mut rng)),
        recipients: vec![identity.public()],
        passphrases: vec![],
        embed_spec: false,
        viewer: None,
    };
    let mut w = ArchiveWriter::new(std::io::Cursor::new(Vec::new()), opts, rng).unwrap();
    for (path, meta_len) in [("long", 40_000), ("short", 10)] {
        let meta = RecordMeta {
            path: path.into(),
            title: "t".repeat(30_000),
            media_type: "text/plain".into(),
            metadata: [("description".to_string(), vec!["d".repeat(meta_len)])].into(),
            ..Default::default()
        };
        w.add_record(meta, RecordSource::Bytes(b"x")).unwrap();
    }
    let bytes = w.finish().unwrap().into_inner();
    let a = Archive::open(MemSource::new(bytes, "long-leaf")).unwrap();
    let u = a
        .unlock(&[Key::Identity(Identity::from_bytes(*identity.secret()))])
        .unwrap();
    let p = u.prove("short").unwrap();
    legation_format::v2::proof::Proof::parse(&p.to_bytes()).unwrap();
    let e = u.prove("long").unwrap_err().to_string();
    assert!(e.contains("long: the record's leaf is"), "{e}");
    assert!(e.contains("more than the 65536"), "{e}");
}

#[test]
fn content_check_sums_declared_sizes_without_overflow() {
    // Two DEFLATE records declaring u64::MAX bytes each (a key holder's
    // page, sealed anew): the content check reports them, does not
    // overflow, and counts the bytes it was told of up to u64::MAX.
    use legation_format::catalog::Encoding;
    use legation_format::crypto::{seal_stream, StreamId};
    use legation_format::v2::page;
    let m = make(200);
    let a = Archive::open(MemSource::new(m.bytes.clone(), "a")).unwrap();
    let u = a.unlock(&key(&m)).unwrap();
    let idx = u.v2_index().unwrap().clone();
    let e = a.entry("c/00000000").unwrap();
    let sk = u.data_key().stream_key(
        &a.manifest().archive_id,
        StreamId::Page(idx.pages[0].stream),
    );
    let deflated = legation_format::crypto::open_stream(
        &sk,
        &m.bytes[e.data_offset() as usize..e.end() as usize],
    )
    .unwrap();
    let mut records = page::parse_page(&deflated, &idx.tables, "c/00000000").unwrap();
    let mut huge = Vec::new();
    for r in records
        .iter_mut()
        .filter(|r| r.encoding == Encoding::Deflate)
    {
        r.size = u64::MAX;
        huge.push(r.path.clone());
    }
    assert!(huge.len() >= 2, "{huge:?}");
    let mut tables = idx.tables.clone();
    let sealed = seal_stream(&sk, &page::encode_page(&records, &mut tables).unwrap());
    assert_eq!(tables, idx.tables);
    let b = rebuilt(&m.bytes, |name, d| {
        if name == "c/00000000" {
            sealed.clone()
        } else {
            d.to_vec()
        }
    });
    let a = Archive::open(MemSource::new(b, "huge")).unwrap();
    let u = a.unlock(&key(&m)).unwrap();
    let r = u.verify_content(None, &mut |_, _| true);
    assert_eq!(r.records_checked, 200);
    assert_eq!(r.record_bytes_checked, u64::MAX);
    for path in &huge {
        assert!(
            r.problems
                .iter()
                .any(|p| p.level == Level::Content && &p.subject == path),
            "{path}: {:?}",
            r.problems
        );
    }
}

#[test]
fn a_damaged_entry_is_said_to_differ_from_what_pins_it() {
    // 2.0 has no manifest: the entry table pins the entries before it, the
    // head pins entries and public.json, opening's bytes the head.
    let m = make(30);
    for (name, pin) in [
        ("b/00000000", "the entry table"),
        ("c/00000000", "the entry table"),
        ("recovery", "the entry table"),
        ("entries", "the head"),
        ("public.json", "the head"),
        ("head", "the bytes read when the archive was opened"),
        ("signatures", "the bytes read when the archive was opened"),
    ] {
        let a = Archive::open(MemSource::new(flipped(&m, name, 5), "x")).unwrap();
        let r = a.verify_fixity(Some(&m.issuer), &mut |_, _| true);
        let want = format!("{name}: BLAKE3 of the stored bytes differs from {pin} (changed");
        assert!(
            r.problems
                .iter()
                .any(|p| p.subject == name && p.message.starts_with(&want)),
            "{name}: {:?}",
            r.problems
        );
    }
    // 1.x wording is unchanged.
    let e = crate::Error::EntryHash {
        entry: "manifest.json".into(),
        pinned_by: crate::Pin::Manifest,
    };
    assert_eq!(
        e.to_string(),
        "manifest.json: BLAKE3 of the stored bytes differs from the manifest (changed or damaged)"
    );
}
