//! Reading a series of generations (SPEC §33): finding the generation
//! files (a file, several files, a folder; beside a file, the other
//! `*.lgn` of its folder), the splice rules over them, and a generation's
//! catalog read through its runs, its records' bytes wherever their
//! bundles lie, its content verification and the keyless audit of every
//! file it uses.
//!
//! A generation's catalog is the merge of its runs by path (the newest
//! run that holds a path decides; a tombstone removes it). A
//! self-contained generation (any generation 0, or a compacted one) is
//! read the same way, as one base run. Memory: one page a run while
//! listing, the index, one line a generation file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use legation_format::crypto::{self, DataKey, StreamId, CHUNK_SIZE, SEALED_CHUNK};
use legation_format::v2::index::{Changes, Index, RunPage, SeriesBundle, SeriesIndex};
use legation_format::v2::page::{self, Record, SeriesItem, Tables};
use legation_format::v2::series::{self, Chain, Generation, SeriesError};
use legation_format::v2::writer::update::{Previous, UpdateTarget};
use legation_format::v2::{self, head};
use zeroize::Zeroizing;

use crate::source::FileSource;
use crate::unlocked::Key;
use crate::{Archive, Error, Result};

mod check;
pub use check::{GenerationCheck, NOT_RENDERED_KEPT};

/// One generation file found, opened (its public tail read).
pub struct GenerationFile {
    /// Where it is (a path), as given or found.
    pub path: PathBuf,
    /// The archive, opened.
    pub archive: Archive,
    /// What the splice rules need of it.
    pub generation: Generation,
}

impl GenerationFile {
    /// Opens one file as a generation of a series (a 2.0 archive).
    pub fn open(path: &Path) -> Result<GenerationFile> {
        let source = FileSource::open(path).map_err(|e| Error::Source {
            what: "the generation file".into(),
            source_name: path.display().to_string(),
            source: e,
        })?;
        GenerationFile::of(path.to_owned(), Archive::open(source)?)
    }

    /// An archive opened elsewhere (an object on a store: `path` is then
    /// its URL) as a generation of a series.
    pub fn of(path: PathBuf, archive: Archive) -> Result<GenerationFile> {
        let opened = archive.v2().ok_or_else(|| Error::ManifestMismatch {
            entry: path.display().to_string(),
            what: "a format 1.x archive is not a generation of a series".into(),
        })?;
        let issuers: Vec<[u8; 32]> = opened.public.issuers.iter().map(|i| i.public_key).collect();
        let signers = opened
            .signatures
            .as_ref()
            .map(|lines| {
                lines
                    .iter()
                    .filter(|l| head::verify(l, &opened.head_bytes) == Some(true))
                    .filter_map(|l| <[u8; 32]>::try_from(l.public_key.as_slice()).ok())
                    .filter(|k| issuers.contains(k))
                    .collect()
            })
            .unwrap_or_default();
        let generation = Generation {
            file: path.display().to_string(),
            head: opened.head.clone(),
            chain: head::chain_hash(&opened.head_bytes, &opened.signatures_bytes),
            issuers,
            ml_dsa_65: opened.public.issuers.ml_dsa_65.clone(),
            signers,
        };
        Ok(GenerationFile {
            path,
            archive,
            generation,
        })
    }

    /// The generation's sequence.
    pub fn sequence(&self) -> u64 {
        self.generation.head.sequence
    }

    /// Its public facts.
    pub fn public(&self) -> &v2::public::Public {
        &self.archive.v2().expect("opened as 2.0").public
    }

    /// What breaks SPEC §33.2 in its `series` member, as a line naming
    /// the file.
    fn member_problem(&self) -> Option<String> {
        let m = self
            .public()
            .series
            .as_ref()?
            .check(self.sequence())
            .err()?;
        Some(format!("{}: public.json: {m}", self.path.display()))
    }
}

/// The generation files of one series, as found, and their chain.
pub struct Series {
    /// Every file of the series found (other series' files in a folder
    /// are left out, with a note).
    pub files: Vec<GenerationFile>,
    /// The series' archive id.
    pub archive_id: [u8; 16],
    /// What was left out, and why (files of other series in a folder,
    /// files that are not archives).
    pub notes: Vec<String>,
    /// The chain when the splice rules pass.
    pub chain: std::result::Result<Chain, Vec<SeriesError>>,
}

/// Every `*.lgn` file of `dir`, highest name first.
fn lgn_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let read = std::fs::read_dir(dir).map_err(|e| Error::Source {
        what: "the series folder".into(),
        source_name: dir.display().to_string(),
        source: e,
    })?;
    let mut out: Vec<PathBuf> = read
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "lgn") && p.is_file())
        .collect();
    out.sort();
    out.reverse();
    Ok(out)
}

