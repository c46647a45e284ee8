//! A dependent generation's catalog as the viewer reads it (SPEC §33.4),
//! with no egui:
//! the list a section at a time, each section found by the index and read
//! from whichever files hold its pages (at most one page a run, however
//! far it lies: `legation_reader::series::Unlocked::cuts`), searches and
//! folders streamed from the first page that may hold them, and the
//! folder tree gathered by one pass.
//!
//! Memory: a section's rows (at most one page a run), at most
//! [`RESULTS_MAX`] matching rows, at most [`FOLDERS_MAX`] folders.

use std::collections::BTreeSet;

use legation_format::crypto::DataKey;
use legation_format::v2::page::Record;
use legation_reader::series::{Series, Unlocked as SeriesUnlocked};

use crate::catalog::{add_folders, folder_prefix, Needle, Question, FOLDERS_MAX, RESULTS_MAX};
use crate::generations::{catalog_shape, RecordRow};
use crate::jobs::Progress;

/// One section of a dependent generation's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Section {
    /// Its records, in path order.
    pub(crate) rows: Vec<RecordRow>,
    /// Which section (0-based) of [`Section::sections`].
    pub(crate) number: usize,
    /// The sections of the generation.
    pub(crate) sections: usize,
    /// The path the section starts after (`None`: the first).
    pub(crate) after: Option<String>,
    /// The section's last path (`None`: no records).
    pub(crate) last: Option<String>,
}

/// Records searched between two looks at whether the job was cancelled.
const STEP: u64 = 4096;

fn unlock<'s>(
    series: &'s Series,
    sequence: u64,
    key: &DataKey,
) -> Result<SeriesUnlocked<'s>, String> {
    series
        .unlock_with_data_key(sequence, key.clone())
        .map_err(|e| e.to_string())
}

/// The list's row of a record at `place`.
fn row_of(u: &SeriesUnlocked<'_>, rec: Record, place: (u64, u64)) -> RecordRow {
    RecordRow {
        stored_in: u.bundle_generation(place.0).unwrap_or(u.sequence()),
        title: rec.title,
        media_type: rec.media_type,
        size: rec.size,
        modified: rec.modified,
        path: rec.path,
    }
}

/// Section `number` of generation `sequence`'s records (the last one when
/// `number` is past it), read from the index's cut and at most one page
/// a run.
pub(crate) fn section(
    series: &Series,
    sequence: u64,
    key: &DataKey,
    number: usize,
) -> Result<Section, String> {
    let u = unlock(series, sequence, key)?;
    let cuts = u.cuts();
    let number = number.min(cuts.len().saturating_sub(1));
    let rows = u
        .section(&cuts, number)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|(rec, place)| row_of(&u, rec, place))
        .collect();
    Ok(Section {
        rows,
        number,
        sections: cuts.len(),
        after: number.checked_sub(1).map(|k| cuts[k].to_owned()),
        last: cuts.get(number).map(|c| (*c).to_owned()),
    })
}

/// The section of generation `sequence` that holds `path` or would.
pub(crate) fn section_of(
    series: &Series,
    sequence: u64,
    key: &DataKey,
    path: &str,
) -> Result<usize, String> {
    let u = unlock(series, sequence, key)?;
    Ok(u.cuts().partition_point(|c| *c < path))
}

/// What a search or a folder found.
#[derive(Debug, Default)]
pub(crate) struct Matches {
    /// The first [`RESULTS_MAX`] matching records, in path order.
    pub(crate) rows: Vec<RecordRow>,
    /// Why each matched (where the words were found), beside `rows`.
    pub(crate) why: Vec<String>,
    /// Every match, kept or not.
    pub(crate) matched: u64,
}

/// The records of generation `sequence` that `q` asks for, streamed from
/// the first page that may hold its folder to the first path past it
/// (`progress` told the records passed; cancelling it stops the search,
/// `Ok(None)`).
pub(crate) fn search(
    series: &Series,
    sequence: u64,
    key: &DataKey,
    q: &Question,
    progress: &Progress,
) -> Result<Option<Matches>, String> {
    let u = unlock(series, sequence, key)?;
    let prefix = folder_prefix(q);
    let needle = Needle::new(&q.query);
    let mut out = Matches::default();
    let mut seen = 0u64;
    for row in u.merge_from(&prefix) {
        let row = row.map_err(|e| e.to_string())?;
        if !row.path.starts_with(&prefix) {
            break;
        }
        let Some((rec, place)) = row.live() else {
            continue;
        };
        seen += 1;
        if seen.is_multiple_of(STEP) && !progress.set(seen, u.head.records) {
            return Ok(None);
        }
        if let Some(why) = needle.matches(&catalog_shape(&u, &rec, place)) {
            out.matched += 1;
            if out.rows.len() < RESULTS_MAX {
                out.why.push(why);
                out.rows.push(row_of(&u, rec, place));
            }
        }
    }
    progress.set(1, 1);
    Ok(Some(out))
}

/// The folders of generation `sequence` (its records' and its empty
/// ones), at most [`FOLDERS_MAX`], sorted, and whether every one was
/// kept: one pass over its merged catalog (`Ok(None)` when cancelled).
pub(crate) fn folders(
    series: &Series,
    sequence: u64,
    key: &DataKey,
    progress: &Progress,
) -> Result<Option<(Vec<String>, bool)>, String> {
    let u = unlock(series, sequence, key)?;
    let mut set = BTreeSet::new();
    let mut new = Vec::new();
    for d in &u.empty_dirs {
        add_folders(&mut set, &format!("{d}/"), &mut new);
    }
    let mut seen = 0u64;
    for row in u.merge() {
        let row = row.map_err(|e| e.to_string())?;
        if row.live().is_none() {
            continue;
        }
        seen += 1;
        if seen.is_multiple_of(STEP) && !progress.set(seen, u.head.records) {
            return Ok(None);
        }
        add_folders(&mut set, &row.path, &mut new);
        if set.len() > FOLDERS_MAX {
            let kept = set.into_iter().take(FOLDERS_MAX).collect();
            return Ok(Some((kept, false)));
        }
    }
    progress.set(1, 1);
    Ok(Some((set.into_iter().collect(), true)))
}
