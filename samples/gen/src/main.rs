//! `legation-samples`: writes the fictional national records of the
//! Republic of Velmora into a folder for `legation pack`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use legation_samples::{generate, Options};

/// Writes deterministic, fictional national records (population and land
/// registers, legal codes, civil certificates with scans, mainframe tax
/// rolls) with Dublin Core sidecars into a new folder. The same options
/// give the same bytes.
#[derive(Parser)]
#[command(name = "legation-samples", version)]
struct Cli {
    /// Folder to create (must not exist or be empty).
    #[arg(long, short)]
    out: PathBuf,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// People in the population register (each with a JSON record; about
    /// 0.9 certificates and 0.2 parcels per person come with them).
    #[arg(long, default_value_t = 1000)]
    people: u64,
    /// Percentage of certificates with a scanned original (TIFF).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(0..=100))]
    scan_share: u64,
    /// Width of scanned pages in pixels (A4 proportions; 620 is 75 dpi,
    /// 2480 is 300 dpi: about 16 times the bytes).
    #[arg(long, default_value_t = 620)]
    scan_width: usize,
    /// Width of cadastral plans in pixels.
    #[arg(long, default_value_t = 800)]
    plan_width: usize,
    /// Parcels per cadastral sheet (and plan).
    #[arg(long, default_value_t = 40)]
    sheet_parcels: usize,
}

/// Exit codes: 0 success, 2 a folder that is not empty, bad options or an
/// I/O error (clap's own usage errors also exit 2).
fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("legation-samples: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let opts = Options {
        seed: cli.seed,
        people: cli.people,
        scan_share: cli.scan_share,
        scan_width: cli.scan_width,
        plan_width: cli.plan_width,
        sheet_parcels: cli.sheet_parcels,
    };
    let start = Instant::now();
    let s = generate(&opts, &cli.out)
        .with_context(|| format!("generating into {}", cli.out.display()))?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} records ({} files with sidecars, {:.1} MB) in {:.1} s: {} people in {} households, {} certificates ({} scanned), {} parcels on {} plans, {} acts, {} mainframe records",
        s.records,
        s.files,
        s.bytes as f64 / 1e6,
        secs,
        s.people,
        s.households,
        s.certificates,
        s.scans,
        s.parcels,
        s.plans,
        s.acts,
        s.mainframe_records
    );
    Ok(())
}
