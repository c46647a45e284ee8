//! The catalog index `c/index`: the tables pages refer to, the bundles,
//! one line per page and the empty folders, in binary, DEFLATE-compressed
//! (raw) and sealed (`docs/design/format-2.0.md` §11).
//!
//! `varint records`, the media, decoder and reason tables (`varint n`, n
//! `str`), bundles (`varint n`, each a 16-byte stream id and `varint len`),
//! pages (`varint n`, each a 16-byte stream id, `varint count`, `str last`,
//! `varint first_bundle`, `varint first_offset`, 32-byte subtree root) and
//! empty folders (`varint n`, n `str`). At 10,000,000 records: 2,442 pages,
//! about 150 KB.

use std::collections::HashSet;

use crate::catalog::check_record_path;
use crate::v2::page::{check_decoder_name, inflate_exact, Tables, MAX_PATH, MAX_TEXT};
use crate::v2::varint::{self, Reader};
use crate::v2::PAGE_RECORDS;
use crate::{Error, Result};

/// Largest inflated index a reader accepts (64 MiB, as 1.x's index).
pub const MAX_INDEX_BYTES: usize = 64 << 20;
/// Most items (table strings, bundles, pages and empty folders together)
/// an index may hold: what a parsed index costs is bounded by this and its
/// bytes (2,097,152 items; 10,000,000 records take about 2,450).
pub const MAX_INDEX_ITEMS: usize = 1 << 21;

/// The bundles' lengths together are below this (2^62 bytes, SPEC §24).
pub const MAX_BUNDLES_LEN: u64 = 1 << 62;

/// A bundle as the index lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleRef {
    /// The bundle stream's random id (its key derives from it).
    pub stream: [u8; 16],
    /// Stored record bytes in the bundle, before the Padmé padding.
    pub len: u64,
}

/// A catalog page as the index lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRef {
    /// The page stream's random id (its key derives from it).
    pub stream: [u8; 16],
    /// Records on the page: [`PAGE_RECORDS`], the last page 1 to that.
    pub count: u32,
    /// Path of the page's last record.
    pub last: String,
    /// Bundle holding the page's first record.
    pub first_bundle: u64,
    /// Offset of the page's first record in that bundle.
    pub first_offset: u64,
    /// Root of the page's subtree of the records tree.
    pub root: [u8; 32],
}

/// The catalog index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// Total number of records.
    pub records: u64,
    /// Media types, decoders and reasons the pages refer to by number.
    pub tables: Tables,
    /// The bundles in order (`b/00000000` first).
    pub bundles: Vec<BundleRef>,
    /// The pages in order (`c/00000000` first).
    pub pages: Vec<PageRef>,
    /// Folders that hold no record, so that extraction recreates them.
    pub empty_dirs: Vec<String>,
}

/// Bytes a bundle line takes at least (id, one-byte length).
const BUNDLE_MIN: usize = 16 + 1;
/// Bytes a page line takes at least (id, count, last, bundle, offset, root).
const PAGE_MIN: usize = 16 + 1 + 1 + 1 + 1 + 32;

impl Index {
    /// The index's bytes, DEFLATEd, ready to seal. A writer calls
    /// [`Index::encode_checked`], which refuses what a reader would.
    pub fn encode(&self) -> Vec<u8> {
        miniz_oxide::deflate::compress_to_vec(&self.plain(), 6)
    }

    /// Items of the index as [`MAX_INDEX_ITEMS`] counts them.
    fn items(&self) -> usize {
        self.tables.media.len()
            + self.tables.decoders.len()
            + self.tables.reasons.len()
            + self.bundles.len()
            + self.pages.len()
            + self.empty_dirs.len()
    }

    /// [`Index::encode`] for a writer: refuses, naming `entry` and what is
    /// too large, an index a reader refuses for its size (SPEC 2.0 §24:
    /// writers must not write one): over [`MAX_INDEX_ITEMS`] items, over
    /// [`MAX_INDEX_BYTES`] before compression, or bundles holding
    /// [`MAX_BUNDLES_LEN`] bytes or more together.
    pub fn encode_checked(&self, entry: &str) -> Result<Vec<u8>> {
        let items = self.items();
        if items > MAX_INDEX_ITEMS {
            return Err(Error::invalid(
                entry,
                format!(
                    "too many items: {items} ({} media types, {} decoders, {} reasons, {} \
                     bundles, {} pages, {} empty folders), more than the {MAX_INDEX_ITEMS} a \
                     reader accepts",
                    self.tables.media.len(),
                    self.tables.decoders.len(),
                    self.tables.reasons.len(),
                    self.bundles.len(),
                    self.pages.len(),
                    self.empty_dirs.len()
                ),
            ));
        }
        let stored = self.bundles.iter().try_fold(0u64, |sum, b| {
            sum.checked_add(b.len).filter(|&s| s < MAX_BUNDLES_LEN)
        });
        if stored.is_none() {
            return Err(Error::invalid(
                entry,
                "too large: the bundles hold 2^62 bytes or more together",
            ));
        }
        let len = self.plain_len();
        if len > MAX_INDEX_BYTES {
            return Err(Error::invalid(
                entry,
                format!(
                    "too large: {len} bytes before compression, more than the {MAX_INDEX_BYTES} \
                     a reader accepts ({} empty folders, {} pages, {} bundles)",
                    self.empty_dirs.len(),
                    self.pages.len(),
                    self.bundles.len()
                ),
            ));
        }
        Ok(self.encode())
    }

