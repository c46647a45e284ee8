//! The format 2.0 archive writer: records in path order in, one canonical
//! 2.0 archive out (`docs/design/format-2.0.md` section 11 fixes the bytes).
//!
//! Entries are written in this order: `mimetype`, `SPEC.md`, `viewer.html`
//! (optional), decoders, then the bundles as records arrive (each bundle is
//! one ZIP entry holding one sealed stream, so it is written while open and
//! its local header patched when it closes), then the catalog pages, the
//! catalog index, the catalog's parity entries `p/…` and the `recovery`
//! entry (SPEC 2.0 §25.1, [`crate::recovery`]), `entries`, `public.json`,
//! `head`, `signatures`, the central directory and the end records.
//!
//! A ZIP entry's bytes are contiguous, so pages, which are cut while the
//! bundles are still being written, cannot go into the file as they are
//! made: each page is sealed when full and its sealed bytes are kept aside
//! ([`Spill`]: in memory up to [`SPILL_MEMORY`], then in a temporary file
//! removed when the writer is dropped) and copied in after the last bundle.
//! Memory stays bounded by one page of records plus a few dozen bytes a
//! page and a bundle; nothing of a record survives its page but the
//! page's root.

use std::io::{Read, Seek, SeekFrom, Write};

use crate::catalog::{self, Encoding};
use crate::container;
use crate::crypto::{self, DataKey, StreamId, StreamKey, CHUNK_SIZE};
use crate::keys::IssuerKey;
use crate::manifest::{self, DecoderRef};
use crate::recovery;
use crate::v2::head::{self, Head};
use crate::v2::outboard::{self, Pieces};
use crate::v2::{
    bundle_entry, entries, events, index, page, page_entry, public, tree, BUNDLE_TARGET,
    ENTRIES_ENTRY, HEAD_ENTRY, INDEX_ENTRY, PAGE_RECORDS, PUBLIC_ENTRY, SIGNATURES_ENTRY,
};
use crate::writer::{RecordMeta, RecordSource, WriterOptions, COMPRESS_MAX};
use crate::{Error, Result};

pub mod update;

/// Sealed bytes gathered before one write to the output.
const WRITE_BATCH: usize = 2 << 20;

/// Sealed page bytes kept in memory before they go to a temporary file.
pub const SPILL_MEMORY: usize = 32 << 20;

fn io(e: std::io::Error) -> Error {
    Error::io("writing the archive", e)
}

/// One entry of the file so far, as the central directory and the entry
/// table describe it.
#[derive(Debug, Clone)]
struct Written {
    name: String,
    offset: u64,
    size: u64,
    crc32: u32,
    blake3: [u8; 32],
}

/// What a closed sealed stream came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sealed {
    /// Sealed bytes (the entry's size).
    size: u64,
    crc32: u32,
    blake3: [u8; 32],
}

/// A sealed stream written into the output as its plaintext arrives: the
/// plaintext of the chunk being filled sits at the end of `buf`, sealed in
/// place once it is full and more bytes come (so that the last chunk,
/// sealed with the last-chunk nonce, is known when the stream closes).
struct StreamOut {
    key: StreamKey,
    /// Sealed bytes not yet written, then the open chunk's plaintext.
    buf: Vec<u8>,
    /// Where the open chunk starts in `buf`.
    open_at: usize,
    /// Index of the open chunk.
    chunk: u64,
    /// Plaintext bytes pushed so far.
    len: u64,
    /// Sealed bytes written so far.
    written: u64,
    crc: crc32fast::Hasher,
    /// The sealed bytes' BLAKE3 and their pieces' values (SPEC 2.0 §25.2).
    pieces: Pieces,
}

impl StreamOut {
    fn new(key: StreamKey) -> Self {
        StreamOut {
            key,
            buf: Vec::with_capacity(WRITE_BATCH + 2 * CHUNK_SIZE),
            open_at: 0,
            chunk: 0,
            len: 0,
            written: 0,
            crc: crc32fast::Hasher::new(),
            pieces: Pieces::new(),
        }
    }

    /// Seals the open chunk (full, so not the last) and opens the next.
    fn seal_open(&mut self) {
        let tag = self
            .key
            .seal_detached(self.chunk, false, &mut self.buf[self.open_at..]);
        self.buf.extend_from_slice(&tag);
        self.open_at = self.buf.len();
        self.chunk += 1;
    }

    /// Appends plaintext, writing sealed batches to `out` as they fill.
    fn push<W: Write + Seek>(&mut self, mut data: &[u8], out: &mut Out<W>) -> Result<()> {
        while !data.is_empty() {
            if self.buf.len() - self.open_at == CHUNK_SIZE {
                self.seal_open();
                if self.open_at >= WRITE_BATCH {
                    self.drain(out)?;
                }
            }
            let room = CHUNK_SIZE - (self.buf.len() - self.open_at);
            let n = room.min(data.len());
            self.buf.extend_from_slice(&data[..n]);
            self.len += n as u64;
            data = &data[n..];
        }
        Ok(())
    }

    /// Writes the sealed bytes before the open chunk.
    fn drain<W: Write + Seek>(&mut self, out: &mut Out<W>) -> Result<()> {
        let sealed = &self.buf[..self.open_at];
        self.crc.update(sealed);
        self.pieces.update(sealed);
        out.cover(self.pieces.take_ready())?;
        out.w.write_all(sealed).map_err(io)?;
        self.written += sealed.len() as u64;
        self.buf.drain(..self.open_at);
        self.open_at = 0;
        Ok(())
    }

    /// Pads the plaintext with zeros to `padded` bytes, seals the last
    /// chunk and writes everything.
    fn close<W: Write + Seek>(mut self, padded: u64, out: &mut Out<W>) -> Result<Sealed> {
        static ZEROS: [u8; CHUNK_SIZE] = [0; CHUNK_SIZE];
        debug_assert!(padded >= self.len);
        while self.len < padded {
            let n = (padded - self.len).min(CHUNK_SIZE as u64) as usize;
            self.push(&ZEROS[..n], out)?;
        }
        let tag = self
            .key
            .seal_detached(self.chunk, true, &mut self.buf[self.open_at..]);
        self.buf.extend_from_slice(&tag);
        self.open_at = self.buf.len();
        self.drain(out)?;
        let (blake3, last) = self.pieces.finish();
        out.cover(last)?;
        Ok(Sealed {
            size: self.written,
            crc32: self.crc.finalize(),
            blake3,
        })
    }
}

/// A temporary file, removed when dropped.
struct TempFile {
    path: std::path::PathBuf,
    file: std::fs::File,
}

impl TempFile {
    /// Creates a new file with a random name in the system's temporary
    /// folder (never opening one that exists).
    fn create() -> std::io::Result<TempFile> {
        use std::hash::{BuildHasher, Hasher};
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir();
        let mut last = None;
        for _ in 0..16 {
            // RandomState is seeded from the operating system's generator.
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
            h.write_u32(std::process::id());
            let path = dir.join(format!("legation-pages-{:016x}.tmp", h.finish()));
            match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(file) => return Ok(TempFile { path, file }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("no free temporary name")))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Sealed catalog pages kept aside until the bundles are written: in
/// memory up to [`SPILL_MEMORY`] bytes, then in a temporary file (where
/// the platform has files).
#[derive(Default)]
struct Spill {
    memory: Vec<u8>,
    file: Option<TempFile>,
    len: u64,
}

impl Spill {
    fn io(e: std::io::Error) -> Error {
        Error::io("keeping sealed catalog pages in a temporary file", e)
    }

    /// Appends bytes.
    fn append(&mut self, data: &[u8]) -> Result<()> {
        self.len += data.len() as u64;
        if self.file.is_none()
            && self.memory.len() + data.len() > SPILL_MEMORY
            && cfg!(not(target_arch = "wasm32"))
        {
            let mut t = TempFile::create().map_err(Self::io)?;
            t.file.write_all(&self.memory).map_err(Self::io)?;
            self.memory = Vec::new();
            self.file = Some(t);
        }
        match &mut self.file {
            Some(t) => t.file.write_all(data).map_err(Self::io),
            None => {
                self.memory.extend_from_slice(data);
                Ok(())
            }
        }
    }

    /// A reader over everything appended, from the start.
    fn reader(&mut self) -> Result<Box<dyn Read + '_>> {
        match &mut self.file {
            Some(t) => {
                t.file.seek(SeekFrom::Start(0)).map_err(Self::io)?;
                Ok(Box::new(std::io::BufReader::with_capacity(
                    1 << 20,
                    &mut t.file,
                )))
            }
            None => Ok(Box::new(&self.memory[..])),
        }
    }
}

/// The output, with its position and the entries written to it.
struct Out<W> {
    w: W,
    offset: u64,
    entries: Vec<Written>,
    /// The values of the pieces of every entry written so far that is
    /// over [`outboard::PIECE`] bytes, in container order: the `outboard`
    /// entry's bytes (SPEC 2.0 §25.2), kept aside as the pages are.
    outboard: Spill,
    outboard_crc: crc32fast::Hasher,
    /// Whether entries written now are covered by `outboard` (those
    /// before it).
    covering: bool,
    /// Bytes the entry table's rows for `entries` take, kept within
    /// [`entries::MAX_ENTRIES_BYTES`] (SPEC 2.0 §25).
    table_len: usize,
    /// Whether entries written now get a row in the entry table (those
    /// before it).
    listed: bool,
}

impl<W: Write + Seek> Out<W> {
    /// Keeps the values of an entry's pieces for `outboard`.
    fn cover(&mut self, values: Vec<[u8; 32]>) -> Result<()> {
        if !self.covering || values.is_empty() {
            return Ok(());
        }
        // One append a batch (a stream's batch of 2 MiB gives 32 values).
        let bytes = values.concat();
        self.outboard_crc.update(&bytes);
        self.outboard.append(&bytes)
    }

