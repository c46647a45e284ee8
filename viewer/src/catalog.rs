//! The record list without holding the catalog: the index says how many
//! records each page holds, so the list knows its length at unlocking and
//! reads a page (4,096 records) only when its rows come into view, keeping
//! a few pages. A search or a folder streams the pages beside the window
//! and keeps at most [`RESULTS_MAX`] matching rows (it counts the rest);
//! those, being held, sort by any column. The folder tree is gathered by
//! one pass over the pages, at most [`FOLDERS_MAX`] folders: at unlocking
//! for an archive of at most [`SURVEY_PAGES_MAX`] pages, on demand for a
//! larger one (so that unlocking reads no page beyond those shown).
//!
//! Memory is bounded by [`CACHE_PAGES`] pages of rows, [`RESULTS_MAX`]
//! rows and [`FOLDERS_MAX`] folders, plus 8 bytes a page: about 60 MB at
//! most, whatever the number of records.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use legation_format::catalog::CatalogRecord;
use legation_reader::Unlocked;

use crate::jobs::Progress;

/// Catalog pages read per step while streaming (progress and the rows
/// sent to the window come this often).
const WINDOW: usize = 16;

/// Rows of a search or folder kept (the matches beyond are counted).
/// Sorting by a column other than the path needs every match held, so it
/// is offered for at most this many records.
pub const RESULTS_MAX: usize = 100_000;

/// Pages of rows kept for the list in path order.
pub const CACHE_PAGES: usize = 16;

/// Folders the folder tree shows at most.
pub const FOLDERS_MAX: usize = 20_000;

/// Catalog pages (of 4,096 records) an archive has at most for its folder
/// tree to be gathered at unlocking: 65,536 records, a second or so of
/// reading. A larger archive's tree is gathered only when asked for,
/// since the pass reads every page (at 10,000,000 records, 2,442 pages
/// and hundreds of megabytes).
pub const SURVEY_PAGES_MAX: usize = 16;

/// Whether unlocking `u` gathers its folder tree at once (see
/// [`SURVEY_PAGES_MAX`]).
pub fn survey_at_unlock(u: &Unlocked) -> bool {
    u.index().pages.len() <= SURVEY_PAGES_MAX
}

/// Stored bytes of `u`'s catalog pages: what gathering the folder tree
/// or a search over every record reads.
pub fn catalog_bytes(u: &Unlocked) -> u64 {
    let pages: std::collections::HashSet<&str> =
        u.index().pages.iter().map(|p| p.entry.as_str()).collect();
    u.archive()
        .entries()
        .iter()
        .filter(|e| pages.contains(e.name.as_str()))
        .map(|e| e.size)
        .sum()
}

/// What the list shows of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Path in the archive.
    pub path: String,
    /// Title (the catalog's, else the file name).
    pub title: String,
    /// Media type.
    pub media_type: Box<str>,
    /// The record's own date (Dublin Core `date`) where it has one, else
    /// its file's modification date (`YYYY-MM-DD`), if recorded.
    pub date: Option<Box<str>>,
    /// Whether `date` is the record's own (Dublin Core) date.
    pub dated: bool,
    /// Size in bytes.
    pub size: u64,
    /// Why a search matched it: where the words were found and around
    /// them (`None` outside a search).
    pub why: Option<Box<str>>,
}

/// A record's own date: its first Dublin Core `date`, if any (trimmed).
pub fn dc_date(r: &CatalogRecord) -> Option<&str> {
    r.metadata
        .get("date")
        .and_then(|v| v.iter().map(|d| d.trim()).find(|d| !d.is_empty()))
}

impl Row {
    /// The row of a catalog record.
    pub fn of(r: &CatalogRecord) -> Row {
        let title = if r.title.is_empty() {
            r.path.rsplit('/').next().unwrap_or(&r.path).to_owned()
        } else {
            r.title.clone()
        };
        let own = dc_date(r);
        Row {
            path: r.path.clone(),
            title,
            media_type: r.media_type.as_str().into(),
            dated: own.is_some(),
            date: own
                .or(r.modified.as_deref())
                .map(|d| d.get(..10).unwrap_or(d).into()),
            size: r.size,
            why: None,
        }
    }
}