    /// The length of [`Index::plain`], counted without building it.
    fn plain_len(&self) -> usize {
        fn int(v: u64) -> usize {
            (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
        }
        fn text(s: &str) -> usize {
            int(s.len() as u64) + s.len()
        }
        fn list(l: &[String]) -> usize {
            int(l.len() as u64) + l.iter().map(|s| text(s)).sum::<usize>()
        }
        int(self.records)
            + list(&self.tables.media)
            + list(&self.tables.decoders)
            + list(&self.tables.reasons)
            + int(self.bundles.len() as u64)
            + self.bundles.iter().map(|b| 16 + int(b.len)).sum::<usize>()
            + int(self.pages.len() as u64)
            + self
                .pages
                .iter()
                .map(|p| {
                    16 + int(u64::from(p.count))
                        + text(&p.last)
                        + int(p.first_bundle)
                        + int(p.first_offset)
                        + 32
                })
                .sum::<usize>()
            + list(&self.empty_dirs)
    }

    /// The index's bytes before compression.
    fn plain(&self) -> zeroize::Zeroizing<Vec<u8>> {
        let mut out = zeroize::Zeroizing::new(Vec::with_capacity(
            64 + self.pages.len() * 96 + self.bundles.len() * 24,
        ));
        varint::put(&mut out, self.records);
        for list in [
            &self.tables.media,
            &self.tables.decoders,
            &self.tables.reasons,
        ] {
            varint::put(&mut out, list.len() as u64);
            for s in list {
                varint::put_str(&mut out, s);
            }
        }
        varint::put(&mut out, self.bundles.len() as u64);
        for b in &self.bundles {
            out.extend_from_slice(&b.stream);
            varint::put(&mut out, b.len);
        }
        varint::put(&mut out, self.pages.len() as u64);
        for p in &self.pages {
            out.extend_from_slice(&p.stream);
            varint::put(&mut out, u64::from(p.count));
            varint::put_str(&mut out, &p.last);
            varint::put(&mut out, p.first_bundle);
            varint::put(&mut out, p.first_offset);
            out.extend_from_slice(&p.root);
        }
        varint::put(&mut out, self.empty_dirs.len() as u64);
        for d in &self.empty_dirs {
            varint::put_str(&mut out, d);
        }
        out
    }

    /// Parses and checks the index's DEFLATEd bytes (already unsealed);
    /// errors name `entry`. Every count is bounded by the bytes left and
    /// by [`MAX_INDEX_ITEMS`] before anything is allocated for it.
    pub fn parse(deflated: &[u8], entry: &str) -> Result<Index> {
        let plain = inflate_exact(deflated, MAX_INDEX_BYTES, entry)?;
        Index::parse_plain(&plain, entry)
    }

    /// [`Index::parse`] on the inflated bytes.
    fn parse_plain(plain: &[u8], entry: &str) -> Result<Index> {
        let mut r = Reader::new(plain, entry);
        let mut budget = MAX_INDEX_ITEMS;
        // A count of items each at least `min` bytes, within the bytes left
        // and the item budget.
        let mut count = |r: &mut Reader<'_>, min: usize, name: &str| -> Result<usize> {
            let n = r.bounded((r.remaining() / min).min(budget) as u64, name)? as usize;
            budget -= n;
            Ok(n)
        };
        let records = r.varint()?;

        let mut lists: [Vec<String>; 3] = Default::default();
        for (list, (name, max)) in lists.iter_mut().zip([
            ("media type", MAX_TEXT),
            ("decoder", crate::container::MAX_NAME_LEN),
            ("reason", MAX_TEXT),
        ]) {
            let n = count(&mut r, 1, name)?;
            list.reserve_exact(n);
            for _ in 0..n {
                let s = r.str(max, name)?;
                if name == "decoder" {
                    check_decoder_name(s).map_err(|e| r.error(e))?;
                }
                list.push(s.to_owned());
            }
        }
        // One string once a table (SPEC §24): a page's number for it is
        // then the one place it has.
        for (list, name) in lists.iter().zip(["media type", "decoder", "reason"]) {
            let mut seen = HashSet::with_capacity(list.len());
            if let Some(twice) = list.iter().find(|s| !seen.insert(s.as_str())) {
                return Err(r.error(format!("the {name} table lists {twice:?} twice")));
            }
        }
        let [media, decoders, reasons] = lists;
        let tables = Tables::new(media, decoders, reasons);

        let mut streams = HashSet::new();
        let n = count(&mut r, BUNDLE_MIN, "bundle count")?;
        let mut bundles = Vec::with_capacity(n);
        let mut stored = 0u64;
        for _ in 0..n {
            let stream: [u8; 16] = r.bytes(16)?.try_into().expect("16 bytes");
            if !streams.insert(stream) {
                return Err(r.error("a stream id is used twice"));
            }
            let len = r.varint()?;
            // SPEC §24: no file holds 2^62 bytes; below that every sum of
            // lengths, padded size and sealed size fits 64 bits.
            stored = stored
                .checked_add(len)
                .filter(|&s| s < MAX_BUNDLES_LEN)
                .ok_or_else(|| {
                    r.error(format!(
                        "the bundles hold 2^62 bytes or more (bundle {} of {len} bytes)",
                        bundles.len()
                    ))
                })?;
            bundles.push(BundleRef { stream, len });
        }
        if bundles.is_empty() != (records == 0) {
            return Err(r.error(format!(
                "{} bundles for {records} records (none exactly when there is no record)",
                bundles.len()
            )));
        }

        let n = count(&mut r, PAGE_MIN, "page count")?;
        if n as u64 != records.div_ceil(PAGE_RECORDS as u64) {
            return Err(r.error(format!(
                "{n} pages for {records} records (pages hold {PAGE_RECORDS}, the last 1 to {PAGE_RECORDS})"
            )));
        }
        let mut pages: Vec<PageRef> = Vec::with_capacity(n);
        let mut total = 0u64;
        for i in 0..n {
            let stream: [u8; 16] = r.bytes(16)?.try_into().expect("16 bytes");
            if !streams.insert(stream) {
                return Err(r.error("a stream id is used twice"));
            }
            let want = if i + 1 < n {
                PAGE_RECORDS as u64
            } else {
                records - total
            };
            let c = r.varint()?;
            if c != want {
                return Err(r.error(format!("page {i} holds {c} records, not {want}")));
            }
            total += c;
            let last = r.str(MAX_PATH, "last path")?;
            check_record_path(last).map_err(|e| r.error(format!("page {i}: {e}")))?;
            if pages.last().is_some_and(|p| p.last.as_str() >= last) {
                return Err(r.error(format!("page {i}: last paths must strictly increase")));
            }
            let last = last.to_owned();
            let first_bundle = r.varint()?;
            let first_offset = r.varint()?;
            let Some(b) = usize::try_from(first_bundle)
                .ok()
                .and_then(|b| bundles.get(b))
            else {
                return Err(r.error(format!(
                    "page {i}: bundle {first_bundle} is not one of the {} bundles",
                    bundles.len()
                )));
            };
            if first_offset > b.len {
                return Err(r.error(format!(
                    "page {i}: offset {first_offset} is past bundle {first_bundle}'s {} bytes",
                    b.len
                )));
            }
            // Pages start in path order, so their places never go back
            // (SPEC §24), within a bundle too.
            if pages
                .last()
                .is_some_and(|p| (p.first_bundle, p.first_offset) > (first_bundle, first_offset))
            {
                return Err(r.error(format!(
                    "page {i}: starts at bundle {first_bundle} offset {first_offset}, before \
                     the page before it"
                )));
            }
            pages.push(PageRef {
                stream,
                count: c as u32,
                last,
                first_bundle,
                first_offset,
                root: r.hash()?,
            });
        }
        debug_assert_eq!(total, records);

        let n = count(&mut r, 2, "empty folder count")?;
        let empty_dirs = read_empty_dirs(&mut r, n)?;
        Ok(Index {
            records,
            tables,
            bundles,
            pages,
            empty_dirs,
        })
    }

