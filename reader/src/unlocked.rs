//! An unlocked archive: the catalog, and records read chunk by chunk.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use legation_format::catalog::{self, CatalogRecord, Encoding, Index, Page};
use legation_format::crypto::{
    self, DataKey, StreamId, StreamKey, CHUNK_SIZE, SEALED_CHUNK, TAG_LEN,
};
use legation_format::keys::Identity;
use legation_format::writer::{join, COMPRESS_MAX};
use zeroize::Zeroizing;

use crate::{Archive, Error, Result};

/// A key that may open an archive. Its `Debug` shows no secret: not the
/// passphrase, and only the public key of an identity.
pub enum Key {
    /// A passphrase.
    Passphrase(Zeroizing<String>),
    /// A recipient's secret key.
    Identity(Identity),
    /// A quorum holder's share, unwrapped by `legation share` (SPEC
    /// §7.9): taken with others toward a quorum slot's K.
    Share(legation_format::quorum::Share),
    /// A post-quantum recipient's secret key (X-Wing, SPEC §7.11, format
    /// 2.1): opens `mlkem768x25519` slots.
    PqIdentity(legation_format::pq::PqIdentity),
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Key::Passphrase(_) => f.write_str("Passphrase(<redacted>)"),
            Key::Identity(i) => f.debug_tuple("Identity").field(i).finish(),
            Key::Share(s) => s.fmt(f),
            Key::PqIdentity(i) => i.fmt(f),
        }
    }
}

/// Chunks decrypted per batch when streaming a record.
const BATCH_CHUNKS: u64 = 32;
/// Memory the catalog pages kept decrypted may take, by their cost
/// bounds (`catalog::parsed_cost`): by memory, not by count, since one
/// page may cost from kilobytes to about 80 MB.
const PAGE_CACHE_BYTES: usize = 32 << 20;
/// Inflated size up to which two pages are decoded side by side when
/// streaming pages; a larger page is decoded alone.
const SIDE_BY_SIDE_BELOW: usize = 8 << 20;

/// An archive opened with its data key.
pub struct Unlocked {
    archive: Archive,
    key: DataKey,
    index: Index,
    /// Pages kept decrypted: number, page, cost bound.
    cache: Mutex<Vec<(u64, Arc<Page>, usize)>>,
    /// For a format 2.0 archive, its catalog (`index` is its 1.x shape).
    v2: Option<crate::v2::Catalog>,
}

impl Archive {
    /// Finds a key slot one of `keys` opens, checks the key commitment,
    /// and reads the catalog index. Checks no signature (see
    /// [`Archive::unlock_signed`]) and derives at most one passphrase slot
    /// above the default cost (SPEC §7.7).
    pub fn unlock(&self, keys: &[Key]) -> Result<Unlocked> {
        self.unlock_with(keys, &mut |_, _| false)
    }

    /// What a reader that shows content does (SPEC §7.7, §17.6): checks
    /// the signature first, and with `pinned` that this issuer made it,
    /// refusing a signature that fails before any key is derived (a
    /// damaged `manifest.sig` passes, without `pinned`, as unsigned);
    /// then unlocks as [`Archive::unlock_with`].
    pub fn unlock_signed(
        &self,
        keys: &[Key],
        pinned: Option<&[u8; 32]>,
        allow_costly: &mut dyn FnMut(usize, &crypto::Argon2Params) -> bool,
    ) -> Result<Unlocked> {
        match self.check_signature(pinned) {
            Ok(_) => {}
            Err(e) if e.is_signature_damaged() && pinned.is_none() => {}
            Err(e) => return Err(e),
        }
        self.unlock_with(keys, allow_costly)
    }