/// A column to sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// The path (the catalog's order).
    Path,
    /// The title.
    Title,
    /// The media type.
    Type,
    /// The date (the record's own, else its file's).
    Date,
    /// The size.
    Size,
}

/// Where each page's records start in path order: the prefix sums of the
/// counts the index gives (8 bytes a page), so that record `k` is found
/// without reading any page.
#[derive(Debug, Clone, Default)]
pub struct Positions {
    before: Vec<u64>,
}

impl Positions {
    /// From the pages' record counts, in order.
    pub fn new(counts: impl Iterator<Item = u64>) -> Positions {
        let mut before = vec![0];
        let mut sum = 0u64;
        for c in counts {
            sum = sum.saturating_add(c);
            before.push(sum);
        }
        Positions { before }
    }

    /// From an unlocked archive's index.
    pub fn of(u: &Unlocked) -> Positions {
        Positions::new(u.index().pages.iter().map(|p| p.count))
    }

    /// The number of records.
    pub fn total(&self) -> u64 {
        self.before.last().copied().unwrap_or(0)
    }

    /// The page holding record `k` and `k`'s place in it.
    pub fn locate(&self, k: u64) -> Option<(usize, usize)> {
        if k >= self.total() {
            return None;
        }
        let n = self.before.partition_point(|&b| b <= k) - 1;
        Some((n, (k - self.before[n]) as usize))
    }
}

/// The last few pages of rows read, newest last.
#[derive(Debug, Default)]
pub struct PageCache {
    pages: VecDeque<(usize, Arc<Vec<Row>>)>,
}

impl PageCache {
    /// Page `n`'s rows, if held.
    pub fn get(&self, n: usize) -> Option<&Arc<Vec<Row>>> {
        self.pages.iter().find(|(k, _)| *k == n).map(|(_, r)| r)
    }

    /// Keeps page `n`'s rows, forgetting the oldest page beyond
    /// [`CACHE_PAGES`].
    pub fn put(&mut self, n: usize, rows: Vec<Row>) {
        self.pages.retain(|(k, _)| *k != n);
        if self.pages.len() >= CACHE_PAGES {
            self.pages.pop_front();
        }
        self.pages.push_back((n, Arc::new(rows)));
    }

    /// How many pages are held.
    pub fn len(&self) -> usize {
        self.pages.len()
    }

    /// Whether no page is held.
    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }
}

/// Reads page `n`'s rows.
pub fn read_page(u: &Unlocked, n: usize) -> Result<Vec<Row>, String> {
    let page = u.page(n).map_err(|e| e.to_string())?;
    Ok(page.records.iter().map(Row::of).collect())
}

/// What a search or folder asks for: records under `folder` ("" for all)
/// whose title, path or metadata contain `query` in any case ("" for
/// every one).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Question {
    /// The words searched for, as typed.
    pub query: String,
    /// The folder, without its final slash ("" for the whole archive).
    pub folder: String,
}

impl Question {
    /// Whether it asks for every record.
    pub fn is_everything(&self) -> bool {
        self.query.trim().is_empty() && self.folder.is_empty()
    }
}

/// Rows that match a [`Question`], sent while the pages stream.
#[derive(Debug, Default)]
pub struct Found {
    /// Matching rows, in path order, while fewer than [`RESULTS_MAX`]
    /// have been kept.
    pub rows: Vec<Row>,
    /// Matches in this batch, kept or not.
    pub matched: u64,
}

/// A lower-cased needle matched without allocating when it is ASCII.
pub(crate) struct Needle {
    text: String,
    ascii: bool,
}

impl Needle {
    pub(crate) fn new(query: &str) -> Needle {
        let text = query.trim().to_lowercase();
        Needle {
            ascii: text.is_ascii(),
            text,
        }
    }

    fn is_in(&self, hay: &str) -> bool {
        let n = self.text.as_bytes();
        if n.is_empty() {
            return true;
        }
        if self.ascii {
            hay.as_bytes()
                .windows(n.len())
                .any(|w| w.eq_ignore_ascii_case(n))
        } else {
            hay.to_lowercase().contains(&self.text)
        }
    }

