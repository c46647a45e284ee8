//! The reader and the browser's decoder host where the viewer runs them:
//! in a dedicated Web Worker of headless Chromium (wasm-bindgen-test).
//! Archives are read through `FileReaderSync` from a `File`, as the
//! viewer's workers read a chosen file.

#![cfg(target_arch = "wasm32")]

use std::time::Duration;

use legation_format::keys;
use legation_reader::decode::{Call, DecodeError, Host, HostLimits};
use legation_reader::{Archive, Key};
use legation_web::source::{Origin, WebSource};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

const RELEASED: &[u8] = include_bytes!("../../tests/compat/1.0/samples-1.0.lgn");
const READER_KEY: &str = include_str!("../../tests/compat/1.0/reader.key");
const ISSUER_PUB: &str = include_str!("../../tests/compat/1.0/issuer.pub");

/// `bytes` as a `File`, registered as source `key`.
fn file_source(key: u32, bytes: &[u8], name: &str) -> WebSource {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let file = web_sys::File::new_with_u8_array_sequence(&parts, name).unwrap();
    WebSource::register(
        key,
        Origin::File {
            file,
            url: String::new(),
        },
        bytes.len() as u64,
        name.into(),
    )
}

#[wasm_bindgen_test]
fn every_test_vector_gives_its_outcome_in_the_browser() {
    let host = legation_web::browser_host();
    let mut failures = Vec::new();
    let vectors = legation_tests::vectors::all();
    assert!(vectors.len() >= 50);
    for v in &vectors {
        if let Err(e) = v.check_with(&host) {
            failures.push(format!("{}: {e}", v.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[wasm_bindgen_test]
fn a_released_archive_verifies_and_renders_as_on_the_desktop() {
    let archive = Archive::open(file_source(1, RELEASED, "samples-1.0.lgn")).unwrap();
    let issuer = keys::parse_key_file(ISSUER_PUB, keys::ISSUER_PUBLIC, "issuer.pub").unwrap();
    let fixity = archive.verify_fixity(Some(&issuer), &mut |_, _| true);
    assert!(fixity.ok(), "{:?}", fixity.problems);
    let id = keys::parse_key_file(READER_KEY, keys::RECIPIENT_SECRET, "reader.key").unwrap();
    let unlocked = archive
        .unlock(&[Key::Identity(keys::Identity::from_bytes(*id))])
        .unwrap();
    // The render level decodes every record here, with wasmi, and compares
    // each view's hash with the one wasmtime recorded at packing: equal
    // hashes are byte-identical documents.
    let host = legation_web::browser_host();
    let report = unlocked.verify_render(&host, Some(&issuer), &mut |_, _| true);
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(report.records_rendered, unlocked.record_count());
    assert!(report.records_rendered >= 5);
}

#[wasm_bindgen_test]
fn a_file_source_reads_exact_ranges_and_refuses_reads_past_the_end() {
    use legation_reader::source::ReadAt;
    let src = file_source(2, RELEASED, "samples-1.0.lgn");
    let mut buf = vec![0u8; 1000];
    for at in [0u64, 1, 65_535, RELEASED.len() as u64 - 1000] {
        src.read_exact_at(at, &mut buf).unwrap();
        assert_eq!(&buf[..], &RELEASED[at as usize..at as usize + 1000]);
    }
    let err = src
        .read_exact_at(RELEASED.len() as u64 - 10, &mut buf)
        .unwrap_err();
    assert!(err.to_string().contains("samples-1.0.lgn"), "{err}");
}

/// A metered module whose `legation_decode` body is `body`.
fn hostile(body: &str, extra: &str) -> Vec<u8> {
    let text = format!(
        r#"(module
  (memory (export "memory") 2)
  (func (export "legation_alloc") (param i32) (result i32) (i32.const 4096))
  (func $decode (export "legation_decode") (param $p i32) (param $n i32) (result i64) {body})
  {extra}
  (@custom "legation.decoder" "{{\"abi\":1,\"name\":\"hostile\",\"version\":\"0\",\"media_types\":[\"*/*\"],\"pages\":false}}")
)"#
    );
    let wasm = wat::parse_str(&text).unwrap();
    legation_meter::meter(
        &wasm,
        &legation_meter::MeterConfig {
            fuel: 50_000_000,
            ..Default::default()
        },
    )
    .unwrap()
}

fn run(wasm: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let host = Host::new(
        std::sync::Arc::new(legation_reader::wasmi_engine::Wasmi::default()),
        HostLimits {
            output_cap: 1 << 20,
            watchdog: Duration::from_secs(30),
            ..HostLimits::default()
        },
    );
    let d = host.load(wasm, "hostile")?;
    host.run(&d, Call::Decode, "record", b"input")
}

#[wasm_bindgen_test]
fn hostile_decoders_stop_at_their_limits_in_the_browser() {
    let traps = [
        ("an infinite loop (fuel)", hostile("(loop $l (br $l)) (i64.const 0)", "")),
        (
            "unbounded recursion (call depth)",
            hostile(
                "(call $deep (i32.const 0)) (i64.const 0)",
                "(func $deep (param i32) (call $deep (i32.add (local.get 0) (i32.const 1))))",
            ),
        ),
        (
            "memory growth (the metered cap)",
            hostile(
                "(loop $l (br_if $l (i32.ne (memory.grow (i32.const 256)) (i32.const -1)))) unreachable",
                "",
            ),
        ),
    ];
    for (what, wasm) in traps {
        let started = js_sys::Date::now();
        match run(&wasm) {
            Err(DecodeError::Trap { .. }) => {}
            other => panic!("{what}: {other:?}"),
        }
        // The module's own limits end it, not a watchdog.
        assert!(
            js_sys::Date::now() - started < 20_000.0,
            "{what} ran too long"
        );
    }
    match run(&hostile("(i64.const 0x7fff000000000064)", "")) {
        Err(DecodeError::BadOutput { reason, .. }) => {
            assert!(reason.contains("outside memory"), "{reason}")
        }
        other => panic!("a pointer outside memory: {other:?}"),
    }
}
