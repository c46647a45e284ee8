#![allow(missing_docs)] // criterion_group! generates undocumented functions
//! The fixed cost of one decoder call once its module is compiled
//! (instance, allocation, call, output check), in process and through the
//! host's worker process. Native against WebAssembly decoding of real
//! files is `decoder_ratios`.

#[path = "common/cases.rs"]
#[allow(dead_code)] // this benchmark uses only `file` and `WORKER`
mod common;

use std::hint::black_box;

use common::{file, WORKER};
use criterion::{criterion_group, Criterion};
use legation_meter::MeterConfig;
use legation_reader::decode::{Call, Host};

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

criterion_group!(benches, overhead);

fn main() {
    if std::env::args().nth(1).as_deref() == Some(WORKER) {
        legation_reader::isolated::serve_stdio().unwrap();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