    /// Where a record's title, path or metadata hold the needle, and
    /// the words around it (`None`: nowhere).
    pub(crate) fn matches(&self, r: &CatalogRecord) -> Option<String> {
        if self.text.is_empty() {
            return Some(String::new());
        }
        if self.is_in(&r.title) {
            return Some(format!("title: {}", around(&r.title, &self.text)));
        }
        if self.is_in(&r.path) {
            return Some(format!("path: {}", around(&r.path, &self.text)));
        }
        r.metadata.iter().find_map(|(k, vs)| {
            vs.iter()
                .find(|v| self.is_in(v))
                .map(|v| format!("{k}: {}", around(v, &self.text)))
        })
    }
}

/// Characters kept either side of a match in [`Row::why`].
const AROUND: usize = 40;

/// The words of `hay` around where `needle` (lower case) is found, cut
/// with "…" at most [`AROUND`] characters either side.
fn around(hay: &str, needle: &str) -> String {
    let lower = hay.to_lowercase();
    // Lower-casing keeps char counts for almost all text; when it does
    // not, the start of `hay` is shown.
    let at = match lower.find(needle) {
        Some(b) if lower.len() == hay.len() => lower[..b].chars().count(),
        _ => 0,
    };
    let n = needle.chars().count();
    let total = hay.chars().count();
    let from = at.saturating_sub(AROUND);
    let to = (at + n + AROUND).min(total);
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    out.extend(hay.chars().skip(from).take(to - from));
    if to < total {
        out.push('…');
    }
    out
}

/// Streams the pages a question needs (a folder's records lie together
/// in path order: from the page that may hold its first record to the one
/// past its last) and hands the matches to `send` a few pages at a time,
/// keeping rows for the first [`RESULTS_MAX`] only. Returns whether it
/// read everything it needed (`send` returning `false` or the job being
/// cancelled stops it); `Err` names the page that fails.
pub fn search(
    u: &Unlocked,
    q: &Question,
    progress: &Progress,
    send: &mut dyn FnMut(Found) -> bool,
) -> Result<bool, String> {
    let pages = u.index().pages.len();
    let first = first_page(u, q);
    let mut kept = 0usize;
    let mut next = (first < pages).then_some(first);
    while let Some(start) = next {
        if !progress.set((start - first) as u64, (pages - first) as u64) {
            return Ok(false);
        }
        let (found, after) = search_window(u, q, start, kept)?;
        kept += found.rows.len();
        if !send(found) {
            return Ok(false);
        }
        next = after;
    }
    progress.set(1, 1);
    Ok(true)
}

/// The first catalog page that may hold a record `q` asks for: the first
/// whose last path is not before its folder.
pub fn first_page(u: &Unlocked, q: &Question) -> usize {
    let prefix = folder_prefix(q);
    u.index()
        .pages
        .partition_point(|p| p.last.as_str() < prefix.as_str())
}

/// Records under `q`'s folder start with this ("" for all).
pub(crate) fn folder_prefix(q: &Question) -> String {
    if q.folder.is_empty() {
        String::new()
    } else {
        format!("{}/", q.folder)
    }
}

/// One step of [`search`]: the matches among the pages from `start` (a
/// few at a time), keeping rows while fewer than [`RESULTS_MAX`] are
/// kept (`kept` so far), and the page to go on from (`None`: the catalog
/// or the folder ended). `Err` names the page that fails.
pub fn search_window(
    u: &Unlocked,
    q: &Question,
    start: usize,
    mut kept: usize,
) -> Result<(Found, Option<usize>), String> {
    let pages = u.index().pages.len();
    let prefix = folder_prefix(q);
    let needle = Needle::new(&q.query);
    let end = (start + WINDOW).min(pages);
    let mut past = false;
    let mut found = Found::default();
    let mut failed = None;
    u.for_each_page(start..end, &mut |_, page| {
        let page = match page {
            Ok(p) => p,
            Err(e) => {
                failed = Some(e.to_string());
                return false;
            }
        };
        for r in &page.records {
            if !r.path.starts_with(&prefix) {
                if r.path.as_str() > prefix.as_str() {
                    past = true;
                    return false;
                }
                continue;
            }
            if let Some(why) = needle.matches(r) {
                found.matched += 1;
                if kept < RESULTS_MAX {
                    kept += 1;
                    let mut row = Row::of(r);
                    // A folder alone needs no reason.
                    row.why = (!needle.text.is_empty()).then(|| why.into());
                    found.rows.push(row);
                }
            }
        }
        true
    });
    if let Some(e) = failed {
        return Err(e);
    }
    Ok((found, (!past && end < pages).then_some(end)))
}

