//! The reader and the browser's decoder host where the viewer runs them:
//! in a dedicated Web Worker of headless Chromium (wasm-bindgen-test).
//! Archives are read through `FileReaderSync` from a `File`, as the
//! viewer's workers read a chosen file.

#![cfg(target_arch = "wasm32")]

use std::time::Duration;

use legation_format::keys;
use legation_reader::decode::{Host, HostLimits};
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

/// Every hostile decoder of the suite (`legation_tests::hostile`, the
/// cases the native engines run) on wasmi in this Web Worker: the verdict
/// it names, ended by the module's own limits rather than a watchdog, and
/// a good decoder still works afterwards.
#[wasm_bindgen_test]
fn every_hostile_decoder_of_the_suite_fails_cleanly_in_the_browser() {
    let host = Host::new(
        std::sync::Arc::new(legation_reader::wasmi_engine::Wasmi::default()),
        HostLimits {
            watchdog: Duration::from_secs(30),
            ..HostLimits::default()
        },
    );
    let mut failures = Vec::new();
    for case in legation_tests::hostile::cases() {
        let started = js_sys::Date::now();
        if let Err(why) = case.check(&host) {
            failures.push(why);
        }
        if js_sys::Date::now() - started > 20_000.0 {
            failures.push(format!("{} ran too long", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
