//! The archive writer: records in, one canonical archive out.
//!
//! Entries are written in this order: `mimetype`, `SPEC.md`, then records
//! with a catalog page after every [`crate::PAGE_SIZE`] of them, then the
//! catalog index, `manifest.json`, `manifest.sig`, the central directory
//! and the end records. Memory stays bounded: a record is streamed through
//! a batch buffer, and only one catalog page is held at a time.

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Seek, SeekFrom, Write};

use zeroize::Zeroizing;

use crate::catalog::{self, CatalogRecord, Encoding, Index, Page, PageRef};
use crate::container::{self, Entry};
use crate::crypto::{self, Argon2Params, DataKey, StreamId, StreamKey, CHUNK_SIZE, SEALED_CHUNK};
use crate::keys::IssuerKey;
use crate::manifest::{self, CatalogRef, DecoderRef, Issuer, Manifest, ManifestEntry};
use crate::{Error, Result};

/// Records up to this size are read whole and DEFLATE is tried on them.
pub const COMPRESS_MAX: u64 = 16 << 20;
/// Chunks sealed per batch.
const BATCH_CHUNKS: usize = 32;

/// Who can open the archive and who signs it.
pub struct WriterOptions {
    /// Creation time, seconds since the Unix epoch (the caller's clock, so
    /// the crate needs none and test vectors are reproducible).
    pub created: i64,
    /// The issuer's signing key; `None` writes an unsigned archive.
    pub issuer: Option<IssuerKey>,
    /// X25519 public keys of recipients.
    pub recipients: Vec<[u8; 32]>,
    /// Passphrases, each with its Argon2id parameters.
    pub passphrases: Vec<(Zeroizing<String>, Argon2Params)>,
    /// Whether to store a copy of SPEC.md (always, outside test vectors).
    pub embed_spec: bool,
    /// The one-file browser viewer to store as [`crate::VIEWER_ENTRY`]
    /// (format 1.1), so that the archive carries a way to read itself.
    pub viewer: Option<Vec<u8>>,
}

/// What describes a record apart from its bytes.
#[derive(Debug, Clone, Default)]
pub struct RecordMeta {
    /// Path relative to the packed folder.
    pub path: String,
    /// Title; empty means the last path segment.
    pub title: String,
    /// Media type.
    pub media_type: String,
    /// Modification time, seconds since the Unix epoch.
    pub modified: Option<i64>,
    /// Decoder entry (from [`ArchiveWriter::add_decoder`]), when one is assigned.
    pub decoder: Option<String>,
    /// The outcome of rendering at pack time.
    pub render: Option<catalog::Render>,
    /// Dublin Core metadata.
    pub metadata: BTreeMap<String, Vec<String>>,
}