impl Series {
    /// Finds a series from what a user gives: files (the first is the
    /// series' newest unless a later one has a higher sequence), folders
    /// (every `*.lgn` in them), and beside the first file every other
    /// `*.lgn` of its folder (SPEC §33.2: the hints and the listing).
    /// Files given explicitly that are of another series are
    /// [`SeriesError::OtherSeries`]; those found in a folder are left out
    /// with a note.
    pub fn find(given: &[PathBuf]) -> Result<Series> {
        let mut explicit = Vec::new();
        let mut listed = Vec::new();
        for p in given {
            if p.is_dir() {
                listed.extend(lgn_files(p)?);
            } else {
                explicit.push(p.clone());
                if let Some(dir) = p.parent() {
                    let dir = if dir.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        dir
                    };
                    listed.extend(lgn_files(dir)?);
                }
            }
        }
        let mut files: Vec<GenerationFile> = Vec::new();
        let same = |a: &Path, b: &Path| {
            a == b
                || std::fs::canonicalize(a)
                    .ok()
                    .zip(std::fs::canonicalize(b).ok())
                    .is_some_and(|(x, y)| x == y)
        };
        for p in &explicit {
            if files.iter().any(|f| same(&f.path, p)) {
                continue;
            }
            files.push(GenerationFile::open(p)?);
        }
        let mut found: Vec<(PathBuf, Result<GenerationFile>)> = Vec::new();
        for p in &listed {
            if files.iter().any(|f| same(&f.path, p)) || found.iter().any(|(q, _)| same(q, p)) {
                continue;
            }
            found.push((p.clone(), GenerationFile::open(p)));
        }
        Series::gather(files, found)
    }

    /// The series of the files given (`files`, the first deciding the
    /// series) and of those found beside them (`found`, each as its name
    /// and what opening it gave): a found file that does not open or is
    /// of another series is left out with a note.
    pub fn gather(
        mut files: Vec<GenerationFile>,
        found: Vec<(PathBuf, Result<GenerationFile>)>,
    ) -> Result<Series> {
        let mut notes = Vec::new();
        let found: Vec<GenerationFile> = found
            .into_iter()
            .filter_map(|(p, f)| {
                f.map_err(|e| {
                    notes.push(format!(
                        "{}: left out, not a 2.0 archive ({e})",
                        p.display()
                    ))
                })
                .ok()
            })
            .collect();
        // The series: the first file given, else the highest sequence in
        // the folder.
        let archive_id = match files.first() {
            Some(f) => f.generation.head.archive_id,
            None => found
                .iter()
                .max_by_key(|f| f.sequence())
                .map(|f| f.generation.head.archive_id)
                .ok_or_else(|| Error::MissingEntry {
                    entry: "a generation file (*.lgn)".into(),
                })?,
        };
        for f in found {
            if f.generation.head.archive_id == archive_id {
                files.push(f);
            } else {
                notes.push(format!(
                    "{}: left out, a file of another series ({})",
                    f.path.display(),
                    legation_format::hex::encode(&f.generation.head.archive_id)
                ));
            }
        }
        Ok(Series::of(files, archive_id, notes))
    }

    /// The series of these files (checked by the splice rules).
    pub fn of(files: Vec<GenerationFile>, archive_id: [u8; 16], notes: Vec<String>) -> Series {
        let gens: Vec<Generation> = files.iter().map(|f| f.generation.clone()).collect();
        let chain = series::check_chain(&archive_id, &gens);
        Series {
            files,
            archive_id,
            notes,
            chain,
        }
    }

    /// Checks the splice rules again with the issuer's handovers a reader
    /// has (given, or in `issuer/` beside the series, each with its
    /// file): a change of issuers they account for passes (2.2, SPEC
    /// §37.6).
    pub fn with_handovers(
        mut self,
        handovers: &[(legation_format::v2::succession::Handover, String)],
    ) -> Series {
        let gens = self.generations();
        self.chain = series::check_chain_handed(&self.archive_id, &gens, handovers);
        self
    }

    /// The generations, as the splice rules see them.
    pub fn generations(&self) -> Vec<Generation> {
        self.files.iter().map(|f| f.generation.clone()).collect()
    }

    /// The splice errors, if any.
    pub fn errors(&self) -> &[SeriesError] {
        match &self.chain {
            Ok(_) => &[],
            Err(e) => e,
        }
    }

    /// The file of generation `sequence` (the first found when copies
    /// or a fork hold it).
    pub fn file(&self, sequence: u64) -> Option<&GenerationFile> {
        self.files.iter().find(|f| f.sequence() == sequence)
    }

    /// The newest generation present.
    pub fn newest(&self) -> Option<&GenerationFile> {
        self.files.iter().max_by_key(|f| f.sequence())
    }

    /// The files generation `sequence` reads (its own, then each it
    /// inherits, found by chain hash), by sequence.
    pub fn files_of(
        &self,
        sequence: u64,
    ) -> std::result::Result<BTreeMap<u64, &GenerationFile>, SeriesError> {
        let own = self.file(sequence).ok_or(SeriesError::MissingGeneration {
            sequence,
            hint: "(not given)".into(),
        })?;
        let mut out = BTreeMap::new();
        out.insert(sequence, own);
        if let Some(member) = &own.public().series {
            let gens = self.generations();
            let chain = match &self.chain {
                Ok(c) => c.clone(),
                // Resolve by what is present even when the chain has
                // errors elsewhere (they are reported on their own).
                Err(_) => {
                    let mut c = Chain::default();
                    for (i, g) in gens.iter().enumerate() {
                        if g.head.archive_id == self.archive_id {
                            c.by_sequence.entry(g.head.sequence).or_insert(i);
                        }
                    }
                    c
                }
            };
            for (item, i) in member
                .inherits
                .iter()
                .zip(series::resolve(member, &gens, &chain)?)
            {
                out.insert(item.sequence, &self.files[i]);
            }
        }
        Ok(out)
    }

    /// The keyless audit of generation `sequence` (SPEC §33.7): the
    /// fixity check of its own file and of every file it inherits, then
    /// the splice rules over every file present. Problems as lines naming
    /// the file; empty when all pass.
    pub fn audit(
        &self,
        sequence: u64,
        pinned: Option<&[u8; 32]>,
        progress: crate::verify::Progress<'_>,
    ) -> Vec<String> {
        let mut problems: Vec<String> = self.errors().iter().map(|e| e.to_string()).collect();
        let files = match self.files_of(sequence) {
            Ok(f) => f,
            Err(e) => {
                problems.push(e.to_string());
                return problems;
            }
        };
        let total: u64 = files.values().map(|f| f.archive.len()).sum();
        let mut done = 0u64;
        for f in files.values() {
            let report = f
                .archive
                .verify_fixity(pinned, &mut |d, _| progress(done + d, total));
            done += f.archive.len();
            for p in &report.problems {
                problems.push(format!(
                    "{}: {}: {}",
                    f.path.display(),
                    p.subject,
                    p.message
                ));
            }
            problems.extend(f.member_problem());
        }
        problems
    }

    /// What ties the files present together, for every generation
    /// present: the splice errors, each generation whose inherited files
    /// are not all present (naming it), and each dependent file's
    /// `series` member that breaks §33.2. Lines; empty when all hold.
    pub fn links(&self) -> Vec<String> {
        let mut problems: Vec<String> = self.errors().iter().map(|e| e.to_string()).collect();
        let mut seen = std::collections::BTreeSet::new();
        for f in &self.files {
            if !seen.insert((f.sequence(), f.generation.chain)) {
                continue;
            }
            if let Err(e) = self.files_of(f.sequence()) {
                problems.push(format!(
                    "{} (generation {}): {e}",
                    f.path.display(),
                    f.sequence()
                ));
            }
            problems.extend(f.member_problem());
        }
        problems
    }

    /// Opens generation `sequence` with `keys`: its data key from its own
    /// key slots, its index, and the files it reads.
    pub fn unlock(&self, sequence: u64, keys: &[Key]) -> Result<Unlocked<'_>> {
        let files = self.files_of(sequence).map_err(series_error)?;
        let own = files[&sequence];
        let key = own.archive.data_key_with(keys, &mut |_, _| false)?;
        Unlocked::open(self, files, key)
    }

    /// Opens generation `sequence` with a data key found elsewhere (a
    /// viewer derives it away from its window, or carries it from another
    /// generation of the series), checked against the generation's key
    /// commitment first.
    pub fn unlock_with_data_key(&self, sequence: u64, key: DataKey) -> Result<Unlocked<'_>> {
        let files = self.files_of(sequence).map_err(series_error)?;
        let m = files[&sequence].archive.manifest();
        if blake3::Hash::from(key.commitment(&m.archive_id)) != blake3::Hash::from(m.key_commitment)
        {
            return Err(Error::KeyCommitment { slot: 0 }.for_v2());
        }
        Unlocked::open(self, files, key)
    }
}

/// A splice error as a reader error (a fixity failure).
pub fn series_error(e: SeriesError) -> Error {
    Error::ManifestMismatch {
        entry: "series".into(),
        what: e.to_string(),
    }
}

/// The cuts of [`Unlocked::cuts`] from each run's pages' last paths
/// (newest run first, the base run last).
fn section_cuts<'p>(runs: &[Vec<&'p str>]) -> Vec<&'p str> {
    let Some((base, overlays)) = runs.split_last() else {
        return Vec::new();
    };
    let mut cuts = base.clone();
    // The last section runs to the end of every run.
    if let Some(end) = runs.iter().filter_map(|r| r.last().copied()).max() {
        match cuts.last_mut() {
            Some(l) => *l = end,
            None => cuts.push(end),
        }
    }
    let mut extra = Vec::new();
    for run in overlays {
        for w in run.windows(2) {
            // Two pages of a run may share a section, three may not: a
            // cut at or after the first's last and at or before the next's.
            let at = cuts.partition_point(|c| *c < w[0]);
            if cuts.get(at).is_none_or(|c| *c > w[1]) {
                extra.push(w[0]);
            }
        }
    }
    cuts.extend(extra);
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

/// A page item and, for a live one, its place.
pub type Item = (SeriesItem, Option<(u64, u64)>);

/// One record of a generation's catalog and where its stored bytes lie:
/// `(bundle, offset)`, the bundle an index into the generation's list.
pub type Placed = (Record, (u64, u64));

/// A generation of a series, unlocked.
pub struct Unlocked<'a> {
    /// The generation's head.
    pub head: head::Head,
    /// What changed against the previous generation (`None` for a
    /// self-contained generation).
    pub changes: Option<Changes>,
    files: BTreeMap<u64, &'a GenerationFile>,
    key: DataKey,
    archive_id: [u8; 16],
    tables: Tables,
    bundles: Vec<SeriesBundle>,
    /// Newest first; the last is the base run.
    runs: Vec<Vec<RunPage>>,
    /// The logical page roots (series form only).
    roots: Option<Vec<[u8; 32]>>,
    /// Whether the index is the series form (pages may use bits 5, 6).
    series_form: bool,
    /// Empty folders.
    pub empty_dirs: Vec<String>,
    /// The overlay runs' items (for the rebase rule).
    overlay_items: u64,
}

