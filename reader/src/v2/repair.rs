//! Repairing a format 2.0 archive without a key (SPEC 2.0 §25.1, with the
//! rules of SPEC 1.x §16.5).
//!
//! Every byte of a 2.0 archive follows from its signed head, its entry
//! table and the data of the entries the table lists: the offsets from the
//! rows' names and sizes, every header from the names, sizes and CRC-32s,
//! then `entries`, `public.json`, `head` and `signatures`. So the head, once
//! its signatures verify (pinned issuer honoured), fixes the whole file.
//! Each entry is taken from the damaged copy where its BLAKE3 matches its
//! row; else from the archive's own recovery data (the public tail from the
//! `recovery` entry or by its CRC-32, a catalog page, the index or a parity
//! entry from its stripe, `outboard` from the entries it covers); else from the other copy where the entry of that
//! name has the row's size, CRC-32 and BLAKE3. Every local header, the
//! central directory and the end records are written anew.
//!
//! The other copy's head is used only when the damaged copy holds none that
//! can be used, and then only when every entry the damaged copy still holds
//! intact (by its own local header) is one that head lists at that offset
//! with that size, CRC-32 and BLAKE3: another generation, re-packed, is
//! never adopted in its place. When both heads can be used and differ, the
//! caller must choose; the other copy then gives only entries that match the
//! chosen head's rows.

use std::collections::HashMap;
use std::io::{Seek, Write};
use std::sync::Arc;

use legation_format::container::{self, Entry};
use legation_format::hex;
use legation_format::recovery::{self, TailRecovery};
use legation_format::v2::outboard::{self, Pieces, OUTBOARD_ENTRY};
use legation_format::v2::{self, entries as table, head, public};

use crate::archive::Signer;
use crate::repair::{
    check_header, choose, confirms, contradiction, copy_checked, finish, intact_entries,
    intact_in_any, judge_copies, place, rewind, signed_by, unavailable, write, Damage,
    ManifestStatus, Options, Report, Side, Support, Tally, BLOCK,
};
use crate::source::ReadAt;
use crate::v2::open::{check_layout, signer_of, MAX_ENTRIES, MAX_HEAD, MAX_PUBLIC};
use crate::{Archive, Error, ErrorKind, Result};

/// The names of the public tail, in container order (the entry table's
/// tree first: it follows from the table, SPEC 2.0 §25.3).
const TAIL: [&str; 5] = [
    v2::entries::TREE_ENTRY,
    v2::ENTRIES_ENTRY,
    v2::PUBLIC_ENTRY,
    v2::HEAD_ENTRY,
    v2::SIGNATURES_ENTRY,
];

/// Whether to repair as format 2.0: the damaged copy opens as 2.0; or it
/// does not open and the other copy opens as 2.0; or neither opens and the
/// damaged copy holds, intact by its own header, an entry only 2.0 has (a
/// bundle or one of the public tail).
pub(crate) fn applies(damaged: &Arc<dyn ReadAt>, other: Option<&Arc<dyn ReadAt>>) -> bool {
    if let Ok(a) = Archive::open(damaged.clone()) {
        return a.is_v2();
    }
    if let Some(Ok(a)) = other.map(|o| Archive::open(o.clone())) {
        return a.is_v2();
    }
    let mut buf = vec![0u8; BLOCK];
    let mut seen = false;
    intact_entries(&**damaged, &mut buf, &mut |x| {
        seen |= x.name.starts_with("b/") || TAIL.contains(&x.name.as_str());
    });
    seen
}

/// A signed tail found in one copy.
struct Found {
    head_bytes: Vec<u8>,
    head: head::Head,
    signatures: Vec<u8>,
    public_bytes: Vec<u8>,
    public: public::Public,
    /// The entry table's bytes (BLAKE3 = the head's `entries` line).
    table: Vec<u8>,
    rows: Vec<table::Row>,
    /// Whether some of it was put right from the copy's recovery data.
    recovered: bool,
}