/// Where a record's bytes come from.
pub enum RecordSource<'a> {
    /// Bytes in memory.
    Bytes(&'a [u8]),
    /// A reader that must yield exactly `size` bytes.
    Reader {
        /// The reader.
        reader: &'a mut dyn Read,
        /// Its expected length.
        size: u64,
    },
    /// Bytes in memory with their hash and compression computed already
    /// (on another thread, say): the writer stores the same bytes as for
    /// [`RecordSource::Bytes`].
    Prepared(&'a Prepared),
}

/// A record's bytes with what a writer of either format computes from
/// them before storing them (when it is at most [`COMPRESS_MAX`] bytes):
/// their BLAKE3 and their DEFLATE when the writer chooses to store it
/// (SPEC §9). Made by [`Prepared::new`] only, so the two always belong to
/// the bytes.
#[derive(Debug)]
pub struct Prepared {
    bytes: Vec<u8>,
    /// Whether the media type it was computed for counts as compressed
    /// already (all that the choice depends on), the BLAKE3, the DEFLATE.
    computed: Option<(bool, [u8; 32], Option<Vec<u8>>)>,
}

impl Prepared {
    /// Computes what a writer would for a record of `media_type`.
    pub fn new(bytes: Vec<u8>, media_type: &str) -> Prepared {
        let computed = (bytes.len() as u64 <= COMPRESS_MAX).then(|| {
            let (hash, deflated) = hash_and_deflate(&bytes, media_type);
            (crate::media::is_precompressed(media_type), hash, deflated)
        });
        Prepared { bytes, computed }
    }

    /// The record's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// The BLAKE3 of a record of at most [`COMPRESS_MAX`] bytes and its
/// DEFLATE when it is to be stored so (SPEC §9).
fn hash_and_deflate(bytes: &[u8], media_type: &str) -> ([u8; 32], Option<Vec<u8>>) {
    let hash = *blake3::hash(bytes).as_bytes();
    let deflated = (!crate::media::is_precompressed(media_type))
        .then(|| try_deflate(bytes))
        .flatten();
    (hash, deflated)
}

/// [`hash_and_deflate`] of `bytes`, taken from `ready` when it was
/// computed for a media type that counts as compressed already exactly
/// when this one does.
pub(crate) fn hashed<'b>(
    bytes: &[u8],
    ready: Option<&'b Prepared>,
    media_type: &str,
) -> ([u8; 32], Option<std::borrow::Cow<'b, [u8]>>) {
    match ready.and_then(|p| p.computed.as_ref()) {
        Some((pre, hash, deflated)) if *pre == crate::media::is_precompressed(media_type) => {
            (*hash, deflated.as_deref().map(std::borrow::Cow::Borrowed))
        }
        _ => {
            let (hash, deflated) = hash_and_deflate(bytes, media_type);
            (hash, deflated.map(std::borrow::Cow::Owned))
        }
    }
}

/// What both format versions' writers draw before writing a byte: the
/// archive id, the data key and the key slots, in that order from the
/// writer's random source (so that seeded writers, such as the test
/// vectors', stay byte for byte the same), after refusing options no
/// reader could use.
pub(crate) struct Keys {
    pub(crate) archive_id: [u8; 16],
    pub(crate) data_key: DataKey,
    pub(crate) key_slots: Vec<crypto::KeySlot>,
}

impl Keys {
    pub(crate) fn draw(
        opts: &WriterOptions,
        rng: &mut impl rand_core::CryptoRngCore,
    ) -> Result<Keys> {
        Self::draw_for(opts, rng, None, &[], &[])
    }

    /// As [`Keys::draw`], for the series `archive_id` when given (a later
    /// generation of it); else the archive id is drawn too. `quorum`
    /// policies (format 2.0 only, SPEC §7.9) give quorum slots after the
    /// others; `pq` recipients (format 2.1, SPEC §7.11) give
    /// `mlkem768x25519` slots after the X25519 ones.
    pub(crate) fn draw_for(
        opts: &WriterOptions,
        rng: &mut impl rand_core::CryptoRngCore,
        archive_id: Option<[u8; 16]>,
        quorum: &[crate::quorum::Policy],
        pq: &[crate::pq::PqRecipient],
    ) -> Result<Keys> {
        if opts.recipients.is_empty()
            && opts.passphrases.is_empty()
            && quorum.is_empty()
            && pq.is_empty()
        {
            return Err(Error::invalid(
                "archive",
                "no recipient and no passphrase: nobody could open it",
            ));
        }
        if quorum.len() > crate::quorum::bounds::MAX_SLOTS {
            return Err(Error::invalid(
                "archive",
                format!(
                    "more than {} quorum policies",
                    crate::quorum::bounds::MAX_SLOTS
                ),
            ));
        }
        let argon2id_runs = opts.passphrases.len()
            + quorum
                .iter()
                .map(crate::quorum::Policy::passphrases)
                .sum::<usize>();
        if argon2id_runs > crypto::kdf_bounds::MAX_PASSPHRASE_SLOTS {
            return Err(Error::invalid(
                "archive",
                format!(
                    "more than {} passphrases (quorum holders' too); readers try no more",
                    crypto::kdf_bounds::MAX_PASSPHRASE_SLOTS
                ),
            ));
        }
        if let Some(v) = &opts.viewer {
            if v.len() > crate::VIEWER_MAX {
                return Err(Error::invalid(
                    crate::VIEWER_ENTRY,
                    format!(
                        "the viewer is {} bytes, over the {} byte limit",
                        v.len(),
                        crate::VIEWER_MAX
                    ),
                ));
            }
        }
        let archive_id = archive_id.unwrap_or_else(|| {
            let mut id = [0u8; 16];
            rng.fill_bytes(&mut id);
            id
        });
        let data_key = DataKey::generate(rng);
        let mut key_slots = Vec::new();
        for r in &opts.recipients {
            key_slots.push(crypto::x25519_slot(&data_key, &archive_id, r, rng)?);
        }
        for r in pq {
            key_slots.push(crate::pq::pq_slot(&data_key, &archive_id, r, rng));
        }
        for (p, params) in &opts.passphrases {
            key_slots.push(crypto::passphrase_slot(
                &data_key,
                &archive_id,
                p,
                *params,
                rng,
            )?);
        }
        for policy in quorum {
            let slot = crate::quorum::quorum_slot(&data_key, &archive_id, policy, rng)?;
            key_slots.push(crypto::KeySlot::Quorum(Box::new(slot)));
        }
        Ok(Keys {
            archive_id,
            data_key,
            key_slots,
        })
    }
}

/// Writes one archive. Records must be added in strictly increasing path
/// order (bytewise), as catalog pages are cut while writing.
pub struct ArchiveWriter<W: Write + Seek, R: rand_core::CryptoRngCore> {
    out: W,
    rng: R,
    offset: u64,
    archive_id: [u8; 16],
    created: i64,
    data_key: DataKey,
    issuer: Option<IssuerKey>,
    key_slots: Vec<crypto::KeySlot>,
    entries: Vec<ManifestEntry>,
    offsets: Vec<u64>,
    record_names: HashSet<u64>,
    decoders: Vec<DecoderRef>,
    page: Vec<CatalogRecord>,
    index: Index,
    last_path: Option<String>,
    sealed: Vec<u8>,
    /// Parities of the catalog's stored pages and index (§10.8).
    parity: crate::recovery::CatalogParity,
    /// The format version the manifest will say.
    version: &'static str,
}

impl<W: Write + Seek + Send, R: rand_core::CryptoRngCore> ArchiveWriter<W, R> {
    /// Starts an archive: draws the data key, makes the key slots and
    /// writes the plain entries that come first.
    pub fn new(out: W, opts: WriterOptions, mut rng: R) -> Result<Self> {
        // 1.x's manifest.sig holds one Ed25519 signature: signing with a
        // hybrid key's half alone would not meet the key's pin.
        if opts.issuer.as_ref().is_some_and(IssuerKey::is_hybrid) {
            return Err(Error::invalid(
                crate::SIGNATURE_ENTRY,
                "a hybrid issuer key (Ed25519 + ML-DSA-65) signs format 2.x archives only \
                 (SPEC §27.4): pack with --format 2.0",
            ));
        }
        let Keys {
            archive_id,
            data_key,
            key_slots,
        } = Keys::draw(&opts, &mut rng)?;
        let mut w = ArchiveWriter {
            out,
            rng,
            offset: 0,
            archive_id,
            created: opts.created,
            data_key,
            issuer: opts.issuer,
            key_slots,
            entries: Vec::new(),
            offsets: Vec::new(),
            record_names: HashSet::new(),
            decoders: Vec::new(),
            page: Vec::new(),
            index: Index {
                records: 0,
                pages: Vec::new(),
                empty_dirs: Vec::new(),
            },
            last_path: None,
            sealed: Vec::with_capacity(BATCH_CHUNKS * SEALED_CHUNK),
            parity: Default::default(),
            version: crate::VERSION_WITHOUT_VECTORS,
        };
        w.write_plain_entry(crate::MIMETYPE_ENTRY, crate::MEDIA_TYPE.as_bytes())?;
        if opts.embed_spec {
            w.write_plain_entry(crate::SPEC_ENTRY, crate::SPEC_MD.as_bytes())?;
        }
        if let Some(v) = &opts.viewer {
            w.write_plain_entry(crate::VIEWER_ENTRY, v)?;
        }
        Ok(w)
    }

    /// The archive id.
    pub fn archive_id(&self) -> [u8; 16] {
        self.archive_id
    }

    fn io(e: std::io::Error) -> Error {
        Error::io("writing the archive", e)
    }

    fn write_plain_entry(&mut self, name: &str, data: &[u8]) -> Result<()> {
        let crc = crc32fast::hash(data);
        self.start_entry(name, data.len() as u64, crc)?;
        self.out.write_all(data).map_err(Self::io)?;
        self.end_entry(name, data.len() as u64, crc, *blake3::hash(data).as_bytes());
        Ok(())
    }

    fn start_entry(&mut self, name: &str, size: u64, crc: u32) -> Result<u64> {
        container::check_name(name)?;
        let h = container::local_header(name, size, crc);
        let at = self.offset;
        self.out.write_all(&h).map_err(Self::io)?;
        self.offsets.push(at);
        self.offset += h.len() as u64;
        Ok(at)
    }

    fn end_entry(&mut self, name: &str, size: u64, crc32: u32, blake3: [u8; 32]) {
        self.offset += size;
        self.entries.push(ManifestEntry {
            name: name.to_owned(),
            size,
            crc32,
            blake3,
        });
    }

    /// Stores a decoder module (already metered by the caller) as a plain
    /// entry and lists it in the manifest; returns its entry name. Adding
    /// the same module twice stores it once. `uses_vectors` says whether
    /// the module uses WebAssembly's vector instructions (the caller's
    /// WebAssembly parser knows; `legation_meter::uses_vectors`): such a
    /// module makes the archive a format 1.3 archive, which readers of
    /// 1.0 to 1.2 cannot render (SPEC §5.3).
    pub fn add_decoder(
        &mut self,
        module: &[u8],
        mut desc: DecoderRef,
        uses_vectors: bool,
    ) -> Result<String> {
        if uses_vectors {
            self.version = crate::FORMAT_VERSION;
        }
        let hash = *blake3::hash(module).as_bytes();
        let entry = manifest::decoder_entry(&hash);
        if let Some(e) = self.entries.iter().find(|e| e.name == entry) {
            if e.blake3 != hash {
                return Err(Error::invalid(
                    &entry,
                    "two different decoder modules share this name (hash prefix)",
                ));
            }
            return Ok(entry);
        }
        if self.last_path.is_some() {
            return Err(Error::invalid(
                &entry,
                "decoders are added before the first record",
            ));
        }
        desc.entry = entry.clone();
        self.write_plain_entry(&entry, module)?;
        self.decoders.push(desc);
        Ok(entry)
    }

    /// Records an empty folder (path relative to the packed folder).
    pub fn add_empty_dir(&mut self, path: &str) -> Result<()> {
        catalog::check_record_path(path).map_err(|what| Error::Unsupported {
            path: path.into(),
            what,
        })?;
        self.index.empty_dirs.push(path.to_owned());
        Ok(())
    }

    /// Encrypts and writes one record.
    pub fn add_record(&mut self, meta: RecordMeta, source: RecordSource<'_>) -> Result<()> {
        let path = meta.path.clone();
        catalog::check_record_path(&path).map_err(|what| Error::Unsupported {
            path: path.clone(),
            what,
        })?;
        if self
            .last_path
            .as_deref()
            .is_some_and(|l| l >= path.as_str())
        {
            return Err(Error::Unsupported {
                path,
                what: "records must be added in strictly increasing path order".into(),
            });
        }
        let mut nonce = [0u8; 16];
        self.rng.fill_bytes(&mut nonce);
        let entry = loop {
            let n = self.rng.next_u64();
            if self.record_names.insert(n) {
                break format!("{}{n:016x}", crate::RECORD_PREFIX);
            }
        };
        let key = self
            .data_key
            .stream_key(&self.archive_id, StreamId::Record(nonce));
        let size = match &source {
            RecordSource::Bytes(b) => b.len() as u64,
            RecordSource::Prepared(p) => p.bytes.len() as u64,
            RecordSource::Reader { size, .. } => *size,
        };
        let (hash, encoding, stored_size) = if size <= COMPRESS_MAX {
            let owned;
            let mut ready = None;
            let bytes: &[u8] = match source {
                RecordSource::Bytes(b) => b,
                RecordSource::Prepared(p) => {
                    ready = Some(p);
                    &p.bytes
                }
                RecordSource::Reader { reader, size } => {
                    owned = read_exact_size(reader, size, &path)?;
                    &owned
                }
            };
            let (hash, deflated) = hashed(bytes, ready, &meta.media_type);
            let (encoding, stored) = match &deflated {
                Some(d) => (Encoding::Deflate, &d[..]),
                None => (Encoding::Identity, bytes),
            };
            self.write_stream(
                &entry,
                &key,
                &mut &stored[..],
                stored.len() as u64,
                None,
                &path,
            )?;
            (hash, encoding, stored.len() as u64)
        } else {
            let mut hasher = blake3::Hasher::new();
            match source {
                RecordSource::Reader { reader, size } => {
                    self.write_stream(&entry, &key, reader, size, Some(&mut hasher), &path)?
                }
                RecordSource::Bytes(b) => {
                    self.write_stream(&entry, &key, &mut &b[..], size, Some(&mut hasher), &path)?
                }
                RecordSource::Prepared(p) => self.write_stream(
                    &entry,
                    &key,
                    &mut &p.bytes[..],
                    size,
                    Some(&mut hasher),
                    &path,
                )?,
            }
            (*hasher.finalize().as_bytes(), Encoding::Identity, size)
        };
        let title = if meta.title.is_empty() {
            path.rsplit('/').next().unwrap_or(&path).to_owned()
        } else {
            meta.title
        };
        self.page.push(CatalogRecord {
            path: path.clone(),
            title,
            media_type: meta.media_type,
            size,
            blake3: hash,
            // A time RFC 3339's four-digit years cannot hold is dropped.
            modified: meta
                .modified
                .map(crate::time::format_rfc3339)
                .filter(|t| crate::time::parse_rfc3339(t).is_some()),
            decoder: meta.decoder,
            render: meta.render,
            metadata: meta.metadata,
            entry,
            stream: nonce,
            encoding,
            stored_size,
            offset: 0,
        });
        self.last_path = Some(path);
        if self.page.len() == crate::PAGE_SIZE {
            self.flush_page()?;
        }
        Ok(())
    }

    /// Seals `len` bytes from `src`, padded per Padmé, as entry `name`.
    /// `plain_hasher` also hashes the unpadded bytes as they pass.
    fn write_stream(
        &mut self,
        name: &str,
        key: &StreamKey,
        src: &mut dyn Read,
        len: u64,
        plain_hasher: Option<&mut blake3::Hasher>,
        path: &str,
    ) -> Result<()> {
        let padded = crypto::padme(len);
        let size = crypto::sealed_len(padded);
        let header_at = self.start_entry(name, size, 0)?;
        let chunks = crypto::chunk_count(padded);
        let mut job = SealJob {
            key,
            src,
            len,
            padded,
            chunks,
            next: 0,
            plain_hasher,
            path,
        };
        let (crc, hash) = if chunks >= PIPELINE_MIN_CHUNKS && cfg!(not(target_arch = "wasm32")) {
            pipeline(&mut job, &mut self.out)?
        } else {
            let mut crc = crc32fast::Hasher::new();
            let mut hasher = blake3::Hasher::new();
            let mut sealed = std::mem::take(&mut self.sealed);
            while job.next < chunks {
                job.fill(&mut sealed)?;
                hasher.update(&sealed);
                crc.update(&sealed);
                self.out.write_all(&sealed).map_err(Self::io)?;
            }
            self.sealed = sealed;
            (crc.finalize(), *hasher.finalize().as_bytes())
        };
        let mut probe = [0u8; 1];
        if job
            .src
            .read(&mut probe)
            .map_err(|e| Error::io(format!("reading {path}"), e))?
            != 0
        {
            return Err(Error::Changed {
                path: path.into(),
                what: format!("longer than the {len} bytes it had when packing began"),
            });
        }
        self.out
            .seek(SeekFrom::Start(header_at + 14))
            .map_err(Self::io)?;
        self.out.write_all(&crc.to_le_bytes()).map_err(Self::io)?;
        self.out.seek(SeekFrom::End(0)).map_err(Self::io)?;
        self.end_entry(name, size, crc, hash);
        Ok(())
    }

    /// Writes a catalog page or the index, and adds it to the parities.
    fn write_sealed_document(&mut self, name: &str, stream: StreamId, json: &[u8]) -> Result<()> {
        let key = self.data_key.stream_key(&self.archive_id, stream);
        let deflated = catalog::deflate(json);
        let sealed = crypto::seal_stream(&key, &deflated);
        self.parity.add(&sealed);
        self.write_plain_entry(name, &sealed)
    }

    fn flush_page(&mut self) -> Result<()> {
        if self.page.is_empty() {
            return Ok(());
        }
        let number = self.index.pages.len() as u64;
        let records = std::mem::take(&mut self.page);
        let pref = PageRef {
            entry: crate::catalog_page_entry(number),
            count: records.len() as u64,
            first: records[0].path.clone(),
            last: records[records.len() - 1].path.clone(),
        };
        let page = Page {
            page: number,
            records,
        };
        let json = serde_json::to_vec(&page).unwrap(); // plain data
        if json.len() > catalog::MAX_PAGE_BYTES {
            return Err(Error::invalid(
                &pref.entry,
                format!(
                    "catalog page of {} bytes exceeds the {}-byte limit (metadata too large)",
                    json.len(),
                    catalog::MAX_PAGE_BYTES
                ),
            ));
        }
        let items = catalog::count_items(&json);
        if items > catalog::MAX_PAGE_ITEMS {
            return Err(Error::invalid(
                &pref.entry,
                format!(
                    "catalog page of {items} JSON items exceeds the {}-item limit (too many metadata values)",
                    catalog::MAX_PAGE_ITEMS
                ),
            ));
        }
        self.write_sealed_document(&pref.entry, StreamId::CatalogPage(number), &json)?;
        self.index.records += pref.count;
        self.index.pages.push(pref);
        Ok(())
    }

    /// Writes the catalog, manifest, signature and central directory, and
    /// returns the output (flushed, positioned at its end).
    pub fn finish(mut self) -> Result<W> {
        self.flush_page()?;
        self.index.empty_dirs.sort();
        let json = serde_json::to_vec(&self.index).unwrap(); // plain data
        if json.len() > catalog::MAX_INDEX_BYTES
            || catalog::count_items(&json) > catalog::MAX_INDEX_ITEMS
        {
            return Err(Error::invalid(
                crate::CATALOG_INDEX_ENTRY,
                format!(
                    "catalog index of {} bytes and {} JSON items exceeds the limits ({} bytes, {} items)",
                    json.len(),
                    catalog::count_items(&json),
                    catalog::MAX_INDEX_BYTES,
                    catalog::MAX_INDEX_ITEMS
                ),
            ));
        }
        self.write_sealed_document(crate::CATALOG_INDEX_ENTRY, StreamId::CatalogIndex, &json)?;
        for (s, p) in std::mem::take(&mut self.parity).finish().iter().enumerate() {
            self.write_plain_entry(&crate::recovery::parity_entry(s as u64), p)?;
        }
        let manifest = Manifest {
            format: "legation".into(),
            version: self.version.into(),
            archive_id: self.archive_id,
            created: crate::time::format_rfc3339(self.created),
            issuer: self.issuer.as_ref().map(|k| Issuer {
                algorithm: "ed25519".into(),
                public_key: k.public(),
            }),
            key_commitment: self.data_key.commitment(&self.archive_id),
            key_slots: std::mem::take(&mut self.key_slots),
            chunk_size: CHUNK_SIZE as u64,
            decoders: std::mem::take(&mut self.decoders),
            catalog: CatalogRef {
                index: crate::CATALOG_INDEX_ENTRY.into(),
                pages: self.index.pages.len() as u64,
            },
            entries: std::mem::take(&mut self.entries),
        };
        let bytes = manifest.to_bytes();
        self.entries = manifest.entries;
        self.write_plain_entry(crate::MANIFEST_ENTRY, &bytes)?;
        if let Some(k) = &self.issuer {
            let sig = manifest::format_signature(&crypto::sign(k.secret(), &bytes));
            self.write_plain_entry(crate::SIGNATURE_ENTRY, &sig)?;
        }
        let cd_offset = self.offset;
        let mut cd = std::io::BufWriter::with_capacity(1 << 20, &mut self.out);
        let mut cd_size = 0u64;
        for (e, &offset) in self.entries.iter().zip(&self.offsets) {
            let h = container::central_header(&Entry {
                name: e.name.clone(),
                size: e.size,
                crc32: e.crc32,
                offset,
            });
            cd.write_all(&h).map_err(Self::io)?;
            cd_size += h.len() as u64;
        }
        cd.write_all(&container::end_records(
            self.entries.len() as u64,
            cd_offset,
            cd_size,
        ))
        .map_err(Self::io)?;
        cd.flush().map_err(Self::io)?;
        drop(cd);
        self.out.flush().map_err(Self::io)?;
        Ok(self.out)
    }
}

/// Streams at or above this many chunks are sealed on one thread and
/// hashed and written on another; smaller ones are not worth a thread.
const PIPELINE_MIN_CHUNKS: u64 = 2 * BATCH_CHUNKS as u64;

/// The state of sealing one stream, batch by batch.
struct SealJob<'a, 'b> {
    key: &'a StreamKey,
    src: &'a mut dyn Read,
    /// Bytes of content (the rest of `padded` is zero padding).
    len: u64,
    padded: u64,
    chunks: u64,
    /// Next chunk to seal.
    next: u64,
    plain_hasher: Option<&'b mut blake3::Hasher>,
    path: &'a str,
}

impl SealJob<'_, '_> {
    /// Reads, hashes and seals the next batch of chunks into `out`, each
    /// chunk read straight into its place so it is sealed while in cache.
    fn fill(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let last = (self.next + BATCH_CHUNKS as u64).min(self.chunks);
        let start = self.next * CHUNK_SIZE as u64;
        let end = (last * CHUNK_SIZE as u64).min(self.padded);
        out.resize(
            (end - start) as usize + (last - self.next) as usize * crypto::TAG_LEN,
            0,
        );
        let mut at = 0;
        for index in self.next..last {
            let from = index * CHUNK_SIZE as u64;
            let to = (from + CHUNK_SIZE as u64).min(self.padded);
            let n = (to - from) as usize;
            let data = (self.len.saturating_sub(from) as usize).min(n);
            let chunk = &mut out[at..at + n];
            read_full(self.src, &mut chunk[..data], self.path)?;
            chunk[data..].fill(0);
            if let Some(h) = self.plain_hasher.as_deref_mut() {
                h.update(&chunk[..data]);
            }
            let tag = self
                .key
                .seal_detached(index, index + 1 == self.chunks, chunk);
            out[at + n..at + n + crypto::TAG_LEN].copy_from_slice(&tag);
            at += n + crypto::TAG_LEN;
        }
        self.next = last;
        Ok(())
    }
}

/// Seals on this thread while another hashes, checksums and writes the
/// sealed batches, with three batch buffers going round.
fn pipeline<W: Write + Send>(job: &mut SealJob<'_, '_>, out: &mut W) -> Result<(u32, [u8; 32])> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use std::sync::mpsc::sync_channel;
        let (full_tx, full_rx) = sync_channel::<Vec<u8>>(2);
        let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(3);
        for _ in 0..3 {
            empty_tx
                .send(Vec::with_capacity(BATCH_CHUNKS * SEALED_CHUNK))
                .unwrap(); // receiver alive, room for 3
        }
        std::thread::scope(|s| {
            let writer = s.spawn(move || -> std::io::Result<(u32, [u8; 32])> {
                let mut crc = crc32fast::Hasher::new();
                let mut hasher = blake3::Hasher::new();
                for buf in full_rx {
                    hasher.update(&buf);
                    crc.update(&buf);
                    out.write_all(&buf)?;
                    let _ = empty_tx.send(buf); // the sealer may have stopped
                }
                Ok((crc.finalize(), *hasher.finalize().as_bytes()))
            });
            let mut sealing = Ok(());
            while job.next < job.chunks {
                let Ok(mut buf) = empty_rx.recv() else { break }; // the writer failed
                if let Err(e) = job.fill(&mut buf) {
                    sealing = Err(e);
                    break;
                }
                if full_tx.send(buf).is_err() {
                    break;
                }
            }
            drop(full_tx);
            let written = writer
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            sealing?;
            written.map_err(|e| Error::io("writing the archive", e))
        })
    }
    #[cfg(target_arch = "wasm32")]
    {
        let _ = (job, out);
        unreachable!("the pipeline is only chosen where threads exist")
    }
}