impl<'a> Unlocked<'a> {
    fn open(
        s: &'a Series,
        files: BTreeMap<u64, &'a GenerationFile>,
        key: DataKey,
    ) -> Result<Unlocked<'a>> {
        let sequence = *files.keys().next_back().expect("own file");
        let own = files[&sequence];
        let public = own.public();
        let name = v2::INDEX_ENTRY;
        let e = own.archive.entry(name)?;
        let cap = crypto::sealed_len(legation_format::v2::index::MAX_INDEX_BYTES as u64);
        if e.size > cap {
            return Err(Error::TooLarge {
                entry: name.into(),
                size: e.size,
                limit: cap,
            });
        }
        let mut sealed = vec![0u8; e.size as usize];
        own.archive.read_at(e.data_offset(), &mut sealed, name)?;
        let sk = key.stream_key(&s.archive_id, StreamId::Index(public.catalog.index_stream));
        let deflated =
            Zeroizing::new(
                crypto::open_stream(&sk, &sealed).map_err(|chunk| Error::Chunk {
                    what: "catalog".into(),
                    entry: format!("{}: {name}", own.path.display()),
                    chunk,
                })?,
            );
        let mismatch = |what: String| Error::ManifestMismatch {
            entry: format!("{}: {name}", own.path.display()),
            what,
        };
        let head = own.generation.head.clone();
        let mut u = if let Some(member) = &public.series {
            let (idx, form) = SeriesIndex::parse_form(&deflated, name)?;
            let names_earlier = member.decoders().next().is_some();
            if names_earlier != (form == legation_format::v2::index::SERIES_FORM_INHERITED_DECODERS)
            {
                return Err(mismatch(format!(
                    "form {form}, but public.json's series {} decoders of earlier files \
                     (2.1: form 3 exactly when it names one)",
                    if names_earlier { "names" } else { "names no" }
                )));
            }
            let inherited: Vec<u64> = member.inherits.iter().map(|i| i.sequence).collect();
            let entries = own.archive.entries();
            idx.check_files(
                name,
                sequence,
                &inherited,
                public.catalog.pages,
                public.bundles,
                &|n| entries.iter().find(|e| e.name == n).map(|e| e.size),
            )?;
            let prev = Previous::from_series(
                head.clone(),
                own.generation.chain,
                public.clone(),
                String::new(),
                idx.clone(),
            );
            Unlocked {
                changes: Some(idx.changes),
                files,
                key,
                archive_id: s.archive_id,
                tables: idx.tables,
                bundles: idx.bundles,
                overlay_items: prev.overlay_items,
                runs: idx.runs,
                roots: Some(idx.roots),
                series_form: true,
                empty_dirs: idx.empty_dirs,
                head: head.clone(),
            }
        } else {
            let idx = Index::parse(&deflated, name)?;
            let prev = Previous::from_plain(
                head.clone(),
                own.generation.chain,
                public.clone(),
                String::new(),
                idx.clone(),
                own.archive.entries(),
            )
            .ok_or_else(|| mismatch("names a bundle or page the file does not hold".into()))?;
            Unlocked {
                changes: None,
                files,
                key,
                archive_id: s.archive_id,
                tables: prev.tables,
                bundles: prev.bundles,
                runs: vec![prev.base],
                roots: None,
                series_form: false,
                empty_dirs: idx.empty_dirs,
                overlay_items: 0,
                head: head.clone(),
            }
        };
        if u.runs
            .iter()
            .flatten()
            .any(|p| !u.files.contains_key(&p.generation))
            || u.bundles
                .iter()
                .any(|b| !u.files.contains_key(&b.generation))
        {
            return Err(mismatch(
                "names a generation whose file is not found".into(),
            ));
        }
        let mut listed: std::collections::HashSet<&str> =
            public.decoders.iter().map(|d| d.entry.as_str()).collect();
        // 2.1: a decoder of an earlier file, as that file lists it.
        for (g, d) in public.series.iter().flat_map(|m| m.decoders()) {
            let there = u.files.get(&g).map(|f| &f.public().decoders);
            if !there.is_some_and(|list| list.contains(d)) {
                return Err(mismatch(format!(
                    "public.json's series names decoder {} of generation {g}, which that \
                     generation's file does not list as named",
                    d.entry
                )));
            }
            if !listed.insert(d.entry.as_str()) {
                return Err(mismatch(format!(
                    "decoder {} is both stored here and named in generation {g}",
                    d.entry
                )));
            }
        }
        if let Some(d) = u
            .tables
            .decoders
            .iter()
            .find(|d| !listed.contains(d.as_str()))
        {
            return Err(mismatch(format!(
                "its decoder table names {d}, which public.json's decoders do not list"
            )));
        }
        u.empty_dirs.sort();
        Ok(u)
    }

    /// Every decoder module the generation may name, with the file that
    /// stores it (its own, or for a 2.1 generation an earlier one).
    pub fn decoders(&self) -> Vec<(legation_format::manifest::DecoderRef, &'a GenerationFile)> {
        let own = self.files[&self.head.sequence];
        let mut out: Vec<_> = own
            .public()
            .decoders
            .iter()
            .map(|d| (d.clone(), own))
            .collect();
        for (g, d) in own.public().series.iter().flat_map(|m| m.decoders()) {
            if let Some(f) = self.files.get(&g) {
                out.push((d.clone(), *f));
            }
        }
        out
    }

    /// The data key.
    pub fn data_key(&self) -> &DataKey {
        &self.key
    }

    /// The generation's sequence.
    pub fn sequence(&self) -> u64 {
        self.head.sequence
    }

    /// What the update writer needs to write the next generation.
    pub fn previous(&self) -> Previous {
        let own = self.files[&self.head.sequence];
        let mut runs = self.runs.clone();
        let base = runs.pop().unwrap_or_default();
        Previous {
            head: self.head.clone(),
            chain: own.generation.chain,
            public: own.public().clone(),
            file: own
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            tables: self.tables.clone(),
            bundles: self.bundles.clone(),
            base,
            overlay_items: self.overlay_items,
        }
    }

    /// The generation whose file stores bundle `bundle` (an index into
    /// the generation's list, as a record's place names it).
    pub fn bundle_generation(&self, bundle: u64) -> Option<u64> {
        usize::try_from(bundle)
            .ok()
            .and_then(|b| self.bundles.get(b))
            .map(|b| b.generation)
    }

    /// The number of runs (1 for a self-contained generation).
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    /// Page `i` of run `r`, decrypted and parsed, with its live items'
    /// places.
    fn page(&self, r: usize, i: usize) -> Result<Vec<Item>> {
        let p = &self.runs[r][i];
        let f = self.files[&p.generation];
        let name = v2::page_entry(p.entry);
        let what = format!("{} (generation {}): {name}", f.path.display(), p.generation);
        let e = f.archive.entry(&name)?;
        if e.size != p.size && p.generation == self.head.sequence {
            return Err(Error::ManifestMismatch {
                entry: what,
                what: format!("holds {} bytes, the index says {}", e.size, p.size),
            });
        }
        let cap = crypto::sealed_len(
            page::MAX_PAGE_BYTES as u64 + page::MAX_PAGE_BYTES as u64 / 64 + 4096,
        );
        if e.size > cap {
            return Err(Error::TooLarge {
                entry: what,
                size: e.size,
                limit: cap,
            });
        }
        let mut sealed = vec![0u8; e.size as usize];
        f.archive.read_at(e.data_offset(), &mut sealed, &name)?;
        let sk = self
            .key
            .stream_key(&self.archive_id, StreamId::Page(p.stream));
        let deflated =
            Zeroizing::new(
                crypto::open_stream(&sk, &sealed).map_err(|chunk| Error::Chunk {
                    what: "catalog".into(),
                    entry: what.clone(),
                    chunk,
                })?,
            );
        let base = r + 1 == self.runs.len();
        let items = if self.series_form {
            page::parse_series_page(&deflated, &self.tables, &what, !base)?
        } else {
            page::parse_page(&deflated, &self.tables, &what)?
                .into_iter()
                .map(|r| SeriesItem::Live(r, None))
                .collect()
        };
        if items.len() != p.count as usize
            || items.last().map(|i| i.path()) != Some(p.last.as_str())
        {
            return Err(Error::ManifestMismatch {
                entry: what,
                what: "its items are not what the index's line says (count, last path)".into(),
            });
        }
        if i > 0 && items[0].path() <= self.runs[r][i - 1].last.as_str() {
            return Err(Error::ManifestMismatch {
                entry: what,
                what: "its paths are not where the index places the page".into(),
            });
        }
        let places = page::locate_series(&items, p.first_bundle, p.first_offset);
        Ok(items.into_iter().zip(places).collect())
    }

    /// The record at `path`, if the generation holds it: one page a run
    /// that might hold it, newest first.
    pub fn find(&self, path: &str) -> Result<Option<Placed>> {
        for r in 0..self.runs.len() {
            let i = self.runs[r].partition_point(|p| p.last.as_str() < path);
            if i == self.runs[r].len() {
                continue;
            }
            let page = self.page(r, i)?;
            if let Ok(k) = page.binary_search_by(|(it, _)| it.path().cmp(path)) {
                return Ok(match &page[k] {
                    (SeriesItem::Live(rec, _), Some(place)) => Some((rec.clone(), *place)),
                    _ => None,
                });
            }
        }
        Ok(None)
    }

    /// The merged catalog, in path order: for each path of any run, the
    /// item of each run (`None` where a run lacks it). Streams one page a
    /// run.
    pub fn merge(&self) -> Merge<'_, 'a> {
        Merge {
            u: self,
            cursors: (0..self.runs.len()).map(|_| Cursor::default()).collect(),
            from: String::new(),
        }
    }

    /// The merged catalog from the first path at or after `from`: each
    /// run starts at the page that may hold it (found by the index, no
    /// page read before), so reading from a far path costs one page a
    /// run, as a folder's or a screen's records do.
    pub fn merge_from(&self, from: &str) -> Merge<'_, 'a> {
        Merge {
            u: self,
            cursors: self
                .runs
                .iter()
                .map(|run| Cursor {
                    page: run.partition_point(|p| p.last.as_str() < from),
                    ..Cursor::default()
                })
                .collect(),
            from: from.to_owned(),
        }
    }

    /// Where the generation's list can be cut into **sections** without
    /// reading a page: section `k` holds the paths after cut `k - 1`
    /// (from the first for `k = 0`) up to cut `k`. The cuts are the base
    /// run's pages' last paths (the last one moved to the last path of any
    /// run), and an overlay page's last path where that run's next page
    /// would otherwise share a section with it and a third page: so a
    /// section holds at most one base page and two pages of each overlay
    /// run, and reading one ([`Unlocked::section`]) reads at most 7 pages,
    /// wherever it lies. Memory: one path a page of the index.
    pub fn cuts(&self) -> Vec<&str> {
        let runs: Vec<Vec<&str>> = self
            .runs
            .iter()
            .map(|run| run.iter().map(|p| p.last.as_str()).collect())
            .collect();
        section_cuts(&runs)
    }

    /// The live records of section `k` of `cuts` ([`Unlocked::cuts`]), in
    /// path order with their places (empty past the last cut): each run's
    /// pages that may hold its paths, found by the index, and no other.
    pub fn section(&self, cuts: &[&str], k: usize) -> Result<Vec<Placed>> {
        let Some(&last) = cuts.get(k) else {
            return Ok(Vec::new());
        };
        let after = k.checked_sub(1).map(|j| cuts[j]);
        // Each path's item from the newest run that holds it.
        let mut items: BTreeMap<String, Item> = BTreeMap::new();
        for r in (0..self.runs.len()).rev() {
            let run = &self.runs[r];
            let first = after.map_or(0, |a| run.partition_point(|p| p.last.as_str() <= a));
            let mut i = first;
            while i < run.len() && (i == first || run[i - 1].last.as_str() < last) {
                for item in self.page(r, i)? {
                    let path = item.0.path();
                    if after.is_some_and(|a| path <= a) || path > last {
                        continue;
                    }
                    items.insert(path.to_owned(), item);
                }
                i += 1;
            }
        }
        Ok(items
            .into_values()
            .filter_map(|item| match item {
                (SeriesItem::Live(rec, _), Some(place)) => Some((rec, place)),
                _ => None,
            })
            .collect())
    }

    /// The live records in path order, with their places.
    pub fn records(&self) -> impl Iterator<Item = Result<Placed>> + '_ {
        self.merge().filter_map(|m| match m {
            Err(e) => Some(Err(e)),
            Ok(row) => row.live().map(Ok),
        })
    }

    /// The bundle of a place, checked against the record's range.
    fn bundle(&self, rec: &Record, place: (u64, u64)) -> Result<&SeriesBundle> {
        let bad = |what: String| Error::RecordMismatch {
            path: rec.path.clone(),
            what,
        };
        let b = usize::try_from(place.0)
            .ok()
            .and_then(|b| self.bundles.get(b))
            .ok_or_else(|| bad(format!("bundle {} is not in the index", place.0)))?;
        if place
            .1
            .checked_add(rec.stored_size)
            .is_none_or(|e| e > b.len)
        {
            return Err(bad(format!(
                "{} stored bytes at {} pass the end of its bundle ({} bytes)",
                rec.stored_size, place.1, b.len
            )));
        }
        Ok(b)
    }

    /// Streams a record's bytes to `out`, every chunk authenticated, the
    /// size and BLAKE3 checked (what was written must be discarded on an
    /// error).
    pub fn copy_record(
        &self,
        rec: &Record,
        place: (u64, u64),
        out: &mut dyn std::io::Write,
    ) -> Result<()> {
        let b = self.bundle(rec, place)?;
        let f = self.files[&b.generation];
        let name = v2::bundle_entry(b.entry);
        let what = format!("{} (generation {}): {name}", f.path.display(), b.generation);
        let sk = self
            .key
            .stream_key(&self.archive_id, StreamId::Bundle(b.stream));
        let chunks = crypto::chunk_count(b.padded);
        let sealed_len = crypto::sealed_len(b.padded);
        let mut hasher = blake3::Hasher::new();
        let mut total = 0u64;
        let mismatch = |what: String| Error::RecordMismatch {
            path: rec.path.clone(),
            what,
        };
        let mut emit = |data: &[u8], total: &mut u64| -> Result<()> {
            *total += data.len() as u64;
            if *total > rec.size {
                return Err(mismatch(format!(
                    "holds more than the {} bytes the catalog declares",
                    rec.size
                )));
            }
            hasher.update(data);
            out.write_all(data).map_err(|e| Error::Output {
                what: rec.path.clone(),
                source: e,
            })
        };
        let mut stored = Vec::new();
        let (start, end) = (place.1, place.1 + rec.stored_size);
        if end > start {
            let first = start / CHUNK_SIZE as u64;
            let last = (end - 1) / CHUNK_SIZE as u64;
            // 64 chunks (4 MiB) at a time.
            let mut c = first;
            while c <= last {
                let to = (c + 64).min(last + 1);
                let from_b = c * SEALED_CHUNK as u64;
                let to_b = if to == chunks {
                    sealed_len
                } else {
                    to * SEALED_CHUNK as u64
                };
                let mut buf = vec![0u8; (to_b - from_b) as usize];
                f.archive.read_at(b.offset + from_b, &mut buf, &name)?;
                let n = crate::decrypt_batch(&sk, &mut buf, c, chunks).map_err(|chunk| {
                    Error::Chunk {
                        what: rec.path.clone(),
                        entry: what.clone(),
                        chunk,
                    }
                })?;
                buf.truncate(n);
                let lo = start.saturating_sub(c * CHUNK_SIZE as u64) as usize;
                let hi = ((end - c * CHUNK_SIZE as u64) as usize).min(buf.len());
                let part = &buf[lo.min(hi)..hi];
                match rec.encoding {
                    legation_format::catalog::Encoding::Identity => emit(part, &mut total)?,
                    legation_format::catalog::Encoding::Deflate => stored.extend_from_slice(part),
                }
                c = to;
            }
        }
        if rec.encoding == legation_format::catalog::Encoding::Deflate {
            use std::io::Read;
            let mut d = flate2::read::DeflateDecoder::new(&stored[..]);
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = d
                    .read(&mut buf)
                    .map_err(|e| mismatch(format!("its compressed bytes do not inflate: {e}")))?;
                if n == 0 {
                    break;
                }
                emit(&buf[..n], &mut total)?;
            }
            if d.total_in() != rec.stored_size {
                return Err(mismatch(
                    "bytes follow the end of the compressed data".into(),
                ));
            }
        }
        if total != rec.size {
            return Err(mismatch(format!(
                "holds {total} bytes, the catalog declares {}",
                rec.size
            )));
        }
        if hasher.finalize().as_bytes() != &rec.blake3 {
            return Err(mismatch(
                "BLAKE3 of the bytes differs from the catalog".into(),
            ));
        }
        Ok(())
    }

    /// Reads a whole record of at most `limit` bytes, fully checked.
    pub fn read_record(&self, rec: &Record, place: (u64, u64), limit: u64) -> Result<Vec<u8>> {
        if rec.size > limit {
            return Err(Error::TooLarge {
                entry: rec.path.clone(),
                size: rec.size,
                limit,
            });
        }
        let mut v = Vec::with_capacity(rec.size as usize);
        self.copy_record(rec, place, &mut v)?;
        Ok(v)
    }

    /// Content verification of the generation alone (SPEC §33.7; see
    /// [`Unlocked::check`]). Problems as lines; empty when all pass.
    pub fn verify_content(&self, progress: &mut dyn FnMut(u64, u64)) -> Vec<String> {
        self.check(None, None, progress).problems
    }
}

