//! Decoders at pack time: the built-in modules and any given with
//! `--decoder TYPE=FILE.wasm`, metered and stored in the archive, and the
//! renderer that assigns one to each record and records its view hash.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use legation_format::catalog::Render;
use legation_format::manifest::DecoderRef;
use legation_format::pack::Renderer;
use legation_format::writer::RecordMeta;
use legation_meter::MeterConfig;
use legation_reader::decode::{DecodeError, Facts, Host, Loaded, Rendered};

/// A decoder ready to store: metered bytes and what it declares.
pub struct Prepared {
    /// The metered module.
    pub module: Vec<u8>,
    /// Its manifest description (entry filled in by the writer).
    pub desc: DecoderRef,
    /// The host's compiled copy.
    pub loaded: Arc<Loaded>,
}

/// The limits to meter decoders with, from `pack`'s `--decoder-fuel`,
/// `--decoder-memory` (MiB) and `--decoder-depth`.
pub fn limits((fuel, memory_mib, depth): (u64, u32, u32)) -> Result<MeterConfig> {
    if i64::try_from(fuel).is_err() {
        bail!("--decoder-fuel {fuel}: at most {} units", i64::MAX);
    }
    if !(1..=4096).contains(&memory_mib) {
        bail!("--decoder-memory {memory_mib}: from 1 to 4096 MiB");
    }
    if depth == 0 {
        bail!("--decoder-depth 0: a decoder needs at least its own call");
    }
    Ok(MeterConfig {
        fuel,
        max_depth: depth,
        max_memory_pages: memory_mib * 16,
    })
}

/// Meters a module with `cfg` (unless it already carries limits) and
/// checks it.
pub fn prepare(host: &Host, wasm: &[u8], label: &str, cfg: &MeterConfig) -> Result<Prepared> {
    let module = match legation_meter::is_metered(wasm) {
        Some(_) => wasm.to_vec(),
        None => legation_meter::meter(wasm, cfg).map_err(|e| anyhow!("{label}: {e}"))?,
    };
    // Messages about the module's records (a refusal, a trap) name it as
    // a reader of the archive will: by its entry name, never by the file
    // it was packed from, whose path on the packing machine would be
    // stored in the signed archive (a record's "not rendered" reason).
    let entry = legation_format::manifest::decoder_entry(blake3::hash(&module).as_bytes());
    let loaded = host
        .load(&module, &entry)
        .map_err(|e| anyhow!("{label}: {e}"))?;
    let desc = loaded.decoder_ref();
    Ok(Prepared {
        module,
        desc,
        loaded,
    })
}

/// Parses `TYPE=FILE.wasm`, where TYPE is a media type (`application/xml`)
/// or a file extension (`.ebc`, matched case-insensitively, before media
/// types), or a bare `FILE.wasm` (an empty key: the module is chosen by
/// the media types it declares alone, SPEC §11.5).
pub fn parse_decoder_arg(s: &str) -> Result<(String, PathBuf)> {
    let Some((t, f)) = s.split_once('=') else {
        return Ok((String::new(), PathBuf::from(s)));
    };
    let extension = t.starts_with('.') && t.len() > 1 && !t[1..].contains(['.', '/']);
    if !t.contains('/') && !extension {
        bail!(
            "--decoder {s}: {t:?} is neither a media type like text/csv nor an extension like .ebc"
        );
    }
    let key = if extension {
        t.to_ascii_lowercase()
    } else {
        t.to_owned()
    };
    Ok((key, PathBuf::from(f)))
}

/// Chooses and runs decoders while packing.
pub struct PackRenderer {
    host: Host,
    /// Media type to decoder index (explicit `--decoder` choices).
    explicit: BTreeMap<String, usize>,
    /// All decoders, built-in fallback last.
    decoders: Vec<(String, Prepared)>,
    /// Records rendered and not rendered.
    pub rendered: u64,
    /// Records not rendered, with the reason.
    pub not_rendered: Vec<(String, String)>,
    /// Why this machine could not run a decoder, if it could not: then no
    /// archive may be written, since its records would be recorded as not
    /// rendered for a reason of the packing machine, not of the record.
    pub host_failure: Option<String>,
    /// Formats of records not read whole, identified from their files.
    pub large: crate::identify::Large,
}

