//! The built-in decoders give byte-identical view documents natively (the
//! same Rust compiled for the host), on wasmtime and on wasmi, for real
//! files: the render hash recorded at packing holds on any engine.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use legation_document::Document;
use legation_meter::MeterConfig;
use legation_reader::decode::{Call, Engine, Host, HostLimits};

type Native = fn(&[u8]) -> Result<Document, legation_decoder_sdk::DecodeError>;

fn cases() -> Vec<(&'static str, &'static [u8], Native)> {
    use legation_builtin_decoders as b;
    vec![
        ("GPL-2.txt", b::TEXT, legation_decoder_text::decode),
        (
            "crc32fast-README.md",
            b::TEXT,
            legation_decoder_text::decode,
        ),
        ("la-riots.csv", b::CSV, legation_decoder_csv::decode),
        ("stocks.csv", b::CSV, legation_decoder_csv::decode),
        ("iso_15924.json", b::JSON, legation_decoder_json::decode),
        ("iso_3166-3.json", b::JSON, legation_decoder_json::decode),
        ("camera.png", b::PNG, legation_decoder_png::decode),
        ("astronaut.png", b::PNG, legation_decoder_png::decode),
        ("chessboard_RGB.png", b::PNG, legation_decoder_png::decode),
        ("logo.png", b::PNG, legation_decoder_png::decode),
        ("multipage_rgb.tif", b::TIFF, legation_decoder_tiff::decode),
        ("python.tiff", b::TIFF, legation_decoder_tiff::decode),
        // LZW with the predictor on two pages, PackBits, palette colour.
        (
            "im_multipage_lzw.tif",
            b::TIFF,
            legation_decoder_tiff::decode,
        ),
        (
            "im_packbits_gray.tif",
            b::TIFF,
            legation_decoder_tiff::decode,
        ),
        (
            "im_palette8_lzw.tif",
            b::TIFF,
            legation_decoder_tiff::decode,
        ),
        ("astronaut.png", b::RAW, legation_decoder_raw::decode),
    ]
}

/// A wasmtime host and a wasmi host, with the default limits.
pub fn both_hosts() -> [Host; 2] {
    [
        Host::new(
            Arc::new(legation_reader::wasmtime_engine::Wasmtime::new()),
            HostLimits::default(),
        ),
        Host::new(
            Arc::new(legation_reader::wasmi_engine::Wasmi::default()),
            HostLimits::default(),
        ),
    ]
}

fn testdata(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../decoders/testdata")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn native_wasmtime_and_wasmi_agree_byte_for_byte() {
    let wasmtime = Host::new(
        Arc::new(legation_reader::wasmtime_engine::Wasmtime::new()),
        HostLimits::default(),
    );
    let wasmi = Host::new(
        Arc::new(legation_reader::wasmi_engine::Wasmi::default()),
        HostLimits::default(),
    );
    for (file, module, native) in cases() {
        let input = testdata(file);
        let metered = legation_meter::meter(module, &MeterConfig::default()).unwrap();
        // Every document, the main one and each page, as each engine gives
        // it one at a time.
        let documents = |host: &Host| {
            let mut docs = Vec::new();
            let r = host
                .render_with(
                    &host.load(&metered, file).unwrap(),
                    file,
                    &input,
                    &mut |n, d| {
                        assert_eq!(n as usize, docs.len(), "{file}: documents in order");
                        docs.push(d.to_vec());
                    },
                )
                .unwrap();
            assert_eq!(r.main, docs[0]);
            assert_eq!(r.pages as usize, docs.len() - 1);
            assert_eq!(r.hash(), legation_reader::decode::render_hash(&docs));
            docs
        };
        let a = documents(&wasmtime);
        assert_eq!(a, documents(&wasmi), "{file}: wasmtime and wasmi differ");
        let expected = native(&input).unwrap().to_cbor();
        assert_eq!(a[0], expected, "{file}: wasm and native differ");
        // Pages, where there are any, decode the same natively too, and
        // one at a time as the viewers ask for them.
        let loaded = wasmi.load(&metered, file).unwrap();
        for (i, page) in a.iter().enumerate().skip(1) {
            let native_page = legation_decoder_tiff::decode_page(&input, i as u32 - 1)
                .unwrap()
                .to_cbor();
            assert_eq!(page, &native_page, "{file}: page {i}");
            let alone = wasmi.page(&loaded, file, &input, i as u32 - 1, a.len() as u32 - 1);
            assert_eq!(alone.as_ref(), Ok(page), "{file}: page {i} alone");
        }
        let beyond = wasmi.page(
            &loaded,
            file,
            &input,
            a.len() as u32 - 1,
            a.len() as u32 - 1,
        );
        assert!(beyond.is_err(), "{file}: a page past the last");
    }
}