    /// Counts the entry table's row for an entry about to be listed,
    /// refusing one that would take the table past what a reader accepts.
    fn take_row(&mut self, name: &str, size: u64) -> Result<()> {
        if !self.listed {
            return Ok(());
        }
        let len = self.table_len + entries::row_len(name, size);
        if len > entries::MAX_ENTRIES_BYTES {
            return Err(Error::invalid(
                ENTRIES_ENTRY,
                format!(
                    "too large: the entry table would pass the {} bytes a reader accepts at \
                     entry {} ({name})",
                    entries::MAX_ENTRIES_BYTES,
                    self.entries.len() + 1
                ),
            ));
        }
        self.table_len = len;
        Ok(())
    }

    /// Writes an entry whose bytes are known.
    fn plain(&mut self, name: &str, data: &[u8]) -> Result<()> {
        let crc32 = crc32fast::hash(data);
        self.known(name, data.len() as u64, crc32, &mut &data[..])
    }

    /// Writes an entry whose size and CRC-32 are known, copying its bytes
    /// from `src` (hashed on the way, pieces and all).
    fn known(&mut self, name: &str, size: u64, crc32: u32, src: &mut dyn Read) -> Result<()> {
        container::check_name(name)?;
        self.take_row(name, size)?;
        let header = container::local_header(name, size, crc32);
        let offset = self.offset;
        self.w.write_all(&header).map_err(io)?;
        let mut pieces = Pieces::new();
        let mut buf = vec![0u8; (outboard::PIECE as usize).min(size as usize)];
        let mut left = size;
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            src.read_exact(&mut buf[..n]).map_err(|e| {
                Error::invalid(
                    name,
                    format!("{} bytes where {size} were kept aside ({e})", size - left),
                )
            })?;
            pieces.update(&buf[..n]);
            self.cover(pieces.take_ready())?;
            self.w.write_all(&buf[..n]).map_err(io)?;
            left -= n as u64;
        }
        let (blake3, last) = pieces.finish();
        self.cover(last)?;
        self.offset += header.len() as u64 + size;
        self.entries.push(Written {
            name: name.to_owned(),
            offset,
            size,
            crc32,
            blake3,
        });
        Ok(())
    }

    /// Starts an entry whose size is not known yet; `size_hint` decides
    /// the header's form (a ZIP64 field or not), which [`Out::end_open`]
    /// keeps. Returns the header's offset.
    fn start_open(&mut self, name: &str, size_hint: u64) -> Result<u64> {
        container::check_name(name)?;
        let header = container::local_header(name, size_hint, 0);
        let at = self.offset;
        self.w.write_all(&header).map_err(io)?;
        self.offset += header.len() as u64;
        Ok(at)
    }

    /// Ends an entry begun by [`Out::start_open`]: rewrites its local
    /// header with the final size and CRC-32.
    fn end_open(&mut self, name: &str, at: u64, size_hint: u64, s: Sealed) -> Result<()> {
        let old = container::local_header_len(name, size_hint);
        let header = container::local_header(name, s.size, s.crc32);
        if header.len() != old {
            return Err(Error::invalid(
                name,
                format!(
                    "a stream of {} bytes where at most {} were planned",
                    s.size,
                    container::ZIP64_LIMIT - 1
                ),
            ));
        }
        self.take_row(name, s.size)?;
        self.w.seek(SeekFrom::Start(at)).map_err(io)?;
        self.w.write_all(&header).map_err(io)?;
        self.w.seek(SeekFrom::End(0)).map_err(io)?;
        self.offset += s.size;
        self.entries.push(Written {
            name: name.to_owned(),
            offset: at,
            size: s.size,
            crc32: s.crc32,
            blake3: s.blake3,
        });
        Ok(())
    }
}

/// What the writer keeps of a record until its page is written.
#[derive(Debug, Clone)]
struct Pending {
    meta: RecordMeta,
    size: u64,
    stored_size: u64,
    deflated: bool,
    blake3: [u8; 32],
    /// The record is the first of a bundle after the first bundle.
    starts_bundle: bool,
}

impl Pending {
    /// The record as its page describes it.
    fn into_record(self) -> page::Record {
        let p = self;
        let m = p.meta;
        page::Record {
            title: (!m.title.is_empty()).then_some(m.title),
            media_type: m.media_type,
            size: p.size,
            blake3: p.blake3,
            // A time RFC 3339's four-digit years cannot hold is dropped,
            // as 1.x does.
            modified: m
                .modified
                .filter(|&t| crate::time::parse_rfc3339(&crate::time::format_rfc3339(t)).is_some()),
            decoder: m.decoder,
            render: m.render,
            metadata: m.metadata,
            encoding: if p.deflated {
                Encoding::Deflate
            } else {
                Encoding::Identity
            },
            stored_size: p.stored_size,
            new_bundle: p.starts_bundle,
            path: m.path,
        }
    }
}

/// The bundle being written.
struct OpenBundle {
    id: [u8; 16],
    header_at: u64,
    size_hint: u64,
    stream: StreamOut,
}

/// A written page, as the index will list it, with its sealed bytes'
/// size and hashes (the bytes themselves are in the [`Spill`]).
struct PageDone {
    line: index::PageRef,
    sealed: Kept,
}

/// An entry's bytes kept aside: their size and CRC-32 (the local header
/// needs them first; the BLAKE3 is taken as they are copied in).
#[derive(Debug, Clone, Copy)]
struct Kept {
    size: u64,
    crc32: u32,
}

/// Which generation of which series an archive is, when it is not the
/// first ([`ArchiveWriter::new_generation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation {
    /// The series' archive id.
    pub archive_id: [u8; 16],
    /// The generation's sequence, above 0.
    pub sequence: u64,
    /// The previous generation's chain hash ([`super::head::chain_hash`]).
    pub previous: [u8; 32],
}

/// Writes one format 2.0 archive. Records must be added in strictly
/// increasing path order (bytewise, as `str` orders), decoders before the
/// first record.
pub struct ArchiveWriter<W: Write + Seek, R: rand_core::CryptoRngCore> {
    out: Out<W>,
    rng: R,
    archive_id: [u8; 16],
    /// The head's `sequence` and `previous` ([`Generation`]).
    sequence: u64,
    previous: [u8; 32],
    created: i64,
    data_key: DataKey,
    issuer: Option<IssuerKey>,
    key_slots: Vec<crypto::KeySlot>,
    decoders: Vec<DecoderRef>,
    empty_dirs: Vec<String>,
    last_path: Option<String>,
    records: u64,
    bytes: u64,
    bundle: Option<OpenBundle>,
    /// Closed bundles: stream id and length of the records' stored bytes.
    bundles: Vec<([u8; 16], u64)>,
    /// Stored bytes of every record so far, below
    /// [`index::MAX_BUNDLES_LEN`] (SPEC 2.0 §24).
    stored: u64,
    page: Vec<Pending>,
    /// Bundle number and offset of the current page's first record.
    page_start: (u64, u64),
    pages: Vec<PageDone>,
    spill: Spill,
    roots: tree::RootBuilder,
    tables: page::Tables,
    /// [`BUNDLE_TARGET`], smaller in tests so that they cross bundles.
    bundle_target: u64,
    /// The catalog's parity (SPEC 2.0 §25.1): the open stripe's XOR of
    /// sealed pages, the members added, and the closed stripes, kept aside
    /// as the pages are.
    parity_open: Vec<u8>,
    parity_members: usize,
    parities: Vec<Kept>,
    parity_spill: Spill,
    /// The event log to write (format 2.1, [`ArchiveWriter::log_events`]).
    log: Option<LogSlot>,
}

