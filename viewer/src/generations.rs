//! Generations of a series (SPEC §33) as the viewer shows them, with no
//! egui: which generation the open file is, the history of the
//! generations present (one row a generation, as `legation log` lists
//! them; a run of absent ones is one row), and a dependent generation's
//! records, read through its series (the list by sections, searches and
//! folders in `app/generation/records`).
//!
//! Memory: one row a generation file and one a run of absent
//! generations, never a list of records; a section of a dependent
//! generation's records is at most one page a run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use legation_format::catalog::CatalogRecord;
use legation_format::crypto::{fingerprint, DataKey};
use legation_format::time::format_rfc3339;
use legation_format::v2::index::Changes;
use legation_format::v2::page::Record;
use legation_format::v2::series::SeriesError;
use legation_reader::decode::{Facts, Host, Loaded};
use legation_reader::series::{GenerationFile, Series, Unlocked as SeriesUnlocked};
use legation_reader::source::ReadAt;
use legation_reader::{Archive, Key as ArchiveKey};

use crate::platform::RenderedRecord;
use crate::reading::{file_name, unlock_error};

/// The open file's series: the files found and what the screens show of
/// them.
pub(crate) struct SeriesView {
    /// The files found (shared with the jobs that read them).
    pub(crate) series: Arc<Series>,
    /// The generation shown.
    pub(crate) current: u64,
    /// Which generation it is.
    pub(crate) facts: GenerationFacts,
    /// The generations present and absent.
    pub(crate) history: History,
}

/// Which generation the open file is, keyless.
pub(crate) struct GenerationFacts {
    pub(crate) sequence: u64,
    pub(crate) created: String,
    /// The issuer keys whose signature over its head verifies.
    pub(crate) signer: String,
    /// First, self-contained, or the generations it reads.
    pub(crate) kind: String,
    pub(crate) series_id: String,
    /// Why the issuer's statements refuse it (SPEC §37), when they do.
    pub(crate) refused: Option<String>,
}

/// One row of the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Row {
    /// A generation whose file was given or found.
    Present {
        sequence: u64,
        created: String,
        records: u64,
        bytes: u64,
        signer: String,
        kind: String,
        /// Its file, as the platform opens it.
        path: PathBuf,
        /// Whether it is the generation shown.
        current: bool,
    },
    /// Generations `from..=to`, whose files were not given; `needed`
    /// when the generation shown reads one of them; `hint`, the name a
    /// later file gives the file (one generation only).
    Absent {
        from: u64,
        to: u64,
        needed: bool,
        hint: Option<String>,
    },
}

/// The generations of the series, oldest first.
pub(crate) struct History {
    pub(crate) rows: Vec<Row>,
    /// The splice rules' findings and the files left out, except the
    /// absences the rows show.
    pub(crate) problems: Vec<String>,
}

