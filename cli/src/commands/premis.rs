//! `premis ARCHIVE -o premis.xml`: the archive's preservation history as
//! PREMIS 3 XML: the archive-level events from the archive's stored event
//! log (format 2.1, SPEC §36), the per-record events derived from the
//! catalog (SPEC §11.6).
//!
//! Without a key: the archive as one object (its size, its format), its
//! packing (ingestion) and signing (digital signature generation), with
//! the issuer and the program as agents. With a key, also each record as
//! a file object (path, size, BLAKE3, PRONOM format); the archive's event
//! log (ingestion by whom, when, with which version of the program; the
//! bag's validation; format identification and rendering at packing as
//! counts; each later generation; re-keying), each event linked to the
//! program of its version and to the issuer by fingerprint; and the events
//! derived from each record's catalog facts: its format identification
//! (`legation:puid`), its rendering at packing (`decoder`, `render`). An
//! archive without a log (2.0, or 1.x) gets its ingestion and, for an
//! archive packed with `--from-bag`, the bag's validation
//! (`.legation/bag-validation.txt`) derived instead. Catalog pages are
//! read twice (objects first, events after, the schema's order), one page
//! at a time.
//!
//! Also here: the events `pack` adds to the log ([`bag_validation_event`])
//! and the log as `info` shows it ([`print_log`]).

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{anyhow, Result};
use legation_format::catalog::{CatalogRecord, Render};
use legation_format::v2::events::{self as log, Log};
use legation_interchange::premis::{Agent, Event, FormatInfo, Identifier, Object, PremisWriter};
use legation_interchange::pronom;
use legation_reader::{Archive, Unlocked};

use super::info::public_facts;
use super::pack_bag::VALIDATION_RECORD;
use super::{open, signer};
use crate::identify::KEY;
use crate::keyopts::{self, KeyOpts};
use crate::location::Location;
use crate::place::{place, temp_beside};

/// Largest `.legation/bag-validation.txt` read.
const VALIDATION_MAX: u64 = 1 << 20;

/// The agents every export names.
struct Agents {
    issuer: Option<(Identifier, String)>,
    tool: Identifier,
    pronom: Identifier,
}