    /// The page that would hold `path`: the first whose last path is not
    /// before it (binary search), or `None` past the last page.
    pub fn page_for(&self, path: &str) -> Option<usize> {
        let i = self.pages.partition_point(|p| p.last.as_str() < path);
        (i < self.pages.len()).then_some(i)
    }
}

/// The form byte that opens a series-form index (SPEC §33.3).
pub const SERIES_FORM: u8 = 2;
/// (2.1) The form byte of a series-form index whose generation names a
/// decoder module stored in an earlier file (SPEC §33.3): the same fields;
/// a 2.0 reader refuses it by its form.
pub const SERIES_FORM_INHERITED_DECODERS: u8 = 3;
/// Most runs a series-form index may list (newest first, the last the base).
pub const MAX_RUNS: usize = 4;

/// A bundle as a series-form index lists it: where it is, in which
/// generation's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesBundle {
    /// The bundle stream's random id.
    pub stream: [u8; 16],
    /// Stored record bytes in the bundle.
    pub len: u64,
    /// The plaintext's length with its padding (at least `padme(len)`).
    pub padded: u64,
    /// The generation whose file holds it.
    pub generation: u64,
    /// Its number `k` in that file (`b/k`).
    pub entry: u64,
    /// Where the entry's data starts in that file.
    pub offset: u64,
}

/// A catalog page as a series-form index lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPage {
    /// The page stream's random id.
    pub stream: [u8; 16],
    /// Items on the page (records and tombstones), 1 to [`PAGE_RECORDS`].
    pub count: u32,
    /// Path of the page's last item.
    pub last: String,
    /// Bundle (an index into the bundle list) of the page's first live
    /// item that has no place of its own.
    pub first_bundle: u64,
    /// Its offset there.
    pub first_offset: u64,
    /// The generation whose file holds the page.
    pub generation: u64,
    /// Its number `k` in that file (`c/k`).
    pub entry: u64,
    /// Where the entry's data starts in that file.
    pub offset: u64,
    /// Its sealed bytes.
    pub size: u64,
    /// Base run only: how many of the page's records are live.
    pub live: Option<u64>,
}

/// Counts of change against the previous generation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changes {
    /// Records added.
    pub added: u64,
    /// Records whose bytes or facts changed.
    pub changed: u64,
    /// Records removed.
    pub removed: u64,
}

/// The catalog index of a dependent generation (SPEC §33.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesIndex {
    /// Live records.
    pub records: u64,
    /// What changed since the previous generation.
    pub changes: Changes,
    /// The tables; each begins with the previous generation's.
    pub tables: Tables,
    /// The bundles; the list begins with the previous generation's.
    pub bundles: Vec<SeriesBundle>,
    /// The runs, newest first; the last is the base run.
    pub runs: Vec<Vec<RunPage>>,
    /// The logical page roots over the live records in path order.
    pub roots: Vec<[u8; 32]>,
    /// Folders that hold no record.
    pub empty_dirs: Vec<String>,
}

/// Bytes a series bundle line takes at least.
const SERIES_BUNDLE_MIN: usize = 16 + 5;
/// Bytes a run page line takes at least.
const RUN_PAGE_MIN: usize = 16 + 8;

impl SeriesIndex {
    /// The index's bytes before compression.
    fn plain(&self, form: u8) -> zeroize::Zeroizing<Vec<u8>> {
        let pages: usize = self.runs.iter().map(Vec::len).sum();
        let mut out = zeroize::Zeroizing::new(Vec::with_capacity(
            64 + pages * 112 + self.bundles.len() * 40 + self.roots.len() * 32,
        ));
        out.push(form);
        varint::put(&mut out, self.records);
        varint::put(&mut out, self.changes.added);
        varint::put(&mut out, self.changes.changed);
        varint::put(&mut out, self.changes.removed);
        for list in [
            &self.tables.media,
            &self.tables.decoders,
            &self.tables.reasons,
        ] {
            varint::put(&mut out, list.len() as u64);
            for s in list {
                varint::put_str(&mut out, s);
            }
        }
        varint::put(&mut out, self.bundles.len() as u64);
        for b in &self.bundles {
            out.extend_from_slice(&b.stream);
            for v in [b.len, b.padded, b.generation, b.entry, b.offset] {
                varint::put(&mut out, v);
            }
        }
        out.push(self.runs.len() as u8);
        for (r, run) in self.runs.iter().enumerate() {
            let base = r + 1 == self.runs.len();
            varint::put(&mut out, run.len() as u64);
            for p in run {
                out.extend_from_slice(&p.stream);
                varint::put(&mut out, u64::from(p.count));
                varint::put_str(&mut out, &p.last);
                for v in [
                    p.first_bundle,
                    p.first_offset,
                    p.generation,
                    p.entry,
                    p.offset,
                    p.size,
                ] {
                    varint::put(&mut out, v);
                }
                if base {
                    varint::put(&mut out, p.live.unwrap_or(u64::from(p.count)));
                }
            }
        }
        varint::put(&mut out, self.roots.len() as u64);
        for h in &self.roots {
            out.extend_from_slice(h);
        }
        varint::put(&mut out, self.empty_dirs.len() as u64);
        for d in &self.empty_dirs {
            varint::put_str(&mut out, d);
        }
        out
    }

