#![allow(missing_docs)] // criterion_group! generates undocumented functions
//! Library-level benchmarks: the AEAD choice, packing, the three checks,
//! and opening, listing and reading in a 100,000-record archive.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::io::Cursor;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use legation_format::crypto::{DataKey, StreamId, CHUNK_SIZE};
use legation_format::writer::{ArchiveWriter, RecordMeta, RecordSource, WriterOptions};
use legation_reader::source::MemSource;
use legation_reader::{Archive, Key};
use rand_core::{RngCore, SeedableRng};

fn random(n: usize, seed: u64) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rand_chacha::ChaCha20Rng::seed_from_u64(seed).fill_bytes(&mut v);
    v
}

fn pack(records: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let opts = WriterOptions {
        created: legation_tests::CREATED,
        issuer: Some(legation_tests::issuer()),
        recipients: vec![legation_tests::identity().public()],
        passphrases: vec![],
        embed_spec: false,
        viewer: None,
    };
    let rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let mut w = ArchiveWriter::new(
        Cursor::new(Vec::with_capacity(
            records.values().map(Vec::len).sum::<usize>() * 11 / 10,
        )),
        opts,
        rng,
    )
    .unwrap();
    for (path, bytes) in records {
        let meta = RecordMeta {
            path: path.clone(),
            media_type: "application/octet-stream".into(),
            ..Default::default()
        };
        w.add_record(meta, RecordSource::Bytes(bytes)).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn key() -> Vec<Key> {
    vec![Key::Identity(legation_tests::identity())]
}

/// ring (native) against the portable aes-gcm crate (wasm32), per chunk.
fn aead(c: &mut Criterion) {
    let mut g = c.benchmark_group("aes-256-gcm seal 64 KiB");
    g.throughput(Throughput::Bytes(CHUNK_SIZE as u64));
    let mut buf = random(CHUNK_SIZE, 2);
    let ours = DataKey::from_bytes([7; 32]).stream_key(&[0; 16], StreamId::Record([1; 16]));
    g.bench_function("ring (native build)", |b| {
        b.iter(|| black_box(ours.seal_detached(3, false, &mut buf)))
    });
    {
        use aes_gcm::{AeadInPlace, KeyInit};
        let k = aes_gcm::Aes256Gcm::new(&[7u8; 32].into());
        g.bench_function("aes-gcm crate (wasm32 build)", |b| {
            b.iter(|| {
                black_box(
                    k.encrypt_in_place_detached(&[0u8; 12].into(), &[], &mut buf)
                        .unwrap(),
                )
            })
        });
    }
    g.finish();
}

fn large(c: &mut Criterion) {
    let mut records = BTreeMap::new();
    records.insert("scan.bin".to_owned(), random(256 << 20, 3));
    let archive = pack(&records);
    let mut g = c.benchmark_group("one 256 MiB record");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(256 << 20));
    g.bench_function("pack", |b| b.iter(|| black_box(pack(&records).len())));
    let a = Archive::open(MemSource::new(archive.clone(), "bench")).unwrap();
    g.bench_function("fixity", |b| {
        b.iter(|| assert!(a.verify_fixity(None, &mut |_, _| true).ok()))
    });
    let u = a.unlock(&key()).unwrap();
    g.bench_function("content", |b| {
        b.iter(|| assert!(u.verify_content(None, &mut |_, _| true).ok()))
    });
    g.finish();
}

fn many(c: &mut Criterion) {
    let mut records = BTreeMap::new();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(4);
    for i in 0..100_000u32 {
        let mut v = vec![0u8; 200 + (rng.next_u32() % 1800) as usize];
        rng.fill_bytes(&mut v);
        records.insert(format!("d{:03}/r{:05}.bin", i / 1000, i), v);
    }
    let bytes: std::sync::Arc<[u8]> = pack(&records).into();
    let mut g = c.benchmark_group("100,000 records of 200-2000 bytes");
    g.sample_size(10);
    g.bench_function("open", |b| {
        b.iter(|| black_box(Archive::open(MemSource::new(bytes.clone(), "b")).unwrap()))
    });
    let a = Archive::open(MemSource::new(bytes.clone(), "b")).unwrap();
    g.bench_function("unlock and list all", |b| {
        b.iter_batched(
            || a.clone(),
            |a| {
                let u = a.unlock(&key()).unwrap();
                let mut n = 0;
                u.for_each_page(0..u.index().pages.len(), &mut |_, p| {
                    n += p.unwrap().records.len();
                    true
                });
                assert_eq!(n, 100_000);
            },
            BatchSize::SmallInput,
        )
    });
    let u = a.unlock(&key()).unwrap();
    g.bench_function("find and read one record (cold page)", |b| {
        b.iter_batched(
            || a.unlock(&key()).unwrap(),
            |u| {
                black_box(
                    u.read_record(&u.find("d050/r50000.bin").unwrap(), u64::MAX)
                        .unwrap(),
                )
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("find and read one record (page cached)", |b| {
        b.iter(|| {
            black_box(
                u.read_record(&u.find("d050/r50000.bin").unwrap(), u64::MAX)
                    .unwrap(),
            )
        })
    });
    g.throughput(Throughput::Elements(100_000));
    g.bench_function("pack", |b| b.iter(|| black_box(pack(&records).len())));
    g.bench_function("content", |b| {
        b.iter(|| assert!(u.verify_content(None, &mut |_, _| true).ok()))
    });
    g.finish();
}

criterion_group!(benches, aead, large, many);
criterion_main!(benches);
