//! The record list: every catalog record in a compact row, sorted and
//! filtered in memory so a million records list, sort and search without
//! reading the archive again, and the folder tree their paths make.

use std::collections::BTreeSet;

use legation_reader::Unlocked;

use crate::jobs::Progress;

/// Catalog pages decrypted per step while loading.
const WINDOW: usize = 16;

/// What the list shows of one record.
#[derive(Debug, Clone)]
pub struct Row {
    /// Path in the archive.
    pub path: String,
    /// Title (the catalog's, else the file name).
    pub title: String,
    /// Index into [`Catalog::media_types`].
    pub media_type: u16,
    /// Modification date (`YYYY-MM-DD`), if recorded.
    pub date: Option<Box<str>>,
    /// Size in bytes.
    pub size: u64,
    /// Lower-case title, path and metadata values, for search.
    haystack: Box<str>,
}

/// Rows read from a few catalog pages, with the media types and folders
/// seen for the first time in them.
#[derive(Debug, Default)]
pub struct Batch {
    /// The rows, in path order.
    pub rows: Vec<Row>,
    /// Media types new in this batch, in index order.
    pub media_types: Vec<String>,
    /// Folders new in this batch.
    pub folders: Vec<String>,
}

/// Every record of an unlocked archive, in path order.
#[derive(Debug, Default, Clone)]
pub struct Catalog {
    /// The rows, in path order (the catalog's order).
    pub rows: Vec<Row>,
    /// The distinct media types, indexed by [`Row::media_type`].
    pub media_types: Vec<String>,
    /// Every folder that holds a record or is an empty folder, sorted.
    pub folders: Vec<String>,
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
    /// The modification date.
    Date,
    /// The size.
    Size,
}

impl Catalog {
    /// Reads every catalog page, reporting pages read to `progress`.
    /// `Err` names the page that fails; `Ok(None)` means cancelled.
    pub fn load(u: &Unlocked, progress: &Progress) -> Result<Option<Catalog>, String> {
        let mut c = Catalog::default();
        let done = Catalog::load_batches(u, progress, &mut |b| {
            c.append(b);
            true
        })?;
        Ok(done.then_some(c))
    }

    /// Reads every catalog page and hands the rows to `send` a few pages
    /// at a time, so the list shows records while the rest is read.
    /// Returns whether it read everything (`send` returning `false` or
    /// the job being cancelled stops it).
    pub fn load_batches(
        u: &Unlocked,
        progress: &Progress,
        send: &mut dyn FnMut(Batch) -> bool,
    ) -> Result<bool, String> {
        let pages = u.index().pages.len();
        let mut types = std::collections::HashMap::new();
        let mut folders = BTreeSet::new();
        for start in (0..pages).step_by(WINDOW) {
            if !progress.set(start as u64, pages as u64) {
                return Ok(false);
            }
            let mut b = Batch::default();
            let mut failed = None;
            u.for_each_page(start..(start + WINDOW).min(pages), &mut |_, page| {
                let page = match page {
                    Ok(p) => p,
                    Err(e) => {
                        failed = Some(e.to_string());
                        return false;
                    }
                };
                b.rows.reserve(page.records.len());
                for r in &page.records {
                    let next = types.len();
                    let t = *types.entry(r.media_type.clone()).or_insert_with(|| {
                        b.media_types.push(r.media_type.clone());
                        next
                    });
                    add_folders(&mut folders, &r.path, &mut b.folders);
                    let title = if r.title.is_empty() {
                        r.path.rsplit('/').next().unwrap_or(&r.path).to_owned()
                    } else {
                        r.title.clone()
                    };
                    let mut hay = format!("{}\n{}", title, r.path);
                    for vs in r.metadata.values() {
                        for v in vs {
                            hay.push('\n');
                            hay.push_str(v);
                        }
                    }
                    b.rows.push(Row {
                        path: r.path.clone(),
                        title,
                        media_type: u16::try_from(t).unwrap_or(u16::MAX),
                        date: r
                            .modified
                            .as_deref()
                            .map(|d| d.get(..10).unwrap_or(d).into()),
                        size: r.size,
                        haystack: hay.to_lowercase().into(),
                    });
                }
                true
            });
            if let Some(e) = failed {
                return Err(e);
            }
            if !send(b) {
                return Ok(false);
            }
        }
        let mut b = Batch::default();
        for d in &u.index().empty_dirs {
            if folders.insert(d.clone()) {
                b.folders.push(d.clone());
            }
            add_folders(&mut folders, &format!("{d}/"), &mut b.folders);
        }
        if !send(b) {
            return Ok(false);
        }
        progress.set(pages as u64, pages as u64);
        Ok(true)
    }

    /// Adds the rows of a batch (which follow the rows already here in
    /// path order) with the media types and folders they bring.
    pub fn append(&mut self, b: Batch) {
        self.rows.extend(b.rows);
        self.media_types.extend(b.media_types);
        for f in b.folders {
            if let Err(at) = self.folders.binary_search(&f) {
                self.folders.insert(at, f);
            }
        }
    }

    /// The media type of a row.
    pub fn media_type(&self, row: &Row) -> &str {
        self.media_types
            .get(usize::from(row.media_type))
            .map_or("?", String::as_str)
    }

