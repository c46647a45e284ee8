//! `convert ARCHIVE -o NEW`: a format 1.0-1.3 archive rewritten as format
//! 2.0, with a key that opens it and (unless `--unsigned`) the issuer's
//! signing key.
//!
//! The 1.x archive's signature is checked first (as every command that
//! shows content does; `--issuer` pins), then it is unlocked. What a
//! reader sees of it is carried over: every record (path, title, media
//! type, modified time, Dublin Core, decoder, render outcome), its bytes
//! checked against the catalog's BLAKE3 as they are copied, the empty
//! folders, and the decoder modules byte for byte with their descriptions
//! (so the records' decoder entries and render hashes stay valid). What
//! cannot be carried is made anew and said so: key slots cannot be
//! re-wrapped without the recipients' public keys, so the new archive is
//! for the `--recipient`s and passphrase given; it has a fresh archive id,
//! data key and creation time; an embedded `viewer.html` (format 1.1)
//! predates 2.0 and is left out (said in a note).
//!
//! Records stream one catalog page at a time (1.x pages hold their records
//! in path order, which the 2.0 writer requires and checks): memory holds
//! two 1.x pages, one 2.0 page and one record of at most
//! [`COMPRESS_MAX`] bytes (a larger one streams through a bounded pipe).
//! The output is written beside its name and placed only when whole.

use std::fs;
use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;
use std::sync::mpsc;

use anyhow::{anyhow, bail, Context, Result};
use legation_format::catalog::{CatalogRecord, Render};
use legation_format::crypto::{self, Argon2Params};
use legation_format::keys;
use legation_format::v2::writer::ArchiveWriter;
use legation_format::writer::{RecordMeta, RecordSource, WriterOptions, COMPRESS_MAX};
use legation_reader::{ErrorKind, Unlocked};
use rand_core::OsRng;

use super::{open, unlock_required};
use crate::keyopts::{self, KeyOpts};
use crate::location::Location;
use crate::output;
use crate::place::{place, temp_beside};

/// The arguments of `convert`.
pub struct ConvertArgs {
    /// The 1.x archive.
    pub archive: Location,
    /// The 2.0 archive to write.
    pub output: PathBuf,
    /// Keys that open the 1.x archive, and `--issuer` to pin its signer.
    pub keys: KeyOpts,
    /// Recipients of the new archive (`NAME.pub`).
    pub recipients: Vec<PathBuf>,
    /// A file whose first line is a passphrase that opens the new archive.
    pub new_passphrase_file: Option<PathBuf>,
    /// Accept a new passphrase the strength check refuses.
    pub allow_weak_passphrase: bool,
    /// The issuer signing key of the new archive.
    pub sign: Option<PathBuf>,
    /// Write the new archive unsigned (must be asked for).
    pub unsigned: bool,
    /// Replace NEW if it exists.
    pub force: bool,
}

/// What was carried, for the summary.
#[derive(Default)]
pub(crate) struct Carried {
    pub(crate) records: u64,
    pub(crate) bytes: u64,
    /// Render outcomes of a kind this reader does not know, carried as
    /// "no recorded view" (2.0 pages cannot hold an unknown kind).
    unknown_renders: u64,
}

