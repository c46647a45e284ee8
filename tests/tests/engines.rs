//! The built-in decoders give byte-identical view documents natively (the
//! same Rust compiled for the host), on wasmtime and on wasmi, for real
//! files: the render hash recorded at packing holds on any engine.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use legation_meter::MeterConfig;
use legation_reader::decode::{Call, Engine, Host, HostLimits};
use legation_view::Document;

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
        ("astronaut.png", b::RAW, legation_decoder_raw::decode),
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
        let a = wasmtime
            .render(&wasmtime.load(&metered, file).unwrap(), file, &input)
            .unwrap();
        let b = wasmi
            .render(&wasmi.load(&metered, file).unwrap(), file, &input)
            .unwrap();
        assert_eq!(a, b, "{file}: wasmtime and wasmi differ");
        let expected = native(&input).unwrap().to_cbor();
        assert_eq!(a.documents[0], expected, "{file}: wasm and native differ");
        // Pages, where there are any, decode the same natively too.
        for (i, page) in a.documents.iter().enumerate().skip(1) {
            let native_page = legation_decoder_tiff::decode_page(&input, i as u32 - 1)
                .unwrap()
                .to_cbor();
            assert_eq!(page, &native_page, "{file}: page {i}");
        }
    }
}

#[test]
fn the_same_record_runs_out_of_fuel_on_both_engines() {
    // A real decoder on a real file with fuel just below and just above
    // what it needs: both engines agree at both points. The hosts run the
    // form with the fuel in locals (`legation_meter::runnable`); the
    // archived form, run as it is, agrees too.
    let input = testdata("chessboard_GRAY.png");
    let hosts = [
        Host::new(
            Arc::new(legation_reader::wasmtime_engine::Wasmtime::new()),
            HostLimits::default(),
        ),
        Host::new(
            Arc::new(legation_reader::wasmi_engine::Wasmi::default()),
            HostLimits::default(),
        ),
    ];
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
