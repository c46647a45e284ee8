//! Content and render verification of a series' generations (SPEC
//! §33.7): one generation through its runs, and every generation present
//! with each record's stored bytes read (and its view re-rendered) once
//! for the series, in the newest generation that holds them.
//!
//! A record an update kept keeps its bundle, offset, stream and key
//! (§33.5), so the same stored bytes are live in several generations. The
//! check of an earlier generation walks its catalog in path order beside
//! the newer generation already checked (one page a run of each): where
//! the newer one holds the same stored bytes at the path (the same bundle,
//! range, encoding, size and BLAKE3, under the same data key), they were
//! read there; where it also holds the same facts and decoder item, the
//! view was re-rendered there. Memory: one page a run of two generations
//! and a batch of records; time: every page of every generation, every
//! distinct stored record once.

use std::collections::HashMap;
use std::sync::Arc;

use legation_format::catalog::Render;
use legation_format::manifest::DecoderRef;
use legation_format::v2::page::Record;
use legation_format::v2::{tree, PAGE_RECORDS};

use super::{Placed, Series, Unlocked};
use crate::decode::{DecodeError, Facts, Host, Loaded, RenderError};
use crate::unlocked::Key;
use crate::ErrorKind;

/// Records handed to the two workers at a time.
const BATCH: usize = 64;

/// What checking one generation found.
#[derive(Debug, Clone, Default)]
pub struct GenerationCheck {
    /// The generation's sequence.
    pub sequence: u64,
    /// Why it was not checked: no key given opens it (its problems are
    /// then empty). `None` when it was checked.
    pub not_checked: Option<String>,
    /// Whether it was opened (unlocked, its index read): false when no
    /// key opens it or its files are missing or damaged there (a
    /// problem then says which).
    pub opened: bool,
    /// Problems as lines naming the file, entry or record; empty when
    /// every check passed.
    pub problems: Vec<String>,
    /// Its live records.
    pub records: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Records whose stored bytes were decrypted and hashed in this
    /// check (the others hold the same stored bytes, facts and decoder as
    /// a newer generation's record, read in that generation's check).
    pub records_read: u64,
    /// Whether views were re-rendered (the render level).
    pub render: bool,
    /// Views re-rendered in this check and identical to packing's.
    pub rendered: u64,
    /// Views that could not be re-rendered or differ from packing's (each
    /// also a problem).
    pub render_failed: u64,
    /// Views not re-rendered here: the same record, facts and decoder as
    /// a newer generation's, re-rendered in that generation's check.
    pub rendered_before: u64,
    /// Records packed without a view, with the reason packing gave (at
    /// most [`NOT_RENDERED_KEPT`] kept; `not_rendered_count` counts all).
    pub not_rendered: Vec<(String, String)>,
    /// Records packed without a view.
    pub not_rendered_count: u64,
}

/// The most records packed without a view a check lists by name.
pub const NOT_RENDERED_KEPT: usize = 100;

impl GenerationCheck {
    /// Whether the generation was checked and every check passed.
    pub fn ok(&self) -> bool {
        self.not_checked.is_none() && self.problems.is_empty()
    }
}

/// What one record of a batch needs.
struct Job {
    rec: Record,
    place: (u64, u64),
    render: bool,
}

/// A newer generation already checked, walked in path order beside the
/// one being checked.
struct Later<'u, I: Iterator<Item = crate::Result<Placed>>> {
    u: &'u Unlocked<'u>,
    records: std::iter::Peekable<I>,
}

impl<'u, I: Iterator<Item = crate::Result<Placed>>> Later<'u, I> {
    /// The newer generation's record at `path`, if it holds one (paths
    /// asked in increasing order). `None` too when its catalog cannot be
    /// read: the record is then checked here.
    fn at(&mut self, path: &str) -> Option<&Placed> {
        while let Some(Ok((r, _))) = self.records.peek() {
            if r.path.as_str() >= path {
                break;
            }
            self.records.next();
        }
        match self.records.peek() {
            Some(Ok(p)) if p.0.path == path => Some(p),
            _ => None,
        }
    }
}