/// `convert ARCHIVE -o NEW`.
pub fn convert(a: ConvertArgs) -> Result<u8> {
    if a.output.exists() && !a.force {
        bail!("{} exists (use --force to replace it)", a.output.display());
    }
    if a.sign.is_none() && !a.unsigned {
        bail!(
            "give the new archive's signing key (--sign ISSUER.key), or --unsigned to write \
             an archive that nobody signed"
        );
    }
    let recipients = keyopts::read_recipients(&a.recipients)?;
    // Only a file: LEGATION_PASSPHRASE, if set, is for opening the input.
    let passphrase = match &a.new_passphrase_file {
        Some(f) => keyopts::passphrase_from_file_or_env(Some(f))?,
        None => None,
    };
    if passphrase.is_none() && recipients.is_empty() {
        bail!(
            "the new archive needs at least one --recipient NAME.pub or --new-passphrase-file \
             FILE: key slots cannot be carried over, since re-wrapping the data key needs the \
             recipients' public keys"
        );
    }
    if let (Some(p), false) = (&passphrase, a.allow_weak_passphrase) {
        keys::check_passphrase(p)?;
    }
    let issuer = match &a.sign {
        Some(p) => Some(keyopts::read_issuer_secret(p)?),
        None => None,
    };

    let archive = open(&a.archive)?;
    let from = archive.manifest().version.clone();
    if !from.starts_with("1.") {
        bail!(
            "{}: already format {from}; convert rewrites format 1.0 to 1.3 archives as 2.0",
            a.archive
        );
    }
    let u = unlock_required(&a.archive, &archive, &a.keys)?;
    if archive.entry(legation_format::VIEWER_ENTRY).is_ok() {
        eprintln!(
            "note: {}: its embedded viewer.html is not carried (a 1.x viewer does not read \
             format 2.0)",
            a.archive
        );
    }

    let created = keyopts::creation_time()?;
    let opts = WriterOptions {
        created,
        issuer,
        recipients,
        passphrases: passphrase
            .into_iter()
            .map(|p| (p, Argon2Params::DEFAULT))
            .collect(),
        embed_spec: true,
        viewer: None,
    };
    let fingerprint = opts
        .issuer
        .as_ref()
        .map(|k| crypto::fingerprint(&k.public()));

    let (tmp, file) = temp_beside(&a.output)?;
    let mut carried = Carried::default();
    let result = (|| -> Result<()> {
        let out = BufWriter::with_capacity(1 << 20, file);
        let mut w = ArchiveWriter::new(out, opts, OsRng)?;
        copy_archive(&u, &mut w, &mut carried)?;
        let out = w.finish()?;
        let f = out.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e.context(format!(
            "converting {} into {} (nothing written)",
            a.archive,
            a.output.display()
        )));
    }
    place(&tmp, &a.output, a.force)?;
    if carried.unknown_renders > 0 {
        eprintln!(
            "note: {} records had a render outcome of a kind this version does not know; \
             they are carried as having no recorded view",
            carried.unknown_renders
        );
    }
    eprintln!(
        "converted {} records ({}), {} empty folders and {} decoders from format {from} to \
         format 2.0 into {}{}",
        carried.records,
        output::size(carried.bytes),
        u.index().empty_dirs.len(),
        archive.manifest().decoders.len(),
        a.output.display(),
        fingerprint
            .map(|f| format!(", signed by {f}"))
            .unwrap_or_else(|| ", unsigned".into())
    );
    Ok(0)
}

/// Carries decoders, empty folders and records from `u` into `w`.
pub(crate) fn copy_archive<W, R>(
    u: &Unlocked,
    w: &mut ArchiveWriter<W, R>,
    c: &mut Carried,
) -> Result<()>
where
    W: Write + std::io::Seek,
    R: rand_core::CryptoRngCore,
{
    let archive = u.archive();
    let cap = legation_reader::decode::HostLimits::default().module_cap as u64;
    for d in &archive.manifest().decoders {
        // Checked against the manifest's BLAKE3 as it is read.
        let module = archive
            .read_entry(&d.entry, cap)
            .with_context(|| format!("reading decoder {}", d.entry))?;
        // 2.0 readers run vector instructions whatever the flag says.
        let entry = w.add_decoder(&module, d.clone(), false)?;
        if entry != d.entry {
            bail!(
                "decoder {}: its module's BLAKE3 names it {entry}; the records that name {} \
                 would lose it",
                d.entry,
                d.entry
            );
        }
    }
    for dir in &u.index().empty_dirs {
        w.add_empty_dir(dir)?;
    }
    let pages = u.index().pages.len();
    let mut failed = None;
    u.for_each_page(0..pages, &mut |n, page| {
        let page = match page {
            Ok(p) => p,
            Err(e) => {
                failed = Some(anyhow!(e).context(format!("reading catalog page {n}")));
                return false;
            }
        };
        for rec in &page.records {
            if let Err(e) = copy_record(u, w, rec, c) {
                failed = Some(e);
                return false;
            }
        }
        true
    });
    if let Some(e) = failed {
        return Err(e);
    }
    if c.records != u.record_count() {
        bail!(
            "the catalog index says {} records, its pages hold {}",
            u.record_count(),
            c.records
        );
    }
    Ok(())
}