    /// Unlocks as [`Archive::unlock`], trying identities first, then the
    /// passphrase slots at or below the default cost in their order, then
    /// those above it, cheapest first. Only one slot above the default
    /// cost is derived unless `allow_costly(slot, params)` says yes to
    /// the next; otherwise the archive is refused, naming the slot.
    pub fn unlock_with(
        &self,
        keys: &[Key],
        allow_costly: &mut dyn FnMut(usize, &crypto::Argon2Params) -> bool,
    ) -> Result<Unlocked> {
        self.unlock_with_data_key(self.data_key_with(keys, allow_costly)?)
    }

    /// The data key that `keys` open, found and checked as
    /// [`Archive::unlock_with`] finds it, without reading the catalog (a
    /// generation of a series reads its catalog through its series).
    pub fn data_key_with(
        &self,
        keys: &[Key],
        allow_costly: &mut dyn FnMut(usize, &crypto::Argon2Params) -> bool,
    ) -> Result<DataKey> {
        if keys.is_empty() {
            return Err(Error::KeyNeeded);
        }
        let m = self.manifest();
        let id = m.archive_id;
        let passphrase_slots = m
            .key_slots
            .iter()
            .filter(|s| matches!(s, crypto::KeySlot::Passphrase { .. }))
            .count();
        if passphrase_slots > crypto::kdf_bounds::MAX_PASSPHRASE_SLOTS {
            return Err(legation_format::Error::HostileKdf {
                slot: crypto::kdf_bounds::MAX_PASSPHRASE_SLOTS,
                what: format!(
                    "{passphrase_slots} passphrase slots, more than the {} a reader tries",
                    crypto::kdf_bounds::MAX_PASSPHRASE_SLOTS
                ),
            }
            .into());
        }
        crate::quorum::check(self, passphrase_slots)?;
        let mut by_cost = Vec::new();
        for (i, slot) in m.key_slots.iter().enumerate() {
            if let crypto::KeySlot::Passphrase { params, .. } = slot {
                params.check(i)?;
                by_cost.push((i, params));
            }
        }
        // Identities first: an X25519 slot costs one scalar multiplication,
        // an X-Wing slot one decapsulation (about 0.1 ms).
        let mut found = keys.iter().find_map(|key| match key {
            Key::Identity(idt) => m.key_slots.iter().enumerate().find_map(|(i, slot)| {
                matches!(slot, crypto::KeySlot::X25519 { .. })
                    .then(|| crypto::open_x25519_slot(slot, &id, idt.secret()))
                    .flatten()
                    .map(|dk| (i, dk))
            }),
            // Post-quantum identities: the seed is expanded once, then one
            // decapsulation a slot.
            Key::PqIdentity(idt) => {
                let public = idt.public();
                m.key_slots
                    .iter()
                    .enumerate()
                    .find_map(|(i, slot)| match slot {
                        crypto::KeySlot::MlKem768X25519(s) => {
                            legation_format::pq::open_with_public(s, &id, idt, &public)
                                .map(|dk| (i, dk))
                        }
                        _ => None,
                    })
            }
            Key::Passphrase(_) | Key::Share(_) => None,
        });
        // Then the passphrase slots, default cost first in their order,
        // then the costly ones, cheapest first.
        by_cost.sort_by_key(|(i, p)| {
            let costly = p.above_default();
            (costly, if costly { p.work() } else { 0 }, p.memory_kib, *i)
        });
        let mut costly_runs = 0usize;
        'slots: for (i, params) in by_cost {
            if found.is_some() {
                break;
            }
            for key in keys {
                let Key::Passphrase(p) = key else { continue };
                if params.above_default() {
                    if costly_runs >= 1 && !allow_costly(i, params) {
                        let d = crypto::Argon2Params::DEFAULT;
                        return Err(legation_format::Error::HostileKdf {
                            slot: i,
                            what: format!(
                                "Argon2id of {} KiB x {} passes costs more than the default \
                                 ({} KiB x {} passes), and one such slot was derived already; \
                                 a reader derives another only when told to (legation: \
                                 --allow-costly-kdf)",
                                params.memory_kib, params.iterations, d.memory_kib, d.iterations
                            ),
                        }
                        .into());
                    }
                    costly_runs += 1;
                }
                if let Some(dk) = crypto::open_passphrase_slot(&m.key_slots[i], &id, p) {
                    found = Some((i, dk));
                    break 'slots;
                }
            }
        }
        if found.is_none() {
            found = crate::quorum::open(self, keys, allow_costly)?;
        }
        let (slot, key) = found.ok_or(Error::NoKey {
            slots: m.key_slots.len(),
        })?;
        if blake3::Hash::from(key.commitment(&id)) != blake3::Hash::from(m.key_commitment) {
            let e = Error::KeyCommitment { slot };
            return Err(if self.is_v2() { e.for_v2() } else { e });
        }
        Ok(key)
    }

    /// Unlocks with a data key already known (after [`Archive::unlock`]
    /// elsewhere); the commitment is checked again.
    pub fn unlock_with_data_key(&self, key: DataKey) -> Result<Unlocked> {
        let m = self.manifest();
        if blake3::Hash::from(key.commitment(&m.archive_id)) != blake3::Hash::from(m.key_commitment)
        {
            let e = Error::KeyCommitment { slot: 0 };
            return Err(if self.is_v2() { e.for_v2() } else { e });
        }
        if self.is_v2() {
            let (catalog, index) = crate::v2::Catalog::open(self, &key)?;
            return Ok(Unlocked {
                archive: self.clone(),
                key,
                index,
                cache: Mutex::new(Vec::new()),
                v2: Some(catalog),
            });
        }
        let name = m.catalog.index.clone();
        let deflated = open_document(
            self,
            &key,
            &name,
            StreamId::CatalogIndex,
            catalog::MAX_INDEX_BYTES,
        )?;
        let index = catalog::parse_index(&deflated, &name)?.value;
        drop(deflated);
        index.check(&name)?;
        if index.pages.len() as u64 != m.catalog.pages {
            return Err(Error::ManifestMismatch {
                entry: name,
                what: format!(
                    "lists {} pages, the manifest {}",
                    index.pages.len(),
                    m.catalog.pages
                ),
            });
        }
        Ok(Unlocked {
            archive: self.clone(),
            key,
            index,
            cache: Mutex::new(Vec::new()),
            v2: None,
        })
    }
}

