#![allow(missing_docs)] // criterion_group! generates undocumented functions
//! Decoding the same real files with each built-in decoder compiled
//! natively and run as metered WebAssembly on wasmtime, and the fixed cost
//! of one call (instance, allocation, call, output check).

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, Criterion, Throughput};
use legation_meter::MeterConfig;
use legation_reader::decode::{Call, Engine, Host};
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

fn decoders(c: &mut Criterion) {
    use legation_builtin_decoders as b;
    let cases: [(&str, &[u8], Native); 6] = [
        ("GPL-2.txt", b::TEXT, legation_decoder_text::decode),
        ("stocks.csv", b::CSV, legation_decoder_csv::decode),
        ("iso_15924.json", b::JSON, legation_decoder_json::decode),
        ("camera.png", b::PNG, legation_decoder_png::decode),
        ("astronaut.png", b::PNG, legation_decoder_png::decode),
        ("python.tiff", b::TIFF, legation_decoder_tiff::decode),
    ];
    let host = Host::native();
    for (name, module, native) in cases {
        let input = file(name);
        let metered = legation_meter::meter(module, &MeterConfig::default()).unwrap();
        let loaded = host.load(&metered, name).unwrap();
        let mut g = c.benchmark_group(format!("decode {name}"));
        g.throughput(Throughput::Bytes(input.len() as u64));
        g.bench_function("native", |b| {
            b.iter(|| black_box(native(&input).unwrap().to_cbor()))
        });
        // The same module unmetered, called on the engine directly: what
        // the metering costs, apart from what WebAssembly costs.
        let plain = Wasmtime::new().compile(module).unwrap();
        g.bench_function("wasmtime, unmetered", |b| {
            b.iter(|| black_box(plain.call(Call::Decode, &input, 1 << 30, WATCHDOG).unwrap()))
        });
        g.bench_function("wasmtime, metered", |b| {
            b.iter(|| black_box(host.run(&loaded, Call::Decode, name, &input).unwrap()))
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
        let out = std::io::stdout();
        legation_reader::isolated::serve(std::io::stdin(), out.lock()).unwrap();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