    /// The index's bytes, DEFLATEd, ready to seal; refuses (naming
    /// `entry`) what a reader refuses for its size, or a run count outside
    /// 1 to [`MAX_RUNS`].
    pub fn encode_checked(&self, entry: &str) -> Result<Vec<u8>> {
        self.encode_form(entry, SERIES_FORM)
    }

    /// [`SeriesIndex::encode_checked`] with the form byte `form`
    /// ([`SERIES_FORM`] or [`SERIES_FORM_INHERITED_DECODERS`]).
    pub fn encode_form(&self, entry: &str, form: u8) -> Result<Vec<u8>> {
        if self.runs.is_empty() || self.runs.len() > MAX_RUNS {
            return Err(Error::invalid(
                entry,
                format!("{} runs, not 1 to {MAX_RUNS}", self.runs.len()),
            ));
        }
        let items = self.tables.media.len()
            + self.tables.decoders.len()
            + self.tables.reasons.len()
            + self.bundles.len()
            + self.runs.iter().map(Vec::len).sum::<usize>()
            + self.roots.len()
            + self.empty_dirs.len();
        if items > MAX_INDEX_ITEMS {
            return Err(Error::invalid(
                entry,
                format!(
                    "too many items: {items}, more than the {MAX_INDEX_ITEMS} a reader accepts"
                ),
            ));
        }
        let plain = self.plain(form);
        if plain.len() > MAX_INDEX_BYTES {
            return Err(Error::invalid(
                entry,
                format!(
                    "too large: {} bytes before compression, more than the {MAX_INDEX_BYTES} a \
                     reader accepts",
                    plain.len()
                ),
            ));
        }
        Ok(miniz_oxide::deflate::compress_to_vec(&plain, 6))
    }

    /// Parses and checks a series-form index's DEFLATEd bytes (already
    /// unsealed); errors name `entry`. Every count is bounded by the bytes
    /// left and by [`MAX_INDEX_ITEMS`] before anything is allocated.
    /// Checks what needs the index alone (SPEC §33.3): the form byte, the
    /// tables, bundles' padded sizes, 1 to [`MAX_RUNS`] runs each strictly
    /// increasing by `last`, a base page when there are records, `live` at
    /// most `count`, no stream id twice, `ceil(records / 4096)` roots.
    /// What needs the files (generations, entries, sizes) is
    /// [`SeriesIndex::check_files`].
    pub fn parse(deflated: &[u8], entry: &str) -> Result<SeriesIndex> {
        Self::parse_form(deflated, entry).map(|(i, _)| i)
    }

    /// [`SeriesIndex::parse`], and the form byte read ([`SERIES_FORM`] or
    /// [`SERIES_FORM_INHERITED_DECODERS`]).
    pub fn parse_form(deflated: &[u8], entry: &str) -> Result<(SeriesIndex, u8)> {
        let plain = inflate_exact(deflated, MAX_INDEX_BYTES, entry)?;
        let mut r = Reader::new(&plain, entry);
        let mut budget = MAX_INDEX_ITEMS;
        let mut count = |r: &mut Reader<'_>, min: usize, name: &str| -> Result<usize> {
            let n = r.bounded((r.remaining() / min).min(budget) as u64, name)? as usize;
            budget -= n;
            Ok(n)
        };
        let form = r.byte()?;
        if form != SERIES_FORM && form != SERIES_FORM_INHERITED_DECODERS {
            return Err(r.error(format!(
                "form {form}: a dependent generation's index has form {SERIES_FORM} (2.1: or \
                 {SERIES_FORM_INHERITED_DECODERS})"
            )));
        }
        let records = r.varint()?;
        let changes = Changes {
            added: r.varint()?,
            changed: r.varint()?,
            removed: r.varint()?,
        };
        let mut lists: [Vec<String>; 3] = Default::default();
        for (list, (name, max)) in lists.iter_mut().zip([
            ("media type", MAX_TEXT),
            ("decoder", crate::container::MAX_NAME_LEN),
            ("reason", MAX_TEXT),
        ]) {
            let n = count(&mut r, 1, name)?;
            list.reserve_exact(n);
            let mut seen = HashSet::with_capacity(n);
            for _ in 0..n {
                let s = r.str(max, name)?;
                if name == "decoder" {
                    check_decoder_name(s).map_err(|e| r.error(e))?;
                }
                if !seen.insert(s) {
                    return Err(r.error(format!("the {name} table lists {s:?} twice")));
                }
                list.push(s.to_owned());
            }
        }
        let [media, decoders, reasons] = lists;
        let tables = Tables::new(media, decoders, reasons);