#[test]
fn the_same_record_runs_out_of_fuel_on_both_engines() {
    // A real decoder on a real file with fuel just below and just above
    // what it needs: both engines agree at both points. The hosts run the
    // form with the fuel in locals (`legation_meter::runnable`); the
    // archived form, run as it is, agrees too.
    let input = testdata("chessboard_GRAY.png");
    let hosts = both_hosts();
    let verdict = |fuel: u64| -> Vec<bool> {
        let m = legation_meter::meter(
            legation_builtin_decoders::PNG,
            &MeterConfig {
                fuel,
                ..MeterConfig::default()
            },
        )
        .unwrap();
        let mut verdicts: Vec<bool> = hosts
            .iter()
            .map(|h| {
                h.run(
                    &h.load(&m, "png").unwrap(),
                    Call::Decode,
                    "chessboard_GRAY.png",
                    &input,
                )
                .is_ok()
            })
            .collect();
        let archived = legation_reader::wasmi_engine::Wasmi::default()
            .compile(&m)
            .unwrap()
            .call(Call::Decode, &input, 1 << 30, Duration::from_secs(60));
        verdicts.push(archived.is_ok());
        verdicts
    };
    // Find the smallest fuel that succeeds by bisection on wasmtime's answer.
    let (mut lo, mut hi) = (1u64, 1u64 << 32);
    while lo + 1 < hi {
        let mid = lo + (hi - lo) / 2;
        if verdict(mid)[0] {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    assert_eq!(verdict(hi), vec![true; 3], "enough fuel: all finish");
    assert_eq!(verdict(lo), vec![false; 3], "one unit short: all stop");
}

/// Floating-point operations that return a NaN return the canonical one,
/// with a positive sign, on both engines (SPEC §15.2), in vector lanes as
/// in scalars. x86 processors would otherwise pass an input NaN's sign and
/// payload through (`addps`) or return a negative default NaN (`sqrtps`).
/// The decoder writes its results over the 64 pixels of a document's
/// image, so the host's own output checks pass them through unchanged.
#[test]
fn nans_come_out_canonical_in_vectors_and_scalars_on_both_engines() {
    use legation_document::{Block, PixelFormat};
    use legation_tests::hostile;
    let document = |pixels: Vec<u8>| {
        let mut out = vec![0u8]; // status: a document follows
        out.extend(
            Document {
                title: "nan".into(),
                blocks: vec![Block::Image {
                    width: 64,
                    height: 1,
                    format: PixelFormat::Gray8,
                    pixels,
                }],
            }
            .to_cbor(),
        );
        out
    };
    let template = document(vec![0; 64]);
    let marker = document(vec![0xA5; 64]);
    let at = (0..template.len())
        .find(|&i| template[i] != marker[i])
        .unwrap() as u32
        + 16;
    let body = format!(
        r#"
    (v128.store (i32.const {a})
      (f32x4.add (v128.const i32x4 0x7FA00001 0xFFC00123 0x7F800001 0xFF812345)
                 (v128.const f32x4 1 1 1 1)))
    (v128.store (i32.const {b})
      (f64x2.mul (v128.const i64x2 0xFFF0000000000001 0x7FF4000000000000)
                 (v128.const f64x2 2 2)))
    (v128.store (i32.const {c})
      (f32x4.sqrt (v128.const f32x4 -1 -4 -inf -0.5)))
    (f32.store (i32.const {d}) (f32.div (f32.const 0) (f32.const 0)))
    (f64.store (i32.const {e}) (f64.sqrt (f64.const -1)))
    {ret}"#,
        a = at,
        b = at + 16,
        c = at + 32,
        d = at + 48,
        e = at + 52,
        ret = hostile::ret(16, template.len() as u64),
    );
    let wasm = hostile::module(&body, &template, "");
    assert!(legation_meter::uses_vectors(&wasm));

    let mut expected = Vec::new();
    for _ in 0..4 {
        expected.extend(0x7FC0_0000u32.to_le_bytes());
    }
    for _ in 0..2 {
        expected.extend(0x7FF8_0000_0000_0000u64.to_le_bytes());
    }
    for _ in 0..4 {
        expected.extend(0x7FC0_0000u32.to_le_bytes());
    }
    expected.extend(0x7FC0_0000u32.to_le_bytes());
    expected.extend(0x7FF8_0000_0000_0000u64.to_le_bytes());
    expected.extend([0; 4]);
    let engines: [Arc<dyn Engine>; 2] = [
        Arc::new(legation_reader::wasmtime_engine::Wasmtime::new()),
        Arc::new(legation_reader::wasmi_engine::Wasmi::default()),
    ];
    for engine in engines {
        let host = Host::new(engine, HostLimits::default());
        let out = hostile::run(&host, &wasm).unwrap();
        assert_eq!(
            out,
            document(expected.clone())[1..],
            "{}",
            host.engine_name()
        );
    }
}
