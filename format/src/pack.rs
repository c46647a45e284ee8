//! Packing a folder: walking it, checking names, reading Dublin Core
//! sidecars, and feeding the records to an [`ArchiveWriter`] in path order.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use unicode_normalization::UnicodeNormalization;

use crate::writer::{ArchiveWriter, RecordMeta, RecordSource};
use crate::{Error, Result};

mod pipeline;

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

/// Walks `root` and plans what to pack, refusing what cannot be.
pub fn plan(root: &Path, opts: PackOptions) -> Result<Plan> {
    let meta =
        fs::metadata(root).map_err(|e| Error::io(format!("reading {}", root.display()), e))?;
    if !meta.is_dir() {
        return Err(Error::Unsupported {
            path: root.display().to_string(),
            what: "is not a folder".into(),
        });
    }
    let mut plan = Plan::default();
    let mut sidecars: HashMap<String, PathBuf> = HashMap::new();
    walk(root, "", opts, &mut plan, &mut sidecars)?;
    // Names that collide once case and Unicode normalization are ignored
    // would overwrite each other when extracted on many file systems.
    let mut seen: HashMap<String, String> = HashMap::new();
    let sidecar_names: Vec<String> = sidecars
        .keys()
        .map(|k| format!("{k}{SIDECAR_SUFFIX}"))
        .collect();
    let all = plan
        .records
        .iter()
        .map(|r| &r.path)
        .chain(plan.empty_dirs.iter())
        .chain(sidecar_names.iter());
    for p in all {
        let key: String = p.nfc().flat_map(char::to_lowercase).collect();
        if let Some(other) = seen.insert(key, p.clone()) {
            if &other != p {
                return Err(Error::Unsupported {
                    path: p.clone(),
                    what: format!(
                        "collides with {other:?} when case or Unicode normalization is ignored"
                    ),
                });
            }
            return Err(Error::Unsupported {
                path: p.clone(),
                what: "appears twice after Unicode normalization".into(),
            });
        }
    }
    for r in &mut plan.records {
        r.sidecar = sidecars.remove(&r.path);
    }
    if let Some((target, file)) = sidecars.into_iter().min() {
        return Err(Error::Unsupported {
            path: file.display().to_string(),
            what: format!("Dublin Core sidecar for {target:?}, which is not a file in the folder"),
        });
    }
    plan.records.sort_by(|a, b| a.path.cmp(&b.path));
    plan.empty_dirs.sort();
    Ok(plan)
}

/// Returns whether anything packable was found below `dir`.
fn walk(
    dir: &Path,
    rel: &str,
    opts: PackOptions,
    plan: &mut Plan,
    sidecars: &mut HashMap<String, PathBuf>,
) -> Result<bool> {
    let read = fs::read_dir(dir).map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
    let mut any = false;
    let mut children: Vec<_> = read
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
    children.sort_by_key(|c| c.file_name());
    for child in children {
        let full = child.path();
        let unsupported = |plan: &mut Plan, what: &str| -> Result<()> {
            if opts.skip_unsupported {
                plan.skipped
                    .push((full.display().to_string(), what.to_owned()));
                Ok(())
            } else {
                Err(Error::Unsupported {
                    path: full.display().to_string(),
                    what: what.to_owned(),
                })
            }
        };
        let Some(name) = child
            .file_name()
            .to_str()
            .map(|n| n.nfc().collect::<String>())
        else {
            unsupported(plan, "name is not valid UTF-8")?;
            continue;
        };
        let path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if let Err(what) = crate::catalog::check_record_path(&path) {
            unsupported(plan, &what)?;
            continue;
        }
        let ft = fs::symlink_metadata(&full)
            .map_err(|e| Error::io(format!("reading {}", full.display()), e))?;
        if ft.file_type().is_symlink() {
            unsupported(plan, "is a symbolic link")?;
        } else if ft.is_dir() {
            any |= walk(&full, &path, opts, plan, sidecars)?;
        } else if ft.is_file() {
            any = true;
            if let Some(target) = path.strip_suffix(SIDECAR_SUFFIX) {
                sidecars.insert(target.to_owned(), full);
            } else {
                plan.records.push(FoundRecord {
                    path,
                    file: full,
                    size: ft.len(),
                    sidecar: None,
                });
            }
        } else {
            unsupported(plan, "is a special file (device, socket or pipe)")?;
        }
    }
    if !any && !rel.is_empty() {
        plan.empty_dirs.push(rel.to_owned());
        return Ok(true);
    }
    Ok(any)
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
    let metadata = match &r.sidecar {
        Some(s) => read_sidecar(s)?,
        None => BTreeMap::new(),
    };
    let title = metadata
        .get("title")
        .and_then(|t| t.first())
        .cloned()
        .unwrap_or_default();
    let modified = fs::metadata(&r.file)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64);
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
    pipeline::pack_records(records, writer, renderer, progress)
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
