//! Hostile decoders: each fails its record alone, with an error naming the
//! decoder, the record and the limit, and the host goes on. Run on every
//! engine (wasmtime in this process, wasmtime in a worker process,
//! wasmi), and all must give the same verdict; the cases are
//! `legation_tests::hostile`, which the browser build runs too. Then
//! hostile *workers*: ones that die, hang, lie or leak.
//!
//! This test has its own `main` (`harness = false`): started with
//! `decode-worker`, the test binary is the worker process.

use std::sync::Arc;
use std::time::{Duration, Instant};

use legation_reader::decode::{DecodeError, Engine, Host, HostLimits};
use legation_reader::isolated::{serve, Isolated};
use legation_tests::hostile::{self, good, good_output, run};

/// The argument that makes this binary a worker.
const WORKER: &str = "decode-worker";

fn engines() -> Vec<Arc<dyn Engine>> {
    vec![
        Arc::new(legation_reader::wasmtime_engine::Wasmtime::new()),
        Arc::new(Isolated::current_exe([WORKER]).unwrap()),
        Arc::new(legation_reader::wasmi_engine::Wasmi::default()),
    ]
}

fn host(engine: Arc<dyn Engine>) -> Host {
    Host::new(
        engine,
        HostLimits {
            watchdog: Duration::from_secs(30),
            ..HostLimits::default()
        },
    )
}

/// After any failure, a good decoder still works on the same host.
fn still_works(host: &Host) {
    let out = run(host, &good()).expect("a good decoder after a hostile one");
    assert_eq!(out, good_output()[1..]);
}

