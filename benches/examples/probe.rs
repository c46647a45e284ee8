//! Scratch: where the time of one decode goes.
use std::hint::black_box;
use std::time::{Duration, Instant};
use legation_meter::MeterConfig;
use legation_reader::decode::{Call, Engine, Host};
use legation_reader::wasmtime_engine::Wasmtime;

fn med(mut f: impl FnMut()) -> f64 {
    for _ in 0..20 { f(); }
    let mut v = Vec::new();
    let start = Instant::now();
    while v.len() < 30 || (start.elapsed() < Duration::from_millis(700) && v.len() < 5000) {
        let t = Instant::now();
        f();
        v.push(t.elapsed().as_secs_f64() * 1e6);
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn med_split<P>(mut setup: impl FnMut() -> P, mut f: impl FnMut(&mut P)) -> f64 {
    let mut v = Vec::new();
    let start = Instant::now();
    let mut i = 0;
    while v.len() < 30 || (start.elapsed() < Duration::from_millis(700) && v.len() < 5000) {
        let mut p = setup();
        let t = Instant::now();
        f(&mut p);
        let e = t.elapsed().as_secs_f64() * 1e6;
        drop(p);
        i += 1;
        if i > 20 { v.push(e); }
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

type Native = fn(&[u8]) -> Result<legation_view::Document, legation_decoder_sdk::DecodeError>;
fn main() {
    use legation_builtin_decoders as b;
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../decoders/testdata");
    let cases: Vec<(&str, &[u8], Native)> = vec![
        ("GPL-2.txt", b::TEXT, legation_decoder_text::decode),
        ("BSD.txt", b::TEXT, legation_decoder_text::decode),
        ("crc32fast-README.md", b::TEXT, legation_decoder_text::decode),
        ("stocks.csv", b::CSV, legation_decoder_csv::decode),
        ("iowa-electricity.csv", b::CSV, legation_decoder_csv::decode),
        ("la-riots.csv", b::CSV, legation_decoder_csv::decode),
        ("iso_15924.json", b::JSON, legation_decoder_json::decode),
        ("iso_3166-3.json", b::JSON, legation_decoder_json::decode),
        ("iso_639-5.json", b::JSON, legation_decoder_json::decode),
        ("camera.png", b::PNG, legation_decoder_png::decode),
        ("astronaut.png", b::PNG, legation_decoder_png::decode),
        ("logo.png", b::PNG, legation_decoder_png::decode),
        ("microaneurysms.png", b::PNG, legation_decoder_png::decode),
        ("chessboard_RGB.png", b::PNG, legation_decoder_png::decode),
        ("python.tiff", b::TIFF, legation_decoder_tiff::decode),
        ("multipage_rgb.tif", b::TIFF, legation_decoder_tiff::decode),
    ];
    let filter = std::env::args().nth(1).unwrap_or_default();
    let host = Host::native();
    let w = Wasmtime::new();
    let wd = Duration::from_secs(60);
    let tiny = legation_tests::tiny_decoder();
    let tl = host.load(&tiny, "tiny").unwrap();
    println!("tiny host.run {:.1}", med(|| { black_box(host.run(&tl, Call::Decode, "r", b"x").unwrap()); }));
    println!("{:<22} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>6} {:>6} {:>6}", "file", "KB", "native", "nat+cbor", "plain", "metered", "host", "p/n", "m/n", "h/n");
    for (name, module, native) in cases {
        if !name.contains(&filter) { continue; }
        let input = std::fs::read(dir.join(name)).unwrap();
        let metered = legation_meter::meter(module, &MeterConfig::default()).unwrap();
        let loaded = host.load(&metered, name).unwrap();
        let n = med(|| { black_box(native(&input).unwrap()); });
        let nc = med(|| { black_box(native(&input).unwrap().to_cbor()); });
        let plain = w.compile(module).unwrap();
        let p = med(|| { black_box(plain.call(Call::Decode, &input, 1 << 30, wd).unwrap()); });
        let mc = w.compile(&metered).unwrap();
        let m = med(|| { black_box(mc.call(Call::Decode, &input, 1 << 30, wd).unwrap()); });
        let h = med(|| { black_box(host.run(&loaded, Call::Decode, name, &input).unwrap()); });
        let pd = w.compile_decoder(module).unwrap();
        let md = w.compile_decoder(&metered).unwrap();
        let dp = med_split(|| pd.prepare(&input, wd).unwrap(), |p| { black_box(p.call(Call::Decode, 1 << 30).unwrap()); });
        let dm = med_split(|| md.prepare(&input, wd).unwrap(), |p| { black_box(p.call(Call::Decode, 1 << 30).unwrap()); });
        println!("    decode only: plain {:.1} ({:.2}x)  metered {:.1} ({:.2}x)", dp, dp / nc, dm, dm / nc);
        println!("{:<22} {:>6} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>6.2} {:>6.2} {:>6.2}", name, input.len() / 1000, n, nc, p, m, h, p / nc, m / nc, h / nc);
    }
}
