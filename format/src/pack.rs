//! Packing a folder: walking it, checking names, reading Dublin Core
//! sidecars, and feeding the records to an [`ArchiveWriter`] in path order.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::writer::{ArchiveWriter, RecordMeta, RecordSource};
use crate::{Error, Result};

mod pipeline;
mod walk;

pub use walk::{entry_order, Found, Walk};

/// Suffix of a Dublin Core sidecar: `scan.tif.dc.json` describes `scan.tif`.
pub const SIDECAR_SUFFIX: &str = ".dc.json";

/// The fifteen Dublin Core elements (DCMI, ISO 15836-1) a sidecar may set.
pub const DUBLIN_CORE: [&str; 15] = [
    "contributor",
    "coverage",
    "creator",
    "date",
    "description",
    "format",
    "identifier",
    "language",
    "publisher",
    "relation",
    "rights",
    "source",
    "subject",
    "title",
    "type",
];

/// How to treat what cannot be packed.
#[derive(Debug, Clone, Copy, Default)]
pub struct PackOptions {
    /// Skip (and report) symbolic links, special files and non-UTF-8 names
    /// instead of refusing the whole folder.
    pub skip_unsupported: bool,
    /// Pack files named `*.dc.json` as records rather than reading them as
    /// Dublin Core sidecars (a BagIt bag's payload, which is packed as it is).
    pub no_sidecars: bool,
}

/// One file found by the walk.
#[derive(Debug, Clone)]
pub struct FoundRecord {
    /// Path relative to the folder, NFC, `/`-separated.
    pub path: String,
    /// Where it is on disk.
    pub file: PathBuf,
    /// Its size when found.
    pub size: u64,
    /// Its modification time when found, in seconds since 1970.
    pub modified: Option<i64>,
    /// Its sidecar, if any.
    pub sidecar: Option<PathBuf>,
}

/// What a walk found.
#[derive(Debug, Default)]
pub struct Plan {
    /// Records in path order.
    pub records: Vec<FoundRecord>,
    /// Folders with nothing to pack inside.
    pub empty_dirs: Vec<String>,
    /// What was skipped and why (only with `skip_unsupported`).
    pub skipped: Vec<(String, String)>,
}

impl Plan {
    /// Total bytes of all records.
    pub fn total_bytes(&self) -> u64 {
        self.records.iter().map(|r| r.size).sum()
    }
}

/// Walks `root` and plans what to pack, refusing what cannot be. The plan
/// holds every file's path and metadata: for large folders,
/// [`pack_folder`] walks and packs at once.
pub fn plan(root: &Path, opts: PackOptions) -> Result<Plan> {
    let mut plan = Plan::default();
    for found in Walk::new(root, opts)? {
        match found? {
            Found::Record(r) => plan.records.push(r),
            Found::EmptyDir(d) => plan.empty_dirs.push(d),
            Found::Skipped(path, why) => plan.skipped.push((path, why)),
        }
    }
    // In record order already; empty folders in path order too.
    plan.empty_dirs.sort();
    Ok(plan)
}

/// Reads a Dublin Core sidecar: a JSON object whose keys are Dublin Core
/// element names and whose values are strings or arrays of strings.
pub fn read_sidecar(file: &Path) -> Result<BTreeMap<String, Vec<String>>> {
    let name = file.display().to_string();
    let bytes = fs::read(file).map_err(|e| Error::io(format!("reading {name}"), e))?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| Error::Json {
        entry: name.clone(),
        reason: e.to_string(),
    })?;
    let obj = v
        .as_object()
        .ok_or_else(|| Error::invalid(&name, "a sidecar is a JSON object"))?;
    let mut out = BTreeMap::new();
    for (k, v) in obj {
        let key = k.strip_prefix("dc:").unwrap_or(k);
        if !DUBLIN_CORE.contains(&key) {
            return Err(Error::invalid(
                &name,
                format!(
                    "{k:?} is not a Dublin Core element ({})",
                    DUBLIN_CORE.join(", ")
                ),
            ));
        }
        let values = match v {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(a) => a
                .iter()
                .map(|x| x.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| Error::invalid(&name, format!("{k:?}: arrays hold strings only")))?,
            _ => {
                return Err(Error::invalid(
                    &name,
                    format!("{k:?}: a value is a string or an array of strings"),
                ))
            }
        };
        out.insert(key.to_owned(), values);
    }
    Ok(out)
}

/// Builds a record's description: sidecar metadata, title, media type and
/// modification time.
pub fn describe(r: &FoundRecord, head: &[u8]) -> Result<RecordMeta> {
    let modified = r.modified;
    let metadata = match &r.sidecar {
        Some(s) => read_sidecar(s)?,
        None => BTreeMap::new(),
    };
    let title = metadata
        .get("title")
        .and_then(|t| t.first())
        .cloned()
        .unwrap_or_default();
    let media_type = crate::media::detect(&r.path, head).to_owned();
    Ok(RecordMeta {
        render: None,
        path: r.path.clone(),
        title,
        media_type,
        modified,
        decoder: None,
        metadata,
    })
}