/// Runs two closures, on two threads where the platform has them.
pub fn join<A: Send, B: Send>(
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::thread::scope(|s| {
            let hb = s.spawn(b);
            let ra = a();
            (
                ra,
                hb.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            )
        })
    }
    #[cfg(target_arch = "wasm32")]
    {
        (a(), b())
    }
}

pub(crate) fn read_full(src: &mut dyn Read, buf: &mut [u8], path: &str) -> Result<()> {
    let mut at = 0;
    while at < buf.len() {
        match src.read(&mut buf[at..]) {
            Ok(0) => {
                return Err(Error::Changed {
                    path: path.into(),
                    what: "shorter than when packing began".into(),
                });
            }
            Ok(n) => at += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(format!("reading {path}"), e)),
        }
    }
    Ok(())
}

pub(crate) fn read_exact_size(src: &mut dyn Read, size: u64, path: &str) -> Result<Vec<u8>> {
    let mut v = vec![0u8; size as usize];
    read_full(src, &mut v, path)?;
    let mut probe = [0u8; 1];
    if src
        .read(&mut probe)
        .map_err(|e| Error::io(format!("reading {path}"), e))?
        != 0
    {
        return Err(Error::Changed {
            path: path.into(),
            what: format!("longer than the {size} bytes it had when packing began"),
        });
    }
    Ok(v)
}