/// Reads and decrypts a catalog document sealed under `stream`, of at
/// most `limit` inflated bytes; the deflated plaintext.
fn open_document(
    a: &Archive,
    key: &DataKey,
    name: &str,
    stream: StreamId,
    limit: usize,
) -> Result<Zeroizing<Vec<u8>>> {
    let sealed = a.read_entry(name, crypto::sealed_len(limit as u64))?;
    let sk = key.stream_key(&a.manifest().archive_id, stream);
    // Catalog plaintext: wiped once parsed.
    let deflated =
        Zeroizing::new(
            crypto::open_stream(&sk, &sealed).map_err(|chunk| Error::Chunk {
                what: "catalog".into(),
                entry: name.into(),
                chunk,
            })?,
        );
    Ok(deflated)
}

impl Unlocked {
    /// The archive.
    pub fn archive(&self) -> &Archive {
        &self.archive
    }
    /// The data key (for handing to another thread or process).
    pub fn data_key(&self) -> &DataKey {
        &self.key
    }
    /// The catalog index.
    pub fn index(&self) -> &Index {
        &self.index
    }
    /// A format 2.0 archive's catalog.
    pub(crate) fn v2(&self) -> Option<&crate::v2::Catalog> {
        self.v2.as_ref()
    }
    /// A format 2.0 archive's own index (bundles, and pages with where
    /// their records start); `None` for 1.x.
    pub fn v2_index(&self) -> Option<&legation_format::v2::index::Index> {
        self.v2.as_ref().map(|c| &c.index)
    }
    /// Number of records.
    pub fn record_count(&self) -> u64 {
        self.index.records
    }

