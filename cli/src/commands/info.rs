//! `info ARCHIVE`: an archive's public facts (what anyone can read
//! without a key), its entries and its decoders with their limits; with a
//! key, its records' formats (PRONOM PUIDs, SPEC §11.6).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use legation_format::crypto;
use legation_interchange::pronom::{self, Basis};
use legation_reader::{Archive, Signer};
use serde_json::json;

use super::open;
use crate::keyopts::KeyOpts;
use crate::location::Location;
use crate::{identify, output, view};

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
        .enumerate()
        .map(|(i, s)| match s {
            crypto::KeySlot::X25519 { .. } => json!({"type": "x25519"}),
            crypto::KeySlot::Passphrase { params, .. } => json!({"type": "argon2id", "memory_kib": params.memory_kib, "iterations": params.iterations, "parallelism": params.parallelism}),
            crypto::KeySlot::Quorum(q) => quorum_facts(q, i),
            crypto::KeySlot::MlKem768X25519(_) => json!({"type": "mlkem768x25519", "post_quantum": true}),
            crypto::KeySlot::Unknown => json!({"type": "unknown"}),
        })
        .collect();
    let viewer = m
        .entries
        .iter()
        .find(|e| e.name == legation_format::VIEWER_ENTRY)
        .map(|e| json!({"entry": e.name, "bytes": e.size, "blake3": legation_format::hex::encode(&e.blake3)}));
    if let Some((head, signatures)) = a.head_and_signatures() {
        return Ok(v2_facts(a, head, signatures, signer, slots));
    }
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

/// A 2.0 archive's public facts: the head's (records, their bytes,
/// sequence, previous generation, the generation's time), the catalog's
/// pages and the bundles, and each signature line with its verdict.
fn v2_facts(
    a: &Archive,
    head: &[u8],
    signatures: &[u8],
    signer: serde_json::Value,
    slots: Vec<serde_json::Value>,
) -> serde_json::Value {
    use legation_format::hex::encode;
    use legation_format::v2::head as v2head;
    let m = a.manifest();
    // Opening parsed both; a failure here is shown, as 1.x's signature is.
    let h = v2head::Head::parse(head).ok();
    let lines: Vec<serde_json::Value> = match v2head::parse_signatures(signatures) {
        Ok(lines) => lines
            .iter()
            .map(|l| {
                let verdict = match v2head::verify(l, head) {
                    Some(true) => "valid",
                    Some(false) => "does not verify",
                    None => "algorithm not known to this reader",
                };
                json!({
                    "algorithm": l.algorithm,
                    "public_key": encode(&l.public_key),
                    "fingerprint": l.fingerprint(),
                    "verdict": verdict,
                })
            })
            .collect(),
        Err(e) => vec![json!({"problem": e.to_string()})],
    };
    let bundles = a
        .entries()
        .iter()
        .filter(|e| e.name.starts_with("b/"))
        .count();
    json!({
        "archive": a.name(),
        "format_version": m.version,
        "archive_id": encode(&m.archive_id),
        "created": m.created,
        "issuer": signer,
        "size": a.len(),
        "entries": a.entries().len(),
        "records": h.as_ref().map(|h| h.records),
        "record_bytes": h.as_ref().map(|h| h.bytes),
        "sequence": h.as_ref().map(|h| h.sequence),
        "previous": h.as_ref().map(|h| encode(&h.previous)),
        "generation_created": h.as_ref().map(|h| legation_format::time::format_rfc3339(h.created)),
        "catalog_pages": m.catalog.pages,
        "bundles": bundles,
        "signatures": lines,
        "key_slots": slots,
        "viewer": serde_json::Value::Null,
    })
}

pub(super) fn print_public(v: &serde_json::Value) {
    if v.get("signatures").is_some() {
        return print_public_v2(v);
    }
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
        .map(slot_line)
        .collect();
    println!("key slots:      {}", slots.join(", "));
}

