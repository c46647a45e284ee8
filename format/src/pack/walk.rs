//! The folder walked in the archive's record order, one folder listing at
//! a time: what it finds is handed on as it is found, so packing ten
//! million files holds the listings of the folders on the current path,
//! not every file's path and metadata.
//!
//! Order: records come in byte order of their full (NFC) paths, which is
//! not a depth-first walk with each folder's names sorted: `a.b` comes
//! before `a/x` (`.` < `/`). Sorting each folder's entries by name with
//! `/` appended to folders gives that order (see [`entry_order`]).
//!
//! Checks, the same as when the whole folder was planned first:
//! - names that are not UTF-8, paths a record may not have, symbolic
//!   links and special files are refused (or skipped and reported);
//! - a Dublin Core sidecar `x.dc.json` pairs with the file `x` beside it,
//!   and one with no such file is refused;
//! - two paths among the records, the sidecars and the empty folders that
//!   are equal once Unicode normalization (NFC) and case are ignored are
//!   refused. Two such paths first differ in one folder, where their
//!   names there differ only in case or normalization: names equal after
//!   NFC are one folder here (their entries listed together), so a
//!   collision is either between two entries of one folder, checked in
//!   that folder's listing, or below two folders whose names differ only
//!   in case. Only the paths below such folders are held, in one map for
//!   the whole walk, which stays empty for the usual folder.

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;

use unicode_normalization::UnicodeNormalization;

use super::{PackOptions, SIDECAR_SUFFIX};
use crate::{Error, Result};

/// One thing the walk found, in record order.
#[derive(Debug)]
pub enum Found {
    /// A file to pack as a record.
    Record(super::FoundRecord),
    /// A folder with nothing to pack inside (its path).
    EmptyDir(String),
    /// What was skipped (its path on disk) and why (only with
    /// [`PackOptions::skip_unsupported`]).
    Skipped(String, String),
}

/// What one folder entry is.
#[derive(Debug)]
enum Kind {
    /// A file to pack, its size, modification time and sidecar.
    File(u64, Option<i64>, Option<PathBuf>),
    /// A Dublin Core sidecar (paired with its file at listing).
    Sidecar,
    /// A folder: the others with the same name after NFC, and whether its
    /// name differs only in case from another folder's beside it.
    Dir(Vec<PathBuf>, bool),
}

#[derive(Debug)]
struct Entry {
    /// NFC name.
    name: String,
    /// Where it is on disk.
    disk: PathBuf,
    kind: Kind,
}

impl Entry {
    fn is_dir(&self) -> bool {
        matches!(self.kind, Kind::Dir(..))
    }
}

/// The order of a folder's entries that puts records in byte order of
/// their full paths: by name, with `/` appended to folders' names.
pub fn entry_order(a: (&str, bool), b: (&str, bool)) -> std::cmp::Ordering {
    let slash = |d: bool| if d { &b"/"[..] } else { &b""[..] };
    a.0.bytes()
        .chain(slash(a.1).iter().copied())
        .cmp(b.0.bytes().chain(slash(b.1).iter().copied()))
}

/// A folder being walked.
struct Frame {
    /// Its path in the archive ("" for the packed folder).
    rel: String,
    /// How many folders on disk it is (names equal after NFC).
    sources: usize,
    /// Its entries not yet walked, in order.
    entries: std::vec::IntoIter<Entry>,
    /// What was skipped in its listing, not yet reported.
    skipped: Vec<(String, String)>,
    /// Whether anything to pack was found below it.
    any: bool,
    /// Its entries among the checked paths (records, sidecars, empty
    /// folders), by name with case and normalization ignored.
    leaves: HashMap<String, String>,
    /// Whether it is below (or is) a folder whose name differs only in
    /// case from a sibling's.
    deep: bool,
}

/// The walk of a folder, as an iterator of what it finds; the first error
/// ends it.
pub struct Walk {
    opts: PackOptions,
    stack: Vec<Frame>,
    /// Paths below folders whose names differ only in case from a
    /// sibling's, by folded path.
    deep: HashMap<String, String>,
    /// The packed folder, listed on the first call.
    root: Option<PathBuf>,
    /// A file not to pack (the archive being written, when it is inside
    /// the folder): its name and its canonical path.
    excluded: Option<(std::ffi::OsString, PathBuf)>,
}

/// NFC, then lower case: the key two paths collide on.
fn fold(s: &str) -> String {
    s.chars().flat_map(char::to_lowercase).collect()
}

