//! Rebuilding a damaged copy of an archive from another copy, without a
//! key (SPEC.md §16.5).
//!
//! Every byte of an archive follows from its manifest, its signature and
//! the data of the entries the manifest lists: the layout, each entry's
//! offset included, from the names and sizes (§3.3), every header from the
//! names, sizes and CRC-32s (§3.4 to §3.6). So one valid manifest locates
//! every entry in both copies without trusting either copy's central
//! directory, and each entry's BLAKE3 says which copy still holds it
//! intact. [`repair`] takes each entry from the damaged copy where it is
//! intact and from the other copy where it is not, and regenerates every
//! header, the central directory and the end records, so that the result
//! is, byte for byte, the archive whose manifest the issuer signed.
//!
//! Each copy's manifest is found through its central directory when that
//! opens, else by scanning the end of the file for the manifest's local
//! header (the end records or the directory may be the damaged part).

use std::io::{Seek, SeekFrom, Write};
use std::sync::Arc;

use legation_format::container::{self, Entry};
use legation_format::manifest::{self, Manifest};
use legation_format::{
    crypto, hex, recovery, CATALOG_PAGE_PREFIX, MANIFEST_ENTRY, RECORD_PREFIX, SIGNATURE_ENTRY,
};
use serde::Serialize;

use crate::archive::{check_decoders, MAX_DIRECTORY, MAX_MANIFEST};
use crate::source::ReadAt;
use crate::{Archive, Error, ErrorKind, Result};

/// One of the two copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The copy being repaired.
    Damaged,
    /// The copy repaired from.
    Other,
}

/// What the caller pins or chooses.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The issuer whose signature the manifest must carry; a manifest
    /// signed by another key, or unsigned, is not used.
    pub pinned: Option<[u8; 32]>,
    /// Whose manifest to use when both copies hold valid manifests that
    /// differ (another or an older archive); `None` refuses then.
    pub prefer: Option<Side>,
}

/// What was found of one copy's manifest.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ManifestStatus {
    /// The copy's name (its path).
    pub copy: String,
    /// The copy's length in bytes.
    pub len: u64,
    /// How the manifest was found: `"central directory"`, `"scan"`, or
    /// `None` if it was not.
    pub found: Option<String>,
    /// Whether its stored bytes were damaged and put right from its own
    /// recovery data (§5.5).
    pub recovered: bool,
    /// Why the central directory did not open, when it did not.
    pub directory_problem: Option<String>,
    /// The archive id the manifest names.
    pub archive_id: Option<String>,
    /// Its creation time.
    pub created: Option<String>,
    /// The signer's fingerprint, if the signature verifies.
    pub signer: Option<String>,
    /// BLAKE3 of the manifest's bytes.
    pub manifest_blake3: Option<String>,
    /// Whether the manifest can be used (parses, signature verifies,
    /// pinned issuer matches).
    pub usable: bool,
    /// Why it cannot be used, or was not found.
    pub problem: Option<String>,
}

/// An entry that was not intact in one copy.
#[derive(Debug, Clone, Serialize)]
pub struct Damage {
    /// The entry name, or the structure (`central directory and end
    /// records`, `file length`).
    pub entry: String,
    /// What is wrong.
    pub problem: String,
}

/// Entries and bytes taken from one copy.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Tally {
    /// Entries.
    pub entries: u64,
    /// Bytes of entry data.
    pub bytes: u64,
}

/// What the damaged copy's own bytes say about a manifest taken from the
/// other copy because the damaged copy holds none that can be used
/// (SPEC.md §16.5): the manifest is used only if every entry the damaged
/// copy still holds intact is one it lists, where it puts it, and at
/// least one is.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Support {
    /// Entries the manifest lists (its own and its signature aside).
    pub listed: u64,
    /// Entries the damaged copy holds intact by its own local headers (a
    /// canonical header whose CRC-32 its data has), its manifest and
    /// signature aside.
    pub surviving: u64,
    /// Of these, the ones the manifest lists at that offset with that
    /// size, CRC-32 and BLAKE3: all of them, or the manifest is refused.
    pub confirmed: u64,
    /// Of the confirmed, the archive's own entries (records, catalog
    /// pages, the index, parity), which another archive does not share:
    /// `0` means the damaged copy confirms only entries that every
    /// archive may hold (the `mimetype`, `SPEC.md`, the viewer, decoders).
    pub confirmed_own: u64,
    /// Listed entries the damaged copy did not confirm (damaged, missing,
    /// or their headers damaged), each taken from wherever its BLAKE3
    /// matches.
    pub unconfirmed: u64,
    /// Whether the manifest is signed; an unsigned one is used only where
    /// the damaged copy's own manifest header survives with its size and
    /// CRC-32 and the central directory follows it (no signature).
    pub signed: bool,
}

