//! Hostile decoders: each fails its record alone, with an error naming the
//! decoder, the record and the limit, and the host goes on. Run on every
//! engine compiled in (wasmtime always, wasmi with the `wasmi` feature), and
//! both engines must give the same verdict.

use std::sync::Arc;
use std::time::{Duration, Instant};

use legation_meter::MeterConfig;
use legation_reader::decode::{Call, DecodeError, Engine, Host, HostLimits};
use legation_view::{Block, Document};

/// Fuel small enough that exhausting it takes well under a second.
const FUEL: u64 = 50_000_000;

fn engines() -> Vec<Arc<dyn Engine>> {
    let mut v: Vec<Arc<dyn Engine>> =
        vec![Arc::new(legation_reader::wasmtime_engine::Wasmtime::new())];
    #[cfg(feature = "wasmi")]
    v.push(Arc::new(legation_reader::wasmi_engine::Wasmi::default()));
    v
}

fn host(engine: Arc<dyn Engine>) -> Host {
    Host::new(
        engine,
        HostLimits {
            output_cap: 1 << 20,
            watchdog: Duration::from_secs(30),
            ..HostLimits::default()
        },
    )
}

fn wat_bytes(b: &[u8]) -> String {
    b.iter().map(|x| format!("\\{x:02x}")).collect()
}

/// A module with the ABI's exports whose `legation_decode` body is `body`;
/// `data` is placed at offset 16.
fn module(body: &str, data: &[u8], extra: &str) -> Vec<u8> {
    let text = format!(
        r#"(module
  (memory (export "memory") 2)
  (func (export "legation_alloc") (param i32) (result i32) (i32.const 4096))
  (func $decode (export "legation_decode") (param $p i32) (param $n i32) (result i64) {body})
  {extra}
  (data (i32.const 16) "{data}")
  (@custom "legation.decoder" "{{\"abi\":1,\"name\":\"hostile\",\"version\":\"0\",\"media_types\":[\"*/*\"],\"pages\":false}}")
)"#,
        data = wat_bytes(data)
    );
    let wasm = wat::parse_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    legation_meter::meter(
        &wasm,
        &MeterConfig {
            fuel: FUEL,
            ..MeterConfig::default()
        },
    )
    .unwrap()
}

/// `(ptr << 32) | len` as a WAT constant.
fn ret(ptr: u64, len: u64) -> String {
    format!("(i64.const {})", (ptr << 32) | len)
}

fn good_output() -> Vec<u8> {
    let mut v = vec![0u8];
    v.extend(
        Document {
            title: "fine".into(),
            blocks: vec![Block::Code { text: "ok".into() }],
        }
        .to_cbor(),
    );
    v
}

fn run(host: &Host, wasm: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let d = host.load(wasm, "d/hostile.wasm")?;
    host.run(&d, Call::Decode, "records/x.bin", b"input")
}

/// After any failure, a good decoder still works on the same host.
fn still_works(host: &Host) {
    let good = module(&ret(16, good_output().len() as u64), &good_output(), "");
    let out = run(host, &good).expect("a good decoder after a hostile one");
    assert_eq!(out, good_output()[1..]);
}

fn each_engine(check: impl Fn(Result<Vec<u8>, DecodeError>)) -> impl Fn(&[u8]) {
    move |wasm| {
        for e in engines() {
            let h = host(e);
            let started = Instant::now();
            check(run(&h, wasm));
            // Fuel, not the watchdog, must end runaway decoders.
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{} took {:?}",
                h.engine_name(),
                started.elapsed()
            );
            still_works(&h);
        }
    }
}

#[test]
fn an_infinite_loop_runs_out_of_fuel() {
    each_engine(|r| match r {
        Err(e @ DecodeError::Trap { .. }) => {
            let m = e.to_string();
            assert!(
                m.contains("d/hostile.wasm") && m.contains("records/x.bin"),
                "{m}"
            );
        }
        other => panic!("{other:?}"),
    })(&module("(loop $l (br $l)) (i64.const 0)", &[], ""));
}

#[test]
fn unbounded_recursion_hits_the_depth_limit() {
    each_engine(|r| assert!(matches!(r, Err(DecodeError::Trap { .. })), "{r:?}"))(&module(
        "(call $deep (i32.const 0)) (i64.const 0)",
        &[],
        "(func $deep (param i32) (call $deep (i32.add (local.get 0) (i32.const 1))))",
    ));
}

#[test]
fn growing_memory_without_bound_stops_at_the_cap() {
    // Grows until memory.grow fails (at the metered cap), then traps.
    each_engine(|r| assert!(matches!(r, Err(DecodeError::Trap { .. })), "{r:?}"))(&module(
        "(loop $l (br_if $l (i32.ne (memory.grow (i32.const 256)) (i32.const -1)))) unreachable",
        &[],
        "",
    ));
}

