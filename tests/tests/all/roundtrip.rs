//! Writer -> reader round trips: whatever is packed reads back the same,
//! whole, streamed or by range, and verifies at the content level.

use std::collections::BTreeMap;
use std::io::Cursor;

use legation_format::writer::{ArchiveWriter, RecordMeta, RecordSource, WriterOptions};
use legation_reader::source::{CountingSource, MemSource};
use legation_reader::{Archive, Key};
use proptest::prelude::*;
use rand_core::SeedableRng;

/// A writer of a signed archive for the test identity, in memory.
fn writer(seed: u64) -> ArchiveWriter<Cursor<Vec<u8>>, rand_chacha::ChaCha20Rng> {
    let opts = WriterOptions {
        created: legation_tests::CREATED,
        issuer: Some(legation_tests::issuer()),
        recipients: vec![legation_tests::identity().public()],
        passphrases: vec![],
        embed_spec: false,
        viewer: None,
    };
    let rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    ArchiveWriter::new(Cursor::new(Vec::new()), opts, rng).unwrap()
}

fn pack(records: &BTreeMap<String, Vec<u8>>, seed: u64) -> Vec<u8> {
    let mut w = writer(seed);
    for (path, bytes) in records {
        let meta = RecordMeta {
            path: path.clone(),
            media_type: "application/octet-stream".into(),
            ..Default::default()
        };
        if bytes.len() % 2 == 0 {
            w.add_record(meta, RecordSource::Bytes(bytes)).unwrap();
        } else {
            w.add_record(
                meta,
                RecordSource::Reader {
                    reader: &mut &bytes[..],
                    size: bytes.len() as u64,
                },
            )
            .unwrap();
        }
    }
    w.finish().unwrap().into_inner()
}

fn open(bytes: Vec<u8>) -> legation_reader::Unlocked {
    let a = Archive::open(MemSource::new(bytes, "test")).unwrap();
    a.unlock(&[Key::Identity(legation_tests::identity())])
        .unwrap()
}

/// Sizes that matter: empty, around chunk edges, compressible and not,
/// and a stream long enough for the two-thread pipeline.
fn content() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        (0usize..3, any::<u8>()).prop_map(|(n, b)| vec![b; n]),
        proptest::collection::vec(any::<u8>(), 0..3000),
        (65_530usize..65_545, any::<u8>())
            .prop_map(|(n, b)| (0..n).map(|i| (i as u8).wrapping_mul(b)).collect()),
        (0u64..1000).prop_map(|seed| {
            let mut v = vec![0u8; 130_000 + seed as usize];
            rand_core::RngCore::fill_bytes(
                &mut rand_chacha::ChaCha20Rng::seed_from_u64(seed),
                &mut v,
            );
            v
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn packed_records_read_back(records in proptest::collection::btree_map("[a-c]{1,3}(/[a-c]{1,3}){0,2}", content(), 0..12), seed in any::<u64>(), at in any::<u32>(), len in 0u64..200_000) {
        // Paths that are both a file and a folder prefix are fine in the format.
        let u = open(pack(&records, seed));
        prop_assert_eq!(u.record_count(), records.len() as u64);
        let report = u.verify_content(None, &mut |_, _| true);
        prop_assert!(report.ok(), "{:?}", report.problems);
        for (path, bytes) in &records {
            let rec = u.find(path).unwrap();
            prop_assert_eq!(&u.read_record(&rec, u64::MAX).unwrap(), bytes);
            let start = if bytes.is_empty() { 0 } else { u64::from(at) % bytes.len() as u64 };
            let end = (start + len).min(bytes.len() as u64);
            prop_assert_eq!(u.read_range(&rec, start, len).unwrap(), bytes[start as usize..end as usize].to_vec());
        }
        prop_assert!(u.find("zzz").is_err());
    }
}

#[test]
fn a_large_in_memory_record_takes_the_pipeline() {
    let mut big = vec![0u8; 20 << 20];
    rand_core::RngCore::fill_bytes(&mut rand_chacha::ChaCha20Rng::seed_from_u64(5), &mut big);
    let mut records = BTreeMap::new();
    records.insert("big".to_owned(), big.clone());
    let u = open(pack(&records, 1));
    let rec = u.find("big").unwrap();
    assert_eq!(u.read_record(&rec, u64::MAX).unwrap(), big);
    assert_eq!(
        u.read_range(&rec, 10 << 20, 100).unwrap(),
        big[10 << 20..(10 << 20) + 100]
    );
    assert!(u.verify_content(None, &mut |_, _| true).ok());
}

/// Finding and reading one record of a many-record archive reads a small
/// part of it: the end records, central directory, manifest, catalog
/// index, one page and the record.
#[test]
fn reading_one_record_reads_little() {
    let mut records = BTreeMap::new();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
    for i in 0..1500 {
        let mut v = vec![0u8; 20_000 + i];
        rand_core::RngCore::fill_bytes(&mut rng, &mut v);
        records.insert(format!("r/{i:05}"), v);
    }
    let expected = records["r/01234"].clone();
    let bytes = pack(&records, 9);
    let total = bytes.len() as u64;
    let src = std::sync::Arc::new(CountingSource::new(MemSource::new(bytes, "count")));
    let a = Archive::open(src.clone()).unwrap();
    let opened = src.bytes_read();
    let u = a
        .unlock(&[Key::Identity(legation_tests::identity())])
        .unwrap();
    let rec = u.find("r/01234").unwrap();
    let before = src.bytes_read();
    assert_eq!(u.read_record(&rec, u64::MAX).unwrap(), expected);
    let record_read = src.bytes_read() - before;
    assert!(
        record_read <= 21_234 * 113 / 100 + 16 * 2,
        "reading one record read {record_read} bytes"
    );
    let used = src.bytes_read();
    assert!(
        used * 20 < total,
        "read {used} of {total} bytes (open: {opened})"
    );
}

/// A manifest says the lowest version that describes its archive: 1.2
/// (recovery data, always written) unless a decoder uses vector
/// instructions, as the built-in PNG decoder does, which makes it 1.3.
#[test]
fn the_version_is_1_3_exactly_when_a_decoder_uses_vector_instructions() {
    let host = legation_reader::decode::Host::native();
    let png = legation_meter::meter(
        legation_builtin_decoders::PNG,
        &legation_meter::MeterConfig::default(),
    )
    .unwrap();
    let tiny = legation_tests::tiny_decoder();
    for (modules, version) in [
        (vec![], "1.2"),
        (vec![tiny.clone()], "1.2"),
        (vec![tiny, png], "1.3"),
    ] {
        let mut w = writer(3);
        for m in &modules {
            let loaded = host.load(m, "decoder").unwrap();
            w.add_decoder(m, loaded.decoder_ref(), loaded.uses_vectors())
                .unwrap();
        }
        let bytes = w.finish().unwrap().into_inner();
        let a = Archive::open(MemSource::new(bytes, "test")).unwrap();
        assert_eq!(a.manifest().version, version, "{} decoders", modules.len());
        assert_eq!(a.manifest().decoders.len(), modules.len());
    }
}