    /// Catalog page `n`, decrypted and checked (cached, within
    /// [`PAGE_CACHE_BYTES`]).
    pub fn page(&self, n: usize) -> Result<Arc<Page>> {
        if let Some((_, p, _)) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(k, _, _)| *k == n as u64)
        {
            return Ok(p.clone());
        }
        let (page, cost) = self.load_page(n, catalog::MAX_PAGE_BYTES)?;
        if cost <= PAGE_CACHE_BYTES {
            let mut c = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            while c.iter().map(|(_, _, k)| k).sum::<usize>() + cost > PAGE_CACHE_BYTES {
                c.remove(0);
            }
            c.push((n as u64, page.clone(), cost));
        }
        Ok(page)
    }

    /// Reads, decrypts, inflates, parses and checks page `n` if it
    /// inflates within `limit` bytes; with its cost bound.
    fn load_page(&self, n: usize, limit: usize) -> Result<(Arc<Page>, usize)> {
        if let Some(v2) = &self.v2 {
            // A 2.0 page is bounded by its format (4096 records, 64 MiB).
            return v2.load_page(&self.archive, &self.key, n);
        }
        let pref = self.index.pages.get(n).ok_or_else(|| Error::NoSuchRecord {
            path: format!("(catalog page {n})"),
        })?;
        let deflated = open_document(
            &self.archive,
            &self.key,
            &pref.entry,
            StreamId::CatalogPage(n as u64),
            catalog::MAX_PAGE_BYTES,
        )?;
        let parsed = catalog::parse_page(&deflated, limit, &pref.entry)?;
        drop(deflated);
        parsed.value.check(n as u64, pref)?;
        Ok((Arc::new(parsed.value), parsed.cost))
    }

    /// Calls `each` with the pages of `range` in order, decrypted and
    /// checked, until it returns false (then returns false). At most two
    /// pages are held decoded at once: two small ones are decoded side by
    /// side where threads exist, a large one alone, so that memory is
    /// bounded by what pages cost, not by how many there are. Not cached.
    pub fn for_each_page(
        &self,
        range: std::ops::Range<usize>,
        each: &mut dyn FnMut(usize, Result<Arc<Page>>) -> bool,
    ) -> bool {
        let alone = |n: usize| self.load_page(n, catalog::MAX_PAGE_BYTES).map(|(p, _)| p);
        let mut n = range.start;
        while n < range.end {
            if n + 1 == range.end {
                return each(n, alone(n));
            }
            let (a, b) = join(
                || self.load_page(n, SIDE_BY_SIDE_BELOW),
                || self.load_page(n + 1, SIDE_BY_SIDE_BELOW),
            );
            // A page that failed side by side (too large to decode next to
            // another, or bad) is decoded again alone, for its own verdict.
            let a = a.map(|(p, _)| p).or_else(|_| alone(n));
            if !each(n, a) {
                return false;
            }
            let b = b.map(|(p, _)| p).or_else(|_| alone(n + 1));
            if !each(n + 1, b) {
                return false;
            }
            n += 2;
        }
        true
    }

    /// The record at a path.
    pub fn find(&self, path: &str) -> Result<CatalogRecord> {
        let none = || Error::NoSuchRecord { path: path.into() };
        let n = match &self.v2 {
            Some(v2) => v2.page_for(path),
            None => self.index.page_for(path),
        }
        .ok_or_else(none)?;
        let page = self.page(n)?;
        let i = page
            .records
            .binary_search_by(|r| r.path.as_str().cmp(path))
            .map_err(|_| none())?;
        Ok(page.records[i].clone())
    }

    /// Records `start..start+count` in path order.
    pub fn list(&self, start: u64, count: u64) -> Result<Vec<CatalogRecord>> {
        let mut out = Vec::new();
        let (mut page, mut skip) = match &self.v2 {
            Some(v2) => match v2.page_of(start) {
                Some(at) => at,
                None => return Ok(out),
            },
            None => (
                (start / legation_format::PAGE_SIZE as u64) as usize,
                (start % legation_format::PAGE_SIZE as u64) as usize,
            ),
        };
        while (out.len() as u64) < count && page < self.index.pages.len() {
            let p = self.page(page)?;
            out.extend(
                p.records
                    .iter()
                    .skip(skip)
                    .take((count - out.len() as u64) as usize)
                    .cloned(),
            );
            skip = 0;
            page += 1;
        }
        Ok(out)
    }

    /// Where a record's stored bytes are: in 1.x its own stream, checked to
    /// have the size its catalog sizes need; in 2.0 a range of its bundle.
    fn locate(&self, rec: &CatalogRecord) -> Result<Span> {
        if rec.encoding == Encoding::Deflate && rec.stored_size > COMPRESS_MAX {
            return Err(Error::RecordMismatch {
                path: rec.path.clone(),
                what: format!(
                    "compressed record of {} bytes exceeds the {COMPRESS_MAX}-byte limit",
                    rec.stored_size
                ),
            });
        }
        if let Some(v2) = &self.v2 {
            return v2.span(&self.archive, &self.key, rec);
        }
        let e = self.archive.entry(&rec.entry)?;
        let padded = crypto::padme(rec.stored_size);
        let expect = crypto::sealed_len(padded);
        if e.size != expect {
            return Err(Error::RecordMismatch {
                path: rec.path.clone(),
                what: format!(
                    "entry {} holds {} bytes, but its catalog sizes need {expect}",
                    rec.entry, e.size
                ),
            });
        }
        Ok(Span {
            data: e.data_offset(),
            key: self.key.stream_key(
                &self.archive.manifest().archive_id,
                StreamId::Record(rec.stream),
            ),
            plain_len: padded,
            start: 0,
            own_stream: true,
        })
    }

    /// A reader of a record's stored bytes (before inflating), which checks
    /// every chunk it reads and, for a stream of the record's own (1.x),
    /// that the padding is zero.
    fn stored_reader<'a>(&'a self, rec: &'a CatalogRecord) -> Result<StoredReader<'a>> {
        let span = self.locate(rec)?;
        let (next, end) = if span.own_stream {
            (0, crypto::chunk_count(span.plain_len))
        } else if rec.stored_size == 0 {
            (0, 0)
        } else {
            (
                span.start / CHUNK_SIZE as u64,
                (span.start + rec.stored_size - 1) / CHUNK_SIZE as u64 + 1,
            )
        };
        Ok(StoredReader {
            u: self,
            rec,
            span,
            next,
            end,
            buf: Vec::new(),
            pos: 0,
        })
    }

    /// Streams a record's bytes to `out`, checking every chunk, the padding,
    /// the size and the BLAKE3 the catalog records. `progress` gets bytes
    /// written so far. On error, what was written must be discarded.
    pub fn copy_record(
        &self,
        rec: &CatalogRecord,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
    ) -> Result<()> {
        let stored = self.stored_reader(rec)?;
        let mut plain;
        let mut inflate = None;
        let src: &mut dyn Read = match rec.encoding {
            Encoding::Identity => {
                plain = stored;
                &mut plain
            }
            Encoding::Deflate => inflate.insert(flate2::read::DeflateDecoder::new(stored)),
        };
        let mut hasher = blake3::Hasher::new();
        let mut total = 0u64;
        let mut buf = vec![0u8; (rec.size.max(1) as usize).min(BATCH_CHUNKS as usize * CHUNK_SIZE)];
        loop {
            let n = match src.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(from_io(e, rec)),
            };
            total += n as u64;
            if total > rec.size {
                return Err(Error::RecordMismatch {
                    path: rec.path.clone(),
                    what: format!(
                        "holds more than the {} bytes the catalog declares",
                        rec.size
                    ),
                });
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(|e| Error::Source {
                what: format!("writing {}", rec.path),
                source_name: "output".into(),
                source: e,
            })?;
            progress(total);
        }
        if let Some(d) = inflate.as_ref().filter(|d| d.total_in() != rec.stored_size) {
            return Err(Error::RecordMismatch {
                path: rec.path.clone(),
                what: format!(
                    "{} bytes follow the end of the compressed data",
                    rec.stored_size.saturating_sub(d.total_in())
                ),
            });
        }
        if total != rec.size {
            return Err(Error::RecordMismatch {
                path: rec.path.clone(),
                what: format!("holds {total} bytes, the catalog declares {}", rec.size),
            });
        }
        if hasher.finalize().as_bytes() != &rec.blake3 {
            return Err(Error::RecordMismatch {
                path: rec.path.clone(),
                what: "BLAKE3 of the bytes differs from the catalog".into(),
            });
        }
        Ok(())
    }

    /// Reads a whole record of at most `limit` bytes, fully checked.
    pub fn read_record(&self, rec: &CatalogRecord, limit: u64) -> Result<Vec<u8>> {
        if rec.size > limit {
            return Err(Error::TooLarge {
                entry: rec.path.clone(),
                size: rec.size,
                limit,
            });
        }
        let mut v = Vec::with_capacity(rec.size as usize);
        self.copy_record(rec, &mut v, &mut |_| {})?;
        Ok(v)
    }

    /// Reads `len` bytes of a record from `offset` (fewer at its end).
    /// Reads only the chunks that hold them; each chunk's tag is checked,
    /// but the whole-record hash is not (use [`Unlocked::copy_record`]).
    pub fn read_range(&self, rec: &CatalogRecord, offset: u64, len: u64) -> Result<Vec<u8>> {
        let end = offset.saturating_add(len).min(rec.size);
        if offset >= end {
            return Ok(Vec::new());
        }
        if rec.encoding == Encoding::Deflate {
            // Compressed records are at most 16 MiB stored: inflate from the start.
            let mut out = Vec::with_capacity((end - offset) as usize);
            let mut d = flate2::read::DeflateDecoder::new(self.stored_reader(rec)?);
            std::io::copy(&mut (&mut d).take(offset), &mut std::io::sink())
                .map_err(|e| from_io(e, rec))?;
            (&mut d)
                .take(end - offset)
                .read_to_end(&mut out)
                .map_err(|e| from_io(e, rec))?;
            return Ok(out);
        }
        let span = self.locate(rec)?;
        let chunks = crypto::chunk_count(span.plain_len);
        let (from, to) = (span.start + offset, span.start + end);
        let first = from / CHUNK_SIZE as u64;
        let last = (to - 1) / CHUNK_SIZE as u64;
        let mut sealed = self.read_sealed(rec, &span, first, last + 1)?;
        let n =
            decrypt_batch(&span.key, &mut sealed, first, chunks).map_err(|chunk| Error::Chunk {
                what: rec.path.clone(),
                entry: rec.entry.clone(),
                chunk,
            })?;
        sealed.truncate(n);
        let skip = (from - first * CHUNK_SIZE as u64) as usize;
        Ok(sealed[skip..skip + (end - offset) as usize].to_vec())
    }

    /// The sealed chunks `from..to` of a span's stream.
    fn read_sealed(&self, rec: &CatalogRecord, span: &Span, from: u64, to: u64) -> Result<Vec<u8>> {
        let chunks = crypto::chunk_count(span.plain_len);
        let start = from * SEALED_CHUNK as u64;
        let end = if to == chunks {
            crypto::sealed_len(span.plain_len)
        } else {
            to * SEALED_CHUNK as u64
        };
        let mut buf = vec![0u8; (end - start) as usize];
        self.archive
            .read_at(span.data + start, &mut buf, &rec.entry)?;
        Ok(buf)
    }
}

