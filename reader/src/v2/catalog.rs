//! The unlocked side of a 2.0 archive: the sealed index (read once, at
//! unlock), catalog pages read one at a time and put in the shape 1.x
//! callers read ([`CatalogRecord`]s in a [`Page`]), and where each record's
//! stored bytes lie in its bundle.

use std::sync::Arc;

use legation_format::catalog::{self, CatalogRecord, Page, PageRef};
use legation_format::crypto::{self, DataKey, StreamId};
use legation_format::v2::{self, index, page, tree};
use zeroize::Zeroizing;

use crate::unlocked::Span;
use crate::{Archive, Error, Result};

/// A 2.0 archive's catalog, once unlocked: the index and what locating
/// records needs.
pub(crate) struct Catalog {
    /// The parsed index.
    pub(crate) index: index::Index,
    /// Records before each page (prefix sums of the pages' counts, one
    /// more item than pages), for listing from any position.
    before: Vec<u64>,
}

impl Catalog {
    /// Reads `c/index` (once), decrypts it under the stream id
    /// `public.json` names, parses and checks it against the public facts;
    /// with the 1.x-shaped index callers list from.
    pub(crate) fn open(archive: &Archive, key: &DataKey) -> Result<(Catalog, catalog::Index)> {
        let opened = archive.v2().expect("a 2.0 archive");
        let public = &opened.public;
        let name = v2::INDEX_ENTRY;
        if public.series.is_some() {
            // A dependent generation's index has the series form, and its
            // records lie in other files too: read through its series.
            return Err(Error::ManifestMismatch {
                entry: name.into(),
                what: format!(
                    "generation {} of a series: its catalog is read through the series \
                     (crate::v2::series)",
                    opened.head.sequence
                ),
            });
        }
        let deflated = open_sealed(
            archive,
            key,
            name,
            StreamId::Index(public.catalog.index_stream),
            index::MAX_INDEX_BYTES as u64,
        )?;
        let idx = index::Index::parse(&deflated, name)?;
        drop(deflated);
        let mismatch = |what: String| Error::ManifestMismatch {
            entry: name.into(),
            what,
        };
        if idx.pages.len() as u64 != public.catalog.pages {
            return Err(mismatch(format!(
                "lists {} pages, public.json {}",
                idx.pages.len(),
                public.catalog.pages
            )));
        }
        if idx.bundles.len() as u64 != public.bundles {
            return Err(mismatch(format!(
                "lists {} bundles, public.json {}",
                idx.bundles.len(),
                public.bundles
            )));
        }
        if idx.records != opened.head.records {
            return Err(mismatch(format!(
                "counts {} records, the head {}",
                idx.records, opened.head.records
            )));
        }
        // Every decoder a page can name is one public.json lists (SPEC
        // 2.0 §24), so no record names a module the keyless audit does
        // not check against its item.
        let listed: std::collections::HashSet<&str> =
            public.decoders.iter().map(|d| d.entry.as_str()).collect();
        if let Some(d) = idx
            .tables
            .decoders
            .iter()
            .find(|d| !listed.contains(d.as_str()))
        {
            return Err(mismatch(format!(
                "its decoder table names {d}, which public.json's decoders do not list"
            )));
        }
        let mut before = Vec::with_capacity(idx.pages.len() + 1);
        let mut sum = 0u64;
        before.push(0);
        for p in &idx.pages {
            sum = sum.saturating_add(u64::from(p.count));
            before.push(sum);
        }
        if sum != idx.records {
            return Err(mismatch(format!(
                "its pages hold {sum} records, it counts {}",
                idx.records
            )));
        }
        // The shape 1.x callers read: page entries, counts, last paths (a
        // page's first path is not in a 2.0 index; the previous page's
        // last path bounds it, and nothing reads it).
        let legacy = catalog::Index {
            records: idx.records,
            pages: idx
                .pages
                .iter()
                .enumerate()
                .map(|(n, p)| PageRef {
                    entry: v2::page_entry(n as u64),
                    count: u64::from(p.count),
                    first: String::new(),
                    last: p.last.clone(),
                })
                .collect(),
            empty_dirs: idx.empty_dirs.clone(),
        };
        Ok((Catalog { index: idx, before }, legacy))
    }

    /// The page that would hold `path`.
    pub(crate) fn page_for(&self, path: &str) -> Option<usize> {
        self.index.page_for(path)
    }