/// Where a run's merge cursor is: its page loaded and the next item.
#[derive(Default)]
struct Cursor {
    page: usize,
    items: Vec<Item>,
    next: usize,
    loaded: bool,
}

/// One path of the merged catalog: each run's item there.
pub struct Row {
    /// The path.
    pub path: String,
    /// Each run's item at the path (newest run first), with its place.
    pub items: Vec<Option<Item>>,
    /// The base run's page holding the path, if the base run holds it.
    pub base_page: Option<usize>,
}

impl Row {
    /// The record the generation holds at this path (the newest run's
    /// item, unless it is a tombstone).
    pub fn live(&self) -> Option<Placed> {
        match self.items.iter().flatten().next()? {
            (SeriesItem::Live(r, _), Some(p)) => Some((r.clone(), *p)),
            _ => None,
        }
    }

    /// The base run's record at this path, with its place.
    pub fn base(&self) -> Option<Placed> {
        match self.items.last()?.as_ref()? {
            (SeriesItem::Live(r, _), Some(p)) => Some((r.clone(), *p)),
            _ => None,
        }
    }
}

/// The merge of a generation's runs ([`Unlocked::merge`]).
pub struct Merge<'u, 'a> {
    u: &'u Unlocked<'a>,
    cursors: Vec<Cursor>,
    /// Items before this path are passed over (see
    /// [`Unlocked::merge_from`]).
    from: String,
}

