//! Content verification of a 2.0 archive (with the key): fixity first,
//! then every page in order, every record's bytes read from its bundle in
//! one sequential pass over the bundles (each chunk decrypted once), each
//! bundle's padding zero and every byte of it some record's, and the
//! records tree recomputed: every page root against the index, the root
//! over them against the head.

use std::io::Read;

use legation_format::catalog::Encoding;
use legation_format::crypto::{self, CHUNK_SIZE, SEALED_CHUNK};
use legation_format::v2::{self, page, tree};
use legation_format::writer::COMPRESS_MAX;

use super::catalog::{bundle_span, Catalog};
use crate::unlocked::{decrypt_batch, Span};
use crate::verify::{Level, Problem, Progress, Report};
use crate::{Archive, Error, ErrorKind, Unlocked};

/// Chunks decrypted at once by the sequential pass.
const BATCH: u64 = 32;

/// See the module's documentation.
pub(crate) fn content(
    u: &Unlocked,
    cat: &Catalog,
    pinned: Option<&[u8; 32]>,
    progress: Progress<'_>,
) -> Report {
    let archive = u.archive();
    let fixity_total = archive.len();
    let records_total: u64 = cat.index.bundles.iter().map(|b| b.len).sum();
    let all = fixity_total.saturating_add(records_total);
    let mut report = archive.verify_fixity(pinned, &mut |done, _| progress(done, all));
    if report.cancelled {
        return report;
    }
    report.level = Level::Content;
    let opened = archive.v2().expect("a 2.0 archive");
    let id = archive.manifest().archive_id;
    let push = |report: &mut Report, subject: &str, e: &Error| {
        report.problems.push(Problem {
            level: Level::Content,
            subject: subject.to_owned(),
            message: e.to_string(),
            kind: e.kind(),
        })
    };
    let mut cursor = Cursor::new(archive, u, cat);
    let mut page_roots = tree::RootBuilder::new();
    let mut bytes = 0u64;
    for (n, pref) in cat.index.pages.iter().enumerate() {
        let name = v2::page_entry(n as u64);
        page_roots.push(tree::leaf_hash(&pref.root));
        let raw = match cat.raw_page(archive, u.data_key(), n) {
            Ok(r) => r,
            Err(e) => {
                push(&mut report, &name, &e);
                cursor.lost_page();
                continue;
            }
        };
        let places = page::locate(&raw, pref.first_bundle, pref.first_offset);
        let mut leaves = tree::RootBuilder::new();
        for (r, (bundle, offset)) in raw.iter().zip(places) {
            match Catalog::leaf_hash(&id, u.data_key(), r) {
                Ok(h) => leaves.push(h),
                Err(e) => push(&mut report, &r.path, &e),
            }
            // A record's decoder is an item of the index's decoder table,
            // each of which unlocking found in public.json's decoders
            // (Catalog::open), so it needs no look-up here.
            if let Err(e) = cursor.record(r, bundle, offset) {
                push(&mut report, &r.path, &e);
            }
            report.records_checked += 1;
            // Declared sizes: a DEFLATE record's is not bounded by its
            // bundle, so the sum saturates.
            report.record_bytes_checked = report.record_bytes_checked.saturating_add(r.size);
            bytes = bytes.saturating_add(r.size);
            if !progress(fixity_total.saturating_add(cursor.done), all) {
                report.cancelled = true;
                return report;
            }
        }
        if leaves.root() != pref.root {
            push(
                &mut report,
                &name,
                &Error::ManifestMismatch {
                    entry: name.clone(),
                    what: "its records' tree root differs from the index's (pages swapped, \
                           records reordered or changed)"
                        .into(),
                },
            );
        }
    }
    cursor.finish(&mut report);
    let head = &opened.head;
    if page_roots.root() != head.records_root {
        push(
            &mut report,
            v2::HEAD_ENTRY,
            &Error::ManifestMismatch {
                entry: v2::HEAD_ENTRY.into(),
                what: "records-root differs from the root over the index's page roots".into(),
            },
        );
    }
    let checked = report.records_checked;
    if bytes != head.bytes || checked != head.records {
        push(
            &mut report,
            v2::HEAD_ENTRY,
            &Error::ManifestMismatch {
                entry: v2::HEAD_ENTRY.into(),
                what: format!(
                    "counts {} records of {} bytes, the catalog holds {} of {bytes}",
                    head.records, head.bytes, checked
                ),
            },
        );
    }
    report
}