/// The event log being written: the events so far, the plaintext length
/// reserved, the placeholder entry once written, and the tally of the
/// records written (format 2.1, [`events`]).
struct LogSlot {
    log: events::Log,
    reserve: usize,
    tool: String,
    /// The placeholder's place in the output's entries.
    at: Option<usize>,
    tally: events::Tally,
}

impl<W: Write + Seek, R: rand_core::CryptoRngCore> ArchiveWriter<W, R> {
    /// Starts an archive: draws the archive id and data key, makes the key
    /// slots and writes the plain entries that come first.
    pub fn new(out: W, opts: WriterOptions, rng: R) -> Result<Self> {
        Self::new_generation(out, opts, rng, None)
    }

    /// Starts an archive that is generation `generation.sequence` of the
    /// series `generation.archive_id` (SPEC 2.0 §27.1): a self-contained
    /// archive whose head has that sequence and `previous`; its data key
    /// is drawn anew. `None` is [`ArchiveWriter::new`].
    pub fn new_generation(
        out: W,
        opts: WriterOptions,
        rng: R,
        generation: Option<Generation>,
    ) -> Result<Self> {
        Self::new_with_quorum(out, opts, rng, generation, &[])
    }

    /// As [`ArchiveWriter::new_generation`], with a quorum slot for each
    /// of `quorum`'s policies after the other slots (SPEC §7.9); with
    /// quorum policies, `opts` may name no recipient and no passphrase.
    pub fn new_with_quorum(
        out: W,
        opts: WriterOptions,
        rng: R,
        generation: Option<Generation>,
        quorum: &[crate::quorum::Policy],
    ) -> Result<Self> {
        Self::new_with_slots(out, opts, rng, generation, quorum, &[])
    }

    /// As [`ArchiveWriter::new_with_quorum`], with an `mlkem768x25519`
    /// slot for each post-quantum recipient of `pq` after the X25519
    /// slots (format 2.1, SPEC §7.11).
    pub fn new_with_slots(
        out: W,
        opts: WriterOptions,
        mut rng: R,
        generation: Option<Generation>,
        quorum: &[crate::quorum::Policy],
        pq: &[crate::pq::PqRecipient],
    ) -> Result<Self> {
        if let Some(g) = &generation {
            if g.sequence == 0 || g.previous == [0; 32] {
                return Err(Error::invalid(
                    HEAD_ENTRY,
                    "a later generation has a sequence above 0 and a previous chain hash",
                ));
            }
        }
        let crate::writer::Keys {
            archive_id,
            data_key,
            key_slots,
        } = crate::writer::Keys::draw_for(
            &opts,
            &mut rng,
            generation.as_ref().map(|g| g.archive_id),
            quorum,
            pq,
        )?;
        let mut w = ArchiveWriter {
            out: Out {
                w: out,
                offset: 0,
                entries: Vec::new(),
                outboard: Spill::default(),
                outboard_crc: crc32fast::Hasher::new(),
                covering: true,
                table_len: 0,
                listed: true,
            },
            rng,
            archive_id,
            sequence: generation.as_ref().map_or(0, |g| g.sequence),
            previous: generation.as_ref().map_or([0; 32], |g| g.previous),
            created: opts.created,
            data_key,
            issuer: opts.issuer,
            key_slots,
            decoders: Vec::new(),
            empty_dirs: Vec::new(),
            last_path: None,
            records: 0,
            bytes: 0,
            bundle: None,
            bundles: Vec::new(),
            stored: 0,
            page: Vec::with_capacity(PAGE_RECORDS),
            page_start: (0, 0),
            pages: Vec::new(),
            spill: Spill::default(),
            roots: tree::RootBuilder::new(),
            tables: page::Tables::default(),
            bundle_target: BUNDLE_TARGET,
            parity_open: Vec::new(),
            parity_members: 0,
            parities: Vec::new(),
            parity_spill: Spill::default(),
            log: None,
        };
        w.out
            .plain(crate::MIMETYPE_ENTRY, crate::MEDIA_TYPE.as_bytes())?;
        if opts.embed_spec {
            w.out.plain(crate::SPEC_ENTRY, crate::SPEC_MD.as_bytes())?;
        }
        if let Some(v) = &opts.viewer {
            w.out.plain(crate::VIEWER_ENTRY, v)?;
        }
        Ok(w)
    }

    /// The archive id.
    pub fn archive_id(&self) -> [u8; 16] {
        self.archive_id
    }

    /// Stores a decoder module (already metered by the caller) as a plain
    /// entry and lists it in `public.json`; returns its entry name. Adding
    /// the same module twice stores it once. `uses_vectors` is accepted for
    /// the 1.x writer's signature: every 2.0 reader runs vector
    /// instructions, so it changes nothing here.
    pub fn add_decoder(
        &mut self,
        module: &[u8],
        mut desc: DecoderRef,
        uses_vectors: bool,
    ) -> Result<String> {
        let _ = uses_vectors;
        let hash = *blake3::hash(module).as_bytes();
        let entry = manifest::decoder_entry(&hash);
        if let Some(e) = self.out.entries.iter().find(|e| e.name == entry) {
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
        self.out.plain(&entry, module)?;
        self.decoders.push(desc);
        Ok(entry)
    }

    /// Records an empty folder (path relative to the packed folder).
    pub fn add_empty_dir(&mut self, path: &str) -> Result<()> {
        catalog::check_record_path(path).map_err(|what| Error::Unsupported {
            path: path.into(),
            what,
        })?;
        if self.empty_dirs.len() >= index::MAX_INDEX_ITEMS {
            return Err(Error::invalid(
                INDEX_ENTRY,
                format!(
                    "too many items: more than {} empty folders, more than a reader accepts",
                    index::MAX_INDEX_ITEMS
                ),
            ));
        }
        self.empty_dirs.push(path.to_owned());
        Ok(())
    }

    /// Adds one record: its stored bytes go into the current bundle (a new
    /// one when they would take it past [`BUNDLE_TARGET`]), its facts into
    /// the current page (written when it holds [`PAGE_RECORDS`]).
    pub fn add_record(&mut self, meta: RecordMeta, source: RecordSource<'_>) -> Result<()> {
        if let Some(l) = &mut self.log {
            l.tally.record(&meta);
        }
        catalog::check_record_path(&meta.path).map_err(|what| Error::Unsupported {
            path: meta.path.clone(),
            what,
        })?;
        if let Some(last) = self.last_path.as_deref() {
            if last >= meta.path.as_str() {
                return Err(Error::Unsupported {
                    path: meta.path.clone(),
                    what: format!(
                        "records must come in strictly increasing path order, and this one comes after {last:?}"
                    ),
                });
            }
        }
        let path = meta.path.clone();
        let size = match &source {
            RecordSource::Bytes(b) => b.len() as u64,
            RecordSource::Prepared(p) => p.bytes().len() as u64,
            RecordSource::Reader { size, .. } => *size,
        };
        let (blake3, (deflated, stored_size), starts_bundle) = if size <= COMPRESS_MAX {
            let owned;
            let ready = match source {
                RecordSource::Prepared(p) => Some(p),
                _ => None,
            };
            let bytes: &[u8] = match source {
                RecordSource::Bytes(b) => b,
                RecordSource::Prepared(p) => p.bytes(),
                RecordSource::Reader { reader, size } => {
                    owned = crate::writer::read_exact_size(reader, size, &path)?;
                    &owned
                }
            };
            let (hash, deflated) = crate::writer::hashed(bytes, ready, &meta.media_type);
            let stored: &[u8] = deflated.as_deref().unwrap_or(bytes);
            let starts = self.place(&path, stored.len() as u64)?;
            let b = self.bundle.as_mut().expect("place opens a bundle");
            b.stream.push(stored, &mut self.out)?;
            (hash, (deflated.is_some(), stored.len() as u64), starts)
        } else {
            let starts = self.place(&path, size)?;
            let b = self.bundle.as_mut().expect("place opens a bundle");
            let mut src: Box<dyn Read + '_> = match source {
                RecordSource::Bytes(b) => Box::new(b),
                RecordSource::Prepared(p) => Box::new(p.bytes()),
                RecordSource::Reader { reader, .. } => Box::new(reader),
            };
            let mut hasher = blake3::Hasher::new();
            let mut buf = vec![0u8; CHUNK_SIZE];
            let mut left = size;
            while left > 0 {
                let n = left.min(CHUNK_SIZE as u64) as usize;
                crate::writer::read_full(&mut *src, &mut buf[..n], &path)?;
                hasher.update(&buf[..n]);
                b.stream.push(&buf[..n], &mut self.out)?;
                left -= n as u64;
            }
            let mut probe = [0u8; 1];
            if src
                .read(&mut probe)
                .map_err(|e| Error::io(format!("reading {path}"), e))?
                != 0
            {
                return Err(Error::Changed {
                    path,
                    what: format!("longer than the {size} bytes it had when packing began"),
                });
            }
            (*hasher.finalize().as_bytes(), (false, size), starts)
        };
        self.records += 1;
        self.bytes += size;
        self.last_path = Some(path);
        self.page.push(Pending {
            meta,
            size,
            stored_size,
            deflated,
            blake3,
            starts_bundle,
        });
        if self.page.len() == PAGE_RECORDS {
            self.flush_page()?;
        }
        Ok(())
    }