/// The stored bytes of the tail entries as found in one copy, before they
/// are checked against each other.
#[derive(Default)]
struct Parts {
    head: Option<Vec<u8>>,
    signatures: Option<Vec<u8>>,
    public: Option<Vec<u8>>,
    table: Option<Vec<u8>>,
    /// The recovery entry's contents, size, CRC-32 and BLAKE3.
    recovery: Option<(TailRecovery, u64, u32, [u8; 32])>,
    /// A signatures entry whose CRC-32 differs from its header's, and that
    /// CRC-32 (one byte may be put right once the head is known).
    signatures_damaged: Option<(Vec<u8>, u32)>,
}

/// Reads `size` bytes at `at` if `size <= limit` and they are there.
fn read_bounded(src: &dyn ReadAt, at: u64, size: u64, limit: u64) -> Option<Vec<u8>> {
    if size > limit || at.checked_add(size)? > src.len() {
        return None;
    }
    let mut b = vec![0u8; usize::try_from(size).ok()?];
    src.read_exact_at(at, &mut b).ok()?;
    Some(b)
}

/// The tail's parts through the copy's central directory (which names the
/// entries' CRC-32s: a part whose bytes do not have it is left out, but
/// for `signatures`, kept aside for correction).
fn parts_from_directory(src: &Arc<dyn ReadAt>) -> Result<Parts> {
    let a = Archive::open(src.clone())?;
    if !a.is_v2() {
        return Err(Error::ManifestMismatch {
            entry: "manifest.json".into(),
            what: "a format 1.x archive, not 2.0: the copies are of different formats".into(),
        });
    }
    let entries = a.entries();
    let n = entries.len(); // at least 6: checked at open
    let read = |e: &Entry, limit: u64| read_bounded(&**src, e.data_offset(), e.size, limit);
    let intact = |e: &Entry, limit: u64| read(e, limit).filter(|b| crc32fast::hash(b) == e.crc32);
    let mut p = Parts {
        table: intact(&entries[n - 4], MAX_ENTRIES),
        public: intact(&entries[n - 3], MAX_PUBLIC),
        head: intact(&entries[n - 2], MAX_HEAD),
        ..Default::default()
    };
    let s = &entries[n - 1];
    match read(s, v2::head::MAX_SIGNATURES_BYTES as u64) {
        Some(b) if crc32fast::hash(&b) == s.crc32 => p.signatures = Some(b),
        Some(b) => p.signatures_damaged = Some((b, s.crc32)),
        None => {}
    }
    let r = &entries[n - 6];
    if r.name == recovery::TAIL_ENTRY {
        p.recovery = read(r, recovery::MAX_TAIL).and_then(|b| {
            let t = TailRecovery::parse(&b)?;
            Some((t, r.size, r.crc32, *blake3::hash(&b).as_bytes()))
        });
    }
    Ok(p)
}

/// The tail's parts found by walking the copy's local headers (when its
/// central directory does not open): the last entry of each name that is
/// intact by its own header.
fn parts_by_walking(src: &dyn ReadAt) -> Parts {
    let mut buf = vec![0u8; BLOCK];
    let mut last: HashMap<String, crate::repair::Intact> = HashMap::new();
    intact_entries(src, &mut buf, &mut |x| {
        if TAIL.contains(&x.name.as_str()) || x.name == recovery::TAIL_ENTRY {
            last.insert(x.name.clone(), x);
        }
    });
    let get = |name: &str, limit: u64| {
        let x = last.get(name)?;
        let at = x.offset + container::local_header_len(&x.name, x.size) as u64;
        read_bounded(src, at, x.size, limit)
    };
    Parts {
        table: get(v2::ENTRIES_ENTRY, MAX_ENTRIES),
        public: get(v2::PUBLIC_ENTRY, MAX_PUBLIC),
        head: get(v2::HEAD_ENTRY, MAX_HEAD),
        signatures: get(v2::SIGNATURES_ENTRY, v2::head::MAX_SIGNATURES_BYTES as u64),
        recovery: last.get(recovery::TAIL_ENTRY).and_then(|x| {
            let b = get(recovery::TAIL_ENTRY, recovery::MAX_TAIL)?;
            Some((TailRecovery::parse(&b)?, x.size, x.crc32, x.blake3))
        }),
        signatures_damaged: None,
    }
}

