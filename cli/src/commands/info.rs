//! `info ARCHIVE`: an archive's public facts (what anyone can read
//! without a key), its entries and its decoders with their limits.

use anyhow::Result;
use legation_format::crypto;
use legation_reader::{Archive, Signer};
use serde_json::json;

use super::open;
use crate::location::Location;
use crate::{output, view};

/// Public facts as JSON.
pub(super) fn public_facts(a: &Archive) -> Result<serde_json::Value> {
    let m = a.manifest();
    let signer = match a.check_signature(None) {
        Ok(Signer::Valid {
            fingerprint,
            public_key,
        }) => {
            json!({"fingerprint": fingerprint, "public_key": legation_format::hex::encode(&public_key)})
        }
        Ok(Signer::Unsigned) => serde_json::Value::Null,
        // Shown, not fatal: the records can still be listed and read.
        Err(e) => json!({"problem": e.to_string()}),
    };
    let records = m
        .entries
        .iter()
        .filter(|e| e.name.starts_with(legation_format::RECORD_PREFIX));
    let (count, bytes) = records.fold((0u64, 0u64), |(c, b), e| (c + 1, b + e.size));
    let slots: Vec<_> = m
        .key_slots
        .iter()
        .map(|s| match s {
            crypto::KeySlot::X25519 { .. } => json!({"type": "x25519"}),
            crypto::KeySlot::Passphrase { params, .. } => json!({"type": "argon2id", "memory_kib": params.memory_kib, "iterations": params.iterations, "parallelism": params.parallelism}),
            crypto::KeySlot::Unknown => json!({"type": "unknown"}),
        })
        .collect();
    let viewer = m
        .entries
        .iter()
        .find(|e| e.name == legation_format::VIEWER_ENTRY)
        .map(|e| json!({"entry": e.name, "bytes": e.size, "blake3": legation_format::hex::encode(&e.blake3)}));
    Ok(json!({
        "archive": a.name(),
        "format_version": m.version,
        "archive_id": legation_format::hex::encode(&m.archive_id),
        "created": m.created,
        "issuer": signer,
        "size": a.len(),
        "entries": a.entries().len(),
        "record_entries": count,
        "record_bytes": bytes,
        "catalog_pages": m.catalog.pages,
        "key_slots": slots,
        "viewer": viewer,
    }))
}

pub(super) fn print_public(v: &serde_json::Value) {
    println!("archive:        {}", v["archive"].as_str().unwrap_or(""));
    println!(
        "format:         legation {}",
        v["format_version"].as_str().unwrap_or("")
    );
    println!("archive id:     {}", v["archive_id"].as_str().unwrap_or(""));
    println!("created:        {}", v["created"].as_str().unwrap_or(""));
    match (
        v["issuer"]["fingerprint"].as_str(),
        v["issuer"]["problem"].as_str(),
    ) {
        (Some(f), _) => {
            println!("issuer:         {f} (signature valid; pin it with verify --issuer)")
        }
        (None, Some(p)) => println!("issuer:         SIGNATURE NOT CHECKED: {p}"),
        (None, None) => println!("issuer:         none (unsigned archive)"),
    }
    println!(
        "size:           {} ({} bytes)",
        output::size(v["size"].as_u64().unwrap_or(0)),
        v["size"]
    );
    println!(
        "records:        {} encrypted entries, {}",
        v["record_entries"],
        output::size(v["record_bytes"].as_u64().unwrap_or(0))
    );
    println!(
        "container:      {} entries, {} catalog pages",
        v["entries"], v["catalog_pages"]
    );
    if let Some(b) = v["viewer"]["blake3"].as_str() {
        println!(
            "viewer:         {} ({} bytes), BLAKE3 {b} (pinned by the manifest; check a copy before using it)",
            v["viewer"]["entry"].as_str().unwrap_or(""),
            v["viewer"]["bytes"]
        );
    }
    let slots: Vec<String> = v["key_slots"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s["type"].as_str().unwrap_or("?").to_owned())
        .collect();
    println!("key slots:      {}", slots.join(", "));
}

/// `info ARCHIVE`.
pub fn info(path: &Location) -> Result<u8> {
    let a = open(path)?;
    print_public(&public_facts(&a)?);
    println!();
    println!("{:<22} {:>14}  blake3", "entry", "bytes");
    for (e, m) in a.entries().iter().zip(&a.manifest().entries) {
        println!(
            "{:<22} {:>14}  {}",
            e.name,
            e.size,
            legation_format::hex::encode(&m.blake3)
        );
    }
    // The decoders and the limits recorded in each (SPEC §13.2): what
    // every reader enforces on them.
    println!();
    println!(
        "{:<24} {:<22} {:>14} {:>6} {:>9}  media types",
        "decoder", "name and version", "fuel", "depth", "memory"
    );
    for d in &a.manifest().decoders {
        let memory = format!("{} MiB", u64::from(d.limits.max_memory_pages) * 64 / 1024);
        println!(
            "{:<24} {:<22} {:>14} {:>6} {:>9}  {}",
            d.entry,
            view::sanitize(&format!("{} {}", d.name, d.version)),
            d.limits.fuel,
            d.limits.max_depth,
            memory,
            view::sanitize(&d.media_types.join(", "))
        );
    }
    Ok(0)
}