impl<'a> Unlocked<'a> {
    /// The generation's series index as it read it (a dependent
    /// generation's; `None` for a self-contained one): what a re-keying
    /// of a dependent generation carries whole into the next (SPEC §35.4).
    /// Kept here beside the checks that read the same fields.
    pub fn series_index(&self) -> Option<legation_format::v2::index::SeriesIndex> {
        Some(legation_format::v2::index::SeriesIndex {
            records: self.head.records,
            changes: self.changes?,
            tables: self.tables.clone(),
            bundles: self.bundles.clone(),
            runs: self.runs.clone(),
            roots: self.roots.clone()?,
            empty_dirs: self.empty_dirs.clone(),
        })
    }

    /// Content verification of the generation (SPEC §33.7), and with a
    /// decoder host its render verification: every page of every run
    /// decrypts, parses and matches its line; merged, the live records
    /// number the head's `records` and sum to its `bytes`; every logical
    /// page root (against the index, series form) and the records root
    /// (against the head); every base page's `live`; every live record's
    /// bytes; with `host`, every recorded view re-rendered by the
    /// record's decoder (stored in this file or an earlier one) and
    /// compared with packing's. With `newer` (a newer generation of the
    /// series, already checked the same way), a record holding the same
    /// stored bytes there is not read again, nor its view re-rendered
    /// when its facts and decoder are the same too.
    pub fn check(
        &self,
        newer: Option<&Unlocked<'_>>,
        host: Option<&Host>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> GenerationCheck {
        let mut c = GenerationCheck {
            sequence: self.head.sequence,
            opened: true,
            render: host.is_some(),
            ..GenerationCheck::default()
        };
        let mut leaves = Vec::with_capacity(PAGE_RECORDS);
        let mut roots = Vec::new();
        let base = self.runs.len() - 1;
        let mut live_in_base = vec![0u64; self.runs[base].len()];
        // The decoder items this generation's records may name.
        let items: HashMap<String, (DecoderRef, &super::GenerationFile)> = self
            .decoders()
            .into_iter()
            .map(|(d, f)| (d.entry.clone(), (d, f)))
            .collect();
        let newer_items: HashMap<String, DecoderRef> = newer
            .map(|n| {
                n.decoders()
                    .into_iter()
                    .map(|(d, _)| (d.entry.clone(), d))
                    .collect()
            })
            .unwrap_or_default();
        let mut later = newer
            .filter(|n| n.key.as_bytes() == self.key.as_bytes())
            .map(|n| Later {
                u: n,
                records: n.records().peekable(),
            });
        let mut loaded: HashMap<String, Result<Arc<Loaded>, String>> = HashMap::new();
        let mut batch: Vec<Job> = Vec::with_capacity(BATCH);
        for row in self.merge() {
            let row = match row {
                Ok(r) => r,
                Err(e) => {
                    c.problems.push(e.to_string());
                    return c;
                }
            };
            if let Some(k) = row.base_page {
                if row.live().is_some() {
                    live_in_base[k] += 1;
                }
            }
            let Some((rec, place)) = row.live() else {
                continue;
            };
            let salt = tree::record_salt(&self.key, &self.archive_id, &rec.path);
            match rec.leaf(&salt) {
                Ok(l) => leaves.push(tree::leaf_hash(&l)),
                Err(e) => c.problems.push(format!("{}: {e}", rec.path)),
            }
            if leaves.len() == PAGE_RECORDS {
                roots.push(tree::root(&leaves));
                leaves.clear();
            }
            c.records += 1;
            c.bytes += rec.size;
            let (same_bytes, same_view) = match later.as_mut().and_then(|l| {
                let u = l.u;
                l.at(&rec.path).map(|p| (u, p))
            }) {
                Some((n, (r2, p2))) => {
                    let bytes = self.same_stored(&rec, place, n, r2, *p2);
                    let decoder_same = rec
                        .decoder
                        .as_ref()
                        .is_none_or(|d| items.get(d).map(|(i, _)| i) == newer_items.get(d));
                    (bytes, bytes && r2 == &rec && decoder_same)
                }
                None => (false, false),
            };
            let render = match &rec.render {
                Some(Render::Rendered { .. }) if host.is_some() => !same_view,
                Some(Render::Rendered { .. }) => false,
                Some(Render::NotRendered { reason }) => {
                    c.not_rendered_count += 1;
                    if c.not_rendered.len() < NOT_RENDERED_KEPT {
                        c.not_rendered.push((rec.path.clone(), reason.clone()));
                    }
                    false
                }
                _ => false,
            };
            if host.is_some() && same_view && matches!(rec.render, Some(Render::Rendered { .. })) {
                c.rendered_before += 1;
            }
            if !same_bytes || render {
                batch.push(Job { rec, place, render });
            }
            if batch.len() == BATCH {
                self.run_batch(&mut batch, host, &items, &mut loaded, &mut c);
            }
            progress(c.records, self.head.records);
        }
        self.run_batch(&mut batch, host, &items, &mut loaded, &mut c);
        if !leaves.is_empty() {
            roots.push(tree::root(&leaves));
        }
        if c.records != self.head.records || c.bytes != self.head.bytes {
            c.problems.push(format!(
                "head: counts {} records of {} bytes, the catalog holds {} of {}",
                self.head.records, self.head.bytes, c.records, c.bytes
            ));
        }
        if let Some(want) = &self.roots {
            if let Some(k) = (0..want.len().max(roots.len())).find(|&k| want.get(k) != roots.get(k))
            {
                c.problems.push(format!(
                    "c/index: logical page root {k} differs from its records'"
                ));
            }
            for (k, (p, live)) in self.runs[base].iter().zip(&live_in_base).enumerate() {
                if p.live != Some(*live) {
                    c.problems.push(format!(
                        "c/index: base page {k} says {} live records, {live} are",
                        p.live.unwrap_or_default()
                    ));
                }
            }
        }
        let mut top = tree::RootBuilder::new();
        for r in &roots {
            top.push(tree::leaf_hash(r));
        }
        if top.root() != self.head.records_root {
            c.problems
                .push("head: records-root differs from the records' tree".into());
        }
        c
    }

    /// Whether `rec` at `place` here and `r2` at `p2` in `n` are the same
    /// stored bytes: one bundle (its file, entry and stream), one range,
    /// one encoding, size and BLAKE3.
    fn same_stored(
        &self,
        rec: &Record,
        place: (u64, u64),
        n: &Unlocked<'_>,
        r2: &Record,
        p2: (u64, u64),
    ) -> bool {
        match (bundle_of(self, place.0), bundle_of(n, p2.0)) {
            (Some(a), Some(b)) => {
                a == b
                    && place.1 == p2.1
                    && rec.stored_size == r2.stored_size
                    && rec.encoding == r2.encoding
                    && rec.size == r2.size
                    && rec.blake3 == r2.blake3
            }
            _ => false,
        }
    }

    /// Reads (and re-renders) a batch of records, two workers at a time,
    /// adding what they found to `c`.
    fn run_batch(
        &self,
        batch: &mut Vec<Job>,
        host: Option<&Host>,
        items: &HashMap<String, (DecoderRef, &super::GenerationFile)>,
        loaded: &mut HashMap<String, Result<Arc<Loaded>, String>>,
        c: &mut GenerationCheck,
    ) {
        if batch.is_empty() {
            return;
        }
        // The decoders the batch renders with, loaded once a check.
        if let Some(host) = host {
            for j in batch.iter().filter(|j| j.render) {
                let Some(d) = &j.rec.decoder else { continue };
                if !loaded.contains_key(d) {
                    let l = match items.get(d) {
                        None => Err(format!(
                            "decoder {d} is not among the generation's decoders"
                        )),
                        Some((_, f)) => f
                            .archive
                            .read_entry(d, host.limits().module_cap as u64)
                            .map_err(|e| format!("{}: {e}", f.path.display()))
                            .and_then(|m| host.load(&m, d).map_err(|e| e.to_string())),
                    };
                    loaded.insert(d.clone(), l);
                }
            }
        }
        let loaded = &*loaded;
        let half = batch.len().div_ceil(2);
        let (a, b) = batch.split_at(half);
        let work = |jobs: &[Job]| {
            jobs.iter()
                .map(|j| self.check_one(j, host, loaded))
                .collect::<Vec<_>>()
        };
        let (ra, rb) = legation_format::writer::join(|| work(a), || work(b));
        for o in ra.into_iter().chain(rb) {
            c.records_read += 1;
            c.rendered += u64::from(o.rendered);
            c.render_failed += u64::from(o.render_failed);
            c.problems.extend(o.problems);
        }
        batch.clear();
    }

    /// One record of a batch: its bytes read and checked, then its view
    /// re-rendered when asked.
    fn check_one(
        &self,
        j: &Job,
        host: Option<&Host>,
        loaded: &HashMap<String, Result<Arc<Loaded>, String>>,
    ) -> Outcome {
        let rec = &j.rec;
        let content = |r: crate::Result<()>| Outcome {
            problems: r.err().map(|e| e.to_string()).into_iter().collect(),
            ..Outcome::default()
        };
        let (host, blake3, pages) = match (host, &rec.render) {
            (Some(h), Some(Render::Rendered { blake3, pages })) if j.render => (h, blake3, *pages),
            _ => return content(self.copy_record(rec, j.place, &mut std::io::sink())),
        };
        let view = |why: String| Outcome {
            problems: vec![format!("{}: {why}", rec.path)],
            render_failed: true,
            ..Outcome::default()
        };
        let cap = host.limits().record_cap;
        if rec.size > cap {
            let mut o = content(self.copy_record(rec, j.place, &mut std::io::sink()));
            let e = RenderError::from(DecodeError::TooLarge {
                record: rec.path.clone(),
                size: rec.size,
                cap,
            });
            o.problems.push(format!("{}: {e}", rec.path));
            o.render_failed = true;
            return o;
        }
        let bytes = match self.read_record(rec, j.place, cap) {
            Ok(b) => b,
            Err(e) => return content(Err(e)),
        };
        let decoder = match rec.decoder.as_ref().map(|d| (d, loaded.get(d))) {
            None => return view("no decoder is assigned to this record".into()),
            Some((_, Some(Ok(l)))) => l,
            Some((d, Some(Err(why)))) => return view(format!("decoder {d}: {why}")),
            Some((d, None)) => return view(format!("decoder {d} was not loaded")),
        };
        let title = rec
            .title
            .as_deref()
            .unwrap_or_else(|| rec.path.rsplit('/').next().unwrap_or(&rec.path));
        let facts = Facts {
            path: &rec.path,
            media_type: &rec.media_type,
            title,
        };
        match host.render(decoder, facts, &bytes) {
            Ok(r) if &r.hash() == blake3 && r.pages == pages => Outcome {
                rendered: true,
                ..Outcome::default()
            },
            Ok(_) => view("the decoder's view differs from the one recorded at packing".into()),
            Err(e) => Outcome {
                problems: vec![e.to_string()],
                render_failed: true,
                ..Outcome::default()
            },
        }
    }
}

/// What checking one record found.
#[derive(Default)]
struct Outcome {
    problems: Vec<String>,
    rendered: bool,
    render_failed: bool,
}

/// The bundle at index `b` of a generation's list.
fn bundle_of<'u>(
    u: &'u Unlocked<'_>,
    b: u64,
) -> Option<&'u legation_format::v2::index::SeriesBundle> {
    usize::try_from(b).ok().and_then(|b| u.bundles.get(b))
}