/// Carries one record: its facts as the 2.0 page holds them, its bytes
/// checked against the catalog's size and BLAKE3 on the way.
fn copy_record<W, R>(
    u: &Unlocked,
    w: &mut ArchiveWriter<W, R>,
    rec: &CatalogRecord,
    c: &mut Carried,
) -> Result<()>
where
    W: Write + std::io::Seek,
    R: rand_core::CryptoRngCore,
{
    let modified = match &rec.modified {
        None => None,
        Some(t) => Some(legation_format::time::parse_rfc3339(t).ok_or_else(|| {
            anyhow!(
                "record {}: modified time {t:?} is not RFC 3339 UTC seconds",
                rec.path
            )
        })?),
    };
    let render = match &rec.render {
        Some(Render::Unknown) => {
            c.unknown_renders += 1;
            None
        }
        r => r.clone(),
    };
    // A 2.0 page leaves out a title that is the path's last segment (a
    // reader derives it), so it is given only when it differs.
    let last = rec.path.rsplit('/').next().unwrap_or(&rec.path);
    let meta = RecordMeta {
        path: rec.path.clone(),
        title: if rec.title == last {
            String::new()
        } else {
            rec.title.clone()
        },
        media_type: rec.media_type.clone(),
        modified,
        decoder: rec.decoder.clone(),
        render,
        metadata: rec.metadata.clone(),
    };
    if rec.size <= COMPRESS_MAX {
        // Every chunk's tag, the size and the BLAKE3 are checked before
        // the writer sees a byte.
        let bytes = u
            .read_record(rec, COMPRESS_MAX)
            .with_context(|| format!("record {}", rec.path))?;
        w.add_record(meta, RecordSource::Bytes(&bytes))
            .with_context(|| format!("record {}", rec.path))?;
    } else {
        streamed(u, w, rec, meta)?;
    }
    c.records += 1;
    c.bytes += rec.size;
    Ok(())
}

/// Pieces of a large record in flight between the thread that reads it
/// and the writer (each at most 2 MiB, as [`Unlocked::copy_record`]
/// writes them).
const PIPE_PIECES: usize = 4;

/// Carries a record larger than [`COMPRESS_MAX`]: one thread reads it
/// (checking every chunk as it comes and the BLAKE3 at its end) into a
/// bounded pipe that the writer reads from. The writer has the bytes
/// before the BLAKE3 is known, so a mismatch fails the whole conversion,
/// whose output is then removed.
fn streamed<W, R>(
    u: &Unlocked,
    w: &mut ArchiveWriter<W, R>,
    rec: &CatalogRecord,
    meta: RecordMeta,
) -> Result<()>
where
    W: Write + std::io::Seek,
    R: rand_core::CryptoRngCore,
{
    let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(PIPE_PIECES);
    let (added, copied) = std::thread::scope(|s| {
        let copier = s.spawn(move || {
            let mut pipe = PipeWriter(tx);
            u.copy_record(rec, &mut pipe, &mut |_| {})
        });
        let mut pipe = PipeReader {
            rx,
            piece: Vec::new(),
            at: 0,
        };
        let added = w.add_record(
            meta,
            RecordSource::Reader {
                reader: &mut pipe,
                size: rec.size,
            },
        );
        // A copier still sending finds the pipe closed and ends.
        drop(pipe);
        let copied = copier
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (added, copied)
    });
    match (added, copied) {
        (_, Err(e)) if matches!(e.kind(), ErrorKind::Damaged | ErrorKind::Forged) => {
            Err(anyhow!(e).context(format!("record {}", rec.path)))
        }
        (Err(e), _) => Err(anyhow!(e).context(format!("record {}", rec.path))),
        (Ok(()), Err(e)) => Err(anyhow!(e).context(format!("record {}", rec.path))),
        (Ok(()), Ok(())) => Ok(()),
    }
}

/// The sending end of the pipe: each write is one piece.
struct PipeWriter(mpsc::SyncSender<Vec<u8>>);

impl Write for PipeWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.send(buf.to_vec()).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the writer stopped reading")
        })?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The receiving end: the pieces in order, then the end once the reading
/// thread is done.
struct PipeReader {
    rx: mpsc::Receiver<Vec<u8>>,
    piece: Vec<u8>,
    at: usize,
}

impl Read for PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.piece.len() {
            match self.rx.recv() {
                Ok(p) => {
                    self.piece = p;
                    self.at = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.piece.len() - self.at);
        buf[..n].copy_from_slice(&self.piece[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}