/// Whether byte values are skewed enough for DEFLATE to have a chance:
/// the chance that two random bytes of the sample are equal must be at
/// least 1.5 in 256 (uniformly random bytes give 1 in 256). Integer
/// arithmetic only, so the decision is the same on every machine.
fn skewed(sample: &[u8]) -> bool {
    let mut counts = [0u64; 256];
    for &b in sample {
        counts[b as usize] += 1;
    }
    let n = sample.len() as u64;
    let pairs: u64 = counts.iter().map(|c| c * c.saturating_sub(1)).sum();
    pairs * 256 * 2 >= n * n.saturating_sub(1) * 3
}

/// DEFLATE when it saves at least an eighth: a fast trial on the first
/// 64 KiB decides whether compressing the whole is worth it.
pub(crate) fn try_deflate(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.len() < 64 {
        return None;
    }
    let sample = &bytes[..bytes.len().min(CHUNK_SIZE)];
    if !skewed(sample) || deflate_at(sample, Level::Trial).len() * 8 > sample.len() * 7 {
        return None;
    }
    let d = deflate_at(bytes, Level::Stored);
    (d.len() * 8 <= bytes.len() * 7).then_some(d)
}

/// The two DEFLATE levels a record is compressed at: the trial's (1) and
/// the stored form's (6).
#[derive(Clone, Copy)]
enum Level {
    Trial = 1,
    Stored = 6,
}