impl Series {
    /// Content verification (with `host`, render verification too) of
    /// every generation present, newest first (SPEC §33.7): each one's
    /// pages, counts, roots and records, a record's stored bytes read and
    /// its view re-rendered once, in the newest generation that holds
    /// them. A generation that no key given opens is reported as not
    /// checked, without a problem; one whose files are missing or damaged
    /// has its problem. `progress` is given the sequence, the records done
    /// and the generation's records.
    pub fn check_generations(
        &self,
        keys: &[Key],
        host: Option<&Host>,
        progress: &mut dyn FnMut(u64, u64, u64),
    ) -> Vec<GenerationCheck> {
        let mut seqs: Vec<u64> = self.files.iter().map(|f| f.sequence()).collect();
        seqs.sort_unstable();
        seqs.dedup();
        let mut out = Vec::with_capacity(seqs.len());
        let mut newer: Option<Unlocked<'_>> = None;
        for &s in seqs.iter().rev() {
            match self.unlock(s, keys) {
                Ok(u) => {
                    out.push(u.check(newer.as_ref(), host, &mut |d, t| progress(s, d, t)));
                    newer = Some(u);
                }
                Err(e) if e.kind() == ErrorKind::WrongKey => out.push(GenerationCheck {
                    sequence: s,
                    not_checked: Some(format!("no key given opens it ({e})")),
                    ..GenerationCheck::default()
                }),
                Err(e) => out.push(GenerationCheck {
                    sequence: s,
                    problems: vec![e.to_string()],
                    ..GenerationCheck::default()
                }),
            }
        }
        out
    }
}