fn join(rel: &str, name: &str) -> String {
    if rel.is_empty() {
        name.to_owned()
    } else {
        format!("{rel}/{name}")
    }
}

/// Inserts `path` (whose key is `key`) into `seen`, refusing a collision.
fn check(seen: &mut HashMap<String, String>, key: String, path: &str) -> Result<()> {
    if let Some(other) = seen.insert(key, path.to_owned()) {
        let what = if other == path {
            "appears twice after Unicode normalization".to_owned()
        } else {
            format!("collides with {other:?} when case or Unicode normalization is ignored")
        };
        return Err(Error::Unsupported {
            path: path.to_owned(),
            what,
        });
    }
    Ok(())
}

impl Walk {
    /// A walk of `root`, which must be a folder.
    pub fn new(root: &std::path::Path, opts: PackOptions) -> Result<Walk> {
        let meta =
            fs::metadata(root).map_err(|e| Error::io(format!("reading {}", root.display()), e))?;
        if !meta.is_dir() {
            return Err(Error::Unsupported {
                path: root.display().to_string(),
                what: "is not a folder".into(),
            });
        }
        Ok(Walk {
            opts,
            stack: Vec::new(),
            deep: HashMap::new(),
            root: Some(root.to_owned()),
            excluded: None,
        })
    }

    /// The same walk, passing over `file` (which must exist), so that an
    /// archive written inside the folder it packs is not packed into
    /// itself.
    pub fn excluding(mut self, file: &std::path::Path) -> Result<Walk> {
        let canonical = fs::canonicalize(file)
            .map_err(|e| Error::io(format!("reading {}", file.display()), e))?;
        if let Some(name) = canonical.file_name() {
            self.excluded = Some((name.to_owned(), canonical));
        }
        Ok(self)
    }