/// [`print_public`] for a 2.0 archive's facts ([`v2_facts`]).
fn print_public_v2(v: &serde_json::Value) {
    let text = |k: &str| v[k].as_str().unwrap_or("").to_owned();
    println!("archive:        {}", text("archive"));
    println!("format:         legation {}", text("format_version"));
    println!("archive id:     {}", text("archive_id"));
    println!("created:        {}", text("created"));
    println!(
        "generation:     sequence {}, created {}, previous {}",
        v["sequence"],
        text("generation_created"),
        text("previous")
    );
    println!(
        "size:           {} ({} bytes)",
        output::size(v["size"].as_u64().unwrap_or(0)),
        v["size"]
    );
    println!(
        "records:        {} records, {} ({} bytes)",
        v["records"],
        output::size(v["record_bytes"].as_u64().unwrap_or(0)),
        v["record_bytes"]
    );
    println!(
        "container:      {} entries, {} catalog pages, {} bundles",
        v["entries"], v["catalog_pages"], v["bundles"]
    );
    let lines = v["signatures"].as_array().map_or(&[][..], |a| a.as_slice());
    if lines.is_empty() {
        println!("signatures:     none (unsigned archive)");
    }
    for (i, l) in lines.iter().enumerate() {
        let label = if i == 0 { "signatures:" } else { "" };
        match l["problem"].as_str() {
            Some(p) => println!("{label:<15} NOT CHECKED: {p}"),
            None => println!(
                "{label:<15} {} {} ({})",
                l["algorithm"].as_str().unwrap_or(""),
                l["fingerprint"].as_str().map_or_else(
                    || l["public_key"].as_str().unwrap_or("").to_owned(),
                    str::to_owned
                ),
                l["verdict"].as_str().unwrap_or("")
            ),
        }
    }
    if let Some(f) = v["issuer"]["fingerprint"].as_str() {
        println!("issuer:         {f} (signature valid; pin it with verify --issuer)");
    } else if let Some(p) = v["issuer"]["problem"].as_str() {
        println!("issuer:         SIGNATURE NOT CHECKED: {p}");
    }
    let slots: Vec<String> = v["key_slots"]
        .as_array()
        .into_iter()
        .flatten()
        .map(slot_line)
        .collect();
    println!("key slots:      {}", slots.join(", "));
}

/// `info ARCHIVE`: its public facts, entries and decoders; with a key,
/// also its records' formats.
pub fn info(path: &Location, keys: &KeyOpts) -> Result<u8> {
    let a = open(path)?;
    let unlocked = super::ls::unlock_if_keyed(path, &a, keys)?;
    print_public(&public_facts(&a)?);
    println!();
    println!("{:<22} {:>14}  blake3", "entry", "bytes");
    if a.is_v2() {
        // 2.0's entry table is not read to show public facts (SPEC 2.0
        // §30.1); the keyless audit checks every entry against it.
        for e in a.entries() {
            let hash = match e.name.as_str() {
                legation_format::v2::ENTRIES_ENTRY | legation_format::v2::PUBLIC_ENTRY => {
                    "(in head)"
                }
                legation_format::v2::HEAD_ENTRY => "(signed)",
                // The table's tree: its bytes follow from the table.
                legation_format::v2::entries::TREE_ENTRY => "(from entries)",
                legation_format::v2::SIGNATURES_ENTRY => "",
                _ => "(in entries)",
            };
            println!("{:<22} {:>14}  {hash}", e.name, e.size);
        }
    }
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
    if let Some(u) = unlocked {
        println!();
        super::premis::print_log(legation_reader::events::read(&u)?.as_ref());
        print_formats(&formats(&u)?);
    }
    Ok(0)
}

/// Most distinct (PUID, basis) rows counted; the records of any further
/// ones are counted together, so memory stays bounded whatever an
/// archive's catalog holds.
const MAX_FORMAT_ROWS: usize = 4096;

/// The records of each format: (PUID or `unidentified`, basis) -> count,
/// `None` for records packed without identification, and the PRONOM
/// releases named (SPEC §11.6). One count a format, not a record: the
/// catalog is read page by page.
#[derive(Default)]
struct Formats {
    counts: BTreeMap<Option<(String, String)>, u64>,
    releases: BTreeSet<String>,
    others: u64,
}

impl Formats {
    /// Counts one record by its metadata's format identification.
    fn count(&mut self, metadata: &BTreeMap<String, Vec<String>>) {
        let row = metadata.get(identify::KEY).map(|v| match v.as_slice() {
            [puid, basis, release] => {
                if self.releases.len() < 16 {
                    self.releases.insert(release.clone());
                }
                (puid.clone(), basis.clone())
            }
            // `["unidentified", release]`, or a shape this version does
            // not write: counted as unidentified.
            other => {
                if let [_, release] = other {
                    if self.releases.len() < 16 {
                        self.releases.insert(release.clone());
                    }
                }
                (String::new(), Basis::Unidentified.as_str().to_owned())
            }
        });
        if self.counts.len() < MAX_FORMAT_ROWS || self.counts.contains_key(&row) {
            *self.counts.entry(row).or_default() += 1;
        } else {
            self.others += 1;
        }
    }
}