/// The decoder host of every command: wasmtime in worker processes
/// (`legation decode-worker`), so that no decoder or engine bug shares an
/// address space with keys or passphrases.
pub fn host() -> Result<Host> {
    Host::isolated(&["decode-worker"]).context("finding the legation program to run decoders")
}

impl PackRenderer {
    /// The built-in decoders and the given ones, metered with `cfg`
    /// (a given module that is metered already keeps its own limits).
    pub fn new(extra: &[(String, PathBuf)], cfg: MeterConfig) -> Result<Self> {
        let host = host()?;
        let mut decoders = Vec::new();
        let mut explicit = BTreeMap::new();
        for (t, file) in extra {
            let wasm = std::fs::read(file)
                .with_context(|| format!("reading decoder {}", file.display()))?;
            let p = prepare(&host, &wasm, &file.display().to_string(), &cfg)?;
            if !t.is_empty() {
                explicit.insert(t.clone(), decoders.len());
            }
            decoders.push((file.display().to_string(), p));
        }
        for wasm in legation_builtin_decoders::ALL {
            let p = prepare(&host, wasm, "built-in", &cfg)?;
            let label = format!("built-in {}", p.desc.name);
            decoders.push((label, p));
        }
        Ok(PackRenderer {
            host,
            explicit,
            decoders,
            rendered: 0,
            not_rendered: Vec::new(),
            host_failure: None,
            large: Default::default(),
        })
    }

    /// The modules to store, in order, each with its description and
    /// whether it uses vector instructions (format 1.3).
    pub fn modules(&self) -> impl Iterator<Item = (&[u8], &DecoderRef, bool)> {
        self.decoders
            .iter()
            .map(|(_, p)| (p.module.as_slice(), &p.desc, p.loaded.uses_vectors()))
    }

    fn choose(&self, meta: &RecordMeta) -> &Prepared {
        let media_type = crate::identify::decoder_type(meta);
        let ext = meta
            .path
            .rsplit_once('.')
            .map(|(_, e)| format!(".{}", e.to_ascii_lowercase()));
        let by_ext = ext.and_then(|e| self.explicit.get(&e));
        if let Some(&i) = by_ext.or_else(|| self.explicit.get(media_type)) {
            return &self.decoders[i].1;
        }
        let handles =
            |p: &&(String, Prepared)| p.1.desc.media_types.iter().any(|m| m == media_type);
        let fallback = |p: &&(String, Prepared)| p.1.desc.media_types.iter().any(|m| m == "*/*");
        // Decoders given with --decoder also take the records of the media
        // types they declare, before the built-in ones, except the types
        // that name no format (SPEC §11.5 rule 3).
        let (given, builtin) = self.decoders.split_at(extra_count(&self.decoders));
        let found = given
            .iter()
            .filter(|_| !names_no_format(media_type))
            .find(handles)
            .or_else(|| builtin.iter().find(handles))
            .or_else(|| builtin.iter().find(fallback));
        &found
            .unwrap_or(self.decoders.last().expect("built-in decoders"))
            .1 // the fallback is built in
    }
}

/// Whether a media type says nothing about a record's format (`*/*`, and
/// `application/octet-stream`, what §11.4 gives any bytes it does not
/// know): a decoder given with --decoder that declares one is not chosen
/// by it, only by the key it was given for.
fn names_no_format(media_type: &str) -> bool {
    matches!(media_type, "*/*" | "application/octet-stream")
}

/// How many decoders at the front of the list were given with --decoder.
fn extra_count(decoders: &[(String, Prepared)]) -> usize {
    decoders
        .iter()
        .take_while(|(label, _)| !label.starts_with("built-in "))
        .count()
}