/// `premis ARCHIVE -o FILE`.
pub fn premis(path: &Location, output: &Path, keys: &KeyOpts, force: bool) -> Result<u8> {
    if output.exists() && !force {
        anyhow::bail!("{} exists (use --force to replace it)", output.display());
    }
    let a = open(path)?;
    let k = keys.keys(false)?;
    // A dependent generation's catalog is read through its series: its
    // export holds the archive and its event log (the series' history),
    // not the records.
    let dependent = matches!(path, Location::Local(p) if super::generations::is_dependent(p));
    let (u, stored) = if k.is_empty() {
        (None, None)
    } else {
        let pinned = signer(path, &a, keys)?;
        let mut consent = keyopts::costly_kdf_consent(keys.allow_costly_kdf);
        if dependent {
            a.check_signature(pinned.as_ref())?;
            let key = a.data_key_with(&k, &mut consent)?;
            (None, legation_reader::events::read_from(&a, &key)?)
        } else {
            let u = a.unlock_signed(&k, pinned.as_ref(), &mut consent)?;
            let stored = legation_reader::events::read(&u)?;
            (Some(u), stored)
        }
    };
    let (tmp, file) = temp_beside(output)?;
    let written = write(
        &a,
        u.as_ref(),
        stored.as_ref(),
        BufWriter::with_capacity(1 << 16, file),
    );
    let (objects, events) = match written {
        Ok(counts) => counts,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    place(&tmp, output, force)?;
    eprintln!(
        "legation: wrote PREMIS 3 for {objects} objects and {events} events to {}{}",
        output.display(),
        match (&u, dependent && !k.is_empty()) {
            (Some(_), _) => "",
            (None, true) => {
                " (a generation of a series: the archive and its event log; `legation compact` \
                 it for every record)"
            }
            (None, false) => " (public facts only: give a key for the records and their events)",
        }
    );
    Ok(0)
}

fn text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The whole document; returns the numbers of objects and events.
fn write(
    a: &Archive,
    u: Option<&Unlocked>,
    stored: Option<&Log>,
    out: impl Write,
) -> Result<(u64, u64)> {
    let facts = public_facts(a)?;
    let m = a.manifest();
    let archive_id = legation_format::hex::encode(&m.archive_id);
    let created = m.created.clone();
    let version = text(&facts["format_version"]).unwrap_or_default();
    let archive = Identifier::new("legation-archive-id", archive_id.clone());
    let agents = Agents {
        issuer: text(&facts["issuer"]["fingerprint"])
            .map(|f| (Identifier::new("legation-issuer-fingerprint", f.clone()), f)),
        tool: Identifier::new("URI", "urn:legation:legation"),
        pronom: Identifier::new("URI", "urn:legation:pronom"),
    };
    let record_id = |path: &str| Identifier::new("legation-record-path", path.to_owned());
    let mut w = PremisWriter::new(out)?;
    let (mut objects, mut events) = (0u64, 0u64);
    w.object(&Object {
        ids: vec![archive.clone()],
        fixity: Vec::new(),
        size: Some(a.len()),
        format: Some(FormatInfo {
            name: "Legation archive".into(),
            version: Some(version.clone()),
            puid: None,
            basis: None,
        }),
        original_name: None,
    })?;
    objects += 1;
    if let Some(u) = u {
        each_record(u, |rec| {
            w.object(&Object {
                ids: vec![record_id(&rec.path)],
                fixity: vec![("BLAKE3".into(), legation_format::hex::encode(&rec.blake3))],
                size: Some(rec.size),
                format: format_of(rec),
                original_name: Some(rec.path.clone()),
            })?;
            objects += 1;
            Ok(())
        })?;
    }
    // Archive-level events.
    let event_id = |what: &str| Identifier::new("legation-event", format!("{archive_id}/{what}"));
    let by_tool = |role: &str| {
        let mut v = vec![(agents.tool.clone(), role.to_owned())];
        if let Some((id, _)) = &agents.issuer {
            v.push((id.clone(), "implementer".to_owned()));
        }
        v
    };
    if let Some(stored) = stored {
        for e in logged_events(stored, &archive, &archive_id, &agents) {
            w.event(&e)?;
            events += 1;
        }
    } else {
        w.event(&Event {
            id: event_id("ingestion"),
            event_type: "ingestion".into(),
            date_time: created.clone(),
            detail: Some(format!(
                "packed into a Legation archive, format {version}, encrypted and catalogued"
            )),
            outcome: Some("success".into()),
            outcome_note: None,
            agents: by_tool("executing program"),
            objects: vec![(archive.clone(), "outcome".into())],
        })?;
        events += 1;
    }
    if let Some((issuer, _)) = &agents.issuer {
        w.event(&Event {
            id: event_id("signature"),
            event_type: "digital signature generation".into(),
            date_time: created.clone(),
            detail: Some("signed by the issuer with Ed25519".into()),
            outcome: Some("success".into()),
            outcome_note: Some("the signature checks now".into()),
            agents: vec![(issuer.clone(), "implementer".into())],
            objects: vec![(archive.clone(), "outcome".into())],
        })?;
        events += 1;
    }
    if let Some(u) = u {
        if stored.is_none() {
            if let Some(e) = bag_validation(u, &archive, &agents, &event_id)? {
                w.event(&e)?;
                events += 1;
            }
        }
        // Per-record events, derived from each record's catalog facts.
        let decoders = &m.decoders;
        each_record(u, |rec| {
            let id = record_id(&rec.path);
            if let Some(v) = rec.metadata.get(KEY) {
                w.event(&Event {
                    id: event_id(&format!("format-identification/{}", rec.path)),
                    event_type: "format identification".into(),
                    date_time: created.clone(),
                    detail: Some(
                        "PRONOM format identification by byte signature, else by extension".into(),
                    ),
                    outcome: Some(
                        if v.first().is_some_and(|p| p != "unidentified") {
                            "success"
                        } else {
                            "failure"
                        }
                        .into(),
                    ),
                    outcome_note: Some(v.join(", ")),
                    agents: vec![
                        (agents.tool.clone(), "executing program".into()),
                        (agents.pronom.clone(), "authority".into()),
                    ],
                    objects: vec![(id.clone(), "source".into())],
                })?;
                events += 1;
            }
            if let (Some(entry), Some(render)) = (&rec.decoder, &rec.render) {
                let (outcome, note) = match render {
                    Render::Rendered { pages, .. } => (
                        "success",
                        format!("rendered to a view document ({pages} pages), its hash recorded"),
                    ),
                    Render::NotRendered { reason } => ("failure", reason.clone()),
                    Render::Unknown => return Ok(()),
                };
                let decoder = decoders
                    .iter()
                    .find(|d| &d.entry == entry)
                    .map(|d| format!("{} {}", d.name, d.version))
                    .unwrap_or_else(|| entry.clone());
                w.event(&Event {
                    id: event_id(&format!("rendering/{}", rec.path)),
                    event_type: "rendering".into(),
                    date_time: created.clone(),
                    detail: Some(format!("rendered at packing by the decoder {decoder}")),
                    outcome: Some(outcome.into()),
                    outcome_note: Some(note),
                    agents: vec![(
                        Identifier::new("legation-decoder-entry", entry.clone()),
                        "executing program".into(),
                    )],
                    objects: vec![(id, "source".into())],
                })?;
                events += 1;
            }
            Ok(())
        })?;
    }
    // Agents: the issuer, the program, PRONOM, and with a key the decoders.
    if let Some((id, fingerprint)) = &agents.issuer {
        w.agent(&Agent {
            id: id.clone(),
            name: format!("issuer {fingerprint}"),
            agent_type: "organization".into(),
            version: None,
            note: Some("the key that signed the archive (Ed25519 fingerprint)".into()),
        })?;
    }
    w.agent(&Agent {
        id: agents.tool.clone(),
        name: "Legation".into(),
        agent_type: "software".into(),
        version: None,
        note: Some(format!(
            "the program that packed the archive (its version is not recorded in the archive; \
             this export was written by legation {})",
            env!("CARGO_PKG_VERSION")
        )),
    })?;
    // The program of each version that wrote to the log, and each other
    // issuer that signed a generation.
    for a in stored.map(log_agents).unwrap_or_default() {
        if agents.issuer.as_ref().is_some_and(|(id, _)| *id == a.id) {
            continue;
        }
        w.agent(&a)?;
    }
    w.agent(&Agent {
        id: agents.pronom.clone(),
        name: "PRONOM".into(),
        agent_type: "organization".into(),
        version: None,
        note: Some(format!(
            "The National Archives (UK) technical registry; each identification names the \
             release of its signatures (this program has release {})",
            pronom::registry().release
        )),
    })?;
    if u.is_some() {
        for d in &m.decoders {
            w.agent(&Agent {
                id: Identifier::new("legation-decoder-entry", d.entry.clone()),
                name: d.name.clone(),
                agent_type: "software".into(),
                version: Some(d.version.clone()),
                note: Some(format!(
                    "WebAssembly decoder stored in the archive as {}",
                    d.entry
                )),
            })?;
        }
    }
    let mut out = w.finish()?;
    out.flush()?;
    Ok((objects, events))
}

/// Calls `f` with every record in path order, one catalog page at a time.
fn each_record(u: &Unlocked, mut f: impl FnMut(&CatalogRecord) -> Result<()>) -> Result<()> {
    let pages = u.index().pages.len();
    let mut failed = None;
    u.for_each_page(0..pages, &mut |_, p| {
        let p = match p {
            Ok(p) => p,
            Err(e) => {
                failed = Some(anyhow::Error::from(e));
                return false;
            }
        };
        for rec in &p.records {
            if let Err(e) = f(rec) {
                failed = Some(e);
                return false;
            }
        }
        true
    });
    failed.map_or(Ok(()), Err)
}

/// A record's PRONOM format from its `legation:puid`, with PRONOM's name
/// and version for the PUID; `None` when it has none or is unidentified.
fn format_of(rec: &CatalogRecord) -> Option<FormatInfo> {
    let v = rec.metadata.get(KEY)?;
    let puid = v.first().filter(|p| *p != "unidentified")?;
    let known = pronom::registry().format(puid);
    Some(FormatInfo {
        name: known.map_or_else(|| puid.clone(), |f| f.name.clone()),
        version: known.map(|f| f.version.clone()).filter(|v| !v.is_empty()),
        puid: Some(puid.clone()),
        basis: v.get(1).map(|b| match v.get(2) {
            Some(release) => format!("{b} ({release})"),
            None => b.clone(),
        }),
    })
}

/// The bag's validation at packing, from `.legation/bag-validation.txt`.
fn bag_validation(
    u: &Unlocked,
    archive: &Identifier,
    agents: &Agents,
    event_id: &dyn Fn(&str) -> Identifier,
) -> Result<Option<Event>> {
    let rec = match u.find(VALIDATION_RECORD) {
        Ok(rec) => rec,
        Err(_) => return Ok(None),
    };
    if rec.size > VALIDATION_MAX {
        return Err(anyhow!(
            "{}: {} bytes, over {VALIDATION_MAX}",
            rec.path,
            rec.size
        ));
    }
    let mut bytes = Vec::new();
    u.copy_record(&rec, &mut bytes, &mut |_| {})?;
    let text = String::from_utf8(bytes).map_err(|_| anyhow!("{}: not UTF-8", rec.path))?;
    let fields = legation_interchange::bagit::parse_bag_info(&text)
        .map_err(|e| anyhow!("{}: {e}", rec.path))?;
    let get = |k: &str| label(&fields, k);
    let mut agent_list = vec![(agents.tool.clone(), "executing program".to_owned())];
    if let Some((id, _)) = &agents.issuer {
        agent_list.push((id.clone(), "implementer".into()));
    }
    Ok(Some(Event {
        id: event_id("bag-validation"),
        event_type: "validation".into(),
        date_time: get("Validated").to_owned(),
        detail: Some(format!(
            "BagIt {} bag validated before packing: {}; manifests {}, tag manifests {}; \
             Payload-Oxum {}; cross-check: {}",
            get("BagIt-Version"),
            get("Checks"),
            get("Payload-Manifests"),
            get("Tag-Manifests"),
            get("Payload-Oxum"),
            get("Cross-Check"),
        )),
        outcome: Some(if get("Outcome") == "valid" {
            "success".into()
        } else {
            "failure".into()
        }),
        outcome_note: Some(format!("validated by {}", get("Validating-Agent"))),
        agents: agent_list,
        objects: vec![(archive.clone(), "outcome".into())],
    }))
}

/// The identifier of the program that wrote a logged event (`legation
/// 0.9.0`): one agent for each version.
fn tool_id(tool: &str) -> Identifier {
    Identifier::new("legation-tool", tool.to_owned())
}

/// The identifier of an issuer, by its key's fingerprint.
fn issuer_id(key: &[u8; 32]) -> Identifier {
    Identifier::new(
        "legation-issuer-fingerprint",
        legation_format::crypto::fingerprint(key),
    )
}

/// The stored log's events as PREMIS events about the archive.
fn logged_events(
    stored: &Log,
    archive: &Identifier,
    archive_id: &str,
    agents: &Agents,
) -> Vec<Event> {
    let first = stored.dropped;
    stored
        .events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut linked = vec![(tool_id(&e.tool), "executing program".to_owned())];
            if let Some(k) = &e.issuer {
                linked.push((issuer_id(k), "implementer".to_owned()));
            }
            if e.event_type == "format identification" {
                linked.push((agents.pronom.clone(), "authority".to_owned()));
            }
            let role = match e.event_type.as_str() {
                "ingestion" | "modification" | "encryption" => "outcome",
                _ => "source",
            };
            Event {
                id: Identifier::new(
                    "legation-event",
                    format!("{archive_id}/log/{}", first + i as u64),
                ),
                event_type: e.event_type.clone(),
                date_time: legation_format::time::format_rfc3339(e.time),
                detail: Some(format!("generation {}: {}", e.generation, e.detail)),
                outcome: Some(e.outcome.word().into()),
                outcome_note: (!e.counts.is_empty()).then(|| counts_text(e)),
                agents: linked,
                objects: vec![(archive.clone(), role.into())],
            }
        })
        .collect()
}