/// Orders `rows` (held in path order) by `key`, as positions into `rows`.
pub fn order(rows: &[Row], key: SortKey, descending: bool) -> Vec<u32> {
    let mut out: Vec<u32> = (0..rows.len() as u32).collect();
    match key {
        SortKey::Path => {}
        // Lower-cased once per row, not once per comparison.
        SortKey::Title => out.sort_by_cached_key(|&i| rows[i as usize].title.to_lowercase()),
        SortKey::Type => out.sort_by(|a, b| {
            rows[*a as usize]
                .media_type
                .cmp(&rows[*b as usize].media_type)
        }),
        SortKey::Date => out.sort_by(|a, b| rows[*a as usize].date.cmp(&rows[*b as usize].date)),
        SortKey::Size => out.sort_by_key(|&i| rows[i as usize].size),
    }
    if descending {
        out.reverse();
    }
    out
}

/// Folders seen while surveying, sent a few pages at a time.
pub type Folders = Vec<String>;

/// One pass over every page gathering the folders records lie in (and
/// the index's empty folders), at most [`FOLDERS_MAX`]; new ones go to
/// `send` a few pages at a time. Returns whether it read every page and
/// kept every folder.
pub fn survey(
    u: &Unlocked,
    progress: &Progress,
    send: &mut dyn FnMut(Folders) -> bool,
) -> Result<bool, String> {
    let pages = u.index().pages.len();
    let mut folders = BTreeSet::new();
    let mut complete = true;
    let mut b = Folders::new();
    for d in &u.index().empty_dirs {
        add_folders(&mut folders, &format!("{d}/"), &mut b);
    }
    for start in (0..pages).step_by(WINDOW) {
        if !progress.set(start as u64, pages as u64) {
            return Ok(false);
        }
        let mut failed = None;
        u.for_each_page(
            start..(start + WINDOW).min(pages),
            &mut |_, page| match page {
                Ok(p) => {
                    for r in &p.records {
                        if folders.len() >= FOLDERS_MAX {
                            complete = false;
                            return false;
                        }
                        add_folders(&mut folders, &r.path, &mut b);
                    }
                    true
                }
                Err(e) => {
                    failed = Some(e.to_string());
                    false
                }
            },
        );
        if let Some(e) = failed {
            return Err(e);
        }
        if !send(std::mem::take(&mut b)) {
            return Ok(false);
        }
        if !complete {
            break;
        }
    }
    if !b.is_empty() && !send(b) {
        return Ok(false);
    }
    progress.set(pages as u64, pages as u64);
    Ok(complete)
}

/// What a format 2.0 entry holds, told from the index alone (no page
/// read): a problem naming an entry says which records it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRecords {
    /// A sentence for the window: what the entry is and which records
    /// (numbers in path order, the paths bounding them) it holds.
    pub message: String,
    /// The first of those records (from 0, in path order), if any.
    pub first: Option<u64>,
}

/// Whether `name` is a 2.0 bundle or catalog page entry (`b/` or `c/`
/// and 8 lowercase hex digits), the entries that hold records.
pub fn holds_records_v2(name: &str) -> bool {
    let hex8 = |t: &str| {
        t.len() == 8
            && t.bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    };
    name.strip_prefix("b/").is_some_and(hex8) || name.strip_prefix("c/").is_some_and(hex8)
}

/// The pages holding bundle `b`'s records, given where each page's first
/// record lies (bundle, offset), in order: from the last page starting at
/// or before the bundle's start to the last page starting in it or
/// before. `None` when no page starts at or before bundle `b`.
pub fn bundle_pages(starts: &[(u64, u64)], b: u64) -> Option<(usize, usize)> {
    let hi = starts.partition_point(|&(fb, _)| fb <= b).checked_sub(1)?;
    let lo = starts.partition_point(|&s| s <= (b, 0)).checked_sub(1)?;
    Some((lo, hi))
}