    /// Makes room for a record of `stored` bytes: closes the bundle it
    /// would take past [`BUNDLE_TARGET`], opens one when none is open, and
    /// notes where a page's first record starts. Returns whether the record
    /// starts a bundle after the first. Refuses, before any of its bytes is
    /// written, a record `path` that would bring the bundles to
    /// [`index::MAX_BUNDLES_LEN`] bytes together.
    fn place(&mut self, path: &str, stored: u64) -> Result<bool> {
        self.stored = self
            .stored
            .checked_add(stored)
            .filter(|&s| s < index::MAX_BUNDLES_LEN)
            .ok_or_else(|| Error::Unsupported {
                path: path.into(),
                what: format!(
                    "too large: its {stored} stored bytes would bring the archive's bundles to \
                     2^62 bytes or more together (after {} bytes), more than a reader accepts",
                    self.stored
                ),
            })?;
        let mut starts = false;
        if let Some(b) = &self.bundle {
            if b.stream.len + stored > self.bundle_target {
                self.close_bundle()?;
                starts = true;
            }
        }
        if self.bundle.is_none() {
            // The event log's entry stands before the first bundle.
            self.open_log()?;
            starts = !self.bundles.is_empty();
            let number = self.bundles.len() as u64;
            let mut id = [0u8; 16];
            self.rng.fill_bytes(&mut id);
            let key = self
                .data_key
                .stream_key(&self.archive_id, StreamId::Bundle(id));
            // A record over the target fills a bundle alone, whose size is
            // known now; any other bundle stays under 4 GiB (no ZIP64).
            let size_hint = if stored > self.bundle_target {
                crypto::sealed_len(crypto::padme(stored))
            } else {
                0
            };
            let header_at = self.out.start_open(&bundle_entry(number), size_hint)?;
            self.bundle = Some(OpenBundle {
                id,
                header_at,
                size_hint,
                stream: StreamOut::new(key),
            });
        }
        if self.page.is_empty() {
            let b = self.bundle.as_ref().expect("opened above");
            self.page_start = (self.bundles.len() as u64, b.stream.len);
        }
        Ok(starts)
    }

    /// Pads, seals and closes the open bundle.
    fn close_bundle(&mut self) -> Result<()> {
        let Some(b) = self.bundle.take() else {
            return Ok(());
        };
        let len = b.stream.len;
        let sealed = b.stream.close(crypto::padme(len), &mut self.out)?;
        let name = bundle_entry(self.bundles.len() as u64);
        self.out.end_open(&name, b.header_at, b.size_hint, sealed)?;
        self.bundles.push((b.id, len));
        Ok(())
    }
}

impl<W: Write + Seek, R: rand_core::CryptoRngCore> ArchiveWriter<W, R> {
    /// Writes the current page aside: its records' leaves give its root,
    /// its encoded form is sealed under a fresh stream id and kept in the
    /// spill until the bundles are written.
    fn flush_page(&mut self) -> Result<()> {
        if self.page.is_empty() {
            return Ok(());
        }
        let pending = std::mem::replace(&mut self.page, Vec::with_capacity(PAGE_RECORDS));
        let mut records = Vec::with_capacity(pending.len());
        let mut leaves = Vec::with_capacity(pending.len());
        for p in pending {
            let rec = p.into_record();
            let salt = tree::record_salt(&self.data_key, &self.archive_id, &rec.path);
            leaves.push(tree::leaf_hash(&rec.leaf(&salt)?));
            records.push(rec);
        }
        let number = self.pages.len() as u64;
        let name = page_entry(number);
        let deflated = page::encode_page(&records, &mut self.tables)
            .map_err(|e| Error::invalid(&name, e.to_string()))?;
        let mut id = [0u8; 16];
        self.rng.fill_bytes(&mut id);
        let key = self
            .data_key
            .stream_key(&self.archive_id, StreamId::Page(id));
        let sealed = crypto::seal_stream(&key, &deflated);
        self.spill.append(&sealed)?;
        self.add_parity(&sealed)?;
        let root = tree::root(&leaves);
        self.roots.push(tree::leaf_hash(&root));
        self.pages.push(PageDone {
            line: index::PageRef {
                stream: id,
                count: records.len() as u32,
                last: records.pop().map(|r| r.path).unwrap_or_default(),
                first_bundle: self.page_start.0,
                first_offset: self.page_start.1,
                root,
            },
            sealed: Kept {
                size: sealed.len() as u64,
                crc32: crc32fast::hash(&sealed),
            },
        });
        Ok(())
    }
}

impl<W: Write + Seek, R: rand_core::CryptoRngCore> ArchiveWriter<W, R> {
    /// Closes the last page and bundle, copies the pages in, writes the
    /// index, `entries`, `public.json`, `head`, `signatures`, the central
    /// directory and the end records, and returns the output (flushed,
    /// positioned at its end).
    ///
    /// The index and `public.json` are made, and refused if a reader would
    /// refuse them for their size, before the pages are copied in; the
    /// entry table is counted as entries are written.
    pub fn finish(mut self) -> Result<W> {
        self.flush_page()?;
        self.close_bundle()?;
        if let Some(common) = self.log_common() {
            let first = match self.sequence {
                0 => events::ingestion(
                    &common,
                    self.records,
                    self.bytes,
                    self.empty_dirs.len() as u64,
                ),
                _ => events::self_contained(&common, self.records, self.bytes),
            };
            // A self-contained later generation copies its records' facts:
            // no new identification or rendering to log.
            let counted = self.sequence == 0;
            self.open_log()?;
            self.close_log(&common, first, counted)?;
        }
        let pages = std::mem::take(&mut self.pages);
        let sealed_pages: Vec<Kept> = pages.iter().map(|p| p.sealed).collect();
        let mut index_id = [0u8; 16];
        self.rng.fill_bytes(&mut index_id);
        let index_plain = index::Index {
            records: self.records,
            tables: std::mem::take(&mut self.tables),
            bundles: std::mem::take(&mut self.bundles)
                .into_iter()
                .map(|(stream, len)| index::BundleRef { stream, len })
                .collect(),
            pages: pages.into_iter().map(|p| p.line).collect(),
            empty_dirs: {
                let mut d = std::mem::take(&mut self.empty_dirs);
                d.sort();
                d
            },
        };
        let pages_count = index_plain.pages.len() as u64;
        let bundles_count = index_plain.bundles.len() as u64;
        let index_plain = index_plain.encode_checked(INDEX_ENTRY)?;
        let public = self.public_bytes(index_id, pages_count, bundles_count)?;
        {
            let mut src = self.spill.reader()?;
            for (n, p) in sealed_pages.iter().enumerate() {
                self.out
                    .known(&page_entry(n as u64), p.size, p.crc32, &mut src)?;
            }
        }
        self.spill = Spill::default();
        let key = self
            .data_key
            .stream_key(&self.archive_id, StreamId::Index(index_id));
        let index_sealed = crypto::seal_stream(&key, &index_plain);
        self.out.plain(INDEX_ENTRY, &index_sealed)?;
        self.write_parity(&index_sealed)?;
        self.write_outboard()?;
        let head = Head {
            archive_id: self.archive_id,
            sequence: self.sequence,
            previous: self.previous,
            created: self.created,
            records: self.records,
            bytes: self.bytes,
            records_root: self.roots.root(),
            entries: [0; 32],
            public: *blake3::hash(&public).as_bytes(),
        };
        self.write_tail(public, head)
    }