#[test]
fn a_huge_output_is_refused() {
    each_engine(|r| match r {
        Err(DecodeError::BadOutput { reason, .. }) => {
            assert!(reason.contains("over the"), "{reason}")
        }
        other => panic!("{other:?}"),
    })(&module(&ret(16, 0xFFFF_FFFF), &[], ""));
}

#[test]
fn an_out_of_bounds_pointer_is_refused() {
    each_engine(|r| match r {
        Err(DecodeError::BadOutput { reason, .. }) => {
            assert!(reason.contains("outside memory"), "{reason}")
        }
        other => panic!("{other:?}"),
    })(&module(&ret(0x7FFF_0000, 100), &[], ""));
}

#[test]
fn a_malformed_document_is_refused() {
    let mut junk = vec![0u8];
    junk.extend_from_slice(&[0xa3, 0x61, 0x76, 0x01, 0xff, 0xff]);
    each_engine(|r| assert!(matches!(r, Err(DecodeError::BadOutput { .. })), "{r:?}"))(&module(
        &ret(16, junk.len() as u64),
        &junk,
        "",
    ));
}

#[test]
fn a_document_whose_image_lies_about_its_size_is_refused() {
    let mut bad = vec![0u8];
    bad.extend(
        Document {
            title: "t".into(),
            blocks: vec![Block::Image {
                width: 1000,
                height: 1000,
                format: legation_view::PixelFormat::Rgb8,
                pixels: vec![0; 12],
            }],
        }
        .to_cbor(),
    );
    each_engine(|r| assert!(matches!(r, Err(DecodeError::BadOutput { .. })), "{r:?}"))(&module(
        &ret(16, bad.len() as u64),
        &bad,
        "",
    ));
}

#[test]
fn a_trap_fails_the_record_alone() {
    each_engine(|r| assert!(matches!(r, Err(DecodeError::Trap { .. })), "{r:?}"))(&module(
        "unreachable",
        &[],
        "",
    ));
}

#[test]
fn a_refusal_carries_the_decoder_message() {
    let msg = b"\x01not a ledger file";
    each_engine(|r| match r {
        Err(DecodeError::Refused { message, .. }) => assert_eq!(message, "not a ledger file"),
        other => panic!("{other:?}"),
    })(&module(&ret(16, msg.len() as u64), msg, ""));
}

#[test]
fn no_status_byte_is_refused() {
    each_engine(|r| assert!(matches!(r, Err(DecodeError::BadOutput { .. })), "{r:?}"))(&module(
        &ret(16, 0),
        &[],
        "",
    ));
}

#[test]
fn modules_with_imports_start_functions_or_no_metering_never_run() {
    let host = host(engines().remove(0));
    let importing = wat::parse_str(
        r#"(module (import "env" "read_file" (func))
  (memory (export "memory") 1)
  (func (export "legation_alloc") (param i32) (result i32) (i32.const 0))
  (func (export "legation_decode") (param i32 i32) (result i64) (call 0) (i64.const 0)))"#,
    )
    .unwrap();
    let e = host
        .load(&importing, "d/imports.wasm")
        .err()
        .expect("refused");
    assert!(
        e.to_string().contains("d/imports.wasm") && e.to_string().contains("import"),
        "{e}"
    );
    let unmetered = wat::parse_str(
        r#"(module (memory (export "memory") 1)
  (func (export "legation_alloc") (param i32) (result i32) (i32.const 0))
  (func (export "legation_decode") (param i32 i32) (result i64) (i64.const 0))
  (@custom "legation.decoder" "{\"abi\":1,\"name\":\"x\",\"version\":\"0\",\"media_types\":[],\"pages\":false}"))"#,
    )
    .unwrap();
    let e = host
        .load(&unmetered, "d/plain.wasm")
        .err()
        .expect("refused");
    assert!(e.to_string().contains("not metered"), "{e}");
    let starting = wat::parse_str(
        r#"(module (memory (export "memory") 1) (start $s) (func $s)
  (func (export "legation_alloc") (param i32) (result i32) (i32.const 0))
  (func (export "legation_decode") (param i32 i32) (result i64) (i64.const 0)))"#,
    )
    .unwrap();
    assert!(host.load(&starting, "d/start.wasm").is_err());
    assert!(host
        .load(b"\0asm\x01\0\0\0garbage", "d/garbage.wasm")
        .is_err());
    still_works(&host);
}

#[test]
fn a_good_decoder_gives_the_same_bytes_on_every_engine() {
    let good = module(&ret(16, good_output().len() as u64), &good_output(), "");
    let outs: Vec<_> = engines()
        .into_iter()
        .map(|e| run(&host(e), &good).unwrap())
        .collect();
    assert!(outs.windows(2).all(|w| w[0] == w[1]));
}