/// Where a record's stored bytes lie: `start..start + stored_size` of the
/// plaintext of the sealed stream whose first byte is at `data`.
pub(crate) struct Span {
    /// File offset of the stream's first sealed byte.
    pub(crate) data: u64,
    /// The stream's key.
    pub(crate) key: StreamKey,
    /// The stream's plaintext length (padding included).
    pub(crate) plain_len: u64,
    /// Where the record's stored bytes start in that plaintext.
    pub(crate) start: u64,
    /// Whether the stream is the record's own (1.x), so that the bytes
    /// after the record are its padding, read and checked with it.
    pub(crate) own_stream: bool,
}

/// Decrypts consecutive sealed chunks in place (on two threads when there
/// are several) and moves the plaintext to the front; returns its length
/// or the index of the first chunk that fails.
pub fn decrypt_batch(
    key: &StreamKey,
    sealed: &mut [u8],
    first: u64,
    total: u64,
) -> std::result::Result<usize, u64> {
    let n = sealed.len().div_ceil(SEALED_CHUNK) as u64;
    let open = |buf: &mut [u8], from: u64| -> std::result::Result<(), u64> {
        for (i, c) in buf.chunks_mut(SEALED_CHUNK).enumerate() {
            let idx = from + i as u64;
            key.open_chunk_slice(idx, idx + 1 == total, c)
                .map_err(|_| idx)?;
        }
        Ok(())
    };
    if n >= 4 {
        let half = (n / 2) as usize * SEALED_CHUNK;
        let (a, b) = sealed.split_at_mut(half);
        let (ra, rb) = join(|| open(a, first), || open(b, first + n / 2));
        ra?;
        rb?;
    } else {
        open(sealed, first)?;
    }
    let mut w = 0;
    for i in 0..n as usize {
        let start = i * SEALED_CHUNK;
        let len = (sealed.len() - start).min(SEALED_CHUNK) - TAG_LEN;
        sealed.copy_within(start..start + len, w);
        w += len;
    }
    Ok(w)
}