    /// Writes what follows the outboard: `recovery`, `entries`,
    /// `public.json`, `head` (with the entry table's hash put in),
    /// `signatures`, the central directory and the end records.
    fn write_tail(mut self, public: Vec<u8>, mut head: Head) -> Result<W> {
        let tail = recovery::TailRecovery {
            public: public.clone(),
            rows: self.entries_bytes(),
            head: head.to_bytes(),
        };
        self.out.plain(recovery::TAIL_ENTRY, &tail.to_bytes())?;
        let table = self.entries_bytes();
        self.out.listed = false;
        // The table's tree (SPEC 2.0 §25.3), unlisted: it follows from the
        // table.
        self.out
            .plain(entries::TREE_ENTRY, &entries::tree_bytes(&table))?;
        self.out.plain(ENTRIES_ENTRY, &table)?;
        self.out.plain(PUBLIC_ENTRY, &public)?;
        head.entries = *blake3::hash(&table).as_bytes();
        let head = head.to_bytes();
        self.out.plain(HEAD_ENTRY, &head)?;
        let signatures = match &self.issuer {
            Some(k) => head::sign_lines(k, &head)?,
            None => Vec::new(),
        };
        self.out
            .plain(SIGNATURES_ENTRY, &head::signatures_to_bytes(&signatures))?;
        self.write_directory()?;
        Ok(self.out.w)
    }

    /// The central directory and the end records.
    fn write_directory(&mut self) -> Result<()> {
        let cd_offset = self.out.offset;
        let mut cd = std::io::BufWriter::with_capacity(1 << 20, &mut self.out.w);
        let mut cd_size = 0u64;
        let mut h = Vec::new();
        for e in &self.out.entries {
            container::central_header_into(
                &container::Entry {
                    name: e.name.clone(),
                    size: e.size,
                    crc32: e.crc32,
                    offset: e.offset,
                },
                &mut h,
            );
            cd.write_all(&h).map_err(io)?;
            cd_size += h.len() as u64;
        }
        cd.write_all(&container::end_records(
            self.out.entries.len() as u64,
            cd_offset,
            cd_size,
        ))
        .map_err(io)?;
        cd.flush().map_err(io)?;
        drop(cd);
        self.out.w.flush().map_err(io)
    }
}

impl<W: Write + Seek, R: rand_core::CryptoRngCore> ArchiveWriter<W, R> {
    /// Writes an event log into the archive (format 2.1, SPEC §36,
    /// [`events`]): `previous`'s events (an earlier generation's log, or
    /// an empty one), then `extra` (a bag's validation, a re-keying), then
    /// this writing's own, made when it finishes: ingestion (modification
    /// for a dependent generation), the format identification and the
    /// rendering of the records written, as counts. `tool` names the
    /// program and its version. Call before the first record; the log's
    /// entry is reserved then, so its size does not depend on the counts.
    pub fn log_events(
        &mut self,
        tool: &str,
        mut previous: events::Log,
        extra: Vec<events::Event>,
    ) -> Result<()> {
        if self.last_path.is_some() || self.log.is_some() {
            return Err(Error::invalid(
                events::EVENTS_ENTRY,
                "the event log is set once, before the first record",
            ));
        }
        previous.events.extend(extra);
        let reserve = previous.reservation(3)?;
        self.log = Some(LogSlot {
            log: previous,
            reserve,
            tool: events::cut(tool, events::MAX_TOOL).to_owned(),
            at: None,
            tally: events::Tally::default(),
        });
        Ok(())
    }

    /// What this writing's events share, when it writes a log.
    fn log_common(&self) -> Option<events::Common> {
        self.log.as_ref().map(|l| events::Common {
            generation: self.sequence,
            time: self.created,
            issuer: self.issuer.as_ref().map(|k| k.public()),
            tool: l.tool.clone(),
        })
    }

    /// Writes the event log's placeholder (zeros of the entry's final
    /// size) if a log is asked for and it is not written yet.
    fn open_log(&mut self) -> Result<()> {
        let Some(l) = &self.log else {
            return Ok(());
        };
        if l.at.is_some() {
            return Ok(());
        }
        let size = events::ID_LEN as u64 + crypto::sealed_len(l.reserve as u64);
        debug_assert!(size <= events::MAX_ENTRY);
        self.out
            .plain(events::EVENTS_ENTRY, &vec![0; size as usize])?;
        let at = self.out.entries.len() - 1;
        if let Some(l) = &mut self.log {
            l.at = Some(at);
        }
        Ok(())
    }

    /// Adds this writing's events (`first`, then, if `counted`, the
    /// identification and the rendering of the records written), seals
    /// the log and writes it over its placeholder, local header and all.
    fn close_log(
        &mut self,
        common: &events::Common,
        first: events::Event,
        counted: bool,
    ) -> Result<()> {
        let Some(mut l) = self.log.take() else {
            return Ok(());
        };
        let at = l.at.ok_or_else(|| {
            Error::invalid(events::EVENTS_ENTRY, "the log's place was not reserved")
        })?;
        l.log.events.push(first);
        if counted {
            l.log.events.push(l.tally.identification(common));
            l.log.events.push(l.tally.rendering(common, &self.decoders));
        }
        let mut id = [0u8; 16];
        self.rng.fill_bytes(&mut id);
        let bytes = l
            .log
            .seal(l.reserve, &self.data_key, &self.archive_id, id)?;
        let e = &mut self.out.entries[at];
        if bytes.len() as u64 != e.size {
            return Err(Error::invalid(
                events::EVENTS_ENTRY,
                format!("{} bytes where {} were reserved", bytes.len(), e.size),
            ));
        }
        e.crc32 = crc32fast::hash(&bytes);
        e.blake3 = *blake3::hash(&bytes).as_bytes();
        let header = container::local_header(&e.name, e.size, e.crc32);
        self.out.w.seek(SeekFrom::Start(e.offset)).map_err(io)?;
        self.out.w.write_all(&header).map_err(io)?;
        self.out.w.write_all(&bytes).map_err(io)?;
        self.out.w.seek(SeekFrom::End(0)).map_err(io)?;
        Ok(())
    }

    /// Adds a catalog member's sealed bytes to the open parity stripe,
    /// keeping the stripe aside when it is full.
    fn add_parity(&mut self, sealed: &[u8]) -> Result<()> {
        recovery::xor_into(&mut self.parity_open, sealed);
        self.parity_members += 1;
        if self.parity_members.is_multiple_of(recovery::STRIPE) {
            let p = std::mem::take(&mut self.parity_open);
            self.parity_spill.append(&p)?;
            self.parities.push(Kept {
                size: p.len() as u64,
                crc32: crc32fast::hash(&p),
            });
        }
        Ok(())
    }

    /// Adds the index, the catalog's last member, to the parity and writes
    /// the parity entries `p/00000000`… after it.
    fn write_parity(&mut self, index_sealed: &[u8]) -> Result<()> {
        self.add_parity(index_sealed)?;
        if !self.parity_members.is_multiple_of(recovery::STRIPE) {
            let p = std::mem::take(&mut self.parity_open);
            self.parity_spill.append(&p)?;
            self.parities.push(Kept {
                size: p.len() as u64,
                crc32: crc32fast::hash(&p),
            });
        }
        let parities = std::mem::take(&mut self.parities);
        let mut spill = std::mem::take(&mut self.parity_spill);
        let mut src = spill.reader()?;
        for (s, p) in parities.iter().enumerate() {
            self.out
                .known(&recovery::parity_entry(s as u64), p.size, p.crc32, &mut src)?;
        }
        Ok(())
    }

    /// Writes `outboard`, the values of the pieces of every entry before
    /// it over [`outboard::PIECE`] bytes (SPEC 2.0 §25.2).
    fn write_outboard(&mut self) -> Result<()> {
        self.out.covering = false;
        let mut spill = std::mem::take(&mut self.out.outboard);
        let crc = std::mem::replace(&mut self.out.outboard_crc, crc32fast::Hasher::new());
        let size = spill.len;
        let mut src = spill.reader()?;
        self.out
            .known(outboard::OUTBOARD_ENTRY, size, crc.finalize(), &mut src)
    }

    /// The entry table: one row per entry written so far.
    fn entries_bytes(&self) -> Vec<u8> {
        let rows: Vec<entries::Row> = self
            .out
            .entries
            .iter()
            .map(|e| entries::Row {
                name: e.name.clone(),
                size: e.size,
                crc32: e.crc32,
                blake3: e.blake3,
            })
            .collect();
        entries::to_bytes(&rows)
    }