    /// Lists the folders `dirs` (one path in the archive, `rel`): their
    /// entries sorted, checked and paired with their sidecars.
    fn list(&mut self, rel: String, dirs: Vec<PathBuf>, deep: bool) -> Result<Frame> {
        let mut entries = Vec::new();
        let mut skipped = Vec::new();
        let opts = self.opts;
        let mut unsupported = |full: &std::path::Path, what: &str| -> Result<()> {
            if opts.skip_unsupported {
                skipped.push((full.display().to_string(), what.to_owned()));
                Ok(())
            } else {
                Err(Error::Unsupported {
                    path: full.display().to_string(),
                    what: what.to_owned(),
                })
            }
        };
        for dir in &dirs {
            let listing = |e| Error::io(format!("listing {}", dir.display()), e);
            for child in fs::read_dir(dir).map_err(listing)? {
                let child = child.map_err(listing)?;
                let full = child.path();
                if let Some((name, canonical)) = &self.excluded {
                    if child.file_name() == *name
                        && fs::canonicalize(&full).is_ok_and(|c| c == *canonical)
                    {
                        continue;
                    }
                }
                let Some(name) = child
                    .file_name()
                    .to_str()
                    .map(|n| n.nfc().collect::<String>())
                else {
                    unsupported(&full, "name is not valid UTF-8")?;
                    continue;
                };
                if let Err(what) = crate::catalog::check_record_path(&join(&rel, &name)) {
                    unsupported(&full, &what)?;
                    continue;
                }
                let ft = child
                    .metadata()
                    .map_err(|e| Error::io(format!("reading {}", full.display()), e))?;
                let kind = if ft.file_type().is_symlink() {
                    unsupported(&full, "is a symbolic link")?;
                    continue;
                } else if ft.is_dir() {
                    Kind::Dir(Vec::new(), false)
                } else if ft.is_file() {
                    if !opts.no_sidecars && name.ends_with(SIDECAR_SUFFIX) {
                        Kind::Sidecar
                    } else {
                        Kind::File(ft.len(), super::seconds_modified(&ft), None)
                    }
                } else {
                    unsupported(&full, "is a special file (device, socket or pipe)")?;
                    continue;
                };
                entries.push(Entry {
                    name,
                    disk: full,
                    kind,
                });
            }
        }
        // Skipped entries are reported in the order of their paths (taken
        // from the end).
        skipped.sort_by(|a, b| b.cmp(a));
        entries.sort_by(|a, b| entry_order((&a.name, a.is_dir()), (&b.name, b.is_dir())));
        // Folders whose names are equal after NFC are one folder.
        let mut merged: Vec<Entry> = Vec::with_capacity(entries.len());
        for e in entries {
            if let (Some(last), Kind::Dir(..)) = (merged.last_mut(), &e.kind) {
                if last.name == e.name {
                    if let Kind::Dir(others, _) = &mut last.kind {
                        others.push(e.disk);
                        continue;
                    }
                }
            }
            merged.push(e);
        }
        let mut entries = merged;
        // Folders whose names differ only in case: what is below them is
        // checked across them.
        let mut dir_keys: HashMap<String, usize> = HashMap::new();
        let mut cased = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            if e.is_dir() {
                if let Some(j) = dir_keys.insert(fold(&e.name), i) {
                    cased.push(i);
                    cased.push(j);
                }
            }
        }
        for i in cased {
            if let Kind::Dir(_, c) = &mut entries[i].kind {
                *c = true;
            }
        }
        // Sidecars with their files, and the folder's files and sidecars
        // checked against each other.
        let mut leaves = HashMap::new();
        for i in 0..entries.len() {
            let e = &entries[i];
            if e.is_dir() {
                continue;
            }
            let path = join(&rel, &e.name);
            check(&mut leaves, fold(&e.name), &path)?;
            if deep {
                check(&mut self.deep, fold(&path), &path)?;
            }
            let Kind::Sidecar = e.kind else {
                continue;
            };
            let target = &e.name[..e.name.len() - SIDECAR_SUFFIX.len()];
            let found = entries
                .binary_search_by(|x| entry_order((&x.name, x.is_dir()), (target, false)))
                .ok()
                .filter(|&t| matches!(entries[t].kind, Kind::File(..)));
            let Some(t) = found else {
                return Err(Error::Unsupported {
                    path: e.disk.display().to_string(),
                    what: format!(
                        "Dublin Core sidecar for {:?}, which is not a file in the folder",
                        join(&rel, target)
                    ),
                });
            };
            let sidecar = e.disk.clone();
            if let Kind::File(_, _, s) = &mut entries[t].kind {
                *s = Some(sidecar);
            }
        }
        Ok(Frame {
            rel,
            sources: dirs.len(),
            entries: entries.into_iter(),
            skipped,
            any: false,
            leaves,
            deep,
        })
    }

    fn step(&mut self) -> Result<Option<Found>> {
        if let Some(root) = self.root.take() {
            let frame = self.list(String::new(), vec![root], false)?;
            self.stack.push(frame);
        }
        loop {
            let Some(top) = self.stack.last_mut() else {
                return Ok(None);
            };
            if let Some((path, why)) = top.skipped.pop() {
                return Ok(Some(Found::Skipped(path, why)));
            }
            let Some(e) = top.entries.next() else {
                let done = self.stack.pop().expect("a frame");
                let Some(parent) = self.stack.last_mut() else {
                    return Ok(None);
                };
                parent.any = true;
                if done.any {
                    continue;
                }
                // Nothing to pack below: an empty folder, one of the
                // checked paths.
                let name = done.rel.rsplit('/').next().unwrap_or_default();
                if done.sources > 1 {
                    return Err(Error::Unsupported {
                        path: done.rel.clone(),
                        what: "appears twice after Unicode normalization".into(),
                    });
                }
                check(&mut parent.leaves, fold(name), &done.rel)?;
                if parent.deep {
                    check(&mut self.deep, fold(&done.rel), &done.rel)?;
                }
                return Ok(Some(Found::EmptyDir(done.rel)));
            };
            let path = join(&top.rel, &e.name);
            match e.kind {
                Kind::File(size, modified, sidecar) => {
                    top.any = true;
                    return Ok(Some(Found::Record(super::FoundRecord {
                        path,
                        file: e.disk,
                        size,
                        modified,
                        sidecar,
                    })));
                }
                Kind::Sidecar => top.any = true,
                Kind::Dir(mut others, cased) => {
                    let deep = top.deep || cased;
                    others.insert(0, e.disk);
                    let frame = self.list(path, others, deep)?;
                    self.stack.push(frame);
                }
            }
        }
    }
}

impl Iterator for Walk {
    type Item = Result<Found>;