    /// The page holding record number `k` (in path order), and `k`'s place
    /// in it.
    pub(crate) fn page_of(&self, k: u64) -> Option<(usize, usize)> {
        if k >= *self.before.last()? {
            return None;
        }
        let n = self.before.partition_point(|&b| b <= k) - 1;
        Some((n, (k - self.before[n]) as usize))
    }

    /// Page `n`'s records as its page holds them (decrypted, inflated,
    /// parsed; not checked against the page root: content verification
    /// does that).
    pub(crate) fn raw_page(
        &self,
        archive: &Archive,
        key: &DataKey,
        n: usize,
    ) -> Result<Vec<page::Record>> {
        let pref = self.index.pages.get(n).ok_or_else(|| Error::NoSuchRecord {
            path: format!("(catalog page {n})"),
        })?;
        let name = v2::page_entry(n as u64);
        let deflated = open_sealed(
            archive,
            key,
            &name,
            StreamId::Page(pref.stream),
            page::MAX_PAGE_BYTES as u64,
        )?;
        let records = page::parse_page(&deflated, &self.index.tables, &name)?;
        drop(deflated);
        if records.len() != pref.count as usize {
            return Err(Error::ManifestMismatch {
                entry: name,
                what: format!(
                    "holds {} records, the index says {}",
                    records.len(),
                    pref.count
                ),
            });
        }
        // Pages follow each other in path order: this page's last path is
        // the index's, and above the previous page's.
        let last = &records[records.len() - 1].path;
        let prev = n.checked_sub(1).map(|m| self.index.pages[m].last.as_str());
        if last != &pref.last || prev.is_some_and(|p| records[0].path.as_str() <= p) {
            return Err(Error::ManifestMismatch {
                entry: name,
                what: "its paths are not where the index places the page".into(),
            });
        }
        Ok(records)
    }

    /// Page `n` as 1.x callers read it, with its cost bound for caching.
    pub(crate) fn load_page(
        &self,
        archive: &Archive,
        key: &DataKey,
        n: usize,
    ) -> Result<(Arc<Page>, usize)> {
        let raw = self.raw_page(archive, key, n)?;
        let pref = &self.index.pages[n];
        let places = page::locate(&raw, pref.first_bundle, pref.first_offset);
        let mut cost = 0usize;
        // The records of a bundle share its entry name: formatted once.
        let mut entry: Option<(u64, String)> = None;
        let records: Vec<CatalogRecord> = raw
            .into_iter()
            .zip(places)
            .map(|(r, (bundle, offset))| {
                let name = match &entry {
                    Some((b, name)) if *b == bundle => name.clone(),
                    _ => {
                        let name = v2::bundle_entry(bundle);
                        entry = Some((bundle, name.clone()));
                        name
                    }
                };
                let rec = self.record(r, bundle, name, offset);
                cost += record_cost(&rec);
                rec
            })
            .collect();
        Ok((
            Arc::new(Page {
                page: n as u64,
                records,
            }),
            cost,
        ))
    }

    /// A page record in the 1.x shape, at `(bundle, offset)`; `entry` is
    /// the bundle's entry name.
    pub(crate) fn record(
        &self,
        r: page::Record,
        bundle: u64,
        entry: String,
        offset: u64,
    ) -> CatalogRecord {
        let title = r
            .title
            .unwrap_or_else(|| r.path.rsplit('/').next().unwrap_or(&r.path).to_owned());
        let stream = usize::try_from(bundle)
            .ok()
            .and_then(|b| self.index.bundles.get(b))
            .map_or([0; 16], |b| b.stream);
        CatalogRecord {
            path: r.path,
            title,
            media_type: r.media_type,
            size: r.size,
            blake3: r.blake3,
            modified: r.modified.map(legation_format::time::format_rfc3339),
            decoder: r.decoder,
            render: r.render,
            metadata: r.metadata,
            entry,
            stream,
            encoding: r.encoding,
            stored_size: r.stored_size,
            offset,
        }
    }