/// Reads the bundles front to back as the records come, each chunk
/// decrypted once, checking that the records cover every stored byte and
/// that the padding is zero.
struct Cursor<'a> {
    archive: &'a Archive,
    u: &'a Unlocked,
    cat: &'a Catalog,
    /// The bundle being read, its stream and its length (records' bytes).
    open: Option<(u64, Span, u64)>,
    /// Plaintext of chunks, starting at stream offset `buf_at`.
    buf: Vec<u8>,
    buf_at: u64,
    /// Where the next record should start.
    pos: u64,
    /// Bundles reached so far (all below `open` are done).
    next_bundle: u64,
    /// A page could not be read: gaps in the bundles are then expected.
    gaps_expected: bool,
    /// Problems found in bundles (reported by `finish`).
    problems: Vec<(String, Error)>,
    /// Record bytes read so far, for progress.
    done: u64,
}

impl<'a> Cursor<'a> {
    fn new(archive: &'a Archive, u: &'a Unlocked, cat: &'a Catalog) -> Self {
        Cursor {
            archive,
            u,
            cat,
            open: None,
            buf: Vec::new(),
            buf_at: 0,
            pos: 0,
            next_bundle: 0,
            gaps_expected: false,
            problems: Vec::new(),
            done: 0,
        }
    }

    fn lost_page(&mut self) {
        self.gaps_expected = true;
    }

    /// Checks one record's bytes at `(bundle, offset)`.
    fn record(&mut self, r: &page::Record, bundle: u64, offset: u64) -> crate::Result<()> {
        let bad = |what: String| Error::RecordMismatch {
            path: r.path.clone(),
            what,
        };
        if r.encoding == Encoding::Deflate && r.stored_size > COMPRESS_MAX {
            return Err(bad(format!(
                "compressed record of {} bytes exceeds the {COMPRESS_MAX}-byte limit",
                r.stored_size
            )));
        }
        if self.open.as_ref().map(|o| o.0) != Some(bundle) {
            self.close();
            self.enter(bundle)
                .map_err(|e| bad(format!("its bundle cannot be read: {e}")))?;
        }
        let len = self.open.as_ref().map_or(0, |o| o.2);
        if offset
            .checked_add(r.stored_size)
            .is_none_or(|end| end > len)
        {
            return Err(bad(format!(
                "{} stored bytes at {offset} pass the end of {} ({len} bytes)",
                r.stored_size,
                v2::bundle_entry(bundle)
            )));
        }
        if offset != self.pos {
            if !self.gaps_expected || offset < self.pos {
                self.problems.push((
                    v2::bundle_entry(bundle),
                    Error::ManifestMismatch {
                        entry: v2::bundle_entry(bundle),
                        what: format!(
                            "a record starts at {offset}, where the previous one ended at {}",
                            self.pos
                        ),
                    },
                ));
            }
            self.pos = offset;
        }
        let mut hasher = blake3::Hasher::new();
        let mut total = 0u64;
        match r.encoding {
            Encoding::Identity => {
                self.take(r.stored_size, &mut |b| {
                    hasher.update(b);
                    total += b.len() as u64;
                })
                .map_err(|e| e.named(&r.path))?;
            }
            Encoding::Deflate => {
                let mut stored = Vec::with_capacity(r.stored_size as usize);
                self.take(r.stored_size, &mut |b| stored.extend_from_slice(b))
                    .map_err(|e| e.named(&r.path))?;
                let mut d = flate2::read::DeflateDecoder::new(&stored[..]);
                let mut chunk = vec![0u8; CHUNK_SIZE];
                loop {
                    let n = d
                        .read(&mut chunk)
                        .map_err(|e| bad(format!("cannot be decoded: {e}")))?;
                    if n == 0 {
                        break;
                    }
                    total += n as u64;
                    if total > r.size {
                        break;
                    }
                    hasher.update(&chunk[..n]);
                }
                if d.total_in() != r.stored_size {
                    return Err(bad(format!(
                        "{} bytes follow the end of the compressed data",
                        r.stored_size.saturating_sub(d.total_in())
                    )));
                }
            }
        }
        self.done = self.done.saturating_add(r.stored_size);
        if total != r.size {
            return Err(bad(format!(
                "holds {total} bytes, the catalog declares {}",
                r.size
            )));
        }
        if hasher.finalize().as_bytes() != &r.blake3 {
            return Err(bad("BLAKE3 of the bytes differs from the catalog".into()));
        }
        Ok(())
    }

    /// Notes the bundles from the next one up to (not including) `n` as
    /// reached by no record, unless gaps are expected.
    fn skip_to(&mut self, n: u64) {
        if self.gaps_expected {
            return;
        }
        for skipped in self.next_bundle..n {
            let name = v2::bundle_entry(skipped);
            self.problems.push((
                name.clone(),
                Error::ManifestMismatch {
                    entry: name,
                    what: "a bundle that no record is in".into(),
                },
            ));
        }
    }

