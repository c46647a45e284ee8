//! Writes a format 2.0 archive of N synthetic records straight through the
//! writer, with no files: the national-scale benchmark's 10,000,000-record
//! archive does not fit this machine as a folder (tmpfs takes 4 KiB a file).
//!
//! ```text
//! synth --records N --out FILE --recipient R.pub [--issuer GOV.key] [--seed S]
//! ```
//!
//! Record `i` is `r<i / 10,000, 4 digits>/p<i, 10 digits>.bin` (21 bytes),
//! 20 to 200 seeded random bytes (incompressible, so that the overhead
//! figure is not flattered by DEFLATE), media type
//! `application/octet-stream` (no decoder, so nothing is rendered), no
//! Dublin Core: the shape issue 20's overhead target names. Paths come in
//! increasing order, as the writer requires. Prints the record count and
//! the records' total bytes.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use legation_format::keys::{self, IssuerKey};
use legation_format::v2::writer::ArchiveWriter;
use legation_format::writer::{RecordMeta, RecordSource, WriterOptions};
use rand_chacha::rand_core::{RngCore, SeedableRng};

/// Creation time of every synthetic archive (2025-12-01), so runs repeat.
const CREATED: i64 = 1_764_547_200;

struct Args {
    records: u64,
    out: String,
    recipient: String,
    issuer: Option<String>,
    seed: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        records: 0,
        out: String::new(),
        recipient: String::new(),
        issuer: None,
        seed: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--records" => a.records = value()?.parse().map_err(|e| format!("--records: {e}"))?,
            "--out" => a.out = value()?,
            "--recipient" => a.recipient = value()?,
            "--issuer" => a.issuer = Some(value()?),
            "--seed" => a.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    if a.out.is_empty() || a.recipient.is_empty() {
        return Err(
            "usage: synth --records N --out FILE --recipient R.pub [--issuer GOV.key] [--seed S]"
                .into(),
        );
    }
    Ok(a)
}

fn read_key(path: &str, tag: &'static str) -> Result<[u8; 32], String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    Ok(*keys::parse_key_file(&text, tag, path).map_err(|e| e.to_string())?)
}

fn run(a: Args) -> Result<(u64, u64), String> {
    let recipient = read_key(&a.recipient, keys::RECIPIENT_PUBLIC)?;
    let issuer = match &a.issuer {
        Some(p) => Some(IssuerKey::from_bytes(read_key(p, keys::ISSUER_SECRET)?)),
        None => None,
    };
    let opts = WriterOptions {
        created: CREATED,
        issuer,
        recipients: vec![recipient],
        passphrases: vec![],
        embed_spec: true,
        viewer: None,
    };
    let file = std::fs::File::create(&a.out).map_err(|e| format!("{}: {e}", a.out))?;
    let rng = rand_chacha::ChaCha20Rng::seed_from_u64(a.seed);
    let mut w = ArchiveWriter::new(BufWriter::with_capacity(1 << 20, file), opts, rng)
        .map_err(|e| e.to_string())?;
    let mut content = rand_chacha::ChaCha8Rng::seed_from_u64(a.seed ^ 0x5eed);
    let mut buf = [0u8; 200];
    let mut total = 0u64;
    for i in 0..a.records {
        let len = 20 + (content.next_u32() % 181) as usize;
        content.fill_bytes(&mut buf[..len]);
        let meta = RecordMeta {
            path: format!("r{:04}/p{i:010}.bin", i / 10_000),
            media_type: "application/octet-stream".into(),
            ..Default::default()
        };
        w.add_record(meta, RecordSource::Bytes(&buf[..len]))
            .map_err(|e| e.to_string())?;
        total += len as u64;
    }
    let mut out = w.finish().map_err(|e| e.to_string())?;
    out.flush().map_err(|e| format!("{}: {e}", a.out))?;
    Ok((a.records, total))
}

fn main() -> ExitCode {
    match parse_args().and_then(run) {
        Ok((n, bytes)) => {
            println!("{n} records, {bytes} bytes");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("synth: {e}");
            ExitCode::from(2)
        }
    }
}