    /// Indices of the rows whose title, path or metadata contain `query`
    /// (any case) and that lie in `folder` (all when empty), sorted.
    pub fn select(&self, query: &str, folder: &str, sort: SortKey, descending: bool) -> Vec<u32> {
        let q = query.trim().to_lowercase();
        let prefix = if folder.is_empty() {
            String::new()
        } else {
            format!("{folder}/")
        };
        let mut out: Vec<u32> = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.path.starts_with(&prefix) && (q.is_empty() || r.haystack.contains(&q))
            })
            .map(|(i, _)| i as u32)
            .collect();
        let rows = &self.rows;
        match sort {
            // Rows are kept in path order already.
            SortKey::Path => {}
            // Lower-cased once per row, not once per comparison.
            SortKey::Title => out.sort_by_cached_key(|&i| rows[i as usize].title.to_lowercase()),
            SortKey::Type => {
                let rank = self.type_ranks();
                out.sort_by_key(|&i| {
                    rank.get(usize::from(rows[i as usize].media_type))
                        .copied()
                        .unwrap_or(usize::MAX)
                });
            }
            SortKey::Date => {
                out.sort_by(|a, b| rows[*a as usize].date.cmp(&rows[*b as usize].date))
            }
            SortKey::Size => out.sort_by_key(|&i| rows[i as usize].size),
        }
        if descending {
            out.reverse();
        }
        out
    }

    /// For each media type index, its place in alphabetical order.
    fn type_ranks(&self) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.media_types.len()).collect();
        idx.sort_by(|a, b| self.media_types[*a].cmp(&self.media_types[*b]));
        let mut rank = vec![0; idx.len()];
        for (r, i) in idx.into_iter().enumerate() {
            rank[i] = r;
        }
        rank
    }

    /// The row of a record path (rows are in path order).
    pub fn position(&self, path: &str) -> Option<usize> {
        self.rows
            .binary_search_by(|r| r.path.as_str().cmp(path))
            .ok()
    }

    /// The folders directly inside `parent` ("" for the top).
    pub fn subfolders<'a>(&'a self, parent: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.folders
            .iter()
            .map(String::as_str)
            .filter(move |f| f.rsplit_once('/').map_or("", |(p, _)| p) == parent)
    }
}

/// Adds the folders above `path` to `folders`, and the new ones to `new`.
fn add_folders(folders: &mut BTreeSet<String>, path: &str, new: &mut Vec<String>) {
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

    fn row(path: &str, title: &str, size: u64, meta: &str) -> Row {
        Row {
            path: path.into(),
            title: title.into(),
            media_type: 0,
            date: None,
            size,
            haystack: format!("{title}\n{path}\n{meta}").to_lowercase().into(),
        }
    }

    fn sample() -> Catalog {
        let rows = vec![
            row("a/x.txt", "Zeta", 5, ""),
            row("a/b/y.csv", "alpha", 50, "Tartu County Court"),
            row("c.png", "Mid", 1, ""),
        ];
        let mut folders = BTreeSet::new();
        for r in &rows {
            add_folders(&mut folders, &r.path, &mut Vec::new());
        }
        Catalog {
            rows,
            media_types: vec!["text/plain".into()],
            folders: folders.into_iter().collect(),
        }
    }

    #[test]
    fn search_covers_titles_paths_and_metadata_in_any_case() {
        let c = sample();
        assert_eq!(c.select("TARTU", "", SortKey::Path, false), vec![1]);
        assert_eq!(c.select("y.csv", "", SortKey::Path, false), vec![1]);
        assert_eq!(c.select("mid", "", SortKey::Path, false), vec![2]);
        assert_eq!(c.select("", "a", SortKey::Path, false), vec![0, 1]);
        assert_eq!(c.select("", "a/b", SortKey::Path, false), vec![1]);
        assert!(c.select("nowhere", "", SortKey::Path, false).is_empty());
    }

    #[test]
    fn sorting_by_each_column() {
        let c = sample();
        assert_eq!(c.select("", "", SortKey::Title, false), vec![1, 2, 0]);
        assert_eq!(c.select("", "", SortKey::Size, false), vec![2, 0, 1]);
        assert_eq!(c.select("", "", SortKey::Size, true), vec![1, 0, 2]);
    }

    #[test]
    fn folders_form_a_tree() {
        let c = sample();
        assert_eq!(c.folders, vec!["a", "a/b"]);
        assert_eq!(c.subfolders("").collect::<Vec<_>>(), vec!["a"]);
        assert_eq!(c.subfolders("a").collect::<Vec<_>>(), vec!["a/b"]);
        assert_eq!(c.subfolders("a/b").count(), 0);
    }

    #[test]
    fn batches_append_in_order_with_their_types_and_folders() {
        let whole = sample();
        let mut c = Catalog::default();
        c.append(Batch {
            rows: whole.rows[..2].to_vec(),
            media_types: vec!["text/plain".into()],
            folders: vec!["a".into(), "a/b".into()],
        });
        c.append(Batch {
            rows: whole.rows[2..].to_vec(),
            media_types: vec![],
            folders: vec!["0-first".into()],
        });
        assert_eq!(c.rows.len(), 3);
        assert_eq!(c.folders, vec!["0-first", "a", "a/b"], "kept sorted");
        assert_eq!(c.media_type(&c.rows[2]), "text/plain");
    }

    #[test]
    fn sizes_for_people() {
        assert_eq!(human_size(10), "10 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(3 << 20), "3.0 MiB");
    }
}