    /// `public.json`, refused if it is larger than a reader accepts.
    fn public_bytes(
        &mut self,
        index_stream: [u8; 16],
        pages: u64,
        bundles: u64,
    ) -> Result<Vec<u8>> {
        let slots = self.key_slots.len();
        let decoders = self.decoders.len();
        let bytes = public::Public {
            format: "legation".into(),
            version: crate::v2::version_for(&self.decoders, false).into(),
            archive_id: self.archive_id,
            created: crate::time::format_rfc3339(self.created),
            issuers: public::Issuers::of_keys(&self.issuer),
            key_commitment: self.data_key.commitment(&self.archive_id),
            key_slots: std::mem::take(&mut self.key_slots),
            chunk_size: CHUNK_SIZE as u64,
            catalog: public::Catalog {
                index: INDEX_ENTRY.into(),
                index_stream,
                pages,
                page_records: PAGE_RECORDS as u64,
            },
            bundles,
            decoders: std::mem::take(&mut self.decoders),
            series: None,
        }
        .to_bytes();
        if bytes.len() > public::MAX_PUBLIC_BYTES {
            return Err(Error::invalid(
                PUBLIC_ENTRY,
                format!(
                    "too large: {} bytes ({slots} key slots, {decoders} decoders), more than the \
                     {} a reader accepts",
                    bytes.len(),
                    public::MAX_PUBLIC_BYTES
                ),
            ));
        }
        Ok(bytes)
    }
}

impl<W: Write + Seek, R: rand_core::CryptoRngCore> crate::pack::RecordSink for ArchiveWriter<W, R> {
    fn add_empty_dir(&mut self, path: &str) -> Result<()> {
        ArchiveWriter::add_empty_dir(self, path)
    }
    fn add_record(&mut self, meta: RecordMeta, source: RecordSource<'_>) -> Result<()> {
        ArchiveWriter::add_record(self, meta, source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Identity;
    use rand_core::{RngCore, SeedableRng};

    fn rng(seed: u64) -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(seed)
    }

    struct Keys {
        reader: Identity,
        issuer_public: [u8; 32],
    }

    fn writer_to<W: Write + Seek>(
        out: W,
        seed: u64,
        signed: bool,
    ) -> (ArchiveWriter<W, rand_chacha::ChaCha20Rng>, Keys) {
        let mut r = rng(seed);
        let reader = Identity::generate(&mut r);
        let issuer = IssuerKey::generate(&mut r);
        let keys = Keys {
            issuer_public: issuer.public(),
            reader,
        };
        let opts = WriterOptions {
            created: 1_767_225_600,
            issuer: signed.then_some(issuer),
            recipients: vec![keys.reader.public()],
            passphrases: vec![],
            embed_spec: true,
            viewer: None,
        };
        (ArchiveWriter::new(out, opts, r).unwrap(), keys)
    }

    /// A record's bytes: text (DEFLATE shrinks it) or random (it does not).
    fn content(i: usize, len: usize, r: &mut impl RngCore) -> Vec<u8> {
        if i.is_multiple_of(2) {
            format!("record {i} says hello again and again. ")
                .into_bytes()
                .into_iter()
                .cycle()
                .take(len)
                .collect()
        } else {
            let mut v = vec![0u8; len];
            r.fill_bytes(&mut v);
            v
        }
    }

    fn meta(path: &str) -> RecordMeta {
        RecordMeta {
            path: path.into(),
            media_type: "text/plain".into(),
            ..RecordMeta::default()
        }
    }

    fn slice(archive: &[u8], e: &container::Entry) -> Vec<u8> {
        archive[e.data_offset() as usize..e.end() as usize].to_vec()
    }

    /// Reads an archive back through every structure and checks it holds
    /// exactly `expected` (path, bytes), in order.
    fn check(archive: &[u8], keys: &Keys, signed: bool, expected: &[(String, Vec<u8>)]) {
        let tail = &archive[archive.len().saturating_sub(container::TAIL_LEN)..];
        let dir = container::parse_end(tail, archive.len() as u64).unwrap();
        let cd = &archive[dir.offset as usize..(dir.offset + dir.size) as usize];
        let entries = container::parse_directory(cd, &dir).unwrap();
        let mut at = 0;
        for e in &entries {
            assert_eq!(e.offset, at, "{} starts where the previous ended", e.name);
            container::check_local_header(e, &archive[e.offset as usize..e.data_offset() as usize])
                .unwrap();
            at = e.end();
        }
        assert_eq!(at, dir.offset);
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        let find = |n: &str| entries.iter().find(|e| e.name == n).unwrap();

        // The entry table: every entry before its tree, bytes rehashed;
        // the tree, the table's BLAKE3 tree (SPEC 2.0 §25.3).
        let table = slice(archive, find(ENTRIES_ENTRY));
        assert_eq!(
            slice(archive, find(entries::TREE_ENTRY)),
            entries::tree_bytes(&table)
        );
        let table = std::str::from_utf8(&table).unwrap();
        let at_table = names
            .iter()
            .position(|n| *n == entries::TREE_ENTRY)
            .unwrap();
        assert_eq!(names[at_table + 1], ENTRIES_ENTRY);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), at_table);
        for (e, line) in entries[..at_table].iter().zip(&lines) {
            let data = slice(archive, e);
            assert_eq!(
                *line,
                format!(
                    "{} {} {:08x} {}",
                    e.name,
                    data.len(),
                    crc32fast::hash(&data),
                    crate::hex::encode(blake3::hash(&data).as_bytes())
                )
            );
            assert_eq!(crc32fast::hash(&data), e.crc32);
        }

        // public.json, the key slot, the head and its signatures.
        let public_bytes = slice(archive, find(PUBLIC_ENTRY));
        let parsed = public::Public::parse(&public_bytes).unwrap();
        assert_eq!(parsed.to_bytes(), public_bytes);
        let rows = entries::parse(table.as_bytes()).unwrap();
        assert_eq!(rows.len(), at_table);
        let public: serde_json::Value = serde_json::from_slice(&public_bytes).unwrap();
        assert_eq!(public["version"], "2.0");
        let archive_id: [u8; 16] = crate::hex::decode(public["archive_id"].as_str().unwrap())
            .unwrap()[..]
            .try_into()
            .unwrap();
        let slot: crypto::KeySlot = serde_json::from_value(public["key_slots"][0].clone()).unwrap();
        let key = crypto::open_x25519_slot(&slot, &archive_id, keys.reader.secret()).unwrap();
        assert_eq!(
            public["key_commitment"],
            crate::hex::encode(&key.commitment(&archive_id))
        );
        let head_bytes = slice(archive, find(HEAD_ENTRY));
        let h = Head::parse(&head_bytes).unwrap();
        assert_eq!(h.entries, *blake3::hash(table.as_bytes()).as_bytes());
        assert_eq!(h.public, *blake3::hash(&public_bytes).as_bytes());
        assert_eq!(h.archive_id, archive_id);
        assert_eq!(h.records, expected.len() as u64);
        assert_eq!(
            h.bytes,
            expected.iter().map(|(_, b)| b.len() as u64).sum::<u64>()
        );
        let sigs = head::parse_signatures(&slice(archive, find(SIGNATURES_ENTRY))).unwrap();
        if signed {
            assert_eq!(sigs.len(), 1);
            assert_eq!(sigs[0].public_key, keys.issuer_public);
            assert_eq!(head::verify(&sigs[0], &head_bytes), Some(true));
            assert_eq!(
                public["issuers"][0]["public_key"],
                crate::hex::encode(&keys.issuer_public)
            );
        } else {
            assert!(sigs.is_empty());
            assert_eq!(public["issuers"], serde_json::json!([]));
        }

