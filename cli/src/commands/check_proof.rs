//! `check-proof FILE [--record FILE] [--issuer KEY.pub]`: checks a
//! one-record proof (format 2.0) with no archive and no key, and says what
//! it proves.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use legation_format::hex;
use legation_format::time::format_rfc3339;
use legation_format::v2::proof::{Proof, RecordDigest, MAX_PROOF};

use crate::keyopts::read_issuer_public;

/// `check-proof`: exit 0 when the proof holds (and the record file, if
/// given, is the proven record's bytes), 1 when it does not, saying why,
/// 2 when a file cannot be read.
pub fn check_proof(file: &Path, record: Option<&Path>, issuer: Option<&Path>) -> Result<u8> {
    let pinned = issuer.map(read_issuer_public).transpose()?;
    let bytes = read_bounded(file)?;
    let digest = record.map(hash_file).transpose()?;
    let checked = match Proof::parse(&bytes).and_then(|p| p.check_digest(pinned.as_ref(), digest)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}: the proof does NOT hold: {e}", file.display());
            return Ok(1);
        }
    };
    let h = &checked.head;
    let r = &checked.record;
    println!("proof      {}", file.display());
    println!("archive    {}", hex::encode(&h.archive_id));
    println!("sequence   {}", h.sequence);
    println!("created    {}", format_rfc3339(h.created));
    println!("records    {} in the archive", h.records);
    println!("record     {}", r.path);
    println!("size       {} bytes", r.size);
    println!("blake3     {}", hex::encode(&r.blake3));
    println!("media type {}", r.media_type);
    for s in &checked.signers {
        let pinned = pinned.as_ref().map(legation_format::crypto::fingerprint);
        if pinned.as_deref() == Some(s.as_str()) {
            println!("signed by  {s} (pinned)");
        } else {
            println!("signed by  {s}");
        }
    }
    for a in &checked.unknown_signatures {
        println!("not checked: a signature of unknown algorithm {a}");
    }
    match record {
        Some(p) => println!("record file {} matches (size and BLAKE3)", p.display()),
        None => println!("record file not given (--record FILE checks a copy's bytes)"),
    }
    if !checked.pinned {
        eprintln!(
            "{}: the proof holds, but the signer is NOT pinned: pass --issuer ISSUER.pub to \
             require this issuer",
            file.display()
        );
    }
    println!("The proof holds: the signer(s) above signed an archive that holds this record.");
    Ok(0)
}

/// Reads the proof file, at most one byte past [`MAX_PROOF`] (so a larger
/// file, or a device that never ends, is refused by the parser at once).
fn read_bounded(file: &Path) -> Result<Vec<u8>> {
    let f = std::fs::File::open(file).with_context(|| format!("reading {}", file.display()))?;
    let mut bytes = Vec::new();
    f.take(MAX_PROOF as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", file.display()))?;
    Ok(bytes)
}

/// The size and BLAKE3 of a file, read as a stream (a record may be large).
fn hash_file(file: &Path) -> Result<(u64, [u8; 32])> {
    let mut f = std::fs::File::open(file).with_context(|| format!("reading {}", file.display()))?;
    let mut d = RecordDigest::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => d.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
        }
    }
    Ok(d.finish())
}
