//! The files the decoder benchmarks decode, each with its built-in
//! decoder compiled natively and as WebAssembly.

use std::path::PathBuf;

/// A built-in decoder compiled for this machine.
pub type Native =
    fn(&[u8]) -> Result<legation_document::Document, legation_decoder_sdk::DecodeError>;

/// The bytes of `decoders/testdata/NAME`.
pub fn file(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../decoders/testdata")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every file of `decoders/testdata` that a built-in decoder reads, with
/// that decoder as WebAssembly (unmetered) and compiled natively.
pub fn cases() -> Vec<(&'static str, &'static [u8], Native)> {
    use legation_builtin_decoders as b;
    let (text, csv, json, png, tiff): (Native, Native, Native, Native, Native) = (
        legation_decoder_text::decode,
        legation_decoder_csv::decode,
        legation_decoder_json::decode,
        legation_decoder_png::decode,
        legation_decoder_tiff::decode,
    );
    vec![
        ("GPL-2.txt", b::TEXT, text),
        ("BSD.txt", b::TEXT, text),
        ("crc32fast-README.md", b::TEXT, text),
        ("stocks.csv", b::CSV, csv),
        ("iowa-electricity.csv", b::CSV, csv),
        ("la-riots.csv", b::CSV, csv),
        ("iso_15924.json", b::JSON, json),
        ("iso_3166-3.json", b::JSON, json),
        ("iso_639-5.json", b::JSON, json),
        ("camera.png", b::PNG, png),
        ("astronaut.png", b::PNG, png),
        ("logo.png", b::PNG, png),
        ("microaneurysms.png", b::PNG, png),
        ("chessboard_GRAY.png", b::PNG, png),
        ("chessboard_RGB.png", b::PNG, png),
        ("python.tiff", b::TIFF, tiff),
        ("multipage_rgb.tif", b::TIFF, tiff),
    ]
}

/// The argument that makes a benchmark binary a decoder worker.
pub const WORKER: &str = "decode-worker";
