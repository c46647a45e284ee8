//! Checks and meters a decoder module with the default limits.
//!
//! `cargo run -p legation-meter --example meter -- DECODER.wasm [OUT.wasm]`
//! prints what the check found, verifies the metered module and prints
//! the sizes before and after, and writes
//! the metered module to OUT.wasm if given.

use legation_meter::{check_decoder_module, meter, verify_metered, MeterConfig, MAX_MODULE_BYTES};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let input = args.next().ok_or("usage: meter DECODER.wasm [OUT.wasm]")?;
    let module = std::fs::read(&input)?;
    let facts = check_decoder_module(&module, MAX_MODULE_BYTES)?;
    println!("description: {}", facts.description);
    println!("exports: {}", facts.exports.join(", "));
    println!(
        "memory: {} pages, maximum {:?}",
        facts.memory_min_pages, facts.memory_max_pages
    );
    let metered = meter(&module, &MeterConfig::default())?;
    let started = std::time::Instant::now();
    let limits = verify_metered(&metered, MAX_MODULE_BYTES)?;
    println!("verified: {limits:?} in {:?}", started.elapsed());
    println!(
        "size: {} bytes, metered {} bytes ({:+.1}%)",
        module.len(),
        metered.len(),
        (metered.len() as f64 / module.len() as f64 - 1.0) * 100.0
    );
    if let Some(output) = args.next() {
        std::fs::write(output, &metered)?;
    }
    Ok(())
}