/// Puts the parts together into a signed tail: the head as stored, or as
/// the recovery entry gives it; the table and `public.json` as stored when
/// they have the head's hashes, else as the recovery entry gives them; the
/// signatures as stored, or with one byte put right by their CRC-32.
fn assemble(p: Parts, pinned: Option<&[u8; 32]>) -> Result<(Found, Signer)> {
    let missing = |entry: &str, what: &str| Error::ManifestMismatch {
        entry: entry.into(),
        what: what.into(),
    };
    let mut recovered = false;
    let rec_table = p
        .recovery
        .as_ref()
        .map(|(r, size, crc, hash)| r.entries_with(*size, *crc, hash));
    let (head_bytes, head) = match p.head.as_deref().map(head::Head::parse) {
        Some(Ok(h)) => (p.head.clone().unwrap_or_default(), h),
        _ => {
            // The recovery entry's head, for the table as stored or as the
            // recovery entry gives it (the signatures decide below).
            let from = |t: &Vec<u8>| {
                let (r, ..) = p.recovery.as_ref()?;
                r.head_with(blake3::hash(t).as_bytes())
            };
            let b = p
                .table
                .as_ref()
                .and_then(from)
                .or_else(|| rec_table.as_ref().and_then(from))
                .ok_or_else(|| {
                    missing(
                        v2::HEAD_ENTRY,
                        "no intact head, and the recovery data cannot put it right",
                    )
                })?;
            recovered = true;
            let h = head::Head::parse(&b)?;
            (b, h)
        }
    };
    let pick = |stored: Option<Vec<u8>>, copy: Option<Vec<u8>>, want: &[u8; 32]| {
        let ok = |b: &Vec<u8>| blake3::hash(b).as_bytes() == want;
        match stored.filter(ok) {
            Some(b) => Some((b, false)),
            None => copy.filter(ok).map(|b| (b, true)),
        }
    };
    let (table_bytes, r1) = pick(p.table, rec_table, &head.entries).ok_or_else(|| {
        missing(
            v2::ENTRIES_ENTRY,
            "no copy of the entry table has the head's hash",
        )
    })?;
    let rec_public = p.recovery.as_ref().map(|(r, ..)| r.public.clone());
    let (public_bytes, r2) = pick(p.public, rec_public, &head.public).ok_or_else(|| {
        missing(
            v2::PUBLIC_ENTRY,
            "no copy of public.json has the head's hash",
        )
    })?;
    recovered |= r1 || r2;
    let public = public::Public::parse(&public_bytes)?;
    if public.archive_id != head.archive_id {
        return Err(missing(
            v2::PUBLIC_ENTRY,
            "names another archive id than the head",
        ));
    }
    let signatures = match (p.signatures, p.signatures_damaged) {
        (Some(b), _) => b,
        (None, Some((b, crc))) => {
            let verifies = |c: &[u8]| {
                head::parse_signatures(c)
                    .is_ok_and(|lines| signer_of(&public, &head_bytes, &lines, None).is_ok())
            };
            recovered = true;
            recovery::correct_one_byte(&b, crc, &verifies).ok_or_else(|| {
                Error::SignatureDamaged {
                    what: "its CRC-32 differs from its headers, and no one byte puts it right"
                        .into(),
                }
            })?
        }
        (None, None) => {
            return Err(Error::SignatureDamaged {
                what: "no intact signatures entry".into(),
            })
        }
    };
    let lines = head::parse_signatures(&signatures).map_err(|e| Error::SignatureDamaged {
        what: e.to_string(),
    })?;
    let signer = signer_of(&public, &head_bytes, &lines, pinned)?;
    if table_bytes.len() as u64 > MAX_ENTRIES {
        return Err(Error::TooLarge {
            entry: v2::ENTRIES_ENTRY.into(),
            size: table_bytes.len() as u64,
            limit: MAX_ENTRIES,
        });
    }
    let rows = table::parse(&table_bytes)?;
    Ok((
        Found {
            head_bytes,
            head,
            signatures,
            public_bytes,
            public,
            table: table_bytes,
            rows,
            recovered,
        },
        signer,
    ))
}

