//! How much slower metered code runs: a tight loop and a call-heavy
//! recursion, metered and not, on wasmtime (and wasmi), and optionally a
//! real decoder on a real input.
//!
//! `cargo run --release -p legation-meter --example overhead -- [DECODER.wasm INPUT]`
//!
//! Each figure is the fastest of several runs on a fresh instance.

use std::time::{Duration, Instant};

use legation_meter::{meter, MeterConfig};

const LOOPS: &str = r#"
(module
  (memory (export "memory") 1)
  (func (export "legation_alloc") (param i32) (result i32) i32.const 0)
  (func (export "legation_decode") (param i32 i32) (result i64) i64.const 0)
  (func (export "spin") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    loop $again
      local.get $acc
      local.get $i
      local.get $i
      i32.mul
      i32.xor
      i32.const 1
      i32.rotl
      local.set $acc
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      local.get $n
      i32.lt_u
      br_if $again
    end
    local.get $acc)
  (func $fib (export "fib") (param $n i32) (result i32)
    local.get $n
    i32.const 2
    i32.lt_u
    if (result i32)
      local.get $n
    else
      local.get $n
      i32.const 1
      i32.sub
      call $fib
      local.get $n
      i32.const 2
      i32.sub
      call $fib
      i32.add
    end)
  (@custom "legation.decoder" "{\"abi\":1}")
)
"#;

const RUNS: usize = 5;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let plain = wat::parse_str(LOOPS)?;
    let metered = meter(&plain, &MeterConfig::default())?;

    println!(
        "{:<28} {:>12} {:>12} {:>7}",
        "", "unmetered", "metered", "ratio"
    );
    for (name, arg, label) in [
        ("spin", 200_000_000, "tight loop, 2e8 iterations"),
        ("fib", 32, "fib(32), 7e6 calls"),
    ] {
        let a = best(|| wasmtime_call(&plain, name, arg));
        let b = best(|| wasmtime_call(&metered, name, arg));
        report(&format!("wasmtime {label}"), a, b);
    }
    for (name, arg, label) in [
        ("spin", 20_000_000, "tight loop, 2e7 iterations"),
        ("fib", 27, "fib(27), 6e5 calls"),
    ] {
        let a = best(|| wasmi_call(&plain, name, arg));
        let b = best(|| wasmi_call(&metered, name, arg));
        report(&format!("wasmi {label}"), a, b);
    }

    let mut args = std::env::args().skip(1);
    if let (Some(decoder), Some(input)) = (args.next(), args.next()) {
        let plain = std::fs::read(&decoder)?;
        let metered = meter(&plain, &MeterConfig::default())?;
        let input = std::fs::read(&input)?;
        let out_plain = wasmtime_decode(&plain, &input).1;
        let out_metered = wasmtime_decode(&metered, &input).1;
        assert_eq!(
            out_plain, out_metered,
            "metering changed the decoder's output"
        );
        let a = best(|| wasmtime_decode(&plain, &input).0);
        let b = best(|| wasmtime_decode(&metered, &input).0);
        report(&format!("wasmtime decoder, {} B", input.len()), a, b);
    }
    Ok(())
}

fn best(mut run: impl FnMut() -> Duration) -> Duration {
    (0..RUNS).map(|_| run()).min().unwrap_or_default()
}

fn report(label: &str, plain: Duration, metered: Duration) {
    println!(
        "{label:<28} {:>10.1}ms {:>10.1}ms {:>6.2}x",
        plain.as_secs_f64() * 1e3,
        metered.as_secs_f64() * 1e3,
        metered.as_secs_f64() / plain.as_secs_f64()
    );
}

/// Time of one call on a fresh instance (compilation not counted).
fn wasmtime_call(wasm: &[u8], name: &str, arg: i32) -> Duration {
    let engine = wasmtime::Engine::default();
    let module = wasmtime::Module::new(&engine, wasm).unwrap();
    let mut store = wasmtime::Store::new(&engine, ());
    let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
    let func = instance
        .get_typed_func::<i32, i32>(&mut store, name)
        .unwrap();
    let start = Instant::now();
    std::hint::black_box(func.call(&mut store, arg).unwrap());
    start.elapsed()
}

fn wasmi_call(wasm: &[u8], name: &str, arg: i32) -> Duration {
    let engine = wasmi::Engine::default();
    let module = wasmi::Module::new(&engine, wasm).unwrap();
    let mut store = wasmi::Store::new(&engine, ());
    let linker = wasmi::Linker::<()>::new(&engine);
    let instance = linker.instantiate_and_start(&mut store, &module).unwrap();
    let func = instance.get_typed_func::<i32, i32>(&store, name).unwrap();
    let start = Instant::now();
    std::hint::black_box(func.call(&mut store, arg).unwrap());
    start.elapsed()
}

/// Time of `legation_alloc` plus `legation_decode` on a fresh instance,
/// and the response bytes.
fn wasmtime_decode(wasm: &[u8], input: &[u8]) -> (Duration, Vec<u8>) {
    let engine = wasmtime::Engine::default();
    let module = wasmtime::Module::new(&engine, wasm).unwrap();
    let mut store = wasmtime::Store::new(&engine, ());
    let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
    let alloc = instance
        .get_typed_func::<i32, i32>(&mut store, "legation_alloc")
        .unwrap();
    let decode = instance
        .get_typed_func::<(i32, i32), i64>(&mut store, "legation_decode")
        .unwrap();
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    let len = i32::try_from(input.len()).unwrap();
    let start = Instant::now();
    let ptr = alloc.call(&mut store, len).unwrap();
    memory
        .write(&mut store, ptr as u32 as usize, input)
        .unwrap();
    let packed = decode.call(&mut store, (ptr, len)).unwrap() as u64;
    let elapsed = start.elapsed();
    let (at, size) = ((packed >> 32) as usize, (packed & 0xffff_ffff) as usize);
    (elapsed, memory.data(&store)[at..at + size].to_vec())
}