fn from_io(e: std::io::Error, rec: &CatalogRecord) -> Error {
    match e.into_inner().map(|inner| inner.downcast::<Error>()) {
        Some(Ok(err)) => *err,
        Some(Err(other)) => Error::RecordMismatch {
            path: rec.path.clone(),
            what: format!("cannot be decoded: {other}"),
        },
        None => Error::RecordMismatch {
            path: rec.path.clone(),
            what: "cannot be read".into(),
        },
    }
}

/// Sequential reader of a record's stored bytes: the chunks `next..end`
/// of its stream, cut to the record's range.
struct StoredReader<'a> {
    u: &'a Unlocked,
    rec: &'a CatalogRecord,
    span: Span,
    next: u64,
    end: u64,
    buf: Vec<u8>,
    pos: usize,
}

impl StoredReader<'_> {
    fn fill(&mut self) -> Result<()> {
        let to = (self.next + BATCH_CHUNKS).min(self.end);
        let mut sealed = self.u.read_sealed(self.rec, &self.span, self.next, to)?;
        let chunks = crypto::chunk_count(self.span.plain_len);
        let n = decrypt_batch(&self.span.key, &mut sealed, self.next, chunks).map_err(|chunk| {
            Error::Chunk {
                what: self.rec.path.clone(),
                entry: self.rec.entry.clone(),
                chunk,
            }
        })?;
        sealed.truncate(n);
        // The plaintext of chunks next..to is at `at` in the stream; keep
        // what lies within the record's range.
        let at = self.next * CHUNK_SIZE as u64;
        let (from, until) = (self.span.start, self.span.start + self.rec.stored_size);
        let skip = from.saturating_sub(at).min(n as u64) as usize;
        let keep = until.saturating_sub(at).min(n as u64) as usize;
        // In a stream of the record's own, the bytes past it are padding
        // and must be zero.
        if self.span.own_stream && sealed[keep..].iter().any(|&b| b != 0) {
            return Err(Error::RecordMismatch {
                path: self.rec.path.clone(),
                what: "padding bytes are not zero".into(),
            });
        }
        sealed.truncate(keep);
        sealed.drain(..skip);
        self.buf = sealed;
        self.pos = 0;
        self.next = to;
        Ok(())
    }
}