impl Merge<'_, '_> {
    /// The path at run `r`'s cursor, loading pages as needed.
    fn head(&mut self, r: usize) -> Result<Option<&str>> {
        loop {
            let c = &mut self.cursors[r];
            if c.loaded && c.next < c.items.len() {
                break;
            }
            if c.loaded {
                c.page += 1;
            }
            if c.page >= self.u.runs[r].len() {
                return Ok(None);
            }
            let page = c.page;
            let items = self.u.page(r, page)?;
            let c = &mut self.cursors[r];
            // Only a run's first page read can hold paths before `from`.
            c.next = items.partition_point(|(it, _)| it.path() < self.from.as_str());
            c.items = items;
            c.loaded = true;
        }
        let c = &self.cursors[r];
        Ok(Some(c.items[c.next].0.path()))
    }
}

impl Iterator for Merge<'_, '_> {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Result<Row>> {
        let mut least: Option<String> = None;
        for r in 0..self.cursors.len() {
            match self.head(r) {
                Err(e) => return Some(Err(e)),
                Ok(Some(p)) if least.as_deref().is_none_or(|l| p < l) => least = Some(p.to_owned()),
                Ok(_) => {}
            }
        }
        let path = least?;
        let base = self.cursors.len() - 1;
        let mut base_page = None;
        let items = (0..self.cursors.len())
            .map(|r| {
                let c = &mut self.cursors[r];
                let here = c.loaded && c.next < c.items.len() && c.items[c.next].0.path() == path;
                here.then(|| {
                    if r == base {
                        base_page = Some(c.page);
                    }
                    c.next += 1;
                    c.items[c.next - 1].clone()
                })
            })
            .collect();
        Some(Ok(Row {
            path,
            items,
            base_page,
        }))
    }
}

/// Writes the next generation of a series from the records a pack
/// pipeline hands it in path order (a [`RecordSink`]), merged with the
/// previous generation's catalog: a record whose bytes hash as the
/// previous generation's record at its path keeps its place (its facts
/// taken anew), any other is written; paths of the previous generation
/// not handed in are removed. Every record's bytes are hashed, so no
/// change is missed (SPEC §33.5).
///
/// [`RecordSink`]: legation_format::pack::RecordSink
pub struct UpdateSink<'u, 'a, U: UpdateTarget> {
    w: U,
    rows: std::iter::Peekable<Merge<'u, 'a>>,
    /// What changed so far.
    pub changes: Changes,
    rebase: bool,
    /// With [`UpdateSink::keep_unlisted`]: the previous paths to remove;
    /// every other previous record not given is kept as it was.
    removed: Option<std::collections::HashSet<String>>,
}

impl<'u, 'a, U: UpdateTarget> UpdateSink<'u, 'a, U> {
    /// Merges with `prev`'s catalog into `w` (made from `prev.previous()`;
    /// `rebase` as its options say).
    pub fn new(prev: &'u Unlocked<'a>, w: U, rebase: bool) -> Self {
        UpdateSink {
            w,
            rows: prev.merge().peekable(),
            changes: Changes::default(),
            rebase,
            removed: None,
        }
    }

    /// From now on a previous record whose path is not given is kept as
    /// it was (bytes, place and facts), unless `removed` names it: for a
    /// caller that found the records it does not give unchanged (SPEC
    /// §33.5).
    pub fn keep_unlisted(&mut self, removed: std::collections::HashSet<String>) {
        self.removed = Some(removed);
    }

    /// The writer (to add decoders before the first record).
    pub fn writer(&mut self) -> &mut U {
        &mut self.w
    }

    /// Passes every previous path before `path` (all, for `None`): each
    /// is removed (unless only a tombstone remains of it).
    fn drain_before(&mut self, path: Option<&str>) -> legation_format::Result<()> {
        loop {
            match self.rows.peek() {
                None => return Ok(()),
                Some(Err(_)) => {
                    let Some(Err(e)) = self.rows.next() else {
                        unreachable!()
                    };
                    return Err(legation_format::Error::invalid(
                        "previous generation",
                        e.to_string(),
                    ));
                }
                Some(Ok(row)) if path.is_none_or(|p| row.path.as_str() < p) => {
                    let row = self.rows.next().expect("peeked").expect("peeked ok");
                    let base = self.base_of(&row);
                    let kept = self
                        .removed
                        .as_ref()
                        .is_some_and(|r| !r.contains(&row.path));
                    if let (true, Some((old, place))) = (kept, row.live()) {
                        let rec = Record {
                            new_bundle: false,
                            ..old
                        };
                        self.w.keep(base.as_ref(), rec, place)?;
                        continue;
                    }
                    if row.live().is_some() {
                        self.changes.removed += 1;
                        self.w.remove(base.as_ref(), &row.path)?;
                    } else if base.is_some() {
                        // Removed in an earlier generation: its tombstone
                        // stays while the base holds the path.
                        self.w.remove(base.as_ref(), &row.path)?;
                    }
                }
                Some(Ok(_)) => return Ok(()),
            }
        }
    }

    /// The base run's item of a row (none after a rebase: the new base
    /// is this generation's).
    fn base_of(&self, row: &Row) -> Option<Placed> {
        if self.rebase {
            None
        } else {
            row.base()
        }
    }

    /// Passes what follows the last record; the writer (to finish with
    /// the changes) and the changes.
    pub fn finish(mut self) -> legation_format::Result<(U, Changes)> {
        self.drain_before(None)?;
        Ok((self.w, self.changes))
    }
}

/// The facts of `meta` on a record whose stored bytes are `old`'s.
fn with_facts(meta: &legation_format::writer::RecordMeta, old: &Record) -> Record {
    let t = legation_format::time::format_rfc3339;
    Record {
        path: meta.path.clone(),
        title: (!meta.title.is_empty()).then(|| meta.title.clone()),
        media_type: meta.media_type.clone(),
        modified: meta
            .modified
            .filter(|&m| legation_format::time::parse_rfc3339(&t(m)).is_some()),
        decoder: meta.decoder.clone(),
        render: meta.render.clone(),
        metadata: meta.metadata.clone(),
        new_bundle: false,
        ..old.clone()
    }
}

impl<U: UpdateTarget> legation_format::pack::RecordSink for UpdateSink<'_, '_, U> {
    fn add_empty_dir(&mut self, path: &str) -> legation_format::Result<()> {
        self.w.add_empty_dir(path)
    }

    fn add_record(
        &mut self,
        meta: legation_format::writer::RecordMeta,
        source: legation_format::writer::RecordSource<'_>,
    ) -> legation_format::Result<()> {
        use legation_format::writer::RecordSource;
        self.drain_before(Some(&meta.path))?;
        let row = match self.rows.peek() {
            Some(Ok(r)) if r.path == meta.path => self.rows.next().and_then(|r| r.ok()),
            _ => None,
        };
        let base = row.as_ref().and_then(|r| self.base_of(r));
        let prev = row.as_ref().and_then(Row::live);
        // A large record is read once into a temporary file as it is
        // hashed, and written from there if it changed.
        let mut spool = None;
        let (hash, size, source) = match source {
            RecordSource::Bytes(b) => (
                *blake3::hash(b).as_bytes(),
                b.len() as u64,
                RecordSource::Bytes(b),
            ),
            RecordSource::Prepared(p) => (
                *blake3::hash(p.bytes()).as_bytes(),
                p.bytes().len() as u64,
                RecordSource::Prepared(p),
            ),
            RecordSource::Reader { reader, size } => {
                use std::io::{Seek, Write};
                let io = |e| legation_format::Error::io(format!("reading {}", meta.path), e);
                let mut f = tempfile_spool().map_err(io)?;
                let mut h = blake3::Hasher::new();
                let mut buf = vec![0u8; 1 << 20];
                let mut n = 0u64;
                loop {
                    let k = reader.read(&mut buf).map_err(io)?;
                    if k == 0 {
                        break;
                    }
                    h.update(&buf[..k]);
                    f.write_all(&buf[..k]).map_err(io)?;
                    n += k as u64;
                }
                if n != size {
                    return Err(legation_format::Error::Changed {
                        path: meta.path.clone(),
                        what: format!("{n} bytes, not the {size} it had when packing began"),
                    });
                }
                f.seek(std::io::SeekFrom::Start(0)).map_err(io)?;
                let hash = *h.finalize().as_bytes();
                let f = spool.insert(f);
                (hash, size, RecordSource::Reader { reader: f, size })
            }
        };
        match prev {
            Some((old, place)) if old.blake3 == hash && old.size == size => {
                let rec = with_facts(&meta, &old);
                if rec
                    != (Record {
                        new_bundle: false,
                        ..old.clone()
                    })
                {
                    self.changes.changed += 1;
                }
                self.w.keep(base.as_ref(), rec, place)
            }
            Some(_) => {
                self.changes.changed += 1;
                self.w.add(base.as_ref(), meta, source)
            }
            None => {
                self.changes.added += 1;
                self.w.add(base.as_ref(), meta, source)
            }
        }
    }
}

