#![allow(missing_docs)] // criterion_group! generates undocumented functions
//! Decoding the same real files with each built-in decoder compiled
//! natively and run as WebAssembly on wasmtime (unmetered, metered as
//! archived, metered as hosts run it, with and without epoch interruption,
//! and through the host's worker process), and the fixed cost of one call
//! (instance, allocation, call, output check).

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, BatchSize, Criterion, Throughput};
use legation_meter::MeterConfig;
use legation_reader::decode::{Call, Host};
use legation_reader::wasmtime_engine::Wasmtime;

const WATCHDOG: std::time::Duration = std::time::Duration::from_secs(60);

type Native = fn(&[u8]) -> Result<legation_view::Document, legation_decoder_sdk::DecodeError>;

fn file(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../decoders/testdata")
            .join(name),
    )
    .unwrap()
}

/// Every file of `decoders/testdata` that a built-in decoder reads, with
/// that decoder.
fn cases() -> Vec<(&'static str, &'static [u8], Native)> {
    use legation_builtin_decoders as b;
    let (text, csv, json, png, tiff): (Native, Native, Native, Native, Native) = (
        legation_decoder_text::decode,
        legation_decoder_csv::decode,
        legation_decoder_json::decode,
        legation_decoder_png::decode,
        legation_decoder_tiff::decode,
    );
    vec![
        ("GPL-2.txt", b::TEXT, text),
        ("BSD.txt", b::TEXT, text),
        ("crc32fast-README.md", b::TEXT, text),
        ("stocks.csv", b::CSV, csv),
        ("iowa-electricity.csv", b::CSV, csv),
        ("la-riots.csv", b::CSV, csv),
        ("iso_15924.json", b::JSON, json),
        ("iso_3166-3.json", b::JSON, json),
        ("iso_639-5.json", b::JSON, json),
        ("camera.png", b::PNG, png),
        ("astronaut.png", b::PNG, png),
        ("logo.png", b::PNG, png),
        ("microaneurysms.png", b::PNG, png),
        ("chessboard_GRAY.png", b::PNG, png),
        ("chessboard_RGB.png", b::PNG, png),
        ("python.tiff", b::TIFF, tiff),
        ("multipage_rgb.tif", b::TIFF, tiff),
    ]
}

/// For each file: the decoder compiled natively (decoding and encoding
/// the document); the decoding call alone in WebAssembly, in a fresh
/// instance that already holds the record (unmetered, metered as
/// archived, and metered in the local form hosts run, SPEC §13.6, on the
/// engine of decoder workers; the last also on the in-process engine,
/// with epoch interruption); and the whole call through the host's
/// worker process (record sent, instance, decoding, output checked).
fn decoders(c: &mut Criterion) {
    let isolated = Host::isolated(&[WORKER]).unwrap();
    // The engine of decoder workers (no epoch interruption: the host's
    // clock is their watchdog), and the in-process one (with it).
    let (worker, in_process) = (Wasmtime::unwatched(), Wasmtime::new());
    for (name, module, native) in cases() {
        let input = file(name);
        let archived = legation_meter::meter(module, &MeterConfig::default()).unwrap();
        let loaded = isolated.load(&archived, name).unwrap();
        let (_, local) = legation_meter::runnable(&archived, usize::MAX).unwrap();
        let mut g = c.benchmark_group(format!("decode {name}"));
        g.throughput(Throughput::Bytes(input.len() as u64));
        g.bench_function("native", |b| {
            b.iter(|| black_box(native(&input).unwrap().to_cbor()))
        });
        for (label, engine, wasm) in [
            ("wasm call, unmetered", &worker, module),
            ("wasm call, metered as archived", &worker, &archived[..]),
            ("wasm call, metered as run", &worker, &local[..]),
            (
                "wasm call, metered as run, in process",
                &in_process,
                &local[..],
            ),
        ] {
            let decoder = engine.compile_decoder(wasm).unwrap();
            // The instance is set up before and dropped after the timed
            // call (criterion drops routine outputs outside the timing).
            g.bench_function(label, |b| {
                b.iter_batched(
                    || decoder.prepare(&input, WATCHDOG).unwrap(),
                    |mut ready| {
                        let out = ready.call(Call::Decode, 1 << 30).unwrap();
                        (ready, out)
                    },
                    BatchSize::PerIteration,
                )
            });
        }
        g.bench_function("host call, worker process", |b| {
            b.iter(|| black_box(isolated.run(&loaded, Call::Decode, name, &input).unwrap()))
        });
        g.finish();
    }
}

fn overhead(c: &mut Criterion) {
    let host = Host::native();
    let tiny = legation_tests::tiny_decoder();
    let loaded = host.load(&tiny, "tiny").unwrap();
    c.bench_function("per-call overhead (tiny decoder, compiled once)", |b| {
        b.iter(|| black_box(host.run(&loaded, Call::Decode, "r", b"x").unwrap()))
    });
    // The arrangement the CLI uses: decoders in a worker process (this
    // benchmark binary, started with `decode-worker`).
    let isolated = Host::isolated(&[WORKER]).unwrap();
    let loaded = isolated.load(&tiny, "tiny").unwrap();
    c.bench_function("per-call overhead (tiny decoder, worker process)", |b| {
        b.iter(|| black_box(isolated.run(&loaded, Call::Decode, "r", b"x").unwrap()))
    });
    let input = file("GPL-2.txt");
    let text =
        legation_meter::meter(legation_builtin_decoders::TEXT, &MeterConfig::default()).unwrap();
    let loaded = isolated.load(&text, "text").unwrap();
    c.bench_function(
        "decode GPL-2.txt (wasmtime, metered, worker process)",
        |b| b.iter(|| black_box(isolated.run(&loaded, Call::Decode, "r", &input).unwrap())),
    );
}

/// The argument that makes this binary a decoder worker.
const WORKER: &str = "decode-worker";

criterion_group!(benches, decoders, overhead);

fn main() {
    if std::env::args().nth(1).as_deref() == Some(WORKER) {
        legation_reader::isolated::serve_stdio().unwrap();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