/// An event's counts as `name: n; name: n`.
fn counts_text(e: &log::Event) -> String {
    e.counts
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The agents the stored log names: each version of the program, each
/// issuer; in the order they first appear.
fn log_agents(stored: &Log) -> Vec<Agent> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for e in &stored.events {
        if seen.insert(tool_id(&e.tool)) {
            let (name, version) = e
                .tool
                .split_once(' ')
                .map_or((e.tool.as_str(), None), |(n, v)| (n, Some(v.to_owned())));
            out.push(Agent {
                id: tool_id(&e.tool),
                name: name.to_owned(),
                agent_type: "software".into(),
                version,
                note: Some("the program that wrote the event to the archive's log".into()),
            });
        }
        if let Some(k) = &e.issuer {
            if seen.insert(issuer_id(k)) {
                let fingerprint = legation_format::crypto::fingerprint(k);
                out.push(Agent {
                    id: issuer_id(k),
                    name: format!("issuer {fingerprint}"),
                    agent_type: "organization".into(),
                    version: None,
                    note: Some(
                        "the key that signed the generation the event was written with \
                         (Ed25519 fingerprint)"
                            .into(),
                    ),
                });
            }
        }
    }
    out
}

/// The event log of generation `g` of a series (empty when its file has
/// none): what the next generation's log begins with.
pub fn previous_log(
    s: &legation_reader::series::Series,
    g: u64,
    key: &legation_format::crypto::DataKey,
) -> Result<Log> {
    let f = s
        .file(g)
        .ok_or_else(|| anyhow!("generation {g} is not among the series' files"))?;
    Ok(legation_reader::events::read_from(&f.archive, key)?.unwrap_or_default())
}