/// The signers of a generation, as fingerprints.
fn signer_of(f: &GenerationFile) -> String {
    if f.generation.signers.is_empty() {
        "unsigned (or no signature verifies)".into()
    } else {
        f.generation
            .signers
            .iter()
            .map(fingerprint)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What a generation file is: the first, self-contained, or dependent.
fn kind_of(f: &GenerationFile) -> String {
    match &f.public().series {
        None if f.sequence() == 0 => "first generation".into(),
        None => "self-contained".into(),
        Some(m) => {
            let list: Vec<String> = m.inherits.iter().map(|i| i.sequence.to_string()).collect();
            format!("reads generations {}", list.join(", "))
        }
    }
}

impl SeriesView {
    /// The view of `series` showing generation `current` (a file of it).
    pub(crate) fn of(series: Arc<Series>, current: u64) -> Option<SeriesView> {
        let f = series.file(current)?;
        let facts = GenerationFacts {
            sequence: current,
            created: format_rfc3339(f.generation.head.created),
            signer: signer_of(f),
            kind: match &f.public().series {
                None => kind_of(f),
                Some(m) => {
                    let list: Vec<String> = m
                        .inherits
                        .iter()
                        .map(|i| format!("{} ({})", i.sequence, i.file))
                        .collect();
                    format!(
                        "dependent: its records not changed since lie in generations {}",
                        list.join(", ")
                    )
                }
            },
            series_id: legation_format::hex::encode(&series.archive_id),
            refused: None,
        };
        let history = History::of(&series, current);
        Some(SeriesView {
            series,
            current,
            facts,
            history,
        })
    }

    /// The file of the generation shown.
    pub(crate) fn file(&self) -> &GenerationFile {
        self.series.file(self.current).expect("the view's own file")
    }

    /// Whether the generation shown reads its records through its series.
    pub(crate) fn dependent(&self) -> bool {
        self.file().public().series.is_some()
    }
}

impl History {
    /// The rows of `series` with `current` marked: each generation file
    /// once (by sequence and chain hash: a fork shows both), and between
    /// them, and below the oldest, each run of absent generations as one
    /// row.
    pub(crate) fn of(series: &Series, current: u64) -> History {
        let mut files: Vec<&GenerationFile> = series.files.iter().collect();
        files.sort_by_key(|f| f.sequence());
        let mut seen = BTreeSet::new();
        files.retain(|f| seen.insert((f.sequence(), f.generation.chain)));
        // Names later files give earlier ones, and what the one shown reads.
        let mut hints: BTreeMap<u64, String> = BTreeMap::new();
        for f in &files {
            for i in f.public().series.iter().flat_map(|m| &m.inherits) {
                hints.entry(i.sequence).or_insert_with(|| i.file.clone());
            }
        }
        let needed: BTreeSet<u64> = series
            .file(current)
            .and_then(|f| f.public().series.as_ref())
            .map(|m| m.inherits.iter().map(|i| i.sequence).collect())
            .unwrap_or_default();
        let mut rows = Vec::new();
        let mut next = 0u64;
        let absent = |from: u64, to: u64, rows: &mut Vec<Row>| {
            // Each needed generation on a row of its own (it has a hint).
            let mut start = from;
            for n in needed.range(from..=to).copied() {
                if n > start {
                    rows.push(Row::Absent {
                        from: start,
                        to: n - 1,
                        needed: false,
                        hint: None,
                    });
                }
                rows.push(Row::Absent {
                    from: n,
                    to: n,
                    needed: true,
                    hint: hints.get(&n).cloned(),
                });
                start = n + 1;
            }
            if start <= to {
                rows.push(Row::Absent {
                    from: start,
                    to,
                    needed: false,
                    hint: (start == to).then(|| hints.get(&start).cloned()).flatten(),
                });
            }
        };
        for f in &files {
            let g = f.sequence();
            if g > next {
                absent(next, g - 1, &mut rows);
            }
            let h = &f.generation.head;
            rows.push(Row::Present {
                sequence: g,
                created: format_rfc3339(h.created),
                records: h.records,
                bytes: h.bytes,
                signer: signer_of(f),
                kind: kind_of(f),
                path: f.path.clone(),
                current: g == current && series.file(current).is_some_and(|c| c.path == f.path),
            });
            next = next.max(g.saturating_add(1));
        }
        // Generations absent are rows, not problems.
        let problems = series
            .errors()
            .iter()
            .filter(|e| {
                !matches!(
                    e,
                    SeriesError::SeriesGap { .. } | SeriesError::MissingGeneration { .. }
                )
            })
            .map(|e| e.to_string())
            .chain(series.notes.iter().cloned())
            .collect();
        History { rows, problems }
    }

    /// The generations present.
    pub(crate) fn present(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| matches!(r, Row::Present { .. }))
            .count()
    }
}

/// The files of a folder that may be generations of a series (`*.lgn`),
/// by name.
pub(crate) fn lgn_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "lgn") && p.is_file())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Files found beside an archive: each with its source, or why it could
/// not be read.
pub(crate) type Found = Vec<(PathBuf, Result<Arc<dyn ReadAt>, String>)>;