    /// Opens bundle `n`, noting the bundles skipped before it.
    fn enter(&mut self, n: u64) -> crate::Result<()> {
        self.skip_to(n);
        if n < self.next_bundle {
            return Err(Error::ManifestMismatch {
                entry: v2::bundle_entry(n),
                what: "records return to a bundle already left".into(),
            });
        }
        self.next_bundle = n + 1;
        let b = usize::try_from(n)
            .ok()
            .and_then(|i| self.cat.index.bundles.get(i))
            .ok_or_else(|| Error::MissingEntry {
                entry: v2::bundle_entry(n),
            })?;
        let span = bundle_span(self.archive, self.u.data_key(), &v2::bundle_entry(n), b)?;
        self.open = Some((n, span, b.len));
        self.buf.clear();
        self.buf_at = 0;
        self.pos = 0;
        Ok(())
    }

    /// Hands the next `n` plaintext bytes at `pos` to `each`, decrypting
    /// chunks as needed (each at most once, unless records jump back).
    fn take(&mut self, mut n: u64, each: &mut dyn FnMut(&[u8])) -> Result<(), Failed> {
        while n > 0 {
            let end = self.buf_at + self.buf.len() as u64;
            if self.pos < self.buf_at || self.pos >= end {
                self.fill(self.pos / CHUNK_SIZE as u64)?;
                if self.pos >= self.buf_at + self.buf.len() as u64 {
                    return Err(Failed::Closed);
                }
                continue;
            }
            let from = (self.pos - self.buf_at) as usize;
            let k = (n.min(end - self.pos)) as usize;
            each(&self.buf[from..from + k]);
            self.pos += k as u64;
            n -= k as u64;
        }
        Ok(())
    }

    /// Decrypts up to [`BATCH`] chunks from chunk `first` into `buf`.
    fn fill(&mut self, first: u64) -> Result<(), Failed> {
        let (n, span, _) = self.open.as_ref().ok_or(Failed::Closed)?;
        let entry = v2::bundle_entry(*n);
        let chunks = crypto::chunk_count(span.plain_len);
        if first >= chunks {
            return Err(Failed::Closed);
        }
        let to = (first + BATCH).min(chunks);
        let start = first * SEALED_CHUNK as u64;
        let stop = if to == chunks {
            crypto::sealed_len(span.plain_len)
        } else {
            to * SEALED_CHUNK as u64
        };
        let mut sealed = vec![0u8; (stop - start) as usize];
        self.archive
            .read_at(span.data + start, &mut sealed, &entry)
            .map_err(Failed::Read)?;
        let k = decrypt_batch(&span.key, &mut sealed, first, chunks).map_err(|chunk| {
            Failed::Read(Error::Chunk {
                what: entry.clone(),
                entry: entry.clone(),
                chunk,
            })
        })?;
        sealed.truncate(k);
        self.buf = sealed;
        self.buf_at = first * CHUNK_SIZE as u64;
        Ok(())
    }

    /// Ends the open bundle: every byte after the last record up to its
    /// length is unaccounted for, and the padding after it must be zero.
    fn close(&mut self) {
        let Some((n, span, len)) = self.open.as_ref().map(|(n, s, l)| (*n, s.plain_len, *l)) else {
            return;
        };
        let name = v2::bundle_entry(n);
        if self.pos < len && !self.gaps_expected {
            self.problems.push((
                name.clone(),
                Error::ManifestMismatch {
                    entry: name.clone(),
                    what: format!("bytes {}..{len} belong to no record", self.pos),
                },
            ));
        }
        self.pos = len;
        let mut nonzero = false;
        if let Err(f) = self.take(span - len, &mut |b| nonzero |= b.iter().any(|&x| x != 0)) {
            self.problems.push((name.clone(), f.named(&name)));
        } else if nonzero {
            self.problems.push((
                name.clone(),
                Error::ManifestMismatch {
                    entry: name,
                    what: "padding bytes are not zero".into(),
                },
            ));
        }
        self.open = None;
    }

    /// Ends the pass: closes the last bundle, notes bundles no record
    /// reached, and reports what was found in bundles.
    fn finish(mut self, report: &mut Report) {
        self.close();
        let total = self.cat.index.bundles.len() as u64;
        self.skip_to(total);
        for (subject, e) in self.problems {
            report.problems.push(Problem {
                level: Level::Content,
                subject,
                message: e.to_string(),
                kind: match e {
                    Error::ManifestMismatch { .. } => ErrorKind::Damaged,
                    ref other => other.kind(),
                },
            });
        }
    }
}

/// Why the cursor could not hand over bytes.
enum Failed {
    /// No bundle open, or a read past its stream.
    Closed,
    /// Reading or decrypting failed.
    Read(Error),
}

impl Failed {
    fn named(self, what: &str) -> Error {
        match self {
            Failed::Closed => Error::RecordMismatch {
                path: what.into(),
                what: "reads past the end of its bundle".into(),
            },
            Failed::Read(e) => e,
        }
    }
}