/// The path of the record a 1.x archive stores in container entry
/// `entry`, looked for page by page (`progress` told the pages read;
/// cancelling it stops the search), or why there is none.
pub fn record_in_entry(u: &Unlocked, entry: &str, progress: &Progress) -> Result<String, String> {
    let pages = u.index().pages.len();
    for n in 0..pages {
        if !progress.set(n as u64, pages as u64) {
            return Err(format!("{entry}: the search was cancelled"));
        }
        let page = u.page(n).map_err(|e| e.to_string())?;
        if let Some(r) = page.records.iter().find(|r| r.entry == entry) {
            return Ok(r.path.clone());
        }
    }
    Err(format!("{entry}: no record of the catalog is stored there"))
}

/// What entry `entry` of a 2.0 archive holds; `None` for a 1.x archive
/// (whose record entries hold one record each: see the catalog).
pub fn entry_records(u: &Unlocked, entry: &str) -> Option<EntryRecords> {
    let idx = u.v2_index()?;
    let pages = &u.index().pages;
    let before = Positions::of(u);
    let no_record = |what: &str| EntryRecords {
        message: format!("{entry} {what}; it holds no record."),
        first: None,
    };
    let number = |hex: &str| u64::from_str_radix(hex, 16).ok();
    // Records of pages lo..=hi: numbers (from 1 for people) and paths.
    let span = |lo: usize, hi: usize| -> (String, u64) {
        let first = before.before[lo];
        let last = before.before[hi + 1];
        let from = match lo.checked_sub(1) {
            Some(p) => format!("after \u{201c}{}\u{201d}", pages[p].last),
            None => "from the first".into(),
        };
        (
            format!(
                "records {} to {last} in path order ({from} up to \u{201c}{}\u{201d})",
                first + 1,
                pages[hi].last
            ),
            first,
        )
    };
    if let Some(n) = entry
        .strip_prefix("b/")
        .filter(|_| holds_records_v2(entry))
        .and_then(number)
    {
        if n >= idx.bundles.len() as u64 {
            return Some(no_record("is not one of the archive's bundles"));
        }
        let starts: Vec<(u64, u64)> = idx
            .pages
            .iter()
            .map(|p| (p.first_bundle, p.first_offset))
            .collect();
        let Some((lo, hi)) = bundle_pages(&starts, n) else {
            return Some(no_record("is a bundle no catalog page points into"));
        };
        let (records, first) = span(lo, hi);
        let pages_text = if lo == hi {
            format!("catalog page {}", lo + 1)
        } else {
            format!("catalog pages {} to {}", lo + 1, hi + 1)
        };
        return Some(EntryRecords {
            message: format!(
                "{entry} is bundle {} of {}: it stores the bytes of the records of {pages_text} \
                 that lie in it, among {records}. Those records may not read or may not match \
                 their hashes; the list shows the first of them.",
                n + 1,
                idx.bundles.len()
            ),
            first: Some(first),
        });
    }
    if let Some(n) = entry
        .strip_prefix("c/")
        .filter(|_| holds_records_v2(entry))
        .and_then(number)
    {
        let Some(n) = usize::try_from(n).ok().filter(|&n| n < pages.len()) else {
            return Some(no_record("is not one of the catalog's pages"));
        };
        let (records, first) = span(n, n);
        return Some(EntryRecords {
            message: format!(
                "{entry} is catalog page {} of {}: it lists {records}, their paths, sizes \
                 and hashes (their bytes are in the bundles). Their rows may not read; the list \
                 shows the first of them.",
                n + 1,
                pages.len()
            ),
            first: Some(first),
        });
    }
    let what = if entry == legation_format::v2::INDEX_ENTRY {
        "is the catalog's index (the pages and bundles, read at unlocking)"
    } else if entry.starts_with(legation_format::recovery::PARITY_PREFIX) {
        "is catalog parity (it lets `legation repair` rebuild a damaged catalog page)"
    } else if entry == legation_format::recovery::TAIL_ENTRY {
        "is the recovery data of the archive's public tail"
    } else if entry.starts_with("d/") {
        "is a decoder (records of its media types cannot be shown until it is repaired)"
    } else {
        "is part of the archive's public structure"
    };
    Some(no_record(what))
}

/// Adds `new` folders to the sorted `folders`.
pub fn merge_folders(folders: &mut Vec<String>, new: Folders) {
    for f in new {
        if let Err(at) = folders.binary_search(&f) {
            folders.insert(at, f);
        }
    }
}