/// The series of the archive opened at `path` and of the other files
/// given or found beside it (`others`, each with its source or why it
/// could not be read): `None` for a 1.x archive. Other files that do not
/// open, or are of another series, are left out with a note. The
/// issuer's handovers among `statements` let a change of issuers pass
/// (SPEC §37.6).
pub(crate) fn gather(
    path: &Path,
    archive: &Archive,
    others: Found,
    statements: &Result<legation_reader::succession::Statements, String>,
) -> Option<Arc<Series>> {
    let own = GenerationFile::of(path.to_owned(), archive.clone()).ok()?;
    let found = others
        .into_iter()
        .map(|(p, s)| {
            let f = s
                .map_err(|e| legation_reader::Error::ManifestMismatch {
                    entry: p.display().to_string(),
                    what: e,
                })
                .and_then(Archive::open)
                .and_then(|a| GenerationFile::of(p.clone(), a));
            (p, f)
        })
        .collect();
    let series = Series::gather(vec![own], found).ok()?;
    Some(Arc::new(match statements {
        Ok(st) => series.with_statements(st),
        Err(_) => series,
    }))
}

/// The newest generation file of `series` at or below `wanted` (the
/// newest when `None`): where the viewer goes when told a generation.
pub(crate) fn pick(series: &Series, wanted: Option<u64>) -> Option<&GenerationFile> {
    match wanted {
        Some(g) => series.file(g),
        None => series.newest(),
    }
}

/// A dependent generation, unlocked: its data key (checked), what
/// changed against its predecessor and how many records it holds.
pub(crate) struct GenerationKey {
    pub(crate) key: DataKey,
    pub(crate) changes: Option<Changes>,
    pub(crate) records: u64,
}

/// Opens generation `sequence` of `series` with a data key: checks it
/// against the generation's key commitment and reads its index.
pub(crate) fn open_generation(
    series: &Series,
    sequence: u64,
    key: DataKey,
) -> Result<GenerationKey, String> {
    let u = series
        .unlock_with_data_key(sequence, key.clone())
        .map_err(|e| unlock_error(&e))?;
    Ok(GenerationKey {
        key,
        changes: u.changes,
        records: u.head.records,
    })
}

/// Unlocks generation `sequence` of `series` with the user's keys.
pub(crate) fn unlock_generation(
    series: &Series,
    sequence: u64,
    keys: &[ArchiveKey],
) -> Result<GenerationKey, String> {
    let f = series
        .file(sequence)
        .ok_or_else(|| format!("generation {sequence} is not present"))?;
    let key = f
        .archive
        .data_key_with(keys, &mut |_, _| false)
        .map_err(|e| unlock_error(&e))?;
    open_generation(series, sequence, key)
}

/// One record of a dependent generation's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordRow {
    pub(crate) path: String,
    pub(crate) title: Option<String>,
    pub(crate) media_type: String,
    pub(crate) size: u64,
    pub(crate) modified: Option<i64>,
    /// The generation whose file stores its bytes.
    pub(crate) stored_in: u64,
}

/// The name a history row shows for a file.
pub(crate) fn row_name(p: &Path) -> String {
    file_name(p)
}