/// Finds a copy's signed tail and says whether it can be used (else the
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
    let parts = match parts_from_directory(src) {
        Ok(p) => {
            s.found = Some("central directory".into());
            p
        }
        Err(e @ Error::ManifestMismatch { .. }) if e.to_string().contains("format 1.x") => {
            s.problem = Some(e.to_string());
            return (s, Err(ErrorKind::Forged));
        }
        Err(e) => {
            s.directory_problem = Some(e.to_string());
            s.found = Some("scan".into());
            parts_by_walking(&**src)
        }
    };
    match assemble(parts, pinned) {
        Ok((f, signer)) => {
            s.usable = true;
            s.recovered = f.recovered;
            s.archive_id = Some(hex::encode(&f.head.archive_id));
            s.created = Some(f.public.created.clone());
            s.manifest_blake3 = Some(hex::encode(blake3::hash(&f.head_bytes).as_bytes()));
            if let Signer::Valid { fingerprint, .. } = signer {
                s.signer = Some(fingerprint);
            }
            (s, Ok(f))
        }
        Err(e) => {
            if s.found.as_deref() == Some("scan") && !matches!(e, Error::BadSignature) {
                s.found = None;
            }
            s.problem = Some(e.to_string());
            (s, Err(e.kind()))
        }
    }
}

/// An entry of the repaired archive and its BLAKE3.
type Planned = (Entry, [u8; 32]);

/// Whether an entry is one only this archive holds (not the `mimetype`,
/// `SPEC.md`, the viewer or a decoder, which other archives share).
fn is_own(name: &str) -> bool {
    !(name == legation_format::MIMETYPE_ENTRY
        || name == legation_format::SPEC_ENTRY
        || name == legation_format::VIEWER_ENTRY
        || name.starts_with(legation_format::manifest::DECODER_PREFIX))
}