/// The folders directly inside `parent` ("" for the top) of a sorted
/// folder list.
pub fn subfolders<'a>(
    folders: &'a [String],
    parent: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    // Those inside `parent` lie together, from the first at or after
    // `parent/`.
    let inside = format!("{parent}/");
    let start = if parent.is_empty() {
        0
    } else {
        folders.partition_point(|f| f.as_str() < inside.as_str())
    };
    folders[start..]
        .iter()
        .map(String::as_str)
        .take_while(move |f| parent.is_empty() || f.starts_with(&inside))
        .filter(move |f| f.rsplit_once('/').map_or("", |(p, _)| p) == parent)
}

/// Adds the folders above `path` to `folders`, and the new ones to `new`.
pub(crate) fn add_folders(folders: &mut BTreeSet<String>, path: &str, new: &mut Vec<String>) {
    let mut end = 0;
    while let Some(i) = path[end..].find('/') {
        end += i;
        if !folders.contains(&path[..end]) {
            folders.insert(path[..end].to_owned());
            new.push(path[..end].to_owned());
        }
        end += 1;
    }
}

/// A size in bytes for people: `512 B`, `1.5 KiB`, `2.0 MiB`.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(path: &str, title: &str, size: u64) -> Row {
        Row {
            path: path.into(),
            title: title.into(),
            media_type: "text/plain".into(),
            date: None,
            dated: false,
            size,
            why: None,
        }
    }

    fn record(path: &str, title: &str, meta: &str) -> CatalogRecord {
        let mut r = CatalogRecord {
            path: path.into(),
            title: title.into(),
            media_type: "text/plain".into(),
            size: 0,
            blake3: [0; 32],
            modified: None,
            decoder: None,
            render: None,
            metadata: Default::default(),
            entry: String::new(),
            stream: [0; 16],
            encoding: legation_format::catalog::Encoding::Identity,
            stored_size: 0,
            offset: 0,
        };
        if !meta.is_empty() {
            r.metadata.insert("creator".into(), vec![meta.into()]);
        }
        r
    }

    #[test]
    fn search_covers_titles_paths_and_metadata_in_any_case() {
        let court = record("a/b/y.csv", "alpha", "Tartu County Court");
        assert_eq!(
            Needle::new("TARTU").matches(&court).as_deref(),
            Some("creator: Tartu County Court")
        );
        assert_eq!(
            Needle::new(" y.CSV ").matches(&court).as_deref(),
            Some("path: a/b/y.csv")
        );
        assert_eq!(
            Needle::new("ALPHA").matches(&court).as_deref(),
            Some("title: alpha")
        );
        assert!(Needle::new("nowhere").matches(&court).is_none());
        assert!(Needle::new("").matches(&court).is_some());
        // Not ASCII: lower-cased on both sides.
        let d = record("ö/Ärzte.txt", "", "");
        assert!(Needle::new("ÄRZTE").matches(&d).is_some());
        assert!(Needle::new("ärztin").matches(&d).is_none());
    }

    #[test]
    fn why_a_search_matched_shows_the_words_around() {
        let long = format!("{}register-zad.csv{}", "x".repeat(100), "y".repeat(100));
        let plan = record("land/plans/sheet-0001.png", "Sheet 1", &long);
        let why = Needle::new(".csv").matches(&plan).unwrap();
        assert_eq!(
            why,
            format!(
                "creator: …{}register-zad.csv{}…",
                "x".repeat(28),
                "y".repeat(40)
            )
        );
    }

    #[test]
    fn a_row_shows_the_records_own_date_first() {
        let mut r = record("a.txt", "A", "");
        r.modified = Some("2026-11-26T10:00:00Z".into());
        let row = Row::of(&r);
        assert_eq!(
            (row.date.as_deref(), row.dated),
            (Some("2026-11-26"), false)
        );
        r.metadata
            .insert("date".into(), vec![" 1984-08-26 ".into()]);
        let row = Row::of(&r);
        assert_eq!((row.date.as_deref(), row.dated), (Some("1984-08-26"), true));
    }

    #[test]
    fn sorting_held_rows_by_each_column() {
        let rows = vec![
            row("a/x.txt", "Zeta", 5),
            row("a/b/y.csv", "alpha", 50),
            row("c.png", "Mid", 1),
        ];
        assert_eq!(order(&rows, SortKey::Path, false), vec![0, 1, 2]);
        assert_eq!(order(&rows, SortKey::Title, false), vec![1, 2, 0]);
        assert_eq!(order(&rows, SortKey::Size, false), vec![2, 0, 1]);
        assert_eq!(order(&rows, SortKey::Size, true), vec![1, 0, 2]);
    }

    #[test]
    fn positions_locate_any_record_from_the_counts() {
        let p = Positions::new([4096, 4096, 3].into_iter());
        assert_eq!(p.total(), 8195);
        assert_eq!(p.locate(0), Some((0, 0)));
        assert_eq!(p.locate(4095), Some((0, 4095)));
        assert_eq!(p.locate(4096), Some((1, 0)));
        assert_eq!(p.locate(8194), Some((2, 2)));
        assert_eq!(p.locate(8195), None);
        assert_eq!(Positions::default().locate(0), None);
        // 10,000,000 records: 2,442 pages, 8 bytes each.
        let big = Positions::new((0..2442).map(|n| {
            if n < 2441 {
                4096
            } else {
                10_000_000 - 2441 * 4096
            }
        }));
        assert_eq!(big.total(), 10_000_000);
        assert_eq!(
            big.locate(9_999_999),
            Some((2441, (9_999_999 - 2441 * 4096) as usize))
        );
    }

    #[test]
    fn the_cache_keeps_the_newest_pages() {
        let mut c = PageCache::default();
        for n in 0..CACHE_PAGES + 3 {
            c.put(n, vec![row(&format!("p{n}"), "", 0)]);
        }
        assert_eq!(c.len(), CACHE_PAGES);
        assert!(c.get(0).is_none() && c.get(2).is_none());
        assert_eq!(
            c.get(CACHE_PAGES + 2).unwrap()[0].path,
            format!("p{}", CACHE_PAGES + 2)
        );
    }

    #[test]
    fn folders_form_a_tree() {
        let mut set = BTreeSet::new();
        let mut new = Vec::new();
        for p in ["a/x.txt", "a-z/w", "a/b/y.csv", "c.png", "ab/z"] {
            add_folders(&mut set, p, &mut new);
        }
        let mut folders = Vec::new();
        merge_folders(&mut folders, new);
        merge_folders(&mut folders, vec!["0-first".into(), "a".into()]);
        assert_eq!(folders, vec!["0-first", "a", "a-z", "a/b", "ab"]);
        assert_eq!(
            subfolders(&folders, "").collect::<Vec<_>>(),
            vec!["0-first", "a", "a-z", "ab"]
        );
        assert_eq!(subfolders(&folders, "a").collect::<Vec<_>>(), vec!["a/b"]);
        assert_eq!(subfolders(&folders, "a/b").count(), 0);
    }

    #[test]
    fn a_bundle_s_records_lie_in_the_pages_starting_in_it_and_the_one_before() {
        // Pages starting at (bundle, offset): bundle 0 spans pages 0-1,
        // bundle 1 pages 1-2, bundle 2 lies inside page 2, bundle 3
        // starts page 3 exactly.
        let starts = [(0, 0), (0, 500), (1, 200), (3, 0), (3, 100)];
        assert_eq!(bundle_pages(&starts, 0), Some((0, 1)));
        assert_eq!(bundle_pages(&starts, 1), Some((1, 2)));
        assert_eq!(bundle_pages(&starts, 2), Some((2, 2)));
        assert_eq!(bundle_pages(&starts, 3), Some((3, 4)));
        assert_eq!(bundle_pages(&[(2, 0)], 1), None);
        assert_eq!(bundle_pages(&[], 0), None);
    }

    #[test]
    fn entries_that_hold_records_in_2_0() {
        assert!(holds_records_v2("b/0000000a"));
        assert!(holds_records_v2("c/00000000"));
        for not in [
            "c/index",
            "p/00000000",
            "b/0000000A",
            "b/000000001",
            "r/00000000",
            "recovery",
        ] {
            assert!(!holds_records_v2(not), "{not}");
        }
    }

    #[test]
    fn sizes_for_people() {
        assert_eq!(human_size(10), "10 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(3 << 20), "3.0 MiB");
    }
}