        let mut streams = HashSet::new();
        let n = count(&mut r, SERIES_BUNDLE_MIN, "bundle count")?;
        let mut bundles = Vec::with_capacity(n);
        for i in 0..n {
            let stream: [u8; 16] = r.bytes(16)?.try_into().expect("16 bytes");
            if !streams.insert(stream) {
                return Err(r.error("a stream id is used twice"));
            }
            let (len, padded) = (r.varint()?, r.varint()?);
            if len >= MAX_BUNDLES_LEN
                || padded >= MAX_BUNDLES_LEN
                || crate::crypto::padme(len) > padded
            {
                return Err(r.error(format!(
                    "bundle {i}: {len} bytes padded to {padded}, less than Padmé's {} or 2^62 \
                     bytes or more",
                    crate::crypto::padme(len.min(MAX_BUNDLES_LEN))
                )));
            }
            bundles.push(SeriesBundle {
                stream,
                len,
                padded,
                generation: r.varint()?,
                entry: r.varint()?,
                offset: r.varint()?,
            });
        }
        let runs_n = r.byte()? as usize;
        if runs_n == 0 || runs_n > MAX_RUNS {
            return Err(r.error(format!("{runs_n} runs, not 1 to {MAX_RUNS}")));
        }
        let mut runs = Vec::with_capacity(runs_n);
        for k in 0..runs_n {
            let base = k + 1 == runs_n;
            let n = count(&mut r, RUN_PAGE_MIN, "page count")?;
            let mut run: Vec<RunPage> = Vec::with_capacity(n);
            for i in 0..n {
                let stream: [u8; 16] = r.bytes(16)?.try_into().expect("16 bytes");
                if !streams.insert(stream) {
                    return Err(r.error("a stream id is used twice"));
                }
                let c = r.varint()?;
                if c == 0 || c > PAGE_RECORDS as u64 {
                    return Err(r.error(format!(
                        "run {k} page {i} holds {c} items, not 1 to {PAGE_RECORDS}"
                    )));
                }
                let last = r.str(MAX_PATH, "last path")?;
                check_record_path(last).map_err(|e| r.error(format!("run {k} page {i}: {e}")))?;
                if run.last().is_some_and(|p| p.last.as_str() >= last) {
                    return Err(r.error(format!(
                        "run {k} page {i}: last paths must strictly increase"
                    )));
                }
                let last = last.to_owned();
                let first_bundle = r.varint()?;
                if first_bundle > 0 && first_bundle >= bundles.len() as u64 {
                    return Err(r.error(format!(
                        "run {k} page {i}: bundle {first_bundle} is not one of the {} bundles",
                        bundles.len()
                    )));
                }
                let mut page = RunPage {
                    stream,
                    count: c as u32,
                    last,
                    first_bundle,
                    first_offset: r.varint()?,
                    generation: r.varint()?,
                    entry: r.varint()?,
                    offset: r.varint()?,
                    size: r.varint()?,
                    live: None,
                };
                if base {
                    let live = r.varint()?;
                    if live > c {
                        return Err(
                            r.error(format!("run {k} page {i}: {live} live records of {c}"))
                        );
                    }
                    page.live = Some(live);
                }
                run.push(page);
            }
            if base && records > 0 && run.is_empty() {
                return Err(r.error(format!("{records} records and an empty base run")));
            }
            runs.push(run);
        }
        let l = count(&mut r, 32, "root count")?;
        let want = records.div_ceil(PAGE_RECORDS as u64);
        if l as u64 != want {
            return Err(r.error(format!("{l} page roots for {records} records, not {want}")));
        }
        let mut roots = Vec::with_capacity(l);
        for _ in 0..l {
            roots.push(r.hash()?);
        }
        let n = count(&mut r, 2, "empty folder count")?;
        let empty_dirs = read_empty_dirs(&mut r, n)?;
        let index = SeriesIndex {
            records,
            changes,
            tables,
            bundles,
            runs,
            roots,
            empty_dirs,
        };
        Ok((index, form))
    }

    /// Checks the index against the files (SPEC §33.3): every generation
    /// named is `sequence` (this file) or one of `inherited`; every page
    /// and bundle of this file names an entry that `size_of(name)` gives
    /// with the size it needs (a bundle: the sealed length of `padded`; a
    /// page: `size`), and each of this file's `pages` pages and `bundles`
    /// bundles is named exactly once. Errors name `entry`.
    pub fn check_files(
        &self,
        entry: &str,
        sequence: u64,
        inherited: &[u64],
        pages: u64,
        bundles: u64,
        size_of: &dyn Fn(&str) -> Option<u64>,
    ) -> Result<()> {
        let bad = |what: String| Error::invalid(entry, what);
        let known = |g: u64| g == sequence || inherited.binary_search(&g).is_ok();
        let mut own_bundles = HashSet::new();
        for (i, b) in self.bundles.iter().enumerate() {
            if !known(b.generation) {
                return Err(bad(format!(
                    "bundle {i} is in generation {}, which series.inherits does not list",
                    b.generation
                )));
            }
            if b.generation == sequence {
                let name = crate::v2::bundle_entry(b.entry);
                let want = crate::crypto::sealed_len(b.padded);
                if size_of(&name) != Some(want) || !own_bundles.insert(b.entry) {
                    return Err(bad(format!(
                        "bundle {i} names {name}, which this file does not hold once with \
                         {want} bytes"
                    )));
                }
            }
        }
        if own_bundles.len() as u64 != bundles {
            return Err(bad(format!(
                "names {} of this file's bundles, public.json counts {bundles}",
                own_bundles.len()
            )));
        }
        let mut own_pages = HashSet::new();
        for (k, run) in self.runs.iter().enumerate() {
            for (i, p) in run.iter().enumerate() {
                if !known(p.generation) {
                    return Err(bad(format!(
                        "run {k} page {i} is in generation {}, which series.inherits does not \
                         list",
                        p.generation
                    )));
                }
                if p.generation == sequence {
                    let name = crate::v2::page_entry(p.entry);
                    if size_of(&name) != Some(p.size) || !own_pages.insert(p.entry) {
                        return Err(bad(format!(
                            "run {k} page {i} names {name}, which this file does not hold once \
                             with {} bytes",
                            p.size
                        )));
                    }
                }
            }
        }
        if own_pages.len() as u64 != pages {
            return Err(bad(format!(
                "names {} of this file's pages, public.json counts {pages}",
                own_pages.len()
            )));
        }
        Ok(())
    }
}