/// The outcome of a repair.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The repaired archive's id.
    pub archive_id: String,
    /// Its creation time.
    pub created: String,
    /// The signer's fingerprint; `None` for an unsigned archive.
    pub signer: Option<String>,
    /// Whether the signer was pinned by the caller.
    pub pinned: bool,
    /// The copy whose manifest was used.
    pub manifest_from: Side,
    /// Whether that was the caller's choice between differing manifests.
    pub preferred: bool,
    /// What the damaged copy confirmed of the manifest, when it was taken
    /// from the other copy because the damaged copy holds none that can
    /// be used; `None` when the damaged copy's own manifest was used or
    /// chosen between two.
    pub support: Option<Support>,
    /// BLAKE3 of the manifest used.
    pub manifest_blake3: String,
    /// The damaged copy's manifest.
    pub damaged: ManifestStatus,
    /// The other copy's manifest; `None` when repairing from the damaged
    /// copy's own recovery data alone.
    pub other: Option<ManifestStatus>,
    /// Entries taken from the damaged copy.
    pub from_damaged: Tally,
    /// Entries taken from the other copy.
    pub from_other: Tally,
    /// Catalog entries rebuilt from their stripe's parity (§10.8).
    pub from_parity: Tally,
    /// Format 2.0: entries of the public tail (`public.json`, `head`,
    /// `entries`, `signatures`, `recovery`) put right from the archive's
    /// recovery entry or by their CRC-32 (SPEC 2.0 §25.1); always zero
    /// for 1.x, whose manifest is counted with the copy that held it.
    pub from_recovery: Tally,
    /// The repaired archive's format version (`1.3`, `2.0`, …).
    pub version: String,
    /// Entries not intact in the damaged copy (each taken from the other
    /// copy or rebuilt from parity).
    pub damaged_entries: Vec<Damage>,
    /// Headers, directory and length of the damaged copy that differ from
    /// the archive's (regenerated, not copied).
    pub damaged_structure: Vec<Damage>,
    /// Entries found not intact in the other copy while looking there
    /// (only entries the damaged copy lacked are looked at).
    pub damaged_in_other: Vec<Damage>,
    /// Entries in the repaired archive.
    pub entries: u64,
    /// Length of the repaired archive.
    pub len: u64,
}

/// An entry of the repaired archive, its BLAKE3, and its bytes where the
/// chosen manifest holds them (the manifest and the signature).
type Planned<'a> = (Entry, [u8; 32], Option<&'a [u8]>);

/// A manifest and its signature as found in one copy.
struct Found {
    manifest: Manifest,
    bytes: Vec<u8>,
    signature: Option<Vec<u8>>,
    recovered: bool,
}

/// Bytes read per block.
pub(crate) const BLOCK: usize = 1 << 20;
/// How far from the end of a copy the manifest's local header is looked
/// for when the end records or the directory do not open: a manifest and
/// a directory of the largest sizes accepted, and its signature.
const SCAN_WINDOW: u64 = MAX_MANIFEST + MAX_DIRECTORY + (1 << 20);