/// Rebuilds a 2.0 archive into `out`, as [`crate::repair::repair`] does
/// for 1.x (which calls this when [`applies`]).
pub(crate) fn repair<W: Write + Seek>(
    damaged: Arc<dyn ReadAt>,
    other: Option<Arc<dyn ReadAt>>,
    opts: &Options,
    out: &mut W,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Report> {
    let copies: Vec<Arc<dyn ReadAt>> = std::iter::once(damaged).chain(other).collect();
    let (status, mut usable, forged) = judge_copies(&copies, |c| judge(c, opts.pinned.as_ref()));
    let (side, preferred) = choose(
        &status,
        &usable,
        forged,
        opts.prefer,
        |d, o| d.head_bytes == o.head_bytes,
        |s| {
            format!(
                "archive {} created {}, head {}, {}",
                s.archive_id.as_deref().unwrap_or("?"),
                s.created.as_deref().unwrap_or("?"),
                s.manifest_blake3.as_deref().unwrap_or("?"),
                signed_by(s)
            )
        },
    )?;
    let chosen = usable[side as usize].take().unwrap(); // Some by the match above
    let chosen_status = &status[side as usize];

    // The layout, from the head and the entry table alone.
    fn stored<'a>(name: &str, b: &'a [u8]) -> (String, u64, u32, &'a [u8]) {
        (name.to_owned(), b.len() as u64, crc32fast::hash(b), b)
    }
    let tree = v2::entries::tree_bytes(&chosen.table);
    let tail = [
        stored(v2::entries::TREE_ENTRY, &tree),
        stored(v2::ENTRIES_ENTRY, &chosen.table),
        stored(v2::PUBLIC_ENTRY, &chosen.public_bytes),
        stored(v2::HEAD_ENTRY, &chosen.head_bytes),
        stored(v2::SIGNATURES_ENTRY, &chosen.signatures),
    ];
    let mut planned: Vec<Planned> = Vec::with_capacity(chosen.rows.len() + tail.len());
    let mut offset = 0u64;
    let listed = chosen
        .rows
        .iter()
        .map(|r| (r.name.clone(), r.size, r.crc32, r.blake3));
    let tail_rows = tail
        .iter()
        .map(|(n, size, crc, b)| (n.clone(), *size, *crc, *blake3::hash(b).as_bytes()));
    for (name, size, crc32, hash) in listed.chain(tail_rows) {
        let next = place(&name, size, offset)?;
        planned.push((
            Entry {
                name,
                size,
                crc32,
                offset,
            },
            hash,
        ));
        offset = next;
    }
    let layout: Vec<Entry> = planned.iter().map(|p| p.0.clone()).collect();
    check_layout(&chosen.public, &layout)?;
    drop(layout);
    let in_memory: HashMap<&str, &[u8]> =
        tail.iter().map(|(n, _, _, b)| (n.as_str(), *b)).collect();
    let total: u64 = planned.iter().map(|p| p.0.size).sum();
    let mut buf = vec![0u8; BLOCK];

    // A head taken from the other copy because the damaged copy holds none
    // that can be used must be one the damaged copy's surviving entries
    // support: never another generation in its place. Checked before a
    // byte is written.
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
    // The other copy's entries by name, when its directory opens as 2.0.
    let other_opened = copies
        .get(1)
        .and_then(|o| Archive::open(o.clone()).ok())
        .filter(Archive::is_v2);
    // Tallies: the damaged copy, the other copy, parity, the recovery data.
    let mut tally = [Tally::default(); 4];
    let by_name: HashMap<&str, usize> = planned
        .iter()
        .enumerate()
        .map(|(i, p)| (p.0.name.as_str(), i))
        .collect();
    let mut damaged_entries = Vec::new();
    let mut damaged_in_other = Vec::new();
    let mut damaged_structure = Vec::new();
    let mut done = 0u64;
    let mut pos = 0u64;
    for (e, hash) in &planned {
        let header = container::local_header(&e.name, e.size, e.crc32);
        write(out, &header, &e.name)?;
        check_header(&*copies[0], e, &header, &mut damaged_structure);
        pos += header.len() as u64;
        let mut why: [Option<String>; 2] = [None, None];
        let mut taken = None;
        // The damaged copy first, at this head's offset; then the archive's
        // own recovery data; then the other copy (below).
        match copy_checked(&*copies[0], e, hash, out, &mut buf, &mut |n| {
            progress(done + n, total)
        })? {
            Ok(()) => taken = Some(0),
            Err(w) => {
                why[0] = Some(w);
                rewind(out, pos, &e.name)?;
            }
        }
        if taken.is_none() {
            if let Some((b, i)) = own_recovery(&chosen, &planned, &by_name, &copies, e, hash) {
                let b = b.as_deref().unwrap_or_else(|| in_memory[e.name.as_str()]);
                write(out, b, &e.name)?;
                taken = Some(i);
            }
        }
        if taken.is_none() {
            if let Some(o) = copies.get(1) {
                match from_other(&**o, other_opened.as_ref(), e, hash, out, &mut buf)? {
                    Ok(()) => taken = Some(1),
                    Err(w) => {
                        why[1] = Some(w);
                        rewind(out, pos, &e.name)?;
                    }
                }
            }
        }
        let Some(taken) = taken else {
            return Err(unavailable(&e.name, &names, &mut why));
        };
        if let Some(w) = why[0].take() {
            damaged_entries.push(Damage {
                entry: e.name.clone(),
                problem: match taken {
                    2 => format!("{w} (rebuilt from the catalog's parity)"),
                    3 => format!("{w} (put right from the archive's recovery data)"),
                    _ => w,
                },
            });
        }
        if let Some(w) = why[1].take() {
            damaged_in_other.push(Damage {
                entry: e.name.clone(),
                problem: w,
            });
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
        archive_id: hex::encode(&chosen.head.archive_id),
        created: chosen.public.created.clone(),
        signer: chosen_status.signer.clone(),
        pinned: opts.pinned.is_some(),
        manifest_from: side,
        preferred,
        support,
        manifest_blake3: hex::encode(blake3::hash(&chosen.head_bytes).as_bytes()),
        damaged: status[0].clone(),
        other: status.get(1).cloned(),
        from_damaged: tally[0],
        from_other: tally[1],
        from_parity: tally[2],
        from_recovery: tally[3],
        version: chosen.public.version.clone(),
        damaged_entries,
        damaged_structure,
        damaged_in_other,
        entries: planned.len() as u64,
        len,
    })
}