impl Renderer for PackRenderer {
    fn cap(&self) -> u64 {
        self.host.limits().record_cap
    }

    fn render(&mut self, meta: &mut RecordMeta, bytes: Option<&[u8]>, size: u64) {
        crate::identify::identify(meta, bytes, &self.large);
        let Some(loaded) = self.assign(meta) else {
            return;
        };
        let outcome = match bytes {
            None => Err(DecodeError::TooLarge {
                record: meta.path.clone(),
                size,
                cap: self.cap(),
            }),
            Some(b) => self.host.render(&loaded, Facts::of_meta(meta), b),
        };
        self.record(meta, outcome);
    }

    fn render_batch(&mut self, batch: &mut [(&mut RecordMeta, &[u8])]) {
        // Each record's decoder, then one batch of calls per decoder: the
        // worker runs each record in its own instance, as alone.
        let mut groups: Vec<(Arc<Loaded>, Vec<usize>)> = Vec::new();
        for (i, (meta, bytes)) in batch.iter_mut().enumerate() {
            crate::identify::identify(meta, Some(bytes), &self.large);
            let Some(loaded) = self.assign(meta) else {
                continue;
            };
            match groups.iter_mut().find(|(l, _)| l.hash == loaded.hash) {
                Some((_, members)) => members.push(i),
                None => groups.push((loaded, vec![i])),
            }
        }
        let mut outcomes: Vec<Option<Result<Rendered, DecodeError>>> =
            batch.iter().map(|_| None).collect();
        for (loaded, members) in &groups {
            let records: Vec<(Facts, &[u8])> = members
                .iter()
                .map(|&i| (Facts::of_meta(batch[i].0), batch[i].1))
                .collect();
            for (&i, outcome) in members.iter().zip(self.host.render_each(loaded, &records)) {
                outcomes[i] = Some(outcome);
            }
        }
        // Recorded in the records' order, as one at a time.
        for ((meta, _), outcome) in batch.iter_mut().zip(outcomes) {
            if let Some(outcome) = outcome {
                self.record(meta, outcome);
            }
        }
    }
}

impl PackRenderer {
    /// Sets the record's decoder and returns it, or `None` (and no render
    /// outcome) when it is not to be rendered.
    fn assign(&mut self, meta: &mut RecordMeta) -> Option<Arc<Loaded>> {
        let chosen = self.choose(meta);
        meta.decoder = Some(legation_format::manifest::decoder_entry(
            &chosen.loaded.hash,
        ));
        let loaded = chosen.loaded.clone();
        // The built-in fallback's view (statistics and a hex dump) is a
        // function of bytes the content check already covers: it is shown
        // on demand, not recorded, so binary records cost nothing extra.
        let fallback = loaded.info.media_types.iter().any(|m| m == "*/*")
            && extra_count(&self.decoders)
                <= self
                    .decoders
                    .iter()
                    .position(|(_, p)| p.loaded.hash == loaded.hash)
                    .unwrap_or(0);
        // After the machine failed once, packing fails: do not spend time
        // on what will not be written.
        if fallback || self.host_failure.is_some() {
            meta.render = None;
            return None;
        }
        Some(loaded)
    }

    /// Records a render outcome in the record's catalog facts and the
    /// counts.
    fn record(&mut self, meta: &mut RecordMeta, outcome: Result<Rendered, DecodeError>) {
        if self.host_failure.is_some() {
            // Packing fails: what follows is not written.
            meta.render = None;
            return;
        }
        meta.render = Some(match outcome {
            Ok(r) => {
                self.rendered += 1;
                Render::Rendered {
                    blake3: r.hash(),
                    pages: r.pages,
                }
            }
            Err(e) if e.is_host_failure() => {
                self.host_failure = Some(e.to_string());
                return;
            }
            Err(e) => {
                self.not_rendered.push((meta.path.clone(), e.to_string()));
                Render::NotRendered {
                    reason: e.to_string(),
                }
            }
        });
    }
}