impl Read for StoredReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.buf.len() {
            if self.next == self.end {
                return Ok(0);
            }
            self.fill().map_err(std::io::Error::other)?;
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_debug_without_secrets() {
        let p = Key::Passphrase(Zeroizing::new("correct horse".into()));
        let i = Key::Identity(Identity::from(Zeroizing::new([0x5a; 32])));
        let shown = format!("{p:?} {i:#?}");
        assert!(
            !shown.contains("horse") && !shown.contains("5a5a"),
            "{shown}"
        );
        assert!(shown.contains("Passphrase(<redacted>)"), "{shown}");
        let q = Key::PqIdentity(legation_format::pq::PqIdentity::from_bytes([0x5a; 32]));
        let shown = format!("{q:?}");
        assert!(
            shown.contains("<redacted>") && !shown.contains("5a5a"),
            "{shown}"
        );
    }

    /// A 2.1 archive of one record with an X25519 slot and a post-quantum
    /// slot (SPEC §7.11), or the post-quantum slot alone.
    fn pq_archive(with_x25519: bool) -> crate::Archive {
        use legation_format::pq::PqIdentity;
        use legation_format::v2::writer::ArchiveWriter;
        use legation_format::writer::{RecordMeta, RecordSource, WriterOptions};
        use rand_chacha::rand_core::SeedableRng;
        let opts = WriterOptions {
            created: 1_767_225_600,
            issuer: None,
            recipients: if with_x25519 {
                vec![Identity::from_bytes([1; 32]).public()]
            } else {
                vec![]
            },
            passphrases: vec![],
            embed_spec: false,
            viewer: None,
        };
        let pq = [PqIdentity::from_bytes([2; 32]).public()];
        let rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let out = std::io::Cursor::new(Vec::new());
        let mut w = ArchiveWriter::new_with_slots(out, opts, rng, None, &[], &pq).unwrap();
        let meta = RecordMeta {
            path: "register.txt".into(),
            media_type: "text/plain".into(),
            ..Default::default()
        };
        w.add_record(meta, RecordSource::Bytes(b"one record\n"))
            .unwrap();
        let bytes = w.finish().unwrap().into_inner();
        crate::Archive::open(crate::source::MemSource::new(bytes, "pq.lgn")).unwrap()
    }

