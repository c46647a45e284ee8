//! Writing: arbitrary record sets packed in memory must read back
//! identically (paths, sizes, bytes, ranges), pass every check, and the
//! writer must refuse (never panic on) what it cannot pack.
#![no_main]

use std::collections::BTreeMap;
use std::io::Cursor;

use arbitrary::Arbitrary;
use legation_format::keys::Identity;
use legation_format::writer::{ArchiveWriter, RecordMeta, RecordSource, WriterOptions};
use legation_reader::source::MemSource;
use legation_reader::{Archive, Key};
use libfuzzer_sys::fuzz_target;
use rand_chacha::rand_core::SeedableRng;

#[derive(Debug, Arbitrary)]
struct Record {
    path: String,
    bytes: Vec<u8>,
    /// Repeats `bytes` to reach sizes over one chunk (64 KiB).
    repeat: u8,
    title: String,
}

fuzz_target!(|input: (u64, Vec<Record>)| {
    let (seed, records) = input;
    let identity = Identity::from_bytes([0x11; 32]);
    let opts = WriterOptions {
        created: 1_800_000_000,
        issuer: None,
        recipients: vec![identity.public()],
        passphrases: Vec::new(),
        embed_spec: false,
        viewer: None,
    };
    let rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let Ok(mut w) = ArchiveWriter::new(Cursor::new(Vec::new()), opts, rng) else {
        return;
    };
    // Records go in strictly increasing path order; the writer refuses
    // bad paths itself.
    let mut sorted: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut titles = BTreeMap::new();
    for r in records.into_iter().take(64) {
        let mut bytes = r.bytes.clone();
        for _ in 0..(r.repeat % 8) {
            bytes.extend_from_slice(&r.bytes.repeat(1 + 16384 / (r.bytes.len() + 1)));
        }
        titles.insert(r.path.clone(), r.title);
        sorted.insert(r.path, bytes);
    }
    let mut packed = BTreeMap::new();
    for (path, bytes) in &sorted {
        let meta = RecordMeta {
            path: path.clone(),
            title: titles[path].clone(),
            media_type: "application/octet-stream".into(),
            ..RecordMeta::default()
        };
        if w.add_record(meta, RecordSource::Bytes(bytes)).is_ok() {
            packed.insert(path.clone(), bytes.clone());
        } else {
            // A refused record leaves the writer unusable only by its own
            // account: stop here and check what was packed so far.
            break;
        }
    }
    let Ok(out) = w.finish() else {
        return;
    };
    let bytes = out.into_inner();
    let archive =
        Archive::open(MemSource::new(bytes, "written.lgn")).expect("what was written opens");
    assert!(archive.verify_fixity(None, &mut |_, _| true).ok());
    let u = archive
        .unlock(&[Key::Identity(identity)])
        .expect("and unlocks");
    assert_eq!(u.record_count(), packed.len() as u64);
    let listed = u.list(0, packed.len() as u64).expect("and lists");
    for (rec, (path, original)) in listed.iter().zip(&packed) {
        assert_eq!(&rec.path, path);
        assert_eq!(rec.size, original.len() as u64);
        assert_eq!(&u.read_record(rec, u64::MAX).expect("and reads"), original);
        let mid = rec.size / 3;
        let len = (rec.size - mid).min(70_000);
        assert_eq!(
            u.read_range(rec, mid, len).expect("and reads ranges"),
            original[mid as usize..(mid + len) as usize]
        );
    }
    assert!(u.verify_content(None, &mut |_, _| true).ok());
});