/// Every case of the suite (`legation_tests::hostile`) on every engine:
/// the verdict it names, within its own limits (fuel, not the watchdog,
/// ends runaway decoders), and the host goes on.
fn every_hostile_decoder_fails_its_record_alone_on_every_engine() {
    let mut failures = Vec::new();
    for e in engines() {
        let h = host(e);
        for case in hostile::cases() {
            let started = Instant::now();
            if let Err(why) = case.check(&h) {
                failures.push(format!("{}: {why}", h.engine_name()));
            }
            if started.elapsed() > Duration::from_secs(20) {
                failures.push(format!(
                    "{}: {} took {:?}",
                    h.engine_name(),
                    case.name,
                    started.elapsed()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn a_good_decoder_gives_the_same_bytes_on_every_engine() {
    let outs: Vec<_> = engines()
        .into_iter()
        .map(|e| run(&host(e), &good()).unwrap())
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
                (hostile::LABEL, hostile::RECORD)
            );
        }
        other => panic!("{other:?}"),
    }
    still_works(&host);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn a_worker_that_hangs_is_killed_by_the_watchdog() {
    let host = shell_host("exec sleep 600", Duration::from_secs(1));
    let started = Instant::now();
    let r = run(&host, &good());
    assert!(matches!(r, Err(DecodeError::Timeout { .. })), "{r:?}");
    // The call's watchdog (1 s), and the load's grace before it (5 s).
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

/// A decoder whose fuel would last for days is stopped by the clock: in
/// this process by epoch interruption, in a worker by the host killing
/// it. Either way the record is not concluded, and the host goes on.
fn a_decoder_that_outlives_the_watchdog_is_stopped_by_the_clock() {
    let endless =
        hostile::module_with_fuel("(loop $l (br $l)) (i64.const 0)", &[], "", i64::MAX as u64);
    let engines: [Arc<dyn Engine>; 2] = [
        Arc::new(legation_reader::wasmtime_engine::Wasmtime::new()),
        Arc::new(Isolated::current_exe([WORKER]).unwrap()),
    ];
    for engine in engines {
        let host = Host::new(
            engine,
            HostLimits {
                watchdog: Duration::from_secs(1),
                ..HostLimits::default()
            },
        );
        // Compile first, so that the time below is the call's alone.
        host.load(&endless, hostile::DECODER).unwrap();
        let started = Instant::now();
        let r = run(&host, &endless);
        let took = started.elapsed();
        assert!(
            matches!(&r, Err(DecodeError::Timeout { decoder, record, seconds: 1 })
                if decoder == hostile::LABEL && record == hostile::RECORD),
            "{}: {r:?}",
            host.engine_name()
        );
        // Well before the 5 s of grace a module's compiling gets.
        assert!(
            took >= Duration::from_secs(1) && took < Duration::from_millis(4500),
            "{}: {took:?}",
            host.engine_name()
        );
        still_works(&host);
    }
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

/// A decoder for batches: traps on a record starting with `T`, runs out of
/// fuel on one starting with `F`, loops (fuel for days) on one starting
/// with `W`, and otherwise returns [`good_output`]. It counts its calls in
/// a global and traps on any call but an instance's first: a record that
/// saw another's instance would fail.
fn batch_decoder(fuel: u64) -> Vec<u8> {
    let body = format!(
        "(global.set $calls (i32.add (global.get $calls) (i32.const 1))) \
         (if (i32.ne (global.get $calls) (i32.const 1)) (then unreachable)) \
         (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 84)) (then unreachable)) \
         (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 70)) (then (loop $f (br $f)))) \
         (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 87)) (then (loop $w (br $w)))) \
         {}",
        hostile::ret(16, good_output().len() as u64)
    );
    hostile::module_with_fuel(
        &body,
        &good_output(),
        "(global $calls (mut i32) (i32.const 0))",
        fuel,
    )
}

/// Each record's outcome, hashes and errors compared as text.
fn outcomes(host: &Host, wasm: &[u8], records: &[(&str, &[u8])], batched: bool) -> Vec<String> {
    let d = host.load(wasm, hostile::DECODER).unwrap();
    let results = if batched {
        host.render_each(&d, records)
    } else {
        records
            .iter()
            .map(|(name, bytes)| host.render(&d, *name, bytes))
            .collect()
    };
    results
        .into_iter()
        .map(|r| match r {
            Ok(r) => format!("rendered {:02x?}", r.hash()),
            Err(e) => format!("not rendered: {e}"),
        })
        .collect()
}

/// A batch whose middle records trap or run out of fuel: those records
/// alone are not rendered, with the reason they get alone, and the others
/// are rendered with the hashes they get alone, on every engine.
fn a_batch_fails_its_trapping_records_alone() {
    let wasm = batch_decoder(hostile::FUEL);
    let records: Vec<(String, Vec<u8>)> = (0..40)
        .map(|i| {
            let first = match i {
                17 => b'T',
                23 => b'F',
                _ => b'a',
            };
            (format!("r/{i:02}.txt"), vec![first, b'0' + (i % 10) as u8])
        })
        .collect();
    let records: Vec<(&str, &[u8])> = records
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let alone = outcomes(&host(engines()[0].clone()), &wasm, &records, false);
    assert!(
        alone[17].contains("unreachable") || alone[17].contains("trap"),
        "{}",
        alone[17]
    );
    assert!(alone[23].contains("fuel"), "{}", alone[23]);
    assert_eq!(
        alone.iter().filter(|o| o.starts_with("rendered")).count(),
        38
    );
    for e in engines() {
        let h = host(e);
        // Trap messages are the engine's own words: each engine batched
        // is compared with itself alone, and the rendered records (their
        // hashes) across engines.
        let batched = outcomes(&h, &wasm, &records, true);
        let one_by_one = outcomes(&h, &wasm, &records, false);
        assert_eq!(batched, one_by_one, "{}", h.engine_name());
        for (i, (b, a)) in batched.iter().zip(&alone).enumerate() {
            if i == 17 || i == 23 {
                assert!(b.starts_with("not rendered"), "{}: {b}", h.engine_name());
            } else {
                assert_eq!(b, a, "{}", h.engine_name());
            }
        }
        assert!(batched[23].contains("fuel"), "{}", batched[23]);
        still_works(&h);
    }
}

/// A worker killed in the middle of a batch (its record outlived the
/// watchdog): the records it answered keep their answers, the one it was
/// running is stopped by the clock, and those after it are run by a new
/// worker.
fn a_worker_killed_mid_batch_fails_only_its_record() {
    let wasm = batch_decoder(i64::MAX as u64);
    let names: Vec<String> = (0..12).map(|i| format!("r/{i:02}.txt")).collect();
    let records: Vec<(&str, &[u8])> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), if i == 5 { &b"W"[..] } else { &b"ok"[..] }))
        .collect();
    let host = Host::new(
        Arc::new(Isolated::current_exe([WORKER]).unwrap()),
        HostLimits {
            watchdog: Duration::from_secs(1),
            ..HostLimits::default()
        },
    );
    let d = host.load(&wasm, hostile::DECODER).unwrap();
    let results = host.render_each(&d, &records);
    let expected = host.render(&d, "r/00.txt", b"ok").unwrap().hash();
    for (i, r) in results.iter().enumerate() {
        match (i, r) {
            (5, Err(DecodeError::Timeout { record, .. })) => assert_eq!(record, "r/05.txt"),
            (5, other) => panic!("the looping record: {other:?}"),
            (_, Ok(r)) => assert_eq!(r.hash(), expected, "record {i}"),
            (_, other) => panic!("record {i}: {other:?}"),
        }
    }
    still_works(&host);
}

/// A decoder that panics (traps at `unreachable`) and says why through
/// `legation_panic` (SPEC §12.3): every engine names the record's
/// failure with the message; a `legation_panic` that points outside
/// memory, or returns 0, leaves the trap's own words.
fn a_panic_message_reaches_the_host_on_every_engine() {
    let message = b"index out of bounds: the len is 3 but the index is 7 (at src/lib.rs:12)";
    let says = |at: u64| {
        hostile::module(
            "unreachable",
            message,
            &format!(
                r#"(func (export "legation_panic") (result i64) {})"#,
                hostile::ret(16, at)
            ),
        )
    };
    let panics = says(message.len() as u64);
    let outside = hostile::module(
        "unreachable",
        message,
        &format!(
            r#"(func (export "legation_panic") (result i64) {})"#,
            hostile::ret(1 << 20, 8)
        ),
    );
    // A length of 0: no panic was kept.
    let silent = says(0);
    for e in engines() {
        let h = host(e);
        let err = run(&h, &panics).unwrap_err();
        let DecodeError::Trap { trap, .. } = &err else {
            panic!("{}: {err}", h.engine_name());
        };
        assert_eq!(
            trap,
            &format!("panicked: {}", String::from_utf8_lossy(message)),
            "{}",
            h.engine_name()
        );
        for quiet in [&outside, &silent, &hostile::module("unreachable", b"", "")] {
            let err = run(&h, quiet).unwrap_err();
            assert!(
                matches!(&err, DecodeError::Trap { trap, .. } if !trap.contains("panicked:")),
                "{}: {err}",
                h.engine_name()
            );
        }
        still_works(&h);
    }
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
            "every_hostile_decoder_fails_its_record_alone_on_every_engine",
            every_hostile_decoder_fails_its_record_alone_on_every_engine,
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
            "a_worker_that_hangs_is_killed_by_the_watchdog",
            a_worker_that_hangs_is_killed_by_the_watchdog,
        ),
        (
            "a_decoder_that_outlives_the_watchdog_is_stopped_by_the_clock",
            a_decoder_that_outlives_the_watchdog_is_stopped_by_the_clock,
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
        (
            "a_batch_fails_its_trapping_records_alone",
            a_batch_fails_its_trapping_records_alone,
        ),
        (
            "a_worker_killed_mid_batch_fails_only_its_record",
            a_worker_killed_mid_batch_fails_only_its_record,
        ),
        (
            "a_panic_message_reaches_the_host_on_every_engine",
            a_panic_message_reaches_the_host_on_every_engine,
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