/// Looks up record `path` of generation `sequence` of `series` (unlocked
/// with `key`) and hands it, with its place, to `f`: one record, whatever
/// the number of records (the merged catalog is searched a page a run).
pub(crate) fn with_record<T>(
    series: &Series,
    sequence: u64,
    key: &DataKey,
    path: &str,
    f: impl FnOnce(&SeriesUnlocked<'_>, &Record, (u64, u64)) -> T,
) -> Result<T, String> {
    let u = series
        .unlock_with_data_key(sequence, key.clone())
        .map_err(|e| e.to_string())?;
    let (rec, place) = u
        .find(path)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{path}: no such record in generation {sequence}"))?;
    Ok(f(&u, &rec, place))
}

/// A series record in the shape the record pane shows (a self-contained
/// archive's catalog record): its facts; where its bytes lie is the
/// series' business, so the entry names the generation whose file
/// stores them.
pub(crate) fn catalog_shape(
    u: &SeriesUnlocked<'_>,
    rec: &Record,
    place: (u64, u64),
) -> CatalogRecord {
    let stored_in = u.bundle_generation(place.0).unwrap_or(u.sequence());
    CatalogRecord {
        path: rec.path.clone(),
        title: rec
            .title
            .clone()
            .unwrap_or_else(|| rec.path.rsplit('/').next().unwrap_or(&rec.path).to_owned()),
        media_type: rec.media_type.clone(),
        size: rec.size,
        blake3: rec.blake3,
        modified: rec.modified.map(format_rfc3339),
        decoder: rec.decoder.clone(),
        render: rec.render.clone(),
        metadata: rec.metadata.clone(),
        entry: format!("generation {stored_in}"),
        stream: [0; 16],
        encoding: rec.encoding,
        stored_size: rec.stored_size,
        offset: place.1,
    }
}

/// The generation's raw decoder (the last for `*/*`), from whichever
/// file stores it.
pub(crate) fn raw_decoder(u: &SeriesUnlocked<'_>) -> Option<String> {
    u.decoders()
        .into_iter()
        .rev()
        .find(|(d, _)| d.media_types.iter().any(|m| m == "*/*"))
        .map(|(d, _)| d.entry)
}

/// Decoder module `entry`, read from the file that stores it (the
/// generation's own, or an earlier one it names) and loaded in `host`.
fn decoder(u: &SeriesUnlocked<'_>, host: &Host, entry: &str) -> Result<Arc<Loaded>, String> {
    let (d, file) = u
        .decoders()
        .into_iter()
        .find(|(d, _)| d.entry == entry)
        .ok_or_else(|| format!("{entry} (not among the generation's decoders)"))?;
    let module = file
        .archive
        .read_entry(&d.entry, host.limits().module_cap as u64)
        .map_err(|e| e.to_string())?;
    host.load(&module, entry).map_err(|e| e.to_string())
}

/// A series record's decoder (`rec`'s, in the shape shown) and its
/// bytes, refusing one over the host's record cap before reading it.
fn decodable(
    u: &SeriesUnlocked<'_>,
    host: &Host,
    rec: &Record,
    place: (u64, u64),
    shown: &CatalogRecord,
) -> Result<(Arc<Loaded>, Vec<u8>), String> {
    let entry = shown
        .decoder
        .as_deref()
        .ok_or_else(|| format!("{}: no decoder is assigned to this record", rec.path))?;
    let loaded = decoder(u, host, entry)?;
    let bytes = u
        .read_record(rec, place, host.limits().record_cap)
        .map_err(|e| e.to_string())?;
    Ok((loaded, bytes))
}

/// Decodes a series record with the decoder `shown` names: the main
/// document and page 1's canonical CBOR, as the record pane takes them.
pub(crate) fn render_first(
    u: &SeriesUnlocked<'_>,
    host: &Host,
    rec: &Record,
    place: (u64, u64),
    shown: &CatalogRecord,
) -> Result<RenderedRecord, String> {
    let (loaded, bytes) = decodable(u, host, rec, place, shown)?;
    let mut first_page = None;
    let rendered = host
        .render_with(&loaded, Facts::of(shown), &bytes, &mut |n, cbor| {
            if n == 1 {
                first_page = Some(cbor.to_vec());
            }
        })
        .map_err(|e| e.to_string())?;
    Ok(RenderedRecord {
        rendered,
        first_page,
    })
}

/// Page `page` (0-based of `pages`) of a series record, decoded with the
/// decoder `shown` names.
pub(crate) fn render_page(
    u: &SeriesUnlocked<'_>,
    host: &Host,
    rec: &Record,
    place: (u64, u64),
    shown: &CatalogRecord,
    page: u32,
    pages: u32,
) -> Result<Vec<u8>, String> {
    let (loaded, bytes) = decodable(u, host, rec, place, shown)?;
    host.page(&loaded, Facts::of(shown), &bytes, page, pages)
        .map_err(|e| e.to_string())
}

/// A series record's first `limit` bytes, for the raw view: the record is
/// streamed through (every chunk authenticated, its BLAKE3 checked) and
/// only its first bytes kept.
pub(crate) fn first_bytes(
    u: &SeriesUnlocked<'_>,
    rec: &Record,
    place: (u64, u64),
    limit: u64,
) -> Result<Vec<u8>, String> {
    struct Head(Vec<u8>, usize);
    impl std::io::Write for Head {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            let room = self.1.saturating_sub(self.0.len()).min(b.len());
            self.0.extend_from_slice(&b[..room]);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let cap = usize::try_from(limit.min(rec.size)).unwrap_or(usize::MAX);
    let mut head = Head(Vec::with_capacity(cap), cap);
    u.copy_record(rec, place, &mut head)
        .map_err(|e| e.to_string())?;
    Ok(head.0)
}