/// What the events `pack` adds to the log share: generation 0, the
/// archive's creation time, the issuer, this program.
pub fn pack_common(created: i64, issuer: Option<&legation_format::keys::IssuerKey>) -> log::Common {
    log::Common {
        generation: 0,
        time: created,
        issuer: issuer.map(|k| k.public()),
        tool: super::pack_bag::agent(),
    }
}

/// The value of a `LABEL: VALUE` field, or "" when there is none.
fn label<'a>(fields: &'a [(String, String)], k: &str) -> &'a str {
    fields
        .iter()
        .find(|(l, _)| l == k)
        .map_or("", |(_, v)| v.as_str())
}

/// The bag's validation at packing as an event for the log, from the
/// validation record's text (`.legation/bag-validation.txt`, which
/// `pack --from-bag` writes): the BagIt version, the algorithms of the
/// payload and tag manifests, `Payload-Oxum`, the checks and the
/// outcome; the payload's files and bytes as counts.
pub fn bag_validation_event(text: &str, common: &log::Common) -> Result<log::Event> {
    let fields = legation_interchange::bagit::parse_bag_info(text)
        .map_err(|e| anyhow!("the bag's validation record: {e}"))?;
    let get = |k: &str| label(&fields, k);
    let mut counts = BTreeMap::new();
    if let Some((octets, files)) = get("Payload-Oxum").split_once('.') {
        if let (Ok(o), Ok(f)) = (octets.parse(), files.parse()) {
            counts.insert("payload bytes".to_owned(), o);
            counts.insert("payload files".to_owned(), f);
        }
    }
    let mut e = common.event(
        "validation",
        if get("Outcome") == "valid" {
            log::Outcome::Success
        } else {
            log::Outcome::Failure
        },
        format!(
            "BagIt {} bag validated before packing; payload manifests {}; tag manifests {}; \
             Payload-Oxum {}; cross-check: {}",
            get("BagIt-Version"),
            get("Payload-Manifests"),
            get("Tag-Manifests"),
            get("Payload-Oxum"),
            get("Cross-Check"),
        ),
        counts,
    );
    if let Some(t) = legation_format::time::parse_rfc3339(get("Validated")) {
        e.time = t;
    }
    Ok(e)
}

/// The event log, briefly, for `info` with a key: one line an event
/// (time, type, outcome, generation, the program, the issuer) and its
/// counts under it.
pub fn print_log(stored: Option<&Log>) {
    let Some(stored) = stored else {
        println!("event log:      none (written without one: before format 2.1, or by convert)");
        return;
    };
    println!(
        "event log:      {} events{}",
        stored.events.len(),
        if stored.dropped > 0 {
            format!(" ({} older ones dropped to keep it small)", stored.dropped)
        } else {
            String::new()
        }
    );
    for e in &stored.events {
        println!(
            "  {}  {} ({}), generation {}, by {}{}",
            legation_format::time::format_rfc3339(e.time),
            crate::view::sanitize(&e.event_type),
            e.outcome.word(),
            e.generation,
            crate::view::sanitize(&e.tool),
            e.issuer
                .map(|k| format!(", issuer {}", legation_format::crypto::fingerprint(&k)))
                .unwrap_or_default()
        );
        if !e.counts.is_empty() {
            println!("      {}", crate::view::sanitize(&counts_text(e)));
        }
    }
}