/// A file's modification time in seconds since 1970, if it has one.
pub(crate) fn seconds_modified(m: &fs::Metadata) -> Option<i64> {
    m.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
}

/// Chooses each record's decoder and renders it at pack time. The command
/// implements this with a WebAssembly host; the format knows no engine.
pub trait Renderer {
    /// Largest record rendered; larger ones are streamed and get
    /// `bytes: None`.
    fn cap(&self) -> u64;
    /// Sets `meta.decoder` and `meta.render` for a record of `size` bytes,
    /// given its bytes when it is not over [`Renderer::cap`].
    fn render(&mut self, meta: &mut RecordMeta, bytes: Option<&[u8]>, size: u64);
    /// [`Renderer::render`] of records read whole (none over
    /// [`Renderer::cap`]), in order, each with the outcome it would have
    /// alone; a renderer may hand them to its engine together.
    fn render_batch(&mut self, batch: &mut [(&mut RecordMeta, &[u8])]) {
        for (meta, bytes) in batch.iter_mut() {
            self.render(meta, Some(bytes), bytes.len() as u64);
        }
    }
}

/// Where packed records go: an archive writer of format 1.x or 2.0.
pub trait RecordSink {
    /// Records an empty folder.
    fn add_empty_dir(&mut self, path: &str) -> Result<()>;
    /// Adds one record (records come in strictly increasing path order).
    fn add_record(&mut self, meta: RecordMeta, source: RecordSource<'_>) -> Result<()>;
}

impl<W: Write + Seek + Send, R: rand_core::CryptoRngCore> RecordSink for ArchiveWriter<W, R> {
    fn add_empty_dir(&mut self, path: &str) -> Result<()> {
        ArchiveWriter::add_empty_dir(self, path)
    }
    fn add_record(&mut self, meta: RecordMeta, source: RecordSource<'_>) -> Result<()> {
        ArchiveWriter::add_record(self, meta, source)
    }
}

/// Packs every planned record into `writer`, calling `progress` with the
/// record path and the bytes of it about to be written. Records are taken
/// out of the plan as they are packed, so its memory is given back while
/// the writer's grows.
pub fn pack_plan(
    plan: &mut Plan,
    writer: &mut impl RecordSink,
    renderer: Option<&mut (dyn Renderer + Send)>,
    progress: impl FnMut(&str, u64),
) -> Result<()> {
    for d in &plan.empty_dirs {
        writer.add_empty_dir(d)?;
    }
    let records = std::mem::take(&mut plan.records);
    // Read, rendered and written by three threads (see `pipeline`).
    let found = records.into_iter().map(|r| Ok(Found::Record(r)));
    pipeline::pack_records(found, writer, renderer, progress, |_, _| {})?;
    Ok(())
}

/// What [`pack_folder`] packed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Packed {
    /// Records packed.
    pub records: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Empty folders recorded.
    pub empty_dirs: u64,
    /// Entries skipped (only with [`PackOptions::skip_unsupported`]).
    pub skipped: u64,
}

/// Walks `root` and packs what it finds into `writer` at once, in record
/// order, refusing what [`plan`] refuses: memory is bounded by the
/// listings of the folders on the walk's current path and the pipeline's
/// read-ahead, not by the number of files. `progress` is called with each
/// record's path and size before it is written, `skipped` with each
/// skipped entry and why.
pub fn pack_folder(
    root: &Path,
    opts: PackOptions,
    writer: &mut impl RecordSink,
    renderer: Option<&mut (dyn Renderer + Send)>,
    progress: impl FnMut(&str, u64),
    skipped: impl FnMut(&str, &str),
) -> Result<Packed> {
    pack_walk(Walk::new(root, opts)?, writer, renderer, progress, skipped)
}

/// [`pack_folder`] of a walk made already (one [`Walk::excluding`] the
/// archive being written, say).
pub fn pack_walk(
    walk: Walk,
    writer: &mut impl RecordSink,
    renderer: Option<&mut (dyn Renderer + Send)>,
    progress: impl FnMut(&str, u64),
    skipped: impl FnMut(&str, &str),
) -> Result<Packed> {
    pipeline::pack_records(walk, writer, renderer, progress, skipped)
}

/// [`pack_walk`] of any iterator of what a walk finds, in record order
/// (a walk with records of the caller's merged in, say).
pub fn pack_found(
    found: impl Iterator<Item = Result<Found>> + Send,
    writer: &mut impl RecordSink,
    renderer: Option<&mut (dyn Renderer + Send)>,
    progress: impl FnMut(&str, u64),
    skipped: impl FnMut(&str, &str),
) -> Result<Packed> {
    pipeline::pack_records(found, writer, renderer, progress, skipped)
}

fn read_up_to(f: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut at = 0;
    while at < buf.len() {
        match f.read(&mut buf[at..])? {
            0 => break,
            n => at += n,
        }
    }
    Ok(at)
}