/// The index's last field, `n` empty folders (sorted, unique, record
/// paths), and nothing after them.
fn read_empty_dirs(r: &mut Reader<'_>, n: usize) -> Result<Vec<String>> {
    let mut empty_dirs: Vec<String> = Vec::with_capacity(n);
    for _ in 0..n {
        let d = r.str(MAX_PATH, "empty folder")?;
        check_record_path(d).map_err(|e| r.error(format!("empty folder: {e}")))?;
        if empty_dirs.last().is_some_and(|p| p.as_str() >= d) {
            return Err(r.error("empty folders are not sorted and unique"));
        }
        empty_dirs.push(d.to_owned());
    }
    if !r.is_empty() {
        return Err(r.error("bytes after the empty folders"));
    }
    Ok(empty_dirs)
}

/// Which form a sealed index's plaintext has, from `public.json`: the
/// series form exactly when it has a `series` member.
pub fn is_series_form(public: &crate::v2::public::Public) -> bool {
    public.series.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTRY: &str = "c/index";

    fn id(i: u64, salt: u8) -> [u8; 32] {
        *blake3::hash(&[&i.to_le_bytes()[..], &[salt]].concat()).as_bytes()
    }

    /// An index shaped like one of `records` records in `bundles` bundles.
    fn index(records: u64, bundles: u64) -> Index {
        let pages = records.div_ceil(PAGE_RECORDS as u64);
        let mut tables = Tables::default();
        tables.media("text/plain");
        tables.media("image/tiff");
        tables.decoder("d/0123456789abcdef.wasm");
        tables.reason("decoder failed: out of fuel");
        Index {
            records,
            tables,
            bundles: (0..bundles)
                .map(|b| BundleRef {
                    stream: id(b, 1)[..16].try_into().unwrap(),
                    len: 256 << 20,
                })
                .collect(),
            pages: (0..pages)
                .map(|p| PageRef {
                    stream: id(p, 2)[..16].try_into().unwrap(),
                    count: if p + 1 < pages {
                        PAGE_RECORDS as u32
                    } else {
                        (records - p * PAGE_RECORDS as u64) as u32
                    },
                    last: format!("r{:04}/p{:08}.txt", p / 4, (p + 1) * 4096 - 1),
                    first_bundle: p * bundles / pages,
                    first_offset: p * 1000,
                    root: id(p, 3),
                })
                .collect(),
            empty_dirs: vec!["vide".into(), "Ωμέγα/vide".into()],
        }
    }

    #[test]
    fn a_national_index_round_trips_and_is_small() {
        let idx = index(10_000_000, 4);
        assert_eq!(idx.pages.len(), 2442);
        let bytes = idx.encode();
        println!(
            "catalog index: {} bytes DEFLATEd for {} pages ({:.1} a page)",
            bytes.len(),
            idx.pages.len(),
            bytes.len() as f64 / idx.pages.len() as f64
        );
        assert!(bytes.len() < 200_000, "{} bytes", bytes.len());
        assert_eq!(Index::parse(&bytes, ENTRY).unwrap(), idx);
        // Lookup: by last path, binary search.
        assert_eq!(idx.page_for(""), Some(0));
        assert_eq!(idx.page_for(&idx.pages[0].last), Some(0));
        assert_eq!(idx.page_for(&format!("{}a", idx.pages[0].last)), Some(1));
        assert_eq!(idx.page_for(&idx.pages[2441].last), Some(2441));
        assert_eq!(idx.page_for("zzz"), None);
        // An empty archive: no pages, no bundles.
        let empty = Index {
            records: 0,
            tables: Tables::default(),
            bundles: vec![],
            pages: vec![],
            empty_dirs: vec![],
        };
        assert_eq!(Index::parse(&empty.encode(), ENTRY).unwrap(), empty);
        assert_eq!(empty.page_for("a"), None);
    }

    fn plain(idx: &Index) -> Vec<u8> {
        inflate_exact(&idx.encode(), MAX_INDEX_BYTES, ENTRY)
            .unwrap()
            .to_vec()
    }

    fn refused(idx: &Index, what: &str) {
        let e = Index::parse(&idx.encode(), ENTRY)
            .expect_err(what)
            .to_string();
        assert!(e.contains(ENTRY), "{what}: {e}");
    }

    fn refused_plain(bytes: &[u8], what: &str) {
        let e = Index::parse_plain(bytes, ENTRY)
            .expect_err(what)
            .to_string();
        assert!(e.contains(ENTRY), "{what}: {e}");
    }

    #[test]
    fn hostile_indices_are_refused() {
        let good = index(3 * 4096 + 5, 2);
        Index::parse(&good.encode(), ENTRY).unwrap();
        let p = plain(&good);
        for cut in 0..p.len() {
            refused_plain(&p[..cut], "truncated");
        }
        refused_plain(&[&p[..], &[0]].concat(), "a byte after the empty folders");
        let d = good.encode();
        assert!(Index::parse(&[&d[..], &[0]].concat(), ENTRY).is_err());
        // Records: a count that the pages do not add up to.
        let mut x = good.clone();
        x.records += 1;
        refused(&x, "records one more than the pages hold");
        x.records = 4 * 4096 + 1;
        refused(&x, "records needing one more page");
        // Page counts: a full page short, the last page's count wrong.
        let mut x = good.clone();
        x.pages[1].count = 4095;
        x.pages[3].count = 6;
        refused(&x, "a page not full");
        // Last paths: not increasing, unsafe.
        let mut x = good.clone();
        x.pages[2].last = x.pages[1].last.clone();
        refused(&x, "last paths equal");
        let mut x = good.clone();
        x.pages[3].last = "zz/../a".into();
        refused(&x, "last path with ..");
        // Bundles: out of range, offset past its length, going back.
        let mut x = good.clone();
        x.pages[3].first_bundle = 2;
        refused(&x, "bundle out of range");
        let mut x = good.clone();
        x.pages[3].first_offset = x.bundles[x.pages[3].first_bundle as usize].len + 1;
        refused(&x, "offset past the bundle");
        let mut x = good.clone();
        assert_eq!((x.pages[2].first_bundle, x.pages[3].first_bundle), (1, 1));
        x.pages[3].first_bundle = 0;
        refused(&x, "a page starting in a bundle before the one before it");
        // Offsets going back within one bundle: SPEC §24 refuses pairs
        // (first_bundle, first_offset) that decrease; equal pairs (a page
        // of empty records) are allowed.
        x.pages[3].first_bundle = 1;
        x.pages[2].first_offset = 10;
        x.pages[3].first_offset = 9;
        let e = Index::parse(&x.encode(), ENTRY).unwrap_err().to_string();
        assert!(e.contains("page 3: starts at bundle 1 offset 9"), "{e}");
        x.pages[3].first_offset = 10;
        Index::parse(&x.encode(), ENTRY).unwrap();
        // Bundle lengths of 2^62 bytes or more together (padded and
        // sealed sizes, and their sum, would not fit 64 bits).
        let mut x = good.clone();
        x.bundles[1].len = u64::MAX;
        let e = Index::parse(&x.encode(), ENTRY).unwrap_err().to_string();
        assert!(e.contains("2^62 bytes or more (bundle 1 of"), "{e}");
        x.bundles[0].len = 1 << 61;
        x.bundles[1].len = 1 << 61;
        refused(&x, "bundles of 2^62 bytes together");
        x.bundles[1].len = (1 << 61) - 1;
        Index::parse(&x.encode(), ENTRY).unwrap();
        // Stream ids used twice.
        let mut x = good.clone();
        x.pages[1].stream = x.bundles[0].stream;
        refused(&x, "a page with a bundle's id");
        // Bundles without records, records without bundles.
        let mut x = good.clone();
        x.records = 0;
        x.pages.clear();
        refused(&x, "a bundle and no record");
        x.bundles.clear();
        Index::parse(&x.encode(), ENTRY).unwrap();
        let mut x = good.clone();
        x.bundles.clear();
        refused(&x, "records and no bundle");
        // Tables: an item twice is refused (SPEC §24: a page's number for
        // it would have two spellings), in each table; a decoder that is
        // no d/ entry is refused.
        let mut x = good.clone();
        x.tables.media.push("text/plain".into());
        let e = Index::parse(&x.encode(), ENTRY).unwrap_err().to_string();
        assert!(
            e.contains("media type table lists \"text/plain\" twice"),
            "{e}"
        );
        let mut x = good.clone();
        x.tables.decoders.push("d/0123456789abcdef.wasm".into());
        refused(&x, "a decoder twice");
        let mut x = good.clone();
        x.tables
            .reasons
            .insert(0, "decoder failed: out of fuel".into());
        refused(&x, "a reason twice");
        let mut x = good.clone();
        x.tables.decoders.push("r/0000000000000001".into());
        refused(&x, "decoder outside d/");
        // Empty folders: unsorted, unsafe.
        let mut x = good.clone();
        x.empty_dirs.reverse();
        refused(&x, "empty folders unsorted");
        let mut x = good.clone();
        x.empty_dirs = vec!["/abs".into()];
        refused(&x, "empty folder absolute");
        // Counts claiming 2^60 items, a count over the item budget with the
        // bytes to back it, a non-shortest count.
        let mut b = vec![0u8];
        varint::put(&mut b, 1 << 60);
        refused_plain(&b, "2^60 media types");
        let mut b = vec![0u8, 0, 0, 0, 0, 0];
        varint::put(&mut b, MAX_INDEX_ITEMS as u64 + 1);
        b.resize(b.len() + 2 * (MAX_INDEX_ITEMS + 1), 0);
        let e = Index::parse_plain(&b, ENTRY).unwrap_err().to_string();
        assert!(e.contains("over the limit"), "{e}");
        refused_plain(
            &[0x80, 0x00, 0, 0, 0, 0, 0, 0],
            "records in a non-shortest form",
        );
        Index::parse_plain(&[0, 0, 0, 0, 0, 0, 0], ENTRY).unwrap();
    }

    #[test]
    fn the_writers_encoding_counts_its_bytes_and_is_the_plain_one() {
        for idx in [index(0, 0), index(1, 1), index(10_000_000, 4)] {
            assert_eq!(idx.plain_len(), idx.plain().len());
            assert_eq!(idx.encode_checked(ENTRY).unwrap(), idx.encode());
        }
        let mut x = index(1, 1);
        x.bundles[0].len = 1 << 40;
        x.pages[0].first_offset = u64::MAX;
        x.empty_dirs.push("é".repeat(200));
        assert_eq!(x.plain_len(), x.plain().len());
    }

    #[test]
    fn the_writers_encoding_refuses_an_index_a_reader_refuses() {
        // Items: exactly the limit is written, one more is refused.
        let mut x = index(1, 1);
        let others = x.items() - x.empty_dirs.len();
        x.empty_dirs = vec![String::new(); MAX_INDEX_ITEMS - others];
        assert_eq!(x.items(), MAX_INDEX_ITEMS);
        x.encode_checked(ENTRY).unwrap();
        x.empty_dirs.push(String::new());
        let e = x.encode_checked(ENTRY).unwrap_err().to_string();
        assert!(
            e.starts_with("c/index: too many items: 2097153 (")
                && e.contains(&format!("{} empty folders", MAX_INDEX_ITEMS - others + 1)),
            "{e}"
        );

        // Bundles together below 2^62 bytes.
        let mut x = index(2 * PAGE_RECORDS as u64, 2);
        x.bundles[0].len = MAX_BUNDLES_LEN / 2;
        x.bundles[1].len = MAX_BUNDLES_LEN / 2 - 1;
        x.encode_checked(ENTRY).unwrap();
        x.bundles[1].len += 1;
        let e = x.encode_checked(ENTRY).unwrap_err().to_string();
        assert!(e.contains("2^62 bytes"), "{e}");
        x.bundles[1].len = u64::MAX;
        assert!(x.encode_checked(ENTRY).is_err());

        // Bytes: 64 MiB before compression passes, one byte more does not
        // (folders of 1 MiB, then one sized to land on the limit).
        let mut x = index(1, 1);
        let big = "a".repeat(1 << 20);
        x.empty_dirs = vec![big; 63];
        let short = MAX_INDEX_BYTES - x.plain_len();
        // A string of n bytes takes n + 3 with its length (2^14 <= n < 2^21).
        assert!(short > 3 + (1 << 14) && short - 3 < 1 << 21, "{short}");
        x.empty_dirs.push("b".repeat(short - 3));
        assert_eq!(x.plain_len(), MAX_INDEX_BYTES);
        x.encode_checked(ENTRY).unwrap();
        x.empty_dirs.last_mut().unwrap().push('b');
        let e = x.encode_checked(ENTRY).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "c/index: too large: {} bytes before compression",
                MAX_INDEX_BYTES + 1
            )),
            "{e}"
        );
    }

    /// A series index of `records` records: two generations' bundles,
    /// an overlay run and a base run.
    fn series(records: u64) -> SeriesIndex {
        let mut tables = Tables::default();
        tables.media("text/plain");
        let page = |i: u64, generation: u64, live: Option<u64>| RunPage {
            stream: id(i, 5)[..16].try_into().unwrap(),
            count: 4096,
            last: format!("r/{i:08}"),
            first_bundle: 0,
            first_offset: 0,
            generation,
            entry: i,
            offset: 100 + i,
            size: 1000,
            live,
        };
        let base_pages = records.div_ceil(4096);
        SeriesIndex {
            records,
            changes: Changes {
                added: 1,
                changed: 2,
                removed: 3,
            },
            tables,
            bundles: (0..2)
                .map(|g| SeriesBundle {
                    stream: id(g, 6)[..16].try_into().unwrap(),
                    len: 1000,
                    padded: crate::crypto::padme(1000),
                    generation: g,
                    entry: 0,
                    offset: 77,
                })
                .collect(),
            runs: vec![
                vec![page(100, 1, None)],
                (0..base_pages).map(|i| page(i, 0, Some(4000))).collect(),
            ],
            roots: (0..base_pages).map(|i| id(i, 7)).collect(),
            empty_dirs: vec!["vide".into()],
        }
    }

    #[test]
    fn a_series_index_round_trips_and_checks_its_files() {
        let idx = series(10_000);
        let bytes = idx.encode_checked(ENTRY).unwrap();
        let back = SeriesIndex::parse(&bytes, ENTRY).unwrap();
        assert_eq!(back, idx);
        // The plain form refuses it, and it refuses the plain form.
        assert!(Index::parse(&bytes, ENTRY).is_err());
        let e = SeriesIndex::parse(&index(10, 1).encode(), ENTRY).unwrap_err();
        assert!(e.to_string().contains("form 10"), "{e}");
        // Against its files: generation 1 is this file (one bundle, one
        // page), generation 0 inherited.
        let size_of = |name: &str| match name {
            "b/00000000" => Some(crate::crypto::sealed_len(crate::crypto::padme(1000))),
            "c/00000064" => Some(1000),
            _ => None,
        };
        back.check_files(ENTRY, 1, &[0], 1, 1, &size_of).unwrap();
        let e = back.check_files(ENTRY, 1, &[], 1, 1, &size_of).unwrap_err();
        assert!(
            e.to_string()
                .contains("generation 0, which series.inherits does not list"),
            "{e}"
        );
        let e = back
            .check_files(ENTRY, 1, &[0], 2, 1, &size_of)
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("names 1 of this file's pages, public.json counts 2"),
            "{e}"
        );
        let e = back
            .check_files(ENTRY, 1, &[0], 1, 1, &|_| Some(5))
            .unwrap_err();
        assert!(e.to_string().contains("does not hold once"), "{e}");
    }

    #[test]
    fn hostile_series_indexes_are_refused() {
        let enc = |i: &SeriesIndex| miniz_oxide::deflate::compress_to_vec(&i.plain(SERIES_FORM), 6);
        let refused = |i: &SeriesIndex, words: &str| {
            let e = SeriesIndex::parse(&enc(i), ENTRY).unwrap_err().to_string();
            assert!(e.contains(words), "{e} lacks {words}");
            assert!(e.contains(ENTRY), "{e}");
        };
        let mut i = series(10_000);
        i.roots.pop();
        refused(&i, "2 page roots for 10000 records, not 3");
        let mut i = series(10_000);
        i.runs.last_mut().unwrap()[0].live = Some(5000);
        refused(&i, "5000 live records of 4096");
        let mut i = series(10_000);
        i.runs.last_mut().unwrap().swap(0, 1);
        refused(&i, "last paths must strictly increase");
        let mut i = series(10_000);
        i.runs[0][0].stream = i.runs[1][0].stream;
        refused(&i, "a stream id is used twice");
        let mut i = series(10_000);
        i.bundles[1].padded = 999;
        refused(&i, "less than Padmé");
        let mut i = series(10_000);
        i.runs.last_mut().unwrap().clear();
        i.roots.clear();
        i.records = 0;
        assert!(SeriesIndex::parse(&enc(&i), ENTRY).is_ok());
        i.records = 1;
        i.roots = vec![[0; 32]];
        refused(&i, "1 records and an empty base run");
        let mut i = series(10_000);
        i.runs[0][0].first_bundle = 9;
        refused(&i, "bundle 9 is not one of the 2 bundles");
        let mut i = series(10_000);
        i.runs = vec![vec![]; 5];
        assert!(i
            .encode_checked(ENTRY)
            .unwrap_err()
            .to_string()
            .contains("5 runs"));
        refused(&i, "5 runs, not 1 to 4");
        // Counts larger than the bytes left are refused before allocating,
        // and every truncation is an error, never a panic.
        let plain = series(5000).plain(SERIES_FORM);
        for cut in 0..plain.len() {
            let d = miniz_oxide::deflate::compress_to_vec(&plain[..cut], 6);
            assert!(SeriesIndex::parse(&d, ENTRY).is_err(), "cut at {cut}");
        }
        let mut huge = vec![SERIES_FORM, 0, 0, 0, 0];
        huge.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        let e = SeriesIndex::parse(&miniz_oxide::deflate::compress_to_vec(&huge, 6), ENTRY)
            .unwrap_err();
        assert!(e.to_string().contains("over the limit"), "{e}");
    }
}