        // The index, then each bundle opened whole.
        let index_stream: [u8; 16] =
            crate::hex::decode(public["catalog"]["index_stream"].as_str().unwrap()).unwrap()[..]
                .try_into()
                .unwrap();
        let ikey = key.stream_key(&archive_id, StreamId::Index(index_stream));
        let index_plain = crypto::open_stream(&ikey, &slice(archive, find(INDEX_ENTRY))).unwrap();
        let ix = index::Index::parse(&index_plain, INDEX_ENTRY).unwrap();
        assert_eq!(ix.records, expected.len() as u64);
        assert_eq!(public["catalog"]["pages"], ix.pages.len() as u64);
        assert_eq!(public["bundles"], ix.bundles.len() as u64);
        assert_eq!(ix.pages.len(), expected.len().div_ceil(PAGE_RECORDS));
        let mut want: Vec<String> = vec![crate::MIMETYPE_ENTRY.into(), crate::SPEC_ENTRY.into()];
        want.extend((0..ix.bundles.len() as u64).map(bundle_entry));
        want.extend((0..ix.pages.len() as u64).map(page_entry));
        want.push(INDEX_ENTRY.into());
        let stripes = (ix.pages.len() as u64 + 1).div_ceil(recovery::STRIPE as u64);
        want.extend((0..stripes).map(recovery::parity_entry));
        want.extend(
            [
                outboard::OUTBOARD_ENTRY,
                recovery::TAIL_ENTRY,
                entries::TREE_ENTRY,
                ENTRIES_ENTRY,
                PUBLIC_ENTRY,
                HEAD_ENTRY,
                SIGNATURES_ENTRY,
            ]
            .map(String::from),
        );
        assert_eq!(names, want);
        // Each parity entry is the XOR of its stripe's sealed members, and
        // each member is its stripe's parity XOR the others.
        let pages = ix.pages.len() as u64;
        for lost in 0..=pages {
            let name = recovery::catalog_member(lost, pages);
            let size = find(&name).size;
            let intact = |n: &str| (n != name).then(|| slice(archive, find(n)));
            assert_eq!(
                recovery::rebuild_catalog_entry(&name, pages, size, &intact),
                Some(slice(archive, find(&name))),
                "{name} from its stripe"
            );
        }
        // The outboard: the values of every earlier entry over one piece,
        // each its piece's, merging to the entry's BLAKE3.
        let at_outboard = names
            .iter()
            .position(|n| *n == outboard::OUTBOARD_ENTRY)
            .unwrap();
        let ob = slice(archive, &entries[at_outboard]);
        let mut values = ob.chunks_exact(32);
        for e in &entries[..at_outboard] {
            let data = slice(archive, e);
            let mut m = outboard::Merger::new();
            for k in 0..outboard::values(e.size) {
                let v: [u8; 32] = values.next().unwrap().try_into().unwrap();
                let from = (k * outboard::PIECE) as usize;
                let to = (from + outboard::PIECE as usize).min(data.len());
                assert_eq!(outboard::piece_value(k, &data[from..to]), v, "{}", e.name);
                m.push(v);
            }
            if e.size > outboard::PIECE {
                assert_eq!(
                    m.root(),
                    Some(*blake3::hash(&data).as_bytes()),
                    "{}",
                    e.name
                );
            }
        }
        assert!(values.next().is_none() && ob.len().is_multiple_of(32));
        // The recovery entry gives public.json, the entry table and the head.
        let rec_entry = find(recovery::TAIL_ENTRY);
        let rec_bytes = slice(archive, rec_entry);
        let rec = recovery::TailRecovery::parse(&rec_bytes).unwrap();
        assert_eq!(rec.public, slice(archive, find(PUBLIC_ENTRY)));
        let table = slice(archive, find(ENTRIES_ENTRY));
        assert_eq!(
            rec.entries_with(
                rec_entry.size,
                rec_entry.crc32,
                blake3::hash(&rec_bytes).as_bytes()
            ),
            table
        );
        assert_eq!(
            rec.head_with(blake3::hash(&table).as_bytes()),
            Some(slice(archive, find(HEAD_ENTRY)))
        );
        let bundles: Vec<Vec<u8>> = ix
            .bundles
            .iter()
            .enumerate()
            .map(|(n, b)| {
                let k = key.stream_key(&archive_id, StreamId::Bundle(b.stream));
                let plain = crypto::open_stream(&k, &slice(archive, find(&bundle_entry(n as u64))))
                    .unwrap();
                assert_eq!(plain.len() as u64, crypto::padme(b.len));
                assert!(
                    plain[b.len as usize..].iter().all(|&x| x == 0),
                    "padding is zeros"
                );
                plain
            })
            .collect();