/// Counts the formats of every record of the archive.
fn formats(u: &legation_reader::Unlocked) -> Result<Formats> {
    let mut f = Formats::default();
    let counted = super::ls::for_each_page_ahead(u, &mut |page| {
        for r in &page.records {
            f.count(&r.metadata);
        }
        Ok(())
    });
    match counted {
        Ok(()) => Ok(f),
        Err(super::ls::Failure::Read(e)) => Err(e.into()),
        Err(super::ls::Failure::Io(e)) => Err(e.into()),
    }
}

/// The formats table of a generation of a series (its live records,
/// read through its runs one page a run at a time), printed.
pub(super) fn print_series_formats(u: &legation_reader::series::Unlocked<'_>) -> Result<()> {
    let mut f = Formats::default();
    for r in u.records() {
        f.count(&r?.0.metadata);
    }
    print_formats(&f);
    Ok(())
}

/// The formats table: PUID, basis, records, PRONOM's name of the format,
/// most records first.
fn print_formats(f: &Formats) {
    let releases: Vec<&str> = f.releases.iter().map(String::as_str).collect();
    println!();
    println!(
        "{:<14} {:<12} {:>10}  format ({})",
        "puid",
        "basis",
        "records",
        if releases.is_empty() {
            "no PRONOM release named".to_owned()
        } else {
            view::sanitize(&releases.join(", "))
        }
    );
    let mut rows: Vec<_> = f.counts.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    for (row, n) in rows {
        match row {
            Some((puid, basis)) => {
                let name = pronom::registry().format(puid).map_or(String::new(), |p| {
                    match p.version.is_empty() {
                        true => p.name.clone(),
                        false => format!("{} {}", p.name, p.version),
                    }
                });
                let puid = match puid.as_str() {
                    "" => "-",
                    p => p,
                };
                println!(
                    "{:<14} {:<12} {n:>10}  {}",
                    view::sanitize(puid),
                    view::sanitize(basis),
                    view::sanitize(&name)
                );
            }
            None => println!(
                "{:<14} {:<12} {n:>10}  (packed without format identification)",
                "-", "-"
            ),
        }
    }
    if f.others > 0 {
        println!(
            "{:<14} {:<12} {:>10}  (past {MAX_FORMAT_ROWS} distinct formats, not told apart)",
            "...", "...", f.others
        );
    }
}

/// What `info` shows of a quorum slot without a key (SPEC §7.9): its
/// policy's shape and the kinds of its holders, never a holder's key
/// (X25519 holders stay anonymous, as §7.8's slots do).
fn quorum_facts(q: &legation_format::quorum::QuorumSlot, slot: usize) -> serde_json::Value {
    let kinds = |kind: &str| {
        q.shares
            .iter()
            .filter(|s| match &s.holder {
                legation_format::quorum::HolderSlot::X25519 { .. } => kind == "x25519",
                legation_format::quorum::HolderSlot::Passphrase { .. } => kind == "argon2id",
                legation_format::quorum::HolderSlot::MlKem768X25519(_) => kind == "mlkem768x25519",
                _ => kind == "unknown",
            })
            .count()
    };
    match q.check(slot) {
        Ok(shape) => json!({
            "type": "quorum",
            "id": legation_format::hex::encode(&q.id),
            "policy": shape,
            "holders": {"x25519": kinds("x25519"), "argon2id": kinds("argon2id"), "mlkem768x25519": kinds("mlkem768x25519"), "unknown": kinds("unknown")},
        }),
        Err(e) => json!({"type": "quorum", "problem": e.to_string()}),
    }
}

/// A key slot as `info` prints it: its type, and a quorum slot's policy.
fn slot_line(s: &serde_json::Value) -> String {
    let kind = s["type"].as_str().unwrap_or("?");
    match (s["policy"].as_str(), s["problem"].as_str()) {
        (Some(p), _) => format!("{kind} {p}"),
        (_, Some(p)) => format!("{kind} (refused: {})", view::sanitize(p)),
        _ => kind.to_owned(),
    }
}
