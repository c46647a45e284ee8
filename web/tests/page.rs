//! Reading an archive on the page's main thread, as the viewer's window
//! does for small reads: synchronous range requests on a `blob:` URL
//! (wasm-bindgen-test in headless Chromium).

#![cfg(target_arch = "wasm32")]

use legation_format::keys;
use legation_reader::source::ReadAt;
use legation_reader::{Archive, Key};
use legation_web::source::{Origin, WebSource};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const RELEASED: &[u8] = include_bytes!("../../tests/compat/1.0/samples-1.0.lgn");
const READER_KEY: &str = include_str!("../../tests/compat/1.0/reader.key");

fn blob_source(bytes: &[u8]) -> WebSource {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let file = web_sys::File::new_with_u8_array_sequence(&parts, "samples-1.0.lgn").unwrap();
    let url = web_sys::Url::create_object_url_with_blob(&file).unwrap();
    WebSource::register(
        1,
        Origin::File { file, url },
        bytes.len() as u64,
        "samples-1.0.lgn".into(),
    )
}

#[wasm_bindgen_test]
fn blob_ranges_read_every_byte_value_exactly() {
    // Bytes 0x80-0xFF come through the text of a synchronous request:
    // every value must survive.
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let src = blob_source(&bytes);
    let mut buf = vec![0u8; 300];
    for at in [0u64, 100, 65_600, 69_700] {
        src.read_exact_at(at, &mut buf).unwrap();
        assert_eq!(&buf[..], &bytes[at as usize..at as usize + 300]);
    }
    assert!(src.read_exact_at(69_800, &mut buf).is_err());
}

#[wasm_bindgen_test]
fn the_page_opens_unlocks_and_reads_a_record_by_ranges() {
    let archive = Archive::open(blob_source(RELEASED)).unwrap();
    let id = keys::parse_key_file(READER_KEY, keys::RECIPIENT_SECRET, "reader.key").unwrap();
    let unlocked = archive
        .unlock(&[Key::Identity(keys::Identity::from_bytes(*id))])
        .unwrap();
    let recs = unlocked.list(0, unlocked.record_count()).unwrap();
    assert!(recs.len() >= 5);
    for rec in &recs {
        let whole = unlocked.read_record(rec, u64::MAX).unwrap();
        assert_eq!(whole.len() as u64, rec.size, "{}", rec.path);
        assert_eq!(*blake3::hash(&whole).as_bytes(), rec.blake3, "{}", rec.path);
    }
}