        // Each page: opened, parsed, located, its records read back.
        let mut roots = tree::RootBuilder::new();
        let mut n = 0;
        for (p, line) in ix.pages.iter().enumerate() {
            let name = page_entry(p as u64);
            let k = key.stream_key(&archive_id, StreamId::Page(line.stream));
            let deflated = crypto::open_stream(&k, &slice(archive, find(&name))).unwrap();
            let records = page::parse_page(&deflated, &ix.tables, &name).unwrap();
            assert_eq!(records.len(), line.count as usize);
            assert_eq!(records.last().unwrap().path, line.last);
            let places = page::locate(&records, line.first_bundle, line.first_offset);
            let mut leaves = Vec::new();
            for (rec, (b, off)) in records.iter().zip(places) {
                let (path, bytes) = &expected[n];
                n += 1;
                assert_eq!(&rec.path, path);
                let stored = &bundles[b as usize][off as usize..(off + rec.stored_size) as usize];
                assert!(off + rec.stored_size <= ix.bundles[b as usize].len);
                let got = match rec.encoding {
                    Encoding::Identity => stored.to_vec(),
                    _ => miniz_oxide::inflate::decompress_to_vec(stored).unwrap(),
                };
                assert_eq!(&got, bytes, "{path}");
                assert_eq!(rec.blake3, *blake3::hash(bytes).as_bytes());
                assert_eq!(rec.size, bytes.len() as u64);
                let salt = tree::record_salt(&key, &archive_id, &rec.path);
                leaves.push(tree::leaf_hash(&rec.leaf(&salt).unwrap()));
            }
            assert_eq!(tree::root(&leaves), line.root, "{name}'s root");
            roots.push(tree::leaf_hash(&line.root));
        }
        assert_eq!(n, expected.len());
        assert_eq!(roots.root(), h.records_root);
    }

    /// Writes `count` records (text and random by turns, 20-200 bytes, one
    /// over 64 KiB) and checks the archive.
    fn round_trip(count: usize, bundle_target: Option<u64>) -> Vec<u8> {
        let (mut w, keys) = writer_to(std::io::Cursor::new(Vec::new()), count as u64, true);
        if let Some(t) = bundle_target {
            w.bundle_target = t;
        }
        let mut r = rng(99);
        let mut expected = Vec::new();
        for i in 0..count {
            let len = if i == count / 2 {
                70_000 + i
            } else {
                20 + (i * 37) % 181
            };
            let path = format!("r{:03}/record-{i:08}.txt", i / 1000);
            let bytes = content(i, len, &mut r);
            w.add_record(meta(&path), RecordSource::Bytes(&bytes))
                .unwrap();
            expected.push((path, bytes));
        }
        let archive = w.finish().unwrap().into_inner();
        check(&archive, &keys, true, &expected);
        archive
    }

    #[test]
    fn archives_of_every_page_boundary_read_back() {
        for count in [0, 1, 4095, 4096, 4097, 10_000] {
            round_trip(count, None);
        }
    }

    #[test]
    fn small_bundles_split_records_across_bundles_and_pages() {
        // 10,000 records of about 110 bytes stored in bundles of at most
        // 50 KB: about 20 bundles, pages starting inside and at the start
        // of bundles, and the record over 64 KiB in a bundle of its own.
        let archive = round_trip(10_000, Some(50_000));
        let tail = &archive[archive.len() - container::TAIL_LEN..];
        let dir = container::parse_end(tail, archive.len() as u64).unwrap();
        let cd = &archive[dir.offset as usize..(dir.offset + dir.size) as usize];
        let bundles = container::parse_directory(cd, &dir)
            .unwrap()
            .iter()
            .filter(|e| e.name.starts_with("b/"))
            .count();
        assert!(bundles > 15, "{bundles} bundles");
    }

    #[test]
    fn out_of_order_paths_are_refused_naming_both() {
        let (mut w, _) = writer_to(std::io::Cursor::new(Vec::new()), 1, false);
        w.add_record(meta("b.txt"), RecordSource::Bytes(b"b"))
            .unwrap();
        for bad in ["a.txt", "b.txt"] {
            let e = w
                .add_record(meta(bad), RecordSource::Bytes(b"x"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(bad) && e.contains("\"b.txt\""), "{e}");
        }
        // Bytewise order: "B" (0x42) sorts before "a" (0x61).
        let e = w.add_record(meta("B.txt"), RecordSource::Bytes(b"x"));
        assert!(e.is_err());
        w.add_record(meta("c.txt"), RecordSource::Bytes(b"c"))
            .unwrap();
        let e = w
            .add_decoder(
                b"\0asm\x01\0\0\0",
                DecoderRef {
                    entry: String::new(),
                    name: "none".into(),
                    version: "0".into(),
                    abi: 1,
                    media_types: vec![],
                    limits: manifest::DecoderLimits {
                        fuel: 1,
                        max_depth: 1,
                        max_memory_pages: 1,
                    },
                },
                false,
            )
            .unwrap_err()
            .to_string();
        assert!(e.contains("before the first record"), "{e}");
    }

    #[test]
    fn writes_to_a_file_with_a_streamed_record_over_compress_max() {
        let dir = std::env::temp_dir().join(format!("legation-v2-writer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.legation");
        let file = std::fs::File::create(&path).unwrap();
        let (mut w, keys) = writer_to(std::io::BufWriter::new(file), 5, false);
        let mut r = rng(6);
        let big = content(1, COMPRESS_MAX as usize + 70_001, &mut r);
        let small = content(0, 5000, &mut r);
        w.add_record(
            meta("a/big.bin"),
            RecordSource::Reader {
                reader: &mut &big[..],
                size: big.len() as u64,
            },
        )
        .unwrap();
        w.add_record(meta("a/small.txt"), RecordSource::Bytes(&small))
            .unwrap();
        // A reader longer than it said is refused.
        let long = [7u8; 10];
        let e = w.add_record(
            meta("b"),
            RecordSource::Reader {
                reader: &mut &long[..],
                size: 9,
            },
        );
        assert!(e.is_err());
        drop(w);
        let file = std::fs::File::create(&path).unwrap();
        let (mut w, _) = writer_to(std::io::BufWriter::new(file), 5, false);
        w.add_record(
            meta("a/big.bin"),
            RecordSource::Reader {
                reader: &mut &big[..],
                size: big.len() as u64,
            },
        )
        .unwrap();
        w.add_record(meta("a/small.txt"), RecordSource::Bytes(&small))
            .unwrap();
        w.finish().unwrap();
        let archive = std::fs::read(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        check(
            &archive,
            &keys,
            false,
            &[("a/big.bin".into(), big), ("a/small.txt".into(), small)],
        );
    }

    #[test]
    fn the_spill_goes_to_a_temporary_file_and_reads_back() {
        let mut s = Spill::default();
        let mut want = Vec::new();
        let mut r = rng(8);
        while want.len() <= SPILL_MEMORY {
            let mut part = vec![0u8; 3 << 20];
            r.fill_bytes(&mut part);
            s.append(&part).unwrap();
            want.extend_from_slice(&part);
        }
        let path = s.file.as_ref().expect("spilled to a file").path.clone();
        assert!(path.exists() && s.memory.is_empty());
        let mut got = Vec::new();
        s.reader().unwrap().read_to_end(&mut got).unwrap();
        assert!(got == want);
        drop(s);
        assert!(!path.exists(), "the temporary file is removed");
    }

    /// Issue 20's overhead target: at most 128 bytes a record beyond the
    /// records' own bytes, for 100,000 records of 20-200 bytes with 32-byte
    /// paths, no Dublin Core, stored as they are.
    #[test]
    fn overhead_is_at_most_128_bytes_a_record() {
        let (mut w, _) = writer_to(std::io::Cursor::new(Vec::new()), 11, true);
        let mut r = rng(12);
        let n = 100_000u64;
        let mut total = 0u64;
        let mut bytes = [0u8; 200];
        for i in 0..n {
            let len = 20 + (r.next_u32() % 181) as usize;
            r.fill_bytes(&mut bytes[..len]);
            let path = format!("national/reg/r{i:014}.bin");
            assert_eq!(path.len(), 32);
            let m = RecordMeta {
                path,
                media_type: "application/octet-stream".into(),
                modified: Some(1_700_000_000 + i as i64),
                ..RecordMeta::default()
            };
            w.add_record(m, RecordSource::Bytes(&bytes[..len])).unwrap();
            total += len as u64;
        }
        let archive = w.finish().unwrap().into_inner();
        let overhead = (archive.len() as u64 - total) as f64 / n as f64;
        println!(
            "format 2.0 overhead: {overhead:.1} bytes a record ({} bytes for {n} records of {total} bytes)",
            archive.len()
        );
        assert!(overhead <= 128.0, "{overhead} bytes a record");
    }

    #[test]
    fn records_bringing_the_bundles_to_2_62_bytes_are_refused_before_reading() {
        let (mut w, _) = writer_to(std::io::Cursor::new(Vec::new()), 21, false);
        w.add_record(meta("a.txt"), RecordSource::Bytes(b"abc"))
            .unwrap();
        let mut unread = &b"never read"[..];
        let e = w
            .add_record(
                meta("b.bin"),
                RecordSource::Reader {
                    reader: &mut unread,
                    size: index::MAX_BUNDLES_LEN - 3,
                },
            )
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("b.bin: too large: its 4611686018427387901 stored bytes")
                && e.contains("2^62 bytes or more together (after 3 bytes)"),
            "{e}"
        );
        assert_eq!(unread, b"never read");
        // One byte less is not refused for its size (the reader then ends
        // early), nor is u64::MAX a panic.
        let (mut w, _) = writer_to(std::io::Cursor::new(Vec::new()), 21, false);
        w.add_record(meta("a.txt"), RecordSource::Bytes(b"abc"))
            .unwrap();
        let e = w
            .add_record(
                meta("b.bin"),
                RecordSource::Reader {
                    reader: &mut &b"short"[..],
                    size: index::MAX_BUNDLES_LEN - 4,
                },
            )
            .unwrap_err()
            .to_string();
        assert!(!e.contains("too large"), "{e}");
        let (mut w, _) = writer_to(std::io::Cursor::new(Vec::new()), 21, false);
        let e = w
            .add_record(
                meta("c.bin"),
                RecordSource::Reader {
                    reader: &mut &b""[..],
                    size: u64::MAX,
                },
            )
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.bin: too large"), "{e}");
    }

    #[test]
    fn a_public_json_over_4_mib_is_refused_before_the_catalog_is_written() {
        let path = std::env::temp_dir().join(format!(
            "legation-v2-public-{}.legation",
            std::process::id()
        ));
        let run = |slots: usize| {
            let file = std::fs::File::create(&path).unwrap();
            let (mut w, _) = writer_to(file, 22, true);
            w.add_record(meta("a.txt"), RecordSource::Bytes(b"abc"))
                .unwrap();
            let slot = w.key_slots[0].clone();
            w.key_slots.resize(slots, slot);
            let r = w.finish().map(|_| ());
            (r, std::fs::read(&path).unwrap())
        };
        let (ok, archive) = run(1);
        ok.unwrap();
        let tail = &archive[archive.len() - container::TAIL_LEN..];
        assert!(container::parse_end(tail, archive.len() as u64).is_ok());
        // One slot's share of public.json.
        let slot_len = {
            let file = std::fs::File::create(&path).unwrap();
            let (w, _) = writer_to(file, 22, true);
            serde_json::to_vec(&w.key_slots[0]).unwrap().len() + 1
        };
        let (e, written) = run(public::MAX_PUBLIC_BYTES / slot_len + 1);
        std::fs::remove_file(&path).unwrap();
        let e = e.unwrap_err().to_string();
        assert!(
            e.starts_with("public.json: too large: ")
                && e.contains("key slots, 0 decoders), more than the 4194304 a reader accepts"),
            "{e}"
        );
        // Nothing after the bundles: no page, no index, no end records.
        let tail = &written[written.len().saturating_sub(container::TAIL_LEN)..];
        assert!(container::parse_end(tail, written.len() as u64).is_err());
        let header_of = |name: &str| {
            written
                .windows(30 + name.len())
                .any(|w| w.starts_with(b"PK\x03\x04") && w.ends_with(name.as_bytes()))
        };
        assert!(header_of("b/00000000"));
        assert!(!header_of("c/00000000") && !header_of(INDEX_ENTRY));
    }

    #[test]
    fn the_entry_table_is_counted_to_the_byte_and_refused_past_64_mib() {
        // Three identical archives (the same seed): as written, with the
        // count started so that the table lands exactly on the limit, and
        // one byte further.
        let run = |head_start: Option<usize>| {
            let (mut w, _) = writer_to(std::io::Cursor::new(Vec::new()), 23, true);
            for i in 0..5 {
                w.add_record(meta(&format!("r{i}")), RecordSource::Bytes(b"abc"))
                    .unwrap();
            }
            if let Some(n) = head_start {
                w.out.table_len += n;
            }
            w.finish().map(|c| c.into_inner())
        };
        let archive = run(None).unwrap();
        let tail = &archive[archive.len() - container::TAIL_LEN..];
        let dir = container::parse_end(tail, archive.len() as u64).unwrap();
        let cd = &archive[dir.offset as usize..(dir.offset + dir.size) as usize];
        let listed = container::parse_directory(cd, &dir).unwrap();
        let table = listed
            .iter()
            .find(|e| e.name == ENTRIES_ENTRY)
            .unwrap()
            .size as usize;
        run(Some(entries::MAX_ENTRIES_BYTES - table)).unwrap();
        let e = run(Some(entries::MAX_ENTRIES_BYTES - table + 1))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("entries: too large: the entry table would pass the 67108864 bytes")
                && e.ends_with("(recovery)"),
            "{e}"
        );
    }

    #[test]
    fn too_many_empty_folders_are_refused_as_they_come() {
        let (mut w, _) = writer_to(std::io::Cursor::new(Vec::new()), 24, false);
        w.empty_dirs = vec![String::new(); index::MAX_INDEX_ITEMS - 1];
        w.add_empty_dir("last").unwrap();
        let e = w.add_empty_dir("one/more").unwrap_err().to_string();
        assert!(e.starts_with("c/index: too many items"), "{e}");
    }
}