    fn next(&mut self) -> Option<Result<Found>> {
        match self.step() {
            Ok(found) => found.map(Ok),
            Err(e) => {
                self.stack.clear();
                self.root = None;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// A folder under the system's temporary folder, removed when dropped.
    struct Tmp(PathBuf);

    impl Tmp {
        fn new(name: &str) -> Tmp {
            let p =
                std::env::temp_dir().join(format!("legation-walk-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&p);
            fs::create_dir_all(&p).unwrap();
            Tmp(p)
        }

        fn file(&self, rel: &str, bytes: &str) {
            let p = self.0.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, bytes).unwrap();
        }
    }

    impl Drop for Tmp {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn walk(root: &Path, skip: bool) -> Result<Vec<Found>> {
        Walk::new(
            root,
            PackOptions {
                skip_unsupported: skip,
                no_sidecars: false,
            },
        )?
        .collect()
    }

    fn records(found: &[Found]) -> Vec<&str> {
        found
            .iter()
            .filter_map(|f| match f {
                Found::Record(r) => Some(r.path.as_str()),
                _ => None,
            })
            .collect()
    }

    fn refusal(root: &Path) -> String {
        match walk(root, false) {
            Err(e) => e.to_string(),
            Ok(found) => panic!("accepted: {:?}", records(&found)),
        }
    }

    #[test]
    fn records_come_in_byte_order_of_full_paths() {
        let t = Tmp::new("order");
        // A depth-first walk with each folder's names sorted would give
        // a/x before a.b and a-c (as "a" < "a-c" < "a.b"), but '-' and '.'
        // sort before '/'.
        for p in [
            "a/x", "a.b", "a-c", "a0", "a/b/c", "a/b.c", "ab", "a/b-/d", "b", "A", "a b/z",
        ] {
            t.file(p, p);
        }
        let found = walk(&t.0, false).unwrap();
        let got = records(&found);
        let mut want = got.clone();
        want.sort();
        assert_eq!(got, want);
        assert_eq!(
            got,
            ["A", "a b/z", "a-c", "a.b", "a/b-/d", "a/b.c", "a/b/c", "a/x", "a0", "ab", "b"]
        );
        // The order of entries that gives it, on names alone.
        use std::cmp::Ordering::*;
        assert_eq!(entry_order(("a.b", false), ("a", true)), Less);
        assert_eq!(entry_order(("a", false), ("a", true)), Less);
        assert_eq!(entry_order(("a0", false), ("a", true)), Greater);
        assert_eq!(entry_order(("a", true), ("a.b", true)), Greater);
        // The plan is the same walk, held.
        let plan = super::super::plan(&t.0, PackOptions::default()).unwrap();
        let planned: Vec<&str> = plan.records.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(planned, got);
    }

    #[test]
    fn sidecars_pair_with_their_file_across_a_folder_between_them() {
        let t = Tmp::new("sidecar");
        t.file("x", "record");
        t.file("x.a/inner", "between x and its sidecar in record order");
        t.file("x.dc.json", r#"{"title":"X"}"#);
        t.file("y/z.dc.json", r#"{"title":"Z"}"#);
        t.file("y/z", "z");
        let found = walk(&t.0, false).unwrap();
        assert_eq!(records(&found), ["x", "x.a/inner", "y/z"]);
        let sidecar = |path: &str| {
            found.iter().find_map(|f| match f {
                Found::Record(r) if r.path == path => Some(r.sidecar.clone()),
                _ => None,
            })
        };
        assert_eq!(sidecar("x"), Some(Some(t.0.join("x.dc.json"))));
        assert_eq!(sidecar("x.a/inner"), Some(None));
        assert_eq!(sidecar("y/z"), Some(Some(t.0.join("y/z.dc.json"))));
        // A sidecar whose file is in another folder is refused.
        t.file("y/x.dc.json", "{}");
        let e = refusal(&t.0);
        assert!(
            e.contains("y/x.dc.json") && e.contains("not a file in the folder"),
            "{e}"
        );
        fs::remove_file(t.0.join("y/x.dc.json")).unwrap();
        // So is one whose "file" is a folder.
        t.file("y/d/inner", "i");
        t.file("y/d.dc.json", "{}");
        let e = refusal(&t.0);
        assert!(e.contains("Dublin Core sidecar for \"y/d\""), "{e}");
    }

    #[test]
    fn collisions_are_found_within_a_folder_and_across_folders() {
        let t = Tmp::new("collide");
        t.file("Dir/a", "1");
        t.file("dir/b", "2");
        t.file("DIR/sub/c", "3");
        // Folders differing in case, with nothing colliding below them.
        let found = walk(&t.0, false).unwrap();
        assert_eq!(records(&found), ["DIR/sub/c", "Dir/a", "dir/b"]);
        // Below them, a deeper collision.
        t.file("dir/SUB/C", "4");
        let e = refusal(&t.0);
        assert!(
            e.contains("collides with") && e.contains("DIR/sub/c") && e.contains("dir/SUB/C"),
            "{e}"
        );
        fs::remove_dir_all(t.0.join("dir/SUB")).unwrap();
        // Two files of one folder, and a file against an empty folder.
        t.file("Report.txt", "a");
        t.file("report.TXT", "b");
        assert!(refusal(&t.0).contains("collides with"));
        fs::remove_file(t.0.join("report.TXT")).unwrap();
        fs::create_dir(t.0.join("REPORT.txt")).unwrap();
        let e = refusal(&t.0);
        assert!(
            e.contains("REPORT.txt") && e.contains("collides with"),
            "{e}"
        );
        fs::remove_dir(t.0.join("REPORT.txt")).unwrap();
        // A sidecar's name counts as well.
        t.file("Report.txt.dc.json", "{}");
        t.file(
            "REPORT.TXT.DC.JSON",
            "a record, whose name folds to the sidecar's",
        );
        let e = refusal(&t.0);
        assert!(
            e.contains("collides with")
                && e.contains("Report.txt.dc.json")
                && e.contains("REPORT.TXT.DC.JSON"),
            "{e}"
        );
        fs::remove_file(t.0.join("REPORT.TXT.DC.JSON")).unwrap();
        // Equal after normalization: refused as the same path twice.
        t.file("caf\u{e9}.txt", "nfc");
        t.file("cafe\u{301}.txt", "nfd");
        let e = refusal(&t.0);
        assert!(
            e.contains("appears twice after Unicode normalization"),
            "{e}"
        );
        fs::remove_file(t.0.join("cafe\u{301}.txt")).unwrap();
        assert!(walk(&t.0, false).is_ok());
    }

    #[test]
    fn folders_equal_after_normalization_are_one_folder_in_order() {
        let t = Tmp::new("nfc");
        t.file("\u{e9}/b", "nfc folder");
        t.file("e\u{301}/a", "nfd folder");
        t.file("e\u{301}/c", "nfd folder");
        let found = walk(&t.0, false).unwrap();
        assert_eq!(records(&found), ["\u{e9}/a", "\u{e9}/b", "\u{e9}/c"]);
        t.file("\u{e9}/a", "the same path twice");
        assert!(refusal(&t.0).contains("appears twice"));
    }

    #[test]
    fn the_archive_being_written_is_passed_over() {
        let t = Tmp::new("exclude");
        t.file("a", "a");
        t.file("sub/.lgn.partial-1", "being written");
        t.file(".lgn.partial-1", "another file of that name, elsewhere");
        let walk = Walk::new(&t.0, PackOptions::default())
            .unwrap()
            .excluding(&t.0.join("sub/../sub/.lgn.partial-1"))
            .unwrap();
        let found = walk.collect::<Result<Vec<_>>>().unwrap();
        assert_eq!(records(&found), [".lgn.partial-1", "a"]);
        // "sub" held only the archive: an empty folder.
        assert!(matches!(&found[..], [_, _, Found::EmptyDir(d)] if d == "sub"));
    }

    #[test]
    fn empty_folders_and_skipped_entries_come_in_the_walk() {
        let t = Tmp::new("empty");
        t.file("a/x", "x");
        fs::create_dir_all(t.0.join("e/f")).unwrap();
        fs::create_dir_all(t.0.join("g")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("/etc/passwd", t.0.join("g/link")).unwrap();
        let found = walk(&t.0, true).unwrap();
        let mut empty = Vec::new();
        let mut skipped = Vec::new();
        for f in &found {
            match f {
                Found::EmptyDir(d) => empty.push(d.as_str()),
                Found::Skipped(p, why) => skipped.push((p.clone(), why.clone())),
                Found::Record(_) => {}
            }
        }
        // "e" holds an empty folder, so it is not empty itself; "g" holds
        // only what was skipped.
        assert_eq!(empty, ["e/f", "g"]);
        #[cfg(unix)]
        {
            assert_eq!(skipped.len(), 1);
            assert!(skipped[0].0.ends_with("g/link") && skipped[0].1.contains("symbolic link"));
            let e = refusal(&t.0);
            assert!(
                e.contains("link") && e.contains("is a symbolic link"),
                "{e}"
            );
        }
        assert!(matches!(
            Walk::new(&t.0.join("a/x"), PackOptions::default()),
            Err(Error::Unsupported { .. })
        ));
    }
}