/// The entry `e` from the archive's own recovery data, and the tally it
/// counts in (2: parity, 3: the recovery entry or a CRC-32 correction):
/// the public tail as the chosen head's copy holds it (`None` bytes: take
/// it from memory), the `recovery` entry made anew from the tail, a page,
/// the index or a parity entry from its stripe (each part taken from a
/// copy where it has its row's BLAKE3). Checked against `hash`.
fn own_recovery(
    chosen: &Found,
    planned: &[Planned],
    by_name: &HashMap<&str, usize>,
    copies: &[Arc<dyn ReadAt>],
    e: &Entry,
    hash: &[u8; 32],
) -> Option<(Option<Vec<u8>>, usize)> {
    if TAIL.contains(&e.name.as_str()) {
        // Held in memory, and its hash is the one the head fixes (or, for
        // the head and signatures, of the bytes the chosen copy gave).
        return Some((None, 3));
    }
    if e.name == recovery::TAIL_ENTRY {
        // Everything but its own row, the public facts, and the head with
        // its entries line zeroed: all three follow from the chosen tail.
        let last_row = chosen.table[..chosen.table.len().saturating_sub(1)]
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |i| i + 1);
        let mut h = chosen.head.clone();
        h.entries = [0; 32];
        let b = TailRecovery {
            public: chosen.public_bytes.clone(),
            rows: chosen.table[..last_row].to_vec(),
            head: h.to_bytes(),
        }
        .to_bytes();
        return (blake3::hash(&b).as_bytes() == hash).then_some((Some(b), 3));
    }
    if e.name == OUTBOARD_ENTRY {
        // The values of the entries before it, each from a copy where
        // that entry has its row's BLAKE3 (SPEC 2.0 §25.2, §30.6).
        let b = regenerate_outboard(&planned[..*by_name.get(e.name.as_str())?], copies, e.size)?;
        return (blake3::hash(&b).as_bytes() == hash).then_some((Some(b), 3));
    }
    let intact = |name: &str| {
        let (pe, ph) = &planned[*by_name.get(name)?];
        intact_in_any(copies, pe, ph)
    };
    let b = recovery::rebuild_catalog_entry(&e.name, chosen.public.catalog.pages, e.size, &intact)?;
    (blake3::hash(&b).as_bytes() == hash).then_some((Some(b), 2))
}

/// The most bytes of `outboard` a repair regenerates in memory (the values
/// of 128 GiB of entries); a larger one needs another copy's.
const MAX_OUTBOARD: u64 = 64 << 20;