thread_local! {
    /// One compressor a level for each thread, reset between records.
    /// Making one zeroes about 300 KB (its hash chains, dictionary and
    /// buffers) and allocates them: for records of a few hundred bytes
    /// that was most of what DEFLATE cost, twice a record (the rendered
    /// million, issue 20). A reset compressor is in the state of a new
    /// one, so the bytes are the same (`deflate_at_is_compress_to_vec`).
    static COMPRESSORS: std::cell::RefCell<[Option<Box<miniz_oxide::deflate::core::CompressorOxide>>; 2]> =
        const { std::cell::RefCell::new([None, None]) };
}

/// `miniz_oxide::deflate::compress_to_vec(input, level)` (raw DEFLATE),
/// made with this thread's compressor for `level`.
fn deflate_at(input: &[u8], level: Level) -> Vec<u8> {
    use miniz_oxide::deflate::core::{
        compress, create_comp_flags_from_zip_params, CompressorOxide, TDEFLFlush, TDEFLStatus,
    };
    COMPRESSORS.with(|cell| {
        let Ok(mut slots) = cell.try_borrow_mut() else {
            // Not reentered in practice; a fresh compressor if it were.
            return miniz_oxide::deflate::compress_to_vec(input, level as u8);
        };
        let slot = &mut slots[matches!(level, Level::Stored) as usize];
        let c = match slot {
            Some(c) => {
                c.reset();
                c
            }
            None => slot.insert(Box::new(CompressorOxide::new(
                create_comp_flags_from_zip_params(level as i32, 0, 0),
            ))),
        };
        // As compress_to_vec: the same output, grown the same way.
        let whole = input;
        let mut input = input;
        let mut output = vec![0; (input.len() / 2).max(2)];
        let mut at = 0;
        loop {
            let (status, read, written) = compress(c, input, &mut output[at..], TDEFLFlush::Finish);
            at += written;
            match status {
                TDEFLStatus::Done => {
                    output.truncate(at);
                    return output;
                }
                TDEFLStatus::Okay if read <= input.len() => {
                    input = &input[read..];
                    if output.len().saturating_sub(at) < 30 {
                        output.resize(output.len() * 2, 0);
                    }
                }
                // compress_to_vec panics here ("Bug!"); a compressor in
                // an unknown state is dropped and the record compressed
                // afresh.
                _ => {
                    *slot = None;
                    return miniz_oxide::deflate::compress_to_vec(whole, level as u8);
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::{RngCore, SeedableRng};

    /// The reused compressors give compress_to_vec's bytes, whatever came
    /// before on the thread: records of every size and kind in turn, at
    /// both levels, the same record again after others.
    #[test]
    fn deflate_at_is_compress_to_vec() {
        let mut r = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        for n in [0usize, 1, 63, 64, 100, 200, 1000, 40_000, 70_000, 300_000] {
            let mut random = vec![0u8; n];
            r.fill_bytes(&mut random);
            let text: Vec<u8> = format!("person {n:010}, born 1923, register entry ")
                .bytes()
                .cycle()
                .take(n)
                .collect();
            // Text with random bytes strewn in: matches at varied distances.
            let mut mixed = text.clone();
            for (i, b) in mixed.iter_mut().enumerate() {
                if i % 7 == 3 {
                    *b = random[i];
                }
            }
            inputs.extend([random, text, mixed]);
        }
        for round in 0..2 {
            for (i, input) in inputs.iter().enumerate() {
                for level in [Level::Trial, Level::Stored] {
                    assert_eq!(
                        deflate_at(input, level),
                        miniz_oxide::deflate::compress_to_vec(input, level as u8),
                        "input {i} ({} bytes), level {}, round {round}",
                        input.len(),
                        level as u8
                    );
                }
            }
        }
    }

    fn opts(r: &mut rand_chacha::ChaCha20Rng) -> WriterOptions {
        let reader = crate::keys::Identity::generate(r);
        WriterOptions {
            created: 1_767_225_600,
            issuer: Some(IssuerKey::generate(r)),
            recipients: vec![reader.public()],
            passphrases: vec![],
            embed_spec: false,
            viewer: None,
        }
    }

    /// Records of each kind the choice of storage tells apart, each with
    /// its media type and the one it was prepared for.
    fn records() -> Vec<(String, Vec<u8>, &'static str, &'static str)> {
        let text = |n: usize| b"a line of a register entry. ".repeat(n);
        let mut random = vec![0u8; 3000];
        rand_chacha::ChaCha20Rng::seed_from_u64(9).fill_bytes(&mut random);
        vec![
            ("a.txt".into(), text(40), "text/plain", "text/plain"),
            (
                "b.txt".into(),
                b"short".to_vec(),
                "text/plain",
                "text/plain",
            ),
            (
                "c.bin".into(),
                random,
                "application/octet-stream",
                "application/octet-stream",
            ),
            ("d.png".into(), text(40), "image/png", "image/png"),
            // Prepared for another media type: recomputed, the same bytes.
            ("e.png".into(), text(40), "image/png", "text/plain"),
            ("f.txt".into(), text(40), "text/plain", "image/jpeg"),
            ("g.txt".into(), text(40), "text/plain", "text/csv"),
        ]
    }

    fn meta(path: &str, media_type: &str) -> RecordMeta {
        RecordMeta {
            render: None,
            path: path.into(),
            title: String::new(),
            media_type: media_type.into(),
            modified: Some(1_767_225_600),
            decoder: None,
            metadata: BTreeMap::new(),
        }
    }

    #[test]
    fn prepared_records_are_stored_as_their_bytes_would_be() {
        for v2 in [false, true] {
            let written = |prepared: bool| {
                let mut r = rand_chacha::ChaCha20Rng::seed_from_u64(5);
                let o = opts(&mut r);
                let out = std::io::Cursor::new(Vec::new());
                let add = |w: &mut dyn FnMut(RecordMeta, RecordSource<'_>)| {
                    for (path, bytes, media_type, prepared_for) in records() {
                        let m = meta(&path, media_type);
                        if prepared {
                            let p = Prepared::new(bytes, prepared_for);
                            w(m, RecordSource::Prepared(&p));
                        } else {
                            w(m, RecordSource::Bytes(&bytes));
                        }
                    }
                };
                if v2 {
                    let mut w = crate::v2::writer::ArchiveWriter::new(out, o, r).unwrap();
                    add(&mut |m, s| w.add_record(m, s).unwrap());
                    w.finish().unwrap().into_inner()
                } else {
                    let mut w = ArchiveWriter::new(out, o, r).unwrap();
                    add(&mut |m, s| w.add_record(m, s).unwrap());
                    w.finish().unwrap().into_inner()
                }
            };
            let (bytes, prepared) = (written(false), written(true));
            assert!(bytes.len() > 1000);
            assert!(bytes == prepared, "format 2.0: {v2}");
        }
    }
}