/// Rebuilds the archive into `out` (written from its current position,
/// which must be 0 of an empty file; on error `out` holds partial data the
/// caller discards) from the damaged copy, its own recovery data (§5.5,
/// §10.8) and, if given, another copy. Every entry is taken from `damaged`
/// if its BLAKE3 matches the manifest, else from `other` if that matches,
/// else, for a catalog page or the index, rebuilt from its stripe's parity;
/// an entry none of these gives fails the repair, naming it.
pub fn repair<W: Write + Seek>(
    damaged: Arc<dyn ReadAt>,
    other: Option<Arc<dyn ReadAt>>,
    opts: &Options,
    out: &mut W,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Report> {
    // A format 2.0 archive is laid out from its signed head and entry
    // table, not a manifest (SPEC 2.0 §25.1).
    if crate::v2::repair::applies(&damaged, other.as_ref()) {
        return crate::v2::repair::repair(damaged, other, opts, out, progress);
    }
    let copies: Vec<Arc<dyn ReadAt>> = std::iter::once(damaged).chain(other).collect();
    let (status, mut usable, forged) = judge_copies(&copies, |c| judge(c, opts.pinned.as_ref()));
    let (side, preferred) = choose(
        &status,
        &usable,
        forged,
        opts.prefer,
        |d, o| d.bytes == o.bytes,
        |s| {
            format!(
                "archive {} created {}, {}",
                s.archive_id.as_deref().unwrap_or("?"),
                s.created.as_deref().unwrap_or("?"),
                signed_by(s)
            )
        },
    )?;
    let chosen = usable[side as usize].take().unwrap(); // Some by the match above
    let chosen_status = &status[side as usize];

    // The layout, from the manifest alone.
    let mut planned: Vec<Planned<'_>> = Vec::new();
    let mut offset = 0u64;
    let listed = chosen
        .manifest
        .entries
        .iter()
        .map(|e| (e.name.as_str(), e.size, e.crc32, e.blake3, None));
    let tail = std::iter::once((MANIFEST_ENTRY, &chosen.bytes[..]))
        .chain(chosen.signature.as_deref().map(|s| (SIGNATURE_ENTRY, s)))
        .map(|(name, b)| {
            (
                name,
                b.len() as u64,
                crc32fast::hash(b),
                *blake3::hash(b).as_bytes(),
                Some(b),
            )
        });
    for (name, size, crc32, hash, memory) in listed.chain(tail) {
        let next = place(name, size, offset)?;
        let e = Entry {
            name: name.to_owned(),
            size,
            crc32,
            offset,
        };
        offset = next;
        planned.push((e, hash, memory));
    }
    let total: u64 = planned.iter().map(|p| p.0.size).sum();
    let mut buf = vec![0u8; BLOCK];

    // A manifest taken from the other copy because the damaged copy holds
    // none that can be used must be one the damaged copy's surviving bytes
    // support (§16.5): never another archive, an older one or a re-signed
    // one in its place. Checked before a byte is written.
    let support = if side == Side::Other && usable[0].is_none() {
        let s = supported(&*copies[0], &chosen, &planned, &mut buf).map_err(|why| {
            Error::ManifestUnsupported {
                damaged: status[0].copy.clone(),
                other: status[1].copy.clone(),
                why,
            }
        })?;
        Some(s)
    } else {
        None
    };

    let names: Vec<String> = copies.iter().map(|c| c.name().to_owned()).collect();
    // Tallies: the damaged copy, the other copy, parity.
    let mut tally = [Tally::default(); 3];
    let by_name: std::collections::HashMap<&str, usize> = planned
        .iter()
        .enumerate()
        .map(|(i, p)| (p.0.name.as_str(), i))
        .collect();
    let mut damaged_entries = Vec::new();
    let mut damaged_in_other = Vec::new();
    let mut damaged_structure = Vec::new();
    let mut done = 0u64;
    let mut pos = 0u64;
    for (e, hash, memory) in &planned {
        let header = container::local_header(&e.name, e.size, e.crc32);
        write(out, &header, &e.name)?;
        check_header(&*copies[0], e, &header, &mut damaged_structure);
        pos += header.len() as u64;
        let mut why: [Option<String>; 2] = [None, None];
        let mut taken = None;
        for (i, copy) in copies.iter().enumerate() {
            match copy_checked(&**copy, e, hash, out, &mut buf, &mut |n| {
                progress(done + n, total)
            })? {
                Ok(()) => {
                    taken = Some(i);
                    break;
                }
                Err(w) => {
                    why[i] = Some(w);
                    rewind(out, pos, &e.name)?;
                }
            }
        }
        let taken = match (taken, memory) {
            (Some(i), _) => i,
            // The manifest and signature as the chosen copy gave them.
            (None, Some(b)) => {
                write(out, b, &e.name)?;
                side as usize
            }
            (None, None) => match rebuild(&chosen.manifest, &planned, &by_name, &copies, e, hash) {
                Some(b) => {
                    write(out, &b, &e.name)?;
                    2
                }
                None => return Err(unavailable(&e.name, &names, &mut why)),
            },
        };
        for (i, list) in [&mut damaged_entries, &mut damaged_in_other]
            .into_iter()
            .enumerate()
        {
            if let Some(w) = why[i].take() {
                list.push(Damage {
                    entry: e.name.clone(),
                    problem: if i == 0 && e.name == MANIFEST_ENTRY && status[0].recovered {
                        "damaged; put right from its own recovery data".into()
                    } else if taken == 2 && i == 0 {
                        format!("{w} (rebuilt from the catalog's parity)")
                    } else {
                        w
                    },
                });
            }
        }
        tally[taken].entries += 1;
        tally[taken].bytes += e.size;
        pos += e.size;
        done += e.size;
        progress(done, total);
    }

    // The central directory and the end records, as the writer makes them.
    let len = finish(
        out,
        planned.iter().map(|p| &p.0),
        pos,
        &*copies[0],
        &mut buf,
        &mut damaged_structure,
    )?;

    Ok(Report {
        archive_id: hex::encode(&chosen.manifest.archive_id),
        created: chosen.manifest.created.clone(),
        signer: chosen_status.signer.clone(),
        pinned: opts.pinned.is_some(),
        manifest_from: side,
        preferred,
        support,
        manifest_blake3: hex::encode(blake3::hash(&chosen.bytes).as_bytes()),
        damaged: status[0].clone(),
        other: status.get(1).cloned(),
        from_damaged: tally[0],
        from_other: tally[1],
        from_parity: tally[2],
        from_recovery: Tally::default(),
        version: chosen.manifest.version.clone(),
        damaged_entries,
        damaged_structure,
        damaged_in_other,
        entries: planned.len() as u64,
        len,
    })
}

/// Whether the damaged copy's surviving bytes support `chosen`, a manifest
/// from the other copy (§16.5), and how far; else why not, in words.
///
/// Every entry the damaged copy holds intact by its own local headers
/// ([`intact_entries`]), its manifest and signature aside, must be one the
/// manifest lists at that offset with that size, CRC-32 and BLAKE3, and at
/// least one must be. An unsigned manifest also needs the damaged copy to
/// show that its own was unsigned: no intact signature, and its manifest's
/// local header, with this manifest's size and CRC-32, where this manifest
/// puts it, followed by the central directory.
fn supported(
    src: &dyn ReadAt,
    chosen: &Found,
    planned: &[Planned<'_>],
    buf: &mut [u8],
) -> std::result::Result<Support, String> {
    let name = src.name().to_owned();
    let is_tail = |n: &str| n == MANIFEST_ENTRY || n == SIGNATURE_ENTRY;
    // The listed entries, in the order of their offsets.
    let listed: Vec<&Planned<'_>> = planned.iter().filter(|p| !is_tail(&p.0.name)).collect();
    let mut s = Support {
        listed: listed.len() as u64,
        signed: chosen.manifest.issuer.is_some(),
        ..Default::default()
    };
    let mut signature = None;
    let mut against: Option<(Intact, Option<String>)> = None;
    let mut contradicting = 0u64;
    intact_entries(src, buf, &mut |x| {
        if is_tail(&x.name) {
            if x.name == SIGNATURE_ENTRY {
                signature.get_or_insert(x.offset);
            }
            return;
        }
        s.surviving += 1;
        let there = listed
            .binary_search_by_key(&x.offset, |p| p.0.offset)
            .ok()
            .map(|i| listed[i]);
        match there {
            Some((e, hash, _)) if confirms(&x, e, hash) => {
                s.confirmed += 1;
                if [RECORD_PREFIX, CATALOG_PAGE_PREFIX, recovery::PARITY_PREFIX]
                    .iter()
                    .any(|p| e.name.starts_with(p))
                {
                    s.confirmed_own += 1;
                }
            }
            _ => {
                contradicting += 1;
                if against.is_none() {
                    against = Some((x, there.map(|p| p.0.name.clone())));
                }
            }
        }
    });
    if let (false, Some(at)) = (s.signed, signature) {
        return Err(format!(
            "it is unsigned, but {name} holds an intact manifest.sig (at offset {at}): \
             its own manifest was signed"
        ));
    }
    if let Some((x, there)) = against {
        return Err(contradiction(
            &name,
            contradicting,
            s.surviving,
            &x,
            there,
            "that it does not list where it puts them",
        ));
    }
    // A damaged copy with nothing intact left holds nothing a signed
    // manifest could roll back: it is used, and the report says that
    // nothing confirmed it. An unsigned one needs a confirmation.
    if s.confirmed == 0 && !s.signed {
        return Err(format!(
            "it is unsigned, and no entry it lists survives intact in {name} to confirm it"
        ));
    }
    if !s.signed {
        let m = planned
            .iter()
            .find(|p| p.0.name == MANIFEST_ENTRY)
            .map(|p| &p.0)
            .ok_or("it lists no manifest")?; // always planned
        let header = container::local_header(MANIFEST_ENTRY, m.size, m.crc32);
        let mut theirs = vec![0u8; header.len()];
        let mut next = [0u8; 4];
        let shown = src.read_exact_at(m.offset, &mut theirs).is_ok()
            && theirs == header
            && src.read_exact_at(m.end(), &mut next).is_ok()
            && next == container::CENTRAL_SIG.to_le_bytes();
        if !shown {
            return Err(format!(
                "it is unsigned, and {name}'s surviving bytes do not show that its own manifest \
                 was unsigned too (its manifest.json header with this manifest's size and \
                 CRC-32 where this manifest puts it, the central directory right after it, no \
                 manifest.sig)"
            ));
        }
    }
    s.unconfirmed = s.listed - s.confirmed;
    Ok(s)
}

/// An entry a copy holds intact by its own local header.
pub(crate) struct Intact {
    pub(crate) name: String,
    pub(crate) offset: u64,
    pub(crate) size: u64,
    pub(crate) crc32: u32,
    pub(crate) blake3: [u8; 32],
}

/// Walks a copy's local headers from offset 0, each entry's after the
/// previous one's data, and gives every entry that is intact by itself: a
/// canonical local header (§3.4) of an allowed name whose data, within the
/// file, has the header's CRC-32. Past a header that is not, the walk
/// goes on from the next local header signature in the file.
pub(crate) fn intact_entries(src: &dyn ReadAt, buf: &mut [u8], each: &mut dyn FnMut(Intact)) {
    let mut at = 0u64;
    while at < src.len() {
        match intact_at(src, at, buf) {
            Some(x) => {
                at = x.offset + container::local_header_len(&x.name, x.size) as u64 + x.size;
                each(x);
            }
            None => match next_local_signature(src, at + 1, buf) {
                Some(next) => at = next,
                None => break,
            },
        }
    }
}

/// The entry at `at` if it is intact by its own local header.
fn intact_at(src: &dyn ReadAt, at: u64, buf: &mut [u8]) -> Option<Intact> {
    let mut fixed = [0u8; container::LOCAL_FIXED];
    src.read_exact_at(at, &mut fixed).ok()?;
    if fixed[..4] != container::LOCAL_SIG.to_le_bytes() {
        return None;
    }
    let get16 = |i: usize| usize::from(u16::from_le_bytes([fixed[i], fixed[i + 1]]));
    let get32 = |b: &[u8], i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
    let (name_len, extra_len) = (get16(26), get16(28));
    if name_len > container::MAX_NAME_LEN || !(extra_len == 0 || extra_len == 20) {
        return None;
    }
    let mut rest = vec![0u8; name_len + extra_len];
    src.read_exact_at(at + container::LOCAL_FIXED as u64, &mut rest)
        .ok()?;
    let name = std::str::from_utf8(&rest[..name_len]).ok()?;
    container::check_name(name).ok()?;
    let crc32 = get32(&fixed, 14);
    let size = if extra_len == 20 {
        u64::from_le_bytes(rest[name_len + 4..name_len + 12].try_into().unwrap())
    } else {
        u64::from(get32(&fixed, 22))
    };
    let header = container::local_header(name, size, crc32);
    if header[..container::LOCAL_FIXED] != fixed || header[container::LOCAL_FIXED..] != rest {
        return None;
    }
    let data = at + header.len() as u64;
    if data.checked_add(size)? > src.len() {
        return None;
    }
    let mut crc = crc32fast::Hasher::new();
    let mut hash = blake3::Hasher::new();
    let mut done = 0u64;
    while done < size {
        let n = (size - done).min(buf.len() as u64) as usize;
        src.read_exact_at(data + done, &mut buf[..n]).ok()?;
        crc.update(&buf[..n]);
        hash.update(&buf[..n]);
        done += n as u64;
    }
    (crc.finalize() == crc32).then(|| Intact {
        name: name.to_owned(),
        offset: at,
        size,
        crc32,
        blake3: *hash.finalize().as_bytes(),
    })
}

/// The offset of the next local header signature at or after `from`.
fn next_local_signature(src: &dyn ReadAt, from: u64, buf: &mut [u8]) -> Option<u64> {
    let sig = container::LOCAL_SIG.to_le_bytes();
    let len = src.len();
    let mut at = from;
    while at.checked_add(4)? <= len {
        let n = ((len - at) as usize).min(buf.len());
        let b = &mut buf[..n];
        if src.read_exact_at(at, b).is_ok() {
            if let Some(i) = b.windows(4).position(|w| w == sig) {
                return Some(at + i as u64);
            }
        }
        // The next block overlaps this one by 3 bytes (n >= 4 here).
        at += (n - 3) as u64;
    }
    None
}

/// A catalog page or the index rebuilt from its stripe's parity entry and
/// the stripe's other members, or a parity entry from its stripe's members
/// (§10.8), each taken from any copy where its BLAKE3 matches; `None` if
/// `e` is none of these in a 1.2 archive or another part of its stripe is
/// damaged everywhere.
fn rebuild(
    m: &Manifest,
    planned: &[Planned<'_>],
    by_name: &std::collections::HashMap<&str, usize>,
    copies: &[Arc<dyn ReadAt>],
    e: &Entry,
    hash: &[u8; 32],
) -> Option<Vec<u8>> {
    let intact = |name: &str| {
        let (pe, ph, _) = &planned[*by_name.get(name)?];
        intact_in_any(copies, pe, ph)
    };
    let b = recovery::rebuild_catalog_entry(&e.name, m.catalog.pages, e.size, &intact)?;
    (blake3::hash(&b).as_bytes() == hash).then_some(b)
}

pub(crate) fn write<W: Write>(out: &mut W, bytes: &[u8], what: &str) -> Result<()> {
    out.write_all(bytes).map_err(|e| Error::Output {
        what: what.into(),
        source: e,
    })
}

/// Judges every copy with `judge`: what was found of each, the usable
/// finding of each, and whether any was refused as forged.
pub(crate) fn judge_copies<F>(
    copies: &[Arc<dyn ReadAt>],
    judge: impl Fn(&Arc<dyn ReadAt>) -> (ManifestStatus, std::result::Result<F, ErrorKind>),
) -> (Vec<ManifestStatus>, Vec<Option<F>>, bool) {
    let mut status = Vec::new();
    let mut usable = Vec::new();
    let mut forged = false;
    for c in copies {
        let (s, f) = judge(c);
        status.push(s);
        match f {
            Ok(f) => usable.push(Some(f)),
            Err(kind) => {
                forged |= kind == ErrorKind::Forged;
                usable.push(None)
            }
        }
    }
    (status, usable, forged)
}

/// Which copy's finding to use, and whether that was the caller's choice:
/// the only usable one; the damaged copy's when both are `same`; else the
/// caller's preference, or an error describing each copy by `is`.
pub(crate) fn choose<F>(
    status: &[ManifestStatus],
    usable: &[Option<F>],
    forged: bool,
    prefer: Option<Side>,
    same: impl Fn(&F, &F) -> bool,
    is: impl Fn(&ManifestStatus) -> String,
) -> Result<(Side, bool)> {
    let why = |s: &ManifestStatus| s.problem.clone().unwrap_or_default();
    Ok(match (&usable[0], usable.get(1).and_then(Option::as_ref)) {
        (None, None) if usable.len() == 1 => {
            return Err(Error::NoManifestAlone {
                damaged: status[0].copy.clone(),
                damaged_why: why(&status[0]),
                forged,
            })
        }
        (None, None) => {
            return Err(Error::NoManifest {
                damaged: status[0].copy.clone(),
                damaged_why: why(&status[0]),
                other: status[1].copy.clone(),
                other_why: why(&status[1]),
                forged,
            })
        }
        (Some(_), None) => (Side::Damaged, false),
        (None, Some(_)) => (Side::Other, false),
        (Some(d), Some(o)) if same(d, o) => (Side::Damaged, false),
        (Some(_), Some(_)) => match prefer {
            Some(s) => (s, true),
            None => {
                return Err(Error::CopiesDisagree {
                    damaged: status[0].copy.clone(),
                    damaged_is: is(&status[0]),
                    other: status[1].copy.clone(),
                    other_is: is(&status[1]),
                })
            }
        },
    })
}

/// `"signed by <fingerprint>"` or `"unsigned"`, for describing a copy.
pub(crate) fn signed_by(s: &ManifestStatus) -> String {
    match &s.signer {
        Some(f) => format!("signed by {f}"),
        None => "unsigned".into(),
    }
}

/// Places an entry of `size` bytes named `name` at `offset`, and gives the
/// offset after it (its local header and data); an invalid name or an
/// offset past `u64` is an error naming the entry.
pub(crate) fn place(name: &str, size: u64, offset: u64) -> Result<u64> {
    container::check_name(name)?;
    offset
        .checked_add(container::local_header_len(name, size) as u64)
        .and_then(|o| o.checked_add(size))
        .ok_or_else(|| Error::ManifestMismatch {
            entry: name.to_owned(),
            what: "size runs past the largest possible file".into(),
        })
}

/// Notes in `damaged_structure` when the damaged copy reaches past `e`'s
/// local `header` but does not hold it there (a truncated copy's missing
/// entries are reported as such elsewhere).
pub(crate) fn check_header(
    damaged: &dyn ReadAt,
    e: &Entry,
    header: &[u8],
    damaged_structure: &mut Vec<Damage>,
) {
    let mut theirs = vec![0u8; header.len()];
    let within = e.offset + header.len() as u64 <= damaged.len();
    if within && !(damaged.read_exact_at(e.offset, &mut theirs).is_ok() && theirs == header) {
        damaged_structure.push(Damage {
            entry: e.name.clone(),
            problem: "local header differs (regenerated)".into(),
        });
    }
}

/// Moves `out` back to `pos` after a copy that did not match.
pub(crate) fn rewind<W: Seek>(out: &mut W, pos: u64, what: &str) -> Result<()> {
    out.seek(SeekFrom::Start(pos))
        .map(drop)
        .map_err(|err| Error::Output {
            what: what.into(),
            source: err,
        })
}

/// The error for an entry that no copy nor the recovery data gives, with
/// why each copy did not (`why[i]` for copy `names[i]`).
pub(crate) fn unavailable(entry: &str, names: &[String], why: &mut [Option<String>; 2]) -> Error {
    match names.len() {
        1 => Error::DamagedAlone {
            entry: entry.to_owned(),
            damaged: names[0].clone(),
            damaged_why: why[0].take().unwrap_or_default(),
        },
        _ => Error::DamagedInBoth {
            entry: entry.to_owned(),
            damaged: names[0].clone(),
            damaged_why: why[0].take().unwrap_or_default(),
            other: names[1].clone(),
            other_why: why[1].take().unwrap_or_default(),
        },
    }
}

/// The data of entry `e` from the first copy where it has BLAKE3 `hash`.
pub(crate) fn intact_in_any(
    copies: &[Arc<dyn ReadAt>],
    e: &Entry,
    hash: &[u8; 32],
) -> Option<Vec<u8>> {
    let mut b = vec![0u8; usize::try_from(e.size).ok()?];
    copies.iter().find_map(|c| {
        (c.read_exact_at(e.data_offset(), &mut b).is_ok() && blake3::hash(&b).as_bytes() == hash)
            .then(|| b.clone())
    })
}

/// Writes the central directory and the end records of `entries` (as the
/// writer makes them) at `cd_offset`, flushes `out`, notes in
/// `damaged_structure` where the damaged copy's differ or its length is
/// not the archive's, and gives the archive's length.
pub(crate) fn finish<'a, W: Write>(
    out: &mut W,
    entries: impl ExactSizeIterator<Item = &'a Entry>,
    cd_offset: u64,
    damaged: &dyn ReadAt,
    buf: &mut [u8],
    damaged_structure: &mut Vec<Damage>,
) -> Result<u64> {
    let count = entries.len() as u64;
    let mut cd = Vec::new();
    let mut h = Vec::new();
    for e in entries {
        container::central_header_into(e, &mut h);
        cd.extend_from_slice(&h);
    }
    let cd_size = cd.len() as u64;
    cd.extend(container::end_records(count, cd_offset, cd_size));
    write(out, &cd, "the central directory")?;
    out.flush().map_err(|err| Error::Output {
        what: "the archive".into(),
        source: err,
    })?;
    let len = cd_offset + cd.len() as u64;
    if !same_bytes(damaged, cd_offset, &cd, buf) {
        damaged_structure.push(Damage {
            entry: "central directory and end records".into(),
            problem: "differ or are missing (regenerated)".into(),
        });
    }
    if damaged.len() != len {
        damaged_structure.push(Damage {
            entry: "file length".into(),
            problem: format!(
                "{} bytes, the archive is {len} bytes ({})",
                damaged.len(),
                if damaged.len() < len {
                    "truncated"
                } else {
                    "extra bytes"
                }
            ),
        });
    }
    Ok(len)
}

/// Whether an entry a copy holds intact by its own local header is `e`
/// with BLAKE3 `hash`, name aside: same offset, size, CRC-32 and BLAKE3.
pub(crate) fn confirms(x: &Intact, e: &Entry, hash: &[u8; 32]) -> bool {
    x.offset == e.offset && x.size == e.size && x.crc32 == e.crc32 && x.blake3 == *hash
}

/// Why a head or manifest from the other copy is refused: `contradicting`
/// of the damaged copy `name`'s `surviving` intact entries are not where
/// it puts them (`x` the first, and what it lists there); `does_not_list`
/// says whose listing they contradict.
pub(crate) fn contradiction(
    name: &str,
    contradicting: u64,
    surviving: u64,
    x: &Intact,
    there: Option<String>,
    does_not_list: &str,
) -> String {
    format!(
        "{name} holds {contradicting} of its {surviving} surviving entries intact (their data \
         matching their headers' CRC-32) {does_not_list}; first {} at offset {} ({} bytes), \
         where it lists {}",
        x.name,
        x.offset,
        x.size,
        match there {
            Some(n) => format!("{n}, with other bytes"),
            None => "no entry".into(),
        }
    )
}

/// Copies an entry's data from a copy into `out` while hashing it. The
/// inner result says whether the bytes matched (else why not); the outer
/// one is a failure to write.
pub(crate) fn copy_checked<W: Write>(
    src: &dyn ReadAt,
    e: &Entry,
    hash: &[u8; 32],
    out: &mut W,
    buf: &mut [u8],
    progress: &mut dyn FnMut(u64),
) -> Result<std::result::Result<(), String>> {
    let start = e.data_offset();
    if start.checked_add(e.size).is_none_or(|end| end > src.len()) {
        return Ok(Err(format!(
            "beyond the end of the copy ({} bytes; truncated?)",
            src.len()
        )));
    }
    let mut hasher = blake3::Hasher::new();
    let mut at = 0u64;
    while at < e.size {
        let n = (e.size - at).min(buf.len() as u64) as usize;
        if let Err(err) = src.read_exact_at(start + at, &mut buf[..n]) {
            return Ok(Err(format!("unreadable: {err}")));
        }
        hasher.update(&buf[..n]);
        write(out, &buf[..n], &e.name)?;
        at += n as u64;
        progress(at);
    }
    Ok(if hasher.finalize().as_bytes() == hash {
        Ok(())
    } else {
        Err("BLAKE3 of the stored bytes differs from the hash the signed metadata pins (the manifest or the entry table)".into())
    })
}

/// Whether the copy holds exactly `want` at `at`.
pub(crate) fn same_bytes(src: &dyn ReadAt, at: u64, want: &[u8], buf: &mut [u8]) -> bool {
    if at
        .checked_add(want.len() as u64)
        .is_none_or(|end| end > src.len())
    {
        return false;
    }
    want.chunks(buf.len()).enumerate().all(|(i, w)| {
        let b = &mut buf[..w.len()];
        src.read_exact_at(at + (i * BLOCK) as u64, b).is_ok() && b == w
    })
}

/// Finds a copy's manifest and says whether it can be used (else the
/// class of the reason it cannot).
fn judge(
    src: &Arc<dyn ReadAt>,
    pinned: Option<&[u8; 32]>,
) -> (ManifestStatus, std::result::Result<Found, ErrorKind>) {
    let mut s = ManifestStatus {
        copy: src.name().to_owned(),
        len: src.len(),
        ..Default::default()
    };
    let found = match from_directory(src) {
        Ok(f) => {
            s.found = Some("central directory".into());
            f
        }
        Err(e) => {
            s.directory_problem = Some(e.to_string());
            match scan(&**src) {
                Some(f) => {
                    s.found = Some("scan".into());
                    f
                }
                None => {
                    s.problem = Some(format!(
                        "does not open ({e}), and no intact manifest was found near its end"
                    ));
                    return (s, Err(ErrorKind::Damaged));
                }
            }
        }
    };
    let m = &found.manifest;
    s.recovered = found.recovered;
    s.archive_id = Some(hex::encode(&m.archive_id));
    s.created = Some(m.created.clone());
    s.manifest_blake3 = Some(hex::encode(blake3::hash(&found.bytes).as_bytes()));
    let checked = check_decoders(m).and_then(|()| {
        match (&m.issuer, &found.signature) {
            (Some(i), Some(sig)) => {
                let sig = manifest::parse_signature(sig)?;
                if !crypto::verify_signature(&i.public_key, &found.bytes, &sig) {
                    return Err(Error::BadSignature);
                }
                s.signer = Some(crypto::fingerprint(&i.public_key));
            }
            (None, None) => {}
            (Some(_), None) => {
                return Err(Error::ManifestMismatch {
                    entry: SIGNATURE_ENTRY.into(),
                    what: "missing but the manifest names an issuer".into(),
                })
            }
            (None, Some(_)) => {
                return Err(Error::ManifestMismatch {
                    entry: SIGNATURE_ENTRY.into(),
                    what: "present but the manifest names no issuer".into(),
                })
            }
        }
        match (pinned, &m.issuer) {
            (Some(p), None) => Err(Error::Unsigned {
                expected: crypto::fingerprint(p),
            }),
            (Some(p), Some(i)) if &i.public_key != p => Err(Error::WrongIssuer {
                expected: crypto::fingerprint(p),
                found: crypto::fingerprint(&i.public_key),
            }),
            _ => Ok(()),
        }
    });
    match checked {
        Ok(()) => {
            s.usable = true;
            (s, Ok(found))
        }
        Err(e) => {
            s.problem = Some(e.to_string());
            (s, Err(e.kind()))
        }
    }
}

/// The manifest through the end records and the central directory.
fn from_directory(src: &Arc<dyn ReadAt>) -> Result<Found> {
    let a = Archive::open(src.clone())?;
    if a.is_v2() {
        return Err(Error::ManifestMismatch {
            entry: legation_format::v2::HEAD_ENTRY.into(),
            what: "a format 2.0 archive, not 1.x: the copies are of different formats".into(),
        });
    }
    // A signature that the directory says is damaged may be intact by its
    // local header (the directory's CRC-32 may be the damaged part): the
    // caller then looks for the manifest and signature by scanning.
    if let Err(e @ Error::SignatureDamaged { .. }) = a.check_signature(None) {
        return Err(e);
    }
    let signature = match a.entry(SIGNATURE_ENTRY) {
        Ok(e) => {
            let mut b = vec![0u8; e.size as usize]; // 129, checked at open
            a.read_at(e.data_offset(), &mut b, SIGNATURE_ENTRY)?;
            Some(b)
        }
        Err(_) => None,
    };
    Ok(Found {
        manifest: a.manifest().clone(),
        bytes: a.manifest_bytes().to_vec(),
        signature,
        recovered: a.manifest_recovered(),
    })
}

/// Looks for the manifest's local header backwards from the end of the
/// copy, and takes the first candidate that holds a manifest (canonical
/// header, CRC-32, parses) whose own layout puts it exactly there, with
/// its signature right after it when it names an issuer.
fn scan(src: &dyn ReadAt) -> Option<Found> {
    let len = src.len();
    let floor = len.saturating_sub(SCAN_WINDOW);
    let name = MANIFEST_ENTRY.as_bytes();
    let hlen = container::LOCAL_FIXED + name.len();
    let sig = container::LOCAL_SIG.to_le_bytes();
    let mut buf = Vec::new();
    let mut end = len; // candidates start before this
    while end > floor {
        let start = end.saturating_sub(BLOCK as u64).max(floor);
        let read_end = (end + hlen as u64 - 1).min(len);
        buf.resize((read_end - start) as usize, 0);
        if src.read_exact_at(start, &mut buf).is_ok() {
            let last = (end - start) as usize;
            for i in (0..last.min(buf.len().saturating_sub(hlen - 1))).rev() {
                if buf[i..i + 4] == sig && &buf[i + container::LOCAL_FIXED..i + hlen] == name {
                    if let Some(f) = candidate(src, start + i as u64, &buf[i..i + hlen]) {
                        return Some(f);
                    }
                }
            }
        }
        end = start;
    }
    None
}

fn candidate(src: &dyn ReadAt, at: u64, header: &[u8]) -> Option<Found> {
    let get32 = |b: &[u8], i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
    let (crc, size) = (get32(header, 14), u64::from(get32(header, 22)));
    if size > MAX_MANIFEST || container::local_header(MANIFEST_ENTRY, size, crc) != header {
        return None;
    }
    let data = at + header.len() as u64;
    if data.checked_add(size)? > src.len() {
        return None;
    }
    let mut bytes = vec![0u8; size as usize];
    src.read_exact_at(data, &mut bytes).ok()?;
    let recovered = crc32fast::hash(&bytes) != crc;
    if recovered {
        bytes = recovery::recover_manifest(&bytes, &|b| crc32fast::hash(b) == crc)?;
    }
    let manifest = Manifest::parse(&bytes).ok()?;
    // Its own layout must put it here.
    let mut offset = 0u64;
    for e in &manifest.entries {
        offset = offset
            .checked_add(container::local_header_len(&e.name, e.size) as u64)?
            .checked_add(e.size)?;
    }
    if offset != at {
        return None;
    }
    let signature = match manifest.issuer {
        Some(_) => {
            let at = data + size;
            let sig_len = 129;
            let hlen = container::local_header_len(SIGNATURE_ENTRY, sig_len);
            let mut h = vec![0u8; hlen];
            src.read_exact_at(at, &mut h).ok()?;
            let crc = get32(&h, 14);
            if container::local_header(SIGNATURE_ENTRY, sig_len, crc) != h {
                return None;
            }
            Some(read_checked(src, at + hlen as u64, sig_len, crc)?)
        }
        None => None,
    };
    Some(Found {
        manifest,
        bytes,
        signature,
        recovered,
    })
}

fn read_checked(src: &dyn ReadAt, at: u64, size: u64, crc: u32) -> Option<Vec<u8>> {
    if at.checked_add(size)? > src.len() {
        return None;
    }
    let mut b = vec![0u8; size as usize];
    src.read_exact_at(at, &mut b).ok()?;
    (crc32fast::hash(&b) == crc).then_some(b)
}