/// `outboard` made anew from the entries before it (`planned`, in order):
/// each covered entry is read from the first copy where its bytes, hashed
/// piece by piece, give its row's BLAKE3, and its values are taken from
/// that hashing. `None` when one cannot be read intact from any copy or
/// `size` is over [`MAX_OUTBOARD`].
fn regenerate_outboard(
    planned: &[Planned],
    copies: &[Arc<dyn ReadAt>],
    size: u64,
) -> Option<Vec<u8>> {
    if size > MAX_OUTBOARD {
        return None;
    }
    let mut out = Vec::with_capacity(size as usize);
    let mut buf = vec![0u8; BLOCK];
    for (e, hash) in planned {
        if outboard::values(e.size) == 0 {
            continue;
        }
        let values = copies.iter().find_map(|c| {
            let mut pieces = Pieces::new();
            let mut values = Vec::new();
            let mut at = 0u64;
            while at < e.size {
                let n = (e.size - at).min(buf.len() as u64) as usize;
                c.read_exact_at(e.data_offset() + at, &mut buf[..n]).ok()?;
                pieces.update(&buf[..n]);
                values.extend(pieces.take_ready());
                at += n as u64;
                if (out.len() + values.len() * 32) as u64 > size {
                    return None;
                }
            }
            let (root, last) = pieces.finish();
            values.extend(last);
            (&root == hash).then_some(values)
        })?;
        values.iter().for_each(|v| out.extend_from_slice(v));
    }
    (out.len() as u64 == size).then_some(out)
}

/// Copies entry `e` from the other copy: the entry of that name there (by
/// its central directory when it opens, else at this head's offset), taken
/// only when it has the row's size, CRC-32 and BLAKE3.
fn from_other<W: Write>(
    src: &dyn ReadAt,
    opened: Option<&Archive>,
    e: &Entry,
    hash: &[u8; 32],
    out: &mut W,
    buf: &mut [u8],
) -> Result<std::result::Result<(), String>> {
    let there = match opened.map(|a| a.entry(&e.name)) {
        Some(Ok(x)) if x.size == e.size && x.crc32 == e.crc32 => x.clone(),
        Some(Ok(x)) => {
            return Ok(Err(format!(
                "its {} is {} bytes with CRC-32 {:08x}, this head's row {} bytes with {:08x}",
                e.name, x.size, x.crc32, e.size, e.crc32
            )))
        }
        Some(Err(_)) => return Ok(Err(format!("it holds no {}", e.name))),
        None => e.clone(),
    };
    copy_checked(src, &there, hash, out, buf, &mut |_| {})
}

/// Whether the damaged copy's surviving entries support `chosen`, a head
/// from the other copy (SPEC 1.x §16.5 carried over): every entry the
/// damaged copy holds intact by its own local header must be one the head
/// lists at that offset with that name, size, CRC-32 and BLAKE3; an
/// unsigned head also needs at least one.
fn supported(
    src: &dyn ReadAt,
    chosen: &Found,
    planned: &[Planned],
    buf: &mut [u8],
) -> std::result::Result<Support, String> {
    let name = src.name().to_owned();
    let mut s = Support {
        listed: planned.len() as u64,
        signed: !chosen.public.issuers.is_empty(),
        ..Default::default()
    };
    let mut against: Option<(crate::repair::Intact, Option<String>)> = None;
    let mut contradicting = 0u64;
    intact_entries(src, buf, &mut |x| {
        s.surviving += 1;
        let there = planned
            .binary_search_by_key(&x.offset, |p| p.0.offset)
            .ok()
            .map(|i| &planned[i]);
        match there {
            Some((e, hash)) if e.name == x.name && confirms(&x, e, hash) => {
                s.confirmed += 1;
                if is_own(&e.name) {
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
    if let Some((x, there)) = against {
        return Err(contradiction(
            &name,
            contradicting,
            s.surviving,
            &x,
            there,
            "that its head does not list where it puts them (another generation or another \
             archive)",
        ));
    }
    if s.confirmed == 0 && !s.signed {
        return Err(format!(
            "it is unsigned, and no entry it lists survives intact in {name} to confirm it"
        ));
    }
    s.unconfirmed = s.listed - s.confirmed;
    Ok(s)
}