    /// Where a record's stored bytes lie in its bundle; refuses a record
    /// whose bundle, stream id or range the index does not bear out.
    pub(crate) fn span(
        &self,
        archive: &Archive,
        key: &DataKey,
        rec: &CatalogRecord,
    ) -> Result<Span> {
        let bad = |what: String| Error::RecordMismatch {
            path: rec.path.clone(),
            what,
        };
        let n = rec
            .entry
            .strip_prefix("b/")
            .filter(|h| h.len() == 8)
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .filter(|&n| v2::bundle_entry(n) == rec.entry)
            .ok_or_else(|| bad(format!("{} is not a bundle entry", rec.entry)))?;
        let b = usize::try_from(n)
            .ok()
            .and_then(|i| self.index.bundles.get(i))
            .ok_or_else(|| bad(format!("bundle {} is not in the index", rec.entry)))?;
        if b.stream != rec.stream {
            return Err(bad(format!(
                "the stream id given for {} is not the index's",
                rec.entry
            )));
        }
        if rec
            .offset
            .checked_add(rec.stored_size)
            .is_none_or(|end| end > b.len)
        {
            return Err(bad(format!(
                "{} stored bytes at {} pass the end of {} ({} bytes)",
                rec.stored_size, rec.offset, rec.entry, b.len
            )));
        }
        let span = bundle_span(archive, key, &rec.entry, b)?;
        Ok(Span {
            start: rec.offset,
            ..span
        })
    }

    /// A record's leaf hash in the records tree.
    pub(crate) fn leaf_hash(
        archive_id: &[u8; 16],
        key: &DataKey,
        r: &page::Record,
    ) -> Result<[u8; 32]> {
        let salt = tree::record_salt(key, archive_id, &r.path);
        Ok(tree::leaf_hash(&r.leaf(&salt)?))
    }
}

/// The whole stream of bundle `entry` (its plaintext is the bundle's stored
/// records, then zero padding to Padmé), checked to have the size the
/// index's length needs.
pub(crate) fn bundle_span(
    archive: &Archive,
    key: &DataKey,
    entry: &str,
    b: &index::BundleRef,
) -> Result<Span> {
    let e = archive.entry(entry)?;
    let padded = crypto::padme(b.len);
    let expect = crypto::sealed_len(padded);
    if e.size != expect {
        return Err(Error::ManifestMismatch {
            entry: entry.into(),
            what: format!(
                "holds {} bytes, but the index's length of {} needs {expect}",
                e.size, b.len
            ),
        });
    }
    Ok(Span {
        data: e.data_offset(),
        key: key.stream_key(&archive.manifest().archive_id, StreamId::Bundle(b.stream)),
        plain_len: padded,
        start: 0,
        own_stream: false,
    })
}

/// Reads a sealed catalog entry (the index or a page) of at most `limit`
/// plaintext bytes and decrypts it; the DEFLATEd plaintext, wiped when
/// dropped. The entry's bytes are not hashed: the AEAD under the stream
/// id the index (or `public.json`) gives authenticates them.
fn open_sealed(
    archive: &Archive,
    key: &DataKey,
    name: &str,
    stream: StreamId,
    limit: u64,
) -> Result<Zeroizing<Vec<u8>>> {
    let e = archive.entry(name)?;
    // DEFLATE may grow what it cannot compress, by a little.
    let cap = crypto::sealed_len(limit + limit / 64 + 4096);
    if e.size > cap {
        return Err(Error::TooLarge {
            entry: name.into(),
            size: e.size,
            limit: cap,
        });
    }
    let mut sealed = vec![0u8; e.size as usize];
    archive.read_at(e.data_offset(), &mut sealed, name)?;
    let sk = key.stream_key(&archive.manifest().archive_id, stream);
    let plain = crypto::open_stream(&sk, &sealed).or_else(|chunk| {
        // A damaged page or index is rebuilt from its parity stripe (SPEC
        // 2.0 §25.1), every part checked against its entry-table row.
        archive
            .rebuild_catalog_member(name)
            .and_then(|b| crypto::open_stream(&sk, &b).ok())
            .ok_or(Error::Chunk {
                what: "catalog".into(),
                entry: name.into(),
                chunk,
            })
    })?;
    Ok(Zeroizing::new(plain))
}

/// What a record costs held in memory, roughly (for the page cache's
/// bound by bytes).
fn record_cost(r: &CatalogRecord) -> usize {
    let meta: usize = r
        .metadata
        .iter()
        .map(|(k, vs)| k.len() + 24 + vs.iter().map(|v| v.len() + 24).sum::<usize>())
        .sum();
    std::mem::size_of::<CatalogRecord>()
        + r.path.len()
        + r.title.len()
        + r.media_type.len()
        + r.entry.len()
        + r.decoder.as_ref().map_or(0, |d| d.len())
        + r.modified.as_ref().map_or(0, |m| m.len())
        + meta
}
