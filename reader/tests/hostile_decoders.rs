//! Hostile decoders: each fails its record alone, with an error naming the
//! decoder, the record and the limit, and the host goes on. Run on every
//! engine compiled in (wasmtime in this process, wasmtime in a worker
//! process, wasmi with the `wasmi` feature), and all must give the same
//! verdict. Then hostile *workers*: ones that die, hang, lie or leak.
//!
//! This test has its own `main` (`harness = false`): started with
//! `decode-worker`, the test binary is the worker process.

use std::sync::Arc;
use std::time::{Duration, Instant};

use legation_meter::MeterConfig;
use legation_reader::decode::{Call, DecodeError, Engine, Host, HostLimits};
use legation_reader::isolated::{serve, Isolated};
use legation_view::{Block, Document};

/// The argument that makes this binary a worker.
const WORKER: &str = "decode-worker";

/// Fuel small enough that exhausting it takes well under a second.
const FUEL: u64 = 50_000_000;

fn engines() -> Vec<Arc<dyn Engine>> {
    #[allow(unused_mut)] // wasmi is pushed with its feature
    let mut v: Vec<Arc<dyn Engine>> = vec![
        Arc::new(legation_reader::wasmtime_engine::Wasmtime::new()),
        Arc::new(Isolated::current_exe([WORKER]).unwrap()),
    ];
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

fn unbounded_recursion_hits_the_depth_limit() {
    each_engine(|r| assert!(matches!(r, Err(DecodeError::Trap { .. })), "{r:?}"))(&module(
        "(call $deep (i32.const 0)) (i64.const 0)",
        &[],
        "(func $deep (param i32) (call $deep (i32.add (local.get 0) (i32.const 1))))",
    ));
}

fn growing_memory_without_bound_stops_at_the_cap() {
    // Grows until memory.grow fails (at the metered cap), then traps.
    each_engine(|r| assert!(matches!(r, Err(DecodeError::Trap { .. })), "{r:?}"))(&module(
        "(loop $l (br_if $l (i32.ne (memory.grow (i32.const 256)) (i32.const -1)))) unreachable",
        &[],
        "",
    ));
}

fn a_huge_output_is_refused() {
    each_engine(|r| match r {
        Err(DecodeError::BadOutput { reason, .. }) => {
            assert!(reason.contains("over the"), "{reason}")
        }
        other => panic!("{other:?}"),
    })(&module(&ret(16, 0xFFFF_FFFF), &[], ""));
}

fn an_out_of_bounds_pointer_is_refused() {
    each_engine(|r| match r {
        Err(DecodeError::BadOutput { reason, .. }) => {
            assert!(reason.contains("outside memory"), "{reason}")
        }
        other => panic!("{other:?}"),
    })(&module(&ret(0x7FFF_0000, 100), &[], ""));
}

fn a_malformed_document_is_refused() {
    let mut junk = vec![0u8];
    junk.extend_from_slice(&[0xa3, 0x61, 0x76, 0x01, 0xff, 0xff]);
    each_engine(|r| assert!(matches!(r, Err(DecodeError::BadOutput { .. })), "{r:?}"))(&module(
        &ret(16, junk.len() as u64),
        &junk,
        "",
    ));
}

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

fn a_trap_fails_the_record_alone() {
    each_engine(|r| assert!(matches!(r, Err(DecodeError::Trap { .. })), "{r:?}"))(&module(
        "unreachable",
        &[],
        "",
    ));
}

fn a_refusal_carries_the_decoder_message() {
    let msg = b"\x01not a ledger file";
    each_engine(|r| match r {
        Err(DecodeError::Refused { message, .. }) => assert_eq!(message, "not a ledger file"),
        other => panic!("{other:?}"),
    })(&module(&ret(16, msg.len() as u64), msg, ""));
}

fn no_status_byte_is_refused() {
    each_engine(|r| assert!(matches!(r, Err(DecodeError::BadOutput { .. })), "{r:?}"))(&module(
        &ret(16, 0),
        &[],
        "",
    ));
}

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

fn a_good_decoder_gives_the_same_bytes_on_every_engine() {
    let good = module(&ret(16, good_output().len() as u64), &good_output(), "");
    let outs: Vec<_> = engines()
        .into_iter()
        .map(|e| run(&host(e), &good).unwrap())
        .collect();
    assert!(outs.windows(2).all(|w| w[0] == w[1]));
}

/// A host on workers started as `sh -c SCRIPT` (with `$0` this binary).
fn shell_host(script: &str, watchdog: Duration) -> Host {
    let me = std::env::current_exe().unwrap();
    let engine = Isolated::new("/bin/sh", ["-c".into(), script.into(), me.into_os_string()]);
    Host::new(
        Arc::new(engine),
        HostLimits {
            watchdog,
            ..HostLimits::default()
        },
    )
}

fn good() -> Vec<u8> {
    module(&ret(16, good_output().len() as u64), &good_output(), "")
}

fn a_worker_that_dies_fails_the_call_and_the_next_worker_serves() {
    let dir = std::env::temp_dir().join(format!("legation-worker-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let flag = dir.join("started-once");
    let _ = std::fs::remove_file(&flag);
    // The first worker exits at once; later ones are real.
    let script = format!(
        "if [ -e '{}' ]; then exec \"$0\" {WORKER}; else : > '{}'; exit 3; fi",
        flag.display(),
        flag.display()
    );
    let host = shell_host(&script, Duration::from_secs(30));
    match run(&host, &good()) {
        Err(DecodeError::Trap {
            trap,
            decoder,
            record,
        }) => {
            assert!(
                trap.contains("decoder process ended") && trap.contains('3'),
                "{trap}"
            );
            assert_eq!(
                (decoder.as_str(), record.as_str()),
                ("d/hostile.wasm", "records/x.bin")
            );
        }
        other => panic!("{other:?}"),
    }
    still_works(&host);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn a_worker_that_hangs_is_killed_by_the_backstop() {
    let host = shell_host("exec sleep 600", Duration::from_secs(1));
    let started = Instant::now();
    let r = run(&host, &good());
    assert!(matches!(r, Err(DecodeError::Timeout { .. })), "{r:?}");
    // The call's watchdog (1 s) plus the backstop's grace (5 s).
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

fn a_worker_that_answers_garbage_is_dropped() {
    for script in [
        "printf '\\377'; exec cat > /dev/null",
        // An answer longer than the output cap.
        "printf '\\000\\377\\377\\377\\177'; exec cat > /dev/null",
        "exec cat > /dev/null < /dev/null",
    ] {
        let r = run(&shell_host(script, Duration::from_secs(5)), &good());
        assert!(
            matches!(r, Err(DecodeError::Trap { .. })),
            "{script}: {r:?}"
        );
    }
}

fn workers_start_with_an_empty_environment() {
    // Edition 2021: setting a variable is safe; no other thread reads it.
    std::env::set_var("LEGATION_PASSPHRASE", "never in a worker");
    let host = shell_host(
        "if [ -n \"$LEGATION_PASSPHRASE$HOME\" ]; then exit 7; else exit 5; fi",
        Duration::from_secs(5),
    );
    std::env::remove_var("LEGATION_PASSPHRASE");
    match run(&host, &good()) {
        Err(DecodeError::Trap { trap, .. }) => assert!(trap.contains('5'), "{trap}"),
        other => panic!("{other:?}"),
    }
}

fn calls_from_many_threads_share_the_workers() {
    let host = Arc::new(Host::new(
        Arc::new(Isolated::current_exe([WORKER]).unwrap()),
        HostLimits::default(),
    ));
    let wasm = good();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..20 {
                    assert_eq!(run(&host, &wasm).unwrap(), good_output()[1..]);
                }
            });
        }
    });
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(WORKER) {
        let out = std::io::stdout();
        if let Err(e) = serve(std::io::stdin(), out.lock()) {
            eprintln!("decode worker: {e}");
            std::process::exit(1);
        }
        return;
    }
    let filter = args.iter().find(|a| !a.starts_with('-'));
    let tests: &[(&str, fn())] = &[
        (
            "an_infinite_loop_runs_out_of_fuel",
            an_infinite_loop_runs_out_of_fuel,
        ),
        (
            "unbounded_recursion_hits_the_depth_limit",
            unbounded_recursion_hits_the_depth_limit,
        ),
        (
            "growing_memory_without_bound_stops_at_the_cap",
            growing_memory_without_bound_stops_at_the_cap,
        ),
        ("a_huge_output_is_refused", a_huge_output_is_refused),
        (
            "an_out_of_bounds_pointer_is_refused",
            an_out_of_bounds_pointer_is_refused,
        ),
        (
            "a_malformed_document_is_refused",
            a_malformed_document_is_refused,
        ),
        (
            "a_document_whose_image_lies_about_its_size_is_refused",
            a_document_whose_image_lies_about_its_size_is_refused,
        ),
        (
            "a_trap_fails_the_record_alone",
            a_trap_fails_the_record_alone,
        ),
        (
            "a_refusal_carries_the_decoder_message",
            a_refusal_carries_the_decoder_message,
        ),
        ("no_status_byte_is_refused", no_status_byte_is_refused),
        (
            "modules_with_imports_start_functions_or_no_metering_never_run",
            modules_with_imports_start_functions_or_no_metering_never_run,
        ),
        (
            "a_good_decoder_gives_the_same_bytes_on_every_engine",
            a_good_decoder_gives_the_same_bytes_on_every_engine,
        ),
        (
            "a_worker_that_dies_fails_the_call_and_the_next_worker_serves",
            a_worker_that_dies_fails_the_call_and_the_next_worker_serves,
        ),
        (
            "a_worker_that_hangs_is_killed_by_the_backstop",
            a_worker_that_hangs_is_killed_by_the_backstop,
        ),
        (
            "a_worker_that_answers_garbage_is_dropped",
            a_worker_that_answers_garbage_is_dropped,
        ),
        (
            "workers_start_with_an_empty_environment",
            workers_start_with_an_empty_environment,
        ),
        (
            "calls_from_many_threads_share_the_workers",
            calls_from_many_threads_share_the_workers,
        ),
    ];
    let mut failed = Vec::new();
    let mut ran = 0;
    for (name, test) in tests {
        if filter.is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        ran += 1;
        match std::panic::catch_unwind(test) {
            Ok(()) => println!("test {name} ... ok"),
            Err(_) => {
                println!("test {name} ... FAILED");
                failed.push(*name);
            }
        }
    }
    println!(
        "\ntest result: {}. {} passed; {} failed",
        if failed.is_empty() { "ok" } else { "FAILED" },
        ran - failed.len(),
        failed.len()
    );
    if !failed.is_empty() {
        std::process::exit(101);
    }
}