/// An anonymous temporary file (removed when closed).
fn tempfile_spool() -> std::io::Result<std::fs::File> {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    let path = std::env::temp_dir().join(format!("legation-update-{:016x}.tmp", h.finish()));
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    let _ = std::fs::remove_file(&path);
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use legation_format::keys::{Identity, IssuerKey};
    use legation_format::pack::RecordSink;
    use legation_format::v2::writer::update::{UpdateOptions, UpdateWriter};
    use legation_format::v2::writer::ArchiveWriter;
    use legation_format::writer::{RecordMeta, RecordSource, WriterOptions};
    use rand_chacha::rand_core::SeedableRng;

    fn rng(seed: u64) -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(seed)
    }
    fn issuer() -> IssuerKey {
        IssuerKey::generate(&mut rng(1))
    }
    fn identity() -> Identity {
        Identity::generate(&mut rng(2))
    }
    fn keys() -> Vec<Key> {
        vec![Key::Identity(identity())]
    }
    fn meta(p: &str) -> RecordMeta {
        RecordMeta {
            path: p.into(),
            media_type: "text/plain".into(),
            ..Default::default()
        }
    }
    fn content(p: &str, v: u32) -> Vec<u8> {
        format!("{p}: version {v}\n")
            .repeat(3 + p.len() % 7)
            .into_bytes()
    }

    /// A folder of its own under the temporary folder, removed when dropped.
    struct Dir(PathBuf);
    impl Dir {
        fn new(name: &str) -> Dir {
            let d =
                std::env::temp_dir().join(format!("legation-series-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(&d).unwrap();
            Dir(d)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// The writer of a generation 0 for the test identity, signed.
    fn writer() -> ArchiveWriter<std::io::Cursor<Vec<u8>>, rand_chacha::ChaCha20Rng> {
        let opts = WriterOptions {
            created: 1_767_225_600,
            issuer: Some(issuer()),
            recipients: vec![identity().public()],
            passphrases: vec![],
            embed_spec: false,
            viewer: None,
        };
        ArchiveWriter::new(std::io::Cursor::new(Vec::new()), opts, rng(3)).unwrap()
    }

    /// Generation 0 of `records` (path, version) at `path`.
    fn first(path: &Path, records: &BTreeMap<String, u32>) {
        let mut w = writer();
        for (p, v) in records {
            w.add_record(meta(p), RecordSource::Bytes(&content(p, *v)))
                .unwrap();
        }
        std::fs::write(path, w.finish().unwrap().into_inner()).unwrap();
    }

    /// The next generation of the series whose newest file is `prev`,
    /// holding `records`, written to `out`.
    fn next(
        prev: &Path,
        out: &Path,
        records: &BTreeMap<String, u32>,
        rebase: bool,
        seed: u64,
    ) -> Changes {
        let s = Series::find(&[prev.to_owned()]).unwrap();
        // The file given, not the newest of its folder (a fork, below).
        let newest = s.files[0].sequence();
        let u = s.unlock(newest, &keys()).unwrap();
        let w = UpdateWriter::new(
            std::io::Cursor::new(Vec::new()),
            u.previous(),
            u.data_key().clone(),
            UpdateOptions {
                created: 1_767_225_600 + newest as i64 + 1,
                issuer: Some(issuer()),
                rebase,
            },
            rng(seed),
        )
        .unwrap();
        let mut sink = UpdateSink::new(&u, w, rebase);
        for (p, v) in records {
            sink.add_record(meta(p), RecordSource::Bytes(&content(p, *v)))
                .unwrap();
        }
        let (w, changes) = sink.finish().unwrap();
        std::fs::write(out, w.finish(changes).unwrap().into_inner()).unwrap();
        changes
    }

    /// Checks generation `g` of `s` holds exactly `records`, passes its
    /// content verification and its keyless audit.
    fn holds(s: &Series, g: u64, records: &BTreeMap<String, u32>) {
        let u = s.unlock(g, &keys()).unwrap();
        let got: Vec<(String, Vec<u8>)> = u
            .records()
            .map(|r| {
                let (rec, place) = r.unwrap();
                let b = u.read_record(&rec, place, 1 << 20).unwrap();
                (rec.path, b)
            })
            .collect();
        let want: Vec<(String, Vec<u8>)> = records
            .iter()
            .map(|(p, v)| (p.clone(), content(p, *v)))
            .collect();
        assert_eq!(got, want, "generation {g}");
        for (p, v) in records.iter().step_by(97) {
            let (rec, place) = u.find(p).unwrap().unwrap();
            assert_eq!(u.read_record(&rec, place, 1 << 20).unwrap(), content(p, *v));
        }
        assert!(u.find("r/none").unwrap().is_none());
        // Section by section, the same records as the whole merge.
        let cuts = u.cuts();
        let mut by_sections = Vec::new();
        for k in 0..=cuts.len() {
            by_sections.extend(
                u.section(&cuts, k)
                    .unwrap()
                    .into_iter()
                    .map(|(r, _)| r.path),
            );
        }
        assert!(by_sections.iter().eq(records.keys()), "generation {g}");
        assert_eq!(
            u.merge_from("r/04000")
                .filter_map(|r| r.unwrap().live())
                .map(|(r, _)| r.path)
                .collect::<Vec<_>>(),
            records
                .range("r/04000".to_owned()..)
                .map(|(p, _)| p.clone())
                .collect::<Vec<_>>()
        );
        assert_eq!(
            u.verify_content(&mut |_, _| {}),
            Vec::<String>::new(),
            "generation {g}"
        );
        assert_eq!(
            s.audit(g, Some(&issuer().public()), &mut |_, _| true),
            Vec::<String>::new()
        );
    }

    #[test]
    fn three_generations_read_back_each_as_written() {
        let d = Dir::new("three");
        let g0: BTreeMap<String, u32> = (0..9000).map(|i| (format!("r/{i:05}"), 0)).collect();
        first(&d.0.join("reg.00000000.lgn"), &g0);
        // Generation 1: 30 changed, 10 removed (one of them at a page's
        // end), 5 added.
        let mut g1 = g0.clone();
        for i in (0..9000).step_by(300) {
            g1.insert(format!("r/{i:05}"), 1);
        }
        for i in (5..9000).step_by(900) {
            g1.remove(&format!("r/{i:05}"));
        }
        g1.remove("r/04095");
        for i in 0..5 {
            g1.insert(format!("r/{:05}x", i * 1000), 1);
        }
        let c = next(
            &d.0.join("reg.00000000.lgn"),
            &d.0.join("reg.00000001.lgn"),
            &g1,
            false,
            4,
        );
        assert_eq!((c.added, c.changed, c.removed), (5, 30, 11));
        // Generation 2: a removed record back, more changes, a record of
        // the overlay removed.
        let mut g2 = g1.clone();
        g2.insert("r/00005".into(), 2);
        g2.insert("r/00007".into(), 2);
        g2.remove("r/01000x");
        let c = next(
            &d.0.join("reg.00000001.lgn"),
            &d.0.join("reg.00000002.lgn"),
            &g2,
            false,
            5,
        );
        assert_eq!((c.added, c.changed, c.removed), (1, 1, 1));
        // Generation 3 rebases.
        let mut g3 = g2.clone();
        g3.insert("r/08888".into(), 3);
        next(
            &d.0.join("reg.00000002.lgn"),
            &d.0.join("reg.00000003.lgn"),
            &g3,
            true,
            6,
        );
        let s = Series::find(&[d.0.join("reg.00000003.lgn")]).unwrap();
        assert_eq!(s.files.len(), 4);
        assert!(s.errors().is_empty(), "{:?}", s.errors());
        for (g, want) in [(0, &g0), (1, &g1), (2, &g2), (3, &g3)] {
            holds(&s, g, want);
        }
        let u3 = s.unlock(3, &keys()).unwrap();
        assert_eq!(u3.runs(), 1);
        assert_eq!(s.unlock(2, &keys()).unwrap().runs(), 2);
        // The generations' files are small beside the first.
        let len = |n: &str| std::fs::metadata(d.0.join(n)).unwrap().len();
        assert!(len("reg.00000001.lgn") * 4 < len("reg.00000000.lgn"));

        // A missing generation is named; a folder holding another series'
        // file leaves it out; a fork is caught.
        std::fs::rename(d.0.join("reg.00000001.lgn"), d.0.join("elsewhere.keep")).unwrap();
        let s = Series::find(&[d.0.join("reg.00000002.lgn")]).unwrap();
        assert!(matches!(
            s.errors(),
            [SeriesError::SeriesGap {
                after: 0,
                before: 2
            }]
        ));
        let e = s.unlock(2, &keys()).err().unwrap().to_string();
        assert!(
            e.contains(
                "generation 1 is needed and no file holds it (it was written as reg.00000001.lgn)"
            ),
            "{e}"
        );
        std::fs::rename(d.0.join("elsewhere.keep"), d.0.join("reg.00000001.lgn")).unwrap();
        let mut fork = g1.clone();
        fork.insert("r/00001".into(), 9);
        next(
            &d.0.join("reg.00000000.lgn"),
            &d.0.join("fork.lgn"),
            &fork,
            false,
            7,
        );
        let s = Series::find(std::slice::from_ref(&d.0)).unwrap();
        assert!(
            s.errors()
                .iter()
                .any(|e| matches!(e, SeriesError::Fork { sequence: 1, .. })),
            "{:?}",
            s.errors()
        );
    }
    #[test]
    fn a_far_section_of_a_dependent_generation_reads_one_page_a_run() {
        let d = Dir::new("sections");
        let g0: BTreeMap<String, u32> = (0..20_000).map(|i| (format!("r/{i:05}"), 0)).collect();
        first(&d.0.join("reg.00000000.lgn"), &g0);
        // Changes spread over every page, records added past the end.
        let mut g1 = g0.clone();
        for i in (0..20_000).step_by(250) {
            g1.insert(format!("r/{i:05}"), 1);
        }
        for i in (7..20_000).step_by(1000) {
            g1.remove(&format!("r/{i:05}"));
        }
        for i in 0..30 {
            g1.insert(format!("s/{i:03}"), 1);
        }
        next(
            &d.0.join("reg.00000000.lgn"),
            &d.0.join("reg.00000001.lgn"),
            &g1,
            false,
            4,
        );
        let open = |n: &str| {
            let path = d.0.join(n);
            let source = crate::v2::tests::Logged::new(std::fs::read(&path).unwrap());
            (
                GenerationFile::of(path, Archive::open(source.clone()).unwrap()).unwrap(),
                source,
            )
        };
        let ((f0, log0), (f1, log1)) = (open("reg.00000000.lgn"), open("reg.00000001.lgn"));
        let (a0, a1) = (f0.archive.clone(), f1.archive.clone());
        // Catalog pages of both files touched by the reads logged since
        // the last call.
        let pages_read = || {
            [(&a0, &log0), (&a1, &log1)]
                .iter()
                .map(|(a, log)| {
                    let log = log.take();
                    a.entries()
                        .iter()
                        .filter(|e| e.name.starts_with("c/") && e.name != v2::INDEX_ENTRY)
                        .filter(|e| log.iter().any(|&(x, y)| x < e.end() && y > e.data_offset()))
                        .count()
                })
                .sum::<usize>()
        };
        let s = Series::gather(vec![f1], vec![(d.0.join("reg.00000000.lgn"), Ok(f0))]).unwrap();
        let u = s.unlock(1, &keys()).unwrap();
        assert_eq!(u.runs(), 2);
        let cuts = u.cuts();
        // The five base pages (the last section to the overlay's end).
        assert_eq!(cuts.len(), 5, "{cuts:?}");
        assert_eq!(cuts[4], "s/029");
        let read = |k: usize| {
            pages_read();
            let rows = u.section(&cuts, k).unwrap();
            (rows, pages_read())
        };
        // The first and the last sections: at most a page a run each.
        let (rows, pages) = read(0);
        assert!(pages <= 2, "{pages} pages read for the first section");
        assert_eq!(rows[0].0.path, "r/00000");
        let (rows, pages) = read(cuts.len() - 1);
        assert!(pages <= 2, "{pages} pages read for the last section");
        assert_eq!(rows.last().unwrap().0.path, "s/029");
        let (rows, pages) = read(3);
        assert!(pages <= 2, "{pages} pages read for section 3");
        let want: Vec<&String> = g1
            .range("r/12288".to_owned()..="r/16383".to_owned())
            .map(|(p, _)| p)
            .collect();
        assert!(rows.iter().map(|(r, _)| &r.path).eq(want), "section 3");
        // Reading every record from the start reads every page.
        pages_read();
        assert_eq!(u.records().count(), g1.len());
        assert_eq!(pages_read(), 6);
    }

    #[test]
    fn sections_hold_one_base_page_and_two_pages_of_each_overlay_run() {
        // Base pages end at b, d, f; an overlay run's many small pages
        // crowd between d and f, and pass f.
        let base = vec!["b", "d", "f"];
        let overlay = vec!["a", "c1", "c2", "c3", "e1", "e2", "e3", "e4", "g", "h"];
        let cuts = section_cuts(&[overlay.clone(), base.clone()]);
        assert_eq!(
            cuts.last(),
            Some(&"h"),
            "the last section to every run's end"
        );
        for run in [&base, &overlay] {
            for k in 0..cuts.len() {
                let lo = k.checked_sub(1).map(|j| cuts[j]);
                // The pages that may hold a path of section k.
                let first = lo.map_or(0, |a| run.partition_point(|l| *l <= a));
                let mut n = 0;
                let mut i = first;
                while i < run.len() && (i == first || run[i - 1] < cuts[k]) {
                    n += 1;
                    i += 1;
                }
                let most = if run == &base { 1 } else { 2 };
                assert!(n <= most, "section {k} ({lo:?}..={}): {n} pages", cuts[k]);
            }
        }
        // A self-contained generation: its pages' last paths.
        assert_eq!(section_cuts(std::slice::from_ref(&base)), base);
        assert!(section_cuts(&[]).is_empty());
    }

    use legation_format::manifest::{DecoderLimits, DecoderRef};

    fn desc(name: &str) -> DecoderRef {
        DecoderRef {
            entry: String::new(),
            name: name.into(),
            version: "1.0.0".into(),
            abi: 1,
            media_types: vec!["text/plain".into()],
            limits: DecoderLimits {
                fuel: 1_000_000,
                max_depth: 100,
                max_memory_pages: 16,
            },
        }
    }

    /// A WebAssembly module of no code whose `legation.decoder` and
    /// `legation.meter` sections agree with [`desc`]`(name)`.
    fn module(name: &str) -> Vec<u8> {
        let custom = |n: &str, body: &[u8]| {
            let mut c = vec![0u8, (1 + n.len() + body.len()) as u8, n.len() as u8];
            c.extend(n.bytes());
            c.extend(body);
            c
        };
        let about = format!(
            r#"{{"name":"{name}","version":"1.0.0","abi":1,"media_types":["text/plain"],"pages":false}}"#
        );
        let mut meter = 1_000_000u64.to_le_bytes().to_vec();
        meter.extend(100u32.to_le_bytes());
        meter.extend(16u32.to_le_bytes());
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        m.extend(custom("legation.decoder", about.as_bytes()));
        m.extend(custom("legation.meter", &meter));
        m
    }

    fn meta_naming(p: &str, decoder: &str) -> RecordMeta {
        RecordMeta {
            path: p.into(),
            media_type: "text/plain".into(),
            decoder: Some(decoder.into()),
            ..Default::default()
        }
    }

    /// The next generation after `prev`, adding the decoders `add` and
    /// holding `records` (path, decoder entry).
    fn next_adding(prev: &Path, out: &Path, add: &[&str], records: &[(&str, &str)], seed: u64) {
        let s = Series::find(&[prev.to_owned()]).unwrap();
        let g = s.files[0].sequence();
        let u = s.unlock(g, &keys()).unwrap();
        let mut w = UpdateWriter::new(
            std::io::Cursor::new(Vec::new()),
            u.previous(),
            u.data_key().clone(),
            UpdateOptions {
                created: 1_767_225_600 + g as i64 + 1,
                issuer: Some(issuer()),
                rebase: false,
            },
            rng(seed),
        )
        .unwrap();
        for d in add {
            w.add_decoder(&module(d), desc(d)).unwrap();
        }
        let mut sink = UpdateSink::new(&u, w, false);
        for (p, d) in records {
            sink.add_record(meta_naming(p, d), RecordSource::Bytes(p.as_bytes()))
                .unwrap();
        }
        let (w, changes) = sink.finish().unwrap();
        std::fs::write(out, w.finish(changes).unwrap().into_inner()).unwrap();
    }

    #[test]
    fn a_later_generation_names_the_decoders_of_an_earlier_file() {
        let d = Dir::new("inherited-decoders");
        let entry =
            |n: &str| legation_format::manifest::decoder_entry(blake3::hash(&module(n)).as_bytes());
        let (a, b) = (entry("a"), entry("b"));
        let mut w = writer();
        w.add_decoder(&module("a"), desc("a"), false).unwrap();
        w.add_record(meta_naming("r/1", &a), RecordSource::Bytes(b"one"))
            .unwrap();
        let g0 = d.0.join("s.00000000.lgn");
        std::fs::write(&g0, w.finish().unwrap().into_inner()).unwrap();
        // Generation 1: `a` again (named in generation 0, not stored) and a
        // new `b` (stored); generation 2 adds none and names both.
        let g1 = d.0.join("s.00000001.lgn");
        next_adding(&g0, &g1, &["a", "b"], &[("r/1", &a), ("r/2", &b)], 4);
        let g2 = d.0.join("s.00000002.lgn");
        next_adding(&g1, &g2, &[], &[("r/1", &a), ("r/2", &b), ("r/3", &a)], 5);

        let s = Series::find(std::slice::from_ref(&g2)).unwrap();
        assert!(s.errors().is_empty());
        let f1 = s.file(1).unwrap();
        assert_eq!(f1.public().version, "2.1");
        let names1: Vec<&str> = f1
            .public()
            .decoders
            .iter()
            .map(|x| x.entry.as_str())
            .collect();
        assert_eq!(names1, [b.as_str()]);
        assert!(f1.archive.entry(&a).is_err(), "generation 1 stores a again");
        let inh1 = &f1.public().series.as_ref().unwrap().inherits;
        assert_eq!(inh1[0].decoders, s.file(0).unwrap().public().decoders);
        let f2 = s.file(2).unwrap();
        assert!(f2.public().decoders.is_empty());
        let named: Vec<(u64, String)> = f2
            .public()
            .series
            .as_ref()
            .unwrap()
            .decoders()
            .map(|(g, x)| (g, x.entry.clone()))
            .collect();
        assert_eq!(named, [(0, a.clone()), (1, b.clone())]);
        // Read back, each module from the file that stores it, and audited.
        for g in 1..=2 {
            let u = s.unlock(g, &keys()).unwrap();
            assert_eq!(u.verify_content(&mut |_, _| {}), Vec::<String>::new());
            let mut got: Vec<(String, Vec<u8>)> = u
                .decoders()
                .into_iter()
                .map(|(x, f)| {
                    (
                        x.entry.clone(),
                        f.archive.read_entry(&x.entry, 1 << 20).unwrap(),
                    )
                })
                .collect();
            got.sort();
            let mut want = vec![(a.clone(), module("a")), (b.clone(), module("b"))];
            want.sort();
            assert_eq!(got, want, "generation {g}");
            assert_eq!(
                s.audit(g, Some(&issuer().public()), &mut |_, _| true),
                Vec::<String>::new()
            );
        }
        // Without generation 0's file, generation 2 is not read: the
        // module of `a` is missing with it.
        std::fs::remove_file(&g0).unwrap();
        let s = Series::find(&[g2]).unwrap();
        let e = s.unlock(2, &keys()).err().unwrap().to_string();
        assert!(e.contains("generation 0"), "{e}");
    }

    /// Paths of `older` whose record (path and version) `newer` does not
    /// hold: the records whose stored bytes the older generation's check
    /// reads itself.
    fn own(older: &BTreeMap<String, u32>, newer: &BTreeMap<String, u32>) -> u64 {
        older
            .iter()
            .filter(|(p, v)| newer.get(*p) != Some(v))
            .count() as u64
    }

    #[test]
    fn every_generation_is_checked_each_stored_record_read_once() {
        let d = Dir::new("check-all");
        let g0: BTreeMap<String, u32> = (0..9000).map(|i| (format!("r/{i:05}"), 0)).collect();
        let f = |n: u64| d.0.join(format!("reg.{n:08}.lgn"));
        first(&f(0), &g0);
        let mut g1 = g0.clone();
        for i in (0..9000).step_by(300) {
            g1.insert(format!("r/{i:05}"), 1);
        }
        for i in (5..9000).step_by(900) {
            g1.remove(&format!("r/{i:05}"));
        }
        next(&f(0), &f(1), &g1, false, 4);
        let mut g2 = g1.clone();
        g2.insert("r/00007".into(), 2);
        g2.insert("r/09999".into(), 2);
        next(&f(1), &f(2), &g2, true, 5);
        let s = Series::find(&[f(0)]).unwrap();
        let checks = s.check_generations(&keys(), None, &mut |_, _, _| {});
        let seqs: Vec<u64> = checks.iter().map(|c| c.sequence).collect();
        assert_eq!(seqs, [2, 1, 0]);
        assert!(checks.iter().all(GenerationCheck::ok), "{checks:?}");
        let read: Vec<u64> = checks.iter().map(|c| c.records_read).collect();
        assert_eq!(read, [g2.len() as u64, own(&g1, &g2), own(&g0, &g1)]);
        assert_eq!(read, [8991, 1, 40]);
        let records: Vec<u64> = checks.iter().map(|c| c.records).collect();
        assert_eq!(records, [g2.len(), g1.len(), g0.len()].map(|n| n as u64));

        // A key that opens none: each generation said not checked.
        let other = vec![Key::Identity(Identity::generate(&mut rng(9)))];
        let none = s.check_generations(&other, None, &mut |_, _, _| {});
        assert!(none.iter().all(|c| c
            .not_checked
            .as_deref()
            .is_some_and(|w| w.contains("no key given opens it"))
            && c.problems.is_empty()));

        // The first chunk of generation 0's first bundle damaged: each
        // generation names the records of that chunk it reads itself
        // (generation 0 its version of r/00000, generation 1 its version
        // of r/00007, both replaced later; generation 2 every record there
        // it holds), never a record another generation read.
        let at = s
            .file(0)
            .unwrap()
            .archive
            .entry(&v2::bundle_entry(0))
            .unwrap()
            .data_offset()
            + 40;
        let mut bytes = std::fs::read(f(0)).unwrap();
        bytes[at as usize] ^= 1;
        std::fs::write(f(0), &bytes).unwrap();
        let s = Series::find(&[f(2)]).unwrap();
        let checks = s.check_generations(&keys(), None, &mut |_, _, _| {});
        let named = |c: &GenerationCheck, p: &str| c.problems.iter().any(|x| x.contains(p));
        assert!(named(&checks[2], "r/00000") && !named(&checks[2], "r/00001"));
        assert!(named(&checks[1], "r/00007") && !named(&checks[1], "r/00000"));
        assert!(named(&checks[0], "r/00001") && !named(&checks[0], "r/00007"));
    }

    #[cfg(feature = "wasmtime")]
    #[test]
    fn a_view_is_re_rendered_with_the_decoder_its_generation_names() {
        let d = Dir::new("check-render");
        let a = legation_format::manifest::decoder_entry(blake3::hash(&module("a")).as_bytes());
        let mut w = writer();
        w.add_decoder(&module("a"), desc("a"), false).unwrap();
        let mut m = meta_naming("r/1", &a);
        m.render = Some(legation_format::catalog::Render::Rendered {
            blake3: [7; 32],
            pages: 0,
        });
        w.add_record(m, RecordSource::Bytes(b"one")).unwrap();
        w.add_record(meta("r/2"), RecordSource::Bytes(b"two"))
            .unwrap();
        let g0 = d.0.join("s.00000000.lgn");
        std::fs::write(&g0, w.finish().unwrap().into_inner()).unwrap();
        let s = Series::find(&[g0]).unwrap();
        let host = crate::decode::Host::native();
        let checks = s.check_generations(&keys(), Some(&host), &mut |_, _, _| {});
        // The module has no code: its view cannot be made again, and the
        // record is named; the record without a view is not rendered.
        let c = &checks[0];
        assert!(c.render && c.render_failed == 1 && c.rendered == 0, "{c:?}");
        assert_eq!(c.records_read, 2);
        assert!(
            c.problems.len() == 1 && c.problems[0].starts_with("r/1: decoder "),
            "{:?}",
            c.problems
        );
    }
}
