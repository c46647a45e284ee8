//! Native against WebAssembly decoding, side by side: each built-in
//! decoder compiled for this machine and as WebAssembly on wasmtime
//! (unmetered, metered as archived, metered as hosts run it on the engine
//! of decoder workers and on the in-process engine, and through the
//! host's worker process), on every file of `decoders/testdata`.
//!
//! Criterion times each variant in its own stretch of seconds, and on a
//! shared virtual machine the speed of the machine drifts between
//! stretches by up to a third, which shows up as a ratio. Here the two
//! sides alternate in short bursts: a few native calls, then as many
//! WebAssembly calls, each burst summed up by its median call, so that
//! both sides are timed in the same millisecond-long stretch and each in
//! its own steady state (its code and data warm from the calls before,
//! as when a host decodes one record after another). Every WebAssembly
//! call gets a fresh instance holding the record, made untimed just
//! before it. A row reports the median over bursts of the ratio between
//! the two burst medians, with each side's median time.
//!
//! `cargo bench -p legation-benches --bench decoder_ratios [-- FILTER]`;
//! `LEGATION_RATIO_BURSTS` sets the bursts per file and variant (41).
//! The output is the Markdown table of BENCHMARKS.md.

#[path = "common/cases.rs"]
mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{cases, file, Native, WORKER};
use legation_meter::MeterConfig;
use legation_reader::decode::{Call, Host, Loaded};
use legation_reader::wasmtime_engine::{Wasmtime, WasmtimeDecoder};

const WATCHDOG: Duration = Duration::from_secs(60);

/// One way of running the WebAssembly decoder.
enum Run {
    /// `legation_decode` alone, in an instance prepared untimed.
    Call(WasmtimeDecoder),
    /// The whole host call through the worker process: record sent,
    /// instance, decoding, answer, output checked.
    Host(Arc<Loaded>),
}

const COLUMNS: [&str; 5] = [
    "wasm call, unmetered",
    "metered as archived",
    "metered as run (worker)",
    "metered as run, in process",
    "host call, worker process",
];

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let filter = match args.next() {
        Some(a) if a == WORKER => {
            legation_reader::isolated::serve_stdio().expect("serving as a decoder worker");
            return;
        }
        other => other,
    };
    let bursts: usize = std::env::var("LEGATION_RATIO_BURSTS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(41);
    // The engine of decoder workers: no epoch interruption (the host's
    // clock is their watchdog), and no thread of its own.
    let worker = Wasmtime::unwatched();

    println!("| file | native | {} |", COLUMNS.join(" | "));
    println!("|---|---|{}", "---|".repeat(COLUMNS.len()));
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); COLUMNS.len()];
    for (name, module, native) in cases() {
        if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        let input = file(name);
        let archived = legation_meter::meter(module, &MeterConfig::default()).unwrap();
        let (_, local) = legation_meter::runnable(&archived, usize::MAX).unwrap();
        let mut row = String::new();
        let mut native_times = Vec::new();
        for (column, ratios) in ratios.iter_mut().enumerate() {
            // Each column gets only the threads its arrangement has: a
            // decoder worker has none besides its main one, while the
            // in-process engine has its epoch clock and a host its
            // worker's watchdog. (A thread of the process that last ran
            // on another CPU makes every `mprotect` of instance memory
            // interrupt that CPU too, which a worker never pays.)
            let mut host = None;
            let mut engine = None;
            let run = match column {
                0 => Run::Call(worker.compile_decoder(module).unwrap()),
                1 => Run::Call(worker.compile_decoder(&archived).unwrap()),
                2 => Run::Call(worker.compile_decoder(&local).unwrap()),
                3 => Run::Call(
                    engine
                        .insert(Wasmtime::new())
                        .compile_decoder(&local)
                        .unwrap(),
                ),
                _ => {
                    let isolated =
                        host.insert(Host::isolated(&[WORKER]).expect("a decoder worker"));
                    Run::Host(isolated.load(&archived, name).unwrap())
                }
            };
            let mut pairs: Vec<(f64, f64)> = (0..bursts)
                .map(|_| bursts_of(native, &input, &run, host.as_ref(), name))
                .collect();
            native_times.extend(pairs.iter().map(|p| p.0));
            let wasm = median(pairs.iter().map(|p| p.1).collect());
            let ratio = median(pairs.iter_mut().map(|p| p.1 / p.0).collect());
            ratios.push(ratio);
            row += &format!(" {} ({ratio:.2}x) |", micros(wasm));
            let threads = host.is_some() || engine.is_some();
            drop((run, host, engine));
            if threads {
                // Their threads notice within a tick (at most 50 ms).
                std::thread::sleep(Duration::from_millis(120));
            }
        }
        println!("| {name} | {} |{row}", micros(median(native_times)));
    }
    let medians: Vec<String> = ratios
        .into_iter()
        .map(|r| format!(" **{:.2}x** |", median(r)))
        .collect();
    println!("| **median ratio** | |{}", medians.concat());
}

/// Calls in a burst; the median of a burst leaves out its first calls,
/// which warm up what the other side's burst pushed out of the caches.
const BURST: usize = 7;

/// A burst of native calls and then a burst of WebAssembly calls of the
/// same decoder on the same record: the median call of each, in seconds.
fn bursts_of(
    native: Native,
    input: &[u8],
    run: &Run,
    host: Option<&Host>,
    name: &str,
) -> (f64, f64) {
    let n = (0..BURST)
        .map(|_| time(|| black_box(native(input).unwrap().to_cbor())))
        .collect();
    let w = (0..BURST)
        .map(|_| match run {
            Run::Call(decoder) => {
                let mut ready = decoder.prepare(input, WATCHDOG).unwrap();
                time(|| black_box(ready.call(Call::Decode, 1 << 30).unwrap()))
            }
            Run::Host(loaded) => {
                let host = host.expect("a host for its loaded decoder");
                time(|| black_box(host.run(loaded, Call::Decode, name, input).unwrap()))
            }
        })
        .collect();
    (median(n), median(w))
}

/// Seconds `f` takes; what it returns is dropped after the timing.
fn time<T>(f: impl FnOnce() -> T) -> f64 {
    let start = Instant::now();
    let out = f();
    let elapsed = start.elapsed().as_secs_f64();
    drop(out);
    elapsed
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn micros(seconds: f64) -> String {
    format!("{:.1} µs", seconds * 1e6)
}