    #[test]
    fn post_quantum_identities_open_their_slot_only() {
        use legation_format::pq::PqIdentity;
        let a = pq_archive(true);
        let kinds: Vec<_> = a
            .manifest()
            .key_slots
            .iter()
            .map(std::mem::discriminant)
            .collect();
        assert_eq!(kinds.len(), 2);
        assert!(matches!(
            a.manifest().key_slots[1],
            crypto::KeySlot::MlKem768X25519(_)
        ));
        let read = |k: Key| {
            let u = a.unlock(&[k])?;
            let r = u.find("register.txt")?;
            u.read_record(&r, 1 << 20)
        };
        assert_eq!(
            read(Key::PqIdentity(PqIdentity::from_bytes([2; 32]))).unwrap(),
            b"one record\n"
        );
        assert_eq!(
            read(Key::Identity(Identity::from_bytes([1; 32]))).unwrap(),
            b"one record\n"
        );
        let e = read(Key::PqIdentity(PqIdentity::from_bytes([3; 32]))).unwrap_err();
        assert!(matches!(e, Error::NoKey { slots: 2 }), "{e}");
        // The post-quantum slot alone: an X25519 identity (all a 2.0
        // reader could hold) opens no slot, and says so.
        let alone = pq_archive(false);
        let e = alone
            .unlock(&[Key::Identity(Identity::from_bytes([2; 32]))])
            .err()
            .unwrap();
        assert!(matches!(e, Error::NoKey { slots: 1 }), "{e}");
    }
}
